"""Fits of the record: recovery of known parameters from synthetic data,
an independent check of the truce fit, closed-form gamma posteriors, and the
priors handed to the config. All seeds fixed."""

import csv
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, stats

from deterrence import UserError, config, fit, shipped
from deterrence.model import PARAMETER_NAMES

SEEDS = Path(shipped("seeds"))
Z = 3.0   # tolerance in estimated standard errors


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
    prior = fit.record_prior(name)
    assert prior.dist == "gamma" and prior.fit == "record"
    assert prior.get("shape") == pytest.approx(events + 0.5)
    assert prior.get("scale") == pytest.approx(1.0 / exposure)
    assert "seeds/exposures.csv" in prior.source


def test_known_values_of_the_rate_fits():
    assert fit.record_prior("lambda_c0").params == (("shape", 1.5), ("scale", 1 / 1780))
    assert fit.record_prior("lambda_a0").params == (("shape", 3.5), ("scale", 1 / 2806))


def test_lognormal_priors_carry_mle_and_standard_error():
    f = fit.fit_record()
    for name, est, key in (("truce_shape", f.truce, "shape"), ("truce_scale", f.truce, "scale"),
                           ("mu_truce", f.nb["truce"], "mu"), ("k_truce", f.nb["truce"], "k"),
                           ("mu_war", f.nb["war"], "mu"), ("k_war", f.nb["war"], "k")):
        prior = fit.record_prior(name)
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
    assert fitted == set(fit.FITTED)
    assert set(fit.FITTED) <= set(PARAMETER_NAMES)
    for name in fitted:
        assert cfg.prior(name).params == fit.record_prior(name).params
