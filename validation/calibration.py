r"""Calibration of the pair time :math:`\Omega\Delta T = a(\Omega\tau_s)^p` against the test-particle simulator.

docs/physics/mixing_ode.md#pair-time, docs/physics/pair_rates.md, docs/physics/simulator.md.  The mixing-matrix theory
(:class:`anisotropy.pair_rates.PairRate`) needs the pair
decorrelation time :math:`\Delta T`; the scaling argument (docs/physics/mixing_ode.md#pair-time, eq. (4.5)) gives
:math:`\Omega\Delta T\propto
(\Omega\tau_s)^{1/3}` with an O(1) prefactor :math:`a` to be fixed by simulation.  This module

1. runs, per case (turbulence kind, :math:`\eta`, :math:`\rho = r_g/L_c`), an ensemble of backtracking
   realisations (:func:`validation.simulator.backtrack.anisotropy_realisation` through
   :func:`validation.simulator.ensemble.run`) with
   :math:`\mathbf G\parallel\mathbf B_0` (slab QLT has :math:`\kappa_\perp = 0`, so the source is
   :math:`\kappa_\parallel G^2`), no :math:`K` term in eq. (3.1) (so no transport coefficient is assumed in the
   simulation), and :math:`T` up to a few QLT scattering times;
2. checks the simulator against an exact identity first.  For a static, statistically homogeneous field the
   uniform phase-space distribution is stationary, so with isotropic arrival directions both the mean backtracked
   displacement along the arrival direction and the mean squared displacement are integrals of the same velocity
   autocorrelation (Taylor-Green-Kubo): :math:`\delta_z(T)/3 = \langle n_z R_z(T)\rangle = \int_0^T
   \langle v_z(0)v_z(t)\rangle dt = d_\parallel(T) = \tfrac12 d\langle R_z^2\rangle/dT` at **every** T (v = c = 1,
   :math:`\delta` the map's dipole vector, docs/physics/conventions.md#angular-power-spectrum,
   docs/physics/simulator.md#liouville-mapping).  As :math:`T\to\infty` this is
   docs/physics/simulator.md#liouville-mapping,
   :math:`\langle\boldsymbol\delta\rangle = 3K\cdot\mathbf G/v`; it holds for any pitch-angle scattering law.
   The slab-QLT :math:`\kappa_\parallel` is reported next to the measured one (not an exact check);
3. fits, per case, :math:`\Omega\Delta T` by matching the simulated shape :math:`\langle C_\ell\rangle/\langle
   C_1\rangle`, ℓ ≥ 2 at the last time, within the usable range of :func:`validation.compare.usable_multipoles`
   (converged multipoles only, when there are any), to the theory on **the same discrete modes** (PairRate with
   ``pair_time`` free).  Two comparisons (:data:`COMPARISONS`):

   * ``finite_time`` (primary, used for the calibration): the ODE evolved from :math:`C = 0` to the simulation's
     last :math:`T` with the source history of the backtracking, :math:`S(t)\propto d_\parallel(t)`, taken from
     the simulation's own :math:`\delta_z(T)/3` (step 2).  This is like for like: the simulated
     :math:`C_{\ell\ge2}(T)` are still growing at the last T (measured: 25-60 % per factor 1.65 in T), and the
     theory's steady state drifts with ℓmax (:data:`THEORY_LMAX`), while the finite-T evolution converges in ℓmax
     much better.  ΔT is a property of the rate k(x), so the a fitted here is the one the steady state uses too;
   * ``steady_state``: what :func:`anisotropy.predict_cl` returns, for reference.

   The shape does not depend on :math:`K` or :math:`|G|`, so no diffusion coefficient enters the fit;
4. fits :math:`\ln\Omega\Delta T = \ln a + p\ln\Omega\tau_s` (weighted least squares, :func:`fit_power_law`) and,
   at fixed :math:`p = 1/3`, :math:`a\pm\sigma_a` (:func:`fit_prefactor`); the 1/3-exponent test is
   :math:`(p-1/3)/\sigma_p`.

:math:`\Omega\tau_s` is the model's own (``PairRate.params["omega_tau_s"]``: slab QLT for ``slab`` and for
``isotropic`` with B0, the Markov ballistic value for ``isotropic`` with η = 1), so the fitted :math:`a` is the one
:func:`anisotropy.predict_cl` uses.  The fit with the *measured* :math:`\tau_s = 3\kappa_\parallel/v^2` is
reported next to it.  The simulator's ``isotropic`` turbulence always has a regular field (η < 1); it is compared
with the isotropic model **with B0** (:meth:`anisotropy.pair_rates.PairRate.isotropic` with its η: helical orbits,
the isotropic tensor in the interaction picture), and the global fits are made per turbulence kind.

Units: simulator times :math:`cT/L_c`; theory times :math:`1/\Omega` with :math:`\Omega = c/r_g`, so
:math:`\Omega T = (cT/L_c)/\rho`.

Error model of every comparison: :mod:`validation.compare` (ensemble scatter; cosmic variance as a diagnostic;
white-noise floor and :math:`N_\mathrm{side}` cuts).  The fits use the diagonal χ² of the ratios.  The ratios are
correlated across ℓ (mostly through the common :math:`C_1`, whose relative error of 5-15 % is comparable to the
ratios' at ℓ ≳ 5; measured mean correlation 0.4-0.5 at η = 0.5), so next to it the χ² at the best fit with the full
delta-method covariance is reported, with the Hartlap factor :math:`(N-n-2)/(N-1)` for an inverse sample covariance
from N realisations and n multipoles (only when N > n + 2).
"""

from __future__ import annotations

import functools
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy import optimize, stats

from anisotropy.errors import ParameterError, require_range
from anisotropy.io import atomic_output, write_json

from . import compare

__all__ = [
    "COMPARISONS",
    "FULL_CASES",
    "PRIMARY_COMPARISON",
    "QUICK_CASES",
    "CalibrationCase",
    "PairTimeFit",
    "PowerLawFit",
    "calibration_realisation",
    "case_config",
    "fit_pair_time",
    "fit_power_law",
    "fit_prefactor",
    "fit_running_diffusion",
    "pair_time_bounds",
    "run_calibration",
    "theory_ratio",
]

