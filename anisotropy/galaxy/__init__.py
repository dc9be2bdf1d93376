"""Cosmic-ray transport in the Galaxy with suppressed diffusion in the disk (two-zone model) and the ¹⁰Be clock.

Self-contained: imports nothing from the anisotropy solver.  Units: lengths in kpc, times in Myr, diffusion
coefficients in kpc²/Myr, kinetic energy per nucleon in GeV/n, rigidity in GV, gas density in cm⁻³, cross sections
in mb.  Physics and citations: ``docs/physics/suppressed_diffusion.md`` (model of Jacobs, Mertsch & Phan,
arXiv:2305.10337).
"""

from .two_zone import thin_disk_density, two_zone_density, two_zone_flux

__all__ = ["thin_disk_density", "two_zone_density", "two_zone_flux"]
