"""Crash-safe file writes for key material and credentials."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE = 0o600
PUBLIC = 0o644


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Replaces PATH with DATA so that a reader (or a crash) sees either the old or the new file, never half.

    The temp file is created with MODE from the start (not chmod-ed afterwards) so a private key is never
    readable by others, not even for the instant between create and chmod; fchmod then pins MODE regardless
    of the umask.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    # The rename is only durable once the directory entry is; without this a power cut can lose the new file.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_optional(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def ensure_private_mode(path: Path) -> None:
    """Tightens a key file restored or copied with loose permissions; we never loosen anything."""
    st = path.stat()
    if st.st_mode & 0o077:
        os.chmod(path, st.st_mode & 0o700)


def make_private_dir(path: Path) -> None:
    """Creates PATH (and parents) 0700 if missing; an existing directory keeps the mode its owner chose."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
