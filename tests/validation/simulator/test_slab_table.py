"""validation.simulator.slab_table against the exact plane-wave sum (libm), its scipy twin, the Boris pusher of the
mode sum, and the diffusion coefficients of the mode sum."""

import math

import numpy as np
import pytest

from anisotropy.errors import ParameterError
from validation.simulator.config import DiffusionConfig, TurbulenceConfig
from validation.simulator.diffusion import diffusion_realisation, isotropic_directions
from validation.simulator.ensemble import realisation_seed
from validation.simulator.pusher import advance, evaluate_field, trace_fieldlines
from validation.simulator.slab_table import (
    BUILD_BLOCK,
    FIELD_ERROR_BUDGET,
    HERMITE_REMAINDER,
    SlabTable,
    hermite_spacing,
)
from validation.simulator.turbulence import TurbulenceField

#: the scipy twin evaluates the same cubic from the same nodes in another order: rounding of O(1) sums
TWIN_ROUNDING = 1e-12
#: statistical comparisons accept deviations up to this many standard errors (fixed seeds)
N_SIGMA = 4.0
#: pusher rounding: the same rotation in the same order, ~1e-16 per step over ≤ 1e3 steps
PUSH_ROUNDING = 1e-12


def _slab(lmin_over_lmax, modes_per_decade, eta=0.5, seed=3, slab_field=None):
    config = TurbulenceConfig(kind="slab", eta=eta, lmin_over_lmax=lmin_over_lmax, modes_per_decade=modes_per_decade,
                              slab_field=slab_field)
    return TurbulenceField(config, seed)


def _points_on_axis(z):
    points = np.zeros((z.size, 3))
    points[:, 2] = z
    points[:, :2] = np.random.default_rng(0).uniform(-50.0, 50.0, (z.size, 2))  # x, y must not matter
    return points


@pytest.mark.parametrize(
    ("lmin_over_lmax", "modes_per_decade", "modes", "z_low"),
    [
        (1e-3, 83, 250, -3.0),
        (1e-3, 333, 1000, -3.0),
        (1e-4, 1000, 4000, -0.5),
        (1e-2, 4, 8, -3.0),
        (1e-3, 256, 768, 997.0),  # far from the origin: phases of ~2e5 turns
    ],
)
def test_table_field_is_within_its_rigorous_bound_and_the_budget_of_the_exact_mode_sum(
    lmin_over_lmax, modes_per_decade, modes, z_low
):
    table_field = _slab(lmin_over_lmax, modes_per_decade)
    exact_field = _slab(lmin_over_lmax, modes_per_decade, slab_field="modes")
    assert abs(table_field.n_modes - modes) <= 2
    z = np.random.default_rng(1).uniform(z_low, z_low + (1.0 if modes > 2000 else 6.0), 20_000)
    points = _points_on_axis(z)
    difference = np.abs(evaluate_field(table_field, points) - evaluate_field(exact_field, points, kernel="libm"))
    table = table_field.table
    rms_field = math.sqrt(table_field.config.eta)
    # Hermite remainder + triangle inequality (module docstring), plus 1e-12 of rounding in both sums
    assert np.max(difference[:, :2]) <= table.error_bound * rms_field + 1e-12
    assert table.error_bound <= FIELD_ERROR_BUDGET * (1.0 + 1e-12)
    assert np.all(difference[:, 2] == 0.0)  # b_z = B0 exactly in a slab field
    # the bound is within 10x of the measured maximum (it is not vacuous)
    assert np.max(difference[:, :2]) > 0.1 * table.error_bound * rms_field


def test_spacing_is_the_largest_that_meets_the_budget():
    table = _slab(1e-3, 64).table
    amplitudes = np.linalg.norm(table_field_polarisations(table), axis=1)
    # h^4 Σ|A_n| k_n^4 / 384 = budget × δB_rms, solved independently of hermite_spacing
    fourth = np.sum(amplitudes * (2.0 * math.pi * np.abs(table._nu)) ** 4)
    rms = math.sqrt(0.5 * np.sum(amplitudes**2))
    assert table.spacing**4 * fourth / HERMITE_REMAINDER == pytest.approx(FIELD_ERROR_BUDGET * rms, rel=1e-12)
    assert hermite_spacing(0.0, 0.0, 1e-7, 2.0) == 0.5  # no modes: L_min/4


