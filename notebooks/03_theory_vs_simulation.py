# %% [markdown]
# # 03 — Theory against simulation
#
# Two independent checks of the mixing-matrix ODE (docs/physics/mixing_ode.md#ode).
#
# **A. The white-noise rotation toy** (docs/physics/toy_model.md#toy-model): a density on the sphere carried by a random
# rotation field
# that is white in time. The ODE is *exact* for this model, with $k(x) = 2D_s(e^{-\kappa_c(1-x)}-1)$
# (`PairRate.toy`) and the time-dependent source $S(T) = (8\pi/3)K|G|^2(1-e^{-2D_sT})$, so the Monte Carlo
# (`validation.toy`) and `anisotropy.evolve` must agree within the statistical errors at every $T$.
#
# **B. Test particles in slab turbulence** (docs/physics/simulator.md): backtracking one particle per HEALPix pixel
# through
# plane-wave turbulence (`validation.simulator.backtrack.anisotropy_realisation`, an ensemble with
# `validation.simulator.ensemble.run`) against the steady state of the slab pair rate
# (docs/physics/pair_rates.md#slab-pair-rate) **on the same
# discrete modes**. Here the ODE is not exact: the closure with a regular field and the pair time
# $\Omega\Delta T = a(\Omega\tau_s)^{1/3}$ (prefactor $a$ calibrated against the simulator,
# `anisotropy.calibration`) are approximations. The comparison measures how good they are.
#
# Errors are the empirical scatter over realisations (docs/physics/simulator.md#ensemble). *Quick mode*: 32 toy
# realisations on a
# 32-node grid, one slab rigidity with 8 realisations at $N_\mathrm{side} = 16$. Full mode: 128 toy
# realisations on the default (aliasing ≤ 1 %) grid, three rigidities with 32 realisations at
# $N_\mathrm{side} = 32$ (about 15 minutes on one core).

# %%
import math
import os

import healpy as hp
import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

import anisotropy as an
from anisotropy import transport
from anisotropy.pair_rates import DEFAULT_PAIR_TIME_PREFACTOR
from validation import compare, toy
from validation.calibration import calibration_realisation
from validation.simulator import ensemble
from validation.simulator.config import AnisotropyConfig, TurbulenceConfig

QUICK = os.environ.get("CR_ANISOTROPY_QUICK") == "1"
TOY_REALISATIONS = 32 if QUICK else 128
#: Gauss-Legendre nodes of the toy grid; None = validation.toy.default_resolution (aliasing of C_10 ≤ 1 %)
TOY_RESOLUTION = 32 if QUICK else None
SLAB_RIGIDITIES = (0.3,) if QUICK else (0.1, 0.3, 1.0)
SLAB_NSIDE = 16 if QUICK else 32
SLAB_REALISATIONS = 8 if QUICK else 32
#: last backtracking time in QLT scattering times τ_s (docs/physics/simulator.md#convergence-in-time: higher ℓ converge
#: later)
TIME_FACTOR = 4.0 if QUICK else 10.0
SEED = 20261124

plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 130, "font.size": 11, "axes.titlesize": 11,
                     "legend.fontsize": 9, "axes.grid": True, "grid.alpha": 0.3})


def show(figure):
    """Render a figure into the notebook once and release it (works under any matplotlib backend)."""
    from IPython.display import display

    display(figure)
    plt.close(figure)

print(f"cr-anisotropy {an.__version__}; quick mode: {QUICK}")

# %% [markdown]
# ## A. Toy model: Monte Carlo against the ODE
#
# $D_s = 0.5$, $\kappa_c = 5$, $v = |G| = 1$, backtracking times $T = 0.5, 1, 2$ (docs/physics/toy_model.md#toy-model).
# The ODE is solved
# to $\ell_\max = 128$; a solve at 64 shows how much the truncation still matters at these times.

# %%
D_S, KAPPA_C = 0.5, 5.0
TOY_TIMES = (0.5, 1.0, 2.0)
TOY_LMAX, ODE_LMAX = 10, 128

