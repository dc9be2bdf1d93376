"""Ensembles of turbulence realisations on any ``concurrent.futures.Executor`` (docs/physics/simulator.md#ensemble).

One realisation is a **pure function** ``realisation_function(config, seed) -> dict of arrays`` of its
configuration and its ``SeedSequence`` child: realisation ``i`` always receives child ``i`` of
``SeedSequence(root_seed)`` (spawn key ``(i,)``), whatever executor runs it and in whatever order it finishes.
Results are keyed by index and aggregated in index order, so serial, process-pool and Dask runs, and an
interrupted run that is resumed, give bit-identical ensemble means.

Executors (``make_executor``):

* ``serial``: :class:`SerialExecutor`, runs each task at submission in the calling process.
* ``process``: a ``ProcessPoolExecutor`` with the **spawn** start method (healpy bundles OpenMP, and forking a
  process that has loaded OpenMP can deadlock), with one thread per worker for OpenMP/BLAS/numba.
* ``dask``: ``distributed.Client(LocalCluster(...))`` by default, or ``Client(address)`` for an existing
  scheduler (``--scheduler tcp://host:8786``; refused with one line after :data:`SCHEDULER_TIMEOUT_S` seconds
  if it does not answer).  The local cluster listens on 127.0.0.1 only and starts no dashboard unless
  ``make_executor(..., dashboard_port=...)`` asks for one (then on 127.0.0.1 too).  On a SLURM/PBS cluster start
  the scheduler and workers with
  ``dask-jobqueue``, e.g.::

      from dask_jobqueue import SLURMCluster
      cluster = SLURMCluster(cores=1, processes=1, memory="4GB", walltime="02:00:00",
                             job_script_prologue=["export OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1"])
      cluster.scale(jobs=32)
      print(cluster.scheduler_address)      # pass this to --scheduler

  (``PBSCluster`` takes the same arguments.)  Workers must have this package installed.

Scripts that use the ``process`` or local ``dask`` executors must guard their entry point with
``if __name__ == "__main__":`` (spawned workers re-import the main module); ``cr-anisotropy`` does.

Each finished realisation is checkpointed by :class:`validation.simulator.store.RealisationStore` before the next
result is
processed; rerunning the same call skips the realisations already stored.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from anisotropy.errors import ParameterError, require_integer
from anisotropy.io import output_lock

from .store import RealisationStore

__all__ = [
    "EXECUTORS",
    "EnsembleResult",
    "SerialExecutor",
    "aggregate",
    "make_executor",
    "realisation_seed",
    "run",
]

EXECUTORS = ("serial", "process", "dask")
#: seconds to wait for an existing Dask scheduler (--scheduler) to answer before giving up with one line
SCHEDULER_TIMEOUT_S = 10.0

#: thread counts forced to one in worker processes: parallelism comes from the workers, not from nested threads
_WORKER_THREAD_ENVIRONMENT = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


def realisation_seed(root_seed, index: int) -> np.random.SeedSequence:
    """Child ``index`` of ``SeedSequence(root_seed)``, identical to ``SeedSequence(root_seed).spawn(n)[index]``.

    Built directly from the spawn key, so it does not depend on how many children were spawned before.
    """
    root = root_seed if isinstance(root_seed, np.random.SeedSequence) else np.random.SeedSequence(root_seed)
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, int(index)))


class SerialExecutor(Executor):
    """A ``concurrent.futures.Executor`` that runs every task immediately in the calling thread."""

    def submit(self, fn, /, *args, **kwargs):
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # KeyboardInterrupt propagates; other errors travel in the future
            if not isinstance(error, Exception):
                raise
            future.set_exception(error)
        return future


@contextlib.contextmanager
def _worker_thread_environment():
    # spawned children inherit os.environ at spawn time, before they import numpy/numba/healpy
    saved = {key: os.environ.get(key) for key in _WORKER_THREAD_ENVIRONMENT}
    os.environ.update(_WORKER_THREAD_ENVIRONMENT)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _SpawnProcessPool(ProcessPoolExecutor):
    """Process pool with the spawn start method whose workers run single-threaded kernels."""

    _environment_lock = threading.Lock()

    def __init__(self, workers: int):
        import multiprocessing

        super().__init__(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, fn, /, *args, **kwargs):
        # workers are started lazily inside submit(); the environment they inherit is set here
        with self._environment_lock, _worker_thread_environment():
            return super().submit(fn, *args, **kwargs)


class _DaskExecutor(Executor):
    """``Client.get_executor()`` plus ownership of the client (and of the local cluster, if we started it)."""

    def __init__(self, workers: int, scheduler: str | None, processes: bool = True,
                 dashboard_port: int | None = None):
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - dask is an optional extra
            raise ParameterError("executor", "'dask' needs: pip install 'cr-anisotropy[dask]'") from None
        if scheduler:
            self._cluster = None
            try:
                self._client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
            except (OSError, TimeoutError, ValueError) as error:  # refused, unreachable, or a malformed address
                reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                raise ParameterError(
                    "scheduler", f"no Dask scheduler answered at {scheduler!r} within {SCHEDULER_TIMEOUT_S:g} s "
                    f"({reason[:120]})") from None
        else:
            # worker processes are spawned by their nannies with these variables; threads share our process
            # scheduler and worker processes listen on the loopback interface only (threads talk in-process)
            environment = {"env": dict(_WORKER_THREAD_ENVIRONMENT), "host": "127.0.0.1"} if processes else {}
            self._cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=processes,
                # the scheduler's HTTP server (health, metrics; the dashboard only when asked for) on the loopback
                # interface: with dashboard_address=None distributed would bind it to 0.0.0.0:8787
                dashboard_address=f"127.0.0.1:{dashboard_port or 0}",
                scheduler_kwargs={"dashboard": dashboard_port is not None},
                worker_dashboard_address="127.0.0.1:0",  # workers' HTTP servers (metrics) on loopback as well
                silence_logs=logging.ERROR,  # worker start/stop chatter would drown the progress bar
                **environment,
            )
            self._client = Client(self._cluster)
        self._executor = self._client.get_executor()

    @property
    def workers(self) -> int:
        """Number of Dask workers currently connected (for the run record)."""
        return len(self._client.scheduler_info().get("workers", {}))

    def submit(self, fn, /, *args, **kwargs):
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait=True, *, cancel_futures=False):
        self._executor.shutdown(wait=wait)
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(
    kind: str, workers: int | None = None, scheduler: str | None = None, *, dask_processes: bool = True,
    dashboard_port: int | None = None,
) -> Executor:
    """An executor by name: ``serial``, ``process`` (spawn pool) or ``dask`` (local cluster or ``scheduler``).

    Parameters
    ----------
    kind : {"serial", "process", "dask"}
    workers : int, optional
        Worker processes for ``process`` and the local Dask cluster (default: ``os.cpu_count()``).
    scheduler : str, optional
        Address of a running Dask scheduler; only with ``kind="dask"``.
    dask_processes : bool
        Local Dask workers as processes (default; spawned, one thread each) or as threads of this process.
    dashboard_port : int, optional
        Start the local cluster's dashboard on ``127.0.0.1:dashboard_port`` (0: any free port).  Default: no
        dashboard.  The local cluster listens on the loopback interface only, never on every interface.

    Notes
    -----
    Connecting to ``scheduler`` gives up after :data:`SCHEDULER_TIMEOUT_S` seconds with a
    :class:`~anisotropy.errors.ParameterError` naming ``scheduler``.

    Examples
    --------
    >>> from validation import make_executor
    >>> with make_executor("serial") as executor:
    ...     executor.submit(pow, 2, 10).result()
    1024
    """
    if kind not in EXECUTORS:
        raise ParameterError("executor", f"must be one of {', '.join(EXECUTORS)}, got {kind!r}")
    workers = require_integer("workers", workers if workers is not None else (os.cpu_count() or 1), 1, 4096)
    if scheduler and kind != "dask":
        raise ParameterError("scheduler", "a scheduler address needs --executor dask")
    if kind == "serial":
        return SerialExecutor()
    if kind == "process":
        return _SpawnProcessPool(workers)
    if dashboard_port is not None:
        dashboard_port = require_integer("dashboard_port", dashboard_port, 0, 65535)
    return _DaskExecutor(workers, scheduler, dask_processes, dashboard_port)


@dataclass
class EnsembleResult:
    """Ensemble mean and standard error of every quantity a realisation returns.

    Attributes
    ----------
    mean, standard_error : dict
        ``{name: array}``; the standard error is the sample standard deviation across realisations (``ddof=1``)
        divided by ``sqrt(count)`` -- the empirical scatter of docs/physics/simulator.md#ensemble (NaN for one
        realisation).
    count : int
        Number of realisations aggregated.
    root_seed : int
        Entropy of the root ``SeedSequence``.
    wall_seconds : float
        Wall time of this call (realisations resumed from the store cost nothing).
    computed : list of int
        Indices computed in this call (the rest came from the store).
    first : dict
        The full result of realisation 0 (e.g. its maps), for outputs that show one realisation.
    """

    mean: dict
    standard_error: dict
    count: int
    root_seed: int
    wall_seconds: float = 0.0
    computed: list = field(default_factory=list)
    first: dict = field(default_factory=dict)


class _RunningMoments:
    """Welford mean/variance accumulated in a fixed (index) order, so the result is bit-reproducible."""

    def __init__(self):
        self.count = 0
        self.mean: dict = {}
        self._squares: dict = {}

    def add(self, result: dict) -> None:
        self.count += 1
        for name, value in result.items():
            value = np.asarray(value)
            if not np.issubdtype(value.dtype, np.number):
                continue
            value = value.astype(np.float64)
            if name not in self.mean:
                self.mean[name] = value.copy()
                self._squares[name] = np.zeros_like(value)
                continue
            delta = value - self.mean[name]
            self.mean[name] = self.mean[name] + delta / self.count
            self._squares[name] = self._squares[name] + delta * (value - self.mean[name])

    def standard_error(self) -> dict:
        if self.count < 2:
            return {name: np.full_like(mean, np.nan) for name, mean in self.mean.items()}
        return {name: np.sqrt(squares / (self.count - 1) / self.count) for name, squares in self._squares.items()}


def aggregate(results) -> tuple[dict, dict, int]:
    """Mean and standard error of an iterable of result dicts, taken in the iteration order."""
    moments = _RunningMoments()
    for result in results:
        moments.add(result)
    return moments.mean, moments.standard_error(), moments.count


def _progress_bar(total: int, initial: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="realisation", disable=not enabled, dynamic_ncols=True)


def run(
    realisation_function,
    config,
    seed,
    realisations: int,
    executor: Executor | None = None,
    store_path=None,
    progress: bool = True,
    *,
    particle_steps_per_realisation: int | None = None,
    run_attributes: dict | None = None,
) -> EnsembleResult:
    """Run ``realisations`` independent realisations and return their ensemble mean and standard error.

    Parameters
    ----------
    realisation_function : callable
        ``f(config, seed: numpy.random.SeedSequence) -> dict of arrays``, pure and picklable (a module-level
        function) for the process and Dask executors.
    config : dataclass or mapping
        Passed unchanged to every call; recorded in the store.
    seed : int
        Root entropy; realisation ``i`` gets :func:`realisation_seed` ``(seed, i)``.
    realisations : int
        Ensemble size (>= 1).  Rerunning with a larger number extends a stored ensemble.
    executor : concurrent.futures.Executor, optional
        Where to run (default :class:`SerialExecutor`).  Not shut down here: the caller owns it.
    store_path : path, optional
        HDF5 manifest of a :class:`~validation.simulator.store.RealisationStore`; realisations already stored are
        skipped
        and each new one is stored as soon as it finishes.  Without a store all results stay in memory.
    progress : bool
        Show a tqdm bar with realisations and particle-steps per second.
    particle_steps_per_realisation : int, optional
        Work per realisation for the progress rate; by default read from a ``particle_steps`` entry of the result.
    run_attributes : dict, optional
        Extra manifest attributes (executor, workers, ...), not part of the resume check.

    Returns
    -------
    EnsembleResult
        Aggregated in index order 0..realisations-1, hence identical for every executor and for resumed runs.

    Notes
    -----
    ``KeyboardInterrupt`` cancels the pending tasks and propagates; every realisation finished before it is in the
    store, so rerunning the same call resumes.  While it runs, the store's directory is locked
    (:func:`anisotropy.io.output_lock`): a second run on it is refused with a ParameterError naming ``store``.

    Examples
    --------
    >>> import numpy as np
    >>> from validation import run_ensemble
    >>> def realisation(config, seed):   # any f(config, SeedSequence) -> dict of arrays
    ...     return {"x": np.random.default_rng(seed).normal(size=config["size"])}
    >>> result = run_ensemble(realisation, {"size": 3}, seed=1, realisations=4, progress=False)
    >>> result.mean["x"].shape, result.standard_error["x"].shape
    ((3,), (3,))
    """
    realisations = require_integer("realisations", realisations, 1)
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    executor = executor if executor is not None else SerialExecutor()
    start = time.perf_counter()

    with contextlib.ExitStack() as stack:
        if store_path is not None:  # one writer per store: a second one stops here instead of racing the first
            stack.enter_context(output_lock(Path(store_path).parent, name="store"))
        return _run_locked(realisation_function, config, root, realisations, executor, store_path, progress,
                           particle_steps_per_realisation, run_attributes, start)


def _run_locked(realisation_function, config, root, realisations, executor, store_path, progress,
                particle_steps_per_realisation, run_attributes, start) -> EnsembleResult:
    root_seed = int(root.entropy)
    store = RealisationStore(store_path, config, root_seed, run_attributes) if store_path is not None else None
    in_memory: dict[int, dict] = {}
    done = set(store.verified()) if store is not None else set()  # damaged or foreign files are recomputed
    pending = [index for index in range(realisations) if index not in done]

    bar = _progress_bar(realisations, realisations - len(pending), progress)
    steps_done = 0
    futures: dict[Future, int] = {}
    remaining: set[Future] = set()

    def finish(future):
        nonlocal steps_done
        index = futures[future]
        result = future.result()
        if store is not None:
            store.save(index, realisation_seed(root, index), result)
        else:
            in_memory[index] = result
        steps_done += particle_steps_per_realisation or int(np.asarray(result.get("particle_steps", 0)))
        elapsed = max(time.perf_counter() - start, 1e-9)
        bar.set_postfix_str(f"{steps_done / elapsed:.3g} particle-steps/s", refresh=False)
        bar.update(1)

    def finish_done():
        # checkpoint every finished success before re-raising the first failure, so a rerun loses nothing
        failure = None
        for future in sorted((f for f in remaining if f.done()), key=futures.__getitem__):
            remaining.discard(future)
            try:
                finish(future)
            except Exception as error:
                failure = failure or error
        if failure is not None:
            raise failure

    try:
        for index in pending:
            future = executor.submit(realisation_function, config, realisation_seed(root, index))
            futures[future] = index
            remaining.add(future)
            finish_done()  # checkpoint as early as possible (a serial executor finishes inside submit)
        while remaining:
            wait(remaining, return_when=FIRST_COMPLETED)
            finish_done()
    except BaseException:
        for future in remaining:
            future.cancel()
        if store is not None:
            store.write_manifest()  # link what is finished; a rerun resumes from there
        raise
    finally:
        bar.close()

    def ordered_results():
        for index in range(realisations):
            yield store.load(index) if store is not None else in_memory[index]

    mean, standard_error, count = aggregate(ordered_results())
    first = store.load(0) if store is not None else in_memory[0]
    if store is not None:
        store.write_manifest(mean, standard_error, count)
    return EnsembleResult(
        mean=mean,
        standard_error=standard_error,
        count=count,
        root_seed=root_seed,
        wall_seconds=time.perf_counter() - start,
        computed=pending,
        first=first,
    )
