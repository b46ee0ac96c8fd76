"""Side-by-side speed of the kernel and its comparators, in one process.

    python -m benchmarks.side_by_side [CONFIG] [--seconds S] [--full]

Same config and priors for every row; run counts are scaled from a short
pilot so each row takes about S seconds; numba is compiled (and warmed) before
anything is timed. Rows: the numba kernel on one thread, the NumPy reference
(``deterrence.reference.simulate``), the per-run Python loop
(``benchmarks/python_loop.py``) and the RNG-only floor (``benchmarks/floor.py``).
Then: kernel efficiency (floor time / kernel time, on the same runs), two-worker
scaling (``runner.run_local`` with 1 and 2 workers on the same runs), peak RSS of
a small and a larger study (each in a fresh subprocess, ``ru_maxrss``), cold and
warm start (time to the first block in a fresh subprocess with an empty and
with a filled numba cache), and with ``--full`` the full study end to end
through the CLI on two workers with warm caches.

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
from pathlib import Path

import numba
import numpy as np

from benchmarks import floor as floor_mod
from benchmarks import python_loop
from deterrence import config as config_mod
from deterrence import runner
from deterrence.plan import make_plan

ROOT = Path(__file__).resolve().parents[1]

# Targets of the project (see BENCHMARKS.md).
TARGET_FLOOR = 1.5        # kernel time <= 1.5 x floor time
TARGET_REFERENCE = 3.0    # kernel >= 3 x the NumPy reference, per core
TARGET_PYTHON = 50.0      # kernel >= 50 x the per-run Python loop
TARGET_SCALING = 1.85     # two local workers >= 1.85 x one
TARGET_RSS = 0.10         # peak RSS within 10% between a small and a large study
TARGET_FULL_S = 120.0     # full default study under 2 minutes on 2 cores


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def verdict(ok: bool) -> str:
    return "holds" if ok else "FAILS"


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def calibrate(rate_of_pilot: float, seconds: float, n_options: int, minimum: int = 1) -> int:
    """Runs that take about ``seconds`` at a pilot's run-options per second."""
    return max(minimum, int(seconds * rate_of_pilot / n_options))


def kernel_and_floor(plan, runs: int, repeat: int, chunk: int):
    """Kernel (one thread) and floor on the same runs, chunk by chunk,
    interleaved so load on the machine hits both alike; per chunk the best
    of ``repeat`` for each. Returns (kernel seconds, floor seconds, runs)."""
    kernel_s = floor_s = 0.0
    done = 0
    for start in range(0, runs, chunk):
        stop = min(start + chunk, runs)
        fl = floor_mod.Floor(plan, start, stop)       # untimed recording pass
        best_k = best_f = float("inf")
        for _ in range(repeat):
            best_k = min(best_k, timed(runner.run_block, plan, start, stop)[0])
            best_f = min(best_f, timed(fl.run)[0])
        kernel_s += best_k
        floor_s += best_f
        done += stop - start
    return kernel_s, floor_s, done


def best_of(repeat: int, fn, *args) -> float:
    return min(timed(fn, *args)[0] for _ in range(repeat))


def child(code: str, env: dict | None = None, timeout: float = 1800.0) -> tuple[float, dict, str]:
    """Run ``code`` in a fresh interpreter; it prints one JSON line last.
    Returns (wall seconds, that JSON, stderr)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=timeout)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return wall, json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


RSS_CHILD = """
import json, resource, sys, threading, time
from deterrence import config, runner
from deterrence.plan import make_plan

def rss_kib():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

cfg = config.load({config!r}).with_overrides(runs={runs})
plan = make_plan(cfg)
runner.run_block(plan, 0, 10)       # compile (from the cache) before timing
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start_rss = rss_kib()
sampled = [start_rss]
stop = threading.Event()

def sample():                       # the resident set during the run, every 20 ms
    while not stop.wait(0.02):
        sampled.append(rss_kib())

sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
start = time.perf_counter()
tallies = runner.run_local(plan, workers={workers}, show_progress=False)
seconds = time.perf_counter() - start
stop.set()
sampler.join()
assert tallies.runs == {runs}
print(json.dumps({{"maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "before_kib": before, "run_start_kib": start_rss, "run_peak_kib": max(sampled),
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
                  "to_first_block_s": t_block - t0}}))
