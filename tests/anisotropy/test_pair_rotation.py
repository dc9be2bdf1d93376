"""Relative-rotation pair model (anisotropy.pair_rotation): limits it must obey, and its numba kernel's twin."""

import math

import numba
import numpy as np
import pytest

from anisotropy.errors import ParameterError
from anisotropy.pair_correlation import equal_age_correlation, pair_correlation_cl
from anisotropy.pair_rotation import (
    _initial_pair,
    _pairs_kernel,
    _pairs_python,
    _step,
    factorised_cl,
    rotation_pair_correlation,
)
from anisotropy.transport import pitch_angle_diffusion

CASE = {"reduced_rigidity": 0.1, "eta": 0.5, "lmin_over_lmax": 0.01}
#: the twin and the kernel draw the same numbers and do the same arithmetic; only fused operations may differ
TWIN_TOLERANCE = 1e-12
#: |y_ℓ| of independent members must sit within this many Monte Carlo standard errors of 0
NOISE_SIGMAS = 4.0
#: trapezoid on 4000 ages against the exact piecewise-exponential quadrature of pair_correlation_cl
QUADRATURE_TOLERANCE = 2e-5


def test_kernel_matches_python_twin():
    cosines = np.array([0.95, 0.3, -0.6])
    arguments = (0.7, 2.0 / 3.0, 0.14, 10.0, 0.01, np.array([5, 40, 120]))
    for dupree in (True, False):
        fast = _pairs_kernel(cosines, 3, *arguments, dupree, True)
        slow = _pairs_python(cosines, 3, *arguments, dupree, True)
        assert np.max(np.abs(fast - slow)) < TWIN_TOLERANCE
        assert np.all(np.abs(fast) <= 1.0 + 1e-12)


def test_identical_members_stay_identical():
    # the pair identity: equal positions and directions get equal rotations, so the angle (0) is conserved
    dots = _pairs_kernel(np.ones(64), 5, 0.7, 2.0 / 3.0, 0.14, 10.0, 0.01, np.array([50, 400]), True, True)
    assert np.allclose(dots, 1.0, atol=1e-10)


def test_independent_members_keep_g_linear_in_x():
    # independent rotations: <d_A.d_B> is bilinear in the initial directions, so its orientation average is ∝ x
    result = rotation_pair_correlation(ages=[0.4, 1.6], pairs=2048, correlated=False, seed=11, **CASE)
    assert np.all(np.abs(result.y[:, 2:]) < NOISE_SIGMAS * result.y_error[:, 2:])
    assert np.all(result.y[:, 1] < 0.9)   # while the members themselves are scattered


def test_correlated_kicks_keep_close_pairs_together():
    # the property the model is for: with the resonance overlap the pair correlation holds power at ℓ >= 2
    common = {"ages": [0.8], "pairs": 8192, "seed": 12, **CASE}
    correlated = rotation_pair_correlation(**common)
    independent = rotation_pair_correlation(correlated=False, **common)
    excess = correlated.y[0, 2:4] - independent.y[0, 2:4]
    error = np.hypot(correlated.y_error[0, 2:4], independent.y_error[0, 2:4])
    assert np.all(excess > NOISE_SIGMAS * error)


def test_same_seed_same_result_and_seeds_differ():
    first = rotation_pair_correlation(ages=[0.8], pairs=64, seed=4, **CASE)
    again = rotation_pair_correlation(ages=[0.8], pairs=64, seed=4, **CASE)
    other = rotation_pair_correlation(ages=[0.8], pairs=64, seed=5, **CASE)
    assert np.array_equal(first.pair_function, again.pair_function)
    assert not np.array_equal(first.pair_function, other.pair_function)


def test_python_twin_through_the_public_function():
    fast = rotation_pair_correlation(ages=[0.2, 0.4], pairs=4, nodes=4, lmax=3, seed=2, **CASE)
    slow = rotation_pair_correlation(ages=[0.2, 0.4], pairs=4, nodes=4, lmax=3, seed=2, python=True, **CASE)
    assert np.allclose(fast.y, slow.y, rtol=0, atol=TWIN_TOLERANCE)


