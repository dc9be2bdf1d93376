r"""Fit measured pseudo-angular power spectra for turbulence parameters.

The data are pseudo-:math:`\tilde C_\ell` of a ground array; the model is an all-sky theory :math:`\langle C_\ell
\rangle` passed through the experiment's estimator (:class:`anisotropy.observatory.ForwardModel`: ring filter,
mask, low-ℓ subtraction, shot noise).  ``PHYSICS.md`` sect. 2 (last item) and sect. 7: never compare the raw
all-sky spectrum with the data.

**Model.**  :math:`C_\ell = C_1\,s_\ell(\boldsymbol\theta)` with the shape :math:`s_\ell = C_\ell/C_1` of a pluggable
:class:`Model` (the literature quotes spectra relative to the dipole) and the all-sky dipole power :math:`C_1`
either free (``normalisation="free"``) or anchored to the measured dipole (``"dipole"``: default
:math:`C_1 = 2.13\times10^{-6}`, anchor ``C1_fullsky_with_deltaN``, derived from the HAWC+IceCube 10 TeV dipole
components).  Models: :class:`PowerLawModel` (phenomenological), :class:`ToyModel` (the white-noise rotation toy
of PHYSICS sect. 8, free :math:`\kappa_c`: cheap, for tests), :class:`TurbulenceModel` (:func:`anisotropy.predict_cl`
with free :math:`r_g/L_c`, η and optionally the pair-time prefactor; Ωτ_s reported as a derived quantity),
:class:`CallableModel` (any callable), and :class:`InterpolatedModel`, which tabulates a slow model on a grid
(:math:`\log s_\ell`, cubic interpolation in the internal coordinates) so that fits need no ~1 s evaluations.

**Likelihood.**  Gaussian in the pseudo-:math:`\tilde C_\ell`,
:math:`-2\ln L = \mathbf r^T\Sigma^{-1}\mathbf r + \ln\det\Sigma`, :math:`\mathbf r = \tilde C^\mathrm{data} -
\langle\tilde C\rangle(\boldsymbol\theta)`, with :math:`\Sigma` the forward model's covariance (cosmic variance of
the one observed sky, PHYSICS sect. 7, plus shot noise, through the filters), optionally plus the data's own
errors (systematics).  ``covariance="fixed"`` (default) evaluates Σ at the current best fit and iterates until the
fit is stable (the usual practice: χ² keeps its meaning, no bias from the ln det term); ``"model"`` lets Σ vary
with the parameters.  Intervals are profile-likelihood intervals :math:`\Delta(-2\ln L) \le 1` (68.3 %, Wilks):
of χ² with the final Σ in ``"fixed"`` mode, of χ² + ln det Σ(θ) in ``"model"`` mode; if a profile finds a lower
value than the optimiser, the fit restarts from there.  Optional MCMC with ``emcee`` (flat priors in the internal
coordinates within the bounds, Σ at the best fit).

**Modes projected out.**  The χ² is evaluated in the eigenbasis of the correlation matrix
:math:`R = D^{-1/2}\Sigma D^{-1/2}` (:math:`D = \mathrm{diag}\,\Sigma`), keeping the modes with eigenvalue above
:data:`MODE_EIGENVALUE_THRESHOLD` times the largest (:meth:`Likelihood.whitening`); the fit reports the number kept
(``FitResult.n_modes``) and the effective ``dof = n_modes - n_parameters``.  This removes a real degeneracy, not
just round-off: the pseudo-:math:`\tilde C_\ell` of a sky patch whose largest pair separation is
:math:`\gamma_\mathrm{max} < 180°` are quadratic forms of the patch's pixels, and a combination
:math:`\sum_\ell v_\ell\tilde C_\ell` weights pixel pairs by the Legendre kernel
:math:`\sum_\ell v_\ell(2\ell+1)P_\ell(\cos\gamma)`.  A degree-ℓ_max polynomial can be made exponentially
small on :math:`\cos\gamma\in[\cos\gamma_\mathrm{max}, 1]`, so about :math:`n_\ell(1-\gamma_\mathrm{max}/\pi)`
combinations (the Chebyshev share of the unreachable interval) have an expectation *and* a variance that are
exponentially small for every isotropic sky and noise.  The IceCube cap dec ≤ −25° has
:math:`\gamma_\mathrm{max} = 130°`: ≈ 10.6 of the 38 multipoles ℓ = 3..40; the harmonic covariance has 10
eigenvalues below 1e-5 of the largest (6 at round-off, then 4.6e-13 ... 1.7e-6) and a condition number ≈ 1e17.
The exact harmonic model predicts signal in those modes comparable to their tiny width, but the real estimator
does not realise it: on HEALPix skies (pixelised mask edge, anafast quadrature) their variance exceeds the
harmonic one by factors 5 to 1e290 (measured: 200 skies, nside 16 and 32), and digitised published spectra carry
errors far above it.  Fitting them gave χ² ~ 1e9 (or negative from round-off) and C_1 at its bound.  Presets whose
mask contains antipodal pairs (hawc, hawc+icecube) keep every mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
from scipy import optimize, stats
from scipy.interpolate import RegularGridInterpolator

from .errors import ParameterError, require_integer, require_range
from .io import atomic_output, write_json
from .observatory import ForwardModel, get_experiment

__all__ = [
    "DELTA_CHI2_68",
    "CallableModel",
    "FitResult",
    "InterpolatedModel",
    "Likelihood",
    "Model",
    "Parameter",
    "PowerLawModel",
    "ToyModel",
    "TurbulenceModel",
    "anchored_c1",
    "fit",
    "likelihood_from_spectrum",
    "plot_fit",
    "plot_profiles",
    "sample_posterior",
]

#: Δχ² of a 68.27 % (1σ) profile-likelihood interval for one parameter (Wilks)
DELTA_CHI2_68 = 1.0
#: the all-sky dipole power used for the dipole-anchored normalisation, by anchor row
C1_ANCHOR = "C1_fullsky_with_deltaN"
#: bounds of the free all-sky C_1 (the measured 10 TeV dipole gives ~2e-6; three decades either side)
C1_BOUNDS = (1e-9, 1e-3)
#: fixed-covariance iterations stop when no parameter moves by more than this in its internal coordinate (log10
#: units for log-scale parameters: 1e-3 is 0.23 %), far below any statistical error of a C_ℓ fit
COVARIANCE_ITERATION_TOLERANCE = 1e-3
MAX_COVARIANCE_ITERATIONS = 6
#: grid points per parameter of the coarse scan that picks the optimiser's starting point (guards against local
#: minima of the shape parameters)
START_SCAN_POINTS = 9
PROFILE_POINTS = 21
#: the profile is recomputed on a finer grid across the region where Δχ² is below this (beyond 3σ)
PROFILE_ZOOM_LEVEL = 16.0
#: at most this many successive zooms
PROFILE_ZOOMS = 3
#: a profile point whose χ² is lower than the best fit's by more than this restarts the fit from it
PROFILE_IMPROVEMENT = 1e-2
MAX_RESTARTS = 2
#: modes of the correlation matrix with eigenvalue below this fraction of the largest are projected out (module
#: docstring).  Measured on pixelised Monte Carlo skies of icecube-12yr (toy spectrum κ_c = 5): the ratio of the
#: Monte Carlo to the harmonic variance of a mode is 0.8-1.2 for relative eigenvalues >= 7.6e-5 but 1.6 at 6.5e-7
#: and 4.9 at 3.6e-9 (nside 32, 200 skies); at nside 64 (100 skies) it stays ~1 down to 5e-11 and is 53 at 1e-13.
#: 1e-5 is safe at nside >= 32, far above round-off (~1e-16), and keeps 28 of the 38 modes ℓ = 3..40
MODE_EIGENVALUE_THRESHOLD = 1e-5


def anchored_c1() -> float:
    """All-sky :math:`C_1` of the anchor :data:`C1_ANCHOR` (HAWC+IceCube 10 TeV dipole, status D)."""
    from .data import anchor_value

    return anchor_value(C1_ANCHOR)


# ---------------------------------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Parameter:
    """A fitted parameter: bounds, default (starting value) and whether it is fitted in log10."""

    name: str
    low: float
    high: float
    default: float
    log: bool = False
    label: str = ""

    def __post_init__(self):
        require_range(f"{self.name} bounds", self.high, self.low, None, low_open=True)
        require_range(f"{self.name} default", self.default, self.low, self.high)
        if self.log and self.low <= 0:
            raise ParameterError(self.name, "a log-scale parameter needs positive bounds")

    def to_internal(self, value):
        return np.log10(value) if self.log else np.asarray(value, dtype=float)

    def from_internal(self, value):
        value = 10.0 ** np.asarray(value, dtype=float) if self.log else np.asarray(value, dtype=float)
        return np.clip(value, self.low, self.high)  # 10**log10(high) may exceed high by one ulp

    @property
    def internal_bounds(self) -> tuple[float, float]:
        return float(self.to_internal(self.low)), float(self.to_internal(self.high))


# ---------------------------------------------------------------------------------------------------- models
class Model:
    r"""A theory of the all-sky spectrum shape :math:`s_\ell = C_\ell/C_1` (ℓ = 0..``lmax``; :math:`s_0 = 0`).

    Subclasses set ``name``, ``parameters`` and ``lmax`` and implement :meth:`evaluate` (any normalisation:
    :meth:`shape` divides by :math:`C_1`).
    """

    name = "model"
    parameters: tuple[Parameter, ...] = ()
    lmax: int = 0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(parameter.name for parameter in self.parameters)

    def evaluate(self, **values) -> np.ndarray:
        raise NotImplementedError

    def shape(self, **values) -> np.ndarray:
        """:math:`C_\\ell/C_1` for ℓ = 0..lmax (``[0] = 0``, ``[1] = 1``)."""
        cl = np.array(self.evaluate(**values), dtype=float)
        if cl.ndim != 1 or cl.size < 2:
            raise ParameterError("model", f"{self.name} must return C_l for l = 0..lmax")
        cl[0] = 0.0
        if not (np.isfinite(cl[1]) and cl[1] > 0):
            raise ParameterError("model", f"{self.name} returned C_1 = {cl[1]!r} at {values}")
        return cl / cl[1]

    def derived(self, **values) -> dict:
        """Derived physical quantities at a parameter point (e.g. Ωτ_s); empty by default."""
        return {}

    def describe(self) -> dict:
        return {"name": self.name, "lmax": self.lmax,
                "parameters": {p.name: {"low": p.low, "high": p.high, "log": p.log} for p in self.parameters}}

    def _check(self, values: dict) -> dict:
        missing = [name for name in self.names if name not in values]
        if missing:
            raise ParameterError(missing[0], f"missing parameter of model {self.name}")
        return {p.name: require_range(p.name, values[p.name], p.low, p.high) for p in self.parameters}


class PowerLawModel(Model):
    r"""Phenomenological :math:`C_\ell/C_1 = \ell^{-\alpha}` (e.g. :math:`C_\ell\propto\ell^{-\gamma-1}` of Zhang &
    Liu, arXiv:2402.16554, PHYSICS sect. 1).  Parameter ``slope`` α in [0, 6]."""

    name = "powerlaw"

    def __init__(self, lmax: int, slope_bounds=(0.0, 6.0), slope_default: float = 2.0):
        self.lmax = require_integer("lmax", lmax, 1)
        self.parameters = (Parameter("slope", *slope_bounds, slope_default, label="power-law slope α"),)

    def evaluate(self, slope) -> np.ndarray:
        ell = np.arange(self.lmax + 1, dtype=float)
        cl = np.zeros(self.lmax + 1)
        cl[1:] = ell[1:] ** -float(slope)
        return cl


class ToyModel(Model):
    r"""Steady state of the white-noise rotation toy (PHYSICS sect. 8): :math:`k(x) = 2D_s(e^{-\kappa_c(1-x)}-1)`.

    Only :math:`\kappa_c` shapes the spectrum (:math:`\Gamma\propto D_s` and :math:`C_\ell\propto S/D_s`), so it is
    the one parameter; log-scale in [0.5, 50].
    """

    name = "toy"

    def __init__(self, lmax: int, kappa_bounds=(0.5, 50.0), kappa_default: float = 5.0):
        self.lmax = require_integer("lmax", lmax, 2)
        self.parameters = (Parameter("kappa_c", *kappa_bounds, kappa_default, log=True,
                                     label="correlation parameter κ_c"),)

    def evaluate(self, kappa_c) -> np.ndarray:
        from .mixing import rate_matrix
        from .pair_rates import PairRate
        from .solver import steady_state

        rate = PairRate.toy(D_s=0.5, kappa_c=float(kappa_c))
        return np.asarray(steady_state(rate_matrix(rate, self.lmax), source=1.0), dtype=float)


class TurbulenceModel(Model):
    r""":func:`anisotropy.predict_cl` at fixed energy and field (defaults: those of :mod:`anisotropy.predict`) with
    free reduced rigidity, turbulence level and optionally the pair-time prefactor.

    ``model="slab"`` frees ``reduced_rigidity`` and ``eta`` by default.  ``model="isotropic"`` frees only
    ``reduced_rigidity`` and fixes ``eta = 1`` (:math:`B_0 = 0`, ballistic orbits: the fast exact model); pass
    ``fixed={"eta": ...}`` or free ``eta`` for isotropic turbulence with a regular field, whose pair rate is a 4D
    quadrature of seconds per evaluation (:meth:`anisotropy.pair_rates.PairRate.isotropic`).

    ``reduced_rigidity`` :math:`r_g/L_c` sets :math:`L_c = r_g(E, B_\mathrm{tot})/(r_g/L_c)`; the dipole amplitude
    cancels in the shape.  :meth:`derived` returns :math:`\Omega\tau_s` and :math:`L_c` from the prediction.
    One evaluation takes about a second: wrap it in :class:`InterpolatedModel` for fits.
    """

    name = "turbulence"
    #: name -> (low, high, default, log scale, label)
    DEFAULT_BOUNDS: ClassVar[dict] = {
        "reduced_rigidity": (1e-3, 1.0, 0.05, True, "r_g/L_c"),
        "eta": (0.05, 0.95, 0.5, False, "η = δB²/B_tot²"),
        "pair_time_prefactor": (0.1, 10.0, 1.0, True, "pair-time prefactor a"),
    }

    def __init__(self, lmax: int, energy: float | None = None, b_rms: float | None = None, model: str = "slab",
                 free=None, fixed: dict | None = None, bounds: dict | None = None):
        from . import predict

        self.lmax = require_integer("lmax", lmax, 2)
        self.energy = require_range("energy", predict.DEFAULT_ENERGY if energy is None else energy, 0.0, None,
                                    low_open=True)
        self.b_rms = require_range("b_rms", predict.DEFAULT_B_RMS if b_rms is None else b_rms, 0.0, None,
                                   low_open=True)
        if model not in predict.MODELS:
            raise ParameterError("model", f"must be one of {', '.join(predict.MODELS)}, got {model!r}")
        self.model = model
        if free is None:
            free = ("reduced_rigidity", "eta") if model == "slab" else ("reduced_rigidity",)
        self.fixed = dict(fixed or {})
        if model == "isotropic" and "eta" not in free:
            self.fixed.setdefault("eta", 1.0)  # B0 = 0 unless asked otherwise
        bounds = {**self.DEFAULT_BOUNDS, **(bounds or {})}
        for name in free:
            if name not in self.DEFAULT_BOUNDS:
                raise ParameterError("free", f"unknown turbulence parameter {name!r}; choose from "
                                     f"{', '.join(self.DEFAULT_BOUNDS)}")
        self.parameters = tuple(Parameter(name, *bounds[name][:4], label=bounds[name][4]) for name in free)
        self.fixed.setdefault("reduced_rigidity", self.DEFAULT_BOUNDS["reduced_rigidity"][2])
        self.fixed.setdefault("eta", self.DEFAULT_BOUNDS["eta"][2])

    def _predict(self, **values):
        from . import units
        from .predict import predict_cl

        point = {**self.fixed, **values}
        gyroradius = float(units.gyroradius(self.energy, self.b_rms))
        return predict_cl(self.energy, b_rms=self.b_rms, l_c=gyroradius / point["reduced_rigidity"],
                          eta=point["eta"], model=self.model,
                          pair_time_prefactor=point.get("pair_time_prefactor"), lmax=self.lmax)

    def evaluate(self, **values) -> np.ndarray:
        return np.asarray(self._predict(**values).cl, dtype=float)

    def derived(self, **values) -> dict:
        derived = self._predict(**values).params["derived"]
        return {"omega_tau_s": derived.get("omega_tau_s"), "l_c_pc": derived.get("gyroradius_pc", 0.0)
                / derived.get("reduced_rigidity", 1.0)}

    def describe(self) -> dict:
        return {**super().describe(), "energy_tev": self.energy, "b_rms_uG": self.b_rms, "model": self.model,
                "fixed": self.fixed}


class CallableModel(Model):
    """Any callable ``function(**values) -> C_ℓ`` (all-sky theory, ℓ = 0..lmax) with its :class:`Parameter` list."""

    def __init__(self, function, parameters, lmax: int, name: str = "callable"):
        if not callable(function):
            raise ParameterError("function", "expected a callable returning C_l")
        self.function = function
        self.parameters = tuple(parameters)
        self.lmax = require_integer("lmax", lmax, 1)
        self.name = name

    def evaluate(self, **values) -> np.ndarray:
        return np.asarray(self.function(**values), dtype=float)


class InterpolatedModel(Model):
    r"""A slow model tabulated on a grid and interpolated.

    The grid has ``points`` nodes per parameter, uniform in the internal coordinate (log10 for log parameters);
    :math:`\log s_\ell` (ℓ ≥ 1) is interpolated with scipy's ``RegularGridInterpolator`` (``"cubic"`` when every
    axis has ≥ 4 nodes, else ``"linear"``).  :meth:`interpolation_error` measures the maximum relative error against
    the exact model at the cell centres, which is where interpolation is worst.  Tables can be saved and reloaded
    (:meth:`save`, ``cache`` argument) because building them costs ``points**n_parameters`` model calls.
    """

    def __init__(self, model: Model, points: int | dict = 9, cache=None):
        self.exact = model
        self.name = f"{model.name} (interpolated)"
        self.parameters = model.parameters
        self.lmax = model.lmax
        counts = points if isinstance(points, dict) else dict.fromkeys(model.names, points)
        self.axes = [np.linspace(*p.internal_bounds, require_integer("points", counts[p.name], 2))
                     for p in self.parameters]
        table = None
        cache = Path(cache) if cache else None
        if cache is not None and cache.exists():
            stored = np.load(cache)
            if all(np.array_equal(stored[f"axis_{i}"], axis) for i, axis in enumerate(self.axes)):
                table = stored["log_shape"]
        if table is None:
            table = np.empty([axis.size for axis in self.axes] + [self.lmax])
            for index in np.ndindex(*table.shape[:-1]):
                values = {p.name: float(p.from_internal(self.axes[k][i]))
                          for k, (p, i) in enumerate(zip(self.parameters, index))}
                table[index] = np.log(np.maximum(model.shape(**values)[1:], np.finfo(float).tiny))
            if cache is not None:
                self.save(cache, table)
        self.table = table
        method = "cubic" if all(axis.size >= 4 for axis in self.axes) else "linear"
        self._interpolator = RegularGridInterpolator(self.axes, table, method=method)
        self.method = method

    def save(self, path, table=None) -> Path:
        path = Path(path)
        arrays = {f"axis_{i}": axis for i, axis in enumerate(self.axes)}
        with atomic_output(path) as temporary:
            np.savez(temporary, log_shape=self.table if table is None else table, **arrays)
        return path

    def evaluate(self, **values) -> np.ndarray:
        values = self._check(values)
        point = [float(p.to_internal(values[p.name])) for p in self.parameters]
        shape = np.zeros(self.lmax + 1)
        shape[1:] = np.exp(self._interpolator([point])[0])
        return shape

    def derived(self, **values) -> dict:
        return self.exact.derived(**values)

    def interpolation_error(self, max_points: int = 64, seed: int = 0) -> float:
        """Largest :math:`|s^\\mathrm{interp}_\\ell/s_\\ell - 1|` over ℓ at (up to ``max_points``) cell centres."""
        centres = [0.5 * (axis[1:] + axis[:-1]) for axis in self.axes]
        grid = np.array(np.meshgrid(*centres, indexing="ij")).reshape(len(centres), -1).T
        if grid.shape[0] > max_points:
            grid = grid[np.random.default_rng(seed).choice(grid.shape[0], max_points, replace=False)]
        worst = 0.0
        for point in grid:
            values = {p.name: float(p.from_internal(u)) for p, u in zip(self.parameters, point)}
            exact = self.exact.shape(**values)[1:]
            worst = max(worst, float(np.max(np.abs(self.shape(**values)[1:] / exact - 1.0))))
        return worst

    def describe(self) -> dict:
        return {**self.exact.describe(), "interpolated": {"points": [int(a.size) for a in self.axes],
                                                          "method": self.method}}


# ---------------------------------------------------------------------------------------------------- likelihood
class Likelihood:
    r"""Gaussian likelihood of a pseudo-spectrum given a shape model, a normalisation and an experiment.

    Parameters
    ----------
    ell, cl : array_like
        Measured multipoles and pseudo-:math:`\tilde C_\ell` (e.g. from :func:`anisotropy.data.load_spectrum`).
    experiment : Experiment or str
        Preset name or :class:`~anisotropy.observatory.Experiment`; its ``lmax`` is raised to the data's if needed.
    model : Model
        Shape model; its ``lmax`` should reach the forward model's band limit (power above it is taken as zero).
    normalisation : {"free", "dipole"}
        Free all-sky :math:`C_1` (fitted, log-scale, bounds :data:`C1_BOUNDS`) or fixed to ``c1``.
    c1 : float, optional
        The anchored :math:`C_1`; default :func:`anchored_c1`.
    lmin, lmax : int, optional
        Multipole range used; default from ℓ_cut + 1 (1 without low-ℓ subtraction) to the highest data ℓ.
    covariance : {"fixed", "model"}
        See the module docstring.
    data_errors : array_like, optional
        Extra independent errors added in quadrature to the diagonal (e.g. systematics).
    """

    def __init__(self, ell, cl, experiment, model: Model, *, normalisation: str = "free", c1: float | None = None,
                 lmin: int | None = None, lmax: int | None = None, covariance: str = "fixed", data_errors=None,
                 forward: ForwardModel | None = None):
        ell = np.asarray(ell)
        cl = np.asarray(cl, dtype=float)
        if ell.shape != cl.shape or ell.ndim != 1 or ell.size == 0:
            raise ParameterError("cl", "ell and cl must be 1-d arrays of the same length")
        experiment = get_experiment(experiment)
        if normalisation not in ("free", "dipole"):
            raise ParameterError("normalisation", f"must be 'free' or 'dipole', got {normalisation!r}")
        if covariance not in ("fixed", "model"):
            raise ParameterError("covariance", f"must be 'fixed' or 'model', got {covariance!r}")
        default_lmin = 1 if experiment.lcut is None else experiment.lcut + 1
        lmin = default_lmin if lmin is None else require_integer("lmin", lmin, 1)
        lmax = int(ell.max()) if lmax is None else require_integer("lmax", lmax, lmin)
        lmax = min(lmax, 3 * experiment.nside - 1)
        use = (ell >= lmin) & (ell <= lmax)
        if use.sum() < len(model.parameters) + (normalisation == "free") + 1:
            raise ParameterError("lmin", f"only {int(use.sum())} multipoles in [{lmin}, {lmax}]: too few to fit")
        if experiment.lmax < lmax:
            experiment = experiment.with_(lmax=lmax)
        self.experiment = experiment
        self.forward = forward if forward is not None and forward.experiment == experiment else ForwardModel(experiment)
        self.model = model
        self.ell = ell[use].astype(int)
        self.data = cl[use]
        self.normalisation = normalisation
        self.covariance_mode = covariance
        self.c1_fixed, self.c1_source = None, None
        if normalisation == "dipole":
            if c1 is None:
                self.c1_fixed, self.c1_source = anchored_c1(), f"anchor {C1_ANCHOR}"
            else:
                self.c1_fixed, self.c1_source = require_range("c1", c1, 0.0, None, low_open=True), "user"
        self.extra_variance = np.zeros(self.ell.size)
        if data_errors is not None:
            errors = np.asarray(data_errors, dtype=float)
            if errors.shape != ell.shape or np.any(~np.isfinite(errors)) or np.any(errors < 0):
                raise ParameterError("data_errors", "expected finite errors >= 0, one per multipole")
            self.extra_variance = errors[use] ** 2
        self.parameters = list(model.parameters)
        if normalisation == "free":
            self.parameters.append(Parameter("c1", *C1_BOUNDS, 2e-6, log=True, label="all-sky C_1"))
        self.names = tuple(p.name for p in self.parameters)
        self._rows = self.ell  # forward-model rows are ℓ itself
        self._whitening_cache = None  # (covariance, its whitening): Σ is held fixed over many χ² calls
        self._reference_whitening = None  # fixed data compression of the "model" covariance mode

    # ------------------------------------------------------------------ model
    def values(self, internal) -> dict:
        return {p.name: float(p.from_internal(u)) for p, u in zip(self.parameters, internal)}

    def internal(self, values: dict) -> np.ndarray:
        return np.array([float(p.to_internal(values[p.name])) for p in self.parameters])

    def theory(self, values: dict) -> np.ndarray:
        """All-sky :math:`C_\\ell = C_1 s_\\ell` for ℓ = 0..forward band limit."""
        shape_values = {p.name: values[p.name] for p in self.model.parameters}
        shape = self.model.shape(**shape_values)
        c1 = values.get("c1", self.c1_fixed)
        cl = np.zeros(self.forward.lmax + 1)
        count = min(cl.size, shape.size)
        cl[:count] = c1 * shape[:count]
        return cl

    def mean(self, values: dict) -> np.ndarray:
        return self.forward.mean(self.theory(values))[self._rows]

    def covariance(self, values: dict) -> np.ndarray:
        full = self.forward.covariance(self.theory(values))
        return full[np.ix_(self._rows, self._rows)] + np.diag(self.extra_variance)

    def whitening(self, covariance) -> np.ndarray:
        r"""The (n_modes, n_multipoles) matrix :math:`W` with :math:`\chi^2 = |W\mathbf r|^2`, keeping the modes of
        the correlation matrix above :data:`MODE_EIGENVALUE_THRESHOLD` (module docstring, "Modes projected out").

        :math:`W = \Lambda_k^{-1/2}V_k^T D^{-1/2}` with :math:`R = V\Lambda V^T` the eigendecomposition of the
        symmetrised correlation matrix; :math:`W\Sigma W^T = 1` on the kept modes.  With every mode kept,
        :math:`|W\mathbf r|^2 = \mathbf r^T\Sigma^{-1}\mathbf r` exactly.  The last result is cached (Σ is held
        fixed over thousands of χ² calls).
        """
        cached = self._whitening_cache
        if cached is not None and cached[0] is covariance:
            return cached[1]
        matrix = np.asarray(covariance, dtype=float)
        scale = np.sqrt(np.diag(matrix))
        if not np.all(np.isfinite(matrix)) or np.any(~(scale > 0)):
            raise ParameterError("covariance", "needs a finite covariance with positive variances")
        correlation = matrix / np.outer(scale, scale)
        eigenvalues, vectors = np.linalg.eigh(0.5 * (correlation + correlation.T))
        keep = eigenvalues > MODE_EIGENVALUE_THRESHOLD * eigenvalues[-1]
        whitening = (vectors[:, keep] / np.sqrt(eigenvalues[keep])).T / scale
        self._whitening_cache = (covariance, whitening)
        return whitening

    def n_modes(self, covariance) -> int:
        """Number of modes kept by :meth:`whitening` (the χ²'s degrees of freedom before fitting)."""
        return int(self.whitening(covariance).shape[0])

    def chi2(self, values: dict, covariance=None) -> float:
        r""":math:`\chi^2 = \mathbf r^T\Sigma^{-1}\mathbf r` over the kept modes (:meth:`whitening`)."""
        covariance = self.covariance(values) if covariance is None else covariance
        whitened = self.whitening(covariance) @ (self.data - self.mean(values))
        return float(whitened @ whitened)

    def neg2_log_like(self, values: dict, covariance=None) -> float:
        r""":math:`-2\ln L` up to a constant: χ² with a fixed Σ, χ² + ln det Σ(θ) in ``"model"`` mode.

        In ``"model"`` mode the data are compressed once, :math:`\mathbf y = W_0\mathbf r` with the whitening
        :math:`W_0` of Σ at the parameters' defaults (a fixed statistic, so the likelihoods of different θ compare
        the same numbers), and :math:`-2\ln L = \mathbf y^T(W_0\Sigma(\theta)W_0^T)^{-1}\mathbf y +
        \ln\det(W_0\Sigma(\theta)W_0^T)`; with every mode kept this is χ² + ln det Σ(θ) up to a constant.
        """
        if covariance is not None:
            return self.chi2(values, covariance)
        if self._reference_whitening is None:
            defaults = {p.name: p.default for p in self.parameters}
            self._reference_whitening = self.whitening(self.covariance(defaults)).copy()
        compression = self._reference_whitening
        projected = compression @ self.covariance(values) @ compression.T
        residual = compression @ (self.data - self.mean(values))
        try:
            factor = np.linalg.cholesky(0.5 * (projected + projected.T))
        except np.linalg.LinAlgError:
            return np.inf
        solved = np.linalg.solve(factor, residual)
        return float(solved @ solved + 2.0 * np.sum(np.log(np.diag(factor))))

    def best_c1(self, shape_values: dict, covariance) -> float:
        """χ²-minimising :math:`C_1` for fixed shape and Σ (the model is linear in C_1), clipped to the bounds."""
        whitening = self.whitening(covariance)
        template = whitening @ self.forward.signal_mean(self.theory({**shape_values, "c1": 1.0}))[self._rows]
        target = whitening @ (self.data - self.forward.noise[self._rows])
        norm = template @ template
        estimate = float(template @ target / norm) if norm > 0 else C1_BOUNDS[0]
        return float(np.clip(estimate, *C1_BOUNDS))


# ---------------------------------------------------------------------------------------------------- fitting
@dataclass
class FitResult:
    """Best fit, profile-likelihood intervals and goodness of fit (all numbers in physical units)."""

    best: dict
    intervals: dict
    chi2: float
    dof: int
    p_value: float
    ell: np.ndarray
    data: np.ndarray
    model_mean: np.ndarray
    model_sigma: np.ndarray
    noise: np.ndarray
    theory_cl: np.ndarray
    profiles: dict
    experiment: str
    model: dict
    normalisation: str
    c1_anchor: float | None
    covariance_mode: str
    c1_source: str | None = None
    derived: dict = field(default_factory=dict)
    derived_ranges: dict = field(default_factory=dict)
    samples: np.ndarray | None = None
    iterations: int = 1
    #: eigenmodes of the covariance kept in the χ² (module docstring); dof = n_modes - number of fitted parameters
    n_modes: int | None = None

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else float("nan")

    def to_dict(self) -> dict:
        return {
            "experiment": self.experiment,
            "model": self.model,
            "normalisation": self.normalisation,
            "c1_anchor": self.c1_anchor,
            "c1_anchor_source": self.c1_source,
            "covariance": self.covariance_mode,
            "best": self.best,
            "intervals_68": {name: list(bounds) for name, bounds in self.intervals.items()},
            "chi2": self.chi2,
            "dof": self.dof,
            "reduced_chi2": self.reduced_chi2,
            "p_value": self.p_value,
            "derived": self.derived,
            "derived_ranges_over_interval_ends": {name: list(r) for name, r in self.derived_ranges.items()},
            "iterations": self.iterations,
            "n_multipoles": int(self.ell.size),
            "n_modes": self.n_modes,
            "ell": self.ell.tolist(),
            "data": self.data.tolist(),
            "model_mean": self.model_mean.tolist(),
            "model_sigma": self.model_sigma.tolist(),
        }

    def to_json(self, path) -> Path:
        return write_json(path, self.to_dict(), nonfinite_as_null=True)

    def summary(self) -> str:
        lines = [f"experiment {self.experiment}; model {self.model.get('name')}; normalisation {self.normalisation}"
                 + (f" (C_1 = {self.c1_anchor:.3g}, {self.c1_source})" if self.c1_anchor is not None else "")]
        for name, value in self.best.items():
            low, high, open_low, open_high = self.intervals.get(name, (np.nan, np.nan, False, False))
            low_text = f"<{low:.4g}" if open_low else f"{low:.4g}"
            high_text = f">{high:.4g}" if open_high else f"{high:.4g}"
            lines.append(f"  {name:>20s} = {value:.4g}   68% profile interval [{low_text}, {high_text}]")
        for name, value in self.derived.items():
            if value is not None:
                text = f"  {name:>20s} = {value:.4g}   (derived at the best fit"
                if name in self.derived_ranges:
                    low, high = self.derived_ranges[name]
                    text += f"; {low:.4g}..{high:.4g} over the interval ends"
                lines.append(text + ")")
        modes = "" if self.n_modes is None else f"; {self.n_modes} of {self.ell.size} covariance modes kept"
        lines.append(f"  chi2/dof = {self.chi2:.2f}/{self.dof} = {self.reduced_chi2:.2f}  (p = {self.p_value:.3g}"
                     f"{modes})")
        return "\n".join(lines)


def _minimise(objective, start, bounds):
    """Nelder-Mead within bounds, then a polish from the best point (cheap insurance against early stops)."""
    options = {"xatol": 1e-6, "fatol": 1e-8, "maxiter": 4000, "maxfev": 8000}
    result = optimize.minimize(objective, start, method="Nelder-Mead", bounds=bounds, options=options)
    again = optimize.minimize(objective, result.x, method="Nelder-Mead", bounds=bounds, options=options)
    return again if again.fun <= result.fun else result


def _start_point(likelihood: Likelihood, covariance) -> np.ndarray:
    """Best point of a coarse grid over the shape parameters (C_1 profiled analytically)."""
    shape_parameters = likelihood.model.parameters
    if not shape_parameters:
        start = {}
    else:
        axes = [np.linspace(*p.internal_bounds, START_SCAN_POINTS) for p in shape_parameters]
        best, start = np.inf, None
        for point in np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(axes), -1).T:
            values = {p.name: float(p.from_internal(u)) for p, u in zip(shape_parameters, point)}
            if likelihood.normalisation == "free":
                values["c1"] = likelihood.best_c1(values, covariance)
            chi2 = likelihood.chi2(values, covariance)
            if chi2 < best:
                best, start = chi2, values
    if likelihood.normalisation == "free" and "c1" not in start:
        start["c1"] = likelihood.best_c1(start, covariance)
    return likelihood.internal(start)