#: L_min/L_max of the simulated and theoretical spectra: k_max r_g = 13 at ρ = 0.1 resolves the gyro-resonance
#: (docs/physics/simulator.md#plane-wave-field: k_max r_g ≳ 10) and keeps the Boris step at min(r_g/30, L_min/5)
#: affordable
LMIN_OVER_LMAX = 1e-2
#: modes per decade, shared by simulator and theory.  Fewer than 256 (docs/physics/conventions.md#turbulence-modes) (for
#: diffusion work) to fit the budget;
#: fairness does not suffer because the theory is evaluated exactly on the same discrete modes
MODES_PER_DECADE = 64
#: ℓmax of the theory (absorbing boundary).  The slab rate on a finite k_max converges slowly in ℓmax.  Measured at
#: η = 0.5 and the best-fit ΩΔT: the finite-T C_2..9/C_1 rise by 5-25 % from ℓmax 96 to 768 with shrinking steps
#: (ρ = 0.3, ℓ = 7: +9, +7, +4 % per doubling); the steady state drifts more (ρ = 0.1, ΩΔT = 5.8: C_2..8/C_1 +24 %
#: from 96 to 384).  384 costs < 1 s per evaluation; the change at 2× is reported per case
THEORY_LMAX = 384
#: the two theory-simulation comparisons: the evolution to the simulation's last T with its measured source history
#: (primary: same T, no convergence assumption) and the steady state (what predict_cl returns)
COMPARISONS = ("finite_time", "steady_state")
PRIMARY_COMPARISON = "finite_time"
#: |z| below which a multipole counts as agreeing with the best-fit theory (two-sided 2σ; reported, not a fit cut)
AGREEMENT_Z = 2.0
#: search range of ΩΔT for the per-case fit (the upper end is further capped by MAX_PAIR_PHASE, and for isotropic
#: turbulence with B0 by MAX_REGULAR_FIELD_PAIR_TIME)
PAIR_TIME_RANGE = (0.05, 200.0)
#: largest ΩΔT searched for isotropic turbulence with B0: its pair rate is a 4D quadrature whose cost grows like
#: (ΩΔT)² (~0.5 s at ΩΔT = 5, ~10 s at 40 for ρ = 1, 128 modes); a best fit at this end is flagged non-interior
MAX_REGULAR_FIELD_PAIR_TIME = 40.0
#: pair rates kept per process (the two comparisons scan the same coarse ΩΔT grid)
RATE_CACHE_SIZE = 64
#: time-panel resolution of the isotropic model with B0 in the fits (PairRate.isotropic ``resolution``): 0.5 costs
#: 2-3× less than the default 1 and moves the finite-T C_2..11/C_1 by ≤ 0.15 % (measured against resolution 2 at
#: ρ, ΩΔT = (1, 5), (0.1, 20), (0.3, 30)), far below the 5-15 % statistical errors of the ratios
REGULAR_FIELD_RESOLUTION = 0.5
#: largest k_max r_g ΩΔT searched: the pair-rate series has ~k_max r_g ΩΔT terms (anisotropy.pair_rates
#: MAX_SERIES_LENGTH = 16384) and costs ~1 s per evaluation at 8000
MAX_PAIR_PHASE = 8000.0
#: grid points of the coarse ΩΔT scan (log-spaced) before the bounded refinement
PAIR_TIME_GRID = 15
#: Δχ² = 1 defines the 68 % interval of the one-parameter fit (Gaussian errors)
DELTA_CHI2 = 1.0
#: the exponent of the scaling argument, docs/physics/mixing_ode.md#pair-time, eq. (4.5)
SCALING_EXPONENT = 1.0 / 3.0
#: default root seed of the calibration runs (recorded in the output and in anisotropy.calibration)
DEFAULT_SEED = 20261124


@dataclass(frozen=True)
class CalibrationCase:
    """One simulated setting: turbulence kind, η, ρ = r_g/L_c, map resolution, ensemble size and T range.

    ``time_factor`` is the last backtracking time in units of the theory's scattering time τ_s (slab QLT for both
    kinds, a time scale only); ``n_times`` log-spaced times from τ_s/4.
    """

    kind: str
    eta: float
    reduced_rigidity: float
    nside: int
    realisations: int
    time_factor: float = 5.0
    n_times: int = 7

    @property
    def name(self) -> str:
        return f"{self.kind}_eta{self.eta:g}_rho{self.reduced_rigidity:g}"


#: quick (default test and `validate --quick`) cases: slab, η = 0.5 (δB = B0: the cheapest, since τ_s ∝ 1/η sets the
#: cost), three rigidities spanning k_min r_g = 0.13..1.3; ~1.5 min serial.  η = 0.1 needs N_side ≥ 32 (its
#: C_ℓ/C_1 are ~3× lower, under 10× the white-noise floor at N_side 16: measured C_2/C_1 = 0.045 vs floor 0.006 at
#: ρ = 0.3) and is in the full set only
QUICK_CASES = (
    CalibrationCase("slab", 0.5, 0.1, 16, 6, 4.0),
    CalibrationCase("slab", 0.5, 0.3, 16, 6, 4.0),
    CalibrationCase("slab", 0.5, 1.0, 16, 6, 4.0),
)
#: full cases (~25 min serial at ~250 ns per particle-step before the isotropic η = 0.2 set): slab at η = 0.5 and
#: 0.1, three rigidities each, N_side 32 (white-noise floor 4× below N_side 16); η = 0.1 runs to 3 QLT scattering
#: times (≈ 5 measured ones: slab QLT overestimates κ_∥ there by ~1.6×); isotropic turbulence with B0 at η = 0.5
#: and 0.2 (η = 0.2 rather than 0.1: its runs are 3.7× the η = 0.5 ones instead of 8×), three rigidities each,
#: against the isotropic model with B0.  Added by the isotropic ρ = 0.1 and η = 0.2 cases, from the timings of the
#: previous full run (isotropic η = 0.5: 11 s at ρ = 0.3, 16 s at ρ = 1 with 12 realisations on 2 workers; slab
#: ρ = 0.1: 45 s with 24): ~22 + 3.7 × (22 + 11 + 16) ≈ 200 s of simulation, plus the theory fits
FULL_CASES = (
    CalibrationCase("slab", 0.5, 0.1, 32, 24, 5.0),
    CalibrationCase("slab", 0.5, 0.3, 32, 24, 5.0),
    CalibrationCase("slab", 0.5, 1.0, 32, 24, 5.0),
    CalibrationCase("slab", 0.1, 0.1, 32, 8, 3.0),
    CalibrationCase("slab", 0.1, 0.3, 32, 8, 3.0),
    CalibrationCase("slab", 0.1, 1.0, 32, 8, 3.0),
    CalibrationCase("isotropic", 0.5, 0.1, 32, 12, 5.0),
    CalibrationCase("isotropic", 0.5, 0.3, 32, 12, 5.0),
    CalibrationCase("isotropic", 0.5, 1.0, 32, 12, 5.0),
    CalibrationCase("isotropic", 0.2, 0.1, 32, 12, 5.0),
    CalibrationCase("isotropic", 0.2, 0.3, 32, 12, 5.0),
    CalibrationCase("isotropic", 0.2, 1.0, 32, 12, 5.0),
)


