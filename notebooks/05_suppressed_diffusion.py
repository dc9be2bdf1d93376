# %% [markdown]
# # Suppressed diffusion in the Galactic disk and the ¹⁰Be clock
#
# If cosmic rays diffuse more slowly in the gas disk than in the halo, $\kappa_\mathrm{disk} = \alpha\,
# \kappa_\mathrm{halo}$ with $\alpha < 1$, stable secondaries (B/C) barely notice, but radioactive ¹⁰Be
# (half-life 1.387 Myr) spends longer near its birthplace and fewer nuclei decay before reaching us: ¹⁰Be/⁹Be rises
# at low energy. This notebook reproduces that qualitative result of Jacobs, Mertsch & Phan (arXiv:2305.10337)
# with `anisotropy.galaxy` and shows the fit on **synthetic** data (no measured table is bundled; see
# `anisotropy/galaxy/data/README.md`). The physics and equations: `docs/physics/suppressed_diffusion.md`.
#
# Set `CR_ANISOTROPY_QUICK=1` for a coarse, fast run (the test-suite mode).

# %%
import os
from importlib import resources

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import brentq

from anisotropy.galaxy import thin_disk_density, two_zone_density
from anisotropy.galaxy.fit import Likelihood, fit, load_ratio_data, sample
from anisotropy.galaxy.observables import ratio
from anisotropy.galaxy.solver import GalaxyModel, solve

QUICK = os.environ.get("CR_ANISOTROPY_QUICK") == "1"
RESOLUTION = (dict(energies_per_decade=6, disk_intervals=2, halo_intervals=8) if QUICK
              else dict(energies_per_decade=32, disk_intervals=8, halo_intervals=48))
ALPHAS = (1.0, 0.5, 0.2)
PHI = 0.5  # GV, force-field potential
plt.rcParams.update({"figure.dpi": 100, "axes.grid": True, "grid.alpha": 0.3})

# %% [markdown]
# ## 1. One species at one energy: the closed form
#
# The density profile of a species with a uniform source in the disk ($|z| < h = 0.1$ kpc), escape at $H = 4$ kpc,
# and decay rate $\lambda$. A smaller $\alpha$ piles particles up in the disk; the δ-function (thin-disk) limit
# does not depend on $\alpha$ at all — which is why thin-disk models cannot measure it.

# %%
z = np.linspace(0, 1.0, 400)
figure, axis = plt.subplots(figsize=(6, 3.8))
for alpha in ALPHAS:
    axis.plot(z, two_zone_density(z, h=0.1, H=4.0, kappa_halo=0.1, alpha=alpha, decay_rate=0.5,
                                  disk_loss_rate=0.2), label=f"alpha = {alpha:g}")
axis.plot(z, thin_disk_density(z, H=4.0, kappa_halo=0.1, surface_source=0.1, surface_loss_rate=0.02,
                               decay_rate=0.5), "k--", label="thin disk (any alpha)")
axis.axvline(0.1, color="0.6", lw=0.8)
axis.set(xlabel="z [kpc]", ylabel="N(z) [arb.]", title="decaying species, source in |z| < h")
axis.legend()
plt.show()

# %% [markdown]
# ## 2. The full network at fixed B/C
#
# For each $\alpha$, $\kappa_0$ is adjusted so that the interstellar B/C at 10 GeV/n is that of $\alpha = 1$ — the
# "fixed B/C" comparison. Then B/C and ¹⁰Be/⁹Be at Earth ($\phi$ = 0.5 GV).

# %%
def boron_to_carbon(log10_kappa0, alpha, energy=10.0):
    solution = solve(GalaxyModel(kappa0=10**log10_kappa0, alpha=alpha, **RESOLUTION))
    return float(ratio(solution, "B/C", [energy])[0])


reference = boron_to_carbon(np.log10(0.03), 1.0)
models = {}
for alpha in ALPHAS:
    log10_kappa0 = brentq(lambda x, alpha=alpha: boron_to_carbon(x, alpha) - reference, -2.5, -0.5, xtol=1e-4)
    models[alpha] = solve(GalaxyModel(kappa0=10**log10_kappa0, alpha=alpha, **RESOLUTION))
    print(f"alpha = {alpha:4.2f}: kappa0 = {10**log10_kappa0:.4f} kpc^2/Myr gives B/C(10 GeV/n) = {reference:.4f}")

energies = np.geomspace(0.2, 50.0, 60)
figure, axes = plt.subplots(1, 2, figsize=(11, 4))
for alpha, solution in models.items():
    axes[0].plot(energies, ratio(solution, "B/C", energies, phi=PHI), label=f"alpha = {alpha:g}")
    axes[1].plot(energies, ratio(solution, "10Be/9Be", energies, phi=PHI), label=f"alpha = {alpha:g}")
