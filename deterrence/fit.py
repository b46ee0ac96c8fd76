"""Priors fitted from the record in ``seeds/`` (see ``seeds/README.md``).

- Truce durations (truces.csv): Weibull(shape, scale) by maximum likelihood,
  exact failures by their density, right-censored rows (``censored = 1``) by
  the survival function, interval-censored rows (``end_rule =
  osce_upper_bound``) by S(lower) - S(upper), the lower bound being
  ``end_lower_date`` or, where empty, the start. Uncertainty: the inverse
  observed information (numerical Hessian of the negative log-likelihood in
  log-parameters); each prior is lognormal(median = MLE, sigma = SE of the
  log-parameter), so the shape-scale correlation is dropped.
- OSCE counts (violations.csv): a period of d days with total N is
  NB(mean d mu, size d k), the exact sum of d independent daily NB(mu, k)
  counts; (mu, k) by maximum likelihood per regime, lognormal priors as above.
  Rows used: ``kind = count`` (not ``aggregate`` or ``mixed``) and ``region =
  Donetsk and Luhansk`` (Donetsk-only rows undercount the line).
- Event rates (exposures.csv): events E over exposure T days give the gamma
  posterior Gamma(E + 1/2, rate T) under the Jeffreys prior for a Poisson rate.

This module does not import ``deterrence.config``: the config calls
``record_prior(name)`` for tables with ``fit = "record"``.
"""

import functools
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import optimize, special

from deterrence import UserError, record
from deterrence.model import Prior

# Exposure rows used (column `phase` of exposures.csv; seeds/README.md says "use one").
CEASEFIRE_PHASES = ("war_before_first_ceasefire_2014", "full_scale_war_2022_to_cutoff")
CEASEFIRE_ALTERNATIVE = ("war_before_first_ceasefire_2014", "full_scale_war_2022_verified_span")
REATTACK_PHASES = ("ceasefire_era_2014_2022",)
REATTACK_ALTERNATIVE = ("post_minsk2_era",)
JEFFREYS_SHAPE = 0.5


@dataclass(frozen=True)
class TwoParameterFit:
    """MLE of two positive parameters with the covariance of their logs."""
    names: tuple[str, str]
    values: tuple[float, float]
    cov_log: tuple[tuple[float, float], tuple[float, float]]
    loglik: float
    n: int

    @property
    def se_log(self) -> tuple[float, float]:
        return math.sqrt(self.cov_log[0][0]), math.sqrt(self.cov_log[1][1])

    @property
    def corr(self) -> float:
        return self.cov_log[0][1] / (self.se_log[0] * self.se_log[1])

    def get(self, name: str) -> float:
        return self.values[self.names.index(name)]

    def se(self, name: str) -> float:
        """SE of log(parameter) (about the relative SE of the parameter)."""
        return self.se_log[self.names.index(name)]

    def draws(self, n: int, rng: np.random.Generator, correlated: bool = False) -> np.ndarray:
        """(n, 2) parameter draws: independent lognormals (the priors) or,
        with ``correlated``, the bivariate lognormal of the full covariance."""
        cov = np.array(self.cov_log) if correlated else np.diag(np.array(self.se_log) ** 2)
        z = rng.multivariate_normal(np.log(self.values), cov, size=n)
        return np.exp(z)


@dataclass(frozen=True)
class GammaRate:
    """Gamma posterior of a Poisson rate (per day)."""
    events: int
    exposure_days: int
    phases: tuple[str, ...]

    @property
    def shape(self) -> float:
        return self.events + JEFFREYS_SHAPE

    @property
    def scale(self) -> float:
        return 1.0 / self.exposure_days

    @property
    def mean(self) -> float:
        return self.shape * self.scale


@dataclass(frozen=True)
class TruceData:
    """Durations in days: exact failures, right-censoring times, interval (lower, upper]."""
    exact: np.ndarray
    right: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @property
    def n(self) -> int:
        return len(self.exact) + len(self.right) + len(self.lower)


