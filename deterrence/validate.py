"""`deterrence validate`: out-of-sample check of the record model.

From each origin (the record cut at the end of 2016, 2017, 2018, 2019 and 2020),
refit every record prior and predict what the record shows from the next
day to the invasion (2022-02-24), per series:

- **truce duration**: each truce that started in the span, under each truce
  form (``cure``, ``weibull``, ``strength``; docs/model.md), parameters drawn
  from the normal approximation of the likelihood (correlations kept), its
  intervals from the reference model's truce walk, its log score from the
  same law in closed form;
- **violations in a truce period**: each OSCE truce period (kind = count,
  both regions), NB(d mu, d k) under the ``cure`` and ``weibull`` forms; under
  ``strength`` given the truce's frailty, updated on the truce's earlier
  periods and on its having lasted to the period's start (what a monitor
  would know then);
- **OSCE total from 1 January** (the record's cumulative totals, kind =
  mixed, from 1 January, at least 180 days): the shipped model's truce and
  violation process run by ``deterrence.reference`` (the kernel's NumPy
  oracle, ``tests/test_reference.py``) from a truce beginning on 1 January,
  with the origin's fits, the first-ceasefire share replaced by the Donbas
  truces' ``p_durable`` and no re-attack (none came in those years); under
  each truce form, ``strength`` being the model's truces = "strength" with
  the joint fit's draws;
- **major offensives**: the count in the span, Poisson-gamma (negative
  binomial) from the rate since the first ceasefire.

Intervals are central intervals of the predictive law; each check records
the predictive probability its interval holds (``held``: exactly the level
for a continuous law, more for a count, e.g. 0.86 for the offensives' "50%"
interval), and a series' coverage is compared with the mean of that, its
sampling error the binomial error of a calibrated model's coverage. The log
score is the log predictive probability of what happened (a density, per
day, for an exact duration; a probability for a censored one or a count; a
density of log1p of the total for the OSCE totals, from a kernel density
estimate of the samples), averaged over a series: higher is better, and
only forms of the same series compare.

What it does not test: the kernel itself (the reference is its tested
oracle), the first ceasefire, deployment, strikes and the force, US support
and leverage effects, which no record informs.

An observation can be an interval (an interval-censored truce, or a truce
still holding when superseded): it is inside a predictive interval surely
("yes"), possibly ("maybe") or not at all ("no"), and coverage is reported
as the range from the sure to the possible share.
"""

import csv
import datetime
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import special, stats

from deterrence import UserError, fit, model, record

ORIGINS = tuple(datetime.date(y, 12, 31) for y in (2016, 2017, 2018, 2019, 2020))
CUTOFF = datetime.date(2018, 12, 31)          # the main origin: last day of the fitting record
TEST_START = datetime.date(2019, 1, 1)
TEST_END = datetime.date(2022, 2, 24)         # the invasion, counted in the span
LEVELS = (0.5, 0.9)
FORMS = ("cure", "weibull", "strength")      # truce forms, the shipped default ([model] truces) first
DEFAULT_FORM = FORMS[0]
DRAWS = 2000
PER_DRAW = 20                                 # predictive durations per parameter draw
TOTAL_RUNS = 4000                             # simulated years per OSCE total
TOTAL_MIN_DAYS = 180
SEED = 20190101
FAILED = 3                                    # exit code: a series' coverage below --min-coverage

SERIES = ("truce duration", "violations in a truce period", "OSCE total from 1 January", "major offensives")


@dataclass(frozen=True)
class Check:
    """One predicted quantity against what happened."""
    series: str
    form: str                                  # truce form, or "any" where the forms agree
    item: str
    observed: tuple[float, float]              # [low, high]; equal for an exact value
    days: int                                  # period length (violations, totals), else 0
    quantiles: dict                            # level -> (low, high) predictive interval
    held: dict                                 # level -> predictive probability of that interval
    log_score: float
    origin: datetime.date = CUTOFF
    batches: tuple = ()                        # the log score over batches of the parameter draws

    @property
    def group(self) -> str:
        return f"{self.series}, {self.form}"

    def inside(self, level: float) -> str:
        return inside(*self.observed, *self.quantiles[level])


def inside(obs_low: float, obs_high: float, low: float, high: float) -> str:
    """Is an observation known to lie in [obs_low, obs_high] inside [low, high]?
    "yes" if all of it is, "no" if none of it is, "maybe" otherwise."""
    if low <= obs_low and obs_high <= high:
        return "yes"
    if obs_high < low or obs_low > high:
        return "no"
    return "maybe"


def coverage(checks, level: float) -> tuple[float, float]:
    """Share of checks surely and possibly inside their ``level`` interval."""
    marks = [c.inside(level) for c in checks]
    n = len(marks)
    return marks.count("yes") / n, (marks.count("yes") + marks.count("maybe")) / n