toy_run = toy.simulate(D_S, KAPPA_C, TOY_TIMES, TOY_REALISATIONS, resolution=TOY_RESOLUTION, seed=SEED,
                       lmax=TOY_LMAX)
rate = an.PairRate.toy(D_s=D_S, kappa_c=KAPPA_C)
source = toy.toy_source(D_S)
ode = an.evolve(an.rate_matrix(rate, ODE_LMAX), source, TOY_TIMES)
ode_halved = an.evolve(an.rate_matrix(rate, ODE_LMAX // 2), source, TOY_TIMES)
ell = np.arange(1, TOY_LMAX + 1)
print(f"Monte Carlo: {toy_run.realisations} realisations on a {toy_run.grid.size}-direction grid, "
      f"seed {toy_run.seed_entropy}")
print(f"ODE truncation: halving ℓmax from {ODE_LMAX} changes C_ℓ (ℓ ≤ 10) by at most "
      f"{np.max(np.abs(ode_halved[:, ell] / ode[:, ell] - 1)):.1%} (the toy rate is analytic: slow drift, docs/physics/mixing_ode.md#ode)")  # noqa: E501
exact_power = toy.exact_total_power(D_S, TOY_TIMES)
measured_power = toy_run.total_power.mean(axis=0)
power_error = toy_run.total_power.std(axis=0, ddof=1) / math.sqrt(toy_run.realisations)
for time, exact, measured, error in zip(TOY_TIMES, exact_power, measured_power, power_error):
    print(f"T = {time}: total power ∫δf² = {measured:.4g} ± {error:.2g} (exact {exact:.4g})")

figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6), layout="constrained")
colours = ("C0", "C1", "C2")
for index, (time, colour) in enumerate(zip(TOY_TIMES, colours)):
    mean, error = toy_run.mean[index, 1:], toy_run.stderr[index, 1:]
    left.errorbar(ell, mean, error, fmt="o", ms=4, color=colour, capsize=2, label=f"Monte Carlo, T = {time}")
    left.plot(ell, ode[index, 1 : TOY_LMAX + 1], "-", color=colour, lw=1.5, label=f"ODE, T = {time}")
    z = (mean - ode[index, 1 : TOY_LMAX + 1]) / error
    right.plot(ell + 0.12 * (index - 1), z, "o", ms=5, color=colour, label=f"T = {time}")
    chi2 = float(np.sum(z**2))
    print(f"T = {time}: χ² = {chi2:.1f} for {ell.size} multipoles (p = {stats.chi2.sf(chi2, ell.size):.2f}); "
          f"aliasing floor / error at ℓ = 10: {toy_run.alias_floor[index] / error[-1]:.2f}")
left.set_yscale("log")
left.set_xlabel(r"$\ell$")
left.set_ylabel(r"$\langle C_\ell(T)\rangle$  ($v = |G| = 1$)")
left.set_title(rf"toy model, $D_s$ = {D_S}, $\kappa_c$ = {KAPPA_C}")
left.legend(fontsize=8, ncol=2)
right.axhspan(-2, 2, color="0.88")
right.axhline(0, color="0.4", lw=0.8)
right.set_ylim(-4.5, 4.5)
right.set_xlabel(r"$\ell$")
right.set_ylabel("(Monte Carlo − ODE) / σ")
right.set_title("residuals (band: ±2σ)")
right.legend(fontsize=8)
show(figure)

