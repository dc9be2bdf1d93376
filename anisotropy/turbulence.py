r"""One description of the turbulence spectrum, shared by the theory and the simulator.

The plane-wave spectrum :math:`S(k)\propto k^{-q}` between :math:`2\pi/L_\max` and :math:`2\pi/L_\min`
(docs/physics/simulator.md#plane-wave-field, docs/physics/conventions.md#units).  Lengths are in the caller's
documented units (:math:`L_c` in the reduced parameters); this module only holds ratios and counts.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

# a leaf module (errors only): anisotropy.units, .spectrum and .transport take their defaults from here
from .errors import ParameterError, require_integer, require_range

__all__ = [
    "DEFAULT_LMIN_OVER_LMAX",
    "DEFAULT_MODES_PER_DECADE",
    "DEFAULT_SPECTRAL_INDEX",
    "KOLMOGOROV_INDEX",
    "TURBULENCE_KINDS",
    "Turbulence",
    "turbulence_fields",
]

#: Geometries of the wave vectors: isotropic 3-D or slab (along the regular field).
TURBULENCE_KINDS = ("isotropic", "slab")
#: :math:`L_\min/L_\max` used wherever a signature takes the ratio loose and none is given.
DEFAULT_LMIN_OVER_LMAX = 1e-3
#: Log-spaced plane waves per decade of wavenumber (docs/physics/conventions.md#units).
DEFAULT_MODES_PER_DECADE = 256
#: Kolmogorov :math:`q = 5/3` of :math:`S(k)\propto k^{-q}` (re-exported by anisotropy.units).
KOLMOGOROV_INDEX = 5.0 / 3.0
#: :math:`q` used wherever a signature takes the spectral index loose and none is given: Kolmogorov.
DEFAULT_SPECTRAL_INDEX = KOLMOGOROV_INDEX
#: Largest modes_per_decade accepted (the simulator's bound).
MAX_MODES_PER_DECADE = 100_000


@dataclass(frozen=True)
class Turbulence:
    r"""The turbulence spectrum: geometry, level and the range of scales.

    Attributes
    ----------
    kind : {"isotropic", "slab"}
        Isotropic 3-D (wave vectors uniform on the sphere) or slab (wave vectors along :math:`\hat z`).
    eta : float
        Turbulence level :math:`\eta = \delta B^2/(B_0^2+\delta B^2)` in (0, 1].
    lmin_over_lmax : float
        :math:`L_\min/L_\max` in (0, 1).
    modes_per_decade : int
        Log-spaced modes per decade of wavenumber.
    spectral_index : float
        :math:`q` in :math:`S(k)\propto k^{-q}` (> 1; 5/3 Kolmogorov).

    Raises
    ------
    ParameterError
        One line naming the field that is out of range.

    Examples
    --------
    >>> from anisotropy import Turbulence
    >>> turbulence = Turbulence(kind="slab", eta=0.5, lmin_over_lmax=1e-2)
    >>> turbulence.kind, turbulence.eta, turbulence.modes_per_decade
    ('slab', 0.5, 256)
    >>> Turbulence(eta=1.5)
    Traceback (most recent call last):
    ...
    anisotropy.errors.ParameterError: eta: must be in (0, 1], got 1.5
    """

    kind: str = "isotropic"
    eta: float = 1.0
    lmin_over_lmax: float = DEFAULT_LMIN_OVER_LMAX
    modes_per_decade: int = DEFAULT_MODES_PER_DECADE
    spectral_index: float = DEFAULT_SPECTRAL_INDEX

    def __post_init__(self):
        if self.kind not in TURBULENCE_KINDS:
            raise ParameterError("kind", f"must be one of {TURBULENCE_KINDS}, got {self.kind!r}")
        checked = {
            "eta": require_range("eta", self.eta, 0.0, 1.0, low_open=True),
            "lmin_over_lmax": require_range("lmin_over_lmax", self.lmin_over_lmax, 0.0, 1.0,
                                            low_open=True, high_open=True),
            "modes_per_decade": require_integer("modes_per_decade", self.modes_per_decade, 1,
                                                MAX_MODES_PER_DECADE),
            "spectral_index": require_range("spectral_index", self.spectral_index, 1.0, None, low_open=True),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def as_turbulence(self) -> Turbulence:
        """The shared description alone (a subclass such as the simulator's configuration drops its extra fields).

        Examples
        --------
        >>> Turbulence(kind="slab", eta=0.5).as_turbulence() == Turbulence(kind="slab", eta=0.5)
        True
        """
        if type(self) is Turbulence:
            return self
        return Turbulence(self.kind, self.eta, self.lmin_over_lmax, self.modes_per_decade, self.spectral_index)


def turbulence_fields(turbulence: Turbulence | None, **loose) -> tuple:
    r"""The named spectrum fields, from ``turbulence`` when given, else the loose values as passed.

    The functions that take the spectrum loose (``eta``, ``lmin_over_lmax``, ``modes_per_decade``,
    ``spectral_index``) also accept ``turbulence=``; this resolves the two forms in one place.  With
    ``turbulence`` given, a loose value must be ``None`` or the field's default (a default cannot be told from an
    argument left out), otherwise the spectrum would be given twice.

    Parameters
    ----------
    turbulence : Turbulence or None
        The shared description, or None for the loose form.
    **loose
        Field name -> the loose value the caller received.

    Returns
    -------
    tuple
        The values in the order of ``loose``.

    Raises
    ------
    ParameterError
        ``turbulence`` is not a :class:`Turbulence`, or a loose field is given as well (named).

    Examples
    --------
    >>> from anisotropy.turbulence import Turbulence, turbulence_fields
    >>> turbulence_fields(None, eta=0.3, lmin_over_lmax=1e-2)
    (0.3, 0.01)
    >>> turbulence_fields(Turbulence(kind="slab", eta=0.5), eta=None, lmin_over_lmax=1e-3)
    (0.5, 0.001)
    >>> turbulence_fields(Turbulence(eta=0.5), eta=0.3)
    Traceback (most recent call last):
    ...
    anisotropy.errors.ParameterError: eta: given both loose and in turbulence=; pass one of them
    """
    if turbulence is None:
        return tuple(loose.values())
    if not isinstance(turbulence, Turbulence):
        raise ParameterError("turbulence", f"expected an anisotropy.Turbulence, got {type(turbulence).__name__}")
    for name, value in loose.items():
        if value is not None and value != _FIELD_DEFAULTS[name]:
            raise ParameterError(name, "given both loose and in turbulence=; pass one of them")
    return tuple(getattr(turbulence, name) for name in loose)


_FIELD_DEFAULTS = {field.name: field.default for field in fields(Turbulence)}
