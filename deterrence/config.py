"""Study configs: TOML files validated into typed, frozen objects.

A config has three tables: ``[study]`` (size, seed, horizon), ``[grid]`` (the
policy options) and ``[priors.NAME]`` (overrides of the default priors in
``deterrence/priors.toml``); optional ones: ``[model]`` (structural
choices), ``[cluster]`` (batch settings) and ``[decision]`` (the loss
weights of ``deterrence decide``). Every mistake raises :class:`UserError` with one
line naming the file, the field and the fix.
"""

import datetime
import difflib
import hashlib
import itertools
import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from deterrence import UserError, families
from deterrence.model import (
    AFTER_BINS,
    AXES,
    CHOICES,
    DEFAULT_CHOICES,
    DEFAULT_GRID,
    DOMAIN_BOUNDS,
    EVENTS,
    LEVELS,
    MAX_RUNS,
    PAIRED_COUNTS,
    PARAMETERS,
    POSITIVE,
    PROBABILITY,
    UNUSED,
    VALUE_BINS,
    YEARS,
    Prior,
)

STUDY_KEYS = ("name", "runs", "seed", "horizon_days", "start_date", "block_runs", "runs_per_draw", "baseline")
MAX_SEED = 2**64 - 1
MAX_BLOCK_RUNS = 100_000_000
# Limits checked before anything is allocated. A hundred years of days; at
# most a million blocks (the plan lists them); force sizes exact in the
# kernel's float64 arithmetic and the result's int64 coordinate; and the
# tallies of one block (day histograms dominate: options x events x days)
# within a stated memory budget, since each worker holds a few at once.
MAX_HORIZON_DAYS = 36_525
MAX_BLOCKS = 1_000_000
MAX_FORCE_SIZE = 2**53
MAX_TALLY_BYTES = 2 * 1024**3
# Runs per parameter draw (the nested design): each draw's histograms hold
# 3 * runs_per_draw + 2 counts per option and headline outcome.
MAX_RUNS_PER_DRAW = 10_000
# A study name becomes a file name (results/NAME.nc) and a batch job name.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
NAME_RULE = "1-100 letters, digits, '.', '_' or '-', starting with a letter or digit, without '..'"


def valid_name(name) -> bool:
    return isinstance(name, str) and NAME_PATTERN.fullmatch(name) is not None and ".." not in name
