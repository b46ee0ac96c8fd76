"""`write_report`: report.md, options.csv and the figures of a result in one
folder. Every number in the prose is read from the result."""

import json
from pathlib import Path

import numpy as np
import xarray as xr

from deterrence.model import AXES
from deterrence.report import figures
from deterrence.report.grid import AXIS_WORDS, baseline, baseline_attr, flat, levels, plain_option, sel, year
from deterrence.report.tables import legend, markdown_table, write_csv

# (file, section title, drawing function), in the order of the report.
FIGURES = (
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
    return (f" Within {at_year} year(s), their standard error is a median {100 * ratio:.0f}% of that of "
            f"the difference of two independent estimates of the same probabilities.")


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
        f"- config SHA-256: `{ds.attrs.get('config_sha256', 'unknown')}`",
        f"- written by {ds.attrs.get('source', 'deterrence')} on {ds.attrs.get('created', '?')}",
        "",
        "Probabilities are shares of simulated runs; ± is one Monte Carlo standard error unless a "
        "figure says otherwise. Differences to the baseline are paired (common random numbers: every "
        "option of a run shares its parameter and chance draws)." + _pairing(ds, at_year), ""]


def write_report(ds: xr.Dataset, out_dir: Path) -> list[Path]:
    """Write report.md, options.csv and the PNG figures into ``out_dir``;
    return the paths written (report.md first)."""
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
          f"percentage points. Strikes and violations: mean totals per run over the {horizon}-day horizon, "
          "not daily means. Without a force, posture and deployment rule cannot matter: the rows of no "
          "force that differ only in them are identical. Every option with more digits, every outcome "
          "and every year are in [options.csv](options.csv).", "",
          markdown_table(ds, at_year), "", "## Figures", ""]
    for k, (title, path, text) in enumerate(drawn, 1):
        md += [f"### {k}. {title}", ""]
        if path is not None:
            md += [f"![{title}]({path.name})", ""]
        md += [text, ""]
    md += ["## Limits", "", _limits(ds), ""]
    report = out_dir / "report.md"
    report.write_text("\n".join(md))
    return [report, csv_path] + [path for _, path, _ in drawn if path is not None]
