"""The benchmarks' comparators are the kernel's model.

- The RNG-only floor (benchmarks/floor.py) draws exactly the kernel's
  variates: its violation and strike totals equal the kernel's tallies.
- The per-run Python loop (benchmarks/python_loop.py) gives the kernel's
  statistics within Monte Carlo error: |a - b| < 5 combined SEs
  sqrt(se_a**2 + se_b**2) of the two independent estimates (binomial SEs
  for proportions, sample variances for means); about 3,800 comparisons at
  P(|Z| > 5) = 5.7e-7 each, family-wise false alarm under 0.3%. Seeds are fixed.
"""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from helpers import fixed, make_config, run_kernel

from benchmarks import floor, python_loop
from deterrence import config
from deterrence.model import COUNTS, DAY_COUNTS, EVENTS, TRUCE_DAYS_UNIT
from deterrence.plan import make_plan
from deterrence.tallies import moment_sums

ROOT = Path(__file__).resolve().parents[1]
Z = 5.0
GRID = {"force_size": [0, 25000], "posture": ["rear", "contact_line"],
        "deploy_rule": ["after_ceasefire", "immediate"], "support": ["none", "air_support"],
        "leverage": ["status_quo", "assets_and_aid"]}


# Every v2 channel switched on, with the threshold veto.
V2_CHANNELS = fixed(p_durable=0.3, p_durable_first=0.4, veto_floor=0.6, intercept_force=0.7,
                    war_ceasefire_mult=1.8, engage_collapse=0.003,
                    **{"veto_relief.assets_and_aid": 0.5, "veto_relief.sanctions": 0.2})
THRESHOLD = {"veto": "threshold"}


def test_floor_draws_the_kernels_variates():
    plan = make_plan(config.load(ROOT / "configs" / "laptop.toml"))
    ok, detail = floor.check_against_kernel(plan, 0, 300)
    assert ok, detail


def test_floor_draws_the_kernels_variates_with_v2_channels():
    cfg = make_config(GRID, V2_CHANNELS, runs=300, seed=5)
    plan = make_plan(dataclasses.replace(cfg, choices={**cfg.choices, **THRESHOLD}))
    ok, detail = floor.check_against_kernel(plan, 0, 300)
    assert ok, detail


@pytest.mark.parametrize("priors, choices", [({}, {}), (fixed(), {}), (V2_CHANNELS, THRESHOLD)],
                         ids=["default_priors", "fixed_priors", "v2_channels_threshold"])
def test_python_loop_is_the_kernels_model(priors, choices):
    n_loop, n_kernel = 5000, 40_000
    cfg = make_config(GRID, priors, runs=n_kernel, seed=31)
    cfg = dataclasses.replace(cfg, choices={**cfg.choices, **choices})
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
    unit = np.array([TRUCE_DAYS_UNIT if c in DAY_COUNTS else 1.0 for c in COUNTS])   # day counts in units
    mean_kernel = total / n_kernel * unit
    var_kernel = (squares / n_kernel - (total / n_kernel) ** 2) * unit ** 2
    se = np.sqrt(var_kernel / n_kernel + loop["var"] / n_loop)
    assert np.all(np.abs(mean_kernel - loop["mean"]) <= Z * se + 1e-9), np.abs(mean_kernel - loop["mean"]) / se

    # The after-ceasefire shares: among qualifying runs, binomial SEs of each side.
    kernel_after, loop_after = tallies.after_ceasefire[rows], loop["after_ceasefire"]
    n_k, n_l = kernel_after[..., 0], loop_after[..., 0]
    ok = (n_k > 0) & (n_l > 0)
    p_k = kernel_after[..., 1][ok] / n_k[ok]
    p_l = loop_after[..., 1][ok] / n_l[ok]
    p = (kernel_after[..., 1][ok] + loop_after[..., 1][ok]) / (n_k[ok] + n_l[ok])
    se = np.sqrt(p * (1 - p) * (1 / n_k[ok] + 1 / n_l[ok]))
    assert ok.sum() > 0 and np.all(np.abs(p_k - p_l) <= Z * se + 1e-12), np.abs(p_k - p_l) / se
