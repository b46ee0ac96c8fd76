"""The Python API: the same result as the CLI, bit for bit; its own
mistakes in one line; an interrupted run that resumes; a cheap import."""

import inspect
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr
from helpers import same_result

import deterrence
from deterrence import UserError, runner
from deterrence.cli import main
from deterrence.plan import make_plan

ROOT = Path(__file__).parent.parent
LAPTOP = ROOT / "configs" / "laptop.toml"
TIMES = {"created", "history", "wall_seconds"}



def same_as_file(ds: xr.Dataset, path) -> bool:
    """A dataset in memory holds what a result file holds (times aside)."""
    with xr.open_dataset(path) as written:
        a, b = ds.copy(), written.load()
        a.attrs = {k: v for k, v in a.attrs.items() if k not in TIMES}
        b.attrs = {k: v for k, v in b.attrs.items() if k not in TIMES}
        return a.identical(b)


def test_run_study_returns_what_the_cli_writes(tmp_path, capsys):
    out = tmp_path / "cli.nc"
    assert main(["run", str(LAPTOP), "--runs", "20000", "--out", str(out)]) == 0
    ds = deterrence.run_study(str(LAPTOP), runs=20000, progress=False)
    assert int(ds.runs.max()) == 20000 and ds.attrs["seed"] == "20270101"
    assert same_as_file(ds, out)
    ds["reattack_day"][(0,) * 6] += 1  # the comparison can fail
    assert not same_as_file(ds, out)
    assert capsys.readouterr().err.count("\n") >= 1 and list(tmp_path.iterdir()) == [out]


def test_run_study_with_out_writes_what_the_cli_writes(study, tmp_path, capsys):
    cli, api = tmp_path / "cli.nc", tmp_path / "api.nc"
    assert main(["run", str(study), "--out", str(cli), "--seed", "9"]) == 0
    ds = deterrence.run_study(deterrence.load_config(study), seed=9, out=api, workers=2)
    assert same_result(cli, api) and same_as_file(ds, api)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["api.nc", "cli.nc", "tiny.toml"]
    with pytest.raises(UserError, match="exists; pass --overwrite"):
        deterrence.run_study(study, out=api)
    with deterrence.open_result(api) as opened:
        assert int(opened.runs.max()) == 2000


def test_progress_false_prints_nothing(study, capsys):
    deterrence.run_study(study, progress=False)
    assert capsys.readouterr() == ("", "")
    deterrence.run_study(study)
    assert "tiny: 2 options x 2,000 runs, 4 blocks, seed 7" in capsys.readouterr().err


def test_load_config_overrides(study):
    cfg = deterrence.load_config(study, runs=3000, seed=11)
    assert (cfg.study.runs, cfg.study.seed, cfg.study.name) == (3000, 11, "tiny")
    assert deterrence.load_config(study).study.runs == 2000
    with pytest.raises(UserError, match="cannot override horizon_days; it overrides runs and seed"):
        deterrence.load_config(study, horizon_days=10)
    with pytest.raises(UserError, match="--runs must be a positive integer"):
        deterrence.load_config(study, runs=0)


@pytest.mark.parametrize("kwargs, words", [
    ({"resume": True}, "--resume continues a run written to --out"),
    ({"workers": 0}, "--workers must be at least 1"),
    ({"workers": 1.5}, "--workers must be at least 1"),
    ({"target_se": 0.7}, "--target-se must lie in (0, 0.5)"),
    ({"target_se": "0.01"}, "--target-se must lie in (0, 0.5)"),
    ({"max_runs": 100}, "--max-runs caps a --target-se run"),
    ({"target_se": 0.01, "max_runs": 0}, "--max-runs must be a positive integer"),
    ({"target_se": 0.01, "max_runs": 100, "runs": 100}, "either --runs or --max-runs"),
    ({"seed": -1}, "--seed must be an integer"),
    ({"out": "result.csv"}, ".nc"),
    ({"scheduler": "tcp://"}, "--scheduler"),
])
def test_bad_arguments_are_one_line_and_write_nothing(study, tmp_path, kwargs, words):
    with pytest.raises(UserError) as error:
        deterrence.run_study(study, progress=False, **kwargs)
    assert words in str(error.value) and "\n" not in str(error.value)
    assert list(tmp_path.iterdir()) == [study]


def test_a_keyboard_interrupt_leaves_a_checkpoint_to_resume(study, tmp_path, monkeypatch):
    """Ctrl-C in a notebook (no signal handlers): finished blocks stay in the
    checkpoint, and resume=True ends with the bits of a run never stopped."""
    run_block = runner.run_block

    def interrupted_at_the_third_block(plan, start, stop):
        if start == 1000:
            raise KeyboardInterrupt
        return run_block(plan, start, stop)

    monkeypatch.setattr(runner, "run_block", interrupted_at_the_third_block)
    out = tmp_path / "r.nc"
    with pytest.raises(KeyboardInterrupt):
        deterrence.run_study(study, out=out, workers=1, progress=False)
    checkpoint = tmp_path / "r.nc.checkpoint.npz"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([study.name, checkpoint.name])
    with pytest.raises(UserError, match="pass --resume to continue it"):
        deterrence.run_study(study, out=out, progress=False)
    saved, done = runner.Checkpoint(checkpoint, {}).load(make_plan(deterrence.load_config(study)))
    assert done[0] and not done[2] and saved.runs == 500 * done.sum()  # blocks end in any order
    monkeypatch.undo()
    ds = deterrence.run_study(study, out=out, resume=True, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([study.name, out.name])
    assert same_as_file(deterrence.run_study(study, progress=False), out) and same_as_file(ds, out)


def test_import_is_cheap():
    """Neither importing the package nor loading a config loads numba or xarray."""
    code = ("import sys, deterrence; deterrence.load_config(sys.argv[1], runs=1000); "
            "print(sorted({'numba', 'xarray', 'deterrence.kernels'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code, str(LAPTOP)], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


def test_all_lists_the_public_api_with_numpy_docstrings():
    assert deterrence.__all__ == ["UserError", "load_config", "open_result", "run_study"]
    assert set(deterrence.__all__) <= set(dir(deterrence))
    assert inspect.getdoc(deterrence.UserError)
    for name in deterrence.__all__[1:]:
        doc = inspect.getdoc(getattr(deterrence, name))
        assert doc.splitlines()[0].endswith("."), name
        for section in ("Parameters\n----------\n", "Returns\n-------\n", "Raises\n------\n"):
            assert section in doc, (name, section)
        for parameter in inspect.signature(getattr(deterrence, name)).parameters:
            assert f"{parameter.lstrip('*')} :" in doc or f"**{parameter}\n" in doc, (name, parameter)
    typo = "run_studdy"
    with pytest.raises(AttributeError, match="no attribute 'run_studdy'"):
        getattr(deterrence, typo)
