"""deterrence.claims: each of the debate's three claims is a quantity that
can come out either way. For each, a fixed-parameter study inside the
shipped priors' ranges where it holds, and one where it fails; and the
decomposition of the force's effect adds up, its deterrence part being the
effect of a study whose veto is neutral (compare, an independent path)."""

import dataclasses

import pytest
from helpers import BASELINE_GRID, fixed, make_config

from deterrence import claims, compare, config
from deterrence.cli import main
from deterrence.families import family

DRAWS, N = 40, 40


def fixed_study(**values) -> config.Config:
    # A ceasefire in about 500 days, a re-attack in about 1,000 after it.
    return make_config(BASELINE_GRID, fixed(**{"lambda_c0": 0.002, **values}), runs=DRAWS * N)


def shares(found: claims.Claims, number: int) -> tuple[float, float]:
    r = found.claims[number - 1].reading
    return r.holds, r.fails


def inside_the_shipped_priors(**values) -> None:
    """Each fixed value lies inside its shipped prior's support."""
    shipped = {p.name: p for p in make_config().priors}
    for name, value in values.items():
        low, high = family(shipped[name].dist).support(shipped[name])
        assert low <= value <= high, (name, value, low, high)


CASES = {
    # Claim 1, the veto: a veto delays the ceasefire (more days at war); a relief hastens it.
    (1, True): {"nu": 1.0, "nu_now": 1.0, "lambda_c0": 0.001},
    (1, False): {"nu": -0.45, "nu_now": -0.45, "lambda_c0": 0.001},
    # Claim 2, strikes: a force with no channel to strikes (none to deter them, to intercept them, to deter
    # the re-attack or change the truces) cuts none; one that deters and intercepts them cuts many.
    (2, True): {"strike_force": 0.0, "intercept_force": 0.0, "delta_force": 0.0, "m_collapse": 1.0,
                "lambda_c0": 0.02},
    (2, False): {"strike_force": 0.38, "intercept_force": 0.3, "lambda_c0": 0.02},
    # Claim 3, leverage: leverage that hastens the ceasefire against a force that delays it, and the reverse.
    (3, True): {"leverage_mult.assets_and_aid": 2.0, "nu": 1.0, "delta_force": 0.1},
    (3, False): {"leverage_mult.assets_and_aid": 0.8, "delta_aid": 0.0, "nu": -0.3, "delta_force": 0.6,
                 "provoke_force": 0.0},
}


@pytest.mark.parametrize("number, holds", list(CASES))
def test_each_claim_can_hold_and_can_fail(number, holds):
    values = CASES[(number, holds)]
    inside_the_shipped_priors(**values)
    found = claims.evaluate(fixed_study(**values), DRAWS, N, show_progress=False)
    held, failed = shares(found, number)
    # Fixed parameters: every draw alike, so the shrunk shares are 0 or 1.
    assert (held, failed) == ((1.0, 0.0) if holds else (0.0, 1.0)), (number, holds, found.claims[number - 1])


def test_the_decomposition_adds_up_and_its_deterrence_part_is_a_veto_neutral_study():
    cfg = make_config(BASELINE_GRID, {**fixed(), "nu": {"dist": "gamma", "shape": 2.0, "scale": 0.5, "loc": -0.5},
                                      "lambda_c0": {"dist": "gamma", "shape": 2.0, "scale": 0.001}},
                      runs=DRAWS * N)
    found = claims.evaluate(cfg, DRAWS, N, show_progress=False)
    for role, parts in found.decomposition.items():
        for measure, p in parts.items():
            assert p["total"].mean == pytest.approx(p["deterrence"].mean + p["veto"].mean, abs=1e-9), (role, measure)
    # The same draws and runs with nu fixed at 0 (every other parameter keeps its stream): compare's paired
    # effect of the force on days at war is the decomposition's deterrence part.
    neutral = dataclasses.replace(cfg, priors=tuple(dataclasses.replace(p, dist="fixed", params=(("value", 0.0),))
                                                    if p.name in ("nu", "nu_now") else p for p in cfg.priors))
    neutral = dataclasses.replace(neutral, study=dataclasses.replace(neutral.study, runs_per_draw=N))
    force = claims.small_force(cfg.study.baseline)
    ds = compare.compare(neutral, force, show_progress=False)
    diff = float(ds["diff"].sel(outcome="war_days"))
    part = found.decomposition["after a ceasefire"]["days at war"]["deterrence"]
    assert abs(diff - part.mean) < 4 * float(ds["diff_se"].sel(outcome="war_days")) + 1e-9, (diff, part)


def test_claims_command_prints_each_claim(tmp_path, capsys, study):
    assert main(["claims", str(study), "--draws", "20", "--runs-per-draw", "10"]) == 0
    out = capsys.readouterr().out
    assert all(f"Claim {k}:" in out for k in (1, 2, 3)) and "decided by" in out and "veto neutral" in out
    assert main(["claims", str(study), "--draws", "3"]) == 2
    assert "--draws must be a whole number of at least 20" in capsys.readouterr().err
