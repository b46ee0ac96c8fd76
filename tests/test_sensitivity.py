"""Sensitivity indices recover known answers.

The binned first-order index of single-run outcomes in a result
(``results.build``) against quadrature; and the Sobol indices of expected
outcomes E[Y | theta] (``deterrence.sensitivity``): the same estimator as
SALib's on the same replayed sample, exact indices of a closed form by
quadrature, and a decisive parameter ranked first.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import fixed, make_config
from SALib.analyze import sobol as salib_sobol
from scipy import integrate, special, stats

from deterrence import config, priors, results, runner, sensitivity, trace
from deterrence.cli import main
from deterrence.model import PARAMETER_NAMES, SENSITIVITY_BINS
from deterrence.plan import make_plan

LAMBDA_C0 = 1 / 60.0
DAYS = 730  # the sensitivity outcomes are "within two years"


def one_uncertain_parameter(runs, seed):
    raw = {"study": {"name": "sens", "runs": runs, "seed": seed, "block_runs": 20_000},
           "grid": {"force_size": [0, 5000], "posture": ["contact_line"], "deploy_rule": ["after_ceasefire"],
                    "support": ["none"], "leverage": ["status_quo"]}}
    base = config.parse(raw)
    raw["priors"] = {p.name: {"dist": "fixed", "value": priors.summary(p)[0]} for p in base.priors}
    raw["priors"]["lambda_c0"] = {"dist": "fixed", "value": LAMBDA_C0}
    raw["priors"]["e_collapse"] = {"dist": "fixed", "value": 1.0}
    raw["priors"]["lambda_a0"] = {"dist": "gamma", "shape": 1.0, "scale": 0.002}
    return config.parse(raw)


def p_reattack(lam_a):
    """P(T_c + T_a < DAYS) with no force: hypo-exponential (rates differ a.s.)."""
    a, b = LAMBDA_C0, lam_a
    return 1 - (b * np.exp(-a * DAYS) - a * np.exp(-b * DAYS)) / (b - a)


def binned_index(prior):
    """Var over prior deciles of E[Y | decile] / Var(Y), by quadrature."""
    dist = priors.distribution(prior)
    edges = dist.ppf(np.linspace(0, 1, SENSITIVITY_BINS + 1))
    means = [integrate.quad(lambda x: p_reattack(x) * dist.pdf(x), lo, hi, limit=200)[0] * SENSITIVITY_BINS
             for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    overall = np.mean(means)
    return np.mean((np.array(means) - overall) ** 2) / (overall * (1 - overall))


def test_single_parameter_index_matches_quadrature():
    cfg = one_uncertain_parameter(runs=200_000, seed=17)
    plan = make_plan(cfg)
    assert list(plan.sensitivity_parameters) == [cfg.priors.index(cfg.prior("lambda_a0"))]
    # Ten independent batches of runs give the Monte Carlo standard error.
    estimates = []
    for start, stop in plan.blocks:
        tallies = runner.run_block(plan, start, stop)
        ds = results.build(cfg, make_plan(cfg), tallies)
        estimates.append(float(ds.sensitivity.sel(force_size=0, outcome="reattack_2y").squeeze()))
    total = runner.run_local(plan, workers=2, show_progress=False)
    ds = results.build(cfg, plan, total)
    estimate = float(ds.sensitivity.sel(force_size=0, outcome="reattack_2y").squeeze())
    se = np.std(estimates, ddof=1) / np.sqrt(len(estimates))
    truth = binned_index(cfg.prior("lambda_a0"))
    assert 0.1 < truth < 0.6  # the parameter matters: a meaningful check
    print(f"index {estimate:.4f} quadrature {truth:.4f} se {se:.4f}")
    assert abs(estimate - truth) < 4 * se, (estimate, truth, se)
    # The ceasefire does not depend on lambda_a0: its index is noise around 0.
    assert float(ds.sensitivity.sel(force_size=0, outcome="ceasefire_2y").squeeze()) < 4 * se


def test_fixed_parameters_have_no_index():
    cfg = one_uncertain_parameter(runs=2_000, seed=1)
    ds = results.build(cfg, plan := make_plan(cfg), runner.run_local(plan, show_progress=False))
    assert list(ds.parameter.values) == ["lambda_a0"]
    assert ds.sensitivity_bin_mean.sizes["decile"] == SENSITIVITY_BINS
    assert np.nanmin(ds.sensitivity.values) >= 0
    assert np.isnan(ds.sensitivity.sel(force_size=0, outcome="deployed_2y")).all()  # never deployed: no variance


# --------------------------------------------- Sobol indices of E[Y | theta]

# Two uncertain parameters and an option without a force: P(ceasefire within
# two years | theta) = 1 - exp(-lambda_c0 * leverage_mult * 730) exactly
# (kernels.option_history: the ceasefire rate of an option without a force is
# lambda_c0 times its leverage multiplier).
CEASEFIRE_SHAPE, CEASEFIRE_SCALE = 2.0, 0.0008
LEVERAGE_MEDIAN, LEVERAGE_SIGMA = 1.3, 0.5
TWO_YEARS = 730


def two_uncertain():
    table = fixed()
    table["lambda_c0"] = {"dist": "gamma", "shape": CEASEFIRE_SHAPE, "scale": CEASEFIRE_SCALE}
    table["leverage_mult.assets_and_aid"] = {"dist": "lognormal", "median": LEVERAGE_MEDIAN,
                                             "sigma": LEVERAGE_SIGMA}
    return make_config(priors=table, seed=7)


def decisive():
    """A rear force after the ceasefire against the baseline, with the veto's
    exponent nu and three force parameters uncertain (their default priors)."""
    table = fixed()
    table["nu"] = {"dist": "gamma", "shape": 1.0, "scale": 1.0}
    table["delta_force"] = {"dist": "gamma", "shape": 1.5, "scale": 0.3}
    table["w_rear"] = {"dist": "beta", "a": 2.0, "b": 4.0}
    table["deploy_lag"] = {"dist": "gamma", "shape": 4.0, "scale": 15.0}
    cfg = make_config(priors=table, seed=11)
    return cfg, trace.parse_option("force_size=5000,posture=rear,deploy_rule=after_ceasefire", cfg.study.baseline)


def exact_two_parameter_indices():
    """(S1, ST) of lambda_c0 and leverage_mult by quadrature over the two
    priors' uniforms; the inverse CDFs written from scipy.special, apart
    from the implementation's."""
    def f(u1, u2):
        rate = CEASEFIRE_SCALE * special.gammaincinv(CEASEFIRE_SHAPE, u1)
        multiplier = LEVERAGE_MEDIAN * np.exp(LEVERAGE_SIGMA * special.ndtri(u2))
        return -np.expm1(-rate * multiplier * TWO_YEARS)

    def given_first(u1):
        return integrate.quad(lambda u2: f(u1, u2), 0, 1)[0]

    def given_second(u2):
        return integrate.quad(lambda u1: f(u1, u2), 0, 1)[0]

    mean = integrate.quad(given_first, 0, 1)[0]
    variance = integrate.dblquad(lambda u2, u1: f(u1, u2) ** 2, 0, 1, 0, 1)[0] - mean**2
    v1 = integrate.quad(lambda u: given_first(u) ** 2, 0, 1)[0] - mean**2
    v2 = integrate.quad(lambda u: given_second(u) ** 2, 0, 1)[0] - mean**2
    return np.array([v1, v2]) / variance, 1 - np.array([v2, v1]) / variance


