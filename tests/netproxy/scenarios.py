"""Small models, one per feature of the renderer; each has a golden ruleset in goldens/<name>.nft."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from netproxy.model import Endpoint, ProxyConfig, ServicePort, ServicePortName

V4 = ProxyConfig(families=("ip",), cluster_cidrs=("10.42.0.0/16",), nodeport_addresses=("192.168.1.10",))
DUAL = ProxyConfig(
    cluster_cidrs=("10.42.0.0/16", "fd00:42::/56"), nodeport_addresses=("192.168.1.10", "fd00:1::10")
)


@dataclass(frozen=True)
class Scenario:
    config: ProxyConfig
    services: Sequence[ServicePort]
    endpoints: Mapping[ServicePortName, Sequence[Endpoint]] = field(default_factory=dict)


def svc(name: str, ip: str = "10.96.0.10", port: int = 80, protocol: str = "TCP", **kw: Any) -> ServicePort:
    cluster_ips = kw.pop("cluster_ips", (ip,))
    return ServicePort("default", name, kw.pop("port_name", ""), protocol, cluster_ips, port, **kw)


def eps(*ips: str, port: int = 8080, **kw: bool) -> list[Endpoint]:
    return [Endpoint(ip, port, **kw) for ip in ips]


def _scenario(config: ProxyConfig, *pairs: tuple[ServicePort, Sequence[Endpoint]]) -> Scenario:
    return Scenario(config, [sp for sp, _ in pairs], {sp.key: list(e) for sp, e in pairs})


def cluster_ip() -> Scenario:
    many = [f"10.42.3.{i}" for i in range(1, 17)]  # reaches lb_map_threshold: one numgen map rule
    return _scenario(
        V4,
        (svc("one", "10.96.0.10", port_name="http"), eps("10.42.0.5")),
        (svc("three", "10.96.0.11"), eps("10.42.0.6", "10.42.1.6", "10.42.2.6")),
        (svc("dns", "10.96.0.12", 53, "UDP"), eps("10.42.0.7", "10.42.1.7", port=53)),
        (svc("sig", "10.96.0.13", 3868, "SCTP"), eps("10.42.0.8", port=3868)),
        (svc("big", "10.96.0.14"), eps(*many)),
    )


def node_port() -> Scenario:
    return _scenario(V4, (svc("np", node_port=30080), eps("10.42.0.5", "10.42.1.5")))


def node_port_any_address() -> Scenario:
    config = ProxyConfig(families=("ip",), cluster_cidrs=("10.42.0.0/16",), nodeport_addresses=None)
    return _scenario(config, (svc("np", node_port=30080), eps("10.42.0.5")))


def external_ips() -> Scenario:
    sp = svc("ext", external_ips=("192.168.1.50", "192.168.1.51"))
    return _scenario(V4, (sp, eps("10.42.0.5", "10.42.1.5")))


def load_balancer() -> Scenario:
    fenced = svc(
        "lb",
        node_port=30443,
        port=443,
        lb_ips=("203.0.113.7",),
        lb_source_ranges=("198.51.100.0/24", "192.0.2.0/25"),
    )
    open_lb = svc("open", "10.96.0.11", lb_ips=("203.0.113.8",))
    return _scenario(V4, (fenced, eps("10.42.0.5", port=8443)), (open_lb, eps("10.42.0.6")))


def session_affinity() -> Scenario:
    sp = svc("sticky", affinity_timeout=10800, node_port=30081)
    return _scenario(V4, (sp, eps("10.42.0.5", "10.42.1.5", "10.42.2.5")))


def external_local() -> Scenario:
    with_local = svc("local", node_port=30082, lb_ips=("203.0.113.9",), external_local=True)
    no_local = svc(
        "remote", "10.96.0.11", node_port=30083, external_ips=("192.168.1.52",), external_local=True
    )
    return _scenario(
        V4,
        (with_local, [Endpoint("10.42.0.5", 8080, local=True), Endpoint("10.42.1.5", 8080)]),
        (no_local, eps("10.42.1.6")),
    )


def internal_local() -> Scenario:
    with_local = svc("local", node_port=30084, internal_local=True)
    no_local = svc("remote", "10.96.0.11", internal_local=True)
    return _scenario(
        V4,
        (with_local, [Endpoint("10.42.0.5", 8080, local=True), Endpoint("10.42.1.5", 8080)]),
        (no_local, eps("10.42.1.6")),
    )


def no_endpoints() -> Scenario:
    return _scenario(
        V4,
        (svc("empty", node_port=30085, external_ips=("192.168.1.53",)), []),
        (svc("unready", "10.96.0.11"), eps("10.42.0.5", ready=False, serving=False)),
    )


def terminating() -> Scenario:
    only_terminating = eps("10.42.0.5", "10.42.1.5", ready=False, serving=True, terminating=True)
    mixed = [Endpoint("10.42.0.6", 8080), Endpoint("10.42.1.6", 8080, ready=False, terminating=True)]
    not_serving = eps("10.42.0.7", ready=False, serving=False, terminating=True)
    return _scenario(
        V4,
        (svc("draining", "10.96.0.10"), only_terminating),
        (svc("rolling", "10.96.0.11"), mixed),
        (svc("gone", "10.96.0.12"), not_serving),
    )


def dual_stack() -> Scenario:
    both = svc(
        "both",
        cluster_ips=("10.96.0.10", "fd00:96::10"),
        node_port=30086,
        lb_ips=("203.0.113.10", "2001:db8::10"),
        lb_source_ranges=("198.51.100.0/24",),  # no IPv6 range: IPv6 LB traffic is all dropped
    )
    v6_only = svc("v6", cluster_ips=("fd00:96::11",), affinity_timeout=600)
    return _scenario(
        DUAL,
        (both, eps("10.42.0.5", "fd00:42::5", "fd00:42:0:1::5")),
        (v6_only, eps("fd00:42::6", "fd00:42::7")),
    )


def masquerade_all() -> Scenario:
    config = ProxyConfig(families=("ip",), masquerade_all=True, nodeport_addresses=())
    return _scenario(config, (svc("all"), eps("10.42.0.5")))


def long_names() -> Scenario:
    long = "a-very-long-service-name-that-is-still-a-valid-dns-label-of-63c"
    namespace = "a-namespace-with-a-long-name-that-is-also-valid-dns-label-63ch"
    sp = ServicePort(namespace, long, "https-metrics", "TCP", ("10.96.0.10",), 443, affinity_timeout=60)
    return _scenario(V4, (sp, eps("10.42.0.5", port=8443)))


SCENARIOS: dict[str, Callable[[], Scenario]] = {
    f.__name__: f
    for f in (
        cluster_ip,
        node_port,
        node_port_any_address,
        external_ips,
        load_balancer,
        session_affinity,
        external_local,
        internal_local,
        no_endpoints,
        terminating,
        dual_stack,
        masquerade_all,
        long_names,
    )
}
