"""Forward model of the ground-array estimators (anisotropy.observatory).

Every expectation is independent of the code under test: orthonormality of the harmonics (scipy's sph_harm_y),
the full-sky limit (identity and cosmic variance 2C²/(2ℓ+1)), the white-noise floor 4π f_sky²/N
(data/README.md), exact annihilation of m = 0 and low-ℓ skies, and the agreement of two independent
implementations (harmonic-space expectation vs pixel-space Monte Carlo).

Statistical error model: for n independent skies, the sample mean of a pseudo-C_ℓ has standard error
σ_ℓ/√n with σ_ℓ the sample standard deviation; the sample variance s² has standard error
√((m₄ - s⁴)/n) with m₄ the fourth central moment.  All seeds are fixed.
"""

from __future__ import annotations

import math

import healpy as hp
import numpy as np
import pytest
from scipy import special

from anisotropy import observatory as ob
from anisotropy.data import anchor, anchor_value, dataset_metadata
from anisotropy.errors import ParameterError

#: |z| above which a Monte Carlo mean disagrees with its expectation; with ≤ ~40 multipoles compared, the chance of
#: a Gaussian |z| > 4 anywhere is < 3e-3, so a failure means a real discrepancy.
Z_MAX = 4.0
#: round-off allowance for operations that are exact in exact arithmetic (maps of O(1) values, ~1e5 flops per pixel)
ROUND_OFF = 1e-10
#: healpy map2alm with iter=3 on a map band-limited at ℓ ≤ 3 reproduces its a_ℓm to ~1e-11 (measured 8e-12 at
#: nside 16); a factor 100 margin keeps the test about exactness, not about healpy's quadrature.
MAP2ALM_QUADRATURE = 1e-9
#: agreement of the harmonic model's closed forms with their full-sky limits (pure linear algebra)
ALGEBRA = 1e-10


def power_law(lmax: int, slope: float = 2.0, c1: float = 1e-6) -> np.ndarray:
    ell = np.arange(lmax + 1, dtype=float)
    cl = np.zeros(lmax + 1)
    cl[1:] = c1 * ell[1:] ** -slope
    return cl


def test_normalized_legendre_equals_scipy_spherical_harmonics_at_phi_zero():
    z = np.linspace(-0.99, 0.99, 7)
    table = ob.normalized_legendre(12, 12, z)
    for ell in range(13):
        for m in range(ell + 1):
            reference = special.sph_harm_y(ell, m, np.arccos(z), 0.0).real
            np.testing.assert_allclose(table[m, ell], reference, rtol=1e-11, atol=1e-13)


def test_full_sky_without_filters_model_is_identity_with_cosmic_variance():
    experiment = ob.Experiment("full", nside=16, ring_filter=False, lmax=20)
    model = ob.ForwardModel(experiment)
    cl = power_law(model.lmax)
    ell = model.ell
    np.testing.assert_allclose(model.mean(cl)[1:], cl[1:21], rtol=ALGEBRA)
    covariance = model.covariance(cl)
    np.testing.assert_allclose(np.diag(covariance)[1:], 2 * cl[1:21] ** 2 / (2 * ell[1:] + 1), rtol=ALGEBRA)
    off_diagonal = covariance - np.diag(np.diag(covariance))
    assert np.max(np.abs(off_diagonal)) <= ALGEBRA * np.max(np.diag(covariance))


def test_full_sky_monte_carlo_recovers_input_within_cosmic_variance():
    # error model: each Ĉ_ℓ of a full-sky Gaussian sky has variance 2C_ℓ²/(2ℓ+1) (analytic, not estimated)
    experiment = ob.Experiment("full", nside=16, ring_filter=False, lmax=20)
    cl = power_law(2 * experiment.nside)
    n_sims = 200
    spectra = ob.simulate(cl, experiment, n_sims, seed=11)
    ell = np.arange(1, 21)
    z = (spectra.mean(axis=0)[1:] - cl[1:21]) / np.sqrt(2 * cl[1:21] ** 2 / (2 * ell + 1) / n_sims)
    assert np.max(np.abs(z)) < Z_MAX, z


