"""Legacy core/v1 Endpoints for every Service with a selector (upstream's endpoints controller): one
Endpoints object named after the Service, its ready pods under `addresses`, the others under
`notReadyAddresses`, grouped into subsets by port set; at most 1000 addresses (then truncated and
annotated). Also the `kubernetes` Service's Endpoints, as upstream's API server endpoint reconciler
writes them."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from distro.apiserver import status
from distro.controllers.base import Controller
from distro.controllers.client import Client, key_of, resource, split_key
from distro.controllers.config import ControllerConfig
from distro.controllers.endpointslice import (
    HEADLESS_LABEL,
    KUBERNETES_SERVICE,
    PODS_BY_NAMESPACE,
    SERVICES_BY_NAMESPACE,
    TriggerTimes,
    advertise_address_usable,
    by_namespace,
    find_port,
    namespace_terminating,
    pod_in_endpoints,
    pod_ips,
    pod_ready,
    selected_pods,
    selector_of,
    service_ip_set,
    services_for_pod_change,
    should_set_hostname,
    with_trigger_time,
)
from distro.controllers.events import EventRecorder
from distro.controllers.informer import InformerFactory, Obj

OVER_CAPACITY_ANNOTATION = "endpoints.kubernetes.io/over-capacity"
SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror"
# Endpoints used as leader-election locks have no Service and must survive the leftover sweep
_LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"

_ENDPOINTS = resource("", "endpoints")


def _address(pod: Obj, service: Obj) -> Obj | None:
    """The pod's address in the Service's (first) IP family, or None if it has none."""
    spec = service.get("spec") or {}
    families = spec.get("ipFamilies") or []
    if families:
        want_v6 = families[0] == "IPv6"
    elif service_ip_set(service):
        want_v6 = ":" in spec["clusterIP"]
    else:
        want_v6 = ":" in ((pod.get("status") or {}).get("podIP") or "")
    ip = next((ip for ip in pod_ips(pod) if (":" in ip) == want_v6), None)
    if ip is None:
        return None
    meta = pod["metadata"]
    address: Obj = {
        "ip": ip,
        "targetRef": {
            "kind": "Pod",
            "namespace": meta.get("namespace", ""),
            "name": meta["name"],
            "uid": meta.get("uid", ""),
        },
    }
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        address["nodeName"] = node
    if should_set_hostname(pod, service):
        address["hostname"] = pod["spec"]["hostname"]
    return address


def _port(service_port: Obj, number: int) -> Obj:
    port: Obj = {"port": number, "protocol": service_port.get("protocol") or "TCP"}
    if service_port.get("name"):
        port["name"] = service_port["name"]
    if service_port.get("appProtocol"):
        port["appProtocol"] = service_port["appProtocol"]
    return port


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _address_order(address: Obj) -> tuple[bytes, str]:
    return address["ip"].encode(), (address.get("targetRef") or {}).get("uid", "")


def _desired_subsets(service: Obj, pods: list[Obj]) -> list[Obj]:
    """Subsets in upstream's canonical packing: addresses that offer the same ports (with the same
    readiness) share a subset; an address not ready on any port is not ready on all of them."""
    spec = service.get("spec") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    headless_without_ports = not spec.get("ports") and spec.get("clusterIP") == "None"
    # (address key) -> address; (port key) -> {address key: ready}
    addresses: dict[tuple[str, str], Obj] = {}
    by_port: dict[str, tuple[Obj | None, dict[tuple[str, str], bool]]] = {}
    for pod in pods:
        if not pod_in_endpoints(pod, include_terminating=publish):
            continue
        address = _address(pod, service)
        if address is None:
            continue
        ready = publish or pod_ready(pod)
        akey = (address["ip"], address["targetRef"]["uid"])
        addresses.setdefault(akey, address)
        ports: list[Obj | None] = []
        if headless_without_ports:
            ports = [None]
        for service_port in spec.get("ports") or []:
            number = find_port(pod, service_port)
            if number is not None:
                ports.append(_port(service_port, number))
        for port in ports:
            _, members = by_port.setdefault(_canonical(port), (port, {}))
            members[akey] = members.get(akey, True) and ready
    groups: dict[str, tuple[list[Obj], dict[tuple[str, str], bool]]] = {}
    for port, members in by_port.values():
        group = groups.setdefault(_canonical(sorted(members.items())), ([], members))
        if port is not None:
            group[0].append(port)
    subsets = []
    for ports, members in groups.values():
        ready = sorted((addresses[a] for a, r in members.items() if r), key=_address_order)
        not_ready = sorted((addresses[a] for a, r in members.items() if not r), key=_address_order)
        subset: Obj = {}
        if ready:
            subset["addresses"] = ready
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        if ports:
            subset["ports"] = sorted(ports, key=_canonical)
        subsets.append(subset)
    return sorted(subsets, key=_canonical)


def _truncate(subsets: list[Obj], capacity: int) -> bool:
    """upstream's truncateEndpoints: keep at most `capacity` addresses, ready ones first, each subset
    keeping its proportional share. True if anything was cut."""
    total_ready = sum(len(s.get("addresses") or []) for s in subsets)
    total_not_ready = sum(len(s.get("notReadyAddresses") or []) for s in subsets)
    if total_ready + total_not_ready <= capacity:
        return False
    cut_ready = total_ready > capacity
    budget = capacity if cut_ready else capacity - total_ready
    total = total_ready if cut_ready else total_not_ready
    left = budget
    for subset in subsets:
        field = "addresses" if cut_ready else "notReadyAddresses"
        members = subset.get(field) or []
        share = min(math.ceil(len(members) / total * budget), left) if total else 0
        subset[field] = members[:share]
        left -= len(subset[field])
        if cut_ready:
            subset["notReadyAddresses"] = []
        for key in ("addresses", "notReadyAddresses"):
            if not subset.get(key):
                subset.pop(key, None)
    # a subset left without addresses would be invalid
    subsets[:] = [s for s in subsets if s.get("addresses") or s.get("notReadyAddresses")]
    return True


def _without_rv(subsets: list[Obj]) -> str:
    """Subsets for comparison: a pod's resourceVersion in a targetRef is no reason to write."""
    plain = copy.deepcopy(subsets)
    for subset in plain:
        for key in ("addresses", "notReadyAddresses"):
            for address in subset.get(key) or []:
                (address.get("targetRef") or {}).pop("resourceVersion", None)
    return _canonical(plain)


