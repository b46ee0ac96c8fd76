"""Where blocks run, for every command: :func:`map_blocks`, the one map over
blocks (a study's runs, a replay's draws, a comparison's pairs; with
:func:`sum_blocks` a study's blocks are added up on the Dask workers), and
:func:`backend`, the one place that starts a cluster or a client: local
threads, or Dask on local processes, a
running scheduler, batch jobs through dask-jobqueue (Slurm, PBS) or
dask-mpi. Batch settings are dask-jobqueue's, read as it reads them
(:func:`jobqueue_settings`), and shared with ``deterrence submit``.

No scheduler started here listens without authentication: every one uses
TLS with temporary credentials, so no one else on a shared machine or
cluster can send it work. They listen on loopback unless the config says
otherwise, and keep the dashboard on loopback.
"""

import atexit
import contextlib
import functools
import importlib.util
import ipaddress
import itertools
import os
import re
import shutil
import stat
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from deterrence import UserError
from deterrence.config import CLUSTER_KEYS, check_cluster

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class BatchSystem:
    """Everything this package knows of one batch system: read by the
    dask-jobqueue cluster, `deterrence submit` and the CLI's choices."""
    name: str                 # as people write it
    submit: str               # the command that submits a script (must exist here to use the system)
    directive: str            # prefix of a directive line in a batch script
    queue: str                # directive option naming the partition or queue ({} is the value)
    account: str              # directive option naming the account
    walltime: str             # directive option setting the job's time limit
    log: str                  # the job log beside the output ({out} is the result's path)
    launcher: str             # starts one process per MPI rank inside a job
    requeue: str              # shell command by which a job asks to run again
    memory: str               # memory per node in a batch script ({} is MiB)
    jobqueue_class: str       # the dask_jobqueue cluster class
    template: str             # batch script template in jobs/


SYSTEMS = {
    "slurm": BatchSystem("Slurm", "sbatch", "#SBATCH", "--partition={}", "--account={}", "--time={}", "{out}.%j.log",
                         "srun", 'scontrol requeue "$SLURM_JOB_ID"', "{}M", "SLURMCluster", "slurm.sh"),
    "pbs": BatchSystem("PBS", "qsub", "#PBS", "-q {}", "-A {}", "-l walltime={}", "{out}.log",
                       "mpiexec", 'qrerun "$PBS_JOBID"', "{}mb", "PBSCluster", "pbs.sh"),
}


def batch_system(key: str) -> BatchSystem:
    if key not in SYSTEMS:
        raise UserError(f"unknown batch system {key!r}; expected one of: {', '.join(SYSTEMS)}")
    return SYSTEMS[key]
MPI_MIN_RANKS = 3  # rank 0 the scheduler, rank 1 this client, ranks 2+ the workers
# Set by MPI launchers: Open MPI, MPICH/Hydra and Intel MPI, Slurm's PMI2 and
# PMIx, Cray ALPS.
MPI_LAUNCHER_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK", "ALPS_APP_PE")
CONNECT_SECONDS = 20  # how long to try a scheduler address before giving up
HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*")
TLS_CLIENT_KEYS = ("distributed.comm.tls.ca-file", "distributed.comm.tls.client.cert")
EXPECTED = "expected local, slurm, pbs, mpi or an address tcp://HOST:PORT or tls://HOST:PORT"


def check_scheduler(scheduler: str | None) -> None:
    """Refuse, in one line, a ``--scheduler`` that cannot work here: a
    malformed address, or a batch system or MPI launch that is not
    available. Runs before any computation and before any file is written."""
    if scheduler is None or scheduler == "local":
        return
    if scheduler in SYSTEMS:
        system = SYSTEMS[scheduler]
        if shutil.which(system.submit) is None:
            raise UserError(f"--scheduler {scheduler}: no {system.name} here ({system.submit} not found); "
                            f"run on a login node or use --scheduler local")
    elif scheduler == "mpi":
        _check_mpi()
    elif "://" in scheduler:
        _check_address(scheduler)
    else:
        raise UserError(f"--scheduler {scheduler!r}: {EXPECTED}")


