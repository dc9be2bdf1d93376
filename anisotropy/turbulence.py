r"""One description of the turbulence spectrum, shared by the theory and the simulator.

The plane-wave spectrum :math:`S(k)\propto k^{-q}` between :math:`2\pi/L_\max` and :math:`2\pi/L_\min`
(docs/physics/simulator.md#plane-wave-field, docs/physics/conventions.md#units).  Lengths are in the caller's
documented units (:math:`L_c` in the reduced parameters); this module only holds ratios and counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ParameterError, require_integer, require_range
from .units import KOLMOGOROV_INDEX

__all__ = [
    "DEFAULT_LMIN_OVER_LMAX",
    "DEFAULT_MODES_PER_DECADE",
    "DEFAULT_SPECTRAL_INDEX",
    "TURBULENCE_KINDS",
    "Turbulence",
]

#: Geometries of the wave vectors: isotropic 3-D or slab (along the regular field).
TURBULENCE_KINDS = ("isotropic", "slab")
#: :math:`L_\min/L_\max` used wherever a signature takes the ratio loose and none is given.
DEFAULT_LMIN_OVER_LMAX = 1e-3
#: Log-spaced plane waves per decade of wavenumber (docs/physics/conventions.md#units).
DEFAULT_MODES_PER_DECADE = 256
#: Kolmogorov :math:`q = 5/3`.
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
