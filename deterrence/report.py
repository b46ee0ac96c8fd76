"""Readable tables from a result."""

import itertools

import numpy as np
import xarray as xr

from deterrence.model import AXES

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
