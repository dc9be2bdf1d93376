"""The best fit and profile-likelihood intervals (overview: :mod:`anisotropy.fit`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import optimize, stats

from ..errors import ParameterError, require_range
from ..io import write_json
from .constants import (
    COVARIANCE_ITERATION_TOLERANCE,
    DELTA_CHI2_68,
    MAX_COVARIANCE_ITERATIONS,
    MAX_RESTARTS,
    PROFILE_IMPROVEMENT,
    PROFILE_POINTS,
    PROFILE_ZOOM_LEVEL,
    PROFILE_ZOOMS,
    START_SCAN_POINTS,
)
from .likelihood import Likelihood


@dataclass
class FitResult:
    """Best fit, profile-likelihood intervals and goodness of fit (all numbers in physical units)."""

    best: dict
    intervals: dict
    chi2: float
    dof: int
    p_value: float
    ell: np.ndarray
    data: np.ndarray
    model_mean: np.ndarray
    model_sigma: np.ndarray
    noise: np.ndarray
    theory_cl: np.ndarray
    profiles: dict
    experiment: str
    model: dict
    normalisation: str
    c1_anchor: float | None
    covariance_mode: str
    c1_source: str | None = None
    derived: dict = field(default_factory=dict)
    derived_ranges: dict = field(default_factory=dict)
    samples: np.ndarray | None = None
    iterations: int = 1
    #: eigenmodes of the covariance kept in the χ² (module docstring); dof = n_modes - number of fitted parameters
    n_modes: int | None = None
    #: the combination the data constrain (anisotropy.fit.degeneracy.constrained_combination), if computed
    constrained: dict = field(default_factory=dict)

    @property
    def reduced_chi2(self) -> float:
        return self.chi2 / self.dof if self.dof > 0 else float("nan")

    def to_dict(self) -> dict:
        return {
            "experiment": self.experiment,
            "model": self.model,
            "normalisation": self.normalisation,
            "c1_anchor": self.c1_anchor,
            "c1_anchor_source": self.c1_source,
            "covariance": self.covariance_mode,
            "best": self.best,
            "intervals_68": {name: list(bounds) for name, bounds in self.intervals.items()},
            "chi2": self.chi2,
            "dof": self.dof,
            "reduced_chi2": self.reduced_chi2,
            "p_value": self.p_value,
            "derived": self.derived,
            "derived_ranges_over_interval_ends": {name: list(r) for name, r in self.derived_ranges.items()},
            "iterations": self.iterations,
            "n_multipoles": int(self.ell.size),
            "n_modes": self.n_modes,
            "constrained": self.constrained,
            "ell": self.ell.tolist(),
            "data": self.data.tolist(),
            "model_mean": self.model_mean.tolist(),
            "model_sigma": self.model_sigma.tolist(),
        }

    def to_json(self, path) -> Path:
        return write_json(path, self.to_dict(), nonfinite_as_null=True)

    def summary(self) -> str:
        lines = [f"experiment {self.experiment}; model {self.model.get('name')}; normalisation {self.normalisation}"
                 + (f" (C_1 = {self.c1_anchor:.3g}, {self.c1_source})" if self.c1_anchor is not None else "")]
        for name, value in self.best.items():
            low, high, open_low, open_high = self.intervals.get(name, (np.nan, np.nan, False, False))
            low_text = f"<{low:.4g}" if open_low else f"{low:.4g}"
            high_text = f">{high:.4g}" if open_high else f"{high:.4g}"
            lines.append(f"  {name:>20s} = {value:.4g}   68% profile interval [{low_text}, {high_text}]")
        for name, value in self.derived.items():
            if value is not None:
                text = f"  {name:>20s} = {value:.4g}   (derived at the best fit"
                if name in self.derived_ranges:
                    low, high = self.derived_ranges[name]
                    text += f"; {low:.4g}..{high:.4g} over the interval ends"
                lines.append(text + ")")
        if self.constrained:
            profile = self.constrained["profile"]
            low = f"<{profile['low']:.4g}" if profile["open_low"] else f"{profile['low']:.4g}"
            high = f">{profile['high']:.4g}" if profile["open_high"] else f"{profile['high']:.4g}"
            lines.append(f"  {self.constrained['quantity']:>20s} = {profile['best']:.4g}   68% profile interval "
                         f"[{low}, {high}]  (the combination the data constrain; profiled over the box)")
            curvature = self.constrained.get("curvature", {})
            if "alignment" in curvature:
                lines.append(f"  {'':>20s}   best-constrained direction of {', '.join(curvature['parameters'])}: "
                             f"|cos| = {curvature['alignment']:.3f} with grad log Omega tau_s; curvature condition "
                             f"{curvature['condition']:.3g}")
        modes = "" if self.n_modes is None else f"; {self.n_modes} of {self.ell.size} covariance modes kept"
        lines.append(f"  chi2/dof = {self.chi2:.2f}/{self.dof} = {self.reduced_chi2:.2f}  (p = {self.p_value:.3g}"
                     f"{modes})")
        return "\n".join(lines)


def _minimise(objective, start, bounds):
    """Nelder-Mead within bounds, then a polish from the best point (cheap insurance against early stops)."""
    options = {"xatol": 1e-6, "fatol": 1e-8, "maxiter": 4000, "maxfev": 8000}
    result = optimize.minimize(objective, start, method="Nelder-Mead", bounds=bounds, options=options)
    again = optimize.minimize(objective, result.x, method="Nelder-Mead", bounds=bounds, options=options)
    return again if again.fun <= result.fun else result


def _start_point(likelihood: Likelihood, covariance) -> np.ndarray:
    """Best point of a coarse grid over the shape parameters (C_1 profiled analytically)."""
    shape_parameters = likelihood.model.parameters
    if not shape_parameters:
        start = {}
    else:
        axes = [np.linspace(*p.internal_bounds, START_SCAN_POINTS) for p in shape_parameters]
        best, start = np.inf, None
        for point in np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(axes), -1).T:
            values = {p.name: float(p.from_internal(u)) for p, u in zip(shape_parameters, point)}
            if likelihood.normalisation == "free":
                values["c1"] = likelihood.best_c1(values, covariance)
            chi2 = likelihood.chi2(values, covariance)
            if chi2 < best:
                best, start = chi2, values
    if likelihood.normalisation == "free" and "c1" not in start:
        start["c1"] = likelihood.best_c1(start, covariance)
    return likelihood.internal(start)


def _profile(likelihood: Likelihood, index: int, best_internal, score, best_value, points: int):
    """Δχ² profile of parameter ``index`` (others re-minimised): ``points`` values across the bounds, then as many
    again across the region with Δχ² < :data:`PROFILE_ZOOM_LEVEL` while that region spans few grid cells."""
    parameter = likelihood.parameters[index]
    coarse = np.linspace(*parameter.internal_bounds, points)
    grid, delta, vectors = _profile_on(likelihood, index, best_internal, score, best_value, coarse)
    for _ in range(PROFILE_ZOOMS):
        inside = np.flatnonzero(delta < PROFILE_ZOOM_LEVEL)
        if inside.size == 0:  # narrower than one cell: zoom on the cells around the best fit
            right = int(np.clip(np.searchsorted(grid, best_internal[index]), 1, grid.size - 1))
            inside = np.array([right - 1, right])
        first, last = max(inside.min() - 1, 0), min(inside.max() + 1, grid.size - 1)
        if last - first >= points // 2:
            break
        fine = np.linspace(grid[first], grid[last], points)
        fine_grid, fine_delta, fine_vectors = _profile_on(likelihood, index, best_internal, score, best_value, fine)
        grid, unique = np.unique(np.concatenate((grid, fine_grid)), return_index=True)
        delta = np.concatenate((delta, fine_delta))[unique]
        vectors = np.concatenate((vectors, fine_vectors))[unique]
    return grid, delta, vectors


def _profile_on(likelihood: Likelihood, index: int, best_internal, score, best_value, grid):
    points = grid.size
    others = [i for i in range(len(likelihood.parameters)) if i != index]
    other_bounds = [likelihood.parameters[i].internal_bounds for i in others]
    profile = np.empty(points)
    vectors = np.empty((points, len(likelihood.parameters)))
    # walk outwards from the best fit so each minimisation starts next to its solution
    order = np.argsort(np.abs(grid - best_internal[index]))
    starts = {}
    for position in order:
        neighbour = min(starts, key=lambda p: abs(p - position)) if starts else None
        start = starts[neighbour] if neighbour is not None else best_internal[others]

        def objective(free, fixed=grid[position]):
            full = np.empty(len(likelihood.parameters))
            full[index] = fixed
            full[others] = free
            return score(likelihood.values(full))

        if others:
            result = _minimise(objective, start, other_bounds)
            profile[position], starts[position] = result.fun, result.x
        else:
            profile[position], starts[position] = objective(np.empty(0)), np.empty(0)
        vectors[position, index] = grid[position]
        vectors[position, others] = starts[position]
    return grid, profile - best_value, vectors


def _interval(grid, delta, best_internal, level, refine):
    """Crossings of Δχ² = level on each side of the best fit: bracketed on the grid, located by ``refine``."""
    below = grid <= best_internal
    above = grid >= best_internal
    low_open = high_open = False
    left = np.flatnonzero(below & (delta > level))
    if left.size == 0:
        low, low_open = grid[0], True
    else:
        i = left[-1]
        j = i + 1
        low = refine(grid[i], grid[j] if j < grid.size and grid[j] <= best_internal else best_internal)
    right = np.flatnonzero(above & (delta > level))
    if right.size == 0:
        high, high_open = grid[-1], True
    else:
        j = right[0]
        i = j - 1
        high = refine(grid[i] if i >= 0 and grid[i] >= best_internal else best_internal, grid[j])
    return low, high, low_open, high_open


def _best_fit(likelihood: Likelihood, start, bounds):
    """Minimise from ``start``: -2 ln L with Σ(θ), or χ² with Σ held at the current best fit and iterated."""
    if likelihood.covariance_mode == "model":
        result = _minimise(lambda u: likelihood.neg2_log_like(likelihood.values(u)), start, bounds)
        return result.x, likelihood.covariance(likelihood.values(result.x)), 1
    best_internal, iterations = np.asarray(start, dtype=float), 0
    for iterations in range(1, MAX_COVARIANCE_ITERATIONS + 1):
        covariance = likelihood.covariance(likelihood.values(best_internal))
        result = _minimise(lambda u, cov=covariance: likelihood.chi2(likelihood.values(u), cov), best_internal,
                           bounds)
        step = np.abs(result.x - best_internal)
        best_internal = result.x
        if iterations > 1 and np.all(step <= COVARIANCE_ITERATION_TOLERANCE):
            break
    return best_internal, likelihood.covariance(likelihood.values(best_internal)), iterations


def _intervals(likelihood: Likelihood, best_internal, score, best_score, profiles: bool, points: int, level: float,
               allow_restart: bool):
    """Profile intervals of every parameter for the objective ``score`` (χ² or -2 ln L); with ``allow_restart``,
    return early with the point of a profile that beats the best fit."""
    intervals, table = {}, {}
    for index, parameter in enumerate(likelihood.parameters):
        if not profiles:
            intervals[parameter.name] = (np.nan, np.nan, False, False)
            continue
        grid, delta, vectors = _profile(likelihood, index, best_internal, score, best_score, points)
        if allow_restart and np.min(delta) < -PROFILE_IMPROVEMENT:
            return intervals, table, vectors[int(np.argmin(delta))]
        others = [i for i in range(len(likelihood.parameters)) if i != index]
        other_bounds = [likelihood.parameters[i].internal_bounds for i in others]

        def crossing(u, index=index, others=others, other_bounds=other_bounds):
            full = best_internal.copy()
            full[index] = u
            if not others:
                return score(likelihood.values(full)) - best_score - level

            def objective(free):
                trial = full.copy()
                trial[others] = free
                return score(likelihood.values(trial))

            return _minimise(objective, best_internal[others], other_bounds).fun - best_score - level

        def refine(a, b, crossing=crossing):
            try:
                return optimize.brentq(crossing, a, b, xtol=1e-5)
            except ValueError:  # no sign change (a non-monotonic profile): the middle of the bracket
                return 0.5 * (a + b)

        low, high, low_open, high_open = _interval(grid, delta, best_internal[index], level, refine)
        intervals[parameter.name] = (float(parameter.from_internal(low)), float(parameter.from_internal(high)),
                                     bool(low_open), bool(high_open))
        table[parameter.name] = (parameter.from_internal(grid), delta)
    return intervals, table, None


def fit(likelihood: Likelihood, *, profile_points: int = PROFILE_POINTS, level: float = DELTA_CHI2_68,
        profiles: bool = True, derived: bool = True) -> FitResult:
    """Best fit, profile-likelihood intervals (Δχ² ≤ ``level``) and χ²/dof of ``likelihood``; dof is the number of
    kept covariance modes (:meth:`Likelihood.whitening`) minus the number of fitted parameters."""
    level = require_range("level", level, 0.0, None, low_open=True)
    bounds = [p.internal_bounds for p in likelihood.parameters]
    defaults = {p.name: p.default for p in likelihood.parameters}
    start = _start_point(likelihood, likelihood.covariance(likelihood.values(likelihood.internal(defaults))))
    # second pass with the covariance at the first pass's best point: the amplitude of Σ follows the data
    start = _start_point(likelihood, likelihood.covariance(likelihood.values(start)))
    for _attempt in range(MAX_RESTARTS + 1):
        best_internal, covariance, iterations = _best_fit(likelihood, start, bounds)
        best_values = likelihood.values(best_internal)
        chi2 = likelihood.chi2(best_values, covariance)
        if likelihood.covariance_mode == "model":
            score = likelihood.neg2_log_like
        else:
            def score(values, covariance=covariance):
                return likelihood.chi2(values, covariance)
        intervals, profile_table, better = _intervals(likelihood, best_internal, score, score(best_values), profiles,
                                                      profile_points, level, _attempt < MAX_RESTARTS)
        if better is None:
            break
        start = better  # a profile found a lower χ² than the optimiser: start again from there
    n_modes = likelihood.n_modes(covariance)
    dof = n_modes - len(likelihood.parameters)
    mean = likelihood.mean(best_values)
    derived_values, derived_ranges = {}, {}
    if derived:
        derived_values, derived_ranges = _derived(likelihood, best_values, intervals)
    return FitResult(
        best=best_values,
        intervals=intervals,
        chi2=chi2,
        dof=int(dof),
        p_value=float(stats.chi2.sf(chi2, dof)) if dof > 0 else float("nan"),
        ell=likelihood.ell,
        data=likelihood.data,
        model_mean=mean,
        model_sigma=np.sqrt(np.diag(covariance)),
        noise=likelihood.forward.noise[likelihood.ell],
        theory_cl=likelihood.theory(best_values),
        profiles=profile_table,
        experiment=likelihood.experiment.name,
        model=likelihood.model.describe(),
        normalisation=likelihood.normalisation,
        c1_anchor=likelihood.c1_fixed,
        covariance_mode=likelihood.covariance_mode,
        c1_source=likelihood.c1_source,
        derived=derived_values,
        derived_ranges=derived_ranges,
        iterations=iterations,
        n_modes=n_modes,
    )


def _derived(likelihood: Likelihood, best_values: dict, intervals: dict):
    """Derived quantities at the best fit, and their range over the ends of the shape parameters' closed intervals
    (each end with the other parameters at the best fit: a conditional range, not a profile interval)."""
    model = likelihood.model
    shape_values = {p.name: best_values[p.name] for p in model.parameters}
    try:
        values = dict(model.derived(**shape_values))
    except (ImportError, ParameterError):
        return {}, {}
    if not values:
        return values, {}
    samples = {name: [value] for name, value in values.items() if value is not None}
    for parameter in model.parameters:
        low, high, open_low, open_high = intervals.get(parameter.name, (np.nan, np.nan, True, True))
        for end, is_open in ((low, open_low), (high, open_high)):
            if is_open or not np.isfinite(end):
                continue
            try:
                at_end = model.derived(**{**shape_values, parameter.name: end})
            except ParameterError:
                continue
            for name in samples:
                if at_end.get(name) is not None:
                    samples[name].append(at_end[name])
    ranges = {name: (float(min(found)), float(max(found))) for name, found in samples.items() if len(found) > 1}
    return values, ranges
