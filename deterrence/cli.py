"""Command line: a thin shell over the library. User mistakes print one
line and exit 2; nothing is left behind under the output's name."""

import argparse
import math
import os
import re
import signal
import sys
from pathlib import Path

from deterrence import UserError, __version__

EXIT_CHECKPOINTED = 75  # EX_TEMPFAIL: stopped early with a checkpoint; rerun with --resume


def _run(args) -> int:
    from deterrence import report, study
    from deterrence.runner import Interrupted

    cfg = study.load_config(args.config)
    measure = _measure(args.outcome)
    out = Path(args.out or Path("results") / f"{cfg.study.name}.nc")
    try:
        ds = study.run_study(
            cfg, runs=args.runs, seed=args.seed, workers=args.workers, scheduler=args.scheduler,
            out=out, overwrite=args.overwrite, resume=args.resume, target_se=args.target_se,
            max_runs=args.max_runs, jobqueue_config=args.jobqueue_config,
            stop_signals=(signal.SIGTERM, signal.SIGINT))
    except Interrupted as why:
        print(f"deterrence: stopped by {why}; finished blocks saved in {study.checkpoint_path(out)}; "
              f"run again with --resume to continue", file=sys.stderr)
        return EXIT_CHECKPOINTED
    seconds = max(ds.attrs["wall_seconds"], 1e-3)
    print(report.to_json(ds, measure=measure) if args.json else report.table(ds, measure=measure))
    print(f"\nwrote {out} in {seconds:.1f} s "
          f"({ds.attrs['runs'] * (len(cfg.options) + 1) / seconds / 1e6:.2f} M run-options/s)", file=sys.stderr)
    return 0


def _submit(args) -> int:
    from deterrence import config, submit

    cfg = config.load(args.config)
    out = Path(args.out or Path("results") / f"{cfg.study.name}.nc").resolve()
    script = submit.render(cfg, args.system, args.mode, out, args.jobqueue_config)
    if args.dry_run:
        print(script)
        return 0
    print(submit.submit(script, args.system, out.with_name(f"{cfg.study.name}.{args.system}.sh")))
    return 0


def _report(args) -> int:
    from deterrence import report, results

    if args.a is None and args.b is not None:
        raise UserError("report --b needs --a: B is what option A is explained against")
    if args.a is not None and not args.out:
        raise UserError("report --a needs --out DIR: the comparison's section and figures go there")
    measure = _measure(args.outcome)
    html, csv_dir = _report_paths(args)
    ds = results.open_result(args.result)
    folder = results.output_folder(args.out, "report --out") if args.out else None
    print(report.to_json(ds, args.year, measure) if args.json
          else report.table(ds, year=args.year, wide=args.wide, measure=measure))
    if html:
        from deterrence.report.html import write_html

        print(f"wrote {write_html(ds, html)}", file=sys.stderr)
    if csv_dir:
        from deterrence.report.export import write_tables

        written = write_tables(ds, csv_dir)
        print(f"wrote {len(written)} CSV files in {csv_dir}: " + ", ".join(p.name for p in written), file=sys.stderr)
    if folder:
        sections, drawn = (), []
        if args.a is not None:
            from deterrence.report import comparison

            found = comparison.compare_options(comparison.load(args.result), args.a, args.b, args.draws,
                                               args.runs_per_draw, workers=args.workers)
            text, drawn = comparison.write(found, folder)
            sections = (text,)
        written = report.write_report(ds, folder, sections) + drawn
        print(f"wrote {len(written)} files in {args.out}: " + ", ".join(p.name for p in written),
              file=sys.stderr)
    return 0


def _report_paths(args) -> tuple[Path | None, Path | None]:
    """The HTML file and the CSV folder asked for, checked before the result is read."""
    html = None
    if args.html is not None:
        html = Path(args.html or Path(args.result).with_suffix(".html"))
        if html.suffix.lower() not in (".html", ".htm"):
            raise UserError(f"report --html {html}: the page's name must end in .html")
        if os.path.lexists(html) and (html.is_symlink() or not html.is_file()):
            raise UserError(f"report --html {html} exists and is not a file (a folder or a link); choose another path")
        if not html.parent.is_dir():
            raise UserError(f"report --html {html}: no folder {html.parent}; create it or choose another path")
    csv_dir = Path(args.csv) if args.csv else None
    check_folder("report --csv", csv_dir, "for the CSV files")
    return html, csv_dir


