r"""The validation campaign: map :math:`C_\ell` and pair statistics over a grid of turbulence cases.

Each case (turbulence kind, :math:`\eta`, :math:`\rho = r_g/L_c`) runs ``realisations`` turbulence realisations.
One realisation (:func:`campaign_realisation`) builds the field once and, in it, backtracks

* the arrival-direction map (:func:`validation.simulator.backtrack.anisotropy_realisation`) with
  :math:`\mathbf G\parallel\mathbf B_0` and no :math:`K` term (eq. 3.1 of that module), giving :math:`C_\ell(T)`
  and the dipole :math:`\boldsymbol\delta(T)`;
* the pair instrument (:func:`validation.simulator.pairs.pair_realisation`): mixing functions, drift and spread of
  :math:`x'-x`, two-time direction correlations and the exact pair correlation :math:`C(x;T)` for
  :math:`\mathbf G` along and across :math:`\mathbf B_0`.

Resolution rules of every case (issue 11): :math:`L_\min/L_\max = \min(10^{-2}, 0.1\rho)`, so
:math:`k_\max r_g = 2\pi\rho/L_\min \ge 12`; output times log-spaced up to ``t_over_tau_s`` slab-QLT scattering
times :math:`\tau_s = 3\kappa_\parallel^\mathrm{QLT}/c^2` (a time scale for every kind).

Derived per case (:func:`analyse_case`): :math:`C_\ell/C_1` with its delta-method covariance
(:func:`validation.compare.cl_ratio`); ``c1_ratio_sim`` :math:`=\langle C_1\rangle/((4\pi/9)|\langle\boldsymbol
\delta\rangle|^2)` (≥ 1 by Jensen); :math:`\kappa_\parallel = \langle\delta_z\rangle/3` at the last time (Kubo;
exact for G ∥ B0 without the K term); :math:`\kappa_\perp = \tfrac12\Delta\langle R_x^2\rangle/\Delta T` over the
last interval of the pair instrument's A particles; multipoles usable (above 10× the white-noise floor, ℓ ≤
N_side) and converged in T (:func:`validation.compare.convergence_in_time`); and the current theory's χ² on
:math:`C_\ell/C_1` at its default pair time :math:`\Omega\Delta T = a(\Omega\tau_s)^{1/3}`
(:data:`anisotropy.pair_rates.DEFAULT_PAIR_TIME_PREFACTOR`), evolved to the simulation's last T with its measured
source history (the ``finite_time`` comparison of :mod:`validation.calibration`), on the simulator's discrete modes.

Checkpoints: one :class:`validation.simulator.store.RealisationStore` per case under the checkpoint directory;
a rerun of the same command skips every stored realisation and, since ensembles are aggregated in index order,
reproduces an uninterrupted run bit for bit.  Outputs (``campaign.json``, ``cases.csv``, ``cost.csv``,
``README.md``, figures) are written atomically.
"""

from __future__ import annotations

import csv
import functools
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from anisotropy._version import __version__
from anisotropy.errors import ParameterError, require_integer, require_range
from anisotropy.io import atomic_output, write_json

from . import compare

__all__ = [
    "FULL_GRID",
    "GRIDS",
    "NSIDE32_GRID",
    "QUICK_GRID",
    "REDUCED_GRID",
    "CampaignCase",
    "analyse_case",
    "campaign_realisation",
    "case_configs",
    "estimate_cost",
    "run_campaign",
]

#: modes per decade of wavenumber in every case (simulator and theory share the same discrete modes)
MODES_PER_DECADE = 32
#: k_max r_g ≥ 10 (issue 11): L_min/L_max = min(LMIN_CAP, LMIN_PER_RIGIDITY ρ) gives k_max r_g ≈ 12.6 or more
LMIN_CAP = 1e-2
LMIN_PER_RIGIDITY = 0.1
#: first output time as a fraction of the last (log-spaced grid)
FIRST_TIME_FRACTION = 1.0 / 30.0
#: ℓmax of the theory (absorbing boundary; validation.calibration.THEORY_LMAX)
THEORY_LMAX = 384
#: resolution of the isotropic-with-B0 pair rate (validation.calibration.REGULAR_FIELD_RESOLUTION: ≤ 0.15 % on the
#: ratios against resolution 2)
REGULAR_FIELD_RESOLUTION = 0.5
#: Gauss-Legendre nodes of the pair instrument and the mixing-matrix size summarised in campaign.json
SUMMARY_LMAX = 6
DEFAULT_SEED = 20261204
#: η whose slab-QLT τ_s sets the time grid of isotropic cases without B0 (η = 1): δB = B0 there, the nearest
#: regime with a QLT scattering time; the measured τ_s is reported next to it
ISOTROPIC_TIME_SCALE_ETA = 0.5
#: measured cost of one mode per particle-step when no run has been timed yet (ns; the issue's 0.38-0.54 ns on
#: AVX-512 machines); replaced by the campaign's own measured throughput when it has one
FALLBACK_NS_PER_MODE_STEP = 0.54


