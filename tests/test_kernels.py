"""Statistical and exactness tests of the numba kernels (the RNG's are in
test_rng.py).

All seeds are fixed, so every test is deterministic. Tolerances:
- goodness-of-fit tests (KS) pass when the p-value exceeds ALPHA = 1e-4
  (see helpers.ALPHA);
- a proportion against a closed form passes when |p_hat - p| < 4.5 SE with
  the exact binomial SE sqrt(p (1 - p) / n) (two-sided 6.8e-6 per check);
- kernel against the NumPy reference: |a - b| < 5 SE with the combined
  SE sqrt(se_a**2 + se_b**2) of the two independent estimates. There are
  about 2,700 such comparisons; P(|Z| > 5) = 5.7e-7 each, so the family-wise
  false-alarm rate is below 0.2%.
"""

import dataclasses
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import (
    ALPHA,
    BASELINE_GRID,
    N_CLOSED,
    SMALL_GRID,
    assert_agree,
    assert_proportions,
    assert_tallies_equal,
    fixed,
    kernel_run,
    make_config,
    run_kernel,
    scalar,
    study_text,
    with_choices,
    within,
)
from scipy import stats

from deterrence import UserError, config, kernels, reference, results, rng, runner, tallies
from deterrence.model import (
    COUNTS,
    EVENTS,
    INDICATORS,
    PAIRED_COUNTS,
    PARAMETER_NAMES,
    SENSITIVITY_YEAR,
    TRUCE_DAYS_UNIT,
    VALUE_BINS,
    YEARS,
)
from deterrence.plan import make_plan

# ---------------------------------------------------------------------------
# Weibull truce with a hazard multiplier from the deployment on


def piecewise_weibull_cdf(x, scale, shape, m, age):
    """CDF of a truce length whose Weibull hazard is multiplied by m from
    ``age`` on (age <= 0: from the start)."""
    x = np.asarray(x, dtype=float)
    age = max(age, 0.0)
    h_age = (age / scale) ** shape
    h = np.where(x <= age, (x / scale) ** shape, h_age + m * ((x / scale) ** shape - h_age))
    return 1.0 - np.exp(-h)


@pytest.mark.parametrize("shape, scale, m, age", [
    (0.6, 40.0, 0.4, 25.0),
    (1.7, 40.0, 2.5, 30.0),
    (0.8, 60.0, 0.3, -5.0),     # deployed before the truce began
    (1.0, 50.0, 0.5, 1e9),      # deployed long after: plain Weibull
])
def test_truce_duration_piecewise_weibull(shape, scale, m, age):
    start = 100.0
    budgets = np.random.default_rng(7).standard_exponential(40_000)
    inv_shape = 1.0 / shape
    full_factor = m ** -inv_shape
    lengths = np.array([kernels.truce_duration(start, start + age, scale * b ** inv_shape, b,
                                               scale, inv_shape, m, full_factor)
                        for b in budgets])
    pvalue = stats.kstest(lengths, lambda x: piecewise_weibull_cdf(x, scale, shape, m, age)).pvalue
    assert pvalue > ALPHA
    # the reference's inversion gives the same lengths from the same budgets
    same = reference.truce_length(start, start + age, budgets, scale, shape, m)
    np.testing.assert_allclose(same, lengths, rtol=1e-9)


def test_hazard_walk_spends_budget():
    never = math.inf
    t, left = kernels.hazard_walk(0.5, 10.0, 20.0, 0.1, never, 0.5)
    assert t == pytest.approx(15.0) and left == 0.0
    t, left = kernels.hazard_walk(2.0, 10.0, 20.0, 0.1, never, 0.5)
    assert t == math.inf and left == pytest.approx(1.0)
    # Deployed at 14: rate 0.1 on [10, 14), then 0.05: 0.4 + 0.05 * 6 = 0.7 in all.
    t, left = kernels.hazard_walk(0.6, 10.0, 20.0, 0.1, 14.0, 0.5)
    assert t == pytest.approx(18.0) and left == 0.0
    t, left = kernels.hazard_walk(1.0, 10.0, 20.0, 0.1, 14.0, 0.5)
    assert t == math.inf and left == pytest.approx(0.3)
    # Deployed before the segment: the lower rate throughout.
    t, left = kernels.hazard_walk(0.25, 10.0, 20.0, 0.1, 5.0, 0.5)
    assert t == pytest.approx(15.0) and left == 0.0


