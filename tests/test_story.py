"""The comparison section (deterrence.methods.story): its structure,
numbers read from the tools that own them, and traced histories that are
truly of each kind, checked against the kernel's per-draw replay."""

import dataclasses

import numpy as np
import pytest
from helpers import DATA

from deterrence import config, decide, explain
from deterrence.cli import main
from deterrence.methods import story as comparison
from deterrence.plan import year_days
from deterrence.replay import replay

CFG = config.load(DATA / "small.toml")          # runs_per_draw = 1: draw r is run r
A_TEXT = "force_size=5000,posture=rear,deploy_rule=after_ceasefire,support=none,leverage=status_quo"
B_TEXT = "force_size=0,leverage=assets_and_aid"
SIZES = dict(draws=80, runs_per_draw=20, resamples=3, workers=1, show_progress=False)
TWO_YEARS = year_days()[1]


@pytest.fixture(scope="module")
def found():
    return comparison.compare_options(CFG, A_TEXT, B_TEXT, **SIZES)


@pytest.fixture(scope="module")
def written(found, tmp_path_factory):
    out = tmp_path_factory.mktemp("comparison")
    return out, *comparison.write(found, out)


def test_the_section_has_its_parts(written):
    out, text, paths = written
    heads = [line for line in text.splitlines() if line.startswith("#")]
    assert heads[0].startswith("## Why and when: 5,000 troops")
    assert heads[1:] == ["### Where each does better", "### What is worth learning", "### One history of each kind",
                         "#### A re-attacked within 2 years, B not", "#### B re-attacked within 2 years, A not",
                         "### The assumptions behind these numbers"]
    assert [p.name for p in paths] == list(comparison.FIGURES.values())
    for path in paths:
        assert path.stat().st_size > 10_000 and f"]({path.name})" in text
    assert text.count("```text") == 2 and text.count("\nA: Run ") == 2 and text.count("\nB: Run ") == 2


def test_numbers_come_from_explain_and_decide(found, written):
    text = written[1]
    # The same draws as the tools on their own: the regions are explain's, the values decide's.
    alone = explain.explain(CFG, found.a, found.b, "war_days", **SIZES)
    assert np.array_equal(alone.effect, found.a_worse.effect)
    assert np.array_equal(found.b_worse.effect, -found.a_worse.effect)
    d = found.decision
    assert d.options == (found.a, found.b)
    again = decide.decide(CFG, [found.a, found.b], SIZES["draws"], SIZES["runs_per_draw"], workers=1,
                          show_progress=False)
    assert again.evpi == d.evpi and [i.parameter for i in again.information] == [i.parameter for i in d.information]
    assert f"EVPI {d.evpi:.4f} ± {d.evpi_se:.4f}" in text
    # The terms replay the decision's runs: they add up to its difference in expected loss.
    assert sum(m for m, _ in found.terms.values()) == pytest.approx(d.expected_loss[0] - d.expected_loss[1], abs=1e-12)
    assert set(found.terms) == {k for k, w in CFG.decision.items() if w}
    top = d.information[0]
    assert f"| `{top.parameter}` | {top.evppi:.4f} ± {top.evppi_se:.4f} |" in text
    for ex in (found.a_worse, found.b_worse):
        if ex.boxes:
            box = ex.boxes[0]
            assert f"| {box.draws:,} ({box.mass:.0%}) | {box.density:.2f} | {box.coverage:.2f} |" in text
            assert all(f"`{b.parameter}`" in text for b in box.bounds)
    assert f"under {found.a_worse.shares['better']:.1%} of the draws" in text


def test_the_histories_are_of_each_kind(found):
    """Each traced run is the first where one option is re-attacked within 2
    years and the other is not: by the trace, and by the kernel's per-draw
    replay (one run per draw here), an independent path through the kernel."""
    runs = max(h.run for h in found.histories) + 1
    tallies = replay(CFG, [found.a, found.b], runs, runs_per_draw=1, workers=1, show_progress=False)
    hit = tallies.probability("reattack", 2).astype(bool)       # (runs, [A, B])
    for h, only in zip(found.histories, (hit[:, 0] & ~hit[:, 1], hit[:, 1] & ~hit[:, 0]), strict=True):
        assert h.run == int(np.argmax(only)) and only.any()
        assert (h.a.option, h.b.option) == (found.a, found.b)
        assert h.a.run == h.b.run == h.run and h.a.parameters == h.b.parameters
        assert (h.a.reattack < TWO_YEARS) == (h.worse == "A") and (h.b.reattack < TWO_YEARS) == (h.worse == "B")


def test_no_history_within_the_limit(found):
    first = found.histories[0].run
    runs = comparison.first_runs(CFG, found.a, found.b, limit=first)
    assert runs["A"] is None and runs["scanned"] == first
    cut = dataclasses.replace(found, histories=(comparison.History("A", None, None, None, first),
                                                found.histories[1]))
    assert f"None among the study's first {first:,} runs." in comparison.section(cut)


def test_report_explain_on_the_command_line(tmp_path, capsys):
    result = tmp_path / "small.nc"
    assert main(["run", str(DATA / "small.toml"), "--out", str(result)]) == 0
    out = tmp_path / "rep"
    assert main(["report", str(result), "--out", str(out), "--a", A_TEXT, "--b", B_TEXT, "--draws", "80",
                 "--runs-per-draw", "20", "--workers", "1"]) == 0
    report = (out / "report.md").read_text()
    assert report.index("## Why and when:") < report.index("## Limits")
    assert all((out / name).is_file() for name in comparison.FIGURES.values())
    capsys.readouterr()
    assert main(["report", str(result), "--a", A_TEXT]) == 2
    assert "--a needs --out" in capsys.readouterr().err
    assert main(["report", str(result), "--out", str(out), "--a", B_TEXT, "--b", B_TEXT]) == 2
    assert "same option" in capsys.readouterr().err


def test_module_command_on_a_config(tmp_path, capsys):
    assert comparison.main([str(DATA / "small.toml"), "--a", A_TEXT, "--b", B_TEXT, "--out", str(tmp_path),
                            "--draws", "60", "--runs-per-draw", "10", "--workers", "1"]) == 0
    assert (tmp_path / "comparison.md").read_text().startswith("## Why and when:")
    assert comparison.main([str(DATA / "small.toml"), "--a", "posture=sideways", "--out", str(tmp_path)]) == 2
    assert "posture" in capsys.readouterr().err