# A config's [cluster] table: dask-jobqueue settings for --scheduler
# slurm|pbs and `deterrence submit`, each with the form its value must have.
# Every value ends up in a batch script or a worker's command line, mostly
# unquoted (dask-jobqueue quotes nothing), so each form excludes whatever
# could end a line or start another shell command. A form is a regular
# expression for text, int (positive), bool, or [regex] for a list of text.
_NAME = r"[A-Za-z0-9._@+-]+"
_PATH = r"[A-Za-z0-9._/+@~$-]+"  # $ for a variable such as $TMPDIR; no ( ` ; | & or spaces
CLUSTER_FORMS = {
    "queue": (_NAME, "a name of letters, digits and . _ @ + -"),
    "account": (_NAME, "a name of letters, digits and . _ @ + -"),
    "walltime": (r"([0-9]+-)?[0-9]+(:[0-9][0-9]){0,2}", "a time such as 04:00:00 or 1-12:00:00"),
    "cores": (int, "a positive integer"),
    "memory": (r"[0-9]+(\.[0-9]+)? ?[KMGTPkmgtp]i?[Bb]", "a size such as 2GB or 500MiB"),
    "processes": (int, "a positive integer"),
    "jobs": (int, "a positive integer"),
    "nodes": (int, "a positive integer"),
    # Directives are comment lines to the shell: only a line break could
    # make one a command; the other characters refused have no use there.
    "job_extra_directives": ([r"-[^\x00-\x1f\x7f`$;\\<>]*"],
                             'a list of one-line options such as "--constraint=gpu"'),
    # Shell commands by design (e.g. "module load python"), one per line.
    "job_script_prologue": ([r"[^\x00-\x1f\x7f]+"], "a list of one-line shell commands"),
    "python": (_PATH, "a path of letters, digits and . _ / + @ ~ $ -"),
    "host": (r"[A-Za-z0-9.:-]+", "a host name or IP address"),
    "interface": (r"[A-Za-z0-9._:-]+", "a network interface name such as ib0"),
    "local_directory": (_PATH, "a path of letters, digits and . _ / + @ ~ $ -"),
    "log_directory": (_PATH, "a path of letters, digits and . _ / + @ ~ $ -"),
    "shared_temp_directory": (_PATH, "a path of letters, digits and . _ / + @ ~ $ -"),
    "tls": (bool, "true or false"),
}
CLUSTER_KEYS = tuple(CLUSTER_FORMS)
# A config's [decision] table: the weight of each outcome in the loss that
# `deterrence decide` minimises (docs/model.md, "Decisions and the value of
# information"). The unit of loss is one year at war (or one certain
# re-attack within two years);
# the defaults are judgments, meant to be changed, and a key left out keeps
# its default.
DECISION_WEIGHTS = {
    # Per year at war over the horizon (mean days at war / 365.25: before the
    # first ceasefire and after a re-attack): the headline harm. A year at
    # war weighs as much as a certain re-attack within two years, which
    # leaves about that much war within a five-year horizon; without this
    # term a loss would reward whatever delays the ceasefire.
    "war_years": 1.0,
    # Per unit of probability of a renewed major offensive within 2 years.
    "reattack_2y": 1.0,
    # Per unit of probability that foreign troops are engaged in combat
    # within 2 years: casualties and a risk of escalation, half a re-attack.
    "tripwire_2y": 0.5,
    # Per 1,000 missile and drone strikes on cities over the horizon (mean
    # per run): about 460 days of the war's rate (2.2 a day), a tenth of a
    # re-attack.
    "strikes_per_1000": 0.1,
    # Per unit of probability of being at war at 5 years (no ceasefire yet,
    # or re-attacked): the war goes on, as grave as a re-attack.
    "war_5y": 1.0,
}


def check_cluster(table: dict, where: str, section: str = "cluster") -> dict:
    """Refuse a [cluster] value that is not of its key's form (None, from
    YAML's null, means the site default). ``section`` names the table in
    the message (``jobqueue.slurm`` for dask-jobqueue's config)."""
    _unknown_keys(table, CLUSTER_KEYS, where, f"[{section}]")
    for key, value in table.items():
        form, allowed = CLUSTER_FORMS[key]
        if value is None:
            continue
        if form is bool:
            ok = isinstance(value, bool)
        elif form is int:
            ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
        elif isinstance(form, list):
            ok = isinstance(value, list) and all(isinstance(v, str) and re.fullmatch(form[0], v)
                                                 for v in value)
        else:
            ok = isinstance(value, str) and re.fullmatch(form, value) is not None
        if not ok:
            _fail(where, f"{section}.{key} must be {allowed}, got {value!r}")
    return table


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
    # Runs that share one draw of the uncertain parameters (1: every run its own).
    runs_per_draw: int = 1
    baseline: Option = Option(0, "rear", "after_ceasefire", "none", "status_quo")


@dataclass(frozen=True)
class Config:
    study: Study
    grid: dict[str, tuple] = field(hash=False)
    priors: tuple[Prior, ...]
    cluster: dict = field(default_factory=dict, hash=False)
    text: str = ""
    path: str = ""
    choices: dict = field(default_factory=lambda: dict(DEFAULT_CHOICES), hash=False)
    decision: dict = field(default_factory=lambda: dict(DECISION_WEIGHTS), hash=False)

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
            _check_draws(study, self.path, "--runs")
        if seed is not None:
            study = replace(study, seed=_seed(seed, "--seed", self.path))
        _check_size(study, math.prod(len(v) for v in self.grid.values()), self.path)
        return replace(self, study=study)


