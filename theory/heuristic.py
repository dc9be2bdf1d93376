r"""Field-line and heuristic perpendicular-transport model (talk, "Heuristic model"; arXiv:2211.05882).

Equations derived here (sympy)
------------------------------
Perpendicular transport = transport along the field line + transport of the field line:

1. :math:`d_{FL}(z) = \frac12\frac{d}{dz}\langle(\Delta r_\perp^{FL})^2\rangle` ⇒
   :math:`\langle(\Delta r_\perp^{FL})^2\rangle(z) = 2\int_0^z d_{FL}(z')dz'`;
2. particles follow field lines, :math:`\langle(\Delta r_\perp^{CR})^2\rangle(t) = \langle(\Delta r_\perp^{FL})^2
   \rangle(Z(t))` with :math:`Z = \sqrt{\langle\Delta z^2\rangle}` and :math:`\langle\Delta z^2\rangle = 2\int_0^t
   d_\parallel`;
3. :math:`d_\perp = \frac12\frac{d}{dt}\langle(\Delta r_\perp^{CR})^2\rangle = d_{FL}(Z)\,\dot Z =
   \frac{d_{FL}(Z)}{Z}\,d_\parallel(t)` (:func:`chain_rule_residual` proves step 3 for generic functions).

Parametrisations (the numerical contract of :mod:`anisotropy.transport`): the smoothly broken power law
:math:`\mathrm{SBPL}(x) = A(x/x_b)^{a}[1+(x/x_b)^s]^{(b-a)/s}` with
:math:`d_\parallel = \mathrm{SBPL}(t;\kappa_\parallel,t_b,1,0,s)` (ballistic → diffusive) and
:math:`d_{FL} = \mathrm{SBPL}(z;d_{fl},z_b,1,0,s)` (ballistic → diffusive field lines).

Limits.  For power-law regimes :math:`d_\parallel\propto t^{a}` and :math:`d_{FL}\propto z^{b}`,
:math:`\langle\Delta r_\perp^2\rangle\propto t^{(a+1)(b+1)/2}` (:func:`regime_exponent`): 2 (ballistic, a = b = 1),
1 (diffusive particle on ballistic field lines, a = 0, b = 1, or ballistic particle on diffusive field lines), and
1/2 (compound subdiffusion, a = b = 0: the :math:`t^{0.5\ldots0.7}` of the talk).  With the two-regime
parametrisations above the late-time limit is this compound subdiffusion; the eventual return to diffusion in the
talk needs the particles to decorrelate from the field lines, which this heuristic chain does not contain.
For sharpness s = 1 the integrals have closed forms (:func:`mean_squared_displacement_symbolic`):
:math:`\langle\Delta z^2\rangle = 2\kappa[t - t_b\ln(1+t/t_b)]`.

Two exactly solvable inputs for the chain are derived too:

* the **telegraph** (Ornstein-Uhlenbeck) parallel motion, velocity autocorrelation :math:`\propto e^{-t/\tau}`:
  :math:`d_\parallel = \kappa(1-e^{-t/\tau})`, :math:`\langle\Delta z^2\rangle = 2\kappa[t-\tau(1-e^{-t/\tau})]`
  (:func:`telegraph_model`);
* **slab field lines** :math:`d\mathbf r_\perp/dz = \delta\mathbf B_\perp/B_0` with
  :math:`\langle\delta B_i\delta B_j\rangle = \frac{\delta B^2}2\delta_{ij}\sum_nf_n\cos k_n\Delta z`:
  :math:`\langle\Delta r_\perp^2\rangle = 2\frac{\delta B^2}{B_0^2}\sum_nf_n\frac{1-\cos k_nz}{k_n^2}` and
  :math:`d_{FL} = \frac{\delta B^2}{B_0^2}\sum_nf_n\frac{\sin k_nz}{k_n}` (:func:`slab_fieldline_mode`).
"""

from __future__ import annotations

import mpmath as mp
import sympy as sp

__all__ = [
    "chain_rule_residual",
    "heuristic_model",
    "local_exponent",
    "mean_squared_displacement_symbolic",
    "regime_exponent",
    "slab_fieldline_mode",
    "smoothly_broken_power_law",
    "telegraph_model",
]


def smoothly_broken_power_law(x, amplitude, x_break, index_low, index_high, sharpness=1):
    r""":math:`A(x/x_b)^{a}[1+(x/x_b)^s]^{(b-a)/s}` as a sympy expression (exact for rational parameters)."""
    ratio = sp.sympify(x) / x_break
    return amplitude * ratio**index_low * (1 + ratio**sharpness) ** (sp.sympify(index_high - index_low) / sharpness)


def mean_squared_displacement_symbolic(d_expression: sp.Expr, variable: sp.Symbol) -> sp.Expr:
    r""":math:`2\int_0^t d(t')\,dt'` by sympy (closed form when sympy finds one)."""
    dummy = sp.Dummy("s", positive=True)
    result = sp.simplify(2 * sp.integrate(d_expression.subs(variable, dummy), (dummy, 0, variable)))
    # sympy likes log(a^a/(x+a)^a); expanded logs keep huge powers out of numerical evaluation
    return sp.expand_log(result, force=True)


