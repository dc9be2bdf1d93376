r"""Do the simulator's particles move in pitch angle as slab QLT says?  The test behind the pair models' kicks.

Every pair closure of the package (and the relative-rotation model of :mod:`anisotropy.pair_rotation`) lets a
particle's pitch-angle cosine relative to :math:`\mathbf B_0` diffuse with the slab QLT coefficient
:func:`anisotropy.transport.pitch_angle_diffusion`.  This module measures, on the same turbulence realisations as
the pair instrument's slab runs (:data:`validation.pair_diagnostics.RUNS`: same seeds, so the same fields), the
single-particle pitch-angle transport that assumption predicts, with nothing fitted
(docs/physics/pitch_angle.md):

* the autocorrelation :math:`A(t) = \langle\mu(0)\mu(t)\rangle` of an isotropic population, whose integral is the
  running :math:`\kappa_{zz}(t) = v^2\int_0^t A\,dt'` (trapezoid on the recorded ages; QLT:
  :func:`anisotropy.pitch_angle.fokker_planck_autocorrelation`);
* the residence near 90°, :math:`R(t) = \Pr\{|\mu(t)| < 0.1 \mid |\mu(0)| < 0.1\}` (isotropic value 0.1), and the
  crossing fraction :math:`X(t) = \Pr\{\mu(t)\mu(0) < 0 \mid |\mu(0)| < 0.1\}` (isotropic value 0.5): QLT's
  :math:`D_{\mu\mu}\propto|\mu|^{q-1}` vanishes at 90°, the "resonance gap";
* each in both frames of :mod:`validation.simulator.pitch_angle` (:math:`\mu` relative to :math:`\mathbf B_0` and to
  the local field).

Beside QLT it puts the resonance-broadened coefficient :func:`anisotropy.soqlt.pitch_angle_diffusion` (SOQLT,
docs/physics/pitch_angle.md eq. PA.5), through the same propagator (:data:`THEORIES`).

Error model: realisations are independent; each statistic is evaluated on the ensemble mean of the joint
probabilities and moments, and its standard error is the delete-one jackknife over realisations
(:func:`validation.pair_diagnostics._jackknife`).  The QLT and SOQLT values are exact up to the propagator's
discretisation (< 1e-3, tests/anisotropy/test_pitch_angle.py).

Results: ``docs/validation/pitch_angle.md``; ``python -m validation.pitch_angle_check DIR`` reruns the committed
cases (:data:`CASES`; a few minutes on two cores, resumable) into ``DIR`` and rewrites the committed JSON, tables and
figure.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import integrate

from anisotropy import soqlt
from anisotropy.errors import ParameterError
from anisotropy.pitch_angle import fokker_planck_autocorrelation, fokker_planck_transitions
from anisotropy.transport import parallel_diffusion, pitch_angle_diffusion, scattering_time

from .pair_diagnostics import DOCS, RUNS, _jackknife
from .simulator.config import PitchAngleConfig, TurbulenceConfig
from .simulator.pitch_angle import FRAMES, pitch_angle_realisation
from .simulator.store import read_realisation

__all__ = ["CASES", "case_config", "compare", "markdown_tables", "run", "simulate"]

#: the slab runs of the pair instrument whose fields are reused (isotropic turbulence has no QLT reference here)
CASES = ("slab_eta0.5_rho0.1", "slab_eta0.5_rho0.3", "slab_eta0.1_rho0.1", "slab_eta0.5_rho0.01")
#: particles per realisation and realisations per case: at 32 realisations the jackknife errors at 0.25 τ_s were
#: 0.01-0.02 on R and X and the realisation-to-realisation scatter dominated, so the committed runs use 64 (~4 min)
PARTICLES = 16384
REALISATIONS = 64
#: equal-width μ bins; |μ| < 0.1 (the two central bins) is "near 90°"
BINS = 20
NEAR_90 = 0.1
#: R(t) of an isotropic population: the band |μ| < 0.1 holds a tenth of uniform μ
ISOTROPIC_RESIDENCE = NEAR_90
#: X(t) of an isotropic population: either sign is equally likely
ISOTROPIC_CROSSING = 0.5
#: ages (units of the QLT τ_s) at which the tables compare; the nearest recorded age is used (every case records
#: its first age at ≤ 0.25 τ_s)
REPORT_AGES_TAU = (0.25, 0.5, 1.0, 2.0)
#: fine cells of the QLT propagator behind A(t) (κ of the discrete operator within 1e-4 of QLT's at 400)
AUTOCORRELATION_CELLS = 800
_SHARED = ("ages", "edges")
#: the realisation store of a case directory, as ``simulate pairs`` lays it out (``ensemble_realisations/``)
STORE_NAME = "ensemble"


def _option(arguments: list[str], name: str) -> str:
    return arguments[arguments.index(name) + 1]


def case_config(name: str, particles: int = PARTICLES) -> tuple[PitchAngleConfig, int]:
    """The :class:`PitchAngleConfig` and root seed of a pair run of :data:`validation.pair_diagnostics.RUNS`:
    same turbulence, rigidity, ages and seed (so the same fields), with ``particles`` single particles.

    Examples
    --------
    >>> config, seed = case_config("slab_eta0.5_rho0.1")
    >>> config.turbulence.eta, config.reduced_rigidity, len(config.times), seed
    (0.5, 0.1, 40, 20261205)
    """
    arguments = RUNS[name]
    turbulence = TurbulenceConfig(_option(arguments, "--turbulence"), float(_option(arguments, "--eta")),
                                  float(_option(arguments, "--lmin-over-lmax")),
                                  int(_option(arguments, "--modes-per-decade")))
    times = tuple(float(value) for value in _option(arguments, "--times").split(","))
    config = PitchAngleConfig(turbulence, float(_option(arguments, "--rigidity")), particles=particles, times=times,
                              bins=BINS)
    return config, int(_option(arguments, "--seed"))


def simulate(root, names=CASES, executor: str = "process", workers: int | None = None, *,
             realisations: int = REALISATIONS, particles: int = PARTICLES, progress: bool = True) -> list[Path]:
    """Run (or resume) the cases into ``root/NAME`` (a realisation store per case; an interrupted run resumes)."""
    from .simulator.ensemble import make_executor
    from .simulator.ensemble import run as run_ensemble

    directories = []
    pool = make_executor(executor, workers)
    try:
        for name in names:
            config, seed = case_config(name, particles)
            out = Path(root) / name
            out.mkdir(parents=True, exist_ok=True)
            run_ensemble(pitch_angle_realisation, config, seed, realisations, pool, store_path=out / STORE_NAME,
                         progress=progress)
            directories.append(out)
    finally:
        pool.shutdown()
    return directories


def _near_indices(edges) -> np.ndarray:
    centres = 0.5 * (edges[1:] + edges[:-1])
    return np.flatnonzero(np.abs(centres) < NEAR_90)


def _near_90(joint, edges) -> tuple[np.ndarray, np.ndarray]:
    """Residence R and crossing X of the start |μ0| < 0.1 from joint probabilities (..., ages, bins, bins)."""
    near = _near_indices(edges)
    centres = 0.5 * (edges[1:] + edges[:-1])
    start = joint[..., near, :]  # (..., ages, near, bins)
    total = start.sum(axis=(-2, -1))
    residence = start[..., near].sum(axis=(-2, -1)) / total
    opposite = np.sign(centres[near])[:, None] * np.sign(centres)[None, :] < 0
    crossing = np.where(opposite, start, 0.0).sum(axis=(-2, -1)) / total
    return residence, crossing


def _statistics(mean: dict) -> dict:
    residence, crossing = _near_90(mean["joint"], mean["edges"])
    running = integrate.cumulative_trapezoid(mean["autocorrelation"], mean["ages"], axis=-1, initial=0.0)
    return {"autocorrelation": mean["autocorrelation"], "second_moment": mean["second_moment"],
            "residence": residence, "crossing": crossing, "running_kappa": running}


#: the two theories of D_μμ compared (docs/physics/pitch_angle.md): slab QLT, and SOQLT (resonance broadening by
#: the tilt of the local field, eq. PA.5), both with nothing fitted
THEORIES = ("qlt", "soqlt")


def _coefficient(theory: str, config: PitchAngleConfig):
    """D_μμ(μ) of ``theory`` in the simulator's units (Ω = c/r_g = 1/ρ in c/L_c)."""
    turbulence = config.turbulence.as_turbulence()
    rho = config.reduced_rigidity
    if theory == "qlt":
        return lambda mu: pitch_angle_diffusion(mu, rho, turbulence=turbulence) / rho
    return lambda mu: soqlt.pitch_angle_diffusion(mu, rho, turbulence) / rho


