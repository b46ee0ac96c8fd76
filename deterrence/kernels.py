"""Numba kernels: a block of runs in, fixed-size integer tallies out.

For each run the kernel draws the parameters and every number that does not
depend on the option once (common random numbers: the ceasefire, re-attack,
tripwire, hit and engagement Exp(1)/uniform draws, and the truce episodes
with their durability or strength), then walks
each option's history with exact event times (inverse cumulative hazard) and
draws its violation and strike totals from option-independent streams.
Tallies are integers, so blocks add exactly in any order.

Every loop is bounded whatever the parameters. A run the kernel cannot
compute exactly (a parameter draw outside its domain or not finite, a
non-finite time, more than MAX_EPISODES truce episodes, a count above
MAX_COUNT, a sampler's rejection cap) is a *fault*: the block stops there and
reports the fault's kind, run and detail (see FAULTS) instead of a number.
"""

import math
import os

import numpy as np
from numba import njit

from deterrence import rng
from deterrence.families import BETA, FIXED, GAMMA, GAMMA_EXPOSURE, LOGNORMAL, UNIFORM
from deterrence.model import (
    AFTER_BINS,
    AFTER_NOISE_SCALE,
    AFTER_SCALE,
    AFTER_UNDEFINED,
    AID_LEVEL,
    CHOICE_TRUCES,
    CHOICE_VETO,
    COUNTS,
    DELTA_AID,
    DELTA_FORCE,
    DEPLOY_LAG,
    DOMAIN_BOUNDS,
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
    MAX_COUNT,
    MAX_EPISODES,
    MU_TRUCE,
    MU_WAR,
    N_PARAMETERS,
    NU,
    NU_NOW,
    P_DURABLE,
    P_DURABLE_FIRST,
    PAIRED_COUNTS,
    PARAMETER_NAMES,
    PARAMETERS,
    POSITIVE,
    PROVOKE_FORCE,
    Q_REAR,
    SENSITIVITY_OUTCOMES,
    SENSITIVITY_YEAR,
    SIGMA_TRUCE,
    SIGMA_WAR,
    STREAM_COLLAPSE,
    STREAM_DURABLE,
    STREAM_ENGAGE,
    STREAM_RETRUCE,
    STREAM_RUN,
    STREAM_STRENGTH,
    STREAM_STRIKES,
    STREAM_VIOLATIONS,
    STRENGTH_VAR,
    STRIKE_FORCE,
    STRIKE_TROOPS,
    TRUCE_DAYS_UNIT,
    TRUCE_SCALE,
    TRUCE_SHAPE,
    TRUCES_CURE,
    TRUCES_STRENGTH,
    TRUCES_WEIBULL,
    VALUE_BIN_HALF,
    VALUE_BIN_K,
    VALUE_BINS,
    VALUE_NOISE_SCALE,
    VETO_FLOOR,
    VETO_POWER,
    VETO_THRESHOLD,
    W_REAR,
    WAR_CEASEFIRE_MULT,
    YEARS,
)
from deterrence.plan import (
    OPT_CONTACT,
    OPT_FORCE,
    OPT_IMMEDIATE,
    OPT_LEVERAGE,
    OPT_SAME_HISTORY,
    OPT_SAME_STRIKES,
    OPT_SUPPORT,
)

N_EVENTS = len(EVENTS)
N_INDICATORS = len(INDICATORS)
N_COUNTS = len(COUNTS)
N_PAIRED_COUNTS = len(PAIRED_COUNTS)
VIOLATIONS, STRIKES, WAR_DAYS = (COUNTS.index(c) for c in ("violations", "strikes", "war_days"))
PAIRED_COUNT_INDEX = np.array([COUNTS.index(c) for c in PAIRED_COUNTS])
# The largest within-draw sum of squares a draw may tally (in its units).
MAX_DRAW_NOISE = 2.0**62
ASSETS_AND_AID = LEVELS["leverage"].index(AID_LEVEL)
# Rows of the episodes array: the Weibull length without a force, the
# collapse budget (divided by the strength W), the gap, durable (1.0 or 0.0),
# the strength W (1.0 but under truces = "strength"), and the truce days of
# each episode in the option walked last (written by ``history``).
EP_BASE, EP_BUDGET, EP_GAP, EP_DURABLE, EP_STRENGTH, EP_DAYS = range(6)
N_EP_ROWS = 6
# What fired the tripwire, in the order history checks the causes (an earlier
# cause keeps a tie).
TRIP_NONE, TRIP_HIT, TRIP_ENGAGE, TRIP_REATTACK = range(4)
N_SENS_OUTCOMES = len(SENSITIVITY_OUTCOMES)
SENS_DIFF_REATTACK, SENS_WAR, SENS_DIFF_WAR = (SENSITIVITY_OUTCOMES.index(k) for k in (
    "diff_reattack_2y", "war_days", "diff_war_days"))
SENS_YEAR_INDEX = YEARS.index(SENSITIVITY_YEAR)
INF = np.inf
SPLIT = np.int64(32)
LOW32 = np.int64(0xFFFFFFFF)
# Each parameter's domain, for the check of every draw: [low, high], finite,
# and above 0 where the domain is positive.
DOMAIN_LOW = np.array([DOMAIN_BOUNDS[p.domain][0] for p in PARAMETERS])
DOMAIN_HIGH = np.array([DOMAIN_BOUNDS[p.domain][1] for p in PARAMETERS])
DOMAIN_OPEN = np.array([p.domain == POSITIVE for p in PARAMETERS])

# Fault kinds (the first of the returned fault array; then the run and a
# detail), with what went wrong and the priors that steer it. The detail of
# FAULT_PARAMETER is the parameter's index, of FAULT_COUNT the count's (COUNTS).
NO_FAULT, FAULT_PARAMETER, FAULT_EPISODES, FAULT_NONFINITE, FAULT_COUNT = range(5)
FAULT_SIZE = 3
FAULTS = {
    FAULT_PARAMETER: ("drew a value outside the parameter's domain or not finite (an overflow or "
                      "underflow of its prior, or a sampler's rejection cap)", ()),
    FAULT_EPISODES: (f"needs more than {MAX_EPISODES:,} truce episodes within the horizon",
                     ("truce_shape", "truce_scale", "lambda_retruce", "m_collapse", "w_rear", "strength_var")),
    FAULT_NONFINITE: ("meets a non-finite time or length (an overflow, or 0 * inf) in its ceasefire, "
                      "truce and re-attack walk",
                      ("truce_shape", "truce_scale", "strength_var", "m_collapse", "w_rear",
                       "lambda_c0", "nu", "nu_now", "veto_floor",
                       *(n for n in PARAMETER_NAMES if n.startswith(("leverage_mult.", "veto_relief."))),
                       "war_ceasefire_mult", "lambda_a0", "e_collapse", "lambda_hit", "engage_collapse",
                       "delta_force", "provoke_force")),
    FAULT_COUNT: (f"above {MAX_COUNT:,} (or with a non-finite mean), which cannot be tallied exactly", ()),
}
COUNT_FAULT_PRIORS = {"violations": ("mu_truce", "k_truce", "mu_war", "k_war", "strength_var"),
                      "strikes": ("sigma_truce", "sigma_war", "strike_force",
                                  *(n for n in PARAMETER_NAMES if n.startswith("strike_support."))),
                      "truce_days": (), "collapses": ()}

# IEEE arithmetic (x / 0 = inf), not ZeroDivisionError: a non-finite value is a
# fault the kernel reports, never an exception inside compiled code.
jit = njit(nogil=True, cache=True, error_model="numpy")
inline = njit(nogil=True, cache=True, error_model="numpy", inline="always")   # hot helpers of the option loop


