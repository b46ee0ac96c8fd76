"""Tables of a result: the terminal table, the Markdown table of the report
and the CSV of every option. Headings and columns come from the outcome
declarations (`deterrence.outcomes`)."""

import csv
from pathlib import Path

import numpy as np
import xarray as xr

from deterrence.model import AXES
from deterrence.outcomes import COUNT, EVENT, OUTCOMES, Outcome, outcome
from deterrence.report.grid import SHORT, flat, options

# The headline columns of the terminal and Markdown tables: (reading, outcome),
# a reading being a variable's prefix: p_ (probability), diff_p_ (paired
# difference to the baseline) or mean_ (mean total per run).
HEADLINE = (("p", "ceasefire"), ("p", "deployed"), ("p", "reattack"), ("diff_p", "reattack"),
            ("p", "tripwire"), ("mean", "strikes"), ("mean", "violations"))
# Without a force, posture and deployment rule cannot change anything.
NO_FORCE_AXES = ("posture", "deploy_rule")
ANY = "any"


def heading(reading: str, o: Outcome) -> str:
    """A column's heading: the outcome's label, `Δ label` for a paired difference."""
    return f"Δ {o.label}" if reading.startswith("diff") else o.label


def _headline() -> list[tuple[str, str, Outcome]]:
    """(variable, heading, outcome) of each headline column."""
    return [(f"{reading}_{name}", heading(reading, outcome(name)), outcome(name)) for reading, name in HEADLINE]


def legend() -> str:
    """What each headline event column means, from the declarations: the
    first use of a word like `tripwire` is explained here."""
    seen = []
    for _, _, o in _headline():
        if o.kind == EVENT and o not in seen:
            seen.append(o)
    return "; ".join(f"{o.label}: {o.meaning}" for o in seen)


def _pct(p: float, se: float) -> str:
    if np.isnan(p):
        return "-"
    return f"{100 * p:5.1f}±{100 * se:.2f}"


def _cells(ds: xr.Dataset, columns, year: int, pct, count: str) -> list[tuple[str, ...]]:
    """The headline cells of every option, in the order of `options`:
    probabilities through ``pct(p, se)``, means through the format ``count``."""
    cells = []
    for var, _, _ in columns:
        if var.startswith("mean"):
            cells.append([count.format(v) for v in flat(ds, var)])
        else:
            cells.append([pct(p, se) for p, se in zip(flat(ds, var, year), flat(ds, f"{var}_se", year),
                                                      strict=True)])
    return list(zip(*cells, strict=True))


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


def table(ds: xr.Dataset, year: int | None = None) -> str:
    """One line per option: probabilities (percent, ± one standard error)
    and means; options without a force that differ only in posture and
    deployment rule, and so not at all, are one line. ``year`` picks the
    years column (default: 2 if available)."""
    years = list(ds["years"].values)
    horizon = int(ds.attrs["horizon_days"])
    if year is None:
        year = 2 if 2 in years and horizon / 365.25 >= 2 - 1e-9 else years[0]
    columns = _headline()
    widths = [max(len(h), 8 if v.startswith("mean") else 11) for v, h, _ in columns]
    means = [h for v, h, _ in columns if v.startswith("mean")]
    paired = [h for v, h, _ in columns if v.startswith("diff")]
    head = (f"{'force':>6} {'posture':<8} {'deploy':<6} {'support':<9} {'leverage':<10} "
            + " ".join(f"{h:>{w}}" for (_, h, _), w in zip(columns, widths, strict=True)))
    lines = [f"{ds.attrs['title']}: {int(ds.attrs['runs']):,} runs per option, seed {ds.attrs['seed']}",
             f"probabilities in % within {year} year(s) (± one Monte Carlo standard error); "
             f"{', '.join(paired)}: paired difference to the baseline, in percentage points",
             legend(),
             f"{' and '.join(means)}: mean totals per run over the {horizon}-day horizon (not daily means)",
             head, "-" * len(head)]
    every = options(ds)
    rows = _shown_once(every, _cells(ds, columns, year, _pct, "{:.0f}"))
    for option, cells in rows:
        label = [str(option["force_size"])] + [SHORT.get(str(option[a]), str(option[a])) for a in AXES[1:]]
        lines.append(f"{label[0]:>6} {label[1]:<8} {label[2]:<6} {label[3]:<9} {label[4]:<10} "
                     + " ".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True)))
    if len(rows) < len(every):
        lines.append(f"{ANY}: without a force, posture and deployment rule cannot matter; the options that "
                     f"differ only in them are identical and shown once")
    return "\n".join(lines)


def markdown_table(ds: xr.Dataset, year: int) -> str:
    """The headline table of report.md: one row per option at ``year``."""
    columns = _headline()
    units = {"p": "%", "diff_p": "(pp)", "mean": ""}
    head = ["force", "posture", "deploy", "support", "leverage"]
    head += [f"{h} {units[v.rsplit('_', 1)[0]]}".strip() for v, h, _ in columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * 1 + ":---|" * 4 + "---:|" * len(columns)]

    def pct(p, se):
        return "–" if np.isnan(p) else f"{100 * p:.1f} ± {100 * se:.2f}"

    cells = _cells(ds, columns, year, pct, "{:,.0f}")
    for k, option in enumerate(options(ds)):
        row = [f"{option['force_size']:,}"] + [SHORT.get(option[a], option[a]) for a in AXES[1:]]
        row += cells[k]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def _csv_columns(ds: xr.Dataset) -> list[tuple[str, np.ndarray]]:
    """(column, values over options) for every outcome reading the result
    holds: probabilities and paired differences at each year, derived
    probabilities, means, each with its standard error."""
    years = [int(y) for y in ds["years"].values]
    names = []
    for o in OUTCOMES:
        if o.kind == COUNT:
            names += [(f"mean_{o.name}", None), (f"diff_mean_{o.name}", None)]
        else:
            readings = [f"p_{o.name}", f"diff_p_{o.name}"] if o.kind == EVENT else [o.name]
            names += [(r, y) for r in readings for y in years]
    columns = []
    for name, y in names:
        if name in ds and f"{name}_se" in ds:
            suffix = "" if y is None else f"_{y}y"
            columns += [(name + suffix, flat(ds, name, y)), (f"{name}{suffix}_se", flat(ds, f"{name}_se", y))]
    return columns


def csv_columns(ds: xr.Dataset) -> list[str]:
    return list(AXES) + ["runs"] + [name for name, _ in _csv_columns(ds)]


def _num(x: float) -> str:
    return "" if not np.isfinite(x) else repr(float(x))


def write_csv(ds: xr.Dataset, path: Path) -> Path:
    """One row per option: every axis, the runs, and every outcome reading
    (`_csv_columns`). Empty cells: beyond the horizon, or undefined."""
    n = flat(ds, "runs")
    columns = _csv_columns(ds)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(csv_columns(ds))
        for k, option in enumerate(options(ds)):
            writer.writerow([option[a] for a in AXES] + [int(n[k])] + [_num(c[k]) for _, c in columns])
    return path