def _theory(theory: str, config: PitchAngleConfig, ages, edges) -> dict:
    diffusion = _coefficient(theory, config)
    transitions = fokker_planck_transitions(diffusion, config.bins, ages)
    start_weight = np.diff(edges) / 2.0  # the isotropic start fills each bin in proportion to its width
    residence, crossing = _near_90(transitions * start_weight[None, :, None], edges)
    autocorrelation = fokker_planck_autocorrelation(diffusion, ages, AUTOCORRELATION_CELLS)
    running = integrate.cumulative_trapezoid(autocorrelation, ages, initial=0.0)
    return {"autocorrelation": autocorrelation, "residence": residence, "crossing": crossing,
            "running_kappa": running}


def _stored_run(paths) -> tuple[PitchAngleConfig, int, str]:
    """The configuration, root seed and package version recorded in the store's files (all must agree)."""
    import h5py

    recorded = set()
    for path in paths:
        with h5py.File(path, "r") as handle:
            recorded.add(tuple(str(handle.attrs[key]) for key in ("config", "root_seed", "package_version")))
    if len(recorded) != 1:
        raise ParameterError("store", f"{paths[0].parent}: realisations from different runs are mixed")
    config_json, seed, version = recorded.pop()
    return PitchAngleConfig.from_dict(json.loads(config_json)), int(seed), version


