"""anisotropy.fit.degeneracy: the constrained combination and its profile interval.

Independent expectations: a model whose shape depends on two parameters only through their product q has an exactly
flat direction (zero curvature, stiff direction along grad log q) and the profile of q equals the one-parameter fit
of q (anisotropy.fit.fit on a PowerLawModel, a separate route); the default theory's shape is measured to be
nearly one-dimensional along grad log Omega tau_s at 10 TeV, r_g/L_c <= 0.03; Asimov (noise-free) injections of the
turbulence model are recovered by the Omega tau_s profile.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from anisotropy import fit as F
from anisotropy import observatory as ob
from anisotropy.fit.degeneracy import curvature, derived_profile

#: the profile of q is binned: its interval ends are known to one bin (reported) plus the linear interpolation
BIN_SLACK = 1.0
#: the Jacobian columns of an exactly degenerate model are equal to the rounding of central differences
#: (~eps/step ~ 1e-13 relative, squared in the Fisher matrix's small eigenvalue); 1e-8 is far above that
FLAT_RTOL = 1e-8


def experiment_small():
    return ob.get_experiment("hawc+icecube").with_(nside=16, lmax=20)


class ProductSlope(F.Model):
    """C_l/C_1 = l^(-a b): the data can only measure q = a b."""

    name = "product_slope"
    lmax = 47
    parameters = (F.Parameter("a", 0.5, 4.0, 1.5, log=True), F.Parameter("b", 0.5, 4.0, 1.5, log=True))

    def evaluate(self, a, b):
        ell = np.arange(self.lmax + 1, dtype=float)
        cl = np.zeros(self.lmax + 1)
        cl[1:] = ell[1:] ** -(a * b)
        return cl


def distorted_data(model, truth_shape_values, forward, c1=2.13e-6):
    data = forward.mean(c1 * model.shape(**truth_shape_values))
    return data * (1.0 + 0.15 * np.sin(np.arange(data.size)))  # a fixed, non-random distortion: χ²_min > 0


def asimov_likelihood(model, truth_shape_values):
    experiment = experiment_small()
    forward = ob.ForwardModel(experiment)
    data = distorted_data(model, truth_shape_values, forward)
    return F.Likelihood(np.arange(21), data, experiment, model, forward=forward)


def test_an_exact_product_degeneracy_has_one_flat_direction_along_grad_log_q():
    likelihood = asimov_likelihood(ProductSlope(), {"a": 1.5, "b": 2.0})
    best = F.fit(likelihood, profiles=False).best
    result = curvature(likelihood, best, gradient_of=lambda a, b: a * b)
    # the Fisher matrix of a model that depends on log a + log b only has rank one (to the rounding of the
    # finite differences) and its non-zero direction is grad log q = (1, 1)/sqrt(2) in (log10 a, log10 b)
    assert abs(result["eigenvalues"][0]) < FLAT_RTOL * result["eigenvalues"][1]
    assert result["alignment"] == pytest.approx(1.0, abs=FLAT_RTOL)


def test_profile_of_the_product_equals_the_one_parameter_fit_of_the_product():
    likelihood = asimov_likelihood(ProductSlope(), {"a": 1.5, "b": 2.0})
    best = F.fit(likelihood, profiles=False).best
    profile = derived_profile(likelihood, best, lambda a, b: a * b, points=61, bins=60)
    # the same data with one parameter q = slope (bounds wide enough to hold every product reached above)
    data = distorted_data(ProductSlope(), {"a": 1.5, "b": 2.0}, likelihood.forward)
    single = F.Likelihood(np.arange(21), data, likelihood.experiment, F.PowerLawModel(lmax=47),
                          forward=likelihood.forward)
    reference = F.fit(single, profile_points=21)
    low, high, _, _ = reference.intervals["slope"]
    slack = BIN_SLACK * profile["bin_width_log10"]
    assert math.log10(profile["best"]) == pytest.approx(math.log10(reference.best["slope"]), abs=slack)
    assert math.log10(profile["low"]) == pytest.approx(math.log10(low), abs=slack)
    assert math.log10(profile["high"]) == pytest.approx(math.log10(high), abs=slack)
    assert not profile["open_low"] and not profile["open_high"]


# the default theory, interpolated on a narrow box around the HAWC+IceCube 10 TeV setting (fast enough for the
# default suite: 4 x 4 predictions at lmax 47)
#: a coarser scan than the default (15² instead of 31² Ωτ_s evaluations) keeps the fast test near 5 s
FAST_SCAN_POINTS = 15
TURBULENCE_BOUNDS = {"reduced_rigidity": (0.002, 0.02, 0.005, True, "r_g/L_c"),
                     "eta": (0.3, 0.7, 0.5, False, "eta")}


@pytest.fixture(scope="module")
def turbulence_small():
    exact = F.TurbulenceModel(lmax=47, energy=10.0, bounds=TURBULENCE_BOUNDS)
    return F.InterpolatedModel(exact, points=4)


def test_asimov_injection_of_the_default_theory_is_recovered_by_the_omega_tau_s_profile(turbulence_small):
    truth = {"reduced_rigidity": 0.006, "eta": 0.45}
    experiment = experiment_small()
    forward = ob.ForwardModel(experiment)
    data = forward.mean(2.13e-6 * turbulence_small.shape(**truth))
    likelihood = F.Likelihood(np.arange(21), data, experiment, turbulence_small, forward=forward)
    result = F.fit(likelihood, profiles=False)
    combination = F.constrained_combination(likelihood, result.best, points=FAST_SCAN_POINTS)
    profile = combination["profile"]
    q_true = turbulence_small.exact.scattering_time(**truth)
    assert profile["low"] <= q_true <= profile["high"]
    # the profile's minimum sits in the bin of the truth (noise-free data: Δχ² = 0 there)
    centres = np.array(profile["log10_q"])
    nearest = int(np.argmin(np.abs(centres - math.log10(q_true))))
    assert profile["delta_chi2"][nearest] < 1e-3
    # and the best constrained direction is close to grad log Ωτ_s (|cos| 0.93-0.99 measured at r_g/L_c <= 0.03)
    assert combination["curvature"]["alignment"] > 0.9


def test_scattering_time_of_the_model_is_what_predict_cl_records():
    exact = F.TurbulenceModel(lmax=20, energy=10.0)
    values = {"reduced_rigidity": 0.01, "eta": 0.4}
    recorded = exact.derived(**values)["omega_tau_s"]
    assert exact.scattering_time(**values) == pytest.approx(recorded, rel=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("rigidity", [0.003, 0.01])
@pytest.mark.parametrize("eta", [0.35, 0.6])
def test_asimov_injections_over_a_grid_are_recovered(turbulence_small, rigidity, eta):
    truth = {"reduced_rigidity": rigidity, "eta": eta}
    if not all(TURBULENCE_BOUNDS[k][0] <= v <= TURBULENCE_BOUNDS[k][1] for k, v in truth.items()):
        pytest.skip("truth outside the tabulated box")
    experiment = experiment_small()
    forward = ob.ForwardModel(experiment)
    data = forward.mean(2.13e-6 * turbulence_small.shape(**truth))
    likelihood = F.Likelihood(np.arange(21), data, experiment, turbulence_small, forward=forward)
    result = F.fit(likelihood, profiles=False)
    profile = F.constrained_combination(likelihood, result.best)["profile"]
    q_true = turbulence_small.exact.scattering_time(**truth)
    assert profile["low"] <= q_true <= profile["high"]