# ---------------------------------------------------------------- numerics

def hessian(f, x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of a scalar function."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    h = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            ei, ej = np.eye(n)[i] * step, np.eye(n)[j] * step
            h[i, j] = h[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej)
                                 + f(x - ei - ej)) / (4.0 * step * step)
    return h


def _maximise(negloglik, start, names, n) -> TwoParameterFit:
    best = None
    for method in ("BFGS", "Nelder-Mead"):
        res = optimize.minimize(negloglik, start if best is None else best.x, method=method,
                                options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000}
                                if method == "Nelder-Mead" else {"gtol": 1e-8})
        if best is None or res.fun <= best.fun:
            best = res
    info = hessian(negloglik, best.x)
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        cov = np.full((2, 2), np.nan)
    if not (np.all(np.isfinite(cov)) and np.all(np.diag(cov) > 0)):
        raise UserError(f"fit of {names} did not converge to a proper maximum; check the record")
    values = tuple(float(v) for v in np.exp(best.x))
    return TwoParameterFit(names, values, tuple(tuple(float(c) for c in row) for row in cov),
                           float(-best.fun), n)


# ---------------------------------------------------------------- Weibull

def weibull_negloglik(log_params, data: TruceData) -> float:
    """Negative log-likelihood of Weibull(shape, scale) in log-parameters."""
    shape, scale = np.exp(log_params)
    ll = 0.0
    if len(data.exact):
        z = data.exact / scale
        ll += np.sum(np.log(shape / scale) + (shape - 1.0) * np.log(z) - z ** shape)
    if len(data.right):
        ll -= np.sum((data.right / scale) ** shape)
    if len(data.lower):
        h_lo = (data.lower / scale) ** shape
        h_hi = (data.upper / scale) ** shape
        # log(S(lo) - S(hi)) = -H(lo) + log(1 - exp(-(H(hi) - H(lo))))
        ll += np.sum(-h_lo + np.log(-np.expm1(-(h_hi - h_lo))))
    return float(-ll) if np.isfinite(ll) else 1e300


def fit_weibull(data: TruceData) -> TwoParameterFit:
    all_times = np.concatenate([data.exact, data.right, data.upper])
    start = np.array([0.0, math.log(max(np.mean(all_times), 1.0))])
    return _maximise(lambda x: weibull_negloglik(x, data), start, ("shape", "scale"), data.n)


def truce_data(truces, interval: str = "interval") -> TruceData:
    """Durations of the truces; ``interval`` says how osce_upper_bound rows
    enter: "interval" (lower, upper], "upper" or "lower" (exact at that bound)."""
    exact, right, lower, upper = [], [], [], []
    for t in truces:
        if t.censored:
            right.append(t.days)
        elif t.interval_censored and interval == "interval":
            lower.append(t.lower_days)
            upper.append(t.days)
        elif t.interval_censored and interval == "lower":
            exact.append(max(t.lower_days, 0.5))
        else:
            exact.append(max(t.days, 0.5))
    return TruceData(*(np.array(v, dtype=float) for v in (exact, right, lower, upper)))


def merged_2020_2021(truces) -> tuple:
    """The alternative of seeds/README.md (judgment call 3): the July 2020 truce
    and its Dec 2021 recommitment as one uncensored episode ending 2022-02-17."""
    out = list(truces)
    for i in range(len(out) - 1):
        a, b = out[i], out[i + 1]
        if a.end_rule == "superseded" and a.end_date == b.start_date and a.name.startswith("Measures"):
            out[i:i + 2] = [replace(b, name=f"{a.name} + {b.name}", start_date=a.start_date,
                                    agreed_date=a.agreed_date)]
            break
    return tuple(out)


# ---------------------------------------------------------------- negative binomial

