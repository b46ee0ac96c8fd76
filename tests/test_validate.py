"""`deterrence validate`: the rolling-origin out-of-sample check of the
record model. Its coverages are shares of the right counts, its intervals
say what they hold, the interval logic is checked by hand, and
``--min-coverage`` fails on a bad model and passes on the shipped one."""

import csv
import datetime

import numpy as np
import pytest
from scipy import stats

from deterrence import fit, record, validate
from deterrence.cli import main


@pytest.fixture(scope="module")
def main_origin():
    return validate.validate(origins=(validate.CUTOFF,))


@pytest.fixture
def one_origin(monkeypatch, main_origin):
    """The CLI reads the main origin's checks, computed once (the rolling
    origins take 10 s more)."""
    monkeypatch.setattr(validate, "validate", lambda *a, **k: main_origin)


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


def _check(obs, q, held=None):
    held = held or {0.5: 0.5, 0.9: 0.9}
    return validate.Check("s", "cure", "x", obs, 0, q, held, 0.0)


def test_coverage_counts_sure_and_possible():
    q = {0.5: (10.0, 20.0), 0.9: (5.0, 40.0)}
    checks = [_check(obs, q) for obs in [(15, 15), (30, 30), (1, 1), (0, 12)]]
    assert validate.coverage(checks, 0.5) == (0.25, 0.5)
    assert validate.coverage(checks, 0.9) == (0.5, 0.75)
    # A calibrated model's coverage of 4 checks: the level, binomial error sqrt(p (1 - p) / 4).
    assert validate.expected_coverage(checks, 0.9) == pytest.approx((0.9, 0.15))


def test_intervals_say_what_they_hold():
    """Continuous samples: a central 50% interval holds 50%; a count holds more,
    and says how much."""
    rng = np.random.default_rng(1)
    _, held = validate.predictive(rng.standard_normal(100_000))
    assert held[0.5] == pytest.approx(0.5, abs=1e-4) and held[0.9] == pytest.approx(0.9, abs=1e-4)
    counts = rng.poisson(0.8, 100_000)
    q, held = validate.predictive(counts)
    assert held[0.5] == np.mean((counts >= q[0.5][0]) & (counts <= q[0.5][1])) > 0.6


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


def test_validate_runs_with_the_right_counts(main_origin):
    rec = record.load()
    checks = main_origin.checks
    n_truces = sum(validate.TEST_START <= t.start_date < validate.TEST_END for t in rec.truces)
    n_periods = sum(v.regime == "truce" and v.kind == "count" and v.region == record.BOTH_REGIONS
                    and v.period_start >= validate.TEST_START and v.period_end < validate.TEST_END
                    for v in rec.violations)
    n = {(s.series, s.form): s.n for s in main_origin.summaries()}
    for form in validate.FORMS:
        assert n[("truce duration", form)] == n_truces
        assert n[("violations in a truce period", form)] == n_periods
    # The OSCE totals from 1 January held out: 2019 and 2020.
    assert [c.item[:4] for c in checks if c.series == "OSCE total from 1 January" and c.form == "cure"] == \
        ["2019", "2020"]
    assert n[("major offensives", "any")] == 1
    for s in main_origin.summaries():
        for level in validate.LEVELS:
            low, high = s.coverage[level]
            assert 0.0 <= low <= high <= 1.0 and round(low * s.n) == pytest.approx(low * s.n)
    for c in checks:
        (lo50, hi50), (lo90, hi90) = c.quantiles[0.5], c.quantiles[0.9]
        assert lo90 <= lo50 <= hi50 <= hi90 and 0.0 < c.held[0.5] <= c.held[0.9] <= 1.0


