"""Restoring a snapshot stream (SQLite database + sha256 trailer) into a data dir."""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from pathlib import Path


class SnapshotError(Exception):
    pass


def _check_database(snapshot: Path, path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            raise SnapshotError(f"{snapshot}: database fails its integrity check ({result})")
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"log", "current", "meta", "lease"} <= names:
            raise SnapshotError(f"{snapshot}: not an edgek8s datastore")
    except sqlite3.DatabaseError as exc:
        raise SnapshotError(f"{snapshot}: corrupt snapshot, not a readable SQLite database ({exc})") from exc
    finally:
        conn.close()


def restore(snapshot: Path, data_dir: Path) -> Path:
    """Writes DATA_DIR/db/state.db from the snapshot; refuses to overwrite an existing database."""
    raw = snapshot.read_bytes()
    if len(raw) < 32 + 512:
        raise SnapshotError(f"{snapshot}: too short to be a snapshot")
    body, trailer = raw[:-32], raw[-32:]
    if hashlib.sha256(body).digest() != trailer:
        raise SnapshotError(
            f"{snapshot}: sha256 trailer does not match (truncated or not an edgek8s snapshot)"
        )
    if not body.startswith(b"SQLite format 3\x00"):
        raise SnapshotError(
            f"{snapshot}: not an edgek8s (SQLite) snapshot; etcd bbolt snapshots are not supported"
        )
    db = data_dir / "db" / "state.db"
    # a leftover -wal would be replayed over the restored database by the next open, silently
    # bringing back the old contents, so it counts as an existing database too
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        if path.exists():
            raise SnapshotError(f"{path} already exists; restore into an empty data dir")
    created = not db.parent.exists()
    db.parent.mkdir(parents=True, exist_ok=True)
    tmp = db.with_suffix(".restoring")
    try:
        with open(tmp, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        _check_database(snapshot, tmp)
    except BaseException:
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            with contextlib.suppress(OSError):
                leftover.unlink()
        if created:
            with contextlib.suppress(OSError):
                db.parent.rmdir()
        raise
    os.replace(tmp, db)
    return db
