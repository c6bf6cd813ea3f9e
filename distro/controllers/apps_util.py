"""Pure helpers the Deployment and ReplicaSet controllers share: controller references, pod readiness and
availability, the pod template hash, int-or-percent arithmetic and upstream's order of preference for
deleting pods (pkg/controller/controller_utils.go, pkg/controller/deployment/util)."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import math
import struct
from collections.abc import Sequence
from typing import Any

from distro.apiserver.selectors import LabelSelector, label_selector_from_dict

Obj = dict[str, Any]

POD_TEMPLATE_HASH_LABEL = "pod-template-hash"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
ROLLBACK_TO_ANNOTATION = "deprecated.deployment.rollback.to"
POD_DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"

# k8s.io/apimachinery/pkg/util/rand: no vowels (no words), no look-alikes (0/o, 1/l, 3/e)
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193
_PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}


# -- time --


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def format_time(t: dt.datetime) -> str:
    """metav1.Time on the wire: RFC 3339, whole seconds, UTC."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: Any) -> dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# -- object metadata --


def meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def labels_of(obj: Obj) -> dict[str, str]:
    return meta(obj).get("labels") or {}


def annotations_of(obj: Obj) -> dict[str, str]:
    return meta(obj).get("annotations") or {}


def uid_of(obj: Obj) -> str:
    return meta(obj).get("uid") or ""


