"""Tallies to an xarray.Dataset with estimates, standard errors and
provenance; written atomically as NetCDF or Zarr."""

import contextlib
import datetime
import fcntl
import json
import os
import shutil
import stat
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import dask
import numpy as np
import xarray as xr

from deterrence import UserError, __version__, epistemic, outcomes, schema
from deterrence.config import Config
from deterrence.model import (
    AFTER_NOISE_SCALE,
    AXES,
    EVENTS,
    INDICATORS,
    PAIRED_COUNTS,
    SENSITIVITY_OUTCOMES,
    SENSITIVITY_YEAR,
    TRUCE_DAYS_UNIT,
    VALUE_NOISE_SCALE,
    YEARS,
)
from deterrence.plan import Plan
from deterrence.tallies import Tallies, moment_sums

FORMATS = {".nc": "netcdf", ".zarr": "zarr"}
# The figure formats a command writes (matplotlib's, by the name's suffix).
FIGURE_SUFFIXES = (".png", ".pdf", ".svg")


def output_format(path: str | Path) -> str:
    suffix = Path(path).suffix
    if suffix not in FORMATS:
        raise UserError(f"--out {path}: the name must end in .nc (NetCDF) or .zarr (Zarr)")
    return FORMATS[suffix]


def shown(path: str | Path) -> str:
    """A path for a one-line message: as it is, or quoted where it holds
    characters that would break the line (control characters, separators)."""
    text = str(path)
    return text if text.isprintable() else repr(text)


