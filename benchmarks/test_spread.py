"""The benchmarks' bookkeeping: alternation, spreads, target verdicts and
the cluster projection's formula. No timings are asserted."""

import math
from pathlib import Path

import pytest

from benchmarks import dask_overhead
from benchmarks.spread import Spread, Target, alternate, verdict_text
from deterrence import config

CLUSTER = Path(__file__).resolve().parents[1] / "configs" / "cluster.toml"


def test_alternate_calls_in_turn():
    calls = []
    seconds = alternate(3, lambda: calls.append("a"), lambda: calls.append("b"))
    assert calls == ["a", "b"] * 3
    assert [len(s) for s in seconds] == [3, 3]


def test_spread_and_ratio():
    s = Spread.ratio([4.0, 9.0, 6.0], [2.0, 3.0, 1.0])
    assert s.values == (2.0, 3.0, 6.0)
    assert (s.median, s.min, s.max) == (3.0, 2.0, 6.0)
    assert s.text() == "3.00 [2.00-6.00]"


@pytest.mark.parametrize("sense, values, expected", [
    (">=", (3.5, 3.1, 2.9), (True, False)),    # a speed-up: its worst end is the minimum
    (">=", (3.5, 3.1, 3.2), (True, True)),
    ("<=", (1.4, 1.45, 1.6), (True, False)),   # a time ratio: its worst end is the maximum
    ("<=", (1.6, 1.7, 1.4), (False, False)),
])
def test_target_verdict_at_median_and_worst_end(sense, values, expected):
    limit = 3.0 if sense == ">=" else 1.5
    assert Target("m", sense, limit).verdict(Spread.of(values)) == expected


def test_verdict_text():
    assert verdict_text(True, True) == "holds"
    assert verdict_text(False, True) == "FAILS"
    assert "worst" in verdict_text(True, False)


def test_unknown_sense_is_an_error():
    with pytest.raises(ValueError):
        Target("m", "<", 1.0).holds(0.5)


def test_projection_without_overhead_is_the_ideal_split():
    """No overhead and no transfer: the wall time is the rounds of blocks,
    so the efficiency is only lost to idle cores in the last round."""
    cfg = config.load(CLUSTER)
    n_opt = len(cfg.options) + 1
    rows = dask_overhead.project(cfg, 100.0, dask_overhead.Costs(0.0, bandwidth_gbit=math.inf))
    blocks = math.ceil(cfg.study.runs / cfg.study.block_runs)
    for row in rows:
        rounds = math.ceil(blocks / row["cores"])
        assert row["wall_s"] == pytest.approx(rounds * cfg.study.block_runs * n_opt * 100e-9)
        assert row["efficiency"] == pytest.approx(blocks / (rounds * row["cores"]))
        assert row["overhead"] == pytest.approx(0.0, abs=1e-12)


def test_projection_tail_and_worker_share():
    """Every block to the client (no tree), a per-block overhead o on the
    worker and a receive of o at the client: R (t_b + o) + min(P, B) o (the
    client keeps up). With the tree on 10 cores (B = 100 blocks, G = 10):
    the 90 combines at c add ceil(90 / 10) c to the workers, and the last
    round's 10 blocks take ceil(log2 10) = 4 levels of c and one receive."""
    cfg = config.load(CLUSTER)
    n_opt = len(cfg.options) + 1
    o, c = 0.05, 0.02
    t_b = cfg.study.block_runs * n_opt * 100e-9
    assert math.ceil(cfg.study.runs / cfg.study.block_runs) == 100
    flat = dask_overhead.Costs(o, receive_s=o, bandwidth_gbit=math.inf)
    (row,) = dask_overhead.project(cfg, 100.0, flat, cores=(10,), tree=False)
    assert row["wall_s"] == pytest.approx(10 * (t_b + o) + 10 * o)
    tree = dask_overhead.Costs(o, combine_s=c, receive_s=o, bandwidth_gbit=math.inf)
    (row,) = dask_overhead.project(cfg, 100.0, tree, cores=(10,))
    assert row["sums"] == 10
    assert row["wall_s"] == pytest.approx(10 * (t_b + o) + 9 * c + 4 * c + o)
    assert dask_overhead.minimum_block(n_opt, 100.0, o) * n_opt * 100e-9 >= 100 * o
