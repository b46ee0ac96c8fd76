"""Fits of the record: recovery of known parameters from synthetic data,
an independent check of the truce fit, closed-form gamma posteriors, and the
priors handed to the config. All seeds fixed."""

import csv
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, stats

from deterrence import UserError, config, fit, record, shipped
from deterrence.model import PARAMETER_NAMES

SEEDS = Path(shipped("seeds"))
Z = 3.0   # tolerance in estimated standard errors

# The [model] choices under which the fits are the plain v1 ones (a Weibull for
# every truce, lambda_a0 fitted alone).
PLAIN = {"truces": "weibull", "reattack": "separate"}


def _synthetic_truces(rng, shape, scale, n):
    """Weibull durations: 30% at risk of right-censoring at a uniform time, 35% seen only
    at fortnightly inspections (interval-censored), the rest exact."""
    t = scale * rng.weibull(shape, size=n)
    kind = rng.choice(3, size=n, p=[0.35, 0.3, 0.35])
    exact = t[kind == 0]
    c = rng.uniform(0, 2 * scale, size=n)
    right_obs = kind == 1
    # A right-censoring time before failure censors; otherwise the failure is seen exactly.
    censored = right_obs & (c < t)
    exact = np.concatenate([exact, t[right_obs & ~censored]])
    right = c[censored]
    ti = t[kind == 2]
    lower = np.floor(ti / 14.0) * 14.0
    return fit.TruceData(exact, right, lower, lower + 14.0)


@pytest.mark.parametrize("shape, scale, seed", [(0.7, 50.0, 1), (1.4, 120.0, 2)])
def test_weibull_recovery_with_censoring(shape, scale, seed):
    data = _synthetic_truces(np.random.default_rng(seed), shape, scale, 400)
    assert len(data.right) > 30 and len(data.lower) > 100
    est = fit.fit_weibull(data)
    for key, true in (("shape", shape), ("scale", scale)):
        assert abs(np.log(est.get(key)) - np.log(true)) < Z * est.se(key), (key, est)


@pytest.mark.parametrize("mu, k, seed", [(120.0, 0.5, 3), (900.0, 2.0, 4)])
def test_nbinom_recovery_of_period_totals(mu, k, seed):
    rng = np.random.default_rng(seed)
    days = rng.choice([1, 1, 1, 2, 7, 14], size=300).astype(float)
    # A d-day total of daily NB(mu, k) counts is Poisson(Gamma(d k, mu / k)).
    totals = rng.poisson(rng.gamma(days * k, mu / k)).astype(float)
    est = fit.fit_nbinom(days, totals)
    for key, true in (("mu", mu), ("k", k)):
        assert abs(np.log(est.get(key)) - np.log(true)) < Z * est.se(key), (key, est)


def test_standard_errors_match_the_spread_of_refits():
    """The observed-information SE of log shape matches the spread over refits."""
    rng = np.random.default_rng(5)
    fits = [fit.fit_weibull(_synthetic_truces(rng, 0.8, 60.0, 150)) for _ in range(60)]
    spread = np.std([np.log(f.get("shape")) for f in fits], ddof=1)
    mean_se = np.mean([f.se("shape") for f in fits])
    # 60 refits: the sample SD is within about 30% of the truth with high probability.
    assert 0.7 < spread / mean_se < 1.4


def test_truce_fit_agrees_with_scipy_censored_data():
    f = fit.fit_record()
    d = f.truce_data
    data = stats.CensoredData(uncensored=d.exact, right=d.right,
                              interval=np.column_stack([d.lower, d.upper]))
    shape, loc, scale = stats.weibull_min.fit(data, floc=0)
    assert loc == 0
    assert shape == pytest.approx(f.truce.get("shape"), rel=2e-3)
    assert scale == pytest.approx(f.truce.get("scale"), rel=2e-3)


