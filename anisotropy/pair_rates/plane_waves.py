"""Closed-form plane-wave pair rates: slab turbulence with B0 and isotropic turbulence with B0 = 0.

Steps 1-3 of the derivation in the :mod:`anisotropy.pair_rates` docstring.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

from ..errors import ParameterError, require_integer, require_range
from ..legendre import gauss_legendre

#: multipoles projected per BLAS block in pair_correlation_coefficients (memory ~ nodes × block doubles)
_MULTIPOLE_BLOCK = 128

#: largest Legendre series of the physical models (k_max r_g ΩΔT beyond ~16000 would need GBs of memory)
MAX_SERIES_LENGTH = 16384

#: Gauss-Legendre node counts are rounded up to a multiple of this, so that the cached rules are reused
_NODE_QUANTUM = 64



def series_length(bandwidth: float) -> int:
    r"""Last Legendre degree kept for a function band-limited to :math:`\mu`-frequencies ≤ ``bandwidth`` β.

    The coefficients of :math:`e^{i\beta\mu}` are :math:`(2\ell+1)i^\ell j_\ell(\beta)`, which fall below
    1e-12 at :math:`\ell = \beta + 9\beta^{1/3} + 20` for β up to 3000 (mpmath: at most 3.2e-14 there, against
    2.4e-12 with 8β^{1/3}; far below for small β); the pair correlation uses their squares, so the neglected tail
    is below 1e-24 relative.
    """
    bandwidth = require_range("bandwidth", bandwidth, 0.0, None)
    return math.ceil(bandwidth + 9.0 * bandwidth ** (1.0 / 3.0) + 20.0)


def pair_correlation_coefficients(scaled_wavenumbers, power_fraction, pair_time: float, gyration: float,
                                  lmax: int | None = None, n_nodes: int | None = None,
                                  single_precision: bool = False) -> np.ndarray:
    r"""Legendre coefficients of the orientation-averaged pair integral, per unit :math:`\delta\Omega^2/3`.

    Returns :math:`g_\ell = T^2\sum_n f_n\,|F_{n\ell}|^2/(2\ell+1)`, ℓ = 0..lmax, so that
    :math:`\tilde c(x) = (\delta\Omega^2/3)\sum_\ell g_\ell P_\ell(x)` (module docstring, steps 1-2), with
    :math:`F_n(\mu) = \operatorname{sinc}((w-a_n\mu)T/2)\,e^{ia_nT\mu/2}` and
    :math:`F_{n\ell} = \frac{2\ell+1}{2}\int F_nP_\ell\,d\mu` by Gauss-Legendre quadrature.

    Parameters
    ----------
    scaled_wavenumbers : array_like
        :math:`a_n = k_n r_g` (wavenumbers in units of :math:`1/r_g`, :math:`r_g` in :math:`B_\mathrm{tot}`).
    power_fraction : array_like
        :math:`f_n`, summing to 1.
    pair_time : float
        :math:`T = \Omega\Delta T`.
    gyration : float
        :math:`w = \Omega_0/\Omega = \sqrt{1-\eta}` (0 for ballistic orbits).
    lmax : int, optional
        Last degree; default :func:`series_length` of :math:`\max_n a_nT`.
    n_nodes : int, optional
        Gauss-Legendre nodes; default ``lmax + 32`` rounded up to a multiple of 64 (exact for the
        degree-≤2·lmax product, see :func:`series_length`).

    Modes are processed only up to their own :func:`series_length` of :math:`a_nT` (their higher coefficients are
    below 1e-24 relative), which cuts the cost several-fold for log-spaced modes.

    ``single_precision``: the projections (the GEMMs, almost all of the cost) in float32, the squares and the mode
    sum in float64: twice as fast, with :math:`g_\ell` good to ~1e-5 relative instead of round-off (measured: the
    untruncated C_ℓ of :func:`anisotropy.predict_cl` change by < 1e-5; tested).
    """
    scaled = np.asarray(scaled_wavenumbers, dtype=float).ravel()
    fractions = np.asarray(power_fraction, dtype=float).ravel()
    if scaled.shape != fractions.shape or scaled.size == 0:
        raise ParameterError("power_fraction", "needs one entry per wavenumber (non-empty, same length)")
    pair_time = require_range("pair_time", pair_time, 0.0, None, low_open=True)
    gyration = require_range("gyration", gyration, 0.0, None)
    order = np.argsort(np.abs(scaled))
    scaled, fractions = scaled[order], fractions[order]
    if lmax is None:
        lmax = series_length(float(np.abs(scaled[-1])) * pair_time)
    lmax = require_integer("lmax", lmax, 0)
    if lmax > MAX_SERIES_LENGTH:
        raise ParameterError(
            "lmin_over_lmax",
            f"k_max r_g ΩΔT = {float(np.abs(scaled[-1])) * pair_time:.3g} needs a Legendre series of {lmax:.3g} terms "
            f"(> {MAX_SERIES_LENGTH}); raise lmin_over_lmax (fewer small scales) or lower the rigidity or pair time",
        )
    if n_nodes is None:
        n_nodes = _NODE_QUANTUM * math.ceil((lmax + 32) / _NODE_QUANTUM)
    n_nodes = require_integer("n_nodes", n_nodes, 2)
    n_nodes += n_nodes % 2  # even, so the nodes pair up as ±μ (no node at 0)
    nodes, weights = gauss_legendre(n_nodes)
    # P_ℓ(-μ) = (-1)^ℓ P_ℓ(μ): project F(μ) ± F(-μ) on the positive half of the nodes, even ℓ with +, odd with -
    half_nodes, half_weights = nodes[n_nodes // 2 :], weights[n_nodes // 2 :]
    # mode n contributes only up to its own series length (sorted ascending, so the active modes are a suffix)
    mode_lengths = np.array([series_length(abs(value) * pair_time) for value in scaled])
    parts = {}
    for sign in (1.0, -1.0):
        half_phase = 0.5 * pair_time * np.multiply.outer(scaled, sign * half_nodes)
        # np.sinc(u/π) = sin(u)/u with the removable singularity at u = 0 handled exactly
        envelope = np.sinc((0.5 * pair_time * gyration - half_phase) / np.pi) * half_weights
        parts[sign] = (envelope * np.cos(half_phase), envelope * np.sin(half_phase))
        del half_phase, envelope
    working = np.float32 if single_precision else np.float64
    even = tuple((parts[1.0][i] + parts[-1.0][i]).astype(working, copy=False) for i in (0, 1))
    odd = tuple((parts[1.0][i] - parts[-1.0][i]).astype(working, copy=False) for i in (0, 1))
    del parts
    coefficients = np.empty(lmax + 1)
    previous, current = np.zeros_like(half_nodes), np.ones_like(half_nodes)
    for start in range(0, lmax + 1, _MULTIPOLE_BLOCK):
        stop = min(start + _MULTIPOLE_BLOCK, lmax + 1)
        table = np.empty((stop - start, half_nodes.size))
        for ell in range(start, stop):
            table[ell - start] = current
            previous, current = current, ((2 * ell + 1) * half_nodes * current - ell * previous) / (ell + 1)
        first = int(np.searchsorted(mode_lengths, start, side="left"))
        for parity, (real_part, imaginary_part) in ((0, even), (1, odd)):
            offset = (start + parity) % 2  # first row of this parity within the block
            rows = np.ascontiguousarray(table[offset::2].T, dtype=working)
            # Σ_j w_j F(μ_j) P_ℓ(μ_j) for the active modes: real GEMMs for the real and imaginary parts
            real_projection = (real_part[first:] @ rows).astype(np.float64, copy=False)
            imaginary_projection = (imaginary_part[first:] @ rows).astype(np.float64, copy=False)
            squared = real_projection**2 + imaginary_projection**2
            ell = np.arange(start + offset, stop, 2)
            # |F_ℓ|²/(2ℓ+1) = (2ℓ+1)/4 |Σ w F P_ℓ|²
            coefficients[ell] = fractions[first:] @ squared * (2 * ell + 1) / 4.0
    return pair_time**2 * coefficients


def self_correlation(scaled_wavenumbers, power_fraction, pair_time: float, gyration: float) -> float:
    r"""Closed form of :math:`\sum_\ell g_\ell = \tilde c(1)/(\delta\Omega^2/3)` (independent of the series).

    :math:`T^2\sum_n f_n\,\tfrac12\int_{-1}^1\operatorname{sinc}^2\frac{(w-a_n\mu)T}{2}d\mu
    = T\sum_n \frac{f_n}{a_n}\,[G(u_n^+) - G(u_n^-)]`, :math:`u_n^\pm = (w\pm a_n)T/2`,
    with :math:`G(u) = \mathrm{Si}(2u) - \sin^2(u)/u` (:math:`G' = \operatorname{sinc}^2`).  Used to check the
    truncation of :func:`pair_correlation_coefficients`; loses accuracy as :math:`a_nT\to0`.
    """
    scaled = np.asarray(scaled_wavenumbers, dtype=float).ravel()
    fractions = np.asarray(power_fraction, dtype=float).ravel()

    def antiderivative(u):
        si, _ = special.sici(2.0 * u)
        with np.errstate(invalid="ignore", divide="ignore"):
            tail = np.where(u == 0.0, 0.0, np.sin(u) ** 2 / np.where(u == 0.0, 1.0, u))
        return si - tail

    upper = antiderivative(0.5 * (gyration + scaled) * pair_time)
    lower = antiderivative(0.5 * (gyration - scaled) * pair_time)
    return float(pair_time * np.sum(fractions / scaled * (upper - lower)))
