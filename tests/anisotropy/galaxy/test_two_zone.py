"""The closed form of the two-zone model against independent derivations (sympy, by hand) and its exact limits."""

import math

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from scipy import integrate

from anisotropy.errors import ParameterError
from anisotropy.galaxy import thin_disk_density, two_zone_density, two_zone_flux

# float evaluation of closed forms against an exact (sympy, rational input) solution: rounding only
EXACT_RTOL = 1e-11
# finite-difference check of continuity: step 1e-6 kpc, second-order one-sided stencils, error ~ N'' dz^2 ~ 1e-10
CONTINUITY_RTOL = 1e-7
# quadrature of smooth pieces (scipy.quad, default epsrel 1.49e-8)
QUADRATURE_RTOL = 1e-7

BASE = dict(h=0.1, H=4.0, kappa_halo=0.1)


def sympy_reference(z_values, *, h, H, kappa, alpha, decay, loss, source):
    """Solve -(kappa N')' + Gamma N = q zone by zone with sympy's dsolve and the matching conditions."""
    z = sp.symbols("z", real=True)
    N = sp.Function("N")
    h, H, kappa, alpha, decay, loss, source = (sp.nsimplify(v) for v in (h, H, kappa, alpha, decay, loss, source))
    disk = sp.dsolve(-alpha * kappa * N(z).diff(z, 2) + (decay + loss) * N(z) - source, N(z)).rhs
    halo = sp.dsolve(-kappa * N(z).diff(z, 2) + decay * N(z), N(z)).rhs
    c1, c2 = sp.symbols("C1 C2")
    d1, d2 = sp.symbols("D1 D2")
    halo = halo.subs({c1: d1, c2: d2})
    conditions = [
        sp.Eq(disk.diff(z).subs(z, 0), 0),  # symmetry
        sp.Eq(disk.subs(z, h), halo.subs(z, h)),
        sp.Eq(alpha * kappa * disk.diff(z).subs(z, h), kappa * halo.diff(z).subs(z, h)),
        sp.Eq(halo.subs(z, H), 0),
    ]
    constants = sp.solve(conditions, [c1, c2, d1, d2], dict=True)[0]
    disk, halo = disk.subs(constants), halo.subs(constants)
    return np.array([float(sp.N((disk if abs(v) <= h else halo).subs(z, abs(sp.nsimplify(v))), 30))
                     for v in z_values])


Z = np.array([0.0, 0.03, 0.0999, 0.1, 0.5, 2.0, 3.9, 4.0])


def mpmath_reference(z_values, *, h, H, kappa, alpha, decay, loss, source):
    """Same matching problem, written with the general solutions A cosh + B sinh (+ q/Gamma) and solved as a 4x4
    linear system in 40-digit arithmetic (a different route from the closed form's conductance form)."""
    mp.mp.dps = 40
    h, H, kappa, alpha, decay, loss, source = (mp.mpf(v) for v in (h, H, kappa, alpha, decay, loss, source))
    kd, kh = mp.sqrt((decay + loss) / (alpha * kappa)), mp.sqrt(decay / kappa)
    particular = source / (decay + loss)
    # unknowns: disk A (cosh), disk B (sinh), halo C (cosh), halo D (sinh)
    rows = [[0, kd, 0, 0],  # N'(0) = 0
            [mp.cosh(kd * h), mp.sinh(kd * h), -mp.cosh(kh * h), -mp.sinh(kh * h)],  # N continuous
            [alpha * kd * mp.sinh(kd * h), alpha * kd * mp.cosh(kd * h), -kh * mp.sinh(kh * h),
             -kh * mp.cosh(kh * h)],  # kappa N' continuous (kappa_halo cancels)
            [0, 0, mp.cosh(kh * H), mp.sinh(kh * H)]]  # N(H) = 0
    a, b, c, d = mp.lu_solve(mp.matrix(rows), mp.matrix([0, -particular, 0, 0]))
    values = []
    for z in (mp.mpf(abs(float(v))) for v in z_values):
        inside = particular + a * mp.cosh(kd * z) + b * mp.sinh(kd * z)
        values.append(float(inside if z <= h else c * mp.cosh(kh * z) + d * mp.sinh(kh * z)))
    return np.array(values)


