"""deterrence decide: expected loss, regret, EVPI, EVPPI and switching values
against exact answers.

The closed form: two options without a force, status quo and seized assets
+ aid, no re-attack (lambda_a0 next to 0, delta_aid 0), and a loss of 1 for
being at war at 5 years, i.e. no ceasefire within d = 1826 days. With
lambda = lambda_c0 and m = leverage_mult.assets_and_aid the conditional
losses are exp(-lambda d) and exp(-lambda m d): the leverage is the better
choice exactly when m > 1 (switching value 1), whatever lambda. With
lambda ~ U(0.3 / d, 2 / d) and m ~ lognormal(1.5, 0.5) the expected losses,
the EVPI = min_a E[L_a] - E[exp(-lambda d max(1, m))], EVPPI(m) = EVPI and
EVPPI(lambda) = 0 (the leverage stays better on average at every lambda)
follow by quadrature. Tolerances are 4 Monte Carlo errors.
"""

import dataclasses
import json

import numpy as np
import pytest
from helpers import fixed
from scipy import integrate, stats

from deterrence import UserError, config, decide, replay
from deterrence.cli import main
from deterrence.config import DECISION_WEIGHTS
from deterrence.model import PAIRED_COUNTS, TRUCE_DAYS_UNIT

Z = 4.0
DAYS_5Y = 1826
LOW, HIGH = 0.3 / DAYS_5Y, 2.0 / DAYS_5Y     # lambda_c0 ~ U(LOW, HIGH), per day
MEDIAN, SIGMA = 1.5, 0.5                      # leverage_mult.assets_and_aid ~ lognormal
LEVERAGE = "leverage_mult.assets_and_aid"
ONLY_WAR = {"war_years": 0.0, "reattack_2y": 0.0, "tripwire_2y": 0.0, "strikes_per_1000": 0.0, "war_5y": 1.0}
CLOSED = config.parse({
    "study": {"name": "decide", "runs": 1000, "seed": 20270101, "horizon_days": DAYS_5Y},
    "grid": {"force_size": [0], "posture": ["rear"], "deploy_rule": ["after_ceasefire"], "support": ["none"],
             "leverage": ["status_quo", "assets_and_aid"]},
    "priors": {**fixed(lambda_a0=1e-12, delta_aid=0.0),
               "lambda_c0": {"dist": "uniform", "low": LOW, "high": HIGH},
               LEVERAGE: {"dist": "lognormal", "median": MEDIAN, "sigma": SIGMA}},
    "decision": ONLY_WAR,
})
DRAWS, RUNS_PER_DRAW = 1000, 50


def expect(f) -> float:
    """E[f(lambda, m)] under the two priors, by quadrature."""
    m, lam = stats.lognorm(SIGMA, scale=MEDIAN), stats.uniform(LOW, HIGH - LOW)
    return integrate.dblquad(lambda mm, x: f(x, mm) * m.pdf(mm) * lam.pdf(x), LOW, HIGH, 0.0, np.inf,
                             epsabs=1e-11)[0]


@pytest.fixture(scope="module")
def closed():
    """The closed-form study decided on one and on two worker threads."""
    return [decide.decide(CLOSED, CLOSED.options, DRAWS, RUNS_PER_DRAW, workers=w, show_progress=False)
            for w in (1, 2)]


