"""Nobody in: schedulers refuse clients without this run's credentials, no
config value reaches a batch script as a shell line, credential files do
not outlive a run, and a --scheduler that cannot work fails in one line."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import dask
import pytest
from helpers import study_text

from deterrence import UserError, clusters
from deterrence.cli import main

# Connects to a scheduler with the given credentials (None: none at all,
# "own": temporary ones of its own) and says what happened; in its own
# process, since a failed Client leaves dask state behind.
STRANGER = """
import json, sys
from distributed import Client
from distributed.security import Security
job = json.loads(sys.stdin.read())
given = job["security"]
security = Security.temporary() if given == "own" else Security(**given) if given else None
try:
    with Client(job["address"], security=security, timeout=5, set_as_default=False) as client:
        client.scheduler_info()
    print("connected")
except Exception as error:
    print("refused", type(error).__name__)
"""


def stranger(address: str, security) -> str:
    done = subprocess.run([sys.executable, "-c", STRANGER], input=json.dumps(
        {"address": address, "security": security}), capture_output=True, text=True, timeout=120)
    return done.stdout.strip() or done.stderr[-2000:]


def write_config(tmp_path, name="sec", cluster="cores = 1"):
    path = tmp_path / f"{name}.toml"
    path.write_text(study_text("secure", name=name) + f"\n[cluster]\n{cluster}\n")
    return path


def one_line_error(capsys, *words):
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("deterrence: error: ") and "\n" not in err, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err
    return captured


# --- scheduler authentication -------------------------------------------------


def test_local_scheduler_refuses_clients_without_its_credentials():
    with clusters.client_for("local", 1) as client:
        address = client.scheduler.address
        assert address.startswith("tls://127.0.0.1:")
        port = address.rsplit(":", 1)[1]
        security = client.security
        own = {"tls_ca_file": security.tls_ca_file, "tls_client_cert": security.tls_client_cert,
               "tls_client_key": security.tls_client_key, "require_encryption": True}
        assert stranger(f"tcp://127.0.0.1:{port}", None).startswith("refused")
        assert stranger(address, None).startswith("refused")
        assert stranger(address, "own").startswith("refused")
        # The same connection with this run's credentials works: the refusals
        # above are for want of them.
        assert stranger(address, own) == "connected"


# --- script injection ---------------------------------------------------------

INJECTIONS = [
    ("queue", '"gpu\\ntouch /tmp/pwned"'),
    ("queue", '"gpu;touch /tmp/pwned"'),
    ("account", '"$(touch /tmp/pwned)"'),
    ("walltime", '"01:00:00\\ntouch /tmp/pwned"'),
    ("walltime", '"1 hour"'),
    ("job_extra_directives", '["--exclusive\\ntouch /tmp/pwned"]'),
    ("job_extra_directives", '["touch /tmp/pwned"]'),
    ("job_extra_directives", '"--exclusive"'),
    ("python", '"python3; touch /tmp/pwned"'),
    ("memory", '"2GB`touch /tmp/pwned`"'),
    ("cores", "0"),
    ("nodes", '"2"'),
    ("tls", '"yes"'),
    ("host", '"node1 && touch /tmp/pwned"'),
]


@pytest.mark.parametrize("key, value", INJECTIONS)
def test_a_cluster_value_that_is_no_directive_value_is_refused(tmp_path, capsys, key, value):
    path = write_config(tmp_path, cluster=f"{key} = {value}")
    for argv in (["submit", str(path), "--system", "slurm", "--dry-run"],
                 ["run", str(path), "--scheduler", "local", "--out", str(tmp_path / "r.nc")]):
        assert main(argv) == 2
        assert one_line_error(capsys, f"cluster.{key} must be").out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


@pytest.mark.parametrize("name", ["a b", "x\\ntouch /tmp/pwned", "$(id)"])
def test_a_study_name_that_cannot_name_a_job_is_refused(tmp_path, capsys, name):
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace('name = "sec"', f'name = "{name}"'))
    assert main(["submit", str(path), "--system", "pbs", "--dry-run", "--out", str(tmp_path / "o.nc")]) == 2
    assert one_line_error(capsys, "study.name").out == ""


def test_an_out_path_with_a_line_break_is_refused(tmp_path, capsys):
    path = write_config(tmp_path)
    assert main(["submit", str(path), "--system", "slurm", "--dry-run",
                 "--out", str(tmp_path / "o.nc\ntouch x")]) == 2
    one_line_error(capsys, "--out", "control character")


def test_allowed_values_render_one_directive_each_and_quote_commands(tmp_path, capsys):
    path = write_config(tmp_path, cluster=textwrap.dedent('''
        queue = "gpu@server"
        account = "proj-1"
        walltime = "1-12:00:00"
        job_extra_directives = ['--constraint="intel&ib|amd"', "--mail-type=END"]
        python = "$HOME/venv/bin/python"'''))
    assert main(["submit", str(path), "--system", "slurm", "--dry-run", "--out", str(tmp_path / "o.nc")]) == 0
    script = capsys.readouterr().out
    for line in ("#SBATCH --partition=gpu@server", "#SBATCH --account=proj-1", "#SBATCH --time=1-12:00:00",
                 '#SBATCH --constraint="intel&ib|amd"', "#SBATCH --mail-type=END"):
        assert line + "\n" in script
    assert "'$HOME/venv/bin/python' -m deterrence run" in script
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


def test_site_settings_are_checked_like_the_config(tmp_path, capsys):
    site = tmp_path / "jobqueue.yaml"
    site.write_text("jobqueue:\n  slurm:\n    queue: null\n    walltime: '01:00:00\\ntouch /tmp/pwned'\n")
    with pytest.raises(UserError, match=r"jobqueue.yaml: jobqueue.slurm.walltime must be"):
        clusters.jobqueue_settings("slurm", {}, site)
    site.write_text("jobqueue:\n  slurm:\n    queue: null\n    walltime: '01:00:00'\n")
    settings = clusters.jobqueue_settings("slurm", {"queue": "q"}, site)
    assert settings["queue"] == "q" and settings["walltime"] == "01:00:00"
    # The site's dask config (files, DASK_JOBQUEUE__* variables) too, before
    # a script is written, and keys this package cannot check are refused.
    path = write_config(tmp_path)
    for key, value, words in (("account", "$(touch /tmp/pwned)", "jobqueue.slurm.account must be"),
                              ("job-script-prologue", ["module load x\ntouch /tmp/pwned"],
                               "jobqueue.slurm.job_script_prologue must be"),
                              ("job-directives-skip", ["--mem"], "jobqueue.slurm.job-directives-skip is set")):
        with dask.config.set({f"jobqueue.slurm.{key}": value}):
            assert main(["submit", str(path), "--system", "slurm", "--dry-run"]) == 2
        assert one_line_error(capsys, "the site's dask config", words).out == ""


# --- credentials: cleanup and permissions ---------------------------------------


def test_credentials_folder_is_private_and_removed_on_every_exit(tmp_path):
    with clusters.credentials_folder(tmp_path) as folder:
        assert folder.parent == tmp_path and folder.stat().st_mode & 0o777 == 0o700
        (folder / "key").write_text("secret")
    assert not folder.exists()
    with pytest.raises(RuntimeError), clusters.credentials_folder(tmp_path) as folder:
        raise RuntimeError("a failed run")
    assert not folder.exists()
    assert list(tmp_path.iterdir()) == []


# The CLI turns SIGTERM into an exception (run_study(stop_signals=...)), as here; "leave" never exits the
# block, so only atexit can remove the folder.
HOLDER = """
import signal, sys, time
from deterrence import clusters
from deterrence.study import _stop
signal.signal(signal.SIGTERM, _stop)
if sys.argv[2] == "leave":
    folder = clusters.credentials_folder(sys.argv[1]).__enter__()
    print(folder, flush=True)
    sys.exit(0)
