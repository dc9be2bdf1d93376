r"""The validation report: theory against simulation, with errors, as Markdown plus PNG figures (issue 5 item 4).

:func:`build_report` writes ``report.md``, ``numbers.json`` and the figures into a directory, atomically (everything
is built in a temporary sibling directory which is renamed onto the target at the end; an interrupted run leaves
the previous report untouched).  Sections:

1. **Toy exact test** (docs/physics/toy_model.md#toy-model): :mod:`validation.toy` Monte Carlo against
   :func:`anisotropy.evolve` with the
   toy rate, per-ℓ z-scores (error model: ensemble scatter; the ODE has no statistical error and its ℓmax
   truncation is reported).
2. **Slab and isotropic C_ℓ vs theory, ΔT calibration** (docs/physics/mixing_ode.md#pair-time,
   docs/physics/pair_rates.md, docs/physics/simulator.md): :func:`validation.calibration.
   run_calibration` (its JSON and figures are copied in and summarised).
3. **Convergence in T** (docs/physics/simulator.md#convergence-in-time) from the calibration ensembles, and **in
   N_side** (docs/physics/simulator.md#white-noise-floor) from a paired
   ensemble of one calibration case at three resolutions (same seeds, so the turbulence is identical and the
   difference is the resolution alone).
4. **Transport** (issue 5 item 3): :func:`validation.transport_checks.run_transport_checks`.

Every number enters one table with its error and its reference.  Error model (stated in the report): ensemble
scatter across turbulence realisations (standard error, or the delete-one jackknife for nonlinear functions of
means); the Gaussian cosmic variance :math:`2C_\ell^2/(2\ell+1)` per realisation is shown as a diagnostic; the
white-noise floor :math:`4\pi\sigma^2/N_\mathrm{pix}` and ℓ ≤ N_side bound the multipoles compared.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from anisotropy._version import __version__
from anisotropy.errors import ParameterError
from anisotropy.io import jsonable

__all__ = [
    "DEFAULT_SEED",
    "ReportSettings",
    "build_report",
    "component_seed",
    "nside_convergence",
    "toy_exact_test",
]

#: default root seed of `cr-anisotropy validate` (recorded in the report header)
DEFAULT_SEED = 20261124
#: report sections, in order (tests check that each heading is present)
SECTIONS = ("Toy exact test", "C_l against theory and ΔT calibration", "Convergence in T and N_side",
            "Transport", "All numbers")
#: toy parameters of docs/physics/toy_model.md#toy-model
TOY_D_S, TOY_KAPPA_C = 0.5, 5.0
#: ODE truncation of the toy reference: C_ℓ≤10 at T ≤ 2 change by < 0.2 % from ℓmax = 320 to 640
#: (tests/validation/test_toy.py), far below the Monte Carlo's errors
TOY_ODE_LMAX = 320
#: |z| above which a toy multipole is flagged in the report (two-sided 0.3 % per multipole for Gaussian errors)
Z_FLAG = 3.0


@dataclass(frozen=True)
class ReportSettings:
    """Sizes of a report run.  :meth:`quick` fits in minutes on 2 cores; :meth:`full` is the committed report."""

    quick: bool
    toy_times: tuple = (0.5, 1.0, 2.0)
    toy_realisations: int = 24
    toy_dt: float | None = 0.005
    nside_case: tuple = ("slab", 0.5, 0.3)
    nsides: tuple = (4, 8, 16)
    nside_realisations: int = 4
    calibration_cases: tuple | None = None
    transport_cases: tuple | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def for_mode(cls, quick: bool) -> ReportSettings:
        if quick:
            return cls(quick=True)
        # default toy dt (0.0025, weak bias ≈ 0.5 %) against errors of ≈ 2-4 % with 256 realisations
        return cls(quick=False, toy_realisations=256, toy_dt=None, nsides=(8, 16, 32), nside_realisations=8)


def component_seed(seed: int, component: int) -> int:
    """Independent 32-bit seed of report component ``component`` from the root ``seed`` (recorded in the header)."""
    return int(np.random.SeedSequence((int(seed), int(component))).generate_state(1, np.uint32)[0])


# ---------------------------------------------------------------------------------------------------- figures
def _figure(width=6.4, height=4.4, rows=1):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots(rows, 1, sharex=True, height_ratios=[3, 1.4] if rows == 2 else None)
    return figure, axes


def _save(figure, path: Path) -> str:
    figure.savefig(path, format="png", dpi=110)
    return path.name


# ---------------------------------------------------------------------------------------------------- 1. toy
def toy_exact_test(settings: ReportSettings, seed: int, out_dir: Path) -> dict:
    """Toy Monte Carlo vs the mixing ODE (docs/physics/toy_model.md#toy-model): z-scores per (T, ℓ), ℓ = 1..10, figure
    ``toy.png``."""
    import anisotropy as an
    from validation import toy

    start = time.perf_counter()
    options = {} if settings.toy_dt is None else {"dt": settings.toy_dt}
    result = toy.simulate(TOY_D_S, TOY_KAPPA_C, settings.toy_times, settings.toy_realisations, None, seed, **options)
    gamma = an.rate_matrix(an.PairRate.toy(TOY_D_S, TOY_KAPPA_C), TOY_ODE_LMAX)
    ode = an.evolve(gamma, source=toy.toy_source(TOY_D_S), times=list(result.times))
    half = an.evolve(an.rate_matrix(an.PairRate.toy(TOY_D_S, TOY_KAPPA_C), TOY_ODE_LMAX // 2),
                     source=toy.toy_source(TOY_D_S), times=list(result.times))
    lmax = result.mean.shape[1] - 1
    ell = np.arange(1, lmax + 1)
    z = (result.mean[:, 1:] - ode[:, 1 : lmax + 1]) / result.stderr[:, 1:]
    figure, (top, bottom) = _figure(6.4, 6.0, rows=2)
    for index, t in enumerate(result.times):
        colour = f"C{index}"
        top.errorbar(ell, result.mean[index, 1:], result.stderr[index, 1:], fmt="o", ms=3, color=colour,
                     label=f"Monte Carlo T = {t:g}")
        top.fill_between(ell, np.clip(result.mean[index, 1:] - result.cosmic_variance_stderr[index, 1:], 1e-12,
                                      None),
                         result.mean[index, 1:] + result.cosmic_variance_stderr[index, 1:], color=colour, alpha=0.12)
        top.plot(ell, ode[index, 1 : lmax + 1], "-", color=colour, lw=1, label=f"mixing ODE T = {t:g}")
        bottom.plot(ell, z[index], "o-", color=colour, ms=3)
    top.set_yscale("log")
    top.set_ylabel(r"$\langle C_\ell\rangle$")
    top.set_title(f"toy (D_s = {TOY_D_S}, κ_c = {TOY_KAPPA_C}): {result.realisations} realisations; "
                  "bands: Gaussian cosmic variance / √N")
    top.legend(fontsize=6.5, ncol=2)
    bottom.axhspan(-2, 2, color="0.85")
    bottom.set_ylabel("z = (MC − ODE)/σ")
    bottom.set_xlabel(r"$\ell$")
    name = _save(figure, out_dir / "toy.png")
    return {
        "times": result.times.tolist(), "ell": ell.tolist(), "mc": result.mean[:, 1:].tolist(),
        "stderr": result.stderr[:, 1:].tolist(),
        "cosmic_variance_stderr": result.cosmic_variance_stderr[:, 1:].tolist(),
        "ode": ode[:, 1 : lmax + 1].tolist(), "z": z.tolist(),
        "ode_truncation_change": float(np.max(np.abs(half[:, 1 : lmax + 1] / ode[:, 1 : lmax + 1] - 1.0))),
        "alias_floor": result.alias_floor.tolist(), "realisations": result.realisations,
        "n_theta": result.grid.n_theta, "dt": result.dt, "seed": int(seed), "figure": name,
        "max_abs_z": float(np.max(np.abs(z))), "chi2": float(np.sum(z**2)), "dof": int(z.size),
        "wall_seconds": time.perf_counter() - start,
    }


# ---------------------------------------------------------------------------------------------------- 3. N_side
def nside_convergence(settings: ReportSettings, seed: int, out_dir: Path, executor=None) -> dict:
    r"""Paired :math:`C_\ell` of one calibration case at several N_side (same seeds), figure ``nside.png``.

    For every realisation the turbulence is the same at all resolutions, so the ratio
    :math:`\langle C_\ell\rangle_{N}/\langle C_\ell\rangle_{N_\max}` has a jackknife error that contains only the
    resolution effect's scatter.  Compared at ℓ ≤ the smallest N_side (docs/physics/simulator.md#white-noise-floor;
    :data:`validation.compare.
    NSIDE_FRACTION`) and at the last backtracking time.
    """
    from dataclasses import replace

    from . import calibration
    from .simulator.ensemble import SerialExecutor, realisation_seed
    from .transport_checks import jackknife

    start = time.perf_counter()
    executor = executor if executor is not None else SerialExecutor()
    kind, eta, rho = settings.nside_case
    case = calibration.CalibrationCase(kind, eta, rho, settings.nsides[-1], settings.nside_realisations, 4.0)
    root = np.random.SeedSequence(int(seed))
    per_nside = {}
    floors = {}
    for nside in settings.nsides:
        config = replace(calibration.case_config(case), nside=nside)
        futures = [executor.submit(calibration.calibration_realisation, config, realisation_seed(root, j))
                   for j in range(settings.nside_realisations)]
        results = [future.result() for future in futures]
        per_nside[nside] = np.array([result["cl"][-1] for result in results])
        floors[nside] = float(np.mean([result["noise_floor"][-1] for result in results]))
    lmax = min(settings.nsides)
    reference = settings.nsides[-1]
    rows = {}
    figure, axes = _figure()
    for index, nside in enumerate(settings.nsides[:-1]):
        stacked = np.concatenate([per_nside[nside][:, 1 : lmax + 1], per_nside[reference][:, 1 : lmax + 1]], axis=1)
        ratio, error = jackknife(stacked, lambda mean: mean[:lmax] / mean[lmax:])
        rows[nside] = {"ratio": ratio.tolist(), "error": error.tolist(),
                       "max_abs_deviation_sigma": float(np.max(np.abs(ratio - 1.0) / error))}
        axes.errorbar(np.arange(1, lmax + 1) + 0.1 * index, ratio, error, fmt="o-", ms=3, color=f"C{index}",
                      label=f"N_side {nside} / {reference}")
    axes.axhline(1.0, color="0.5", lw=0.8)
    axes.set_xlabel(r"$\ell$")
    axes.set_ylabel(r"$\langle C_\ell\rangle_{N_{side}} / \langle C_\ell\rangle_{N_{max}}$")
    axes.set_title(f"N_side convergence: {case.kind} η={eta:g} r_g/L_c={rho:g}, {settings.nside_realisations} paired "
                   f"realisations, cT/L_c = {calibration.case_config(case).times[-1]:.3g}")
    axes.legend(fontsize=8)
    name = _save(figure, out_dir / "nside.png")
    return {"case": {"kind": kind, "eta": eta, "reduced_rigidity": rho}, "nsides": list(settings.nsides),
            "realisations": settings.nside_realisations, "lmax": lmax, "reference_nside": reference,
            "rows": {str(key): value for key, value in rows.items()},
            "mean_cl": {str(key): value.mean(axis=0)[: 2 * min(settings.nsides) + 1].tolist()
                        for key, value in per_nside.items()},
            "noise_floor": {str(key): value for key, value in floors.items()},
            "seed": int(seed), "figure": name, "wall_seconds": time.perf_counter() - start}


# ---------------------------------------------------------------------------------------------------- markdown
def _fmt(value, error=None, digits=3):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if error is None or not math.isfinite(error):
        return f"{value:.{digits}g}"
    return f"{value:.{digits}g} ± {error:.2g}"


class _Numbers:
    """Rows of the table of every number: section, quantity, value, error, reference, note."""

    def __init__(self):
        self.rows = []

    def add(self, section, quantity, value, error=None, reference="", note=""):
        self.rows.append({"section": section, "quantity": quantity,
                          "value": None if value is None else float(value),
                          "error": None if error is None else float(error), "reference": reference, "note": note})

    def markdown(self):
        lines = ["| section | quantity | value ± error | reference | note |", "|---|---|---|---|---|"]
        for row in self.rows:
            lines.append(f"| {row['section']} | {row['quantity']} | {_fmt(row['value'], row['error'])} | "
                         f"{row['reference']} | {row['note']} |")
        return "\n".join(lines)


def _toy_markdown(toy_result, numbers):
    lines = [f"## 1. {SECTIONS[0]}", "",
             "White-noise rotation toy (docs/physics/toy_model.md#toy-model; D_s = 0.5, κ_c = 5, v = |G| = 1): the Monte Carlo "  # noqa: E501
             f"(`validation.toy`, {toy_result['realisations']} realisations, n_θ = {toy_result['n_theta']}, "
             f"dt = {toy_result['dt']:g}, seed {toy_result['seed']}) against the mixing-matrix ODE "
             f"(`anisotropy.evolve`, ℓmax = {TOY_ODE_LMAX}; halving ℓmax changes the compared C_ℓ by at most "
             f"{100 * toy_result['ode_truncation_change']:.2g} %).  Error model: ensemble scatter of the Monte Carlo; "
             "the ODE is exact for this model.  z = (MC − ODE)/σ.", "",
             f"![toy]({toy_result['figure']})", "",
             "| T | " + " | ".join(f"z(ℓ={ell})" for ell in toy_result["ell"]) + " |",
             "|---|" + "---|" * len(toy_result["ell"])]
    for index, t in enumerate(toy_result["times"]):
        lines.append(f"| {t:g} | " + " | ".join(f"{value:+.2f}" for value in toy_result["z"][index]) + " |")
        for ell_index, ell in enumerate(toy_result["ell"]):
            numbers.add("toy", f"C_{ell}(T={t:g}) MC/ODE",
                        toy_result["mc"][index][ell_index] / toy_result["ode"][index][ell_index],
                        toy_result["stderr"][index][ell_index] / toy_result["ode"][index][ell_index],
                        "mixing ODE (exact)", f"z = {toy_result['z'][index][ell_index]:+.2f}")
    flagged = int(np.sum(np.abs(np.asarray(toy_result["z"])) > Z_FLAG))
    lines += ["", f"χ² = {toy_result['chi2']:.1f} for {toy_result['dof']} multipoles (independent-error "
              f"approximation); max |z| = {toy_result['max_abs_z']:.2f}; {flagged} multipole(s) with |z| > "
              f"{Z_FLAG:g}.", ""]
    return lines


def _case_comparisons(item):
    """``{comparison: entry}`` of a calibration case (per-comparison format, or the older single top-level fit)."""
    comparisons = item.get("comparisons")
    if isinstance(comparisons, dict):
        return {name: entry for name, entry in comparisons.items() if isinstance(entry, dict)}
    if "fit" in item:
        return {"steady_state": {key: item.get(key) for key in ("fit", "chi2_best", "chi2_default",
                                                                  "at_calibrated_prefactor", "fitted_ells")}}
    return {}


def _global_fits(calibration_result):
    """``{(comparison, kind): fits}`` from either ``fits[comparison][kind]`` or ``fits[kind]``."""
    fits = calibration_result.get("fits") or {}
    flat = {}
    for key, value in fits.items():
        if not isinstance(value, dict):
            continue
        if any(isinstance(inner, dict) and ("fixed_exponent" in inner or "cases" in inner) for inner in value.values()):
            for kind, inner in value.items():
                flat[(key, kind)] = inner
        else:
            flat[("", key)] = value
    return flat


def _chi2_text(entry):
    if not isinstance(entry, dict) or entry.get("chi2") is None:
        return "n/a"
    return f"{entry['chi2']:.3g}/{entry.get('dof', 'n/a')}"


def _calibration_markdown(calibration_result, numbers):
    lines = [f"## 2. {SECTIONS[1]}", "",
             "`validation.calibration.run_calibration` (its own JSON: `calibration/calibration.json`).  Per case the "
             "simulated shape ⟨C_ℓ⟩/⟨C_1⟩ is compared with the mixing-matrix theory on the same discrete modes; "
             "ΩΔT is fitted per case and ΩΔT = a(Ωτ_s)^p across cases (docs/physics/mixing_ode.md#pair-time), separately per turbulence "  # noqa: E501
             "kind.  The isotropic cases (isotropic turbulence plus B0, η < 1) are compared with the isotropic model "
             "with B0 (`PairRate.isotropic(eta=η)`: helical orbits, isotropic tensor in the interaction picture), "
             "whose Ωτ_s is the slab-QLT value (the column κ∥ slab QLT).  "
             f"Error model: {calibration_result.get('error_model', '')}.", ""]
    primary = calibration_result.get("primary_comparison")
    if primary:
        lines += [f"Primary comparison: `{primary}` (see `calibration.json` for the definitions).", ""]
    lines += ["| case | N_r | κ∥ sim (dipole δ_z/3) | κ∥ slab QLT | max Kubo abs(z) | scatter/cosmic variance ℓ=2..4 |",
              "|---|---|---|---|---|---|"]
    for item in calibration_result["cases"]:
        kappa = item["kappa_parallel"]
        kubo = np.abs(np.asarray(item["kubo_check"]["z"], dtype=float))
        ratio_cv = item.get("scatter_over_cosmic_variance", [])
        lines.append(
            f"| {item['name']} | {item['realisations']} | {_fmt(kappa['dipole'], kappa['dipole_error'])} | "
            f"{_fmt(kappa['qlt'])} | {np.nanmax(kubo) if kubo.size else float('nan'):.2f} | "
            f"{', '.join(f'{value:.2f}' for value in ratio_cv[2:5])} |")
        numbers.add("calibration", f"κ∥ {item['name']} (dipole δ_z/3)", kappa["dipole"], kappa["dipole_error"],
                    f"slab QLT {_fmt(kappa['qlt'])}", "Kubo identity δ_z/3 = d∥ checked per interval")
    lines += ["", "| case | comparison | fitted ℓ | best ΩΔT [68 % interval] | χ²/dof best | χ²/dof default a | "
              "χ²/dof calibrated a |", "|---|---|---|---|---|---|---|"]
    for item in calibration_result["cases"]:
        for comparison, entry in _case_comparisons(item).items():
            fit = entry.get("fit") or {}
            ells = entry.get("fitted_ells") or item.get("fitted_ells") or []
            interval = (f"{_fmt(fit.get('pair_time'))} [{_fmt(fit.get('lower'))}, {_fmt(fit.get('upper'))}]"
                        if fit else "no fit")
            calibrated = (entry.get("at_calibrated_prefactor") or {}).get("chi2")
            lines.append(f"| {item['name']} | {comparison} | {','.join(str(ell) for ell in ells) or '-'} | "
                         f"{interval} | {_chi2_text(entry.get('chi2_best'))} | "
                         f"{_chi2_text(entry.get('chi2_default'))} | {_chi2_text(calibrated)} |")
            if fit and fit.get("pair_time") is not None:
                numbers.add("calibration", f"ΩΔT {item['name']} ({comparison})", fit["pair_time"],
                            fit["pair_time"] * fit.get("sigma_log", float("nan")), "theory shape C_ℓ/C_1",
                            "error = ΩΔT·σ(ln ΩΔT)")
        ratio = np.asarray(item["ratio"], dtype=float)
        ratio_error = np.asarray(item["ratio_error"], dtype=float)
        for ell in item.get("usable_ells", []):
            numbers.add("calibration", f"C_{ell}/C_1 {item['name']}", ratio[ell], ratio_error[ell],
                        "theory (see fits)", "usable multipole")
    lines.append("")
    for (comparison, kind), fits in _global_fits(calibration_result).items():
        label = f"{kind}{f' ({comparison})' if comparison else ''}"
        fixed = fits.get("fixed_exponent")
        if fixed:
            lines.append(f"* {label}: a = {_fmt(fixed.get('prefactor'), fixed.get('sigma_prefactor'))} at p = 1/3 "
                         f"(cases {', '.join(fits.get('cases', []))}).")
            numbers.add("calibration", f"prefactor a, {label}, p = 1/3", fixed.get("prefactor"),
                        fixed.get("sigma_prefactor"), "docs/physics/mixing_ode.md#pair-time (O(1))", "")
        power = fits.get("power_law")
        if power:
            lines.append(f"* {label}: free power law a = "
                         f"{_fmt(power.get('prefactor'), power.get('sigma_prefactor'))}, p = "
                         f"{_fmt(power.get('exponent'), power.get('sigma_exponent'))} (1/3 expected).")
            numbers.add("calibration", f"exponent p, {label}", power.get("exponent"), power.get("sigma_exponent"),
                        "1/3 (docs/physics/mixing_ode.md#pair-time, eq. (4.5))", "")
        excluded = fits.get("excluded_no_interior_minimum") or fits.get("excluded_no_fit_or_no_interior_minimum")
        if excluded:
            lines.append(f"* {label}: excluded (no fit or no interior χ² minimum): {', '.join(excluded)}.")
    lines.append("")
    for name, paths in calibration_result.get("figures", {}).items():
        if isinstance(paths, dict):
            for label, path in paths.items():
                lines += [f"![{name} {label}](calibration/{Path(path).name})", ""]
        else:
            lines += [f"![{name}](calibration/{Path(paths).name})", ""]
    return lines


def _convergence_markdown(calibration_result, nside_result, numbers):
    lines = [f"## 3. {SECTIONS[2]}", "", "### Convergence in T", "",
             "Per calibration case: ⟨C_ℓ⟩(T) on log-spaced T (figures `calibration/*_convergence.png` above); a "
             "multipole is converged when its last change is below 10 % of C_ℓ plus 2σ of the change "
             "(`validation.compare.convergence_in_time`).", "",
             "| case | converged ℓ | relative change of C_ℓ over the last interval, ℓ = 1..6 |", "|---|---|---|"]
    for item in calibration_result["cases"]:
        converged = [str(ell) for ell, flag in enumerate(item["converged"]) if flag and ell >= 1]
        changes = item["relative_change_last_interval"][1:7]
        lines.append(f"| {item['name']} | {','.join(converged) or '-'} | "
                     f"{', '.join(f'{value:+.2f}' for value in changes)} |")
    lines += ["", "### Convergence in N_side", "",
              f"{nside_result['case']['kind']} η = {nside_result['case']['eta']:g}, r_g/L_c = "
              f"{nside_result['case']['reduced_rigidity']:g}: {nside_result['realisations']} realisations, each run "
              f"at N_side = {', '.join(str(n) for n in nside_result['nsides'])} with the same turbulence; ratio to "
              f"N_side = {nside_result['reference_nside']} at ℓ ≤ {nside_result['lmax']}, jackknife errors.", "",
              f"![nside]({nside_result['figure']})", "",
              "| N_side | " + " | ".join(f"ℓ={ell}" for ell in range(1, nside_result["lmax"] + 1)) + " |",
              "|---|" + "---|" * nside_result["lmax"]]
    for nside, row in nside_result["rows"].items():
        lines.append(f"| {nside} | " + " | ".join(_fmt(value, error) for value, error in
                                                  zip(row["ratio"], row["error"], strict=True)) + " |")
        for ell, (value, error) in enumerate(zip(row["ratio"], row["error"], strict=True), start=1):
            numbers.add("N_side", f"C_{ell}(N_side={nside})/C_{ell}(N_side={nside_result['reference_nside']})",
                        value, error, "1 (converged)", "")
    lines.append("")
    return lines


def _transport_markdown(transport_result, numbers):
    lines = [f"## 4. {SECTIONS[3]}", "",
             "`validation.transport_checks` (its own JSON: `transport/transport.json`): ensembles of "
             "`validation.simulator.diffusion.diffusion_realisation`; running d∥ = ½ d⟨Δz²⟩/dt, d⊥ = ½ "
             "d⟨Δr⊥²⟩/dt (twice "
             "the per-component value); plateaus by the secant from t_N/4 to t_N; λ = 3κ/c with κ⊥ per component.  "
             f"Error model: {transport_result['error_model']}.", "",
             "| case | N_r × particles | t_N/τ∥ | ballistic ⟨Δz²⟩/((ct)²/3) | κ∥ | κ⊥ | λ∥ | λ⊥ | reference |",
             "|---|---|---|---|---|---|---|---|---|"]
    for item in transport_result["cases"]:
        ballistic = item["ballistic"]
        reference = ""
        if "qlt" in item:
            qlt = item["qlt"]
            reference = (f"slab QLT κ∥ = {qlt['qlt']:.3g} (without the resonance gap μ < {qlt['mu_gap']:.2g}: "
                         f"{qlt['outside_gap']:.3g}); sim/QLT = {_fmt(qlt['ratio'], qlt['ratio_error'])}")
        if "high_rigidity" in item:
            high = item["high_rigidity"]
            isotropy = _fmt(item["isotropy"]["relative_difference"], item["isotropy"]["error"])
            reference = (f"4r_g²/L_c = {high['limit']:.3g}; λ/limit = {_fmt(high['ratio'], high['ratio_error'])}; "
                         f"isotropy ⟨Δr⊥²⟩/2⟨Δz²⟩ − 1 = {isotropy}")
        lines.append(
            f"| {item['name']} | {item['realisations']} × {item['particles']} | {item['last_time_over_tau']:.1f} | "
            f"{_fmt(ballistic['ratio_parallel'], ballistic.get('error_directions', ballistic['error_parallel']), 4)} | "
            f"{_fmt(item['kappa_parallel'], item['kappa_parallel_error'])} | "
            f"{_fmt(item['kappa_perp'], item['kappa_perp_error'])} | "
            f"{_fmt(item['lambda_parallel'], item['lambda_parallel_error'])} | "
            f"{_fmt(item['lambda_perp'], item['lambda_perp_error'])} | {reference} |")
        numbers.add("transport", f"ballistic ratio {item['name']}", ballistic["ratio_parallel"],
                    ballistic.get("error_directions", ballistic["error_parallel"]), "1 (exact, (ct/r_g)² corrections)",
                    f"ct = {ballistic['time']:.3g}; error: sampling of 3μ² over all particles")
        numbers.add("transport", f"λ∥ {item['name']}", item["lambda_parallel"], item["lambda_parallel_error"],
                    reference.split(";")[0], "")
        numbers.add("transport", f"λ⊥ {item['name']}", item["lambda_perp"], item["lambda_perp_error"], "", "")
        if "qlt" in item:
            numbers.add("transport", f"κ∥ sim / slab QLT {item['name']}", item["qlt"]["ratio"],
                        item["qlt"]["ratio_error"],
                        f"bracket [{item['qlt']['outside_gap'] / item['qlt']['qlt']:.3f}, 1]", "QLT systematic")
        if "high_rigidity" in item:
            numbers.add("transport", f"λ / (4r_g²/L_c) {item['name']}", item["high_rigidity"]["ratio"],
                        item["high_rigidity"]["ratio_error"], "→ 1 for r_g ≫ L_max", "")
    lines.append("")
    lines += [f"![running](transport/{transport_result['figures']['running']})", "",
              f"![mean free paths](transport/{transport_result['figures']['mean_free_paths']})", ""]
    for item in transport_result["cases"]:
        if "subdiffusion" not in item:
            continue
        sub = item["subdiffusion"]
        lines += [f"### Intermediate subdiffusion and the heuristic model: {item['name']}", "",
                  f"⟨Δr⊥²⟩ ∝ t^α over t ∈ [{sub['window'][0]:.3g}, {sub['window'][1]:.3g}] L_c/c (τ∥ = "
                  f"{item['tau_parallel']:.3g}, {sub['points']} outputs): **α = {sub['alpha']:.3f} ± "
                  f"{sub['error']:.3f}** (jackknife over {item['realisations']} realisations); the talk quotes "
                  f"0.5–0.7; compound diffusion predicts 1/2.  Smallest local exponent after the gyration phase: "
                  f"{sub['minimum_local_slope_after_gyration']:.3f} (a minimum over noisy points, biased low).", ""]
        numbers.add("transport", f"subdiffusion α {item['name']}", sub["alpha"], sub["error"],
                    "talk 0.5–0.7; compound 0.5", "window [τ∥, √10 τ∥]")
        if "fieldline" in item:
            line = item["fieldline"]
            lines += [f"Field-line diffusion ⟨Δr⊥²⟩/2z at z = {line['z'][-1]:.3g} L_c: "
                      f"{_fmt(line['asymptotic'], line['asymptotic_error'])} L_c, QLT ¼(δB²/B0²)L_c = "
                      f"{line['qlt']:.4g} (ratio {_fmt(line['ratio_to_qlt'], line['ratio_error'])}).", ""]
            numbers.add("transport", f"d_FL {item['name']}", line["asymptotic"], line["asymptotic_error"],
                        f"QLT {line['qlt']:.4g}", "")
        if "heuristic" in item:
            heuristic = item["heuristic"]
            lines.append("Heuristic model d⊥ = d_FL(√⟨Δz²⟩)/√⟨Δz²⟩ · d∥ with the **simulated** d_FL(z) and "
                         "d∥(t), against the simulated d⊥(t) (ratio model/simulation, jackknife):")
            lines.append("")
            for label, window in heuristic["windows"].items():
                if window:
                    lines.append(f"* {label} (t ∈ [{window['window'][0]:.3g}, {window['window'][1]:.3g}]): "
                                 f"{_fmt(window['ratio'], window['error'])} over {window['points']} outputs")
                    numbers.add("transport", f"heuristic/simulated d⊥ ({label}) {item['name']}", window["ratio"],
                                window["error"], "1 if the model holds", "")
            lines.append(f"* late-time exponent of the model's ⟨Δr⊥²⟩: "
                         f"{_fmt(heuristic['model_late_exponent'], heuristic['model_late_exponent_error'])} "
                         "(the model with a constant d_FL and d∥ gives 1/2 for ever: it has no return to diffusion)")
            numbers.add("transport", f"heuristic late exponent {item['name']}", heuristic["model_late_exponent"],
                        heuristic["model_late_exponent_error"], "1/2 (compound)", "")
            lines.append("")
        for key, path in transport_result["figures"].items():
            if key.endswith(item["name"]):
                lines += [f"![{key}](transport/{path})", ""]
    lines += ["High-rigidity limit: λ → 4 r_g²/L_c with the two-sided L_c of docs/physics/conventions.md#correlation-length (≈ L_max/5), i.e. 2 r_g²/L_c' "  # noqa: E501
              "with the one-sided L_c' ≈ L_max/10 (derivation in "
              "`tests/validation/simulator/test_diffusion.py`, whose slow "
              "test measured λ/(4r_g²/L_c) = 1.156 ± 0.013 at r_g = 10 L_c); the discrete modes' own "
              "L_c = π Σ w_n/k_n is used.  The formula holds for r_g ≫ L_max ≈ 5 L_c only: at r_g ≲ L_max the "
              "ratio in the table is above 1 and falls towards it as r_g grows.  Slab QLT ignores the resonance "
              "gap |μ| < 1/(k_max r_g0) of a discrete spectrum; the bracket [QLT without the gap, QLT] is its "
              "stated systematic, and a κ∥ below the bracket is a finding (scattering through 90° faster than "
              "quasi-linear).", ""]
    return lines


# ---------------------------------------------------------------------------------------------------- driver
def build_report(out_dir="validation-report", *, quick: bool = True, seed: int = DEFAULT_SEED, executor=None,
                 settings: ReportSettings | None = None, command: str | None = None, executor_name: str = "serial",
                 workers: int = 1, checkpoint_dir=None, progress: bool = False) -> dict:
    """Run every comparison and write the report into ``out_dir`` atomically; return the numbers (``numbers.json``).

    Parameters
    ----------
    out_dir : path
        Target directory; replaced as a whole at the end (the previous report survives an interrupted run).
    quick : bool
        :meth:`ReportSettings.for_mode` sizes (quick: minutes on 2 cores) unless ``settings`` is given.
    seed : int
        Root seed; component k uses :func:`component_seed` ``(seed, k)``: 0 toy, 1 calibration, 2 N_side, 3 transport.
    executor : concurrent.futures.Executor, optional
        Where the simulator realisations run (default serial).  Not shut down here.
    settings : ReportSettings, optional
        Override the sizes (tests use reduced case lists).
    command : str, optional
        The command line recorded in the header.
    checkpoint_dir : path, optional
        Persistent directory for the calibration ensembles' checkpoints (``checkpoint_dir/calibration/store``): an
        interrupted report rerun with the same arguments resumes there.  Default: checkpoints live in the temporary
        build directory and are discarded.
    progress : bool
        One line per stage on standard error (``validate [k/4] ...``) and the calibration ensembles' progress bars.
    """
    from . import calibration, transport_checks

    seed = int(seed)
    if seed < 0:
        raise ParameterError("seed", f"must be a non-negative integer, got {seed}")
    settings = settings if settings is not None else ReportSettings.for_mode(quick)
    target = Path(out_dir).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    started = time.perf_counter()
    started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    seeds = {name: component_seed(seed, index) for index, name in
             enumerate(("toy", "calibration", "nside", "transport"))}
    def stage(index: int, text: str) -> None:
        if progress:
            print(f"validate [{index}/4] {text} ({time.perf_counter() - started:.0f} s)", file=sys.stderr,
                  flush=True)

    try:
        stage(1, "toy model against the mixing ODE")
        toy_result = toy_exact_test(settings, seeds["toy"], building)
        calibration_dir = building / "calibration"
        if checkpoint_dir is not None:
            calibration_dir = Path(checkpoint_dir).resolve() / "calibration"
        stage(2, "pair-time calibration ensembles")
        calibration_result = calibration.run_calibration(settings.quick, seeds["calibration"], calibration_dir,
                                                         executor, cases=settings.calibration_cases,
                                                         progress=progress)
        if checkpoint_dir is not None:
            shutil.copytree(calibration_dir, building / "calibration", ignore=shutil.ignore_patterns("store"))
        shutil.rmtree(building / "calibration" / "store", ignore_errors=True)  # checkpoints, not results
        stage(3, "N_side convergence")
        nside_result = nside_convergence(settings, seeds["nside"], building, executor)
        stage(4, "transport checks (running diffusion coefficients)")
        transport_result = transport_checks.run_transport_checks(settings.quick, seeds["transport"],
                                                                 building / "transport", executor,
                                                                 cases=settings.transport_cases)
        wall = time.perf_counter() - started
        numbers = _Numbers()
        header = {
            "package_version": __version__,
            "command": command or f"cr-anisotropy validate {'--quick ' if settings.quick else ''}--seed {seed}",
            "seed": seed, "component_seeds": seeds, "quick": settings.quick, "started_utc": started_at,
            "wall_seconds": wall, "executor": executor_name, "workers": workers,
            "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
        }
        lines = ["# cr-anisotropy validation report", "",
                 f"* package version: `{header['package_version']}`",
                 f"* command: `{header['command']}`",
                 f"* root seed: {seed}; component seeds: "
                 + ", ".join(f"{name} {value}" for name, value in seeds.items()),
                 f"* mode: {'quick' if settings.quick else 'full'}; executor {executor_name} × {workers}; started "
                 f"{started_at}; wall time {wall:.0f} s ({wall / 60:.1f} min) on {os.cpu_count()} CPUs",
                 "* error model: ensemble scatter across turbulence realisations (standard error of the mean, or "
                 "delete-one jackknife for nonlinear functions of means); Gaussian cosmic variance 2C_ℓ²/(2ℓ+1) per "
                 "realisation shown as a diagnostic; multipoles restricted by the white-noise floor 4πσ²/N_pix and "
                 "ℓ ≤ N_side.  No tolerance or free parameter is tuned to make a comparison pass: disagreements "
                 "are reported with numbers.", ""]
        lines += _toy_markdown(toy_result, numbers)
        lines += _calibration_markdown(calibration_result, numbers)
        lines += _convergence_markdown(calibration_result, nside_result, numbers)
        lines += _transport_markdown(transport_result, numbers)
        lines += [f"## 5. {SECTIONS[4]}", "", numbers.markdown(), ""]
        (building / "report.md").write_text("\n".join(lines))
        payload = {"header": header, "toy": toy_result, "nside": nside_result, "numbers": numbers.rows,
                   "calibration_json": "calibration/calibration.json", "transport_json": "transport/transport.json"}
        (building / "numbers.json").write_text(json.dumps(jsonable(payload), indent=1) + "\n")
        os.chmod(building, 0o755)
        _replace_directory(building, target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return payload


def _replace_directory(building: Path, target: Path) -> None:
    # rename the old report aside, the new one into place, then delete the old one: the target path is at every
    # moment either the complete old report or the complete new one (two renames, no partial copy)
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.rmdir(old)
        os.replace(target, old)
    os.replace(building, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