def output_folder(path: str | Path, flag: str = "--out") -> Path:
    """A folder for a command's files, checked and created before any work:
    refused in one line if a file or a link holds its name or it cannot be created."""
    path = Path(path)
    if os.path.lexists(path) and (path.is_symlink() or not path.is_dir()):
        raise UserError(f"{flag} {shown(path)} exists and is not a folder (a file or a link); choose a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as error:
        raise UserError(f"{flag} {shown(path)}: cannot create the folder "
                        f"({getattr(error, 'strerror', None) or error})") from None
    return path


def figure_path(path: str | Path, flag: str = "--out") -> Path:
    """A figure's path, checked before any work: a suffix matplotlib writes
    (FIGURE_SUFFIXES), not a folder or a link, its folder created if missing."""
    path = Path(path)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise UserError(f"{flag} {shown(path)}: a figure's name must end in {', '.join(FIGURE_SUFFIXES)}, "
                        f"e.g. {shown(path.with_suffix('.png').name if path.name else 'figure.png')}")
    if os.path.lexists(path) and (path.is_symlink() or not path.is_file()):
        raise UserError(f"{flag} {shown(path)} exists and is not a file (a folder or a link); choose another path")
    output_folder(path.parent, flag)
    return path


def _mean_se(total, squares, n):
    mean = total / n
    var = np.maximum(squares - total * total / n, 0.0) / max(n - 1, 1)
    return mean, np.sqrt(var / n)


def build(config: Config, plan: Plan, tallies: Tallies, extra_attrs: dict | None = None) -> xr.Dataset:
    """The dataset of a finished study (the baseline row is the last option)."""
    grid = config.grid
    shape = tuple(len(grid[a]) for a in AXES)
    n = tallies.runs
    horizon = plan.horizon
    # Strings as objects: variable-length strings, which Zarr v3 specifies.
    coords = {a: np.array(grid[a], dtype=object if a != "force_size" else np.int64) for a in AXES}
    coords["day"] = np.arange(horizon + 1)
    coords["years"] = list(YEARS)

    def grid_array(values):
        return values[plan.grid_rows].reshape(shape + values.shape[1:])

    data = {}
    year_days = plan.year_days
    in_horizon = year_days <= horizon
    for e, o in enumerate(outcomes.events()):
        hist = tallies.hist[:, e, :]
        data[o.tally] = (AXES + ("day",), grid_array(hist))
        cumulative = np.cumsum(hist, axis=1)
        within = np.stack([cumulative[:, min(d, horizon) - 1] for d in year_days], axis=1)
        p = np.where(in_horizon, within / n, np.nan)
        data[f"p_{o.name}"] = (AXES + ("years",), grid_array(p))
        data[f"p_{o.name}_se"] = (AXES + ("years",), grid_array(np.sqrt(p * (1 - p) / n)))
    data.update(_war_or_peace(data, n))
    nested = plan.runs_per_draw > 1 and tallies.draw_hist is not None
    if nested:
        data.update(_parameter_uncertainty(plan, tallies, grid_array, in_horizon))
    data.update(_after_ceasefire(tallies, grid_array, plan.runs_per_draw, nested))
    total, squares = moment_sums(tallies.moments)
    for c, o in enumerate(outcomes.counts()):
        scale = o.scale
        s, sq = total[:, c] * scale, squares[:, c] * scale * scale
        mean, se = _mean_se(s, sq, n)
        if nested:
            # Runs of a draw share its parameters: an upper bound (runs of a
            # draw as if all alike) where the draw sums are not tallied
            # (the paired counts' errors come from their draws below).
            se = se * np.sqrt(plan.runs_per_draw)
        for name, values in ((f"{o.name}_sum", s), (f"{o.name}_sumsq", sq), (f"mean_{o.name}", mean),
                             (f"mean_{o.name}_se", se)):
            data[name] = (AXES, grid_array(values))
    paired = _paired(tallies, n, grid_array, in_horizon, plan.runs_per_draw if nested else 1)
    data.update({k: v for k, v in paired.items() if k not in data})
    if nested and tallies.value_hist is not None:
        data.update(_count_uncertainty(plan, tallies, grid_array))
    if tallies.sensitivity is not None and plan.sensitivity_parameters.size:
        data.update(_sensitivity(config, plan, tallies, grid_array))
    data["runs"] = (AXES, np.full(shape, n, dtype=np.int64))
    # Every variable's words come from its declaration in deterrence.outcomes.
    data = {name: (dims, values, outcomes.attrs(name)) for name, (dims, values) in data.items()}
    base = config.study.baseline
    attrs = {
        "title": f"deterrence study {config.study.name}",
        "Conventions": "CF-1.10",
        "source": f"deterrence {__version__}",
        "history": f"{datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')} "
                   f"deterrence run {config.path}",
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "package_version": __version__,
        "config": config.text,
        "config_sha256": config.sha256,
        "seed": str(config.study.seed),
        "runs": n,
        "horizon_days": horizon,
        "start_date": config.study.start_date.isoformat(),
        "baseline": json.dumps({a: getattr(base, a) for a in AXES}),
        "priors": json.dumps({p.name: {"dist": p.dist, **dict(p.params), "source": p.source,
                                       **({"fit": p.fit} if p.fit else {}), **({"rows": p.rows} if p.rows else {})}
                              for p in config.priors}),
        "model_choices": json.dumps(config.choices),
        "runs_per_draw": plan.runs_per_draw,
        "parameter_draws": n // plan.runs_per_draw,
    }
    attrs.update(extra_attrs or {})
    if nested:
        coords["quantile"] = np.array(epistemic.QUANTILES)
    coords["outcome"] = np.array(SENSITIVITY_OUTCOMES, dtype=object)
    coords["parameter"] = np.array([config.priors[i].name for i in plan.sensitivity_parameters], dtype=object)
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    ds["day"].attrs = {"long_name": "day since the study start (last: not within horizon)",
                       "units": "days", "reference_date": config.study.start_date.isoformat()}
    ds["years"].attrs = {"long_name": "years since the study start", "units": "years"}
    if nested:
        ds["quantile"].attrs = {"long_name": "quantile over the uncertain parameters' draws", "units": "1"}
    ds["force_size"].attrs = {"long_name": "troops of the reassurance force", "units": "troops"}
    return ds


def _war_or_peace(data: dict, n: int) -> dict:
    """Being at war at y years: no ceasefire yet, or re-attacked (disjoint
    events, since a re-attack can only follow a ceasefire, so the
    probabilities add exactly; the kernel tallies the state per draw, which
    gives its parameter interval and, with the nested design, its error)."""
    dims = data["p_ceasefire"][0]
    p_war = outcomes.war_probability(data["p_ceasefire"][1], data["p_reattack"][1])
    return {"p_war": (dims, p_war), "p_war_se": (dims, np.sqrt(p_war * (1 - p_war) / n))}


def _parameter_uncertainty(plan: Plan, tallies: Tallies, grid_array, in_horizon) -> dict:
    """The nested design's outputs (deterrence.epistemic): per event and
    year the debiased quantiles over parameter draws of the conditional
    probability and of its paired effect, with Monte Carlo errors; the
    share of draws under which the option's 2-year re-attack risk is below
    the baseline's; and the standard errors of the headline probabilities
    and effects over draws (which replace the per-run ones: runs of a draw
    are not independent)."""
    n = plan.runs_per_draw
    n_years = len(YEARS)
    n_opt = tallies.draw_hist.shape[0]
    shape = (n_opt, len(INDICATORS), n_years)
    _, squares = moment_sums(tallies.paired)
    discordant = squares[:, :len(INDICATORS) * n_years].reshape(shape)
    diff_hist = tallies.draw_diff.reshape(shape + (2 * n + 1,))
    q, q_se, se = epistemic.event_summary(tallies.draw_hist.reshape(shape + (n + 1,)), n)
    dq, dq_se, below, below_se, dse = epistemic.difference_summary(diff_hist, n, discordant)
    data = {}
    dims = AXES + ("years",)
    qdims = dims + ("quantile",)
    cut = in_horizon[:, None]
    for e, o in enumerate(outcomes.indicators()):
        data[f"p_{o.name}_se"] = (dims, grid_array(np.where(in_horizon, se[:, e], np.nan)))
        data[f"diff_p_{o.name}_se"] = (dims, grid_array(np.where(in_horizon, dse[:, e], np.nan)))
        for name, values in ((f"p_{o.name}_q", q), (f"p_{o.name}_q_se", q_se), (f"diff_p_{o.name}_q", dq),
                             (f"diff_p_{o.name}_q_se", dq_se)):
            data[name] = (qdims, grid_array(np.where(cut, values[:, e], np.nan)))
        if o.better == outcomes.HIGHER:
            # The share of draws with an effect above 0: below 0 of the mirrored histogram.
            _, _, share, share_se, _ = epistemic.difference_summary(diff_hist[:, e, :, ::-1], n, discordant[:, e])
        elif o.better == outcomes.LOWER:
            share, share_se = below[:, e], below_se[:, e]
        else:
            continue
        data[f"p_better_{o.name}"] = (dims, grid_array(np.where(in_horizon, share, np.nan)))
        data[f"p_better_{o.name}_se"] = (dims, grid_array(np.where(in_horizon, share_se, np.nan)))
    return data


def _count_uncertainty(plan: Plan, tallies: Tallies, grid_array) -> dict:
    """The nested design's outputs for the paired counts (days at war,
    strikes, violations): the debiased quantiles over parameter draws of
    the conditional mean and of its paired effect, from the draws' binned
    means (deterrence.epistemic.value_summary), their Monte Carlo errors,
    the errors of the means and effects over draws, and p_better (the share
    of draws under which the option's conditional mean is below the
    baseline's); ``p_better`` itself is read on the headline measure."""
    n = plan.runs_per_draw
    k = len(PAIRED_COUNTS)
    _, within = moment_sums(tallies.value_noise)
    q, q_se, below, below_se, se = epistemic.value_summary(tallies.value_hist, within / VALUE_NOISE_SCALE, n)
    data = {}
    qdims = AXES + ("quantile",)
    for j, o in enumerate(outcomes.paired_counts()):
        for prefix, row in (("", j), ("diff_", k + j)):
            data[f"{prefix}mean_{o.name}_q"] = (qdims, grid_array(q[:, row]))
            data[f"{prefix}mean_{o.name}_q_se"] = (qdims, grid_array(q_se[:, row]))
            data[f"{prefix}mean_{o.name}_se"] = (AXES, grid_array(se[:, row]))
        data[f"p_better_{o.name}"] = (AXES, grid_array(below[:, k + j]))
        data[f"p_better_{o.name}_se"] = (AXES, grid_array(below_se[:, k + j]))
    data["p_better"] = data[f"p_better_{outcomes.HEADLINE}"]
    data["p_better_se"] = data[f"p_better_{outcomes.HEADLINE}_se"]
    return data


def _after_ceasefire(tallies: Tallies, grid_array, runs_per_draw: int, nested: bool) -> dict:
    """The risk of a re-attack within y years of the first ceasefire, among
    runs whose ceasefire left y years of horizon: free of when the ceasefire
    came, so an option that delays it does not look safer (NaN where no run
    qualifies). The pooled risk A / C and its paired difference to the
    baseline, with errors over parameter draws (a ratio estimator's, from
    the draws' products of counts); with the nested design, the debiased
    quantiles over draws of each draw's conditional risk and of its
    difference, and p_better on it (deterrence.epistemic.ratio_summary)."""
    counts = tallies.after_ceasefire.astype(np.float64)
    qualifying, reattacked = counts[..., 0], counts[..., 1]
    dims = AXES + ("years",)
    name = outcomes.AFTER_CEASEFIRE
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(qualifying > 0, reattacked / qualifying, np.nan)
        diff = p - p[-1:]
        data = {name: (dims, grid_array(p)), f"diff_{name}": (dims, grid_array(diff)),
                "runs_after_ceasefire": (dims, grid_array(tallies.after_ceasefire[:, :, 0]))}
        if tallies.after_moments is None:
            data[f"{name}_se"] = (dims, grid_array(np.sqrt(p * (1 - p) / qualifying)))
            return data
        m = tallies.after_moments.astype(np.float64)
        draws = tallies.runs // runs_per_draw
        factor = draws / max(draws - 1, 1)
        own = m[..., 0] - 2.0 * p * m[..., 1] + p * p * m[..., 2]       # sum over draws of (A - p C)^2
        base, pb, cb = own[-1:], p[-1:], qualifying[-1:]
        cross = m[..., 3] - pb * m[..., 4] - p * m[..., 5] + p * pb * m[..., 6]
        se = np.sqrt(np.maximum(own, 0.0) * factor) / qualifying
        diff_se = np.sqrt(np.maximum(own / qualifying**2 + base / cb**2 - 2.0 * cross / (qualifying * cb), 0.0)
                          * factor)
    data[f"{name}_se"] = (dims, grid_array(se))
    data[f"diff_{name}_se"] = (dims, grid_array(np.where(np.isfinite(diff), diff_se, np.nan)))
    if not nested or tallies.after_hist is None:
        return data
    _, noise = moment_sums(tallies.after_noise)
    noise = noise / AFTER_NOISE_SCALE
    q, q_se, _, _, _ = epistemic.ratio_summary(tallies.after_hist[:, :, 0], noise[:, :, 0])
    dq, dq_se, below, below_se, _ = epistemic.ratio_summary(tallies.after_hist[:, :, 1], noise[:, :, 1])
    qdims = dims + ("quantile",)
    for key, values in ((f"{name}_q", q), (f"{name}_q_se", q_se), (f"diff_{name}_q", dq),
                        (f"diff_{name}_q_se", dq_se)):
        data[key] = (qdims, grid_array(values))
    better = outcomes.outcome(name).better_name
    data[better] = (dims, grid_array(below))
    data[f"{better}_se"] = (dims, grid_array(below_se))
    return data


def _paired(tallies: Tallies, n: int, grid_array, in_horizon, runs_per_draw: int = 1) -> dict:
    """Differences against the baseline option, with paired standard errors
    (for the counts with the nested design, the upper bound of runs of a
    draw as if all alike, as for their means)."""
    total, squares = moment_sums(tallies.paired)
    mean, se = _mean_se(total, squares, n)
    data = {}
    n_years = len(YEARS)
    dims = AXES + ("years",)
    for e, o in enumerate(outcomes.indicators()):
        cols = slice(e * n_years, (e + 1) * n_years)
        data[f"diff_p_{o.name}"] = (dims, grid_array(np.where(in_horizon, mean[:, cols], np.nan)))
        data[f"diff_p_{o.name}_se"] = (dims, grid_array(np.where(in_horizon, se[:, cols], np.nan)))
    # The paired counts follow the indicators, in the order of model.PAIRED_COUNTS.
    for k, o in enumerate(outcomes.paired_counts()):
        col = len(INDICATORS) * n_years + k
        scale = o.scale
        data[f"diff_mean_{o.name}"] = (AXES, grid_array(mean[:, col] * scale))
        data[f"diff_mean_{o.name}_se"] = (AXES, grid_array(se[:, col] * scale * np.sqrt(runs_per_draw)))
    return data


def _sensitivity(config: Config, plan: Plan, tallies: Tallies, grid_array) -> dict:
    """First-order indices from the binned sums: the between-bin variance
    of the outcome's mean by parameter bin, less what sampling noise alone
    gives ((bins - 1) Var(x) / units), over a variance, floored at 0.

    With one run per draw the units are runs, x a run's outcome and the
    denominator Var(Y), chance included. With the nested design the units
    are draws, x a draw's estimate, and the denominator the variance of the
    conditional expectation E[Y | theta] (Var(x) less the within-draw noise,
    deterrence.epistemic): the index of the quantity a decision depends on."""
    n = tallies.runs
    counts = tallies.sensitivity_runs.astype(np.float64)              # (param, bin)
    sums = tallies.sensitivity.astype(np.float64)                     # (param, bin, option, outcome)
    days = [SENSITIVITY_OUTCOMES.index(k) for k in ("war_days", "diff_war_days")]
    sums[..., days] *= TRUCE_DAYS_UNIT
    bin_mean = sums / np.maximum(counts, 1)[:, :, None, None]
    mean = sums.sum(axis=1) / n                                       # (param, option, outcome)
    between = (counts[:, :, None, None] * (bin_mean - mean[:, None]) ** 2).sum(axis=1) / n
    bins = counts.shape[1]
    if plan.runs_per_draw > 1 and tallies.draw_hist is not None:
        variance, noise_bound = _draw_variances(plan, tallies)
    else:
        # Var(Y): indicators p(1 - p); the paired differences and days at war from their sums of squares.
        second = mean[0].copy()
        _, squares = moment_sums(tallies.paired)
        _, count_squares = moment_sums(tallies.moments)
        unit2 = TRUCE_DAYS_UNIT**2
        for q, key in enumerate(SENSITIVITY_OUTCOMES):
            if key == "diff_reattack_2y":
                second[:, q] = squares[:, _REATTACK_2Y] / n
            elif key == "war_days":
                second[:, q] = count_squares[:, COUNT_COLUMN["war_days"]] * unit2 / n
            elif key == "diff_war_days":
                second[:, q] = squares[:, _PAIRED_COLUMN["war_days"]] * unit2 / n
        variance = second - mean[0] ** 2
        noise_bound = variance / n
    with np.errstate(invalid="ignore", divide="ignore"):
        index = np.clip((between - (bins - 1) * noise_bound) / variance, 0.0, 1.0)
    index = np.where(variance > 0, index, np.nan)
    dims = AXES + ("outcome", "parameter")
    return {
        "sensitivity": (dims, grid_array(index.transpose(1, 2, 0))),
        "sensitivity_bin_mean": (dims + ("decile",), grid_array(bin_mean.transpose(2, 3, 0, 1))),
    }


# Columns of the paired tally: each indicator at each year, then the paired counts.
_REATTACK_2Y = EVENTS.index("reattack_day") * len(YEARS) + YEARS.index(SENSITIVITY_YEAR)
_PAIRED_COLUMN = {c: len(INDICATORS) * len(YEARS) + k for k, c in enumerate(PAIRED_COUNTS)}
COUNT_COLUMN = {o.tally: c for c, o in enumerate(outcomes.counts())}


def _draw_variances(plan: Plan, tallies: Tallies) -> tuple[np.ndarray, np.ndarray]:
    """(options, sensitivity outcomes): the variance over draws of the
    conditional expectation, and the sampling variance of a mean over all
    draws of the draws' estimates (Var(x) / draws)."""
    n = plan.runs_per_draw
    year = YEARS.index(SENSITIVITY_YEAR)
    _, squares = moment_sums(tallies.paired)
    _, within = moment_sums(tallies.value_noise)
    war = PAIRED_COUNTS.index("war_days")
    value_rows = {"war_days": war, "diff_war_days": len(PAIRED_COUNTS) + war}
    grid = epistemic.value_values()
    n_opt = tallies.draw_hist.shape[0]
    variance = np.empty((n_opt, len(SENSITIVITY_OUTCOMES)))
    bound = np.empty_like(variance)
    for o in range(n_opt):
        for q, key in enumerate(SENSITIVITY_OUTCOMES):
            if q < len(EVENTS):
                w = tallies.draw_hist[o, q * len(YEARS) + year].astype(np.float64)
                values, noise = epistemic.probability_values(n), epistemic.probability_noise(w, n)
            elif key == "diff_reattack_2y":
                w = tallies.draw_diff[o, _REATTACK_2Y].astype(np.float64)
                values = epistemic.difference_values(n)
                noise = epistemic.difference_noise(w, n, float(squares[o, _REATTACK_2Y]))
            else:
                row = value_rows[key]
                w = tallies.value_hist[o, row].astype(np.float64)
                values = grid
                noise = float(within[o, row]) / VALUE_NOISE_SCALE / w.sum() / (n * (n - 1))
            _, var_x, _ = epistemic.spread(w, values, noise)
            variance[o, q] = max(var_x - noise, 0.0)
            bound[o, q] = var_x / w.sum()
    return variance, bound


def write(ds: xr.Dataset, path: str | Path, overwrite: bool = False,
          on_commit: Callable[[], None] | None = None) -> Path:
    """Write under a unique temporary name beside ``path`` and rename when
    complete; a previous result is only replaced with ``overwrite``.
    ``on_commit`` is called just before the rename: from there on the result
    is as good as written (the CLI stops honouring SIGTERM)."""
    path = Path(path)
    kind = output_format(path)
    check_replaceable(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created exclusively under an unpredictable name: no pre-planted symlink
    # is followed, and two processes never share a temporary.
    if kind == "netcdf":
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
    else:
        name = tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        # The data are in memory: write here, whatever dask client the process has.
        with dask.config.set(scheduler="synchronous"):
            _write(ds, tmp, kind)
        # mkstemp and mkdtemp create private (0600, 0700) entries: give the
        # result the permissions an ordinary new file would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, (0o777 if kind == "zarr" else 0o666) & ~umask)
        if on_commit:
            on_commit()
        check_replaceable(path, overwrite)
        if kind == "zarr" and os.path.lexists(path):
            _replace_directory(tmp, path)
        else:
            os.replace(tmp, path)  # replaces a file (or link) itself, never what it points to
    finally:
        _remove_ours(tmp)
    return path


def _replace_directory(tmp: Path, path: Path) -> None:
    """A directory cannot be renamed over a non-empty one: move the old
    result aside (onto an empty directory of ours), put the new one in its
    place, then delete the old; on failure the old one goes back."""
    old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".old"))
    try:
        os.replace(path, old)
        try:
            os.replace(tmp, path)
        except BaseException:
            os.replace(old, path)
            raise
    finally:
        _remove_ours(old)


