"""``cr-anisotropy simulate anisotropy|diffusion|pairs``: outputs, columns, resume and error paths
(anisotropy/cli/simulate.py)."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys

import h5py
import healpy as hp
import numpy as np
import pytest

from anisotropy.cli import main
from validation.simulator.pusher import DEFAULT_KERNEL

#: a tiny, fast turbulence (28 modes) shared by the CLI runs
TINY = ["--lmin-over-lmax", "0.02", "--modes-per-decade", "16", "--rigidity", "0.3", "--quiet", "--executor", "serial"]
ANISOTROPY = ["simulate", "anisotropy", *TINY, "--nside", "4", "--time", "1", "--n-times", "3"]
DIFFUSION = ["simulate", "diffusion", *TINY, "--particles", "64", "--time", "3", "--n-times", "6"]
RUN_KEYS = {
    "n_modes", "lmin_over_lmax", "dt", "steps_per_particle", "particles_per_realisation", "realisations", "seed",
    "executor", "workers", "wall_seconds", "field_kernel",
}


def _ballistic_tolerance(time, rigidity):
    """Relative deficit of <|Δr|²> below the ballistic t² at early times.

    An arc of curvature |b_⊥|/ρ has chord² = t²(1 - (t|b_⊥|/ρ)²/12 + ...), and <|b|²> = 1 in units of B_tot, so
    the mean deficit is at most (t/ρ)²/12 (|v| = c exactly with Boris).
    """
    return (time / rigidity) ** 2 / 12.0


def _status(argv) -> int:
    try:
        return main([str(item) for item in argv])
    except SystemExit as exit_:
        return exit_.code


def _read_csv(path):
    with open(path, newline="") as handle:
        rows = list(csv.reader(line for line in handle if not line.startswith("#")))
    return rows[0], np.array(rows[1:], dtype=float)


def _no_temporaries(directory):
    return not [path for path in directory.rglob("*") if ".tmp-" in path.name]


def test_anisotropy_writes_cl_maps_store_and_run_record(tmp_path):
    out = tmp_path / "run"
    assert _status([*ANISOTROPY, "--realisations", "2", "--seed", "5", "--out", out]) == 0
    header, table = _read_csv(out / "cl.csv")
    assert header == ["T", "ell", "cl", "cl_err"]
    nside, n_times = 4, 3
    assert table.shape == (n_times * (2 * nside + 1), 4)
    np.testing.assert_array_equal(table[:, 1], np.tile(np.arange(2 * nside + 1), n_times))

    record = json.loads((out / "run.json").read_text())
    assert RUN_KEYS <= set(record)
    assert record["realisations"] == 2 and record["seed"] == 5 and record["executor"] == "serial"
    assert record["particles_per_realisation"] == hp.nside2npix(nside)
    assert record["steps_per_particle"] * record["dt"] == pytest.approx(1.0, rel=1e-12)
    assert record["wall_seconds"] > 0
    assert record["field_kernel"] == DEFAULT_KERNEL  # "simd" or "portable": the orbits differ by rounding

    # the table is the ensemble of the stored realisations: mean and standard error recomputed from the store
    with h5py.File(out / "ensemble.h5", "r") as store:
        realisations = [store[f"realisations/{index:06d}"] for index in range(2)]
        cl = np.array([group["cl"][()] for group in realisations])
        first_maps = realisations[0]["maps"][()]
    np.testing.assert_allclose(table[:, 2], cl.mean(axis=0).ravel(), rtol=1e-12)
    np.testing.assert_allclose(table[:, 3], (cl.std(axis=0, ddof=1) / math.sqrt(2)).ravel(), rtol=1e-10)

    # FITS maps: realisation 0 at each T, and their anafast spectrum is realisation 0's C_l
    for k in range(n_times):
        sky, header_cards = hp.read_map(out / f"map_T{k:02d}.fits", h=True)
        assert hp.get_nside(sky) == nside
        np.testing.assert_array_equal(sky, first_maps[k])
        assert dict(header_cards)["BACKTIME"] == pytest.approx(table[k * (2 * nside + 1), 0])
    assert _no_temporaries(out)


def test_anisotropy_rerun_resumes_and_equals_an_uninterrupted_run(tmp_path):
    partial, whole = tmp_path / "partial", tmp_path / "whole"
    assert _status([*ANISOTROPY, "--realisations", "2", "--out", partial]) == 0
    assert _status([*ANISOTROPY, "--realisations", "3", "--out", partial]) == 0
    assert _status([*ANISOTROPY, "--realisations", "3", "--out", whole]) == 0
    record = json.loads((partial / "run.json").read_text())
    assert record["realisations_resumed"] == 2 and record["realisations_computed"] == 1
    assert (partial / "cl.csv").read_text() == (whole / "cl.csv").read_text()
    assert (partial / "cl_details.csv").read_text() == (whole / "cl_details.csv").read_text()


def test_anisotropy_pair_estimator_columns(tmp_path):
    out = tmp_path / "pairs"
    assert _status([*ANISOTROPY, "--realisations", "2", "--pairs", "20", "--pair-nodes", "12", "--out", out]) == 0
    header, table = _read_csv(out / "cl_details.csv")
    assert header == ["T", "ell", "cl", "cl_err", "noise_floor", "noise_floor_err", "cl_pair", "cl_pair_err"]
    assert np.all(np.isnan(table[table[:, 1] == 0, 6]))  # the pair estimator has no monopole
    assert np.all(np.isfinite(table[table[:, 1] > 0, 6]))
    assert json.loads((out / "run.json").read_text())["particles_per_realisation"] == 192 + 20 * 13


def test_diffusion_writes_the_design_columns_and_starts_ballistic(tmp_path):
    out = tmp_path / "diffusion"
    assert _status([*DIFFUSION, "--realisations", "2", "--out", out]) == 0
    header, table = _read_csv(out / "diffusion.csv")
    assert header == ["t", "msd_par", "msd_par_err", "msd_perp", "msd_perp_err", "d_par", "d_par_err", "d_perp",
                      "d_perp_err"]
    time, msd_parallel, msd_perpendicular, d_parallel, d_perpendicular = table[0, [0, 1, 3, 5, 7]]
    next_time = table[1, 0]
    # ballistic start (|v| = c): <Δz²> + <Δr_⊥²> = t² and d_∥ + d_⊥ = ½ d(t²)/dt = t
    assert msd_parallel + msd_perpendicular == pytest.approx(time**2, rel=_ballistic_tolerance(time, 0.3))
    # the running coefficient takes the log-slope one-sided towards the next output: the deficit there, spread
    # over ln(t1/t0), adds to the slope error
    slope_tolerance = _ballistic_tolerance(time, 0.3) + _ballistic_tolerance(next_time, 0.3) / math.log(
        next_time / time
    )
    assert d_parallel + d_perpendicular == pytest.approx(time, rel=slope_tolerance)
    record = json.loads((out / "run.json").read_text())
    assert RUN_KEYS <= set(record)
    assert record["particles_per_realisation"] == 64
    assert table[-1, 0] == pytest.approx(3.0, rel=1e-12)
    assert _no_temporaries(out)


@pytest.mark.parametrize(
    ("extra", "parameter"),
    [
        (["--eta", "1.5"], "eta"),
        (["--rigidity", "-1"], "rigidity"),
        (["--nside", "3"], "nside"),
        (["--particles", "2"], "particles"),
        (["--executor", "threads"], "executor"),
        (["--realisations", "0"], "realisations"),
        (["--scheduler", "tcp://127.0.0.1:1"], "scheduler"),
        (["--kappa", "0.1"], "kappa"),
        (["--times", "1,0.5"], "times"),
        (["--times", "1,2", "--time", "3"], "times"),
        (["--times", "1,x"], "times"),
        (["--slab-field", "spline"], "slab"),
        (["--slab-field", "table", "--turbulence", "isotropic"], "slab_field"),
    ],
)
def test_bad_anisotropy_input_exits_2_with_one_line_naming_the_parameter(tmp_path, capsys, extra, parameter):
    argv = ["simulate", "anisotropy", "--quiet", "--executor", "serial", "--out", tmp_path, *extra]
    if "--executor" in extra:
        argv = ["simulate", "anisotropy", "--quiet", "--out", tmp_path, *extra]
    assert _status(argv) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error
    assert parameter.split("_")[0] in error


@pytest.mark.parametrize(("extra", "expected"), [([], "table"), (["--slab-field", "modes"], "modes")])
def test_slab_field_choice_is_recorded_in_run_json_and_the_store(tmp_path, extra, expected):
    out = tmp_path / "slab"
    assert _status([*DIFFUSION, "--turbulence", "slab", "--eta", "0.5", "--realisations", "1", *extra,
                    "--out", out]) == 0
    record = json.loads((out / "run.json").read_text())
    assert record["slab_field"] == expected
    assert (record["slab_table_mib_mean"] > 0) == (expected == "table")
    with h5py.File(out / "ensemble.h5", "r") as handle:
        assert handle.attrs["slab_field"] == expected
    with h5py.File(out / "ensemble_realisations" / "realisation_000000.h5", "r") as handle:
        assert handle.attrs["slab_field"] == expected


def test_a_slab_table_over_its_memory_cap_exits_2_with_one_line_saying_how_to_shrink_it(tmp_path, capsys,
                                                                                          monkeypatch):
    from validation.simulator import slab_table

    monkeypatch.setattr(slab_table, "MAX_TABLE_BYTES", 1 << 20)  # 1 MiB: |z| ≲ 1 L_c at these modes
    argv = [*DIFFUSION, "--turbulence", "slab", "--time", "100", "--rigidity", "3", "--realisations", "1",
            "--out", tmp_path]
    assert _status(argv) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "slab_field" in error and "--slab-field modes" in error


def test_slab_anisotropy_run_with_the_table_matches_the_mode_sum_at_early_times(tmp_path):
    # T = 0.01 L_c/c ≪ 1/Ω: the two maps differ only by the table's field error times T, far below C_l's scale
    runs = {}
    for choice in ("table", "modes"):
        out = tmp_path / choice
        argv = ["simulate", "anisotropy", *TINY, "--turbulence", "slab", "--eta", "0.5", "--nside", "2", "--times",
                "0.01,0.1", "--slab-field", choice, "--realisations", "1", "--out", out]
        assert _status(argv) == 0
        runs[choice] = _read_csv(out / "cl.csv")[1]
    assert np.allclose(runs["table"][:, 2], runs["modes"][:, 2], rtol=1e-6, atol=1e-12)


def test_resuming_into_a_store_with_other_parameters_exits_2(tmp_path, capsys):
    assert _status([*DIFFUSION, "--realisations", "1", "--out", tmp_path]) == 0
    capsys.readouterr()
    assert _status([*DIFFUSION, "--realisations", "1", "--eta", "0.5", "--out", tmp_path]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "store" in error and "eta" in error


def test_bad_input_exit_status_of_the_installed_command(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "anisotropy.cli", "simulate", "diffusion", "--particles", "0", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1 and "particles" in completed.stderr


PAIRS = ["simulate", "pairs", *TINY, "--nodes", "6", "--pairs", "16", "--time", "1", "--n-times", "2"]


def test_pairs_writes_arrays_cl_table_and_run_record_and_resumes(tmp_path):
    assert _status([*PAIRS, "--realisations", "2", "--out", tmp_path]) == 0
    with np.load(tmp_path / "pairs.npz") as arrays:
        first = {name: arrays[name] for name in arrays.files}
    assert first["mean/mixing"].shape == (3, 6, 9)  # ages 0 + 2, nodes, lmax_mixing + 1
    assert first["mean/direction_correlation"].shape == (2, 3, 3, 6)
    with open(tmp_path / "pair_cl.csv", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert header == ["gradient", "T", "ell", "cl", "cl_err"]
    assert {row[0] for row in rows} == {"along", "across"}
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["command"] == "simulate pairs" and record["package_version"] and record["nodes"] == 6
    # rerun: everything resumed from the store, identical arrays
    assert _status([*PAIRS, "--realisations", "2", "--out", tmp_path]) == 0
    with np.load(tmp_path / "pairs.npz") as arrays:
        for name in arrays.files:
            np.testing.assert_array_equal(arrays[name], first[name])
    assert json.loads((tmp_path / "run.json").read_text())["realisations_resumed"] == 2
    assert len(rows) == 2 * 2 * 6 and _no_temporaries(tmp_path)  # gradients x ages > 0 x (l = 0..nodes - 1)


@pytest.mark.parametrize(("extra", "parameter"), [(["--nodes", "1"], "nodes"), (["--pairs", "0"], "pairs"),
                                                  (["--lmax-mixing", "-1"], "lmax_mixing"),
                                                  (["--n-times", "0"], "n_times")])
def test_bad_pairs_input_exits_2_with_one_line_naming_the_parameter(tmp_path, capsys, extra, parameter):
    assert _status(["simulate", "pairs", "--quiet", "--executor", "serial", "--out", tmp_path, *extra]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and parameter in error


def test_kappa_qlt_is_slab_qlt_of_the_configured_turbulence():
    # --kappa qlt passes the simulator's turbulence as one description; the loose numbers give the same κ_∥
    from types import SimpleNamespace

    from anisotropy.cli.simulate import _kappa
    from anisotropy.transport import parallel_diffusion
    from validation.simulator.config import TurbulenceConfig

    turbulence = TurbulenceConfig(kind="slab", eta=0.4, lmin_over_lmax=0.02, spectral_index=1.5)
    kappa = _kappa(SimpleNamespace(kappa=["qlt"], rigidity=0.3), turbulence)
    assert kappa == (parallel_diffusion(0.3, 0.4, lmin_over_lmax=0.02, spectral_index=1.5), 0.0)
