"""Packets through the rules, in namespaces: a node (runs the rules) with two pods on veth links.

  P1 10.42.1.5 fd00:42:1::5 ──veth── N 10.42.1.1 / 10.42.2.1, 192.168.1.10 (ext0) ──veth── P2 10.42.2.5

Clients run on N (locally originated: nat output path) and in P1 (forwarded: prerouting path, hairpin).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from netproxy.applier import NftApplier
from netproxy.model import Endpoint, ProxyConfig, ServicePort
from netproxy.syncer import RuleSyncer
from tests.netproxy.conftest import make_netns, needs_netns, remove_netns

TOOL = str(Path(__file__).with_name("netns_tool.py"))
CONFIG = ProxyConfig(cluster_cidrs=("10.42.0.0/16", "fd00:42::/48"), nodeport_addresses=("192.168.1.10",))


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=10)


def build_topology(stack: ExitStack) -> dict[str, str]:
    names = {}
    for role in ("node", "p1", "p2"):
        ns = make_netns()
        stack.callback(remove_netns, ns)
        names[role] = ns
    node = names["node"]
    for ns in names.values():
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    sh("ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
    # the node's "uplink" (a veth pair inside the node: no dummy module needed)
    sh("ip", "-n", node, "link", "add", "ext0", "type", "veth", "peer", "name", "ext1")
    sh("ip", "-n", node, "link", "set", "ext1", "up")
    sh("ip", "-n", node, "link", "set", "ext0", "up")
    sh("ip", "-n", node, "addr", "add", "192.168.1.10/24", "dev", "ext0")
    sh("ip", "-n", node, "addr", "add", "fd00:1::10/64", "dev", "ext0", "nodad")
    sh("ip", "-n", node, "route", "add", "10.96.0.0/16", "dev", "ext0")
    sh("ip", "-n", node, "route", "add", "203.0.113.0/24", "dev", "ext0")
    sh("ip", "-n", node, "-6", "route", "add", "fd00:96::/64", "dev", "ext0")
    for index, pod in ((1, names["p1"]), (2, names["p2"])):
        sh(
            "ip",
            "-n",
            node,
            "link",
            "add",
            f"vn{index}",
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            pod,
        )
        sh("ip", "-n", node, "addr", "add", f"10.42.{index}.1/24", "dev", f"vn{index}")
        sh("ip", "-n", node, "addr", "add", f"fd00:42:{index}::1/64", "dev", f"vn{index}", "nodad")
        sh("ip", "-n", node, "link", "set", f"vn{index}", "up")
        sh("ip", "-n", pod, "addr", "add", f"10.42.{index}.5/24", "dev", "eth0")
        sh("ip", "-n", pod, "addr", "add", f"fd00:42:{index}::5/64", "dev", "eth0", "nodad")
        sh("ip", "-n", pod, "link", "set", "eth0", "up")
        sh("ip", "-n", pod, "route", "add", "default", "via", f"10.42.{index}.1")
        sh("ip", "-n", pod, "-6", "route", "add", "default", "via", f"fd00:42:{index}::1")
    return names


def start_server(stack: ExitStack, ns: str, name: str, *pairs: str) -> None:
    argv = ["ip", "netns", "exec", ns, sys.executable, TOOL, "serve", name, *pairs]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    stack.callback(proc.wait, 10)
    stack.callback(proc.kill)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"


def probe(ns: str, targets: list[tuple[str, int, float]]) -> list[str]:
    argv = ["ip", "netns", "exec", ns, sys.executable, TOOL, "probe", json.dumps(targets)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60).stdout
    return json.loads(out)


@pytest.fixture
def topology() -> Iterator[dict[str, str]]:
    with ExitStack() as stack:
        names = build_topology(stack)
        start_server(stack, names["p1"], "p1", "10.42.1.5", "8080", "fd00:42:1::5", "8080")
        start_server(stack, names["p2"], "p2", "10.42.2.5", "8080")
        yield names


def model() -> tuple[list[ServicePort], dict]:
    both = ServicePort(
        "d", "both", "", "TCP", ("10.96.0.10", "fd00:96::10"), 80, node_port=30080,
        lb_ips=("203.0.113.7",), lb_source_ranges=("198.51.100.0/24",),
    )  # fmt: skip
    only_p1 = ServicePort("d", "p1", "", "TCP", ("10.96.0.11",), 80, lb_ips=("203.0.113.8",))
    only_p2 = ServicePort("d", "p2", "", "TCP", ("10.96.0.12",), 80)
    empty = ServicePort("d", "empty", "", "TCP", ("10.96.0.13",), 80, node_port=30081)
    sticky = ServicePort("d", "sticky", "", "TCP", ("10.96.0.14",), 80, affinity_timeout=300)
    p1, p2, p1v6 = Endpoint("10.42.1.5", 8080), Endpoint("10.42.2.5", 8080), Endpoint("fd00:42:1::5", 8080)
    endpoints = {
        both.key: [p1, p2, p1v6],
        only_p1.key: [p1],
        only_p2.key: [p2],
        sticky.key: [p1, p2],
    }
    return [both, only_p1, only_p2, empty, sticky], endpoints


@pytest.mark.e2e
@needs_netns
async def test_packets(topology: dict[str, str]) -> None:
    services, endpoints = model()
    syncer = RuleSyncer(NftApplier(netns=topology["node"]), CONFIG)
    await syncer.sync(services, endpoints)
    node = probe(
        topology["node"],
        [("10.96.0.10", 80, 2)] * 24
        + [("10.96.0.13", 80, 2), ("10.96.0.10", 81, 2), ("192.168.1.10", 30081, 2)]
        + [("192.168.1.10", 30080, 2), ("fd00:96::10", 80, 2)]
        + [("10.96.0.14", 80, 2)] * 8,
    )
    spread = {answer.split()[0] for answer in node[:24]}
    assert spread == {"p1", "p2"}, node[:24]  # P(miss one) = 2**-23
    assert (
        node[24:27] == ["refused"] * 3
    )  # no endpoints / unknown port / NodePort without endpoints: TCP reset
    assert node[27].split()[0] in ("p1", "p2")  # NodePort
    assert node[28].startswith("p1 fd00:42:1::1")  # IPv6 ClusterIP from the node: masqueraded (off-cluster)
    assert len(set(node[29:])) == 1, node[29:]  # ClientIP affinity: always the same endpoint

    pod = probe(
        topology["p1"],
        [
            ("10.96.0.11", 80, 2),
            ("10.96.0.12", 80, 2),
            ("10.96.0.13", 80, 2),
            ("203.0.113.8", 80, 2),
            ("203.0.113.7", 80, 0.5),
        ],
    )
    assert pod[0] == "p1 10.42.1.1"  # hairpin: P1 reached itself, masqueraded to the node's address
    assert pod[1] == "p2 10.42.1.5"  # pod to pod through a ClusterIP keeps its source
    assert pod[2] == "refused"  # forwarded traffic to a service without endpoints is rejected
    assert pod[3] == "p1 10.42.1.1"  # LB IP = external traffic: masqueraded
    assert pod[4] == "timeout"  # loadBalancerSourceRanges exclude 10.42.1.5: dropped

    # an endpoint change is one small transaction, and takes effect
    endpoints[services[2].key] = [Endpoint("10.42.1.5", 8080)]
    result = await syncer.sync(services, endpoints)
    assert not result.full and len(result.transaction) <= 6
    assert probe(topology["p1"], [("10.96.0.12", 80, 2)]) == ["p1 10.42.1.1"]
