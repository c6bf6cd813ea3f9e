"""The embedded Store: revisions, group commit, watch sync/catch-up, progress, leases, restart."""

from __future__ import annotations

import asyncio

import pytest

from kine_shim import errors
from kine_shim.etcdpb import kv_pb2
from kine_shim.etcdpb import rpc_pb2 as pb
from kine_shim.keys import prefix_end
from kine_shim.store import Store, StoreConfig


def _config(tmp_path, **kw) -> StoreConfig:
    kw.setdefault("synchronous", "NORMAL")
    return StoreConfig(db_path=tmp_path / "db" / "state.db", **kw)


@pytest.fixture
async def store(tmp_path):
    s = Store(_config(tmp_path, progress_notify_interval=0.2, lease_check_interval=0.1))
    await s.start()
    yield s
    await s.close()


async def put(store: Store, key: str, value: str = "v", **kw) -> pb.PutResponse:
    return await store.put(pb.PutRequest(key=key.encode(), value=value.encode(), **kw))


async def responses(stream, n: int, within: float = 5.0) -> list[pb.WatchResponse]:
    out = []
    async with asyncio.timeout(within):
        while len(out) < n:
            out.append(await stream.next_response())
    return out


def events_of(resps) -> list[kv_pb2.Event]:
    return [ev for r in resps for ev in r.events]


async def test_revisions_start_at_one_and_only_changes_bump_them(store):
    assert (await store.range(pb.RangeRequest(key=b"a"))).header.revision == 1
    assert (await put(store, "a")).header.revision == 2
    nothing = await store.delete_range(pb.DeleteRangeRequest(key=b"missing"))
    assert (nothing.deleted, nothing.header.revision) == (0, 2)
    read_only = await store.txn(
        pb.TxnRequest(success=[pb.RequestOp(request_range=pb.RangeRequest(key=b"a"))])
    )
    assert read_only.header.revision == 2
    no_write_branch = await store.txn(
        pb.TxnRequest(
            compare=[pb.Compare(key=b"a", target=pb.Compare.VERSION, result=pb.Compare.EQUAL, version=99)],
            success=[pb.RequestOp(request_put=pb.PutRequest(key=b"b"))],
            failure=[pb.RequestOp(request_range=pb.RangeRequest(key=b"a"))],
        )
    )
    assert not no_write_branch.succeeded
    assert no_write_branch.header.revision == 2


async def test_concurrent_writes_share_commits_but_get_distinct_revisions(store):
    before = dict(store.stats)
    resps = await asyncio.gather(*(put(store, f"k{i:03d}") for i in range(200)))
    revs = sorted(r.header.revision for r in resps)
    assert revs == list(range(2, 202))
    commits = store.stats["commits"] - before["commits"]
    assert store.stats["writes"] - before["writes"] == 200
    assert commits < 200, "queued writes should be grouped into fewer SQLite transactions"
    got = await store.range(pb.RangeRequest(key=b"k", range_end=prefix_end(b"k"), count_only=True))
    assert got.count == 200


async def test_failed_request_in_a_batch_does_not_disturb_the_others(store):
    good, bad, good2 = await asyncio.gather(
        put(store, "x", "1"),
        put(store, "y", "2", lease=12345),
        put(store, "z", "3"),
        return_exceptions=True,
    )
    assert bad is errors.LEASE_NOT_FOUND
    assert good2.header.revision == good.header.revision + 1
    missing = await store.range(pb.RangeRequest(key=b"y"))
    assert missing.count == 0


async def test_watch_from_history_joins_live_without_gaps(store):
    for i in range(50):
        await put(store, f"w/{i}", str(i))
    stream = store.watch_stream()

    async def keep_writing():
        for i in range(50, 150):
            await put(store, f"w/{i}", str(i))

    writer = asyncio.create_task(keep_writing())
    await stream.create(pb.WatchCreateRequest(key=b"w/", range_end=prefix_end(b"w/"), start_revision=2))
    await writer
    created = await stream.next_response()
    assert created.created
    seen: list[kv_pb2.Event] = []
    async with asyncio.timeout(5):
        while len(seen) < 150:
            seen.extend((await stream.next_response()).events)
    assert [ev.kv.mod_revision for ev in seen] == list(range(2, 152))
    assert [ev.kv.value for ev in seen] == [str(i).encode() for i in range(150)]
    stream.close()