def _profile(likelihood: Likelihood, index: int, best_internal, score, best_value, points: int):
    """Δχ² profile of parameter ``index`` (others re-minimised): ``points`` values across the bounds, then as many
    again across the region with Δχ² < :data:`PROFILE_ZOOM_LEVEL` while that region spans few grid cells."""
    parameter = likelihood.parameters[index]
    coarse = np.linspace(*parameter.internal_bounds, points)
    grid, delta, vectors = _profile_on(likelihood, index, best_internal, score, best_value, coarse)
    for _ in range(PROFILE_ZOOMS):
        inside = np.flatnonzero(delta < PROFILE_ZOOM_LEVEL)
        if inside.size == 0:  # narrower than one cell: zoom on the cells around the best fit
            right = int(np.clip(np.searchsorted(grid, best_internal[index]), 1, grid.size - 1))
            inside = np.array([right - 1, right])
        first, last = max(inside.min() - 1, 0), min(inside.max() + 1, grid.size - 1)
        if last - first >= points // 2:
            break
        fine = np.linspace(grid[first], grid[last], points)
        fine_grid, fine_delta, fine_vectors = _profile_on(likelihood, index, best_internal, score, best_value, fine)
        grid, unique = np.unique(np.concatenate((grid, fine_grid)), return_index=True)
        delta = np.concatenate((delta, fine_delta))[unique]
        vectors = np.concatenate((vectors, fine_vectors))[unique]
    return grid, delta, vectors