# ---------------------------------------------------------------------------
# Closed forms with fixed priors


def test_deployment_after_ceasefire_is_shifted_exponential():
    rate, lag, n = 0.002, 60.0, 40_000
    grid = dict(BASELINE_GRID, force_size=[10000])
    cfg = make_config(grid, fixed(lambda_c0=rate, nu=0.0, deploy_lag=lag), runs=n, seed=108)
    _, tallies, _ = kernel_run(cfg)
    days = np.array([100, 365, 730, 1826])
    assert_proportions(within(tallies.hist[0, 1], days), 1.0 - np.exp(-rate * (days - lag)), n)


# ---------------------------------------------------------------------------
# Model v2 channels against closed forms


def test_after_ceasefire_tally():
    """No force, e_collapse = 1: the re-attack hazard is lambda_a0 from T_c
    on, so T_a - T_c ~ Exp(lambda_a0) whatever the truces. The qualifying
    runs are exactly those the T_c histogram puts before day H - y; among
    them P(T_a - T_c < y) = 1 - exp(-lambda_a0 y) (4.5 binomial SEs); a
    re-attack at once counts every qualifying run, none never does."""
    lc, n, horizon = 0.002, 40_000, 1826
    grid = dict(BASELINE_GRID, leverage=["status_quo", "sanctions"])
    for la, expected in ((0.0008, None), (1e6, 1.0), (1e-300, 0.0)):
        cfg = make_config(grid, fixed(lambda_c0=lc, lambda_a0=la, e_collapse=1.0, p_durable_first=0.3),
                          runs=n, seed=41, horizon=horizon)
        plan = make_plan(cfg)
        t = run_kernel(plan)
        cumulative = np.cumsum(t.hist[:, 0], axis=1)
        for o in range(t.hist.shape[0]):
            for y, d in enumerate(plan.year_days):
                qualifying = cumulative[o, horizon - d - 1] if d < horizon else 0   # T_c < H - d
                assert t.after_ceasefire[o, y, 0] == qualifying
                if qualifying == 0:
                    assert t.after_ceasefire[o, y, 1] == 0
                elif expected is None:
                    assert_proportions([t.after_ceasefire[o, y, 1] / qualifying], [1.0 - np.exp(-la * d)],
                                       qualifying)
                else:
                    assert t.after_ceasefire[o, y, 1] == expected * qualifying


def test_threshold_veto_and_relief():
    """Threshold veto: the ceasefire hazard with any force is
    lambda_c0 * leverage_mult * veto_floor ** (1 - veto_relief)."""
    lc, floor, mult, relief, n = 0.002, 0.3, 1.2, 0.4, N_CLOSED
    grid = dict(BASELINE_GRID, force_size=[0, 5000], leverage=["status_quo", "sanctions"])
    cfg = with_choices(make_config(grid, fixed(lambda_c0=lc, veto_floor=floor, nu=5.0, **{
        "leverage_mult.sanctions": mult, "veto_relief.sanctions": relief}), runs=n, seed=8), veto="threshold")
    plan, _, ds = kernel_run(cfg)
    for force, veto in ((0, 1.0), (5000, floor)):
        for leverage, m, r in (("status_quo", 1.0, 0.0), ("sanctions", mult, relief)):
            rate = lc * m * veto ** (1.0 - r)
            assert_proportions(ds.p_ceasefire.sel(force_size=force, leverage=leverage).values.reshape(-1),
                               1.0 - np.exp(-rate * plan.year_days), n)


