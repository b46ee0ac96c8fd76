"""Study configs: TOML files validated into typed, frozen objects.

A config has three tables: ``[study]`` (size, seed, horizon), ``[grid]`` (the
policy options) and ``[priors.NAME]`` (overrides of the default priors in
``deterrence/priors.toml``). Every mistake raises :class:`UserError` with one
line naming the file, the field and the fix.
"""

import datetime
import difflib
import hashlib
import itertools
import math
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from deterrence import UserError
from deterrence.model import (
    AXES,
    DEFAULT_GRID,
    DOMAIN_BOUNDS,
    LEVELS,
    MAX_RUNS,
    PARAMETERS,
    POSITIVE,
    PROBABILITY,
    Prior,
)

# Prior families and their hyperparameters (required, optional).
FAMILIES = {
    "fixed": (("value",), ()),
    "gamma": (("shape", "scale"), ("loc",)),
    "lognormal": (("median", "sigma"), ("loc",)),
    "beta": (("a", "b"), ()),
    "uniform": (("low", "high"), ()),
}
POSITIVE_HYPERPARAMETERS = {"shape", "scale", "median", "sigma", "a", "b"}
STUDY_KEYS = ("name", "runs", "seed", "horizon_days", "start_date", "block_runs", "baseline")
MAX_SEED = 2**64 - 1
MAX_BLOCK_RUNS = 100_000_000
# Keys of a config's [cluster] table: dask-jobqueue settings for --scheduler
# slurm|pbs and `deterrence submit` (see jobs/README.md).
CLUSTER_KEYS = ("queue", "account", "walltime", "cores", "memory", "processes", "jobs", "nodes",
                "job_extra_directives", "job_script_prologue", "python", "host", "interface",
                "local_directory", "log_directory", "tls")


@dataclass(frozen=True)
class Option:
    force_size: int
    posture: str
    deploy_rule: str
    support: str
    leverage: str


@dataclass(frozen=True)
class Study:
    name: str
    runs: int
    seed: int
    horizon_days: int = 1826
    start_date: datetime.date = datetime.date(2027, 1, 1)
    block_runs: int = 100_000
    baseline: Option = Option(0, "rear", "after_ceasefire", "none", "status_quo")


@dataclass(frozen=True)
class Config:
    study: Study
    grid: dict[str, tuple] = field(hash=False)
    priors: tuple[Prior, ...]
    cluster: dict = field(default_factory=dict, hash=False)
    text: str = ""
    path: str = ""

    @property
    def options(self) -> list[Option]:
        """Grid options in C order over AXES (force_size slowest)."""
        return [Option(*values) for values in itertools.product(*(self.grid[a] for a in AXES))]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    def prior(self, name: str) -> Prior:
        return next(p for p in self.priors if p.name == name)

    def with_overrides(self, runs: int | None = None, seed: int | None = None) -> "Config":
        study = self.study
        if runs is not None:
            study = replace(study, runs=_runs(runs, "--runs", self.path))
        if seed is not None:
            study = replace(study, seed=_seed(seed, "--seed", self.path))
        return replace(self, study=study)


def _fail(where: str, message: str) -> None:
    raise UserError(f"{where}: {message}" if where else message)


def _unknown_keys(table: dict, allowed, where: str, what: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), list(allowed), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(allowed)}"
            _fail(where, f"unknown key '{key}' in {what}; {hint}")


