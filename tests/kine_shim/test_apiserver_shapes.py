"""The exact request shapes kube-apiserver's etcd3 storage sends, and the answers it relies on.

Every scenario runs against our datastore as a process (gRPC on loopback) and against the embedded
Store (no network). The KV, lease and watch scenarios that etcd 3.4 answers the same way also run
against a real etcd, so the expectations here are etcd's and not just ours.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from kine_shim.client import Datastore, EmbeddedDatastore, RemoteDatastore
from kine_shim.errors import Code, EtcdError
from kine_shim.etcdpb import kv_pb2, rpc_pb2_grpc
from kine_shim.etcdpb import rpc_pb2 as pb
from kine_shim.keys import prefix_end
from kine_shim.store import Store, StoreConfig
from tests.support import Server, etcd_argv, shim_argv

RPC_TIMEOUT = 10.0
# seconds between the datastore's watch progress notifications in these tests
PROGRESS_INTERVAL = 0.5
COMPACT_REV_KEY = b"compact_rev_key"
PUT = kv_pb2.Event.PUT
DELETE = kv_pb2.Event.DELETE


# -- the requests, built the way k8s.io/apiserver/pkg/storage/etcd3 builds them --


def mod_rev_is(key: bytes, rev: int) -> pb.Compare:
    return pb.Compare(key=key, target=pb.Compare.MOD, result=pb.Compare.EQUAL, mod_revision=rev)


def op_put(key: bytes, value: bytes, lease: int = 0) -> pb.RequestOp:
    return pb.RequestOp(request_put=pb.PutRequest(key=key, value=value, lease=lease))


def op_get(key: bytes) -> pb.RequestOp:
    return pb.RequestOp(request_range=pb.RangeRequest(key=key))


def kube_create(key: bytes, value: bytes, lease: int = 0) -> pb.TxnRequest:
    """store.Create: If(ModRevision(key) == 0).Then(OpPut(key, data, lease)) with no Else."""
    return pb.TxnRequest(compare=[mod_rev_is(key, 0)], success=[op_put(key, value, lease)])


def kube_update(key: bytes, value: bytes, rev: int) -> pb.TxnRequest:
    """store.GuaranteedUpdate: If(ModRevision(key) == rev).Then(OpPut).Else(OpGet(key))."""
    return pb.TxnRequest(compare=[mod_rev_is(key, rev)], success=[op_put(key, value)], failure=[op_get(key)])


def kube_delete(key: bytes, rev: int) -> pb.TxnRequest:
    """store.conditionalDelete: If(ModRevision(key) == rev).Then(OpDelete(key)).Else(OpGet(key))."""
    delete = pb.RequestOp(request_delete_range=pb.DeleteRangeRequest(key=key))
    return pb.TxnRequest(compare=[mod_rev_is(key, rev)], success=[delete], failure=[op_get(key)])


def kube_compact_txn(t: int, rev: int) -> pb.TxnRequest:
    """The compactor's lock: If(Version(compact_rev_key) == t).Then(OpPut(key, rev)).Else(OpGet(key))."""
    return pb.TxnRequest(
        compare=[
            pb.Compare(key=COMPACT_REV_KEY, target=pb.Compare.VERSION, result=pb.Compare.EQUAL, version=t)
        ],
        success=[op_put(COMPACT_REV_KEY, str(rev).encode())],
        failure=[op_get(COMPACT_REV_KEY)],
    )


# -- one interface over a gRPC endpoint (ours or etcd) and the embedded Store --


class Watch:
    def __init__(
        self,
        send: Callable[[pb.WatchRequest], Awaitable[None]],
        recv: Callable[[], Awaitable[pb.WatchResponse | None]],
        close: Callable[[], None],
    ) -> None:
        self._send, self._recv, self._close = send, recv, close

    async def send(self, req: pb.WatchRequest) -> None:
        await self._send(req)

    async def next(self, seconds: float = 5.0) -> pb.WatchResponse:
        resp = await asyncio.wait_for(self._recv(), seconds)
        assert resp is not None, "watch stream ended"
        return resp

    def close(self) -> None:
        self._close()


