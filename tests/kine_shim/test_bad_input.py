"""Bad input gets etcd's error, the server keeps serving, and nothing already stored changes.

Each bad request goes to our datastore and to a real etcd seeded with the same data; both must
answer with the same gRPC code and message, and afterwards both still hold exactly what they held
before (same keys, values, revisions, current revision).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from kine_shim.etcdpb import rpc_pb2 as pb
from kine_shim.etcdpb import rpc_pb2_grpc
from tests.support import Server, Stubs, etcd_argv, shim_argv

pytestmark = [pytest.mark.e2e, pytest.mark.oracle]

RPC_TIMEOUT = 10.0
LEASE_ID = 0x5EED
MiB = 1024 * 1024
INVALID = grpc.StatusCode.INVALID_ARGUMENT
OUT_OF_RANGE = grpc.StatusCode.OUT_OF_RANGE
TOO_LARGE = (INVALID, "etcdserver: request is too large")
TOO_MANY_OPS = (INVALID, "etcdserver: too many operations in txn request")
NO_KEY = (INVALID, "etcdserver: key is not provided")
DUPLICATE = (INVALID, "etcdserver: duplicate key given in txn request")
NO_LEASE = (grpc.StatusCode.NOT_FOUND, "etcdserver: requested lease not found")
FUTURE = (OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision")
COMPACTED = (OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted")

Outcome = tuple[grpc.StatusCode, str] | str


def _raw(b: bytes) -> bytes:
    return b


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """Our datastore and a real etcd, seeded alike; shared by the tests of this module."""
    tmp: Path = tmp_path_factory.mktemp("bad-input")
    started: dict[str, Server] = {}
    try:
        for name, argv in (("shim", shim_argv()), ("etcd", etcd_argv())):
            started[name] = Server(tmp / name, argv, tmp / f"{name}.log").start()
        for server in started.values():
            stubs = server.stubs()
            try:
                seed(stubs)
            finally:
                stubs.close()
        yield started
    finally:
        for server in started.values():
            server.stop()


def seed(stubs: Stubs) -> None:
    stubs.lease.LeaseGrant(pb.LeaseGrantRequest(ID=LEASE_ID, TTL=3600), timeout=RPC_TIMEOUT)
    for i in range(10):
        stubs.kv.Put(pb.PutRequest(key=b"/seed/%d" % i, value=b"value %d" % i), timeout=RPC_TIMEOUT)
    for i in range(3):
        stubs.kv.Put(pb.PutRequest(key=b"/seed/3", value=b"update %d" % i), timeout=RPC_TIMEOUT)
    stubs.kv.Put(pb.PutRequest(key=b"/seed/leased", value=b"v", lease=LEASE_ID), timeout=RPC_TIMEOUT)
    stubs.kv.DeleteRange(pb.DeleteRangeRequest(key=b"/seed/9"), timeout=RPC_TIMEOUT)


@pytest.fixture
def stubs(servers: dict[str, Server]) -> Iterator[dict[str, Stubs]]:
    opened = {name: server.stubs() for name, server in servers.items()}
    try:
        yield opened
    finally:
        for s in opened.values():
            s.close()


def state(s: Stubs) -> tuple[int, list[tuple[bytes, bytes, int, int, int, int]]]:
    """Everything stored and the current revision, read with an ordinary Range (the server still serves)."""
    resp = s.kv.Range(pb.RangeRequest(key=b"\x00", range_end=b"\x00"), timeout=RPC_TIMEOUT)
    kvs = [(kv.key, kv.value, kv.create_revision, kv.mod_revision, kv.version, kv.lease) for kv in resp.kvs]
    return resp.header.revision, kvs


def outcome(call: Callable[[Stubs], Any], s: Stubs) -> Outcome:
    try:
        call(s)
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""
    return "OK"


def both(stubs: dict[str, Stubs], call: Callable[[Stubs], Any]) -> dict[str, Outcome]:
    """Runs a bad request on both servers; each must still hold exactly what it held, and the same data."""
    results: dict[str, Outcome] = {}
    for name, s in stubs.items():
        before = state(s)
        results[name] = outcome(call, s)
        assert state(s) == before, f"{name}: a refused request changed the store"
    assert state(stubs["shim"]) == state(stubs["etcd"])
    return results


def expect(stubs: dict[str, Stubs], call: Callable[[Stubs], Any], expected: Outcome) -> None:
    results = both(stubs, call)
    assert results["etcd"] == expected, "the test's expectation is not what etcd does"
    assert results["shim"] == expected


def put_op(key: bytes, value: bytes = b"v", lease: int = 0) -> pb.RequestOp:
    return pb.RequestOp(request_put=pb.PutRequest(key=key, value=value, lease=lease))


def delete_op(key: bytes, range_end: bytes = b"") -> pb.RequestOp:
    return pb.RequestOp(request_delete_range=pb.DeleteRangeRequest(key=key, range_end=range_end))


def range_op(key: bytes, revision: int = 0) -> pb.RequestOp:
    return pb.RequestOp(request_range=pb.RangeRequest(key=key, revision=revision))


def txn(
    *ops: pb.RequestOp, compare: list[pb.Compare] | None = None, failure: list[pb.RequestOp] | None = None
) -> Callable[[Stubs], Any]:
    req = pb.TxnRequest(compare=compare or [], success=list(ops), failure=failure or [])
    return lambda s: s.kv.Txn(req, timeout=RPC_TIMEOUT)


def kv_put(key: bytes, value: bytes = b"v", lease: int = 0) -> Callable[[Stubs], Any]:
    return lambda s: s.kv.Put(pb.PutRequest(key=key, value=value, lease=lease), timeout=RPC_TIMEOUT)


# -- bytes that are not a protobuf message --

GARBAGE = [
    pytest.param(b"\xff\xff\xff\xff\x0f", id="bad-wire-type"),
    pytest.param(b"\x0a\x05ab", id="truncated-bytes-field"),
    pytest.param(b"\x0a", id="missing-length"),
    pytest.param(b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", id="varint-too-long"),
]


@pytest.mark.parametrize("method", ["Range", "Put", "Txn", "DeleteRange"])
@pytest.mark.parametrize("payload", GARBAGE)
def test_malformed_protobuf(stubs: dict[str, Stubs], method: str, payload: bytes) -> None:
    def send(s: Stubs) -> None:
        call = s.channel.unary_unary(
            f"/etcdserverpb.KV/{method}", request_serializer=_raw, response_deserializer=_raw
        )
        call(payload, timeout=RPC_TIMEOUT)

    results = both(stubs, send)
    # grpc-go's words after the prefix come from Go's protobuf decoder: only the code and prefix can match
    for name, result in results.items():
        assert result != "OK", f"{name} accepted {payload!r}"
        code, message = result
        assert code == grpc.StatusCode.INTERNAL, (name, result)
        assert message.startswith("grpc: error unmarshalling request: "), (name, result)


# -- sizes --


@pytest.mark.parametrize("size", [int(1.5 * MiB) + 1, int(1.5 * MiB) + 4096, int(1.9 * MiB), 2 * MiB - 1024])
def test_value_over_request_limit(stubs: dict[str, Stubs], size: int) -> None:
    expect(stubs, kv_put(b"/seed/0", b"x" * size), TOO_LARGE)
    expect(
        stubs, txn(put_op(b"/big/a", b"x" * (size // 2)), put_op(b"/big/b", b"y" * (size // 2))), TOO_LARGE
    )


def test_value_just_under_request_limit_is_stored(stubs: dict[str, Stubs]) -> None:
    # the limit is on the whole request: key, value and framing together at most 1.5 MiB
    value = b"z" * (int(1.5 * MiB) - 64)
    results = {
        name: s.kv.Put(pb.PutRequest(key=b"/big/ok", value=value), timeout=RPC_TIMEOUT)
        for name, s in stubs.items()
    }
    assert results["shim"].header.revision == results["etcd"].header.revision
    for s in stubs.values():
        got = s.kv.Range(pb.RangeRequest(key=b"/big/ok"), timeout=RPC_TIMEOUT)
        assert got.kvs[0].value == value
        s.kv.DeleteRange(pb.DeleteRangeRequest(key=b"/big/ok"), timeout=RPC_TIMEOUT)
    assert state(stubs["shim"]) == state(stubs["etcd"])


@pytest.mark.parametrize("size", [2 * MiB + 100, 3 * MiB])
def test_message_over_grpc_limit(stubs: dict[str, Stubs], size: int) -> None:
    results = both(stubs, kv_put(b"/seed/0", b"x" * size))
    sizes = {}
    for name, result in results.items():
        assert result != "OK"
        code, message = result
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, (name, result)
        # grpc-go says "grpc: received message larger than max (N vs. M)", grpc core "Received message ..."
        found = re.search(r"received message larger than max \((\d+) vs\. (\d+)\)", message, re.IGNORECASE)
        assert found, (name, message)
        sizes[name] = (int(found[1]), int(found[2]))
    assert sizes["shim"] == sizes["etcd"]
    assert sizes["shim"][1] == 2 * MiB


# -- txn limits and shape --


def test_too_many_ops_in_txn(stubs: dict[str, Stubs]) -> None:
    puts = [put_op(b"/many/%d" % i) for i in range(129)]
    expect(stubs, txn(*puts), TOO_MANY_OPS)
    expect(stubs, txn(failure=[range_op(b"/seed/0")] * 129), TOO_MANY_OPS)
    compare = [pb.Compare(key=b"/seed/%d" % (i % 8), target=pb.Compare.VERSION) for i in range(129)]
    expect(stubs, txn(put_op(b"/many/x"), compare=compare), TOO_MANY_OPS)


def test_128_ops_are_allowed(stubs: dict[str, Stubs]) -> None:
    puts = [put_op(b"/many/%03d" % i) for i in range(128)]
    results = {name: txn(*puts)(s) for name, s in stubs.items()}
    assert results["shim"].succeeded and results["etcd"].succeeded
    assert results["shim"].header.revision == results["etcd"].header.revision
    for s in stubs.values():
        s.kv.DeleteRange(pb.DeleteRangeRequest(key=b"/many/", range_end=b"/many0"), timeout=RPC_TIMEOUT)
    assert state(stubs["shim"]) == state(stubs["etcd"])


@pytest.mark.parametrize(
    "ops",
    [
        pytest.param([put_op(b"/seed/0"), put_op(b"/seed/0")], id="put-put"),
        pytest.param([put_op(b"/dup/new"), put_op(b"/dup/new", b"other")], id="put-put-new-key"),
        pytest.param([put_op(b"/seed/1"), delete_op(b"/seed/1")], id="put-delete"),
        pytest.param([delete_op(b"/seed/1"), put_op(b"/seed/1")], id="delete-put"),
        pytest.param([delete_op(b"/seed/", b"/seed0"), put_op(b"/seed/5")], id="delete-range-covers-put"),
        pytest.param(
            [put_op(b"/seed/2"), pb.RequestOp(request_txn=pb.TxnRequest(success=[put_op(b"/seed/2")]))],
            id="nested-txn",
        ),
    ],
)
def test_duplicate_key_in_txn(stubs: dict[str, Stubs], ops: list[pb.RequestOp]) -> None:
    expect(stubs, txn(*ops), DUPLICATE)


# -- keys and leases --


def test_put_with_unknown_lease(stubs: dict[str, Stubs]) -> None:
    expect(stubs, kv_put(b"/seed/0", b"changed", lease=123456789), NO_LEASE)
    expect(stubs, kv_put(b"/lease/new", lease=LEASE_ID + 1), NO_LEASE)
    expect(stubs, txn(put_op(b"/seed/1", b"a"), put_op(b"/lease/new", lease=987654321)), NO_LEASE)
    expect(
        stubs, lambda s: s.lease.LeaseRevoke(pb.LeaseRevokeRequest(ID=424242), timeout=RPC_TIMEOUT), NO_LEASE
    )


def test_empty_key(stubs: dict[str, Stubs]) -> None:
    expect(stubs, kv_put(b""), NO_KEY)
    expect(stubs, lambda s: s.kv.Range(pb.RangeRequest(key=b""), timeout=RPC_TIMEOUT), NO_KEY)
    expect(stubs, lambda s: s.kv.DeleteRange(pb.DeleteRangeRequest(key=b""), timeout=RPC_TIMEOUT), NO_KEY)
    expect(stubs, txn(put_op(b"/seed/0", b"a"), put_op(b"")), NO_KEY)
    expect(stubs, txn(range_op(b"")), NO_KEY)
    expect(stubs, txn(put_op(b"/seed/0"), compare=[pb.Compare(key=b"", target=pb.Compare.VERSION)]), NO_KEY)


def test_range_at_future_and_compacted_revisions(stubs: dict[str, Stubs]) -> None:
    rev = state(stubs["shim"])[0]
    assert rev == state(stubs["etcd"])[0]

    def range_at(r: int) -> Callable[[Stubs], Any]:
        return lambda s: s.kv.Range(pb.RangeRequest(key=b"/seed/3", revision=r), timeout=RPC_TIMEOUT)

    def compact(r: int) -> Callable[[Stubs], Any]:
        return lambda s: s.kv.Compact(pb.CompactionRequest(revision=r), timeout=RPC_TIMEOUT)

    expect(stubs, range_at(rev + 1), FUTURE)
    expect(stubs, range_at(rev + 1_000_000), FUTURE)
    expect(stubs, txn(range_op(b"/seed/3", rev + 5)), FUTURE)
    expect(stubs, compact(rev + 1), FUTURE)

    # compaction itself changes no key and no revision
    assert both(stubs, compact(rev - 3)) == {"shim": "OK", "etcd": "OK"}
    expect(stubs, range_at(rev - 4), COMPACTED)
    expect(stubs, range_at(1), COMPACTED)
    expect(stubs, txn(range_op(b"/seed/3", rev - 4)), COMPACTED)
    expect(stubs, compact(rev - 3), COMPACTED)
    expect(stubs, compact(rev - 10), COMPACTED)
    assert both(stubs, range_at(rev - 3)) == {"shim": "OK", "etcd": "OK"}


# -- a garbage frame on a watch stream ends that stream only --


async def test_garbage_watch_frame(servers: dict[str, Server]) -> None:
    results: dict[str, tuple[grpc.StatusCode, str]] = {}
    for name, server in servers.items():
        results[name] = await garbage_on_watch(server)
    assert results["shim"][0] == results["etcd"][0] == grpc.StatusCode.INTERNAL, results
    for name, (_, message) in results.items():
        assert message.startswith("grpc: failed to unmarshal the received message"), (name, message)


async def garbage_on_watch(server: Server) -> tuple[grpc.StatusCode, str]:
    async with grpc.aio.insecure_channel(server.endpoint, options=[("grpc.enable_retries", 0)]) as channel:
        kv = rpc_pb2_grpc.KVStub(channel)
        watch = rpc_pb2_grpc.WatchStub(channel)
        good = watch.Watch(timeout=30)
        await good.write(
            pb.WatchRequest(create_request=pb.WatchCreateRequest(key=b"/watched/", range_end=b"/watched0"))
        )
        created = await asyncio.wait_for(good.read(), 5)
        assert created.created

        before = await kv.Range(pb.RangeRequest(key=b"\x00", range_end=b"\x00"), timeout=RPC_TIMEOUT)
        bad = channel.stream_stream(
            "/etcdserverpb.Watch/Watch", request_serializer=_raw, response_deserializer=_raw
        )(timeout=30)
        await bad.write(b"\xff\xff\xff\xff\x0f")
        with pytest.raises(grpc.aio.AioRpcError) as failed:
            for _ in range(10):
                resp = await asyncio.wait_for(bad.read(), 5)
                assert resp is not grpc.aio.EOF, "the stream ended without an error"
        after = await kv.Range(pb.RangeRequest(key=b"\x00", range_end=b"\x00"), timeout=RPC_TIMEOUT)
        assert (after.header.revision, list(after.kvs)) == (before.header.revision, list(before.kvs))

        # the stream opened before still delivers, and a new stream works too
        fresh = watch.Watch(timeout=30)
        await fresh.write(
            pb.WatchRequest(create_request=pb.WatchCreateRequest(key=b"/watched/", range_end=b"/watched0"))
        )
        assert (await asyncio.wait_for(fresh.read(), 5)).created
        put = await kv.Put(pb.PutRequest(key=b"/watched/k", value=b"after garbage"), timeout=RPC_TIMEOUT)
        for stream in (good, fresh):
            resp = await asyncio.wait_for(stream.read(), 5)
            assert [(ev.kv.key, ev.kv.mod_revision) for ev in resp.events] == [
                (b"/watched/k", put.header.revision)
            ]
        await kv.DeleteRange(pb.DeleteRangeRequest(key=b"/watched/k"), timeout=RPC_TIMEOUT)
        good.cancel()
        fresh.cancel()
        return failed.value.code(), failed.value.details() or ""


async def test_undecodable_stream_messages(servers: dict[str, Server]) -> None:
    """A server-streaming request and a keep-alive stream message that are not protobuf: grpc-go's error."""
    results: dict[str, list[tuple[grpc.StatusCode, str]]] = {}
    for name, server in servers.items():
        async with grpc.aio.insecure_channel(
            server.endpoint, options=[("grpc.enable_retries", 0)]
        ) as channel:
            got = []
            snapshot = channel.unary_stream(
                "/etcdserverpb.Maintenance/Snapshot", request_serializer=_raw, response_deserializer=_raw
            )(b"\xff\xff\xff\xff\x0f", timeout=RPC_TIMEOUT)
            keep_alive = channel.stream_stream(
                "/etcdserverpb.Lease/LeaseKeepAlive", request_serializer=_raw, response_deserializer=_raw
            )(timeout=RPC_TIMEOUT)
            await keep_alive.write(b"\x0a\x05ab")
            for call in (snapshot, keep_alive):
                with pytest.raises(grpc.aio.AioRpcError) as failed:
                    await asyncio.wait_for(call.read(), 5)
                got.append((failed.value.code(), failed.value.details() or ""))
            results[name] = got
    for name, got in results.items():
        for code, message in got:
            assert code == grpc.StatusCode.INTERNAL, (name, code, message)
            assert message.startswith("grpc: failed to unmarshal the received message "), (name, message)


