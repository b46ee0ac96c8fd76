"""deterrence trace: a run's story must be exactly what the kernel simulated.

Each trace is checked against the kernel's tallies of a one-run block of the
same run: its events fall in the single filled day bin of each histogram,
and its totals are the moments' sums. Self-contained (no conftest helpers).
"""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from deterrence import UserError, config, trace
from deterrence.cli import main
from deterrence.model import AXES, MAX_RUNS
from deterrence.plan import make_plan
from deterrence.runner import run_block

LAPTOP_PATH = Path(__file__).parents[1] / "configs" / "laptop.toml"
LAPTOP = config.load(LAPTOP_PATH)
# Options of the laptop grid: the baseline, deployed after the ceasefire and
# immediately, on the contact line and in the rear, with air defence and with
# assets and aid.
LAPTOP_OPTIONS = (
    "force_size=0",
    "force_size=0,leverage=assets_and_aid",
    "force_size=5000",
    "force_size=5000,posture=contact_line,support=air_defense",
    "force_size=25000,deploy_rule=immediate,leverage=assets_and_aid",
    "force_size=25000,posture=contact_line,deploy_rule=immediate,support=air_defense,leverage=assets_and_aid",
)
# The model v2 channels made frequent: a threshold veto, durable truces, a
# force struck during the war, fighting after collapses engaging it, its own
# air defence, and the war-time ceasefire multiplier.
V2_TABLE = {
    "study": {"name": "v2", "runs": 1000, "seed": 99, "horizon_days": 1500},
    "model": {"veto": "threshold"},
    "grid": {"force_size": [0, 10000], "posture": ["rear", "contact_line"],
             "deploy_rule": ["after_ceasefire", "immediate"], "support": ["none", "air_support"],
             "leverage": ["status_quo", "sanctions"]},
    "priors": {"lambda_c0": {"dist": "gamma", "shape": 2.0, "scale": 0.0015},
               "lambda_hit": {"dist": "gamma", "shape": 2.0, "scale": 0.002},
               "engage_collapse": {"dist": "gamma", "shape": 2.0, "scale": 0.005},
               "p_durable": {"dist": "beta", "a": 1.0, "b": 3.0},
               "war_ceasefire_mult": {"dist": "lognormal", "median": 1.5, "sigma": 0.5},
               "intercept_force": {"dist": "beta", "a": 2.0, "b": 2.0}},
}
V2 = config.parse(V2_TABLE)
# The same with truces of random strength: each truce's violations are its own.
# (They leave no durable share: the strength decides how long a truce lasts.)
STRENGTH = config.parse({**V2_TABLE, "model": {"veto": "threshold", "truces": "strength"},
                         "priors": {k: v for k, v in V2_TABLE["priors"].items() if k != "p_durable"}})
V2_OPTIONS = (
    "force_size=0,leverage=sanctions",
    "force_size=10000,deploy_rule=immediate",
    "force_size=10000,posture=contact_line,deploy_rule=immediate,support=air_support,leverage=sanctions",
    "force_size=10000,posture=contact_line",
)
RUNS = 150
INF = float("inf")


def one_option_plan(cfg, option):
    return make_plan(dataclasses.replace(cfg, grid={a: (getattr(option, a),) for a in AXES}))


def check(tr: trace.Trace, tallies, row: int) -> None:
    """The trace's events and totals equal the kernel's tallies of its run."""
    horizon = tr.horizon
    for e, t in enumerate((tr.ceasefire, tr.deployment, tr.reattack, tr.tripwire)):
        hist = tallies.hist[row, e]
        assert hist.sum() == 1 and hist[int(t) if t < horizon else horizon] == 1, (tr.run, e, t)
    sums = tallies.moments[row, :, 0]
    assert list(sums) == [tr.violations, tr.strikes, tr.truce_units, tr.collapses, tr.war_units], tr.run
    # The timeline adds up to the totals, and its pieces follow each other.
    assert len([t for t in tr.truces if t.collapsed]) == tr.collapses
    assert tr.truce_days == pytest.approx(sum(t.end - t.start for t in tr.truces), rel=1e-12, abs=1e-9)
    gaps = [(t.end, min(t.next_truce, tr.reattack, horizon)) for t in tr.truces if t.collapsed]
    assert tr.collapse_days == pytest.approx(sum(b - a for a, b in gaps), rel=1e-12, abs=1e-9)
    if tr.truces:
        assert tr.truces[0].start == tr.ceasefire
        assert all(a.next_truce == b.start for a, b in zip(tr.truces[:-1], tr.truces[1:], strict=True))
        assert tr.truces[-1].next_truce == INF
    # The cause names an event of the story at the tripwire's time.
    cause = tr.tripwire_cause
    assert (cause == "") == (tr.tripwire == INF)
    if cause:
        assert tr.deployment <= tr.tripwire < horizon
    if cause == "hit":
        assert tr.option.deploy_rule == "immediate" and tr.tripwire < tr.ceasefire
    elif cause == "reattack":
        assert tr.tripwire == tr.reattack
    elif cause == "engagement":
        assert any(a <= tr.tripwire <= b for a, b in gaps), (tr.run, tr.tripwire, gaps)


def replay(cfg, options, runs, full_grid: bool):
    """Trace every (run, option), check it against one-run blocks of the
    one-option plan (and of the full grid); return the traces."""
    full = make_plan(cfg)
    traces = []
    for text in options:
        option = trace.parse_option(text, cfg.study.baseline)
        plan = one_option_plan(cfg, option)
        for run in runs:
            tr = trace.trace_run(cfg, run, option)
            check(tr, run_block(plan, run, run + 1), 0)
            if full_grid:
                check(tr, run_block(full, run, run + 1), full.grid_rows[cfg.options.index(option)])
            traces.append(tr)
    return traces