def expected_coverage(checks, level: float) -> tuple[float, float]:
    """What a calibrated model's coverage would be (the mean predictive
    probability the intervals hold) and its binomial sampling error."""
    h = float(np.mean([c.held[level] for c in checks]))
    return h, math.sqrt(h * (1.0 - h) / len(checks))


def _bounds(level: float) -> tuple[float, float]:
    return (1.0 - level) / 2.0, (1.0 + level) / 2.0


def truncate(rec: record.Record, cutoff: datetime.date = CUTOFF) -> record.Record:
    """The record as it stood at the end of ``cutoff``: later rows dropped,
    truces still running (or not known to have ended) right-censored then."""
    end = cutoff + datetime.timedelta(days=1)
    truces = []
    for t in rec.truces:
        if t.start_date > cutoff:
            continue
        if t.end_date > end:
            t = replace(t, end_date=end, end_lower_date=None, censored=True, end_rule="superseded")
        truces.append(t)
    return replace(rec, truces=tuple(truces),
                   violations=tuple(v for v in rec.violations if v.period_end <= cutoff),
                   offensives=tuple(o for o in rec.offensives if o.start_date <= cutoff))


def _observed(t: record.Truce) -> tuple[float, float]:
    if t.censored:
        return float(t.days), np.inf
    if t.interval_censored:
        return float(t.lower_days), float(t.days)
    return float(t.days), float(t.days)


def predictive(samples: np.ndarray) -> tuple[dict, dict]:
    """Central intervals (quantiles of the samples themselves, no
    interpolation) and the share of the samples each holds."""
    samples = np.asarray(samples, float).ravel()
    quantiles, held = {}, {}
    for level in LEVELS:
        low, high = (float(np.quantile(samples, b, method="inverted_cdf")) for b in _bounds(level))
        quantiles[level] = (low, high)
        held[level] = float(np.mean((samples >= low) & (samples <= high)))
    return quantiles, held


def _log_mean(lik: np.ndarray, axis: int = 0) -> np.ndarray:
    """log of the mean over parameter draws of likelihoods given as logs."""
    return special.logsumexp(lik, axis=axis) - math.log(lik.shape[axis])


BATCHES = 10     # batches of parameter draws for the log score's Monte Carlo error


def log_score(lik: np.ndarray) -> tuple[float, tuple]:
    """log of the mean over parameter draws of likelihoods given as logs
    (draws,), and the same over each of BATCHES batches of the draws (their
    spread gives the Monte Carlo error; heavy tails make a delta-method
    error far too small)."""
    lik = np.asarray(lik, float)
    return float(_log_mean(lik)), tuple(float(_log_mean(b)) for b in np.array_split(lik, BATCHES))


def normal_draws(mean, cov, z: np.ndarray) -> np.ndarray:
    """mean + L z for standard normals z (draws, dims), L the Cholesky factor
    of ``cov`` over the dimensions of positive variance (the others stay at
    their mean). Every form draws from the same z (common random numbers),
    so forms that coincide score alike."""
    mean, cov = np.asarray(mean, float), np.asarray(cov, float)
    free = np.flatnonzero(np.diag(cov) > 0)
    out = np.tile(mean, (len(z), 1))
    out[:, free] += z[:, free] @ np.linalg.cholesky(cov[np.ix_(free, free)]).T
    return out


# ---------------------------------------------------------------- truce durations