def _profile_on(likelihood: Likelihood, index: int, best_internal, score, best_value, grid):
    points = grid.size
    others = [i for i in range(len(likelihood.parameters)) if i != index]
    other_bounds = [likelihood.parameters[i].internal_bounds for i in others]
    profile = np.empty(points)
    vectors = np.empty((points, len(likelihood.parameters)))
    # walk outwards from the best fit so each minimisation starts next to its solution
    order = np.argsort(np.abs(grid - best_internal[index]))
    starts = {}
    for position in order:
        neighbour = min(starts, key=lambda p: abs(p - position)) if starts else None
        start = starts[neighbour] if neighbour is not None else best_internal[others]

        def objective(free, fixed=grid[position]):
            full = np.empty(len(likelihood.parameters))
            full[index] = fixed
            full[others] = free
            return score(likelihood.values(full))

        if others:
            result = _minimise(objective, start, other_bounds)
            profile[position], starts[position] = result.fun, result.x
        else:
            profile[position], starts[position] = objective(np.empty(0)), np.empty(0)
        vectors[position, index] = grid[position]
        vectors[position, others] = starts[position]
    return grid, profile - best_value, vectors


def _interval(grid, delta, best_internal, level, refine):
    """Crossings of Δχ² = level on each side of the best fit: bracketed on the grid, located by ``refine``."""
    below = grid <= best_internal
    above = grid >= best_internal
    low_open = high_open = False
    left = np.flatnonzero(below & (delta > level))
    if left.size == 0:
        low, low_open = grid[0], True
    else:
        i = left[-1]
        j = i + 1
        low = refine(grid[i], grid[j] if j < grid.size and grid[j] <= best_internal else best_internal)
    right = np.flatnonzero(above & (delta > level))
    if right.size == 0:
        high, high_open = grid[-1], True
    else:
        j = right[0]
        i = j - 1
        high = refine(grid[i] if i >= 0 and grid[i] >= best_internal else best_internal, grid[j])
    return low, high, low_open, high_open


