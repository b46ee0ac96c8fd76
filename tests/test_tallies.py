"""Exact integer tallies: moment sums carried in limbs stay exact up to MAX_RUNS."""

import pickle

import numpy as np
import pytest

from deterrence import kernels
from deterrence.model import MAX_COUNT, MAX_RUNS
from deterrence.tallies import COUNTS, Bins, Sparse, Tallies, moment_sums


def test_moment_sums_exact_up_to_max_runs():
    """Blocks of 1e8 runs (the largest), every count MAX_COUNT or -MAX_COUNT
    (paired differences), added up to MAX_RUNS runs: the sums and sums of
    squares equal Python's integers exactly."""
    block = 100_000_000
    moments = np.zeros((1, 1, 3), dtype=np.int64)
    paired = np.zeros((1, 1, 3), dtype=np.int64)
    # A block's limbs as add_moment leaves them (uncarried), by adding the
    # run's limbs block times over.
    one = np.zeros(3, dtype=np.int64)
    kernels.add_moment(one, np.int64(MAX_COUNT))
    moments[0, 0] = one * block
    minus = np.zeros(3, dtype=np.int64)
    kernels.add_moment(minus, np.int64(-MAX_COUNT))
    paired[0, 0] = minus * block
    hist = np.zeros((1, 1, 1), dtype=np.int64)
    after = np.zeros((1, 1, 2), dtype=np.int64)
    total = None
    blocks = MAX_RUNS // block
    for _ in range(blocks):
        t = Tallies(block, hist.copy(), moments.copy(), paired.copy(), after.copy())
        total = t if total is None else total.__iadd__(t)
    runs = blocks * block
    sums, squares = moment_sums(total.moments)
    exact = (int(total.moments[0, 0, 1]) << 32) + int(total.moments[0, 0, 2])
    assert int(total.moments[0, 0, 0]) == runs * MAX_COUNT
    assert exact == runs * MAX_COUNT**2 and squares[0, 0] == float(runs * MAX_COUNT**2)
    assert int(total.paired[0, 0, 0]) == -runs * MAX_COUNT
    assert (int(total.paired[0, 0, 1]) << 32) + int(total.paired[0, 0, 2]) == runs * MAX_COUNT**2
    with pytest.raises(OverflowError):
        total += Tallies(block, hist.copy(), moments.copy(), paired.copy(), after.copy())


def test_pickled_tallies_are_exact_and_compact():
    # What dask sends from a worker: counts as int32 or as their nonzero
    # entries, back as the same int64 arrays; a count above int32 stays whole.
    gen = np.random.default_rng(3)
    hist = np.zeros((2, 4, 50), dtype=np.int64)
    hist[:, :, 7] = gen.integers(0, 2**31 - 1, (2, 4))           # sparse
    draw_hist = gen.integers(0, 5, (2, 12, 11))                     # dense
    after = np.array([[[2**40, 1]]], dtype=np.int64)                # beyond int32
    t = Tallies(1000, hist, np.zeros((2, 4, 3), dtype=np.int64), np.zeros((2, 14, 3), dtype=np.int64), after,
                draw_hist=draw_hist, draw_diff=np.zeros((2, 12, 21), dtype=np.int64))
    state = t.__getstate__()
    assert isinstance(state["hist"], tuple) and state["draw_hist"].dtype == np.int32
    assert state["after_ceasefire"].dtype == np.int64
    back = pickle.loads(pickle.dumps(t))
    assert back.runs == t.runs
    # The sparse ones arrive sparse, added to a total without being made dense first.
    assert isinstance(back.hist, Sparse)
    total = Tallies(1000, hist.copy(), np.zeros((2, 4, 3), dtype=np.int64), np.zeros((2, 14, 3), dtype=np.int64),
                    after.copy(), draw_hist=draw_hist.copy(), draw_diff=np.zeros((2, 12, 21), dtype=np.int64))
    total += back
    back.widened()
    for name, value in t.arrays().items():
        assert getattr(back, name).dtype == value.dtype and np.array_equal(getattr(back, name), value), name
        assert np.array_equal(getattr(total, name), 2 * value if name in COUNTS else getattr(total, name)), name
    assert len(pickle.dumps(t)) < sum(a.nbytes for a in t.arrays().values())


def test_a_blocks_draw_bins_travel_and_add_as_their_histogram():
    """A per-draw histogram as Bins (repeated entries add up) pickles as
    itself and adds to a total, or widens, as the dense histogram would."""
    gen = np.random.default_rng(5)
    rows = gen.integers(0, 11, (7, 2, 12))                       # 7 draws, 2 options, 12 rows, 11 bins
    dense = np.zeros((2, 12, 11), dtype=np.int64)
    for d, o, r in np.ndindex(rows.shape):
        dense[o, r, rows[d, o, r]] += 1
    zeros = (np.zeros((2, 4, 50), dtype=np.int64), np.zeros((2, 4, 3), dtype=np.int64),
             np.zeros((2, 14, 3), dtype=np.int64), np.zeros((2, 1, 2), dtype=np.int64))
    block = Tallies(7, *zeros, draw_hist=Bins.of_rows((2, 12, 11), rows))
    back = pickle.loads(pickle.dumps(block))
    assert isinstance(back.draw_hist, Bins)
    total = Tallies(7, *(z.copy() for z in zeros), draw_hist=dense.copy())
    total += back
    np.testing.assert_array_equal(total.draw_hist, 2 * dense)
    # a + b (two Dask results summed on a worker) is a new total and changes
    # neither; bins stay bins while they fill under a quarter of the cells.
    twice = block + back
    assert twice.runs == 14 and twice.hist.dtype == np.int64 and isinstance(twice.draw_hist, np.ndarray)
    np.testing.assert_array_equal(twice.draw_hist, 2 * dense)
    assert isinstance(block.draw_hist, Bins) and isinstance(back.draw_hist, Bins)
    np.testing.assert_array_equal((twice + block).draw_hist, 3 * dense)
    np.testing.assert_array_equal(twice.draw_hist, 2 * dense)
    first = Tallies(1, *zeros, draw_hist=Bins.of_rows((2, 12, 11), rows[:1]))
    second = Tallies(1, *zeros, draw_hist=Bins.of_rows((2, 12, 11), rows[1:2]))
    both = first + second
    assert isinstance(both.draw_hist, Bins) and both.runs == 2
    np.testing.assert_array_equal(both.widened().draw_hist, first.widened().draw_hist + second.widened().draw_hist)
    np.testing.assert_array_equal(back.widened().draw_hist, dense)
    with pytest.raises(ValueError, match="cannot add counts"):
        Bins.of_rows((2, 12, 11), rows).add_to(np.zeros((2, 12, 10), dtype=np.int64))
