from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time

import pytest

from distro.apiserver import status
from distro.controllers.client import resource
from distro.controllers.config import ControllerConfig
from distro.controllers.nodelifecycle import (
    AUTONOMY_ANNOTATION,
    NODE_LEASE_NAMESPACE,
    TAINT_NOT_READY,
    TAINT_UNREACHABLE,
    desired_taints,
    eviction_time,
    tolerates,
)
from tests.controllers.harness import Cluster, eventually

GRACE = 1.0
NODES = resource("", "nodes")
PODS = resource("", "pods")
LEASES = resource("coordination.k8s.io", "leases")


def _now(micro: bool = False) -> str:
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ"
    return dt.datetime.now(dt.UTC).strftime(fmt)


def _ready(status_: str = "True") -> dict:
    return {
        "type": "Ready",
        "status": status_,
        "reason": "KubeletReady" if status_ == "True" else "KubeletNotReady",
        "message": "kubelet is posting ready status",
        "lastHeartbeatTime": _now(),
        "lastTransitionTime": _now(),
    }


class Kubelets:
    """Plays the kubelets of some nodes: renews their Leases every `period` until told to stop."""

    def __init__(self, cluster: Cluster, period: float = 0.15) -> None:
        self.cluster = cluster
        self.period = period
        self.alive: set[str] = set()
        self._task: asyncio.Task | None = None

    async def add_node(self, name: str, annotations: dict | None = None, taints: list | None = None) -> None:
        node: dict = {
            "metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"taints": taints} if taints else {},
            "status": {
                "conditions": [_ready()],
                "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            },
        }
        await self.cluster.create("", "nodes", node, "")
        lease = {
            "metadata": {"name": name},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": _now(micro=True)},
        }
        await self.cluster.create("coordination.k8s.io", "leases", lease, NODE_LEASE_NAMESPACE)
        self.alive.add(name)

    def start(self) -> Kubelets:
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            for name in list(self.alive):
                patch = {"spec": {"renewTime": _now(micro=True)}}
                with contextlib.suppress(status.StatusError):
                    await self.cluster.client.patch(LEASES, NODE_LEASE_NAMESPACE, name, patch)
            await asyncio.sleep(self.period)

    async def come_back(self, name: str) -> None:
        """The kubelet reconnects: it renews its Lease and posts Ready again, as a real one does."""
        self.alive.add(name)
        patch = {"status": {"conditions": [_ready()]}}
        await self.cluster.client.patch(NODES, "", name, patch, subresource="status")


@pytest.fixture
async def kubelets(cluster):
    k = Kubelets(cluster).start()
    yield k
    await k.stop()


async def _run(cluster: Cluster, **config) -> None:
    await cluster.run_controllers(
        ("nodelifecycle",), ControllerConfig(node_monitor_grace_period=GRACE, **config)
    )


def _ready_status(node: dict) -> str | None:
    return next((c["status"] for c in node["status"].get("conditions", []) if c["type"] == "Ready"), None)


def _taints(node: dict) -> set[tuple[str, str]]:
    return {(t["key"], t["effect"]) for t in node["spec"].get("taints") or []}


async def _pod(cluster: Cluster, name: str, node: str, tolerations: list | None = None, ready: bool = True):
    pod = {
        "metadata": {"name": name},
        "spec": {
            "nodeName": node,
            "containers": [{"name": "c", "image": "busybox"}],
            "tolerations": tolerations or [],
        },
    }
    created = await cluster.create("", "pods", pod)
    if ready:
        conditions = [{"type": "Ready", "status": "True", "lastTransitionTime": _now()}]
        await cluster.client.patch(
            PODS,
            "default",
            name,
            {"status": {"phase": "Running", "conditions": conditions}},
            subresource="status",
        )
    return created


def _unreachable_for(seconds: int) -> list[dict]:
    return [
        {"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds}
    ]


async def _events(cluster: Cluster, reason: str) -> list[dict]:
    return [e for e in await cluster.list("", "events", "") if e["reason"] == reason]


# -- pure rules --


def test_toleration_matching_follows_upstream():
    taint = {"key": "k", "value": "v", "effect": "NoExecute"}
    assert tolerates([{"key": "k", "operator": "Equal", "value": "v"}], taint)
    assert tolerates([{"key": "k", "value": "v", "effect": "NoExecute"}], taint)
    assert tolerates([{"operator": "Exists"}], taint)
    assert not tolerates([{"key": "k", "operator": "Equal", "value": "w"}], taint)
    assert not tolerates([{"key": "k", "operator": "Exists", "effect": "NoSchedule"}], taint)
    assert not tolerates([], taint)


def test_eviction_time_is_the_earliest_toleration_to_run_out():
    added = "2030-01-01T00:00:00Z"
    base = dt.datetime(2030, 1, 1, tzinfo=dt.UTC).timestamp()
    taints = [
        {"key": "a", "effect": "NoExecute", "timeAdded": added},
        {"key": "b", "effect": "NoExecute", "timeAdded": added},
    ]
    forever_a = {"key": "a", "operator": "Exists", "effect": "NoExecute"}
    b_for_30 = {"key": "b", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}
    assert eviction_time([forever_a, b_for_30], taints, {}) == base + 30
    assert eviction_time([forever_a], taints, {}) == 0.0  # b is not tolerated: evict now
    assert eviction_time([{"operator": "Exists"}], taints, {}) is None


def test_desired_taints_follow_conditions_and_autonomy():
    node = {"spec": {"unschedulable": True}, "status": {"conditions": [_ready("Unknown")]}}
    assert desired_taints(node, autonomous=False) == {
        (TAINT_UNREACHABLE, "NoSchedule"),
        (TAINT_UNREACHABLE, "NoExecute"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    }
    assert (TAINT_UNREACHABLE, "NoExecute") not in desired_taints(node, autonomous=True)
    not_ready = {"status": {"conditions": [_ready("False")]}}
    assert desired_taints(not_ready, autonomous=False) == {
        (TAINT_NOT_READY, "NoSchedule"),
        (TAINT_NOT_READY, "NoExecute"),
    }


# -- the controller --


async def test_a_node_with_a_fresh_lease_stays_ready(cluster, kubelets):
    await kubelets.add_node("n1")
    await _run(cluster)
    await asyncio.sleep(GRACE * 2.5)
    node = await cluster.get("", "nodes", "n1", "")
    assert _ready_status(node) == "True"
    assert _taints(node) == set()


async def test_silent_node_goes_unknown_and_tainted_then_recovers(cluster, kubelets):
    await kubelets.add_node("n1")
    await kubelets.add_node("n2")
    await _run(cluster)
    kubelets.alive.discard("n1")
    started = time.monotonic()

    async def unreachable():
        node = await cluster.get("", "nodes", "n1", "")
        return (
            node
            if _taints(node) == {(TAINT_UNREACHABLE, "NoSchedule"), (TAINT_UNREACHABLE, "NoExecute")}
            else None
        )

    node = await eventually(unreachable, within=GRACE + 3)
    assert time.monotonic() - started >= GRACE * 0.9
    conditions = {c["type"]: c for c in node["status"]["conditions"]}
    assert conditions["Ready"]["status"] == "Unknown"
    assert conditions["Ready"]["reason"] == "NodeStatusUnknown"
    assert conditions["Ready"]["message"] == "Kubelet stopped posting node status."
    assert conditions["MemoryPressure"]["reason"] == "NodeStatusNeverUpdated"
    no_execute = next(t for t in node["spec"]["taints"] if t["effect"] == "NoExecute")
    assert no_execute.get("timeAdded")
    assert _ready_status(await cluster.get("", "nodes", "n2", "")) == "True"

    async def node_event():
        events = await _events(cluster, "NodeNotReady")
        return [e for e in events if e["message"] == "Node n1 status is now: NodeNotReady"]

    await eventually(node_event)

    await kubelets.come_back("n1")

    async def recovered():
        node = await cluster.get("", "nodes", "n1", "")
        return _ready_status(node) == "True" and _taints(node) == set()

    await eventually(recovered, within=3)
    await asyncio.sleep(GRACE * 1.5)
    assert _ready_status(await cluster.get("", "nodes", "n1", "")) == "True"


async def test_node_reporting_not_ready_gets_not_ready_taints(cluster, kubelets):
    await kubelets.add_node("n1")
    await _run(cluster)
    patch = {"status": {"conditions": [_ready("False")]}}
    await cluster.client.patch(NODES, "", "n1", patch, subresource="status")

    async def tainted():
        node = await cluster.get("", "nodes", "n1", "")
        return _taints(node) == {(TAINT_NOT_READY, "NoSchedule"), (TAINT_NOT_READY, "NoExecute")}

    await eventually(tainted, within=3)


async def test_pods_are_evicted_when_their_toleration_runs_out(cluster, kubelets):
    await kubelets.add_node("n1")
    await _pod(cluster, "fast", "n1", _unreachable_for(1))
    await _pod(cluster, "slow", "n1", _unreachable_for(300))
    await _run(cluster)
    kubelets.alive.discard("n1")

    async def fast_evicted():
        pod = await cluster.get("", "pods", "fast")
        return pod["metadata"].get("deletionTimestamp")

    await eventually(fast_evicted, within=GRACE + 5)
    fast = await cluster.get("", "pods", "fast")
    disruption = next(c for c in fast["status"]["conditions"] if c["type"] == "DisruptionTarget")
    assert disruption["reason"] == "DeletionByTaintManager"
    slow = await cluster.get("", "pods", "slow")
    assert not slow["metadata"].get("deletionTimestamp")
    ready = next(c for c in slow["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"

    async def eviction_event():
        events = await _events(cluster, "TaintManagerEviction")
        return [e for e in events if e["message"] == "Marking for deletion Pod default/fast"]

    [event] = await eventually(eviction_event)
    assert event["involvedObject"]["name"] == "fast"


async def test_untolerated_no_execute_taint_evicts_at_once_and_tolerating_pods_stay(cluster, kubelets):
    await kubelets.add_node("n1", taints=[{"key": "dedicated", "value": "x", "effect": "NoExecute"}])
    tolerating = [{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}]
    await _pod(cluster, "tolerant", "n1", tolerating)
    await _pod(cluster, "intolerant", "n1")
    await _run(cluster)

    async def evicted():
        pod = await cluster.get("", "pods", "intolerant")
        return pod["metadata"].get("deletionTimestamp")

    await eventually(evicted, within=3)
    assert not (await cluster.get("", "pods", "tolerant"))["metadata"].get("deletionTimestamp")


async def test_removing_the_taint_in_time_cancels_the_eviction(cluster, kubelets):
    taint = {"key": "maintenance", "effect": "NoExecute", "timeAdded": _now()}
    await kubelets.add_node("n1", taints=[taint])
    toleration = {"key": "maintenance", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2}
    await _pod(cluster, "p", "n1", [toleration])
    await _run(cluster)
    await asyncio.sleep(0.5)
    node = await cluster.get("", "nodes", "n1", "")
    node["spec"].pop("taints")
    await cluster.client.update(NODES, node)

    async def cancelled():
        events = await _events(cluster, "TaintManagerEviction")
        return [e for e in events if e["message"] == "Cancelling deletion of Pod default/p"]

    await eventually(cancelled)
    await asyncio.sleep(2)
    assert not (await cluster.get("", "pods", "p"))["metadata"].get("deletionTimestamp")


@pytest.mark.parametrize("how", ["global", "annotation"])
async def test_autonomous_node_keeps_its_pods_while_offline(cluster, kubelets, how):
    annotations = {AUTONOMY_ANNOTATION: "true"} if how == "annotation" else {}
    await kubelets.add_node("edge", annotations=annotations)
    await _pod(cluster, "fast", "edge", _unreachable_for(1))
    await _run(cluster, node_autonomy=how == "global")
    kubelets.alive.discard("edge")

    async def offline():
        node = await cluster.get("", "nodes", "edge", "")
        return node if _ready_status(node) == "Unknown" and _taints(node) else None

    node = await eventually(offline, within=GRACE + 3)
    await asyncio.sleep(2.0)  # longer than the pod's toleration
    node = await cluster.get("", "nodes", "edge", "")
    assert _taints(node) == {(TAINT_UNREACHABLE, "NoSchedule")}
    pod = await cluster.get("", "pods", "fast")
    assert not pod["metadata"].get("deletionTimestamp")
    assert next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")["status"] == "True"
    assert await _events(cluster, "TaintManagerEviction") == []


async def test_eviction_deadline_survives_a_controller_restart(cluster, kubelets):
    """timeAdded on the taint, not controller memory, decides: a restarted controller evicts on time."""
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    taint = {"key": "maintenance", "effect": "NoExecute", "timeAdded": long_ago}
    await kubelets.add_node("n1", taints=[taint])
    toleration = {"key": "maintenance", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}
    await _pod(cluster, "p", "n1", [toleration])
    await _run(cluster)

    async def evicted():
        return (await cluster.get("", "pods", "p"))["metadata"].get("deletionTimestamp")

    await eventually(evicted, within=3)
