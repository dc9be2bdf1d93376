"""Bundled anchors, metadata and the spectrum loader (anisotropy.data)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from anisotropy import data
from anisotropy.errors import ParameterError
from anisotropy.observatory import PRESETS

#: the anchors quote derived C_1 to three significant figures
THREE_FIGURES = 5e-3


def test_every_bundled_anchor_has_a_source_and_a_status():
    rows = data.anchors()
    assert len(rows) >= 20
    for row in rows:
        assert row.source_resolved.strip(), row.quantity
        assert row.status in {"V", "A", "D"}, row.quantity
        assert row.value.strip(), row.quantity


def test_same_file_sources_resolve_to_the_preceding_repository_file():
    row = data.anchor("noise_level_Cl_HAWC300")
    assert row.source == "same file"
    assert "jcdiazvelez/cra-tools" in row.source_resolved and "powerspectrum.py" in row.source_resolved


def test_derived_dipole_power_follows_from_the_abstract_dipole_components():
    # C_1 = (4π/9)|δ|² (docs/physics/conventions.md#angular-power-spectrum) from the two horizontal components of
    # arXiv:1812.05682's abstract
    delta_0h, delta_6h = data.anchor_value("delta_0h"), data.anchor_value("delta_6h")
    c1 = 4 * math.pi / 9 * (delta_0h**2 + delta_6h**2)
    assert c1 == pytest.approx(data.anchor_value("C1_fullsky_horizontal_only"), rel=THREE_FIGURES)
    delta_n = data.anchor_value("delta_N")
    c1_full = 4 * math.pi / 9 * (delta_0h**2 + delta_6h**2 + delta_n**2)
    assert c1_full == pytest.approx(data.anchor_value("C1_fullsky_with_deltaN"), rel=THREE_FIGURES)


def test_anchor_value_reads_the_leading_number_and_rejects_bounds_and_text():
    assert data.anchor_value("delta_6h") == 7.25e-4
    assert data.anchor_value("events_IceCube_12yr") == 7.92e11
    with pytest.raises(ParameterError, match="not a single number"):
        data.anchor_value("events_IceCube_11yr")  # '>7.0e11' is a bound
    with pytest.raises(ParameterError, match=r"^quantity"):
        data.anchor("no_such_anchor")


def test_metadata_lists_the_key_data_sets_with_references():
    ids = {entry["id"] for entry in data.metadata()["datasets"]}
    assert {"hawc_icecube_allsky_2019", "icecube_12yr_2025", "hawc_2014", "icecube_6yr_2016"} <= ids
    for entry in data.metadata()["datasets"]:
        assert entry["ref"].strip()
    assert data.dataset_metadata("icecube_12yr_2025")["arxiv"] == "2412.05046"
    with pytest.raises(ParameterError, match=r"^dataset"):
        data.dataset_metadata("auger")


def test_preset_provenance_names_existing_anchor_rows():
    quantities = {row.quantity for row in data.anchors()}
    for experiment in PRESETS.values():
        for text in experiment.provenance.values():
            for name in re.findall(r"anchor (\w+)", text):
                assert name in quantities, (experiment.name, name)


def test_bundled_spectra_are_labelled_synthetic_in_name_and_metadata():
    names = data.bundled_spectra()
    assert names
    for name in names:
        spectrum = data.load_spectrum(name)
        assert ("synthetic" in name) == spectrum.synthetic, name
        assert spectrum.obtained.startswith("synthetic"), name
        assert spectrum.experiment in PRESETS
        assert np.all(spectrum.cl_err > 0) and np.all(np.isfinite(spectrum.cl))


HEADER = ["ell", "cl", "cl_err", "experiment", "energy_tev", "filtering", "source", "obtained"]
ROW = {"ell": "4", "cl": "1e-7", "cl_err": "2e-8", "experiment": "hawc+icecube", "energy_tev": "10",
       "filtering": "ring; dec -80..70", "source": "test", "obtained": "typed in"}


def write_csv(path, header, rows):
    lines = [",".join(header)] + [",".join(row[name] for name in header) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("missing", data.REQUIRED_COLUMNS)
def test_loader_names_a_missing_required_column(tmp_path, missing):
    header = [name for name in HEADER if name != missing]
    path = write_csv(tmp_path / "spectrum.csv", header, [ROW])
    with pytest.raises(ParameterError, match=f"^{missing}: missing column"):
        data.load_spectrum(path)


@pytest.mark.parametrize(
    ("rows", "column"),
    [
        ([{**ROW, "cl_err": "-1e-8"}], "cl_err"),
        ([{**ROW, "cl": "abc"}], "cl"),
        ([{**ROW, "ell": "4.5"}], "ell"),
        ([ROW, ROW], "ell"),
        ([ROW, {**ROW, "ell": "5", "experiment": "hawc"}], "experiment"),
        ([{**ROW, "energy_tev": "-3"}], "energy_tev"),
        ([{**ROW, "source": ""}], "source"),
    ],
)
def test_loader_rejects_bad_values_naming_the_column(tmp_path, rows, column):
    path = write_csv(tmp_path / "spectrum.csv", HEADER, rows)
    with pytest.raises(ParameterError, match=f"^{column}"):
        data.load_spectrum(path)


def test_loader_rejects_unknown_columns_and_missing_files(tmp_path):
    path = write_csv(tmp_path / "spectrum.csv", [*HEADER, "colour"], [{**ROW, "colour": "red"}])
    with pytest.raises(ParameterError, match=r"^colour: unknown column"):
        data.load_spectrum(path)
    with pytest.raises(ParameterError, match=r"^spectrum: no such file"):
        data.load_spectrum(tmp_path / "absent.csv")


def test_written_spectrum_reads_back_identically(tmp_path):
    original = data.Spectrum(
        ell=np.array([5, 4, 6]), cl=np.array([2e-8, 1e-7, 1.5e-8]), cl_err=np.array([1e-9, 2e-9, 3e-9]),
        experiment="hawc+icecube", energy_tev=10.0, filtering="ring, mask", source="test, with comma",
        obtained='digitised "Fig. 7"', cl_err_sys=np.array([1e-10, 2e-10, 3e-10]), comments=["a comment"],
    )
    loaded = data.load_spectrum(data.write_spectrum(original, tmp_path / "roundtrip.csv"))
    order = np.argsort(original.ell)
    np.testing.assert_array_equal(loaded.ell, original.ell[order])
    np.testing.assert_array_equal(loaded.cl, original.cl[order])
    np.testing.assert_array_equal(loaded.cl_err_sys, original.cl_err_sys[order])
    assert (loaded.source, loaded.obtained, loaded.comments) == (original.source, original.obtained, ["a comment"])
    assert loaded.synthetic is False
