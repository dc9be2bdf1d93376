r"""validation.toy: the white-noise rotation toy Monte Carlo against exact limits and the mixing-matrix ODE.

docs/physics/toy_model.md#toy-model (the model and the claim to reproduce), 4.3 (the ODE, its limits and the ℓmax drift
of the smooth toy),
2 (C_ℓ normalisation), 3.2b (total power) and 6.6-6.7 (aliasing, ensemble errors); issue 5 items 1 and 5.

Error model used by every statistical test here.  Each realisation r gives Ĉ_ℓ^(r)(T).  The ensemble mean has the
standard error s_ℓ/sqrt(N_r) from the empirical scatter s_ℓ across realisations (the a_ℓm are not exactly
Gaussian, so the Gaussian cosmic variance 2C_ℓ²/(2ℓ+1) per realisation is reported by ``ToyResult`` for comparison
but not used).  The grid maps carry no shot noise (one deterministic path per node); their white-noise floor is
the power the grid cannot resolve divided by the number of nodes (``ToyResult.alias_floor``), checked below the
error together with the paired grid refinement.  The ODE prediction has no statistical error; its truncation
(ℓmax) and the Monte Carlo's systematic errors (time step, grid aliasing) are each checked to be well under the
statistical error of the comparison they enter.

Decision rules.  Per ℓ, z = (MC - ODE)/stderr must satisfy |z| < Z_LIMIT = 3.  For a t distribution with
N_r - 1 ≥ 39 degrees of freedom the false-alarm probability is ≈ 0.5% per ℓ, ≈ 5% for the 10 multipoles of one
time and ≲ 15% for the 30 of the quick comparison (less in practice: the three times share realisations).  Over
the ℓ's, Hotelling's T² with the ensemble covariance of the 10 multipoles, whose exact null distribution for
Gaussian means is (N_r - p)/(p (N_r - 1)) T² ~ F(p, N_r - p), must give a p-value above P_VALUE_LIMIT = 1e-3
(false alarm 0.1% per time).  Seeds are fixed, so outcomes are reproducible; the rates say how often an honest
change of seed would fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats
from scipy.spatial.transform import Rotation

import anisotropy as an
from anisotropy.errors import ParameterError
from validation import toy

D_S, KAPPA_C, SPEED = 0.5, 5.0, 1.0  # docs/physics/toy_model.md#toy-model parameters (|G| = 1 along z)
LMAX = 10  # multipoles compared (docs/physics/toy_model.md#toy-model)

#: |z| limit per multipole (false-alarm ≈ 0.5% each for t with ≥ 39 dof; module docstring)
Z_LIMIT = 3.0
#: Hotelling T² p-value limit over ℓ = 1..10 (false-alarm 0.1% per time; module docstring)
P_VALUE_LIMIT = 1e-3
#: ODE truncation: C_ℓ≤10 at T ≤ 2 change by < 0.2% from ℓmax = 320 to 640 (checked in test_ode_truncation_...)
ODE_LMAX = 640
#: the truncation change must stay below this fraction of the Monte Carlo's relative error to be negligible
TRUNCATION_FRACTION_OF_ERROR = 0.1
#: polynomial cos against libm: Taylor remainder < 3e-19, rounding of the reduced phase ~ |phase| × 2e-16
COS_TOLERANCE = 1e-13
#: Rodrigues rotation against scipy and |X| = 1: a few roundings of O(1) numbers
ROTATION_TOLERANCE = 1e-14
#: spherical-harmonic transform of a band-limited map: exact quadrature up to rounding
TRANSFORM_TOLERANCE = 1e-12
#: rigid rotation leaves a pure dipole: C_ℓ≥2 / C_1 is rounding squared (δf values O(1) with 1e-16 errors)
RIGID_LEAK_TOLERANCE = 1e-26

# Quick default-run configuration (cost ≈ 10-20 s of one core in total)
QUICK_TIMES = (0.5, 1.0, 2.0)
QUICK_REALISATIONS = 40
#: time step of the quick comparison: its weak O(dt) bias (≈ +2 dt relative at ℓ = 5..10, measured at dt = 0.05,
#: see test_large_time_step_bias_is_detected) is ≈ 1%, a fifth of the ≈ 6-9% statistical error of this run
QUICK_DT = 0.005
QUICK_N_FEATURES = 16
QUICK_SEED = 20261124


def _ode_reference(times, lmax=ODE_LMAX):
    gamma = an.rate_matrix(an.PairRate.toy(D_S, KAPPA_C), lmax)
    return an.evolve(gamma, source=toy.toy_source(D_S, SPEED), times=list(times))


def _hotelling_p_value(samples, expected):
    """p-value of Hotelling's one-sample T² for the mean of ``samples`` (N_r, p) against ``expected`` (p,)."""
    n_samples, n_dims = samples.shape
    difference = samples.mean(axis=0) - expected
    covariance = np.cov(samples, rowvar=False) / n_samples
    t_squared = float(difference @ np.linalg.solve(covariance, difference))
    f_statistic = (n_samples - n_dims) / (n_dims * (n_samples - 1)) * t_squared
    return float(stats.f.sf(f_statistic, n_dims, n_samples - n_dims))


