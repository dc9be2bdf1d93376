"""Leave-one-case-out check of the C_l/C_1 emulator; writes docs/validation/emulator_loo*.json/.md.

Run: ``python -m validation.emulator_check CAMPAIGN_JSON [LABEL]``.  For each case i the
emulator is retrained (hyperparameters included) without case i and predicts case i.
chi2 on C_l/C_1 over the case's usable multipoles is reported twice: with the case's
covariance only, and with the case's covariance plus the emulator's predictive covariance.
The default closure's chi2/dof is the one stored in the campaign file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from anisotropy.emulator import _as_array, emulate, load_emulator, train_emulator
from anisotropy.errors import ParameterError
from anisotropy.io import atomic_output

SLAB_BAR = 2.0  # issue 12: chi2/dof on C_l/C_1, slab
ISOTROPIC_BAR = 3.0  # issue 12: chi2/dof, isotropic with B0
C1_BAR = 0.10  # issue 12: C_1 ratio within 10 %
DOCS = Path(__file__).resolve().parent.parent / "docs" / "validation"


def _chi2(residual, covariance):
    return float(residual @ np.linalg.solve(covariance, residual))


def _case_row(campaign_json, case):
    return _compare_case(case, train_emulator(campaign_json, out=None, exclude=[case["name"]]))


def trained_lmax(kind, state) -> int:
    """Largest multipole the emulator of ``kind`` was trained on (its inputs hold ln l)."""
    return round(float(np.exp(max(point[0] for point in state["payload"]["kinds"][kind]["x"]))))


def _compare_case(case, state, lmax=None):
    row = {"name": case["name"], "kind": case["turbulence"], "eta": case["eta"],
           "rho": case["rigidity"], "closure_chi2": case.get("chi2"), "closure_dof": case.get("dof")}
    ells = [int(v) for v in _as_array(case["ells"])]
    used = [ell for ell in case["usable_ells"] if lmax is None or ell <= lmax]
    try:
        out = emulate(case["turbulence"], case["eta"], case["rigidity"], used or [2], state=state)
    except ParameterError as error:  # outside the training box: recorded, not hidden
        row["refused"] = str(error)
        return row
    row["c1_ratio_sim"] = case["c1_ratio_sim"]
    row["c1_ratio_emulator"] = out["c1_ratio"]
    row["c1_relative_error"] = out["c1_ratio"] / case["c1_ratio_sim"] - 1.0
    if used:
        index = [ells.index(ell) for ell in used]
        residual = _as_array(case["cl_ratio"])[index] - out["ratio"]
        cov = _as_array(case["cl_ratio_covariance"])[np.ix_(index, index)]
        row["dof"] = len(used)
        row["chi2_case_cov"] = _chi2(residual, cov)
        row["chi2_with_emulator_cov"] = _chi2(residual, cov + out["ratio_covariance"])
    return row


def _passes(row):
    bar = SLAB_BAR if row["kind"] == "slab" else ISOTROPIC_BAR
    shape = "dof" not in row or row["chi2_case_cov"] / row["dof"] <= bar
    return bool(shape and abs(row.get("c1_relative_error", np.inf)) <= C1_BAR)


def _fmt(value):
    return "—" if value is None else f"{value:.3g}"


def _markdown(rows, label, campaign_json):
    lines = [f"## Leave-one-case-out, trained on `{campaign_json}` ({label})", "",
             "| case | dof | χ²/dof emulator (case cov) | χ²/dof (case + emulator cov) | "
             "χ²/dof default closure | C_1 sim | C_1 emulator | C_1 error | pass |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        if "refused" in row:
            lines.append(f"| {row['name']} | | refused: {row['refused']} | | | | | | fail |")
            continue
        dof = row.get("dof")
        closure = (row["closure_chi2"] / row["closure_dof"]) if row.get("closure_dof") else None
        lines.append(
            f"| {row['name']} | {dof or 0} | {_fmt(row['chi2_case_cov'] / dof) if dof else '—'} | "
            f"{_fmt(row['chi2_with_emulator_cov'] / dof) if dof else '—'} | {_fmt(closure)} | "
            f"{row['c1_ratio_sim']:.3f} | {row['c1_ratio_emulator']:.3f} | "
            f"{100 * row['c1_relative_error']:+.1f} % | {'pass' if row['pass'] else 'fail'} |")
    return "\n".join(lines) + "\n"


def new_realisations(campaign_json, label):
    """The shipped emulator against a campaign of new realisations (e.g. ``--grid nside32``), l <= its trained l.

    The shipped state was trained on the full campaign, whose N_side 16 maps of these cases had no multipole above
    10x the noise floor: their shape was never seen, their C_1 ratio was (from other realisations).
    Writes ``docs/validation/emulator_<label>.json/.md``.
    """
    state = load_emulator()
    cases = json.loads(Path(campaign_json).read_text())["cases"]
    rows = _judged([_compare_case(case, state, trained_lmax(case["turbulence"], state)) for case in cases])
    markdown = _markdown(rows, label, campaign_json).replace("Leave-one-case-out, trained on",
                                                              "Shipped emulator against")
    _write_tables(rows, f"emulator_{label}", markdown)
    return rows


def _judged(rows):
    """The rows, each with ``pass`` against the issue's bar."""
    for row in rows:
        row["pass"] = "refused" not in row and _passes(row)
    return rows


