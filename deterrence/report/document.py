"""`write_report`: report.md, options.csv and the figures of a result in one
folder. Every number in the prose is read from the result."""

import json
from pathlib import Path

import numpy as np
import xarray as xr

from deterrence.model import AXES
from deterrence.report import effects, figures
from deterrence.report.grid import (
    AXIS_WORDS,
    baseline,
    baseline_attr,
    flat,
    levels,
    nested,
    plain_option,
    reading,
    representative,
    sel,
    why_no_intervals,
    year,
)
from deterrence.report.tables import effect_title, legend, markdown_effects, markdown_table, write_csv

# (file, section title, drawing function), in the order of the report.
FIGURES = (
    ("effects.png", "Effects against the baseline, with their parameter intervals", figures.draw_effects),
    ("reattack_incidence.png", "Cumulative risk of a re-attack over time", figures.draw_incidence),
    ("reattack_heatmap.png", "Re-attack risk by force size and US support", figures.draw_heatmap),
    ("deployment_vs_leverage.png", "Deployment and ceasefire against leverage", figures.draw_deployment),
    ("tradeoff.png", "Risk reduction against tripwire risk", figures.draw_tradeoff),
    ("sensitivity.png", "What drives the answer: sensitivity to the priors", figures.draw_sensitivity),
)
FILES = ("report.md", "options.csv") + tuple(name for name, _, _ in FIGURES)


def _pairing(ds: xr.Dataset, at_year: int) -> str:
    """How much pairing narrows the differences to the baseline, from the result."""
    base = baseline(ds)
    if base is None:
        return ""
    paired = flat(ds, "diff_p_reattack_se", at_year)
    unpaired = np.hypot(flat(ds, "p_reattack_se", at_year),
                        float(sel(ds, base)["p_reattack_se"].sel(years=at_year)))
    useful = (paired > 0) & (unpaired > 0)
    if not useful.any():
        return ""
    ratio = float(np.median(paired[useful] / unpaired[useful]))
    return (f" Within {at_year} year(s), their simulation noise (Monte Carlo standard error) is a median "
            f"{100 * ratio:.0f}% of that of the difference of two independent estimates of the same "
            f"probabilities.")


def _limits(ds: xr.Dataset) -> str:
    try:
        priors = json.loads(ds.attrs.get("priors", "{}"))
    except ValueError:
        priors = {}
    judged = sorted(name for name, p in priors.items() if "judgment" in str(p.get("source", "")).lower())
    fitted = sorted(name for name, p in priors.items() if p.get("fit") == "record")
    if nested(ds):
        text = ("These numbers are only as good as the model and its priors. The parameter intervals show "
                "what the priors leave unknown, not what the model leaves out (its structural choices; "
                "`python -m deterrence.methods.alternatives` reruns the headline numbers under each), and "
                "the priors are partly judgment")
    else:
        text = ("These numbers are only as good as the model and its priors. The ± figures are simulation "
                "noise (Monte Carlo standard errors), not how uncertain the answer is. Parameter uncertainty "
                f"is inside every probability (each run draws its parameters from their priors), but "
                f"{why_no_intervals(ds)}; and the priors are partly judgment")
    if priors:
        text += (f": of {len(priors)} priors, {len(fitted)} are fitted to the 2014–2022 record and "
                 f"{len(judged)} rest wholly or partly on judgment ({', '.join(judged)})")
    # What the model leaves out, by its construction (docs/model.md), not by its results.
    text += (". The result's `priors` attribute lists every prior with its source. The model has no "
             "learning or escalation beyond what its hazards encode, treats a deployed force as never "
             "withdrawn, and counts a re-attack only after a ceasefire, so an option that delays the "
             "ceasefire also lowers its re-attack risk while the war simply goes on; read the re-attack "
             "figures together with the ceasefire probabilities and the strikes on cities.")
    return text


