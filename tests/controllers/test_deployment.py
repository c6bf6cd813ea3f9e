from __future__ import annotations

import asyncio
import contextlib
import copy
import re
from collections.abc import Callable

import pytest

from distro.controllers import apps_util as u
from distro.controllers.client import JSON_PATCH, STRATEGIC_PATCH, resource
from distro.controllers.deployment import (
    deployment_status,
    new_rs_new_replicas,
    proportional_sizes,
    set_new_rs_annotations,
)
from tests.controllers.fake_kubelet import FakeKubelet, LocalPods, running
from tests.controllers.harness import eventually

DEPLOYMENTS = resource("apps", "deployments")
RSS = resource("apps", "replicasets")
CONTROLLERS = ("deployment", "replicaset")


def deployment(name: str, replicas: int = 3, image: str = "app:v1", **spec) -> dict:
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
            **spec,
        },
    }


def rolling(surge, unavailable) -> dict:
    return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}


def ready_unless_broken(pod: dict) -> bool:
    return all(c.get("image") != "broken" for c in pod["spec"]["containers"])


def kubelet(cluster, **kw) -> FakeKubelet:
    return FakeKubelet(LocalPods(cluster.client), ready=kw.pop("ready", ready_unless_broken), **kw)


async def patch(cluster, name: str, body: dict, patch_type: str = STRATEGIC_PATCH) -> dict:
    # no precondition: racing the controllers' status writes must never answer 409
    return await cluster.client.patch(DEPLOYMENTS, "default", name, body, patch_type=patch_type)


async def set_image(cluster, name: str, image: str) -> dict:
    containers = [{"name": "app", "image": image}]
    return await patch(cluster, name, {"spec": {"template": {"spec": {"containers": containers}}}})


async def rolled_out(cluster, name: str) -> dict | None:
    """kubectl rollout status's test: observed, all updated, no old replicas left, all available."""
    d = await cluster.get("apps", "deployments", name)
    st = d.get("status") or {}
    replicas = d["spec"]["replicas"]
    done = (
        st.get("observedGeneration", 0) >= d["metadata"]["generation"]
        and st.get("updatedReplicas", 0) == replicas
        and st.get("replicas", 0) == replicas
        and st.get("availableReplicas", 0) == replicas
    )
    return d if done else None


async def wait_rolled_out(cluster, name: str, within: float = 15.0) -> dict:
    return await eventually(lambda: rolled_out(cluster, name), within=within)


async def replica_sets(cluster, name: str) -> list[dict]:
    d = await cluster.get("apps", "deployments", name)
    return [
        rs
        for rs in await cluster.list("apps", "replicasets", "default")
        if (u.controller_ref(rs) or {}).get("uid") == d["metadata"]["uid"]
    ]


async def pods_of(cluster, name: str) -> list[dict]:
    return await cluster.list("", "pods", "default", label_selector=f"app={name}")


def condition(d: dict, type_: str) -> dict | None:
    return next((c for c in d.get("status", {}).get("conditions") or [] if c["type"] == type_), None)


async def event_messages(cluster, reason: str) -> list[str]:
    await cluster.manager.controllers["deployment"].recorder.flush()
    return [e["message"] for e in await cluster.list("", "events", "default") if e["reason"] == reason]


@contextlib.asynccontextmanager
async def sampling(check: Callable[[], object], every: float = 0.005):
    """Runs the async check continuously in the background; yields the list of samples it returned."""
    samples: list = []

    async def loop() -> None:
        while True:
            samples.append(await check())
            await asyncio.sleep(every)

    task = asyncio.create_task(loop())
    try:
        yield samples
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# -- rollouts against the API server --


