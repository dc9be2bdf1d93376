"""Regenerate ``synthetic_mock_ratios.csv``: SYNTHETIC B/C and 10Be/9Be from the two-zone model plus noise.

Run from the repository root: ``python anisotropy/galaxy/data/make_synthetic.py``.  The points are NOT measurements:
they are the model at the truth below (default resolution) with Gaussian noise of the stated relative size and a
fixed seed, at energies chosen to resemble the ranges of AMS-02 B/C and of the preliminary AMS-02 10Be/9Be.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from anisotropy.galaxy.fit import mock_data
from anisotropy.io import atomic_output

TRUTH = {"log10_kappa0": float(np.log10(0.03)), "delta": 0.5, "log10_alpha": float(np.log10(0.2)), "H": 4.0,
         "phi": 0.5}
ENERGIES = {"B/C": np.round(np.geomspace(0.5, 100.0, 16), 4).tolist(),
            "10Be/9Be": np.round(np.geomspace(0.3, 10.0, 12), 4).tolist()}
RELATIVE_ERRORS = {"B/C": 0.03, "10Be/9Be": 0.08}
SEED = 2026
OUTPUT = Path(__file__).with_name("synthetic_mock_ratios.csv")


def main():
    data = mock_data(TRUTH, ENERGIES, relative_error=RELATIVE_ERRORS, seed=SEED)
    lines = ["# SYNTHETIC mock data (not a measurement), made by anisotropy/galaxy/data/make_synthetic.py",
             f"# truth: {TRUTH}; relative errors {RELATIVE_ERRORS}; seed {SEED}; default GalaxyModel resolution",
             "ratio,energy,value,error,source"]
    for item in data:
        lines += [f"{item.ratio},{energy:.6g},{value:.6g},{error:.4g},synthetic mock"
                  for energy, value, error in zip(item.energy, item.value, item.error)]
    with atomic_output(OUTPUT) as path:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
