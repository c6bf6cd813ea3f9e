"""The watch cache over a real embedded store (and once over a real etcd): lists from memory, one
datastore watch shared by every API watcher, selector transitions, expiry, freshness and slow watchers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import grpc
import pytest

from distro.apiserver import status
from distro.apiserver.storage import ObjectStore, encode
from distro.apiserver.watchcache import Bookmark, CacheEvent, CacheWatcher, WatchCache
from kine_shim.client import Datastore, EmbeddedDatastore, RemoteDatastore, Watch
from kine_shim.errors import EtcdError
from kine_shim.etcdpb import rpc_pb2 as pb
from kine_shim.store import Store, StoreConfig
from tests.support import Server, etcd_argv

WAIT = 15.0


# -- a real Datastore wrapper that counts watches and can cut them like a dropped connection --


class CuttableWatch:
    def __init__(self, inner: Watch) -> None:
        self._inner = inner
        self.watch_id = inner.watch_id
        self._cut = asyncio.Event()
        self.closed = False

    def cut(self) -> None:
        self._cut.set()

    async def __aiter__(self) -> AsyncIterator[pb.WatchResponse]:
        responses = aiter(self._inner)

        async def next_response() -> pb.WatchResponse:
            return await anext(responses)

        cut = asyncio.ensure_future(self._cut.wait())
        try:
            while True:
                pending = asyncio.ensure_future(next_response())
                await asyncio.wait({pending, cut}, return_when=asyncio.FIRST_COMPLETED)
                if not pending.done():
                    pending.cancel()
                    raise EtcdError(grpc.StatusCode.UNAVAILABLE, "connection cut by the test")
                try:
                    resp = pending.result()
                except StopAsyncIteration:
                    return
                yield resp
        finally:
            cut.cancel()

    async def request_progress(self) -> None:
        await self._inner.request_progress()

    async def close(self) -> None:
        self.closed = True
        await self._inner.close()


class CountingDatastore:
    """Passes every call through; records the watches opened and can hold new ones back."""

    def __init__(self, inner: Datastore) -> None:
        self._inner = inner
        self.watches: list[CuttableWatch] = []
        self.watches_allowed = asyncio.Event()
        self.watches_allowed.set()

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    async def watch(self, req: pb.WatchCreateRequest) -> CuttableWatch:
        await self.watches_allowed.wait()
        watch = CuttableWatch(await self._inner.watch(req))
        self.watches.append(watch)
        return watch


async def open_embedded(tmp_path, **config) -> tuple[Store, CountingDatastore]:
    store = Store(StoreConfig(db_path=tmp_path / "db" / "state.db", synchronous="NORMAL", **config))
    await store.start()
    return store, CountingDatastore(EmbeddedDatastore(store))


@pytest.fixture
async def ds(tmp_path):
    store, counting = await open_embedded(tmp_path)
    yield counting
    await store.close()


@contextlib.asynccontextmanager
async def running(cache: WatchCache) -> AsyncIterator[WatchCache]:
    await cache.start()
    try:
        yield cache
    finally:
        await cache.stop()


# -- helpers --


def cm(name: str, ns: str = "default", **data: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": data,
    }


def pod(name: str, node: str = "", app: str = "", ns: str = "default") -> dict:
    meta: dict = {"name": name, "namespace": ns}
    if app:
        meta["labels"] = {"app": app}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"nodeName": node}}


def rv(obj: dict) -> int:
    return int(obj["metadata"]["resourceVersion"])


def summary(ev: CacheEvent) -> tuple[str, str, int]:
    assert int(ev.object["metadata"]["resourceVersion"]) == ev.revision
    return ev.type, ev.object["metadata"]["name"], ev.revision


async def take(watcher: CacheWatcher, count: int, within: float = WAIT) -> list:
    out = []
    async with asyncio.timeout(within):
        async for item in watcher:
            out.append(item)
            if len(out) == count:
                break
    return out


async def ready_now(watcher: CacheWatcher) -> list:
    """What the watcher can yield without waiting (the cache dispatches before its revision moves)."""
    out = []
    while True:
        task = asyncio.ensure_future(anext(watcher))
        await asyncio.sleep(0)
        if not task.done():
            task.cancel()
            return out
        try:
            out.append(task.result())
        except StopAsyncIteration:
            return out


async def ends(watcher: CacheWatcher) -> list:
    """Iterates to the end (bounded in time): what a terminated watcher still yields."""
    async with asyncio.timeout(WAIT):
        return [item async for item in watcher]


def node_of(obj: dict) -> str:
    return obj.get("spec", {}).get("nodeName", "")


def app_of(obj: dict) -> str:
    return obj["metadata"].get("labels", {}).get("app", "")


# -- tests --


async def test_snapshot_equals_store_list(ds):
    store = ObjectStore(ds, "configmaps")
    # "a-b" sorts before "a/" as keys: the snapshot must follow key order, not (namespace, name)
    for i in range(30):
        await store.create(cm(f"c{i:02d}", ns=("a", "a-b", "b")[i % 3], n=str(i)))
    await store.update({**(await store.get("a", "c00")), "data": {"n": "changed"}})
    await store.delete("b", "c02")
    async with running(WatchCache(store)) as cache:
        listed = await store.list()
        items, revision = cache.snapshot()
        assert items == listed.items and revision == listed.resource_version
        assert [o["metadata"]["namespace"] for o in items][:10] == ["a-b"] * 10
        for ns in ("a", "a-b", "b", "none"):
            assert cache.snapshot(ns)[0] == (await store.list(ns)).items
        assert cache.get("a", "c00") == await store.get("a", "c00")
        assert cache.get("b", "c02") is None

        await store.delete("a", "c03")
        await store.create(cm("late", ns="a-b"))
        last = await store.update({**(await store.get("b", "c05")), "data": {}})
        await cache.wait_fresh(rv(last))
        items, revision = cache.snapshot()
        listed = await store.list()
        assert items == listed.items and revision == listed.resource_version == rv(last)


async def test_watch_from_snapshot_sees_1000_writes_exactly_once(ds):
    store = ObjectStore(ds, "configmaps")
    for i in range(20):
        await store.create(cm(f"w{i}"))
    async with running(WatchCache(store)) as cache:
        _, start = cache.snapshot()
        watcher = cache.watch(None, start)
        reader = asyncio.create_task(take(watcher, 1000, within=120))
        expected: list[tuple[str, str, int]] = []

        existing = {o["metadata"]["name"]: o for o in cache.snapshot()[0]}

        async def lane(lane_no: int) -> None:
            names = [f"w{lane_no * 10 + k}" for k in range(10)]
            live = {name: existing[name] for name in names if name in existing}
            for i in range(100):
                name = names[i % 10]
                if name not in live:
                    live[name] = await store.create(cm(name, i=str(i)))
                    expected.append(("ADDED", name, rv(live[name])))
                elif i % 7 == 0:
                    gone = await store.delete("default", name)
                    del live[name]
                    expected.append(("DELETED", name, rv(gone)))
                else:
                    live[name] = await store.update({**live[name], "data": {"i": str(i)}})
                    expected.append(("MODIFIED", name, rv(live[name])))

        await asyncio.gather(*(lane(n) for n in range(10)))
        events = await reader
        assert len(expected) == 1000
        assert [summary(ev) for ev in events] == sorted(expected, key=lambda e: e[2])
        await cache.wait_fresh(max(e[2] for e in expected))
        assert await ready_now(watcher) == [] and not watcher.ended
        assert cache.snapshot()[0] == (await store.list()).items


async def test_200_selective_watchers_share_one_datastore_watch(ds):
    store = ObjectStore(ds, "pods")
    async with running(WatchCache(store)) as cache:
        calls = [0] * 200

        def on_node(i: int):
            def matches(obj: dict) -> bool:
                calls[i] += 1
                return node_of(obj) == f"node-{i}"

            return matches

        # even watchers give the index hint, odd ones rely on the predicate alone
        watchers = [
            cache.watch(
                None,
                cache.revision,
                predicate=on_node(i),
                key_hint=("spec.nodeName", f"node-{i}") if i % 2 == 0 else None,
            )
            for i in range(200)
        ]
        last = 0
        for j in range(400):
            last = rv(await store.create(pod(f"p{j}", node=f"node-{j % 200}")))
        await cache.wait_fresh(last)
        for i, watcher in enumerate(watchers):
            got = await ready_now(watcher)
            assert [(ev.type, ev.object["metadata"]["name"]) for ev in got] == [
                ("ADDED", f"p{i}"),
                ("ADDED", f"p{i + 200}"),
            ]
        assert len(ds.watches) == 1
        # dispatch through the index only asks hinted watchers about their own node's pods
        assert all(calls[i] == 2 for i in range(0, 200, 2))
        assert all(calls[i] == 400 for i in range(1, 200, 2))


async def test_selector_enter_and_leave_become_added_and_deleted(ds):
    store = ObjectStore(ds, "pods")
    await store.create(pod("seed", app="web"))
    await store.create(pod("other-ns", app="web", ns="elsewhere"))
    async with running(WatchCache(store)) as cache:
        web = cache.watch("default", cache.revision, predicate=lambda o: app_of(o) == "web")
        from_zero = cache.watch("default", 0, predicate=lambda o: app_of(o) == "web")
        p = await store.create(pod("p", app="db"))
        entered = await store.update({**p, "metadata": {**p["metadata"], "labels": {"app": "web"}}})
        touched = await store.update({**entered, "spec": {"nodeName": "n1"}})
        left = await store.update({**touched, "metadata": {**touched["metadata"], "labels": {"app": "db"}}})
        back = await store.update({**left, "metadata": {**left["metadata"], "labels": {"app": "web"}}})
        gone = await store.delete("default", "p")
        await store.create(pod("q", app="web", ns="elsewhere"))
        await cache.wait_fresh(rv(gone) + 1)

        events = await ready_now(web)
        assert [summary(ev) for ev in events] == [
            ("ADDED", "p", rv(entered)),
            ("MODIFIED", "p", rv(touched)),
            ("DELETED", "p", rv(left)),
            ("ADDED", "p", rv(back)),
            ("DELETED", "p", rv(gone)),
        ]
        # leaving the selector: upstream sends the last matching content at the leaving revision
        assert app_of(events[2].object) == "web" and node_of(events[2].object) == "n1"
        assert events[2].prev is not None and rv(events[2].prev) == rv(touched)

        initial, *changes = await ready_now(from_zero)
        assert (initial.type, initial.object["metadata"]["name"], initial.prev) == ("ADDED", "seed", None)
        assert initial.revision == rv(p) - 1  # the cache revision the initial state was taken at
        assert [summary(ev) for ev in changes] == [summary(ev) for ev in events]


async def test_too_old_resource_version_is_410_expired(ds):
    store = ObjectStore(ds, "configmaps")
    await store.create(cm("c"))
    async with running(WatchCache(store, history=5)) as cache:
        listed_at = cache.revision
        with pytest.raises(status.StatusError) as exc:
            cache.watch(None, listed_at - 1)
        assert (exc.value.code, exc.value.reason) == (410, "Expired")
        assert exc.value.message == f"too old resource version: {listed_at - 1} ({listed_at})"
        early = cache.watch(None, listed_at)

        revisions = []
        for i in range(8):
            revisions.append(rv(await store.create(cm(f"n{i}"))))
        await cache.wait_fresh(revisions[-1])
        # five events kept: revisions[3:]; a watch may resume from just before the oldest kept one
        oldest = revisions[3] - 1
        with pytest.raises(status.StatusError) as exc:
            cache.watch(None, oldest - 1)
        assert exc.value.code == 410
        assert exc.value.message == f"too old resource version: {oldest - 1} ({oldest})"
        resumed = cache.watch(None, oldest)
        assert [ev.revision for ev in await ready_now(resumed)] == revisions[3:]
        assert [ev.revision for ev in await ready_now(early)] == revisions


async def test_wait_fresh_times_out_with_504_too_large_resource_version(ds):
    store = ObjectStore(ds, "configmaps")
    async with running(WatchCache(store)) as cache:
        current = cache.revision
        started = time.monotonic()
        with pytest.raises(status.StatusError) as exc:
            await cache.wait_fresh(current + 100, timeout=0.3)
        assert 0.3 <= time.monotonic() - started < 3
        assert exc.value.status() == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": f"Too large resource version: {current + 100}, current: {current}",
            "reason": "Timeout",
            "details": {
                "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                "retryAfterSeconds": 1,
            },
            "code": 504,
        }


async def test_slow_watcher_is_closed_while_others_keep_receiving(ds):
    store = ObjectStore(ds, "configmaps")
    async with running(WatchCache(store)) as cache:
        start = cache.revision
        slow = cache.watch(None, start, queue_size=10)
        fast = cache.watch(None, start)
        reader = asyncio.create_task(take(fast, 50))
        expected = []
        for i in range(50):
            expected.append(("ADDED", f"c{i}", rv(await store.create(cm(f"c{i}")))))
        assert [summary(ev) for ev in await reader] == expected
        assert slow.ended and not fast.ended
        assert await ends(slow) == []
        late = cache.watch(None, start)  # the client re-watches from its last revision
        assert [summary(ev) for ev in await ready_now(late)] == expected


async def test_idle_resource_revision_follows_writes_to_other_keys(ds):
    configmaps, secrets = ObjectStore(ds, "configmaps"), ObjectStore(ds, "secrets")
    async with running(WatchCache(configmaps, bookmark_interval=0.2)) as cache:
        marks = cache.watch(None, cache.revision, bookmarks=True)
        plain = cache.watch(None, cache.revision)
        elsewhere = rv(await secrets.create({"metadata": {"name": "s", "namespace": "default"}}))
        assert cache.revision < elsewhere
        started = time.monotonic()
        await cache.wait_fresh(elsewhere)  # asks the datastore for a progress notification
        assert cache.revision >= elsewhere and time.monotonic() - started < 2
        assert cache.snapshot() == ([], cache.revision)
        async with asyncio.timeout(WAIT):
            async for item in marks:
                assert isinstance(item, Bookmark)
                if item.revision >= elsewhere:
                    break
        assert await ready_now(plain) == []  # bookmarks only for those who asked


async def test_periodic_progress_notifications_advance_an_idle_cache(tmp_path):
    store, ds = await open_embedded(tmp_path, progress_notify_interval=0.2)
    try:
        async with running(WatchCache(ObjectStore(ds, "configmaps"))) as cache:
            await asyncio.sleep(0.3)  # past the cache's own progress request at start
            elsewhere = rv(
                await ObjectStore(ds, "secrets").create({"metadata": {"name": "s", "namespace": "x"}})
            )
            for _ in range(int(WAIT / 0.05)):  # nobody asks: the datastore's own notifications
                if cache.revision >= elsewhere:
                    break
                await asyncio.sleep(0.05)
            assert cache.revision >= elsewhere
    finally:
        await store.close()


async def test_broken_datastore_watch_resumes_without_loss(ds):
    store = ObjectStore(ds, "configmaps")
    async with running(WatchCache(store)) as cache:
        watcher = cache.watch(None, cache.revision)
        expected = [("ADDED", f"a{i}", rv(await store.create(cm(f"a{i}")))) for i in range(5)]
        await cache.wait_fresh(expected[-1][2])
        ds.watches[0].cut()
        expected += [("ADDED", f"b{i}", rv(await store.create(cm(f"b{i}")))) for i in range(5)]
        await cache.wait_fresh(expected[-1][2], timeout=WAIT)
        assert [summary(ev) for ev in await take(watcher, 10)] == expected
        assert not watcher.ended and len(ds.watches) == 2 and ds.watches[0].closed


async def test_compaction_under_the_cache_relists_and_ends_watchers(ds):
    store = ObjectStore(ds, "configmaps")
    kept = await store.create(cm("kept"))
    await store.create(cm("doomed"))
    async with running(WatchCache(store)) as cache:
        before = cache.revision
        watcher = cache.watch(None, before)
        ds.watches_allowed.clear()
        ds.watches[0].cut()
        await store.delete("default", "doomed")
        fresh = await store.create(cm("fresh"))
        changed = await store.update({**kept, "data": {"v": "2"}})
        await ds.compact(pb.CompactionRequest(revision=rv(changed)))
        ds.watches_allowed.set()

        await cache.wait_fresh(rv(changed), timeout=WAIT)
        assert cache.snapshot()[0] == (await store.list()).items
        assert [o["metadata"]["name"] for o in cache.snapshot()[0]] == ["fresh", "kept"]
        assert rv(cache.get("default", "fresh")) == rv(fresh)
        assert watcher.ended and await ends(watcher) == []  # its client must list again
        with pytest.raises(status.StatusError) as exc:
            cache.watch(None, before)
        assert exc.value.code == 410
        assert len(ds.watches) == 3  # cut, refused as compacted, after the relist
        after = cache.watch(None, cache.revision)
        last = await store.create(cm("after"))
        await cache.wait_fresh(rv(last))
        assert [summary(ev) for ev in await ready_now(after)] == [("ADDED", "after", rv(last))]


async def test_compaction_without_changes_to_the_resource_keeps_watchers(ds):
    store, secrets = ObjectStore(ds, "configmaps"), ObjectStore(ds, "secrets")
    await store.create(cm("c"))
    async with running(WatchCache(store)) as cache:
        watcher = cache.watch(None, cache.revision)
        ds.watches_allowed.clear()
        ds.watches[0].cut()
        for i in range(3):
            other = await secrets.create({"metadata": {"name": f"s{i}", "namespace": "default"}})
        await ds.compact(pb.CompactionRequest(revision=rv(other)))
        ds.watches_allowed.set()
        await cache.wait_fresh(rv(other), timeout=WAIT)
        assert len(ds.watches) == 3 and not watcher.ended
        last = await store.create(cm("d"))
        await cache.wait_fresh(rv(last))
        assert [summary(ev) for ev in await ready_now(watcher)] == [("ADDED", "d", rv(last))]


async def test_stop_ends_watchers_and_the_datastore_watch(ds):
    store = ObjectStore(ds, "configmaps")
    cache = WatchCache(store)
    await cache.start()
    watchers = [cache.watch(None, 0), cache.watch("default", cache.revision, bookmarks=True)]
    waiting = asyncio.create_task(ends(watchers[1]))
    await asyncio.sleep(0)
    await cache.stop()
    assert await waiting == [] and all(w.ended for w in watchers)
    assert ds.watches[0].closed
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("watchcache")]
    with pytest.raises(RuntimeError):
        cache.watch(None, 0)


@pytest.mark.e2e
@pytest.mark.oracle
async def test_against_real_etcd(tmp_path):
    server = await asyncio.to_thread(Server(tmp_path / "etcd", etcd_argv(), tmp_path / "etcd.log").start)
    remote = RemoteDatastore(server.url)
    ds = CountingDatastore(remote)
    try:
        store, secrets = ObjectStore(ds, "configmaps"), ObjectStore(ds, "secrets")
        for i in range(20):
            await store.create(cm(f"c{i}", ns=("a", "a-b")[i % 2]))
        async with running(WatchCache(store, history=50)) as cache:
            listed = await store.list()
            assert cache.snapshot() == (listed.items, listed.resource_version)
            assert cache.snapshot("a")[0] == (await store.list("a")).items
            watcher = cache.watch(None, cache.revision)
            expected = []
            for i in range(100):
                name = f"c{i % 20}"
                ns = ("a", "a-b")[i % 2]
                updated = await store.update({**(await store.get(ns, name)), "data": {"i": str(i)}})
                expected.append(("MODIFIED", name, rv(updated)))
            assert [summary(ev) for ev in await take(watcher, 100)] == expected
            with pytest.raises(status.StatusError) as exc:
                cache.watch(None, listed.resource_version)  # 100 events happened, 50 kept
            assert exc.value.code == 410
            elsewhere = rv(await secrets.create({"metadata": {"name": "s", "namespace": "a"}}))
            await cache.wait_fresh(elsewhere)  # etcd's progress notification moves the idle cache
            assert cache.revision >= elsewhere and len(ds.watches) == 1
    finally:
        await remote.close()
        await asyncio.to_thread(server.stop)


async def test_several_keys_written_in_one_revision_all_reach_watchers(ds):
    store = ObjectStore(ds, "configmaps")
    async with running(WatchCache(store)) as cache:
        start = cache.revision
        live = cache.watch(None, start)
        puts = [
            pb.RequestOp(request_put=pb.PutRequest(key=store.key("default", name), value=encode(cm(name))))
            for name in ("x", "y")
        ]
        revision = (await ds.txn(pb.TxnRequest(success=puts))).header.revision
        await cache.wait_fresh(revision)
        both = [("ADDED", "x", revision), ("ADDED", "y", revision)]
        assert [summary(ev) for ev in await ready_now(live)] == both
        assert [summary(ev) for ev in await ready_now(cache.watch(None, start))] == both
        assert cache.snapshot()[0] == (await store.list()).items
