"""Sobol indices of an option's expected outcome E[Y | theta] over the uncertain parameters.

Y is an option's conditional probability P(event within y years | theta),
or its paired effect against a second option (the same runs under both).
The index of a parameter is the share of Var(E[Y | theta]) it explains:
first-order S1 (alone) and total-order ST (with all its interactions).
These are the quantities a decision depends on, unlike indices of
single-run yes/no outcomes, where chance within a run dominates.

Design (Saltelli 2010, SALib's layout): two matrices A and B of ``draws``
independent uniform rows over the d uncertain parameters (priors whose
dist is not "fixed"); block j holds A_j, AB_j^1 ... AB_j^d (A_j with column
i from B_j), B_j, and A_j again (A'_j), d + 3 rows. Each unit row is
mapped to parameters by each prior's inverse CDF (a ``gamma_exposure``
lambda_a0: the uniform of its Gamma(shape, 1) variate, divided by the
row's exposure truce_days + e_collapse * gap_days); fixed parameters keep
their value. Every row is one parameter draw of ``runs_per_draw`` runs of
its own (``replay.replay`` with the design as ``thetas``).

Estimators on outputs centred by their mean over the A, B and AB rows
(as SALib does): V = var(A, B), S1_i = mean(B (AB^i - A)) / V (Saltelli
2010), ST_i = mean((A - AB^i)^2) / 2 / V (Jansen). Inner noise: a row's
estimate is E[Y | theta] plus chance with mean 0 and variance sigma^2(theta),
independent between rows (each row has its own runs). Chance leaves the
S1 numerator unbiased but adds the mean noise variance s2 = E[sigma^2] to
V and to the ST numerator; s2 is estimated without bias from the repeated
rows, mean((A - A')^2) / 2 (the same parameters, independent runs), which
holds for a probability and a paired effect alike, and subtracted from
both. Monte Carlo errors: a bootstrap over the design's blocks (fixed seed).

Signal and noise: a parameter that cannot change the outcome by the model's
structure (``outcomes.reaches``: strike rates and interception reach only
strikes, violation rates only violations) is left out of the design and held
at its prior median; it is listed as unreachable, its index zero. An index
whose bootstrap interval includes zero is shown as not told apart from
noise, and the figure leaves it out.
"""

import dataclasses
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deterrence import UserError, outcomes, priors
from deterrence.config import Config, Option
from deterrence.epistemic import BOOTSTRAP_SEED
from deterrence.families import EXPOSURE_MULTIPLIER, EXPOSURE_PARAMETER
from deterrence.model import AXES, MAX_RUNS, PARAMETER_NAMES

DRAWS = 1000            # default blocks (base parameter draws) of the design
RUNS_PER_DRAW = 100     # default runs per design row
BOOTSTRAP = 200         # bootstrap replicates over the blocks
CONFIDENCE = 0.95       # of the bootstrap percentile intervals
# The inverse CDF at 0 or 1 is the edge of a prior's support, outside an open domain.
EDGE = 1e-12


@dataclass(frozen=True)
class Indices:
    """Sobol indices of E[Y | theta] for one option (and its contrast).

    ``names`` are the uncertain parameters; ``first``, ``total`` their
    indices; ``*_se`` bootstrap standard errors and ``*_interval``
    (parameters, 2) bootstrap percentile intervals (``CONFIDENCE``);
    ``mean`` and ``variance`` of E[Y | theta] over the priors, ``noise``
    the mean noise variance of one row's estimate that was removed."""
    option: Option
    vs: Option | None
    outcome: str
    draws: int
    runs_per_draw: int
    names: tuple[str, ...]
    first: np.ndarray
    total: np.ndarray
    first_se: np.ndarray
    total_se: np.ndarray
    first_interval: np.ndarray
    total_interval: np.ndarray
    mean: float
    variance: float
    noise: float
    unreachable: tuple[str, ...] = ()

    @property
    def runs(self) -> int:
        return self.draws * (len(self.names) + 3) * self.runs_per_draw

    def ranked(self) -> np.ndarray:
        """Parameter indices by decreasing total-order index."""
        return np.argsort(-self.total, kind="stable")

    def distinct(self) -> np.ndarray:
        """Per parameter: whether its total-order interval lies above zero (told apart from noise)."""
        return self.total_interval[:, 0] > 0


