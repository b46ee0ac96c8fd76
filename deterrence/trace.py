"""One run's story: run I of one option, replayed exactly as the kernel
simulated it.

A run is a pure function of (seed, run index, option), so the replay calls
the kernel's own ``step`` on a plan whose grid is that one option, and
reads the story from what the kernel's ``history`` leaves (each episode's
truce days, the tripwire's cause). The option's draws are those of the
full study: every stream is keyed on the run alone, and the violation and
strike streams restart for each option, so no other option changes them.
"""

import dataclasses
import datetime
import json
import math
from dataclasses import dataclass

from deterrence import UserError, config, kernels
from deterrence.config import Config, Option
from deterrence.kernels import EP_DAYS, EP_DURABLE, EP_GAP, N_EPISODES, TRIP_ENGAGE, TRIP_HIT, TRIP_NONE, TRIP_REATTACK
from deterrence.model import AXES, MAX_RUNS, PARAMETERS, TRUCE_DAYS_UNIT
from deterrence.plan import make_plan
from deterrence.runner import fault_message

INF = math.inf
# What fired the tripwire, in the kernel's order of the three causes.
CAUSES = {"hit": "a strike on the force during the war",
          "engagement": "fighting after a truce collapse engaged the force",
          "reattack": "the re-attack engaged the force"}
CAUSE_CODES = {TRIP_NONE: "", TRIP_HIT: "hit", TRIP_ENGAGE: "engagement", TRIP_REATTACK: "reattack"}


@dataclass(frozen=True)
class Truce:
    """One truce, in days from the study's start: it ends at ``end`` (its
    collapse, or where the history stops: the re-attack or the horizon),
    and after a collapse the next truce starts at ``next_truce`` (inf if the
    re-attack or the horizon comes first)."""
    start: float
    end: float
    durable: bool
    collapsed: bool
    next_truce: float


@dataclass(frozen=True)
class Trace:
    """One run of one option. Times are days from ``start_date``; inf
    means "not within the horizon"."""
    run: int
    seed: int
    in_study: bool          # run < study.runs; any index below MAX_RUNS is a valid replay
    option: Option
    start_date: datetime.date
    horizon: int
    parameters: dict[str, float]
    ceasefire: float
    deployment: float
    reattack: float
    tripwire: float
    tripwire_cause: str     # a key of CAUSES, "" without a tripwire
    truces: tuple[Truce, ...]
    truce_days: float
    collapse_days: float    # days of fighting after a collapse, before any re-attack
    collapses: int
    violations: int
    strikes: int
    strike_mean: float      # the Poisson mean of the strikes, after interception

    @property
    def truce_units(self) -> int:
        """Truce days as the kernel tallies them (in TRUCE_DAYS_UNIT)."""
        return int(self.truce_days / TRUCE_DAYS_UNIT + 0.5)

    @property
    def days_at_war(self) -> float:
        """Days at war within the horizon: before the first ceasefire and after a re-attack."""
        return min(self.ceasefire, self.horizon) + (self.horizon - self.reattack if self.reattack < self.horizon
                                                   else 0.0)

    @property
    def war_units(self) -> int:
        """Days at war as the kernel tallies them (in TRUCE_DAYS_UNIT)."""
        return int(self.days_at_war / TRUCE_DAYS_UNIT + 0.5)

    def day(self, t: float) -> int | None:
        """The day bin of an event at ``t`` (None if not within the horizon)."""
        return int(t) if t < self.horizon else None


def parse_option(text: str, baseline: Option, flag: str = "--a") -> Option:
    """An option written ``axis=level,...``; axes left out take the
    baseline's level. ``flag`` is the option's name in the messages."""
    table = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        axis, sep, level = (s.strip() for s in item.partition("="))
        if not (sep and axis and level):
            raise UserError(f"{flag} {text!r}: write axis=level pairs separated by commas, "
                            f"e.g. force_size=5000,posture=rear (axes: {', '.join(AXES)})")
        if axis in table:
            raise UserError(f"{flag} names {axis} twice; give each axis once")
        # ASCII digits only: str.isdigit also takes "²" and other scripts' digits, which int() refuses.
        digits = level.isascii() and level.isdigit() and len(level) <= 30
        table[axis] = int(level) if axis == "force_size" and digits else level
    return config.parse_option({**dataclasses.asdict(baseline), **table}, "", flag)