def compare(directory) -> dict:
    """The statistics of one case directory (simulated, with jackknife errors, and QLT), JSON-ready."""
    directory = Path(directory)
    paths = sorted((directory / f"{STORE_NAME}_realisations").glob("realisation_*.h5"))
    if not paths:
        raise FileNotFoundError(f"{directory}: no stored realisations")
    config, seed, version = _stored_run(paths)
    realisations = [read_realisation(path) for path in paths]
    ages, edges = realisations[0]["ages"], realisations[0]["edges"]
    simulated, errors = _jackknife(realisations, _statistics, shared_keys=_SHARED)
    theories = {theory: _theory(theory, config, ages, edges) for theory in THEORIES}
    turbulence = config.turbulence.as_turbulence()
    kappa = parallel_diffusion(config.reduced_rigidity, turbulence=turbulence)
    tau = float(scattering_time(kappa))
    report = [int(np.argmin(np.abs(ages / tau - target))) for target in REPORT_AGES_TAU]
    return {
        "case": directory.name,
        "parameters": {"eta": turbulence.eta, "reduced_rigidity": config.reduced_rigidity,
                       "lmin_over_lmax": turbulence.lmin_over_lmax,
                       "modes_per_decade": turbulence.modes_per_decade, "seed": seed,
                       "particles": config.particles, "bins": config.bins},
        "realisations": len(realisations),
        "package_version": version,
        "kappa_parallel_qlt": kappa,
        "kappa_parallel_soqlt": soqlt.parallel_diffusion(config.reduced_rigidity, turbulence),
        "tau_s_qlt": tau,
        "ages": ages.tolist(),
        "report_ages": report,
        "frames": list(FRAMES),
        "simulated": {key: np.asarray(value).tolist() for key, value in simulated.items()},
        "simulated_error": {key: np.asarray(value).tolist() for key, value in errors.items()},
        **{theory: {key: np.asarray(value).tolist() for key, value in values.items()}
           for theory, values in theories.items()},
    }


def _cell(value, error) -> str:
    return f"{value:.3f} ± {error:.3f}"