def _kubernetes_endpoints(config: ControllerConfig) -> Obj:
    return {
        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {SKIP_MIRROR_LABEL: "true"}},
        "subsets": [
            {
                "addresses": [{"ip": config.advertise_address}],
                "ports": [{"name": "https", "port": config.advertise_port, "protocol": "TCP"}],
            }
        ],
    }


class EndpointsController(Controller):
    name = "endpoints"
    component = "endpoint-controller"
    workers = 2
    max_addresses = 1000

    def __init__(
        self, client: Client, informers: InformerFactory, recorder: EventRecorder, config: ControllerConfig
    ) -> None:
        super().__init__(client, informers, recorder, config)
        self.services = informers.informer(resource("", "services"))
        self.pods = informers.informer(resource("", "pods"))
        self.endpoints = informers.informer(_ENDPOINTS)
        self.services.add_index(SERVICES_BY_NAMESPACE, by_namespace)
        self.pods.add_index(PODS_BY_NAMESPACE, by_namespace)
        self.services.add_handler(lambda old, new: self.enqueue(key_of(new or old)))
        self.pods.add_handler(self._pod_changed)
        self.endpoints.add_handler(self._endpoints_changed)
        self._trigger_times = TriggerTimes()

    def _pod_changed(self, old: Obj | None, new: Obj | None) -> None:
        for key in services_for_pod_change(self.services, old, new):
            self.enqueue(key)

    def _endpoints_changed(self, old: Obj | None, new: Obj | None) -> None:
        # as upstream, only deletions: our own writes would otherwise each trigger a no-op sync
        if new is None and old is not None:
            self.enqueue(key_of(old))
        elif new is not None and key_of(new) == KUBERNETES_SERVICE:
            self.enqueue(KUBERNETES_SERVICE)

    async def started(self) -> None:
        # Endpoints whose Service went away while no controller ran are found once, at start
        for ep in self.endpoints.list():
            if _LEADER_ANNOTATION not in (ep["metadata"].get("annotations") or {}):
                self.enqueue(key_of(ep))
        self.enqueue(KUBERNETES_SERVICE)

    async def sync(self, key: str) -> None:
        if key == KUBERNETES_SERVICE:
            await self._sync_kubernetes()
            return
        namespace, name = split_key(key)
        service = self.services.get(namespace, name)
        if service is None:
            self._trigger_times.forget(key)
            await self.client.delete(_ENDPOINTS, namespace, name)
            return
        selector = selector_of(service)
        if selector is None:
            return  # user-managed Endpoints
        pods = selected_pods(self.pods, service, selector)
        # computed even for a no-op sync, so the tracker's view stays current
        trigger = self._trigger_times.compute(service, pods)
        subsets = _desired_subsets(service, pods)
        truncated = _truncate(subsets, self.max_addresses)
        current = self.endpoints.get(namespace, name)
        if current is not None and self._up_to_date(current, service, subsets, truncated):
            return
        await self._write(service, current, subsets, truncated, trigger)

    @staticmethod
    def _up_to_date(current: Obj, service: Obj, subsets: list[Obj], truncated: bool) -> bool:
        labels = dict(current["metadata"].get("labels") or {})
        labels.pop(HEADLESS_LABEL, None)
        annotations = current["metadata"].get("annotations") or {}
        return (
            _without_rv(current.get("subsets") or []) == _without_rv(subsets)
            and labels == (service["metadata"].get("labels") or {})
            and (OVER_CAPACITY_ANNOTATION in annotations) == truncated
        )

    async def _write(
        self, service: Obj, current: Obj | None, subsets: list[Obj], truncated: bool, trigger: str
    ) -> None:
        meta = service["metadata"]
        ep = (
            copy.deepcopy(current)
            if current is not None
            else {"metadata": {"name": meta["name"], "namespace": meta["namespace"]}}
        )
        ep["subsets"] = subsets
        labels = dict(meta.get("labels") or {})
        if not service_ip_set(service):
            labels[HEADLESS_LABEL] = ""
        ep["metadata"]["labels"] = labels
        with_trigger_time(ep, trigger)
        annotations = ep["metadata"]["annotations"]
        if truncated:
            annotations[OVER_CAPACITY_ANNOTATION] = "truncated"
        else:
            annotations.pop(OVER_CAPACITY_ANNOTATION, None)
        if current is not None:
            await self.client.update(_ENDPOINTS, ep)
            return
        try:
            await self.client.create(_ENDPOINTS, meta["namespace"], ep)
        except status.StatusError as exc:
            if namespace_terminating(exc):
                return
            if exc.code not in (403, 409):
                self.recorder.event(
                    {**ep, "kind": "Endpoints", "apiVersion": "v1"},
                    "Warning",
                    "FailedToCreateEndpoint",
                    f"Failed to create endpoint for service {key_of(service)}: {exc.message}",
                )
            raise

    async def _sync_kubernetes(self) -> None:
        if not advertise_address_usable(self.config):
            return
        want = _kubernetes_endpoints(self.config)
        current = self.endpoints.get("default", "kubernetes")
        if current is None:
            try:
                await self.client.create(_ENDPOINTS, "default", want)
            except status.StatusError as exc:
                if exc.reason != "AlreadyExists":
                    raise
            return
        if (
            _canonical(current.get("subsets") or []) == _canonical(want["subsets"])
            and (current["metadata"].get("labels") or {}) == want["metadata"]["labels"]
        ):
            return
        updated = copy.deepcopy(current)
        updated["subsets"] = want["subsets"]
        updated["metadata"]["labels"] = want["metadata"]["labels"]
        await self.client.update(_ENDPOINTS, updated)