class Backend:
    """The Datastore under test (kine_shim.client, as the API server uses it) plus raw watch streams:
    the watch scenarios send their own requests and look at `created` and progress responses."""

    def __init__(
        self, name: str, ds: Datastore, open_watch: Callable[[], Watch], close: Callable[[], Awaitable[None]]
    ) -> None:
        self.name = name
        self.ds = ds
        self._open_watch = open_watch
        self._close = close

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.ds, attr)

    async def watch(self) -> Watch:
        return self._open_watch()

    async def close(self) -> None:
        await self.ds.close()
        await self._close()


def embedded_backend(store: Store) -> Backend:
    def open_watch() -> Watch:
        stream = store.watch_stream()
        return Watch(stream.handle, stream.next_response, stream.close)

    return Backend("embedded", EmbeddedDatastore(store), open_watch, store.close)


def grpc_backend(name: str, endpoint: str) -> Backend:
    channel = grpc.aio.insecure_channel(endpoint)
    stub = rpc_pb2_grpc.WatchStub(channel)

    def open_watch() -> Watch:
        call = stub.Watch(timeout=60.0)

        async def recv() -> pb.WatchResponse | None:
            resp = await call.read()
            return None if resp is grpc.aio.EOF else resp

        return Watch(call.write, recv, call.cancel)

    return Backend(name, RemoteDatastore(endpoint, timeout=RPC_TIMEOUT), open_watch, channel.close)


SHIM = pytest.param("shim", marks=pytest.mark.e2e)
EMBEDDED = "embedded"
ETCD = pytest.param("etcd", marks=[pytest.mark.e2e, pytest.mark.oracle])
ALL = [SHIM, EMBEDDED, ETCD]
OURS = [SHIM, EMBEDDED]


@pytest.fixture
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    kind: str = request.param
    if kind == "embedded":
        store = Store(
            StoreConfig(db_path=tmp_path / "db" / "state.db", progress_notify_interval=PROGRESS_INTERVAL)
        )
        await store.start()
        b = embedded_backend(store)
        try:
            yield b
        finally:
            await b.close()
        return
    if kind == "shim":
        argv = shim_argv("--progress-notify-interval", str(PROGRESS_INTERVAL))
    else:
        argv = etcd_argv(
            "--experimental-watch-progress-notify-interval", f"{int(PROGRESS_INTERVAL * 1000)}ms"
        )
    server = Server(tmp_path / kind, argv, tmp_path / f"{kind}.log").start()
    b = grpc_backend(kind, server.endpoint)
    try:
        yield b
    finally:
        await b.close()
        server.stop()


async def error_of(call: Awaitable[Any]) -> tuple[Code, str]:
    """The (code, message) a call fails with, the same way for gRPC and the embedded Store."""
    try:
        await call
    except EtcdError as exc:
        return exc.code, exc.message
    raise AssertionError("the call succeeded")


async def get(b: Backend, key: bytes, rev: int = 0) -> kv_pb2.KeyValue | None:
    resp = await b.range(pb.RangeRequest(key=key, revision=rev))
    assert resp.count == len(resp.kvs) <= 1
    return resp.kvs[0] if resp.kvs else None


async def head(b: Backend) -> int:
    return (await b.range(pb.RangeRequest(key=b"/registry/health"))).header.revision


async def put(b: Backend, key: bytes, value: bytes, lease: int = 0) -> int:
    resp = await b.txn(pb.TxnRequest(success=[op_put(key, value, lease)]))
    return resp.header.revision


async def next_matching(
    w: Watch,
    want: Callable[[pb.WatchResponse], bool],
    seconds: float,
    skip: Callable[[pb.WatchResponse], bool],
) -> pb.WatchResponse:
    """The next response that `want` accepts; responses that `skip` accepts are passed over, others fail."""
    deadline = time.monotonic() + seconds
    for _ in range(10_000):
        left = deadline - time.monotonic()
        assert left > 0, "timed out waiting for a watch response"
        resp = await w.next(left)
        if want(resp):
            return resp
        assert skip(resp), f"unexpected watch response {resp}"
    raise AssertionError("too many watch responses")


def never(resp: pb.WatchResponse) -> bool:
    return False


# how long to wait for a progress notification: several intervals, for a loaded machine
PATIENCE = 10 * PROGRESS_INTERVAL + 5


