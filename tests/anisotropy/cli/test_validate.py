"""`cr-anisotropy validate`: options, input errors and how the command reaches validation.report.build_report.

The real quick report is built once, in tests/validation/test_report.py (through this command); here
build_report is replaced by a recorder so each option's effect is checked without rerunning the simulator.
"""

from __future__ import annotations

import pytest

from anisotropy import cli
from anisotropy.cli import validate as cli_validate
from validation import report


@pytest.fixture
def recorded(monkeypatch):
    calls = []

    def fake_build_report(out_dir, **kwargs):
        calls.append({"out_dir": out_dir, **kwargs})
        return {"header": {"wall_seconds": 1.0}}

    monkeypatch.setattr(cli_validate, "build_report", fake_build_report)
    return calls


def test_defaults_are_full_mode_default_seed_serial_and_validation_report(recorded, capsys):
    assert cli.main(["validate"]) == 0
    (call,) = recorded
    assert call["out_dir"] == cli_validate.DEFAULT_OUT == "./validation-report"
    assert call["quick"] is False and call["seed"] == report.DEFAULT_SEED
    assert call["executor_name"] == "serial"
    assert call["command"] == f"cr-anisotropy validate --seed {report.DEFAULT_SEED} --executor serial " \
                              "--out ./validation-report"
    assert "report.md" in capsys.readouterr().out


def test_quick_seed_and_out_reach_the_report(recorded, tmp_path):
    out = tmp_path / "r"
    assert cli.main(["validate", "--quick", "--seed", "5", "--out", str(out)]) == 0
    (call,) = recorded
    assert call["quick"] is True and call["seed"] == 5 and call["out_dir"] == str(out)
    assert call["command"].startswith("cr-anisotropy validate --quick --seed 5 ")


def test_process_executor_with_workers_is_created_and_shut_down(recorded, monkeypatch):
    made = []

    class Recorder:
        def shutdown(self, wait=True):
            made.append("shutdown")

    def fake_make_executor(kind, workers=None):
        made.append((kind, workers))
        return Recorder()

    monkeypatch.setattr(cli_validate, "make_executor", fake_make_executor)
    assert cli.main(["validate", "--quick", "--executor", "process", "--workers", "2"]) == 0
    assert made == [("process", 2), "shutdown"]
    assert recorded[0]["workers"] == 2 and recorded[0]["executor_name"] == "process"


@pytest.mark.parametrize(("arguments", "name"), [
    (["--seed", "-3"], "seed"),
    (["--workers", "0"], "workers"),
    (["--executor", "mpi"], "executor"),
])
def test_bad_options_exit_2_with_one_line_naming_the_parameter(arguments, name, capsys, recorded):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["validate", *arguments])
    assert exit_info.value.code == 2
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1 and name in message
    assert recorded == []
