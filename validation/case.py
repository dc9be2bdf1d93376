r"""One simulated case against the default theory: what ``cr-anisotropy validate --case`` runs.

A user names a case ``KIND:eta=E:rigidity=R`` (:func:`parse_case`; KIND ``slab`` or ``isotropic`` with a regular
field, η = δB²/B_tot² in (0, 1), rigidity = r_g/L_c); :func:`run_case` backtracks an ensemble of turbulence
realisations with the simulator (:mod:`validation.simulator`, the same realisation and statistics code as
:mod:`validation.calibration`) and compares :math:`\langle C_\ell\rangle/\langle C_1\rangle` and
:math:`C_1/(\frac{4\pi}{9}|\langle\boldsymbol\delta\rangle|^2)` with the default theory of
:func:`anisotropy.predict_cl` (closure :data:`anisotropy.predict.DEFAULT_CLOSURE`, untruncated steady state, the
shipped pair-time prefactor) evaluated at the case's η and r_g/L_c on the simulator's discrete spectrum.

Defaults (from the case's slab-QLT scattering time :math:`\tau_s = 3\kappa_\parallel/c^2`, as the calibration):
backtracking to :data:`TIME_FACTOR` τ_s (:data:`WEAK_TIME_FACTOR` for η < 0.3, whose runs cost ∝ τ_s ∝ 1/η),
:data:`N_TIMES` log-spaced outputs from τ_s/4, HEALPix N_side :data:`NSIDE` (white-noise floor 4× below 16),
:data:`REALISATIONS` realisations, the calibration's spectrum (L_min/L_max = 1e-2, 64 modes per decade).

Error model: ensemble scatter across realisations (sample covariance / N of the :math:`\hat C_\ell`), ratios by the
delta method with the :math:`C_\ell`-:math:`C_1` covariance (:func:`validation.compare.cl_ratio`).  Compared
multipoles: ℓ = 2 up to the noise limit (:func:`validation.compare.usable_multipoles`: > 10× the white-noise floor,
ℓ ≤ N_side), and at most N − 3 of them so that the full covariance estimated from N realisations is invertible;
χ² uses that full covariance with the Hartlap factor (N − n − 2)/(N − 1).  No parameter is fitted (dof = n).
``c1_ratio_sim`` has a delta-method error from the standard errors of ⟨C_1⟩ and of each component of ⟨δ⟩
(:func:`validation.compare.dipole_power_ratio`; their correlation neglected).  The simulation is at a finite T
while the theory is a steady state; ``converged_ells`` says which compared multipoles have stopped changing in T
(:func:`validation.compare.convergence_in_time`).

The default theory describes an unbounded inertial range (its inner-scale continuation,
:mod:`anisotropy.untruncated`) while the simulator's spectrum spans L_min/L_max = 1e-2; ``theory.
inner_scale_spread_l20`` says how much the continuation matters at the case's rigidity.  ``finite_time`` is the
like-for-like comparison of the calibration: the same closure and pair time, evolved to the simulation's T on its
own modes (:func:`validation.calibration.theory_ratio`), with its χ² on the same multipoles and covariance.
Measured with the defaults (24 realisations, N_side 32, T = 3 τ_s, seed 20261204) at slab η = 0.1, r_g/L_c = 0.3,
one of the two cases the full report passed: χ² = 81.5 for 4 dof against the default theory (C_2/C_1 0.066
against 0.031 ± 0.004 simulated; 71.4 for 4 dof like for like) and C_1/((4π/9)δ²) = 1.13 ± 0.04 simulated
against 0.77.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from anisotropy.errors import ParameterError, require_integer, require_range
from anisotropy.io import write_json

from . import compare
from .calibration import (
    LMIN_OVER_LMAX,
    MODES_PER_DECADE,
    CalibrationCase,
    calibration_realisation,
    case_config,
    qlt_scattering_time,
)

__all__ = [
    "KINDS",
    "NSIDE",
    "REALISATIONS",
    "TIME_FACTOR",
    "CaseSpec",
    "parse_case",
    "run_case",
    "theory_for_case",
]

KINDS = ("slab", "isotropic")
#: defaults of the simulation (module docstring)
REALISATIONS = 24
NSIDE = 32
TIME_FACTOR = 5.0
WEAK_TIME_FACTOR = 3.0
WEAK_ETA = 0.3
N_TIMES = 7
#: rigidity range the simulator's defaults handle: below 0.03 the Boris step r_g/30 and T ∝ τ_s make a run cost
#: hours; above 10 the spectrum L_min/L_max = 1e-2 has no resonant modes (k_max r_g > 10 needs r_g < 1.6 L_c·10)
RIGIDITY_RANGE = (0.03, 10.0)
#: least realisations for a covariance (N − 3 ≥ 1 compared multipole)
MIN_REALISATIONS = 4
DEFAULT_SEED = 20261204


@dataclass(frozen=True)
class CaseSpec:
    """A case as named on the command line."""

    kind: str
    eta: float
    reduced_rigidity: float

    @property
    def name(self) -> str:
        return f"{self.kind}_eta{self.eta:g}_rho{self.reduced_rigidity:g}"


def parse_case(text: str) -> CaseSpec:
    """``"KIND:eta=E:rigidity=R"`` -> :class:`CaseSpec`; one-line :class:`ParameterError` naming ``case`` otherwise.

    Examples
    --------
    >>> parse_case("slab:eta=0.5:rigidity=0.3")
    CaseSpec(kind='slab', eta=0.5, reduced_rigidity=0.3)
    >>> parse_case("slab:rigidity=1:eta=0.1").reduced_rigidity
    1.0
    """
    form = "expected KIND:eta=E:rigidity=R with KIND slab or isotropic"
    parts = str(text).split(":")
    if len(parts) != 3 or parts[0] not in KINDS:
        raise ParameterError("case", f"{form}, got {text!r}")
    values = {}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        if key not in ("eta", "rigidity") or key in values or not value:
            raise ParameterError("case", f"{form}, got {text!r}")
        values[key] = value
    if set(values) != {"eta", "rigidity"}:
        raise ParameterError("case", f"{form}, got {text!r}")
    try:
        eta = require_range("eta", values["eta"], 0.0, 1.0, low_open=True, high_open=True)
        rigidity = require_range("rigidity", values["rigidity"], *RIGIDITY_RANGE)
    except ParameterError as error:
        raise ParameterError("case", f"{error} (in {text!r}; eta in (0, 1): both kinds need a regular field; "
                                     f"rigidity = r_g/L_c)") from None
    return CaseSpec(parts[0], eta, rigidity)


def _turbulence(spec: CaseSpec):
    """The case's spectrum as the theory's :class:`~anisotropy.Turbulence` (the simulator's modes)."""
    from anisotropy import Turbulence

    return Turbulence(kind=spec.kind, eta=spec.eta, lmin_over_lmax=LMIN_OVER_LMAX, modes_per_decade=MODES_PER_DECADE)


def theory_for_case(spec: CaseSpec, lmax: int) -> dict:
    r"""The default theory at the case's η and r_g/L_c: ``{"ratio": C_ℓ/C_1 (ℓ = 0..lmax), "c1_ratio":
    C_1/((4π/9)δ²), "omega_tau_s", "omega_pair_time", "closure", "solver"}``.

    The chain of :func:`anisotropy.predict_cl` in reduced units (time 1/Ω, lengths L_c, v = r_g/L_c) on the
    simulator's spectrum: pair rate with the shipped prefactor, transport, :math:`\mathbf G\parallel B_0`,
    :func:`anisotropy.predict.cl_from_rate` with the default solver and its inner-scale continuation.
    """
    from anisotropy import predict
    from anisotropy.spectrum import kolmogorov_modes
    from anisotropy.untruncated import CONTINUATION_FACTOR, inner_angle

    turbulence = _turbulence(spec)
    # Ωτ_s once, for the pair time and the transport alike (as predict_cl)
    omega_tau_s = predict._omega_scattering_time(turbulence, spec.reduced_rigidity)
    rate = predict._pair_rate(turbulence, spec.reduced_rigidity, 1.0, None, omega_tau_s)
    coefficients = predict._transport(turbulence, spec.reduced_rigidity, omega_tau_s)
    speed = spec.reduced_rigidity
    diffusion = np.diag([coefficients["kappa_perp"], coefficients["kappa_perp"], coefficients["kappa_parallel"]])
    gradient = np.array([0.0, 0.0, 1.0])
    pair_time = float(rate.params["omega_pair_time"])
    wavenumbers, _ = kolmogorov_modes(turbulence.lmin_over_lmax, turbulence.modes_per_decade,
                                      turbulence.spectral_index)
    angle = CONTINUATION_FACTOR * inner_angle(float(wavenumbers[-1]) * spec.reduced_rigidity, pair_time)
    _, cl, info = predict.cl_from_rate(rate, diffusion_tensor=diffusion, gradient=gradient, lmax=lmax,
                                       continuation_angle=angle)
    dipole = 3.0 * float(np.linalg.norm(diffusion @ gradient)) / speed
    from anisotropy import domain

    return {"ratio": cl / cl[1], "c1_ratio": float(cl[1] / (4.0 * math.pi / 9.0 * dipole**2)),
            "domain": domain.domain_flags(predict.DEFAULT_CLOSURE, spec.kind, spec.eta, spec.reduced_rigidity),
            "closure_assumption_violated": domain.closure_violation(
                predict.DEFAULT_CLOSURE, float(coefficients["omega_tau_s"]), pair_time),
            "omega_tau_s": float(coefficients["omega_tau_s"]), "omega_pair_time": pair_time,
            "closure": predict.DEFAULT_CLOSURE, "solver": info["solver"],
            "inner_scale_spread_l20": info.get("inner_scale_spread_l20")}


def run_case(spec: CaseSpec, out_dir, *, realisations: int = REALISATIONS, seed: int = DEFAULT_SEED,
             nside: int = NSIDE, time_factor: float | None = None, executor=None, progress: bool = True,
             command: str = "", finite_time: bool = True) -> dict:
    """Simulate the case, compare with the default theory, write ``case.json`` and ``case.png``; return the JSON.

    Parameters
    ----------
    spec : CaseSpec
    out_dir : path
        Created if missing; the ensemble is checkpointed under ``out_dir/store`` (a rerun resumes).
    realisations, seed, nside : int
        Ensemble size (≥ :data:`MIN_REALISATIONS`), root seed, HEALPix N_side (power of two, 4..256).
    time_factor : float, optional
        Last backtracking time in slab-QLT scattering times (default :data:`TIME_FACTOR`, or
        :data:`WEAK_TIME_FACTOR` for η < :data:`WEAK_ETA`).
    executor : concurrent.futures.Executor, optional
        Where realisations run (default serial).
    progress : bool
        tqdm progress bar.
    command : str
        Recorded in the output.
    finite_time : bool
        Also compare the finite-time theory on the simulator's spectrum (``case.json["finite_time"]``, a few
        seconds).
    """
    from anisotropy._version import __version__

    from .simulator.ensemble import run

    realisations = require_integer("realisations", realisations, MIN_REALISATIONS)
    nside = require_integer("nside", nside, 4, 256)
    if nside & (nside - 1):
        raise ParameterError("nside", f"must be a power of two in [4, 256], got {nside}")
    if time_factor is None:
        time_factor = TIME_FACTOR if spec.eta >= WEAK_ETA else WEAK_TIME_FACTOR
    time_factor = require_range("time_factor", time_factor, 0.0, 100.0, low_open=True)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    case = CalibrationCase(spec.kind, spec.eta, spec.reduced_rigidity, nside, realisations, time_factor, N_TIMES)
    config = case_config(case)
    ensemble = run(calibration_realisation, config, np.random.SeedSequence(int(seed)), realisations, executor,
                   store_path=out_dir / "store" / f"{spec.name}_n{nside}_s{int(seed)}.h5", progress=progress)
    result = compare_ensemble(spec, ensemble, nside, finite_time=finite_time)
    result.update({
        "case": asdict(spec), "name": spec.name, "command": command, "seed": int(seed),
        "package": {"name": "cr-anisotropy", "version": __version__},
        "simulation": {"realisations": int(ensemble.count), "nside": nside, "time_factor": time_factor,
                       "times_ct_over_lc": [float(t) for t in config.times],
                       "tau_s_qlt_ct_over_lc": qlt_scattering_time(case), "lmin_over_lmax": LMIN_OVER_LMAX,
                       "modes_per_decade": MODES_PER_DECADE},
        "wall_seconds": time.perf_counter() - start,
    })
    result["figure"] = _write_figure(result, out_dir / "case.png")
    write_json(out_dir / "case.json", result, nonfinite_as_null=True)
    return result


def compare_ensemble(spec: CaseSpec, ensemble, nside: int, *, finite_time: bool = True) -> dict:
    """The statistics of one finished ensemble against the default theory (module docstring, error model), and
    (``finite_time``) against the same closure evolved to the simulation's T on the simulator's finite spectrum."""
    from .calibration import _ensemble_spectrum

    times = np.asarray(ensemble.mean["times"])
    last = times.size - 1
    spectrum = _ensemble_spectrum(ensemble, last)
    floor = float(ensemble.mean["noise_floor"][last])
    usable = compare.usable_multipoles(spectrum, floor, nside)
    count = int(ensemble.count)
    compared = usable[: max(0, count - 3)]
    ratio = compare.cl_ratio(spectrum)
    theory = theory_for_case(spec, max(2 * nside, 20))
    convergence = compare.convergence_in_time(times, ensemble.mean["cl"], ensemble.mean["cl_change"],
                                              ensemble.standard_error["cl_change"])

    dipole = np.asarray(ensemble.mean["dipole"][last], dtype=float)
    dipole_error = np.asarray(ensemble.standard_error["dipole"][last], dtype=float)
    c1 = float(spectrum.mean[1])
    c1_ratio, c1_ratio_error = compare.dipole_power_ratio(c1, spectrum.standard_error[1], dipole, dipole_error)

    result = {
        "compared_ells": compared.tolist(),
        "usable_ells": usable.tolist(),
        "dropped_for_covariance": usable[compared.size:].tolist(),
        "ratio_sim": ratio.ratio.tolist(),
        "ratio_sim_error": ratio.standard_error.tolist(),
        "ratio_theory": [None if not np.isfinite(v) else float(v) for v in theory["ratio"]],
        "c1_ratio_sim": c1_ratio,
        "c1_ratio_sim_error": c1_ratio_error,
        "c1_ratio_theory": theory["c1_ratio"],
        "theory": {key: value for key, value in theory.items() if key not in ("ratio", "c1_ratio")},
        "noise_floor_over_c1": floor / c1,
        "converged_ells": [int(ell) for ell in compared if convergence["converged"][ell]],
        "error_model": "ensemble scatter (sample covariance / N); ratio by the delta method; full covariance of the "
                       "compared C_l/C_1 with the Hartlap factor; no fitted parameter",
    }
    if compared.size == 0:
        result.update({"chi2": None, "dof": 0, "p_value": None, "hartlap": None})
        return result
    selected = ratio.select(compared)
    model = theory["ratio"][compared]
    hartlap = (count - compared.size - 2) / (count - 1)
    full = compare.chi_square(selected.ratio, model, selected.covariance)
    chi2 = full.chi2 * hartlap
    result.update({"chi2": chi2, "dof": full.dof, "p_value": float(stats.chi2.sf(chi2, full.dof)),
                   "hartlap": hartlap, "z": full.z.tolist(), "covariance_compared": selected.covariance.tolist(),
                   "chi2_diagonal": compare.chi_square(selected.ratio, model, selected.standard_error).chi2})
    # like for like: the same closure and pair time evolved to the simulation's T on its own finite spectrum
    # (truncated at validation.calibration.THEORY_LMAX, the source history fitted to the simulated dipole), the
    # primary comparison of the calibration
    if finite_time:
        from .calibration import fit_running_diffusion, theory_ratio

        source = fit_running_diffusion(times, np.asarray(ensemble.mean["dipole"])[:, 2] / 3.0)
        rho = spec.reduced_rigidity
        finite = theory_ratio(spec.kind, rho, spec.eta, theory["omega_pair_time"], omega_time=times[last] / rho,
                              source_time=source["tau"] / rho)
        finite_chi2 = compare.chi_square(selected.ratio, finite[compared], selected.covariance)
        result["finite_time"] = {"ratio_theory": [None if not np.isfinite(v) else float(v)
                                                  for v in finite[: len(result["ratio_sim"])]],
                                 "chi2": finite_chi2.chi2 * hartlap, "dof": finite_chi2.dof,
                                 "source_fit": source}
    return result


def _write_figure(result: dict, path: Path) -> str:
    from anisotropy.io import atomic_output

    ell = np.arange(len(result["ratio_sim"]))
    theory = np.array([np.nan if v is None else v for v in result["ratio_theory"]])
    shown = (ell >= 1) & (ell <= max(result["simulation"]["nside"], 2))
    chi2 = "n/a" if result["chi2"] is None else f"{result['chi2']:.3g}/{result['dof']}"
    title = (f"{result['name']}: default theory ({result['theory']['closure']}, {result['theory']['solver']}); "
             f"χ² = {chi2}\nC_1/((4π/9)δ²): sim {result['c1_ratio_sim']:.3g} ± {result['c1_ratio_sim_error']:.2g}, "
             f"theory {result['c1_ratio_theory']:.3g}")
    theory_ell = np.arange(1, theory.size)
    figure = compare.figure_ratio(ell[shown], np.asarray(result["ratio_sim"])[shown],
                                  np.asarray(result["ratio_sim_error"])[shown],
                                  {"default theory (steady state)": (theory_ell, theory[1:])},
                                  title=title, usable=result["compared_ells"])
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format="png", dpi=110)
    return path.name
