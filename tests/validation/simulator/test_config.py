"""validation.simulator.config: validation of every field, exact JSON round trips, default time step
(docs/physics/simulator.md#integrator)."""

import dataclasses
import json

import numpy as np
import pytest

from anisotropy.errors import ParameterError
from anisotropy.units import correlation_length
from validation.simulator.config import (
    AnisotropyConfig,
    DiffusionConfig,
    TurbulenceConfig,
    default_fieldline_step,
    default_timestep,
    smallest_scale,
)


def _json_round_trip(config):
    return type(config).from_dict(json.loads(json.dumps(config.to_dict())))


@pytest.mark.parametrize(
    "config",
    [
        TurbulenceConfig(kind="slab", eta=0.3, lmin_over_lmax=1e-2, modes_per_decade=64),
        AnisotropyConfig(times=(2.0, 5.0), pairs=4, pair_separations=(1.0, 10.0), diffusion_tensor=(1.0, 0.1)),
        DiffusionConfig(particles=10, dt=1e-3, fieldlines=2, first_time=0.5),
    ],
)
def test_to_dict_from_dict_json_round_trip_is_exact(config):
    assert _json_round_trip(config) == config


@pytest.mark.parametrize(
    ("factory", "name", "value"),
    [
        (TurbulenceConfig, "kind", "kolmogorov"),
        (TurbulenceConfig, "eta", 0.0),
        (TurbulenceConfig, "eta", 1.5),
        (TurbulenceConfig, "lmin_over_lmax", 1.0),
        (TurbulenceConfig, "modes_per_decade", 0),
        (TurbulenceConfig, "spectral_index", 1.0),
        (AnisotropyConfig, "reduced_rigidity", 0.0),
        (AnisotropyConfig, "nside", 12),
        (AnisotropyConfig, "subpixel", 3),
        (AnisotropyConfig, "times", (3.0, 1.0)),
        (AnisotropyConfig, "times", ()),
        (AnisotropyConfig, "gradient_angle", 190.0),
        (AnisotropyConfig, "dt", -1e-3),
        (AnisotropyConfig, "pairs", -1),
        (AnisotropyConfig, "pair_separations", (0.0,)),
        (AnisotropyConfig, "diffusion_tensor", (1.0,)),
        (AnisotropyConfig, "turbulence", {"kind": "slab"}),
        (DiffusionConfig, "particles", 0),
        (DiffusionConfig, "time", 0.0),
        (DiffusionConfig, "n_times", 1),
        (DiffusionConfig, "fieldline_length", -1.0),
        (DiffusionConfig, "first_time", 1e9),
    ],
)
def test_bad_field_raises_parameter_error_naming_the_field(factory, name, value):
    with pytest.raises(ParameterError) as error:
        factory(**{name: value})
    assert error.value.name == name


def test_replace_revalidates():
    with pytest.raises(ParameterError, match="nside"):
        dataclasses.replace(AnisotropyConfig(), nside=3)


def test_pairs_need_separations():
    with pytest.raises(ParameterError, match="pair_separations"):
        AnisotropyConfig(pairs=3)


def test_from_dict_rejects_unknown_field():
    with pytest.raises(ParameterError, match="colour"):
        TurbulenceConfig.from_dict({"kind": "slab", "colour": "red"})


def test_smallest_scale_is_lmin_over_lmax_times_outer_scale_in_units_of_lc():
    # independent: L_c/L_max from the formula of docs/physics/conventions.md#correlation-length via
    # anisotropy.units.correlation_length
    ratio = 1e-3
    assert smallest_scale(ratio) == pytest.approx(ratio / correlation_length(1.0, ratio), rel=1e-14)


@pytest.mark.parametrize("reduced_rigidity", [1e-3, 0.01, 1.0])
def test_default_timestep_is_min_of_rg_over_30_and_lmin_over_5(reduced_rigidity):
    ratio = 1e-3
    l_min = ratio / correlation_length(1.0, ratio)  # ≈ 4.95e-3 L_c
    expected = min(reduced_rigidity / 30.0, l_min / 5.0)
    assert default_timestep(reduced_rigidity, ratio) == pytest.approx(expected, rel=1e-14)
    assert default_fieldline_step(ratio) == pytest.approx(l_min / 10.0, rel=1e-14)


def test_output_schedule_ends_exactly_at_total_time_with_increasing_whole_steps():
    config = DiffusionConfig(time=7.3, n_times=30, dt=0.01)
    step, counts = config.output_steps()
    assert step <= 0.01
    assert counts[-1] * step == pytest.approx(7.3, rel=1e-14)
    assert (np.diff(counts) > 0).all()
    assert counts[0] >= 1
