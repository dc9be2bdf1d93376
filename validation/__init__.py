"""The bundled numba test-particle simulator and the theory-vs-simulation comparisons.

Physics: docs/physics/simulator.md#liouville-mapping, docs/physics/simulator.md, docs/physics/toy_model.md#toy-model.
Conventions (units, L_c, running diffusion coefficients) follow
:mod:`anisotropy.units` and docs/physics/conventions.md#units.  The main entry points::

    from validation import AnisotropyConfig, TurbulenceConfig, anisotropy_realisation, run_ensemble
    config = AnisotropyConfig(turbulence=TurbulenceConfig(kind="slab", eta=0.5), reduced_rigidity=0.3, ...)
    result = run_ensemble(anisotropy_realisation, config, seed=1, realisations=8)

Names are resolved lazily so that importing the package compiles no numba kernel and loads no healpy.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "TurbulenceConfig": ("simulator.config", "TurbulenceConfig"),
    "AnisotropyConfig": ("simulator.config", "AnisotropyConfig"),
    "DiffusionConfig": ("simulator.config", "DiffusionConfig"),
    "TurbulenceField": ("simulator.turbulence", "TurbulenceField"),
    "advance": ("simulator.pusher", "advance"),
    "anisotropy_realisation": ("simulator.backtrack", "anisotropy_realisation"),
    "diffusion_realisation": ("simulator.diffusion", "diffusion_realisation"),
    "run_ensemble": ("simulator.ensemble", "run"),
    "make_executor": ("simulator.ensemble", "make_executor"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'validation' has no attribute {name!r}")
    module_name, attribute = _EXPORTS[name]
    value = getattr(importlib.import_module(f".{module_name}", __name__), attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
