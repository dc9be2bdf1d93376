"""Checkpoint store for ensembles of turbulence realisations: HDF5, atomic, resumable.

Layout (docs/guide/design.md#engineering-conventions)::

    <store>.h5                      manifest: run attributes, external links to every finished realisation,
                                    and (once a run completes) the ensemble mean and standard error
    <store>_realisations/
        realisation_000000.h5       one file per finished realisation, written to a temporary file and
        realisation_000001.h5       moved into place with ``os.replace`` (atomic on POSIX), so a file that
        ...                         exists is complete; an interrupted write leaves nothing behind

Every file carries as attributes the realisation configuration (JSON), the root seed, the realisation's
``SeedSequence`` entropy and spawn key, and the package version.  Opening ``<store>.h5`` with h5py shows the
realisations as groups ``realisations/<index>`` (HDF5 external links, resolved relative to the manifest), so the
whole ensemble reads like one file.

Resuming: a store opened with the same configuration and root seed reports which realisations are complete and
the ensemble runner skips them.  A store written with a different configuration or seed is refused with a
:class:`~anisotropy.errors.ParameterError` naming the differing keys.  Only one process writes a store at a time
(the ensemble runner writes from its main process; workers only compute).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import h5py
import numpy as np

from anisotropy._version import __version__
from anisotropy.errors import ParameterError
from anisotropy.io import TEMPORARY_MARK, atomic_output, jsonable

from .config import TurbulenceConfig
from .pusher import DEFAULT_KERNEL

__all__ = ["RealisationStore", "atomic_output", "config_to_dict", "config_to_json"]

_REALISATION_FILE = re.compile(r"^realisation_(\d{6,})\.h5$")


def config_to_dict(config) -> dict:
    """A plain JSON-compatible dict of a configuration (dataclass, object with ``to_dict``, or mapping)."""
    converted = jsonable(config)
    if not isinstance(converted, dict):
        raise TypeError(f"configuration must be a dataclass or a mapping, got {type(config).__name__}")
    return converted


def config_to_json(config) -> str:
    """Canonical JSON of a configuration (sorted keys), the form recorded in every store attribute."""
    return json.dumps(config_to_dict(config), sort_keys=True)


def _differences(stored: dict, requested: dict, prefix: str = "") -> list[str]:
    keys = sorted(set(stored) | set(requested))
    differing = []
    for key in keys:
        left, right = stored.get(key, "<absent>"), requested.get(key, "<absent>")
        if isinstance(left, dict) and isinstance(right, dict):
            differing.extend(_differences(left, right, f"{prefix}{key}."))
        elif left != right:
            differing.append(f"{prefix}{key}")
    return differing


def _field_evaluation(config: dict) -> str | None:
    # the resolved slab_field ("table"/"modes") of a configuration with a turbulence section, else None
    turbulence = config.get("turbulence")
    if not isinstance(turbulence, dict):
        return None
    try:
        return TurbulenceConfig.from_dict(turbulence).field_evaluation
    except (ParameterError, TypeError):
        return None


def _seed_attributes(seed: np.random.SeedSequence) -> dict:
    # the entropy may exceed 64 bits, so it is kept as a decimal string
    return {"seed_entropy": str(seed.entropy), "seed_spawn_key": np.asarray(seed.spawn_key, dtype=np.int64)}


class RealisationStore:
    """Atomic per-realisation HDF5 checkpoints behind one manifest file.

    Parameters
    ----------
    path : str or pathlib.Path
        The manifest, e.g. ``out/ensemble.h5``; realisation files go to ``out/ensemble_realisations/``.
    config : dataclass or mapping
        Configuration of one realisation (everything that changes its result).  Recorded as JSON; a store
        holding a different configuration is refused.
    root_seed : int
        Root entropy of the ensemble's ``SeedSequence``; realisation ``i`` uses child ``i``.
    run_attributes : mapping, optional
        Extra attributes recorded in the manifest (executor, workers, ...); not compared on resume.

    Raises
    ------
    ParameterError
        If the store exists with a different configuration or root seed (parameter name ``store``).
    """

    def __init__(self, path, config, root_seed: int, run_attributes: dict | None = None):
        self.path = Path(path)
        self.realisation_dir = self.path.with_name(self.path.stem + "_realisations")
        self.config = config_to_dict(config)
        self.config_json = json.dumps(self.config, sort_keys=True)
        self.root_seed = int(root_seed)
        self.run_attributes = dict(run_attributes or {})
        self._check_compatible()
        self.realisation_dir.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temporaries()
        if not self.path.exists():
            self.write_manifest()

    # -- reading -------------------------------------------------------------------------------------------------
    def realisation_path(self, index: int) -> Path:
        """The file holding realisation ``index`` (it exists only once the realisation is complete)."""
        return self.realisation_dir / f"realisation_{int(index):06d}.h5"

    def completed(self) -> list[int]:
        """Sorted indices of the realisations already stored (complete by construction: files appear atomically)."""
        if not self.realisation_dir.is_dir():
            return []
        indices = []
        for entry in self.realisation_dir.iterdir():
            match = _REALISATION_FILE.match(entry.name)
            if match:
                indices.append(int(match.group(1)))
        return sorted(indices)

    def load(self, index: int) -> dict:
        """The stored result of realisation ``index`` as ``{name: numpy array}`` (names may contain ``/``)."""
        result = {}
        with h5py.File(self.realisation_path(index), "r") as handle:
            handle.visititems(
                lambda name, item: result.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None
            )
        return result

    def stored_seed(self, index: int) -> np.random.SeedSequence:
        """The ``SeedSequence`` recorded with realisation ``index``."""
        with h5py.File(self.realisation_path(index), "r") as handle:
            entropy = int(handle.attrs["seed_entropy"])
            spawn_key = tuple(int(key) for key in handle.attrs["seed_spawn_key"])
        return np.random.SeedSequence(entropy, spawn_key=spawn_key)

    # -- writing -------------------------------------------------------------------------------------------------
    def _common_attributes(self) -> dict:
        attributes = {
            "config": self.config_json,
            "root_seed": str(self.root_seed),
            "package_version": __version__,
            "field_kernel": DEFAULT_KERNEL,  # informational: "simd" and "portable" orbits differ by rounding
        }
        evaluation = _field_evaluation(self.config)
        if evaluation is not None:  # slab table or mode sum (also in the config JSON, where None means the default)
            attributes["slab_field"] = evaluation
        return attributes

    def save(self, index: int, seed: np.random.SeedSequence, result: dict) -> Path:
        """Write realisation ``index`` atomically (temporary file, then ``os.replace``).

        Parameters
        ----------
        index : int
            Realisation index (position of ``seed`` among the root sequence's children).
        seed : numpy.random.SeedSequence
            The child sequence the realisation was computed from (recorded, not used).
        result : dict
            ``{name: array or scalar}``; every value becomes a dataset, stored losslessly in its own dtype.
        """
        target = self.realisation_path(index)
        with atomic_output(target) as temporary:
            with h5py.File(temporary, "w", track_order=True) as handle:
                for key, value in self._common_attributes().items():
                    handle.attrs[key] = value
                for key, value in _seed_attributes(seed).items():
                    handle.attrs[key] = value
                handle.attrs["index"] = int(index)
                for name, value in result.items():
                    handle.create_dataset(name, data=np.asarray(value))
        return target

    def write_manifest(self, mean: dict | None = None, standard_error: dict | None = None, count=None) -> None:
        """Rewrite the manifest atomically: attributes, links to the stored realisations, optional aggregate."""
        with atomic_output(self.path) as temporary:
            with h5py.File(temporary, "w") as handle:
                for key, value in self._common_attributes().items():
                    handle.attrs[key] = value
                for key, value in self.run_attributes.items():
                    handle.attrs[key] = value if isinstance(value, (int, float, str)) else json.dumps(value)
                group = handle.create_group("realisations")
                for index in self.completed():
                    relative = os.path.relpath(self.realisation_path(index), self.path.parent)
                    group[f"{index:06d}"] = h5py.ExternalLink(relative, "/")
                if mean is not None:
                    aggregate = handle.create_group("ensemble")
                    aggregate.attrs["realisations"] = int(count)
                    for name, value in mean.items():
                        aggregate.create_dataset(f"mean/{name}", data=np.asarray(value))
                    for name, value in (standard_error or {}).items():
                        aggregate.create_dataset(f"standard_error/{name}", data=np.asarray(value))

    # -- consistency ---------------------------------------------------------------------------------------------
    def _stored_attributes(self) -> dict | None:
        candidates = [self.path] if self.path.exists() else []
        candidates += [self.realisation_path(index) for index in self.completed()[:1]]
        for candidate in candidates:
            with h5py.File(candidate, "r") as handle:
                return {key: handle.attrs[key] for key in ("config", "root_seed", "package_version")}
        return None

    def _check_compatible(self) -> None:
        stored = self._stored_attributes()
        if stored is None:
            return
        differing = _differences(json.loads(stored["config"]), self.config)
        if differing:
            raise ParameterError(
                "store",
                f"{self.path} holds a run with a different configuration (differs in: {', '.join(differing)}); "
                "choose another output directory or delete the store",
            )
        if int(stored["root_seed"]) != self.root_seed:
            raise ParameterError(
                "store",
                f"{self.path} holds a run with seed {stored['root_seed']}, not {self.root_seed}; "
                "choose another output directory or delete the store",
            )
        if stored["package_version"] != __version__:
            warnings.warn(
                f"resuming {self.path} written by cr-anisotropy {stored['package_version']} with {__version__}; "
                "results may not be bit-identical to an uninterrupted run",
                stacklevel=3,
            )

    def _remove_stale_temporaries(self) -> None:
        # leftovers of a process killed mid-write (SIGKILL skips the cleanup in atomic_output); one writer per store
        for directory in (self.realisation_dir, self.path.parent):
            for entry in directory.glob(f".*{TEMPORARY_MARK}*"):
                if entry.name.startswith(f".{self.path.name}") or directory == self.realisation_dir:
                    entry.unlink(missing_ok=True)
