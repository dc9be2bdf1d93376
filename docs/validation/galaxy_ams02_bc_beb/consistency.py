"""Is the AMS-02 Be/B (PRL 120, 021101, against rigidity) consistent with the AMS-02 B/C (PRL 117, 231102) in the
two-zone model at H = 4 kpc, alpha = 1?  Maximum-likelihood fits of each ratio alone and of both together, the
parameter-goodness-of-fit statistic, and how much of the Be/B misfit a constant factor would absorb (a diagnostic
of its shape, not a fit: the factor is not a parameter of the model).

Run from the repository root: ``python docs/validation/galaxy_ams02_bc_beb/consistency.py``; writes
``consistency.json`` and ``consistency.png`` next to this file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from scipy.stats import chi2 as chi2_distribution

from anisotropy.galaxy.datasets import ams02_beryllium_to_boron, ams02_boron_to_carbon
from anisotropy.galaxy.fit import RatioData, chi2_by_dataset, fit, predict
from anisotropy.galaxy.solver import GalaxyModel
from anisotropy.galaxy.transport import kinetic_energy_per_nucleon
from anisotropy.io import write_json

HERE = Path(__file__).parent
H_KPC = 4.0
# the top Be/B bin (2.07 TV) needs 7Be up to ~1.2 TeV/n; same resolution (32 per decade) as the B/C fit
BASE = GalaxyModel(H=H_KPC, energy_max=2000.0)
FREE = ("log10_kappa0", "delta", "phi")
START = {"log10_kappa0": -1.7, "delta": 0.54, "phi": 0.8}
# rigidity above which the Be/B shape is compared separately (where the model and data are closest, fit.png)
HIGH_RIGIDITY_GV = 30.0
OTHER_HALO_HEIGHTS_KPC = (1.0, 2.0, 8.0)
# rigidities at which the model's Be/B at equal rigidity is compared with its Be/B at equal T/n (A/Z = 2 mapping)
AXIS_COMPARISON_GV = (2.5, 5.0, 10.0, 30.0, 100.0, 1000.0)


def _fit(data, H=H_KPC):
    base = dataclasses.replace(BASE, H=H)
    # kappa0 scales with H at fixed B/C (docs/validation/galaxy_ams02_bc): start from the H = 4 kpc value scaled
    start = START | {"log10_kappa0": START["log10_kappa0"] + np.log10(H / H_KPC)}
    result, _ = fit(data, H=H, base=base, start=start)  # stage 1: log10_kappa0, delta, phi at alpha = 1
    assert result.names == FREE
    return result, {"log10_alpha": 0.0, "H": H} | dict(zip(result.names, result.best.tolist()))


def _summary(result, parameters, data):
    base = dataclasses.replace(BASE, H=parameters["H"])
    return {"parameters": {name: parameters[name] for name in FREE},
            "errors": dict(zip(FREE, result.errors.tolist())), "chi2": result.chi2, "dof": result.dof,
            "chi2_by_dataset": chi2_by_dataset(base, parameters, data)}


def _axis_comparison(parameters):
    """Model Be/B at equal rigidity R over the model Be/B at equal T/n, T/n = T(R) for A/Z = 2."""
    rigidity = np.array(AXIS_COMPARISON_GV)
    energy = kinetic_energy_per_nucleon(rigidity, 1, 2)
    at_rigidity, at_energy = predict(BASE, parameters, [RatioData("Be/B", rigidity, None, None, axis="rigidity"),
                                                         RatioData("Be/B", energy, None, None)])
    return {"rigidity_gv": rigidity.tolist(), "energy_gev_per_nucleon": energy.tolist(),
            "be_b_equal_rigidity": at_rigidity.tolist(), "be_b_equal_energy": at_energy.tolist(),
            "quotient": (at_rigidity / at_energy).tolist()}


def _best_scale(model, item, keep):
    """Constant factor s minimising sum ((s m - d)/sigma)^2 over ``keep``, and the chi^2 after scaling."""
    m, d, w = model[keep], item.value[keep], item.error[keep] ** -2
    scale = float(np.sum(w * m * d) / np.sum(w * m * m))
    return {"scale": scale, "chi2_after_scaling": float(np.sum(w * (scale * m - d) ** 2)), "points": int(keep.sum()),
            "chi2_unscaled": float(np.sum(w * (m - d) ** 2))}


def _scale_diagnostic(parameters, beryllium_boron):
    """:func:`_best_scale` over all Be/B points, and below and above :data:`HIGH_RIGIDITY_GV`."""
    (model,) = predict(dataclasses.replace(BASE, H=parameters["H"]), parameters, [beryllium_boron])
    high = beryllium_boron.energy >= HIGH_RIGIDITY_GV
    return {"all": _best_scale(model, beryllium_boron, np.ones(model.size, dtype=bool)),
            f"R >= {HIGH_RIGIDITY_GV:g} GV": _best_scale(model, beryllium_boron, high),
            f"R < {HIGH_RIGIDITY_GV:g} GV": _best_scale(model, beryllium_boron, ~high)}


def main():
    boron_carbon, beryllium_boron = ams02_boron_to_carbon(), ams02_beryllium_to_boron()
    fits = {}
    for label, data in (("B/C alone", [boron_carbon]), ("Be/B alone", [beryllium_boron]),
                        ("B/C + Be/B", [boron_carbon, beryllium_boron])):
        fits[label] = (*_fit(data), data)
        print(label, {k: round(v, 4) for k, v in fits[label][1].items()}, f"chi2 = {fits[label][0].chi2:.1f}")
    joint = fits["B/C + Be/B"][0].chi2
    separate = fits["B/C alone"][0].chi2 + fits["Be/B alone"][0].chi2
    dof = len(FREE)  # 3 + 3 parameters fitted separately, 3 jointly
    consistency = {"delta_chi2": joint - separate, "dof": dof,
                   "p_value": float(chi2_distribution.sf(joint - separate, dof)),
                   "definition": "parameter goodness of fit (Maltoni & Schwetz, PRD 68, 033020 (2003)): chi2 of the "
                                 "joint fit minus the sum of the separate minima"}
    diagnostics = {f"{label}, H = {H_KPC:g} kpc": _scale_diagnostic(fits[label][1], beryllium_boron)
                   for label in ("B/C alone", "B/C + Be/B")}
    other_heights = {}
    for H in OTHER_HALO_HEIGHTS_KPC:
        data = [boron_carbon, beryllium_boron]
        result, parameters = _fit(data, H=H)
        other_heights[f"H = {H:g} kpc"] = _summary(result, parameters, data)
        diagnostics[f"B/C + Be/B, H = {H:g} kpc"] = _scale_diagnostic(parameters, beryllium_boron)
        print(H, other_heights[f"H = {H:g} kpc"]["chi2_by_dataset"])
    result = {"H": H_KPC, "alpha": 1.0, "model": BASE.to_dict(),
              "fits": {label: _summary(*fits[label]) for label in fits},
              "joint_fit_at_other_halo_heights": other_heights,
              "model_be_b_equal_rigidity_over_equal_energy": _axis_comparison(fits["B/C alone"][1]),
              "consistency": consistency,
              "be_b_constant_factor_diagnostic": diagnostics,
              "error_model": "statistical and systematic errors in quadrature, points independent"}
    write_json(HERE / "consistency.json", result)
    print("consistency", consistency)
    print("diagnostic", diagnostics)
    _plot(fits, beryllium_boron)


def _plot(fits, beryllium_boron):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rigidity = np.geomspace(beryllium_boron.energy.min(), beryllium_boron.energy.max(), 60)
    grid = RatioData("Be/B", rigidity, None, None, axis="rigidity")
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(6.0, 6.0), sharex=True, height_ratios=(2, 1))
    top.errorbar(beryllium_boron.energy, beryllium_boron.value, beryllium_boron.error, fmt="o", ms=3, color="k",
                 label="AMS-02 Be/B (PRL 120, 021101)")
    for label, color in (("B/C alone", "C0"), ("B/C + Be/B", "C1"), ("Be/B alone", "C2")):
        (curve,) = predict(BASE, fits[label][1], [grid])
        (at_data,) = predict(BASE, fits[label][1], [beryllium_boron])
        top.plot(rigidity, curve, color=color, label=f"model, best fit to {label}")
        bottom.plot(beryllium_boron.energy, beryllium_boron.value / at_data, "o", ms=3, color=color)
    bottom.axhline(1.0, color="0.5", lw=0.8)
    bottom.set_ylabel("data / model")
    bottom.set_xlabel("rigidity [GV]")
    top.set_ylabel("Be/B at equal rigidity")
    top.set_xscale("log")
    top.legend(fontsize=7)
    top.set_title(f"two-zone model, H = {H_KPC:g} kpc, alpha = 1", fontsize=9)
    figure.tight_layout()
    figure.savefig(HERE / "consistency.png", dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    main()
