"""predict_cl with the age-dependent pair-correlation closure (docs/physics/pair_correlation.md)."""

from __future__ import annotations

import pytest

from anisotropy.errors import ParameterError
from anisotropy.predict import predict_cl

#: small, fast settings: a coarse spectrum and few multipoles (the physics tested does not depend on them)
FAST = {"lmax": 16, "lmin_over_lmax": 1e-2, "modes_per_decade": 16}
#: the bound is an inequality between two numbers computed from the same ν1: only rounding may cross it
BOUND_RTOL = 1e-10


@pytest.mark.parametrize(("energy", "eta", "model"), [(100.0, 0.5, "slab"), (1000.0, 0.2, "slab"),
                                                      (30.0, 0.8, "slab"), (1e4, 1.0, "isotropic"),
                                                      pytest.param(100.0, 0.5, "isotropic", marks=pytest.mark.slow)])
def test_age_dependent_c1_is_never_below_the_power_of_the_mean_dipole(energy, eta, model):
    result = predict_cl(energy=energy, eta=eta, model=model, closure="age-dependent", **FAST)
    dipole_power = result.params["derived"]["dipole_cl"]
    assert result.cl[1] >= dipole_power * (1.0 - BOUND_RTOL)
    # and the pair correlations put power into l >= 2
    assert result.cl[2] > 0.0


def test_age_dependent_cl_scale_as_the_dipole_squared_and_record_the_closure():
    first = predict_cl(energy=100.0, dipole=1e-3, closure="age-dependent", **FAST)
    second = predict_cl(energy=100.0, dipole=2e-3, closure="age-dependent", **FAST)
    assert second.cl[1:] == pytest.approx(4.0 * first.cl[1:], rel=1e-12)
    assert first.params["inputs"]["closure"] == "age-dependent"
    assert first.params["derived"]["closure_details"]["closure"] == "normalised"


def test_unknown_closure_and_converge_with_the_age_dependent_closure_are_rejected():
    with pytest.raises(ParameterError, match="closure"):
        predict_cl(closure="kraichnan", **FAST)
    with pytest.raises(ParameterError, match="converge"):
        predict_cl(closure="age-dependent", converge=True, **FAST)
