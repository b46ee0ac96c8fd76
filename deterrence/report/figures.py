"""The figures of a result. Each `draw_*` function writes one PNG and
returns its path with a caption whose every reading is computed from the
result (a path of None: the figure is not drawn, and the caption says why).

Every estimate drawn carries its 90% parameter interval (error bars from
the `_q` variables: 5th to 95th percentile over the uncertain parameters'
draws), and the caption says so. Monte Carlo standard errors are named in
captions as simulation noise only, never drawn as the uncertainty of an
answer; a result without parameter intervals draws no bars and says why."""

from pathlib import Path

import numpy as np
import xarray as xr

from deterrence import style
from deterrence.model import AXES, PARAMETERS
from deterrence.outcomes import outcome, sensitivity_label
from deterrence.report import effects
from deterrence.report.grid import (
    AXIS_WORDS,
    HIGH,
    LOW,
    NOT_NESTED,
    PLAIN,
    SHORT,
    baseline,
    baseline_attr,
    bounds,
    first_levels,
    flat,
    levels,
    nested,
    options,
    pct,
    plain_option,
    reading,
    representative,
    sel,
    span,
    valid_years,
    year,
)

MAX_SENSITIVITY_BARS = 12
SENSITIVITY_FLOOR = 0.001
MEANINGS = {p.name: p.meaning for p in PARAMETERS}
SENSITIVITY_NAMES = {key: sensitivity_label(key) for key in ("reattack_2y", "diff_reattack_2y")}
BARS = "error bars: 90% parameter interval"
NO_BARS = f"No error bars: {NOT_NESTED}."
LINE_COLORS = ["black", "tab:blue", "tab:orange", "tab:purple", "tab:brown", "tab:cyan", "tab:olive",
               "tab:pink", "tab:green", "tab:red"]


def _err(value, low, high) -> np.ndarray:
    """Error bar lengths (2, n) in percent from an estimate and its interval
    (clipped at 0: a mean may sit a hair outside its shrunk quantiles)."""
    value, low, high = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (value, low, high))
    return 100 * np.clip(np.stack([value - low, high - value]), 0.0, None)


def _noise(ds: xr.Dataset, names: list[str], at_year: int) -> float:
    """The largest Monte Carlo SE of the variables ``names`` at ``at_year``, for the captions."""
    return max(float(np.nanmax(flat(ds, f"{n}_se", at_year))) for n in names)


def _noise_words(ds: xr.Dataset, names: list[str], at_year: int) -> str:
    return (f" Simulation noise (one Monte Carlo standard error) is at most "
            f"{100 * _noise(ds, names, at_year):.2f} points in any option, and is not drawn.")


# ------------------------------------------------------------ effects with their parameter intervals

def _force_rows(ds: xr.Dataset) -> list[dict]:
    """One row per force configuration (size, posture, deployment rule); no force once."""
    grid = levels(ds)
    rows = []
    for force in grid["force_size"]:
        for posture in grid["posture"][:1] if force == 0 else grid["posture"]:
            for rule in grid["deploy_rule"][:1] if force == 0 else grid["deploy_rule"]:
                rows.append({"force_size": force, "posture": posture, "deploy_rule": rule})
    return rows


def _row_label(row: dict) -> str:
    if row["force_size"] == 0:
        return "no force"
    posture, rule = (SHORT.get(row[a], row[a]) for a in ("posture", "deploy_rule"))
    return f"{row['force_size']:,} {posture}, {rule}"


