"""The bundled numba test-particle simulator and the theory-vs-simulation comparisons.

Physics: ``PHYSICS.md`` sects. 3, 6 and 8.  Conventions (units, L_c, running diffusion coefficients) follow
:mod:`anisotropy.units` and ``DESIGN.md``.
"""
