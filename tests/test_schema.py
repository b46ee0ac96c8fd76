"""The schema of a result (deterrence.schema): a real result passes; each
crafted or damaged one is refused by `report` and `decide` in one line
naming the variable or attribute, exit 2; and Hypothesis mutations of a
real result's variables and attributes end in that line or a report."""

import hashlib
import json
import os

import numpy as np
import pytest
import xarray as xr
from helpers import make_config, write_study
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deterrence import outcomes, reference, results, schema
from deterrence.cli import main
from deterrence.model import AXES
from deterrence.plan import make_plan

DECIDE = ["--draws", "20", "--runs-per-draw", "2", "--options", "force_size=0;force_size=5000", "--workers", "1"]


@pytest.fixture(scope="module")
def nested(tmp_path_factory):
    """tests/data/small.toml with 20 runs per draw: a result with every variable."""
    folder = tmp_path_factory.mktemp("schema")
    out = folder / "nested.nc"
    cfg = write_study(folder / "nested.toml", "small", runs_per_draw=20)
    assert main(["run", str(cfg), "--out", str(out), "--workers", "1"]) == 0
    with xr.open_dataset(out) as ds:
        return out, ds.load()


def one_line(capsys, *words) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("deterrence: error:"), err
    for word in words:
        assert word in err, err
    return err


def test_a_real_result_passes(nested):
    out, ds = nested
    cfg = schema.check(ds)
    assert cfg.study.runs_per_draw == 20
    assert set(ds.data_vars) == set(outcomes.variables())


def test_both_sides_of_the_schema(nested):
    """Every attribute build writes is declared with its type, and every
    variable's declared dimensions are those build gives it."""
    _, ds = nested
    assert set(schema.ATTRIBUTES) <= set(ds.attrs) <= set(schema.ATTRIBUTES) | set(schema.OPTIONAL_ATTRIBUTES)
    dims = schema.variable_dims()
    for name in ds.data_vars:
        assert dims[name] == ds[name].dims, name


def test_a_new_outcome_passes_without_a_change_to_the_schema(nested, monkeypatch):
    """An outcome declared in deterrence.outcomes, with its variables in the
    result, is accepted as it is; its variables missing, it is refused."""
    _, ds = nested
    days = outcomes.Outcome("calm_days", outcomes.COUNT, "days", "days of calm", "calm days", "calm_days")
    monkeypatch.setattr(outcomes, "OUTCOMES", outcomes.OUTCOMES + (days,))
    with pytest.raises(results.UserError, match="missing calm_days_sum"):
        schema.check(ds)
    zero = xr.zeros_like(ds.mean_strikes)
    schema.check(ds.assign({name: zero for name in days.variables()}))


def mutated(ds, tmp_path, change) -> str:
    bad = ds.copy(deep=True)
    bad.attrs = dict(ds.attrs)
    bad = change(bad) or bad
    path = tmp_path / "bad.nc"
    bad.to_netcdf(path, engine="h5netcdf")
    return str(path)


def set_attr(name, value):
    def change(ds):
        ds.attrs[name] = value
    return change


def with_config(old, new):
    """The config attribute edited, its SHA-256 recomputed to match."""
    def change(ds):
        text = ds.attrs["config"].replace(old, new)
        ds.attrs["config"], ds.attrs["config_sha256"] = text, hashlib.sha256(text.encode()).hexdigest()
    return change


def as_coordinate(name, values):
    def change(ds):
        return ds.assign_coords({name: values})
    return change


def reshaped(name):
    """The variable with one dimension fewer (its last one's first entry)."""
    def change(ds):
        da = ds[name]
        return ds.assign({name: da.isel({da.dims[-1]: 0}, drop=True)})
    return change


