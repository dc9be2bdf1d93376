"""validation.simulator.pusher and validation.simulator.fastmath against exact results: Boris rotation, time
reversal, libm, mpmath."""

import math

import mpmath
import numba
import numpy as np
import pytest

from anisotropy.errors import ParameterError
from validation.simulator import simd
from validation.simulator.config import TurbulenceConfig
from validation.simulator.fastmath import MAX_ABS_ERROR, cos_turns_array
from validation.simulator.pusher import KERNELS, advance, evaluate_field, kernel_selector, trace_fieldlines
from validation.simulator.turbulence import TurbulenceField

#: budget (docs/guide/design.md#targets) of the polynomial cosine
COS_BUDGET = 1e-7


def _uniform_field(b=(0.0, 0.0, 1.0)):
    return TurbulenceField.from_modes(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0), b)


def _single_particle(direction=(1.0, 0.0, 0.0)):
    return np.zeros((1, 3)), np.array([direction], dtype=np.float64)


def test_fast_cosine_error_is_within_documented_bound_over_a_period():
    turns = np.linspace(-0.5, 0.5, 1_000_001)
    error = np.max(np.abs(cos_turns_array(turns) - np.cos(2.0 * np.pi * turns)))
    assert error <= MAX_ABS_ERROR <= COS_BUDGET
    # the bound is tight (it documents the polynomial, not a loose cap): within 5% of the measured maximum
    assert error > 0.95 * MAX_ABS_ERROR


def test_fast_cosine_of_large_phases_matches_mpmath():
    # phases of up to 1e6 turns (k·x for |x| ~ 1e4 L_c at k_max ~ 600/L_c): exact reference in 30 digits
    turns = np.random.default_rng(4).uniform(-1e6, 1e6, 300)
    mpmath.mp.dps = 30
    exact = np.array([float(mpmath.cos(2 * mpmath.pi * mpmath.mpf(float(t)))) for t in turns])
    assert np.max(np.abs(cos_turns_array(turns) - exact)) <= MAX_ABS_ERROR


def test_fast_field_equals_libm_field_within_the_summed_cosine_bound():
    field = TurbulenceField(TurbulenceConfig(eta=0.8), 12)
    points = np.random.default_rng(1).uniform(-100.0, 100.0, (2000, 3))
    difference = np.max(np.abs(evaluate_field(field, points) - evaluate_field(field, points, kernel="libm")))
    # triangle inequality: Σ_n |a_n| × per-mode cosine error (+1e-10 for the rounding of 2π t in the libm twin)
    bound = np.sum(np.abs(field.polarisations), axis=0).max() * (MAX_ABS_ERROR + 1e-10)
    assert difference <= bound
    assert np.allclose(evaluate_field(field, points[:5], kernel="libm") - field.b0, _direct_sum(field, points[:5]))


def _direct_sum(field, points):
    # docs/physics/simulator.md#plane-wave-field item 1 written out with numpy: Σ_n A_n ξ̂_n cos(k_n κ̂_n·r + β_n)
    return np.cos(points @ field.wavevectors.T + field.phases) @ field.polarisations


def test_boris_conserves_speed_over_1e5_gyrations():
    reduced_rigidity, omega_dt = 0.1, 1.0 / 30.0
    positions, directions = _single_particle((0.6, 0.0, 0.8))
    steps = round(1e5 * 2 * math.pi / omega_dt)
    advance(_uniform_field(), positions, directions, reduced_rigidity, 1, omega_dt * reduced_rigidity, steps)
    # each step is an exact rotation up to rounding: a random walk of ~1e-16 per step over 1.9e7 steps (~5e-13);
    # any truncation-error drift of a non-rotation scheme (e.g. RK4: ~(Ωdt)^5 per step) would be >1e-3
    assert abs(np.linalg.norm(directions[0]) - 1.0) < 1e-12


