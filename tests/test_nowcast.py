"""`deterrence nowcast`: closed forms of the collapse and re-attack risks,
one-line errors for bad input, and the held-out truces of 2019-2021."""

import math

import numpy as np
import pytest

from deterrence import fit, nowcast
from deterrence.cli import main


def _fit(var: float, shape=1.3, scale=30.0, mu=100.0, k=0.5) -> fit.StrengthFit:
    """A strength fit without parameter uncertainty."""
    return fit.StrengthFit((shape, scale, var, mu, k), tuple((0.0,) * 5 for _ in range(5)), 0.0, 0, 0)


def _others(n, lam=0.002, e_collapse=2.0, retruce=0.02):
    return np.tile([lam, e_collapse, retruce], (n, 1))


def test_collapse_risk_closed_form_without_strength():
    """strength_var 0: every truce alike, so the counts tell nothing and
    P(collapse within tau | held a days) = 1 - exp(-(H(a + tau) - H(a)))."""
    rng = np.random.default_rng(0)
    quiet = [nowcast.Period(0, 10, 0)]
    loud = [nowcast.Period(0, 10, 5000)]
    for periods in (quiet, loud):
        n = nowcast.nowcast(periods, 10, _fit(0.0), _others(200), rng)
        for tau, risk in n.collapse.items():
            exact = 1 - math.exp(-(((10 + tau) / 30) ** 1.3 - (10 / 30) ** 1.3))
            assert risk.mean == pytest.approx(exact) and risk.low == pytest.approx(exact)


def test_collapse_risk_closed_form_with_strength_and_no_counts():
    """No counts: W | survival to a is Gamma(1 / v, rate 1 / v + H(a)), so
    P(collapse within tau) = 1 - ((1 + v H(a + tau)) / (1 + v H(a))) ** (-1 / v),
    up to the error of the 64 nodes."""
    v, a = 0.5, 20
    n = nowcast.nowcast([], a, _fit(v), _others(100), np.random.default_rng(1))
    h = lambda t: (t / 30.0) ** 1.3  # noqa: E731
    for tau, risk in n.collapse.items():
        exact = 1 - ((1 + v * h(a + tau)) / (1 + v * h(a))) ** (-1 / v)
        assert risk.mean == pytest.approx(exact, abs=0.01)


def test_quiet_counts_make_a_stronger_truce():
    rng = np.random.default_rng(2)
    quiet = nowcast.nowcast([nowcast.Period(0, 7, 70)], 7, _fit(0.5), _others(200), rng)
    loud = nowcast.nowcast([nowcast.Period(0, 7, 2100)], 7, _fit(0.5), _others(200), rng)
    assert quiet.strength.mean < 0.5 < 1.5 < loud.strength.mean
    assert quiet.collapse[30].mean < loud.collapse[30].mean


def test_reattack_closed_form():
    """A truce that never collapses (scale 1e12 days): P(re-attack within y
    years) = 1 - exp(-lambda_a0 * 365.25 y) days, within 4 binomial errors."""
    draws = 400
    n = nowcast.nowcast([], 5, _fit(0.0, scale=1e12), _others(draws), np.random.default_rng(3))
    for y, risk in n.reattack.items():
        exact = 1 - math.exp(-0.002 * round(365.25 * y))
        se = math.sqrt(exact * (1 - exact) / (draws * nowcast.RUNS_PER_DRAW))
        assert abs(risk.mean - exact) < 4 * se


def test_nowcast_from_python_and_cli(tmp_path, capsys):
    csv = tmp_path / "counts.csv"
    csv.write_text("date,count\n2020-07-27,60\n2020-07-28,61\n2020-07-29,1\n2020-07-30,1\n")
    n = nowcast.nowcast_file("configs/laptop.toml", csv)
    assert n.age == 4
    risks = [n.collapse[d].mean for d in nowcast.COLLAPSE_DAYS]
    assert risks == sorted(risks) and 0 < risks[0] and risks[-1] < 1
    assert n.reattack[1].mean <= n.reattack[2].mean
    for r in [*n.collapse.values(), *n.reattack.values(), n.strength]:
        assert r.low <= r.mean <= r.high
    assert main(["nowcast", "configs/laptop.toml", "--violations", str(csv)]) == 0
    assert "collapse within  30 days" in capsys.readouterr().out


@pytest.mark.parametrize("body, extra, field", [
    ("date,count\n2020-07-27,-3\n", [], "count '-3'"),
    ("date,count\n2020-07-27,1.5\n", [], "count '1.5'"),
    ("date,count\n2020-07-28,1\n2020-07-27,1\n", [], "not after"),
    ("date,count\n2020-07-27,1\n2020-07-27,1\n", [], "not after"),
    ("date,count\n2020-07-27,1\n", ["--start", "2020-07-28"], "before the truce began"),
    ("date,count\n2020-13-01,1\n", [], "YYYY-MM-DD"),
    ("day,violations\n2020-07-27,1\n", [], "header"),
    ("date,count\n", [], "no rows"),
    ("date,count\n2020-07-27,1\n2020-07-30,1\n", ["--age", "2"], "--age 2"),
    ("date,count\n2020-07-27,1\n", ["--start", "27 July"], "--start"),
])
def test_bad_input_is_one_line(tmp_path, capsys, body, extra, field):
    csv = tmp_path / "counts.csv"
    csv.write_text(body)
    assert main(["nowcast", "configs/laptop.toml", "--violations", str(csv), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deterrence: error: ") and field in err and len(err.strip().splitlines()) == 1


def test_missing_file_is_one_line(tmp_path, capsys):
    assert main(["nowcast", "configs/laptop.toml", "--violations", str(tmp_path / "none.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deterrence: error: --violations") and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_held_out_truces_rank_july_2020_strongest():
    """From their first 7 and 14 days of OSCE counts, with the strength fitted
    on the whole record, the July 2020 truce has the least collapse risk."""
    res = nowcast.held_out()
    for days in nowcast.CHECK_DAYS:
        assert nowcast.ranking(res, days)[0][0].startswith("Measures to strengthen the ceasefire (July 2020)")