def _write_tables(rows, stem, markdown):
    """DOCS/stem.json and .md, written atomically (no half-written table)."""
    for suffix, text in ((".json", json.dumps(rows, indent=1)), (".md", markdown)):
        with atomic_output(DOCS / f"{stem}{suffix}") as temporary:
            Path(temporary).write_text(text, encoding="utf-8")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    campaign_json, label = argv[0], (argv[1] if len(argv) > 1 else "campaign")
    cases = json.loads(Path(campaign_json).read_text())["cases"]
    rows = _judged([_case_row(campaign_json, case) for case in cases])
    _write_tables(rows, f"emulator_loo_{label}", _markdown(rows, label, campaign_json))
    print(f"{sum(r['pass'] for r in rows)}/{len(rows)} cases pass")


if __name__ == "__main__":
    main()


def off_grid_row(case_json, kind, eta, rho, state=None):
    """Emulator against one ``validate --case`` result off the campaign grid (compared l up to the trained l).

    chi2 uses the case's full covariance of the compared C_l/C_1 with its Hartlap factor, as ``validate --case``.
    """
    case = json.loads(Path(case_json).read_text())
    trained = emulate(kind, eta, rho, [2], state=state)  # refuses outside the training box
    state = load_emulator() if state is None else state
    compared = [ell for ell in case["compared_ells"] if ell <= trained_lmax(kind, state)]
    index = [case["compared_ells"].index(ell) for ell in compared]
    out = emulate(kind, eta, rho, compared, state=state)
    residual = np.asarray(case["ratio_sim"])[compared] - out["ratio"]
    cov = np.asarray(case["covariance_compared"])[np.ix_(index, index)]
    hartlap = case["hartlap"]
    return {"name": f"{kind}_eta{eta}_rho{rho}", "kind": kind, "eta": eta, "rho": rho, "compared_ells": compared,
            "dof": len(compared), "chi2_case_cov": hartlap * _chi2(residual, cov),
            "chi2_with_emulator_cov": hartlap * _chi2(residual, cov + out["ratio_covariance"]),
            "closure_chi2": case["chi2"], "closure_dof": case["dof"],
            "c1_ratio_sim": case["c1_ratio_sim"], "c1_ratio_sim_error": case["c1_ratio_sim_error"],
            "c1_ratio_emulator": trained["c1_ratio"],
            "c1_relative_error": trained["c1_ratio"] / case["c1_ratio_sim"] - 1.0}
