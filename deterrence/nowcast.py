"""`deterrence nowcast`: a truce's risk of collapse, and of a re-attack,
given the violations counted since it began.

The truce-strength model (``fit.fit_strength``, docs/model.md "Truce
strength"): the truce draws a frailty W ~ Gamma(1 / strength_var, scale
strength_var) that multiplies both its Weibull collapse hazard and its daily
violation rate. The counts (a d-day total is NB(W d mu_truce, d k_truce))
and the truce's survival to its age a (exp(-W H(a)), H(t) = (t / scale) **
shape) give the posterior of W, on equal-weight nodes of its gamma law, for
each parameter draw of the record fit; each draw's weight is its marginal
likelihood (importance weights over draws of the fit's normal
approximation). Then:

- P(collapse within tau days from now | draw) = E[1 - exp(-W (H(a + tau) - H(a)))];
- P(re-attack within y years from now | draw): Monte Carlo over W and the
  truces to come (gaps Exp(lambda_retruce), each new truce a fresh W,
  no durable share), the re-attack hazard lambda_a0 in a truce and
  lambda_a0 * e_collapse after a collapse, these three drawn from the
  config's priors.

Each risk is the weighted mean over draws; its parameter interval the
weighted 5th-95th percentiles of the per-draw risk (for the re-attack,
each draw's risk is a share of ``RUNS_PER_DRAW`` runs, whose noise widens
the interval a little).
"""

import csv
import datetime
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import special

from deterrence import UserError, fit, model, record

COLLAPSE_DAYS = (7, 30, 90)
REATTACK_YEARS = (1, 2)
DRAWS = 2000
NODES = 64
RUNS_PER_DRAW = 100
SEED = 20200727
LEVEL = 0.9


@dataclass(frozen=True)
class Period:
    """Violations counted over ``days`` days from day ``start`` of the truce."""
    start: int
    days: int
    count: int


@dataclass(frozen=True)
class Risk:
    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class Nowcast:
    age: int                     # days the truce has held
    collapse: dict               # days -> Risk of a collapse within them
    reattack: dict               # years -> Risk of a re-attack within them
    strength: Risk               # the posterior of W (1 = an average truce; below 1 stronger)
    effective_draws: float       # of the importance weights over parameter draws


def read_counts(path: str | Path, start: datetime.date | None = None) -> tuple[datetime.date, list[Period]]:
    """A CSV of daily counts, columns ``date,count``, dates in order; the truce
    begins on ``start`` (default: the first date)."""
    path = Path(path)
    try:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
    except OSError as error:
        raise UserError(f"--violations {path}: cannot read the file ({error.strerror or error}); "
                        f"give a CSV with columns date,count") from None
    if not rows or [c.strip().lower() for c in rows[0]] != ["date", "count"]:
        raise UserError(f"--violations {path}: the first line must be the header date,count")
    dates, counts = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != 2:
            raise UserError(f"--violations {path} line {line}: need two fields, date,count")
        try:
            day = datetime.date.fromisoformat(row[0].strip())
        except ValueError:
            raise UserError(f"--violations {path} line {line}: date {row[0]!r} is not YYYY-MM-DD") from None
        text = row[1].strip()
        if not text.isdigit():
            raise UserError(f"--violations {path} line {line}: count {text!r} must be a whole number "
                            f"0 or more (the violations counted that day)")
        if dates and day <= dates[-1]:
            raise UserError(f"--violations {path} line {line}: date {day} is not after {dates[-1]}; "
                            f"give one row per day, dates in order")
        dates.append(day)
        counts.append(int(text))
    if not dates:
        raise UserError(f"--violations {path}: no rows; give at least one date,count row")
    start = dates[0] if start is None else start
    if dates[0] < start:
        raise UserError(f"--violations {path}: date {dates[0]} is before the truce began ({start}); "
                        f"drop the rows before it or give --start")
    return start, [Period((d - start).days, 1, c) for d, c in zip(dates, counts, strict=True)]


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs) -> list[float]:
    order = np.argsort(values)
    cdf = np.cumsum(weights[order])
    cdf /= cdf[-1]
    return [float(values[order][min(np.searchsorted(cdf, q), len(values) - 1)]) for q in qs]


def _risk(per_draw: np.ndarray, weights: np.ndarray) -> Risk:
    low, high = _weighted_quantiles(per_draw, weights, ((1 - LEVEL) / 2, (1 + LEVEL) / 2))
    return Risk(float(np.sum(weights * per_draw)), low, high)


def other_draws(config, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) draws of lambda_a0, e_collapse and lambda_retruce from the
    config's priors (lambda_a0 jointly calibrated where the config says so)."""
    from deterrence import plan, reference

    p = plan.make_plan(config)
    theta = reference.draw_parameters(rng, p.family, p.args, n)
    names = ("lambda_a0", "e_collapse", "lambda_retruce")
    return theta[:, [model.PARAMETER_NAMES.index(x) for x in names]]