def check_folder(flag: str, folder: str | os.PathLike | None, what: str = "") -> None:
    """A folder for output, checked (and made) before any work: see ``results.output_folder``."""
    if folder:
        from deterrence.results import output_folder

        output_folder(folder, flag)


def _measure(text: str | None):
    """The measure --outcome names for a result's effects table (None: the headline, re-attack beside it)."""
    if text is None:
        return None
    from deterrence.report import effects

    return effects.measure(text)


def _priors(args) -> int:
    from deterrence import config
    from deterrence.report import priors as priors_report

    if args.out:
        from deterrence.results import output_folder

        output_folder(args.out, "priors --out")
    cfg = config.load(args.config) if args.config else priors_report.default_config()
    text = priors_report.report(cfg, Path(args.out) if args.out else None)
    print(priors_report.to_json(cfg) if args.json else text)
    return 0


def _validate(args) -> int:
    from deterrence import results, validate

    minimum = validate.parse_min_coverage(args.min_coverage) if args.min_coverage else {}
    if args.out:
        results.output_folder(args.out, "validate --out")
    result = validate.validate()
    print(_checks_json(result.checks) if args.json else validate.table(result))
    if args.out:
        written = validate.write(result.checks, Path(args.out))
        print("Wrote:\n" + "\n".join(f"  {path}" for path in written), file=sys.stderr if args.json else sys.stdout)
    failed = validate.failures(result.summaries(), minimum)
    if failed:
        print(f"deterrence: validation failed (exit {validate.FAILED}): " + "; ".join(failed), file=sys.stderr)
        return validate.FAILED
    if minimum:
        print("Validation passed: every series of the default form from " f"{validate.CUTOFF} covers at least "
              + " and ".join(f"{v:.2f} in its {lv:.0%} interval" for lv, v in minimum.items()))
    return 0


def _nowcast(args) -> int:
    import datetime

    from deterrence import nowcast

    start = None
    if args.start:
        try:
            start = datetime.date.fromisoformat(args.start)
        except ValueError:
            raise UserError(f"--start {args.start!r}: give the day the truce began as YYYY-MM-DD") from None
    print(nowcast.text(nowcast.nowcast_file(args.config, args.violations, start=start, age=args.age)))
    return 0


def _checks_json(checks) -> str:
    """``deterrence validate --json``: each check with its intervals and whether the observation is inside."""
    import json

    return json.dumps([{"quantity": c.group, "item": c.item, "observed": list(c.observed), "days": c.days,
                        **{f"interval_{round(100 * level)}": list(bounds) for level, bounds in c.quantiles.items()},
                        **{f"inside_{round(100 * level)}": c.inside(level) for level in c.quantiles}}
                       for c in checks], indent=2, default=float)


def _compare(args) -> int:
    from deterrence import compare

    ds = compare.compare(args.config, args.a, args.b, args.config_b, runs=args.runs,
                         runs_per_draw=args.runs_per_draw, workers=args.workers, outcome=args.outcome)
    print(compare.to_json(ds) if args.json else compare.table(ds))
    return 0


def _trace(args) -> int:
    from deterrence import study, trace

    cfg = study.load_config(args.config)
    run = trace.trace_run(cfg, args.run, trace.parse_option(args.a or "", cfg.study.baseline))
    print(trace.to_json(run) if args.json else trace.story(run))
    return 0


def _sensitivity(args) -> int:
    import time

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


def _claims(args) -> int:
    from deterrence import claims, study

    found = claims.evaluate(study.load_config(args.config), args.draws, args.runs_per_draw, args.workers)
    print(claims.to_json(found) if args.json else claims.table(found))
    return 0


DESCRIPTION = """\
Estimate, for each policy option (a European reassurance force's size and
posture, when it deploys, US support, pressure on Russia), the risk that a
ceasefire in Ukraine fails and Russia attacks again."""
EXAMPLES = """\
examples:
  deterrence run configs/laptop.toml             run a study, write results/laptop.nc
  deterrence report results/laptop.nc --out rep  tables, figures and a Markdown report
  deterrence priors                              every prior, with its source and fit
  deterrence COMMAND --help                      the options of one command"""


JOBQUEUE_HELP = ("batch settings for --scheduler slurm|pbs and submit, in dask-jobqueue's schema (jobqueue: slurm: "
                 "cores: ...; example: jobs/jobqueue.yaml), over the site's dask config and under the config's "
                 "[cluster] table")


