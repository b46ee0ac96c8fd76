"""Each option's effect on the re-attack risk against the baseline, as a
decision reads it: the mean paired change; its 90% parameter interval (the
5th to 95th percentile over the uncertain parameters of the option's
expected change: what we do not know); its simulation noise (one Monte
Carlo standard error, apart: what more runs would remove); `p_better`; and
the assumptions that decide it (the parameters with the largest first-order
indices of the expected change, the result's `sensitivity` variable)."""

from dataclasses import dataclass

import numpy as np
import xarray as xr

from deterrence.model import AXES, SENSITIVITY_YEAR
from deterrence.report.grid import HIGH, LOW, NOT_NESTED, flat, nested, options, valid_years

EFFECT_YEAR = SENSITIVITY_YEAR       # p_better and the indices are read at this year
INDEX_OUTCOME = f"diff_reattack_{EFFECT_YEAR}y"
DECIDING = 3                          # assumptions named per option
DECIDING_FLOOR = 0.01                 # an index under this decides nothing


@dataclass(frozen=True)
class Effect:
    """One option's effect on P(re-attack within `EFFECT_YEAR` years), as probabilities."""
    option: dict
    change: float          # mean paired change against the baseline
    noise: float           # its Monte Carlo standard error: simulation noise only
    low: float             # 90% parameter interval of the expected change
    high: float
    better: float          # share of the parameter draws under which the option lowers the risk
    better_noise: float    # Monte Carlo standard error of `better`
    deciding: tuple[tuple[str, float], ...]   # (parameter, first-order index), largest first


def missing(ds: xr.Dataset) -> str | None:
    """Why the result gives no effects with parameter intervals; None if it does."""
    if not nested(ds):
        return NOT_NESTED
    if EFFECT_YEAR not in valid_years(ds):
        return (f"the {int(ds.attrs['horizon_days'])}-day horizon ends before {EFFECT_YEAR} years, the year at "
                f"which p_better and the deciding assumptions are read")
    return None


def deciding(ds: xr.Dataset) -> list[tuple[tuple[str, float], ...]]:
    """Per option (order of `options`): the parameters with the largest
    first-order indices of the expected change, at most `DECIDING`, none
    under `DECIDING_FLOOR`; empty without the `sensitivity` variable, or
    in a result with one run per draw (its indices, of single runs'
    outcomes, are mostly chance)."""
    n = len(options(ds))
    if (not nested(ds) or "sensitivity" not in ds.data_vars
            or INDEX_OUTCOME not in [str(v) for v in ds["outcome"].values]):
        return [()] * n
    s = ds["sensitivity"].sel(outcome=INDEX_OUTCOME).transpose(*AXES, "parameter")
    names = [str(p) for p in s["parameter"].values]
    found = []
    for row in s.values.astype(float).reshape(n, len(names)):
        order = np.argsort(-np.nan_to_num(row, nan=-1.0), kind="stable")[:DECIDING]
        found.append(tuple((names[i], float(row[i])) for i in order
                           if np.isfinite(row[i]) and row[i] >= DECIDING_FLOOR))
    return found


def effects(ds: xr.Dataset) -> list[Effect]:
    """Every option's `Effect`, in the order of `options`; [] where `missing` says why not."""
    if missing(ds):
        return []
    y = EFFECT_YEAR
    columns = (flat(ds, "diff_p_reattack", y), flat(ds, "diff_p_reattack_se", y),
               flat(ds, "diff_p_reattack_q", y, LOW), flat(ds, "diff_p_reattack_q", y, HIGH),
               flat(ds, "p_better"), flat(ds, "p_better_se"))
    return [Effect(option, *(float(c[k]) for c in columns), found)
            for k, (option, found) in enumerate(zip(options(ds), deciding(ds), strict=True))]


def counted(found: list[Effect]) -> dict[str, int]:
    """How many of ``found`` each parameter leads (is the first deciding
    assumption of), most first."""
    leads: dict[str, int] = {}
    for e in found:
        if e.deciding:
            leads[e.deciding[0][0]] = leads.get(e.deciding[0][0], 0) + 1
    return dict(sorted(leads.items(), key=lambda kv: -kv[1]))