def table_field_polarisations(table):
    return np.stack([table._amp_x, table._amp_y, np.zeros_like(table._amp_x)], axis=1)


def test_numba_table_kernel_equals_its_scipy_twin():
    table = _slab(1e-2, 32).table
    points = _points_on_axis(np.random.default_rng(2).uniform(-4.0, 4.0, 5000))
    fast = table(points)
    assert np.max(np.abs(fast - table.reference(points))) <= TWIN_ROUNDING


def test_table_grown_in_pieces_is_bit_identical_to_one_built_at_once():
    pieces = _slab(1e-2, 32).table
    for low, high in [(0.0, 0.1), (-3.0, 0.5), (-2.0, 7.0), (-9.0, -8.0)]:
        pieces.ensure(low, high)
    whole = _slab(1e-2, 32).table
    whole.ensure(-9.0, 7.0)
    assert pieces.z_range == whole.z_range
    assert np.array_equal(pieces.kernel_arrays()[0], whole.kernel_arrays()[0])
    assert pieces.z_range[0] <= -9.0 and pieces.z_range[1] >= 7.0
    assert pieces.nbytes == pieces.kernel_arrays()[0].shape[0] * 32
    assert pieces.kernel_arrays()[0].shape[0] % BUILD_BLOCK == 0


def test_trajectories_do_not_depend_on_how_the_steps_are_split_into_calls_or_bursts():
    directions = isotropic_directions(24, np.random.default_rng(6))
    one_call = (np.zeros_like(directions), directions.copy())
    many_calls = (np.zeros_like(directions), directions.copy())
    advance(_slab(1e-2, 16, seed=7), *one_call, 0.05, 1, 0.01, 3000)  # bursts chosen by the table
    field = _slab(1e-2, 16, seed=7)
    for steps in (1, 2, 997, 500, 1500):
        advance(field, *many_calls, 0.05, 1, 0.01, steps)
    assert np.array_equal(one_call[0], many_calls[0]) and np.array_equal(one_call[1], many_calls[1])


def test_table_follows_particles_far_from_the_origin_without_covering_the_way_there():
    field = _slab(1e-2, 16)
    directions = isotropic_directions(16, np.random.default_rng(7))
    positions = np.zeros_like(directions)
    positions[:, 2] = 5000.0 + np.linspace(0.0, 0.5, 16)
    advance(field, positions, directions, 0.1, 1, 0.01, 200)  # 2 L_c of path
    low, high = field.table.z_range
    # the particles' spread (0.5) plus one burst of at least 1 L_c either side, in whole blocks of nodes
    assert 4997.0 - BUILD_BLOCK * field.table.spacing <= low and high <= 5003.5 + BUILD_BLOCK * field.table.spacing


def test_outside_the_table_the_kernel_gives_nan_not_memory_of_another_cell():
    from validation.simulator.slab_table import table_field_kernel

    table = _slab(1e-2, 16).table
    table.ensure(-1.0, 1.0)
    nodes, first, inverse, b0 = table.kernel_arrays()
    outside = np.array([[0.0, 0.0, table.z_range[1] + 1.0], [0.0, 0.0, table.z_range[0] - 1.0],
                        [0.0, 0.0, np.nan], [0.0, 0.0, np.inf]])
    out = np.empty_like(outside)
    table_field_kernel(nodes, first, inverse, b0, outside, out)
    assert np.all(np.isnan(out[:, :2]))