def _study(ds: xr.Dataset, at_year: int) -> list[str]:
    horizon = int(ds.attrs["horizon_days"])
    base_attr = baseline_attr(ds)
    grid = levels(ds)
    n_options = int(np.prod([len(v) for v in grid.values()]))
    return [
        "## Study", "",
        f"- options: {n_options} (" + " × ".join(f"{len(grid[a])} {AXIS_WORDS[a]}" for a in AXES) + ")",
        f"- runs per option: {int(ds.attrs['runs']):,}; seed: {ds.attrs.get('seed', '?')}",
        f"- horizon: {horizon} days ({horizon / 365.25:.1f} years) from {ds.attrs.get('start_date', '?')}",
        f"- baseline: {plain_option(base_attr, all_axes=True) if set(base_attr) == set(AXES) else 'unknown'}"
        + ("" if baseline(ds) is not None else " (not itself a point of this grid)"),
        _draws(ds),
        f"- config SHA-256: `{ds.attrs.get('config_sha256', 'unknown')}`",
        f"- written by {ds.attrs.get('source', 'deterrence')} on {ds.attrs.get('created', '?')}",
        "", _reading_guide(ds) + " Differences to the baseline are paired (common random numbers: every "
        "option of a run shares its parameter and chance draws)." + _pairing(ds, at_year), ""]


def _draws(ds: xr.Dataset) -> str:
    n = int(ds.attrs.get("runs_per_draw", 1))
    if n > 1:
        return (f"- parameter draws: {int(ds.attrs['parameter_draws']):,}, each with {n:,} runs of its own "
                f"(study.runs_per_draw)" + ("" if nested(ds) else f": {why_no_intervals(ds)}"))
    return "- parameter draws: one per run (study.runs_per_draw = 1): no parameter intervals"


def _reading_guide(ds: xr.Dataset) -> str:
    """How to read the numbers: what the brackets are, and what simulation noise is."""
    if not nested(ds):
        return ("Probabilities are shares of simulated runs, over both the uncertain parameters (drawn from "
                "their priors) and chance; ± is simulation noise (one Monte Carlo standard error), not the "
                f"uncertainty of the answer: {why_no_intervals(ds)}.")
    n, draws = int(ds.attrs["runs_per_draw"]), int(ds.attrs["parameter_draws"])
    return ("Probabilities are shares of simulated runs, over both the uncertain parameters (drawn from "
            "their priors) and chance. In brackets, each one's **90% parameter interval**: the 5th and 95th "
            f"percentiles, over the {draws:,} parameter draws, of the probability given the parameters "
            f"(debiased for the chance within each draw's {n:,} runs; see `deterrence.epistemic`). That "
            "interval is the uncertainty of the answer that the priors leave. **Simulation noise** (one Monte "
            "Carlo standard error, the `_se` variables) is apart: it says only how far more runs would "
            "move a number, and is given in the effects table and in options.csv.")


