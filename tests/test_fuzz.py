"""Property test over configs and priors inside and at the edges of the
accepted domains: each ends in one clean error (UserError, one line) or a
complete, finite, internally consistent result; never a crash or a hang.

The property runs in a subprocess with NUMBA_BOUNDSCHECK=1: an out-of-bounds
access there raises IndexError instead of reading garbage, a segmentation
fault fails the subprocess instead of killing pytest, and the bounds-checked
kernels compile into a cache folder of their own (``rng._cache_dir`` keys
on the flag).
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import run_kernel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deterrence import UserError, config, results
from deterrence.model import AT_LEAST_ONE, CHOICES, EVENTS, NONNEGATIVE, PARAMETERS, POSITIVE, PROBABILITY, REAL
from deterrence.plan import make_plan

INNER = os.environ.get("DETERRENCE_FUZZ") == "1"
ROOT = Path(__file__).parents[1]
EXAMPLES = int(os.environ.get("DETERRENCE_FUZZ_EXAMPLES", 200))   # about 10 s once compiled


def test_random_configs_with_bounds_checking():
    """The property below, in a subprocess with bounds checking."""
    if INNER:
        pytest.skip("already the inner run")
    env = {**os.environ, "NUMBA_BOUNDSCHECK": "1", "DETERRENCE_FUZZ": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                           f"{__file__}::test_random_configs"],
                          capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]


# Values at and inside the edges of each domain.
TINY, HUGE = 1e-300, 1e300
POSITIVE_VALUES = (TINY, 1e-12, 1e-3, 0.5, 1.0, 3.0, 1e3, 1e12, HUGE)
FIXED_VALUES = {
    POSITIVE: POSITIVE_VALUES,
    NONNEGATIVE: (0.0,) + POSITIVE_VALUES,
    PROBABILITY: (0.0, TINY, 1e-12, 0.5, 1.0 - 1e-12, 1.0),
    AT_LEAST_ONE: (1.0, 1.0 + 1e-12, 2.0, 1e12, HUGE),
    REAL: (-HUGE, -1e12, -1.0, -TINY, 0.0) + POSITIVE_VALUES,
}
LOW_EDGE = {POSITIVE: 0.0, NONNEGATIVE: 0.0, PROBABILITY: 0.0, AT_LEAST_ONE: 1.0, REAL: -1e3}


def positive():
    return st.one_of(st.sampled_from(POSITIVE_VALUES), st.floats(1e-6, 1e6))


@st.composite
def prior(draw, domain):
    """A prior table whose support lies in ``domain``."""
    low = LOW_EDGE[domain]
    families = ["fixed", "uniform"] + (["beta"] if domain != AT_LEAST_ONE else []) + (
        ["gamma", "lognormal"] if domain != PROBABILITY else [])
    family = draw(st.sampled_from(families))
    if family == "fixed":
        return {"dist": "fixed", "value": draw(st.sampled_from(FIXED_VALUES[domain]))}
    if family == "beta":
        edge = st.sampled_from((TINY, 1e-3, 0.05, 1.0, 50.0, 1e6))
        return {"dist": "beta", "a": draw(edge), "b": draw(edge)}
    if family == "uniform":
        top = 1.0 if domain == PROBABILITY else HUGE
        a, b = sorted((draw(st.sampled_from((low, low + 1e-12, 0.5, top))),
                       draw(st.floats(low, top, allow_nan=False))))
        if a == b:
            b = a + 1.0 if domain != PROBABILITY else 1.0
            a = min(a, 0.5) if domain == PROBABILITY else a
        return {"dist": "uniform", "low": a, "high": b}
    loc = draw(st.sampled_from((low, low + 1e-12, low + 1.0)))
    if family == "gamma":
        return {"dist": "gamma", "shape": draw(positive()), "scale": draw(positive()), "loc": loc}
    return {"dist": "lognormal", "median": draw(positive()),
            "sigma": draw(st.sampled_from((1e-3, 0.5, 2.0, 30.0, 300.0))), "loc": loc}


@st.composite
def raw_config(draw):
    chosen = draw(st.lists(st.sampled_from(PARAMETERS), max_size=6, unique_by=lambda p: p.name))
    priors = {p.name: draw(prior(p.domain)) for p in chosen}
    if draw(st.booleans()):
        # The joint calibration of lambda_a0, its exposure at the edges too.
        priors["lambda_a0"] = {"dist": "gamma_exposure", "shape": draw(positive()),
                               "truce_days": draw(positive()),
                               "gap_days": draw(st.one_of(st.just(0.0), positive()))}
    model = {key: draw(st.sampled_from(values)) for key, values in CHOICES.items() if draw(st.booleans())}

    def some(levels):
        return draw(st.lists(st.sampled_from(levels), min_size=1, max_size=2, unique=True))

    grid = {"force_size": some([0, 1, 5000, 10**9]), "posture": some(["rear", "contact_line"]),
            "deploy_rule": some(["after_ceasefire", "immediate"]), "support": ["none", "air_defense"][:draw(
                st.integers(1, 2))], "leverage": some(["status_quo", "sanctions", "assets_and_aid"])}
    # Runs per parameter draw (the nested design): mostly whole draws per
    # study and block, sometimes not (a one-line error).
    per_draw = draw(st.sampled_from((1, 1, 2, 3, 7, 12)))
    whole = draw(st.integers(0, 9)) > 0
    study = {"name": "fuzz", "seed": draw(st.integers(0, 2**64 - 1)),
             "runs": per_draw * draw(st.integers(2, 20)) if whole else draw(st.integers(20, 200)),
             "horizon_days": draw(st.one_of(st.sampled_from((1, 2, 365, 4000)), st.integers(1, 4000))),
             "block_runs": per_draw * draw(st.integers(1, 10)) if whole else draw(st.integers(7, 100)),
             "runs_per_draw": per_draw}
    return {"study": study, "model": model, "grid": grid, "priors": priors}


def assert_clean(error: UserError) -> None:
    assert "\n" not in str(error) and str(error), repr(error)


def assert_consistent(ds, runs: int) -> None:
    for event in EVENTS:
        assert np.all(ds[event].sum("day").values == runs), event
    for name, da in ds.data_vars.items():
        values = np.asarray(da.values, dtype=float)
        if name.startswith("p_") and not name.endswith("_se"):
            defined = values[~np.isnan(values)]
            assert np.all((defined >= 0.0) & (defined <= 1.0)), name
        if name.endswith("_se"):
            defined = values[~np.isnan(values)]
            assert np.all((defined >= 0.0) & np.isfinite(defined)), name
        if name.startswith(("mean_", "diff_mean_")) or name.endswith(("_sum", "_sumsq")):
            assert np.all(np.isfinite(values)), name
        if name.startswith("diff_p_"):
            defined = values[~np.isnan(values)]
            assert np.all(np.abs(defined) <= 1.0), name
        if name == "sensitivity":
            defined = values[~np.isnan(values)]
            assert np.all((defined >= 0.0) & (defined <= 1.0)), name
    # p(ceasefire) is defined wherever the year fits the horizon, and a
    # re-attack needs a ceasefire first.
    p_c, p_r = ds.p_ceasefire.values, ds.p_reattack.values
    assert np.array_equal(np.isnan(p_c), np.isnan(p_r))
    assert np.all(p_r[~np.isnan(p_r)] <= p_c[~np.isnan(p_c)])


@pytest.mark.skipif(not INNER, reason="runs in a subprocess with bounds checking")
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(raw_config())
def test_random_configs(raw):
    try:
        cfg = config.parse(raw)
        plan = make_plan(cfg)
        tallies = run_kernel(plan)
    except UserError as error:
        assert_clean(error)
        return
    assert tallies.runs == cfg.study.runs
    with np.errstate(all="ignore"):
        ds = results.build(cfg, plan, tallies)
    assert_consistent(ds, cfg.study.runs)
