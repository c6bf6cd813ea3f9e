"""Services and EndpointSlices (JSON dicts) -> the proxy's model, the way kube-proxy reads them.

`service_ports` and `slice_endpoints` are pure translations; `ClusterModel` keeps the translation of every
object a reflector delivered, assembles the whole model on demand and says which service port keys changed
since the last time (the syncer's change feed). Translations are cached per object,
so an event costs one object's translation, and an event that does not change the model (a status or
annotation update) does not ask for a sync.

What is read, following upstream kube-proxy (pkg/proxy/serviceport.go, endpointslicecache.go):
- Services without a ClusterIP (headless, ExternalName) are not proxied; neither are objects labelled
  service.kubernetes.io/service-proxy-name or service.kubernetes.io/headless (the label selector below).
- externalIPs and load-balancer ingress IPs (ipMode VIP or unset; Proxy means the load balancer delivers to
  the endpoints itself) are only used in a family the Service has a ClusterIP of: no family translation.
- externalTrafficPolicy Local only matters for externally reachable Services (NodePort, LoadBalancer,
  or with externalIPs).
- Endpoint conditions: `ready` unset means ready; `serving` unset means whatever `ready` is (the API's
  documented default); `terminating` unset means not terminating. Which of them are used is the model's
  business (netproxy.model.select_endpoints): ready ones, else serving terminating ones.
- An endpoint address that appears in several slices of a Service counts once (a local copy wins).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from netproxy.model import PROTOCOLS, Endpoint, ServicePort, ServicePortName, canonical_cidr, family_of

log = logging.getLogger(__name__)

Obj = Mapping[str, Any]
SERVICES_PATH = "/api/v1/services"
ENDPOINT_SLICES_PATH = "/apis/discovery.k8s.io/v1/endpointslices"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
# what upstream kube-proxy watches: objects another proxy implementation owns, and headless ones, are not ours
PROXY_LABEL_SELECTOR = "!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless"
DEFAULT_AFFINITY_TIMEOUT = 10800
_EXTERNALLY_REACHABLE_TYPES = ("NodePort", "LoadBalancer")


def _meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def object_key(obj: Obj) -> tuple[str, str]:
    meta = _meta(obj)
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


def _valid_ips(values: Iterable[Any]) -> list[str]:
    out = []
    for value in values:
        try:
            out.append(str(ipaddress.ip_address(str(value).strip())))
        except ValueError:
            continue  # upstream drops unparseable addresses and keeps the rest
    return out


def _valid_cidrs(values: Iterable[Any]) -> list[str]:
    out = []
    for value in values:
        try:
            out.append(canonical_cidr(str(value).strip()))
        except ValueError:
            continue
    return out


def _cluster_ips(spec: Mapping[str, Any]) -> list[str]:
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    if not ips or ips[0] == "None":
        return []
    return _valid_ips(ips)


def _lb_ingress_ips(service: Obj) -> list[str]:
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return _valid_ips(
        entry["ip"] for entry in ingress if entry.get("ip") and entry.get("ipMode") in (None, "", "VIP")
    )


def _affinity_timeout(spec: Mapping[str, Any]) -> int | None:
    if spec.get("sessionAffinity") != "ClientIP":
        return None
    config = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
    return int(config.get("timeoutSeconds") or DEFAULT_AFFINITY_TIMEOUT)


def _externally_reachable(spec: Mapping[str, Any]) -> bool:
    return spec.get("type") in _EXTERNALLY_REACHABLE_TYPES or bool(spec.get("externalIPs"))


def service_ports(service: Obj) -> list[ServicePort]:
    """The ports of one Service as the proxy serves them; [] for a Service the proxy does not handle.
    A port the model rejects (bad protocol, out of range) is skipped with a warning, not fatal."""
    spec = service.get("spec") or {}
    namespace, name = object_key(service)
    cluster_ips = _cluster_ips(spec)
    if spec.get("type") == "ExternalName" or not cluster_ips:
        return []
    families = {family_of(ip) for ip in cluster_ips}
    same_family = [ip for ip in _valid_ips(spec.get("externalIPs") or []) if family_of(ip) in families]
    lb_ips = [ip for ip in _lb_ingress_ips(service) if family_of(ip) in families]
    common = {
        "cluster_ips": tuple(cluster_ips),
        "external_ips": tuple(same_family),
        "lb_ips": tuple(lb_ips),
        "lb_source_ranges": tuple(_valid_cidrs(spec.get("loadBalancerSourceRanges") or [])),
        "affinity_timeout": _affinity_timeout(spec),
        "external_local": _externally_reachable(spec) and spec.get("externalTrafficPolicy") == "Local",
        "internal_local": spec.get("internalTrafficPolicy") == "Local",
    }
    ports = []
    for port in spec.get("ports") or []:
        try:
            ports.append(
                ServicePort(
                    namespace,
                    name,
                    str(port.get("name") or ""),
                    str(port.get("protocol") or "TCP"),
                    port=int(port["port"]),
                    node_port=int(port.get("nodePort") or 0),
                    **common,
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("service %s/%s: skipping port %s: %s", namespace, name, port.get("name") or "", exc)
    return ports


def _condition(conditions: Mapping[str, Any], name: str, default: bool) -> bool:
    value = conditions.get(name)
    return default if value is None else bool(value)


def _slice_ports(endpoint_slice: Obj) -> list[tuple[str, str, int]]:
    out = []
    for port in endpoint_slice.get("ports") or []:
        number, protocol = port.get("port"), str(port.get("protocol") or "TCP").upper()
        if isinstance(number, int) and 1 <= number <= 65535 and protocol in PROTOCOLS:
            out.append((str(port.get("name") or ""), protocol, number))
    return out


def slice_endpoints(endpoint_slice: Obj, node_name: str) -> dict[ServicePortName, list[Endpoint]]:
    """Endpoints of one EndpointSlice per service port it serves; {} if it belongs to no Service."""
    service = (_meta(endpoint_slice).get("labels") or {}).get(SERVICE_NAME_LABEL)
    address_type = endpoint_slice.get("addressType")
    if not service or address_type not in ("IPv4", "IPv6"):
        return {}  # FQDN slices are not proxied (nor by upstream)
    namespace = str(_meta(endpoint_slice).get("namespace") or "")
    wanted_family = "ip" if address_type == "IPv4" else "ip6"
    out: dict[ServicePortName, list[Endpoint]] = {}
    for port_name, protocol, number in _slice_ports(endpoint_slice):
        key = ServicePortName(namespace, service, port_name, protocol)
        out[key] = []
        for entry in endpoint_slice.get("endpoints") or []:
            addresses = _valid_ips((entry.get("addresses") or [])[:1])
            if not addresses or family_of(addresses[0]) != wanted_family:
                continue
            conditions = entry.get("conditions") or {}
            ready = _condition(conditions, "ready", True)
            endpoint_node = str(entry.get("nodeName") or "")
            out[key].append(
                Endpoint(
                    addresses[0],
                    number,
                    ready=ready,
                    serving=_condition(conditions, "serving", ready),
                    terminating=_condition(conditions, "terminating", False),
                    node_name=endpoint_node,
                    local=bool(node_name) and endpoint_node == node_name,
                )
            )
    return out


def merge_endpoints(
    slices: Iterable[Mapping[ServicePortName, list[Endpoint]]],
) -> dict[ServicePortName, list[Endpoint]]:
    """One list per service port from all its slices; a duplicated ip:port counts once, a local one wins."""
    merged: dict[ServicePortName, dict[tuple[str, int], Endpoint]] = {}
    for per_port in slices:
        for key, endpoints in per_port.items():
            seen = merged.setdefault(key, {})
            for endpoint in endpoints:
                address = (endpoint.ip, endpoint.port)
                if address not in seen or endpoint.local:
                    seen[address] = endpoint
    return {key: list(seen.values()) for key, seen in merged.items()}


# (object key, old translation, new translation) of each object whose translation changed; None: no object
_Changes = list[tuple[tuple[str, str], Any, Any]]


class _TranslatingSink:
    """A reflector Sink keeping each object's translation; hands on_change the objects whose translation
    changed (once per event or relist, and only if there are any)."""

    def __init__(self, translate: Callable[[Obj], Any], on_change: Callable[[_Changes], None]) -> None:
        self._translate = translate
        self._on_change = on_change
        self.values: dict[tuple[str, str], Any] = {}

    def _safe(self, obj: Obj) -> Any:
        try:
            return self._translate(obj)
        except Exception as exc:  # the API validates objects; one that is malformed anyway must not stop us
            log.warning("ignoring %s/%s: %s: %s", *object_key(obj), type(exc).__name__, exc)
            return None

    def replace(self, objects: list[dict[str, Any]]) -> None:
        old_values, self.values = self.values, {object_key(obj): self._safe(obj) for obj in objects}
        changes = [
            (key, old_values.get(key), self.values.get(key))
            for key in old_values.keys() | self.values.keys()
            if old_values.get(key) != self.values.get(key)
        ]
        if changes:
            self._on_change(changes)

    def apply(self, event_type: str, obj: dict[str, Any]) -> None:
        key = object_key(obj)
        old = self.values.get(key)
        if event_type == "DELETED":
            self.values.pop(key, None)
            new = None
        else:
            new = self.values[key] = self._safe(obj)
        if old != new:
            self._on_change([(key, old, new)])


@dataclass(frozen=True, slots=True)
class Snapshot:
    services: list[ServicePort]
    endpoints: dict[ServicePortName, list[Endpoint]]
    # the keys whose service ports or endpoints may differ from the previous snapshot's (all, for the first)
    changed: frozenset[ServicePortName] = frozenset()


class ClusterModel:
    """What the cluster asks of this node's proxy. `services` and `endpoint_slices` are the Sinks of the
    two reflectors; on_change is called (synchronously, so keep it cheap) whenever the model changed.

    It is also the syncer's change feed: each snapshot says which service port keys changed since the one
    before, and merges endpoints again only for those keys, so a snapshot after one change costs a copy of
    the lists (no per-endpoint work)."""

    def __init__(self, node_name: str, on_change: Callable[[], None] = lambda: None) -> None:
        self.node_name = node_name
        self._on_change = on_change
        self.services = _TranslatingSink(service_ports, self._services_changed)
        self.endpoint_slices = _TranslatingSink(lambda s: slice_endpoints(s, node_name), self._slices_changed)
        self._changed: set[ServicePortName] = set()
        self._slices_of: dict[ServicePortName, set[tuple[str, str]]] = {}
        self._endpoints: dict[ServicePortName, list[Endpoint]] = {}
        self._unmerged: set[ServicePortName] = set()

    def _services_changed(self, changes: _Changes) -> None:
        for _, old, new in changes:
            self._changed.update(sp.key for sp in old or ())
            self._changed.update(sp.key for sp in new or ())
        self._on_change()

    def _slices_changed(self, changes: _Changes) -> None:
        for slice_key, old, new in changes:
            old_ports, new_ports = (old or {}).keys(), (new or {}).keys()
            for port in old_ports - new_ports:
                slices = self._slices_of[port]
                slices.discard(slice_key)
                if not slices:
                    del self._slices_of[port]
            for port in new_ports:
                self._slices_of.setdefault(port, set()).add(slice_key)
            self._unmerged.update(old_ports, new_ports)
        self._on_change()

    def _merge(self, port: ServicePortName) -> None:
        slices = sorted(self._slices_of.get(port, ()))  # slice order decides among duplicates
        if not slices:
            self._endpoints.pop(port, None)
            return
        values = self.endpoint_slices.values
        self._endpoints[port] = merge_endpoints({port: values[key][port]} for key in slices)[port]

    def snapshot(self) -> Snapshot:
        for port in self._unmerged:
            self._merge(port)
        changed = frozenset(self._changed | self._unmerged)
        self._changed, self._unmerged = set(), set()
        services = [sp for ports in self.services.values.values() if ports for sp in ports]
        return Snapshot(services, dict(self._endpoints), changed)