def test_shot_noise_level_matches_4pi_fsky_squared_over_events():
    events = 1e9
    experiment = ob.Experiment("noise", nside=32, dec_max=-25.0, ring_filter=False, events=events, lmax=40)
    expected = 4 * math.pi * experiment.f_sky**2 / events
    model = ob.ForwardModel(experiment)
    np.testing.assert_allclose(model.noise, expected, rtol=ALGEBRA)
    assert experiment.noise_level_pseudo == pytest.approx(expected, rel=ALGEBRA)
    spectra = ob.simulate(np.zeros(2), experiment, 60, seed=5)[:, 1:]
    per_sky = spectra.mean(axis=1)  # average over ℓ = 1..40 of each sky: independent across skies
    standard_error = per_sky.std(ddof=1) / math.sqrt(per_sky.size)
    assert abs(per_sky.mean() - expected) < Z_MAX * standard_error


def test_fsky_corrected_noise_equals_the_all_sky_white_noise_spectrum():
    # σ² = f_sky N_pix/N per pixel is white noise of all-sky spectrum σ²Ω_pix = 4π f_sky/N; dividing the masked
    # pseudo-spectrum 4π f_sky²/N by f_sky must give it back
    events = 1e9
    experiment = ob.Experiment("noise", nside=16, dec_max=-25.0, ring_filter=False, events=events, lmax=20,
                               fsky_correction=True)
    expected = 4 * math.pi * experiment.f_sky / events
    np.testing.assert_allclose(ob.ForwardModel(experiment).noise, expected, rtol=ALGEBRA)
    per_sky = ob.simulate(np.zeros(2), experiment, 60, seed=6)[:, 1:].mean(axis=1)
    assert abs(per_sky.mean() - expected) < Z_MAX * per_sky.std(ddof=1) / math.sqrt(per_sky.size)


def test_ring_filter_removes_pure_m0_sky_exactly():
    experiment = ob.Experiment("rings", nside=16, dec_min=-60.0, dec_max=60.0, ring_filter=True)
    lmax = 3 * experiment.nside - 1
    rng = np.random.default_rng(3)
    alm = np.zeros(hp.Alm.getsize(lmax), dtype=complex)
    alm[hp.Alm.getidx(lmax, np.arange(lmax + 1), 0)] = rng.standard_normal(lmax + 1)
    sky = hp.alm2map(alm, experiment.nside, lmax=lmax)
    filtered = ob.filter_map(sky, experiment)
    assert np.max(np.abs(filtered)) <= ROUND_OFF * np.max(np.abs(sky))


def test_ring_filter_keeps_a_pure_m1_sky_on_the_unmasked_rings():
    experiment = ob.Experiment("rings", nside=16, dec_min=-60.0, dec_max=60.0, ring_filter=True)
    theta, phi = hp.pix2ang(experiment.nside, np.arange(12 * experiment.nside**2))
    sky = np.sin(theta) * np.cos(phi)  # ∝ Re Y_11: every ring has zero mean
    filtered = ob.filter_map(sky, experiment)
    mask = experiment.mask()
    np.testing.assert_allclose(filtered[mask], sky[mask], atol=ROUND_OFF)
    assert np.all(filtered[~mask] == 0)


@pytest.mark.parametrize("ring_filter", [False, True])
def test_least_squares_subtraction_removes_pure_low_multipole_sky_on_the_mask(ring_filter):
    experiment = ob.Experiment("ic", nside=16, dec_max=-25.0, lcut=2, ring_filter=ring_filter)
    rng = np.random.default_rng(4)
    sky = hp.alm2map(ob._gaussian_alm(np.ones(3), rng), experiment.nside, lmax=2)
    filtered = ob.filter_map(sky, experiment)
    assert np.max(np.abs(filtered)) <= ROUND_OFF * np.max(np.abs(sky))