def test_war_ceasefire_multiplier():
    """Immediate deployment at lag L: the ceasefire hazard is c before L and
    c * mult after, so P(T_c < t) = 1 - exp(-c t) for t <= L and
    1 - exp(-c L - c mult (t - L)) after."""
    lc, lag, mult, n = 0.002, 200.0, 2.5, N_CLOSED
    grid = dict(BASELINE_GRID, force_size=[10000], deploy_rule=["immediate"])
    cfg = make_config(grid, fixed(lambda_c0=lc, nu=0.0, nu_now=0.0, deploy_lag=lag, war_ceasefire_mult=mult),
                      runs=n, seed=12)
    _, tallies, _ = kernel_run(cfg)
    days = np.array([100, 200, 365, 730])
    cdf = np.where(days <= lag, 1.0 - np.exp(-lc * days), 1.0 - np.exp(-lc * lag - lc * mult * (days - lag)))
    assert_proportions(within(tallies.hist[0, 0], days), cdf, n)


def test_durable_truces():
    """p_durable_first = 1: no truce ever collapses and, without re-attacks,
    every run after its ceasefire is in truce to the horizon. p_durable = 1
    (the first not durable): at most one collapse per run, and some."""
    horizon, n = 1826, 5_000
    grid = dict(BASELINE_GRID, force_size=[0, 10000], posture=["contact_line"])
    cfg = make_config(grid, fixed(p_durable_first=1.0, lambda_a0=1e-300, m_collapse=3.0), runs=n, seed=3,
                      horizon=horizon)
    _, tallies, _ = kernel_run(cfg)
    assert np.all(tallies.moments[:, 3] == 0)
    # truce days = H - T_c, within the 1/1024-day units' rounding (< 1 unit a run)
    t_c = np.arange(horizon + 1) + 0.5     # a day bin's middle: |error| <= 0.5 day a run
    units = tallies.moments[:, 2, 0] * TRUCE_DAYS_UNIT
    bound = (tallies.hist[:, 0, :horizon] * (horizon - t_c[:horizon])).sum(axis=1)
    assert np.all(np.abs(units - bound) <= 0.5 * tallies.hist[:, 0, :horizon].sum(axis=1) + 1.0)
    cfg = make_config(grid, fixed(p_durable_first=0.0, p_durable=1.0, lambda_a0=1e-300), runs=n, seed=3,
                      horizon=horizon)
    _, tallies, _ = kernel_run(cfg)
    collapses = tallies.moments[:, 3]
    # counts in {0, 1}: the sum of squares (low limb) equals the sum
    assert np.all(collapses[:, 0] == collapses[:, 2]) and np.all(collapses[:, 1] == 0)
    assert np.all(collapses[:, 0] > 0)


# ---------------------------------------------------------------------------
# Truces of random strength ([model] truces = "strength", docs/model.md)

def strength_priors(**overrides) -> dict:
    """fixed(...) without the durable shares, which truces = "strength" and
    "weibull" leave out of the model."""
    return {k: v for k, v in fixed(**overrides).items() if not k.startswith("p_durable")}


def test_strength_without_variance_is_the_weibull_form():
    """strength_var = 0: every W is 1 and the tallies are those of truces =
    "weibull", bit for bit."""
    grid = dict(SMALL_GRID, leverage=["status_quo"])
    weibull = make_config(grid, strength_priors(), runs=4_000, seed=11, model={"truces": "weibull"})
    strength = make_config(grid, strength_priors(strength_var=0.0), runs=4_000, seed=11,
                           model={"truces": "strength"})
    assert_tallies_equal(kernel_run(weibull)[1], kernel_run(strength)[1])


