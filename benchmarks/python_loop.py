"""The model of ``docs/model.md`` as a per-run Python function.

This is what a generic exploratory-modelling framework runs: a model
function called once per (run, option) with scalar inputs, returning a dict
of outcomes, driven by a plain Python loop that stores the outcomes and
summarises them at the end. The parameters are drawn up front from each
prior's scipy distribution (``deterrence.families``), as such a framework
samples its experiments; the rest are scalar draws from ``random.Random``
(run-level numbers, episodes, gammas) and a ``numpy.random.Generator``
(Poisson). It is a speed comparator, and it must be the same model: with
its own random numbers its results agree with the kernel's in distribution,
not draw for draw, which ``tests/test_comparators.py`` checks.
"""

import math
import random

import numpy as np

from deterrence import families
from deterrence.model import (
    AID_LEVEL,
    DELTA_AID,
    DELTA_FORCE,
    DEPLOY_LAG,
    E_COLLAPSE,
    ENGAGE_COLLAPSE,
    F_SCALE,
    F_VETO,
    INTERCEPT_FORCE,
    K_TRUCE,
    K_WAR,
    LAMBDA_A0,
    LAMBDA_C0,
    LAMBDA_HIT,
    LAMBDA_RETRUCE,
    LEVEL_PARAMETERS,
    LEVEL_STEMS,
    M_COLLAPSE,
    MU_TRUCE,
    MU_WAR,
    NU,
    NU_NOW,
    P_DURABLE,
    P_DURABLE_FIRST,
    PARAMETER_NAMES,
    PROVOKE_FORCE,
    Q_REAR,
    REFERENCE_LEVELS,
    SIGMA_TRUCE,
    SIGMA_WAR,
    STRIKE_FORCE,
    STRIKE_TROOPS,
    TRUCE_SCALE,
    TRUCE_SHAPE,
    VETO_FLOOR,
    W_REAR,
    WAR_CEASEFIRE_MULT,
    level_name,
)
from deterrence.plan import year_days

INF = math.inf
OUTCOMES = ("ceasefire", "deployment", "reattack", "tripwire", "violations", "strikes",
            "truce_days", "collapses", "war_days")


def draw_parameters(priors, runs: int, np_gen: np.random.Generator) -> np.ndarray:
    """Every run's parameters up front, from each prior's scipy distribution
    (``families``), as a framework samples its experiments: (runs, parameters)."""
    theta = np.empty((runs, len(priors)))
    for p, prior in enumerate(priors):
        fam = families.family(prior.dist)
        dist = fam.scipy(prior)
        theta[:, p] = fam.support(prior)[0] if dist is None else dist.rvs(size=runs, random_state=np_gen)
    # A gamma_exposure draw's scipy form is at e_collapse = 1: rescale it to
    # each run's exposure truce_days + e_collapse * gap_days.
    a0 = priors[LAMBDA_A0]
    if a0.dist == "gamma_exposure":
        truce, gap = a0.get("truce_days"), a0.get("gap_days")
        theta[:, LAMBDA_A0] *= (truce + gap) / (truce + theta[:, E_COLLAPSE] * gap)
    return theta


def level_value(theta, stem: str, level: str) -> float:
    """A per-level parameter's value at ``level`` (neutral at the reference level)."""
    lp = LEVEL_PARAMETERS[LEVEL_STEMS.index(stem)]
    if level == REFERENCE_LEVELS[lp.axis]:
        return lp.neutral
    return theta[PARAMETER_NAMES.index(level_name(stem, level))]


class Chance:
    """A run's option-independent numbers; truce episodes drawn on demand
    and shared by every option (common random numbers)."""

    def __init__(self, r: random.Random):
        self.r = r
        self.e_ceasefire = r.expovariate(1.0)
        self.e_reattack = r.expovariate(1.0)
        self.u_trip = r.random()
        self.e_hit = r.expovariate(1.0)
        self.e_engage = r.expovariate(1.0)
        self.budgets: list[float] = []
        self.gaps: list[float] = []
        self.durable: list[float] = []

    def episode(self, j: int, lambda_retruce: float) -> tuple[float, float, float]:
        """Truce j's collapse budget, the gap after it and its durability uniform."""
        while len(self.budgets) <= j:
            self.budgets.append(self.r.expovariate(1.0))
            self.gaps.append(self.r.expovariate(1.0) / lambda_retruce)
            self.durable.append(self.r.random())
        return self.budgets[j], self.gaps[j], self.durable[j]


