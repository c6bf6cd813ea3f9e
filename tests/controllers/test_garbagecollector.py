from __future__ import annotations

import asyncio
from typing import Any

from distro.apiserver import status
from distro.controllers.client import resource
from tests.controllers.harness import Cluster, eventually

Obj = dict[str, Any]
GC = ("garbagecollector",)
HOLD = "example.com/hold"


def owner_ref(obj: Obj, *, block: bool = False, controller: bool = False) -> Obj:
    ref = {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
    }
    if block:
        ref["blockOwnerDeletion"] = True
    if controller:
        ref["controller"] = True
    return ref


async def configmap(
    cluster: Cluster, name: str, *owners: Obj, namespace: str = "default", **meta: Any
) -> Obj:
    body = {"metadata": {"name": name, **meta}}
    if owners:
        body["metadata"]["ownerReferences"] = list(owners)
    return await cluster.create("", "configmaps", body, namespace)


async def exists(cluster: Cluster, group: str, plural: str, name: str, namespace: str = "default") -> bool:
    try:
        await cluster.get(group, plural, name, namespace)
    except status.StatusError as exc:
        assert exc.code == 404
        return False
    return True


def gone(cluster: Cluster, group: str, plural: str, *names: str, namespace: str = "default"):
    async def check() -> bool:
        return not any([await exists(cluster, group, plural, n, namespace) for n in names])

    return check


async def settle(seconds: float = 0.5) -> None:
    """Gives the collector time to (wrongly) act before asserting that it did not."""
    await asyncio.sleep(seconds)


async def delete(
    cluster: Cluster, plural: str, name: str, propagation: str = "", group: str = ""
) -> Obj | None:
    return await cluster.client.delete(resource(group, plural), "default", name, propagation=propagation)


async def release(cluster: Cluster, group: str, plural: str, name: str) -> None:
    await cluster.client.patch(resource(group, plural), "default", name, {"metadata": {"finalizers": None}})


