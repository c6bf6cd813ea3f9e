"""The scheduler's view of the cluster: per node, what its pods already take (requests, ports, pod
count), kept incrementally from the informers plus the pods the scheduler has *assumed* onto a node
while their binding is in flight, so two decisions never spend the same capacity (upstream's cache)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from distro.controllers.scheduling import predicates, resources
from distro.controllers.scheduling.predicates import HostPort, Taint

Obj = dict[str, Any]

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
# owners whose selector upstream's default spreading (helper.DefaultSelector) follows
_SPREAD_OWNER_KINDS = frozenset({"ReplicaSet", "ReplicationController", "StatefulSet"})
_SPREAD_CACHE = 512

SpreadKey = tuple[str, str, frozenset[tuple[str, str]]]  # (namespace, owner uid, service labels)


@dataclass(slots=True)
class PodInfo:
    """What an assigned (or assumed) pod takes from its node."""

    uid: str
    namespace: str
    node: str
    labels: dict[str, str]
    owner: str
    priority: int
    terminating: bool
    requests: dict[str, int]
    nonzero_cpu: int
    nonzero_memory: int
    ports: tuple[HostPort, ...]


def controller_uid(meta: Obj) -> str:
    for ref in meta.get("ownerReferences") or ():
        if ref.get("controller") and ref.get("kind") in _SPREAD_OWNER_KINDS:
            return str(ref.get("uid") or "")
    return ""


def pod_info(pod: Obj, node: str = "") -> PodInfo:
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    cpu, memory = resources.pod_nonzero_requests(spec)
    return PodInfo(
        uid=str(meta.get("uid") or ""),
        namespace=str(meta.get("namespace") or ""),
        node=node or str(spec.get("nodeName") or ""),
        labels=dict(meta.get("labels") or {}),
        owner=controller_uid(meta),
        priority=int(spec.get("priority") or 0),
        terminating=bool(meta.get("deletionTimestamp")),
        requests=resources.pod_requests(spec),
        nonzero_cpu=cpu,
        nonzero_memory=memory,
        ports=predicates.host_ports(spec),
    )


def _readiness_taint(node: Obj) -> Taint | None:
    """A node that is not Ready gets the taint the node lifecycle controller would give it
    (TaintNodesByCondition), so pods tolerating it (DaemonSets) still land there."""
    for cond in (node.get("status") or {}).get("conditions") or ():
        if cond.get("type") == "Ready":
            if cond.get("status") == "True":
                return None
            key = NOT_READY_TAINT if cond.get("status") == "False" else UNREACHABLE_TAINT
            return Taint(key, "", predicates.NO_SCHEDULE)
    return Taint(NOT_READY_TAINT, "", predicates.NO_SCHEDULE)


@dataclass(slots=True)
class NodeInfo:
    name: str
    node: Obj | None = None
    labels: dict[str, str] = field(default_factory=dict)
    unschedulable: bool = False
    hard_taints: tuple[Taint, ...] = ()  # NoSchedule / NoExecute: must be tolerated
    soft_taints: tuple[Taint, ...] = ()  # PreferNoSchedule: only scored
    allocatable: dict[str, int] = field(default_factory=dict)
    allowed_pods: int = 0
    requested: dict[str, int] = field(default_factory=dict)
    nonzero_cpu: int = 0
    nonzero_memory: int = 0
    pods: dict[str, PodInfo] = field(default_factory=dict)
    ports: dict[HostPort, int] = field(default_factory=dict)
    ports_any_ip: dict[tuple[str, int], int] = field(default_factory=dict)

    def set_node(self, node: Obj) -> tuple:
        """Takes the node's scheduling properties; returns them as a comparable fingerprint."""
        self.node = node
        self.labels = dict((node.get("metadata") or {}).get("labels") or {})
        self.unschedulable = bool((node.get("spec") or {}).get("unschedulable"))
        taints = predicates.taints_of(node)
        readiness = _readiness_taint(node)
        if readiness is not None and not any(
            t.key == readiness.key and t.effect == readiness.effect for t in taints
        ):
            taints.append(readiness)
        self.hard_taints = tuple(
            t for t in taints if t.effect in (predicates.NO_SCHEDULE, predicates.NO_EXECUTE)
        )
        self.soft_taints = tuple(t for t in taints if t.effect == predicates.PREFER_NO_SCHEDULE)
        self.allocatable, self.allowed_pods = resources.node_allocatable(node)
        return self.fingerprint()

    def fingerprint(self) -> tuple:
        return (
            tuple(sorted(self.labels.items())),
            self.unschedulable,
            self.hard_taints,
            self.soft_taints,
            tuple(sorted(self.allocatable.items())),
            self.allowed_pods,
        )

    def add_pod(self, pod: PodInfo) -> None:
        self.pods[pod.uid] = pod
        self._account(pod, 1)

    def remove_pod(self, uid: str) -> PodInfo | None:
        pod = self.pods.pop(uid, None)
        if pod is not None:
            self._account(pod, -1)
        return pod

    def _account(self, pod: PodInfo, sign: int) -> None:
        for name, value in pod.requests.items():
            self.requested[name] = self.requested.get(name, 0) + sign * value
        self.nonzero_cpu += sign * pod.nonzero_cpu
        self.nonzero_memory += sign * pod.nonzero_memory
        for ip, protocol, port in pod.ports:
            self.ports[(ip, protocol, port)] = self.ports.get((ip, protocol, port), 0) + sign
            self.ports_any_ip[(protocol, port)] = self.ports_any_ip.get((protocol, port), 0) + sign


