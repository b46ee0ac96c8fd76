"""deterrence.report.tables: the terminal and Markdown tables; and the
promise that reading a result costs no numba and no matplotlib."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
from helpers import with_sensitivity

from deterrence.model import AXES
from deterrence.outcomes import outcome
from deterrence.report import markdown_table, table
from deterrence.report.grid import NOT_NESTED, short_pct
from deterrence.report.tables import ANY, HEADLINE, heading, markdown_effects, write_csv

ROOT = Path(__file__).parent.parent



def _rows(text: str, table: int = 0) -> list[str]:
    """The option rows of a terminal table (0: the headline table, 1: the
    effects table): between the rule under its heading and its footnote."""
    lines = text.splitlines()
    start = [k for k, line in enumerate(lines) if line and set(line) == {"-"}][table] + 1
    # The rows end at a blank line or a footnote (wrapped, to fit the width).
    stop = next((k for k in range(start, len(lines))
                 if not lines[k] or lines[k].startswith((f"{ANY}:", "not shown"))), len(lines))
    return lines[start:stop]


def test_terminal_table_one_line_per_option(small):
    """One line per option, but the options without a force, which differ
    only in posture and deployment rule (and so not at all), are one line."""
    n_options = int(np.prod([small.sizes[a] for a in AXES]))
    repeats = small.sizes["posture"] * small.sizes["deploy_rule"]
    no_force = n_options // small.sizes["force_size"]
    for year, said in ((None, "within 2 year(s)"), (1, "within 1 year(s)")):
        text = table(small, year=year, wide=True)
        assert said in text.splitlines()[1]
        assert len(_rows(text)) == n_options - no_force + no_force // repeats
    row = _rows(table(small, wide=True))[0]   # no force, the baseline: no difference to itself
    base = small.sel(years=2).isel({a: 0 for a in AXES})
    assert f"{100 * float(base.p_reattack):5.1f}±{100 * float(base.p_reattack_se):.2f}" in row
    assert "0.0±0.00" in row
    assert row.split()[1:3] == [ANY, ANY]
    # Without parameter intervals, the ± is named for what it is, and the table says what is missing.
    text = table(small, wide=True)
    assert "± simulation noise (one Monte Carlo standard error; not the uncertainty of the answer" in text
    assert text.count("need study.runs_per_draw > 1") == 3      # the headline table and both effects tables
    assert "Effect on the mean days at war over the horizon, against the baseline: not shown" in text
    assert "Effect on the P(re-attack within 2 years), against the baseline: not shown" in text


def test_terminal_table_states_units_and_words(small):
    """Totals per run over the horizon, not daily means; the first use of
    `tripwire` explained; why the no-force rows are shown once."""
    lines = table(small, wide=True).splitlines()
    head = "\n".join(lines[:5])
    assert "mean totals per run over the 1000-day horizon (not daily means)" in head
    assert f"tripwire: {outcome('tripwire').meaning}" in head
    assert "tripwire: foreign troops engaged in combat" in head
    first = next(line for line in lines if "tripwire" in line)
    assert "tripwire: foreign troops engaged in combat" in first
    header = lines[_rows_start("\n".join(lines)) - 2]
    for reading, name in HEADLINE:
        assert (f"{reading}_{name}" if reading else name) in outcome(name).variables()     # a declared reading
        assert heading(reading, outcome(name)) in header
    assert any(line.startswith(f"{ANY}: without a force, posture and deployment rule cannot matter")
               for line in lines)
    rows = _rows("\n".join(lines))
    no_force = [r.split()[3:] for r in rows if r.split()[0] == "0"]
    assert len(no_force) == len({tuple(r) for r in no_force})     # no row shown twice


def test_no_force_rows_that_differ_are_all_shown(small):
    """Rows are merged only where they are identical: a no-force option
    that differed would keep its own line, with its real levels."""
    changed = small.copy(deep=True)
    changed["mean_strikes"].loc[dict(force_size=0, deploy_rule="immediate", support="none",
                                     leverage="status_quo")] += 1000
    rows = _rows(table(changed, wide=True))
    assert len(rows) == len(_rows(table(small, wide=True))) + 1
    assert sum(r.split()[:3] == ["0", "rear", "now"] for r in rows) == 1
    # Nothing merged at all: no footnote.
    one = small.sel(force_size=[5000])
    assert not any(line.startswith(ANY) for line in table(one, wide=True).splitlines())
    assert len(_rows(table(one, wide=True))) == int(np.prod([one.sizes[a] for a in AXES]))


def test_markdown_table_marks_years_beyond_the_horizon(small):
    n_options = int(np.prod([small.sizes[a] for a in AXES]))
    rows = [line for line in markdown_table(small, 2).splitlines()[2:]]
    assert len(rows) == n_options and all(r.count("|") == 6 + len(HEADLINE) for r in rows)
    beyond = markdown_table(small, 5).splitlines()[2:]    # five years > 1000 days
    ceasefire = 6 + HEADLINE.index(("p", "ceasefire"))
    assert all(r.split("|")[ceasefire].strip() == "–" for r in beyond)
    head = markdown_table(small, 2).splitlines()[0]
    for reading, name in HEADLINE:
        assert heading(reading, outcome(name)) in head


def test_reading_a_result_imports_no_numba(small, tmp_path):
    # A fresh interpreter: this one has numba loaded by the run that made `small`.
    result = tmp_path / "small.nc"
    small.to_netcdf(result, engine="h5netcdf")
    code = f"""
