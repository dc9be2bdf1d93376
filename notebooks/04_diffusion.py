# %% [markdown]
# # 04 — Running diffusion coefficients, subdiffusion and the heuristic $\kappa_\perp$
#
# Test particles in **isotropic Kolmogorov turbulence plus a regular field** $\mathbf B_0 = B_0\hat z$
# (`validation.simulator.diffusion.diffusion_realisation`), with the running coefficients of
# docs/physics/conventions.md#running-diffusion,
# $d_\parallel(t) = \tfrac12 d\langle\Delta z^2\rangle/dt$ and
# $d_\perp(t) = \tfrac12 d\langle\Delta r_\perp^2\rangle/dt$ (twice the per-component value), and the field-line
# coefficient $d_\mathrm{FL}(z) = \tfrac12 d\langle\Delta r_\perp^2\rangle/dz$ from field lines traced in the same
# turbulence.
#
# Perpendicular transport is first **ballistic**, then **subdiffusive** while particles still move back and forth
# along the same wandering field lines (compound diffusion, $\langle\Delta r_\perp^2\rangle\propto t^{1/2}$). At late
# times it becomes diffusive again once particles decorrelate from their field lines. The **heuristic model** of
# the talk (Kuhlen, Mertsch & Phan, arXiv:2211.05881) builds $d_\perp$ from $d_\parallel$ and $d_\mathrm{FL}$
# (`anisotropy.transport.heuristic_perpendicular_diffusion`):
#
# $$d_\perp(t) = \frac{d_\mathrm{FL}\bigl(\sqrt{\langle\Delta z^2\rangle}\bigr)}{\sqrt{\langle\Delta z^2\rangle}}\,
#   d_\parallel(t),\qquad \langle\Delta z^2\rangle = 2\int_0^t d_\parallel\,dt'.$$
#
# Units: lengths in $L_c$, times in $L_c/c$, coefficients in $cL_c$; $r_g$ in $B_\mathrm{tot}$.
# *Quick mode*: $\eta = 0.2$, $r_g/L_c = 0.1$, 4 realisations × 200 particles, 32 modes per decade
# (docs/physics/conventions.md#turbulence-modes asks
# ≥ 256 for diffusion work, so the quick numbers are indicative). Full mode: 8 × 400 particles, 256 modes per
# decade (about 15 minutes on one core).

# %%
import math
import os

import matplotlib.pyplot as plt
import numpy as np
from scipy import optimize

import anisotropy as an
from anisotropy import transport
from validation.simulator import ensemble
from validation.simulator.config import DiffusionConfig, TurbulenceConfig
from validation.simulator.diffusion import diffusion_realisation

QUICK = os.environ.get("CR_ANISOTROPY_QUICK") == "1"
#: η = 0.2: weak enough for field lines to stay coherent over many L_c, so that the compound-subdiffusive
#: phase is visible (at η = 0.5 it is barely present), strong enough for τ_s ≈ a few L_c/c at r_g/L_c = 0.1
ETA, REDUCED_RIGIDITY, LMIN_OVER_LMAX = 0.2, 0.1, 1e-2
MODES_PER_DECADE = 32 if QUICK else 256
REALISATIONS = 4 if QUICK else 8
PARTICLES = 200 if QUICK else 400
FIELDLINES = 200 if QUICK else 400
TOTAL_TIME = 200.0 if QUICK else 300.0
SEED = 2211

plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 130, "font.size": 11, "axes.titlesize": 11,
                     "legend.fontsize": 9, "axes.grid": True, "grid.alpha": 0.3})


def show(figure):
    """Render a figure into the notebook once and release it (works under any matplotlib backend)."""
    from IPython.display import display

    display(figure)
    plt.close(figure)

print(f"cr-anisotropy {an.__version__}; quick mode: {QUICK}")

# %%
turbulence = TurbulenceConfig(kind="isotropic", eta=ETA, lmin_over_lmax=LMIN_OVER_LMAX,
                              modes_per_decade=MODES_PER_DECADE)