def trace_run(cfg: Config, run: int, option: Option) -> Trace:
    """Replay run ``run`` of ``option`` under ``cfg`` (its seed, horizon,
    priors and [model] choices) through the kernel's own ``step``, and read
    the story from what its ``history`` leaves: each episode's truce days
    and the tripwire's cause. A run the kernel cannot compute raises
    UserError with the kernel's fault message."""
    if isinstance(run, bool) or not isinstance(run, int) or not 0 <= run < MAX_RUNS:
        raise UserError(f"--run must be a run index from 0 to {MAX_RUNS - 1:,}, got {run!r}")
    plan = make_plan(dataclasses.replace(cfg, grid={a: (getattr(option, a),) for a in AXES}))
    kp = plan.kernel
    (st, st_gap, st_durable, theta, run_values, episodes, tables, times, counts, days, strike_means,
     fault) = kernels.workspace(plan.options.shape[0], kp)
    # A block of one run: the run starts its draw, whatever its index.
    episodes = kernels.step(run, run, kp, st, st_gap, st_durable, theta, run_values, episodes, tables, times,
                            counts, days, strike_means, fault)
    if fault[0] != kernels.NO_FAULT:
        raise UserError(fault_message(plan, *(int(x) for x in fault)))
    # The episodes hold the truce days of the option walked last (the plan's
    # baseline): walk the traced option again, the same arithmetic on the
    # same draws.
    kernels.option_history(0, kp, theta, run_values, tables, episodes, times, days)
    horizon = plan.horizon
    truce_days, war_days, collapses, _, cause = days[0]
    return Trace(run=run, seed=cfg.study.seed, in_study=run < cfg.study.runs, option=option,
                 start_date=cfg.study.start_date, horizon=horizon,
                 parameters={p.name: float(x) for p, x in zip(PARAMETERS, theta, strict=True)},
                 ceasefire=float(times[0, 0]), deployment=float(times[0, 1]), reattack=float(times[0, 2]),
                 tripwire=float(times[0, 3]), tripwire_cause=CAUSE_CODES[int(cause)],
                 truces=_truces(times[0], episodes, int(collapses), int(run_values[N_EPISODES]), horizon),
                 truce_days=float(truce_days), collapse_days=float(war_days), collapses=int(collapses),
                 violations=int(counts[0, 0]), strikes=int(counts[0, 1]), strike_mean=float(strike_means[0]))


def _truces(times, episodes, collapses: int, n_episodes: int, horizon: int) -> tuple[Truce, ...]:
    """The truces of the walk ``history`` made: truce j lasts its episode's
    truce days; the first ``collapses`` collapse, and after each the next
    begins when its gap ends, unless the episode after it was not entered
    (truce days -1: the re-attack or the horizon came in the fighting).
    The same additions as the kernel's, so the times are its bits."""
    t = times[0]
    if not t < INF:
        return ()
    truces = []
    for j in range(min(collapses + 1, n_episodes)):
        durable = bool(episodes[EP_DURABLE, j] != 0.0)
        if j == collapses:
            truces.append(Truce(t, min(times[2], horizon), durable, False, INF))
            break
        end = t + episodes[EP_DAYS, j]
        entered = j + 1 < n_episodes and episodes[EP_DAYS, j + 1] >= 0.0
        next_truce = end + episodes[EP_GAP, j] if entered else INF
        truces.append(Truce(t, end, durable, True, next_truce))
        if not entered:
            break
        t = next_truce
    return tuple(truces)


def _when(trace: Trace, t: float) -> str:
    date = trace.start_date + datetime.timedelta(days=int(t))
    return f"day {int(t):>5,} ({date})"


