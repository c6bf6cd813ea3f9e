"""Service and EndpointSlice objects -> model: the pure translation, and the per-object cache."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from netproxy.model import Endpoint, ServicePortName, select_endpoints
from netproxy.watcher import ClusterModel, merge_endpoints, service_ports, slice_endpoints


def svc(name: str = "web", namespace: str = "ns", status: dict | None = None, **spec: Any) -> dict:
    spec.setdefault("clusterIP", "10.43.0.10")
    spec.setdefault("ports", [{"port": 80, "protocol": "TCP", "targetPort": 8080}])
    return {"metadata": {"namespace": namespace, "name": name}, "spec": spec, "status": status or {}}


def eps(
    endpoints: list[dict],
    service: str | None = "web",
    name: str = "web-1",
    address_type: str = "IPv4",
    ports: list[dict] | None = None,
) -> dict:
    labels = {"kubernetes.io/service-name": service} if service else {}
    return {
        "metadata": {"namespace": "ns", "name": name, "labels": labels},
        "addressType": address_type,
        "ports": ports if ports is not None else [{"name": "", "port": 8080, "protocol": "TCP"}],
        "endpoints": endpoints,
    }


KEY = ServicePortName("ns", "web", "", "TCP")


def test_cluster_ip_service_with_every_address_kind() -> None:
    service = svc(
        type="LoadBalancer",
        clusterIPs=["10.43.0.10", "fd00:43::a"],
        externalIPs=["192.0.2.1", "not-an-ip", "2001:db8::1"],
        loadBalancerSourceRanges=[" 198.51.100.0/24 ", "bogus", "2001:db8:1::/48"],
        ports=[
            {"name": "http", "port": 80, "nodePort": 30080},
            {"name": "dns", "port": 53, "protocol": "UDP", "nodePort": 30053},
        ],
        status={"loadBalancer": {"ingress": [{"ip": "203.0.113.7", "ipMode": "VIP"}, {"hostname": "lb.x"}]}},
    )
    http, dns = service_ports(service)
    assert http.key == ServicePortName("ns", "web", "http", "TCP")
    assert dns.key == ServicePortName("ns", "web", "dns", "UDP")
    assert (http.port, http.node_port, dns.node_port) == (80, 30080, 30053)
    assert http.cluster_ips == ("10.43.0.10", "fd00:43::a")
    assert http.external_ips == ("192.0.2.1", "2001:db8::1")
    assert http.lb_ips == ("203.0.113.7",)
    assert http.lb_source_ranges == ("198.51.100.0/24", "2001:db8:1::/48")
    assert http.affinity_timeout is None and not http.external_local and not http.internal_local


def test_services_the_proxy_does_not_handle() -> None:
    assert service_ports(svc(clusterIP="None")) == []
    assert service_ports(svc(clusterIP="", clusterIPs=[])) == []
    assert service_ports(svc(type="ExternalName", externalName="x.example", clusterIP="")) == []
    # a port the model refuses is skipped, the others stay
    ports = [{"port": 80}, {"port": 81, "protocol": "ICMP"}, {"port": 70000}, {"name": "noport"}]
    assert [sp.port for sp in service_ports(svc(ports=ports))] == [80]


def test_addresses_of_a_family_without_cluster_ip_are_not_used() -> None:
    (sp,) = service_ports(
        svc(
            externalIPs=["2001:db8::1", "192.0.2.1"],
            status={"loadBalancer": {"ingress": [{"ip": "2001:db8::2"}, {"ip": "203.0.113.9"}]}},
        )
    )
    assert sp.external_ips == ("192.0.2.1",) and sp.lb_ips == ("203.0.113.9",)


def test_proxy_mode_load_balancer_ips_are_not_captured() -> None:
    ingress = [{"ip": "203.0.113.1", "ipMode": "Proxy"}, {"ip": "203.0.113.2"}]
    (sp,) = service_ports(svc(type="LoadBalancer", status={"loadBalancer": {"ingress": ingress}}))
    assert sp.lb_ips == ("203.0.113.2",)


def test_session_affinity_timeout() -> None:
    (default,) = service_ports(svc(sessionAffinity="ClientIP"))
    (custom,) = service_ports(
        svc(sessionAffinity="ClientIP", sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})
    )
    (none,) = service_ports(svc(sessionAffinity="None"))
    assert (default.affinity_timeout, custom.affinity_timeout, none.affinity_timeout) == (10800, 60, None)


def test_traffic_policies() -> None:
    (cluster_ip,) = service_ports(svc(externalTrafficPolicy="Local"))
    (with_external_ip,) = service_ports(svc(externalTrafficPolicy="Local", externalIPs=["192.0.2.1"]))
    (node_port,) = service_ports(svc(type="NodePort", externalTrafficPolicy="Local"))
    (internal,) = service_ports(svc(internalTrafficPolicy="Local"))
    # externalTrafficPolicy only means something for a Service reachable from outside
    assert not cluster_ip.external_local
    assert with_external_ip.external_local and node_port.external_local
    assert internal.internal_local and not internal.external_local


def test_slice_conditions_and_defaults() -> None:
    result = slice_endpoints(
        eps(
            [
                {"addresses": ["10.42.1.5"], "nodeName": "n1"},  # no conditions: ready (and serving)
                {"addresses": ["10.42.1.6"], "conditions": {"ready": False}},  # serving defaults to ready
                {
                    "addresses": ["10.42.1.7"],
                    "conditions": {"ready": False, "serving": True, "terminating": True},
                },
                {"addresses": []},
                {"addresses": ["fd00::1"]},  # wrong family for an IPv4 slice
                {"addresses": ["10.42.1.8", "10.42.1.9"], "nodeName": "n2"},  # only the first address counts
            ]
        ),
        node_name="n1",
    )
    assert list(result) == [KEY]
    assert result[KEY] == [
        Endpoint("10.42.1.5", 8080, node_name="n1", local=True),
        Endpoint("10.42.1.6", 8080, ready=False, serving=False),
        Endpoint("10.42.1.7", 8080, ready=False, serving=True, terminating=True),
        Endpoint("10.42.1.8", 8080, node_name="n2"),
    ]


def test_slice_ports_by_name_and_protocol() -> None:
    ports = [
        {"name": "http", "port": 8080},  # protocol defaults to TCP
        {"name": "dns", "port": 5353, "protocol": "UDP"},
        {"name": "unresolved"},  # a named targetPort no pod has: no port number, not proxied
    ]
    result = slice_endpoints(eps([{"addresses": ["10.42.1.5"]}], ports=ports), "")
    assert set(result) == {
        ServicePortName("ns", "web", "http", "TCP"),
        ServicePortName("ns", "web", "dns", "UDP"),
    }
    assert result[ServicePortName("ns", "web", "dns", "UDP")] == [Endpoint("10.42.1.5", 5353)]


def test_slices_that_belong_to_no_service_or_are_fqdn() -> None:
    assert slice_endpoints(eps([{"addresses": ["10.42.1.5"]}], service=None), "") == {}
    assert slice_endpoints(eps([{"addresses": ["a.example"]}], address_type="FQDN"), "") == {}
    v6 = slice_endpoints(eps([{"addresses": ["fd00:42::0005"]}], address_type="IPv6"), "")
    assert v6[KEY] == [Endpoint("fd00:42::5", 8080)]


def test_endpoints_duplicated_across_slices_count_once_local_wins() -> None:
    remote = {KEY: [Endpoint("10.42.1.5", 8080, node_name="n2"), Endpoint("10.42.1.6", 8080)]}
    local = {KEY: [Endpoint("10.42.1.5", 8080, node_name="n1", local=True)]}
    merged = merge_endpoints([remote, local])
    assert merged[KEY] == [
        Endpoint("10.42.1.5", 8080, node_name="n1", local=True),
        Endpoint("10.42.1.6", 8080),
    ]
    assert merge_endpoints([local, remote])[KEY][0].local


def test_terminating_endpoints_serve_only_when_no_ready_one_is_left() -> None:
    """The translation keeps all conditions; the model decides (upstream's terminating fallback)."""
    ready = {"addresses": ["10.42.1.5"], "conditions": {"ready": True}}
    draining = {
        "addresses": ["10.42.1.6"],
        "conditions": {"ready": False, "serving": True, "terminating": True},
    }
    (sp,) = service_ports(svc())
    both = slice_endpoints(eps([ready, draining]), "")[KEY]
    only_draining = slice_endpoints(eps([draining]), "")[KEY]
    assert [e.ip for e in select_endpoints(sp, both).cluster] == ["10.42.1.5"]
    assert [e.ip for e in select_endpoints(sp, only_draining).cluster] == ["10.42.1.6"]


def test_cluster_model_tracks_objects_and_reports_only_real_changes() -> None:
    changes: list[int] = []
    model = ClusterModel("n1", lambda: changes.append(1))
    model.services.replace([svc("a"), svc("b", clusterIP="10.43.0.11")])
    model.endpoint_slices.replace([eps([{"addresses": ["10.42.1.5"]}], service="a", name="a-1")])
    assert len(changes) == 2
    snap = model.snapshot()
    assert sorted(sp.name for sp in snap.services) == ["a", "b"]
    assert snap.endpoints == {ServicePortName("ns", "a", "", "TCP"): [Endpoint("10.42.1.5", 8080)]}

    annotated = svc("a")
    annotated["metadata"]["annotations"] = {"note": "irrelevant to the proxy"}
    model.services.apply("MODIFIED", annotated)
    model.services.replace([annotated, svc("b", clusterIP="10.43.0.11")])  # a relist with nothing new
    assert len(changes) == 2

    model.endpoint_slices.apply("ADDED", eps([{"addresses": ["10.42.1.6"]}], service="a", name="a-2"))
    model.services.apply("DELETED", svc("b", clusterIP="10.43.0.11"))
    assert len(changes) == 4
    snap = model.snapshot()
    assert [sp.name for sp in snap.services] == ["a"]
    assert [e.ip for e in snap.endpoints[ServicePortName("ns", "a", "", "TCP")]] == ["10.42.1.5", "10.42.1.6"]


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)
_spec_keys = st.sampled_from(
    ["clusterIP", "clusterIPs", "ports", "externalIPs", "loadBalancerSourceRanges", "sessionAffinity", "type"]
)


