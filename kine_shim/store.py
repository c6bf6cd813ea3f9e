"""The embedded datastore: etcd v3 semantics over the SQLite revision log, as a Python interface.

Requests and responses are the etcd protobuf messages themselves, so the gRPC servicers and an
in-process client share one implementation. All writes go through one writer thread that groups
whatever is queued into a single SQLite transaction (group commit); each request still gets its own
revision. Reads run on a small pool of reader threads against WAL snapshots.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import sqlite3
import tempfile
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kine_shim import checks, errors, mvcc
from kine_shim.etcdpb import rpc_pb2 as pb
from kine_shim.keys import KeyRange
from kine_shim.leases import MAX_LEASE_TTL, MIN_LEASE_TTL, Lessor
from kine_shim.watch import WatchHub, WatchStream

log = logging.getLogger(__name__)

MAX_BATCH = 512
COMPACT_CHUNK_REVISIONS = 1000
SNAPSHOT_CHUNK = 32 * 1024


@dataclass
class StoreConfig:
    db_path: Path
    # FULL: an acknowledged write survives power loss (one fsync per group commit).
    # NORMAL: survives a crash of the process, may lose the newest commits on power loss.
    synchronous: str = "FULL"
    progress_notify_interval: float = 5.0
    compact_interval: float = 300.0
    compact_keep: int = 1000
    checkpoint_interval: float = 60.0
    lease_check_interval: float = 0.5
    emulated_version: str = "3.5.16"
    max_txn_ops: int = checks.MAX_TXN_OPS
    max_request_bytes: int = checks.MAX_REQUEST_BYTES
    reader_threads: int = 2
    # kube-apiserver's txn shapes skip the general txn machinery (same answers; off only to compare)
    txn_fast_path: bool = True
    client_urls: list[str] = field(default_factory=list)
    name: str = "default"


@dataclass(slots=True)
class _WriteOp:
    apply: Callable[[mvcc.WriteTxn], Any]
    future: asyncio.Future
    # runs on the event loop after the batch holding this op committed
    after_commit: Callable[[Any], None] | None = None


class Store:
    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self.hub = WatchHub()
        self.lessor = Lessor()
        # published head revision: every event up to it has been handed to the watch hub
        self.rev = 1
        self.compact_rev = 0
        self.cluster_id = 0
        self.member_id = 0
        self.raft_term = 1
        self._queue: asyncio.Queue[_WriteOp] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._writer_exec = ThreadPoolExecutor(1, thread_name_prefix="kine-writer")
        self._reader_exec = ThreadPoolExecutor(config.reader_threads, thread_name_prefix="kine-reader")
        self._local = threading.local()
        self._wconn: sqlite3.Connection | None = None
        # read connection used directly on the event loop for single-key reads
        self._inline_conn: sqlite3.Connection | None = None
        self._reader_conns: list[sqlite3.Connection] = []
        # writer-thread view of the head and compacted revisions (ahead of self.rev while committing)
        self._wrev = 1
        self._wcompact = 0
        self._compact_done = 0
        self._compact_waiters: list[tuple[int, asyncio.Future]] = []
        self._compact_wakeup = asyncio.Event()
        self._closed = False
        # group-commit accounting: write requests and the SQLite transactions that carried them
        self.stats = {"writes": 0, "commits": 0, "fast_txns": 0}

    # -- lifecycle --

    async def start(self) -> None:
        self.config.db_path.parent.mkdir(parents=True, exist_ok=True)
        # a snapshot in progress when the process died leaves its temporary copy behind
        for stale in self.config.db_path.parent.glob("snapshot-*.db"):
            stale.unlink(missing_ok=True)
        meta, leases = await self._in_writer(self._open_writer)
        self.rev = self._wrev = meta["rev"]
        self.compact_rev = self._wcompact = meta["compact_rev"]
        self._compact_done = meta.get("compact_done", 0)
        self.cluster_id, self.member_id = meta["cluster_id"], meta["member_id"]
        self.raft_term = meta.get("term", 1)
        # like an etcd member that becomes leader, every lease starts a full TTL again
        for lease_id, ttl in leases:
            self.lessor.add(lease_id, ttl)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._writer_loop(), name="kine-writer"),
            loop.create_task(self._lease_loop(), name="kine-leases"),
            loop.create_task(self._compactor_loop(), name="kine-compactor"),
            loop.create_task(self._maintenance_loop(), name="kine-maintenance"),
        ]
        if self._compact_done < self.compact_rev:
            self._compact_wakeup.set()
        log.info("datastore open", extra={"path": str(self.config.db_path), "revision": self.rev})

    def _open_writer(self):
        conn = mvcc.connect(str(self.config.db_path), synchronous=self.config.synchronous)
        ids = (secrets.randbits(63), secrets.randbits(63))
        mvcc.init_schema(conn, ids)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT OR IGNORE INTO meta(name, value) VALUES ('term', 1), ('compact_done', 0)")
        # each start is a new leader term, as after an etcd restart
        conn.execute("UPDATE meta SET value = value + 1 WHERE name = 'term'")
        conn.execute("COMMIT")
        self._wconn = conn
        return mvcc.read_meta(conn), conn.execute("SELECT id, ttl FROM lease").fetchall()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        while not self._queue.empty():
            op = self._queue.get_nowait()
            if not op.future.done():
                op.future.set_exception(errors.STOPPED)
        if self._inline_conn is not None:
            self._inline_conn.close()
        await self._in_writer(self._close_writer)
        self._writer_exec.shutdown(wait=True)
        self._reader_exec.shutdown(wait=True)
        for conn in self._reader_conns:
            conn.close()
        self._reader_conns.clear()

    def _close_writer(self) -> None:
        if self._wconn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._wconn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._wconn.close()
            self._wconn = None

    async def __aenter__(self) -> Store:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # -- headers --

    def header(self, rev: int | None = None) -> pb.ResponseHeader:
        return pb.ResponseHeader(
            cluster_id=self.cluster_id,
            member_id=self.member_id,
            revision=self.rev if rev is None else rev,
            raft_term=self.raft_term,
        )

    def fill_header(self, resp):
        h = resp.header
        h.cluster_id = self.cluster_id
        h.member_id = self.member_id
        h.raft_term = self.raft_term
        if not h.revision:
            h.revision = self.rev
        return resp

    # -- threads --

    async def _in_writer(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._writer_exec, fn, *args)

    async def _read(self, fn, *args):
        if self._closed:
            raise errors.STOPPED
        return await asyncio.get_running_loop().run_in_executor(
            self._reader_exec, self._read_snapshot, fn, args
        )

    def _read_inline(self, fn, *args):
        if self._closed:
            raise errors.STOPPED
        if self._inline_conn is None:
            self._inline_conn = mvcc.connect(
                str(self.config.db_path), synchronous=self.config.synchronous, readonly=True
            )
        return self._snapshot_call(self._inline_conn, fn, args)

    def _read_snapshot(self, fn, args):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = mvcc.connect(str(self.config.db_path), synchronous=self.config.synchronous, readonly=True)
            self._local.conn = conn
            self._reader_conns.append(conn)
        return self._snapshot_call(conn, fn, args)

    @staticmethod
    def _snapshot_call(conn: sqlite3.Connection, fn, args):
        conn.execute("BEGIN")
        try:
            meta = dict(conn.execute("SELECT name, value FROM meta WHERE name IN ('rev', 'compact_rev')"))
            return fn(conn, *args, meta["rev"], meta["compact_rev"])
        finally:
            conn.execute("COMMIT")

    async def _write(self, apply, after_commit=None):
        if self._closed:
            raise errors.STOPPED
        fut = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_WriteOp(apply, fut, after_commit))
        return await fut

    async def _writer_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                results, applied = await loop.run_in_executor(self._writer_exec, self._apply_batch, batch)
            except Exception as exc:
                log.error("commit failed", exc_info=exc)
                failure = errors.EtcdError(errors.STOPPED.code, f"etcdserver: commit failed: {exc}")
                for op in batch:
                    if not op.future.done():
                        op.future.set_exception(failure)
                continue
            self.stats["writes"] += len(batch)
            self.stats["commits"] += 1
            for rev, events in applied:
                self.hub.publish(rev, events, self.header)
                self.rev = rev
            self.compact_rev = self._wcompact
            for op, result in zip(batch, results, strict=True):
                if isinstance(result, BaseException):
                    if not op.future.done():
                        op.future.set_exception(result)
                    continue
                if op.after_commit is not None:
                    op.after_commit(result)
                if not op.future.done():
                    op.future.set_result(result)

    def _apply_batch(self, batch: list[_WriteOp]):
        conn = self._wconn
        saved = (self._wrev, self._wcompact)
        results: list[Any] = []
        applied: list[tuple[int, list]] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for op in batch:
                conn.execute("SAVEPOINT op")
                w = mvcc.WriteTxn(conn, self._wrev, self._wcompact)
                try:
                    result = op.apply(w)
                except errors.EtcdError as exc:
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    results.append(exc)
                    continue
                except Exception as exc:
                    log.exception("write failed")
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    results.append(errors.EtcdError(errors.STOPPED.code, f"etcdserver: {exc}"))
                    continue
                conn.execute("RELEASE op")
                if w.changed:
                    self._wrev = w.rev
                    applied.append((w.rev, w.events))
                results.append(result)
            conn.execute("UPDATE meta SET value = ? WHERE name = 'rev'", (self._wrev,))
            conn.execute("COMMIT")
        except BaseException:
            self._wrev, self._wcompact = saved
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        return results, applied

    # -- KV --

    def _check_size(self, req) -> None:
        if checks.raft_request_size(req) > self.config.max_request_bytes:
            raise errors.REQUEST_TOO_LARGE

    async def range(self, req: pb.RangeRequest) -> pb.RangeResponse:
        checks.check_range(req)
        if not req.range_end:
            # one key costs tens of microseconds: cheaper on the loop than a hop to a reader thread
            return self.fill_header(self._read_inline(mvcc.do_range, req))
        return self.fill_header(await self._read(mvcc.do_range, req))

    async def put(self, req: pb.PutRequest) -> pb.PutResponse:
        checks.check_put(req)
        self._check_size(req)

        def apply(w: mvcc.WriteTxn):
            w.check_put(req)
            return w.put(req)

        return self.fill_header(await self._write(apply))

    async def delete_range(self, req: pb.DeleteRangeRequest) -> pb.DeleteRangeResponse:
        checks.check_delete(req)
        self._check_size(req)
        return self.fill_header(await self._write(lambda w: w.delete_range(req)))

    async def txn(self, req: pb.TxnRequest) -> pb.TxnResponse:
        if self.config.txn_fast_path and checks.kube_shape(req):
            op = req.success[0]
            if op.WhichOneof("request") == "request_put":
                checks.check_put(op.request_put)
            elif not op.request_delete_range.key:
                raise errors.EMPTY_KEY
            self._check_size(req)
            self.stats["fast_txns"] += 1
            return self.fill_header(await self._write(lambda w: w.kube_txn(req)))
        checks.check_txn(req, self.config.max_txn_ops)
        if checks.is_read_only(req):
            return self.fill_header(await self._read(mvcc.do_read_txn, req))
        self._check_size(req)
        return self.fill_header(await self._write(lambda w: w.txn(req)))

    async def compact(self, req: pb.CompactionRequest) -> pb.CompactionResponse:
        target = req.revision

        def apply(w: mvcc.WriteTxn):
            if target <= self._wcompact:
                raise errors.COMPACTED
            if target > w.begin:
                raise errors.FUTURE_REV
            w.conn.execute("UPDATE meta SET value = ? WHERE name = 'compact_rev'", (target,))
            self._wcompact = target
            resp = pb.CompactionResponse()
            resp.header.revision = w.begin
            return resp

        resp = await self._write(apply)
        self._compact_wakeup.set()
        if req.physical:
            fut = asyncio.get_running_loop().create_future()
            self._compact_waiters.append((target, fut))
            await fut
        return self.fill_header(resp)

    async def history(self, lo: int, hi: int, key_range: KeyRange | None):
        """Events in revisions [lo, hi]; raises COMPACTED if lo is below the compacted revision."""

        def read(conn, head, compact_rev):
            if lo < compact_rev:
                raise errors.COMPACTED
            return mvcc.history(conn, lo, hi, key_range, compact_rev)

        return await self._read(lambda conn, head, compact: read(conn, head, compact))

    def watch_stream(self) -> WatchStream:
        return WatchStream(self)

    # -- leases --

    async def lease_grant(self, req: pb.LeaseGrantRequest) -> pb.LeaseGrantResponse:
        if req.TTL > MAX_LEASE_TTL:
            raise errors.LEASE_TTL_TOO_LARGE
        ttl = max(req.TTL, MIN_LEASE_TTL)
        lease_id = req.ID

        def apply(w: mvcc.WriteTxn):
            nonlocal lease_id
            if lease_id == 0:
                while True:
                    lease_id = secrets.randbits(62) + 1
                    if w.conn.execute("SELECT 1 FROM lease WHERE id = ?", (lease_id,)).fetchone() is None:
                        break
            elif w.conn.execute("SELECT 1 FROM lease WHERE id = ?", (lease_id,)).fetchone() is not None:
                raise errors.LEASE_EXISTS
            w.conn.execute("INSERT INTO lease(id, ttl) VALUES (?, ?)", (lease_id, ttl))
            resp = pb.LeaseGrantResponse(ID=lease_id, TTL=ttl)
            resp.header.revision = w.begin
            return resp

        return self.fill_header(await self._write(apply, lambda r: self.lessor.add(r.ID, r.TTL)))

    async def lease_revoke(self, req: pb.LeaseRevokeRequest) -> pb.LeaseRevokeResponse:
        lease_id = req.ID

        def apply(w: mvcc.WriteTxn):
            if w.conn.execute("SELECT 1 FROM lease WHERE id = ?", (lease_id,)).fetchone() is None:
                raise errors.LEASE_NOT_FOUND
            w.revoke_lease(lease_id)
            resp = pb.LeaseRevokeResponse()
            resp.header.revision = w.rev if w.changed else w.begin
            return resp

        return self.fill_header(await self._write(apply, lambda _: self.lessor.remove(lease_id)))

    def lease_keep_alive(self, lease_id: int) -> pb.LeaseKeepAliveResponse:
        return self.fill_header(pb.LeaseKeepAliveResponse(ID=lease_id, TTL=self.lessor.renew(lease_id)))

    async def lease_time_to_live(self, req: pb.LeaseTimeToLiveRequest) -> pb.LeaseTimeToLiveResponse:
        lease = self.lessor.live(req.ID)
        if lease is None:
            return self.fill_header(pb.LeaseTimeToLiveResponse(ID=req.ID, TTL=-1))
        resp = pb.LeaseTimeToLiveResponse(
            ID=req.ID, TTL=int(lease.remaining(self.lessor.clock())), grantedTTL=lease.ttl
        )
        if req.keys:
            resp.keys.extend(await self._read(lambda conn, head, compact: mvcc.lease_keys(conn, req.ID)))
        return self.fill_header(resp)

    def lease_leases(self) -> pb.LeaseLeasesResponse:
        resp = pb.LeaseLeasesResponse()
        for lease_id in sorted(self.lessor.leases):
            resp.leases.add(ID=lease_id)
        return self.fill_header(resp)

    async def _lease_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.lease_check_interval)
            for lease in self.lessor.expired():
                lease.revoking = True
                asyncio.get_running_loop().create_task(self._expire(lease.id))

    async def _expire(self, lease_id: int) -> None:
        try:
            await self.lease_revoke(pb.LeaseRevokeRequest(ID=lease_id))
        except errors.EtcdError as exc:
            if exc is errors.LEASE_NOT_FOUND:
                self.lessor.remove(lease_id)
            else:
                lease = self.lessor.leases.get(lease_id)
                if lease is not None:
                    lease.revoking = False

    # -- compaction and maintenance --

    async def _compactor_loop(self) -> None:
        """Physically removes what logical compactions made unreachable, a chunk per write batch."""
        while True:
            await self._compact_wakeup.wait()
            self._compact_wakeup.clear()
            while self._compact_done < self._wcompact:
                target = self._wcompact
                lo = self._compact_done
                hi = min(target, lo + COMPACT_CHUNK_REVISIONS)

                def apply(w: mvcc.WriteTxn, lo=lo, hi=hi, target=target):
                    mvcc.compact_chunk(w.conn, target, lo, hi)
                    w.conn.execute("UPDATE meta SET value = ? WHERE name = 'compact_done'", (hi,))

                await self._write(apply)
                self._compact_done = hi
            for target, fut in list(self._compact_waiters):
                if target <= self._compact_done and not fut.done():
                    fut.set_result(None)
            self._compact_waiters = [(t, f) for t, f in self._compact_waiters if not f.done()]

    async def _maintenance_loop(self) -> None:
        """Automatic compaction (like kine: keep the newest revisions) and WAL checkpoints."""
        last_compact = last_checkpoint = time.monotonic()
        while True:
            periods = [x for x in (self.config.compact_interval, self.config.checkpoint_interval) if x > 0]
            await asyncio.sleep(min([*periods, 5.0]))
            now = time.monotonic()
            if self.config.compact_interval > 0 and now - last_compact >= self.config.compact_interval:
                last_compact = now
                target = self.rev - self.config.compact_keep
                if target > self.compact_rev:
                    with contextlib.suppress(errors.EtcdError):
                        await self.compact(pb.CompactionRequest(revision=target))
            if (
                self.config.checkpoint_interval > 0
                and now - last_checkpoint >= self.config.checkpoint_interval
            ):
                last_checkpoint = now
                await self._in_writer(self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            self._wconn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            log.warning("wal checkpoint failed: %s", exc)

    async def status(self) -> pb.StatusResponse:
        def read(conn, head, compact):
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            free = conn.execute("PRAGMA freelist_count").fetchone()[0]
            return page_size * pages, page_size * (pages - free)

        size, in_use = await self._read(read)
        return self.fill_header(
            pb.StatusResponse(
                version=self.config.emulated_version,
                dbSize=size,
                leader=self.member_id,
                raftIndex=self.rev,
                raftTerm=self.raft_term,
                raftAppliedIndex=self.rev,
                dbSizeInUse=in_use,
            )
        )

    async def hash_kv(self, req: pb.HashKVRequest) -> pb.HashKVResponse:
        def read(conn, head, compact):
            rev = req.revision or head
            if rev > head:
                raise errors.FUTURE_REV
            if rev < compact:
                raise errors.COMPACTED
            crc = 0
            for row in conn.execute(
                "SELECT rev, key, create_rev, version, lease, value FROM log WHERE rev <= ? ORDER BY id",
                (rev,),
            ):
                crc = zlib.crc32(repr(row[:5]).encode() + row[5], crc)
            return crc, compact

        crc, compact = await self._read(read)
        return self.fill_header(pb.HashKVResponse(hash=crc, compact_revision=compact))

    async def defragment(self) -> pb.DefragmentResponse:
        """VACUUM rewrites the whole file; writes wait behind it (seconds for a large database)."""

        def vacuum():
            self._wconn.execute("VACUUM")
            self._wconn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

        await self._in_writer(vacuum)
        return self.fill_header(pb.DefragmentResponse())

    async def snapshot(self) -> AsyncIterator[pb.SnapshotResponse]:
        """A consistent copy of the database, streamed, followed by its sha256 (as etcd appends one)."""
        fd, tmp = tempfile.mkstemp(prefix="snapshot-", suffix=".db", dir=self.config.db_path.parent)
        os.close(fd)
        try:

            def backup(conn, head, compact):
                conn.execute("COMMIT")
                try:
                    dst = sqlite3.connect(tmp)
                    with dst:
                        conn.backup(dst)
                    dst.close()
                finally:
                    conn.execute("BEGIN")
                return head

            rev = await self._read(backup)
            total = os.path.getsize(tmp)  # noqa: ASYNC240 - a stat of a local file
            digest = hashlib.sha256()
            sent = 0
            with open(tmp, "rb") as f:  # noqa: ASYNC230 - local file, read in small chunks
                while True:
                    blob = f.read(SNAPSHOT_CHUNK)
                    if not blob:
                        break
                    digest.update(blob)
                    sent += len(blob)
                    resp = pb.SnapshotResponse(remaining_bytes=total - sent + 32, blob=blob)
                    if sent == len(blob):
                        resp.header.CopyFrom(self.header(rev))
                    yield resp
            yield pb.SnapshotResponse(remaining_bytes=0, blob=digest.digest())
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