CRAFTED = {
    "force size as text": (as_coordinate("force_size", ["zero", "5000"]), "coordinate force_size"),
    "missing parameter_draws": (lambda ds: ds.attrs.pop("parameter_draws") and None, "attribute parameter_draws"),
    "runs_per_draw text": (set_attr("runs_per_draw", "abc"), "attribute runs_per_draw"),
    "priors a list": (set_attr("priors", "[1, 2]"), "attribute priors"),
    "priors nested wrongly": (set_attr("priors", json.dumps({"lambda_c0": {"dist": ["gamma"]}})), "attribute priors"),
    "config seed text": (with_config("seed = 11", 'seed = "abc"'), "attribute config"),
    "config not TOML": (with_config("[study]", "[study"), "attribute config"),
    "config sha256 stale": (set_attr("config_sha256", "0" * 64), "config_sha256"),
    "seed not digits": (set_attr("seed", "７"), "attribute seed"),
    "horizon off": (set_attr("horizon_days", 999), "attribute horizon_days"),
    "p_better of the wrong shape": (reshaped("p_better_se"), "variable p_better_se"),
    "quantiles of the wrong shape": (reshaped("p_reattack_q"), "variable p_reattack_q"),
    "quantile index not monotonic": (as_coordinate("quantile", [0.95, 0.25, 0.5, 0.75, 0.05]), "coordinate quantile"),
    "unknown variable": (lambda ds: ds.assign(extra=ds.p_reattack), "variable extra"),
    "probability as integers": (lambda ds: ds.assign(p_war=ds.p_war.astype(np.int64)), "variable p_war"),
    "histogram as floats": (lambda ds: ds.assign(reattack_day=ds.reattack_day.astype(float)), "reattack_day"),
    "years changed": (as_coordinate("years", [1, 2, 3]), "coordinate years"),
    "posture renamed": (as_coordinate("posture", ["front"]), "coordinate posture"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_results_are_refused_naming_what(nested, case):
    change, words = CRAFTED[case]
    bad = nested[1].copy(deep=True)
    bad.attrs = dict(bad.attrs)
    with pytest.raises(results.UserError, match=words) as error:
        schema.check(change(bad) or bad)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("case", ["force size as text", "missing parameter_draws", "priors nested wrongly",
                                  "p_better of the wrong shape", "quantile index not monotonic"])
def test_crafted_results_given_to_report_end_in_one_line(nested, tmp_path, capsys, case):
    change, words = CRAFTED[case]
    path = mutated(nested[1], tmp_path, change)
    assert main(["report", path]) == 2
    one_line(capsys, words, "not a complete deterrence result")


def test_decide_goes_through_the_schema(nested, tmp_path, capsys):
    path = mutated(nested[1], tmp_path, with_config("seed = 11", 'seed = "abc"'))
    assert main(["decide", path, *DECIDE]) == 2
    one_line(capsys, "attribute config", "seed")


# ------------------------------------------------------------ mutations

ATTRIBUTE_VALUES = st.sampled_from(["", "abc", "７", "[1, 2]", "{}", '{"a": [1]}', '{"lambda_c0": {"dist": 1}}',
                                    0, -1, 1, 2**40, 1.5, float("nan"), [1, 2], np.array([1.0, 2.0])])


@st.composite
def attribute_change(draw):
    names = sorted(schema.ATTRIBUTES) + sorted(schema.OPTIONAL_ATTRIBUTES)
    name = draw(st.sampled_from(names))
    if draw(st.integers(0, 4)) == 0:
        return f"drop {name}", lambda ds: ds.attrs.pop(name, None) and None
    if name == "config":
        old, new = draw(st.sampled_from([("seed = 11", "seed = 8"), ("seed = 11", 'seed = "abc"'),
                                         ("horizon_days = 1000", "horizon_days = 900"), ("runs = 2000", "runs = -1"),
                                         ("[grid]", "[grid"), ("runs_per_draw = 20", "runs_per_draw = 1")]))
        return f"config {new}", with_config(old, new)
    value = draw(ATTRIBUTE_VALUES)
    return f"{name} = {value!r}", set_attr(name, value)


VARIABLE_CHANGES = ("drop", "text", "integers", "floats", "one dimension fewer", "transposed", "NaN", "negative",
                    "huge", "extra dimension")


@st.composite
def variable_change(draw):
    name = draw(st.sampled_from(sorted(outcomes.variables()) + list(AXES) + ["day", "years", "quantile"]))
    how = draw(st.sampled_from(VARIABLE_CHANGES))

    def change(ds):
        da = ds[name]
        if how == "drop":
            return ds.drop_vars(name)
        if name in ds.coords:
            values = {"text": da.astype(str), "integers": da.astype(np.int64) if da.dtype.kind != "U" else da,
                      "floats": da.astype(float) if da.dtype.kind != "U" else da}.get(how, da[::-1])
            return ds.assign_coords({name: values.values})
        if how == "text":
            values = da.astype(str)
        elif how in ("integers", "floats"):
            values = da.fillna(0).astype(np.int64 if how == "integers" else np.float32)
        elif how == "one dimension fewer":
            values = da.isel({da.dims[-1]: 0}, drop=True)
        elif how == "transposed":
            values = da.transpose(*da.dims[::-1])
        elif how == "extra dimension":
            values = da.expand_dims(extra=2)
        else:
            values = da * {"NaN": np.nan, "negative": -1, "huge": 1e300}[how]
        return ds.assign({name: values})
    return f"{name}: {how}", change


def ends_cleanly(capsys, code: int) -> None:
    captured = capsys.readouterr()
    if code == 2:
        err = captured.err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("deterrence: error:"), err
    else:
        assert code == 0 and captured.out, captured.err


# More examples for a longer search: DETERRENCE_FUZZ_EXAMPLES=500.
EXAMPLES = int(os.environ.get("DETERRENCE_FUZZ_EXAMPLES", 20))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.mark.slow
@FUZZ
@given(st.one_of(attribute_change(), variable_change()))
def test_mutated_results_given_to_report(nested, tmp_path, capsys, mutation):
    _, change = mutation
    try:
        path = mutated(nested[1], tmp_path, change)
    except (TypeError, ValueError):
        return  # not a file NetCDF can hold
    ends_cleanly(capsys, main(["report", path]))


@settings(FUZZ, max_examples=max(EXAMPLES // 3, 1))
@given(attribute_change())
def test_mutated_results_given_to_decide(nested, tmp_path, capsys, mutation):
    _, change = mutation
    try:
        path = mutated(nested[1], tmp_path, change)
    except (TypeError, ValueError):
        return
    ends_cleanly(capsys, main(["decide", path, *DECIDE]))


def test_a_result_of_a_config_built_in_python(capsys):
    """A config from a dict carries no text: the result's own attributes and
    coordinates stand in for it, and are checked as a config's would be."""
    cfg = make_config(runs=200)
    plan = make_plan(cfg)
    ds = results.build(cfg, plan, reference.simulate(plan, 200, seed=1))
    assert schema.check(ds).study.horizon_days == cfg.study.horizon_days
    with pytest.raises(results.UserError, match="force_size"):
        schema.check(ds.assign_coords(force_size=[0.5]))
    with pytest.raises(results.UserError, match="attribute horizon_days"):
        schema.check(ds.assign_attrs(horizon_days="1826"))