@jit
def sample_prior(st, family, a0, a1, a2):
    """One draw from a prior family; the hyperparameters in config order."""
    if family == FIXED:
        return a0
    if family == GAMMA:
        return a2 + rng.gamma(st, a0, a1)
    if family == LOGNORMAL:
        return a2 + a0 * math.exp(a1 * rng.normal(st))
    if family == BETA:
        return rng.beta(st, a0, a1)
    if family == UNIFORM:
        return a0 + (a1 - a0) * rng.uniform(st)
    if family == GAMMA_EXPOSURE:
        # Gamma(shape, 1); draw_parameters divides it by the run's exposure.
        return rng.gamma(st, a0, 1.0)
    raise ValueError("unknown prior family code (see deterrence.families)")


@jit
def draw_parameters(theta, st, kp, draw):
    """A parameter draw's parameters into ``theta``, each on its own stream
    (``kp.streams``) of ``draw`` (run // runs_per_draw); returns the first
    parameter whose draw is outside its domain or not finite, or -1. A
    gamma_exposure lambda_a0 is divided by the exposure truce_days +
    e_collapse * gap_days once every parameter is drawn (so the order of
    parameters is irrelevant)."""
    family = kp.family
    args = kp.args
    for p in range(N_PARAMETERS):
        if family[p] == FIXED:
            theta[p] = args[p, 0]
        else:
            rng.stream(st, kp.key0, kp.key1, draw, kp.streams[p])
            theta[p] = sample_prior(st, family[p], args[p, 0], args[p, 1], args[p, 2])
    if family[LAMBDA_A0] == GAMMA_EXPOSURE:
        theta[LAMBDA_A0] /= args[LAMBDA_A0, 1] + theta[E_COLLAPSE] * args[LAMBDA_A0, 2]
    return check_parameters(theta)


@jit
def check_parameters(theta):
    """The first parameter outside its domain or not finite, or -1."""
    bad = -1
    for p in range(N_PARAMETERS):
        x = theta[p]
        if bad < 0 and not (DOMAIN_LOW[p] <= x <= DOMAIN_HIGH[p] and x < INF
                            and (x > 0.0 or not DOMAIN_OPEN[p])):
            bad = p
    return bad


@jit
def hazard_walk(remaining, t0, t1, rate, t_deploy, after_deploy):
    """Spend an Exp(1) budget on [t0, t1), where the hazard is ``rate``,
    times ``after_deploy`` from ``t_deploy`` on: the event time if it is
    spent there (else inf), and the budget left."""
    if t_deploy > t0 and t_deploy < t1:
        need = rate * (t_deploy - t0)
        if remaining <= need:
            return t0 + remaining / rate, 0.0
        remaining -= need
        t0 = t_deploy
    if t_deploy <= t0:
        rate *= after_deploy
    need = rate * (t1 - t0)
    if remaining <= need:
        return t0 + remaining / rate, 0.0
    return INF, remaining - need


@jit
def truce_duration(start, t_deploy, base, budget, scale, inv_shape, m, full_factor):
    """Weibull truce length when the collapse hazard is multiplied by m from
    the deployment time on: exact inversion of the cumulative hazard."""
    if t_deploy >= start + base:
        return base
    if t_deploy <= start:
        return base * full_factor
    age = t_deploy - start
    h_age = (age / scale) ** (1.0 / inv_shape)
    return scale * (h_age + (budget - h_age) / m) ** inv_shape


@inline
def history(horizon, t_ceasefire, t_deploy, deployed, contact, immediate, w_post,
            e_reattack, u_trip, e_hit, e_engage, reattack_rate, after_deploy, e_collapse, q_rear,
            lambda_hit, engage_rate, scale, inv_shape, m, full_factor, ep_base, ep_budget, ep_gap,
            ep_durable, ep_days, n_episodes):
    """One option's history after the option-specific rates are known.

    Returns the re-attack and tripwire times (inf when not within the
    horizon), days in truce and after a collapse (before any re-attack),
    the number of collapses, and the truce days from the deployment on;
    collapses is -1 where the ``n_episodes`` episodes run out, and the truce
    days NaN where a length or the hazard budget is not a number (both
    faults), and the tripwire's cause (a TRIP_* code). A durable episode's
    truce lasts to the horizon. ``ep_days[j]`` gets the truce days of
    episode j for j <= collapses (-1 for one not entered: the history
    stopped in the fighting before it) when a ceasefire comes within the
    horizon: with the cause, the run's story as ``deterrence trace`` tells
    it."""
    t_trip = INF
    cause = TRIP_NONE
    hit_rate = lambda_hit * w_post
    if deployed and immediate and t_deploy < t_ceasefire and hit_rate > 0.0:
        t_hit = t_deploy + e_hit / hit_rate
        if t_hit < t_ceasefire and t_hit < horizon:
            t_trip = t_hit
            cause = TRIP_HIT
    t_reattack = INF
    truce_days = 0.0
    truce_after = 0.0
    war_days = 0.0
    collapses = 0
    # Fighting after a collapse engages a deployed force: spend e_engage
    # along the gaps from the deployment on.
    engaging = deployed and engage_rate > 0.0
    if t_ceasefire < horizon:
        remaining = e_reattack
        t = t_ceasefire
        war_rate = reattack_rate * e_collapse
        j = 0
        while True:
            if j == n_episodes:
                collapses = -1
                break
            length = ep_base[j]
            if ep_durable[j] != 0.0:
                length = INF
            elif deployed:
                length = truce_duration(t, t_deploy, length, ep_budget[j], scale, inv_shape, m, full_factor)
            if not length >= 0.0:
                truce_days = math.nan
                break
            end = min(t + length, horizon)
            t_reattack, remaining = hazard_walk(remaining, t, end, reattack_rate, t_deploy, after_deploy)
            stop = min(end, t_reattack)
            truce_after += max(0.0, stop - max(t, t_deploy))
            if t_reattack < INF or end == horizon:
                ep_days[j] = stop - t
                truce_days += stop - t
                break
            ep_days[j] = length
            truce_days += length
            collapses += 1
            t = end
            end = min(t + ep_gap[j], horizon)
            t_reattack, remaining = hazard_walk(remaining, t, end, war_rate, t_deploy, after_deploy)
            if engaging:
                s0 = max(t, t_deploy)
                s1 = min(end, t_reattack)
                if s1 > s0:
                    need = engage_rate * (s1 - s0)
                    if e_engage <= need:
                        t_engage = s0 + e_engage / engage_rate
                        if t_engage < t_trip:
                            t_trip = t_engage
                            cause = TRIP_ENGAGE
                        engaging = False
                    else:
                        e_engage -= need
            if t_reattack < INF or end == horizon:
                war_days += min(end, t_reattack) - t
                if j + 1 < n_episodes:
                    ep_days[j + 1] = -1.0
                break
            war_days += ep_gap[j]
            t = end
            j += 1
        if remaining != remaining:
            truce_days = math.nan
        if t_reattack < INF and deployed and t_deploy <= t_reattack:
            if (contact or u_trip < q_rear) and t_reattack < t_trip:
                t_trip = t_reattack
                cause = TRIP_REATTACK
    return t_reattack, t_trip, truce_days, war_days, collapses, truce_after, cause


@jit
def day_bin(t, horizon):
    return np.int64(t) if 0.0 <= t < horizon else horizon


@inline
def war_days(o, times, horizon):
    """Days at war within the horizon: before the first ceasefire, and after
    a re-attack (times of events not within the horizon are inf)."""
    days = min(times[o, 0], horizon)
    if times[o, 2] < horizon:
        days += horizon - times[o, 2]
    return days


