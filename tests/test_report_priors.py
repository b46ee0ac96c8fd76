"""deterrence.report.priors (`deterrence priors`): Kaplan-Meier by hand, and
the figures drawn without pyplot (the CLI's files: tests/test_record.py)."""

import subprocess
import sys
from pathlib import Path

import numpy as np

from deterrence.report.priors import kaplan_meier, km_median

ROOT = Path(__file__).parent.parent


def test_kaplan_meier_by_hand():
    # At risk 5, 4, 2 at the failures on days 1, 2, 3; a censored truce on day 2 and day 4.
    steps, surv = kaplan_meier([1, 2, 2, 3, 4], [True, True, False, True, False])
    np.testing.assert_array_equal(steps, [0, 1, 2, 3])
    np.testing.assert_allclose(surv, [1, 4 / 5, 4 / 5 * 3 / 4, 4 / 5 * 3 / 4 * 1 / 2])
    assert km_median([1, 2, 2, 3, 4], [True, True, False, True, False]) == 3
    assert np.isnan(km_median([1, 5, 6], [True, False, False]))   # never down to a half


def test_priors_figures_without_pyplot(tmp_path):
    code = f"""
import sys
from deterrence.cli import main
assert main(["priors", "--out", {str(tmp_path)!r}]) == 0
assert "matplotlib.pyplot" not in sys.modules
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert {p.name for p in tmp_path.iterdir()} == {"priors.csv", "truce_survival.png", "violations_nb.png",
                                                    "truce_ppc.png"}


def test_docs_list_every_prior_with_its_source():
    """docs/model.md's table of priors is the one the code makes, and it
    names every parameter with a source."""
    import re

    from deterrence.model import PARAMETER_NAMES
    from deterrence.report.priors import default_config, markdown

    docs = (Path(__file__).parent.parent / "docs" / "model.md").read_text()
    table = re.search(r"<!-- priors -->\n(.*?)<!-- /priors -->", docs, re.S).group(1)
    assert table == markdown(default_config())
    rows = table.strip().splitlines()[2:]
    assert [re.match(r"\| `([^`]+)`", r).group(1) for r in rows] == list(PARAMETER_NAMES)
    assert all(r.rstrip(" |").rsplit("|", 1)[1].strip() for r in rows)


def test_a_correlation_that_rounds_to_zero_prints_without_a_minus():
    """Provenance and the prior report print a rounded zero as +0.00 (its sign differs between machines)."""
    from deterrence import fit

    assert fit.signed(-0.004) == fit.signed(0.0) == fit.signed(-0.0) == "+0.00"
    assert fit.signed(-0.006) == "-0.01" and fit.signed(0.25) == "+0.25"
