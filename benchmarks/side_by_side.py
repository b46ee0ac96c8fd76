"""Side-by-side speed of the kernel and its comparators, in one process, with spreads.

    python -m benchmarks.side_by_side [CONFIG] [--seconds S] [--repeat N] [--full] [--dask] [--json FILE]

Same config and priors for every row; run counts are scaled from a short
pilot so each row takes about S seconds; numba is compiled (and warmed) before
anything is timed. Rows: the numba kernel on one thread, the NumPy reference
(``deterrence.reference.simulate``), the per-run Python loop
(``benchmarks/python_loop.py``) and the RNG-only floor (``benchmarks/floor.py``),
timed in turn (kernel, floor, reference, loop, kernel, floor, ...) ``--repeat``
times. Every ratio is taken per repeat and reported as its median [min-max]
over the repeats (``benchmarks/spread.py``); a target must hold at the median
and at the worst end of the spread.

Then: two-worker scaling (``runner.run_local`` with 1 and 2 workers on the
same runs, alternated), cold and warm start (a fresh process to the first
block with an empty and with a filled numba cache, alternated), peak RSS of
studies of ``--rss-runs`` runs (each in a fresh process, its
``VmHWM``), with
``--dask`` the Dask path's overhead per block (``benchmarks/dask_overhead.py``),
and with ``--full`` the full study end to end through the CLI on two workers
with warm caches.

Speeds are compared only as ratios measured here, in one process and one
sitting: the absolute numbers move with the machine and its load.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba
import numpy as np

from benchmarks import dask_overhead, python_loop
from benchmarks import floor as floor_mod
from benchmarks.spread import Spread, Target, alternate, timed, verdict_text
from deterrence import config as config_mod
from deterrence import kernels, runner
from deterrence.plan import make_plan

ROOT = Path(__file__).resolve().parents[1]

# Targets of the project (issue 14; see BENCHMARKS.md).
TARGETS = {
    "floor": Target("kernel time / RNG-only floor time, same runs", "<=", 1.5),
    "reference": Target("kernel vs NumPy reference, per core", ">=", 3.0),
    "python": Target("kernel vs per-run Python loop, per core", ">=", 50.0),
    "scaling": Target("two workers vs one", ">=", 1.9),
    "full": Target("full study, warm, 2 workers", "<=", 30.0, " s"),
    "cold": Target("cold start to the first block", "<=", 5.0, " s"),
    "rss": Target("peak RSS (VmHWM), largest / smallest study", "<=", 1.10),
    "contrasts": Target("kernel with / without the paired and per-draw tallies", "<=", 1.15),
}
MIN_REPEAT = 5


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def calibrate(rate_of_pilot: float, seconds: float, n_options: int, minimum: int = 1) -> int:
    """Runs that take about ``seconds`` at a pilot's run-options per second."""
    return max(minimum, int(seconds * rate_of_pilot / n_options))


def child(code: str, env: dict | None = None, timeout: float = 1800.0) -> tuple[float, float, dict, str]:
    """Run ``code`` in a fresh interpreter; it prints one JSON line last.
    Returns (wall-clock time.time() at the spawn, wall seconds, that JSON, stderr)."""
    spawned = time.time()
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=timeout)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return spawned, wall, json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


# VmHWM is the peak resident set of the child's own address space.
# ru_maxrss is not: Linux carries the parent's peak across fork and exec
# into the child's ru_maxrss, so under a parent bigger than the study it
# reports the parent.
RSS_CHILD = """
import json, resource, sys, threading, time
from deterrence import config, runner
from deterrence.plan import make_plan

def status_kib(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))

cfg = config.load({config!r}).with_overrides(runs={runs})
plan = make_plan(cfg, block_runs={block_runs})
runner.run_block(plan, 0, 10)       # compile (from the cache) before timing
before = status_kib("VmHWM")
start_rss = status_kib("VmRSS")
sampled = [start_rss]
stop = threading.Event()

def sample():                       # the resident set during the run, every 20 ms
    while not stop.wait(0.02):
        sampled.append(status_kib("VmRSS"))

sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
start = time.perf_counter()
tallies = runner.run_local(plan, workers={workers}, show_progress=False)
seconds = time.perf_counter() - start
stop.set()
sampler.join()
assert tallies.runs == {runs}
print(json.dumps({{"peak_kib": status_kib("VmHWM"), "before_kib": before,
                  "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "run_start_kib": start_rss, "run_peak_kib": max(sampled),
                  "seconds": seconds, "blocks": len(plan.blocks)}}))
"""

