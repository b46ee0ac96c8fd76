"""Fixed-size integer tallies of a block of runs, and their exact sum."""

from dataclasses import dataclass

import numpy as np


@dataclass
class Tallies:
    """Day histograms, moments (sum and 32-bit halves of the sum of squares)
    and paired differences against the baseline, for ``runs`` runs."""
    runs: int
    hist: np.ndarray
    moments: np.ndarray
    paired: np.ndarray

    def __iadd__(self, other: "Tallies") -> "Tallies":
        self.runs += other.runs
        self.hist += other.hist
        self.moments += other.moments
        self.paired += other.paired
        return self

    def save(self, path) -> None:
        np.savez(path, runs=self.runs, hist=self.hist, moments=self.moments, paired=self.paired)

    @classmethod
    def load(cls, path) -> "Tallies":
        with np.load(path) as f:
            return cls(int(f["runs"]), f["hist"], f["moments"], f["paired"])


def moment_sums(moments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums and sums of squares as float64, each rounded once from the exact
    integer (so the result does not depend on how runs were blocked)."""
    total = moments[..., 0].astype(np.float64)
    exact = [(int(hi) << 32) + int(lo) for hi, lo in zip(moments[..., 1].ravel(),
                                                        moments[..., 2].ravel(), strict=True)]
    squares = np.array([float(x) for x in exact], dtype=np.float64).reshape(total.shape)
    return total, squares
