"""The analysis methods, one registry row each: a command's name, its help,
its flags and what it runs. The CLI builds these subcommands and their help
from `METHODS`; a flag every analysis shares (--draws, --runs-per-draw,
--workers, --scheduler, --jobqueue-config, --json) and its default are
declared once, in `deterrence.arguments` and `deterrence.experiment`.

Each method's module states only its method (``compare``, ``explain``,
``decide``, ``sensitivity``, ``trace``, ``claims``); the report's "why and
when" story (`story`) and the structural alternatives (`alternatives`) live
in this package. A new analysis command is its module plus one row here::

    Method("paired-table", "the pair A, B as a table", _paired_table_flags, _paired_table)

where ``_paired_table_flags(p)`` adds its flags (``add_options``,
``add_runs_per_draw``, ``add_json``, ...) and ``_paired_table(args)``
imports its module, runs it and prints (tests/test_methods.py shows one).

The rows import their module when run, so ``deterrence --help`` loads no
numba and no scipy."""

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deterrence import UserError, experiment
from deterrence.arguments import (
    A_HELP,
    OUTCOME_HELP,
    RUN_COUNT,
    add_cluster,
    add_draws,
    add_json,
    add_options,
    add_runs_per_draw,
    add_workers,
    bounded,
    number,
)
from deterrence.model import MAX_RUNS

CONFIG_HELP = "study config (TOML): its seed, priors and [model] choices"
SCHEDULER_HELP = "as for deterrence run: local, slurm, pbs, mpi or an address tcp://host:8786 (default: local threads)"


@dataclass(frozen=True)
class Method:
    """One analysis command: ``name`` and ``help`` as ``deterrence --help``
    lists it; ``flags`` adds its flags to its parser; ``run`` takes the
    parsed arguments and returns the exit status."""
    name: str
    help: str
    flags: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]

    def add_to(self, commands) -> argparse.ArgumentParser:
        """Add this command to ``commands`` (argparse's subparsers)."""
        p = commands.add_parser(self.name, help=self.help)
        self.flags(p)
        p.set_defaults(func=self.run)
        return p


def _config(p: argparse.ArgumentParser, help: str = CONFIG_HELP) -> None:
    p.add_argument("config", help=help)


def _outcome(p: argparse.ArgumentParser) -> None:
    p.add_argument("--outcome", default="war_days", help=OUTCOME_HELP + " (default war_days)")


# ---------------------------------------------------------------- trace


def _trace_flags(p):
    _config(p, "study config (TOML): its seed, horizon, priors and [model] choices")
    p.add_argument("--run", type=bounded(0, MAX_RUNS - 1), required=True,
                   help="run index, 0 to 2**32 - 2 (any index replays; the study's result holds those below "
                        "study.runs)")
    add_options(p, a_required=False, b=False, old_a=("--option",), a_help=A_HELP + " (default: the baseline)")
    add_json(p, "the trace")


def _trace(args) -> int:
    from deterrence import study, trace

    cfg = study.load_config(args.config)
    run = trace.trace_run(cfg, args.run, trace.parse_option(args.a or "", cfg.study.baseline))
    print(trace.to_json(run) if args.json else trace.story(run))
    return 0


# ---------------------------------------------------------------- sensitivity


def _sensitivity_flags(p):
    from deterrence.sensitivity import DRAWS, RUNS_PER_DRAW

    _config(p)
    add_options(p, old_a=("--option",), old_b=("--vs",),
                b_help="index A's paired effect against option B, written as A (default, or --b alone: the "
                       "study's baseline)")
    p.add_argument("--alone", action="store_true", help="index option A's own outcome, not its change against B")
    _outcome(p)
    add_draws(p, "base parameter draws N of the Saltelli design: N x (parameters + 3) rows (default %(default)s)",
              default=DRAWS)
    add_runs_per_draw(p, "runs per design row (default %(default)s)", default=RUNS_PER_DRAW)
    add_workers(p)
    add_cluster(p, "local, slurm, pbs, mpi or a scheduler address (default: local threads)")
    add_json(p, "the indices")
    p.add_argument("--out", help="bar figure (.png, .pdf or .svg) of the leading indices with their intervals")


