from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time

import pytest

from distro.apiserver import status
from distro.controllers.client import resource
from distro.controllers.daemonset import (
    REVISION_HASH_LABEL,
    TEMPLATE_GENERATION_LABEL,
    daemon_tolerations,
    new_pod,
    should_run,
    target_node,
    template_hash,
)
from tests.controllers.harness import Cluster, eventually

PODS = resource("", "pods")
NODES = resource("", "nodes")
DAEMONSETS = resource("apps", "daemonsets")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeNodes:
    """Plays the scheduler and the kubelets for daemon pods: binds a pod to the node its affinity pins it
    to, reports it Running and Ready `ready_after` seconds after binding, and finishes graceful deletions.
    Nodes in `down` have no kubelet: their pods are neither started nor finished."""

    def __init__(self, cluster: Cluster, ready_after: float = 0.0) -> None:
        self.cluster = cluster
        self.ready_after = ready_after
        self.bind = True
        self.down: set[str] = set()
        self._bound_at: dict[str, float] = {}
        self._task: asyncio.Task | None = None

    def start(self) -> FakeNodes:
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            for pod in await self.cluster.list("", "pods"):
                with contextlib.suppress(status.StatusError):
                    await self._tend(pod)
            await asyncio.sleep(0.03)

    async def _tend(self, pod: dict) -> None:
        meta, spec = pod["metadata"], pod["spec"]
        node = spec.get("nodeName")
        if not node:
            if self.bind and not meta.get("deletionTimestamp") and target_node(pod):
                await self.cluster.client.bind(meta["namespace"], meta["name"], target_node(pod), meta["uid"])
                self._bound_at[meta["uid"]] = time.monotonic()
            return
        if node in self.down:
            return
        if meta.get("deletionTimestamp"):
            await self.cluster.client.delete(
                PODS, meta["namespace"], meta["name"], uid=meta["uid"], grace_period=0
            )
            return
        bound = self._bound_at.setdefault(meta["uid"], time.monotonic())
        if pod["status"].get("phase") == "Pending" and time.monotonic() - bound >= self.ready_after:
            conditions = [
                {"type": t, "status": "True", "lastTransitionTime": _now()}
                for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
            ]
            patch = {"status": {"phase": "Running", "conditions": conditions}}
            await self.cluster.client.patch(
                PODS, meta["namespace"], meta["name"], patch, subresource="status"
            )


@pytest.fixture
async def fake_nodes(cluster):
    nodes = FakeNodes(cluster).start()
    yield nodes
    await nodes.stop()


async def _node(cluster: Cluster, name: str, labels: dict | None = None, taints: list | None = None) -> None:
    node = {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": taints} if taints else {},
        "status": {
            "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": _now()}],
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
        },
    }
    await cluster.create("", "nodes", node, "")


def _daemonset(name: str = "agent", image: str = "agent:1", **spec) -> dict:
    pod_spec = {"containers": [{"name": "agent", "image": image}], **spec.pop("pod_spec", {})}
    return {
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec},
            **spec,
        },
    }


async def _pods_by_node(cluster: Cluster, app: str = "agent") -> dict[str, list[dict]]:
    result: dict[str, list[dict]] = {}
    for pod in await cluster.list("", "pods", "default", label_selector=f"app={app}"):
        if not pod["metadata"].get("deletionTimestamp"):
            result.setdefault(target_node(pod), []).append(pod)
    return result


async def _one_per_node(cluster: Cluster, nodes: set[str], app: str = "agent") -> dict[str, dict]:
    by_node = await _pods_by_node(cluster, app)
    assert set(by_node) == nodes, sorted(by_node)
    assert all(len(pods) == 1 for pods in by_node.values()), by_node
    return {n: pods[0] for n, pods in by_node.items()}


async def _ds_status(cluster: Cluster, name: str = "agent") -> dict:
    return (await cluster.get("apps", "daemonsets", name))["status"]


# -- pure rules --


