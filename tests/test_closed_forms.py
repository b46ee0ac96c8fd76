"""Closed forms with fixed priors, for the numba kernel and the NumPy
reference alike (each checked against the formula, not against the other)."""

import pytest
from helpers import (
    check_ceasefire_exponential,
    check_deterrence_and_tripwire,
    check_durable_first_truce,
    check_durable_later_truces,
    check_engage_collapse,
    check_intercept_force,
    check_leverage,
    check_reattack_hypoexponential,
    check_strikes_without_ceasefire,
    check_threshold_veto,
    check_tripwire_during_war,
    check_veto,
    check_veto_relief_power,
    check_war_ceasefire_mult,
    kernel_run,
    reference_run,
)

IMPLEMENTATIONS = {"kernel": (kernel_run, 100), "reference": (reference_run, 200)}


@pytest.fixture(params=["kernel", "reference"])
def simulate(request):
    return IMPLEMENTATIONS[request.param]


def test_ceasefire_exponential_without_force(simulate):
    run, seed = simulate
    check_ceasefire_exponential(run, seed=seed + 1)


def test_reattack_hypoexponential_without_force(simulate):
    run, seed = simulate
    check_reattack_hypoexponential(run, seed=seed + 2)


@pytest.mark.parametrize("force", [5000, 25000])
def test_veto_factor_shifts_ceasefire(simulate, force):
    run, seed = simulate
    check_veto(run, seed=seed + 3, force=force)


def test_leverage_multiplies_ceasefire_hazard(simulate):
    run, seed = simulate
    check_leverage(run, seed=seed + 4)


@pytest.mark.parametrize("posture", ["contact_line", "rear"])
def test_reattack_deterrence_and_tripwire(simulate, posture):
    run, seed = simulate
    check_deterrence_and_tripwire(run, seed=seed + 5, posture=posture)


def test_tripwire_during_war(simulate):
    run, seed = simulate
    check_tripwire_during_war(run, seed=seed + 6)


def test_strikes_without_ceasefire(simulate):
    run, seed = simulate
    check_strikes_without_ceasefire(run, seed=seed + 7)


# Model v2 (docs/model.md).

V2_CHECKS = {
    "threshold veto": check_threshold_veto,
    "veto relief on the power veto": check_veto_relief_power,
    "first truce survival is the cure fraction": check_durable_first_truce,
    "later truces durable with p_durable": check_durable_later_truces,
    "intercept_force": check_intercept_force,
    "engage_collapse": check_engage_collapse,
    "war_ceasefire_mult": check_war_ceasefire_mult,
}


@pytest.mark.parametrize("offset, name", list(enumerate(V2_CHECKS, start=8)))
def test_v2_closed_form(simulate, offset, name):
    run, seed = simulate
    V2_CHECKS[name](run, seed=seed + offset)