# %% [markdown]
# The residuals are in units of the Monte Carlo's standard error. The $\ell$ of one realisation are correlated,
# so the printed χ² is indicative only. With few realisations the standard errors are themselves uncertain
# (by ~$1/\sqrt{2N}$), and $\hat C_\ell$ has a skewed distribution, so isolated 2–3σ points are expected. In
# quick mode the coarse 32-node grid aliases unresolved power into $\ell\lesssim10$: about 4 % for $C_{10}$ at
# $T = 2$ (table in `validation.toy.default_resolution`). This bias is positive and shows up at the highest
# $\ell$ of the latest time.
#
# ## B. Test particles in slab turbulence against the slab pair-rate theory
#
# Setup as in `validation.calibration`: slab Kolmogorov turbulence with $\eta = 0.5$, $L_\min/L_\max = 10^{-2}$,
# 64 modes per decade (shared by simulation and theory), $\mathbf G\parallel\mathbf B_0$, backtracking times
# up to 4 (quick) or 10 (full) QLT scattering times $\tau_s = 3\kappa_\parallel/c^2$, and no $K$ term in
# eq. (3.1) (valid for $T\gg\tau_s$). Each realisation (`validation.calibration.calibration_realisation`) also stores
# $\hat C_\ell\hat C_{\ell'}$, so that the covariance of the ratio $C_\ell/C_1$ (`validation.compare.cl_ratio`,
# delta method) includes the correlation of $C_\ell$ with $C_1$.

# %%
ETA, LMIN_OVER_LMAX, MODES_PER_DECADE = 0.5, 1e-2, 64
THEORY_LMAX = 48


def slab_theory_ratio(reduced_rigidity, pair_time=None, lmax=THEORY_LMAX):
    """Steady-state C_ℓ/C_1 of the slab pair rate on the simulator's modes (default prefactor if pair_time is None)."""
    options = {} if pair_time is None else {"pair_time": pair_time}
    rate = an.PairRate.slab(reduced_rigidity, ETA, lmin_over_lmax=LMIN_OVER_LMAX,
                            modes_per_decade=MODES_PER_DECADE, **options)
    cl = an.steady_state(an.rate_matrix(rate, lmax), source=1.0)
    return cl / cl[1], rate.params


slab_runs = {}
for reduced_rigidity in SLAB_RIGIDITIES:
    tau_s = 3.0 * transport.parallel_diffusion(reduced_rigidity, ETA, lmin_over_lmax=LMIN_OVER_LMAX)
    times = tuple(float(t) for t in np.round(np.geomspace(0.25 * tau_s, TIME_FACTOR * tau_s, 6 if QUICK else 8), 6))
    config = AnisotropyConfig(
        turbulence=TurbulenceConfig(kind="slab", eta=ETA, lmin_over_lmax=LMIN_OVER_LMAX,
                                    modes_per_decade=MODES_PER_DECADE),
        reduced_rigidity=reduced_rigidity, nside=SLAB_NSIDE, times=times, gradient_angle=0.0)
    # calibration_realisation = anisotropy_realisation + the products Ĉ_ℓĈ_ℓ' for the covariance across
    # realisations (module-level, so the process and Dask executors can pickle it)
    run = ensemble.run(calibration_realisation, config, seed=SEED, realisations=SLAB_REALISATIONS,
                       progress=False)
    slab_runs[reduced_rigidity] = {"config": config, "run": run, "tau_s": tau_s}
    print(f"r_g/L_c = {reduced_rigidity}: τ_s = {tau_s:.3g} L_c/c, {config.turbulence.n_modes} modes, "
          f"{run.count} realisations × {config.n_particles} particles, {run.wall_seconds:.1f} s, "
          f"root seed {run.root_seed}")

# %% [markdown]
# ### One realisation's sky
#
# The arrival-direction map $\delta f(\hat n)$ of realisation 0 at the last time, $|G| = 1/L_c$ along
# $\mathbf B_0 = B_0\hat z$ (map coordinates are those of the simulation, not equatorial). Right: the same map
# with the monopole and dipole removed. The small-scale structure is what $C_{\ell\ge2}$ measures.

# %%
first_rigidity = SLAB_RIGIDITIES[0]
sky = np.asarray(slab_runs[first_rigidity]["run"].first["maps"][-1], dtype=float)
figure = plt.figure(figsize=(12, 3.8))
hp.mollview(sky, fig=figure.number, sub=(1, 2, 1),
            title=rf"$\delta f$, $r_g/L_c$ = {first_rigidity}, T = {TIME_FACTOR:g}$\tau_s$",
            unit=r"$\delta f$ ($|G| L_c = 1$)", cmap="RdBu_r", xsize=600)
