r"""The relative-rotation pair model against the pair instrument (issue 12, a candidate closure).

:mod:`anisotropy.pair_rotation` carries the pair's relative position along B0 as a hidden state and correlates the
two members' kicks by the overlap of their resonances.  This module evaluates it, with nothing fitted, on the four
slab cases of the pair diagnostics (``docs/validation/pair_diagnostics.json``): the model's equal-age pair
correlation :math:`y_\ell(t)` on the instrument's age grid (40 even ages up to the run's T), then C_ℓ/C_1 at T by
the factorised closure (:func:`anisotropy.pair_rotation.factorised_cl`, single-particle decay
:math:`\nu_1 = 1/\tau_s`, slab QLT, as for the other closures), compared with the instrument's ``exact`` C_ℓ/C_1,
ℓ = 2…8, and with the closures evaluated there.  The resonance widths of
:data:`anisotropy.pair_rotation.BROADENINGS` are evaluated where :data:`CASES` lists them, with the model's
:math:`C_1/((4\pi/9)|\langle\delta\rangle|^2) = 2\int_0^T w(T-t)\,y_1\,dt/w(T)^2` (the closures' convention in
``closures.md``).

Error model: the model's pairs are split into :data:`GROUPS` independent seeds; its C_ℓ/C_1 is that of the mean
:math:`y` and its standard error the delete-one jackknife over the groups.  χ² is diagonal over ℓ = 2…8, once
against the error of ``exact`` alone (as the closures in ``pair_diagnostics.json``) and once with the model's
Monte Carlo error added in quadrature.

``python -m validation.rotation_candidate [DIR]`` (about 30 min on two cores; it prints each case's χ²) rewrites
``docs/validation/rotation_candidate.json`` and ``rotation_candidate_tables.md``; :func:`add_step_check` then adds
one case at half the time step.  With ``DIR``, each finished case is stored there and an interrupted run resumes.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from anisotropy import __version__
from anisotropy.io import atomic_output, write_json
from anisotropy.pair_rotation import BROADENINGS, factorised_cl, rotation_pair_correlation

from .pair_diagnostics import DOCS, _chi2

__all__ = ["CASES", "GROUPS", "add_step_check", "evaluate_case", "markdown_tables", "run"]

#: pair-diagnostics case -> (model pairs per node, all groups together; resonance widths evaluated).  Fewer pairs
#: where Ω T is large (cost ∝ pairs × Ω T); the scattering width only where it is cheap (the Dupree width is the
#: candidate, the other its control)
CASES = {"slab_eta0.5_rho0.1": (65536, BROADENINGS), "slab_eta0.5_rho0.3": (65536, BROADENINGS),
         "slab_eta0.1_rho0.1": (16384, ("dupree",)), "slab_eta0.5_rho0.01": (8192, ("dupree",))}
#: independent seed groups for the jackknife error of the model
GROUPS = 8
#: the instrument's age grid: this many even ages up to T
AGE_COUNT = 40
SEED = 20261206
#: the case rerun at half the time step (the cheapest with a shape)
STEP_CHECK_CASE = "slab_eta0.5_rho0.3"
ELLS = slice(2, 9)


def evaluate_case(record: dict, pairs: int, broadening: str, seed: int = SEED, groups: int = GROUPS,
                  step: float = 0.1) -> dict:
    """The model on one pair-diagnostics case (a record of ``pair_diagnostics.json``): C_ℓ/C_1 and χ² (module doc)."""
    parameters = record["parameters"]
    final_age = record["final_age"]
    ages = np.linspace(final_age / AGE_COUNT, final_age, AGE_COUNT)
    decay_rate = 1.0 / record["tau_s_qlt"]
    runs = [rotation_pair_correlation(parameters["reduced_rigidity"], ages, eta=parameters["eta"],
                                      lmin_over_lmax=parameters["lmin_over_lmax"], pairs=pairs // groups,
                                      seed=seed + group, broadening=broadening, step=step)
            for group in range(groups)]
    ys = np.array([result.y for result in runs])

    dipole_weight = -math.expm1(-decay_rate * final_age) / decay_rate

    def ratio(y):
        # C_ℓ/C_1 for ℓ = 2…8, then C_1/((4π/9)|⟨δ⟩|²) = 2∫w y_1 dt / w(T)² (closures.md, C_1 table)
        cl = factorised_cl(y, ages, decay_rate, final_age)
        return np.append(cl[ELLS] / cl[1], 2.0 * cl[1] / dipole_weight**2)

    both = ratio(ys.mean(axis=0))
    leave_one_out = np.array([ratio(np.delete(ys, group, axis=0).mean(axis=0)) for group in range(groups)])
    both_error = np.sqrt((groups - 1) / groups * np.sum((leave_one_out - leave_one_out.mean(axis=0)) ** 2, axis=0))
    mean_ratio, ratio_error = both[:-1], both_error[:-1]
    exact = np.array(record["ratio"]["exact"][1:])
    exact_error = np.array(record["ratio_error"]["exact"][1:])
    y_mean = ys.mean(axis=0)
    y_error = ys.std(axis=0, ddof=1) / math.sqrt(groups)
    rows = [int(np.argmin(np.abs(ages - age))) for age in record["y_ages"]]
    return {"case": record["directory"], "broadening": broadening, "pairs_per_node": pairs, "groups": groups,
            "step_omega": step,
            "seed": seed, "final_age": final_age, "tau_s_qlt": record["tau_s_qlt"],
            "ratio": mean_ratio.tolist(), "ratio_error": ratio_error.tolist(),
            "c1_ratio": float(both[-1]), "c1_ratio_error": float(both_error[-1]),
            "chi2_exact_error": _chi2([1.0, *mean_ratio], record["ratio"]["exact"], record["ratio_error"]["exact"]),
            "chi2_both_errors": float(np.sum((mean_ratio - exact) ** 2 / (exact_error**2 + ratio_error**2))),
            "dof": int(exact.size),
            "closure_chi2": {name: _chi2(values, record["ratio"]["exact"], record["ratio_error"]["exact"])
                             for name, values in record["closure_ratio"].items()},
            "y_ages": [float(ages[row]) for row in rows],
            "y": [y_mean[row, 1:7].tolist() for row in rows], "y_error": [y_error[row, 1:7].tolist() for row in rows]}


def _cells(values, errors=None, digits=4) -> str:
    if errors is None:
        return " | ".join(f"{value:.{digits}g}" for value in values)
    return " | ".join(f"{value:.{digits}g} ± {error:.2g}" for value, error in zip(values, errors, strict=True))


def markdown_tables(document: dict) -> str:
    """The tables of ``rotation_candidate_tables.md``, rendered from the JSON document."""
    pair_records = {record["directory"]: record for record in document["pair_diagnostics"]}
    lines = ["## C_ℓ/C_1 at T, ℓ = 2…8: model (± Monte Carlo jackknife) against the instrument's `exact`", "",
             "| case | estimate | ℓ=2 | ℓ=3 | ℓ=4 | ℓ=5 | ℓ=6 | ℓ=7 | ℓ=8 | χ² (exact's error) | χ² (both errors) "
             "| C_1/((4π/9)δ²) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in document["cases"]:
        record = pair_records[name]
        lines.append(f"| {name} | exact | {_cells(record['exact'], record['exact_error'])} | – | – | – |")
        for result in document["results"]:
            if result["case"] == name:
                lines.append(f"| | rotation model, {result['broadening']} | "
                             f"{_cells(result['ratio'], result['ratio_error'])} | "
                             f"{result['chi2_exact_error']:.1f}/{result['dof']} | "
                             f"{result['chi2_both_errors']:.1f}/{result['dof']} | "
                             f"{result['c1_ratio']:.3f} ± {result['c1_ratio_error']:.2g} |")
        closures = next(result for result in document["results"] if result["case"] == name)["closure_chi2"]
        lines.append("| | closures (pair_diagnostics.json) | " + " | ".join(["–"] * 7) + " | "
                     + ", ".join(f"{closure} {value:.1f}" for closure, value in closures.items()) + " | – | – |")
    check = document.get("step_check")
    if check is not None:
        main = next(result for result in document["results"]
                    if result["case"] == check["case"] and result["broadening"] == check["broadening"])
        lines += ["", f"## Time step: {check['case']}, {check['broadening']}, Ω dt = {main['step_omega']} and "
                  f"{check['step_omega']} (independent seeds)", "",
                  "| Ω dt | ℓ=2 | ℓ=3 | ℓ=4 | ℓ=5 | ℓ=6 | ℓ=7 | ℓ=8 | χ² (exact's error) | C_1/((4π/9)δ²) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for result in (main, check):
            lines.append(f"| {result['step_omega']} | {_cells(result['ratio'], result['ratio_error'])} | "
                         f"{result['chi2_exact_error']:.1f}/{result['dof']} | "
                         f"{result['c1_ratio']:.3f} ± {result['c1_ratio_error']:.2g} |")
    lines += ["", "## Equal-age pair correlation y_ℓ(t), ℓ = 1…6: measured (pair_diagnostics.json) / model", "",
              "| case | t/τ_s | estimate | ℓ=1 | ℓ=2 | ℓ=3 | ℓ=4 | ℓ=5 | ℓ=6 |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name in document["cases"]:
        record = pair_records[name]
        for index, age in enumerate(record["y_ages"]):
            label = f"{age / record['tau_s_qlt']:.2f}"
            lines.append(f"| {name} | {label} | measured | {_cells(record['y'][index], record['y_error'][index], 3)} |")
            for result in document["results"]:
                if result["case"] == name:
                    lines.append(f"| | | {result['broadening']} | "
                                 f"{_cells(result['y'][index], result['y_error'][index], 3)} |")
    return "\n".join(lines) + "\n"


def _evaluate_or_resume(record: dict, pairs: int, broadening: str, checkpoint, seed: int = SEED,
                        step: float = 0.1) -> dict:
    """:func:`evaluate_case`, or its result stored in ``checkpoint`` by an earlier, interrupted run (same inputs)."""
    if checkpoint is None:
        return evaluate_case(record, pairs, broadening, seed=seed, step=step)
    path = Path(checkpoint) / f"{record['directory']}_{broadening}_{seed}_{step}.json"
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
        version = stored.pop("package_version", None)
        if (stored["pairs_per_node"], stored["groups"], version) == (pairs, GROUPS, __version__):
            print(f"{path.name}: resumed", flush=True)
            return stored
    result = evaluate_case(record, pairs, broadening, seed=seed, step=step)
    write_json(path, {**result, "package_version": __version__})
    return result


def _write(document: dict, out_json, out_markdown) -> None:
    write_json(Path(out_json), document)
    if out_markdown is not None:
        with atomic_output(Path(out_markdown)) as temporary:
            Path(temporary).write_text(markdown_tables(document), encoding="utf-8")


def run(out_json=DOCS / "rotation_candidate.json", out_markdown=DOCS / "rotation_candidate_tables.md",
        cases=CASES, checkpoint=None) -> dict:
    """Evaluate the model on ``cases`` (name -> (pairs, broadenings)); write the JSON and the tables atomically.

    With ``checkpoint`` (a directory), each finished case is stored there and a rerun resumes from it.
    """
    records = {record["directory"]: record for record in json.loads((DOCS / "pair_diagnostics.json").read_text())}
    if checkpoint is not None:
        Path(checkpoint).mkdir(parents=True, exist_ok=True)
    results = []
    for name, (pairs, broadenings) in cases.items():
        for broadening in broadenings:
            results.append(_evaluate_or_resume(records[name], pairs, broadening, checkpoint))
            print(f"{name} {broadening}: chi2 {results[-1]['chi2_exact_error']:.1f}/{results[-1]['dof']}",
                  flush=True)
    document = {"package_version": __version__, "cases": list(cases), "results": results,
                "pair_diagnostics": [{"directory": name, "tau_s_qlt": records[name]["tau_s_qlt"],
                                      "exact": records[name]["ratio"]["exact"][1:],
                                      "exact_error": records[name]["ratio_error"]["exact"][1:],
                                      "y_ages": records[name]["y_ages"],
                                      "y": [row[:6] for row in records[name]["y"]],
                                      "y_error": [row[:6] for row in records[name]["y_error"]]}
                                     for name in cases]}
    _write(document, out_json, out_markdown)
    return document


def add_step_check(path=DOCS / "rotation_candidate.json", out_markdown=DOCS / "rotation_candidate_tables.md",
                   case: str = STEP_CHECK_CASE, step: float = 0.05, checkpoint=None) -> dict:
    """Add to the results the Dupree model on ``case`` at half the time step (other seeds): the step's error."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    record = next(record for record in json.loads((DOCS / "pair_diagnostics.json").read_text())
                  if record["directory"] == case)
    document["step_check"] = _evaluate_or_resume(record, CASES[case][0], "dupree", checkpoint, seed=SEED + 1000,
                                                 step=step)
    _write(document, path, out_markdown)
    return document


if __name__ == "__main__":  # pragma: no cover - the committed results' command (module docstring)
    import sys

    if len(sys.argv) > 2:
        print("usage: python -m validation.rotation_candidate [CHECKPOINT_DIR]", file=sys.stderr)
        raise SystemExit(2)
    store = sys.argv[1] if len(sys.argv) == 2 else None
    run(checkpoint=store)
    add_step_check(checkpoint=store)
