r"""Closures of the pair correlation against the stored simulated spectra (``docs/validation/closures.md``).

Every candidate of :mod:`anisotropy.pair_correlation` is evaluated, with no per-case parameter, at the
simulation's own last backtracking time T of each stored case of the full validation report
(``docs/validation/report/calibration/calibration.json``: slab η = 0.5, 0.1 and isotropic + B0 η = 0.5, 0.2 at
r_g/L_c = 0.1, 0.3, 1; G ∥ B0, no K term, the same discrete modes).

Error model: the stored ensemble standard errors of ⟨C_ℓ⟩/⟨C_1⟩ (delta method, scatter across realisations); the
stored file has no full covariance, so the χ² is diagonal (the ratios are correlated across ℓ by ~0.4-0.5 through
the common C_1, so the diagonal χ² overstates the misfit by up to ~2×: this is stated next to every number).
Multipoles compared: the stored ``usable_ells`` (above 10× the white-noise floor, ℓ ≤ N_side).  dof = number of
multipoles (no fitted parameter).  C_1 is compared as :math:`C_1/((4\pi/9)|\langle\delta\rangle|^2)` with the
simulation's measured mean dipole.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from anisotropy.io import write_json

__all__ = ["STORED_REPORT", "THEORY_LMAX", "evaluate_case", "run"]

#: the stored full-report calibration (simulated C_ℓ(T) with errors) used as the test bench
STORED_REPORT = Path(__file__).resolve().parents[1] / "docs" / "validation" / "report" / "calibration" / \
    "calibration.json"
#: ℓmax of the closures' evaluation (absorbing boundary): the compared ℓ ≤ 9 move by ≤ 10 % from 64 to 128 (measured)
THEORY_LMAX = 128
#: isotropic + B0: the 4D pair quadrature is evaluated up to this age (1/Ω); the last piece's generator continues
MAX_ISOTROPIC_AGE = 40.0
#: age nodes per decade for the isotropic + B0 quadrature (each node costs 0.2-3 s)
ISOTROPIC_AGES_PER_DECADE = 4


def _increments(case: dict, lmax: int, broadening: bool = False):
    from anisotropy.pair_correlation import age_grid, isotropic_pair_increments, slab_pair_increments

    stored = case["case"]
    rho, eta = stored["reduced_rigidity"], stored["eta"]
    final = case["omega_times"][-1]
    modes = {"lmin_over_lmax": case["config"]["turbulence"]["lmin_over_lmax"],
             "modes_per_decade": case["config"]["turbulence"]["modes_per_decade"]}
    if stored["kind"] == "slab":
        width = _qlt_rate(case) if broadening else 0.0
        return slab_pair_increments(rho, eta, age_grid(final), lmax, broadening=width, **modes)
    ages = age_grid(min(final, MAX_ISOTROPIC_AGE), first=0.1, per_decade=ISOTROPIC_AGES_PER_DECADE)
    return isotropic_pair_increments(rho, eta, ages, lmax, **modes)


def _qlt_rate(case: dict) -> float:
    """ν1 = 1/τ_s of slab QLT (units Ω) for the case, the transport rate the closures use."""
    from anisotropy.transport import omega_scattering_time

    stored = case["case"]
    return 1.0 / omega_scattering_time(stored["reduced_rigidity"], min(stored["eta"], 0.999),
                                       lmin_over_lmax=case["config"]["turbulence"]["lmin_over_lmax"])


def _soqlt_rate(case: dict) -> float | None:
    """ν1 = 1/τ_s of resonance-broadened slab QLT (:mod:`anisotropy.soqlt`, units Ω), or None where its κ∥ is
    infinite (no resonant mode for field-aligned particles)."""
    from anisotropy import soqlt
    from anisotropy.errors import ParameterError
    from anisotropy.turbulence import Turbulence

    stored = case["case"]
    turbulence = Turbulence("slab", stored["eta"], case["config"]["turbulence"]["lmin_over_lmax"])
    try:
        return 1.0 / soqlt.omega_scattering_time(stored["reduced_rigidity"], turbulence)
    except ParameterError:
        return None


#: single-particle clocks other than QLT's for the closures whose only clock is ν1 (slab only): SOQLT, a theory
#: with nothing fitted, and the simulation's own measured 1/τ_s, a diagnostic (it uses the simulated dipole)
CLOCKS = {"@SOQLT": _soqlt_rate, "@measured ν₁": lambda case: 1.0 / case["omega_tau_s_measured"]}
#: the closures whose only clock is ν1 (docs/validation/closures.md, Candidates)
CLOCKED_CLOSURES = ("rescaled", "normalised")


def evaluate_case(case: dict, closures, lmax: int = THEORY_LMAX, increments=None, label: str = "",
                  rate: float | None = None) -> dict:
    """χ² of each closure's C_ℓ/C_1 and its C_1 ratio for one stored case (module docstring); ``rate`` replaces
    the QLT ν1 of every closure but born."""
    from anisotropy.pair_correlation import closure_cl

    if increments is None:
        increments = _increments(case, lmax)
    qlt_rate = _qlt_rate(case) if rate is None else rate
    final = case["omega_times"][-1]
    ells = np.asarray(case["usable_ells"], dtype=int)
    ratio = np.asarray(case["ratio"])[ells]
    sigma = np.asarray(case["ratio_error"])[ells]
    out = {"name": case["name"], "ells": ells.tolist(), "omega_T": final, "nu_qlt": qlt_rate,
           "nu_self": increments.markov_self_rate, "nu_measured": 1.0 / case["omega_tau_s_measured"],
           "c1_ratio_sim": case["c1"]["simulated"] / case["c1"]["mean_dipole_power"],
           "c1_ratio_sim_error": case["c1"]["error"] / case["c1"]["mean_dipole_power"], "closures": {}}
    for closure in closures:
        nu = increments.markov_self_rate if closure == "born" else qlt_rate
        cl = closure_cl(increments, closure, nu, [final], lmax)[0]
        theory = cl / cl[1]
        chi2 = float(np.sum(((ratio - theory[ells]) / sigma) ** 2))
        weight = -math.expm1(-nu * final) / nu  # w(T): mean map = v w(T) μ
        out["closures"][closure + label] = {"chi2": chi2, "dof": int(ells.size), "decay_rate": nu,
                                    "ratio": theory[: ells.max() + 2].tolist(),
                                    "c1_ratio": float(cl[1] / (4.0 * math.pi / 9.0 * weight**2))}
    return out


def _one_delta_t(case: dict, lmax: int) -> dict:
    """The one-ΔT Markov closure at the package's default a = 2.46 in the same evaluation (QLT source history)."""
    from anisotropy.mixing import rate_matrix
    from anisotropy.pair_correlation import constant_generator_cl
    from anisotropy.pair_rates import PairRate

    stored = case["case"]
    rho, eta = stored["reduced_rigidity"], stored["eta"]
    modes = {"lmin_over_lmax": case["config"]["turbulence"]["lmin_over_lmax"],
             "modes_per_decade": case["config"]["turbulence"]["modes_per_decade"]}
    if stored["kind"] == "slab":
        rate = PairRate.slab(rho, eta, **modes)
    else:
        rate = PairRate.isotropic(rho, eta=eta, resolution=0.5, **modes)
    nu = _qlt_rate(case)
    final = case["omega_times"][-1]
    cl = constant_generator_cl(rate_matrix(rate, lmax), nu, [final])[0]
    ells = np.asarray(case["usable_ells"], dtype=int)
    theory = cl / cl[1]
    ratio = np.asarray(case["ratio"])[ells]
    sigma = np.asarray(case["ratio_error"])[ells]
    weight = -math.expm1(-nu * final) / nu
    return {"chi2": float(np.sum(((ratio - theory[ells]) / sigma) ** 2)), "dof": int(ells.size), "decay_rate": nu,
            "ratio": theory[: ells.max() + 2].tolist(), "c1_ratio": float(cl[1] / (4.0 * math.pi / 9.0 * weight**2)),
            "pair_time": rate.params["omega_pair_time"]}


