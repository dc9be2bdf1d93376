"""Ensemble runner: seeds, executor independence, resume after interruption (validation/simulator/ensemble.py).

The machinery is exercised with a tiny stand-in realisation (a pure function of the seed), so these tests are
cheap and independent of the physics kernels; ``test_backtrack.py`` runs the real realisation through it.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from anisotropy.errors import ParameterError
from validation.simulator.ensemble import SerialExecutor, aggregate, make_executor, realisation_seed, run

STANDIN_CONFIG = {"size": 5, "scale": 2.0}


def standin_realisation(config, seed):
    """A pure function of (config, seed): Gaussian numbers, their squares, and a work counter."""
    generator = np.random.default_rng(seed)
    values = config["scale"] * generator.standard_normal(config["size"])
    return {"values": values, "squares": values**2, "particle_steps": np.int64(config["size"])}


class InterruptAfter:
    """The stand-in, but Ctrl-C arrives after ``calls`` realisations (simulates an interrupted run)."""

    def __init__(self, calls):
        self.calls_left = calls

    def __call__(self, config, seed):
        if self.calls_left == 0:
            raise KeyboardInterrupt
        self.calls_left -= 1
        return standin_realisation(config, seed)


def _assert_identical(first, second):
    assert first.count == second.count
    for table in ("mean", "standard_error"):
        left, right = getattr(first, table), getattr(second, table)
        assert sorted(left) == sorted(right)
        for name in left:
            np.testing.assert_array_equal(left[name], right[name], err_msg=f"{table}[{name}]")


def test_realisation_seed_is_the_spawned_child_whatever_the_spawn_history():
    children = np.random.SeedSequence(1234).spawn(5)
    for index, child in enumerate(children):
        np.testing.assert_array_equal(realisation_seed(1234, index).generate_state(4), child.generate_state(4))


def test_same_seed_reproduces_and_other_seed_differs():
    first = run(standin_realisation, STANDIN_CONFIG, 7, 4, progress=False)
    again = run(standin_realisation, STANDIN_CONFIG, 7, 4, progress=False)
    other = run(standin_realisation, STANDIN_CONFIG, 8, 4, progress=False)
    _assert_identical(first, again)
    assert not np.array_equal(first.mean["values"], other.mean["values"])


def test_mean_and_standard_error_match_numpy_over_realisations():
    results = [standin_realisation(STANDIN_CONFIG, realisation_seed(3, index)) for index in range(6)]
    mean, standard_error, count = aggregate(results)
    stacked = np.array([result["values"] for result in results])
    assert count == 6
    np.testing.assert_allclose(mean["values"], stacked.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(standard_error["values"], stacked.std(axis=0, ddof=1) / np.sqrt(6), rtol=1e-12)


def test_serial_process_and_dask_give_bit_identical_ensembles(tmp_path):
    serial = run(standin_realisation, STANDIN_CONFIG, 11, 4, SerialExecutor(), progress=False)
    process_pool = make_executor("process", workers=2)
    try:
        spawned = run(standin_realisation, STANDIN_CONFIG, 11, 4, process_pool, tmp_path / "p.h5", progress=False)
    finally:
        process_pool.shutdown()
    dask_executor = make_executor("dask", workers=2, dask_processes=False)
    try:
        dask = run(standin_realisation, STANDIN_CONFIG, 11, 4, dask_executor, tmp_path / "d.h5", progress=False)
    finally:
        dask_executor.shutdown()
    _assert_identical(serial, spawned)
    _assert_identical(serial, dask)


def test_interrupted_then_resumed_run_equals_uninterrupted_bit_for_bit(tmp_path):
    uninterrupted = run(standin_realisation, STANDIN_CONFIG, 5, 6, store_path=tmp_path / "a.h5", progress=False)
    with pytest.raises(KeyboardInterrupt):
        run(InterruptAfter(2), STANDIN_CONFIG, 5, 6, store_path=tmp_path / "b.h5", progress=False)
    with h5py.File(tmp_path / "b.h5", "r") as manifest:  # the interrupted store links what finished
        assert sorted(manifest["realisations"]) == ["000000", "000001"]
    resumed = run(standin_realisation, STANDIN_CONFIG, 5, 6, store_path=tmp_path / "b.h5", progress=False)
    assert resumed.computed == [2, 3, 4, 5]  # the two finished before Ctrl-C were not recomputed
    _assert_identical(uninterrupted, resumed)
    assert not list(tmp_path.rglob("*.tmp-*")) and not list(tmp_path.rglob(".*tmp*"))


def test_extending_an_ensemble_reuses_stored_realisations(tmp_path):
    run(standin_realisation, STANDIN_CONFIG, 5, 3, store_path=tmp_path / "e.h5", progress=False)
    extended = run(standin_realisation, STANDIN_CONFIG, 5, 5, store_path=tmp_path / "e.h5", progress=False)
    fresh = run(standin_realisation, STANDIN_CONFIG, 5, 5, progress=False)
    assert extended.computed == [3, 4]
    _assert_identical(extended, fresh)


def failing_for_odd_indices(config, seed):
    """The stand-in, except that realisations with an odd index fail."""
    if seed.spawn_key[-1] % 2:
        raise RuntimeError("kernel failed")
    return standin_realisation(config, seed)


def test_realisation_errors_propagate_and_keep_finished_checkpoints(tmp_path):
    with pytest.raises(RuntimeError, match="kernel failed"):
        run(failing_for_odd_indices, STANDIN_CONFIG, 5, 4, store_path=tmp_path / "f.h5", progress=False)
    # the serial executor finishes each task inside submit: realisation 0 is checkpointed before 1 fails, and
    # nothing is submitted after the failure
    from validation.simulator.store import RealisationStore

    assert RealisationStore(tmp_path / "f.h5", STANDIN_CONFIG, 5).completed() == [0]


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"kind": "threads"}, "executor"),
        ({"kind": "process", "workers": 0}, "workers"),
        ({"kind": "serial", "scheduler": "tcp://127.0.0.1:8786"}, "scheduler"),
    ],
)
def test_bad_executor_options_name_the_parameter(kwargs, parameter):
    with pytest.raises(ParameterError) as error:
        make_executor(**kwargs)
    assert error.value.name == parameter


def test_realisations_must_be_positive():
    with pytest.raises(ParameterError, match="realisations"):
        run(standin_realisation, STANDIN_CONFIG, 1, 0, progress=False)


# -- the real anisotropy realisation through the executors ---------------------------------------------------------


def _tiny_anisotropy_config():
    from validation.simulator.config import AnisotropyConfig, TurbulenceConfig

    return AnisotropyConfig(
        turbulence=TurbulenceConfig(lmin_over_lmax=0.02, modes_per_decade=16),
        reduced_rigidity=0.3,
        nside=4,
        times=(0.5, 1.0),
    )


def test_anisotropy_ensemble_serial_equals_dask_bit_for_bit(tmp_path):
    from validation.simulator.backtrack import anisotropy_realisation

    config = _tiny_anisotropy_config()
    serial = run(anisotropy_realisation, config, 3, 3, progress=False)
    dask_executor = make_executor("dask", workers=2, dask_processes=False)
    try:
        dask = run(anisotropy_realisation, config, 3, 3, dask_executor, tmp_path / "d.h5", progress=False)
    finally:
        dask_executor.shutdown()
    _assert_identical(serial, dask)


@pytest.mark.slow
def test_anisotropy_ensemble_serial_equals_spawned_processes_and_dask_processes(tmp_path):
    # slow: every spawned worker imports numba/healpy and loads the compiled kernels (~10-20 s here)
    from validation.simulator.backtrack import anisotropy_realisation

    config = _tiny_anisotropy_config()
    serial = run(anisotropy_realisation, config, 3, 4, progress=False)
    for kind, options in (("process", {}), ("dask", {"dask_processes": True})):
        executor = make_executor(kind, workers=2, **options)
        try:
            parallel = run(anisotropy_realisation, config, 3, 4, executor, tmp_path / f"{kind}.h5", progress=False)
        finally:
            executor.shutdown()
        _assert_identical(serial, parallel)


def _http_status(url) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("dashboard_port", [None, 0])
def test_local_dask_cluster_listens_on_loopback_only_with_no_dashboard_by_default(dashboard_port):
    # issue 14: distributed's default binds the scheduler's HTTP server (and dashboard) to every interface
    pytest.importorskip("distributed")
    executor = make_executor("dask", workers=1, dask_processes=False, dashboard_port=dashboard_port)
    try:
        cluster = executor._cluster
        servers = [cluster.scheduler.http_server] + [worker.http_server for worker in cluster.workers.values()]
        hosts = {sock.getsockname()[0] for server in servers for sock in server._sockets.values()}
        assert hosts == {"127.0.0.1"}
        port = next(iter(cluster.scheduler.http_server._sockets.values())).getsockname()[1]
        assert _http_status(f"http://127.0.0.1:{port}/health") == 200
        assert (_http_status(f"http://127.0.0.1:{port}/status") == 200) == (dashboard_port is not None)
    finally:
        executor.shutdown()
