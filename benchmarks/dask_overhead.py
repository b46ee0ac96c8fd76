"""Per-block overhead of the Dask path, and what it means at cluster scale.

    python -m benchmarks.dask_overhead [CONFIG] [--blocks 200] [--block-runs 50] [--workers 2]
                                       [--repeat 5] [--project configs/cluster.toml]

The same runs, cut into many small blocks, go through ``runner.run_local``
(threads) and ``runner.run_dask``, alternated ``--repeat`` times; per repeat
the overhead per block is ``(dask seconds - local seconds) / blocks``.
Two Dask clusters are measured, each with ``--workers`` single-threaded
workers: the project's own local cluster (``clusters.client_for("local")``,
as ``--scheduler local``: worker processes, TLS, blocks added up on the
workers and the sums pickled and sent to the client) and an in-process one
(``LocalCluster(processes=False)``: the scheduler's and the client's part
alone, no serialisation); on each, the seconds per empty task. Beside
them, measured in this process: pickling a block's tallies (the worker's
side), unpickling and adding them (the client's side), combining two
blocks on a worker, receiving their sum, and the kernel's seconds per
run-option on one core; and for the projection, the same for a sum of the
projected study's shapes with every count filled (the heaviest a sum can be).

``--project CONFIG`` then prints the expected wall time and efficiency of
that study on 10, 100 and 1,000 cores (see :func:`project` for the formula,
also in BENCHMARKS.md "Scale").
"""

import argparse
import contextlib
import json
import math
import os
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.spread import Spread, alternate, timed
from deterrence import clusters, config, runner
from deterrence.plan import make_plan
from deterrence.tallies import Tallies

ROOT = Path(__file__).resolve().parents[1]
CORES = (10, 100, 1_000)
TARGET_OVERHEAD = 0.01      # scheduling overhead under 1% of the wall time


@contextlib.contextmanager
def local_client(kind: str, workers: int):
    """A Dask client on ``workers`` single-threaded workers: ``processes``
    is the project's ``--scheduler local``, ``threads`` an in-process cluster."""
    if kind == "processes":
        with clusters.client_for("local", workers) as client:
            yield client
    elif kind == "threads":
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=False,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            yield client
    else:
        raise ValueError(f"cluster kind: {kind!r} is not 'processes' or 'threads'")


def same_tallies(a, b) -> bool:
    return a.runs == b.runs and all(np.array_equal(x, y) for x, y in
                                    zip(a.arrays().values(), b.arrays().values(), strict=True))


def kernel_seconds_per_run_option(plan, runs: int, repeat: int) -> Spread:
    """One core, one block of ``runs`` runs, ``repeat`` times."""
    n_opt = plan.options.shape[0]
    runner.run_block(plan, 0, 10)
    return Spread.of(timed(runner.run_block, plan, 0, runs)[0] / (runs * n_opt) for _ in range(repeat))


def client_side(plan, block_runs: int, repeat: int) -> dict:
    """Bytes of one block's pickled tallies and the seconds to pickle them
    (worker side) and to unpickle and add them to a total (client side);
    and for the tree reduction: combining two blocks on a worker (one of
    them moved from another worker: pickled and unpickled; ``combine``),
    and a sum of two blocks pickled and received by the client
    (``sum_bytes``, ``receive``)."""
    block = runner.run_block(plan, 0, block_runs)
    other = runner.run_block(plan, block_runs, 2 * block_runs)
    total = (block + other).widened()
    data, pair = pickle.dumps(block), pickle.dumps(block + other)

    def receive():
        total.__iadd__(pickle.loads(data))

    def combine():
        return block + pickle.loads(pickle.dumps(other))

    def receive_sum():
        total.__iadd__(pickle.loads(pair))

    dump_s, receive_s, combine_s, sum_s = alternate(repeat, lambda: pickle.dumps(block), receive, combine,
                                                    receive_sum)
    return {"bytes": len(data), "pickle": Spread.of(dump_s), "unpickle_add": Spread.of(receive_s),
            "combine": Spread.of(combine_s), "sum_bytes": len(pair), "receive_sum": Spread.of(sum_s)}


def full_sum(cfg, repeat: int) -> dict:
    """The same for a sum whose every count is nonzero (the tallies of
    ``cfg``'s shapes, dense, all ones: as a sum of many large blocks, the
    most it can weigh): its pickled bytes, combining two on a worker, and
    the client receiving one. The projection's upper bound per sum."""
    plan = make_plan(cfg.with_overrides(runs=cfg.study.runs_per_draw), block_runs=cfg.study.runs_per_draw)
    shape = runner.run_block(plan, 0, plan.runs_per_draw).widened()
    full = Tallies.from_arrays(1, {name: np.ones_like(value) for name, value in shape.arrays().items()})
    data = pickle.dumps(full)
    total = full + full

    def receive():
        total.__iadd__(pickle.loads(data))

    combine_s, receive_s = alternate(repeat, lambda: full + pickle.loads(data), receive)
    return {"bytes": len(data), "combine": Spread.of(combine_s), "receive": Spread.of(receive_s)}


