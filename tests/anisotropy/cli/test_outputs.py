"""Outputs ready for a pipeline (issue 14, item 6): self-describing FITS maps and their ensemble mean, Mollweide
pictures, plots from every simulate job, HDF5 units and ordering, diffusion.csv errors and units, fit.json
provenance, progress while fit builds its grid, units at the API edge, and what `make demo` installs
(anisotropy/cli/simulate.py, fit.py, validation/simulator/store.py, anisotropy/units.py, Makefile)."""

from __future__ import annotations

import csv
import hashlib
import json
import math
from pathlib import Path

import astropy.units as u
import h5py
import numpy as np
import pytest
import tomllib
from astropy.io import fits

import anisotropy as an
from anisotropy._version import __version__
from anisotropy.cli import build_parser, main
from anisotropy.data import DATA_DIR

TINY = ["--lmin-over-lmax", "0.02", "--modes-per-decade", "16", "--rigidity", "0.3", "--quiet", "--executor", "serial"]
ANISOTROPY = ["simulate", "anisotropy", *TINY, "--nside", "2", "--time", "0.5", "--n-times", "2", "--eta", "0.7",
              "--turbulence", "slab", "--realisations", "3"]
DIFFUSION = ["simulate", "diffusion", *TINY, "--particles", "16", "--time", "1", "--n-times", "4",
             "--realisations", "3"]
REPOSITORY = Path(__file__).resolve().parents[3]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: FITS maps are float32: the written mean agrees with the float64 mean to float32 rounding (2**-24 ~ 6e-8)
#: of values of order max |map|, with a margin for the sum of three float32 inputs
FLOAT32_ATOL_FRACTION = 1e-6


def _status(argv) -> int:
    try:
        return main([str(item) for item in argv])
    except SystemExit as exit_:
        return exit_.code


@pytest.fixture(scope="module")
def anisotropy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("anisotropy")
    assert _status([*ANISOTROPY, "--out", out]) == 0
    return out


@pytest.fixture(scope="module")
def diffusion_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("diffusion")
    assert _status([*DIFFUSION, "--out", out]) == 0
    return out


def _stored(out, name, count=3):
    with h5py.File(out / "ensemble.h5", "r") as store:
        return np.array([store[f"realisations/{index:06d}/{name}"][()] for index in range(count)])


def test_fits_maps_carry_frame_units_version_and_turbulence(anisotropy_run):
    for name in ("map_T00.fits", "map_T01.fits", "map_mean_T00.fits", "map_mean_T01.fits"):
        header = fits.getheader(anisotropy_run / name, 1)
        assert header["COORDSYS"] == "B0" and header["TUNIT1"] == "relative intensity"
        assert header["CREATOR"] == f"cr-anisotropy {__version__}"
        assert header["ETA"] == pytest.approx(0.7) and header["TURBKIND"] == "slab"
    assert fits.getheader(anisotropy_run / "map_mean_T01.fits", 1)["NREALIS"] == 3


def test_ensemble_mean_map_is_the_mean_of_the_stored_realisation_maps(anisotropy_run):
    import healpy as hp

    maps = _stored(anisotropy_run, "maps").astype(np.float64)
    for k in range(2):
        written = hp.read_map(anisotropy_run / f"map_mean_T{k:02d}.fits")
        # float32 on disk: agreement to float32 rounding of values of order max |map|
        tolerance = FLOAT32_ATOL_FRACTION * np.abs(maps).max()
        np.testing.assert_allclose(written, maps[:, k].mean(axis=0), rtol=0, atol=tolerance)


def test_one_mollweide_png_per_time_and_a_cl_plot(anisotropy_run):
    record = json.loads((anisotropy_run / "run.json").read_text())
    for name in ("map_T00.png", "map_T01.png", "cl.png"):
        assert (anisotropy_run / name).read_bytes()[:8] == PNG_SIGNATURE
        assert name in record["outputs"]


