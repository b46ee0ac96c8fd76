"""Decisions and the value of information: which option, and what is worth learning.

A config's ``[decision]`` weights (``config.DECISION_WEIGHTS``) turn a
parameter draw's outcomes into a loss: L(theta, a) is the weighted sum of
option a's conditional probabilities and mean strikes given theta, linear,
so each draw's estimate (its runs' average) is unbiased. Draws are replayed
with ``deterrence.replay`` on common random numbers, and each draw's n runs
are replayed as two halves of n / 2 (two draws of n / 2 runs given the same
theta: together exactly the study's draw), so every draw has two independent
estimates of its losses.

- Expected loss: the mean over draws, standard error sd / sqrt(draws).
- Regret: L(theta, a) - min_a' L(theta, a') in the same world, paired.
- EVPI = min_a E[L] - E[min_a L]. The minimum over noisy estimates is
  biased low, by an amount proportional to the noise variance (to first
  order), and a half's noise variance is twice the draw's; so
  2 min(draw) - mean(min(half)) removes the first-order bias (Richardson
  extrapolation in the noise variance). The plug-in value is kept to show
  the correction.
- EVPPI of a parameter phi (Strong & Oakley 2014): each option's draw losses
  are regressed on phi (a cubic regression spline, knots at quantiles,
  their number chosen by generalised cross-validation on the options' gaps
  to the best one), and EVPPI = min_a E[L] - E[min_a fitted L_a(phi)].
- Switching values: where, along phi, the option with the lowest fitted loss
  changes.

Monte Carlo errors come from a bootstrap over draws (``epistemic.bootstrap``,
fixed seed). docs/model.md, "Decisions and the value of information",
states the method and its checks (tests/test_decide.py).
"""

import dataclasses
import json
import time
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from deterrence import UserError, config, epistemic, experiment, outcomes, replay, runner, sensitivity
from deterrence.config import Config, Option
from deterrence.experiment import DRAWS
from deterrence.model import AXES, PARAMETER_NAMES
from deterrence.trace import parse_option

# Knot counts the regression spline chooses from (2 knots: a cubic).
KNOTS = (2, 3, 4, 6, 8, 12, 16)
# Switching values are sought inside this central share of a parameter's draws.
SWITCH_RANGE = (0.01, 0.99)
SWITCH_GRID = 197
# Defaults as `deterrence explain`'s: parameter draws, and runs per draw
# where the config's study has 1.
MIN_DRAWS = 20


def term(name: str, draws: replay.Draws) -> np.ndarray:
    """(draws, options): each draw's estimate of the loss term ``name`` (a key
    of config.DECISION_WEIGHTS)."""
    if name == "reattack_2y":
        return draws.probability("reattack", 2)
    if name == "tripwire_2y":
        return draws.probability("tripwire", 2)
    if name == "war_years":
        return draws.estimate("war_days") / 365.25
    if name == "strikes_per_1000":
        return draws.estimate("strikes") / 1000.0
    if name == "war_5y":
        return outcomes.war_probability(draws.probability("ceasefire", 5), draws.probability("reattack", 5))
    raise ValueError(f"decision term {name!r} has no value; add it to deterrence.decide.term")


def loss(draws: replay.Draws, weights: dict) -> np.ndarray:
    """(draws, options): each draw's estimate of the weighted loss."""
    return sum(w * term(name, draws) for name, w in weights.items() if w)


@dataclass(frozen=True)
class Switch:
    """Along the parameter, the lowest fitted loss passes from option
    ``before`` to option ``after`` (indices) at ``value``."""
    value: float
    before: int
    after: int


@dataclass(frozen=True)
class Information:
    """The value of learning one parameter exactly."""
    parameter: str
    evppi: float
    evppi_se: float
    knots: int
    switches: tuple[Switch, ...]
    switch_se: float      # Monte Carlo error of the headline switching value (``headline``)


@dataclass(frozen=True)
class Decision:
    options: tuple[Option, ...]
    weights: dict
    draws: int
    runs_per_draw: int
    expected_loss: np.ndarray     # (options,)
    expected_loss_se: np.ndarray
    regret: np.ndarray            # (options,) E[L_a - min_a' L_a'], noise-corrected
    regret_se: np.ndarray
    best: int
    evpi: float
    evpi_se: float
    evpi_plugin: float            # without the noise correction
    information: tuple[Information, ...]   # by EVPPI, largest first
    seconds: float = 0.0