async def test_slow_watcher_falls_back_to_the_log_and_loses_nothing(store, monkeypatch):
    stream = store.watch_stream()
    stream.queue = asyncio.Queue(4)
    await stream.create(pb.WatchCreateRequest(key=b"s/", range_end=prefix_end(b"s/")))
    for i in range(40):
        await put(store, f"s/{i}")
    watcher = stream.watchers[0]
    assert not watcher.synced, "a full stream buffer must demote the watcher"
    got = events_of(await responses(stream, 1))  # the created response
    async with asyncio.timeout(5):
        while len(got) < 40:
            got.extend((await stream.next_response()).events)
    assert [ev.kv.key for ev in got] == [f"s/{i}".encode() for i in range(40)]
    await asyncio.sleep(0.05)
    assert watcher.synced
    stream.close()


async def test_progress_notify_and_request_progress(store):
    await put(store, "p", "1")
    stream = store.watch_stream()
    await stream.create(pb.WatchCreateRequest(key=b"p", progress_notify=True))
    created = await stream.next_response()
    assert created.created
    notify = (await responses(stream, 1, within=2))[0]
    assert notify.watch_id == 0 and not notify.events and notify.header.revision == 2
    stream.request_progress()
    progress = await stream.next_response()
    while progress.watch_id != -1:  # a periodic notification may come first
        progress = await stream.next_response()
    assert progress.header.revision == store.rev
    stream.close()


async def test_request_progress_waits_for_unsynced_watchers(store):
    for i in range(20):
        await put(store, f"q/{i}")
    stream = store.watch_stream()
    await stream.create(pb.WatchCreateRequest(key=b"q/", range_end=prefix_end(b"q/"), start_revision=2))
    stream.request_progress()
    resps = await responses(stream, 3)
    assert resps[0].created
    assert len(resps[1].events) == 20
    assert resps[2].watch_id == -1 and resps[2].header.revision == 21
    stream.close()


async def test_watch_from_compacted_revision_is_cancelled_with_compact_revision(store):
    for i in range(10):
        await put(store, "c", str(i))
    await store.compact(pb.CompactionRequest(revision=8, physical=True))
    stream = store.watch_stream()
    await stream.create(pb.WatchCreateRequest(key=b"c", start_revision=3))
    created, cancelled = await responses(stream, 2)
    assert created.created
    assert cancelled.canceled and cancelled.compact_revision == 8
    assert stream.watchers == {}
    with pytest.raises(errors.EtcdError) as exc:
        await store.range(pb.RangeRequest(key=b"c", revision=7))
    assert exc.value is errors.COMPACTED
    at_compaction = await store.range(pb.RangeRequest(key=b"c", revision=8))
    assert at_compaction.kvs[0].value == b"6"


async def test_physical_compaction_drops_unreachable_rows(store):
    for i in range(30):
        await put(store, "one", str(i))
    await put(store, "gone")
    await store.delete_range(pb.DeleteRangeRequest(key=b"gone"))

    def log_rows(conn, head, compact):
        return conn.execute("SELECT COUNT(*) FROM log").fetchone()[0]

    assert await store._read(log_rows) == 32
    await store.compact(pb.CompactionRequest(revision=store.rev, physical=True))
    # the newest version of "one" stays; "gone" and its tombstone disappear
    assert await store._read(log_rows) == 1
    got = await store.range(pb.RangeRequest(key=b"one"))
    assert got.kvs[0].value == b"29" and got.kvs[0].version == 30


async def test_lease_expiry_deletes_attached_keys_in_one_revision(store):
    grant = await store.lease_grant(pb.LeaseGrantRequest(ID=77, TTL=2))
    assert (grant.ID, grant.TTL) == (77, 2)
    for i in range(5):
        await put(store, f"l/{i}", lease=77)
    stream = store.watch_stream()
    await stream.create(pb.WatchCreateRequest(key=b"l/", range_end=prefix_end(b"l/")))
    before = store.rev
    resps = await responses(stream, 2, within=6)
    deletes = resps[1].events
    assert [ev.type for ev in deletes] == [kv_pb2.Event.DELETE] * 5
    assert {ev.kv.mod_revision for ev in deletes} == {before + 1}
    ttl = await store.lease_time_to_live(pb.LeaseTimeToLiveRequest(ID=77))
    assert ttl.TTL == -1
    stream.close()


async def test_keep_alive_extends_a_lease(store):
    await store.lease_grant(pb.LeaseGrantRequest(ID=5, TTL=2))
    await put(store, "ka", lease=5)
    for _ in range(5):
        await asyncio.sleep(0.5)
        assert store.lease_keep_alive(5).TTL == 2
    assert (await store.range(pb.RangeRequest(key=b"ka"))).count == 1
    assert store.lease_keep_alive(999).TTL == 0