def test_boris_gyrophase_lags_by_omega_dt_squared_over_12():
    reduced_rigidity, omega_dt, gyrations = 0.5, 0.1, 20
    steps = round(gyrations * 2 * math.pi / omega_dt)
    positions, directions = _single_particle()
    advance(_uniform_field(), positions, directions, reduced_rigidity, 1, omega_dt * reduced_rigidity, steps)
    # a positive charge in B ẑ turns clockwise: exact phase after time t is -Ωt (dp̂/dt = p̂ × ẑ/ρ)
    measured = math.atan2(directions[0, 1], directions[0, 0])
    exact = -steps * omega_dt
    lag = (measured - exact + math.pi) % (2 * math.pi) - math.pi
    relative_lag = lag / (steps * omega_dt)
    # Boris turns by 2 atan(Ωdt/2) per step: relative lag (Ωdt)²/12 - (Ωdt)⁴/80 + ...
    assert relative_lag == pytest.approx(omega_dt**2 / 12.0, rel=2 * (omega_dt**2 * 12 / 80))
    assert relative_lag == pytest.approx(1.0 - 2.0 * math.atan(omega_dt / 2.0) / omega_dt, rel=1e-9)


def test_boris_orbit_radius_is_the_reduced_rigidity():
    reduced_rigidity, omega_dt = 0.25, 0.05
    positions, directions = _single_particle()
    field = _uniform_field()
    orbit = []
    for _ in range(200):
        advance(field, positions, directions, reduced_rigidity, 1, omega_dt * reduced_rigidity, 1)
        orbit.append(positions[0].copy())
    orbit = np.array(orbit)
    # algebraic circle fit in the x-y plane
    x, y = orbit[:, 0], orbit[:, 1]
    design = np.column_stack([x, y, np.ones_like(x)])
    solution = np.linalg.lstsq(design, x**2 + y**2, rcond=None)[0]
    centre = solution[:2] / 2.0
    radius = math.sqrt(solution[2] + centre @ centre)
    # leapfrog chord of angle θ = 2atan(Ωdt/2): radius Δ/(2 sin(θ/2)) = ρ √(1 + (Ωdt/2)²)
    assert radius == pytest.approx(reduced_rigidity * math.sqrt(1 + (omega_dt / 2) ** 2), rel=1e-10)
    assert np.ptp(orbit[:, 2]) == 0.0  # no motion along B for p̂ ⊥ B


def test_backtracking_with_reversed_charge_retraces_the_trajectory():
    field = TurbulenceField(TurbulenceConfig(eta=1.0, lmin_over_lmax=1e-2, modes_per_decade=64), 6)
    reduced_rigidity, step, steps = 1.0, 1e-3, 1000
    start = np.random.default_rng(5).normal(size=(16, 3))
    start /= np.linalg.norm(start, axis=1)[:, None]
    positions, directions = np.zeros((16, 3)), start.copy()
    advance(field, positions, directions, reduced_rigidity, 1, step, steps)  # physical particle, charge +1
    for charge, expect_retrace in [(-1, True), (1, False)]:
        back_positions, back_directions = positions.copy(), -directions  # start along the arrival direction
        advance(field, back_positions, back_directions, reduced_rigidity, charge, step, steps)
        miss = np.max(np.linalg.norm(back_positions, axis=1))
        # error model: the stored direction is staggered by one rotation step (angle Δ|b|/ρ ~ 1e-3 here) at the
        # turning point, carried over the time T = 1: miss ~ T Δ/ρ ~ 1e-3 (chaos amplifies it only mildly at ρ = 1);
        # with the wrong sign the orbit curves the other way: miss ~ T²/ρ ~ 1
        if expect_retrace:
            assert miss < 1e-2
            assert np.max(np.abs(-back_directions - start)) < 1e-2
        else:
            assert miss > 0.1


def _trajectory_ends(kernels, count=8, steps=100):
    """Final (positions, directions) of ``count`` particles after ``steps`` Boris steps, one pair per kernel."""
    field = TurbulenceField(TurbulenceConfig(eta=1.0, lmin_over_lmax=1e-2, modes_per_decade=64), 7)
    start = np.random.default_rng(9).normal(size=(count, 3))
    start /= np.linalg.norm(start, axis=1)[:, None]
    ends = []
    for kernel in kernels:
        positions, directions = np.zeros((count, 3)), start.copy()
        advance(field, positions, directions, 0.3, 1, 1e-2, steps, kernel=kernel)
        ends.append((positions, directions))
    return ends