START_CHILD = """
import time
t0 = time.perf_counter()
import json
from deterrence import config, runner
from deterrence.plan import make_plan
t_import = time.perf_counter()
plan = make_plan(config.load({config!r}))
runner.run_block(plan, 0, {runs})
t_block = time.perf_counter()
print(json.dumps({{"import_s": t_import - t0, "first_block_s": t_block - t_import,
                  "first_block_at": time.time()}}))
"""

FULL_CHILD = """
import json, sys, time
from deterrence import cli
start = time.perf_counter()
rc = cli.main(["run", {config!r}, "--out", {out!r}, "--workers", "2", "--overwrite"])
seconds = time.perf_counter() - start
with open("/proc/self/status") as f:
    peak = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
print(json.dumps({{"rc": rc, "seconds": seconds, "peak_kib": peak}}))
"""


def kernel_rows(plan, cfg, reference, seconds: float, repeat: int) -> dict:
    """Kernel, floor, reference and Python loop, alternated: per row its
    runs and its seconds per repeat. The kernel and the floor run the same
    runs, in the same chunks (the floor's untimed recording pass is done
    once, before the timing)."""
    n_opt = plan.options.shape[0]
    rpd = plan.runs_per_draw

    def whole_draws(runs):
        """Runs rounded to whole parameter draws (the kernel's and the reference's unit)."""
        return max(rpd, runs // rpd * rpd)

    pilot = whole_draws(500)
    pilot_s, _ = timed(runner.run_block, plan, 0, pilot)
    k_runs = whole_draws(calibrate(pilot * n_opt / pilot_s, seconds, n_opt, minimum=500))
    chunk = whole_draws(max(100, min(20_000, k_runs)))
    ranges = [(start, min(start + chunk, k_runs)) for start in range(0, k_runs, chunk)]
    floors = [floor_mod.Floor(plan, start, stop) for start, stop in ranges]

    def kernel():
        for start, stop in ranges:
            runner.run_block(plan, start, stop)

    def floor():
        for fl in floors:
            fl.run()

    def bare():
        # The kernel without the paired contrasts and the per-draw tallies
        # of the parameter uncertainty (kernels.simulate(contrasts=False)).
        for start, stop in ranges:
            kernels.simulate(plan.kernel, start, stop, plan.sensitivity_parameters, plan.sensitivity_edges, False)

    bare()
    rows = {"kernel": (k_runs, kernel), "floor": (k_runs, floor), "bare": (k_runs, bare)}
    if reference is not None:
        reference.simulate(plan, whole_draws(50), 1)
        pilot_s, _ = timed(reference.simulate, plan, whole_draws(200), 1)
        r_runs = whole_draws(calibrate(whole_draws(200) * n_opt / pilot_s, seconds, n_opt, minimum=200))
        rows["reference"] = (r_runs, lambda: reference.simulate(plan, r_runs, 1))
    python_loop.simulate(cfg, 2, 1)
    pilot_s, _ = timed(python_loop.simulate, cfg, 20, 1)
    p_runs = calibrate(20 * n_opt / pilot_s, seconds, n_opt, minimum=20)
    rows["python"] = (p_runs, lambda: python_loop.simulate(cfg, p_runs, 1))
    times = alternate(repeat, *(fn for _, fn in rows.values()))
    return {name: {"runs": runs, "seconds": Spread.of(t)}
            for (name, (runs, _)), t in zip(rows.items(), times, strict=True)}


def figure_of_merit(cfg, reference, seconds: float, repeat: int) -> dict:
    """For the headline effect, each option's paired change in days at war
    against the baseline: 1 / (its squared Monte Carlo error x seconds),
    in 1 / (days^2 s), for the kernel, the NumPy reference and the per-run
    Python loop, alternated. All three at one run per parameter draw, where
    the runs are independent and the error of a mean effect is
    sqrt(variance / runs); the nested design spends runs on telling
    parameter uncertainty from chance, and its error of a mean effect is no
    per-run quantity. The squared error is the mean over options of each
    one's, from the implementation's own runs, so a variance reduction
    counts as speed."""
    import dataclasses

    from deterrence.model import INDICATORS, PAIRED_COUNTS, YEARS
    from deterrence.outcomes import HEADLINE, outcome
    from deterrence.tallies import moment_sums

    iid = dataclasses.replace(cfg, study=dataclasses.replace(cfg.study, runs_per_draw=1))
    plan = make_plan(iid)
    n_opt = plan.options.shape[0]
    column = len(INDICATORS) * len(YEARS) + PAIRED_COUNTS.index(HEADLINE)
    scale = outcome(HEADLINE).scale

    def tally_var(t) -> float:
        total, squares = moment_sums(t.paired[:-1, column])
        n = t.runs
        return float(np.mean((squares / n - (total / n) ** 2) * scale ** 2))

    pilot_s, _ = timed(runner.run_block, plan, 0, 500)
    k_runs = calibrate(500 * n_opt / pilot_s, seconds, n_opt, minimum=500)
    last = {}
    rows = {"kernel": (k_runs, lambda: last.__setitem__("kernel", tally_var(runner.run_block(plan, 0, k_runs))))}
    if reference is not None:
        pilot_s, _ = timed(reference.simulate, plan, 200, 1)
        r_runs = calibrate(200 * n_opt / pilot_s, seconds, n_opt, minimum=200)
        rows["reference"] = (r_runs, lambda: last.__setitem__("reference",
                                                              tally_var(reference.simulate(plan, r_runs, 1))))
    pilot_s, _ = timed(python_loop.simulate, iid, 20, 1)
    p_runs = calibrate(20 * n_opt / pilot_s, seconds, n_opt, minimum=20)
    rows["python"] = (p_runs, lambda: last.__setitem__(
        "python", float(np.mean(python_loop.simulate(iid, p_runs, 1)["paired_war_var"][:-1]))))
    times = alternate(repeat, *(fn for _, fn in rows.values()))
    out = {}
    for (name, (runs, _)), t in zip(rows.items(), times, strict=True):
        variance = last[name]
        out[name] = {"runs": runs, "variance_per_run": variance, "seconds": Spread.of(t),
                     "merit": Spread.of(1.0 / (variance / runs * s) for s in t)}
    for row in out.values():
        row["kernel_over_row"] = Spread.ratio(out["kernel"]["merit"].values, row["merit"].values)
    return out


def scaling(cfg, runs: int, blocks: int, repeat: int) -> dict:
    """One and two local workers on the same runs (rounded down to ``blocks``
    equal blocks), alternated with the machine's own ceiling for them: the
    kernel alone on the two halves of the runs, one after the other and on
    two threads at once (no blocks, no adding; what two cores that share a
    memory system and a hypervisor give this kernel)."""
    rpd = cfg.study.runs_per_draw
    block_runs = max(rpd, runs // blocks // rpd * rpd)     # whole parameter draws
    plan = make_plan(cfg.with_overrides(runs=block_runs * blocks), block_runs=block_runs)
    half = blocks // 2 * block_runs
    out = {}

    def run(workers):
        def go():
            out[workers] = runner.run_local(plan, workers, False)
        return go

    def kernel(start, stop):
        kernels.simulate(plan.kernel, start, stop, plan.sensitivity_parameters, plan.sensitivity_edges, True,
                         runner.per_draw_rows(plan, (stop - start) // rpd))

    def halves_in_turn():
        kernel(0, half)
        kernel(half, plan.runs)

    with ThreadPoolExecutor(2) as pool:
        def halves_at_once():
            for future in [pool.submit(kernel, 0, half), pool.submit(kernel, half, plan.runs)]:
                future.result()

        one_s, two_s, seq_s, both_s = alternate(repeat, run(1), run(2), halves_in_turn, halves_at_once)
    identical = dask_overhead.same_tallies(out[1], out[2])
    return {"runs": plan.runs, "blocks": len(plan.blocks), "block_runs": plan.block_runs, "one_s": Spread.of(one_s),
            "two_s": Spread.of(two_s), "speedup": Spread.ratio(one_s, two_s), "identical": identical,
            "kernel_two_threads": Spread.ratio(seq_s, both_s)}


def start_times(config: str, repeat: int) -> dict:
    """A fresh process to the first 100-run block, with an empty numba cache
    (cold: a new empty NUMBA_CACHE_DIR each time) and a filled one (warm),
    alternated: seconds from the spawn to the end of the first block."""
    code = START_CHILD.format(config=config, runs=100)
    detail = {"cold": [], "warm": []}

    def run(kind, cache):
        spawned, wall, r, _ = child(code, env={"NUMBA_CACHE_DIR": cache})
        detail[kind].append({**r, "wall_s": wall, "to_first_block_s": r["first_block_at"] - spawned})

    with tempfile.TemporaryDirectory(prefix="numba-warm-") as warm:
        run("warm", warm)            # fills the warm cache (untimed)
        detail["warm"].clear()
        for _ in range(repeat):
            with tempfile.TemporaryDirectory(prefix="numba-cold-") as cold:
                run("cold", cold)
            run("warm", warm)
    return {kind: {"to_first_block_s": Spread.of(d["to_first_block_s"] for d in rows),
                   "import_s": Spread.of(d["import_s"] for d in rows),
                   "first_block_s": Spread.of(d["first_block_s"] for d in rows)}
            for kind, rows in detail.items()}


def peak_rss(config: str, run_counts, block_runs: int | None = None, workers: int = 2) -> dict:
    """Each study in a fresh process: its peak resident set (VmHWM), and the resident set sampled during the run."""
    return {runs: child(RSS_CHILD.format(config=config, runs=runs, block_runs=block_runs, workers=workers))[2]
            for runs in run_counts}


def full_study(config: str, repeat: int) -> dict:
    """The CLI end to end on 2 workers with warm caches, ``repeat`` times."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="deterrence-full-") as tmp:
        out_path = str(Path(tmp) / "study.nc")
        for _ in range(repeat):
            _, wall, r, err = child(FULL_CHILD.format(config=config, out=out_path))
            rows.append({**r, "wall_s": wall, "cli_says": ([x for x in err.splitlines() if x.strip()] or [""])[-1]})
    return {"seconds": Spread.of(r["seconds"] for r in rows), "wall_s": Spread.of(r["wall_s"] for r in rows),
            "peak_kib": Spread.of(r["peak_kib"] for r in rows), "cli_says": rows[-1]["cli_says"]}


def target_row(key: str, spread: Spread, fmt: str = "{:.2f}", note: str = "") -> tuple[str, str, str, str]:
    t = TARGETS[key]
    at_median, at_worst = t.verdict(spread)
    return (t.measure + note, spread.text(fmt, t.unit), f"{t.sense} {t.limit:g}{t.unit}",
            verdict_text(at_median, at_worst))


def markdown(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("config", nargs="?", default="configs/study.toml")
    p.add_argument("--seconds", type=float, default=3.0, help="target seconds per row and repeat (3)")
    p.add_argument("--repeat", type=int, default=MIN_REPEAT,
                   help=f"alternated repeats of every timing ({MIN_REPEAT}); the ratios are their medians")
    p.add_argument("--scaling-runs", type=int,
                   help="runs of the 1- vs 2-worker comparison (default: about 2 S seconds on one worker)")
    p.add_argument("--scaling-blocks", type=int, default=20, help="blocks the scaling runs are cut into (20)")
    p.add_argument("--rss-runs", type=int, nargs="+", default=[100_000, 1_000_000], metavar="RUNS",
                   help="run counts of the peak-RSS studies, each in a fresh process (100000 1000000)")
    p.add_argument("--rss-block-runs", type=int,
                   help="runs per block of the peak-RSS studies (default: the config's, or less so that the "
                        "smallest study has ten blocks)")
    p.add_argument("--skip-rss", action="store_true", help="skip the peak-RSS studies")
    p.add_argument("--skip-start", action="store_true", help="skip the cold/warm start test")
    p.add_argument("--dask", action="store_true",
                   help="also measure the Dask path's overhead per block (benchmarks/dask_overhead.py)")
    p.add_argument("--full", action="store_true",
                   help="also time the full study end to end (CLI, 2 workers, warm caches)")
    p.add_argument("--full-repeat", type=int, help="repeats of the full study (default: --repeat)")
    p.add_argument("--json", metavar="FILE", help="write every measured number here")
    args = p.parse_args(argv)
    os.chdir(ROOT)
    repeat = args.repeat

    cfg = config_mod.load(args.config)
    plan = make_plan(cfg)
    n_opt = plan.options.shape[0]
    machine = (f"{cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
               f"numba {numba.__version__}, numpy {np.__version__}")
    print(f"config {args.config}: {len(cfg.options)} options + baseline = {n_opt} option rows, "
          f"horizon {plan.horizon} days, block_runs {plan.block_runs:,}")
    print(f"machine: {machine}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if repeat < MIN_REPEAT:
        print(f"only {repeat} repeats: a quick look; a measurement takes at least {MIN_REPEAT}")
    report = {"config": args.config, "machine": machine, "repeat": repeat, "seconds": args.seconds,
              "load_average_start": os.getloadavg()}

    # Compile (or load from the cache) and warm everything before timing.
    runner.run_block(plan, 0, 10)
    floor_mod.Floor(plan, 0, 10).run()
    ok, detail = floor_mod.check_against_kernel(plan, 0, 200)
    print(f"floor draws the kernel's variates (200 runs): {'yes' if ok else 'NO'} ({detail})")
    report["floor_check"] = {"ok": ok, "detail": detail}
    try:
        from deterrence import reference
    except ImportError as error:
        reference = None
        print(f"NumPy reference: missing (deterrence.reference not importable: {error})")

    rows = kernel_rows(plan, cfg, reference, args.seconds, repeat)
    kernel = rows["kernel"]
    kernel_rate = [kernel["runs"] * n_opt / s for s in kernel["seconds"].values]
    for row in rows.values():
        row["rate"] = Spread.of(row["runs"] * n_opt / s for s in row["seconds"].values)
        row["kernel_over_row"] = Spread.ratio(kernel_rate, row["rate"].values)
    names = {"kernel": "numba kernel (1 thread)", "floor": "RNG-only floor (same runs)",
             "bare": "kernel without contrasts (same runs)",
             "reference": "NumPy reference", "python": "per-run Python loop"}
    print(f"\n{repeat} alternated repeats (kernel, floor, reference, loop, kernel, ...); median [min-max]\n")
    print(markdown(("row", "runs", "seconds", "M run-options/s/core", "kernel speed / row speed"),
                   [(names[k], f"{r['runs']:,}", r["seconds"].text(),
                     Spread.of(v / 1e6 for v in r["rate"].values).text("{:.3f}"),
                     r["kernel_over_row"].text()) for k, r in rows.items()]))
    floor_ratio = Spread.ratio(kernel["seconds"].values, rows["floor"]["seconds"].values)
    targets = [target_row("floor", floor_ratio),
               target_row("contrasts", Spread.ratio(kernel["seconds"].values, rows["bare"]["seconds"].values))]
    if "reference" in rows:
        targets.append(target_row("reference", rows["reference"]["kernel_over_row"]))
    else:
        targets.append((TARGETS["reference"].measure, "missing", "", "not measured"))
    targets.append(target_row("python", rows["python"]["kernel_over_row"]))
    report["rows"] = rows
    report["floor_ratio"] = floor_ratio

    fom = figure_of_merit(cfg, reference, args.seconds, repeat)
    print("\nfigure of merit of the headline effect (paired change in days at war, one run per draw): "
          "1 / (squared Monte Carlo error x seconds), median [min-max]\n")
    print(markdown(("row", "runs", "variance per run (days^2)", "seconds", "merit (1 / days^2 s)",
                    "kernel merit / row merit"),
                   [(names[k], f"{r['runs']:,}", f"{r['variance_per_run']:.4g}", r["seconds"].text(),
                     r["merit"].text("{:.4g}"), r["kernel_over_row"].text()) for k, r in fom.items()]))
    report["figure_of_merit"] = fom

    s_runs = args.scaling_runs or calibrate(np.median(kernel_rate), 2 * args.seconds, n_opt,
                                            minimum=100 * args.scaling_blocks)
    sc = scaling(cfg, s_runs, args.scaling_blocks, repeat)
    print(f"\ntwo-worker scaling, {sc['runs']:,} runs in {sc['blocks']} blocks of {sc['block_runs']:,}: "
          f"1 worker {sc['one_s'].text()} s, 2 workers {sc['two_s'].text()} s; tallies identical: "
          f"{sc['identical']}")
    print(f"the machine's ceiling for it: the kernel alone on the two halves, two threads at once vs one after the "
          f"other: {sc['kernel_two_threads'].text()}x")
    targets.append(target_row("scaling", sc["speedup"], note=f" ({sc['runs']:,} runs)"))
    report["scaling"] = sc

    if not args.skip_start:
        st = start_times(args.config, repeat)
        print("\nfresh process to the end of the first 100-run block (NUMBA_CACHE_DIR empty / filled):")
        for kind, r in st.items():
            print(f"  {kind}: {r['to_first_block_s'].text()} s (import {r['import_s'].text()} s, "
                  f"plan + first block {r['first_block_s'].text()} s)")
        targets.append(target_row("cold", st["cold"]["to_first_block_s"]))
        report["start"] = st

    if not args.skip_rss:
        rpd = cfg.study.runs_per_draw
        # Every study in at least ten blocks, so each has its full set of
        # blocks in flight: what grows with the runs is then what a study
        # keeps, not how many blocks run at once.
        rss_block = args.rss_block_runs or max(rpd, min(plan.block_runs, min(args.rss_runs) // 10) // rpd * rpd)
        rss = peak_rss(args.config, args.rss_runs, rss_block)
        print()
        for runs, r in rss.items():
            print(f"peak RSS, {runs:>11,} runs ({r['blocks']} blocks, 2 workers): VmHWM "
                  f"{r['peak_kib'] / 1024:.1f} MiB ({r['before_kib'] / 1024:.1f} MiB before the run); "
                  f"resident set during the run {r['run_start_kib'] / 1024:.1f} -> peak "
                  f"{r['run_peak_kib'] / 1024:.1f} MiB ({r['seconds']:.1f} s); ru_maxrss "
                  f"{r['ru_maxrss_kib'] / 1024:.1f} MiB (carries this process's peak)")
        peak = [r["peak_kib"] for r in rss.values()]
        in_run = [r["run_peak_kib"] for r in rss.values()]
        growth = Spread.of([max(peak) / min(peak)])
        print(f"largest / smallest: VmHWM {growth.median:.3f}, resident peak sampled during the run "
              f"{max(in_run) / min(in_run):.3f}")
        targets.append(target_row("rss", growth, "{:.3f}",
                                  f" ({', '.join(f'{r:,}' for r in args.rss_runs)} runs; one value)"))
        report["rss"] = rss

    if args.dask:
        small = max(50, cfg.study.runs_per_draw)          # one parameter draw at least
        d = dask_overhead.measure(args.config, 200, small, 2, repeat, kinds=("processes",))["clusters"]["processes"]
        o = Spread.of(1e3 * v for v in d["overhead_per_block_s"].values)
        print(f"\nDask (--scheduler local, 2 worker processes) vs local threads, 200 blocks of {small} runs: "
              f"overhead {o.text('{:.1f}')} ms per block; tallies identical: {d['identical']}")
        targets.append((f"Dask overhead per block (200 blocks of {small} runs, 2 workers)", o.text("{:.1f}", " ms"),
                        "(input to BENCHMARKS.md Scale)", ""))
        report["dask"] = d

    if args.full:
        full = full_study(args.config, args.full_repeat or repeat)
        print(f"\nfull study end to end ({cfg.study.runs:,} runs x {n_opt} options, CLI, 2 workers, warm caches): "
              f"{full['seconds'].text('{:.1f}')} s in the CLI, {full['wall_s'].text('{:.1f}')} s process wall; "
              f"CLI says: {full['cli_says']}")
        targets.append(target_row("full", full["seconds"], "{:.1f}"))
        report["full"] = full

    report["load_average_end"] = os.getloadavg()
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\n## Targets ({repeat} alternated repeats; median [min-max]; a target holds when it holds at the "
          f"median and at the worst end)\n")
    print(markdown(("measure", "median [min-max]", "target", "verdict"), targets))
    report["targets"] = [dict(zip(("measure", "value", "target", "verdict"), row, strict=True)) for row in targets]
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=lambda s: s.json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