def _best_fit(likelihood: Likelihood, start, bounds):
    """Minimise from ``start``: -2 ln L with Σ(θ), or χ² with Σ held at the current best fit and iterated."""
    if likelihood.covariance_mode == "model":
        result = _minimise(lambda u: likelihood.neg2_log_like(likelihood.values(u)), start, bounds)
        return result.x, likelihood.covariance(likelihood.values(result.x)), 1
    best_internal, iterations = np.asarray(start, dtype=float), 0
    for iterations in range(1, MAX_COVARIANCE_ITERATIONS + 1):
        covariance = likelihood.covariance(likelihood.values(best_internal))
        result = _minimise(lambda u, cov=covariance: likelihood.chi2(likelihood.values(u), cov), best_internal,
                           bounds)
        step = np.abs(result.x - best_internal)
        best_internal = result.x
        if iterations > 1 and np.all(step <= COVARIANCE_ITERATION_TOLERANCE):
            break
    return best_internal, likelihood.covariance(likelihood.values(best_internal)), iterations


def _intervals(likelihood: Likelihood, best_internal, score, best_score, profiles: bool, points: int, level: float,
               allow_restart: bool):
    """Profile intervals of every parameter for the objective ``score`` (χ² or -2 ln L); with ``allow_restart``,
    return early with the point of a profile that beats the best fit."""
    intervals, table = {}, {}
    for index, parameter in enumerate(likelihood.parameters):
        if not profiles:
            intervals[parameter.name] = (np.nan, np.nan, False, False)
            continue
        grid, delta, vectors = _profile(likelihood, index, best_internal, score, best_score, points)
        if allow_restart and np.min(delta) < -PROFILE_IMPROVEMENT:
            return intervals, table, vectors[int(np.argmin(delta))]
        others = [i for i in range(len(likelihood.parameters)) if i != index]
        other_bounds = [likelihood.parameters[i].internal_bounds for i in others]

        def crossing(u, index=index, others=others, other_bounds=other_bounds):
            full = best_internal.copy()
            full[index] = u
            if not others:
                return score(likelihood.values(full)) - best_score - level

            def objective(free):
                trial = full.copy()
                trial[others] = free
                return score(likelihood.values(trial))

            return _minimise(objective, best_internal[others], other_bounds).fun - best_score - level

        def refine(a, b, crossing=crossing):
            try:
                return optimize.brentq(crossing, a, b, xtol=1e-5)
            except ValueError:  # no sign change (a non-monotonic profile): the middle of the bracket
                return 0.5 * (a + b)

        low, high, low_open, high_open = _interval(grid, delta, best_internal[index], level, refine)
        intervals[parameter.name] = (float(parameter.from_internal(low)), float(parameter.from_internal(high)),
                                     bool(low_open), bool(high_open))
        table[parameter.name] = (parameter.from_internal(grid), delta)
    return intervals, table, None