for axis, label in zip(axes, ("B/C", "10Be/9Be")):
    axis.set(xscale="log", xlabel="kinetic energy per nucleon [GeV/n]", ylabel=label)
    axis.legend()
figure.suptitle("fixed B/C: 10Be/9Be rises at low energy when diffusion in the disk is suppressed")
plt.show()

low = np.array([1.0])
enhancement = {alpha: float(ratio(models[alpha], "10Be/9Be", low, PHI)[0]
                            / ratio(models[1.0], "10Be/9Be", low, PHI)[0]) for alpha in ALPHAS}
print("10Be/9Be at 1 GeV/n relative to alpha = 1:", {alpha: round(value, 3) for alpha, value in enhancement.items()})
assert enhancement[0.2] > enhancement[0.5] > 1.0  # the qualitative result

# %% [markdown]
# ## 3. Fit on synthetic data
#
# The bundled `synthetic_mock_ratios.csv` is the model at $\alpha = 0.2$ plus noise (3 % on B/C, 8 % on ¹⁰Be/⁹Be;
# it is **not** a measurement). B/C fixes $\kappa_0$ and $\delta$; ¹⁰Be/⁹Be then constrains $\alpha$; $\phi$ is a
# nuisance parameter with a 0.1 GV Gaussian prior (without it $\phi$ and $\alpha$ are nearly degenerate).

# %%
data = load_ratio_data(resources.files("anisotropy.galaxy").joinpath("data", "synthetic_mock_ratios.csv"))
base = GalaxyModel(**RESOLUTION)
stage1, stage2 = fit(data, base=base, phi_prior=(0.5, 0.1))
best = stage2.to_dict()
print("stage 1 (B/C only):", {k: round(v, 3) for k, v in stage1.to_dict()["parameters"].items()})
print("stage 2 (all):     ", {k: round(v, 3) for k, v in best["parameters"].items()},
      f"chi2/dof = {stage2.chi2:.1f}/{stage2.dof}")
print(f"alpha = {10 ** best['parameters']['log10_alpha']:.3f} (injected 0.2)")

# %%
steps, walkers = (30, 10) if QUICK else (1500, 24)
likelihood = Likelihood(data, base=base, free=stage2.names, fixed={"H": 4.0}, phi_prior=(0.5, 0.1))
chain = sample(likelihood, stage2.best, steps=steps, walkers=walkers, seed=1)
samples = chain[steps // 3:].reshape(-1, len(stage2.names))
alpha_samples = 10 ** samples[:, stage2.names.index("log10_alpha")]
low68, median, high68 = np.percentile(alpha_samples, [16, 50, 84])
print(f"posterior alpha = {median:.3f} (+{high68 - median:.3f} / -{median - low68:.3f}), {steps} steps x {walkers}")

figure, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].hist(alpha_samples, bins=40, histtype="stepfilled", alpha=0.7)
axes[0].axvline(0.2, color="k", ls="--", label="injected")
axes[0].set(xlabel="alpha = kappa_disk / kappa_halo", ylabel="samples", title="posterior (synthetic data)")
axes[0].legend()
curve_energies = np.geomspace(0.3, 10.0, 40)
parameters = likelihood.parameters(stage2.best)
from anisotropy.galaxy.fit import RatioData, predict  # noqa: E402

curves = predict(base, parameters, [RatioData("10Be/9Be", curve_energies, None, None)])
axes[1].plot(curve_energies, curves[0], label="best fit")
for item in data:
    if item.ratio == "10Be/9Be":
        axes[1].errorbar(item.energy, item.value, item.error, fmt="o", color="k", ms=3, label="synthetic mock")
axes[1].set(xscale="log", xlabel="kinetic energy per nucleon [GeV/n]", ylabel="10Be/9Be")
axes[1].legend()
plt.show()

# %% [markdown]
# ## 4. Real data
#
# The AMS-02 B/C (PRL 117, 231102 (2016)), the AMS-02 Be/B against rigidity (PRL 120, 021101 (2018)) and the
# PRELIMINARY AMS-02 ¹⁰Be/⁹Be (digitised conference points) are shipped:
# `anisotropy.galaxy.datasets.ams02_boron_to_carbon()`, `ams02_beryllium_to_boron()` and
# `ams02_beryllium_ratio_preliminary()`, with provenance and licences in `anisotropy/galaxy/data/README.md`. Their
# fits (`cr-anisotropy galaxy fit FILE [FILE ...]`) and every caveat are in `docs/validation/galaxy_ams02_bc/README.md`
# and `docs/validation/galaxy_ams02_bc_beb/README.md`: B/C fixes κ0/H and δ; the Be/B, compared at equal rigidity,
# lies about 15 % above the model fitted to B/C (a tension, most likely from the shipped cross sections); the model does
# not describe the preliminary ¹⁰Be/⁹Be, so no value of α is claimed from data. Other tables go in the CSV schema
# (`ratio, energy, value, error, source`).