hp.mollview(sky, fig=figure.number, sub=(1, 2, 2), remove_dip=True, title="monopole and dipole removed",
            unit=r"$\delta f$", cmap="RdBu_r", xsize=600)
show(figure)

# %% [markdown]
# ### Convergence in the backtracking time
#
# $C_1$ should converge after a few $\tau_s$ and higher multipoles need longer
# (docs/physics/simulator.md#convergence-in-time); the printed growth over
# the last interval says how far this run is from a steady state. The dashed line is the white-noise floor
# $4\pi\sigma^2/N_\mathrm{pix}$ of a fully decorrelated map (docs/physics/simulator.md#white-noise-floor): it grows
# $\propto T$, and multipoles
# close to it are dominated by unresolved structure and are not compared with theory.

# %%
figure, axes = plt.subplots(1, len(slab_runs), figsize=(5.5 * len(slab_runs), 4.2), layout="constrained",
                            squeeze=False)
for axis, (reduced_rigidity, item) in zip(axes[0], slab_runs.items()):
    run, tau_s = item["run"], item["tau_s"]
    times = np.asarray(run.mean["times"]) / tau_s
    for multipole, colour in zip((1, 2, 4, 8), ("C0", "C1", "C2", "C3")):
        axis.errorbar(times, run.mean["cl"][:, multipole], run.standard_error["cl"][:, multipole], marker="o",
                      ms=3, color=colour, capsize=2, label=rf"$\ell$ = {multipole}")
    axis.plot(times, run.mean["noise_floor"], "k--", lw=1, label="white-noise floor")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel(r"backtracking time $T/\tau_s$")
    axis.set_ylabel(r"$\langle C_\ell\rangle(T)$  ($|G| L_c = 1$)")
    axis.set_title(rf"slab, $\eta$ = {ETA}, $r_g/L_c$ = {reduced_rigidity}")
    axis.set_xticks([0.25, 0.5, 1, 2, 4], labels=["0.25", "0.5", "1", "2", "4"])
    axis.set_xticks([], minor=True)
    axis.legend(fontsize=8)
    cl_time, cl_error = np.asarray(run.mean["cl"]), np.asarray(run.standard_error["cl"])
    growth = cl_time[-1] / cl_time[-2] - 1.0
    growth_by_ell = ", ".join(f"ℓ = {ell}: {growth[ell]:+.0%} (±{cl_error[-1, ell] / cl_time[-1, ell]:.0%} error)"
                              for ell in (1, 2, 4, 8))
    print(f"r_g/L_c = {reduced_rigidity}: growth of ⟨C_ℓ⟩ over the last interval "
          f"(T = {times[-2]:.2g} → {times[-1]:.2g} τ_s): {growth_by_ell}")
show(figure)

# %% [markdown]
# ### $C_\ell/C_1$: simulation against theory
#
# Theory: the steady state of the slab pair rate on the same modes, (i) with the package's default pair time
# $\Omega\Delta T = a(\Omega\tau_s)^{1/3}$ with the calibrated $a$ (`DEFAULT_PAIR_TIME_PREFACTOR`, printed in the
# legend), and (ii) with $\Omega\Delta T$ scanned to minimise χ² over
# the usable multipoles (those above 10× the white-noise floor and at most $N_\mathrm{side}$). Fitting
# $\Omega\Delta T$ this way is the calibration that `validation.calibration` performs across many cases.

# %%
#: scanned ΩΔT; below ~0.05 the theory's shape no longer changes (validation.calibration.PAIR_TIME_RANGE)
PAIR_TIME_GRID = np.geomspace(0.05, 200.0, 13 if QUICK else 25)
figure, axes = plt.subplots(1, len(slab_runs), figsize=(5.5 * len(slab_runs), 4.4), layout="constrained",
                            squeeze=False)
