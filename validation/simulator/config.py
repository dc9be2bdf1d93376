r"""Run configurations of the test-particle simulator: frozen, validated, JSON round-trippable.

Everything is in the reduced units of :mod:`anisotropy.units` (docs/physics/conventions.md#units):

* lengths in :math:`L_c` (two-sided convention, :math:`L_c \approx L_\max/5`),
* times as :math:`ct/L_c` (particles move at :math:`v = c`),
* fields in units of :math:`B_\mathrm{tot} = \sqrt{B_0^2+\delta B^2}`, so :math:`B_0 = \sqrt{1-\eta}` and
  :math:`\langle\delta B^2\rangle = \eta`,
* the reduced rigidity is :math:`r_g/L_c` with :math:`r_g` in :math:`B_\mathrm{tot}`.

The configurations hold no seeds: a realisation is a pure function of ``(config, SeedSequence)`` and the seed is
recorded next to the outputs (docs/guide/design.md#engineering-conventions).  Each class validates itself on
construction (also
after :func:`dataclasses.replace`) and raises :class:`anisotropy.errors.ParameterError` naming the field.
``to_dict()`` gives plain JSON types; ``from_dict()`` inverts it exactly.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from anisotropy.errors import ParameterError, require_integer, require_range
from anisotropy.spectrum import mode_count
from anisotropy.turbulence import TURBULENCE_KINDS, Turbulence
from anisotropy.units import KOLMOGOROV_INDEX, outer_scale

from .slab_table import SLAB_FIELDS

__all__ = [
    "TURBULENCE_KINDS",
    "AnisotropyConfig",
    "DiffusionConfig",
    "PairConfig",
    "PitchAngleConfig",
    "TurbulenceConfig",
    "default_fieldline_step",
    "default_timestep",
    "smallest_scale",
]


#: c·dt ≤ r_g / GYRO_STEPS_PER_RADIUS: Ω dt ≤ 1/30, Boris phase error (Ω dt)²/12 ≈ 1e-4 rad per radian of gyration
GYRO_STEPS_PER_RADIUS = 30.0
#: c·dt ≤ L_min / STEPS_PER_SMALLEST_SCALE: the smallest wave is crossed in ≥ 5 steps
#: (docs/physics/simulator.md#integrator)
STEPS_PER_SMALLEST_SCALE = 5.0
#: field-line RK4 step ds ≤ L_min / FIELDLINE_STEPS_PER_SMALLEST_SCALE: k_max ds ≤ 2π/10, RK4 local error
#: (k_max ds)^5/120 ≈ 8e-4 of the smallest mode's (already small) contribution per step
FIELDLINE_STEPS_PER_SMALLEST_SCALE = 10.0


#: most integration steps one particle (or field line) may take: 1e9 Boris steps of the plane-wave kernel are
#: hours per particle at ~0.4 ns per mode-step with ~100 modes, so a larger request is a mistake, refused at once
MAX_STEPS_PER_PARTICLE = 10**9
#: most particles (or field lines, or pairs per separation) in one realisation: each holds ~10 float64 of state plus
#: its displacements at every output time, so 1e8 particles already need several GB per worker
MAX_PARTICLES = 10**8
#: largest kappa_parallel, kappa_perp (c L_c) of the map's 3 p.K.G term: C_l grow as kappa², which must stay
#: inside the float range (1e100² = 1e200)
MAX_DIFFUSION_COEFFICIENT = 1e100
#: smallest step c dt/L_c (or ds/L_c) accepted: positions reach O(1..1e4) L_c, where a float's spacing is
#: ~1e-12 L_c, so a smaller step no longer moves the particle
MIN_STEP = 1e-12


def check_step_count(total: float, step: float, total_name: str, step_name: str) -> int:
    """Number of steps ``ceil(total/step)``, or :class:`ParameterError` naming the input that makes it absurd.

    A step below :data:`MIN_STEP` is blamed on ``step_name`` (``dt``, or ``reduced_rigidity``/``lmin_over_lmax``
    when they set the default step); more than :data:`MAX_STEPS_PER_PARTICLE` steps of a sane step on
    ``total_name``.

    Examples
    --------
    >>> check_step_count(10.0, 0.01, "time", "dt")
    1000
    """
    if step < MIN_STEP:
        raise ParameterError(step_name, f"gives a step c dt/L_c = {step:.3g}, below {MIN_STEP:g} (float resolution)")
    count = total / step
    if not math.isfinite(count) or count > MAX_STEPS_PER_PARTICLE:
        raise ParameterError(
            total_name,
            f"{total:.3g} L_c needs {count:.3g} steps of {step:.3g} per particle (> {MAX_STEPS_PER_PARTICLE:.0e})",
        )
    return max(1, math.ceil(count))


def _step_parameter(instance) -> str:
    # which input sets the Boris step: dt itself, or the smaller of r_g/30 and L_min/5 (default_timestep)
    if instance.dt is not None:
        return "dt"
    turbulence = instance.turbulence
    l_min = smallest_scale(turbulence.lmin_over_lmax, turbulence.spectral_index)
    gyration_limited = instance.reduced_rigidity / GYRO_STEPS_PER_RADIUS <= l_min / STEPS_PER_SMALLEST_SCALE
    return "reduced_rigidity" if gyration_limited else "lmin_over_lmax"


def smallest_scale(lmin_over_lmax: float, spectral_index: float = KOLMOGOROV_INDEX) -> float:
    r""":math:`L_\min/L_c = r\,L_\max/L_c` with :math:`L_\max/L_c` from :func:`anisotropy.units.outer_scale`."""
    return lmin_over_lmax * outer_scale(1.0, lmin_over_lmax, spectral_index)


def default_timestep(reduced_rigidity: float, lmin_over_lmax: float, spectral_index: float = KOLMOGOROV_INDEX) -> float:
    r"""Default Boris step :math:`c\,\Delta t = \min(r_g/30,\ L_\min/5)` in :math:`L_c/c`
    (docs/physics/simulator.md#integrator).

    Parameters
    ----------
    reduced_rigidity : float
        :math:`r_g/L_c` (> 0).
    lmin_over_lmax : float
        :math:`L_\min/L_\max` in (0, 1).
    spectral_index : float
        Spectral index used to convert :math:`L_\min` to units of :math:`L_c` (5/3).

    Returns
    -------
    float
        :math:`c\,\Delta t/L_c`.
    """
    reduced_rigidity = require_range("reduced_rigidity", reduced_rigidity, 0.0, None, low_open=True)
    l_min = smallest_scale(lmin_over_lmax, spectral_index)
    return min(reduced_rigidity / GYRO_STEPS_PER_RADIUS, l_min / STEPS_PER_SMALLEST_SCALE)


def default_fieldline_step(lmin_over_lmax: float, spectral_index: float = KOLMOGOROV_INDEX) -> float:
    r"""Default RK4 arc-length step of the field-line tracer, :math:`\Delta s = L_\min/10`, in :math:`L_c`."""
    return smallest_scale(lmin_over_lmax, spectral_index) / FIELDLINE_STEPS_PER_SMALLEST_SCALE


def _set(instance, name, value):
    object.__setattr__(instance, name, value)


def _positive(instance, name, optional=False):
    value = getattr(instance, name)
    if not (optional and value is None):
        _set(instance, name, require_range(name, value, 0.0, None, low_open=True))


def _float_tuple(name, values, low=None, high=None, *, low_open=False, high_open=False, increasing=False):
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        values = (values,)
    numbers = tuple(require_range(name, value, low, high, low_open=low_open, high_open=high_open) for value in values)
    if increasing and any(b <= a for a, b in itertools.pairwise(numbers)):
        raise ParameterError(name, f"must be strictly increasing, got {numbers}")
    return numbers


class _ConfigMixin:
    """to_dict/from_dict shared by the configurations (nested TurbulenceConfig, tuples as lists)."""

    def to_dict(self) -> dict:
        """Plain JSON-able dictionary (nested configurations as dictionaries, tuples as lists)."""
        result = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, _ConfigMixin):
                value = value.to_dict()
            elif isinstance(value, tuple):
                value = list(value)
            result[item.name] = value
        return result

    @classmethod
    def from_dict(cls, data: dict):
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`ParameterError`."""
        names = {item.name for item in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ParameterError(unknown[0], f"unknown field of {cls.__name__}; allowed: {sorted(names)}")
        values = dict(data)
        if isinstance(values.get("turbulence"), dict):
            values["turbulence"] = TurbulenceConfig.from_dict(values["turbulence"])
        return cls(**values)


@dataclass(frozen=True)
class TurbulenceConfig(Turbulence, _ConfigMixin):
    r"""Plane-wave turbulence :math:`\mathbf B = B_0\hat z + \delta\mathbf B`
    (docs/physics/simulator.md#plane-wave-field item 1).

    The theory's :class:`anisotropy.turbulence.Turbulence` (same fields, defaults and checks) plus how the simulator
    evaluates a slab field; :meth:`~anisotropy.turbulence.Turbulence.as_turbulence` gives the shared description.

    Attributes
    ----------
    kind : {"isotropic", "slab"}
        Isotropic 3D (wave vectors uniform on the sphere) or slab (wave vectors along :math:`\hat z`).
    eta : float
        Turbulence level :math:`\eta = \delta B^2/(B_0^2+\delta B^2)` in (0, 1].
    lmin_over_lmax : float
        :math:`L_\min/L_\max` in (0, 1).
    modes_per_decade : int
        Log-spaced modes per decade of wavenumber (≥ 256 for diffusion work, ≥ 500 for field lines at
        :math:`\eta\le 0.1`; docs/physics/conventions.md#units).
    spectral_index : float
        :math:`q` in :math:`S(k)\propto k^{-q}` (5/3 Kolmogorov).
    slab_field : {None, "table", "modes"}
        How the slab field is evaluated: ``"table"`` (:mod:`validation.simulator.slab_table`, a 1-D cubic Hermite
        table in z built from the same modes, error ≤ 3e-7 δB_rms) or ``"modes"`` (the plane-wave sum at every
        step).  ``None`` means ``"table"`` for ``kind="slab"`` and ``"modes"`` for ``"isotropic"``, where a table
        is impossible (:attr:`field_evaluation` holds the resolved choice).

    Examples
    --------
    >>> from validation import TurbulenceConfig
    >>> config = TurbulenceConfig(kind="slab", eta=0.5, lmin_over_lmax=1e-2, modes_per_decade=8)
    >>> config.kind, config.eta
    ('slab', 0.5)
    >>> from anisotropy import Turbulence
    >>> config.as_turbulence() == Turbulence(kind="slab", eta=0.5, lmin_over_lmax=1e-2, modes_per_decade=8)
    True
    """

    slab_field: str | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.slab_field is not None and self.slab_field not in SLAB_FIELDS:
            raise ParameterError("slab_field", f"must be one of {SLAB_FIELDS} (or None), got {self.slab_field!r}")
        if self.slab_field == "table" and self.kind != "slab":
            raise ParameterError("slab_field", f"a table needs slab turbulence (the {self.kind} field depends on x, y "
                                               "and z); use 'modes'")

    @property
    def field_evaluation(self) -> str:
        """``"table"`` or ``"modes"``: :attr:`slab_field` resolved (``None`` is ``"table"`` for slab)."""
        if self.kind == "slab" and self.slab_field != "modes":
            return "table"
        return "modes"

    @property
    def n_modes(self) -> int:
        """Number of plane waves (:func:`anisotropy.spectrum.mode_count`)."""
        return mode_count(self.lmin_over_lmax, self.modes_per_decade)

    @property
    def b0(self) -> float:
        r"""Regular field :math:`B_0/B_\mathrm{tot} = \sqrt{1-\eta}`."""
        return math.sqrt(1.0 - self.eta)

    @property
    def l_min(self) -> float:
        r""":math:`L_\min` in :math:`L_c`."""
        return smallest_scale(self.lmin_over_lmax, self.spectral_index)

    @property
    def l_max(self) -> float:
        r""":math:`L_\max` in :math:`L_c` (≈ 5 for Kolmogorov)."""
        return outer_scale(1.0, self.lmin_over_lmax, self.spectral_index)


def _check_turbulence(instance):
    if not isinstance(instance.turbulence, TurbulenceConfig):
        raise ParameterError("turbulence", f"expected a TurbulenceConfig, got {type(instance.turbulence).__name__}")


def _output_ages(times) -> tuple:
    """Output ages of the backtracking records: strictly increasing, > 0, at most MAX_AGES - 1 (age 0 is added)."""
    times = _float_tuple("times", times, 0.0, None, low_open=True, increasing=True)
    if not times or len(times) + 1 > MAX_AGES:
        raise ParameterError("times", f"needs 1..{MAX_AGES - 1} output ages, got {len(times)}")
    return times


def _check_timestep(instance):
    _positive(instance, "dt", optional=True)


@dataclass(frozen=True)
class AnisotropyConfig(_ConfigMixin):
    r"""One backtracking run for the arrival-direction map :math:`\delta f(\hat n)` and :math:`C_\ell(T)`.

    docs/physics/simulator.md#liouville-mapping, docs/physics/simulator.md (protocol items 3-8).  The observer sits at
    the origin; one particle per HEALPix pixel centre
    (times ``subpixel**2``), backtracked by forward integration with reversed charge
    (docs/physics/simulator.md#liouville-mapping).

    Attributes
    ----------
    turbulence : TurbulenceConfig
    reduced_rigidity : float
        :math:`r_g/L_c` (> 0).
    nside : int
        HEALPix :math:`N_\mathrm{side}` of the output map (power of two, 1..8192).
    subpixel : int
        Each map pixel is sampled by the ``subpixel**2`` centres of the pixels of the
        :math:`N_\mathrm{side}\cdot` ``subpixel`` grid inside it (power of two; 1 = one particle per pixel).
    times : tuple of float
        Backtracking times :math:`cT/L_c`, strictly increasing and > 0.
    gradient_angle : float
        Angle between :math:`\mathbf G` and :math:`\mathbf B_0 = B_0\hat z` in degrees, [0, 180].  :math:`\mathbf G`
        lies in the x-z plane; :math:`|\mathbf G| = 1` in :math:`1/L_c` (the :math:`C_\ell` scale as
        :math:`|G|^2`).
    dt : float or None
        Boris step :math:`c\,\Delta t/L_c`; ``None`` means :func:`default_timestep`.
    pairs : int
        Number of particle pairs per separation for the pair estimator (docs/physics/simulator.md#pair-estimator); 0
        disables it.
    pair_separations : tuple of float
        Pair opening angles in degrees, (0, 180], strictly increasing.
    diffusion_tensor : tuple of float or None
        :math:`(\kappa_\parallel, \kappa_\perp)` in :math:`c L_c` for the second term of (3.1),
        :math:`-(3/v)\,\hat p(-T)\cdot K\cdot\mathbf G`; ``None`` drops that term (valid for
        :math:`T\gg\tau_s`).

    Examples
    --------
    >>> from validation import AnisotropyConfig, TurbulenceConfig
    >>> config = AnisotropyConfig(turbulence=TurbulenceConfig(kind="slab", eta=0.5), reduced_rigidity=0.3, nside=4,
    ...                           times=(1.0, 2.0))
    >>> config.nside, config.times
    (4, (1.0, 2.0))
    """

    turbulence: TurbulenceConfig = field(default_factory=TurbulenceConfig)
    reduced_rigidity: float = 0.1
    nside: int = 16
    subpixel: int = 1
    times: tuple = (1.0, 3.0, 10.0, 30.0, 100.0)
    gradient_angle: float = 0.0
    dt: float | None = None
    pairs: int = 0
    pair_separations: tuple = ()
    diffusion_tensor: tuple | None = None

    def __post_init__(self):
        _check_turbulence(self)
        _positive(self, "reduced_rigidity")
        nside = require_integer("nside", self.nside, 1, 8192)
        if nside & (nside - 1):
            raise ParameterError("nside", f"must be a power of two in [1, 8192], got {nside}")
        _set(self, "nside", nside)
        subpixel = require_integer("subpixel", self.subpixel, 1, 64)
        if subpixel & (subpixel - 1) or nside * subpixel > 8192:
            raise ParameterError("subpixel", f"must be a power of two with nside*subpixel <= 8192, got {subpixel}")
        _set(self, "subpixel", subpixel)
        times = _float_tuple("times", self.times, 0.0, None, low_open=True, increasing=True)
        if not times:
            raise ParameterError("times", "needs at least one backtracking time")
        _set(self, "times", times)
        _set(self, "gradient_angle", require_range("gradient_angle", self.gradient_angle, 0.0, 180.0))
        _check_timestep(self)
        check_step_count(times[-1], self.timestep, "times", _step_parameter(self))
        _set(self, "pairs", require_integer("pairs", self.pairs, 0, MAX_PARTICLES))
        _set(
            self,
            "pair_separations",
            _float_tuple("pair_separations", self.pair_separations, 0.0, 180.0, low_open=True, increasing=True),
        )
        if self.pairs > 0 and not self.pair_separations:
            raise ParameterError("pair_separations", "needs at least one angle when pairs > 0")
        if self.diffusion_tensor is not None:
            tensor = _float_tuple("diffusion_tensor", self.diffusion_tensor, 0.0, MAX_DIFFUSION_COEFFICIENT)
            if len(tensor) != 2:
                raise ParameterError("diffusion_tensor", f"expected (kappa_parallel, kappa_perp), got {tensor}")
            _set(self, "diffusion_tensor", tensor)

    @property
    def timestep(self) -> float:
        r"""The Boris step in use, :math:`c\,\Delta t/L_c` (``dt`` or :func:`default_timestep`)."""
        if self.dt is not None:
            return self.dt
        return default_timestep(self.reduced_rigidity, self.turbulence.lmin_over_lmax, self.turbulence.spectral_index)

    @property
    def gradient(self) -> tuple[float, float, float]:
        r"""Unit gradient :math:`\hat G = (\sin\alpha, 0, \cos\alpha)` for ``gradient_angle`` :math:`\alpha`."""
        angle = math.radians(self.gradient_angle)
        return (math.sin(angle), 0.0, math.cos(angle))

    @property
    def n_particles(self) -> int:
        """Particles per realisation in the map: ``12 * (nside * subpixel)**2``."""
        return 12 * (self.nside * self.subpixel) ** 2


@dataclass(frozen=True)
class DiffusionConfig(_ConfigMixin):
    r"""One realisation of the running diffusion coefficients and of field-line diffusion
    (docs/physics/conventions.md#running-diffusion).

    Attributes
    ----------
    turbulence : TurbulenceConfig
    reduced_rigidity : float
        :math:`r_g/L_c` (> 0).
    particles : int
        Particles per realisation (isotropic initial directions, all starting at the origin), ≥ 1.
    time : float
        Total time :math:`ct/L_c` (> 0).
    n_times : int
        Number of log-spaced output times from ``first_time`` to ``time`` (≥ 2); times are snapped to whole steps
        and duplicates dropped (:meth:`output_steps`).
    dt : float or None
        Boris step :math:`c\,\Delta t/L_c`; ``None`` means :func:`default_timestep`.
    fieldlines : int
        Field lines traced per realisation (0 disables the field-line part).
    fieldline_length : float
        Arc length traced along each field line (along :math:`+\mathbf B`) in :math:`L_c` (> 0); outputs on
        ``n_times`` log-spaced lengths from ``fieldline_length * first_time / time`` to ``fieldline_length``.
    fieldline_step : float or None
        RK4 arc-length step in :math:`L_c`; ``None`` means :func:`default_fieldline_step`.
    first_time : float or None
        First output time :math:`ct/L_c`, in (0, ``time``]; ``None`` means ``time / 1000`` (three decades).

    Examples
    --------
    >>> from validation import DiffusionConfig, TurbulenceConfig
    >>> config = DiffusionConfig(turbulence=TurbulenceConfig(kind="isotropic", eta=1.0), particles=100, time=10.0)
    >>> config.particles, config.time
    (100, 10.0)
    """

    turbulence: TurbulenceConfig = field(default_factory=TurbulenceConfig)
    reduced_rigidity: float = 0.1
    particles: int = 1000
    time: float = 100.0
    n_times: int = 40
    dt: float | None = None
    fieldlines: int = 0
    fieldline_length: float = 100.0
    fieldline_step: float | None = None
    first_time: float | None = None

    def __post_init__(self):
        _check_turbulence(self)
        _positive(self, "reduced_rigidity")
        _set(self, "particles", require_integer("particles", self.particles, 1, MAX_PARTICLES))
        _positive(self, "time")
        _set(self, "n_times", require_integer("n_times", self.n_times, 2, 100_000))
        _check_timestep(self)
        _set(self, "fieldlines", require_integer("fieldlines", self.fieldlines, 0, MAX_PARTICLES))
        _positive(self, "fieldline_length")
        _positive(self, "fieldline_step", optional=True)
        if self.first_time is not None:
            _set(self, "first_time", require_range("first_time", self.first_time, 0.0, self.time, low_open=True))
        check_step_count(self.time, self.timestep, "time", _step_parameter(self))
        if self.fieldlines > 0:
            step_name = "fieldline_step" if self.fieldline_step is not None else "lmin_over_lmax"
            check_step_count(self.fieldline_length, self.step_length, "fieldline_length", step_name)

    @property
    def timestep(self) -> float:
        r"""The Boris step in use, :math:`c\,\Delta t/L_c`."""
        if self.dt is not None:
            return self.dt
        return default_timestep(self.reduced_rigidity, self.turbulence.lmin_over_lmax, self.turbulence.spectral_index)

    @property
    def step_length(self) -> float:
        """The field-line RK4 arc-length step in use, in :math:`L_c`."""
        if self.fieldline_step is not None:
            return self.fieldline_step
        return default_fieldline_step(self.turbulence.lmin_over_lmax, self.turbulence.spectral_index)

    @property
    def output_fractions(self):
        """Log-spaced output points as fractions of the total time (or length), from first/total to 1."""
        first = self.first_time if self.first_time is not None else self.time / 1000.0
        return np.geomspace(first / self.time, 1.0, self.n_times)

    def output_steps(self, step: float | None = None):
        r"""Whole-step schedule of the output times: ``(dt, steps)``.

        The step is shrunk to ``time / ceil(time / timestep)`` so the last output falls exactly on ``time``; the
        log-spaced output times are rounded to whole steps (at least one) and duplicates dropped.

        Returns
        -------
        dt : float
            Step in :math:`L_c/c` actually used.
        steps : ndarray of int
            Cumulative step counts of the outputs, strictly increasing; times are ``steps * dt``.
        """
        return _schedule(self.time, self.timestep if step is None else step, self.output_fractions)

    def fieldline_steps(self):
        """Whole-step schedule of the field-line outputs: ``(ds, steps)``, as :meth:`output_steps` for lengths."""
        return _schedule(self.fieldline_length, self.step_length, self.output_fractions)


#: largest L of the pair instrument's mixing functions (each costs one recurrence step per pair and age)
MAX_LMAX_MIXING = 1024
#: largest number of output ages of the pair instrument (its two-time arrays grow as ages²)
MAX_AGES = 512


@dataclass(frozen=True)
class PairConfig(_ConfigMixin):
    r"""One realisation of the pair instrument (:func:`validation.simulator.pairs.pair_realisation`).

    Attributes
    ----------
    turbulence : TurbulenceConfig
    reduced_rigidity : float
        :math:`r_g/L_c` (> 0).
    nodes : int
        Gauss-Legendre nodes in :math:`x` (2..4096); :math:`C_\ell` are resolved for :math:`\ell` well below it.
    pairs : int
        Pairs per node (1..10^7); the realisation backtracks ``pairs * (nodes + 1)`` particles.
    times : tuple of float
        Output ages :math:`cT/L_c`, strictly increasing, > 0 (age 0 is always recorded in addition).
    lmax_mixing : int
        :math:`L`: the mixing functions :math:`\langle P_{\ell_0}(x')\rangle` for :math:`\ell_0 = 0..L` (0..1024).
    dt : float or None
        Boris step :math:`c\,\Delta t/L_c`; ``None`` means the simulator default.
    """

    turbulence: TurbulenceConfig = field(default_factory=TurbulenceConfig)
    reduced_rigidity: float = 0.1
    nodes: int = 16
    pairs: int = 256
    times: tuple = (1.0, 3.0, 10.0)
    lmax_mixing: int = 8
    dt: float | None = None

    def __post_init__(self):
        _check_turbulence(self)
        _positive(self, "reduced_rigidity")
        _set(self, "nodes", require_integer("nodes", self.nodes, 2, 4096))
        _set(self, "pairs", require_integer("pairs", self.pairs, 1, 10_000_000))
        _set(self, "times", _output_ages(self.times))
        _set(self, "lmax_mixing", require_integer("lmax_mixing", self.lmax_mixing, 0, MAX_LMAX_MIXING))
        _check_timestep(self)

    @property
    def timestep(self) -> float:
        r"""The Boris step in use, :math:`c\,\Delta t/L_c`."""
        if self.dt is not None:
            return self.dt
        turbulence = self.turbulence
        return default_timestep(self.reduced_rigidity, turbulence.lmin_over_lmax, turbulence.spectral_index)

    @property
    def n_particles(self) -> int:
        """Particles backtracked per realisation: ``pairs * (nodes + 1)``."""
        return self.pairs * (self.nodes + 1)




#: largest number of pitch-angle bins of :class:`PitchAngleConfig` (the transition counts grow as ages × bins²)
MAX_PITCH_ANGLE_BINS = 1000


@dataclass(frozen=True)
class PitchAngleConfig(_ConfigMixin):
    r"""One realisation of the pitch-angle transition record
    (:func:`validation.simulator.pitch_angle.pitch_angle_realisation`).

    Attributes
    ----------
    turbulence : TurbulenceConfig
    reduced_rigidity : float
        :math:`r_g/L_c` (> 0).
    particles : int
        Particles per realisation (isotropic initial directions), 1..10^8.
    times : tuple of float
        Output ages :math:`ct/L_c`, strictly increasing, > 0 (age 0 is recorded in addition).
    bins : int
        Equal-width bins of the pitch-angle cosine on [-1, 1] (2..1000), in both recorded frames.
    dt : float or None
        Boris step :math:`c\,\Delta t/L_c`; ``None`` means the simulator default.
    """

    turbulence: TurbulenceConfig = field(default_factory=TurbulenceConfig)
    reduced_rigidity: float = 0.1
    particles: int = 4096
    times: tuple = (1.0, 3.0, 10.0)
    bins: int = 20
    dt: float | None = None

    def __post_init__(self):
        _check_turbulence(self)
        _positive(self, "reduced_rigidity")
        _set(self, "particles", require_integer("particles", self.particles, 1, MAX_PARTICLES))
        _set(self, "times", _output_ages(self.times))
        _set(self, "bins", require_integer("bins", self.bins, 2, MAX_PITCH_ANGLE_BINS))
        _check_timestep(self)

    #: the Boris step in use, c Δt/L_c (``dt`` or :func:`default_timestep`), as for the pair instrument
    timestep = PairConfig.timestep


def _schedule(total, step, fractions):
    n_total = max(1, math.ceil(total / step * (1.0 - 1e-12)))
    steps = np.unique(np.maximum(1, np.rint(fractions * n_total).astype(np.int64)))
    return total / n_total, steps