def test_truce_fit_agrees_with_a_second_optimizer_and_hessian():
    """Nelder-Mead on the likelihood written with scipy.stats, and the SEs from
    a Hessian with a different step."""
    f = fit.fit_record()
    d = f.truce_data

    def nll(x):
        dist = stats.weibull_min(np.exp(x[0]), scale=np.exp(x[1]))
        return -(dist.logpdf(d.exact).sum() + dist.logsf(d.right).sum()
                 + np.log(dist.sf(d.lower) - dist.sf(d.upper)).sum())

    res = optimize.minimize(nll, [0.0, 3.0], method="Nelder-Mead",
                            options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 10000})
    assert np.exp(res.x) == pytest.approx(f.truce.values, rel=1e-3)
    assert -res.fun == pytest.approx(f.truce.loglik, abs=1e-6)
    se = np.sqrt(np.diag(np.linalg.inv(fit.hessian(nll, res.x, step=1e-3))))
    assert se == pytest.approx(f.truce.se_log, rel=2e-2)


def _csv(name):
    with open(SEEDS / name, newline="") as fh:
        return list(csv.DictReader(fh))


def _days(row):
    from datetime import date

    return (date.fromisoformat(row["end_date"]) - date.fromisoformat(row["start_date"])).days


@pytest.mark.parametrize("name, rows", [
    ("lambda_retruce", lambda r: r["quantity"] == "retruce"),
    ("lambda_a0", lambda r: r["phase"] == "ceasefire_era_2014_2022"),
    ("lambda_c0", lambda r: r["phase"] in ("war_before_first_ceasefire_2014",
                                           "full_scale_war_2022_to_cutoff")),
])
def test_gamma_posteriors_match_the_closed_form(name, rows):
    used = [r for r in _csv("exposures.csv") if rows(r)]
    events = sum(int(r["events"]) for r in used)
    exposure = sum(_days(r) for r in used)
    prior = fit.record_prior(name, choices=PLAIN)
    assert prior.dist == "gamma" and prior.fit == "record"
    assert prior.get("shape") == pytest.approx(events + 0.5)
    assert prior.get("scale") == pytest.approx(1.0 / exposure)
    assert "seeds/exposures.csv" in prior.source


def test_known_values_of_the_rate_fits():
    assert fit.record_prior("lambda_c0").params == (("shape", 1.5), ("scale", 1 / 1780))
    assert fit.record_prior("lambda_a0", choices=PLAIN).params == (("shape", 3.5), ("scale", 1 / 2806))
    joint = fit.record_prior("lambda_a0")
    assert joint.params == (("shape", 3.5), ("truce_days", 1312.0), ("gap_days", 1447.0))


def test_lognormal_priors_carry_mle_and_standard_error():
    f = fit.fit_record()
    for name, est, key in (("truce_shape", f.truce, "shape"), ("truce_scale", f.truce, "scale"),
                           ("mu_truce", f.nb["truce"], "mu"), ("k_truce", f.nb["truce"], "k"),
                           ("mu_war", f.nb["war"], "mu"), ("k_war", f.nb["war"], "k")):
        prior = fit.record_prior(name, choices=PLAIN)
        assert prior.dist == "lognormal"
        assert prior.get("median") == est.get(key)
        assert prior.get("sigma") == est.se(key) > 0
        assert "correlation" in prior.source and "ignored" in prior.source
    # Violations in war are an order of magnitude above those in truces.
    assert f.nb["war"].get("mu") > 5 * f.nb["truce"].get("mu")


def test_nb_fit_excludes_aggregate_mixed_and_one_region_rows():
    f = fit.fit_record()
    rows = _csv("violations.csv")
    for regime in ("truce", "war"):
        used = [r for r in rows if r["regime"] == regime and r["kind"] == "count"
                and r["region"] == "Donetsk and Luhansk"]
        days, totals = f.nb_data[regime]
        assert len(days) == len(used)
        assert totals.sum() == sum(int(r["violations"]) for r in used)


def test_no_fit_for_other_parameters():
    with pytest.raises(UserError, match=r"priors\.nu: no fit from the record"):
        fit.record_prior("nu")


