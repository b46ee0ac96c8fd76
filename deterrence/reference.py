"""An independent NumPy reference implementation of ``docs/model.md``.

This module is a *statistical* oracle for the numba kernels: it simulates the
same model with the same distribution of results, but with its own random
numbers (``numpy.random.Generator``) and its own, plainly written code. It
shares nothing with the kernels but the vocabulary of ``deterrence.model``
the plan's layout (``deterrence.plan``) and the tally layout of
``deterrence.tallies``; it does not import ``deterrence.kernels`` or
``deterrence.rng``.

Every step is vectorized over runs (and options): arrays are shaped
``(runs, options)``, per-run quantities ``(runs, 1)`` and per-option ones
``(options,)`` broadcast against them. The truce/collapse walk loops over the
episode index in Python, vectorized over the (run, option) pairs still
walking. Runs are processed in chunks so memory stays bounded.

Common random numbers: within a run, ``E_c``, ``E_a``, ``U_trip``, ``E_hit``,
``E_engage`` and each episode's collapse budget ``B_j``, gap ``G_j``,
durability draw ``U_j`` and strength ``W_j`` are drawn once and used by every
option. Violation and strike totals are drawn independently
per option (their distribution per option is what the model states).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deterrence.families import BETA, EXPOSURE_MULTIPLIER, FIXED, GAMMA, GAMMA_EXPOSURE, LOGNORMAL, UNIFORM
from deterrence.model import (
    AFTER_BINS,
    AID_LEVEL,
    CHOICE_TRUCES,
    CHOICE_VETO,
    COUNTS,
    DELTA_AID,
    DELTA_FORCE,
    DEPLOY_LAG,
    E_COLLAPSE,
    ENGAGE_COLLAPSE,
    EVENTS,
    F_SCALE,
    F_VETO,
    INDICATORS,
    INTERCEPT_FORCE,
    K_TRUCE,
    K_WAR,
    LAMBDA_A0,
    LAMBDA_C0,
    LAMBDA_HIT,
    LAMBDA_RETRUCE,
    LEVEL_PARAMETERS,
    LEVEL_STEMS,
    LEVELS,
    M_COLLAPSE,
    MU_TRUCE,
    MU_WAR,
    N_PARAMETERS,
    NU,
    NU_NOW,
    P_DURABLE,
    P_DURABLE_FIRST,
    PAIRED_COUNTS,
    PARAMETER_NAMES,
    PROVOKE_FORCE,
    Q_REAR,
    SIGMA_TRUCE,
    SIGMA_WAR,
    STRENGTH_VAR,
    STRIKE_FORCE,
    STRIKE_TROOPS,
    TRUCE_DAYS_UNIT,
    TRUCE_SCALE,
    TRUCE_SHAPE,
    TRUCES_CURE,
    TRUCES_STRENGTH,
    TRUCES_WEIBULL,
    VALUE_BINS,
    VETO_FLOOR,
    VETO_POWER,
    VETO_THRESHOLD,
    W_REAR,
    WAR_CEASEFIRE_MULT,
)
from deterrence.plan import OPT_CONTACT, OPT_FORCE, OPT_IMMEDIATE, OPT_LEVERAGE, OPT_SUPPORT, Plan
from deterrence.tallies import Tallies, after_histograms, value_histograms

ASSETS_AND_AID = LEVELS["leverage"].index(AID_LEVEL)
# (run, option) pairs per chunk: bounds memory at a few hundred MB.
CHUNK_ELEMENTS = 1 << 19
LOW32 = np.int64(0xFFFFFFFF)


@dataclass(frozen=True)
class Options:
    """The plan's options as per-option arrays (the baseline is the last)."""
    force: np.ndarray       # troops, float64
    contact: np.ndarray     # bool: on the contact line
    immediate: np.ndarray   # bool: deployed immediately
    support: np.ndarray     # int index into SUPPORTS
    leverage: np.ndarray    # int index into LEVERAGES
    levels: np.ndarray      # the plan's level table: each level's per-level parameter
    threshold_veto: bool    # [model] veto = "threshold"
    strength: bool          # [model] truces = "strength"

    @classmethod
    def from_plan(cls, plan: Plan) -> Options:
        o = plan.options
        return cls(force=np.asarray(plan.force_levels, dtype=np.float64)[o[:, OPT_FORCE]],
                   contact=o[:, OPT_CONTACT] == 1, immediate=o[:, OPT_IMMEDIATE] == 1,
                   support=o[:, OPT_SUPPORT].copy(), leverage=o[:, OPT_LEVERAGE].copy(),
                   levels=plan.level_parameters,
                   threshold_veto=threshold_form(int(plan.choices[CHOICE_VETO])),
                   strength=strength_form(int(plan.choices[CHOICE_TRUCES])))

    def __len__(self) -> int:
        return len(self.force)


