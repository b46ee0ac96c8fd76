"""Fixed-size integer tallies of a block of runs, and their exact sum."""

from dataclasses import dataclass

import numpy as np

from deterrence.model import MAX_RUNS, VALUE_BIN_HALF, VALUE_BIN_K, VALUE_BINS, VALUE_NOISE_SCALE

ARRAYS = ("hist", "moments", "paired", "after_ceasefire", "sensitivity", "sensitivity_runs", "draw_hist",
          "draw_diff", "value_hist", "value_noise", "after_hist", "after_noise", "after_moments")
# The arrays that count runs or draws (the moments hold sums of squares).
COUNTS = ("hist", "after_ceasefire", "sensitivity", "sensitivity_runs", "draw_hist", "draw_diff", "value_hist",
          "after_hist")
# The arrays of 32-bit limbs (at 1 and 2) kept carried.
LIMBS = ("moments", "paired", "value_noise", "after_noise")
INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class Sparse:
    """A count array as its nonzero entries (``where`` into the flattened
    array, distinct, and their ``values``): how a block's tallies, their
    per-draw histograms mostly empty, arrive from a Dask worker, to be added
    to the total without first being made dense."""
    shape: tuple
    where: np.ndarray
    values: np.ndarray

    def dense(self) -> np.ndarray:
        out = np.zeros(self.shape, dtype=np.int64)
        out.reshape(-1)[self.where] = self.values
        return out

    def add_to(self, total: np.ndarray) -> None:
        if total.shape != tuple(self.shape):
            raise ValueError(f"cannot add counts of shape {tuple(self.shape)} to {total.shape}")
        total.reshape(-1)[self.where] += self.values


@dataclass(frozen=True)
class Bins:
    """A count array as the flattened index of each thing it counts
    (``where``, repeats adding up): how a block of few parameter draws
    returns its per-draw histograms, one entry per draw, option and row,
    instead of dense arrays almost all zero."""
    shape: tuple
    where: np.ndarray

    @classmethod
    def of_rows(cls, shape: tuple, rows: np.ndarray) -> "Bins":
        """From ``rows`` (draws, options, rows) of bins into a histogram of
        ``shape`` (options, rows..., bins): entry (d, o, r) counts one at
        [o, r, rows[d, o, r]]."""
        n_opt, n_rows, width = shape[0], int(np.prod(shape[1:-1])), shape[-1]
        start = (np.arange(n_opt * n_rows, dtype=np.int64) * width).reshape(n_opt, n_rows)
        return cls(tuple(shape), (start + rows).ravel())

    def dense(self) -> np.ndarray:
        return np.bincount(self.where, minlength=int(np.prod(self.shape))).astype(np.int64).reshape(self.shape)

    def add_to(self, total: np.ndarray) -> None:
        if total.shape != tuple(self.shape):
            raise ValueError(f"cannot add counts of shape {tuple(self.shape)} to {total.shape}")
        np.add.at(total.reshape(-1), self.where, 1)


# The per-draw histograms a kernel block can return as Bins, in the order of
# the columns of its draw rows (kernels.simulate's draw_rows).
DRAW_ROWS = ("draw_hist", "draw_diff", "value_hist", "after_hist")


def summed(a, b) -> "np.ndarray | Bins":
    """A new ``a + b`` of two count arrays (dense, ``Sparse`` or ``Bins``),
    int64, or ``Bins`` while both are and their entries stay under a
    quarter of the histogram's cells (the rule of ``runner.per_draw_rows``)."""
    if isinstance(a, Bins) and isinstance(b, Bins) and tuple(a.shape) == tuple(b.shape) \
            and 4 * (a.where.size + b.where.size) < int(np.prod(a.shape)):
        return Bins(a.shape, np.concatenate([a.where, b.where]))
    total = a.dense() if isinstance(a, (Sparse, Bins)) else a.astype(np.int64)
    if isinstance(b, (Sparse, Bins)):
        b.add_to(total)
    else:
        total += b
    return total


