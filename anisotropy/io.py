"""File output shared by the whole distribution: atomic writes and JSON-safe conversion.

docs/guide/design.md#engineering-conventions: "Writes are atomic (temp file + rename)".  Every file the package writes
-- result tables, parameter
JSON, plots, FITS maps, HDF5 checkpoints, caches -- goes through :func:`atomic_output`, so a reader (or a rerun
after an interruption) sees either the previous complete file or the new complete file, never a partial one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["TEMPORARY_MARK", "atomic_output", "jsonable", "write_json"]

#: part of every temporary file name, so leftovers (there should be none) are recognisable
TEMPORARY_MARK = ".tmp-"


@contextlib.contextmanager
def atomic_output(path):
    """Yield a temporary path next to ``path``; move it onto ``path`` only if the block succeeds.

    The temporary file lives in the same directory (so ``os.replace`` is an atomic rename on POSIX) and keeps the
    target's suffix (so writers that look at the extension, e.g. FITS or ``numpy.savez``, behave the same).  On any
    exception, including ``KeyboardInterrupt``, the temporary file is removed and the target is left untouched.

    Parameters
    ----------
    path : str or pathlib.Path
        Final location of the file; missing parent directories are created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}{TEMPORARY_MARK}", suffix=path.suffix)
    os.close(handle)
    os.unlink(temporary)  # writers such as healpy/h5py create the file themselves
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def jsonable(value, *, nonfinite_as_null: bool = False):
    """Deep copy of ``value`` made of plain JSON types (exact floats, lists, dicts with string keys).

    Dataclasses and objects with ``to_dict()`` become dicts, numpy arrays lists, numpy scalars Python numbers,
    paths strings.  ``nonfinite_as_null`` turns nan/inf into ``None`` (strict JSON); otherwise they are kept and
    :func:`json.dumps` writes them as ``NaN``/``Infinity``, which Python reads back exactly.
    """

    def convert(item):
        if dataclasses.is_dataclass(item) and not isinstance(item, type):
            return {field.name: convert(getattr(item, field.name)) for field in dataclasses.fields(item)}
        if isinstance(item, dict):
            return {str(key): convert(entry) for key, entry in item.items()}
        if isinstance(item, (list, tuple)):
            return [convert(entry) for entry in item]
        if isinstance(item, np.ndarray):
            return convert(item.tolist())
        if isinstance(item, np.generic):
            return convert(item.item())
        if isinstance(item, Path):
            return str(item)
        if isinstance(item, float) and nonfinite_as_null and not math.isfinite(item):
            return None
        if hasattr(item, "to_dict") and not isinstance(item, type):
            return convert(item.to_dict())
        return item

    return convert(value)


def write_json(path, content, *, nonfinite_as_null: bool = False, **dumps_options) -> Path:
    """Write ``jsonable(content)`` to ``path`` atomically (trailing newline); returns the path."""
    path = Path(path)
    dumps_options.setdefault("indent", 1)
    text = json.dumps(jsonable(content, nonfinite_as_null=nonfinite_as_null), **dumps_options) + "\n"
    with atomic_output(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return path
