"""The re-attack risk within y years of the first ceasefire, per parameter
draw: the kernel's binning and noise arithmetic against the NumPy tallies
bit for bit, and its quantiles, pooled risk and paired effect against closed
forms (the risk after a ceasefire is free of the ceasefire's timing, so an
option that only delays the ceasefire leaves it unchanged)."""

from fractions import Fraction

import numpy as np
import pytest
from helpers import BASELINE_GRID, fixed, kernel_run, make_config, scalar
from scipy import stats
from test_epistemic import Z, nested_config

from deterrence import epistemic, kernels
from deterrence.model import AFTER_SCALE, AFTER_UNDEFINED, YEARS
from deterrence.tallies import after_histograms

LAMBDA_A0 = {"dist": "gamma", "shape": 2.0, "scale": 0.0005}


def kernel_after(reattacked, qualifying, runs_per_draw):
    """The kernel's close_after_draw on each draw of 0/1 arrays (runs, options, years)."""
    n, n_opt, n_years = qualifying.shape
    hist = np.zeros((n_opt, n_years, 2, AFTER_UNDEFINED + 1), dtype=np.int32)
    noise = np.zeros((n_opt, n_years, 2, 3), dtype=np.int64)
    moments = np.zeros((n_opt, n_years, kernels.N_AFTER_MOMENTS), dtype=np.int64)
    for d in range(n // runs_per_draw):
        a = reattacked[d * runs_per_draw:(d + 1) * runs_per_draw].astype(np.int64)
        c = qualifying[d * runs_per_draw:(d + 1) * runs_per_draw].astype(np.int64)
        acc = np.stack([a.sum(0), c.sum(0), (a * a[:, -1:]).sum(0), (a * c[:, -1:]).sum(0),
                        (c * a[:, -1:]).sum(0), (c * c[:, -1:]).sum(0)], axis=-1)
        kernels.close_after_draw(acc, hist, noise, moments, np.zeros((0, 0), dtype=np.int32), 0)
        assert not acc.any()
    return hist.astype(np.int64), noise, moments


def test_the_kernel_bins_the_draws_as_the_numpy_tallies_do():
    """Random qualifying and re-attacked runs (some draws with none
    qualifying): the same histograms, noise limbs and products, bit for bit;
    and each draw's bin is round(AFTER_SCALE x), halves up, of its exact ratio."""
    gen = np.random.default_rng(7)
    n, n_opt, n_years = 6, 4, len(YEARS)
    draws = 300
    share = gen.uniform(0, 1, size=(draws, 1, n_opt, n_years)) ** 3           # many draws with few qualifying
    qualifying = (gen.uniform(size=(draws, n, n_opt, n_years)) < share).reshape(-1, n_opt, n_years)
    reattacked = qualifying & (gen.uniform(size=qualifying.shape) < 0.4)
    mine = kernel_after(reattacked, qualifying, n)
    theirs = after_histograms(reattacked, qualifying, n)
    for a, b in zip(mine, theirs, strict=True):
        assert np.array_equal(a, b)
    hist = mine[0]
    assert (hist[..., AFTER_UNDEFINED] > 0).any() and (hist[..., AFTER_UNDEFINED] < draws).any()
    # One draw, checked with exact fractions.
    a = reattacked[:n].sum(0)
    c = qualifying[:n].sum(0)
    one = after_histograms(reattacked[:n], qualifying[:n], n)[0]
    for o in range(n_opt):
        for y in range(n_years):
            if c[o, y] == 0:
                assert one[o, y, 0, AFTER_UNDEFINED] == 1
                continue
            x = Fraction(int(a[o, y]), int(c[o, y]))
            assert np.flatnonzero(one[o, y, 0])[0] == int(x * AFTER_SCALE + Fraction(1, 2)) + AFTER_SCALE
            if c[-1, y]:
                d = x - Fraction(int(a[-1, y]), int(c[-1, y]))
                bin_ = int((d * AFTER_SCALE + Fraction(1, 2)) // 1) + AFTER_SCALE
                assert np.flatnonzero(one[o, y, 1])[0] == bin_


def population_quantiles(y_days: float, n: int, draws: int = 40_000, seed: int = 5) -> np.ndarray:
    """The estimator on an independent NumPy population: each draw's
    lambda_a0 from the prior, n runs re-attacked within y days of the
    ceasefire with probability 1 - exp(-lambda_a0 y)."""
    gen = np.random.default_rng(seed)
    rates = stats.gamma(LAMBDA_A0["shape"], scale=LAMBDA_A0["scale"]).rvs(draws, random_state=gen)
    k = gen.binomial(n, -np.expm1(-rates * y_days))
    noise = float(np.mean(k * (n - k) / (n * n * (n - 1.0))))
    values = np.sort(k / n)
    return epistemic.shrunk_quantiles(np.ones(draws), values, noise)


def test_the_risk_after_a_ceasefire_against_the_closed_form():
    """No force, e_collapse = 1: T_a - T_c ~ Exp(lambda_a0) whatever the
    truces do and whenever the ceasefire came, so given lambda_a0 the risk
    within y years of the ceasefire is 1 - exp(-lambda_a0 y), increasing in
    lambda_a0: its q-quantile over the prior is that at lambda_a0's
    q-quantile, and the pooled risk is 1 - (1 + scale y)^-shape. Sanctions
    change only the ceasefire rate: their paired effect on this risk is 0,
    so its quantiles shrink to 0 from the per-draw differences, which the
    runs qualifying under one option only make noisy."""
    n, draws = 100, 1_000
    priors = {**fixed(e_collapse=1.0, lambda_c0=0.001), "lambda_a0": LAMBDA_A0}
    grid = {**BASELINE_GRID, "leverage": ["status_quo", "sanctions"]}
    cfg = nested_config(priors, draws, n, grid=grid)
    plan, tallies, ds = kernel_run(cfg)
    prior = stats.gamma(LAMBDA_A0["shape"], scale=LAMBDA_A0["scale"])
    for y in (1, 2):
        y_days = plan.year_days[YEARS.index(y)]
        base = ds.sel(leverage="status_quo", years=y)
        q = base.p_reattack_after_ceasefire_q.values.reshape(-1)
        q_se = base.p_reattack_after_ceasefire_q_se.values.reshape(-1)
        truth = -np.expm1(-prior.ppf(epistemic.QUANTILES) * y_days)
        residual = np.abs(population_quantiles(y_days, n) - truth)
        # Fewer runs qualify than n (the ceasefire must leave y years), so
        # the population's residual is that of the fewest runs qualifying.
        fewest = int(base.runs_after_ceasefire.values.reshape(-1)[0] / draws * 0.8)
        residual = np.maximum(residual, np.abs(population_quantiles(y_days, fewest) - truth))
        assert np.all(np.abs(q - truth) < Z * q_se + residual + 0.5 / AFTER_SCALE), (y, q, truth, q_se, residual)
        pooled = 1.0 - (1.0 + LAMBDA_A0["scale"] * y_days) ** -LAMBDA_A0["shape"]
        p = float(base.p_reattack_after_ceasefire.values.reshape(-1)[0])
        se = float(base.p_reattack_after_ceasefire_se.values.reshape(-1)[0])
        assert abs(p - pooled) < Z * se, (y, p, pooled, se)
        # The draws share lambda_a0, so the error over draws exceeds the runs' binomial one.
        runs = float(base.runs_after_ceasefire.values.reshape(-1)[0])
        assert se > 1.5 * np.sqrt(p * (1 - p) / runs)
        sanctions = ds.sel(leverage="sanctions", years=y)
        dq = sanctions.diff_p_reattack_after_ceasefire_q.values.reshape(-1)
        dq_se = sanctions.diff_p_reattack_after_ceasefire_q_se.values.reshape(-1)
        assert np.all(np.abs(dq) < Z * dq_se + 1.0 / AFTER_SCALE), (y, dq, dq_se)
        raw = tallies.after_hist[plan.grid_rows[1], YEARS.index(y), 1, :AFTER_UNDEFINED]
        raw_sd = np.sqrt(raw @ epistemic.ratio_values() ** 2 / raw.sum())
        assert raw_sd > 2.0 * np.abs(dq).max(), (raw_sd, dq)        # the noise was there, and went
        diff = float(sanctions.diff_p_reattack_after_ceasefire.values.reshape(-1)[0])
        diff_se = float(sanctions.diff_p_reattack_after_ceasefire_se.values.reshape(-1)[0])
        assert abs(diff) < Z * diff_se, (y, diff, diff_se)
        better = float(sanctions.p_better_reattack_after_ceasefire.values.reshape(-1)[0])
        better_se = float(sanctions.p_better_reattack_after_ceasefire_se.values.reshape(-1)[0])
        assert 0.0 <= better <= 1.0 and better_se >= 0.0
    # Five years of a five-year horizon: no run qualifies, no number.
    assert np.isnan(ds.p_reattack_after_ceasefire_q.sel(years=5).values).all()


def test_with_one_run_per_draw_the_error_is_the_binomial_one():
    """Draws of one run each: the ratio estimator's error over draws is
    sqrt(p (1 - p) / C * n / (n - 1)), the binomial error of the C
    qualifying runs with the factor of n runs."""
    cfg = make_config(priors=fixed(lambda_c0=0.002), runs=5_000)
    _, _, ds = kernel_run(cfg)
    n = cfg.study.runs
    for y in (1, 2):
        two = ds.sel(years=y)
        p, runs = scalar(two.p_reattack_after_ceasefire), scalar(two.runs_after_ceasefire)
        assert 0 < p < 1
        assert scalar(two.p_reattack_after_ceasefire_se) == pytest.approx(np.sqrt(p * (1 - p) / runs * n / (n - 1)),
                                                                        rel=1e-9)
        assert scalar(two.diff_p_reattack_after_ceasefire) == 0.0
        assert scalar(two.diff_p_reattack_after_ceasefire_se) == pytest.approx(0.0, abs=1e-9)