def half_losses(cfg: Config, options: list[Option], draws: int, runs_per_draw: int, workers=None, client=None,
                show_progress=None) -> tuple[np.ndarray, np.ndarray]:
    """The parameters (draws, parameters) and the losses of each draw's two
    halves (draws, 2, options): the draw's first and last n / 2 runs, which
    together are exactly the study's draw with ``runs_per_draw`` = n runs."""
    halves = replay.halves(cfg, options, draws, runs_per_draw, workers=workers, client=client,
                           show_progress=show_progress)
    theta = halves.theta[::2]
    return theta, loss(halves, cfg.decision).reshape(draws, 2, len(options))


def _mean(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return w @ x / w.sum()


def spline_basis(phi: np.ndarray, knots: int) -> tuple[object, np.ndarray]:
    """A cubic B-spline basis in ``phi`` with knots at its quantiles (the
    basis holds the constant); returns the transformer and (draws, basis)."""
    from sklearn.preprocessing import SplineTransformer

    basis = SplineTransformer(n_knots=knots, degree=3, knots="quantile", extrapolation="linear")
    return basis, basis.fit_transform(phi[:, None])


def fit(design: np.ndarray, losses: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least squares of each option's losses on the basis:
    coefficients (basis, options), by the normal equations (a B-spline basis
    is well conditioned, and the system is only basis x basis)."""
    weighted = design * w[:, None]
    return np.linalg.lstsq(weighted.T @ design, weighted.T @ losses, rcond=None)[0]


def choose_knots(phi: np.ndarray, gaps: np.ndarray) -> int:
    """The knot count of least generalised cross-validation error,
    D * RSS / (D - dof) ** 2, in fitting each option's paired gap to the
    best option (what the choice depends on), residuals summed over options."""
    d = len(phi)
    scores = []
    for knots in KNOTS:
        _, design = spline_basis(phi, knots)
        dof = design.shape[1]
        if dof >= d:
            break
        residuals = gaps - design @ fit(design, gaps, np.ones(d))
        scores.append((d * float((residuals ** 2).sum()) / (d - dof) ** 2, knots))
    return min(scores)[1]


def switches(grid: np.ndarray, fitted: np.ndarray) -> tuple[Switch, ...]:
    """Where the option with the lowest fitted loss (grid, options) changes,
    each crossing found by linear interpolation between grid points."""
    lowest = fitted.argmin(axis=1)
    found = []
    for i in np.flatnonzero(lowest[1:] != lowest[:-1]):
        a, b = lowest[i], lowest[i + 1]
        found.append(Switch(_crossing(grid[i:i + 2], fitted[i:i + 2, a] - fitted[i:i + 2, b]), int(a), int(b)))
    return tuple(found)


def _crossing(x: np.ndarray, gap: np.ndarray) -> float:
    """The root of the line through (x[0], gap[0]) and (x[1], gap[1])."""
    return float(x[0] + (x[1] - x[0]) * gap[0] / (gap[0] - gap[1])) if gap[0] != gap[1] else float(x[0])


def nearest_crossing(grid: np.ndarray, gap: np.ndarray, near: float) -> float:
    """The crossing of a gap between two fitted curves nearest ``near`` (NaN if none)."""
    change = np.flatnonzero(np.sign(gap[1:]) != np.sign(gap[:-1]))
    if not change.size:
        return np.nan
    roots = [_crossing(grid[i:i + 2], gap[i:i + 2]) for i in change]
    return min(roots, key=lambda r: abs(r - near))


def analyse(theta: np.ndarray, halves: np.ndarray, parameters: dict[str, int], options: tuple[Option, ...] = (),
            weights: dict | None = None, runs_per_draw: int = 0, reps: int = epistemic.BOOTSTRAP,
            show_progress: bool | None = None) -> Decision:
    """The decision statistics from the draws' parameters (draws, parameters)
    and their halves' losses (draws, 2, options); ``parameters`` maps each
    uncertain parameter's name to its column of ``theta``."""
    draws = halves.shape[0]
    losses = halves.mean(axis=1)
    # The noise-corrected min of each draw (see the module's text).
    lowest = 2.0 * losses.min(axis=1) - halves.min(axis=2).mean(axis=1)
    expected = losses.mean(axis=0)
    best = int(expected.argmin())
    regret = losses - lowest[:, None]
    ones = np.ones(draws)

    knots, designs, grids = {}, {}, {}
    for name, column in parameters.items():
        phi = theta[:, column]
        knots[name] = choose_knots(phi, losses - losses[:, [best]])
        basis, designs[name] = spline_basis(phi, knots[name])
        grid = np.quantile(phi, np.linspace(*SWITCH_RANGE, SWITCH_GRID))
        grids[name] = grid, basis.transform(grid[:, None])

    def evppi(name: str, w: np.ndarray):
        coefficients = fit(designs[name], losses, w)
        # >= 0 but for rounding: the fit keeps each option's mean (the basis holds the constant).
        value = max(float(_mean(losses, w).min() - _mean((designs[name] @ coefficients).min(axis=1), w)), 0.0)
        grid, at_grid = grids[name]
        return value, grid, at_grid @ coefficients

    found = {}
    for name in parameters:
        value, grid, curves = evppi(name, ones)
        found[name] = (value, switches(grid, curves))
    shown_switch = {name: headline(sw, best) for name, (_, sw) in found.items()}

    def statistic(w: np.ndarray) -> np.ndarray:
        out = [float(_mean(losses, w).min() - _mean(lowest, w))]
        for name in parameters:
            value, grid, curves = evppi(name, w)
            crossing, shown = np.nan, shown_switch[name]
            if shown:
                crossing = nearest_crossing(grid, curves[:, shown.before] - curves[:, shown.after], shown.value)
            out += [value, crossing]
        bar.update()
        return np.array(out)

    bar = runner.tqdm(total=reps, unit="rep", desc="value of information", dynamic_ncols=True,
                      disable=show_progress is False or (show_progress is None and len(parameters) * draws < 1_000_000))
    try:
        se = epistemic.bootstrap(ones, statistic, reps)
    finally:
        bar.close()
    information = tuple(sorted(
        (Information(name, value, float(se[1 + 2 * k]), knots[name], sw, float(se[2 + 2 * k]))
         for k, (name, (value, sw)) in enumerate(found.items())), key=lambda i: -i.evppi))
    return Decision(
        options=tuple(options), weights=dict(weights or {}), draws=draws, runs_per_draw=runs_per_draw,
        expected_loss=expected, expected_loss_se=losses.std(axis=0, ddof=1) / np.sqrt(draws),
        regret=regret.mean(axis=0), regret_se=regret.std(axis=0, ddof=1) / np.sqrt(draws), best=best,
        evpi=float(expected.min() - lowest.mean()), evpi_se=float(se[0]),
        evpi_plugin=float(expected.min() - losses.min(axis=1).mean()), information=information)


def decide(cfg: Config, options: list[Option], draws: int = DRAWS, runs_per_draw: int | None = None,
           workers: int | None = None, client=None, show_progress: bool | None = None) -> Decision:
    """Replay ``draws`` parameter draws of ``options`` with ``runs_per_draw``
    runs each (default the config's study.runs_per_draw, or RUNS_PER_DRAW
    if that is 1) and weigh them into a decision."""
    n = experiment.runs_per_draw(cfg, runs_per_draw)
    if draws < MIN_DRAWS:
        raise UserError(f"--draws must be at least {MIN_DRAWS} (the regressions need them), got {draws}")
    if len(options) < 2:
        raise UserError("--options: a decision needs at least two options, separated by ';'")
    start = time.perf_counter()
    theta, halves = half_losses(cfg, options, draws, n, workers, client, show_progress)
    columns = {name: PARAMETER_NAMES.index(name) for name in sensitivity.uncertain(cfg)}
    found = analyse(theta, halves, columns, tuple(options), cfg.decision, n, show_progress=show_progress)
    return dataclasses.replace(found, seconds=round(time.perf_counter() - start, 3))


def load(source: str | Path) -> Config:
    """A config, or the config a result was run with (its ``config``
    attribute, with the seed it ran with)."""
    path = Path(source)
    if path.suffix not in (".nc", ".zarr"):
        return config.load(path)
    from deterrence import results

    with results.open_result(path) as ds:
        text, seed = ds.attrs["config"], int(ds.attrs["seed"])
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{path}: its config attribute is not valid TOML ({error})") from None
    return config.parse(raw, text, f"{path} (its config)").with_overrides(seed=seed)


def parse_options(text: str | tuple[str, str], cfg: Config) -> list[Option]:
    """``all`` (the config's grid), options ``axis=level,...`` separated by
    ';', or a pair (A, B) as ``--a`` and ``--b`` write them (B "": the baseline)."""
    if isinstance(text, tuple):
        options = [parse_option(t, cfg.study.baseline, flag) for t, flag in zip(text, ("--a", "--b"), strict=True)]
        if options[0] == options[1]:
            raise UserError("--a and --b are the same option; compare two different options")
        return options
    if text.strip() == "all":
        return cfg.options
    options = [parse_option(part, cfg.study.baseline, "--options") for part in text.split(";") if part.strip()]
    if len(set(options)) != len(options):
        raise UserError(f"--options {text!r} names an option twice; give each once")
    return options


def decide_source(source: str, options: str | tuple[str, str] = "all", draws: int | None = None,
                  runs_per_draw: int | None = None, workers: int | None = None, scheduler: str | None = None,
                  jobqueue_config: str | None = None) -> Decision:
    """``deterrence decide``: from a config or a result, on local threads or
    a dask ``scheduler`` (as ``deterrence run``)."""
    from deterrence import clusters

    cfg = load(source)
    chosen = parse_options(options, cfg)
    clusters.check_scheduler(scheduler)
    for name, value in (("--draws", draws), ("--runs-per-draw", runs_per_draw), ("--workers", workers)):
        if value is not None and value < 1:
            raise UserError(f"{name} must be a positive integer, got {value}")
    draws = DRAWS if draws is None else draws
    with clusters.backend(scheduler, workers, cfg.cluster, jobqueue_config).client() as client:
        return decide(cfg, chosen, draws, runs_per_draw, workers, client=client)


def labels(options: tuple[Option, ...]) -> list[str]:
    """Each option by the axes on which the options differ."""
    varying = [a for a in AXES if len({getattr(o, a) for o in options}) > 1] or ["force_size"]
    return [",".join(f"{a}={getattr(o, a)}" for a in varying) for o in options]


def headline(found: tuple[Switch, ...], best: int) -> Switch | None:
    """The switch to show: the first into or out of the best option, else the first."""
    return next((s for s in found if best in (s.before, s.after)), found[0] if found else None)


def table(found: Decision) -> str:
    """Options by expected loss, numbered #1 (best) on; EVPI; EVPPI by parameter."""
    names = labels(found.options)
    order = np.argsort(found.expected_loss, kind="stable")
    rank = {int(a): f"#{k + 1}" for k, a in enumerate(order)}
    width = max(len(n) for n in names) + 5
    weights = " + ".join(f"{w:g} x {k}" for k, w in found.weights.items() if w)
    lines = [f"{len(found.options)} options, {found.draws:,} parameter draws x {found.runs_per_draw:,} runs "
             f"(common random numbers); loss = {weights}", "",
             f"{'option':<{width}}  {'expected loss':>15}  {'regret':>15}"]
    for a in order:
        lines.append(f"{rank[a] + ' ' + names[a]:<{width}}  {found.expected_loss[a]:.4f} ± "
                     f"{found.expected_loss_se[a]:.4f}  {found.regret[a]:.4f} ± {found.regret_se[a]:.4f}")
    lines += ["regret: the loss above the best option's in the same parameter draw (paired), mean over draws", "",
              f"best option: {names[found.best]}",
              f"EVPI {found.evpi:.4f} ± {found.evpi_se:.4f} (plug-in {found.evpi_plugin:.4f}, before the "
              f"correction for run noise)", "",
              "EVPPI by parameter (Strong & Oakley regression; ± bootstrap Monte Carlo error):",
              f"{'parameter':<28}  {'EVPPI':>16}  {'of EVPI':>7}  switching value (options)"]
    for info in found.information:
        share = info.evppi / found.evpi if found.evpi > 0 else np.nan
        shown = headline(info.switches, found.best)
        where = "none"
        if shown:
            error = f"{info.switch_se:.2g}" if np.isfinite(info.switch_se) else "n/a"
            where = f"{shown.value:.4g} ± {error} ({rank[shown.before]} -> {rank[shown.after]})"
            if len(info.switches) > 1:
                where += f", {len(info.switches) - 1} more"
        lines.append(f"{info.parameter:<28}  {info.evppi:.4f} ± {info.evppi_se:.4f}  {share:7.1%}  {where}")
    lines.append(f"\n{found.seconds:.1f} s")
    return "\n".join(lines)


def to_json(found: Decision) -> str:
    names = labels(found.options)
    data = {
        "weights": found.weights, "draws": found.draws, "runs_per_draw": found.runs_per_draw,
        "options": [{"label": n, **asdict(found.options[a]), "expected_loss": float(found.expected_loss[a]),
                     "expected_loss_se": float(found.expected_loss_se[a]), "regret": float(found.regret[a]),
                     "regret_se": float(found.regret_se[a])} for a, n in enumerate(names)],
        "best": names[found.best], "evpi": found.evpi, "evpi_se": found.evpi_se, "evpi_plugin": found.evpi_plugin,
        "evppi": [{"parameter": i.parameter, "evppi": i.evppi, "evppi_se": i.evppi_se, "knots": i.knots,
                   "switch_se": i.switch_se if np.isfinite(i.switch_se) else None,
                   "switches": [{"value": s.value, "from": names[s.before], "to": names[s.after]}
                                for s in i.switches]} for i in found.information],
        "seconds": found.seconds,
    }
    return json.dumps(data, indent=2)