def test_design_is_salibs_layout():
    """Each column of the unit design, cut by SALib's own reader of its
    layout, gives A, B and AB^i = A with column i from B."""
    d, draws = 3, 5
    unit = sensitivity.unit_design(draws, d, seed=1)
    blocks = unit.reshape(draws, d + 3, d)
    assert np.array_equal(blocks[:, 0], blocks[:, d + 2])       # A', the repeated rows
    salib_rows = blocks[:, :d + 2].reshape(-1, d)
    for k in range(d):
        a, b, ab, _ = salib_sobol.separate_output_values(salib_rows[:, k], d, draws, False)
        for i in range(d):
            assert np.array_equal(ab[:, i], b if i == k else a)
        assert not np.array_equal(a, b)
    assert 0 < unit.min() and unit.max() < 1


def test_parameters_by_inverse_cdf():
    cfg = config.load(Path(__file__).parents[1] / "configs" / "laptop.toml")
    names = sensitivity.uncertain(cfg)
    assert "lambda_a0" in names and "leverage_mult.sanctions" in names and "f_veto" not in names
    unit = sensitivity.unit_design(4, len(names), seed=2)
    theta = sensitivity.parameters(cfg, unit)
    for j, name in enumerate(names):
        prior, column = cfg.prior(name), theta[:, PARAMETER_NAMES.index(name)]
        if prior.dist == "gamma_exposure":
            exposure = prior.get("truce_days") + theta[:, PARAMETER_NAMES.index("e_collapse")] * prior.get("gap_days")
            np.testing.assert_allclose(column, stats.gamma(prior.get("shape")).ppf(unit[:, j]) / exposure)
        else:
            np.testing.assert_allclose(column, priors.distribution(prior).ppf(unit[:, j]))
    for prior in cfg.priors:
        if prior.dist == "fixed":
            assert (theta[:, PARAMETER_NAMES.index(prior.name)] == prior.get("value")).all()


