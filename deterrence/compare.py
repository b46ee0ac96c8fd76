"""Paired contrasts: option A against option B, or A under one study
against B under another, on the same runs.

A run is a pure function of (seed, run index, option), so two options, or
two configs that differ in a structural choice ([model] veto, the record
rows behind a fitted prior), can be compared on the same run indices:
common random numbers, and with the nested design (``study.runs_per_draw``)
the same parameter draws. For every headline outcome (each event within 1,
2 and 5 years, being at war at them; mean violations, strikes and days at
war) :func:`compare` gives A, B, the paired difference A - B with its Monte
Carlo standard error ("simulation noise"), the debiased quantiles of the
conditional effect E[A - B | theta] over the uncertain parameters
(``deterrence.epistemic``), and p_better on each outcome with a direction:
the share of draws under which A's conditional value is better than B's.
The headline ``p_better`` is read on days at war.

From Python::

    import deterrence.compare
    ds = deterrence.compare.compare("configs/laptop.toml", a="force_size=5000,posture=rear",
                                    runs=200_000)

Two options of one config run as a study whose grid is {A} and whose
baseline is B (the kernel and runner of ``deterrence run``: its paired
tallies are those of option A in a run of the config, bit for bit). Two
configs are replayed block by block, run by run (``kernels.replay_runs``),
and paired in NumPy into the same tallies; memory stays flat in the runs.
"""

import dataclasses
import json
import math
import os
from dataclasses import dataclass

import numpy as np
import xarray as xr

from deterrence import UserError, clusters, config, epistemic, kernels, outcomes, runner
from deterrence.config import MAX_RUNS_PER_DRAW, Config, Option
from deterrence.model import AXES, EVENTS, INDICATORS, VALUE_NOISE_SCALE, YEARS
from deterrence.plan import Plan, make_plan, year_days
from deterrence.replay import options_plan
from deterrence.results import _mean_se
from deterrence.tallies import Tallies, moment_sums, value_histograms
from deterrence.trace import parse_option

HEADLINE = len(INDICATORS) * len(YEARS)          # indicator-at-year outcomes, i * len(YEARS) + y
COUNTS = outcomes.paired_counts()                # violations, strikes, days at war: model.PAIRED_COUNTS
# Each count's unit in the tallies (days at war in TRUCE_DAYS_UNIT).
COUNT_SCALE = np.array([o.scale for o in COUNTS])
PAIR_BLOCK_RUNS = 50_000                         # runs per block of a study pair (about 1.4 MB each)


@dataclass
class Pair:
    """A and B on the same runs, as the tallies of a study whose kernel rows
    are A then B (``tallies.Tallies``: its exact sums, carries and limits),
    read on A's paired differences: the draws by runs with each headline
    event within each year (``draw_hist``: 2, HEADLINE, runs_per_draw + 1),
    by the difference of those numbers (``draw_diff``: HEADLINE,
    2 runs_per_draw + 1, offset runs_per_draw), the moments of the per-run
    differences A - B (``paired``: HEADLINE + counts, 3), the sums of the
    paired counts of A and B (``count_sums``: 2, counts), and the draws by
    the bin of A's draw mean of each paired count and of A - B, with their
    within-draw sums of squares (``value_hist``, ``value_noise``). The
    tallies' moments hold the paired counts only (outcomes.paired_counts());
    a pairing of two studies run by run tallies no day histograms."""
    tallies: Tallies

    runs = property(lambda self: self.tallies.runs)
    runs_per_draw = property(lambda self: self.tallies.draw_hist.shape[-1] - 1)
    draw_hist = property(lambda self: self.tallies.draw_hist)
    draw_diff = property(lambda self: self.tallies.draw_diff[0])
    paired = property(lambda self: self.tallies.paired[0])
    count_sums = property(lambda self: self.tallies.moments[:, :, 0])
    value_hist = property(lambda self: self.tallies.value_hist[0])
    value_noise = property(lambda self: self.tallies.value_noise[0])

    def __iadd__(self, other: "Pair") -> "Pair":
        self.tallies += other.tallies
        return self