def pod(name: str, *owners: Obj, finalizers: tuple[str, ...] = ()) -> Obj:
    meta: Obj = {"name": name, "labels": {"app": "web"}, "ownerReferences": list(owners)}
    if finalizers:
        meta["finalizers"] = list(finalizers)
    return {"metadata": meta, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def workload(name: str, *owners: Obj) -> Obj:
    meta: Obj = {"name": name}
    if owners:
        meta["ownerReferences"] = list(owners)
    return {
        "metadata": meta,
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }


async def deployment_chain(cluster: Cluster, hold_pod: bool = False) -> tuple[Obj, Obj, list[Obj]]:
    """Deployment -> ReplicaSet -> 2 Pods, all references controlling and blocking, as the workload
    controllers set them; with hold_pod, pod-0 carries a finalizer nobody removes on its own."""
    deploy = await cluster.create("apps", "deployments", workload("web"))
    rs = await cluster.create(
        "apps", "replicasets", workload("web-1", owner_ref(deploy, block=True, controller=True))
    )
    held = (HOLD,) if hold_pod else ()
    pods = [
        await cluster.create("", "pods", pod("web-1-0", owner_ref(rs, block=True), finalizers=held)),
        await cluster.create("", "pods", pod("web-1-1", owner_ref(rs, block=True))),
    ]
    return deploy, rs, pods


async def test_background_deletion_removes_dependents_and_their_dependents(cluster):
    await cluster.run_controllers(GC)
    await deployment_chain(cluster)
    owner = await configmap(cluster, "owner")
    for i in range(3):
        await configmap(cluster, f"dep-{i}", owner_ref(owner))
    await configmap(cluster, "bystander")

    assert await delete(cluster, "configmaps", "owner") is None
    await eventually(gone(cluster, "", "configmaps", "dep-0", "dep-1", "dep-2"))

    assert await delete(cluster, "deployments", "web", group="apps") is None
    await eventually(gone(cluster, "apps", "replicasets", "web-1"))
    await eventually(gone(cluster, "", "pods", "web-1-0", "web-1-1"))
    assert await exists(cluster, "", "configmaps", "bystander")


async def test_foreground_keeps_the_owner_until_blocking_dependents_are_gone(cluster):
    await cluster.run_controllers(GC)
    await deployment_chain(cluster, hold_pod=True)

    marked = await delete(cluster, "deployments", "web", "Foreground", group="apps")
    assert marked is not None and "foregroundDeletion" in marked["metadata"]["finalizers"]

    async def rs_deleting_in_foreground() -> bool:
        rs = await cluster.get("apps", "replicasets", "web-1")
        return (
            rs["metadata"].get("deletionTimestamp") and "foregroundDeletion" in rs["metadata"]["finalizers"]
        )

    await eventually(rs_deleting_in_foreground)
    await eventually(gone(cluster, "", "pods", "web-1-1"))
    held = await cluster.get("", "pods", "web-1-0")
    assert held["metadata"].get("deletionTimestamp")
    await settle()
    deploy = await cluster.get("apps", "deployments", "web")
    assert deploy["metadata"]["deletionTimestamp"]
    assert deploy["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert await exists(cluster, "apps", "replicasets", "web-1")

    await release(cluster, "", "pods", "web-1-0")
    await eventually(gone(cluster, "apps", "replicasets", "web-1"))
    await eventually(gone(cluster, "apps", "deployments", "web"))


async def test_foreground_does_not_wait_for_non_blocking_dependents(cluster):
    await cluster.run_controllers(GC)
    owner = await configmap(cluster, "owner")
    await configmap(cluster, "loose", owner_ref(owner), finalizers=[HOLD])

    await delete(cluster, "configmaps", "owner", "Foreground")
    await eventually(gone(cluster, "", "configmaps", "owner"))
    loose = await cluster.get("", "configmaps", "loose")
    assert loose["metadata"].get("deletionTimestamp")
    await release(cluster, "", "configmaps", "loose")


async def test_orphan_keeps_dependents_and_strips_the_reference(cluster):
    await cluster.run_controllers(GC)
    owner = await configmap(cluster, "owner")
    other = await configmap(cluster, "other")
    await configmap(cluster, "only-child", owner_ref(owner, block=True))
    await configmap(cluster, "shared-child", owner_ref(owner), owner_ref(other))

    marked = await delete(cluster, "configmaps", "owner", "Orphan")
    assert marked is not None and marked["metadata"]["finalizers"] == ["orphan"]
    await eventually(gone(cluster, "", "configmaps", "owner"))

    only = await cluster.get("", "configmaps", "only-child")
    assert "ownerReferences" not in only["metadata"]
    shared = await cluster.get("", "configmaps", "shared-child")
    assert [r["name"] for r in shared["metadata"]["ownerReferences"]] == ["other"]
    await settle()
    assert await exists(cluster, "", "configmaps", "only-child")


async def test_dependent_with_two_owners_survives_one_and_loses_only_that_reference(cluster):
    await cluster.run_controllers(GC)
    first = await configmap(cluster, "first")
    second = await configmap(cluster, "second")
    await configmap(cluster, "child", owner_ref(first), owner_ref(second, controller=True))

    await delete(cluster, "configmaps", "first")

    async def first_reference_dropped() -> bool:
        child = await cluster.get("", "configmaps", "child")
        return [r["uid"] for r in child["metadata"]["ownerReferences"]] == [second["metadata"]["uid"]]

    await eventually(first_reference_dropped)
    child = await cluster.get("", "configmaps", "child")
    assert child["metadata"]["ownerReferences"][0]["controller"] is True

    await delete(cluster, "configmaps", "second")
    await eventually(gone(cluster, "", "configmaps", "child"))


async def test_owner_that_never_existed_or_was_replaced_means_deletion(cluster):
    await cluster.run_controllers(GC)
    real = await configmap(cluster, "real")
    invented = {"apiVersion": "v1", "kind": "ConfigMap", "name": "ghost", "uid": "0000-never"}
    await configmap(cluster, "ghost-child", invented)
    # the right name but another object's uid: an owner of that name that has since been replaced
    await configmap(cluster, "stale-child", {**owner_ref(real), "uid": "1111-old"})
    await configmap(cluster, "real-child", owner_ref(real))

    await eventually(gone(cluster, "", "configmaps", "ghost-child", "stale-child"))
    await settle()
    assert await exists(cluster, "", "configmaps", "real-child")


async def test_cluster_scoped_owner_and_owner_in_another_namespace(cluster):
    await cluster.run_controllers(GC)
    await cluster.create("", "namespaces", {"metadata": {"name": "elsewhere"}}, "")
    role = await cluster.create(
        "rbac.authorization.k8s.io", "clusterroles", {"metadata": {"name": "owner-role"}, "rules": []}, ""
    )
    owner = await configmap(cluster, "owner")
    await configmap(cluster, "by-role", owner_ref(role), namespace="elsewhere")
    # a namespaced owner can only own objects in its own namespace
    await configmap(cluster, "cross", owner_ref(owner), namespace="elsewhere")

    await eventually(gone(cluster, "", "configmaps", "cross", namespace="elsewhere"))

    async def warning() -> str:
        events = await cluster.list("", "events", "elsewhere")
        return next((e["message"] for e in events if e["reason"] == "OwnerRefInvalidNamespace"), "")

    assert await eventually(warning) == (
        f"ownerRef [v1/ConfigMap, namespace: elsewhere, name: owner, uid: {owner['metadata']['uid']}] "
        'does not exist in namespace "elsewhere"'
    )
    assert await exists(cluster, "", "configmaps", "by-role", "elsewhere")

    await cluster.client.delete(resource("rbac.authorization.k8s.io", "clusterroles"), "", "owner-role")
    await eventually(gone(cluster, "", "configmaps", "by-role", namespace="elsewhere"))
    assert await exists(cluster, "", "configmaps", "owner")


async def test_work_missed_while_stopped_is_done_after_a_restart(cluster):
    await cluster.run_controllers(GC)
    owner = await configmap(cluster, "owner")
    await configmap(cluster, "child", owner_ref(owner))
    await deployment_chain(cluster, hold_pod=True)
    await delete(cluster, "deployments", "web", "Foreground", group="apps")
    await eventually(gone(cluster, "", "pods", "web-1-1"))

    await cluster.run_controllers(())
    await delete(cluster, "configmaps", "owner")
    await release(cluster, "", "pods", "web-1-0")
    await settle()
    assert await exists(cluster, "", "configmaps", "child")
    assert await exists(cluster, "apps", "deployments", "web")

    await cluster.run_controllers(GC)
    await eventually(gone(cluster, "", "configmaps", "child"))
    await eventually(gone(cluster, "apps", "replicasets", "web-1"))
    await eventually(gone(cluster, "apps", "deployments", "web"))


async def test_orphaning_interrupted_by_a_restart_completes(cluster):
    owner = await configmap(cluster, "owner")
    for i in range(5):
        await configmap(cluster, f"child-{i}", owner_ref(owner))
    # marked for orphaning while no collector runs: found at start, not from a transition
    await delete(cluster, "configmaps", "owner", "Orphan")
    await cluster.run_controllers(GC)
    await eventually(gone(cluster, "", "configmaps", "owner"))
    for i in range(5):
        child = await cluster.get("", "configmaps", f"child-{i}")
        assert "ownerReferences" not in child["metadata"]


async def test_owner_marked_both_orphan_and_foreground_is_not_left_stuck(cluster):
    # the API server keeps both finalizers when a second DELETE asks for the other policy
    owner = await configmap(cluster, "owner")
    await configmap(cluster, "child", owner_ref(owner))
    await delete(cluster, "configmaps", "owner", "Orphan")
    marked = await delete(cluster, "configmaps", "owner", "Foreground")
    assert marked is not None and "foregroundDeletion" in marked["metadata"]["finalizers"]

    await cluster.run_controllers(GC)
    await eventually(gone(cluster, "", "configmaps", "owner"))
