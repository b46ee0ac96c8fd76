"""The figures of a result. Each `draw_*` function writes one PNG and
returns its path with a caption whose every reading is computed from the
result (a path of None: the figure is not drawn, and the caption says why)."""

from pathlib import Path

import numpy as np
import xarray as xr

from deterrence.model import AXES, PARAMETERS
from deterrence.outcomes import outcome, sensitivity_label
from deterrence.report import style
from deterrence.report.grid import (
    PLAIN,
    baseline,
    first_levels,
    flat,
    levels,
    options,
    pct,
    plain_option,
    representative,
    sel,
    year,
)

MAX_SENSITIVITY_BARS = 12
SENSITIVITY_FLOOR = 0.001
MEANINGS = {p.name: p.meaning for p in PARAMETERS}
SENSITIVITY_NAMES = {key: sensitivity_label(key) for key in ("reattack_2y", "diff_reattack_2y")}
LINE_COLORS = ["black", "tab:blue", "tab:orange", "tab:purple", "tab:brown", "tab:cyan", "tab:olive",
               "tab:pink", "tab:green", "tab:red"]


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
    fig = style.figure()
    ax = fig.add_subplot()
    selection = _incidence_selection(ds, at_year)
    finals = {}
    for k, (tag, option) in enumerate(selection):
        o = sel(ds, option)
        n = float(o["runs"])
        cum = np.cumsum(o["reattack_day"].values[:-1]) / n
        se = np.sqrt(cum * (1 - cum) / n)
        color = ("tab:green" if tag == "lowest risk" else "tab:red" if tag == "highest risk"
                 else LINE_COLORS[k % len(LINE_COLORS)])
        label = plain_option(option, ds) + (f" ({tag})" if tag else "")
        ax.plot(t, 100 * cum, color=color, lw=1.8 if tag else 1.3,
                ls="--" if tag.startswith("baseline") else "-", label=label)
        ax.fill_between(t, 100 * (cum - 2 * se), 100 * (cum + 2 * se), color=color, alpha=0.2, lw=0)
        finals[tag] = float(cum[-1]) if cum.size else float("nan")
    ax.set_xlim(0, horizon / 365.25)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("years since the study start")
    ax.set_ylabel("runs with a re-attack so far (%)")
    ax.set_title("Cumulative risk of a renewed Russian offensive (bands: ±2 Monte Carlo SE)")
    ax.grid(alpha=style.GRID_ALPHA)
    ax.legend(fontsize=style.LEGEND_SIZE - 0.5, loc="upper left", frameon=True)
    style.save(fig, path)

    def at(option):
        o = sel(ds, option).sel(years=at_year)
        return float(o["p_reattack"]), float(o["p_ceasefire"])

    parts = []
    base = next(((tag, o) for tag, o in selection if tag.startswith("baseline")), None)
    if base is not None:
        pr, pc = at(base[1])
        parts.append(f"Under the baseline ({plain_option(base[1], ds, all_axes=True)}) "
                     f"{pct(pr)}% of runs see Russia attack again within {at_year} year(s) of the start "
                     f"and {pct(finals[base[0]])}% within the {horizon}-day horizon.")
        if pc > 0:
            parts.append(f"As a re-attack can only follow a ceasefire, that is "
                         f"{pct(pr / pc)}% of the {pct(pc)}% of runs that reach a ceasefire by then.")
    for tag in ("lowest risk", "highest risk"):
        option = next((o for t_, o in selection if tag in t_), None)
        if option is not None:
            pr, pc = at(option)
            cond = f" ({pct(pr / pc)}% of its runs with a ceasefire)" if pc > 0 else ""
            parts.append(f"The {tag.replace(' ', '-')} option of the study, "
                         f"{plain_option(option, ds, all_axes=True)}, has {pct(pr)}% within {at_year} "
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
    p = sub["p_reattack"].transpose("force_size", "support").values
    d = sub["diff_p_reattack"].transpose("force_size", "support").values
    d_se = sub["diff_p_reattack_se"].transpose("force_size", "support").values
    fig = style.figure()
    axes = fig.subplots(1, 2, sharey=True)
    forces = [f"{f:,}" for f in grid["force_size"]]
    supports = [PLAIN.get(s, s).replace("US ", "US\n").replace("no US ", "no US\n")
                for s in grid["support"]]
    limit = max(float(np.nanmax(np.abs(d))) if np.any(np.isfinite(d)) else 0.0, 1e-6)
    label = outcome("reattack").label
    panels = ((axes[0], 100 * p, "viridis_r", None, None, f"P({label} within {at_year} y), %", "{:.1f}%"),
              (axes[1], 100 * d, "RdBu_r", -100 * limit, 100 * limit,
               "change vs baseline, percentage points", "{:+.1f}"))
    for ax, values, cmap, vmin, vmax, title, fmt in panels:
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
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
    axes[0].set_ylabel("troops in the reassurance force")
    fig.suptitle(f"Re-attack risk by force size and US support\n(other axes at their first level: "
                 f"{first_levels(ds, keep=('support',))})", fontsize=style.TITLE_SIZE)
    style.save(fig, path)
    finite = np.isfinite(d)
    text = (f"The left panel gives the chance of a re-attack within {at_year} year(s) for each force size "
            f"(rows) and kind of US support (columns), the right panel its paired change against the "
            f"baseline in percentage points (blue: lower risk, red: higher), with the other axes at "
            f"their first level ({first_levels(ds, keep=('support',))}).")
    if finite.any():
        i, j = np.unravel_index(np.nanargmin(np.where(finite, d, np.nan)), d.shape)
        text += (f" The largest cut in this slice is {100 * d[i, j]:+.1f} ± {200 * d_se[i, j]:.1f} "
                 f"points (±2 SE) with {grid['force_size'][i]:,} troops and "
                 f"{PLAIN.get(grid['support'][j], grid['support'][j])}.")
    if 0 in grid["force_size"] and len(grid["support"]) > 1:
        # What US support does without a force: the numbers, not the model's design.
        i = grid["force_size"].index(0)
        strikes = ds["mean_strikes"].sel(force_size=0, **rest).sel(support=grid["support"]).values
        changes = "; ".join(f"{PLAIN.get(s, s)} {100 * d[i, j]:+.1f} ± {200 * d_se[i, j]:.1f} points "
                            f"and {strikes[j]:,.0f} strikes"
                            for j, s in enumerate(grid["support"]))
        text += (f" Without a force, the change in re-attack risk against the baseline (±2 SE) and the "
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
    if 0 in grid["force_size"] and force != 0:
        no_force = ds.sel(years=at_year, force_size=0, posture=option["posture"], support=option["support"],
                          deploy_rule=rules[0])
        ax.errorbar(x, 100 * no_force["p_ceasefire"].values, yerr=200 * no_force["p_ceasefire_se"].values,
                    color="black", ls="--", marker="v", capsize=3, label="first ceasefire, no force offered")
    ax.set_xticks(x, leverage)
    ax.set_xlim(-0.5, len(x) - 0.5)
    ax.set_ylim(0, 105)
    ax.set_xlabel("Western leverage on Russia")
    ax.set_ylabel(f"probability within {at_year} year(s) (%)")
    ax.set_title(f"Deployment of a {force:,}-troop force against leverage (error bars ±2 SE)\n"
                 f"({first_levels(ds, keep=('deploy_rule', 'leverage'))})", fontsize=style.TITLE_SIZE)
    ax.grid(alpha=style.GRID_ALPHA)
    ax.legend(fontsize=style.LEGEND_SIZE, loc="best")
    style.save(fig, path)

    def under(values, fmt: str = "{:.1f}% of runs") -> str:
        """`a% of runs under the first leverage and b% of runs under the last`."""
        said = f"{fmt.format(100 * values[0])} under {leverage[0]}"
        return said + (f" and {fmt.format(100 * values[-1])} under {leverage[-1]}" if len(values) > 1 else "")

    text = (f"For a {force:,}-troop force, the chance that it is on the ground within {at_year} year(s) "
            f"(with error bars of ±2 SE) as Western leverage rises.")
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
    xs, xes = flat(ds, "p_tripwire", at_year), flat(ds, "p_tripwire_se", at_year)
    ys, yes = -flat(ds, "diff_p_reattack", at_year), flat(ds, "diff_p_reattack_se", at_year)
    rows = list(zip(every, xs, ys, yes, strict=True))
    for posture in grid["posture"]:
        for rule in grid["deploy_rule"]:
            k = np.array([o["posture"] == posture and o["deploy_rule"] == rule for o in every])
            ax.errorbar(100 * xs[k], 100 * ys[k], xerr=200 * xes[k], yerr=200 * yes[k], fmt="none",
                        ecolor=colors[posture], alpha=0.35, lw=0.8)
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
    ax.set_title("Risk reduction against tripwire risk, every option (bars ±2 SE; colour: posture; "
                 "marker: deployment; size: force)", fontsize=9)
    ax.grid(alpha=style.GRID_ALPHA)
    style.save(fig, path)
    text = (f"Each point is one option: how much it cuts the chance of a re-attack within {at_year} year(s) "
            f"against the baseline (up is better) and how likely its troops are to be drawn into combat "
            f"(right is riskier).")
    finite = [r for r in rows if np.isfinite(r[2]) and np.isfinite(r[1])]
    if finite:
        best = max(finite, key=lambda r: r[2])
        text += (f" The largest cut, {pct(best[2])} ± {pct(2 * best[3])} points, comes from "
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
    text = (f"For one representative option ({plain_option(option, ds, all_axes=True)}), the share of the "
            f"run-to-run variance of each headline outcome explained by each uncertain parameter alone "
            f"(first-order index; at most {MAX_SENSITIVITY_BARS} shown, none under {SENSITIVITY_FLOOR}). "
            f"Knowing a parameter exactly would remove, on average, its index's share of the variance.")
    for key, top in tops.items():
        if top:
            listed = ", ".join(f"`{p}` ({MEANINGS.get(p, 'see docs/model.md')}; {v:.{2 if v >= 0.1 else 3}f})"
                               for p, v in top[:3])
            text += f" For {SENSITIVITY_NAMES[key]} the leading parameters are {listed}."
        text += f" The indices of {SENSITIVITY_NAMES[key]} sum to {totals[key]:.2f}"
        text += (f": the other {1 - totals[key]:.2f} of its variance is chance within a run and "
                 f"interactions between parameters." if totals[key] < 1 else ".")
    return path, text
