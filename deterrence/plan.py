"""A study as plain arrays for the kernels: options, priors, levels, blocks.

The plan is the one owner of the kernels' input layout: the columns of the
options array (OPTION_COLUMNS) and the table mapping each policy level to its
per-level parameter (``Plan.level_parameters``). The kernels, the NumPy
reference and the benchmarks read these by name. No numba here: a result
file can be opened, and a study planned, without compiling anything.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from deterrence import UserError, priors
from deterrence.config import Config, Option
from deterrence.model import (
    CHOICES,
    LEVEL_PARAMETERS,
    LEVELS,
    PARAMETER_NAMES,
    PARAMETER_STREAMS,
    REFERENCE_LEVELS,
    SENSITIVITY_BINS,
    YEARS,
    choice,
    level_name,
)

# Columns of the options array: the force level's index in
# ``Plan.force_levels``, 1 on the contact line, 1 for immediate deployment,
# the support and leverage levels' indices in model.LEVELS, then the earliest
# options with the same history-determining and strike-determining levels
# (the kernel reuses their results when they coincide).
OPTION_COLUMNS = ("force", "contact", "immediate", "support", "leverage", "same_history", "same_strikes")
(OPT_FORCE, OPT_CONTACT, OPT_IMMEDIATE, OPT_SUPPORT, OPT_LEVERAGE, OPT_SAME_HISTORY,
 OPT_SAME_STRIKES) = (OPTION_COLUMNS.index(c) for c in (
    "force", "contact", "immediate", "support", "leverage", "same_history", "same_strikes"))
# Axis levels whose index is a 0/1 flag in the options array.
FLAGS = {"posture": "contact_line", "deploy_rule": "immediate"}


class KernelPlan(NamedTuple):
    """What the kernels read of a plan, in one argument (numba takes a named
    tuple as a record): the Philox key, the horizon (days), runs per
    parameter draw, each parameter's prior family, hyperparameters and
    permanent stream id (model.STREAMS), the force levels (troops), the
    options array, the year marks (days), the level table and the [model]
    choices (see :class:`Plan`)."""
    key0: int
    key1: int
    horizon: int
    runs_per_draw: int
    family: np.ndarray
    args: np.ndarray
    streams: np.ndarray
    force_levels: np.ndarray
    options: np.ndarray
    year_days: np.ndarray
    level_parameters: np.ndarray
    choices: np.ndarray


STREAM_IDS = np.array(PARAMETER_STREAMS, dtype=np.int64)


@dataclass(frozen=True)
class Plan:
    """Everything a block needs, as plain arrays (cheap to send to workers)."""
    key: tuple[int, int]
    horizon: int
    family: np.ndarray
    args: np.ndarray
    force_levels: np.ndarray
    options: np.ndarray
    grid_rows: np.ndarray
    year_days: np.ndarray
    runs: int
    block_runs: int
    # Runs per draw of the uncertain parameters: run r has draw r // runs_per_draw.
    runs_per_draw: int
    sensitivity_parameters: np.ndarray
    sensitivity_edges: np.ndarray
    # (LEVEL_PARAMETERS, levels): the parameter index of each level of the
    # stem's axis (as indexed in the options array), -1 for the neutral
    # reference level and for columns past the axis's levels.
    level_parameters: np.ndarray
    # The config's [model] choices, each as its code (model.MODEL_CHOICES),
    # in the order of model.CHOICES (the kernel reads CHOICE_VETO and CHOICE_TRUCES).
    choices: np.ndarray

    @property
    def kernel(self) -> KernelPlan:
        return KernelPlan(int(self.key[0]), int(self.key[1]), int(self.horizon), int(self.runs_per_draw),
                          self.family, self.args, STREAM_IDS, self.force_levels, self.options, self.year_days,
                          self.level_parameters, self.choices)

    @property
    def blocks(self) -> list[tuple[int, int]]:
        return [(start, min(start + self.block_runs, self.runs))
                for start in range(0, self.runs, self.block_runs)]


def seed_key(seed: int) -> tuple[int, int]:
    """The two Philox key words of a study seed (a non-negative 64-bit int)."""
    return seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF


def year_days(years=YEARS) -> np.ndarray:
    """Whole days in 1, 2, 5 years (365.25 days a year, rounded)."""
    return np.array([round(365.25 * y) for y in years], dtype=np.int64)


def level_parameters() -> np.ndarray:
    """The level table of :class:`Plan` from model.LEVELS: every level but
    its axis's reference level must have its parameter."""
    width = max(len(LEVELS[lp.axis]) for lp in LEVEL_PARAMETERS)
    table = np.full((len(LEVEL_PARAMETERS), width), -1, dtype=np.int64)
    for row, lp in enumerate(LEVEL_PARAMETERS):
        for column, level in enumerate(LEVELS[lp.axis]):
            if level != REFERENCE_LEVELS[lp.axis]:
                table[row, column] = PARAMETER_NAMES.index(level_name(lp.stem, level))
    return table