# Numbers on the command line: ASCII digits only (int() and float() also
# take other scripts' digits, such as "５"), optionally in the README's 1e6.
NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
# Local worker threads or processes a command may start.
MAX_WORKERS = 1024


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


def number(text: str) -> float:
    """A decimal option (--target-se, --margin) written in ASCII digits."""
    if not (NUMBER.fullmatch(text.strip()) and math.isfinite(float(text))):
        raise argparse.ArgumentTypeError(f"expected a finite number such as 0.002 in ASCII digits, "
                                         f"got {_shown(text)}")
    return float(text)


def whole_number(text: str) -> int:
    """An integer option in ASCII digits, also written as the README writes run counts (1e6)."""
    text = text.strip()
    if NUMBER.fullmatch(text) and text.lstrip("+-").isdigit() and len(text) <= 30:
        return int(text)
    value = float(text) if NUMBER.fullmatch(text) else math.nan
    # Beyond 2**53 a float no longer holds every integer: write such numbers in digits.
    if not (math.isfinite(value) and value == int(value) and abs(value) <= 2**53):
        raise argparse.ArgumentTypeError(f"expected a whole number such as 20000 or 1e6 in ASCII digits, "
                                         f"got {_shown(text)}")
    return int(value)


def bounded(low: int, high: int, why: str = ""):
    """An argparse type: a whole number from ``low`` to ``high``, checked
    before the command allocates or computes anything."""
    def parse(text: str) -> int:
        value = whole_number(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low:,} to {high:,}"
                                             + (f" ({why})" if why else "") + f", got {_shown(text)}")
        return value
    return parse


A_HELP = ('option A as axis=level pairs, e.g. "force_size=5000,posture=rear"; axes left out take the study\'s '
          "baseline level")
B_HELP = "option B, written the same way (default, or --b alone: the study's baseline)"
OUTCOME_HELP = ("the measure: war_days (mean days at war over the horizon, the headline), strikes, violations, or "
                "<event>_<years>y with the event ceasefire, deployed, reattack or tripwire (war: at war then, where "
                "it applies) and the years 1, 2 or 5, e.g. reattack_2y")


class Renamed(argparse.Action):
    """A flag under its name and, for one release, its old names: an old
    name still works, records itself in ``old_flags`` and prints a note."""

    def __call__(self, parser, namespace, values, option_string=None):
        new = self.option_strings[0]
        if option_string != new:
            print(f"deterrence: note: {option_string} is now {new}; the old name works until the next release",
                  file=sys.stderr)
            namespace.old_flags = (*getattr(namespace, "old_flags", ()), option_string)
        setattr(namespace, self.dest, values)


def _old(names: tuple[str, ...]) -> str:
    return f" (old name {', '.join(names)}: works until the next release)" if names else ""


def add_options(p: argparse.ArgumentParser, a_required: bool = True, b: bool = True, old_a: tuple = (),
                old_b: tuple = (), a_help: str = A_HELP, b_help: str = B_HELP) -> None:
    """The option grammar of every command: --a A, and --b B (missing or
    alone: the study's baseline); ``old_a``, ``old_b``: the flags they replace."""
    p.set_defaults(old_flags=())
    p.add_argument("--a", *old_a, required=a_required, metavar="A",
                   action=Renamed, help=a_help + _old(old_a))
    if b:
        p.add_argument("--b", *old_b, nargs="?", const="", metavar="B", action=Renamed, help=b_help + _old(old_b))


def add_json(p: argparse.ArgumentParser, what: str = "the table") -> None:
    p.add_argument("--json", action="store_true", help=f"print {what} as JSON instead")


