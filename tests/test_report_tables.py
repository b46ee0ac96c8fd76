"""deterrence.report.tables: the terminal and Markdown tables; and the
promise that reading a result costs no numba and no matplotlib."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from report_cases import SMALL, run

from deterrence.model import AXES
from deterrence.report import markdown_table, table

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return run(tmp_path_factory, "small", SMALL)


def test_terminal_table_one_line_per_option(small):
    n_options = int(np.prod([small.sizes[a] for a in AXES]))
    for year, said in ((None, "within 2 year(s)"), (1, "within 1 year(s)")):
        lines = table(small, year=year).splitlines()
        assert said in lines[1] and len(lines) == 4 + n_options
    row = table(small).splitlines()[4]   # no force, the baseline: no difference to itself
    base = small.sel(years=2).isel({a: 0 for a in AXES})
    assert f"{100 * float(base.p_reattack):5.1f}±{100 * float(base.p_reattack_se):.2f}" in row
    assert "0.0±0.00" in row


def test_markdown_table_marks_years_beyond_the_horizon(small):
    n_options = int(np.prod([small.sizes[a] for a in AXES]))
    rows = [line for line in markdown_table(small, 2).splitlines()[2:]]
    assert len(rows) == n_options and all(r.count("|") == 13 for r in rows)
    beyond = markdown_table(small, 5).splitlines()[2:]    # five years > 1000 days
    assert all(r.split("|")[6].strip() == "–" for r in beyond)


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
