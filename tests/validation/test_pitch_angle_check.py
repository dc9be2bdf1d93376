"""The pitch-angle comparison (validation.pitch_angle_check) and its committed results.

Exact limits of the near-90° statistics (no motion: R = 1, X = 0; independent start and end: R = 0.1, X = 0.5), a
smoke run of the whole chain, the refusal of mixed stores, and the committed tables against the committed JSON.
"""

import json
import shutil

import numpy as np
import pytest

from anisotropy.errors import ParameterError
from validation.pair_diagnostics import DOCS
from validation.pitch_angle_check import (
    CASES,
    ISOTROPIC_CROSSING,
    ISOTROPIC_RESIDENCE,
    STORE_NAME,
    _near_90,
    case_config,
    compare,
    markdown_tables,
    simulate,
)

#: exact limits in double precision
EXACT_TOLERANCE = 1e-12
#: the QLT propagator's A(0) is 1/3 up to the cell averaging of μ, (1/3)(h²/4)/... ≪ 1e-5 at 800 cells
QLT_START_TOLERANCE = 1e-5


def test_near_90_statistics_in_the_exact_limits():
    bins = 20
    edges = np.linspace(-1.0, 1.0, bins + 1)
    weights = np.full(bins, 1.0 / bins)
    frozen = np.diag(weights)[None]
    residence, crossing = _near_90(frozen, edges)
    assert residence[0] == pytest.approx(1.0, abs=EXACT_TOLERANCE) and crossing[0] == pytest.approx(0.0)
    independent = np.outer(weights, weights)[None]
    residence, crossing = _near_90(independent, edges)
    assert residence[0] == pytest.approx(ISOTROPIC_RESIDENCE, abs=EXACT_TOLERANCE)
    assert crossing[0] == pytest.approx(ISOTROPIC_CROSSING, abs=EXACT_TOLERANCE)


def test_case_configs_reuse_the_pair_runs_fields():
    for name in CASES:
        config, seed = case_config(name, 64)
        assert config.turbulence.kind == "slab" and config.particles == 64 and seed > 0


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    root = tmp_path_factory.mktemp("pitch")
    directories = simulate(root, names=("slab_eta0.5_rho0.3",), executor="serial", realisations=3, particles=200,
                           progress=False)
    return root, directories[0]


def test_smoke_run_records_every_statistic_with_its_error(smoke):
    _, directory = smoke
    result = compare(directory)
    assert result["realisations"] == 3 and result["parameters"]["particles"] == 200
    simulated, error, qlt = result["simulated"], result["simulated_error"], result["qlt"]
    for frame in range(2):
        assert simulated["residence"][frame][0] == pytest.approx(1.0)
        assert simulated["crossing"][frame][0] == pytest.approx(0.0)
        assert simulated["running_kappa"][frame][0] == 0.0
        assert np.all(np.isfinite(error["autocorrelation"][frame][1:]))
    assert qlt["autocorrelation"][0] == pytest.approx(1.0 / 3.0, abs=QLT_START_TOLERANCE)
    assert qlt["residence"][0] == pytest.approx(1.0) and qlt["crossing"][0] == pytest.approx(0.0, abs=1e-12)
    soqlt = result["soqlt"]
    assert soqlt["autocorrelation"][0] == pytest.approx(1.0 / 3.0, abs=QLT_START_TOLERANCE)
    assert soqlt["residence"][0] == pytest.approx(1.0) and soqlt["crossing"][0] == pytest.approx(0.0, abs=1e-12)
    assert 0.0 < result["kappa_parallel_soqlt"] < result["kappa_parallel_qlt"]
    assert "slab η = 0.5, r_g/L_c = 0.3 (3 realisations × 200 particles" in markdown_tables([result])


def test_mixed_runs_are_refused(smoke, tmp_path):
    _, directory = smoke
    other = simulate(tmp_path, names=("slab_eta0.5_rho0.3",), executor="serial", realisations=1, particles=100,
                     progress=False)[0]
    mixed = tmp_path / "mixed" / directory.name
    shutil.copytree(directory, mixed)
    store = f"{STORE_NAME}_realisations"
    shutil.copy(other / store / "realisation_000000.h5", mixed / store / "realisation_000000.h5")
    with pytest.raises(ParameterError, match="store"):
        compare(mixed)


def test_committed_tables_are_the_committed_json():
    results = json.loads((DOCS / "pitch_angle.json").read_text())
    assert [result["case"] for result in results] == list(CASES)
    assert (DOCS / "pitch_angle_tables.md").read_text() == markdown_tables(results)


def test_module_examples_run():
    import doctest
    import importlib

    module = importlib.import_module("validation.pitch_angle_check")
    outcome = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert outcome.attempted > 0 and outcome.failed == 0