def test_factorised_cl_matches_pair_correlation_cl():
    # an independent quadrature: pair_correlation_cl integrates e^{Γt} analytically, factorised_cl by trapezoid
    import anisotropy as an

    gamma = an.rate_matrix(an.PairRate.toy(D_s=0.5, kappa_c=5.0), 8)
    ages = np.linspace(3.0 / 4000, 3.0, 4000)
    y = equal_age_correlation([gamma], [1.0], ages)
    trapezoid = factorised_cl(y, ages, 0.8, 3.0)
    exact = pair_correlation_cl([gamma], [1.0], 0.8, [3.0])[0] * 9.0 / (8.0 * math.pi)
    assert np.allclose(trapezoid[1:], exact[1:], rtol=QUADRATURE_TOLERANCE)


@pytest.mark.parametrize(("change", "name"), [
    ({"reduced_rigidity": -1.0}, "reduced_rigidity"),
    ({"broadening": "lorentz"}, "broadening"),
    ({"ages": [0.5, 0.2]}, "ages"),
    ({"lmax": 40}, "lmax"),
    ({"step": 0.0}, "step"),
])
def test_bad_input_names_the_parameter(change, name):
    arguments = {"ages": [0.5], "pairs": 4, **CASE, **change}
    with pytest.raises(ParameterError, match=name):
        rotation_pair_correlation(**arguments)


# --- single members: the model's pitch-angle process is slab QLT's ∂_μ(D_μμ ∂_μ f) ---

#: ⟨μ²⟩ of an isotropic population is 1/3; at Ω dt = 0.1 the Euler step near QLT's 90° singularity (D ∝ |μ|^{2/3})
#: biases it by about +0.007 (halving with a 4× smaller step), and 20000 members add 0.002 of noise (4σ: 0.008)
ISOTROPY_TOLERANCE = 0.015
#: ⟨Δμ²⟩ = 2 D_μμ t over two steps of Ω dt = 0.01, up to second order in the kick angle (≈ 0.3 %; D_μμ peaks near
#: μ = 0.5, so the spread grows sublinearly once σ_μ is not small) and 1 % of noise from 20000 members
SHORT_TIME_TOLERANCE = 0.05


@numba.njit(parallel=True)
def _member_pitches(members, steps, start, prefactor, exponent, gyroradius, omega, dt):
    out = np.zeros(members)
    for member in numba.prange(members):
        np.random.seed(member)
        if start > 1.0:   # isotropic start
            a0, a1, a2, b0, b1, b2 = _initial_pair(0.5, np.random.random(), np.random.random(), np.random.random())
        else:
            azimuth = 2.0 * math.pi * np.random.random()
            sine = math.sqrt(1.0 - start * start)
            a0, a1, a2 = sine * math.cos(azimuth), sine * math.sin(azimuth), start
            b0, b1, b2 = a0, a1, a2
        state = (a0, a1, a2, b0, b1, b2, 0.0)
        for _ in range(steps):
            noise = (np.random.standard_normal(), np.random.standard_normal(),
                     np.random.standard_normal(), np.random.standard_normal())
            state = _step(state, noise, prefactor, exponent, gyroradius, omega, dt, True, False)
        out[member] = state[2]
    return out


def _qlt_arguments():
    rigidity, eta, lmin = CASE["reduced_rigidity"], CASE["eta"], CASE["lmin_over_lmax"]
    exponent = 2.0 / 3.0
    prefactor = float(pitch_angle_diffusion(0.5, rigidity, eta, lmin_over_lmax=lmin)) / (0.75 * 0.5**exponent)
    omega = 1.0 / rigidity
    return prefactor, exponent, rigidity / math.sqrt(1.0 - eta), omega, 0.1 / omega


def test_isotropic_members_stay_isotropic():
    # the isotropic distribution is stationary under pitch-angle diffusion; without the drift D'(1-μ²) the members
    # collect near 90° (⟨μ²⟩ fell to 0.18)
    mu = _member_pitches(20000, 4000, 2.0, *_qlt_arguments())
    assert abs(np.mean(mu**2) - 1.0 / 3.0) < ISOTROPY_TOLERANCE


def test_short_time_spread_is_qlt_pitch_angle_diffusion():
    # independent check of the kick variance against the slab QLT coefficient (anisotropy.transport)
    prefactor, exponent, gyroradius, omega, _ = _qlt_arguments()
    dt = 0.01 / omega
    mu = _member_pitches(20000, 2, 0.5, prefactor, exponent, gyroradius, omega, dt)
    expected = 2.0 * float(pitch_angle_diffusion(0.5, CASE["reduced_rigidity"], CASE["eta"],
                                                 lmin_over_lmax=CASE["lmin_over_lmax"])) * omega * 2 * dt
    assert np.var(mu) == pytest.approx(expected, rel=SHORT_TIME_TOLERANCE)
