"""What the proxy is asked to do: service ports, their endpoints, and the proxy's own settings.

Everything here is a frozen value. The watcher (later) turns Service and EndpointSlice objects into these;
the renderer turns them into nftables state. Addresses are kept in canonical text form so that rendered
rules and elements compare equal across syncs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Literal, NamedTuple

Family = Literal["ip", "ip6"]
FAMILIES: tuple[Family, ...] = ("ip", "ip6")
PROTOCOLS = ("TCP", "UDP", "SCTP")
MAX_AFFINITY_TIMEOUT = 86400


class ServicePortName(NamedTuple):
    """Identity of one port of one service (kube-proxy's ServicePortName)."""

    namespace: str
    name: str
    port_name: str
    protocol: str


def canonical_ip(text: str) -> str:
    """Canonical text of an address (IPv6 compressed, no zone); ValueError if it is not one."""
    return str(ipaddress.ip_address(text))


def canonical_cidr(text: str) -> str:
    """Canonical text of a prefix; a bare address becomes a /32 or /128."""
    return str(ipaddress.ip_network(text, strict=False))


def family_of(address: str) -> Family:
    """nft family of an address or prefix (textual IPv6 always has a colon, IPv4 never)."""
    return "ip6" if ":" in address else "ip"


def _canonical_ips(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(canonical_ip(v) for v in values))


def _check_port(value: int, what: str, allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if not low <= value <= 65535:
        raise ValueError(f"{what} {value} out of range")


@dataclass(frozen=True, slots=True)
class ServicePort:
    """One port of one Service, with every address it is reachable on (both families)."""

    namespace: str
    name: str
    port_name: str
    protocol: str
    cluster_ips: tuple[str, ...]
    port: int
    node_port: int = 0
    external_ips: tuple[str, ...] = ()
    lb_ips: tuple[str, ...] = ()
    lb_source_ranges: tuple[str, ...] = ()
    affinity_timeout: int | None = None
    external_local: bool = False
    internal_local: bool = False
    # Computed once: the syncer looks every service up by it on every sync.
    key: ServicePortName = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        protocol = self.protocol.upper()
        if protocol not in PROTOCOLS:
            raise ValueError(f"unsupported protocol {self.protocol!r}")
        object.__setattr__(self, "protocol", protocol)
        _check_port(self.port, "port")
        _check_port(self.node_port, "nodePort", allow_zero=True)
        object.__setattr__(self, "cluster_ips", _canonical_ips(self.cluster_ips))
        object.__setattr__(self, "external_ips", _canonical_ips(self.external_ips))
        object.__setattr__(self, "lb_ips", _canonical_ips(self.lb_ips))
        ranges = tuple(dict.fromkeys(canonical_cidr(r) for r in self.lb_source_ranges))
        object.__setattr__(self, "lb_source_ranges", ranges)
        timeout = self.affinity_timeout
        if timeout is not None and not 1 <= timeout <= MAX_AFFINITY_TIMEOUT:
            raise ValueError(f"affinity timeout {timeout} out of range")
        object.__setattr__(self, "key", ServicePortName(self.namespace, self.name, self.port_name, protocol))

    def ips(self, family: Family, kind: Literal["cluster", "external", "lb"]) -> tuple[str, ...]:
        if kind == "cluster":
            source = self.cluster_ips
        elif kind == "external":
            source = self.external_ips
        elif kind == "lb":
            source = self.lb_ips
        else:
            raise KeyError(kind)
        v6 = family == "ip6"
        return tuple(ip for ip in source if (":" in ip) == v6)  # family_of(), inlined: ~4 calls per render

    def source_ranges(self, family: Family) -> tuple[str, ...]:
        return tuple(r for r in self.lb_source_ranges if family_of(r) == family)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One backend address of a service port (already resolved to a port number)."""

    ip: str
    port: int
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    node_name: str = ""
    local: bool = False
    # Sort key (address family, address bytes, port), computed once from the address parsed here anyway:
    # endpoint lists are sorted on every render, and parsing there was ~40% of a full render.
    _order: tuple[int, bytes, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        address = ipaddress.ip_address(self.ip)
        object.__setattr__(self, "ip", str(address))
        _check_port(self.port, "endpoint port")
        object.__setattr__(self, "_order", (address.version, address.packed, self.port))

    @property
    def family(self) -> Family:
        return family_of(self.ip)


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    """Settings of the proxy itself (from flags/config file; passed down, never read from globals)."""

    table: str = "edgek8s"
    families: tuple[Family, ...] = FAMILIES
    # Pod CIDRs (either family). Traffic to a ClusterIP from outside them is masqueraded.
    cluster_cidrs: tuple[str, ...] = ()
    # Masquerade all traffic to ClusterIPs, even from pods.
    masquerade_all: bool = False
    # Addresses that accept NodePort traffic; None means every local address (fib daddr type local).
    nodeport_addresses: tuple[str, ...] | None = None
    masquerade_mark: int = 0x4000
    # From this many endpoints on, a service picks one with a single numgen map lookup instead of a ladder
    # of numgen rules (see render.py for why the map is not used for everything).
    lb_map_threshold: int = 16

    def __post_init__(self) -> None:
        object.__setattr__(self, "cluster_cidrs", tuple(canonical_cidr(c) for c in self.cluster_cidrs))
        if self.nodeport_addresses is not None:
            object.__setattr__(self, "nodeport_addresses", _canonical_ips(self.nodeport_addresses))
        if self.masquerade_mark <= 0 or self.masquerade_mark & (self.masquerade_mark - 1):
            raise ValueError("masquerade_mark must be a single bit")
        if self.lb_map_threshold < 2:
            raise ValueError("lb_map_threshold must be at least 2")
        for family in self.families:
            if family not in FAMILIES:
                raise ValueError(f"unknown family {family!r}")

    def cidrs(self, family: Family) -> tuple[str, ...]:
        return tuple(c for c in self.cluster_cidrs if family_of(c) == family)


@dataclass(frozen=True, slots=True)
class EndpointSelection:
    """Which endpoints serve cluster (internal) and external traffic for one service port, one family."""

    cluster: tuple[Endpoint, ...]
    external: tuple[Endpoint, ...]
    # any usable endpoint at all, regardless of traffic policy (decides reject vs drop)
    any_usable: bool


def _usable(endpoints: Sequence[Endpoint]) -> tuple[Endpoint, ...]:
    """Ready endpoints; if none, serving terminating ones (upstream's terminating-endpoint fallback)."""
    ready = [e for e in endpoints if e.ready]
    if not ready:
        ready = [e for e in endpoints if e.serving and e.terminating]
    unique = {(e.ip, e.port): e for e in reversed(ready)}  # first one wins for a duplicated address
    # within a family the same order as (ipaddress.ip_address(e.ip), e.port): numeric, then port
    return tuple(sorted(unique.values(), key=_ORDER))


_ORDER = attrgetter("_order")


def select_endpoints(sp: ServicePort, endpoints: Sequence[Endpoint]) -> EndpointSelection:
    """Categorize endpoints by traffic policy. The fallback to terminating endpoints is applied
    separately to the cluster-wide and the node-local pools, like upstream."""
    all_usable = _usable(endpoints)
    local_usable = _usable([e for e in endpoints if e.local])
    return EndpointSelection(
        cluster=local_usable if sp.internal_local else all_usable,
        external=local_usable if sp.external_local else all_usable,
        any_usable=bool(all_usable),
    )