def _assert_agrees_with_ode(result, reference, label):
    """Per-ℓ |z| < Z_LIMIT and Hotelling p > P_VALUE_LIMIT at every time, ℓ = 1..LMAX (module docstring)."""
    for index, time in enumerate(result.times):
        mc = result.cl[:, index, 1 : LMAX + 1]
        expected = reference[index, 1 : LMAX + 1]
        z = (result.mean[index, 1 : LMAX + 1] - expected) / result.stderr[index, 1 : LMAX + 1]
        p_value = _hotelling_p_value(mc, expected)
        message = f"{label} T={time}: z = {np.round(z, 2).tolist()}, Hotelling p = {p_value:.3g}"
        print(message)  # shown by pytest -rA / -s: the measured agreement, not only pass/fail
        assert np.all(np.abs(z) < Z_LIMIT), message
        assert p_value > P_VALUE_LIMIT, message


@pytest.fixture(scope="module")
def quick_run():
    return toy.simulate(
        D_S, KAPPA_C, QUICK_TIMES, QUICK_REALISATIONS, None, QUICK_SEED, dt=QUICK_DT, n_features=QUICK_N_FEATURES
    )


@pytest.fixture(scope="module")
def quick_reference():
    return _ode_reference(QUICK_TIMES)


# ---------------------------------------------------------------------------------------------------------------
# kernels and the transform
# ---------------------------------------------------------------------------------------------------------------
def test_polynomial_cosine_matches_libm():
    # phases q·X + φ stay below |q| + 2π ≈ 30 for q ~ N(0, 5 I); test a wider range
    phases = np.linspace(-200.0, 200.0, 400_001)
    assert np.max(np.abs(toy._cos_array(phases) - np.cos(phases))) < COS_TOLERANCE