def nowcast(periods: list[Period], age: int, strength: fit.StrengthFit, others: np.ndarray,
            rng: np.random.Generator) -> Nowcast:
    """The nowcast of a truce that has held ``age`` days with these counts."""
    if any(p.start + p.days > age for p in periods):
        raise UserError(f"--age {age}: violations are counted past day {age} of the truce; give an age "
                        f"that covers every count (or leave --age out)")
    s = strength.draws(len(others), rng)
    shape, scale, var, mu, k = (s[:, i:i + 1] for i in range(5))
    w = np.array([fit.strength_nodes(v, NODES) if v > 0 else np.ones(NODES) for v in var[:, 0]])
    h_age = (age / scale) ** shape
    loglik = -w * h_age
    for p in periods:
        loglik = loglik + fit.nbinom_logpmf(float(p.count), w * p.days * mu, p.days * k)
    marginal = special.logsumexp(loglik, axis=1) - math.log(NODES)
    weights = np.exp(marginal - marginal.max())
    weights /= weights.sum()
    post = np.exp(loglik - special.logsumexp(loglik, axis=1, keepdims=True))     # W | draw
    collapse = {}
    for tau in COLLAPSE_DAYS:
        dh = ((age + tau) / scale) ** shape - h_age
        collapse[tau] = _risk(np.sum(post * -np.expm1(-w * dh), axis=1), weights)
    strength_mean = np.sum(post * w, axis=1)
    reattack = _reattack(rng, post, w, shape, scale, var, age, others)
    return Nowcast(age, collapse, {y: _risk(r, weights) for y, r in reattack.items()},
                   _risk(strength_mean, weights), float(1.0 / np.sum(weights ** 2)))


def _reattack(rng, post, w, shape, scale, var, age, others) -> dict:
    """Per draw, the share of RUNS_PER_DRAW runs with a re-attack within each
    of REATTACK_YEARS from now."""
    n, r = len(post), RUNS_PER_DRAW
    horizon = round(365.25 * max(REATTACK_YEARS))
    lam, e_collapse, retruce = (others[:, i:i + 1] for i in range(3))
    pick = (np.cumsum(post, axis=1)[:, None, :] < rng.random((n, r, 1))).sum(axis=2).clip(0, NODES - 1)
    frailty = np.take_along_axis(w, pick, axis=1)
    # The current truce's remaining length T: W (H(age + T) - H(age)) = E.
    h_age = (age / scale) ** shape
    length = scale * (h_age + rng.standard_exponential((n, r)) / frailty) ** (1.0 / shape) - age
    t = np.zeros((n, r))
    budget = rng.standard_exponential((n, r))
    t_reattack = np.full((n, r), np.inf)
    live = np.ones((n, r), bool)
    while live.any():
        for rate, span in ((lam, length), (lam * e_collapse, rng.standard_exponential((n, r)) / retruce)):
            end = np.minimum(t + span, horizon)
            need = rate * (end - t)
            hit = live & (budget <= need)
            with np.errstate(divide="ignore", invalid="ignore"):
                t_reattack = np.where(hit, t + budget / rate, t_reattack)
            budget = budget - need
            live = live & ~hit & (end < horizon)
            t = end
        fresh = np.where(var > 0, rng.gamma(1.0 / np.maximum(var, 1e-300), np.maximum(var, 1e-300), (n, r)), 1.0)
        length = scale * (rng.standard_exponential((n, r)) / fresh) ** (1.0 / shape)
    return {y: np.mean(t_reattack < round(365.25 * y), axis=1) for y in REATTACK_YEARS}


def nowcast_file(config_path: str | Path, violations: str | Path, start: datetime.date | None = None,
                 age: int | None = None, seed: int = SEED) -> Nowcast:
    """The nowcast of a truce from a config (its re-attack and re-truce
    priors) and a CSV of its daily counts; the truce's age is by default the
    days up to the last count."""
    from deterrence import config

    start, periods = read_counts(violations, start)
    cfg = config.load(config_path)
    last = max(p.start + p.days for p in periods)
    age = last if age is None else age
    rng = np.random.default_rng(seed)
    return nowcast(periods, age, fit.fit_strength(record.load()), other_draws(cfg, DRAWS, rng), rng)


