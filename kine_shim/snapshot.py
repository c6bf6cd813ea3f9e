"""Restoring a snapshot stream (SQLite database + sha256 trailer) into a data dir."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path


class SnapshotError(Exception):
    pass


def restore(snapshot: Path, data_dir: Path) -> Path:
    """Writes DATA_DIR/db/state.db from the snapshot; refuses to overwrite an existing database."""
    raw = snapshot.read_bytes()
    if len(raw) < 32 + 512:
        raise SnapshotError(f"{snapshot}: too short to be a snapshot")
    body, trailer = raw[:-32], raw[-32:]
    if hashlib.sha256(body).digest() != trailer:
        raise SnapshotError(f"{snapshot}: sha256 trailer does not match (truncated or not an edgek8s snapshot)")
    if not body.startswith(b"SQLite format 3\x00"):
        raise SnapshotError(f"{snapshot}: not an edgek8s (SQLite) snapshot; etcd bbolt snapshots are not supported")
    db = data_dir / "db" / "state.db"
    if db.exists():
        raise SnapshotError(f"{db} already exists; restore into an empty data dir")
    db.parent.mkdir(parents=True, exist_ok=True)
    tmp = db.with_suffix(".restoring")
    with open(tmp, "wb") as f:
        f.write(body)
        f.flush()
        os.fsync(f.fileno())
    conn = sqlite3.connect(tmp)
    try:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise SnapshotError(f"{snapshot}: database fails its integrity check")
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"log", "current", "meta", "lease"} <= names:
            raise SnapshotError(f"{snapshot}: not an edgek8s datastore")
    finally:
        conn.close()
    os.replace(tmp, db)
    return db