@dataclass(frozen=True)
class TruceLaw:
    """One truce form's parameter draws: Weibull(shape, scale) collapse
    hazard times a gamma frailty of variance ``var`` (0: none), a share
    ``p_durable`` never collapsing."""
    form: str
    shape: np.ndarray
    scale: np.ndarray
    p_durable: np.ndarray
    var: np.ndarray
    mu: np.ndarray | None = None              # strength: the truce violation rate (per day) and NB size
    k: np.ndarray | None = None

    def log_survival(self, t) -> np.ndarray:
        """(draws, len(t)) log S(t), the frailty integrated out:
        (1 + var H) ** (-1 / var), exp(-H) at var = 0."""
        h = (np.asarray(t, float)[None, :] / self.scale[:, None]) ** self.shape[:, None]
        v = self.var[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            frail = np.where(v > 0, -np.log1p(v * h) / np.where(v > 0, v, 1.0), -h)
            return np.logaddexp(np.log(self.p_durable)[:, None], np.log1p(-self.p_durable)[:, None] + frail)

    def log_density(self, t: float) -> np.ndarray:
        """(draws,) log f(t) of a collapse at t days."""
        z = t / self.scale
        h = z ** self.shape
        v = self.var
        with np.errstate(divide="ignore", invalid="ignore"):
            frail = np.where(v > 0, -(1.0 / np.where(v > 0, v, 1.0) + 1.0) * np.log1p(v * h), -h)
        return np.log1p(-self.p_durable) + np.log(self.shape / self.scale) + (self.shape - 1.0) * np.log(z) + frail

    def log_likelihood(self, observed: tuple[float, float]) -> tuple[float, tuple]:
        """Log predictive probability (density if exact) of an observed
        duration, with its Monte Carlo error."""
        low, high = observed
        if low == high:
            return log_score(self.log_density(max(low, 0.5)))
        s = self.log_survival([low, high])
        with np.errstate(divide="ignore"):
            diff = s[:, 0] + np.log(-np.expm1(s[:, 1] - s[:, 0])) if np.isfinite(high) else s[:, 0]
        return log_score(diff)


def truce_laws(f: fit.RecordFit, strength: fit.StrengthFit, rng: np.random.Generator) -> dict:
    """The parameter draws of each truce form at an origin. Where the cure
    share's MLE is 0 (no truce outlasted its observation), ``cure`` is the
    plain Weibull."""
    zero = np.zeros(DRAWS)
    z = rng.standard_normal((DRAWS, 5))       # (shape, scale, p_durable or strength_var, mu, k)
    plain = np.exp(normal_draws(np.log(f.truce.values), f.truce.cov_log, z[:, :2]))
    nb = f.nb["truce"]
    mu, k = np.exp(normal_draws(np.log(nb.values), nb.cov_log, z[:, 3:])).T
    laws = {"weibull": TruceLaw("weibull", plain[:, 0], plain[:, 1], zero, zero, mu, k)}
    if f.cure is not None:
        c = normal_draws([math.log(f.cure.shape), math.log(f.cure.scale), special.logit(f.cure.p_durable)],
                         f.cure.cov, z[:, :3])
        laws["cure"] = TruceLaw("cure", *np.exp(c[:, :2]).T, special.expit(c[:, 2]), zero, mu, k)
    else:
        laws["cure"] = replace(laws["weibull"], form="cure")
    with np.errstate(divide="ignore"):
        log_values = np.log(strength.values)
    s = normal_draws(np.where(np.isfinite(log_values), log_values, 0.0), strength.cov, z)
    s = np.where(np.isfinite(log_values), np.exp(s), 0.0)
    laws["strength"] = TruceLaw("strength", s[:, 0], s[:, 1], zero, s[:, 2], s[:, 3], s[:, 4])
    return {form: laws[form] for form in FORMS}


def truce_checks(f: fit.RecordFit, laws: dict, truces, rng, origin=CUTOFF) -> list[Check]:
    """Each truce's duration: the interval from the reference model's truce
    walk (:func:`simulate_durations`), the log score from the same law in
    closed form (``TruceLaw``; the two agree, tests/test_validate.py)."""
    out = []
    for form, law in laws.items():
        quantiles, held = predictive(simulate_durations(f, law, rng))
        for t in truces:
            score, batches = law.log_likelihood(_observed(t))
            out.append(Check("truce duration", form, t.name, _observed(t), 0, quantiles, held, score, origin,
                             batches))
    return out


# ---------------------------------------------------------------- violations in truce periods

def _truce_of(period: record.Violation, truces) -> record.Truce | None:
    return next((t for t in truces if t.start_date <= period.period_start and period.period_end < t.end_date), None)


def violation_checks(f: fit.RecordFit, laws: dict, periods, truces, rng,
                     origin=CUTOFF) -> list[Check]:
    """Each period's total: NB(d mu, d k) with the origin's (mu, k) draws under
    ``cure`` and ``weibull``; under ``strength``, NB(W d mu, d k) with the
    truce's frailty W drawn from its posterior given the truce's earlier
    periods and its survival to the period's start."""
    mu, k = laws["cure"].mu, laws["cure"].k
    plain = []
    for v in periods:
        totals = rng.poisson(rng.gamma(v.days * k, mu / k))
        quantiles, held = predictive(totals)
        score, batches = log_score(fit.nbinom_logpmf(float(v.violations), v.days * mu, v.days * k))
        plain.append(Check("violations in a truce period", "cure", f"{v.period_start}..{v.period_end}",
                           (float(v.violations),) * 2, v.days, quantiles, held, score, origin, batches))
    return (plain + [replace(c, form="weibull") for c in plain]
            + _strength_violation_checks(laws["strength"], periods, truces, rng, origin))


def _strength_violation_checks(law: TruceLaw, periods, truces, rng, origin) -> list[Check]:
    mu, k = law.mu, law.k
    nodes = np.array([fit.strength_nodes(v, 64) if v > 0 else np.ones(64) for v in law.var])   # (draws, 64)
    out = []
    by_truce = {}
    for v in periods:
        by_truce.setdefault(_truce_of(v, truces), []).append(v)
    for truce, rows in by_truce.items():
        log_post = np.zeros_like(nodes)          # log weight of each node given what is known
        for v in sorted(rows, key=lambda r: r.period_start):
            age = (v.period_start - truce.start_date).days if truce is not None else 0
            h = (age / law.scale[:, None]) ** law.shape[:, None] * nodes
            weight = log_post - h                # survived to the period's start
            weight -= special.logsumexp(weight, axis=1, keepdims=True)
            mean = nodes * v.days * mu[:, None]
            logpmf = fit.nbinom_logpmf(float(v.violations), mean, v.days * k[:, None])
            score, batches = log_score(special.logsumexp(weight + logpmf, axis=1))
            pick = (np.cumsum(np.exp(weight), axis=1) < rng.random((DRAWS, 1))).sum(axis=1).clip(0, nodes.shape[1] - 1)
            w = nodes[np.arange(DRAWS), pick]
            totals = rng.poisson(rng.gamma(v.days * k, w * mu / k))
            quantiles, held = predictive(totals)
            out.append(Check("violations in a truce period", "strength", f"{v.period_start}..{v.period_end}",
                             (float(v.violations),) * 2, v.days, quantiles, held, score, origin, batches))
            log_post = log_post + logpmf
    return out


# ---------------------------------------------------------------- OSCE totals from 1 January

def total_rows(rec: record.Record, start: datetime.date) -> list[record.Violation]:
    """The record's cumulative OSCE totals from 1 January (kind = mixed, both
    regions, at least TOTAL_MIN_DAYS days) that begin on or after ``start``."""
    return [v for v in rec.violations if v.kind == "mixed" and v.region == record.BOTH_REGIONS
            and v.period_start.month == 1 and v.period_start.day == 1 and v.days >= TOTAL_MIN_DAYS
            and v.period_start >= start]


def simulate_totals(f: fit.RecordFit, law: TruceLaw, days: int, rng: np.random.Generator,
                    runs: int = TOTAL_RUNS) -> np.ndarray:
    """Violation totals over ``days`` days from a truce beginning on day 0, by
    the reference model's truce walk and violation draw with the origin's fits
    (truce law, re-truce rate, NB of truce and war days; no force, no re-attack).
    Under ``strength`` the walk is the model's truces = "strength": each truce
    draws its W, and its days' violations come from the joint fit's mu and k."""
    from deterrence import reference as ref

    theta, opts = _walk_inputs(f, law, rng, runs)
    walk = ref.truce_walk(rng, theta, ref.draw_chance(rng, runs), np.zeros((runs, 1)), np.full((runs, 1), np.inf),
                          opts, days)
    return ref.violations(rng, theta, walk)[:, 0]


DURATION_HORIZON = 40 * 365                   # a simulated truce still holding after this many days counts as durable


def simulate_durations(f: fit.RecordFit, law: TruceLaw, rng: np.random.Generator,
                       runs: int = DRAWS * PER_DRAW) -> np.ndarray:
    """The length in days of a truce beginning on day 0 (inf: it never
    collapses within DURATION_HORIZON), by the reference model's own truce
    walk with the origin's fits: a durable truce with ``p_durable``, under
    ``strength`` its frailty W; the re-truce rate set to nearly 0 so that
    the walk's truce days are the first truce's."""
    from deterrence import reference as ref

    theta, opts = _walk_inputs(f, law, rng, runs)
    theta[:, ref.LAMBDA_RETRUCE] = 1e-12
    walk = ref.truce_walk(rng, theta, ref.draw_chance(rng, runs), np.zeros((runs, 1)), np.full((runs, 1), np.inf),
                          opts, DURATION_HORIZON)
    return np.where(walk.collapses[:, 0] > 0, walk.truce_days[:, 0], np.inf)


def _walk_inputs(f: fit.RecordFit, law: TruceLaw, rng: np.random.Generator, runs: int):
    """Parameters (runs, N_PARAMETERS) and options for the reference's truce
    walk of one truce form at an origin: each run takes a draw of ``law``
    (the first ceasefire's durable share set to the Donbas truces'), the
    re-truce rate and both regimes' violation laws from the fit; no force,
    no re-attack."""
    from deterrence import plan
    from deterrence import reference as ref

    i = rng.integers(0, len(law.shape), runs)
    theta = np.zeros((runs, model.N_PARAMETERS))
    theta[:, ref.TRUCE_SHAPE], theta[:, ref.TRUCE_SCALE] = law.shape[i], law.scale[i]
    theta[:, ref.P_DURABLE] = theta[:, ref.P_DURABLE_FIRST] = law.p_durable[i]
    theta[:, ref.LAMBDA_RETRUCE] = rng.gamma(f.retruce.shape, f.retruce.scale, runs)
    for regime, (mu_col, k_col) in (("truce", (ref.MU_TRUCE, ref.K_TRUCE)), ("war", (ref.MU_WAR, ref.K_WAR))):
        nb = f.nb[regime]
        theta[:, mu_col], theta[:, k_col] = np.exp(
            rng.multivariate_normal(np.log(nb.values), np.diag(np.array(nb.se_log) ** 2), runs)).T
    strength = law.form == "strength"
    if strength:
        theta[:, ref.STRENGTH_VAR], theta[:, ref.MU_TRUCE], theta[:, ref.K_TRUCE] = law.var[i], law.mu[i], law.k[i]
    theta[:, ref.F_SCALE] = theta[:, ref.F_VETO] = theta[:, ref.M_COLLAPSE] = 1.0
    opts = ref.Options(force=np.zeros(1), contact=np.zeros(1, bool), immediate=np.zeros(1, bool),
                       support=np.zeros(1, int), leverage=np.zeros(1, int),
                       levels=plan.level_parameters(), threshold_veto=False, strength=strength)
    return theta, opts


def total_checks(f: fit.RecordFit, laws: dict, rows, rng, origin=CUTOFF) -> list[Check]:
    seeds = rng.integers(0, 2**63, len(rows))      # the same runs for both forms
    out = []
    for form in FORMS:
        for v, seed in zip(rows, seeds, strict=True):
            totals = simulate_totals(f, laws[form], v.days, np.random.default_rng(seed))
            quantiles, held = predictive(totals)
            score = _kde_log_score(totals, v.violations)
            batches = tuple(_kde_log_score(b, v.violations) for b in np.array_split(totals, BATCHES))
            out.append(Check("OSCE total from 1 January", form, f"{v.period_start}..{v.period_end}",
                             (float(v.violations),) * 2, v.days, quantiles, held, score, origin, batches))
    return out


def _kde_log_score(totals: np.ndarray, observed: float) -> float:
    """Log density of log1p(observed) under a Gaussian kernel density
    estimate of log1p(totals). Its Monte Carlo error comes from the spread
    over BATCHES batches of the totals, each with its own estimate (a
    smaller sample's wider kernel: an error of the right order, not exact)."""
    kde = stats.gaussian_kde(np.log1p(totals))
    return float(np.log(max(kde(np.log1p(observed))[0], 1e-300)))


# ---------------------------------------------------------------- offensives

def offensive_check(rec: record.Record, train: record.Record, origin: datetime.date = CUTOFF) -> Check:
    """Negative-binomial predictive of the count: Gamma(E + 1/2, rate T) rate
    from the first ceasefire to the origin, Poisson over the test span."""
    first = min(t.start_date for t in rec.truces)
    start = origin + datetime.timedelta(days=1)
    events = sum(1 for o in train.offensives if o.start_date >= first)
    exposure = (origin - first).days + 1
    span = (TEST_END - start).days
    dist = stats.nbinom(events + fit.JEFFREYS_SHAPE, exposure / (exposure + span))
    observed = sum(1 for o in rec.offensives if start <= o.start_date <= TEST_END)
    q = {level: tuple(float(x) for x in dist.ppf(_bounds(level))) for level in LEVELS}
    held = {level: float(dist.cdf(q[level][1]) - dist.cdf(q[level][0] - 1)) for level in LEVELS}
    return Check("major offensives", "any", f"{start}..{TEST_END} ({span} days)",
                 (float(observed), float(observed)), 0, q, held, float(dist.logpmf(observed)), origin)


# ---------------------------------------------------------------- all checks

def origin_checks(rec: record.Record, origin: datetime.date, rng: np.random.Generator) -> list[Check]:
    """Every check of the fit to ``origin`` against what followed, to the invasion."""
    start = origin + datetime.timedelta(days=1)
    train = truncate(rec, origin)
    f = fit.fit_loaded(train)
    strength = fit.fit_strength(train)
    laws = truce_laws(f, strength, rng)
    test_truces = [t for t in rec.truces if start <= t.start_date < TEST_END]
    periods = [v for v in rec.violations if v.regime == "truce" and v.kind == "count"
               and v.region == record.BOTH_REGIONS and start <= v.period_start and v.period_end < TEST_END]
    if not test_truces or not periods:
        raise UserError(f"{rec.folder}: no truces or truce violation rows in "
                        f"{start}..{TEST_END} to validate against")
    return (truce_checks(f, laws, test_truces, rng, origin)
            + violation_checks(f, laws, periods, rec.truces, rng, origin)
            + total_checks(f, laws, total_rows(rec, start), rng, origin)
            + [offensive_check(rec, train, origin)])


@dataclass(frozen=True)
class Validation:
    checks: list[Check]
    skipped: dict          # origin -> why it could not be fitted

    def summaries(self) -> list["Summary"]:
        return summarise(self.checks)


def validate(folder: str | Path | None = None, seed: int = SEED, origins=None) -> Validation:
    """Every check from each origin (default: the rolling origins, end of
    2016 to 2020). An origin other than the main one whose record is too
    short to fit is skipped, with the reason."""
    rec = record.load(folder)
    checks, skipped = [], {}
    for i, origin in enumerate(ORIGINS if origins is None else origins):
        try:
            checks += origin_checks(rec, origin, np.random.default_rng([seed, i]))
        except UserError as error:
            if origin == CUTOFF:
                raise
            skipped[origin] = str(error)
    return Validation(checks, skipped)


def strength_fit_line(folder: str | Path | None = None) -> str:
    """The in-sample comparison on the whole record: each form's maximised
    log-likelihood of the truces and the truce periods together."""
    f = fit.fit_record(None if folder is None else str(folder))
    s = fit.fit_strength(f.record)
    nb = f.nb["truce"].loglik
    cure = f.cure.loglik + nb if f.cure is not None else float("nan")
    return (f"Whole record, in sample (truces and truce periods jointly, 5 parameters each but weibull 4): "
            f"log-likelihood cure {cure:.1f}, weibull {f.truce.loglik + nb:.1f}, strength {s.loglik:.1f} "
            f"(strength_var {s.get('strength_var'):.3g}, SE of its log {s.se('strength_var'):.2f})")


# ---------------------------------------------------------------- summary and thresholds

@dataclass(frozen=True)
class Summary:
    """A series under one form from one origin."""
    origin: datetime.date
    series: str
    form: str
    n: int
    coverage: dict       # level -> (sure, possible) share inside
    expected: dict       # level -> (held, binomial SE)
    log_score: float     # mean over the series
    log_score_se: float  # its Monte Carlo error, from batches of the draws (NaN where not estimated)


def _batch_se(part: list[Check]) -> float:
    """Monte Carlo error of a series' mean log score: the spread over batches
    of the parameter draws of the batch means, over sqrt(BATCHES)."""
    if any(len(c.batches) != BATCHES for c in part):
        return 0.0 if all(c.series == "major offensives" for c in part) else float("nan")
    means = np.mean([c.batches for c in part], axis=0)
    return float(np.std(means, ddof=1) / math.sqrt(BATCHES))


def summarise(checks: list[Check]) -> list[Summary]:
    out = []
    for key in dict.fromkeys((c.origin, c.series, c.form) for c in checks):
        part = [c for c in checks if (c.origin, c.series, c.form) == key]
        out.append(Summary(*key, len(part), {lv: coverage(part, lv) for lv in LEVELS},
                           {lv: expected_coverage(part, lv) for lv in LEVELS},
                           float(np.mean([c.log_score for c in part])),
                           _batch_se(part)))
    return out


def failures(summaries: list[Summary], minimum: dict, origin: datetime.date = CUTOFF,
             form: str = DEFAULT_FORM) -> list[str]:
    """The series of the default form from ``origin`` whose coverage (the
    possible share: censored observations counted in) falls below
    ``minimum[level]``."""
    out = []
    for s in summaries:
        if s.origin != origin or s.form not in (form, "any"):
            continue
        for level, least in minimum.items():
            if s.coverage[level][1] < least:
                out.append(f"{s.series} ({s.form}): {level:.0%} interval covers {s.coverage[level][1]:.2f} "
                           f"of {s.n}, below {least:.2f}")
    return out


def form_contrasts(summaries: list[Summary], form: str = "strength", against: str = DEFAULT_FORM) -> list[tuple]:
    """Per origin and series, ``form``'s mean log score minus ``against``'s,
    its error (the two Monte Carlo errors combined, NaN where not
    estimated) and a verdict: "better" or "worse" beyond two errors, else
    "alike" (forms whose fits coincide score alike exactly)."""
    scores = {(s.origin, s.series, s.form): s for s in summaries}
    out = []
    for (origin, series, f), s in scores.items():
        base = scores.get((origin, series, against))
        if f != form or base is None:
            continue
        diff, se = s.log_score - base.log_score, math.hypot(s.log_score_se, base.log_score_se)
        verdict = "alike" if not abs(diff) > 2 * se else ("better" if diff > 0 else "worse")
        out.append((origin, series, diff, se, verdict))
    return out


def parse_min_coverage(text: str) -> dict:
    """``X`` or ``X,Y``: the least coverage of the 90% interval, and of the 50% one."""
    try:
        values = [float(x) for x in text.split(",")]
    except ValueError:
        values = []
    if not 1 <= len(values) <= 2 or not all(0.0 <= v <= 1.0 for v in values):
        raise UserError(f"--min-coverage {text!r}: give X or X,Y, shares from 0 to 1 (X for the 90% "
                        f"interval, Y for the 50% one), e.g. --min-coverage 0.8,0.35")
    return dict(zip((0.9, 0.5), values, strict=False))


# ---------------------------------------------------------------- output

def _g(x: float) -> str:
    return "inf" if np.isinf(x) else f"{x:.3g}"


def _observed_text(c: Check) -> str:
    low, high = c.observed
    if low == high:
        return _g(low)
    return f">= {_g(low)}" if np.isinf(high) else f"({_g(low)}, {_g(high)}]"


def _interval_text(c: Check, level: float) -> str:
    low, high = c.quantiles[level]
    return f"{_g(low)} - {_g(high)} ({c.held[level]:.0%})"


def _cover_text(s: Summary, level: float) -> str:
    low, high = s.coverage[level]
    held, se = s.expected[level]
    got = f"{low:.2f}" + (f"-{high:.2f}" if high > low else "")
    return f"{got} (calibrated {held:.2f} ± {se:.2f})"


def _columns(head, rows) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    return ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)),
            "-" * (sum(widths) + 2 * len(widths))] + \
        ["  ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)) for r in rows]


def table(result: Validation) -> str:
    """The main origin's checks, then the coverage and log score of every
    series, form and origin, as text."""
    checks, summaries = result.checks, result.summaries()
    main = [c for c in checks if c.origin == CUTOFF and c.form in (DEFAULT_FORM, "any")]
    lines = [f"Out-of-sample check: the record model refitted to {CUTOFF}, predictions for "
             f"{TEST_START}..{TEST_END} (truce form {DEFAULT_FORM}, the shipped default; in brackets "
             f"the predictive probability each interval holds)"]
    if main:
        lines += _columns(("series", "item", "50% interval", "90% interval", "observed", "in 50%", "in 90%"),
                          [(c.series, c.item[:48], _interval_text(c, 0.5), _interval_text(c, 0.9),
                            _observed_text(c), c.inside(0.5), c.inside(0.9)) for c in main])
    lines += ["", "Coverage per series (surely-possibly inside; censored observations make a range) against "
              "what a calibrated model would cover (± its binomial sampling error), and the mean log score "
              "(higher is better; compare forms within a series) ± its Monte Carlo error:"]
    lines += _columns(("origin", "series", "form", "n", "50% interval", "90% interval", "log score"),
                      [(str(s.origin), s.series, s.form, str(s.n), _cover_text(s, 0.5), _cover_text(s, 0.9),
                        f"{s.log_score:.3f}" + (f" ± {s.log_score_se:.3f}" if np.isfinite(s.log_score_se) else ""))
                       for s in summaries])
    lines += [f"Origin {origin} skipped: {why}" for origin, why in result.skipped.items()]
    contrasts = form_contrasts(summaries)
    if contrasts:
        lines += ["", f"Does truce strength predict better than the default ({DEFAULT_FORM})? Mean log score of "
                  f"strength minus {DEFAULT_FORM} ± its Monte Carlo error; better or worse beyond two errors:"]
        lines += _columns(("origin", "series", "strength - " + DEFAULT_FORM, "verdict"),
                          [(str(o), series, f"{d:+.3f}" + (f" ± {se:.3f}" if np.isfinite(se) else ""), v)
                           for o, series, d, se, v in contrasts])
    lines += ["", "What this tests: the record model (truce durations, violation counts, the yearly OSCE "
              "totals through the reference model of the kernel, offensives). What it does not: the kernel "
              "itself (tests/test_reference.py checks it against the reference), the first ceasefire, the "
              "force, US support and leverage, which no record informs."]
    return "\n".join(lines)


def _write_csv(checks: list[Check], path: Path) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["origin", "series", "form", "item", "days", "p05", "p25", "p75", "p95",
                         "held_50", "held_90", "observed_low", "observed_high", "inside_50", "inside_90",
                         "log_score"])
        for c in checks:
            writer.writerow([c.origin, c.series, c.form, c.item, c.days, c.quantiles[0.9][0], *c.quantiles[0.5],
                             c.quantiles[0.9][1], f"{c.held[0.5]:.4f}", f"{c.held[0.9]:.4f}", *c.observed,
                             c.inside(0.5), c.inside(0.9), f"{c.log_score:.6g}"])