with clusters.credentials_folder(sys.argv[1]) as folder:
    (folder / "key").write_text("secret")
    print(folder, flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("how", ["sigterm", "leave"])
def test_credentials_do_not_outlive_the_process(tmp_path, how):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path), how], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=os.getcwd()))
    folder = holder.stdout.readline().strip()
    assert folder.startswith(str(tmp_path / ".deterrence-tls-")), holder.stderr.read()
    if how == "sigterm":
        assert os.path.isdir(folder)
        holder.send_signal(signal.SIGTERM)
    holder.wait(timeout=30)
    assert list(tmp_path.iterdir()) == []


def test_a_base_others_can_write_or_a_link_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(UserError, match="writable by others"), clusters.credentials_folder(shared):
        pass
    shared.chmod(0o775)
    with pytest.raises(UserError, match="writable by others"), clusters.credentials_folder(shared):
        pass
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(private)
    with pytest.raises(UserError, match="not a folder"), clusters.credentials_folder(tmp_path / "link"):
        pass
    assert list(shared.iterdir()) == [] and list(private.iterdir()) == []


def test_jobqueue_credential_files_go_with_the_cluster(tmp_path, monkeypatch):
    pytest.importorskip("dask_jobqueue")
    # A stand-in Slurm that accepts jobs and never runs them: enough for the
    # cluster to write and then drop its worker credentials.
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    for command, output in (("sbatch", "Submitted batch job 1"), ("scancel", ""), ("squeue", "")):
        (bin_ / command).write_text(f"#!/bin/sh\necho {output}\n")
        (bin_ / command).chmod(0o700)
    monkeypatch.setenv("PATH", f"{bin_}{os.pathsep}{os.environ['PATH']}")
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    monkeypatch.chdir(run)
    settings = {"cores": 1, "memory": "1GB", "walltime": "00:05:00", "jobs": 1}
    with clusters.jobqueue_cluster("slurm", settings, workers=None) as cluster:
        files = list(run.glob(".deterrence-tls-*/*"))
        assert len(files) == 3 and cluster.scheduler_address.startswith("tls://127.0.0.1:")
        assert all(str(f) in cluster.job_script() for f in files)
    assert list(run.iterdir()) == []