def coverage(traces) -> set:
    """Which parts of the story the traces exercised."""
    seen = {t.tripwire_cause for t in traces} - {""}
    seen |= {"collapse"} if any(t.collapses for t in traces) else set()
    seen |= {"durable"} if any(tr.durable for t in traces for tr in t.truces) else set()
    seen |= {"reattack_in_truce"} if any(t.reattack < t.horizon and t.truces and not t.truces[-1].collapsed
                                         for t in traces) else set()
    seen |= {"reattack_after_collapse"} if any(t.reattack < t.horizon and t.truces and t.truces[-1].collapsed
                                               for t in traces) else set()
    seen |= {"no_ceasefire"} if any(t.ceasefire == np.inf for t in traces) else set()
    return seen


def test_laptop_traces_equal_the_kernel_in_one_option_plans_and_the_full_grid():
    # Common random numbers: an option's draws do not depend on the other
    # options of the plan, so both plans give the trace's numbers.
    traces = replay(LAPTOP, LAPTOP_OPTIONS, range(RUNS), full_grid=True)
    assert coverage(traces) >= {"collapse", "durable", "reattack_in_truce", "reattack_after_collapse",
                                "no_ceasefire", "reattack"}


def test_v2_traces_equal_the_kernel():
    traces = replay(V2, V2_OPTIONS, range(RUNS), full_grid=True)
    assert coverage(traces) >= {"hit", "engagement", "reattack", "collapse", "durable"}


def test_strength_traces_equal_the_kernel():
    traces = replay(STRENGTH, V2_OPTIONS[1:3], range(RUNS), full_grid=False)
    assert coverage(traces) >= {"collapse", "reattack", "engagement"}


def test_off_grid_option_and_any_run_index_replay():
    # An option outside the config's grid, and runs past study.runs: the run
    # is a pure function of (seed, run, option).
    runs = (LAPTOP.study.runs, 10**9, MAX_RUNS - 1)
    traces = replay(LAPTOP, ("force_size=10000,support=isr_c2,leverage=sanctions",), runs, full_grid=False)
    assert not any(t.in_study for t in traces)


def test_option_parsing():
    baseline = LAPTOP.study.baseline
    assert trace.parse_option("", baseline) == baseline
    option = trace.parse_option(" force_size=5000 , posture=contact_line", baseline)
    assert option == dataclasses.replace(baseline, force_size=5000, posture="contact_line")
    for bad, named in (("postur=rear", "postur"), ("posture=front", "front"), ("force_size=5k", "5k"),
                       ("force_size", "axis=level"), ("support=none,support=isr_c2", "support")):
        with pytest.raises(UserError, match=named):
            trace.parse_option(bad, baseline)


@pytest.mark.parametrize("run", [-1, MAX_RUNS, 1.5, True])
def test_bad_run(run):
    with pytest.raises(UserError, match="--run"):
        trace.trace_run(LAPTOP, run, LAPTOP.study.baseline)


def test_cli_story_and_json(capsys):
    # Run 0 of the immediate contact-line option: deployed, then a
    # ceasefire and a durable first truce ended by a re-attack that trips.
    args = ["trace", str(LAPTOP_PATH), "--run", "0", "--a",
            "force_size=5000,posture=contact_line,deploy_rule=immediate"]
    assert main(args) == 0
    story = capsys.readouterr().out
    for words in ("Timeline", "the force deploys (5,000 troops, contact line)", "first general ceasefire",
                  "durable truce 1 begins", "re-attack", "tripwire: the re-attack engaged the force",
                  "ceasefire violations", "strikes on cities", "lambda_c0", "per day"):
        assert words in story
    assert "day    92 (2027-04-03)  the force deploys" in story
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    tr = trace.trace_run(LAPTOP, 0, trace.parse_option(args[-1], LAPTOP.study.baseline))
    assert data["events"]["deployment"]["day"] == int(tr.deployment) == 92
    assert data["events"]["tripwire"]["cause"] == "reattack"
    assert data["totals"]["violations"] == tr.violations and data["totals"]["strikes"] == tr.strikes
    assert data["parameters"]["lambda_c0"]["unit"] == "per day"
    assert data["option"]["posture"] == "contact_line"


def test_cli_json_has_null_for_events_past_the_horizon(capsys):
    # Run 12 of a force deployed during the war: no ceasefire within the
    # horizon, and a strike on the force trips the wire.
    assert main(["trace", str(LAPTOP_PATH), "--run", "12", "--a",
                 "force_size=5000,posture=contact_line,deploy_rule=immediate", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["events"]["ceasefire"] == {"time": None, "day": None, "date": None}
    assert data["events"]["tripwire"]["cause"] == "hit" and data["events"]["tripwire"]["day"] == 592
    assert data["truces"] == [] and data["totals"]["violations"] == 0


@pytest.mark.parametrize("args, named", [
    (["--a", "posture=front"], "front"),
    (["--a", "postur=rear"], "postur"),
    (["--run", "-3"], "--run"),
    (["--run", "lots"], "--run"),
])
def test_cli_bad_input_is_one_line(args, named, capsys):
    argv = ["trace", str(LAPTOP_PATH), "--run", "1", *args]
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's usage errors
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("deterrence: error:") and named in err