@dataclass(frozen=True)
class CampaignCase:
    """One case: turbulence kind, η, ρ = r_g/L_c, ensemble size, T reach and resolutions.

    Defaults are the issue's full-grid requirements (16 realisations, 10 τ_s, N_side 16); what a run reached is
    reported per case in ``campaign.json``.

    Examples
    --------
    >>> case = CampaignCase("slab", 0.5, 1e-3)
    >>> case.name, case.lmin_over_lmax
    ('slab_eta0.5_rho0.001', 0.0001)
    """

    kind: str
    eta: float
    rigidity: float
    realisations: int = 16
    t_over_tau_s: float = 10.0
    nside: int = 16
    n_times: int = 6
    pair_nodes: int = 16
    pairs: int = 256
    lmax_mixing: int = 8

    def __post_init__(self):
        if self.kind not in ("slab", "isotropic"):
            raise ParameterError("kind", f"must be 'slab' or 'isotropic', got {self.kind!r}")
        require_range("eta", self.eta, 0.0, 1.0, low_open=True)
        if self.kind == "slab" and self.eta >= 1.0:
            raise ParameterError("eta", "slab cases need eta < 1 (a regular field)")
        require_range("rigidity", self.rigidity, 1e-5, 100.0)
        require_integer("realisations", self.realisations, 2, 1_000_000)
        require_range("t_over_tau_s", self.t_over_tau_s, 0.0, 1e4, low_open=True)
        require_integer("n_times", self.n_times, 2, 100)

    @property
    def name(self) -> str:
        return f"{self.kind}_eta{self.eta:g}_rho{self.rigidity:g}"

    @property
    def lmin_over_lmax(self) -> float:
        return min(LMIN_CAP, LMIN_PER_RIGIDITY * self.rigidity)


def _grid(kinds_etas, rigidities, **settings):
    return tuple(CampaignCase(kind, eta, rho, **settings) for kind, eta in kinds_etas for rho in rigidities)


#: the issue's full grid: ≥ 16 realisations, 10 τ_s, N_side 16, 16 pair nodes × 256 pairs
FULL_GRID = (
    _grid([("slab", eta) for eta in (0.1, 0.3, 0.5, 0.8)], (1e-3, 1e-2, 0.1, 1.0))
    + _grid([("isotropic", 0.2), ("isotropic", 0.5)], (1e-2, 0.1, 1.0))
    + _grid([("isotropic", 1.0)], (1e-2, 0.1, 1.0))
)
#: what one core affords in ~20 minutes (measured 0.6-1.5 ns per mode per particle-step): every case of the full grid
#: at N_side 16 with 16 pair nodes x 64 pairs, each case cut to ~65 s at 0.9 ns: T shortened below 10 τ_s, then
#: 8 realisations where T < 1 τ_s; slab η = 0.1 at ρ = 1e-3 (3.2 core-hours at 10 τ_s) only to 1 τ_s with 8.
#: Cheapest first, so an interrupted run has the most cases; each case reports what it reached
REDUCED_GRID = (
    CampaignCase("slab", 0.8, 1.0, realisations=16, t_over_tau_s=10.0, pairs=64),
    CampaignCase("slab", 0.8, 0.1, realisations=16, t_over_tau_s=10.0, pairs=64),
    CampaignCase("slab", 0.5, 1.0, realisations=16, t_over_tau_s=10.0, pairs=64),
    CampaignCase("isotropic", 0.5, 1.0, realisations=16, t_over_tau_s=10.0, pairs=64),
    CampaignCase("isotropic", 1.0, 1.0, realisations=16, t_over_tau_s=10.0, pairs=64),
    CampaignCase("slab", 0.5, 0.1, realisations=16, t_over_tau_s=10.0, pairs=64),
    CampaignCase("isotropic", 0.5, 0.1, realisations=16, t_over_tau_s=10.0, pairs=64),
    CampaignCase("isotropic", 1.0, 0.1, realisations=16, t_over_tau_s=10.0, pairs=64),
    CampaignCase("slab", 0.3, 1.0, realisations=16, t_over_tau_s=10.0, pairs=64),
    CampaignCase("slab", 0.8, 0.01, realisations=16, t_over_tau_s=10.0, pairs=64),
    CampaignCase("slab", 0.3, 0.1, realisations=16, t_over_tau_s=10.0, pairs=64),
    CampaignCase("isotropic", 0.2, 1.0, realisations=16, t_over_tau_s=10.0, pairs=64),
    CampaignCase("slab", 0.3, 0.001, realisations=8, t_over_tau_s=0.7, pairs=64),
    CampaignCase("isotropic", 0.2, 0.01, realisations=16, t_over_tau_s=1.3, pairs=64),
    CampaignCase("slab", 0.3, 0.01, realisations=16, t_over_tau_s=2.2, pairs=64),
    CampaignCase("slab", 0.8, 0.001, realisations=16, t_over_tau_s=2.7, pairs=64),
    CampaignCase("slab", 0.1, 0.01, realisations=8, t_over_tau_s=1.2, pairs=64),
    CampaignCase("slab", 0.1, 0.1, realisations=16, t_over_tau_s=4.3, pairs=64),
    CampaignCase("isotropic", 0.2, 0.1, realisations=16, t_over_tau_s=9.6, pairs=64),
    CampaignCase("slab", 0.5, 0.001, realisations=8, t_over_tau_s=1.6, pairs=64),
    CampaignCase("slab", 0.1, 1.0, realisations=16, t_over_tau_s=5.8, pairs=64),
    CampaignCase("slab", 0.5, 0.01, realisations=16, t_over_tau_s=5.0, pairs=64),
    CampaignCase("isotropic", 0.5, 0.01, realisations=16, t_over_tau_s=5.0, pairs=64),
    CampaignCase("isotropic", 1.0, 0.01, realisations=16, t_over_tau_s=5.0, pairs=64),
    # last, so the seeds of the cases above (child i of the campaign seed) do not move: ~3.5 CPU-minutes
    CampaignCase("slab", 0.1, 0.001, realisations=8, t_over_tau_s=1.0, pairs=64),
)
#: the test-suite grid (seconds): two cheap cases
QUICK_GRID = (
    CampaignCase("slab", 0.5, 1.0, realisations=3, t_over_tau_s=1.0, nside=4, n_times=3, pair_nodes=6, pairs=8),
    CampaignCase("isotropic", 0.5, 1.0, realisations=3, t_over_tau_s=0.5, nside=4, n_times=3, pair_nodes=6, pairs=8),
)
#: the full-grid cases without a multipole above 10x the white-noise floor at N_side 16 (the cheaper ones, and slab
#: eta = 0.5 at r_g/L_c = 1e-3), again at N_side 32 (floor 4x lower); the other settings of the full grid.  Its own
#: seeds (child i of the campaign seed in this order), so these are new realisations, not the full grid's.  Slab
#: η = 0.5 at the two lowest rigidities, the regime of the TeV data, with 64 realisations (C_1 ratio to ~10 %)
NSIDE32_GRID = tuple(CampaignCase(kind, eta, rigidity, nside=32, realisations=realisations)
                     for kind, eta, rigidity, realisations in (
    ("isotropic", 0.5, 0.1, 16), ("slab", 0.3, 0.1, 16), ("isotropic", 0.2, 0.1, 16), ("slab", 0.5, 0.01, 64),
    ("isotropic", 0.5, 0.01, 16), ("slab", 0.3, 0.01, 16), ("slab", 0.1, 0.1, 16), ("slab", 0.5, 1e-3, 64)))