async def test_three_replicas_become_available_under_a_hashed_replica_set(cluster):
    await cluster.run_controllers(CONTROLLERS)
    async with running(kubelet(cluster)):
        created = await cluster.create("apps", "deployments", deployment("web"))
        d = await wait_rolled_out(cluster, "web")
    pod_hash = u.compute_hash(created["spec"]["template"], None)
    [rs] = await replica_sets(cluster, "web")
    assert rs["metadata"]["name"] == f"web-{pod_hash}"
    assert rs["metadata"]["labels"] == {"app": "web", "pod-template-hash": pod_hash}
    assert rs["spec"]["selector"] == {"matchLabels": {"app": "web", "pod-template-hash": pod_hash}}
    assert rs["spec"]["template"]["metadata"]["labels"] == {"app": "web", "pod-template-hash": pod_hash}
    assert rs["metadata"]["annotations"] == {
        "deployment.kubernetes.io/revision": "1",
        "deployment.kubernetes.io/desired-replicas": "3",
        "deployment.kubernetes.io/max-replicas": "4",
    }
    assert rs["metadata"]["ownerReferences"][0] | {"uid": ""} == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "web",
        "uid": "",
        "controller": True,
        "blockOwnerDeletion": True,
    }
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert {k: v for k, v in d["status"].items() if k != "conditions"} == {
        "observedGeneration": 1,
        "replicas": 3,
        "updatedReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
    }
    available, progressing = condition(d, "Available"), condition(d, "Progressing")
    assert (available["status"], available["reason"]) == ("True", "MinimumReplicasAvailable")
    assert (progressing["status"], progressing["reason"]) == ("True", "NewReplicaSetAvailable")
    assert progressing["message"] == f'ReplicaSet "web-{pod_hash}" has successfully progressed.'
    assert all(
        p["metadata"]["labels"]["pod-template-hash"] == pod_hash for p in await pods_of(cluster, "web")
    )
    assert await event_messages(cluster, "ScalingReplicaSet") == [
        f"Scaled up replica set web-{pod_hash} from 0 to 3"
    ]


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable", "max_total", "min_available"),
    [(4, 1, 1, 5, 3), (10, "30%", "25%", 13, 8), (3, "25%", "25%", 4, 3), (2, 0, 1, 2, 1)],
)
async def test_rolling_update_keeps_surge_and_availability_bounds_at_every_step(
    cluster, replicas, surge, unavailable, max_total, min_available
):
    await cluster.run_controllers(CONTROLLERS)
    async with running(kubelet(cluster, ready_delay=0.05)):
        spec = deployment("web", replicas, strategy=rolling(surge, unavailable))
        await cluster.create("apps", "deployments", spec)
        await wait_rolled_out(cluster, "web")

        async def snapshot() -> tuple[int, int, int, int]:
            pods = [p for p in await pods_of(cluster, "web") if u.is_pod_active(p)]
            specs = sum(rs["spec"]["replicas"] for rs in await replica_sets(cluster, "web"))
            images = {p["spec"]["containers"][0]["image"] for p in pods}
            return len(pods), sum(u.is_pod_ready(p) for p in pods), specs, len(images)

        async with sampling(snapshot) as samples:
            await set_image(cluster, "web", "app:v2")
            await wait_rolled_out(cluster, "web", within=30)
    assert len(samples) > 20
    assert max(s[0] for s in samples) <= max_total, samples
    assert max(s[2] for s in samples) <= max_total, samples
    assert min(s[1] for s in samples) >= min_available, samples
    assert any(s[3] == 2 for s in samples), "never saw old and new pods side by side"
    images = {
        p["spec"]["containers"][0]["image"] for p in await pods_of(cluster, "web") if u.is_pod_active(p)
    }
    assert images == {"app:v2"}


async def test_recreate_never_runs_old_and_new_pods_together(cluster):
    await cluster.run_controllers(CONTROLLERS)
    async with running(kubelet(cluster, ready_delay=0.05)):
        await cluster.create("apps", "deployments", deployment("web", 3, strategy={"type": "Recreate"}))
        await wait_rolled_out(cluster, "web")

        async def images() -> set[str]:
            # terminating pods count: a Recreate waits until the old ones are gone altogether
            return {p["spec"]["containers"][0]["image"] for p in await pods_of(cluster, "web")}

        async with sampling(images) as samples:
            await set_image(cluster, "web", "app:v2")
            await wait_rolled_out(cluster, "web")
    assert {"app:v1"} in samples and {"app:v2"} in samples
    assert all(len(s) <= 1 for s in samples), [s for s in samples if len(s) > 1]
    messages = await event_messages(cluster, "ScalingReplicaSet")
    assert any(re.fullmatch(r"Scaled down replica set web-\w+ from 3 to 0", m) for m in messages)


