"""Command line: a thin shell over the library. User mistakes print one
line and exit 2; nothing is left behind under the output's name."""

import argparse
import sys
import time
from pathlib import Path

from deterrence import UserError, __version__


def _run(args) -> int:
    from deterrence import config, report, results, runner

    cfg = config.load(args.config).with_overrides(runs=args.runs, seed=args.seed)
    out = Path(args.out or Path("results") / f"{cfg.study.name}.nc")
    results.output_format(out)
    if out.exists() and not args.overwrite:
        raise UserError(f"--out {out} exists; pass --overwrite to replace it")
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers must be at least 1, got {args.workers}")
    plan = runner.make_plan(cfg)
    n_opt = len(cfg.options)
    print(f"{cfg.study.name}: {n_opt} options x {cfg.study.runs:,} runs, "
          f"{len(plan.blocks)} blocks, seed {cfg.study.seed}", file=sys.stderr)
    start = time.perf_counter()
    tallies = runner.run_local(plan, workers=args.workers)
    seconds = time.perf_counter() - start
    ds = results.build(cfg, plan, tallies, {"wall_seconds": round(seconds, 3)})
    results.write(ds, out, overwrite=args.overwrite)
    print(report.table(ds))
    print(f"\nwrote {out} in {seconds:.1f} s "
          f"({cfg.study.runs * (n_opt + 1) / seconds / 1e6:.2f} M run-options/s)", file=sys.stderr)
    return 0


def _report(args) -> int:
    from deterrence import report, results

    ds = results.open_result(args.result)
    print(report.table(ds, year=args.year))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deterrence", description=__doc__.split("\n")[0])
    p.add_argument("--version", action="version", version=f"deterrence {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a study and write its result")
    run.add_argument("config", help="study config (TOML), e.g. configs/laptop.toml")
    run.add_argument("--runs", type=int, help="runs per option (overrides study.runs)")
    run.add_argument("--seed", type=int, help="study seed (overrides study.seed)")
    run.add_argument("--out", help="result path ending in .nc or .zarr (default results/NAME.nc)")
    run.add_argument("--workers", type=int, help="local worker threads (default: all cores)")
    run.add_argument("--overwrite", action="store_true", help="replace an existing result")
    run.set_defaults(func=_run)
    rep = sub.add_parser("report", help="tables from a result")
    rep.add_argument("result", help="a result written by deterrence run (.nc or .zarr)")
    rep.add_argument("--year", type=int, choices=(1, 2, 5), help="years column of the table")
    rep.set_defaults(func=_report)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as error:
        print(f"deterrence: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("deterrence: interrupted; no result written", file=sys.stderr)
        return 130