@jit
def add_paired_indicators(paired, in_draw):
    """Add to the paired sums of the indicators (sum of d, option minus
    baseline) those of a draw's runs, ``in_draw`` (indicators, options:
    each option's runs with each indicator; the baseline last), and clear it."""
    n_headline, n_opt = in_draw.shape
    for k in range(n_headline):
        for o in range(n_opt):
            paired[o, k, 0] += in_draw[k, o] - in_draw[k, n_opt - 1]
    in_draw[:] = 0


@inline
def value_bin(x):
    """The bin of a draw mean x among VALUE_BINS (model.VALUE_BIN_K)."""
    b = np.int64(round(VALUE_BIN_K * math.asinh(x))) + VALUE_BIN_HALF
    return min(max(b, np.int64(0)), np.int64(VALUE_BINS - 1))


@jit
def add_moment(tally, value):
    """Add value and value**2 exactly: the square is split into 32-bit
    halves (|value| <= MAX_COUNT, so the square fits int64)."""
    tally[0] += value
    square = value * value
    tally[1] += square >> SPLIT
    tally[2] += square & LOW32


# The per-draw after-ceasefire counts of an option and year, in this order:
# A (re-attacked within y years of a ceasefire that left y years of horizon),
# C (runs whose ceasefire left y years), then with the baseline's Ab and Cb
# the products A Ab, A Cb, C Ab, C Cb summed over the draw's runs.
N_AFTER_DRAW = 6
N_AFTER_MOMENTS = 7   # over draws: A^2, A C, C^2, A Ab, A Cb, C Ab, C Cb


@inline
def ratio_bin(a, c):
    """The bin of a / c (c > 0): round(AFTER_SCALE a / c) + AFTER_SCALE, halves up, in integers."""
    return (2 * AFTER_SCALE * a + c) // (2 * c) + AFTER_SCALE


@inline
def ratio_difference_bin(a, c, ab, cb):
    """The bin of a / c - ab / cb (c, cb > 0): round(AFTER_SCALE x) + AFTER_SCALE, halves up, in integers."""
    d = c * cb
    return (2 * AFTER_SCALE * (a * cb - ab * c) + d) // (2 * d) + AFTER_SCALE


@inline
def ratio_noise(a, c):
    """Unbiased estimate of the noise variance of a draw's a / c given c:
    a (c - a) / (c^2 (c - 1)) (0 when c < 2)."""
    if c < 2:
        return 0.0
    fa, fc = float(a), float(c)
    return fa * (fc - fa) / (fc * fc * (fc - 1.0))


@inline
def ratio_difference_noise(own, base):
    """Noise variance of a draw's a / c - ab / cb from its after-ceasefire
    counts (N_AFTER_DRAW each): the delta method's sum of squared
    linearised terms, each ratio's part with its finite-sample factor
    c / (c - 1) (0 when c or cb < 2)."""
    if own[1] < 2 or base[1] < 2:
        return 0.0
    fa, fc, fab, fcb = float(own[0]), float(own[1]), float(base[0]), float(base[1])
    po, pb = fa / fc, fab / fcb
    s_own = fa - fa * po
    s_base = fab - fab * pb
    s_cross = float(own[2]) - pb * float(own[3]) - po * float(own[4]) + po * pb * float(own[5])
    v = s_own / (fc * (fc - 1.0)) + s_base / (fcb * (fcb - 1.0)) - 2.0 * s_cross / math.sqrt(
        fc * (fc - 1.0) * fcb * (fcb - 1.0))
    return max(v, 0.0)


@inline
def add_noise(limbs, variance):
    """Add a draw's noise variance in fixed point (AFTER_NOISE_SCALE) to its limbs (1: high, 2: low 32 bits)."""
    wide = np.int64(variance * AFTER_NOISE_SCALE + 0.5)
    limbs[1] += wide >> SPLIT
    limbs[2] += wide & LOW32


@jit
def close_after_draw(acc, hist, noise, moments, rows, col):
    """At the end of a draw: bin each option's after-ceasefire risk and its
    difference to the baseline (the last option), add their noise variances
    and the draw's products of counts (the errors of the pooled risks over
    draws), and clear the draw's counts ``acc`` (options, years, N_AFTER_DRAW).
    The bins go into ``hist``, or where ``rows`` (options, columns) has rows
    into its columns col + 2 y (the level) and col + 2 y + 1 (the difference)."""
    n_opt, n_years = acc.shape[0], acc.shape[1]
    base = n_opt - 1
    for o in range(n_opt):
        for y in range(n_years):
            a, c = acc[o, y, 0], acc[o, y, 1]
            ab, cb = acc[base, y, 0], acc[base, y, 1]
            m = moments[o, y]
            m[0] += a * a
            m[1] += a * c
            m[2] += c * c
            m[3] += a * ab
            m[4] += a * cb
            m[5] += c * ab
            m[6] += c * cb
            level = AFTER_UNDEFINED
            if c > 0:
                level = ratio_bin(a, c)
                add_noise(noise[o, y, 0], ratio_noise(a, c))
            difference = AFTER_UNDEFINED
            if c > 0 and cb > 0:
                difference = ratio_difference_bin(a, c, ab, cb)
                add_noise(noise[o, y, 1], ratio_difference_noise(acc[o, y], acc[base, y]))
            if rows.shape[0] > 0:
                rows[o, col + 2 * y] = level
                rows[o, col + 2 * y + 1] = difference
            else:
                hist[o, y, 0, level] += 1
                hist[o, y, 1, difference] += 1
    acc[:] = 0


# Per-run numbers shared by every option, in a small array.
# per option: truce days, days after a collapse, collapses, truce days from T_d on, the tripwire's cause
N_DAYS = 5
(E_CEASEFIRE, E_REATTACK, U_TRIP, E_HIT, E_ENGAGE, SCALE, INV_SHAPE, M_CONTACT, M_REAR, FACTOR_CONTACT,
 FACTOR_REAR, N_EPISODES) = range(12)
N_RUN_VALUES = 12
# Per-run tables by level: one row per per-level parameter (LEVEL_STEMS) with
# its value at each level (the neutral value at the reference level); then
# one row per force level f (FORCE_ROW + f) holding the veto factor
# V ** (1 - veto_relief) by leverage (column leverage) of a force offered
# after a ceasefire, the re-attack factor D from deployment on, by posture
# and support (column AFTER_DEPLOY * width + width * contact + support,
# where width is the plan's number of level columns), and the veto factor
# of a force deployed during the war by leverage (VETO_NOW * width + leverage).
LEVERAGE_ROW, SUPPORT_ROW, INTERCEPT_ROW, RELIEF_ROW, STRIKE_SUPPORT_ROW = (
    LEVEL_STEMS.index(stem) for stem in ("leverage_mult", "delta_support", "intercept", "veto_relief",
                                         "strike_support"))
FORCE_ROW = len(LEVEL_STEMS)
NEUTRAL = np.array([lp.neutral for lp in LEVEL_PARAMETERS])
AFTER_DEPLOY = 1     # in units of width: the veto factors come first
VETO_NOW = 3         # in units of width: after the two D blocks
TABLE_WIDTHS = 4     # veto by leverage; D by support on the rear, on the contact line; veto now by leverage


@jit
def new_tables(n_force_levels, level_parameters):
    """The per-run tables for ``n_force_levels`` force levels and the plan's
    level table."""
    return np.empty((FORCE_ROW + n_force_levels, TABLE_WIDTHS * level_parameters.shape[1]))