# ---------------------------------------------------------------------------------------------------- simulation
def qlt_scattering_time(case: CalibrationCase) -> float:
    r"""Slab QLT :math:`\tau_s = 3\kappa_\parallel/c^2` in :math:`L_c/c` (docs/physics/transport.md#slab-qlt), the run's
    time scale."""
    from anisotropy.transport import parallel_diffusion

    return 3.0 * parallel_diffusion(case.reduced_rigidity, min(case.eta, 0.999), lmin_over_lmax=LMIN_OVER_LMAX)


def case_config(case: CalibrationCase):
    """The :class:`validation.simulator.config.AnisotropyConfig` of a case (G ∥ B0, no K term, log-spaced T)."""
    from .simulator.config import AnisotropyConfig, TurbulenceConfig

    tau = qlt_scattering_time(case)
    times = tuple(float(t) for t in np.round(np.geomspace(0.25 * tau, case.time_factor * tau, case.n_times), 6))
    turbulence = TurbulenceConfig(kind=case.kind, eta=case.eta, lmin_over_lmax=LMIN_OVER_LMAX,
                                  modes_per_decade=MODES_PER_DECADE)
    return AnisotropyConfig(turbulence=turbulence, reduced_rigidity=case.reduced_rigidity, nside=case.nside,
                            times=times, gradient_angle=0.0)


def calibration_realisation(config, seed) -> dict:
    r"""One realisation with the moments the comparison needs (module-level, so it pickles to workers).

    Adds to :func:`validation.simulator.backtrack.anisotropy_realisation`'s output ``cl_products`` (n_T, L, L)
    :math:`\hat C_\ell\hat C_{\ell'}` (for the covariance across realisations) and ``cl_change`` (n_T, L), the
    change of :math:`\hat C_\ell` since the previous time (row 0 zero), whose ensemble scatter gives the error of
    the convergence test; ``second_moment`` (n_T,) :math:`\langle\delta f^2\rangle_\mathrm{sky}` = variance +
    mean², from which the running :math:`\kappa_\parallel` follows (docs/physics/source.md#total-power).
    """
    from .simulator.backtrack import anisotropy_realisation

    result = anisotropy_realisation(config, seed)
    cl = result["cl"]
    result["cl_products"] = cl[:, :, None] * cl[:, None, :]
    change = np.zeros_like(cl)
    change[1:] = np.diff(cl, axis=0)
    result["cl_change"] = change
    # anafast C_0 = 4π mean² for the map mean (a_00 = √(4π)·mean)
    second_moment = result["map_variance"] + cl[:, 0] / (4.0 * math.pi)
    result["second_moment"] = second_moment
    # Kubo identity (module docstring, step 2), per interval [T_{k-1}, T_k]: the interval mean of the running
    # d_par = ½ dM2/dT against the trapezoid mean of δ_z/3; row 0 (no interval) is zero
    times = result["times"]
    running = np.zeros_like(second_moment)
    running[1:] = np.diff(second_moment) / (2.0 * np.diff(times))
    dipole_third = result["dipole"][:, 2] / 3.0
    dipole_mid = np.zeros_like(second_moment)
    dipole_mid[1:] = 0.5 * (dipole_third[1:] + dipole_third[:-1])
    result["running_kappa"] = running
    result["dipole_kappa_mid"] = dipole_mid
    result["kubo_difference"] = running - dipole_mid
    return result


# ---------------------------------------------------------------------------------------------------- theory
@functools.lru_cache(maxsize=RATE_CACHE_SIZE)
def _rate(kind, reduced_rigidity, eta, pair_time):
    """The pair-rate model of a case on the simulator's modes: slab (4.6a) or isotropic with the case's η (B0)."""
    from anisotropy.pair_rates import PairRate

    if kind == "slab":
        return PairRate.slab(reduced_rigidity, eta, lmin_over_lmax=LMIN_OVER_LMAX, modes_per_decade=MODES_PER_DECADE,
                             pair_time=pair_time)
    if kind == "isotropic":
        return PairRate.isotropic(reduced_rigidity, eta=eta, lmin_over_lmax=LMIN_OVER_LMAX,
                                  modes_per_decade=MODES_PER_DECADE, pair_time=pair_time,
                                  resolution=REGULAR_FIELD_RESOLUTION)
    raise ParameterError("kind", f"must be 'slab' or 'isotropic', got {kind!r}")


def model_scattering_time(kind: str, reduced_rigidity: float, eta: float) -> float:
    r"""The model's :math:`\Omega\tau_s` (what ``pair_time_prefactor`` multiplies), PairRate.params."""
    return float(_rate(kind, reduced_rigidity, eta, 1.0).params["omega_tau_s"])


def pair_time_bounds(reduced_rigidity: float, kind: str = "slab", eta: float = 0.5) -> tuple[float, float]:
    """Search range of ΩΔT: :data:`PAIR_TIME_RANGE` capped at k_max r_g ΩΔT ≤ :data:`MAX_PAIR_PHASE`, and at
    :data:`MAX_REGULAR_FIELD_PAIR_TIME` for isotropic turbulence with B0 (η < 1)."""
    from anisotropy.spectrum import kolmogorov_modes

    wavenumbers, _ = kolmogorov_modes(LMIN_OVER_LMAX, MODES_PER_DECADE)
    cap = MAX_PAIR_PHASE / (float(wavenumbers[-1]) * reduced_rigidity)
    if kind == "isotropic" and eta < 1.0:
        cap = min(cap, MAX_REGULAR_FIELD_PAIR_TIME)
    return PAIR_TIME_RANGE[0], min(PAIR_TIME_RANGE[1], cap)


