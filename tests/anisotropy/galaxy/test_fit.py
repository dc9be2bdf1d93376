"""Injection-recovery on mock (synthetic) data, the data loader, and the MCMC posterior (slow)."""

import numpy as np
import pytest

from anisotropy.errors import ParameterError
from anisotropy.galaxy.fit import (
    Likelihood,
    RatioData,
    chi2_by_dataset,
    fit,
    load_ratio_data,
    mock_data,
    predict,
    sample,
    select_energies,
)
from anisotropy.galaxy.solver import GalaxyModel

# coarse but complete model: the same model makes and fits the mock data, so recovery is exact without noise
COARSE = GalaxyModel(energy_min=0.1, energy_max=200.0, energies_per_decade=6, disk_intervals=2, halo_intervals=8)
TRUTH = {"log10_kappa0": -1.5, "delta": 0.5, "log10_alpha": -0.7, "H": 4.0, "phi": 0.5}
ENERGIES = {"B/C": [0.7, 1.5, 3, 6, 12, 25, 50], "10Be/9Be": [0.4, 0.7, 1.0, 1.6, 2.5, 4.0, 6.0]}
# least-squares convergence on noise-free data (scipy default tolerances ~1e-8 in the cost)
EXACT_RECOVERY_ABS = 1e-3
NOISY_ENERGIES = {"B/C": np.geomspace(0.5, 60, 12).tolist(), "10Be/9Be": np.geomspace(0.4, 8, 12).tolist()}
# a correct fit puts the truth within 3 sigma of the estimate with >99 % probability (Gaussian errors, fixed seed)
PULL_LIMIT = 3.0


def test_noise_free_injection_is_recovered_exactly():
    data = mock_data(TRUTH, ENERGIES, relative_error=0.05, seed=0, base=COARSE)
    stage1, stage2 = fit(data, base=COARSE)
    best = stage2.to_dict()["parameters"]
    for name in ("log10_kappa0", "delta", "log10_alpha", "phi"):
        assert best[name] == pytest.approx(TRUTH[name], abs=EXACT_RECOVERY_ABS), name
    assert stage2.chi2 < 1e-6
    # stage 1 (B/C only, alpha = 1) already pins kappa0 and delta near the truth: B/C barely feels alpha
    assert stage1.to_dict()["parameters"]["delta"] == pytest.approx(TRUTH["delta"], abs=0.05)


def test_noisy_injection_is_recovered_within_its_errors_and_alpha_below_one_is_preferred():
    # AMS-like precision (B/C 2 %, 10Be/9Be 5 %, 12 points each) and a 0.1 GV Gaussian prior on phi: without the
    # prior phi and alpha are degenerate (both shift 10Be/9Be at low energy)
    data = mock_data(TRUTH, NOISY_ENERGIES, relative_error={"B/C": 0.02, "10Be/9Be": 0.05}, seed=7, base=COARSE)
    _, stage2 = fit(data, base=COARSE, phi_prior=(TRUTH["phi"], 0.1))
    result = stage2.to_dict()
    for name in ("log10_kappa0", "delta", "log10_alpha", "phi"):
        pull = (result["parameters"][name] - TRUTH[name]) / result["errors"][name]
        assert abs(pull) < PULL_LIMIT, (name, pull)
    # chi^2 of a good fit: inside the central 99.8 % of chi^2(dof), dof = 24 + 1 prior - 4 = 21
    assert stage2.dof == 21
    assert 6.4 < stage2.chi2 < 47.0
    assert result["parameters"]["log10_alpha"] + PULL_LIMIT * result["errors"]["log10_alpha"] < 0.0