def draw_effects(ds: xr.Dataset, path: Path, m: effects.Measure = effects.HEADLINE) -> tuple[Path | None, str]:
    why = effects.missing(ds, m)
    if why:
        return None, f"The chart of effects with their parameter intervals is not drawn: {why}."
    k = m.scale
    unit = "days" if m.year is None else "percentage points"
    grid = levels(ds)
    base = baseline_attr(ds)
    panels = [a for a in ("support", "leverage") if len(grid[a]) > 1] or ["support"]
    fixed = {a: base[a] if base.get(a) in grid[a] else grid[a][0] for a in ("support", "leverage")}
    rows = _force_rows(ds)
    fig = style.figure((5.5 * len(panels), max(3.0, 1.4 + 0.3 * len(rows))))
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    y = ds if m.year is None else ds.sel(years=m.year)
    shown = []
    for ax, axis in zip(axes, panels, strict=True):
        other = "leverage" if axis == "support" else "support"
        series = grid[axis]
        for j, level in enumerate(series):
            pick = [sel(y, {**row, axis: level, other: fixed[other]}) for row in rows]
            x = np.array([float(o[m.effect]) for o in pick])
            q = np.array([o[f"{m.effect}_q"].sel(quantile=[LOW, 0.25, 0.75, HIGH], method="nearest").values
                          for o in pick])
            pos = np.arange(len(rows)) + (j - (len(series) - 1) / 2) * 0.7 / len(series)
            color = LINE_COLORS[j % len(LINE_COLORS)]
            ax.errorbar(k * x, pos, xerr=_err(x, q[:, 0], q[:, 3]) * k / 100, fmt="o", ms=3.5, capsize=2,
                        lw=0.9, color=color, label=PLAIN.get(level, level))
            ax.hlines(pos, k * q[:, 1], k * q[:, 2], lw=3, color=color, alpha=0.6)
            shown += [{**row, axis: level, other: fixed[other]} for row in rows]
        ax.axvline(0, color="black", lw=0.7)
        ax.set_yticks(range(len(rows)), [_row_label(r) for r in rows], fontsize=8)
        ax.set_ylim(len(rows) - 0.5, -0.5)   # the first row on top
        ax.set_xlabel(f"change in {m.words} vs baseline, {unit}")
        ax.set_title(f"by {AXIS_WORDS[axis]} ({AXIS_WORDS[other]}: {PLAIN.get(fixed[other], fixed[other])})",
                     fontsize=style.TITLE_SIZE)
        ax.grid(axis="x", alpha=style.GRID_ALPHA)
        ax.legend(fontsize=style.LEGEND_SIZE - 0.5, loc="best")
    fig.suptitle(f"Effect on the {m.words} against the baseline\n"
                 f"(dot: mean change; thick bar: 50% and thin bar: 90% parameter interval)",
                 fontsize=style.TITLE_SIZE)
    style.save(fig, path)
    found = {tuple(e.option[a] for a in AXES): e for e in effects.effects(ds, m)}
    drawn = dict.fromkeys(tuple(o[a] for a in AXES) for o in shown if o["force_size"] > 0)  # once each
    with_force = [found[key] for key in drawn]
    text = (f"Each option's paired change in the {m.words} against the baseline "
            f"({plain_option(base, all_axes=True)}), in {unit}: the dot is the mean change, the "
            f"thick bar its 50% and the thin bar its 90% parameter interval (the 25th to 75th and 5th to 95th "
            f"percentiles over the uncertain parameters' draws of the option's expected change): what we do "
            f"not know, not simulation noise.")
    noise = float(np.nanmax(flat(ds, f"{m.effect}_se", m.year))) if len(flat(ds, f"{m.effect}_se", m.year)) else 0.0
    text += (f" Simulation noise (one Monte Carlo standard error) is at most {k * noise:.2f} "
             f"{'days' if m.year is None else 'points'} in any option, and is not drawn.")
    if with_force:
        sure = [e for e in with_force if e.better >= 0.95]
        upper = [e for e in with_force if e.high < 0]
        widest = max(with_force, key=lambda e: e.high - e.low)
        text += (f" Of the {len(with_force)} options with a force drawn, {len(sure)} are better on this measure "
                 f"under at least 95% of the parameter draws (p_better), and {len(upper)} have a 90% interval "
                 f"wholly below zero. The widest interval, [{k * widest.low:+.1f}, {k * widest.high:+.1f}] "
                 f"{'days' if m.year is None else 'points'}, is that of {plain_option(widest.option, all_axes=True)}.")
    return path, text


# ------------------------------------------------------------ cumulative risk