# --- bad scheduler addresses and unavailable systems ------------------------------

BAD_ADDRESSES = ["tls://", "tcp://", "http://127.0.0.1:8786", "tcp://host", "tcp://h:0", "tcp://h:65536",
                 "tcp://a b:1", "tcp://:8786", "tls://[::1]:x", "yarn", "tls://127.0.0.1:8786"]


@pytest.mark.parametrize("scheduler", BAD_ADDRESSES)
def test_a_bad_scheduler_address_is_one_line(tmp_path, capsys, scheduler, monkeypatch):
    monkeypatch.delenv("DASK_DISTRIBUTED__COMM__TLS__CA_FILE", raising=False)
    path = write_config(tmp_path)
    assert main(["run", str(path), "--scheduler", scheduler, "--out", str(tmp_path / "r.nc")]) == 2
    one_line_error(capsys, f"--scheduler {scheduler}".replace("yarn", "'yarn'"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_a_scheduler_that_does_not_answer_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(clusters, "CONNECT_SECONDS", 2)
    path = write_config(tmp_path)
    before = dask.config.get("scheduler", None)
    start = time.monotonic()
    assert main(["run", str(path), "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "r.nc")]) == 2
    assert time.monotonic() - start < 20
    assert dask.config.get("scheduler", None) == before, "the failed client stayed dask's scheduler"
    err = capsys.readouterr().err
    assert "deterrence: error: --scheduler tcp://127.0.0.1:9: cannot connect" in err and "Traceback" not in err
    assert not (tmp_path / "r.nc").exists()


@pytest.mark.parametrize("system, words", [("slurm", "no Slurm here (sbatch not found)"),
                                           ("pbs", "no PBS here (qsub not found)"),
                                           ("mpi", "--scheduler mpi runs under an MPI launcher")])
def test_an_unavailable_system_fails_in_seconds(tmp_path, system, words):
    path = write_config(tmp_path)
    # Nothing on PATH: no sbatch, qsub or MPI launcher; run as a plain
    # process, not under mpirun.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMI", "SLURM_"))}
    env.update(PATH=str(tmp_path), PYTHONPATH=os.getcwd())
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "deterrence", "run", str(path), "--scheduler", system,
                           "--out", str(tmp_path / "r.nc")], capture_output=True, text=True, env=env,
                          timeout=120)
    assert time.monotonic() - start < 60
    assert done.returncode == 2 and done.stdout == ""
    err = done.stderr.strip()
    assert err.startswith("deterrence: error: ") and "\n" not in err and words in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