@inline
def draws_durable(theta):
    """Whether a run draws its episodes' durability uniforms (skipped when
    no truce can be durable: the results are the same)."""
    return theta[P_DURABLE] > 0.0 or theta[P_DURABLE_FIRST] > 0.0


@inline
def strength_truces(kp, theta):
    """Whether the run's truces differ in strength: [model] truces =
    "strength" with strength_var > 0 (with 0 every W is 1 and the form is
    the plain Weibull, bit for bit)."""
    truces = kp.choices[CHOICE_TRUCES]
    if truces == TRUCES_STRENGTH:
        return theta[STRENGTH_VAR] > 0.0
    if truces == TRUCES_CURE or truces == TRUCES_WEIBULL:
        return False
    raise ValueError("unknown truce form code (see model.CHOICES['truces'])")


@inline
def draws_engage(theta):
    """Whether a run draws E_engage (skipped when the hazard is 0)."""
    return theta[ENGAGE_COLLAPSE] > 0.0


@jit
def copy_columns(to, source, n):
    """to[:, :n] = source[:, :n], as a loop (slice assignment is slow to compile)."""
    for i in range(source.shape[0]):
        for j in range(n):
            to[i, j] = source[i, j]


@jit
def prepare_run(run_values, episodes, tables, st, st_gap, st_durable, kp, run, theta):
    """Everything of a run that does not depend on the option: the run-level
    draws, enough truce episodes for any option (budgets, Weibull lengths
    without a force, gaps, durability or strength), and the rate tables by
    level. ``st_durable`` carries the durability uniforms, or under truces of
    random strength (no truce is then durable) the strengths W.
    Returns the episodes array (grown if the run needs more episodes) and a
    fault kind (NO_FAULT, FAULT_EPISODES or FAULT_NONFINITE)."""
    key0 = kp.key0
    key1 = kp.key1
    horizon = kp.horizon
    force_levels = kp.force_levels
    level_parameters = kp.level_parameters
    veto_choice = kp.choices[CHOICE_VETO]
    rng.stream(st, key0, key1, run, STREAM_RUN)
    run_values[E_CEASEFIRE] = rng.exponential(st)
    run_values[E_REATTACK] = rng.exponential(st)
    run_values[U_TRIP] = rng.uniform(st)
    run_values[E_HIT] = rng.exponential(st)
    run_values[E_ENGAGE] = INF
    if draws_engage(theta):
        rng.stream(st, key0, key1, run, STREAM_ENGAGE)
        run_values[E_ENGAGE] = rng.exponential(st)
    scale = theta[TRUCE_SCALE]
    inv_shape = 1.0 / theta[TRUCE_SHAPE]
    w_rear = theta[W_REAR]
    m_contact = theta[M_COLLAPSE]
    m_rear = m_contact ** w_rear
    run_values[SCALE] = scale
    run_values[INV_SHAPE] = inv_shape
    run_values[M_CONTACT] = m_contact
    run_values[M_REAR] = m_rear
    run_values[FACTOR_CONTACT] = m_contact ** -inv_shape
    run_values[FACTOR_REAR] = m_rear ** -inv_shape
    shortest = min(1.0, run_values[FACTOR_CONTACT], run_values[FACTOR_REAR])
    # Enough truce episodes for any option: every option's history starts
    # at or after 0 and its episodes are no shorter than these; none goes
    # past a durable truce (it lasts to the horizon), so one ends the span.
    rng.stream(st, key0, key1, run, STREAM_COLLAPSE)
    rng.stream(st_gap, key0, key1, run, STREAM_RETRUCE)
    frail = strength_truces(kp, theta)
    # Truces of random strength are never durable (the form has no durable share).
    durable = draws_durable(theta) and kp.choices[CHOICE_TRUCES] != TRUCES_STRENGTH
    if durable:
        rng.stream(st_durable, key0, key1, run, STREAM_DURABLE)
    strength_var = theta[STRENGTH_VAR]
    if frail:
        rng.stream(st_durable, key0, key1, run, STREAM_STRENGTH)
    # One episode beyond the span: the options' sums of lengths round
    # differently from the span's.
    n_ep = 0
    span = 0.0
    fault = NO_FAULT
    spare = 1
    while True:
        if span >= horizon:
            if spare == 0:
                break
            spare -= 1
        if n_ep == MAX_EPISODES:
            fault = FAULT_EPISODES
            break
        if n_ep == episodes.shape[1]:
            grown = np.empty((N_EP_ROWS, min(2 * n_ep, MAX_EPISODES)))
            copy_columns(grown, episodes, n_ep)
            episodes = grown
        budget = rng.exponential(st)
        episodes[EP_STRENGTH, n_ep] = 1.0
        if frail:
            # W multiplies the truce's cumulative hazard: it collapses when
            # W * H(t) spends the budget (W = 0: it never does).
            strength = rng.gamma(st_durable, 1.0 / strength_var, strength_var)
            episodes[EP_STRENGTH, n_ep] = strength
            budget /= strength
        episodes[EP_BUDGET, n_ep] = budget
        episodes[EP_BASE, n_ep] = scale * budget ** inv_shape
        episodes[EP_GAP, n_ep] = rng.exponential(st_gap) / theta[LAMBDA_RETRUCE]
        episodes[EP_DURABLE, n_ep] = 0.0
        if durable and rng.uniform(st_durable) < theta[P_DURABLE_FIRST if n_ep == 0 else P_DURABLE]:
            episodes[EP_DURABLE, n_ep] = 1.0
            n_ep += 1
            break
        shortest_span = episodes[EP_BASE, n_ep] * shortest + episodes[EP_GAP, n_ep]
        if not shortest_span >= 0.0:
            fault = FAULT_NONFINITE
            break
        span += shortest_span
        n_ep += 1
    run_values[N_EPISODES] = n_ep

    width = level_parameters.shape[1]
    for row in range(FORCE_ROW):
        for level in range(width):
            p = level_parameters[row, level]
            tables[row, level] = theta[p] if p >= 0 else NEUTRAL[row]
    for f in range(force_levels.shape[0]):
        troops = force_levels[f]
        if veto_choice == VETO_THRESHOLD:
            veto = theta[VETO_FLOOR] if troops > 0.0 else 1.0
            veto_now = veto
        elif veto_choice == VETO_POWER:
            veto = (1.0 + troops / theta[F_VETO]) ** -theta[NU]
            veto_now = (1.0 + troops / theta[F_VETO]) ** -theta[NU_NOW]
        else:
            raise ValueError("unknown veto form code (see model.CHOICES['veto'])")
        for lev in range(width):
            relief = tables[RELIEF_ROW, lev]
            # No relief leaves V itself (also bit for bit).
            tables[FORCE_ROW + f, lev] = veto if relief == 0.0 else veto ** (1.0 - relief)
            tables[FORCE_ROW + f, VETO_NOW * width + lev] = veto_now if relief == 0.0 else veto_now ** (1.0 - relief)
        force_effect = theta[DELTA_FORCE] * math.log1p(troops / theta[F_SCALE])
        # A force provokes (raises the hazard) by provoke_force times w(posture); no force, no provocation.
        provoke = theta[PROVOKE_FORCE] if troops > 0.0 else 0.0
        for sup in range(width):
            delta = tables[SUPPORT_ROW, sup]
            tables[FORCE_ROW + f, AFTER_DEPLOY * width + sup] = math.exp(provoke * w_rear
                                                                         - (force_effect * w_rear + delta))
            tables[FORCE_ROW + f, (AFTER_DEPLOY + 1) * width + sup] = math.exp(provoke - (force_effect + delta))
    return episodes, fault