def test_ratio_data_loader_requires_the_columns_and_known_ratios(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("# synthetic\nratio,energy,value,error,source\nB/C,1.0,0.3,0.01,mock\n10Be/9Be,1.0,0.2,0.02,mock\n")
    data = load_ratio_data(good)
    assert [item.ratio for item in data] == ["B/C", "10Be/9Be"]
    (tmp_path / "missing.csv").write_text("ratio,energy,value\nB/C,1,0.3\n")
    with pytest.raises(ParameterError, match="error"):
        load_ratio_data(tmp_path / "missing.csv")
    (tmp_path / "unknown.csv").write_text("ratio,energy,value,error\nX/Y,1,0.3,0.1\n")
    with pytest.raises(ParameterError, match="unknown ratio"):
        load_ratio_data(tmp_path / "unknown.csv")
    with pytest.raises(ParameterError):
        Likelihood([], base=COARSE)


STAGE1_TRUTH = {"log10_kappa0": -1.5, "delta": 0.5, "log10_alpha": 0.0, "H": 4.0, "phi": 0.5}
BE_B_RIGIDITIES = [2.5, 5.0, 10.0, 20.0, 50.0, 100.0]


def _noise_free_be_b_against_rigidity(parameters, base=COARSE):
    template = RatioData("Be/B", np.array(BE_B_RIGIDITIES), None, None, axis="rigidity")
    (values,) = predict(base, parameters, [template])
    return RatioData("Be/B", template.energy, values, 0.03 * values, source="synthetic mock", axis="rigidity")


def test_noise_free_b_over_c_and_be_over_b_against_rigidity_are_recovered_exactly():
    # B/C against T/n and Be/B against rigidity together: the fit must carry each set's axis into the model
    data = mock_data(STAGE1_TRUTH, {"B/C": ENERGIES["B/C"]}, relative_error=0.02, seed=0, base=COARSE)
    data.append(_noise_free_be_b_against_rigidity(STAGE1_TRUTH))
    stage1, stage2 = fit(data, base=COARSE, start={"log10_kappa0": -1.3, "delta": 0.6, "phi": 0.3})
    assert stage2 is None and stage1.chi2 < 1e-6
    for name, value in zip(stage1.names, stage1.best):
        assert value == pytest.approx(STAGE1_TRUTH[name], abs=EXACT_RECOVERY_ABS), name
    rows = chi2_by_dataset(COARSE, STAGE1_TRUTH, data)
    assert [(row["ratio"], row["axis"]) for row in rows] == [("B/C", "kinetic_energy_per_nucleon"),
                                                             ("Be/B", "rigidity")]


def test_chi2_by_dataset_adds_up_to_the_likelihood():
    data = mock_data(STAGE1_TRUTH, {"B/C": ENERGIES["B/C"]}, relative_error=0.02, seed=5, base=COARSE)
    data.append(_noise_free_be_b_against_rigidity(STAGE1_TRUTH | {"delta": 0.45}))
    trial = STAGE1_TRUTH | {"delta": 0.55}
    likelihood = Likelihood(data, base=COARSE, free=("delta",), fixed=trial)
    total = sum(row["chi2"] for row in chi2_by_dataset(COARSE, trial, data))
    assert total == pytest.approx(-2 * likelihood([0.55]), rel=1e-12)


def test_rigidity_data_keep_their_axis_and_must_lie_inside_the_model_grid():
    data = [_noise_free_be_b_against_rigidity(STAGE1_TRUTH)]
    (selected,) = select_energies(data, 4.0, 60.0)  # in GV for a table against rigidity
    assert selected.axis == "rigidity" and selected.energy.tolist() == [5.0, 10.0, 20.0, 50.0]
    # 7Be (Z/A = 4/7) at 500 GV has T/n ~ 285 GeV/n, beyond the coarse grid's last cell centre (~180 GeV/n)
    beyond = RatioData("Be/B", np.array([500.0]), np.array([0.3]), np.array([0.01]), axis="rigidity")
    with pytest.raises(ParameterError, match="energy_max"):
        Likelihood([beyond], base=COARSE)
    with pytest.raises(ParameterError, match="axis"):
        RatioData("Be/B", np.array([1.0]), np.array([0.3]), np.array([0.01]), axis="total_energy")


@pytest.mark.slow
def test_mcmc_posterior_of_alpha_covers_the_injected_value():
    # emcee with flat priors, phi as nuisance; the 95 % interval of log10_alpha must contain the truth, and the
    # posterior standard deviation must agree with the least-squares error to within a factor 2 (near-Gaussian)
    data = mock_data(TRUTH, NOISY_ENERGIES, relative_error={"B/C": 0.02, "10Be/9Be": 0.05}, seed=11, base=COARSE)
    _, stage2 = fit(data, base=COARSE, phi_prior=(TRUTH["phi"], 0.1))
    likelihood = Likelihood(data, base=COARSE, free=stage2.names, fixed={"H": 4.0}, phi_prior=(TRUTH["phi"], 0.1))
    chain = sample(likelihood, stage2.best, steps=600, walkers=16, seed=3)
    samples = chain[200:].reshape(-1, len(stage2.names))
    alpha = samples[:, stage2.names.index("log10_alpha")]
    low, high = np.percentile(alpha, [2.5, 97.5])
    assert low < TRUTH["log10_alpha"] < high
    least_squares_error = stage2.errors[stage2.names.index("log10_alpha")]
    assert 0.5 < alpha.std() / least_squares_error < 2.0