def _positive_int(value, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        _fail(where, f"{name} must be a positive integer, got {value!r}")
    return value


def _runs(value, name: str, where: str) -> int:
    value = _positive_int(value, name, where)
    if value > MAX_RUNS:
        _fail(where, f"{name} must be at most {MAX_RUNS:,} (the tallies stay exact up to there), got {value:,}")
    return value


def _block_runs(value, where: str) -> int:
    value = _positive_int(value, "study.block_runs", where)
    if value > MAX_BLOCK_RUNS:
        _fail(where, f"study.block_runs must be at most {MAX_BLOCK_RUNS:,} (blocks count in 32-bit integers), "
                     f"got {value:,}")
    return value


def _seed(value, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        _fail(where, f"{name} must be an integer in [0, 2**64 - 1], got {value!r}")
    return value


def _number(value, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        _fail(where, f"{name} must be a finite number, got {value!r}")
    return float(value)


def parse_option(table, where: str, what: str) -> Option:
    if not isinstance(table, dict):
        _fail(where, f"{what} must be a table of the five axes")
    _unknown_keys(table, AXES, where, what)
    default = Study.baseline
    values = {axis: table.get(axis, getattr(default, axis)) for axis in AXES}
    _axis_values("force_size", [values["force_size"]], where, f"{what}.force_size")
    for axis in LEVELS:
        _axis_values(axis, [values[axis]], where, f"{what}.{axis}")
    return Option(**values)


def _axis_values(axis: str, values, where: str, name: str) -> tuple:
    if not isinstance(values, list) or not values:
        _fail(where, f"{name} must be a non-empty list")
    if len(set(values)) != len(values):
        _fail(where, f"{name} lists a value twice: {values}")
    for value in values:
        if axis == "force_size":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                _fail(where, f"{name} has {value!r}; force sizes are whole numbers of troops >= 0")
        elif value not in LEVELS[axis]:
            close = difflib.get_close_matches(str(value), LEVELS[axis], n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(LEVELS[axis])}"
            _fail(where, f"{name} has unknown value {value!r}; {hint}")
    return tuple(values)


def parse_prior(name: str, table, where: str, record_fit=None) -> Prior:
    """Validate one ``[priors.NAME]`` table; ``record_fit(name)`` supplies
    fitted hyperparameters where the table says ``fit = "record"``."""
    what = f"priors.{name}"
    if not isinstance(table, dict):
        _fail(where, f"{what} must be a table with dist, its hyperparameters and source")
    parameter = next(p for p in PARAMETERS if p.name == name)
    source = table.get("source", "")
    if not isinstance(source, str):
        _fail(where, f"{what}.source must be text")
    if "fit" in table:
        if table["fit"] != "record":
            _fail(where, f"{what}.fit must be \"record\", got {table['fit']!r}")
        _unknown_keys(table, ("fit", "source"), where, what)
        if record_fit is None:
            _fail(where, f"{what} asks for fit = \"record\" but no record fit is available")
        fitted = record_fit(name)
        return replace(fitted, source=source or fitted.source, fit="record")
    dist = table.get("dist")
    if dist not in FAMILIES:
        _fail(where, f"{what}.dist must be one of {', '.join(FAMILIES)}, got {dist!r}")
    required, optional = FAMILIES[dist]
    _unknown_keys(table, ("dist", "source", *required, *optional), where, what)
    params = []
    for key in required + optional:
        if key not in table:
            if key in required:
                _fail(where, f"{what}.{key} is missing; a {dist} prior needs {', '.join(required)}")
            continue
        value = _number(table[key], f"{what}.{key}", where)
        if key in POSITIVE_HYPERPARAMETERS and value <= 0:
            _fail(where, f"{what}.{key} must be > 0, got {value}")
        params.append((key, value))
    prior = Prior(name, dist, tuple(params), source)
    check_domain(prior, parameter.domain, where)
    return prior


def support(prior: Prior) -> tuple[float, float]:
    """The closed hull of the values a prior can take."""
    if prior.dist == "fixed":
        return prior.get("value"), prior.get("value")
    if prior.dist in ("gamma", "lognormal"):
        return prior.get("loc"), math.inf
    if prior.dist == "beta":
        return 0.0, 1.0
    return prior.get("low"), prior.get("high")


def check_domain(prior: Prior, domain: str, where: str = "") -> None:
    what = f"priors.{prior.name}"
    if prior.dist == "uniform" and prior.get("low") >= prior.get("high"):
        _fail(where, f"{what}: low must be below high")
    if prior.dist == "uniform" and not math.isfinite(prior.get("high") - prior.get("low")):
        _fail(where, f"{what}: high - low must be a finite number")
    low, high = support(prior)
    lo, hi = DOMAIN_BOUNDS[domain]
    strict_low = domain == POSITIVE and prior.dist == "fixed"
    if low < lo or high > hi or (strict_low and low <= 0.0):
        bounds = "(0, inf)" if domain == POSITIVE else f"[{lo:g}, {hi:g}]"
        hint = " (use beta, uniform or fixed)" if domain == PROBABILITY else ""
        _fail(where, f"{what} ({prior.dist}) can take values outside {bounds}, "
                     f"the domain of {prior.name} ({domain}){hint}")


def default_prior_tables() -> dict:
    text = resources.files("deterrence").joinpath("priors.toml").read_text()
    return _flatten_priors(tomllib.loads(text).get("priors", {}))


def _flatten_priors(tables: dict) -> dict:
    """``[priors.leverage_mult.sanctions]`` nests in TOML; flatten to dotted names."""
    flat = {}
    for name, table in tables.items():
        if isinstance(table, dict) and name not in {p.name for p in PARAMETERS} and all(
                isinstance(v, dict) for v in table.values()):
            for level, sub in table.items():
                flat[f"{name}.{level}"] = sub
        else:
            flat[name] = table
    return flat


def _record_fit(name: str) -> Prior:
    from deterrence import fit

    return fit.record_prior(name)


def load(path: str | Path, record_fit=None) -> Config:
    """Read and validate a study config."""
    where = str(path)
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{where}: cannot read config ({error.strerror or error})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{where}: not valid TOML ({error})") from None
    return parse(raw, text, where, record_fit)


def parse(raw: dict, text: str = "", where: str = "", record_fit=None) -> Config:
    """Validate a parsed TOML config; ``record_fit(name)`` returns the prior
    fitted from the record in seeds/ (default: ``deterrence.fit.record_prior``)."""
    record_fit = record_fit or _record_fit
    _unknown_keys(raw, ("study", "grid", "priors", "cluster"), where, "the config")
    study_table = raw.get("study")
    if not isinstance(study_table, dict):
        _fail(where, "[study] table is missing; it needs at least name, runs and seed")
    _unknown_keys(study_table, STUDY_KEYS, where, "[study]")
    for key in ("name", "runs", "seed"):
        if key not in study_table:
            _fail(where, f"study.{key} is missing")
    name = study_table["name"]
    if not isinstance(name, str) or not name.strip():
        _fail(where, "study.name must be non-empty text")
    start = study_table.get("start_date", Study.start_date)
    if isinstance(start, str):
        try:
            start = datetime.date.fromisoformat(start)
        except ValueError:
            _fail(where, f"study.start_date must be a date like 2027-01-01, got {start!r}")
    if not isinstance(start, datetime.date) or isinstance(start, datetime.datetime):
        _fail(where, f"study.start_date must be a date like 2027-01-01, got {start!r}")
    study = Study(
        name=name,
        runs=_runs(study_table["runs"], "study.runs", where),
        seed=_seed(study_table["seed"], "study.seed", where),
        horizon_days=_positive_int(study_table.get("horizon_days", Study.horizon_days),
                                   "study.horizon_days", where),
        start_date=start,
        block_runs=_block_runs(study_table.get("block_runs", Study.block_runs), where),
        baseline=parse_option(study_table.get("baseline", {}), where, "study.baseline"),
    )
    grid_table = raw.get("grid", {})
    if not isinstance(grid_table, dict):
        _fail(where, "[grid] must be a table of axes")
    _unknown_keys(grid_table, AXES, where, "[grid]")
    grid = {axis: _axis_values(axis, grid_table.get(axis, list(DEFAULT_GRID[axis])), where,
                               f"grid.{axis}") for axis in AXES}
    priors_table = raw.get("priors", {})
    if not isinstance(priors_table, dict):
        _fail(where, "[priors] must hold one table per parameter")
    tables = default_prior_tables()
    overrides = _flatten_priors(priors_table)
    names = [p.name for p in PARAMETERS]
    _unknown_keys(overrides, names, where, "[priors]")
    tables.update(overrides)
    priors = tuple(parse_prior(n, tables[n], where if n in overrides else "deterrence/priors.toml",
                               record_fit) for n in names)
    cluster = raw.get("cluster", {})
    if not isinstance(cluster, dict):
        _fail(where, "[cluster] must be a table of batch-system settings")
    _unknown_keys(cluster, CLUSTER_KEYS, where, "[cluster]")
    return Config(study, grid, priors, cluster, text, where)
