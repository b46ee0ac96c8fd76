"""`deterrence report RESULT --out DIR` (deterrence.report.document):
Markdown, CSV and figures from a small result; the sensitivity chart drawn
or skipped; a collapsed grid; prose whose numbers come from the result."""

import csv
import itertools
import re

import numpy as np
import pytest
from helpers import with_sensitivity

from deterrence import report
from deterrence.cli import main
from deterrence.model import AXES
from deterrence.outcomes import COUNT, EVENT, OUTCOMES, STATE, outcome
from deterrence.report.grid import NOT_NESTED

PNGS = {"reattack_incidence.png", "reattack_heatmap.png", "deployment_vs_leverage.png", "tradeoff.png"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"




def _check_files(written, out_dir, sensitivity: bool, effects: bool = False):
    names = [p.name for p in written]
    assert names[0] == "report.md" and len(names) == len(set(names))
    expected = (PNGS | {"report.md", "options.csv"} | ({"sensitivity.png"} if sensitivity else set())
                | ({"effects.png"} if effects else set()))
    assert set(names) == expected
    assert {p.name for p in out_dir.iterdir()} == expected
    for p in written:
        assert p.parent == out_dir and p.stat().st_size > 0
        if p.suffix == ".png":
            assert p.read_bytes()[:8] == PNG_MAGIC
            assert p.stat().st_size < 400_000
    md = (out_dir / "report.md").read_text()
    linked = set(re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", md))
    assert linked == {n for n in names if n.endswith(".png")}
    return md


def _read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_report_writes_every_file(small, tmp_path):
    out = tmp_path / "report"
    written = report.write_report(small, out)
    md = _check_files(written, out, sensitivity=False)
    # Summary, table, readings and limits.
    assert "2,000" in md and "seed: 11" in md and small.attrs["config_sha256"] in md
    assert "1000 days" in md and "baseline: no force" in md
    assert "## Limits" in md and "judgment" in md and "priors" in md
    assert "| force | posture |" in md
    n_options = int(np.prod([small.sizes[a] for a in AXES]))
    table_rows = [line for line in md.splitlines() if re.match(r"\| [\d,]+ \|", line)]
    assert len(table_rows) == n_options
    # The charts are skipped, with a line that says why.
    assert "sensitivity.png" not in md and "not drawn" in md and "`sensitivity`" in md
    assert "effects.png" not in md
    assert f"The chart of effects with their parameter intervals is not drawn: {NOT_NESTED}." in md
    # Without parameter intervals: ± is simulation noise, and the report says what is missing.
    assert f"Not shown: {NOT_NESTED}." in md and "±: simulation noise" in md
    assert "one per run (study.runs_per_draw = 1): no parameter intervals" in md
    # The CSV: one row per option, every axis, each year with SE.
    rows = _read_csv(out / "options.csv")
    assert len(rows) == n_options
    columns = set(rows[0])
    assert set(AXES) <= columns
    for word in ("ceasefire", "deployed", "reattack", "tripwire"):
        for y in (1, 2, 5):
            assert {f"p_{word}_{y}y", f"p_{word}_{y}y_se"} <= columns
    for y in (1, 2, 5):
        assert {f"diff_p_reattack_{y}y", f"diff_p_reattack_{y}y_se"} <= columns
    assert {"mean_strikes", "mean_strikes_se", "mean_violations", "mean_violations_se"} <= columns
    seen = {tuple(r[a] for a in AXES) for r in rows}
    assert seen == {tuple(str(v) for v in o)
                    for o in itertools.product(*(small[a].values for a in AXES))}
    # Values agree with the dataset; five years lies beyond this horizon: empty.
    for r in rows:
        o = small.sel(force_size=int(r["force_size"]), **{a: r[a] for a in AXES[1:]})
        assert float(r["p_reattack_2y"]) == pytest.approx(float(o.p_reattack.sel(years=2)))
        assert float(r["diff_p_reattack_1y_se"]) == pytest.approx(float(o.diff_p_reattack_se.sel(years=1)))
        assert float(r["mean_strikes"]) == pytest.approx(float(o.mean_strikes))
        assert r["p_reattack_5y"] == "" and r["p_tripwire_5y_se"] == ""
    base = [r for r in rows if r["force_size"] == "0" and r["support"] == "none"
            and r["leverage"] == "status_quo"]
    assert base and all(float(r["diff_p_reattack_2y"]) == 0.0 for r in base)



def test_report_reads_every_outcome_from_the_declarations(small, tmp_path):
    """The CSV has a column for every declared outcome reading, with the
    dataset's values; the report's legend words come from the declarations."""
    report.write_report(small, tmp_path)
    rows = _read_csv(tmp_path / "options.csv")
    columns = set(rows[0])
    for o in OUTCOMES:
        if o.kind == COUNT:
            readings = [f"mean_{o.name}"] + ([f"diff_mean_{o.name}"] if o.paired else [])
        else:
            names = [f"p_{o.name}", f"diff_p_{o.name}"] if o.kind in (EVENT, STATE) else [o.name]
            readings = [f"{name}_{y}y" for name in names for y in (1, 2, 5)]
        assert {c for r in readings for c in (r, f"{r}_se")} <= columns, o.name
    for r in rows:
        o = small.sel(force_size=int(r["force_size"]), **{a: r[a] for a in AXES[1:]}).sel(years=2)
        for column, name in (("p_war_2y", "p_war"), ("p_reattack_after_ceasefire_2y", "p_reattack_after_ceasefire"),
                             ("p_reattack_after_ceasefire_2y_se", "p_reattack_after_ceasefire_se")):
            assert float(r[column]) == pytest.approx(float(o[name])), column
    md = (tmp_path / "report.md").read_text()
    assert f"tripwire: {outcome('tripwire').meaning}" in md
    assert "mean totals per run over the 1000-day horizon, not daily means" in md
    assert "posture and deployment rule cannot matter" in md


def test_sensitivity_chart_drawn_when_present(small, tmp_path):
    out = tmp_path / "report"
    ds = with_sensitivity(small)
    written = report.write_report(ds, out)
    md = _check_files(written, out, sensitivity=True)
    assert "![" in md and "(sensitivity.png)" in md and "The sensitivity chart is not drawn" not in md
    assert "`delta_force` (deterrent effect of the force" in md and "; 0.60)" in md


def test_collapsed_grid(collapsed, tmp_path):
    out = tmp_path / "report"
    written = report.write_report(with_sensitivity(collapsed), out)
    md = _check_files(written, out, sensitivity=True)
    assert "within 1 year(s)" in md          # two years lie beyond a 500-day horizon
    rows = _read_csv(out / "options.csv")
    assert len(rows) == 2 and [r["force_size"] for r in rows] == ["0", "25000"]
    assert all(r["p_reattack_2y"] == "" for r in rows)


def test_cli_report_out(small, tmp_path, capsys):
    result = tmp_path / "small.nc"
    small.to_netcdf(result, engine="h5netcdf")
    out = tmp_path / "figures"
    assert main(["report", str(result), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "re-attack" in captured.out and "tripwire" in captured.out   # the table, as before
    assert "report.md" in captured.err
    assert {p.name for p in out.iterdir()} == PNGS | {"report.md", "options.csv"}


def test_pairing_gain_is_read_from_the_result(small, tmp_path):
    report.write_report(small, tmp_path)
    md = (tmp_path / "report.md").read_text()
    y = small.sel(years=2)
    base = y.sel(force_size=0, posture="rear", deploy_rule="after_ceasefire", support="none",
                 leverage="status_quo")
    unpaired = np.sqrt(y.p_reattack_se ** 2 + float(base.p_reattack_se) ** 2)
    ratio = (y.diff_p_reattack_se / unpaired).where(y.diff_p_reattack_se > 0)
    median = float(np.nanmedian(ratio.values))
    assert 0 < median < 1
    assert f"their simulation noise (Monte Carlo standard error) is a median {100 * median:.0f}% of that" in md
    # The prose states no model conclusion of its own: these sentences were hard-coded once.
    for claim in ("much more precise", "does not change the re-attack risk", "this is Moscow's veto",
                  "because the force stands"):
        assert claim not in md


OPTION = dict(force_size=5000, posture="rear", deploy_rule="after_ceasefire", support="none",
              leverage="status_quo")


def test_nested_report_gives_effects_with_intervals(nested, tmp_path):
    """Every option's effect with its 90% parameter interval, its simulation
    noise named as such, p_better and the deciding assumptions; the prose
    reads its numbers from the result; no ± but simulation noise."""
    ds = with_sensitivity(nested)
    out = tmp_path / "report"
    md = _check_files(report.write_report(ds, out), out, sensitivity=True, effects=True)
    assert "- parameter draws: 200, each with 10 runs of its own (study.runs_per_draw)" in md
    assert "**90% parameter interval**" in md and "Brackets: 90% parameter interval." in md
    assert "## Effect on the mean days at war over the horizon, against the baseline, and the assumptions" in md
    assert "## Effect on the P(re-attack within 2 years), against the baseline, and the assumptions" in md
    o = ds.sel(**OPTION)
    low, high = (float(o.diff_mean_war_days_q.sel(quantile=q)) for q in (0.05, 0.95))
    assert (f"For 5,000 troops, rear area, after a ceasefire, no US support, status-quo leverage, the change is "
            f"{float(o.diff_mean_war_days):+.1f} days (90% parameter interval {low:.1f} to {high:.1f}; simulation "
            f"noise ±{float(o.diff_mean_war_days_se):.2f}); the option has fewer days at war under "
            f"{100 * float(o.p_better):.0f}% of the parameter draws, and the assumptions that decide it are "
            f"`delta_force` (deterrent effect of the force") in md
    force = ds.sel(force_size=5000)
    sure, wrong = int((force.p_better >= 0.95).sum()), int((force.p_better <= 0.05).sum())
    below = int((force.diff_mean_war_days_q.sel(quantile=0.95) < 0).sum())
    assert (f"Of the 8 options with a force, {sure} are better on this measure under at least 95% of the parameter "
            f"draws and {wrong} under at most 5%; {below} have a 90% parameter interval wholly below zero") in md
    assert "The assumption that decides most often (the largest index) is `delta_force` (for 8 of them)." in md
    assert "| 90% parameter interval | simulation noise (MC SE) | p_better on days at war |" in md
    assert "Assumptions named: " in md and "`delta_force`: deterrent effect of the force" in md
    # A ± is only ever simulation noise, named as such.
    assert md.count("±") == md.count("simulation noise ±") > 0
    assert "Parameter uncertainty is inside every probability" not in md


def test_limits_count_the_fitted_priors(nested, tmp_path):
    import json

    priors = json.loads(nested.attrs["priors"])
    fitted = [name for name, p in priors.items() if p.get("fit") == "record"]
    assert fitted
    report.write_report(nested, tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert f"of {len(priors)} priors, {len(fitted)} are fitted to the 2014–2022 record" in md
