"""deterrence.report.tables: the terminal and Markdown tables; and the
promise that reading a result costs no numba and no matplotlib."""

import subprocess
import sys
from pathlib import Path

import numpy as np

from deterrence.model import AXES
from deterrence.outcomes import outcome
from deterrence.report import markdown_table, table
from deterrence.report.tables import ANY, HEADLINE, heading

ROOT = Path(__file__).parent.parent



def _rows(text: str) -> list[str]:
    """The option rows of the terminal table: between the rule under the heading and the footnote."""
    lines = text.splitlines()
    start = next(k for k, line in enumerate(lines) if set(line) == {"-"}) + 1
    return [line for line in lines[start:] if not line.startswith(ANY)]


def test_terminal_table_one_line_per_option(small):
    """One line per option, but the options without a force, which differ
    only in posture and deployment rule (and so not at all), are one line."""
    n_options = int(np.prod([small.sizes[a] for a in AXES]))
    repeats = small.sizes["posture"] * small.sizes["deploy_rule"]
    no_force = n_options // small.sizes["force_size"]
    for year, said in ((None, "within 2 year(s)"), (1, "within 1 year(s)")):
        text = table(small, year=year)
        assert said in text.splitlines()[1]
        assert len(_rows(text)) == n_options - no_force + no_force // repeats
    row = _rows(table(small))[0]   # no force, the baseline: no difference to itself
    base = small.sel(years=2).isel({a: 0 for a in AXES})
    assert f"{100 * float(base.p_reattack):5.1f}±{100 * float(base.p_reattack_se):.2f}" in row
    assert "0.0±0.00" in row
    assert row.split()[1:3] == [ANY, ANY]


def test_terminal_table_states_units_and_words(small):
    """Totals per run over the horizon, not daily means; the first use of
    `tripwire` explained; why the no-force rows are shown once."""
    lines = table(small).splitlines()
    head = "\n".join(lines[:4])
    assert "mean totals per run over the 1000-day horizon (not daily means)" in head
    assert f"tripwire: {outcome('tripwire').meaning}" in head
    assert "tripwire: foreign troops engaged in combat" in head
    first = next(line for line in lines if "tripwire" in line)
    assert "tripwire: foreign troops engaged in combat" in first
    for reading, name in HEADLINE:
        assert f"{reading}_{name}" in outcome(name).variables()     # a declared reading
        assert heading(reading, outcome(name)) in lines[4]
    assert lines[-1].startswith(f"{ANY}: without a force, posture and deployment rule cannot matter")
    rows = _rows("\n".join(lines))
    no_force = [r.split()[3:] for r in rows if r.split()[0] == "0"]
    assert len(no_force) == len({tuple(r) for r in no_force})     # no row shown twice


def test_no_force_rows_that_differ_are_all_shown(small):
    """Rows are merged only where they are identical: a no-force option
    that differed would keep its own line, with its real levels."""
    changed = small.copy(deep=True)
    changed["mean_strikes"].loc[dict(force_size=0, deploy_rule="immediate", support="none",
                                     leverage="status_quo")] += 1000
    rows = _rows(table(changed))
    assert len(rows) == len(_rows(table(small))) + 1
    assert sum(r.split()[:3] == ["0", "rear", "now"] for r in rows) == 1
    # Nothing merged at all: no footnote.
    one = small.sel(force_size=[5000])
    assert not table(one).splitlines()[-1].startswith(ANY)
    assert len(_rows(table(one))) == int(np.prod([one.sizes[a] for a in AXES]))


def test_markdown_table_marks_years_beyond_the_horizon(small):
    n_options = int(np.prod([small.sizes[a] for a in AXES]))
    rows = [line for line in markdown_table(small, 2).splitlines()[2:]]
    assert len(rows) == n_options and all(r.count("|") == 13 for r in rows)
    beyond = markdown_table(small, 5).splitlines()[2:]    # five years > 1000 days
    assert all(r.split("|")[6].strip() == "–" for r in beyond)
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
