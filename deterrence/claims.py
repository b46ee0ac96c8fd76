"""The debate's three claims, each a quantity the model can test, with the
share of parameter draws under which it holds, fails or is undecided.

1. **The veto.** A force offered only after a ceasefire hands Moscow a veto:
   the veto part of that force's effect on days at war (its effect minus
   its effect with the veto neutral, ``nu = nu_now = 0`` and
   ``veto_floor = 1``, on the same draws and runs) is positive. A negative
   veto part is a relief: the guarantee makes a settlement easier.
2. **Strikes.** A small rear-area force cannot deter missile and drone
   strikes on cities: the 5,000-strong rear force, its veto neutral (so a
   longer war does not count), cuts the mean strikes over the horizon by
   less than `STRIKE_CUT` of the baseline's.
3. **Leverage.** Leverage (seized assets and aid) matters more than the
   force: it has fewer days at war than the 5,000-strong rear force
   offered after a ceasefire.

Each draw's quantity is estimated from its runs, replayed as two halves
(``deterrence.replay.halves``) so that its noise is known; the shares are
read off the draws' estimates shrunk to remove that noise
(``deterrence.epistemic``). A claim *holds* in a draw where its quantity is
beyond the threshold by more than the margin, *fails* where it is short of
it by more than the margin, and is *undecided* in between.

The decomposition of the force's effect (``deterrence claims`` prints it):
the total effect on days at war and strikes, its deterrence part (the
effect with the veto neutral) and its veto part (the rest), each with its
mean and 90% parameter interval.
"""

import dataclasses
import json
import math
from dataclasses import dataclass

import numpy as np

from deterrence import UserError, epistemic, experiment, outcomes
from deterrence.config import Config, Option
from deterrence.model import PARAMETER_NAMES

DRAWS = 1000
STRIKE_CUT = 0.05             # claim 2: a cut of strikes below this share of the baseline's is no deterrence
MARGIN_DAYS = 0.01            # claims 1 and 3: a margin of 1% of the horizon, in days
MARGIN_STRIKES = 0.025        # claim 2: a margin of 2.5% of the baseline's strikes
# The veto neutral, in both veto forms.
VETO_NEUTRAL = {"nu": 0.0, "nu_now": 0.0, "veto_floor": 1.0}


def small_force(baseline: Option, rule: str = "after_ceasefire") -> Option:
    """The debate's small force: 5,000 troops in the rear, no US support,
    status-quo leverage (the baseline's otherwise)."""
    return dataclasses.replace(baseline, force_size=5000, posture="rear", deploy_rule=rule, support="none",
                               leverage="status_quo")


def leverage_option(baseline: Option) -> Option:
    return dataclasses.replace(baseline, force_size=0, leverage="assets_and_aid")


@dataclass(frozen=True)
class Reading:
    """A quantity over the parameter draws: its mean, its 90% parameter
    interval (debiased), and the shares of draws where the claim holds,
    fails or is undecided (for a claim; NaN for a part of an effect)."""
    mean: float
    low: float
    high: float
    noise: float             # Monte Carlo error of the mean (simulation noise only)
    holds: float = math.nan
    fails: float = math.nan

    @property
    def undecided(self) -> float:
        return 1.0 - self.holds - self.fails


@dataclass(frozen=True)
class Claim:
    number: int
    words: str               # the claim as a quantity
    decided_by: str          # what the shares rest on
    reading: Reading
    unit: str


@dataclass(frozen=True)
class Claims:
    draws: int
    runs_per_draw: int
    options: dict            # role -> option text
    claims: tuple[Claim, ...]
    decomposition: dict      # option role -> measure -> part -> Reading


def _reading(halves: np.ndarray, threshold: float | None = None, margin: float = 0.0,
             holds_above: bool = True) -> Reading:
    """``halves`` (draws, 2): each draw's estimate from each half of its runs."""
    x = halves.mean(axis=1)
    noise = float(np.mean((halves[:, 0] - halves[:, 1]) ** 2) / 4)
    order = np.argsort(x)
    w, v = np.ones(x.size), x[order]
    low, high = epistemic.shrunk_quantiles(w, v, noise, (0.05, 0.95))
    se = float(x.std(ddof=1) / math.sqrt(x.size))
    if threshold is None:
        return Reading(float(x.mean()), float(low), float(high), se)
    below_low = epistemic.shrunk_share_below(w, v, noise, threshold - margin)
    below_high = epistemic.shrunk_share_below(w, v, noise, threshold + margin)
    holds, fails = (1.0 - below_high, below_low) if holds_above else (below_low, 1.0 - below_high)
    return Reading(float(x.mean()), float(low), float(high), se, float(holds), float(fails))