def fit(likelihood: Likelihood, *, profile_points: int = PROFILE_POINTS, level: float = DELTA_CHI2_68,
        profiles: bool = True, derived: bool = True) -> FitResult:
    """Best fit, profile-likelihood intervals (Δχ² ≤ ``level``) and χ²/dof of ``likelihood``; dof is the number of
    kept covariance modes (:meth:`Likelihood.whitening`) minus the number of fitted parameters."""
    level = require_range("level", level, 0.0, None, low_open=True)
    bounds = [p.internal_bounds for p in likelihood.parameters]
    defaults = {p.name: p.default for p in likelihood.parameters}
    start = _start_point(likelihood, likelihood.covariance(likelihood.values(likelihood.internal(defaults))))
    # second pass with the covariance at the first pass's best point: the amplitude of Σ follows the data
    start = _start_point(likelihood, likelihood.covariance(likelihood.values(start)))
    for _attempt in range(MAX_RESTARTS + 1):
        best_internal, covariance, iterations = _best_fit(likelihood, start, bounds)
        best_values = likelihood.values(best_internal)
        chi2 = likelihood.chi2(best_values, covariance)
        if likelihood.covariance_mode == "model":
            score = likelihood.neg2_log_like
        else:
            def score(values, covariance=covariance):
                return likelihood.chi2(values, covariance)
        intervals, profile_table, better = _intervals(likelihood, best_internal, score, score(best_values), profiles,
                                                      profile_points, level, _attempt < MAX_RESTARTS)
        if better is None:
            break
        start = better  # a profile found a lower χ² than the optimiser: start again from there
    n_modes = likelihood.n_modes(covariance)
    dof = n_modes - len(likelihood.parameters)
    mean = likelihood.mean(best_values)
    derived_values, derived_ranges = {}, {}
    if derived:
        derived_values, derived_ranges = _derived(likelihood, best_values, intervals)
    return FitResult(
        best=best_values,
        intervals=intervals,
        chi2=chi2,
        dof=int(dof),
        p_value=float(stats.chi2.sf(chi2, dof)) if dof > 0 else float("nan"),
        ell=likelihood.ell,
        data=likelihood.data,
        model_mean=mean,
        model_sigma=np.sqrt(np.diag(covariance)),
        noise=likelihood.forward.noise[likelihood.ell],
        theory_cl=likelihood.theory(best_values),
        profiles=profile_table,
        experiment=likelihood.experiment.name,
        model=likelihood.model.describe(),
        normalisation=likelihood.normalisation,
        c1_anchor=likelihood.c1_fixed,
        covariance_mode=likelihood.covariance_mode,
        c1_source=likelihood.c1_source,
        derived=derived_values,
        derived_ranges=derived_ranges,
        iterations=iterations,
        n_modes=n_modes,
    )


