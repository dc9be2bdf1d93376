"""Statistics of theory vs simulation (validation/compare.py) against synthetic data with known truth.

Independent references: the χ² distribution (mean n, variance 2n, uniform p-values), numpy's sample covariance,
Monte Carlo of the ratio of correlated ensemble means (delta-method error propagation), the Gaussian cosmic variance
2C_ℓ²/(2ℓ+1) of healpy.synalm a_ℓm, and the bias of |mean a|² (mean-field power).  All random draws use fixed seeds;
every Monte Carlo tolerance is a stated number of its own standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy import stats

from anisotropy.errors import ParameterError
from validation import compare

#: Monte Carlo checks pass if the estimate is within Z_LIMIT of its own standard error (p ≈ 6e-5 two-sided)
Z_LIMIT = 4.0
#: np.cov and the moment formula agree to rounding (relative), far below any statistical error
MOMENT_IDENTITY_RTOL = 1e-10
#: a p-value sample of uniform draws is rejected by Kolmogorov-Smirnov only below this significance
KS_SIGNIFICANCE = 1e-3


def _chi_square_sample(rng, trials, size, covariance=None):
    values = np.empty(trials)
    p_values = np.empty(trials)
    model = np.linspace(1.0, 2.0, size)
    sigma = np.linspace(0.1, 0.5, size)
    for trial in range(trials):
        if covariance is None:
            data = model + sigma * rng.standard_normal(size)
            result = compare.chi_square(data, model, sigma)
        else:
            data = rng.multivariate_normal(model, covariance)
            result = compare.chi_square(data, model, covariance)
        values[trial] = result.chi2
        p_values[trial] = result.p_value
    return values, p_values


def test_chi_square_of_gaussian_samples_has_mean_n_and_variance_2n():
    rng = np.random.default_rng(101)
    trials, size = 4000, 8
    values, p_values = _chi_square_sample(rng, trials, size)
    # mean: standard error sqrt(2n/trials).  Sample variance: Var(s²) ≈ (κ4 + 2σ⁴)/trials with the χ²_n cumulants
    # κ4 = 48n and σ² = 2n
    assert abs(values.mean() - size) < Z_LIMIT * math.sqrt(2 * size / trials)
    variance_error = math.sqrt((48 * size + 2 * (2 * size) ** 2) / trials)
    assert abs(values.var(ddof=1) - 2 * size) < Z_LIMIT * variance_error
    assert stats.kstest(p_values, "uniform").pvalue > KS_SIGNIFICANCE


def test_chi_square_with_full_covariance_has_mean_n():
    rng = np.random.default_rng(102)
    size, trials = 5, 1500
    root = rng.standard_normal((size, size))
    covariance = root @ root.T + size * np.eye(size)
    values, p_values = _chi_square_sample(rng, trials, size, covariance)
    assert abs(values.mean() - size) < Z_LIMIT * math.sqrt(2 * size / trials)
    assert stats.kstest(p_values, "uniform").pvalue > KS_SIGNIFICANCE


def test_chi_square_counts_fitted_parameters_in_the_degrees_of_freedom():
    result = compare.chi_square([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 1.0, 1.0], fitted_parameters=1)
    assert result.dof == 2
    assert result.chi2 == 0.0
    assert result.p_value == 1.0


def test_z_scores_of_gaussian_samples_are_standard_normal():
    rng = np.random.default_rng(103)
    sigma = rng.uniform(0.5, 2.0, 20000)
    data = 3.0 + sigma * rng.standard_normal(sigma.size)
    z = compare.z_scores(data, 3.0, sigma)
    assert abs(z.mean()) < Z_LIMIT / math.sqrt(z.size)
    assert abs(z.std(ddof=1) - 1.0) < Z_LIMIT / math.sqrt(2 * z.size)


def test_moments_give_the_sample_covariance_of_the_mean():
    rng = np.random.default_rng(104)
    samples = rng.gamma(3.0, 1.0, (12, 6))
    direct = compare.EnsembleSpectrum.from_samples(samples)
    products = np.einsum("ni,nj->ij", samples, samples) / samples.shape[0]
    moments = compare.EnsembleSpectrum.from_moments(samples.mean(0), products, samples.shape[0])
    np.testing.assert_allclose(moments.covariance, np.cov(samples, rowvar=False) / samples.shape[0],
                               rtol=MOMENT_IDENTITY_RTOL)
    np.testing.assert_allclose(moments.covariance, direct.covariance, rtol=MOMENT_IDENTITY_RTOL)


@pytest.mark.parametrize("correlation", [0.0, 0.8])
def test_ratio_error_propagation_matches_monte_carlo(correlation):
    """σ(⟨C_ℓ⟩/⟨C_1⟩) from the delta method (with the C_ℓ-C_1 covariance) equals the Monte Carlo scatter."""
    rng = np.random.default_rng(105 + int(10 * correlation))
    mean = np.array([5.0, 1.0, 0.3])  # ℓ = 0 (unused), C_1, C_2
    relative = np.array([0.5, 0.15, 0.6])
    covariance = np.outer(relative * mean, relative * mean) * np.array(
        [[1.0, 0.0, 0.0], [0.0, 1.0, correlation], [0.0, correlation, 1.0]])
    realisations, ensembles = 40, 1500
    ratios = np.empty(ensembles)
    predicted = np.empty(ensembles)
    for index in range(ensembles):
        samples = rng.multivariate_normal(mean, covariance, realisations)
        ratio = compare.cl_ratio(compare.EnsembleSpectrum.from_samples(samples), reference_ell=1)
        ratios[index] = ratio.ratio[2]
        predicted[index] = ratio.standard_error[2]
    scatter = ratios.std(ddof=1)
    # the sampling error of a standard deviation from M draws is ≈ σ/sqrt(2(M-1)); the delta method's own bias at
    # σ(C_1)/C_1 = 0.15/sqrt(40) = 2.4 % is second order (~0.1 %), far below that
    assert abs(np.sqrt(np.mean(predicted**2)) - scatter) < Z_LIMIT * scatter / math.sqrt(2 * (ensembles - 1))
    if correlation > 0:
        # ignoring the covariance would overstate the error: the test discriminates
        naive = 0.3 / 1.0 * math.hypot(0.6, 0.15) / math.sqrt(realisations)
        assert naive - scatter > Z_LIMIT * scatter / math.sqrt(2 * (ensembles - 1))


def test_ratio_of_reference_multipole_is_one_with_zero_error():
    samples = np.random.default_rng(106).gamma(2.0, 1.0, (5, 4))
    ratio = compare.cl_ratio(compare.EnsembleSpectrum.from_samples(samples))
    assert ratio.ratio[1] == 1.0
    assert ratio.standard_error[1] == pytest.approx(0.0, abs=1e-15)


def test_gaussian_alm_scatter_equals_cosmic_variance():
    """Gaussian a_ℓm with ⟨|a_ℓm|²⟩ = C_ℓ through healpy.alm2cl: Var Ĉ_ℓ = 2C_ℓ²/(2ℓ+1)
    (docs/physics/simulator.md#ensemble)."""
    import healpy as hp

    lmax, realisations = 10, 800
    ell = np.arange(lmax + 1)
    truth = np.zeros(lmax + 1)
    truth[1:] = 1.0 / ell[1:] ** 3
    rng = np.random.default_rng(107)
    ell_of_index, m_of_index = hp.Alm.getlm(lmax)
    scale = np.sqrt(truth[ell_of_index])

    def gaussian_alm():
        # ⟨|a_ℓm|²⟩ = C_ℓ: real a_ℓ0, complex a_ℓm (m > 0) with half the variance in each part
        real, imaginary = rng.standard_normal((2, ell_of_index.size))
        return np.where(m_of_index == 0, scale * real, scale * (real + 1j * imaginary) / np.sqrt(2.0))

    samples = np.array([hp.alm2cl(gaussian_alm()) for _ in range(realisations)])
    spectrum = compare.EnsembleSpectrum.from_samples(samples[:, 1:], ell=ell[1:])
    ratio = compare.scatter_over_cosmic_variance(spectrum)
    # each ratio is a sample variance over its expectation: relative sampling error sqrt(2/(N-1)) for Gaussian
    # Ĉ_ℓ, larger for the skewed χ²_{2ℓ+1}: (κ4/σ⁴ + 2)/N with κ4/σ⁴ = 12/(2ℓ+1)
    for value, multipole in zip(ratio, ell[1:]):
        error = math.sqrt((12.0 / (2 * multipole + 1) + 2.0) / realisations)
        assert abs(value - 1.0) < Z_LIMIT * error
    np.testing.assert_allclose(compare.cosmic_variance(truth[1:], ell[1:]), 2 * truth[1:] ** 2 / (2 * ell[1:] + 1))


def test_mean_field_power_is_unbiased():
    """|⟨a⟩|² from N noisy copies: (N|ā|² - mean|a|²)/(N-1) averages to |μ|² (noise σ² ≫ |μ|²)."""
    rng = np.random.default_rng(108)
    mu, sigma, count, trials = 0.3, 1.0, 5, 20000
    draws = mu + sigma * rng.standard_normal((trials, count))
    estimate = compare.mean_field_power(draws.mean(1) ** 2, (draws**2).mean(1), count)
    naive = draws.mean(1) ** 2
    assert abs(estimate.mean() - mu**2) < Z_LIMIT * estimate.std(ddof=1) / math.sqrt(trials)
    assert naive.mean() - mu**2 > Z_LIMIT * naive.std(ddof=1) / math.sqrt(trials)  # the naive one is biased


def test_usable_multipoles_stop_at_the_floor_and_at_nside():
    ell = np.arange(20)
    mean = np.zeros(20)
    mean[1:] = 1.0 / ell[1:] ** 3
    spectrum = compare.EnsembleSpectrum(ell, mean, np.eye(20) * 1e-6, 4)
    floor = 1e-3
    # ℓ³ < 1/(10 · 1e-3) = 100 → ℓ ≤ 4
    np.testing.assert_array_equal(compare.usable_multipoles(spectrum, floor, nside=16), [2, 3, 4])
    np.testing.assert_array_equal(compare.usable_multipoles(spectrum, 1e-9, nside=4), [2, 3, 4])
    np.testing.assert_array_equal(compare.usable_multipoles(spectrum, 1e-9, nside=8, nside_fraction=0.5),
                                  [2, 3, 4])
    # a fluctuation above the floor after a gap is not trusted
    bumped = mean.copy()
    bumped[8] = 1.0
    spectrum = compare.EnsembleSpectrum(ell, bumped, np.eye(20), 4)
    np.testing.assert_array_equal(compare.usable_multipoles(spectrum, floor, nside=16), [2, 3, 4])


def test_convergence_in_time_flags_the_multipoles_that_stopped_changing():
    times = np.array([1.0, 2.0, 4.0, 8.0])
    rates = np.array([0.0, 1.0, 0.05])  # ℓ = 0 unused; ℓ = 1 relaxes fast, ℓ = 2 slowly
    cl = 1.0 - np.exp(-np.outer(times, rates))
    change = np.zeros_like(cl)
    change[1:] = np.diff(cl, axis=0)
    error = np.full_like(cl, 1e-6)
    result = compare.convergence_in_time(times, cl, change, error)
    # ℓ = 1: change e^-4 - e^-8 = 0.018 < 0.1; ℓ = 2: (e^-0.2 - e^-0.4)/(1 - e^-0.4) = 0.45 > 0.1
    assert result["converged"][1]
    assert not result["converged"][2]
    assert result["relative_change"][2] == pytest.approx((math.exp(-0.2) - math.exp(-0.4)) / (1 - math.exp(-0.4)))
    # a change that is small against its own error is not declared unconverged
    noisy = compare.convergence_in_time(times, cl, change, np.full_like(cl, 1.0))
    assert noisy["converged"][2]


def test_bad_inputs_raise_parameter_errors():
    with pytest.raises(ParameterError, match="samples"):
        compare.EnsembleSpectrum.from_samples(np.ones((1, 3)))
    with pytest.raises(ParameterError, match="covariance"):
        compare.chi_square([1.0, 2.0], [1.0, 2.0], [1.0, 0.0])
    with pytest.raises(ParameterError, match="ells"):
        compare.EnsembleSpectrum(np.arange(3), np.ones(3), np.eye(3), 2).select([5])
    with pytest.raises(ParameterError, match="spectrum"):
        compare.cl_ratio(compare.EnsembleSpectrum(np.arange(3), np.array([1.0, 0.0, 1.0]), np.eye(3), 2))


def test_figures_are_matplotlib_figures():
    ell = np.arange(2, 8)
    figure = compare.figure_ratio(ell, 1.0 / ell**2, 0.1 / ell**2, {"theory": (ell, 1.1 / ell**2)}, usable=[2, 3])
    assert isinstance(figure, Figure)
    times = np.array([1.0, 2.0, 4.0])
    cl = np.ones((3, 8))
    assert isinstance(compare.figure_convergence(times, cl, 0.1 * cl, [1, 2], noise_floor=0.01 * times), Figure)


#: Monte Carlo of 200 000 draws: the sample standard deviation is known to ~0.2 %; the delta method is first order
#: in relative errors of ~2 %, so it is exact to ~1e-2 relative
DELTA_METHOD_TOLERANCE = 0.03


def test_dipole_power_ratio_error_is_the_spread_of_the_ratio_under_independent_gaussian_errors():
    from validation.compare import dipole_power_ratio

    rng = np.random.default_rng(20261205)
    dipole, dipole_error = np.array([0.1, -0.2, 0.5]), np.array([0.004, 0.006, 0.01])
    c1, c1_error = 2.0 * (4.0 * np.pi / 9.0) * float(dipole @ dipole), 0.02
    ratio, error = dipole_power_ratio(c1, c1_error, dipole, dipole_error)
    assert ratio == pytest.approx(2.0, rel=1e-12)
    draws = 200_000
    c1_draws = c1 + c1_error * rng.standard_normal(draws)
    dipole_draws = dipole + dipole_error * rng.standard_normal((draws, 3))
    spread = np.std(c1_draws / (4.0 * np.pi / 9.0 * np.sum(dipole_draws**2, axis=1)))
    assert error == pytest.approx(spread, rel=DELTA_METHOD_TOLERANCE)
    assert np.isnan(dipole_power_ratio(c1, c1_error, np.zeros(3), dipole_error)[0])
