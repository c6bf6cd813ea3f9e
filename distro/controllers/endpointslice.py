"""EndpointSlices (discovery.k8s.io/v1) for every Service with a selector, as upstream's endpointslice
controller writes them, and the `kubernetes` Service's slice, as upstream's API server endpoint
reconciler writes it (that Service has no selector; its endpoint is this server's advertise address).

Slices are reconciled with little churn: endpoints are updated in place in the slice that holds them,
new endpoints fill slices that change anyway, then the unchanged slice they fit best, then new slices;
a slice that would be deleted while another is created is reused instead.

The pod helpers below are shared with the legacy Endpoints controller (distro.controllers.endpoints).
"""

from __future__ import annotations

import copy
import datetime as dt
import ipaddress
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from distro.apiserver import status
from distro.apiserver.strategies import names
from distro.controllers.base import Controller
from distro.controllers.client import Client, key_of, resource, split_key
from distro.controllers.config import ControllerConfig
from distro.controllers.events import EventRecorder
from distro.controllers.informer import Informer, InformerFactory, Obj

log = logging.getLogger(__name__)

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
HEADLESS_LABEL = "service.kubernetes.io/headless"
TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"
ZONE_LABEL = "topology.kubernetes.io/zone"
_RESERVED_LABELS = frozenset({SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL})

# the API server's own Service, whose endpoints are the server itself rather than selected pods
KUBERNETES_SERVICE = "default/kubernetes"

SERVICES_BY_NAMESPACE = "endpoints:services-by-namespace"
PODS_BY_NAMESPACE = "endpoints:pods-by-namespace"
_PODS_BY_NODE = "endpointslice:pods-by-node"
_SLICES_BY_SERVICE = "endpointslice:slices-by-service"

# how long a write this controller made may stay unseen by the informer before it stops waiting
_PENDING_WRITE_TTL = 10.0
_STALE_RECHECK_SECONDS = 1.0

_SLICES = resource("discovery.k8s.io", "endpointslices")


# -- pods and services: shared with the Endpoints controller --


def selector_of(service: Obj) -> dict[str, str] | None:
    """The Service's selector, or None when it selects nothing: no selector (user-managed endpoints),
    an empty one (the API drops empty maps, so upstream sees nil too), or an ExternalName Service."""
    spec = service.get("spec") or {}
    if spec.get("type") == "ExternalName":
        return None
    return spec.get("selector") or None


