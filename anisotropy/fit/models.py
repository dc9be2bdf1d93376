"""Spectral-shape models s_l = C_l/C_1 with their parameters (overview: :mod:`anisotropy.fit`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
from scipy.interpolate import RegularGridInterpolator

from ..errors import ParameterError, require_integer, require_range
from ..io import atomic_output
from .constants import C1_ANCHOR


def anchored_c1() -> float:
    """All-sky :math:`C_1` of the anchor :data:`C1_ANCHOR` (HAWC+IceCube 10 TeV dipole, status D)."""
    from ..data import anchor_value

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
    Liu, arXiv:2402.16554, docs/physics/literature.md#sources).  Parameter ``slope`` α in [0, 6]."""

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
    r"""Steady state of the white-noise rotation toy (docs/physics/toy_model.md#toy-model): :math:`k(x) =
    2D_s(e^{-\kappa_c(1-x)}-1)`.

    Only :math:`\kappa_c` shapes the spectrum (:math:`\Gamma\propto D_s` and :math:`C_\ell\propto S/D_s`), so it is
    the one parameter; log-scale in [0.5, 50].
    """

    name = "toy"

    def __init__(self, lmax: int, kappa_bounds=(0.5, 50.0), kappa_default: float = 5.0):
        self.lmax = require_integer("lmax", lmax, 2)
        self.parameters = (Parameter("kappa_c", *kappa_bounds, kappa_default, log=True,
                                     label="correlation parameter κ_c"),)

    def evaluate(self, kappa_c) -> np.ndarray:
        from ..mixing import rate_matrix
        from ..pair_rates import PairRate
        from ..solver import steady_state

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
        from .. import predict

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
        from .. import units
        from ..predict import predict_cl

        point = {**self.fixed, **values}
        gyroradius = float(units.gyroradius(self.energy, self.b_rms))
        return predict_cl(self.energy, b_rms=self.b_rms, l_c=gyroradius / point["reduced_rigidity"],
                          eta=point["eta"], model=self.model,
                          pair_time_prefactor=point.get("pair_time_prefactor"), lmax=self.lmax)

    def evaluate(self, **values) -> np.ndarray:
        return np.asarray(self._predict(**values).cl, dtype=float)

    def scattering_time(self, **values) -> float:
        r""":math:`\Omega\tau_s` at a parameter point without solving for the :math:`C_\ell` (what
        :func:`anisotropy.predict_cl` records as ``omega_tau_s``): slab QLT on the automatic spectrum range for
        ``"slab"``; the full prediction otherwise."""
        if self.model != "slab":
            return float(self.derived(**values)["omega_tau_s"])
        from .. import predict, transport, units

        point = {**self.fixed, **values}
        gyroradius = float(units.gyroradius(self.energy, self.b_rms))
        ratio = predict._auto_lmin_over_lmax(gyroradius, gyroradius / point["reduced_rigidity"])
        return float(transport.omega_scattering_time(point["reduced_rigidity"], point["eta"], lmin_over_lmax=ratio))

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

    def __init__(self, model: Model, points: int | dict = 9, cache=None, progress: bool = False):
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
            from tqdm.auto import tqdm

            cells = int(np.prod(table.shape[:-1]))
            for index in tqdm(np.ndindex(*table.shape[:-1]), total=cells, desc="model grid", unit="point",
                              disable=not progress, dynamic_ncols=True):
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