def is_progress(resp: pb.WatchResponse) -> bool:
    return not resp.events and not resp.created and not resp.canceled


async def collect_events(w: Watch, count: int, seconds: float = 10.0) -> list[pb.WatchResponse]:
    """Responses until `count` events arrived (progress notifications in between are skipped)."""
    got: list[pb.WatchResponse] = []
    n = 0
    deadline = time.monotonic() + seconds
    for _ in range(count + 1000):
        if n >= count:
            break
        left = deadline - time.monotonic()
        assert left > 0, f"timed out after {n} of {count} events"
        resp = await w.next(left)
        assert not resp.canceled, resp
        if resp.events:
            got.append(resp)
            n += len(resp.events)
    assert n == count, f"{n} events, expected {count}"
    return got


async def create_watch(b: Backend, req: pb.WatchCreateRequest) -> tuple[Watch, int]:
    w = await b.watch()
    await w.send(pb.WatchRequest(create_request=req))
    created = await w.next()
    assert created.created and not created.canceled, created
    return w, created.watch_id


# -- create / update / delete --


@pytest.mark.parametrize("backend", ALL, indirect=True)
async def test_create_then_duplicate_create(backend: Backend) -> None:
    key = b"/registry/configmaps/default/cm-1"
    before = await head(backend)

    resp = await backend.txn(kube_create(key, b"v1"))
    assert resp.succeeded
    rev = resp.header.revision
    assert rev == before + 1
    # kube-apiserver reads the new resourceVersion from the put's own header
    assert len(resp.responses) == 1
    assert resp.responses[0].WhichOneof("response") == "response_put"
    assert resp.responses[0].response_put.HasField("header")
    assert resp.responses[0].response_put.header.revision == rev
    kv = await get(backend, key)
    assert kv is not None
    assert (kv.value, kv.create_revision, kv.mod_revision, kv.version, kv.lease) == (b"v1", rev, rev, 1, 0)

    again = await backend.txn(kube_create(key, b"v2"))
    assert not again.succeeded
    assert len(again.responses) == 0  # no Else branch: kube-apiserver turns this into AlreadyExists
    assert again.header.revision == rev
    assert await get(backend, key) == kv
    assert await head(backend) == rev


@pytest.mark.parametrize("backend", ALL, indirect=True)
async def test_update_succeeds_then_conflicts(backend: Backend) -> None:
    key = b"/registry/deployments/default/web"
    created = (await backend.txn(kube_create(key, b"v1"))).header.revision

    resp = await backend.txn(kube_update(key, b"v2", created))
    assert resp.succeeded
    rev2 = resp.header.revision
    assert rev2 == created + 1
    assert resp.responses[0].response_put.header.revision == rev2
    kv = await get(backend, key)
    assert kv is not None
    assert (kv.value, kv.create_revision, kv.mod_revision, kv.version) == (b"v2", created, rev2, 2)

    # a writer that read the object at `created` loses, and gets the current object to retry with
    stale = await backend.txn(kube_update(key, b"v3-stale", created))
    assert not stale.succeeded
    assert stale.header.revision == rev2
    assert len(stale.responses) == 1
    got = stale.responses[0].response_range
    assert got.HasField("header")
    assert got.header.revision == rev2
    assert got.count == 1 and not got.more
    assert list(got.kvs) == [kv]

    retry = await backend.txn(kube_update(key, b"v3", got.kvs[0].mod_revision))
    assert retry.succeeded and retry.header.revision == rev2 + 1
    kv3 = await get(backend, key)
    assert kv3 is not None and (kv3.value, kv3.version, kv3.mod_revision) == (b"v3", 3, rev2 + 1)