def selects(selector: dict[str, str], labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


def pod_ready(pod: Obj) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def pod_ips(pod: Obj) -> list[str]:
    """status.podIPs, or status.podIP when a kubelet reported only that."""
    st = pod.get("status") or {}
    ips = [p.get("ip") for p in st.get("podIPs") or [] if p.get("ip")]
    return ips or ([st["podIP"]] if st.get("podIP") else [])


def pod_in_endpoints(pod: Obj, include_terminating: bool) -> bool:
    """upstream's ShouldPodBeInEndpoints: not finished, has an IP, and (optionally) not terminating."""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return False
    if not pod_ips(pod):
        return False
    return include_terminating or not pod["metadata"].get("deletionTimestamp")


def should_set_hostname(pod: Obj, service: Obj) -> bool:
    spec = pod.get("spec") or {}
    return bool(spec.get("hostname")) and spec.get("subdomain") == service["metadata"]["name"]


def find_port(pod: Obj, service_port: Obj) -> int | None:
    """The pod's port for a Service port: a number as is, a name looked up in the containers' ports
    (and restartable init containers', i.e. sidecars) with the same protocol; None if absent."""
    target = service_port.get("targetPort")
    if target in (None, 0, ""):
        target = service_port.get("port")
    if isinstance(target, int):
        return target
    protocol = service_port.get("protocol") or "TCP"
    spec = pod.get("spec") or {}
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    for container in [*(spec.get("containers") or []), *sidecars]:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return port.get("containerPort")
    return None


def service_ip_set(service: Obj) -> bool:
    cluster_ip = (service.get("spec") or {}).get("clusterIP") or ""
    return cluster_ip not in ("", "None")


def _pod_projection(pod: Obj) -> tuple:
    """What of a pod its endpoints depend on; other changes (annotations, container statuses) are noise."""
    meta, spec = pod["metadata"], pod.get("spec") or {}
    return (
        meta.get("labels") or {},
        meta.get("deletionTimestamp"),
        pod_ready(pod),
        pod_ips(pod),
        (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"),
        spec.get("nodeName"),
        spec.get("hostname"),
        spec.get("subdomain"),
    )


def services_for_pod_change(services: Informer, old: Obj | None, new: Obj | None) -> set[str]:
    """Keys of the Services whose endpoints may change with this pod event (before or after labels)."""
    pod = new or old
    if pod is None:
        return set()
    if old is not None and new is not None and _pod_projection(old) == _pod_projection(new):
        return set()
    label_sets = [p["metadata"].get("labels") or {} for p in (old, new) if p is not None]
    return _services_selecting(services, pod["metadata"].get("namespace") or "", label_sets)


def _services_selecting(services: Informer, namespace: str, label_sets: Iterable[dict[str, str]]) -> set[str]:
    label_sets = list(label_sets)
    keys = set()
    for service in services.by_index(SERVICES_BY_NAMESPACE, namespace):
        selector = selector_of(service)
        if selector and any(selects(selector, labels) for labels in label_sets):
            keys.add(key_of(service))
    return keys


def by_namespace(obj: Obj) -> list[str]:
    return [obj["metadata"].get("namespace") or ""]


def selected_pods(pods: Informer, service: Obj, selector: dict[str, str]) -> list[Obj]:
    namespace = service["metadata"]["namespace"]
    return [
        p
        for p in pods.by_index(PODS_BY_NAMESPACE, namespace)
        if selects(selector, p["metadata"].get("labels"))
    ]


def namespace_terminating(exc: status.StatusError) -> bool:
    causes = (exc.details or {}).get("causes") or []
    return exc.code == 403 and any(c.get("reason") == "NamespaceTerminating" for c in causes)


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _rfc3339nano(when: dt.datetime) -> str:
    text = when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


class TriggerTimes:
    """upstream's TriggerTimeTracker: the time of the earliest change (a pod's Ready transition or the
    Service's creation) not yet reflected in the endpoints, for the last-change-trigger-time annotation.
    An empty answer means "no new trigger" and the annotation is dropped."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, dict[str, str]]] = {}

    def compute(self, service: Obj, pods: list[Obj]) -> str:
        key = key_of(service)
        service_time = service["metadata"].get("creationTimestamp") or ""
        pod_times = {}
        for pod in pods:
            for c in (pod.get("status") or {}).get("conditions") or []:
                if c.get("type") == "Ready" and c.get("lastTransitionTime"):
                    pod_times[pod["metadata"]["name"]] = c["lastTransitionTime"]
        known = self._seen.get(key)
        self._seen[key] = (service_time, pod_times)
        if known is None:
            return _rfc3339nano(_parse_time(service_time)) if service_time else ""
        last_service, last_pods = known
        changed = [t for name, t in pod_times.items() if _after(t, last_pods.get(name))]
        if service_time and _after(service_time, last_service):
            changed.append(service_time)
        return _rfc3339nano(min(_parse_time(t) for t in changed)) if changed else ""

    def forget(self, key: str) -> None:
        self._seen.pop(key, None)


def _after(value: str, previous: str | None) -> bool:
    return not previous or _parse_time(value) > _parse_time(previous)


def with_trigger_time(obj: Obj, trigger: str) -> Obj:
    annotations = obj["metadata"].setdefault("annotations", {})
    if trigger:
        annotations[TRIGGER_TIME_ANNOTATION] = trigger
    else:
        annotations.pop(TRIGGER_TIME_ANNOTATION, None)
    return obj


# -- slices: pure planning --

PortKey = tuple[tuple[str, int, str, str], ...]
EndpointKey = tuple[tuple[str, ...], str, str, str]


def _port_key(ports: list[Obj] | None) -> PortKey:
    return tuple(
        sorted(
            (
                p.get("name") or "",
                int(p.get("port") or 0),
                p.get("protocol") or "TCP",
                p.get("appProtocol") or "",
            )
            for p in ports or []
        )
    )


def _endpoint_key(endpoint: Obj) -> EndpointKey:
    """upstream's endpoint hash: what makes an endpoint the same one (other fields are updated in place)."""
    ref = endpoint.get("targetRef") or {}
    return (
        tuple(sorted(endpoint.get("addresses") or [])),
        endpoint.get("hostname") or "",
        ref.get("namespace") or "",
        ref.get("name") or "",
    )


def _endpoint_view(endpoint: Obj) -> tuple:
    conditions = endpoint.get("conditions") or {}
    ref = {k: v for k, v in (endpoint.get("targetRef") or {}).items() if k != "resourceVersion"}
    return (
        endpoint.get("nodeName"),
        endpoint.get("zone"),
        conditions.get("ready"),
        conditions.get("serving"),
        conditions.get("terminating"),
        sorted(ref.items()),
    )


def _address_types(service: Obj) -> list[str]:
    """From spec.ipFamilies; without them (objects from old API servers) the ClusterIP's family, and
    both families for a headless Service, as upstream."""
    spec = service.get("spec") or {}
    families = [f for f in spec.get("ipFamilies") or [] if f in ("IPv4", "IPv6")]
    if families:
        return sorted(set(families))
    if service_ip_set(service):
        return ["IPv6" if ":" in spec["clusterIP"] else "IPv4"]
    return ["IPv4", "IPv6"]


def _addresses(pod: Obj, address_type: str) -> list[str]:
    out = []
    for raw in pod_ips(pod):
        try:
            ip = ipaddress.ip_address(raw)
        except ValueError:
            continue
        if (ip.version == 6) == (address_type == "IPv6"):
            out.append(str(ip))
    return out


def _pod_endpoint(pod: Obj, node: Obj | None, service: Obj, address_type: str) -> Obj:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    serving = pod_ready(pod)
    terminating = bool(meta.get("deletionTimestamp"))
    publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    endpoint: Obj = {
        "addresses": _addresses(pod, address_type),
        # never ready while terminating, for compatibility, unless the Service publishes everything
        "conditions": {
            "ready": publish or (serving and not terminating),
            "serving": serving,
            "terminating": terminating,
        },
        "targetRef": {
            "kind": "Pod",
            "namespace": meta.get("namespace", ""),
            "name": meta["name"],
            "uid": meta.get("uid", ""),
        },
    }
    if spec.get("nodeName"):
        endpoint["nodeName"] = spec["nodeName"]
    zone = ((node or {}).get("metadata", {}).get("labels") or {}).get(ZONE_LABEL)
    if zone:
        endpoint["zone"] = zone
    if should_set_hostname(pod, service):
        endpoint["hostname"] = spec["hostname"]
    return endpoint


def _endpoint_ports(service: Obj, pod: Obj) -> list[Obj]:
    ports = []
    for service_port in (service.get("spec") or {}).get("ports") or []:
        number = find_port(pod, service_port)
        if number is None:
            continue
        port: Obj = {
            "name": service_port.get("name") or "",
            "port": number,
            "protocol": service_port.get("protocol") or "TCP",
        }
        if service_port.get("appProtocol"):
            port["appProtocol"] = service_port["appProtocol"]
        ports.append(port)
    return ports


def _slice_labels(service: Obj, current: Obj | None) -> tuple[dict[str, str], bool]:
    """The slice's labels: the Service's (reserved keys excepted) plus the reserved ones; and whether the
    Service's labels differ from the slice's."""
    wanted = {k: v for k, v in (service["metadata"].get("labels") or {}).items() if k not in _RESERVED_LABELS}
    have = {
        k: v
        for k, v in ((current or {}).get("metadata", {}).get("labels") or {}).items()
        if k not in _RESERVED_LABELS
    }
    labels = dict(wanted)
    if not service_ip_set(service):
        labels[HEADLESS_LABEL] = ""
    labels[SERVICE_NAME_LABEL] = service["metadata"]["name"]
    labels[MANAGED_BY_LABEL] = CONTROLLER_NAME
    return labels, wanted != have


def _owner_ref(service: Obj) -> Obj:
    meta = service["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "name": meta["name"],
        "uid": meta.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _owned_by(slice_: Obj, service: Obj) -> bool:
    uid = service["metadata"].get("uid")
    return any(
        o.get("uid") == uid and o.get("kind") == "Service" and o.get("apiVersion") == "v1"
        for o in slice_["metadata"].get("ownerReferences") or []
    )


def _new_slice(service: Obj, ports: list[Obj], address_type: str) -> Obj:
    meta = service["metadata"]
    labels, _ = _slice_labels(service, None)
    return {
        "metadata": {
            "generateName": f"{meta['name']}-",
            "namespace": meta["namespace"],
            "labels": labels,
            "ownerReferences": [_owner_ref(service)],
        },
        "addressType": address_type,
        "endpoints": [],
        "ports": copy.deepcopy(ports),
    }


def _is_placeholder_of(slice_: Obj, placeholder: Obj, service: Obj) -> bool:
    return (
        not slice_.get("endpoints")
        and not slice_.get("ports")
        and slice_.get("addressType") == placeholder["addressType"]
        and (slice_["metadata"].get("labels") or {}) == placeholder["metadata"]["labels"]
        and _owned_by(slice_, service)
    )


@dataclass
class _SlicePlan:
    create: list[Obj] = field(default_factory=list)
    update: list[Obj] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.create or self.update or self.delete)


@dataclass
class _DesiredGroup:
    ports: list[Obj]
    endpoints: dict[EndpointKey, Obj]


def _plan_address_type(
    service: Obj,
    existing: list[Obj],
    desired: dict[PortKey, _DesiredGroup],
    address_type: str,
    max_per_slice: int,
) -> _SlicePlan:
    """The creates, updates and deletes that make `existing` (this Service's slices of one address type)
    hold exactly the desired endpoints, grouped by port set."""
    plan = _SlicePlan()
    by_ports: dict[PortKey, list[Obj]] = {}
    for slice_ in existing:
        if _owned_by(slice_, service):
            by_ports.setdefault(_port_key(slice_.get("ports")), []).append(slice_)
        else:
            plan.delete.append(slice_)  # left over from an earlier Service of the same name
    for key, group in desired.items():
        part = _plan_port_group(service, by_ports.get(key, []), group, address_type, max_per_slice)
        plan.create += part.create
        plan.update += part.update
        plan.delete += part.delete
    for key, slices in by_ports.items():
        if key not in desired:
            plan.delete += slices
    if len(existing) == len(plan.delete) and not plan.create:
        # a Service without endpoints still gets one empty slice, as upstream
        placeholder = _new_slice(service, [], address_type)
        if len(plan.delete) == 1 and _is_placeholder_of(plan.delete[0], placeholder, service):
            plan.delete = []
        else:
            plan.create.append(placeholder)
    _reuse_deleted_for_created(plan, service)
    return plan


def _plan_port_group(
    service: Obj, existing: list[Obj], group: _DesiredGroup, address_type: str, max_per_slice: int
) -> _SlicePlan:
    wanted = dict(group.endpoints)
    unchanged: dict[str, Obj] = {}
    to_update: dict[str, Obj] = {}
    plan = _SlicePlan()
    for slice_ in existing:
        kept, changed = [], False
        for endpoint in slice_.get("endpoints") or []:
            want = wanted.pop(_endpoint_key(endpoint), None)
            if want is not None:
                kept.append(want)
                changed = changed or _endpoint_view(want) != _endpoint_view(endpoint)
        labels, labels_changed = _slice_labels(service, slice_)
        name = slice_["metadata"]["name"]
        if changed or len(kept) != len(slice_.get("endpoints") or []):
            if not kept:
                plan.delete.append(slice_)
                continue
            updated = copy.deepcopy(slice_)
            updated["endpoints"] = kept
            updated["metadata"]["labels"] = labels
            to_update[name] = updated
        elif labels_changed:
            updated = copy.deepcopy(slice_)
            updated["metadata"]["labels"] = labels
            to_update[name] = updated
        else:
            unchanged[name] = slice_
    remaining = [wanted[k] for k in sorted(wanted)]
    # fill the slices that are written anyway first, fullest first
    for slice_ in sorted(to_update.values(), key=lambda s: -len(s["endpoints"])):
        room = max_per_slice - len(slice_["endpoints"])
        if room > 0 and remaining:
            slice_["endpoints"] += remaining[:room]
            remaining = remaining[room:]
    while remaining:
        target = None
        if len(remaining) < max_per_slice and unchanged:
            target = _slice_to_fill(list(unchanged.values()), len(remaining), max_per_slice)
        if target is None:
            target = _new_slice(service, group.ports, address_type)
        else:
            unchanged.pop(target["metadata"]["name"])
            target = copy.deepcopy(target)
        room = max_per_slice - len(target["endpoints"])
        target["endpoints"] = (target.get("endpoints") or []) + remaining[:room]
        remaining = remaining[room:]
        if target["metadata"].get("name"):
            to_update[target["metadata"]["name"]] = target
        else:
            plan.create.append(target)
    plan.update = list(to_update.values())
    return plan


def _slice_to_fill(slices: list[Obj], count: int, max_per_slice: int) -> Obj | None:
    """The unchanged slice that would be closest to full with `count` more endpoints."""
    best, best_room = None, max_per_slice
    for slice_ in slices:
        room = max_per_slice - count - len(slice_.get("endpoints") or [])
        if 0 <= room < best_room:
            best, best_room = slice_, room
    return best


def _reuse_deleted_for_created(plan: _SlicePlan, service: Obj) -> None:
    """A slice about to be deleted is updated into one about to be created: one write instead of two."""
    keep: list[Obj] = []
    for doomed in plan.delete:
        if (
            plan.create
            and _owned_by(doomed, service)
            and doomed.get("addressType") == plan.create[-1]["addressType"]
        ):
            reused = plan.create.pop()
            meta = reused["metadata"]
            meta.pop("generateName", None)
            meta["name"] = doomed["metadata"]["name"]
            meta["resourceVersion"] = doomed["metadata"].get("resourceVersion")
            meta["annotations"] = dict(doomed["metadata"].get("annotations") or {})
            plan.update.append(reused)
        else:
            keep.append(doomed)
    plan.delete = keep


# -- the controller --


class _PendingWrites:
    """Read-your-writes for the slice informer. A Service whose last writes the informer has not shown
    yet is not reconciled: from that stale view it would create a second slice for endpoints that an
    unseen one already holds."""

    def __init__(self) -> None:
        self._pending: dict[str, dict[str, tuple[int, str, float]]] = {}

    def wrote(self, service_key: str, obj: Obj) -> None:
        rv = int(obj["metadata"].get("resourceVersion") or 0)
        self._pending.setdefault(service_key, {})[obj["metadata"]["name"]] = (rv, "", time.monotonic())

    def deleted(self, service_key: str, obj: Obj) -> None:
        meta = obj["metadata"]
        self._pending.setdefault(service_key, {})[meta["name"]] = (
            0,
            meta.get("uid") or "?",
            time.monotonic(),
        )

    def waiting(self, service_key: str, slices: Informer) -> bool:
        entries = self._pending.get(service_key)
        if not entries:
            return False
        namespace, _ = split_key(service_key)
        now = time.monotonic()
        for name, (rv, deleted_uid, since) in list(entries.items()):
            current = slices.get(namespace, name)
            if deleted_uid:
                seen = current is None or current["metadata"].get("uid") != deleted_uid
            else:
                seen = slices.revision >= rv  # the informer applies events in revision order
            if seen or now - since > _PENDING_WRITE_TTL:
                del entries[name]
        if not entries:
            del self._pending[service_key]
            return False
        return True

    def forget(self, service_key: str) -> None:
        self._pending.pop(service_key, None)


def _service_of_slice(slice_: Obj) -> str | None:
    meta = slice_["metadata"]
    service = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
    return f"{meta.get('namespace', '')}/{service}" if service else None


class EndpointSliceController(Controller):
    name = "endpointslice"
    component = "endpointslice-controller"
    workers = 2
    max_endpoints_per_slice = 100

    def __init__(
        self, client: Client, informers: InformerFactory, recorder: EventRecorder, config: ControllerConfig
    ) -> None:
        super().__init__(client, informers, recorder, config)
        self.services = informers.informer(resource("", "services"))
        self.pods = informers.informer(resource("", "pods"))
        self.nodes = informers.informer(resource("", "nodes"))
        self.slices = informers.informer(_SLICES)
        self.services.add_index(SERVICES_BY_NAMESPACE, by_namespace)
        self.pods.add_index(PODS_BY_NAMESPACE, by_namespace)
        self.pods.add_index(
            _PODS_BY_NODE, lambda p: [n] if (n := (p.get("spec") or {}).get("nodeName")) else []
        )
        self.slices.add_index(_SLICES_BY_SERVICE, lambda s: [k] if (k := _service_of_slice(s)) else [])
        self.services.add_handler(lambda old, new: self.enqueue(key_of(new or old)))
        self.pods.add_handler(self._pod_changed)
        self.nodes.add_handler(self._node_changed)
        self.slices.add_handler(self._slice_changed)
        self._trigger_times = TriggerTimes()
        self._pending = _PendingWrites()

    # -- event handlers --

    def _pod_changed(self, old: Obj | None, new: Obj | None) -> None:
        for key in services_for_pod_change(self.services, old, new):
            self.enqueue(key)

    def _node_changed(self, old: Obj | None, new: Obj | None) -> None:
        if old is not None and new is not None and _zone(old) == _zone(new):
            return
        node = (new or old)["metadata"]["name"]
        for pod in self.pods.by_index(_PODS_BY_NODE, node):
            self._pod_changed(None, pod)

    def _slice_changed(self, old: Obj | None, new: Obj | None) -> None:
        for obj in (old, new):
            if obj is None:
                continue
            key = _service_of_slice(obj)
            managed = (obj["metadata"].get("labels") or {}).get(MANAGED_BY_LABEL) == CONTROLLER_NAME
            if key and (managed or key_of(obj) == KUBERNETES_SERVICE):
                self.enqueue(key)

    # -- reconciling --

    async def sync(self, key: str) -> None:
        if key == KUBERNETES_SERVICE:
            await self._sync_kubernetes()
            return
        if self._pending.waiting(key, self.slices):
            self.queue.add_after(key, _STALE_RECHECK_SECONDS)
            return
        namespace, name = split_key(key)
        service = self.services.get(namespace, name)
        ours = [
            s
            for s in self.slices.by_index(_SLICES_BY_SERVICE, key)
            if (s["metadata"].get("labels") or {}).get(MANAGED_BY_LABEL) == CONTROLLER_NAME
        ]
        selector = selector_of(service) if service is not None else None
        if service is None or selector is None:
            # gone (the garbage collector would take the slices too) or no longer selecting pods
            self._trigger_times.forget(key)
            await self._apply(key, service, _SlicePlan(delete=ours), "")
            return
        pods = selected_pods(self.pods, service, selector)
        trigger = self._trigger_times.compute(service, pods)
        types = _address_types(service)
        plan = _SlicePlan(delete=[s for s in ours if s.get("addressType") not in types])
        for address_type in types:
            existing = [s for s in ours if s.get("addressType") == address_type]
            part = _plan_address_type(
                service,
                existing,
                self._desired(service, pods, address_type),
                address_type,
                self.max_endpoints_per_slice,
            )
            plan.create += part.create
            plan.update += part.update
            plan.delete += part.delete
        await self._apply(key, service, plan, trigger)

    def _desired(self, service: Obj, pods: list[Obj], address_type: str) -> dict[PortKey, _DesiredGroup]:
        publish = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
        desired: dict[PortKey, _DesiredGroup] = {}
        for pod in pods:
            if not pod_in_endpoints(pod, include_terminating=True):
                continue
            node_name = (pod.get("spec") or {}).get("nodeName") or ""
            node = self.nodes.get("", node_name) if node_name else None
            if node is None and not publish:
                # as upstream: a pod on an unknown node is left out until the node shows up
                continue
            endpoint = _pod_endpoint(pod, node, service, address_type)
            if not endpoint["addresses"]:
                continue
            ports = _endpoint_ports(service, pod)
            group = desired.setdefault(_port_key(ports), _DesiredGroup(ports, {}))
            group.endpoints[_endpoint_key(endpoint)] = endpoint
        return desired

    async def _apply(self, key: str, service: Obj | None, plan: _SlicePlan, trigger: str) -> None:
        namespace, _ = split_key(key)
        # no new slices for a Service being deleted: they would race the garbage collector
        if service is not None and not service["metadata"].get("deletionTimestamp"):
            for slice_ in plan.create:
                try:
                    created = await self.client.create(_SLICES, namespace, with_trigger_time(slice_, trigger))
                except status.StatusError as exc:
                    if namespace_terminating(exc):
                        return
                    raise
                self._pending.wrote(key, created)
        for slice_ in plan.update:
            self._pending.wrote(key, await self.client.update(_SLICES, with_trigger_time(slice_, trigger)))
        for slice_ in plan.delete:
            await self.client.delete(
                _SLICES, namespace, slice_["metadata"]["name"], uid=slice_["metadata"].get("uid", "")
            )
            self._pending.deleted(key, slice_)

    async def _sync_kubernetes(self) -> None:
        """The API server's own endpoint, as upstream's endpoint reconciler writes it."""
        if not advertise_address_usable(self.config):
            return
        want = _kubernetes_slice(self.config)
        current = self.slices.get("default", "kubernetes")
        if current is None:
            try:
                await self.client.create(_SLICES, "default", want)
            except status.StatusError as exc:
                if exc.reason != "AlreadyExists":
                    raise
                self.queue.add_after(KUBERNETES_SERVICE, _STALE_RECHECK_SECONDS)
            return
        if current.get("addressType") != want["addressType"]:
            # addressType is immutable
            await self.client.delete(_SLICES, "default", "kubernetes", uid=current["metadata"].get("uid", ""))
            return
        same = (
            (current["metadata"].get("labels") or {}) == want["metadata"]["labels"]
            and current.get("endpoints") == want["endpoints"]
            and current.get("ports") == want["ports"]
        )
        if not same:
            updated = copy.deepcopy(current)
            updated["metadata"]["labels"] = want["metadata"]["labels"]
            updated["endpoints"], updated["ports"] = want["endpoints"], want["ports"]
            await self.client.update(_SLICES, updated)


def advertise_address_usable(config: ControllerConfig) -> bool:
    """The API server refuses endpoints at loopback, link-local or unspecified addresses (as upstream
    does): with such an advertise address the `kubernetes` Service gets no endpoints."""
    problems = names.non_special_ip_errors(config.advertise_address)
    if problems:
        log.warning(
            "no endpoints for the kubernetes Service: unusable advertise address",
            extra={"address": config.advertise_address, "error": "; ".join(problems)},
        )
    return not problems


def _kubernetes_slice(config: ControllerConfig) -> Obj:
    address = config.advertise_address
    return {
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {SERVICE_NAME_LABEL: "kubernetes"},
        },
        "addressType": "IPv6" if ":" in address else "IPv4",
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": config.advertise_port, "protocol": "TCP"}],
    }


def _zone(node: Obj) -> str | None:
    return (node["metadata"].get("labels") or {}).get(ZONE_LABEL)
