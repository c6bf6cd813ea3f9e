"""Object storage with upstream's etcd3 semantics, on the embedded store, over gRPC to our datastore,
and on a real etcd."""

from __future__ import annotations

import asyncio

import pytest

from distro.apiserver import status
from distro.apiserver.storage import ObjectStore, decode_continue, encode_continue
from kine_shim.etcdpb import rpc_pb2 as pb


def cm(name: str, ns: str = "default", **data: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": data,
    }


async def test_create_get_update_conflict_delete(ds):
    store = ObjectStore(ds, "configmaps")
    created = await store.create(cm("a", x="1"))
    rv = int(created["metadata"]["resourceVersion"])
    got = await store.get("default", "a")
    assert got == created
    with pytest.raises(status.StatusError) as exc:
        await store.create(cm("a"))
    assert (exc.value.code, exc.value.reason, exc.value.message) == (
        409,
        "AlreadyExists",
        'configmaps "a" already exists',
    )
    got["data"]["x"] = "2"
    updated = await store.update(got)
    assert int(updated["metadata"]["resourceVersion"]) == rv + 1
    with pytest.raises(status.StatusError) as exc:
        await store.update(got)  # still carries the old resourceVersion
    assert exc.value.code == 409 and exc.value.reason == "Conflict"
    assert exc.value.message == (
        'Operation cannot be fulfilled on configmaps "a": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    deleted = await store.delete("default", "a")
    assert deleted["data"] == {"x": "2"} and int(deleted["metadata"]["resourceVersion"]) == rv + 2
    with pytest.raises(status.StatusError) as exc:
        await store.get("default", "a")
    assert exc.value.status() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'configmaps "a" not found',
        "reason": "NotFound",
        "details": {"name": "a", "kind": "configmaps"},
        "code": 404,
    }


async def test_group_resources_are_named_with_their_group(ds):
    store = ObjectStore(ds, "deployments", "apps")
    await store.create({"metadata": {"name": "d", "namespace": "ns"}})
    with pytest.raises(status.StatusError) as exc:
        await store.create({"metadata": {"name": "d", "namespace": "ns"}})
    assert exc.value.message == 'deployments.apps "d" already exists'
    assert exc.value.details == {"name": "d", "kind": "deployments", "group": "apps"}


async def test_delete_preconditions(ds):
    store = ObjectStore(ds, "pods")
    obj = cm("p")
    obj["metadata"]["uid"] = "u-1"
    created = await store.create(obj)
    with pytest.raises(status.StatusError) as exc:
        await store.delete("default", "p", uid="u-2")
    assert exc.value.code == 409 and "UID in precondition: u-2, UID in object meta: u-1" in exc.value.message
    with pytest.raises(status.StatusError):
        await store.delete("default", "p", resource_version=int(created["metadata"]["resourceVersion"]) + 5)
    assert (await store.delete("default", "p", uid="u-1"))["metadata"]["uid"] == "u-1"


async def test_guaranteed_update_survives_concurrent_writers(ds):
    store = ObjectStore(ds, "configmaps")
    await store.create(cm("counter", n="0"))

    def bump(obj: dict) -> dict:
        obj["data"]["n"] = str(int(obj["data"]["n"]) + 1)
        return obj

    await asyncio.gather(*(store.guaranteed_update("default", "counter", bump) for _ in range(10)))
    assert (await store.get("default", "counter"))["data"]["n"] == "10"


async def test_paged_list_is_consistent_and_counts_remaining(ds):
    store = ObjectStore(ds, "configmaps")
    for i in range(25):
        await store.create(cm(f"c{i:02d}", ns="a" if i % 2 else "b"))
    await store.create(
        {"metadata": {"name": "other"}, "kind": "x"} | {"metadata": {"name": "z", "namespace": "a"}}
    )
    first = await store.list(limit=10)
    assert len(first.items) == 10 and first.remaining == 16 and first.continue_token
    # a write between pages must not show up: every page is read at the first page's revision
    await store.create(cm("late", ns="a"))
    names = [o["metadata"]["name"] for o in first.items]
    token = first.continue_token
    while token:
        page = await store.list(limit=10, continue_token=token)
        assert page.resource_version == first.resource_version
        names += [o["metadata"]["name"] for o in page.items]
        token = page.continue_token
    assert "late" not in names and len(names) == 26
    in_a = await store.list("a")
    assert sorted(o["metadata"]["name"] for o in in_a.items) == sorted(
        [f"c{i:02d}" for i in range(25) if i % 2] + ["z", "late"]
    )
    assert in_a.continue_token == "" and in_a.remaining is None


async def test_continue_tokens_round_trip_and_reject_garbage():
    prefix = b"/registry/pods/"
    token = encode_continue(prefix + b"ns/p1\x00", prefix, 42)
    assert decode_continue(token, prefix) == (prefix + b"ns/p1\x00", 42)
    for bad in ("%%%", "e30", encode_continue(prefix + b"../../secrets/x", prefix, 3)):
        with pytest.raises(status.StatusError) as exc:
            decode_continue(bad, prefix)
        assert exc.value.code == 400


async def test_list_at_compacted_and_future_revisions(ds):
    store = ObjectStore(ds, "configmaps")
    a = await store.create(cm("a"))
    b = await store.update({**a, "data": {"v": "1"}})
    await ds.compact(pb.CompactionRequest(revision=int(b["metadata"]["resourceVersion"])))
    with pytest.raises(status.StatusError) as exc:
        await store.list(resource_version=int(a["metadata"]["resourceVersion"]))
    assert (exc.value.code, exc.value.reason) == (410, "Expired")
    with pytest.raises(status.StatusError) as exc:
        await store.list(resource_version=10_000)
    assert exc.value.code == 504 and exc.value.message.startswith(
        "Too large resource version: 10000, current: "
    )


async def test_watch_types_and_expiry(ds):
    store = ObjectStore(ds, "configmaps")
    a = await store.create(cm("a"))
    start = int(a["metadata"]["resourceVersion"])
    b = await store.create(cm("b"))
    b["data"] = {"k": "v"}
    await store.update(b)
    await store.delete("default", "a")
    events = []
    async with asyncio.timeout(10):
        async for ev in store.watch(resource_version=start):
            events.append((ev.type, ev.object["metadata"]["name"], ev.revision))
            if len(events) == 3:
                break
    assert events == [("ADDED", "b", start + 1), ("MODIFIED", "b", start + 2), ("DELETED", "a", start + 3)]
    await ds.compact(pb.CompactionRequest(revision=start + 3))
    with pytest.raises(status.StatusError) as exc:
        async with asyncio.timeout(10):
            async for _ in store.watch(resource_version=start):
                pass
    assert exc.value.code == 410 and exc.value.message == f"too old resource version: {start} ({start + 3})"
