"""A client-go-style reflector: list at rv=0, watch from the list's resourceVersion, across 1,000 writes
made concurrently. Every write must be seen exactly once, in order, and the final state must match."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from tests.e2e.apiserver import ssl_context

pytestmark = pytest.mark.e2e

WRITES = 1000


async def test_reflector_loses_and_duplicates_nothing(edge):
    ctx = ssl_context(edge, edge.kubeconfig)
    base = f"{edge.url}/api/v1/namespaces/default/configmaps"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx, limit=8)) as http:
        async with http.get(base, params={"resourceVersion": "0"}) as resp:
            assert resp.status == 200
            listed = await resp.json()
        state = {o["metadata"]["name"]: o for o in listed["items"]}
        list_rv = int(listed["metadata"]["resourceVersion"])
        seen: list[tuple[str, int]] = []
        written: set[int] = set()

        async def reflect() -> None:
            params = {
                "watch": "1",
                "resourceVersion": str(list_rv),
                "allowWatchBookmarks": "true",
                "timeoutSeconds": "120",
            }
            async with http.get(base, params=params, timeout=aiohttp.ClientTimeout(total=150)) as resp:
                assert resp.status == 200
                async for line in resp.content:
                    event = json.loads(line)
                    assert event["type"] != "ERROR", event
                    rv = int(event["object"]["metadata"]["resourceVersion"])
                    if event["type"] == "BOOKMARK":
                        continue
                    name = event["object"]["metadata"]["name"]
                    seen.append((event["type"], rv))
                    if event["type"] == "DELETED":
                        state.pop(name, None)
                    else:
                        state[name] = event["object"]
                    if name == "refl-sentinel":
                        # written after every other write was acknowledged: nothing can follow it
                        return

        async def write(i: int) -> None:
            name = f"refl-{i % 100}"
            body = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name},
                "data": {"i": str(i)},
            }
            async with http.post(base, json=body) as resp:
                if resp.status == 201:
                    written.add(int((await resp.json())["metadata"]["resourceVersion"]))
                    return
                assert resp.status == 409, await resp.text()
            if i % 7 == 0:
                # a delete answers with a Status, not a revision: the final state comparison covers deletes
                async with http.delete(f"{base}/{name}") as resp:
                    assert resp.status in (200, 404), await resp.text()
                return
            patch = {"data": {"i": str(i)}}
            async with http.patch(
                f"{base}/{name}",
                data=json.dumps(patch),
                headers={"Content-Type": "application/merge-patch+json"},
            ) as resp:
                if resp.status == 200:
                    written.add(int((await resp.json())["metadata"]["resourceVersion"]))
                else:
                    assert resp.status == 404, await resp.text()

        reflector = asyncio.create_task(reflect())
        sem = asyncio.Semaphore(8)

        async def bounded(i: int) -> None:
            async with sem:
                await write(i)

        await asyncio.gather(*(bounded(i) for i in range(WRITES)))
        # a last write after the others: its event tells the reflector it has everything
        sentinel = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "refl-sentinel"}}
        async with http.post(base, json=sentinel) as resp:
            assert resp.status == 201
            written.add(int((await resp.json())["metadata"]["resourceVersion"]))
        await asyncio.wait_for(reflector, 120)

        revisions = [rv for _, rv in seen]
        assert revisions == sorted(revisions), "events out of order"
        assert len(revisions) == len(set(revisions)), "duplicate events"
        assert written <= set(revisions), f"lost {len(written - set(revisions))} events"
        async with http.get(base) as resp:
            truth = {o["metadata"]["name"]: o for o in (await resp.json())["items"]}
        assert {n: o["metadata"]["resourceVersion"] for n, o in state.items()} == {
            n: o["metadata"]["resourceVersion"] for n, o in truth.items()
        }


async def test_watch_list_sends_initial_events_then_the_end_bookmark(edge):
    """sendInitialEvents (client-go's WatchList): the current objects as ADDED, then a bookmark annotated
    k8s.io/initial-events-end, then changes; without the required parameters it is refused (422)."""
    ctx = ssl_context(edge, edge.kubeconfig)
    edge.kubectl("create", "namespace", "wl")
    base = f"{edge.url}/api/v1/namespaces/wl/configmaps"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as http:
        for name in ("a", "b"):
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
            async with http.post(base, json=body) as resp:
                assert resp.status == 201
        params = {
            "watch": "1",
            "sendInitialEvents": "true",
            "resourceVersionMatch": "NotOlderThan",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": "10",
        }
        async with http.get(base, params=params) as resp:
            assert resp.status == 200
            events = []
            async for line in resp.content:
                events.append(json.loads(line))
                if events[-1]["type"] == "BOOKMARK":
                    break
            async with http.post(
                base, json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
            ):
                pass
            events.append(json.loads(await resp.content.readline()))
        assert [(e["type"], e["object"]["metadata"].get("name")) for e in events] == [
            ("ADDED", "a"),
            ("ADDED", "b"),
            ("BOOKMARK", None),
            ("ADDED", "c"),
        ]
        assert events[2]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
        async with http.get(base, params={"watch": "1", "sendInitialEvents": "true"}) as resp:
            assert resp.status == 422
            assert (await resp.json())["reason"] == "Invalid"
