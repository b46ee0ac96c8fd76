"""Readable tables from a result."""

import csv
import itertools
import json
from pathlib import Path

import numpy as np
import xarray as xr

from deterrence.model import AXES, PARAMETERS

SHORT = {"after_ceasefire": "after", "immediate": "now", "contact_line": "contact",
         "status_quo": "status quo", "assets_and_aid": "assets+aid", "air_defense": "air def",
         "air_support": "air power", "isr_c2": "ISR/C2"}


def _pct(p: float, se: float) -> str:
    if np.isnan(p):
        return "-"
    return f"{100 * p:5.1f}±{100 * se:.2f}"


def table(ds: xr.Dataset, year: int | None = None) -> str:
    """One line per option: probabilities (percent, ± one standard error)
    and means. ``year`` picks the years column (default: 2 if available)."""
    years = list(ds["years"].values)
    horizon_years = ds.attrs["horizon_days"] / 365.25
    if year is None:
        year = 2 if 2 in years and horizon_years >= 2 - 1e-9 else years[0]
    head = (f"{'force':>6} {'posture':<8} {'deploy':<6} {'support':<9} {'leverage':<10} "
            f"{'ceasefire':>11} {'deployed':>11} {'re-attack':>11} {'Δ re-att':>11} "
            f"{'tripwire':>11} {'strikes':>8} {'violations':>10}")
    lines = [f"{ds.attrs['title']}: {int(ds.attrs['runs']):,} runs per option, seed {ds.attrs['seed']}",
             f"probabilities in % within {year} year(s) (± one Monte Carlo standard error); "
             f"Δ re-att: paired difference to the baseline; means over "
             f"{ds.attrs['horizon_days']} days", head, "-" * len(head)]
    for values in itertools.product(*(ds[a].values for a in AXES)):
        o = ds.sel(dict(zip(AXES, values, strict=True)))
        y = o.sel(years=year)
        label = [str(int(values[0]))] + [SHORT.get(str(v), str(v)) for v in values[1:]]
        lines.append(
            f"{label[0]:>6} {label[1]:<8} {label[2]:<6} {label[3]:<9} {label[4]:<10} "
            f"{_pct(float(y.p_ceasefire), float(y.p_ceasefire_se)):>11} "
            f"{_pct(float(y.p_deployed), float(y.p_deployed_se)):>11} "
            f"{_pct(float(y.p_reattack), float(y.p_reattack_se)):>11} "
            f"{_pct(float(y.diff_p_reattack), float(y.diff_p_reattack_se)):>11} "
            f"{_pct(float(y.p_tripwire), float(y.p_tripwire_se)):>11} "
            f"{float(o.mean_strikes):8.0f} {float(o.mean_violations):10.0f}")
    return "\n".join(lines)


# ------------------------------------------------------------ full report
# `write_report` writes a Markdown report, a CSV of every option and PNG
# figures into a folder. Figures use matplotlib's object API (no pyplot), so
# nothing depends on a display or on global backend state.

WORDS = ("ceasefire", "deployed", "reattack", "tripwire")
PLAIN = {"rear": "rear area", "contact_line": "contact line", "after_ceasefire": "after a ceasefire",
         "immediate": "now (during the war)", "none": "no US support", "isr_c2": "US ISR/C2",
         "air_defense": "US air defence", "air_support": "US air power", "status_quo": "status-quo leverage",
         "sanctions": "tighter sanctions", "assets_and_aid": "seized assets + aid"}
AXIS_WORDS = {"force_size": "force size", "posture": "posture", "deploy_rule": "deployment",
              "support": "US support", "leverage": "leverage"}
FIGSIZE = (8, 5)
DPI = 110
MAX_SENSITIVITY_BARS = 12
MEANINGS = {p.name: p.meaning for p in PARAMETERS}
SENSITIVITY_FLOOR = 0.001
FILES = ("report.md", "options.csv", "reattack_incidence.png", "reattack_heatmap.png",
         "deployment_vs_leverage.png", "tradeoff.png", "sensitivity.png")


def _levels(ds: xr.Dataset) -> dict:
    return {a: [int(v) if a == "force_size" else str(v) for v in ds[a].values] for a in AXES}