def threshold_form(code: int) -> bool:
    """Whether veto form ``code`` (model.CHOICES["veto"]) is the threshold veto."""
    if code == VETO_THRESHOLD:
        return True
    if code == VETO_POWER:
        return False
    raise ValueError(f"unknown veto form code {code} (see model.CHOICES['veto'])")


def strength_form(code: int) -> bool:
    """Whether truce form ``code`` (model.CHOICES["truces"]) gives truces a strength."""
    if code == TRUCES_STRENGTH:
        return True
    if code in (TRUCES_CURE, TRUCES_WEIBULL):
        return False
    raise ValueError(f"unknown truce form code {code} (see model.CHOICES['truces'])")


def column(theta: np.ndarray, p: int) -> np.ndarray:
    """Parameter p of every run, shaped (runs, 1) to broadcast over options."""
    return theta[:, p:p + 1]


# --- parameters and chance -------------------------------------------------

def sample_prior(gen: np.random.Generator, code: int, a0: float, a1: float, a2: float, n: int) -> np.ndarray:
    """n draws from a prior family (``deterrence.families``); the
    hyperparameters in the family's order: gamma (shape, scale, loc),
    lognormal (median, sigma, loc), beta (a, b), uniform (low, high),
    fixed (value); gamma_exposure draws Gamma(shape, 1) here, and
    ``draw_parameters`` divides it by the run's exposure."""
    if code == FIXED:
        return np.full(n, a0)
    if code == GAMMA:
        return a2 + gen.gamma(a0, a1, n)
    if code == LOGNORMAL:
        return a2 + a0 * np.exp(a1 * gen.standard_normal(n))
    if code == BETA:
        return gen.beta(a0, a1, n)
    if code == UNIFORM:
        return gen.uniform(a0, a1, n)
    if code == GAMMA_EXPOSURE:
        return gen.gamma(a0, 1.0, n)
    raise ValueError(f"unknown prior family code {code} (see deterrence.families)")


def draw_parameters(gen: np.random.Generator, family: np.ndarray, args: np.ndarray,
                    n: int) -> np.ndarray:
    """theta (n, N_PARAMETERS): each run's parameters drawn from the priors.
    A gamma_exposure draw G becomes G / (truce_days + e_collapse * gap_days)
    with the run's own e_collapse (the joint calibration of lambda_a0)."""
    theta = np.empty((n, N_PARAMETERS))
    for p in range(N_PARAMETERS):
        theta[:, p] = sample_prior(gen, family[p], *args[p], n)
    multiplier = theta[:, PARAMETER_NAMES.index(EXPOSURE_MULTIPLIER)]
    for p in np.flatnonzero(family == GAMMA_EXPOSURE):
        theta[:, p] /= args[p, 1] + multiplier * args[p, 2]
    return theta


@dataclass(frozen=True)
class Chance:
    """Option-independent draws of a chunk of runs, each shaped (runs, 1)."""
    e_ceasefire: np.ndarray
    e_reattack: np.ndarray
    u_trip: np.ndarray
    e_hit: np.ndarray
    e_engage: np.ndarray


def draw_chance(gen: np.random.Generator, n: int) -> Chance:
    """E_c, E_a, E_hit, E_engage ~ Exp(1) and U_trip ~ U(0, 1), one of each per run."""
    return Chance(e_ceasefire=gen.standard_exponential((n, 1)),
                  e_reattack=gen.standard_exponential((n, 1)),
                  u_trip=gen.random((n, 1)),
                  e_hit=gen.standard_exponential((n, 1)),
                  e_engage=gen.standard_exponential((n, 1)))


