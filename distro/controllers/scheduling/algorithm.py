"""One scheduling decision: filter every node, score the feasible ones, pick the best (ties at
random); or explain, in kube-scheduler 1.32's words, why no node fits.

Filters run in upstream's plugin order and a node reports only the first plugin that rejects it:
NodeUnschedulable, TaintToleration, NodeAffinity (nodeSelector + required affinity), NodePorts,
NodeResourcesFit. Scores use upstream's default weights: TaintToleration 3 (PreferNoSchedule),
NodeAffinity 2 (preferred terms), PodTopologySpread 2 (the system default spreading of a workload's
pods over hostnames), NodeResourcesFit 1 (LeastAllocated over cpu and memory)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from distro.controllers.scheduling import predicates, resources
from distro.controllers.scheduling.cache import NodeInfo, PodInfo, SpreadKey, pod_info
from distro.controllers.scheduling.predicates import Toleration

Obj = dict[str, Any]

MAX_SCORE = 100
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"
NO_NODES = "no nodes available to schedule pods"
REASON_UNSCHEDULABLE = "node(s) were unschedulable"
REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
REASON_PORTS = "node(s) didn't have free ports for the requested pod ports"
REASON_TOO_MANY_PODS = "Too many pods"
REASON_NOT_PINNED = "node(s) didn't satisfy plugin(s) [NodeAffinity]"
REASON_TERMS_CONFLICT = "pod affinity terms conflict"
PREEMPTION_NOT_HELPFUL = "Preemption is not helpful for scheduling"
PREEMPTION_NO_VICTIMS = "No preemption victims found for incoming pod"
PREEMPTION_NEVER = "not eligible due to preemptionPolicy=Never."
_WEIGHT_TAINT, _WEIGHT_AFFINITY, _WEIGHT_SPREAD, _WEIGHT_FIT = 3, 2, 2, 1
_SPREAD_MAX_SKEW = 3  # the system default hostname constraint (ScheduleAnyway)
_SCALAR_ORDER = (resources.CPU, resources.MEMORY, resources.EPHEMERAL_STORAGE)


@dataclass(slots=True)
class PendingPod:
    """A pod to place: its needs (as PodInfo) and its constraints."""

    info: PodInfo
    node_selector: dict[str, str]
    required: tuple[Obj, ...] | None
    preferred: tuple[tuple[int, Obj], ...]
    pinned: frozenset[str] | None
    tolerations: tuple[Toleration, ...]
    tolerates_unschedulable: bool
    preempt_never: bool


def pending_pod(pod: Obj) -> PendingPod:
    spec = pod.get("spec") or {}
    tolerations = predicates.tolerations_of(spec)
    required = predicates.required_terms(spec)
    selector = spec.get("nodeSelector")
    return PendingPod(
        info=pod_info(pod),
        node_selector=dict(selector) if isinstance(selector, dict) else {},
        required=required,
        preferred=predicates.preferred_terms(spec),
        pinned=predicates.pinned_node_names(required),
        tolerations=tolerations,
        tolerates_unschedulable=predicates.tolerated(
            predicates.Taint(UNSCHEDULABLE_TAINT, "", predicates.NO_SCHEDULE), tolerations
        ),
        preempt_never=spec.get("preemptionPolicy") == "Never",
    )


@dataclass(frozen=True, slots=True)
class Decision:
    node: str | None
    message: str = ""
    # some node failed on what a departing pod frees (resources, ports, pod count)
    waits_for_room: bool = False


# -- filters --


def _affinity_ok(pod: PendingPod, node: NodeInfo) -> bool:
    labels = node.labels
    for key, value in pod.node_selector.items():
        if labels.get(key) != value:
            return False
    if pod.required is None:
        return True
    return any(predicates.term_matches(t, labels, node.name) for t in pod.required)


def _unresolvable(pod: PendingPod, node: NodeInfo) -> str | None:
    """Failures no preemption can fix (UnschedulableAndUnresolvable upstream)."""
    if node.unschedulable and not pod.tolerates_unschedulable:
        return REASON_UNSCHEDULABLE
    if node.hard_taints:
        taint = predicates.first_untolerated(node.hard_taints, pod.tolerations)
        if taint is not None:
            return f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"
    if (pod.node_selector or pod.required is not None) and not _affinity_ok(pod, node):
        return REASON_AFFINITY
    return None


def _insufficient(pod: PodInfo, node: NodeInfo, removed: list[PodInfo] | None = None) -> list[str]:
    """NodePorts then NodeResourcesFit; `removed` pods are left out (the preemption dry run)."""
    requested, pod_count = node.requested, len(node.pods)
    ports, ports_any_ip = node.ports, node.ports_any_ip
    if removed:
        requested, ports, ports_any_ip = dict(requested), dict(ports), dict(ports_any_ip)
        pod_count -= len(removed)
        for victim in removed:
            for name, value in victim.requests.items():
                requested[name] = requested.get(name, 0) - value
            for ip, protocol, port in victim.ports:
                ports[(ip, protocol, port)] -= 1
                ports_any_ip[(protocol, port)] -= 1
    if pod.ports and predicates.port_conflicts(pod.ports, ports, ports_any_ip):
        return [REASON_PORTS]
    reasons = []
    if pod_count + 1 > node.allowed_pods:
        reasons.append(REASON_TOO_MANY_PODS)
    allocatable = node.allocatable
    for name, value in pod.requests.items():
        if value > allocatable.get(name, 0) - requested.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


# -- scores --


def _least_allocated(pod: PodInfo, node: NodeInfo) -> int:
    total = 0
    for capacity, used in (
        (node.allocatable.get(resources.CPU, 0), node.nonzero_cpu + pod.nonzero_cpu),
        (node.allocatable.get(resources.MEMORY, 0), node.nonzero_memory + pod.nonzero_memory),
    ):
        if capacity > 0 and used <= capacity:
            total += (capacity - used) * MAX_SCORE // capacity
    return total // 2


def _normalize(raw: list[int], reverse: bool) -> list[int]:
    """framework's DefaultNormalizeScore."""
    top = max(raw)
    if top == 0:
        return [MAX_SCORE if reverse else 0] * len(raw)
    scaled = [MAX_SCORE * r // top for r in raw]
    return [MAX_SCORE - s for s in scaled] if reverse else scaled


def _spread_scores(counts: Mapping[str, int], nodes: list[NodeInfo]) -> list[int]:
    """PodTopologySpread's score and normalization for the hostname constraint: fewer pods of the
    workload on a node is better."""
    weight = math.log(len(nodes) + 2)
    raw = [round(counts.get(n.name, 0) * weight + (_SPREAD_MAX_SKEW - 1)) for n in nodes]
    top, bottom = max(raw), min(raw)
    if top == 0:
        return [MAX_SCORE] * len(raw)
    return [MAX_SCORE * (top + bottom - r) // top for r in raw]


def _intolerable_soft_taints(pod: PendingPod, node: NodeInfo) -> int:
    return sum(
        1
        for t in node.soft_taints
        if not any(tol.tolerates(t) for tol in pod.tolerations if tol.effect in ("", t.effect))
    )


def _scores(
    pod: PendingPod, nodes: list[NodeInfo], spread: Callable[[], Mapping[str, int] | None]
) -> list[int]:
    totals = [_WEIGHT_FIT * _least_allocated(pod.info, n) for n in nodes]
    if any(n.soft_taints for n in nodes):
        soft = [_intolerable_soft_taints(pod, n) for n in nodes]
        for i, s in enumerate(_normalize(soft, reverse=True)):
            totals[i] += _WEIGHT_TAINT * s
    # (with no PreferNoSchedule taint anywhere every node gets the same taint score: nothing to add)
    if pod.preferred:
        raw = [
            sum(w for w, term in pod.preferred if predicates.term_matches(term, n.labels, n.name))
            for n in nodes
        ]
        for i, s in enumerate(_normalize(raw, reverse=False)):
            totals[i] += _WEIGHT_AFFINITY * s
    counts = spread()
    if counts is not None:
        for i, s in enumerate(_spread_scores(counts, nodes)):
            totals[i] += _WEIGHT_SPREAD * s
    return totals


def _pick(nodes: list[NodeInfo], scores: list[int], rng: random.Random) -> str:
    """The best score; among equals each is equally likely (upstream's reservoir sampling)."""
    best, chosen, ties = -1, "", 0
    for node, score in zip(nodes, scores, strict=True):
        if score > best:
            best, chosen, ties = score, node.name, 1
        elif score == best:
            ties += 1
            if rng.randrange(ties) == 0:
                chosen = node.name
    return chosen


# -- the decision --


def schedule(
    pod: PendingPod,
    nodes: list[NodeInfo],
    spread_key: SpreadKey | None,
    spread_counts: Callable[[SpreadKey], Mapping[str, int]],
    rng: random.Random,
) -> Decision:
    if not nodes:
        return Decision(None, NO_NODES)
    if pod.pinned is not None and not pod.pinned:
        return Decision(None, _fit_error(len(nodes), {}, REASON_TERMS_CONFLICT, _preemption(pod, nodes, {})))
    candidates = nodes if pod.pinned is None else [n for n in nodes if n.name in pod.pinned]
    feasible: list[NodeInfo] = []
    rejected: dict[str, tuple[list[str], bool]] = {}  # node -> (reasons, preemption might help)
    for node in candidates:
        reason = _unresolvable(pod, node)
        if reason is not None:
            rejected[node.name] = ([reason], False)
            continue
        reasons = _insufficient(pod.info, node)
        if reasons:
            rejected[node.name] = (reasons, True)
        else:
            feasible.append(node)
    if feasible:
        if len(feasible) == 1:
            return Decision(feasible[0].name)

        def spread() -> Mapping[str, int] | None:
            return spread_counts(spread_key) if spread_key is not None else None

        return Decision(_pick(feasible, _scores(pod, feasible, spread), rng))
    absent = len(nodes) - len(candidates)
    histogram = _histogram(reasons for reasons, _ in rejected.values())
    if absent:
        histogram[REASON_NOT_PINNED] = histogram.get(REASON_NOT_PINNED, 0) + absent
    waits = any(helps for _, helps in rejected.values())
    preemption = _preemption(pod, nodes, rejected)
    return Decision(None, _fit_error(len(nodes), histogram, "", preemption), waits)


def _histogram(reason_lists) -> dict[str, int]:
    counts: dict[str, int] = {}
    for reasons in reason_lists:
        for reason in reasons:
            counts[reason] = counts.get(reason, 0) + 1
    return counts


def _summary(counts: dict[str, int]) -> str:
    """sortReasonsHistogram: "N reason" strings sorted as strings, comma separated."""
    return ", ".join(sorted(f"{n} {reason}" for reason, n in counts.items()))


def _fit_error(total: int, histogram: dict[str, int], prefilter: str, postfilter: str) -> str:
    """FitError.Error() of 1.32: `0/N nodes are available: <reasons>.` then ` <postfilter>`."""
    message = f"0/{total} nodes are available:"
    if prefilter:
        message += f" {prefilter}."
    elif histogram:
        message += f" {_summary(histogram)}."
    if postfilter:
        message += f" {postfilter}"
    return message


def _preemption(pod: PendingPod, nodes: list[NodeInfo], rejected: dict[str, tuple[list[str], bool]]) -> str:
    """DefaultPreemption's PostFilter message. Only nodes rejected for room are dry-run: without
    lower-priority pods there is nothing to evict; with them, the pod must fit once they are gone.
    When it would fit, upstream preempts and reports no suffix; this scheduler does not preempt
    (see the module docs of distro.controllers.scheduler) and reports none either."""
    if pod.preempt_never:
        return f"preemption: {PREEMPTION_NEVER}"
    outcome: dict[str, int] = {}
    for node in nodes:
        if not rejected.get(node.name, ((), False))[1]:
            outcome[PREEMPTION_NOT_HELPFUL] = outcome.get(PREEMPTION_NOT_HELPFUL, 0) + 1
            continue
        victims = [p for p in node.pods.values() if p.priority < pod.info.priority]
        if not victims:
            outcome[PREEMPTION_NO_VICTIMS] = outcome.get(PREEMPTION_NO_VICTIMS, 0) + 1
            continue
        still = _insufficient(pod.info, node, victims)
        if not still:
            return ""
        for reason in still:
            outcome[reason] = outcome.get(reason, 0) + 1
    return "preemption: " + _fit_error(len(nodes), outcome, "", "")
