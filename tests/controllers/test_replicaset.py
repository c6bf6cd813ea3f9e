from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest

from distro.apiserver import status
from distro.controllers.apps_util import rank_for_deletion
from distro.controllers.client import resource
from distro.controllers.config import ControllerConfig
from distro.controllers.events import EventRecorder
from distro.controllers.informer import InformerFactory
from distro.controllers.podcontrol import EXPECTATIONS_TIMEOUT, Expectations
from distro.controllers.replicaset import (
    ReplicaSetController,
    pods_to_delete,
    replica_set_status,
    slow_start_batch,
)
from tests.controllers.fake_kubelet import FakeKubelet, LocalPods, running
from tests.controllers.harness import eventually

RS = resource("apps", "replicasets")
PODS = resource("", "pods")


def replica_set(name: str, replicas: int, min_ready: int = 0) -> dict:
    spec = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name, "tier": "web"}, "annotations": {"note": "from-template"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        },
    }
    if min_ready:
        spec["minReadySeconds"] = min_ready
    return {"metadata": {"name": name}, "spec": spec}


async def owned_pods(cluster, rs_name: str) -> list[dict]:
    rs = await cluster.get("apps", "replicasets", rs_name)
    uid = rs["metadata"]["uid"]
    return [
        p
        for p in await cluster.list("", "pods", "default")
        if any(
            r.get("uid") == uid and r.get("controller") for r in p["metadata"].get("ownerReferences") or []
        )
    ]


def active(pods: list[dict]) -> list[dict]:
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


async def events(cluster, reason: str) -> list[str]:
    return sorted(e["message"] for e in await cluster.list("", "events", "default") if e["reason"] == reason)


async def set_replicas(cluster, name: str, replicas: int) -> None:
    await patch(cluster, RS, name, {"spec": {"replicas": replicas}})


async def patch(cluster, rd, name: str, body: dict, subresource: str = "") -> dict:
    # no precondition: racing the controller's status writes must never answer 409
    return await cluster.client.patch(rd, "default", name, body, subresource=subresource)


# -- against the API server --