def story(trace: Trace, parameters: bool = True) -> str:
    """The run as text: option, timeline, totals and (with ``parameters``) its parameter draws."""
    option = ", ".join(f"{a}={getattr(trace.option, a)}" for a in AXES)
    end = trace.start_date + datetime.timedelta(days=trace.horizon)
    lines = [f"Run {trace.run:,} (seed {trace.seed}) of option {option}",
             f"Horizon: {trace.horizon:,} days from {trace.start_date} to {end}"
             + ("" if trace.in_study else "; this run index is past study.runs, so the study's "
                                          "result does not include it"),
             "", "Timeline"]
    events = []   # (time, order, text): stable when two events share a time
    if trace.ceasefire < INF:
        events.append((trace.ceasefire, 0, "first general ceasefire"))
    if trace.deployment < INF:
        events.append((trace.deployment, 1, f"the force deploys ({trace.option.force_size:,} troops, "
                                            f"{trace.option.posture.replace('_', ' ')})"))
    for j, truce in enumerate(trace.truces, 1):
        kind = "durable truce" if truce.durable else "truce"
        events.append((truce.start, 2, f"{kind} {j} begins"))
        if truce.collapsed:
            events.append((truce.end, 3, f"truce {j} collapses after {truce.end - truce.start:,.1f} days; "
                                         f"fighting resumes"))
    if trace.reattack < INF:
        events.append((trace.reattack, 4, "re-attack: a major offensive"))
    if trace.tripwire < INF:
        events.append((trace.tripwire, 5, f"tripwire: {CAUSES[trace.tripwire_cause]}"))
    lines += [f"  {_when(trace, t)}  {text}" for t, _, text in sorted(events)]
    if trace.truces and not trace.truces[-1].collapsed and trace.reattack == INF:
        lines.append(f"  truce {len(trace.truces)} holds to the horizon")
    lines.append(f"  {_when(trace, trace.horizon)}  end of the horizon"
                 + "".join(f"; no {name} within it" for name, t in (
                     ("ceasefire", trace.ceasefire), ("re-attack", trace.reattack), ("tripwire", trace.tripwire))
                     if t == INF))
    lines += ["", "Totals (from the ceasefire to the re-attack or the horizon)",
              f"  {trace.truce_days:,.2f} days in truce, {trace.collapse_days:,.2f} days of fighting after a collapse, "
              f"{trace.collapses} collapse(s); {trace.days_at_war:,.2f} days at war in all (before the first "
              f"ceasefire and after a re-attack)",
              f"  {trace.violations:,} ceasefire violations",
              f"  {trace.strikes:,} strikes on cities over the whole horizon (Poisson mean {trace.strike_mean:,.1f} "
              f"after interception)"]
    if not parameters:
        return "\n".join(lines)
    lines += ["", "Parameters drawn"]
    width = max(len(p.name) for p in PARAMETERS)
    lines += [f"  {p.name:<{width}}  {trace.parameters[p.name]:<10.4g} {'' if p.unit == '1' else p.unit:<8}  "
              f"{p.meaning}".rstrip() for p in PARAMETERS]
    return "\n".join(lines)


def as_data(trace: Trace) -> dict:
    """The trace as JSON-ready data: numbers as numbers, times not within
    the horizon as None."""
    def time(t):
        return None if t == INF else t

    def event(t):
        return {"time": time(t), "day": trace.day(t),
                "date": None if t == INF else str(trace.start_date + datetime.timedelta(days=int(t)))}

    return {
        "run": trace.run, "seed": trace.seed, "in_study": trace.in_study,
        "option": dataclasses.asdict(trace.option),
        "start_date": str(trace.start_date), "horizon_days": trace.horizon,
        "events": {"ceasefire": event(trace.ceasefire), "deployment": event(trace.deployment),
                   "reattack": event(trace.reattack),
                   "tripwire": {**event(trace.tripwire), "cause": trace.tripwire_cause or None}},
        "truces": [{"start": t.start, "end": t.end, "durable": t.durable, "collapsed": t.collapsed,
                    "next_truce": time(t.next_truce)} for t in trace.truces],
        "totals": {"truce_days": trace.truce_days, "days_after_collapse": trace.collapse_days,
                   "days_at_war": trace.days_at_war,
                   "collapses": trace.collapses, "violations": trace.violations, "strikes": trace.strikes,
                   "strike_mean": trace.strike_mean},
        "parameters": {p.name: {"value": trace.parameters[p.name], "unit": p.unit, "meaning": p.meaning}
                       for p in PARAMETERS},
    }


def to_json(trace: Trace) -> str:
    return json.dumps(as_data(trace), indent=2, allow_nan=False)