def _incidence_selection(ds: xr.Dataset, at_year: int) -> list[tuple[str, dict]]:
    """The baseline, each force at the first levels, the lowest and highest risk."""
    grid = levels(ds)
    chosen: list[tuple[str, dict]] = []

    def add(tag: str, option: dict) -> None:
        if all(option != o for _, o in chosen):
            chosen.append((tag, option))
        else:
            i = next(i for i, (_, o) in enumerate(chosen) if o == option)
            old = chosen[i][0]
            chosen[i] = (f"{old}; {tag}" if old and tag else old or tag, option)

    base = baseline(ds)
    if base is not None:
        add("baseline", base)
    for force in grid["force_size"]:
        add("", {"force_size": force, **{a: grid[a][0] for a in AXES[1:]}})
    p = flat(ds, "p_reattack", at_year)
    if np.any(np.isfinite(p)):
        every = options(ds)
        add("lowest risk", every[int(np.nanargmin(p))])
        add("highest risk", every[int(np.nanargmax(p))])
    return chosen


def draw_incidence(ds: xr.Dataset, path: Path) -> tuple[Path, str]:
    at_year = year(ds, 2)
    horizon = int(ds.attrs["horizon_days"])
    days = ds.sizes["day"] - 1
    t = (np.arange(days) + 1) / 365.25
    marks = valid_years(ds)
    fig = style.figure()
    ax = fig.add_subplot()
    selection = _incidence_selection(ds, at_year)
    finals = {}
    for k, (tag, option) in enumerate(selection):
        o = sel(ds, option)
        cum = np.cumsum(o["reattack_day"].values[:-1]) / float(o["runs"])
        color = ("tab:green" if tag == "lowest risk" else "tab:red" if tag == "highest risk"
                 else LINE_COLORS[k % len(LINE_COLORS)])
        label = plain_option(option, ds) + (f" ({tag})" if tag else "")
        ax.plot(t, 100 * cum, color=color, lw=1.8 if tag else 1.3,
                ls="--" if tag.startswith("baseline") else "-", label=label)
        interval = bounds(o, "p_reattack")
        if interval is not None and marks:
            x = np.array(marks, dtype=float) + 0.04 * (k - (len(selection) - 1) / 2)  # side by side
            p = o["p_reattack"].sel(years=marks).values
            ax.errorbar(x, 100 * p, yerr=_err(p, *(b.sel(years=marks).values for b in interval)), fmt="o",
                        ms=3, color=color, capsize=2, lw=1)
        finals[tag] = float(cum[-1]) if cum.size else float("nan")
    ax.set_xlim(0, horizon / 365.25)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("years since the study start")
    ax.set_ylabel("runs with a re-attack so far (%)")
    bars = f"{BARS} at {', '.join(map(str, marks))} years" if nested(ds) else "no parameter intervals"
    ax.set_title(f"Cumulative risk of a renewed Russian offensive ({bars})", fontsize=style.TITLE_SIZE)
    ax.grid(alpha=style.GRID_ALPHA)
    ax.legend(fontsize=style.LEGEND_SIZE - 0.5, loc="upper left", frameon=True)
    style.save(fig, path)

    def at(option):
        o = sel(ds, option).sel(years=at_year)
        interval = bounds(o, "p_reattack")
        low, high = (np.nan, np.nan) if interval is None else (float(b) for b in interval)
        return float(o["p_reattack"]), float(o["p_ceasefire"]), reading(float(o["p_reattack"]),
                                                                         float(o["p_reattack_se"]), low, high)

    parts = []
    if nested(ds):
        parts.append(f"Each curve is an option's share of runs with a re-attack so far; the error bars at "
                     f"{', '.join(map(str, marks))} years are its 90% parameter interval (5th to 95th percentile "
                     f"over the uncertain parameters' draws of the option's risk).")
    else:
        parts.append(f"Each curve is an option's share of runs with a re-attack so far. {NO_BARS}")
    base = next(((tag, o) for tag, o in selection if tag.startswith("baseline")), None)
    if base is not None:
        pr, pc, said = at(base[1])
        parts.append(f"Under the baseline ({plain_option(base[1], ds, all_axes=True)}) {said} of runs see "
                     f"Russia attack again within {at_year} year(s) of the start and {pct(finals[base[0]])}% "
                     f"within the {horizon}-day horizon.")
        if pc > 0:
            parts.append(f"As a re-attack can only follow a ceasefire, that is "
                         f"{pct(pr / pc)}% of the {pct(pc)}% of runs that reach a ceasefire by then.")
    for tag in ("lowest risk", "highest risk"):
        option = next((o for t_, o in selection if tag in t_), None)
        if option is not None:
            pr, pc, said = at(option)
            cond = f"; {pct(pr / pc)}% of its runs with a ceasefire" if pc > 0 else ""
            parts.append(f"The {tag.replace(' ', '-')} option of the study, "
                         f"{plain_option(option, ds, all_axes=True)}, has {said} within {at_year} "
                         f"year(s){cond}.")
    ceasefire = [at(o)[1] for _, o in selection]
    parts.append(f"Among the options drawn, a ceasefire comes within {at_year} year(s) in "
                 f"{pct(min(ceasefire))}% to {pct(max(ceasefire))}% of runs; as no re-attack comes "
                 f"before a ceasefire, an option with a later ceasefire also has a later first chance "
                 f"of a re-attack, so read the conditional shares beside the curves.")
    return path, " ".join(parts)


