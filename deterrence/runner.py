"""Compute a study's blocks of runs (`run`) through the one map over blocks
(``clusters.sum_blocks``: on a Dask client, blocks added up on the
workers), on local threads or a Dask client (the client comes from
``clusters.backend``), with
checkpoints, resume, preemption and ``--target-se``; also the pieces the
replays share: a kernel fault in words (`fault_message`) and the progress
bar.

The runner knows nothing of the model's equations: it hands the plan's
kernel tuple (``plan.kernel``) to the kernel and adds the tallies it returns
(``tallies.Tallies``, exact integer sums in a fixed order).
"""

import hashlib
import json
import operator
import os
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from deterrence import UserError, clusters, epistemic, families, kernels, outcomes, rng
from deterrence.model import (
    AFTER_BINS,
    COUNTS,
    EVENTS,
    INDICATORS,
    N_PARAMETERS,
    PAIRED_COUNTS,
    PARAMETER_NAMES,
    SENSITIVITY_YEAR,
    VALUE_BINS,
    YEARS,
)
from deterrence.plan import Plan
from deterrence.tallies import DRAW_ROWS, Bins, Tallies, moment_sums

SENSITIVITY_YEAR_INDEX = YEARS.index(SENSITIVITY_YEAR)


def run_block(plan: Plan, start: int, stop: int) -> Tallies:
    """Tallies of runs [start, stop); a run the kernel cannot compute
    exactly raises UserError (see :func:`fault_message`)."""
    draws = (stop - start) // plan.runs_per_draw
    rows = per_draw_rows(plan, draws)
    *arrays, bins, fault = kernels.simulate(plan.kernel, start, stop, plan.sensitivity_parameters,
                                            plan.sensitivity_edges, True, rows)
    if fault[0] != kernels.NO_FAULT:
        raise UserError(fault_message(plan, *(int(x) for x in fault)))
    tallies = Tallies(stop - start, *arrays)
    if rows:
        n_opt = len(plan.kernel.options)
        column = 0
        for name in DRAW_ROWS:
            shape = (n_opt, *getattr(tallies, name).shape[1:])
            n_rows = int(np.prod(shape[1:-1]))
            setattr(tallies, name, Bins.of_rows(shape, bins[:, :, column:column + n_rows]))
            column += n_rows
    return tallies


def per_draw_rows(plan: Plan, draws: int) -> bool:
    """Whether a block of ``draws`` parameter draws returns its per-draw
    histograms as each draw's bins (``tallies.Bins``): where those take less
    than a quarter of the dense histograms' entries."""
    n_years = len(plan.year_days)
    dense = (len(INDICATORS) * n_years * (3 * plan.runs_per_draw + 2)
             + 2 * len(PAIRED_COUNTS) * VALUE_BINS + 2 * n_years * AFTER_BINS)
    return 4 * draws * kernels.draw_columns(n_years) < dense