def _options(ds: xr.Dataset) -> list[dict]:
    levels = _levels(ds)
    return [dict(zip(AXES, values, strict=True)) for values in itertools.product(*levels.values())]


def _baseline(ds: xr.Dataset) -> dict | None:
    """The baseline option if it is a point of the grid (it need not be)."""
    try:
        base = json.loads(ds.attrs.get("baseline", "{}"))
    except ValueError:
        return None
    levels = _levels(ds)
    if set(base) != set(AXES):
        return None
    base = {a: base[a] for a in AXES}
    if base["force_size"] == 0:
        # Without a force, posture and deployment rule change nothing.
        for a in ("posture", "deploy_rule"):
            if base[a] not in levels[a]:
                base[a] = levels[a][0]
    if any(base[a] not in levels[a] for a in AXES):
        return None
    return base


def _plain_option(option: dict, ds: xr.Dataset | None = None, all_axes: bool = False) -> str:
    """`5,000 troops, rear area, ...`; with ``ds``, only the axes that vary."""
    levels = _levels(ds) if ds is not None else None
    parts = []
    for a in AXES:
        if not all_axes and levels is not None and len(levels[a]) == 1 and a != "force_size":
            continue
        v = option[a]
        if a == "force_size":
            parts.append("no force" if v == 0 else f"{v:,} troops")
        elif a == "posture" and option["force_size"] == 0:
            continue  # posture and deployment rule mean nothing without a force
        elif a == "deploy_rule" and option["force_size"] == 0:
            continue
        else:
            parts.append(PLAIN.get(v, v))
    return ", ".join(parts)


def _sel(ds: xr.Dataset, option: dict) -> xr.Dataset:
    return ds.sel({a: option[a] for a in AXES})


def _flat(ds: xr.Dataset, name: str, year: int | None = None) -> np.ndarray:
    """A variable over all options, in the order of `_options`."""
    v = ds[name] if year is None else ds[name].sel(years=year)
    return v.transpose(*AXES).values.astype(float).ravel()


def _valid_years(ds: xr.Dataset) -> list[int]:
    """Years whose probabilities are defined (within the horizon)."""
    return [int(y) for y in ds["years"].values
            if not np.all(np.isnan(ds["p_reattack"].sel(years=y).values))]


def _year(ds: xr.Dataset, preferred: int) -> int:
    valid = _valid_years(ds) or [int(ds["years"].values[0])]
    if preferred in valid:
        return preferred
    below = [y for y in valid if y < preferred]
    return max(below) if below else min(valid)


def _representative(ds: xr.Dataset) -> dict:
    """5,000 troops if studied (else the smallest force above 0), first levels of the rest."""
    levels = _levels(ds)
    forces = levels["force_size"]
    positive = [f for f in forces if f > 0]
    force = 5000 if 5000 in forces else (min(positive) if positive else forces[0])
    return {"force_size": force, **{a: levels[a][0] for a in AXES[1:]}}


def _first_levels(ds: xr.Dataset, keep: tuple = ()) -> str:
    levels = _levels(ds)
    return ", ".join(f"{AXIS_WORDS[a]}: {PLAIN.get(levels[a][0], levels[a][0])}"
                     for a in AXES if a not in keep and a != "force_size" and len(levels[a]) > 1) or \
        "no other axis varies"


def _figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    return fig


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=DPI)
    return path


def _f(x: float, digits: int = 1) -> str:
    return "n/a" if np.isnan(x) else f"{100 * x:.{digits}f}"


# ------------------------------------------------------------ figures

def _incidence_selection(ds: xr.Dataset, year: int) -> list[tuple[str, dict]]:
    levels = _levels(ds)
    chosen: list[tuple[str, dict]] = []

    def add(tag: str, option: dict) -> None:
        if all(option != o for _, o in chosen):
            chosen.append((tag, option))
        else:
            i = next(i for i, (_, o) in enumerate(chosen) if o == option)
            old = chosen[i][0]
            chosen[i] = (f"{old}; {tag}" if old and tag else old or tag, option)

    base = _baseline(ds)
    if base is not None:
        add("baseline", base)
    for force in levels["force_size"]:
        add("", {"force_size": force, **{a: levels[a][0] for a in AXES[1:]}})
    p = ds["p_reattack"].sel(years=year)
    flat = p.values.ravel()
    if np.any(np.isfinite(flat)):
        options = _options(ds)
        add("lowest risk", options[int(np.nanargmin(flat))])
        add("highest risk", options[int(np.nanargmax(flat))])
    return chosen


