"""Checkpoint store for ensembles of turbulence realisations: HDF5, atomic, resumable.

Layout (docs/guide/design.md#engineering-conventions)::

    <store>.h5                      manifest: run attributes, external links to every finished realisation,
                                    and (once a run completes) the ensemble mean and standard error
    <store>_realisations/
        realisation_000000.h5       one file per finished realisation, written to a temporary file and
        realisation_000001.h5       moved into place with ``os.replace`` (atomic on POSIX), so a file that
        ...                         exists is complete; an interrupted write leaves nothing behind

Every file carries as attributes the realisation configuration (JSON) and its SHA-256 digest, the root seed, the
realisation index, the realisation's ``SeedSequence`` entropy and spawn key, the package version and a SHA-256
checksum of its datasets (names, dtypes, shapes and bytes, :func:`data_checksum`).  Opening ``<store>.h5`` with
h5py shows the realisations as groups ``realisations/<index>`` (HDF5 external links, resolved relative to the
manifest), so the whole ensemble reads like one file.

Resuming: a store opened with the same configuration and root seed reports which realisations are complete and
the ensemble runner skips them.  Before a stored realisation is reused, :meth:`RealisationStore.verify` checks all
of the attributes above and the data checksum; a file that is unreadable, truncated, altered, or written by another
configuration, seed, index or package version is moved aside to ``realisation_NNNNNN.h5.rejected`` with a one-line
:class:`CheckpointWarning` and recomputed, never mixed into the ensemble.  An unreadable manifest is refused with a
:class:`~anisotropy.errors.ParameterError` naming the file.  A store written with a different configuration or
seed is refused with a :class:`~anisotropy.errors.ParameterError` naming the differing keys.  Only one process
writes a store at a time (the ensemble runner writes from its main process, holding an advisory lock; workers only
compute).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
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

__all__ = [
    "CheckpointWarning",
    "RealisationStore",
    "atomic_output",
    "config_digest",
    "config_to_dict",
    "config_to_json",
    "data_checksum",
]

_REALISATION_FILE = re.compile(r"^realisation_(\d{6,})\.h5$")
#: suffix given to a realisation file that failed verification (kept for inspection, never read again)
REJECTED_SUFFIX = ".rejected"


_INTENSITY = "relative intensity, for |G| L_c = 1 (scales as |G| L_c)"
_POWER = "relative intensity squared (healpy anafast C_l), for |G| L_c = 1 (scales as (|G| L_c)^2)"
#: units and axis ordering of the datasets the simulator's realisations return, recorded as HDF5 attributes
#: ``units`` and ``ordering`` on every dataset of that name (lengths in L_c, times in L_c/c)
DATASET_METADATA = {
    "times": ("L_c/c", "[time]"),
    "ell": ("1", "[ell]"),
    "maps": (_INTENSITY, "[time, pixel]; HEALPix RING ordering; z along B0, G in the x-z plane"),
    "cl": (_POWER, "[time, ell]"),
    "cl_pair": (_POWER, "[time, ell]; pair estimator"),
    "noise_floor": (_POWER, "[time]; white-noise floor 4 pi sigma^2 / N_pix"),
    "map_variance": ("relative intensity squared", "[time]"),
    "dipole": (_INTENSITY, "[time, xyz]; healpy fit_dipole vector"),
    "pair_separations": ("deg", "[separation]"),
    "dt": ("L_c/c", "scalar; Boris step"),
    "particle_steps": ("1", "scalar"),
    "msd_parallel": ("L_c^2", "[time]; mean squared displacement along B0"),
    "msd_perp": ("L_c^2", "[time]; sum of the two perpendicular components"),
    "mean_dz": ("L_c", "[time]"),
    "d_parallel": ("c L_c", "[time]; running coefficient 1/2 d<dz^2>/dt"),
    "d_perp": ("c L_c", "[time]; running coefficient 1/2 d<dr_perp^2>/dt (twice the per-component value)"),
    "fieldline_length": ("L_c", "[arc length]"),
    "fieldline_mean_dz": ("L_c", "[arc length]"),
    "fieldline_msd_parallel": ("L_c^2", "[arc length]"),
    "fieldline_msd_perp": ("L_c^2", "[arc length]"),
    "d_fieldline": ("L_c", "[arc length]; 1/2 d<dr_perp^2>/d<dz>"),
    "fieldline_step": ("L_c", "scalar; RK4 arc-length step"),
}


class CheckpointWarning(UserWarning):
    """A stored realisation failed verification and is recomputed (the message is one line naming the file)."""


def config_to_dict(config) -> dict:
    """A plain JSON-compatible dict of a configuration (dataclass, object with ``to_dict``, or mapping)."""
    converted = jsonable(config)
    if not isinstance(converted, dict):
        raise TypeError(f"configuration must be a dataclass or a mapping, got {type(config).__name__}")
    return converted


def config_to_json(config) -> str:
    """Canonical JSON of a configuration (sorted keys), the form recorded in every store attribute."""
    return json.dumps(config_to_dict(config), sort_keys=True)


def config_digest(config_json: str) -> str:
    """SHA-256 hex digest of a canonical configuration JSON (:func:`config_to_json`)."""
    return hashlib.sha256(config_json.encode("utf-8")).hexdigest()


def data_checksum(result: dict) -> str:
    """SHA-256 over the datasets of one realisation, in sorted name order: name, dtype, shape and raw bytes.

    Examples
    --------
    >>> import numpy as np
    >>> data_checksum({"cl": np.zeros(3)}) == data_checksum({"cl": np.zeros(3)})
    True
    >>> data_checksum({"cl": np.zeros(3)}) == data_checksum({"cl": np.zeros(4)})
    False
    """
    digest = hashlib.sha256()
    for name in sorted(result):
        value = np.ascontiguousarray(np.asarray(result[name]))
        digest.update(name.encode("utf-8") + b"\0" + value.dtype.str.encode() + b"\0")
        digest.update(repr(value.shape).encode() + b"\0")
        digest.update(value.tobytes())
    return digest.hexdigest()


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
        with h5py.File(self.realisation_path(index), "r") as handle:
            return _datasets(handle)

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
        with _hdf5_output(target, track_order=True) as handle:
            for key, value in self._common_attributes().items():
                handle.attrs[key] = value
            for key, value in _seed_attributes(seed).items():
                handle.attrs[key] = value
            handle.attrs["index"] = int(index)
            handle.attrs["config_digest"] = config_digest(self.config_json)
            handle.attrs["data_sha256"] = data_checksum(result)
            for name, value in result.items():
                _describe(handle.create_dataset(name, data=np.asarray(value)), name)
        return target

    # -- verification --------------------------------------------------------------------------------------------
    def verify(self, index: int) -> str | None:
        """Why the stored realisation ``index`` must not be reused, or None if it is sound.

        Checks, in order: the file opens as HDF5; its configuration digest (and configuration), root seed,
        realisation index and package version equal this store's; the SHA-256 of its datasets equals the recorded
        one (:func:`data_checksum`).
        """
        path = self.realisation_path(index)
        try:
            with h5py.File(path, "r") as handle:
                attributes = dict(handle.attrs)
                data = _datasets(handle)
        except Exception as error:  # h5py raises OSError, KeyError or RuntimeError for damaged files
            return f"unreadable ({_first_line(error)})"
        missing = [key for key in ("config_digest", "root_seed", "index", "package_version", "data_sha256")
                   if key not in attributes]
        if missing:
            return f"lacks {', '.join(missing)} (written by an older version)"
        if _text(attributes["config_digest"]) != config_digest(self.config_json) or _text(
            attributes.get("config", "")
        ) != self.config_json:
            return "written with a different configuration"
        if _text(attributes["root_seed"]) != str(self.root_seed):
            return f"written with root seed {_text(attributes['root_seed'])}, not {self.root_seed}"
        if int(attributes["index"]) != int(index):
            return f"holds realisation {int(attributes['index'])}, not {int(index)}"
        if _text(attributes["package_version"]) != __version__:
            return f"written by cr-anisotropy {_text(attributes['package_version'])}, not {__version__}"
        if data_checksum(data) != _text(attributes["data_sha256"]):
            return "data checksum mismatch (file altered or damaged)"
        return None

    def verified(self, indices=None) -> list[int]:
        """Sorted indices of stored realisations that pass :meth:`verify`; the others are set aside.

        Each rejected file is renamed to ``<name>.rejected`` (so it is neither linked nor read again) and reported
        by one :class:`CheckpointWarning` line naming it and the reason.
        """
        sound = []
        wanted = None if indices is None else set(indices)
        for index in self.completed():
            if wanted is not None and index not in wanted:
                continue
            reason = self.verify(index)
            if reason is None:
                sound.append(index)
                continue
            path = self.realisation_path(index)
            rejected = path.with_name(path.name + REJECTED_SUFFIX)
            os.replace(path, rejected)
            warnings.warn(f"checkpoint {path} {reason}: recomputing it (moved to {rejected.name})",
                          CheckpointWarning, stacklevel=2)
        return sound

    def write_manifest(self, mean: dict | None = None, standard_error: dict | None = None, count=None) -> None:
        """Rewrite the manifest atomically: attributes, links to the stored realisations, optional aggregate."""
        with _hdf5_output(self.path) as handle:
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
                    _describe(aggregate.create_dataset(f"mean/{name}", data=np.asarray(value)), name)
                for name, value in (standard_error or {}).items():
                    _describe(aggregate.create_dataset(f"standard_error/{name}", data=np.asarray(value)), name)

    # -- consistency ---------------------------------------------------------------------------------------------
    def _stored_attributes(self) -> dict | None:
        if self.path.exists():
            try:
                with h5py.File(self.path, "r") as handle:
                    return {key: handle.attrs[key] for key in ("config", "root_seed", "package_version")}
            except Exception as error:  # truncated, garbage, or not written by this package
                raise ParameterError(
                    "store",
                    f"{self.path} is not a readable cr-anisotropy store ({_first_line(error)}); "
                    "delete it or choose another output directory",
                ) from None
        for index in self.completed()[:1]:
            try:
                with h5py.File(self.realisation_path(index), "r") as handle:
                    return {key: handle.attrs[key] for key in ("config", "root_seed", "package_version")}
            except Exception:
                return None  # a damaged realisation is rejected (and recomputed) by verified()
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
        # a different package version is not refused here: verified() recomputes each realisation it wrote

    def _remove_stale_temporaries(self) -> None:
        # leftovers of a process killed mid-write (SIGKILL skips the cleanup in atomic_output); one writer per store
        for directory in (self.realisation_dir, self.path.parent):
            for entry in directory.glob(f".*{TEMPORARY_MARK}*"):
                if entry.name.startswith(f".{self.path.name}") or directory == self.realisation_dir:
                    entry.unlink(missing_ok=True)


def _datasets(handle) -> dict:
    """Every dataset of an open HDF5 file as ``{name: numpy array}`` (names may contain ``/``)."""
    data = {}
    handle.visititems(lambda name, item: data.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None)
    return data


def read_realisation(path) -> dict:
    """The datasets of one stored realisation file, read outside a store (no configuration to compare), after
    checking them against the SHA-256 recorded when they were written (:func:`data_checksum`).

    Raises
    ------
    ParameterError
        Naming the file (parameter ``store``) if the checksum is missing or does not match.
    """
    with h5py.File(path, "r") as handle:
        data = _datasets(handle)
        recorded = handle.attrs.get("data_sha256")
    if recorded is None or data_checksum(data) != _text(recorded):
        raise ParameterError("store", f"{path}: data checksum missing or mismatched (file altered or damaged)")
    return data


@contextlib.contextmanager
def _hdf5_output(path, **options):
    """An HDF5 file built in memory and written to ``path`` atomically by Python I/O.

    The HDF5 library reacts to a failed write (disk full) with a long error stack and, in some versions, a crash;
    building the file in a ``BytesIO`` keeps every disk write in Python, where it fails as one clean ``OSError``.
    """
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", **options) as handle:
        yield handle
    with atomic_output(path) as temporary:
        temporary.write_bytes(buffer.getbuffer())


def _describe(dataset, name: str) -> None:
    # attributes are not part of data_checksum: describing a dataset never invalidates a checkpoint
    units, ordering = DATASET_METADATA.get(name.split("/")[-1], (None, None))
    if units is not None:
        dataset.attrs["units"] = units
        dataset.attrs["ordering"] = ordering


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