# ------------------------------------------------------------ force size x US support

def draw_heatmap(ds: xr.Dataset, path: Path) -> tuple[Path, str]:
    at_year = year(ds, 2)
    grid = levels(ds)
    rest = {a: grid[a][0] for a in ("posture", "deploy_rule", "leverage")}
    sub = ds.sel(years=at_year, **rest)

    def grid_of(da):
        return da.transpose("force_size", "support").values

    p, d, d_se = (grid_of(sub[n]) for n in ("p_reattack", "diff_p_reattack", "diff_p_reattack_se"))
    intervals = {n: None if bounds(sub, n) is None else tuple(grid_of(b) for b in bounds(sub, n))
                 for n in ("p_reattack", "diff_p_reattack")}
    fig = style.figure()
    axes = fig.subplots(1, 2, sharey=True)
    forces = [f"{f:,}" for f in grid["force_size"]]
    supports = [PLAIN.get(s, s).replace("US ", "US\n").replace("no US ", "no US\n")
                for s in grid["support"]]
    limit = max(float(np.nanmax(np.abs(d))) if np.any(np.isfinite(d)) else 0.0, 1e-6)
    label = outcome("reattack").label
    panels = ((axes[0], "p_reattack", p, "viridis_r", None, None, f"P({label} within {at_year} y), %", "{:.1f}%"),
              (axes[1], "diff_p_reattack", d, "RdBu_r", -100 * limit, 100 * limit,
               "change vs baseline, percentage points", "{:+.1f}"))
    for ax, name, values, cmap, vmin, vmax, title, fmt in panels:
        values = 100 * values
        im = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", origin="lower")
        fig.colorbar(im, ax=ax, shrink=0.85)
        ax.set_title(title, fontsize=style.TITLE_SIZE)
        ax.set_xticks(range(len(supports)), supports, fontsize=8)
        ax.set_yticks(range(len(forces)), forces)
        ax.set_xlabel("US support behind the force")
        lo, hi = im.get_clim()
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                v = values[i, j]
                if np.isnan(v):
                    continue
                shade = (v - lo) / (hi - lo) if hi > lo else 0.5
                dark = shade > 0.6 if cmap == "viridis_r" else abs(shade - 0.5) > 0.35
                text = fmt.format(v)
                if intervals[name] is not None:
                    text += "\n" + span(intervals[name][0][i, j], intervals[name][1][i, j])
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="white" if dark else "black")
    axes[0].set_ylabel("troops in the reassurance force")
    inside = "[90% parameter interval] under each value" if nested(ds) else "no parameter intervals"
    fig.suptitle(f"Re-attack risk by force size and US support ({inside})\n(other axes at their first level: "
                 f"{first_levels(ds, keep=('support',))})", fontsize=style.TITLE_SIZE)
    style.save(fig, path)

    def said(i, j) -> str:
        interval = intervals["diff_p_reattack"]
        low, high = (np.nan, np.nan) if interval is None else (interval[0][i, j], interval[1][i, j])
        return reading(d[i, j], d_se[i, j], low, high, unit=" points", sign=True)

    finite = np.isfinite(d)
    text = (f"The left panel gives the chance of a re-attack within {at_year} year(s) for each force size "
            f"(rows) and kind of US support (columns), the right panel its paired change against the "
            f"baseline in percentage points (blue: lower risk, red: higher), with the other axes at "
            f"their first level ({first_levels(ds, keep=('support',))}). ")
    text += ("Under each value, in brackets, its 90% parameter interval (5th to 95th percentile over the "
             "uncertain parameters' draws)." if nested(ds) else NO_BARS)
    if finite.any():
        i, j = np.unravel_index(np.nanargmin(np.where(finite, d, np.nan)), d.shape)
        text += (f" The largest cut in this slice is {said(i, j)}, with {grid['force_size'][i]:,} troops and "
                 f"{PLAIN.get(grid['support'][j], grid['support'][j])}.")
    if 0 in grid["force_size"] and len(grid["support"]) > 1:
        # What US support does without a force: the numbers, not the model's design.
        i = grid["force_size"].index(0)
        strikes = ds["mean_strikes"].sel(force_size=0, **rest).sel(support=grid["support"]).values
        changes = "; ".join(f"{PLAIN.get(s, s)} {said(i, j)} and {strikes[j]:,.0f} strikes"
                            for j, s in enumerate(grid["support"]))
        text += (f" Without a force, the change in re-attack risk against the baseline and the "
                 f"mean strikes on cities over the {int(ds.attrs['horizon_days'])}-day horizon are: "
                 f"{changes}.")
    return path, text


