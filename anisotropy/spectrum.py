r"""Discrete Kolmogorov plane-wave spectra shared by the theory and the test-particle simulator.

docs/physics/simulator.md#plane-wave-field (item 1) and docs/physics/pair_rates.md: the turbulence is a sum of plane
waves with log-spaced wavenumbers
:math:`k_n` between :math:`2\pi/L_\max` and :math:`2\pi/L_\min`,

.. math:: \delta\mathbf B(\mathbf r) = \sum_n A_n\,\hat\xi_n\cos(k_n\hat\kappa_n\cdot\mathbf r + \beta_n),
          \qquad A_n^2 = 2\langle\delta B^2\rangle\,f_n,

with power fractions :math:`f_n \propto S(k_n)\,\Delta k_n \propto k_n^{1-q}` (log spacing makes
:math:`\Delta k_n\propto k_n`) and :math:`\sum_n f_n = 1`.  The same index :math:`q = 5/3` serves the 1D slab
spectrum and the isotropic 3D shell spectrum (both :math:`\propto k^{-5/3}` per :math:`dk`).

The simulator (``validation/simulator/turbulence.py``) draws its modes from :func:`kolmogorov_modes`, and the pair-rate
models (:mod:`anisotropy.pair_rates`) evaluate :func:`slab_correlation` / :func:`isotropic_correlation` on the very
same modes, so theory and simulation see identical turbulence statistics (docs/physics/pair_rates.md#slab-pair-rate,
[S]).

Units: lengths in :math:`L_c` (docs/physics/conventions.md#correlation-length, :math:`L_c \approx L_\max/5`; see
:func:`anisotropy.units.correlation_length`), wavenumbers in :math:`1/L_c`.  Everything here is deterministic.

Examples
--------
>>> from anisotropy import spectrum
>>> k, f = spectrum.kolmogorov_modes(1e-2, modes_per_decade=8)
>>> len(k), round(float(f.sum()), 12)                         # 2 decades x 8 modes; power fractions sum to 1
(16, 1.0)
>>> round(float(spectrum.slab_correlation(0.0, k, f)), 12)   # R(0) = 1
1.0
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ParameterError, require_integer, require_range
from .turbulence import DEFAULT_LMIN_OVER_LMAX, DEFAULT_MODES_PER_DECADE, DEFAULT_SPECTRAL_INDEX
from .units import outer_scale

__all__ = ["isotropic_correlation", "kolmogorov_modes", "mode_count", "slab_correlation"]

#: separations are processed in blocks of this many values, so memory stays O(block × modes)
_BLOCK = 4096
#: most plane-wave modes of one spectrum: each costs a few floats per evaluation point, and 1e7 modes already
#: take minutes per correlation function, so more is refused rather than attempted
MAX_MODES = 10**7


def mode_count(lmin_over_lmax: float = DEFAULT_LMIN_OVER_LMAX, modes_per_decade: int = DEFAULT_MODES_PER_DECADE) -> int:
    r"""Number of modes :math:`N = \max(2, \lceil m\,\log_{10}(L_\max/L_\min)\rceil)` for ``modes_per_decade`` m.

    Both ends, :math:`k_\min = 2\pi/L_\max` and :math:`k_\max = 2\pi/L_\min`, are included among the N modes, so the
    log spacing is :math:`\log_{10}(L_\max/L_\min)/(N-1)` decades (no extra endpoint is added).
    """
    ratio = require_range("lmin_over_lmax", lmin_over_lmax, 0.0, 1.0, low_open=True, high_open=True)
    per_decade = require_integer("modes_per_decade", modes_per_decade, 1)
    # round() first: log10(1e-3) is -2.9999999999999996 and must not add a mode
    decades = round(-math.log10(ratio), 12)
    count = per_decade * decades
    if count > MAX_MODES:
        raise ParameterError("modes_per_decade", f"{per_decade:.3g} per decade over {decades:.3g} decades is "
                             f"{count:.3g} modes (> {MAX_MODES}); lower modes_per_decade or raise lmin_over_lmax")
    return max(2, math.ceil(count))


def kolmogorov_modes(
    lmin_over_lmax: float = DEFAULT_LMIN_OVER_LMAX,
    modes_per_decade: int = DEFAULT_MODES_PER_DECADE,
    spectral_index: float = DEFAULT_SPECTRAL_INDEX,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Log-spaced wavenumbers and power fractions of a power-law spectrum (docs/physics/simulator.md#plane-wave-field
    item 1).

    Parameters
    ----------
    lmin_over_lmax : float
        :math:`L_\min/L_\max` in (0, 1).
    modes_per_decade : int
        Density of modes; the count is :func:`mode_count` (both ends included).
    spectral_index : float
        :math:`q` in :math:`S(k)\propto k^{-q}` per :math:`dk` (> 1; 5/3 for Kolmogorov, slab or isotropic).

    Returns
    -------
    wavenumbers : ndarray, shape (N,)
        :math:`k_n` in units of :math:`1/L_c`, geometric from :math:`2\pi/L_\max` to :math:`2\pi/L_\min` with
        :math:`L_\max` = :func:`anisotropy.units.outer_scale` ``(1, lmin_over_lmax, spectral_index)`` (in
        :math:`L_c`).
    power_fraction : ndarray, shape (N,)
        :math:`f_n = k_n^{1-q}/\sum_m k_m^{1-q}`; the plane-wave amplitudes are
        :math:`A_n^2 = 2\langle\delta B^2\rangle f_n`.
    """
    count = mode_count(lmin_over_lmax, modes_per_decade)
    index = require_range("spectral_index", spectral_index, 1.0, None, low_open=True)
    l_max = outer_scale(1.0, lmin_over_lmax, index)
    k_min = 2.0 * math.pi / l_max
    k_max = k_min / lmin_over_lmax
    wavenumbers = np.geomspace(k_min, k_max, count)
    # scale by k_min before the power so the weights are O(1) whatever the range
    weights = (wavenumbers / k_min) ** (1.0 - index)
    return wavenumbers, weights / weights.sum()