def test_hdf5_datasets_carry_units_and_ordering(anisotropy_run):
    with h5py.File(anisotropy_run / "ensemble.h5", "r") as store:
        for path in ("realisations/000000/cl", "ensemble/mean/cl", "ensemble/standard_error/cl"):
            assert store[path].attrs["ordering"] == "[time, ell]" and "C_l" in store[path].attrs["units"]
        assert "HEALPix RING" in store["realisations/000001/maps"].attrs["ordering"]
        assert store["realisations/000000/times"].attrs["units"] == "L_c/c"


def test_diffusion_csv_has_units_line_and_standard_errors_over_realisations(diffusion_run):
    lines = (diffusion_run / "diffusion.csv").read_text().splitlines()
    assert lines[0].startswith("# units: t in L_c/c; msd in L_c^2; d in c L_c")
    rows = list(csv.DictReader(lines[1:]))
    for column, stored in (("msd_par", "msd_parallel"), ("msd_perp", "msd_perp"), ("d_par", "d_parallel"),
                           ("d_perp", "d_perp")):
        samples = _stored(diffusion_run, stored)
        expected = samples.std(axis=0, ddof=1) / math.sqrt(samples.shape[0])
        np.testing.assert_allclose([float(row[f"{column}_err"]) for row in rows], expected, rtol=1e-10)
    assert (diffusion_run / "diffusion.png").read_bytes()[:8] == PNG_SIGNATURE


def test_fit_json_records_version_and_the_input_checksum_and_fit_has_its_own_directory(tmp_path):
    spectrum = "synthetic_hawc_icecube_10TeV_slab.csv"
    assert _status(["fit", spectrum, "--model", "powerlaw", "--no-plot", "--out", tmp_path]) == 0
    record = json.loads((tmp_path / "fit.json").read_text())
    assert record["package_version"] == __version__
    assert record["input"]["sha256"] == hashlib.sha256((DATA_DIR / spectrum).read_bytes()).hexdigest()
    defaults = {name: build_parser().parse_args([name, *extra]).out
                for name, extra in (("fit", [spectrum]), ("predict", []))}
    assert defaults["fit"] != defaults["predict"]


def test_interpolated_model_shows_progress_while_it_builds_its_grid(capsys):
    from anisotropy.fit import InterpolatedModel, ToyModel

    InterpolatedModel(ToyModel(lmax=8), points=3, progress=True)
    assert "model grid" in capsys.readouterr().err
    InterpolatedModel(ToyModel(lmax=8), points=3)
    assert "model grid" not in capsys.readouterr().err


def test_astropy_quantities_and_unit_strings_equal_floats_in_documented_units():
    reference = an.predict_cl(10.0, b_rms=3.0, l_c=1.0, lmax=20).cl
    same = [an.predict_cl(energy=10 * u.TeV, lmax=20).cl,
            an.predict_cl(energy=1e4 * u.GeV, b_rms=0.3 * u.nT, l_c=1.0 * u.pc, lmax=20).cl,
            an.predict_cl(energy="10 TeV", b_rms="3 uG", lmax=20).cl]
    for cl in same:
        np.testing.assert_allclose(cl[1:], reference[1:], rtol=1e-12)
    with pytest.raises(an.ParameterError) as error:
        an.predict_cl(energy=10 * u.m)
    assert error.value.name == "energy"


def test_cli_accepts_quantities_with_units(tmp_path):
    assert _status(["predict", "--energy", "1e4 GeV", "--l-c", "1 pc", "--lmax", "10", "--no-plot",
                    "--out", tmp_path]) == 0
    assert json.loads((tmp_path / "params.json").read_text())["inputs"]["energy"] == pytest.approx(10.0, rel=1e-12)


def test_make_demo_installs_the_base_package_only_and_notebooks_extra_has_ipywidgets():
    makefile = (REPOSITORY / "Makefile").read_text()
    demo_prerequisite = makefile.split("\ndemo:")[1].split()[0]
    recipe = makefile.split(f"\n{demo_prerequisite}:")[1].split("\n\n")[0]
    assert 'pip install --quiet -e .' in recipe and "[" not in recipe
    extras = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(item.startswith("ipywidgets") for item in extras["notebooks"])
    assert any(item.startswith("hypothesis") for item in extras["test"])