def test_eligibility_follows_selector_affinity_and_taints():
    ds = _daemonset(pod_spec={"nodeSelector": {"role": "edge"}})
    ds["metadata"]["uid"] = "u"
    edge = {"metadata": {"name": "a", "labels": {"role": "edge"}}, "spec": {}}
    other = {"metadata": {"name": "b", "labels": {}}, "spec": {}}
    no_schedule = {
        "metadata": {"name": "c", "labels": {"role": "edge"}},
        "spec": {"taints": [{"key": "gpu", "effect": "NoSchedule"}]},
    }
    no_execute = {
        "metadata": {"name": "d", "labels": {"role": "edge"}},
        "spec": {"taints": [{"key": "gpu", "effect": "NoExecute"}]},
    }
    unreachable = {
        "metadata": {"name": "e", "labels": {"role": "edge"}},
        "spec": {"taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]},
    }
    assert should_run(ds, edge) == (True, True)
    assert should_run(ds, other) == (False, False)
    assert should_run(ds, no_schedule) == (False, True)  # new pods no, existing ones stay
    assert should_run(ds, no_execute) == (False, False)
    assert should_run(ds, unreachable) == (True, True)  # daemons tolerate their node going away
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["x"]}]}
                ]
            }
        }
    }
    by_affinity = _daemonset(pod_spec={"affinity": affinity})
    zoned = {"metadata": {"name": "z", "labels": {"zone": "x"}}, "spec": {}}
    assert should_run(by_affinity, zoned) == (True, True)
    assert should_run(by_affinity, edge) == (False, False)


def test_daemon_pods_are_pinned_labelled_owned_and_tolerant():
    ds = _daemonset(pod_spec={"hostNetwork": True, "tolerations": [{"key": "x", "operator": "Exists"}]})
    ds["metadata"].update(uid="u-1", annotations={"deprecated.daemonset.template.generation": "3"})
    pod = new_pod(ds, "node-a", "abc")
    assert pod["metadata"]["generateName"] == "agent-"
    assert pod["metadata"]["labels"] == {
        "app": "agent",
        REVISION_HASH_LABEL: "abc",
        TEMPLATE_GENERATION_LABEL: "3",
    }
    [ref] = pod["metadata"]["ownerReferences"]
    assert ref["kind"] == "DaemonSet" and ref["uid"] == "u-1" and ref["controller"] is True
    terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms == {
        "nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-a"]}]}
        ]
    }
    assert target_node(pod) == "node-a"
    keys = {(t.get("key"), t.get("effect")) for t in pod["spec"]["tolerations"]}
    assert {
        ("x", None),
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
        ("node.kubernetes.io/network-unavailable", "NoSchedule"),
    } == keys
    assert all("tolerationSeconds" not in t for t in pod["spec"]["tolerations"])


def test_a_user_toleration_for_a_daemon_taint_is_replaced_not_duplicated():
    spec = {
        "tolerations": [
            {
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 5,
            }
        ]
    }
    tolerations = daemon_tolerations(spec)
    unreachable = [t for t in tolerations if t["key"] == "node.kubernetes.io/unreachable"]
    assert unreachable == [
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}
    ]


def test_template_hash_is_stable_and_changes_with_the_template():
    a = _daemonset()["spec"]["template"]
    b = _daemonset(image="agent:2")["spec"]["template"]
    assert template_hash(a) == template_hash(_daemonset()["spec"]["template"])
    assert template_hash(a) != template_hash(b)
    assert set(template_hash(a)) <= set("bcdfghjklmnpqrstvwxz2456789")


# -- the controller --