GRIDS = {"full": FULL_GRID, "reduced": REDUCED_GRID, "nside32": NSIDE32_GRID, "quick": QUICK_GRID}


# ---------------------------------------------------------------------------------------------------- configs
def scattering_time(case: CampaignCase) -> float:
    r"""Slab-QLT :math:`\tau_s = 3\kappa_\parallel/c^2` in :math:`L_c/c`, from
    :func:`anisotropy.transport.parallel_diffusion`.

    A time scale for the output grid only: for isotropic turbulence without B0 (η = 1, where slab QLT has no
    meaning) the value at :data:`ISOTROPIC_TIME_SCALE_ETA` is used; every case also reports
    ``t_over_tau_s_measured`` with the measured :math:`\tau_s = 3\kappa_\parallel/c^2`.
    """
    from anisotropy.transport import parallel_diffusion

    eta = ISOTROPIC_TIME_SCALE_ETA if case.eta >= 1.0 else case.eta
    return 3.0 * parallel_diffusion(case.rigidity, eta, lmin_over_lmax=case.lmin_over_lmax)


def case_configs(case: CampaignCase) -> dict:
    """``{"map": AnisotropyConfig, "pairs": PairConfig}`` of a case (same times, same turbulence).

    Examples
    --------
    >>> configs = case_configs(CampaignCase("slab", 0.5, 0.1))
    >>> configs["map"].times == configs["pairs"].times, configs["map"].nside
    (True, 16)
    """
    from .simulator.config import AnisotropyConfig, PairConfig, TurbulenceConfig

    last = case.t_over_tau_s * scattering_time(case)
    times = tuple(float(t) for t in np.geomspace(FIRST_TIME_FRACTION * last, last, case.n_times))
    turbulence = TurbulenceConfig(kind=case.kind, eta=case.eta, lmin_over_lmax=case.lmin_over_lmax,
                                  modes_per_decade=MODES_PER_DECADE)
    sky = AnisotropyConfig(turbulence=turbulence, reduced_rigidity=case.rigidity, nside=case.nside, times=times,
                           gradient_angle=0.0)
    pairs = PairConfig(turbulence=turbulence, reduced_rigidity=case.rigidity, nodes=case.pair_nodes,
                       pairs=case.pairs, times=times, lmax_mixing=case.lmax_mixing)
    return {"map": sky, "pairs": pairs}


