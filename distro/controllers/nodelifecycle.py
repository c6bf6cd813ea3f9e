"""Node lifecycle (upstream pkg/controller/nodelifecycle and pkg/controller/tainteviction, simplified).

A node nobody has heard from for `node_monitor_grace_period` (no Lease renewal, no Ready heartbeat) gets
its conditions set to Unknown; node conditions become taints (Ready=Unknown -> unreachable, Ready=False ->
not-ready, pressure conditions, cordoning); pods on a node with NoExecute taints are evicted once their
tolerations run out. Like upstream, "heard from" is measured on this controller's own clock, from the
moment it saw a renewal, so clock skew between node and server does not matter, and a restarted server
gives every node a fresh grace period instead of evicting everything at once.

Edge autonomy (`config.node_autonomy`, or annotation edgek8s.io/node-autonomy=true on the node): an
offline node is still Unknown and NoSchedule-tainted, so nothing new lands there, but it gets no NoExecute
taint and its pods are neither marked NotReady nor evicted: the device keeps running them offline.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from distro.apiserver.objects import now_rfc3339
from distro.controllers.base import Controller
from distro.controllers.client import Client, resource
from distro.controllers.config import ControllerConfig
from distro.controllers.events import EventRecorder
from distro.controllers.informer import InformerFactory, Obj
from distro.controllers.scheduling import predicates

NODE_LEASE_NAMESPACE = "kube-node-lease"
AUTONOMY_ANNOTATION = "edgek8s.io/node-autonomy"

TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"
TAINT_MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
TAINT_DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
TAINT_PID_PRESSURE = "node.kubernetes.io/pid-pressure"
TAINT_NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"

# upstream's nodeConditionToTaintKeyStatusMap: (condition type, status) -> NoSchedule taint key
_CONDITION_TAINTS: dict[tuple[str, str], str] = {
    ("Ready", "False"): TAINT_NOT_READY,
    ("Ready", "Unknown"): TAINT_UNREACHABLE,
    ("MemoryPressure", "True"): TAINT_MEMORY_PRESSURE,
    ("DiskPressure", "True"): TAINT_DISK_PRESSURE,
    ("PIDPressure", "True"): TAINT_PID_PRESSURE,
    ("NetworkUnavailable", "True"): TAINT_NETWORK_UNAVAILABLE,
}
_NO_SCHEDULE_KEYS = frozenset({*_CONDITION_TAINTS.values(), TAINT_UNSCHEDULABLE})
_NO_EXECUTE_KEYS = frozenset({TAINT_NOT_READY, TAINT_UNREACHABLE})
# the conditions a silent kubelet no longer vouches for (NetworkUnavailable belongs to the network plugin)
_KUBELET_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
_OUR_REASONS = frozenset({"NodeStatusUnknown", "NodeStatusNeverUpdated"})

_NODE = "node:"
_POD = "pod:"
_POD_NODE_INDEX = "nodelifecycle:node"
# a timer firing a hair early would find the node just inside its grace period and re-arm for nothing
_TIMER_SLACK = 0.02
_TAINT_EVICTION_COMPONENT = "taint-eviction-controller"


# -- taints and tolerations (shared with the DaemonSet controller) --


def toleration_matches(toleration: Obj, taint: Obj) -> bool:
    """v1.Toleration.ToleratesTaint, on plain objects (the scheduler's predicate, one implementation)."""
    (parsed,) = predicates.tolerations_of({"tolerations": [toleration]})
    return parsed.tolerates(
        predicates.Taint(
            str(taint.get("key") or ""), str(taint.get("value") or ""), str(taint.get("effect") or "")
        )
    )


def tolerates(tolerations: list[Obj], taint: Obj) -> bool:
    return any(toleration_matches(t, taint) for t in tolerations)


def _condition(obj: Obj, type_: str) -> Obj | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return cond
    return None


def _is_autonomous(node: Obj, config: ControllerConfig) -> bool:
    annotations = (node.get("metadata") or {}).get("annotations") or {}
    return config.node_autonomy or annotations.get(AUTONOMY_ANNOTATION) == "true"


def _parse_time(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# -- what a node should look like --


def _unknown_conditions(node: Obj, now: str) -> list[Obj]:
    """The node's conditions as upstream's tryUpdateNodeHealth leaves them once the grace period is over."""
    conditions = copy.deepcopy((node.get("status") or {}).get("conditions") or [])
    by_type = {c.get("type"): c for c in conditions}
    for type_ in _KUBELET_CONDITIONS:
        cond = by_type.get(type_)
        if cond is None:
            conditions.append(
                {
                    "type": type_,
                    "status": "Unknown",
                    "reason": "NodeStatusNeverUpdated",
                    "message": "Kubelet never posted node status.",
                    "lastHeartbeatTime": node["metadata"].get("creationTimestamp"),
                    "lastTransitionTime": now,
                }
            )
        elif cond.get("status") != "Unknown":
            cond.update(
                status="Unknown",
                reason="NodeStatusUnknown",
                message="Kubelet stopped posting node status.",
                lastTransitionTime=now,
            )
    return conditions


def desired_taints(node: Obj, autonomous: bool) -> set[tuple[str, str]]:
    """The (key, effect) pairs of the taints this controller owns that the node should carry."""
    wanted: set[tuple[str, str]] = set()
    for cond in (node.get("status") or {}).get("conditions") or []:
        key = _CONDITION_TAINTS.get((cond.get("type"), cond.get("status")))
        if key is not None:
            wanted.add((key, "NoSchedule"))
    if (node.get("spec") or {}).get("unschedulable"):
        wanted.add((TAINT_UNSCHEDULABLE, "NoSchedule"))
    ready = _condition(node, "Ready")
    if ready is not None and not autonomous:
        if ready.get("status") == "False":
            wanted.add((TAINT_NOT_READY, "NoExecute"))
        elif ready.get("status") == "Unknown":
            wanted.add((TAINT_UNREACHABLE, "NoExecute"))
    return wanted


def _owned(taint: Obj) -> bool:
    key, effect = taint.get("key"), taint.get("effect")
    return (effect == "NoSchedule" and key in _NO_SCHEDULE_KEYS) or (
        effect == "NoExecute" and key in _NO_EXECUTE_KEYS
    )


def _reconcile_taints(taints: list[Obj], wanted: set[tuple[str, str]], now: str) -> list[Obj] | None:
    """The node's new taint list, or None when it already carries exactly the wanted owned taints.
    Other taints are kept as they are; NoExecute taints get timeAdded (eviction counts from it)."""
    have = {(t.get("key"), t.get("effect")) for t in taints if _owned(t)}
    if have == wanted:
        return None
    kept = [t for t in taints if not _owned(t) or (t.get("key"), t.get("effect")) in wanted]
    for key, effect in sorted(wanted - have):
        taint: Obj = {"key": key, "effect": effect}
        if effect == "NoExecute":
            taint["timeAdded"] = now
        kept.append(taint)
    return kept


# -- when a pod must go --


def eviction_time(tolerations: list[Obj], taints: list[Obj], first_seen: dict[tuple, float]) -> float | None:
    """Epoch seconds at which a pod with these tolerations must leave a node with these NoExecute taints,
    or None if it may stay forever. Each taint is tolerated by the pod's first matching toleration for its
    tolerationSeconds from the taint's timeAdded; an untolerated taint evicts at once."""
    deadline: float | None = None
    for taint in taints:
        match = next((t for t in tolerations if toleration_matches(t, taint)), None)
        if match is None:
            return 0.0
        seconds = match.get("tolerationSeconds")
        if seconds is None:
            continue
        added = _parse_time(taint.get("timeAdded"))
        if added is None:
            added = first_seen.setdefault(_taint_id(taint), time.time())
        due = added + max(int(seconds), 0)
        deadline = due if deadline is None else min(deadline, due)
    return deadline


def _taint_id(taint: Obj) -> tuple:
    return (taint.get("key"), taint.get("value"), taint.get("effect"))


def _no_execute(node: Obj | None) -> list[Obj]:
    if node is None:
        return []
    return [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") == "NoExecute"]


@dataclass
class _Health:
    """When this controller last heard from a node, on its own monotonic clock."""

    probed: float
    renew_time: str | None = None
    heartbeat: str | None = None


def _heartbeat(node: Obj) -> str | None:
    ready = _condition(node, "Ready")
    if ready is None or ready.get("reason") in _OUR_REASONS:
        return None
    return ready.get("lastHeartbeatTime")


class NodeLifecycleController(Controller):
    name = "nodelifecycle"
    component = "node-controller"
    workers = 2

    def __init__(
        self, client: Client, informers: InformerFactory, recorder: EventRecorder, config: ControllerConfig
    ) -> None:
        super().__init__(client, informers, recorder, config)
        self._nodes_rd = resource("", "nodes")
        self._pods_rd = resource("", "pods")
        self.nodes = informers.informer(self._nodes_rd)
        self.leases = informers.informer(resource("coordination.k8s.io", "leases"))
        self.pods = informers.informer(self._pods_rd)
        self.pods.add_index(_POD_NODE_INDEX, _node_of)
        self._health: dict[str, _Health] = {}
        self._scheduled_evictions: set[str] = set()
        # NoExecute taints without timeAdded count from when this controller first saw them
        self._first_seen: dict[str, dict[tuple, float]] = {}
        self.nodes.add_handler(self._node_changed)
        self.leases.add_handler(self._lease_changed)
        self.pods.add_handler(self._pod_changed)

    # -- informer handlers: note heartbeats, queue work --

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _observe(self, node_name: str) -> _Health:
        health = self._health.get(node_name)
        if health is None:
            health = self._health[node_name] = _Health(probed=self._now())
        return health

    def _node_changed(self, old: Obj | None, new: Obj | None) -> None:
        node = new or old
        assert node is not None
        name = node["metadata"]["name"]
        if new is None:
            self._health.pop(name, None)
            self._first_seen.pop(name, None)
        else:
            health = self._observe(name)
            beat = _heartbeat(new)
            if beat is not None and beat != health.heartbeat:
                health.heartbeat = beat
                health.probed = self._now()
        self.enqueue(_NODE + name)
        if _no_execute(old) != _no_execute(new):
            for pod in self.pods.by_index(_POD_NODE_INDEX, name):
                self.enqueue(_POD + _pod_key(pod))

    def _lease_changed(self, old: Obj | None, new: Obj | None) -> None:
        if new is None or new["metadata"].get("namespace") != NODE_LEASE_NAMESPACE:
            return
        name = new["metadata"]["name"]
        fresh = name not in self._health
        health = self._observe(name)
        renewed = (new.get("spec") or {}).get("renewTime")
        if renewed and renewed != health.renew_time:
            health.renew_time = renewed
            health.probed = self._now()
        if fresh:
            self.enqueue(_NODE + name)

    def _pod_changed(self, old: Obj | None, new: Obj | None) -> None:
        if new is None:
            if old is not None:
                self._scheduled_evictions.discard(_pod_key(old))
            return
        node_name = (new.get("spec") or {}).get("nodeName")
        if not node_name:
            return
        moved = old is None or (old.get("spec") or {}).get("nodeName") != node_name
        retolerated = old is not None and (old.get("spec") or {}).get("tolerations") != new["spec"].get(
            "tolerations"
        )
        if (moved or retolerated) and _no_execute(self.nodes.get("", node_name)):
            self.enqueue(_POD + _pod_key(new))

    # -- work --

    async def sync(self, key: str) -> None:
        if key.startswith(_NODE):
            await self._sync_node(key[len(_NODE) :])
        elif key.startswith(_POD):
            await self._sync_pod(key[len(_POD) :])

    async def _sync_node(self, name: str) -> None:
        node = self.nodes.get("", name)
        if node is None:
            return
        health = self._observe(name)
        remaining = health.probed + self.config.node_monitor_grace_period - self._now()
        if remaining > 0:
            self.queue.add_after(_NODE + name, remaining + _TIMER_SLACK)
        else:
            node = await self._mark_unknown(node)
        autonomous = _is_autonomous(node, self.config)
        node = await self._update_taints(node, autonomous)
        ready = _condition(node, "Ready")
        if ready is not None and ready.get("status") == "Unknown" and not autonomous:
            await self._mark_pods_not_ready(name)

    async def _mark_unknown(self, node: Obj) -> Obj:
        conditions = _unknown_conditions(node, now_rfc3339())
        if conditions == (node.get("status") or {}).get("conditions"):
            return node
        was_ready = (_condition(node, "Ready") or {}).get("status") == "True"
        changed = copy.deepcopy(node)
        changed.setdefault("status", {})["conditions"] = conditions
        node = await self.client.update(self._nodes_rd, changed, subresource="status")
        if was_ready:
            name = node["metadata"]["name"]
            self.recorder.event(node, "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady")
        return node

    async def _update_taints(self, node: Obj, autonomous: bool) -> Obj:
        taints = (node.get("spec") or {}).get("taints") or []
        new_taints = _reconcile_taints(taints, desired_taints(node, autonomous), now_rfc3339())
        if new_taints is None:
            return node
        changed = copy.deepcopy(node)
        spec = changed.setdefault("spec", {})
        if new_taints:
            spec["taints"] = new_taints
        else:
            spec.pop("taints", None)
        return await self.client.update(self._nodes_rd, changed)

    async def _mark_pods_not_ready(self, node_name: str) -> None:
        """Upstream's MarkPodsNotReady: endpoints stop sending traffic to pods nobody can vouch for."""
        for pod in self.pods.by_index(_POD_NODE_INDEX, node_name):
            ready = _condition(pod, "Ready")
            if ready is None or ready.get("status") == "False":
                continue
            changed = copy.deepcopy(pod)
            cond = _condition(changed, "Ready")
            assert cond is not None
            cond.update(status="False", lastTransitionTime=now_rfc3339())
            pod = await self.client.update(self._pods_rd, changed, subresource="status")
            self.recorder.event(pod, "Warning", "NodeNotReady", "Node is not ready")

    async def _sync_pod(self, key: str) -> None:
        namespace, _, name = key.partition("/")
        pod = self.pods.get(namespace, name)
        node_name = ((pod or {}).get("spec") or {}).get("nodeName")
        if pod is None or not node_name or pod["metadata"].get("deletionTimestamp"):
            self._scheduled_evictions.discard(key)
            return
        first_seen = self._first_seen.setdefault(node_name, {})
        taints = _no_execute(self.nodes.get("", node_name))
        due = eviction_time((pod.get("spec") or {}).get("tolerations") or [], taints, first_seen)
        if due is None:
            if key in self._scheduled_evictions:
                self._scheduled_evictions.discard(key)
                self.recorder.event(
                    pod,
                    "Normal",
                    "TaintManagerEviction",
                    f"Cancelling deletion of Pod {key}",
                    component=_TAINT_EVICTION_COMPONENT,
                )
            return
        wait = due - time.time()
        if wait > 0:
            self._scheduled_evictions.add(key)
            self.queue.add_after(_POD + key, wait + _TIMER_SLACK)
            return
        await self._evict(pod, key)

    async def _evict(self, pod: Obj, key: str) -> None:
        self.recorder.event(
            pod,
            "Normal",
            "TaintManagerEviction",
            f"Marking for deletion Pod {key}",
            component=_TAINT_EVICTION_COMPONENT,
        )
        if _condition(pod, "DisruptionTarget") is None:
            changed = copy.deepcopy(pod)
            changed.setdefault("status", {}).setdefault("conditions", []).append(
                {
                    "type": "DisruptionTarget",
                    "status": "True",
                    "reason": "DeletionByTaintManager",
                    "message": "Taint manager: deleting due to NoExecute taint",
                    "lastTransitionTime": now_rfc3339(),
                }
            )
            pod = await self.client.update(self._pods_rd, changed, subresource="status")
        meta = pod["metadata"]
        await self.client.delete(self._pods_rd, meta["namespace"], meta["name"], uid=meta["uid"])
        self._scheduled_evictions.discard(key)


def _node_of(pod: Obj) -> list[str]:
    node_name = (pod.get("spec") or {}).get("nodeName")
    return [node_name] if node_name else []


def _pod_key(pod: Obj) -> str:
    meta = pod["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"