@pytest.mark.parametrize("alpha,decay,loss", [(0.2, 0.5, 0.25), (1.0, 0.5, 0.25), (0.3, 0.5, 1e-9),
                                              (0.05, 2.0, 3.0), (0.5, 0.02, 40.0)])
def test_closed_form_equals_the_high_precision_linear_system_solution(alpha, decay, loss):
    closed = two_zone_density(Z, **BASE, alpha=alpha, decay_rate=decay, disk_loss_rate=loss, disk_source=1.5)
    exact = mpmath_reference(Z, h=0.1, H=4.0, kappa=0.1, alpha=alpha, decay=decay, loss=loss, source=1.5)
    np.testing.assert_allclose(closed, exact, rtol=EXACT_RTOL, atol=1e-14)


def test_closed_form_equals_the_sympy_dsolve_solution_without_decay():
    closed = two_zone_density(Z, **BASE, alpha=0.5, disk_loss_rate=0.25, disk_source=1.5)
    exact = sympy_reference(Z, h=0.1, H=4.0, kappa=0.1, alpha=0.5, decay=0.0, loss=0.25, source=1.5)
    np.testing.assert_allclose(closed, exact, rtol=EXACT_RTOL, atol=1e-14)


def test_alpha_one_equals_the_one_zone_pure_diffusion_solution_derived_by_hand():
    # uniform kappa, q in |z|<h: N = q h (H-|z|)/kappa outside, q h (H-h)/kappa + q (h^2-z^2)/(2 kappa) inside
    h, H, kappa, q = 0.2, 5.0, 0.07, 3.0
    z = np.linspace(-H, H, 41)
    expected = np.where(np.abs(z) >= h, q * h * (H - np.abs(z)) / kappa,
                        q * h * (H - h) / kappa + q * (h**2 - z**2) / (2 * kappa))
    got = two_zone_density(z, h=h, H=H, kappa_halo=kappa, alpha=1.0, disk_source=q)
    np.testing.assert_allclose(got, expected, rtol=EXACT_RTOL, atol=1e-13)


def test_alpha_one_with_uniform_decay_equals_the_one_zone_green_function_solution():
    # uniform kappa and decay lambda, source q in |z|<h: by superposition of the one-zone Green's function
    # G(z, s) = sinh(k(H-z_>)) sinh(k(H+z_<)) / (kappa k sinh(2kH)), N(z) = q int_{-h}^{h} G(z, s) ds
    h, H, kappa, lam, q = 0.3, 3.0, 0.05, 0.4, 1.0
    k = math.sqrt(lam / kappa)

    def green(z, s):
        lo, hi = min(z, s), max(z, s)
        return math.sinh(k * (H - hi)) * math.sinh(k * (H + lo)) / (kappa * k * math.sinh(2 * k * H))

    for z in (0.0, 0.1, 0.3, 1.0, 2.5):
        expected = q * integrate.quad(lambda s, z=z: green(z, s), -h, h, points=[z] if abs(z) < h else None,
                                      epsabs=0, epsrel=1e-12)[0]
        got = two_zone_density(z, h=h, H=H, kappa_halo=kappa, alpha=1.0, decay_rate=lam, disk_source=q)
        assert got == pytest.approx(expected, rel=QUADRATURE_RTOL)