def level_values(theta: np.ndarray, level_parameters: np.ndarray, stem: str) -> np.ndarray:
    """(runs, levels): a per-level parameter at every level of its axis, the
    neutral value at the reference level (``Plan.level_parameters``)."""
    row = LEVEL_STEMS.index(stem)
    index = level_parameters[row]
    return np.where(index >= 0, theta[:, np.maximum(index, 0)], LEVEL_PARAMETERS[row].neutral)


def posture_weight(theta: np.ndarray, opts: Options) -> np.ndarray:
    """w(posture), (runs, options): 1 on the contact line, w_rear in the rear."""
    return np.where(opts.contact, 1.0, column(theta, W_REAR))


# --- 1. ceasefire, 2. deployment ---------------------------------------------

def veto(theta: np.ndarray, opts: Options) -> np.ndarray:
    """V(F), (runs, options): (1 + F / f_veto) ** -nu (power; nu_now for a
    force deployed during the war), or veto_floor for any F > 0
    (threshold); 1 without a force."""
    if opts.threshold_veto:
        return np.where(opts.force > 0, column(theta, VETO_FLOOR), 1.0)
    exponent = np.where(opts.immediate, column(theta, NU_NOW), column(theta, NU))
    return (1.0 + opts.force / column(theta, F_VETO)) ** -exponent


def ceasefire(theta: np.ndarray, chance: Chance, opts: Options) -> np.ndarray:
    """T_c: E_c spent on the hazard lambda_c0 * leverage_mult * V ** (1 - veto_relief),
    times war_ceasefire_mult from T_d = deploy_lag on for a force deployed
    immediately."""
    lev = level_values(theta, opts.levels, "leverage_mult")[:, opts.leverage]
    relief = level_values(theta, opts.levels, "veto_relief")[:, opts.leverage]
    rate = column(theta, LAMBDA_C0) * lev * veto(theta, opts) ** (1.0 - relief)
    in_war = np.where(opts.immediate & (opts.force > 0), column(theta, DEPLOY_LAG), np.inf)
    t_ceasefire, _ = spend_hazard(chance.e_ceasefire, 0.0, np.inf, in_war, rate,
                                  column(theta, WAR_CEASEFIRE_MULT))
    return t_ceasefire


def deployment(theta: np.ndarray, t_ceasefire: np.ndarray, opts: Options) -> np.ndarray:
    """T_d: deploy_lag after the ceasefire or after the decision; inf without a force."""
    lag = column(theta, DEPLOY_LAG)
    t_deploy = np.where(opts.immediate, lag, t_ceasefire + lag)
    return np.where(opts.force > 0, t_deploy, np.inf)


# --- 3. truces and collapses, 4. re-attack ----------------------------------

def collapse_multiplier(theta: np.ndarray, opts: Options) -> np.ndarray:
    """m (runs, options): m_collapse on the contact line, m_collapse ** w_rear
    in the rear, 1 without a force."""
    m = column(theta, M_COLLAPSE) ** posture_weight(theta, opts)
    return np.where(opts.force > 0, m, 1.0)


def reattack_rates(theta: np.ndarray, opts: Options) -> tuple[np.ndarray, np.ndarray]:
    """The re-attack hazard in a truce before deployment, lambda_a0 * A, and
    the factor D applied from T_d on, both (runs, options)."""
    aid = np.where(opts.leverage == ASSETS_AND_AID, np.exp(-column(theta, DELTA_AID)), 1.0)
    rate = column(theta, LAMBDA_A0) * aid
    force_effect = column(theta, DELTA_FORCE) * np.log1p(opts.force / column(theta, F_SCALE))
    support = level_values(theta, opts.levels, "delta_support")[:, opts.support]
    provoke = np.where(opts.force > 0, column(theta, PROVOKE_FORCE), 0.0)
    delta = (force_effect - provoke) * posture_weight(theta, opts) + support
    return rate, np.exp(-delta)