def option_text(option: Option) -> str:
    """An option as ``axis=level,...`` over every axis (the form --a and --b read)."""
    return ",".join(f"{a}={getattr(option, a)}" for a in AXES)


def compare(config_a: Config | str | os.PathLike, a: Option | str, b: Option | str | None = None,
            config_b: Config | str | os.PathLike | None = None, runs: int | None = None,
            runs_per_draw: int | None = None, workers: int | None = None,
            show_progress: bool | None = None, outcome: str | None = None) -> xr.Dataset:
    """The paired difference A - B on every headline outcome.

    Parameters
    ----------
    config_a : Config, str or path-like
        The study config of A (its seed, horizon, priors, [model] choices).
    a, b : Option or str
        Options, or text ``"axis=level,..."`` whose left-out axes take the
        config's baseline level. ``b`` defaults to the baseline of
        ``config_a``, or with ``config_b`` to ``a``.
    config_b : Config, str or path-like, optional
        The study of B: the same seed, horizon and runs per draw, a
        structural choice or prior apart. Runs pair by index.
    runs : int, optional
        Runs (default ``study.runs`` of ``config_a``); a multiple of the runs per draw.
    runs_per_draw : int, optional
        Runs per parameter draw (default the config's); above 1 the result
        holds the parameter quantiles and p_better.
    workers : int, optional
        Local worker threads (default: all cores).
    show_progress : bool, optional
        A progress bar on stderr over the runs (default: shown; False hides it).
    outcome : str, optional
        Keep this measure only (``war_days``, ``reattack_2y``, ...; see
        ``outcomes.parse_measure``); default every outcome.

    Returns
    -------
    xarray.Dataset
        Over ``outcome`` (``ceasefire_1y`` ... ``tripwire_5y``,
        ``violations``, ``strikes``): ``a``, ``b``, ``diff`` (A - B),
        ``diff_se`` (simulation noise: the Monte Carlo standard error,
        over draws with the nested design; for the counts then an upper
        bound), ``diff_q`` and ``diff_q_se`` over ``quantile``; scalars
        ``p_better`` and ``p_better_se``; NaN where undefined (beyond the
        horizon; quantiles with one run per draw). Its attributes name the
        options, the configs, the seed and the runs.
    """
    if outcome is not None:
        name, years = outcomes.parse_measure(outcome)
        outcome = name if years is None else f"{name}_{years}y"
    cfg_a = _config(config_a)
    cfg_b = _config(config_b) if config_b is not None else None
    if workers is not None and not (_whole(workers) and workers >= 1):
        raise UserError(f"--workers must be at least 1, got {workers!r}")
    option_a = _option(a, cfg_a, "--a")
    if cfg_b is None:
        option_b = cfg_a.study.baseline if b is None else _option(b, cfg_a, "--b")
    else:
        option_b = option_a if b is None else _option(b, cfg_b, "--b")
        _check_pairing(cfg_a, cfg_b, runs_per_draw)
    cfg_a = _with_runs(cfg_a, runs, runs_per_draw)
    if cfg_b is None:
        pair = option_pair(cfg_a, option_a, option_b, workers, show_progress)
    else:
        cfg_b = _with_runs(cfg_b, cfg_a.study.runs, cfg_a.study.runs_per_draw)
        pair = study_pair(cfg_a, option_a, cfg_b, option_b, workers, show_progress)
    ds = summarise(pair, year_days(), cfg_a.study.horizon_days)
    ds.attrs.update(a=option_text(option_a), b=option_text(option_b), config_a=cfg_a.path,
                    config_b=(cfg_b or cfg_a).path, seed=str(cfg_a.study.seed),
                    horizon_days=cfg_a.study.horizon_days, b_is_baseline=int(cfg_b is None and
                                                                              option_b == cfg_a.study.baseline))
    return ds if outcome is None else ds.sel(outcome=[outcome])