def test_forms_that_coincide_score_alike(main_origin):
    """To the end of 2018 no truce outlasted its observation and the truce
    strength's MLE is 0: all three forms are the plain Weibull and NB, and
    with common random numbers they score alike (not within Monte Carlo
    error: the same draws)."""
    s = {(x.series, x.form): x for x in main_origin.summaries()}
    for series in ("truce duration", "violations in a truce period"):
        scores = [s[(series, form)].log_score for form in validate.FORMS]
        # The joint fit's optimum agrees with the separate fits' to about 1e-6 in the parameters.
        assert scores == pytest.approx([scores[0]] * len(scores), abs=1e-3), series


def test_offensive_predictive_is_the_negative_binomial_by_hand():
    """2 offensives from 20 Jun 2014 to the end of 2018 (1656 days), 1150 test
    days: P(N = 0) = (1656 / (1656 + 1150)) ** 2.5; its "50% interval" 0-3
    holds 86% and says so."""
    rec = record.load()
    c = validate.offensive_check(rec, validate.truncate(rec))
    p0 = (1656 / (1656 + 1150)) ** 2.5
    dist = stats.nbinom(2.5, 1656 / (1656 + 1150))
    assert dist.pmf(0) == pytest.approx(p0)
    assert c.quantiles[0.5] == (0.0, 3.0) and c.quantiles[0.9] == tuple(dist.ppf([0.05, 0.95]))
    assert c.held[0.5] == pytest.approx(dist.cdf(3)) and 0.85 < c.held[0.5] < 0.87
    assert c.log_score == pytest.approx(dist.logpmf(1))


def test_strength_survival_closed_form():
    """Gamma frailty of variance v: S(t) = (1 + v (t / scale) ** shape) ** (-1 / v);
    the durations of the reference's truce walk agree within 4 binomial errors."""
    n = 4
    law = validate.TruceLaw("strength", np.full(n, 1.3), np.full(n, 30.0), np.zeros(n), np.full(n, 0.5),
                            np.full(n, 150.0), np.full(n, 0.5))
    t = np.array([10.0, 30.0, 200.0])
    exact = (1 + 0.5 * (t / 30.0) ** 1.3) ** -2.0
    assert np.exp(law.log_survival(t)[0]) == pytest.approx(exact)
    f = fit.fit_loaded(validate.truncate(record.load()))
    samples = validate.simulate_durations(f, law, np.random.default_rng(2), runs=200_000)
    share = (samples[:, None] > t).mean(axis=0)
    assert np.all(np.abs(share - exact) < 4 * np.sqrt(exact * (1 - exact) / samples.size))


@pytest.mark.parametrize("form, p_durable, var", [("cure", 0.2, 0.0), ("weibull", 0.0, 0.0), ("strength", 0.0, 0.5)])
def test_the_simulators_truce_lengths_follow_the_closed_form_law(form, p_durable, var):
    """The truce-duration intervals come from the reference model's own
    truce walk; the log scores from TruceLaw's closed form. The walk's
    share of truces outlasting t agrees with S(t) within 4 binomial errors."""
    n = 4
    f = fit.fit_loaded(validate.truncate(record.load()))
    law = validate.TruceLaw(form, np.full(n, 0.8), np.full(n, 40.0), np.full(n, p_durable), np.full(n, var),
                            np.full(n, 150.0), np.full(n, 0.5))
    lengths = validate.simulate_durations(f, law, np.random.default_rng(3), runs=40_000)
    t = np.array([5.0, 40.0, 300.0, 2000.0])
    exact = np.exp(law.log_survival(t)[0])
    share = (lengths[:, None] > t).mean(axis=0)
    assert np.all(np.abs(share - exact) < 4 * np.sqrt(exact * (1 - exact) / lengths.size)), (share, exact)
    assert np.isinf(lengths).mean() == pytest.approx(p_durable, abs=4 * np.sqrt(0.2 * 0.8 / lengths.size) + 1e-9)


