"""--target-se stops at the same block whatever the number of workers."""

import dataclasses

import numpy as np
import xarray as xr
from helpers import study_text, write_study

from deterrence import clusters, config, runner
from deterrence.cli import main
from deterrence.plan import make_plan


def test_stopping_is_deterministic_across_workers(tmp_path):
    path = tmp_path / "target.toml"
    write_study(path, "target")
    plan = make_plan(config.load(path))
    totals = []
    for workers in (1, 2):
        acc = runner.accumulator(plan, target_se=0.008, show_progress=False)
        totals.append((runner.run_local(plan, workers=workers, acc=acc), acc.reason))
    with clusters.client_for("local", 2) as client:
        acc = runner.accumulator(plan, target_se=0.008, show_progress=False)
        totals.append((runner.run_dask(plan, client, acc=acc), acc.reason))
    first, reason = totals[0]
    # p(1-p)/n < 0.008**2 needs about 3,900 runs at p = 0.5: a few blocks, not all 200.
    assert 3_000 <= first.runs <= 6_000 and first.runs % 1000 == 0
    assert "below 0.008" in reason
    assert runner.max_probability_se(first, plan) < 0.008
    # One block fewer would not have met the target: it stopped at the first block that did.
    fewer = runner.run_local(make_plan(config.load(path).with_overrides(runs=first.runs - 1000)),
                             show_progress=False)
    assert runner.max_probability_se(fewer, plan) >= 0.008
    for total, why in totals[1:]:
        assert why == reason and total.runs == first.runs
        for name, array in first.arrays().items():
            np.testing.assert_array_equal(getattr(total, name), array)


def test_max_runs_caps_and_is_recorded(tmp_path, capsys):
    path = tmp_path / "target.toml"
    write_study(path, "target")
    out = tmp_path / "capped.nc"
    assert main(["run", str(path), "--target-se", "0.0001", "--max-runs", "3000", "--out", str(out)]) == 0
    with xr.open_dataset(out) as ds:
        assert int(ds.runs.max()) == 3000
        assert "--max-runs 3000 reached" in ds.attrs["stop_reason"]
    assert main(["run", str(path), "--target-se", "0.7", "--out", str(tmp_path / "x.nc")]) == 2
    assert "--target-se" in capsys.readouterr().err
    assert main(["run", str(path), "--max-runs", "10", "--out", str(tmp_path / "x.nc")]) == 2


def test_nested_target_aims_at_the_parameter_quantiles_too(tmp_path):
    # With runs_per_draw > 1 the stop rule takes the draw-level standard
    # errors and the bootstrap errors of the 2-year re-attack's quantiles and
    # p_better: it needs more runs than the per-run errors alone, and stops
    # at the same block for any number of workers.
    path = tmp_path / "nested.toml"
    text = study_text("target", runs=200_000, block_runs=4_000).replace(
        "block_runs = 4000", "block_runs = 4000\nruns_per_draw = 100")
    path.write_text(text)
    plan = make_plan(config.load(path))
    totals = []
    for workers in (1, 2):
        acc = runner.accumulator(plan, target_se=0.02, show_progress=False)
        totals.append((runner.run_local(plan, workers=workers, acc=acc), acc.reason))
    (first, reason), (second, reason2) = totals
    assert "below 0.02" in reason and reason2 == reason and first.runs == second.runs < plan.runs
    np.testing.assert_array_equal(first.draw_diff, second.draw_diff)
    assert runner.max_probability_se(first, plan) < 0.02
    fewer = runner.run_local(make_plan(config.load(path).with_overrides(runs=first.runs - 4000)),
                             show_progress=False)
    assert runner.max_probability_se(fewer, plan) >= 0.02
    # The per-run errors alone would have stopped far earlier.
    per_run = dataclasses.replace(plan, runs_per_draw=1)
    assert runner.max_probability_se(first, per_run) < 0.005
