"""anisotropy.untruncated: the lmax -> infinity steady state against the closed form of theory.cascade (power-law
rates, mpmath), the no-correlation limit, the truncated solver's limit, and its own quadrature refinement."""

import itertools
import math

import mpmath as mp
import numpy as np
import pytest

from anisotropy import untruncated
from anisotropy.errors import ParameterError
from anisotropy.mixing import rate_matrix
from anisotropy.pair_rates import PairRate
from anisotropy.solver import steady_state
from theory.cascade import power_law_steady_state

# The quadrature is accurate to ~1e-8 of each C_l for power laws (Gauss-Jacobi makes the continuation exact when
# its exponent is the rate's); 1e-7 leaves a factor > 2 above the largest error measured (5.7e-9 at beta = 1.5).
CLOSED_FORM_RTOL = 1e-7
# A doubled rule (twice the nodes per panel, half the panel width, finer grading) changes C_l by ~4e-9 (measured).
REFINEMENT_RTOL = 1e-7
LMAX = 20


def power_law(beta):
    return lambda x: -((1.0 - np.asarray(x, dtype=float)) / 2.0) ** (beta / 2.0)


@pytest.mark.parametrize("beta", [2.0 / 3.0, 1.0, 1.5, 5.0 / 3.0])
def test_power_law_rates_match_the_mpmath_closed_form_for_every_l(beta):
    cl = untruncated.untruncated_steady_state(power_law(beta), 1.0, LMAX, continuation_angle=1e-3,
                                              continuation_exponent=beta)
    with mp.workdps(30):
        reference = np.array([float(power_law_steady_state(ell, beta, 1, 1)) for ell in range(1, LMAX + 1)])
    np.testing.assert_allclose(cl[1:], reference, rtol=CLOSED_FORM_RTOL)
    assert np.isnan(cl[0])


def test_measured_local_exponent_of_a_power_law_is_its_exponent_and_continues_it_exactly():
    beta = 1.5
    out = untruncated.bracketed_steady_state(power_law(beta), 1.0, LMAX, continuation_angle=1e-3)
    assert out["exponents"][0] == pytest.approx(beta, abs=1e-6)
    measured = untruncated.untruncated_steady_state(power_law(beta), 1.0, LMAX, continuation_angle=1e-3)
    with mp.workdps(30):
        reference = np.array([float(power_law_steady_state(ell, beta, 1, 1)) for ell in range(1, LMAX + 1)])
    np.testing.assert_allclose(measured[1:], reference, rtol=CLOSED_FORM_RTOL)


def test_no_pair_correlation_gives_the_diffusive_dipole_and_nothing_above():
    # k = -2 D_s: the dipole decays at 4 D_s (docs/physics/mixing_ode.md#ode-limits), so C_1 = S/(4 D_s) and C_l>=2 = 0
    self_rate, source = 0.35, 2.0
    cl = untruncated.untruncated_steady_state(lambda x: np.full_like(np.asarray(x, dtype=float), -2 * self_rate),
                                              source, LMAX)
    assert cl[1] == pytest.approx(source / (4 * self_rate), rel=1e-12)
    assert np.all(np.abs(cl[2:]) <= 1e-12 * cl[1])


@pytest.mark.parametrize("beta", [2.0 / 3.0, 1.0])
def test_truncated_solves_approach_it_from_below_with_a_deficit_shrinking_like_lmax_to_beta_minus_two(beta):
    rate = PairRate.from_function(power_law(beta))
    exact = untruncated.untruncated_steady_state(power_law(beta), 1.0, 10, continuation_angle=1e-4,
                                                 continuation_exponent=beta)
    deficits = []
    for lmax in (100, 200, 400):
        truncated = steady_state(rate_matrix(rate, lmax), 1.0)
        deficit = 1.0 - truncated[10] / exact[10]
        assert deficit > 0.0
        deficits.append(deficit)
    # deficit ∝ lmax^(β-2): each doubling multiplies it by 2^(β-2) (0.40 for 2/3, 0.5 for 1); 15 % slack for the
    # sub-leading terms at these lmax
    for first, second in itertools.pairwise(deficits):
        assert second / first == pytest.approx(2.0 ** (beta - 2.0), rel=0.15)


def test_default_rule_agrees_with_a_doubled_rule(monkeypatch):
    rate = power_law(1.3)
    coarse = untruncated.bracketed_steady_state(rate, 1.0, 200, continuation_angle=2e-3)["cl"]
    monkeypatch.setattr(untruncated, "PANEL_NODES", 2 * untruncated.PANEL_NODES)
    monkeypatch.setattr(untruncated, "PANEL_OSCILLATIONS", untruncated.PANEL_OSCILLATIONS / 2)
    monkeypatch.setattr(untruncated, "PANEL_GRADING", math.sqrt(untruncated.PANEL_GRADING))
    monkeypatch.setattr(untruncated, "CONTINUATION_NODES", 2 * untruncated.CONTINUATION_NODES)
    fine = untruncated.bracketed_steady_state(rate, 1.0, 200, continuation_angle=2e-3)["cl"]
    np.testing.assert_allclose(coarse[1:], fine[1:], rtol=REFINEMENT_RTOL)


def test_bracket_spread_vanishes_when_the_rate_already_has_the_asymptotic_exponent():
    out = untruncated.bracketed_steady_state(power_law(untruncated.CONTINUATION_EXPONENT), 1.0, LMAX, 1e-3)
    assert np.max(out["spread"][1:] / out["cl"][1:]) < 1e-6


@pytest.mark.parametrize(("arguments", "name"), [
    ({"lmax": 0}, "lmax"),
    ({"continuation_angle": 0.0}, "continuation_angle"),
    ({"continuation_angle": 2.0}, "continuation_angle"),
    ({"continuation_exponent": 2.0}, "continuation_exponent"),
])
def test_bad_arguments_name_the_parameter(arguments, name):
    with pytest.raises(ParameterError, match=rf"^{name}:"):
        untruncated.untruncated_steady_state(power_law(1.0), 1.0, **{"lmax": 5, **arguments})


def test_a_rate_that_vanishes_or_is_positive_has_no_steady_state():
    with pytest.raises(ParameterError, match=r"^rate:"):
        # k > 0 near x = 1: nearby directions would separate at a negative rate
        untruncated.untruncated_steady_state(lambda x: 0.5 - (1.0 - np.asarray(x, dtype=float)), 1.0, 5)
