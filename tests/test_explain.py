"""deterrence explain: the box where an option does worse must recover a
threshold known in closed form.

The config: every parameter fixed but `nu` ~ U(0, 3) and four decoys that
cannot touch the outcome. Outcome: a ceasefire within 2 years (Y = 730
days). B, the baseline (no force, status quo): ceasefire hazard c = 1 / Y,
so P_B = 1 - exp(-1). A: a force of F = f_veto troops deployed after the
ceasefire with seized assets and aid (leverage_mult M, no veto relief):
hazard c M 2 ** -nu, so P_A(nu) = 1 - exp(-M 2 ** -nu). A is worse (fewer
ceasefires) iff nu > log2(M); worse by more than the margin m iff
exp(-M 2 ** -nu) - exp(-1) > m, i.e. nu > NU_WORSE = log2(M / -log(exp(-1) + m)).

Both options spend the same Exp(1) on the ceasefire (common random numbers),
so a run is discordant exactly when that number falls between the two
hazards' thresholds: a draw's paired difference has noise variance
(|D| - D ** 2) / n, known in closed form too.
"""

import json
import math

import numpy as np
import pytest
from helpers import fixed, make_config

from deterrence import UserError, explain, trace
from deterrence.cli import main
from deterrence.replay import replay

LOW, HIGH = 0.0, 3.0                  # the prior of nu
M, Y, MARGIN = 2.5, 730, 0.01
NU_WORSE = math.log2(M / -math.log(math.exp(-1.0) + MARGIN))
DRAWS, RUNS_PER_DRAW = 400, 20
DECOYS = {"truce_scale": {"dist": "lognormal", "median": 30.0, "sigma": 0.5},
          "delta_force": {"dist": "gamma", "shape": 1.5, "scale": 0.3},
          "deploy_lag": {"dist": "gamma", "shape": 4.0, "scale": 15.0},
          "q_rear": {"dist": "beta", "a": 2.0, "b": 2.0}}
PRIORS = {**fixed(lambda_c0=1.0 / Y, f_veto=10000.0, **{"leverage_mult.assets_and_aid": M}),
          "nu": {"dist": "uniform", "low": LOW, "high": HIGH}, **DECOYS}
CFG = make_config(priors=PRIORS, runs=1000, seed=31, horizon=1000)
A_TEXT = "force_size=10000,leverage=assets_and_aid"
A = trace.parse_option(A_TEXT, CFG.study.baseline)


def true_effect(nu):
    """P_A - P_B at nu, in closed form."""
    return np.exp(-1.0) - np.exp(-M * 2.0 ** -np.asarray(nu))


def tolerance(leaf: int, draws: int) -> float:
    """How far the box's threshold may lie from NU_WORSE: a forest leaf
    spans about `forest_leaf` draws, (leaf / draws) of the prior range, and
    the fitted effect there is an average over them; at the threshold a
    draw's noise variance is (m - m^2) / n, so the leaf's mean is off by at
    most 4 SD = 4 sqrt(m / (n leaf)), i.e. that over the slope |dD/dnu| in
    nu."""
    x = -math.log(math.exp(-1.0) + MARGIN)            # M 2 ** -nu at NU_WORSE
    slope = math.exp(-x) * x * math.log(2.0)
    window = leaf / draws * (HIGH - LOW)
    noise = 4.0 * math.sqrt(MARGIN * (1 - MARGIN) / (RUNS_PER_DRAW * leaf)) / slope
    return window + noise


@pytest.fixture(scope="module")
def found():
    return explain.explain(CFG, A, outcome="ceasefire_2y", draws=DRAWS, runs_per_draw=RUNS_PER_DRAW,
                           margin=MARGIN, workers=1, show_progress=False)


def test_the_box_recovers_the_threshold(found):
    tol = tolerance(found.forest_leaf, DRAWS)
    assert tol < 0.1 * (HIGH - LOW)      # the check has the power the issue asks for
    top = found.boxes[0]
    (bound,) = top.bounds                # nu alone, none of the decoys
    assert (bound.parameter, bound.side) == ("nu", explain.ABOVE)
    assert abs(bound.threshold - NU_WORSE) < tol, (bound.threshold, NU_WORSE, tol)
    nu = found.theta[:, found.parameters.index("nu")]
    inside = nu > bound.threshold
    assert top.draws == inside.sum() and top.mass == pytest.approx(inside.mean())
    # Only draws within the tolerance of the threshold can be mislabelled.
    unsure = np.abs(nu - NU_WORSE) < tol
    assert top.density >= 1 - unsure.sum() / inside.sum()
    assert top.coverage >= 1 - unsure.sum() / (nu > NU_WORSE).sum()
    # The box's mean effect against the closed form at its draws: only the
    # binomial noise, (|D| - D^2) / n per draw, separates them.
    d = true_effect(nu[inside])
    se = math.sqrt(np.sum(np.abs(d) - d**2) / RUNS_PER_DRAW) / inside.sum()
    assert abs(top.effect - d.mean()) < 4 * se, (top.effect, d.mean(), se)
    assert found.shares["worse"] == pytest.approx(np.mean(found.label == 1))
    assert np.mean(found.label == 1) == pytest.approx(np.mean(nu > NU_WORSE), abs=unsure.mean())


