"""Decomposition of the closures' approximations on pair-instrument data (validation/pair_diagnostics.py).

Independent references: the rigid rotation of every pair in a uniform field (μ conserved, x' = x), closed-form
double integrals of the trapezoid rule, and the exact identity C(x; T) = ⟨I_A I_B⟩ that the pair instrument records.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from anisotropy.cli import main
from validation.pair_diagnostics import (
    ALONG,
    CLOSURES,
    DOCS,
    RUNS,
    decompose,
    equal_age_coefficients,
    factorised_correlation,
    load_realisations,
    markdown_tables,
    pair_separation,
    trapezoid_weights,
    two_time_pair_correlation,
)
from validation.simulator.config import TurbulenceConfig
from validation.simulator.pairs import PairConfig, pair_realisation

#: exact identities in double precision (rigid rotation, sums of ≤ 10^3 terms of size ≤ 1)
EXACT_TOLERANCE = 1e-12
#: trapezoid rule on a smooth integrand with a kink on the diagonal: error ∝ h²; at h = T/400 the relative error of
#: ∫∫e^{-|t1-t2|} over [0, 2]² is ~1e-5 (the bound (T²/12) h² max|f''| / ∫∫f ≈ 1.3e-5)
TRAPEZOID_RTOL = 2e-5
#: a tiny turbulent run, G along B0: the trapezoid double integral of the recorded ⟨g_A(t_i) g_B(t_j)⟩ on ages every
#: 0.05 L_c/c against ⟨I_A I_B⟩ (the step sum) in the same realisation, so only the quadrature error remains; μ(t)
#: varies on the scattering time (≈ 1.6 L_c/c here), so the error is ≲ (0.05/1.6)² ≈ 1e-3 of C(x) plus the
#: O(dt/T) = 3e-3 difference between the step sum and the trapezoid at the end points (measured ≤ 2e-3 of max C)
TWO_TIME_RTOL = 1e-2

SLAB = TurbulenceConfig(kind="slab", eta=0.5, lmin_over_lmax=0.01, modes_per_decade=32)


class UniformField:
    """b = ẑ everywhere (no turbulence), in the pusher's (7, N) layout."""

    def kernel_arrays(self):
        return np.zeros((7, 1)), np.array([0.0, 0.0, 1.0])


def test_factorisation_is_exact_for_rigidly_rotating_pairs_along_b0():
    # in a uniform field μ = ẑ·d is conserved for each particle, so ⟨g_A(t_i) g_B(t_j)⟩ = ⟨μ_A μ_B⟩ at every pair of
    # ages and the single-particle regression is 1: approximation (b) holds exactly
    config = PairConfig(SLAB, 0.5, nodes=6, pairs=40, times=(0.5, 1.0, 2.0), lmax_mixing=4, dt=0.01)
    result = pair_realisation(config, np.random.SeedSequence(3), field=UniformField())
    factorised = factorised_correlation(result["equal_time_correlation"][ALONG], result["autocorrelation"][ALONG])
    np.testing.assert_allclose(factorised, result["direction_correlation"][ALONG], rtol=0, atol=EXACT_TOLERANCE)


def test_equal_age_coefficients_of_undeflected_pairs_are_the_initial_dipole():
    config = PairConfig(SLAB, 0.5, nodes=8, pairs=20, times=(0.5, 2.0), lmax_mixing=4, dt=0.01)
    result = pair_realisation(config, np.random.SeedSequence(4), field=UniformField())
    y = equal_age_coefficients(result["mixing"], result["cosines"], result["weights"], 6)
    expected = np.zeros((3, 7))
    expected[:, 1] = 1.0
    np.testing.assert_allclose(y, expected, atol=EXACT_TOLERANCE)
    # and their separation does not grow: (1 - <x'>)/(1 - x) = 1 at every node and age
    separation = pair_separation(result["mixing"][..., 1], result["cosines"])
    np.testing.assert_allclose(separation, 1.0, atol=EXACT_TOLERANCE / (1.0 - result["cosines"].max()))


