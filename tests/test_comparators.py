"""The benchmarks' comparators are the kernel's model.

- The RNG-only floor (benchmarks/floor.py) draws exactly the kernel's
  variates: its violation and strike totals equal the kernel's tallies.
- The per-run Python loop (benchmarks/python_loop.py) gives the kernel's
  statistics within Monte Carlo error: |a - b| < 5 combined SEs
  sqrt(se_a**2 + se_b**2) of the two independent estimates (binomial SEs
  for proportions, sample variances for means); about 2,100 comparisons at
  P(|Z| > 5) = 5.7e-7 each, family-wise false alarm under 0.2%. Seeds are fixed.
"""

from pathlib import Path

import numpy as np
import pytest
from conftest import fixed, make_config, run_kernel

from benchmarks import floor, python_loop
from deterrence import config
from deterrence.model import EVENTS, TRUCE_DAYS_UNIT
from deterrence.plan import make_plan
from deterrence.tallies import moment_sums

ROOT = Path(__file__).resolve().parents[1]
Z = 5.0
GRID = {"force_size": [0, 25000], "posture": ["rear", "contact_line"],
        "deploy_rule": ["after_ceasefire", "immediate"], "support": ["none", "air_support"],
        "leverage": ["status_quo", "assets_and_aid"]}


def test_floor_draws_the_kernels_variates():
    plan = make_plan(config.load(ROOT / "configs" / "laptop.toml"))
    ok, detail = floor.check_against_kernel(plan, 0, 300)
    assert ok, detail


@pytest.mark.parametrize("priors", [{}, fixed()], ids=["default_priors", "fixed_priors"])
def test_python_loop_is_the_kernels_model(priors):
    n_loop, n_kernel = 5000, 40_000
    cfg = make_config(GRID, priors, runs=n_kernel, seed=31)
    plan = make_plan(cfg)
    tallies = run_kernel(plan)
    loop = python_loop.simulate(cfg, n_loop, seed=7)
    rows = np.append(plan.grid_rows, len(plan.grid_rows))     # grid order, then the baseline

    cumulative = np.cumsum(tallies.hist[rows], axis=2)
    p_kernel = cumulative[:, :, plan.year_days - 1] / n_kernel   # (options, events, years)
    p_loop = loop["within"]
    assert p_loop.shape == p_kernel.shape and p_kernel.shape[1] == len(EVENTS)
    p = (p_kernel + p_loop) / 2
    se = np.sqrt(p * (1 - p) * (1 / n_kernel + 1 / n_loop))
    assert np.all(np.abs(p_kernel - p_loop) <= Z * se + 1e-12), np.abs(p_kernel - p_loop) / se

    total, squares = moment_sums(tallies.moments[rows])
    unit = np.array([1.0, 1.0, TRUCE_DAYS_UNIT, 1.0])          # COUNTS: truce days are tallied in units
    mean_kernel = total / n_kernel * unit
    var_kernel = (squares / n_kernel - (total / n_kernel) ** 2) * unit ** 2
    se = np.sqrt(var_kernel / n_kernel + loop["var"] / n_loop)
    assert np.all(np.abs(mean_kernel - loop["mean"]) <= Z * se + 1e-9), np.abs(mean_kernel - loop["mean"]) / se
