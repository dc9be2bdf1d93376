r"""Fit measured pseudo-angular power spectra for turbulence parameters.

The data are pseudo-:math:`\tilde C_\ell` of a ground array; the model is an all-sky theory :math:`\langle C_\ell
\rangle` passed through the experiment's estimator (:class:`anisotropy.observatory.ForwardModel`: ring filter,
mask, low-ℓ subtraction, shot noise).  docs/physics/conventions.md#angular-power-spectrum (last item) and
docs/physics/mixing_ode.md#caveats: never compare the raw
all-sky spectrum with the data.

**Model.**  :math:`C_\ell = C_1\,s_\ell(\boldsymbol\theta)` with the shape :math:`s_\ell = C_\ell/C_1` of a pluggable
:class:`Model` (the literature quotes spectra relative to the dipole) and the all-sky dipole power :math:`C_1`
either free (``normalisation="free"``) or anchored to the measured dipole (``"dipole"``: default
:math:`C_1 = 2.13\times10^{-6}`, anchor ``C1_fullsky_with_deltaN``, derived from the HAWC+IceCube 10 TeV dipole
components).  Models: :class:`PowerLawModel` (phenomenological), :class:`ToyModel` (the white-noise rotation toy
of docs/physics/toy_model.md#toy-model, free :math:`\kappa_c`: cheap, for tests), :class:`TurbulenceModel`
(:func:`anisotropy.predict_cl`
with free :math:`r_g/L_c`, η and optionally the pair-time prefactor; Ωτ_s reported as a derived quantity),
:class:`CallableModel` (any callable), and :class:`InterpolatedModel`, which tabulates a slow model on a grid
(:math:`\log s_\ell`, cubic interpolation in the internal coordinates) so that fits need no ~1 s evaluations.

**Likelihood.**  Gaussian in the pseudo-:math:`\tilde C_\ell`,
:math:`-2\ln L = \mathbf r^T\Sigma^{-1}\mathbf r + \ln\det\Sigma`, :math:`\mathbf r = \tilde C^\mathrm{data} -
\langle\tilde C\rangle(\boldsymbol\theta)`, with :math:`\Sigma` the forward model's covariance (cosmic variance of
the one observed sky, docs/physics/mixing_ode.md#caveats, plus shot noise, through the filters), optionally plus the
data's own
errors (systematics).  ``covariance="fixed"`` (default) evaluates Σ at the current best fit and iterates until the
fit is stable (the usual practice: χ² keeps its meaning, no bias from the ln det term); ``"model"`` lets Σ vary
with the parameters.  Intervals are profile-likelihood intervals :math:`\Delta(-2\ln L) \le 1` (68.3 %, Wilks):
of χ² with the final Σ in ``"fixed"`` mode, of χ² + ln det Σ(θ) in ``"model"`` mode; if a profile finds a lower
value than the optimiser, the fit restarts from there.  Optional MCMC with ``emcee`` (flat priors in the internal
coordinates within the bounds, Σ at the best fit).

**Modes projected out.**  The χ² is evaluated in the eigenbasis of the correlation matrix
:math:`R = D^{-1/2}\Sigma D^{-1/2}` (:math:`D = \mathrm{diag}\,\Sigma`), keeping the modes with eigenvalue above
:data:`MODE_EIGENVALUE_THRESHOLD` times the largest (:meth:`Likelihood.whitening`); the fit reports the number kept
(``FitResult.n_modes``) and the effective ``dof = n_modes - n_parameters``.  This removes a real degeneracy, not
just round-off: the pseudo-:math:`\tilde C_\ell` of a sky patch whose largest pair separation is
:math:`\gamma_\mathrm{max} < 180°` are quadratic forms of the patch's pixels, and a combination
:math:`\sum_\ell v_\ell\tilde C_\ell` weights pixel pairs by the Legendre kernel
:math:`\sum_\ell v_\ell(2\ell+1)P_\ell(\cos\gamma)`.  A degree-ℓ_max polynomial can be made exponentially
small on :math:`\cos\gamma\in[\cos\gamma_\mathrm{max}, 1]`, so about :math:`n_\ell(1-\gamma_\mathrm{max}/\pi)`
combinations (the Chebyshev share of the unreachable interval) have an expectation *and* a variance that are
exponentially small for every isotropic sky and noise.  The IceCube cap dec ≤ −25° has
:math:`\gamma_\mathrm{max} = 130°`: ≈ 10.6 of the 38 multipoles ℓ = 3..40; the harmonic covariance has 10
eigenvalues below 1e-5 of the largest (6 at round-off, then 4.6e-13 ... 1.7e-6) and a condition number ≈ 1e17.
The exact harmonic model predicts signal in those modes comparable to their tiny width, but the real estimator
does not realise it: on HEALPix skies (pixelised mask edge, anafast quadrature) their variance exceeds the
harmonic one by factors 5 to 1e290 (measured: 200 skies, nside 16 and 32), and digitised published spectra carry
errors far above it.  Fitting them gave χ² ~ 1e9 (or negative from round-off) and C_1 at its bound.  Presets whose
mask contains antipodal pairs (hawc, hawc+icecube) keep every mode.

Examples
--------
>>> from anisotropy import fit
>>> fit.DELTA_CHI2_68   # Delta chi^2 of a 68 % interval for one parameter
1.0
"""

from __future__ import annotations

from .constants import C1_ANCHOR, C1_BOUNDS, DELTA_CHI2_68, MODE_EIGENVALUE_THRESHOLD, PROFILE_POINTS
from .degeneracy import constrained_combination, curvature, derived_profile
from .likelihood import Likelihood, likelihood_from_spectrum
from .mcmc import sample_posterior
from .models import (
    CallableModel,
    InterpolatedModel,
    Model,
    Parameter,
    PowerLawModel,
    ToyModel,
    TurbulenceModel,
    anchored_c1,
)
from .plots import plot_fit, plot_profiles
from .profile import FitResult, fit

__all__ = [
    "C1_ANCHOR",
    "C1_BOUNDS",
    "DELTA_CHI2_68",
    "MODE_EIGENVALUE_THRESHOLD",
    "PROFILE_POINTS",
    "CallableModel",
    "FitResult",
    "InterpolatedModel",
    "Likelihood",
    "Model",
    "Parameter",
    "PowerLawModel",
    "ToyModel",
    "TurbulenceModel",
    "anchored_c1",
    "constrained_combination",
    "curvature",
    "derived_profile",
    "fit",
    "likelihood_from_spectrum",
    "plot_fit",
    "plot_profiles",
    "sample_posterior",
]
