r"""Which combination of the turbulence parameters a measured spectrum constrains, and its profile interval.

The shape :math:`C_\ell/C_1` of the theory depends on :math:`r_g/L_c` and η almost only through one combination:
measured at 10 TeV with the default theory (``docs/physics/fit-degeneracy.md``; checked at one point by
``tests/anisotropy/test_degeneracy.py``), the two singular values of :math:`\partial\ln(C_\ell/C_1)/\partial(\ln\rho,
\operatorname{logit}\eta)`, ℓ = 2..30, differ by a factor 100-1000 for r_g/L_c ≤ 0.03 (η = 0.2-0.8), and the stiff
direction lies within 8-22° of :math:`\nabla\ln\Omega\tau_s` (|cos| = 0.93-0.99); at r_g/L_c = 0.3 and η ≥ 0.5
it turns away (|cos| = 0.68, 0.22).  So a fit of (r_g/L_c, η) has a long valley and ends on the grid edges,
while one number is measured.  This module reports it:

* :func:`curvature` -- the Fisher matrix of the shape parameters (Σ fixed, :math:`C_1` profiled when free) in
  their internal coordinates at the best fit: eigenvalues, the stiff direction and its 1σ width
  :math:`1/\sqrt\lambda`, and its alignment with the gradient of a derived quantity (Ωτ_s);
* :func:`derived_profile` -- the profile likelihood of a derived quantity :math:`q(\boldsymbol\theta)` (Ωτ_s):
  :math:`\Delta\chi^2(q) = \min_{\boldsymbol\theta: q(\boldsymbol\theta)=q}\chi^2 - \chi^2_\mathrm{min}`, from a dense
  scan of the (interpolated) model over the parameter box binned in :math:`\log q`, and its Δχ² ≤ 1 interval.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ParameterError, require_integer
from .constants import DELTA_CHI2_68

__all__ = ["SCAN_POINTS", "constrained_combination", "curvature", "derived_profile"]

#: points per parameter of the scan behind derived_profile (31² χ² evaluations of an interpolated model and as many
#: Ωτ_s: ~5 s for the slab TurbulenceModel)
SCAN_POINTS = 31
#: bins in log q of the profile (a bin holds ~SCAN_POINTS²/PROFILE_BINS scan points)
PROFILE_BINS = 40
#: finite-difference step of the Fisher Jacobian in internal coordinates (log10 units for log parameters: 2.3 %)
CURVATURE_STEP = 0.01


def _chi2_function(likelihood, covariance):
    """χ² of the shape parameters' internal coordinates, C_1 re-minimised when the normalisation is free."""
    shape_parameters = likelihood.model.parameters

    def chi2(internal) -> float:
        values = {p.name: float(p.from_internal(u)) for p, u in zip(shape_parameters, internal)}
        if likelihood.normalisation == "free":
            values["c1"] = likelihood.best_c1(values, covariance)
        return likelihood.chi2(values, covariance)

    return chi2


def curvature(likelihood, best: dict, *, gradient_of=None, step: float = CURVATURE_STEP) -> dict:
    r"""Fisher analysis of the shape parameters at ``best``: which combination the data constrain, and how well.

    :math:`F = J^\top J` with :math:`J_k = \partial(W\bar C(\boldsymbol\theta))/\partial u_k`, :math:`W` the
    likelihood's whitening at ``best`` (Σ fixed) and :math:`u` the internal coordinates of the shape parameters
    (central differences of step ``step``; a point within one step of a bound is moved inside first); with a free
    normalisation :math:`\ln C_1` is a further column, profiled out by the Schur complement.  Near the best fit
    :math:`\Delta\chi^2 \approx \delta u^\top F\,\delta u`, so the 1σ width along an eigenvector is
    :math:`1/\sqrt\lambda`; the Fisher form stays positive semi-definite off the minimum and at a bound.

    Returns ``{"parameters", "internal", "eigenvalues" (ascending), "directions" (columns), "sigma",
    "stiff_direction", "condition"}`` and, with ``gradient_of`` (a function of the shape parameter values),
    ``"alignment"``: :math:`|\cos|` between the stiff direction and the gradient of :math:`\log_{10}` of it.
    """
    shape_parameters = likelihood.model.parameters
    if len(shape_parameters) < 2:
        raise ParameterError("model", "a degeneracy needs at least two shape parameters")
    whitening = likelihood.whitening(likelihood.covariance(best))
    centre = np.array([float(p.to_internal(best[p.name])) for p in shape_parameters])
    lows, highs = np.array([p.internal_bounds for p in shape_parameters]).T
    centre = np.clip(centre, lows + step, highs - step)
    extra = {"c1": best["c1"]} if "c1" in best else {}

    def whitened_mean(internal, c1_scale=1.0):
        values = {p.name: float(p.from_internal(u)) for p, u in zip(shape_parameters, internal)}
        if extra:
            values["c1"] = extra["c1"] * c1_scale
        return whitening @ likelihood.mean(values)

    columns = []
    for k in range(centre.size):
        forward, backward = centre.copy(), centre.copy()
        forward[k] += step
        backward[k] -= step
        columns.append((whitened_mean(forward) - whitened_mean(backward)) / (2.0 * step))
    if likelihood.normalisation == "free":
        columns.append((whitened_mean(centre, math.exp(step)) - whitened_mean(centre, math.exp(-step)))
                       / (2.0 * step))
    jacobian = np.stack(columns, axis=1)
    fisher = jacobian.T @ jacobian
    size = centre.size
    if fisher.shape[0] > size:  # profile ln C_1 out
        fisher = fisher[:size, :size] - np.outer(fisher[:size, size], fisher[size, :size]) / fisher[size, size]
    eigenvalues, directions = np.linalg.eigh(0.5 * (fisher + fisher.T))
    sigma = 1.0 / np.sqrt(np.where(eigenvalues > 0, eigenvalues, np.nan))
    result = {"parameters": [p.name for p in shape_parameters],
              "internal": ["log10" if p.log else "linear" for p in shape_parameters],
              "eigenvalues": eigenvalues.tolist(), "directions": directions.tolist(), "sigma": sigma.tolist(),
              "stiff_direction": directions[:, -1].tolist(),
              "condition": float(eigenvalues[-1] / eigenvalues[0]) if eigenvalues[0] > 0 else math.inf}
    if gradient_of is not None:
        gradient = np.empty(size)
        for i in range(size):
            values = []
            for sign in (1, -1):
                point = centre.copy()
                point[i] += sign * step
                trial = {p.name: float(p.from_internal(u)) for p, u in zip(shape_parameters, point)}
                values.append(math.log10(gradient_of(**trial)))
            gradient[i] = (values[0] - values[1]) / (2.0 * step)
        result["alignment"] = float(abs(directions[:, -1] @ gradient) / np.linalg.norm(gradient))
    return result


