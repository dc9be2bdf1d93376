"""Heuristic perpendicular-transport chain (theory.heuristic) and anisotropy.transport's heuristic functions."""

from __future__ import annotations

from functools import cache

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from anisotropy import transport
from theory import heuristic

#: working precision of the mpmath references
DIGITS = 30

#: closed forms in float64 (log/exp/pow): a few ulps, amplified by the log-space evaluation of the SBPL
CLOSED_FORM_RTOL = 1e-13

#: transport.mean_squared_displacement documents "relative accuracy ~1e-10 for smooth d" (scipy quad at 1e-11)
QUAD_RTOL = 1e-9

#: local power-law exponents read off 8 decades from the breaks: the next-order correction is (x/x_b)^{∓1}
EXPONENT_ATOL = 1e-6

PARAMETERS = {"kappa": sp.Rational(3, 2), "t_break": sp.Rational(2), "d_fl": sp.Rational(1, 5),
              "z_break": sp.Rational(7)}


@cache
def _model(sharpness):
    model = heuristic.heuristic_model(sharpness)
    substitutions = {model[name]: value for name, value in PARAMETERS.items()}
    return model, substitutions


def _evaluate(expression, variable, values, substitutions):
    function = sp.lambdify(variable, expression.subs(substitutions), modules="mpmath")
    with mp.workdps(DIGITS):
        return np.array([float(function(mp.mpf(value))) for value in values])


def _numeric_inputs(sharpness=1.0):
    kappa, t_break = float(PARAMETERS["kappa"]), float(PARAMETERS["t_break"])
    d_fl, z_break = float(PARAMETERS["d_fl"]), float(PARAMETERS["z_break"])

    def d_parallel(t):
        return transport.running_parallel_diffusion(t, kappa, t_break, sharpness)

    def d_fieldline(z):
        return transport.fieldline_diffusion(z, d_fl, z_break, sharpness)

    return d_parallel, d_fieldline


# ------------------------------------------------------------------------------------------- derivation checks
def test_chain_rule_gives_the_heuristic_perpendicular_coefficient():
    assert heuristic.chain_rule_residual() == 0


@pytest.mark.parametrize(("parallel_index", "fieldline_index", "expected"), [
    (1, 1, 2),                                      # ballistic particle on ballistic field lines
    (0, 1, 1),                                      # diffusive particle, field lines still straight
    (1, 0, 1),                                      # ballistic particle on diffusing field lines
    (0, 0, sp.Rational(1, 2)),                      # compound subdiffusion
    (0, sp.Rational(-1, 2), sp.Rational(1, 4)),     # subdiffusive field lines make it slower still
])
def test_regime_exponents_of_the_perpendicular_displacement(parallel_index, fieldline_index, expected):
    assert heuristic.regime_exponent(parallel_index, fieldline_index) == expected
    a, b = sp.symbols("a b", positive=True)
    assert sp.simplify(heuristic.regime_exponent(a, b) - (a + 1) * (b + 1) / 2) == 0


def test_sharpness_one_integrals_have_logarithmic_closed_forms():
    model, _ = _model(1)
    t, kappa, t_break = model["t"], model["kappa"], model["t_break"]
    expected = 2 * kappa * (t - t_break * sp.log(1 + t / t_break))
    assert sp.simplify(sp.expand_log(model["msd_parallel"] - expected, force=True)) == 0


def test_full_chain_has_ballistic_and_compound_subdiffusive_limits():
    model, substitutions = _model(1)
    with mp.workdps(DIGITS):
        early = heuristic.local_exponent(model["msd_perpendicular"], model["t"], mp.mpf("1e-8"), substitutions)
        late = heuristic.local_exponent(model["msd_perpendicular"], model["t"], mp.mpf("1e16"), substitutions)
    assert float(early) == pytest.approx(2.0, abs=EXPONENT_ATOL)
    # late: Z ∝ t^{1/2}, ⟨Δr⊥²⟩ ∝ Z, corrections (t_b/t)^{1/2} and (z_b/Z): 1e-8 and ~1e-7 at t = 1e16
    assert float(late) == pytest.approx(0.5, abs=EXPONENT_ATOL)


def test_full_chain_is_diffusive_between_the_two_breaks():
    # diffusive particle (t ≫ t_b) on still-straight field lines (Z ≪ z_b): ν = (0+1)(1+1)/2 = 1.  With
    # t_b = 2, z_b = 1e6 and t = 1e5 the corrections are t_b/t ~ 2e-5 and Z/z_b = sqrt(2κt)/z_b ~ 5e-4
    model, substitutions = _model(1)
    substitutions = {**substitutions, model["z_break"]: sp.Integer(10) ** 6}
    with mp.workdps(DIGITS):
        middle = heuristic.local_exponent(model["msd_perpendicular"], model["t"], mp.mpf("1e5"), substitutions)
    assert float(middle) == pytest.approx(1.0, abs=2e-3)


# --------------------------------------------------------------------------------- anisotropy.transport, SBPL
@pytest.mark.parametrize(("index_low", "index_high", "sharpness"), [(1, 0, 1), (1, 0, 3), (2, -0.5, 0.5),
                                                                    (0, 1, 2)])
