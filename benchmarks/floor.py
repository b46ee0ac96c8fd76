"""The RNG-only floor of the kernel, and micro-loops over the samplers.

The floor draws, for the same plan and run range, exactly the variates that
``deterrence.kernels.simulate`` draws -- the same streams, the same samplers
and the same shape and mean arguments -- and does nothing else: no history
walk, no tallies, only one checksum so the compiler cannot drop the work.
The kernel's efficiency is then ``floor time / kernel time``: the share of
the kernel's time spent on random numbers it cannot avoid.

The violation and strike draws take arguments that depend on each option's
history (days in truce and after a collapse). :func:`record` is an untimed,
kernel-equivalent pass that computes them (it calls the kernel's own
``draw_parameters`` and ``history``); :func:`floor` is the timed pass that
draws, per run, the parameters (from the same prior families, through the
kernel's ``draw_parameters``), the four run-level numbers, the recorded
number of truce-episode Exp(1)s from each episode stream, and per option the
two gammas and the Poisson of the violations and the Poisson of the strikes
-- only where the kernel draws them: it reuses an earlier option's violation
or strike draws when their inputs coincide, and ``record`` notes which
draws it makes.
Because the floor's draws are the kernel's draws, its violation and strike
sums equal the kernel's tallies exactly (:func:`floor` returns them so a
caller can check it); a mismatch means ``record`` no longer mirrors the
kernel.
"""

import math

import numpy as np
from numba import njit

from deterrence import kernels, rng
from deterrence.model import (
    DELTA_AID,
    DELTA_AIR_DEFENSE,
    DELTA_AIR_SUPPORT,
    DELTA_FORCE,
    DELTA_ISR,
    DEPLOY_LAG,
    E_COLLAPSE,
    F_SCALE,
    F_VETO,
    INTERCEPT_AIR_DEFENSE,
    INTERCEPT_AIR_SUPPORT,
    INTERCEPT_ISR,
    K_TRUCE,
    K_WAR,
    LAMBDA_A0,
    LAMBDA_C0,
    LAMBDA_HIT,
    LAMBDA_RETRUCE,
    LEV_ASSETS,
    LEV_SANCTIONS,
    M_COLLAPSE,
    MU_TRUCE,
    MU_WAR,
    N_PARAMETERS,
    NU,
    Q_REAR,
    SIGMA_TRUCE,
    SIGMA_WAR,
    STREAM_COLLAPSE,
    STREAM_RETRUCE,
    STREAM_RUN,
    STREAM_STRIKES,
    STREAM_VIOLATIONS,
    TRUCE_SCALE,
    TRUCE_SHAPE,
    W_REAR,
)

jit = njit(nogil=True, cache=True)
INF = np.inf