def _config(value) -> Config:
    return value if isinstance(value, Config) else config.load(value)


def _option(value, cfg: Config, flag: str) -> Option:
    if isinstance(value, Option):
        return value
    return parse_option(value, cfg.study.baseline, flag)


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_pairing(cfg_a: Config, cfg_b: Config, runs_per_draw: int | None) -> None:
    """Two studies pair run by run only under the same seed, horizon and
    parameter draws."""
    for what, x, y in (("study.seed", cfg_a.study.seed, cfg_b.study.seed),
                       ("study.horizon_days", cfg_a.study.horizon_days, cfg_b.study.horizon_days),
                       ("study.runs_per_draw", cfg_a.study.runs_per_draw if runs_per_draw is None else 0,
                        cfg_b.study.runs_per_draw if runs_per_draw is None else 0)):
        if x != y:
            raise UserError(f"--config-b {cfg_b.path}: {what} is {y}, {cfg_a.path} has {x}; runs pair only "
                            f"where both are equal: set them equal"
                            + (" (or give --runs-per-draw)" if what == "study.runs_per_draw" else ""))


def _with_runs(cfg: Config, runs: int | None, runs_per_draw: int | None) -> Config:
    """The config with its runs and runs per draw replaced (blocks rounded
    down to whole draws)."""
    if runs_per_draw is not None:
        if not (_whole(runs_per_draw) and 1 <= runs_per_draw <= MAX_RUNS_PER_DRAW):
            raise UserError(f"--runs-per-draw must be a whole number from 1 to {MAX_RUNS_PER_DRAW:,}, "
                            f"got {runs_per_draw!r}")
        block = max(runs_per_draw, cfg.study.block_runs // runs_per_draw * runs_per_draw)
        cfg = dataclasses.replace(cfg, study=dataclasses.replace(cfg.study, runs_per_draw=runs_per_draw,
                                                                 block_runs=block))
    return cfg.with_overrides(runs=cfg.study.runs if runs is None else runs)


def option_pair(cfg: Config, a: Option, b: Option, workers: int | None = None,
                show_progress: bool | None = None) -> Pair:
    """A against B under one config: a study whose grid is {A} and whose
    baseline is B, run as ``deterrence run`` runs it."""
    study = dataclasses.replace(cfg, grid={axis: (getattr(a, axis),) for axis in AXES},
                                study=dataclasses.replace(cfg.study, baseline=b))
    plan = make_plan(study)
    t = runner.run_local(plan, workers=workers, show_progress=show_progress)
    # Kernel rows: the one grid option, then the baseline.
    columns = [outcomes.counts().index(o) for o in COUNTS]
    return Pair(dataclasses.replace(t, moments=t.moments[:, columns]))


def study_pair(cfg_a: Config, a: Option, cfg_b: Config, b: Option, workers: int | None = None,
               show_progress: bool | None = None) -> Pair:
    """A under ``cfg_a`` against B under ``cfg_b`` on runs 0 ... runs - 1
    (the runs and runs per draw of ``cfg_a``), in blocks of whole draws on
    local threads; the integer sums make the result the same for any
    blocks and workers."""
    rpd, runs = cfg_a.study.runs_per_draw, cfg_a.study.runs
    plans = [dataclasses.replace(options_plan(c, [o]), runs_per_draw=rpd, runs=runs)
             for c, o in ((cfg_a, a), (cfg_b, b))]
    size = rpd * max(1, PAIR_BLOCK_RUNS // rpd)
    blocks = [(start, min(start + size, runs)) for start in range(0, runs, size)]
    bar = runner.progress(plans[0], disable=None if show_progress is None else not show_progress)
    total = None
    try:
        for _, part in clusters.map_blocks(pair_block, plans, blocks, workers=workers, name="pair"):
            total = part if total is None else total.__iadd__(part)
            bar.update(part.runs)
    finally:
        bar.close()
    return total


def pair_block(plans: list[Plan], start: int, stop: int) -> Pair:
    """Runs [start, stop) (whole draws) of the first plan's option against the second's."""
    flags, counts = [], []
    for plan in plans:
        f, c, fault = kernels.replay_runs(plan.kernel, start, stop)
        if fault[0] != kernels.NO_FAULT:
            raise UserError(runner.fault_message(plan, *(int(x) for x in fault)))
        flags.append(f[:, 0].astype(np.int64))
        counts.append(c[:, 0])
    return pair_of_runs(plans[0].runs_per_draw, *flags, *counts)


def pair_of_runs(n: int, flags_a: np.ndarray, flags_b: np.ndarray, counts_a: np.ndarray,
                 counts_b: np.ndarray) -> Pair:
    """The Pair tallies of runs given one by one: flags (runs, HEADLINE)
    and paired counts (runs, counts) of A and B, the runs in whole draws of n."""
    runs = flags_a.shape[0]
    within = [f.reshape(runs // n, n, -1).sum(axis=1) for f in (flags_a, flags_b)]
    draw_hist = np.stack([_histograms(k, n + 1) for k in within])
    draw_diff = _histograms(within[0] - within[1] + n, 2 * n + 1)
    paired = _moments(np.concatenate([flags_a - flags_b, counts_a - counts_b], axis=1))
    # As the kernel: the counts in their units (days at war in days), then A - B.
    a, b = counts_a * COUNT_SCALE, counts_b * COUNT_SCALE
    value_hist, value_noise = value_histograms(np.concatenate([a, a - b], axis=1)[:, None, :], n)
    # No day histograms: a replay of runs returns each run's flags at the years, not its days.
    return Pair(Tallies(runs, hist=np.zeros((2, len(EVENTS), 0), dtype=np.int64),
                        moments=np.stack([_moments(counts_a), _moments(counts_b)]), paired=paired[None],
                        after_ceasefire=np.zeros((2, 0, 2), dtype=np.int64), draw_hist=draw_hist,
                        draw_diff=draw_diff[None], value_hist=value_hist, value_noise=value_noise))


def _moments(values: np.ndarray) -> np.ndarray:
    """(columns, 3): the sum of each column of ``values`` (runs, columns) and
    the 32-bit halves of its sum of squares, as ``Tallies.moments`` (each
    |value| at most model.MAX_COUNT, so each square fits int64)."""
    square = values * values
    return np.stack([values.sum(axis=0), (square >> 32).sum(axis=0), (square & 0xFFFFFFFF).sum(axis=0)], axis=1)


def _histograms(k: np.ndarray, bins: int) -> np.ndarray:
    """(columns, bins): the rows of ``k`` (rows, columns) by their value in each column."""
    columns = k.shape[1]
    flat = (k + bins * np.arange(columns)).ravel()
    return np.bincount(flat, minlength=columns * bins).reshape(columns, bins).astype(np.int64)


def outcome_names() -> list[str]:
    """``ceasefire_1y`` ... ``war_5y``, then the paired counts."""
    return [f"{o.name}_{y}y" for o in outcomes.indicators() for y in YEARS] + [o.name for o in COUNTS]


def _directions() -> list[str]:
    """Each outcome's direction (outcomes.LOWER, HIGHER or NEITHER), in the order of `outcome_names`."""
    return [o.better for o in outcomes.indicators() for _ in YEARS] + [o.better for o in COUNTS]


def summarise(pair: Pair, days: np.ndarray, horizon: int) -> xr.Dataset:
    """The dataset of :func:`compare` from a pair's tallies; ``days``: the
    whole days of model.YEARS (``plan.year_days``)."""
    n, runs = pair.runs_per_draw, pair.runs
    total, squares = moment_sums(pair.paired)
    scale = np.concatenate([np.ones(HEADLINE), COUNT_SCALE])
    level = np.concatenate([pair.draw_hist @ np.arange(n + 1) / runs, pair.count_sums / runs], axis=1) * scale
    diff = total / runs * scale
    k = len(COUNTS)
    # Runs of a draw share its parameters: with one run per draw the runs
    # are the independent units; else the draws (their binned means).
    se = np.concatenate([epistemic.mean_se(pair.draw_diff, epistemic.difference_values(n)),
                         _mean_se(total[HEADLINE:], squares[HEADLINE:], runs)[1] * COUNT_SCALE])
    q = np.full((diff.size, len(epistemic.QUANTILES)), np.nan)
    q_se = q.copy()
    better = np.full(diff.size, np.nan)
    better_se = better.copy()
    if n > 1:
        q[:HEADLINE], q_se[:HEADLINE], below, below_se, _ = epistemic.difference_summary(
            pair.draw_diff, n, squares[:HEADLINE])
        _, _, above, above_se, _ = epistemic.difference_summary(pair.draw_diff[:, ::-1], n, squares[:HEADLINE])
        _, within = moment_sums(pair.value_noise)
        cq, cq_se, c_below, c_below_se, c_se = epistemic.value_summary(
            pair.value_hist[k:], within[k:] / VALUE_NOISE_SCALE, n)
        q[HEADLINE:], q_se[HEADLINE:], se[HEADLINE:] = cq, cq_se, c_se
        for i, direction in enumerate(_directions()):
            if direction == outcomes.LOWER:
                better[i], better_se[i] = ((below[i], below_se[i]) if i < HEADLINE
                                           else (c_below[i - HEADLINE], c_below_se[i - HEADLINE]))
            elif direction == outcomes.HIGHER:
                better[i], better_se[i] = above[i], above_se[i]
    beyond = np.concatenate([np.tile(days > horizon, len(INDICATORS)), np.zeros(len(COUNTS), dtype=bool)])
    level[:, beyond] = np.nan
    diff[beyond], se[beyond], q[beyond], q_se[beyond] = np.nan, np.nan, np.nan, np.nan
    better[beyond], better_se[beyond] = np.nan, np.nan
    headline = outcome_names().index(outcomes.HEADLINE)
    one = ("outcome",)
    return xr.Dataset(
        {"a": (one, level[0]), "b": (one, level[1]), "diff": (one, diff), "diff_se": (one, se),
         "diff_q": (one + ("quantile",), q), "diff_q_se": (one + ("quantile",), q_se),
         "p_better_by_outcome": (one, better), "p_better_by_outcome_se": (one, better_se),
         "p_better": ((), better[headline]), "p_better_se": ((), better_se[headline])},
        coords={"outcome": np.array(outcome_names(), dtype=object), "quantile": np.array(epistemic.QUANTILES)},
        attrs={"runs": runs, "runs_per_draw": n, "parameter_draws": runs // n,
               "p_better_outcome": outcomes.HEADLINE})


def to_json(ds: xr.Dataset) -> str:
    """The result as a JSON object (NaN as null)."""
    def number(x):
        x = float(x)
        return x if math.isfinite(x) else None

    quantiles = [f"{p:g}" for p in ds["quantile"].values]
    rows = {}
    for name in ds["outcome"].values:
        row = ds.sel(outcome=name)
        rows[str(name)] = {
            **{v: number(row[v]) for v in ("a", "b", "diff", "diff_se")},
            "p_better": number(row["p_better_by_outcome"]), "p_better_se": number(row["p_better_by_outcome_se"]),
            **{v: dict(zip(quantiles, map(number, row[v].values), strict=True)) for v in ("diff_q", "diff_q_se")},
        }
    return json.dumps({**{k: (v.item() if isinstance(v, np.generic) else v) for k, v in ds.attrs.items()},
                       "p_better": number(ds.p_better), "p_better_se": number(ds.p_better_se),
                       "p_better_outcome": ds.attrs["p_better_outcome"],
                       "outcomes": rows}, indent=2)


def table(ds: xr.Dataset) -> str:
    """A plain-text table: per outcome A, B, A - B with its simulation
    noise, and the parameter interval (5% .. 95%, median) of the effect."""
    attrs = ds.attrs
    same = attrs["config_a"] == attrs["config_b"]
    lines = [f"A: {attrs['a']}" + ("" if same else f"  ({attrs['config_a']})"),
             f"B: {attrs['b']}" + (" (the baseline)" if attrs.get("b_is_baseline") else "")
             + ("" if same else f"  ({attrs['config_b']})"),
             f"{int(attrs['runs']):,} runs, seed {attrs['seed']}, {int(attrs['parameter_draws']):,} parameter "
             f"draws of {int(attrs['runs_per_draw']):,} runs", ""]
    draws = int(attrs["parameter_draws"])
    nested = attrs["runs_per_draw"] > 1 and draws >= epistemic.MIN_DRAWS
    head = f"{'outcome':<32} {'A':>8} {'B':>8} {'A - B':>8} {'noise':>8}"
    if nested:
        head += f" {'90% interval':>17} {'better':>6}"
    lines += [head, "-" * len(head)]
    counts = {o.name: o for o in COUNTS}
    names = [str(v) for v in ds["outcome"].values]
    # The headline (days at war) first.
    for name in sorted(names, key=lambda v: v != outcomes.HEADLINE):
        row = ds.sel(outcome=name)
        if name in counts:
            label, scale = f"mean {counts[name].label}", 1.0
        else:
            event, years = name.rsplit("_", 1)
            o = outcomes.outcome(event)
            label = f"P({o.label} {'at' if o.kind == outcomes.STATE else 'within'} {years[:-1]} y)"
            scale = 100.0
        a, b, diff, se = (float(row[v]) * scale for v in ("a", "b", "diff", "diff_se"))
        if not np.isfinite(diff):
            lines.append(f"{label:<32} {'beyond the horizon':>35}")
            continue
        digits = 1 if name in counts else 2
        line = (f"{label:<32} {a:>8.{digits}f} {b:>8.{digits}f} {diff:>+8.{digits}f} "
                f"{'±' + format(se, f'.{digits}f'):>8}")
        if nested:
            q = row["diff_q"].values * scale
            better = float(row["p_better_by_outcome"])
            line += (f" {'n/a':>17}" if not np.isfinite(q).all() else
                     f" {f'[{q[0]:+.{digits}f}, {q[-1]:+.{digits}f}]':>17}")
            line += f" {'–' if not np.isfinite(better) else format(better, '.0%'):>6}"
        lines.append(line)
    lines.append("")
    lines.append("Probabilities in percent, their differences in percentage points; means per run "
                 "over the horizon (days at war in days).")
    lines.append("noise: simulation noise, the Monte Carlo standard error of A - B (more runs shrink it"
                 + ("; over parameter draws)." if nested else ")."))
    if nested:
        lines.append("90% interval: 5th to 95th percentile of the effect over the uncertain parameters "
                     "(debiased, docs/model.md \"Parameter uncertainty\"): more runs do not shrink it.")
        lines.append("better: the share of parameter draws under which A is better than B on that row "
                     "(fewer days at war, strikes, violations; a lower risk; a higher ceasefire chance).")
        lines.append(f"p_better on days at war (the headline): {float(ds.p_better):.1%} of the parameter draws "
                     f"give A fewer days at war than B (simulation noise ±{float(ds.p_better_se):.1%}). A lower "
                     f"re-attack risk alone can mean a later ceasefire: read it beside the ceasefire rows.")
    elif attrs["runs_per_draw"] > 1:
        lines.append(f"Parameter interval and p_better not yet estimable: {draws:,} parameter draws, fewer than "
                     f"the {epistemic.MIN_DRAWS} they need; give --runs of at least "
                     f"{epistemic.MIN_DRAWS * int(attrs['runs_per_draw']):,}.")
    else:
        lines.append("One run per parameter draw: give --runs-per-draw (e.g. 500) for the parameter "
                     "interval and p_better.")
    return "\n".join(lines)