@inline
def option_history(o, kp, theta, run_values, tables, episodes, times, days):
    """Option o's event times (into ``times[o]``) and its days in truce,
    days after a collapse, collapses and truce days from the deployment on
    (into ``days[o]``, and returned). An option without a force copies an
    earlier one with the same leverage: posture, deployment rule and
    support cannot touch its history."""
    options = kp.options
    horizon = kp.horizon
    force_levels = kp.force_levels
    f = options[o, OPT_FORCE]
    contact = options[o, OPT_CONTACT] == 1
    immediate = options[o, OPT_IMMEDIATE] == 1
    support = options[o, OPT_SUPPORT]
    leverage = options[o, OPT_LEVERAGE]
    same = options[o, OPT_SAME_HISTORY]
    deployed = force_levels[f] > 0.0
    if same < o and not deployed:
        for e in range(N_EVENTS):
            times[o, e] = times[same, e]
        for k in range(N_DAYS):
            days[o, k] = days[same, k]
        return days[o, 0], days[o, 1], np.int64(days[o, 2]), days[o, 3]
    row = FORCE_ROW + f
    width = tables.shape[1] // TABLE_WIDTHS
    veto = tables[row, VETO_NOW * width + leverage] if immediate else tables[row, leverage]
    ceasefire_rate = theta[LAMBDA_C0] * tables[LEVERAGE_ROW, leverage] * veto
    t_ceasefire = run_values[E_CEASEFIRE] / ceasefire_rate
    t_deploy = INF
    if deployed:
        t_deploy = theta[DEPLOY_LAG] if immediate else t_ceasefire + theta[DEPLOY_LAG]
        # A force deployed during the war multiplies the ceasefire hazard
        # from T_d on: E_c is spent along the two segments. (With a
        # multiplier of 1 the one-segment time above stands, bit for bit.)
        if immediate and t_ceasefire > t_deploy and theta[WAR_CEASEFIRE_MULT] != 1.0:
            t_ceasefire = t_deploy + ((run_values[E_CEASEFIRE] - ceasefire_rate * t_deploy)
                                      / (ceasefire_rate * theta[WAR_CEASEFIRE_MULT]))
    w_post = 1.0 if contact else theta[W_REAR]
    reattack_rate = theta[LAMBDA_A0]
    if leverage == ASSETS_AND_AID:
        reattack_rate *= math.exp(-theta[DELTA_AID])
    after_deploy = tables[row, (AFTER_DEPLOY + np.int64(contact)) * width + support]
    t_reattack, t_trip, truce_days, war_days, collapses, truce_after, cause = history(
        horizon, t_ceasefire, t_deploy, deployed, contact, immediate, w_post, run_values[E_REATTACK],
        run_values[U_TRIP], run_values[E_HIT], run_values[E_ENGAGE], reattack_rate, after_deploy,
        theta[E_COLLAPSE], theta[Q_REAR], theta[LAMBDA_HIT], theta[ENGAGE_COLLAPSE] * w_post,
        run_values[SCALE], run_values[INV_SHAPE],
        run_values[M_CONTACT] if contact else run_values[M_REAR],
        run_values[FACTOR_CONTACT] if contact else run_values[FACTOR_REAR],
        episodes[EP_BASE], episodes[EP_BUDGET], episodes[EP_GAP], episodes[EP_DURABLE], episodes[EP_DAYS],
        np.int64(run_values[N_EPISODES]))
    times[o, 0] = t_ceasefire if t_ceasefire < horizon else INF
    times[o, 1] = t_deploy if t_deploy < horizon else INF
    times[o, 2] = t_reattack
    times[o, 3] = t_trip
    days[o, 0] = truce_days
    days[o, 1] = war_days
    days[o, 2] = collapses
    days[o, 3] = truce_after
    days[o, 4] = cause
    return truce_days, war_days, collapses, truce_after


@inline
def reused_draws(o, options, days, strike_means):
    """Earlier options whose violation and strike draws option o can reuse,
    or -1 where it draws its own: equal inputs (the gamma shapes, the
    Poisson mean) on the same streams give equal draws."""
    same = options[o, OPT_SAME_HISTORY]
    same_strikes = options[o, OPT_SAME_STRIKES]
    if not (same < o and days[o, 0] == days[same, 0] and days[o, 1] == days[same, 1]):
        same = -1
    if not (same_strikes < o and strike_means[o] == strike_means[same_strikes]):
        same_strikes = -1
    return same, same_strikes


@inline
def strike_mean(o, kp, theta, tables, times, truce_days, truce_after):
    """Expected strikes on cities over the horizon, after deterrence and
    interception: from T_d on, the force deters (or provokes) its share of
    the strike-days, (1 + F / STRIKE_TROOPS) ** -strike_force of them
    launched, and its air defence stops its share of those; the US support
    deters by exp(-strike_support) and stops its share of what remains."""
    options = kp.options
    horizon = kp.horizon
    strike_days = theta[SIGMA_WAR] * (horizon - truce_days) + theta[SIGMA_TRUCE] * truce_days
    troops = kp.force_levels[options[o, OPT_FORCE]]
    t_deploy = times[o, 1]
    deters = theta[STRIKE_FORCE] != 0.0
    if (theta[INTERCEPT_FORCE] > 0.0 or deters) and troops > 0.0 and t_deploy < horizon:
        stopped = theta[INTERCEPT_FORCE] * troops / (troops + theta[F_SCALE])
        if deters:
            # The share of the strike-days after T_d that do not land.
            stopped = 1.0 - (1.0 - stopped) * (1.0 + troops / STRIKE_TROOPS) ** -theta[STRIKE_FORCE]
        after = theta[SIGMA_WAR] * ((horizon - t_deploy) - truce_after) + theta[SIGMA_TRUCE] * truce_after
        # Rounding must not make a mean below 0 (S_before can be 0).
        strike_days = max(strike_days - stopped * after, 0.0)
    support = options[o, OPT_SUPPORT]
    deterred = tables[STRIKE_SUPPORT_ROW, support]
    if deterred != 0.0:
        strike_days *= math.exp(-deterred)
    return (1.0 - tables[INTERCEPT_ROW, support]) * strike_days


@inline
def walk_fault(o, times, truce_days, war_days, collapses):
    """The fault kind of option o's history (NO_FAULT if none)."""
    if collapses < 0:
        return FAULT_EPISODES
    if not (truce_days >= 0.0 and war_days >= 0.0):
        return FAULT_NONFINITE
    for e in range(N_EVENTS):
        if times[o, e] != times[o, e]:
            return FAULT_NONFINITE
    return NO_FAULT


@inline
def count_fault(violations, strikes, truce_units):
    """The index in COUNTS of a count that cannot be tallied exactly (a
    sampler's fault is -1), or -1. Collapses stay below MAX_EPISODES."""
    if not 0 <= violations <= MAX_COUNT:
        return 0
    if not 0 <= strikes <= MAX_COUNT:
        return 1
    if not truce_units <= MAX_COUNT:
        return 2
    return -1


@inline
def indicator(o, i, times, year):
    """1 if option o's run is in state INDICATORS[i] at ``year`` days: the
    event within it (i < N_EVENTS), or at war then (no ceasefire yet, or a
    re-attack); else 0."""
    if i < N_EVENTS:
        return np.int64(times[o, i] < year)
    return np.int64(times[o, 0] >= year or times[o, 2] < year)


@jit
def set_fault(fault, kind, run, detail):
    fault[0] = kind
    fault[1] = run
    fault[2] = detail


@inline
def bin_of(edges, x):
    """The bin of x between ascending ``edges``: the number of edges below
    x, as np.searchsorted(edges, x) gives (a short loop compiles faster)."""
    b = 0
    while b < edges.shape[0] and edges[b] < x:
        b += 1
    return b


