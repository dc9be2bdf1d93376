"""The numba test-particle simulator: plane-wave turbulence, the Boris pusher, backtracking and diffusion runs.

Modules: :mod:`.config` (run descriptions), :mod:`.turbulence` (a turbulence realisation),
:mod:`.pusher`, :mod:`.simd` and :mod:`.fastmath` (the numba kernels), :mod:`.backtrack` (HEALPix maps and C_l(T)),
:mod:`.diffusion` (running diffusion coefficients), :mod:`.ensemble` (executors and checkpoints) and :mod:`.store`
(the HDF5 checkpoint store).  The comparisons with the theory live one level up, in :mod:`validation`.
"""