def test_closed_form(closed):
    found = closed[0]
    status_quo = stats.uniform(LOW, HIGH - LOW).expect(lambda x: np.exp(-x * DAYS_5Y))
    leverage = expect(lambda x, m: np.exp(-x * m * DAYS_5Y))
    evpi = min(status_quo, leverage) - expect(lambda x, m: np.exp(-x * DAYS_5Y * max(1.0, m)))
    assert abs(found.expected_loss - [status_quo, leverage]).max() <= Z * found.expected_loss_se.min()
    assert found.best == 1 and leverage < status_quo
    assert abs(found.evpi - evpi) <= Z * found.evpi_se
    # Every run ranks the options as its draw's conditional losses do: no noise bias to correct.
    assert found.evpi_plugin == pytest.approx(found.evpi, rel=0, abs=1e-12)
    assert found.regret[1] == pytest.approx(found.evpi)
    info = {i.parameter: i for i in found.information}
    assert set(info) == {"lambda_c0", LEVERAGE}
    # m decides the choice alone: its EVPPI is the EVPI, and the curves cross at m = 1.
    m = info[LEVERAGE]
    assert abs(m.evppi - evpi) <= Z * m.evppi_se
    assert len(m.switches) == 1 and {m.switches[0].before, m.switches[0].after} == {0, 1}
    assert abs(m.switches[0].value - 1.0) <= Z * m.switch_se
    # lambda cannot change it: E[L_leverage | lambda] < L_status_quo(lambda) over its whole range.
    prior = stats.lognorm(SIGMA, scale=MEDIAN)
    gaps = [prior.expect(lambda mm, x=x: np.exp(-x * mm * DAYS_5Y)) - np.exp(-x * DAYS_5Y)
            for x in np.linspace(LOW, HIGH, 25)]
    assert max(gaps) < 0
    assert info["lambda_c0"].evppi <= Z * found.evpi_se and not info["lambda_c0"].switches


def test_same_bits_for_any_worker_count(closed):
    """Every number of the decision (JSON writes floats exactly), on one thread and on two."""
    one, two = (json.loads(decide.to_json(dataclasses.replace(found, seconds=0.0))) for found in closed)
    assert one == two


def test_halves_add_up_to_the_study_draws():
    """A draw's two halves are exactly the draw of a study with runs_per_draw runs."""
    options = CLOSED.options
    theta, halves = decide.half_losses(CLOSED, options, 40, 20, show_progress=False)
    whole = replay.replay(CLOSED, options, 40, runs_per_draw=20, show_progress=False)
    assert np.array_equal(theta, whole.theta)
    assert np.allclose(halves.mean(axis=1), decide.loss(whole, CLOSED.decision), rtol=0, atol=1e-12)


def test_noise_correction_and_regression_on_known_losses():
    """Losses theta and 0.45 with independent noise (sd 0.2 in each half),
    theta ~ U(0, 1): EVPI = EVPPI(theta) = 0.45 - E[min(theta, 0.45)] =
    0.45 ** 2 / 2, switching value 0.45, and an unrelated parameter worth
    nothing. The plug-in EVPI is biased up by about 0.2 ** 2 / 2; the
    correction removes it."""
    gen = np.random.default_rng(5)
    draws, noise, cut = 5000, 0.2, 0.45
    theta = gen.uniform(0.0, 1.0, (draws, 2))
    true = np.stack([theta[:, 0], np.full(draws, cut)], axis=1)
    found = decide.analyse(theta, true[:, None, :] + gen.normal(0.0, noise, (draws, 2, 2)), {"theta": 0, "other": 1},
                           show_progress=False)
    evpi = cut ** 2 / 2
    assert abs(found.evpi - evpi) <= Z * found.evpi_se
    assert found.evpi_plugin - evpi > Z * found.evpi_se
    info = {i.parameter: i for i in found.information}
    assert abs(info["theta"].evppi - evpi) <= Z * info["theta"].evppi_se
    assert abs(info["theta"].switches[0].value - cut) <= Z * info["theta"].switch_se
    assert info["other"].evppi <= Z * found.evpi_se


def test_decision_table_in_config():
    assert config.parse({"study": {"name": "a", "runs": 10, "seed": 1}}).decision == DECISION_WEIGHTS
    assert CLOSED.decision == ONLY_WAR
    some = config.parse({"study": {"name": "a", "runs": 10, "seed": 1}, "decision": {"war_5y": 2}}).decision
    assert some == {**DECISION_WEIGHTS, "war_5y": 2.0}



