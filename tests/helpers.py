"""Shared test helpers: configs from dicts and studies from tests/data/,
kernel and reference runs, closed forms and standard-error comparisons,
small results for the report tests."""

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import xarray as xr

from deterrence import config, fit, reference, results, runner
from deterrence.cli import main
from deterrence.model import AXES, SENSITIVITY_OUTCOMES
from deterrence.plan import make_plan
from deterrence.tallies import ARRAYS

DATA = Path(__file__).parent / "data"

# A goodness-of-fit test (KS, chi-square) passes when its p-value exceeds
# ALPHA: with 32 such tests in the suite, the family-wise false-alarm
# rate stays under 0.4%.
ALPHA = 1e-4


def study_text(file: str, /, **study) -> str:
    """The text of tests/data/<file>.toml with some [study] values replaced.
    [study] comes first in every data file, so a key's first line is its own.
    A string goes in between quotes as it is: TOML escapes in it stay escapes
    (the security tests put "\\n" in a study name)."""
    text = (DATA / f"{file}.toml").read_text()
    for key, value in study.items():
        line = f'{key} = "{value}"' if isinstance(value, str) else f"{key} = {value}"
        # A function, not a template, so re leaves the backslashes in ``line`` alone.
        text, found = re.subn(rf"^{key} = .*$", lambda _, line=line: line, text, count=1, flags=re.M)
        assert found == 1, (file, key)
    return text


def write_study(path: Path, file: str, /, **study) -> Path:
    """Write study_text(file, **study) to ``path``; returns ``path``."""
    path.write_text(study_text(file, **study))
    return path


# Every parameter fixed to a plausible value (all the model's branches live).
FIXED_VALUES = {
    "lambda_c0": 0.002, "nu": 0.5, "f_veto": 10000.0,
    "leverage_mult.sanctions": 1.2, "leverage_mult.assets_and_aid": 1.5,
    "deploy_lag": 60.0, "truce_shape": 0.7, "truce_scale": 60.0, "m_collapse": 0.4,
    "lambda_retruce": 0.01, "lambda_a0": 0.001, "e_collapse": 2.0, "delta_force": 0.3,
    "f_scale": 5000.0, "w_rear": 0.3, "delta_support.isr_c2": 0.1,
    "delta_support.air_defense": 0.2, "delta_support.air_support": 0.4, "delta_aid": 0.2,
    "mu_truce": 50.0, "k_truce": 1.0, "mu_war": 300.0, "k_war": 2.0, "sigma_truce": 0.05,
    "sigma_war": 2.0, "intercept.isr_c2": 0.05, "intercept.air_defense": 0.4,
    "intercept.air_support": 0.5, "q_rear": 0.25, "lambda_hit": 0.001,
    # Model v2 channels at their neutral values unless a test sets them.
    "p_durable": 0.0, "p_durable_first": 0.0, "veto_floor": 1.0, "veto_relief.sanctions": 0.0,
    "veto_relief.assets_and_aid": 0.0, "intercept_force": 0.0, "war_ceasefire_mult": 1.0,
    "engage_collapse": 0.0,
    # The claims' channels: the same veto now as after a ceasefire, no strike deterrence, no provocation.
    "nu_now": 0.5, "strike_force": 0.0, "strike_support.isr_c2": 0.0, "strike_support.air_defense": 0.0,
    "strike_support.air_support": 0.0, "provoke_force": 0.0,
}
# One option only: the baseline (no force, status quo).
BASELINE_GRID = {"force_size": [0], "posture": ["rear"], "deploy_rule": ["after_ceasefire"],
                 "support": ["none"], "leverage": ["status_quo"]}


def fixed(**overrides) -> dict:
    """A [priors] table fixing every parameter (FIXED_VALUES, then overrides;
    dotted names via fixed(**{"leverage_mult.sanctions": 1.0}))."""
    values = {**FIXED_VALUES, **overrides}
    return {name: {"dist": "fixed", "value": float(v)} for name, v in values.items()}


def make_config(grid=None, priors=None, runs=20_000, seed=12345, horizon=1826,
                block_runs=100_000, model=None) -> config.Config:
    raw = {"study": {"name": "test", "runs": runs, "seed": seed, "horizon_days": horizon,
                     "block_runs": block_runs},
           "model": model or {},
           "grid": grid if grid is not None else BASELINE_GRID,
           "priors": priors or {}}
    return config.parse(raw)