async def test_creates_pods_from_the_template_and_reports_status(cluster):
    await cluster.run_controllers(("replicaset",))
    async with running(FakeKubelet(LocalPods(cluster.client))):
        await cluster.create("apps", "replicasets", replica_set("web", 3))

        async def settled():
            st = (await cluster.get("apps", "replicasets", "web"))["status"]
            return st.get("availableReplicas") == 3 and st if st.get("observedGeneration") == 1 else None

        st = await eventually(settled)
    assert st == {
        "replicas": 3,
        "fullyLabeledReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "observedGeneration": 1,
    }
    pods = await owned_pods(cluster, "web")
    rs = await cluster.get("apps", "replicasets", "web")
    assert len(pods) == 3
    for pod in pods:
        meta = pod["metadata"]
        assert meta["generateName"] == "web-" and meta["name"].startswith("web-")
        assert meta["labels"] == {"app": "web", "tier": "web"}
        assert meta["annotations"] == {"note": "from-template"}
        assert meta["ownerReferences"] == [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web",
                "uid": rs["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    await cluster.manager.controllers["replicaset"].recorder.flush()
    assert await events(cluster, "SuccessfulCreate") == sorted(
        f"Created pod: {p['metadata']['name']}" for p in pods
    )


async def test_scaling_down_deletes_the_not_ready_pods_first(cluster):
    await cluster.run_controllers(("replicaset",))
    veterans: set[str] = set()
    kubelet = FakeKubelet(LocalPods(cluster.client), ready=lambda pod: pod["metadata"]["name"] in veterans)
    async with running(kubelet):
        await cluster.create("apps", "replicasets", replica_set("web", 2))
        veterans.update(p["metadata"]["name"] for p in await eventually(lambda: _count(cluster, "web", 2)))
        await eventually(lambda: _rs_status(cluster, "web", "readyReplicas", 2))
        await set_replicas(cluster, "web", 5)
        await eventually(lambda: _rs_status(cluster, "web", "replicas", 5))
        await set_replicas(cluster, "web", 2)
        survivors = await eventually(lambda: _count(cluster, "web", 2, only_active=False))
    assert {p["metadata"]["name"] for p in survivors} == veterans
    await cluster.manager.controllers["replicaset"].recorder.flush()
    assert len(await events(cluster, "SuccessfulDelete")) == 3


async def _count(cluster, rs_name: str, n: int, only_active: bool = True) -> list[dict] | None:
    pods = await owned_pods(cluster, rs_name)
    pods = active(pods) if only_active else pods
    return pods if len(pods) == n else None


async def _rs_status(cluster, name: str, field: str, value: int) -> bool:
    return (await cluster.get("apps", "replicasets", name))["status"].get(field, 0) == value


async def test_adopts_matching_orphans_and_releases_pods_that_stop_matching(cluster):
    orphan = await cluster.create(
        "",
        "pods",
        {
            "metadata": {"name": "stray", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        },
    )
    await cluster.run_controllers(("replicaset",))
    await cluster.create("apps", "replicasets", replica_set("web", 2))
    pods = await eventually(lambda: _count(cluster, "web", 2))
    assert "stray" in {p["metadata"]["name"] for p in pods}
    assert len(await cluster.list("", "pods", "default")) == 2  # adopted one, created only one

    await patch(cluster, PODS, "stray", {"metadata": {"labels": {"app": "elsewhere"}}})

    async def released():
        pod = await cluster.get("", "pods", "stray")
        return not pod["metadata"].get("ownerReferences") and await _count(cluster, "web", 2)

    pods = await eventually(released)
    assert "stray" not in {p["metadata"]["name"] for p in pods}
    assert (await cluster.get("", "pods", "stray"))["metadata"]["uid"] == orphan["metadata"]["uid"]


async def test_finished_pods_are_not_replicas(cluster):
    await cluster.run_controllers(("replicaset",))
    async with running(FakeKubelet(LocalPods(cluster.client))):
        await cluster.create("apps", "replicasets", replica_set("web", 2))
        await eventually(lambda: _rs_status(cluster, "web", "readyReplicas", 2))
        victim = (await owned_pods(cluster, "web"))[0]["metadata"]["name"]
        await patch(cluster, PODS, victim, {"status": {"phase": "Failed"}}, subresource="status")
        await eventually(lambda: _count(cluster, "web", 3, only_active=False))
        await eventually(lambda: _rs_status(cluster, "web", "readyReplicas", 2))
    assert (await cluster.get("apps", "replicasets", "web"))["status"]["replicas"] == 2
    assert (await cluster.get("", "pods", victim))["status"]["phase"] == "Failed"


async def test_available_only_after_min_ready_seconds_without_further_events(cluster):
    await cluster.run_controllers(("replicaset",))
    async with running(FakeKubelet(LocalPods(cluster.client))):
        await cluster.create("apps", "replicasets", replica_set("web", 2, min_ready=2))
        await eventually(lambda: _rs_status(cluster, "web", "readyReplicas", 2))
        ready_at = time.monotonic()
        st = (await cluster.get("apps", "replicasets", "web"))["status"]
        assert st.get("availableReplicas", 0) == 0
        await eventually(lambda: _rs_status(cluster, "web", "availableReplicas", 2), within=6)
    # timestamps have whole seconds: ready at t.9 counts from t, so at least ~1 s must have passed
    assert time.monotonic() - ready_at > 0.9


async def test_expectations_prevent_acting_twice_on_a_stale_cache(cluster):
    """Many syncs over the same cache, before the informer shows the pods created or deleted: each pod
    is created (and deleted) exactly once."""
    informers = InformerFactory(cluster.client)
    rsc = ReplicaSetController(
        cluster.client, informers, EventRecorder(cluster.client, "replicaset-controller"), ControllerConfig()
    )
    informers.start()
    try:
        await informers.wait_synced()
        await cluster.create("apps", "replicasets", replica_set("web", 5))
        await eventually(lambda: _cached(rsc, "web"))
        await _sync_concurrently(rsc, "default/web", 20)
        await eventually(lambda: _informer_sees(rsc, 5))
        for _ in range(5):
            await rsc.sync("default/web")
        assert len(await cluster.list("", "pods", "default")) == 5

        await set_replicas(cluster, "web", 1)
        await eventually(lambda: _cached(rsc, "web", replicas=1))
        await _sync_concurrently(rsc, "default/web", 20)
        await eventually(lambda: _informer_sees(rsc, 1))
        for _ in range(5):
            await rsc.sync("default/web")
        assert len(await cluster.list("", "pods", "default")) == 1
        await rsc.recorder.flush()
        assert len(await events(cluster, "SuccessfulCreate")) == 5
        assert len(await events(cluster, "SuccessfulDelete")) == 4
    finally:
        await informers.stop()


async def _sync_concurrently(rsc: ReplicaSetController, key: str, n: int) -> None:
    results = await asyncio.gather(*(rsc.sync(key) for _ in range(n)), return_exceptions=True)
    # racing status writes conflict (409) as they would between two controller processes
    assert all(r is None or (isinstance(r, status.StatusError) and r.code == 409) for r in results), results


async def _cached(rsc: ReplicaSetController, name: str, replicas: int | None = None) -> bool:
    rs = rsc.replicasets.get("default", name)
    return rs is not None and (replicas is None or rs["spec"]["replicas"] == replicas)


async def _informer_sees(rsc: ReplicaSetController, n: int) -> bool:
    return len(rsc.pods.list("default")) == n


# -- pure pieces --


def _pod(
    name: str, *, node: str = "n1", phase: str = "Running", ready_since: str | None = None, **extra
) -> dict:
    conditions = []
    if ready_since is not None:
        conditions.append({"type": "Ready", "status": "True", "lastTransitionTime": ready_since})
    pod = {
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": extra.get("uid", name),
            "creationTimestamp": extra.get("created", "2024-01-01T00:00:00Z"),
            "annotations": extra.get("annotations", {}),
            "labels": extra.get("labels", {}),
        },
        "spec": {"nodeName": node},
        "status": {
            "phase": phase,
            "conditions": conditions,
            "containerStatuses": [{"name": "c", "restartCount": extra.get("restarts", 0)}],
        },
    }
    return pod


NOW = dt.datetime(2024, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def _names(pods: list[dict]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (_pod("unassigned", node="", phase="Pending"), _pod("assigned", phase="Pending")),
        (_pod("pending", phase="Pending"), _pod("running")),
        (_pod("unknown", phase="Unknown"), _pod("running")),
        (_pod("not-ready"), _pod("ready", ready_since="2024-01-01T10:00:00Z")),
        (
            _pod(
                "cheap",
                ready_since="2024-01-01T10:00:00Z",
                annotations={"controller.kubernetes.io/pod-deletion-cost": "-5"},
            ),
            _pod("dear", ready_since="2024-01-01T10:00:00Z"),
        ),
        # ready 1 minute vs ready 2 hours: different power-of-two age buckets
        (
            _pod("ready-briefly", ready_since="2024-01-01T11:59:00Z"),
            _pod("ready-long", ready_since="2024-01-01T10:00:00Z"),
        ),
        (_pod("crashy", restarts=7), _pod("steady", restarts=0)),
        (_pod("newer", created="2024-01-01T11:59:00Z"), _pod("older", created="2024-01-01T08:00:00Z")),
    ],
)
def test_deletion_preference_follows_upstream_rules(first, second):
    assert _names(rank_for_deletion([second, first], [0, 0], NOW)) == _names([first, second])
    assert _names(rank_for_deletion([first, second], [0, 0], NOW)) == _names([first, second])


def test_same_age_bucket_breaks_ties_by_uid():
    a = _pod("a", created="2024-01-01T11:00:00Z", uid="uid-b")
    b = _pod("b", created="2024-01-01T11:00:01Z", uid="uid-a")
    # both about an hour old: same logarithmic bucket, so the UID decides, not the second between them
    assert _names(rank_for_deletion([a, b], [0, 0], NOW)) == ["b", "a"]


def test_pods_doubled_up_with_siblings_go_first():
    crowded = [_pod(f"crowded-{i}", node="n1") for i in range(2)]
    alone = _pod("alone", node="n2")
    pods = [alone, *crowded]
    assert _names(pods_to_delete(pods, pods, 1, NOW))[0].startswith("crowded")
    assert _names(pods_to_delete(pods, [], 3, NOW)) == _names(pods)


def test_status_counts_labels_readiness_availability_and_failures():
    rs = replica_set("web", 3, min_ready=10)
    rs["metadata"]["generation"] = 2
    pods = [
        _pod("a", ready_since="2024-01-01T11:00:00Z", labels={"app": "web", "tier": "web"}),
        _pod("b", ready_since="2024-01-01T11:59:55Z", labels={"app": "web"}),
        _pod("c", labels={"app": "web", "tier": "web"}),
    ]
    assert replica_set_status(rs, pods, None, NOW) == {
        "replicas": 3,
        "fullyLabeledReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 1,
    }
    failed = replica_set_status(rs, pods[:1], status.StatusError(403, "Forbidden", "quota exceeded"), NOW)
    assert failed["conditions"] == [
        {
            "type": "ReplicaFailure",
            "status": "True",
            "lastTransitionTime": "2024-01-01T12:00:00Z",
            "reason": "FailedCreate",
            "message": "quota exceeded",
        }
    ]
    rs["status"] = failed
    assert "conditions" not in replica_set_status(rs, pods, None, NOW)


async def test_slow_start_batches_double_and_stop_at_the_first_failing_batch():
    batches: list[int] = []
    in_flight = 0

    async def create() -> bool:
        nonlocal in_flight
        in_flight += 1
        batches.append(in_flight)
        call = len(batches)
        await asyncio.sleep(0)
        in_flight -= 1
        if call > 5:
            raise status.StatusError(403, "Forbidden", "quota")
        return True

    created, error = await slow_start_batch(20, 1, create)
    # batches of 1, 2 and 4 run; the 4-batch holds calls 4..7, of which 6 and 7 fail
    assert created == 5 and error is not None and error.message == "quota"
    assert len(batches) == 7 and max(batches) == 4


def test_expectations_block_until_observed_or_expired():
    clock = [0.0]
    exp = Expectations(clock=lambda: clock[0])
    assert exp.satisfied("ns/rs")
    exp.expect_creations("ns/rs", 2)
    exp.creation_observed("ns/rs")
    assert not exp.satisfied("ns/rs")
    exp.creation_observed("ns/rs")
    assert exp.satisfied("ns/rs")
    exp.expect_deletions("ns/rs", ["ns/a", "ns/b"])
    exp.deletion_observed("ns/rs", "ns/a")
    exp.deletion_observed("ns/rs", "ns/a")  # seen terminating, then seen gone: counts once
    assert not exp.satisfied("ns/rs")
    clock[0] = EXPECTATIONS_TIMEOUT + 1
    assert exp.satisfied("ns/rs")
