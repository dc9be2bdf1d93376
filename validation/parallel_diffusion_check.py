r"""The simulator's parallel diffusion coefficient against slab QLT and SOQLT, over the committed slab campaigns.

Every slab case of the committed campaigns (``docs/validation/campaign/`` and ``campaign_nside32/``) records
:math:`\kappa_\parallel` from its simulated dipole, :math:`\kappa_\parallel = \delta_z/3` at the last age
:math:`T = 10\,\tau_s^\mathrm{QLT}` (the Kubo identity of docs/physics/simulator.md), with the standard error of
the ensemble.  This module puts beside it, with nothing fitted,

* slab QLT, :func:`anisotropy.transport.parallel_diffusion` (no :math:`k_\max`, the resonance gap ignored), and
* SOQLT, :func:`anisotropy.soqlt.parallel_diffusion` (the resonance broadened by the tilt of the local field, on
  the case's own :math:`[k_\min, k_\max]`; docs/physics/pitch_angle.md, eq. PA.5),

for turbulence levels η = 0.1–0.8 and :math:`r_g/L_c = 10^{-3}`–0.1.  Cases where a theory has no finite
:math:`\kappa_\parallel` (field-aligned particles with no resonant mode, :math:`k_\min r_{g,0} \ge 1`) are listed
with the reason.  No simulation runs here: ``python -m validation.parallel_diffusion_check`` rereads the committed
campaigns and rewrites ``docs/validation/parallel_diffusion.json`` and ``parallel_diffusion_tables.md``.

Error model: the campaign's standard error of :math:`\delta_z` (ensemble scatter over realisations); the theories
are exact up to quadrature (< 1e-8).  The simulated value is a running coefficient at a finite age, which at
:math:`T \gtrsim 15\tau_s` (measured) is within a few per cent of its plateau.
"""

from __future__ import annotations

import json

from anisotropy import soqlt
from anisotropy.errors import ParameterError
from anisotropy.transport import parallel_diffusion
from anisotropy.turbulence import Turbulence

from .pair_diagnostics import DOCS

__all__ = ["CAMPAIGNS", "compare", "markdown_tables", "run"]

#: the committed campaigns whose slab cases are compared
CAMPAIGNS = ("campaign", "campaign_nside32")


def _theory(function, reduced_rigidity: float, turbulence: Turbulence) -> tuple[float | None, str | None]:
    try:
        return function(reduced_rigidity, turbulence), None
    except ParameterError as error:
        return None, str(error)


def compare(campaign: str) -> list[dict]:
    """One row per slab case of the committed ``campaign``: simulated κ∥ with its error, QLT and SOQLT.

    Examples
    --------
    >>> rows = compare("campaign_nside32")
    >>> sorted(rows[0])[:4]
    ['campaign', 'case', 'eta', 'k_max_r_g']
    """
    cases = json.loads((DOCS / campaign / "campaign.json").read_text())["cases"]
    rows = []
    for case in cases:
        if case["turbulence"] != "slab":
            continue
        turbulence = Turbulence("slab", case["eta"], case["lmin_over_lmax"])
        rho = case["rigidity"]
        qlt, qlt_refusal = _theory(lambda r, t: parallel_diffusion(r, turbulence=t), rho, turbulence)
        broadened, soqlt_refusal = _theory(soqlt.parallel_diffusion, rho, turbulence)
        rows.append({"campaign": campaign, "case": case["name"], "eta": case["eta"], "reduced_rigidity": rho,
                     "lmin_over_lmax": case["lmin_over_lmax"], "k_max_r_g": case["k_max_r_g"],
                     "realisations": case["realisations"], "t_over_tau_s_qlt": case["t_over_tau_s"],
                     "kappa_simulated": case["kappa_par"], "kappa_simulated_error": case["kappa_par_error"],
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
             "| campaign | η | r_g/L_c | k_max r_g | realisations | κ∥ simulated (c L_c) | simulated/QLT | "
             "simulated/SOQLT |", "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['campaign']} | {row['eta']:g} | {row['reduced_rigidity']:g} | "
                     f"{row['k_max_r_g']:.1f} | {row['realisations']} | "
                     f"{row['kappa_simulated']:.4g} ± {row['kappa_simulated_error']:.2g} | "
                     f"{_ratio(row, 'qlt')} | {_ratio(row, 'soqlt')} |")
    return "\n".join(lines) + "\n"


def run(out_json=DOCS / "parallel_diffusion.json", out_markdown=DOCS / "parallel_diffusion_tables.md") -> list[dict]:
    """Compare every committed campaign; write the JSON and the table atomically."""
    from anisotropy import __version__
    from anisotropy.io import write_json, write_text

    rows = [row for campaign in CAMPAIGNS for row in compare(campaign)]
    write_json(out_json, {"package_version": __version__, "campaigns": list(CAMPAIGNS), "rows": rows})
    write_text(out_markdown, markdown_tables(rows))
    return rows


if __name__ == "__main__":  # pragma: no cover - the committed results' command (module docstring)
    run()
