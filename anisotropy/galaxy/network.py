"""The nuclear network: primaries C, N, O and the secondaries Li, Be, B, with ¹⁰Be → ¹⁰B decay.

Species are solved in order (parents before children, ¹⁰Be before ¹⁰B), which is possible because every reaction
here goes from heavier to lighter nuclei (fragmentation conserves the kinetic energy per nucleon, the straight-ahead
approximation) or from ¹⁰Be to ¹⁰B (β⁻ decay, same A).  Tertiary reactions (secondary → lighter secondary) are not
in the shipped cross-section table and are left out.  ⁷Be is treated as stable: it decays only by electron capture,
which a fully stripped cosmic-ray nucleus cannot do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from anisotropy.errors import ParameterError, require_range

from .cross_sections import CrossSections, isotope, isotope_name, load_fragmentation_fits
from .transport import BE10_HALF_LIFE_MYR

__all__ = ["DEFAULT_PRIMARIES", "DEFAULT_SECONDARIES", "RADIOACTIVE", "Network", "Species", "build_network"]

#: assumed relative source abundances at equal rigidity (illustrative round numbers, not fitted)
DEFAULT_PRIMARIES = {"12C": 1.0, "14N": 0.25, "16O": 1.0}
DEFAULT_SECONDARIES = ("11B", "10B", "10Be", "9Be", "7Be", "7Li", "6Li")
#: radioactive species: name -> (half-life in Myr, daughter)
RADIOACTIVE = {"10Be": (BE10_HALF_LIFE_MYR, "10B")}


@dataclass(frozen=True)
class Species:
    """One isotope of the network."""

    name: str
    charge: int
    mass_number: int
    source_abundance: float = 0.0
    half_life_myr: float | None = None
    daughter: str | None = None


@dataclass
class Network:
    """Ordered species plus the cross sections that link them."""

    species: list
    cross_sections: CrossSections
    index: dict = field(init=False)

    def __post_init__(self):
        self.index = {item.name: position for position, item in enumerate(self.species)}

    @property
    def names(self):
        return [item.name for item in self.species]

    def parents(self, name):
        """Species of the network that produce ``name`` by fragmentation."""
        child = isotope(name)
        return [item for item in self.species[: self.index[name]]
                if (item.charge, item.mass_number) in self.cross_sections.parents_of(child)]

    def decay_parents(self, name):
        return [item for item in self.species if item.daughter == name]

    def to_dict(self):
        return {"species": [item.__dict__ for item in self.species]}


def build_network(primaries=None, secondaries=DEFAULT_SECONDARIES, cross_sections: CrossSections | None = None,
                  radioactive=None) -> Network:
    """Network of ``primaries`` (name -> source abundance) and ``secondaries`` (names), parents first.

    Examples
    --------
    >>> from anisotropy.galaxy.network import build_network
    >>> build_network().names
    ['16O', '14N', '12C', '11B', '10Be', '10B', '9Be', '7Li', '7Be', '6Li']
    """
    primaries = dict(DEFAULT_PRIMARIES if primaries is None else primaries)
    radioactive = dict(RADIOACTIVE if radioactive is None else radioactive)
    cross_sections = load_fragmentation_fits() if cross_sections is None else cross_sections
    if not primaries:
        raise ParameterError("primaries", "need at least one primary species")
    items = {}
    for name, abundance in primaries.items():
        charge, mass = isotope(name)
        items[isotope_name(charge, mass)] = (charge, mass, require_range(f"abundance[{name}]", abundance, 0.0, None))
    for name in secondaries:
        charge, mass = isotope(name)
        canonical = isotope_name(charge, mass)
        if canonical in items:
            raise ParameterError("isotopes", f"{canonical} is listed both as primary and as secondary")
        items[canonical] = (charge, mass, 0.0)
    species = []
    for name, (charge, mass, abundance) in items.items():
        half_life, daughter = radioactive.get(name, (None, None))
        if daughter is not None:
            daughter = isotope_name(*isotope(daughter))
        species.append(Species(name, charge, mass, abundance, half_life, daughter if daughter in items else None))
    # heavier first; within one A, a radioactive parent before its daughter
    species.sort(key=lambda item: (-item.mass_number, item.half_life_myr is None, item.charge))
    return Network(species, cross_sections)
