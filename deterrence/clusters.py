"""Dask clusters to run blocks on: local processes, a running scheduler,
or batch jobs through dask-jobqueue (Slurm, PBS) and dask-mpi.

Schedulers started here listen on loopback unless the config says
otherwise, keep the dashboard on loopback, and batch-system schedulers use
TLS with temporary credentials, so no one else on a shared cluster can send
them work.
"""

import contextlib
import os
import tempfile
from pathlib import Path

from deterrence import UserError
from deterrence.config import CLUSTER_KEYS

LOOPBACK = "127.0.0.1"
SYSTEMS = ("slurm", "pbs")


def jobqueue_settings(settings: dict, jobqueue_yaml: str | Path | None = None) -> dict:
    """Cluster settings from a YAML file (keys as in a config's [cluster]
    table) overridden by the config's own."""
    merged = {}
    if jobqueue_yaml and Path(jobqueue_yaml).exists():
        import yaml

        merged.update(yaml.safe_load(Path(jobqueue_yaml).read_text()) or {})
        unknown = sorted(set(merged) - set(CLUSTER_KEYS))
        if unknown:
            raise UserError(f"{jobqueue_yaml}: unknown keys {', '.join(unknown)}; "
                            f"expected some of: {', '.join(CLUSTER_KEYS)}")
    merged.update(settings)
    return merged


def jobqueue_cluster(system: str, settings: dict, workers: int | None):
    """A dask-jobqueue cluster with TLS by default, scaled to ``jobs`` jobs."""
    import dask_jobqueue
    from distributed.security import Security

    settings = dict(settings)
    jobs = workers or settings.pop("jobs", 1)
    settings.pop("jobs", None)
    settings.pop("nodes", None)
    tls = settings.pop("tls", True)
    host = settings.pop("host", None)
    interface = settings.pop("interface", None)
    scheduler_options = {"dashboard_address": f"{LOOPBACK}:0"}
    if interface:
        scheduler_options["interface"] = interface
    else:
        scheduler_options["host"] = host or LOOPBACK
    kwargs = {"cores": 1, "processes": 1, "memory": "2GB", "walltime": "01:00:00",
              **settings, "scheduler_options": scheduler_options}
    if tls:
        kwargs["security"] = Security.temporary()
        kwargs["protocol"] = "tls://"
        # Workers read the temporary credentials from a directory they share
        # with the scheduler; only this user can read it.
        shared = Path(settings.get("local_directory") or Path.cwd()) / ".deterrence-tls"
        shared.mkdir(mode=0o700, exist_ok=True)
        kwargs["shared_temp_directory"] = str(shared)
    cls = dask_jobqueue.SLURMCluster if system == "slurm" else dask_jobqueue.PBSCluster
    cluster = cls(**kwargs)
    cluster.scale(jobs=jobs)
    return cluster


def _share_temporary_credentials() -> None:
    """Rank 0 makes temporary TLS credentials and sends them to every rank
    over MPI (never through a file); each rank puts them in its dask config."""
    import dask
    from distributed.security import Security
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    security = Security.temporary() if comm.Get_rank() == 0 else None
    pem = comm.bcast({"ca": security.tls_ca_file, "cert": security.tls_scheduler_cert,
                      "key": security.tls_scheduler_key} if security else None, root=0)
    config = {"distributed.comm.require-encryption": True, "distributed.comm.tls.ca-file": pem["ca"]}
    for role in ("scheduler", "worker", "client"):
        config[f"distributed.comm.tls.{role}.cert"] = pem["cert"]
        config[f"distributed.comm.tls.{role}.key"] = pem["key"]
    dask.config.set(config)


@contextlib.contextmanager
def client_for(scheduler: str, workers: int | None, settings: dict | None = None):
    """A dask.distributed Client for ``--scheduler``: ``local``, an address
    (``tcp://HOST:PORT``, ``tls://...``), ``slurm``, ``pbs`` or ``mpi``."""
    from distributed import Client, LocalCluster

    settings = settings or {}
    if scheduler == "local":
        with LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1,
                          processes=True, host=LOOPBACK, dashboard_address=f"{LOOPBACK}:0",
                          local_directory=tempfile.gettempdir()) as cluster, Client(cluster) as client:
            yield client
    elif scheduler in SYSTEMS:
        cluster = jobqueue_cluster(scheduler, settings, workers)
        try:
            with Client(cluster) as client:
                client.wait_for_workers(1)
                yield client
        finally:
            cluster.close()
    elif scheduler == "mpi":
        try:
            import dask_mpi
        except ImportError:
            raise UserError("--scheduler mpi needs dask-mpi and mpi4py: "
                            "pip install 'deterrence[mpi]'") from None
        tls = settings.get("tls", True)
        if tls:
            _share_temporary_credentials()
        # Rank 0 runs the scheduler, ranks 2+ the workers; this code runs on rank 1.
        dask_mpi.initialize(dashboard=False, interface=settings.get("interface"),
                            protocol="tls" if tls else None)
        with Client() as client:
            yield client
    elif "://" in scheduler:
        try:
            client = Client(scheduler, timeout=30)
        except OSError as error:
            raise UserError(f"--scheduler {scheduler}: cannot connect ({error})") from None
        with client:
            yield client
    else:
        raise UserError(f"--scheduler {scheduler!r}: expected local, slurm, pbs, mpi "
                        f"or an address such as tcp://host:8786")