def _derived(likelihood: Likelihood, best_values: dict, intervals: dict):
    """Derived quantities at the best fit, and their range over the ends of the shape parameters' closed intervals
    (each end with the other parameters at the best fit: a conditional range, not a profile interval)."""
    model = likelihood.model
    shape_values = {p.name: best_values[p.name] for p in model.parameters}
    try:
        values = dict(model.derived(**shape_values))
    except (ImportError, ParameterError):
        return {}, {}
    if not values:
        return values, {}
    samples = {name: [value] for name, value in values.items() if value is not None}
    for parameter in model.parameters:
        low, high, open_low, open_high = intervals.get(parameter.name, (np.nan, np.nan, True, True))
        for end, is_open in ((low, open_low), (high, open_high)):
            if is_open or not np.isfinite(end):
                continue
            try:
                at_end = model.derived(**{**shape_values, parameter.name: end})
            except ParameterError:
                continue
            for name in samples:
                if at_end.get(name) is not None:
                    samples[name].append(at_end[name])
    ranges = {name: (float(min(found)), float(max(found))) for name, found in samples.items() if len(found) > 1}
    return values, ranges


# ---------------------------------------------------------------------------------------------------- MCMC
def sample_posterior(likelihood: Likelihood, result: FitResult, *, n_walkers: int = 16, n_steps: int = 500,
                     burn: int | None = None, seed: int = 0) -> np.ndarray:
    """Posterior samples with ``emcee`` (flat priors in the internal coordinates within the bounds).

    The covariance is held at the best fit (as for the profiles).  Returns samples in physical units, shape
    (n_kept, n_parameters) in the order of ``likelihood.names``; also stored in ``result.samples``.
    """
    try:
        import emcee
    except ImportError:  # pragma: no cover - emcee is an optional dependency
        raise ParameterError("mcmc", "needs the optional package emcee (pip install emcee)") from None
    n_parameters = len(likelihood.parameters)
    n_walkers = max(require_integer("n_walkers", n_walkers, 2), 2 * n_parameters + 2)
    n_steps = require_integer("n_steps", n_steps, 10)
    burn = n_steps // 3 if burn is None else require_integer("burn", burn, 0, n_steps - 1)
    covariance = likelihood.covariance(result.best)
    bounds = np.array([p.internal_bounds for p in likelihood.parameters])
    best = likelihood.internal(result.best)

    def log_probability(u):
        if np.any(u < bounds[:, 0]) or np.any(u > bounds[:, 1]):
            return -np.inf
        return -0.5 * likelihood.chi2(likelihood.values(u), covariance)

    rng = np.random.default_rng(seed)
    width = 1e-3 * (bounds[:, 1] - bounds[:, 0])
    start = np.clip(best + width * rng.standard_normal((n_walkers, n_parameters)), bounds[:, 0], bounds[:, 1])
    sampler = emcee.EnsembleSampler(n_walkers, n_parameters, log_probability)
    # emcee draws its proposals from a legacy RandomState; seed it through the public setter
    sampler.random_state = np.random.RandomState(np.random.SeedSequence(seed).generate_state(1)[0]).get_state()
    sampler.run_mcmc(start, n_steps, progress=False)
    chain = sampler.get_chain(discard=burn, flat=True)
    samples = np.column_stack([p.from_internal(chain[:, i]) for i, p in enumerate(likelihood.parameters)])
    result.samples = samples
    return samples