def fault_message(plan: Plan, kind: int, run: int, detail: int) -> str:
    """One line: the run, what it could not compute, the parameters it drew
    that steer it, and which priors to narrow."""
    theta = np.empty(N_PARAMETERS)
    kernels.draw_parameters(theta, rng.new_state(), plan.kernel, run // plan.runs_per_draw)
    what, names = kernels.FAULTS[kind]
    if kind == kernels.FAULT_PARAMETER:
        names = (PARAMETER_NAMES[detail],)
    elif kind == kernels.FAULT_COUNT:
        what = f"has {COUNTS[detail]} {what}"
        names = kernels.COUNT_FAULT_PRIORS[COUNTS[detail]]
    uncertain = [n for n in names if plan.family[PARAMETER_NAMES.index(n)] != families.FIXED]
    fixed = [n for n in names if n not in uncertain]
    drawn = ", ".join(f"{n} = {theta[PARAMETER_NAMES.index(n)]:.3g}" for n in uncertain)
    fixes = ([f"narrow {', '.join(f'priors.{n}' for n in uncertain)}"] if uncertain else []) + (
        [f"change the fixed {', '.join(f'priors.{n} = {theta[PARAMETER_NAMES.index(n)]:.3g}' for n in fixed)}"]
        if fixed else [])
    fix = " or ".join(fixes) or "shorten study.horizon_days"
    return f"run {run} {what}" + (f" (it drew {drawn})" if drawn else "") + f": {fix}"


def progress(plan: Plan, done_runs: int = 0, disable: bool | None = None) -> tqdm:
    """A progress bar over runs: runs and blocks done, runs per second, time
    left; a widget in a notebook (tqdm.auto). Into a log file (a batch job)
    it writes a line every 30 seconds."""
    # A notebook widget redraws in place, as a terminal does.
    live = sys.stderr.isatty() or any(c.__module__ == "tqdm.notebook" for c in tqdm.__mro__)
    return tqdm(total=plan.runs, initial=done_runs, unit="run", unit_scale=True, dynamic_ncols=True,
                disable=bool(disable), mininterval=0.1 if live else 30.0, desc="runs")


class Interrupted(Exception):
    """The run was asked to stop (SIGTERM, SIGINT): finished blocks are saved."""


@dataclass(frozen=True)
class Checkpoint:
    """The running total and the set of finished blocks, saved atomically
    beside the output so an interrupted study can resume bit for bit. A
    SHA-256 of its content, and the agreement of its parts, are checked on
    load: a damaged checkpoint is refused, never resumed from."""
    path: Path
    meta: dict

    def load(self, plan: Plan) -> tuple[Tallies | None, np.ndarray | None]:
        """The saved total and done-flags for ``plan``'s blocks, or (None, None)."""
        if not os.path.lexists(self.path):
            return None, None
        if not self.path.is_file() or self.path.is_symlink():
            raise UserError(f"{self.path} is not a checkpoint file this tool wrote (a link or a folder); "
                            f"move it away, then run again")
        try:
            with np.load(self.path) as f:
                saved = {name: f[name] for name in f.files}
            meta = json.loads(str(saved["meta"]))
            tallies = Tallies.from_arrays(int(saved["runs"]), saved)
            done = saved["done"]
            sound = str(saved.get("sha256", "")) == _digest(saved)
        except (OSError, ValueError, KeyError, TypeError, IndexError, ArithmeticError, EOFError,
                zipfile.BadZipFile) as error:
            self._damaged(f"unreadable: {error}")
        if not sound:
            self._damaged("its checksum does not match its content")
        changed = [k for k in self.meta if meta.get(k) != self.meta[k]]
        if changed:
            raise UserError(f"{self.path}: cannot resume, the checkpoint was made with a different "
                            f"{', '.join(changed)}; run with --overwrite to start afresh")
        try:
            problem = self._damage(tallies, done, plan)
        except (ValueError, TypeError, IndexError, ArithmeticError) as error:
            problem = f"unreadable: {error}"
        if problem:
            self._damaged(problem)
        return tallies, done

    def _damaged(self, problem: str):
        raise UserError(f"{self.path}: damaged checkpoint ({problem}); delete it, or run with "
                        f"--overwrite and without --resume to start afresh")

    @staticmethod
    def _damage(tallies: Tallies, done: np.ndarray, plan: Plan) -> str:
        """What is wrong with a sound checkpoint's content ('' if nothing): its
        agreement with the plan (every array of the shape and dtype a block
        of the plan has) and the invariants that bind the tallies. An edit
        that keeps all of them, and the checksum, is not detectable: whoever
        can write the checkpoint can write the result too."""
        blocks = plan.blocks
        if done.dtype != bool or done.shape != (len(blocks),):
            return f"{done.size} block flags for {len(blocks)} planned blocks"
        runs = sum(stop - start for (start, stop), d in zip(blocks, done, strict=True) if d)
        if runs != tallies.runs:
            return f"its finished blocks hold {runs} runs, its tallies {tallies.runs}"
        # Every (option, event) day histogram counts each run once.
        if tallies.hist.ndim != 3 or not (tallies.hist.sum(axis=2) == runs).all():
            return f"its day histograms do not sum to its {runs} runs"
        # What a total of this plan holds: the kernel's own arrays for no runs, widened.
        for name, value in run_block(plan, 0, 0).widened().arrays().items():
            found = getattr(tallies, name)
            if found is None or found.shape != value.shape or found.dtype != value.dtype:
                shown = "none" if found is None else f"{found.dtype} {found.shape}"
                return f"its {name} is {shown}, a block of this study's plan {value.dtype} {value.shape}"
        return _tally_damage(plan, tallies, runs)
    def save(self, total: Tallies, done: np.ndarray) -> None:
        content = {"meta": np.array(json.dumps(self.meta)), "runs": np.array(total.runs), "done": done,
                   **total.widened().arrays()}
        # A unique temporary created exclusively: a pre-planted link is never
        # followed; the rename replaces the final name itself.
        fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, sha256=_digest(content), **content)
                f.flush()
                os.fsync(f.fileno())
            os.replace(name, self.path)
        finally:
            if os.path.lexists(name):
                os.unlink(name)

    def remove(self) -> None:
        """Delete the checkpoint; refuse anything at its name that this tool did not write."""
        if not os.path.lexists(self.path):
            return
        if not self.path.is_file() or self.path.is_symlink():
            raise UserError(f"{self.path} is not a checkpoint file this tool wrote (a link or a folder); "
                            f"move it away, then run again")
        self.path.unlink()