def test_table_boris_in_a_uniform_field_equals_the_mode_pusher():
    b0 = (0.3, -0.2, 0.9)
    table_field = TurbulenceField.from_modes(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0), b0, slab_field="table")
    mode_field = TurbulenceField.from_modes(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0), b0)
    directions = isotropic_directions(13, np.random.default_rng(4))  # not a multiple of the group size
    positions = np.random.default_rng(5).uniform(-1.0, 1.0, (13, 3))
    state_table = (positions.copy(), directions.copy())
    state_modes = (positions.copy(), directions.copy())
    advance(table_field, *state_table, 0.2, -1, 0.01, 700)
    advance(mode_field, *state_modes, 0.2, -1, 0.01, 700, kernel="libm")
    assert np.max(np.abs(state_table[0] - state_modes[0])) <= PUSH_ROUNDING
    assert np.max(np.abs(state_table[1] - state_modes[1])) <= PUSH_ROUNDING


#: trajectory horizon of the linear bound below for slab η = 0.5, r_g/L_c = 0.1 (measured: beyond Ωt ≈ 12 the
#: orbit's exponential sensitivity takes over, as for any two field evaluations that differ by rounding)
TRAJECTORY_HORIZON_OMEGA_T = 8


def test_table_trajectories_follow_the_exact_mode_sum_within_the_linear_error_bound():
    r"""Before chaos amplifies it, a field error ε (per component) turns p̂ by at most |δp| ≤ √2 ε t/ρ and moves
    the particle by |δr| ≤ √2 ε t²/(2ρ) (Boris: dp̂/dt = p̂ × b/ρ with |p̂| = 1)."""
    rho, dt = 0.1, 0.1 / 30.0
    table_field = _slab(1e-2, 64, seed=5)
    exact_field = _slab(1e-2, 64, seed=5, slab_field="modes")
    epsilon = table_field.table.error_bound * math.sqrt(0.5) + 1e-12
    directions = isotropic_directions(64, np.random.default_rng(1))
    state_table = (np.zeros_like(directions), directions.copy())
    state_exact = (np.zeros_like(directions), directions.copy())
    done = 0
    for omega_t in (1, 2, 4, TRAJECTORY_HORIZON_OMEGA_T):
        steps = round(omega_t * rho / dt) - done
        advance(table_field, *state_table, rho, 1, dt, steps)
        advance(exact_field, *state_exact, rho, 1, dt, steps, kernel="libm")
        done += steps
        time = done * dt
        assert np.max(np.linalg.norm(state_table[1] - state_exact[1], axis=1)) <= math.sqrt(2) * epsilon * time / rho
        assert np.max(np.linalg.norm(state_table[0] - state_exact[0], axis=1)) <= (
            math.sqrt(2) * epsilon * time**2 / (2 * rho)
        )


def test_table_fieldlines_follow_the_mode_sum_fieldlines_within_the_linear_error_bound():
    r"""dr/ds = b/|b|: a field error ε per component turns the unit tangent by at most 2√2 ε/|b|, and |b| ≥ B0 in a
    slab field (b_z = B0), so before any amplification |δr| ≤ 2√2 ε s/B0 (measured: 4.6e-9 at s = 2, bound 1.1e-6)."""
    eta, length = 0.3, 2.0
    table_field = _slab(1e-2, 32, eta=eta, seed=2)
    exact_field = _slab(1e-2, 32, eta=eta, seed=2, slab_field="modes")
    epsilon = table_field.table.error_bound * math.sqrt(eta) + 1e-12
    start = np.random.default_rng(3).uniform(-1.0, 1.0, (20, 3))
    lines_table, lines_exact = start.copy(), start.copy()
    trace_fieldlines(table_field, lines_table, 0.005, round(length / 0.005))
    trace_fieldlines(exact_field, lines_exact, 0.005, round(length / 0.005), kernel="libm")
    bound = 2.0 * math.sqrt(2.0) * epsilon * length / math.sqrt(1.0 - eta)
    assert np.max(np.linalg.norm(lines_table - lines_exact, axis=1)) <= bound