def nbinom_negloglik(log_params, days: np.ndarray, totals: np.ndarray) -> float:
    """Negative log-likelihood of period totals N_i ~ NB(mean d_i mu, size d_i k)."""
    mu, k = np.exp(log_params)
    size = days * k
    ll = (special.gammaln(totals + size) - special.gammaln(size) - special.gammaln(totals + 1.0)
          + size * np.log(k / (k + mu)) + totals * np.log(mu / (k + mu)))
    s = np.sum(ll)
    return float(-s) if np.isfinite(s) else 1e300


def fit_nbinom(days, totals) -> TwoParameterFit:
    days, totals = np.asarray(days, float), np.asarray(totals, float)
    rates = totals / days
    mean = max(float(np.sum(totals) / np.sum(days)), 1e-3)
    var = float(np.var(rates)) if len(rates) > 1 else mean
    k0 = min(max(mean * mean / max(var - mean, 1e-9), 1e-2), 1e3)
    start = np.log([mean, k0])
    return _maximise(lambda x: nbinom_negloglik(x, days, totals), start, ("mu", "k"), len(totals))


def violation_periods(violations, regime: str) -> tuple[np.ndarray, np.ndarray]:
    """(days, totals) of the rows used for one regime's NB fit."""
    rows = [v for v in violations
            if v.regime == regime and v.kind == "count" and v.region == record.BOTH_REGIONS]
    return (np.array([v.days for v in rows], dtype=float),
            np.array([v.violations for v in rows], dtype=float))


# ---------------------------------------------------------------- event rates

def gamma_rate(exposures, phases) -> GammaRate:
    rows = [e for e in exposures if e.phase in phases]
    missing = set(phases) - {e.phase for e in rows}
    if missing:
        raise UserError(f"exposures.csv: no row with phase {sorted(missing)[0]!r}; "
                        f"deterrence.fit needs it (see seeds/README.md)")
    return GammaRate(sum(e.events for e in rows), sum(e.days for e in rows), tuple(phases))


def retruce_rate(exposures) -> GammaRate:
    rows = [e for e in exposures if e.quantity == "retruce"]
    return GammaRate(sum(e.events for e in rows), sum(e.days for e in rows), ("retruce",))


# ---------------------------------------------------------------- the record's fits

@dataclass(frozen=True)
class RecordFit:
    record: record.Record
    truce: TwoParameterFit
    truce_data: TruceData
    nb: dict            # regime -> TwoParameterFit
    nb_data: dict       # regime -> (days, totals)
    retruce: GammaRate
    reattack: GammaRate
    reattack_alternative: GammaRate
    ceasefire: GammaRate
    ceasefire_alternative: GammaRate

    def truce_counts(self) -> tuple[int, int, int]:
        d = self.truce_data
        return len(d.exact), len(d.lower), len(d.right)


@functools.cache
def fit_record(folder: str | None = None) -> RecordFit:
    """Every fit of the record in ``folder`` (default: the shipped seeds/), once."""
    rec = record.load(folder)
    data = truce_data(rec.truces)
    nb, nb_data = {}, {}
    for regime in record.REGIMES:
        nb_data[regime] = violation_periods(rec.violations, regime)
        if len(nb_data[regime][0]) < 3:
            raise UserError(f"{rec.folder / 'violations.csv'}: fewer than 3 usable {regime} rows "
                            f"for the negative-binomial fit")
        nb[regime] = fit_nbinom(*nb_data[regime])
    return RecordFit(rec, fit_weibull(data), data, nb, nb_data, retruce_rate(rec.exposures),
                     gamma_rate(rec.exposures, REATTACK_PHASES),
                     gamma_rate(rec.exposures, REATTACK_ALTERNATIVE),
                     gamma_rate(rec.exposures, CEASEFIRE_PHASES),
                     gamma_rate(rec.exposures, CEASEFIRE_ALTERNATIVE))