def _check_modes(wavenumbers, power_fraction) -> tuple[np.ndarray, np.ndarray]:
    wavenumbers = np.asarray(wavenumbers, dtype=float).ravel()
    power_fraction = np.asarray(power_fraction, dtype=float).ravel()
    if wavenumbers.shape != power_fraction.shape or wavenumbers.size == 0:
        raise ParameterError("power_fraction", "needs one entry per wavenumber (non-empty, same length)")
    return wavenumbers, power_fraction


def _blockwise(values, wavenumbers, power_fraction, kernel) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    flat = values.ravel()
    result = np.empty(flat.size)
    for start in range(0, flat.size, _BLOCK):
        block = flat[start : start + _BLOCK]
        result[start : start + _BLOCK] = kernel(np.multiply.outer(block, wavenumbers)) @ power_fraction
    return result.reshape(values.shape)


def slab_correlation(separation, wavenumbers, power_fraction) -> np.ndarray:
    r"""Normalised slab correlation :math:`R(\Delta z) = \sum_n f_n\cos(k_n\Delta z)`
    (docs/physics/pair_rates.md#slab-pair-rate).

    For :math:`\delta\mathbf B(z)\perp\hat z`, :math:`\langle\delta B_i(z)\delta B_j(z')\rangle =
    (\delta B^2/2)(\delta_{ij}-\hat z_i\hat z_j)R(z-z')` with :math:`R(0) = \sum f_n = 1`.

    Parameters
    ----------
    separation : array_like
        :math:`\Delta z` in the length unit of ``1/wavenumbers`` (:math:`L_c` for :func:`kolmogorov_modes`).
    wavenumbers, power_fraction : array_like
        The modes, e.g. from :func:`kolmogorov_modes`.
    """
    wavenumbers, power_fraction = _check_modes(wavenumbers, power_fraction)
    return _blockwise(separation, wavenumbers, power_fraction, np.cos)


def isotropic_correlation(distance, wavenumbers, power_fraction) -> np.ndarray:
    r"""Trace correlation of isotropic plane waves, :math:`R(r) = \sum_n f_n\,\sin(k_n r)/(k_n r)`
    (docs/physics/pair_rates.md#isotropic-pair-rate).

    :math:`R(r) = \langle\delta\mathbf B(\mathbf r)\cdot\delta\mathbf B(0)\rangle/\langle\delta B^2\rangle`: the
    average of :math:`\cos(k\hat\kappa\cdot\mathbf r)` over directions :math:`\hat\kappa` uniform on the sphere is
    :math:`\sin(kr)/(kr)`, and :math:`\hat\xi_n\cdot\hat\xi_n = 1`.  :math:`R(0) = 1`.

    Parameters
    ----------
    distance : array_like
        :math:`r = |\mathbf r-\mathbf r'|` in the length unit of ``1/wavenumbers``.
    wavenumbers, power_fraction : array_like
        The modes, e.g. from :func:`kolmogorov_modes`.
    """
    wavenumbers, power_fraction = _check_modes(wavenumbers, power_fraction)
    # np.sinc(u) = sin(pi u)/(pi u), exact 1 at u = 0
    return _blockwise(distance, wavenumbers, power_fraction, lambda phase: np.sinc(phase / np.pi))
