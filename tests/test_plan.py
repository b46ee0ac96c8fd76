"""The plan: the option layout and the level table the kernels read.

Tolerances: a mean count against its closed form passes within 4.5 exact
Poisson SEs; a proportion within 4.5 exact binomial SEs. Seeds are fixed.
"""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import BASELINE_GRID, fixed, make_config, run_kernel

from deterrence import plan as plan_mod
from deterrence import results
from deterrence.model import LEVEL_PARAMETERS, LEVELS, PARAMETER_NAMES, REFERENCE_LEVELS, level_name

ROOT = Path(__file__).resolve().parents[1]


def test_every_level_but_the_reference_has_its_parameters():
    table = plan_mod.level_parameters()
    for row, lp in enumerate(LEVEL_PARAMETERS):
        levels = LEVELS[lp.axis]
        assert REFERENCE_LEVELS[lp.axis] in levels
        for column, level in enumerate(levels):
            if level == REFERENCE_LEVELS[lp.axis]:
                assert table[row, column] == -1
            else:
                assert PARAMETER_NAMES[table[row, column]] == level_name(lp.stem, level)
        assert (table[row, len(levels):] == -1).all()


def test_option_rows_by_column_name():
    grid = {"force_size": [0, 5000], "posture": ["rear", "contact_line"], "deploy_rule": ["immediate"],
            "support": ["none", "air_defense"], "leverage": ["sanctions", "status_quo"]}
    cfg = make_config(grid, runs=10)
    plan = plan_mod.make_plan(cfg)
    assert plan.options.shape == (len(cfg.options) + 1, len(plan_mod.OPTION_COLUMNS))
    column = {name: plan.options[:, i] for i, name in enumerate(plan_mod.OPTION_COLUMNS)}
    for option, row in zip(cfg.options, plan.grid_rows, strict=True):
        assert plan.force_levels[column["force"][row]] == option.force_size
        assert column["contact"][row] == (option.posture == "contact_line")
        assert column["immediate"][row] == (option.deploy_rule == "immediate")
        assert LEVELS["support"][column["support"][row]] == option.support
        assert LEVELS["leverage"][column["leverage"][row]] == option.leverage
        assert column["same_history"][row] <= row and column["same_strikes"][row] <= row


def test_kernel_reads_levels_through_the_plan():
    """Point air_support's intercept at air_defense's parameter (0): its
    strikes then equal those without support exactly (same stream, same mean)."""
    grid = dict(BASELINE_GRID, support=["none", "air_support"])
    cfg = make_config(grid, fixed(**{"intercept.air_defense": 0.0, "intercept.air_support": 0.5}), runs=500)
    plan = plan_mod.make_plan(cfg)
    none, air = plan.grid_rows
    strikes = run_kernel(plan).moments[:, 1, 0]
    assert strikes[air] < 0.7 * strikes[none]
    table = plan.level_parameters.copy()
    row = [lp.stem for lp in LEVEL_PARAMETERS].index("intercept")
    table[row, LEVELS["support"].index("air_support")] = PARAMETER_NAMES.index("intercept.air_defense")
    strikes = run_kernel(dataclasses.replace(plan, level_parameters=table)).moments[:, 1, 0]
    assert strikes[air] == strikes[none]


# A support level added to model.LEVELS alone (and its priors given in the
# config): the kernel, compiled afresh, and the reference both apply it.
EXTRA_LEVEL = """
import sys, types
from pathlib import Path
import deterrence
source = Path("deterrence/model.py").read_text()
old = 'SUPPORTS = ("none", "isr_c2", "air_defense", "air_support")'
assert old in source
model = types.ModuleType("deterrence.model")
model.__file__ = str(Path("deterrence/model.py").resolve())
sys.modules["deterrence.model"] = deterrence.model = model
free = int(source.split("NEXT_STREAM = ")[1].split()[0])
ids = f'"delta_support.naval": {free}, "intercept.naval": {free + 1}, "strike_support.naval": {free + 2},'
source = source.replace(old, old[:-1] + ', "naval")').replace("STREAMS = {", "STREAMS = {" + ids, 1)
source = source.replace(f"NEXT_STREAM = {free}", f"NEXT_STREAM = {free + 3}")
exec(compile(source, model.__file__, "exec"), model.__dict__)
sys.path.insert(0, "tests")
import numpy as np
from helpers import BASELINE_GRID, fixed, make_config, run_kernel, within, hypoexponential_cdf
from deterrence import plan as plan_mod, reference

n, horizon, sigma, intercept = 20_000, 1000, 2.0, 0.4
lc, la, d_sup = 0.002, 0.002, 0.7
grid = dict(BASELINE_GRID, force_size=[20000], posture=["contact_line"], support=["naval"])
priors = fixed(lambda_c0=lc, nu=0.0, lambda_a0=la, e_collapse=1.0, deploy_lag=0.0, delta_force=0.0,
               sigma_war=sigma, sigma_truce=sigma, **{"delta_support.naval": d_sup, "intercept.naval": intercept,
                                                      "strike_support.naval": 0.0})
plan = plan_mod.make_plan(make_config(grid, priors, runs=n, horizon=horizon))
rate = la * np.exp(-d_sup)
days = [200, 500, 900]
expected = hypoexponential_cdf(days, lc, rate)
lam = (1 - intercept) * sigma * horizon
for tallies in (run_kernel(plan), reference.simulate(plan, n, seed=4)):
    p = within(tallies.hist[0, 2], days)
    assert np.all(np.abs(p - expected) < 4.5 * np.sqrt(expected * (1 - expected) / n)), (p, expected)
    mean = tallies.moments[0, 1, 0] / n
    assert abs(mean - lam) < 4.5 * np.sqrt(lam / n), (mean, lam)
print("EXTRA LEVEL OK")
"""


@pytest.mark.slow
def test_a_new_support_level_needs_no_kernel_change(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path),
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", EXTRA_LEVEL], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=600)
    assert proc.returncode == 0 and "EXTRA LEVEL OK" in proc.stdout, proc.stderr[-3000:]


def test_results_build_reads_the_plan():
    cfg = make_config(runs=50)
    plan = plan_mod.make_plan(cfg)
    assert np.array_equal(plan.year_days, plan_mod.year_days())
    assert results.build(cfg, plan, run_kernel(plan)).sizes["support"] == 1