def _lognormal(name: str, fit: TwoParameterFit, key: str, source: str) -> Prior:
    return Prior(name, "lognormal", (("median", fit.get(key)), ("sigma", fit.se(key))), source, "record")


def _gamma(name: str, rate: GammaRate, source: str) -> Prior:
    return Prior(name, "gamma", (("shape", rate.shape), ("scale", rate.scale)), source, "record")


def _truce_source(f: RecordFit, key: str) -> str:
    n_exact, n_interval, n_right = f.truce_counts()
    t = f.truce
    return (f"Weibull MLE from seeds/truces.csv ({t.n} truces: {n_exact} exact, {n_interval} "
            f"interval-censored in (end_lower_date or start, end_date], {n_right} right-censored): "
            f"shape {t.get('shape'):.3g}, scale {t.get('scale'):.3g} days; lognormal(median = MLE, "
            f"sigma = SE of log {key} {t.se(key):.3g} from the observed information); "
            f"shape-scale correlation {t.corr:+.2f} ignored")


def _nb_source(f: RecordFit, regime: str, key: str) -> str:
    fit = f.nb[regime]
    days, _ = f.nb_data[regime]
    return (f"Negative-binomial MLE from seeds/violations.csv, regime {regime} ({fit.n} periods, "
            f"{int(days.sum())} days; rows with kind=count and region '{record.BOTH_REGIONS}', "
            f"aggregate/mixed and Donetsk-only rows excluded; a d-day total is NB(d mu, d k)): "
            f"mu {fit.get('mu'):.3g}/day, k {fit.get('k'):.3g}; lognormal(median = MLE, "
            f"sigma = SE of log {key} {fit.se(key):.3g}); mu-k correlation {fit.corr:+.2f} ignored")


def _rate_source(what: str, rate: GammaRate, alt: GammaRate | None) -> str:
    text = (f"Gamma posterior (Jeffreys prior) of {what} from seeds/exposures.csv "
            f"(phase {' + '.join(rate.phases)}): {rate.events} event(s) in {rate.exposure_days} days "
            f"-> Gamma(shape {rate.shape:g}, rate {rate.exposure_days}), mean {rate.mean:.3g}/day")
    if alt is not None:
        text += (f"; alternative rows {' + '.join(alt.phases)} give {alt.events} in "
                 f"{alt.exposure_days} days, mean {alt.mean:.3g}/day")
    return text


FITTED = ("lambda_c0", "truce_shape", "truce_scale", "lambda_retruce", "lambda_a0",
          "mu_truce", "k_truce", "mu_war", "k_war")


def record_prior(name: str, folder: str | Path | None = None) -> Prior:
    """The prior of one parameter fitted from the record (see the module docstring)."""
    if name not in FITTED:
        raise UserError(f"priors.{name}: no fit from the record exists for this parameter; "
                        f"give dist and its hyperparameters")
    f = fit_record(None if folder is None else str(folder))
    if name == "truce_shape":
        return _lognormal(name, f.truce, "shape", _truce_source(f, "shape"))
    if name == "truce_scale":
        return _lognormal(name, f.truce, "scale", _truce_source(f, "scale"))
    if name in ("mu_truce", "k_truce", "mu_war", "k_war"):
        key, regime = name.split("_")
        return _lognormal(name, f.nb[regime], key, _nb_source(f, regime, key))
    if name == "lambda_retruce":
        return _gamma(name, f.retruce, _rate_source(
            "the rate of a new truce after a collapse (war gaps between truces; gaps after "
            "osce_upper_bound truces are lower bounds, so the rate is if anything high)", f.retruce, None))
    if name == "lambda_a0":
        return _gamma(name, f.reattack, _rate_source(
            "the rate of a major offensive after the first ceasefire", f.reattack, f.reattack_alternative))
    return _gamma(name, f.ceasefire, _rate_source(
        "the rate of a general ceasefire in war without one (record cut-off 2026-11-01)",
        f.ceasefire, f.ceasefire_alternative))
