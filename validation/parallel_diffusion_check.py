r"""The simulator's parallel diffusion coefficient against slab QLT and SOQLT, over every committed slab run.

Three committed sources record a simulated :math:`\kappa_\parallel` with the standard error of its ensemble
(:data:`SOURCES`):

* the campaigns (``docs/validation/campaign/`` and ``campaign_nside32/``): :math:`\kappa_\parallel = \delta_z/3` of
  the simulated dipole at the last age :math:`T = 10\,\tau_s^\mathrm{QLT}` (the Kubo identity of
  docs/physics/simulator.md);
* the full report's calibration (``report/calibration/calibration.json``): the same, at
  :math:`T = 5\,\tau_s^\mathrm{QLT}`;
* the full report's transport runs (``report/transport/transport.json``): the plateau of the running
  :math:`d_\parallel = \tfrac12 d\langle\Delta z^2\rangle/dt` (secant over the last three quarters of the run).

This module puts beside each, with nothing fitted,

* slab QLT, :func:`anisotropy.transport.parallel_diffusion` (no :math:`k_\max`, the resonance gap ignored), and
* SOQLT, :func:`anisotropy.soqlt.parallel_diffusion` (the resonance broadened by the tilt of the local field, on
  the case's own :math:`[k_\min, k_\max]`; docs/physics/pitch_angle.md, eq. PA.5),

for turbulence levels η = 0.1–0.8 and :math:`r_g/L_c = 10^{-3}`–1.  Cases where a theory has no finite
:math:`\kappa_\parallel` (field-aligned particles with no resonant mode, :math:`k_\min r_{g,0} \ge 1`) are listed
with the reason.  No simulation runs here: ``python -m validation.parallel_diffusion_check`` rereads the committed
sources and rewrites ``docs/validation/parallel_diffusion.json`` and ``parallel_diffusion_tables.md``.

Error model: each source's standard error over realisations (turbulence seeds); the theories are exact up to
quadrature (< 1e-8).  The simulated value is a running coefficient at a finite age, 8–20 of its own τ_s, within a
few per cent of its plateau.  :math:`k_\max r_g` is that of the continuous spectrum,
:math:`2\pi r_g/L_\min`.
"""

from __future__ import annotations

import json

from anisotropy import soqlt
from anisotropy.errors import ParameterError
from anisotropy.transport import minimum_wavenumber, parallel_diffusion
from anisotropy.turbulence import Turbulence

from .pair_diagnostics import DOCS

__all__ = ["SOURCES", "compare", "markdown_tables", "run"]

#: the committed sources of simulated κ∥ (paths under docs/validation/)
SOURCES = {"campaign": "campaign/campaign.json", "campaign_nside32": "campaign_nside32/campaign.json",
           "report calibration": "report/calibration/calibration.json",
           "report transport": "report/transport/transport.json"}


def _theory(function, reduced_rigidity: float, turbulence: Turbulence) -> tuple[float | None, str | None]:
    try:
        return function(reduced_rigidity, turbulence), None
    except ParameterError as error:
        return None, str(error)


def _simulated(source: str, case: dict) -> dict | None:
    """(η, ρ, L_min/L_max, realisations, κ∥, error) of one slab case of ``source``, or None for another kind."""
    if source.startswith("campaign"):
        if case["turbulence"] != "slab":
            return None
        return {"case": case["name"], "eta": case["eta"], "reduced_rigidity": case["rigidity"],
                "lmin_over_lmax": case["lmin_over_lmax"], "realisations": case["realisations"],
                "kappa_simulated": case["kappa_par"], "kappa_simulated_error": case["kappa_par_error"]}
    stored = case["case"]
    if stored["kind"] != "slab":
        return None
    if source == "report calibration":
        return {"case": case["name"], "eta": stored["eta"], "reduced_rigidity": stored["reduced_rigidity"],
                "lmin_over_lmax": case["config"]["turbulence"]["lmin_over_lmax"],
                "realisations": case["realisations"], "kappa_simulated": case["kappa_parallel"]["dipole"],
                "kappa_simulated_error": case["kappa_parallel"]["dipole_error"]}
    return {"case": case["name"], "eta": stored["eta"], "reduced_rigidity": stored["reduced_rigidity"],
            "lmin_over_lmax": stored["lmin_over_lmax"], "realisations": case["realisations"],
            "kappa_simulated": case["kappa_parallel"], "kappa_simulated_error": case["kappa_parallel_error"]}


def compare(source: str) -> list[dict]:
    """One row per slab case of the committed ``source`` (:data:`SOURCES`): simulated κ∥ with its error, QLT and
    SOQLT.

    Examples
    --------
    >>> rows = compare("report transport")
    >>> [row["reduced_rigidity"] for row in rows]
    [0.1, 0.2, 0.4]
    """
    if source not in SOURCES:
        raise ParameterError("source", f"expected one of {sorted(SOURCES)}, got {source!r}")
    rows = []
    for case in json.loads((DOCS / SOURCES[source]).read_text())["cases"]:
        row = _simulated(source, case)
        if row is None:
            continue
        turbulence = Turbulence("slab", row["eta"], row["lmin_over_lmax"])
        rho = row["reduced_rigidity"]
        qlt, qlt_refusal = _theory(lambda r, t: parallel_diffusion(r, turbulence=t), rho, turbulence)
        broadened, soqlt_refusal = _theory(soqlt.parallel_diffusion, rho, turbulence)
        k_max = minimum_wavenumber(row["lmin_over_lmax"], turbulence.spectral_index) / row["lmin_over_lmax"]
        rows.append({"source": source, **row, "k_max_r_g": k_max * rho,
                     "kappa_qlt": qlt, "kappa_qlt_refused": qlt_refusal,
                     "kappa_soqlt": broadened, "kappa_soqlt_refused": soqlt_refusal})
    return rows


def _ratio(row: dict, theory: str) -> str:
    value = row[f"kappa_{theory}"]
    if value is None:
        return "no finite κ∥"
    return f"{row['kappa_simulated'] / value:.3f} ± {row['kappa_simulated_error'] / value:.3f}"


def markdown_tables(rows) -> str:
    """The committed table (``docs/validation/parallel_diffusion_tables.md``)."""
    lines = ["<!-- written by python -m validation.parallel_diffusion_check; do not edit -->", "",
             "| source | η | r_g/L_c | k_max r_g | realisations | κ∥ simulated (c L_c) | simulated/QLT | "
             "simulated/SOQLT |", "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['source']} | {row['eta']:g} | {row['reduced_rigidity']:g} | "
                     f"{row['k_max_r_g']:.1f} | {row['realisations']} | "
                     f"{row['kappa_simulated']:.4g} ± {row['kappa_simulated_error']:.2g} | "
                     f"{_ratio(row, 'qlt')} | {_ratio(row, 'soqlt')} |")
    return "\n".join(lines) + "\n"


def run(out_json=DOCS / "parallel_diffusion.json", out_markdown=DOCS / "parallel_diffusion_tables.md") -> list[dict]:
    """Compare every committed source; write the JSON and the table atomically."""
    from anisotropy import __version__
    from anisotropy.io import write_json, write_text

    rows = [row for source in SOURCES for row in compare(source)]
    write_json(out_json, {"package_version": __version__, "sources": SOURCES, "rows": rows})
    write_text(out_markdown, markdown_tables(rows))
    return rows


if __name__ == "__main__":  # pragma: no cover - the committed results' command (module docstring)
    run()