def test_strength_truce_length_is_the_gamma_frailty_closed_form():
    """An episode's length without a force: W ~ Gamma(1 / v, scale v) times
    the Weibull hazard, so S(t) = (1 + v (t / scale) ** shape) ** (-1 / v);
    and its W has that gamma law (KS tests on each run's first episode)."""
    v, shape, scale, n = 0.8, 0.7, 60.0, 20_000
    cfg = make_config(BASELINE_GRID, strength_priors(strength_var=v, truce_shape=shape, truce_scale=scale),
                      runs=n, model={"truces": "strength"})
    kp = make_plan(cfg).kernel
    theta = np.empty(len(cfg.priors))
    st, st_gap, st_other = rng.new_state(), rng.new_state(), rng.new_state()
    assert kernels.draw_parameters(theta, st, kp, 0) < 0
    run_values = np.empty(kernels.N_RUN_VALUES)
    tables = kernels.new_tables(kp.force_levels.shape[0], kp.level_parameters)
    episodes = np.empty((kernels.N_EP_ROWS, 64))
    lengths, strengths = np.empty(n), np.empty(n)
    for run in range(n):
        episodes, kind = kernels.prepare_run(run_values, episodes, tables, st, st_gap, st_other, kp, run, theta)
        assert kind == kernels.NO_FAULT
        lengths[run] = episodes[kernels.EP_BASE, 0]
        strengths[run] = episodes[kernels.EP_STRENGTH, 0]
    assert stats.kstest(lengths, lambda t: 1.0 - (1.0 + v * (t / scale) ** shape) ** (-1.0 / v)).pvalue > ALPHA
    assert stats.kstest(strengths, stats.gamma(1.0 / v, scale=v).cdf).pvalue > ALPHA


def test_strength_violations_of_one_long_truce():
    """A ceasefire at once and a truce that outlasts the horizon H: the
    violations are Poisson(G), G | W ~ Gamma(H k, W mu / k), W ~ Gamma(1 / v,
    scale v); so their mean is mu H (E[W] = 1) and their variance
    mu H + (1 + v) mu**2 H / k + v (mu H)**2. Each within 4.5 SE: the mean's
    from that variance, the variance's from the sample's fourth moment."""
    v, mu, k, horizon, n = 0.8, 50.0, 0.5, 1826, 20_000
    cfg = make_config(BASELINE_GRID, strength_priors(strength_var=v, mu_truce=mu, k_truce=k, lambda_c0=1e3,
                                                     truce_scale=1e15, lambda_a0=1e-300),
                      runs=n, horizon=horizon, model={"truces": "strength"})
    _, counts, fault = kernels.replay_runs(make_plan(cfg).kernel, 0, n)
    assert fault[0] == kernels.NO_FAULT
    x = counts[:, 0, 0].astype(float)
    mean = mu * horizon
    variance = mean + (1.0 + v) * mu**2 * horizon / k + v * mean**2
    assert abs(x.mean() - mean) < 4.5 * math.sqrt(variance / n)
    m4 = np.mean((x - x.mean()) ** 4)
    assert abs(x.var() - variance) < 4.5 * math.sqrt((m4 - x.var() ** 2) / n)


def test_an_unknown_truce_form_code_is_an_error():
    """The kernel's and the reference's dispatch on the truce form (and the
    reference's on the veto form) ends in an error, never in a default form."""
    kp = make_plan(make_config(BASELINE_GRID, fixed(), runs=1)).kernel
    kp = kp._replace(choices=np.array([0, 7, 0], dtype=np.int64))
    with pytest.raises(ValueError, match="unknown truce form"):
        kernels.strength_truces(kp, np.zeros(len(PARAMETER_NAMES)))
    with pytest.raises(ValueError, match="unknown truce form"):
        reference.strength_form(7)
    with pytest.raises(ValueError, match="unknown veto form"):
        reference.threshold_form(7)


def test_force_intercepts_strikes():
    """No ceasefire, deployed at day 0: strikes ~ Poisson((1 - i_F)(1 -
    intercept) sigma_war H) with i_F = intercept_force F / (F + f_scale);
    without a force the force's share is 0 (4.5 Poisson SEs)."""
    sigma, i_force, f_scale, force, horizon, n = 2.0, 0.6, 5000.0, 15000, 1000, 20_000
    grid = dict(BASELINE_GRID, force_size=[0, force], deploy_rule=["immediate"])
    cfg = make_config(grid, fixed(lambda_c0=1e-12, sigma_war=sigma, intercept_force=i_force, f_scale=f_scale,
                                  deploy_lag=0.0, lambda_hit=0.0), runs=n, seed=21, horizon=horizon)
    _, _, ds = kernel_run(cfg)
    for troops, share in ((0, 0.0), (force, i_force * force / (force + f_scale))):
        lam = (1 - share) * sigma * horizon
        assert abs(scalar(ds.mean_strikes.sel(force_size=troops)) - lam) < 4.5 * np.sqrt(lam / n)


