"""Days at war and the at-war state: the headline measures a prolonged war
cannot improve. Closed forms for the new tallies, and the property that
decides the headline: a force with every deterrent term neutral, offered
after a ceasefire, can only add days at war (its veto delays the ceasefire,
and nothing it does shortens a war)."""

import numpy as np
import pytest
from helpers import BASELINE_GRID, NEVER, fixed, kernel_run, make_config, scalar
from scipy import integrate, stats
from test_epistemic import Z, nested_config

from deterrence import epistemic
from deterrence.model import YEARS

LAMBDA_C0 = {"dist": "gamma", "shape": 2.0, "scale": 0.001}
HORIZON = 1826


def expected_war_days(rate, horizon=HORIZON):
    """E[min(T, H)] for T ~ Exp(rate): no re-attack, so days at war are the
    days before the first ceasefire."""
    return -np.expm1(-rate * horizon) / rate


def test_war_days_without_reattack_are_the_time_to_the_first_ceasefire():
    """lambda_a0 ~ 0: mean days at war = E[min(Exp(lambda_c0), H)], and the
    at-war probability at y years is exp(-lambda_c0 y), within 4.5 SE."""
    rate = 0.002
    cfg = make_config(priors=fixed(lambda_c0=rate, lambda_a0=NEVER), runs=20_000)
    plan, _, ds = kernel_run(cfg)
    mean, se = scalar(ds.mean_war_days), scalar(ds.mean_war_days_se)
    assert abs(mean - expected_war_days(rate)) < 4.5 * se, (mean, expected_war_days(rate), se)
    p = ds.p_war.values.reshape(-1)
    truth = np.exp(-rate * plan.year_days)
    assert np.all(np.abs(p - truth) < 4.5 * ds.p_war_se.values.reshape(-1)), (p, truth)


def test_war_days_with_an_immediate_reattack_are_the_whole_horizon():
    """A ceasefire at once and a re-attack at once: the war never pauses."""
    cfg = make_config(priors=fixed(lambda_c0=1e6, lambda_a0=1e6), runs=2_000)
    _, _, ds = kernel_run(cfg)
    assert scalar(ds.mean_war_days) == pytest.approx(HORIZON, abs=1e-3)


def population_war_quantiles(n: int, draws: int = 40_000, seed: int = 3) -> np.ndarray:
    """The estimator on an independent NumPy population of draw means: each
    draw's lambda_c0 from the prior, n runs of min(Exp(lambda_c0), H)."""
    gen = np.random.default_rng(seed)
    rates = stats.gamma(LAMBDA_C0["shape"], scale=LAMBDA_C0["scale"]).rvs(draws, random_state=gen)
    days = np.minimum(gen.exponential(1.0 / rates[:, None], size=(draws, n)), HORIZON)
    means = days.mean(axis=1)
    noise = days.var(axis=1, ddof=1).mean() / n
    order = np.argsort(means)
    return epistemic.shrunk_quantiles(np.ones(draws), means[order], noise)


def test_war_day_quantiles_against_the_closed_form():
    """Only lambda_c0 uncertain, no re-attack: E[days at war | lambda_c0] is
    decreasing in lambda_c0, so its q-quantile over the prior is
    expected_war_days(lambda_c0's (1 - q)-quantile). The estimate lies within
    4 bootstrap SE plus the shrinkage's residual (from an independent NumPy
    population) plus half a bin (0.5%)."""
    n, draws = 100, 1_000
    cfg = nested_config({**fixed(lambda_a0=NEVER), "lambda_c0": LAMBDA_C0}, draws, n)
    _, _, ds = kernel_run(cfg)
    q = ds.mean_war_days_q.values.reshape(-1)
    q_se = ds.mean_war_days_q_se.values.reshape(-1)
    rates = stats.gamma(LAMBDA_C0["shape"], scale=LAMBDA_C0["scale"]).ppf(1.0 - np.array(epistemic.QUANTILES))
    truth = expected_war_days(rates)
    residual = np.abs(population_war_quantiles(n) - truth)
    assert np.all(residual < 0.02 * truth), residual
    assert np.all(np.abs(q - truth) < Z * q_se + residual + 0.005 * truth), (q, truth, q_se, residual)
    # The mean over the prior, by quadrature.
    prior = stats.gamma(LAMBDA_C0["shape"], scale=LAMBDA_C0["scale"])
    mean, _ = integrate.quad(lambda r: expected_war_days(r) * prior.pdf(r), 0, np.inf, limit=200)
    assert abs(scalar(ds.mean_war_days) - mean) < Z * scalar(ds.mean_war_days_se)


# Every deterrent term of the force neutral: no deterrence by the force or
# support, collapse and interception unchanged by it, no change to the war's
# ceasefire rate, no engagement; the veto alone acts (nu uncertain, >= 0).
NEUTRAL_FORCE = fixed(delta_force=0.0, m_collapse=1.0, intercept_force=0.0, war_ceasefire_mult=1.0,
                      engage_collapse=0.0, **{"delta_support.isr_c2": 0.0, "delta_support.air_defense": 0.0,
                                              "delta_support.air_support": 0.0})


def test_a_neutral_force_offered_after_a_ceasefire_can_only_add_days_at_war():
    """Its veto delays the ceasefire, and every run's days at war are
    non-decreasing in the ceasefire time (a re-attack within the horizon
    leaves H - A days of war after A days of truce, whenever it comes).
    So the effect on days at war is at least zero within Monte Carlo error
    and p_better at most one half, while the re-attack risk falls."""
    priors = {**NEUTRAL_FORCE, "nu": {"dist": "gamma", "shape": 1.0, "scale": 1.0},
              "lambda_c0": {"dist": "gamma", "shape": 2.0, "scale": 0.001}}
    grid = {**BASELINE_GRID, "force_size": [0, 5000, 25000]}
    cfg = nested_config(priors, 400, 50, grid=grid)
    _, _, ds = kernel_run(cfg)
    force = ds.sel(force_size=[5000, 25000])
    effect = force.diff_mean_war_days.values.reshape(-1)
    assert np.all(effect > -Z * force.diff_mean_war_days_se.values.reshape(-1)), effect
    assert np.all(effect > 0)
    assert np.all(force.p_better.values <= 0.5), force.p_better.values
    assert np.all(force.p_better_war_days.values <= 0.5)
    # The re-attack risk within two years falls: the measure that rewards the delay.
    two = YEARS.index(2)
    assert np.all(force.diff_p_reattack.values.reshape(-1, len(YEARS))[:, two] < 0)