def _check_draws(study: Study, where: str, runs_name: str = "study.runs") -> None:
    """Runs and blocks hold whole parameter draws."""
    rpd = study.runs_per_draw
    if study.runs % rpd:
        _fail(where, f"{runs_name} ({study.runs:,}) must be a multiple of study.runs_per_draw ({rpd:,}); "
                     f"try {max(rpd, study.runs // rpd * rpd):,}")
    if study.block_runs % rpd:
        _fail(where, f"study.block_runs ({study.block_runs:,}) must be a multiple of study.runs_per_draw "
                     f"({rpd:,}); try {max(rpd, study.block_runs // rpd * rpd):,}")


def _check_size(study: Study, n_options: int, where: str) -> None:
    """Refuse a study whose plan or tallies could not fit in memory, before
    anything is allocated."""
    blocks = -(-study.runs // study.block_runs)
    if blocks > MAX_BLOCKS:
        _fail(where, f"{study.runs:,} runs in blocks of {study.block_runs:,} make {blocks:,} blocks, more than "
                     f"{MAX_BLOCKS:,}; raise study.block_runs")
    draw_bins = len(YEARS) * (3 * study.runs_per_draw + 2)
    # With the per-draw bins of the paired counts and of the risk after a ceasefire.
    per_draw_values = 2 * len(PAIRED_COUNTS) * VALUE_BINS + len(YEARS) * 2 * AFTER_BINS
    tally_bytes = (n_options + 1) * (len(EVENTS) * (study.horizon_days + 1 + draw_bins) + per_draw_values) * 8
    if tally_bytes > MAX_TALLY_BYTES:
        _fail(where, f"the day and draw histograms of {n_options:,} options over {study.horizon_days:,} days take "
                     f"{tally_bytes / 1024**3:.1f} GiB per block, above the {MAX_TALLY_BYTES // 1024**3} GiB limit; "
                     f"shorten study.horizon_days or the [grid]")


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


def _bounded(value, name: str, limit: int, why: str, where: str) -> int:
    """A positive integer at most ``limit`` (``why`` says why in the error)."""
    value = _positive_int(value, name, where)
    if value > limit:
        _fail(where, f"{name} must be at most {limit:,} ({why}), got {value:,}")
    return value


def _runs(value, name: str, where: str) -> int:
    return _bounded(value, name, MAX_RUNS, "the tallies stay exact up to there", where)


def _block_runs(value, where: str) -> int:
    return _bounded(value, "study.block_runs", MAX_BLOCK_RUNS, "blocks count in 32-bit integers", where)


def _runs_per_draw(value, where: str) -> int:
    return _bounded(value, "study.runs_per_draw", MAX_RUNS_PER_DRAW, "its histograms grow with it", where)


def _horizon(value, where: str) -> int:
    return _bounded(value, "study.horizon_days", MAX_HORIZON_DAYS, "a hundred years", where)


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
    for value in values:
        if isinstance(value, (list, dict)):
            _fail(where, f"{name} must be a flat list of levels, got the nested {value!r}")
    if len(set(values)) != len(values):
        _fail(where, f"{name} lists a value twice: {values}")
    for value in values:
        if axis == "force_size":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FORCE_SIZE:
                _fail(where, f"{name} has {value!r}; force sizes are whole numbers of troops from 0 to 2**53")
        elif value not in LEVELS[axis]:
            close = difflib.get_close_matches(str(value), LEVELS[axis], n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(LEVELS[axis])}"
            _fail(where, f"{name} has unknown value {value!r}; {hint}")
    return tuple(values)


def parse_prior(name: str, table, where: str, record_fit=None, choices: dict | None = None) -> Prior:
    """Validate one ``[priors.NAME]`` table; ``record_fit(name, rows, choices)``
    supplies fitted hyperparameters where the table says ``fit = "record"``
    (``rows``: the table's choice of record rows; ``choices``: the config's
    [model] choices, which decide the form of some fits)."""
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
        _unknown_keys(table, ("fit", "source", "rows"), where, what)
        if record_fit is None:
            _fail(where, f"{what} asks for fit = \"record\" but no record fit is available")
        rows = table.get("rows")
        if rows is not None and not isinstance(rows, str):
            _fail(where, f"{what}.rows must be the name of a choice of record rows, got {rows!r}")
        try:
            fitted = record_fit(name, rows, choices or DEFAULT_CHOICES)
        except UserError as error:
            _fail(where, str(error))
        return replace(fitted, source=source or fitted.source, fit="record")
    dist = table.get("dist")
    try:
        family = families.family(dist)
    except UserError as error:
        _fail(where, f"{what}.{error}")
    if family.name == families.family("gamma_exposure").name and name != families.EXPOSURE_PARAMETER:
        _fail(where, f"{what}.dist: gamma_exposure is the joint calibration of {families.EXPOSURE_PARAMETER} "
                     f"only; choose another family")
    required = family.required
    _unknown_keys(table, ("dist", "source", *family.keys), where, what)
    params = []
    for key in family.keys:
        if key not in table:
            if key in required:
                _fail(where, f"{what}.{key} is missing; a {dist} prior needs {', '.join(required)}")
            continue
        value = _number(table[key], f"{what}.{key}", where)
        if key in family.positive and value <= 0:
            _fail(where, f"{what}.{key} must be > 0, got {value}")
        params.append((key, value))
    prior = Prior(name, dist, tuple(params), source)
    check_domain(prior, parameter.domain, where)
    return prior


# Families that can keep to a bounded domain such as [0, 1].
_BOUNDED = tuple(f.name for f in families.FAMILIES
                 if math.isfinite(f.support(Prior("", f.name, f.example, ""))[1]))


def check_domain(prior: Prior, domain: str, where: str = "") -> None:
    what = f"priors.{prior.name}"
    family = families.family(prior.dist)
    problem = family.problem(prior.get)
    if problem:
        _fail(where, f"{what}: {problem}")
    low, high = family.support(prior)
    lo, hi = DOMAIN_BOUNDS[domain]
    # A point mass at 0 is outside (0, inf); a continuous family reaches its
    # lower end with probability 0.
    strict_low = domain == POSITIVE and family.code == families.FIXED
    if low < lo or high > hi or (strict_low and low <= 0.0):
        bounds = "(0, inf)" if domain == POSITIVE else f"[{lo:g}, {hi:g}]"
        hint = f" (use {', '.join(_BOUNDED[:-1])} or {_BOUNDED[-1]})" if domain == PROBABILITY else ""
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


def _record_fit(name: str, rows: str | None, choices: dict) -> Prior:
    from deterrence import fit

    return fit.record_prior(name, rows=rows, choices=choices)


def load(path: str | Path, record_fit=None) -> Config:
    """Read and validate a study config."""
    where = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as error:
        raise UserError(f"{where}: cannot read config ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise UserError(f"{where}: not UTF-8 text (byte {error.start}); save the config as UTF-8") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{where}: not valid TOML ({error})") from None
    return parse(raw, text, where, record_fit)


def parse(raw: dict, text: str = "", where: str = "", record_fit=None) -> Config:
    """Validate a parsed TOML config; ``record_fit(name, rows, choices)``
    returns the prior fitted from the record in seeds/ (default:
    ``deterrence.fit.record_prior``)."""
    record_fit = record_fit or _record_fit
    _unknown_keys(raw, ("study", "model", "grid", "priors", "cluster", "decision"), where, "the config")
    choices = _choices(raw.get("model", {}), where)
    study_table = raw.get("study")
    if not isinstance(study_table, dict):
        _fail(where, "[study] table is missing; it needs at least name, runs and seed")
    _unknown_keys(study_table, STUDY_KEYS, where, "[study]")
    for key in ("name", "runs", "seed"):
        if key not in study_table:
            _fail(where, f"study.{key} is missing")
    name = study_table["name"]
    if not valid_name(name):
        _fail(where, f"study.name must be {NAME_RULE} (it names the result file and the batch job), got {name!r}")
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
        horizon_days=_horizon(study_table.get("horizon_days", Study.horizon_days), where),
        start_date=start,
        block_runs=_block_runs(study_table.get("block_runs", Study.block_runs), where),
        runs_per_draw=_runs_per_draw(study_table.get("runs_per_draw", Study.runs_per_draw), where),
        baseline=parse_option(study_table.get("baseline", {}), where, "study.baseline"),
    )
    grid_table = raw.get("grid", {})
    if not isinstance(grid_table, dict):
        _fail(where, "[grid] must be a table of axes")
    _unknown_keys(grid_table, AXES, where, "[grid]")
    grid = {axis: _axis_values(axis, grid_table.get(axis, list(DEFAULT_GRID[axis])), where,
                               f"grid.{axis}") for axis in AXES}
    _check_draws(study, where)
    _check_size(study, math.prod(len(v) for v in grid.values()), where)
    priors_table = raw.get("priors", {})
    if not isinstance(priors_table, dict):
        _fail(where, "[priors] must hold one table per parameter")
    tables = default_prior_tables()
    overrides = _flatten_priors(priors_table)
    names = [p.name for p in PARAMETERS]
    _unknown_keys(overrides, names, where, "[priors]")
    tables.update(overrides)
    for (key, value), neutral in UNUSED.items():
        if choices[key] != value:
            continue
        for n, v in neutral.items():
            given = overrides.get(n)
            # Fixed at the neutral value the choice gives it: what a config
            # written out from a loaded one holds, so accepted.
            neutral_given = (isinstance(given, dict) and given.get("dist") == "fixed"
                             and given.get("value") == v and not isinstance(given.get("value"), bool))
            if n in overrides and not neutral_given:
                _fail(where, f"priors.{n} has no effect with [model] {key} = \"{value}\"; remove it or "
                             f"choose another {key}")
            tables[n] = {"dist": "fixed", "value": v,
                         "source": f"Left out of the model by [model] {key} = \"{value}\""}
    priors = tuple(parse_prior(n, tables[n], where if n in overrides else "deterrence/priors.toml",
                               record_fit, choices) for n in names)
    cluster = raw.get("cluster", {})
    if not isinstance(cluster, dict):
        _fail(where, "[cluster] must be a table of batch-system settings")
    check_cluster(cluster, where)
    return Config(study, grid, priors, cluster, text, where, choices, _decision(raw.get("decision", {}), where))


