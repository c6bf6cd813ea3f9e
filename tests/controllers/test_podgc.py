from __future__ import annotations

from distro.apiserver import status
from distro.controllers.client import resource
from distro.controllers.podgc import PodGCController
from tests.controllers.harness import eventually


def pod(name: str, node: str = "") -> dict:
    spec = {"containers": [{"name": "c", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name}, "spec": spec}


async def exists(cluster, name: str) -> bool:
    try:
        await cluster.get("", "pods", name)
        return True
    except status.StatusError as exc:
        assert exc.code == 404
        return False


async def test_pods_of_a_deleted_node_are_force_deleted_after_quarantine(cluster, monkeypatch):
    monkeypatch.setattr(PodGCController, "quarantine", 0.5)
    await cluster.create("", "nodes", {"metadata": {"name": "edge-1"}}, "")
    await cluster.create("", "nodes", {"metadata": {"name": "edge-2"}}, "")
    await cluster.create("", "pods", pod("on-1", "edge-1"))
    await cluster.create("", "pods", pod("on-2", "edge-2"))
    await cluster.create("", "pods", pod("on-ghost", "never-existed"))
    await cluster.run_controllers(("podgc",))
    await cluster.client.delete(resource("", "nodes"), "", "edge-1")

    async def collected() -> bool:
        return not await exists(cluster, "on-1") and not await exists(cluster, "on-ghost")

    await eventually(collected, within=10)
    assert await exists(cluster, "on-2")


async def test_unscheduled_terminating_pod_is_finished(cluster):
    created = await cluster.create(
        "", "pods", {**pod("stuck"), "metadata": {"name": "stuck", "finalizers": []}}
    )
    assert created["metadata"]["name"] == "stuck"
    await cluster.run_controllers(("podgc",))
    # a bound pod with a grace period keeps its deletionTimestamp; unbinding is impossible, so mark one
    # that was never scheduled the way an interrupted delete leaves it
    res = cluster.api.resources[("", "pods")]

    def mark(obj: dict) -> dict:
        obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        obj["metadata"]["deletionGracePeriodSeconds"] = 30
        return obj

    await res.store.guaranteed_update("default", "stuck", mark)

    async def gone() -> bool:
        return not await exists(cluster, "stuck")

    await eventually(gone, within=10)


async def test_terminated_pods_beyond_the_threshold_are_deleted(cluster, monkeypatch):
    monkeypatch.setattr(PodGCController, "terminated_threshold", 2)
    for i in range(4):
        await cluster.create("", "pods", pod(f"done-{i}", "edge-x"))
    await cluster.create("", "nodes", {"metadata": {"name": "edge-x"}}, "")
    await cluster.run_controllers(("podgc",))
    for i in range(4):
        await cluster.client.patch(
            resource("", "pods"),
            "default",
            f"done-{i}",
            {"status": {"phase": "Succeeded"}},
            subresource="status",
        )

    async def two_left() -> bool:
        return [await exists(cluster, f"done-{i}") for i in range(4)].count(True) == 2

    await eventually(two_left, within=10)
