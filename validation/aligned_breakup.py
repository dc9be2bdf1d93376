r"""The break-up of aligned close pairs: which clock sets it (issue 12, after the pair diagnostics).

The pair diagnostics (:mod:`validation.pair_diagnostics`, ``docs/validation/pair_diagnostics.md``) found that a
fraction of the closest pairs keeps its opening angle while the others spread: the *aligned fraction*

.. math:: A(t) = \langle P_L(x'(t))\rangle / P_L(x)

of the instrument's closest node (8.3° for 16 nodes) levels off in L at L = 12, the highest recorded order.  Pairs
that have not moved keep :math:`P_L(x)`; pairs that have spread average :math:`P_L` to about zero.  This module
measures the age at which A falls to fixed levels and asks which clock sets it, with no fitted shape:

* the gyration clock :math:`\Omega t` (break-up when the pair's separation along B0 reaches the resonant scale
  along unperturbed helices, :math:`\theta\,\Omega t \sim 1`);
* the scattering clock :math:`t/\tau_s` (break-up by independent pitch-angle scattering);
* the pair-time clock :math:`\Omega t/(\Omega\tau_s)^{1/3}`.  A pair changes its opening angle only through the
  field difference across its separation, :math:`d(\hat n_A\cdot\hat n_B)/dt = (\boldsymbol\omega_A -
  \boldsymbol\omega_B)\cdot(\hat n_A\times\hat n_B)` for :math:`d\hat n/dt = \boldsymbol\omega\times\hat n`,
  :math:`\boldsymbol\omega = -q\mathbf B/(\gamma m)` (the Lorentz force); in slab turbulence the separation is
  along B0.  If relative pitch-angle scattering separates the pair by :math:`r_g` along B0 (the pair-time estimate,
  ``docs/physics/mixing_ode.md#pair-time``, eq. 4.5), the shared field ends at :math:`\Omega t \sim
  (\Omega\tau_s)^{1/3}` whatever the opening angle; exponential growth of the separation from the opening angle
  gives nearly the same scaling with a logarithmic dependence on the angle.  It is the scaling of the one-ΔT
  closure's pair time :math:`\Omega\Delta T = a(\Omega\tau_s)^{1/3}`;
* the same clock in the guiding field, :math:`\Omega_0 = \Omega\sqrt{1-\eta}` in place of Ω (added after the
  per-η prefactors were seen: not a blind test).

The opening angle separates these pictures: the crossing age is independent of θ for relative scattering, falls as
1/θ along unperturbed helices and slowly (logarithmically) for exponential separation.  :func:`angle_case`
measures it at 4-21° on 32-node runs (:data:`ANGLE_RUNS`), counting a pair at angle θ as aligned with
:math:`L \approx` :data:`ALIGNED_RESOLUTION`/θ, i.e. while it has turned by less than a fixed fraction of θ.

For each level the crossing ages of all cases are fitted by :math:`\ln\Omega t_c = \ln c + \beta\ln\Omega\tau_s`
(β free, and each clock of :data:`CLOCKS` with only c free), over the subsets of :data:`GROUPS`; the slab cases span
:math:`\Omega\tau_s` = 4.7-2900 (2.8 decades) and η = 0.1-0.8. :math:`\tau_s` is slab QLT
(:func:`anisotropy.transport.omega_scattering_time`, the clock of every closure).

Error model: realisations are independent; A(t) and each crossing age are evaluated on the ensemble mean, with the
delete-one jackknife over realisations as standard error.  The crossing age is the log-log interpolation of A
between the two recorded ages around the level (the runs record 4 ages per factor 2).  The fits are weighted least
squares in :math:`\ln\Omega t_c` with those errors; the cases are independent, so χ² has the usual meaning.

Results: ``docs/validation/aligned_breakup.{json,md}``; ``python -m validation.aligned_breakup DIR`` reruns the
committed cases (:data:`RUNS` and :data:`ANGLE_RUNS`, about 35 min on two cores; resumable)
into ``DIR`` and rewrites them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from anisotropy.legendre import legendre_table

from .pair_diagnostics import DOCS, _closure_case, _jackknife, load_realisations, run_provenance
from .pair_diagnostics import simulate as _simulate

__all__ = ["ANGLE_RUNS", "CLOCKS", "GROUPS", "LEVELS", "RUNS", "aligned_fraction", "angle_case", "angle_orders",
           "breakup_case", "clock_fits", "crossing_age", "figure", "frozen_candidate", "frozen_then_closure_cl",
           "markdown_tables", "run", "simulate"]

#: θL of the reference measurement, the closest node of a 16-node instrument (8.35°) at L = 12 (rad): a pair counts
#: as aligned while its angle has changed by less than about 1/L, i.e. a fixed fraction of its own angle
ALIGNED_RESOLUTION = 1.7487
#: the lowest order used for the angle dependence (below it a spread pair keeps a large ⟨P_L⟩: no plateau)
MIN_ANGLE_ORDER = 5
#: equal age steps of the frozen-then-closure quadrature (relative error ≲ 1e-4 of C_ℓ against
#: pair_correlation_cl at ΔT → 0 on the committed cases)
FROZEN_SAMPLES = 1600
#: levels of the aligned fraction whose crossing ages are fitted (1/e: the e-folding age)
LEVELS = (0.5, 1.0 / math.e, 0.2, 0.1, 0.03)
#: the clocks compared: name -> (β, γ) in Ωt_c ∝ (Ωτ_s)^β (1 - η)^γ (module docstring).  The guiding-field variant
#: (the pair-time clock with the gyration frequency in B0, Ω0 = Ω√(1-η), for Ω: Ω0 t_c ∝ (Ω0 τ_s)^{1/3}) was
#: added after the per-η prefactors were seen, so its χ² is not a blind test
CLOCKS = {"gyration Ωt": (0.0, 0.0), "pair time Ωt/(Ωτ_s)^(1/3)": (1.0 / 3.0, 0.0),
          "pair time in the guiding field Ω0t/(Ω0τ_s)^(1/3)": (1.0 / 3.0, -1.0 / 3.0), "scattering t/τ_s": (1.0, 0.0)}
#: subsets fitted: name -> (geometries, η or None for all)
GROUPS = {"slab": (("slab",), None), "slab η = 0.5": (("slab",), 0.5), "slab η = 0.1": (("slab",), 0.1),
          "slab and isotropic + B0": (("slab", "isotropic"), None)}
#: recorded ages: 4 per factor 2 in s = Ωt/(Ωτ_s)^{1/3}, s = 0.25 ... 32 (the first run of each case is placed on the
#: pair-time clock so that every level is crossed between recorded ages, whichever clock holds)
AGE_STEPS_PER_OCTAVE, FIRST_SCALED_AGE, AGE_COUNT = 4, 0.25, 29


def scaled_ages(cube_root_omega_tau_s: float, reduced_rigidity: float) -> str:
    """The ``--times`` of a run (units L_c/c, with Ω = c/r_g): s_i (Ωτ_s)^{1/3}/Ω on the grid of the constants above."""
    scale = cube_root_omega_tau_s * reduced_rigidity
    return ",".join(f"{FIRST_SCALED_AGE * 2.0 ** (index / AGE_STEPS_PER_OCTAVE) * scale:.6g}"
                    for index in range(AGE_COUNT))


def _arguments(eta, rho, lmin, modes, cube_root, seed, kind="slab", realisations=32, pairs=4096):
    return ["--turbulence", kind, "--eta", str(eta), "--rigidity", str(rho), "--lmin-over-lmax", str(lmin),
            "--modes-per-decade", str(modes), "--realisations", str(realisations), "--seed", str(seed),
            "--pairs", str(pairs), "--times", scaled_ages(cube_root, rho)]


#: the instrument of the angle runs (overrides validation.pair_diagnostics.COMMON_ARGUMENTS)
ANGLE_INSTRUMENT = ["--nodes", "32", "--lmax-mixing", "24"]
#: the committed runs (``cr-anisotropy simulate pairs`` arguments).  L_min/L_max as the pair diagnostics (k_max r_g ≥ 8
#: at every rigidity); the (Ωτ_s)^{1/3} that places the ages is slab QLT, rounded (it only sets where ages fall).
RUNS = {
    "slab_eta0.8_rho0.1": _arguments(0.8, 0.1, 1e-2, 64, 1.6693, 20261213),
    "slab_eta0.5_rho0.3": _arguments(0.5, 0.3, 1e-2, 64, 1.9728, 20261217),
    "slab_eta0.5_rho0.1": _arguments(0.5, 0.1, 1e-2, 64, 2.5183, 20261216),
    "slab_eta0.5_rho0.01": _arguments(0.5, 0.01, 1e-3, 32, 4.2354, 20261218),
    "slab_eta0.5_rho0.001": _arguments(0.5, 0.001, 1e-4, 32, 7.0775, 20261211),
    "slab_eta0.2_rho0.03": _arguments(0.2, 0.03, 1e-3, 32, 5.1312, 20261214),
    "slab_eta0.1_rho0.1": _arguments(0.1, 0.1, 1e-2, 64, 5.0699, 20261219),
    "slab_eta0.1_rho0.01": _arguments(0.1, 0.01, 1e-3, 32, 8.5270, 20261212),
    "slab_eta0.1_rho0.001": _arguments(0.1, 0.001, 1e-4, 32, 14.2489, 20261215, realisations=16),
    "isotropic_eta0.5_rho0.1": _arguments(0.5, 0.1, 1e-2, 64, 2.5183, 20261220, "isotropic", 16, 2048),
    "isotropic_eta0.5_rho0.01": _arguments(0.5, 0.01, 1e-3, 32, 4.2354, 20261221, "isotropic", 16, 2048),
}

#: runs for the dependence on the opening angle: 32 nodes (4.2°, 9.7°, 15.3°, 20.8° at L = 24, 10, 7, 5)
ANGLE_RUNS = {
    "angle_slab_eta0.5_rho0.1": [*_arguments(0.5, 0.1, 1e-2, 64, 2.5183, 20261222), *ANGLE_INSTRUMENT],
    "angle_slab_eta0.5_rho0.01": [*_arguments(0.5, 0.01, 1e-3, 32, 4.2354, 20261223), *ANGLE_INSTRUMENT],
    "angle_slab_eta0.1_rho0.01": [*_arguments(0.1, 0.01, 1e-3, 32, 8.5270, 20261224), *ANGLE_INSTRUMENT],
}


def aligned_fraction(mixing, cosines, node: int | None = None, order: int | None = None) -> np.ndarray:
    r""":math:`A(t) = \langle P_L(x'(t))\rangle/P_L(x)` of one node (default: the closest; L: the highest order).

    ``mixing`` is the instrument's :math:`\langle P_{\ell_0}(x'(t))\rangle` (ages, nodes, ℓ0 = 0…L).

    Examples
    --------
    Pairs that do not move keep A = 1:

    >>> x = np.array([0.2, 0.99])
    >>> mixing = np.repeat(legendre_table(12, x).T[None], 3, axis=0)
    >>> aligned_fraction(mixing, x).tolist()
    [1.0, 1.0, 1.0]
    """
    mixing, cosines = np.asarray(mixing, dtype=float), np.asarray(cosines, dtype=float)
    node = int(np.argmax(cosines)) if node is None else node
    order = mixing.shape[-1] - 1 if order is None else order
    return mixing[:, node, order] / legendre_table(order, cosines[node : node + 1])[order, 0]


def angle_orders(cosines, recorded_order: int) -> list[tuple[int, int]]:
    """(node, L) of every node whose order L = round(:data:`ALIGNED_RESOLUTION`/θ) is recorded and at least
    :data:`MIN_ANGLE_ORDER`, closest first: the same criterion, "turned by less than a fixed fraction of its own
    angle", at every opening angle θ.

    Examples
    --------
    >>> from anisotropy.legendre import gauss_legendre
    >>> angle_orders(gauss_legendre(16)[0], 12)
    [(15, 12), (14, 5)]
    """
    cosines = np.asarray(cosines, dtype=float)
    out = []
    for node in np.argsort(cosines)[::-1]:
        order = round(ALIGNED_RESOLUTION / math.acos(cosines[node]))
        if MIN_ANGLE_ORDER <= order <= recorded_order:
            out.append((int(node), int(order)))
    return out


def crossing_age(ages, fraction, level: float) -> float:
    r"""The first age at which ``fraction`` falls to ``level``: log-log interpolation between the recorded ages
    around it; NaN when it is not crossed between two positive ages with positive fractions.

    Exact for a power law :math:`A \propto t^{-k}` between the two ages.

    Examples
    --------
    >>> ages = np.array([1.0, 2.0, 4.0])
    >>> round(crossing_age(ages, 1.0 / ages**2, 0.1), 12) == round(10 ** 0.5, 12)
    True
    """
    ages, fraction = np.asarray(ages, dtype=float), np.asarray(fraction, dtype=float)
    below = np.flatnonzero(fraction <= level)
    if below.size == 0 or below[0] == 0:
        return math.nan
    after = below[0]
    before = after - 1
    if ages[before] <= 0.0 or fraction[after] <= 0.0:
        return math.nan
    slope = math.log(fraction[after] / fraction[before]) / math.log(ages[after] / ages[before])
    return float(ages[before] * math.exp(math.log(level / fraction[before]) / slope))


def breakup_case(directory, levels=LEVELS) -> dict:
    """A(t) and its crossing ages (units 1/Ω) with jackknife errors for one ``simulate pairs`` directory."""
    from .closures import _qlt_rate

    record, realisations = load_realisations(directory)
    ages, cosines = realisations[0]["ages"], realisations[0]["cosines"]
    omega_ages = ages / record["reduced_rigidity"]  # Ω = c/r_g = 1/ρ in units of c/L_c
    omega_tau_s = 1.0 / _qlt_rate(_closure_case(record, float(ages[-1])))

    def statistics(mean):
        fraction = aligned_fraction(mean["mixing"], cosines)
        return {"fraction": fraction,
                "crossing": np.array([crossing_age(omega_ages, fraction, level) for level in levels])}

    value, error = _jackknife(realisations, statistics)
    return {
        **run_provenance(directory, record, realisations),
        "omega_tau_s": float(omega_tau_s),
        "angle_deg": float(np.degrees(np.arccos(cosines.max()))),
        "order": int(realisations[0]["mixing"].shape[-1] - 1),
        "omega_ages": omega_ages.tolist(),
        "fraction": value["fraction"].tolist(),
        "fraction_error": error["fraction"].tolist(),
        "levels": list(levels),
        "crossing_omega": [None if not math.isfinite(v) else float(v) for v in value["crossing"]],
        "crossing_omega_error": [None if not math.isfinite(v) else float(v) for v in error["crossing"]],
    }


def _log_slope(log_angles, crossings) -> float:
    """Least-squares slope of ln Ωt_c against ln θ over the angles where the level is crossed (NaN below two)."""
    finite = np.isfinite(crossings)
    if np.count_nonzero(finite) < 2:
        return math.nan
    return float(np.polyfit(log_angles[finite], np.log(crossings[finite]), 1)[0])


def angle_case(directory, levels=LEVELS) -> dict:
    r"""A(t) at every opening angle of :func:`angle_orders` and the crossing ages (units 1/Ω), with the slope
    :math:`d\ln\Omega t_c/d\ln\theta` per level; all with jackknife errors (the angles share realisations, so the
    slope's error comes from the jackknife too).

    Predicted slopes (module docstring): −1 if the pair separates along unperturbed helices (:math:`\theta\,\Omega
    t_c` fixed), 0 if relative scattering sets the separation (eq. 4.5 of docs/physics/mixing_ode.md), small and
    negative (:math:`-1/(\lambda t_c)`) for exponential growth of the separation at a rate λ.
    """
    from .closures import _qlt_rate

    record, realisations = load_realisations(directory)
    ages, cosines = realisations[0]["ages"], realisations[0]["cosines"]
    omega_ages = ages / record["reduced_rigidity"]
    pairs = angle_orders(cosines, realisations[0]["mixing"].shape[-1] - 1)
    log_angles = np.log(np.arccos(cosines[[node for node, _ in pairs]]))

    def statistics(mean):
        fractions = np.array([aligned_fraction(mean["mixing"], cosines, node, order) for node, order in pairs])
        crossings = np.array([[crossing_age(omega_ages, fraction, level) for level in levels]
                              for fraction in fractions])
        return {"fraction": fractions, "crossing": crossings,
                "slope": np.array([_log_slope(log_angles, crossings[:, index]) for index in range(len(levels))])}

    value, error = _jackknife(realisations, statistics)

    def listed(array):
        return [[None if not math.isfinite(v) else float(v) for v in row] for row in np.atleast_2d(array)]

    return {
        **run_provenance(directory, record, realisations),
        "omega_tau_s": float(1.0 / _qlt_rate(_closure_case(record, float(ages[-1])))),
        "angles_deg": np.degrees(np.exp(log_angles)).tolist(),
        "orders": [order for _, order in pairs],
        "omega_ages": omega_ages.tolist(),
        "fraction": value["fraction"].tolist(),
        "fraction_error": error["fraction"].tolist(),
        "levels": list(levels),
        "crossing_omega": listed(value["crossing"]),
        "crossing_omega_error": listed(error["crossing"]),
        "slope": listed(value["slope"])[0],
        "slope_error": listed(error["slope"])[0],
    }


def _weighted_line(x, y, sigma, slope=None) -> dict:
    """y = intercept + slope x by weighted least squares (slope fixed when given), for x = ln Ωτ_s and y = ln Ωt_c
    with errors σ(y): :func:`validation.calibration.fit_power_law` / :func:`~validation.calibration.fit_prefactor`,
    the pair-time fits, in this module's layout (intercept, slope and their errors, χ², dof)."""
    from .calibration import fit_power_law, fit_prefactor

    clock, crossing = np.exp(np.asarray(x, dtype=float)), np.exp(np.asarray(y, dtype=float))
    if slope is not None:
        fit = fit_prefactor(clock, crossing, sigma, exponent=slope)
        return {"intercept": math.log(fit["prefactor"]), "intercept_error": fit["sigma_prefactor"] / fit["prefactor"],
                "slope": slope, "slope_error": 0.0, "chi2": fit["chi2"], "dof": fit["dof"]}
    fit = fit_power_law(clock, crossing, sigma)
    return {"intercept": math.log(fit.prefactor), "intercept_error": fit.sigma_prefactor / fit.prefactor,
            "slope": fit.exponent, "slope_error": fit.sigma_exponent, "chi2": fit.chi2, "dof": fit.dof}


def clock_fits(results, kinds=("slab",), eta: float | None = None) -> list[dict]:
    r"""Per level: the fit :math:`\ln\Omega t_c = \ln c + \beta\ln\Omega\tau_s` over the cases of ``kinds`` (and
    turbulence level ``eta`` if given) with β free, and with each clock of :data:`CLOCKS` (only c free).

    Examples
    --------
    Crossing ages that follow Ωt_c = 2.5 (Ωτ_s)^{1/3} exactly give β = 1/3, c = 2.5 and χ² = 0:

    >>> cases = [{"parameters": {"turbulence": "slab", "eta": 0.5}, "omega_tau_s": w, "levels": [0.5],
    ...           "crossing_omega": [2.5 * w ** (1 / 3)], "crossing_omega_error": [0.1]} for w in (5.0, 50.0, 500.0)]
    >>> fit = clock_fits(cases)[0]["free"]
    >>> round(fit["slope"], 12), round(math.exp(fit["intercept"]), 12), round(fit["chi2"], 12)
    (0.333333333333, 2.5, 0.0)
    """
    chosen = [result for result in results if result["parameters"]["turbulence"] in kinds
              and (eta is None or result["parameters"]["eta"] == eta)]
    fits = []
    for index, level in enumerate(chosen[0]["levels"] if chosen else ()):
        points = [(math.log(r["omega_tau_s"]), math.log(r["crossing_omega"][index]),
                   r["crossing_omega_error"][index] / r["crossing_omega"][index],
                   math.log(1.0 - r["parameters"]["eta"]), r.get("directory", "")) for r in chosen
                  if r["crossing_omega"][index] is not None and r["crossing_omega_error"][index]]
        if len(points) < 3:
            continue
        x, y, sigma, guiding, names = (np.array(column) for column in zip(*points, strict=True))
        fits.append({"level": level, "cases": names.tolist(), "free": _weighted_line(x, y, sigma),
                     "fixed": {name: _weighted_line(x, y - exponent * guiding, sigma, slope)
                               for name, (slope, exponent) in CLOCKS.items()}})
    return fits


def _number(value, digits=3) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def markdown_tables(document: dict) -> str:
    """The tables of ``docs/validation/aligned_breakup.md`` from the committed JSON document."""
    results = document["cases"]
    level_names = ["1/e" if abs(level - 1.0 / math.e) < 1e-12 else f"{level:g}" for level in results[0]["levels"]]
    lines = ["## Crossing ages Ωt_c of the aligned fraction (± jackknife)", "",
             "| case | realisations | Ωτ_s (QLT) | " + " | ".join(f"A = {name}" for name in level_names)
             + " | Ωt_c(1/e)/(Ωτ_s)^(1/3) |",
             "|---|---|---|" + "---|" * (len(level_names) + 1)]
    e_fold = results[0]["levels"].index(min(results[0]["levels"], key=lambda level: abs(level - 1.0 / math.e)))
    for r in results:
        cells = [f"{_number(v)} ± {_number(e, 2)}" if v is not None else "–"
                 for v, e in zip(r["crossing_omega"], r["crossing_omega_error"], strict=True)]
        crossing = r["crossing_omega"][e_fold]
        scaled = "–" if crossing is None else (f"{crossing / r['omega_tau_s'] ** (1 / 3):.3g} ± "
                                               f"{r['crossing_omega_error'][e_fold] / r['omega_tau_s'] ** (1 / 3):.2g}")
        lines.append(f"| {r['directory']} | {r['realisations']} | {r['omega_tau_s']:.3g} | " + " | ".join(cells)
                     + f" | {scaled} |")
    for title, fits in document["fits"].items():
        lines += ["", f"## Clock fits, {title}: ln Ωt_c = ln c + β ln Ωτ_s", "",
                  "| level | cases | β (free) | c (free) | χ²/dof (free) | "
                  + " | ".join(f"χ²/dof, {name}" for name in CLOCKS) + " |",
                  "|---|---|---|---|---|" + "---|" * len(CLOCKS)]
        for fit in fits:
            free = fit["free"]
            name = "1/e" if abs(fit["level"] - 1.0 / math.e) < 1e-12 else f"{fit['level']:g}"
            fixed = " | ".join(f"{fit['fixed'][clock]['chi2']:.1f}/{fit['fixed'][clock]['dof']}" for clock in CLOCKS)
            lines.append(f"| {name} | {len(fit['cases'])} | {free['slope']:.3f} ± {free['slope_error']:.3f} | "
                         f"{math.exp(free['intercept']):.3g} | {free['chi2']:.1f}/{free['dof']} | {fixed} |")
    if document.get("angles"):
        lines += _angle_tables(document["angles"], level_names)
    if document.get("frozen_candidate"):
        lines += ["", "## Candidate: frozen until break-up at the default pair time, then the closure "
                  "(χ² of C_ℓ/C_1, ℓ = 2…8, against the pair runs' exact ratios)", "",
                  "| case | closure | ΩΔT | χ² closure alone | χ² frozen-then-closure | C_2/C_1 closure → frozen |",
                  "|---|---|---|---|---|---|"]
        for row in document["frozen_candidate"]:
            lines.append(f"| {row['directory']} | {row['closure']} | {row['pair_time_omega']:.3g} | "
                         f"{row['closure_chi2']:.1f}/{row['dof']} | {row['frozen_chi2']:.1f}/{row['dof']} | "
                         f"{row['closure_ratio'][1]:.3g} → {row['frozen_ratio'][1]:.3g} |")
    return "\n".join(lines) + "\n"


def _angle_tables(cases, level_names) -> list[str]:
    lines = ["", "## Dependence on the opening angle θ: crossing ages Ωt_c (± jackknife) and d ln Ωt_c/d ln θ", "",
             "Predicted slope: −1 (unperturbed helices), 0 (relative scattering, eq. 4.5), small and negative "
             "(exponential separation).", "",
             "| case | realisations | Ωτ_s (QLT) | θ (deg) | L | " + " | ".join(f"A = {name}" for name in level_names)
             + " |", "|---|---|---|---|---|" + "---|" * len(level_names)]
    for case in cases:
        for index, (angle, order) in enumerate(zip(case["angles_deg"], case["orders"], strict=True)):
            cells = [f"{_number(v)} ± {_number(e, 2)}" if v is not None else "–"
                     for v, e in zip(case["crossing_omega"][index], case["crossing_omega_error"][index], strict=True)]
            lines.append(f"| {case['directory']} | {case['realisations']} | {case['omega_tau_s']:.3g} | {angle:.2f} | "
                         f"{order} | " + " | ".join(cells) + " |")
        slopes = [f"{v:.3f} ± {e:.3f}" if v is not None else "–"
                  for v, e in zip(case["slope"], case["slope_error"], strict=True)]
        lines.append(f"| {case['directory']} | | | slope | | " + " | ".join(slopes) + " |")
    return lines


def frozen_then_closure_cl(generators, ages, decay_rate: float, final_age: float, pair_time: float,
                           samples: int = FROZEN_SAMPLES) -> np.ndarray:
    r""":math:`C_\ell(T)` (ℓ ≥ 1, up to the common factor :math:`8\pi v^2G^2/9`) of the *frozen-then-closure*
    candidate: a pair turns rigidly with its partner (y = e₁) until it breaks up at rate 1/ΔT, and then follows the
    closure's equal-age correlation restarted at the break-up,

    .. math:: y(t) = e^{-t/\Delta T} e_1 + \int_0^t \frac{e^{-t_b/\Delta T}}{\Delta T}\,y_\mathrm{closure}(t - t_b)
              \,dt_b, \qquad C_\ell \propto \int_0^T w(T-t)\,y_\ell(t)\,dt,

    :math:`w(s) = (1 - e^{-\nu_1 s})/\nu_1` (docs/physics/pair_correlation.md, the factorised form).  Trapezoid
    rules on ``samples`` equal age steps; units of ``ages``, ``final_age``, ``pair_time``: 1/Ω.

    Examples
    --------
    ΔT → 0 gives the closure itself; a pair that never breaks up gives a pure dipole:

    >>> import anisotropy as an
    >>> from anisotropy.pair_correlation import pair_correlation_cl
    >>> gamma = an.rate_matrix(an.PairRate.toy(D_s=0.5, kappa_c=5.0), 8)
    >>> closure = pair_correlation_cl([gamma], [1.0], 1.0, [2.0])[0][1:] * 9 / (8 * math.pi)
    >>> bool(np.allclose(frozen_then_closure_cl([gamma], [1.0], 1.0, 2.0, 1e-9), closure, rtol=1e-4))
    True
    >>> frozen = frozen_then_closure_cl([gamma], [1.0], 1.0, 2.0, 1e9)
    >>> bool(abs(frozen[0] - (2.0 - (1 - math.exp(-2.0))) ) < 1e-6 and np.all(np.abs(frozen[1:]) < 1e-8))
    True
    """
    from anisotropy.pair_correlation import equal_age_correlation

    t = np.linspace(0.0, final_age, samples + 1)
    step = t[1] - t[0]
    closure = equal_age_correlation(generators, ages, t)[:, 1:]
    if pair_time <= step * 1e-3:
        y = closure
    else:
        survival = np.exp(-t / pair_time)
        y = np.zeros_like(closure)
        y[:, 0] = survival
        for index in range(1, t.size):
            weights = np.full(index + 1, step)
            weights[[0, -1]] *= 0.5
            y[index] += (weights * survival[: index + 1] / pair_time) @ closure[index::-1]
    weight = -np.expm1(-decay_rate * (final_age - t)) / decay_rate
    return np.trapezoid(weight[:, None] * y, t, axis=0)


def frozen_candidate(pair_results, closures=("born", "normalised"), theory_lmax: int = 64) -> list[dict]:
    """χ² of :func:`frozen_then_closure_cl` (ΔT: the package's default pair time a(Ωτ_s)^{1/3}, no new constant)
    and of the closure alone, against the exact C_ℓ/C_1 of the slab pair-diagnostics cases (ℓ = 2…8, diagonal
    jackknife errors as in docs/validation/pair_diagnostics.md)."""
    from anisotropy.calibration import PAIR_TIME_PREFACTOR
    from anisotropy.pair_correlation import generator_from_increments

    from .closures import _increments, _qlt_rate

    rows = []
    for result in pair_results:
        if result["parameters"]["turbulence"] != "slab":
            continue
        record = result["parameters"]
        case = _closure_case(record, result["final_age"])
        final = result["final_age"] / record["reduced_rigidity"]
        increments = _increments(case, theory_lmax)
        qlt = _qlt_rate(case)
        pair_time = PAIR_TIME_PREFACTOR * (1.0 / qlt) ** (1.0 / 3.0)
        exact, error = np.array(result["ratio"]["exact"]), np.array(result["ratio_error"]["exact"])
        for name in closures:
            nu = increments.markov_self_rate if name == "born" else qlt
            generators = [generator_from_increments(increments, piece, name, nu, theory_lmax)
                          for piece in range(increments.ages.size)]
            row = {"directory": result["directory"], "closure": name, "pair_time_omega": pair_time,
                   "dof": int(exact.size - 1)}
            for label, delay in (("closure", 0.0), ("frozen", pair_time)):
                power = frozen_then_closure_cl(generators, increments.ages, nu, final, delay)
                ratio = (power / power[0])[: exact.size]
                row[f"{label}_ratio"] = ratio.tolist()
                row[f"{label}_chi2"] = float(np.sum(((ratio[1:] - exact[1:]) / error[1:]) ** 2))
            rows.append(row)
    return rows


def figure(document: dict):
    r"""A(t) of every case against :math:`\Omega t/(\Omega\tau_s)^{1/3}` (± jackknife); the 1/e crossing ages against
    :math:`\Omega\tau_s` with the fixed-exponent clocks of the slab fit; and, if the document has angle runs, their
    crossing ages against the opening angle.  Returns a Figure."""
    from matplotlib.figure import Figure

    cases = document["cases"]
    angles = document.get("angles") or []
    figure = Figure(figsize=(16.0 if angles else 11.0, 4.4), layout="constrained")
    curves, crossings, *by_angle = figure.subplots(1, 3 if angles else 2)
    e_fold = cases[0]["levels"].index(min(cases[0]["levels"], key=lambda level: abs(level - 1.0 / math.e)))
    for case in cases:
        clock = case["omega_tau_s"] ** (1.0 / 3.0)
        scaled = np.array(case["omega_ages"][1:]) / clock
        fraction, error = np.array(case["fraction"][1:]), np.array(case["fraction_error"][1:])
        parameters = case["parameters"]
        label = f"{parameters['turbulence']} η={parameters['eta']:g} ρ={parameters['reduced_rigidity']:g}"
        style = "-" if parameters["turbulence"] == "slab" else ":"
        keep = fraction > 0
        lines = curves.plot(scaled[keep], fraction[keep], style, label=label)
        curves.fill_between(scaled[keep], (fraction - error)[keep], (fraction + error)[keep], alpha=0.2,
                            color=lines[0].get_color())
        if case["crossing_omega"][e_fold] is not None:
            crossings.errorbar([case["omega_tau_s"]], [case["crossing_omega"][e_fold]],
                               [case["crossing_omega_error"][e_fold]], fmt="o" if style == "-" else "s",
                               color=lines[0].get_color())
    curves.set(xscale="log", yscale="log", ylim=(2e-3, 1.1), xlabel=r"$\Omega t/(\Omega\tau_s)^{1/3}$",
               ylabel=r"aligned fraction $\langle P_L(x')\rangle/P_L(x)$")
    curves.legend(fontsize="x-small")
    grid = np.geomspace(3.0, 5000.0, 50)
    fit = next(item for item in document["fits"]["slab"] if item["level"] == cases[0]["levels"][e_fold])
    for name, (slope, _) in CLOCKS.items():
        if name.startswith("pair time in the guiding"):
            continue  # depends on η as well: not one line
        crossings.plot(grid, math.exp(fit["fixed"][name]["intercept"]) * grid**slope, "--", lw=1,
                       label=f"{name}: χ²={fit['fixed'][name]['chi2']:.0f}/{fit['fixed'][name]['dof']}")
    crossings.set(xscale="log", yscale="log", xlabel=r"$\Omega\tau_s$ (slab QLT)",
                  ylabel=r"$\Omega t$ at which the aligned fraction is $1/e$")
    crossings.legend(fontsize="x-small")
    for case in angles:
        parameters = case["parameters"]
        values = np.array([row[e_fold] if row[e_fold] is not None else np.nan for row in case["crossing_omega"]])
        errors = np.array([row[e_fold] if row[e_fold] is not None else np.nan for row in case["crossing_omega_error"]])
        scale = case["omega_tau_s"] ** (1.0 / 3.0)
        by_angle[0].errorbar(case["angles_deg"], values / scale, errors / scale, fmt="o-",
                             label=f"η={parameters['eta']:g} ρ={parameters['reduced_rigidity']:g}")
    if angles:
        by_angle[0].set(xscale="log", xlabel="opening angle θ (deg)", ylabel=r"$\Omega t_c(1/e)/(\Omega\tau_s)^{1/3}$")
        by_angle[0].legend(fontsize="x-small", title="slab, L ≈ 1.75/θ", title_fontsize="x-small")
    return figure


def simulate(root, names=None, executor: str = "process", workers: int | None = None) -> list[Path]:
    """Run (or resume) the committed cases of :data:`RUNS` and :data:`ANGLE_RUNS` into ``root/NAME``
    (:func:`validation.pair_diagnostics.simulate`)."""
    return _simulate(root, names, executor, workers, runs={**RUNS, **ANGLE_RUNS})


def run(directories, out_json, out_markdown=None, out_figure=None, angle_directories=()) -> dict:
    """Measure every run directory (clock fits) and every angle-run directory; write the JSON (and the tables, the
    figure) atomically."""
    from anisotropy.io import atomic_output

    cases = [breakup_case(directory) for directory in directories]
    document = {"cases": cases, "fits": {name: clock_fits(cases, kinds, eta) for name, (kinds, eta) in GROUPS.items()},
                "angles": [angle_case(directory) for directory in angle_directories],
                "frozen_candidate": frozen_candidate(json.loads((DOCS / "pair_diagnostics.json").read_text()))}
    with atomic_output(Path(out_json)) as temporary:
        Path(temporary).write_text(json.dumps(document, indent=1) + "\n")
    if out_markdown is not None:
        with atomic_output(Path(out_markdown)) as temporary:
            Path(temporary).write_text(markdown_tables(document))
    if out_figure is not None:
        with atomic_output(Path(out_figure)) as temporary:
            figure(document).savefig(temporary, format="png", dpi=110)
    return document


if __name__ == "__main__":  # pragma: no cover - the committed results' command (module docstring)
    import sys

    if len(sys.argv) != 2:
        print("usage: python -m validation.aligned_breakup DIR (the run directories go under DIR)", file=sys.stderr)
        raise SystemExit(2)
    directories = simulate(sys.argv[1])
    run(directories[: len(RUNS)], DOCS / "aligned_breakup.json", DOCS / "aligned_breakup_tables.md",
        DOCS / "aligned_breakup.png", angle_directories=directories[len(RUNS) :])