def _nothing(shared):
    return None


def task_seconds(client, tasks: int, repeat: int) -> Spread:
    """The scheduler's and the client's share of one task: ``tasks`` empty
    tasks through ``clusters.map_blocks``, seconds per task."""
    return Spread.of(timed(lambda: list(clusters.map_blocks(_nothing, None, [()] * tasks, client)))[0] / tasks
                     for _ in range(repeat))


def overhead(plan, kind: str, workers: int, repeat: int) -> dict:
    """Local threads and one Dask cluster kind on the same plan, alternated."""
    with contextlib.ExitStack() as stack:
        start_s, client = timed(stack.enter_context, local_client(kind, workers))
        reference = runner.run_local(plan, workers, False)
        identical = same_tallies(runner.run_dask(plan, client, False), reference)   # warms the workers
        local_s, dask_s = alternate(repeat, lambda: runner.run_local(plan, workers, False),
                                    lambda: runner.run_dask(plan, client, False))
        task_s = task_seconds(client, 400, repeat)
    per_block = Spread.of((d - lo) / len(plan.blocks) for d, lo in zip(dask_s, local_s, strict=True))
    return {"start_s": start_s, "local_s": Spread.of(local_s), "dask_s": Spread.of(dask_s),
            "overhead_per_block_s": per_block, "task_s": task_s, "identical": identical}