def run_kernel(plan: runner.Plan):
    """The kernel's tallies, block by block on this thread."""
    total = None
    for start, stop in plan.blocks:
        tallies = runner.run_block(plan, start, stop)
        total = tallies.widened() if total is None else total.__iadd__(tallies)
    return total


def within(hist_row: np.ndarray, days) -> np.ndarray:
    """Share of runs with the event before each of ``days`` (T < d) from a
    day histogram whose last bin counts runs without the event."""
    cumulative = np.cumsum(hist_row)
    return np.array([cumulative[d - 1] for d in days]) / hist_row.sum()


def hypoexponential_cdf(t, l1, l2):
    """P(X1 + X2 < t) for independent exponentials with rates l1 != l2."""
    t = np.asarray(t, dtype=float)
    return 1.0 - (l2 * np.exp(-l1 * t) - l1 * np.exp(-l2 * t)) / (l2 - l1)


def assert_proportions(estimate, expected, n, z=4.5):
    """|p_hat - p| < z * SE with the exact binomial SE sqrt(p (1 - p) / n)."""
    estimate, expected = np.asarray(estimate, float), np.asarray(expected, float)
    se = np.sqrt(expected * (1.0 - expected) / n)
    assert np.all(np.abs(estimate - expected) < z * se), (estimate, expected, se)


def kernel_run(cfg):
    """(plan, tallies, dataset) of a config simulated by the kernel."""
    plan = make_plan(cfg)
    tallies = run_kernel(plan)
    return plan, tallies, results.build(cfg, plan, tallies)


def reference_run(cfg):
    """(plan, tallies, dataset) of the NumPy reference; its seed is the study's."""
    plan = make_plan(cfg)
    tallies = reference.simulate(plan, cfg.study.runs, seed=cfg.study.seed)
    return plan, tallies, results.build(cfg, plan, tallies)


def scalar(da) -> float:
    return float(np.asarray(da.values).reshape(-1)[0])


# Closed forms shared by the kernel and reference tests. Each takes
# ``simulate(cfg) -> (plan, tallies, dataset)`` and checks proportions within
# 4.5 exact binomial SEs, or means within 4.5 exact Poisson SEs.
N_CLOSED = 40_000


def check_ceasefire_exponential(simulate, seed):
    """No force: P(T_c < t) = 1 - exp(-lambda_c0 t) at t = 365, 730, 1826."""
    rate = 0.0015
    plan, _, ds = simulate(make_config(BASELINE_GRID, fixed(lambda_c0=rate), runs=N_CLOSED,
                                       seed=seed))
    assert list(plan.year_days) == [365, 730, 1826]
    assert_proportions(ds.p_ceasefire.values.reshape(-1), 1.0 - np.exp(-rate * plan.year_days),
                       N_CLOSED)


def check_reattack_hypoexponential(simulate, seed):
    """No force, e_collapse = 1, status quo: the re-attack hazard is lambda_a0
    from T_c on whatever the truces do, so T_a = T_c + Exp(lambda_a0)."""
    l1, l2 = 0.002, 0.0012
    _, tallies, _ = simulate(make_config(
        BASELINE_GRID, fixed(lambda_c0=l1, lambda_a0=l2, e_collapse=1.0), runs=N_CLOSED,
        seed=seed))
    days = [100, 365, 730, 1200, 1826]
    assert_proportions(within(tallies.hist[0, 2], days), hypoexponential_cdf(days, l1, l2),
                       N_CLOSED)


def check_veto(simulate, seed, force):
    """The veto factor (1 + F / f_veto) ** -nu scales the ceasefire hazard."""
    rate, nu, f_veto = 0.002, 1.3, 10000.0
    plan, _, ds = simulate(make_config(dict(BASELINE_GRID, force_size=[0, force]),
                                       fixed(lambda_c0=rate, nu=nu, f_veto=f_veto),
                                       runs=N_CLOSED, seed=seed))
    for troops, slowed in ((force, rate * (1.0 + force / f_veto) ** -nu), (0, rate)):
        assert_proportions(ds.p_ceasefire.sel(force_size=troops).values.reshape(-1),
                           1.0 - np.exp(-slowed * plan.year_days), N_CLOSED)


