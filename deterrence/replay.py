"""Replay parameter draws of a study, per draw, without storing any run.

A run is a pure function of (seed, run index, option), and runs come in
parameter draws (``study.runs_per_draw``): draw d holds runs
d * n ... d * n + n - 1. :func:`replay` recomputes draws for any options
(the kernel's own code, ``kernels.replay_draws``) and returns per draw its
parameters and its runs with each event within each year, and its sums of
violations and strikes: the conditional expectations E[Y | theta] that
``compare``, ``explain``, ``decide`` and the sensitivity indices work from.
Memory grows with the draws, never with the runs of a draw.

Draws are cut into blocks computed on local threads or a dask client; the
per-draw sums are exact integers, so the result is the same for any block
size and worker count.
"""

import dataclasses
from dataclasses import dataclass

import numpy as np

from deterrence import UserError, clusters, kernels, runner
from deterrence.config import Config, Option
from deterrence.model import (
    AXES,
    COUNTS,
    EVENTS,
    INDICATORS,
    MAX_RUNS,
    PAIRED_COUNTS,
    PARAMETER_NAMES,
    YEARS,
)
from deterrence.plan import Plan, encode_options, make_plan

# Memory a command may take for its replayed draws (parameters and per-draw
# tallies, held twice while the blocks are joined): checked before anything
# is allocated, as a study's tallies are (config.MAX_TALLY_BYTES).
MAX_REPLAY_BYTES = 2 * 1024**3


def check_memory(draws: int, n_options: int, asked: str) -> None:
    """Refuse, in one line naming what was ``asked`` (e.g. ``--draws 10,000``),
    a replay of ``draws`` draws of ``n_options`` options beyond MAX_REPLAY_BYTES."""
    need = 2 * 8 * draws * (len(PARAMETER_NAMES) + n_options * (len(INDICATORS) * len(YEARS) + len(COUNTS)))
    if need > MAX_REPLAY_BYTES:
        raise UserError(f"{asked} of {n_options:,} options would hold {need / 1024**3:,.1f} GiB of per-draw "
                        f"tallies, above the {MAX_REPLAY_BYTES // 1024**3} GiB limit; lower --draws or give "
                        f"fewer options")


@dataclass(frozen=True)
class Draws:
    """Per-draw tallies of replayed draws [first, first + len) of some options.

    ``theta`` (draws, parameters) in model.PARAMETER_NAMES order; ``within``
    (draws, options, events, years): runs of the draw with the event within
    the year; ``counts`` (draws, options, model.PAIRED_COUNTS): sums of
    violations, strikes and days at war (in TRUCE_DAYS_UNIT);
    ``runs_per_draw`` runs each."""
    options: tuple[Option, ...]
    first: int
    runs_per_draw: int
    theta: np.ndarray
    within: np.ndarray
    counts: np.ndarray

    def probability(self, event: str, years: int) -> np.ndarray:
        """(draws, options): each draw's estimate of P(event within years | theta);
        ``event`` is a model.EVENTS entry or an outcome name (``reattack``)."""
        return self.within[:, :, event_index(event), YEARS.index(years)] / self.runs_per_draw

    def totals(self, key: str) -> tuple[np.ndarray, float]:
        """(draws, options) totals over each draw's runs of the measure
        ``key`` (outcomes.parse_measure: ``reattack_2y``, ``war_days``), and
        the unit one total counts in: runs with the event within the years,
        or the count's sum (days at war in TRUCE_DAYS_UNIT)."""
        from deterrence import outcomes
        name, years = outcomes.parse_measure(key, states=False)
        if years is not None:
            return self.within[:, :, event_index(name), YEARS.index(years)], 1.0
        o = outcomes.outcome(name)
        return self.counts[:, :, PAIRED_COUNTS.index(o.tally)], o.scale

    def estimate(self, key: str) -> np.ndarray:
        """(draws, options): each draw's estimate of the measure ``key`` given
        its parameters (a probability, or a mean per run in the count's unit)."""
        total, unit = self.totals(key)
        return total * unit / self.runs_per_draw

    def parameter(self, name: str) -> np.ndarray:
        return self.theta[:, PARAMETER_NAMES.index(name)]


def event_index(event: str) -> int:
    """The index in model.EVENTS of an event or outcome name; UserError for an unknown one."""
    from deterrence import outcomes
    names = {o.name: o.tally for o in outcomes.events()}
    tally = names.get(event, event)
    if tally not in EVENTS:
        raise UserError(f"unknown event {event!r}; events: {', '.join(names)}")
    return EVENTS.index(tally)