class Parser(argparse.ArgumentParser):
    """Usage mistakes print one line, like every other user mistake."""

    def error(self, message: str):
        self.exit(2, f"deterrence: error: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    from deterrence.clusters import SYSTEMS
    from deterrence.config import MAX_RUNS_PER_DRAW, MAX_SEED
    from deterrence.model import MAX_RUNS
    from deterrence.sensitivity import DRAWS, RUNS_PER_DRAW

    run_count = bounded(1, MAX_RUNS, "the tallies stay exact up to there")
    worker_count = bounded(1, MAX_WORKERS)
    draw_count = bounded(1, MAX_RUNS)
    per_draw = bounded(1, MAX_RUNS_PER_DRAW)

    p = Parser(prog="deterrence", description=DESCRIPTION, epilog=EXAMPLES,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"deterrence {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    run = sub.add_parser("run", help="run a study and write its result")
    run.add_argument("config", help="study config (TOML), e.g. configs/laptop.toml")
    run.add_argument("--runs", type=run_count, help="runs per option (overrides study.runs)")
    run.add_argument("--seed", type=bounded(0, MAX_SEED), help="study seed (overrides study.seed)")
    run.add_argument("--out", help="result path ending in .nc or .zarr (default results/NAME.nc)")
    run.add_argument("--workers", type=worker_count, help="local worker threads (default: all cores)")
    run.add_argument("--overwrite", action="store_true", help="replace an existing result")
    run.add_argument("--scheduler", help="local (dask processes), slurm, pbs, mpi or a scheduler "
                                         "address such as tcp://host:8786 (default: local threads)")
    run.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
    run.add_argument("--target-se", type=number, help="run blocks in order until every headline probability's "
                                                     "Monte Carlo error is below this (e.g. 0.002); with "
                                                     "study.runs_per_draw > 1 also the errors of the 2-year "
                                                     "re-attack's parameter quantiles and p_better")
    run.add_argument("--max-runs", type=run_count,
                     help="cap on runs per option for --target-se (default study.runs)")
    run.add_argument("--jobqueue-config", help=JOBQUEUE_HELP)
    run.add_argument("--outcome", help="read the effects table on this measure alone (default: days at war, then "
                                       "the 2-year re-attack risk beside it); " + OUTCOME_HELP)
    add_json(run, "the tables")
    run.set_defaults(func=_run)
    sub_ = sub.add_parser("submit", help="render a batch script for Slurm or PBS and submit it")
    sub_.add_argument("config", help="study config (TOML); its [cluster] table sets queue, cores, ... over the "
                                     "site's dask-jobqueue config")
    sub_.add_argument("--system", choices=tuple(SYSTEMS), required=True)
    sub_.add_argument("--mode", choices=("local", "mpi"), default="local",
                      help="local: all cores of one node; mpi: dask-mpi over several nodes")
    sub_.add_argument("--out", help="result path (default results/NAME.nc)")
    sub_.add_argument("--dry-run", action="store_true", help="print the script instead of submitting")
    sub_.add_argument("--jobqueue-config", help=JOBQUEUE_HELP)
    sub_.set_defaults(func=_submit)
    rep = sub.add_parser("report", help="tables from a result; with --out, a full report")
    rep.add_argument("result", help="a result written by deterrence run (.nc or .zarr)")
    rep.add_argument("--year", type=whole_number, choices=(1, 2, 5), help="years column of the table")
    rep.add_argument("--out", help="folder for a full report: report.md, options.csv and PNG figures")
    rep.add_argument("--html", nargs="?", const="", metavar="PATH",
                     help="write one self-contained HTML page (opens offline): an option explorer, two options "
                          "side by side, interactive charts, the priors and config (default: the result's path "
                          "with .html)")
    rep.add_argument("--csv", metavar="DIR", help="folder for one CSV file per table and chart (for a spreadsheet)")
    rep.add_argument("--wide", action="store_true", help="print every column of the terminal tables (default: "
                                                        "they fit 100 columns)")
    rep.add_argument("--outcome", help="read the effects table on this measure alone (default: days at war, then "
                                       "the 2-year re-attack risk beside it); " + OUTCOME_HELP)
    add_options(rep, a_required=False, old_a=("--explain",), old_b=("--vs",),
                a_help='with --out: add a section explaining option A (axis=level pairs, e.g. '
                       '"force_size=5000,posture=rear") against B: where each does better, what is worth learning, '
                       "one history of each kind (under a minute on the laptop config on two cores)")
    rep.add_argument("--draws", type=draw_count, help="parameter draws for --a (default 2000)")
    rep.add_argument("--runs-per-draw", type=per_draw,
                     help="runs per draw for --a, even (default: the study's runs_per_draw, or 200 if 1)")
    rep.add_argument("--workers", type=worker_count, help="local worker threads for --a (default: all cores)")
    add_json(rep, "the tables")
    rep.set_defaults(func=_report)
    pri = sub.add_parser("priors", help="the priors, fitted from the record in seeds/, with checks")
    pri.add_argument("config", nargs="?", help="study config (default: the shipped default priors)")
    pri.add_argument("--out", help="folder for the figures (PNG) and the table (CSV)")
    add_json(pri, "every prior (family, hyperparameters, mean, 90% interval, source)")
    pri.set_defaults(func=_priors)
    val = sub.add_parser("validate",
                         help="out-of-sample check: refit the record at the end of 2016-2020, predict to 2022")
    val.add_argument("--out", help="folder for the table (validation.csv) and the figure (validation.png)")
    add_json(val, "the checks")
    val.add_argument("--min-coverage", metavar="X[,Y]",
                     help="fail (exit 3) when a series of the default form from the 2018 origin covers less than "
                          "X of its observations in its 90%% interval (or less than Y in its 50%% interval); "
                          "e.g. 0.8,0.35")
    val.set_defaults(func=_validate)
    now = sub.add_parser("nowcast", help="a truce's risk of collapse and of a re-attack, from its violation counts")
    now.add_argument("config", help="study config (TOML): its re-attack and re-truce priors")
    now.add_argument("--violations", required=True, help="CSV date,count: the violations counted each day of the truce")
    now.add_argument("--start", help="the day the truce began, YYYY-MM-DD (default: the first date)")
    now.add_argument("--age", type=whole_number,
                     help="days the truce has held (default: to the end of the last counted day)")
    now.set_defaults(func=_nowcast)
    tra = sub.add_parser("trace", help="one run's story: its draws, events and totals, as the kernel simulated it")
    tra.add_argument("config", help="study config (TOML): its seed, horizon, priors and [model] choices")
    tra.add_argument("--run", type=bounded(0, MAX_RUNS - 1), required=True,
                     help="run index, 0 to 2**32 - 2 (any index replays; the study's result holds those below "
                          "study.runs)")
    add_options(tra, a_required=False, b=False, old_a=("--option",), a_help=A_HELP + " (default: the baseline)")
    add_json(tra, "the trace")
    tra.set_defaults(func=_trace)
    sen = sub.add_parser("sensitivity", help="first- and total-order Sobol indices of an option's expected "
                                             "outcome over the uncertain parameters")
    sen.add_argument("config", help="study config (TOML): its seed, priors and [model] choices")
    add_options(sen, old_a=("--option",), old_b=("--vs",),
                b_help="index A's paired effect against option B, written as A (default, or --b alone: the "
                       "study's baseline)")
    sen.add_argument("--alone", action="store_true", help="index option A's own outcome, not its change against B")
    sen.add_argument("--outcome", default="war_days", help=OUTCOME_HELP + " (default war_days)")
    sen.add_argument("--draws", type=draw_count, default=DRAWS,
                     help="base parameter draws N of the Saltelli design: N x (parameters + 3) rows "
                          "(default %(default)s)")
    sen.add_argument("--runs-per-draw", type=per_draw, default=RUNS_PER_DRAW,
                     help="runs per design row (default %(default)s)")
    sen.add_argument("--workers", type=worker_count, help="local worker threads (default: all cores)")
    sen.add_argument("--scheduler", help="local, slurm, pbs, mpi or a scheduler address (default: local threads)")
    sen.add_argument("--jobqueue-config", help=JOBQUEUE_HELP)
    add_json(sen, "the indices")
    sen.add_argument("--out", help="bar figure (.png, .pdf or .svg) of the leading indices with their intervals")
    sen.set_defaults(func=_sensitivity)
    exp = sub.add_parser("explain", help="the regions of parameter space where option A does worse than B")
    exp.add_argument("config", help="study config (TOML): its seed, priors and [model] choices")
    add_options(exp, old_a=("--option",), old_b=("--vs",))
    exp.add_argument("--outcome", default="war_days", help=OUTCOME_HELP + " (default war_days)")
    exp.add_argument("--draws", type=draw_count,
                     help="parameter draws (default 2000: on the laptop config, with its 500 runs per draw, "
                          "about 20 s on two cores once the kernel is compiled)")
    exp.add_argument("--runs-per-draw", type=per_draw,
                     help="runs per draw, even (default: the config's study.runs_per_draw, or 200 if it is 1)")
    exp.add_argument("--depth", type=bounded(1, 16, "the boxes double with each level"),
                     help="depth of the box tree (default 2)")
    exp.add_argument("--resamples", type=bounded(1, 10_000),
                     help="refits on random halves of the draws, for the boxes' stability (default 20)")
    exp.add_argument("--margin", type=number,
                     help="a draw where A and B differ by at most this much counts as the same, in the "
                          "outcome's unit (default 0.01 of a probability; 1%% of the horizon for days at war)")
    exp.add_argument("--workers", type=worker_count, help="local worker threads, or dask workers with "
                                                          "--scheduler local (default: all cores)")
    exp.add_argument("--scheduler", help="as for deterrence run: local, slurm, pbs, mpi or an address "
                                         "tcp://host:8786 (default: local threads)")
    exp.add_argument("--jobqueue-config", help=JOBQUEUE_HELP)
    add_json(exp, "the boxes")
    exp.add_argument("--out", help="figure (PNG): the draws in the top box's two parameters, the box drawn")
    exp.set_defaults(func=_explain)
    com = sub.add_parser("compare", help="paired difference A - B of two options, or of one option under two "
                                         "configs, on the same runs")
    com.add_argument("config", help="study config (TOML) of A (and of B without --config-b)")
    add_options(com, b_help="option B, written the same way (default, or --b alone: the study's baseline; "
                            "with --config-b: A)")
    com.add_argument("--config-b", help="study config of B (same seed, horizon and runs per draw; a structural "
                                        "choice or prior apart): the runs pair by index")
    com.add_argument("--runs", type=run_count, help="runs (default study.runs of CONFIG)")
    com.add_argument("--runs-per-draw", type=per_draw,
                     help="runs per parameter draw (default study.runs_per_draw); above 1 gives the parameter "
                          "interval and p_better")
    com.add_argument("--workers", type=worker_count, help="local worker threads (default: all cores)")
    com.add_argument("--outcome", help="show this measure only (default: every outcome); " + OUTCOME_HELP)
    add_json(com, "the result")
    com.set_defaults(func=_compare)
    dec = sub.add_parser("decide", help="expected loss and regret of options, the value of (partial) perfect "
                                        "information, switching values")
    dec.add_argument("source", metavar="RESULT_OR_CONFIG",
                     help="a study config (TOML), or a result (.nc, .zarr) whose config is replayed")
    dec.add_argument("--draws", type=draw_count,
                     help="parameter draws (default 2000: on the laptop config, with its 500 runs per draw, a "
                          "few seconds for two options and 10 s or more for its 48 on two cores, once the kernel "
                          "is compiled)")
    dec.add_argument("--runs-per-draw", type=per_draw,
                     help="runs per draw, even (default: the config's study.runs_per_draw, or 200 if it is 1)")
    add_options(dec, a_required=False, a_help="decide between the pair A and B (as --options \"A;B\"); " + A_HELP)
    dec.add_argument("--options", help='"all" (the grid; the default) or a list of options as axis=level pairs '
                                       'separated by ";", e.g. "force_size=5000;force_size=0,leverage=assets_and_aid"')
    dec.add_argument("--workers", type=worker_count, help="local worker threads (default: all cores)")
    dec.add_argument("--scheduler", help="as for run: local, slurm, pbs, mpi or a scheduler address")
    dec.add_argument("--jobqueue-config", help=JOBQUEUE_HELP)
    add_json(dec, "the decision")
    dec.set_defaults(func=_decide)
    cla = sub.add_parser("claims", help="the debate's three claims as quantities: the share of parameter draws "
                                        "under which each holds, fails or is undecided; the force's effect in "
                                        "its veto and deterrence parts")
    cla.add_argument("config", help="study config (TOML): its seed, priors and [model] choices")
    cla.add_argument("--draws", type=draw_count, default=1000,
                     help="parameter draws (default %(default)s; about a minute on two cores)")
    cla.add_argument("--runs-per-draw", type=per_draw,
                     help="runs per draw, even (default: the config's study.runs_per_draw, or 200 if it is 1)")
    cla.add_argument("--workers", type=worker_count, help="local worker threads (default: all cores)")
    cla.add_argument("--json", action="store_true", help="print the claims as a JSON object")
    cla.set_defaults(func=_claims)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code = args.func(args)
        if code == EXIT_CHECKPOINTED:
            # Do not wait for blocks still running in threads: their work
            # is recomputed on resume.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        return code
    except UserError as error:
        print(f"deterrence: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("deterrence: interrupted; no result written", file=sys.stderr)
        return 130
