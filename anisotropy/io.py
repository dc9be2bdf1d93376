"""File output shared by the whole distribution: atomic writes and JSON-safe conversion.

docs/guide/design.md#engineering-conventions: "Writes are atomic (temp file + rename)".  Every file the package writes
-- result tables, parameter
JSON, plots, FITS maps, HDF5 checkpoints, caches -- goes through :func:`atomic_output`, so a reader (or a rerun
after an interruption) sees either the previous complete file or the new complete file, never a partial one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = [
    "LOCK_NAME",
    "TEMPORARY_MARK",
    "atomic_output",
    "jsonable",
    "output_lock",
    "prepare_output_directory",
    "replaced_directory_lock",
    "write_json",
]

#: part of every temporary file name, so leftovers (there should be none) are recognisable
TEMPORARY_MARK = ".tmp-"
#: advisory lock file each command holds in its output directory while it writes there (``fcntl.flock``)
LOCK_NAME = ".cr-anisotropy.lock"
#: room a temporary name needs beyond its target's (".", TEMPORARY_MARK, 8 random characters, the suffix)
_TEMPORARY_NAME_MARGIN = 32


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
    except OSError as error:  # disk full, read-only, ...: report the file the user asked for, not the temporary
        if error.errno is not None and (error.filename is None or TEMPORARY_MARK in str(error.filename)):
            error.filename = str(path)
        raise
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


def write_text(path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8); returns the path."""
    path = Path(path)
    with atomic_output(path) as temporary:
        Path(temporary).write_text(text, encoding="utf-8")
    return path


def save_figure(path, figure, dpi: int = 110) -> Path:
    """Save a matplotlib ``figure`` as PNG to ``path`` atomically; returns the path."""
    path = Path(path)
    with atomic_output(path) as temporary:
        figure.savefig(temporary, format="png", dpi=dpi)
    return path


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # e.g. a name too long to even look up
        return False


def _check_name_lengths(path: Path, name: str) -> None:
    from .errors import ParameterError

    existing = path
    while not _exists(existing) and existing != existing.parent:
        existing = existing.parent
    try:
        name_max = os.pathconf(existing, "PC_NAME_MAX")
        path_max = os.pathconf(existing, "PC_PATH_MAX")
    except (OSError, ValueError):
        name_max, path_max = 255, 4096
    for part in path.parts:
        if len(os.fsencode(part)) > name_max - _TEMPORARY_NAME_MARGIN:
            raise ParameterError(name, f"a path component is {len(os.fsencode(part))} bytes long; this file "
                                 f"system allows {name_max}, less {_TEMPORARY_NAME_MARGIN} for temporary names: "
                                 f"{part[:40]}...")
    if len(os.fsencode(str(path.absolute()))) > path_max - 2 * name_max:
        raise ParameterError(name, f"path is {len(os.fsencode(str(path.absolute())))} bytes long; keep it below "
                             f"{path_max - 2 * name_max} so the files inside fit in {path_max}")


def prepare_output_directory(out, name: str = "out", *, create: bool = True) -> Path:
    """Check that ``out`` can be (or is) a writable directory, create it if asked, and return it as a Path.

    Refuses, with a :class:`~anisotropy.errors.ParameterError` naming ``name``: a path whose components or total
    length exceed the file system's limits (``PC_NAME_MAX``/``PC_PATH_MAX``, less room for temporary names), an
    existing file or a file among its parents, and a directory (or the nearest existing parent) that is not
    writable.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as root:
    ...     prepare_output_directory(pathlib.Path(root) / "run").is_dir()
    True
    """
    from .errors import ParameterError

    path = Path(out)
    _check_name_lengths(path, name)
    existing = path
    while not _exists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ParameterError(name, f"{str(existing)!r} exists and is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ParameterError(name, f"{str(existing)!r} is not writable (read-only file system or permissions)")
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ParameterError(name, f"cannot create {str(path)!r}: {error.strerror or error}") from None
    return path


#: directories this process holds the lock of -> nesting depth
_HELD_LOCKS: dict = {}


@contextlib.contextmanager
def output_lock(directory, name: str = "out", *, lock_name: str = LOCK_NAME):
    """Hold an exclusive advisory lock (``fcntl.flock``) on ``directory/lock_name`` for the block.

    ``lock_name`` defaults to ``.cr-anisotropy.lock``; a job that replaces its output directory as a whole (the
    validation report) locks a per-target file in the parent instead (:func:`replaced_directory_lock`).

    The lock file exists only while the lock is held (it names the holder's process id).

    A second process asking for the same directory is refused at once with a
    :class:`~anisotropy.errors.ParameterError` naming ``name`` (and the holder's process id), so two writers never
    interleave their files or delete each other's temporaries.  The directory is created if missing; if it was
    created here and is empty when the block ends, it is removed again (a refused run
    leaves nothing behind).  The lock is advisory: it binds cr-anisotropy processes, and on network file systems
    only where they support ``flock``.  Nested use on the same directory within one process is allowed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as root:
    ...     with output_lock(pathlib.Path(root) / "run") as directory:
    ...         held = (directory / LOCK_NAME).exists()
    ...     print(held, (pathlib.Path(root) / "run").exists())
    True False
    """
    path = Path(directory)
    prepare_output_directory(path, name, create=False)
    created = not path.exists()
    prepare_output_directory(path, name)
    key = (os.path.realpath(path), lock_name)
    if key in _HELD_LOCKS:  # this process holds it already (e.g. the CLI around the ensemble runner): re-entrant
        _HELD_LOCKS[key] += 1
        try:
            yield path
        finally:
            _HELD_LOCKS[key] -= 1
        return
    lock_path = path / lock_name
    handle = _acquire(lock_path, path, name)
    try:
        _HELD_LOCKS[key] = 1
        try:
            yield path
        finally:
            del _HELD_LOCKS[key]
            # unlinking before unlocking is safe: a waiter that opened the old file sees, after locking it, that
            # the name no longer points at its inode and starts again (_acquire)
            lock_path.unlink(missing_ok=True)
            if created and not any(path.iterdir()):
                with contextlib.suppress(OSError):
                    path.rmdir()
    finally:
        handle.close()


def replaced_directory_lock(directory, name: str = "out"):
    """:func:`output_lock` for a job that replaces ``directory`` as a whole at the end (two renames).

    A lock file inside ``directory`` would be renamed away with the old contents, so the lock is held on
    ``parent/.<directory name>.cr-anisotropy.lock`` instead: two writers of the same target exclude each other,
    different targets in one parent do not.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as root:
    ...     with replaced_directory_lock(pathlib.Path(root) / "report"):
    ...         print(sorted(path.name for path in pathlib.Path(root).iterdir()))
    ['.report.cr-anisotropy.lock']
    """
    target = Path(os.path.abspath(directory))
    return output_lock(target.parent, name, lock_name=f".{target.name}{LOCK_NAME}")


def _acquire(lock_path: Path, directory: Path, name: str):
    """Open and exclusively ``flock`` the lock file; retry if it was replaced meanwhile; refuse if it is held."""
    import fcntl

    from .errors import ParameterError

    while True:
        handle = open(lock_path, "a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise ParameterError(name, f"{str(directory)!r} is in use by another cr-anisotropy process (pid "
                                 f"{holder}); wait for it to finish or choose another directory") from None
        try:
            same = os.stat(lock_path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            return handle
        handle.close()  # the holder released and removed it between our open and our flock: try the new one