@pytest.mark.parametrize("backend", ALL, indirect=True)
async def test_delete_conflicts_then_succeeds(backend: Backend) -> None:
    key = b"/registry/pods/default/p-1"
    other = b"/registry/pods/default/p-2"
    created = (await backend.txn(kube_create(key, b"v1"))).header.revision
    updated = (await backend.txn(kube_update(key, b"v2", created))).header.revision
    await backend.txn(kube_create(other, b"o"))
    current = await get(backend, key)
    rev = await head(backend)

    stale = await backend.txn(kube_delete(key, created))
    assert not stale.succeeded
    assert stale.header.revision == rev
    assert list(stale.responses[0].response_range.kvs) == [current]

    resp = await backend.txn(kube_delete(key, updated))
    assert resp.succeeded
    assert resp.header.revision == rev + 1
    deleted = resp.responses[0].response_delete_range
    # kube-apiserver refuses a DeleteRange response without a header
    assert deleted.HasField("header") and deleted.header.revision == rev + 1
    assert deleted.deleted == 1
    assert await get(backend, key) is None
    assert await get(backend, key, rev) == current
    assert (await get(backend, other)) is not None

    # deleting what is already gone: the precondition fails and the Else branch finds nothing
    gone = await backend.txn(kube_delete(key, updated))
    assert not gone.succeeded
    assert gone.header.revision == rev + 1
    assert gone.responses[0].response_range.count == 0
    assert list(gone.responses[0].response_range.kvs) == []


# -- the compactor --


async def kube_compact(b: Backend, t: int, rev: int) -> tuple[int, int, bool]:
    """k8s.io/apiserver/pkg/storage/etcd3.compact, step by step. Returns (time, rev, compacted)."""
    resp = await b.txn(kube_compact_txn(t, rev))
    cur_rev = resp.header.revision
    if not resp.succeeded:
        return resp.responses[0].response_range.kvs[0].version, cur_rev, False
    if rev == 0:
        return t + 1, cur_rev, False
    await b.compact(pb.CompactionRequest(revision=rev))
    return t + 1, cur_rev, True


@pytest.mark.parametrize("backend", ALL, indirect=True)
async def test_compactor_lock_and_compact(backend: Backend) -> None:
    key = b"/registry/events/default/e-1"
    for i in range(5):
        await put(backend, key, b"v%d" % i)

    # first interval: nothing compacted yet, the lock key is created
    t, rev1, compacted = await kube_compact(backend, 0, 0)
    assert (t, compacted) == (1, False)
    lock = await get(backend, COMPACT_REV_KEY)
    assert lock is not None and (lock.value, lock.version, lock.mod_revision) == (b"0", 1, rev1)
    assert rev1 == await head(backend)

    for i in range(5, 10):
        await put(backend, key, b"v%d" % i)
    # second interval: compacts at the revision remembered from the first
    t, rev2, compacted = await kube_compact(backend, t, rev1)
    assert (t, compacted) == (2, True)
    lock = await get(backend, COMPACT_REV_KEY)
    assert lock is not None and (lock.value, lock.version) == (str(rev1).encode(), 2)
    assert await error_of(backend.range(pb.RangeRequest(key=key, revision=rev1 - 1))) == (
        Code.OUT_OF_RANGE,
        "etcdserver: mvcc: required revision has been compacted",
    )
    at_rev1 = await get(backend, key, rev1)
    assert at_rev1 is not None and at_rev1.value == b"v4"

    # another apiserver with a stale view of the lock loses, learns the current version, compacts nothing
    stale_t, stale_rev, compacted = await kube_compact(backend, 1, rev2)
    assert (stale_t, compacted) == (2, False)
    assert stale_rev == rev2
    lock_after = await get(backend, COMPACT_REV_KEY)
    assert lock_after == lock
    assert (await get(backend, key, rev1)) == at_rev1

    # a third interval with the returned version succeeds again
    await put(backend, key, b"v10")
    t, rev3, compacted = await kube_compact(backend, t, rev2)
    assert (t, compacted) == (3, True)
    assert rev3 == rev2 + 2
    lock = await get(backend, COMPACT_REV_KEY)
    assert lock is not None and (lock.value, lock.version) == (str(rev2).encode(), 3)
    assert (await error_of(backend.range(pb.RangeRequest(key=key, revision=rev2 - 1))))[0] == (
        Code.OUT_OF_RANGE
    )
    compaction = await backend.compact(pb.CompactionRequest(revision=rev3))
    assert compaction.header.revision == rev3


# -- reads --


@pytest.mark.parametrize("backend", ALL, indirect=True)
async def test_healthz_get(backend: Backend) -> None:
    await put(backend, b"/registry/namespaces/default", b"ns")
    resp = await backend.range(pb.RangeRequest(key=b"/registry/health"))
    assert resp.count == 0 and list(resp.kvs) == [] and not resp.more
    assert resp.header.revision == 2
    assert resp.header.cluster_id != 0 and resp.header.member_id != 0 and resp.header.raft_term > 0


