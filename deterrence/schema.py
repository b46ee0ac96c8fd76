"""The schema of a result: what `open_result` (and through it `deterrence
report` and `deterrence decide`) accepts.

Nothing here is a list of variables: each variable's dimensions and dtype
follow from its declaration in `deterrence.outcomes` (its outcome's kind,
its unit), the coordinates from `model` (AXES, YEARS, SENSITIVITY_OUTCOMES)
and from the config the result carries (its grid, horizon, runs per draw and
priors). A new outcome declared there is accepted without a change here.

Every variable's dimensions, dtype and coordinates, and every attribute's
type, are checked; a mismatch is refused in one line naming the variable or
attribute. A variable or coordinate that nothing declares is refused too (a
result holds only what `deterrence run` writes: drop an added variable with
xarray before reporting); attributes that nothing declares are left alone,
since nothing reads them.
"""

import dataclasses
import hashlib
import json
import math
import tomllib

import numpy as np

from deterrence import UserError, config, epistemic, outcomes
from deterrence.config import MAX_SEED, Config
from deterrence.model import AXES, EVENTS, MAX_RUNS, SENSITIVITY_BINS, SENSITIVITY_OUTCOMES, YEARS
from deterrence.plan import year_days

# The dimensions an outcome's variables add to the grid's, by the outcome's
# kind (an event's day histogram has "day" instead); a quantile variable
# (`_q`, `_q_se`) adds "quantile". A new outcome of these kinds needs no
# change here; a new kind needs its entry (until then its variables need
# only start with the grid's dimensions, and tests/test_schema.py fails).
KIND_DIMS = {outcomes.EVENT: ("years",), outcomes.STATE: ("years",), outcomes.COUNT: (), outcomes.DERIVED: ("years",)}
# The same for the variables that are no outcome's (outcomes.OTHER_VARIABLES).
OTHER_DIMS = {"sensitivity": ("outcome", "parameter"), "sensitivity_bin_mean": ("outcome", "parameter", "decile"),
              "runs": (), "p_better": (), "p_better_se": (), "runs_after_ceasefire": ("years",)}
# Variables in this unit count runs: integers. Every other is a float.
COUNTED = "runs"

TEXT, INTEGER, NUMBER, JSON_TABLE = "text", "an integer", "a number", "a JSON table"
# Every attribute `results.build` writes, with its type; then those it may write.
ATTRIBUTES = {
    "title": TEXT, "Conventions": TEXT, "source": TEXT, "history": TEXT, "created": TEXT,
    "package_version": TEXT, "config": TEXT, "config_sha256": TEXT, "seed": TEXT, "runs": INTEGER,
    "horizon_days": INTEGER, "start_date": TEXT, "baseline": JSON_TABLE, "priors": JSON_TABLE,
    "model_choices": JSON_TABLE, "runs_per_draw": INTEGER, "parameter_draws": INTEGER,
}
OPTIONAL_ATTRIBUTES = {"wall_seconds": NUMBER, "target_se": NUMBER, "stop_reason": TEXT}


def variable_dims() -> dict[str, tuple[str, ...] | None]:
    """Each declared variable's dimensions (None: the grid's, then any of a
    result's dimensions, for a variable of a kind this table does not know)."""
    found = {}
    for o in outcomes.OUTCOMES:
        for name in o.variables():
            extra = ("day",) if o.kind == outcomes.EVENT and name == o.tally else KIND_DIMS.get(o.kind)
            if extra is not None and name.endswith(("_q", "_q_se")):
                extra += ("quantile",)
            found[name] = None if extra is None else AXES + extra
    for name in outcomes.OTHER_VARIABLES:
        extra = OTHER_DIMS.get(name)
        found[name] = None if extra is None else AXES + extra
    return found


def _sensitivity(dims: tuple[str, ...] | None) -> bool:
    return dims is not None and "outcome" in dims


def required_variables() -> list[str]:
    """The variables every result holds: all that deterrence.outcomes declares,
    but the optional ones (sensitivity indices; the nested design's)."""
    return [name for name in outcomes.variables() if name not in outcomes.OPTIONAL_VARIABLES]


def nested_variables() -> list[str]:
    """The optional variables a result has exactly when study.runs_per_draw > 1."""
    dims = variable_dims()
    return [name for name in outcomes.OPTIONAL_VARIABLES if not _sensitivity(dims.get(name))]


def check(ds) -> Config:
    """Raise UserError, in one line naming the attribute or variable, unless
    ``ds`` is a complete result of this schema; returns the config it carries."""
    cfg = check_attributes(ds.attrs, {a: ds[a].values.tolist() for a in AXES if a in ds.coords})
    nested = cfg.study.runs_per_draw > 1
    check_coordinates(ds, cfg, nested, priors_known=bool(cfg.text))
    check_variables(ds, nested)
    check_values(ds)
    return cfg