import sys
import xarray as xr
from deterrence import report
ds = xr.open_dataset({str(result)!r}, engine="h5netcdf")
report.table(ds)
assert "numba" not in sys.modules, "table"
assert "matplotlib" not in sys.modules, "table"
report.write_report(ds, {str(tmp_path / "report")!r})
assert "numba" not in sys.modules, "write_report"
assert "matplotlib.pyplot" not in sys.modules, "write_report"
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "report" / "report.md").is_file()


# The option the issue asks about: 5,000 troops in the rear after a ceasefire, nothing else.
OPTION = dict(force_size=5000, posture="rear", deploy_rule="after_ceasefire", support="none",
              leverage="status_quo")


def _row_of(rows: list[str], words: list[str]) -> str:
    """The row whose first words are ``words``, its spaces collapsed."""
    return next(" ".join(r.split()) for r in rows if r.split()[:len(words)] == words)


def test_nested_table_gives_parameter_intervals_not_noise(nested):
    """With the nested design every probability comes with its 90% parameter
    interval, and no ± (simulation noise) stands beside it."""
    text = table(nested, wide=True)
    head = text.splitlines()[1]
    assert "90% parameter interval" in head and "200 draws" in head and "uncertainty of the answer" in head
    rows = _rows(text)
    assert rows and not any("±" in r for r in rows)
    row = _row_of(rows, ["5000", "rear", "after", "none", "status"])
    o = nested.sel(years=2, **OPTION)
    for var in ("p_ceasefire", "p_deployed", "p_reattack", "diff_p_reattack", "p_tripwire"):
        low, high = (float(o[f"{var}_q"].sel(quantile=q)) for q in (0.05, 0.95))
        assert f"{100 * float(o[var]):.1f} [{short_pct(low)}, {short_pct(high)}]" in row, var
    assert low < float(o.p_tripwire) < high


def test_effects_table_reads_every_column_from_the_result(nested):
    """Per option: the change in days at war (the headline), its 90%
    parameter interval, its simulation noise (labelled as such), p_better on
    days at war and the deciding assumptions; then the same on the 2-year
    re-attack risk, read beside it."""
    ds = with_sensitivity(nested)
    text = table(ds, wide=True)
    assert "simulation noise only, not the uncertainty of the answer" in text
    assert "first-order index" in text and "the option has fewer days at war" in text
    rows = _rows(text, 1)
    plain = table(nested, wide=True)    # no indices: identical no-force options merge as in the headline table
    assert len(_rows(plain, 1)) == len(_rows(plain)) < len(rows) <= int(np.prod([ds.sizes[a] for a in AXES]))
    o = ds.sel(**OPTION)
    low, high = (float(o.diff_mean_war_days_q.sel(quantile=q)) for q in (0.05, 0.95))
    s = o.sensitivity.sel(outcome="diff_war_days").to_series().sort_values(ascending=False)
    expected = (f"{float(o.diff_mean_war_days):+.0f} [{low:+.0f}, {high:+.0f}] "
                f"{float(o.diff_mean_war_days_se):.1f} {100 * float(o.p_better):.0f}% "
                f"delta_force 0.60, {s.index[1]} {s.iloc[1]:.2f}, {s.index[2]} {s.iloc[2]:.2f}")
    assert _row_of(rows, ["5000", "rear", "after", "none", "status"]).endswith(expected)
    # The baseline is better under no draw and worse under none: no p_better; no indices, no assumption.
    assert _row_of(_rows(plain, 1), ["0", ANY, ANY, "none", "status"]).endswith("+0 [+0, +0] 0.0 – –")
    # Beside it, the re-attack risk, with its own p_better.
    y = o.sel(years=2)
    low, high = (float(y.diff_p_reattack_q.sel(quantile=q)) for q in (0.05, 0.95))
    row = _row_of(_rows(text, 2), ["5000", "rear", "after", "none", "status"])
    assert row.startswith("5000 rear after none status quo " + f"{100 * float(y.diff_p_reattack):+.1f} "
                          f"[{100 * low:+.1f}, {100 * high:+.1f}] {100 * float(y.diff_p_reattack_se):.2f} "
                          f"{100 * float(y.p_better_reattack):.0f}%")


