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
4. **Isotropic turbulence with B0** (:meth:`PairRate.isotropic` with ``eta < 1``) has no such separable closed
   form (helical orbits and the anisotropic tensor in the interaction picture): its :math:`\tilde c(x)` is a 4D
   quadrature (:func:`regular_field_pair_integrals`) interpolated in x and projected on Legendre polynomials
   (derivation and numerics in :meth:`PairRate.isotropic`), accurate to ~1e-4, not to round-off.

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

import itertools
import math
from collections.abc import Callable

import numpy as np
from numba import njit, prange
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
    "regular_field_pair_integrals",
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

        return cls._from_series(name, {"coefficients": coefficients.tolist()}, coefficients, kinked=False)

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
        eta: float = 1.0,
        lmin_over_lmax: float = DEFAULT_LMIN_OVER_LMAX,
        modes_per_decade: int = DEFAULT_MODES_PER_DECADE,
        pair_time_prefactor: float = DEFAULT_PAIR_TIME_PREFACTOR,
        pair_time: float | None = None,
        speed: float = 1.0,
        resolution: float = 1.0,
    ) -> PairRate:
        r"""Isotropic Kolmogorov turbulence: :math:`B_0 = 0` (eq. 4.7, ``eta = 1``) or with a regular field.

        **B0 = 0** (``eta = 1``, the default): ballistic orbits, PHYSICS eq. (4.7),

        .. math:: \tilde c(x;\Delta T) = \frac{\delta\Omega^2}{3}\int_0^{\Delta T}\!\!\int_0^{\Delta T}
                  ds_1ds_2\,R\bigl(v\sqrt{s_1^2+s_2^2-2s_1s_2x}\bigr),\qquad
                  k(x) = \frac{\tilde c(x)-\tilde c(1)}{\Delta T},

        :math:`\delta\Omega = \Omega`, :math:`R` = :func:`anisotropy.spectrum.isotropic_correlation` on the
        simulator's modes; computed exactly as the slab model with :math:`w = 0` (module docstring, step 3).
        Its scattering time is the Markov (small-angle) limit of the same model, :math:`\tau_s = 1/(2D_s)` with
        :math:`D_s = \frac13\int_0^\infty\langle\delta\boldsymbol\Omega(0)\cdot\delta\boldsymbol\Omega(\tau)\rangle
        d\tau = \frac{\Omega^2}{3v}\int_0^\infty R(r)\,dr`, i.e. :math:`\Omega\tau_s = 3\rho/\sum_n f_n\pi/k_n
        \approx 3\rho` (:math:`\int_0^\infty R = L_c/2` in the DESIGN convention): :math:`\lambda\propto r_g^2/L_c`,
        valid for :math:`\rho\gtrsim1`; for :math:`\rho\ll1` particles gyrate in the local field and this model is
        only indicative.

        **With a regular field** :math:`B_0\hat z` (``eta < 1``; the simulator's ``"isotropic"`` turbulence).  The
        interaction-picture model built exactly as the slab model (4.6), for the isotropic tensor:

        1. *Correlation tensor* of the simulator's field :math:`\delta\mathbf B = \sum_nA_n\hat\xi_n
           \cos(k_n\hat\kappa_n\cdot\mathbf r+\beta_n)`, :math:`A_n^2 = 2\eta f_n` (units :math:`B_\mathrm{tot}`),
           :math:`\hat\kappa_n` uniform, :math:`\hat\xi_n\perp\hat\kappa_n` at a uniform angle.  Averaging over
           :math:`\beta_n` and the polarisation angle (:math:`\langle\hat\xi_i\hat\xi_j\rangle =
           (\delta_{ij}-\hat\kappa_i\hat\kappa_j)/2`) and then over :math:`\hat\kappa` with
           :math:`\langle\hat\kappa_i\hat\kappa_je^{iu\hat\kappa\cdot\hat r}\rangle = \delta_{ij}j_1(u)/u -
           \hat r_i\hat r_jj_2(u)`:

           .. math:: \langle\delta B_i(\mathbf r_A)\delta B_j(\mathbf r_B)\rangle
                     = \frac\eta2\sum_nf_n\langle(\delta_{ij}-\hat\kappa_i\hat\kappa_j)\cos(k_n\hat\kappa\cdot
                     \Delta\mathbf r)\rangle_{\hat\kappa}
                     = \frac\eta2\bigl[P(r)\,\delta_{ij} + Q(r)\,\Delta r_i\Delta r_j\bigr],

           :math:`P = \sum_nf_n\,(j_0(u_n)-j_1(u_n)/u_n)`, :math:`Q = \sum_nf_nk_n^2\,j_2(u_n)/u_n^2`,
           :math:`u_n = k_nr`, :math:`r = |\Delta\mathbf r|`.  Its trace is :math:`\eta R(r)`
           (:math:`3j_0 - 3j_1/u + j_2 = 2j_0`).  The tensor is **symmetric**: the non-helical (linearly
           polarised, mirror-symmetric) ensemble has no antisymmetric (helicity) part.
        2. *Unperturbed orbits.*  The direction gyrates as :math:`\hat p(t-s) = R_z(\Omega_0s)\,\hat p`,
           :math:`\Omega_0 = \Omega\sqrt{1-\eta}`, so the backtracked position after a time s is

           .. math:: \mathbf r(s) = -v\Bigl[\mu s\,\hat z + \sqrt{1-\mu^2}\,\ell(s)\,
                     \bigl(\cos(\varphi+\tfrac{\Omega_0s}{2}),\ \sin(\varphi+\tfrac{\Omega_0s}{2}),\ 0\bigr)\Bigr],
                     \qquad \ell(s) = \frac{2\sin(\Omega_0s/2)}{\Omega_0}\ (\to s\ \text{as}\ \Omega_0\to0),

           with pitch cosine :math:`\mu` and gyrophase :math:`\varphi` of :math:`\hat p`.
        3. *Interaction picture.*  With :math:`\hat p = R_z(\Omega_0s)\hat p_I`, the kick acts on :math:`\hat p_I`
           through :math:`\delta\boldsymbol\Omega_I(s) = R_z(-\Omega_0s)\,\delta\boldsymbol\Omega(\mathbf r(s))`,
           :math:`\delta\boldsymbol\Omega = \Omega\,\delta\mathbf B/B_\mathrm{tot}` (= :math:`\Omega_0\delta\mathbf
           B/B_0`, so :math:`\delta\Omega^2 = \eta\Omega^2` as in PHYSICS 4.6).  Hence
           :math:`\delta\boldsymbol\Omega_I^A(s_1)\cdot\delta\boldsymbol\Omega_I^B(s_2) =
           \delta\boldsymbol\Omega^A\cdot R_z(\Omega_0(s_1-s_2))\,\delta\boldsymbol\Omega^B` with
           :math:`R_z(\alpha) = \hat z\hat z + \cos\alpha\,(1-\hat z\hat z) + \sin\alpha\,[\hat z\times]`: the
           component along :math:`B_0` is not rotated, the two perpendicular ones give :math:`\cos\Omega_0(s_1-s_2)`,
           and the :math:`\sin` term contracts the (vanishing) antisymmetric part.  So, with
           :math:`C = \cos\Omega_0(s_1-s_2)`,

           .. math:: \langle\delta\boldsymbol\Omega_I^A\cdot\delta\boldsymbol\Omega_I^B\rangle
                     = \Omega^2\,[T_{zz} + C\,(T_{xx}+T_{yy})]
                     = \frac{\eta\Omega^2}{2}\bigl[P(r)(1+2C) + Q(r)(\Delta z^2 + C\,\Delta r_\perp^2)\bigr],

           .. math:: \Delta z = -v(\mu_As_1-\mu_Bs_2),\qquad
                     \Delta r_\perp^2 = v^2\bigl[p_A^2\ell_1^2 + p_B^2\ell_2^2
                     - 2p_Ap_B\ell_1\ell_2\cos(\Delta\varphi - \tfrac{\Omega_0(s_1-s_2)}{2})\bigr],

           :math:`p_X = \sqrt{1-\mu_X^2}`, :math:`\ell_i = \ell(s_i)`, :math:`\Delta\varphi = \varphi_B-\varphi_A`.
        4. *Pair function* (PHYSICS 4.2) with the orientation average at fixed x of PHYSICS 4.6 (A uniform, B
           uniform on the cone :math:`\hat p_A\cdot\hat p_B = x`), which includes the uniform common gyrophase; by
           the axial symmetry only :math:`(\mu_A, \psi)` remain (:math:`\varphi_A = 0`):

           .. math:: \tilde c(x;\Delta T) = \frac13\int_0^{\Delta T}\!\!\int_0^{\Delta T}ds_1ds_2\,
                     \bigl\langle\langle\delta\boldsymbol\Omega_I^A(s_1)\cdot\delta\boldsymbol\Omega_I^B(s_2)
                     \rangle\bigr\rangle_x,\qquad k(x) = \frac{\tilde c(x)-\tilde c(1)}{\Delta T}.

           Limits: :math:`\Omega_0\to0` (η → 1) gives :math:`C = 1`, :math:`\ell = s`, straight lines and the
           integrand :math:`\eta\Omega^2R(r)`: eq. (4.7); :math:`\Omega_0\Delta T\to0` at fixed η gives eq. (4.7)
           times η.  :math:`\tilde c(x)` is the orientation average of a positive semi-definite kernel on the sphere,
           so its Legendre coefficients are ≥ 0 and :math:`k\le0`.

        **Numerics** (``eta < 1``; no closed form of the 4D integral is known to me):

        * :math:`P, Q` tabulated once per model on a uniform grid in r of step :data:`_TABLE_STEP`/:math:`k_\max`
          from the exact mode sums (power series below :math:`u = 0.5`), 4-point Lagrange interpolation.
        * Time: :math:`\tau = s_1-s_2\ge0` (the other half equals it after the exchange A ↔ B) and
          :math:`s_2 = (\Delta T-\tau)u`, composite Gauss rules graded toward the diagonal τ = 0 (where
          :math:`\tilde c(1)` has its :math:`|\tau|^{2/3}` cusp and :math:`\tilde c(x\to1)` its structure) and toward
          the orbit start u = 0, panels no longer than :data:`_PANEL_LENGTH` over the fastest of :math:`\Omega_0`,
          :math:`vk_\min`, :math:`1/\Delta T`.  Orientation: Gauss-Legendre in the polar angle of A on
          :math:`[0, \pi/2]` (mirror :math:`z\to-z`), trapezoid in ψ on :math:`[0, 2\pi)`.  :math:`\tilde c(1)` is
          the same sum with B = A (1D in τ), so the errors cancel in κ as x → 1
          (:func:`regular_field_pair_integrals`).
        * :math:`\kappa` is computed at :data:`_ANGLE_NODES` Chebyshev nodes in :math:`\ln\theta` on
          :math:`[\theta_\min, \theta_\mathrm{split}]` = [:data:`_SMALLEST_ANGLE`, :data:`_SPLIT_ANGLE`] and
          interpolated there as :math:`\kappa = \theta^2h(\ln\theta)` (power laws in θ are smooth in ln θ), and at
          :data:`_FAR_NODES` Chebyshev nodes in x on :math:`[-1, \cos\theta_\mathrm{split}]` (a polynomial in x);
          below :math:`\theta_\min` it continues as the power law with the local exponent there (≤ 2, the
          analytic limit).  Measured: ≤ 2.2e-4 of max|k| against direct quadrature between the nodes, and
          3e-7 against the brute-force reference on a sparse spectrum.  The plain Legendre coefficients
          :math:`\kappa_\ell`, ℓ = 1..:data:`REGULAR_FIELD_SERIES_LENGTH`, follow by the graded Gauss rule
          (:func:`anisotropy.legendre.graded_gauss_legendre`); :math:`k_\ell = \kappa_\ell/\Delta T` and
          :math:`k_0 = -\sum_{\ell\ge1}k_\ell`, so :math:`k(1) = 0` exactly (as :meth:`_from_modes`).

        **Scattering time for** :math:`\Delta T` (``eta < 1``): the slab-QLT
        :math:`\Omega\tau_s` (:func:`anisotropy.transport.omega_scattering_time`, same η and spectrum range).
        This model's own Markov limit does not exist: :math:`\tilde c(1;\Delta T)/\Delta T` grows like
        :math:`\ln\Delta T` because the :math:`\delta B_z` kicks (and the :math:`k_\parallel = 0` modes) stay
        coherent along the nearly circular orbits of :math:`|\mu|\lesssim L_c/(v\Delta T)`, a fraction that shrinks
        only like :math:`1/\Delta T` (``tests/anisotropy/test_pair_rates.py`` measures it).  The resonant slab-QLT
        time has the scaling of resonant pitch-angle scattering by a Kolmogorov spectrum,
        :math:`\Omega\tau_s\propto(k_\min r_g)^{-2/3}(1-\eta)/\eta`; its O(1) geometry factor for isotropic
        turbulence is absorbed by the calibrated prefactor (``validation/calibration.py``), which also reports the
        fit against the simulation's measured :math:`\tau_s`.  Not continuous at η → 1, where the B0 = 0 value
        above is used.

        Parameters
        ----------
        reduced_rigidity : float
            :math:`\rho = r_g/L_c`, :math:`r_g` in :math:`B_\mathrm{tot}`.
        eta : float
            :math:`\delta B^2/B_\mathrm{tot}^2` in (0, 1]; 1 (default) is :math:`B_0 = 0`.
        lmin_over_lmax, modes_per_decade, pair_time_prefactor, pair_time, speed
            As :meth:`slab`.
        resolution : float
            ``eta < 1`` only: divides the longest time panel (:func:`regular_field_pair_integrals`); raise it for
            sparse spectra (few modes per decade).

        Returns
        -------
        PairRate
            :math:`k(x)` in units of :math:`\Omega`, Legendre coefficients (exact for ``eta = 1``, by quadrature
            for ``eta < 1``).  ``params`` records ``eta``, ``omega_tau_s``, ``omega_pair_time``, ``n_modes``,
            ``series_length``, ``self_decorrelation`` (:math:`\tilde c(1)/\Delta T`) and, for ``eta < 1``,
            ``resolution``.

        Notes
        -----
        Cost (``eta < 1``): the quadrature grows like :math:`(\Omega\Delta T/\text{panel})^2` above a floor of
        ~0.3 s (the graded panels).  Measured on one core for 128 modes (L_min/L_max = 1e-2, 64 per decade), η =
        0.5: ΩΔT = 2, 5, 10, 20, 40 take 0.4, 0.7, 1.8, 4.3, 14 s at ρ = 1 and 0.7, 0.4, 0.7, 1.7, 5.0 s at
        ρ = 0.1 (``resolution = 0.5``: 0.3-4.5 s); :func:`anisotropy.predict_cl` at its defaults (k_max r_g = 300,
        ΩΔT ≈ 5-22) 2-13 s per prediction, comparable to the slab model.
        """
        reduced_rigidity = require_range("reduced_rigidity", reduced_rigidity, 0.0, None, low_open=True)
        eta = require_range("eta", eta, 0.0, 1.0, low_open=True)
        speed = require_range("speed", speed, 0.0, 1.0, low_open=True)
        wavenumbers, fractions = kolmogorov_modes(lmin_over_lmax, modes_per_decade)
        if eta == 1.0:
            omega_tau_s = 3.0 * reduced_rigidity / float(np.sum(fractions * np.pi / wavenumbers))
            omega_pair_time = _pair_time(omega_tau_s, pair_time_prefactor, pair_time)
            params = _model_params(reduced_rigidity, lmin_over_lmax, modes_per_decade, pair_time_prefactor,
                                   pair_time, speed, omega_tau_s, omega_pair_time, eta=eta)
            return cls._from_modes("isotropic", params, reduced_rigidity, lmin_over_lmax, modes_per_decade,
                                   omega_pair_time, gyration=0.0, strength=1.0)
        from .transport import omega_scattering_time

        resolution = require_range("resolution", resolution, 0.0, None, low_open=True)
        omega_tau_s = omega_scattering_time(reduced_rigidity, eta, lmin_over_lmax=lmin_over_lmax)
        omega_pair_time = _pair_time(omega_tau_s, pair_time_prefactor, pair_time)
        params = _model_params(reduced_rigidity, lmin_over_lmax, modes_per_decade, pair_time_prefactor, pair_time,
                               speed, omega_tau_s, omega_pair_time, eta=eta)
        params["resolution"] = resolution
        return cls._isotropic_regular_field(params, wavenumbers, fractions, reduced_rigidity, eta, omega_pair_time,
                                            resolution)

    @classmethod
    def _isotropic_regular_field(cls, params, wavenumbers, fractions, reduced_rigidity, eta, omega_pair_time,
                                 resolution) -> PairRate:
        """Legendre coefficients of the isotropic model with B0 (:meth:`isotropic`, numerics)."""
        kappa = _regular_field_interpolant(wavenumbers, fractions, reduced_rigidity, eta, omega_pair_time,
                                           resolution)
        length = REGULAR_FIELD_SERIES_LENGTH
        nodes, weights = graded_gauss_legendre(2 * length)
        rate_coefficients = legendre_coefficients(kappa(nodes), weights, nodes, length) / omega_pair_time
        rate_coefficients[0] = -float(np.sum(rate_coefficients[1:]))
        rate_coefficients.setflags(write=False)
        params = dict(params)
        params["n_modes"] = int(wavenumbers.size)
        params["series_length"] = length
        params["self_decorrelation"] = kappa.self_correlation / omega_pair_time

        return cls._from_series("isotropic", params, rate_coefficients, kinked=True)

    @classmethod
    def _from_series(cls, name, params, coefficients, *, kinked: bool) -> PairRate:
        """A rate given by its Legendre coefficients ``coefficients`` (read-only), zero beyond them.

        ``kinked`` rates (non-analytic at x = 1) are evaluated with :func:`legendre_series_minus_one`, which keeps
        k(1) = 0 exact and the cusp accurate, and are projected with the graded rule (``smooth=False``).
        """
        def legendre(lmax):
            padded = np.zeros(lmax + 1)
            count = min(lmax + 1, coefficients.size)
            padded[:count] = coefficients[:count]
            return padded

        evaluate = legendre_series_minus_one if kinked else legendre_series

        def function(x):
            return evaluate(coefficients, x)

        return cls(name, params, function=function, legendre=legendre, smooth=not kinked)

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

        return cls._from_series(name, params, rate_coefficients, kinked=True)


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


