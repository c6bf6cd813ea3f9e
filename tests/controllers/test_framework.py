"""The controller framework itself: work queue semantics and informers that survive watch loss."""

from __future__ import annotations

import asyncio

from distro.controllers.client import resource
from distro.controllers.informer import Informer
from distro.controllers.workqueue import WorkQueue
from tests.controllers.harness import eventually


async def test_queue_dedupes_and_never_hands_a_key_to_two_workers():
    q = WorkQueue()
    q.add("a")
    q.add("a")
    q.add("b")
    assert len(q) == 2
    first = await q.get()
    assert first == "a"
    q.add("a")  # while processing: remembered, not queued twice
    assert len(q) == 1
    second = await q.get()
    assert second == "b"
    q.done("a")
    assert await asyncio.wait_for(q.get(), 1) == "a"


async def test_rate_limited_backoff_grows_and_forget_resets():
    q = WorkQueue()
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(4):
        q.add_rate_limited("k")
        key = await asyncio.wait_for(q.get(), 2)
        q.done(key)
    # 5 + 10 + 20 + 40 ms of backoff at least
    assert loop.time() - started >= 0.07
    q.forget("k")
    t0 = loop.time()
    q.add_rate_limited("k")
    await asyncio.wait_for(q.get(), 2)
    assert loop.time() - t0 < 0.05


async def test_add_after_keeps_the_earliest_due_time():
    q = WorkQueue()
    q.add_after("x", 5)
    q.add_after("x", 0.01)
    assert await asyncio.wait_for(q.get(), 1) == "x"


async def test_informer_follows_changes_and_recovers_after_the_server_drops_watches(cluster):
    cms = resource("", "configmaps")
    seen: list[tuple[str | None, str | None]] = []
    inf = Informer(cluster.client, cms, namespace="default")
    inf.add_handler(
        lambda old, new: seen.append(
            ((old or {}).get("metadata", {}).get("name"), (new or {}).get("metadata", {}).get("name"))
        )
    )
    task = asyncio.create_task(inf.run())
    try:
        await asyncio.wait_for(inf.synced.wait(), 5)
        await cluster.create("", "configmaps", {"metadata": {"name": "one"}})
        await eventually(lambda: _has(inf, "one"))
        # the watch cache relists after compaction-like resets: simulate by restarting the cache
        res = cluster.api.resources[("", "configmaps")]
        await res.cache.stop()
        await res.cache.start()
        await cluster.create("", "configmaps", {"metadata": {"name": "two"}})
        await cluster.client.delete(cms, "default", "one")
        await eventually(lambda: _has(inf, "two"))
        await eventually(lambda: _gone(inf, "one"))
        assert (None, "one") in seen and ("one", None) in seen and (None, "two") in seen
    finally:
        task.cancel()


async def _has(inf: Informer, name: str) -> bool:
    return inf.get("default", name) is not None


async def _gone(inf: Informer, name: str) -> bool:
    return inf.get("default", name) is None