def test_every_weight_has_a_term():
    """config.DECISION_WEIGHTS and decide.term name the same terms; another name is an error."""
    draws = replay.Draws(tuple(CLOSED.options), 0, 4, np.zeros((3, 39)), np.full((3, 2, 4, 3), 2),
                         np.full((3, 2, len(PAIRED_COUNTS)), 8000))
    for name in DECISION_WEIGHTS:
        assert decide.term(name, draws).shape == (3, 2)
    assert decide.term("strikes_per_1000", draws)[0, 0] == 2.0
    # Days at war are summed in TRUCE_DAYS_UNIT: 8,000 units over 4 runs, in years.
    assert decide.term("war_years", draws)[0, 0] == pytest.approx(8000 * TRUCE_DAYS_UNIT / 4 / 365.25)
    assert decide.term("war_5y", draws)[0, 0] == 1.0
    with pytest.raises(ValueError, match="has no value"):
        decide.term("casualties", draws)


@pytest.mark.parametrize(("table", "message"), [
    ({"war5y": 1.0}, "unknown key 'war5y' in [decision]; did you mean 'war_5y'?"),
    ({"war_5y": -1.0}, "decision.war_5y must be >= 0"),
    ({"war_5y": "a lot"}, "decision.war_5y must be a finite number"),
    (dict.fromkeys(DECISION_WEIGHTS, 0.0), "[decision] weighs nothing"),
    ([1.0], "[decision] must be a table"),
])
def test_decision_table_mistakes(table, message):
    with pytest.raises(UserError) as error:
        config.parse({"study": {"name": "a", "runs": 10, "seed": 1}, "decision": table}, where="x.toml")
    assert message in str(error.value) and "\n" not in str(error.value)


STUDY = """\
[study]
name = "decide"
runs = 400
seed = 3
horizon_days = 1000
runs_per_draw = 20

[grid]
force_size = [0, 5000]
posture = ["rear"]
deploy_rule = ["after_ceasefire"]
support = ["none"]
leverage = ["status_quo", "assets_and_aid"]

[decision]
strikes_per_1000 = 0.2
"""


def test_cli_from_config_and_from_result(tmp_path, capsys):
    path = tmp_path / "decide.toml"
    path.write_text(STUDY)
    args = ["--options", "force_size=5000;force_size=0,leverage=assets_and_aid", "--draws", "30", "--workers", "1",
            "--json"]
    assert main(["decide", str(path), *args]) == 0
    from_config = json.loads(capsys.readouterr().out)
    assert from_config["draws"] == 30 and from_config["runs_per_draw"] == 20
    assert from_config["weights"]["strikes_per_1000"] == 0.2
    assert [o["label"] for o in from_config["options"]] == ["force_size=5000,leverage=status_quo",
                                                            "force_size=0,leverage=assets_and_aid"]
    out = tmp_path / "decide.nc"
    assert main(["run", str(path), "--out", str(out), "--workers", "1", "--seed", "4"]) == 0
    capsys.readouterr()
    cfg = decide.load(out)
    assert cfg.text == STUDY and cfg.study.seed == 4
    assert main(["decide", str(out), *args]) == 0
    from_result = json.loads(capsys.readouterr().out)
    assert from_result["options"] != from_config["options"]   # another seed, other runs
    assert main(["decide", str(path), "--workers", "1", "--draws", "20"]) == 0
    assert "EVPI" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "message"), [
    (["--runs-per-draw", "15"], "--runs-per-draw must be even"),
    (["--options", "force_size=0"], "at least two options"),
    (["--options", "force_size=0;force_size=0"], "names an option twice"),
    (["--options", "force_size=0;leverage=gold"], "unknown value 'gold'"),
    (["--draws", "5"], "--draws must be at least 20"),
    (["--draws", "0"], "argument --draws: expected a whole number from 1"),
])
def test_cli_mistakes(tmp_path, capsys, args, message):
    path = tmp_path / "decide.toml"
    path.write_text(STUDY)
    try:
        code = main(["decide", str(path), *args])
    except SystemExit as stop:  # argparse's usage errors
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.slow
def test_dask_scheduler_gives_the_same_numbers(tmp_path, capsys):
    path = tmp_path / "decide.toml"
    path.write_text(STUDY)
    found = []
    for how in (["--workers", "1"], ["--scheduler", "local", "--workers", "2"]):
        assert main(["decide", str(path), "--draws", "40", "--json", *how]) == 0
        found.append(json.loads(capsys.readouterr().out))
        found[-1].pop("seconds")
    assert found[0] == found[1]