@pytest.mark.parametrize("alpha", [1.0, 0.3, 0.01])
def test_thin_disk_limit_is_reached_and_is_independent_of_alpha(alpha):
    # h -> 0 at fixed surface source sigma = q h and surface loss l = L h: N(z) -> thin-disk solution, error O(h)
    sigma, surface_loss, lam, H, kappa = 0.2, 0.05, 0.3, 4.0, 0.1
    errors = []
    for h in (1e-2, 1e-3, 1e-4):
        got = two_zone_density([0.0, 1.0, 3.0], h=h, H=H, kappa_halo=kappa, alpha=alpha, decay_rate=lam,
                               disk_loss_rate=surface_loss / h, disk_source=sigma / h)
        thin = thin_disk_density([0.0, 1.0, 3.0], H=H, kappa_halo=kappa, surface_source=sigma,
                                 surface_loss_rate=surface_loss, decay_rate=lam)
        errors.append(np.max(np.abs(got / thin - 1)))
    # thin-disk value derived by hand at z = 0: sigma / (kappa k coth(kH) + l)
    k = math.sqrt(lam / kappa)
    assert thin_disk_density(0.0, H=H, kappa_halo=kappa, surface_source=sigma, surface_loss_rate=surface_loss,
                             decay_rate=lam) == pytest.approx(sigma / (kappa * k / math.tanh(k * H) + surface_loss),
                                                              rel=EXACT_RTOL)
    assert errors[-1] < 1e-3 / alpha  # the O(h) term is q h^2/(alpha kappa) relative to N: smaller for larger alpha
    assert errors[2] < errors[1] < errors[0]  # converges (first order in h)
    assert errors[1] / errors[2] == pytest.approx(10.0, rel=0.1)


def test_zero_decay_gives_the_stable_solution_linear_in_the_halo():
    # no decay: halo part is linear, N(h) = q T/(L T + kappa/(H-h)), T = tanh(k h)/k, k^2 = L/(alpha kappa)
    h, H, kappa, alpha, loss, q = 0.1, 4.0, 0.1, 0.2, 0.6, 1.0
    k = math.sqrt(loss / (alpha * kappa))
    transfer = math.tanh(k * h) / k
    edge = q * transfer / (loss * transfer + kappa / (H - h))
    z = np.linspace(h, H, 7)
    got = two_zone_density(z, h=h, H=H, kappa_halo=kappa, alpha=alpha, disk_loss_rate=loss, disk_source=q)
    np.testing.assert_allclose(got, edge * (H - z) / (H - h), rtol=EXACT_RTOL, atol=1e-14)
    # and the decaying solution tends to it as the rate -> 0, with a first-order correction
    differences = [abs(two_zone_density(0.0, h=h, H=H, kappa_halo=kappa, alpha=alpha, decay_rate=rate,
                                        disk_loss_rate=loss) / two_zone_density(0.0, h=h, H=H, kappa_halo=kappa,
                                                                                alpha=alpha, disk_loss_rate=loss)
                       - 1) for rate in (1e-5, 1e-6)]
    assert differences[0] / differences[1] == pytest.approx(10.0, rel=0.01)


def test_long_lifetime_gives_the_production_ratio():
    # two species with sources q10, q9 and identical transport: N10/N9 -> q10/q9 as gamma tau -> infinity
    # (error O(1/(gamma tau))), and -> 0 as gamma tau -> 0
    q10, q9 = 0.3, 1.0
    common = dict(h=0.1, H=4.0, kappa_halo=0.1, alpha=0.2, disk_loss_rate=0.2)
    ratios = []
    for lifetime in (1e4, 1e5, 1e6, 1e7):
        ratios.append(two_zone_density(0.0, **common, decay_rate=1 / lifetime, disk_source=q10)
                      / two_zone_density(0.0, **common, disk_source=q9))
    deviations = np.abs(np.array(ratios) / (q10 / q9) - 1)
    assert deviations[-1] < 1e-4
    np.testing.assert_allclose(deviations[:-1] / deviations[1:], 10.0, rtol=0.02)
    short = two_zone_density(0.0, **common, decay_rate=1e4, disk_source=q10) / two_zone_density(
        0.0, **common, disk_source=q9)
    assert short < 1e-3