def test_estimator_without_noise_correction_is_salibs():
    cfg, option = decisive()
    d = len(sensitivity.uncertain(cfg, "reattack_2y"))
    _, y = sensitivity.evaluate(cfg, option, cfg.study.baseline, "reattack_2y", draws=64, runs_per_draw=10,
                                show_progress=False)
    first, total, _, noise = sensitivity.estimate(y, corrected=False)
    assert noise == 0
    problem = {"num_vars": d, "names": sensitivity.uncertain(cfg, "reattack_2y"), "bounds": [[0.0, 1.0]] * d}
    found = salib_sobol.analyze(problem, y[:, :d + 2].ravel(), calc_second_order=False, seed=1)
    np.testing.assert_allclose(first, found["S1"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(total, found["ST"], rtol=1e-12, atol=1e-12)


def test_two_parameter_closed_form():
    """Within 4 bootstrap standard errors of the exact indices; without the
    noise correction the same sample misses them (10 runs a row: the noise
    is a quarter of the variance)."""
    cfg = two_uncertain()
    option = trace.parse_option("force_size=0,leverage=assets_and_aid", cfg.study.baseline)
    assert sensitivity.uncertain(cfg) == ["lambda_c0", "leverage_mult.assets_and_aid"]
    _, y = sensitivity.evaluate(cfg, option, None, "ceasefire_2y", draws=4000, runs_per_draw=10,
                                show_progress=False)
    first, total, _, noise = sensitivity.estimate(y)
    boot_first, boot_total = sensitivity.bootstrap(y)
    se = np.r_[boot_first.std(axis=0, ddof=1), boot_total.std(axis=0, ddof=1)]
    exact = np.r_[exact_two_parameter_indices()]
    found = np.r_[first, total]
    print("exact", exact, "found", found, "se", se, "noise", noise)
    assert (np.abs(found - exact) < 4 * se).all(), (found, exact, se)
    raw = np.r_[sensitivity.estimate(y, corrected=False)[:2]]
    assert (np.abs(raw - exact) > 4 * se).any(), (raw, exact, se)


def test_decisive_parameter_ranks_first():
    """The veto's exponent moves the force's expected effect on re-attack
    several-fold across its prior deciles: it ranks first, its total index
    interval above every other's."""
    cfg, option = decisive()
    result = sensitivity.indices(cfg, option, cfg.study.baseline, "reattack_2y", draws=300, runs_per_draw=50,
                                 show_progress=False)
    unit, y = sensitivity.evaluate(cfg, option, cfg.study.baseline, "reattack_2y", draws=300, runs_per_draw=50,
                                   show_progress=False)
    nu = result.names.index("nu")
    decile = np.floor(10 * unit[::len(result.names) + 3, nu]).astype(int)
    by_decile = [y[decile == k, 0].mean() for k in (0, 9)]
    assert by_decile[1] < 3 * by_decile[0] < 0, by_decile      # a cut at least three times larger
    assert result.ranked()[0] == nu
    assert np.argmax(result.first) == nu
    others = [i for i in range(len(result.names)) if i != nu]
    assert result.total_interval[nu, 0] > result.total_interval[others, 1].max()


LAPTOP = Path(__file__).parents[1] / "configs" / "laptop.toml"


def test_cli_table_json_and_figure(tmp_path, capsys):
    args = ["sensitivity", str(LAPTOP), "--a", "force_size=5000,posture=rear", "--draws", "50",
            "--runs-per-draw", "20"]
    assert main([*args, "--json", "--out", str(tmp_path / "s.png")]) == 0
    found = json.loads(capsys.readouterr().out)
    names = sensitivity.uncertain(config.load(LAPTOP), "war_days")
    assert found["vs"]["force_size"] == 0 and found["option"]["force_size"] == 5000
    assert found["outcome"] == "war_days" and found["runs"] == 50 * (len(names) + 3) * 20
    assert sorted(r["parameter"] for r in found["indices"]) == sorted(names)
    # Strike rates and interception cannot reach days at war: left out, listed as unreachable.
    assert "sigma_war" in found["unreachable"] and "intercept.air_defense" in found["unreachable"]
    assert not set(found["unreachable"]) & set(names)
    totals = [r["ST"] for r in found["indices"]]
    assert totals == sorted(totals, reverse=True)
    assert all(r["ST_interval"][0] <= r["ST_interval"][1] for r in found["indices"])
    assert (tmp_path / "s.png").stat().st_size > 0
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "force_size=5000,posture=rear" in out and all(name in out for name in names)


@pytest.mark.parametrize("extra, words", [
    (["--outcome", "reattack_3y"], "--outcome"),
    (["--outcome", "violations_2y"], "--outcome"),
    (["--draws", "1"], "--draws"),
    (["--b", "posture=sideways"], "posture"),
    (["--outcome", "deployed_2y", "--a", "force_size=0", "--alone", "--draws", "10", "--runs-per-draw", "5"],
     "raise --draws"),     # never deployed: nothing varies
])
def test_cli_user_mistakes(extra, words, capsys):
    assert main(["sensitivity", str(LAPTOP), "--a", "force_size=5000", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err


def test_indices_told_apart_from_noise_and_unreachable_ones_are_marked():
    """No computing: an index whose interval includes zero is listed apart
    and left out of the figure; unreachable parameters are named, index 0."""
    names = ("nu", "lambda_c0", "w_rear")
    result = sensitivity.Indices(
        config.Study.baseline, None, "reattack_2y", 10, 10, names, np.array([0.5, 0.2, 0.01]),
        np.array([0.6, 0.3, 0.02]), np.zeros(3), np.zeros(3),
        np.array([[0.4, 0.6], [0.1, 0.3], [-0.01, 0.03]]), np.array([[0.5, 0.7], [0.2, 0.4], [-0.02, 0.05]]),
        0.1, 0.01, 0.001, ("sigma_war", "intercept.air_defense"))
    assert list(result.distinct()) == [True, True, False]
    assert sensitivity.shown(result) == [0, 1]
    text = sensitivity.table(result)
    told, noise = text.split("ST interval includes zero")
    assert "nu" in told and "lambda_c0" in told and "w_rear" not in told and "w_rear" in noise
    assert "cannot reach reattack_2y" in noise and "sigma_war, intercept.air_defense" in noise
    found = json.loads(sensitivity.to_json(result))
    assert [r["distinct_from_zero"] for r in found["indices"]] == [True, True, False]
    assert found["unreachable"] == ["sigma_war", "intercept.air_defense"]
    assert sensitivity.uncertain(config.load(LAPTOP), "reattack_2y") == [
        n for n in sensitivity.uncertain(config.load(LAPTOP)) if n not in sensitivity.unreachable(
            config.load(LAPTOP), "reattack_2y")]
    assert "mu_war" in sensitivity.unreachable(config.load(LAPTOP), "strikes")
