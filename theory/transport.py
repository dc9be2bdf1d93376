r"""Transport references (docs/physics/transport.md#slab-qlt, docs/physics/source.md#diffusive-dipole,
docs/physics/mixing_ode.md#ode): slab QLT D_μμ and κ_∥, τ_s, the diffusive dipole.

Equations derived or checked here
---------------------------------
* **Resonance (slab QLT).**  On the unperturbed helix, :math:`\dot\mu = \Omega\sqrt{1-\mu^2}\,(\delta B_x\sin\phi -
  \delta B_y\cos\phi)/B_0` with :math:`\langle\delta B_i(z)\delta B_j(z')\rangle = \frac{\delta B^2}{2}\delta_{ij}
  R(z-z')` (i, j ⟂ ẑ) and :math:`R(\Delta z) = \int_{k_\min}^\infty S(k)\cos(k\Delta z)dk`, the Taylor-Green-Kubo
  integral is :math:`D_{\mu\mu} = \Omega^2(1-\mu^2)\frac{\delta B^2}{2B_0^2}\int_0^\infty R(v\mu\tau)\cos\Omega\tau\,
  d\tau`; the τ-integral of :math:`\cos(kv\mu\tau)\cos\Omega\tau` is :math:`\frac\pi2\delta(kv|\mu|-\Omega)` (for
  k > 0), hence :math:`D_{\mu\mu} = \frac\pi4\Omega^2(1-\mu^2)\frac{\delta B^2}{B_0^2}\frac{S(k_{res})}{v|\mu|}`,
  :math:`k_{res} = 1/(r_g|\mu|)`.  :func:`resonance_integral_regularised` checks the delta-function step with an
  exponential regulator :math:`e^{-\epsilon\tau}` in mpmath.
* **Power law** :math:`S = (q-1)k_\min^{q-1}k^{-q}` (:func:`slab_dmumu_symbolic`)::

      D_mumu = (pi/4)(q-1) Omega (dB^2/B0^2) (k_min r_g)^(q-1) (1-mu^2) |mu|^(q-1)

* **Parallel diffusion** :math:`\kappa_\parallel = \frac{v^2}{8}\int_{-1}^1\frac{(1-\mu^2)^2}{D_{\mu\mu}}d\mu`, in
  closed form for :math:`1<q<2` (:func:`parallel_diffusion_symbolic`)::

      kappa_par = 2 v r_g / [pi (q-1)(2-q)(4-q) (dB^2/B0^2) (k_min r_g)^(q-1)]  ->  27/(7 pi) ... at q = 5/3

  The :math:`v^2/8` prefactor is checked on isotropic scattering :math:`D_{\mu\mu} = D_s(1-\mu^2)`, which must give
  :math:`K = v^2/(3\nu_1)` with :math:`\nu_1 = 2D_s` (docs/physics/mixing_ode.md#ode).  τ_s ≡ 3κ_∥/v².
* **Resonance broadening (SOQLT, docs/physics/pitch_angle.md, eqs. PA.3-PA.5).**  A particle with pitch-angle
  cosine μ gyrating about a field tilted by :math:`\delta\mathbf B_\perp/B_0` has, to first order,
  :math:`\delta v_\parallel/v = \sqrt{1-\mu^2}(\delta B_x\cos\phi + \delta B_y\sin\phi)/B_0`; averaged over the
  gyrophase and over :math:`\langle\delta B_x^2\rangle = \langle\delta B_y^2\rangle = \delta B^2/2` its variance
  is :math:`(1-\mu^2)\delta B^2/(2B_0^2)` (:func:`gyrophase_tilt_variance_symbolic`).  A Gaussian offset of that
  variance turns :math:`\int_0^\infty\cos(x\tau)d\tau = \pi\delta(x)` into
  :math:`\int_0^\infty\cos(x\tau)e^{-a^2\tau^2/2}d\tau = \sqrt{\pi/2}\,e^{-x^2/2a^2}/a`
  (:func:`gaussian_resonance_function`, checked by mpmath quadrature), and the k-integral becomes the smoothed power
  :math:`\int u^{p}[\varphi((u-\mu)/\sigma)+\varphi((u+\mu)/\sigma)]du/\sigma`
  (:func:`smoothed_power_quadrature`); without cut-offs it is the absolute moment
  :math:`E|\mu+\sigma Z|^p = \sigma^p2^{p/2}\Gamma(\tfrac{p+1}2)\,{}_1F_1(-\tfrac p2;\tfrac12;-\tfrac{\mu^2}{2\sigma^2})
  /\sqrt\pi` (:func:`smoothed_power_closed_form`).
* **Dipole** (docs/physics/source.md#diffusive-dipole, docs/physics/mixing_ode.md#ode): for :math:`\delta f = -(3/v)\hat
  p\cdot K\cdot G`, the pair-integral form of
  :math:`C_1` gives :math:`C_1 = 4\pi|K\cdot G|^2/v^2` (:func:`dipole_power_symbolic`, sphere integrals in sympy),
  the source :math:`S = \frac{8\pi}{3}G\cdot K\cdot G` (:func:`source_symbolic`), and the diffusion tensor with
  field direction b̂ is :math:`K_{ij} = \kappa_\perp\delta_{ij} + (\kappa_\parallel-\kappa_\perp)b_ib_j`.
* **Correlation length** (docs/physics/conventions.md#correlation-length): for the isotropic trace correlation
  :math:`R(r) = \int E(k)\,\mathrm{sinc}(kr)\,dk/\int E` with :math:`E\propto k^{-s}` on
  :math:`[2\pi/L_\max, 2\pi/L_\min]`, the two-sided :math:`L_c = 2\int_0^\infty R\,dr = \pi\int E/k\,/\int E`
  gives :math:`L_c = \frac{L_\max}{2}\frac{s-1}{s}\frac{1-r^s}{1-r^{s-1}}` (:func:`correlation_length_symbolic`).
* **Field-line diffusion, isotropic turbulence + B0** (QLT): :math:`d_{FL} = \sum_{i=x,y}\int_0^\infty
  \langle\delta B_i(0)\delta B_i(z\hat z)\rangle dz/B_0^2`; one plane wave of random direction q̂ and
  polarisation ⟂ q̂ has :math:`\langle\xi_x^2\rangle = (1-q_x^2)/2`, and the z-integral (with regulator
  :math:`e^{-\epsilon z}`, ε → 0) and the q̂-average give :math:`\pi/(8k)` per component
  (:func:`isotropic_fieldline_per_mode`), so :math:`d_{FL} = \frac{\delta B^2}{B_0^2}\sum_nf_n\frac{\pi}{4k_n}
  = \frac14\frac{\delta B^2}{B_0^2}L_c`.
"""

