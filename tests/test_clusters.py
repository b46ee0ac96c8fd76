"""Dask schedulers give the local runner's bits; Slurm for real where it runs."""

import operator
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import dask
import numpy as np
import pytest
from distributed import Client, LocalCluster
from helpers import same_result, study_text

from deterrence import clusters, config, runner, shipped
from deterrence.cli import main
from deterrence.plan import make_plan

CLUSTER = """
[cluster]
cores = 1
memory = "2GB"
walltime = "00:20:00"
job_extra_directives = ["--oversubscribe"]
"""


def write_config(tmp_path, runs=20_000, block=2_000, name="dask"):
    path = tmp_path / f"{name}.toml"
    path.write_text(study_text("grid48", name=name, runs=runs, seed=5, block_runs=block) + CLUSTER)
    return path


def assert_same_tallies(a, b):
    assert a.runs == b.runs
    a, b = a.widened().arrays(), b.widened().arrays()
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_local_cluster_matches_threads_and_stays_on_loopback(tmp_path):
    plan = make_plan(config.load(write_config(tmp_path)))
    with clusters.client_for("local", 2) as client:
        assert client.scheduler.address.startswith("tls://127.0.0.1:")
        assert "127.0.0.1" in client.dashboard_link
        on_dask = runner.run_dask(plan, client, show_progress=False)
    assert_same_tallies(on_dask, runner.run_local(plan, workers=1, show_progress=False))


def _power(base, start, stop):
    return [base ** k for k in range(start, stop)]


def test_one_map_over_blocks_on_threads_and_dask_and_a_break_stops_it():
    blocks = [(k, k + 3) for k in range(0, 60, 3)]
    expected = [_power(2, *b) for b in blocks]
    on_threads = dict(clusters.map_blocks(_power, 2, blocks, workers=2))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        on_dask = dict(clusters.map_blocks(_power, 2, blocks, client))
        # The same shared value mapped again at once: its own key, not the
        # last map's, which is being released (lost dependencies).
        for _ in range(3):
            assert dict(clusters.map_blocks(_power, 2, blocks, client)) == on_dask
    assert [on_threads[i] for i in range(len(blocks))] == expected == [on_dask[i] for i in range(len(blocks))]
    calls = []

    def slow(shared, k):
        calls.append(k)
        time.sleep(0.05)
        return k

    for _ in clusters.map_blocks(slow, None, [(k,) for k in range(100)], workers=2):
        break
    time.sleep(0.3)
    assert len(calls) <= 2 + 1 + 1, "blocks went on running after the loop stopped"


def test_dask_adds_blocks_up_on_the_workers(tmp_path):
    """sum_blocks: each block lands in exactly one sum, no sum holds more
    than ``group`` blocks and every sum but the last more than half of it
    (a sum goes to the client only when it cannot take the next), and a
    study added up on the workers has the bits of local threads."""
    blocks = [(k, k + 1) for k in range(40)]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        sums = list(clusters.sum_blocks(_power, 3, blocks, operator.add, client, group=4))
        plan = make_plan(config.load(write_config(tmp_path, runs=24_000, block=1_000)))
        on_dask = runner.run_dask(plan, client, show_progress=False)
    positions = sorted(p for covered, _ in sums for p in covered)
    assert positions == list(range(40)) and max(len(c) for c, _ in sums) <= 4
    assert len(sums) <= 40 // 3 + 1
    for covered, result in sums:
        assert sorted(result) == sorted(3 ** k for k in covered)
    assert_same_tallies(on_dask, runner.run_local(plan, workers=2, show_progress=False))


