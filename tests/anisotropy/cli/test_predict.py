"""``cr-anisotropy predict``: the files it writes, agreement with the Python API, and one-line errors (exit 2)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from anisotropy import predict
from anisotropy.cli import main
from anisotropy.predict import predict_cl

# keeps the CLI runs cheap (small ℓmax, coarse spectrum); the full default runs once, through the installed entry point
LMAX = "12"
QUICK = ["--lmax", LMAX, "--lmin-over-lmax", "1e-3", "--modes-per-decade", "64"]
EXPECTED_FILES = ["cl.csv", "cl.png", "params.json"]


def read_csv(path: Path):
    lines = path.read_text().splitlines()
    header, rows = lines[0], [line.split(",") for line in lines[1:]]
    return header, np.array([int(ell) for ell, _ in rows]), np.array([float(cl) for _, cl in rows])


def entry_point() -> list[str]:
    """The installed ``cr-anisotropy`` script next to this interpreter (the venv), else on PATH."""
    candidate = Path(sys.executable).with_name("cr-anisotropy")
    found = str(candidate) if candidate.exists() else shutil.which("cr-anisotropy")
    if found is None:
        pytest.skip("the cr-anisotropy entry point is not installed")
    return [found]


def test_predict_writes_csv_png_and_params_that_match_the_python_api(tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["predict", "--energy", "30", "--eta", "0.3", *QUICK, "--dipole", "2e-3", "--out", str(out)])
    assert status == 0
    assert sorted(path.name for path in out.iterdir()) == EXPECTED_FILES  # and no temporary files left behind
    header, ell, cl = read_csv(out / "cl.csv")
    assert header == "ell,cl"
    assert ell.tolist() == list(range(int(LMAX) + 1))
    expected = predict_cl(30.0, eta=0.3, lmax=int(LMAX), lmin_over_lmax=1e-3, modes_per_decade=64, dipole=2e-3)
    assert np.array_equal(cl, expected.cl, equal_nan=True)
    assert json.loads((out / "params.json").read_text()) == expected.params
    printed = capsys.readouterr().out
    assert "C_1 =" in printed and str(out / "cl.csv") in printed


def test_no_plot_skips_the_png(tmp_path):
    assert main(["predict", *QUICK, "--no-plot", "--out", str(tmp_path)]) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cl.csv", "params.json"]


def test_every_physical_option_reaches_the_recorded_inputs(tmp_path):
    options = ["--energy", "200", "--charge", "2", "--mass-number", "4", "--b-rms", "4", "--l-c", "3", "--eta", "0.2",
               "--lmin-over-lmax", "1e-4", "--model", "slab", "--gradient", "0.01", "--gradient-angle", "10",
               "--pair-time-prefactor", "1.5", "--lmax", LMAX, "--modes-per-decade", "64", "--no-plot",
               "--closure", predict.DEFAULT_CLOSURE, "--solver", "truncated"]
    assert main(["predict", *options, "--out", str(tmp_path)]) == 0
    inputs = json.loads((tmp_path / "params.json").read_text())["inputs"]
    assert inputs == {"energy": 200.0, "charge": 2, "mass_number": 4, "b_rms": 4.0, "l_c": 3.0, "eta": 0.2,
                      "lmin_over_lmax": 1e-4, "model": "slab", "dipole": None, "gradient": 0.01,
                      "gradient_angle": 10.0, "pair_time_prefactor": 1.5, "lmax": int(LMAX), "converge": False,
                      "modes_per_decade": 64, "closure": predict.DEFAULT_CLOSURE, "solver": "truncated"}


@pytest.mark.parametrize(
    ("options", "name"),
    [
        (["--eta", "0"], "eta"),
        (["--eta", "1.5"], "eta"),
        (["--eta", "1"], "eta"),  # allowed by the option's range, rejected by the slab model while running
        (["--energy", "-1"], "energy"),
        (["--energy", "abc"], "energy"),
        (["--lmax", "1"], "lmax"),
        (["--lmax", "2.5"], "lmax"),
        (["--b-rms", "0"], "b_rms"),
        (["--l-c", "nan"], "l_c"),
        (["--charge", "0"], "charge"),
        (["--gradient-angle", "90"], "gradient_angle"),  # slab with a dipole: no gradient ⊥ B0 makes a dipole
        (["--dipole", "1e-3", "--gradient", "0.01"], "gradient"),
        (["--model", "kraichnan"], "model"),
    ],
)
def test_bad_option_exits_2_with_one_line_naming_the_parameter(tmp_path, capsys, options, name):
    out = tmp_path / "out"
    cheap = [] if "--lmax" in options else QUICK
    # argparse errors raise SystemExit(2); ParameterError while running returns 2 from main
    try:
        status = main(["predict", *options, *cheap, "--out", str(out)])
    except SystemExit as stop:
        status = stop.code
    assert status == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert name in lines[0] or name.replace("_", "-") in lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists()


def test_output_path_that_is_a_file_exits_2_with_one_line(tmp_path, capsys):
    blocker = tmp_path / "taken"
    blocker.write_text("not a directory\n")
    for out in (blocker, blocker / "below"):
        assert main(["predict", *QUICK, "--out", str(out)]) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and "out:" in lines[0] and "not a directory" in lines[0]
    assert blocker.read_text() == "not a directory\n"


def test_installed_entry_point_runs_the_embedded_default(tmp_path):
    # `make demo`: no options at all, writes into ./cr-anisotropy-out/ of the working directory
    environment = {**os.environ, "MPLBACKEND": "Agg"}
    completed = subprocess.run([*entry_point(), "predict"], cwd=tmp_path, capture_output=True, text=True,
                               env=environment, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    out = tmp_path / "cr-anisotropy-out"
    assert sorted(path.name for path in out.iterdir()) == EXPECTED_FILES
    header, ell, cl = read_csv(out / "cl.csv")
    assert header == "ell,cl"
    assert ell[-1] == 200 and np.isnan(cl[0]) and np.all(cl[1:] > 0)
    assert np.array_equal(cl, predict_cl().cl, equal_nan=True)


def test_installed_entry_point_reports_bad_input_in_one_line(tmp_path):
    completed = subprocess.run([*entry_point(), "predict", "--eta", "2"], cwd=tmp_path, capture_output=True,
                               text=True, timeout=120, check=False)
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "eta" in lines[0] and "(0, 1]" in lines[0]
    assert "Traceback" not in completed.stderr
    assert not (tmp_path / "cr-anisotropy-out").exists()


def test_converge_names_each_lmax_on_stderr_while_it_solves(tmp_path, capsys):
    # the lmax doublings take seconds each at the defaults; the CLI reports each one before solving it
    status = main(["predict", *QUICK, "--solver", "truncated", "--converge", "--no-plot", "--out", str(tmp_path)])
    assert status == 0
    progress = [line for line in capsys.readouterr().err.splitlines() if line.startswith("predict: steady state")]
    assert progress[0].startswith(f"predict: steady state at lmax = {LMAX} ")
    assert [int(line.split("lmax = ")[1].split()[0]) for line in progress] == [
        int(LMAX) * 2 ** index for index in range(len(progress))]
    derived = json.loads((tmp_path / "params.json").read_text())["derived"]
    assert derived["lmax_solved"] == int(LMAX) * 2 ** (len(progress) - 1)