def test_default_config_uses_the_record_fits():
    cfg = config.parse({"study": {"name": "t", "runs": 1, "seed": 0}})
    fitted = {p.name for p in cfg.priors if p.fit == "record"}
    assert fitted == set(fit.FITTED) | set(fit.CURE_FITTED)
    assert fitted <= set(PARAMETER_NAMES)
    for name in fitted:
        assert cfg.prior(name).params == fit.record_prior(name).params


# ---------------------------------------------------------------- record rows

def test_every_rows_choice_has_a_reason_and_its_rows_exist():
    rec = fit.fit_record().record
    phases = {e.phase for e in rec.exposures}
    for parameter, table in fit.RECORD_ROWS.items():
        assert table.default in table.choices, parameter
        for name, choice in table.choices.items():
            assert len(choice.reason) > 40, (parameter, name)
            assert set(choice.phases) <= phases, (parameter, name)
            prior = fit.record_prior(parameter, rows=name)
            assert f"rows = {name!r}" in prior.source and choice.reason in prior.source


@pytest.mark.parametrize("parameter, rows, events, days", [
    ("lambda_c0", "all_ceasefires", 1, 69 + 1711),
    ("lambda_c0", "bilateral_only", 1, 146 + 1711),
    ("lambda_c0", "full_scale_war_only", 0, 1711),
    ("lambda_c0", "verified_span", 1, 69 + 1441),
    ("lambda_a0", "ceasefire_era", 3, 2806),
    ("lambda_a0", "bilateral_era", 2, 2729),
    ("lambda_a0", "post_minsk2", 1, 2561),
])
def test_rows_choices_give_the_closed_form_gamma(parameter, rows, events, days):
    prior = fit.record_prior(parameter, rows=rows, choices=PLAIN)
    assert prior.params == (("shape", events + 0.5), ("scale", 1 / days))


def test_default_rows_are_the_unnamed_fit():
    for parameter, table in fit.RECORD_ROWS.items():
        assert fit.record_prior(parameter) == fit.record_prior(parameter, rows=table.default)


def test_unknown_rows_choice_is_one_line_listing_the_choices():
    with pytest.raises(UserError) as error:
        fit.record_prior("lambda_c0", rows="bilateral")
    message = str(error.value)
    assert len(message.splitlines()) == 1
    assert message.startswith("priors.lambda_c0.rows: unknown choice 'bilateral'")
    for name in fit.RECORD_ROWS["lambda_c0"].choices:
        assert name in message
    with pytest.raises(UserError, match=r"priors\.truce_shape\.rows: .* not selectable"):
        fit.record_prior("truce_shape", rows="all")


# ---------------------------------------------------------------- joint re-attack calibration

def test_reattack_exposure_splits_the_window_by_hand():
    """A 100-day window, a truce on days 10-29 and an offensive on days 60-69:
    the offensive's first day is the event and stays at risk, its other 9 days do not."""
    import datetime

    from deterrence import record

    day = datetime.date(2020, 1, 1)
    at = lambda n: day + datetime.timedelta(days=n)  # noqa: E731
    truce = record.Truce("t", None, at(10), at(30), None, False, "declared_ended", "", "", "")
    offensive = record.Offensive("o", at(60), at(70), "", "")
    window = record.Exposure("reattack", "ceasefire_era_2014_2022", day, at(100), 1, "", "")
    rec = record.Record(SEEDS, (truce,), (), (offensive,), (window,), ())
    x = fit.reattack_exposure(rec)
    assert (x.events, x.truce_days, x.gap_days) == (1, 20, 100 - 20 - 9)
    assert x.rate(2.0) == 20 + 2.0 * 71


