"""Where an option backfires: the regions of parameter space where option A
does worse than option B on one outcome.

Each parameter draw theta is replayed under A and B on the same random
numbers (:func:`deterrence.replay.replay`: exactly the runs of a study with
the same seed and ``runs_per_draw``). Per draw the estimate of the
conditional effect D(theta) = P_A(theta) - P_B(theta) is the difference of
the two shares of runs with the event; its noise is known from two halves
of the draw's runs. Then, in two steps (docs/model.md, "Where an option
backfires"):

1. **Conditional expectations.** A random forest regresses the estimates on
   the parameters; its out-of-bag prediction is each draw's denoised
   effect, so that chance does not drown the signal where the outcome is a
   rare yes/no. Each forest leaf averages enough draws that its noise is at
   most half the margin. A draw is *worse*, *same* or *better* as its
   fitted effect is beyond ``margin`` in A's disfavour, within it, or
   beyond it in A's favour.
2. **Boxes.** A shallow decision tree separates the worse draws from the
   rest; its subtrees whose leaves all hold mostly worse draws are the
   boxes, each a set of bounds on the parameters (in their units). Each box
   has its mass (share of draws inside), density (share of the draws inside
   that are worse), coverage (share of all worse draws that are inside) and
   mean effect, and its stability: the tree is refitted on bootstrap
   resamples of the draws, and for each bound we count how often the
   matching box of a refit bounds the same parameter on the same side, and
   how far its threshold moves.
"""

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deterrence import UserError, epistemic, experiment, outcomes
from deterrence.clusters import default_workers
from deterrence.config import Config, Option
from deterrence.experiment import DRAWS
from deterrence.model import PARAMETERS
from deterrence.outcomes import outcome as declared_outcome
from deterrence.replay import halves as replay_halves
from deterrence.runner import tqdm

DEPTH = 2                # default depth of the box tree
MARGIN = 0.01            # default margin: an effect within it is "the same" (a share: of a probability,
                         # or of the horizon for days at war, or of B's mean for another count)
MIN_MASS = 0.05          # least share of draws in a leaf of the box tree
MIN_DRAWS = 50
TREES = 50               # trees of the forest (each draw out of bag in about 18)
RESAMPLES = 20           # default refits of both steps on random halves of the draws, for the stability
ABOVE, BELOW = "above", "at most"   # a bound: value > threshold, value <= threshold
UNITS = {p.name: p.unit for p in PARAMETERS}


@dataclass(frozen=True)
class Bound:
    """One side of a box: ``parameter`` > ``threshold`` (``side`` ABOVE) or
    <= it (BELOW). ``chosen``: share of bootstrap refits whose matching box
    bounds the same parameter on the same side; ``spread``: the 5% and 95%
    quantiles of its threshold there (NaN if never chosen)."""
    parameter: str
    side: str
    threshold: float
    chosen: float
    spread: tuple[float, float]

    def text(self) -> str:
        return f"{self.parameter} {'>' if self.side == ABOVE else '<='} {self.threshold:.4g}"


@dataclass(frozen=True)
class Box:
    """A region where A is worse: its bounds; mass, density and coverage
    (shares of draws, see the module's text); the mean effect P_A - P_B of
    its draws and the standard error of that mean; ``overlap``: the mean
    over bootstrap refits of the best Jaccard overlap (in draws) of a refit's
    box with this one (0 for a refit without a box)."""
    bounds: tuple[Bound, ...]
    draws: int
    mass: float
    density: float
    coverage: float
    effect: float
    effect_se: float
    overlap: float


@dataclass(frozen=True)
class Explanation:
    """The boxes where ``option`` is worse than ``versus`` on ``outcome``,
    with the draws they come from: ``theta`` (draws, parameters) of the
    varying ``parameters``, each draw's ``effect`` estimate P_A - P_B, its
    ``fitted`` (denoised) effect and ``label`` (+1 worse, 0 same, -1 better)."""
    option: str
    versus: str
    outcome: str
    higher_is_worse: bool
    draws: int
    runs_per_draw: int
    margin: float
    forest_leaf: int
    mean_effect: float
    mean_effect_se: float
    signal_sd: float
    noise_sd: float
    shares: dict
    boxes: tuple[Box, ...]
    parameters: tuple[str, ...]
    importance: tuple[float, ...]
    theta: np.ndarray
    effect: np.ndarray
    fitted: np.ndarray
    label: np.ndarray