def theory_ratio(kind: str, reduced_rigidity: float, eta: float, pair_time: float, lmax: int = THEORY_LMAX, *,
                 omega_time: float | None = None, source_time: float | None = None):
    r""":math:`C_\ell/C_1`, ℓ = 0..lmax, of the mixing-matrix ODE for :math:`\Omega\Delta T` = ``pair_time``.

    docs/physics/mixing_ode.md#ode with the pair rate of 4.6a (slab) or of isotropic turbulence with the case's B0
    (:meth:`anisotropy.pair_rates.PairRate.isotropic`) on the simulator's modes.  Without
    ``omega_time``: the steady state (what :func:`anisotropy.predict_cl` computes).  With it: the evolution from
    :math:`C = 0` to :math:`\Omega T` = ``omega_time`` (:func:`anisotropy.solver.evolve`) under the source of a
    backtracking started at :math:`T = 0`, :math:`S(t)\propto d_\parallel(t)` (the running diffusion coefficient;
    docs/physics/toy_model.md#toy-model has the same form, :math:`K(1-e^{-\nu_1T})`), modelled as :math:`1 -
    e^{-t/\tau_d}` with
    :math:`\Omega\tau_d` = ``source_time`` (only the shape of S matters for a ratio; measured at the best fits of
    the full run, scaling :math:`\tau_d` by 0.5 or 2 moves :math:`C_{2..7}/C_1` by at most 6 %).  ``[0]`` is nan.
    """
    from anisotropy.mixing import rate_matrix
    from anisotropy.solver import evolve, steady_state

    rate = _rate(kind, reduced_rigidity, eta, pair_time)
    gamma = rate_matrix(rate, lmax)
    if omega_time is None:
        cl = steady_state(gamma, source=1.0)
    else:
        scale = require_range("source_time", source_time, 0.0, None, low_open=True)
        cl = evolve(gamma, lambda t: -math.expm1(-t / scale), [omega_time])[0]
        cl[0] = np.nan
    return cl / cl[1]


def fit_running_diffusion(times, kappa) -> dict:
    r"""Least-squares :math:`d_\parallel(T) = \kappa_\infty(1 - e^{-T/\tau_d})` to the measured running coefficient.

    Returns ``kappa_inf``, ``tau`` (units of ``times``) and ``max_relative_residual`` (how well the two-parameter
    form describes the measurement; it enters :func:`theory_ratio` as the source history).
    """
    times = np.asarray(times, dtype=float)
    kappa = np.asarray(kappa, dtype=float)

    def form(t, amplitude, scale):
        return amplitude * -np.expm1(-t / scale)

    guess = (float(kappa[-1]), float(times[np.argmin(np.abs(kappa - 0.63 * kappa[-1]))]))
    (amplitude, scale), _ = optimize.curve_fit(form, times, kappa, p0=guess, bounds=([0.0, 1e-9], [np.inf, np.inf]))
    residual = np.max(np.abs(form(times, amplitude, scale) / kappa - 1.0))
    return {"kappa_inf": float(amplitude), "tau": float(scale), "max_relative_residual": float(residual)}


@dataclass(frozen=True)
class PairTimeFit:
    r"""Best-fit :math:`\Omega\Delta T` of one case and its 68 % interval (Δχ² = 1).

    ``interior`` is False when the minimum sits at an end of :data:`PAIR_TIME_RANGE` (the theory cannot match the
    shape at any ΔT there; the case is then left out of the global fit).
    """

    pair_time: float
    lower: float
    upper: float
    chi2: float
    dof: int
    p_value: float
    interior: bool
    scan: list = field(default_factory=list)

    @property
    def sigma_log(self) -> float:
        """Symmetrised error of :math:`\\ln\\Omega\\Delta T`."""
        return 0.5 * (math.log(self.upper) - math.log(self.lower))


def fit_pair_time(ells, ratio, sigma, model, *, bounds=PAIR_TIME_RANGE, grid: int = PAIR_TIME_GRID) -> PairTimeFit:
    r"""Minimise :math:`\chi^2(\Omega\Delta T) = \sum_\ell [(R_\ell - R^\mathrm{th}_\ell(\Delta T))/\sigma_\ell]^2`.

    Parameters
    ----------
    ells : array of int
        Multipoles compared.
    ratio, sigma : array
        Simulated :math:`C_\ell/C_1` and its standard error at ``ells``.
    model : callable
        ``model(pair_time) -> array`` of :math:`C_\ell/C_1` indexed by ℓ (e.g. :func:`theory_ratio`).
    bounds : (float, float)
        Search range of :math:`\Omega\Delta T`.
    grid : int
        Points of the log-spaced coarse scan.

    Returns
    -------
    PairTimeFit
        The interval ends are where :math:`\chi^2 = \chi^2_\min + 1` (clipped to ``bounds``).
    """
    ells = np.asarray(ells, dtype=int)
    ratio = np.asarray(ratio, dtype=float)
    sigma = np.asarray(sigma, dtype=float)
    if ells.size < 1 or ratio.shape != ells.shape or sigma.shape != ells.shape or np.any(sigma <= 0):
        raise ParameterError("sigma", "needs one positive error per multipole (at least one multipole)")
    low, high = (math.log(require_range("bounds", value, 0.0, None, low_open=True)) for value in bounds)
    cache: dict[float, float] = {}

    def chi2(log_time: float) -> float:
        key = round(float(log_time), 10)
        if key not in cache:
            predicted = np.asarray(model(math.exp(key)), dtype=float)[ells]
            cache[key] = float(np.sum(((ratio - predicted) / sigma) ** 2))
        return cache[key]

    grid_points = np.linspace(low, high, grid)
    values = np.array([chi2(point) for point in grid_points])
    best = int(np.argmin(values))
    bracket = (grid_points[max(best - 1, 0)], grid_points[min(best + 1, grid - 1)])
    refined = optimize.minimize_scalar(chi2, bounds=bracket, method="bounded", options={"xatol": 1e-3})
    log_best = float(refined.x) if refined.fun <= values[best] else float(grid_points[best])
    minimum = chi2(log_best)
    interior = 0 < best < grid - 1

    def crossing(edge: float) -> float:
        if chi2(edge) < minimum + DELTA_CHI2:
            return edge
        return optimize.brentq(lambda x: chi2(x) - minimum - DELTA_CHI2, *sorted((log_best, edge)), xtol=1e-3)

    lower, upper = crossing(low), crossing(high)
    dof = int(ells.size - 1)
    p_value = float(stats.chi2.sf(minimum, dof)) if dof > 0 else float("nan")
    scan = [[math.exp(key), value] for key, value in sorted(cache.items())]
    return PairTimeFit(math.exp(log_best), math.exp(lower), math.exp(upper), minimum, dof, p_value, interior, scan)