def campaign_realisation(configs: dict, seed) -> dict:
    r"""One realisation: map (G ∥ B0) and pair instrument in the same field (module docstring).

    Returns the map quantities of :func:`validation.simulator.backtrack.anisotropy_realisation` (without the maps
    themselves) plus ``cl_products`` (n_T, L, L), ``cl_change`` (n_T, L), ``pair_map_cl_difference`` (n_T, L)
    (the identity of :mod:`validation.simulator.pairs`, per realisation) and the pair instrument's arrays under
    ``pairs/``.
    """
    from .simulator.backtrack import _build_field, anisotropy_realisation
    from .simulator.ensemble import realisation_seed
    from .simulator.pairs import pair_realisation

    field = _build_field(configs["map"], realisation_seed(seed, 0))
    result = anisotropy_realisation(configs["map"], seed, field=field)
    result.pop("maps")
    cl = result["cl"]
    result["cl_products"] = cl[:, :, None] * cl[:, None, :]
    change = np.zeros_like(cl)
    change[1:] = np.diff(cl, axis=0)
    result["cl_change"] = change
    pairs = pair_realisation(configs["pairs"], seed, field=field)
    # the exact identity of the pair instrument, per realisation: pair C_l (G along B0) minus the map's
    size = min(pairs["cl"].shape[-1], cl.shape[-1])
    result["pair_map_cl_difference"] = pairs["cl"][0, 1:, :size] - cl[:, :size]
    result["particle_steps"] = result["particle_steps"] + pairs.pop("particle_steps")
    result.update({f"pairs/{name}": value for name, value in pairs.items()})
    return result


# ---------------------------------------------------------------------------------------------------- theory
@functools.lru_cache(maxsize=32)
def _rate(kind, rigidity, eta, lmin_over_lmax):
    from anisotropy.pair_rates import PairRate

    common = {"lmin_over_lmax": lmin_over_lmax, "modes_per_decade": MODES_PER_DECADE}
    if kind == "slab":
        return PairRate.slab(rigidity, eta, **common)
    return PairRate.isotropic(rigidity, eta=eta, resolution=REGULAR_FIELD_RESOLUTION, **common)


def theory_ratio(case: CampaignCase, omega_time: float, source_time: float) -> tuple[np.ndarray, dict]:
    r"""The current theory's :math:`C_\ell/C_1` at its default pair time, evolved to :math:`\Omega T` from 0.

    docs/physics/index.md of :func:`validation.calibration.theory_ratio` (source :math:`1 - e^{-t/\tau_d}` with the
    measured
    :math:`\tau_d`), on the case's discrete modes.  Returns the ratio (index ℓ) and the rate's parameters.
    """
    from anisotropy.mixing import rate_matrix
    from anisotropy.solver import evolve

    rate = _rate(case.kind, case.rigidity, case.eta, case.lmin_over_lmax)
    gamma = rate_matrix(rate, THEORY_LMAX)
    cl = evolve(gamma, lambda t: -math.expm1(-t / source_time), [omega_time])[0]
    cl[0] = np.nan
    params = {key: float(value) for key, value in rate.params.items()
              if isinstance(value, (int, float)) and not isinstance(value, bool)}
    return cl / cl[1], params


# ---------------------------------------------------------------------------------------------------- analysis
def _pair_summary(mean: dict, error: dict) -> dict:
    from .simulator.pairs import mixing_matrix

    ages = np.asarray(mean["pairs/ages"])
    cosines = np.asarray(mean["pairs/cosines"])
    weights = np.asarray(mean["pairs/weights"])
    drift = np.asarray(mean["pairs/drift"])
    spread = np.sqrt(np.clip(np.asarray(mean["pairs/second_moment"]) - drift**2, 0.0, None))
    lmax = min(SUMMARY_LMAX, mean["pairs/mixing"].shape[-1] - 1)
    matrices = mixing_matrix(np.asarray(mean["pairs/mixing"])[..., : lmax + 1], cosines, weights, lmax)
    return {
        "ages": ages,
        "cosines": cosines,
        "weights": weights,
        "drift": drift,
        "drift_error": error["pairs/drift"],
        "spread": spread,
        "mixing_matrix": matrices,
        "equal_time_correlation": mean["pairs/equal_time_correlation"],
        "equal_time_correlation_error": error["pairs/equal_time_correlation"],
        "direction_correlation_last_row": np.asarray(mean["pairs/direction_correlation"])[:, -1],
        "autocorrelation": mean["pairs/autocorrelation"],
        "pair_cl": mean["pairs/cl"],
        "pair_cl_error": error["pairs/cl"],
        "gradients": ["along B0 (z)", "across B0 (x)"],
    }


def _running_kappa(ages, square, index):
    # ½ Δ<R²>/ΔT over the interval ending at output `index` (the equal-time integrals include age 0)
    return 0.5 * (square[index] - square[index - 1]) / (ages[index] - ages[index - 1])


