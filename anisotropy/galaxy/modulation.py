r"""Force-field solar modulation (Gleeson & Axford 1968, ApJ 154, 1011).

For a nucleus of charge Z and mass number A in a potential :math:`\phi` (GV), the kinetic energy per nucleon at the
top of the atmosphere T relates to the interstellar one by :math:`T_\mathrm{IS} = T + \Phi`,
:math:`\Phi = |Z|\phi/A` (GeV/n), and

.. math:: J_\mathrm{TOA}(T) = J_\mathrm{IS}(T + \Phi)\,\frac{T(T + 2m)}{(T + \Phi)(T + \Phi + 2m)},

i.e. the phase-space density :math:`J/p^2` is carried along unchanged (m: rest energy per nucleon).
"""

from __future__ import annotations

import numpy as np

from anisotropy.errors import ParameterError, require_range

from .transport import NUCLEON_REST_ENERGY_GEV

__all__ = ["force_field", "interpolate_loglog"]


def interpolate_loglog(x_grid, y_grid):
    """A function that interpolates positive ``y_grid`` linearly in log-log; nan outside the grid."""
    log_x, log_y = np.log(np.asarray(x_grid, dtype=float)), np.log(np.asarray(y_grid, dtype=float))

    def interpolant(x):
        return np.exp(np.interp(np.log(np.asarray(x, dtype=float)), log_x, log_y, left=np.nan, right=np.nan))

    return interpolant


def force_field(T, interstellar, *, phi, charge: int, mass_number: int):
    """Top-of-atmosphere flux at kinetic energies per nucleon ``T`` (GeV/n) for potential ``phi`` (GV).

    Parameters
    ----------
    T : float or array
        Kinetic energy per nucleon at Earth, > 0.
    interstellar : callable
        T (GeV/n) -> interstellar flux (any units; the result has the same units).
    phi : float
        Modulation potential in GV, >= 0 (phi = 0 is the identity).

    Examples
    --------
    >>> from anisotropy.galaxy.modulation import force_field
    >>> float(force_field(1.0, lambda t: 2.0 * t**-2.7, phi=0.0, charge=6, mass_number=12))
    2.0
    """
    phi = require_range("phi", phi, 0.0, None)
    T = np.asarray(T, dtype=float)
    if np.any(~np.isfinite(T)) or np.any(T <= 0):
        raise ParameterError("energy", "kinetic energies must be finite and > 0")
    shift = abs(charge) * phi / mass_number
    m = NUCLEON_REST_ENERGY_GEV
    shifted = T + shift
    # written as a product of two ratios, each exactly 1 when phi = 0
    return interstellar(shifted) * (T / shifted) * ((T + 2 * m) / (shifted + 2 * m))