def _decision(table, where: str) -> dict:
    """The [decision] table's loss weights, each defaulting to DECISION_WEIGHTS."""
    if not isinstance(table, dict):
        _fail(where, "[decision] must be a table of loss weights, e.g. reattack_2y = 1.0")
    _unknown_keys(table, tuple(DECISION_WEIGHTS), where, "[decision]")
    weights = {**DECISION_WEIGHTS, **{k: _number(v, f"decision.{k}", where) for k, v in table.items()}}
    for key, value in weights.items():
        if value < 0:
            _fail(where, f"decision.{key} must be >= 0 (a weight on a harm), got {value:g}")
    if not any(weights.values()):
        _fail(where, f"[decision] weighs nothing; give one of {', '.join(DECISION_WEIGHTS)} a weight > 0")
    return weights


def _choices(table, where: str) -> dict:
    """The [model] table's structural choices, each defaulting to the first
    of its values in ``model.CHOICES``."""
    if not isinstance(table, dict):
        _fail(where, "[model] must be a table of structural choices")
    _unknown_keys(table, tuple(CHOICES), where, "[model]")
    for key, value in table.items():
        if value not in CHOICES[key]:
            _fail(where, f"model.{key} must be one of {', '.join(repr(v) for v in CHOICES[key])}, got {value!r}")
    return {**DEFAULT_CHOICES, **table}
