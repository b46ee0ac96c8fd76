"""Tables of a result: the terminal table, the Markdown table of the report
and the CSV of every option. Headings and columns come from the outcome
declarations (`deterrence.outcomes`)."""

import csv
import json
import textwrap
from pathlib import Path

import numpy as np
import xarray as xr

from deterrence.model import AXES
from deterrence.outcomes import COUNT, EVENT, OUTCOMES, STATE, Outcome, outcome
from deterrence.report import effects
from deterrence.report.grid import (
    HIGH,
    LOW,
    SHORT,
    baseline_attr,
    draws,
    flat,
    nested,
    options,
    plain_option,
    span,
    why_no_intervals,
)

# The headline columns of the terminal and Markdown tables: (reading, outcome),
# a reading being a variable's prefix: p_ (probability), diff_p_ (paired
# difference to the baseline), mean_ (mean total per run), diff_mean_, or
# none (a derived outcome's own variable). Days at war lead; the re-attack
# risk stands beside the ceasefire probability and the risk after a
# ceasefire, so a lower re-attack risk that only means a later ceasefire shows.
HEADLINE = (("mean", "war_days"), ("diff_mean", "war_days"), ("p", "ceasefire"), ("p", "reattack"),
            ("", "p_reattack_after_ceasefire"), ("diff_p", "reattack"), ("p", "deployed"), ("p", "tripwire"),
            ("mean", "strikes"), ("mean", "violations"))
# The terminal tables fit this many columns unless asked for every column
# (`report --wide`); the headline columns kept first, until the width is used.
WIDTH = 100
PRIORITY = (("mean", "war_days"), ("diff_mean", "war_days"), ("p", "ceasefire"), ("p", "reattack"),
            ("", "p_reattack_after_ceasefire"), ("diff_p", "reattack"), ("p", "tripwire"), ("mean", "strikes"),
            ("p", "deployed"), ("mean", "violations"))
# Without a force, posture and deployment rule cannot change anything.
NO_FORCE_AXES = ("posture", "deploy_rule")
ANY = "any"


def heading(reading: str, o: Outcome) -> str:
    """A column's heading: the outcome's label, `Δ label` for a paired difference."""
    return f"Δ {o.label}" if reading.startswith("diff") else o.label


def _headline() -> list[tuple[str, str, Outcome]]:
    """(variable, heading, outcome) of each headline column."""
    return [(f"{reading}_{name}" if reading else name, heading(reading, outcome(name)), outcome(name))
            for reading, name in HEADLINE]


def legend() -> str:
    """What each headline event column means, from the declarations: the
    first use of a word like `tripwire` is explained here."""
    seen = []
    for _, _, o in _headline():
        if o.kind == EVENT and o not in seen:
            seen.append(o)
    return "; ".join(f"{o.label}: {o.meaning}" for o in seen)


def _readings(ds: xr.Dataset, var: str, year: int) -> list[tuple[float, float, float, float]]:
    """(estimate, Monte Carlo SE, low, high) of a probability variable for
    every option, the parameter interval NaN where the result has none."""
    interval = [flat(ds, f"{var}_q", year, q) if nested(ds) and f"{var}_q" in ds.data_vars
                else np.full(len(options(ds)), np.nan) for q in (LOW, HIGH)]
    return list(zip(flat(ds, var, year), flat(ds, f"{var}_se", year), *interval, strict=True))


def _terminal(p: float, se: float, low: float, high: float) -> str:
    """A probability in %: with its parameter interval where there is one,
    else ± its simulation noise (the table's heading says which)."""
    if np.isnan(p):
        return "-"
    if np.isnan(low):
        return f"{100 * p:5.1f}±{100 * se:.2f}"
    return f"{100 * p:.1f} {span(low, high)}"


def _markdown(p: float, se: float, low: float, high: float) -> str:
    if np.isnan(p):
        return "–"
    if np.isnan(low):
        return f"{100 * p:.1f} ± {100 * se:.2f}"
    return f"{100 * p:.1f} {span(low, high)}"