config = DiffusionConfig(turbulence=turbulence, reduced_rigidity=REDUCED_RIGIDITY, particles=PARTICLES,
                         time=TOTAL_TIME, n_times=40, first_time=0.03, fieldlines=FIELDLINES,
                         fieldline_length=TOTAL_TIME)
run = ensemble.run(diffusion_realisation, config, seed=SEED, realisations=REALISATIONS, progress=False)
mean, error = run.mean, run.standard_error
times = np.asarray(mean["times"])
print(f"η = {ETA}, r_g/L_c = {REDUCED_RIGIDITY}, {turbulence.n_modes} modes (L_min/L_max = {LMIN_OVER_LMAX}), "
      f"Boris step {config.timestep:.3g} L_c/c; {run.count} realisations × {PARTICLES} particles and "
      f"{FIELDLINES} field lines; {run.wall_seconds:.1f} s; root seed {run.root_seed}")

# %% [markdown]
# ## 1. Running coefficients $d_\parallel(t)$ and $d_\perp(t)$
#
# Bands: ±1 standard error over realisations. Thin lines are exact ballistic limits for isotropic initial
# directions, $d_\parallel = t/3$ and $d_\perp = 2t/3$. The right panel shows the local exponent
# $\alpha = d\ln\langle\Delta^2\rangle/d\ln t$: 2 is ballistic, 1 diffusive, and $\alpha_\perp < 1$ is
# subdiffusive. If particles are tied to field lines that random-walk ($\langle\Delta r_\perp^2\rangle\propto|z|$),
# then $\langle\Delta r_\perp^2\rangle\propto\langle\Delta z^2\rangle^{1/2}$, i.e. $\alpha_\perp = \alpha_\parallel/2$
# (dashed): 1/2 once the parallel motion is diffusive (compound diffusion). During the first gyro-periods (grey)
# $r_\perp$ saturates on the Larmor orbit, and $\alpha_\perp$ dips, even below 0, for that reason alone.

# %%
d_parallel, d_perp = np.asarray(mean["d_parallel"]), np.asarray(mean["d_perp"])
d_parallel_error, d_perp_error = np.asarray(error["d_parallel"]), np.asarray(error["d_perp"])
alpha_parallel = np.gradient(np.log(mean["msd_parallel"]), np.log(times))
alpha_perp = np.gradient(np.log(mean["msd_perp"]), np.log(times))
#: the first gyro-periods (2π r_g/c each): r_⊥ saturates on the Larmor orbit, α_⊥ dips for a reason that is
#: not field-line physics, so the subdiffusive window is searched only after three of them
gyration_end = 3 * 2 * math.pi * REDUCED_RIGIDITY
subdiffusive = (alpha_perp < 0.75) & (times > gyration_end)

figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6), layout="constrained")
for values, spread, colour, label in ((d_parallel, d_parallel_error, "C0", r"$d_\parallel$"),
                                      (d_perp, d_perp_error, "C3", r"$d_\perp$")):
    left.loglog(times, values, color=colour, lw=2, label=label)
    left.fill_between(times, np.clip(values - spread, 1e-6, None), values + spread, color=colour, alpha=0.2)
early = times < 1.0
left.loglog(times[early], times[early] / 3, color="C0", lw=0.8, ls="--", label=r"ballistic $t/3$")
left.loglog(times[early], 2 * times[early] / 3, color="C3", lw=0.8, ls="--", label=r"ballistic $2t/3$")
if np.any(subdiffusive):
    start, stop = times[subdiffusive][0], times[subdiffusive][-1]
    guide = np.geomspace(start, min(max(stop, 3.0 * start), times[-1]), 10)
    left.loglog(guide, 1.5 * d_perp[subdiffusive][0] * (guide / start) ** -0.5, "k:", lw=1.2,
                label=r"$\propto t^{-1/2}$ (compound subdiffusion)")
