"""Likelihood, fits and intervals (anisotropy.fit).

Independent expectations: the full-sky χ² written out by hand with the cosmic variance 2C²/(2ℓ+1); exact recovery
from noise-free ("Asimov") data; the analytic error of a linear amplitude fit; injection-recovery on Monte Carlo
skies (error model: a correct 68.3 % interval covers the truth with binomial probability 0.683; a 3σ interval
(Δχ² = 9) with probability 0.9973); the direct output of :func:`anisotropy.predict_cl`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from anisotropy import fit as F
from anisotropy import observatory as ob
from anisotropy.data import anchor_value
from anisotropy.errors import ParameterError

#: Nelder-Mead stops at xatol = 1e-6 in the internal coordinates; parameters from Asimov data must agree to 1e-4
ASIMOV_RELATIVE = 1e-4
#: interpolation may cost at most 1 % in C_ℓ/C_1: the data's relative errors are ≥ 20 % per multipole
#: (cosmic variance sqrt(2/(2ℓ+1)) at ℓ ≤ 20), so this is a negligible systematic
INTERPOLATION_TOLERANCE = 1e-2
#: Δχ² of a 3σ interval (99.73 %) for one parameter
DELTA_CHI2_3SIGMA = 9.0
#: profile crossings are found by brentq to 1e-5 in the internal coordinate
CROSSING_RELATIVE = 1e-4
#: eigenvalues of a PSD matrix computed by LAPACK's eigh may come out negative by ~n·eps·||Σ|| (38 rows: 1e-14)
EIGENVALUE_ROUND_OFF = 1e-13
#: W Σ Wᵀ = 1 on the kept modes: the whitening's error is eps times the kept condition number (≤ 1/threshold = 1e5)
WHITENING_ROUND_OFF = 1e-9
#: the Chebyshev count n_ℓ(1 - γ_max/π) of unreachable modes is asymptotic, and the kept/dropped boundary of an
#: eigenvalue ladder falling ~100x per mode moves by one mode per factor 100 in the threshold: allow ±2 modes
MODE_COUNT_SLACK = 2
#: a z-score beyond this (Monte Carlo mean of χ² vs its expectation) is a real miscalibration, not a fluctuation
Z_MAX = 4.0


def combined_small():
    return ob.get_experiment("hawc+icecube").with_(nside=16, lmax=20)


def test_likelihood_on_the_full_sky_is_the_cosmic_variance_chi2():
    experiment = ob.Experiment("full", nside=16, ring_filter=False, lmax=20)
    model = F.PowerLawModel(lmax=47)
    c1, slope = 2e-6, 2.0
    ell = np.arange(1, 21)
    truth = c1 * ell ** -slope
    data = truth * (1 + 0.1 * np.sin(ell))
    likelihood = F.Likelihood(ell, data, experiment, model)
    expected = np.sum((data - truth) ** 2 / (2 * truth**2 / (2 * ell + 1)))
    assert likelihood.chi2({"slope": slope, "c1": c1}) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("normalisation", ["free", "dipole"])
def test_noise_free_data_are_fitted_exactly(normalisation):
    experiment = combined_small()
    model = F.PowerLawModel(lmax=47)
    truth = {"slope": 2.7, "c1": 2.13e-6}
    forward = ob.ForwardModel(experiment)
    data = forward.mean(truth["c1"] * model.shape(slope=truth["slope"]))
    likelihood = F.Likelihood(np.arange(21), data, experiment, model, normalisation=normalisation,
                              c1=truth["c1"] if normalisation == "dipole" else None, forward=forward)
    result = F.fit(likelihood, profiles=False)
    for name, value in result.best.items():
        assert value == pytest.approx(truth[name], rel=ASIMOV_RELATIVE)
    assert result.chi2 < 1e-6
    assert result.dof == 17 - len(result.best)


def test_amplitude_interval_equals_the_weighted_least_squares_error():
    # a fixed shape with free C_1: χ²(C_1) is quadratic for fixed Σ, so the Δχ² = 1 interval is Ĉ_1 ± (t'Σ⁻¹t)^(-1/2)
    experiment = combined_small()
    ell = np.arange(48, dtype=float)
    shape = np.zeros(48)
    shape[1:] = ell[1:] ** -2.5
    model = F.CallableModel(lambda: shape, [], lmax=47, name="fixed shape")
    data = ob.simulate(2e-6 * shape, experiment, 1, seed=8)[0]
    likelihood = F.Likelihood(np.arange(21), data, experiment, model)
    result = F.fit(likelihood)
    covariance = likelihood.covariance(result.best)
    template = likelihood.forward.signal_mean(shape)[likelihood.ell]
    sigma = 1 / math.sqrt(template @ np.linalg.solve(covariance, template))
    low, high, open_low, open_high = result.intervals["c1"]
    assert not (open_low or open_high)
    assert low == pytest.approx(result.best["c1"] - sigma, rel=CROSSING_RELATIVE)
    assert high == pytest.approx(result.best["c1"] + sigma, rel=CROSSING_RELATIVE)


def test_dipole_anchored_normalisation_uses_the_anchor_row():
    likelihood = F.Likelihood(np.arange(21), np.ones(21) * 1e-8, combined_small(), F.PowerLawModel(lmax=47),
                              normalisation="dipole")
    assert likelihood.c1_fixed == anchor_value("C1_fullsky_with_deltaN")
    assert likelihood.names == ("slope",)


@pytest.fixture(scope="module")
def toy_interpolated():
    return F.InterpolatedModel(F.ToyModel(lmax=47), points=9)


def test_interpolated_toy_model_matches_the_exact_model(toy_interpolated):
    assert toy_interpolated.interpolation_error(max_points=8) < INTERPOLATION_TOLERANCE


def test_interpolation_table_is_cached_and_reloaded(tmp_path):
    calls = []

    def spectrum(slope):
        calls.append(slope)
        ell = np.arange(31, dtype=float)
        return np.concatenate(([0.0], ell[1:] ** -slope))

    model = F.CallableModel(spectrum, [F.Parameter("slope", 1.0, 3.0, 2.0)], lmax=30)
    cache = tmp_path / "table.npz"
    first = F.InterpolatedModel(model, points=5, cache=cache)
    assert len(calls) == 5 and cache.exists()
    second = F.InterpolatedModel(model, points=5, cache=cache)
    assert len(calls) == 5
    np.testing.assert_array_equal(first.table, second.table)


def test_toy_injections_are_recovered_within_three_sigma(toy_interpolated):
    # 12 Monte Carlo skies at κ_c = 5 (docs/physics/toy_model.md#toy-model): each 3σ interval must contain the truth (a
    # miss has
    # probability 0.27 % per injection), and the mean pull must be consistent with 0 (its error is 1/√12)
    experiment = combined_small()
    forward = ob.ForwardModel(experiment)
    truth = 5.0
    theory = anchor_value("C1_fullsky_with_deltaN") * toy_interpolated.exact.shape(kappa_c=truth)
    pulls = []
    for data in ob.simulate(theory, experiment, 12, seed=2024):
        likelihood = F.Likelihood(np.arange(21), data, experiment, toy_interpolated, normalisation="dipole",
                                  forward=forward)
        wide = F.fit(likelihood, level=DELTA_CHI2_3SIGMA, profile_points=11)
        low, high, _, _ = wide.intervals["kappa_c"]
        assert low <= truth <= high, (low, high)
        one_sigma = F.fit(likelihood, profile_points=11)
        best = one_sigma.best["kappa_c"]
        low, high, _, _ = one_sigma.intervals["kappa_c"]
        width = (math.log(best) - math.log(low)) if best > truth else (math.log(high) - math.log(best))
        pulls.append((math.log(best) - math.log(truth)) / width)
    assert abs(np.mean(pulls)) < 3 / math.sqrt(len(pulls))


def test_varying_covariance_fit_agrees_with_fixed_covariance_within_errors(toy_interpolated):
    experiment = combined_small()
    theory = 2.13e-6 * toy_interpolated.exact.shape(kappa_c=5.0)
    data = ob.simulate(theory, experiment, 1, seed=77)[0]
    results = [F.fit(F.Likelihood(np.arange(21), data, experiment, toy_interpolated, normalisation="dipole",
                                  covariance=mode), profile_points=11) for mode in ("fixed", "model")]
    fixed, varying = results
    low, high, _, _ = fixed.intervals["kappa_c"]
    assert low <= varying.best["kappa_c"] <= high


def test_turbulence_model_shape_is_predict_cl_over_its_dipole():
    from anisotropy import units
    from anisotropy.predict import predict_cl

    model = F.TurbulenceModel(lmax=20, energy=10.0, b_rms=3.0)
    values = {"reduced_rigidity": 0.01, "eta": 0.5}
    l_c = float(units.gyroradius(10.0, 3.0)) / values["reduced_rigidity"]
    reference = predict_cl(10.0, b_rms=3.0, l_c=l_c, eta=0.5, lmax=20).cl
    np.testing.assert_allclose(model.shape(**values)[1:], reference[1:] / reference[1], rtol=1e-12)
    derived = model.derived(**values)
    assert derived["l_c_pc"] == pytest.approx(l_c, rel=1e-12)
    assert derived["omega_tau_s"] > 0


def test_emcee_posterior_width_matches_the_profile_interval():
    pytest.importorskip("emcee")
    experiment = combined_small()
    ell = np.arange(48, dtype=float)
    shape = np.concatenate(([0.0], ell[1:] ** -2.5))
    model = F.CallableModel(lambda: shape, [], lmax=47)
    data = ob.simulate(2e-6 * shape, experiment, 1, seed=9)[0]
    likelihood = F.Likelihood(np.arange(21), data, experiment, model)
    result = F.fit(likelihood)
    samples = F.sample_posterior(likelihood, result, n_walkers=16, n_steps=600, seed=1)
    low, high, _, _ = result.intervals["c1"]
    # ~16 walkers × 400 kept steps with autocorrelation ~30 steps: ≈200 effective samples, so the sample standard
    # deviation is good to ≈5 %; 25 % allows for that and for the flat-in-log prior's skew
    assert np.std(samples[:, 0]) == pytest.approx(0.5 * (high - low), rel=0.25)
    assert result.samples is samples


def test_fit_plots_and_json_are_written(tmp_path):
    experiment = combined_small()
    model = F.PowerLawModel(lmax=47)
    data = ob.simulate(2e-6 * model.shape(slope=2.5), experiment, 1, seed=4)[0]
    result = F.fit(F.Likelihood(np.arange(21), data, experiment, model), profile_points=7)
    F.plot_fit(result, tmp_path / "fit.png")
    F.plot_profiles(result, tmp_path / "profiles.png")
    result.to_json(tmp_path / "fit.json")
    for name in ("fit.png", "profiles.png", "fit.json"):
        assert (tmp_path / name).stat().st_size > 1000
    assert "chi2/dof" in result.summary()


@pytest.mark.parametrize(
    ("options", "parameter"),
    [({"normalisation": "fixed"}, "normalisation"), ({"covariance": "diag"}, "covariance"),
     ({"lmin": 19}, "lmin"), ({"normalisation": "dipole", "c1": -1.0}, "c1")],
)
def test_likelihood_rejects_bad_options_naming_them(options, parameter):
    with pytest.raises(ParameterError, match=rf"^{parameter}"):
        F.Likelihood(np.arange(21), np.ones(21), combined_small(), F.PowerLawModel(lmax=47), **options)


def test_model_with_non_positive_dipole_is_rejected():
    model = F.CallableModel(lambda: np.zeros(10), [], lmax=9)
    with pytest.raises(ParameterError, match=r"^model"):
        model.shape()


@pytest.mark.slow
@pytest.mark.parametrize("normalisation", ["dipole", "free"])
def test_profile_intervals_have_68_percent_coverage_over_many_injections(normalisation):
    # n injections: a correct 68.27 % interval covers the truth a binomial(n, 0.6827) number of times, standard
    # deviation sqrt(0.6827·0.3173/n) in the fraction (0.023 for 400, 0.033 for 200); we accept ±3σ
    experiment = ob.get_experiment("hawc+icecube").with_(nside=32, lmax=30)
    forward = ob.ForwardModel(experiment)
    n_injections = 400 if normalisation == "dipole" else 200  # the two-parameter fits cost ~5x more
    if normalisation == "dipole":
        model = F.InterpolatedModel(F.ToyModel(lmax=forward.lmax), points=9)
        truth = {"kappa_c": 5.0}
        theory = anchor_value("C1_fullsky_with_deltaN") * model.exact.shape(**truth)
    else:
        model = F.PowerLawModel(lmax=forward.lmax)
        truth = {"slope": 2.5, "c1": 2.13e-6}
        theory = truth["c1"] * model.shape(slope=truth["slope"])
    covered = dict.fromkeys(truth, 0)
    for data in ob.simulate(theory, experiment, n_injections, seed=31415):
        likelihood = F.Likelihood(np.arange(31), data, experiment, model, normalisation=normalisation,
                                  forward=forward)
        result = F.fit(likelihood, profile_points=11)
        for name, value in truth.items():
            low, high, _, _ = result.intervals[name]
            covered[name] += low <= value <= high
    tolerance = 3 * math.sqrt(0.6827 * 0.3173 / n_injections)
    print(f"coverage of the 68.27 % intervals over {n_injections} injections:",
          {name: count / n_injections for name, count in covered.items()})
    for name, count in covered.items():
        assert abs(count / n_injections - 0.6827) < tolerance, (name, count / n_injections)


def test_derived_quantities_are_reported_at_the_best_fit_and_interval_ends():
    class SlopeWithDerived(F.PowerLawModel):
        def derived(self, slope):
            return {"twice_slope": 2.0 * slope}

    experiment = combined_small()
    model = SlopeWithDerived(lmax=47)
    data = ob.simulate(2.13e-6 * model.shape(slope=2.5), experiment, 1, seed=12)[0]
    result = F.fit(F.Likelihood(np.arange(21), data, experiment, model, normalisation="dipole"), profile_points=11)
    low, high, _, _ = result.intervals["slope"]
    assert result.derived["twice_slope"] == pytest.approx(2 * result.best["slope"])
    assert result.derived_ranges["twice_slope"] == pytest.approx((2 * low, 2 * high))


def test_isotropic_turbulence_defaults_to_b0_zero_and_can_free_the_turbulence_level():
    default = F.TurbulenceModel(lmax=10, model="isotropic")
    assert default.names == ("reduced_rigidity",) and default.fixed["eta"] == 1.0  # B0 = 0, the fast exact model
    with_b0 = F.TurbulenceModel(lmax=10, model="isotropic", free=("reduced_rigidity", "eta"))
    assert with_b0.names == ("reduced_rigidity", "eta")
    with pytest.raises(ParameterError, match=r"^model"):
        F.TurbulenceModel(lmax=10, model="kolmogorov")


# ---------------------------------------------------------------------------------- near-singular covariances
def _max_pair_separation(experiment) -> float:
    """Largest angular separation (radians) between two points of a declination band (antipodes if it straddles
    the equator; otherwise the two points at opposite right ascension on the band's edge nearest the equator)."""
    low, high = math.radians(experiment.dec_min), math.radians(experiment.dec_max)
    if low <= 0.0 <= high:
        return math.pi
    nearest = high if high < 0 else low
    return math.pi - 2.0 * abs(nearest)


@pytest.mark.parametrize("preset", sorted(ob.PRESETS))
def test_covariance_of_every_preset_is_psd_and_projected_likelihood_is_finite(preset):
    # after the projection: Σ symmetric PSD to round-off, W Σ Wᵀ = 1 on the kept modes, and the χ² of one pixelised
    # sky at its truth finite, >= 0 and below the 99.99 % quantile of χ²(n_modes) (it was ~1e9 or negative before)
    experiment = ob.get_experiment(preset)
    forward = ob.ForwardModel(experiment)
    model = F.ToyModel(lmax=forward.lmax)
    truth = {"kappa_c": 5.0, "c1": 2.13e-6}
    theory = truth["c1"] * model.shape(kappa_c=truth["kappa_c"])
    sky = ob.simulate(theory, experiment, 1, seed=11)[0]
    likelihood = F.Likelihood(forward.ell, sky, experiment, model, forward=forward)
    covariance = likelihood.covariance(truth)
    np.testing.assert_array_equal(covariance, covariance.T)
    eigenvalues = np.linalg.eigvalsh(covariance)
    assert eigenvalues[0] >= -EIGENVALUE_ROUND_OFF * eigenvalues[-1]
    whitening = likelihood.whitening(covariance)
    identity = np.eye(whitening.shape[0])
    assert np.max(np.abs(whitening @ covariance @ whitening.T - identity)) < WHITENING_ROUND_OFF
    chi2 = likelihood.chi2(truth, covariance)
    assert 0.0 <= chi2 < stats.chi2.ppf(0.9999, whitening.shape[0])
    assert np.isfinite(F.Likelihood(forward.ell, sky, experiment, model, forward=forward,
                                    covariance="model").neg2_log_like(truth))


@pytest.mark.parametrize("preset", sorted(ob.PRESETS))
def test_projected_modes_are_the_unreachable_pair_separations(preset):
    # independent count (fit module docstring): n_ℓ(1 - γ_max/π) combinations of the pseudo-C_ℓ have a Legendre
    # kernel that can vanish on every pair separation the mask contains; none when the mask holds antipodal pairs
    experiment = ob.get_experiment(preset)
    forward = ob.ForwardModel(experiment)
    theory = 2.13e-6 * F.PowerLawModel(lmax=forward.lmax).shape(slope=2.5)
    likelihood = F.Likelihood(forward.ell, forward.mean(theory), experiment, F.PowerLawModel(lmax=forward.lmax),
                              forward=forward)
    dropped = likelihood.ell.size - likelihood.n_modes(likelihood.covariance({"slope": 2.5, "c1": 2.13e-6}))
    expected = likelihood.ell.size * (1.0 - _max_pair_separation(experiment) / math.pi)
    assert abs(dropped - expected) <= MODE_COUNT_SLACK, (dropped, expected)


@pytest.fixture(scope="module")
def icecube_small():
    """The icecube-12yr estimator (cap dec <= -25°, ring filter, ℓ <= 2 least squares) at nside 32, with the
    interpolated toy model and 200 pixelised skies at κ_c = 5 and the anchored C_1."""
    experiment = ob.get_experiment("icecube-12yr").with_(nside=32)
    forward = ob.ForwardModel(experiment)
    model = F.InterpolatedModel(F.ToyModel(lmax=forward.lmax), points=9)
    truth = {"kappa_c": 5.0, "c1": anchor_value("C1_fullsky_with_deltaN")}
    theory = truth["c1"] * model.exact.shape(kappa_c=truth["kappa_c"])
    skies = ob.monte_carlo(theory, experiment, n_sims=200, seed=2718).samples
    return experiment, forward, model, truth, skies


def test_icecube_injections_are_recovered_with_chi2_per_effective_dof_near_one(icecube_small):
    # 8 skies: each 3σ interval must contain the truth (a miss has probability 0.27 % per injection), and the mean
    # pull (log κ_c, in units of the 1σ half-width towards the truth) must be consistent with 0 (error 1/√8).
    # Error model of χ²: the sum over independent skies of χ²(dof) is χ²(Σ dof); the pseudo-C_ℓ's non-Gaussian
    # tails widen it a little, so we accept the central 99.9 %
    experiment, forward, model, truth, skies = icecube_small
    chi2_total, dof_total, pulls = 0.0, 0, []
    for data in skies[:8]:
        likelihood = F.Likelihood(forward.ell, data, experiment, model, normalisation="dipole", forward=forward)
        result = F.fit(likelihood, level=DELTA_CHI2_3SIGMA, profile_points=11, derived=False)
        low, high, _, _ = result.intervals["kappa_c"]
        assert low <= truth["kappa_c"] <= high, (low, high)
        one_sigma = F.fit(likelihood, profile_points=11, derived=False)
        best = one_sigma.best["kappa_c"]
        low, high, _, _ = one_sigma.intervals["kappa_c"]
        width = math.log(best / low) if best > truth["kappa_c"] else math.log(high / best)
        pulls.append(math.log(best / truth["kappa_c"]) / width)
        assert result.n_modes < result.ell.size  # the cap's degenerate modes are projected out
        assert result.dof == result.n_modes - 1
        chi2_total += result.chi2
        dof_total += result.dof
    assert stats.chi2.ppf(0.0005, dof_total) < chi2_total < stats.chi2.ppf(0.9995, dof_total), (chi2_total,
                                                                                                dof_total)
    assert abs(np.mean(pulls)) < 3 / math.sqrt(len(pulls)), pulls


def test_chi2_of_the_truth_over_monte_carlo_skies_has_mean_equal_to_the_kept_modes(icecube_small):
    # calibration of the projected likelihood against the pixel-space estimator: E[χ²] = n_modes at the truth.
    # Error model: the mean of 200 independent χ² has standard error s/√200 (s their sample standard deviation).
    # The dropped modes are checked to be unusable: there the pixelised skies scatter far more than the harmonic
    # model allows (measured variance ratios 1.6 for the one nearest the threshold, then 4, 50, up to ~1e7), so
    # keeping them would add far more χ² than modes: we require > 10 per dropped mode on average
    experiment, forward, model, truth, skies = icecube_small
    likelihood = F.Likelihood(forward.ell, skies[0], experiment, model, normalisation="dipole", forward=forward)
    covariance = likelihood.covariance(truth)
    whitening = likelihood.whitening(covariance)
    residuals = skies[:, likelihood.ell] - likelihood.mean(truth)
    chi2 = np.sum((residuals @ whitening.T) ** 2, axis=1)
    z = (chi2.mean() - whitening.shape[0]) / (chi2.std(ddof=1) / math.sqrt(chi2.size))
    assert abs(z) < Z_MAX, (chi2.mean(), whitening.shape[0])
    scale = np.sqrt(np.diag(covariance))
    eigenvalues, vectors = np.linalg.eigh(covariance / np.outer(scale, scale))
    dropped = eigenvalues < F.MODE_EIGENVALUE_THRESHOLD * eigenvalues[-1]
    per_mode = np.mean(((residuals / scale) @ vectors[:, dropped]) ** 2, axis=0) / np.abs(eigenvalues[dropped])
    assert np.mean(per_mode) > 10.0, per_mode
