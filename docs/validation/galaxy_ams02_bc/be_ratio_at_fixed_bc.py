"""¹⁰Be/⁹Be predicted for α = 1, 0.5, 0.2 at fixed AMS-02 B/C (writes be_ratio_at_fixed_bc.{png,json} here).

For each α, κ0 is refitted to the shipped AMS-02 B/C with δ and φ held at the α = 1 best fit of ``fit.json`` (the
committed output of ``cr-anisotropy galaxy fit``), so that every curve describes B/C equally well; the ¹⁰Be/⁹Be
curves are then predictions, not fits.  The shipped PRELIMINARY AMS-02 ¹⁰Be/⁹Be points (digitised, TeVPA 2024) are
drawn for comparison only.  Run from the repository root:
``python docs/validation/galaxy_ams02_bc/be_ratio_at_fixed_bc.py``.
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import least_squares

from anisotropy.galaxy.datasets import ams02_beryllium_ratio_preliminary, ams02_boron_to_carbon
from anisotropy.galaxy.fit import Likelihood, RatioData, predict
from anisotropy.galaxy.solver import GalaxyModel

HERE = Path(__file__).parent
ALPHAS = (1.0, 0.5, 0.2)
ENERGIES = np.geomspace(0.1, 100.0, 31)  # GeV/n, 10 per decade: 1 and 10 GeV/n are grid points


def main():
    best = json.loads((HERE / "fit.json").read_text())["stage1_secondary_over_primary"]["parameters"]
    data = [ams02_boron_to_carbon()]
    base, results = GalaxyModel(), {}
    for alpha in ALPHAS:
        fixed = {"delta": best["delta"], "phi": best["phi"], "log10_alpha": float(np.log10(alpha)), "H": 4.0}
        likelihood = Likelihood(data, base=base, free=("log10_kappa0",), fixed=fixed)
        solution = least_squares(likelihood.residuals, [best["log10_kappa0"]], x_scale="jac", diff_step=1e-4)
        parameters = likelihood.parameters(solution.x)
        be, bc = predict(base, parameters, [RatioData("10Be/9Be", ENERGIES, None, None),
                                            RatioData("B/C", ENERGIES, None, None)])
        results[alpha] = {"log10_kappa0": float(solution.x[0]), "chi2_bc": float(solution.fun @ solution.fun),
                          "10Be/9Be": be.tolist(), "B/C": bc.tolist()}
    (HERE / "be_ratio_at_fixed_bc.json").write_text(json.dumps(
        {"energies_gev_per_nucleon": ENERGIES.tolist(), "delta": best["delta"], "phi": best["phi"], "H": 4.0,
         "alphas": {str(alpha): value for alpha, value in results.items()}}, indent=1) + "\n")
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(5.0, 5.5), sharex=True, height_ratios=(2, 1))
    for alpha, value in results.items():
        top.plot(ENERGIES, value["10Be/9Be"], label=f"α = {alpha:g} (B/C χ² = {value['chi2_bc']:.1f})")
        bottom.plot(ENERGIES, np.array(value["B/C"]) / np.array(results[1.0]["B/C"]))
    preliminary = ams02_beryllium_ratio_preliminary()
    top.errorbar(preliminary.energy, preliminary.value, preliminary.error, fmt="o", color="k", markersize=3,
                 label="AMS-02 PRELIMINARY (digitised)")
    top.set_xscale("log")
    top.set_ylabel("¹⁰Be/⁹Be (prediction)")
    top.legend(fontsize=8)
    bottom.set_ylabel("B/C / B/C(α=1)")
    bottom.set_xlabel("kinetic energy per nucleon [GeV/n]")
    figure.suptitle("at fixed AMS-02 B/C (H = 4 kpc); no ¹⁰Be data fitted", fontsize=9)
    figure.tight_layout()
    figure.savefig(HERE / "be_ratio_at_fixed_bc.png", dpi=110)


if __name__ == "__main__":
    main()
