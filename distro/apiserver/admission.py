"""What upstream's API server does around storage for particular resources: namespace lifecycle
admission, Service ClusterIP/NodePort allocation and release, and the TTL lease events are written with."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from distro.apiserver import status
from distro.apiserver.ipalloc import Allocator, ServiceIPs
from distro.apiserver.objects import Hooks, Obj
from distro.apiserver.registry import ResourceDef
from kine_shim.client import Datastore
from kine_shim.etcdpb import rpc_pb2 as pb

EVENT_TTL = 3600
# events written within one window share a lease, as upstream's lease manager reuses leases
_LEASE_WINDOW = 60


def _owner(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


def _invalid_service(name: str, field: str, value: str, why: str) -> status.StatusError:
    cause = {"reason": "FieldValueInvalid", "message": f"Invalid value: {value}: {why}", "field": field}
    return status.StatusError(
        422,
        "Invalid",
        f'Service "{name}" is invalid: {field}: Invalid value: {value}: {why}',
        {"name": name, "kind": "Service", "causes": [cause]},
    )


class ServerHooks(Hooks):
    def __init__(
        self,
        ds: Datastore,
        service_ips: ServiceIPs,
        node_ports: Allocator,
        namespace_of: Callable[[str], Obj | None],
    ) -> None:
        self.ds = ds
        self.service_ips = service_ips
        self.node_ports = node_ports
        self.namespace_of = namespace_of
        self._lease: tuple[int, float] = (0, 0.0)

    async def admit_namespace(self, namespace: str) -> None:
        ns = self.namespace_of(namespace)
        if ns is None:
            raise status.not_found("namespaces", "", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise status.StatusError(
                403,
                "Forbidden",
                f"unable to create new content in namespace {namespace} because it is being terminated",
                {
                    "name": namespace,
                    "kind": "namespaces",
                    "causes": [
                        {
                            "reason": "NamespaceTerminating",
                            "message": f"namespace {namespace} is being terminated",
                            "field": "metadata.namespace",
                        }
                    ],
                },
            )

    async def lease_for(self, rd: ResourceDef) -> int:
        if rd.plural != "events":
            return 0
        lease_id, expires = self._lease
        now = time.monotonic()
        if lease_id and now < expires:
            return lease_id
        resp = await self.ds.lease_grant(pb.LeaseGrantRequest(TTL=EVENT_TTL + _LEASE_WINDOW))
        self._lease = (resp.ID, now + _LEASE_WINDOW)
        return resp.ID

    # -- services --

    async def before_create(self, rd: ResourceDef, obj: Obj, dry_run: bool) -> Callable[[], Awaitable[Any]]:
        taken: list[tuple[str, Any]] = []

        async def undo() -> None:
            await self._release(taken, _owner(obj))

        if rd.plural != "services":
            return undo
        try:
            await self._allocate(obj, taken, dry_run)
        except BaseException:
            await undo()
            raise
        return undo if not dry_run else _nothing

    async def before_update(self, rd: ResourceDef, new: Obj, old: Obj, dry_run: bool) -> None:
        if rd.plural != "services":
            return
        old_spec, new_spec = old.get("spec") or {}, new.setdefault("spec", {})
        if (
            old_spec.get("clusterIP")
            and not new_spec.get("clusterIP")
            and new_spec.get("type") != "ExternalName"
        ):
            new_spec["clusterIP"] = old_spec["clusterIP"]
            new_spec["clusterIPs"] = old_spec.get("clusterIPs") or [old_spec["clusterIP"]]
        taken: list[tuple[str, Any]] = []
        try:
            await self._allocate_node_ports(new, taken, dry_run)
        except BaseException:
            await self._release(taken, _owner(new))
            raise
        if dry_run:
            return
        still = (
            {p.get("nodePort") for p in new_spec.get("ports") or []} if _wants_node_ports(new_spec) else set()
        )
        for port in old_spec.get("ports") or []:
            if port.get("nodePort") and port["nodePort"] not in still:
                await self.node_ports.release(port["nodePort"], _owner(old))

    async def after_delete(self, rd: ResourceDef, obj: Obj) -> None:
        if rd.plural != "services":
            return
        spec = obj.get("spec") or {}
        taken: list[tuple[str, Any]] = [("ip", ip) for ip in spec.get("clusterIPs") or []]
        taken += [("port", p["nodePort"]) for p in spec.get("ports") or [] if p.get("nodePort")]
        await self._release(taken, _owner(obj))

    async def _allocate(self, obj: Obj, taken: list[tuple[str, Any]], dry_run: bool) -> None:
        spec = obj.setdefault("spec", {})
        name = obj["metadata"]["name"]
        owner = _owner(obj)
        if spec.get("type") == "ExternalName":
            return
        wanted = spec.get("clusterIP") or ""
        if wanted == "None":
            spec["clusterIPs"] = ["None"]
        elif wanted:
            if not self.service_ips.contains(wanted):
                raise _invalid_service(
                    name,
                    "spec.clusterIPs",
                    f'[]string{{"{wanted}"}}',
                    f"failed to allocate IP {wanted}: the provided IP ({wanted}) is not in "
                    f"the valid range. The range of valid IPs is {self.service_ips.network}",
                )
            if not dry_run and not await self.service_ips.reserve(wanted, owner):
                raise _invalid_service(
                    name,
                    "spec.clusterIPs",
                    f'[]string{{"{wanted}"}}',
                    f"failed to allocate IP {wanted}: provided IP is already allocated",
                )
            if not dry_run:
                taken.append(("ip", wanted))
            spec["clusterIPs"] = [wanted]
        else:
            ip = (
                await self.service_ips.allocate(owner)
                if not dry_run
                else str(self.service_ips.network.network_address + 2)
            )
            if not dry_run:
                taken.append(("ip", ip))
            spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
        await self._allocate_node_ports(obj, taken, dry_run)

    async def _allocate_node_ports(self, obj: Obj, taken: list[tuple[str, Any]], dry_run: bool) -> None:
        spec = obj.get("spec") or {}
        if not _wants_node_ports(spec):
            return
        owner, name = _owner(obj), obj["metadata"]["name"]
        for i, port in enumerate(spec.get("ports") or []):
            wanted = port.get("nodePort")
            if wanted:
                if dry_run:
                    continue
                if not await self.node_ports.reserve(int(wanted), owner):
                    raise _invalid_service(
                        name, f"spec.ports[{i}].nodePort", str(wanted), "provided port is already allocated"
                    )
                taken.append(("port", int(wanted)))
            elif not dry_run:
                port["nodePort"] = await self.node_ports.allocate(owner)
                taken.append(("port", port["nodePort"]))

    async def _release(self, taken: list[tuple[str, Any]], owner: str) -> None:
        for what, value in taken:
            if what == "ip":
                await self.service_ips.release(value, owner)
            else:
                await self.node_ports.release(value, owner)


def _wants_node_ports(spec: Obj) -> bool:
    if spec.get("type") == "NodePort":
        return True
    return spec.get("type") == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts", True) is not False


async def _nothing() -> None:
    return None