# ===================================================================================== isotropic turbulence with B0
#: step of the radial tables of the isotropic model with B0, in units of 1/k_max: the 4-point Lagrange interpolation
#: error of one mode is ≤ (3/128)(k h)^4 ≈ 2.3e-6 of its (small, f ∝ k^{-2/3}) power at k = k_max, far less below
_TABLE_STEP = 0.1
#: below this k r the tabulated j-combinations use their power series (the closed forms cancel catastrophically)
_SERIES_ARGUMENT = 0.5
#: default orientation nodes: Gauss-Legendre in the polar angle of A on [0, π/2] (z-mirror symmetry) and the
#: trapezoid rule (spectral for the periodic integrand) in the azimuth ψ of B around A on [0, 2π)
DEFAULT_POLAR_NODES = 12
DEFAULT_AZIMUTH_NODES = 16
#: Gauss nodes per full panel of the time rules, and per geometrically graded panel
_PANEL_NODES = 8
_GRADED_PANEL_NODES = 6
#: ratio of successive graded panels of the time rules (toward the diagonal s1 = s2 and toward s2 = 0)
_TIME_GRADING = 0.2
#: the graded time panels reach down to these fractions of ΔT (diagonal) and of the s2 range (start of the orbit)
_DIAGONAL_DEPTH = 1e-6
_START_DEPTH = 1e-4
#: longest time panel in units of the fastest time scale among 1/Ω0, 1/(v k_min) and ΔT (measured: 1e-5 relative
#: for 64 modes per decade; sparse spectra need ``resolution`` > 1, see tests)
_PANEL_LENGTH = 1.5
#: κ(x) is evaluated directly at Chebyshev nodes: _ANGLE_NODES in ln θ on [θ_min, θ_split] and _FAR_NODES in x on
#: [-1, cos θ_split]; measured against direct evaluations between the nodes: ≤ 2e-4 relative (test_pair_rates)
_ANGLE_NODES = 20
_FAR_NODES = 20
_SMALLEST_ANGLE = 1e-3
_SPLIT_ANGLE = 0.3
#: Legendre series length of the isotropic model with B0 (the rate matrix asks for 2 ℓmax coefficients)
REGULAR_FIELD_SERIES_LENGTH = 2048


