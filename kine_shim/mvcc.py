"""The revision log in SQLite: schema, reads at any revision, and the apply step of writes.

Everything here is synchronous and runs on a database thread; kine_shim.store owns the threads.

Layout: `log` holds every change (one row per key per revision, tombstones have version 0) and
`current` points at the newest live row of each key, so reads at the head revision are a
primary-key scan while historical reads and watch replay come from `log`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

from kine_shim import errors
from kine_shim.etcdpb import kv_pb2
from kine_shim.etcdpb import rpc_pb2 as pb
from kine_shim.keys import KeyRange

SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    id INTEGER PRIMARY KEY,
    rev INTEGER NOT NULL,
    key BLOB NOT NULL,
    create_rev INTEGER NOT NULL,
    version INTEGER NOT NULL,
    lease INTEGER NOT NULL,
    value BLOB NOT NULL,
    prev_id INTEGER
);
CREATE INDEX IF NOT EXISTS log_key_rev ON log(key, rev);
CREATE INDEX IF NOT EXISTS log_rev ON log(rev);
CREATE TABLE IF NOT EXISTS current (
    key BLOB PRIMARY KEY,
    id INTEGER NOT NULL,
    create_rev INTEGER NOT NULL,
    mod_rev INTEGER NOT NULL,
    version INTEGER NOT NULL,
    lease INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS current_lease ON current(lease) WHERE lease != 0;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lease (id INTEGER PRIMARY KEY, ttl INTEGER NOT NULL);
"""

# columns that build a KeyValue: key, create_revision, mod_revision, version, lease, value
_CURRENT_COLS = "c.key, c.create_rev, c.mod_rev, c.version, c.lease, l.value"
_LOG_COLS = "l.key, l.create_rev, l.rev, l.version, l.lease, l.value"


