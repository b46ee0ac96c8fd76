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
from deterrence.clusters import batch_system
from deterrence.config import NAME_RULE, Config, check_cluster, valid_name


def render(config: Config, system: str, mode: str, out: Path) -> str:
    """The batch script: ``local`` runs all cores of one node as threads;
    ``mpi`` runs dask-mpi over ``nodes`` x ``cores`` ranks. Every value is
    checked against its form (config.CLUSTER_FORMS) first, and what goes on
    a command line is quoted."""
    batch = batch_system(system)
    settings = check_cluster(config.cluster, config.path)
    if not valid_name(config.study.name):
        raise UserError(f"{config.path}: study.name names the batch job and must be {NAME_RULE}, "
                        f"got {config.study.name!r}")
    for what, path in (("the config path", config.path), ("--out", out)):
        # Paths are quoted, but a line break would still end a directive or
        # the comment that names the config.
        if any(ord(c) < 32 or ord(c) == 127 for c in str(path)):
            raise UserError(f"{what} {str(path)!r} holds a control character; rename it")
    cores = int(settings.get("cores", 16))
    nodes = int(settings.get("nodes", 1)) if mode == "mpi" else 1
    python = settings.get("python", sys.executable)
    config_path = shlex.quote(str(Path(config.path).resolve()))
    run = f"{shlex.quote(python)} -m deterrence run {config_path} --resume --out {shlex.quote(str(out))}"
    if mode == "local":
        command = f"{run} --workers {cores}"
        tasks_per_node, cpus_per_task = 1, cores
    else:
        command = f"{batch.launcher} {run} --scheduler mpi"
        tasks_per_node, cpus_per_task = cores, 1
    options = list(settings.get("job_extra_directives") or [])
    for key in ("queue", "account"):
        if settings.get(key):
            options.append(getattr(batch, key).format(settings[key]))
    template = Template((shipped("jobs") / batch.template).read_text())
    return template.substitute(
        job_name=config.study.name, nodes=nodes, cores=cores, tasks_per_node=tasks_per_node,
        cpus_per_task=cpus_per_task, walltime=settings.get("walltime", "24:00:00"),
        log=shlex.quote(batch.log.format(out=out)), requeue=batch.requeue,
        directives="\n".join(f"{batch.directive} {option}" for option in options),
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
