"""``cr-anisotropy galaxy predict|fit``: files, agreement with the Python API, one-line errors with exit status 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from anisotropy.cli import main
from anisotropy.galaxy.observables import ratio
from anisotropy.galaxy.solver import GalaxyModel, solve

COARSE = ["--energies-per-decade", "6", "--disk-intervals", "2", "--halo-intervals", "8"]


def run_cli(argv, capsys):
    try:
        status = main(argv)
    except SystemExit as exit_:  # argparse errors exit directly
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_predict_writes_ratios_that_match_the_python_api(tmp_path, capsys):
    status, out, err = run_cli(["galaxy", "predict", "--alpha", "0.3", "--phi", "0.4", "--energies", "0.5", "2",
                                "10", "--out", str(tmp_path), *COARSE], capsys)
    assert status == 0, err
    lines = [line for line in (tmp_path / "ratios.csv").read_text().splitlines() if not line.startswith("#")]
    assert lines[0] == "energy_gev_per_nucleon,B/C,Be/B,10Be/9Be"
    table = np.array([[float(value) for value in line.split(",")] for line in lines[1:]])
    solution = solve(GalaxyModel(alpha=0.3, energies_per_decade=6, disk_intervals=2, halo_intervals=8))
    np.testing.assert_allclose(table[:, 3], ratio(solution, "10Be/9Be", [0.5, 2, 10], phi=0.4), rtol=1e-7)
    params = json.loads((tmp_path / "params.json").read_text())
    assert params["alpha"] == 0.3 and "version" in params and params["model"]["H"] == 4.0
    assert (tmp_path / "ratios.png").stat().st_size > 1000
    assert "10Be/9Be" in out


def test_fit_of_the_bundled_synthetic_mock_runs_and_says_synthetic(tmp_path, capsys):
    from importlib import resources

    data = resources.files("anisotropy.galaxy").joinpath("data", "synthetic_mock_ratios.csv")
    status, out, err = run_cli(["galaxy", "fit", str(data), "--phi-prior", "0.5", "0.1", "--no-plot",
                                "--out", str(tmp_path), *COARSE], capsys)
    assert status == 0, err
    assert "SYNTHETIC" in out
    result = json.loads((tmp_path / "fit.json").read_text())
    assert set(result["stage2_all"]["parameters"]) == {"log10_kappa0", "delta", "log10_alpha", "phi"}


@pytest.mark.parametrize("argv,name", [
    (["--h", "4", "--H", "4"], "h"),
    (["--h", "5"], "h"),
    (["--alpha", "0"], "alpha"),
    (["--alpha", "-1"], "alpha"),
    (["--kappa0", "0"], "kappa0"),
    (["--H", "-2"], "H"),
    (["--h", "0"], "h"),
    (["--energies", "0", "1"], "energies"),
    (["--energies", "-1"], "energies"),
    (["--energies", "5000"], "energies"),
    (["--primaries", "12X=1"], "primaries"),
    (["--secondaries", "10Be,99Zz"], "secondaries"),
])
def test_bad_predict_input_is_one_line_naming_the_parameter_with_exit_2(tmp_path, capsys, argv, name):
    status, _, err = run_cli(["galaxy", "predict", "--out", str(tmp_path), "--no-plot", *COARSE, *argv], capsys)
    assert status == 2
    assert len(err.strip().splitlines()) == 1
    assert f"{name}:" in err or f"--{name}" in err


def test_data_file_without_required_columns_is_rejected_naming_data(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("ratio,energy,value\nB/C,1,0.3\n")
    status, _, err = run_cli(["galaxy", "fit", str(bad), "--out", str(tmp_path), *COARSE], capsys)
    assert status == 2 and "data:" in err and "error" in err and len(err.strip().splitlines()) == 1
    status, _, err = run_cli(["galaxy", "fit", str(tmp_path / "absent.csv"), "--out", str(tmp_path)], capsys)
    assert status == 2 and "data:" in err


def test_cross_section_table_without_required_columns_is_rejected(tmp_path, capsys):
    table = tmp_path / "xs.csv"
    table.write_text("parent,child,energy\n12C,11B,1\n")
    status, _, err = run_cli(["galaxy", "predict", "--cross-sections", str(table), "--out", str(tmp_path),
                              *COARSE], capsys)
    assert status == 2 and "cross_sections:" in err and "sigma_mb" in err


def test_fit_of_the_shipped_ams02_boron_to_carbon_in_an_energy_range(tmp_path, capsys):
    from anisotropy.galaxy.datasets import AMS02_BORON_TO_CARBON

    status, out, err = run_cli(["galaxy", "fit", str(AMS02_BORON_TO_CARBON), "--energy-range", "1", "100",
                                "--out", str(tmp_path), "--no-plot", *COARSE], capsys)
    assert status == 0, err
    assert "SYNTHETIC" not in out
    result = json.loads((tmp_path / "fit.json").read_text())
    assert result["energy_range"] == [1.0, 100.0]
    assert result["sources"] == ["AMS-02 B/C, 10.1103/PhysRevLett.117.231102 (2016PhRvL.117w1102A)"]
    assert result["points"] == result["stage1_secondary_over_primary"]["dof"] + 3
    assert result["stage2_all"] is None  # no 10Be/9Be: alpha is not fitted


def test_empty_energy_range_is_one_line_naming_it(tmp_path, capsys):
    from anisotropy.galaxy.datasets import AMS02_BORON_TO_CARBON

    status, _, err = run_cli(["galaxy", "fit", str(AMS02_BORON_TO_CARBON), "--energy-range", "2000", "3000",
                              "--out", str(tmp_path), "--no-plot", *COARSE], capsys)
    assert status == 2 and "energy_range" in err and err.count("\n") == 1


def test_fit_of_shipped_boron_to_carbon_and_preliminary_beryllium_fits_alpha_and_says_preliminary(tmp_path, capsys):
    from anisotropy.galaxy.datasets import AMS02_BERYLLIUM_RATIO_PRELIMINARY, AMS02_BORON_TO_CARBON

    status, out, err = run_cli(["galaxy", "fit", str(AMS02_BORON_TO_CARBON), str(AMS02_BERYLLIUM_RATIO_PRELIMINARY),
                                "--energy-range", "0.4", "20", "--out", str(tmp_path), "--no-plot", *COARSE], capsys)
    assert status == 0, err
    assert "PRELIMINARY" in out
    result = json.loads((tmp_path / "fit.json").read_text())
    assert len(result["data"]) == 2
    assert set(result["stage2_all"]["parameters"]) == {"log10_kappa0", "delta", "log10_alpha", "phi"}


def test_fit_of_shipped_boron_to_carbon_and_beryllium_to_boron_against_rigidity(tmp_path, capsys):
    from anisotropy.galaxy.datasets import AMS02_BERYLLIUM_TO_BORON, AMS02_BORON_TO_CARBON

    tables = [str(AMS02_BORON_TO_CARBON), str(AMS02_BERYLLIUM_TO_BORON)]
    # the top Be/B bin (2.07 TV) lies beyond the default grid (1000 GeV/n) for 7Be: one line naming energy_max
    status, _, err = run_cli(["galaxy", "fit", *tables, "--out", str(tmp_path), "--no-plot", *COARSE], capsys)
    assert status == 2 and "energy_max:" in err and err.count("\n") == 1
    status, out, err = run_cli(["galaxy", "fit", *tables, "--energy-max", "2000", "--out", str(tmp_path),
                                *COARSE], capsys)
    assert status == 0, err
    assert "fit of 133 points" in out and "SYNTHETIC" not in out
    result = json.loads((tmp_path / "fit.json").read_text())
    rows = result["chi2_by_dataset_at_best"]
    assert [(row["ratio"], row["axis"], row["points"]) for row in rows] == [
        ("B/C", "kinetic_energy_per_nucleon", 67), ("Be/B", "rigidity", 66)]
    assert sum(row["chi2"] for row in rows) == pytest.approx(result["stage1_secondary_over_primary"]["chi2"],
                                                             rel=1e-9)
    assert result["model"]["energy_max"] == 2000.0 and (tmp_path / "fit.png").stat().st_size > 1000