def _write(ds: xr.Dataset, tmp: Path, kind: str) -> None:
    if kind == "netcdf":
        ds.to_netcdf(tmp, engine="h5netcdf")
    else:
        with warnings.catch_warnings():
            # Consolidated metadata is not yet in the Zarr v3 spec, but it
            # is what lets xarray open the store without a warning.
            warnings.filterwarnings("ignore", message="Consolidated metadata")
            ds.to_zarr(tmp, mode="w", consolidated=True)


def _remove_ours(path: Path) -> None:
    """Remove a temporary this process created (file or directory), if still there."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def is_result(path: str | Path) -> bool:
    """Whether ``path`` holds a result of this tool, judged by its content:
    a NetCDF (HDF5) file or a Zarr directory whose ``source`` attribute
    names deterrence. A symbolic link never is one."""
    path = Path(path)
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISREG(mode) and path.suffix == ".nc":
            import h5py

            with h5py.File(path, "r") as f:
                source = f.attrs.get("source", "")
        elif stat.S_ISDIR(mode) and path.suffix == ".zarr":
            # The group's attributes: Zarr v3 keeps them in zarr.json, v2 in .zattrs.
            v3, v2 = path / "zarr.json", path / ".zattrs"
            if not v3.is_symlink() and v3.is_file():
                attrs = json.loads(v3.read_text()).get("attributes", {})
            elif not v2.is_symlink() and v2.is_file():
                attrs = json.loads(v2.read_text())
            else:
                return False
            source = attrs.get("source", "")
        else:
            return False
    except (OSError, ValueError, AttributeError):
        return False
    source = source.decode() if isinstance(source, bytes) else str(source)
    return source.startswith("deterrence")


def check_replaceable(path: Path, overwrite: bool) -> None:
    """Refuse to replace anything but a previous result, and that only with ``overwrite``."""
    if not os.path.lexists(path):
        return
    if not overwrite:
        raise UserError(f"--out {path} exists; pass --overwrite to replace it")
    if not is_result(path):
        what = "a symbolic link" if path.is_symlink() else "not a deterrence result"
        raise UserError(f"--out {path} is {what}; --overwrite only replaces a previous result: "
                        f"move it away yourself or choose another --out")


@contextlib.contextmanager
def output_lock(path: Path) -> Iterator[None]:
    """Hold ``.NAME.lock`` beside the output for a run: a second run on the
    same output stops at once instead of replacing the first one's result.
    The lock is the kernel's (flock), so a killed run leaves no stale lock."""
    lock = path.with_name(f".{path.name}.lock")
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as error:
            raise UserError(f"cannot create the lock file {lock} ({error.strerror}); remove it if it is "
                            f"a link or not a file, or choose another --out") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(f"another deterrence run is writing {path}; wait for it or choose "
                            f"another --out") from None
        # The run before may have removed the file between our open and flock.
        if _same_file(fd, lock):
            break
        os.close(fd)
    try:
        yield
    finally:
        if _same_file(fd, lock):
            lock.unlink()
        os.close(fd)


def _same_file(fd: int, path: Path) -> bool:
    try:
        mine, there = os.fstat(fd), os.lstat(path)
    except FileNotFoundError:
        return False
    return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)


def open_result(path: str | Path) -> xr.Dataset:
    """Open a result and check it against its schema (``deterrence.schema``)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such result")
    kind = output_format(path)
    try:
        ds = xr.open_dataset(path, engine="zarr" if kind == "zarr" else "h5netcdf")
    except Exception as error:  # whatever the file holds, the user gets one line
        raise UserError(f"{path}: cannot open as a deterrence result ({_one_line(error)})") from None
    try:
        schema.check(ds)
    except UserError as error:
        ds.close()
        raise UserError(f"{path}: {error}; it is not a complete deterrence result") from None
    except Exception as error:  # damaged data read lazily
        ds.close()
        raise UserError(f"{path}: damaged result ({_one_line(error)})") from None
    return ds


def _one_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