def run(out_path, closures=("born", "normalised", "rescaled", "secant"), lmax: int = THEORY_LMAX, names=None) -> dict:
    """Evaluate every stored case (or those in ``names``) and write the JSON behind closures.md."""
    from anisotropy.pair_correlation import CLOSURES

    stored = json.loads(STORED_REPORT.read_text())
    start = time.perf_counter()
    cases = []
    for case in stored["cases"]:
        if names is not None and case["name"] not in names:
            continue
        increments = _increments(case, lmax)
        item = evaluate_case(case, [c for c in closures if c in CLOSURES], lmax, increments)
        if case["case"]["kind"] == "slab":
            for label, clock in CLOCKS.items():
                rate = clock(case)
                if rate is not None:
                    clocked = evaluate_case(case, CLOCKED_CLOSURES, lmax, increments, label=label, rate=rate)
                    item["closures"].update(clocked["closures"])
            # resonance broadening e^{-ν1|s1-s2|} with the transport rate (no new parameter), slab only
            broadened = evaluate_case(case, ("born", "normalised"), lmax, _increments(case, lmax, broadening=True),
                                      label="+broadening")
            item["closures"].update(broadened["closures"])
        item["closures"]["one-ΔT"] = _one_delta_t(case, lmax)
        # the one-ΔT Markov theory of the stored report (measured source history): default a and best-fit ΔT
        stored_fit = case["comparisons"]["finite_time"]
        item["one_delta_t"] = {"chi2_default": stored_fit["chi2_default"]["chi2"],
                               "dof_default": stored_fit["chi2_default"]["dof"],
                               "chi2_best": stored_fit["chi2_best"]["chi2"], "dof_best": stored_fit["chi2_best"]["dof"],
                               "best_pair_time": stored_fit["fit"]["pair_time"]}
        cases.append(item)
    result = {"source": str(STORED_REPORT.relative_to(STORED_REPORT.parents[3])), "lmax": lmax,
              "cases": cases, "wall_seconds": time.perf_counter() - start}
    write_json(Path(out_path), result)
    return result


