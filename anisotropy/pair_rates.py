r"""Pair-rate models :math:`k(x)`: the Markov rate of the relative angular random walk of two directions.

``PHYSICS.md`` sect. 4.2: :math:`\kappa(x;\Delta t) = \tilde c(x;\Delta t) - \tilde c(1;\Delta t)` and
:math:`k(x) = \kappa(x;\Delta t)/\Delta t`.  The rate matrix (4.3) needs either :math:`k(x)` as a function (for the
Gauss-Legendre form) or its plain Legendre coefficients :math:`k_{\ell_A}` (for the 3j form).  A model provides
whichever it knows exactly; :func:`anisotropy.rate_matrix` chooses the form from that.

Every physical model satisfies :math:`k(1) = 0` (a direction paired with itself sees identical kicks), which is
what makes the mixing conserve total power, :math:`\sum_\ell (2\ell+1)\Gamma_{\ell\ell_0} = 0`.

Physical models (:meth:`PairRate.slab`, :meth:`PairRate.isotropic`; PHYSICS 4.6a-b)
-----------------------------------------------------------------------------------
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
   :math:`\hat A\cdot\hat B = x` (PHYSICS 4.6), :math:`\langle P_\ell(\mu_A)P_{\ell'}(\mu_B)\rangle_x =
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

Properties (tested or measured; see ``tests/anisotropy/test_pair_rates.py``)
--------------------------------------------------------------------------
* Coherent limit :math:`T\to0`: :math:`\tilde c(x)\to(\delta\Omega^2/3)T^2` for every x, so the pair
  difference starts at :math:`\kappa(x)\to-(\delta\Omega^2/36)\,\rho^2\langle k^2\rangle(1-x)\,T^4` (smooth
  field below :math:`L_\min`), not :math:`\propto T^2` as PHYSICS 4.4 reads for :math:`\tilde c`.
* Markov limit :math:`T\to\infty`: :math:`\tilde c(1)/T\to2D_s`; for slab :math:`D_s =
  \frac23\langle D_{\mu\mu}/(1-\mu^2)\rangle_\mu` of slab QLT (the 1/3 isotropisation of PHYSICS 4.2).
* Near :math:`x = 1`: :math:`-k\propto\theta^2` (analytic) where the pair separation :math:`\rho T\theta` is below
  :math:`L_\min`; in the resolved Kolmogorov range the measured local exponent is :math:`\beta\approx1.5`-:math:`1.7`
  (slab and isotropic), consistent with :math:`\beta = 2/3 + 1 = 5/3` for frozen turbulence crossed ballistically
  (the time integral along the pair adds one power to the structure-function exponent 2/3), not the
  :math:`\beta\approx2/3` estimated in PHYSICS 4.6.  Hence :math:`C_\ell\propto\ell^{\beta-4}\approx\ell^{-7/3}`.
* Cost: the series length is :math:`\approx k_\max r_g\,\Omega\Delta T`; it is capped at
  :data:`MAX_SERIES_LENGTH` (memory ~ modes × length × 32 bytes).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import special

from .calibration import PAIR_TIME_PREFACTOR
from .errors import ParameterError, require_integer, require_range
from .legendre import gauss_legendre, graded_gauss_legendre, legendre_coefficients, legendre_series
from .spectrum import kolmogorov_modes

__all__ = [
    "DEFAULT_PAIR_TIME_PREFACTOR",
    "MAX_SERIES_LENGTH",
    "PairRate",
    "pair_correlation_coefficients",
    "self_correlation",
    "series_length",
]

#: default a in ΩΔT = a (Ωτ_s)^{1/3} (PHYSICS 4.4 [S]): the value calibrated once against the slab simulations of
#: validation/ (anisotropy.calibration: 2.46 ± 0.34; read its caveats: the 1/3 exponent is disfavoured at 3.2σ
#: and the theory's shape misses the simulation at r_g/L_c ≳ 0.3)
DEFAULT_PAIR_TIME_PREFACTOR = PAIR_TIME_PREFACTOR

#: default L_min/L_max of the discrete spectrum of the physical models (as anisotropy.units)
DEFAULT_LMIN_OVER_LMAX = 1e-3

#: default mode density (DESIGN.md: ≥ 256 per decade for diffusion work)
DEFAULT_MODES_PER_DECADE = 256

#: multipoles projected per BLAS block in pair_correlation_coefficients (memory ~ nodes × block doubles)
_MULTIPOLE_BLOCK = 128

#: largest Legendre series of the physical models (k_max r_g ΩΔT beyond ~16000 would need GBs of memory)
MAX_SERIES_LENGTH = 16384

#: Gauss-Legendre node counts are rounded up to a multiple of this, so that the cached rules are reused
_NODE_QUANTUM = 64

#: relative size of |k(1)| against max|k| above which a user-supplied rate is rejected (k(1) = 0 is exact physics)
K_AT_ONE_TOLERANCE = 1e-8


class PairRate:
    r"""A pair-rate function :math:`k(x)` on :math:`x\in[-1,1]` (PHYSICS 4.2).

    Build one with the constructors :meth:`toy`, :meth:`from_function`, :meth:`from_legendre` (or the physical
    models).  Instances are immutable descriptions; evaluation is cheap.

    Attributes
    ----------
    name : str
        Model name, recorded in results.
    params : dict
        The model's parameters, recorded in results.
    smooth : bool
        Whether :math:`k` is analytic at :math:`x = 1`.  Smooth rates give a Batchelor-like cascade whose low
        multipoles drift with ℓmax (PHYSICS 4.3); non-smooth ones need more quadrature nodes.
    """

    def __init__(
        self,
        name: str,
        params: dict,
        *,
        function: Callable | None = None,
        legendre: Callable[[int], np.ndarray] | None = None,
        smooth: bool = False,
    ):
        if function is None and legendre is None:
            raise ValueError("a PairRate needs a function k(x), Legendre coefficients, or both")
        self.name = name
        self.params = dict(params)
        self.smooth = bool(smooth)
        self._function = function
        self._legendre = legendre

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.params.items())
        return f"PairRate.{self.name}({arguments})"

    @property
    def has_exact_legendre(self) -> bool:
        """True if the Legendre coefficients are known in closed form (the 3j form of Γ is then preferred)."""
        return self._legendre is not None

    @property
    def has_function(self) -> bool:
        return self._function is not None

    def __call__(self, x) -> np.ndarray:
        """Evaluate :math:`k(x)`; from the Legendre series if only coefficients are known."""
        x = np.asarray(x, dtype=float)
        if self._function is not None:
            return np.asarray(self._function(x), dtype=float)
        coefficients = self._legendre(_series_length_for_evaluation())
        return legendre_series(coefficients, x)

    def legendre(self, lmax: int, n_nodes: int | None = None) -> np.ndarray:
        r"""Plain Legendre coefficients :math:`k_{\ell_A} = \frac{2\ell_A+1}{2}\int k P_{\ell_A}\,dx`, ℓA = 0..lmax.

        Exact for models that know them; otherwise by quadrature.  ``n_nodes`` given: plain Gauss-Legendre with
        that many nodes.  Default: for smooth rates :func:`default_nodes` Gauss-Legendre nodes (degree
        :math:`\ge 4\,\text{lmax}+3`); for rates not analytic at x = 1, the graded rule
        :func:`anisotropy.legendre.graded_gauss_legendre` of the same degree, which resolves the endpoint
        singularity :math:`(1-x)^{\beta/2}` (PHYSICS 4.6) to round-off where plain Gauss-Legendre converges only
        like :math:`n^{-2-\beta}`.
        """
        lmax = require_integer("lmax", lmax, 0)
        if self._legendre is not None:
            return np.asarray(self._legendre(lmax), dtype=float)[: lmax + 1].copy()
        if n_nodes is not None:
            nodes, weights = gauss_legendre(require_integer("n_nodes", n_nodes, 1))
        elif self.smooth:
            nodes, weights = gauss_legendre(default_nodes(lmax, smooth=True))
        else:
            nodes, weights = graded_gauss_legendre(_projection_degree(lmax))
        return legendre_coefficients(self._function(nodes), weights, nodes, lmax)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def toy(cls, D_s: float = 0.5, kappa_c: float = 5.0) -> PairRate:
        r"""White-noise rotation field of PHYSICS sect. 8: :math:`k(x) = 2D_s(e^{-\kappa_c(1-x)} - 1)`.

        Closed-form coefficients :math:`k_\ell = 2D_s[e^{-\kappa_c}(2\ell+1)\,i_\ell(\kappa_c) - \delta_{\ell0}]`
        with :math:`i_\ell` the modified spherical Bessel function, evaluated as
        :math:`e^{-\kappa}i_\ell(\kappa) = \sqrt{\pi/(2\kappa)}\,I^{(e)}_{\ell+1/2}(\kappa)` (exponentially scaled,
        no overflow).  ``kappa_c = 0`` is the rigid-rotation limit :math:`k\equiv0`.
        """
        D_s = require_range("D_s", D_s, 0.0, None, low_open=True)
        kappa_c = require_range("kappa_c", kappa_c, 0.0, None)

        def function(x):
            return 2.0 * D_s * np.expm1(-kappa_c * (1.0 - np.asarray(x, dtype=float)))

        def legendre(lmax):
            ell = np.arange(lmax + 1)
            if kappa_c == 0.0:
                scaled = (ell == 0).astype(float)
            else:
                scaled = (2 * ell + 1) * np.sqrt(np.pi / (2.0 * kappa_c)) * special.ive(ell + 0.5, kappa_c)
            coefficients = 2.0 * D_s * scaled
            coefficients[0] -= 2.0 * D_s
            return coefficients

        return cls("toy", {"D_s": D_s, "kappa_c": kappa_c}, function=function, legendre=legendre, smooth=True)

    @classmethod
    def from_function(cls, function: Callable, *, smooth: bool = False, name: str = "from_function") -> PairRate:
        r"""Wrap a vectorised callable :math:`k(x)`.

        ``smooth`` says whether :math:`k` is analytic at x = 1 (more quadrature nodes are used if not).  Raises
        :class:`ParameterError` if :math:`k(1) \ne 0`, which would break conservation of total power.
        """
        if not callable(function):
            raise ParameterError("function", "expected a callable k(x) on [-1, 1]")
        probe = np.asarray(function(np.linspace(-1.0, 1.0, 201)), dtype=float)
        if probe.shape != (201,) or not np.all(np.isfinite(probe)):
            raise ParameterError("function", "k(x) must return finite values of the shape of x on [-1, 1]")
        scale = max(float(np.max(np.abs(probe))), np.finfo(float).tiny)
        if abs(probe[-1]) > K_AT_ONE_TOLERANCE * scale:
            raise ParameterError("function", f"k(1) must vanish (pair = itself), got k(1) = {probe[-1]:g}")
        return cls(name, {"function": getattr(function, "__name__", repr(function))}, function=function,
                   smooth=smooth)

    @classmethod
    def from_legendre(cls, coefficients, *, name: str = "from_legendre") -> PairRate:
        r"""Rate given by its plain Legendre coefficients :math:`k_{\ell_A}`; higher ones are zero.

        Raises :class:`ParameterError` if :math:`\sum_\ell k_\ell = k(1) \ne 0`.
        """
        coefficients = np.array(coefficients, dtype=float).ravel()
        if coefficients.size == 0 or not np.all(np.isfinite(coefficients)):
            raise ParameterError("coefficients", "expected a non-empty sequence of finite numbers")
        scale = max(float(np.sum(np.abs(coefficients))), np.finfo(float).tiny)
        if abs(coefficients.sum()) > K_AT_ONE_TOLERANCE * scale:
            raise ParameterError("coefficients", f"k(1) = sum of coefficients must vanish, got {coefficients.sum():g}")
        coefficients.setflags(write=False)

        def legendre(lmax):
            padded = np.zeros(lmax + 1)
            count = min(lmax + 1, coefficients.size)
            padded[:count] = coefficients[:count]
            return padded

        def function(x):
            return legendre_series(coefficients, x)

        return cls(name, {"coefficients": coefficients.tolist()}, function=function, legendre=legendre,
                   smooth=True)

    @classmethod
    def slab(
        cls,
        reduced_rigidity: float,
        eta: float,
        *,
        lmin_over_lmax: float = DEFAULT_LMIN_OVER_LMAX,
        modes_per_decade: int = DEFAULT_MODES_PER_DECADE,
        pair_time_prefactor: float = DEFAULT_PAIR_TIME_PREFACTOR,
        pair_time: float | None = None,
        speed: float = 1.0,
    ) -> PairRate:
        r"""Slab turbulence with a regular field :math:`B_0\hat z`, PHYSICS eq. (4.6).

        .. math:: \tilde c(x;\Delta T) = \frac{\delta\Omega^2}{3}\int_0^{\Delta T}\!\!\int_0^{\Delta T}
                  ds_1ds_2\,\cos\Omega_0(s_1-s_2)\,\bigl\langle R\bigl(v(\mu_Bs_2-\mu_As_1)\bigr)\bigr\rangle_x,
                  \qquad k(x) = \frac{\tilde c(x)-\tilde c(1)}{\Delta T}

        with :math:`\delta\Omega^2 = \Omega_0^2\,\delta B^2/B_0^2 = \eta\,\Omega^2`,
        :math:`\Omega_0 = \Omega\sqrt{1-\eta}`, :math:`R` = :func:`anisotropy.spectrum.slab_correlation` on the
        simulator's discrete modes, and the orientation average over :math:`\mu_A` uniform, :math:`\psi` uniform
        done exactly (module docstring, steps 1-2).

        Parameters
        ----------
        reduced_rigidity : float
            :math:`\rho = r_g/L_c`, :math:`r_g` in :math:`B_\mathrm{tot}`.
        eta : float
            :math:`\delta B^2/B_\mathrm{tot}^2` in (0, 1).
        lmin_over_lmax, modes_per_decade : float, int
            The discrete spectrum (:func:`anisotropy.spectrum.kolmogorov_modes`, :math:`q = 5/3`).
        pair_time_prefactor : float
            :math:`a` in :math:`\Omega\Delta T = a(\Omega\tau_s)^{1/3}` (PHYSICS 4.4-4.5), with :math:`\tau_s`
            from slab QLT (:func:`anisotropy.transport.omega_scattering_time`).
        pair_time : float, optional
            :math:`\Omega\Delta T` directly; overrides the prefactor rule.
        speed : float
            :math:`v/c`, recorded only: in units of :math:`\Omega = v/r_g` the rate does not depend on it.

        Returns
        -------
        PairRate
            :math:`k(x)` in units of :math:`\Omega`, exact Legendre coefficients.  ``params`` records the inputs and
            the derived ``omega_tau_s``, ``omega_pair_time``, ``n_modes``, ``series_length`` and
            ``self_decorrelation`` (:math:`\tilde c(1)/\Delta T`, i.e. :math:`2D_s` for
            :math:`\Delta T\gg\tau_\mathrm{corr}`).

        Notes
        -----
        ``lmin_over_lmax`` is a resolution parameter for the mixing: :math:`k` is analytic (Batchelor-like cascade,
        low multipoles drifting with ℓmax) at angles :math:`\theta\lesssim 1/(k_\max r_g\,\Omega\Delta T)`, i.e.
        for ℓ beyond ``params["series_length"]``.  Measured at ρ = 0.01, η = 0.1: :math:`C_{10}/C_1` grows by
        ~12% per doubling of ℓmax = 100…1600 with the default 1e-3, and by 10%, 7%, 5% per doubling
        (ℓmax 100→800) with 1e-5 (series length 10940 > 2ℓmax): still slow, as expected for
        :math:`\beta\approx5/3` close to 2 (PHYSICS 4.3).
        """
        from .transport import omega_scattering_time

        reduced_rigidity = require_range("reduced_rigidity", reduced_rigidity, 0.0, None, low_open=True)
        eta = require_range("eta", eta, 0.0, 1.0, low_open=True, high_open=True)
        speed = require_range("speed", speed, 0.0, 1.0, low_open=True)
        omega_tau_s = omega_scattering_time(reduced_rigidity, eta, lmin_over_lmax=lmin_over_lmax)
        omega_pair_time = _pair_time(omega_tau_s, pair_time_prefactor, pair_time)
        params = _model_params(reduced_rigidity, lmin_over_lmax, modes_per_decade, pair_time_prefactor, pair_time,
                               speed, omega_tau_s, omega_pair_time, eta=eta)
        return cls._from_modes("slab", params, reduced_rigidity, lmin_over_lmax, modes_per_decade,
                               omega_pair_time, gyration=math.sqrt(1.0 - eta), strength=eta)

    @classmethod
    def isotropic(
        cls,
        reduced_rigidity: float,
        *,
        lmin_over_lmax: float = DEFAULT_LMIN_OVER_LMAX,
        modes_per_decade: int = DEFAULT_MODES_PER_DECADE,
        pair_time_prefactor: float = DEFAULT_PAIR_TIME_PREFACTOR,
        pair_time: float | None = None,
        speed: float = 1.0,
    ) -> PairRate:
        r"""Isotropic turbulence with :math:`B_0 = 0` on ballistic orbits, PHYSICS eq. (4.7).

        .. math:: \tilde c(x;\Delta T) = \frac{\delta\Omega^2}{3}\int_0^{\Delta T}\!\!\int_0^{\Delta T}
                  ds_1ds_2\,R\bigl(v\sqrt{s_1^2+s_2^2-2s_1s_2x}\bigr),\qquad
                  k(x) = \frac{\tilde c(x)-\tilde c(1)}{\Delta T},

        :math:`\delta\Omega = \Omega` (:math:`\eta = 1`), :math:`R` =
        :func:`anisotropy.spectrum.isotropic_correlation` on the simulator's modes; computed as the slab model with
        :math:`w = 0` (module docstring, step 3).

        The scattering time used for :math:`\Delta T` is the Markov (small-angle) limit of this same model,
        :math:`\tau_s = 1/(2D_s)` with :math:`D_s = \frac13\int_0^\infty\langle\delta\boldsymbol\Omega(0)\cdot
        \delta\boldsymbol\Omega(\tau)\rangle d\tau = \frac{\Omega^2}{3v}\int_0^\infty R(r)\,dr`, i.e.
        :math:`\Omega\tau_s = 3\rho/\sum_n f_n\pi/k_n \approx 3\rho` (:math:`\int_0^\infty R = L_c/2` in
        the DESIGN convention).  This is :math:`\lambda\propto r_g^2/L_c` quasi-linear scattering, valid for
        :math:`\rho\gtrsim 1`; for :math:`\rho\ll1` particles gyrate in the local field and the ballistic model
        and this :math:`\tau_s` are only indicative: pass ``pair_time`` (to be calibrated with the simulator).

        Known gap: isotropic turbulence **with** a regular field (helical orbits and the anisotropic correlation
        tensor in the interaction picture) is not implemented.

        Parameters and returns as :meth:`slab` (no ``eta``); :math:`k` in units of :math:`\Omega`.
        """
        reduced_rigidity = require_range("reduced_rigidity", reduced_rigidity, 0.0, None, low_open=True)
        speed = require_range("speed", speed, 0.0, 1.0, low_open=True)
        wavenumbers, fractions = kolmogorov_modes(lmin_over_lmax, modes_per_decade)
        omega_tau_s = 3.0 * reduced_rigidity / float(np.sum(fractions * np.pi / wavenumbers))
        omega_pair_time = _pair_time(omega_tau_s, pair_time_prefactor, pair_time)
        params = _model_params(reduced_rigidity, lmin_over_lmax, modes_per_decade, pair_time_prefactor, pair_time,
                               speed, omega_tau_s, omega_pair_time)
        return cls._from_modes("isotropic", params, reduced_rigidity, lmin_over_lmax, modes_per_decade,
                               omega_pair_time, gyration=0.0, strength=1.0)

    @classmethod
    def _from_modes(cls, name, params, reduced_rigidity, lmin_over_lmax, modes_per_decade, omega_pair_time,
                    *, gyration, strength) -> PairRate:
        """Shared construction of the slab and isotropic models from the discrete modes (module docstring)."""
        wavenumbers, fractions = kolmogorov_modes(lmin_over_lmax, modes_per_decade)
        scaled = wavenumbers * reduced_rigidity
        correlation = (strength / 3.0) * pair_correlation_coefficients(scaled, fractions, omega_pair_time, gyration)
        rate_coefficients = correlation / omega_pair_time
        # k_0 = (c̃_0 - c̃(1))/ΔT with c̃(1) = Σ c̃_ℓ, so that Σ k_ℓ = k(1) = 0 by construction
        rate_coefficients[0] = -float(np.sum(rate_coefficients[1:]))
        rate_coefficients.setflags(write=False)
        params = dict(params)
        params["n_modes"] = int(wavenumbers.size)
        params["series_length"] = int(rate_coefficients.size - 1)
        params["self_decorrelation"] = float(np.sum(correlation)) / omega_pair_time

        def legendre(lmax):
            padded = np.zeros(lmax + 1)
            count = min(lmax + 1, rate_coefficients.size)
            padded[:count] = rate_coefficients[:count]
            return padded

        def function(x):
            return legendre_series_minus_one(rate_coefficients, x)

        return cls(name, params, function=function, legendre=legendre, smooth=False)


def default_nodes(lmax: int, smooth: bool) -> int:
    r"""Default node count of :meth:`PairRate.legendre` projecting onto degree ≤ lmax.

    Smooth rates: :math:`\max(2\,\text{lmax}+2, 64)` Gauss-Legendre nodes.  Rates with a kink at x = 1: the node
    count of the graded rule of the same polynomial degree (:func:`anisotropy.legendre.graded_gauss_legendre`).
    """
    lmax = require_integer("lmax", lmax, 0)
    base = max(2 * lmax + 2, 64)
    if smooth:
        return base
    return int(graded_gauss_legendre(_projection_degree(lmax))[0].size)


def _projection_degree(lmax: int) -> int:
    """Polynomial degree integrated exactly by the smooth default: 2 × default_nodes − 1 (at least 4 lmax + 3)."""
    return 2 * max(2 * lmax + 2, 64) - 1


def _series_length_for_evaluation() -> int:
    return 512


def _pair_time(omega_tau_s: float, prefactor, pair_time) -> float:
    """ΩΔT = prefactor (Ωτ_s)^{1/3} (PHYSICS 4.5) unless ``pair_time`` is given."""
    if pair_time is not None:
        return require_range("pair_time", pair_time, 0.0, None, low_open=True)
    prefactor = require_range("pair_time_prefactor", prefactor, 0.0, None, low_open=True)
    return prefactor * omega_tau_s ** (1.0 / 3.0)


def _model_params(reduced_rigidity, lmin_over_lmax, modes_per_decade, pair_time_prefactor, pair_time, speed,
                  omega_tau_s, omega_pair_time, **extra) -> dict:
    """The parameter record of a physical model (``PairRate.params``), in one order for every model."""
    params = {"reduced_rigidity": reduced_rigidity, **extra, "lmin_over_lmax": lmin_over_lmax,
              "modes_per_decade": modes_per_decade,
              "pair_time_prefactor": None if pair_time is not None else float(pair_time_prefactor),
              "pair_time": None if pair_time is None else omega_pair_time, "speed": speed,
              "omega_tau_s": omega_tau_s, "omega_pair_time": omega_pair_time}
    return params


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
                                  lmax: int | None = None, n_nodes: int | None = None) -> np.ndarray:
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
    """
    scaled = np.asarray(scaled_wavenumbers, dtype=float).ravel()
    fractions = np.asarray(power_fraction, dtype=float).ravel()
    if scaled.shape != fractions.shape or scaled.size == 0:
        raise ParameterError("power_fraction", "needs one entry per wavenumber (non-empty, same length)")
    pair_time = require_range("pair_time", pair_time, 0.0, None, low_open=True)
    gyration = require_range("gyration", gyration, 0.0, 1.0)
    order = np.argsort(np.abs(scaled))
    scaled, fractions = scaled[order], fractions[order]
    if lmax is None:
        lmax = series_length(float(np.abs(scaled[-1])) * pair_time)
    lmax = require_integer("lmax", lmax, 0)
    if lmax > MAX_SERIES_LENGTH:
        raise ParameterError(
            "lmin_over_lmax",
            f"k_max r_g ΩΔT = {float(np.abs(scaled[-1])) * pair_time:.3g} needs a Legendre series of {lmax} terms "
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
    even = (parts[1.0][0] + parts[-1.0][0], parts[1.0][1] + parts[-1.0][1])
    odd = (parts[1.0][0] - parts[-1.0][0], parts[1.0][1] - parts[-1.0][1])
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
            rows = table[offset::2].T
            # Σ_j w_j F(μ_j) P_ℓ(μ_j) for the active modes: real GEMMs for the real and imaginary parts
            squared = (real_part[first:] @ rows) ** 2 + (imaginary_part[first:] @ rows) ** 2
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


def legendre_series_minus_one(coefficients, x) -> np.ndarray:
    r""":math:`\sum_{\ell\ge1} c_\ell\,[P_\ell(x) - 1]`, i.e. :math:`\sum_\ell c_\ell P_\ell(x)` for a series with
    :math:`\sum_\ell c_\ell = 0`, without the cancellation near :math:`x = 1`.

    Runs the Bonnet recurrence on :math:`D_\ell = P_\ell - 1`:
    :math:`(\ell+1)D_{\ell+1} = (2\ell+1)xD_\ell - \ell D_{\ell-1} + (2\ell+1)(x-1)`, with :math:`x-1` exact in
    floating point, so :math:`k(x)\propto\theta^\beta` is resolved down to tiny angles and :math:`k(1) = 0`
    exactly.  ``coefficients[0]`` is ignored.
    """
    x = np.asarray(x, dtype=float)
    flat = x.ravel()
    offset = flat - 1.0
    total = np.zeros_like(flat)
    previous, current = np.zeros_like(flat), offset.copy()
    for ell in range(1, len(coefficients)):
        total += coefficients[ell] * current
        previous, current = current, ((2 * ell + 1) * (flat * current + offset) - ell * previous) / (ell + 1)
    return total.reshape(x.shape)