def check_leverage(simulate, seed):
    rate, mults = 0.001, {"sanctions": 1.4, "assets_and_aid": 2.0}
    plan, _, ds = simulate(make_config(
        dict(BASELINE_GRID, leverage=list(mults)),
        fixed(lambda_c0=rate, **{f"leverage_mult.{k}": v for k, v in mults.items()}),
        runs=N_CLOSED, seed=seed))
    for level, mult in mults.items():
        assert_proportions(ds.p_ceasefire.sel(leverage=level).values.reshape(-1),
                           1.0 - np.exp(-rate * mult * plan.year_days), N_CLOSED)


def check_deterrence_and_tripwire(simulate, seed, posture):
    """Deployed at the ceasefire (lag 0), e_collapse = 1: the re-attack hazard
    is lambda_a0 * D from T_c on, so T_a = T_c + Exp(lambda_a0 D); a re-attack
    engages the force always on the contact line, with chance q_rear in the rear."""
    lc, la = 0.002, 0.002
    force, d_force, f_scale, d_sup, w_rear, q_rear = 20000, 0.4, 5000.0, 0.3, 0.5, 0.3
    grid = dict(BASELINE_GRID, force_size=[force], posture=[posture], support=["air_support"])
    _, tallies, _ = simulate(make_config(grid, fixed(
        lambda_c0=lc, nu=0.0, lambda_a0=la, e_collapse=1.0, deploy_lag=0.0, delta_force=d_force,
        f_scale=f_scale, w_rear=w_rear, q_rear=q_rear, **{"delta_support.air_support": d_sup}),
        runs=N_CLOSED, seed=seed))
    w = 1.0 if posture == "contact_line" else w_rear
    rate = la * np.exp(-(d_force * w * np.log1p(force / f_scale) + d_sup))
    days = [200, 730, 1500]
    cdf = hypoexponential_cdf(days, lc, rate)
    assert_proportions(within(tallies.hist[0, 2], days), cdf, N_CLOSED)
    engaged = 1.0 if posture == "contact_line" else q_rear
    assert_proportions(within(tallies.hist[0, 3], days), engaged * cdf, N_CLOSED)


def check_tripwire_during_war(simulate, seed):
    """Immediate deployment at lag L in the rear, (almost) no re-attack: the
    force is hit at L + Exp(lambda_hit w_rear) if before T_c ~ Exp(c), so with
    a = lambda_hit w_rear, P(hit before d) = a / (a + c) exp(-c L) (1 - exp(-(a + c)(d - L)))."""
    lc, hit, lag, w_rear = 0.001, 0.002, 30.0, 0.5
    grid = dict(BASELINE_GRID, force_size=[10000], deploy_rule=["immediate"])
    _, tallies, _ = simulate(make_config(grid, fixed(
        lambda_c0=lc, nu=0.0, nu_now=0.0, lambda_a0=1e-12, lambda_hit=hit, deploy_lag=lag, w_rear=w_rear),
        runs=N_CLOSED, seed=seed))
    a, days = hit * w_rear, np.array([100, 365, 1000, 1826])
    expected = a / (a + lc) * np.exp(-lc * lag) * (1.0 - np.exp(-(a + lc) * (days - lag)))
    assert_proportions(within(tallies.hist[0, 3], days), expected, N_CLOSED)
    assert tallies.hist[0, 1, int(lag)] == N_CLOSED      # all deployed on day L


def check_strikes_without_ceasefire(simulate, seed):
    """No ceasefire within the horizon: strikes ~ Poisson((1 - intercept)
    sigma_war H) and no violations."""
    sigma, intercept, horizon, n = 2.0, 0.4, 1000, 20_000
    grid = dict(BASELINE_GRID, support=["none", "air_defense"])
    _, _, ds = simulate(make_config(grid, fixed(lambda_c0=1e-12, sigma_war=sigma,
                                                **{"intercept.air_defense": intercept}),
                                    runs=n, seed=seed, horizon=horizon))
    for level, share in (("none", 0.0), ("air_defense", intercept)):
        lam = (1 - share) * sigma * horizon
        assert abs(scalar(ds.mean_strikes.sel(support=level)) - lam) < 4.5 * np.sqrt(lam / n)
    assert float(ds.mean_violations.max()) == 0.0


