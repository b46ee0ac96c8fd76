"""The NumPy reference (deterrence/reference.py) against closed forms, so the
oracle used to check the kernels is itself checked.

Tolerances: a proportion passes when |p_hat - p| < 4.5 SE with the exact
binomial SE sqrt(p (1 - p) / n) (two-sided 6.8e-6 per check, about 40
checks); a KS test passes when its p-value exceeds 1e-4. Seeds are fixed.

The kernel against the reference on model v2 (every v2 channel away from
neutral in at least one case): each estimate within Z_AGREE = 5 combined
SEs. Runs are chosen so that 5 combined SEs of a probability near 0.5 are at
most 0.5 points: 5 * sqrt(2 * 0.25 / n) <= 0.005 needs n >= 500,000.
About 1,500 comparisons per case at P(|Z| > 5) = 5.7e-7 each: the
family-wise false-alarm rate is below 0.1% per case.
"""

import ast
import inspect

import numpy as np
import pytest
from helpers import ALPHA, assert_agree, fixed, kernel_run, make_config, reference_run
from scipy import stats

from deterrence import families, kernels, priors, reference, results, runner
from deterrence.model import EVENTS, Prior
from deterrence.plan import make_plan


def test_independent_of_kernels_and_rng():
    tree = ast.parse(inspect.getsource(reference))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module)
            imported.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert not imported & {"deterrence.kernels", "deterrence.rng"}


def test_family_codes_match_plan_encoding():
    """The codes the kernel and the reference branch on are the table's (priors.encode's)."""
    for fam in families.FAMILIES:
        code = priors.encode((Prior("x", fam.name, fam.example, ""),))[0][0]
        assert getattr(kernels, fam.name.upper()) == getattr(reference, fam.name.upper()) == fam.code == code


def test_layout_and_reproducibility():
    grid = {"force_size": [0, 5000], "posture": ["rear", "contact_line"],
            "deploy_rule": ["immediate"], "support": ["none", "air_defense"],
            "leverage": ["sanctions"]}
    cfg = make_config(grid, {}, runs=300, seed=3, horizon=500)
    plan = make_plan(cfg)
    a = reference.simulate(plan, 300, seed=8, chunk_runs=64)
    b = reference.simulate(plan, 300, seed=8, chunk_runs=64)
    k = runner.run_block(plan, 0, 300).widened()
    for field in ("hist", "moments", "paired", "after_ceasefire"):
        x, y = getattr(a, field), getattr(k, field)
        assert x.shape == y.shape and x.dtype == y.dtype == np.int64, field
        assert np.array_equal(x, getattr(b, field))
    assert a.runs == 300 and np.all(a.hist.sum(axis=2) == 300)
    results.build(cfg, plan, a)


def test_moments_match_add_moment():
    values = np.array([[0, 3], [70_000, -5], [2_000_000, 1]], dtype=np.int64)
    expected = np.zeros((2, 3), dtype=np.int64)
    for row in values:
        for o in range(2):
            kernels.add_moment(expected[o], row[o])
    assert np.array_equal(reference.moments(values), expected)


def test_truce_length_piecewise_weibull():
    shape, scale, m, age = 0.6, 40.0, 0.4, 25.0
    budgets = np.random.default_rng(1).standard_exponential(40_000)
    lengths = reference.truce_length(0.0, age, budgets, scale, shape, m)
    h_age = (age / scale) ** shape

    def cdf(x):
        h = np.where(x <= age, (x / scale) ** shape, h_age + m * ((x / scale) ** shape - h_age))
        return 1.0 - np.exp(-h)
    assert stats.kstest(lengths, cdf).pvalue > ALPHA


def test_common_random_numbers_across_support():
    grid = {"force_size": [0, 25000], "posture": ["contact_line"], "deploy_rule": ["immediate"],
            "support": ["none", "isr_c2", "air_defense", "air_support"], "leverage": ["status_quo"]}
    cfg = make_config(grid, {}, runs=3_000)
    _, _, ds = reference_run(cfg)
    for event in ("first_ceasefire_day", "deployment_day"):
        h = ds[event]
        for level in h.support.values[1:]:
            assert np.array_equal(h.sel(support=level).values, h.sel(support="none").values)
    assert len(EVENTS) == 4