from __future__ import annotations

import mpmath as mp
import sympy as sp

__all__ = [
    "correlation_length_symbolic",
    "diffusion_tensor",
    "dipole_amplitude",
    "dipole_power",
    "dipole_power_symbolic",
    "gaussian_resonance_function",
    "gyrophase_tilt_variance_symbolic",
    "isotropic_fieldline_per_mode",
    "isotropic_scattering_check",
    "parallel_diffusion",
    "parallel_diffusion_closed_form",
    "parallel_diffusion_symbolic",
    "resonance_integral_regularised",
    "scattering_time",
    "slab_dmumu",
    "slab_dmumu_symbolic",
    "smoothed_power_closed_form",
    "smoothed_power_quadrature",
    "source_symbolic",
    "sphere_moment_matrix",
]


# ------------------------------------------------------------------------------------------- slab QLT, symbolic
def _symbols():
    return sp.symbols("mu q Omega eta k_min r_g v", positive=True)


def slab_dmumu_symbolic(spectrum=None):
    r"""D_μμ from the resonance formula and a one-sided power-law spectrum; returns ``(expr, symbols)``.

    ``eta`` stands for :math:`\delta B^2/B_0^2`; μ > 0 (D_μμ is even in μ).  The spectrum is
    :math:`S(k) = (q-1)k_\min^{q-1}k^{-q}`, normalised on :math:`k>k_\min` (checked: ``∫S = 1``).
    """
    mu, q, omega, eta, k_min, r_g, v = _symbols()
    k = sp.Symbol("k", positive=True)
    if spectrum is None:
        spectrum = (q - 1) * k_min ** (q - 1) * k ** (-q)
    k_res = 1 / (r_g * mu)
    d_mumu = sp.pi / 4 * omega**2 * (1 - mu**2) * eta * spectrum.subs(k, k_res) / (v * mu)
    d_mumu = sp.powsimp(sp.simplify(d_mumu.subs(v, omega * r_g)), force=True)
    return d_mumu, {"mu": mu, "q": q, "Omega": omega, "eta": eta, "k_min": k_min, "r_g": r_g, "v": v, "k": k}