def same_result(a, b) -> bool:
    """Two result files hold the same data and provenance (times aside)."""
    with xr.open_dataset(a) as x, xr.open_dataset(b) as y:
        keep = {"created", "history", "wall_seconds"}
        x.attrs = {k: v for k, v in x.attrs.items() if k not in keep}
        y.attrs = {k: v for k, v in y.attrs.items() if k not in keep}
        return x.identical(y)


# Model v2 closed forms (docs/model.md). A ceasefire "at once" is
# lambda_c0 = 1e6 per day (T_c ~ 1e-6 days); "never" is 1e-12 per day.
AT_ONCE, NEVER = 1e6, 1e-12


def assert_ceasefire_rates(ds, plan, selections: dict, n):
    """p_ceasefire of each selected option against 1 - exp(-rate * day)."""
    for selection, rate in selections.items():
        p = ds.p_ceasefire.sel(dict(selection)).values.reshape(-1)
        assert_proportions(p, 1.0 - np.exp(-rate * plan.year_days), n)


def check_threshold_veto(simulate, seed):
    """veto = "threshold": any force multiplies the ceasefire hazard by
    veto_floor, whatever its size; under sanctions the hazard is
    lambda_c0 * leverage_mult * veto_floor ** (1 - veto_relief)."""
    rate, floor, mult, relief = 0.002, 0.3, 1.2, 0.4
    grid = dict(BASELINE_GRID, force_size=[0, 2000, 30000], leverage=["status_quo", "sanctions"])
    plan, _, ds = simulate(make_config(grid, fixed(
        lambda_c0=rate, veto_floor=floor, nu=2.0, **{"leverage_mult.sanctions": mult,
                                                    "veto_relief.sanctions": relief}),
        runs=N_CLOSED, seed=seed, model={"veto": "threshold"}))
    selections = {(("force_size", 0), ("leverage", "status_quo")): rate,
                  (("force_size", 0), ("leverage", "sanctions")): rate * mult}
    for force in (2000, 30000):
        selections[(("force_size", force), ("leverage", "status_quo"))] = rate * floor
        selections[(("force_size", force), ("leverage", "sanctions"))] = rate * mult * floor ** (1 - relief)
    assert_ceasefire_rates(ds, plan, selections, N_CLOSED)


def check_veto_relief_power(simulate, seed):
    """veto = "power" under sanctions: hazard lambda_c0 * mult * V ** (1 - r),
    V = (1 + F / f_veto) ** -nu."""
    rate, nu, f_veto, mult, relief, force = 0.002, 1.5, 5000.0, 1.2, 0.6, 20000
    grid = dict(BASELINE_GRID, force_size=[force], leverage=["status_quo", "sanctions"])
    plan, _, ds = simulate(make_config(grid, fixed(
        lambda_c0=rate, nu=nu, f_veto=f_veto, **{"leverage_mult.sanctions": mult,
                                                 "veto_relief.sanctions": relief}),
        runs=N_CLOSED, seed=seed))
    v = (1.0 + force / f_veto) ** -nu
    assert_ceasefire_rates(ds, plan, {(("force_size", force), ("leverage", "status_quo")): rate * v,
                                      (("force_size", force), ("leverage", "sanctions")):
                                      rate * mult * v ** (1 - relief)}, N_CLOSED)


def check_durable_first_truce(simulate, seed):
    """No force, a ceasefire at once, next to no re-attack in a truce and an
    immediate one once it collapses (lambda_a0 tiny, e_collapse huge): T_a is
    the first truce's length, whose survival is the cure fraction
    S(t) = p + (1 - p) exp(-(t / scale) ** shape), p = p_durable_first
    (p_durable, for later truces, set apart to show it is not used)."""
    shape, scale, p_first = 0.7, 90.0, 0.35
    _, tallies, _ = simulate(make_config(BASELINE_GRID, fixed(
        lambda_c0=AT_ONCE, truce_shape=shape, truce_scale=scale, p_durable_first=p_first,
        p_durable=0.9, lambda_a0=1e-10, e_collapse=1e12), runs=N_CLOSED, seed=seed))
    days = [10, 60, 200, 730, 1500]
    assert_proportions(within(tallies.hist[0, 2], days),
                       1.0 - fit.cure_survival(days, shape, scale, p_first), N_CLOSED)