for axis, (reduced_rigidity, item) in zip(axes[0], slab_runs.items()):
    run = item["run"]
    mean = np.asarray(run.mean["cl"][-1])
    spectrum = compare.EnsembleSpectrum.from_moments(mean, run.mean["cl_products"][-1], run.count)
    ratio_spectrum = compare.cl_ratio(spectrum)  # delta method, includes the C_ℓ-C_1 covariance
    ratio, ratio_error = ratio_spectrum.ratio, ratio_spectrum.standard_error
    floor = float(run.mean["noise_floor"][-1])
    multipoles = spectrum.ell
    usable = compare.usable_multipoles(spectrum, floor, SLAB_NSIDE)  # > 10× floor and ℓ ≤ N_side

    default_ratio, params = slab_theory_ratio(reduced_rigidity)
    chi2_scan = []
    for pair_time in PAIR_TIME_GRID:
        try:
            candidate = slab_theory_ratio(reduced_rigidity, pair_time)[0]
        except an.ParameterError:
            # k_max r_g ΩΔT too large for the pair-rate series (PairRate's own limit): this pair time is skipped
            chi2_scan.append(np.inf)
            continue
        chi2_scan.append(float(np.sum(((ratio[usable] - candidate[usable]) / ratio_error[usable]) ** 2)))
    skipped = int(np.sum(np.isinf(chi2_scan)))
    if skipped:
        print(f"r_g/L_c = {reduced_rigidity}: {skipped} largest ΩΔT of the scan skipped (pair-rate series too long)")
    best_pair_time = float(PAIR_TIME_GRID[int(np.argmin(chi2_scan))])
    best_ratio, _ = slab_theory_ratio(reduced_rigidity, best_pair_time)
    doubled, _ = slab_theory_ratio(reduced_rigidity, best_pair_time, 2 * THEORY_LMAX)
    chi2_default = float(np.sum(((ratio[usable] - default_ratio[usable]) / ratio_error[usable]) ** 2))
    item.update(usable=usable, chi2_default=chi2_default, chi2_best=min(chi2_scan), best_pair_time=best_pair_time,
                omega_tau_s=params["omega_tau_s"], default_pair_time=params["omega_pair_time"])

    shown = (multipoles >= 2) & (multipoles <= 2 * SLAB_NSIDE)
    used = np.isin(multipoles, usable)
    axis.errorbar(multipoles[used], ratio[used], ratio_error[used], fmt="o", color="k", ms=4, capsize=2,
                  label=f"simulation ({run.count} realisations)")
    axis.errorbar(multipoles[shown & ~used], ratio[shown & ~used], ratio_error[shown & ~used], fmt="o", mfc="none",
                  color="0.6", ms=4, capsize=2, label="simulation, not used (floor / ℓ > N_side)")
    theory_ell = np.arange(2, 2 * SLAB_NSIDE + 1)
    axis.plot(theory_ell, default_ratio[theory_ell], "-", color="C0", lw=2,
              label=rf"theory, a = {DEFAULT_PAIR_TIME_PREFACTOR:g} "
                    rf"($\Omega\Delta T$ = {params['omega_pair_time']:.3g}), χ² = {chi2_default:.0f}")
    axis.plot(theory_ell, best_ratio[theory_ell], "--", color="C3", lw=2,
              label=rf"theory, best $\Omega\Delta T$ = {best_pair_time:.3g}, χ² = {min(chi2_scan):.0f}")
    # the ensemble-mean map's own power (unbiased: (N C[mean map] - <C>)/(N - 1)); with B0 the mean map is
    # axisymmetric but not a pure dipole (docs/physics/mixing_ode.md#caveats), a part the isotropised closure of the ODE
    # does not contain
    mean_map_power = hp.anafast(np.asarray(run.mean["maps"][-1], dtype=float), lmax=2 * SLAB_NSIDE)
    mean_field = compare.mean_field_power(mean_map_power, mean, run.count) / mean[1]
    positive = shown & (mean_field > 0)
    axis.plot(multipoles[positive], mean_field[positive], "^", color="C2", ms=5,
              label="ensemble-mean map only (axisymmetric part)")
    item["mean_field_fraction"] = mean_field[usable] / ratio[usable] if usable.size else np.array([])
    axis.axhline(floor / mean[1], color="0.5", ls=":", lw=1, label="white-noise floor / C_1")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel(r"$\ell$")
    axis.set_ylabel(r"$\langle C_\ell\rangle/\langle C_1\rangle$")
    ticks = [tick for tick in (2, 3, 5, 10, 20, 30, 50) if tick <= 2 * SLAB_NSIDE]
    axis.set_xticks(ticks, labels=[str(tick) for tick in ticks])
    axis.set_xticks([], minor=True)
    axis.set_title(rf"slab, $\eta$ = {ETA}, $r_g/L_c$ = {reduced_rigidity}, T = {TIME_FACTOR:g}$\tau_s$, "
                   rf"$N_\mathrm{{side}}$ = {SLAB_NSIDE}")
    axis.legend(fontsize=7)
    usable_range = f"{usable.min()}..{usable.max()}" if usable.size else "-"
    lmax_change = np.max(np.abs(doubled[usable] / best_ratio[usable] - 1)) if usable.size else float("nan")
    print(f"r_g/L_c = {reduced_rigidity}: usable ℓ = {usable_range}; "
          f"χ²(a = {DEFAULT_PAIR_TIME_PREFACTOR:g}) = {chi2_default:.1f}, "
          f"χ²(best ΩΔT = {best_pair_time:.3g}) = {min(chi2_scan):.1f} for {usable.size} multipoles; "
          f"Ωτ_s = {params['omega_tau_s']:.3g}, "
          f"so the best ΩΔT means a = {best_pair_time / params['omega_tau_s'] ** (1 / 3):.2g}; "
          f"theory ℓmax 48 → 96 changes the best-fit ratio by ≤ {lmax_change:.1%}")
    scanned = PAIR_TIME_GRID[np.isfinite(chi2_scan)]
    if best_pair_time in (scanned[0], scanned[-1]):
        print(f"    the best ΩΔT lies at the edge of the scanned range {scanned[0]:.3g}..{scanned[-1]:.3g}: "
              "no pair time in the model reproduces the simulated shape")
    print(f"    fraction of the simulated C_ℓ/C_1 (usable ℓ) carried by the ensemble-mean map: "
          f"{np.round(item['mean_field_fraction'], 2)}")