def test_trapezoid_weights_integrate_linear_functions_exactly_on_an_uneven_grid():
    ages = np.array([0.0, 0.1, 0.35, 0.4, 1.3, 2.0])
    weights = trapezoid_weights(ages)
    assert math.isclose(weights.sum(), 2.0, rel_tol=1e-15)
    assert math.isclose(weights @ (3.0 * ages - 1.0), 3.0 * 2.0 - 2.0, rel_tol=1e-14)


def test_double_trapezoid_of_an_exponential_memory_converges_to_the_closed_form():
    # ∫_0^T∫_0^T e^{-|t1 - t2|} dt1 dt2 = 2 (T - 1 + e^{-T}): the unequal-age integral of an OU velocity
    final = 2.0
    ages = np.linspace(0.0, final, 401)
    weights = trapezoid_weights(ages)
    memory = np.exp(-np.abs(ages[:, None] - ages[None, :]))
    assert math.isclose(weights @ memory @ weights, 2.0 * (final - 1.0 + math.exp(-final)), rel_tol=TRAPEZOID_RTOL)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pairs")
    times = ",".join(f"{0.05 * step:.2f}" for step in range(1, 21))
    argv = ["simulate", "pairs", "--turbulence", "slab", "--eta", "0.5", "--rigidity", "0.1", "--lmin-over-lmax",
            "0.02", "--modes-per-decade", "16", "--realisations", "3", "--seed", "11", "--executor", "serial",
            "--nodes", "8", "--pairs", "64", "--lmax-mixing", "4", "--times", times, "--quiet", "--out", str(out)]
    assert main(argv) == 0
    return out


def test_two_time_quadrature_reproduces_the_exact_pair_correlation(tiny_run):
    _, realisations = load_realisations(tiny_run)
    assert len(realisations) == 3
    for realisation in realisations:
        quadrature = two_time_pair_correlation(realisation["direction_correlation"][ALONG], realisation["ages"])
        exact = realisation["integral_correlation"][ALONG, -1]
        np.testing.assert_allclose(quadrature, exact, rtol=TWO_TIME_RTOL, atol=TWO_TIME_RTOL * np.abs(exact).max())
    result = decompose(tiny_run, closures=("born",), lmax=3, theory_lmax=16)
    assert all(np.isfinite(result["ratio_error"]["factorised"]))


def test_closure_equal_age_coefficients_start_from_the_undeflected_dipole(tiny_run):
    # the youngest tabulated age is 0.25 τ_s (QLT): the closures' y_1 must lie in (0, 1) and their higher
    # coefficients be small (no deflection at age 0 gives y = e_1)
    result = decompose(tiny_run, closures=CLOSURES, lmax=3, theory_lmax=16)
    for name in CLOSURES:
        y = np.array(result["closure_y"][name][0])
        assert 0.0 < y[0] < 1.0 and np.all(np.abs(y[1:]) < y[0])
    assert "closure: normalised" in markdown_tables([result])



def test_committed_tables_are_the_committed_json_rendered():
    """docs/validation/pair_diagnostics_tables.md is what markdown_tables makes of the committed JSON."""
    results = json.loads((DOCS / "pair_diagnostics.json").read_text(encoding="utf-8"))
    assert [result["directory"] for result in results] == list(RUNS)
    assert markdown_tables(results) == (DOCS / "pair_diagnostics_tables.md").read_text(encoding="utf-8")


def test_an_altered_realisation_file_is_refused_naming_it(tiny_run, tmp_path):
    # the diagnostics read checkpoints outside a store: each is checked against its recorded SHA-256 first
    import shutil

    import h5py

    from anisotropy.errors import ParameterError

    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy)
    first = sorted((copy / "ensemble_realisations").glob("realisation_*.h5"))[0]
    with h5py.File(first, "r+") as handle:
        handle["mixing"][0, 0, 0] += 1.0
    with pytest.raises(ParameterError, match=first.name):
        load_realisations(copy)