def test_rodrigues_rotation_matches_scipy_and_keeps_unit_length():
    rng = np.random.default_rng(1)
    directions = rng.normal(size=(3000, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    # small angles (series branch), typical steps, and angles above SERIES_ANGLE_LIMIT (libm branch)
    scales = np.repeat([1e-6, 0.1, 0.9, 3.0], 750)[:, None]
    rotation_vectors = rng.normal(size=(3000, 3)) * scales
    rotated = toy._rotate_array(directions, rotation_vectors)
    expected = Rotation.from_rotvec(rotation_vectors).apply(directions)
    assert np.max(np.abs(rotated - expected)) < ROTATION_TOLERANCE
    assert np.max(np.abs(np.linalg.norm(rotated, axis=1) - 1.0)) < ROTATION_TOLERANCE


def _real_harmonic(ell, m, theta, phi):
    harmonic = special.sph_harm_y(ell, abs(m), theta, phi)
    if m == 0:
        return harmonic.real
    return math.sqrt(2.0) * (harmonic.real if m > 0 else harmonic.imag)


def test_grid_transform_recovers_spectrum_of_band_limited_map():
    grid = toy.GaussLegendreGrid(10)
    directions = grid.directions()
    theta = np.arccos(directions[:, 2])
    phi = np.arctan2(directions[:, 1], directions[:, 0])
    rng = np.random.default_rng(2)
    band_limit = grid.exact_lmax
    field_map = np.zeros(grid.size)
    expected = np.zeros(band_limit + 1)
    for ell in range(band_limit + 1):
        coefficients = rng.normal(size=2 * ell + 1)
        for coefficient, m in zip(coefficients, range(-ell, ell + 1)):
            field_map += coefficient * _real_harmonic(ell, m, theta, phi)
        # real orthonormal harmonics: C_ℓ = Σ_m c_m² / (2ℓ+1) (docs/physics/conventions.md#angular-power-spectrum)
        expected[ell] = np.sum(coefficients**2) / (2 * ell + 1)
    measured = grid.power_spectrum(field_map, band_limit)
    assert np.allclose(measured, expected, rtol=TRANSFORM_TOLERANCE, atol=0)
    # Parseval (docs/physics/conventions.md#angular-power-spectrum): ∫ δf² = Σ(2ℓ+1) C_ℓ, exact for this band limit
    parseval = np.sum((2 * np.arange(band_limit + 1) + 1) * expected)
    assert grid.total_power(field_map) == pytest.approx(parseval, rel=TRANSFORM_TOLERANCE)
    assert grid.weights().sum() == pytest.approx(4.0 * math.pi, rel=TRANSFORM_TOLERANCE)


def test_grid_coupling_matches_pair_sum_and_is_exact_below_limit():
    # W_ℓℓ' = (2ℓ'+1)/(16π²) Σ_ij w_i w_j P_ℓ(X_i·X_j) P_ℓ'(X_i·X_j), by the addition theorem
    # (docs/physics/conventions.md#angular-power-spectrum)
    grid = toy.GaussLegendreGrid(6)
    ell, lmax_model = 3, 30
    directions, weights = grid.directions(), grid.weights()
    cosines = np.clip(directions @ directions.T, -1.0, 1.0)
    legendre_ell = special.eval_legendre(ell, cosines)
    pair_sum = np.array(
        [
            (2 * lp + 1) / (16 * math.pi**2) * weights @ (legendre_ell * special.eval_legendre(lp, cosines)) @ weights
            for lp in range(lmax_model + 1)
        ]
    )
    coupling = grid.coupling(ell, lmax_model)
    assert np.allclose(coupling, pair_sum, rtol=0, atol=TRANSFORM_TOLERANCE)
    exact_limit = 2 * grid.n_theta - 1 - ell
    identity = np.eye(lmax_model + 1)[ell]
    assert np.allclose(coupling[: exact_limit + 1], identity[: exact_limit + 1], rtol=0, atol=TRANSFORM_TOLERANCE)
    # and the grid does alias beyond the limit (the check can fail)
    assert np.max(coupling[exact_limit + 1 :]) > 0.01


# ---------------------------------------------------------------------------------------------------------------
# exact limits of the Monte Carlo (docs/physics/mixing_ode.md#ode-limits, 3.2b, 8)
# ---------------------------------------------------------------------------------------------------------------
def test_rigid_rotation_keeps_higher_multipoles_zero_and_dipole_random_walk():
    times = (0.5, 1.0, 2.0)
    # κ_c = 0: ω independent of X, a rigid rotation of the sky; Γ ≡ 0 (docs/physics/mixing_ode.md#rate-matrix), δf stays
    # a pure dipole
    result = toy.simulate(D_S, 0.0, times, 200, resolution=8, seed=3, dt=0.01, n_features=8, lmax=7)
    assert np.all(result.cl[:, :, 2:] < RIGID_LEAK_TOLERANCE * result.cl[:, :, 1:2])
    exact = toy.exact_rigid_dipole(D_S, times, SPEED)
    z = (result.mean[:, 1] - exact) / result.stderr[:, 1]
    assert np.all(np.abs(z) < Z_LIMIT), z
    # the same number from the ODE with Γ ≡ 0 and the time-dependent source (independent code path)
    gamma = an.rate_matrix(an.PairRate.toy(D_S, 0.0), 4)
    ode = an.evolve(gamma, source=toy.toy_source(D_S, SPEED), times=list(times))
    assert np.allclose(ode[:, 1], exact, rtol=1e-8)


def test_single_path_diffusion_and_total_power_are_exact():
    times = (0.25, 0.5, 1.0, 2.0)
    result = toy.simulate(D_S, KAPPA_C, times, 200, resolution=8, seed=4, dt=0.01, n_features=16, lmax=4)
    # ⟨X(t)·X(0)⟩ = e^{-2 D_s t}: the ℓ = 1 amplitude decays at D_s ℓ(ℓ+1) (docs/physics/mixing_ode.md#ode,
    # docs/physics/toy_model.md#toy-model)
    correlation = result.dipole_correlation
    z_dipole = (correlation.mean(axis=0) - np.exp(-2.0 * D_S * np.asarray(times))) / (
        correlation.std(axis=0, ddof=1) / math.sqrt(result.realisations)
    )
    assert np.all(np.abs(z_dipole) < Z_LIMIT), z_dipole
    # ⟨∫ δf²⟩ = 4π v²|G|²/3 · 2[T/ν_1 - (1 - e^{-ν_1 T})/ν_1²]; slope 8πK|G|² at late times
    # (docs/physics/source.md#total-power)
    power = result.total_power
    z_power = (power.mean(axis=0) - toy.exact_total_power(D_S, times, SPEED)) / (
        power.std(axis=0, ddof=1) / math.sqrt(result.realisations)
    )
    assert np.all(np.abs(z_power) < Z_LIMIT), z_power


# ---------------------------------------------------------------------------------------------------------------
# the end-to-end test of the mixing-matrix ODE (docs/physics/toy_model.md#toy-model)
# ---------------------------------------------------------------------------------------------------------------
def test_ode_truncation_is_negligible_at_compared_multipoles(quick_run, quick_reference):
    coarse = _ode_reference(QUICK_TIMES, ODE_LMAX // 2)
    fine = quick_reference
    change = np.abs(coarse[:, 1 : LMAX + 1] / fine[:, 1 : LMAX + 1] - 1.0)
    relative_error = quick_run.stderr[:, 1 : LMAX + 1] / quick_run.mean[:, 1 : LMAX + 1]
    # the error of ℓmax = 640 is smaller still than this change of ℓmax = 320 (the cascade has not reached it)
    assert np.all(change < TRUNCATION_FRACTION_OF_ERROR * relative_error), change


def test_toy_monte_carlo_matches_mixing_ode(quick_run, quick_reference):
    _assert_agrees_with_ode(quick_run, quick_reference, "quick")


def _paired_grid_change(reference_run, n_theta, realisations, **options):
    """Mean change of Ĉ_ℓ(T) when the first ``realisations`` of ``reference_run`` are observed on another grid, and
    its one-sided 97.5% confidence half-width (t quantile × standard error of the paired differences).

    The random draws do not depend on the grid, so the same seed gives the same δf map seen on a different grid:
    the change is the difference of the two grids' aliasing (docs/physics/simulator.md#white-noise-floor).  Aliasing
    also varies between
    realisations (which adds to the ensemble scatter), hence the confidence interval.
    """
    other = toy.simulate(
        D_S, KAPPA_C, reference_run.times, realisations, n_theta, reference_run.seed_entropy,
        dt=reference_run.dt, n_features=reference_run.n_features,
    )
    differences = reference_run.cl[:realisations] - other.cl
    half_width = stats.t.ppf(0.975, realisations - 1) * differences.std(axis=0, ddof=1) / math.sqrt(realisations)
    return differences.mean(axis=0), half_width


#: realisations of the paired grid-refinement checks (cheap: only the finer grid is recomputed)
QUICK_REFINEMENT_REALISATIONS = 8


def test_default_grid_aliasing_is_below_statistical_error(quick_run):
    # the aliasing of the default grid (its change against a grid with 16 more nodes) is below the comparison's
    # statistical error at 97.5% confidence: |mean change| + half-width < stderr
    change, half_width = _paired_grid_change(quick_run, quick_run.grid.n_theta + 16, QUICK_REFINEMENT_REALISATIONS)
    assert np.all(np.abs(change[:, 1:]) + half_width[:, 1:] < quick_run.stderr[:, 1:]), change / quick_run.stderr
    # and the white-noise floor of the unresolved power (docs/physics/simulator.md#white-noise-floor: E[Ĉ_ℓ] =
    # ∫δf²_unresolved / N_nodes for a
    # decorrelated remainder) is below the error of the smallest multipole compared
    assert np.all(quick_run.alias_floor < quick_run.stderr[:, LMAX]), quick_run.alias_floor / quick_run.stderr[:, LMAX]


def test_coarse_grid_aliasing_is_detected(quick_run):
    # the refinement check can fail: a grid exact only to ℓ' = 21 inflates C_10 at T = 2
    # (docs/physics/simulator.md#white-noise-floor) by more
    # than the statistical error, at 97.5% confidence
    change, half_width = _paired_grid_change(quick_run, 16, QUICK_REFINEMENT_REALISATIONS)
    assert -change[-1, LMAX] - half_width[-1, LMAX] > quick_run.stderr[-1, LMAX]


def test_large_time_step_bias_is_detected():
    # The scheme has a weak O(dt) error; at dt = 0.05 it is ≈ +10% at ℓ = 5..10 for T = 1, which a 160-realisation
    # ensemble resolves: the pooled ratio MC/ODE over ℓ = 5..10 lies > 3 standard errors above 1.  (The quick
    # comparison at dt = 0.005 therefore carries ≈ 1%, a fifth of its statistical error.)
    times = (1.0,)
    result = toy.simulate(D_S, KAPPA_C, times, 160, resolution=40, seed=6, dt=0.05, n_features=QUICK_N_FEATURES)
    reference = _ode_reference(times)
    pooled = np.mean(result.cl[:, 0, 5 : LMAX + 1] / reference[0, 5 : LMAX + 1], axis=1)
    z = (pooled.mean() - 1.0) / (pooled.std(ddof=1) / math.sqrt(pooled.size))
    assert z > Z_LIMIT, z


# ---------------------------------------------------------------------------------------------------------------
# interface
# ---------------------------------------------------------------------------------------------------------------
def test_run_returns_mean_and_error_in_caller_order_and_seeds_are_per_realisation():
    times = [1.0, 0.5]
    mean, stderr = toy.run(D_S, KAPPA_C, times, 3, 12, 5, dt=0.05, n_features=4, lmax=6)
    assert mean.shape == stderr.shape == (2, 7)
    more = toy.simulate(D_S, KAPPA_C, [0.5, 1.0], 5, 12, 5, dt=0.05, n_features=4, lmax=6)
    # realisation r uses SeedSequence child r: the first three of five equal the three-realisation run
    assert np.array_equal(more.cl[:3].mean(axis=0)[::-1], mean)
    assert more.seed_entropy == 5 and more.grid.n_theta == 12


def test_default_resolution_grows_with_time_and_cascade_rate():
    short, long = toy.default_resolution(0.5), toy.default_resolution(2.0)
    assert short < long
    assert toy.default_resolution(2.0, D_s=0.5, kappa_c=0.0) <= short  # rigid rotation: no cascade
    assert toy.default_resolution(2.0, lmax=20) > long


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        ({"D_s": 0.0}, "D_s"),
        ({"kappa_c": -1.0}, "kappa_c"),
        ({"times": [0.5, -1.0]}, "times"),
        ({"times": []}, "times"),
        ({"times": ["soon"]}, "times"),
        ({"realisations": 1}, "realisations"),
        ({"resolution": 1}, "resolution"),
        ({"resolution": 8, "lmax": 10}, "lmax"),
        ({"seed": -1}, "seed"),
        ({"dt": 0.0}, "dt"),
        ({"n_features": 0}, "n_features"),
        ({"gradient": (1.0, 0.0)}, "gradient"),
    ],
)
def test_bad_input_raises_parameter_error(arguments, name):
    call = {"D_s": D_S, "kappa_c": KAPPA_C, "times": [0.5], "realisations": 2, "resolution": 12, "seed": 0}
    call.update(arguments)
    with pytest.raises(ParameterError) as raised:
        toy.simulate(**call)
    assert raised.value.name == name


# ---------------------------------------------------------------------------------------------------------------
# full versions (pytest -m slow)
# ---------------------------------------------------------------------------------------------------------------
FULL_TIMES = (0.5, 1.0, 2.0)
FULL_REALISATIONS = 256


@pytest.mark.slow
def test_toy_monte_carlo_matches_mixing_ode_full():
    # default dt (weak bias ≈ 0.5%) and default grid (aliasing ≤ 1%) against errors of ≈ 2-4%
    result = toy.simulate(D_S, KAPPA_C, FULL_TIMES, FULL_REALISATIONS, None, 77)
    _assert_agrees_with_ode(result, _ode_reference(FULL_TIMES), "full")
    change, half_width = _paired_grid_change(result, result.grid.n_theta + 24, 32)
    assert np.all(np.abs(change[:, 1:]) + half_width[:, 1:] < result.stderr[:, 1:]), change / result.stderr


@pytest.mark.slow
def test_toy_monte_carlo_matches_mixing_ode_at_long_times():
    # Long T: the smooth toy has no ℓmax-converged steady state (docs/physics/mixing_ode.md#ode: its low-ℓ steady state
    # drifts up with
    # ℓmax), and the Monte Carlo has no truncation, so the right reference at long T is the ODE evolved to T with
    # ℓmax converged at that T.  Checked here at T = 3 and 4, where C_10 has grown to ≈ 3× its T = 2 value.
    times = (3.0, 4.0)
    result = toy.simulate(D_S, KAPPA_C, times, 64, None, 78)
    reference = _ode_reference(times, 1280)
    change = np.abs(_ode_reference(times, 640)[:, 1 : LMAX + 1] / reference[:, 1 : LMAX + 1] - 1.0)
    assert np.all(change < TRUNCATION_FRACTION_OF_ERROR * (result.stderr / result.mean)[:, 1 : LMAX + 1]), change
    _assert_agrees_with_ode(result, reference, "long")
    # and the measured C_ℓ keep growing between T = 3 and 4 as the ODE says: no steady state is reached
    assert np.all(result.mean[1, 2 : LMAX + 1] > result.mean[0, 2 : LMAX + 1])


@pytest.mark.slow
@pytest.mark.parametrize("n_features", [4, 64])
def test_toy_monte_carlo_is_independent_of_feature_count(n_features):
    # the pair statistics of one step are exact for any N_f, so the mean depends on N_f only at O(dt)
    times = (1.0,)
    result = toy.simulate(D_S, KAPPA_C, times, 128, None, 79, n_features=n_features)
    _assert_agrees_with_ode(result, _ode_reference(times), f"N_f={n_features}")
