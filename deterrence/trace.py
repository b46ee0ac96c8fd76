"""One run's story: run I of one option, replayed exactly as the kernel
simulated it.

A run is a pure function of (seed, run index, option), so the replay calls
the kernel's own jitted pieces (``draw_parameters``, ``prepare_run``,
``option_history``, ``strike_mean``, the rng streams and samplers) on a
plan whose grid is that one option. The option's draws are those of the
full study: every stream is keyed on the run alone, and the violation and
strike streams restart for each option, so no other option changes them.
"""

import dataclasses
import datetime
import json
import math
from dataclasses import dataclass

import numpy as np

from deterrence import UserError, config, kernels, rng
from deterrence.config import Config, Option
from deterrence.kernels import (
    AFTER_DEPLOY,
    ASSETS_AND_AID,
    E_ENGAGE,
    E_HIT,
    E_REATTACK,
    EP_BASE,
    EP_BUDGET,
    EP_DURABLE,
    EP_GAP,
    FACTOR_CONTACT,
    FACTOR_REAR,
    FORCE_ROW,
    INV_SHAPE,
    M_CONTACT,
    M_REAR,
    N_EPISODES,
    SCALE,
    TABLE_WIDTHS,
    U_TRIP,
)
from deterrence.model import (
    AXES,
    DELTA_AID,
    E_COLLAPSE,
    ENGAGE_COLLAPSE,
    K_TRUCE,
    K_WAR,
    LAMBDA_A0,
    LAMBDA_HIT,
    MAX_RUNS,
    MU_TRUCE,
    MU_WAR,
    N_PARAMETERS,
    PARAMETERS,
    Q_REAR,
    STREAM_STRIKES,
    STREAM_VIOLATIONS,
    TRUCE_DAYS_UNIT,
    W_REAR,
)
from deterrence.plan import OPT_CONTACT, OPT_FORCE, OPT_IMMEDIATE, OPT_LEVERAGE, OPT_SUPPORT, make_plan
from deterrence.runner import fault_message

