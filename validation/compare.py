r"""Statistics of theory against simulation for :math:`\langle C_\ell\rangle`
(docs/physics/conventions.md#angular-power-spectrum, docs/physics/simulator.md#convergence-in-time,
docs/physics/simulator.md#ensemble).

What the simulator produces is an ensemble of :math:`N` turbulence realisations, each giving a :math:`\hat C_\ell(T)`
per backtracking time :math:`T`.  This module turns that ensemble into the quantities compared with theory and
states the error model used for every comparison.

Error model (docs/physics/simulator.md#ensemble)
------------------------------------------------
* **Ensemble scatter** (default).  The covariance of the ensemble mean is the sample covariance of the
  realisations (``ddof = 1``) divided by :math:`N`.  It is built from the per-realisation first and second moments
  (:meth:`EnsembleSpectrum.from_moments`), so any executor's aggregated means suffice.
* **Cosmic variance** (Gaussian baseline, for reference).  If the :math:`a_{\ell m}` of one realisation were
  Gaussian, :math:`\mathrm{Var}\,\hat C_\ell = 2C_\ell^2/(2\ell+1)`; :func:`cosmic_variance` gives it and
  :func:`scatter_over_cosmic_variance` the measured ratio.  The :math:`a_{\ell m}` are not Gaussian (the ensemble mean
  map is a dipole, and with a regular field it has an axisymmetric part, docs/physics/mixing_ode.md#caveats), so
  comparisons use the
  empirical scatter; the Gaussian value is reported only as a diagnostic.
* **White-noise floor** (a cut, not an error term).  A map of uncorrelated pixels with the same variance has the flat
  :math:`\hat C_\ell = 4\pi\sigma^2/N_\mathrm{pix}` (docs/physics/conventions.md#angular-power-spectrum,
  docs/physics/simulator.md#white-noise-floor); multipoles within
  :data:`FLOOR_FACTOR` of that floor, or above :data:`NSIDE_FRACTION` :math:`\times N_\mathrm{side}` (aliasing),
  are excluded (:func:`usable_multipoles`).

Ratios (:func:`cl_ratio`) :math:`R_\ell = \langle C_\ell\rangle/\langle C_1\rangle` propagate the full covariance,
including that of :math:`C_\ell` with :math:`C_1` across realisations, to first order (delta method):
:math:`\mathrm{Cov}(R) = J\,\Sigma\,J^\top` with :math:`\partial R_\ell/\partial C_\ell = 1/C_1`,
:math:`\partial R_\ell/\partial C_1 = -R_\ell/C_1`.

Convergence in :math:`T` (docs/physics/simulator.md#convergence-in-time, :func:`convergence_in_time`) is declared per ℓ
from the per-realisation
change of :math:`\hat C_\ell` between successive times, whose ensemble scatter accounts for the strong correlation of
one realisation's :math:`\hat C_\ell` at successive :math:`T`.

Figures are returned as :class:`matplotlib.figure.Figure` objects (no pyplot state), to be saved by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from anisotropy.errors import ParameterError, require_integer, require_range

__all__ = [
    "CONVERGENCE_RTOL",
    "CONVERGENCE_Z",
    "FLOOR_FACTOR",
    "NSIDE_FRACTION",
    "ChiSquare",
    "EnsembleSpectrum",
    "RatioSpectrum",
    "chi_square",
    "cl_ratio",
    "convergence_in_time",
    "cosmic_variance",
    "dipole_power_ratio",
    "figure_convergence",
    "figure_ratio",
    "mean_field_power",
    "scatter_over_cosmic_variance",
    "usable_multipoles",
    "z_scores",
]

#: a multipole is compared only if ⟨C_ℓ⟩ exceeds the white-noise floor 4πσ²/N_pix by this factor: within a factor
#: of a few of the floor the map is dominated by decorrelated pixels and by power aliased from ℓ > 2 N_side
#: (docs/physics/simulator.md#white-noise-floor: the toy's aliasing excess was 20-30 % at the resolution limit)
FLOOR_FACTOR = 10.0
#: multipoles above NSIDE_FRACTION * N_side are excluded: anafast is exact only to ~2 N_side and the pixel window
#: (not corrected here, it would need downloaded data) suppresses C_ℓ by ~(1 - ℓ²/(4 N_side²))
NSIDE_FRACTION = 1.0
#: convergence in T: the last change |ΔC_ℓ| must be below CONVERGENCE_RTOL · C_ℓ plus CONVERGENCE_Z standard errors
#: of the change (a 10 % tolerance: comparable to the statistical error of a few-realisation ensemble at ℓ ≤ 10)
CONVERGENCE_RTOL = 0.1
#: number of standard errors of the per-realisation change tolerated on top of CONVERGENCE_RTOL (two-sided 2σ)
CONVERGENCE_Z = 2.0


# ---------------------------------------------------------------------------------------------------- containers
@dataclass(frozen=True)
class EnsembleSpectrum:
    r"""Ensemble mean :math:`\langle\hat C_\ell\rangle` and the covariance of that mean (empirical scatter / N).

    Attributes
    ----------
    ell : ndarray of int (L,)
    mean : ndarray (L,)
    covariance : ndarray (L, L)
        Covariance of the **mean**: sample covariance across realisations (``ddof = 1``) divided by ``count``.
    count : int
        Number of realisations N.
    """

    ell: np.ndarray
    mean: np.ndarray
    covariance: np.ndarray
    count: int

    @property
    def standard_error(self) -> np.ndarray:
        """Standard error of the mean, per multipole."""
        return np.sqrt(np.clip(np.diag(self.covariance), 0.0, None))

    @classmethod
    def from_samples(cls, samples, ell=None) -> EnsembleSpectrum:
        """From per-realisation spectra ``samples`` of shape (N, L), N ≥ 2."""
        samples = np.asarray(samples, dtype=float)
        if samples.ndim != 2 or samples.shape[0] < 2:
            raise ParameterError("samples", f"expected shape (realisations >= 2, multipoles), got {samples.shape}")
        count = samples.shape[0]
        ell = np.arange(samples.shape[1]) if ell is None else np.asarray(ell, dtype=int)
        return cls(ell, samples.mean(axis=0), np.cov(samples, rowvar=False, ddof=1) / count, count)

    @classmethod
    def from_moments(cls, mean, mean_products, count: int, ell=None) -> EnsembleSpectrum:
        r"""From :math:`\overline{C_\ell}` and :math:`\overline{C_\ell C_{\ell'}}` over N realisations.

        Sample covariance :math:`\frac{N}{N-1}(\overline{C_\ell C_{\ell'}} - \overline{C_\ell}\,\overline{C_{\ell'}})`,
        divided by N for the covariance of the mean.  (The subtraction loses relative precision
        ~1e-16 · C²/Var; harmless for the relative scatters ≳ 1e-4 of these ensembles.)
        """
        count = require_integer("count", count, 2)
        mean = np.asarray(mean, dtype=float)
        products = np.asarray(mean_products, dtype=float)
        if products.shape != (mean.size, mean.size):
            raise ParameterError("mean_products", f"expected shape {(mean.size, mean.size)}, got {products.shape}")
        sample_covariance = (products - np.outer(mean, mean)) * count / (count - 1)
        ell = np.arange(mean.size) if ell is None else np.asarray(ell, dtype=int)
        return cls(ell, mean, sample_covariance / count, count)

    def select(self, ells) -> EnsembleSpectrum:
        """The sub-spectrum at the multipoles ``ells`` (must be present)."""
        index = _indices(self.ell, ells)
        return EnsembleSpectrum(self.ell[index], self.mean[index], self.covariance[np.ix_(index, index)], self.count)


@dataclass(frozen=True)
class RatioSpectrum:
    r"""Ratio :math:`R_\ell = \langle C_\ell\rangle/\langle C_{\ell_\mathrm{ref}}\rangle` with its covariance."""

    ell: np.ndarray
    ratio: np.ndarray
    covariance: np.ndarray
    reference_ell: int

    @property
    def standard_error(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.covariance), 0.0, None))

    def select(self, ells) -> RatioSpectrum:
        index = _indices(self.ell, ells)
        return RatioSpectrum(self.ell[index], self.ratio[index], self.covariance[np.ix_(index, index)],
                             self.reference_ell)


@dataclass(frozen=True)
class ChiSquare:
    """Result of :func:`chi_square`: value, degrees of freedom, reduced value, p-value and the z-scores."""

    chi2: float
    dof: int
    p_value: float
    z: np.ndarray

    @property
    def reduced(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else float("nan")

    def as_dict(self) -> dict:
        return {"chi2": self.chi2, "dof": self.dof, "reduced_chi2": self.reduced, "p_value": self.p_value,
                "z": [float(value) for value in self.z]}


def _indices(available, wanted) -> np.ndarray:
    available = np.asarray(available, dtype=int)
    wanted = np.atleast_1d(np.asarray(wanted, dtype=int))
    lookup = {int(value): position for position, value in enumerate(available)}
    missing = [int(value) for value in wanted if int(value) not in lookup]
    if missing:
        raise ParameterError("ells", f"multipoles {missing} are not in the spectrum "
                                     f"({available.min()}..{available.max()})")
    return np.array([lookup[int(value)] for value in wanted], dtype=int)


# ---------------------------------------------------------------------------------------------------- statistics
def cl_ratio(spectrum: EnsembleSpectrum, reference_ell: int = 1) -> RatioSpectrum:
    r"""Ratios :math:`R_\ell = \langle C_\ell\rangle/\langle C_{\ell_\mathrm{ref}}\rangle` with delta-method covariance.

    :math:`\mathrm{Cov}(R) = J\Sigma J^\top`, :math:`J_{\ell\ell'} = \delta_{\ell\ell'}/C_\mathrm{ref}
    - \delta_{\ell'\,\mathrm{ref}}R_\ell/C_\mathrm{ref}` (module docstring), with :math:`\Sigma` the covariance of the
    ensemble means, so the correlation of :math:`C_\ell` and :math:`C_1` across realisations is included.  First order
    in the relative errors (adequate when :math:`\sigma(C_1)/C_1 \ll 1`; ``tests/validation/test_compare.py`` checks
    it against Monte Carlo).  The reference multipole itself gets ratio 1 and zero variance.
    """
    reference = int(_indices(spectrum.ell, [reference_ell])[0])
    denominator = spectrum.mean[reference]
    if not denominator > 0:
        raise ParameterError("spectrum", f"C_{reference_ell} must be positive to form ratios, got {denominator:g}")
    ratio = spectrum.mean / denominator
    jacobian = np.eye(ratio.size) / denominator
    jacobian[:, reference] -= ratio / denominator
    covariance = jacobian @ spectrum.covariance @ jacobian.T
    return RatioSpectrum(spectrum.ell.copy(), ratio, covariance, int(reference_ell))


def cosmic_variance(cl, ell) -> np.ndarray:
    r"""Gaussian variance of one realisation's :math:`\hat C_\ell`: :math:`2C_\ell^2/(2\ell+1)`
    (docs/physics/simulator.md#ensemble)."""
    cl = np.asarray(cl, dtype=float)
    ell = np.asarray(ell, dtype=float)
    return 2.0 * cl**2 / (2.0 * ell + 1.0)


def scatter_over_cosmic_variance(spectrum: EnsembleSpectrum) -> np.ndarray:
    r"""Measured per-realisation variance over the Gaussian :math:`2C_\ell^2/(2\ell+1)` (1 for Gaussian a_ℓm)."""
    per_realisation = np.diag(spectrum.covariance) * spectrum.count
    with np.errstate(divide="ignore", invalid="ignore"):
        return per_realisation / cosmic_variance(spectrum.mean, spectrum.ell)


def z_scores(data, model, sigma) -> np.ndarray:
    r""":math:`z = (d - m)/\sigma` elementwise."""
    return (np.asarray(data, dtype=float) - np.asarray(model, dtype=float)) / np.asarray(sigma, dtype=float)


def chi_square(data, model, covariance, *, fitted_parameters: int = 0) -> ChiSquare:
    r""":math:`\chi^2 = r^\top C^{-1} r` with :math:`r = d - m`, its p-value and the diagonal z-scores.

    Parameters
    ----------
    data, model : array_like (n,)
    covariance : array_like (n,) or (n, n)
        Standard errors (1-d, uncorrelated) or the full covariance.  A full covariance estimated from N
        realisations is itself noisy and singular for N ≤ n; pass its diagonal's square root unless N ≫ n.
    fitted_parameters : int
        Parameters adjusted to the same data; ``dof = n - fitted_parameters``.

    Returns
    -------
    ChiSquare
        ``p_value`` is the upper tail of the χ² distribution with ``dof`` degrees of freedom (Gaussian errors
        assumed).
    """
    data = np.asarray(data, dtype=float).ravel()
    model = np.asarray(model, dtype=float).ravel()
    covariance = np.asarray(covariance, dtype=float)
    if data.shape != model.shape:
        raise ParameterError("model", f"needs the shape of data {data.shape}, got {model.shape}")
    residual = data - model
    if covariance.ndim == 1:
        if covariance.shape != data.shape or np.any(covariance <= 0):
            raise ParameterError("covariance", "standard errors must be positive, one per data point")
        z = residual / covariance
        chi2 = float(np.sum(z**2))
    else:
        if covariance.shape != (data.size, data.size):
            raise ParameterError("covariance", f"expected shape {(data.size, data.size)}, got {covariance.shape}")
        chi2 = float(residual @ np.linalg.solve(covariance, residual))
        z = residual / np.sqrt(np.diag(covariance))
    dof = data.size - require_integer("fitted_parameters", fitted_parameters, 0)
    p_value = float(stats.chi2.sf(chi2, dof)) if dof > 0 else float("nan")
    return ChiSquare(chi2, int(dof), p_value, z)


def usable_multipoles(spectrum: EnsembleSpectrum, noise_floor: float, nside: int, *, lmin: int = 2,
                      floor_factor: float = FLOOR_FACTOR, nside_fraction: float = NSIDE_FRACTION) -> np.ndarray:
    r"""Multipoles ℓ ≥ ``lmin`` with :math:`\langle C_\ell\rangle >` ``floor_factor`` × floor and
    :math:`\ell \le` ``nside_fraction`` × N_side (module docstring, docs/physics/simulator.md#white-noise-floor).

    Only the contiguous run starting at ``lmin`` is returned: once a multipole drops to the floor, higher ones
    are not trusted even if a fluctuation lifts them.
    """
    floor_factor = require_range("floor_factor", floor_factor, 0.0, None)
    limit = nside_fraction * require_integer("nside", nside, 1)
    usable = []
    for ell, value in zip(spectrum.ell.tolist(), spectrum.mean.tolist()):
        if ell < lmin:
            continue
        if ell > limit or not value > floor_factor * noise_floor:
            break
        usable.append(ell)
    return np.array(usable, dtype=int)


def convergence_in_time(times, cl_mean, change_mean, change_error, *, rtol: float = CONVERGENCE_RTOL,
                        z: float = CONVERGENCE_Z) -> dict:
    r"""Per-ℓ convergence of :math:`\langle C_\ell\rangle(T)` at the last time
    (docs/physics/simulator.md#convergence-in-time).

    ℓ is declared converged when the ensemble-mean change between the last two times satisfies
    :math:`|\Delta C_\ell| \le \mathrm{rtol}\,C_\ell(T_\mathrm{last}) + z\,\sigma(\Delta C_\ell)`, where
    :math:`\sigma(\Delta C_\ell)` is the standard error of the per-realisation change (so the correlation of one
    realisation's :math:`C_\ell` at successive times is accounted for).

    Parameters
    ----------
    times : array (n_T,)
    cl_mean : array (n_T, L)
        Ensemble mean :math:`C_\ell(T)`.
    change_mean, change_error : array (n_T, L)
        Ensemble mean and standard error of :math:`C_\ell(T_k) - C_\ell(T_{k-1})` per realisation (row 0 unused).

    Returns
    -------
    dict
        ``converged`` (L,) bool, ``relative_change`` (L,) :math:`\Delta C_\ell/C_\ell` over the last interval,
        ``change_z`` (L,) :math:`\Delta C_\ell/\sigma`, ``last_times`` the two times compared.
    """
    times = np.asarray(times, dtype=float)
    cl_mean = np.asarray(cl_mean, dtype=float)
    if times.size < 2 or cl_mean.shape[0] != times.size:
        raise ParameterError("times", "needs at least two backtracking times matching cl_mean's first axis")
    change = np.asarray(change_mean, dtype=float)[-1]
    error = np.asarray(change_error, dtype=float)[-1]
    last = cl_mean[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = change / last
        significance = change / error
    converged = np.abs(change) <= rtol * np.abs(last) + z * np.nan_to_num(error, nan=0.0)
    return {"converged": converged, "relative_change": relative, "change_z": significance,
            "last_times": (float(times[-2]), float(times[-1]))}


def mean_field_power(power_of_mean, mean_power, count: int) -> np.ndarray:
    r"""Unbiased :math:`C_\ell` of the ensemble-mean map, :math:`|\langle a_{\ell m}\rangle|^2` summed, from N maps.

    With :math:`\bar a = \frac1N\sum_i a_i`, :math:`E|\bar a|^2 = |\mu|^2 + \sigma^2/N` and
    :math:`E\,\overline{|a|^2} = |\mu|^2 + \sigma^2`, hence
    :math:`|\mu|^2 = (N\,C_\ell[\bar a] - \overline{C_\ell})/(N-1)`.

    Parameters
    ----------
    power_of_mean : array
        :math:`C_\ell` of the mean map.
    mean_power : array
        Mean of the per-realisation :math:`C_\ell`.
    count : int
        N ≥ 2.
    """
    count = require_integer("count", count, 2)
    return (count * np.asarray(power_of_mean, dtype=float) - np.asarray(mean_power, dtype=float)) / (count - 1)


def dipole_power_ratio(c1, c1_error, dipole, dipole_error) -> tuple[float, float]:
    r""":math:`\langle C_1\rangle/(\frac{4\pi}{9}|\langle\boldsymbol\delta\rangle|^2)` and its delta-method error.

    The ratio is ≥ 1 by Jensen's inequality for every ensemble (the map :math:`C_1` of one realisation is
    :math:`\frac{4\pi}{9}|\boldsymbol\delta|^2`), docs/physics/source.md#total-power.  Error: standard errors of
    :math:`\langle C_1\rangle` and of each component of :math:`\langle\boldsymbol\delta\rangle`, combined as
    :math:`(\sigma_r/r)^2 = (\sigma_{C_1}/C_1)^2 + \left(2(\sum_i\delta_i^2\sigma_i^2)^{1/2}/|\delta|^2\right)^2`, their
    correlation neglected (realisations with a larger dipole have a larger :math:`C_1`: the correlation is positive
    and the error an overestimate).

    Parameters
    ----------
    c1, c1_error : float
        Ensemble mean of the map :math:`C_1` and its standard error.
    dipole, dipole_error : array_like, shape (3,)
        Ensemble-mean dipole vector and the standard errors of its components.

    Examples
    --------
    >>> import math
    >>> ratio, error = dipole_power_ratio(4 * math.pi / 9 * 0.25, 0.0, [0.0, 0.0, 0.5], [0.0, 0.0, 0.05])
    >>> round(ratio, 12), round(error, 12)
    (1.0, 0.2)
    """
    dipole = np.asarray(dipole, dtype=float)
    dipole_error = np.asarray(dipole_error, dtype=float)
    power = float(dipole @ dipole)
    if not power > 0.0:
        return float("nan"), float("nan")
    ratio = float(c1) / (4.0 * np.pi / 9.0 * power)
    power_error = 2.0 * float(np.sqrt(np.sum(dipole**2 * dipole_error**2)))
    return ratio, ratio * float(np.hypot(float(c1_error) / float(c1), power_error / power))


# ---------------------------------------------------------------------------------------------------- figures
def _figure(width=6.4, height=4.4):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def figure_ratio(ell, ratio, error, theory_curves: dict, *, title: str = "", usable=None):
    r"""Simulated :math:`C_\ell/C_1` with error bars against theory curves; returns a Figure.

    Parameters
    ----------
    ell, ratio, error : array
        Simulation.
    theory_curves : dict
        ``{label: (ell, ratio)}``.
    usable : array, optional
        Multipoles used in the fit (others drawn hollow).
    """
    figure = _figure()
    axes = figure.add_subplot()
    ell = np.asarray(ell)
    ratio = np.asarray(ratio)
    error = np.asarray(error)
    used = np.isin(ell, usable) if usable is not None else np.ones(ell.size, bool)
    positive = ratio > 0
    axes.errorbar(ell[used & positive], ratio[used & positive], error[used & positive], fmt="o", color="k",
                  label="simulation (fitted ℓ)")
    if np.any(~used & positive):
        axes.errorbar(ell[~used & positive], ratio[~used & positive], error[~used & positive], fmt="o",
                      mfc="none", color="0.5", label="simulation (excluded)")
    for label, (theory_ell, theory_ratio) in theory_curves.items():
        axes.plot(theory_ell, theory_ratio, label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    # multipoles are integers: label 1-2-5 steps in plain digits, not crowded "3×10⁰"-style minor labels
    from matplotlib.ticker import NullFormatter

    ticks = [tick for tick in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if ell.min() <= tick <= ell.max()]
    axes.set_xticks(ticks, [str(tick) for tick in ticks])
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.set_xlabel(r"$\ell$")
    axes.set_ylabel(r"$\langle C_\ell\rangle/\langle C_1\rangle$")
    axes.set_title(title, fontsize="small")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    return figure


def figure_convergence(times, cl_mean, cl_error, ells, *, noise_floor=None, time_unit: str = r"$cT/L_c$",
                       title: str = ""):
    r""":math:`\langle C_\ell\rangle(T)` for the multipoles ``ells`` (and the white-noise floor); returns a Figure."""
    figure = _figure()
    axes = figure.add_subplot()
    times = np.asarray(times, dtype=float)
    cl_mean = np.asarray(cl_mean, dtype=float)
    cl_error = np.asarray(cl_error, dtype=float)
    for ell in ells:
        axes.errorbar(times, cl_mean[:, ell], cl_error[:, ell], marker="o", ms=3, label=rf"$\ell = {ell}$")
    if noise_floor is not None:
        axes.plot(times, noise_floor, "k--", label="white-noise floor")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel(time_unit)
    axes.set_ylabel(r"$\langle C_\ell\rangle(T)$")
    axes.set_title(title, fontsize="small")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="x-small", ncol=2)
    return figure