show(figure)

# %% [markdown]
# **How to read this.** χ² is diagonal, over the usable multipoles listed above; the ratios at different $\ell$
# share $C_1$ and are weakly correlated. A χ² much larger than the number of multipoles at the calibrated $a$ means that
# the default pair time does not describe this simulation. Whether a single $\Omega\Delta T$ then fixes the
# shape is shown by the dashed curve and its χ². A best $\Omega\Delta T$ at the edge of the scan means that no
# pair time does (the theory's shape saturates there).
#
# Three caveats limit what this comparison can show:
#
# * The simulated multipoles are **not converged** if the growth printed in the convergence section is still
#   significant at the last time. A steady-state theory is then compared with a transient. Where $C_{\ell\ge2}$
#   grow faster than $C_1$ the simulated ratios are lower limits of their steady-state values.
# * The ensemble-mean map (green triangles) is the part of the anisotropy that the isotropised closure of the
# ODE cannot describe (docs/physics/mixing_ode.md#closure, docs/physics/mixing_ode.md#caveats). Its printed fraction
# says how much of the simulated ratio it carries.
# * With $N_\mathrm{side} = 16$ and 8 realisations (quick mode) only a few multipoles clear the noise floor.
#
# Do not read agreement into the plot beyond what these numbers say. The full mode, and `cr-anisotropy validate`
# with `validation.calibration` (per-ℓ convergence test before the fit, many cases), are the stronger test.