@njit(cache=True)
def _radial_kernel(radii, wavenumbers, fractions, longitudinal, transverse):  # pragma: no cover - compiled
    # P(r) = Σ f (j0 - j1/u) and Q(r) = Σ f k² j2(u)/u², u = k r; both even and entire in r
    for index in range(radii.size):
        radius = radii[index]
        p_value = 0.0
        q_value = 0.0
        for mode in range(wavenumbers.size):
            k = wavenumbers[mode]
            u = k * radius
            if u < _SERIES_ARGUMENT:
                # j_n(u)/u^n = Σ_m (-u²/2)^m / (m! (2n+2m+1)!!)
                step = -0.5 * u * u
                term = 1.0
                double_factorial = 1.0
                p_series = 0.0
                q_series = 0.0
                for m in range(10):
                    next_factorial = double_factorial * (2 * m + 3)
                    p_series += term * (1.0 / double_factorial - 1.0 / next_factorial)
                    q_series += term / (next_factorial * (2 * m + 5))
                    term *= step / (m + 1)
                    double_factorial = next_factorial
                p_value += fractions[mode] * p_series
                q_value += fractions[mode] * k * k * q_series
            else:
                sine = math.sin(u)
                cosine = math.cos(u)
                squared = u * u
                j0 = sine / u
                j1_over_u = (sine / u - cosine) / squared
                j2 = (3.0 / squared - 1.0) * sine / u - 3.0 * cosine / squared
                p_value += fractions[mode] * (j0 - j1_over_u)
                q_value += fractions[mode] * k * k * j2 / squared
        longitudinal[index] = p_value
        transverse[index] = q_value