def check_durable_later_truces(simulate, seed):
    """Truces that collapse at once unless durable, a new one a day or so
    later, no re-attack: the first truce collapses (p_durable_first = 0), and
    each later one is durable with chance p_durable, so the collapses are
    geometric, mean 1 / p, variance (1 - p) / p ** 2 (the horizon's ~1800
    episodes truncate nothing at p = 0.3)."""
    p = 0.3
    _, _, ds = simulate(make_config(BASELINE_GRID, fixed(
        lambda_c0=AT_ONCE, truce_scale=1e-9, lambda_retruce=1.0, p_durable=p, p_durable_first=0.0,
        lambda_a0=NEVER), runs=N_CLOSED, seed=seed))
    se = np.sqrt((1.0 - p) / p ** 2 / N_CLOSED)
    assert abs(scalar(ds.mean_collapses) - 1.0 / p) < 4.5 * se


def check_intercept_force(simulate, seed):
    """No ceasefire, immediate deployment at lag L: strikes ~ Poisson with
    mean (1 - intercept) sigma_war (L + (1 - i_F)(H - L)),
    i_F = intercept_force F / (F + f_scale); a force never deployed
    (after_ceasefire) stops nothing."""
    sigma, lag, horizon, force, f_scale, share, us = 2.0, 200.0, 1000, 10000, 5000.0, 0.6, 0.4
    grid = dict(BASELINE_GRID, force_size=[force], deploy_rule=["after_ceasefire", "immediate"],
                support=["none", "air_defense"])
    _, _, ds = simulate(make_config(grid, fixed(
        lambda_c0=NEVER, sigma_war=sigma, deploy_lag=lag, f_scale=f_scale, intercept_force=share,
        lambda_hit=0.0, **{"intercept.air_defense": us}), runs=N_CLOSED, seed=seed, horizon=horizon))
    i_force = share * force / (force + f_scale)
    for rule, stopped in (("after_ceasefire", 0.0), ("immediate", i_force)):
        for level, us_share in (("none", 0.0), ("air_defense", us)):
            lam = (1 - us_share) * sigma * (lag + (1 - stopped) * (horizon - lag))
            mean = scalar(ds.mean_strikes.sel(deploy_rule=rule, support=level))
            assert abs(mean - lam) < 4.5 * np.sqrt(lam / N_CLOSED), (rule, level, mean, lam)


def check_engage_collapse(simulate, seed):
    """A ceasefire at once, deployment at once (lag 0), truces that collapse
    at once and never return, no re-attack: fighting engages the force at
    T_c + Exp(engage_collapse * w(posture))."""
    engage, w_rear = 0.002, 0.4
    grid = dict(BASELINE_GRID, force_size=[10000], posture=["rear", "contact_line"])
    plan, _, ds = simulate(make_config(grid, fixed(
        lambda_c0=AT_ONCE, deploy_lag=0.0, truce_scale=1e-9, lambda_retruce=NEVER, lambda_a0=NEVER,
        engage_collapse=engage, w_rear=w_rear), runs=N_CLOSED, seed=seed))
    for posture, w in (("rear", w_rear), ("contact_line", 1.0)):
        p = ds.p_tripwire.sel(posture=posture).values.reshape(-1)
        assert_proportions(p, 1.0 - np.exp(-engage * w * plan.year_days), N_CLOSED)


def check_war_ceasefire_mult(simulate, seed):
    """Immediate deployment at lag L: the ceasefire hazard is c before L and
    c * war_ceasefire_mult after; deployment after the ceasefire leaves it c."""
    rate, mult, lag = 0.002, 2.5, 200.0
    grid = dict(BASELINE_GRID, force_size=[10000], deploy_rule=["after_ceasefire", "immediate"])
    _, tallies, ds = simulate(make_config(grid, fixed(
        lambda_c0=rate, nu=0.0, nu_now=0.0, deploy_lag=lag, war_ceasefire_mult=mult), runs=N_CLOSED, seed=seed))
    days = np.array([100, 200, 365, 730])
    piecewise = 1.0 - np.exp(-rate * np.minimum(days, lag) - rate * mult * np.maximum(days - lag, 0.0))
    for rule, expected in (("after_ceasefire", 1.0 - np.exp(-rate * days)), ("immediate", piecewise)):
        hist = ds.first_ceasefire_day.sel(deploy_rule=rule).values.reshape(-1, ds.sizes["day"])[0]
        assert_proportions(within(hist, days), expected, N_CLOSED)


