"""Each option's effect against the baseline on one measure, as a decision
reads it: the mean paired change; its 90% parameter interval (the 5th to
95th percentile over the uncertain parameters of the option's expected
change: what we do not know); its simulation noise (one Monte Carlo
standard error, apart: what more runs would remove); `p_better` on that
measure; and the assumptions that decide it (the parameters with the
largest first-order indices of the expected change, the result's
`sensitivity` variable, where the result bins the measure).

The headline measure is days at war over the horizon
(`outcomes.HEADLINE`): a longer war never looks better on it. The re-attack
risk within two years is read beside it, never alone: a later ceasefire
lowers it."""

from dataclasses import dataclass

import numpy as np
import xarray as xr

from deterrence import outcomes
from deterrence.model import AXES, SENSITIVITY_OUTCOMES
from deterrence.report.grid import HIGH, LOW, NOT_NESTED, flat, nested, options, valid_years

DECIDING = 3                          # assumptions named per option
DECIDING_FLOOR = 0.01                 # an index under this decides nothing


@dataclass(frozen=True)
class Measure:
    """What an effect is read on: a count's mean over the horizon
    (``year`` None), or an event's or state's probability at ``year``."""
    outcome: str
    year: int | None = None

    @property
    def declared(self) -> outcomes.Outcome:
        return outcomes.outcome(self.outcome)

    @property
    def key(self) -> str:
        """The command line's word: ``war_days``, ``reattack_2y``."""
        return self.outcome if self.year is None else f"{self.outcome}_{self.year}y"

    @property
    def effect(self) -> str:
        """The result's variable of the paired change."""
        return f"diff_mean_{self.outcome}" if self.year is None else f"diff_p_{self.outcome}"

    @property
    def better(self) -> str:
        return f"p_better_{self.outcome}"

    @property
    def index_outcome(self) -> str:
        """The result's `sensitivity` outcome of the change."""
        return f"diff_{self.key}"

    @property
    def scale(self) -> float:
        """From the result's unit to the tables': days stay days, probabilities become points."""
        return 1.0 if self.year is None else 100.0

    @property
    def unit(self) -> str:
        return self.declared.unit if self.year is None else "pp"

    @property
    def words(self) -> str:
        """`mean days at war over the horizon`, `P(re-attack within 2 years)`."""
        o = self.declared
        if self.year is None:
            return f"mean {o.label} over the horizon"
        return f"P({o.label} {'at' if o.kind == outcomes.STATE else 'within'} {self.year} years)"

    @property
    def lower_is_better(self) -> bool:
        return self.declared.better == outcomes.LOWER


def measure(text: str) -> Measure:
    """The measure ``text`` names (``war_days``, ``reattack_2y``, ``war_5y``;
    see `outcomes.parse_measure`); UserError naming the choices."""
    return Measure(*outcomes.parse_measure(text))


HEADLINE = measure(outcomes.HEADLINE)
REATTACK = measure("reattack_2y")      # read beside the headline, never alone


@dataclass(frozen=True)
class Effect:
    """One option's effect on a measure, in the result's unit (days, or a probability)."""
    option: dict
    change: float          # mean paired change against the baseline
    noise: float           # its Monte Carlo standard error: simulation noise only
    low: float             # 90% parameter interval of the expected change
    high: float
    better: float          # share of the parameter draws under which the option is better on the measure
    better_noise: float    # Monte Carlo standard error of `better`
    deciding: tuple[tuple[str, float], ...]   # (parameter, first-order index), largest first


def missing(ds: xr.Dataset, m: Measure = HEADLINE) -> str | None:
    """Why the result gives no effects on ``m`` with parameter intervals; None if it does."""
    if not nested(ds):
        return NOT_NESTED
    if m.year is not None and m.year not in valid_years(ds):
        return (f"the {int(ds.attrs['horizon_days'])}-day horizon ends before {m.year} years, the year at "
                f"which the effect on {m.words} is read")
    if f"{m.effect}_q" not in ds.data_vars or m.better not in ds.data_vars:
        return f"the result holds no parameter intervals of {m.words} (made by an older version: run it again)"
    return None


def deciding(ds: xr.Dataset, m: Measure = HEADLINE) -> list[tuple[tuple[str, float], ...]]:
    """Per option (order of `options`): the parameters with the largest
    first-order indices of the expected change on ``m``, at most
    `DECIDING`, none under `DECIDING_FLOOR`; empty without the
    `sensitivity` variable or its outcome, or in a result with one run per
    draw (its indices, of single runs' outcomes, are mostly chance)."""
    n = len(options(ds))
    if (not nested(ds) or "sensitivity" not in ds.data_vars or m.index_outcome not in SENSITIVITY_OUTCOMES
            or m.index_outcome not in [str(v) for v in ds["outcome"].values]):
        return [()] * n
    s = ds["sensitivity"].sel(outcome=m.index_outcome).transpose(*AXES, "parameter")
    names = [str(p) for p in s["parameter"].values]
    found = []
    for row in s.values.astype(float).reshape(n, len(names)):
        order = np.argsort(-np.nan_to_num(row, nan=-1.0), kind="stable")[:DECIDING]
        found.append(tuple((names[i], float(row[i])) for i in order
                           if np.isfinite(row[i]) and row[i] >= DECIDING_FLOOR))
    return found


def effects(ds: xr.Dataset, m: Measure = HEADLINE) -> list[Effect]:
    """Every option's `Effect` on ``m``, in the order of `options`; [] where `missing` says why not."""
    if missing(ds, m):
        return []
    y = m.year
    columns = (flat(ds, m.effect, y), flat(ds, f"{m.effect}_se", y),
               flat(ds, f"{m.effect}_q", y, LOW), flat(ds, f"{m.effect}_q", y, HIGH),
               flat(ds, m.better, y), flat(ds, f"{m.better}_se", y))
    return [Effect(option, *(float(c[k]) for c in columns), found)
            for k, (option, found) in enumerate(zip(options(ds), deciding(ds, m), strict=True))]


def counted(found: list[Effect]) -> dict[str, int]:
    """How many of ``found`` each parameter leads (is the first deciding
    assumption of), most first."""
    leads: dict[str, int] = {}
    for e in found:
        if e.deciding:
            leads[e.deciding[0][0]] = leads.get(e.deciding[0][0], 0) + 1
    return dict(sorted(leads.items(), key=lambda kv: -kv[1]))
