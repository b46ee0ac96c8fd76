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

- Which record rows feed each fitted rate is a named choice in
  ``RECORD_ROWS`` (a default and alternatives, each with its reason);
  ``record_prior(name, rows=CHOICE)`` fits under one of them.
- Durable truces: a cure-fraction Weibull, S(t) = p + (1 - p) exp(-(t/scale)^shape),
  by maximum likelihood on the same rows (``fit_cure``), compared with the
  plain Weibull by log-likelihood and AIC.
- Truce strength: a shared gamma frailty of each truce's collapse hazard and
  violation rate, fitted jointly to truces.csv and violations.csv
  (``fit_strength``); the priors of ``[model] truces = "strength"``
  (``strength_prior``).
- Joint re-attack calibration: ``reattack_exposure`` splits the exposure of
  the re-attack rows into truce days and fighting-gap days, so that
  lambda_a0 | e_collapse ~ Gamma(E + 1/2, rate = truce_days + e_collapse * gap_days).

This module does not import ``deterrence.config``: the config calls
``record_prior(name)`` for tables with ``fit = "record"``.

The table of fits: ``deterrence/fits.json`` holds every record prior of the
shipped seeds/ (``fits_table``), so that loading a config imports no scipy;
``record_prior`` uses it only while its SHA-256 digest of seeds/*.csv, this
module and record.py matches, and fits afresh otherwise. After editing any
of them, regenerate it with ``python -m deterrence.fit --write-cache``.
"""

import functools
import hashlib
import itertools
import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from deterrence import UserError, record
from deterrence.model import CHOICES, DEFAULT_CHOICES, MODEL_CHOICES, PARAMETERS, Prior, choice

JEFFREYS_SHAPE = 0.5


@dataclass(frozen=True)
class RowChoice:
    """One named selection of exposures.csv rows (column ``phase``) behind a rate."""
    phases: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class RateRows:
    """The choices of record rows for one fitted rate, and the default one."""
    default: str
    choices: dict[str, RowChoice]


# One table of record choices per fitted rate (seeds/README.md, "Record rows").
# A config picks one with [priors.NAME] fit = "record", rows = "CHOICE".
RECORD_ROWS: dict[str, RateRows] = {
    "lambda_c0": RateRows("all_ceasefires", {
        "all_ceasefires": RowChoice(
            ("war_before_first_ceasefire_2014", "full_scale_war_2022_to_cutoff"),
            "every general ceasefire along the whole line counts, as in truces.csv: the first is "
            "Kyiv's unilateral ceasefire of 20 Jun 2014 (1 event in 69 days), then no ceasefire "
            "in the full-scale war to the cut-off"),
        "bilateral_only": RowChoice(
            ("war_before_bilateral_ceasefire_2014", "full_scale_war_2022_to_cutoff"),
            "only ceasefires both sides signed count (Moscow's veto is about a ceasefire it "
            "agrees to): the first is the Minsk Protocol of 5 Sep 2014 (1 event in 146 days)"),
        "full_scale_war_only": RowChoice(
            ("full_scale_war_2022_to_cutoff",),
            "only the full-scale war informs its own first ceasefire: the 2014 proxy war is a "
            "different war, so its early ceasefire is left out (0 events)"),
        "verified_span": RowChoice(
            ("war_before_first_ceasefire_2014", "full_scale_war_2022_verified_span"),
            "as all_ceasefires, the 2022 row ending at the last date actually checked (4 Feb 2026)"),
    }),
    "lambda_a0": RateRows("ceasefire_era", {
        "ceasefire_era": RowChoice(
            ("ceasefire_era_2014_2022",),
            "from the first general ceasefire (20 Jun 2014) to the invasion: 3 major offensives, "
            "the model's re-attack clock starting at the first ceasefire as lambda_c0's default does"),
        "bilateral_era": RowChoice(
            ("bilateral_ceasefire_era_2014_2022",),
            "from the Minsk Protocol (5 Sep 2014), the first bilateral ceasefire: 2 offensives; "
            "pairs with lambda_c0 rows = bilateral_only"),
        "post_minsk2": RowChoice(
            ("post_minsk2_era",),
            "after Debaltseve (20 Feb 2015): 1 offensive; treats the 2014-2015 offensives as the "
            "war's opening phase rather than re-attacks on a settled ceasefire"),
    }),
    "lambda_retruce": RateRows("all_gaps", {
        "all_gaps": RowChoice(
            (), "every war gap between two truces, one new truce each (the rows of quantity "
                "retruce; gaps after osce_upper_bound truces are lower bounds)"),
    }),
}


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

def signed(x: float) -> str:
    """x with its sign to two decimals, a rounded zero as +0.00 (the sign of
    a correlation that rounds to zero differs between machines)."""
    text = f"{x:+.2f}"
    return "+0.00" if text == "-0.00" else text


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


def _optimum(negloglik, start, names) -> tuple[np.ndarray, np.ndarray, float]:
    """Minimiser, inverse observed information and maximised log-likelihood."""
    from scipy import optimize

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
        cov = np.full(info.shape, np.nan)
    if not (np.all(np.isfinite(cov)) and np.all(np.diag(cov) > 0)):
        raise UserError(f"fit of {names} did not converge to a proper maximum; check the record")
    return best.x, cov, float(-best.fun)


def _maximise(negloglik, start, names, n) -> TwoParameterFit:
    x, cov, loglik = _optimum(negloglik, start, names)
    values = tuple(float(v) for v in np.exp(x))
    return TwoParameterFit(names, values, tuple(tuple(float(c) for c in row) for row in cov), loglik, n)


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


def aic(loglik: float, parameters: int) -> float:
    """Akaike information criterion, 2 k - 2 log L (lower is better)."""
    return 2.0 * parameters - 2.0 * loglik


# ---------------------------------------------------------------- cure-fraction Weibull

@dataclass(frozen=True)
class CureFit:
    """Cure-fraction Weibull MLE: a share ``p_durable`` of truces never
    collapses, the rest collapse after Weibull(shape, scale) days.
    ``cov`` is the inverse observed information of (log shape, log scale, logit p)."""
    shape: float
    scale: float
    p_durable: float
    cov: tuple[tuple[float, ...], ...]
    loglik: float
    n: int

    @property
    def aic(self) -> float:
        return aic(self.loglik, 3)

    def se(self, name: str) -> float:
        """SE of log shape, log scale or logit p_durable."""
        i = ("shape", "scale", "p_durable").index(name)
        return math.sqrt(self.cov[i][i])

    @property
    def se_p(self) -> float:
        """SE of p_durable itself (delta method from the logit)."""
        return self.p_durable * (1.0 - self.p_durable) * self.se("p_durable")

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, 3) draws of (shape, scale, p_durable) from the normal
        approximation of the likelihood in (log, log, logit), correlations kept."""
        from scipy import special

        mean = [math.log(self.shape), math.log(self.scale), special.logit(self.p_durable)]
        z = rng.multivariate_normal(mean, np.array(self.cov), size=n)
        return np.column_stack([np.exp(z[:, 0]), np.exp(z[:, 1]), special.expit(z[:, 2])])


def cure_survival(t, shape: float, scale: float, p_durable: float):
    """S(t) = p + (1 - p) exp(-(t / scale) ** shape)."""
    return p_durable + (1.0 - p_durable) * np.exp(-(np.asarray(t, float) / scale) ** shape)


def cure_negloglik(params, data: TruceData) -> float:
    """Negative log-likelihood of the cure-fraction Weibull in (log shape,
    log scale, logit p): exact rows (1-p) f(t), right-censored rows S(t),
    interval rows (1-p) (S_w(lower) - S_w(upper))."""
    shape, scale = np.exp(params[:2])
    log_p, log_q = -np.logaddexp(0.0, -params[2]), -np.logaddexp(0.0, params[2])
    ll = 0.0
    if len(data.exact):
        z = data.exact / scale
        ll += np.sum(log_q + np.log(shape / scale) + (shape - 1.0) * np.log(z) - z ** shape)
    if len(data.right):
        ll += np.sum(np.logaddexp(log_p, log_q - (data.right / scale) ** shape))
    if len(data.lower):
        h_lo = (data.lower / scale) ** shape
        h_hi = (data.upper / scale) ** shape
        ll += np.sum(log_q - h_lo + np.log(-np.expm1(-(h_hi - h_lo))))
    return float(-ll) if np.isfinite(ll) else 1e300


def fit_cure(data: TruceData) -> CureFit:
    """Cure-fraction Weibull by maximum likelihood, started at the plain fit."""
    from scipy import special

    plain = fit_weibull(data)
    start = np.array([*np.log(plain.values), special.logit(0.05)])
    x, cov, loglik = _optimum(lambda v: cure_negloglik(v, data), start,
                              ("shape", "scale", "p_durable"))
    return CureFit(float(np.exp(x[0])), float(np.exp(x[1])), float(special.expit(x[2])),
                   tuple(tuple(float(c) for c in row) for row in cov), loglik, data.n)


def beta_matching(mean: float, sd: float) -> tuple[float, float]:
    """Beta(a, b) with the given mean and standard deviation (method of moments)."""
    if not (0.0 < mean < 1.0 and 0.0 < sd * sd < mean * (1.0 - mean)):
        raise UserError(f"no beta distribution has mean {mean:.3g} and SD {sd:.3g}")
    total = mean * (1.0 - mean) / (sd * sd) - 1.0
    return mean * total, (1.0 - mean) * total


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
    from scipy import special

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

def row_choice(parameter: str, rows: str | None = None) -> tuple[str, RowChoice]:
    """The named choice of record rows for a fitted rate (None: its default)."""
    table = RECORD_ROWS[parameter]
    name = table.default if rows is None else rows
    if name not in table.choices:
        raise UserError(f"priors.{parameter}.rows: unknown choice {name!r}; "
                        f"choose one of {', '.join(table.choices)}")
    return name, table.choices[name]


def _exposure_rows(exposures, parameter: str, rows: str | None):
    name, choice = row_choice(parameter, rows)
    if not choice.phases:
        return name, [e for e in exposures if e.quantity == "retruce"]
    used = [e for e in exposures if e.phase in choice.phases]
    missing = set(choice.phases) - {e.phase for e in used}
    if missing:
        raise UserError(f"exposures.csv: no row with phase {sorted(missing)[0]!r}; "
                        f"rows = {name!r} of {parameter} needs it (see seeds/README.md)")
    return name, used


def choice_rate(exposures, parameter: str, rows: str | None = None) -> GammaRate:
    """Gamma posterior of ``parameter``'s rate over the chosen exposure rows."""
    name, used = _exposure_rows(exposures, parameter, rows)
    return GammaRate(sum(e.events for e in used), sum(e.days for e in used),
                     tuple(e.phase for e in used) if RECORD_ROWS[parameter].choices[name].phases
                     else ("retruce",))


@dataclass(frozen=True)
class ReattackExposure:
    """The re-attack rows split into the days at risk in truces and in fighting
    gaps, so that a hazard lambda_a0 in truces and e_collapse * lambda_a0 in
    gaps has the likelihood lambda^E exp(-lambda (truce_days + e gap_days))
    and, with the Jeffreys prior, the conditional posterior
    lambda_a0 | e_collapse ~ Gamma(E + 1/2, rate = truce_days + e_collapse * gap_days).
    Days inside a major offensive are not at risk of a new one and count in neither."""
    events: int
    truce_days: int
    gap_days: int
    rows: str

    @property
    def shape(self) -> float:
        return self.events + JEFFREYS_SHAPE

    def rate(self, e_collapse):
        """Gamma rate (days) of lambda_a0 given e_collapse."""
        return self.truce_days + np.asarray(e_collapse, float) * self.gap_days


def truce_mask(truces, start, days: int) -> np.ndarray:
    """Days (from ``start``) inside a truce. An interval-censored truce is
    taken to end at the midpoint of (end_lower_date or start, end_date]: the
    upper bound alone would count weeks of fighting as truce."""
    mask = np.zeros(days, dtype=bool)
    for t in truces:
        end = (t.lower_days + t.days) // 2 if t.interval_censored else t.days
        first = (t.start_date - start).days
        mask[max(first, 0):max(min(first + end, days), 0)] = True
    return mask


def reattack_exposure(rec: record.Record, rows: str | None = None) -> ReattackExposure:
    """Truce days and gap days at risk of a re-attack over the chosen rows."""
    name, used = _exposure_rows(rec.exposures, "lambda_a0", rows)
    truce_days = gap_days = 0
    for e in used:
        in_truce = truce_mask(rec.truces, e.start_date, e.days)
        at_risk = np.ones(e.days, dtype=bool)
        for o in rec.offensives:
            first = (o.start_date - e.start_date).days
            last = e.days if o.end_date is None else (o.end_date - e.start_date).days
            # The offensive's first day is the event itself and stays at risk.
            at_risk[max(first + 1, 0):max(min(last, e.days), 0)] = False
        truce_days += int(np.sum(in_truce & at_risk))
        gap_days += int(np.sum(~in_truce & at_risk))
    return ReattackExposure(sum(e.events for e in used), truce_days, gap_days, name)


def reattack_hindcast(years, draws: dict, exposure: ReattackExposure,
                      rng: np.random.Generator, paths: int = 64) -> list[dict]:
    """Posterior predictive P(a re-attack within ``years``) of a ceasefire at
    day 0 with no force, under the joint calibration.

    ``draws`` holds equal-length arrays of truce_shape, truce_scale,
    lambda_retruce, e_collapse and optionally p_durable (share of truces that
    never collapse; 0 without it) and p_durable_first (the same for the first
    truce; p_durable without it). For each draw, ``paths`` truce/gap alternations give the
    truce days D_t and gap days D_g before the horizon; integrating lambda_a0
    over its conditional Gamma(a, R(e)) posterior gives
        P(none by y | draw, path) = (R(e) / (R(e) + D_t + e D_g)) ** a,
    so the predictive is 1 - the mean of that over draws and paths. Returns,
    per horizon: the predictive ``mean`` and its Monte Carlo ``se`` (SD of the
    per-draw means / sqrt(draws)), and ``p05``/``p95``, the 90% interval over
    draws of P(re-attack within y | all parameters, lambda_a0 drawn too).
    "Within y years" means before round(365.25 y) days, as the tallies count."""
    shape, scale = draws["truce_shape"][:, None], draws["truce_scale"][:, None]
    retruce, e = draws["lambda_retruce"][:, None], draws["e_collapse"][:, None]
    p_durable = draws.get("p_durable", np.zeros(len(e)))[:, None]
    p_first = draws.get("p_durable_first", p_durable[:, 0])[:, None]
    n = len(e)
    horizons = [round(365.25 * y) for y in years]
    limit = max(horizons)
    in_truce = np.zeros((n, paths, len(horizons)))
    in_gap = np.zeros_like(in_truce)
    clock = np.zeros((n, paths))
    share = p_first
    while np.any(clock < limit):
        # A durable truce never collapses, which ends the cycle of that path.
        cured = rng.random((n, paths)) < share
        share = p_durable
        length = np.where(cured, np.inf, scale * rng.weibull(shape, size=(n, paths)))
        gap = rng.exponential(1.0, size=(n, paths)) / retruce
        for j, h in enumerate(horizons):
            truce_end = np.minimum(clock + length, h)
            in_truce[:, :, j] += np.maximum(truce_end - np.minimum(clock, h), 0.0)
            in_gap[:, :, j] += np.maximum(np.minimum(clock + length + gap, h) - truce_end, 0.0)
        clock = clock + length + gap
    rate = exposure.rate(e)[:, :, None]
    x = in_truce + e[:, :, None] * in_gap
    none = np.mean((rate / (rate + x)) ** exposure.shape, axis=1)        # (n, horizons)
    lam = rng.gamma(exposure.shape, 1.0, size=(n, 1, 1)) / rate
    cond = 1.0 - np.mean(np.exp(-lam * x), axis=1)
    out = []
    for j, y in enumerate(years):
        low, high = np.quantile(cond[:, j], [0.05, 0.95])
        out.append({"years": y, "days": horizons[j], "mean": float(1.0 - none[:, j].mean()),
                    "se": float(none[:, j].std(ddof=1) / math.sqrt(n)),
                    "p05": float(low), "p95": float(high)})
    return out


# ---------------------------------------------------------------- the record's fits

@dataclass(frozen=True)
class RecordFit:
    record: record.Record
    truce: TwoParameterFit
    truce_data: TruceData
    cure: CureFit | None   # None where the MLE of p_durable is 0 (no long censored truce)
    nb: dict            # regime -> TwoParameterFit
    nb_data: dict       # regime -> (days, totals)
    retruce: GammaRate  # the default rows of each rate
    reattack: GammaRate
    ceasefire: GammaRate

    def truce_counts(self) -> tuple[int, int, int]:
        d = self.truce_data
        return len(d.exact), len(d.lower), len(d.right)


def fit_loaded(rec: record.Record) -> RecordFit:
    """Every fit of a loaded record (the default rows of each rate)."""
    data = truce_data(rec.truces)
    nb, nb_data = {}, {}
    for regime in record.REGIMES:
        nb_data[regime] = violation_periods(rec.violations, regime)
        if len(nb_data[regime][0]) < 3:
            raise UserError(f"{rec.folder / 'violations.csv'}: fewer than 3 usable {regime} rows "
                            f"for the negative-binomial fit")
        nb[regime] = fit_nbinom(*nb_data[regime])
    try:
        cure = fit_cure(data)
    except UserError:
        # Without a truce that outlasts its observation, the likelihood peaks at
        # p_durable = 0, on the boundary: the cure model is then the plain Weibull.
        cure = None
    return RecordFit(rec, fit_weibull(data), data, cure, nb, nb_data,
                     choice_rate(rec.exposures, "lambda_retruce"),
                     choice_rate(rec.exposures, "lambda_a0"),
                     choice_rate(rec.exposures, "lambda_c0"))


@functools.cache
def fit_record(folder: str | None = None) -> RecordFit:
    """Every fit of the record in ``folder`` (default: the shipped seeds/), once."""
    return fit_loaded(record.load(folder))


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
            f"shape-scale correlation {signed(t.corr)} ignored")


def _nb_source(f: RecordFit, regime: str, key: str) -> str:
    fit = f.nb[regime]
    days, _ = f.nb_data[regime]
    return (f"Negative-binomial MLE from seeds/violations.csv, regime {regime} ({fit.n} periods, "
            f"{int(days.sum())} days; rows with kind=count and region '{record.BOTH_REGIONS}', "
            f"aggregate/mixed and Donetsk-only rows excluded; a d-day total is NB(d mu, d k)): "
            f"mu {fit.get('mu'):.3g}/day, k {fit.get('k'):.3g}; lognormal(median = MLE, "
            f"sigma = SE of log {key} {fit.se(key):.3g}); mu-k correlation {signed(fit.corr)} ignored")


def _rate_source(what: str, exposures, parameter: str, rows: str | None) -> str:
    """The fit under the chosen rows, its reason, and every alternative's mean."""
    name, choice = row_choice(parameter, rows)
    rate = choice_rate(exposures, parameter, name)
    text = (f"Gamma posterior (Jeffreys prior) of {what} from seeds/exposures.csv, rows = {name!r} "
            f"(phase {' + '.join(rate.phases)}): {rate.events} event(s) in {rate.exposure_days} days "
            f"-> Gamma(shape {rate.shape:g}, rate {rate.exposure_days}), mean {rate.mean:.3g}/day. "
            f"Reason: {choice.reason}")
    others = [f"{other} {choice_rate(exposures, parameter, other).mean:.3g}/day"
              for other in RECORD_ROWS[parameter].choices if other != name]
    if others:
        text += f". Other rows choices (posterior mean): {', '.join(others)}"
    return text


FITTED = ("lambda_c0", "truce_shape", "truce_scale", "lambda_retruce", "lambda_a0",
          "mu_truce", "k_truce", "mu_war", "k_war")
RATE_WHAT = {
    "lambda_c0": "the rate of a first general ceasefire in war without one (record cut-off 2026-11-01)",
    "lambda_a0": "the rate of a major offensive after the first ceasefire",
    "lambda_retruce": "the rate of a new truce after a collapse (war gaps between truces; gaps after "
                      "osce_upper_bound truces are lower bounds, so the rate is if anything high)",
}


# The record fits a [model] choice can switch (model.Choice.fit): the
# cure-fraction Weibull, the plain fits (Weibull truces, separate rates),
# the truce-strength fit and lambda_a0's joint calibration.
PLAIN_FORMS = ("weibull", "rate", "plain")
RECORD_FITS = ("cure", "strength", "joint", *PLAIN_FORMS)


def record_form(name: str, choices: dict) -> str:
    """The record fit (RECORD_FITS) of parameter ``name`` under the [model]
    ``choices``: that of the chosen value that fits it; where none does, the
    plain fit, or for a parameter only one form fits (p_durable under
    weibull, strength_var under cure) that form's fit."""
    for key, value in choices.items():
        c = choice(key, value)
        if name in c.fitted:
            return c.fit
    if name not in FITTED:
        for c in MODEL_CHOICES:
            if name in c.fitted:
                return c.fit
    return "plain"


def record_prior(name: str, folder: str | Path | None = None, rows: str | None = None,
                 choices: dict | None = None) -> Prior:
    """The prior of one parameter fitted from the record, naming the record
    rows it rests on where they are a choice (see :func:`_record_prior`): for
    the shipped seeds/ (``folder`` None) from the table of fits (``FITS``)
    where it holds this fit, else fitted now (scipy)."""
    if folder is None and (prior := shipped_fits().get(fit_key(name, rows, choices))) is not None:
        return prior
    return fitted_prior(name, folder, rows, choices)


def fitted_prior(name: str, folder: str | Path | None = None, rows: str | None = None,
                 choices: dict | None = None) -> Prior:
    """:func:`record_prior` fitted now, never from the table of fits."""
    prior = _record_prior(name, folder, rows, choices)
    return replace(prior, rows=row_choice(name, rows)[0]) if name in RECORD_ROWS else prior


# ---------------------------------------------------------------- the table of fits

# Every record prior a config can ask for, fitted from the shipped seeds/:
# loading a config then needs no scipy. Written by `python -m deterrence.fit
# --write-cache`; used only while its digest matches (``record_digest``).
FITS = Path(__file__).with_name("fits.json")


def fit_key(name: str, rows: str | None = None, choices: dict | None = None) -> str:
    """The table's key of a record prior: the parameter, its record fit under
    ``choices`` (``record_form``) and its rows (a rate's default named)."""
    form = record_form(name, {**DEFAULT_CHOICES, **(choices or {})})
    if name in RECORD_ROWS and (rows is None or rows in RECORD_ROWS[name].choices):
        rows = row_choice(name, rows)[0]
    return f"{name} {form} {rows or ''}".strip()


def record_digest(folder: str | Path | None = None) -> str:
    """SHA-256 of the record's CSV files in ``folder`` (default: the shipped
    seeds/) and of the code that fits them (this module and record.py)."""
    digest = hashlib.sha256()
    for path in [*sorted(record.location(folder).glob("*.csv")), Path(__file__), Path(record.__file__)]:
        data = path.read_bytes()
        digest.update(f"{path.name} {len(data)}\n".encode())
        digest.update(data)
    return digest.hexdigest()


def fits_table() -> dict[str, Prior]:
    """The table of fits of the shipped seeds/ by ``fit_key``: every
    (parameter, record fit, rows) some [model] choices and rows ask for, fitted now."""
    priors = {}
    for values in itertools.product(*CHOICES.values()):
        choices = dict(zip(CHOICES, values, strict=True))
        for name in (p.name for p in PARAMETERS):
            for rows in (None, *(RECORD_ROWS[name].choices if name in RECORD_ROWS else ())):
                try:
                    prior = fitted_prior(name, rows=rows, choices=choices)
                except UserError:
                    continue      # no such fit: record_prior fits, and so raises the same error
                key = fit_key(name, rows, choices)
                if priors.setdefault(key, prior) != prior:
                    raise ValueError(f"two fits under one key {key!r} of the table of fits")
    return dict(sorted(priors.items()))


def write_fits(path: str | Path = FITS) -> Path:
    """Write the table of fits (``fits_table``) and its digest as JSON (floats round-trip exactly)."""
    table = {"digest": record_digest(), "priors": {key: asdict(p) for key, p in fits_table().items()}}
    path = Path(path)
    path.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


@functools.cache
def shipped_fits() -> dict[str, Prior]:
    """The table of fits by key, empty where it is missing or its digest is
    not that of the current seeds/ and fit code (a stale table is never used)."""
    try:
        table = json.loads(FITS.read_text(encoding="utf-8"))
        if table["digest"] != record_digest():
            return {}
    except (OSError, ValueError, KeyError):
        return {}
    return {key: Prior(**{**p, "params": tuple((k, v) for k, v in p["params"])})
            for key, p in table["priors"].items()}


def _record_prior(name: str, folder: str | Path | None = None, rows: str | None = None,
                  choices: dict | None = None) -> Prior:
    """The prior of one parameter fitted from the record (see the module docstring).

    ``rows`` names a choice of record rows in ``RECORD_ROWS[name]`` (None: its
    default); only the rates in ``RECORD_ROWS`` take one. ``choices`` are a
    config's [model] choices (default: each one's default), whose records
    (model.MODEL_CHOICES) name the fit of each parameter (``record_form``):
    with ``truces = "cure"`` the truce parameters come from the cure-fraction
    fit, with ``truces = "strength"`` they, strength_var, mu_truce and k_truce
    from the truce-strength fit, with ``reattack = "joint"`` lambda_a0 is
    calibrated jointly with e_collapse."""
    form = record_form(name, {**DEFAULT_CHOICES, **(choices or {})})
    if form in ("cure", "strength"):
        if rows is not None:
            raise UserError(f"priors.{name}.rows: the record rows of {name} are not selectable; "
                            f"rows applies to {', '.join(RECORD_ROWS)}")
        return cure_prior(name, folder) if form == "cure" else strength_prior(name, folder)
    if form == "joint":
        return joint_reattack_prior(folder, rows)
    if form not in PLAIN_FORMS:
        raise ValueError(f"unknown record fit {form!r} (see fit.RECORD_FITS)")
    if name not in FITTED:
        raise UserError(f"priors.{name}: no fit from the record exists for this parameter; "
                        f"give dist and its hyperparameters")
    if rows is not None and name not in RECORD_ROWS:
        raise UserError(f"priors.{name}.rows: the record rows of {name} are not selectable; "
                        f"rows applies to {', '.join(RECORD_ROWS)}")
    f = fit_record(None if folder is None else str(folder))
    if name == "truce_shape":
        return _lognormal(name, f.truce, "shape", _truce_source(f, "shape"))
    if name == "truce_scale":
        return _lognormal(name, f.truce, "scale", _truce_source(f, "scale"))
    if name in ("mu_truce", "k_truce", "mu_war", "k_war"):
        key, regime = name.split("_")
        return _lognormal(name, f.nb[regime], key, _nb_source(f, regime, key))
    exposures = f.record.exposures
    return _gamma(name, choice_rate(exposures, name, rows),
                  _rate_source(RATE_WHAT[name], exposures, name, rows))


def joint_reattack_prior(folder: str | Path | None = None, rows: str | None = None) -> Prior:
    """lambda_a0 calibrated jointly with e_collapse: family ``gamma_exposure``
    with hyperparameters shape, truce_days and gap_days. A draw is
    G ~ Gamma(shape, 1), then lambda_a0 = G / (truce_days + e_collapse * gap_days)
    with the run's own e_collapse, so the time-weighted hazard over truces and
    gaps reproduces the record the rate was fitted to."""
    f = fit_record(None if folder is None else str(folder))
    x = reattack_exposure(f.record, rows)
    _, choice = row_choice("lambda_a0", x.rows)
    source = (f"Joint calibration with e_collapse from seeds/exposures.csv rows = {x.rows!r} and the "
              f"truces in seeds/truces.csv: {x.events} major offensive(s) over {x.truce_days} truce days "
              f"and {x.gap_days} fighting-gap days (interval-censored truces end at the midpoint of "
              f"their bounds; days inside an offensive not at risk) -> lambda_a0 | e_collapse ~ "
              f"Gamma({x.shape:g}, rate = {x.truce_days} + e_collapse * {x.gap_days}). "
              f"Reason for the rows: {choice.reason}")
    return Prior("lambda_a0", "gamma_exposure", (("shape", x.shape), ("truce_days", float(x.truce_days)),
                                                 ("gap_days", float(x.gap_days))), source, "record")


CURE_FITTED = ("truce_shape", "truce_scale", "p_durable", "p_durable_first")


def cure_prior(name: str, folder: str | Path | None = None) -> Prior:
    """Priors of the durable-truce model: truce_shape and truce_scale
    (lognormal, median = MLE, sigma = SE of the log) and p_durable (beta with
    the MLE's mean and delta-method SD) from the cure-fraction fit of the Donbas
    truces; p_durable_first (the first general ceasefire of this war) from
    the literature row of that name in seeds/literature.csv."""
    if name not in CURE_FITTED:
        raise UserError(f"priors.{name}: the durable-truce model fits only {', '.join(CURE_FITTED)}")
    f = fit_record(None if folder is None else str(folder))
    c, plain = f.cure, f.truce
    if c is None and name != "p_durable_first":
        raise UserError(f"{f.record.folder / 'truces.csv'}: the durable-truce share has its maximum "
                        f"likelihood at 0 (no truce outlasts its observation); use the plain Weibull")
    if name == "p_durable_first":
        rows = [r for r in f.record.literature if r.parameter == name and r.central is not None]
        if len(rows) != 1 or rows[0].low is None or rows[0].high is None:
            raise UserError(f"literature.csv: need exactly one {name} row with low, central and high")
        row = rows[0]
        # The low-high range read as a 90% interval of a normal: SD = range / (2 * 1.645).
        a, b = beta_matching(row.central, (row.high - row.low) / 3.29)
        return Prior(name, "beta", (("a", a), ("b", b)),
                     f"seeds/literature.csv: {row.citation}; {row.quantity}: central {row.central:g}, "
                     f"range {row.low:g}-{row.high:g} ({row.unit}) -> beta with that mean and SD "
                     f"(range / 3.29)", "record")
    source = (f"Cure-fraction Weibull MLE from seeds/truces.csv ({c.n} truces, same censoring as the "
              f"plain fit; the Jul 2020 truce right-censored at 513 days): p_durable {c.p_durable:.3g} "
              f"(SE {c.se_p:.3g}), shape {c.shape:.3g}, scale {c.scale:.3g} days; log-likelihood "
              f"{c.loglik:.2f}, AIC {c.aic:.1f} vs plain Weibull {plain.loglik:.2f}, AIC "
              f"{aic(plain.loglik, 2):.1f}")
    if name == "p_durable":
        a, b = beta_matching(c.p_durable, c.se_p)
        return Prior(name, "beta", (("a", a), ("b", b)), source + "; beta(mean = MLE, SD = SE)", "record")
    key = name.split("_")[1]
    return Prior(name, "lognormal", (("median", getattr(c, key)), ("sigma", c.se(key))),
                 source + f"; lognormal(median = MLE, sigma = SE of log {key} {c.se(key):.3g}); "
                          f"correlations ignored", "record")


# ---------------------------------------------------------------- truce strength (shared frailty)

STRENGTH_NODES = 200      # quantile midpoints of the frailty's gamma law per likelihood term
STRENGTH_VAR_MIN = 1e-6   # below it the frailty is taken as absent (its limit)
STRENGTH_PARAMS = ("truce_shape", "truce_scale", "strength_var", "mu_truce", "k_truce")


@dataclass(frozen=True)
class StrengthData:
    """Each truce's duration (kind 0 exact, 1 right-censored, 2 interval
    (lower, upper]) with the OSCE truce-period counts inside it."""
    kind: np.ndarray
    lower: np.ndarray      # exact or censoring time in ``upper``; lower bound of an interval
    upper: np.ndarray
    days: tuple            # per truce: the days of each period inside it
    totals: tuple          # per truce: their counts

    @property
    def n(self) -> int:
        return len(self.kind)


@dataclass(frozen=True)
class StrengthFit:
    """Joint MLE of the truce-strength model: truce i draws a frailty
    W_i ~ Gamma(1 / strength_var, scale strength_var) (mean 1) that multiplies
    both its Weibull(shape, scale) collapse hazard and its violation rate:
    a d-day period inside it totals NB(mean W_i d mu_truce, size d k_truce).
    Small W is a strong truce: quiet and long. ``cov`` is the inverse observed
    information of the log-parameters in STRENGTH_PARAMS' order."""
    values: tuple[float, ...]
    cov: tuple[tuple[float, ...], ...]
    loglik: float
    n: int
    periods: int

    def get(self, name: str) -> float:
        return self.values[STRENGTH_PARAMS.index(name)]

    def se(self, name: str) -> float:
        i = STRENGTH_PARAMS.index(name)
        return math.sqrt(self.cov[i][i])

    @property
    def boundary(self) -> bool:
        """The MLE of strength_var is 0: no strength to tell truces apart."""
        return self.get("strength_var") == 0.0

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, 5) parameter draws from the normal approximation in the logs,
        correlations kept (strength_var 0 throughout on the boundary)."""
        with np.errstate(divide="ignore"):
            mean = np.log(self.values)
        z = rng.multivariate_normal(np.where(np.isfinite(mean), mean, 0.0), np.array(self.cov), size=n)
        return np.where(np.isfinite(mean), np.exp(z), 0.0)


def strength_data(truces, violations) -> StrengthData:
    """The truces' durations (as ``truce_data`` reads them) and, for each, the
    truce-regime count rows of both regions that lie inside it."""
    kind, lower, upper, days, totals = [], [], [], [], []
    rows = [v for v in violations if v.regime == "truce" and v.kind == "count" and v.region == record.BOTH_REGIONS]
    for t in truces:
        if t.censored:
            kind.append(1)
            lower.append(t.days)
        elif t.interval_censored:
            kind.append(2)
            lower.append(t.lower_days)
        else:
            kind.append(0)
            lower.append(max(t.days, 0.5))
        upper.append(max(t.days, 0.5))
        inside = [v for v in rows if t.start_date <= v.period_start and v.period_end < t.end_date]
        days.append(np.array([v.days for v in inside], float))
        totals.append(np.array([v.violations for v in inside], float))
    return StrengthData(np.array(kind), np.array(lower, float), np.array(upper, float),
                        tuple(days), tuple(totals))


def strength_nodes(var: float, nodes: int = STRENGTH_NODES) -> np.ndarray:
    """Equal-weight nodes of W ~ Gamma(1 / var, scale var): its quantiles at
    the midpoints of ``nodes`` equal slices of probability."""
    from scipy import stats

    if var < STRENGTH_VAR_MIN:
        return np.ones(1)        # the limit var -> 0: every truce alike
    return np.maximum(stats.gamma.ppf((np.arange(nodes) + 0.5) / nodes, 1.0 / var, scale=var), 1e-300)


def nbinom_logpmf(totals, mean, size):
    """log NB(totals; mean, size), broadcasting."""
    from scipy import special

    return (special.gammaln(totals + size) - special.gammaln(size) - special.gammaln(totals + 1.0)
            + size * np.log(size / (size + mean)) + totals * np.log(mean / (size + mean)))


def strength_truce_loglik(params, data: StrengthData, w: np.ndarray) -> np.ndarray:
    """(truces, nodes) log-likelihood of each truce's duration and counts given W = w."""
    shape, scale, _, mu, k = params
    h_lo = (data.lower[:, None] / scale) ** shape * w
    h_hi = (data.upper[:, None] / scale) ** shape * w
    with np.errstate(divide="ignore"):   # log(0) of the rows of another kind, not used
        exact = np.log(w * shape / scale) + (shape - 1.0) * np.log(data.lower[:, None] / scale) - h_lo
        interval = -h_lo + np.log(-np.expm1(-(h_hi - h_lo)))
    ll = np.where(data.kind[:, None] == 0, exact, np.where(data.kind[:, None] == 1, -h_lo, interval))
    counts = np.zeros_like(ll)
    for i, (d, x) in enumerate(zip(data.days, data.totals, strict=True)):
        if len(d):
            counts[i] = nbinom_logpmf(x[:, None], w[None, :] * d[:, None] * mu, d[:, None] * k).sum(axis=0)
    return ll + counts


def strength_negloglik(log_params, data: StrengthData) -> float:
    """Negative log-likelihood, W integrated out on the equal-weight nodes."""
    from scipy import special

    params = np.exp(log_params)
    if params[2] > 1e3:
        return 1e300
    w = strength_nodes(params[2])
    ll = special.logsumexp(strength_truce_loglik(params, data, w), axis=1) - math.log(len(w))
    s = float(np.sum(ll))
    return -s if np.isfinite(s) else 1e300


def fit_strength(rec: record.Record) -> StrengthFit:
    """The truce-strength model by maximum likelihood, started at the plain
    Weibull and truce-regime NB fits and the best of a few frailty variances.
    Where the likelihood peaks at strength_var = 0 (the record cannot tell
    truces apart), the fit is the plain model with strength_var 0 and no
    uncertainty on it (``boundary``)."""
    data = strength_data(rec.truces, rec.violations)
    plain = fit_weibull(truce_data(rec.truces))
    nb = fit_nbinom(*violation_periods(rec.violations, "truce"))
    base = np.log([*plain.values, 1.0, *nb.values])
    starts = [np.where(np.arange(5) == 2, math.log(v), base) for v in (0.05, 0.2, 1.0)]
    start = min(starts, key=lambda x: strength_negloglik(x, data))
    with np.errstate(all="ignore"):
        try:
            x, cov, loglik = _optimum(lambda v: strength_negloglik(v, data), start, STRENGTH_PARAMS)
        except UserError:
            x = None
        if x is None or math.exp(x[2]) < 1e-3:
            def without(y):
                return strength_negloglik(np.insert(y, 2, math.log(STRENGTH_VAR_MIN / 10)), data)
            y, cov4, loglik = _optimum(without, np.delete(base, 2), STRENGTH_PARAMS)
            x = np.insert(y, 2, -np.inf)
            cov = np.insert(np.insert(cov4, 2, 0.0, axis=0), 2, 0.0, axis=1)
    return StrengthFit(tuple(float(v) for v in np.exp(x)), tuple(tuple(float(c) for c in r) for r in cov),
                       loglik, data.n, sum(len(d) for d in data.days))


@functools.cache
def strength_record_fit(folder: str | None = None) -> StrengthFit:
    """The truce-strength fit of the record in ``folder`` (default: the shipped seeds/), once."""
    return fit_strength(record.load(folder))


def strength_prior(name: str, folder: str | Path | None = None) -> Prior:
    """Priors of the truce-strength model ([model] truces = "strength"): each
    of STRENGTH_PARAMS lognormal (median = the joint MLE, sigma = the SE of
    its log; correlations ignored); strength_var fixed at 0 where its MLE is
    0 (``StrengthFit.boundary``)."""
    if name not in STRENGTH_PARAMS:
        raise UserError(f"priors.{name}: the truce-strength model fits only {', '.join(STRENGTH_PARAMS)}")
    s = strength_record_fit(None if folder is None else str(folder))
    source = (f"Truce-strength (shared gamma frailty) MLE from seeds/truces.csv and seeds/violations.csv "
              f"({s.n} truces, {s.periods} truce-period counts inside them, same censoring as the plain "
              f"fit): shape {s.get('truce_shape'):.3g}, scale {s.get('truce_scale'):.3g} days, strength_var "
              f"{s.get('strength_var'):.3g}, mu_truce {s.get('mu_truce'):.3g}/day, k_truce "
              f"{s.get('k_truce'):.3g}; log-likelihood {s.loglik:.2f}")
    if name == "strength_var" and s.boundary:
        return Prior(name, "fixed", (("value", 0.0),), source + "; strength_var at its MLE 0", "record")
    return Prior(name, "lognormal", (("median", s.get(name)), ("sigma", s.se(name))),
                 source + f"; lognormal(median = MLE, sigma = SE of the log {s.se(name):.3g}); "
                          f"correlations ignored", "record")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--write-cache"]:
        sys.exit("usage: python -m deterrence.fit --write-cache  (rewrites deterrence/fits.json from seeds/)")
    print(f"wrote {write_fits()}")
