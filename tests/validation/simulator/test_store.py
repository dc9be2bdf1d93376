"""HDF5 checkpoint store: atomic writes, recorded provenance, refusal to mix runs (validation/simulator/store.py)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from anisotropy._version import __version__
from anisotropy.errors import ParameterError
from validation.simulator.ensemble import realisation_seed
from validation.simulator.store import RealisationStore, config_to_json

CONFIG = {"nside": 4, "eta": 0.5, "turbulence": {"kind": "slab"}}


def _result(offset=0.0):
    return {"cl": np.arange(5.0) + offset, "maps/T0": np.linspace(0, 1, 12, dtype=np.float32), "steps": np.int64(9)}


def test_saved_realisation_round_trips_losslessly_with_provenance(tmp_path):
    store = RealisationStore(tmp_path / "run.h5", CONFIG, root_seed=42)
    seed = realisation_seed(42, 3)
    store.save(3, seed, _result())
    assert store.completed() == [3]
    loaded = store.load(3)
    for name, value in _result().items():
        np.testing.assert_array_equal(loaded[name], value)
        assert loaded[name].dtype == np.asarray(value).dtype
    with h5py.File(store.realisation_path(3), "r") as handle:
        assert json.loads(handle.attrs["config"]) == json.loads(config_to_json(CONFIG))
        assert handle.attrs["package_version"] == __version__
        assert int(handle.attrs["seed_entropy"]) == 42
        assert tuple(handle.attrs["seed_spawn_key"]) == (3,)
    np.testing.assert_array_equal(store.stored_seed(3).generate_state(2), seed.generate_state(2))


def test_manifest_links_every_realisation_and_holds_the_aggregate(tmp_path):
    store = RealisationStore(tmp_path / "run.h5", CONFIG, root_seed=1, run_attributes={"executor": "serial"})
    for index in range(2):
        store.save(index, realisation_seed(1, index), _result(index))
    store.write_manifest({"cl": np.ones(5)}, {"cl": np.zeros(5)}, count=2)
    with h5py.File(tmp_path / "run.h5", "r") as handle:
        assert sorted(handle["realisations"]) == ["000000", "000001"]
        np.testing.assert_array_equal(handle["realisations/000001/cl"][()], np.arange(5.0) + 1)
        np.testing.assert_array_equal(handle["ensemble/mean/cl"][()], np.ones(5))
        assert handle["ensemble"].attrs["realisations"] == 2
        assert handle.attrs["executor"] == "serial"


def test_store_with_other_configuration_is_refused_naming_the_difference(tmp_path):
    RealisationStore(tmp_path / "run.h5", CONFIG, root_seed=1)
    changed = {**CONFIG, "turbulence": {"kind": "isotropic"}}
    with pytest.raises(ParameterError, match=r"turbulence\.kind") as error:
        RealisationStore(tmp_path / "run.h5", changed, root_seed=1)
    assert error.value.name == "store"


def test_store_with_other_seed_is_refused(tmp_path):
    RealisationStore(tmp_path / "run.h5", CONFIG, root_seed=1)
    with pytest.raises(ParameterError, match="seed"):
        RealisationStore(tmp_path / "run.h5", CONFIG, root_seed=2)


def test_failed_write_leaves_no_realisation_and_no_temporary_file(tmp_path):
    store = RealisationStore(tmp_path / "run.h5", CONFIG, root_seed=1)
    ragged = {"good": np.arange(3), "bad": [np.arange(2), np.arange(3)]}  # numpy cannot make an array of this
    with pytest.raises(ValueError):
        store.save(0, realisation_seed(1, 0), ragged)
    assert store.completed() == []
    assert not [path for path in tmp_path.rglob("*") if ".tmp-" in path.name]


def test_stale_temporaries_of_a_killed_writer_are_cleaned_on_open(tmp_path):
    store = RealisationStore(tmp_path / "run.h5", CONFIG, root_seed=1)
    stale = store.realisation_dir / ".realisation_000000.h5.tmp-abc.h5"
    stale.write_bytes(b"partial")
    RealisationStore(tmp_path / "run.h5", CONFIG, root_seed=1)
    assert not stale.exists()