def _check_address(address: str) -> None:
    from distributed.comm import parse_host_port

    scheme, _, location = address.partition("://")
    if scheme not in ("tcp", "tls"):
        raise UserError(f"--scheduler {address}: {EXPECTED}")
    try:
        host, port = parse_host_port(location)
    except ValueError:
        host, port = "", 0
    try:
        ipaddress.ip_address(host)
        valid_host = True
    except ValueError:
        valid_host = HOST_NAME.fullmatch(host) is not None
    if not valid_host or not 1 <= port <= 65535:
        raise UserError(f"--scheduler {address}: expected {scheme}://HOST:PORT with a host name or "
                        f"IP address and a port from 1 to 65535")
    if scheme == "tls":
        import dask

        # Without them the client fails deep in distributed, then hangs
        # while it closes.
        missing = [key for key in TLS_CLIENT_KEYS if not dask.config.get(key, None)]
        if missing:
            raise UserError(f"--scheduler {address}: a tls:// scheduler needs this user's credentials "
                            f"in the dask config; set {', '.join(missing)}")


def _check_mpi() -> None:
    if importlib.util.find_spec("mpi4py") is None or importlib.util.find_spec("dask_mpi") is None:
        raise UserError("--scheduler mpi needs mpi4py and dask-mpi: pip install 'deterrence[mpi]'")
    # Outside a launcher MPI would start a lone rank (or abort, with pages of
    # output); ask the environment first.
    if not any(name in os.environ for name in MPI_LAUNCHER_VARS):
        raise UserError(f"--scheduler mpi runs under an MPI launcher with at least {MPI_MIN_RANKS} ranks, "
                        f"e.g. mpirun -n 4 deterrence run ... (or srun in a batch job)")
    try:
        from mpi4py import MPI

        ranks = MPI.COMM_WORLD.Get_size()
    except Exception as error:  # mpi4py fails to load an MPI library with various error types
        why = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise UserError(f"--scheduler mpi: cannot start MPI ({why})") from None
    if ranks < MPI_MIN_RANKS:
        raise UserError(f"--scheduler mpi needs at least {MPI_MIN_RANKS} MPI ranks (scheduler, client, "
                        f"workers), got {ranks}; launch with e.g. mpirun -n 4 deterrence run ...")


# Where dask-jobqueue requires a value and its defaults set none; one worker
# process per job (dask-jobqueue would start several), whose threads run blocks.
FALLBACK = {"cores": 1, "memory": "2GB", "processes": 1, "jobs": 1}
SITE = "the site's dask config (~/.config/dask/*.yaml, DASK_JOBQUEUE__* variables)"


def jobqueue_settings(system: str, table: dict, jobqueue_config: str | Path | None = None) -> dict:
    """The batch settings for ``system`` (slurm, pbs), each key from the
    first of: the config's [cluster] table, the ``--jobqueue-config`` file
    (dask-jobqueue's schema, ``jobqueue: slurm: ...``), the site's dask
    config (``jobqueue.slurm.*`` as dask-jobqueue reads it), dask-jobqueue's
    defaults, then FALLBACK. Values from files and the environment are
    checked against the same forms as the [cluster] table."""
    import dask
    import dask_jobqueue  # noqa: F401 (puts its defaults in dask's config)

    layers = [_section(dask.config.get(f"jobqueue.{system}", None) or {}, system, SITE)]
    if jobqueue_config is not None:
        layers.append(_section(_read_jobqueue_file(Path(jobqueue_config), system), system, str(jobqueue_config)))
    layers.append(check_cluster(table, ""))
    merged = dict(FALLBACK)
    for layer in layers:
        merged.update({key: value for key, value in layer.items() if value is not None})
    return merged


