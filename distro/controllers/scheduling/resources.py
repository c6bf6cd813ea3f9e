"""Resource amounts as the scheduler counts them: cpu in millicores, everything else in whole units
(bytes, devices), each rounded up as Go's Quantity.MilliValue()/Value() do."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from typing import Any

from distro.apiserver.strategies import quantity

Obj = dict[str, Any]
Resources = dict[str, int]

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
PODS = "pods"
# what a container that requests nothing is taken to use when spreading load (schedutil defaults)
DEFAULT_MILLI_CPU = 100
DEFAULT_MEMORY = 200 * 1024 * 1024


@functools.lru_cache(maxsize=4096)
def amount(name: str, raw: str) -> int:
    """One quantity as an integer in the scheduler's unit for `name`; unparsable counts as 0."""
    parsed = quantity.parse(raw)
    if parsed is None:
        return 0
    value = parsed.value * 1000 if name == CPU else parsed.value
    return math.ceil(value)


def is_scalar(name: str) -> bool:
    """Resources besides cpu/memory/ephemeral-storage the scheduler accounts for: extended resources
    (`example.com/gpu`), hugepages and attachable volumes."""
    if name.startswith(("hugepages-", "attachable-volumes-")):
        return True
    native = "/" not in name or "kubernetes.io/" in name
    return not native and not name.startswith("requests.")


def _counted(name: str) -> bool:
    return name in (CPU, MEMORY, EPHEMERAL_STORAGE) or is_scalar(name)


def resource_list(raw: Any) -> Resources:
    """A ResourceList (name -> quantity) reduced to what the scheduler counts."""
    if not isinstance(raw, dict):
        return {}
    return {name: amount(name, str(value)) for name, value in raw.items() if _counted(name)}


def _add(total: Resources, more: Resources) -> None:
    for name, value in more.items():
        total[name] = total.get(name, 0) + value


def _set_max(total: Resources, other: Resources) -> None:
    for name, value in other.items():
        if value > total.get(name, 0):
            total[name] = value


def _container_requests(container: Obj) -> Resources:
    return resource_list((container.get("resources") or {}).get("requests"))


def _nonzero_requests(container: Obj) -> Resources:
    requests = (container.get("resources") or {}).get("requests") or {}
    counted = resource_list(requests)
    # an explicit 0 stays 0; only an absent request gets the default
    if CPU not in requests:
        counted[CPU] = DEFAULT_MILLI_CPU
    if MEMORY not in requests:
        counted[MEMORY] = DEFAULT_MEMORY
    return counted


def _dicts(items: Any) -> Iterable[Obj]:
    return (i for i in items or () if isinstance(i, dict))


def _pod_total(spec: Obj, per_container: Callable[[Obj], Resources]) -> Resources:
    """resourcehelper.PodRequests: regular containers and sidecars (restartable init containers) run
    together; each ordinary init container runs alone next to the sidecars started before it; the pod
    needs the larger of the two, plus its overhead."""
    total: Resources = {}
    for container in _dicts(spec.get("containers")):
        _add(total, per_container(container))
    sidecars: Resources = {}
    init_peak: Resources = {}
    for container in _dicts(spec.get("initContainers")):
        requests = per_container(container)
        if container.get("restartPolicy") == "Always":
            _add(total, requests)
            _add(sidecars, requests)
            running = dict(sidecars)
        else:
            running = dict(requests)
            _add(running, sidecars)
        _set_max(init_peak, running)
    _set_max(total, init_peak)
    _add(total, resource_list(spec.get("overhead")))
    return total


def pod_requests(spec: Obj) -> Resources:
    """What the pod takes from a node's allocatable, zero entries dropped."""
    return {k: v for k, v in _pod_total(spec, _container_requests).items() if v}


def pod_nonzero_requests(spec: Obj) -> tuple[int, int]:
    """(millicpu, memory) with the defaults for unset requests: what the spreading scores count."""
    total = _pod_total(spec, _nonzero_requests)
    return total.get(CPU, 0), total.get(MEMORY, 0)


def node_allocatable(node: Obj) -> tuple[Resources, int]:
    """(countable allocatable resources, allowed pod count); capacity stands in when allocatable is absent."""
    st = node.get("status") or {}
    raw = st.get("allocatable") or st.get("capacity") or {}
    pods = raw.get(PODS) if isinstance(raw, dict) else None
    return resource_list(raw), amount(PODS, str(pods)) if pods is not None else 0