@dataclass(frozen=True)
class PowerLawFit:
    r""":math:`\ln\Omega\Delta T = \ln a + p\ln\Omega\tau_s` by weighted least squares.

    ``sigma_*`` are the formal errors from the input :math:`\sigma(\ln\Omega\Delta T)`; ``birge`` is
    :math:`\sqrt{\chi^2/\mathrm{dof}}`, and ``*_scaled`` multiply the errors by ``max(1, birge)`` (the usual
    inflation when the scatter exceeds the stated errors).
    """

    prefactor: float
    sigma_prefactor: float
    exponent: float
    sigma_exponent: float
    correlation: float
    chi2: float
    dof: int
    birge: float

    @property
    def exponent_pull(self) -> float:
        """:math:`(p - 1/3)/\\sigma_p` (formal error)."""
        return (self.exponent - SCALING_EXPONENT) / self.sigma_exponent

    def as_dict(self) -> dict:
        inflation = max(1.0, self.birge) if math.isfinite(self.birge) else 1.0
        return {**asdict(self), "sigma_prefactor_scaled": self.sigma_prefactor * inflation,
                "sigma_exponent_scaled": self.sigma_exponent * inflation,
                "exponent_pull": self.exponent_pull,
                "exponent_pull_scaled": self.exponent_pull / inflation}


def _weights(sigma_log) -> np.ndarray:
    sigma_log = np.asarray(sigma_log, dtype=float)
    if np.any(~np.isfinite(sigma_log)) or np.any(sigma_log <= 0):
        raise ParameterError("sigma_log", "errors of ln ΩΔT must be positive and finite")
    return 1.0 / sigma_log**2


def fit_power_law(omega_tau_s, pair_time, sigma_log) -> PowerLawFit:
    r"""Fit :math:`\Omega\Delta T = a(\Omega\tau_s)^p` in logarithms, errors :math:`\sigma(\ln\Omega\Delta T)`.

    Weighted linear least squares with design :math:`[1, \ln\Omega\tau_s]`; parameter covariance
    :math:`(A^\top WA)^{-1}`; :math:`\sigma_a = a\,\sigma(\ln a)` (first order).  Needs ≥ 2 points with distinct
    :math:`\Omega\tau_s` (``dof`` = n − 2; the Birge ratio is nan for n = 2).
    """
    x = np.log(np.asarray(omega_tau_s, dtype=float))
    y = np.log(np.asarray(pair_time, dtype=float))
    weights = _weights(sigma_log)
    if x.size < 2 or x.shape != y.shape or weights.shape != y.shape or np.ptp(x) == 0:
        raise ParameterError("omega_tau_s", "needs >= 2 points with distinct values, one error per point")
    design = np.column_stack([np.ones_like(x), x])
    normal = design.T @ (weights[:, None] * design)
    covariance = np.linalg.inv(normal)
    intercept, exponent = covariance @ (design.T @ (weights * y))
    residual = y - intercept - exponent * x
    chi2 = float(np.sum(weights * residual**2))
    dof = int(x.size - 2)
    birge = math.sqrt(chi2 / dof) if dof > 0 else float("nan")
    prefactor = math.exp(intercept)
    return PowerLawFit(prefactor, prefactor * math.sqrt(covariance[0, 0]), float(exponent),
                       math.sqrt(covariance[1, 1]), float(covariance[0, 1] / math.sqrt(covariance[0, 0] *
                                                                                         covariance[1, 1])),
                       chi2, dof, birge)


def fit_prefactor(omega_tau_s, pair_time, sigma_log, exponent: float = SCALING_EXPONENT) -> dict:
    r"""At fixed exponent: :math:`\ln a = \sum w(\ln\Omega\Delta T - p\ln\Omega\tau_s)/\sum w`,
    :math:`\sigma(\ln a) = (\sum w)^{-1/2}`; returns a, σ_a (formal and Birge-scaled), χ², dof."""
    x = np.log(np.asarray(omega_tau_s, dtype=float))
    y = np.log(np.asarray(pair_time, dtype=float))
    weights = _weights(sigma_log)
    if x.size < 1 or x.shape != y.shape or weights.shape != y.shape:
        raise ParameterError("omega_tau_s", "needs >= 1 point, one error per point")
    log_prefactor = float(np.sum(weights * (y - exponent * x)) / np.sum(weights))
    sigma_log_prefactor = 1.0 / math.sqrt(float(np.sum(weights)))
    chi2 = float(np.sum(weights * (y - exponent * x - log_prefactor) ** 2))
    dof = int(x.size - 1)
    birge = math.sqrt(chi2 / dof) if dof > 0 else float("nan")
    prefactor = math.exp(log_prefactor)
    inflation = max(1.0, birge) if math.isfinite(birge) else 1.0
    return {"prefactor": prefactor, "sigma_prefactor": prefactor * sigma_log_prefactor,
            "sigma_prefactor_scaled": prefactor * sigma_log_prefactor * inflation, "exponent": exponent,
            "chi2": chi2, "dof": dof, "birge": birge}


# ---------------------------------------------------------------------------------------------------- analysis
def _ensemble_spectrum(ensemble, index: int) -> compare.EnsembleSpectrum:
    mean = ensemble.mean["cl"][index]
    products = ensemble.mean["cl_products"][index]
    return compare.EnsembleSpectrum.from_moments(mean, products, ensemble.count)


