"""Tests of anisotropy.emulator: GP algebra, checksum, domain, predict_cl dispatch, shipped leave-one-out."""

import json
from pathlib import Path

import numpy as np
import pytest

from anisotropy import emulator
from anisotropy.errors import ParameterError
from anisotropy.predict import predict_cl

ROOT = Path(__file__).resolve().parents[2]
FULL_CAMPAIGN = ROOT / "docs" / "validation" / "campaign" / "campaign.json"
ALGEBRA_TOLERANCE = 1e-8  # two exact formulas in float64 on a well-conditioned 20x20 system
RECOVERY_SIGMAS = 4.0  # posterior mean within 4 posterior sigma + noise of the truth (fixed seed)
LOO_TOLERANCE = 1e-6  # same code, same data: the shipped table must reproduce to rounding


def test_posterior_matches_dense_formula():
    rng = np.random.default_rng(12)
    x = rng.uniform(0, 3, (20, 2))
    x_test = rng.uniform(0, 3, (5, 2))
    noise = np.diag(rng.uniform(1e-3, 1e-2, 20))
    y = np.sin(x[:, 0]) + 0.5 * x[:, 1]
    lengths = np.array([0.8, 1.5])
    mean, cov = emulator.gp_posterior(x, y, noise, x_test, 1.3, lengths, 0.2)

    def kernel(a, b):
        d = (a[:, None, :] - b[None, :, :]) / lengths
        return 1.3**2 * np.exp(-0.5 * np.sum(d**2, -1))

    k_inv = np.linalg.inv(kernel(x, x) + noise)
    dense_mean = 0.2 + kernel(x_test, x) @ k_inv @ (y - 0.2)
    dense_cov = kernel(x_test, x_test) - kernel(x_test, x) @ k_inv @ kernel(x, x_test)
    assert np.allclose(mean, dense_mean, atol=ALGEBRA_TOLERANCE)
    assert np.allclose(cov, dense_cov, atol=ALGEBRA_TOLERANCE)


def test_recovers_analytic_function_with_known_noise():
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 4, (40, 1))
    sigma = 0.05
    y = np.sin(x[:, 0]) + sigma * rng.standard_normal(40)
    noise = sigma**2 * np.eye(40)
    hyper = emulator.fit_hyperparameters(x, y, noise)
    x_test = np.linspace(0.5, 3.5, 7)[:, None]
    mean, cov = emulator.gp_posterior(x, y, noise, x_test, hyper["amplitude"], np.array(hyper["lengths"]),
                                      hyper["mean"])
    error = np.abs(mean - np.sin(x_test[:, 0]))
    assert np.all(error < RECOVERY_SIGMAS * np.sqrt(np.diag(cov) + sigma**2))


def test_corrupted_file_refused(tmp_path):
    state = json.loads(emulator.EMULATOR_FILE.read_text())
    state["payload"]["kinds"]["slab"]["y"][0] += 0.1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(state))
    with pytest.raises(ParameterError, match="emulator_file"):
        emulator.load_emulator(bad)


def test_out_of_domain_refused():
    with pytest.raises(ParameterError, match="eta"):
        emulator.emulate("slab", 0.95, 0.1, [2])
    with pytest.raises(ParameterError, match="r_g/L_c"):
        emulator.emulate("isotropic", 0.5, 10.0, [2])


def test_predict_cl_emulator_finite_positive():
    result = predict_cl(closure="emulator", eta=0.5)
    assert np.all(np.isfinite(result.cl)) and np.all(result.cl[1:] > 0)
    assert result.params["derived"]["domain"]["closure"] == "emulator"


def test_leave_one_out_reproduced_from_shipped_table():
    from validation.emulator_check import _case_row

    shipped = json.loads((ROOT / "docs" / "validation" / "emulator_loo_full.json").read_text())
    cases = {c["name"]: c for c in json.loads(FULL_CAMPAIGN.read_text())["cases"]}
    for row in shipped[::4]:
        again = _case_row(FULL_CAMPAIGN, cases[row["name"]])
        assert again["c1_ratio_emulator"] == pytest.approx(row["c1_ratio_emulator"], rel=LOO_TOLERANCE)
        if "chi2_case_cov" in row:
            assert again["chi2_case_cov"] == pytest.approx(row["chi2_case_cov"], rel=LOO_TOLERANCE)