def chain_rule_residual() -> sp.Expr:
    r"""Step 3 for generic :math:`d_{FL}` and :math:`d_\parallel`: :math:`\frac{d}{dt}\int_0^{Z(t)}d_{FL} -
    d_{FL}(Z)d_\parallel/Z` with :math:`Z^2 = 2\int_0^td_\parallel` (simplifies to 0)."""
    t = sp.Symbol("t", positive=True)
    d_fl, d_par = sp.Function("d_FL"), sp.Function("d_par")
    tau = sp.Dummy("tau", positive=True)
    msd = 2 * sp.Integral(d_par(tau), (tau, 0, t))
    rms = sp.sqrt(msd)
    zeta = sp.Dummy("zeta", positive=True)
    perpendicular_half_msd = sp.Integral(d_fl(zeta), (zeta, 0, rms))
    residual = sp.diff(perpendicular_half_msd, t) - d_fl(rms) * d_par(t) / rms
    return sp.simplify(residual.doit())


def regime_exponent(parallel_index, fieldline_index) -> sp.Expr:
    r"""Exponent ν of :math:`\langle\Delta r_\perp^2\rangle\propto t^\nu` for :math:`d_\parallel = \kappa t^{a}`,
    :math:`d_{FL} = D z^{b}`, derived by sympy through the chain (steps 1-3) and ``t d ln/dt``."""
    t, z, kappa, d = sp.symbols("t z kappa D", positive=True)
    a, b = sp.sympify(parallel_index), sp.sympify(fieldline_index)
    msd_parallel = mean_squared_displacement_symbolic(kappa * t**a, t)
    msd_fieldline = mean_squared_displacement_symbolic(d * z**b, z)
    msd_perpendicular = msd_fieldline.subs(z, sp.sqrt(msd_parallel))
    return sp.simplify(t * sp.diff(sp.log(msd_perpendicular), t))


def heuristic_model(sharpness=1):
    r"""The full chain as sympy expressions; returns a dict of expressions and symbols.

    Keys: ``d_parallel(t)``, ``msd_parallel(t)``, ``d_fieldline(z)``, ``msd_fieldline(z)``, ``d_perpendicular(t)``,
    ``msd_perpendicular(t)``, and the symbols ``t, z, kappa, t_break, d_fl, z_break``.
    """
    t, z, kappa, t_break, d_fl, z_break = sp.symbols("t z kappa t_b d_fl z_b", positive=True)
    d_parallel = smoothly_broken_power_law(t, kappa, t_break, 1, 0, sharpness)
    d_fieldline = smoothly_broken_power_law(z, d_fl, z_break, 1, 0, sharpness)
    msd_parallel = mean_squared_displacement_symbolic(d_parallel, t)
    msd_fieldline = mean_squared_displacement_symbolic(d_fieldline, z)
    rms = sp.sqrt(msd_parallel)
    d_perpendicular = d_fieldline.subs(z, rms) / rms * d_parallel
    msd_perpendicular = msd_fieldline.subs(z, rms)
    return {
        "d_parallel": d_parallel, "msd_parallel": msd_parallel,
        "d_fieldline": d_fieldline, "msd_fieldline": msd_fieldline,
        "d_perpendicular": d_perpendicular, "msd_perpendicular": msd_perpendicular,
        "t": t, "z": z, "kappa": kappa, "t_break": t_break, "d_fl": d_fl, "z_break": z_break,
    }


def local_exponent(expression: sp.Expr, variable: sp.Symbol, at, substitutions: dict) -> mp.mpf:
    r""":math:`d\ln f/d\ln x` of a sympy expression at ``x = at``, evaluated with mpmath at the working precision."""
    function = sp.lambdify(variable, expression.subs(substitutions), modules="mpmath")
    log_x = mp.log(mp.mpf(at))
    return mp.diff(lambda u: mp.log(function(mp.exp(u))), log_x)


def telegraph_model() -> dict:
    r"""Ornstein-Uhlenbeck parallel motion: :math:`\langle v(0)v(t)\rangle = (\kappa/\tau)e^{-|t|/\tau}` gives
    :math:`d_\parallel(t) = \int_0^t\langle v(0)v(s)\rangle ds` and :math:`\langle\Delta z^2\rangle = 2\int_0^t
    d_\parallel` (sympy); returns a dict with ``d_parallel``, ``msd``, and symbols ``t, kappa, tau``."""
    t, kappa, tau, s = sp.symbols("t kappa tau s", positive=True)
    d_parallel = sp.simplify(sp.integrate(kappa / tau * sp.exp(-s / tau), (s, 0, t)))
    msd = mean_squared_displacement_symbolic(d_parallel, t)
    return {"d_parallel": d_parallel, "msd": msd, "t": t, "kappa": kappa, "tau": tau}


def slab_fieldline_mode() -> dict:
    r"""One slab mode: :math:`\langle\Delta r_\perp^2\rangle/(\delta B^2/B_0^2) = \int_0^z\int_0^z\cos k(z_1-z_2)`
    (two components of :math:`\frac12`) and :math:`d_{FL} = \frac12\,d/dz` of it (sympy); returns a dict with
    ``msd``, ``d_fieldline`` and symbols ``z, k``."""
    z, k, z1, z2 = sp.symbols("z k z_1 z_2", positive=True)
    msd = sp.simplify(2 * sp.Rational(1, 2) * sp.integrate(sp.cos(k * (z1 - z2)), (z1, 0, z), (z2, 0, z)))
    d_fieldline = sp.simplify(sp.diff(msd, z) / 2)
    return {"msd": msd, "d_fieldline": d_fieldline, "z": z, "k": k}