INF = math.inf
# What fired the tripwire, in the kernel's order of the three causes.
CAUSES = {"hit": "a strike on the force during the war",
          "engagement": "fighting after a truce collapse engaged the force",
          "reattack": "the re-attack engaged the force"}


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
    priors and [model] choices). A run the kernel cannot compute raises
    UserError with the kernel's fault message."""
    if isinstance(run, bool) or not isinstance(run, int) or not 0 <= run < MAX_RUNS:
        raise UserError(f"--run must be a run index from 0 to {MAX_RUNS - 1:,}, got {run!r}")
    plan = make_plan(dataclasses.replace(cfg, grid={a: (getattr(option, a),) for a in AXES}))
    key0, key1 = plan.key
    horizon = plan.horizon
    st, st_gap, st_durable = rng.new_state(), rng.new_state(), rng.new_state()
    theta = np.empty(N_PARAMETERS)
    kp = plan.kernel
    bad = kernels.draw_parameters(theta, st, kp, run // plan.runs_per_draw)
    if bad >= 0:
        raise UserError(fault_message(plan, kernels.FAULT_PARAMETER, run, bad))
    run_values = np.empty(kernels.N_RUN_VALUES)
    tables = kernels.new_tables(plan.force_levels.shape[0], plan.level_parameters)
    episodes, kind = kernels.prepare_run(
        run_values, np.empty((kernels.N_EP_ROWS, 64)), tables, st, st_gap, st_durable, kp, run, theta)
    if kind != kernels.NO_FAULT:
        raise UserError(fault_message(plan, kind, run, 0))
    times = np.empty((plan.options.shape[0], kernels.N_EVENTS))
    days = np.empty((plan.options.shape[0], kernels.N_DAYS))
    kernel_days = kernels.option_history(0, kp, theta, run_values, tables, episodes, times, days)
    kind = kernels.walk_fault(0, times, *kernel_days[:3])
    if kind != kernels.NO_FAULT:
        raise UserError(fault_message(plan, kind, run, 0))
    truces, walked, cause = _walk(plan.options[0], float(horizon), theta, run_values, tables, episodes,
                                  times[0])
    # The re-walk must reproduce the kernel's history bit for bit.
    if walked != (times[0, 2], times[0, 3], *kernel_days):
        raise AssertionError(f"trace of run {run} disagrees with the kernel: {walked} != "
                             f"{(times[0, 2], times[0, 3], *kernel_days)}")
    truce_days, war_days, collapses, truce_after = kernel_days
    strike_mean = kernels.strike_mean(0, kp, theta, tables, times, truce_days, truce_after)
    # The kernel's count draws, on the same streams with the same arguments.
    rng.stream(st, key0, key1, run, STREAM_VIOLATIONS)
    mean = rng.gamma(st, truce_days * theta[K_TRUCE], theta[MU_TRUCE] / theta[K_TRUCE])
    mean += rng.gamma(st, war_days * theta[K_WAR], theta[MU_WAR] / theta[K_WAR])
    violations = rng.poisson(st, mean)
    rng.stream(st, key0, key1, run, STREAM_STRIKES)
    strikes = rng.poisson(st, strike_mean)
    count = kernels.count_fault(violations, strikes, truce_days / TRUCE_DAYS_UNIT + 0.5)
    if count >= 0:
        raise UserError(fault_message(plan, kernels.FAULT_COUNT, run, count))
    return Trace(run=run, seed=cfg.study.seed, in_study=run < cfg.study.runs, option=option,
                 start_date=cfg.study.start_date, horizon=horizon,
                 parameters={p.name: float(x) for p, x in zip(PARAMETERS, theta, strict=True)},
                 ceasefire=float(times[0, 0]), deployment=float(times[0, 1]), reattack=float(times[0, 2]),
                 tripwire=float(times[0, 3]), tripwire_cause=cause, truces=truces,
                 truce_days=float(truce_days), collapse_days=float(war_days), collapses=int(collapses),
                 violations=int(violations), strikes=int(strikes), strike_mean=float(strike_mean))


def _walk(row, horizon, theta, run_values, tables, episodes, times):
    """The truces and the tripwire's cause, which the kernel's ``history``
    does not return: this re-walks its loop in the same arithmetic and order
    (through its own ``hazard_walk`` and ``truce_duration``), and returns
    what ``history`` returns so the caller checks the two agree. The
    ceasefire and deployment times come from the kernel (inf past the
    horizon, which leaves the walk unchanged)."""
    contact = row[OPT_CONTACT] == 1
    deployed = times[1] < INF
    t_ceasefire, t_deploy = times[0], times[1]
    w_post = 1.0 if contact else theta[W_REAR]
    reattack_rate = theta[LAMBDA_A0]
    if row[OPT_LEVERAGE] == ASSETS_AND_AID:
        reattack_rate *= math.exp(-theta[DELTA_AID])
    width = tables.shape[1] // TABLE_WIDTHS
    after_deploy = tables[FORCE_ROW + row[OPT_FORCE], (AFTER_DEPLOY + int(contact)) * width + row[OPT_SUPPORT]]
    war_rate = reattack_rate * theta[E_COLLAPSE]
    engage_rate = theta[ENGAGE_COLLAPSE] * w_post
    m, factor = ((run_values[M_CONTACT], run_values[FACTOR_CONTACT]) if contact
                 else (run_values[M_REAR], run_values[FACTOR_REAR]))
    trips = dict.fromkeys(CAUSES, INF)
    hit_rate = theta[LAMBDA_HIT] * w_post
    if deployed and row[OPT_IMMEDIATE] == 1 and t_deploy < t_ceasefire and hit_rate > 0.0:
        t_hit = t_deploy + run_values[E_HIT] / hit_rate
        if t_hit < t_ceasefire and t_hit < horizon:
            trips["hit"] = t_hit
    t_reattack, truce_days, war_days, collapses, truce_after = INF, 0.0, 0.0, 0, 0.0
    truces = []
    e_engage = run_values[E_ENGAGE]
    engaging = deployed and engage_rate > 0.0
    if t_ceasefire < horizon:
        remaining = run_values[E_REATTACK]
        t = t_ceasefire
        for j in range(int(run_values[N_EPISODES])):
            durable = bool(episodes[EP_DURABLE, j] != 0.0)
            length = episodes[EP_BASE, j]
            if durable:
                length = INF
            elif deployed:
                length = kernels.truce_duration(t, t_deploy, length, episodes[EP_BUDGET, j], run_values[SCALE],
                                                run_values[INV_SHAPE], m, factor)
            end = min(t + length, horizon)
            t_reattack, remaining = kernels.hazard_walk(remaining, t, end, reattack_rate, t_deploy, after_deploy)
            stop = min(end, t_reattack)
            truce_after += max(0.0, stop - max(t, t_deploy))
            if t_reattack < INF or end == horizon:
                truce_days += stop - t
                truces.append(Truce(t, stop, durable, False, INF))
                break
            truce_days += length
            collapses += 1
            start, t = t, end
            end = min(t + episodes[EP_GAP, j], horizon)
            t_reattack, remaining = kernels.hazard_walk(remaining, t, end, war_rate, t_deploy, after_deploy)
            s0, s1 = max(t, t_deploy), min(end, t_reattack)
            if engaging and s1 > s0:
                need = engage_rate * (s1 - s0)
                if e_engage <= need:
                    trips["engagement"] = s0 + e_engage / engage_rate
                    engaging = False
                else:
                    e_engage -= need
            if t_reattack < INF or end == horizon:
                war_days += min(end, t_reattack) - t
                truces.append(Truce(start, t, durable, True, INF))
                break
            war_days += episodes[EP_GAP, j]
            truces.append(Truce(start, t, durable, True, end))
            t = end
        if t_reattack < INF and deployed and t_deploy <= t_reattack:
            if contact or run_values[U_TRIP] < theta[Q_REAR]:
                trips["reattack"] = t_reattack
    t_trip = min(trips.values())
    cause = next((c for c, t in trips.items() if t == t_trip), "") if t_trip < INF else ""
    return tuple(truces), (t_reattack, t_trip, truce_days, war_days, collapses, truce_after), cause


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