def derived_profile(likelihood, best: dict, function, *, points: int = SCAN_POINTS, bins: int = PROFILE_BINS,
                    level: float = DELTA_CHI2_68) -> dict:
    r"""Profile likelihood of :math:`q = ` ``function(**shape values)`` over the parameter box (module docstring).

    The box is scanned on ``points`` per parameter (uniform in the internal coordinates) with Σ fixed at ``best``
    and :math:`C_1` re-minimised; the scan points are binned in :math:`\log_{10}q` and the minimum χ² per bin is the
    profile.  The interval is where the profile crosses Δχ² = ``level`` (linear interpolation between bins, from
    the best-fit bin outwards); an end that does not cross is open (the profile stays below ``level`` to the edge
    of the region the box can reach).  Resolution: one bin, reported as ``bin_width_log10``.

    Returns ``{"best", "low", "high", "open_low", "open_high", "log10_q", "delta_chi2", "bin_width_log10"}``.
    """
    points = require_integer("points", points, 3)
    bins = require_integer("bins", bins, 3)
    shape_parameters = likelihood.model.parameters
    covariance = likelihood.covariance(best)
    chi2 = _chi2_function(likelihood, covariance)
    axes = [np.linspace(*p.internal_bounds, points) for p in shape_parameters]
    grid = np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(axes), -1).T
    scores = np.empty(len(grid))
    logq = np.empty(len(grid))
    for row, internal in enumerate(grid):
        values = {p.name: float(p.from_internal(u)) for p, u in zip(shape_parameters, internal)}
        scores[row] = chi2(internal)
        logq[row] = math.log10(function(**values))
    best_internal = np.array([float(p.to_internal(best[p.name])) for p in shape_parameters])
    best_score = chi2(best_internal)
    best_q = math.log10(function(**{p.name: best[p.name] for p in shape_parameters}))
    edges = np.linspace(logq.min(), logq.max(), bins + 1)
    which = np.clip(np.digitize(logq, edges) - 1, 0, bins - 1)
    profile = np.full(bins, np.inf)
    np.minimum.at(profile, which, scores)
    centres = 0.5 * (edges[1:] + edges[:-1])
    delta = profile - min(best_score, float(profile.min()))
    filled = np.isfinite(delta)
    centres, delta = centres[filled], delta[filled]
    start = int(np.argmin(np.abs(centres - best_q)))

    def crossing(direction):
        index = start
        while 0 <= index + direction < centres.size:
            following = index + direction
            if delta[following] > level:
                fraction = (level - delta[index]) / (delta[following] - delta[index])
                return float(centres[index] + fraction * (centres[following] - centres[index])), False
            index = following
        return float(centres[index]), True

    low, open_low = crossing(-1)
    high, open_high = crossing(+1)
    # the best fit may sit beyond the outermost bin centre (a corner of the box): the interval includes it
    low, high = min(low, best_q), max(high, best_q)
    return {"best": 10.0**best_q, "low": 10.0**low, "high": 10.0**high, "open_low": open_low,
            "open_high": open_high, "log10_q": centres.tolist(), "delta_chi2": delta.tolist(),
            "bin_width_log10": float(edges[1] - edges[0])}


def constrained_combination(likelihood, best: dict, *, points: int = SCAN_POINTS) -> dict:
    """For a :class:`~anisotropy.fit.TurbulenceModel` (possibly interpolated) with two or more free parameters:
    the profile interval of Ωτ_s and the curvature analysis at the best fit (module docstring); ``{}`` otherwise."""
    model = likelihood.model
    exact = getattr(model, "exact", model)
    scattering_time = getattr(exact, "scattering_time", None)
    if scattering_time is None or len(model.parameters) < 2:
        return {}
    return {"quantity": "omega_tau_s",
            "profile": derived_profile(likelihood, best, scattering_time, points=points),
            "curvature": curvature(likelihood, best, gradient_of=scattering_time)}