def _effects(ds: xr.Dataset, m: effects.Measure = effects.HEADLINE) -> list[str]:
    """The effects section on the measure ``m``: each option's effect with
    its parameter interval, its simulation noise, p_better on ``m`` and the
    assumptions that decide it; the prose read from the result."""
    md = [f"## {effect_title(m)}, and the assumptions that decide it", ""]
    if effects.missing(ds, m):
        return md + [markdown_effects(ds, m), ""]
    found = effects.effects(ds, m)
    unit, k = (" days", 1.0) if m.year is None else (" points", 100.0)
    better = "has fewer days at war" if m.outcome == "war_days" else (
        "lowers it" if m.lower_is_better else "raises it")
    in_unit = "days" if m.year is None else "percentage points"
    md += [f"Each option's paired change in the {m.words} against the baseline "
           f"({plain_option(baseline_attr(ds), all_axes=True)}), in {in_unit}. "
           f"*change*: the mean change over all runs; *90% parameter interval*: the 5th to 95th percentile over "
           f"the uncertain parameters of the option's expected change (the uncertainty of the answer); "
           f"*simulation noise*: one Monte Carlo standard error of the change (what more runs would remove, not "
           f"the uncertainty of the answer); *p_better*: the share of the parameter draws under which the option "
           f"{better}; *deciding assumptions*: the parameters whose uncertainty moves the expected change most, "
           f"with their first-order index (the share of its variance over the priors that each explains alone).",
           ""]
    if m == effects.REATTACK:
        md += ["A re-attack can only follow a ceasefire, so whatever delays the ceasefire lowers this risk: read "
               "it beside the days at war, the ceasefire chance and the risk after a ceasefire "
               "(`p_reattack_after_ceasefire`) in the headline table, never alone.", ""]
    with_force = [e for e in found if e.option["force_size"] > 0]
    said = []
    option = representative(ds)
    e = next((e for e in found if e.option == option), None)
    if e is not None and option["force_size"] > 0:
        said.append(f"For {plain_option(option, all_axes=True)}, the change is "
                    f"{reading(k * e.change, k * e.noise, k * e.low, k * e.high, unit=unit, sign=True, scale=1.0)}; "
                    f"the option {better} under {100 * e.better:.0f}% of the parameter draws"
                    + (f", and the assumptions that decide it are {_assumptions(e.deciding)}." if e.deciding
                       else "."))
    if with_force:
        sure = sum(e.better >= 0.95 for e in with_force)
        wrong = sum(e.better <= 0.05 for e in with_force)
        below = sum(e.high < 0 for e in with_force)
        above = sum(e.low > 0 for e in with_force)
        said.append(f"Of the {len(with_force)} options with a force, {sure} are better on this measure under at "
                    f"least 95% of the parameter draws and {wrong} under at most 5%; {below} have a 90% parameter "
                    f"interval wholly below zero and {above} wholly above.")
        leads = effects.counted(with_force)
        if leads:
            said.append("The assumption that decides most often (the largest index) is "
                        + ", then ".join(f"`{name}` (for {n} of them)" for name, n in list(leads.items())[:3])
                        + ".")
    if not any(e.deciding for e in found):
        said.append("The result holds no first-order indices of this expected change (`sensitivity`), so the "
                    "deciding assumptions are not named.")
    md += [" ".join(said), "", markdown_effects(ds, m), ""]
    named = sorted({p for e in found for p, _ in e.deciding})
    if named:
        md += ["Assumptions named: " + "; ".join(f"`{p}`: {figures.MEANINGS.get(p, 'see docs/model.md')}"
                                                  for p in named) + ".", ""]
    return md


def _assumptions(found: tuple[tuple[str, float], ...]) -> str:
    """`nu` (its meaning; index 0.34), ... in words."""
    return ", ".join(f"`{p}` ({figures.MEANINGS.get(p, 'see docs/model.md')}; index {v:.2f})" for p, v in found)


def write_report(ds: xr.Dataset, out_dir: Path, sections: tuple[str, ...] = ()) -> list[Path]:
    """Write report.md, options.csv and the PNG figures into ``out_dir``;
    return the paths written (report.md first). ``sections``: Markdown
    sections (e.g. ``comparison.section``) placed before the limits."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ds = ds.load()  # one read: the figures and the CSV select option by option
    drawn = [(title, *draw(ds, out_dir / name)) for name, title, draw in FIGURES]
    csv_path = write_csv(ds, out_dir / "options.csv")
    at_year = year(ds, 2)
    horizon = int(ds.attrs["horizon_days"])
    md = [f"# {ds.attrs.get('title', 'deterrence study')}", "", *_study(ds, at_year),
          f"## Headline table (within {at_year} year(s))", "",
          f"{legend()}. Δ re-attack: paired change in the re-attack probability against the baseline, in "
          f"percentage points. "
          + ("Brackets: 90% parameter interval. " if nested(ds) else "±: simulation noise. ")
          + f"Strikes and violations: mean totals per run over the {horizon}-day horizon, "
          "not daily means. Without a force, posture and deployment rule cannot matter: the rows of no "
          "force that differ only in them are identical. Every option with more digits, every outcome "
          "and every year are in [options.csv](options.csv).", "",
          markdown_table(ds, at_year), "", *_effects(ds), *_effects(ds, effects.REATTACK), "## Figures", ""]
    for k, (title, path, text) in enumerate(drawn, 1):
        md += [f"### {k}. {title}", ""]
        if path is not None:
            md += [f"![{title}]({path.name})", ""]
        md += [text, ""]
    md += [*sections, "## Limits", "", _limits(ds), ""]
    report = out_dir / "report.md"
    report.write_text("\n".join(md))
    return [report, csv_path] + [path for _, path, _ in drawn if path is not None]