@njit(cache=True, inline="always")
def _lookup(table, inverse_step, radius):  # pragma: no cover - compiled
    # 4-point Lagrange interpolation on a uniform grid; the tabulated functions are even in r (mirror at r = 0)
    position = radius * inverse_step
    index = int(position)
    t = position - index
    before = table[index - 1] if index >= 1 else table[1]
    return (-t * (t - 1.0) * (t - 2.0) * before / 6.0 + (t + 1.0) * (t - 1.0) * (t - 2.0) * table[index] / 2.0
            - (t + 1.0) * t * (t - 2.0) * table[index + 1] / 2.0 + (t + 1.0) * t * (t - 1.0) * table[index + 2] / 6.0)


@njit(cache=True, inline="always")
def _tensor_contraction(longitudinal, transverse, inverse_step, dz2, perp2, gyration_cosine):  # pragma: no cover
    # T_zz + cos Ω0(s1-s2) (T_xx + T_yy) per unit η/2: P (1 + 2C) + Q (Δz² + C Δr⊥²)
    radius = math.sqrt(dz2 + perp2)
    return (_lookup(longitudinal, inverse_step, radius) * (1.0 + 2.0 * gyration_cosine)
            + _lookup(transverse, inverse_step, radius) * (dz2 + gyration_cosine * perp2))


