"""Faults and hostile input at the command line (issue 14): every one ends in one line and exit status 2, no
partial outputs, and checkpoints that are damaged or foreign are recomputed rather than mixed in
(anisotropy/cli/__init__.py, anisotropy/io.py, validation/simulator/store.py; promises in docs/guide/faults.md)."""

from __future__ import annotations

import shutil

import h5py
import pytest

from anisotropy.cli import main

#: the tiny, fast turbulence of test_simulate.py (28 modes), run serially
TINY = ["--lmin-over-lmax", "0.02", "--modes-per-decade", "16", "--rigidity", "0.3", "--quiet", "--executor", "serial"]
ANISOTROPY = ["simulate", "anisotropy", *TINY, "--nside", "2", "--time", "0.5", "--n-times", "2"]
DIFFUSION = ["simulate", "diffusion", *TINY, "--particles", "8", "--time", "1", "--n-times", "3"]


def _status(argv) -> int:
    try:
        return main([str(item) for item in argv])
    except SystemExit as exit_:
        return exit_.code


def _one_line(captured) -> str:
    error = captured.err
    assert error.count("\n") == 1 and "Traceback" not in error, error
    return error


def _no_temporaries(directory):
    return not [path for path in directory.rglob("*") if ".tmp-" in path.name]


# -- checkpoints ---------------------------------------------------------------------------------------------------


def test_realisation_from_a_seed_8_run_in_a_seed_7_store_is_recomputed_with_one_notice(tmp_path, capsys):
    clean, mixed, foreign = tmp_path / "clean", tmp_path / "mixed", tmp_path / "foreign"
    assert _status([*ANISOTROPY, "--realisations", "3", "--seed", "7", "--out", clean]) == 0
    assert _status([*ANISOTROPY, "--realisations", "3", "--seed", "8", "--out", foreign]) == 0
    assert _status([*ANISOTROPY, "--realisations", "3", "--seed", "7", "--out", mixed]) == 0
    capsys.readouterr()
    target = mixed / "ensemble_realisations" / "realisation_000002.h5"
    shutil.copyfile(foreign / "ensemble_realisations" / "realisation_000002.h5", target)
    assert _status([*ANISOTROPY, "--realisations", "3", "--seed", "7", "--out", mixed]) == 0
    captured = capsys.readouterr()
    notice = _one_line(captured)
    assert "warning" in notice and str(target) in notice and "seed 8" in notice
    assert "(1 computed, 2 resumed)" in captured.out
    assert (mixed / "cl.csv").read_text() == (clean / "cl.csv").read_text()


def test_eight_bytes_overwritten_in_a_cl_dataset_are_detected_and_recomputed(tmp_path, capsys):
    clean, damaged = tmp_path / "clean", tmp_path / "damaged"
    assert _status([*ANISOTROPY, "--realisations", "2", "--out", clean]) == 0
    assert _status([*ANISOTROPY, "--realisations", "2", "--out", damaged]) == 0
    target = damaged / "ensemble_realisations" / "realisation_000001.h5"
    with h5py.File(target, "r") as handle:
        offset = handle["cl"].id.get_offset()
    with open(target, "r+b") as raw:
        raw.seek(offset + 16)
        raw.write(b"\x00\x01\x02\x03\x04\x05\x06\x07")
    capsys.readouterr()
    assert _status([*ANISOTROPY, "--realisations", "2", "--out", damaged]) == 0
    assert "checksum" in _one_line(capsys.readouterr())
    assert (damaged / "cl.csv").read_text() == (clean / "cl.csv").read_text()


def test_realisation_from_an_nside_4_run_is_recomputed_not_broadcast(tmp_path, capsys):
    small, large = tmp_path / "nside4", tmp_path / "nside2"
    assert _status([*ANISOTROPY, "--nside", "4", "--realisations", "1", "--out", small]) == 0
    assert _status([*ANISOTROPY, "--realisations", "2", "--out", large]) == 0
    target = large / "ensemble_realisations" / "realisation_000000.h5"
    shutil.copyfile(small / "ensemble_realisations" / "realisation_000000.h5", target)
    capsys.readouterr()
    assert _status([*ANISOTROPY, "--realisations", "2", "--out", large]) == 0
    assert "different configuration" in _one_line(capsys.readouterr())


@pytest.mark.parametrize("content", [b"", b"\x89HDF\r\n\x1a\n truncated"])
def test_truncated_or_garbage_store_exits_2_naming_the_file(tmp_path, capsys, content):
    tmp_path.joinpath("ensemble.h5").write_bytes(content)
    assert _status([*DIFFUSION, "--out", tmp_path]) == 2
    error = _one_line(capsys.readouterr())
    assert "store" in error and str(tmp_path / "ensemble.h5") in error


# -- extreme values: one line naming the option the user gave ----------------------------------------------------


@pytest.mark.parametrize(
    "argv, parameter",
    [
        (["predict", "--energy", "1e-320"], "energy"),
        (["predict", "--energy", "1e308"], "energy"),
        (["predict", "--b-rms", "1e308"], "b_rms"),
        (["predict", "--l-c", "1e308"], "l_c"),
        (["predict", "--gradient", "1e308"], "gradient"),
        (["predict", "--dipole", "1e-320"], "dipole"),
        (["predict", "--lmin-over-lmax", "1e-320"], "lmin_over_lmax"),
        (["predict", "--modes-per-decade", "1e308"], "modes_per_decade"),
        (["predict", "--lmax", "9" * 400], "lmax"),
        ([*DIFFUSION, "--rigidity", "1e-320"], "rigidity"),
        ([*DIFFUSION, "--lmin-over-lmax", "1e-320"], "lmin_over_lmax"),
        ([*DIFFUSION, "--dt", "1e-320"], "dt"),
        ([*DIFFUSION, "--time", "1e308"], "time"),
        ([*DIFFUSION, "--particles", "1e308"], "particles"),
        ([*DIFFUSION, "--fieldlines", "1e308"], "fieldlines"),
        ([*DIFFUSION, "--realisations", "1e308"], "realisations"),
        ([*ANISOTROPY, "--modes-per-decade", "1e308"], "modes_per_decade"),
        ([*ANISOTROPY, "--kappa", "1e308", "1"], "kappa"),
        (["fit", "synthetic_hawc_icecube_10TeV_slab.csv", "--mcmc-steps", "1e308"], "mcmc_steps"),
        (["fit", "synthetic_hawc_icecube_10TeV_slab.csv", "--lmin", "1e308"], "lmin"),
    ],
)
def test_extreme_option_values_exit_2_with_one_line_naming_the_option(tmp_path, capsys, argv, parameter):
    assert _status([*argv, "--out", tmp_path / "out"]) == 2
    error = _one_line(capsys.readouterr())
    assert parameter in error and len(error) < 400
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_non_utf8_spectrum_file_exits_2_naming_the_file(tmp_path, capsys):
    spectrum = tmp_path / "latin1.csv"
    spectrum.write_bytes("ell,cl,cl_err\n1,1e-6,1e-7 # \u00b5\n".encode("latin-1"))
    assert _status(["fit", spectrum, "--experiment", "hawc", "--out", tmp_path / "out"]) == 2
    error = _one_line(capsys.readouterr())
    assert "spectrum" in error and str(spectrum) in error