def _cells(ds: xr.Dataset, columns, year: int, cell, count: str) -> list[tuple[str, ...]]:
    """The headline cells of every option, in the order of `options`:
    probabilities through ``cell(p, se, low, high)``, means through the format ``count``."""
    cells = []
    for var, _, _ in columns:
        if var.startswith(("mean", "diff_mean")):
            sign = "+" if var.startswith("diff") else ""
            values = flat(ds, var)
            if nested(ds) and f"{var}_q" in ds.data_vars:
                low, high = flat(ds, f"{var}_q", None, LOW), flat(ds, f"{var}_q", None, HIGH)
                cells.append([count.format(v, sign=sign) + f" [{count.format(a)}, {count.format(b)}]"
                              if np.isfinite(v) else "-" for v, a, b in zip(values, low, high, strict=True)])
            else:
                cells.append([count.format(v, sign=sign) for v in values])
        elif nested(ds) and f"{var}_q" not in ds.data_vars:
            # No per-draw tally, so no parameter interval; and no ± either, which would read as one.
            cells.append(["-" if np.isnan(r[0]) else f"{100 * r[0]:.1f}" for r in _readings(ds, var, year)])
        else:
            cells.append([cell(*r) for r in _readings(ds, var, year)])
    return list(zip(*cells, strict=True))


class _Count(str):
    """A count's format that also takes a sign (``{sign}`` in it)."""

    def format(self, value, sign: str = "") -> str:
        return str.format(self.replace("{:", "{:" + sign), value)


def _shown_once(every: list[dict], cells: list[tuple]) -> list[tuple[dict, tuple]]:
    """The rows to print: options without a force whose readings do not
    differ across `NO_FORCE_AXES` are shown once, those axes as `any`."""
    groups: dict = {}
    for k, option in enumerate(every):
        key = tuple(v for a, v in option.items() if a not in NO_FORCE_AXES) if option["force_size"] == 0 else k
        groups.setdefault(key, []).append(k)
    rows = []
    for group in groups.values():   # in the order each was first seen
        if len(group) > 1 and len({cells[k] for k in group}) == 1:
            rows.append(({**every[group[0]], **dict.fromkeys(NO_FORCE_AXES, ANY)}, cells[group[0]]))
        else:
            rows += [(every[k], cells[k]) for k in group]
    return rows


OPTION_HEAD = f"{'force':>6} {'posture':<8} {'deploy':<6} {'support':<9} {'leverage':<10}"


def _label(option: dict) -> str:
    """An option in the terminal tables' first five columns."""
    words = [SHORT.get(str(option[a]), str(option[a])) for a in AXES[1:]]
    return f"{option['force_size']:>6} {words[0]:<8} {words[1]:<6} {words[2]:<9} {words[3]:<10}"


def _clip(words: str, room: int) -> str:
    """``words`` (`a 0.34, b 0.22, ...`) in at most ``room`` characters: whole
    entries while they fit, then `…`."""
    if len(words) <= room:
        return words
    parts = words.split(", ")
    kept = next((parts[:n] for n in range(len(parts) - 1, 0, -1) if len(", ".join(parts[:n]) + ", …") <= room), [])
    if kept:
        return ", ".join(kept) + ", …"
    name, _, value = parts[0].rpartition(" ")    # the first entry alone: shorten its name, keep its value
    return f"{name[:max(room - len(value) - 2, 1)]}… {value}" if name else parts[0][:max(room - 1, 0)] + "…"


