"""The Gaussian likelihood of pseudo-C_l through the forward model (overview: :mod:`anisotropy.fit`)."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError, require_integer, require_range
from ..observatory import ForwardModel, get_experiment
from .constants import C1_ANCHOR, C1_BOUNDS, MODE_EIGENVALUE_THRESHOLD
from .models import Model, Parameter, anchored_c1


class Likelihood:
    r"""Gaussian likelihood of a pseudo-spectrum given a shape model, a normalisation and an experiment.

    Parameters
    ----------
    ell, cl : array_like
        Measured multipoles and pseudo-:math:`\tilde C_\ell` (e.g. from :func:`anisotropy.data.load_spectrum`).
    experiment : Experiment or str
        Preset name or :class:`~anisotropy.observatory.Experiment`; its ``lmax`` is raised to the data's if needed.
    model : Model
        Shape model; its ``lmax`` should reach the forward model's band limit (power above it is taken as zero).
    normalisation : {"free", "dipole"}
        Free all-sky :math:`C_1` (fitted, log-scale, bounds :data:`C1_BOUNDS`) or fixed to ``c1``.
    c1 : float, optional
        The anchored :math:`C_1`; default :func:`anchored_c1`.
    lmin, lmax : int, optional
        Multipole range used; default from ℓ_cut + 1 (1 without low-ℓ subtraction) to the highest data ℓ.
    covariance : {"fixed", "model"}
        See the module docstring.
    data_errors : array_like, optional
        Extra independent errors added in quadrature to the diagonal (e.g. systematics).
    """

    def __init__(self, ell, cl, experiment, model: Model, *, normalisation: str = "free", c1: float | None = None,
                 lmin: int | None = None, lmax: int | None = None, covariance: str = "fixed", data_errors=None,
                 forward: ForwardModel | None = None):
        ell = np.asarray(ell)
        cl = np.asarray(cl, dtype=float)
        if ell.shape != cl.shape or ell.ndim != 1 or ell.size == 0:
            raise ParameterError("cl", "ell and cl must be 1-d arrays of the same length")
        experiment = get_experiment(experiment)
        if normalisation not in ("free", "dipole"):
            raise ParameterError("normalisation", f"must be 'free' or 'dipole', got {normalisation!r}")
        if covariance not in ("fixed", "model"):
            raise ParameterError("covariance", f"must be 'fixed' or 'model', got {covariance!r}")
        default_lmin = 1 if experiment.lcut is None else experiment.lcut + 1
        lmin = default_lmin if lmin is None else require_integer("lmin", lmin, 1)
        lmax = int(ell.max()) if lmax is None else require_integer("lmax", lmax, lmin)
        lmax = min(lmax, 3 * experiment.nside - 1)
        use = (ell >= lmin) & (ell <= lmax)
        if use.sum() < len(model.parameters) + (normalisation == "free") + 1:
            raise ParameterError("lmin", f"only {int(use.sum())} multipoles in [{lmin}, {lmax}]: too few to fit")
        if experiment.lmax < lmax:
            experiment = experiment.with_(lmax=lmax)
        self.experiment = experiment
        self.forward = forward if forward is not None and forward.experiment == experiment else ForwardModel(experiment)
        self.model = model
        self.ell = ell[use].astype(int)
        self.data = cl[use]
        self.normalisation = normalisation
        self.covariance_mode = covariance
        self.c1_fixed, self.c1_source = None, None
        if normalisation == "dipole":
            if c1 is None:
                self.c1_fixed, self.c1_source = anchored_c1(), f"anchor {C1_ANCHOR}"
            else:
                self.c1_fixed, self.c1_source = require_range("c1", c1, 0.0, None, low_open=True), "user"
        self.extra_variance = np.zeros(self.ell.size)
        if data_errors is not None:
            errors = np.asarray(data_errors, dtype=float)
            if errors.shape != ell.shape or np.any(~np.isfinite(errors)) or np.any(errors < 0):
                raise ParameterError("data_errors", "expected finite errors >= 0, one per multipole")
            self.extra_variance = errors[use] ** 2
        self.parameters = list(model.parameters)
        if normalisation == "free":
            self.parameters.append(Parameter("c1", *C1_BOUNDS, 2e-6, log=True, label="all-sky C_1"))
        self.names = tuple(p.name for p in self.parameters)
        self._rows = self.ell  # forward-model rows are ℓ itself
        self._whitening_cache = None  # (covariance, its whitening): Σ is held fixed over many χ² calls
        self._reference_whitening = None  # fixed data compression of the "model" covariance mode

    # ------------------------------------------------------------------ model
    def values(self, internal) -> dict:
        return {p.name: float(p.from_internal(u)) for p, u in zip(self.parameters, internal)}

    def internal(self, values: dict) -> np.ndarray:
        return np.array([float(p.to_internal(values[p.name])) for p in self.parameters])

    def theory(self, values: dict) -> np.ndarray:
        """All-sky :math:`C_\\ell = C_1 s_\\ell` for ℓ = 0..forward band limit."""
        shape_values = {p.name: values[p.name] for p in self.model.parameters}
        shape = self.model.shape(**shape_values)
        c1 = values.get("c1", self.c1_fixed)
        cl = np.zeros(self.forward.lmax + 1)
        count = min(cl.size, shape.size)
        cl[:count] = c1 * shape[:count]
        return cl

    def mean(self, values: dict) -> np.ndarray:
        return self.forward.mean(self.theory(values))[self._rows]

    def covariance(self, values: dict) -> np.ndarray:
        full = self.forward.covariance(self.theory(values))
        return full[np.ix_(self._rows, self._rows)] + np.diag(self.extra_variance)

    def whitening(self, covariance) -> np.ndarray:
        r"""The (n_modes, n_multipoles) matrix :math:`W` with :math:`\chi^2 = |W\mathbf r|^2`, keeping the modes of
        the correlation matrix above :data:`MODE_EIGENVALUE_THRESHOLD` (module docstring, "Modes projected out").

        :math:`W = \Lambda_k^{-1/2}V_k^T D^{-1/2}` with :math:`R = V\Lambda V^T` the eigendecomposition of the
        symmetrised correlation matrix; :math:`W\Sigma W^T = 1` on the kept modes.  With every mode kept,
        :math:`|W\mathbf r|^2 = \mathbf r^T\Sigma^{-1}\mathbf r` exactly.  The last result is cached (Σ is held
        fixed over thousands of χ² calls).
        """
        cached = self._whitening_cache
        if cached is not None and cached[0] is covariance:
            return cached[1]
        matrix = np.asarray(covariance, dtype=float)
        scale = np.sqrt(np.diag(matrix))
        if not np.all(np.isfinite(matrix)) or np.any(~(scale > 0)):
            raise ParameterError("covariance", "needs a finite covariance with positive variances")
        correlation = matrix / np.outer(scale, scale)
        eigenvalues, vectors = np.linalg.eigh(0.5 * (correlation + correlation.T))
        keep = eigenvalues > MODE_EIGENVALUE_THRESHOLD * eigenvalues[-1]
        whitening = (vectors[:, keep] / np.sqrt(eigenvalues[keep])).T / scale
        self._whitening_cache = (covariance, whitening)
        return whitening

    def n_modes(self, covariance) -> int:
        """Number of modes kept by :meth:`whitening` (the χ²'s degrees of freedom before fitting)."""
        return int(self.whitening(covariance).shape[0])

    def chi2(self, values: dict, covariance=None) -> float:
        r""":math:`\chi^2 = \mathbf r^T\Sigma^{-1}\mathbf r` over the kept modes (:meth:`whitening`)."""
        covariance = self.covariance(values) if covariance is None else covariance
        whitened = self.whitening(covariance) @ (self.data - self.mean(values))
        return float(whitened @ whitened)

    def neg2_log_like(self, values: dict, covariance=None) -> float:
        r""":math:`-2\ln L` up to a constant: χ² with a fixed Σ, χ² + ln det Σ(θ) in ``"model"`` mode.

        In ``"model"`` mode the data are compressed once, :math:`\mathbf y = W_0\mathbf r` with the whitening
        :math:`W_0` of Σ at the parameters' defaults (a fixed statistic, so the likelihoods of different θ compare
        the same numbers), and :math:`-2\ln L = \mathbf y^T(W_0\Sigma(\theta)W_0^T)^{-1}\mathbf y +
        \ln\det(W_0\Sigma(\theta)W_0^T)`; with every mode kept this is χ² + ln det Σ(θ) up to a constant.
        """
        if covariance is not None:
            return self.chi2(values, covariance)
        if self._reference_whitening is None:
            defaults = {p.name: p.default for p in self.parameters}
            self._reference_whitening = self.whitening(self.covariance(defaults)).copy()
        compression = self._reference_whitening
        projected = compression @ self.covariance(values) @ compression.T
        residual = compression @ (self.data - self.mean(values))
        try:
            factor = np.linalg.cholesky(0.5 * (projected + projected.T))
        except np.linalg.LinAlgError:
            return np.inf
        solved = np.linalg.solve(factor, residual)
        return float(solved @ solved + 2.0 * np.sum(np.log(np.diag(factor))))

    def best_c1(self, shape_values: dict, covariance) -> float:
        """χ²-minimising :math:`C_1` for fixed shape and Σ (the model is linear in C_1), clipped to the bounds."""
        whitening = self.whitening(covariance)
        template = whitening @ self.forward.signal_mean(self.theory({**shape_values, "c1": 1.0}))[self._rows]
        target = whitening @ (self.data - self.forward.noise[self._rows])
        norm = template @ template
        estimate = float(template @ target / norm) if norm > 0 else C1_BOUNDS[0]
        return float(np.clip(estimate, *C1_BOUNDS))


# ---------------------------------------------------------------------------------------------------- fitting

def likelihood_from_spectrum(spectrum, model: Model, experiment=None, **options) -> Likelihood:
    """A :class:`Likelihood` for a :class:`anisotropy.data.Spectrum` (experiment from the file if not given)."""
    experiment = experiment if experiment is not None else spectrum.experiment
    if options.pop("add_data_errors", False):
        errors = np.asarray(spectrum.cl_err, dtype=float)
        if spectrum.cl_err_sys is not None:
            errors = np.hypot(errors, spectrum.cl_err_sys)
        options["data_errors"] = errors
    return Likelihood(spectrum.ell, spectrum.cl, experiment, model, **options)