def analyse_case(case: CampaignCase, ensemble, configs: dict, *, theory: bool = True) -> dict:
    """Everything ``campaign.json`` holds for one case (module docstring), from an ensemble result."""
    from .calibration import fit_running_diffusion

    mean, error = ensemble.mean, ensemble.standard_error
    count = int(ensemble.count)
    times = np.asarray(mean["times"])
    last = times.size - 1
    spectrum = compare.EnsembleSpectrum.from_moments(mean["cl"][last], mean["cl_products"][last], count)
    floor = float(mean["noise_floor"][last])
    usable = compare.usable_multipoles(spectrum, floor, case.nside)
    convergence = compare.convergence_in_time(times, mean["cl"], mean["cl_change"], error["cl_change"])
    converged = [int(ell) for ell in usable if convergence["converged"][ell]]
    ratio = compare.cl_ratio(spectrum)
    ells = np.arange(2, min(case.nside, spectrum.ell[-1]) + 1)
    selected = ratio.select(ells)
    dipole = np.asarray(mean["dipole"][last])
    c1_ratio, c1_ratio_error = compare.dipole_power_ratio(spectrum.mean[1], spectrum.standard_error[1], dipole,
                                                          error["dipole"][last])
    tau = scattering_time(case)
    ages = np.asarray(mean["pairs/ages"])
    square = np.asarray(mean["pairs/integral_square_a"])
    result = {
        "name": case.name,
        "turbulence": case.kind,
        "eta": case.eta,
        "rigidity": case.rigidity,
        "realisations": count,
        "t_over_tau_s": float(times[-1] / tau),
        "t_over_tau_s_measured": float(times[-1] / (float(dipole[2]))) if dipole[2] > 0 else float("nan"),
        "tau_s_qlt": tau,
        "times": times,
        "nside": case.nside,
        "lmin_over_lmax": case.lmin_over_lmax,
        "k_max_r_g": 2.0 * math.pi * case.rigidity / configs["map"].turbulence.l_min,
        "n_modes": configs["map"].turbulence.n_modes,
        "dt": float(mean["dt"]),
        "case": asdict(case),
        "ells": ells,
        "cl_ratio": selected.ratio,
        "cl_ratio_covariance": selected.covariance,
        "cl": spectrum.mean,
        "cl_error": spectrum.standard_error,
        "noise_floor": floor,
        "usable_ells": usable,
        "converged_ells": converged,
        "relative_change_last_interval": convergence["relative_change"][: ells[-1] + 1],
        "c1_ratio_sim": c1_ratio,
        "c1_ratio_sim_error": c1_ratio_error,
        "kappa_par": float(dipole[2]) / 3.0,
        "kappa_par_error": float(error["dipole"][last][2]) / 3.0,
        "kappa_perp": float(_running_kappa(ages, square[1], ages.size - 1)),
        "kappa_par_msd": float(_running_kappa(ages, square[0], ages.size - 1)),
        "wall_seconds": float(ensemble.wall_seconds),
        "realisations_computed": len(ensemble.computed),
        "particle_steps_per_realisation": int(np.asarray(mean["particle_steps"])),
        "pairs": _pair_summary(mean, error),
    }
    difference = np.asarray(mean["pair_map_cl_difference"])[last, 1:5]
    difference_error = np.asarray(error["pair_map_cl_difference"])[last, 1:5]
    result["pairs"]["identity_check"] = {
        "description": "pair C_l (G along B0) - map C_l at the last time, mean over realisations, l = 1..4",
        "difference": difference, "error": difference_error,
        "z": difference / np.where(difference_error > 0, difference_error, np.nan)}
    result["chi2"] = result["dof"] = None
    result["chi2_note"] = None
    if theory and not usable.size:
        result["chi2_note"] = "no multipole above 10x the white-noise floor at this N_side and T"
    if theory and ells.size and count > 1:
        try:
            source = fit_running_diffusion(times, np.asarray(mean["dipole"])[:, 2] / 3.0)
        except (RuntimeError, ValueError) as error:  # curve_fit found no source history: say so, keep the case
            result["chi2_note"] = f"source history fit failed: {error}"
            return result
        fitted = np.asarray(usable, dtype=int)
        model, params = theory_ratio(case, times[-1] / case.rigidity, source["tau"] / case.rigidity)
        result["theory"] = {"comparison": "finite_time, default pair time", "ratio": model[: ells[-1] + 1],
                            "source_fit": source, "fitted_ells": fitted, **params}
        if fitted.size:
            diagonal = compare.chi_square(ratio.select(fitted).ratio, model[fitted],
                                          ratio.select(fitted).standard_error)
            result["chi2"], result["dof"] = diagonal.chi2, diagonal.dof
            result["theory"]["z"] = diagonal.z
            hartlap = (count - fitted.size - 2) / (count - 1)
            if hartlap > 0:
                full = compare.chi_square(ratio.select(fitted).ratio, model[fitted], ratio.select(fitted).covariance)
                result["chi2_full_covariance"] = full.chi2 * hartlap
    return result