def _interval_plot(ax, checks: list[Check], scale: np.ndarray, vertical: bool, floor: float = 0.5) -> None:
    """50% and 90% intervals as thick and thin bars, the observation on top;
    values below ``floor`` are drawn at it (zeros on a log axis)."""
    colours = {"yes": "tab:green", "maybe": "tab:orange", "no": "tab:red"}
    for i, (c, s) in enumerate(zip(checks, scale, strict=True)):
        for level, width in ((0.9, 1.5), (0.5, 6)):
            low, high = (x / s for x in c.quantiles[level])
            high = min(high, 1e4 if not vertical else high)
            if vertical:
                ax.plot([i, i], [max(low, floor), high], color="tab:blue", lw=width, alpha=0.5)
            else:
                ax.plot([max(low, floor), high], [i, i], color="tab:blue", lw=width, alpha=0.5)
        low, high = (x / s for x in c.observed)
        colour = colours[c.inside(0.9)]
        if vertical:
            ax.plot(i, max(low, floor), "o", color=colour, ms=5, zorder=3)
        elif low == high:
            ax.plot(max(low, floor), i, "o", color=colour, ms=7, zorder=3)
        else:
            ax.plot([max(low, floor), min(high, 1e4)], [i, i], color=colour, lw=3, zorder=3)
            ax.plot(min(high, 1e4), i, ">" if np.isinf(high) else "|", color=colour, ms=9, zorder=3)