def _sensitivity(args) -> int:
    from deterrence import clusters, results, sensitivity, study, trace

    if args.out:
        results.figure_path(args.out)
    cfg = study.load_config(args.config)
    if args.alone and args.b is not None:
        raise UserError("--alone indexes option A's own outcome, --b its change against B; give one of them")
    # One release more: the old spelling without --vs keeps its old meaning, A alone.
    alone = args.alone or (args.b is None and "--option" in args.old_flags)
    if alone and not args.alone:
        print("deterrence: note: without --vs, --option indexes A alone, as before; with --a, a missing --b "
              "means the baseline (give --alone for A alone)", file=sys.stderr)
    option = trace.parse_option(args.a, cfg.study.baseline)
    vs = None if alone else trace.parse_option(args.b or "", cfg.study.baseline, "--b")
    given = dict(outcome=args.outcome, draws=args.draws, runs_per_draw=args.runs_per_draw, workers=args.workers)
    start = time.perf_counter()
    with clusters.backend(args.scheduler, args.workers, cfg.cluster, args.jobqueue_config).client() as client:
        result = sensitivity.indices(cfg, option, vs, client=client, **given)
    print(sensitivity.to_json(result) if args.json else sensitivity.table(result))
    if args.out:
        sensitivity.draw(result, Path(args.out))
    print(f"{result.runs:,} runs in {time.perf_counter() - start:.1f} s"
          + (f"; wrote {args.out}" if args.out else ""), file=sys.stderr)
    return 0


# ---------------------------------------------------------------- explain


def _explain_flags(p):
    _config(p)
    add_options(p, old_a=("--option",), old_b=("--vs",))
    _outcome(p)
    add_draws(p, f"parameter draws (default {experiment.DRAWS}: on the laptop config, with its 500 runs per draw, "
                 "about 20 s on two cores once the kernel is compiled)")
    add_runs_per_draw(p)
    p.add_argument("--depth", type=bounded(1, 16, "the boxes double with each level"),
                   help="depth of the box tree (default 2)")
    p.add_argument("--resamples", type=bounded(1, 10_000),
                   help="refits on random halves of the draws, for the boxes' stability (default 20)")
    p.add_argument("--margin", type=number,
                   help="a draw where A and B differ by at most this much counts as the same, in the "
                        "outcome's unit (default 0.01 of a probability; 1%% of the horizon for days at war)")
    add_workers(p, "local worker threads, or dask workers with --scheduler local (default: all cores)")
    add_cluster(p, SCHEDULER_HELP)
    add_json(p, "the boxes")
    p.add_argument("--out", help="figure (PNG): the draws in the top box's two parameters, the box drawn")