def _diffusion_ensemble(slab_field, realisations, particles, time):
    config = DiffusionConfig(
        turbulence=TurbulenceConfig(kind="slab", eta=0.5, lmin_over_lmax=1e-2, modes_per_decade=32,
                                    slab_field=slab_field),
        reduced_rigidity=0.3, particles=particles, time=time, n_times=8,
    )
    results = [diffusion_realisation(config, realisation_seed(17, index)) for index in range(realisations)]
    return np.array([result["d_parallel"] for result in results]), results


def _compare_diffusion(realisations, particles, time):
    # error model: each running coefficient's ensemble mean has the standard error of the realisation scatter; the
    # two runs share seeds (positively correlated), so treating them as independent is conservative
    table, table_results = _diffusion_ensemble(None, realisations, particles, time)
    modes, _ = _diffusion_ensemble("modes", realisations, particles, time)
    difference = table.mean(axis=0) - modes.mean(axis=0)
    error = np.hypot(table.std(axis=0, ddof=1), modes.std(axis=0, ddof=1)) / math.sqrt(realisations)
    assert np.all(np.abs(difference) <= N_SIGMA * error + 1e-12)
    assert table_results[0]["slab_table_bytes"] > 0
    return difference, error


def test_diffusion_coefficients_from_the_table_equal_the_mode_sum_within_statistical_errors():
    _compare_diffusion(realisations=4, particles=128, time=10.0)


@pytest.mark.slow
def test_diffusion_coefficients_from_the_table_equal_the_mode_sum_within_statistical_errors_long_run():
    """16 realisations × 1000 particles to t = 100 L_c/c (κ_∥ plateau at ρ = 0.3, η = 0.5)."""
    _compare_diffusion(realisations=16, particles=1000, time=100.0)


def test_table_too_large_for_its_memory_cap_is_refused_with_how_to_shrink_it():
    field = _slab(1e-3, 16)
    table = SlabTable.of_field(field, max_bytes=1 << 20)
    with pytest.raises(ParameterError, match="slab_field") as error:
        table.ensure(-100.0, 100.0)
    message = str(error.value)
    assert "\n" not in message and "MiB" in message and "--slab-field modes" in message and "--time" in message


@pytest.mark.parametrize(
    ("make", "parameter"),
    [
        (lambda: TurbulenceConfig(kind="slab", slab_field="spline"), "slab_field"),
        (lambda: TurbulenceConfig(kind="isotropic", slab_field="table"), "slab_field"),
        (lambda: TurbulenceField(TurbulenceConfig(kind="isotropic"), 1, slab_field="table"), "slab_field"),
        (lambda: TurbulenceField(TurbulenceConfig(kind="slab"), 1, slab_field="fourier"), "slab_field"),
        (lambda: SlabTable.of_field(_slab(1e-2, 8), error_budget=0.5), "error_budget"),
        (lambda: SlabTable.of_field(_slab(1e-2, 8), error_budget=float("nan")), "error_budget"),
        (lambda: SlabTable.of_field(_slab(1e-2, 8), max_bytes=10), "max_bytes"),
        (lambda: _slab(1e-2, 8).table.ensure(0.0, float("inf")), "positions"),
        (lambda: SlabTable(np.array([[1.0, 0.0, 1.0]]), np.array([[0.0, 1.0, 0.0]]), np.zeros(1), np.zeros(3)),
         "slab_field"),
    ],
)
def test_bad_input_is_refused_naming_the_parameter(make, parameter):
    with pytest.raises(ParameterError, match=parameter):
        make()


def test_default_resolution_of_slab_field():
    assert TurbulenceConfig(kind="slab").field_evaluation == "table"
    assert TurbulenceConfig(kind="slab", slab_field="modes").field_evaluation == "modes"
    assert TurbulenceConfig(kind="isotropic").field_evaluation == "modes"
    assert TurbulenceField(TurbulenceConfig(kind="isotropic", modes_per_decade=4), 1).table is None
    config = TurbulenceConfig(kind="slab", slab_field="modes")
    assert TurbulenceConfig.from_dict(config.to_dict()) == config
