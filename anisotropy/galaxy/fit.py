r"""Fit of the two-zone model to secondary-to-primary ratios: B/C (and Be/B) fix :math:`\kappa_0,\delta` at a given
halo height H; ¹⁰Be/⁹Be then constrains :math:`\alpha = \kappa_\mathrm{disk}/\kappa_\mathrm{halo}` (and H).

The likelihood is Gaussian with independent points, :math:`-2\ln L = \sum_i (r_i^\mathrm{model} - r_i)^2/
\sigma_i^2` (``error`` column: total uncertainty; correlated systematics are not modelled), with one force-field
potential :math:`\phi` for all data as a nuisance parameter.  Parameters: ``log10_kappa0`` (κ0 in kpc²/Myr at 1 GV),
``delta``, ``log10_alpha``, ``H`` (kpc), ``phi`` (GV), with flat priors inside :data:`BOUNDS`.  :func:`fit` is the
two-stage maximum likelihood (least squares, covariance from the Jacobian); :func:`sample` the emcee posterior.

Data files (CSV, ``#`` comments allowed): columns ``ratio, energy, value, error`` (energy = kinetic energy per
nucleon in GeV/n; ratio one of :data:`anisotropy.galaxy.observables.RATIOS`), optional ``source``; or one table in
the KISS/CRDB text format (:mod:`anisotropy.galaxy.datasets`, e.g. the shipped AMS-02 B/C against kinetic energy
per nucleon and Be/B against rigidity).  Each :class:`RatioData` carries its ``axis``; the model ratio is taken at
equal kinetic energy per nucleon or at equal rigidity accordingly (:func:`anisotropy.galaxy.observables.ratio`).
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from anisotropy.errors import ParameterError, require_integer, require_range

from .cross_sections import isotope
from .observables import AXES, RATIOS, ratio
from .solver import GalaxyModel, solve
from .transport import kinetic_energy_per_nucleon

__all__ = ["BOUNDS", "PARAMETERS", "FitResult", "Likelihood", "RatioData", "chi2_by_dataset", "fit",
           "load_ratio_data", "mock_data", "sample", "select_energies"]

PARAMETERS = ("log10_kappa0", "delta", "log10_alpha", "H", "phi")
#: flat-prior ranges (also the bounds of the least-squares search)
BOUNDS = {"log10_kappa0": (-3.0, 0.5), "delta": (0.1, 1.0), "log10_alpha": (-2.0, 0.5), "H": (1.0, 20.0),
          "phi": (0.0, 1.5)}
REQUIRED_COLUMNS = ("ratio", "energy", "value", "error")
SECONDARY_PRIMARY = ("B/C", "Be/B", "Be/C", "Li/C")


@dataclass
class RatioData:
    """Measured (or mock) points of one ratio against kinetic energy per nucleon (GeV/n) or, with ``axis =
    "rigidity"``, against rigidity (GV; ``energy`` then holds rigidities)."""

    ratio: str
    energy: np.ndarray
    value: np.ndarray
    error: np.ndarray
    source: str = ""
    axis: str = "kinetic_energy_per_nucleon"

    def __post_init__(self):
        if self.axis not in AXES:
            raise ParameterError("axis", f"expected one of {', '.join(AXES)}, got {self.axis!r}")


def load_ratio_data(path) -> list:
    """Read a ratio table (columns ``ratio, energy, value, error``, optional ``source``) into :class:`RatioData`.

    A table in the KISS/CRDB text format (a ``#Y Quantity:`` header line, e.g. the shipped AMS-02 B/C) is read by
    :func:`anisotropy.galaxy.datasets.load_published_ratio` instead, and a band table (a ``## columns:`` line, e.g.
    the shipped preliminary ¹⁰Be/⁹Be) by :func:`anisotropy.galaxy.datasets.load_band_table`.
    """
    path = Path(path)
    kind = _table_kind(path)
    if kind is not None:
        from . import datasets

        return [datasets.load_published_ratio(path) if kind == "kiss" else datasets.load_band_table(path)]
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(line for line in handle if line.strip() and not line.lstrip().startswith("#")))
    except OSError as error:
        raise ParameterError("data", f"cannot read {str(path)!r}: {error.strerror}") from None
    header = set(rows[0]) if rows else set()
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ParameterError("data", f"{path.name} lacks the column(s) {', '.join(missing)} "
                                     f"(required: {', '.join(REQUIRED_COLUMNS)})")
    grouped: dict = {}
    for row in rows:
        name = row["ratio"].strip()
        if name not in RATIOS:
            raise ParameterError("data", f"unknown ratio {name!r} in {path.name}; known: {', '.join(RATIOS)}")
        try:
            values = [float(row[column]) for column in ("energy", "value", "error")]
        except ValueError:
            raise ParameterError("data", f"non-numeric energy, value or error in {path.name}: {row}") from None
        if values[0] <= 0 or values[2] <= 0 or not all(np.isfinite(values)):
            raise ParameterError("data", f"energies and errors must be finite and > 0 in {path.name}: {row}")
        grouped.setdefault(name, ([], row.get("source") or ""))[0].append(values)
    return [RatioData(name, *np.array(points).T, source=source) for name, (points, source) in grouped.items()]


def select_energies(data, energy_min, energy_max) -> list:
    """The points of ``data`` with ``energy_min <= energy <= energy_max``; sets left empty are dropped.

    The range applies to each set's own ``axis``: GeV/n for kinetic energy per nucleon, GV for rigidity.
    """
    if not 0.0 < energy_min <= energy_max:
        raise ParameterError("energy_range", f"need 0 < MIN <= MAX, got {energy_min:g}, {energy_max:g}")
    selected = []
    for item in data:
        keep = (item.energy >= energy_min) & (item.energy <= energy_max)
        if keep.any():
            selected.append(RatioData(item.ratio, item.energy[keep], item.value[keep], item.error[keep],
                                      source=item.source, axis=item.axis))
    if not selected:
        raise ParameterError("energy_range", f"no data point lies in [{energy_min:g}, {energy_max:g}] "
                                             "(GeV/n, or GV for tables against rigidity)")
    return selected


def _table_kind(path: Path):
    """"kiss" (KISS/CRDB text format), "band" (``## columns: energy value low high``) or None (CSV)."""
    try:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("#Y Quantity:"):
                    return "kiss"
                if line.startswith("## columns:"):
                    return "band"
    except (OSError, UnicodeDecodeError):
        pass  # the CSV reader reports the problem
    return None


def _model(base: GalaxyModel, parameters: dict) -> GalaxyModel:
    changes = {"kappa0": 10.0 ** parameters["log10_kappa0"], "delta": parameters["delta"],
               "alpha": 10.0 ** parameters["log10_alpha"], "H": parameters["H"]}
    return dataclasses.replace(base, **changes)


def predict(base: GalaxyModel, parameters: dict, data) -> list:
    """Model ratios at the data energies for ``parameters`` (a dict over :data:`PARAMETERS`)."""
    solution = solve(_model(base, parameters))
    return [ratio(solution, item.ratio, item.energy, phi=parameters["phi"], axis=item.axis) for item in data]


def chi2_by_dataset(base: GalaxyModel, parameters: dict, data) -> list:
    """χ² of each set of ``data`` at ``parameters`` (a dict over :data:`PARAMETERS`), with the same independent-point
    error model as :class:`Likelihood`: a list of dicts ``ratio, axis, source, points, chi2``.

    Examples
    --------
    >>> from anisotropy.galaxy.fit import chi2_by_dataset, mock_data
    >>> from anisotropy.galaxy.solver import GalaxyModel
    >>> coarse = GalaxyModel(energy_min=0.1, energy_max=200.0, energies_per_decade=6, disk_intervals=2,
    ...                      halo_intervals=8)
    >>> truth = {"log10_kappa0": -1.5, "delta": 0.5, "log10_alpha": 0.0, "H": 4.0, "phi": 0.5}
    >>> data = mock_data(truth, {"B/C": [1, 3, 10]}, base=coarse)   # seed 0: no noise
    >>> [(row["ratio"], row["points"], round(row["chi2"], 12)) for row in chi2_by_dataset(coarse, truth, data)]
    [('B/C', 3, 0.0)]
    """
    rows = []
    for item, model in zip(data, predict(base, parameters, data)):
        residuals = (model - item.value) / item.error
        rows.append({"ratio": item.ratio, "axis": item.axis, "source": item.source, "points": int(item.value.size),
                     "chi2": float(residuals @ residuals)})
    return rows


def _largest_energy_needed(base: GalaxyModel, data, phi_max=BOUNDS["phi"][1]) -> float:
    r"""The largest interstellar kinetic energy per nucleon (GeV/n) the model must reach to predict ``data``.

    A point against rigidity R needs :math:`T(R)` of the isotope with the largest :math:`|Z|/A` in the network;
    force-field modulation adds at most :math:`\phi_\mathrm{max}|Z|/A`.
    """
    charge, mass = max((isotope(item.name) for item in base.network.species), key=lambda pair: abs(pair[0]) / pair[1])
    largest = 0.0
    for item in data:
        top = float(np.max(item.energy))
        if item.axis == "rigidity":
            top = float(kinetic_energy_per_nucleon(top, charge, mass))
        largest = max(largest, top + phi_max * abs(charge) / mass)
    return largest


def mock_data(truth: dict, energies: dict, *, relative_error=0.05, seed=0, base: GalaxyModel | None = None):
    """SYNTHETIC data: the model at ``truth`` plus Gaussian noise of ``relative_error`` (fixed ``seed``; 0 = none).

    ``energies`` maps ratio names to energies (GeV/n); ``relative_error`` is one number or a dict per ratio.  Every
    returned set has ``source`` = ``"synthetic mock"``.
    """
    base = GalaxyModel() if base is None else base
    errors = relative_error if isinstance(relative_error, dict) else dict.fromkeys(energies, relative_error)
    errors = {name: require_range("relative_error", errors[name], 0.0, 1.0, low_open=True) for name in energies}
    template = [RatioData(name, np.asarray(values, dtype=float), None, None) for name, values in energies.items()]
    model_values = predict(base, truth, template)
    generator = np.random.default_rng(require_integer("seed", seed, 0))
    result = []
    for item, values in zip(template, model_values):
        error = errors[item.ratio] * values
        noisy = values + (error * generator.standard_normal(values.size) if seed else 0.0)
        result.append(RatioData(item.ratio, item.energy, noisy, error, source="synthetic mock"))
    return result


class Likelihood:
    """Gaussian likelihood of ``data`` for the free parameters ``free``; the others are held at ``fixed``."""

    def __init__(self, data, *, base: GalaxyModel | None = None, free=("log10_kappa0", "delta", "log10_alpha", "phi"),
                 fixed=None, phi_prior=None):
        if not data:
            raise ParameterError("data", "no data points")
        unknown = [name for name in free if name not in PARAMETERS]
        if unknown:
            raise ParameterError("free", f"unknown parameter(s) {unknown}; known: {PARAMETERS}")
        self.data, self.base, self.free = list(data), GalaxyModel() if base is None else base, tuple(free)
        needed, top = _largest_energy_needed(self.base, self.data), float(self.base.energies()[0][-1])
        if needed > top:  # beyond the grid the interpolated flux is nan: say so instead of returning -inf
            raise ParameterError("energy_max", f"the data need the model up to {needed:.4g} GeV/n but the grid's "
                                               f"last cell centre is {top:.4g} GeV/n: raise energy_max")
        self.fixed = {"log10_kappa0": -1.5, "delta": 0.5, "log10_alpha": 0.0, "H": 4.0, "phi": 0.5} | dict(fixed or {})
        self.value = np.concatenate([item.value for item in self.data])
        self.error = np.concatenate([item.error for item in self.data])
        if phi_prior is not None:
            mean, width = phi_prior
            phi_prior = (require_range("phi_prior mean", mean, 0.0, None),
                         require_range("phi_prior width", width, 0.0, None, low_open=True))
        self.phi_prior = phi_prior if "phi" in self.free else None

    def parameters(self, theta) -> dict:
        return self.fixed | dict(zip(self.free, (float(value) for value in theta)))

    def residuals(self, theta):
        parameters = self.parameters(theta)
        model = np.concatenate(predict(self.base, parameters, self.data))
        residuals = (model - self.value) / self.error
        if self.phi_prior is not None:  # Gaussian prior on the modulation potential, as one more residual
            residuals = np.append(residuals, (parameters["phi"] - self.phi_prior[0]) / self.phi_prior[1])
        return residuals

    def in_bounds(self, theta) -> bool:
        return all(BOUNDS[name][0] <= value <= BOUNDS[name][1] for name, value in zip(self.free, theta))

    def __call__(self, theta) -> float:
        """log posterior with flat priors: -chi^2/2 inside :data:`BOUNDS`, -inf outside (or if the model fails)."""
        if not self.in_bounds(theta):
            return -np.inf
        residuals = self.residuals(theta)
        return -0.5 * float(residuals @ residuals) if np.all(np.isfinite(residuals)) else -np.inf


@dataclass
class FitResult:
    names: tuple
    best: np.ndarray
    covariance: np.ndarray
    chi2: float
    dof: int

    @property
    def errors(self):
        return np.sqrt(np.diag(self.covariance))

    def to_dict(self):
        return {"parameters": dict(zip(self.names, self.best.tolist())),
                "errors": dict(zip(self.names, self.errors.tolist())), "chi2": self.chi2, "dof": self.dof,
                "covariance": self.covariance.tolist()}


def _least_squares(likelihood: Likelihood, start) -> FitResult:
    lower = [BOUNDS[name][0] for name in likelihood.free]
    upper = [BOUNDS[name][1] for name in likelihood.free]
    start = np.clip(np.asarray(start, dtype=float), lower, upper)
    result = least_squares(likelihood.residuals, start, bounds=(lower, upper), x_scale="jac", diff_step=1e-4)
    jacobian = result.jac
    try:
        covariance = np.linalg.inv(jacobian.T @ jacobian)
    except np.linalg.LinAlgError:
        covariance = np.full((len(start), len(start)), np.nan)
    chi2 = float(result.fun @ result.fun)
    return FitResult(likelihood.free, result.x, covariance, chi2, result.fun.size - len(start))


def fit(data, *, H=4.0, free_H=False, base: GalaxyModel | None = None, start=None, phi_prior=None):
    """Two-stage maximum likelihood: (1) secondary/primary ratios -> log10_kappa0, delta, phi at alpha = 1;
    (2) all data -> log10_kappa0, delta, log10_alpha, phi (and H if ``free_H``).  Returns (stage1, stage2);
    stage2 is None without ¹⁰Be data.  ``phi_prior = (mean, width)`` in GV adds a Gaussian prior on phi.

    Examples
    --------
    >>> from anisotropy.galaxy.fit import fit, mock_data
    >>> from anisotropy.galaxy.solver import GalaxyModel
    >>> coarse = GalaxyModel(energy_min=0.1, energy_max=200.0, energies_per_decade=6, disk_intervals=2,
    ...                      halo_intervals=8)
    >>> truth = {"log10_kappa0": -1.5, "delta": 0.5, "log10_alpha": -0.7, "H": 4.0, "phi": 0.5}
    >>> data = mock_data(truth, {"B/C": [1, 3, 10, 30], "10Be/9Be": [0.5, 1, 2, 5]}, base=coarse)
    >>> stage1, stage2 = fit(data, base=coarse)
    >>> round(stage2.to_dict()["parameters"]["log10_alpha"], 2)
    -0.7
    """
    base = GalaxyModel() if base is None else base
    H = require_range("H", H, 0.0, None, low_open=True)
    start = {"log10_kappa0": np.log10(0.03 * H / 4.0), "delta": 0.5, "log10_alpha": 0.0, "phi": 0.5} | dict(
        start or {})
    primary_data = [item for item in data if item.ratio in SECONDARY_PRIMARY]
    if not primary_data:
        raise ParameterError("data", f"need at least one of {SECONDARY_PRIMARY} to fix kappa0 and delta")
    stage1_like = Likelihood(primary_data, base=base, free=("log10_kappa0", "delta", "phi"),
                             fixed={"H": H, "log10_alpha": 0.0}, phi_prior=phi_prior)
    stage1 = _least_squares(stage1_like, [start[name] for name in stage1_like.free])
    if not any(item.ratio.startswith("10Be") for item in data):
        return stage1, None
    free = ("log10_kappa0", "delta", "log10_alpha", "phi") + (("H",) if free_H else ())
    stage2_like = Likelihood(data, base=base, free=free, fixed={"H": H}, phi_prior=phi_prior)
    seed = dict(zip(stage1.names, stage1.best)) | {"log10_alpha": start["log10_alpha"], "H": H}
    best = None
    for log_alpha in (0.0, -0.5, -1.0):  # alpha is poorly constrained far from the truth: a few starts
        seed["log10_alpha"] = log_alpha
        trial = _least_squares(stage2_like, [seed[name] for name in free])
        if best is None or trial.chi2 < best.chi2:
            best = trial
    return stage1, best


def sample(likelihood: Likelihood, start, *, steps=200, walkers=16, seed=0, spread=1e-2):
    """emcee posterior (flat priors in :data:`BOUNDS`): returns the chain, shape (steps, walkers, parameters)."""
    import emcee

    steps = require_integer("steps", steps, 1)
    walkers = require_integer("walkers", walkers, 2 * len(likelihood.free))
    generator = np.random.default_rng(require_integer("seed", seed, 0))
    start = np.asarray(start, dtype=float)
    initial = start + spread * generator.standard_normal((walkers, start.size))
    lower = np.array([BOUNDS[name][0] for name in likelihood.free])
    upper = np.array([BOUNDS[name][1] for name in likelihood.free])
    initial = np.clip(initial, lower + 1e-9, upper - 1e-9)
    sampler = emcee.EnsembleSampler(walkers, start.size, likelihood)
    sampler.random_state = np.random.RandomState(seed).get_state()  # emcee's stretch moves: reproducible
    sampler.run_mcmc(initial, steps, progress=False)
    return sampler.get_chain()
