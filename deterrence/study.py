"""The Python API: load a config, run a study, open a result.

``deterrence run`` is a thin shell over :func:`run_study`. Heavy modules
(numba kernels, xarray, dask) are imported when a study runs, so loading a
config stays cheap.
"""

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from deterrence import UserError, __version__, config
from deterrence.config import Config

if TYPE_CHECKING:
    import xarray as xr

OVERRIDES = ("runs", "seed")


def load_config(path: str | os.PathLike, **overrides) -> Config:
    """Read and validate a study config.

    Parameters
    ----------
    path : str or path-like
        A study config (TOML), e.g. ``"configs/laptop.toml"``.
    **overrides
        Study fields to replace: ``runs`` (runs per option) and ``seed``.

    Returns
    -------
    Config
        The validated, frozen config.

    Raises
    ------
    UserError
        One line naming the file, the field and the fix.
    """
    unknown = [name for name in overrides if name not in OVERRIDES]
    if unknown:
        raise UserError(f"load_config cannot override {', '.join(unknown)}; it overrides "
                        f"{' and '.join(OVERRIDES)} (edit the config for the rest)")
    return config.load(path).with_overrides(**overrides)


def open_result(path: str | os.PathLike) -> "xr.Dataset":
    """Open a result written by :func:`run_study` or ``deterrence run``.

    Parameters
    ----------
    path : str or path-like
        A result file: ``.nc`` (NetCDF) or ``.zarr``.

    Returns
    -------
    xarray.Dataset
        The result, checked to be complete (lazily read; close it when done).

    Raises
    ------
    UserError
        The path is missing, not a result, incomplete or damaged.
    """
    from deterrence import results

    return results.open_result(path)


def checkpoint_path(out: str | os.PathLike) -> Path:
    """Where a run writing ``out`` keeps its finished blocks."""
    return Path(f"{out}.checkpoint.npz")