def analyse_case(case: CalibrationCase, ensemble, config, *, default_prefactor: float,
                 fit_pair_times: bool = True) -> dict:
    """Exact-limit checks, convergence, usable ℓ, best-fit ΩΔT and χ² of one case (module docstring, steps 2-3).

    ``fit_pair_times=False`` stops after the simulation side (checks, ratios, source history): no theory fits.
    """
    times = np.asarray(ensemble.mean["times"])
    rho = case.reduced_rigidity
    last = times.size - 1
    spectrum = _ensemble_spectrum(ensemble, last)
    floor = float(ensemble.mean["noise_floor"][last])
    usable = compare.usable_multipoles(spectrum, floor, case.nside)
    convergence = compare.convergence_in_time(times, ensemble.mean["cl"], ensemble.mean["cl_change"],
                                              ensemble.standard_error["cl_change"])
    usable_converged = np.array([ell for ell in usable if convergence["converged"][ell]], dtype=int)
    ratio = compare.cl_ratio(spectrum)

    # exact identity (module docstring, step 2): δ_z(T)/3 = d_par(T) = ½ dM2/dT, per interval, paired per realisation
    dipole_along_gradient = float(ensemble.mean["dipole"][last][2])
    dipole_error = float(ensemble.standard_error["dipole"][last][2])
    kappa_dipole = dipole_along_gradient / 3.0
    kappa_msd = float(ensemble.mean["running_kappa"][last])
    kubo = ensemble.mean["kubo_difference"][1:]
    kubo_error = ensemble.standard_error["kubo_difference"][1:]
    # slab QLT: the slab model's κ_∥, and the one behind the isotropic-with-B0 model's τ_s (an approximation there)
    kappa_qlt = qlt_scattering_time(case) / 3.0

    omega_tau_model = model_scattering_time(case.kind, rho, case.eta)

    bounds = pair_time_bounds(rho, case.kind, case.eta)

    result = {
        "case": asdict(case),
        "name": case.name,
        "config": config.to_dict(),
        "realisations": int(ensemble.count),
        "times": times.tolist(),
        "omega_times": (times / rho).tolist(),
        "omega_tau_s_model": omega_tau_model,
        "omega_tau_s_measured": 3.0 * kappa_dipole / rho,
        "kappa_parallel": {"qlt": kappa_qlt, "dipole": kappa_dipole, "dipole_error": dipole_error / 3.0,
                           "msd_last_interval": kappa_msd,
                           "msd_last_interval_error": float(ensemble.standard_error["running_kappa"][last])},
        "kubo_check": {"interval_ends": times.tolist(),
                       "running_kappa": ensemble.mean["running_kappa"][1:].tolist(),
                       "dipole_kappa_mid": ensemble.mean["dipole_kappa_mid"][1:].tolist(),
                       "difference": kubo.tolist(), "difference_error": kubo_error.tolist(),
                       "z": (kubo / kubo_error).tolist()},
        "c1": {"simulated": float(spectrum.mean[1]), "error": float(spectrum.standard_error[1]),
               "mean_dipole_power": 4.0 * math.pi * kappa_dipole**2,
               "qlt_dipole_power": 4.0 * math.pi * kappa_qlt**2},
        "noise_floor_over_c1": floor / float(spectrum.mean[1]),
        "cl_time": np.asarray(ensemble.mean["cl"]).tolist(),
        "cl_time_error": np.asarray(ensemble.standard_error["cl"]).tolist(),
        "noise_floor_time": np.asarray(ensemble.mean["noise_floor"]).tolist(),
        "usable_ells": usable.tolist(),
        "converged": [bool(value) for value in convergence["converged"]],
        "relative_change_last_interval": [float(value) for value in convergence["relative_change"]],
        "converged_usable_ells": usable_converged.tolist(),
        "ratio": ratio.ratio.tolist(),
        "ratio_error": ratio.standard_error.tolist(),
        "scatter_over_cosmic_variance": [float(v) for v in compare.scatter_over_cosmic_variance(spectrum)],
        "time_seconds": float(ensemble.wall_seconds),
        "particle_steps": int(np.asarray(ensemble.mean["particle_steps"])) * int(ensemble.count),
    }
    # mean-field part: the ensemble-mean map's own C_ℓ (a regular field makes it axisymmetric but not a pure dipole)
    from .simulator.backtrack import angular_power

    mean_map_power = angular_power(np.asarray(ensemble.mean["maps"][last], dtype=float), 2 * case.nside)
    result["mean_field_ratio"] = (compare.mean_field_power(mean_map_power, spectrum.mean, ensemble.count)
                                  / spectrum.mean[1]).tolist()

    # source history of the finite-T theory: d_par(T) = δ_z(T)/3 (exact, Kubo), fitted by κ∞(1 - e^{-T/τ_d})
    source = fit_running_diffusion(times, np.asarray(ensemble.mean["dipole"])[:, 2] / 3.0)
    result["source_fit"] = source
    result["default_prefactor"] = default_prefactor
    if not fit_pair_times:
        result["comparisons"] = None
        return result
    default_pair_time = default_prefactor * omega_tau_model ** SCALING_EXPONENT
    result["comparisons"] = {}
    for comparison in COMPARISONS:
        # the finite-T theory is compared at the same T, so every usable multipole counts; the steady state only
        # with the multipoles that have converged in T
        fitted = usable if comparison == "finite_time" else usable_converged
        if fitted.size == 0:
            result["comparisons"][comparison] = {"fit": None, "fitted_ells": []}
            continue
        sigma = ratio.select(fitted).standard_error
        values = ratio.select(fitted).ratio
        model = _case_model(case, comparison, times[last], source["tau"])
        fit = fit_pair_time(fitted, values, sigma, model, bounds=bounds)
        best = model(fit.pair_time)
        doubled = model(fit.pair_time, 2 * THEORY_LMAX)
        at_default = model(default_pair_time)
        result["comparisons"][comparison] = {
            "fitted_ells": fitted.tolist(),
            "fit": {**asdict(fit), "sigma_log": fit.sigma_log},
            "theory_lmax_relative_change": float(np.max(np.abs(doubled[fitted] / best[fitted] - 1.0))),
            "simulation_over_theory": (values / best[fitted]).tolist(),
            "agreeing_ells": _agreeing_run(fitted, (values - best[fitted]) / sigma),
            "theory_best": best[: 2 * case.nside + 1].tolist(),
            "theory_default": at_default[: 2 * case.nside + 1].tolist(),
            "chi2_default": compare.chi_square(values, at_default[fitted], sigma).as_dict(),
            "chi2_best": compare.chi_square(values, best[fitted], sigma, fitted_parameters=1).as_dict(),
            "chi2_best_full_covariance": _full_covariance_chi2(ratio.select(fitted), best[fitted], ensemble.count),
        }
    return result


def _full_covariance_chi2(ratio: compare.RatioSpectrum, model, count: int) -> dict | None:
    """Hartlap-corrected χ² with the full ratio covariance (one fitted parameter), or None if N ≤ n + 2."""
    size = ratio.ell.size
    hartlap = (count - size - 2) / (count - 1)
    if hartlap <= 0:
        return None
    result = compare.chi_square(ratio.ratio, model, ratio.covariance, fitted_parameters=1)
    chi2 = result.chi2 * hartlap
    dof = result.dof
    return {"chi2": chi2, "dof": dof, "hartlap": hartlap,
            "p_value": float(stats.chi2.sf(chi2, dof)) if dof > 0 else float("nan")}