def parallel_diffusion_symbolic():
    r"""κ_∥ = (v²/8)∫(1−μ²)²/D_μμ dμ for the power-law D_μμ, integrated by sympy for 1 < q < 2.

    Returns ``(kappa_general, kappa_at_five_thirds, symbols)``; the integrand is even in μ, so the integral is twice
    the one over (0, 1) (convergent at μ = 0 because q < 2).
    """
    d_mumu, symbols = slab_dmumu_symbolic()
    mu, q = symbols["mu"], symbols["q"]
    q_range = sp.Symbol("s", positive=True)  # q = 1 + s with 0 < s < 1 so that sympy sees the convergence
    integrand = sp.powsimp(((1 - mu**2) ** 2 / d_mumu).subs(q, 1 + q_range), force=True)
    integral = 2 * sp.integrate(sp.expand(integrand), (mu, 0, 1), conds="none")
    v = symbols["v"]
    kappa = (v**2 / 8 * integral).subs(q_range, q - 1).subs(v, symbols["Omega"] * symbols["r_g"])
    # sympy guards the poles q = 2, 4 with a Piecewise; 1 < q < 2 selects the generic branch
    kappa = sp.simplify(kappa).replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[-1][0])
    kappa = sp.factor(sp.simplify(kappa))
    kappa_kolmogorov = sp.simplify(kappa.subs(q, sp.Rational(5, 3)))
    return kappa, kappa_kolmogorov, symbols


def isotropic_scattering_check():
    r"""κ from :math:`D_{\mu\mu} = D_s(1-\mu^2)` divided by the expected :math:`v^2/(3\nu_1)`, :math:`\nu_1 = 2D_s`.

    Exactly 1 if the :math:`v^2/8` prefactor of κ_∥ is consistent with the ODE's dipole rate
    (docs/physics/mixing_ode.md#ode).
    """
    mu = sp.Symbol("mu", real=True)
    d_s, v = sp.symbols("D_s v", positive=True)
    kappa = v**2 / 8 * sp.integrate((1 - mu**2) ** 2 / (d_s * (1 - mu**2)), (mu, -1, 1))
    return sp.simplify(kappa / (v**2 / (3 * 2 * d_s)))


# -------------------------------------------------------------------------------------------- slab QLT, mpmath
def slab_dmumu(mu, spectral_index, turbulence_ratio, kmin_rg, omega=1):
    r"""Slab QLT :math:`D_{\mu\mu}` (docs/physics/transport.md#slab-qlt) in mpmath; ``turbulence_ratio`` is
    :math:`\delta B^2/B_0^2`."""
    mu, q = mp.mpf(mu), mp.mpf(spectral_index)
    return (mp.pi / 4 * (q - 1) * mp.mpf(omega) * mp.mpf(turbulence_ratio) * mp.mpf(kmin_rg) ** (q - 1)
            * (1 - mu**2) * abs(mu) ** (q - 1))


def resonance_integral_regularised(mu, spectral_index, kmin_rg, epsilon, omega=1):
    r"""The TGK integral with regulator, divided by its resonance limit (→ 1 as ε → 0).

    :math:`\int_{k_\min}^\infty S(k)\int_0^\infty e^{-\epsilon\tau}\cos(kv\mu\tau)\cos(\Omega\tau)d\tau\,dk` with the
    inner integral done analytically, :math:`\frac12[\frac{\epsilon}{\epsilon^2+(kv\mu-\Omega)^2} +
    \frac{\epsilon}{\epsilon^2+(kv\mu+\Omega)^2}]`, and the outer one by mpmath quadrature, over
    :math:`\frac\pi2 S(k_{res})/(v\mu)`.  Units: r_g = 1, so v = Ω and k_min = ``kmin_rg``.
    """
    mu, q, eps, omega = mp.mpf(mu), mp.mpf(spectral_index), mp.mpf(epsilon), mp.mpf(omega)
    k_min = mp.mpf(kmin_rg)
    v = omega  # r_g = 1

    def spectrum(k):
        return (q - 1) * k_min ** (q - 1) * k ** (-q)

    def inner(k):
        return (eps / (eps**2 + (k * v * mu - omega) ** 2) + eps / (eps**2 + (k * v * mu + omega) ** 2)) / 2

    k_res = omega / (v * mu)
    width = eps / (v * mu)
    points = [k_min, k_res - 50 * width, k_res - width, k_res, k_res + width, k_res + 50 * width, 10 * k_res, mp.inf]
    integral = mp.quad(lambda k: spectrum(k) * inner(k), points)
    return integral / (mp.pi / 2 * spectrum(k_res) / (v * mu))


