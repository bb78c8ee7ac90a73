"""The one way sciml writes a file or a directory store: beside the target, then swapped in by rename.

:func:`atomic_path` yields a temporary path in a hidden folder next to the target
(``.NAME.sciml-tmp.PID.RANDOM/NAME``); only when the writing block succeeds is it renamed onto the
target. So a process killed at any moment leaves either the old target or the new one, never a
half-written file or store, and never neither:

- a file is replaced by ``os.replace`` (atomic on POSIX and Windows);
- a directory store (Zarr) is swapped with the old one by Linux ``renameat2(RENAME_EXCHANGE)``,
  atomically; where that is missing, the old store is parked inside the temporary folder for the
  instant between two renames, and the next write of the same target puts it back if a kill fell
  in between.

Leftover temporaries of a killed writer (its PID no longer running) are removed by the next write
of the same target; their hidden names never match a reader's ``*.nc``/``*.json`` pattern.

What may be replaced: a missing target is created; an existing one only with ``overwrite=True``,
and a directory only when sciml wrote it (it holds the :data:`MARKER` file). A file is never
replaced by a directory or the other way round. These protect against interrupted processes; they
do not fsync, so they do not promise durability across a power cut.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import json
import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any, Iterator

from sciml.errors import OutputError, OutputExistsError

MARKER = ".sciml-store"
"""File inside every directory store sciml writes; only such a directory may be replaced."""
_TAG = ".sciml-tmp."
_PARKED = "old."  # inside a temporary folder: the previous store, during a two-rename swap


def _temp_dir(final: Path) -> Path:
    return final.parent / f".{final.name}{_TAG}{os.getpid()}.{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def leftovers(final: str | os.PathLike) -> list[Path]:
    """Temporary folders of writers of ``final`` that are no longer running."""
    final = Path(final)
    pattern = re.compile(rf"^\.{re.escape(final.name)}{re.escape(_TAG)}(\d+)\.[0-9a-f]+$")
    found = []
    with contextlib.suppress(FileNotFoundError):
        for entry in final.parent.iterdir():
            m = pattern.match(entry.name)
            if m and not _pid_alive(int(m.group(1))):
                found.append(entry)
    return sorted(found)


def clean_leftovers(final: str | os.PathLike) -> list[Path]:
    """Remove the leftovers of killed writers of ``final``; if a kill fell between the two renames of a
    directory swap (target missing, old store parked), first put the old store back. Returns what was
    removed."""
    final = Path(final)
    removed = leftovers(final)
    for tmp in removed:
        parked = tmp / f"{_PARKED}{final.name}"
        if parked.exists() and not os.path.lexists(final):
            os.replace(parked, final)
        shutil.rmtree(tmp, ignore_errors=True)
    return removed


def check_target(final: Path, is_dir: bool, overwrite: bool) -> None:
    """Raise OutputExistsError unless writing ``final`` may replace what is there (``atomic_path`` checks
    this itself; call it first to fail before expensive work)."""
    if not os.path.lexists(final):
        return
    kind = "directory" if final.is_dir() else "file"
    if final.is_dir() != is_dir:
        raise OutputExistsError(
            f"{str(final)!r} exists and is a {kind}; sciml will not replace it with a "
            f"{'directory' if is_dir else 'file'}: choose another path"
        )
    if not overwrite:
        raise OutputExistsError(f"{str(final)!r} already exists; pass --overwrite (overwrite=True) to replace "
                                "it, or choose another path")
    if is_dir and not (final / MARKER).is_file():
        raise OutputExistsError(
            f"{str(final)!r} is a directory that sciml did not write (no {MARKER} file inside); sciml never "
            "deletes it, even with --overwrite: choose another path or remove it yourself"
        )


@functools.lru_cache(maxsize=1)
def _renameat2():
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    fn = _renameat2()
    if fn is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(new: Path, final: Path, tmp_dir: Path) -> None:
    """Put ``new`` at ``final``; an old directory at ``final`` ends up inside ``tmp_dir`` (removed after)."""
    if not new.is_dir() or not final.is_dir():
        os.replace(new, final)
    elif not _exchange(new, final):
        os.replace(final, tmp_dir / f"{_PARKED}{final.name}")  # the old store stays findable until...
        os.replace(new, final)  # ...the new one is in place (clean_leftovers restores it if killed here)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, is_dir: bool = False, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path (same name, in a hidden folder beside ``path``) to write; rename it onto
    ``path`` only if the block succeeds.

    ``is_dir``: the output is a directory store (Zarr); sciml puts its :data:`MARKER` in it.
    ``overwrite=False`` refuses an existing ``path``; an existing directory is replaced only when sciml
    wrote it. Raises :class:`OutputExistsError` before anything is written, :class:`OutputError` when
    the folder cannot be written. On error the temporary is removed and ``path`` is untouched.
    """
    final = Path(path)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        clean_leftovers(final)
        check_target(final, is_dir, overwrite)
        tmp_dir = _temp_dir(final)
        tmp_dir.mkdir()
    except (FileExistsError, NotADirectoryError, PermissionError) as exc:
        if isinstance(exc, OutputError):
            raise
        blocker = next((q for q in final.parents if q.exists() and not q.is_dir()), None)
        why = f"{str(blocker)!r} is a file, not a folder" if blocker is not None else exc.strerror or str(exc)
        raise OutputError(f"cannot write {str(final)!r}: {why}; choose a writable folder") from exc
    try:
        tmp = tmp_dir / final.name
        yield tmp
        if is_dir:
            (tmp / MARKER).write_text("This directory store was written by sciml; sciml may replace it.\n")
        _swap_in(tmp, final, tmp_dir)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def write_text(path: str | os.PathLike, text: str, overwrite: bool = True) -> Path:
    """Atomically write ``text`` to ``path``."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json(path: str | os.PathLike, obj: Any, overwrite: bool = True, **dumps: Any) -> Path:
    """Atomically write ``obj`` as JSON (``dumps`` go to ``json.dumps``, default ``indent=1``)."""
    return write_text(path, json.dumps(obj, **{"indent": 1, **dumps}) + "\n", overwrite=overwrite)


def save_figure(fig: Any, path: str | os.PathLike, overwrite: bool = True, **savefig: Any) -> Path:
    """Atomically ``fig.savefig(path, **savefig)`` (the format follows the suffix, as matplotlib's)."""
    with atomic_path(path, overwrite=overwrite) as tmp:
        fig.savefig(tmp, **savefig)
    return Path(path)