def text(n: Nowcast) -> str:
    lines = [f"Nowcast after {n.age} days of truce (truce-strength model fitted to the record; "
             f"90% parameter intervals; {n.effective_draws:.0f} effective parameter draws)"]
    lines += [f"  collapse within {d:>3} days: {r.mean:6.1%}  [{r.low:.1%}, {r.high:.1%}]"
              for d, r in n.collapse.items()]
    lines += [f"  re-attack within {y} year{'s' if y > 1 else ''}: {r.mean:6.1%}  [{r.low:.1%}, {r.high:.1%}]"
              for y, r in n.reattack.items()]
    lines.append(f"  strength: its frailty W {n.strength.mean:.2f} [{n.strength.low:.2f}, {n.strength.high:.2f}] "
                 f"(1 = an average truce; below 1 quieter and longer)")
    return "\n".join(lines)


# ---------------------------------------------------------------- the held-out truces of 2019-2021

HELD_OUT = (datetime.date(2019, 1, 1), datetime.date(2021, 12, 31))
CHECK_DAYS = (7, 14)


def record_periods(rec: record.Record, truce: record.Truce, days: int) -> list[Period]:
    """The record's truce-period counts (both regions) that end within the
    first ``days`` days of ``truce``."""
    return [Period((v.period_start - truce.start_date).days, v.days, v.violations) for v in rec.violations
            if v.regime == "truce" and v.kind == "count" and v.region == record.BOTH_REGIONS
            and truce.start_date <= v.period_start and (v.period_end - truce.start_date).days < days]


def held_out(origin: datetime.date | None = None, config=None, seed: int = SEED) -> dict:
    """Each truce that began in HELD_OUT: its nowcast after each of
    CHECK_DAYS days from its own counts, with the strength fitted on the
    record to ``origin`` (default: the whole record, in sample for these
    truces). Returns {(truce name, days): Nowcast}."""
    from deterrence import validate
    from deterrence.report import priors as priors_report

    rec = record.load()
    train = rec if origin is None else validate.truncate(rec, origin)
    strength = fit.fit_strength(train)
    rng = np.random.default_rng(seed)
    others = other_draws(config or priors_report.default_config(), DRAWS, rng)
    out = {}
    for t in rec.truces:
        if HELD_OUT[0] <= t.start_date <= HELD_OUT[1]:
            for days in CHECK_DAYS:
                out[(t.name, days)] = nowcast(record_periods(rec, t, days), days, strength, others,
                                              np.random.default_rng([seed, days]))
    return out


def ranking(results: dict, days: int, within: int = 30) -> list[tuple[str, Risk, float]]:
    """The truces from strongest (least risk of a collapse within ``within``
    days) to weakest, after ``days`` days."""
    rows = [(name, n.collapse[within], n.effective_draws) for (name, d), n in results.items() if d == days]
    return sorted(rows, key=lambda row: row[1].mean)


def figure(results: dict, path: Path, title: str) -> None:
    from matplotlib.figure import Figure

    names = list(dict.fromkeys(name for name, _ in results))
    fig = Figure(figsize=(11, 4.8))
    axes = fig.subplots(1, len(COLLAPSE_DAYS), sharey=True)
    for ax, within in zip(axes, COLLAPSE_DAYS, strict=True):
        for j, days in enumerate(CHECK_DAYS):
            risks = [results[(name, days)].collapse[within] for name in names]
            y = np.arange(len(names)) + (j - 0.5) * 0.3
            ax.errorbar([r.mean for r in risks], y, xerr=[[r.mean - r.low for r in risks],
                                                          [r.high - r.mean for r in risks]],
                        fmt="o", capsize=3, label=f"after {days} days")
        ax.set_title(f"collapse within {within} more days", fontsize=10)
        ax.set_xlim(0, 1)
        ax.grid(True, alpha=0.3)
    axes[0].set_yticks(range(len(names)), [n[:38] for n in names], fontsize=8)
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def held_out_text(results: dict, label: str) -> str:
    lines = [f"Held-out truces of 2019-2021, {label}:"]
    for days in CHECK_DAYS:
        lines.append(f"  after {days} days, strongest first (risk of a collapse within 30 more days, 90% interval):")
        lines += [f"    {name[:52]:<52} {r.mean:6.1%} [{r.low:.1%}, {r.high:.1%}]  ({eff:.0f} effective draws)"
                  for name, r, eff in ranking(results, days)]
    return "\n".join(lines)


if __name__ == "__main__":    # python -m deterrence.nowcast [FIG.png]: the README's check and figure
    import sys

    from deterrence import validate

    for origin, label in ((None, "strength fitted on the whole record (in sample)"),
                          (validate.CUTOFF, f"strength fitted on the record to {validate.CUTOFF}")):
        res = held_out(origin)
        print(held_out_text(res, label))
        if origin is None and len(sys.argv) > 1:
            figure(res, Path(sys.argv[1]), f"Nowcast of the 2019-2021 truces from their first days' OSCE "
                                           f"counts ({label}); 90% parameter intervals")
