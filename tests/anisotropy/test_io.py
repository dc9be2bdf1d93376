"""anisotropy.io: writes are all-or-nothing, and JSON conversion is exact and complete."""

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from anisotropy.io import atomic_output, jsonable, write_json


def test_atomic_output_leaves_the_old_file_untouched_when_the_writer_fails(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_output(target) as temporary:
        temporary.write_text("half of the new")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["table.csv"]
    with atomic_output(target) as temporary:
        temporary.write_text("new\n")
    assert target.read_text() == "new\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["table.csv"]


def test_atomic_output_keeps_the_suffix_for_writers_that_append_one(tmp_path):
    target = tmp_path / "cache.npz"
    with atomic_output(target) as temporary:
        assert temporary.suffix == ".npz"
        np.savez(temporary, samples=np.arange(3))  # savez appends .npz unless the name already ends with it
    assert np.array_equal(np.load(target)["samples"], np.arange(3))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cache.npz"]


@dataclasses.dataclass
class _Settings:
    nside: int
    times: tuple


def test_jsonable_round_trips_floats_exactly_and_converts_numpy_paths_and_dataclasses(tmp_path):
    value = {
        "array": np.array([0.1, 1 / 3, 2e-300]),
        "scalar": np.float32(0.5),
        "integer": np.int64(7),
        "path": Path("a/b"),
        "settings": _Settings(nside=8, times=(1.0, 2.5)),
        3: "key becomes a string",
    }
    path = write_json(tmp_path / "out.json", value)
    loaded = json.loads(path.read_text())
    assert loaded["array"] == [0.1, 1 / 3, 2e-300]
    assert loaded["scalar"] == 0.5 and loaded["integer"] == 7
    assert loaded["path"] == "a/b"
    assert loaded["settings"] == {"nside": 8, "times": [1.0, 2.5]}
    assert loaded["3"] == "key becomes a string"


def test_nonfinite_values_are_kept_or_nulled_on_request():
    assert math.isnan(jsonable([float("nan")])[0])
    assert jsonable([float("nan"), np.inf], nonfinite_as_null=True) == [None, None]