# ---------------------------------------------------------------- kernel and reference, model v2

Z_AGREE = 5.0
RUNS_AGREE = 500_000
V2_GRID = {"force_size": [0, 25000], "posture": ["rear", "contact_line"],
           "deploy_rule": ["after_ceasefire", "immediate"], "support": ["none", "air_defense"],
           "leverage": ["status_quo", "sanctions", "assets_and_aid"]}
# Fixed v2 channels, each away from neutral, with e_collapse != 1, short
# truces and a deployment lag inside the first truce or gap (deployment
# inside a truce changes both the collapse and the re-attack hazards).
V2_FIXED = fixed(p_durable=0.2, p_durable_first=0.4, veto_floor=0.4, intercept_force=0.3,
                 war_ceasefire_mult=2.0, engage_collapse=0.005, e_collapse=2.5, truce_scale=40.0,
                 deploy_lag=20.0, lambda_c0=0.004, lambda_a0=0.0008, lambda_retruce=0.03,
                 **{"veto_relief.sanctions": 0.3, "veto_relief.assets_and_aid": 0.6})
AGREE_CASES = {
    # The shipped priors: every v2 channel uncertain, lambda_a0 from the joint
    # calibration (gamma_exposure, e_collapse drawn around 2); engage_collapse
    # raised so that the tripwire from fighting after collapses is frequent.
    "v2_default_priors": (V2_GRID, {"engage_collapse": {"dist": "gamma", "shape": 2.0, "scale": 0.004}},
                          {}, 1826),
    "v2_threshold_veto": (V2_GRID, V2_FIXED, {"veto": "threshold"}, 1826),
    "v2_power_veto": (V2_GRID, V2_FIXED, {}, 1000),
    "v2_weibull_separate": ({**V2_GRID, "leverage": ["status_quo"]}, {}, {"truces": "weibull",
                                                                           "reattack": "separate"}, 1826),
}
# Truces of random strength ([model] truces = "strength"): no durable truces, a
# wide frailty (strength_var 0.8), the v2 channels of V2_FIXED otherwise; then
# the shipped priors with strength_var and the truce parameters from the record.
STRENGTH_FIXED = {**{k: v for k, v in V2_FIXED.items() if not k.startswith("p_durable")},
                  "strength_var": {"dist": "fixed", "value": 0.8}, "k_truce": {"dist": "fixed", "value": 0.5}}
STRENGTH_GRID = {**V2_GRID, "leverage": ["status_quo", "assets_and_aid"]}
AGREE_CASES["v2_strength"] = (STRENGTH_GRID, STRENGTH_FIXED, {"truces": "strength"}, 1826)
AGREE_CASES["v2_strength_priors"] = (STRENGTH_GRID, {}, {"truces": "strength"}, 1826)
# The first case runs at full power in the default suite; the rest too, when slow tests run.
FAST_CASES = ("v2_default_priors",)
# The strength case also runs in the default suite on fewer runs: the
# tolerance is Z_AGREE combined SEs at any number of runs.
RUNS_STRENGTH = 100_000


def compare_kernel_and_reference(case: str, kernel=kernel_run, runs: int = RUNS_AGREE) -> int:
    """Simulate a case with ``kernel`` (seed 2024) and the reference (seed 99)
    and assert their agreement; the number of estimates compared."""
    grid, priors, model, horizon = AGREE_CASES[case]
    cfg = make_config(grid, priors, runs=runs, seed=2024, horizon=horizon, model=model,
                      block_runs=runs)
    plan, _, kernel_ds = kernel(cfg)
    ref_ds = results.build(cfg, plan, reference.simulate(plan, runs, seed=99))
    return assert_agree(kernel_ds, ref_ds, Z_AGREE)


@pytest.mark.parametrize("case", [c if c in FAST_CASES else pytest.param(c, marks=pytest.mark.slow)
                                  for c in AGREE_CASES])
def test_kernel_agrees_with_reference_v2(case):
    assert compare_kernel_and_reference(case) > 400


def test_kernel_agrees_with_reference_strength():
    assert compare_kernel_and_reference("v2_strength", runs=RUNS_STRENGTH) > 400