# ---------------------------------------------------------------------------------------------------- cost
def estimate_cost(case: CampaignCase, ns_per_mode_step: float = FALLBACK_NS_PER_MODE_STEP) -> dict:
    """Particle-steps, mode-steps and core-hours of a case at ``ns_per_mode_step`` (measured throughput).

    Examples
    --------
    >>> cost = estimate_cost(CampaignCase("slab", 0.5, 1.0), ns_per_mode_step=1.0)
    >>> cost["mode_steps"] == cost["particle_steps"] * cost["modes"]
    True
    """
    from .simulator.backtrack import backtracking_schedule

    configs = case_configs(case)
    _, steps = backtracking_schedule(configs["map"].times, configs["map"].timestep)
    particles = configs["map"].n_particles + configs["pairs"].n_particles
    particle_steps = particles * int(steps[-1]) * case.realisations
    modes = configs["map"].turbulence.n_modes
    seconds = particle_steps * modes * ns_per_mode_step * 1e-9
    return {"name": case.name, "realisations": case.realisations, "t_over_tau_s": case.t_over_tau_s,
            "nside": case.nside, "particles": particles, "steps": int(steps[-1]), "modes": modes,
            "particle_steps": particle_steps, "mode_steps": particle_steps * modes,
            "core_hours": seconds / 3600.0}


# ---------------------------------------------------------------------------------------------------- driver
def run_campaign(out_dir, grid="reduced", *, executor=None, seed: int = DEFAULT_SEED, checkpoint_dir=None,
                 cases=None, progress: bool = False, theory: bool = True, figures: bool = True) -> dict:
    """Run (or resume) every case of ``grid`` and write the campaign outputs into ``out_dir``.

    Parameters
    ----------
    out_dir : path
    grid : {"full", "reduced", "nside32", "quick"} or sequence of CampaignCase
    executor : concurrent.futures.Executor, optional
        Runs the realisations; one with ``device = "gpu"``
        (:class:`validation.simulator.gpu.driver.DeviceExecutor`) pushes the particles on the GPU, and
        ``campaign.json`` records that device (its CPU time then does not measure the work).
    seed : int
        Root seed; case ``i`` of the grid uses ``SeedSequence(seed)``'s child ``i`` as its root.
    checkpoint_dir : path, optional
        Per-case realisation stores (default ``out_dir/checkpoints``); rerunning resumes.
    cases : sequence of str, optional
        Only these case names.
    theory : bool
        Compute the current theory's χ² per case.
    figures : bool

    Returns
    -------
    dict
        The content of ``campaign.json``.

    Examples
    --------
    >>> payload = run_campaign("campaign-quick", "quick")  # doctest: +SKIP
    >>> [case["name"] for case in payload["cases"]]  # doctest: +SKIP
    ['slab_eta0.5_rho1', 'isotropic_eta0.5_rho1']
    """
    from .simulator import ensemble

    if isinstance(grid, str):
        if grid not in GRIDS:
            raise ParameterError("grid", f"must be one of {', '.join(GRIDS)}, got {grid!r}")
        grid_name, grid_cases = grid, GRIDS[grid]
    else:
        grid_name, grid_cases = "custom", tuple(grid)
    seed = require_integer("seed", seed, 0)
    if cases:
        known = {case.name for case in grid_cases}
        unknown = [name for name in cases if name not in known]
        if unknown:
            raise ParameterError("cases", f"unknown case {unknown[0]!r}; this grid has {', '.join(sorted(known))}")
    out_dir = Path(out_dir)
    device = getattr(executor, "device", "cpu")  # validation.simulator.gpu.driver.DeviceExecutor: "gpu"
    checkpoints = Path(checkpoint_dir) if checkpoint_dir is not None else out_dir / "checkpoints"
    start = time.perf_counter()
    results, timings = [], []
    for index, case in enumerate(grid_cases):
        if cases and case.name not in cases:
            continue
        configs = case_configs(case)
        root = ensemble.realisation_seed(seed, index)
        cpu_start = time.process_time()
        run = ensemble.run(campaign_realisation, configs, root, case.realisations, executor,
                           checkpoints / case.name / "ensemble.h5", progress=progress,
                           run_attributes={"campaign": grid_name, "case": case.name})
        # CPU time of this process measures the work only when the realisations run here on the CPU (serial
        # executor, not the GPU's); on a shared machine the wall time would count other users' load
        in_process = (executor is None or isinstance(executor, ensemble.SerialExecutor)) and device == "cpu"
        cpu = time.process_time() - cpu_start if in_process else None
        timing = _update_timing(checkpoints / case.name / "timing.json", run, configs, cpu)
        results.append({**analyse_case(case, run, configs, theory=theory),
                        "simulation_seconds": timing["seconds"], "simulation_cpu_seconds": timing.get("cpu_seconds")})
        if timing.get("cpu_seconds") is not None:
            timings.append((timing["mode_steps"], timing["cpu_seconds"]))
    wall = time.perf_counter() - start
    mode_steps = sum(m for m, _ in timings)
    measured = (sum(t for _, t in timings) / mode_steps * 1e9) if mode_steps > 0 else None
    ns = measured if measured is not None else FALLBACK_NS_PER_MODE_STEP
    cost = [estimate_cost(case, ns) for case in FULL_GRID]
    payload = {
        "package_version": __version__,
        "grid": grid_name,
        "seed": seed,
        "device": device,
        "wall_seconds": wall,
        # over every run that computed realisations of these cases (resumed runs add up), simulation only
        "simulation_wall_seconds_total": float(sum(item["simulation_seconds"] for item in results)),
        # None when a case's realisations ran in worker processes: their CPU time is not seen from here
        "simulation_cpu_seconds_total": (None if any(item["simulation_cpu_seconds"] is None for item in results)
                                         else float(sum(item["simulation_cpu_seconds"] for item in results))),
        "ns_per_mode_step_measured": measured,
        "throughput_note": "CPU time of the serial campaign process per mode per particle-step (map + pairs)",
        "ns_per_mode_step_used": ns,
        "cases": results,
        "full_grid_cost": cost,
        "full_grid_core_hours": float(sum(item["core_hours"] for item in cost)),
        "this_grid_cost": [estimate_cost(case, ns) for case in grid_cases],
        "notes": ("cl_ratio = C_l/C_1 for l = 2..min(nside, 2 nside) at the last time with its delta-method "
                  "covariance of the ensemble means; chi2/dof: diagonal errors on the usable multipoles against the "
                  "current theory (finite-time evolution, default pair time, same discrete modes); kappa in c L_c; "
                  "times in L_c/c"),
    }
    _write_outputs(out_dir, payload, figures)
    return payload


