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


def test_simulator_config_is_the_theory_description():
    config = TurbulenceConfig(kind="slab", eta=0.5, lmin_over_lmax=1e-2, modes_per_decade=8)
    assert isinstance(config, Turbulence)
    assert config.as_turbulence() == Turbulence(kind="slab", eta=0.5, lmin_over_lmax=1e-2, modes_per_decade=8)
    assert type(config.as_turbulence()) is Turbulence


def test_simulator_record_unchanged_by_the_base_class():
    """The stored configuration (whose SHA-256 is checked on resume) holds exactly the six fields, in JSON types."""
    from validation.simulator.store import config_to_json

    config = TurbulenceConfig(kind="slab", eta=0.5, lmin_over_lmax=1e-2, modes_per_decade=8)
    assert config_to_json(config) == (
        '{"eta": 0.5, "kind": "slab", "lmin_over_lmax": 0.01, "modes_per_decade": 8, '
        f'"slab_field": null, "spectral_index": {5.0 / 3.0!r}}}')
