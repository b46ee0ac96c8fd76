"""Batch systems: one record each, read by the cluster, submit and the CLI."""

import os
import subprocess
from pathlib import Path

import dask_jobqueue
import pytest
from helpers import write_study

from deterrence import UserError, config, shipped, submit
from deterrence.cli import parser
from deterrence.clusters import SYSTEMS, batch_system


@pytest.fixture
def cfg(tmp_path):
    return config.load(write_study(tmp_path / "batch.toml", "batch"))


@pytest.mark.parametrize("key", sorted(SYSTEMS))
@pytest.mark.parametrize("mode", ["local", "mpi"])
def test_every_system_renders_a_valid_script_from_its_record(key, mode, cfg, tmp_path):
    system = SYSTEMS[key]
    assert (shipped("jobs") / system.template).is_file()
    assert hasattr(dask_jobqueue, system.jobqueue_class)
    script = submit.render(cfg, key, mode, tmp_path / "batch.nc")
    assert f"{system.directive} {system.queue.format('short')}" in script.splitlines()
    assert f"{system.directive} {system.account.format('proj-1')}" in script.splitlines()
    assert system.requeue in script and "${" not in script
    assert (system.launcher in script) == (mode == "mpi")
    done = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert done.returncode == 0, done.stderr


def test_the_cli_offers_exactly_the_systems_of_the_table():
    sub = next(a for a in parser()._actions if a.dest == "command").choices["submit"]
    system = next(a for a in sub._actions if a.dest == "system")
    assert tuple(system.choices) == tuple(SYSTEMS)


def test_an_unknown_system_is_an_error(cfg, tmp_path):
    with pytest.raises(UserError, match="unknown batch system 'lsf'"):
        batch_system("lsf")
    with pytest.raises(UserError, match="unknown batch system"):
        submit.render(cfg, "lsf", "local", tmp_path / "batch.nc")


def test_submit_replaces_a_planted_link_instead_of_following_it(cfg, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "sbatch"
    fake.write_text("#!/bin/sh\necho Submitted batch job 42\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    script_path = tmp_path / "batch.slurm.sh"
    script_path.symlink_to(victim)
    script = submit.render(cfg, "slurm", "local", tmp_path / "batch.nc")
    assert submit.submit(script, "slurm", script_path) == "Submitted batch job 42"
    assert victim.read_text() == "keep me"
    assert not script_path.is_symlink() and script_path.read_text() == script
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.slurm.sh", "batch.toml", "bin", "victim.txt"]
    assert Path(script_path).stat().st_mode & 0o777 == 0o600
