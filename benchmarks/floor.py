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
``draw_parameters``, ``prepare_run``, ``option_history`` and
``reused_draws``); :func:`floor` is the timed pass that
draws, per run, the parameters (from the same prior families, through the
kernel's ``draw_parameters``), the four run-level numbers, the engagement
Exp(1) and the episodes' durability uniforms where the kernel draws them,
the recorded number of truce-episode Exp(1)s from each episode stream, and per option the
two gammas and the Poisson of the violations and the Poisson of the strikes
-- only where the kernel draws them: it reuses an earlier option's violation
or strike draws when their inputs coincide, and ``record`` notes which
draws it makes.
Because the floor's draws are the kernel's draws, its violation and strike
sums equal the kernel's tallies exactly (:func:`floor` returns them so a
caller can check it); a mismatch means ``record`` no longer mirrors the
kernel.
"""


from pathlib import Path

import numpy as np
from numba import njit

from deterrence import kernels, rng
from deterrence.model import (
    K_TRUCE,
    K_WAR,
    MU_TRUCE,
    MU_WAR,
    N_PARAMETERS,
    STREAM_COLLAPSE,
    STREAM_DURABLE,
    STREAM_ENGAGE,
    STREAM_RETRUCE,
    STREAM_RUN,
    STREAM_STRIKES,
    STREAM_VIOLATIONS,
)
from deterrence.plan import OPT_SAME_HISTORY, OPT_SAME_STRIKES

# Cached beside the kernels, in the folder keyed on their sources: this
# file's own timestamp does not change when the kernels it calls do.
rng.CACHED_FOLDERS.add(Path(__file__).resolve().parent)
jit = njit(nogil=True, cache=True)
INF = np.inf


@jit
def record(kp, run_start, run_stop):
    """Untimed kernel-equivalent pass, through the kernel's own functions:
    per run the number of truce episodes the kernel draws, and per (run,
    option) the days in truce and after a collapse, the strike Poisson mean,
    and which draws the kernel makes (bit 1: violations, bit 2: strikes; the
    kernel reuses an earlier option's draws when their inputs coincide)."""
    options = kp.options
    runs_per_draw = kp.runs_per_draw
    n_runs = run_stop - run_start
    n_opt = options.shape[0]
    n_episodes = np.zeros(n_runs, dtype=np.int64)
    truce = np.empty((n_runs, n_opt))
    war = np.empty((n_runs, n_opt))
    strike_mean = np.empty((n_runs, n_opt))
    draws = np.zeros((n_runs, n_opt), dtype=np.int8)
    st = np.zeros(rng.STATE_SIZE, dtype=np.uint64)
    st_gap = np.zeros(rng.STATE_SIZE, dtype=np.uint64)
    st_durable = np.zeros(rng.STATE_SIZE, dtype=np.uint64)
    theta = np.empty(N_PARAMETERS)
    run_values = np.empty(kernels.N_RUN_VALUES)
    episodes = np.empty((kernels.N_EP_ROWS, 64))
    tables = kernels.new_tables(kp.force_levels.shape[0], kp.level_parameters)
    times = np.empty((n_opt, kernels.N_EVENTS))
    days = np.empty((n_opt, kernels.N_DAYS))
    for run in range(run_start, run_stop):
        i = run - run_start
        if kernels.new_draw(run, run_start, runs_per_draw):
            kernels.draw_parameters(theta, st, kp, run // runs_per_draw)
        episodes, _ = kernels.prepare_run(run_values, episodes, tables, st, st_gap, st_durable, kp, run, theta)
        n_episodes[i] = np.int64(run_values[kernels.N_EPISODES])
        for o in range(n_opt):
            truce_days, war_days, _, truce_after = kernels.option_history(
                o, kp, theta, run_values, tables, episodes, times, days)
            truce[i, o] = truce_days
            war[i, o] = war_days
            strike_mean[i, o] = kernels.strike_mean(o, kp, theta, tables, times, truce_days, truce_after)
            same_violations, same_strikes = kernels.reused_draws(o, options, days, strike_mean[i])
            draws[i, o] = (1 if same_violations < 0 else 0) | (2 if same_strikes < 0 else 0)
    return n_episodes, truce, war, strike_mean, draws


@jit
def floor(kp, run_start, run_stop, n_episodes, truce, war, strike_mean, draws, same, same_strikes):
    """The timed RNG-only pass over runs [run_start, run_stop) (the arrays
    from :func:`record` of the same range). Returns a checksum of every
    variate and the violation and strike totals over all runs and options
    (counting a reused draw once per option, as the kernel's tallies do)."""
    key0 = kp.key0
    key1 = kp.key1
    runs_per_draw = kp.runs_per_draw
    n_opt = truce.shape[1]
    st = np.zeros(rng.STATE_SIZE, dtype=np.uint64)
    st_gap = np.zeros(rng.STATE_SIZE, dtype=np.uint64)
    st_durable = np.zeros(rng.STATE_SIZE, dtype=np.uint64)
    theta = np.empty(N_PARAMETERS)
    checksum = 0.0
    total_violations = np.int64(0)
    total_strikes = np.int64(0)
    counts = np.zeros((n_opt, 2), dtype=np.int64)
    for run in range(run_start, run_stop):
        i = run - run_start
        if kernels.new_draw(run, run_start, runs_per_draw):
            kernels.draw_parameters(theta, st, kp, run // runs_per_draw)
        checksum += theta[0]
        rng.stream(st, key0, key1, run, STREAM_RUN)
        checksum += rng.exponential(st) + rng.exponential(st) + rng.uniform(st) + rng.exponential(st)
        if kernels.draws_engage(theta):
            rng.stream(st, key0, key1, run, STREAM_ENGAGE)
            checksum += rng.exponential(st)
        rng.stream(st, key0, key1, run, STREAM_COLLAPSE)
        rng.stream(st_gap, key0, key1, run, STREAM_RETRUCE)
        durable = kernels.draws_durable(theta)
        if durable:
            rng.stream(st_durable, key0, key1, run, STREAM_DURABLE)
        for _ in range(n_episodes[i]):
            checksum += rng.exponential(st) + rng.exponential(st_gap)
            if durable:
                checksum += rng.uniform(st_durable)
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
            plan.kernel, run_start, run_stop)
        self.same = np.ascontiguousarray(plan.options[:, OPT_SAME_HISTORY])
        self.same_strikes = np.ascontiguousarray(plan.options[:, OPT_SAME_STRIKES])

    def run(self):
        return floor(self.plan.kernel, self.start, self.stop, self.n_episodes, self.truce, self.war,
                     self.strike_mean, self.draws, self.same, self.same_strikes)

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