@jit
def record(key0, key1, run_start, run_stop, horizon, family, args, force_levels, options):
    """Untimed kernel-equivalent pass: per run the number of truce episodes
    the kernel draws, and per (run, option) the days in truce and after a
    collapse, the strike Poisson mean, exactly as the kernel computes them,
    and which draws the kernel makes (bit 1: violations, bit 2: strikes; the
    kernel reuses an earlier option's draws when their inputs coincide)."""
    n_runs = run_stop - run_start
    n_opt = options.shape[0]
    n_episodes = np.zeros(n_runs, dtype=np.int64)
    truce = np.empty((n_runs, n_opt))
    war = np.empty((n_runs, n_opt))
    strike_mean = np.empty((n_runs, n_opt))
    draws = np.zeros((n_runs, n_opt), dtype=np.int8)
    st = np.zeros(rng.STATE_SIZE, dtype=np.uint64)
    st_gap = np.zeros(rng.STATE_SIZE, dtype=np.uint64)
    theta = np.empty(N_PARAMETERS)
    cap = 64
    ep_base = np.empty(cap)
    ep_budget = np.empty(cap)
    ep_gap = np.empty(cap)
    days = np.empty((n_opt, 2))
    n_force = force_levels.shape[0]
    veto = np.empty(n_force)
    after_deploy = np.empty((n_force, 2, 4))
    lev_mult = np.empty(3)
    delta_support = np.empty(4)
    intercept = np.empty(4)
    for run in range(run_start, run_stop):
        i = run - run_start
        kernels.draw_parameters(theta, st, key0, key1, run, family, args)
        rng.stream(st, key0, key1, run, STREAM_RUN)
        e_ceasefire = rng.exponential(st)
        e_reattack = rng.exponential(st)
        u_trip = rng.uniform(st)
        e_hit = rng.exponential(st)
        scale = theta[TRUCE_SCALE]
        inv_shape = 1.0 / theta[TRUCE_SHAPE]
        w_rear = theta[W_REAR]
        m_contact = theta[M_COLLAPSE]
        m_rear = m_contact ** w_rear
        factor_contact = m_contact ** -inv_shape
        factor_rear = m_rear ** -inv_shape
        shortest = min(1.0, factor_contact, factor_rear)
        rng.stream(st, key0, key1, run, STREAM_COLLAPSE)
        rng.stream(st_gap, key0, key1, run, STREAM_RETRUCE)
        n_ep = 0
        span = 0.0
        while span < horizon:
            if n_ep == cap:
                cap *= 2
                ep_base = np.concatenate((ep_base, np.empty(n_ep)))
                ep_budget = np.concatenate((ep_budget, np.empty(n_ep)))
                ep_gap = np.concatenate((ep_gap, np.empty(n_ep)))
            budget = rng.exponential(st)
            ep_budget[n_ep] = budget
            ep_base[n_ep] = scale * budget ** inv_shape
            ep_gap[n_ep] = rng.exponential(st_gap) / theta[LAMBDA_RETRUCE]
            span += ep_base[n_ep] * shortest + ep_gap[n_ep]
            n_ep += 1
        n_episodes[i] = n_ep
        lev_mult[0] = 1.0
        lev_mult[1] = theta[LEV_SANCTIONS]
        lev_mult[2] = theta[LEV_ASSETS]
        delta_support[0] = 0.0
        delta_support[1] = theta[DELTA_ISR]
        delta_support[2] = theta[DELTA_AIR_DEFENSE]
        delta_support[3] = theta[DELTA_AIR_SUPPORT]
        intercept[0] = 0.0
        intercept[1] = theta[INTERCEPT_ISR]
        intercept[2] = theta[INTERCEPT_AIR_DEFENSE]
        intercept[3] = theta[INTERCEPT_AIR_SUPPORT]
        for f in range(n_force):
            troops = force_levels[f]
            veto[f] = (1.0 + troops / theta[F_VETO]) ** -theta[NU]
            force_effect = theta[DELTA_FORCE] * math.log1p(troops / theta[F_SCALE])
            for s in range(4):
                after_deploy[f, 0, s] = math.exp(-(force_effect * w_rear + delta_support[s]))
                after_deploy[f, 1, s] = math.exp(-(force_effect + delta_support[s]))
        for o in range(n_opt):
            f = options[o, 0]
            contact = options[o, 1] == 1
            immediate = options[o, 2] == 1
            support = options[o, 3]
            leverage = options[o, 4]
            same = options[o, 5]
            same_strikes = options[o, 6]
            t_ceasefire = e_ceasefire / (theta[LAMBDA_C0] * lev_mult[leverage] * veto[f])
            deployed = force_levels[f] > 0.0
            if same < o and not deployed:
                truce_days = days[same, 0]
                war_days = days[same, 1]
            else:
                t_deploy = INF
                if deployed:
                    t_deploy = theta[DEPLOY_LAG] if immediate else t_ceasefire + theta[DEPLOY_LAG]
                w_post = 1.0 if contact else w_rear
                reattack_rate = theta[LAMBDA_A0]
                if leverage == 2:
                    reattack_rate *= math.exp(-theta[DELTA_AID])
                _, _, truce_days, war_days, _ = kernels.history(
                    horizon, t_ceasefire, t_deploy, deployed, contact, immediate, w_post,
                    e_reattack, u_trip, e_hit, reattack_rate,
                    after_deploy[f, np.int64(contact), support],
                    theta[E_COLLAPSE], theta[Q_REAR], theta[LAMBDA_HIT], scale, inv_shape,
                    m_contact if contact else m_rear,
                    factor_contact if contact else factor_rear, ep_base, ep_budget, ep_gap)
            days[o, 0] = truce_days
            days[o, 1] = war_days
            truce[i, o] = truce_days
            war[i, o] = war_days
            flags = 0
            if not (same < o and truce_days == days[same, 0] and war_days == days[same, 1]):
                flags |= 1
            if not (same_strikes < o and truce_days == days[same_strikes, 0]):
                flags |= 2
            draws[i, o] = flags
            strike_days = theta[SIGMA_WAR] * (horizon - truce_days) + theta[SIGMA_TRUCE] * truce_days
            strike_mean[i, o] = (1.0 - intercept[support]) * strike_days
    return n_episodes, truce, war, strike_mean, draws