def _read_jobqueue_file(path: Path, system: str) -> dict:
    import yaml

    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as error:
        raise UserError(f"--jobqueue-config {path}: cannot read it ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise UserError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    if not (isinstance(raw, dict) and set(raw) == {"jobqueue"} and isinstance(raw["jobqueue"], dict)):
        raise UserError(f"{path}: expected dask-jobqueue's schema, settings under jobqueue.slurm or "
                        f"jobqueue.pbs (as in the shipped jobs/jobqueue.yaml)")
    section = raw["jobqueue"].get(system) or {}
    if not isinstance(section, dict):
        raise UserError(f"{path}: jobqueue.{system} must be a mapping of settings such as cores: 8")
    return section


def _section(section: dict, system: str, where: str) -> dict:
    """The settings this package takes from a ``jobqueue.<system>`` mapping,
    checked. A key it does not take may keep dask-jobqueue's default only:
    dask-jobqueue would put it in the worker jobs' script unchecked."""
    import dask_jobqueue
    import yaml

    defaults = yaml.safe_load(Path(dask_jobqueue.__file__).with_name("jobqueue.yaml").read_text())
    defaults = {key.replace("-", "_"): value for key, value in defaults["jobqueue"][system].items()}
    taken = {}
    for key, value in section.items():
        name = str(key).replace("-", "_")
        if name in CLUSTER_KEYS:
            taken[name] = value
        elif name not in defaults:
            check_cluster({name: value}, where, f"jobqueue.{system}")  # the unknown key's message
        elif value != defaults[name]:
            raise UserError(f"{where}: jobqueue.{system}.{key} is set, but deterrence does not check it before "
                            f"it goes into a batch script; remove it (deterrence takes: {', '.join(CLUSTER_KEYS)})")
    return check_cluster(taken, where, f"jobqueue.{system}")


@contextlib.contextmanager
def credentials_folder(base: str | Path):
    """A fresh folder only this user can open, under ``base`` (which the
    batch jobs must see too), removed when the block ends or, failing that,
    when Python exits. ``base`` must be a real folder, not a link, owned by
    this user and writable by no one else: others could otherwise swap or
    read what is put in it."""
    base = Path(os.path.expandvars(os.path.expanduser(str(base)))).absolute()
    try:
        info = os.lstat(base)
    except OSError as error:
        raise UserError(f"cannot use {base} for TLS credentials ({error.strerror})") from None
    fix = "run from a folder only you can write, or set cluster.shared_temp_directory to one"
    if not stat.S_ISDIR(info.st_mode):
        raise UserError(f"{base} is not a folder (a link is not followed) for TLS credentials; {fix}")
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise UserError(f"{base} is writable by others or not yours; refusing to put TLS credentials "
                        f"there; {fix}")
    folder = tempfile.mkdtemp(prefix=".deterrence-tls-", dir=base)  # mode 0700
    remove = functools.partial(shutil.rmtree, folder, ignore_errors=True)
    atexit.register(remove)
    try:
        yield Path(folder)
    finally:
        remove()
        atexit.unregister(remove)


@contextlib.contextmanager
def jobqueue_cluster(system: str, settings: dict, workers: int | None):
    """A dask-jobqueue cluster with TLS by default, scaled to ``jobs`` jobs;
    closed, and its credential files removed, when the block ends."""
    import dask_jobqueue
    from distributed.security import Security

    settings = dict(check_cluster(settings, ""))
    jobs = workers or settings.pop("jobs", None) or 1
    settings.pop("jobs", None)
    settings.pop("nodes", None)
    tls = settings.pop("tls", True)
    host = settings.pop("host", None)
    base = settings.pop("shared_temp_directory", None) or Path.cwd()
    scheduler_options = {"dashboard_address": f"{LOOPBACK}:0"}
    if settings.get("interface"):
        scheduler_options["interface"] = settings["interface"]
    else:
        scheduler_options["host"] = host or LOOPBACK
    kwargs = {**{k: v for k, v in settings.items() if v is not None}, "scheduler_options": scheduler_options}
    cls = getattr(dask_jobqueue, batch_system(system).jobqueue_class)
    with credentials_folder(base) if tls else contextlib.nullcontext() as shared:
        if tls:
            kwargs["security"] = Security.temporary()
            kwargs["protocol"] = "tls://"
            # Worker jobs read the temporary credentials from files in a
            # folder they share with this process.
            kwargs["shared_temp_directory"] = str(shared)
        cluster = cls(**kwargs)
        try:
            cluster.scale(jobs=jobs)
            yield cluster
        finally:
            try:
                cluster.close()
            finally:
                # dask-jobqueue holds the credential files open as temporary
                # files; closing them deletes them before the folder goes.
                for key in ("ca_file", "cert", "key"):
                    with contextlib.suppress(AttributeError, OSError):
                        getattr(cluster, f"_job_{key}").close()


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


_mpi_started = False


def start_mpi(settings: dict) -> None:
    """Start dask-mpi: rank 0 becomes the scheduler and ranks 2+ workers,
    and neither returns from here; only rank 1, the client, goes on. Call it
    before anything a single process should do alone (the output's lock)."""
    global _mpi_started
    if _mpi_started:
        return
    import dask_mpi

    tls = settings.get("tls", True)
    if tls:
        _share_temporary_credentials()
    dask_mpi.initialize(dashboard=False, interface=settings.get("interface"),
                        protocol="tls" if tls else None)
    _mpi_started = True


@dataclass(frozen=True)
class Backend:
    """Where blocks run: local threads (``scheduler`` None) or the Dask
    client of ``--scheduler``, with the batch settings resolved for it."""
    scheduler: str | None
    workers: int | None
    settings: dict

    @contextlib.contextmanager
    def client(self):
        """None for local threads; else a Client (and the cluster behind it,
        started here), closed when the block ends."""
        if self.scheduler is None:
            yield None
            return
        with client_for(self.scheduler, self.workers, self.settings) as client:
            yield client


def backend(scheduler: str | None, workers: int | None = None, cluster: dict | None = None,
            jobqueue_config: str | Path | None = None) -> Backend:
    """The backend of every command: checks ``--scheduler``, resolves the
    batch settings (:func:`jobqueue_settings`) and, under an MPI launch,
    starts dask-mpi (only the client rank returns: call it before anything
    one process should do alone)."""
    check_scheduler(scheduler)
    settings = dict(cluster or {})
    if scheduler in SYSTEMS:
        settings = jobqueue_settings(scheduler, settings, jobqueue_config)
    elif scheduler == "mpi":
        start_mpi(settings)
    return Backend(scheduler, workers, settings)


def map_blocks(fn, shared, blocks, client=None, workers: int | None = None, name: str = "block"):
    """The one map over blocks of every command: ``fn(shared, *block)`` for
    each block, on local threads (``client`` None; ``workers`` threads, by
    default one per core, the kernels release the GIL) or on the Dask
    ``client`` (``shared`` sent once to every worker; a block lost with a
    dead worker is recomputed; ``name`` starts its tasks' keys). Yields
    ``(position, result)`` in the order the blocks finish, with a bounded
    number in flight (threads: one per worker and one spare; Dask: two per
    worker thread, to hide the network), so memory stays flat; closing the
    generator early (``break``) cancels what is still in flight."""
    for positions, result in sum_blocks(fn, shared, blocks, None, client, workers, name):
        yield positions[0], result


def sum_blocks(fn, shared, blocks, combine=None, client=None, workers: int | None = None,
               name: str = "block", group: int | None = None):
    """:func:`map_blocks`, with the results added up where they are made:
    yields ``(positions, result)``, ``result`` being ``combine`` (associative,
    and not changing its arguments) over the blocks at ``positions`` (a
    tuple). On a Dask client, finished results are combined on the workers
    as they come, pairwise, into sums of at most ``group`` blocks (default:
    the cluster's worker threads, at least 2), so the client receives about
    one sum per ``group`` blocks, and after the last round of blocks a tree
    of about log2(``group``) combines, not every block one after another.
    On local threads, or with ``combine`` None, each block comes alone."""
    blocks = list(blocks)
    if client is None:
        for position, result in _map_threads(fn, shared, blocks, workers or default_workers()):
            yield (position,), result
    else:
        yield from _map_dask(fn, shared, blocks, client, name, combine, group)


def default_workers() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _map_threads(fn, shared, blocks, workers: int):
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    pending = iter(enumerate(blocks))
    pool = ThreadPoolExecutor(max_workers=workers)

    def submit(count):
        return {pool.submit(_at, i, fn, shared, block) for i, block in itertools.islice(pending, count)}

    try:
        # One block per worker and one spare, queued for whichever finishes
        # first (adding a block takes the main thread milliseconds).
        in_flight = submit(workers + 1)
        while in_flight:
            # A timeout lets signal handlers run between waits.
            done, in_flight = wait(in_flight, timeout=1.0, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
                in_flight |= submit(1)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _map_dask(fn, shared, blocks, client, name: str, combine=None, group: int | None = None):
    from distributed import as_completed

    call = uuid.uuid4().hex[:8]  # a key of its own for each block of each map: no result is taken for another's
    # hash=False: a key of its own, not one a map just finished with (and is releasing) would share
    shared_future = client.scatter(shared, broadcast=True, hash=False)
    pending = iter(enumerate(blocks))
    # Two blocks per worker thread: a batch job of 8 cores is one worker of 8 threads.
    threads = sum(w["nthreads"] for w in client.scheduler_info(n_workers=-1)["workers"].values())
    group = 1 if combine is None else group or max(threads, 2)
    size = {}               # blocks in each future's result
    sums = itertools.count()

    def submit(count):
        futures = [client.submit(_leaf, i, fn, shared_future, block, retries=3, key=f"{name}-{call}-{i}")
                   for i, block in itertools.islice(pending, count)]
        size.update((f.key, 1) for f in futures)
        return futures

    def taken(future):
        result = future.result()
        future.release()
        return result

    futures = as_completed(submit(max(2 * threads, 4)))
    waiting = None          # a finished result kept back to be combined with the next
    try:
        for future in futures:
            if size[future.key] == 1:
                for next_future in submit(1):
                    futures.add(next_future)
            if group == 1:
                yield taken(future)
                continue
            if waiting is not None and size[waiting.key] + size[future.key] <= group:
                both = client.submit(_combined, combine, waiting, future, retries=3,
                                     key=f"{name}-{call}-sum-{next(sums)}")
                size[both.key] = size[waiting.key] + size[future.key]
                futures.add(both)
                waiting.release()
                future.release()
                waiting = None
            elif waiting is None:
                waiting = future
            else:           # the larger goes to the client; the smaller waits for the next
                larger, waiting = sorted((waiting, future), key=lambda f: size[f.key], reverse=True)
                yield taken(larger)
            if waiting is not None and futures.count() == 0:
                last, waiting = waiting, None
                yield taken(last)
    finally:
        client.cancel(list(futures.futures) + ([waiting] if waiting is not None else []))


def _at(position: int, fn, shared, block: tuple):
    return position, fn(shared, *block)


def _leaf(position: int, fn, shared, block: tuple):
    return (position,), fn(shared, *block)


def _combined(combine, a: tuple, b: tuple) -> tuple:
    return a[0] + b[0], combine(a[1], b[1])


@contextlib.contextmanager
def client_for(scheduler: str, workers: int | None, settings: dict | None = None):
    """A dask.distributed Client for ``--scheduler``: ``local``, an address
    (``tcp://HOST:PORT``, ``tls://...``; a tls address needs credentials in
    the user's dask config, ``distributed.comm.tls.*``), ``slurm``, ``pbs``
    or ``mpi``."""
    from distributed import Client, LocalCluster
    from distributed.security import Security

    check_scheduler(scheduler)
    settings = settings or {}
    if scheduler == "local":
        # Temporary credentials live in memory and reach the worker
        # processes through their nannies, never through a file.
        with LocalCluster(n_workers=workers or os.cpu_count(), threads_per_worker=1,
                          processes=True, host=LOOPBACK, dashboard_address=f"{LOOPBACK}:0",
                          protocol="tls://", security=Security.temporary(),
                          local_directory=tempfile.gettempdir()) as cluster, Client(cluster) as client:
            _show_dashboard(cluster)
            yield client
    elif scheduler in SYSTEMS:
        with jobqueue_cluster(scheduler, settings, workers) as cluster, Client(cluster) as client:
            _show_dashboard(cluster)  # before the wait: the jobs may queue for a while
            client.wait_for_workers(1)
            yield client
    elif scheduler == "mpi":
        start_mpi(settings)
        with Client() as client:
            yield client
    else:
        import dask

        before = dask.config.get("scheduler", None)
        try:
            client = Client(scheduler, timeout=CONNECT_SECONDS)
        except OSError as error:
            # A Client that fails to connect has already made itself dask's
            # scheduler; put back what was there.
            dask.config.set(scheduler=before)
            raise UserError(f"--scheduler {scheduler}: cannot connect ({error})") from None
        with client:
            yield client


def _show_dashboard(cluster) -> None:
    # On loopback unless [cluster] says otherwise: reach it through ssh -L.
    print(f"deterrence: Dask dashboard at {cluster.dashboard_link}", file=sys.stderr)