def parse_outcome(text: str) -> tuple[str, int | None]:
    """``reattack_2y`` -> ("reattack", 2), ``war_days`` -> ("war_days", None),
    for a replayed measure with a better and a worse direction (declared in
    deterrence.outcomes); UserError for anything else."""
    name, years = outcomes.parse_measure(text, states=False)
    if not declared_outcome(name).better:
        directed = [o.name for o in outcomes.events() if o.better]
        raise UserError(f"--outcome {text!r}: {name!r} has no better or worse direction; outcomes: "
                        f"{', '.join(o.name for o in outcomes.paired_counts())}, or <event>_<years>y with the "
                        f"event one of {', '.join(directed)}")
    return name, years


def worse_when_higher(name: str) -> bool:
    return declared_outcome(name).better == outcomes.LOWER


def option_text(option: Option) -> str:
    return ",".join(f"{axis}={level}" for axis, level in dataclasses.asdict(option).items())


def explain(config: Config, option: Option, versus: Option | None = None, outcome: str = outcomes.HEADLINE,
            draws: int = DRAWS, runs_per_draw: int | None = None, depth: int = DEPTH, margin: float | None = None,
            resamples: int = RESAMPLES, first: int = 0, workers: int | None = None,
            scheduler: str | None = None, block_draws: int | None = None,
            show_progress: bool | None = None, jobqueue_config: str | None = None) -> Explanation:
    """Find where ``option`` (A) does worse than ``versus`` (B, default the
    study's baseline) on ``outcome`` (days at war by default; ``reattack_2y``:
    an event and years).

    ``draws`` parameter draws from draw ``first``, each with
    ``runs_per_draw`` runs (default the config's ``study.runs_per_draw``, or
    RUNS_PER_DRAW if that is 1; even, for the two halves), on local threads
    (``workers``) or a dask ``scheduler`` (and ``jobqueue_config``) as for
    ``deterrence run``; the result is the same for any of them. ``depth``: of the box tree;
    ``margin``: an effect within it is "the same"; ``resamples``: bootstrap
    refits for the stability (fixed seed)."""
    from deterrence import clusters

    name, years = parse_outcome(outcome)
    versus = versus or config.study.baseline
    if option == versus:
        raise UserError("--a and --b are the same option; compare two different options")
    n = experiment.runs_per_draw(config, runs_per_draw)
    for what, value, least in (("--draws", draws, MIN_DRAWS), ("--depth", depth, 1),
                               ("--resamples", resamples, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise UserError(f"{what} must be a whole number of at least {least}, got {value!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise UserError(f"--workers must be at least 1, got {workers!r}")
    if margin is not None and not (isinstance(margin, (int, float)) and not isinstance(margin, bool)
                                   and 0 <= margin < (1 if years is not None else math.inf)):
        raise UserError(f"--margin must lie in [0, 1) for a probability, or be at least 0 (in the count's unit), "
                        f"got {margin!r}")
    clusters.check_scheduler(scheduler)
    with clusters.backend(scheduler, workers, config.cluster, jobqueue_config).client() as client:
        halves = replay_halves(config, [option, versus], draws, n, first, workers=workers, client=client,
                               block_draws=block_draws, show_progress=show_progress)
    theta = halves.theta[::2]
    total, unit = halves.totals(outcome)
    k = total.reshape(draws, 2, 2) * unit                                  # draw, half, option
    difference = k[:, :, 0] - k[:, :, 1]
    effect = difference.sum(axis=1) / n
    # With D_h = difference_h / (n / 2), (D_1 - D_2)^2 / 4 is an unbiased
    # estimate of the noise variance of the draw's estimate (D_1 + D_2) / 2.
    noise = float(np.mean((difference[:, 0] - difference[:, 1]) ** 2) / n**2)
    if margin is None:
        scale = (1.0 if years is not None else config.study.horizon_days if name == "war_days"
                 else float(np.mean(k[:, :, 1])) * 2 / n)
        margin = MARGIN * scale
    return find_boxes(option, versus, outcome, theta, effect, noise, n, depth, margin, resamples, workers,
                      show_progress)


def find_boxes(option: Option, versus: Option, outcome: str, theta: np.ndarray, effect: np.ndarray,
               noise: float, runs_per_draw: int, depth: int, margin: float, resamples: int,
               workers: int | None = None, show_progress: bool | None = None) -> Explanation:
    """The two steps of the module's text on per-draw effect estimates
    ``effect`` (draws,) at parameters ``theta`` (draws, all parameters),
    whose noise variance is ``noise`` on average."""
    name, _ = parse_outcome(outcome)
    higher_is_worse = worse_when_higher(name)
    sign = 1.0 if higher_is_worse else -1.0
    draws = len(effect)
    varying = np.ptp(theta, axis=0) > 0
    names = tuple(p.name for p, keep in zip(PARAMETERS, varying, strict=True) if keep)
    x = theta[:, varying]
    harm = sign * effect
    leaf = forest_leaf(noise, margin, draws)
    fitted, importance = _forest(x, harm, leaf, workers)
    label = np.where(fitted > margin, 1, np.where(fitted < -margin, -1, 0))
    worse = label == 1
    boxes = ()
    if x.shape[1] and worse.any():
        tree = _box_tree(x, worse, depth)
        paths = tree.decision_path(x).toarray().astype(bool)
        gen = np.random.default_rng(epistemic.BOOTSTRAP_SEED)
        refits = []
        for _ in tqdm(range(resamples), desc="refits", unit="refit", dynamic_ncols=True, disable=not show_progress):
            # Half the draws, without repetition, so that each one's
            # out-of-bag prediction stays out of bag.
            half = np.sort(gen.choice(draws, draws // 2, replace=False))
            fitted_half = _forest(x[half], harm[half], forest_leaf(noise, margin, half.size), workers)[0]
            again = _box_tree(x[half], fitted_half > margin, depth)
            again_paths = again.decision_path(x).toarray().astype(bool)
            refits.append([(again_paths[:, node], bounds) for node, bounds in _boxes(again)])
        boxes = tuple(sorted((_box(paths[:, node], bounds, names, worse, effect, refits)
                              for node, bounds in _boxes(tree)), key=lambda b: -sign * b.effect))
    se = float(np.std(effect, ddof=1) / np.sqrt(draws))
    return Explanation(
        option_text(option), option_text(versus), outcome, higher_is_worse, draws, runs_per_draw, margin, leaf,
        float(effect.mean()), se, float(np.sqrt(max(np.var(effect, ddof=1) - noise, 0.0))), float(np.sqrt(noise)),
        {"worse": float(worse.mean()), "same": float(np.mean(label == 0)), "better": float(np.mean(label == -1))},
        boxes, names, tuple(float(v) for v in importance), x, effect, sign * fitted, label)


def forest_leaf(noise: float, margin: float, draws: int) -> int:
    """Least draws in a leaf of the forest: enough that a leaf's mean has a
    noise SD sqrt(noise / leaf) of at most half the margin, but no more than
    5% of the draws (and at least 5)."""
    wanted = math.ceil(4 * noise / margin**2) if margin > 0 else draws
    return int(min(max(5, wanted), max(5, draws // 20)))


def _forest(x: np.ndarray, harm: np.ndarray, leaf: int, workers: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Each draw's out-of-bag fitted harm and the parameters' importances."""
    from sklearn.ensemble import RandomForestRegressor

    if x.shape[1] == 0:
        return np.full(len(harm), harm.mean()), np.zeros(0)
    forest = RandomForestRegressor(n_estimators=TREES, min_samples_leaf=leaf, oob_score=True,
                                   random_state=epistemic.BOOTSTRAP_SEED, n_jobs=workers or default_workers())
    forest.fit(x, harm)
    fitted = forest.oob_prediction_
    return np.where(np.isfinite(fitted), fitted, forest.predict(x)), forest.feature_importances_


def _box_tree(x: np.ndarray, worse: np.ndarray, depth: int):
    from sklearn.tree import DecisionTreeRegressor

    return DecisionTreeRegressor(max_depth=depth, min_samples_leaf=math.ceil(MIN_MASS * len(x)),
                                 random_state=epistemic.BOOTSTRAP_SEED).fit(x, worse.astype(float))


def _boxes(tree, node: int = 0, path: tuple = ()) -> list[tuple[int, dict]]:
    """The boxes of a tree fitted to the worse indicator: its largest
    subtrees whose leaves all hold mostly worse draws, as (node, bounds) with
    bounds {(feature, side): threshold}, the tightest along the path."""
    return _worse_subtrees(tree.tree_, node, path)[1]


def _worse_subtrees(t, node: int, path: tuple) -> tuple[bool, list]:
    left, right = t.children_left[node], t.children_right[node]
    if left < 0:
        worse = t.value[node].ravel()[0] > 0.5
        return worse, [(node, _tightest(path))] if worse else []
    f, at = int(t.feature[node]), float(t.threshold[node])
    left_all, left_boxes = _worse_subtrees(t, left, path + ((f, BELOW, at),))
    right_all, right_boxes = _worse_subtrees(t, right, path + ((f, ABOVE, at),))
    if left_all and right_all:
        return True, [(node, _tightest(path))]
    return False, left_boxes + right_boxes


def _tightest(path: tuple) -> dict:
    bounds = {}
    for f, side, at in path:
        old = bounds.get((f, side))
        bounds[(f, side)] = at if old is None else (max(old, at) if side == ABOVE else min(old, at))
    return bounds


def _box(inside: np.ndarray, bounds: dict, names: tuple, worse: np.ndarray, effect: np.ndarray,
         refits: list) -> Box:
    overlaps, matched = [], []
    for boxes in refits:
        jaccard = [np.sum(inside & other) / np.sum(inside | other) for other, _ in boxes]
        best = int(np.argmax(jaccard)) if jaccard else -1
        overlaps.append(jaccard[best] if jaccard else 0.0)
        matched.append(boxes[best][1] if jaccard else {})
    found = []
    for (f, side), at in sorted(bounds.items(), key=lambda item: (names[item[0][0]], item[0][1])):
        seen = np.array([m[(f, side)] for m in matched if (f, side) in m])
        spread = (float(np.quantile(seen, 0.05)), float(np.quantile(seen, 0.95))) if seen.size else (math.nan,) * 2
        found.append(Bound(names[f], side, at, seen.size / len(refits), spread))
    count = int(inside.sum())
    inner = effect[inside]
    return Box(tuple(found), count, count / len(inside), float(worse[inside].mean()),
               float(worse[inside].sum() / worse.sum()), float(inner.mean()),
               float(inner.std(ddof=1) / np.sqrt(count)) if count > 1 else math.nan, float(np.mean(overlaps)))


def as_data(ex: Explanation) -> dict:
    """The explanation as plain data (no per-draw arrays)."""
    keep = {f.name: getattr(ex, f.name) for f in dataclasses.fields(ex)
            if f.name not in ("theta", "effect", "fitted", "label", "boxes", "importance", "parameters")}
    keep["importance"] = dict(zip(ex.parameters, ex.importance, strict=True))
    keep["boxes"] = [{**{k: v for k, v in dataclasses.asdict(b).items() if k != "bounds"},
                      "bounds": [{**dataclasses.asdict(bound), "spread": list(bound.spread),
                                  "unit": UNITS[bound.parameter]} for bound in b.bounds]}
                     for b in ex.boxes]
    return _finite(keep)


def _finite(value):
    """NaN as null, for strict JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(ex: Explanation) -> str:
    return json.dumps(as_data(ex), indent=2, allow_nan=False)


def describe_outcome(ex: Explanation) -> str:
    name, years = parse_outcome(ex.outcome)
    if years is None:
        return f"mean {declared_outcome(name).label} over the horizon"
    return f"P({declared_outcome(name).label} within {years} year{'s' * (years > 1)})"


def table(ex: Explanation) -> str:
    """The boxes as text: a header, then one row per bound of each box."""
    more = "higher" if ex.higher_is_worse else "lower"
    lines = [
        f"A = {ex.option}",
        f"B = {ex.versus}",
        f"outcome {describe_outcome(ex)}: A is worse in a draw where its conditional probability is {more} "
        f"than B's by more than {ex.margin:g}",
        f"{ex.draws:,} draws x {ex.runs_per_draw:,} runs: mean effect P_A - P_B {ex.mean_effect:+.4f} "
        f"(SE {ex.mean_effect_se:.4f}); spread of the conditional effect (SD) {ex.signal_sd:.4f}, "
        f"noise of one draw's estimate (SD) {ex.noise_sd:.4f}",
        f"draws where A is worse {ex.shares['worse']:.1%}, the same {ex.shares['same']:.1%}, "
        f"better {ex.shares['better']:.1%} (by the forest's out-of-bag effect, leaves of {ex.forest_leaf} draws)",
        "",
    ]
    if not ex.boxes:
        lines.append("no region where A is worse in most draws")
        return "\n".join(lines)
    lines += ["| box | draws | mass | density | coverage | mean effect (SE) | overlap | bound | unit | chosen "
              "| threshold 5-95% |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | --- |"]
    for i, box in enumerate(ex.boxes, 1):
        head = (f"| {i} | {box.draws:,} | {box.mass:.2f} | {box.density:.2f} | {box.coverage:.2f} | "
                f"{box.effect:+.4f} ({box.effect_se:.4f}) | {box.overlap:.2f} |")
        blank = "|" + " |" * 7
        for j, bound in enumerate(box.bounds or (None,)):
            if bound is None:
                lines.append(f"{head} (everywhere) | | | |")
                continue
            low, high = bound.spread
            lines.append(f"{head if j == 0 else blank} {bound.text()} | {UNITS[bound.parameter]} | "
                         f"{bound.chosen:.0%} | {low:.4g} - {high:.4g} |")
    return "\n".join(lines)


def draw(ex: Explanation, path: Path, names: tuple[str, str] = ("A", "B")) -> Path:
    """The draws in the two most important parameters of the top box (its
    bounds first, then the forest's importance), coloured by their fitted
    effect P_A - P_B, with the box drawn; ``names``: what to call A and B."""
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.patches import Rectangle

    from deterrence import style

    if len(ex.parameters) < 2:
        raise UserError("--out: the figure needs at least two uncertain parameters")
    order = list(np.argsort(-np.asarray(ex.importance), kind="stable"))
    top = ex.boxes[0] if ex.boxes else None
    first = [] if top is None else [ex.parameters.index(b.parameter) for b in top.bounds]
    first = sorted(set(first), key=order.index)
    i, j = (first + [k for k in order if k not in first])[:2]
    fig = style.figure()
    ax = fig.add_subplot()
    # The colours saturate at the 98th percentile of |effect|, so that small effects still show.
    limit = max(float(np.quantile(np.abs(ex.fitted), 0.98)), 1e-12)
    # Red where A is worse: high values for an outcome where higher is worse.
    cmap = "RdBu_r" if ex.higher_is_worse else "RdBu"
    dots = ax.scatter(ex.theta[:, i], ex.theta[:, j], c=ex.fitted, s=6, cmap=cmap,
                      norm=TwoSlopeNorm(0.0, -limit, limit))
    fig.colorbar(dots, ax=ax, extend="both", label=f"fitted effect on {describe_outcome(ex)}: {names[0]} - {names[1]}")
    # The bulk of the draws: long prior tails would squeeze it into a corner.
    for axis, values in ((ax.set_xlim, ex.theta[:, i]), (ax.set_ylim, ex.theta[:, j])):
        low, high = np.quantile(values, (0.005, 0.995))
        axis(low - 0.05 * (high - low), high + 0.05 * (high - low))
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    title = f"no region where {names[0]} is worse in most draws"
    if top is not None:
        edges = {(b.parameter, b.side): b.threshold for b in top.bounds}
        xs = edges.get((ex.parameters[i], ABOVE), x0), edges.get((ex.parameters[i], BELOW), x1)
        ys = edges.get((ex.parameters[j], ABOVE), y0), edges.get((ex.parameters[j], BELOW), y1)
        ax.add_patch(Rectangle((xs[0], ys[0]), xs[1] - xs[0], ys[1] - ys[0], fill=False, lw=1.5, ec="black"))
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        title = (f"box 1: {' and '.join(b.text() for b in top.bounds) or 'everywhere'}\n"
                 f"mass {top.mass:.2f}, density {top.density:.2f}, coverage {top.coverage:.2f}")
    ax.set_xlabel(f"{ex.parameters[i]} ({UNITS[ex.parameters[i]]})")
    ax.set_ylabel(f"{ex.parameters[j]} ({UNITS[ex.parameters[j]]})")
    ax.set_title(f"Where {names[0]} is worse (red) than {names[1]}: {title}", fontsize=style.TITLE_SIZE)
    ax.grid(alpha=style.GRID_ALPHA)
    return style.save(fig, path)