async def test_undo_as_kubectl_does_it_returns_to_the_previous_replica_set(cluster):
    await cluster.run_controllers(CONTROLLERS)
    async with running(kubelet(cluster)):
        await cluster.create("apps", "deployments", deployment("web"))
        await wait_rolled_out(cluster, "web")
        [first] = await replica_sets(cluster, "web")
        await set_image(cluster, "web", "app:v2")
        await wait_rolled_out(cluster, "web")
        # kubectl rollout undo: the previous revision's template, minus its hash label, patched in
        template = copy.deepcopy(first["spec"]["template"])
        del template["metadata"]["labels"]["pod-template-hash"]
        ops = [{"op": "replace", "path": "/spec/template", "value": template}]
        await patch(cluster, "web", ops, JSON_PATCH)
        d = await wait_rolled_out(cluster, "web")
    by_name = {rs["metadata"]["name"]: rs for rs in await replica_sets(cluster, "web")}
    assert len(by_name) == 2
    reused = by_name[first["metadata"]["name"]]
    assert reused["spec"]["replicas"] == 3
    assert reused["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert reused["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    images = {
        p["spec"]["containers"][0]["image"] for p in await pods_of(cluster, "web") if u.is_pod_active(p)
    }
    assert images == {"app:v1"}


async def test_scale_three_to_ten_to_zero(cluster):
    await cluster.run_controllers(CONTROLLERS)
    async with running(kubelet(cluster)):
        await cluster.create("apps", "deployments", deployment("web", 3))
        await wait_rolled_out(cluster, "web")
        await patch(cluster, "web", {"spec": {"replicas": 10}})
        d = await wait_rolled_out(cluster, "web")
        assert d["status"]["availableReplicas"] == 10
        [rs] = await replica_sets(cluster, "web")
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "10"
        assert rs["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "13"
        await patch(cluster, "web", {"spec": {"replicas": 0}})
        d = await wait_rolled_out(cluster, "web")
        await eventually(lambda: _none_left(cluster, "web"))
    assert d["status"].get("replicas", 0) == 0 and d["status"]["observedGeneration"] == 3
    name = rs["metadata"]["name"]
    assert await event_messages(cluster, "ScalingReplicaSet") == [
        f"Scaled up replica set {name} from 0 to 3",
        f"Scaled up replica set {name} from 3 to 10",
        f"Scaled down replica set {name} from 10 to 0",
    ]


async def _none_left(cluster, name: str) -> bool:
    return not await pods_of(cluster, name)


async def test_paused_deployment_does_not_roll_out_until_resumed(cluster):
    await cluster.run_controllers(CONTROLLERS)
    async with running(kubelet(cluster)):
        await cluster.create("apps", "deployments", deployment("web"))
        await wait_rolled_out(cluster, "web")
        await patch(cluster, "web", {"spec": {"paused": True}})
        paused = await eventually(lambda: _progressing_reason(cluster, "web", "DeploymentPaused"))
        assert (paused["status"], paused["message"]) == ("Unknown", "Deployment is paused")
        changed = await set_image(cluster, "web", "app:v2")
        await eventually(lambda: _observed(cluster, "web", changed["metadata"]["generation"]))
        await asyncio.sleep(0.3)
        assert len(await replica_sets(cluster, "web")) == 1
        await patch(cluster, "web", {"spec": {"paused": False}})
        await eventually(lambda: _progressing_reason(cluster, "web", "NewReplicaSetAvailable"))
        await wait_rolled_out(cluster, "web")
    assert len(await replica_sets(cluster, "web")) == 2
    images = {
        p["spec"]["containers"][0]["image"] for p in await pods_of(cluster, "web") if u.is_pod_active(p)
    }
    assert images == {"app:v2"}


async def _progressing_reason(cluster, name: str, reason: str) -> dict | None:
    cond = condition(await cluster.get("apps", "deployments", name), "Progressing")
    return cond if cond is not None and cond["reason"] == reason else None


async def _observed(cluster, name: str, generation: int) -> bool:
    d = await cluster.get("apps", "deployments", name)
    return d.get("status", {}).get("observedGeneration", 0) >= generation


async def test_progress_deadline_exceeded_when_new_pods_never_become_ready(cluster):
    await cluster.run_controllers(CONTROLLERS)
    async with running(kubelet(cluster)):
        await cluster.create("apps", "deployments", deployment("web", 3, progressDeadlineSeconds=1))
        await wait_rolled_out(cluster, "web")
        await set_image(cluster, "web", "broken")
        cond = await eventually(
            lambda: _progressing_reason(cluster, "web", "ProgressDeadlineExceeded"), within=8
        )
        d = await cluster.get("apps", "deployments", "web")
    new_rs = next(
        rs
        for rs in await replica_sets(cluster, "web")
        if rs["spec"]["template"]["spec"]["containers"][0]["image"] == "broken"
    )
    assert cond["status"] == "False"
    assert cond["message"] == f'ReplicaSet "{new_rs["metadata"]["name"]}" has timed out progressing.'
    # the old pods kept serving: 25% of 3 rounds down to 0 unavailable
    assert d["status"]["availableReplicas"] == 3 and condition(d, "Available")["status"] == "True"


async def test_scaling_mid_rollout_is_proportional(cluster):
    await cluster.run_controllers(CONTROLLERS)
    async with running(kubelet(cluster)):
        await cluster.create("apps", "deployments", deployment("web", 10, strategy=rolling(3, 2)))
        await wait_rolled_out(cluster, "web")
        await set_image(cluster, "web", "broken")
        # stuck: 13 pods allowed, 8 available needed, the 5 new ones never become ready
        await eventually(lambda: _sizes(cluster, "web", {"app:v1": 8, "broken": 5}))
        await patch(cluster, "web", {"spec": {"replicas": 20}})
        # 10 more allowed (23 - 13): old 8*23/13 = 14.2 -> +6; new 5*23/13 = 8.8 -> +4
        await eventually(lambda: _sizes(cluster, "web", {"app:v1": 14, "broken": 9}))
        await asyncio.sleep(0.3)
        assert await _sizes(cluster, "web", {"app:v1": 14, "broken": 9})


async def _sizes(cluster, name: str, want: dict[str, int]) -> bool:
    got = {
        rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs["spec"]["replicas"]
        for rs in await replica_sets(cluster, name)
    }
    return got == want


async def test_revision_history_limit_deletes_the_oldest_idle_replica_sets(cluster):
    await cluster.run_controllers(CONTROLLERS)
    async with running(kubelet(cluster)):
        await cluster.create("apps", "deployments", deployment("web", 2, revisionHistoryLimit=1))
        await wait_rolled_out(cluster, "web")
        for image in ("app:v2", "app:v3", "app:v4"):
            await set_image(cluster, "web", image)
            await wait_rolled_out(cluster, "web")

        async def trimmed() -> list[dict] | None:
            rss = await replica_sets(cluster, "web")
            return rss if len(rss) == 2 else None

        rss = await eventually(trimmed)
    revisions = sorted(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for rs in rss)
    assert revisions == ["3", "4"]


async def test_adopts_an_orphan_replica_set_with_the_same_template(cluster):
    spec = deployment("web", 3)
    legacy = {
        "metadata": {"name": "legacy", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": spec["spec"]["template"],
        },
    }
    await cluster.create("apps", "replicasets", legacy)
    await cluster.run_controllers(CONTROLLERS)
    async with running(kubelet(cluster)):
        d = await cluster.create("apps", "deployments", spec)
        await wait_rolled_out(cluster, "web")
    [rs] = await replica_sets(cluster, "web")
    assert rs["metadata"]["name"] == "legacy"
    assert rs["spec"]["replicas"] == 3
    assert u.controller_ref(rs)["uid"] == d["metadata"]["uid"]


async def test_a_name_taken_by_a_foreign_replica_set_bumps_the_collision_count(cluster):
    await cluster.run_controllers(CONTROLLERS)
    created = await cluster.create("apps", "deployments", deployment("web", 2, paused=True))
    squatter_name = f"web-{u.compute_hash(created['spec']['template'], None)}"
    squatter = {
        "metadata": {"name": squatter_name, "labels": {"app": "other"}},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "other"}},
            "template": deployment("other")["spec"]["template"],
        },
    }
    await cluster.create("apps", "replicasets", squatter)
    async with running(kubelet(cluster)):
        await patch(cluster, "web", {"spec": {"paused": False}})
        d = await wait_rolled_out(cluster, "web")
    assert d["status"]["collisionCount"] == 1
    [rs] = await replica_sets(cluster, "web")
    assert rs["metadata"]["name"] == f"web-{u.compute_hash(created['spec']['template'], 1)}" != squatter_name
    assert (await cluster.get("apps", "replicasets", squatter_name))["metadata"].get(
        "ownerReferences"
    ) is None