def _explain(args) -> int:
    from deterrence import explain, results, study, trace

    if args.out:
        results.figure_path(args.out)
    cfg = study.load_config(args.config)
    option = trace.parse_option(args.a, cfg.study.baseline)
    versus = trace.parse_option(args.b, cfg.study.baseline, "--b") if args.b is not None else None
    given = {k: v for k, v in vars(args).items() if k in ("draws", "depth", "margin", "resamples") and v is not None}
    found = explain.explain(cfg, option, versus, args.outcome, runs_per_draw=args.runs_per_draw, workers=args.workers,
                            scheduler=args.scheduler, jobqueue_config=args.jobqueue_config,
                            show_progress=not args.json, **given)
    print(explain.to_json(found) if args.json else explain.table(found))
    if args.out:
        print(f"wrote {explain.draw(found, Path(args.out))}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- compare


def _compare_flags(p):
    _config(p, "study config (TOML) of A (and of B without --config-b)")
    add_options(p, b_help="option B, written the same way (default, or --b alone: the study's baseline; "
                          "with --config-b: A)")
    p.add_argument("--config-b", help="study config of B (same seed, horizon and runs per draw; a structural "
                                      "choice or prior apart): the runs pair by index")
    p.add_argument("--runs", type=RUN_COUNT, help="runs (default study.runs of CONFIG)")
    add_runs_per_draw(p, "runs per parameter draw (default study.runs_per_draw); above 1 gives the parameter "
                         "interval and p_better")
    add_workers(p)
    p.add_argument("--outcome", help="show this measure only (default: every outcome); " + OUTCOME_HELP)
    add_json(p, "the result")


def _compare(args) -> int:
    from deterrence import compare

    ds = compare.compare(args.config, args.a, args.b, args.config_b, runs=args.runs,
                         runs_per_draw=args.runs_per_draw, workers=args.workers, outcome=args.outcome)
    print(compare.to_json(ds) if args.json else compare.table(ds))
    return 0


# ---------------------------------------------------------------- decide


def _decide_flags(p):
    p.add_argument("source", metavar="RESULT_OR_CONFIG",
                   help="a study config (TOML), or a result (.nc, .zarr) whose config is replayed")
    add_draws(p, f"parameter draws (default {experiment.DRAWS}: on the laptop config, with its 500 runs per draw, "
                 "a few seconds for two options and 10 s or more for its 48 on two cores, once the kernel is "
                 "compiled)")
    add_runs_per_draw(p)
    add_options(p, a_required=False, a_help="decide between the pair A and B (as --options \"A;B\"); " + A_HELP)
    p.add_argument("--options", help='"all" (the grid; the default) or a list of options as axis=level pairs '
                                     'separated by ";", e.g. "force_size=5000;force_size=0,leverage=assets_and_aid"')
    add_workers(p)
    add_cluster(p, "as for run: local, slurm, pbs, mpi or a scheduler address")
    add_json(p, "the decision")


def _decide(args) -> int:
    from deterrence import decide

    if args.a is None and args.b is not None:
        raise UserError("decide --b needs --a: give the pair --a A [--b B], or a list --options \"A;B;...\"")
    if args.a is not None and args.options is not None:
        raise UserError("decide takes a pair --a A [--b B] or a list --options \"A;B;...\", not both")
    options = (args.a, args.b or "") if args.a is not None else args.options or "all"
    found = decide.decide_source(args.source, options, args.draws, args.runs_per_draw,
                                 args.workers, args.scheduler, args.jobqueue_config)
    print(decide.to_json(found) if args.json else decide.table(found))
    return 0


# ---------------------------------------------------------------- claims


def _claims_flags(p):
    from deterrence.claims import DRAWS

    _config(p)
    add_draws(p, "parameter draws (default %(default)s; about a minute on two cores)", default=DRAWS)
    add_runs_per_draw(p)
    add_workers(p)
    p.add_argument("--json", action="store_true", help="print the claims as a JSON object")


def _claims(args) -> int:
    from deterrence import claims, study

    found = claims.evaluate(study.load_config(args.config), args.draws, args.runs_per_draw, args.workers)
    print(claims.to_json(found) if args.json else claims.table(found))
    return 0


METHODS = (
    Method("trace", "one run's story: its draws, events and totals, as the kernel simulated it", _trace_flags,
           _trace),
    Method("sensitivity", "first- and total-order Sobol indices of an option's expected outcome over the uncertain "
                          "parameters", _sensitivity_flags, _sensitivity),
    Method("explain", "the regions of parameter space where option A does worse than B", _explain_flags, _explain),
    Method("compare", "paired difference A - B of two options, or of one option under two configs, on the same "
                      "runs", _compare_flags, _compare),
    Method("decide", "expected loss and regret of options, the value of (partial) perfect information, switching "
                     "values", _decide_flags, _decide),
    Method("claims", "the debate's three claims as quantities: the share of parameter draws under which each "
                     "holds, fails or is undecided; the force's effect in its veto and deterrence parts",
           _claims_flags, _claims),
)
_NAMES = [m.name for m in METHODS]
if len(set(_NAMES)) != len(_NAMES):
    raise ValueError(f"deterrence.methods: a command is registered twice: {_NAMES}")
__all__ = ["METHODS", "Method"]
