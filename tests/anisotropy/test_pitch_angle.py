"""The pitch-angle Fokker-Planck propagator against independent references.

References: the Legendre eigenmodes of D = D0 (1 - μ²) (⟨P_ℓ(μ(t))⟩ = e^{-ℓ(ℓ+1) D0 t} P_ℓ(μ0), exact), QLT's
κ∥ = (v²/8)∫(1-μ²)²/D dμ in closed form (anisotropy.transport), probability conservation and the time-reversal
symmetry of the isotropic joint distribution (the operator is self-adjoint).
"""

import numpy as np
import pytest
from scipy.special import eval_legendre

from anisotropy.errors import ParameterError
from anisotropy.pitch_angle import (
    PitchAngleGenerator,
    fokker_planck_autocorrelation,
    fokker_planck_parallel_diffusion,
    fokker_planck_transitions,
    qlt_slab_transitions,
)
from anisotropy.transport import parallel_diffusion, pitch_angle_diffusion
from anisotropy.turbulence import Turbulence

D0 = 0.7
SLAB = Turbulence("slab", 0.5, 0.01)
RHO = 0.1
#: second-order finite volumes on 400 cells: the cell-average error of P_ℓ, ℓ ≤ 4, is ~ (ℓ² h)²/24 ≈ 4e-5
LEGENDRE_TOLERANCE = 2e-4
#: κ of the discrete QLT operator at 400 cells against the closed form (measured 5e-6 relative; the conductance
#: integrals are exact for a steady flux, so only the cell averaging of μ is left)
KAPPA_TOLERANCE = 1e-4
#: exact properties (conservation, symmetry) hold to rounding of the eigen-decomposition
ROUNDING = 1e-12
#: QLT transitions between 20 bins at 20 against 40 fine cells per bin (the DEFAULT_CELLS_PER_BIN claim)
CELLS_PER_BIN_TOLERANCE = 1e-3


def isotropic_d(mu):
    return D0 * (1.0 - mu**2)


def qlt_d(mu):
    return pitch_angle_diffusion(mu, RHO, turbulence=SLAB) / RHO


def cell_average_legendre(ell, edges):
    # ∫ P_ℓ = (P_{ℓ+1} - P_{ℓ-1})/(2ℓ+1)
    antiderivative = (eval_legendre(ell + 1, edges) - eval_legendre(ell - 1, edges)) / (2 * ell + 1)
    return np.diff(antiderivative) / np.diff(edges)


def legendre_error(cells):
    generator = PitchAngleGenerator.build(isotropic_d, cells)
    edges = generator.edges
    start = np.zeros(cells)
    start[cells // 5 : cells // 5 + cells // 10] = 1.0  # uniform over μ0 ∈ [-0.6, -0.4)
    start /= start.sum()
    ages = np.array([0.1, 0.5, 1.5])
    propagated = generator.propagate(start, ages)
    worst = 0.0
    for ell in range(1, 5):
        averaged = cell_average_legendre(ell, edges)
        expected = np.exp(-ell * (ell + 1) * D0 * ages) * (start @ averaged)
        worst = max(worst, np.max(np.abs(propagated @ averaged - expected)))
    return worst


def test_legendre_modes_of_the_isotropic_coefficient_decay_at_l_l_plus_1_d0():
    assert legendre_error(400) < LEGENDRE_TOLERANCE


def test_discretisation_converges_at_second_order():
    ratio = legendre_error(200) / legendre_error(400)
    assert 3.0 < ratio < 5.0  # 4 for a second-order scheme


def test_autocorrelation_of_the_isotropic_coefficient_is_the_p1_mode():
    ages = np.linspace(0.0, 3.0, 7)
    values = fokker_planck_autocorrelation(isotropic_d, ages, 400)
    np.testing.assert_allclose(values, np.exp(-2 * D0 * ages) / 3.0, rtol=LEGENDRE_TOLERANCE)


def test_kappa_of_the_discrete_qlt_operator_is_the_closed_form():
    kappa = fokker_planck_parallel_diffusion(qlt_d, 400)
    expected = parallel_diffusion(RHO, turbulence=SLAB, method="closed_form")
    assert kappa == pytest.approx(expected, rel=KAPPA_TOLERANCE)


def test_qlt_transitions_conserve_probability_and_are_time_reversal_symmetric():
    ages = [0.0, 0.3, 2.0, 20.0]
    transitions = qlt_slab_transitions(RHO, SLAB, 20, ages)
    np.testing.assert_allclose(transitions.sum(axis=2), 1.0, atol=ROUNDING)
    assert transitions.min() > -ROUNDING
    np.testing.assert_allclose(transitions[0], np.eye(20), atol=ROUNDING)
    # equal-width bins, isotropic start: the joint J_ab = P_ab/20 is symmetric (self-adjoint operator)
    np.testing.assert_allclose(transitions, np.swapaxes(transitions, 1, 2), atol=ROUNDING)
    np.testing.assert_allclose(transitions[-1], 1.0 / 20, atol=1e-6)  # isotropic long after τ_s ≈ 1.6


def test_qlt_transitions_converge_in_the_fine_cells():
    ages = [0.1, 1.0]
    coarse = qlt_slab_transitions(RHO, SLAB, 20, ages, cells_per_bin=20)
    fine = qlt_slab_transitions(RHO, SLAB, 20, ages, cells_per_bin=40)
    assert np.max(np.abs(coarse - fine)) < CELLS_PER_BIN_TOLERANCE


def test_a_zero_at_ninety_degrees_does_not_block_the_crossing():
    # QLT's D ∝ |μ|^{2/3} vanishes at μ = 0; an odd cell count puts a cell centre there and it must still cross
    transitions = fokker_planck_transitions(qlt_d, 2, [5.0], cells_per_bin=51)
    assert transitions[0, 0, 1] > 0.4


@pytest.mark.parametrize(("call", "parameter"), [
    (lambda: fokker_planck_transitions(isotropic_d, 1, [1.0]), "bins"),
    (lambda: fokker_planck_transitions(isotropic_d, 4, [-1.0]), "ages"),
    (lambda: fokker_planck_transitions(isotropic_d, 4, [1.0], cells_per_bin=0), "cells_per_bin"),
    (lambda: fokker_planck_transitions(lambda mu: -1.0, 4, [1.0]), "diffusion"),
    (lambda: fokker_planck_transitions(lambda mu: 0.0, 4, [1.0]), "diffusion"),
    (lambda: fokker_planck_parallel_diffusion(isotropic_d, 1), "cells"),
    (lambda: fokker_planck_autocorrelation(isotropic_d, [-1.0], 10), "ages"),
    (lambda: qlt_slab_transitions(RHO, "slab", 4, [1.0]), "turbulence"),
    (lambda: qlt_slab_transitions(-1.0, SLAB, 4, [1.0]), "reduced_rigidity"),
])
def test_bad_input_names_the_parameter(call, parameter):
    with pytest.raises(ParameterError) as caught:
        call()
    assert caught.value.name == parameter


def test_module_examples_run():
    import doctest
    import importlib

    module = importlib.import_module("anisotropy.pitch_angle")
    outcome = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert outcome.attempted > 0 and outcome.failed == 0
