"""Numerical settings of the fits, each with the reason for its value (overview: :mod:`anisotropy.fit`)."""

from __future__ import annotations

#: Δχ² of a 68.27 % (1σ) profile-likelihood interval for one parameter (Wilks)
DELTA_CHI2_68 = 1.0
#: the all-sky dipole power used for the dipole-anchored normalisation, by anchor row
C1_ANCHOR = "C1_fullsky_with_deltaN"
#: bounds of the free all-sky C_1 (the measured 10 TeV dipole gives ~2e-6; three decades either side)
C1_BOUNDS = (1e-9, 1e-3)
#: fixed-covariance iterations stop when no parameter moves by more than this in its internal coordinate (log10
#: units for log-scale parameters: 1e-3 is 0.23 %), far below any statistical error of a C_ℓ fit
COVARIANCE_ITERATION_TOLERANCE = 1e-3
MAX_COVARIANCE_ITERATIONS = 6
#: grid points per parameter of the coarse scan that picks the optimiser's starting point (guards against local
#: minima of the shape parameters)
START_SCAN_POINTS = 9
PROFILE_POINTS = 21
#: the profile is recomputed on a finer grid across the region where Δχ² is below this (beyond 3σ)
PROFILE_ZOOM_LEVEL = 16.0
#: at most this many successive zooms
PROFILE_ZOOMS = 3
#: a profile point whose χ² is lower than the best fit's by more than this restarts the fit from it
PROFILE_IMPROVEMENT = 1e-2
MAX_RESTARTS = 2
#: modes of the correlation matrix with eigenvalue below this fraction of the largest are projected out (module
#: docstring).  Measured on pixelised Monte Carlo skies of icecube-12yr (toy spectrum κ_c = 5): the ratio of the
#: Monte Carlo to the harmonic variance of a mode is 0.8-1.2 for relative eigenvalues >= 7.6e-5 but 1.6 at 6.5e-7
#: and 4.9 at 3.6e-9 (nside 32, 200 skies); at nside 64 (100 skies) it stays ~1 down to 5e-11 and is 53 at 1e-13.
#: 1e-5 is safe at nside >= 32, far above round-off (~1e-16), and keeps 28 of the 38 modes ℓ = 3..40
MODE_EIGENVALUE_THRESHOLD = 1e-5