def test_engagement_after_collapses():
    """Deployed at the ceasefire on the contact line, no re-attack, no hit:
    the force is engaged only in gaps after collapses. Durable truces
    (p_durable_first = 1) leave it never engaged; truces of moments and
    engagement at once engage it in every run with a ceasefire."""
    n = 2_000
    grid = dict(BASELINE_GRID, force_size=[10000], posture=["contact_line"])
    base = {"lambda_c0": 0.01, "nu": 0.0, "deploy_lag": 0.0, "lambda_a0": 1e-300, "lambda_hit": 0.0,
            "truce_scale": 1e-3, "engage_collapse": 1e6}
    _, tallies, _ = kernel_run(make_config(grid, fixed(**base, p_durable_first=1.0), runs=n, seed=4))
    assert tallies.hist[0, 3, -1] == n
    _, tallies, _ = kernel_run(make_config(grid, fixed(**base), runs=n, seed=4))
    ceasefires = n - tallies.hist[0, 0, -1]
    assert ceasefires > 0.9 * n and n - tallies.hist[0, 3, -1] == ceasefires
    _, tallies, _ = kernel_run(make_config(grid, fixed(**{**base, "engage_collapse": 0.0}), runs=n, seed=4))
    assert tallies.hist[0, 3, -1] == n


# ---------------------------------------------------------------------------
# The kernel against the NumPy reference

REFERENCE_CASES = {
    "default_priors": (SMALL_GRID, {}, 1826),
    "fixed_priors": ({**SMALL_GRID, "force_size": [0, 10000], "support": ["none", "air_defense"],
                      "leverage": ["status_quo", "sanctions", "assets_and_aid"]}, fixed(), 1826),
    # Immediate deployment in the rear, a collapse multiplier often above 1
    # (truces shortened by the force), frequent hits, a horizon under 5 years.
    "immediate_rear": ({"force_size": [5000, 50000], "posture": ["rear"],
                        "deploy_rule": ["immediate"],
                        "support": ["none", "isr_c2", "air_defense", "air_support"],
                        "leverage": ["status_quo", "assets_and_aid"]},
                       {"m_collapse": {"dist": "lognormal", "median": 1.3, "sigma": 0.5},
                        "lambda_hit": {"dist": "fixed", "value": 0.003},
                        "q_rear": {"dist": "uniform", "low": 0.2, "high": 0.8}}, 800),
    # Truces of days and gaps of days: a hundred and more episodes per run
    # (past the kernel's initial episode buffer of 64), m_collapse on both sides of 1.
    "many_episodes": ({"force_size": [0, 25000], "posture": ["rear", "contact_line"],
                       "deploy_rule": ["immediate"], "support": ["none"],
                       "leverage": ["status_quo"]},
                      {"lambda_retruce": {"dist": "gamma", "shape": 4.0, "scale": 0.25},
                       "truce_scale": {"dist": "lognormal", "median": 2.0, "sigma": 0.3},
                       "lambda_a0": {"dist": "fixed", "value": 0.0002},
                       "m_collapse": {"dist": "lognormal", "median": 1.0, "sigma": 1.0}}, 1826),
}
RUNS_REFERENCE = {"many_episodes": 10_000}


@pytest.mark.parametrize("case", REFERENCE_CASES)
def test_kernel_agrees_with_reference(case):
    grid, priors, horizon = REFERENCE_CASES[case]
    n = RUNS_REFERENCE.get(case, 40_000)
    cfg = make_config(grid, priors, runs=n, seed=2024, horizon=horizon)
    plan, _, kernel_ds = kernel_run(cfg)
    ref_ds = results.build(cfg, plan, reference.simulate(plan, n, seed=99))
    assert assert_agree(kernel_ds, ref_ds) > 100


# ---------------------------------------------------------------------------
# Common random numbers