"""

FULL_CHILD = """
import json, resource, sys, time
from deterrence import cli
start = time.perf_counter()
rc = cli.main(["run", {config!r}, "--out", {out!r}, "--workers", "2", "--overwrite"])
seconds = time.perf_counter() - start
print(json.dumps({{"rc": rc, "seconds": seconds,
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("config", nargs="?", default="configs/study.toml")
    p.add_argument("--seconds", type=float, default=3.0, help="target seconds per table row")
    p.add_argument("--repeat", type=int, default=3, help="best of this many timings per row")
    p.add_argument("--scaling-runs", type=int, default=100_000,
                   help="runs for the one- vs two-worker comparison")
    p.add_argument("--scaling-blocks", type=int, default=20,
                   help="blocks the scaling runs are cut into")
    p.add_argument("--scaling-repeat", type=int, default=2,
                   help="best of this many alternated 1- and 2-worker timings")
    p.add_argument("--rss-runs", type=int, nargs=2, default=(100_000, 400_000),
                   metavar=("SMALL", "LARGE"), help="run counts of the peak-RSS pair")
    p.add_argument("--full", action="store_true",
                   help="also time the full study end to end (CLI, 2 workers, warm caches)")
    p.add_argument("--skip-start", action="store_true", help="skip the cold/warm start test")
    args = p.parse_args(argv)
    os.chdir(ROOT)

    cfg = config_mod.load(args.config)
    plan = make_plan(cfg)
    n_opt = plan.options.shape[0]
    print(f"config {args.config}: {len(cfg.options)} options + baseline = {n_opt} option rows, "
          f"horizon {plan.horizon} days, block_runs {plan.block_runs:,}")
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
          f"numba {numba.__version__}, numpy {np.__version__}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    # Compile (or load from the cache) and warm everything before timing.
    runner.run_block(plan, 0, 10)
    floor_mod.Floor(plan, 0, 10).run()
    ok, detail = floor_mod.check_against_kernel(plan, 0, 200)
    print(f"floor draws the kernel's variates (200 runs): {'yes' if ok else 'NO'} ({detail})")
    try:
        from deterrence import reference
    except ImportError as error:
        reference = None
        print(f"NumPy reference: missing (deterrence.reference not importable: {error})")

    rows = []   # (name, runs, seconds)

    # Kernel and floor, same runs.
    pilot_s, _ = timed(runner.run_block, plan, 0, 500)
    k_runs = calibrate(500 * n_opt / pilot_s, args.seconds, n_opt, minimum=500)
    chunk = max(100, min(20_000, k_runs // 2))
    kernel_s, floor_s, k_runs = kernel_and_floor(plan, k_runs, args.repeat, chunk)
    rows.append(("numba kernel (1 thread)", k_runs, kernel_s))

    if reference is not None:
        reference.simulate(plan, 50, 1)
        pilot_s, _ = timed(reference.simulate, plan, 200, 1)
        r_runs = calibrate(200 * n_opt / pilot_s, args.seconds, n_opt, minimum=200)
        rows.append(("NumPy reference", r_runs, best_of(args.repeat, reference.simulate, plan,
                                                        r_runs, 1)))
    python_loop.simulate(cfg, 2, 1)
    pilot_s, _ = timed(python_loop.simulate, cfg, 20, 1)
    p_runs = calibrate(20 * n_opt / pilot_s, args.seconds, n_opt, minimum=20)
    rows.append(("per-run Python loop", p_runs, best_of(args.repeat, python_loop.simulate, cfg,
                                                         p_runs, 1)))
    rows.append(("RNG-only floor", k_runs, floor_s))

    kernel_rate = k_runs * n_opt / kernel_s
    print()
    print(f"{'row':<26}{'runs':>9}{'run-options':>14}{'seconds':>9}"
          f"{'run-options/s/core':>20}{'kernel/row':>12}")
    rates = {}
    for name, runs, seconds in rows:
        rate = runs * n_opt / seconds
        rates[name] = rate
        print(f"{name:<26}{runs:>9,}{runs * n_opt:>14,}{seconds:>9.2f}{rate:>20,.0f}"
              f"{kernel_rate / rate:>12.2f}")
    if reference is None:
        print(f"{'NumPy reference':<26}  missing")
    efficiency = floor_s / kernel_s
    print(f"\nkernel efficiency (floor time / kernel time, same {k_runs:,} runs, best of "
          f"{args.repeat} per {chunk}-run chunk): {efficiency:.3f}, "
          f"i.e. kernel time = {1 / efficiency:.2f} x floor")

    # Two-worker scaling.
    s_runs = args.scaling_runs
    s_plan = make_plan(cfg.with_overrides(runs=s_runs),
                              block_runs=max(1, s_runs // args.scaling_blocks))
    one_s = two_s = float("inf")
    for _ in range(args.scaling_repeat):     # alternate, best of each: load hits both alike
        seconds, t1 = timed(runner.run_local, s_plan, 1, False)
        one_s = min(one_s, seconds)
        seconds, t2 = timed(runner.run_local, s_plan, 2, False)
        two_s = min(two_s, seconds)
    same = all(np.array_equal(a, b) for a, b in ((t1.hist, t2.hist), (t1.moments, t2.moments),
                                                  (t1.paired, t2.paired)))
    scaling = one_s / two_s
    print(f"\ntwo-worker scaling, {s_runs:,} runs x {n_opt} options in {len(s_plan.blocks)} blocks "
          f"of {s_plan.block_runs:,}, best of {args.scaling_repeat}: 1 worker {one_s:.2f} s, "
          f"2 workers {two_s:.2f} s, speed-up {scaling:.2f}x; tallies identical: {same}; "
          f"load average now {os.getloadavg()[0]:.2f}")

    # Peak RSS, each study in a fresh process (2 workers, the config's blocks).
    rss = {}
    for runs in args.rss_runs:
        _, out, _ = child(RSS_CHILD.format(config=args.config, runs=runs, workers=2))
        rss[runs] = out
        print(f"peak RSS, {runs:>11,} runs ({out['blocks']} blocks, 2 workers): ru_maxrss "
              f"{out['maxrss_kib'] / 1024:.1f} MiB ({out['before_kib'] / 1024:.1f} MiB already before "
              f"the run); resident set sampled during the run {out['run_start_kib'] / 1024:.1f} -> "
              f"peak {out['run_peak_kib'] / 1024:.1f} MiB ({out['seconds']:.1f} s)")
    small, large = args.rss_runs
    growth = rss[large]["maxrss_kib"] / rss[small]["maxrss_kib"] - 1.0
    growth_run = rss[large]["run_peak_kib"] / rss[small]["run_peak_kib"] - 1.0
    print(f"peak RSS growth {small:,} -> {large:,} runs: ru_maxrss {100 * growth:+.1f}%, "
          f"sampled peak during the run {100 * growth_run:+.1f}%")

    # Cold and warm start: time to the first block in a fresh process.
    if not args.skip_start:
        with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
            code = START_CHILD.format(config=args.config, runs=100)
            cold_wall, cold, _ = child(code, env={"NUMBA_CACHE_DIR": cache})
            warm_wall, warm, _ = child(code, env={"NUMBA_CACHE_DIR": cache})
        print("\nstart, fresh process to the first block (100 runs), NUMBA_CACHE_DIR:")
        for name, r, wall in (("cold (empty cache)", cold, cold_wall),
                              ("warm (filled cache)", warm, warm_wall)):
            print(f"  {name:<20} import {r['import_s']:5.2f} s + first block "
                  f"{r['first_block_s']:6.2f} s = {r['to_first_block_s']:6.2f} s "
                  f"(process wall {wall:.2f} s)")

    full = None
    if args.full:
        with tempfile.TemporaryDirectory(prefix="deterrence-full-") as tmp:
            out_path = str(Path(tmp) / "study.nc")
            wall, full, err = child(FULL_CHILD.format(config=args.config, out=out_path))
        full["wall"] = wall
        last = [line for line in err.splitlines() if line.strip()][-1:]
        print(f"\nfull study end to end ({cfg.study.runs:,} runs x {n_opt} options, CLI, 2 workers, "
              f"warm caches): {full['seconds']:.1f} s in the CLI, {wall:.1f} s process wall, "
              f"peak RSS {full['maxrss_kib'] / 1024:.1f} MiB; CLI says: {' '.join(last)}")

    # Targets.
    print("\ntargets:")
    print(f"  kernel time <= {TARGET_FLOOR}x RNG floor: {1 / efficiency:.2f}x -> "
          f"{verdict(1 / efficiency <= TARGET_FLOOR)}")
    if reference is not None:
        r = kernel_rate / rates["NumPy reference"]
        print(f"  kernel >= {TARGET_REFERENCE}x NumPy reference per core: {r:.1f}x -> "
              f"{verdict(r >= TARGET_REFERENCE)}")
    else:
        print("  kernel >= 3x NumPy reference per core: not measured (reference missing)")
    r = kernel_rate / rates["per-run Python loop"]
    print(f"  kernel >= {TARGET_PYTHON}x per-run Python loop: {r:.1f}x -> {verdict(r >= TARGET_PYTHON)}")
    print(f"  two workers >= {TARGET_SCALING}x one: {scaling:.2f}x on {s_runs:,} runs "
          f"(target stated on 1e7) -> {verdict(scaling >= TARGET_SCALING)}")
    print(f"  peak RSS within {100 * TARGET_RSS:.0f}%: ru_maxrss {100 * growth:+.1f}%, sampled during "
          f"the run {100 * growth_run:+.1f}%, between {small:,} and {large:,} runs (target stated on "
          f"1e5 vs 1e8) -> {verdict(max(abs(growth), abs(growth_run)) <= TARGET_RSS)}")
    if full is not None:
        print(f"  full study < {TARGET_FULL_S:.0f} s on 2 cores: {full['seconds']:.1f} s -> "
              f"{verdict(full['seconds'] < TARGET_FULL_S)}")
        growth_full = full["maxrss_kib"] / rss[small]["maxrss_kib"] - 1.0
        print(f"  peak RSS, full study vs {small:,} runs: {100 * growth_full:+.1f}% -> "
              f"{verdict(abs(growth_full) <= TARGET_RSS)}")
    else:
        print("  full study < 120 s on 2 cores: not measured (pass --full)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
