"""The NumPy reference (deterrence/reference.py) against closed forms, so the
oracle used to check the kernels is itself checked.

Tolerances: a proportion passes when |p_hat - p| < 4.5 SE with the exact
binomial SE sqrt(p (1 - p) / n) (two-sided 6.8e-6 per check, about 40
checks); a KS test passes when its p-value exceeds 1e-4. Seeds are fixed.
"""

import ast
import inspect

import numpy as np
from conftest import make_config, reference_run
from scipy import stats

from deterrence import families, kernels, priors, reference, results, runner
from deterrence.model import EVENTS, Prior
from deterrence.plan import make_plan

ALPHA = 1e-4


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