def test_noise_matches_the_closed_form(found):
    """The halves' noise estimate against the mean of (|D| - D^2) / n. Each
    draw's estimate is e = Z^2 / n^2 with Z = k_1 - k_2 the difference of two
    independent Binomial(m = n / 2, q = |D|) counts of discordant runs: its
    variance is (E[Z^4] - E[Z^2]^2) / n^4 with E[Z^2] = 2 s2 and
    E[Z^4] = 2 mu4 + 6 s2^2, s2 = m q (1 - q), mu4 = s2 (1 + 3 (m - 2) q (1 - q))."""
    n, m = RUNS_PER_DRAW, RUNS_PER_DRAW // 2
    q = np.abs(true_effect(found.theta[:, found.parameters.index("nu")]))
    s2 = m * q * (1 - q)
    mu4 = s2 * (1 + 3 * (m - 2) * q * (1 - q))
    variance = (2 * mu4 + 6 * s2**2 - (2 * s2) ** 2) / n**4
    truth = np.mean(q - q**2) / n
    se = math.sqrt(variance.sum()) / DRAWS
    assert abs(found.noise_sd**2 - truth) < 4 * se, (found.noise_sd**2, truth, se)


def test_the_stability_of_the_box(found):
    """Refits on halves of the draws find the same bound in (nearly) every
    refit, and its threshold within the tolerance at half the draws."""
    (bound,) = found.boxes[0].bounds
    assert bound.chosen >= 0.9
    tol = tolerance(explain.forest_leaf(found.noise_sd**2, MARGIN, DRAWS // 2), DRAWS // 2)
    low, high = bound.spread
    assert NU_WORSE - tol < low <= high < NU_WORSE + tol, (bound.spread, tol)
    assert found.boxes[0].overlap > 0.8


def test_effects_are_the_studys_runs_and_the_same_for_any_workers(found):
    """Each draw's effect is that of the study's runs with runs_per_draw n,
    and blocks and workers change no bit."""
    draws = replay(CFG, [A, CFG.study.baseline], DRAWS, runs_per_draw=RUNS_PER_DRAW, show_progress=False)
    k = draws.within[:, :, 0, 1]               # first ceasefire within 2 years
    assert np.array_equal(found.effect, (k[:, 0] - k[:, 1]) / RUNS_PER_DRAW)
    again = explain.explain(CFG, A, outcome="ceasefire_2y", draws=DRAWS, runs_per_draw=RUNS_PER_DRAW,
                            margin=MARGIN, workers=2, block_draws=50, show_progress=False)
    assert explain.to_json(again) == explain.to_json(found)
    assert np.array_equal(again.fitted, found.fitted) and np.array_equal(again.label, found.label)


def config_toml(path):
    """CFG as a TOML file, for the CLI."""
    lines = ['[study]', 'name = "explain"', "runs = 1000", "seed = 31", "horizon_days = 1000", ""]
    for name, table in PRIORS.items():
        lines.append(f'[priors."{name}"]')
        lines += [f'{key} = "{value}"' if isinstance(value, str) else f"{key} = {value!r}"
                  for key, value in table.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_json_and_figure(tmp_path, capsys):
    cfg = config_toml(tmp_path / "explain.toml")
    figure = tmp_path / "box.png"
    assert main(["explain", str(cfg), "--a", A_TEXT, "--outcome", "ceasefire_2y", "--draws", str(DRAWS),
                 "--runs-per-draw", str(RUNS_PER_DRAW), "--workers", "1", "--json", "--out", str(figure)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["outcome"] == "ceasefire_2y" and data["higher_is_worse"] is False
    (bound,) = data["boxes"][0]["bounds"]
    assert (bound["parameter"], bound["side"], bound["unit"]) == ("nu", "above", "1")
    assert abs(bound["threshold"] - NU_WORSE) < 0.1 * (HIGH - LOW)
    assert set(data["importance"]) == {"nu", *DECOYS}
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["explain", str(cfg), "--a", A_TEXT, "--outcome", "ceasefire_2y", "--draws", str(DRAWS),
                 "--runs-per-draw", str(RUNS_PER_DRAW), "--workers", "1"]) == 0
    text = capsys.readouterr().out
    assert "| 1 |" in text and "nu >" in text


@pytest.mark.parametrize("argv, message", [
    (["--outcome", "deployed_2y"], "no better or worse direction"),
    (["--outcome", "reattack_3y"], "<event>_<years>y"),
    (["--runs-per-draw", "21"], "must be even"),
    (["--b", A_TEXT], "the same option"),
    (["--draws", "10"], "--draws must be"),
    (["--margin", "-0.1"], "--margin must lie"),
    (["--a", "force_size=10000,posture=sideways"], "posture"),
    (["--scheduler", "nowhere"], "--scheduler"),
])
def test_user_mistakes_are_one_line(tmp_path, capsys, argv, message):
    cfg = config_toml(tmp_path / "explain.toml")
    assert main(["explain", str(cfg), "--a", A_TEXT, "--draws", "60", "--runs-per-draw", "2", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_outcome_names():
    assert explain.parse_outcome("reattack_2y") == ("reattack", 2)
    assert explain.parse_outcome("ceasefire_5y") == ("ceasefire", 5)
    with pytest.raises(UserError):
        explain.parse_outcome("reattack")
