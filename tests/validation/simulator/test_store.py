"""HDF5 checkpoint store: atomic writes, recorded provenance, refusal to mix runs (validation/simulator/store.py)."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from anisotropy._version import __version__
from anisotropy.errors import ParameterError
from validation.simulator.ensemble import realisation_seed
from validation.simulator.store import (
    CheckpointWarning,
    RealisationStore,
    config_digest,
    config_to_json,
    data_checksum,
)

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


# -- integrity on resume (issue 14): every reused file is verified; damaged or foreign ones are recomputed ----------


def _standin(config, seed):
    values = np.random.default_rng(seed).standard_normal(config["nside"])
    return {"cl": values, "steps": np.int64(3)}


def _ensemble(path, seed, count=3, config=CONFIG):
    from validation.simulator.ensemble import run

    return run(_standin, config, seed, count, store_path=path, progress=False)


def _overwrite_dataset_bytes(path, name, offset=8, payload=b"\x7f" * 8):
    """Overwrite 8 bytes inside a contiguous dataset: the HDF5 structure stays intact, the data do not."""
    with h5py.File(path, "r") as handle:
        start = handle[name].id.get_offset()
    with open(path, "r+b") as raw:
        raw.seek(start + offset)
        raw.write(payload)


def _assert_rejected_and_recomputed(tmp_path, damage, reason):
    clean = _ensemble(tmp_path / "clean.h5", 7)
    store_path = tmp_path / "run.h5"
    _ensemble(store_path, 7)
    victim = RealisationStore(store_path, CONFIG, 7).realisation_path(1)
    damage(victim)
    with pytest.warns(CheckpointWarning, match=reason) as notices:
        resumed = _ensemble(store_path, 7)
    assert len(notices) == 1 and "\n" not in str(notices[0].message) and str(victim) in str(notices[0].message)
    assert resumed.computed == [1]
    np.testing.assert_array_equal(resumed.mean["cl"], clean.mean["cl"])
    np.testing.assert_array_equal(resumed.standard_error["cl"], clean.standard_error["cl"])
    assert victim.with_name(victim.name + ".rejected").exists()


def test_realisation_from_another_seed_is_recomputed_not_mixed_in(tmp_path):
    _ensemble(tmp_path / "seed8.h5", 8)
    foreign = RealisationStore(tmp_path / "seed8.h5", CONFIG, 8).realisation_path(1)
    _assert_rejected_and_recomputed(tmp_path, lambda victim: victim.write_bytes(foreign.read_bytes()), "root seed 8")


def test_realisation_with_altered_data_bytes_is_recomputed(tmp_path):
    _assert_rejected_and_recomputed(tmp_path, lambda victim: _overwrite_dataset_bytes(victim, "cl"), "checksum")


def test_realisation_from_another_configuration_is_recomputed(tmp_path):
    other = {**CONFIG, "nside": 8}
    _ensemble(tmp_path / "other.h5", 7, config=other)
    foreign = RealisationStore(tmp_path / "other.h5", other, 7).realisation_path(1)
    _assert_rejected_and_recomputed(tmp_path, lambda victim: victim.write_bytes(foreign.read_bytes()),
                                    "different configuration")


def test_realisation_copied_to_another_index_is_recomputed(tmp_path):
    def copy_zero(victim):
        victim.write_bytes(victim.with_name("realisation_000000.h5").read_bytes())

    _assert_rejected_and_recomputed(tmp_path, copy_zero, "holds realisation 0")


@pytest.mark.parametrize("content", [b"", b"\x89HDF\r\n\x1a\n garbage", b"not hdf5 at all" * 100])
def test_truncated_or_garbage_realisation_is_recomputed(tmp_path, content):
    _assert_rejected_and_recomputed(tmp_path, lambda victim: victim.write_bytes(content), "unreadable")


def test_realisation_without_integrity_attributes_is_recomputed(tmp_path):
    def strip(victim):
        with h5py.File(victim, "r+") as handle:
            del handle.attrs["data_sha256"]

    _assert_rejected_and_recomputed(tmp_path, strip, "data_sha256")


def test_realisation_of_another_package_version_is_recomputed(tmp_path):
    def relabel(victim):
        with h5py.File(victim, "r+") as handle:
            handle.attrs["package_version"] = "0.0.0-other"

    _assert_rejected_and_recomputed(tmp_path, relabel, "0.0.0-other")


@pytest.mark.parametrize("content", [b"", b"garbage" * 10])
def test_unreadable_manifest_is_refused_in_one_line_naming_the_file(tmp_path, content):
    (tmp_path / "run.h5").write_bytes(content)
    with pytest.raises(ParameterError) as error:
        RealisationStore(tmp_path / "run.h5", CONFIG, root_seed=1)
    assert error.value.name == "store" and str(tmp_path / "run.h5") in str(error.value)
    assert "\n" not in str(error.value)


def test_saved_realisation_records_every_integrity_attribute(tmp_path):
    store = RealisationStore(tmp_path / "run.h5", CONFIG, root_seed=42)
    store.save(2, realisation_seed(42, 2), _result())
    with h5py.File(store.realisation_path(2), "r") as handle:
        assert handle.attrs["config_digest"] == config_digest(config_to_json(CONFIG))
        assert handle.attrs["root_seed"] == "42" and handle.attrs["index"] == 2
        assert handle.attrs["package_version"] == __version__
        assert handle.attrs["data_sha256"] == data_checksum(_result())
    assert store.verify(2) is None
