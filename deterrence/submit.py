"""Render a batch script for Slurm or PBS from a config, and submit it."""

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from string import Template

from deterrence import UserError, shipped
from deterrence.clusters import batch_system, jobqueue_settings
from deterrence.config import NAME_RULE, Config, valid_name


def render(config: Config, system: str, mode: str, out: Path, jobqueue_config: str | Path | None = None) -> str:
    """The batch script: ``local`` runs all cores of one node as threads;
    ``mpi`` runs dask-mpi over ``nodes`` x ``cores`` ranks. The settings are
    those of ``--scheduler`` (clusters.jobqueue_settings: the config's
    [cluster] table over ``jobqueue_config`` over the site's dask-jobqueue
    config), each checked against its form (config.CLUSTER_FORMS), and what
    goes on a command line is quoted."""
    from dask.utils import parse_bytes

    batch = batch_system(system)
    settings = jobqueue_settings(system, config.cluster, jobqueue_config)
    if not valid_name(config.study.name):
        raise UserError(f"{config.path}: study.name names the batch job and must be {NAME_RULE}, "
                        f"got {config.study.name!r}")
    for what, path in (("the config path", config.path), ("--out", out)):
        # Paths are quoted, but a line break would still end a directive or
        # the comment that names the config.
        if any(ord(c) < 32 or ord(c) == 127 for c in str(path)):
            raise UserError(f"{what} {str(path)!r} holds a control character; rename it")
    cores = settings["cores"]
    nodes = settings.get("nodes", 1) if mode == "mpi" else 1
    python = settings.get("python") or sys.executable
    config_path = shlex.quote(str(Path(config.path).resolve()))
    run = f"{shlex.quote(python)} -m deterrence run {config_path} --resume --out {shlex.quote(str(out))}"
    if mode == "local":
        command = f"{run} --workers {cores}"
        tasks_per_node, cpus_per_task = 1, cores
    else:
        command = f"{batch.launcher} {run} --scheduler mpi"
        tasks_per_node, cpus_per_task = cores, 1
    options = list(settings.get("job_extra_directives") or [])
    for key in ("queue", "account", "walltime"):
        if settings.get(key):
            options.append(getattr(batch, key).format(settings[key]))
    template = Template((shipped("jobs") / batch.template).read_text())
    return template.substitute(
        job_name=config.study.name, nodes=nodes, cores=cores, tasks_per_node=tasks_per_node,
        cpus_per_task=cpus_per_task,
        memory=batch.memory.format(-(-parse_bytes(settings["memory"]) // 2**20)),
        log=shlex.quote(batch.log.format(out=out)), requeue=batch.requeue,
        directives="\n".join(f"{batch.directive} {option}" for option in options),
        prologue="\n".join(settings.get("job_script_prologue") or []),
        config=shlex.quote(config.path), mode=mode, workdir=shlex.quote(str(Path.cwd())), command=command)


def submit(script: str, system: str, path: Path) -> str:
    """Write the script beside the output and hand it to sbatch or qsub."""
    batch = batch_system(system)
    command = batch.submit
    if shutil.which(command) is None:
        raise UserError(f"{command} not found: submit from a {batch.name} login node, or use --dry-run "
                        f"to print the script")
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh file renamed into place: a link planted at the script's name is replaced, never followed.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(script)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    done = subprocess.run([command, str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        raise UserError(f"{command} {path} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout.strip()
