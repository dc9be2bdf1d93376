"""The shared turbulence description: frozen, validated field by field, same rules as the simulator's config."""

import dataclasses

import pytest

import anisotropy
from anisotropy import ParameterError
from anisotropy.turbulence import DEFAULT_LMIN_OVER_LMAX, DEFAULT_MODES_PER_DECADE, Turbulence
from validation.simulator.config import TurbulenceConfig


def test_frozen():
    turbulence = Turbulence()
    with pytest.raises(dataclasses.FrozenInstanceError):
        turbulence.eta = 0.5


def test_exported():
    assert anisotropy.Turbulence is Turbulence


@pytest.mark.parametrize(("field", "value"), [
    ("kind", "cubic"), ("eta", 0.0), ("eta", 1.5), ("lmin_over_lmax", 1.0), ("lmin_over_lmax", 0.0),
    ("modes_per_decade", 0), ("modes_per_decade", 2.5), ("spectral_index", 1.0),
])
def test_bad_field_is_named(field, value):
    with pytest.raises(ParameterError) as error:
        Turbulence(**{field: value})
    assert str(error.value).startswith(f"{field}:")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(("field", "value"), [
    ("kind", "cubic"), ("eta", 1.5), ("lmin_over_lmax", 1.0), ("modes_per_decade", 0), ("spectral_index", 0.5),
])
def test_same_message_as_simulator_config(field, value):
    with pytest.raises(ParameterError) as theory:
        Turbulence(**{field: value})
    with pytest.raises(ParameterError) as simulator:
        TurbulenceConfig(**{field: value})
    assert str(theory.value) == str(simulator.value)


def test_defaults_match_simulator_config():
    theory, simulator = Turbulence(), TurbulenceConfig()
    for field in dataclasses.fields(Turbulence):
        assert getattr(theory, field.name) == getattr(simulator, field.name)
    assert theory.lmin_over_lmax == DEFAULT_LMIN_OVER_LMAX
    assert theory.modes_per_decade == DEFAULT_MODES_PER_DECADE