def test_common_random_numbers_across_support():
    """Support does not enter T_c or T_d: each run gives every support level
    the same ceasefire and deployment days, so the histograms are identical."""
    grid = {**SMALL_GRID, "support": ["none", "isr_c2", "air_defense", "air_support"]}
    cfg = make_config(grid, {}, runs=5_000, seed=31)
    _, _, ds = kernel_run(cfg)
    for event in ("first_ceasefire_day", "deployment_day"):
        h = ds[event]
        for level in h.support.values[1:]:
            assert np.array_equal(h.sel(support=level).values, h.sel(support="none").values)
    # and the paired differences of T_c against the (support-free) baseline
    # are zero where only support differs from it
    d = ds.diff_p_ceasefire.sel(force_size=0, leverage="status_quo")
    assert np.all(d.values == 0.0)


def test_tally_layout():
    cfg = make_config(SMALL_GRID, {}, runs=50, seed=1, horizon=400)
    plan = make_plan(cfg)
    t = runner.run_block(plan, 0, 50)
    n_opt = len(cfg.options) + 1
    # A block's counts are int32 (half the memory in flight); a total's int64.
    # Its 50 draws (one run each) come as each draw's bins, not histograms.
    assert t.hist.shape == (n_opt, len(EVENTS), 401) and t.hist.dtype == np.int32
    assert all(isinstance(getattr(t, name), tallies.Bins) for name in tallies.DRAW_ROWS)
    total = runner.run_block(plan, 0, 50)
    total += t
    assert all(total.arrays()[name].dtype == np.int64 for name in tallies.COUNTS if name in total.arrays())
    np.testing.assert_array_equal(total.hist, 2 * t.hist)
    assert t.moments.shape == (n_opt, len(COUNTS), 3)
    assert t.paired.shape == (n_opt, len(INDICATORS) * 3 + len(PAIRED_COUNTS), 3)
    assert t.value_hist.shape == (n_opt, 2 * len(PAIRED_COUNTS), VALUE_BINS)
    assert np.all(t.value_hist.dense().sum(axis=2) == 50)      # one draw per run: 50 draws
    assert t.after_ceasefire.shape == (n_opt, 3, 2) and t.after_ceasefire.dtype == np.int64
    assert np.all(t.hist.sum(axis=2) == 50)