left.axvspan(times[0], gyration_end, color="0.9", zorder=0, label="first 3 gyro-periods")
left.set_ylim(0.2 * np.min(d_perp[times > gyration_end]), 2.0 * np.max(d_parallel))
left.set_xlabel(r"$ct/L_c$")
left.set_ylabel(r"running coefficient / $(cL_c)$")
left.set_title(rf"isotropic turbulence + $B_0$, $\eta$ = {ETA}, $r_g/L_c$ = {REDUCED_RIGIDITY}")
left.legend(fontsize=8)

right.semilogx(times, alpha_parallel, color="C0", lw=2, label=r"$\alpha_\parallel$")
right.semilogx(times, alpha_perp, color="C3", lw=2, label=r"$\alpha_\perp$")
right.semilogx(times, alpha_parallel / 2, "--", color="C0", lw=1,
               label=r"$\alpha_\parallel/2$: compound prediction for diffusive field lines")
right.axvspan(times[0], gyration_end, color="0.9", zorder=0)
for level, text in ((2.0, "ballistic"), (1.0, "diffusive"), (0.5, "compound subdiffusion")):
    right.axhline(level, color="0.5", ls=":", lw=1)
    right.text(times[0] * 1.1, level + 0.04, text, fontsize=8, color="0.35")
if np.any(subdiffusive):
    right.axvspan(times[subdiffusive][0], times[subdiffusive][-1], color="C3", alpha=0.08,
                  label=r"$\alpha_\perp < 0.75$ (first to last)")
right.set_ylim(-0.2, 2.3)
right.set_xlabel(r"$ct/L_c$")
right.set_ylabel(r"$\alpha = d\ln\langle\Delta^2\rangle/d\ln t$")
right.legend(fontsize=8)
show(figure)

print(f"d_∥ at the last time: {d_parallel[-1]:.3g} ± {d_parallel_error[-1]:.2g} c L_c "
      f"(λ_∥ = 3κ_∥/c = {3 * d_parallel[-1]:.3g} L_c)")
print(f"d_⊥ at the last time: {d_perp[-1]:.3g} ± {d_perp_error[-1]:.2g} c L_c; "
      f"d_⊥/d_∥ = {d_perp[-1] / d_parallel[-1]:.3g}")
if np.any(subdiffusive):
    print(f"α_⊥ < 0.75 for ct/L_c in [{times[subdiffusive][0]:.3g}, {times[subdiffusive][-1]:.3g}], "
          f"minimum α_⊥ after the gyration phase = {alpha_perp[times > gyration_end].min():.2f}")
else:
    print("no subdiffusive interval after the gyration phase "
          f"(α_⊥ ≥ 0.75; minimum {alpha_perp[times > gyration_end].min():.2f})")
print(f"α_⊥ over the last three outputs: {np.round(alpha_perp[-3:], 2)} (1 = diffusive again); "
      f"α_∥ there: {np.round(alpha_parallel[-3:], 2)}")

# %% [markdown]
# ## 2. Field-line wandering $d_\mathrm{FL}(z)$
#
# Field lines are traced in the same realisations (RK4 in arc length) and $d_\mathrm{FL}$ is taken against the
# mean displacement along $\mathbf B_0$, $z = \langle\Delta z\rangle(s)$. Reference lines: the small-$z$
# (ballistic) limit $d_\mathrm{FL}\simeq\tfrac23\,\frac{\eta}{1-\eta}\,z$ (straight lines tilted by
# $\delta\mathbf B_\perp/B_0$ with $\langle\delta B_\perp^2\rangle = \tfrac23\delta B^2$), and the quasi-linear
# asymptote for isotropic turbulence, $d_\mathrm{FL} = \frac{\eta}{4(1-\eta)}L_c$
# (`transport.qlt_fieldline_diffusion` on the same modes), which is formally valid only for $\eta\ll1$.

