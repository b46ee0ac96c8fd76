"""Prior families: one record each, in one table.

Config validation, the prior summaries, the plan's encoding for the kernels
and the NumPy reference all read :data:`FAMILIES`. A new family is one
record here, plus one branch in ``kernels.sample_prior`` and one in
``reference.sample_prior`` (the model's deliberate pair); a test draws every
family of the table through both and fails when either lacks it.

No numba here: validating a config or summarising priors compiles nothing.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

from deterrence import UserError
from deterrence.model import Prior

# Hyperparameters per prior in the plan's ``args`` array (required, then
# optional ones, in the record's order; a missing optional one is 0).
N_ARGS = 3



def _stats():
    """scipy.stats, imported when a distribution is first asked for: config
    validation and ``deterrence --help`` do without it."""
    from scipy import stats
    return stats

@dataclass(frozen=True)
class Family:
    """A prior family: its config name, its code in the plan, its
    hyperparameters, and the scipy distribution it stands for."""
    name: str
    code: int
    required: tuple[str, ...]
    optional: tuple[str, ...]
    positive: tuple[str, ...]            # hyperparameters that must be > 0
    frozen: Callable                     # (get) -> frozen scipy distribution, or None for a point mass
    support_of: Callable                 # (get) -> (low, high), the closed hull of the values
    example: tuple[tuple[str, float], ...]   # hyperparameters the tests draw from
    problem: Callable = lambda get: ""   # (get) -> what is wrong beyond single values ('' if nothing)

    @property
    def keys(self) -> tuple[str, ...]:
        return self.required + self.optional

    def scipy(self, prior: Prior):
        """The prior as a frozen ``scipy.stats`` distribution (None for a point mass)."""
        return self.frozen(prior.get)

    def support(self, prior: Prior) -> tuple[float, float]:
        """The closed hull of the values the prior can take."""
        return self.support_of(prior.get)


def _uniform_problem(get) -> str:
    if not get("low") < get("high"):
        return "low must be below high"
    if not math.isfinite(get("high") - get("low")):
        return "high - low must be a finite number"
    return ""


def _exposure_problem(get) -> str:
    return "gap_days must be >= 0" if not get("gap_days") >= 0 else ""


FAMILIES = (
    Family("fixed", 0, ("value",), (), (),
           lambda g: None, lambda g: (g("value"), g("value")), (("value", 2.5),)),
    Family("gamma", 1, ("shape", "scale"), ("loc",), ("shape", "scale"),
           lambda g: _stats().gamma(g("shape"), loc=g("loc"), scale=g("scale")),
           lambda g: (g("loc"), math.inf), (("shape", 0.7), ("scale", 3.0), ("loc", 1.0))),
    Family("lognormal", 2, ("median", "sigma"), ("loc",), ("median", "sigma"),
           lambda g: _stats().lognorm(g("sigma"), loc=g("loc"), scale=g("median")),
           lambda g: (g("loc"), math.inf), (("median", 2.0), ("sigma", 0.8), ("loc", 0.5))),
    Family("beta", 3, ("a", "b"), (), ("a", "b"),
           lambda g: _stats().beta(g("a"), g("b")), lambda g: (0.0, 1.0), (("a", 0.6), ("b", 2.5))),
    Family("uniform", 4, ("low", "high"), (), (),
           lambda g: _stats().uniform(g("low"), g("high") - g("low")),
           lambda g: (g("low"), g("high")), (("low", -1.0), ("high", 3.0)), _uniform_problem),
    # lambda_a0 calibrated jointly with e_collapse (docs/model.md): a draw is
    # Gamma(shape, 1) / (truce_days + e_collapse * gap_days), with the run's
    # e_collapse. Its scipy form is the draw at e_collapse = 1 (what the
    # summaries and the sensitivity bins read); the kernel and the reference
    # divide by the run's exposure.
    Family("gamma_exposure", 5, ("shape", "truce_days", "gap_days"), (), ("shape", "truce_days"),
           lambda g: _stats().gamma(g("shape"), scale=1.0 / (g("truce_days") + g("gap_days"))),
           lambda g: (0.0, math.inf), (("shape", 3.5), ("truce_days", 1312.0), ("gap_days", 1447.0)),
           _exposure_problem),
)
NAMES = tuple(f.name for f in FAMILIES)
_BY_NAME = {f.name: f for f in FAMILIES}
_BY_CODE = {f.code: f for f in FAMILIES}
# Codes the kernel and the reference branch on.
FIXED, GAMMA, LOGNORMAL, BETA, UNIFORM, GAMMA_EXPOSURE = (
    _BY_NAME[n].code for n in ("fixed", "gamma", "lognormal", "beta", "uniform", "gamma_exposure"))
# The one parameter a gamma_exposure prior may stand for, and the one whose draw scales it.
EXPOSURE_PARAMETER, EXPOSURE_MULTIPLIER = "lambda_a0", "e_collapse"


def family(name: str) -> Family:
    """The family a config names; an unknown name is the user's mistake."""
    if name not in _BY_NAME:
        raise UserError(f"dist must be one of {', '.join(NAMES)}, got {name!r}")
    return _BY_NAME[name]


def by_code(code: int) -> Family:
    """The family of a plan's code; an unknown code is a bug."""
    if code not in _BY_CODE:
        raise ValueError(f"unknown prior family code {code}; known: {sorted(_BY_CODE)}")
    return _BY_CODE[code]