@pytest.mark.parametrize("runs_per_draw", [1, 5])
def test_a_blocks_draw_rows_are_its_per_draw_histograms(runs_per_draw):
    """The kernel's two forms of the per-draw histograms (dense, or each
    draw's bins as kernels.simulate(draw_rows=True) gives them) hold the
    same counts, and every other tally is the same."""
    cfg = make_config(SMALL_GRID, {}, runs=60, seed=3, horizon=400)
    cfg = dataclasses.replace(cfg, study=dataclasses.replace(cfg.study, runs_per_draw=runs_per_draw))
    plan = make_plan(cfg)
    args = (plan.kernel, 0, 60, plan.sensitivity_parameters, plan.sensitivity_edges, True)
    *dense, no_rows, fault = kernels.simulate(*args, False)
    *sparse, rows, fault_rows = kernels.simulate(*args, True)
    assert fault[0] == fault_rows[0] == kernels.NO_FAULT and no_rows.size == 0
    assert rows.shape == (60 // runs_per_draw, len(cfg.options) + 1, kernels.draw_columns(3))
    column = 0
    for name, a, b in zip(tallies.ARRAYS, dense, sparse, strict=True):
        if name in tallies.DRAW_ROWS:
            n_rows = int(np.prod(a.shape[1:-1]))
            bins = tallies.Bins.of_rows(a.shape, rows[:, :, column:column + n_rows])
            column += n_rows
            assert b.size == 0
            np.testing.assert_array_equal(bins.dense(), a, err_msg=name)
            total = np.ones(a.shape, dtype=np.int64)
            bins.add_to(total)
            np.testing.assert_array_equal(total, a + 1, err_msg=name)
        else:
            np.testing.assert_array_equal(a, b, err_msg=name)
    assert column == rows.shape[2]


# ---------------------------------------------------------------------------
# Edge cases of the parameter domains


def test_rear_weight_zero_means_never_hit():
    """w_rear = 0 is in its domain [0, 1]: a rear force is then never hit
    during the war (hazard lambda_hit * 0), as the reference has it."""
    grid = dict(BASELINE_GRID, force_size=[10000], posture=["rear"], deploy_rule=["immediate"])
    cfg = make_config(grid, fixed(w_rear=0.0, lambda_a0=1e-12), runs=200, seed=9)
    plan = make_plan(cfg)
    assert reference.simulate(plan, 200, seed=1).hist[0, 3, -1] == 200
    assert run_kernel(plan).hist[0, 3, -1] == 200


# ---------------------------------------------------------------------------
# Faults: what the kernel cannot compute exactly ends in one clean error


NO_CEASEFIRE = {"lambda_c0": 1e-12}   # every run at war over the horizon


def test_counts_above_max_count_are_an_error_not_a_wrong_se():
    """Strikes ~ Poisson(3.5e9) per run: their squares would overflow int64,
    so the block stops with a UserError naming the run and the priors."""
    horizon = 1000
    cfg = make_config(BASELINE_GRID, fixed(**NO_CEASEFIRE, sigma_war=3.5e9 / horizon), runs=50,
                      horizon=horizon, block_runs=7)
    with pytest.raises(UserError) as error:
        run_kernel(make_plan(cfg))
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("run 0 has strikes above 2,147,483,647") and "priors.sigma_war" in message


def test_counts_just_below_max_count_give_the_poisson_se():
    """Strikes ~ Poisson(2e9), just below MAX_COUNT: the same tallies in any
    blocking, and the standard error of the mean is sqrt(lam / n) (the
    estimated SE's relative error is sqrt(1 / (2 n)); 4.5 of those)."""
    horizon, lam, n = 1000, 2.0e9, 2000
    cfg = make_config(BASELINE_GRID, fixed(**NO_CEASEFIRE, sigma_war=lam / horizon), runs=n,
                      horizon=horizon)
    one = run_kernel(make_plan(cfg))
    blocked = run_kernel(make_plan(cfg, block_runs=7))
    assert_tallies_equal(one, blocked)
    ds = results.build(cfg, make_plan(cfg), blocked)
    se = float(ds.mean_strikes_se.values.reshape(-1)[0])
    assert abs(se / math.sqrt(lam / n) - 1.0) < 4.5 * math.sqrt(1.0 / (2 * n))
    assert abs(float(ds.mean_strikes.values.reshape(-1)[0]) - lam) < 4.5 * math.sqrt(lam / n)


EDGE_PRIORS = {
    "truce_shape tiny": {"truce_shape": {"dist": "fixed", "value": 1e-9}},
    "truce_shape tiny gamma": {"truce_shape": {"dist": "gamma", "shape": 0.01, "scale": 1e-6}},
    "lambda_retruce huge": {"lambda_retruce": {"dist": "fixed", "value": 1e12},
                            "truce_scale": {"dist": "fixed", "value": 1e-12}},
    "m_collapse huge": {"m_collapse": {"dist": "lognormal", "median": 1e100, "sigma": 50.0},
                        "truce_shape": {"dist": "fixed", "value": 0.01}},
    "mu_war huge": {"mu_war": {"dist": "fixed", "value": 1e9}},
}


@pytest.mark.parametrize("case", EDGE_PRIORS)
def test_edge_priors_end_cleanly(case, tmp_path):
    """In a fresh process with bounds checking (and a time limit): exit 0 with
    a result, or exit 2 with one line and nothing under the output name;
    never a crash, a hang or a traceback."""
    text = study_text("edge") + "".join(
        f"[priors.{name}]\n" + "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in table.items())
        for name, table in EDGE_PRIORS[case].items())
    (tmp_path / "edge.toml").write_text(text)
    out = tmp_path / "edge.nc"
    env = {**os.environ, "NUMBA_BOUNDSCHECK": "1", "PYTHONPATH": str(Path(__file__).parents[1])}
    done = subprocess.run([sys.executable, "-m", "deterrence", "run", str(tmp_path / "edge.toml"),
                           "--out", str(out), "--workers", "1"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert done.returncode in (0, 2), done.stderr
    if done.returncode == 2:
        lines = [line for line in done.stderr.splitlines() if line.startswith("deterrence: error:")]
        assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
        assert not out.exists()
    else:
        assert out.exists()




def replayed_block(tmp_path, runs_per_draw, start, stop):
    """A small study's plan, its block of runs [start, stop) and those runs
    replayed one by one (kernels.replay_runs: flags and paired counts)."""
    path = tmp_path / "small.toml"
    path.write_text(study_text("small", runs=600, block_runs=600, runs_per_draw=runs_per_draw))
    plan = make_plan(config.load(path))
    block = runner.run_block(plan, start, stop)
    flags, counts, fault = kernels.replay_runs(plan.kernel, start, stop)
    assert fault[0] == kernels.NO_FAULT
    return plan, block, flags, counts


@pytest.mark.parametrize("runs_per_draw, start, stop", [(1, 0, 600), (20, 0, 600), (20, 130, 517)])
def test_sensitivity_sums_are_the_replayed_outcomes_by_bin(tmp_path, runs_per_draw, start, stop):
    # The kernel adds a draw's outcome sums to its bins once per draw (or at
    # the block's end): the same as binning each replayed run by its draw.
    plan, block, flags, counts = replayed_block(tmp_path, runs_per_draw, start, stop)
    theta = np.empty((stop - start, plan.family.size))
    for i, run in enumerate(range(start, stop)):
        kernels.draw_parameters(theta[i], rng.new_state(), plan.kernel, run // runs_per_draw)
    year = YEARS.index(SENSITIVITY_YEAR)
    shape = (stop - start, len(plan.options), len(INDICATORS), len(YEARS))
    within = flags.reshape(shape)[:, :, :len(EVENTS), year].astype(int)
    war = counts[:, :, PAIRED_COUNTS.index("war_days"), None]
    outcome = np.concatenate([within, within[:, :, 2:3] - within[:, -1:, 2:3], war, war - war[:, -1:]], axis=2)
    for i, p in enumerate(plan.sensitivity_parameters):
        bins = np.searchsorted(plan.sensitivity_edges[i], theta[:, p])
        for b in range(plan.sensitivity_edges.shape[1] + 1):
            assert block.sensitivity_runs[i, b] == (bins == b).sum()
            np.testing.assert_array_equal(block.sensitivity[i, b], outcome[bins == b].sum(axis=0))


@pytest.mark.parametrize("runs_per_draw, start, stop", [(1, 0, 300), (2, 0, 600), (20, 60, 400)])
def test_indicator_tallies_are_the_replayed_flags(tmp_path, runs_per_draw, start, stop):
    # The kernel counts each option's indicators per draw, options innermost,
    # and derives the paired sums from them: the same as summing each
    # replayed run's flags, and the per-draw histograms those draws' counts.
    # (2 runs per draw: 300 draws, dense histograms; 20: each draw's bins)
    _, block, flags, _ = replayed_block(tmp_path, runs_per_draw, start, stop)
    d = flags.astype(np.int64) - flags[:, -1:]
    n = flags.shape[2]
    assert d.any() and (d < 0).any()
    np.testing.assert_array_equal(block.paired[:, :n, 0], d.sum(axis=0))
    np.testing.assert_array_equal(block.paired[:, :n, 2], (d * d).sum(axis=0))
    assert not block.paired[:, :n, 1].any()
    if runs_per_draw > 1:
        per_draw = flags.reshape(-1, runs_per_draw, *flags.shape[1:]).sum(axis=1, dtype=np.int64)
        hist, diff = (h.dense() if hasattr(h, "dense") else h for h in (block.draw_hist, block.draw_diff))
        for c in range(runs_per_draw + 1):
            np.testing.assert_array_equal(hist[:, :, c], (per_draw == c).sum(axis=0))
        shifted = per_draw - per_draw[:, -1:] + runs_per_draw
        for c in range(2 * runs_per_draw + 1):
            np.testing.assert_array_equal(diff[:, :, c], (shifted == c).sum(axis=0))