def make_plan(config: Config, block_runs: int | None = None) -> Plan:
    """Encode a config's options (baseline appended last) and priors.

    The kernel sees the grid options sorted so that options sharing a
    ceasefire time (same leverage and force) and a deployment time (same
    deployment rule besides) are neighbours: their day-histogram counts then
    share cache lines. ``Plan.grid_rows`` maps grid order to kernel rows."""
    grid = config.options
    order = sorted(range(len(grid)), key=lambda i: (LEVELS["leverage"].index(grid[i].leverage),
                                                     grid[i].force_size,
                                                     LEVELS["deploy_rule"].index(grid[i].deploy_rule), i))
    options = [grid[i] for i in order] + [config.study.baseline]
    grid_rows = np.empty(len(grid), dtype=np.int64)
    grid_rows[order] = np.arange(len(grid))
    rows, force_levels = encode_options(options)
    family, args = priors.encode(config.priors)
    uncertain = [i for i, p in enumerate(config.priors) if p.dist != "fixed"]
    rpd = config.study.runs_per_draw
    block_runs = block_runs or config.study.block_runs
    if block_runs % rpd:
        raise UserError(f"block_runs ({block_runs:,}) must be a multiple of study.runs_per_draw ({rpd:,})")
    edges = np.array([priors.quantile_edges(config.priors[i], SENSITIVITY_BINS) for i in uncertain])
    return Plan(key=seed_key(config.study.seed), horizon=config.study.horizon_days,
                family=family, args=args, force_levels=force_levels, options=rows, grid_rows=grid_rows,
                year_days=year_days(),
                runs=config.study.runs, block_runs=block_runs, runs_per_draw=rpd,
                sensitivity_parameters=np.array(uncertain, dtype=np.int64),
                sensitivity_edges=edges.reshape(len(uncertain), SENSITIVITY_BINS - 1),
                level_parameters=level_parameters(),
                choices=np.array([choice(key, config.choices[key]).code for key in CHOICES], dtype=np.int64))


def encode_options(options: list[Option]) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's options array (OPTION_COLUMNS) of ``options`` in their
    order, and the force levels it indexes."""
    force_levels = sorted({o.force_size for o in options})
    # The earliest option with the same history-determining levels (without
    # a force only leverage matters), and with the same support besides.
    history_keys = [(o.leverage,) if o.force_size == 0 else (o.force_size, o.posture, o.deploy_rule, o.leverage)
                    for o in options]
    strike_keys = [key + (o.support,) for key, o in zip(history_keys, options, strict=True)]
    rows = [_option_row(o, force_levels, history_keys.index(h), strike_keys.index(k))
            for o, h, k in zip(options, history_keys, strike_keys, strict=True)]
    return np.array(rows, dtype=np.int64), np.array(force_levels, dtype=np.float64)


def _option_row(option: Option, force_levels: list, same_history: int, same_strikes: int) -> list[int]:
    values = {"force": force_levels.index(option.force_size),
              "contact": int(option.posture == FLAGS["posture"]),
              "immediate": int(option.deploy_rule == FLAGS["deploy_rule"]),
              "support": LEVELS["support"].index(option.support),
              "leverage": LEVELS["leverage"].index(option.leverage),
              "same_history": same_history, "same_strikes": same_strikes}
    return [values[column] for column in OPTION_COLUMNS]
