"""Figures of a fit: data against model, profile likelihoods (overview: :mod:`anisotropy.fit`)."""

from __future__ import annotations

import numpy as np

from .constants import DELTA_CHI2_68
from .profile import FitResult


def plot_fit(result: FitResult, path=None, *, spectrum_label: str = "data"):
    """Data with the forward model's 1σ (cosmic variance + noise), the best-fit pseudo-spectrum, the noise
    level and the all-sky theory (dashed), with residuals in a lower panel.  Saves a PNG if ``path`` is given."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, height_ratios=(3, 1))
    top.errorbar(result.ell, result.data, yerr=result.model_sigma, fmt="o", ms=4, color="k", label=spectrum_label)
    top.plot(result.ell, result.model_mean, "-", color="C3", label="best fit (forward-modelled)")
    theory_ell = np.arange(result.theory_cl.size)
    shown = (theory_ell >= result.ell.min()) & (theory_ell <= result.ell.max())
    top.plot(theory_ell[shown], result.theory_cl[shown], "--", color="C0", label="best fit, all-sky theory")
    if np.any(result.noise > 0):
        top.plot(result.ell, result.noise, ":", color="0.4", label="noise after filtering")
    top.set_yscale("log")
    top.set_ylabel(r"$\tilde C_\ell$")
    top.set_title(f"{result.experiment}: {result.model.get('name')}, χ²/dof = {result.chi2:.1f}/{result.dof}")
    top.legend(fontsize=8)
    bottom.axhline(0.0, color="0.5", lw=0.8)
    bottom.errorbar(result.ell, (result.data - result.model_mean) / result.model_sigma, yerr=1.0, fmt="o", ms=3,
                    color="k")
    bottom.set_xlabel(r"$\ell$")
    bottom.set_ylabel("residual / σ")
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=110)
        plt.close(figure)
    return figure


def plot_profiles(result: FitResult, path=None):
    """Δχ² profiles of every fitted parameter with the 68 % level; saves a PNG if ``path`` is given."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = list(result.profiles)
    figure, axes = plt.subplots(1, max(len(names), 1), figsize=(3.6 * max(len(names), 1), 3.2), squeeze=False)
    for axis, name in zip(axes[0], names):
        grid, delta = result.profiles[name]
        axis.plot(grid, delta, "-o", ms=3)
        axis.axhline(DELTA_CHI2_68, color="C3", ls="--", lw=0.8)
        axis.axvline(result.best[name], color="0.4", lw=0.8)
        if name in ("c1", "kappa_c", "reduced_rigidity", "pair_time_prefactor"):
            axis.set_xscale("log")
        axis.set_ylim(0, max(4.0, min(float(np.nanmax(delta)), 25.0)))
        axis.set_xlabel(name)
        axis.set_ylabel(r"$\Delta\chi^2$")
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=110)
        plt.close(figure)
    return figure