def test_smoothly_broken_power_law_matches_exact_expression(index_low, index_high, sharpness):
    x = sp.Symbol("x", positive=True)
    amplitude, x_break = sp.Rational(3, 2), sp.Rational(5, 2)
    expression = heuristic.smoothly_broken_power_law(x, amplitude, x_break, sp.nsimplify(index_low),
                                                     sp.nsimplify(index_high), sp.nsimplify(sharpness))
    values = np.array([1e-9, 0.3, 2.5, 40.0, 1e12])
    expected = _evaluate(expression, x, values, {})
    numeric = transport.smoothly_broken_power_law(values, 1.5, 2.5, index_low, index_high, sharpness)
    np.testing.assert_allclose(numeric, expected, rtol=CLOSED_FORM_RTOL)
    # x = 0 is the limit of the low-x power law
    limit = sp.limit(expression, x, 0, "+")
    assert transport.smoothly_broken_power_law(0.0, 1.5, 2.5, index_low, index_high, sharpness) == float(limit)


@pytest.mark.parametrize("sharpness", [1, 2])
def test_running_parallel_and_fieldline_coefficients_match_the_model(sharpness):
    model, substitutions = _model(sharpness)
    values = np.array([1e-6, 0.5, 2.0, 30.0, 1e8])
    d_parallel, d_fieldline = _numeric_inputs(float(sharpness))
    np.testing.assert_allclose(d_parallel(values), _evaluate(model["d_parallel"], model["t"], values, substitutions),
                               rtol=CLOSED_FORM_RTOL)
    np.testing.assert_allclose(d_fieldline(values),
                               _evaluate(model["d_fieldline"], model["z"], values, substitutions),
                               rtol=CLOSED_FORM_RTOL)


@pytest.mark.parametrize("sharpness", [1, 2])
def test_mean_squared_displacement_matches_exact_integral(sharpness):
    model, substitutions = _model(sharpness)
    times = np.array([0.0, 1e-3, 0.7, 5.0, 300.0])
    d_parallel, _ = _numeric_inputs(float(sharpness))
    numeric = transport.mean_squared_displacement(d_parallel, times)
    expected = _evaluate(model["msd_parallel"], model["t"], times[1:], substitutions)
    assert numeric[0] == 0.0
    np.testing.assert_allclose(numeric[1:], expected, rtol=QUAD_RTOL)


def test_heuristic_perpendicular_diffusion_matches_the_sympy_chain():
    model, substitutions = _model(1)
    times = np.array([1e-3, 0.5, 4.0, 100.0, 1e5])
    d_parallel, d_fieldline = _numeric_inputs(1.0)
    numeric = transport.heuristic_perpendicular_diffusion(times, d_parallel, d_fieldline)
    expected = _evaluate(model["d_perpendicular"], model["t"], times, substitutions)
    np.testing.assert_allclose(numeric, expected, rtol=QUAD_RTOL)
    assert transport.heuristic_perpendicular_diffusion(np.array([0.0]), d_parallel, d_fieldline)[0] == 0.0


def test_heuristic_perpendicular_diffusion_reaches_the_derived_regime_exponents():
    # d_⊥ ∝ t^{ν-1} with ν = (a+1)(b+1)/2: ballistic (ν = 2) early, compound subdiffusion (ν = 1/2) late
    d_parallel, d_fieldline = _numeric_inputs(1.0)
    early_times, late_times = np.array([1e-8, 2e-8]), np.array([1e16, 2e16])
    early = transport.heuristic_perpendicular_diffusion(early_times, d_parallel, d_fieldline)
    late = transport.heuristic_perpendicular_diffusion(late_times, d_parallel, d_fieldline)
    expected_early = float(heuristic.regime_exponent(1, 1)) - 1
    expected_late = float(heuristic.regime_exponent(0, 0)) - 1
    assert np.log(early[1] / early[0]) / np.log(2) == pytest.approx(expected_early, abs=1e-5)
    assert np.log(late[1] / late[0]) / np.log(2) == pytest.approx(expected_late, abs=1e-5)


def test_telegraph_coefficient_and_displacement_match_the_ornstein_uhlenbeck_derivation():
    model = heuristic.telegraph_model()
    substitutions = {model["kappa"]: sp.Rational(3, 2), model["tau"]: sp.Rational(2)}
    times = np.array([1e-7, 1e-4, 0.01, 1.0, 30.0])
    d_expected = _evaluate(model["d_parallel"], model["t"], times, substitutions)
    msd_expected = _evaluate(model["msd"], model["t"], times, substitutions)
    np.testing.assert_allclose(transport.telegraph_parallel_diffusion(times, 1.5, 2.0), d_expected,
                               rtol=CLOSED_FORM_RTOL)
    # the series branch below t/τ = 1e-3 keeps relative accuracy where t − τ(1 − e^{−t/τ}) cancels
    np.testing.assert_allclose(transport.telegraph_mean_squared_displacement(times, 1.5, 2.0), msd_expected,
                               rtol=CLOSED_FORM_RTOL)