@njit(cache=True, parallel=True)
def _cross_kernel(cosines, polar, polar_weights, azimuth, azimuth_weights, lags, lag_cosines, lag_half_cos,
                  lag_half_sin, first_times, second_times, first_chords, second_chords, weights, speed,
                  longitudinal, transverse, inverse_step):  # pragma: no cover - compiled
    out = np.zeros(cosines.size)
    for index in prange(cosines.size):
        x = cosines[index]
        sine_x = math.sqrt(max(0.0, 1.0 - x * x))
        total = 0.0
        for a in range(polar.size):
            mu_a = math.cos(polar[a])
            perp_a = math.sin(polar[a])
            for p in range(azimuth.size):
                # B on the cone around A = (sin θ_A, 0, cos θ_A): B = x A + sqrt(1-x²)(cos ψ e_θ + sin ψ e_φ)
                cos_psi = math.cos(azimuth[p])
                b_x = x * perp_a + sine_x * cos_psi * mu_a
                b_y = sine_x * math.sin(azimuth[p])
                mu_b = x * mu_a - sine_x * cos_psi * perp_a
                perp_b2 = b_x * b_x + b_y * b_y
                partial = 0.0
                for j in range(lags.size):
                    # p_⊥B cos(Δφ - Ω0 τ/2) without dividing by p_⊥B
                    projected = b_x * lag_half_cos[j] + b_y * lag_half_sin[j]
                    for i in range(first_times.shape[1]):
                        chord_a = first_chords[j, i]
                        chord_b = second_chords[j, i]
                        dz = speed * (mu_a * first_times[j, i] - mu_b * second_times[j, i])
                        perp2 = speed * speed * (perp_a * perp_a * chord_a * chord_a + perp_b2 * chord_b * chord_b
                                                 - 2.0 * perp_a * chord_a * chord_b * projected)
                        partial += weights[j, i] * _tensor_contraction(longitudinal, transverse, inverse_step,
                                                                       dz * dz, max(perp2, 0.0), lag_cosines[j])
                total += polar_weights[a] * azimuth_weights[p] * partial
        out[index] = total
    return out