def gyrophase_tilt_variance_symbolic() -> sp.Expr:
    r""":math:`\langle\delta v_\parallel^2\rangle/v^2` of a particle gyrating about a tilted field (eq. PA.3).

    Averages :math:`(1-\mu^2)(b_x\cos\phi + b_y\sin\phi)^2` over the gyrophase φ, then replaces
    :math:`b_x^2, b_y^2` by their means :math:`\tfrac12\delta B^2/B_0^2` (the cross term averages to zero).
    """
    mu, phi, bx, by, ratio = sp.symbols("mu phi b_x b_y ratio", real=True)
    square = sp.expand((1 - mu**2) * (bx * sp.cos(phi) + by * sp.sin(phi)) ** 2)
    gyro_average = sp.integrate(square, (phi, 0, 2 * sp.pi)) / (2 * sp.pi)
    averaged = sp.expand(gyro_average).subs({bx * by: 0}).subs({bx**2: ratio / 2, by**2: ratio / 2})
    return sp.simplify(averaged)


def gaussian_resonance_function(x, width) -> tuple:
    r""":math:`\int_0^\infty\cos(x\tau)e^{-a^2\tau^2/2}d\tau` by mpmath quadrature, and the closed form
    :math:`\sqrt{\pi/2}\,e^{-x^2/2a^2}/a` (eq. PA.4)."""
    x, width = mp.mpf(x), mp.mpf(width)
    numeric = mp.quad(lambda tau: mp.cos(x * tau) * mp.exp(-(width * tau) ** 2 / 2), [0, 1 / width, mp.inf])
    closed = mp.sqrt(mp.pi / 2) * mp.exp(-(x**2) / (2 * width**2)) / width
    return numeric, closed


def smoothed_power_quadrature(mu, width, exponent, low, high):
    r""":math:`\int_{low}^{high}u^{p}[\varphi((u-\mu)/\sigma)+\varphi((u+\mu)/\sigma)]du/\sigma` in mpmath
    (eq. PA.5), split at the Gaussian centres."""
    mu, width, p = abs(mp.mpf(mu)), mp.mpf(width), mp.mpf(exponent)
    low, high = mp.mpf(low), mp.mpf(high)

    def integrand(u):
        return u**p * (mp.npdf(u, mu, width) + mp.npdf(u, -mu, width))

    points = sorted({low, high, *(value for value in (mu - width, mu, mu + width) if low < value < high)})
    return mp.quad(integrand, points)


def smoothed_power_closed_form(mu, width, exponent):
    r""":math:`E|\mu+\sigma Z|^p = \sigma^p2^{p/2}\Gamma(\tfrac{p+1}2)\,{}_1F_1(-\tfrac p2;\tfrac12;
    -\tfrac{\mu^2}{2\sigma^2})/\sqrt\pi`, the smoothed power with no cut-offs (low 0, high ∞)."""
    mu, width, p = mp.mpf(mu), mp.mpf(width), mp.mpf(exponent)
    hypergeometric = mp.hyp1f1(-p / 2, mp.mpf(1) / 2, -(mu**2) / (2 * width**2))
    return width**p * 2 ** (p / 2) * mp.gamma((p + 1) / 2) * hypergeometric / mp.sqrt(mp.pi)


def parallel_diffusion(spectral_index, turbulence_ratio, kmin_rg, v=1, r_g=1):
    r""":math:`\kappa_\parallel = \frac{v^2}{8}\int_{-1}^1(1-\mu^2)^2/D_{\mu\mu}\,d\mu` by mpmath quadrature
    (Ω = v/r_g)."""
    omega = mp.mpf(v) / mp.mpf(r_g)
    q = mp.mpf(spectral_index)
    if not 1 < q < 2:
        raise ValueError("spectral_index must lie in (1, 2) for a finite slab QLT kappa_parallel")
    exponent = 1 / (2 - q)

    # mu = u**(1/(2-q)) absorbs the integrable |mu|^(1-q) endpoint singularity into the Jacobian, so tanh-sinh
    # converges to full working precision (without it: ~1e-11 at q = 5/3 and 30 digits)
    def integrand(u):
        mu = u**exponent
        jacobian = exponent * mu / u
        return (1 - mu**2) ** 2 / slab_dmumu(mu, q, turbulence_ratio, kmin_rg, omega) * jacobian

    integral = 2 * mp.quad(integrand, [0, 1])
    return mp.mpf(v) ** 2 / 8 * integral


