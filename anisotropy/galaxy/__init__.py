"""Cosmic-ray transport in the Galaxy with suppressed diffusion in the disk (two-zone model) and the ¹⁰Be clock.

Self-contained: imports nothing from the anisotropy solver.  Units: lengths in kpc, times in Myr, diffusion
coefficients in kpc²/Myr, kinetic energy per nucleon in GeV/n, rigidity in GV, gas density in cm⁻³, cross sections
in mb.  Physics and citations: ``docs/physics/suppressed_diffusion.md`` (model of Jacobs, Mertsch & Phan,
arXiv:2305.10337).

* :func:`two_zone_density` -- closed form for one species at one energy (the building block of the tests);
* :class:`GalaxyModel`, :func:`solve` -- the full (z, T) network solution; :func:`ratio` -- B/C, ¹⁰Be/⁹Be, ... at
  Earth after force-field modulation;
* :mod:`anisotropy.galaxy.fit` -- B/C + ¹⁰Be/⁹Be fit of κ0, δ, α (and H), emcee posterior;
* :mod:`anisotropy.galaxy.datasets` -- the shipped AMS-02 B/C (PRL 117, 231102 (2016)) and Be/B against rigidity
  (PRL 120, 021101 (2018)) and a loader for published ratio tables (provenance and licence:
  ``anisotropy/galaxy/data/README.md``).
"""

from .modulation import force_field
from .network import build_network
from .observables import ratio
from .solver import GalaxyModel, Solution, solve
from .transport import Medium
from .two_zone import thin_disk_density, two_zone_density, two_zone_flux

__all__ = [
    "GalaxyModel",
    "Medium",
    "Solution",
    "build_network",
    "force_field",
    "ratio",
    "solve",
    "thin_disk_density",
    "two_zone_density",
    "two_zone_flux",
]
