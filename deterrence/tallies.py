"""Fixed-size integer tallies of a block of runs, and their exact sum."""

from dataclasses import dataclass

import numpy as np

ARRAYS = ("hist", "moments", "paired", "sensitivity", "sensitivity_runs")


@dataclass
class Tallies:
    """Day histograms, moments (sum and 32-bit halves of the sum of squares),
    paired differences against the baseline, and sums of the headline
    outcomes by prior-quantile bin of each uncertain parameter (with the runs
    per bin), for ``runs`` runs. The NumPy reference leaves the last two out."""
    runs: int
    hist: np.ndarray
    moments: np.ndarray
    paired: np.ndarray
    sensitivity: np.ndarray | None = None
    sensitivity_runs: np.ndarray | None = None

    def __iadd__(self, other: "Tallies") -> "Tallies":
        self.runs += other.runs
        for name in ARRAYS:
            mine = getattr(self, name)
            if mine is not None:
                mine += getattr(other, name)
        return self

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