def _update_timing(path: Path, run, configs, cpu_seconds) -> dict:
    """Accumulate the wall and CPU seconds and the mode-steps of a case over resumed runs (for the throughput).

    ``cpu_seconds`` None (realisations computed elsewhere) drops the CPU record of the case.
    """
    import json

    timing = (json.loads(path.read_text()) if path.exists()
              else {"seconds": 0.0, "cpu_seconds": 0.0, "mode_steps": 0, "realisations": 0})
    if run.computed:
        modes = configs["map"].turbulence.n_modes
        timing["seconds"] += float(run.wall_seconds)
        if cpu_seconds is None or timing.get("cpu_seconds") is None:
            timing["cpu_seconds"] = None
        else:
            timing["cpu_seconds"] += float(cpu_seconds)
        timing["mode_steps"] += int(np.asarray(run.mean["particle_steps"])) * len(run.computed) * modes
        timing["realisations"] += len(run.computed)
        write_json(path, timing)
    return timing


def _write_outputs(out_dir: Path, payload: dict, figures: bool) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    # compact: an indented file puts every number on its own line (~2x the size)
    write_json(out_dir / "campaign.json", payload, nonfinite_as_null=True, indent=None)
    header = ("name", "turbulence", "eta", "rigidity", "realisations", "t_over_tau_s", "nside", "k_max_r_g",
              "c1_ratio_sim", "kappa_par", "kappa_perp", "chi2", "dof", "converged_ells", "usable_ells",
              "simulation_cpu_seconds", "wall_seconds")
    _write_csv(out_dir / "cases.csv", header,
               [[_cell(item.get(key)) for key in header] for item in payload["cases"]])
    cost_header = ("name", "realisations", "t_over_tau_s", "nside", "particles", "steps", "modes", "mode_steps",
                   "core_hours")
    _write_csv(out_dir / "cost.csv", cost_header,
               [[_cell(item[key]) for key in cost_header] for item in payload["full_grid_cost"]])
    figure_names = _figures(out_dir, payload) if figures else []
    _write_readme(out_dir, payload, figure_names)