@jit
def floor(key0, key1, run_start, run_stop, family, args, n_episodes, truce, war, strike_mean,
          draws, same, same_strikes):
    """The timed RNG-only pass over runs [run_start, run_stop) (the arrays
    from :func:`record` of the same range). Returns a checksum of every
    variate and the violation and strike totals over all runs and options
    (counting a reused draw once per option, as the kernel's tallies do)."""
    n_opt = truce.shape[1]
    st = np.zeros(rng.STATE_SIZE, dtype=np.uint64)
    st_gap = np.zeros(rng.STATE_SIZE, dtype=np.uint64)
    theta = np.empty(N_PARAMETERS)
    checksum = 0.0
    total_violations = np.int64(0)
    total_strikes = np.int64(0)
    counts = np.zeros((n_opt, 2), dtype=np.int64)
    for run in range(run_start, run_stop):
        i = run - run_start
        kernels.draw_parameters(theta, st, key0, key1, run, family, args)
        checksum += theta[0]
        rng.stream(st, key0, key1, run, STREAM_RUN)
        checksum += rng.exponential(st) + rng.exponential(st) + rng.uniform(st) + rng.exponential(st)
        rng.stream(st, key0, key1, run, STREAM_COLLAPSE)
        rng.stream(st_gap, key0, key1, run, STREAM_RETRUCE)
        for _ in range(n_episodes[i]):
            checksum += rng.exponential(st) + rng.exponential(st_gap)
        k_truce = theta[K_TRUCE]
        k_war = theta[K_WAR]
        scale_truce = theta[MU_TRUCE] / k_truce
        scale_war = theta[MU_WAR] / k_war
        for o in range(n_opt):
            flags = draws[i, o]
            if flags & 1:
                rng.stream(st, key0, key1, run, STREAM_VIOLATIONS)
                mean = rng.gamma(st, truce[i, o] * k_truce, scale_truce)
                mean += rng.gamma(st, war[i, o] * k_war, scale_war)
                counts[o, 0] = rng.poisson(st, mean)
            else:
                counts[o, 0] = counts[same[o], 0]
            if flags & 2:
                rng.stream(st, key0, key1, run, STREAM_STRIKES)
                counts[o, 1] = rng.poisson(st, strike_mean[i, o])
            else:
                counts[o, 1] = counts[same_strikes[o], 1]
            total_violations += counts[o, 0]
            total_strikes += counts[o, 1]
    return checksum, total_violations, total_strikes


# Micro-loops over single samplers (ns per variate), one stream per loop.

@jit
def sum_uniforms(key0, key1, n):
    st = np.zeros(rng.STATE_SIZE, dtype=np.uint64)
    rng.stream(st, key0, key1, 0, 0)
    total = 0.0
    for _ in range(n):
        total += rng.uniform(st)
    return total


@jit
def sum_gammas(key0, key1, n, shape, scale):
    st = np.zeros(rng.STATE_SIZE, dtype=np.uint64)
    rng.stream(st, key0, key1, 0, 0)
    total = 0.0
    for _ in range(n):
        total += rng.gamma(st, shape, scale)
    return total


@jit
def sum_poissons(key0, key1, n, lam):
    st = np.zeros(rng.STATE_SIZE, dtype=np.uint64)
    rng.stream(st, key0, key1, 0, 0)
    total = np.int64(0)
    for _ in range(n):
        total += rng.poisson(st, lam)
    return total


@jit
def sum_negative_binomials(key0, key1, n, mean, k):
    st = np.zeros(rng.STATE_SIZE, dtype=np.uint64)
    rng.stream(st, key0, key1, 0, 0)
    total = np.int64(0)
    for _ in range(n):
        total += rng.negative_binomial(st, mean, k)
    return total


class Floor:
    """Record once (untimed), then time :meth:`run` on the same range."""

    def __init__(self, plan, run_start: int, run_stop: int):
        self.plan = plan
        self.start, self.stop = run_start, run_stop
        self.n_episodes, self.truce, self.war, self.strike_mean, self.draws = record(
            plan.key[0], plan.key[1], run_start, run_stop, plan.horizon, plan.family, plan.args,
            plan.force_levels, plan.options)
        self.same = np.ascontiguousarray(plan.options[:, 5])
        self.same_strikes = np.ascontiguousarray(plan.options[:, 6])

    def run(self):
        return floor(self.plan.key[0], self.plan.key[1], self.start, self.stop, self.plan.family,
                     self.plan.args, self.n_episodes, self.truce, self.war, self.strike_mean,
                     self.draws, self.same, self.same_strikes)

    @property
    def draw_share(self) -> tuple[float, float]:
        """Share of (run, option) pairs whose violations and strikes the kernel draws."""
        return float(np.mean(self.draws & 1)), float(np.mean((self.draws >> 1) & 1))


def check_against_kernel(plan, run_start: int, run_stop: int) -> tuple[bool, str]:
    """Whether the floor draws the kernel's variates: its violation and
    strike totals must equal the kernel's tallies on the same runs."""
    from deterrence import runner

    tallies = runner.run_block(plan, run_start, run_stop)
    _, violations, strikes = Floor(plan, run_start, run_stop).run()
    kv = int(tallies.moments[:, 0, 0].sum())
    ks = int(tallies.moments[:, 1, 0].sum())
    ok = kv == violations and ks == strikes
    return ok, (f"violations floor {violations} kernel {kv}, strikes floor {strikes} kernel {ks}")