async def test_half_closed_watch_stream_keeps_delivering(servers: dict[str, Server]) -> None:
    """A client that sends its requests and closes its side (grpc-gateway does) still gets events."""
    results: dict[str, list[tuple[bytes, bytes]]] = {}
    for name, server in servers.items():
        async with grpc.aio.insecure_channel(
            server.endpoint, options=[("grpc.enable_retries", 0)]
        ) as channel:
            kv = rpc_pb2_grpc.KVStub(channel)
            call = rpc_pb2_grpc.WatchStub(channel).Watch(timeout=30)
            await call.write(pb.WatchRequest(create_request=pb.WatchCreateRequest(key=b"/half-closed")))
            assert (await asyncio.wait_for(call.read(), 5)).created
            await call.done_writing()
            await kv.Put(pb.PutRequest(key=b"/half-closed", value=b"1"), timeout=RPC_TIMEOUT)
            await kv.Put(pb.PutRequest(key=b"/half-closed", value=b"2"), timeout=RPC_TIMEOUT)
            events: list[tuple[bytes, bytes]] = []
            for _ in range(2):
                if len(events) >= 2:
                    break
                resp = await asyncio.wait_for(call.read(), 5)
                assert resp is not grpc.aio.EOF, f"{name} ended the watch when the client closed its side"
                events.extend((ev.kv.key, ev.kv.value) for ev in resp.events)
            call.cancel()
            await kv.DeleteRange(pb.DeleteRangeRequest(key=b"/half-closed"), timeout=RPC_TIMEOUT)
            results[name] = events
    assert results["shim"] == results["etcd"] == [(b"/half-closed", b"1"), (b"/half-closed", b"2")]


