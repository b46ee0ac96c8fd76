"""deterrence compare: paired contrasts of two options, or of one option
under two configs, on the same runs."""

import dataclasses
import json

import numpy as np
import pytest
import xarray as xr
from helpers import BASELINE_GRID, fixed
from scipy import stats

from deterrence import compare, config, epistemic, outcomes, runner
from deterrence.cli import main
from deterrence.model import AXES, INDICATORS, PAIRED_COUNTS, YEARS
from deterrence.plan import make_plan

Z = 4.0
A = "force_size=5000,posture=contact_line,leverage=assets_and_aid"

STUDY = """\
[study]
name = "pair"
runs = 4000
seed = {seed}
horizon_days = {horizon}
block_runs = 1000
runs_per_draw = {runs_per_draw}
{extra}
[grid]
force_size = [0, 5000]
posture = ["rear", "contact_line"]
deploy_rule = ["after_ceasefire", "immediate"]
support = ["none"]
leverage = ["status_quo", "assets_and_aid"]
"""


def write(path, seed=11, horizon=1826, runs_per_draw=20, extra=""):
    path.write_text(STUDY.format(seed=seed, horizon=horizon, runs_per_draw=runs_per_draw, extra=extra))
    return path


def run_json(capsys, *args) -> dict:
    assert main(["compare", *map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("runs_per_draw", [1, 20])
def test_against_the_baseline_equals_a_run_bit_for_bit(tmp_path, capsys, runs_per_draw):
    """--b left out (the baseline): the paired tallies are those of option
    A in a run of the config, and so are the effects, their standard
    errors, parameter quantiles and p_better."""
    path = write(tmp_path / "pair.toml", runs_per_draw=runs_per_draw)
    cfg = config.load(path)
    option = compare.parse_option(A, cfg.study.baseline)
    pair = compare.option_pair(cfg, option, cfg.study.baseline, show_progress=False)
    plan = make_plan(cfg)
    total = runner.run_local(plan, show_progress=False)
    row = plan.grid_rows[cfg.options.index(option)]
    assert pair.runs == total.runs == 4000
    assert np.array_equal(pair.paired, total.paired[row])
    assert np.array_equal(pair.draw_diff, total.draw_diff[row])
    assert np.array_equal(pair.draw_hist, total.draw_hist[[row, -1]])

    out = tmp_path / "pair.nc"
    assert main(["run", str(path), "--out", str(out), "--workers", "2"]) == 0
    capsys.readouterr()
    found = run_json(capsys, path, "--a", A)
    assert found["b_is_baseline"] == 1 and found["runs_per_draw"] == runs_per_draw
    with xr.open_dataset(out) as ds:
        ds = ds.sel({a: getattr(option, a) for a in AXES})
        for o in outcomes.events():
            for y, years in enumerate(YEARS):
                got = found["outcomes"][f"{o.name}_{years}y"]
                assert got["diff"] == float(ds[f"diff_p_{o.name}"].isel(years=y))
                assert got["a"] == float(ds[f"p_{o.name}"].isel(years=y))
                if runs_per_draw > 1:
                    assert got["diff_se"] == float(ds[f"diff_p_{o.name}_se"].isel(years=y))
                    assert list(got["diff_q"].values()) == list(ds[f"diff_p_{o.name}_q"].isel(years=y).values)
                else:
                    assert got["diff_se"] == pytest.approx(float(ds[f"diff_p_{o.name}_se"].isel(years=y)),
                                                           rel=1e-12)
        for o in compare.COUNTS:
            assert found["outcomes"][o.name]["diff"] == float(ds[f"diff_mean_{o.name}"])
            # Both bound the error over draws by the per-run error times
            # sqrt(runs per draw), as the run does for mean_*_se.
            assert found["outcomes"][o.name]["diff_se"] == pytest.approx(
                float(ds[f"diff_mean_{o.name}_se"]), rel=1e-12)
        if runs_per_draw > 1:
            assert found["p_better"] == float(ds.p_better)
            assert found["p_better_se"] == float(ds.p_better_se)
        else:
            assert found["p_better"] is None and "p_better" not in ds


def test_two_copies_of_a_study_pair_as_two_options(tmp_path):
    """--config-b naming the same study: run-by-run pairing (kernels.replay_runs
    and NumPy) gives the tallies of the study with grid {A}, baseline B, bit
    for bit, for any worker count."""
    cfg = config.load(write(tmp_path / "pair.toml"))
    a = compare.parse_option(A, cfg.study.baseline)
    b = compare.parse_option("force_size=0,leverage=assets_and_aid", cfg.study.baseline)
    options = compare.option_pair(cfg, a, b, show_progress=False)
    for workers in (1, 2):
        studies = compare.study_pair(cfg, a, cfg, b, workers=workers, show_progress=False)
        for name in ("runs", "draw_hist", "draw_diff", "paired", "count_sums"):
            assert np.array_equal(getattr(options, name), getattr(studies, name)), name
    one = compare.compare(cfg, a, b, show_progress=False)
    two = compare.compare(cfg, a, b, config_b=cfg, show_progress=False)
    assert one.drop_attrs().identical(two.drop_attrs())


def test_pair_blocks_add_up_whatever_the_blocks(tmp_path, monkeypatch):
    cfg = config.load(write(tmp_path / "pair.toml"))
    a = compare.parse_option(A, cfg.study.baseline)
    first = compare.study_pair(cfg, a, cfg, cfg.study.baseline, show_progress=False)
    monkeypatch.setattr(compare, "PAIR_BLOCK_RUNS", 60)      # blocks of 60 runs: 3 draws
    second = compare.study_pair(cfg, a, cfg, cfg.study.baseline, workers=2, show_progress=False)
    for name in ("draw_hist", "draw_diff", "paired", "count_sums"):
        assert np.array_equal(getattr(first, name), getattr(second, name)), name


def test_veto_forms_against_the_closed_form():
    """A force of F under [model] veto = "power" against the same force
    under "threshold", lambda_c0 ~ Gamma(k, s) and the rest fixed: on the
    same runs the ceasefire comes at E_c / (lambda_c0 v) with v = (1 + F /
    f_veto) ** -nu or veto_floor, so the effect within d days is
    exp(-lambda v_t d) - exp(-lambda v_p d), whose mean over the prior is
    (1 + s v_t d) ** -k - (1 + s v_p d) ** -k; and every run the power
    form brings a ceasefire to, the threshold form does too (v_p < v_t),
    so a draw's count difference is -Binomial(n, effect): its quantiles
    have a population the estimator can be checked against."""
    shape, scale, force, nu, f_veto, floor = 2.0, 0.002, 20000, 1.0, 10000.0, 0.8
    priors = {**fixed(nu=nu, f_veto=f_veto, veto_floor=floor),
              "lambda_c0": {"dist": "gamma", "shape": shape, "scale": scale}}
    n, draws = 50, 400

    def study(veto):
        raw = {"study": {"name": veto, "runs": n * draws, "seed": 5, "block_runs": 5000, "runs_per_draw": n},
               "model": {"veto": veto}, "grid": BASELINE_GRID, "priors": priors}
        return dataclasses.replace(config.parse(raw), path=f"{veto}.toml")

    ds = compare.compare(study("power"), f"force_size={force}", config_b=study("threshold"), show_progress=False)
    assert ds.attrs["a"] == ds.attrs["b"] and ds.attrs["config_b"] == "threshold.toml"
    v_power, v_threshold = (1.0 + force / f_veto) ** -nu, floor
    days = np.array([365, 730, 1826])
    expected = (1 + scale * v_threshold * days) ** -shape - (1 + scale * v_power * days) ** -shape
    diff = ds["diff"].values[:len(YEARS)]
    assert np.all(np.abs(diff - expected) < Z * ds["diff_se"].values[:len(YEARS)]), (diff, expected)
    # The power form's 2-year re-attack risk is always lower here, because it
    # delays the ceasefire more: so it has more days at war under every draw.
    assert float(ds.p_better_by_outcome.sel(outcome="reattack_2y")) == 1.0
    assert float(ds.p_better) == 0.0 and ds.attrs["p_better_outcome"] == "war_days"

    rates = stats.gamma(shape, scale=scale).ppf((np.arange(20_000) + 0.5) / 20_000)
    values = epistemic.difference_values(n)
    for y, d in enumerate(days):
        effect = np.exp(-rates * v_threshold * d) - np.exp(-rates * v_power * d)
        truth = np.quantile(effect, epistemic.QUANTILES)
        population = np.zeros(2 * n + 1)
        population[:n + 1] = stats.binom.pmf(np.arange(n + 1)[None, :], n, -effect[:, None]).mean(axis=0)[::-1]
        population *= 1e9
        noise = epistemic.difference_noise(population, n, 1e9 * n * float(np.mean(-effect)))
        residual = epistemic.shrunk_quantiles(population, values, noise) - truth
        q, q_se = ds["diff_q"].values[y], ds["diff_q_se"].values[y]
        assert np.all(np.abs(q - truth) < Z * q_se + np.abs(residual)), (d, q, truth, q_se, residual)


def test_table_names_simulation_noise_and_the_parameter_interval(tmp_path, capsys):
    path = write(tmp_path / "pair.toml", horizon=600)
    assert main(["compare", str(path), "--a", A, "--b", "force_size=0", "--runs", "4000"]) == 0
    out = capsys.readouterr().out
    assert "simulation noise" in out and "90% interval" in out and "p_better on days at war" in out
    assert "P(re-attack within 2 y)" in out and "beyond the horizon" in out and "mean days at war" in out
    # 100 parameter draws: too few for the interval and p_better (epistemic.MIN_DRAWS).
    assert main(["compare", str(path), "--a", A, "--runs", "2000"]) == 0
    out = capsys.readouterr().out
    assert "90% interval" not in out and "not yet estimable: 100 parameter draws" in out
    assert main(["compare", str(path), "--a", A, "--runs-per-draw", "1", "--runs", "2000"]) == 0
    out = capsys.readouterr().out
    assert "90% interval" not in out and "--runs-per-draw" in out
    found = run_json(capsys, path, "--a", A, "--runs", "2000")
    assert set(found["outcomes"]) == set(compare.outcome_names())
    assert len(found["outcomes"]) == len(INDICATORS) * len(YEARS) + len(PAIRED_COUNTS)
    assert found["outcomes"]["reattack_5y"]["diff"] is None          # 5 years lie beyond 600 days
    assert found["p_better_outcome"] == "war_days"
    assert found["p_better"] == found["outcomes"]["war_days"]["p_better"]
    assert found["outcomes"]["deployed_2y"]["p_better"] is None      # no direction
    one = run_json(capsys, path, "--a", A, "--runs", "2000", "--outcome", "reattack_2y")
    assert list(one["outcomes"]) == ["reattack_2y"]
    assert one["outcomes"]["reattack_2y"] == found["outcomes"]["reattack_2y"]


@pytest.mark.parametrize("args, message", [
    (["--a", "force=5000"], "unknown key 'force' in --a; did you mean 'force_size'?"),
    (["--a", "force_size=5000", "--b", "posture=front"], "--b.posture has unknown value 'front'"),
    (["--a", "force_size=5000", "--b", "posture"], "--b 'posture': write axis=level pairs"),
    (["--a", "force_size=5000", "--runs", "1010"], "--runs (1,010) must be a multiple of study.runs_per_draw (20)"),
    (["--a", "force_size=5000", "--runs-per-draw", "0"], "--runs-per-draw: expected a whole number from 1 to 10,000"),
    (["--a", "force_size=5000", "--runs-per-draw", "30"], "must be a multiple of study.runs_per_draw (30)"),
    (["--a", "force_size=5000", "--workers", "0"], "--workers: expected a whole number from 1"),
    (["--a", "force_size=5000", "--config-b", "SEED"], "study.seed is 12"),
    (["--a", "force_size=5000", "--config-b", "HORIZON"], "study.horizon_days is 900"),
    (["--a", "force_size=5000", "--config-b", "DRAWS"], "study.runs_per_draw is 40"),
    (["--a", "force_size=5000", "--config-b", "missing.toml"], "cannot read config"),
])
def test_mistakes_are_one_line(tmp_path, capsys, args, message):
    path = write(tmp_path / "pair.toml")
    others = {"SEED": write(tmp_path / "seed.toml", seed=12), "HORIZON": write(tmp_path / "horizon.toml", horizon=900),
              "DRAWS": write(tmp_path / "draws.toml", runs_per_draw=40)}
    args = [str(others.get(x, tmp_path / x if x.endswith(".toml") else x)) for x in args]
    try:
        code = main(["compare", str(path), *args])
    except SystemExit as stop:  # argparse's usage errors
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_draws_of_differing_runs_pair_when_runs_per_draw_is_given(tmp_path):
    """--runs-per-draw sets both studies' draws: configs that differ there pair."""
    a = write(tmp_path / "a.toml", runs_per_draw=20)
    b = write(tmp_path / "b.toml", runs_per_draw=40)
    ds = compare.compare(a, "force_size=5000", config_b=b, runs_per_draw=10, runs=1000, show_progress=False)
    assert ds.attrs["runs_per_draw"] == 10 and ds.attrs["parameter_draws"] == 100
    # The same option under two copies of one study: no difference at all.
    assert np.all(ds["diff"].fillna(0.0).values == 0.0) and np.all(ds["diff_se"].fillna(0.0).values == 0.0)