@dataclass
class Tallies:
    """Day histograms, moments (sum and 32-bit halves of the sum of squares),
    paired differences against the baseline, the re-attacks within y years
    of the first ceasefire, and sums of the headline
    outcomes by prior-quantile bin of each uncertain parameter (with the runs
    per bin), for ``runs`` runs; and the parameter draws by how many of
    their runs had each headline outcome, and by that number minus the
    baseline's (the nested design of ``deterrence.epistemic``). The NumPy
    reference leaves the sensitivity sums out.

    The moments' limbs are kept carried (low limb below 2**32), so every
    total is one exact int64 for up to MAX_RUNS runs of counts up to
    MAX_COUNT, whatever the blocks."""
    runs: int
    hist: np.ndarray
    moments: np.ndarray
    paired: np.ndarray
    # (options, years, 2): runs whose first ceasefire came at least y years
    # before the horizon, and among them those re-attacked within y years of it.
    after_ceasefire: np.ndarray
    sensitivity: np.ndarray | None = None
    sensitivity_runs: np.ndarray | None = None
    # (options, events * years, runs_per_draw + 1) and (..., 2 * runs_per_draw + 1).
    draw_hist: np.ndarray | None = None
    draw_diff: np.ndarray | None = None
    # (options, 2 * paired counts, model.VALUE_BINS): the draws by the bin of
    # each paired count's draw mean, then of its paired difference; and
    # (options, 2 * paired counts, 3) the limbs (at 1 and 2) of the draws'
    # within sums of squared deviations (model.VALUE_NOISE_SCALE units).
    value_hist: np.ndarray | None = None
    value_noise: np.ndarray | None = None
    # (options, years, 2, model.AFTER_BINS): the draws by the bin of their
    # re-attack risk within y years of the first ceasefire, then of its
    # difference to the baseline (the last bin: undefined, no run
    # qualified); (options, years, 2, 3) the limbs of the sums of the draws'
    # noise variances (model.AFTER_NOISE_SCALE units); and (options, years,
    # 7) the sums over draws of products of the draws' counts A (re-attacked)
    # and C (qualifying) and the baseline's Ab, Cb: A^2, A C, C^2, A Ab,
    # A Cb, C Ab, C Cb (the errors of the pooled risks over draws).
    after_hist: np.ndarray | None = None
    after_noise: np.ndarray | None = None
    after_moments: np.ndarray | None = None

    def __post_init__(self):
        self._carry()

    def _carry(self) -> None:
        for name in LIMBS:
            if getattr(self, name) is not None:
                carry(getattr(self, name))

    def widened(self) -> "Tallies":
        """Itself, with every count array dense int64 (a block's come from
        the kernel as int32, which any block's counts fit, or from a Dask
        worker as ``Sparse``): ready to be a total."""
        for name in COUNTS:
            value = getattr(self, name)
            if isinstance(value, (Sparse, Bins)):
                setattr(self, name, value.dense())
            elif value is not None and value.dtype != np.int64:
                setattr(self, name, value.astype(np.int64))
        return self

    def __iadd__(self, other: "Tallies") -> "Tallies":
        if self.runs + other.runs > MAX_RUNS:
            raise OverflowError(f"more than {MAX_RUNS:,} runs cannot be tallied exactly")
        self.widened()
        self.runs += other.runs
        for name in ARRAYS:
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine is None:
                continue
            if isinstance(theirs, (Sparse, Bins)):
                theirs.add_to(mine)
            else:
                mine += theirs
        self._carry()
        return self

    def __add__(self, other: "Tallies") -> "Tallies":
        """The sum as a new total, leaving both unchanged (the sum of two
        Dask results, which a retried task may read again); per-draw bins
        stay bins while they are few (:func:`summed`)."""
        if self.runs + other.runs > MAX_RUNS:
            raise OverflowError(f"more than {MAX_RUNS:,} runs cannot be tallied exactly")
        return Tallies(self.runs + other.runs, **{name: summed(value, getattr(other, name))
                                                   for name, value in self.arrays().items()})

    def __getstate__(self) -> dict:
        """What goes to the client (dask): each count array as int32 where
        it fits (any block's does), and as its nonzero entries where fewer
        than half are nonzero (the per-draw histograms of a block are
        mostly empty). Exact either way."""
        state = dict(self.__dict__)
        for name in COUNTS:
            value = state[name]
            if not isinstance(value, np.ndarray) or not value.size or value.min() < 0 or value.max() > INT32_MAX:
                continue
            where = np.flatnonzero(value)
            if 2 * where.size < value.size and value.size <= INT32_MAX:
                state[name] = (value.shape, where.astype(np.int32), value.ravel()[where].astype(np.int32))
            else:
                state[name] = value.astype(np.int32)
        return state

    def __setstate__(self, state: dict) -> None:
        """The sparse arrays stay sparse (``Sparse``) until the block is added
        to a total or widened into one; the others become int64."""
        for name in COUNTS:
            value = state.get(name)
            if isinstance(value, tuple):
                state[name] = Sparse(*value)
            elif isinstance(value, np.ndarray):
                state[name] = value.astype(np.int64)
        self.__dict__.update(state)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in ARRAYS if getattr(self, name) is not None}

    @classmethod
    def from_arrays(cls, runs: int, arrays) -> "Tallies":
        return cls(runs, **{name: arrays[name] for name in ARRAYS if name in arrays})