def _spread_matches(pod: PodInfo, key: SpreadKey) -> bool:
    namespace, owner, selector = key
    if pod.terminating or pod.namespace != namespace or (owner and pod.owner != owner):
        return False
    labels = pod.labels
    return all(labels.get(k) == v for k, v in selector)


class Cache:
    """Nodes and the pods on them (bound or assumed), plus per-workload pod counts per node."""

    def __init__(self) -> None:
        self._nodes: dict[str, NodeInfo] = {}
        self._pods: dict[str, PodInfo] = {}
        self._assumed: set[str] = set()
        self._schedulable: list[NodeInfo] | None = None
        self._spread: OrderedDict[SpreadKey, dict[str, int]] = OrderedDict()

    # -- nodes --

    def nodes(self) -> list[NodeInfo]:
        """Nodes that exist (have a Node object), in a stable order."""
        if self._schedulable is None:
            self._schedulable = [n for _, n in sorted(self._nodes.items()) if n.node is not None]
        return self._schedulable

    def node(self, name: str) -> NodeInfo | None:
        return self._nodes.get(name)

    def set_node(self, node: Obj) -> bool:
        """Adds or updates a node; True when it is new or changed in a way that can help pending pods."""
        name = node["metadata"]["name"]
        info = self._nodes.get(name)
        if info is None:
            info = self._nodes[name] = NodeInfo(name)
        existed = info.node is not None
        before = info.fingerprint() if existed else None
        after = info.set_node(node)
        if not existed:
            self._schedulable = None
        return before != after

    def remove_node(self, name: str) -> None:
        info = self._nodes.get(name)
        if info is None:
            return
        info.node = None
        self._schedulable = None
        if not info.pods:
            del self._nodes[name]

    # -- pods --

    def has_pod(self, uid: str) -> bool:
        return uid in self._pods

    def is_assumed(self, uid: str) -> bool:
        return uid in self._assumed

    def pod_node(self, uid: str) -> str | None:
        pod = self._pods.get(uid)
        return pod.node if pod is not None else None

    def add_pod(self, pod: PodInfo) -> None:
        """An assigned pod as the informer shows it: replaces whatever was known (assumed or older)."""
        self.remove_pod(pod.uid)
        self._assumed.discard(pod.uid)
        self._insert(pod)

    def assume(self, pod: PodInfo) -> None:
        self.remove_pod(pod.uid)
        self._assumed.add(pod.uid)
        self._insert(pod)

    def forget(self, uid: str) -> None:
        """Undoes an assumption whose binding failed (a confirmed pod stays)."""
        if uid in self._assumed:
            self.remove_pod(uid)

    def remove_pod(self, uid: str) -> PodInfo | None:
        pod = self._pods.pop(uid, None)
        self._assumed.discard(uid)
        if pod is None:
            return None
        info = self._nodes.get(pod.node)
        if info is not None:
            info.remove_pod(uid)
            if info.node is None and not info.pods:
                del self._nodes[pod.node]
        self._count_spread(pod, -1)
        return pod

    def _insert(self, pod: PodInfo) -> None:
        self._pods[pod.uid] = pod
        info = self._nodes.get(pod.node)
        if info is None:
            info = self._nodes[pod.node] = NodeInfo(pod.node)
        info.add_pod(pod)
        self._count_spread(pod, 1)

    def pods(self) -> Iterator[PodInfo]:
        return iter(self._pods.values())

    # -- spreading --

    def spread_counts(self, key: SpreadKey) -> dict[str, int]:
        """Per node, how many pods of the workload `key` are there (built once, then kept current)."""
        counts = self._spread.get(key)
        if counts is not None:
            self._spread.move_to_end(key)
            return counts
        counts = {}
        for pod in self._pods.values():
            if _spread_matches(pod, key):
                counts[pod.node] = counts.get(pod.node, 0) + 1
        self._spread[key] = counts
        while len(self._spread) > _SPREAD_CACHE:
            self._spread.popitem(last=False)
        return counts

    def _count_spread(self, pod: PodInfo, sign: int) -> None:
        for key, counts in self._spread.items():
            if _spread_matches(pod, key):
                counts[pod.node] = counts.get(pod.node, 0) + sign
