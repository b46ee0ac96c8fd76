"""The config: the [model] table's structural choices, the record rows
behind each fitted rate and the limit on runs, each with a one-line error
for a mistake."""

import pytest
from helpers import make_config

from deterrence import UserError, config, fit, model
from deterrence.model import CHOICES, DEFAULT_CHOICES, MAX_RUNS, MODEL_CHOICES, PARAMETER_NAMES

BASE = {"study": {"name": "choices", "runs": 100, "seed": 1}}


def parse(**tables):
    return config.parse({**BASE, **tables}, "", "c.toml")


def test_every_choice_defaults_to_its_first_value():
    cfg = parse()
    assert cfg.choices == DEFAULT_CHOICES == {k: v[0] for k, v in CHOICES.items()}


@pytest.mark.parametrize("key", sorted(CHOICES))
def test_every_value_of_every_choice_parses(key):
    for value in CHOICES[key]:
        assert parse(model={key: value}).choices[key] == value


@pytest.mark.parametrize("table, field", [
    ({"veto": "flat"}, "model.veto"),
    ({"vetoes": "power"}, "did you mean 'veto'"),
    ({"truces": 1}, "model.truces"),
])
def test_a_bad_choice_is_one_line(table, field):
    with pytest.raises(UserError, match=field) as error:
        parse(model=table)
    assert "\n" not in str(error.value) and str(error.value).startswith("c.toml")


def test_the_choices_decide_the_fitted_form():
    cure, plain = parse(), parse(model={"truces": "weibull", "reattack": "separate"})
    assert cure.prior("lambda_a0").dist == "gamma_exposure" and plain.prior("lambda_a0").dist == "gamma"
    assert cure.prior("p_durable").dist == "beta"
    assert plain.prior("p_durable").dist == plain.prior("p_durable_first").dist == "fixed"
    assert plain.prior("p_durable").get("value") == 0.0
    assert cure.prior("truce_shape").params == fit.cure_prior("truce_shape").params
    assert plain.prior("truce_shape").params == fit.record_prior("truce_shape", choices={"truces": "weibull"}).params


def test_every_choice_record_names_known_codes_parameters_and_fits():
    """One record per [model] value (model.MODEL_CHOICES): its code is its
    position, what it leaves out and what it fits are parameters, its fit
    is one fit.record_prior knows; an unknown one is an error."""
    for c in MODEL_CHOICES:
        assert CHOICES[c.key][c.code] == c.value
        assert {n for n, _ in c.unused} | set(c.fitted) <= set(PARAMETER_NAMES)
        assert not {n for n, _ in c.unused} & set(c.fitted)
        assert c.fit in fit.RECORD_FITS if c.fitted else c.fit == ""
    with pytest.raises(ValueError, match="unknown"):
        model.choice("truces", "frailty")
    with pytest.raises(ValueError, match="codes"):
        model.choice_table((*MODEL_CHOICES, model.Choice("veto", "flat", 5, "")))


def test_truce_strength_priors_come_from_the_strength_fit():
    """truces = "strength": strength_var and the truce and violation
    parameters from the joint fit (record priors); no durable truces; under
    the other forms strength_var is left out (0)."""
    strength = parse(model={"truces": "strength"})
    for name in fit.STRENGTH_PARAMS:
        prior = strength.prior(name)
        assert prior.fit == "record" and prior.params == fit.strength_prior(name).params
    assert strength.prior("strength_var").dist == "lognormal"
    assert strength.prior("p_durable").dist == strength.prior("p_durable_first").dist == "fixed"
    for truces in ("cure", "weibull"):
        prior = parse(model={"truces": truces}).prior("strength_var")
        assert prior.dist == "fixed" and prior.get("value") == 0.0


def test_a_prior_a_choice_leaves_out_is_refused():
    with pytest.raises(UserError, match="priors.p_durable has no effect"):
        parse(model={"truces": "weibull"}, priors={"p_durable": {"dist": "fixed", "value": 0.1}})
    # Fixed at the value the choice gives it (a loaded config's priors written back): accepted.
    cfg = parse(model={"truces": "weibull"}, priors={"p_durable": {"dist": "fixed", "value": 0.0}})
    assert cfg.prior("p_durable").get("value") == 0.0
    with pytest.raises(UserError, match="priors.strength_var has no effect"):
        parse(priors={"strength_var": {"dist": "gamma", "shape": 1.0, "scale": 0.1}})


@pytest.mark.parametrize("name", sorted(fit.RECORD_ROWS))
def test_every_row_choice_of_every_rate_is_selectable(name):
    for rows in fit.RECORD_ROWS[name].choices:
        prior = parse(priors={name: {"fit": "record", "rows": rows}}).prior(name)
        assert prior.rows == rows and prior.fit == "record"
    assert parse().prior(name).rows == fit.RECORD_ROWS[name].default


def test_rows_move_the_fit_and_a_bad_choice_is_one_line():
    default = parse().prior("lambda_c0")
    dropped = parse(priors={"lambda_c0": {"fit": "record", "rows": "full_scale_war_only"}}).prior("lambda_c0")
    assert dropped.get("shape") == 0.5 and default.get("shape") == 1.5
    with pytest.raises(UserError, match="priors.lambda_c0.rows: unknown choice 'bogus'"):
        parse(priors={"lambda_c0": {"fit": "record", "rows": "bogus"}})
    with pytest.raises(UserError, match="not selectable"):
        parse(priors={"truce_shape": {"fit": "record", "rows": "x"}})


def test_gamma_exposure_is_for_the_reattack_rate_only():
    table = {"dist": "gamma_exposure", "shape": 3.5, "truce_days": 1000.0, "gap_days": 500.0}
    assert parse(priors={"lambda_a0": table}).prior("lambda_a0").dist == "gamma_exposure"
    with pytest.raises(UserError, match="gamma_exposure is the joint calibration of lambda_a0 only"):
        parse(priors={"lambda_c0": table})
    with pytest.raises(UserError, match="gap_days must be >= 0"):
        parse(priors={"lambda_a0": {**table, "gap_days": -1.0}})


def test_runs_above_max_runs_rejected():
    with pytest.raises(UserError, match="study.runs must be at most"):
        make_config(runs=MAX_RUNS + 1)
    with pytest.raises(UserError, match="--runs must be at most"):
        make_config(runs=10).with_overrides(runs=MAX_RUNS + 1)