def test_map2alm_subtraction_removes_pure_low_multipole_sky_fitted_on_the_full_sphere():
    experiment = ob.Experiment("comb", nside=16, dec_min=-80.0, dec_max=70.0, lcut=3, lowl_method="map2alm",
                               fit_dec_min=-90.0, fit_dec_max=90.0, ring_filter=False)
    rng = np.random.default_rng(5)
    sky = hp.alm2map(ob._gaussian_alm(np.ones(4), rng), experiment.nside, lmax=3)
    filtered = ob.filter_map(sky, experiment)
    assert np.max(np.abs(filtered)) <= MAP2ALM_QUADRATURE * np.max(np.abs(sky))


@pytest.mark.parametrize("preset", ["hawc+icecube", "icecube-12yr"])
def test_fast_model_matches_monte_carlo_mean_and_variance(preset):
    # Two independent implementations of the same estimator: exact harmonic-space expectation vs HEALPix skies.
    # Compared for ℓ > ℓ_cut: below, the pseudo-C_ℓ is pure leakage (exactly 0 for the least-squares fit), whose
    # size depends on the pixelisation the harmonic model leaves out.  Noise is scaled up so both terms matter.
    base = ob.get_experiment(preset)
    experiment = base.with_(nside=32, lmax=30)
    if experiment.events is not None:
        experiment = experiment.with_(events=experiment.events / 1e4)
    else:
        experiment = experiment.with_(noise_level=experiment.noise_level * 100)
    cl = power_law(2 * experiment.nside, slope=2.0, c1=2e-6)
    model = ob.ForwardModel(experiment)
    mean, covariance = model.mean(cl), model.covariance(cl)
    n_sims = 300
    spectra = ob.simulate(cl, experiment, n_sims, seed=21)
    keep = slice(experiment.lcut + 1, None)
    sample_mean = spectra.mean(axis=0)[keep]
    sample_variance = spectra.var(axis=0, ddof=1)[keep]
    z_mean = (sample_mean - mean[keep]) / np.sqrt(sample_variance / n_sims)
    assert np.max(np.abs(z_mean)) < Z_MAX, z_mean
    fourth = np.mean((spectra[:, keep] - sample_mean) ** 4, axis=0)
    z_variance = (sample_variance - np.diag(covariance)[keep]) / np.sqrt((fourth - sample_variance**2) / n_sims)
    assert np.max(np.abs(z_variance)) < Z_MAX, z_variance


def test_least_squares_leaves_no_pseudo_power_at_subtracted_multipoles():
    # the fit residual is orthogonal to every Y_ℓm (ℓ ≤ ℓ_cut) on the masked sky, so its pseudo-a_ℓm vanish
    experiment = ob.get_experiment("icecube-12yr").with_(nside=16, lmax=10)
    model = ob.ForwardModel(experiment)
    cl = power_law(model.lmax)
    assert np.max(np.abs(model.mean(cl)[: experiment.lcut + 1])) <= ALGEBRA * np.max(model.mean(cl))


def test_simulation_is_deterministic_and_independent_of_batch_size():
    experiment = ob.Experiment("tiny", nside=8, dec_max=-25.0, lcut=2, events=1e8, lmax=10)
    cl = power_law(23)
    first = ob.simulate(cl, experiment, 4, seed=99)
    np.testing.assert_array_equal(first, ob.simulate(cl, experiment, 4, seed=99))
    np.testing.assert_array_equal(first[:2], ob.simulate(cl, experiment, 2, seed=99))
    assert not np.allclose(first, ob.simulate(cl, experiment, 4, seed=100))


def test_monte_carlo_is_cached_in_memory_and_on_disk(tmp_path):
    experiment = ob.Experiment("tiny", nside=8, dec_max=-25.0, events=1e8, lmax=10)
    cl = power_law(23)
    result = ob.monte_carlo(cl, experiment, n_sims=5, seed=7, cache_dir=tmp_path)
    assert ob.monte_carlo(cl, experiment, n_sims=5, seed=7, cache_dir=tmp_path) is result
    assert len(list(tmp_path.glob("mc_tiny_*.npz"))) == 1
    ob._MC_CACHE.clear()
    reloaded = ob.monte_carlo(cl, experiment, n_sims=5, seed=7, cache_dir=tmp_path)
    np.testing.assert_array_equal(reloaded.samples, result.samples)
    np.testing.assert_array_equal(result.samples, ob.simulate(cl, experiment, 5, seed=7))


