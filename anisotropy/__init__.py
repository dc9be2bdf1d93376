"""cr-anisotropy: the small-scale anisotropy of TeV-PeV cosmic rays from the mixing-matrix ODE for <C_l>.

The public API (docs/guide/design.md#contracts)::

    import anisotropy as an
    an.threej_zero(l1, l2, l3)                     # Wigner 3j (l1 l2 l3; 0 0 0)
    rate = an.PairRate.toy(D_s=0.5, kappa_c=5.0)   # pair-rate model k(x)
    G = an.rate_matrix(rate, lmax)                 # Gamma_{l l0}, docs/physics/mixing_ode.md#rate-matrix, eq. (4.3)
    C = an.steady_state(G, source=S)               # steady-state <C_l>
    C_T = an.evolve(G, source=S_of_t, times=[...])
    result = an.predict_cl()                       # physical parameters in, .ell/.cl/.params out

Names are resolved lazily so that ``import anisotropy`` stays fast and does not compile numba kernels.
"""

from __future__ import annotations

import importlib

from ._version import __version__
from .errors import ParameterError

_EXPORTS = {
    "threej_zero": "wigner",
    "PairRate": "pair_rates",
    "rate_matrix": "mixing",
    "steady_state": "solver",
    "evolve": "solver",
    "converge_lmax": "solver",
    "predict_cl": "predict",
    "ClResult": "predict",
    "Turbulence": "turbulence",
    "units": None,
    "calibration": None,
    "spectrum": None,
    "transport": None,
    "observatory": None,
    "fit": None,
    "data": None,
}

__all__ = ["ParameterError", "__version__", *sorted(_EXPORTS)]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'anisotropy' has no attribute {name!r}")
    module_name = _EXPORTS[name]
    if module_name is None:
        return importlib.import_module(f".{name}", __name__)
    value = getattr(importlib.import_module(f".{module_name}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