def truce_length(start, t_deploy, budget, scale, shape, m):
    """Length of a truce starting at ``start`` whose Weibull cumulative hazard
    ((t - start) / scale) ** shape, multiplied by m from t_deploy on, reaches
    ``budget``."""
    base = scale * budget ** (1.0 / shape)
    age = t_deploy - start
    # Cumulative hazard at deployment; capped at the budget where deployment
    # comes after the natural end (that branch is not used) to stay finite.
    h = np.minimum((np.clip(age, 0.0, None) / scale) ** shape, budget)
    partial = scale * (h + (budget - h) / m) ** (1.0 / shape)
    full = base * m ** (-1.0 / shape)
    return np.where(age >= base, base, np.where(age <= 0.0, full, partial))


def spend_hazard(remaining, t0, t1, t_deploy, rate, after_deploy):
    """Spend an Exp(1) budget on [t0, t1) where the hazard is ``rate`` before
    t_deploy and ``rate * after_deploy`` from it on. Returns the event time
    (inf if the budget lasts past t1) and the budget left."""
    # Infinite ends (a ceasefire spent over an unbounded time) give inf - inf
    # in branches np.where then discards.
    with np.errstate(divide="ignore", invalid="ignore"):
        split = np.clip(t_deploy, t0, t1)
        h1 = rate * (split - t0)
        h2 = rate * after_deploy * (t1 - split)
        t_event = np.where(remaining <= h1, t0 + remaining / rate,
                           np.where(remaining <= h1 + h2,
                                    split + (remaining - h1) / (rate * after_deploy), np.inf))
    return t_event, remaining - h1 - h2


@dataclass
class Walk:
    """Outcome of the truce/collapse walk, each (runs, options)."""
    t_reattack: np.ndarray   # inf if none within the horizon
    truce_days: np.ndarray
    war_days: np.ndarray
    collapses: np.ndarray    # int64
    truce_days_deployed: np.ndarray   # the truce days from T_d on
    t_engage: np.ndarray     # fighting after a collapse engages the force; inf if not
    truce_mean: np.ndarray | None = None   # truces of random strength: the violations' gamma mean


