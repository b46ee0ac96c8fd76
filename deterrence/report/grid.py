"""The option grid of a result, in words: its levels, its options in one
order, the baseline, the year to read, plain names for each level, and
whether the result holds parameter intervals (the nested design)."""

import itertools
import json

import numpy as np
import xarray as xr

from deterrence.epistemic import MIN_DRAWS
from deterrence.model import AXES, LEVEL_PLAIN, LEVEL_SHORT

# Level words have one owner, the model's vocabulary.
SHORT, PLAIN = LEVEL_SHORT, LEVEL_PLAIN
# The parameter interval every table and figure shows: 5th to 95th percentile
# over the uncertain parameters' draws (a variable's `_q` reading).
LOW, HIGH = 0.05, 0.95
NOT_NESTED = (f"parameter intervals need study.runs_per_draw > 1 (with one run per parameter draw, the spread "
              f"over the priors cannot be told apart from chance) and at least {MIN_DRAWS} parameter draws "
              f"(runs / runs_per_draw; with fewer, their 5th and 95th percentiles are not yet estimable)")
AXIS_WORDS = {"force_size": "force size", "posture": "posture", "deploy_rule": "deployment",
              "support": "US support", "leverage": "leverage"}


def levels(ds: xr.Dataset) -> dict:
    return {a: [int(v) if a == "force_size" else str(v) for v in ds[a].values] for a in AXES}


def options(ds: xr.Dataset) -> list[dict]:
    """Every option, the last axis varying fastest (the order of `flat`)."""
    return [dict(zip(AXES, values, strict=True)) for values in itertools.product(*levels(ds).values())]


def flat(ds: xr.Dataset, name: str, year: int | None = None, quantile: float | None = None) -> np.ndarray:
    """A variable over all options, in the order of `options`."""
    v = ds[name] if year is None else ds[name].sel(years=year)
    if quantile is not None:
        v = v.sel(quantile=quantile, method="nearest")
    return v.transpose(*AXES).values.astype(float).ravel()