# ------------------------------------------------------------ deployment x leverage

def draw_deployment(ds: xr.Dataset, path: Path) -> tuple[Path, str]:
    at_year = year(ds, 2)
    grid = levels(ds)
    option = representative(ds)
    force = option["force_size"]
    fixed = {"force_size": force, "posture": option["posture"], "support": option["support"]}
    sub = ds.sel(years=at_year, **fixed)
    leverage = [PLAIN.get(v, v) for v in grid["leverage"]]
    x = np.arange(len(leverage))
    fig = style.figure()
    ax = fig.add_subplot()
    rules = grid["deploy_rule"]
    markers = {"after_ceasefire": "o", "immediate": "s"}
    width = 0.08
    def bars(o, name):
        interval = bounds(o, name)
        return None if interval is None else _err(o[name].values, *(b.values for b in interval))

    for k, rule in enumerate(rules):
        r = sub.sel(deploy_rule=rule)
        off = (k - (len(rules) - 1) / 2) * width
        ax.errorbar(x + off, 100 * r["p_deployed"].values, yerr=bars(r, "p_deployed"),
                    marker=markers.get(rule, "D"), ms=7, capsize=4, lw=1.6,
                    label=f"force deployed, {PLAIN.get(rule, rule)}")
    c = sub.isel(deploy_rule=0)
    ax.errorbar(x, 100 * c["p_ceasefire"].values, yerr=bars(c, "p_ceasefire"), color="grey",
                ls=":", marker="^", capsize=3, label=f"first ceasefire, with {force:,} troops offered")
    no_force = None
    if 0 in grid["force_size"] and force != 0:
        no_force = ds.sel(years=at_year, force_size=0, posture=option["posture"], support=option["support"],
                          deploy_rule=rules[0])
        ax.errorbar(x + width / 2, 100 * no_force["p_ceasefire"].values, yerr=bars(no_force, "p_ceasefire"),
                    color="black", ls="--", marker="v", capsize=3, label="first ceasefire, no force offered")
    ax.set_xticks(x, leverage)
    ax.set_xlim(-0.5, len(x) - 0.5)
    ax.set_ylim(0, 105)
    ax.set_xlabel("Western leverage on Russia")
    ax.set_ylabel(f"probability within {at_year} year(s) (%)")
    ax.set_title(f"Deployment of a {force:,}-troop force against leverage "
                 f"({BARS if nested(ds) else 'no parameter intervals'})\n"
                 f"({first_levels(ds, keep=('deploy_rule', 'leverage'))})", fontsize=style.TITLE_SIZE)
    ax.grid(alpha=style.GRID_ALPHA)
    ax.legend(fontsize=style.LEGEND_SIZE, loc="best")
    style.save(fig, path)

    def under(values, fmt: str = "{:.1f}% of runs") -> str:
        """`a% of runs under the first leverage and b% of runs under the last`."""
        said = f"{fmt.format(100 * values[0])} under {leverage[0]}"
        return said + (f" and {fmt.format(100 * values[-1])} under {leverage[-1]}" if len(values) > 1 else "")

    text = (f"For a {force:,}-troop force, the chance that it is on the ground within {at_year} year(s) "
            f"as Western leverage rises, beside the chance of a first ceasefire. ")
    text += ("Error bars: 90% parameter interval (5th to 95th percentile over the uncertain parameters' "
             "draws)." if nested(ds) else NO_BARS)
    text += _noise_words(ds, ["p_deployed", "p_ceasefire"], at_year)
    if "after_ceasefire" in rules:
        after = sub.sel(deploy_rule="after_ceasefire")
        text += (f" If it deploys only after a ceasefire, it is there in {under(after['p_deployed'].values)}.")
    if no_force is not None:
        nf, cf = no_force["p_ceasefire"].values, c["p_ceasefire"].values
        text += (f" Offering the force changes the chance of a ceasefire within {at_year} year(s) by "
                 f"{under(cf - nf, '{:+.1f} points')} (from {under(nf, '{:.1f}%')} without a force).")
    if "immediate" in rules:
        now = sub.sel(deploy_rule="immediate")
        text += (f" Deployed now, during the war, it is there in {under(now['p_deployed'].values)}, "
                 f"and in combat (the tripwire) in {under(now['p_tripwire'].values)}")
        if "after_ceasefire" in rules:
            text += f", against {under(after['p_tripwire'].values)} when deployed after a ceasefire"
        text += "."
    return path, text