def _fit(head: list[str], rows: list[tuple[dict, tuple]], order: list[int], text: bool) -> tuple[list, list, list]:
    """The columns that fit `WIDTH` (taken in ``order``, shown in theirs), the
    rows cut to them, and the headings left out; a last ``text`` column
    takes the room that is left, its words clipped (`_clip`)."""
    widths = [max([len(h)] + [len(cells[k]) for _, cells in rows]) for k, h in enumerate(head)]
    room = WIDTH - len(OPTION_HEAD)
    kept = []
    for k in order:
        if text and k == len(head) - 1:
            continue
        if 1 + widths[k] <= room:
            kept.append(k)
            room -= 1 + widths[k]
    kept.sort()
    cut = [(option, tuple(cells[k] for k in kept)) for option, cells in rows]
    left = [head[k] for k in range(len(head)) if k not in kept]
    if text and room > len(head[-1]):
        cut = [(option, cells + (_clip(full[-1], room - 1),)) for (option, cells), (_, full) in zip(cut, rows,
                                                                                                  strict=True)]
        kept.append(len(head) - 1)
        left = [h for h in left if h != head[-1]]
        if any(full[-1] != cells[-1] for (_, cells), (_, full) in zip(cut, rows, strict=True)):
            left.append(f"{head[-1]} in full")
    return [head[k] for k in kept], cut, left


def _rows(head: list[str], rows: list[tuple[dict, tuple]], every: int, text: int = 0,
          order: list[int] | None = None) -> list[str]:
    """A terminal table's heading, rule and option rows, each column as wide
    as it needs; the last ``text`` columns are words, aligned left. With
    ``order`` (the columns by priority), only the columns that fit `WIDTH`,
    and a line naming those left out."""
    left = []
    if order is not None:
        head, rows, left = _fit(head, rows, order, bool(text))
        text = min(text, len(head))
    widths = [max([len(h)] + [len(cells[k]) for _, cells in rows]) for k, h in enumerate(head)]
    align = [">"] * (len(head) - text) + ["<"] * text

    def line(start: str, cells) -> str:
        return (start + " " + " ".join(f"{c:{a}{w}}" for c, a, w in zip(cells, align, widths, strict=True))).rstrip()
    top = line(OPTION_HEAD, head)
    lines = [top, "-" * len(top)] + [line(_label(option), cells) for option, cells in rows]
    if len(rows) < every:
        lines += _wrap(f"{ANY}: without a force, posture and deployment rule cannot matter; the options that "
                       f"differ only in them are identical and shown once", order is not None)
    if left:
        lines += _wrap(f"not shown to fit {WIDTH} columns (report --wide shows them): {', '.join(left)}", True)
    return lines


def _wrap(text: str, narrow: bool) -> list[str]:
    """A line of prose, wrapped to `WIDTH` if ``narrow``."""
    return textwrap.wrap(text, WIDTH, break_on_hyphens=False) if narrow else [text]


def table(ds: xr.Dataset, year: int | None = None, wide: bool = False,
          measure: effects.Measure | None = None) -> str:
    """One line per option: probabilities in percent, each with its 90%
    parameter interval (or, in a result without one, ± its simulation
    noise), and means; options without a force that differ only in posture
    and deployment rule, and so not at all, are one line. Then the effects
    table (`effects_table`). ``year`` picks the years column (default: 2 if
    available). The table fits `WIDTH` columns, the columns of `PRIORITY`
    first, unless ``wide``: then every column, at full length. The effects
    are read on ``measure`` alone, or by default on days at war and then
    on the 2-year re-attack risk (`effect_measures`)."""
    horizon = int(ds.attrs["horizon_days"])
    year = _year(ds, year)
    columns = _headline()
    means = [h for v, h, _ in columns if v.startswith("mean")]
    paired = [h for v, h, _ in columns if v.startswith("diff_p")]
    if nested(ds):
        reading = (f"probabilities in % within {year} year(s), each with its 90% parameter interval "
                   f"[5th, 95th percentile over the priors' {draws(ds):,} draws]: "
                   f"the uncertainty of the answer; simulation noise is in the effects table below")
    else:
        reading = (f"probabilities in % within {year} year(s) ± simulation noise (one Monte Carlo standard "
                   f"error; not the uncertainty of the answer: {why_no_intervals(ds)})")
    prose = [f"{ds.attrs['title']}: {int(ds.attrs['runs']):,} runs per option, seed {ds.attrs['seed']}",
             reading,
             f"{', '.join(paired)}: paired difference to the baseline, in percentage points; Δ days at war: "
             f"in days",
             legend(),
             f"{', '.join(means)}: mean totals per run over the {horizon}-day horizon (not daily means)"
             + (", days at war with the 90% parameter interval" if nested(ds) else ""),
             f"re-attack after ceasefire: within {year} year(s) of the first ceasefire (free of its timing)"
             + ("; no parameter interval in a result made before it was tallied per draw"
                if nested(ds) and "p_reattack_after_ceasefire_q" not in ds.data_vars else "")]
    lines = [line for text in prose for line in _wrap(text, not wide)]
    every = options(ds)
    order = None if wide else [HEADLINE.index(c) for c in PRIORITY]
    lines += _rows([h for _, h, _ in columns],
                   _shown_once(every, _cells(ds, columns, year, _terminal, _Count("{:.0f}"))),
                   len(every), order=order)
    return "\n\n".join(["\n".join(lines)] + [effects_table(ds, wide, m) for m in effect_measures(measure)])