def uncertain(config: Config, outcome: str | None = None) -> list[str]:
    """The parameters whose prior is not fixed, in model.PARAMETER_NAMES
    order; with ``outcome``, only those that can reach it (``outcomes.reaches``)."""
    name = None if outcome is None else parse_outcome(outcome)[0]
    return [p.name for p in config.priors if p.dist != "fixed" and (name is None or outcomes.reaches(p.name, name))]


def unreachable(config: Config, outcome: str) -> list[str]:
    """The uncertain parameters that cannot reach ``outcome`` by the model's structure."""
    reach = uncertain(config, outcome)
    return [name for name in uncertain(config) if name not in reach]


def parse_outcome(text: str) -> tuple[str, int | None]:
    """(outcome, years) of a replayed measure: ``war_days`` (years None),
    ``strikes``, ``violations``, or ``<event>_<years>y``, e.g. reattack_2y."""
    return outcomes.parse_measure(text, states=False)


def unit_design(draws: int, d: int, seed: int) -> np.ndarray:
    """(draws * (d + 3), d) uniforms in blocks A_j, AB_j^1 .. AB_j^d, B_j, A_j
    (the first d + 2 rows of each block are SALib's layout)."""
    gen = np.random.default_rng(seed)
    a, b = np.clip(gen.random((2, draws, d)), EDGE, 1 - EDGE)
    blocks = np.repeat(a[:, None, :], d + 3, axis=1)
    for i in range(d):
        blocks[:, 1 + i, i] = b[:, i]
    blocks[:, d + 1] = b
    return blocks.reshape(-1, d)


def parameters(config: Config, unit: np.ndarray, outcome: str | None = None) -> np.ndarray:
    """(rows, model.PARAMETER_NAMES) parameters of unit rows over the
    uncertain parameters (with ``outcome``: those that reach it, the others
    at their prior median), by each prior's inverse CDF; fixed ones keep their value."""
    from scipy import stats  # here, not at import: ``deterrence --help`` reads this module's defaults

    names = uncertain(config, outcome)
    held = [] if outcome is None else unreachable(config, outcome)
    theta = np.array([p.get("value") if p.dist == "fixed" else np.nan for p in config.priors])
    theta = np.repeat(theta[None, :], len(unit), axis=0)
    for name, u in [*zip(names, unit.T, strict=True), *((name, np.full(len(unit), 0.5)) for name in held)]:
        prior = config.prior(name)
        # gamma_exposure: the uniform of the Gamma(shape, 1) variate; the
        # exposure is divided out below with each row's e_collapse.
        dist = stats.gamma(prior.get("shape")) if prior.dist == "gamma_exposure" else priors.distribution(prior)
        theta[:, PARAMETER_NAMES.index(name)] = dist.ppf(u)
    exposure = config.prior(EXPOSURE_PARAMETER)
    if exposure.dist == "gamma_exposure":
        multiplier = theta[:, PARAMETER_NAMES.index(EXPOSURE_MULTIPLIER)]
        theta[:, PARAMETER_NAMES.index(EXPOSURE_PARAMETER)] /= (exposure.get("truce_days")
                                                                + multiplier * exposure.get("gap_days"))
    return theta