# %%
z = np.asarray(mean["fieldline_mean_dz"])
d_fieldline, d_fieldline_error = np.asarray(mean["d_fieldline"]), np.asarray(error["d_fieldline"])
ratio = ETA / (1.0 - ETA)
qlt_fieldline = transport.qlt_fieldline_diffusion(ETA, lmin_over_lmax=LMIN_OVER_LMAX,
                                                  modes_per_decade=MODES_PER_DECADE)

figure, axis = plt.subplots(figsize=(7, 4.5), layout="constrained")
axis.loglog(z, d_fieldline, color="C2", lw=2, label=r"simulated $d_\mathrm{FL}(z)$")
axis.fill_between(z, np.clip(d_fieldline - d_fieldline_error, 1e-6, None), d_fieldline + d_fieldline_error,
                  color="C2", alpha=0.2)
small = z < 0.5
axis.loglog(z[small], 2.0 / 3.0 * ratio * z[small], "k--", lw=1,
            label=r"ballistic $\frac{2}{3}\frac{\eta}{1-\eta}z$")
axis.axhline(qlt_fieldline, color="C1", ls=":", lw=1.5, label=rf"QLT $\eta/4(1-\eta)\,L_c$ = {qlt_fieldline:.3g}")
axis.set_xlabel(r"$z = \langle\Delta z\rangle$ along the field line / $L_c$")
axis.set_ylabel(r"$d_\mathrm{FL}$ / $L_c$")
axis.set_title(rf"field-line random walk, $\eta$ = {ETA}")
axis.legend(fontsize=8)
show(figure)
late = z > 10.0
print(f"simulated d_FL averaged over z > 10 L_c: {np.mean(d_fieldline[late]):.3g} L_c (QLT {qlt_fieldline:.3g} L_c)")


# %% [markdown]
# ## 3. The heuristic $\kappa_\perp$ against the simulated $d_\perp$
#
# We fit the talk's smoothly broken power laws (`transport.running_parallel_diffusion`, ballistic → $\kappa_\parallel$;
# `transport.fieldline_diffusion`, ballistic → $d_\mathrm{FL}$) to the simulated $d_\parallel(t)$ and
# $d_\mathrm{FL}(z)$ (least squares in the logarithm, three parameters each), feed the fits into
# `heuristic_perpendicular_diffusion`, and compare with the simulated $d_\perp(t)$. No parameter is fitted to
# $d_\perp$ itself.

# %%
def fit_broken_power_law(function, abscissa, values, spread, start):
    """Fit log f(x; A, x_b, s) to log values; returns (A, x_b, s)."""
    positive = (values > 0) & np.isfinite(values)
    sigma = np.clip(spread[positive] / values[positive], 0.02, None)

    def log_model(x, log_amplitude, log_break, log_sharpness):
        return np.log(function(x, math.exp(log_amplitude), math.exp(log_break), math.exp(log_sharpness)))

    best, _ = optimize.curve_fit(log_model, abscissa[positive], np.log(values[positive]), p0=np.log(start),
                                 sigma=sigma, bounds=(np.log([1e-4, 1e-3, 0.2]), np.log([1e3, 1e3, 10.0])))
    return tuple(float(value) for value in np.exp(best))


kappa_parallel, t_break, sharpness_t = fit_broken_power_law(
    transport.running_parallel_diffusion, times, d_parallel, d_parallel_error, (d_parallel[-1], 1.0, 1.0))
fieldline_valid = np.isfinite(d_fieldline)
d_fl, z_break, sharpness_z = fit_broken_power_law(
    transport.fieldline_diffusion, z[fieldline_valid], d_fieldline[fieldline_valid],
    d_fieldline_error[fieldline_valid], (max(d_fieldline[fieldline_valid][-1], 1e-3), 1.0, 1.0))
print(f"d_∥ fit: κ_∥ = {kappa_parallel:.3g} c L_c, t_b = {t_break:.3g} L_c/c, sharpness {sharpness_t:.2g}")
print(f"d_FL fit: d_FL = {d_fl:.3g} L_c, z_b = {z_break:.3g} L_c, sharpness {sharpness_z:.2g}")