@njit(cache=True)
def _self_kernel(polar, polar_weights, lags, lag_weights, lag_cosines, lag_chords, speed, longitudinal, transverse,
                 inverse_step):  # pragma: no cover - compiled
    total = 0.0
    for a in range(polar.size):
        mu = math.cos(polar[a])
        perp = math.sin(polar[a])
        partial = 0.0
        for j in range(lags.size):
            dz = speed * mu * lags[j]
            perp2 = (speed * perp * lag_chords[j]) ** 2
            partial += lag_weights[j] * _tensor_contraction(longitudinal, transverse, inverse_step, dz * dz, perp2,
                                                            lag_cosines[j])
        total += polar_weights[a] * partial
    return total


def _chords(gyration: float, times) -> np.ndarray:
    r"""Chord length :math:`2\sin(\Omega_0 s/2)/\Omega_0` of a unit-speed gyration over time s (→ s as Ω0 → 0)."""
    times = np.asarray(times, dtype=float)
    return times * np.sinc(0.5 * gyration * times / np.pi)


def _graded_time_rule(length: float, max_panel: float, smallest: float) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss rule on [0, length]: panels graded by :data:`_TIME_GRADING` toward 0 down to ``smallest``,
    then every panel longer than ``max_panel`` split evenly (:data:`_PANEL_NODES` nodes per full panel)."""
    edges = [length]
    while edges[-1] * _TIME_GRADING > smallest:
        edges.append(edges[-1] * _TIME_GRADING)
    edges.append(0.0)
    edges.reverse()
    full_nodes, full_weights = gauss_legendre(_PANEL_NODES)
    graded_nodes, graded_weights = gauss_legendre(_GRADED_PANEL_NODES)
    nodes, weights = [], []
    for low, high in itertools.pairwise(edges):
        pieces = max(1, math.ceil((high - low) / max_panel))
        # the outermost panel and split panels carry the oscillations: full panels; the inner graded ones fewer
        rule = (full_nodes, full_weights) if pieces > 1 or high == length else (graded_nodes, graded_weights)
        bounds = np.linspace(low, high, pieces + 1)
        for start, stop in itertools.pairwise(bounds):
            nodes.append(0.5 * (stop - start) * (rule[0] + 1.0) + start)
            weights.append(0.5 * (stop - start) * rule[1])
    return np.concatenate(nodes), np.concatenate(weights)


def _radial_tables(wavenumbers, power_fraction, max_radius: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Tables of P(r) and Q(r) (:meth:`PairRate.isotropic`, step 3) on a uniform grid up to ``max_radius``."""
    step = _TABLE_STEP / float(np.max(wavenumbers))
    count = math.ceil(max_radius / step) + 4
    radii = step * np.arange(count)
    longitudinal, transverse = np.empty(count), np.empty(count)
    _radial_kernel(radii, np.ascontiguousarray(wavenumbers, dtype=float),
                   np.ascontiguousarray(power_fraction, dtype=float), longitudinal, transverse)
    return 1.0 / step, longitudinal, transverse


