"""deterrence.report.effects: each option's effect on a measure (days at
war by default, the 2-year re-attack risk beside it) with its parameter
interval, simulation noise, p_better on the same measure and deciding
assumptions, read from the result; and why not, where it cannot be."""

import numpy as np
import pytest
from helpers import with_sensitivity

from deterrence import UserError
from deterrence.model import AXES
from deterrence.report import effects
from deterrence.report.grid import NOT_NESTED, options


def test_effects_are_the_results_variables(nested):
    found = effects.effects(nested)
    assert effects.HEADLINE.effect == "diff_mean_war_days"
    assert [e.option for e in found] == options(nested)
    for e in found:
        o = nested.sel({a: e.option[a] for a in AXES})
        assert e.change == float(o.diff_mean_war_days) and e.noise == float(o.diff_mean_war_days_se)
        assert (e.low, e.high) == tuple(float(o.diff_mean_war_days_q.sel(quantile=q)) for q in (0.05, 0.95))
        assert (e.better, e.better_noise) == (float(o.p_better_war_days), float(o.p_better_war_days_se))
        assert (e.better, e.better_noise) == (float(o.p_better), float(o.p_better_se))
        assert e.deciding == ()            # no `sensitivity` variable in this result
    with_force = [e for e in found if e.option["force_size"] > 0]
    assert all(e.low <= e.change <= e.high and e.noise < e.high - e.low for e in with_force)
    for e in effects.effects(nested, effects.REATTACK):
        o = nested.sel({a: e.option[a] for a in AXES})
        y = o.sel(years=2)
        assert e.change == float(y.diff_p_reattack) and e.noise == float(y.diff_p_reattack_se)
        assert (e.better, e.better_noise) == (float(y.p_better_reattack), float(y.p_better_reattack_se))


@pytest.mark.parametrize("text, key", [("war_days", "war_days"), ("reattack_2y", "reattack_2y"),
                                       ("war_5y", "war_5y"), ("strikes", "strikes")])
def test_measures_parse(text, key):
    assert effects.measure(text).key == key


@pytest.mark.parametrize("text", ["reattack", "war_days_2y", "truce_days", "reattack_3y", "peace_2y"])
def test_unknown_measures_are_one_line(text):
    with pytest.raises(UserError, match="--outcome"):
        effects.measure(text)


def test_missing_says_why(small, nested):
    assert effects.missing(small) == NOT_NESTED and effects.effects(small) == []
    assert effects.missing(nested) is None
    short = nested.copy(deep=True)       # a horizon under two years: the 2-year readings are undefined
    short["p_reattack"].loc[dict(years=2)] = np.nan
    m = effects.REATTACK
    assert "ends before 2 years" in effects.missing(short, m) and effects.effects(short, m) == []


def test_deciding_assumptions_come_from_the_indices(small, nested):
    ds = with_sensitivity(nested)
    s = ds.sensitivity.sel(outcome=effects.HEADLINE.index_outcome)
    for option, found in zip(options(ds), effects.deciding(ds), strict=True):
        row = s.sel({a: option[a] for a in AXES}).to_series().dropna().sort_values(ascending=False)
        expected = [(p, v) for p, v in row.iloc[:effects.DECIDING].items() if v >= effects.DECIDING_FLOOR]
        assert list(found) == expected and found[0] == ("delta_force", 0.6)
    # Under the floor, a parameter decides nothing.
    low = ds.copy(deep=True)
    low["sensitivity"] = low.sensitivity.where(low.parameter == "delta_force", effects.DECIDING_FLOOR / 2)
    assert all(found == (("delta_force", 0.6),) for found in effects.deciding(low))
    # With one run per draw the indices are of single runs' outcomes, mostly chance: none named.
    assert all(found == () for found in effects.deciding(with_sensitivity(small)))
    leads = effects.counted(effects.effects(ds))
    assert leads == {"delta_force": len(options(ds))}