def _tally_damage(plan: Plan, t: Tallies, runs: int) -> str:
    """The invariants between the tallies of ``runs`` runs ('' if they hold):
    counts are non-negative; the runs with each event within each year
    (from the day histograms) are what the paired differences to the
    baseline (the last row), the per-draw histograms and the after-ceasefire
    tally say."""
    counted = (t.hist, t.after_ceasefire, t.sensitivity_runs, t.draw_hist, t.draw_diff)
    if any(value is not None and (value < 0).any() for value in counted):
        return "negative counts of runs"
    if t.sensitivity_runs is not None and not (t.sensitivity_runs.sum(axis=1) == runs).all():
        return f"its sensitivity bins do not sum to its {runs} runs"
    days = np.minimum(plan.year_days, plan.horizon) - 1
    # The events come first among the paired and per-draw indicators, and
    # the paired counts (in their order in model.COUNTS) last among the pairs.
    events = len(EVENTS) * len(YEARS)
    within = np.cumsum(t.hist, axis=2)[:, :, days].reshape(t.hist.shape[0], events)
    paired_counts = [COUNTS.index(o.tally) for o in outcomes.counts() if o.paired]
    counts = t.moments[:, paired_counts, 0]
    pairs = t.paired[:, :, 0]
    if not (np.array_equal(pairs[:, :events], within - within[-1])
            and np.array_equal(pairs[:, pairs.shape[1] - len(paired_counts):], counts - counts[-1])):
        return "its paired differences do not match its histograms and sums"
    if t.draw_hist is not None:
        n = plan.runs_per_draw
        if not ((t.draw_hist.sum(axis=2) * n == runs).all() and (t.draw_diff.sum(axis=2) * n == runs).all()):
            return f"its draw histograms do not hold its {runs} runs"
        if not (np.array_equal(t.draw_hist[:, :events] @ np.arange(n + 1), within)
                and np.array_equal(t.draw_diff[:, :events] @ np.arange(-n, n + 1), pairs[:, :events])):
            return "its draw histograms do not match its day histograms"
    qualifying, reattacked = t.after_ceasefire[..., 0], t.after_ceasefire[..., 1]
    if not ((reattacked <= qualifying).all() and (qualifying <= runs).all()):
        return "its after-ceasefire tally counts more runs than qualify"
    if t.after_hist is not None:
        draws = runs // plan.runs_per_draw
        if not ((t.after_hist >= 0).all() and (t.after_hist.sum(axis=-1) == draws).all()):
            return f"its after-ceasefire draw histograms do not hold its {draws} draws"
        if (t.after_moments < 0).any() or (t.after_noise < 0).any():
            return "its after-ceasefire products or noise are negative"
    return ""


