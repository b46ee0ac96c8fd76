"""`deterrence validate`: out-of-sample check of the record's fits.

Fit the priors on the record up to 2018-12-31, predict what the record shows
for 2019-01-01 - 2022-02-24, and count how often the central 50% and 90%
predictive intervals hold what happened:

- each truce that started in the test span: its duration, under the plain
  Weibull and the cure-fraction (durable truce) model, parameters drawn from
  the normal approximation of the likelihood (correlations kept);
- each OSCE truce period (kind = count, both regions): its violation total,
  NB(d mu, d k) with (mu, k) drawn the same way;
- the number of major offensives in the span: Poisson-gamma (negative
  binomial) over its exposure, from the rate since the first ceasefire.

An observation can be an interval (an interval-censored truce, or a truce
still holding when superseded): it is inside a predictive interval surely
("yes"), possibly ("maybe") or not at all ("no"), and coverage is reported
as the range from the sure to the possible share.
"""

import csv
import datetime
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import stats

from deterrence import UserError, fit, record

CUTOFF = datetime.date(2018, 12, 31)          # last day of the fitting record
TEST_START = datetime.date(2019, 1, 1)
TEST_END = datetime.date(2022, 2, 24)         # the invasion, counted in the span
LEVELS = (0.5, 0.9)
DRAWS = 4000
PER_DRAW = 20                                 # predictive durations per parameter draw
SEED = 20190101


@dataclass(frozen=True)
class Check:
    """One predicted quantity against what happened."""
    group: str
    item: str
    observed: tuple[float, float]              # (low, high]; equal for an exact value
    days: int                                  # period length (violations), else 0
    quantiles: dict                            # level -> (low, high) predictive interval

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


def _quantiles(samples: np.ndarray) -> dict:
    return {level: tuple(float(q) for q in np.quantile(samples, _bounds(level))) for level in LEVELS}


def truce_checks(f: fit.RecordFit, truces, rng) -> list[Check]:
    params = np.exp(rng.multivariate_normal(np.log(f.truce.values), np.array(f.truce.cov_log), DRAWS))
    plain = params[:, 1:2] * rng.weibull(params[:, 0:1], (DRAWS, PER_DRAW))
    models = [("Weibull", plain)]
    if f.cure is not None:
        cure = f.cure.draws(DRAWS, rng)
        durable = rng.random((DRAWS, PER_DRAW)) < cure[:, 2:3]
        models.append(("cure-fraction", np.where(
            durable, np.inf, cure[:, 1:2] * rng.weibull(cure[:, 0:1], (DRAWS, PER_DRAW)))))
    out = []
    for model, samples in models:
        q = _quantiles(samples.ravel())
        out += [Check(f"truce duration, {model}", t.name, _observed(t), 0, q) for t in truces]
    return out


def violation_checks(f: fit.RecordFit, periods, rng) -> list[Check]:
    nb = f.nb["truce"]
    params = np.exp(rng.multivariate_normal(np.log(nb.values), np.array(nb.cov_log), DRAWS))
    mu, k = params[:, 0], params[:, 1]
    out = []
    for v in periods:
        totals = rng.poisson(rng.gamma(v.days * k, mu / k))
        out.append(Check("violations in a truce period, NB", f"{v.period_start}..{v.period_end}",
                         (float(v.violations), float(v.violations)), v.days, _quantiles(totals)))
    return out


def offensive_check(rec: record.Record, train: record.Record) -> Check:
    """Negative-binomial predictive of the count: Gamma(E + 1/2, rate T) rate
    from the first ceasefire to the cut-off, Poisson over the test span."""
    first = min(t.start_date for t in rec.truces)
    events = sum(1 for o in train.offensives if o.start_date >= first)
    exposure = (CUTOFF - first).days + 1
    span = (TEST_END - TEST_START).days
    dist = stats.nbinom(events + fit.JEFFREYS_SHAPE, exposure / (exposure + span))
    observed = sum(1 for o in rec.offensives if TEST_START <= o.start_date <= TEST_END)
    q = {level: tuple(float(x) for x in dist.ppf(_bounds(level))) for level in LEVELS}
    return Check("major offensives, Poisson-gamma", f"{TEST_START}..{TEST_END} ({span} days)",
                 (float(observed), float(observed)), 0, q)


def validate(folder: str | Path | None = None, seed: int = SEED) -> list[Check]:
    """Every check of the fit to 2018 against 2019-2022."""
    rec = record.load(folder)
    train = truncate(rec)
    f = fit.fit_loaded(train)
    rng = np.random.default_rng(seed)
    test_truces = [t for t in rec.truces if TEST_START <= t.start_date < TEST_END]
    periods = [v for v in rec.violations if v.regime == "truce" and v.kind == "count"
               and v.region == record.BOTH_REGIONS and TEST_START <= v.period_start
               and v.period_end < TEST_END]
    if not test_truces or not periods:
        raise UserError(f"{rec.folder}: no truces or truce violation rows in "
                        f"{TEST_START}..{TEST_END} to validate against")
    return truce_checks(f, test_truces, rng) + violation_checks(f, periods, rng) + \
        [offensive_check(rec, train)]


