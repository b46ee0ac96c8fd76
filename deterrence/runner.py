"""Plan a study into blocks of runs and compute them on local cores.

The runner knows nothing of the model's equations: it hands arrays to the
kernel and adds the tallies it returns.
"""

import os
from itertools import islice
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from deterrence import kernels, priors, rng
from deterrence.config import Config, Option
from deterrence.model import DEPLOY_RULES, LEVERAGES, POSTURES, SUPPORTS, YEARS
from deterrence.tallies import Tallies


@dataclass(frozen=True)
class Plan:
    """Everything a block needs, as plain arrays (cheap to send to workers)."""
    key: tuple[int, int]
    horizon: int
    family: np.ndarray
    args: np.ndarray
    force_levels: np.ndarray
    options: np.ndarray
    year_days: np.ndarray
    runs: int
    block_runs: int

    @property
    def blocks(self) -> list[tuple[int, int]]:
        return [(start, min(start + self.block_runs, self.runs))
                for start in range(0, self.runs, self.block_runs)]


def year_days(years=YEARS) -> np.ndarray:
    """Whole days in 1, 2, 5 years (365.25 days a year, rounded)."""
    return np.array([round(365.25 * y) for y in years], dtype=np.int64)


def make_plan(config: Config, block_runs: int | None = None) -> Plan:
    """Encode a config's options (baseline appended last) and priors."""
    options = config.options + [config.study.baseline]
    force_levels = sorted({o.force_size for o in options})
    rows = [_option_row(o, force_levels) for o in options]
    family, args = priors.encode(config.priors)
    return Plan(key=rng.seed_key(config.study.seed), horizon=config.study.horizon_days,
                family=family, args=args, force_levels=np.array(force_levels, dtype=np.float64),
                options=np.array(rows, dtype=np.int64), year_days=year_days(),
                runs=config.study.runs, block_runs=block_runs or config.study.block_runs)


def _option_row(option: Option, force_levels: list[int]) -> list[int]:
    return [force_levels.index(option.force_size), POSTURES.index(option.posture),
            DEPLOY_RULES.index(option.deploy_rule), SUPPORTS.index(option.support),
            LEVERAGES.index(option.leverage)]


def run_block(plan: Plan, start: int, stop: int) -> Tallies:
    """Tallies of runs [start, stop)."""
    hist, moments, paired = kernels.simulate(
        plan.key[0], plan.key[1], start, stop, plan.horizon, plan.family, plan.args,
        plan.force_levels, plan.options, plan.year_days)
    return Tallies(stop - start, hist, moments, paired)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def progress(plan: Plan, done_runs: int = 0, disable: bool | None = None) -> tqdm:
    """A progress bar over runs: blocks done, runs per second, time left."""
    return tqdm(total=plan.runs, initial=done_runs, unit="run", unit_scale=True,
                dynamic_ncols=True, disable=disable, desc="runs")


def run_local(plan: Plan, workers: int | None = None, show_progress: bool | None = None) -> Tallies:
    """All blocks on local threads (the kernel releases the GIL), at most
    two blocks in flight per worker so memory stays flat."""
    workers = workers or default_workers()
    pending = iter(plan.blocks)
    total = None
    with ThreadPoolExecutor(max_workers=workers) as pool, \
            progress(plan, disable=None if show_progress is None else not show_progress) as bar:
        in_flight = {pool.submit(run_block, plan, *block) for block in islice(pending, 2 * workers)}
        while in_flight:
            done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                tallies = future.result()
                total = tallies if total is None else total.__iadd__(tallies)
                bar.update(tallies.runs)
                in_flight |= {pool.submit(run_block, plan, *block) for block in islice(pending, 1)}
    return total
