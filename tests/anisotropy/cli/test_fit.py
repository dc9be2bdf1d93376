"""``cr-anisotropy fit``: a bundled synthetic spectrum end to end, and one-line errors with exit status 2."""

from __future__ import annotations

import json

import pytest

from anisotropy.cli import main

BUNDLED = "synthetic_hawc_icecube_10TeV_slab.csv"


def run_cli(argv, capsys):
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse errors exit directly
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize(
    ("extra", "n_parameters"),
    [(["--model", "powerlaw"], 2), (["--model", "toy", "--grid-points", "5", "--normalisation", "dipole"], 1),
     pytest.param(["--model", "turbulence", "--grid-points", "3"], 3, marks=pytest.mark.slow)],
)
def test_fit_of_a_bundled_synthetic_spectrum_writes_result_and_plots(tmp_path, capsys, extra, n_parameters):
    status, out, err = run_cli(["fit", BUNDLED, "--experiment", "hawc+icecube", "--nside", "16",
                                "--out", str(tmp_path), *extra], capsys)
    assert status == 0, err
    assert "chi2/dof" in out and "SYNTHETIC" in out
    result = json.loads((tmp_path / "fit.json").read_text())
    assert result["experiment"] == "hawc+icecube"
    assert len(result["best"]) == n_parameters
    # the bundled spectrum has ℓ = 4..40 (ℓ ≤ 3 subtracted); every one is fitted
    assert result["ell"] == list(range(4, 41))
    assert result["dof"] == 37 - n_parameters
    for name in ("fit.png", "profiles.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_experiment_defaults_to_the_spectrum_column(tmp_path, capsys):
    status, out, err = run_cli(["fit", BUNDLED, "--model", "powerlaw", "--nside", "16", "--no-plot",
                                "--out", str(tmp_path)], capsys)
    assert status == 0, err
    assert "experiment hawc+icecube" in out
    assert not (tmp_path / "fit.png").exists()


def test_icecube_cap_fit_reports_the_projected_modes_and_a_sane_chi2(tmp_path, capsys):
    # the cap dec <= -25° leaves ~38·(1 - 130°/180°) ≈ 10.6 of the 38 combinations ℓ = 3..40 without power
    # (anisotropy.fit docstring): they are projected out and the dof counts the kept modes; the bundled synthetic
    # spectrum is one pixelised realisation of the forward model (make_synthetic.py), so χ² must lie inside the
    # central 99.9 % of χ²(dof) (it was ~1e9 before)
    from scipy import stats

    status, out, err = run_cli(["fit", "synthetic_icecube_12yr_10TeV_slab.csv", "--model", "powerlaw", "--no-plot",
                                "--out", str(tmp_path)], capsys)
    assert status == 0, err
    result = json.loads((tmp_path / "fit.json").read_text())
    assert result["experiment"] == "icecube-12yr" and result["n_multipoles"] == 38
    assert abs((38 - result["n_modes"]) - 38 * (1 - 130 / 180)) <= 2
    assert result["dof"] == result["n_modes"] - 2
    assert stats.chi2.ppf(0.0005, result["dof"]) < result["chi2"] < stats.chi2.ppf(0.9995, result["dof"])
    assert "covariance modes kept" in out


def write_spectrum(path, header="ell,cl,cl_err,experiment,energy_tev,filtering,source,obtained",
                   experiment="my-array"):
    rows = [f"{ell},{1e-7 / ell**2},{1e-9},{experiment},10,ring,test,typed" for ell in range(4, 21)]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("argv", "parameter"),
    [
        (["fit", "absent.csv"], "spectrum"),
        (["fit", BUNDLED, "--experiment", "auger"], "experiment"),
        (["fit", BUNDLED, "--nside", "24"], "nside"),
        (["fit", BUNDLED, "--c1", "-1"], "c1"),
        (["fit", BUNDLED, "--grid-points", "1"], "grid_points"),
        (["fit", BUNDLED, "--energy", "abc"], "energy"),
        (["fit", BUNDLED, "--model", "powerlaw", "--nside", "16", "--lmin", "39"], "lmin"),
        (["fit", BUNDLED, "--lmin", "10", "--lmax", "5"], "lmax"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_parameter(tmp_path, capsys, argv, parameter):
    status, _, err = run_cli([*argv, "--out", str(tmp_path)], capsys)
    assert status == 2
    assert len(err.strip().splitlines()) == 1, err
    assert parameter in err


def test_spectrum_without_a_preset_needs_experiment(tmp_path, capsys):
    path = write_spectrum(tmp_path / "mine.csv")
    status, _, err = run_cli(["fit", str(path), "--model", "powerlaw", "--out", str(tmp_path)], capsys)
    assert status == 2 and "experiment" in err and len(err.strip().splitlines()) == 1


def test_spectrum_missing_a_column_exits_2_naming_it(tmp_path, capsys):
    path = write_spectrum(tmp_path / "mine.csv", header="ell,cl,experiment,energy_tev,filtering,source,obtained",
                          experiment="hawc+icecube")
    path.write_text("\n".join(",".join(line.split(",")[:2] + line.split(",")[3:])
                              if index else line for index, line in enumerate(path.read_text().splitlines())))
    status, _, err = run_cli(["fit", str(path), "--out", str(tmp_path)], capsys)
    assert status == 2 and "cl_err" in err and len(err.strip().splitlines()) == 1
