"""Posterior sampling with emcee around a best fit (overview: :mod:`anisotropy.fit`)."""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError, require_integer
from .likelihood import Likelihood
from .profile import FitResult

#: most MCMC steps accepted: the chain holds walkers x steps x parameters floats (1e6 steps of 16 walkers and
#: 4 parameters is 0.5 GB) and each step costs one likelihood evaluation per walker
MAX_STEPS = 10**6


def sample_posterior(likelihood: Likelihood, result: FitResult, *, n_walkers: int = 16, n_steps: int = 500,
                     burn: int | None = None, seed: int = 0) -> np.ndarray:
    """Posterior samples with ``emcee`` (flat priors in the internal coordinates within the bounds).

    The covariance is held at the best fit (as for the profiles).  Returns samples in physical units, shape
    (n_kept, n_parameters) in the order of ``likelihood.names``; also stored in ``result.samples``.
    """
    try:
        import emcee
    except ImportError:  # pragma: no cover - emcee is an optional dependency
        raise ParameterError("mcmc", "needs the optional package emcee (pip install emcee)") from None
    n_parameters = len(likelihood.parameters)
    n_walkers = max(require_integer("n_walkers", n_walkers, 2), 2 * n_parameters + 2)
    n_steps = require_integer("n_steps", n_steps, 10, MAX_STEPS)
    burn = n_steps // 3 if burn is None else require_integer("burn", burn, 0, n_steps - 1)
    covariance = likelihood.covariance(result.best)
    bounds = np.array([p.internal_bounds for p in likelihood.parameters])
    best = likelihood.internal(result.best)

    def log_probability(u):
        if np.any(u < bounds[:, 0]) or np.any(u > bounds[:, 1]):
            return -np.inf
        return -0.5 * likelihood.chi2(likelihood.values(u), covariance)

    rng = np.random.default_rng(seed)
    width = 1e-3 * (bounds[:, 1] - bounds[:, 0])
    start = np.clip(best + width * rng.standard_normal((n_walkers, n_parameters)), bounds[:, 0], bounds[:, 1])
    sampler = emcee.EnsembleSampler(n_walkers, n_parameters, log_probability)
    # emcee draws its proposals from a legacy RandomState; seed it through the public setter
    sampler.random_state = np.random.RandomState(np.random.SeedSequence(seed).generate_state(1)[0]).get_state()
    sampler.run_mcmc(start, n_steps, progress=False)
    chain = sampler.get_chain(discard=burn, flat=True)
    samples = np.column_stack([p.from_internal(chain[:, i]) for i, p in enumerate(likelihood.parameters)])
    result.samples = samples
    return samples