def _orientation_rule(polar_nodes: int, azimuth_nodes: int):
    nodes, weights = gauss_legendre(polar_nodes)
    polar = 0.25 * math.pi * (nodes + 1.0)
    # density of θ_A on [0, π/2] after the z-mirror: sin θ_A
    polar_weights = 0.25 * math.pi * weights * np.sin(polar)
    azimuth = 2.0 * math.pi * np.arange(azimuth_nodes) / azimuth_nodes
    return polar, polar_weights, azimuth, np.full(azimuth_nodes, 1.0 / azimuth_nodes)


def regular_field_pair_integrals(cosines, wavenumbers, power_fraction, reduced_rigidity: float, eta: float,
                                 pair_time: float, *, polar_nodes: int = DEFAULT_POLAR_NODES,
                                 azimuth_nodes: int = DEFAULT_AZIMUTH_NODES, resolution: float = 1.0):
    r""":math:`\tilde c(x;\Delta T)` at ``cosines`` and :math:`\tilde c(1;\Delta T)` of isotropic turbulence with B0.

    The integrals of :meth:`PairRate.isotropic` (``eta < 1``; its docstring has the derivation) in units of
    :math:`\Omega` (time :math:`1/\Omega`, lengths :math:`L_c`, :math:`v = \rho`), by the quadrature of step 4
    there.  Both use the same polar and lag nodes, so their quadrature errors cancel in
    :math:`\kappa = \tilde c(x) - \tilde c(1)` as :math:`x\to1`.

    Parameters
    ----------
    cosines : array_like
        :math:`x = \hat p_A\cdot\hat p_B` in [-1, 1].
    wavenumbers, power_fraction : array_like
        The modes (:func:`anisotropy.spectrum.kolmogorov_modes`), wavenumbers in :math:`1/L_c`.
    reduced_rigidity, eta, pair_time : float
        :math:`\rho = r_g/L_c`, :math:`\eta\in(0, 1]`, :math:`T = \Omega\Delta T`.
    polar_nodes, azimuth_nodes : int
        Orientation nodes (:data:`DEFAULT_POLAR_NODES`, :data:`DEFAULT_AZIMUTH_NODES`).
    resolution : float
        Divides the longest time panel (default resolves dense spectra, ≥ 32 modes per decade, to ~1e-5;
        sparse test spectra whose correlation oscillates at :math:`k_\max` need :math:`\gtrsim v k_\max/(v k_\min)`).

    Returns
    -------
    cross : ndarray
        :math:`\tilde c(x)` at ``cosines``.
    self_correlation : float
        :math:`\tilde c(1)`.
    """
    cosines = np.ascontiguousarray(cosines, dtype=float).ravel()
    wavenumbers = np.asarray(wavenumbers, dtype=float).ravel()
    power_fraction = np.asarray(power_fraction, dtype=float).ravel()
    speed = require_range("reduced_rigidity", reduced_rigidity, 0.0, None, low_open=True)
    eta = require_range("eta", eta, 0.0, 1.0, low_open=True)
    pair_time = require_range("pair_time", pair_time, 0.0, None, low_open=True)
    resolution = require_range("resolution", resolution, 0.0, None, low_open=True)
    gyration = math.sqrt(1.0 - eta)
    # the slowest variation along the orbits: gyration, crossing the outer scale, or the whole window
    max_panel = _PANEL_LENGTH / (resolution * max(gyration, speed * float(np.min(wavenumbers)), 1.0 / pair_time))
    polar, polar_weights, azimuth, azimuth_weights = _orientation_rule(
        require_integer("polar_nodes", polar_nodes, 1), require_integer("azimuth_nodes", azimuth_nodes, 1))
    lags, lag_weights = _graded_time_rule(pair_time, max_panel, _DIAGONAL_DEPTH * pair_time)
    fractions, fraction_weights = _graded_time_rule(1.0, max_panel / pair_time, _START_DEPTH)
    # |r_A(s1) - r_B(s2)| ≤ v (s1 + s2) ≤ 2 v T
    inverse_step, longitudinal, transverse = _radial_tables(wavenumbers, power_fraction, 2.0 * speed * pair_time)
    remaining = pair_time - lags
    second_times = remaining[:, None] * fractions[None, :]
    first_times = second_times + lags[:, None]
    weights = (lag_weights * remaining)[:, None] * fraction_weights[None, :]
    cross = _cross_kernel(cosines, polar, polar_weights, azimuth, azimuth_weights, lags, np.cos(gyration * lags),
                          np.cos(0.5 * gyration * lags), np.sin(0.5 * gyration * lags), first_times, second_times,
                          _chords(gyration, first_times), _chords(gyration, second_times), weights, speed,
                          longitudinal, transverse, inverse_step)
    self_value = _self_kernel(polar, polar_weights, lags, lag_weights * remaining, np.cos(gyration * lags),
                              _chords(gyration, lags), speed, longitudinal, transverse, inverse_step)
    # (1/3) (η/2) × 2 (the s1 < s2 half equals the s1 > s2 half after the exchange A ↔ B)
    return eta / 3.0 * cross, eta / 3.0 * self_value