def options_plan(config: Config, options: list[Option]) -> Plan:
    """A plan whose kernel rows are ``options`` in the given order (no
    baseline row is added beyond them)."""
    plan = make_plan(dataclasses.replace(config, grid={a: (getattr(options[0], a),) for a in AXES}))
    rows, force_levels = encode_options(options)
    return dataclasses.replace(plan, options=rows, force_levels=force_levels, grid_rows=np.arange(len(options)))


def replay_block(plan: Plan, first: int, stop: int, thetas: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Draws [first, stop) of ``plan``: (theta, within, counts). ``thetas``
    (stop - first, parameters) replaces the drawn parameters."""
    given = np.empty((0, len(PARAMETER_NAMES))) if thetas is None else np.ascontiguousarray(thetas, dtype=float)
    theta, within, counts, fault = kernels.replay_draws(plan.kernel, first, stop, given)
    if fault[0] != kernels.NO_FAULT:
        raise UserError(runner.fault_message(plan, *(int(x) for x in fault)))
    return theta, within, counts


def replay(config: Config, options: list[Option], draws: int, first: int = 0, runs_per_draw: int | None = None,
           thetas: np.ndarray | None = None, block_draws: int | None = None, workers: int | None = None,
           client=None, show_progress: bool | None = None) -> Draws:
    """Replay ``draws`` parameter draws from draw ``first`` of ``options``
    under ``config`` (its seed, priors and model choices): the runs are
    those of a study with ``runs_per_draw`` (default the config's). With
    ``thetas`` (draws, parameters) each draw takes its row as parameters
    instead. Computed in blocks of ``block_draws`` on local threads or on a
    dask ``client``; the result does not depend on either."""
    rpd = runs_per_draw or config.study.runs_per_draw
    if draws <= 0:
        raise UserError(f"draws must be a positive integer, got {draws}")
    if (first + draws) * rpd > MAX_RUNS:
        raise UserError(f"{first + draws:,} draws of {rpd:,} runs pass the {MAX_RUNS:,} runs a study may have")
    check_memory(draws, len(options), f"{draws:,} draws")
    if thetas is not None and np.shape(thetas) != (draws, len(PARAMETER_NAMES)):
        raise ValueError(f"thetas must be (draws, parameters) = ({draws}, {len(PARAMETER_NAMES)})")
    plan = dataclasses.replace(options_plan(config, options), runs_per_draw=rpd)
    block_draws = block_draws or max(1, min(draws, 20_000 // (rpd * len(options)) + 1))
    blocks = [(start, min(start + block_draws, draws)) for start in range(0, draws, block_draws)]

    bar = runner.tqdm(total=draws * rpd, unit="run", unit_scale=True, desc="replay", dynamic_ncols=True,
                      disable=show_progress is False or (show_progress is None and draws * rpd < 200_000))
    parts = [None] * len(blocks)
    try:
        for position, part in clusters.map_blocks(
                replay_block, plan, [(first + a, first + b, None if thetas is None else thetas[a:b])
                                     for a, b in blocks], client, workers, name="replay"):
            parts[position] = part
            bar.update(part[0].shape[0] * rpd)
    finally:
        bar.close()
    theta, within, counts = (np.concatenate(arrays) for arrays in zip(*parts, strict=True))
    return Draws(tuple(options), first, rpd, theta, within, counts)


def halves(config: Config, options: list[Option], draws: int, runs_per_draw: int, first: int = 0,
           **kwargs) -> Draws:
    """Draws [first, first + draws) each as two half-draws of
    ``runs_per_draw`` / 2 runs with the draw's parameters: half-draw 2 d + h
    holds runs d n + h n / 2 ... of draw d, so together they are exactly the
    runs of a study with ``runs_per_draw`` n, and the two halves give an
    unbiased estimate of a draw's noise. ``runs_per_draw`` is even; other
    arguments as for :func:`replay`. Returns 2 ``draws`` half-draws."""
    if runs_per_draw % 2:
        raise UserError(f"--runs-per-draw must be even (each draw's noise comes from two halves of its runs), "
                        f"got {runs_per_draw}")
    check_memory(2 * draws, len(options), f"--draws {draws:,}")
    # A draw's parameters depend on its index only, not on its runs.
    theta = replay(config, options[:1], draws, first, runs_per_draw=1, workers=kwargs.get("workers"),
                   client=kwargs.get("client"), show_progress=False).theta
    return replay(config, options, 2 * draws, 2 * first, runs_per_draw=runs_per_draw // 2,
                  thetas=np.repeat(theta, 2, axis=0), **kwargs)