def parallel_diffusion_closed_form(spectral_index, turbulence_ratio, kmin_rg, v=1, r_g=1):
    r"""Closed form :math:`2vr_g/[\pi(q-1)(2-q)(4-q)\eta(k_\min r_g)^{q-1}]` (:func:`parallel_diffusion_symbolic`)."""
    q = mp.mpf(spectral_index)
    return (2 * mp.mpf(v) * mp.mpf(r_g)
            / (mp.pi * (q - 1) * (2 - q) * (4 - q) * mp.mpf(turbulence_ratio) * mp.mpf(kmin_rg) ** (q - 1)))


def scattering_time(kappa_parallel, v=1):
    r""":math:`\tau_s \equiv 3\kappa_\parallel/v^2` (docs/physics/transport.md#slab-qlt)."""
    return 3 * mp.mpf(kappa_parallel) / mp.mpf(v) ** 2


# -------------------------------------------------------------------------------------------------- dipole
def sphere_moment_matrix() -> sp.Matrix:
    r""":math:`\int \hat p_i\hat p_j\,d\Omega` by explicit sympy integration in (θ, φ) (equals :math:`\frac{4\pi}{3}
    \delta_{ij}`)."""
    theta, phi = sp.symbols("theta phi", real=True)
    direction = sp.Matrix([sp.sin(theta) * sp.cos(phi), sp.sin(theta) * sp.sin(phi), sp.cos(theta)])
    moments = sp.zeros(3, 3)
    for i in range(3):
        for j in range(3):
            moments[i, j] = sp.integrate(sp.integrate(direction[i] * direction[j] * sp.sin(theta), (phi, 0, 2 * sp.pi)),
                                         (theta, 0, sp.pi))
    return moments


def dipole_power_symbolic():
    r""":math:`C_1 = \frac1{4\pi}\sum_i(\int\hat p_i\,\delta f\,d\Omega)^2` for
    :math:`\delta f = -(3/v)\hat p\cdot K\cdot G` with a generic symmetric K and generic G
    (docs/physics/conventions.md#angular-power-spectrum
    pair-integral form, :math:`P_1(A\cdot B) = A\cdot B`).

    Returns ``(C1, expected, symbols)`` where expected is :math:`4\pi|K\cdot G|^2/v^2`.
    """
    v, tensor, gradient = _symbolic_speed_tensor_gradient()
    flux = tensor * gradient
    moments = sphere_moment_matrix()
    # ∫ p_i δf dΩ = -(3/v) Σ_j ∫ p_i p_j dΩ (K G)_j
    projections = -(3 / v) * moments * flux
    c1 = sp.simplify((projections.T * projections)[0, 0] / (4 * sp.pi))
    expected = 4 * sp.pi * (flux.T * flux)[0, 0] / v**2
    return c1, expected, {"v": v, "K": tensor, "G": gradient}


def _symbolic_speed_tensor_gradient():
    """Symbols shared by the dipole and source derivations: speed v, a generic symmetric K and a generic G."""
    v = sp.Symbol("v", positive=True)
    k_entries = sp.symbols("K11 K12 K13 K22 K23 K33", real=True)
    tensor = sp.Matrix([[k_entries[0], k_entries[1], k_entries[2]],
                        [k_entries[1], k_entries[3], k_entries[4]],
                        [k_entries[2], k_entries[4], k_entries[5]]])
    return v, tensor, sp.Matrix(sp.symbols("G1:4", real=True))


def source_symbolic():
    r""":math:`S` from projecting :math:`2\langle f\rangle(\hat p_A)(-v\hat p_B\cdot G)` onto ℓ = 1
    (docs/physics/mixing_ode.md#ode, check 1).

    Returns ``(S, expected)`` with expected :math:`\frac{8\pi}{3}G\cdot K\cdot G`.
    """
    v, tensor, gradient = _symbolic_speed_tensor_gradient()
    moments = sphere_moment_matrix()
    mean_projection = -(3 / v) * moments * tensor * gradient  # ∫ p_A,i <f>(p_A) dΩ_A
    source_projection = -v * moments * gradient  # ∫ p_B,i (-v p_B·G) dΩ_B
    source = sp.simplify(2 * (mean_projection.T * source_projection)[0, 0] / (4 * sp.pi))
    expected = 8 * sp.pi / 3 * (gradient.T * tensor * gradient)[0, 0]
    return source, expected