def measure(config_path: str, blocks: int, block_runs: int, workers: int, repeat: int,
            kinds=("processes", "threads")) -> dict:
    """Per-block overhead of each Dask cluster kind against local threads on
    the same runs; blocks hold whole parameter draws (at least one)."""
    cfg = config.load(config_path)
    rpd = cfg.study.runs_per_draw
    block_runs = max(rpd, block_runs // rpd * rpd)
    cfg = cfg.with_overrides(runs=blocks * block_runs)
    plan = make_plan(cfg, block_runs=block_runs)
    runner.run_block(plan, 0, 10)               # compile or load the kernels here
    return {"config": str(config_path), "blocks": len(plan.blocks), "block_runs": block_runs,
            "workers": workers, "options": int(plan.options.shape[0]),
            "clusters": {kind: overhead(plan, kind, workers, repeat) for kind in kinds}}


@dataclass(frozen=True)
class Costs:
    """The measured costs the projection adds to the kernel's time (seconds,
    bytes)."""
    overhead_s: float           # o: per block, on its worker (Dask - local threads, per block)
    task_s: float = 0.0         # e: the scheduler's and client's share of one task
    combine_s: float = 0.0      # c: two results combined on a worker, one moved from another
    receive_s: float = 0.0      # r: the client unpickling and adding one sum
    bytes: int = 0              # a sum's pickled tallies
    bandwidth_gbit: float = 10.0

    @property
    def transfer_s(self) -> float:
        return self.bytes * 8 / (self.bandwidth_gbit * 1e9)


def project(cfg, ns_per_run_option: float, costs: Costs, cores=CORES, block_runs: int | None = None,
            tree: bool = True) -> list[dict]:
    """Expected wall time and efficiency of ``cfg`` on each number of cores.

    With N runs, n options, b runs per block, t seconds per run-option on one
    core, P cores, B = ceil(N / b) blocks in R = ceil(B / P) rounds, and
    the runner's tree reduction (``clusters.sum_blocks``: finished results
    combined on the workers into sums of at most G = P blocks; ``tree``
    False: G = 1, every block to the client), S = ceil(B / G) sums:

    - a block computes in t_b = b n t on its worker, plus the measured
      per-block overhead o (counted on the worker too: an upper bound);
      the B - S combines, c plus moving a sum, x = bytes / bandwidth,
      share the workers: W = R (t_b + o) + ceil((B - S) / P) (c + x);
    - the client handles every task (B blocks, B - S combines) at e each
      and receives every sum at s = max(r, x): C = (2 B - S) e + S s;
    - the blocks of a round finish together, so after the last one its
      L = min(P, B) blocks are combined in ceil(log2 min(L, G)) levels and
      reach the client as ceil(L / G) sums, its tasks handled one after
      another: tail = levels (c + x) + (2 L - ceil(L / G)) e + ceil(L / G) s.

    T = max(W, C) + tail (each term an upper bound); efficiency =
    N n t / (P T); scheduling overhead = 1 - R t_b / T.
    """
    plan = make_plan(cfg, block_runs=block_runs)
    n_runs, n_opt, b = plan.runs, int(plan.options.shape[0]), plan.block_runs
    t = ns_per_run_option * 1e-9
    x = costs.transfer_s
    s = max(costs.receive_s, x)
    rows = []
    for p in cores:
        group = p if tree else 1
        n_blocks = math.ceil(n_runs / b)
        rounds = math.ceil(n_blocks / p)
        sums = math.ceil(n_blocks / group)
        t_b = b * n_opt * t
        workers = rounds * (t_b + costs.overhead_s) + math.ceil((n_blocks - sums) / p) * (costs.combine_s + x)
        client = (2 * n_blocks - sums) * costs.task_s + sums * s
        last = min(p, n_blocks)
        last_sums = math.ceil(last / group)
        levels = math.ceil(math.log2(min(last, group))) if min(last, group) > 1 else 0
        tail = levels * (costs.combine_s + x) + (2 * last - last_sums) * costs.task_s + last_sums * s
        wall = max(workers, client) + tail
        rows.append({"cores": p, "block_runs": b, "blocks": n_blocks, "rounds": rounds, "sums": sums,
                     "block_s": t_b, "tail_s": tail, "wall_s": wall, "ideal_s": n_runs * n_opt * t / p,
                     "efficiency": n_runs * n_opt * t / (p * wall),
                     "overhead": 1 - rounds * t_b / wall})
    return rows


def by_block_size(cfg, ns_per_run_option: float, costs: Costs, cores: int, tree: bool = True) -> list[dict]:
    """The projection on ``cores`` for blocks of 1, 2 and 5 x 10^k runs (100 to N) that hold whole
    parameter draws."""
    sizes = sorted({k * 10 ** e for e in range(2, 12) for k in (1, 2, 5)
                    if k * 10 ** e <= cfg.study.runs and (k * 10 ** e) % cfg.study.runs_per_draw == 0})
    return [project(cfg, ns_per_run_option, costs, (cores,), b, tree)[0] for b in sizes]


def best_block(rows: list[dict]) -> dict:
    """The smallest block within 0.1 percentage point of the best efficiency
    (smaller blocks checkpoint and balance better)."""
    best = max(r["efficiency"] for r in rows)
    return min((r for r in rows if r["efficiency"] >= best - 0.001), key=lambda r: r["block_runs"])


def minimum_block(n_opt: int, ns_per_run_option: float, overhead_s: float) -> int:
    """Smallest block whose per-block overhead is under 1% of its compute."""
    return math.ceil(overhead_s / (TARGET_OVERHEAD * n_opt * ns_per_run_option * 1e-9))


def print_projection(cfg_path: str, ns: float, costs: Costs) -> list[dict]:
    cfg = config.load(cfg_path)
    n_opt = len(cfg.options) + 1
    print(f"\n### {cfg_path}: {cfg.study.runs:,} runs x {n_opt} options, {ns:.0f} ns per run-option; per "
          f"block o {1e3 * costs.overhead_s:.1f} ms, per task e {1e3 * costs.task_s:.2f} ms; per sum (every "
          f"count filled, {costs.bytes / 1e6:.1f} MB at {costs.bandwidth_gbit:g} Gbit/s): combine c "
          f"{1e3 * costs.combine_s:.0f} ms, receive r {1e3 * costs.receive_s:.0f} ms\n")
    print("| cores | block runs | blocks | sums to the client | block s | tail s | wall s | ideal s | efficiency "
          "| overhead | efficiency, every block to the client |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows, notes = [], []
    for p in CORES:
        sizes = by_block_size(cfg, ns, costs, p)
        here = project(cfg, ns, costs, (p,))[0]
        best = best_block(sizes)
        chosen = [here] if best["block_runs"] == here["block_runs"] else [here, best]
        for r in chosen:
            r["efficiency_without_tree"] = project(cfg, ns, costs, (p,), r["block_runs"], tree=False)[0][
                "efficiency"]
        rows += chosen
        under = [r["block_runs"] for r in sizes if r["overhead"] < TARGET_OVERHEAD and r["blocks"] >= p]
        notes.append(f"{p:,} cores: overhead under 1% with every core busy: blocks of {min(under):,} to "
                     f"{max(under):,} runs" if under else
                     f"{p:,} cores: no block size keeps the overhead under 1% with every core busy (best: "
                     f"{best['block_runs']:,} runs, {100 * best['overhead']:.1f}% overhead, "
                     f"{100 * best['efficiency']:.1f}% efficiency)")
    for r in rows:
        print(f"| {r['cores']:,} | {r['block_runs']:,} | {r['blocks']:,} | {r['sums']:,} | {r['block_s']:.1f} | "
              f"{r['tail_s']:.2f} | {r['wall_s']:.1f} | {r['ideal_s']:.1f} | {100 * r['efficiency']:.1f}% | "
              f"{100 * r['overhead']:.2f}% | {100 * r['efficiency_without_tree']:.1f}% |")
    print()
    for note in notes:
        print(note)
    print(f"smallest block with the per-block overhead under 1% of its compute (the worker's share): "
          f"{minimum_block(n_opt, ns, costs.overhead_s):,} runs")
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("config", nargs="?", default="configs/study.toml")
    p.add_argument("--blocks", type=int, default=200, help="blocks per timed study")
    p.add_argument("--block-runs", type=int, default=50,
                   help="runs per block (rounded down to whole parameter draws, at least one)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeat", type=int, default=5, help="alternated local/dask repeats")
    p.add_argument("--clusters", nargs="+", default=["processes", "threads"], choices=["processes", "threads"],
                   help="local clusters to time; the first one's overhead goes into the projection")
    p.add_argument("--project", metavar="CONFIG", default="configs/cluster.toml",
                   help="study to project onto 10, 100 and 1,000 cores ('' to skip)")
    p.add_argument("--ns-per-run-option", type=float,
                   help="kernel time per run-option for the projection (default: measured here, "
                        "one core, a 2,000-run block)")
    p.add_argument("--overhead-ms", type=float,
                   help="per-block overhead for the projection; given, no cluster is timed")
    p.add_argument("--task-ms", type=float,
                   help="the scheduler's and client's share of one task (default: measured on the first "
                        "cluster; 0 with --overhead-ms)")
    p.add_argument("--bandwidth-gbit", type=float, default=10.0,
                   help="network into the client, for the projection")
    p.add_argument("--json", metavar="FILE", help="write the numbers here")
    args = p.parse_args(argv)
    os.chdir(ROOT)

    plan = make_plan(config.load(args.config))
    cs = client_side(plan, 1_000, args.repeat)
    if args.overhead_ms is None:
        out = measure(args.config, args.blocks, args.block_runs, args.workers, args.repeat, args.clusters)
        print(f"{out['blocks']} blocks of {out['block_runs']} runs x {out['options']} options "
              f"({args.config}), {args.workers} workers, {args.repeat} alternated repeats; "
              f"median [min-max]\n")
        print("| path | cluster start s | local s | dask s | overhead per block ms | per empty task ms "
              "| tallies identical |")
        print("|---|---|---|---|---|---|---|")
        for kind, r in out["clusters"].items():
            print(f"| dask {kind} | {r['start_s']:.1f} | {r['local_s'].text()} | {r['dask_s'].text()} | "
                  f"{Spread.of(1e3 * v for v in r['overhead_per_block_s'].values).text('{:.1f}')} | "
                  f"{Spread.of(1e3 * v for v in r['task_s'].values).text('{:.2f}')} | {r['identical']} |")
        first = out["clusters"][args.clusters[0]]
        overhead_s, task_s = max(first["overhead_per_block_s"].median, 0.0), first["task_s"].median
    else:
        out = {}
        overhead_s, task_s = args.overhead_ms / 1e3, 0.0
    if args.task_ms is not None:
        task_s = args.task_ms / 1e3
    out["client_side"] = cs
    print(f"\none block's tallies: {cs['bytes'] / 1e6:.1f} MB pickled; pickle "
          f"{Spread.of(1e3 * v for v in cs['pickle'].values).text('{:.2f}')} ms, unpickle + add "
          f"{Spread.of(1e3 * v for v in cs['unpickle_add'].values).text('{:.2f}')} ms; two blocks combined "
          f"on a worker {Spread.of(1e3 * v for v in cs['combine'].values).text('{:.1f}')} ms, their sum "
          f"{cs['sum_bytes'] / 1e6:.1f} MB, received by the client "
          f"{Spread.of(1e3 * v for v in cs['receive_sum'].values).text('{:.1f}')} ms")
    if args.ns_per_run_option is None:
        ns = kernel_seconds_per_run_option(plan, 2_000, args.repeat)
        out["kernel_s_per_run_option"] = ns
        print(f"kernel, one core, 2,000-run block: {Spread.of(1e9 * v for v in ns.values).text('{:.0f}')} ns "
              f"per run-option")
    ns_used = args.ns_per_run_option or 1e9 * ns.median
    if args.project:
        full = full_sum(config.load(args.project), args.repeat)
        out["full_sum"] = full
        print(f"a sum of {args.project}'s shapes with every count filled: {full['bytes'] / 1e6:.1f} MB pickled, "
              f"combined {Spread.of(1e3 * v for v in full['combine'].values).text('{:.0f}')} ms, received "
              f"{Spread.of(1e3 * v for v in full['receive'].values).text('{:.0f}')} ms")
        costs = Costs(overhead_s, task_s, full["combine"].median, full["receive"].median, full["bytes"],
                      args.bandwidth_gbit)
        out["projection"] = print_projection(args.project, ns_used, costs)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=lambda s: s.json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
