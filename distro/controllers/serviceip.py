"""Service ClusterIP and NodePort allocation repair (upstream's ipallocator and portallocator repair
controllers), and the `kubernetes` Service kept in existence (upstream's bootstrap controller).

The API server allocates each ClusterIP and NodePort as one datastore key whose value is the owning
Service (`namespace/name`, see distro.apiserver.ipalloc). A crash between allocating and storing the
Service, or between deleting it and releasing, leaves keys and Services out of step. At start and then
every `interval` seconds this controller compares them:

- a value a Service uses without a key is reserved again (`ClusterIPNotAllocated`/`PortNotAllocated`);
- a key no Service uses is released, but only after `leak_checks` consecutive repairs saw it unused:
  a Service being created holds its key for a moment before it is stored;
- a value used by several Services, or outside the range, is reported on the Services (Warning events
  `ClusterIPAlreadyAllocated`, `ClusterIPOutOfRange`, `PortAlreadyAllocated`, `PortOutOfRange`);
  fixing those takes recreating a Service, which is for its owner to do.

This is the one controller that touches allocation state, and it does so through the API server's own
allocators (`client.api.service_ips`, `ipalloc.node_ports(client.api.ds)`), never through the
Kubernetes API, which has no such resource: upstream's repair controllers likewise live in the API
server. It therefore needs the in-process LocalClient.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable

from distro.apiserver import ipalloc, status
from distro.apiserver.ipalloc import Allocator, ServiceIPs
from distro.controllers.base import Controller
from distro.controllers.client import Client, LocalClient, key_of, resource
from distro.controllers.config import ControllerConfig
from distro.controllers.events import EventRecorder
from distro.controllers.informer import InformerFactory, Obj

log = logging.getLogger(__name__)

_REPAIR = "repair"
_KUBERNETES = "default/kubernetes"
_SERVICES = resource("", "services")
PORT_COMPONENT = "portallocator-repair-controller"


def _owner(service: Obj) -> str:
    return f"{service['metadata'].get('namespace', '')}/{service['metadata']['name']}"


def _cluster_ips(service: Obj) -> list[str]:
    spec = service.get("spec") or {}
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [ip for ip in ips if ip and ip != "None"]


def _service_node_ports(service: Obj) -> list[int]:
    """Distinct: one port may serve both TCP and UDP."""
    ports = {p.get("nodePort") for p in (service.get("spec") or {}).get("ports") or []}
    return sorted(p for p in ports if isinstance(p, int) and p)


class ServiceIPRepairController(Controller):
    name = "serviceip"
    component = "ipallocator-repair-controller"
    interval = 180.0
    leak_checks = 3

    def __init__(
        self, client: Client, informers: InformerFactory, recorder: EventRecorder, config: ControllerConfig
    ) -> None:
        super().__init__(client, informers, recorder, config)
        self.services = informers.informer(_SERVICES)
        self.services.add_handler(self._service_changed)
        self.completed_repairs = 0
        self._ip_leaks: dict[int, int] = {}
        self._port_leaks: dict[int, int] = {}
        self._lock = asyncio.Lock()

    def _service_changed(self, old: Obj | None, new: Obj | None) -> None:
        if new is None and old is not None and key_of(old) == _KUBERNETES:
            self.enqueue(_KUBERNETES)

    async def started(self) -> None:
        self.enqueue(_KUBERNETES)
        self.enqueue(_REPAIR)

    async def sync(self, key: str) -> None:
        if key == _KUBERNETES:
            await self._ensure_kubernetes_service()
            return
        await self.repair()
        self.queue.add_after(_REPAIR, self.interval)

    def _allocators(self) -> tuple[ServiceIPs, Allocator]:
        if not isinstance(self.client, LocalClient):
            raise RuntimeError("the service IP repair controller runs inside the API server process")
        api = self.client.api
        return api.service_ips, ipalloc.node_ports(api.ds)

    # -- repair --

    async def repair(self) -> None:
        """One pass over ClusterIPs and NodePorts."""
        async with self._lock:
            service_ips, ports = self._allocators()
            # Services before keys: a Service created in between shows up as a (not yet released) leak
            services = sorted(
                self.services.list(),
                key=lambda s: (s["metadata"].get("creationTimestamp") or "", key_of(s)),
            )
            await self._repair_ips(service_ips, services)
            await self._repair_ports(ports, services)
            self.completed_repairs += 1

    async def _repair_ips(self, service_ips: ServiceIPs, services: list[Obj]) -> None:
        network = service_ips.network
        claims: dict[int, list[Obj]] = {}
        for service in services:
            for raw in _cluster_ips(service):
                value = self._checked_ip(service, raw, network)
                if value is not None:
                    claims.setdefault(value, []).append(service)

        address_of = type(network.network_address)
        family = "IPv6" if network.version == 6 else "IPv4"

        def label(value: int) -> str:
            return f"[{family}]:{address_of(value)}"

        await self._reconcile(
            service_ips.allocator,
            claims,
            self._ip_leaks,
            uses=lambda svc, value: str(address_of(value)) in _cluster_ips(svc),
            double=lambda v: (
                "ClusterIPAlreadyAllocated",
                f"Cluster IP {label(v)} was assigned to multiple services; please recreate service",
            ),
            missing=lambda v: ("ClusterIPNotAllocated", f"Cluster IP {label(v)} is not allocated; repairing"),
            component=self.component,
        )

    def _checked_ip(
        self, service: Obj, raw: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network
    ) -> int | None:
        try:
            ip = ipaddress.ip_address(raw)
        except ValueError:
            self._warn(
                service, "ClusterIPNotValid", f"Cluster IP {raw} is not a valid IP; please recreate service"
            )
            return None
        family = "IPv6" if ip.version == 6 else "IPv4"
        if ip.version != network.version:
            self._warn(
                service,
                "ClusterIPNotValid",
                f"Cluster IP {ip}({family}) is of ip family that is no longer configured on cluster; "
                "please recreate service",
            )
            return None
        if ip not in network or ip == network.network_address or ip == network.broadcast_address:
            self._warn(
                service,
                "ClusterIPOutOfRange",
                f"Cluster IP [{family}]:{ip} is not within the service CIDR {network}; "
                "please recreate service",
            )
            return None
        return int(ip)

    async def _repair_ports(self, ports: Allocator, services: list[Obj]) -> None:
        claims: dict[int, list[Obj]] = {}
        for service in services:
            for port in _service_node_ports(service):
                if not ports.first <= port <= ports.last:
                    self._warn(
                        service,
                        "PortOutOfRange",
                        f"Port {port} is not within the port range {ports.first}-{ports.last}; "
                        "please recreate service",
                        PORT_COMPONENT,
                    )
                    continue
                claims.setdefault(port, []).append(service)
        await self._reconcile(
            ports,
            claims,
            self._port_leaks,
            uses=lambda svc, value: value in _service_node_ports(svc),
            double=lambda v: (
                "PortAlreadyAllocated",
                f"Port {v} was assigned to multiple services; please recreate service",
            ),
            missing=lambda v: ("PortNotAllocated", f"Port {v} is not allocated; repairing"),
            component=PORT_COMPONENT,
        )

    async def _reconcile(
        self,
        allocator: Allocator,
        claims: dict[int, list[Obj]],  # value (an IP as an int, or a port) -> Services using it
        leaks: dict[int, int],
        *,
        uses: Callable[[Obj, int], bool],
        double: Callable[[int], tuple[str, str]],
        missing: Callable[[int], tuple[str, str]],
        component: str,
    ) -> None:
        stored = await allocator.allocated()
        for value, claimants in claims.items():
            leaks.pop(value, None)
            owner = stored.get(value)
            # the key's owner keeps the value; without one, the oldest claimant does
            keeper = next((s for s in claimants if _owner(s) == owner), None)
            if keeper is None and owner is not None and await self._owner_uses(owner, value, uses):
                # the owner is a Service newer than the cache: all the claimants seen here are doubles
                for other in claimants:
                    self._warn(other, *double(value), component)
                continue
            keeper = keeper or claimants[0]
            for other in claimants:
                if other is not keeper:
                    self._warn(other, *double(value), component)
            if owner != _owner(keeper) and await self._still_uses(keeper, value, uses):
                await self._reassign(allocator, value, owner, keeper, missing, component)
        for value, owner in stored.items():
            if value in claims:
                continue
            leaks[value] = leaks.get(value, 0) + 1
            if leaks[value] >= self.leak_checks:
                log.info("releasing leaked allocation", extra={"value": value, "owner": owner})
                await allocator.release(value, owner)
                del leaks[value]
        for value in [v for v in leaks if v not in stored]:
            del leaks[value]

    async def _reassign(
        self,
        allocator: Allocator,
        value: int,
        owner: str | None,
        keeper: Obj,
        missing: Callable[[int], tuple[str, str]],
        component: str,
    ) -> None:
        if owner is not None:
            # held for a Service that does not use it (any more): hand it to the one that does
            await allocator.release(value, owner)
        if await allocator.reserve(value, _owner(keeper)):
            self._warn(keeper, *missing(value), component)
        else:
            log.warning("allocation taken while repairing", extra={"value": value, "service": _owner(keeper)})

    async def _still_uses(self, service: Obj, value: int, uses: Callable[[Obj, int], bool]) -> bool:
        """Checked against storage, not the cache: a Service deleted a moment ago has released its values
        and must not get them back."""
        meta = service["metadata"]
        fresh = await self._fresh(meta.get("namespace", ""), meta["name"])
        return fresh is not None and fresh["metadata"].get("uid") == meta.get("uid") and uses(fresh, value)

    async def _owner_uses(self, owner: str, value: int, uses: Callable[[Obj, int], bool]) -> bool:
        namespace, _, name = owner.partition("/")
        fresh = await self._fresh(namespace, name)
        return fresh is not None and uses(fresh, value)

    async def _fresh(self, namespace: str, name: str) -> Obj | None:
        try:
            return await self.client.get(_SERVICES, namespace, name)
        except status.StatusError as exc:
            if exc.code == 404:
                return None
            raise

    def _warn(self, service: Obj, reason: str, message: str, component: str = "") -> None:
        self.recorder.event(
            {**service, "kind": "Service", "apiVersion": "v1"}, "Warning", reason, message, component
        )

    # -- the kubernetes Service --

    async def _ensure_kubernetes_service(self) -> None:
        if self.services.get("default", "kubernetes") is not None:
            return
        try:
            await self.client.get(_SERVICES, "default", "kubernetes")
            return
        except status.StatusError as exc:
            if exc.code != 404:
                raise
        service_ips, _ = self._allocators()
        await service_ips.reserve(service_ips.first_ip, _KUBERNETES)
        try:
            await self.client.create(_SERVICES, "default", self._kubernetes_service(service_ips.first_ip))
        except status.StatusError as exc:
            if exc.reason != "AlreadyExists":
                raise

    def _kubernetes_service(self, cluster_ip: str) -> Obj:
        return {
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {
                "clusterIP": cluster_ip,
                "type": "ClusterIP",
                "sessionAffinity": "None",
                "ports": [
                    {
                        "name": "https",
                        "port": 443,
                        "protocol": "TCP",
                        "targetPort": self.config.advertise_port,
                    }
                ],
            },
        }