def test_fast_and_libm_trajectories_agree():
    (fast, _), (reference, _) = _trajectory_ends(("auto", "libm"))
    # field difference ≤ ~1e-7 acting for t = 1 L_c/c at rigidity 0.3: displacement ~ δb t²/ρ ≈ 3e-7
    assert np.max(np.abs(fast - reference)) < 1e-5


def test_fieldline_in_uniform_field_is_straight_and_rk4_is_fourth_order():
    positions = np.zeros((1, 3))
    direction = np.array([0.0, 0.6, 0.8])
    trace_fieldlines(_uniform_field(direction), positions, 0.1, 50)
    np.testing.assert_allclose(positions[0], 5.0 * direction, atol=1e-12)
    # two modes making b = (cos kz, sin kz, B0): the field line is a helix; compare two step sizes with it
    wavenumber, b0 = 2.0, 1.0
    field = TurbulenceField.from_modes(
        [[0, 0, wavenumber], [0, 0, wavenumber]], [[1, 0, 0], [0, 1, 0]], [0.0, -math.pi / 2], [0, 0, b0]
    )
    errors = []
    length = 3.0
    # |b| = √2 constant, dz/ds = 1/√2: x(s) = sin(k z)/k, y(s) = (1 - cos(k z))/k
    z_end = length / math.sqrt(2.0)
    exact = np.array([math.sin(wavenumber * z_end), 1 - math.cos(wavenumber * z_end), wavenumber * z_end])
    exact /= wavenumber
    for steps in (30, 60):
        positions = np.zeros((1, 3))
        trace_fieldlines(field, positions, length / steps, steps, kernel="libm")
        errors.append(np.max(np.abs(positions[0] - exact)))
    assert errors[0] / errors[1] == pytest.approx(16.0, rel=0.15)  # RK4: error ∝ ds⁴


def test_wrappers_reject_bad_input():
    field = _uniform_field()
    positions, directions = _single_particle()
    with pytest.raises(ParameterError, match="charge_sign"):
        advance(field, positions, directions, 0.1, 2, 0.01, 1)
    with pytest.raises(ParameterError, match="reduced_rigidity"):
        advance(field, positions, directions, 0.0, 1, 0.01, 1)
    with pytest.raises(ParameterError, match="positions"):
        advance(field, positions.astype(np.float32), directions, 0.1, 1, 0.01, 1)
    with pytest.raises(ParameterError, match="directions"):
        advance(field, positions, np.zeros((2, 3)), 0.1, 1, 0.01, 1)
    with pytest.raises(ParameterError, match="n_steps"):
        trace_fieldlines(field, positions, 0.1, -1)
    with pytest.raises(ParameterError, match="kernel"):
        advance(field, positions, directions, 0.1, 1, 0.01, 1, kernel="fast")


@pytest.mark.parametrize("kernel", ["auto", "portable", "libm"])
def test_particles_are_independent_of_their_batch_companions(kernel):
    # the kernel advances particles in groups of 4 (the last group filled with copies of the last particle):
    # no coupling allowed
    field = TurbulenceField(TurbulenceConfig(eta=1.0, lmin_over_lmax=1e-2, modes_per_decade=32), 3)
    start = np.random.default_rng(2).normal(size=(5, 3))
    start /= np.linalg.norm(start, axis=1)[:, None]
    together_positions, together_directions = np.zeros((5, 3)), start.copy()
    advance(field, together_positions, together_directions, 0.3, -1, 1e-2, 50, kernel=kernel)
    for index in range(5):
        alone_positions, alone_directions = np.zeros((1, 3)), start[index : index + 1].copy()
        advance(field, alone_positions, alone_directions, 0.3, -1, 1e-2, 50, kernel=kernel)
        # identical arithmetic per particle; 1e-14 allows for a different summation order of the modes
        np.testing.assert_allclose(alone_positions[0], together_positions[index], rtol=0, atol=1e-14)
        np.testing.assert_allclose(alone_directions[0], together_directions[index], rtol=0, atol=1e-14)