async def test_one_pod_per_eligible_node(cluster, fake_nodes):
    await _node(cluster, "a", {"role": "edge"})
    await _node(cluster, "b", {"role": "edge"})
    await _node(
        cluster, "c", {"role": "edge"}, taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    )
    await _node(cluster, "d")
    await cluster.run_controllers(("daemonset",))
    await cluster.create("apps", "daemonsets", _daemonset(pod_spec={"nodeSelector": {"role": "edge"}}))

    pods = await eventually(lambda: _one_per_node(cluster, {"a", "b"}))
    ds = await cluster.get("apps", "daemonsets", "agent")
    for pod in pods.values():
        assert pod["metadata"]["ownerReferences"][0]["uid"] == ds["metadata"]["uid"]
        assert pod["metadata"]["labels"][REVISION_HASH_LABEL] == template_hash(ds["spec"]["template"])
        assert pod["metadata"]["labels"][TEMPLATE_GENERATION_LABEL] == "1"

    async def settled():
        st = await _ds_status(cluster)
        return st if st.get("numberAvailable") == 2 else None

    st = await eventually(settled)
    assert st["desiredNumberScheduled"] == 2
    assert st["currentNumberScheduled"] == 2
    assert st["numberReady"] == 2
    assert st["updatedNumberScheduled"] == 2
    assert st["numberMisscheduled"] == 0
    assert "numberUnavailable" not in st
    assert st["observedGeneration"] == 1

    async def created_events():
        events = await cluster.list("", "events", "default")
        return [
            e
            for e in events
            if e["reason"] == "SuccessfulCreate" and e["message"].startswith("Created pod: agent-")
        ]

    assert len(await eventually(created_events)) == 2
    await asyncio.sleep(0.3)
    await _one_per_node(cluster, {"a", "b"})  # and no more appear


async def test_nodes_coming_and_going(cluster, fake_nodes):
    await _node(cluster, "a")
    await cluster.run_controllers(("daemonset",))
    await cluster.create("apps", "daemonsets", _daemonset())
    await eventually(lambda: _one_per_node(cluster, {"a"}))

    await _node(cluster, "b")
    await eventually(lambda: _one_per_node(cluster, {"a", "b"}))

    fake_nodes.down.add("b")  # a deleted node has no kubelet to finish its pods' graceful deletion
    await cluster.client.delete(NODES, "", "b")

    async def cleaned():
        pods = await cluster.list("", "pods", "default")
        return {target_node(p) for p in pods} == {"a"}

    await eventually(cleaned)

    async def status_shrank():
        st = await _ds_status(cluster)
        return st["desiredNumberScheduled"] == 1 and st["currentNumberScheduled"] == 1

    await eventually(status_shrank)


async def test_pods_leave_nodes_that_stop_matching(cluster, fake_nodes):
    await _node(cluster, "a", {"role": "edge"})
    await _node(cluster, "b", {"role": "edge"})
    await cluster.run_controllers(("daemonset",))
    await cluster.create("apps", "daemonsets", _daemonset(pod_spec={"nodeSelector": {"role": "edge"}}))
    await eventually(lambda: _one_per_node(cluster, {"a", "b"}))

    node = await cluster.get("", "nodes", "b", "")
    node["metadata"]["labels"].pop("role")
    await cluster.client.update(NODES, node)
    await eventually(lambda: _one_per_node(cluster, {"a"}))

    node = await cluster.get("", "nodes", "a", "")
    node["spec"]["taints"] = [{"key": "evict", "effect": "NoExecute"}]
    await cluster.client.update(NODES, node)

    async def none_left():
        return await _pods_by_node(cluster) == {}

    await eventually(none_left)

    async def deleted_events():
        events = await cluster.list("", "events", "default")
        return [e for e in events if e["reason"] == "SuccessfulDelete"]

    assert len(await eventually(deleted_events)) == 2