def _cell(value):
    if isinstance(value, (list, tuple, np.ndarray)):
        return " ".join(str(int(v)) for v in value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else value


def _write_csv(path: Path, header, rows) -> None:
    with atomic_output(path) as temporary, open(temporary, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _figures(out_dir: Path, payload: dict) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    for item in payload["cases"]:
        figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        ells = np.asarray(item["ells"])
        errors = np.sqrt(np.clip(np.diag(np.asarray(item["cl_ratio_covariance"])), 0.0, None))
        left.errorbar(ells, item["cl_ratio"], errors, fmt="o", ms=3, label="simulation")
        if item.get("theory"):
            theory = np.asarray(item["theory"]["ratio"])
            chi2 = "n/a" if item.get("chi2") is None else f"{item['chi2']:.3g}/{item['dof']}"
            left.plot(ells, theory[ells], "-", label=f"theory, default ΔT (χ² {chi2})")
        left.set_yscale("log")
        left.set_xlabel(r"$\ell$")
        left.set_ylabel(r"$C_\ell/C_1$")
        left.set_title(f"{item['name']}: T = {item['t_over_tau_s']:.2g} τs, N = {item['realisations']}")
        left.legend(fontsize=8)
        pairs = item["pairs"]
        for age in range(1, len(pairs["ages"])):
            right.plot(pairs["cosines"], np.asarray(pairs["drift"])[age], label=f"t = {pairs['ages'][age]:.3g}")
        right.set_xlabel("x")
        right.set_ylabel(r"drift $\langle x' - x\rangle$")
        right.legend(fontsize=7)
        figure.tight_layout()
        name = f"{item['name']}.png"
        with atomic_output(out_dir / name) as temporary:
            figure.savefig(temporary, format="png", dpi=90)
        plt.close(figure)
        names.append(name)
    return names


def _with_error(value, error) -> str:
    # campaigns written before c1_ratio_sim_error existed have no error to show
    return f"{value:.3g}" if error is None else f"{value:.3g} ± {error:.2g}"


def _write_readme(out_dir: Path, payload: dict, figure_names) -> None:
    full = FULL_GRID[0]
    cpu_total = payload.get("simulation_cpu_seconds_total")
    cpu_text = ("CPU time not recorded (realisations computed in worker processes)" if not cpu_total
                else f"{cpu_total:.0f} s CPU on one core")
    throughput_text = ("measured: CPU time of the serial run, map and pair particles together"
                       if payload.get("ns_per_mode_step_measured") is not None
                       else "not measured in this run: the package's fallback value, measured on one core")
    lines = [
        "# Validation campaign (issue 11)",
        "",
        f"Grid `{payload['grid']}`, seed {payload['seed']}, cr-anisotropy {payload['package_version']}. Campaign "
        f"time (simulation, summed over the runs that computed it): {payload['simulation_wall_seconds_total']:.0f} s "
        f"wall on a shared 2-core machine, {cpu_text}; this "
        f"last run took {payload['wall_seconds']:.0f} s (realisations resumed from checkpoints cost nothing).",
        f"Throughput {payload['ns_per_mode_step_used']:.3g} ns per mode per particle-step ({throughput_text}).",
        "Regenerate: `cr-anisotropy validate --campaign --grid " + payload["grid"] + " --out DIR` (resumes from "
        "checkpoints in `DIR/checkpoints`, or `--checkpoint-dir`).",
        "",
        f"Required by the issue: ≥ {full.realisations} realisations, T ≥ {full.t_over_tau_s:g} τs, N_side ≥ "
        f"{full.nside}, k_max r_g ≥ 10. Columns N and T/τs say what each case reached (τs: slab QLT, "
        "`tau_s_qlt`; T/τs measured uses τs = 3κ∥(T)/c² from the simulated dipole at the last T, the running value, "
        "which underestimates τs while κ∥ still grows). C1/((4π/9)δ²): ± the delta-method error of "
        "`validation.compare.dipole_power_ratio` where recorded (an overestimate). χ²/dof: the current theory "
        "(finite-time mixing-matrix ODE at its default pair time, same discrete modes) on C_ℓ/C_1 over the "
        "multipoles above 10× the white-noise floor (diagonal errors); n/a: no multipole ℓ ≥ 2 above it. "
        "Converged ℓ: usable and changed by less than "
        "10 % + 2σ over the last interval. Pair statistics (mixing matrix, drift and spread of x′ − x, equal- and "
        "two-time direction correlations along and across B0) are under `pairs` in `campaign.json`; "
        "`pairs.identity_check` compares the pair C_ℓ with the map C_ℓ in the same realisations.",
        "",
        "| case | N | T/τs | T/τs measured | N_side | k_max r_g | C1/((4π/9)δ²) | κ∥ | κ⊥ | χ²/dof (default ΔT) "
        "| converged ℓ | CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for item in payload["cases"]:
        chi2 = f"{item['chi2']:.3g}/{item['dof']}" if item.get("chi2") is not None else "n/a"
        cpu = item.get("simulation_cpu_seconds")
        lines.append(f"| {item['name']} | {item['realisations']} | {item['t_over_tau_s']:.3g} | "
                     f"{item['t_over_tau_s_measured']:.3g} | {item['nside']} | "
                     f"{item['k_max_r_g']:.3g} | {_with_error(item['c1_ratio_sim'], item.get('c1_ratio_sim_error'))} | "
                     f"{item['kappa_par']:.3g} | "
                     f"{item['kappa_perp']:.3g} | {chi2} | {_cell(item['converged_ells'])} | "
                     f"{'' if cpu is None else f'{cpu:.0f}'} |")
    lines += ["", f"Full grid ({len(FULL_GRID)} cases, {full.realisations} realisations, {full.t_over_tau_s:g} τs, "
              f"N_side {full.nside}, {full.pair_nodes} pair nodes × {full.pairs} pairs) at the measured throughput: "
              f"{payload['full_grid_core_hours']:.3g} core-hours (`cost.csv`).", "",
              "| case | N | T/τs | particles | steps | modes | core-hours |", "|---|---|---|---|---|---|---|"]
    for item in payload["full_grid_cost"]:
        lines.append(f"| {item['name']} | {item['realisations']} | {item['t_over_tau_s']:g} | {item['particles']} | "
                     f"{item['steps']} | {item['modes']} | {item['core_hours']:.3g} |")
    if figure_names:
        lines += ["", "Figures (C_ℓ/C_1 against the theory; drift of x′ − x): "
                  + ", ".join(f"[{name}]({name})" for name in figure_names)]
    with atomic_output(out_dir / "README.md") as temporary:
        Path(temporary).write_text("\n".join(lines) + "\n", encoding="utf-8")