def test_fast_sine_is_the_quarter_turn_shifted_cosine_within_the_bound():
    from validation.simulator.fastmath import sin_turns

    @numba.njit
    def evaluate(turns, out):
        for index in range(turns.size):
            out[index] = sin_turns(turns[index])

    turns = np.linspace(-2.0, 2.0, 40_001)
    values = np.empty_like(turns)
    evaluate(turns, values)
    # the shift t - 1/4 rounds by ≤ 2^-53·2 turns here: negligible against the polynomial error
    assert np.max(np.abs(values - np.sin(2.0 * np.pi * turns))) <= MAX_ABS_ERROR + 1e-15


# ---------------------------------------------------------------------------------------------- explicit SIMD kernel
#: the explicit AVX-512 kernel and the portable loop do the same arithmetic (same phase FMAs, same polynomial) in a
#: different summation order over modes: relative differences of a few ulp of Σ|a_n| (~1e-15); 1e-13 allows for
#: the ~100 rounding steps of a 768-mode sum without admitting any approximation error (≥ 1e-9 per mode)
SUMMATION_ORDER_TOLERANCE = 1e-13

needs_simd = pytest.mark.skipif(not simd.AVAILABLE, reason="numba's target has no AVX-512F/DQ")


@needs_simd
def test_simd_field_equals_portable_field_to_summation_order():
    field = TurbulenceField(TurbulenceConfig(eta=0.8), 5)  # 768 modes: 96 whole vectors
    points = np.random.default_rng(3).uniform(-1e3, 1e3, (500, 3))
    scale = np.sum(np.abs(field.polarisations), axis=0).max()
    difference = evaluate_field(field, points, kernel="simd") - evaluate_field(field, points, kernel="portable")
    assert np.max(np.abs(difference)) <= SUMMATION_ORDER_TOLERANCE * scale


@needs_simd
def test_simd_trajectories_follow_portable_ones():
    # same field to 1e-15 per step; over 100 steps of a chaotic orbit the gap stays far below the 1e-7 cosine error
    (_, simd_directions), (_, portable_directions) = _trajectory_ends(("simd", "portable"), count=6)
    assert np.max(np.abs(simd_directions - portable_directions)) < 1e-11


def test_mode_padding_adds_exactly_zero():
    # 37 modes pad to 40: the padded kernel array has zero amplitudes there and the same field (portable path)
    rng = np.random.default_rng(6)
    directions = rng.normal(size=(37, 3))
    directions /= np.linalg.norm(directions, axis=1)[:, None]
    polarisations = np.cross(directions, rng.normal(size=(37, 3)))
    field = TurbulenceField.from_modes(5.0 * directions, polarisations, rng.uniform(0, 2 * math.pi, 37), [0, 0, 1])
    modes, _ = field.kernel_arrays()
    assert modes.shape == (7, 40) and not np.any(modes[4:, 37:])
    points = rng.uniform(-10, 10, (20, 3))
    expected = field.b0 + _direct_sum(field, points)
    assert np.max(np.abs(evaluate_field(field, points, kernel="portable") - expected)) <= (
        np.sum(np.abs(polarisations), axis=0).max() * (MAX_ABS_ERROR + 1e-12))


def test_auto_kernel_is_the_simd_one_exactly_when_available():
    assert kernel_selector("auto") == (KERNELS["simd"] if simd.AVAILABLE else KERNELS["portable"])
    if not simd.AVAILABLE:
        with pytest.raises(ParameterError, match="AVX-512"):
            kernel_selector("simd")


def test_simd_availability_follows_the_feature_string():
    assert simd._has_avx512("+avx2,+avx512f,+avx512dq,-avx512fp16")
    assert not simd._has_avx512("+avx2,+avx512f,-avx512dq")
    assert not simd._has_avx512("")
