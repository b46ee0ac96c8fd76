"""`deterrence validate`: the fit to 2018 against 2019-2022 runs, its
coverages are shares of the right counts, and the interval logic is checked
by hand."""

import csv
import datetime

import numpy as np
import pytest

from deterrence import fit, record, validate
from deterrence.cli import main


@pytest.mark.parametrize("obs, interval, expected", [
    ((5, 5), (1, 10), "yes"),            # an exact value inside
    ((10, 10), (1, 10), "yes"),          # on the edge: central intervals are closed
    ((11, 11), (1, 10), "no"),
    ((0, 72), (10, 50), "maybe"),        # interval-censored, overlapping
    ((31, 120), (1, 30), "no"),          # interval-censored, wholly above
    ((20, 30), (10, 50), "yes"),         # interval-censored, wholly inside
    ((513, np.inf), (1, 400), "no"),     # still holding when the interval had ended
    ((513, np.inf), (1, 600), "maybe"),
    ((513, np.inf), (1, np.inf), "yes"), # a durable share puts the upper end at infinity
])
def test_inside_by_hand(obs, interval, expected):
    assert validate.inside(*obs, *interval) == expected


def test_coverage_counts_sure_and_possible():
    q = {0.5: (10.0, 20.0), 0.9: (5.0, 40.0)}
    checks = [validate.Check("g", str(i), obs, 0, q)
              for i, obs in enumerate([(15, 15), (30, 30), (1, 1), (0, 12)])]
    assert validate.coverage(checks, 0.5) == (0.25, 0.5)
    assert validate.coverage(checks, 0.9) == (0.5, 0.75)


def test_truncation_censors_truces_running_at_the_cutoff():
    rec = record.load()
    train = validate.truncate(rec)
    assert all(t.start_date <= validate.CUTOFF for t in train.truces)
    assert all(v.period_end <= validate.CUTOFF for v in train.violations)
    assert [o.start_date.year for o in train.offensives] == [2014, 2015]
    last = train.truces[-1]
    assert last.name.startswith("Christmas and New Year ceasefire 2018")
    assert last.censored and last.end_date == datetime.date(2019, 1, 1) and last.days == 3
    assert fit.truce_data(train.truces).n == len(train.truces)


def test_validate_runs_with_the_right_counts():
    rec = record.load()
    checks = validate.validate()
    n_truces = sum(validate.TEST_START <= t.start_date < validate.TEST_END for t in rec.truces)
    n_periods = sum(v.regime == "truce" and v.kind == "count" and v.region == record.BOTH_REGIONS
                    and v.period_start >= validate.TEST_START and v.period_end < validate.TEST_END
                    for v in rec.violations)
    groups = {}
    for c in checks:
        groups.setdefault(c.group, []).append(c)
    truce_groups = [g for g in groups if g.startswith("truce duration")]
    assert truce_groups and all(len(groups[g]) == n_truces for g in truce_groups)
    assert len(groups["violations in a truce period, NB"]) == n_periods
    offensives = groups["major offensives, Poisson-gamma"]
    assert len(offensives) == 1 and offensives[0].observed == (1.0, 1.0)
    for part in groups.values():
        for level in validate.LEVELS:
            low, high = validate.coverage(part, level)
            assert 0.0 <= low <= high <= 1.0
            # A share of len(part) checks.
            assert round(low * len(part)) == pytest.approx(low * len(part))
    for c in checks:
        (lo50, hi50), (lo90, hi90) = c.quantiles[0.5], c.quantiles[0.9]
        assert lo90 <= lo50 <= hi50 <= hi90


def test_offensive_predictive_is_the_negative_binomial_by_hand():
    """2 offensives from 20 Jun 2014 to the end of 2018 (1656 days), 1150 test
    days: P(N = 0) = (1656 / (1656 + 1150)) ** 2.5."""
    rec = record.load()
    c = validate.offensive_check(rec, validate.truncate(rec))
    p0 = (1656 / (1656 + 1150)) ** 2.5
    assert p0 > 0.25               # so the 50% interval starts at 0
    assert c.quantiles[0.5][0] == 0.0
    from scipy import stats

    dist = stats.nbinom(2.5, 1656 / (1656 + 1150))
    assert dist.pmf(0) == pytest.approx(p0)
    assert c.quantiles[0.9] == tuple(dist.ppf([0.05, 0.95]))


def test_validate_cli_writes_csv_and_figure(tmp_path, capsys):
    out = tmp_path / "val"
    assert main(["validate", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Coverage" in text and "major offensives" in text
    assert sorted(p.name for p in out.iterdir()) == ["validation.csv", "validation.png"]
    assert (out / "validation.png").stat().st_size > 10000
    with open(out / "validation.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(validate.validate())
    assert {r["inside_90"] for r in rows} <= {"yes", "maybe", "no"}


def test_validate_cli_unwritable_out_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["validate", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deterrence: error: --out") and len(err.strip().splitlines()) == 1