def _agreeing_run(ells, z) -> list[int]:
    """Multipoles from the first one on, up to the first with |z| ≥ :data:`AGREEMENT_Z` (where the theory holds)."""
    run = []
    for ell, value in zip(np.asarray(ells).tolist(), np.asarray(z).tolist()):
        if abs(value) >= AGREEMENT_Z:
            break
        run.append(int(ell))
    return run


def _case_model(case: CalibrationCase, comparison: str, last_time: float, source_tau: float):
    """``model(pair_time, lmax) -> C_ℓ/C_1`` of one comparison mode (:data:`COMPARISONS`) for a case."""
    rho = case.reduced_rigidity
    if comparison == "steady_state":
        return lambda pair_time, lmax=THEORY_LMAX: theory_ratio(case.kind, rho, case.eta, pair_time, lmax)
    return lambda pair_time, lmax=THEORY_LMAX: theory_ratio(case.kind, rho, case.eta, pair_time, lmax,
                                                            omega_time=last_time / rho,
                                                            source_time=source_tau / rho)


def _evaluate_at_prefactor(case_result: dict, prefactor: float, comparison: str) -> dict:
    case = CalibrationCase(**case_result["case"])
    fitted = np.asarray(case_result["comparisons"][comparison]["fitted_ells"], dtype=int)
    pair_time = prefactor * case_result["omega_tau_s_model"] ** SCALING_EXPONENT
    model = _case_model(case, comparison, case_result["times"][-1], case_result["source_fit"]["tau"])
    theory = model(pair_time)
    ratio = np.asarray(case_result["ratio"])[fitted]
    sigma = np.asarray(case_result["ratio_error"])[fitted]
    return {"pair_time": pair_time, "theory": theory[: 2 * case.nside + 1].tolist(),
            "chi2": compare.chi_square(ratio, theory[fitted], sigma).as_dict()}


def _case_fit(item: dict, comparison: str) -> dict | None:
    comparisons = item.get("comparisons") or {}
    return (comparisons.get(comparison) or {}).get("fit")


def _case_birge(fit: dict) -> float:
    """max(1, sqrt(χ²_min/dof)) of a per-case fit (1 when dof = 0)."""
    if fit["dof"] <= 0:
        return 1.0
    return max(1.0, math.sqrt(fit["chi2"] / fit["dof"]))


def _global_fits(cases: list[dict], kind: str, comparison: str) -> dict:
    chosen = [item for item in cases if item["case"]["kind"] == kind and _case_fit(item, comparison)
              and _case_fit(item, comparison)["interior"]]
    excluded = [item["name"] for item in cases if item["case"]["kind"] == kind and item not in chosen]
    out = {"cases": [item["name"] for item in chosen], "excluded_no_fit_or_no_interior_minimum": excluded}
    if not chosen:
        return out
    tau = np.array([item["omega_tau_s_model"] for item in chosen])
    pair_time = np.array([_case_fit(item, comparison)["pair_time"] for item in chosen])
    # a case whose shape the theory misses (χ²_min/dof > 1) constrains ΔT less than Δχ² = 1 says: inflate its error
    # by the case's Birge ratio before combining (both versions are reported)
    formal = np.array([_case_fit(item, comparison)["sigma_log"] for item in chosen])
    sigma = formal * np.array([_case_birge(_case_fit(item, comparison)) for item in chosen])
    out["case_sigma_log_formal"] = formal.tolist()
    out["case_sigma_log_used"] = sigma.tolist()
    out["fixed_exponent"] = fit_prefactor(tau, pair_time, sigma)
    if np.ptp(np.log(tau)) > 0 and tau.size >= 2:
        out["power_law"] = fit_power_law(tau, pair_time, sigma).as_dict()
    measured = np.array([item["omega_tau_s_measured"] for item in chosen])
    if np.all(measured > 0) and tau.size >= 2 and np.ptp(np.log(measured)) > 0:
        out["power_law_measured_tau"] = fit_power_law(measured, pair_time, sigma).as_dict()
    return out