# -- pure arithmetic --


def test_pod_template_hash_is_deterministic_and_changes_with_template_and_collisions():
    template = deployment("web")["spec"]["template"]
    h = u.compute_hash(template, None)
    assert h == u.compute_hash(copy.deepcopy(template), None)
    assert 1 <= len(h) <= 10
    assert h != u.compute_hash(template, 1)
    assert h != u.compute_hash(deployment("web", image="app:v2")["spec"]["template"], None)
    noisy = copy.deepcopy(template)
    noisy["metadata"]["creationTimestamp"] = None
    assert u.compute_hash(noisy, None) == h
    # decimal digits land on 4-9 and b, c, d, f: the look of every real pod-template-hash
    assert u.safe_encode("0123456789") == "456789bcdf"
    assert re.fullmatch(r"[4-9bcdf]+", h)


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable", "want"),
    [
        (10, "25%", "25%", (3, 2)),  # surge rounds up, unavailable down
        (3, "25%", "25%", (1, 0)),
        (1, "25%", "25%", (1, 0)),
        (10, 0, "5%", (0, 1)),  # both resolve to 0: unavailable becomes 1
        (4, 2, 10, (2, 4)),  # never more unavailable than replicas
        (0, "25%", "25%", (0, 0)),
    ],
)
def test_surge_and_unavailability_from_ints_and_percentages(replicas, surge, unavailable, want):
    d = deployment("web", replicas, strategy=rolling(surge, unavailable))
    assert (u.max_surge(d), u.max_unavailable(d)) == want


