"""The NumPy reference (deterrence/reference.py) against closed forms, so the
oracle used to check the kernels is itself checked.

Tolerances: a proportion passes when |p_hat - p| < 4.5 SE with the exact
binomial SE sqrt(p (1 - p) / n) (two-sided 6.8e-6 per check, about 40
checks); a KS test passes when its p-value exceeds 1e-4. Seeds are fixed.
"""

import ast
import inspect

import numpy as np
import pytest
from conftest import (
    check_ceasefire_exponential,
    check_deterrence_and_tripwire,
    check_leverage,
    check_reattack_hypoexponential,
    check_strikes_without_ceasefire,
    check_tripwire_during_war,
    check_veto,
    make_config,
)
from scipy import stats

from deterrence import kernels, reference, results, runner
from deterrence.model import EVENTS

ALPHA = 1e-4


def reference_run(cfg):
    """(plan, tallies, dataset) of the reference; its seed is the study's."""
    plan = runner.make_plan(cfg)
    tallies = reference.simulate(plan, cfg.study.runs, seed=cfg.study.seed)
    return plan, tallies, results.build(cfg, plan, tallies)


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
    assert kernels.FAMILY_CODES == {"fixed": reference.FIXED, "gamma": reference.GAMMA,
                                    "lognormal": reference.LOGNORMAL, "beta": reference.BETA,
                                    "uniform": reference.UNIFORM}


def test_layout_and_reproducibility():
    grid = {"force_size": [0, 5000], "posture": ["rear", "contact_line"],
            "deploy_rule": ["immediate"], "support": ["none", "air_defense"],
            "leverage": ["sanctions"]}
    cfg = make_config(grid, {}, runs=300, seed=3, horizon=500)
    plan = runner.make_plan(cfg)
    a = reference.simulate(plan, 300, seed=8, chunk_runs=64)
    b = reference.simulate(plan, 300, seed=8, chunk_runs=64)
    k = runner.run_block(plan, 0, 300)
    for field in ("hist", "moments", "paired"):
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


def test_ceasefire_exponential_without_force():
    check_ceasefire_exponential(reference_run, seed=201)


def test_reattack_hypoexponential_without_force():
    check_reattack_hypoexponential(reference_run, seed=202)


@pytest.mark.parametrize("force", [5000, 25000])
def test_veto_factor_shifts_ceasefire(force):
    check_veto(reference_run, seed=203, force=force)


def test_leverage_multiplies_ceasefire_hazard():
    check_leverage(reference_run, seed=204)


@pytest.mark.parametrize("posture", ["contact_line", "rear"])
def test_reattack_deterrence_and_tripwire(posture):
    check_deterrence_and_tripwire(reference_run, seed=205, posture=posture)


def test_tripwire_during_war():
    check_tripwire_during_war(reference_run, seed=206)


def test_strikes_without_ceasefire():
    check_strikes_without_ceasefire(reference_run, seed=207)


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