def run_study(config_or_path: Config | str | os.PathLike, *, runs: int | None = None,
              seed: int | None = None, workers: int | None = None, scheduler: str | None = None,
              progress: bool = True, out: str | os.PathLike | None = None, overwrite: bool = False,
              resume: bool = False, target_se: float | None = None, max_runs: int | None = None,
              jobqueue_config: str | os.PathLike | None = None,
              stop_signals: Iterable[int] = ()) -> "xr.Dataset":
    """Run a study and return its result.

    Without ``out`` the study runs in memory: no file, lock or checkpoint.
    With ``out`` it does what ``deterrence run`` does: it holds a lock on
    the output, saves finished blocks in a checkpoint beside it, and writes
    the result atomically (never a partial result under its final name).

    Parameters
    ----------
    config_or_path : Config, str or path-like
        A config from :func:`load_config`, or the path of one.
    runs : int, optional
        Runs per option (default: the config's ``study.runs``).
    seed : int, optional
        Study seed (default: the config's ``study.seed``).
    workers : int, optional
        Local worker threads (default: all cores), or Dask workers for
        ``scheduler="local"``.
    scheduler : str, optional
        ``"local"`` (Dask processes), ``"slurm"``, ``"pbs"``, ``"mpi"`` or a
        scheduler address such as ``"tcp://host:8786"`` (default: local threads).
    progress : bool, default True
        Print a one-line summary and show a progress bar (a widget in a
        notebook).
    out : str or path-like, optional
        Also write the result here: ``.nc`` (NetCDF) or ``.zarr``.
    overwrite : bool, default False
        Replace a previous result at ``out`` and start afresh over its checkpoint.
    resume : bool, default False
        Continue an interrupted run of ``out`` from its checkpoint.
    target_se : float, optional
        Add blocks in order until every headline probability's standard error
        is below this, in (0, 0.5).
    max_runs : int, optional
        Cap on runs per option with ``target_se`` (default: ``study.runs``).
    jobqueue_config : str or path-like, optional
        A YAML file in dask-jobqueue's schema (``jobqueue: slurm: ...``, as
        the shipped example ``jobs/jobqueue.yaml``) for ``scheduler="slurm"``
        or ``"pbs"``: over the site's dask config, under the config's
        ``[cluster]`` table.
    stop_signals : iterable of int, default ()
        Signals (e.g. ``signal.SIGTERM``) that, from the first block until the
        result is about to be renamed into place, stop the run with
        ``runner.Interrupted`` (with ``out``, its finished blocks saved).
        Main thread only.

    Returns
    -------
    xarray.Dataset
        The result, in memory, with the same data and attributes as the file.

    Raises
    ------
    UserError
        A mistake in the config or the arguments, in one line.
    KeyboardInterrupt, deterrence.runner.Interrupted
        The run was stopped; with ``out``, finished blocks stay in the
        checkpoint (``resume=True`` continues them).
    """
    from deterrence import clusters, kernels, results, rng, runner
    from deterrence.plan import make_plan

    clusters.check_scheduler(scheduler)
    if target_se is not None and not (_is_number(target_se) and 0 < target_se < 0.5):
        raise UserError(f"--target-se must lie in (0, 0.5), got {target_se!r}")
    if max_runs is not None and target_se is None:
        raise UserError("--max-runs caps a --target-se run; give --target-se too, or use --runs")
    if max_runs is not None and not (_is_whole(max_runs) and max_runs >= 1):
        raise UserError(f"--max-runs must be a positive integer, got {max_runs!r}")
    if max_runs is not None and runs is not None:
        raise UserError("give either --runs or --max-runs, not both")
    if resume and out is None:
        raise UserError("--resume continues a run written to --out; give the out of the interrupted run")
    cfg = config_or_path if isinstance(config_or_path, Config) else config.load(config_or_path)
    cfg = cfg.with_overrides(runs=max_runs if max_runs is not None else runs, seed=seed)
    if out is not None:
        out = Path(out)
        results.output_format(out)
    if workers is not None and not (_is_whole(workers) and workers >= 1):
        raise UserError(f"--workers must be at least 1, got {workers!r}")
    if out is not None:
        results.check_replaceable(out, overwrite)
    plan = make_plan(cfg)
    if out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UserError(f"--out {out}: cannot create its folder ({error.strerror})") from None
    # Under MPI only the client rank returns from here, to take the lock and write.
    backend = clusters.backend(scheduler, workers, cfg.cluster, jobqueue_config)

    def compute(checkpoint, on_commit=None) -> "xr.Dataset":
        if progress:
            print(f"{cfg.study.name}: {len(cfg.options)} options x {cfg.study.runs:,} runs, "
                  f"{len(plan.blocks)} blocks, seed {cfg.study.seed}, scheduler {scheduler or 'threads'}",
                  file=sys.stderr)
        start = time.perf_counter()
        with backend.client() as client:
            if progress and client is None and not kernels.cached():
                print(f"compiling the kernels for this machine first (once per install, about 15 s; "
                      f"cached in {rng.CACHE_DIR})", file=sys.stderr)
            acc = runner.accumulator(plan, checkpoint, target_se=target_se, show_progress=progress)
            tallies = (runner.run_local(plan, workers=workers, acc=acc) if client is None
                       else runner.run_dask(plan, client, acc=acc))
        extra = {"wall_seconds": round(time.perf_counter() - start, 3)}
        if target_se is not None:
            extra.update(target_se=target_se, stop_reason=acc.reason)
            if progress:
                print(f"stopped: {acc.reason}", file=sys.stderr)
        ds = results.build(cfg, plan, tallies, extra)
        if out is not None:
            results.write(ds, out, overwrite=overwrite, on_commit=on_commit)
        return ds

    if out is None:
        with _stopping_on(stop_signals):
            return compute(None)
    with results.output_lock(out):
        results.check_replaceable(out, overwrite)  # a run before ours may have just finished
        checkpoint = runner.Checkpoint(checkpoint_path(out), {
            "config_sha256": cfg.sha256, "seed": cfg.study.seed, "runs": cfg.study.runs,
            "block_runs": plan.block_runs, "version": __version__, "target_se": target_se})
        if os.path.lexists(checkpoint.path) and not resume:
            if not overwrite:
                raise UserError(f"{checkpoint.path} holds an interrupted run; pass --resume to continue "
                                f"it or --overwrite to start afresh")
            checkpoint.remove()
        elif resume:
            checkpoint.load(plan)  # a damaged or foreign checkpoint stops the run before it starts
        resuming = os.path.lexists(checkpoint.path)
        try:
            # The handlers stay installed through the final write: a signal
            # there still ends with the checkpoint kept and no temporary left.
            with _stopping_on(stop_signals) as too_late_to_stop:
                ds = compute(checkpoint, on_commit=too_late_to_stop)
        except UserError:
            # A run the priors cannot compute (a kernel fault) has nothing to
            # resume: leave no checkpoint of its own behind.
            if not resuming:
                checkpoint.remove()
            raise
        checkpoint.remove()
    return ds


@contextlib.contextmanager
def _stopping_on(signals: Iterable[int]) -> Iterator[Callable[[], None]]:
    """Turn ``signals`` into ``runner.Interrupted`` while in the block. The
    callable it yields ignores them from then on: the result is complete and
    about to be renamed into place, and a signal there would only leave a
    finished run to be computed again. The old handlers come back on exit."""
    signals = tuple(signals)
    previous = {sig: signal.signal(sig, _stop) for sig in signals}

    def too_late_to_stop() -> None:
        for sig in signals:
            signal.signal(sig, signal.SIG_IGN)

    try:
        yield too_late_to_stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop(signum, frame):
    from deterrence.runner import Interrupted

    raise Interrupted(signal.Signals(signum).name)


def _is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