class _RegularFieldInterpolant:
    r""":math:`\kappa(x;\Delta T) = \tilde c(x) - \tilde c(1)` of the isotropic model with B0 from its values at
    Chebyshev nodes (:meth:`PairRate.isotropic`, numerics): near x = 1 as :math:`\theta^2h(\ln\theta)` on
    :math:`[\theta_\min, \theta_\mathrm{split}]` (power laws in θ are smooth in ln θ), elsewhere as a polynomial in
    x on :math:`[-1, \cos\theta_\mathrm{split}]` (κ is analytic there), and below :math:`\theta_\min` the power law
    with the local exponent at :math:`\theta_\min` (at most the analytic 2)."""

    def __init__(self, near, far, exponent_below, self_correlation):
        self.near, self.far = near, far
        self.exponent_below = exponent_below
        self.value_at_min = float(near(math.log(_SMALLEST_ANGLE)))
        self.self_correlation = float(self_correlation)

    def __call__(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        # θ from 1 - x without the cancellation of arccos near x = 1
        theta = 2.0 * np.arcsin(np.sqrt(np.clip(0.5 * (1.0 - x), 0.0, 1.0)))
        clipped = np.clip(theta, _SMALLEST_ANGLE, _SPLIT_ANGLE)
        near = theta**2 * self.near(np.log(clipped))
        ratio = np.maximum(theta, np.finfo(float).tiny) / _SMALLEST_ANGLE
        below = theta**2 * self.value_at_min * ratio ** (self.exponent_below - 2.0)
        far = self.far(x)
        return np.where(theta < _SMALLEST_ANGLE, below, np.where(theta <= _SPLIT_ANGLE, near, far))


def _chebyshev_points(low: float, high: float, count: int) -> np.ndarray:
    order = np.arange(count)
    return 0.5 * (low + high) + 0.5 * (high - low) * np.cos(np.pi * (order + 0.5) / count)


def _regular_field_interpolant(wavenumbers, fractions, reduced_rigidity, eta, pair_time, resolution):
    """κ at the Chebyshev nodes of both pieces in one quadrature pass; see :class:`_RegularFieldInterpolant`."""
    low, split = math.log(_SMALLEST_ANGLE), math.log(_SPLIT_ANGLE)
    log_angles = _chebyshev_points(low, split, _ANGLE_NODES)
    far_cosines = _chebyshev_points(-1.0, math.cos(_SPLIT_ANGLE), _FAR_NODES)
    cosines = np.concatenate([np.cos(np.exp(log_angles)), far_cosines])
    cross, self_value = regular_field_pair_integrals(cosines, wavenumbers, fractions, reduced_rigidity, eta,
                                                     pair_time, resolution=resolution)
    kappa = cross - self_value
    near_values = kappa[:_ANGLE_NODES] / np.exp(2.0 * log_angles)
    near = np.polynomial.Chebyshev.fit(log_angles, near_values, _ANGLE_NODES - 1, domain=[low, split])
    far = np.polynomial.Chebyshev.fit(far_cosines, kappa[_ANGLE_NODES:], _FAR_NODES - 1,
                                      domain=[-1.0, math.cos(_SPLIT_ANGLE)])
    # local exponent β = 2 + d ln h/d ln θ at θ_min
    exponent = min(2.0, 2.0 + float(near.deriv()(low) / near(low)))
    return _RegularFieldInterpolant(near, far, exponent, self_value)