@jit
def transpose_hist(hist):
    """The day histograms (events, days, options) as (options, events,
    days): loops, since a transpose is slow to compile."""
    n_events, n_days, n_opt = hist.shape
    out = np.empty((n_opt, n_events, n_days), dtype=np.int32)
    for o in range(n_opt):
        for e in range(n_events):
            for d in range(n_days):
                out[o, e, d] = hist[e, d, o]
    return out


@jit
def run_options(run, kp, theta, run_values, tables, episodes, times, counts, days, strike_means, st, fault):
    """Every option's history of one run whose parameters are ``theta`` and
    whose run-level draws are prepared: event times into ``times``,
    violations and strikes into ``counts``, days into ``days``. A fault is
    set in ``fault`` (the run then stops at that option)."""
    options = kp.options
    key0 = kp.key0
    key1 = kp.key1
    frail = strength_truces(kp, theta)
    n_episodes = np.int64(run_values[N_EPISODES])
    for o in range(options.shape[0]):
        truce_days, war_days, collapses, truce_after = option_history(
            o, kp, theta, run_values, tables, episodes, times, days)
        kind = walk_fault(o, times, truce_days, war_days, collapses)
        if kind != NO_FAULT:
            set_fault(fault, kind, run, 0)
            return
        strike_means[o] = strike_mean(o, kp, theta, tables, times, truce_days, truce_after)
        same_violations, same_strikes = reused_draws(o, options, days, strike_means)
        if same_violations >= 0:
            violations = counts[same_violations, 0]
        else:
            rng.stream(st, key0, key1, run, STREAM_VIOLATIONS)
            if frail and truce_days > 0.0:
                # Each truce's own gamma-Poisson: its days' rate is W_j mu_truce.
                mean_violations = 0.0
                for j in range(min(collapses + 1, n_episodes)):
                    d = episodes[EP_DAYS, j]
                    if d > 0.0:
                        mean_violations += rng.gamma(st, d * theta[K_TRUCE],
                                                     episodes[EP_STRENGTH, j] * theta[MU_TRUCE] / theta[K_TRUCE])
            else:
                mean_violations = rng.gamma(st, truce_days * theta[K_TRUCE], theta[MU_TRUCE] / theta[K_TRUCE])
            mean_violations += rng.gamma(st, war_days * theta[K_WAR], theta[MU_WAR] / theta[K_WAR])
            violations = rng.poisson(st, mean_violations)
        if same_strikes >= 0:
            strikes = counts[same_strikes, 1]
        else:
            rng.stream(st, key0, key1, run, STREAM_STRIKES)
            strikes = rng.poisson(st, strike_means[o])
        count = count_fault(violations, strikes, truce_days / TRUCE_DAYS_UNIT + 0.5)
        if count >= 0:
            set_fault(fault, FAULT_COUNT, run, count)
            return
        counts[o, 0] = violations
        counts[o, 1] = strikes


@jit
def workspace(n_opt, kp):
    """The working arrays of a block: three generator states, the run's
    parameters, run values, episodes and rate tables, each option's times,
    counts, days and strike means, and the fault array."""
    return (np.zeros(rng.STATE_SIZE, dtype=np.uint64), np.zeros(rng.STATE_SIZE, dtype=np.uint64),
            np.zeros(rng.STATE_SIZE, dtype=np.uint64), np.empty(N_PARAMETERS), np.empty(N_RUN_VALUES),
            np.empty((N_EP_ROWS, 64)), new_tables(kp.force_levels.shape[0], kp.level_parameters),
            np.empty((n_opt, N_EVENTS)), np.empty((n_opt, 2), dtype=np.int64), np.empty((n_opt, N_DAYS)),
            np.empty(n_opt), np.zeros(FAULT_SIZE, dtype=np.int64))


@inline
def new_draw(run, run_start, runs_per_draw):
    """Whether run starts a new parameter draw (the first run of a block, or
    of a draw): runs draw * runs_per_draw ... share the draw's parameters."""
    return run == run_start or run % runs_per_draw == 0