def figure(checks: list[Check], path: Path) -> None:
    """One panel per series: the main origin's default-form predictive bands
    against what happened."""
    from matplotlib.figure import Figure

    main = [c for c in checks if c.origin == CUTOFF and c.form in (DEFAULT_FORM, "any")]
    by = {s: [c for c in main if c.series == s] for s in SERIES}
    fig = Figure(figsize=(18, 6.5))
    axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [1.3, 1.6, 0.6, 0.5]})

    ax, truces = axes[0], by["truce duration"]
    _interval_plot(ax, truces, np.ones(len(truces)), vertical=False)
    ax.set_yticks(range(len(truces)), [c.item[:40] for c in truces], fontsize=7)
    ax.set_xscale("log")
    ax.set_xlim(0.5, 1e4)
    ax.set_xlabel("days the truce held (log; right edge = never collapses)")
    ax.set_title("Truce durations", fontsize=10)

    ax, periods = axes[1], by["violations in a truce period"]
    _interval_plot(ax, periods, np.array([c.days for c in periods], float), vertical=True)
    step = max(len(periods) // 12, 1)
    ax.set_xticks(range(0, len(periods), step), [periods[i].item[:7] for i in range(0, len(periods), step)],
                  rotation=60, fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("violations per day in the period (log; 0 shown at 0.5)")
    ax.set_title(f"OSCE truce periods ({len(periods)}), NB predictive", fontsize=10)

    ax, totals = axes[2], by["OSCE total from 1 January"]
    if totals:
        _interval_plot(ax, totals, np.ones(len(totals)), vertical=True, floor=1.0)
        ax.set_xticks(range(len(totals)), [c.item[:4] + f"\n({c.days} d)" for c in totals], fontsize=8)
        ax.set_yscale("log")
    ax.set_ylabel("OSCE violations from 1 January (log)")
    ax.set_title("OSCE totals, reference model", fontsize=10)

    ax, offensive = axes[3], by["major offensives"][0]
    _interval_plot(ax, [offensive], np.ones(1), vertical=True, floor=0.0)
    ax.set_xticks([0], [offensive.item[:10] + "..\n" + str(TEST_END)])
    ax.set_ylabel("number of major offensives")
    ax.set_ylim(-0.2, max(offensive.quantiles[0.9][1], offensive.observed[0]) + 1)
    ax.set_title("Major offensives", fontsize=10)

    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(f"Out-of-sample check: the record model refitted to {CUTOFF} (truce form {DEFAULT_FORM}); "
                 f"thick bars 50%, thin bars 90% central predictive intervals; observation green = inside 90%, "
                 f"orange = maybe (censored), red = outside", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write(checks: list[Check], out_dir: Path) -> list[Path]:
    """validation.csv and validation.png in ``out_dir``, each written under a
    temporary name first so no partial file carries the final name."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"--out {out_dir}: cannot create the folder ({error.strerror or error})") from None
    written = []
    for name, writer in (("validation.csv", _write_csv), ("validation.png", figure)):
        final = out_dir / name
        partial = out_dir / f".{name}.partial{final.suffix}"
        try:
            writer(checks, partial)
            os.replace(partial, final)
        finally:
            partial.unlink(missing_ok=True)
        written.append(final)
    return written
