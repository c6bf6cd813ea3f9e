"""The control plane's datastore interface behaves the same in-process, over gRPC to our datastore,
and over gRPC to a real etcd."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from kine_shim import errors
from kine_shim.client import WatchCreateRefused
from kine_shim.etcdpb import kv_pb2
from kine_shim.etcdpb import rpc_pb2 as pb
from kine_shim.keys import prefix_end


async def test_kube_create_update_delete(ds):
    key = b"/registry/configmaps/default/c"
    create = pb.TxnRequest(
        compare=[pb.Compare(key=key, target=pb.Compare.MOD, result=pb.Compare.EQUAL, mod_revision=0)],
        success=[pb.RequestOp(request_put=pb.PutRequest(key=key, value=b"{}"))],
    )
    first = await ds.txn(create)
    assert first.succeeded
    rev = first.header.revision
    again = await ds.txn(create)
    assert not again.succeeded and again.header.revision == rev
    update = pb.TxnRequest(
        compare=[pb.Compare(key=key, target=pb.Compare.MOD, result=pb.Compare.EQUAL, mod_revision=rev)],
        success=[pb.RequestOp(request_put=pb.PutRequest(key=key, value=b'{"v":2}'))],
        failure=[pb.RequestOp(request_range=pb.RangeRequest(key=key))],
    )
    updated = await ds.txn(update)
    assert updated.succeeded
    stale = await ds.txn(update)
    assert not stale.succeeded
    current = stale.responses[0].response_range.kvs[0]
    assert (current.value, current.mod_revision, current.version) == (b'{"v":2}', rev + 1, 2)


async def test_errors_are_etcds_own_objects(ds):
    await ds.put(pb.PutRequest(key=b"a", value=b"1"))
    await ds.put(pb.PutRequest(key=b"a", value=b"2"))
    await ds.compact(pb.CompactionRequest(revision=3))
    with pytest.raises(errors.EtcdError) as exc:
        await ds.range(pb.RangeRequest(key=b"a", revision=2))
    assert exc.value is errors.COMPACTED
    with pytest.raises(errors.EtcdError) as exc:
        await ds.put(pb.PutRequest(key=b"b", lease=4242))
    assert exc.value is errors.LEASE_NOT_FOUND


async def test_watch_replays_then_follows_and_reports_progress(ds):
    prefix = b"/registry/pods/"
    start = (await ds.put(pb.PutRequest(key=prefix + b"a", value=b"1"))).header.revision
    await ds.put(pb.PutRequest(key=prefix + b"b", value=b"2"))
    watch = await ds.watch(
        pb.WatchCreateRequest(key=prefix, range_end=prefix_end(prefix), start_revision=start, prev_kv=True)
    )
    seen: list[kv_pb2.Event] = []
    progress: list[pb.WatchResponse] = []
    stream = aiter(watch)
    async with asyncio.timeout(10):
        while len(seen) < 2:
            seen.extend((await anext(stream)).events)
        last = (await ds.delete_range(pb.DeleteRangeRequest(key=prefix + b"a"))).header.revision
        while len(seen) < 3:
            seen.extend((await anext(stream)).events)
        await watch.request_progress()
        while not progress:
            resp = await anext(stream)
            if not resp.events and not resp.canceled:
                progress.append(resp)
    assert [(e.type, e.kv.key) for e in seen] == [
        (kv_pb2.Event.PUT, prefix + b"a"),
        (kv_pb2.Event.PUT, prefix + b"b"),
        (kv_pb2.Event.DELETE, prefix + b"a"),
    ]
    assert seen[2].prev_kv.value == b"1"
    assert progress[0].header.revision == last
    await watch.close()


async def test_watch_from_compacted_revision_ends_with_compact_revision(ds):
    for i in range(4):
        await ds.put(pb.PutRequest(key=b"k", value=b"%d" % i))
    await ds.compact(pb.CompactionRequest(revision=4, physical=True))
    watch = await ds.watch(pb.WatchCreateRequest(key=b"k", start_revision=2))
    async with asyncio.timeout(10):
        responses = [r async for r in watch]
    assert responses[-1].canceled and responses[-1].compact_revision == 4
    await watch.close()


async def test_refused_watch_and_leases(ds):
    with pytest.raises(WatchCreateRefused):
        await ds.watch(pb.WatchCreateRequest(key=b"b", range_end=b"a"))
    grant = await ds.lease_grant(pb.LeaseGrantRequest(ID=99, TTL=30))
    assert grant.ID == 99
    kept = await ds.lease_keep_alive(99)
    assert kept.TTL == 30
    await ds.put(pb.PutRequest(key=b"leased", lease=99))
    await ds.lease_revoke(pb.LeaseRevokeRequest(ID=99))
    assert (await ds.range(pb.RangeRequest(key=b"leased"))).count == 0
    assert (await ds.lease_keep_alive(99)).TTL == 0
    assert (await ds.status()).version


def test_codes_are_grpcs_names_and_numbers():
    assert {c.name: c.value for c in errors.Code} == {s.name: s.value[0] for s in grpc.StatusCode}


def test_remote_answers_become_the_embedded_stores_objects():
    compacted = errors.COMPACTED.message
    assert errors.from_status(grpc.StatusCode.OUT_OF_RANGE, compacted) is errors.COMPACTED
    assert errors.from_status(grpc.StatusCode.INVALID_ARGUMENT, compacted) is not errors.COMPACTED
    other = errors.from_status(grpc.StatusCode.UNAVAILABLE, "connection refused")
    assert (other.code, other.message) == (errors.Code.UNAVAILABLE, "connection refused")


def test_embedded_server_never_imports_grpc():
    """grpc costs ~18 MB of RSS; only --datastore-endpoint or --etcd-listen-client-urls may load it."""
    check = (
        "import sys, distro.server, kine_shim.client, kine_shim.store; "
        "assert 'grpc' not in sys.modules, 'grpc imported'; "
        "from kine_shim.client import RemoteDatastore; assert 'grpc' in sys.modules"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", check], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