def is_being_deleted(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def replicas_of(obj: Obj) -> int:
    """spec.replicas; the API server defaults it to 1, so a missing value means 1."""
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def controller_ref(obj: Obj) -> Obj | None:
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def new_controller_ref(owner: Obj, api_version: str, kind: str) -> Obj:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": meta(owner)["name"],
        "uid": uid_of(owner),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def selector_of(obj: Obj) -> LabelSelector | None:
    """The object's spec.selector, or None when it is missing or invalid (it then selects nothing)."""
    raw = (obj.get("spec") or {}).get("selector")
    if raw is None:
        return None
    try:
        return label_selector_from_dict(raw)
    except ValueError:
        return None


def by_creation(objs: Sequence[Obj], newest_first: bool = False) -> list[Obj]:
    """Oldest first, ties by name (upstream's ReplicaSetsByCreationTimestamp)."""

    def key(o: Obj) -> tuple[str, str]:
        return (meta(o).get("creationTimestamp") or "", meta(o).get("name") or "")

    return sorted(objs, key=key, reverse=newest_first)


# -- pods --


def pod_key(pod: Obj) -> str:
    return f"{meta(pod).get('namespace', '')}/{meta(pod).get('name', '')}"


def is_pod_active(pod: Obj) -> bool:
    """Neither finished nor being deleted: it counts as one of its controller's replicas."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not is_being_deleted(pod)


def _ready_condition(pod: Obj) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond
    return None


def is_pod_ready(pod: Obj) -> bool:
    cond = _ready_condition(pod)
    return cond is not None and cond.get("status") == "True"


def pod_ready_since(pod: Obj) -> dt.datetime | None:
    """When a ready pod became ready (its Ready condition's lastTransitionTime)."""
    cond = _ready_condition(pod)
    if cond is None or cond.get("status") != "True":
        return None
    return parse_time(cond.get("lastTransitionTime"))


def available_at(pod: Obj, min_ready_seconds: int) -> dt.datetime | None:
    """The moment a ready pod counts as available, or None while it is not ready."""
    if not is_pod_ready(pod):
        return None
    if min_ready_seconds <= 0:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    since = pod_ready_since(pod)
    if since is None:
        return None
    return since + dt.timedelta(seconds=min_ready_seconds)


def is_pod_available(pod: Obj, min_ready_seconds: int, at: dt.datetime) -> bool:
    """Ready for at least min_ready_seconds (upstream's podutil.IsPodAvailable: strictly before now)."""
    when = available_at(pod, min_ready_seconds)
    if when is None:
        return False
    return min_ready_seconds <= 0 or when < at


# -- the pod template hash --


def _normalized(value: Any) -> Any:
    """Drops nulls and empty maps/lists, which upstream's typed structs cannot tell from absent."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            nv = _normalized(v)
            if nv is None or nv == {} or nv == []:
                continue
            out[k] = nv
        return out
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def _fnv32a(data: bytes) -> int:
    h = _FNV32_OFFSET
    for byte in data:
        h = ((h ^ byte) * _FNV32_PRIME) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """rand.SafeEncodeString: each byte picks a letter of the vowel-free alphabet."""
    return "".join(_SAFE_ALPHABET[b % len(_SAFE_ALPHABET)] for b in text.encode())


def compute_hash(template: Obj | None, collision_count: int | None) -> str:
    """controller.ComputeHash: FNV-32a of the template (here its canonical JSON) plus the collision
    count as 4 little-endian bytes, the decimal sum rendered with safe_encode."""
    data = json.dumps(_normalized(template or {}), sort_keys=True, separators=(",", ":")).encode()
    if collision_count is not None:
        data += struct.pack("<I", collision_count & 0xFFFFFFFF)
    return safe_encode(str(_fnv32a(data)))


def _without_hash_label(template: Obj | None) -> Obj:
    t = copy.deepcopy(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH_LABEL, None)
    return _normalized(t)


def equal_ignore_hash(a: Obj | None, b: Obj | None) -> bool:
    """Two pod templates are the same rollout target whatever their pod-template-hash labels say."""
    return _without_hash_label(a) == _without_hash_label(b)


# -- int or percent --


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent; validation has rejected anything else, which counts as 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%"):
        try:
            percent = int(value[:-1])
        except ValueError:
            return 0
        exact = percent * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return 0


def _rolling(d: Obj) -> Obj | None:
    strategy = (d.get("spec") or {}).get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return None
    return strategy.get("rollingUpdate") or {}


def resolve_fenceposts(max_surge: Any, max_unavailable: Any, desired: int) -> tuple[int, int]:
    """(surge, unavailable): surge rounds up, unavailable down; both 0 would deadlock, so unavailable
    becomes 1 (upstream's theory: surge may be impossible under a quota)."""
    surge = scaled_value(0 if max_surge is None else max_surge, desired, True)
    unavailable = scaled_value(0 if max_unavailable is None else max_unavailable, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(d: Obj) -> int:
    rolling = _rolling(d)
    if rolling is None:
        return 0
    return resolve_fenceposts(rolling.get("maxSurge"), rolling.get("maxUnavailable"), replicas_of(d))[0]


def max_unavailable(d: Obj) -> int:
    rolling = _rolling(d)
    replicas = replicas_of(d)
    if rolling is None or replicas == 0:
        return 0
    unavailable = resolve_fenceposts(rolling.get("maxSurge"), rolling.get("maxUnavailable"), replicas)[1]
    return min(unavailable, replicas)


# -- which pods to delete first --


def _deletion_cost(pod: Obj) -> int:
    try:
        return int(annotations_of(pod).get(POD_DELETION_COST_ANNOTATION, "0"))
    except ValueError:
        return 0


def _restarts(pod: Obj) -> tuple[int, int]:
    """(max restarts of regular containers, of sidecars: init containers that keep running)."""
    status = pod.get("status") or {}
    regular = max((int(c.get("restartCount") or 0) for c in status.get("containerStatuses") or []), default=0)
    sidecar_names = {
        c.get("name")
        for c in (pod.get("spec") or {}).get("initContainers") or []
        if c.get("restartPolicy") == "Always"
    }
    sidecar = max(
        (
            int(c.get("restartCount") or 0)
            for c in status.get("initContainerStatuses") or []
            if c.get("name") in sidecar_names
        ),
        default=0,
    )
    return regular, sidecar


def _log_rank(t: dt.datetime, at: dt.datetime) -> int:
    nanos = (at - t) / dt.timedelta(microseconds=1) * 1000
    return int(math.log2(nanos)) if nanos > 0 else -1


def _newer_first(
    a: dt.datetime | None, b: dt.datetime | None, a_uid: str, b_uid: str, at: dt.datetime | None
) -> int:
    """-1 when a goes first: empty < newer < older, on a logarithmic scale of age (LogarithmicScaleDown),
    ties in the same power-of-two age bucket broken by UID for a pseudorandom spread."""
    if a == b:
        return 0
    if a is None or b is None or at is None:
        if a is None:
            return -1
        if b is None:
            return 1
        return -1 if a > b else 1
    diff = _log_rank(a, at) - _log_rank(b, at)
    if diff == 0:
        return -1 if a_uid < b_uid else (1 if a_uid > b_uid else 0)
    return -1 if diff < 0 else 1


def _compare_for_deletion(a: tuple[Obj, int], b: tuple[Obj, int], at: dt.datetime | None) -> int:
    """-1 when a should be deleted before b; one rule per step, in upstream's order."""
    pa, ra = a
    pb, rb = b
    na, nb = (pa.get("spec") or {}).get("nodeName") or "", (pb.get("spec") or {}).get("nodeName") or ""
    if na != nb and (not na or not nb):
        return -1 if not na else 1
    pha = _PHASE_ORDINAL.get((pa.get("status") or {}).get("phase") or "", 0)
    phb = _PHASE_ORDINAL.get((pb.get("status") or {}).get("phase") or "", 0)
    if pha != phb:
        return -1 if pha < phb else 1
    ready_a, ready_b = is_pod_ready(pa), is_pod_ready(pb)
    if ready_a != ready_b:
        return -1 if not ready_a else 1
    cost_a, cost_b = _deletion_cost(pa), _deletion_cost(pb)
    if cost_a != cost_b:
        return -1 if cost_a < cost_b else 1
    if ra != rb:
        return -1 if ra > rb else 1
    if ready_a and ready_b:
        order = _newer_first(pod_ready_since(pa), pod_ready_since(pb), uid_of(pa), uid_of(pb), at)
        if order:
            return order
    restarts_a, restarts_b = _restarts(pa), _restarts(pb)
    if restarts_a != restarts_b:
        return -1 if restarts_a > restarts_b else 1
    created_a = parse_time(meta(pa).get("creationTimestamp"))
    created_b = parse_time(meta(pb).get("creationTimestamp"))
    return _newer_first(created_a, created_b, uid_of(pa), uid_of(pb), at)


def rank_for_deletion(pods: Sequence[Obj], ranks: Sequence[int], at: dt.datetime | None) -> list[Obj]:
    """Pods in upstream's order of preference for deletion (ActivePodsWithRanks): unassigned before
    assigned; Pending < Unknown < Running; not ready before ready; lower pod-deletion-cost first; more
    colocated siblings (rank) first; ready for less time first; more restarts first; newer first."""
    paired = list(zip(pods, ranks, strict=True))
    paired.sort(key=functools.cmp_to_key(lambda x, y: _compare_for_deletion(x, y, at)))
    return [p for p, _ in paired]