def diffusion_tensor(kappa_parallel, kappa_perpendicular, field_direction) -> mp.matrix:
    r""":math:`K_{ij} = \kappa_\perp\delta_{ij} + (\kappa_\parallel-\kappa_\perp)b_ib_j` with b̂ the unit field
    direction (``field_direction`` is normalised here)."""
    b = [mp.mpf(component) for component in field_direction]
    norm = mp.sqrt(sum(component**2 for component in b))
    b = [component / norm for component in b]
    tensor = mp.matrix(3, 3)
    for i in range(3):
        for j in range(3):
            tensor[i, j] = (mp.mpf(kappa_perpendicular) * (1 if i == j else 0)
                            + (mp.mpf(kappa_parallel) - mp.mpf(kappa_perpendicular)) * b[i] * b[j])
    return tensor


def dipole_power(tensor, gradient, v=1):
    r""":math:`C_1 = 4\pi|K\cdot G|^2/v^2` (docs/physics/source.md#diffusive-dipole) in mpmath."""
    flux = [sum(mp.mpf(tensor[i, j]) * mp.mpf(gradient[j]) for j in range(3)) for i in range(3)]
    return 4 * mp.pi * sum(component**2 for component in flux) / mp.mpf(v) ** 2


def dipole_amplitude(tensor, gradient, v=1):
    r"""Dipole amplitude :math:`\delta = 3|K\cdot G|/v`, so that :math:`C_1 = \frac{4\pi}{9}\delta^2`
    (docs/physics/conventions.md#angular-power-spectrum)."""
    return 3 * mp.sqrt(dipole_power(tensor, gradient, v) / (4 * mp.pi))


# ------------------------------------------------------------------------------ correlation length, field lines
def correlation_length_symbolic() -> tuple[sp.Expr, dict]:
    r"""Two-sided :math:`L_c = \pi\int E(k)/k\,dk/\int E\,dk` for :math:`E\propto k^{-s}` on
    :math:`[2\pi/L_\max, 2\pi/L_\min]`, in terms of :math:`L_\max`, :math:`r = L_\min/L_\max` and s > 1.

    The step :math:`2\int_0^\infty\mathrm{sinc}(kr)\,dr = \pi/k` is done by sympy too.
    """
    k, distance, l_max, ratio = sp.symbols("k r_sep L_max r", positive=True)
    index = sp.Symbol("s", positive=True)
    per_mode = 2 * sp.integrate(sp.sin(k * distance) / (k * distance), (distance, 0, sp.oo))
    k_min, k_max = 2 * sp.pi / l_max, 2 * sp.pi / (ratio * l_max)
    index_shift = sp.Symbol("sigma", positive=True)  # s = 1 + sigma keeps sympy on the generic branch
    spectrum = k ** (-(1 + index_shift))
    numerator = sp.integrate(spectrum * per_mode, (k, k_min, k_max), conds="none")
    denominator = sp.integrate(spectrum, (k, k_min, k_max), conds="none")
    length = sp.simplify((numerator / denominator).subs(index_shift, index - 1))
    return length, {"L_max": l_max, "r": ratio, "s": index, "per_mode": per_mode}


def isotropic_fieldline_per_mode() -> tuple[sp.Expr, sp.Symbol]:
    r""":math:`d_{FL}/(\delta B^2/B_0^2)` for one isotropic plane-wave shell of wavenumber k (module doc).

    Returns ``(expr, k)``; expected :math:`\pi/(4k)` (two transverse components of :math:`\pi/(8k)`).
    """
    u, phi = sp.symbols("u phi", real=True)
    k, epsilon, z = sp.symbols("k epsilon z", positive=True)
    # q̂ = (sqrt(1-u²)cos φ, sqrt(1-u²)sin φ, u); <ξ_x²> = (1 - q_x²)/2 for a polarisation uniform ⟂ q̂
    z_integral = sp.integrate(sp.exp(-epsilon * z) * sp.cos(k * u * z), (z, 0, sp.oo), conds="none")
    polarisation = sp.integrate((1 - (1 - u**2) * sp.cos(phi) ** 2) / 2, (phi, 0, 2 * sp.pi))
    regularised = sp.integrate(polarisation * z_integral, (u, -1, 1)) / (4 * sp.pi)
    per_component = sp.limit(regularised, epsilon, 0, "+")
    return sp.simplify(2 * per_component), k