def draws(ds: xr.Dataset) -> int:
    """The result's parameter draws (runs / runs_per_draw)."""
    return int(ds.attrs.get("parameter_draws", int(ds.attrs["runs"]) // int(ds.attrs.get("runs_per_draw", 1))))


def nested(ds: xr.Dataset) -> bool:
    """Whether the result shows parameter intervals (`_q` variables): a
    study with several runs per parameter draw, and at least
    `epistemic.MIN_DRAWS` draws for its percentiles to be estimable."""
    return (int(ds.attrs.get("runs_per_draw", 1)) > 1 and "diff_p_reattack_q" in ds.data_vars
            and draws(ds) >= MIN_DRAWS)


def why_no_intervals(ds: xr.Dataset) -> str:
    """Why the result shows no parameter intervals, in its own numbers ("" if it shows them)."""
    if nested(ds):
        return ""
    n = int(ds.attrs.get("runs_per_draw", 1))
    if n > 1 and "diff_p_reattack_q" in ds.data_vars:
        return (f"parameter intervals not yet estimable: {draws(ds):,} parameter draws ({int(ds.attrs['runs']):,} "
                f"runs / {n:,} per draw), fewer than the {MIN_DRAWS} their 5th and 95th percentiles need; run "
                f"at least {MIN_DRAWS * n:,} runs")
    return NOT_NESTED


def bounds(ds: xr.Dataset, name: str) -> tuple[xr.DataArray, xr.DataArray] | None:
    """The 90% parameter interval (`LOW`, `HIGH` quantiles) of variable
    ``name`` in ``ds`` (or a selection of it); None without one."""
    if not nested(ds) or f"{name}_q" not in ds.data_vars:
        return None
    q = ds[f"{name}_q"]
    return q.sel(quantile=LOW, method="nearest"), q.sel(quantile=HIGH, method="nearest")


def sel(ds: xr.Dataset, option: dict) -> xr.Dataset:
    return ds.sel({a: option[a] for a in AXES})


def baseline_attr(ds: xr.Dataset) -> dict:
    """The baseline option as the result records it ({} if unreadable)."""
    try:
        base = json.loads(ds.attrs.get("baseline", "{}"))
    except ValueError:
        return {}
    return base if isinstance(base, dict) else {}


def baseline(ds: xr.Dataset) -> dict | None:
    """The baseline option if it is a point of the grid (it need not be)."""
    base = baseline_attr(ds)
    grid = levels(ds)
    if set(base) != set(AXES):
        return None
    base = {a: base[a] for a in AXES}
    if base["force_size"] == 0:
        # Without a force, posture and deployment rule change nothing.
        for a in ("posture", "deploy_rule"):
            if base[a] not in grid[a]:
                base[a] = grid[a][0]
    if any(base[a] not in grid[a] for a in AXES):
        return None
    return base


def plain_option(option: dict, ds: xr.Dataset | None = None, all_axes: bool = False) -> str:
    """`5,000 troops, rear area, ...`; with ``ds``, only the axes that vary."""
    grid = levels(ds) if ds is not None else None
    parts = []
    for a in AXES:
        if not all_axes and grid is not None and len(grid[a]) == 1 and a != "force_size":
            continue
        v = option[a]
        if a == "force_size":
            parts.append("no force" if v == 0 else f"{v:,} troops")
        elif a in ("posture", "deploy_rule") and option["force_size"] == 0:
            continue  # posture and deployment rule mean nothing without a force
        else:
            parts.append(PLAIN.get(v, v))
    return ", ".join(parts)


def first_levels(ds: xr.Dataset, keep: tuple = ()) -> str:
    """The other axes that vary, each at its first level, in words."""
    grid = levels(ds)
    return ", ".join(f"{AXIS_WORDS[a]}: {PLAIN.get(grid[a][0], grid[a][0])}"
                     for a in AXES if a not in keep and a != "force_size" and len(grid[a]) > 1) or \
        "no other axis varies"


def representative(ds: xr.Dataset) -> dict:
    """5,000 troops if studied (else the smallest force above 0), first levels of the rest."""
    grid = levels(ds)
    forces = grid["force_size"]
    positive = [f for f in forces if f > 0]
    force = 5000 if 5000 in forces else (min(positive) if positive else forces[0])
    return {"force_size": force, **{a: grid[a][0] for a in AXES[1:]}}


def valid_years(ds: xr.Dataset) -> list[int]:
    """Years whose probabilities are defined (within the horizon)."""
    return [int(y) for y in ds["years"].values
            if not np.all(np.isnan(ds["p_reattack"].sel(years=y).values))]


def year(ds: xr.Dataset, preferred: int) -> int:
    """``preferred`` if within the horizon, else the nearest year below (or above) it."""
    valid = valid_years(ds) or [int(ds["years"].values[0])]
    if preferred in valid:
        return preferred
    below = [y for y in valid if y < preferred]
    return max(below) if below else min(valid)


def pct(x: float, digits: int = 1) -> str:
    """A probability in percent for prose; `n/a` where undefined."""
    return "n/a" if np.isnan(x) else f"{100 * x:.{digits}f}"


def short_pct(x: float) -> str:
    """A bound of an interval in percent, compact: one decimal under 10, none above."""
    if np.isnan(x):
        return "n/a"
    v = 100 * x
    return f"{v:.0f}" if abs(v) >= 9.95 else f"{v:.1f}"


def span(low: float, high: float, digits: int | None = None) -> str:
    """`[low, high]` in percent (``digits`` decimals, or compact)."""
    if digits is None:
        return f"[{short_pct(low)}, {short_pct(high)}]"
    return f"[{pct(low, digits)}, {pct(high, digits)}]"


def reading(value: float, noise: float, low: float = np.nan, high: float = np.nan, unit: str = "%",
            sign: bool = False, scale: float = 100.0) -> str:
    """An estimate in words for prose: `-3.7 points (90% parameter interval
    -11.4 to -0.2; simulation noise ±0.09)`; without an interval, the
    noise alone. Probabilities in, percent out (``scale`` 1 for a number
    already in its unit, e.g. days); ``unit`` `%`, ` points` or ` days`."""
    k = scale
    number = "n/a" if np.isnan(value) else f"{k * value:{'+' if sign else ''}.1f}{unit}"
    noise_words = f"simulation noise ±{k * noise:.2f}"
    if np.isnan(low) or np.isnan(high):
        return f"{number} ({noise_words})"
    if scale != 100.0:
        return f"{number} (90% parameter interval {k * low:.1f} to {k * high:.1f}; {noise_words})"
    return f"{number} (90% parameter interval {pct(low)} to {pct(high)}; {noise_words})"