def test_validate_cli_writes_csv_and_figure(one_origin, tmp_path, capsys):
    out = tmp_path / "val"
    assert main(["validate", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Coverage per series" in text and "major offensives" in text and "0 - 3 (86%)" in text
    assert sorted(p.name for p in out.iterdir()) == ["validation.csv", "validation.png"]
    assert (out / "validation.png").stat().st_size > 10000
    with open(out / "validation.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(validate.validate().checks)
    assert {r["inside_90"] for r in rows} <= {"yes", "maybe", "no"}


def test_min_coverage_passes_and_fails(one_origin, monkeypatch, capsys):
    """The shipped model covers 44% of the violation periods in its 90%
    interval: 0.4 passes, 0.8 fails with exit 3, and so does 0.4 once the
    model is made bad (violation rate times 100)."""
    assert main(["validate", "--min-coverage", "0.4"]) == 0
    assert "Validation passed" in capsys.readouterr().out
    assert main(["validate", "--min-coverage", "0.8,0.35"]) == validate.FAILED
    err = capsys.readouterr().err
    assert err.startswith("deterrence: validation failed (exit 3)") and "violations in a truce period" in err
    good = fit.fit_loaded

    def bad(rec):
        f = good(rec)
        nb = f.nb["truce"]
        return fit.replace(f, nb={**f.nb, "truce": fit.replace(nb, values=(nb.values[0] * 100, nb.values[1]))})

    monkeypatch.setattr(fit, "fit_loaded", bad)
    result = validate.Validation(validate.origin_checks(record.load(), validate.CUTOFF,
                                                        np.random.default_rng(0)), {})
    monkeypatch.setattr(validate, "validate", lambda *a, **k: result)
    assert main(["validate", "--min-coverage", "0.4"]) == validate.FAILED


@pytest.mark.parametrize("value", ["x", "1.5", "0.8,0.3,0.1", "-1"])
def test_min_coverage_bad_value_is_one_line(value, capsys):
    assert main(["validate", "--min-coverage", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deterrence: error: --min-coverage") and len(err.strip().splitlines()) == 1


def test_validate_cli_unwritable_out_is_one_line(one_origin, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["validate", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deterrence: error: validate --out") and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_rolling_origins():
    """The 2016 origin is too short to fit (fewer than 3 truce count rows) and
    says so; from the 2020 origin, the one the record lets the truce strength
    be fitted at, its log score on the 2021-2022 truce periods beats the
    default's by more than 4 Monte Carlo errors."""
    result = validate.validate()
    assert list(result.skipped) == [datetime.date(2016, 12, 31)]
    assert "fewer than 3" in result.skipped[datetime.date(2016, 12, 31)]
    s = {(x.origin, x.series, x.form): x for x in result.summaries()}
    assert {o for o, _, _ in s} == set(validate.ORIGINS[1:])
    key = (datetime.date(2020, 12, 31), "violations in a truce period")
    new, old = s[(*key, "strength")], s[(*key, "cure")]
    assert new.log_score - old.log_score > 4 * np.hypot(new.log_score_se, old.log_score_se)


def test_form_contrasts_call_a_difference_only_beyond_two_errors(main_origin):
    def summary(form, score, se):
        return validate.Summary(validate.CUTOFF, "s", form, 3, {}, {}, score, se)

    for strength, se, verdict in ((-1.0, 0.05, "better"), (-1.3, 0.05, "alike"), (-1.6, 0.05, "worse"),
                                  (-1.0, float("nan"), "alike")):
        pair = [summary("cure", -1.2, 0.05), summary("strength", strength, se)]
        [(_, _, diff, _, said)] = validate.form_contrasts(pair)
        assert said == verdict and diff == pytest.approx(strength + 1.2)
    # From the 2018 origin the strength's fit is the plain one (strength_var 0): the forms score alike.
    contrasts = {series: v for o, series, _, _, v in validate.form_contrasts(main_origin.summaries())}
    assert contrasts["violations in a truce period"] == "alike"
    assert "Does truce strength predict better" in validate.table(main_origin)