async def test_refused_watch_creates(servers: dict[str, Server]) -> None:
    """An empty watch range and a watch id already in use: refused with id -1, the stream goes on."""
    creates = [
        pb.WatchCreateRequest(key=b"/w/b", range_end=b"/w/a"),
        pb.WatchCreateRequest(key=b"/w/b", range_end=b"/w/b"),
        pb.WatchCreateRequest(key=b"/w/", range_end=b"/w0"),
        pb.WatchCreateRequest(key=b"/w/x", watch_id=7),
        pb.WatchCreateRequest(key=b"/w/y", watch_id=7),
        pb.WatchCreateRequest(key=b"/w/x", start_revision=1_000_000),
    ]
    results: dict[str, list[tuple[Any, ...]]] = {}
    for name, server in servers.items():
        async with grpc.aio.insecure_channel(
            server.endpoint, options=[("grpc.enable_retries", 0)]
        ) as channel:
            kv = rpc_pb2_grpc.KVStub(channel)
            call = rpc_pb2_grpc.WatchStub(channel).Watch(timeout=30)
            head = (await kv.Range(pb.RangeRequest(key=b"/w/"), timeout=RPC_TIMEOUT)).header.revision
            got: list[tuple[Any, ...]] = []
            for create in creates:
                await call.write(pb.WatchRequest(create_request=create))
                resp = await asyncio.wait_for(call.read(), 5)
                got.append(
                    (
                        resp.watch_id,
                        resp.created,
                        resp.canceled,
                        resp.cancel_reason,
                        resp.header.revision - head,
                    )
                )
            put = await kv.Put(pb.PutRequest(key=b"/w/x", value=b"1"), timeout=RPC_TIMEOUT)
            for _ in range(2):
                resp = await asyncio.wait_for(call.read(), 5)
                got.append(
                    (
                        resp.watch_id,
                        [(ev.kv.key, ev.kv.mod_revision - put.header.revision) for ev in resp.events],
                    )
                )
            call.cancel()
            await kv.DeleteRange(pb.DeleteRangeRequest(key=b"/w/x"), timeout=RPC_TIMEOUT)
            results[name] = got
    empty = (-1, True, True, "mvcc: watcher range is empty", 0)
    duplicate = (-1, True, True, "mvcc: duplicate watch ID provided on the WatchStream", 0)
    assert results["etcd"][:6] == [
        empty,
        empty,
        (0, True, False, "", 0),
        (7, True, False, "", 0),
        duplicate,
        (1, True, False, "", 0),
    ]
    assert sorted(results["etcd"][6:]) == [(0, [(b"/w/x", 0)]), (7, [(b"/w/x", 0)])]
    assert results["shim"][:6] == results["etcd"][:6]
    assert sorted(results["shim"][6:]) == sorted(results["etcd"][6:])