def truce_walk(gen: np.random.Generator, theta: np.ndarray, chance: Chance,
               t_ceasefire: np.ndarray, t_deploy: np.ndarray, opts: Options,
               horizon: int) -> Walk:
    """Truces and collapses alternate from T_c until the re-attack or H.

    Episode j draws one collapse budget B_j ~ Exp(1), one gap
    G_j = Exp(1) / lambda_retruce and one U_j ~ U(0, 1) (durable if below
    p_durable_first for j = 0, p_durable after) per run, shared by all
    options, then advances every (run, option) pair still walking through
    truce j and gap j, spending E_a on the re-attack hazard along the way,
    and E_engage on the hazard engage_collapse * w(posture) over the gaps
    after T_d.

    Under truces = "strength" no truce is durable: truce j draws its
    strength W_j ~ Gamma(1 / strength_var, scale strength_var) (1 where
    strength_var is 0), its collapse hazard is W_j times the Weibull hazard,
    and its d days of truce add Gamma(d k_truce, W_j mu_truce / k_truce) to
    the violations' gamma mean."""
    n, n_opt = t_ceasefire.shape
    shape2 = (n, n_opt)
    run = np.repeat(np.arange(n), n_opt)

    def flat(a):
        return np.broadcast_to(a, shape2).ravel()

    rate, after = reattack_rates(theta, opts)
    rate, after = flat(rate), flat(after)
    m = flat(collapse_multiplier(theta, opts))
    e_collapse = theta[:, E_COLLAPSE]
    scale, shape = theta[:, TRUCE_SCALE], theta[:, TRUCE_SHAPE]
    retruce = theta[:, LAMBDA_RETRUCE]
    t_d = flat(t_deploy)
    engage = flat(np.where(opts.force > 0, column(theta, ENGAGE_COLLAPSE) * posture_weight(theta, opts), 0.0))
    durable_share = np.zeros(n) if opts.strength else theta[:, P_DURABLE_FIRST]
    strength_var = theta[:, STRENGTH_VAR] if opts.strength else np.zeros(n)
    varies = strength_var > 0.0
    k_truce, mu_truce = theta[:, K_TRUCE], theta[:, MU_TRUCE]
    truce_mean = np.zeros(n * n_opt) if opts.strength else None

    t = flat(t_ceasefire).copy()
    remaining = flat(chance.e_reattack).copy()
    t_reattack = np.full(n * n_opt, np.inf)
    truce_days = np.zeros(n * n_opt)
    war_days = np.zeros(n * n_opt)
    collapses = np.zeros(n * n_opt, dtype=np.int64)
    truce_days_deployed = np.zeros(n * n_opt)
    engage_left = flat(chance.e_engage).copy()
    t_engage = np.full(n * n_opt, np.inf)

    walking = np.flatnonzero(t < horizon)
    while walking.size:
        budget = gen.standard_exponential(n)
        gap = gen.standard_exponential(n) / retruce
        durable = gen.random(n) < durable_share
        if not opts.strength:
            durable_share = theta[:, P_DURABLE]
        strength = np.ones(n)
        if varies.any():
            strength[varies] = gen.gamma(1.0 / strength_var[varies], strength_var[varies])
        for in_truce in (True, False):
            i = walking
            r = run[i]
            start = t[i]
            if in_truce:
                with np.errstate(divide="ignore"):
                    length = np.where(durable[r], np.inf,
                                      truce_length(start, t_d[i], budget[r] / strength[r], scale[r], shape[r], m[i]))
                hazard = rate[i]
            else:
                length = gap[r]
                hazard = rate[i] * e_collapse[r]
            end = np.minimum(start + length, horizon)
            hit, left = spend_hazard(remaining[i], start, end, t_d[i], hazard, after[i])
            stop = np.minimum(end, hit)
            days = stop - start
            deployed_days = np.maximum(stop - np.maximum(start, t_d[i]), 0.0)
            if in_truce:
                truce_days[i] += days
                truce_days_deployed[i] += deployed_days
                if truce_mean is not None:
                    truce_mean[i] += gen.gamma(days * k_truce[r], strength[r] * mu_truce[r] / k_truce[r])
            else:
                war_days[i] += days
                hazard_spent = engage[i] * deployed_days
                engaged = (t_engage[i] == np.inf) & (engage_left[i] < hazard_spent)
                with np.errstate(divide="ignore"):
                    t_engage[i] = np.where(engaged, np.maximum(start, t_d[i]) + engage_left[i] / engage[i],
                                           t_engage[i])
                engage_left[i] -= hazard_spent
            t_reattack[i] = hit
            remaining[i] = left
            goes_on = (hit == np.inf) & (start + length < horizon)
            if in_truce:
                collapses[i] += goes_on
            t[i] = start + length
            walking = i[goes_on]
            if not walking.size:
                break
    return Walk(t_reattack.reshape(shape2), truce_days.reshape(shape2),
                war_days.reshape(shape2), collapses.reshape(shape2),
                truce_days_deployed.reshape(shape2), t_engage.reshape(shape2),
                None if truce_mean is None else truce_mean.reshape(shape2))


# --- 5. tripwire ---------------------------------------------------------------

def tripwire(theta: np.ndarray, chance: Chance, t_ceasefire: np.ndarray, t_deploy: np.ndarray,
             walk: Walk, opts: Options, horizon: int) -> np.ndarray:
    """The first of: a hit on an immediately deployed force during the war
    (before T_c and H), fighting after a collapse engaging the force (found
    by the walk), and a re-attack at T_a >= T_d engaging the force (on the
    contact line always, in the rear if U_trip < q_rear)."""
    t_reattack = walk.t_reattack
    deployed = opts.force > 0
    exposure = column(theta, LAMBDA_HIT) * posture_weight(theta, opts)
    with np.errstate(divide="ignore"):
        t_hit = t_deploy + chance.e_hit / exposure
    hit = deployed & opts.immediate & (t_deploy < t_ceasefire) & (t_hit < t_ceasefire) & (t_hit < horizon)
    engaged = (deployed & (t_reattack < np.inf) & (t_deploy <= t_reattack)
               & (opts.contact | (chance.u_trip < column(theta, Q_REAR))))
    return np.minimum.reduce([np.where(hit, t_hit, np.inf), walk.t_engage,
                              np.where(engaged, t_reattack, np.inf)])