def truce_length(start, t_deploy, budget, scale, shape, m):
    """Truce length whose Weibull cumulative hazard, multiplied by m from
    t_deploy on, reaches the budget."""
    base = scale * budget ** (1.0 / shape)
    if t_deploy >= start + base:
        return base
    if t_deploy <= start:
        return base * m ** (-1.0 / shape)
    h = ((t_deploy - start) / scale) ** shape
    return scale * (h + (budget - h) / m) ** (1.0 / shape)


def model(theta, chance: Chance, option: dict, horizon: int, np_gen: np.random.Generator,
          veto: str = "power") -> dict:
    """One run of one option: the outcomes of docs/model.md (``veto``: the
    [model] veto choice)."""
    force = option["force_size"]
    contact = option["posture"] == "contact_line"
    immediate = option["deploy_rule"] == "immediate"
    support = option["support"]
    leverage = option["leverage"]
    lev_mult = level_value(theta, "leverage_mult", leverage)
    delta_support = level_value(theta, "delta_support", support)
    intercept = level_value(theta, "intercept", support)
    relief = level_value(theta, "veto_relief", leverage)
    w_post = 1.0 if contact else theta[W_REAR]

    # 1. Ceasefire.
    if veto == "threshold":
        v = theta[VETO_FLOOR] if force > 0 else 1.0
    else:
        v = (1.0 + force / theta[F_VETO]) ** -theta[NU_NOW if immediate else NU]
    rate_c = theta[LAMBDA_C0] * lev_mult * v ** (1.0 - relief)
    t_c = chance.e_ceasefire / rate_c
    # 2. Deployment.
    deployed = force > 0
    if deployed:
        t_d = theta[DEPLOY_LAG] if immediate else t_c + theta[DEPLOY_LAG]
        if immediate and t_c > t_d:     # the ceasefire hazard times war_ceasefire_mult from T_d on
            t_c = t_d + (chance.e_ceasefire - rate_c * t_d) / (rate_c * theta[WAR_CEASEFIRE_MULT])
    else:
        t_d = INF
    m = theta[M_COLLAPSE] ** w_post if deployed else 1.0
    # 4. Re-attack hazard pieces.
    a = math.exp(-theta[DELTA_AID]) if leverage == AID_LEVEL else 1.0
    provoke = theta[PROVOKE_FORCE] if force > 0 else 0.0
    d_after = math.exp(provoke * w_post
                       - (theta[DELTA_FORCE] * w_post * math.log1p(force / theta[F_SCALE]) + delta_support))
    base_rate = theta[LAMBDA_A0] * a

    # 5. Tripwire during the war.
    t_trip = INF
    if deployed and immediate and t_d < t_c and theta[LAMBDA_HIT] > 0.0:
        t_hit = t_d + chance.e_hit / (theta[LAMBDA_HIT] * w_post)
        if t_hit < t_c and t_hit < horizon:
            t_trip = t_hit

    # 3 and 4. Truces, collapses and the re-attack, walked from T_c.
    t_a = INF
    truce_days = war_days = truce_after = 0.0
    collapses = 0
    engage_left = chance.e_engage
    engage_rate = theta[ENGAGE_COLLAPSE] * w_post
    if t_c < horizon:
        remaining = chance.e_reattack
        t, j, in_truce = t_c, 0, True
        while t < horizon:
            budget, gap, u_durable = chance.episode(j, theta[LAMBDA_RETRUCE])
            if in_truce:
                if u_durable < theta[P_DURABLE_FIRST if j == 0 else P_DURABLE]:
                    length = INF
                else:
                    length = truce_length(t, t_d, budget, theta[TRUCE_SCALE], theta[TRUCE_SHAPE], m)
                rate = base_rate
            else:
                length = gap
                rate = base_rate * theta[E_COLLAPSE]
            end = min(t + length, horizon)
            for s0, s1, r in ((t, min(max(t_d, t), end), rate), (min(max(t_d, t), end), end, rate * d_after)):
                need = r * (s1 - s0)
                if r > 0.0 and remaining <= need:
                    t_a = s0 + remaining / r
                    break
                remaining -= need
            stop = min(end, t_a)
            if in_truce:
                truce_days += stop - t
                truce_after += max(0.0, stop - max(t, t_d))
            else:
                war_days += stop - t
                # 5. Fighting after the collapse engages a deployed force.
                s0 = max(t, t_d)
                if deployed and engage_rate > 0.0 and stop > s0:
                    if engage_left <= engage_rate * (stop - s0):
                        t_trip = min(t_trip, s0 + engage_left / engage_rate)
                        engage_left = INF
                    else:
                        engage_left -= engage_rate * (stop - s0)
            if t_a < INF or t + length >= horizon:
                break
            if in_truce:
                collapses += 1
            else:
                j += 1
            in_truce = not in_truce
            t += length
        if t_a < INF and deployed and t_d <= t_a and (contact or chance.u_trip < theta[Q_REAR]):
            t_trip = min(t_trip, t_a)

    # 6. Violations: Poisson of a sum of two gammas.
    r = chance.r
    mean = 0.0
    if truce_days > 0.0:
        mean += r.gammavariate(truce_days * theta[K_TRUCE], theta[MU_TRUCE] / theta[K_TRUCE])
    if war_days > 0.0:
        mean += r.gammavariate(war_days * theta[K_WAR], theta[MU_WAR] / theta[K_WAR])
    violations = int(np_gen.poisson(mean))
    # 7. Strikes on cities: the force deters (or provokes) and its air defence stops on the strike-days
    # after T_d; the US support deters and stops over the whole horizon.
    i_force = theta[INTERCEPT_FORCE] * force / (force + theta[F_SCALE])
    deter = (1.0 + force / STRIKE_TROOPS) ** -theta[STRIKE_FORCE]
    us_deter = math.exp(-level_value(theta, "strike_support", support))
    after = max(horizon - t_d, 0.0)
    s_after = theta[SIGMA_TRUCE] * truce_after + theta[SIGMA_WAR] * (after - truce_after)
    s_before = theta[SIGMA_TRUCE] * (truce_days - truce_after) + theta[SIGMA_WAR] * (
        horizon - after - (truce_days - truce_after))
    strikes = int(np_gen.poisson(max((1.0 - intercept) * us_deter * (s_before + (1.0 - i_force) * deter * s_after),
                                     0.0)))
    # Days at war: before the first ceasefire and after a re-attack.
    at_war = min(t_c, horizon) + (horizon - t_a if t_a < horizon else 0.0)
    return {"ceasefire": t_c if t_c < horizon else INF, "deployment": t_d if t_d < horizon else INF,
            "reattack": t_a, "tripwire": t_trip, "violations": violations, "strikes": strikes,
            "truce_days": truce_days, "collapses": collapses, "war_days": at_war}