def _digest(content: dict) -> str:
    """SHA-256 over a checkpoint's arrays: names, dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for name in sorted(content):
        if name == "sha256":
            continue
        value = np.ascontiguousarray(content[name])
        digest.update(f"{name}:{value.dtype.str}:{value.shape}:".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


class Accumulator:
    """Adds finished blocks, shows progress and saves checkpoints (at most
    every ``every`` seconds, and when closed)."""

    def __init__(self, plan: Plan, checkpoint: Checkpoint | None = None, every: float | None = None,
                 show_progress: bool | None = None):
        self.plan = plan
        self.checkpoint = checkpoint
        self.every = float(os.environ.get("DETERRENCE_CHECKPOINT_SECONDS", 5.0)) if every is None else every
        self.total, done = checkpoint.load(plan) if checkpoint else (None, None)
        self.done = done if done is not None else np.zeros(len(plan.blocks), dtype=bool)
        self.saved = time.monotonic()
        self.bar = progress(plan, done_runs=self.total.runs if self.total else 0,
                            disable=None if show_progress is None else not show_progress)

    def todo(self) -> list[tuple[int, int, int]]:
        return [(i, start, stop) for i, (start, stop) in enumerate(self.plan.blocks)
                if not self.done[i]]

    def add(self, indices: list[int], tallies: Tallies) -> None:
        """``tallies``, the sum of the blocks at ``indices``, unless they are
        done already."""
        if self.done[indices].any():
            if not self.done[indices].all():
                raise RuntimeError(f"blocks {indices} are partly added already")
            return
        self.total = tallies.widened() if self.total is None else self.total.__iadd__(tallies)
        self.done[indices] = True
        self.bar.set_postfix_str(f"blocks {int(self.done.sum())}/{self.done.size}", refresh=False)
        self.bar.update(tallies.runs)
        if self.checkpoint and time.monotonic() - self.saved >= self.every:
            self.save()

    def save(self) -> None:
        if self.checkpoint and self.total is not None:
            self.checkpoint.save(self.total, self.done)
            self.saved = time.monotonic()

    @property
    def stopped(self) -> bool:
        return False

    def close(self) -> Tallies | None:
        self.save()
        self.bar.close()
        return self.total if self.done.all() or self.stopped else None


def max_probability_se(total: Tallies, plan: Plan) -> float:
    """The largest Monte Carlo error of the headline estimates.

    One run per draw: the standard errors of every event within each year
    that fits the horizon, every option, with p = (x + 2) / (n + 4) so that
    an event not seen yet still counts as uncertain. With the nested design
    (runs_per_draw > 1): the draw-level standard errors of those
    probabilities and of their paired effects, and the bootstrap errors of
    the 2-year re-attack's parameter quantiles, effect quantiles and
    p_better (deterrence.epistemic)."""
    n = total.runs
    horizon = plan.horizon
    years = [y for y, d in enumerate(plan.year_days) if d <= horizon]
    if plan.runs_per_draw == 1 or total.draw_hist is None:
        cumulative = np.cumsum(total.hist, axis=2)
        days = [min(d, horizon) - 1 for d in plan.year_days if d <= horizon] or [horizon - 1]
        p = (cumulative[:, :, days] + 2.0) / (n + 4.0)
        return float(np.sqrt(p * (1 - p) / n).max())
    rpd = plan.runs_per_draw
    if total.runs < 2 * rpd:
        return np.inf
    shape = (total.draw_hist.shape[0], len(INDICATORS), len(YEARS))
    hist = total.draw_hist.reshape(shape + (rpd + 1,))[:, :, years or [0]]
    diff = total.draw_diff.reshape(shape + (2 * rpd + 1,))[:, :, years or [0]]
    worst = max(float(epistemic.mean_se(hist, epistemic.probability_values(rpd)).max()),
                float(epistemic.mean_se(diff, epistemic.difference_values(rpd)).max()))
    if SENSITIVITY_YEAR_INDEX in years:
        k = EVENTS.index("reattack_day") * len(YEARS) + SENSITIVITY_YEAR_INDEX
        _, squares = moment_sums(total.paired)
        _, q_se, _ = epistemic.event_summary(total.draw_hist[:, k], rpd)
        _, dq_se, _, below_se, _ = epistemic.difference_summary(total.draw_diff[:, k], rpd, squares[:, k])
        worst = max(worst, float(q_se.max()), float(dq_se.max()), float(below_se.max()))
    return worst


class TargetAccumulator(Accumulator):
    """Adds blocks strictly in index order and stops at the first block
    after which every headline probability's standard error is below
    ``target_se``: the stopping point, and so the result, is the same for
    any number of workers."""

    def __init__(self, plan: Plan, target_se: float, checkpoint: Checkpoint | None = None,
                 show_progress: bool | None = None):
        super().__init__(plan, checkpoint, show_progress=show_progress)
        self.target_se = target_se
        self.next = int(np.argmin(self.done)) if not self.done.all() else len(self.done)
        self.waiting: dict[int, Tallies] = {}
        self.reason = ""
        self._stopped = self.total is not None and self._reached()

    @property
    def stopped(self) -> bool:
        return self._stopped

    def _reached(self) -> bool:
        se = max_probability_se(self.total, self.plan)
        if se < self.target_se:
            self.reason = f"every headline standard error below {self.target_se} after {self.total.runs} runs"
            return True
        return False

    def todo(self) -> list[tuple[int, int, int]]:
        return [] if self._stopped else super().todo()

    def add(self, indices: list[int], tallies: Tallies) -> None:
        (index,) = indices      # one block at a time, to stop at the same one for any workers
        self.waiting[index] = tallies
        while self.next in self.waiting and not self._stopped:
            super().add([self.next], self.waiting.pop(self.next))
            self.next += 1
            self._stopped = self._reached()
        if not self._stopped and self.done.all():
            self.reason = (f"--max-runs {self.plan.runs} reached before the standard errors fell below "
                           f"{self.target_se}")


def accumulator(plan: Plan, checkpoint: Checkpoint | None = None, target_se: float | None = None,
                show_progress: bool | None = None) -> Accumulator:
    if target_se is None:
        return Accumulator(plan, checkpoint, show_progress=show_progress)
    return TargetAccumulator(plan, target_se, checkpoint, show_progress=show_progress)


def run(plan: Plan, client=None, workers: int | None = None, show_progress: bool | None = None,
        checkpoint: Checkpoint | None = None, acc: Accumulator | None = None) -> Tallies:
    """All blocks still to do, through the one map over blocks
    (``clusters.sum_blocks``): on local threads, or on the Dask ``client``
    (a block lost with a dead worker is recomputed; finished blocks are
    added up on the workers, so the client receives a few sums, except
    where ``--target-se`` decides when to stop: it adds them in block
    order); each block is added once, and the sums are exact integers, so
    the result is the same for any workers and any order of adding."""
    acc = acc or Accumulator(plan, checkpoint, show_progress=show_progress)
    todo = acc.todo()
    combine = None if isinstance(acc, TargetAccumulator) else operator.add
    blocks = clusters.sum_blocks(run_block, plan, [(start, stop) for _, start, stop in todo], combine, client,
                                 workers, name=f"block-{plan.key[0]}")
    try:
        for positions, tallies in blocks:
            acc.add([todo[p][0] for p in positions], tallies)
            if acc.stopped:
                break
    finally:
        blocks.close()          # what is still in flight is cancelled before the finished blocks are saved
        total = acc.close()
    return total


def run_local(plan: Plan, workers: int | None = None, show_progress: bool | None = None,
              checkpoint: Checkpoint | None = None, acc: Accumulator | None = None) -> Tallies:
    """:func:`run` on local threads."""
    return run(plan, None, workers, show_progress, checkpoint, acc)


def run_dask(plan: Plan, client, show_progress: bool | None = None,
             checkpoint: Checkpoint | None = None, acc: Accumulator | None = None) -> Tallies:
    """:func:`run` on a dask.distributed client."""
    return run(plan, client, None, show_progress, checkpoint, acc)