# --- 6. violations, 7. strikes ----------------------------------------------

def violations(gen: np.random.Generator, theta: np.ndarray, walk: Walk) -> np.ndarray:
    """Poisson(Gamma(d_t k_truce, mu_truce / k_truce) + Gamma(d_w k_war, mu_war / k_war)),
    the truce gamma summed truce by truce under truces of random strength."""
    k_t, k_w = column(theta, K_TRUCE), column(theta, K_WAR)
    shape2 = walk.truce_days.shape
    if walk.truce_mean is None:
        mean = gen.gamma(walk.truce_days * k_t, np.broadcast_to(column(theta, MU_TRUCE) / k_t, shape2))
    else:
        mean = walk.truce_mean.copy()
    mean += gen.gamma(walk.war_days * k_w, np.broadcast_to(column(theta, MU_WAR) / k_w, shape2))
    return gen.poisson(mean).astype(np.int64)


def strike_days(theta: np.ndarray, truce_days: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Rate times days over ``days`` days of which ``truce_days`` in a truce."""
    return column(theta, SIGMA_TRUCE) * truce_days + column(theta, SIGMA_WAR) * (days - truce_days)


def strikes(gen: np.random.Generator, theta: np.ndarray, walk: Walk, t_deploy: np.ndarray,
            opts: Options, horizon: int) -> np.ndarray:
    """Poisson((1 - intercept) e^-s_U (S_before + (1 - i_F) D_F S_after)),
    with the strike-days split at T_d, i_F = intercept_force * F / (F +
    f_scale), the force's deterrence D_F = (1 + F / STRIKE_TROOPS) **
    -strike_force and the support's s_U = strike_support."""
    days_after = horizon - np.minimum(t_deploy, horizon)
    truce_after = walk.truce_days_deployed
    s_after = strike_days(theta, truce_after, days_after)
    s_before = strike_days(theta, walk.truce_days - truce_after, horizon - days_after)
    i_force = column(theta, INTERCEPT_FORCE) * opts.force / (opts.force + column(theta, F_SCALE))
    deter = (1.0 + opts.force / STRIKE_TROOPS) ** -column(theta, STRIKE_FORCE)
    us = level_values(theta, opts.levels, "intercept")[:, opts.support]
    us_deter = np.exp(-level_values(theta, opts.levels, "strike_support")[:, opts.support])
    mean = (1.0 - us) * us_deter * (s_before + (1.0 - i_force) * deter * s_after)
    return gen.poisson(np.maximum(mean, 0.0)).astype(np.int64)


# --- tallies -------------------------------------------------------------------

def day_bins(t: np.ndarray, horizon: int) -> np.ndarray:
    """floor(T) if T < H, else H (not within the horizon)."""
    return np.where(t < horizon, np.floor(np.minimum(t, horizon)), horizon).astype(np.int64)


def moments(values: np.ndarray) -> np.ndarray:
    """(sum, high 32 bits and low 32 bits of the squares' sum) over axis 0,
    exactly as the kernels' add_moment adds them."""
    total = values.sum(axis=0, dtype=np.int64)
    square = np.multiply(values, values, dtype=np.int64)
    if values.size == 0 or np.abs(values).max() < 1 << 16:
        # every square is below 2**32: the high parts are all zero
        return np.stack([total, np.zeros_like(total), square.sum(axis=0)], axis=-1)
    return np.stack([total, (square >> 32).sum(axis=0), (square & LOW32).sum(axis=0)], axis=-1)


def tally(times: np.ndarray, counts: np.ndarray, truce_days: np.ndarray,
          collapses: np.ndarray, horizon: int, year_days: np.ndarray, runs_per_draw: int = 1) -> Tallies:
    """Tallies of a chunk: ``times`` (runs, options, events) with inf for
    events not within the horizon, ``counts`` (runs, options, 2) violations
    and strikes; the baseline is the last option. Consecutive runs come in
    parameter draws of ``runs_per_draw``."""
    n, n_opt, n_events = times.shape
    hist = np.empty((n_opt, n_events, horizon + 1), dtype=np.int64)
    offsets = np.arange(n_opt) * (horizon + 1)
    for e in range(n_events):
        index = (day_bins(times[:, :, e], horizon) + offsets).ravel()
        hist[:, e, :] = np.bincount(index, minlength=n_opt * (horizon + 1)).reshape(n_opt, -1)
    truce_units = np.floor(truce_days / TRUCE_DAYS_UNIT + 0.5).astype(np.int64)
    # Days at war: before the first ceasefire, and after a re-attack.
    at_war_days = np.minimum(times[:, :, 0], horizon) + np.where(times[:, :, 2] < horizon,
                                                                 horizon - times[:, :, 2], 0.0)
    war_units = np.floor(at_war_days / TRUCE_DAYS_UNIT + 0.5).astype(np.int64)
    mom = np.stack([moments(counts[:, :, 0]), moments(counts[:, :, 1]), moments(truce_units),
                    moments(collapses), moments(war_units)], axis=1)
    assert mom.shape[1] == len(COUNTS)
    within = (times[:, :, :, None] < year_days)                   # (runs, options, events, years)
    at_war = (times[:, :, 0, None] >= year_days) | (times[:, :, 2, None] < year_days)
    states = np.concatenate([within, at_war[:, :, None]], axis=2).astype(np.int8)
    assert states.shape[2] == len(INDICATORS)
    diff = (states - states[:, -1:]).reshape(n, n_opt, -1)          # -1, 0 or 1
    paired_counts = np.stack([counts[:, :, 0], counts[:, :, 1], war_units], axis=-1)
    paired = np.concatenate([moments(diff), moments(paired_counts - paired_counts[:, -1:])], axis=1)
    draw_hist, draw_diff = draw_histograms(states.reshape(n, n_opt, -1), runs_per_draw)
    values = paired_counts * np.array([1.0, 1.0, TRUCE_DAYS_UNIT])
    value_hist, value_noise = value_histograms(np.concatenate([values, values - values[:, -1:]], axis=-1),
                                               runs_per_draw)
    qualifying, reattacked = after_ceasefire_runs(times[:, :, 0], times[:, :, 2], horizon, year_days)
    after_hist, after_noise, after_moments = after_histograms(reattacked, qualifying, runs_per_draw)
    return Tallies(n, hist, mom, paired, np.stack([qualifying.sum(axis=0), reattacked.sum(axis=0)],
                                                  axis=-1).astype(np.int64),
                   draw_hist=draw_hist, draw_diff=draw_diff, value_hist=value_hist, value_noise=value_noise,
                   after_hist=after_hist, after_noise=after_noise, after_moments=after_moments)


def draw_histograms(within: np.ndarray, runs_per_draw: int) -> tuple[np.ndarray, np.ndarray]:
    """The draws (options, outcomes, k) by k, the runs of the draw with the
    outcome (0 ... runs_per_draw), and by k minus the baseline's (offset
    runs_per_draw), from ``within`` (runs, options, outcomes) of 0/1."""
    n, n_opt, n_out = within.shape
    k = within.reshape(n // runs_per_draw, runs_per_draw, n_opt, n_out).sum(axis=1, dtype=np.int64)
    rows = np.arange(n_opt * n_out)
    hist = np.zeros((n_opt * n_out, runs_per_draw + 1), dtype=np.int64)
    np.add.at(hist, (rows, k.reshape(-1, n_opt * n_out)), 1)
    diff = np.zeros((n_opt * n_out, 2 * runs_per_draw + 1), dtype=np.int64)
    np.add.at(diff, (rows, (k - k[:, -1:] + runs_per_draw).reshape(-1, n_opt * n_out)), 1)
    return hist.reshape(n_opt, n_out, -1), diff.reshape(n_opt, n_out, -1)


def after_ceasefire_runs(t_ceasefire: np.ndarray, t_reattack: np.ndarray, horizon: int,
                         year_days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(runs, options, years) booleans: runs with T_c < H - y days, and among
    them those with T_a - T_c < y days."""
    qualifying = t_ceasefire[:, :, None] < horizon - year_days          # (runs, options, years)
    with np.errstate(invalid="ignore"):   # inf - inf without a ceasefire: not qualifying anyway
        since = t_reattack - t_ceasefire
    return qualifying, qualifying & (since[:, :, None] < year_days)


# --- a chunk of runs, and the entry point ------------------------------------

def simulate_chunk(gen: np.random.Generator, plan: Plan, opts: Options, n: int) -> Tallies:
    horizon = plan.horizon
    theta = np.repeat(draw_parameters(gen, plan.family, plan.args, n // plan.runs_per_draw),
                      plan.runs_per_draw, axis=0)
    chance = draw_chance(gen, n)
    t_ceasefire = ceasefire(theta, chance, opts)
    t_deploy = deployment(theta, t_ceasefire, opts)
    walk = truce_walk(gen, theta, chance, t_ceasefire, t_deploy, opts, horizon)
    t_trip = tripwire(theta, chance, t_ceasefire, t_deploy, walk, opts, horizon)
    n_violations = violations(gen, theta, walk)
    n_strikes = strikes(gen, theta, walk, t_deploy, opts, horizon)
    times = np.stack([np.where(t_ceasefire < horizon, t_ceasefire, np.inf),
                      np.where(t_deploy < horizon, t_deploy, np.inf),
                      walk.t_reattack, t_trip], axis=-1)
    assert times.shape[-1] == len(EVENTS)
    counts = np.stack([n_violations, n_strikes], axis=-1)
    return tally(times, counts, walk.truce_days, walk.collapses, horizon,
                 np.asarray(plan.year_days), plan.runs_per_draw)


def simulate(plan: Plan, runs: int, seed: int, chunk_runs: int | None = None) -> Tallies:
    """Tallies of ``runs`` runs of every option of ``plan``, in the layout of
    ``kernels.simulate`` (so ``results.build`` accepts them), drawn from
    ``numpy.random.default_rng(seed)``. Runs come in parameter draws of
    ``plan.runs_per_draw`` (``runs`` and ``chunk_runs`` are multiples of it)."""
    opts = Options.from_plan(plan)
    n_opt = len(opts)
    rpd = plan.runs_per_draw
    chunk_runs = chunk_runs or max(rpd, CHUNK_ELEMENTS // n_opt // rpd * rpd)
    if runs % rpd or chunk_runs % rpd:
        raise ValueError(f"runs ({runs}) and chunk_runs ({chunk_runs}) must be multiples of runs_per_draw ({rpd})")
    gen = np.random.default_rng(seed)
    n_years = len(plan.year_days)
    n_headline = len(INDICATORS) * n_years
    n_values = 2 * len(PAIRED_COUNTS)
    total = Tallies(0, np.zeros((n_opt, len(EVENTS), plan.horizon + 1), dtype=np.int64),
                    np.zeros((n_opt, len(COUNTS), 3), dtype=np.int64),
                    np.zeros((n_opt, n_headline + len(PAIRED_COUNTS), 3), dtype=np.int64),
                    np.zeros((n_opt, n_years, 2), dtype=np.int64),
                    draw_hist=np.zeros((n_opt, n_headline, rpd + 1), dtype=np.int64),
                    draw_diff=np.zeros((n_opt, n_headline, 2 * rpd + 1), dtype=np.int64),
                    value_hist=np.zeros((n_opt, n_values, VALUE_BINS), dtype=np.int64),
                    value_noise=np.zeros((n_opt, n_values, 3), dtype=np.int64),
                    after_hist=np.zeros((n_opt, n_years, 2, AFTER_BINS), dtype=np.int64),
                    after_noise=np.zeros((n_opt, n_years, 2, 3), dtype=np.int64),
                    after_moments=np.zeros((n_opt, n_years, 7), dtype=np.int64))
    for start in range(0, runs, chunk_runs):
        total += simulate_chunk(gen, plan, opts, min(chunk_runs, runs - start))
    return total
