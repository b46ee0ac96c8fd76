"""Checkpoints and resume: an interrupted study ends with the same bits; any
blocking and any number of workers give the same bits too."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import SMALL_GRID, assert_tallies_equal, make_config, same_result, with_choices, write_study

from deterrence import UserError, config, results, runner
from deterrence.cli import main
from deterrence.plan import make_plan


def write_config(tmp_path, runs=400_000, seed=11, block=10_000, name="study.toml"):
    return write_study(tmp_path / name, "grid48", name="resume", runs=runs, seed=seed, block_runs=block)


def test_accumulator_resumes_from_checkpoint(tmp_path):
    cfg = config.load(write_config(tmp_path, runs=20_000, block=2_000))
    plan = make_plan(cfg)
    checkpoint = runner.Checkpoint(tmp_path / "c.npz", {"seed": cfg.study.seed})
    acc = runner.Accumulator(plan, checkpoint, every=0.0, show_progress=False)
    for index, start, stop in acc.todo()[:4]:
        acc.add([index], runner.run_block(plan, start, stop))
    assert acc.close() is None  # unfinished: no total handed out
    resumed = runner.run_local(plan, workers=2, show_progress=False, checkpoint=checkpoint)
    whole = runner.run_local(plan, workers=1, show_progress=False)
    assert resumed.runs == whole.runs == 20_000
    for name in ("hist", "moments", "paired"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(whole, name))


def test_resume_refused_for_another_seed(tmp_path):
    cfg = config.load(write_config(tmp_path, runs=4_000, block=1_000))
    plan = make_plan(cfg)
    path = tmp_path / "c.npz"
    runner.Checkpoint(path, {"seed": 11}).save(runner.run_block(plan, 0, 1000),
                                               np.array([True, False, False, False]))
    with pytest.raises(UserError, match="different seed"):
        runner.Checkpoint(path, {"seed": 12}).load(plan)


def start_run(config_path, out, *extra):
    env = dict(os.environ, DETERRENCE_CHECKPOINT_SECONDS="0")
    return subprocess.Popen([sys.executable, "-m", "deterrence", "run", str(config_path), "--out", str(out),
                             "--workers", "2", *extra], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(path, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_interrupted_run_resumes_to_the_same_bits(tmp_path, how):
    path = write_config(tmp_path)
    out = tmp_path / "r.nc"
    checkpoint = tmp_path / "r.nc.checkpoint.npz"
    proc = start_run(path, out)
    wait_for(checkpoint, proc)
    proc.send_signal(getattr(signal, how))
    _, err = proc.communicate(timeout=60)
    if how == "SIGTERM":
        assert proc.returncode == 75, err
        assert "--resume" in err
    else:
        assert proc.returncode == -signal.SIGKILL
    assert not out.exists() and checkpoint.exists()
    assert main(["run", str(path), "--out", str(out)]) == 2  # refuses to start afresh silently
    assert main(["run", str(path), "--out", str(out), "--resume"]) == 0
    assert not checkpoint.exists()
    assert main(["run", str(path), "--out", str(tmp_path / "whole.nc"), "--workers", "1"]) == 0
    assert same_result(out, tmp_path / "whole.nc")


def test_resume_with_changed_config_is_refused(tmp_path, capsys):
    path = write_config(tmp_path, runs=20_000, block=2_000)
    out = tmp_path / "r.nc"
    cfg = config.load(path)
    plan = make_plan(cfg)
    from deterrence import __version__
    meta = {"config_sha256": cfg.sha256, "seed": cfg.study.seed, "runs": cfg.study.runs,
            "block_runs": plan.block_runs, "version": __version__}
    runner.Checkpoint(tmp_path / "r.nc.checkpoint.npz", meta).save(
        runner.run_block(plan, 0, 2000), np.eye(1, 10, dtype=bool)[0])
    assert main(["run", str(path), "--out", str(out), "--resume", "--seed", "12"]) == 2
    assert "different seed" in capsys.readouterr().err
    path.write_text(path.read_text().replace("horizon_days = 1000", "horizon_days = 999"))
    assert main(["run", str(path), "--out", str(out), "--resume"]) == 2
    assert "different config_sha256" in capsys.readouterr().err
    assert not out.exists()


# ---------------------------------------------------------------------------
# Exact reproducibility: blocks and workers


def without_time_attrs(ds):
    ds = ds.copy()
    for key in ("created", "history"):
        ds.attrs.pop(key, None)
    return ds


# The default priors switch every v2 channel on (durable truces, veto relief,
# the force's interception, the war ceasefire multiplier, engagement after
# collapses, gamma_exposure lambda_a0); the threshold veto besides.
@pytest.mark.parametrize("choices", [{}, {"veto": "threshold"}], ids=["power_veto", "threshold_veto"])
def test_bit_identical_across_blocks_and_workers(choices):
    grid = {**SMALL_GRID, "support": ["none", "isr_c2"]}
    n = 3_000
    cfg = with_choices(make_config(grid, {}, runs=n, seed=77), **choices)
    runs = {}
    for block_runs, workers in ((1_000, 1), (1_000, 2), (100_000, 1), (100_000, 2), (7, 2)):
        plan = make_plan(cfg, block_runs=block_runs)
        runs[block_runs, workers] = (plan, runner.run_local(plan, workers=workers,
                                                            show_progress=False))
    (plan0, first), *others = runs.values()
    ds0 = without_time_attrs(results.build(cfg, plan0, first))
    for plan, tallies in others:
        assert_tallies_equal(first, tallies)
        assert ds0.identical(without_time_attrs(results.build(cfg, plan, tallies)))