# ---------------------------------------------------------------- output

def _g(x: float) -> str:
    return "inf" if np.isinf(x) else f"{x:.3g}"


def _observed_text(c: Check) -> str:
    low, high = c.observed
    if low == high:
        return _g(low)
    return f">= {_g(low)}" if np.isinf(high) else f"({_g(low)}, {_g(high)}]"


def table(checks: list[Check]) -> str:
    """The checks and the coverage per group, as text."""
    head = ("quantity", "item", "50% interval", "90% interval", "observed", "in 50%", "in 90%")
    rows = [(c.group, c.item, "{} - {}".format(*map(_g, c.quantiles[0.5])),
             "{} - {}".format(*map(_g, c.quantiles[0.9])), _observed_text(c),
             c.inside(0.5), c.inside(0.9)) for c in checks]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    lines = [f"Out-of-sample check: priors fitted on the record to {CUTOFF}, predictions for "
             f"{TEST_START}..{TEST_END}",
             "  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)),
             "-" * (sum(widths) + 2 * len(widths))]
    lines += ["  ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)) for r in rows]
    lines.append("")
    if not any(c.group.endswith("cure-fraction") for c in checks):
        lines.append("The cure-fraction (durable truce) model is not shown: on the record to the cut-off "
                     "no truce outlasted its observation, so its maximum likelihood puts p_durable = 0 "
                     "and it is the plain Weibull.")
    lines.append("Coverage (surely - possibly inside; intervals of censored observations make a range):")
    for group in dict.fromkeys(c.group for c in checks):
        part = [c for c in checks if c.group == group]
        cells = []
        for level in LEVELS:
            low, high = coverage(part, level)
            cells.append(f"{level:.0%} interval {low:.2f}" + (f"-{high:.2f}" if high > low else ""))
        lines.append(f"  {group} ({len(part)}): " + ", ".join(cells))
    return "\n".join(lines)


def _write_csv(checks: list[Check], path: Path) -> None:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["quantity", "item", "days", "p05", "p25", "p75", "p95",
                         "observed_low", "observed_high", "inside_50", "inside_90"])
        for c in checks:
            writer.writerow([c.group, c.item, c.days, *c.quantiles[0.9][:1], *c.quantiles[0.5],
                             c.quantiles[0.9][1], *c.observed, c.inside(0.5), c.inside(0.9)])


def _interval_plot(ax, checks: list[Check], scale: np.ndarray, vertical: bool, floor: float = 0.5) -> None:
    """50% and 90% intervals as thick and thin bars, the observation on top;
    values below ``floor`` are drawn at it (zeros on a log axis)."""
    colours = {"yes": "tab:green", "maybe": "tab:orange", "no": "tab:red"}
    for i, (c, s) in enumerate(zip(checks, scale, strict=True)):
        for level, width in ((0.9, 1.5), (0.5, 6)):
            low, high = (x / s for x in c.quantiles[level])
            high = min(high, 1e4)
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
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 6.5))
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.3, 1.6, 0.8]})
    truces = [c for c in checks if c.group.startswith("truce")]
    periods = [c for c in checks if c.group.startswith("violations")]
    offensive = next(c for c in checks if c.group.startswith("major"))

    ax = axes[0]
    _interval_plot(ax, truces, np.ones(len(truces)), vertical=False)
    ax.set_yticks(range(len(truces)), [f"{c.item[:40]}\n({c.group.split(', ')[1]})" for c in truces],
                  fontsize=7)
    ax.set_xscale("log")
    ax.set_xlim(0.5, 1e4)
    ax.set_xlabel("days the truce held (log; right edge = never collapses)")
    ax.set_title("Truce durations 2019-2022", fontsize=10)

    ax = axes[1]
    _interval_plot(ax, periods, np.array([c.days for c in periods], float), vertical=True)
    step = max(len(periods) // 12, 1)
    ax.set_xticks(range(0, len(periods), step), [periods[i].item[:7] for i in range(0, len(periods), step)],
                  rotation=60, fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("violations per day in the period (log; 0 shown at 0.5)")
    ax.set_title(f"OSCE truce periods 2019-2022 ({len(periods)}), NB predictive", fontsize=10)

    ax = axes[2]
    _interval_plot(ax, [offensive], np.ones(1), vertical=True, floor=0.0)
    ax.set_xticks([0], ["2019-01-01..\n2022-02-24"])
    ax.set_ylabel("number of major offensives")
    ax.set_ylim(-0.2, max(offensive.quantiles[0.9][1], offensive.observed[0]) + 1)
    ax.set_title("Major offensives", fontsize=10)

    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(f"Out-of-sample check: fitted to {CUTOFF}; thick bars 50%, thin bars 90% predictive "
                 f"intervals; observation green = inside 90%, orange = maybe (censored), red = outside",
                 fontsize=10)
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
