"""The value type :class:`PairRate` and the helpers every pair-rate model shares.

The models themselves: :mod:`.plane_waves` (slab and isotropic B0 = 0, closed form), :mod:`.regular_field`
(isotropic turbulence with B0, 4D quadrature); the overview is the package docstring.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import special

from ..calibration import PAIR_TIME_PREFACTOR
from ..errors import ParameterError, require_integer, require_range
from ..legendre import gauss_legendre, graded_gauss_legendre, legendre_coefficients, legendre_series
from ..spectrum import kolmogorov_modes
from ..turbulence import DEFAULT_LMIN_OVER_LMAX, DEFAULT_MODES_PER_DECADE, DEFAULT_SPECTRAL_INDEX, Turbulence
from .plane_waves import pair_correlation_coefficients
from .regular_field import REGULAR_FIELD_SERIES_LENGTH, _regular_field_interpolant

#: default a in ΩΔT = a (Ωτ_s)^{1/3} (docs/physics/mixing_ode.md#pair-time [S]): the value calibrated once against the
#: slab simulations of
#: validation/ (anisotropy.calibration: 2.46 ± 0.34; read its caveats: the 1/3 exponent is disfavoured at 3.2σ
#: and the theory's shape misses the simulation at r_g/L_c ≳ 0.3)
DEFAULT_PAIR_TIME_PREFACTOR = PAIR_TIME_PREFACTOR


# DEFAULT_LMIN_OVER_LMAX and DEFAULT_MODES_PER_DECADE of the physical models are the shared defaults of
# anisotropy.turbulence (docs/physics/conventions.md#turbulence-modes: ≥ 256 modes per decade for diffusion work),
# re-exported by anisotropy.pair_rates

#: relative size of |k(1)| against max|k| above which a user-supplied rate is rejected (k(1) = 0 is exact physics)
K_AT_ONE_TOLERANCE = 1e-8


class PairRate:
    r"""A pair-rate function :math:`k(x)` on :math:`x\in[-1,1]` (docs/physics/mixing_ode.md#mixing-matrix).

    Build one with the constructors :meth:`toy`, :meth:`from_function`, :meth:`from_legendre` (or the physical
    models :meth:`slab` and :meth:`isotropic`, or :meth:`from_turbulence` from a :class:`~anisotropy.Turbulence`).
    Instances are immutable descriptions; evaluation is cheap.

    Attributes
    ----------
    name : str
        Model name, recorded in results.
    params : dict
        The model's parameters, recorded in results.
    smooth : bool
        Whether :math:`k` is analytic at :math:`x = 1`.  Smooth rates give a Batchelor-like cascade whose low
        multipoles drift with ℓmax (docs/physics/mixing_ode.md#ode); non-smooth ones need more quadrature nodes.

    Examples
    --------
    >>> from anisotropy import PairRate
    >>> rate = PairRate.toy(D_s=0.5, kappa_c=5.0)   # k(x) = 2 D_s (exp(-kappa_c (1 - x)) - 1)
    >>> bool(rate(1.0) == 0)                        # a direction paired with itself sees identical kicks
    True
    >>> k = rate.legendre(4)                        # plain Legendre coefficients k_0..k_4
    >>> round(float(k[0]), 6)                       # 2 D_s [(1 - exp(-2 kappa_c)) / (2 kappa_c) - 1]
    -0.900005
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
        singularity :math:`(1-x)^{\beta/2}` (docs/physics/pair_rates.md) to round-off where plain Gauss-Legendre
        converges only
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
        r"""White-noise rotation field of docs/physics/toy_model.md#toy-model: :math:`k(x) = 2D_s(e^{-\kappa_c(1-x)} -
        1)`.

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
    def from_turbulence(
        cls,
        turbulence: Turbulence,
        reduced_rigidity: float,
        *,
        pair_time_prefactor: float = DEFAULT_PAIR_TIME_PREFACTOR,
        pair_time: float | None = None,
        speed: float = 1.0,
        single_precision: bool = False,
        resolution: float = 1.0,
        omega_tau_s: float | None = None,
    ) -> PairRate:
        r"""The physical model of a :class:`~anisotropy.Turbulence`: :meth:`slab` or :meth:`isotropic`.

        The kind picks the model; η, :math:`L_\min/L_\max`, the modes per decade and the spectral index come from
        ``turbulence`` (the description the simulator's configuration shares), the rest as in :meth:`slab` and
        :meth:`isotropic`.  Identical to calling those with the same numbers loose.

        Parameters
        ----------
        turbulence : Turbulence
            Kind ``"slab"`` (needs η < 1) or ``"isotropic"`` (η = 1 is :math:`B_0 = 0`).
        reduced_rigidity : float
            :math:`\rho = r_g/L_c`, :math:`r_g` in :math:`B_\mathrm{tot}`.
        pair_time_prefactor, pair_time, speed, omega_tau_s
            As :meth:`slab`.
        single_precision : bool
            Slab only, as :meth:`slab`.
        resolution : float
            Isotropic with η < 1 only, as :meth:`isotropic`.

        Returns
        -------
        PairRate

        Examples
        --------
        >>> from anisotropy import PairRate, Turbulence
        >>> turbulence = Turbulence(kind="slab", eta=0.5, lmin_over_lmax=1e-2, modes_per_decade=16)
        >>> rate = PairRate.from_turbulence(turbulence, 0.1)
        >>> loose = PairRate.slab(0.1, 0.5, lmin_over_lmax=1e-2, modes_per_decade=16)
        >>> bool((rate.legendre(8) == loose.legendre(8)).all())
        True
        """
        if not isinstance(turbulence, Turbulence):
            raise ParameterError("turbulence", f"expected an anisotropy.Turbulence, got {type(turbulence).__name__}")
        spectrum = {"lmin_over_lmax": turbulence.lmin_over_lmax, "modes_per_decade": turbulence.modes_per_decade,
                    "spectral_index": turbulence.spectral_index, "pair_time_prefactor": pair_time_prefactor,
                    "pair_time": pair_time, "speed": speed, "omega_tau_s": omega_tau_s}
        if turbulence.kind == "slab":
            return cls.slab(reduced_rigidity, turbulence.eta, single_precision=single_precision, **spectrum)
        return cls.isotropic(reduced_rigidity, eta=turbulence.eta, resolution=resolution, **spectrum)

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
        single_precision: bool = False,
        spectral_index: float = DEFAULT_SPECTRAL_INDEX,
        omega_tau_s: float | None = None,
    ) -> PairRate:
        r"""Slab turbulence with a regular field :math:`B_0\hat z`, docs/physics/pair_rates.md#slab-pair-rate, eq.
        (4.6).

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
            The discrete spectrum (:func:`anisotropy.spectrum.kolmogorov_modes`, :math:`q` = ``spectral_index``).
        pair_time_prefactor : float
            :math:`a` in :math:`\Omega\Delta T = a(\Omega\tau_s)^{1/3}` (docs/physics/mixing_ode.md#pair-time, eq.
            (4.5)), with :math:`\tau_s`
            from slab QLT (:func:`anisotropy.transport.omega_scattering_time`).
        pair_time : float, optional
            :math:`\Omega\Delta T` directly; overrides the prefactor rule.
        speed : float
            :math:`v/c`, recorded only: in units of :math:`\Omega = v/r_g` the rate does not depend on it.
        single_precision : bool
            Project in float32 (:func:`~anisotropy.pair_rates.pair_correlation_coefficients`): 2× faster, Legendre
            coefficients to ~1e-5 relative (what :func:`anisotropy.predict_cl` uses).
        spectral_index : float
            :math:`q` of the discrete spectrum and of slab QLT (default Kolmogorov 5/3).
        omega_tau_s : float, optional
            The slab-QLT :math:`\Omega\tau_s` of these inputs when the caller has it already
            (:func:`anisotropy.predict_cl` computes it once per prediction); None computes it here.

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
        :math:`\beta\approx5/3` close to 2 (docs/physics/mixing_ode.md#ode).
        """
        reduced_rigidity = require_range("reduced_rigidity", reduced_rigidity, 0.0, None, low_open=True)
        eta = require_range("eta", eta, 0.0, 1.0, low_open=True, high_open=True)
        speed = require_range("speed", speed, 0.0, 1.0, low_open=True)
        omega_tau_s = _slab_omega_tau_s(omega_tau_s, reduced_rigidity, eta, lmin_over_lmax, spectral_index)
        omega_pair_time = _pair_time(omega_tau_s, pair_time_prefactor, pair_time)
        params = _model_params(reduced_rigidity, lmin_over_lmax, modes_per_decade, pair_time_prefactor, pair_time,
                               speed, omega_tau_s, omega_pair_time, spectral_index, eta=eta)
        return cls._from_modes("slab", params, reduced_rigidity, lmin_over_lmax, modes_per_decade,
                               omega_pair_time, gyration=math.sqrt(1.0 - eta), strength=eta,
                               single_precision=single_precision, spectral_index=spectral_index)

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
        spectral_index: float = DEFAULT_SPECTRAL_INDEX,
        omega_tau_s: float | None = None,
    ) -> PairRate:
        r"""Isotropic Kolmogorov turbulence: :math:`B_0 = 0` (eq. 4.7, ``eta = 1``) or with a regular field.

        **B0 = 0** (``eta = 1``, the default): ballistic orbits, docs/physics/pair_rates.md#isotropic-pair-rate, eq.
        (4.7),

        .. math:: \tilde c(x;\Delta T) = \frac{\delta\Omega^2}{3}\int_0^{\Delta T}\!\!\int_0^{\Delta T}
                  ds_1ds_2\,R\bigl(v\sqrt{s_1^2+s_2^2-2s_1s_2x}\bigr),\qquad
                  k(x) = \frac{\tilde c(x)-\tilde c(1)}{\Delta T},

        :math:`\delta\Omega = \Omega`, :math:`R` = :func:`anisotropy.spectrum.isotropic_correlation` on the
        simulator's modes; computed exactly as the slab model with :math:`w = 0` (module docstring, step 3).
        Its scattering time is the Markov (small-angle) limit of the same model, :math:`\tau_s = 1/(2D_s)` with
        :math:`D_s = \frac13\int_0^\infty\langle\delta\boldsymbol\Omega(0)\cdot\delta\boldsymbol\Omega(\tau)\rangle
        d\tau = \frac{\Omega^2}{3v}\int_0^\infty R(r)\,dr`, i.e. :math:`\Omega\tau_s = 3\rho/\sum_n f_n\pi/k_n
        \approx 3\rho` (:math:`\int_0^\infty R = L_c/2` in the convention of
        docs/physics/conventions.md#correlation-length): :math:`\lambda\propto r_g^2/L_c`,
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
           B/B_0`, so :math:`\delta\Omega^2 = \eta\Omega^2` as in docs/physics/pair_rates.md).  Hence
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
        4. *Pair function* (docs/physics/mixing_ode.md#mixing-matrix) with the orientation average at fixed x of
           docs/physics/pair_rates.md (A uniform, B
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
        spectral_index, omega_tau_s
            As :meth:`slab`; ``omega_tau_s`` is the scattering time above (the Markov value for ``eta = 1``, the
            slab-QLT one for ``eta < 1``).

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
        wavenumbers, fractions = kolmogorov_modes(lmin_over_lmax, modes_per_decade, spectral_index)
        if eta == 1.0:
            if omega_tau_s is None:
                omega_tau_s = ballistic_omega_scattering_time(reduced_rigidity, wavenumbers, fractions)
            omega_tau_s = require_range("omega_tau_s", omega_tau_s, 0.0, None, low_open=True)
            omega_pair_time = _pair_time(omega_tau_s, pair_time_prefactor, pair_time)
            params = _model_params(reduced_rigidity, lmin_over_lmax, modes_per_decade, pair_time_prefactor,
                                   pair_time, speed, omega_tau_s, omega_pair_time, spectral_index, eta=eta)
            return cls._from_modes("isotropic", params, reduced_rigidity, lmin_over_lmax, modes_per_decade,
                                   omega_pair_time, gyration=0.0, strength=1.0, spectral_index=spectral_index)
        resolution = require_range("resolution", resolution, 0.0, None, low_open=True)
        omega_tau_s = _slab_omega_tau_s(omega_tau_s, reduced_rigidity, eta, lmin_over_lmax, spectral_index)
        omega_pair_time = _pair_time(omega_tau_s, pair_time_prefactor, pair_time)
        params = _model_params(reduced_rigidity, lmin_over_lmax, modes_per_decade, pair_time_prefactor, pair_time,
                               speed, omega_tau_s, omega_pair_time, spectral_index, eta=eta)
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
                    *, gyration, strength, single_precision: bool = False,
                    spectral_index: float = DEFAULT_SPECTRAL_INDEX) -> PairRate:
        """Shared construction of the slab and isotropic models from the discrete modes (module docstring)."""
        wavenumbers, fractions = kolmogorov_modes(lmin_over_lmax, modes_per_decade, spectral_index)
        scaled = wavenumbers * reduced_rigidity
        correlation = (strength / 3.0) * pair_correlation_coefficients(scaled, fractions, omega_pair_time, gyration,
                                                                       single_precision=single_precision)
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
    """ΩΔT = prefactor (Ωτ_s)^{1/3} (docs/physics/mixing_ode.md#pair-time, eq. (4.5)) unless ``pair_time`` is given."""
    if pair_time is not None:
        return require_range("pair_time", pair_time, 0.0, None, low_open=True)
    prefactor = require_range("pair_time_prefactor", prefactor, 0.0, None, low_open=True)
    return prefactor * omega_tau_s ** (1.0 / 3.0)


def _slab_omega_tau_s(omega_tau_s, reduced_rigidity, eta, lmin_over_lmax, spectral_index) -> float:
    """The slab-QLT Ωτ_s as given by the caller, else computed (:func:`anisotropy.transport.omega_scattering_time`)."""
    if omega_tau_s is not None:
        return require_range("omega_tau_s", omega_tau_s, 0.0, None, low_open=True)
    from ..transport import omega_scattering_time

    return omega_scattering_time(reduced_rigidity, eta, lmin_over_lmax=lmin_over_lmax, spectral_index=spectral_index)


def ballistic_omega_scattering_time(reduced_rigidity: float, wavenumbers, power_fraction) -> float:
    r""":math:`\Omega\tau_s` of isotropic turbulence with :math:`B_0 = 0`: the Markov limit of the ballistic pair
    model, :math:`3\rho/\sum_nf_n\pi/k_n` (:meth:`PairRate.isotropic`, docs/physics/pair_rates.md#isotropic-pair-rate).

    ``wavenumbers`` in :math:`1/L_c` and ``power_fraction`` as :func:`anisotropy.spectrum.kolmogorov_modes` returns
    them; :math:`\rho = r_g/L_c`.
    """
    wavenumbers = np.asarray(wavenumbers, dtype=float)
    return 3.0 * reduced_rigidity / float(np.sum(np.asarray(power_fraction, dtype=float) * np.pi / wavenumbers))


def _model_params(reduced_rigidity, lmin_over_lmax, modes_per_decade, pair_time_prefactor, pair_time, speed,
                  omega_tau_s, omega_pair_time, spectral_index, **extra) -> dict:
    """The parameter record of a physical model (``PairRate.params``), in one order for every model."""
    params = {"reduced_rigidity": reduced_rigidity, **extra, "lmin_over_lmax": lmin_over_lmax,
              "modes_per_decade": modes_per_decade, "spectral_index": spectral_index,
              "pair_time_prefactor": None if pair_time is not None else float(pair_time_prefactor),
              "pair_time": None if pair_time is None else omega_pair_time, "speed": speed,
              "omega_tau_s": omega_tau_s, "omega_pair_time": omega_pair_time}
    return params


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