#: the order of the candidates in the tables of closures.md
TABLE_ORDER = ("one-ΔT", "born", "rescaled", "normalised", "secant", "born+broadening", "normalised+broadening",
               "rescaled@SOQLT", "normalised@SOQLT", "rescaled@measured ν₁", "normalised@measured ν₁")


def markdown_tables(result: dict) -> str:
    """The χ² table and the C_1 table of ``docs/validation/closures.md`` from :func:`run`'s output."""
    present = [name for name in TABLE_ORDER if any(name in case["closures"] for case in result["cases"])]
    header = ("| case | stored: one-ΔT, a = 2.46 | stored: one-ΔT, best ΔT per case | " + " | ".join(present)
              + " |")
    lines = [header, "|" + "---|" * (3 + len(present))]
    for case in result["cases"]:
        old = case["one_delta_t"]
        cells = [case["name"], f"{old['chi2_default']:.1f}/{old['dof_default']}",
                 f"{old['chi2_best']:.1f}/{old['dof_best']}"]
        for name in present:
            entry = case["closures"].get(name)
            cells.append("–" if entry is None else f"{entry['chi2']:.1f}/{entry['dof']}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| case | simulated | " + " | ".join(present) + " |", "|" + "---|" * (2 + len(present))]
    for case in result["cases"]:
        cells = [case["name"], f"{case['c1_ratio_sim']:.2f} ± {case['c1_ratio_sim_error']:.2f}"]
        for name in present:
            entry = case["closures"].get(name)
            cells.append("–" if entry is None else f"{entry['c1_ratio']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


#: the two runs outside the stored grid (slab η = 0.8, ρ = 0.1 and η = 0.5, ρ = 0.03; N_side 16, 32 realisations,
#: T = 5 QLT τ_s, seed 20261204; ~1.5 min of one core), made with
#: ``run_calibration(quick=False, seed=20261204, out_dir=..., cases=[CalibrationCase("slab", η, ρ, 16, 32, 5.0)],
#: figures=False, fit_pair_times=False)``
EXTRA_RUNS = Path(__file__).resolve().parents[1] / "docs" / "validation" / "closures_runs"


def c1_excess_points(cases) -> list[dict]:
    r"""Per case: :math:`L_\max/\lambda_\parallel` and :math:`C_1/((4\pi/9)|\langle\delta\rangle|^2) - 1` with error.

    :math:`\lambda_\parallel = 3\kappa_\parallel/v` from the measured mean dipole (κ = δ_z/3, v = 1), L_max of the
    stored spectrum.  The error combines C_1's standard error and twice the relative error of κ in quadrature (their
    correlation is ignored, so it is an overestimate).
    """
    from anisotropy import units

    points = []
    for case in cases:
        outer = float(units.outer_scale(1.0, case["config"]["turbulence"]["lmin_over_lmax"]))
        kappa = case["kappa_parallel"]["dipole"]
        kappa_error = case["kappa_parallel"]["dipole_error"]
        ratio = case["c1"]["simulated"] / case["c1"]["mean_dipole_power"]
        relative = case["c1"]["error"] / case["c1"]["simulated"]
        points.append({"name": case["name"], "outer_over_mean_free_path": outer / (3.0 * kappa),
                       "excess": ratio - 1.0, "error": ratio * math.hypot(relative, 2.0 * kappa_error / kappa)})
    return points


def fit_c1_excess(points) -> dict:
    r"""Weighted least squares of excess = a · L_max/λ (one parameter) and of a free power law in logarithms."""
    x = np.array([p["outer_over_mean_free_path"] for p in points])
    y = np.array([p["excess"] for p in points])
    sigma = np.array([p["error"] for p in points])
    weight = 1.0 / sigma**2
    slope = float(np.sum(weight * x * y) / np.sum(weight * x * x))
    chi2 = float(np.sum(weight * (y - slope * x) ** 2))
    positive = y > 0
    log_weight = (y[positive] / sigma[positive]) ** 2
    design = np.column_stack([np.ones(positive.sum()), np.log(x[positive])])
    normal = design.T @ (log_weight[:, None] * design)
    intercept, exponent = np.linalg.solve(normal, design.T @ (log_weight * np.log(y[positive])))
    covariance = np.linalg.inv(normal)
    return {"slope": slope, "slope_error": float(1.0 / math.sqrt(np.sum(weight * x * x))), "chi2": chi2,
            "dof": int(x.size - 1), "range": [float(x.min()), float(x.max())],
            "power_law_exponent": float(exponent), "power_law_exponent_error": float(math.sqrt(covariance[1, 1])),
            "power_law_prefactor": float(math.exp(intercept))}


def time_history(case: dict, closure: str, lmax: int = THEORY_LMAX, multipoles=(2, 3, 4, 5, 6)) -> list[dict]:
    """Simulated over theoretical C_ℓ/C_1 at every stored backtracking time of a case (where the closure breaks)."""
    from anisotropy.pair_correlation import closure_cl

    increments = _increments(case, lmax)
    nu = increments.markov_self_rate if closure in ("born", "secant") else _qlt_rate(case)
    times = np.asarray(case["omega_times"])
    theory = closure_cl(increments, closure, nu, times, lmax)
    simulated = np.asarray(case["cl_time"])
    ells = list(multipoles)
    return [{"omega_T": float(time), "omega_T_over_tau": float(time * _qlt_rate(case)),
             "simulated_ratio": (simulated[index, ells] / simulated[index, 1]).tolist(),
             "simulation_over_theory": ((simulated[index, ells] / simulated[index, 1])
                                        / (theory[index, ells] / theory[index, 1])).tolist()}
            for index, time in enumerate(times)]