def test_kcorrection_is_one_on_the_full_sphere_and_matches_the_anchor_for_the_combined_map():
    assert ob.kcorrection(-90.0, 90.0) == pytest.approx(1.0, abs=1e-15)
    # anchor noise_level_Cl_IC86 note: "anafast/K, K~0.997" (three digits)
    assert "0.997" in anchor("noise_level_Cl_IC86").note
    assert ob.kcorrection(-90.0, 70.0) == pytest.approx(0.997, abs=5e-4)
    assert ob.get_experiment("hawc+icecube").divisor == ob.kcorrection(-90.0, 70.0)


def test_presets_take_their_numbers_from_the_anchors_and_record_provenance():
    icecube = ob.get_experiment("icecube-12yr")
    assert icecube.events == anchor_value("events_IceCube_12yr")
    assert "7.92e11" in dataset_metadata("icecube_12yr_2025")["events"]
    assert "-25" in anchor("mask_IceCube_12yr_Cl").value and icecube.dec_max == -25.0
    combined = ob.get_experiment("hawc+icecube")
    assert "-85 (or -80" in anchor("mask_combined_Cl").value and "+70" in anchor("mask_combined_Cl").value
    assert (combined.dec_min, combined.dec_max) == (-80.0, 70.0)
    assert ob.get_experiment("hawc+icecube-full").dec_min == -85.0
    assert combined.nside == 64 and anchor("nside_combined").value.startswith("64")
    assert combined.noise_level == anchor_value("noise_level_Cl_IC86") + anchor_value("noise_level_Cl_HAWC300")
    assert ob.get_experiment("hawc").events == anchor_value("events_HAWC_2014")
    for experiment in ob.PRESETS.values():
        for name in ("nside", "lcut", "lmax"):
            if getattr(experiment, name) is not None:
                assert experiment.provenance.get(name), (experiment.name, name)
        assert experiment.provenance.get("events") or experiment.provenance.get("noise_level"), experiment.name
    assert all("[R" in text for key, text in ob.get_experiment("icecube-6yr").provenance.items()
               if key != "ring_filter")


def test_get_experiment_rejects_unknown_names_and_lists_presets():
    with pytest.raises(ParameterError, match=r"experiment.*hawc\+icecube"):
        ob.get_experiment("auger")


@pytest.mark.parametrize(
    ("changes", "parameter"),
    [({"nside": 24}, "nside"), ({"events": 1e9, "noise_level": 1e-10}, "events"), ({"lowl_method": "x"},
     "lowl_method"), ({"dec_min": 10.0, "dec_max": 0.0}, "dec_max"), ({"lmax": 200}, "lmax")],
)
def test_experiment_rejects_bad_settings_naming_the_parameter(changes, parameter):
    with pytest.raises(ParameterError, match=f"^{parameter}"):
        ob.Experiment("bad", **{"nside": 16, **changes})


def test_forward_model_rejects_negative_spectra():
    model = ob.ForwardModel(ob.Experiment("full", nside=8, ring_filter=False, lmax=5))
    with pytest.raises(ParameterError, match=r"^cl"):
        model.mean([np.nan, 1.0, -1.0])


@pytest.mark.parametrize("nside", [1, 4, 16, 64])
def test_closed_form_ring_geometry_matches_healpy(nside):
    z, ring_of_pixel = ob._ring_geometry(nside)
    theta, _ = hp.pix2ang(nside, np.arange(12 * nside**2))
    unique_theta, healpy_rings = np.unique(theta, return_inverse=True)
    np.testing.assert_allclose(z, np.cos(unique_theta), atol=ROUND_OFF)
    np.testing.assert_array_equal(ring_of_pixel, healpy_rings)