def test_recreate_has_neither_surge_nor_unavailability_budget():
    d = deployment("web", 4, strategy={"type": "Recreate"})
    assert (u.max_surge(d), u.max_unavailable(d)) == (0, 0)


def _rs(name: str, size: int, created: str, max_replicas: int | None = None, **status) -> dict:
    annotations = {} if max_replicas is None else {"deployment.kubernetes.io/max-replicas": str(max_replicas)}
    return {
        "metadata": {"name": name, "uid": name, "creationTimestamp": created, "annotations": annotations},
        "spec": {"replicas": size},
        "status": status,
    }


def test_new_replica_set_grows_within_the_surge_counting_pods_still_being_deleted():
    d = deployment("web", 4, strategy=rolling(1, 1))
    new = _rs("new", 1, "2024-01-02T00:00:00Z", replicas=1)
    old = _rs("old", 3, "2024-01-01T00:00:00Z", replicas=3)
    assert new_rs_new_replicas(d, [old, new], new) == 2
    # old was scaled to 3 but still has 4 pods: no room yet
    lagging = _rs("old", 3, "2024-01-01T00:00:00Z", replicas=4)
    assert new_rs_new_replicas(d, [lagging, new], new) == 1
    assert new_rs_new_replicas(deployment("web", 4, strategy={"type": "Recreate"}), [old, new], new) == 4


def test_proportional_sizes_grow_larger_sets_first_and_give_leftovers_to_the_largest():
    d = deployment("web", 20, strategy=rolling(3, 2))
    old = _rs("old", 8, "2024-01-01T00:00:00Z", max_replicas=13)
    new = _rs("new", 5, "2024-01-02T00:00:00Z", max_replicas=13)
    assert proportional_sizes(d, [new, old], 10) == ({"old": 14, "new": 9}, "up")
    shrink = deployment("web", 5, strategy=rolling(1, 0))
    sizes, operation = proportional_sizes(shrink, [new, old], 6 - 13)
    assert operation == "down" and sum(sizes.values()) == 6 and sizes["old"] > sizes["new"]
    to_zero = deployment("web", 0)
    assert proportional_sizes(to_zero, [new, old], -13)[0] == {"old": 0, "new": 0}


def test_a_rolled_back_replica_set_keeps_its_old_revision_in_history():
    d = deployment("web", 3, strategy=rolling("25%", "25%"))
    d["metadata"]["annotations"] = {
        "kubernetes.io/change-cause": "undo",
        "deployment.kubernetes.io/revision": "2",
    }
    rs = _rs("rs", 0, "2024-01-01T00:00:00Z")
    rs["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "1"}
    assert set_new_rs_annotations(d, rs, "3", exists=True)
    assert rs["metadata"]["annotations"] == {
        "deployment.kubernetes.io/revision": "3",
        "deployment.kubernetes.io/revision-history": "1",
        "kubernetes.io/change-cause": "undo",
    }
    assert not set_new_rs_annotations(d, rs, "3", exists=True)
    fresh = _rs("fresh", 0, "2024-01-01T00:00:00Z")
    set_new_rs_annotations(d, fresh, "4", exists=False)
    assert fresh["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "4"


def test_status_counts_and_availability_condition():
    d = deployment("web", 4, strategy=rolling(1, 1))
    d["metadata"]["generation"] = 5
    new = _rs("new", 2, "2024-01-02T00:00:00Z", replicas=2, readyReplicas=1, availableReplicas=1)
    old = _rs("old", 3, "2024-01-01T00:00:00Z", replicas=3, readyReplicas=3, availableReplicas=2)
    st = deployment_status(d, [old, new], new)
    assert {k: v for k, v in st.items() if k != "conditions"} == {
        "observedGeneration": 5,
        "replicas": 5,
        "updatedReplicas": 2,
        "readyReplicas": 4,
        "availableReplicas": 3,
        "unavailableReplicas": 2,
    }
    [available] = st["conditions"]
    assert (available["status"], available["reason"]) == ("True", "MinimumReplicasAvailable")
    old["status"]["availableReplicas"] = 1
    [available] = deployment_status(d, [old, new], new)["conditions"]
    assert (available["status"], available["reason"]) == ("False", "MinimumReplicasUnavailable")