# Kernel against reference: the compared estimates, each with its `_se`.
COMPARED = ("p_ceasefire", "p_deployed", "p_reattack", "p_tripwire", "mean_violations",
            "mean_strikes", "mean_truce_days", "mean_collapses", "diff_p_ceasefire",
            "diff_p_reattack", "diff_p_tripwire", "diff_mean_violations", "diff_mean_strikes",
            "p_reattack_after_ceasefire", "mean_war_days", "diff_mean_war_days", "p_war", "diff_p_war")


def assert_agree(a, b, z=5.0) -> int:
    """Every compared estimate of two independent simulations within z
    combined SEs sqrt(se_a**2 + se_b**2); returns how many were compared."""
    checked = 0
    for name in COMPARED:
        x, y = a[name].values, b[name].values
        se = np.sqrt(a[f"{name}_se"].values ** 2 + b[f"{name}_se"].values ** 2)
        ok = np.isfinite(x)
        assert np.array_equal(ok, np.isfinite(y)), name
        bad = ok & ~(np.abs(x - y) <= z * se)
        assert not bad.any(), (name, x[bad], y[bad], se[bad])
        checked += int(ok.sum())
    return checked


def assert_tallies_equal(a, b):
    """Two tallies equal field by field, bit for bit."""
    assert a.runs == b.runs
    for field in ARRAYS:
        assert (getattr(a, field) is None) == (getattr(b, field) is None), field
        assert getattr(a, field) is None or np.array_equal(getattr(a, field), getattr(b, field)), field


def with_choices(cfg, **choices):
    """The config with some of its [model] choices changed."""
    return dataclasses.replace(cfg, choices={**cfg.choices, **choices})


# Two levels on every axis: 32 options.
SMALL_GRID = {"force_size": [0, 25000], "posture": ["rear", "contact_line"],
              "deploy_rule": ["after_ceasefire", "immediate"], "support": ["none", "air_support"],
              "leverage": ["status_quo", "assets_and_aid"]}


# Small results for the report tests: tests/data/small.toml (every axis but
# posture varying; with runs_per_draw = 10, the nested design's parameter
# intervals) and tests/data/collapsed.toml (one value per axis except
# force, and a horizon under two years).
def run_result(tmp_path_factory, name: str, **study) -> xr.Dataset:
    """Run the study tests/data/<name>.toml (some [study] values replaced)
    and return its result, loaded, without sensitivity indices."""
    folder = tmp_path_factory.mktemp(name)
    cfg = write_study(folder / f"{name}.toml", name, **study)
    out = folder / f"{name}.nc"
    assert main(["run", str(cfg), "--runs", "2000", "--workers", "1", "--out", str(out)]) == 0
    with xr.open_dataset(out) as ds:
        ds = ds.load()
    # Whatever this version of `run` writes, start without sensitivity indices.
    return ds.drop_vars([v for v in ("sensitivity", "sensitivity_bin_mean") if v in ds.data_vars])


def with_sensitivity(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with made-up sensitivity indices: `delta_force` leads at 0.6."""
    outcomes = list(SENSITIVITY_OUTCOMES)
    parameters = [f"p{k}" for k in range(15)] + ["truce_scale", "delta_force", "intercept.air_defense"]
    shape = tuple(ds.sizes[a] for a in AXES) + (len(outcomes), len(parameters))
    values = np.random.default_rng(0).uniform(0, 0.05, size=shape)
    values[..., parameters.index("delta_force")] = 0.6   # the clear leader
    values[..., 0, 0] = np.nan                            # undefined indices are skipped
    da = xr.DataArray(values, dims=AXES + ("outcome", "parameter"),
                      coords={**{a: ds[a] for a in AXES}, "outcome": outcomes, "parameter": parameters})
    return ds.assign(sensitivity=da)


ROOT = Path(__file__).resolve().parents[1]


def fresh_python(code: str, timeout: float = 120, **env) -> subprocess.CompletedProcess:
    """``code`` run by a fresh interpreter in the project root, this checkout
    first on its path (plus ``env``): what a new process imports and prints."""
    environ = {**os.environ, **env, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=environ,
                          timeout=timeout)
