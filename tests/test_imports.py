"""Cheap imports: importing the package, validating a config, planning a
study, opening a result, `deterrence report` and `deterrence priors` load no
numba (and so compile nothing). Each case runs in a fresh interpreter and
then looks in ``sys.modules``."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import make_config

from deterrence import reference, results
from deterrence.plan import make_plan

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "import": "import deterrence",
    "config, fit, priors and plan": (
        "import deterrence.config, deterrence.fit, deterrence.priors, deterrence.families, deterrence.plan\n"
        "cfg = deterrence.config.load('configs/laptop.toml')\n"
        "deterrence.plan.make_plan(cfg)"),
    "open a result": "import deterrence.results\ndeterrence.results.open_result(RESULT)",
    "report": "from deterrence import cli\nassert cli.main(['report', RESULT]) == 0",
    "priors": "from deterrence import cli\nassert cli.main(['priors']) == 0",
}
CHECK = "\nimport sys\nloaded = sorted(m for m in sys.modules if m.split('.')[0] == 'numba')\nprint('NUMBA', loaded)\n"


@pytest.fixture(scope="module")
def result_file(tmp_path_factory):
    """A small result from the NumPy reference (which needs no numba either)."""
    cfg = make_config(runs=200)
    plan = make_plan(cfg)
    path = tmp_path_factory.mktemp("imports") / "small.nc"
    results.write(results.build(cfg, plan, reference.simulate(plan, 200, seed=1)), path)
    return path


@pytest.mark.parametrize("case", CASES)
def test_no_numba(case, result_file):
    code = f"RESULT = {str(result_file)!r}\n" + CASES[case] + CHECK
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "NUMBA []" in proc.stdout, proc.stdout[-2000:]


def test_help_loads_no_scipy():
    """``deterrence --help`` (and each command's help) answers without scipy."""
    code = ("import sys\nfrom deterrence import cli\nfor argv in (['--help'], ['sensitivity', '--help']):\n"
            "    try:\n        cli.main(argv)\n    except SystemExit:\n        pass\n"
            "print('SCIPY', sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "SCIPY []" in proc.stdout, proc.stdout[-2000:]