def test_markdown_effects(nested, small):
    md = markdown_effects(with_sensitivity(nested)).splitlines()
    assert "| 90% parameter interval | simulation noise (MC SE) | p_better on days at war |" in md[0]
    o = nested.sel(**OPTION)
    row = next(r for r in md if r.startswith("| 5,000 | rear | after | none | status quo |"))
    assert (f"| {float(o.diff_mean_war_days):+.0f} | " in row
            and f"| {float(o.diff_mean_war_days_se):.1f} | {100 * float(o.p_better):.0f}% | `delta_force` 0.60"
            in row)
    assert markdown_effects(small) == f"Not shown: {NOT_NESTED}."


def test_csv_holds_the_parameter_intervals(nested, tmp_path):
    ds = with_sensitivity(nested)
    with open(write_csv(ds, tmp_path / "options.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        o = ds.sel(force_size=int(row["force_size"]), **{a: row[a] for a in AXES[1:]})
        for var, q in (("p_reattack", 0.05), ("diff_p_reattack", 0.95), ("p_tripwire", 0.5)):
            column = f"{var}_1y_q{round(100 * q):02d}"
            assert float(row[column]) == float(o[f"{var}_q"].sel(years=1, quantile=q))
            assert float(row[f"{column}_se"]) == float(o[f"{var}_q_se"].sel(years=1, quantile=q))
        assert float(row["p_better"]) == float(o.p_better)
        assert row["deciding_assumptions"].startswith("delta_force 0.6000")
    with open(write_csv(nested.drop_vars("p_better"), tmp_path / "plain.csv"), newline="") as handle:
        assert "p_better" not in next(csv.reader(handle))


def test_terminal_tables_fit_100_columns_unless_wide(nested, small):
    """By default every line fits `WIDTH` columns: the columns of `PRIORITY`
    first, the deciding assumptions clipped with their index kept, and a
    line naming what is left out; --wide shows everything."""
    from deterrence.report.tables import PRIORITY, WIDTH

    for ds in (with_sensitivity(nested), small):
        text = table(ds)
        assert max(len(line) for line in text.splitlines()) <= WIDTH
        assert "not shown to fit 100 columns (report --wide shows them): " in text
        assert len(_rows(text)) == len(_rows(table(ds, wide=True)))
        head = text.splitlines()[_rows_start(text) - 2]
        assert all(heading(r, outcome(n)) in head for r, n in PRIORITY[:3])
    wide = table(with_sensitivity(nested), wide=True)
    assert max(len(line) for line in wide.splitlines()) > WIDTH
    row = _row_of(_rows(table(with_sensitivity(nested)), 1), ["5000", "rear", "after", "none", "status"])
    assert "% delta_forc" in row and row.endswith("0.60")    # the leading assumption clipped, its index kept


def _rows_start(text: str) -> int:
    lines = text.splitlines()
    return next(k for k, line in enumerate(lines) if line and set(line) == {"-"}) + 1


def test_too_few_parameter_draws_show_no_interval(nested):
    """Under epistemic.MIN_DRAWS draws the tables say the intervals are not
    yet estimable and show none, rather than a collapsed one."""
    import json

    from deterrence.epistemic import MIN_DRAWS
    from deterrence.report import to_json

    assert int(nested.attrs["parameter_draws"]) == MIN_DRAWS
    few = nested.copy()
    few.attrs = {**nested.attrs, "parameter_draws": MIN_DRAWS - 1}
    shown, hidden = table(nested, wide=True), table(few, wide=True)
    assert "90% parameter interval" in shown.splitlines()[1]
    assert f"not yet estimable: {MIN_DRAWS - 1} parameter draws" in hidden
    rows = [line for line in hidden.splitlines() if line.lstrip().startswith(("0 ", "25000 "))]
    assert rows and not any("[" in line for line in rows) and all("±" in line for line in rows)
    assert "Effect on the mean days at war over the horizon, against the baseline: not shown" in hidden
    found = json.loads(to_json(few))
    assert found["intervals"] is False and "not yet estimable" in found["why_no_intervals"]
    assert "low" not in found["options"][0]["p_reattack"] and "missing" in found["effects"]["war_days"]
    assert json.loads(to_json(nested))["options"][0]["p_reattack"]["low"] is not None