def parallel_model(t):
    return transport.running_parallel_diffusion(t, kappa_parallel, t_break, sharpness_t)


def fieldline_model(length):
    return transport.fieldline_diffusion(length, d_fl, z_break, sharpness_z)


heuristic = transport.heuristic_perpendicular_diffusion(times, parallel_model, fieldline_model)

figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6), layout="constrained")
left.loglog(times, d_parallel, "o", ms=3, color="C0", label=r"simulated $d_\parallel$")
left.loglog(times, parallel_model(times), "-", color="C0", lw=1.5, label="broken power-law fit")
left.loglog(z[fieldline_valid], d_fieldline[fieldline_valid], "s", ms=3, color="C2",
            label=r"simulated $d_\mathrm{FL}(z)$ (x-axis: $z/L_c$)")
left.loglog(z[fieldline_valid], fieldline_model(z[fieldline_valid]), "-", color="C2", lw=1.5, label="fit")
left.set_xlabel(r"$ct/L_c$ (or $z/L_c$)")
left.set_ylabel(r"$d$ / $(cL_c)$, $d_\mathrm{FL}/L_c$")
left.set_title("inputs of the heuristic model")
left.legend(fontsize=8)

right.axvspan(times[0], gyration_end, color="0.9", zorder=0, label="first 3 gyro-periods")
right.loglog(times, d_perp, color="C3", lw=2, label=r"simulated $d_\perp$")
right.fill_between(times, np.clip(d_perp - d_perp_error, 1e-6, None), d_perp + d_perp_error, color="C3", alpha=0.2)
right.loglog(times, heuristic, "k--", lw=2,
             label=r"heuristic $d_\mathrm{FL}(\sqrt{\langle\Delta z^2\rangle})\,d_\parallel"
                   r"/\sqrt{\langle\Delta z^2\rangle}$")
right.set_ylim(0.2 * np.min(d_perp[times > gyration_end]), 3.0 * np.max(d_perp))
right.set_xlabel(r"$ct/L_c$")
right.set_ylabel(r"$d_\perp$ / $(cL_c)$")
right.set_title(r"heuristic $\kappa_\perp$ vs simulation (no fit to $d_\perp$)")
right.legend(fontsize=8)
show(figure)

with np.errstate(divide="ignore", invalid="ignore"):
    log_ratio = np.where((d_perp > 0) & (heuristic > 0), np.log10(heuristic / d_perp), np.nan)
for label, chosen in (("t < 1", times < 1.0), ("1 ≤ t < 10", (times >= 1.0) & (times < 10.0)),
                      ("t ≥ 10", times >= 10.0)):
    chosen &= np.isfinite(log_ratio)
    if np.any(chosen):
        print(f"heuristic / simulated d_⊥ for ct/L_c {label}: median {10 ** np.median(log_ratio[chosen]):.2g}, "
              f"range {10 ** log_ratio[chosen].min():.2g}..{10 ** log_ratio[chosen].max():.2g} "
              f"({chosen.sum()} outputs with d_⊥ > 0)")

# %% [markdown]
# **Reading the comparison.** During the first gyro-periods (grey) the simulated $d_\perp$ is the Larmor motion of
# the particles about their guiding centres. The heuristic model (guiding centres tied to field lines) does not
# contain it, so it lies far below there. In the compound-subdiffusive window the printed ratio for
# $1\le ct/L_c<10$ says how close the model comes. Once both inputs are diffusive, the heuristic decays as
# $t^{-1/2}$ by construction and has no mechanism for the late-time return to normal perpendicular diffusion.
# The simulation shows that return where $\alpha_\perp$ climbs back towards 1 and departs from
# $\alpha_\parallel/2$ (section 1). A ratio well below 1 at the latest times is this missing physics, not a
# numerical error. Quick-mode runs have few modes per decade, few realisations and short times; the full mode is
# the one to quote.