async def test_adopts_an_orphan_and_removes_a_duplicate(cluster, fake_nodes):
    await _node(cluster, "a")
    orphan = {
        "metadata": {"name": "stray", "labels": {"app": "agent"}},
        "spec": {"nodeName": "a", "containers": [{"name": "agent", "image": "agent:1"}]},
    }
    await cluster.create("", "pods", orphan)
    await cluster.create("", "pods", {**orphan, "metadata": {"name": "stray2", "labels": {"app": "agent"}}})
    await asyncio.sleep(0.2)  # both running before the DaemonSet exists
    await cluster.run_controllers(("daemonset",))
    # OnDelete: with RollingUpdate the adopted pod, lacking the template's hash, would be rolled too
    await cluster.create("apps", "daemonsets", _daemonset(updateStrategy={"type": "OnDelete"}))

    pods = await eventually(lambda: _one_per_node(cluster, {"a"}))
    await asyncio.sleep(0.3)
    pods = await _one_per_node(cluster, {"a"})
    assert pods["a"]["metadata"]["name"] in ("stray", "stray2")
    assert pods["a"]["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"


async def test_rolling_update_replaces_node_by_node(cluster, fake_nodes):
    fake_nodes.ready_after = 0.3
    names = {"a", "b", "c", "d"}
    for name in names:
        await _node(cluster, name)
    await cluster.run_controllers(("daemonset",))
    await cluster.create("apps", "daemonsets", _daemonset())

    async def available(n: int):
        st = await _ds_status(cluster)
        return st.get("numberAvailable") == n and st.get("updatedNumberScheduled") == n

    await eventually(lambda: available(4))
    ds = await cluster.get("apps", "daemonsets", "agent")
    ds["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:2"
    ds = await cluster.client.update(DAEMONSETS, ds)
    assert ds["metadata"]["annotations"]["deprecated.daemonset.template.generation"] == "2"
    new_hash = template_hash(ds["spec"]["template"])

    worst = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        serving = 0
        for pods in (await _pods_by_node(cluster)).values():
            serving += any(p["status"].get("phase") == "Running" for p in pods)
        worst = max(worst, len(names) - serving)
        by_node = await _pods_by_node(cluster)
        done = set(by_node) == names and all(
            len(p) == 1
            and p[0]["metadata"]["labels"][REVISION_HASH_LABEL] == new_hash
            and p[0]["status"].get("phase") == "Running"
            for p in by_node.values()
        )
        if done:
            break
        await asyncio.sleep(0.02)
    assert done, "rollout did not finish"
    assert worst == 1, f"{worst} nodes were without a serving pod at once (maxUnavailable 1)"
    for pod in (await _one_per_node(cluster, names)).values():
        assert pod["metadata"]["labels"][TEMPLATE_GENERATION_LABEL] == "2"

    async def rolled_out():
        st = await _ds_status(cluster)
        return (
            st["observedGeneration"] == 2
            and st.get("updatedNumberScheduled") == 4
            and st.get("numberAvailable") == 4
        )

    await eventually(rolled_out)


async def test_rolling_update_max_unavailable_percent(cluster, fake_nodes):
    fake_nodes.ready_after = 0.5
    names = {f"n{i}" for i in range(4)}
    for name in names:
        await _node(cluster, name)
    await cluster.run_controllers(("daemonset",))
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "50%"}}
    await cluster.create("apps", "daemonsets", _daemonset(updateStrategy=strategy))

    async def available():
        return (await _ds_status(cluster)).get("numberAvailable") == 4

    await eventually(available)
    ds = await cluster.get("apps", "daemonsets", "agent")
    ds["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:2"
    await cluster.client.update(DAEMONSETS, ds)

    worst = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        by_node = await _pods_by_node(cluster)
        serving = sum(any(p["status"].get("phase") == "Running" for p in pods) for pods in by_node.values())
        worst = max(worst, len(names) - serving)
        st = await _ds_status(cluster)
        if (
            st.get("observedGeneration") == 2
            and st.get("updatedNumberScheduled") == 4
            and st.get("numberAvailable") == 4
        ):
            break
        await asyncio.sleep(0.02)
    assert worst == 2  # two at a time: 50% of 4, rounded up


async def test_on_delete_waits_for_the_user(cluster, fake_nodes):
    for name in ("a", "b"):
        await _node(cluster, name)
    await cluster.run_controllers(("daemonset",))
    await cluster.create("apps", "daemonsets", _daemonset(updateStrategy={"type": "OnDelete"}))
    before = await eventually(lambda: _one_per_node(cluster, {"a", "b"}))
    old_hash = before["a"]["metadata"]["labels"][REVISION_HASH_LABEL]

    ds = await cluster.get("apps", "daemonsets", "agent")
    ds["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:2"
    await cluster.client.update(DAEMONSETS, ds)

    async def observed():
        st = await _ds_status(cluster)
        return st.get("observedGeneration") == 2 and "updatedNumberScheduled" not in st

    await eventually(observed)
    await asyncio.sleep(0.3)
    now = await _one_per_node(cluster, {"a", "b"})
    assert {p["metadata"]["labels"][REVISION_HASH_LABEL] for p in now.values()} == {old_hash}

    await cluster.client.delete(PODS, "default", now["a"]["metadata"]["name"])

    async def replaced():
        pods = await _one_per_node(cluster, {"a", "b"})
        return pods["a"]["metadata"]["labels"][REVISION_HASH_LABEL] != old_hash

    await eventually(replaced)
    pods = await _one_per_node(cluster, {"a", "b"})
    assert pods["b"]["metadata"]["labels"][REVISION_HASH_LABEL] == old_hash


async def test_surge_starts_the_new_pod_before_stopping_the_old(cluster, fake_nodes):
    fake_nodes.ready_after = 0.3
    for name in ("a", "b"):
        await _node(cluster, name)
    await cluster.run_controllers(("daemonset",))
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    await cluster.create("apps", "daemonsets", _daemonset(updateStrategy=strategy))

    async def available():
        return (await _ds_status(cluster)).get("numberAvailable") == 2

    await eventually(available)
    ds = await cluster.get("apps", "daemonsets", "agent")
    ds["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:2"
    await cluster.client.update(DAEMONSETS, ds)

    most_pods = 0
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        by_node = await _pods_by_node(cluster)
        assert all(any(p["status"].get("phase") == "Running" for p in pods) for pods in by_node.values())
        assert set(by_node) == {"a", "b"}
        most_pods = max(most_pods, sum(len(p) for p in by_node.values()))
        st = await _ds_status(cluster)
        if (
            st.get("observedGeneration") == 2
            and st.get("updatedNumberScheduled") == 2
            and st.get("numberAvailable") == 2
        ):
            if sum(len(p) for p in by_node.values()) == 2:
                break
        await asyncio.sleep(0.02)
    assert most_pods == 3  # one surge pod at a time


async def test_failed_daemon_pod_is_replaced(cluster, fake_nodes):
    await _node(cluster, "a")
    await cluster.run_controllers(("daemonset",))
    await cluster.create("apps", "daemonsets", _daemonset())
    first = (await eventually(lambda: _one_per_node(cluster, {"a"})))["a"]
    fake_nodes.down.add("a")  # keep the kubelet from racing the status below
    await cluster.client.patch(
        PODS, "default", first["metadata"]["name"], {"status": {"phase": "Failed"}}, subresource="status"
    )
    fake_nodes.down.discard("a")

    async def replaced():
        pods = await _one_per_node(cluster, {"a"})
        return pods["a"]["metadata"]["uid"] != first["metadata"]["uid"]

    await eventually(replaced)

    async def warned():
        events = await cluster.list("", "events", "default")
        return [e for e in events if e["reason"] == "FailedDaemonPod"]

    [event] = await eventually(warned)
    assert event["message"] == (
        f"Found failed daemon pod default/{first['metadata']['name']} on node a, will try to kill it"
    )


async def test_restart_in_the_middle_creates_no_duplicates(cluster, fake_nodes):
    for name in ("a", "b", "c"):
        await _node(cluster, name)
    await cluster.run_controllers(("daemonset",))
    await cluster.create("apps", "daemonsets", _daemonset())
    await asyncio.sleep(0.01)
    await cluster.run_controllers(("daemonset",))  # a fresh controller, no memory of what it did
    await eventually(lambda: _one_per_node(cluster, {"a", "b", "c"}))
    await asyncio.sleep(0.3)
    await _one_per_node(cluster, {"a", "b", "c"})


async def test_the_scheduler_binds_daemon_pods_to_their_nodes(cluster, fake_nodes):
    pytest.importorskip("distro.controllers.scheduler")
    fake_nodes.bind = False
    for name in ("a", "b", "c"):
        await _node(cluster, name)
    await cluster.run_controllers(("scheduler", "daemonset"))
    await cluster.create("apps", "daemonsets", _daemonset())

    async def bound():
        pods = await _one_per_node(cluster, {"a", "b", "c"})
        assert all(p["spec"].get("nodeName") == n for n, p in pods.items())
        return pods

    await eventually(bound)

    async def available():
        return (await _ds_status(cluster)).get("numberAvailable") == 3

    await eventually(available)