# ------------------------------------------------------------ risk cut x tripwire

def draw_tradeoff(ds: xr.Dataset, path: Path) -> tuple[Path, str]:
    at_year = year(ds, 5)
    grid = levels(ds)
    colors = dict(zip(grid["posture"], ("tab:blue", "tab:orange", "tab:green"), strict=False))
    markers = dict(zip(grid["deploy_rule"], ("o", "s", "D"), strict=False))
    forces = grid["force_size"]
    sizes = {f: 18 + 50 * k / max(len(forces) - 1, 1) for k, f in enumerate(forces)}
    fig = style.figure()
    ax = fig.add_subplot()
    every = options(ds)
    xs = flat(ds, "p_tripwire", at_year)
    ys, yes = -flat(ds, "diff_p_reattack", at_year), flat(ds, "diff_p_reattack_se", at_year)
    intervals = nested(ds)
    if intervals:
        x_low, x_high = (flat(ds, "p_tripwire_q", at_year, q) for q in (LOW, HIGH))
        y_low, y_high = (-flat(ds, "diff_p_reattack_q", at_year, q) for q in (HIGH, LOW))  # a cut: flipped
    rows = list(zip(every, xs, ys, yes, strict=True))
    for posture in grid["posture"]:
        for rule in grid["deploy_rule"]:
            k = np.array([o["posture"] == posture and o["deploy_rule"] == rule for o in every])
            if intervals:
                ax.errorbar(100 * xs[k], 100 * ys[k], xerr=_err(xs[k], x_low[k], x_high[k]),
                            yerr=_err(ys[k], y_low[k], y_high[k]), fmt="none", ecolor=colors[posture],
                            alpha=0.25, lw=0.8)
            size = np.array([sizes[o["force_size"]] for o in every])[k]
            ax.scatter(100 * xs[k], 100 * ys[k], s=size,
                       c=colors[posture], marker=markers[rule], alpha=0.8, edgecolors="none")
    from matplotlib.lines import Line2D  # here, not on import: see style

    handles = [Line2D([], [], ls="", marker="o", color=colors[p], label=f"posture: {PLAIN.get(p, p)}")
               for p in grid["posture"]]
    handles += [Line2D([], [], ls="", marker=markers[r], color="grey", label=f"deploy {PLAIN.get(r, r)}")
                for r in grid["deploy_rule"]]
    handles += [Line2D([], [], ls="", marker="o", color="grey", ms=np.sqrt(sizes[f]),
                       label="no force" if f == 0 else f"{f:,} troops") for f in forces]
    ax.legend(handles=handles, fontsize=style.LEGEND_SIZE - 0.5, loc="best", ncol=2)
    ax.axhline(0, color="black", lw=0.6)
    tripwire = outcome("tripwire")
    ax.set_xlabel(f"{tripwire.label} risk: P({tripwire.meaning} within {at_year} y), %")
    ax.set_ylabel(f"re-attack risk cut vs baseline within {at_year} y\n(percentage points; higher is better)")
    bars = "bars: 90% parameter intervals" if intervals else "no parameter intervals"
    ax.set_title(f"Risk reduction against tripwire risk, every option ({bars})\n"
                 "colour: posture; marker: deployment; size: force", fontsize=9)
    ax.grid(alpha=style.GRID_ALPHA)
    style.save(fig, path)
    text = (f"Each point is one option: how much it cuts the chance of a re-attack within {at_year} year(s) "
            f"against the baseline (up is better) and how likely its troops are to be drawn into combat "
            f"(right is riskier). ")
    text += ("The bars are each reading's 90% parameter interval (5th to 95th percentile over the uncertain "
             "parameters' draws)." if intervals else NO_BARS)
    text += _noise_words(ds, ["p_tripwire", "diff_p_reattack"], at_year)
    finite = [r for r in rows if np.isfinite(r[2]) and np.isfinite(r[1])]
    if finite:
        best = max(finite, key=lambda r: r[2])
        k = every.index(best[0])
        low, high = (y_low[k], y_high[k]) if intervals else (np.nan, np.nan)
        text += (f" The largest cut, {reading(best[2], best[3], low, high, unit=' points')}, comes from "
                 f"{plain_option(best[0], ds, all_axes=True)}, with a tripwire risk of {pct(best[1])}%.")
        low = [r for r in finite if r[1] <= 0.10 and r[0]["force_size"] > 0]
        if low:
            safe = max(low, key=lambda r: r[2])
            if safe[0] != best[0]:
                text += (f" Among options with a tripwire risk of at most 10%, the largest cut is "
                         f"{pct(safe[2])} points ({plain_option(safe[0], ds, all_axes=True)}, "
                         f"tripwire {pct(safe[1])}%).")
    by_rule = {r: [x for x in finite if x[0]["deploy_rule"] == r and x[0]["force_size"] > 0]
               for r in ("after_ceasefire", "immediate")}
    if all(by_rule.values()):
        now = max(by_rule["immediate"], key=lambda r: r[2])
        after = max(by_rule["after_ceasefire"], key=lambda r: r[2])
        trip_now = np.mean([x[1] for x in by_rule["immediate"]])
        trip_after = np.mean([x[1] for x in by_rule["after_ceasefire"]])
        text += (f" Deploying now rather than after a ceasefire moves the best cut from {pct(after[2])} to "
                 f"{pct(now[2])} points and the average tripwire risk of the options with a force from "
                 f"{pct(trip_after)}% to {pct(trip_now)}%.")
    return path, text