def simulate(config, runs: int, seed: int = 0) -> dict:
    """The driver: one model call per run and option (baseline last), the
    outcomes stored per call and summarised per option at the end."""
    options = [vars(o) for o in config.options + [config.study.baseline]]
    horizon = config.study.horizon_days
    veto = config.choices["veto"]
    r = random.Random(seed)
    np_gen = np.random.default_rng(seed)
    thetas = draw_parameters(config.priors, runs, np_gen).tolist()
    rows = []
    for theta in thetas:
        chance = Chance(r)
        for option in options:
            out = model(theta, chance, option, horizon, np_gen, veto)
            rows.append([out[k] for k in OUTCOMES])
    table = np.array(rows, dtype=np.float64).reshape(runs, len(options), len(OUTCOMES))
    years = year_days()
    within = table[:, :, :4, None] < years            # (runs, options, events, years)
    t_c, t_a = table[:, :, 0, None], table[:, :, 2, None]
    qualifying = t_c < horizon - years                # (runs, options, years)
    with np.errstate(invalid="ignore"):               # inf - inf where neither happened: not qualifying
        reattacked = qualifying & (t_a - t_c < years)
    return {"runs": runs, "within": within.mean(axis=0), "mean": table[:, :, 4:].mean(axis=0),
            "var": table[:, :, 4:].var(axis=0),
            # Per option, the variance over runs of its paired change in days at war against the baseline.
            "paired_war_var": (table[:, :, OUTCOMES.index("war_days")]
                               - table[:, -1:, OUTCOMES.index("war_days")]).var(axis=0),
            "after_ceasefire": np.stack([qualifying.sum(axis=0), reattacked.sum(axis=0)], axis=-1)}
