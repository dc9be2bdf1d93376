r"""Pair-rate models :math:`k(x)`: the Markov rate of the relative angular random walk of two directions.

docs/physics/mixing_ode.md#mixing-matrix: :math:`\kappa(x;\Delta t) = \tilde c(x;\Delta t) - \tilde c(1;\Delta t)` and
:math:`k(x) = \kappa(x;\Delta t)/\Delta t`.  The rate matrix (4.3) needs either :math:`k(x)` as a function (for the
Gauss-Legendre form) or its plain Legendre coefficients :math:`k_{\ell_A}` (for the 3j form).  A model provides
whichever it knows exactly; :func:`anisotropy.rate_matrix` chooses the form from that.

Every physical model satisfies :math:`k(1) = 0` (a direction paired with itself sees identical kicks), which is
what makes the mixing conserve total power, :math:`\sum_\ell (2\ell+1)\Gamma_{\ell\ell_0} = 0`.

Physical models (:meth:`PairRate.slab`, :meth:`PairRate.isotropic`, :meth:`PairRate.from_turbulence`)
------------------------------------------------------------------------------------------------------
See docs/physics/pair_rates.md#slab-pair-rate, docs/physics/pair_rates.md#isotropic-pair-rate.

Time unit :math:`1/\Omega` with :math:`\Omega = v/r_g` in the **total** field :math:`B_\mathrm{tot}`; :math:`k(x)` is
returned in units of :math:`\Omega`, lengths are in :math:`L_c` and :math:`\rho = r_g/L_c`.  Both models are
evaluated exactly (no Monte Carlo, no interpolation) on the discrete modes of
:func:`anisotropy.spectrum.kolmogorov_modes`, the modes the simulator uses:

1. **Per mode, the double time integral in closed form.**  With :math:`a_n = k_n\rho`, :math:`T = \Omega\Delta T`,
   :math:`w = \Omega_0/\Omega` and :math:`\operatorname{sinc} u = \sin u/u`,

   .. math:: \int_0^T\!\!\int_0^T\! ds_1 ds_2\,\cos w(s_1-s_2)\,\cos a_n(\mu_B s_2-\mu_A s_1)
             = T^2\,\mathrm{Re}\bigl[F_n(\mu_A)F_n^*(\mu_B)\bigr] + (\mu\to-\mu\ \text{term}),
             \qquad F_n(\mu) = \operatorname{sinc}\tfrac{(w-a_n\mu)T}{2}\,e^{ia_nT\mu/2},

   from :math:`\cos\alpha\cos\beta = \frac12[\cos(\alpha+\beta)+\cos(\alpha-\beta)]` and
   :math:`\int_0^T e^{ips}ds = Te^{ipT/2}\operatorname{sinc}(pT/2)` (the removable singularities are those of sinc).
2. **The orientation average at fixed x exactly, by the addition theorem.**  For A uniform and B on the cone
   :math:`\hat A\cdot\hat B = x` (docs/physics/pair_rates.md), :math:`\langle P_\ell(\mu_A)P_{\ell'}(\mu_B)\rangle_x =
   \delta_{\ell\ell'}P_\ell(x)/(2\ell+1)`, so with the plain Legendre coefficients :math:`F_{n\ell}` of
   :math:`F_n(\mu)` (and :math:`|F_{n\ell}|` equal for the mirrored term)

   .. math:: \tilde c(x) = \frac{\delta\Omega^2}{3}\,T^2\sum_n f_n\sum_\ell
             \frac{|F_{n\ell}|^2}{2\ell+1}\,P_\ell(x),\qquad
             k(x) = \frac{\tilde c(x)-\tilde c(1)}{T} = \sum_{\ell\ge1}\frac{\tilde c_\ell}{T}\,[P_\ell(x)-1].

   The Legendre coefficients of :math:`k` are therefore known exactly (the 3j form of Γ is used), every
   :math:`\tilde c_\ell \ge 0` so :math:`k \le 0` (a relative random walk), and :math:`k(1) = 0` exactly.  The
   series ends: :math:`F_n` is band-limited to :math:`\mu`-frequencies :math:`\le a_nT`, so the coefficients fall
   super-exponentially beyond :math:`\ell \approx a_{\max}T` (:func:`series_length`).
3. **Isotropic turbulence, B0 = 0** is the same computation with :math:`w = 0`, :math:`\delta\Omega^2 = \Omega^2`:
   :math:`\sin(kr)/(kr) = \langle e^{ik\hat q\cdot\mathbf r}\rangle_{\hat q}` turns eq. (4.7) into the
   average of :math:`E(\hat q\cdot\hat A)E^*(\hat q\cdot\hat B)` over :math:`\hat q`, which is the slab
   orientation average with :math:`\hat z\to\hat q`.
4. **Isotropic turbulence with B0** (:meth:`PairRate.isotropic` with ``eta < 1``) has no such separable closed
   form (helical orbits and the anisotropic tensor in the interaction picture): its :math:`\tilde c(x)` is a 4D
   quadrature (:func:`regular_field_pair_integrals`) interpolated in x and projected on Legendre polynomials
   (derivation and numerics in :meth:`PairRate.isotropic`), accurate to ~1e-4, not to round-off.

Properties (tested or measured; see ``tests/anisotropy/test_pair_rates.py``)
--------------------------------------------------------------------------
* Coherent limit :math:`T\to0`: :math:`\tilde c(x)\to(\delta\Omega^2/3)T^2` for every x, so the pair
  difference starts at :math:`\kappa(x)\to-(\delta\Omega^2/36)\,\rho^2\langle k^2\rangle(1-x)\,T^4` (smooth
  field below :math:`L_\min`), not :math:`\propto T^2` as docs/physics/mixing_ode.md#pair-time reads for :math:`\tilde
  c`.
* Markov limit :math:`T\to\infty`: :math:`\tilde c(1)/T\to2D_s`; for slab :math:`D_s =
  \frac23\langle D_{\mu\mu}/(1-\mu^2)\rangle_\mu` of slab QLT (the 1/3 isotropisation of
  docs/physics/mixing_ode.md#mixing-matrix).
* Near :math:`x = 1`: :math:`-k\propto\theta^2` (analytic) where the pair separation :math:`\rho T\theta` is below
  :math:`L_\min`; in the resolved Kolmogorov range the measured local exponent is :math:`\beta\approx1.5`-:math:`1.7`
  (slab and isotropic), consistent with :math:`\beta = 2/3 + 1 = 5/3` for frozen turbulence crossed ballistically
  (the time integral along the pair adds one power to the structure-function exponent 2/3), not the
  :math:`\beta\approx2/3` estimated in docs/physics/pair_rates.md.  Hence
  :math:`C_\ell\propto\ell^{\beta-4}\approx\ell^{-7/3}`.
* Cost: the series length is :math:`\approx k_\max r_g\,\Omega\Delta T`; it is capped at
  :data:`MAX_SERIES_LENGTH` (memory ~ modes × length × 32 bytes).
"""

from __future__ import annotations

from .base import (
    DEFAULT_LMIN_OVER_LMAX,
    DEFAULT_MODES_PER_DECADE,
    DEFAULT_PAIR_TIME_PREFACTOR,
    K_AT_ONE_TOLERANCE,
    PairRate,
    ballistic_omega_scattering_time,
    default_nodes,
    legendre_series_minus_one,
)
from .plane_waves import MAX_SERIES_LENGTH, pair_correlation_coefficients, self_correlation, series_length
from .regular_field import REGULAR_FIELD_SERIES_LENGTH, regular_field_pair_integrals

__all__ = [
    "DEFAULT_LMIN_OVER_LMAX",
    "DEFAULT_MODES_PER_DECADE",
    "DEFAULT_PAIR_TIME_PREFACTOR",
    "K_AT_ONE_TOLERANCE",
    "MAX_SERIES_LENGTH",
    "REGULAR_FIELD_SERIES_LENGTH",
    "PairRate",
    "ballistic_omega_scattering_time",
    "default_nodes",
    "legendre_series_minus_one",
    "pair_correlation_coefficients",
    "regular_field_pair_integrals",
    "self_correlation",
    "series_length",
]