# ------------------------------------------------------------ sensitivity

def draw_sensitivity(ds: xr.Dataset, path: Path) -> tuple[Path | None, str]:
    if "sensitivity" not in ds.data_vars:
        return None, ("The sensitivity chart is not drawn: this result holds no `sensitivity` variable "
                      "(it was written by a version of deterrence that does not compute sensitivity "
                      "indices, or with no uncertain parameter).")
    option = representative(ds)
    s = sel(ds["sensitivity"], option)
    outcomes = [o for o in SENSITIVITY_NAMES if o in [str(v) for v in s["outcome"].values]]
    if not outcomes or s.sizes.get("parameter", 0) == 0:
        return None, ("The sensitivity chart is not drawn: the result's `sensitivity` variable holds no "
                      "re-attack outcome or no parameter.")
    fig = style.figure()
    axes = np.atleast_1d(fig.subplots(1, len(outcomes)))
    tops, totals = {}, {}
    for ax, key in zip(axes, outcomes, strict=True):
        v = s.sel(outcome=key)
        params = [str(p) for p in v["parameter"].values]
        vals = v.values.astype(float)
        totals[key] = float(np.nansum(vals))
        # Indices under SENSITIVITY_FLOOR (0 is no effect detectable above sampling noise) are left out.
        order = [i for i in np.argsort(-np.nan_to_num(vals, nan=-1.0), kind="stable")
                 if np.isfinite(vals[i]) and vals[i] >= SENSITIVITY_FLOOR]
        order = order[:MAX_SENSITIVITY_BARS]
        digits = 3 if max((vals[i] for i in order), default=0.0) < 0.1 else 2
        tops[key] = [(params[i], vals[i]) for i in order]
        if not order:
            ax.text(0.5, 0.5, f"no index reaches {SENSITIVITY_FLOOR}\n(or the outcome does not vary)",
                    ha="center", va="center", transform=ax.transAxes, fontsize=9)
            ax.set_yticks([])
        else:
            ypos = np.arange(len(order))[::-1] + (MAX_SENSITIVITY_BARS - len(order))  # from the top
            ax.barh(ypos, [vals[i] for i in order], height=0.7, color="tab:blue")
            ax.set_ylim(-0.6, MAX_SENSITIVITY_BARS - 0.4)
            if len(order) < MAX_SENSITIVITY_BARS:
                ax.text(0.5, 0.04, f"every other parameter: index under {SENSITIVITY_FLOOR}", ha="center",
                        transform=ax.transAxes, fontsize=8, color="dimgrey")
            ax.set_yticks(ypos, [params[i] for i in order], fontsize=8)
            for y, i in zip(ypos, order, strict=True):
                ax.text(vals[i], y, f" {vals[i]:.{digits}f}", va="center", fontsize=7)
        ax.set_xlim(0, max(1e-3, 1.15 * max((vals[i] for i in order), default=0.0)))
        ax.set_xlabel("sensitivity index (share of variance)")
        ax.set_title(SENSITIVITY_NAMES[key], fontsize=9)
        ax.grid(axis="x", alpha=style.GRID_ALPHA)
    fig.suptitle(f"Which uncertain parameters drive the re-attack risk?\n"
                 f"({plain_option(option, ds, all_axes=True)})", fontsize=style.TITLE_SIZE)
    style.save(fig, path)
    # With several runs per draw the indices are of the expected outcome E[Y | parameters], chance removed.
    what = ("variance over the priors of each headline outcome's expected value given the parameters"
            if nested(ds) else "run-to-run variance of each headline outcome")
    rest = ("interactions between parameters" if nested(ds)
            else "chance within a run and interactions between parameters")
    text = (f"For one representative option ({plain_option(option, ds, all_axes=True)}), the share of the "
            f"{what} explained by each uncertain parameter alone "
            f"(first-order index; at most {MAX_SENSITIVITY_BARS} shown, none under {SENSITIVITY_FLOOR}). "
            f"Knowing a parameter exactly would remove, on average, its index's share of the variance.")
    for key, top in tops.items():
        if top:
            listed = ", ".join(f"`{p}` ({MEANINGS.get(p, 'see docs/model.md')}; {v:.{2 if v >= 0.1 else 3}f})"
                               for p, v in top[:3])
            text += f" For {SENSITIVITY_NAMES[key]} the leading parameters are {listed}."
        text += f" The indices of {SENSITIVITY_NAMES[key]} sum to {totals[key]:.2f}"
        text += f": the other {1 - totals[key]:.2f} of its variance is {rest}." if totals[key] < 1 else "."
    return path, text