def markdown_tables(results) -> str:
    """The committed tables (``docs/validation/pitch_angle_tables.md``), one block per case."""
    lines = ["<!-- written by python -m validation.pitch_angle_check; do not edit -->", ""]
    for result in results:
        p = result["parameters"]
        tau = result["tau_s_qlt"]
        ages = np.asarray(result["ages"])
        lines += [f"### slab η = {p['eta']}, r_g/L_c = {p['reduced_rigidity']} "
                  f"({result['realisations']} realisations × {p['particles']} particles; "
                  f"QLT τ_s = {tau:.4g} L_c/c)", ""]
        for statistic, label in (("autocorrelation", "A(t) = ⟨μ(0)μ(t)⟩"),
                                 ("residence", "R(t): still near 90° (isotropic 0.1)"),
                                 ("crossing", "X(t): crossed 90° (isotropic 0.5)")):
            lines += [f"**{label}**", "",
                      "| t/τ_s | QLT | SOQLT | simulated, mean field | simulated, local field |",
                      "|---|---|---|---|---|"]
            for index in result["report_ages"]:
                simulated = [result["simulated"][statistic][frame][index] for frame in range(len(FRAMES))]
                error = [result["simulated_error"][statistic][frame][index] for frame in range(len(FRAMES))]
                lines.append(f"| {ages[index] / tau:.2f} | {result['qlt'][statistic][index]:.3f} | "
                             f"{result['soqlt'][statistic][index]:.3f} | "
                             f"{_cell(simulated[0], error[0])} | {_cell(simulated[1], error[1])} |")
            lines.append("")
        final = -1
        kappa = [result["simulated"]["running_kappa"][frame][final] for frame in range(len(FRAMES))]
        kappa_error = [result["simulated_error"]["running_kappa"][frame][final] for frame in range(len(FRAMES))]
        qlt_kappa = result["qlt"]["running_kappa"][final]
        lines += [f"Running κ_zz at t = {ages[final] / tau:.2f} τ_s: QLT {qlt_kappa:.4g} c L_c (plateau "
                  f"{result['kappa_parallel_qlt']:.4g}); simulated/QLT "
                  f"{kappa[0] / qlt_kappa:.3f} ± {kappa_error[0] / qlt_kappa:.3f} (mean field), "
                  f"{kappa[1] / qlt_kappa:.3f} ± {kappa_error[1] / qlt_kappa:.3f} (local field); SOQLT/QLT "
                  f"{result['soqlt']['running_kappa'][final] / qlt_kappa:.3f} (plateau "
                  f"{result['kappa_parallel_soqlt']:.4g}).", ""]
    return "\n".join(lines)


def figure(results):
    """A(t) and the 90° crossing X(t) against t/τ_s, simulated (both frames, ±1σ) and QLT, one row per case."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    fig, axes = pyplot.subplots(len(results), 2, figsize=(9.0, 2.6 * len(results)), squeeze=False)
    for row, result in zip(axes, results):
        ages = np.asarray(result["ages"]) / result["tau_s_qlt"]
        p = result["parameters"]
        for axis, statistic, label in ((row[0], "autocorrelation", "⟨μ(0)μ(t)⟩"),
                                       (row[1], "crossing", "P(μ(t)μ(0)<0 | |μ(0)|<0.1)")):
            axis.plot(ages, result["qlt"][statistic], "k-", label="slab QLT")
            axis.plot(ages, result["soqlt"][statistic], "k--", label="SOQLT")
            for frame, (name, colour) in enumerate(zip(FRAMES, ("C0", "C3"))):
                value = np.asarray(result["simulated"][statistic][frame])
                error = np.asarray(result["simulated_error"][statistic][frame])
                axis.fill_between(ages, value - error, value + error, color=colour, alpha=0.3, lw=0)
                axis.plot(ages, value, color=colour, lw=1, label=f"simulated, {name.replace('_', ' ')}")
            axis.set_ylabel(label)
            axis.set_title(f"η = {p['eta']}, r_g/L_c = {p['reduced_rigidity']}", fontsize=9)
        row[1].axhline(ISOTROPIC_CROSSING, color="grey", lw=0.5, ls=":")
    for axis in axes[-1]:
        axis.set_xlabel("t / τ_s (QLT)")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def run(directories, out_json, out_markdown=None, out_figure=None) -> list[dict]:
    """Compare every case directory; write the JSON (and the tables, the figure) atomically."""
    from anisotropy.io import save_figure, write_json, write_text

    results = [compare(directory) for directory in directories]
    write_json(out_json, results)
    if out_markdown is not None:
        write_text(out_markdown, markdown_tables(results))
    if out_figure is not None:
        save_figure(out_figure, figure(results))
    return results


if __name__ == "__main__":  # pragma: no cover - the committed results' command (module docstring)
    import sys

    if len(sys.argv) != 2:
        print("usage: python -m validation.pitch_angle_check DIR (the run directories go under DIR)",
              file=sys.stderr)
        raise SystemExit(2)
    run(simulate(sys.argv[1]), DOCS / "pitch_angle.json", DOCS / "pitch_angle_tables.md", DOCS / "pitch_angle.png")