def _is_integer(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _typed(value, kind: str) -> bool:
    if kind == TEXT:
        return isinstance(value, str)
    if kind == INTEGER:
        return _is_integer(value)
    if kind == NUMBER:
        return (_is_integer(value) or isinstance(value, (float, np.floating))) and math.isfinite(value)
    try:
        return isinstance(value, str) and isinstance(json.loads(value), dict)
    except ValueError:
        return False


def check_attributes(attrs: dict, grid: dict | None = None) -> Config:
    """Each attribute's type, then its agreement with the config the result
    carries. A result of a config built in Python (no text) carries none:
    its own attributes and ``grid`` (its axis coordinates) stand in for it."""
    missing = [name for name in ATTRIBUTES if name not in attrs]
    if missing:
        raise UserError(f"missing attribute{'s' * (len(missing) > 1)} {', '.join(missing)}")
    for name, kind in {**ATTRIBUTES, **OPTIONAL_ATTRIBUTES}.items():
        if name in attrs and not _typed(attrs[name], kind):
            raise UserError(f"attribute {name} must be {kind}, got {_shown(attrs[name])}")
    if not attrs["source"].startswith("deterrence"):
        raise UserError(f"attribute source is {_shown(attrs['source'])}, not deterrence's")
    text = attrs["config"]
    if hashlib.sha256(text.encode()).hexdigest() != attrs["config_sha256"]:
        raise UserError("attribute config_sha256 does not match the config attribute")
    seed = attrs["seed"]
    if not (seed.isascii() and seed.isdigit() and int(seed) <= MAX_SEED):
        raise UserError(f"attribute seed must be a whole number from 0 to 2**64 - 1 in digits, got {_shown(seed)}")
    runs, per_draw = int(attrs["runs"]), int(attrs["runs_per_draw"])
    if not (1 <= runs <= MAX_RUNS and per_draw >= 1 and runs % per_draw == 0):
        raise UserError(f"attribute runs is {runs}: expected whole draws of runs_per_draw ({per_draw}) runs, "
                        f"at most {MAX_RUNS:,}")
    for name, prior in json.loads(attrs["priors"]).items():
        if not (isinstance(prior, dict) and isinstance(prior.get("dist"), str)
                and isinstance(prior.get("source"), str)
                and all(isinstance(v, str) or (isinstance(v, (int, float)) and not isinstance(v, bool))
                        for v in prior.values())):
            raise UserError(f"attribute priors: {name!r} must be a table of its dist, source and numbers")
    if text:
        try:
            cfg = config.parse(tomllib.loads(text), text, "attribute config")
        except tomllib.TOMLDecodeError as error:
            raise UserError(f"attribute config is not valid TOML ({error})") from None
    else:
        cfg = _stand_in(attrs, grid or {})
    expected = {
        "runs_per_draw": cfg.study.runs_per_draw, "horizon_days": cfg.study.horizon_days,
        "start_date": cfg.study.start_date.isoformat(), "parameter_draws": runs // per_draw,
        "baseline": dataclasses.asdict(cfg.study.baseline), "model_choices": cfg.choices,
    }
    for name, value in expected.items():
        found = json.loads(attrs[name]) if ATTRIBUTES[name] == JSON_TABLE else attrs[name]
        if found != value:
            raise UserError(f"attribute {name} is {_shown(found)}, its config says {_shown(value)}")
    return cfg


def _stand_in(attrs: dict, grid: dict) -> Config:
    """The config of a result that carries no config text, from its attributes
    and axis coordinates (priors aside: it does not say them)."""
    runs, per_draw = int(attrs["runs"]), int(attrs["runs_per_draw"])
    try:
        start, baseline = attrs["start_date"], json.loads(attrs["baseline"])
        study = {"name": "result", "runs": runs, "seed": int(attrs["seed"]), "start_date": start,
                 "horizon_days": int(attrs["horizon_days"]), "runs_per_draw": per_draw, "baseline": baseline,
                 "block_runs": max(per_draw, min(runs, config.MAX_BLOCK_RUNS) // per_draw * per_draw)}
        raw = {"study": study, "grid": grid, "model": json.loads(attrs["model_choices"])}
    except (TypeError, ValueError):
        raise UserError("attributes start_date, baseline or model_choices are not a study's") from None
    return config.parse(raw, "", "the result's attributes and coordinates (it carries no config)")


def coordinates(cfg: Config, nested: bool) -> dict[str, np.ndarray]:
    """The coordinates of a result of ``cfg``."""
    from deterrence.sensitivity import uncertain

    found = {a: np.array(cfg.grid[a]) for a in AXES}
    found["day"] = np.arange(cfg.study.horizon_days + 1)
    found["years"] = np.array(YEARS)
    if nested:
        found["quantile"] = np.array(epistemic.QUANTILES)
    found["outcome"] = np.array(SENSITIVITY_OUTCOMES)
    found["parameter"] = np.array(uncertain(cfg), dtype=str)
    return found


def check_coordinates(ds, cfg: Config, nested: bool, priors_known: bool = True) -> None:
    """Each coordinate as the config makes it: values, order and dtype (the
    uncertain parameters' names only where the result carries its priors)."""
    expected = coordinates(cfg, nested)
    if not priors_known and "parameter" in ds.coords:
        expected["parameter"] = np.array(ds["parameter"].values.tolist(), dtype=str)
    for name in ds.coords:
        if name not in expected:
            raise UserError(f"coordinate {name}: no result has it"
                            + (" with study.runs_per_draw = 1" if name == "quantile" else ""))
    for name, values in expected.items():
        if name not in ds.coords:
            if name in ("outcome", "parameter"):
                continue
            raise UserError(f"missing coordinate {name}")
        found = ds[name]
        if found.dims != (name,):
            raise UserError(f"coordinate {name} must have the dimension {name} only, has {found.dims}")
        if not (_same_kind(found, values) and found.shape == values.shape and np.array_equal(found.values, values)):
            raise UserError(f"coordinate {name} is {_shown(found.values.tolist())}; its config makes it "
                            f"{_shown(values.tolist())}")
    if "decile" in ds.dims and ds.sizes["decile"] != SENSITIVITY_BINS:
        raise UserError(f"dimension decile has {ds.sizes['decile']} entries, not {SENSITIVITY_BINS}")


def _same_kind(found, values: np.ndarray) -> bool:
    """Integers for integers, floats for floats, and text (str) for text."""
    if values.dtype.kind == "U":
        return found.dtype.kind in "UOT" and all(isinstance(x, str) for x in found.values.tolist())
    return found.dtype.kind in ("iu" if values.dtype.kind in "iu" else "f")


def check_variables(ds, nested: bool) -> None:
    """Each variable declared, present when required, with its dimensions and dtype."""
    declared = outcomes.variables()
    dims = variable_dims()
    for name in ds.data_vars:
        if name not in declared:
            raise UserError(f"variable {name}: no outcome declares it (deterrence.outcomes); drop it")
    required = required_variables() + (nested_variables() if nested else [])
    missing = [name for name in required if name not in ds.data_vars]
    if missing:
        raise UserError(f"missing {', '.join(missing)}")
    for name in ds.data_vars:
        if not nested and name in nested_variables():
            raise UserError(f"variable {name}: only a result with study.runs_per_draw > 1 has it")
        found, want = ds[name].dims, dims[name]
        if want is None:
            ok = found[:len(AXES)] == AXES and set(found) <= set(ds.dims)
        else:
            ok = found == want
        if not ok:
            raise UserError(f"variable {name} has the dimensions {found}, not {want or AXES + ('...',)}")
        integer = declared[name]["units"] == COUNTED
        if ds[name].dtype.kind != ("i" if integer else "f") and not (integer and ds[name].dtype.kind == "u"):
            raise UserError(f"variable {name} is of dtype {ds[name].dtype}, not "
                            f"{'an integer' if integer else 'a float'}")


def check_values(ds) -> None:
    """Histograms that sum to the runs, and estimates finite where defined."""
    runs = int(ds.attrs["runs"])
    horizon = int(ds.attrs["horizon_days"])
    if not bool((ds["runs"] == runs).all()):
        raise UserError(f"damaged variable runs (expected {runs} runs everywhere)")
    bad = [e for e in EVENTS if not bool((ds[e].sum("day") == runs).all())]
    # Within-years values are NaN by design beyond the horizon, and the
    # reading after the ceasefire where no run qualifies.
    defined = np.asarray(year_days(YEARS) <= horizon)
    for name in required_variables():
        if outcomes.AFTER_CEASEFIRE in name:
            continue
        finite = np.isfinite(ds[name].values)
        if "years" in ds[name].dims:
            finite |= ~defined.reshape((-1,) + (1,) * (finite.ndim - 1 - ds[name].dims.index("years")))
        if not finite.all():
            bad.append(name)
    if bad:
        raise UserError(f"damaged {', '.join(bad)} (histograms must sum to the runs, values be finite)")


def _shown(value) -> str:
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= 60 else text[:57] + "..."