@pytest.mark.parametrize("alpha,decay,loss", [(0.2, 0.5, 0.25), (0.05, 0.0, 1.0), (1.0, 0.3, 0.0)])
def test_density_and_flux_are_continuous_at_the_disk_edge(alpha, decay, loss):
    params = dict(**BASE, alpha=alpha, decay_rate=decay, disk_loss_rate=loss)
    h, step = BASE["h"], 1e-6
    inside = two_zone_density(h - np.array([0.0, step, 2 * step]), **params)
    outside = two_zone_density(h + np.array([0.0, step, 2 * step]), **params)
    assert inside[0] == pytest.approx(outside[0], rel=1e-14)
    # one-sided second-order derivatives
    slope_in = (3 * inside[0] - 4 * inside[1] + inside[2]) / (2 * step)
    slope_out = -(3 * outside[0] - 4 * outside[1] + outside[2]) / (2 * step)
    assert alpha * slope_in == pytest.approx(slope_out, rel=CONTINUITY_RTOL)
    assert abs(slope_in - slope_out) > 0.1 * abs(slope_out) or alpha == 1.0  # N' itself jumps unless alpha = 1


@pytest.mark.parametrize("alpha,decay,loss", [(0.2, 0.5, 0.25), (1.0, 0.0, 0.0), (0.1, 0.0, 2.0)])
def test_particles_are_conserved_source_equals_losses_plus_escape(alpha, decay, loss):
    params = dict(**BASE, alpha=alpha, decay_rate=decay, disk_loss_rate=loss, disk_source=2.0)
    h, H = BASE["h"], BASE["H"]
    disk = integrate.quad(lambda z: two_zone_density(z, **params), 0, h, epsabs=0, epsrel=1e-11)[0]
    halo = integrate.quad(lambda z: two_zone_density(z, **params), h, H, epsabs=0, epsrel=1e-11)[0]
    losses = 2 * ((decay + loss) * disk + decay * halo)
    escape = 2 * two_zone_flux(**params)
    assert 2 * h * 2.0 == pytest.approx(losses + escape, rel=QUADRATURE_RTOL)
    # and the escape flux agrees with a finite difference of the density at H
    step = 1e-5
    values = two_zone_density(H - np.array([0.0, step, 2 * step]), **params)
    slope = -(3 * values[0] - 4 * values[1] + values[2]) / (2 * step)  # -N'(H)
    assert two_zone_flux(**params) == pytest.approx(BASE["kappa_halo"] * slope, rel=1e-6)


def test_large_arguments_neither_overflow_nor_lose_precision():
    n = two_zone_density([0.0, 0.05, 0.1, 2.0, 4.0], h=0.1, H=4.0, kappa_halo=1e-3, alpha=0.01, decay_rate=50.0,
                         disk_loss_rate=1e4, disk_source=1.0)
    assert np.all(np.isfinite(n))
    assert n[0] == pytest.approx(1.0 / (50.0 + 1e4), rel=1e-12)  # deep in a thick disk: local balance q/Gamma
    assert n[-1] == 0.0


def test_astropy_quantities_are_converted():
    units = pytest.importorskip("astropy.units")
    plain = two_zone_density(0.05, h=0.1, H=4.0, kappa_halo=0.1, alpha=0.3, decay_rate=0.2)
    with_units = two_zone_density(50 * units.pc, h=100 * units.pc, H=4 * units.kpc,
                                  kappa_halo=0.1 * units.kpc**2 / units.Myr, alpha=0.3, decay_rate=0.2e-3 / units.kyr)
    assert with_units == pytest.approx(plain, rel=1e-13)
    with pytest.raises(ParameterError, match=r"^H"):
        two_zone_density(0.0, h=0.1, H=4 * units.s, kappa_halo=0.1, alpha=0.3)


@pytest.mark.parametrize("override,name", [(dict(h=4.0), "h"), (dict(h=5.0), "h"), (dict(alpha=0.0), "alpha"),
                                           (dict(alpha=-1.0), "alpha"), (dict(kappa_halo=0.0), "kappa_halo"),
                                           (dict(H=-1.0), "H"), (dict(h=0.0), "h"),
                                           (dict(decay_rate=-1.0), "decay_rate")])
def test_bad_geometry_and_rates_raise_parameter_error_naming_the_parameter(override, name):
    params = dict(h=0.1, H=4.0, kappa_halo=0.1, alpha=0.2) | override
    with pytest.raises(ParameterError) as error:
        two_zone_density(0.0, **params)
    assert error.value.name == name
