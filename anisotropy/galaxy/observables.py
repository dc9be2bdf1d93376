r"""Observable ratios at Earth from a :class:`~anisotropy.galaxy.solver.Solution`: B/C, Be/B, ¹⁰Be/⁹Be, ...

Every isotope is modulated with its own Z/A (:func:`anisotropy.galaxy.modulation.force_field`) and the isotopes of
an element are then summed at equal kinetic energy per nucleon (``axis="kinetic_energy_per_nucleon"``, the
default) or at equal rigidity (``axis="rigidity"``, as AMS-02 publishes Be/B).  At equal rigidity R each isotope
(Z, A) contributes its flux per unit rigidity, :math:`J_R(R) = J_T(T)\,\mathrm{d}T/\mathrm{d}R =
J_T(T)\,\beta\,|Z|/A` with :math:`T = \sqrt{(|Z|R/A)^2 + m_u^2} - m_u`: the isotopic mix is the model's own, so
comparing with a table against rigidity needs no assumed composition.
"""

from __future__ import annotations

import numpy as np

from anisotropy.errors import ParameterError

from .cross_sections import ELEMENT_SYMBOLS, isotope, isotope_name
from .modulation import force_field, interpolate_loglog
from .transport import kinetic_energy_per_nucleon, speed

__all__ = ["AXES", "RATIOS", "modulated_flux", "ratio"]

#: ratios the CLI and the fit know by name: name -> (numerator, denominator), each an element symbol or an isotope
RATIOS = {"B/C": ("B", "C"), "Be/B": ("Be", "B"), "Be/C": ("Be", "C"), "Li/C": ("Li", "C"),
          "10Be/9Be": ("10Be", "9Be"), "10Be/Be": ("10Be", "Be")}
#: the variables a ratio can be taken at equal value of: kinetic energy per nucleon (GeV/n) or rigidity (GV)
AXES = ("kinetic_energy_per_nucleon", "rigidity")
_SYMBOL_CHARGE = {symbol: charge for charge, symbol in ELEMENT_SYMBOLS.items()}


def _members(solution, label):
    if label in _SYMBOL_CHARGE:
        charge = _SYMBOL_CHARGE[label]
        names = [item.name for item in solution.model.network.species if item.charge == charge]
    else:
        names = [isotope_name(*isotope(label))]
    missing = [name for name in names if name not in solution.density]
    if not names or missing:
        raise ParameterError("isotope", f"{label!r} is not in the network ({', '.join(solution.density)})")
    return names


def _check_axis(axis):
    if axis not in AXES:
        raise ParameterError("axis", f"expected one of {', '.join(AXES)}, got {axis!r}")
    return axis


def modulated_flux(solution, label, energies, phi, *, axis="kinetic_energy_per_nucleon"):
    r"""Sum of the force-field-modulated fluxes of the isotopes in ``label`` (element symbol or isotope).

    ``energies`` are kinetic energies per nucleon (GeV/n; flux per GeV/n) or, with ``axis="rigidity"``, rigidities
    (GV; flux per GV: each isotope's flux times :math:`\mathrm{d}T/\mathrm{d}R = \beta|Z|/A`).
    """
    _check_axis(axis)
    total = 0.0
    for name in _members(solution, label):
        charge, mass = isotope(name)
        interstellar = interpolate_loglog(solution.energy, np.maximum(solution.flux(name), 1e-300))
        if axis == "rigidity":
            kinetic = kinetic_energy_per_nucleon(energies, charge, mass)
            jacobian = speed(kinetic) * abs(charge) / mass
        else:
            kinetic, jacobian = energies, 1.0
        total = total + jacobian * force_field(kinetic, interstellar, phi=phi, charge=charge, mass_number=mass)
    return total


def ratio(solution, name, energies, phi=0.0, *, axis="kinetic_energy_per_nucleon"):
    """Ratio ``name`` (a key of :data:`RATIOS`, or ``"X/Y"`` with element symbols or isotopes) at ``energies``.

    ``axis`` (one of :data:`AXES`) says what ``energies`` hold: kinetic energy per nucleon in GeV/n (default) or
    rigidity in GV; numerator and denominator are taken at equal values of it.

    Examples
    --------
    >>> from anisotropy.galaxy.solver import GalaxyModel, solve
    >>> from anisotropy.galaxy.observables import ratio
    >>> solution = solve(GalaxyModel(energies_per_decade=4))
    >>> bool(ratio(solution, "10Be/9Be", [1.0], phi=0.5)[0] > 0)
    True
    >>> bool(ratio(solution, "Be/B", [10.0], phi=0.5, axis="rigidity")[0] > 0)
    True
    """
    numerator, denominator = RATIOS.get(name) or tuple(name.split("/", 1)) if "/" in name else (None, None)
    if numerator is None:
        raise ParameterError("ratio", f"expected 'X/Y' or one of {', '.join(RATIOS)}, got {name!r}")
    return (modulated_flux(solution, numerator, energies, phi, axis=axis)
            / modulated_flux(solution, denominator, energies, phi, axis=axis))
