"""Tables of a result: the terminal table, the Markdown table of the report
and the CSV of every option."""

import csv
import itertools
from pathlib import Path

import numpy as np
import xarray as xr

from deterrence.model import AXES
from deterrence.report.grid import SHORT, flat, options

WORDS = ("ceasefire", "deployed", "reattack", "tripwire")
MEANS = ("mean_strikes", "mean_violations", "diff_mean_strikes", "diff_mean_violations")


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


def markdown_table(ds: xr.Dataset, year: int) -> str:
    """The headline table of report.md: one row per option at ``year``."""
    head = ("| force | posture | deploy | support | leverage | ceasefire % | deployed % | re-attack % "
            "| Δ re-attack (pp) | tripwire % | strikes | violations |")
    lines = [head, "|" + "---:|" * 1 + ":---|" * 4 + "---:|" * 7]

    def pct(p, se):
        return "–" if np.isnan(p) else f"{100 * p:.1f} ± {100 * se:.2f}"

    cols = [(flat(ds, f"p_{w}", year), flat(ds, f"p_{w}_se", year))
            for w in ("ceasefire", "deployed", "reattack")]
    cols.append((flat(ds, "diff_p_reattack", year), flat(ds, "diff_p_reattack_se", year)))
    cols.append((flat(ds, "p_tripwire", year), flat(ds, "p_tripwire_se", year)))
    strikes, violations = flat(ds, "mean_strikes"), flat(ds, "mean_violations")
    for k, option in enumerate(options(ds)):
        cells = [f"{option['force_size']:,}"] + [SHORT.get(option[a], option[a]) for a in AXES[1:]]
        cells += [pct(p[k], se[k]) for p, se in cols]
        cells += [f"{strikes[k]:,.0f}", f"{violations[k]:,.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def csv_columns(ds: xr.Dataset) -> list[str]:
    years = [int(y) for y in ds["years"].values]
    cols = list(AXES) + ["runs"]
    for word in WORDS:
        for y in years:
            cols += [f"p_{word}_{y}y", f"p_{word}_{y}y_se"]
    for y in years:
        cols += [f"diff_p_reattack_{y}y", f"diff_p_reattack_{y}y_se"]
    for y in years:
        cols += [f"p_reattack_given_ceasefire_{y}y", f"p_reattack_given_ceasefire_{y}y_se"]
    for name in MEANS:
        if name in ds:
            cols += [name, f"{name}_se"]
    return cols


def _num(x: float) -> str:
    return "" if not np.isfinite(x) else repr(float(x))


def write_csv(ds: xr.Dataset, path: Path) -> Path:
    """One row per option: every axis, probabilities at each year with SE,
    paired differences, and means. Empty cells: beyond the horizon."""
    years = [int(y) for y in ds["years"].values]
    n = flat(ds, "runs")
    columns = []
    for word in WORDS:
        for y in years:
            columns += [flat(ds, f"p_{word}", y), flat(ds, f"p_{word}_se", y)]
    for y in years:
        columns += [flat(ds, "diff_p_reattack", y), flat(ds, "diff_p_reattack_se", y)]
    for y in years:
        pr, pc = flat(ds, "p_reattack", y), flat(ds, "p_ceasefire", y)
        # A re-attack needs a ceasefire first: P(A by y) / P(C by y) = P(A by y | C by y).
        with np.errstate(invalid="ignore", divide="ignore"):
            q = np.where(pc > 0, pr / pc, np.nan)
            columns += [q, np.sqrt(q * (1 - q) / (pc * n))]
    for name in MEANS:
        if name in ds:
            columns += [flat(ds, name), flat(ds, f"{name}_se")]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(csv_columns(ds))
        for k, option in enumerate(options(ds)):
            writer.writerow([option[a] for a in AXES] + [int(n[k])] + [_num(c[k]) for c in columns])
    return path