def evaluate(config: Config, draws: int = DRAWS, runs_per_draw: int | None = None, workers: int | None = None,
             client=None, show_progress: bool | None = None) -> Claims:
    """The three claims and the decomposition of the small force's effect,
    on ``draws`` parameter draws of ``runs_per_draw`` runs (default the
    config's, or RUNS_PER_DRAW if it is 1; even), replayed on local
    threads or a dask ``client`` (the same numbers for any)."""
    from deterrence import replay

    n = experiment.runs_per_draw(config, runs_per_draw)
    for what, value, least in (("--draws", draws, 20),):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise UserError(f"{what} must be a whole number of at least {least}, got {value!r}")
    base = config.study.baseline
    after, now, lever = small_force(base), small_force(base, "immediate"), leverage_option(base)
    options = [after, now, lever, base]
    kwargs = dict(workers=workers, client=client, show_progress=show_progress)
    actual = replay.halves(config, options, draws, n, **kwargs)
    theta = actual.theta.copy()
    for name, value in VETO_NEUTRAL.items():
        theta[:, PARAMETER_NAMES.index(name)] = value
    neutral = replay.replay(config, options[:2], 2 * draws, 0, runs_per_draw=n // 2, thetas=theta, **kwargs)

    def est(found, key):
        return found.estimate(key).reshape(draws, 2, -1)       # draw, half, option

    war, war0 = est(actual, "war_days"), est(neutral, "war_days")
    strikes, strikes0 = est(actual, "strikes"), est(neutral, "strikes")
    horizon = config.study.horizon_days
    margin = MARGIN_DAYS * horizon
    base_strikes = max(float(strikes[:, :, 3].mean()), 1e-12)
    decomposition = {}
    for k, role in ((0, "after a ceasefire"), (1, "now")):
        parts = {}
        for measure, x, x0, b in (("days at war", war, war0, war[:, :, 3]),
                                  ("strikes", strikes, strikes0, strikes[:, :, 3])):
            parts[measure] = {"total": _reading(x[:, :, k] - b), "deterrence": _reading(x0[:, :, k] - b),
                              "veto": _reading(x[:, :, k] - x0[:, :, k])}
        decomposition[role] = parts
    cut = -(strikes0[:, :, 0] - strikes[:, :, 3]) / base_strikes
    claims = (
        Claim(1, "the veto part of the 5,000 rear force's effect on days at war, offered after a ceasefire, "
                 "is positive (the veto costs war days; negative: a relief)",
              "judgment priors nu and nu_now (both signs; Walter 1997, 2002 for a relief) and the base "
              "ceasefire rate lambda_c0 (the record)",
              _reading(war[:, :, 0] - war0[:, :, 0], 0.0, margin), "days"),
        Claim(2, f"the 5,000 rear force, its veto neutral, cuts the mean strikes on cities by less than "
                 f"{STRIKE_CUT:.0%} of the baseline's (it cannot deter them)",
              "judgment priors strike_force (both signs; RAND 2018 for provocation) and intercept_force; "
              "the strike rates sigma_truce and sigma_war (the record) only scale it",
              _reading(cut, STRIKE_CUT, MARGIN_STRIKES, holds_above=False), "share of the baseline's strikes"),
        Claim(3, "seized assets with aid and no force have fewer days at war than the 5,000 rear force "
                 "offered after a ceasefire (leverage matters more)",
              "judgment priors leverage_mult.assets_and_aid, veto_relief.assets_and_aid and delta_aid "
              "against nu, delta_force and provoke_force",
              _reading(war[:, :, 0] - war[:, :, 2], 0.0, margin), "days"),
    )
    from deterrence.compare import option_text
    return Claims(draws, n, {"force after a ceasefire": option_text(after), "force now": option_text(now),
                             "leverage": option_text(lever), "baseline": option_text(base)},
                  claims, decomposition)


def _span(r: Reading, digits: int = 0) -> str:
    return f"{r.mean:+,.{digits}f} [{r.low:+,.{digits}f}, {r.high:+,.{digits}f}]"


def table(found: Claims) -> str:
    lines = [f"The debate's claims, on {found.draws:,} parameter draws of {found.runs_per_draw:,} runs "
             f"(shares of the draws, debiased for the runs' chance; docs/model.md, \"Claims\")", ""]
    for role, text in found.options.items():
        lines.append(f"  {role}: {text}")
    lines.append("")
    for c in found.claims:
        r = c.reading
        digits = 3 if c.unit.startswith("share") else 0
        lines += [f"Claim {c.number}: {c.words}",
                  f"  quantity: {_span(r, digits)} {c.unit} (mean [90% parameter interval]; simulation noise "
                  f"±{r.noise:.{digits + 1}f})",
                  f"  holds under {r.holds:.0%} of the draws, fails under {r.fails:.0%}, undecided under "
                  f"{max(r.undecided, 0.0):.0%}",
                  f"  decided by: {c.decided_by}", ""]
    lines.append("The 5,000 rear force's effect against the baseline, in parts (mean [90% parameter interval]):")
    lines.append(f"  {'deployed':<18} {'measure':<12} {'total':>24} {'deterrence (veto neutral)':>28} "
                 f"{'veto':>24}")
    for role, parts in found.decomposition.items():
        for measure, p in parts.items():
            lines.append(f"  {role:<18} {measure:<12} {_span(p['total']):>24} {_span(p['deterrence']):>28} "
                         f"{_span(p['veto']):>24}")
    lines.append("Days at war over the horizon, strikes as mean totals per run; total = deterrence + veto.")
    return "\n".join(lines)


def to_json(found: Claims) -> str:
    def reading(r: Reading) -> dict:
        out = dataclasses.asdict(r)
        if not math.isnan(r.holds):
            out["undecided"] = r.undecided
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}

    return json.dumps({"draws": found.draws, "runs_per_draw": found.runs_per_draw, "options": found.options,
                       "claims": [{"number": c.number, "claim": c.words, "decided_by": c.decided_by,
                                   "unit": c.unit, **reading(c.reading)} for c in found.claims],
                       "decomposition": {role: {m: {k: reading(v) for k, v in p.items()} for m, p in parts.items()}
                                         for role, parts in found.decomposition.items()},
                       "headline": outcomes.HEADLINE}, indent=2)