def _incidence(ds: xr.Dataset, path: Path) -> tuple[Path, str]:
    year = _year(ds, 2)
    horizon = int(ds.attrs["horizon_days"])
    days = ds.sizes["day"] - 1
    t = (np.arange(days) + 1) / 365.25
    fig = _figure()
    ax = fig.add_subplot()
    colors = ["black", "tab:blue", "tab:orange", "tab:purple", "tab:brown", "tab:cyan", "tab:olive",
              "tab:pink", "tab:green", "tab:red"]
    selection = _incidence_selection(ds, year)
    finals = {}
    for k, (tag, option) in enumerate(selection):
        o = _sel(ds, option)
        n = float(o["runs"])
        cum = np.cumsum(o["reattack_day"].values[:-1]) / n
        se = np.sqrt(cum * (1 - cum) / n)
        color = ("tab:green" if tag == "lowest risk" else "tab:red" if tag == "highest risk"
                 else colors[k % len(colors)])
        label = _plain_option(option, ds) + (f" ({tag})" if tag else "")
        ax.plot(t, 100 * cum, color=color, lw=1.8 if tag else 1.3,
                ls="--" if tag.startswith("baseline") else "-", label=label)
        ax.fill_between(t, 100 * (cum - 2 * se), 100 * (cum + 2 * se), color=color, alpha=0.2, lw=0)
        finals[label] = (float(cum[-1]) if cum.size else float("nan"), option)
    ax.set_xlim(0, horizon / 365.25)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("years since the study start")
    ax.set_ylabel("runs with a re-attack so far (%)")
    ax.set_title("Cumulative risk of a renewed Russian offensive (bands: ±2 Monte Carlo SE)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7.5, loc="upper left", frameon=True)
    fig.tight_layout()
    _save(fig, path)

    def at(option, y):
        o = _sel(ds, option).sel(years=y)
        return float(o["p_reattack"]), float(o["p_ceasefire"])

    tags = dict((tag.split(";")[0] if tag else "", o) for tag, o in selection)
    parts = []
    if "baseline" in tags:
        pr, pc = at(tags["baseline"], year)
        parts.append(f"Under the baseline ({_plain_option(tags['baseline'], ds, all_axes=True)}) "
                     f"{_f(pr)}% of runs see Russia attack again within {year} year(s) of the start "
                     f"and {_f(finals[next(k for k in finals if 'baseline' in k)][0])}% within the "
                     f"{horizon}-day horizon.")
        if pc > 0:
            parts.append(f"As a re-attack can only follow a ceasefire, that is "
                         f"{_f(pr / pc)}% of the {_f(pc)}% of runs that reach a ceasefire by then.")
    for tag in ("lowest risk", "highest risk"):
        option = next((o for t_, o in selection if tag in t_), None)
        if option is not None:
            pr, pc = at(option, year)
            cond = f" ({_f(pr / pc)}% of its runs with a ceasefire)" if pc > 0 else ""
            parts.append(f"The {tag.replace(' ', '-')} option of the study, "
                         f"{_plain_option(option, ds, all_axes=True)}, has {_f(pr)}% within {year} year(s){cond}.")
    parts.append("Lines that stay flat longer mostly reflect a later first ceasefire: an option that "
                 "delays the ceasefire (Moscow's veto on foreign troops) also delays the first chance "
                 "of a re-attack, so compare the conditional shares as well as the curves.")
    return path, " ".join(parts)


def _heatmap(ds: xr.Dataset, path: Path) -> tuple[Path, str]:
    year = _year(ds, 2)
    levels = _levels(ds)
    rest = {a: levels[a][0] for a in ("posture", "deploy_rule", "leverage")}
    sub = ds.sel(years=year, **rest)
    p = sub["p_reattack"].transpose("force_size", "support").values
    d = sub["diff_p_reattack"].transpose("force_size", "support").values
    d_se = sub["diff_p_reattack_se"].transpose("force_size", "support").values
    fig = _figure()
    axes = fig.subplots(1, 2, sharey=True)
    forces = [f"{f:,}" for f in levels["force_size"]]
    supports = [PLAIN.get(s, s).replace("US ", "US\n").replace("no US ", "no US\n")
                for s in levels["support"]]
    limit = max(float(np.nanmax(np.abs(d))) if np.any(np.isfinite(d)) else 0.0, 1e-6)
    panels = ((axes[0], 100 * p, "viridis_r", None, None, f"P(re-attack within {year} y), %", "{:.1f}%"),
              (axes[1], 100 * d, "RdBu_r", -100 * limit, 100 * limit,
               "change vs baseline, percentage points", "{:+.1f}"))
    for ax, values, cmap, vmin, vmax, title, fmt in panels:
        im = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", origin="lower")
        fig.colorbar(im, ax=ax, shrink=0.85)
        ax.set_title(title, fontsize=10)
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
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
    axes[0].set_ylabel("troops in the reassurance force")
    fig.suptitle(f"Re-attack risk by force size and US support\n(other axes at their first level: "
                 f"{_first_levels(ds, keep=('support',))})", fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    finite = np.isfinite(d)
    text = (f"The left panel gives the chance of a re-attack within {year} year(s) for each force size "
            f"(rows) and kind of US support (columns), the right panel its paired change against the "
            f"baseline in percentage points (blue: lower risk, red: higher), with the other axes at "
            f"their first level ({_first_levels(ds, keep=('support',))}).")
    if finite.any():
        i, j = np.unravel_index(np.nanargmin(np.where(finite, d, np.nan)), d.shape)
        text += (f" The largest cut in this slice is {100 * d[i, j]:+.1f} ± {200 * d_se[i, j]:.1f} "
                 f"points (±2 SE) with {levels['force_size'][i]:,} troops and "
                 f"{PLAIN.get(levels['support'][j], levels['support'][j])}.")
    if 0 in levels["force_size"] and len(levels["support"]) > 1:
        text += (" Without a force, US support does not change the re-attack risk: in the model it backs "
                 "a deployed force, and without one it changes only the strikes on cities (interception).")
    return path, text


def _deployment(ds: xr.Dataset, path: Path) -> tuple[Path, str]:
    year = _year(ds, 2)
    levels = _levels(ds)
    option = _representative(ds)
    force = option["force_size"]
    fixed = {"force_size": force, "posture": option["posture"], "support": option["support"]}
    sub = ds.sel(years=year, **fixed)
    x = np.arange(len(levels["leverage"]))
    fig = _figure()
    ax = fig.add_subplot()
    rules = levels["deploy_rule"]
    markers = {"after_ceasefire": "o", "immediate": "s"}
    width = 0.08
    for k, rule in enumerate(rules):
        r = sub.sel(deploy_rule=rule)
        off = (k - (len(rules) - 1) / 2) * width
        ax.errorbar(x + off, 100 * r["p_deployed"].values, yerr=200 * r["p_deployed_se"].values,
                    marker=markers.get(rule, "D"), ms=7, capsize=4, lw=1.6,
                    label=f"force deployed, {PLAIN.get(rule, rule)}")
    c = sub.isel(deploy_rule=0)
    ax.errorbar(x, 100 * c["p_ceasefire"].values, yerr=200 * c["p_ceasefire_se"].values, color="grey",
                ls=":", marker="^", capsize=3, label=f"first ceasefire, with {force:,} troops offered")
    no_force = None
    if 0 in levels["force_size"] and force != 0:
        no_force = ds.sel(years=year, force_size=0, posture=option["posture"], support=option["support"],
                          deploy_rule=rules[0])
        ax.errorbar(x, 100 * no_force["p_ceasefire"].values, yerr=200 * no_force["p_ceasefire_se"].values,
                    color="black", ls="--", marker="v", capsize=3, label="first ceasefire, no force offered")
    ax.set_xticks(x, [PLAIN.get(v, v) for v in levels["leverage"]])
    ax.set_xlim(-0.5, len(x) - 0.5)
    ax.set_ylim(0, 105)
    ax.set_xlabel("Western leverage on Russia")
    ax.set_ylabel(f"probability within {year} year(s) (%)")
    ax.set_title(f"Deployment of a {force:,}-troop force against leverage (error bars ±2 SE)\n"
                 f"({_first_levels(ds, keep=('deploy_rule', 'leverage'))})", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    _save(fig, path)
    after = "after_ceasefire" in rules
    text = (f"For a {force:,}-troop force, the chance that it is on the ground within {year} year(s) "
            f"(with error bars of ±2 SE) as Western leverage rises.")
    if after:
        a = sub.sel(deploy_rule="after_ceasefire")["p_deployed"].values
        text += (f" If it deploys only after a ceasefire, it is there in {_f(a[0])}% of runs under "
                 f"{PLAIN.get(levels['leverage'][0], levels['leverage'][0])}"
                 + (f" and {_f(a[-1])}% under {PLAIN.get(levels['leverage'][-1], levels['leverage'][-1])}"
                    if len(a) > 1 else "") + ".")
    if no_force is not None:
        nf = no_force["p_ceasefire"].values
        cf = c["p_ceasefire"].values
        text += (f" Offering the force lowers the chance of any ceasefire from {_f(nf[0])}% to {_f(cf[0])}%: "
                 f"this is Moscow's veto, and leverage buys back only part of it.")
    if "immediate" in rules:
        text += (" Deploying now does not wait for Moscow, so it is almost surely deployed, but the force "
                 "then stands in a country at war (see the tripwire in the trade-off figure).")
    return path, text


def _tradeoff(ds: xr.Dataset, path: Path) -> tuple[Path, str]:
    year = _year(ds, 5)
    levels = _levels(ds)
    colors = dict(zip(levels["posture"], ("tab:blue", "tab:orange", "tab:green"), strict=False))
    markers = dict(zip(levels["deploy_rule"], ("o", "s", "D"), strict=False))
    forces = levels["force_size"]
    sizes = {f: 18 + 50 * k / max(len(forces) - 1, 1) for k, f in enumerate(forces)}
    fig = _figure()
    ax = fig.add_subplot()
    options = _options(ds)
    xs, xes = _flat(ds, "p_tripwire", year), _flat(ds, "p_tripwire_se", year)
    ys, yes = -_flat(ds, "diff_p_reattack", year), _flat(ds, "diff_p_reattack_se", year)
    rows = list(zip(options, xs, ys, yes, strict=True))
    for posture in levels["posture"]:
        for rule in levels["deploy_rule"]:
            k = np.array([o["posture"] == posture and o["deploy_rule"] == rule for o in options])
            ax.errorbar(100 * xs[k], 100 * ys[k], xerr=200 * xes[k], yerr=200 * yes[k], fmt="none",
                        ecolor=colors[posture], alpha=0.35, lw=0.8)
            size = np.array([sizes[o["force_size"]] for o in options])[k]
            ax.scatter(100 * xs[k], 100 * ys[k], s=size,
                       c=colors[posture], marker=markers[rule], alpha=0.8, edgecolors="none")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="", marker="o", color=colors[p], label=f"posture: {PLAIN.get(p, p)}")
               for p in levels["posture"]]
    handles += [Line2D([], [], ls="", marker=markers[r], color="grey", label=f"deploy {PLAIN.get(r, r)}")
                for r in levels["deploy_rule"]]
    handles += [Line2D([], [], ls="", marker="o", color="grey", ms=np.sqrt(sizes[f]),
                       label="no force" if f == 0 else f"{f:,} troops") for f in forces]
    ax.legend(handles=handles, fontsize=7.5, loc="best", ncol=2)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel(f"tripwire risk: P(foreign troops in combat within {year} y), %")
    ax.set_ylabel(f"re-attack risk cut vs baseline within {year} y\n(percentage points; higher is better)")
    ax.set_title("Risk reduction against tripwire risk, every option (bars ±2 SE; colour: posture; "
                 "marker: deployment; size: force)", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)
    text = (f"Each point is one option: how much it cuts the chance of a re-attack within {year} year(s) "
            f"against the baseline (up is better) and how likely its troops are to be drawn into combat "
            f"(right is riskier).")
    finite = [r for r in rows if np.isfinite(r[2]) and np.isfinite(r[1])]
    if finite:
        best = max(finite, key=lambda r: r[2])
        text += (f" The largest cut, {_f(best[2])} ± {_f(2 * best[3])} points, comes from "
                 f"{_plain_option(best[0], ds, all_axes=True)}, with a tripwire risk of {_f(best[1])}%.")
        low = [r for r in finite if r[1] <= 0.10 and r[0]["force_size"] > 0]
        if low:
            safe = max(low, key=lambda r: r[2])
            if safe[0] != best[0]:
                text += (f" Among options with a tripwire risk of at most 10%, the largest cut is "
                         f"{_f(safe[2])} points ({_plain_option(safe[0], ds, all_axes=True)}, "
                         f"tripwire {_f(safe[1])}%).")
    by_rule = {r: [x for x in finite if x[0]["deploy_rule"] == r and x[0]["force_size"] > 0]
               for r in ("after_ceasefire", "immediate")}
    if all(by_rule.values()):
        now = max(by_rule["immediate"], key=lambda r: r[2])
        after = max(by_rule["after_ceasefire"], key=lambda r: r[2])
        trip_now = np.mean([x[1] for x in by_rule["immediate"]])
        trip_after = np.mean([x[1] for x in by_rule["after_ceasefire"]])
        text += (f" Deploying now rather than after a ceasefire changes the best cut from {_f(after[2])} to "
                 f"{_f(now[2])} points, but raises the average tripwire risk from {_f(trip_after)}% to "
                 f"{_f(trip_now)}%, because the force stands in a country still at war.")
    return path, text


def _sensitivity(ds: xr.Dataset, path: Path) -> tuple[Path | None, str]:
    if "sensitivity" not in ds.data_vars:
        return None, ("The sensitivity chart is not drawn: this result holds no `sensitivity` variable "
                      "(it was written by a version of deterrence that does not compute sensitivity "
                      "indices, or with no uncertain parameter).")
    s = ds["sensitivity"]
    option = _representative(ds)
    s = s.sel({a: option[a] for a in AXES})
    outcomes = [o for o in ("reattack_2y", "diff_reattack_2y") if o in [str(v) for v in s["outcome"].values]]
    if not outcomes or s.sizes.get("parameter", 0) == 0:
        return None, ("The sensitivity chart is not drawn: the result's `sensitivity` variable holds no "
                      "re-attack outcome or no parameter.")
    names = {"reattack_2y": "P(re-attack within 2 years)",
             "diff_reattack_2y": "change in P(re-attack within 2 y) vs baseline"}
    fig = _figure()
    axes = np.atleast_1d(fig.subplots(1, len(outcomes)))
    tops = {}
    for ax, outcome in zip(axes, outcomes, strict=True):
        v = s.sel(outcome=outcome)
        params = [str(p) for p in v["parameter"].values]
        vals = v.values.astype(float)
        # Indices under SENSITIVITY_FLOOR (0 is no effect detectable above sampling noise) are left out.
        order = [i for i in np.argsort(-np.nan_to_num(vals, nan=-1.0), kind="stable")
                 if np.isfinite(vals[i]) and vals[i] >= SENSITIVITY_FLOOR]
        order = order[:MAX_SENSITIVITY_BARS]
        digits = 3 if max((vals[i] for i in order), default=0.0) < 0.1 else 2
        tops[outcome] = [(params[i], vals[i]) for i in order]
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
        ax.set_title(names[outcome], fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"Which uncertain parameters drive the re-attack risk?\n"
                 f"({_plain_option(option, ds, all_axes=True)})", fontsize=10)
    fig.tight_layout()
    _save(fig, path)
    text = (f"For one representative option ({_plain_option(option, ds, all_axes=True)}), the share of the "
            f"run-to-run variance of each headline outcome explained by each uncertain parameter alone "
            f"(first-order index; at most {MAX_SENSITIVITY_BARS} shown, none under {SENSITIVITY_FLOOR}).")
    for outcome, top in tops.items():
        if top:
            listed = ", ".join(f"`{p}` ({MEANINGS.get(p, 'see docs/model.md')}; {v:.2f})" if v >= 0.1
                               else f"`{p}` ({MEANINGS.get(p, 'see docs/model.md')}; {v:.3f})"
                               for p, v in top[:3])
            text += f" For {names[outcome]} the leading parameters are {listed}."
    text += (" Parameters near the top are where better evidence would most narrow the answer; the indices "
             "of a single run's yes/no outcome are small because chance, not the parameters, dominates "
             "its variance.")
    return path, text


# ------------------------------------------------------------ CSV and Markdown

def _csv_columns(ds: xr.Dataset) -> list[str]:
    years = [int(y) for y in ds["years"].values]
    cols = list(AXES) + ["runs"]
    for word in WORDS:
        for y in years:
            cols += [f"p_{word}_{y}y", f"p_{word}_{y}y_se"]
    for y in years:
        cols += [f"diff_p_reattack_{y}y", f"diff_p_reattack_{y}y_se"]
    for y in years:
        cols += [f"p_reattack_given_ceasefire_{y}y", f"p_reattack_given_ceasefire_{y}y_se"]
    for name in ("mean_strikes", "mean_violations", "diff_mean_strikes", "diff_mean_violations"):
        if name in ds:
            cols += [name, f"{name}_se"]
    return cols


def _num(x: float) -> str:
    return "" if not np.isfinite(x) else repr(float(x))


def write_csv(ds: xr.Dataset, path: Path) -> Path:
    """One row per option: every axis, probabilities at each year with SE,
    paired differences, and means. Empty cells: beyond the horizon."""
    years = [int(y) for y in ds["years"].values]
    n = _flat(ds, "runs")
    columns = [_flat(ds, "runs").astype(np.int64)]
    for word in WORDS:
        for y in years:
            columns += [_flat(ds, f"p_{word}", y), _flat(ds, f"p_{word}_se", y)]
    for y in years:
        columns += [_flat(ds, "diff_p_reattack", y), _flat(ds, "diff_p_reattack_se", y)]
    for y in years:
        pr, pc = _flat(ds, "p_reattack", y), _flat(ds, "p_ceasefire", y)
        # A re-attack needs a ceasefire first: P(A by y) / P(C by y) = P(A by y | C by y).
        with np.errstate(invalid="ignore", divide="ignore"):
            q = np.where(pc > 0, pr / pc, np.nan)
            columns += [q, np.sqrt(q * (1 - q) / (pc * n))]
    for name in ("mean_strikes", "mean_violations", "diff_mean_strikes", "diff_mean_violations"):
        if name in ds:
            columns += [_flat(ds, name), _flat(ds, f"{name}_se")]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(_csv_columns(ds))
        for k, option in enumerate(_options(ds)):
            writer.writerow([option[a] for a in AXES] + [int(columns[0][k])]
                            + [_num(c[k]) for c in columns[1:]])
    return path


def markdown_table(ds: xr.Dataset, year: int) -> str:
    head = ("| force | posture | deploy | support | leverage | ceasefire % | deployed % | re-attack % "
            "| Δ re-attack (pp) | tripwire % | strikes | violations |")
    lines = [head, "|" + "---:|" * 1 + ":---|" * 4 + "---:|" * 7]

    def pct(p, se):
        return "–" if np.isnan(p) else f"{100 * p:.1f} ± {100 * se:.2f}"

    cols = [(_flat(ds, f"p_{w}", year), _flat(ds, f"p_{w}_se", year))
            for w in ("ceasefire", "deployed", "reattack")]
    cols.append((_flat(ds, "diff_p_reattack", year), _flat(ds, "diff_p_reattack_se", year)))
    cols.append((_flat(ds, "p_tripwire", year), _flat(ds, "p_tripwire_se", year)))
    strikes, violations = _flat(ds, "mean_strikes"), _flat(ds, "mean_violations")
    for k, option in enumerate(_options(ds)):
        cells = [f"{option['force_size']:,}"] + [SHORT.get(option[a], option[a]) for a in AXES[1:]]
        cells += [pct(p[k], se[k]) for p, se in cols]
        cells += [f"{strikes[k]:,.0f}", f"{violations[k]:,.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _limits(ds: xr.Dataset) -> str:
    try:
        priors = json.loads(ds.attrs.get("priors", "{}"))
    except ValueError:
        priors = {}
    judged = sorted(name for name, p in priors.items() if "judgment" in str(p.get("source", "")).lower())
    fitted = sorted(name for name, p in priors.items() if str(p.get("source", "")).startswith("Fitted"))
    text = ("These numbers are only as good as the model and its priors. The ± figures are Monte Carlo "
            "standard errors: they measure simulation noise, not how uncertain the answer is. Parameter "
            "uncertainty is inside every probability (each run draws its parameters from their priors), "
            "and the priors are partly judgment")
    if priors:
        text += (f": of {len(priors)} priors, {len(fitted)} are fitted to the 2014–2022 record and "
                 f"{len(judged)} rest wholly or partly on judgment ({', '.join(judged)})")
    text += (". The result's `priors` attribute lists every prior with its source. The model has no "
             "learning or escalation beyond what its hazards encode, treats a deployed force as never "
             "withdrawn, and counts a re-attack only after a ceasefire, so an option that delays the "
             "ceasefire also lowers its re-attack risk while the war simply goes on; read the re-attack "
             "figures together with the ceasefire probabilities and the strikes on cities.")
    return text


def write_report(ds: xr.Dataset, out_dir: Path) -> list[Path]:
    """Write report.md, options.csv and the PNG figures into ``out_dir``;
    return the paths written (report.md first)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ds = ds.load()  # one read: the figures and the CSV select option by option
    written: list[Path] = []
    figures = []
    for name, title, draw in (
            ("reattack_incidence.png", "Cumulative risk of a re-attack over time", _incidence),
            ("reattack_heatmap.png", "Re-attack risk by force size and US support", _heatmap),
            ("deployment_vs_leverage.png", "Deployment against leverage: Moscow's veto", _deployment),
            ("tradeoff.png", "Risk reduction against tripwire risk", _tradeoff),
            ("sensitivity.png", "What drives the answer: sensitivity to the priors", _sensitivity)):
        path, text = draw(ds, out_dir / name)
        figures.append((title, path, text))
        if path is not None:
            written.append(path)
    written.insert(0, write_csv(ds, out_dir / "options.csv"))
    year = _year(ds, 2)
    horizon = int(ds.attrs["horizon_days"])
    base = _baseline(ds)
    try:
        base_attr = json.loads(ds.attrs.get("baseline", "{}"))
    except ValueError:
        base_attr = {}
    levels = _levels(ds)
    n_opt = int(np.prod([len(v) for v in levels.values()]))
    md = [f"# {ds.attrs.get('title', 'deterrence study')}", "",
          "## Study", "",
          f"- options: {n_opt} ("
          + " × ".join(f"{len(levels[a])} {AXIS_WORDS[a]}" for a in AXES) + ")",
          f"- runs per option: {int(ds.attrs['runs']):,}; seed: {ds.attrs.get('seed', '?')}",
          f"- horizon: {horizon} days ({horizon / 365.25:.1f} years) from {ds.attrs.get('start_date', '?')}",
          f"- baseline: {_plain_option(base_attr, all_axes=True) if base_attr else 'unknown'}"
          + ("" if base is not None else " (not itself a point of this grid)"),
          f"- config SHA-256: `{ds.attrs.get('config_sha256', 'unknown')}`",
          f"- written by {ds.attrs.get('source', 'deterrence')} on {ds.attrs.get('created', '?')}",
          "",
          "Probabilities are shares of simulated runs; ± is one Monte Carlo standard error unless a "
          "figure says otherwise. Differences to the baseline are paired (common random numbers), so "
          "they are much more precise than the difference of two probabilities would suggest.", "",
          f"## Headline table (within {year} year(s))", "",
          "Δ re-attack: paired change in the re-attack probability against the baseline, in "
          f"percentage points. Strikes and violations: mean counts over the {horizon}-day horizon. "
          "Every option with more digits, and at every year, is in [options.csv](options.csv).", "",
          markdown_table(ds, year), "", "## Figures", ""]
    for k, (title, path, text) in enumerate(figures, 1):
        md += [f"### {k}. {title}", ""]
        if path is not None:
            md += [f"![{title}]({path.name})", ""]
        md += [text, ""]
    md += ["## Limits", "", _limits(ds), ""]
    report = out_dir / "report.md"
    report.write_text("\n".join(md))
    written.insert(0, report)
    return written