def moment_sums(moments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums and sums of squares as float64, each rounded once from the exact
    integer (so the result does not depend on how runs were blocked)."""
    total = moments[..., 0].astype(np.float64)
    exact = [(int(hi) << 32) + int(lo) for hi, lo in zip(moments[..., 1].ravel(),
                                                        moments[..., 2].ravel(), strict=True)]
    squares = np.array([float(x) for x in exact], dtype=np.float64).reshape(total.shape)
    return total, squares


def carry(moments: np.ndarray) -> None:
    """Move the low limb's bits above 32 into the high limb, in place: the
    limbs of a block's sum of squares are below 2**59 each (blocks have at
    most 1e8 runs), and carried ones stay below 2**63 up to MAX_RUNS runs."""
    moments[..., 1] += moments[..., 2] >> 32
    moments[..., 2] &= 0xFFFFFFFF


def value_histograms(values: np.ndarray, runs_per_draw: int) -> tuple[np.ndarray, np.ndarray]:
    """From ``values`` (runs, options, rows) of the paired counts (and their
    paired differences): the draws by the bin of their draw mean
    (options, rows, VALUE_BINS) and the limbs of their within-draw sums of
    squared deviations (options, rows, 3), as the kernel tallies them: the
    same sums in the same order (cumsum is sequential), so the same bits.
    NumPy: the reference and the pairing of two studies in
    ``deterrence.compare`` use it."""
    n, n_opt, n_rows = values.shape
    per_draw = values.reshape(n // runs_per_draw, runs_per_draw, n_opt, n_rows)
    total = np.cumsum(per_draw, axis=1)[:, -1]
    squares = np.cumsum(per_draw * per_draw, axis=1)[:, -1]
    mean = total / runs_per_draw
    bins = np.clip(np.round(VALUE_BIN_K * np.arcsinh(mean)).astype(np.int64) + VALUE_BIN_HALF, 0, VALUE_BINS - 1)
    hist = np.zeros((n_opt * n_rows, VALUE_BINS), dtype=np.int64)
    np.add.at(hist, (np.arange(n_opt * n_rows), bins.reshape(-1, n_opt * n_rows)), 1)
    within = (np.maximum(squares - total * mean, 0.0) * VALUE_NOISE_SCALE + 0.5).astype(np.int64)
    noise = np.zeros((n_opt, n_rows, 3), dtype=np.int64)
    noise[..., 1] = (within >> 32).sum(axis=0)
    noise[..., 2] = (within & 0xFFFFFFFF).sum(axis=0)
    return hist.reshape(n_opt, n_rows, VALUE_BINS), noise


def after_histograms(reattacked: np.ndarray, qualifying: np.ndarray,
                     runs_per_draw: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From 0/1 arrays (runs, options, years) of the runs whose first
    ceasefire left y years of horizon (``qualifying``, C) and of those
    re-attacked within y years of it (``reattacked``, A): the per-draw
    after-ceasefire tallies of ``Tallies`` (after_hist, after_noise,
    after_moments), in NumPy, with the kernel's arithmetic in the kernel's
    order (``kernels.close_after_draw``), so the same bits. The baseline is
    the last option."""
    from deterrence.model import AFTER_NOISE_SCALE, AFTER_SCALE, AFTER_UNDEFINED

    n, n_opt, n_years = qualifying.shape
    g = n // runs_per_draw

    def per_draw(x):
        return x.reshape(g, runs_per_draw, n_opt, n_years).astype(np.int64).sum(axis=1)

    a, c = per_draw(reattacked), per_draw(qualifying)
    ab, cb = a[:, -1:], c[:, -1:]
    aa, ac = per_draw(reattacked & reattacked[:, -1:]), per_draw(reattacked & qualifying[:, -1:])
    ca, cc = per_draw(qualifying & reattacked[:, -1:]), per_draw(qualifying & qualifying[:, -1:])
    moments = np.stack([x.sum(axis=0) for x in (a * a, a * c, c * c, a * ab, a * cb, c * ab, c * cb)], axis=-1)
    s = AFTER_SCALE
    with np.errstate(invalid="ignore", divide="ignore"):
        level = np.where(c > 0, (2 * s * a + c) // np.maximum(2 * c, 1) + s, AFTER_UNDEFINED)
        both = (c > 0) & (cb > 0)
        d = c * cb
        diff = np.where(both, (2 * s * (a * cb - ab * c) + d) // np.maximum(2 * d, 1) + s, AFTER_UNDEFINED)
        fa, fc, fab, fcb = (x.astype(np.float64) for x in (a, c, ab, cb))
        level_noise = np.where(c >= 2, fa * (fc - fa) / (fc * fc * (fc - 1.0)), 0.0)
        po, pb = fa / fc, fab / fcb
        s_own = fa - fa * po
        s_base = fab - fab * pb
        s_cross = aa.astype(np.float64) - pb * ac - po * ca + po * pb * cc
        v = s_own / (fc * (fc - 1.0)) + s_base / (fcb * (fcb - 1.0)) - 2.0 * s_cross / np.sqrt(
            fc * (fc - 1.0) * fcb * (fcb - 1.0))
        diff_noise = np.where((c >= 2) & (cb >= 2), np.maximum(v, 0.0), 0.0)
    hist = np.zeros((n_opt * n_years * 2, AFTER_UNDEFINED + 1), dtype=np.int64)
    bins = np.stack([level, diff], axis=-1).reshape(g, -1)
    np.add.at(hist, (np.arange(n_opt * n_years * 2), bins), 1)
    wide = (np.stack([np.where(c > 0, level_noise, 0.0), np.where(both, diff_noise, 0.0)], axis=-1)
            * AFTER_NOISE_SCALE + 0.5).astype(np.int64)
    noise = np.zeros((n_opt, n_years, 2, 3), dtype=np.int64)
    noise[..., 1] = (wide >> 32).sum(axis=0)
    noise[..., 2] = (wide & 0xFFFFFFFF).sum(axis=0)
    return hist.reshape(n_opt, n_years, 2, -1), noise, moments
