"""Renderer and naming properties that the goldens do not show by themselves."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from netproxy import names
from netproxy.model import Endpoint, ProxyConfig, ServicePort, ServicePortName, select_endpoints
from netproxy.render import render

V4 = ProxyConfig(families=("ip",), cluster_cidrs=("10.42.0.0/16",))
NFT_IDENT = re.compile(r"[a-z][a-z0-9/_.-]*")


def test_chain_names_are_unique_where_dashes_would_collide() -> None:
    a = ServicePortName("a-b", "c", "", "TCP")
    b = ServicePortName("a", "b-c", "", "TCP")
    assert names.service_chain(a) != names.service_chain(b)
    assert names.service_chain(a) == "svc-a-b/c/tcp"


def test_long_or_odd_names_are_bounded_valid_and_distinct() -> None:
    long_a = ServicePortName("n" * 63, "s" * 63, "p" * 15, "SCTP")
    long_b = ServicePortName("n" * 63, "s" * 63, "q" * 15, "SCTP")
    odd = ServicePortName("Weird_NS", "svc", "Port", "UDP")
    made = [names.service_chain(k) for k in (long_a, long_b, odd)]
    for name in made:
        assert NFT_IDENT.fullmatch(name) and len(name) <= names.MAX_NAME, name
    assert len(set(made)) == 3
    ep = Endpoint("fd00::1", 80)
    assert NFT_IDENT.fullmatch(names.endpoint_chain(odd, ep, 60))
    assert names.endpoint_chain(odd, ep, 60) != names.endpoint_chain(odd, ep, 61)


def test_selection_prefers_ready_then_serving_terminating() -> None:
    sp = ServicePort("d", "s", "", "TCP", ("10.96.0.1",), 80, external_local=True)
    ready = Endpoint("10.42.0.2", 80)
    draining_local = Endpoint("10.42.0.1", 80, ready=False, terminating=True, local=True)
    dead = Endpoint("10.42.0.3", 80, ready=False, serving=False, terminating=True)
    sel = select_endpoints(sp, [ready, draining_local, dead])
    assert sel.cluster == (ready,)
    assert sel.external == (draining_local,)  # the local pool falls back on its own
    assert select_endpoints(sp, [dead]).any_usable is False


def test_every_rule_references_existing_objects() -> None:
    """Every chain or set named in a rule or a verdict element is defined (the fake checks the same on
    apply; this states it for one large mixed model)."""
    services = []
    endpoints = {}
    for i in range(40):
        sp = ServicePort(
            "ns",
            f"s{i}",
            "",
            "TCP",
            (f"10.96.0.{i + 1}",),
            80,
            node_port=30000 + i if i % 3 == 0 else 0,
            lb_ips=(f"203.0.113.{i + 1}",) if i % 4 == 0 else (),
            lb_source_ranges=("198.51.100.0/24",) if i % 8 == 0 else (),
            affinity_timeout=60 if i % 5 == 0 else None,
            external_local=i % 2 == 0,
            internal_local=i % 7 == 0,
        )
        services.append(sp)
        endpoints[sp.key] = [Endpoint(f"10.42.{j}.{i + 1}", 8080, local=j == 0) for j in range(i % 4)]
    table = render(V4, services, endpoints).table("ip")
    refs = Counter()
    for chain in table.chains.values():
        for rule in chain.rules:
            for target in re.findall(r"(?:goto|jump) (\S+)", rule):
                assert target in table.chains, (chain.name, rule)
                refs[target] += 1
            for target in re.findall(r"@(\S+)", rule):
                assert target in table.sets, (chain.name, rule)
    for elements in table.elements.values():
        for value in elements.values():
            if value and value.startswith("goto "):
                assert value[5:] in table.chains
                refs[value[5:]] += 1
    unreferenced = [n for n, c in table.chains.items() if c.hook is None and refs[n] == 0]
    assert unreferenced == [], "every regular chain must be reachable"


def test_load_balancing_forms() -> None:
    config = ProxyConfig(families=("ip",), lb_map_threshold=3)
    sp = ServicePort("d", "s", "", "UDP", ("10.96.0.1",), 53)

    def rules(count: int) -> tuple[str, ...]:
        eps = [Endpoint(f"10.42.0.{i + 1}", 5353) for i in range(count)]
        return render(config, [sp], {sp.key: eps}).table("ip").chains["svc-d/s/udp"].rules

    assert rules(1) == ("meta l4proto udp dnat ip to 10.42.0.1:5353",)
    assert rules(2) == (
        "numgen random mod 2 == 0 meta l4proto udp dnat ip to 10.42.0.1:5353",
        "meta l4proto udp dnat ip to 10.42.0.2:5353",
    )
    assert rules(3) == (
        "meta l4proto udp dnat ip to numgen random mod 3 map "
        "{ 0 : 10.42.0.1 . 5353, 1 : 10.42.0.2 . 5353, 2 : 10.42.0.3 . 5353 }",
    )


def test_model_validation() -> None:
    with pytest.raises(ValueError):
        ServicePort("d", "s", "", "ICMP", ("10.96.0.1",), 80)
    with pytest.raises(ValueError):
        ServicePort("d", "s", "", "TCP", ("10.96.0.1",), 0)
    with pytest.raises(ValueError):
        ProxyConfig(masquerade_mark=0x4001)
    sp = ServicePort("d", "s", "", "tcp", ("fd00:0::0001",), 80)
    assert sp.protocol == "TCP" and sp.cluster_ips == ("fd00::1",)
