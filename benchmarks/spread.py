"""Alternated repeats and their spread: what every benchmark ratio is made of.

A ratio of two timings is taken per repeat, with the two (or more) timed
calls alternated A, B, A, B, ... so that a change in the machine's load hits
both alike; the ratio reported is the median over the repeats, with the
minimum and maximum beside it. A target must hold at the median and at the
worst end of the spread (the minimum of a speed-up, the maximum of a time or
of a time ratio).
"""

import statistics
import time
from dataclasses import dataclass


def timed(fn, *args):
    """(seconds, result) of one call."""
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def alternate(repeat: int, *fns) -> list[list[float]]:
    """Seconds of each of ``fns`` (called without arguments), called in turn
    ``repeat`` times: A, B, ..., A, B, ...; ``result[i][r]`` is fn i in repeat r."""
    seconds = [[] for _ in fns]
    for _ in range(repeat):
        for times, fn in zip(seconds, fns, strict=True):
            times.append(timed(fn)[0])
    return seconds


@dataclass(frozen=True)
class Spread:
    """Values of one measure, one per repeat."""
    values: tuple[float, ...]

    @classmethod
    def of(cls, values) -> "Spread":
        return cls(tuple(float(v) for v in values))

    @classmethod
    def ratio(cls, numerators, denominators) -> "Spread":
        """Per-repeat ratios of two alternated series."""
        return cls.of(a / b for a, b in zip(numerators, denominators, strict=True))

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    def text(self, fmt: str = "{:.2f}", unit: str = "") -> str:
        """``median [min-max]``."""
        return f"{fmt.format(self.median)}{unit} [{fmt.format(self.min)}-{fmt.format(self.max)}{unit}]"

    def json(self) -> dict:
        return {"median": self.median, "min": self.min, "max": self.max, "values": list(self.values)}


@dataclass(frozen=True)
class Target:
    """A target on one measure: ``value <= limit`` or ``value >= limit``."""
    measure: str
    sense: str          # "<=" or ">="
    limit: float
    unit: str = "x"

    def holds(self, value: float) -> bool:
        if self.sense == "<=":
            return value <= self.limit
        if self.sense == ">=":
            return value >= self.limit
        raise ValueError(f"sense: {self.sense!r} is not '<=' or '>='")

    def worst(self, spread: Spread) -> float:
        """The end of the spread the target is hardest on."""
        return spread.max if self.sense == "<=" else spread.min

    def verdict(self, spread: Spread) -> tuple[bool, bool]:
        """Whether it holds (at the median, at the worst end)."""
        return self.holds(spread.median), self.holds(self.worst(spread))


def verdict_text(at_median: bool, at_worst: bool) -> str:
    if at_median and at_worst:
        return "holds"
    if at_median:
        return "holds at the median, FAILS at the worst end"
    return "FAILS"