def _year(ds: xr.Dataset, year: int | None) -> int:
    """The years column to read: ``year``, or 2 if within the horizon, else the first."""
    years = list(ds["years"].values)
    if year is not None:
        return year
    return 2 if 2 in years and int(ds.attrs["horizon_days"]) / 365.25 >= 2 - 1e-9 else int(years[0])


def _number(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def to_json(ds: xr.Dataset, year: int | None = None, measure: effects.Measure | None = None) -> str:
    """The numbers of `table` as a JSON object: every option's headline
    readings (value, simulation noise ``se``, and the 90% parameter
    interval ``low``, ``high`` where the result shows one), then its
    effects on each measure of `effect_measures` (or why there are none)."""
    year = _year(ds, year)
    rows = options(ds)
    for var, _, _ in _headline():
        y = None if var.startswith(("mean", "diff_mean")) else year
        columns = {"value": flat(ds, var, y), "se": flat(ds, f"{var}_se", y)}
        if nested(ds) and f"{var}_q" in ds.data_vars:
            columns.update(low=flat(ds, f"{var}_q", y, LOW), high=flat(ds, f"{var}_q", y, HIGH))
        for k, row in enumerate(rows):
            row[var] = {key: _number(c[k]) for key, c in columns.items()}
    found = {}
    for m in effect_measures(measure):
        why = why_no_intervals(ds) or effects.missing(ds, m)
        found[m.key] = {"missing": why} if why else [
            {**e.option, "change": e.change, "noise": e.noise, "low": _number(e.low), "high": _number(e.high),
             "p_better": _number(e.better), "p_better_se": _number(e.better_noise), "deciding": dict(e.deciding)}
            for e in effects.effects(ds, m)]
    head = {"title": ds.attrs["title"], "runs": int(ds.attrs["runs"]), "seed": str(ds.attrs["seed"]),
            "runs_per_draw": int(ds.attrs.get("runs_per_draw", 1)), "parameter_draws": draws(ds),
            "horizon_days": int(ds.attrs["horizon_days"]), "year": int(year), "intervals": nested(ds),
            "why_no_intervals": why_no_intervals(ds) or None, "baseline": baseline_attr(ds)}
    return json.dumps({**head, "options": rows, "effects": found}, indent=2, default=int)


def effect_measures(measure: effects.Measure | None = None) -> tuple[effects.Measure, ...]:
    """The measures the effects tables read: ``measure`` alone, or days at war with the re-attack risk beside it."""
    return (effects.HEADLINE, effects.REATTACK) if measure is None else (measure,)


def deciding_words(found: tuple[tuple[str, float], ...], name: str = "{}") -> str:
    """`nu 0.34, lambda_c0 0.22` (each parameter through the format ``name``,
    and its first-order index), `–` if none."""
    return ", ".join(f"{name.format(p)} {index:.2f}" for p, index in found) or "–"


def _effect_cells(e: effects.Effect, name: str = "{}", m: effects.Measure = effects.HEADLINE) -> tuple[str, ...]:
    # An option that never differs from the baseline (the baseline itself) is better under no draw and
    # worse under none: its p_better says nothing.
    same = e.change == 0 and e.low == 0 and e.high == 0
    digits = 0 if m.year is None else 1
    k = m.scale
    interval = (f"[{k * e.low:+.{digits}f}, {k * e.high:+.{digits}f}]" if np.isfinite(e.low) else "–")
    return (f"{k * e.change:+.{digits}f}", interval, f"{k * e.noise:.{digits + 1}f}",
            "–" if same else f"{100 * e.better:.0f}%", deciding_words(e.deciding, name))


def effect_head(m: effects.Measure) -> list[str]:
    """The effects table's headings, each naming the measure it is read on."""
    word = "days at war" if m.outcome == "war_days" else m.key.replace("_", " ")
    return [f"Δ {word}", "90% interval", "noise", "better", "deciding assumptions (index)"]


def effect_title(m: effects.Measure) -> str:
    return f"Effect on the {m.words}, against the baseline"


def effects_table(ds: xr.Dataset, wide: bool = False, m: effects.Measure = effects.HEADLINE) -> str:
    """One line per option: its effect on the measure ``m`` (days at war by
    default) against the baseline, in its unit (days, or percentage points),
    with its 90% parameter interval, its simulation noise, p_better on the
    same measure and the assumptions that decide it; one line saying why
    where the result has no parameter intervals. Fits `WIDTH` columns
    unless ``wide``."""
    title = effect_title(m)
    why = why_no_intervals(ds) or effects.missing(ds, m)
    if why:
        return "\n".join(_wrap(f"{title}: not shown, {why}.", not wide))
    found = effects.effects(ds, m)
    better = "has fewer days at war" if m.outcome == "war_days" else (
        "lowers it" if m.lower_is_better else "raises it")
    unit = "days" if m.year is None else "percentage points"
    prose = [f"{title} ({plain_option(baseline_attr(ds), all_axes=True)}), in {unit}",
             "Δ: the mean paired change; 90% interval: 5th to 95th percentile over the uncertain "
             "parameters of the option's expected change (the uncertainty of the answer)",
             f"noise: one Monte Carlo standard error of the change (simulation noise only, not the uncertainty "
             f"of the answer); better: share of the parameter draws under which the option {better}",
             "deciding assumptions: the parameters whose uncertainty moves the expected change most, with "
             "their first-order index (share of its variance over the priors explained by each alone)"]
    if m == effects.REATTACK:
        prose.append("Read it beside days at war and the ceasefire chance: a re-attack can only follow a "
                     "ceasefire, so whatever delays the ceasefire lowers this risk")
    lines = [line for text in prose for line in _wrap(text, not wide)]
    every = options(ds)
    head = effect_head(m)
    if not wide:
        head = head[:-1] + ["deciding (index)"]
    lines += _rows(head, _shown_once(every, [_effect_cells(e, m=m) for e in found]), len(every), text=1,
                   order=None if wide else list(range(len(head))))
    return "\n".join(lines)


def markdown_table(ds: xr.Dataset, year: int) -> str:
    """The headline table of report.md: one row per option at ``year``."""
    columns = _headline()
    units = {"p": "%", "diff_p": "(pp)", "diff_mean": "(days)"}
    head = ["force", "posture", "deploy", "support", "leverage"]
    head += [f"{h} {units.get(reading, '')}".strip() for (reading, _), (_, h, _) in zip(HEADLINE, columns,
                                                                                          strict=True)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * 1 + ":---|" * 4 + "---:|" * len(columns)]
    cells = _cells(ds, columns, year, _markdown, _Count("{:,.0f}"))
    for k, option in enumerate(options(ds)):
        lines.append("| " + " | ".join(_option_cells(option) + list(cells[k])) + " |")
    return "\n".join(lines)


def _option_cells(option: dict) -> list[str]:
    return [f"{option['force_size']:,}"] + [SHORT.get(option[a], option[a]) for a in AXES[1:]]


def markdown_effects(ds: xr.Dataset, m: effects.Measure = effects.HEADLINE) -> str:
    """The effects table of report.md (and of the README's findings) on the
    measure ``m``: one row per option, as in `effects_table`; where
    `effects.missing`, why not."""
    why = why_no_intervals(ds) or effects.missing(ds, m)
    if why:
        return f"Not shown: {why}."
    word = "days at war" if m.outcome == "war_days" else m.key
    unit = "days" if m.year is None else "pp"
    head = ["force", "posture", "deploy", "support", "leverage", f"Δ {word} ({unit})", "90% parameter interval",
            "simulation noise (MC SE)", f"p_better on {word}", "deciding assumptions (first-order index)"]
    lines = ["| " + " | ".join(head) + " |", "|---:|" + ":---|" * 4 + "---:|" * 4 + ":---|"]
    every = options(ds)
    for option, cells in _shown_once(every, [_effect_cells(e, "`{}`", m) for e in effects.effects(ds, m)]):
        lines.append("| " + " | ".join(_option_cells(option) + list(cells)) + " |")
    return "\n".join(lines)


def _csv_columns(ds: xr.Dataset) -> list[tuple[str, np.ndarray]]:
    """(column, values over options) for every outcome reading the result
    holds: probabilities and paired differences at each year, derived
    probabilities, means, each with its standard error (simulation noise);
    the quantiles over the parameter draws (`_qNN`, with their own noise)
    and p_better where the result has them."""
    years = [int(y) for y in ds["years"].values]
    names = []
    for o in OUTCOMES:
        if o.kind == COUNT:
            names += [(f"mean_{o.name}", None), (f"diff_mean_{o.name}", None)]
            names += [(f"p_better_{o.name}", None)] if o.better else []
        else:
            readings = [f"p_{o.name}", f"diff_p_{o.name}"] if o.kind in (EVENT, STATE) else [o.name]
            readings += [f"p_better_{o.name}"] if o.better and o.kind in (EVENT, STATE) else []
            names += [(r, y) for r in readings for y in years]
    quantiles = [float(q) for q in ds["quantile"].values] if nested(ds) else []
    columns = []
    for name, y in names:
        if name in ds and f"{name}_se" in ds:
            suffix = "" if y is None else f"_{y}y"
            columns += [(name + suffix, flat(ds, name, y)), (f"{name}{suffix}_se", flat(ds, f"{name}_se", y))]
            if f"{name}_q" in ds:
                for q in quantiles:
                    column = f"{name}{suffix}_q{round(100 * q):02d}"
                    columns += [(column, flat(ds, f"{name}_q", y, q)), (f"{column}_se", flat(ds, f"{name}_q_se", y, q))]
    columns += [(name, flat(ds, name)) for name in ("p_better", "p_better_se") if name in ds and nested(ds)]
    return columns


DECIDING_COLUMN = "deciding_assumptions"


def csv_columns(ds: xr.Dataset) -> list[str]:
    return list(AXES) + ["runs"] + [name for name, _ in _csv_columns(ds)] + [DECIDING_COLUMN]


def _num(x: float) -> str:
    return "" if not np.isfinite(x) else repr(float(x))


def write_csv(ds: xr.Dataset, path: Path) -> Path:
    """One row per option: every axis, the runs, every outcome reading
    (`_csv_columns`) and the deciding assumptions (`parameter index; ...`).
    Empty cells: beyond the horizon, or undefined."""
    n = flat(ds, "runs")
    columns = _csv_columns(ds)
    found = effects.deciding(ds)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(csv_columns(ds))
        for k, option in enumerate(options(ds)):
            writer.writerow([option[a] for a in AXES] + [int(n[k])] + [_num(c[k]) for _, c in columns]
                            + ["; ".join(f"{p} {v:.4f}" for p, v in found[k])])
    return path
