"""Command line: a thin shell over the library. User mistakes print one
line and exit 2; nothing is left behind under the output's name."""

import argparse
import os
import signal
import sys
from pathlib import Path

from deterrence import UserError, __version__, experiment
from deterrence.arguments import (  # noqa: F401 (number, bounded, whole_number: the CLI's grammar, also from here)
    JOBQUEUE_HELP,
    MAX_WORKERS,
    OUTCOME_HELP,
    RUN_COUNT,
    WORKER_COUNT,
    Parser,
    add_draws,
    add_json,
    add_options,
    add_runs_per_draw,
    add_workers,
    bounded,
    number,
    whole_number,
)
from deterrence.methods import METHODS

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
            from deterrence.methods import story as comparison

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


def parser() -> argparse.ArgumentParser:
    from deterrence.clusters import SYSTEMS
    from deterrence.config import MAX_SEED

    p = Parser(prog="deterrence", description=DESCRIPTION, epilog=EXAMPLES,
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"deterrence {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    run = sub.add_parser("run", help="run a study and write its result")
    run.add_argument("config", help="study config (TOML), e.g. configs/laptop.toml")
    run.add_argument("--runs", type=RUN_COUNT, help="runs per option (overrides study.runs)")
    run.add_argument("--seed", type=bounded(0, MAX_SEED), help="study seed (overrides study.seed)")
    run.add_argument("--out", help="result path ending in .nc or .zarr (default results/NAME.nc)")
    run.add_argument("--workers", type=WORKER_COUNT, help="local worker threads (default: all cores)")
    run.add_argument("--overwrite", action="store_true", help="replace an existing result")
    run.add_argument("--scheduler", help="local (dask processes), slurm, pbs, mpi or a scheduler "
                                         "address such as tcp://host:8786 (default: local threads)")
    run.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
    run.add_argument("--target-se", type=number, help="run blocks in order until every headline probability's "
                                                     "Monte Carlo error is below this (e.g. 0.002); with "
                                                     "study.runs_per_draw > 1 also the errors of the 2-year "
                                                     "re-attack's parameter quantiles and p_better")
    run.add_argument("--max-runs", type=RUN_COUNT,
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
    add_draws(rep, f"parameter draws for --a (default {experiment.DRAWS})")
    add_runs_per_draw(rep, "runs per draw for --a, even (default: the study's runs_per_draw, or "
                           f"{experiment.RUNS_PER_DRAW} if 1)")
    add_workers(rep, "local worker threads for --a (default: all cores)")
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
    for method in METHODS:
        method.add_to(sub)
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