# ---------------------------------------------------------------------------------------------------- figures
def figure_pair_time(cases: list[dict], fits: dict, comparison: str = PRIMARY_COMPARISON):
    r""":math:`\Omega\Delta T` best fits against :math:`\Omega\tau_s` with the power-law fits; returns a Figure.

    ``fits`` is ``{kind: global fit}`` of one comparison mode; hollow markers have no interior minimum.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.4), layout="constrained")
    axes = figure.add_subplot()
    markers = {"slab": "o", "isotropic": "s"}
    for item in cases:
        fit = _case_fit(item, comparison)
        if not fit:
            continue
        tau = item["omega_tau_s_model"]
        error = [[fit["pair_time"] - fit["lower"]], [fit["upper"] - fit["pair_time"]]]
        axes.errorbar([tau], [fit["pair_time"]], error, fmt=markers[item["case"]["kind"]],
                      mfc="none" if not fit["interior"] else None,
                      label=f"{item['case']['kind']} η={item['case']['eta']:g} ρ={item['case']['reduced_rigidity']:g}")
    grid = np.geomspace(0.5 * min(c["omega_tau_s_model"] for c in cases),
                        2.0 * max(c["omega_tau_s_model"] for c in cases), 50)
    for kind, result in fits.items():
        fixed = result.get("fixed_exponent")
        if not fixed:
            continue
        axes.plot(grid, fixed["prefactor"] * grid**SCALING_EXPONENT, "--",
                  label=f"{kind}: a={fixed['prefactor']:.3g}±{fixed['sigma_prefactor_scaled']:.2g}, p=1/3")
        power = result.get("power_law")
        if power:
            axes.plot(grid, power["prefactor"] * grid ** power["exponent"], ":",
                      label=f"{kind}: p={power['exponent']:.3g}±{power['sigma_exponent_scaled']:.2g}")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel(r"$\Omega\tau_s$ (model)")
    axes.set_ylabel(rf"best-fit $\Omega\Delta T$ ({comparison.replace('_', ' ')})")
    axes.grid(True, which="both", alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize="x-small")
    return figure


def _save_figure(figure, path: Path) -> str:
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format="png", dpi=110)
    return str(path)


# ---------------------------------------------------------------------------------------------------- driver
def run_calibration(quick: bool = True, seed: int = DEFAULT_SEED, out_dir=".", executor=None, *, cases=None,
                    progress: bool = False, figures: bool = True, fit_pair_times: bool = True) -> dict:
    r"""Run the ΔT calibration end to end and write ``calibration.json`` and PNG figures into ``out_dir``.

    Parameters
    ----------
    quick : bool
        :data:`QUICK_CASES` (a few minutes on one core) or :data:`FULL_CASES` (~40 minutes).
    seed : int
        Root seed; case ``i`` uses ``SeedSequence(seed, spawn_key=(i,))`` and realisation ``j`` of it the child
        ``j`` (:func:`validation.simulator.ensemble.realisation_seed`).
    out_dir : path
        Output directory; ensembles are checkpointed under ``out_dir/store`` (a rerun resumes).
    executor : concurrent.futures.Executor, optional
        Where realisations run (default serial).
    cases : sequence of CalibrationCase, optional
        Override the case list (e.g. a single case in a test).
    progress, figures : bool
        tqdm progress bars; PNG figures.
    fit_pair_times : bool
        Fit ΩΔT per case and globally (False: simulation side only, for quick checks).

    Returns
    -------
    dict
        Everything written to ``calibration.json``: per case the checks, convergence, usable ℓ, ratios with
        errors, best-fit ΩΔT with its interval and χ², χ² at the default and at the calibrated prefactor; per kind
        the global fits (a ± σ at p = 1/3; a, p ± σ; the exponent pull); the command, seed and timings.
    """
    from anisotropy.pair_rates import DEFAULT_PAIR_TIME_PREFACTOR

    from .simulator.ensemble import run

    start = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    selected = tuple(cases) if cases is not None else (QUICK_CASES if quick else FULL_CASES)
    results = []
    for index, case in enumerate(selected):
        config = case_config(case)
        root = np.random.SeedSequence(int(seed), spawn_key=(index,))
        ensemble = run(calibration_realisation, config, root, case.realisations, executor,
                       store_path=out_dir / "store" / f"{case.name}_n{case.nside}.h5", progress=progress)
        results.append(analyse_case(case, ensemble, config, default_prefactor=DEFAULT_PAIR_TIME_PREFACTOR,
                                    fit_pair_times=fit_pair_times))
    kinds = sorted({case.kind for case in selected})
    fits = {comparison: {kind: _global_fits(results, kind, comparison) for kind in kinds}
            for comparison in COMPARISONS}
    for comparison, by_kind in fits.items():
        for kind, result in by_kind.items():
            fixed = result.get("fixed_exponent")
            if not fixed:
                continue
            for item in results:
                if item["case"]["kind"] == kind and _case_fit(item, comparison):
                    item["comparisons"][comparison]["at_calibrated_prefactor"] = _evaluate_at_prefactor(
                        item, fixed["prefactor"], comparison)
    output = {
        "command": f"validation.calibration.run_calibration(quick={bool(quick)}, seed={int(seed)})",
        "seed": int(seed),
        "quick": bool(quick),
        "lmin_over_lmax": LMIN_OVER_LMAX,
        "modes_per_decade": MODES_PER_DECADE,
        "theory_lmax": THEORY_LMAX,
        "primary_comparison": PRIMARY_COMPARISON,
        "default_prefactor": DEFAULT_PAIR_TIME_PREFACTOR,
        "error_model": ("ensemble scatter (sample covariance / N) of C_l; ratio C_l/C_1 by the delta method with the "
                        "C_l-C_1 covariance; diagonal chi-square; multipoles with <C_l> > "
                        f"{compare.FLOOR_FACTOR:g} x white-noise floor and l <= {compare.NSIDE_FRACTION:g} N_side "
                        "(finite_time); steady_state additionally only multipoles converged in T (|dC_l| <= "
                        f"{compare.CONVERGENCE_RTOL:g} C_l + {compare.CONVERGENCE_Z:g} sigma over the last interval)"),
        "cases": results,
        "fits": fits,
        "wall_seconds": time.perf_counter() - start,
        "pid": os.getpid(),
    }
    paths = {}
    if figures:
        for item in results:
            paths[item["name"]] = _case_figures(item, out_dir)
        for comparison in COMPARISONS:
            paths[f"pair_time_{comparison}"] = _save_figure(figure_pair_time(results, fits[comparison], comparison),
                                                            out_dir / f"pair_time_{comparison}.png")
    output["figures"] = paths
    write_json(out_dir / "calibration.json", output)
    return output


def _case_figures(item: dict, out_dir: Path) -> dict:
    ell = np.arange(len(item["ratio"]))
    curves = {}
    lmax_plot = len(item["ratio"])
    theory_ell = np.arange(2, lmax_plot)
    styles = {"finite_time": "T", "steady_state": "steady"}
    for comparison, entry in (item.get("comparisons") or {}).items():
        if not entry.get("fit"):
            continue
        label = styles[comparison]
        curves[f"{label}: best ΩΔT = {entry['fit']['pair_time']:.3g}"] = (theory_ell,
                                                                           np.asarray(entry["theory_best"])[2:])
        if comparison == PRIMARY_COMPARISON:
            curves[f"{label}: default a = {item['default_prefactor']:g}"] = (theory_ell,
                                                                            np.asarray(entry["theory_default"])[2:])
        if entry.get("at_calibrated_prefactor"):
            calibrated = entry["at_calibrated_prefactor"]
            curves[f"{label}: calibrated a (ΩΔT = {calibrated['pair_time']:.3g})"] = (
                theory_ell, np.asarray(calibrated["theory"])[2:])
    title = (f"{item['name']}: {item['realisations']} realisations, cT/L_c = {item['times'][-1]:.3g} "
             f"(Ωτ_s model {item['omega_tau_s_model']:.3g})")
    ratio_figure = compare.figure_ratio(ell[2:], np.asarray(item["ratio"])[2:], np.asarray(item["ratio_error"])[2:],
                                        curves, title=title, usable=item["usable_ells"])
    paths = {"ratio": _save_figure(ratio_figure, out_dir / f"{item['name']}_ratio.png")}
    shown = [ell for ell in (1, 2, 3, 4, 6, 8, 12, 16) if ell < lmax_plot]
    convergence_figure = compare.figure_convergence(item["times"], item["cl_time"], item["cl_time_error"], shown,
                                                    noise_floor=item["noise_floor_time"],
                                                    title=f"{item['name']}: C_l(T)")
    paths["convergence"] = _save_figure(convergence_figure, out_dir / f"{item['name']}_convergence.png")
    return paths