def test_scheduler_address_and_bad_scheduler(tmp_path, capsys):
    path = write_config(tmp_path, runs=4_000, block=1_000)
    with LocalCluster(n_workers=1, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster:
        assert main(["run", str(path), "--scheduler", cluster.scheduler_address,
                     "--out", str(tmp_path / "a.nc")]) == 0
    assert main(["run", str(path), "--out", str(tmp_path / "b.nc"), "--workers", "1"]) == 0
    assert same_result(tmp_path / "a.nc", tmp_path / "b.nc")
    capsys.readouterr()
    assert main(["run", str(path), "--scheduler", "yarn", "--out", str(tmp_path / "c.nc")]) == 2
    assert "--scheduler" in capsys.readouterr().err


@pytest.mark.slow
def test_killed_worker_loses_and_doubles_nothing(tmp_path):
    plan = make_plan(config.load(write_config(tmp_path, runs=300_000, block=5_000)))
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.run(runner.run_block, plan, 0, 10)  # compile (or load the cache) on every worker
        victim = next(iter(client.run(os.getpid).values()))
        result = {}
        thread = threading.Thread(target=lambda: result.update(
            total=runner.run_dask(plan, client, show_progress=False)))
        thread.start()
        time.sleep(1.0)
        assert thread.is_alive(), "the study finished before a worker could be killed"
        os.kill(victim, signal.SIGKILL)
        thread.join(timeout=300)
    assert_same_tallies(result["total"], runner.run_local(plan, workers=2, show_progress=False))


@pytest.mark.parametrize("system", ["slurm", "pbs"])
@pytest.mark.parametrize("mode", ["local", "mpi"])
def test_submit_dry_run(tmp_path, capsys, system, mode):
    path = write_config(tmp_path, name="sub")
    assert main(["submit", str(path), "--system", system, "--mode", mode, "--dry-run",
                 "--out", str(tmp_path / "sub.nc")]) == 0
    script = capsys.readouterr().out
    assert script.startswith("#!/bin/bash")
    directive = "#SBATCH" if system == "slurm" else "#PBS"
    assert f"{directive} --oversubscribe" in script
    assert f"-m deterrence run {path}" in script and "--resume" in script
    assert "$child" in script and "${" not in script
    requeue = "scontrol requeue" if system == "slurm" else "qrerun"
    assert requeue in script and "-eq 75" in script
    if mode == "mpi":
        assert ("srun " if system == "slurm" else "mpiexec ") in script and "--scheduler mpi" in script
    else:
        assert "--workers 1" in script
    if system == "slurm":
        assert "#SBATCH --signal=B:TERM@120" in script and "#SBATCH --requeue" in script
    else:
        assert "#PBS -r y" in script


def slurm_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    done = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    # "comp": the node is up, still completing the jobs of the test before.
    return done.returncode == 0 and any(s in done.stdout for s in ("idle", "mix", "alloc", "comp"))


@pytest.fixture
def slurm():
    if not slurm_up():
        if os.environ.get("CI"):
            pytest.fail("CI must run the Slurm tests: .ci/start-slurm did not bring Slurm up")
        pytest.skip("no Slurm cluster reachable here (sinfo missing or no node up); CI starts one")


@pytest.mark.cluster
def test_slurm_run_matches_local_and_refuses_strangers(slurm, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, name="slurm")
    cfg = config.load(path)
    with clusters.jobqueue_cluster("slurm", clusters.jobqueue_settings("slurm", cfg.cluster), workers=2) as cluster:
        assert cluster.scheduler_address.startswith("tls://127.0.0.1:")
        # A client without the credentials is refused (in its own process: a
        # failed Client leaves dask's global scheduler setting behind).
        stranger = subprocess.run([sys.executable, "-c", "from distributed import Client; "
                                   f"Client({cluster.scheduler_address!r}, timeout=5)"],
                                  capture_output=True, text=True, timeout=120)
        assert stranger.returncode != 0
        assert "TLS" in stranger.stderr or "ssl" in stranger.stderr.lower(), stranger.stderr[-2000:]
        with Client(cluster) as client:
            client.wait_for_workers(2, timeout=120)
            assert len(client.scheduler_info()["workers"]) == 2
        assert len(list(tmp_path.glob(".deterrence-tls-*/*"))) == 3, "the workers' credential files"
    assert not list(tmp_path.glob(".deterrence-tls-*")), "credentials outlived the cluster"
    env = dict(os.environ)
    for out, extra in (("slurm.nc", ["--scheduler", "slurm", "--workers", "2"]), ("local.nc", [])):
        done = subprocess.run([sys.executable, "-m", "deterrence", "run", str(path), "--out", out, *extra],
                              capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr
    assert not list(tmp_path.glob(".deterrence-tls-*")), "credentials outlived the run"
    assert same_result(tmp_path / "slurm.nc", tmp_path / "local.nc")


@pytest.mark.cluster
def test_a_site_setting_reaches_the_job_slurm_runs(slurm, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    site = {"jobqueue.slurm.job-extra-directives": ["--oversubscribe", "--comment=site-setting"],
            "jobqueue.slurm.walltime": "00:07:00"}
    with dask.config.set(site):
        settings = clusters.backend("slurm", 1, {}).settings
        with clusters.jobqueue_cluster("slurm", settings, workers=1) as cluster, Client(cluster) as client:
            client.wait_for_workers(1, timeout=120)
            job = next(iter(cluster.workers.values())).job_id
            shown = subprocess.run(["scontrol", "show", "job", "-o", str(job)], capture_output=True, text=True)
    assert "Comment=site-setting" in shown.stdout and "TimeLimit=00:07:00" in shown.stdout, shown.stdout


@pytest.mark.cluster
def test_submitted_batch_job_writes_the_same_result(slurm, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, name="batch")
    out = tmp_path / "batch.nc"
    done = subprocess.run([sys.executable, "-m", "deterrence", "submit", str(path), "--system", "slurm",
                           "--out", str(out)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    job = done.stdout.split()[-1]
    deadline = time.monotonic() + 300
    while subprocess.run(["squeue", "-h", "-j", job], capture_output=True, text=True).stdout.strip():
        assert time.monotonic() < deadline, "batch job did not finish"
        time.sleep(1)
    assert out.exists(), next(tmp_path.glob("batch.nc.*.log")).read_text()
    assert main(["run", str(path), "--out", str(tmp_path / "local.nc")]) == 0
    assert same_result(out, tmp_path / "local.nc")


@pytest.mark.cluster
def test_mpi_run_matches_local_over_tls(tmp_path, monkeypatch):
    try:
        import dask_mpi  # noqa: F401
        import mpi4py  # noqa: F401
        launcher = shutil.which("mpirun")
    except Exception:  # no MPI library: mpi4py fails to load it, whatever the error type
        launcher = None
    if launcher is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the MPI test: mpirun, mpi4py or dask-mpi is missing")
        pytest.skip("no MPI here (mpirun, mpi4py, dask-mpi); CI installs Open MPI")
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, name="mpi")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    done = subprocess.run([launcher, "--oversubscribe", "-n", "4", sys.executable, "-m", "deterrence", "run",
                           str(path), "--scheduler", "mpi", "--out", "mpi.nc"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.search(r"Scheduler at:\s+tls://", done.stderr), "the MPI scheduler must use TLS"
    assert main(["run", str(path), "--out", "local.nc"]) == 0
    assert same_result(tmp_path / "mpi.nc", tmp_path / "local.nc")


# --- where batch settings come from --------------------------------------------
# The config's [cluster] table > --jobqueue-config FILE > the site's dask config
# (~/.config/dask/jobqueue.yaml, DASK_JOBQUEUE__* variables) > dask-jobqueue's
# defaults > clusters.FALLBACK.

SITE = {"jobqueue.slurm.cores": 8, "jobqueue.slurm.memory": "32GB", "jobqueue.slurm.walltime": "12:00:00",
        "jobqueue.slurm.queue": "site-q", "jobqueue.slurm.account": "site-acct"}


def jobqueue_file(tmp_path, text="    queue: file-q\n    cores: 4\n"):
    path = tmp_path / "site.yaml"
    path.write_text("jobqueue:\n  slurm:\n" + text)
    return path


def test_each_setting_comes_from_the_first_layer_that_sets_it(tmp_path):
    bare = clusters.jobqueue_settings("slurm", {})
    assert (bare["cores"], bare["memory"], bare["walltime"]) == (1, "2GB", "00:30:00"), "dask-jobqueue's walltime"
    with dask.config.set(SITE):
        site = clusters.jobqueue_settings("slurm", {})
        assert {k: site[k] for k in ("cores", "memory", "walltime", "queue", "account")} == {
            k.rsplit(".", 1)[1]: v for k, v in SITE.items()}
        layered = clusters.jobqueue_settings("slurm", {"cores": 2}, jobqueue_file(tmp_path))
        assert (layered["cores"], layered["queue"], layered["memory"], layered["account"]) == (
            2, "file-q", "32GB", "site-acct")
        # PBS reads its own section.
        assert clusters.jobqueue_settings("pbs", {})["cores"] == 1


def test_the_shipped_example_is_valid_and_overrides_no_site(tmp_path, capsys):
    example = shipped("jobs") / "jobqueue.yaml"
    for system in clusters.SYSTEMS:
        assert clusters.jobqueue_settings(system, {}, example)["walltime"] == "04:00:00"
    path = tmp_path / "plain.toml"
    path.write_text(study_text("grid48", name="plain", runs=20_000, seed=5))
    with dask.config.set(SITE):
        assert main(["submit", str(path), "--system", "slurm", "--dry-run"]) == 0
    script = capsys.readouterr().out
    for line in ("#SBATCH --cpus-per-task=8", "#SBATCH --mem=30518M", "#SBATCH --time=12:00:00"):
        assert line + "\n" in script, script


def test_the_site_config_reaches_the_worker_job_script(tmp_path, monkeypatch):
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for command, output in (("sbatch", "Submitted batch job 1"), ("scancel", ""), ("squeue", "")):
        (bin_ / command).write_text(f"#!/bin/sh\necho {output}\n")
        (bin_ / command).chmod(0o700)
    monkeypatch.setenv("PATH", f"{bin_}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)
    with dask.config.set(SITE):
        backend = clusters.backend("slurm", None, {"job_extra_directives": ["--oversubscribe"]})
        with clusters.jobqueue_cluster("slurm", backend.settings, workers=None) as cluster:
            script = cluster.job_script()
    for line in ("#SBATCH -p site-q", "#SBATCH -A site-acct", "#SBATCH --cpus-per-task=8", "#SBATCH --mem=30G",
                 "#SBATCH -t 12:00:00", "#SBATCH --oversubscribe"):
        assert line + "\n" in script, script


def test_submit_takes_the_same_settings_as_the_cluster(tmp_path, capsys):
    path = tmp_path / "sub.toml"
    path.write_text(study_text("grid48", name="sub", runs=20_000, seed=5) + '\n[cluster]\naccount = "cfg-acct"\n')
    site = jobqueue_file(tmp_path, "    queue: file-q\n    job-script-prologue: ['module load python']\n")
    with dask.config.set(SITE):
        assert main(["submit", str(path), "--system", "slurm", "--dry-run", "--jobqueue-config", str(site)]) == 0
    script = capsys.readouterr().out
    for line in ("#SBATCH --partition=file-q", "#SBATCH --account=cfg-acct", "#SBATCH --time=12:00:00",
                 "#SBATCH --cpus-per-task=8", "#SBATCH --mem=30518M", "module load python"):
        assert line + "\n" in script, script
    assert "--workers 8" in script
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


def test_the_site_dask_config_folder_and_variables_reach_submit(tmp_path):
    """As dask reads them in a fresh process: $DASK_CONFIG's jobqueue.yaml
    and a DASK_JOBQUEUE__SLURM__* variable."""
    folder = tmp_path / "dask"
    folder.mkdir()
    (folder / "jobqueue.yaml").write_text("jobqueue:\n  slurm:\n    walltime: '12:00:00'\n    cores: 8\n"
                                          "    queue: site-q\n")
    path = write_config(tmp_path, name="env")
    env = dict(os.environ, DASK_CONFIG=str(folder), DASK_JOBQUEUE__SLURM__ACCOUNT="env-acct")
    done = subprocess.run([sys.executable, "-m", "deterrence", "submit", str(path), "--system", "slurm",
                           "--dry-run"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    for line in ("#SBATCH --partition=site-q", "#SBATCH --account=env-acct", "#SBATCH --time=00:20:00"):
        assert line + "\n" in done.stdout, done.stdout
    assert "--workers 1" in done.stdout, "the config's [cluster] cores = 1 wins over the site's 8"


def test_a_jobqueue_file_in_another_schema_is_one_line(tmp_path, capsys):
    path = write_config(tmp_path, name="old")
    old = tmp_path / "old.yaml"
    old.write_text("queue: null\ncores: 1\n")
    for argv in (["submit", str(path), "--system", "slurm", "--dry-run", "--jobqueue-config", str(old)],
                 ["submit", str(path), "--system", "pbs", "--dry-run", "--jobqueue-config", str(tmp_path / "no")]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("deterrence: error: ") and err.count("\n") == 1, err
        assert ("expected dask-jobqueue's schema" if "old" in argv[-1] else "cannot read it") in err, err


def test_a_started_cluster_prints_its_dashboard_link(capsys):
    with clusters.backend("local", 1).client() as client:
        assert client is not None
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.fullmatch(r"deterrence: Dask dashboard at http://127\.0\.0\.1:\d+/status", err[0])
    with clusters.backend(None).client() as client:
        assert client is None


def test_only_clusters_creates_a_client_or_a_cluster():
    """One backend (clusters.backend): no other module constructs a dask
    Client or cluster, imports dask-jobqueue or dask-mpi, or starts MPI."""
    import ast

    package = Path(clusters.__file__).parent
    makers = {"Client", "LocalCluster", "SLURMCluster", "PBSCluster", "initialize", "start_mpi",
              "jobqueue_cluster", "client_for"}
    found = {}
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                names = {a.name for a in node.names} if isinstance(node, ast.ImportFrom) else set()
                hit = any(m.split(".")[0] in ("dask_jobqueue", "dask_mpi") for m in modules) or names & makers
            elif isinstance(node, ast.Call):
                func = node.func
                hit = (func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)) in makers
            else:
                continue
            if hit:
                found.setdefault(path.relative_to(package).as_posix(), []).append(node.lineno)
    assert set(found) == {"clusters.py"}, found