PODS = b"/registry/pods/"


async def seed_pods(b: Backend) -> list[bytes]:
    keys = [PODS + b"ns-%d/pod-%02d" % (n, i) for n in range(3) for i in range(19)]
    for key in keys:
        assert (await b.txn(kube_create(key, b"pod " + key))).succeeded
    # neighbours just outside the prefix, on both sides of it
    for key in (b"/registry/pods", b"/registry/pods.", b"/registry/pods0", b"/registry/podtemplates/x"):
        await put(b, key, b"outside")
    return keys


@pytest.mark.parametrize("backend", ALL, indirect=True)
async def test_list_pagination_at_one_revision(backend: Backend) -> None:
    keys = await seed_pods(backend)
    seeded = await head(backend)
    end = prefix_end(PODS)
    assert end == b"/registry/pods0"

    for limit in (10, 19, 57, 100):
        first = await backend.range(pb.RangeRequest(key=PODS, range_end=end, limit=limit))
        list_rev = first.header.revision
        whole = await backend.range(pb.RangeRequest(key=PODS, range_end=end, revision=list_rev))
        assert whole.count == len(whole.kvs) and not whole.more
        # writes between pages must not show up: the continuation reads at list_rev
        await backend.txn(kube_update(keys[0], b"changed", whole.kvs[0].mod_revision))
        await backend.txn(kube_delete(keys[-1], whole.kvs[-1].mod_revision))
        await backend.txn(kube_create(PODS + b"ns-1/pod-10x-%d" % limit, b"new"))

        collected: list[kv_pb2.KeyValue] = []
        page = first
        for _ in range(len(whole.kvs) // limit + 2):
            start = PODS if not collected else collected[-1].key + b"\x00"
            remaining = [kv for kv in whole.kvs if kv.key >= start]
            # kube-apiserver computes remainingItemCount and hasMore from count: it must be exact
            assert page.count == len(remaining), (limit, len(collected))
            assert list(page.kvs) == remaining[:limit]
            assert page.more == (len(remaining) > limit)
            assert page.header.revision >= list_rev
            collected.extend(page.kvs)
            if not page.more:
                break
            after_last = collected[-1].key + b"\x00"
            page = await backend.range(
                pb.RangeRequest(key=after_last, range_end=end, limit=limit, revision=list_rev)
            )
        assert collected == list(whole.kvs)

    # the first list saw exactly the seeded pods
    first_list = await backend.range(pb.RangeRequest(key=PODS, range_end=end, revision=seeded))
    assert [kv.key for kv in first_list.kvs] == sorted(keys)


@pytest.mark.parametrize("backend", ALL, indirect=True)
async def test_count_only(backend: Backend) -> None:
    keys = await seed_pods(backend)
    end = prefix_end(PODS)
    rev = await head(backend)
    resp = await backend.range(pb.RangeRequest(key=PODS, range_end=end, count_only=True))
    assert (resp.count, list(resp.kvs), resp.more) == (len(keys), [], False)
    assert resp.header.revision == rev
    ns1 = PODS + b"ns-1/"
    resp = await backend.range(pb.RangeRequest(key=ns1, range_end=prefix_end(ns1), count_only=True))
    assert (resp.count, list(resp.kvs)) == (19, [])
    # count_only wins over limit
    resp = await backend.range(pb.RangeRequest(key=PODS, range_end=end, count_only=True, limit=5))
    assert (resp.count, list(resp.kvs)) == (len(keys), [])
    resp = await backend.range(pb.RangeRequest(key=keys[3], count_only=True))
    assert (resp.count, list(resp.kvs)) == (1, [])

    mod = await get(backend, keys[0])
    assert mod is not None
    await backend.txn(kube_delete(keys[0], mod.mod_revision))
    now = await backend.range(pb.RangeRequest(key=PODS, range_end=end, count_only=True))
    then = await backend.range(pb.RangeRequest(key=PODS, range_end=end, count_only=True, revision=rev))
    assert (now.count, then.count) == (len(keys) - 1, len(keys))
    everything = await backend.range(pb.RangeRequest(key=b"\x00", range_end=b"\x00", count_only=True))
    assert everything.count == len(keys) - 1 + 4


# -- watches --


@pytest.mark.parametrize("backend", ALL, indirect=True)
async def test_watch_prev_kv_progress_notify(backend: Backend) -> None:
    prefix = b"/registry/secrets/"
    end = prefix_end(prefix)
    start = await head(backend)
    a, b = prefix + b"ns/a", prefix + b"ns/b"
    r_a1 = (await backend.txn(kube_create(a, b"a1"))).header.revision
    r_b1 = (await backend.txn(kube_create(b, b"b1"))).header.revision
    r_a2 = (await backend.txn(kube_update(a, b"a2", r_a1))).header.revision
    await put(backend, b"/registry/secretsx", b"outside the prefix")
    r_b_del = (await backend.txn(kube_delete(b, r_b1))).header.revision
    r_a3 = (await backend.txn(kube_update(a, b"a3", r_a2))).header.revision
    now = await head(backend)

    # kube-apiserver's watch: WithRev(rv+1), WithPrefix, WithPrevKV, WithProgressNotify
    create = pb.WatchCreateRequest(
        key=prefix, range_end=end, start_revision=start + 1, prev_kv=True, progress_notify=True
    )
    w, wid = await create_watch(backend, create)
    try:
        responses = await collect_events(w, 5)
        events = [ev for resp in responses for ev in resp.events]
        assert all(resp.watch_id == wid for resp in responses)
        got = [
            (ev.type, ev.kv.key, ev.kv.mod_revision, ev.kv.value, ev.prev_kv.value or None) for ev in events
        ]
        assert got == [
            (PUT, a, r_a1, b"a1", None),
            (PUT, b, r_b1, b"b1", None),
            (PUT, a, r_a2, b"a2", b"a1"),
            (DELETE, b, r_b_del, b"", b"b1"),
            (PUT, a, r_a3, b"a3", b"a2"),
        ]
        assert [ev.HasField("prev_kv") for ev in events] == [False, False, True, True, True]
        assert events[2].prev_kv.mod_revision == r_a1 and events[2].prev_kv.version == 1
        assert events[3].prev_kv.mod_revision == r_b1
        assert events[4].kv.version == 3 and events[4].kv.create_revision == r_a1

        # then, with nothing to say, the watch keeps getting progress notifications at the head revision
        for _ in range(2):
            progress = await next_matching(w, is_progress, seconds=PATIENCE, skip=never)
            assert progress.watch_id == wid
            assert progress.header.revision == now

        # a new event still comes through, followed by notifications at its revision
        c = prefix + b"ns/c"
        r_c = (await backend.txn(kube_create(c, b"c1"))).header.revision
        ev_resp = await next_matching(w, lambda r: bool(r.events), seconds=5, skip=is_progress)
        assert [(e.type, e.kv.key, e.kv.mod_revision) for e in ev_resp.events] == [(PUT, c, r_c)]
        progress = await next_matching(w, is_progress, seconds=PATIENCE, skip=never)
        assert progress.header.revision == r_c
    finally:
        w.close()


@pytest.mark.parametrize("backend", ALL, indirect=True)
async def test_request_progress_after_events(backend: Backend) -> None:
    prefix = b"/registry/leases/"
    end = prefix_end(prefix)
    w, wid = await create_watch(backend, pb.WatchCreateRequest(key=prefix, range_end=end))
    try:
        revs = [await put(backend, prefix + b"kube-node-lease/n%d" % i, b"renew") for i in range(5)]
        await put(backend, b"/registry/other", b"not watched")
        now = await head(backend)
        await w.send(pb.WatchRequest(progress_request=pb.WatchProgressRequest()))
        seen: list[int] = []
        deadline = time.monotonic() + 10
        for _ in range(100):
            resp = await w.next(deadline - time.monotonic())
            if resp.watch_id == -1:
                break
            assert resp.watch_id == wid and resp.events, resp
            seen.extend(ev.kv.mod_revision for ev in resp.events)
        else:
            raise AssertionError("no progress response")
        # the answer comes after every event up to it, and says how far the stream has got
        assert seen == revs
        assert not resp.events and not resp.created and not resp.canceled
        assert resp.header.revision == now
    finally:
        w.close()


@pytest.mark.parametrize("backend", OURS, indirect=True)
async def test_request_progress_during_catch_up(backend: Backend) -> None:
    """etcd 3.5 defers the answer until the watchers caught up (3.4 dropped it): ours answers like 3.5."""
    prefix = b"/registry/events/"
    end = prefix_end(prefix)
    start = await head(backend)
    writes = 300
    for i in range(writes):
        await put(backend, prefix + b"default/ev-%03d" % i, b"x" * 100)
    now = await head(backend)
    create = pb.WatchCreateRequest(key=prefix, range_end=end, start_revision=start + 1)
    w, wid = await create_watch(backend, create)
    try:
        await w.send(pb.WatchRequest(progress_request=pb.WatchProgressRequest()))
        seen: list[int] = []
        deadline = time.monotonic() + 20
        for _ in range(writes + 10):
            resp = await w.next(deadline - time.monotonic())
            if resp.watch_id == -1:
                break
            assert resp.watch_id == wid and resp.events, resp
            seen.extend(ev.kv.mod_revision for ev in resp.events)
        else:
            raise AssertionError("no progress response")
        assert seen == list(range(start + 1, now + 1))
        assert resp.header.revision == now and not resp.events
    finally:
        w.close()


# -- leases --


@pytest.mark.parametrize("backend", ALL, indirect=True)
async def test_lease_with_500_keys_revoked_in_one_revision(backend: Backend) -> None:
    prefix = b"/registry/events/kube-system/"
    end = prefix_end(prefix)
    grant = await backend.lease_grant(pb.LeaseGrantRequest(TTL=3600))
    assert grant.TTL == 3600 and grant.ID != 0
    lease_id = grant.ID
    keys = [prefix + b"ev-%03d" % i for i in range(500)]
    for i in range(0, len(keys), 50):
        batch = keys[i : i + 50]
        results = await asyncio.gather(*(backend.txn(kube_create(k, b"event", lease_id)) for k in batch))
        assert all(r.succeeded for r in results)
    kept = [prefix + b"zz-kept-%d" % i for i in range(3)]
    for key in kept:
        await put(backend, key, b"no lease")

    ttl = await backend.lease_time_to_live(pb.LeaseTimeToLiveRequest(ID=lease_id, keys=True))
    assert ttl.ID == lease_id and ttl.grantedTTL == 3600
    assert 3500 < ttl.TTL <= 3600
    assert sorted(ttl.keys) == keys
    assert lease_id in [lease.ID for lease in (await backend.lease_leases()).leases]
    listed = await backend.range(pb.RangeRequest(key=prefix, range_end=end))
    assert listed.count == 503
    assert all(kv.lease == lease_id for kv in listed.kvs if kv.key in set(keys))

    before = await head(backend)
    create = pb.WatchCreateRequest(key=prefix, range_end=end, start_revision=before + 1)
    w, _ = await create_watch(backend, create)
    try:
        revoked = await backend.lease_revoke(pb.LeaseRevokeRequest(ID=lease_id))
        assert revoked.header.revision == before + 1
        after = await backend.range(pb.RangeRequest(key=prefix, range_end=end))
        assert [kv.key for kv in after.kvs] == kept
        assert after.header.revision == before + 1

        responses = await collect_events(w, 500, seconds=20)
        events = [ev for resp in responses for ev in resp.events]
        assert all(ev.type == DELETE for ev in events)
        assert {ev.kv.mod_revision for ev in events} == {before + 1}
        assert sorted(ev.kv.key for ev in events) == keys
        assert {resp.header.revision for resp in responses} == {before + 1}
    finally:
        w.close()

    gone = await backend.lease_time_to_live(pb.LeaseTimeToLiveRequest(ID=lease_id, keys=True))
    assert gone.TTL == -1 and list(gone.keys) == []
    assert lease_id not in [lease.ID for lease in (await backend.lease_leases()).leases]
    assert await error_of(backend.lease_revoke(pb.LeaseRevokeRequest(ID=lease_id))) == (
        Code.NOT_FOUND,
        "etcdserver: requested lease not found",
    )
    assert await head(backend) == before + 1
