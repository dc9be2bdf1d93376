r"""Transport checks of the simulator against theory: running coefficients, subdiffusion, heuristic model, λ(r_g).

Issue 5 item 3; docs/physics/transport.md#slab-qlt (slab QLT), docs/physics/conventions.md#running-diffusion (running
coefficients, λ = 3κ/c) and
:mod:`anisotropy.transport` (QLT, field-line and heuristic models).  Units: lengths in :math:`L_c` (two-sided,
docs/physics/conventions.md#correlation-length
convention, :math:`L_c\approx L_\max/5`), times :math:`ct/L_c`, coefficients in :math:`cL_c`,
:math:`\rho = r_g/L_c` with :math:`r_g` in :math:`B_\mathrm{tot}`.

What is measured, per :class:`TransportCase` (an ensemble of
:func:`validation.simulator.diffusion.diffusion_realisation`):

1. **Ballistic start.** :math:`\langle\Delta z^2\rangle = (ct)^2/3` for :math:`ct\ll r_g` (isotropic initial
   directions, :math:`\langle\mu^2\rangle = 1/3`), exact up to :math:`O((ct/r_g)^2)` deflection corrections.
2. **Diffusive plateau.** :math:`\kappa = [\langle\Delta^2\rangle(t_N) - \langle\Delta^2\rangle(t_k)]/
   (2(t_N - t_k))` with :math:`t_k` the output nearest :data:`PLATEAU_START_FRACTION`\ :math:`\cdot t_N` (the secant
   cancels the constant offset the ballistic phase leaves in :math:`\langle\Delta^2\rangle`; for an
   Ornstein-Uhlenbeck velocity of correlation time τ its bias is
   :math:`\tau(e^{-t_k/\tau}-e^{-t_N/\tau})/(t_N-t_k)`, 1 % at :math:`t_N = 10\tau`).  Parallel:
   :math:`\kappa_\parallel` from :math:`\langle\Delta z^2\rangle`; perpendicular (per component, the usual
   :math:`\kappa_\perp`) from :math:`\langle\Delta r_\perp^2\rangle/2`; :math:`\lambda = 3\kappa/c`.
3. **Slab QLT** at small η (docs/physics/transport.md#slab-qlt): QLT's :math:`\kappa_\parallel =
   (v^2/8)\int(1-\mu^2)^2/D_{\mu\mu}` is
   dominated by small :math:`|\mu|`, and the discrete spectrum has no resonant mode for
   :math:`|\mu| < \mu_\mathrm{gap} = \sqrt{1-\eta}/(k_\max\rho)`.  The QLT expectation is therefore the bracket
   [QLT without the gap's contribution, full QLT] (:func:`slab_qlt_bracket`); this is the stated QLT systematic.
4. **High-rigidity limit** (η = 1, :math:`r_g\gg L_\max`): small-angle scattering along straight paths gives
   :math:`\lambda\to 4r_g^2/L_c` with the **two-sided** :math:`L_c` of docs/physics/conventions.md#correlation-length
   (the derivation is in
   ``tests/validation/simulator/test_diffusion.py``: transverse integral scale :math:`(3/8)L_c`); with the one-sided
   :math:`L_c' \approx L_\max/10 \approx L_c/2` the same physics reads :math:`\lambda = 2r_g^2/L_c'`.  For
   η < 1 the scattering rate is proportional to :math:`\delta B^2/B_\mathrm{tot}^2 = \eta`, so
   :math:`\lambda_\parallel\to 4r_g^2/(\eta L_c)` (:func:`high_rigidity_mean_free_path`).  The discrete modes'
   own :math:`L_c = \pi\sum_n w_n/k_n` (:meth:`validation.simulator.turbulence.TurbulenceField.correlation_length`)
   is the
   length in the formula.
5. **Intermediate subdiffusion** of :math:`\langle\Delta r_\perp^2\rangle\propto t^\alpha` in isotropic turbulence
   plus :math:`B_0`: α is the least-squares slope of :math:`\ln\langle\Delta r_\perp^2\rangle` against
   :math:`\ln t` over half a decade starting at the measured parallel scattering time
   :math:`\tau_\parallel = 3\kappa_\parallel/c^2` (:data:`SUBDIFFUSION_WINDOW`): there parallel motion is
   diffusive while particles still follow their field lines, and compound diffusion predicts α = 1/2.  Before
   :math:`\tau_\parallel` the parallel motion is still ballistic, :math:`\langle\Delta r_\perp^2\rangle
   \approx 2d_\mathrm{FL}\langle|\Delta z|\rangle\propto t` (α = 1); a first version with a window centred on
   :math:`\tau_\parallel` mixed that regime in and measured α = 1.00 ± 0.08 (quick run).
6. **Heuristic model** (the talk; Kuhlen, Mertsch & Phan arXiv:2211.05881):
   :math:`d_\perp = d_\mathrm{FL}(\sqrt{\langle\Delta z^2\rangle})/\sqrt{\langle\Delta z^2\rangle}\,d_\parallel`
   evaluated with the **simulated** :math:`d_\mathrm{FL}(z)` (field lines traced in the same realisations) and
   the simulated :math:`d_\parallel(t)` (:func:`heuristic_from_measured`), against the simulated
   :math:`d_\perp(t)`.

Error model.  Realisations (turbulence seeds) are independent; particles within one realisation are not (they
share the field), so every error is computed across realisations: the standard error of per-realisation
quantities, or the delete-one jackknife over realisations for nonlinear functions of ensemble means (running
coefficients, slopes, the heuristic model).  Seeds are fixed and recorded.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import integrate

from anisotropy import transport
from anisotropy.errors import ParameterError, require_integer, require_range
from anisotropy.io import atomic_output, jsonable, write_json

from .simulator.config import DiffusionConfig, TurbulenceConfig
from .simulator.diffusion import diffusion_realisation, running_coefficient
from .simulator.ensemble import SerialExecutor, realisation_seed
from .simulator.turbulence import TurbulenceField

__all__ = [
    "FULL_CASES",
    "PLATEAU_START_FRACTION",
    "QUICK_CASES",
    "SUBDIFFUSION_WINDOW",
    "TRANSPORT_SEED",
    "TransportCase",
    "analyse_case",
    "ballistic_start",
    "heuristic_comparison",
    "heuristic_from_measured",
    "high_rigidity_mean_free_path",
    "jackknife",
    "plateau_coefficient",
    "run_case",
    "run_transport_checks",
    "slab_qlt_bracket",
    "subdiffusion_exponent",
]

#: default root seed of the transport ensembles (case i uses SeedSequence(seed, spawn_key=(i,)))
TRANSPORT_SEED = 20261125
#: the plateau secant starts at this fraction of the last time (module docstring, item 2)
PLATEAU_START_FRACTION = 0.25
#: subdiffusion fit window in units of the measured τ_∥ = 3κ_∥/c²: half a decade from τ_∥ (item 5)
SUBDIFFUSION_WINDOW = (1.0, math.sqrt(10.0))
#: first output time in units of r_g/c: deflection corrections to (ct)²/3 are O((ct/r_g)²) = 2.5e-3 there
FIRST_TIME_GYRO_FRACTION = 0.05
#: the heuristic model is compared only after this many gyro-radii of travel (ct > N r_g): the model has no
#: gyration, while the simulated d_⊥ oscillates (and turns negative) during the first gyrations
HEURISTIC_MIN_GYRO_TIMES = 20.0


# ---------------------------------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class TransportCase:
    """One simulated setting; ``role`` says which comparison it feeds (``qlt``, ``subdiffusion``, ``rigidity``).

    ``time`` is the last output :math:`ct/L_c`; outputs are ``n_times`` log-spaced from
    :data:`FIRST_TIME_GYRO_FRACTION` · ρ.  With ``fieldlines > 0`` that many field lines per realisation are traced
    over the arc length ``time`` (the heuristic model needs :math:`d_\\mathrm{FL}` up to
    :math:`z\\sim\\sqrt{\\langle\\Delta z^2\\rangle}\\le ct`).
    """

    role: str
    kind: str
    eta: float
    reduced_rigidity: float
    time: float
    particles: int
    realisations: int
    lmin_over_lmax: float = 1e-2
    modes_per_decade: int = 64
    fieldlines: int = 0
    n_times: int = 40

    @property
    def name(self) -> str:
        return f"{self.role}_{self.kind}_eta{self.eta:g}_rho{self.reduced_rigidity:g}"

    def config(self) -> DiffusionConfig:
        """The :class:`validation.simulator.config.DiffusionConfig` of this case."""
        turbulence = TurbulenceConfig(kind=self.kind, eta=self.eta, lmin_over_lmax=self.lmin_over_lmax,
                                      modes_per_decade=self.modes_per_decade)
        return DiffusionConfig(turbulence=turbulence, reduced_rigidity=self.reduced_rigidity,
                               particles=self.particles, time=self.time, n_times=self.n_times,
                               first_time=min(FIRST_TIME_GYRO_FRACTION * self.reduced_rigidity, self.time / 10.0),
                               fieldlines=self.fieldlines, fieldline_length=self.time)


def _qlt_time(reduced_rigidity, eta, lmin_over_lmax=1e-2, factor=8.0):
    return factor * 3.0 * transport.parallel_diffusion(reduced_rigidity, eta, lmin_over_lmax=lmin_over_lmax)


#: quick cases (`validate --quick`, default tests), 6 realisations each (errors from 5 degrees of freedom: with 3,
#: a first version quoted κ∥ = 3.70 ± 0.06 at ρ = 0.3 where more realisations give 4.16 ± 0.16): slab η = 0.1 at
#: two rigidities for QLT (t_N = 8 τ_s^QLT);
#: isotropic η = 0.1, ρ = 0.1 with field lines for subdiffusion and the heuristic model (τ_∥ ≈ 15, t_N = 150; 24
#: realisations, because the realisations' few large-scale modes dominate the scatter of α: ±0.17 with 6, ±0.075
#: with 24);
#: isotropic η = 1 at ρ = 0.3, 1, 3 (L_min/L_max = 0.1, so the Boris step is L_min/5 ≈ 0.1 at high ρ) toward the
#: high-rigidity limit (t_N = max(10 · 4ρ², 30): ten high-rigidity scattering times)
QUICK_CASES = (
    TransportCase("qlt", "slab", 0.1, 0.1, _qlt_time(0.1, 0.1), 128, 6),
    TransportCase("qlt", "slab", 0.1, 0.3, _qlt_time(0.3, 0.1), 128, 6),
    TransportCase("subdiffusion", "isotropic", 0.1, 0.1, 150.0, 128, 24, fieldlines=16),
    TransportCase("rigidity", "isotropic", 1.0, 0.3, 30.0, 128, 6, lmin_over_lmax=0.1),
    TransportCase("rigidity", "isotropic", 1.0, 1.0, 40.0, 128, 6, lmin_over_lmax=0.1),
    TransportCase("rigidity", "isotropic", 1.0, 3.0, 360.0, 128, 6, lmin_over_lmax=0.1),
)
#: full cases: 256 (docs/physics/conventions.md#turbulence-modes) modes per decade, larger ensembles, a third QLT
#: rigidity and ρ = 10 (r_g ≈ 2 L_max);
#: the subdiffusion case has 64 realisations (α ± 0.04): with 16 (the first full reports) the jackknife error was
#: ±0.04-0.08 and α itself moved between 0.74 and 0.88 from one sample of realisations to the next
FULL_CASES = (
    TransportCase("qlt", "slab", 0.1, 0.1, _qlt_time(0.1, 0.1), 256, 8, modes_per_decade=256),
    TransportCase("qlt", "slab", 0.1, 0.2, _qlt_time(0.2, 0.1), 256, 8, modes_per_decade=256),
    TransportCase("qlt", "slab", 0.1, 0.4, _qlt_time(0.4, 0.1), 256, 8, modes_per_decade=256),
    TransportCase("subdiffusion", "isotropic", 0.1, 0.1, 200.0, 256, 64, modes_per_decade=128, fieldlines=32),
    TransportCase("rigidity", "isotropic", 1.0, 0.3, 30.0, 256, 6, lmin_over_lmax=0.1, modes_per_decade=256),
    TransportCase("rigidity", "isotropic", 1.0, 1.0, 40.0, 256, 6, lmin_over_lmax=0.1, modes_per_decade=256),
    TransportCase("rigidity", "isotropic", 1.0, 3.0, 360.0, 256, 6, lmin_over_lmax=0.1, modes_per_decade=256),
    TransportCase("rigidity", "isotropic", 1.0, 10.0, 4000.0, 256, 6, lmin_over_lmax=0.1, modes_per_decade=256),
)


# ---------------------------------------------------------------------------------------------------- running
def run_case(case: TransportCase, seed: int = TRANSPORT_SEED, executor=None, *, index: int = 0) -> dict:
    """Run the realisations of ``case`` and stack them: ``{"samples": {key: (R, ...)}, "times", ...}``.

    Realisation ``j`` uses :func:`validation.simulator.ensemble.realisation_seed` ``(SeedSequence(seed,
    spawn_key=(index,)),
    j)``, so results do not depend on the executor.  Per-realisation arrays are kept (they are small) because the
    jackknife errors need them.
    """
    if not isinstance(case, TransportCase):
        raise ParameterError("case", f"expected a TransportCase, got {type(case).__name__}")
    executor = executor if executor is not None else SerialExecutor()
    config = case.config()
    root = np.random.SeedSequence(int(seed), spawn_key=(int(index),))
    start = time.perf_counter()
    futures = [executor.submit(diffusion_realisation, config, realisation_seed(root, j))
               for j in range(case.realisations)]
    results = [future.result() for future in futures]
    wall = time.perf_counter() - start
    samples = {key: np.array([result[key] for result in results]) for key in results[0]}
    return {
        "case": case,
        "samples": samples,
        "times": samples["times"][0],
        "wall_seconds": wall,
        "particle_steps": int(np.sum(samples["particle_steps"])),
        "seed": int(seed),
        "spawn_key": [int(index)],
        "correlation_length_modes": TurbulenceField(config.turbulence, realisation_seed(root, 0)).correlation_length(),
    }


def jackknife(samples, statistic):
    """Delete-one jackknife over realisations of ``statistic(mean over realisations)``.

    Parameters
    ----------
    samples : array_like (R, ...)
        Per-realisation values, R ≥ 2.
    statistic : callable
        Function of the ensemble mean (shape ``samples.shape[1:]``), returning an array.

    Returns
    -------
    (value, error) : ndarrays
        ``statistic`` of the full mean and the jackknife standard error
        :math:`\\sqrt{(R-1)/R\\,\\sum_i(\\theta_{(i)}-\\bar\\theta)^2}`.
    """
    samples = np.asarray(samples, dtype=float)
    count = samples.shape[0]
    require_integer("realisations", count, 2)
    total = samples.sum(axis=0)
    value = np.asarray(statistic(total / count), dtype=float)
    leave_one_out = np.array([np.asarray(statistic((total - samples[i]) / (count - 1)), dtype=float)
                              for i in range(count)])
    error = np.sqrt((count - 1) / count * np.sum((leave_one_out - leave_one_out.mean(axis=0)) ** 2, axis=0))
    return value, error


def _mean_and_error(values):
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(values.size))


# ---------------------------------------------------------------------------------------------------- measurements
def ballistic_start(run: dict) -> dict:
    r""":math:`\langle\Delta z^2\rangle/((ct)^2/3)` at the first output (exact start, module item 1).

    Also :math:`\langle\Delta r_\perp^2\rangle/(2(ct)^2/3)`.  Errors from the scatter across realisations, and
    ``error_directions``, the exact sampling error of :math:`\langle3\mu^2\rangle` over all particles (before any
    deflection the directions are independent of the field).
    """
    times = run["times"]
    first = float(times[0])
    parallel = run["samples"]["msd_parallel"][:, 0] / (first**2 / 3.0)
    perpendicular = run["samples"]["msd_perp"][:, 0] / (2.0 * first**2 / 3.0)
    ratio, error = _mean_and_error(parallel)
    ratio_perp, error_perp = _mean_and_error(perpendicular)
    # before any deflection the particles' directions are independent of the field, so the exact sampling error
    # of the mean of 3μ² over all R·N particles applies: 3·sqrt(Var μ²)/sqrt(RN), Var μ² = 1/5 - 1/9 = 4/45
    total = run["samples"]["msd_parallel"].shape[0] * run["case"].particles
    return {"time": first, "gyro_fraction": first / run["case"].reduced_rigidity,
            "ratio_parallel": ratio, "error_parallel": error, "ratio_perp": ratio_perp, "error_perp": error_perp,
            "error_directions": 3.0 * math.sqrt(4.0 / 45.0) / math.sqrt(total),
            "deflection_bound": (first / run["case"].reduced_rigidity) ** 2}


def plateau_coefficient(times, msd_samples, start_fraction: float = PLATEAU_START_FRACTION):
    r"""Secant diffusion coefficient :math:`[\langle\Delta^2\rangle(t_N)-\langle\Delta^2\rangle(t_k)]/(2(t_N-t_k))`.

    ``msd_samples`` (R, n) per realisation; returns ``(kappa, error, t_k)`` with the error from the scatter of the
    per-realisation secants (module item 2).
    """
    times = np.asarray(times, dtype=float)
    start_fraction = require_range("start_fraction", start_fraction, 0.0, 1.0, low_open=True, high_open=True)
    msd_samples = np.asarray(msd_samples, dtype=float)
    k = int(np.argmin(np.abs(times - start_fraction * times[-1])))
    secants = (msd_samples[:, -1] - msd_samples[:, k]) / (2.0 * (times[-1] - times[k]))
    kappa, error = _mean_and_error(secants)
    return kappa, error, float(times[k])


def subdiffusion_exponent(times, msd_samples, window) -> dict:
    r"""Slope α of :math:`\ln\langle\Delta r_\perp^2\rangle` vs :math:`\ln t` over ``window`` with its jackknife error.

    Parameters
    ----------
    times : array_like (n,)
    msd_samples : array_like (R, n)
        Per-realisation :math:`\langle\Delta r_\perp^2\rangle`.
    window : (float, float)
        Fit range of t; needs at least three outputs inside.

    Returns
    -------
    dict
        ``alpha``, ``error`` (jackknife over realisations), ``window`` (first and last time used), ``points``,
        ``local_slope`` and ``local_slope_error`` (n,) of the ensemble mean.
    """
    times = np.asarray(times, dtype=float)
    inside = (times >= window[0]) & (times <= window[1])
    if np.count_nonzero(inside) < 3:
        raise ParameterError("window", f"needs >= 3 output times inside {window}, got {np.count_nonzero(inside)}")
    log_t = np.log(times[inside])

    def slope(mean):
        return np.polyfit(log_t, np.log(mean[inside]), 1)[0]

    alpha, error = jackknife(msd_samples, slope)
    local, local_error = jackknife(msd_samples, lambda mean: np.gradient(np.log(mean), np.log(times)))
    return {"alpha": float(alpha), "error": float(error), "window": [float(times[inside][0]),
                                                                      float(times[inside][-1])],
            "points": int(np.count_nonzero(inside)), "local_slope": local, "local_slope_error": local_error}


def heuristic_from_measured(times, d_parallel, lengths, d_fieldline, evaluate_at=None) -> np.ndarray:
    r"""Heuristic :math:`d_\perp(t)` from measured :math:`d_\parallel(t)` and :math:`d_\mathrm{FL}(z)` (item 6).

    Uses :func:`anisotropy.transport.heuristic_perpendicular_diffusion` with callables interpolating the measured
    curves linearly in :math:`\ln t` (:math:`\ln z`); below the first sample both are continued as the ballistic
    :math:`d\propto t` (:math:`\propto z`) of the start, above the last sample as the last value (the plateau).
    :math:`\langle\Delta z^2\rangle = 2\int_0^t d_\parallel` is integrated by the transport function itself.

    Parameters
    ----------
    times, d_parallel : array_like (n,)
        Output times :math:`ct/L_c` and :math:`d_\parallel` in :math:`cL_c`.
    lengths, d_fieldline : array_like (m,)
        Field-line displacements :math:`z/L_c` (increasing) and :math:`d_\mathrm{FL}` in :math:`L_c`.
    evaluate_at : array_like, optional
        Times at which to return :math:`d_\perp` (default ``times``).

    Returns
    -------
    ndarray
        :math:`d_\perp` in :math:`cL_c` (docs/physics/conventions.md#running-diffusion, twice the per-component
        coefficient).
    """
    times = np.asarray(times, dtype=float)
    d_parallel = np.asarray(d_parallel, dtype=float)
    lengths = np.asarray(lengths, dtype=float)
    d_fieldline = np.asarray(d_fieldline, dtype=float)
    for name, abscissa, values in (("times", times, d_parallel), ("lengths", lengths, d_fieldline)):
        if abscissa.ndim != 1 or abscissa.size < 2 or np.any(abscissa <= 0) or np.any(np.diff(abscissa) <= 0):
            raise ParameterError(name, "needs >= 2 strictly increasing positive values")
        if values.shape != abscissa.shape or not np.all(np.isfinite(values)):
            raise ParameterError(name, "values must be finite and match the abscissa")

    def interpolator(abscissa, values):
        log_abscissa = np.log(abscissa)

        def evaluate(x):
            x = np.asarray(x, dtype=float)
            inner = np.interp(np.log(np.clip(x, abscissa[0], None)), log_abscissa, values)
            return np.where(x < abscissa[0], values[0] * x / abscissa[0], inner)

        return evaluate

    target = times if evaluate_at is None else np.asarray(evaluate_at, dtype=float)
    with warnings.catch_warnings():
        # the interpolants have kinks at the samples, so quad cannot reach its 1e-11 target there and says so; the
        # achieved accuracy (~1e-8) is far below the statistical errors of the measured inputs
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return transport.heuristic_perpendicular_diffusion(target, interpolator(times, d_parallel),
                                                           interpolator(lengths, d_fieldline))


def heuristic_comparison(run: dict, tau_parallel: float) -> dict:
    r"""Heuristic model with simulated inputs vs simulated :math:`d_\perp(t)`, jackknife errors over realisations.

    All three running coefficients are derivatives of ensemble means (:func:`validation.simulator.diffusion.
    running_coefficient`); the field-line :math:`d_\mathrm{FL}` is taken against the mean field-line
    :math:`\langle\Delta z\rangle`.  The jackknife re-evaluates the whole chain (model included) with one
    realisation left out, so the model's error carries the scatter of both measured inputs; the ratio
    model/simulation is jackknifed jointly.  Compared at :math:`ct \ge` :data:`HEURISTIC_MIN_GYRO_TIMES`
    :math:`r_g`.  Summaries: the mean ratio in the windows [τ_∥/√10, √10 τ_∥] and [√10 τ_∥, t_N].
    """
    samples = run["samples"]
    times = run["times"]
    rho = run["case"].reduced_rigidity
    keep = times >= HEURISTIC_MIN_GYRO_TIMES * rho
    compared = times[keep]
    count = samples["msd_parallel"].shape[0]
    stacked = np.concatenate([samples["msd_parallel"], samples["msd_perp"], samples["fieldline_mean_dz"],
                              samples["fieldline_msd_perp"]], axis=1)
    n_t = times.size
    n_z = samples["fieldline_mean_dz"].shape[1]

    def chain(mean):
        msd_parallel, msd_perp = mean[:n_t], mean[n_t: 2 * n_t]
        line_z, line_perp = mean[2 * n_t: 2 * n_t + n_z], mean[2 * n_t + n_z:]
        d_parallel = running_coefficient(times, msd_parallel)
        d_perp = running_coefficient(times, msd_perp)[keep]
        d_fieldline = running_coefficient(line_z, line_perp)
        model = heuristic_from_measured(times, d_parallel, line_z, d_fieldline, evaluate_at=compared)
        late = compared >= tau_parallel * math.sqrt(10.0)
        # the model's <Δr⊥²> exponent at late times: d⊥ ∝ t^(α-1)
        exponent = 1.0 + np.polyfit(np.log(compared[late]), np.log(np.abs(model[late])), 1)[0] \
            if np.count_nonzero(late) >= 3 else np.nan
        return np.concatenate([model, d_perp, model / d_perp, [exponent]])

    value, error = jackknife(stacked, chain)
    m = compared.size
    model, simulated, ratio = value[:m], value[m: 2 * m], value[2 * m:]
    model_error, simulated_error, ratio_error = error[:m], error[m: 2 * m], error[2 * m: 3 * m]
    ratio = ratio[:m]
    windows = {"around_tau": (tau_parallel / math.sqrt(10.0), tau_parallel * math.sqrt(10.0)),
               "late": (tau_parallel * math.sqrt(10.0), float(times[-1]))}
    summary = {}
    for label, (low, high) in windows.items():
        inside = (compared >= low) & (compared <= high)
        if np.count_nonzero(inside) == 0:
            summary[label] = None
            continue

        def window_ratio(mean, inside=inside):
            return np.mean(chain(mean)[2 * m: 3 * m][inside])

        mean_ratio, mean_ratio_error = jackknife(stacked, window_ratio)
        summary[label] = {"window": [float(low), float(high)], "ratio": float(mean_ratio),
                          "error": float(mean_ratio_error), "points": int(np.count_nonzero(inside))}
    return {"times": compared, "model": model, "model_error": model_error, "simulated": simulated,
            "simulated_error": simulated_error, "ratio": ratio, "ratio_error": ratio_error, "windows": summary,
            "model_late_exponent": float(value[-1]),
            "model_late_exponent_error": float(error[-1]), "realisations": count}


def slab_qlt_bracket(reduced_rigidity: float, eta: float, lmin_over_lmax: float = 1e-2) -> dict:
    r"""Slab QLT :math:`\kappa_\parallel` and the same integral without the gap :math:`|\mu|<\mu_\mathrm{gap}`.

    docs/physics/transport.md#slab-qlt; :math:`\mu_\mathrm{gap} = \sqrt{1-\eta}/(k_\max\rho)` with :math:`k_\max =
    2\pi/L_\min`
    (module item 3).  Returns ``qlt``, ``outside_gap``, ``mu_gap`` in :math:`cL_c` (κ) and dimensionless (μ).
    """
    kappa = transport.parallel_diffusion(reduced_rigidity, eta, lmin_over_lmax=lmin_over_lmax)
    k_max = 2.0 * math.pi / TurbulenceConfig(lmin_over_lmax=lmin_over_lmax).l_min
    mu_gap = math.sqrt(1.0 - eta) / (k_max * reduced_rigidity)

    def integrand(mu):
        # (v²/8)(1-μ²)²/D_μμ in c L_c with D_μμ = (D_μμ/Ω)·Ω and Ω = c/r_g
        rate = transport.pitch_angle_diffusion(mu, reduced_rigidity, eta, lmin_over_lmax=lmin_over_lmax)
        return (1.0 - mu**2) ** 2 / (rate / reduced_rigidity) / 8.0

    outside = 2.0 * integrate.quad(integrand, min(mu_gap, 1.0), 1.0, epsrel=1e-10)[0] if mu_gap < 1.0 else 0.0
    return {"qlt": float(kappa), "outside_gap": float(outside), "mu_gap": float(mu_gap)}


def high_rigidity_mean_free_path(reduced_rigidity, eta: float = 1.0, correlation_length: float = 1.0):
    r""":math:`\lambda\to 4r_g^2/(\eta L_c)` for :math:`r_g\gg L_\max` (module item 4; two-sided :math:`L_c`)."""
    eta = require_range("eta", eta, 0.0, 1.0, low_open=True)
    return 4.0 * np.asarray(reduced_rigidity, dtype=float) ** 2 / (eta * correlation_length)


# ---------------------------------------------------------------------------------------------------- analysis
def analyse_case(run: dict) -> dict:
    """All numbers of one case (module items 1-6 as they apply to its role), JSON-ready."""
    case = run["case"]
    samples = run["samples"]
    times = run["times"]
    kappa_par, kappa_par_error, start = plateau_coefficient(times, samples["msd_parallel"])
    # per component: <Δr⊥²> = 4 κ⊥ t
    kappa_perp, kappa_perp_error, _ = plateau_coefficient(times, samples["msd_perp"] / 2.0)
    d_par, d_par_error = jackknife(samples["msd_parallel"], lambda mean: running_coefficient(times, mean))
    d_perp, d_perp_error = jackknife(samples["msd_perp"], lambda mean: running_coefficient(times, mean))
    result = {
        "case": asdict(case),
        "name": case.name,
        "realisations": case.realisations,
        "particles": case.particles,
        "seed": run["seed"],
        "spawn_key": run["spawn_key"],
        "wall_seconds": run["wall_seconds"],
        "particle_steps": run["particle_steps"],
        "particle_steps_per_second": run["particle_steps"] / max(run["wall_seconds"], 1e-9),
        "times": times,
        "d_parallel": d_par, "d_parallel_error": d_par_error,
        "d_perp": d_perp, "d_perp_error": d_perp_error,
        "ballistic": ballistic_start(run),
        "kappa_parallel": kappa_par, "kappa_parallel_error": kappa_par_error,
        "kappa_perp": kappa_perp, "kappa_perp_error": kappa_perp_error,
        "plateau_from_time": start,
        "lambda_parallel": 3.0 * kappa_par, "lambda_parallel_error": 3.0 * kappa_par_error,
        "lambda_perp": 3.0 * kappa_perp, "lambda_perp_error": 3.0 * kappa_perp_error,
        "tau_parallel": 3.0 * kappa_par,
        "last_time_over_tau": float(times[-1] / (3.0 * kappa_par)) if kappa_par > 0 else float("nan"),
        "correlation_length_modes": run["correlation_length_modes"],
    }
    if case.kind == "slab" and case.eta < 1.0:
        bracket = slab_qlt_bracket(case.reduced_rigidity, case.eta, case.lmin_over_lmax)
        result["qlt"] = {**bracket, "ratio": kappa_par / bracket["qlt"],
                         "ratio_error": kappa_par_error / bracket["qlt"]}
    if case.eta == 1.0:
        limit = float(high_rigidity_mean_free_path(case.reduced_rigidity, 1.0, run["correlation_length_modes"]))
        isotropic_lambda = 2.0 / 3.0 * result["lambda_perp"] + 1.0 / 3.0 * result["lambda_parallel"]
        result["high_rigidity"] = {"limit": limit, "lambda_mean": isotropic_lambda,
                                   "ratio": isotropic_lambda / limit,
                                   "ratio_error": math.hypot(2 / 3 * result["lambda_perp_error"],
                                                             1 / 3 * result["lambda_parallel_error"]) / limit}
        # isotropy (B0 = 0): <Δr⊥²> = 2<Δz²> exactly in the ensemble; paired per realisation
        difference = samples["msd_perp"][:, -1] / 2.0 - samples["msd_parallel"][:, -1]
        value, error = _mean_and_error(difference / samples["msd_parallel"][:, -1].mean())
        result["isotropy"] = {"relative_difference": value, "error": error}
    if case.role == "subdiffusion":
        tau = result["tau_parallel"]
        window = (SUBDIFFUSION_WINDOW[0] * tau, SUBDIFFUSION_WINDOW[1] * tau)
        fit = subdiffusion_exponent(times, samples["msd_perp"], window)
        result["subdiffusion"] = {"alpha": fit["alpha"], "error": fit["error"], "window": fit["window"],
                                  "points": fit["points"], "local_slope": fit["local_slope"],
                                  "local_slope_error": fit["local_slope_error"],
                                  "minimum_local_slope_after_gyration": float(np.min(
                                      fit["local_slope"][times >= HEURISTIC_MIN_GYRO_TIMES * case.reduced_rigidity]))}
        if case.fieldlines > 0:
            line_z = samples["fieldline_mean_dz"]
            line_perp = samples["fieldline_msd_perp"]
            lengths = line_z.mean(axis=0)
            d_fl, d_fl_error = jackknife(np.concatenate([line_z, line_perp], axis=1),
                                         lambda mean: running_coefficient(mean[: lengths.size],
                                                                          mean[lengths.size:]))
            # long-z field-line coefficient <Δr⊥²>/(2z) at the last length (offset/z < 1 %, test_diffusion)
            fl_value, fl_error = _mean_and_error(line_perp[:, -1] / (2.0 * line_z[:, -1]))
            expected = transport.qlt_fieldline_diffusion(turbulence=case.config().turbulence.as_turbulence())
            result["fieldline"] = {"z": lengths, "d_fieldline": d_fl, "d_fieldline_error": d_fl_error,
                                   "asymptotic": fl_value, "asymptotic_error": fl_error, "qlt": expected,
                                   "ratio_to_qlt": fl_value / expected, "ratio_error": fl_error / expected}
            result["heuristic"] = heuristic_comparison(run, tau)
    return result


# ---------------------------------------------------------------------------------------------------- figures
def _figure(width=6.4, height=4.4):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def figure_running(results: list[dict]):
    """Running d_∥(t) (top) and d_⊥(t) (bottom) of every case with jackknife bands; slab QLT κ_∥ as dotted lines.

    Negative running values (gyration phase, noise) are not drawn on the log axes; bands are clipped at the
    axis floor.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.2, 7.0), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True)
    for axes, key, label in ((top, "d_parallel", r"$d_\parallel\ [cL_c]$"), (bottom, "d_perp", r"$d_\perp\ [cL_c]$")):
        largest = max(float(np.nanmax(item[key])) for item in results)
        floor = 1e-4 * largest
        for index, item in enumerate(results):
            colour = f"C{index % 10}"
            t = np.asarray(item["times"])
            value = np.asarray(item[key])
            error = np.asarray(item[key + "_error"])
            shown = np.where(value > 0, value, np.nan)
            axes.plot(t, shown, color=colour, lw=1.2, label=item["name"])
            axes.fill_between(t, np.clip(value - error, floor, None), np.clip(value + error, floor, None),
                              color=colour, alpha=0.15)
            if key == "d_parallel" and "qlt" in item:
                axes.axhline(item["qlt"]["qlt"], color=colour, ls=":", lw=1)
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_ylim(floor, 2.0 * largest)
        axes.set_ylabel(label)
    bottom.set_xlabel(r"$ct/L_c$")
    top.set_title("running diffusion coefficients, jackknife bands (dotted: slab QLT κ∥)", fontsize=9)
    top.legend(fontsize=6)
    return figure


def figure_subdiffusion(item: dict):
    """Local slope d ln⟨Δr⊥²⟩/d ln t with jackknife band, the fit window and α."""
    figure, axes = _figure()
    t = np.asarray(item["times"])
    fit = item["subdiffusion"]
    slope = np.asarray(fit["local_slope"])
    error = np.asarray(fit["local_slope_error"])
    axes.plot(t, slope, color="C0", label=r"simulation, $d\ln\langle\Delta r_\perp^2\rangle/d\ln t$")
    axes.fill_between(t, slope - error, slope + error, color="C0", alpha=0.2)
    axes.axvspan(*fit["window"], color="C1", alpha=0.15,
                 label=f"fit window: α = {fit['alpha']:.3f} ± {fit['error']:.3f}")
    axes.axhspan(0.5, 0.7, color="C2", alpha=0.1, label="talk: 0.5–0.7")
    for level in (0.5, 1.0, 2.0):
        axes.axhline(level, color="0.5", lw=0.6, ls=":")
    axes.set_xscale("log")
    axes.set_ylim(-0.5, 2.2)
    axes.set_xlabel(r"$ct/L_c$")
    axes.set_ylabel("local exponent α(t)")
    axes.set_title(item["name"])
    axes.legend(fontsize=7)
    return figure


def figure_heuristic(item: dict):
    """Heuristic d_⊥ with measured d_FL and d_∥ against the simulated d_⊥, both with jackknife bands."""
    figure, axes = _figure()
    heuristic = item["heuristic"]
    t = np.asarray(heuristic["times"])
    for key, colour, label in (("simulated", "C0", r"simulated $d_\perp$"),
                               ("model", "C3", r"heuristic $d_{FL}(\sqrt{\langle\Delta z^2\rangle})"
                                               r"/\sqrt{\langle\Delta z^2\rangle}\,d_\parallel$")):
        value = np.asarray(heuristic[key])
        error = np.asarray(heuristic[key + "_error"])
        axes.plot(t, value, color=colour, label=label)
        axes.fill_between(t, np.clip(value - error, 1e-12, None), value + error, color=colour, alpha=0.2)
    axes.axvline(item["tau_parallel"], color="0.4", ls=":", lw=1, label=r"$\tau_\parallel = 3\kappa_\parallel/c^2$")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel(r"$ct/L_c$")
    axes.set_ylabel(r"$d_\perp\ [cL_c]$")
    axes.set_title(f"{item['name']}: heuristic model with simulated inputs", fontsize=9)
    axes.legend(fontsize=7)
    return figure


def figure_mean_free_paths(results: list[dict]):
    """λ_∥ and λ_⊥ against r_g/L_c with slab QLT (and its gap-less bracket) and the 4 r_g²/(η L_c) limit."""
    figure, axes = _figure()
    markers = {}
    for item in results:
        kind, eta = item["case"]["kind"], item["case"]["eta"]
        marker = markers.setdefault((kind, eta), "os^vD<>"[len(markers) % 7])
        rho = item["case"]["reduced_rigidity"]
        label_eta = f"{kind} η={eta:g}"
        axes.errorbar(rho, item["lambda_parallel"], item["lambda_parallel_error"], fmt=marker, color="C0",
                      label=f"λ∥ {label_eta}")
        # slab: κ⊥ = 0 (field lines do not diffuse, docs/physics/transport.md#slab-qlt); its running value is in the
        # table only
        if kind != "slab" and item["lambda_perp"] > 0:
            axes.errorbar(rho, item["lambda_perp"], item["lambda_perp_error"], fmt=marker, color="C1", mfc="none",
                          label=f"λ⊥ {label_eta}")
    slab = [item for item in results if "qlt" in item]
    if slab:
        eta = slab[0]["case"]["eta"]
        ratio = slab[0]["case"]["lmin_over_lmax"]
        grid = np.geomspace(0.05, 1.0, 30)
        axes.plot(grid, [3.0 * transport.parallel_diffusion(r, eta, lmin_over_lmax=ratio) for r in grid], "C0-",
                  lw=1, label=f"slab QLT λ∥ (η={eta:g})")
        axes.plot(grid, [3.0 * slab_qlt_bracket(r, eta, ratio)["outside_gap"] for r in grid], "C0:", lw=1,
                  label="slab QLT without resonance gap")
    grid = np.geomspace(0.3, 30.0, 30)
    axes.plot(grid, high_rigidity_mean_free_path(grid), "k--", lw=1, label=r"$4r_g^2/L_c$ (η = 1, two-sided $L_c$)")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel(r"$r_g/L_c$")
    axes.set_ylabel(r"$\lambda/L_c$")
    axes.set_title("mean free paths λ = 3κ/c")
    handles, labels = axes.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    axes.legend(unique.values(), unique.keys(), fontsize=6.5)
    return figure


def _save(figure, path: Path) -> str:
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format="png", dpi=110)
    return path.name


# ---------------------------------------------------------------------------------------------------- driver
def run_transport_checks(quick: bool = True, seed: int = TRANSPORT_SEED, out_dir=".", executor=None, *,
                         cases=None, figures: bool = True) -> dict:
    """Run the transport cases, write ``transport.json`` and PNG figures into ``out_dir``, return the numbers.

    Parameters
    ----------
    quick : bool
        :data:`QUICK_CASES` (about a minute of one core) or :data:`FULL_CASES`.
    seed : int
        Root seed; case ``i`` uses ``SeedSequence(seed, spawn_key=(i,))`` (:func:`run_case`).
    out_dir : path
    executor : concurrent.futures.Executor, optional
        Where realisations run (default serial).
    cases : sequence of TransportCase, optional
        Override the case list.
    figures : bool
        Write the PNGs.
    """
    start = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    selected = tuple(cases) if cases is not None else (QUICK_CASES if quick else FULL_CASES)
    results = [analyse_case(run_case(case, seed, executor, index=index)) for index, case in enumerate(selected)]
    output = {
        "command": f"validation.transport_checks.run_transport_checks(quick={bool(quick)}, seed={int(seed)})",
        "seed": int(seed),
        "quick": bool(quick),
        "error_model": ("standard error across realisations (turbulence seeds); delete-one jackknife over "
                        "realisations for running coefficients, slopes and the heuristic model"),
        "plateau_start_fraction": PLATEAU_START_FRACTION,
        "subdiffusion_window_over_tau": list(SUBDIFFUSION_WINDOW),
        "cases": results,
        "wall_seconds": time.perf_counter() - start,
    }
    paths = {}
    if figures:
        paths["running"] = _save(figure_running(results), out_dir / "transport_running.png")
        paths["mean_free_paths"] = _save(figure_mean_free_paths(results), out_dir / "transport_mean_free_paths.png")
        for item in results:
            if "subdiffusion" in item:
                paths[f"subdiffusion_{item['name']}"] = _save(figure_subdiffusion(item),
                                                              out_dir / f"transport_subdiffusion_{item['name']}.png")
            if "heuristic" in item:
                paths[f"heuristic_{item['name']}"] = _save(figure_heuristic(item),
                                                           out_dir / f"transport_heuristic_{item['name']}.png")
    output["figures"] = paths
    output = jsonable(output, nonfinite_as_null=True)
    write_json(out_dir / "transport.json", output)
    return output
