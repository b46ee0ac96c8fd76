"""deterrence.outcomes: each outcome declared once, both sides of the
table agree with the model's tally layout, unknown names end in an error,
and the README's table of variables is the generated one."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deterrence import outcomes
from deterrence.model import COUNTS, EVENTS, INDICATORS, PAIRED_COUNTS, SENSITIVITY_OUTCOMES
from deterrence.outcomes import COUNT, DERIVED, EVENT, OUTCOMES, STATE, of_tally, outcome, sensitivity_label

ROOT = Path(__file__).parent.parent
MARKERS = re.compile(r"<!-- outcomes -->\n(.*?)\n<!-- /outcomes -->", re.S)


def test_every_tally_has_exactly_one_outcome_and_back():
    """A tally the kernel fills without an outcome, or an outcome of no
    tally, fails here."""
    tallied = [o.tally for o in OUTCOMES if o.tally]
    assert sorted(tallied) == sorted(INDICATORS + COUNTS)
    assert len(tallied) == len(set(tallied))
    assert [o.tally for o in OUTCOMES if o.kind == EVENT] == list(EVENTS)
    assert [o.tally for o in outcomes.indicators()] == list(INDICATORS)
    assert sorted(o.tally for o in OUTCOMES if o.kind == COUNT) == sorted(COUNTS)
    assert all(not o.tally for o in OUTCOMES if o.kind == DERIVED)
    assert {o.kind for o in OUTCOMES} == {EVENT, STATE, COUNT, DERIVED}
    names = [o.name for o in OUTCOMES]
    assert len(names) == len(set(names))


def test_every_outcome_is_fully_worded():
    for o in OUTCOMES:
        assert o.name and o.unit and o.long_name and o.label, o
    # The kernel pairs every indicator, and of the counts model.PAIRED_COUNTS.
    assert all(o.paired for o in outcomes.indicators())
    assert [o.tally for o in outcomes.paired_counts()] == list(PAIRED_COUNTS)
    assert sorted(o.tally for o in outcomes.counts() if o.paired) == sorted(PAIRED_COUNTS)
    # Every harm has its direction; the headline is a harm a longer war raises.
    assert outcome(outcomes.HEADLINE).better == outcomes.LOWER
    assert {o.name for o in OUTCOMES if o.better} >= {"war_days", "war", "reattack", "strikes", "ceasefire"}


def test_declared_variables_do_not_collide():
    """Two outcomes never declare the same variable."""
    seen = {}
    for o in OUTCOMES:
        for name in o.variables():
            assert name not in seen, (name, o.name, seen.get(name))
            seen[name] = o.name
    assert not set(seen) & set(outcomes.OTHER_VARIABLES)


@pytest.mark.parametrize("lookup, name", [(outcome, "re-attack"), (outcome, "reattack_day"),
                                          (of_tally, "reattack"), (outcomes.attrs, "p_peace")])
def test_unknown_names_end_in_an_error(lookup, name):
    with pytest.raises(KeyError, match=re.escape(repr(name))):
        lookup(name)


def test_lookups():
    assert outcome("reattack").tally == "reattack_day" and of_tally("reattack_day").name == "reattack"
    assert outcomes.attrs("p_tripwire") == {
        "long_name": "probability of foreign troops engaged in combat (tripwire) within the given years",
        "units": "1"}
    assert outcomes.attrs("mean_truce_days")["units"] == "days"
    assert outcomes.attrs("truce_days_sumsq")["units"] == "days2"
    assert "total" in outcomes.attrs("mean_strikes")["long_name"]
    assert outcome("tripwire").meaning == "foreign troops engaged in combat"


def test_every_sensitivity_outcome_has_words():
    labels = [sensitivity_label(key) for key in SENSITIVITY_OUTCOMES]
    assert labels[SENSITIVITY_OUTCOMES.index("reattack_2y")] == "P(re-attack within 2 years)"
    assert "vs baseline" in labels[SENSITIVITY_OUTCOMES.index("diff_reattack_2y")]
    for key in ("peace_2y", "reattack", "reattack_twoy"):
        with pytest.raises(KeyError, match=key):
            sensitivity_label(key)


def test_an_unknown_kind_ends_in_an_error():
    with pytest.raises(ValueError, match="unknown kind 'rate'"):
        outcomes.Outcome("x", "rate", "1", "x", "x").variables()


def test_markdown_table_has_one_row_per_reading():
    table = outcomes.markdown().splitlines()
    assert table[0] == "| variable | unit | meaning |"
    rows = table[2:]
    shown = " ".join(rows)
    for name in outcomes.variables():
        assert f"`{name}`" in shown or name.endswith(("_se", "_sumsq")), name
    assert "| `p_tripwire` (+ `_se`) | 1 | probability of foreign troops engaged in combat" in shown
    assert "| `strikes_sum` (+ `_sumsq`) | 1 |" in shown
    assert all(r.count(" | ") == 2 for r in rows)


def test_module_prints_the_table():
    done = subprocess.run([sys.executable, "-m", "deterrence.outcomes"], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stdout.strip() == outcomes.markdown()
    done = subprocess.run([sys.executable, "-c", "import sys, deterrence.outcomes; "
                           "assert 'numba' not in sys.modules"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_readme_table_is_the_generated_one():
    found = MARKERS.search((ROOT / "README.md").read_text())
    if found is None:
        pytest.skip("README.md has no <!-- outcomes --> ... <!-- /outcomes --> markers around its table "
                    "of variables yet")
    assert found.group(1).strip() == outcomes.markdown(), \
        "README.md's table of variables differs: paste the output of `python -m deterrence.outcomes`"


@pytest.mark.parametrize("count", sorted(outcomes.REACH_ONLY))
def test_parameters_that_reach_one_count_change_nothing_else(count):
    """Replayed on the same runs with every parameter of REACH_ONLY[count]
    changed, every event and every other count is the same, bit for bit,
    and the count itself moves."""
    import numpy as np

    from deterrence import config, sensitivity, trace
    from deterrence.model import PARAMETER_NAMES
    from deterrence.replay import replay

    cfg = config.load(Path(__file__).parent / "data" / "tiny.toml")
    options = [trace.parse_option(text, cfg.study.baseline) for text in
               ("", "force_size=5000,support=air_defense", "force_size=5000,posture=contact_line")]
    names = sensitivity.uncertain(cfg)
    theta = sensitivity.parameters(cfg, sensitivity.unit_design(4, len(names), seed=3))
    changed = theta.copy()
    hit = [k for k, name in enumerate(PARAMETER_NAMES) if not outcomes.reaches(name, "reattack")]
    hit = [k for k in hit if outcomes.reaches(PARAMETER_NAMES[k], count)]
    assert hit
    changed[:, hit] = np.where(changed[:, hit] < 1, changed[:, hit] / 2, changed[:, hit] * 3)
    found = [replay(cfg, options, len(t), runs_per_draw=20, thetas=t, workers=1, show_progress=False)
             for t in (theta, changed)]
    column = [o.name for o in outcomes.paired_counts()].index(count)
    assert np.array_equal(found[0].within, found[1].within)
    others = [c for c in range(found[0].counts.shape[-1]) if c != column]
    assert np.array_equal(found[0].counts[..., others], found[1].counts[..., others])
    assert not np.array_equal(found[0].counts[..., column], found[1].counts[..., column])


def test_reach_only_names_real_parameters():
    from deterrence.model import PARAMETER_NAMES

    for names in outcomes.REACH_ONLY.values():
        assert all(any(n in (p, p.split(".")[0]) for p in PARAMETER_NAMES) for n in names), names
    assert not outcomes.reaches("intercept.air_defense", "reattack") and outcomes.reaches("intercept.isr_c2", "strikes")
    assert not outcomes.reaches("mu_war", "strikes") and not outcomes.reaches("sigma_war", "war_days")
    assert all(outcomes.reaches("lambda_c0", o.name) for o in OUTCOMES)


def test_each_count_declares_its_scale_and_war_is_derived_once():
    """A tally times its outcome's scale is in the outcome's unit (days tallied in TRUCE_DAYS_UNIT);
    being at war is derived from the two events by one function, exactly."""
    from deterrence.model import DAY_COUNTS, TRUCE_DAYS_UNIT

    for o in outcomes.counts():
        assert o.scale == (TRUCE_DAYS_UNIT if o.tally in DAY_COUNTS else 1.0)
        assert o.unit == ("days" if o.tally in DAY_COUNTS else "1")
    assert outcomes.war_probability(0.75, 0.25) == 0.5
    assert outcomes.war_probability(np.array([1.0, 0.0]), np.array([0.0, 0.0])).tolist() == [0.0, 1.0]