@jit
def step(run, run_start, kp, st, st_gap, st_durable, theta, run_values, episodes, tables, times, counts, days,
         strike_means, fault):
    """One run of a block that starts at ``run_start``: the draw's
    parameters when the run starts a draw, the run's own draws, and every
    option's history (into the workspace arrays). Returns the episodes
    array (grown if the run needed more); a fault is left in ``fault``."""
    if new_draw(run, run_start, kp.runs_per_draw):
        bad = draw_parameters(theta, st, kp, run // kp.runs_per_draw)
        if bad >= 0:
            set_fault(fault, FAULT_PARAMETER, run, bad)
            return episodes
    episodes, kind = prepare_run(run_values, episodes, tables, st, st_gap, st_durable, kp, run, theta)
    if kind != NO_FAULT:
        set_fault(fault, kind, run, 0)
        return episodes
    run_options(run, kp, theta, run_values, tables, episodes, times, counts, days, strike_means, st, fault)
    return episodes


@jit
def draw_columns(n_years):
    """The columns of a draw's row of bins (see ``simulate``'s draw_rows)."""
    return 2 * N_INDICATORS * n_years + 2 * N_PAIRED_COUNTS + 2 * n_years


@jit
def simulate(kp, run_start, run_stop, sens_parameters, sens_edges, contrasts=True, draw_rows=False):
    """Simulate runs [run_start, run_stop) of every option of the kernel
    plan ``kp`` (``plan.KernelPlan``).

    ``contrasts`` False leaves the paired and per-draw tallies at 0 (only
    the side-by-side benchmark does, to measure what they cost).
    ``draw_rows`` True leaves the per-draw histograms (draw_hist, draw_diff,
    value_hist, after_hist) without options and returns instead each
    draw's bins, a row per draw (draws, n_options, draw_columns(n_years)):
    its runs with each headline outcome, that minus the baseline's plus
    runs_per_draw, its value bins, then per year its after-ceasefire bins
    of the level and of the difference. For a block of few draws that is
    far less memory than the histograms (``tallies.Bins``).

    Runs come in parameter draws of ``runs_per_draw``: run r has the
    parameters of draw r // runs_per_draw (drawn on that draw's streams) and
    its own run-level randomness; run_start and run_stop are multiples of
    runs_per_draw. ``kp.options`` is int64 (n_options, plan.OPTION_COLUMNS);
    its last row is the baseline of the paired differences. Returns day histograms
    (n_options, events, horizon + 1), moments (n_options, counts, 3),
    paired differences against the baseline (n_options, events * years + 2, 3),
    each moment being (sum, high and low 32-bit parts of the sum of squares),
    the after-ceasefire counts (n_options, years, 2: runs with T_c < H - y,
    and among them runs with T_a - T_c < y), for first-order sensitivity the sums of the headline outcomes by bin
    of each uncertain parameter ``sens_parameters`` (bins between
    ``sens_edges``): (parameters, bins, n_options, outcomes), with the runs
    per bin (parameters, bins); the draws by how many of their runs had each
    event within each year (n_options, events * years, runs_per_draw + 1),
    and by that number minus the baseline's (same, 2 * runs_per_draw + 1,
    offset runs_per_draw); and the fault array (kind, run, detail) of
    the first run that faulted (kind NO_FAULT if none; the block then stops
    there and its tallies are incomplete).
    """
    options = kp.options
    year_days = kp.year_days
    horizon = kp.horizon
    runs_per_draw = kp.runs_per_draw
    n_opt = options.shape[0]
    n_years = year_days.shape[0]
    n_headline = N_INDICATORS * n_years
    # Options are innermost: under common random numbers many options of a
    # run fall on the same day, so their counts share cache lines.
    hist = np.zeros((N_EVENTS, horizon + 1, n_opt), dtype=np.int32)
    moments = np.zeros((n_opt, N_COUNTS, 3), dtype=np.int64)
    paired = np.zeros((n_opt, n_headline + N_PAIRED_COUNTS, 3), dtype=np.int64)
    after_ceasefire = np.zeros((n_opt, n_years, 2), dtype=np.int64)
    dense = 0 if draw_rows else n_opt
    draw_hist = np.zeros((dense, n_headline, runs_per_draw + 1), dtype=np.int32)
    draw_diff = np.zeros((dense, n_headline, 2 * runs_per_draw + 1), dtype=np.int32)
    # Per draw, each option's runs with each indicator, and over the block
    # its runs whose indicator differs from the baseline's: options
    # innermost, so that the loop over options runs in vector lanes (the
    # paired sums of d come from in_draw when a draw closes; d being 0 or
    # +-1, the sum of d**2 is ``differ``).
    in_draw = np.zeros((n_headline, n_opt), dtype=np.int64)
    differ = np.zeros((n_headline, n_opt), dtype=np.int64)
    # Per draw: each paired count's draw mean (rows PAIRED_COUNTS) and its
    # paired difference (rows PAIRED_COUNTS + k), binned, with the draw's
    # within sum of squared deviations (the limbs of a moment, sum at 0).
    n_values = 2 * N_PAIRED_COUNTS
    value_hist = np.zeros((dense, n_values, VALUE_BINS), dtype=np.int32)
    value_noise = np.zeros((n_opt, n_values, 3), dtype=np.int64)
    value_sum = np.zeros((n_opt, n_values))
    value_sq = np.zeros((n_opt, n_values))
    # Per draw: the after-ceasefire counts (N_AFTER_DRAW); over draws their
    # binned ratios (level, difference to the baseline), noise and products.
    after_draw = np.zeros((n_opt, n_years, N_AFTER_DRAW), dtype=np.int64)
    after_hist = np.zeros((dense, n_years, 2, AFTER_BINS), dtype=np.int32)
    max_draws = (run_stop - run_start) // runs_per_draw + 1 if draw_rows else 0
    rows = np.zeros((max_draws, n_opt, draw_columns(n_years)), dtype=np.int32)
    rows_after = 2 * n_headline + n_values
    closed = 0
    after_noise = np.zeros((n_opt, n_years, 2, 3), dtype=np.int64)
    after_moments = np.zeros((n_opt, n_years, N_AFTER_MOMENTS), dtype=np.int64)
    run_value = np.empty((n_opt, N_PAIRED_COUNTS))
    run_war = np.empty(n_opt, dtype=np.int64)
    n_sens = sens_parameters.shape[0]
    n_bins = sens_edges.shape[1] + 1
    sens = np.zeros((n_sens, n_bins, n_opt, N_SENS_OUTCOMES), dtype=np.int64)
    sens_runs = np.zeros((n_sens, n_bins), dtype=np.int64)
    sens_year = year_days[SENS_YEAR_INDEX]
    draw_sens = np.zeros(n_opt * N_SENS_OUTCOMES, dtype=np.int64)
    nonzero = np.empty(n_opt * N_SENS_OUTCOMES, dtype=np.int64)
    draw_runs = 0
    (st, st_gap, st_durable, theta, run_values, episodes, tables, times, counts, days, strike_means,
     fault) = workspace(n_opt, kp)
    for run in range(run_start, run_stop):
        episodes = step(run, run_start, kp, st, st_gap, st_durable, theta, run_values, episodes, tables, times,
                        counts, days, strike_means, fault)
        if fault[0] != NO_FAULT:
            break
        for o in range(n_opt):
            war_units = np.int64(war_days(o, times, horizon) / TRUCE_DAYS_UNIT + 0.5)
            run_war[o] = war_units
            add_moment(moments[o, 0], counts[o, 0])
            add_moment(moments[o, 1], counts[o, 1])
            add_moment(moments[o, 2], np.int64(days[o, 0] / TRUCE_DAYS_UNIT + 0.5))
            add_moment(moments[o, 3], np.int64(days[o, 2]))
            add_moment(moments[o, WAR_DAYS], war_units)
            run_value[o, 0] = counts[o, 0]
            run_value[o, 1] = counts[o, 1]
            run_value[o, 2] = war_units * TRUCE_DAYS_UNIT

        base = n_opt - 1
        # Counted in a tight loop of their own: the scattered increments
        # then overlap their cache misses.
        for e in range(N_EVENTS):
            for o in range(n_opt):
                hist[e, day_bin(times[o, e], horizon), o] += 1
        if contrasts:
            k = 0
            for e in range(N_INDICATORS):
                for y in range(n_years):
                    year = year_days[y]
                    base_within = indicator(base, e, times, year)
                    for o in range(n_opt):
                        within = indicator(o, e, times, year)
                        in_draw[k, o] += within
                        differ[k, o] += within ^ base_within
                    k += 1
        for o in range(n_opt):
            if contrasts:
                k = n_headline
                add_moment(paired[o, k], counts[o, 0] - counts[base, 0])
                add_moment(paired[o, k + 1], counts[o, 1] - counts[base, 1])
                add_moment(paired[o, k + 2], run_war[o] - run_war[base])
                for j in range(N_PAIRED_COUNTS):
                    x = run_value[o, j]
                    d = x - run_value[base, j]
                    value_sum[o, j] += x
                    value_sq[o, j] += x * x
                    value_sum[o, N_PAIRED_COUNTS + j] += d
                    value_sq[o, N_PAIRED_COUNTS + j] += d * d
        for y in range(n_years):
            cb = np.int64(times[base, 0] < horizon - year_days[y])
            ab = cb * np.int64(times[base, 2] - times[base, 0] < year_days[y])
            for o in range(n_opt):
                c = np.int64(times[o, 0] < horizon - year_days[y])
                a = c * np.int64(times[o, 2] - times[o, 0] < year_days[y])
                after_ceasefire[o, y, 0] += c
                after_ceasefire[o, y, 1] += a
                if contrasts:
                    acc = after_draw[o, y]
                    acc[0] += a
                    acc[1] += c
                    acc[2] += a * ab
                    acc[3] += a * cb
                    acc[4] += c * ab
                    acc[5] += c * cb
        if contrasts and (run + 1) % runs_per_draw == 0:
            for o in range(n_opt):
                for k in range(n_headline):
                    if draw_rows:
                        rows[closed, o, k] = in_draw[k, o]
                        rows[closed, o, n_headline + k] = in_draw[k, o] - in_draw[k, base] + runs_per_draw
                    else:
                        draw_hist[o, k, in_draw[k, o]] += 1
                        draw_diff[o, k, in_draw[k, o] - in_draw[k, base] + runs_per_draw] += 1
            add_paired_indicators(paired, in_draw)
            for o in range(n_opt):
                for j in range(n_values):
                    mean = value_sum[o, j] / runs_per_draw
                    if draw_rows:
                        rows[closed, o, 2 * n_headline + j] = value_bin(mean)
                    else:
                        value_hist[o, j, value_bin(mean)] += 1
                    within_sq = max(value_sq[o, j] - value_sum[o, j] * mean, 0.0) * VALUE_NOISE_SCALE
                    if not within_sq < MAX_DRAW_NOISE:
                        set_fault(fault, FAULT_COUNT, run, PAIRED_COUNT_INDEX[j % N_PAIRED_COUNTS])
                    wide = np.int64(within_sq + 0.5)
                    value_noise[o, j, 1] += wide >> SPLIT
                    value_noise[o, j, 2] += wide & LOW32
                    value_sum[o, j] = 0.0
                    value_sq[o, j] = 0.0
            close_after_draw(after_draw, after_hist, after_noise, after_moments, rows[min(closed, max_draws - 1)]
                             if draw_rows else rows.reshape((0, 0)), rows_after)
            closed += 1
            if fault[0] != NO_FAULT:
                break

        # Sensitivity: the draw's outcome sums, added to the draw's bin of
        # each parameter when the draw (or the block) ends: its parameters,
        # and so its bins, are the same for all its runs.
        base_reattack = np.int64(times[base, 2] < sens_year)
        for o in range(n_opt):
            for q in range(N_EVENTS):
                draw_sens[o * N_SENS_OUTCOMES + q] += np.int64(times[o, q] < sens_year)
            draw_sens[o * N_SENS_OUTCOMES + SENS_DIFF_REATTACK] += np.int64(times[o, 2] < sens_year) - base_reattack
            draw_sens[o * N_SENS_OUTCOMES + SENS_WAR] += run_war[o]
            draw_sens[o * N_SENS_OUTCOMES + SENS_DIFF_WAR] += run_war[o] - run_war[base]
        draw_runs += 1
        if (run + 1) % runs_per_draw == 0 or run + 1 == run_stop:
            n_nonzero = 0
            for k in range(n_opt * N_SENS_OUTCOMES):
                if draw_sens[k] != 0:
                    nonzero[n_nonzero] = k
                    n_nonzero += 1
            for i in range(n_sens):
                b = bin_of(sens_edges[i], theta[sens_parameters[i]])
                sens_runs[i, b] += draw_runs
                flat = sens[i, b].reshape(n_opt * N_SENS_OUTCOMES)
                for j in range(n_nonzero):
                    flat[nonzero[j]] += draw_sens[nonzero[j]]
            for j in range(n_nonzero):
                draw_sens[nonzero[j]] = 0
            draw_runs = 0
    if contrasts:
        # A draw the block did not finish (none where blocks hold whole
        # draws, as config and plan require), and the runs that differ.
        add_paired_indicators(paired, in_draw)
        for k in range(n_headline):
            for o in range(n_opt):
                paired[o, k, 2] += differ[k, o]
    # The counts stay int32 (a block has at most config.MAX_BLOCK_RUNS =
    # 1e8 < 2**31 runs): half the memory of a block in flight; Tallies
    # widens them when it adds.
    return (transpose_hist(hist), moments, paired, after_ceasefire, sens, sens_runs,
            draw_hist, draw_diff, value_hist, value_noise, after_hist, after_noise, after_moments,
            rows[:closed], fault)


@jit
def replay_draws(kp, draw_start, draw_stop, thetas):
    """Replay parameter draws [draw_start, draw_stop) of a study, each with
    its runs draw * runs_per_draw + r (r < runs_per_draw), exactly as
    ``simulate`` computes them, and tally them per draw. With rows in
    ``thetas`` (draws, parameters) draw d takes row d - draw_start as its
    parameters instead of drawing them (the run-level randomness is the
    same). Returns each draw's parameters (draws, parameters), its runs with
    each event within each year (draws, n_options, events, years), its sums
    of the paired counts (draws, n_options, model.PAIRED_COUNTS; war days in
    TRUCE_DAYS_UNIT), and the fault array."""
    runs_per_draw = kp.runs_per_draw
    year_days = kp.year_days
    n_draws = draw_stop - draw_start
    options = kp.options
    n_opt = options.shape[0]
    n_years = year_days.shape[0]
    drawn = np.empty((n_draws, N_PARAMETERS))
    within = np.zeros((n_draws, n_opt, N_EVENTS, n_years), dtype=np.int64)
    count_sums = np.zeros((n_draws, n_opt, N_PAIRED_COUNTS), dtype=np.int64)
    (st, st_gap, st_durable, theta, run_values, episodes, tables, times, counts, days, strike_means,
     fault) = workspace(n_opt, kp)
    for i in range(n_draws):
        draw = draw_start + i
        if thetas.shape[0] > 0:
            for p in range(N_PARAMETERS):
                theta[p] = thetas[i, p]
            bad = check_parameters(theta)
        else:
            bad = draw_parameters(theta, st, kp, draw)
        for p in range(N_PARAMETERS):
            drawn[i, p] = theta[p]
        if bad >= 0:
            set_fault(fault, FAULT_PARAMETER, draw * runs_per_draw, bad)
            break
        for r in range(runs_per_draw):
            run = draw * runs_per_draw + r
            episodes, kind = prepare_run(run_values, episodes, tables, st, st_gap, st_durable, kp, run, theta)
            if kind != NO_FAULT:
                set_fault(fault, kind, run, 0)
                break
            run_options(run, kp, theta, run_values, tables, episodes, times, counts, days, strike_means, st, fault)
            if fault[0] != NO_FAULT:
                break
            for o in range(n_opt):
                for e in range(N_EVENTS):
                    for y in range(n_years):
                        within[i, o, e, y] += times[o, e] < year_days[y]
                count_sums[i, o, 0] += counts[o, 0]
                count_sums[i, o, 1] += counts[o, 1]
                count_sums[i, o, 2] += np.int64(war_days(o, times, kp.horizon) / TRUCE_DAYS_UNIT + 0.5)
        if fault[0] != NO_FAULT:
            break
    return drawn, within, count_sums, fault


@jit
def replay_runs(kp, run_start, run_stop):
    """Replay runs [run_start, run_stop) exactly as ``simulate`` computes
    them (run r has the parameters of draw r // runs_per_draw) and return
    them run by run: each option's flags of each indicator at each year
    (runs, n_options, model.INDICATORS * years) as int8, its paired counts
    (runs, n_options, model.PAIRED_COUNTS; war days in TRUCE_DAYS_UNIT), and the fault array. For pairing runs of two
    studies (``deterrence.compare``): memory grows with the block's runs."""
    options = kp.options
    year_days = kp.year_days
    n_runs = run_stop - run_start
    n_opt = options.shape[0]
    n_years = year_days.shape[0]
    flags = np.zeros((n_runs, n_opt, N_INDICATORS * n_years), dtype=np.int8)
    run_counts = np.zeros((n_runs, n_opt, N_PAIRED_COUNTS), dtype=np.int64)
    (st, st_gap, st_durable, theta, run_values, episodes, tables, times, counts, days, strike_means,
     fault) = workspace(n_opt, kp)
    for run in range(run_start, run_stop):
        episodes = step(run, run_start, kp, st, st_gap, st_durable, theta, run_values, episodes, tables, times,
                        counts, days, strike_means, fault)
        if fault[0] != NO_FAULT:
            break
        i = run - run_start
        for o in range(n_opt):
            for e in range(N_INDICATORS):
                for y in range(n_years):
                    flags[i, o, e * n_years + y] = indicator(o, e, times, year_days[y])
            run_counts[i, o, 0] = counts[o, 0]
            run_counts[i, o, 1] = counts[o, 1]
            run_counts[i, o, 2] = np.int64(war_days(o, times, kp.horizon) / TRUCE_DAYS_UNIT + 0.5)
    return flags, run_counts, fault


def cached() -> bool:
    """Whether ``simulate`` has compiled code in the numba cache folder
    (``rng.CACHE_DIR``): if not, the first block compiles the kernels, about
    15 s once per install, numba version and source change."""
    index = getattr(getattr(getattr(simulate, "_cache", None), "_cache_file", None), "_index_path", None)
    return index is not None and os.path.isfile(index)