def connect(path: str, *, synchronous: str = "FULL", readonly: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA busy_timeout = 30000")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        # after a checkpoint the WAL file is cut back to this size instead of staying at its peak
        conn.execute("PRAGMA journal_size_limit = 67108864")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("PRAGMA cache_size = -16000")
    return conn


def init_schema(conn: sqlite3.Connection, ids: tuple[int, int]) -> None:
    conn.executescript(SCHEMA)
    conn.execute("BEGIN IMMEDIATE")
    # etcd starts a fresh store at revision 1 with nothing compacted, not even revision 0: its
    # compacted revision is -1 until the first compaction (so compacting revision 0 works once, and
    # a txn range at revision -1 is refused as compacted only after some compaction)
    for name, value in (("rev", 1), ("compact_rev", -1), ("cluster_id", ids[0]), ("member_id", ids[1])):
        conn.execute("INSERT OR IGNORE INTO meta(name, value) VALUES (?, ?)", (name, value))
    conn.execute("COMMIT")


def read_meta(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT name, value FROM meta").fetchall())


def _kv(row) -> kv_pb2.KeyValue:
    return kv_pb2.KeyValue(
        key=row[0], create_revision=row[1], mod_revision=row[2], version=row[3], lease=row[4], value=row[5]
    )


def _where(kr: KeyRange, column: str) -> tuple[str, tuple]:
    return kr.sql(column)


def range_rows(conn, kr: KeyRange, rev: int, head: int, limit: int) -> list[tuple]:
    """Live rows in kr as of rev (ordered by key); limit 0 = all."""
    lim = f" LIMIT {int(limit)}" if limit > 0 else ""
    if rev >= head:
        where, args = _where(kr, "c.key")
        sql = (
            f"SELECT {_CURRENT_COLS} FROM current c JOIN log l ON l.id = c.id "
            f"WHERE {where} ORDER BY c.key{lim}"
        )
        return conn.execute(sql, args).fetchall()
    where, args = _where(kr, "key")
    sql = (
        f"SELECT {_LOG_COLS} FROM (SELECT MAX(id) AS id FROM log WHERE {where} AND rev <= ? GROUP BY key) m "
        f"JOIN log l ON l.id = m.id WHERE l.version > 0 ORDER BY l.key{lim}"
    )
    return conn.execute(sql, (*args, rev)).fetchall()


def range_count(conn, kr: KeyRange, rev: int, head: int) -> int:
    if rev >= head:
        where, args = _where(kr, "key")
        return conn.execute(f"SELECT COUNT(*) FROM current WHERE {where}", args).fetchone()[0]
    where, args = _where(kr, "key")
    sql = (
        f"SELECT COUNT(*) FROM (SELECT MAX(id) AS id FROM log WHERE {where} AND rev <= ? GROUP BY key) m "
        "JOIN log l ON l.id = m.id WHERE l.version > 0"
    )
    return conn.execute(sql, (*args, rev)).fetchone()[0]


# row positions: key, create_revision, mod_revision, version, lease, value
_SORT_COLUMN = {
    pb.RangeRequest.KEY: 0,
    pb.RangeRequest.VERSION: 3,
    pb.RangeRequest.CREATE: 1,
    pb.RangeRequest.MOD: 2,
    pb.RangeRequest.VALUE: 5,
}


def do_range(conn, req: pb.RangeRequest, head: int, compact_rev: int) -> pb.RangeResponse:
    """etcd's Range at head revision `head` (the header revision is always head, as in etcd)."""
    rev = req.revision
    if rev > head:
        raise errors.FUTURE_REV
    if rev <= 0:
        rev = head
    if rev < compact_rev:
        raise errors.COMPACTED
    kr = KeyRange.of(req.key, req.range_end)
    filtered = bool(
        req.min_mod_revision or req.max_mod_revision or req.min_create_revision or req.max_create_revision
    )
    resp = pb.RangeResponse()
    resp.header.revision = head
    if req.count_only:
        resp.count = range_count(conn, kr, rev, head)
        return resp
    fetch_all = req.sort_order != pb.RangeRequest.NONE or filtered
    limit = 0 if fetch_all or req.limit <= 0 else req.limit + 1
    rows = range_rows(conn, kr, rev, head, limit)
    if limit and len(rows) < limit:
        count = len(rows)
    elif kr.single:
        count = len(rows)
    else:
        count = range_count(conn, kr, rev, head)
    if filtered:
        rows = [r for r in rows if _passes_filters(req, r)]
    order = req.sort_order
    if req.sort_target != pb.RangeRequest.KEY and order == pb.RangeRequest.NONE:
        order = pb.RangeRequest.ASCEND
    # an order etcd does not name is neither refused nor applied (the kvs stay in key order)
    if order in (pb.RangeRequest.ASCEND, pb.RangeRequest.DESCEND):
        column = _SORT_COLUMN[req.sort_target]
        rows.sort(key=lambda r: r[column], reverse=order == pb.RangeRequest.DESCEND)
    if req.limit > 0 and len(rows) > req.limit:
        rows = rows[: req.limit]
        resp.more = True
    # building each KeyValue in place is about twice as fast as building a list and extending
    add = resp.kvs.add
    if req.keys_only:
        for r in rows:
            add(key=r[0], create_revision=r[1], mod_revision=r[2], version=r[3], lease=r[4])
    else:
        for r in rows:
            add(key=r[0], create_revision=r[1], mod_revision=r[2], version=r[3], lease=r[4], value=r[5])
    resp.count = count
    return resp


def _passes_filters(req: pb.RangeRequest, row: tuple) -> bool:
    if req.min_mod_revision and row[2] < req.min_mod_revision:
        return False
    if req.max_mod_revision and row[2] > req.max_mod_revision:
        return False
    if req.min_create_revision and row[1] < req.min_create_revision:
        return False
    if req.max_create_revision and row[1] > req.max_create_revision:
        return False
    return True


def _compare_one(cmp: pb.Compare, kv: kv_pb2.KeyValue) -> bool:
    target = cmp.target
    if target == pb.Compare.VALUE:
        a, b = kv.value, cmp.value
    elif target == pb.Compare.VERSION:
        a, b = kv.version, cmp.version
    elif target == pb.Compare.CREATE:
        a, b = kv.create_revision, cmp.create_revision
    elif target == pb.Compare.MOD:
        a, b = kv.mod_revision, cmp.mod_revision
    elif target == pb.Compare.LEASE:
        a, b = kv.lease, cmp.lease
    else:
        a = b = 0  # etcd compares a target it does not know as equal
    result = cmp.result
    if result == pb.Compare.EQUAL:
        return a == b
    if result == pb.Compare.NOT_EQUAL:
        return a != b
    if result == pb.Compare.GREATER:
        return a > b
    if result == pb.Compare.LESS:
        return a < b
    return True  # and lets a result it does not know pass


def compare(conn, cmp: pb.Compare, head: int) -> bool:
    rows = range_rows(conn, KeyRange.of(cmp.key, cmp.range_end), head, head, 0)
    if not rows:
        # a missing key compares as an all-zero KeyValue, except that it never matches a value
        return cmp.target != pb.Compare.VALUE and _compare_one(cmp, kv_pb2.KeyValue())
    return all(_compare_one(cmp, _kv(r)) for r in rows)


def compare_path(conn, req: pb.TxnRequest, head: int) -> list[bool]:
    """Every compare of a txn and its nested txns, evaluated before any of its writes (as etcd does)."""
    ok = all(compare(conn, c, head) for c in req.compare)
    path = [ok]
    for op in req.success if ok else req.failure:
        if op.WhichOneof("request") == "request_txn":
            path.extend(compare_path(conn, op.request_txn, head))
    return path


def do_read_txn(conn, req: pb.TxnRequest, head: int, compact_rev: int) -> pb.TxnResponse:
    path = compare_path(conn, req, head)
    _check_ranges(req, iter(path), head, compact_rev)
    resp = pb.TxnResponse()
    _read_txn_into(conn, req, iter(path), resp, head, compact_rev)
    resp.header.revision = head
    return resp


def _read_txn_into(conn, req, path, resp: pb.TxnResponse, head: int, compact_rev: int) -> None:
    ok = next(path)
    resp.succeeded = ok
    for op in req.success if ok else req.failure:
        out = resp.responses.add()
        if op.WhichOneof("request") == "request_range":
            out.response_range.CopyFrom(do_range(conn, op.request_range, head, compact_rev))
        else:
            out.response_txn.header.SetInParent()
            _read_txn_into(conn, op.request_txn, path, out.response_txn, head, compact_rev)


def _check_ranges(req: pb.TxnRequest, path, head: int, compact_rev: int) -> None:
    ok = next(path)
    for op in req.success if ok else req.failure:
        kind = op.WhichOneof("request")
        if kind == "request_range":
            # etcd checks any non-zero revision here, negative ones too (against compact_rev, -1 when
            # nothing was compacted), although the range itself reads a negative revision as the head
            rev = op.request_range.revision
            if rev == 0:
                continue
            if rev > head:
                raise errors.FUTURE_REV
            if rev < compact_rev:
                raise errors.COMPACTED
        elif kind == "request_txn":
            _check_ranges(op.request_txn, path, head, compact_rev)


@dataclass
class Applied:
    """What one write request did: its revision (if it changed anything) and its events."""

    rev: int
    events: list[kv_pb2.Event] = field(default_factory=list)


class WriteTxn:
    """Applies one write request inside the writer's open SQLite transaction at revision begin+1."""

    def __init__(self, conn: sqlite3.Connection, begin_rev: int, compact_rev: int) -> None:
        self.conn = conn
        self.begin = begin_rev
        self.rev = begin_rev + 1
        self.compact_rev = compact_rev
        self.events: list[kv_pb2.Event] = []

    @property
    def changed(self) -> bool:
        return bool(self.events)

    def _current(self, key: bytes):
        return self.conn.execute(
            f"SELECT {_CURRENT_COLS}, c.id FROM current c JOIN log l ON l.id = c.id WHERE c.key = ?", (key,)
        ).fetchone()

    def _lease_exists(self, lease_id: int) -> bool:
        return self.conn.execute("SELECT 1 FROM lease WHERE id = ?", (lease_id,)).fetchone() is not None

    # -- checks against the state before the request, as etcd's applier does --

    def check_put(self, req: pb.PutRequest, *, in_txn: bool = False) -> None:
        # etcd's Put looks the lease up first, its txn check looks for the key first
        missing_key = (req.ignore_value or req.ignore_lease) and self._current(req.key) is None
        if in_txn and missing_key:
            raise errors.KEY_NOT_FOUND
        if req.lease and not self._lease_exists(req.lease):
            raise errors.LEASE_NOT_FOUND
        if missing_key:
            raise errors.KEY_NOT_FOUND

    def _check_txn(self, req: pb.TxnRequest, path) -> None:
        ok = next(path)
        for op in req.success if ok else req.failure:
            kind = op.WhichOneof("request")
            if kind == "request_put":
                self.check_put(op.request_put, in_txn=True)
            elif kind == "request_txn":
                self._check_txn(op.request_txn, path)

    # -- writes --

    def put(self, req: pb.PutRequest, cur: tuple | bool | None = False) -> pb.PutResponse:
        if cur is False:
            cur = self._current(req.key)
        value = cur[5] if req.ignore_value else req.value
        lease = cur[4] if req.ignore_lease else req.lease
        rev = self.rev
        if cur is None:
            create_rev, version, prev_id = rev, 1, None
        else:
            create_rev, version, prev_id = cur[1], cur[3] + 1, cur[6]
        new_id = self.conn.execute(
            "INSERT INTO log(rev, key, create_rev, version, lease, value, prev_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (rev, req.key, create_rev, version, lease, value, prev_id),
        ).lastrowid
        self.conn.execute(
            "INSERT OR REPLACE INTO current(key, id, create_rev, mod_rev, version, lease) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (req.key, new_id, create_rev, rev, version, lease),
        )
        kv = kv_pb2.KeyValue(
            key=req.key,
            create_revision=create_rev,
            mod_revision=rev,
            version=version,
            lease=lease,
            value=value,
        )
        event = kv_pb2.Event(type=kv_pb2.Event.PUT, kv=kv)
        resp = pb.PutResponse()
        resp.header.revision = rev
        if cur is not None:
            prev = _kv(cur)
            event.prev_kv.CopyFrom(prev)
            if req.prev_kv:
                resp.prev_kv.CopyFrom(prev)
        self.events.append(event)
        return resp

    def delete_range(self, req: pb.DeleteRangeRequest) -> pb.DeleteRangeResponse:
        where, args = KeyRange.of(req.key, req.range_end).sql("c.key")
        rows = self.conn.execute(
            f"SELECT {_CURRENT_COLS}, c.id FROM current c JOIN log l ON l.id = c.id "
            f"WHERE {where} ORDER BY c.key",
            args,
        ).fetchall()
        resp = pb.DeleteRangeResponse(deleted=len(rows))
        self.delete_rows(rows)
        resp.header.revision = self.rev if self.changed else self.begin
        if req.prev_kv:
            resp.prev_kvs.extend(_kv(r) for r in rows)
        return resp

    def delete_rows(self, rows: Iterable[tuple]) -> None:
        rev = self.rev
        for row in rows:
            key = row[0]
            prev_id: int | None = row[6]
            prev = row
            if row[2] == rev:
                # put earlier in this same revision: etcd's prev_kv is the key at rev - 1, i.e. what
                # that put replaced (nothing if the put created the key)
                prev = self.conn.execute(
                    f"SELECT {_LOG_COLS}, l.id FROM log c JOIN log l ON l.id = c.prev_id WHERE c.id = ?",
                    (row[6],),
                ).fetchone()
                prev_id = prev[6] if prev else None
            self.conn.execute(
                "INSERT INTO log(rev, key, create_rev, version, lease, value, prev_id) "
                "VALUES (?, ?, 0, 0, 0, ?, ?)",
                (rev, key, b"", prev_id),
            )
            self.conn.execute("DELETE FROM current WHERE key = ?", (key,))
            event = kv_pb2.Event(type=kv_pb2.Event.DELETE, kv=kv_pb2.KeyValue(key=key, mod_revision=rev))
            if prev is not None:
                event.prev_kv.CopyFrom(_kv(prev))
            self.events.append(event)

    def range(self, req: pb.RangeRequest) -> pb.RangeResponse:
        head = self.rev if self.changed else self.begin
        return do_range(self.conn, req, head, self.compact_rev)

    def txn(self, req: pb.TxnRequest) -> pb.TxnResponse:
        path = compare_path(self.conn, req, self.begin)
        self._check_txn(req, iter(path))
        _check_ranges(req, iter(path), self.begin, self.compact_rev)
        resp = pb.TxnResponse()
        self._apply_txn(req, iter(path), resp)
        resp.header.revision = self.rev if self.changed else self.begin
        return resp

    def kube_txn(self, req: pb.TxnRequest) -> pb.TxnResponse:
        """A txn of checks.kube_shape: one lookup of the key serves the compare, the write and the
        failure branch's read."""
        cmp = req.compare[0]
        cur = self._current(cmp.key)
        if cmp.target == pb.Compare.MOD:
            ok = (cur[2] if cur else 0) == cmp.mod_revision
        else:
            ok = (cur[3] if cur else 0) == cmp.version
        resp = pb.TxnResponse(succeeded=ok)
        if ok:
            op = req.success[0]
            out = resp.responses.add()
            if op.WhichOneof("request") == "request_put":
                put = op.request_put
                if put.lease and not self._lease_exists(put.lease):
                    raise errors.LEASE_NOT_FOUND
                out.response_put.CopyFrom(self.put(put, cur))
            else:
                rows = [cur] if cur else []
                deleted = out.response_delete_range
                deleted.deleted = len(rows)
                self.delete_rows(rows)
                deleted.header.revision = self.rev if self.changed else self.begin
                if op.request_delete_range.prev_kv:
                    deleted.prev_kvs.extend(_kv(r) for r in rows)
        elif req.failure:
            got = resp.responses.add().response_range
            got.header.revision = self.begin
            if cur:
                got.kvs.add(
                    key=cur[0],
                    create_revision=cur[1],
                    mod_revision=cur[2],
                    version=cur[3],
                    lease=cur[4],
                    value=cur[5],
                )
            got.count = len(got.kvs)
        resp.header.revision = self.rev if self.changed else self.begin
        return resp

    def _apply_txn(self, req: pb.TxnRequest, path, resp: pb.TxnResponse) -> None:
        ok = next(path)
        resp.succeeded = ok
        for op in req.success if ok else req.failure:
            out = resp.responses.add()
            kind = op.WhichOneof("request")
            if kind == "request_range":
                out.response_range.CopyFrom(self.range(op.request_range))
            elif kind == "request_put":
                out.response_put.CopyFrom(self.put(op.request_put))
            elif kind == "request_delete_range":
                out.response_delete_range.CopyFrom(self.delete_range(op.request_delete_range))
            else:
                out.response_txn.header.SetInParent()
                self._apply_txn(op.request_txn, path, out.response_txn)

    def revoke_lease(self, lease_id: int) -> None:
        rows = self.conn.execute(
            f"SELECT {_CURRENT_COLS}, c.id FROM current c JOIN log l ON l.id = c.id "
            "WHERE c.lease = ? ORDER BY c.key",
            (lease_id,),
        ).fetchall()
        self.delete_rows(rows)
        self.conn.execute("DELETE FROM lease WHERE id = ?", (lease_id,))


def lease_keys(conn, lease_id: int) -> list[bytes]:
    return [r[0] for r in conn.execute("SELECT key FROM current WHERE lease = ? ORDER BY key", (lease_id,))]


def compact_chunk(conn, compact_rev: int, lo: int, hi: int) -> int:
    """Physically drop what a compaction at compact_rev made unreachable, for the rows written in (lo, hi].

    Every row written in the chunk supersedes all older rows of its key, wherever they are (also below
    lo, written before an earlier compaction), and a tombstone in the chunk is unreachable itself.
    """
    hi = min(hi, compact_rev)
    superseded = conn.execute(
        "DELETE FROM log WHERE id IN (SELECT o.id FROM "
        "(SELECT key, MAX(id) AS top FROM log WHERE rev > ? AND rev <= ? GROUP BY key) n "
        "JOIN log o ON o.key = n.key AND o.id < n.top)",
        (lo, hi),
    ).rowcount
    tombstones = conn.execute("DELETE FROM log WHERE rev > ? AND rev <= ? AND version = 0", (lo, hi)).rowcount
    return superseded + tombstones


def history(conn, lo: int, hi: int, kr: KeyRange | None, compact_rev: int) -> list[kv_pb2.Event]:
    """Events with revisions in [lo, hi], in commit order, each with its prev_kv where it still exists."""
    where, args = ("1", ()) if kr is None else kr.sql("l.key")
    rows = conn.execute(
        f"SELECT {_LOG_COLS}, p.key, p.create_rev, p.rev, p.version, p.lease, p.value "
        f"FROM log l LEFT JOIN log p ON p.id = l.prev_id "
        f"WHERE l.rev >= ? AND l.rev <= ? AND {where} ORDER BY l.id",
        (lo, hi, *args),
    ).fetchall()
    events = []
    for row in rows:
        if row[3] == 0:
            ev = kv_pb2.Event(type=kv_pb2.Event.DELETE, kv=kv_pb2.KeyValue(key=row[0], mod_revision=row[2]))
        else:
            ev = kv_pb2.Event(type=kv_pb2.Event.PUT, kv=_kv(row))
        # etcd reads prev_kv at rev-1, which fails once that revision is compacted
        if row[6] is not None and row[2] - 1 >= compact_rev:
            ev.prev_kv.CopyFrom(_kv(row[6:]))
        events.append(ev)
    return events