async def test_state_survives_close_and_reopen(tmp_path):
    async with Store(_config(tmp_path)) as s:
        await s.lease_grant(pb.LeaseGrantRequest(ID=9, TTL=600))
        await put(s, "keep", "me", lease=9)
        await put(s, "keep", "me2", lease=9)
        rev = s.rev
    async with Store(_config(tmp_path)) as s:
        assert s.rev == rev
        got = await s.range(pb.RangeRequest(key=b"keep"))
        kv = got.kvs[0]
        assert (kv.value, kv.version, kv.lease, kv.mod_revision) == (b"me2", 2, 9, rev)
        assert [x.ID for x in s.lease_leases().leases] == [9]
        assert (await put(s, "after")).header.revision == rev + 1


async def test_checkpoint_truncates_the_wal(tmp_path):
    async with Store(_config(tmp_path)) as s:
        await asyncio.gather(*(put(s, f"big/{i}", "x" * 4000) for i in range(300)))
        wal = s.config.db_path.with_name("state.db-wal")
        assert wal.stat().st_size > 1_000_000
        await s._in_writer(s._checkpoint)
        assert wal.stat().st_size == 0


async def test_replayed_history_is_split_between_revisions(store):
    value = "x" * 200_000
    for i in range(12):
        await put(store, f"h/{i}", value)
    stream = store.watch_stream()
    await stream.create(pb.WatchCreateRequest(key=b"h/", range_end=prefix_end(b"h/"), start_revision=1))
    resps = await responses(stream, 1)
    events: list[kv_pb2.Event] = []
    async with asyncio.timeout(5):
        while len(events) < 12:
            r = await stream.next_response()
            assert r.ByteSize() < 2 * 1024 * 1024
            events.extend(r.events)
    assert resps[0].created
    assert [ev.kv.mod_revision for ev in events] == list(range(2, 14))
    stream.close()


def _kube_txns(rng, keys: list[bytes], revs: dict[bytes, int]) -> pb.TxnRequest:
    """A random create/update/delete/compactor-step txn, as kube-apiserver sends them."""
    key = rng.choice(keys)
    known = revs.get(key, 0)
    expected = rng.choice([known, known, 0, known + 1])
    use_version = rng.random() < 0.2
    cmp = pb.Compare(key=key, result=pb.Compare.EQUAL)
    if use_version:
        cmp.target, cmp.version = pb.Compare.VERSION, rng.choice([0, 1, 2])
    else:
        cmp.target, cmp.mod_revision = pb.Compare.MOD, expected
    if rng.random() < 0.3:
        then = pb.RequestOp(request_delete_range=pb.DeleteRangeRequest(key=key, prev_kv=rng.random() < 0.5))
    else:
        then = pb.RequestOp(request_put=pb.PutRequest(key=key, value=b"%d" % rng.randrange(1000)))
    failure = [] if rng.random() < 0.3 else [pb.RequestOp(request_range=pb.RangeRequest(key=key))]
    return pb.TxnRequest(compare=[cmp], success=[then], failure=failure)


async def test_kube_txn_fast_path_answers_like_the_general_path(tmp_path):
    import random

    rng = random.Random(7)
    keys = [b"/registry/pods/default/p%d" % i for i in range(4)]
    async with (
        Store(_config(tmp_path / "fast")) as fast,
        Store(_config(tmp_path / "general", txn_fast_path=False)) as general,
    ):
        revs: dict[bytes, int] = {}
        for _ in range(300):
            req = _kube_txns(rng, keys, revs)
            a = await fast.txn(req)
            b = await general.txn(req)
            for resp in (a, b):
                resp.header.ClearField("cluster_id")
                resp.header.ClearField("member_id")
                resp.header.ClearField("raft_term")
            assert a == b, req
            state = await fast.range(pb.RangeRequest(key=req.compare[0].key))
            revs[req.compare[0].key] = state.kvs[0].mod_revision if state.kvs else 0
        assert fast.stats["fast_txns"] == 300
        assert general.stats["fast_txns"] == 0


async def test_automatic_compaction_keeps_the_newest_revisions(tmp_path):
    config = _config(tmp_path, compact_interval=0.2, compact_keep=5, checkpoint_interval=0)
    async with Store(config) as s:
        for i in range(30):
            await put(s, "auto", str(i))
        for _ in range(200):  # the compactor runs every 0.2 s; give it 10 s at most
            if s.compact_rev == 31 - 5:
                break
            await asyncio.sleep(0.05)
        assert s.compact_rev == 26
        with pytest.raises(errors.EtcdError) as exc:
            await s.range(pb.RangeRequest(key=b"auto", revision=25))
        assert exc.value is errors.COMPACTED
        kept = await s.range(pb.RangeRequest(key=b"auto", revision=26))
        assert kept.kvs[0].value == b"24"