def test_joint_prior_reproduces_the_record_rate():
    """With e_collapse = 1 the joint prior is the plain gamma posterior over
    the days at risk; the truce and gap days partition them."""
    prior = fit.joint_reattack_prior()
    x = fit.reattack_exposure(fit.fit_record().record)
    assert prior.dist == "gamma_exposure"
    assert prior.params == (("shape", 3.5), ("truce_days", x.truce_days), ("gap_days", x.gap_days))
    offensive_days = (37 - 1) + (12 - 1)      # Jan-Feb 2015 and Aug 2014, first days kept
    assert x.truce_days + x.gap_days == 2806 - offensive_days
    assert 0 < x.truce_days < x.gap_days


def test_reattack_hindcast_matches_closed_form_without_truces():
    """Truces that collapse at once and never return: all time is gap, so
    P(re-attack within y) = 1 - (R / (R + e d)) ** a exactly, d = round(365.25 y)."""
    n = 200
    x = fit.ReattackExposure(3, 1000, 2000, "test")
    draws = {"truce_shape": np.full(n, 1.0), "truce_scale": np.full(n, 1e-12),
             "lambda_retruce": np.full(n, 1e-12), "e_collapse": np.full(n, 2.0)}
    out = fit.reattack_hindcast([1, 2], draws, x, np.random.default_rng(0), paths=4)
    for row in out:
        rate = 1000 + 2.0 * 2000
        exact = 1 - (rate / (rate + 2.0 * row["days"])) ** 3.5
        assert row["mean"] == pytest.approx(exact, rel=1e-9)
        assert row["se"] < 1e-9


def test_reattack_hindcast_default_priors():
    """The posterior predictive of the shipped record with the default priors:
    the mean lies inside the 90% interval over draws, and grows with y."""
    rng = np.random.default_rng(11)
    f = fit.fit_record()
    n = 2000
    cfg = config.parse({"study": {"name": "t", "runs": 1, "seed": 0}})
    from deterrence import priors

    e = priors.distribution(cfg.prior("e_collapse")).rvs(n, random_state=rng)
    shape_scale = f.truce.draws(n, rng)
    draws = {"truce_shape": shape_scale[:, 0], "truce_scale": shape_scale[:, 1],
             "lambda_retruce": rng.gamma(f.retruce.shape, f.retruce.scale, n), "e_collapse": e}
    out = fit.reattack_hindcast([1, 2], draws, fit.reattack_exposure(f.record), rng)
    assert out[0]["mean"] < out[1]["mean"]
    for row in out:
        assert row["p05"] < row["mean"] < row["p95"]
        assert 0 < row["se"] < 0.01
    # The record itself: 3 offensives in about 7.7 years, about 0.3 a year.
    assert 0.2 < out[0]["mean"] < 0.5


# ---------------------------------------------------------------- durable truces

@pytest.mark.parametrize("shape, scale, p", [(0.8, 40.0, 0.0), (1.3, 30.0, 0.2), (2.0, 10.0, 1.0)])
def test_cure_survival_closed_form(shape, scale, p):
    t = np.array([0.0, scale, 3 * scale, 1e9])
    s = fit.cure_survival(t, shape, scale, p)
    assert s[0] == 1.0
    assert s[1] == pytest.approx(p + (1 - p) * np.exp(-1.0))
    assert s[2] == pytest.approx(p + (1 - p) * np.exp(-(3.0 ** shape)))
    assert s[3] == pytest.approx(p)


def test_cure_likelihood_equals_the_plain_weibull_at_p_zero():
    d = fit.fit_record().truce_data
    x = np.log([0.8, 40.0])
    assert fit.cure_negloglik(np.array([*x, -40.0]), d) == pytest.approx(fit.weibull_negloglik(x, d), rel=1e-12)


def test_cure_fit_recovers_a_known_durable_share():
    rng = np.random.default_rng(21)
    shape, scale, p, n = 1.2, 30.0, 0.25, 600
    t = np.where(rng.random(n) < p, np.inf, scale * rng.weibull(shape, n))
    follow = rng.uniform(50, 400, n)        # observation ends at a random time
    data = fit.TruceData(t[t <= follow], follow[t > follow], np.empty(0), np.empty(0))
    c = fit.fit_cure(data)
    assert abs(np.log(c.shape / shape)) < Z * c.se("shape")
    assert abs(np.log(c.scale / scale)) < Z * c.se("scale")
    assert abs(c.p_durable - p) < Z * c.se_p