# ---------------------------------------------------------------------------------------------------- plots
def plot_fit(result: FitResult, path=None, *, spectrum_label: str = "data"):
    """Data with the forward model's 1σ (cosmic variance + noise), the best-fit pseudo-spectrum, the noise
    level and the all-sky theory (dashed), with residuals in a lower panel.  Saves a PNG if ``path`` is given."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, height_ratios=(3, 1))
    top.errorbar(result.ell, result.data, yerr=result.model_sigma, fmt="o", ms=4, color="k", label=spectrum_label)
    top.plot(result.ell, result.model_mean, "-", color="C3", label="best fit (forward-modelled)")
    theory_ell = np.arange(result.theory_cl.size)
    shown = (theory_ell >= result.ell.min()) & (theory_ell <= result.ell.max())
    top.plot(theory_ell[shown], result.theory_cl[shown], "--", color="C0", label="best fit, all-sky theory")
    if np.any(result.noise > 0):
        top.plot(result.ell, result.noise, ":", color="0.4", label="noise after filtering")
    top.set_yscale("log")
    top.set_ylabel(r"$\tilde C_\ell$")
    top.set_title(f"{result.experiment}: {result.model.get('name')}, χ²/dof = {result.chi2:.1f}/{result.dof}")
    top.legend(fontsize=8)
    bottom.axhline(0.0, color="0.5", lw=0.8)
    bottom.errorbar(result.ell, (result.data - result.model_mean) / result.model_sigma, yerr=1.0, fmt="o", ms=3,
                    color="k")
    bottom.set_xlabel(r"$\ell$")
    bottom.set_ylabel("residual / σ")
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=110)
        plt.close(figure)
    return figure


def plot_profiles(result: FitResult, path=None):
    """Δχ² profiles of every fitted parameter with the 68 % level; saves a PNG if ``path`` is given."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = list(result.profiles)
    figure, axes = plt.subplots(1, max(len(names), 1), figsize=(3.6 * max(len(names), 1), 3.2), squeeze=False)
    for axis, name in zip(axes[0], names):
        grid, delta = result.profiles[name]
        axis.plot(grid, delta, "-o", ms=3)
        axis.axhline(DELTA_CHI2_68, color="C3", ls="--", lw=0.8)
        axis.axvline(result.best[name], color="0.4", lw=0.8)
        if name in ("c1", "kappa_c", "reduced_rigidity", "pair_time_prefactor"):
            axis.set_xscale("log")
        axis.set_ylim(0, max(4.0, min(float(np.nanmax(delta)), 25.0)))
        axis.set_xlabel(name)
        axis.set_ylabel(r"$\Delta\chi^2$")
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=110)
        plt.close(figure)
    return figure


def likelihood_from_spectrum(spectrum, model: Model, experiment=None, **options) -> Likelihood:
    """A :class:`Likelihood` for a :class:`anisotropy.data.Spectrum` (experiment from the file if not given)."""
    experiment = experiment if experiment is not None else spectrum.experiment
    if options.pop("add_data_errors", False):
        errors = np.asarray(spectrum.cl_err, dtype=float)
        if spectrum.cl_err_sys is not None:
            errors = np.hypot(errors, spectrum.cl_err_sys)
        options["data_errors"] = errors
    return Likelihood(spectrum.ell, spectrum.cl, experiment, model, **options)