@settings(max_examples=200, deadline=None)
@given(spec=st.dictionaries(_spec_keys, _json, max_size=5), endpoints=_json)
def test_malformed_objects_never_stop_the_model(spec: dict, endpoints: Any) -> None:
    changes: list[int] = []
    model = ClusterModel("n1", lambda: changes.append(1))
    model.services.apply("ADDED", {"metadata": {"namespace": "ns", "name": "x"}, "spec": spec})
    model.endpoint_slices.apply("ADDED", {**eps([]), "endpoints": endpoints})
    model.snapshot()  # must not raise either
    assert len(changes) <= 2


def test_snapshots_report_the_keys_changed_since_the_previous_one() -> None:
    model = ClusterModel("n1")
    web_http = ServicePortName("ns", "web", "http", "TCP")
    two_ports = [{"name": "", "port": 80, "protocol": "TCP"}, {"name": "http", "port": 81, "protocol": "TCP"}]
    model.services.replace([svc(ports=two_ports), svc("b", clusterIP="10.43.0.11")])
    assert model.snapshot().changed == {KEY, web_http, ServicePortName("ns", "b", "", "TCP")}
    assert model.snapshot().changed == frozenset()  # nothing since

    model.services.apply("MODIFIED", svc(ports=[two_ports[0]]))  # one port removed, the other unchanged
    model.services.replace([svc(ports=[two_ports[0]]), svc("b", clusterIP="10.43.0.11")])  # a no-op relist
    snap = model.snapshot()
    assert KEY in snap.changed and web_http in snap.changed  # the Service's ports, old and new
    assert ServicePortName("ns", "b", "", "TCP") not in snap.changed

    model.endpoint_slices.apply("ADDED", eps([{"addresses": ["10.42.1.5"]}]))
    model.endpoint_slices.apply("ADDED", eps([{"addresses": ["10.42.1.6"]}], name="web-2"))
    snap = model.snapshot()
    assert snap.changed == {KEY}
    assert [e.ip for e in snap.endpoints[KEY]] == ["10.42.1.5", "10.42.1.6"]

    model.endpoint_slices.apply("DELETED", eps([], name="web-1"))
    snap = model.snapshot()
    assert snap.changed == {KEY} and [e.ip for e in snap.endpoints[KEY]] == ["10.42.1.6"]
    model.endpoint_slices.replace([])
    snap = model.snapshot()
    assert snap.changed == {KEY} and snap.endpoints == {}