def test_cure_fit_of_the_record_beats_the_plain_weibull():
    f = fit.fit_record()
    c = f.cure
    assert c.loglik > f.truce.loglik
    assert c.aic < fit.aic(f.truce.loglik, 2)
    assert 0 < c.p_durable < 0.5 and c.se_p > 0
    # Independent check: the same likelihood written with scipy.stats.
    d = f.truce_data

    def nll(x):
        w, q = stats.weibull_min(np.exp(x[0]), scale=np.exp(x[1])), 1 / (1 + np.exp(-x[2]))
        return -(np.log((1 - q) * w.pdf(d.exact)).sum() + np.log(q + (1 - q) * w.sf(d.right)).sum()
                 + np.log((1 - q) * (w.sf(d.lower) - w.sf(d.upper))).sum())

    res = optimize.minimize(nll, [0.0, 3.0, -2.0], method="Nelder-Mead",
                            options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 20000})
    assert -res.fun == pytest.approx(c.loglik, abs=1e-6)
    assert np.exp(res.x[:2]) == pytest.approx([c.shape, c.scale], rel=1e-3)


def test_cure_priors():
    c = fit.fit_record().cure
    p = fit.cure_prior("p_durable")
    dist = stats.beta(p.get("a"), p.get("b"))
    assert dist.mean() == pytest.approx(c.p_durable) and dist.std() == pytest.approx(c.se_p)
    assert fit.cure_prior("truce_shape").get("median") == c.shape
    first = fit.cure_prior("p_durable_first")
    assert first.dist == "beta" and "Fortna" in first.source
    assert stats.beta(first.get("a"), first.get("b")).mean() == pytest.approx(0.5)
    with pytest.raises(UserError, match="durable-truce model fits only"):
        fit.cure_prior("mu_war")


def test_beta_matching_refuses_impossible_moments():
    assert fit.beta_matching(0.5, 0.1) == pytest.approx((12.0, 12.0))
    with pytest.raises(UserError, match="no beta distribution"):
        fit.beta_matching(0.5, 0.6)


def test_truce_strength_fit_on_the_record():
    """The joint fit of truce strength: an interior maximum on the whole record,
    above the plain Weibull and NB (its limit strength_var -> 0) by the
    likelihood of one more parameter; on the record to 2018 (five counted
    truce periods) the maximum is on the boundary, strength_var = 0, where
    it is the separate plain fits."""
    import datetime

    from deterrence import validate

    rec = record.load()
    s = fit.fit_strength(rec)
    f = fit.fit_record()
    plain = f.truce.loglik + f.nb["truce"].loglik
    assert 0.01 < s.get("strength_var") < 1.0 and not s.boundary
    assert s.loglik > plain + 1.0
    assert s.n == len(rec.truces) and s.periods == len(f.nb_data["truce"][0])
    early = fit.fit_strength(validate.truncate(rec, datetime.date(2018, 12, 31)))
    assert early.boundary and early.se("strength_var") == 0.0
    f18 = fit.fit_loaded(validate.truncate(rec, datetime.date(2018, 12, 31)))
    assert early.loglik == pytest.approx(f18.truce.loglik + f18.nb["truce"].loglik, abs=1e-4)
    assert early.get("truce_shape") == pytest.approx(f18.truce.get("shape"), rel=1e-4)
    assert early.get("mu_truce") == pytest.approx(f18.nb["truce"].get("mu"), rel=1e-4)


def test_strength_nodes_are_the_gamma_law():
    """Equal-weight quantile nodes: mean 1 and variance near strength_var."""
    w = fit.strength_nodes(0.5)
    assert w.mean() == pytest.approx(1.0, abs=0.01) and w.var() == pytest.approx(0.5, rel=0.05)
    assert list(fit.strength_nodes(0.0)) == [1.0]