def estimate(y: np.ndarray, corrected: bool = True) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(S1, ST, V, s2) from outputs ``y`` (draws, d + 3) in the design's
    blocks; ``corrected=False`` leaves the noise in (SALib's estimators)."""
    d = y.shape[1] - 3
    c = y - y[:, :d + 2].mean()
    a, ab, b, again = c[:, 0], c[:, 1:d + 1], c[:, d + 1], c[:, d + 2]
    noise = 0.5 * np.mean((a - again) ** 2) if corrected else 0.0
    variance = np.var(np.r_[a, b]) - noise
    if not variance > 0:
        return np.full(d, np.nan), np.full(d, np.nan), float(variance), float(noise)
    first = np.mean(b[:, None] * (ab - a[:, None]), axis=0) / variance
    total = (0.5 * np.mean((a[:, None] - ab) ** 2, axis=0) - noise) / variance
    return first, total, float(variance), float(noise)


def bootstrap(y: np.ndarray, reps: int = BOOTSTRAP, seed: int = BOOTSTRAP_SEED) -> tuple[np.ndarray, np.ndarray]:
    """(reps, d) replicates of S1 and of ST over resamples of the blocks."""
    gen = np.random.default_rng(seed)
    found = [estimate(y[gen.integers(0, len(y), len(y))])[:2] for _ in range(reps)]
    return np.array([f for f, _ in found]), np.array([t for _, t in found])


def evaluate(config: Config, option: Option, vs: Option | None = None, outcome: str = outcomes.HEADLINE,
             draws: int = DRAWS, runs_per_draw: int = RUNS_PER_DRAW, workers: int | None = None,
             client=None, show_progress: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The design's unit rows and its outputs (draws, d + 3): ``option``'s
    estimate of P(event within years | theta) per row, minus ``vs``'s on
    the same runs when given. Replayed on local threads or a dask ``client``."""
    # Here, not at the top: the CLI's parser imports this module and must load no numba.
    from deterrence.replay import check_memory, replay

    names = uncertain(config, outcome)
    if not uncertain(config):
        raise UserError(f"{config.path or 'the config'}: every prior is fixed; give a parameter an uncertain "
                        f"prior to compute sensitivity indices")
    if not names:
        raise UserError(f"--outcome {outcome}: no uncertain parameter can reach it by the model's structure "
                        f"(deterrence.outcomes.REACH_ONLY); choose another outcome")
    if draws < 2 or runs_per_draw < 1:
        raise UserError(f"--draws must be at least 2 and --runs-per-draw at least 1, got {draws} and "
                        f"{runs_per_draw}")
    rows = draws * (len(names) + 3)
    if rows * runs_per_draw > MAX_RUNS:
        raise UserError(f"--draws {draws} x {len(names) + 3} rows x --runs-per-draw {runs_per_draw} pass the "
                        f"{MAX_RUNS:,} runs a replay may have; lower either")
    options = [option] if vs is None else [option, vs]
    check_memory(rows, len(options), f"--draws {draws:,} x {len(names) + 3} rows")
    unit = unit_design(draws, len(names), config.study.seed)
    found = replay(config, options, rows, runs_per_draw=runs_per_draw, thetas=parameters(config, unit, outcome),
                   workers=workers, client=client, show_progress=show_progress)
    p = found.estimate(outcome)
    y = p[:, 0] if vs is None else p[:, 0] - p[:, 1]
    return unit, y.reshape(draws, len(names) + 3)


def indices(config: Config, option: Option, vs: Option | None = None, outcome: str = outcomes.HEADLINE,
            draws: int = DRAWS, runs_per_draw: int = RUNS_PER_DRAW, workers: int | None = None,
            client=None, show_progress: bool | None = None) -> Indices:
    """First- and total-order Sobol indices of E[Y | theta] (see the
    module's text), with bootstrap errors and intervals."""
    _, y = evaluate(config, option, vs, outcome, draws, runs_per_draw, workers, client, show_progress)
    first, total, variance, noise = estimate(y)
    if not variance > 0:
        raise UserError(f"{outcome}: the variance of its expectation over the parameters, simulation noise "
                        f"removed, is {variance:.3g}, not above 0; raise --draws or --runs-per-draw (or the "
                        f"outcome does not depend on the uncertain parameters for this option)")
    boot_first, boot_total = bootstrap(y)
    tails = 100 * np.array([(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    d = y.shape[1] - 3
    return Indices(option, vs, outcome, draws, runs_per_draw, tuple(uncertain(config, outcome)), first, total,
                   np.nanstd(boot_first, axis=0, ddof=1), np.nanstd(boot_total, axis=0, ddof=1),
                   np.nanpercentile(boot_first, tails, axis=0).T, np.nanpercentile(boot_total, tails, axis=0).T,
                   float(y[:, :d + 2].mean()), variance, noise, tuple(unreachable(config, outcome)))


def option_text(option: Option) -> str:
    return ",".join(f"{axis}={getattr(option, axis)}" for axis in AXES)


def quantity(result: Indices) -> str:
    """What Y is, in words."""
    name, years = parse_outcome(result.outcome)
    label = outcomes.outcome(name).label
    what = (f"mean {label} over the horizon | parameters" if years is None
            else f"P({label} within {years} years | parameters)")
    return what if result.vs is None else f"the change in {what}, option minus against"


def options_lines(result: Indices, short: bool = False) -> list[str]:
    """The option (and the one it is against) as axis=level pairs, or ``short``: levels only."""
    def text(option):
        return ", ".join(str(getattr(option, a)) for a in AXES) if short else option_text(option)
    return [f"option:  {text(result.option)}"] + ([] if result.vs is None else [f"against: {text(result.vs)}"])


def table(result: Indices) -> str:
    """The indices ranked by total order, with their intervals."""
    level = f"{CONFIDENCE:.0%}"
    lines = [f"Sobol indices of {quantity(result)}", *options_lines(result),
             f"mean {result.mean:.4f}, sd over the parameters {np.sqrt(result.variance):.4f} "
             f"(simulation noise variance {result.noise:.3g} per row removed); {result.draws:,} draws x "
             f"{len(result.names) + 3} rows x {result.runs_per_draw:,} runs = {result.runs:,} runs",
             f"S1 (first order) + interactions = ST (total order); sum of S1 {np.sum(result.first):.2f}; "
             f"{level} bootstrap intervals",
             "",
             f"{'parameter':<28} {'ST':>6}  {level + ' interval':<16} {'S1':>6}  {level + ' interval':<16}"]
    def cell(value, interval):
        return f"{value:6.3f}  [{interval[0]:6.3f}, {interval[1]:6.3f}]"
    distinct = result.distinct()
    order = list(result.ranked())
    for told, heading in ((True, None), (False, "ST interval includes zero (not told apart from noise):")):
        rows = [i for i in order if distinct[i] == told]
        if heading and rows:
            lines += ["", heading]
        lines += [f"{result.names[i]:<28} {cell(result.total[i], result.total_interval[i])} "
                  f"{cell(result.first[i], result.first_interval[i])}" for i in rows]
    if result.unreachable:
        lines += ["", f"cannot reach {result.outcome} by the model's structure (index 0; held at the prior median, "
                      f"deterrence.outcomes.REACH_ONLY):", *textwrap.wrap(", ".join(result.unreachable), 100)]
    return "\n".join(lines)


def to_json(result: Indices) -> str:
    """The indices as a JSON object, parameters ranked by total order."""
    distinct = result.distinct()
    ranked = [{"parameter": result.names[i], "ST": result.total[i], "ST_se": result.total_se[i],
               "ST_interval": list(result.total_interval[i]), "S1": result.first[i], "S1_se": result.first_se[i],
               "S1_interval": list(result.first_interval[i]), "distinct_from_zero": bool(distinct[i])}
              for i in result.ranked()]
    head = {"option": dataclasses.asdict(result.option),
            "vs": None if result.vs is None else dataclasses.asdict(result.vs),
            "outcome": result.outcome, "quantity": quantity(result), "draws": result.draws,
            "runs_per_draw": result.runs_per_draw, "runs": result.runs, "mean": result.mean,
            "variance": result.variance, "noise_variance": result.noise, "confidence": CONFIDENCE,
            "unreachable": list(result.unreachable)}
    return json.dumps({**head, "indices": ranked}, indent=2, default=float)


def shown(result: Indices, top: int = 12) -> list[int]:
    """The parameters the figure draws: the ``top`` by total order among those told apart from noise."""
    distinct = result.distinct()
    return [int(i) for i in result.ranked() if distinct[i]][:top]


def draw(result: Indices, path: Path, top: int = 12) -> Path:
    """A bar figure of the ``top`` parameters' ST and S1 with their
    intervals, those told apart from noise only (`Indices.distinct`)."""
    from deterrence import style

    order = shown(result, top)[::-1]
    y = np.arange(len(order))
    fig = style.figure((8, 1.6 + 0.35 * len(order)))
    ax = fig.subplots()
    for shift, values, interval, label, colour in (
            (0.2, result.total, result.total_interval, "total order ST", "tab:blue"),
            (-0.2, result.first, result.first_interval, "first order S1", "tab:orange")):
        err = np.abs(interval[order].T - values[order])
        ax.barh(y + shift, values[order], height=0.38, xerr=err, color=colour, label=label,
                error_kw={"elinewidth": 0.8, "capsize": 2})
    ax.set_yticks(y, [result.names[i] for i in order], fontsize=8)
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_xlabel(f"share of Var(E[Y | parameters]) ({CONFIDENCE:.0%} bootstrap intervals)")
    left = len(result.names) - len(order)
    ax.set_title("\n".join([f"Sobol indices of {quantity(result)}", *options_lines(result, short=True),
                            f"{left} more with an interval including zero, {len(result.unreachable)} unreachable: "
                            f"not drawn"]), fontsize=style.TITLE_SIZE)
    ax.legend(fontsize=style.LEGEND_SIZE, loc="lower right")
    ax.grid(axis="x", alpha=style.GRID_ALPHA)
    return style.save(fig, Path(path))
