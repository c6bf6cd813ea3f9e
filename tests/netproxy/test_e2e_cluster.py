"""The proxy against a live `edgek8s server`: real packets through its rules, incremental syncs at scale,
and its behaviour where nft cannot be used.

Datapath topology (every piece in network namespaces the test creates; the host's network is never touched):

    ctl      10.255.0.1 ──veth── 10.255.0.2  node  (runs `edgek8s proxy`; forwards)
    client   192.168.50.2 ──veth── 192.168.50.1   node
    outsider 192.168.60.2 ──veth── 192.168.60.1   node
    b1       10.42.1.5 ──veth── 10.42.1.1          node
    b2       10.42.2.5 ──veth── 10.42.2.1          node

`edgek8s server` runs in `ctl`, bound to 10.255.0.1 (with --tls-san for it); kubectl runs in `ctl` too. The
proxy runs as its own process, `ip netns exec node edgek8s proxy --kubeconfig ...`, so its nft rules land in
`node` and it reaches the API over the veth, the way an agent reaches a remote server. The client and the
outsider route everything via `node`, so their connections to ClusterIPs, NodePorts and load-balancer IPs
are DNAT'ed by the proxy's rules on the way through `node` to HTTP-ish servers in b1 and b2 (netns_tool),
whose answers name the backend that served them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import aiohttp
import pytest
import yaml

from netproxy.fake import FakeNft
from netproxy.kube import KubeClient, load_kubeconfig
from netproxy.model import ProxyConfig
from netproxy.render import render
from netproxy.runner import ProxySettings, run_proxy
from netproxy.syncer import SyncResult
from netproxy.watcher import ENDPOINT_SLICES_PATH, SERVICES_PATH, ClusterModel
from tests.e2e.apiserver import KUBECTL, EdgeServer, ssl_context
from tests.netproxy.conftest import make_netns, needs_netns, nft_in, remove_netns
from tests.netproxy.test_packets import probe, sh, start_server

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
API = "10.255.0.1"
API_PORT = 6443
NODE_IP = "192.168.50.1"
LB_IP = "203.0.113.10"


def _link(node: str, other: str, node_dev: str, node_cidr: str, other_cidr: str, gateway: str | None) -> None:
    sh("ip", "-n", node, "link", "add", node_dev, "type", "veth", "peer", "name", "eth0", "netns", other)
    sh("ip", "-n", node, "addr", "add", node_cidr, "dev", node_dev)
    sh("ip", "-n", node, "link", "set", node_dev, "up")
    sh("ip", "-n", other, "addr", "add", other_cidr, "dev", "eth0")
    sh("ip", "-n", other, "link", "set", "eth0", "up")
    if gateway is not None:
        sh("ip", "-n", other, "route", "add", "default", "via", gateway)


def build_cluster_topology(stack: ExitStack) -> dict[str, str]:
    names = {}
    for role in ("ctl", "node", "client", "outsider", "b1", "b2"):
        names[role] = make_netns()
        stack.callback(remove_netns, names[role])
        sh("ip", "-n", names[role], "link", "set", "lo", "up")
    node = names["node"]
    sh("ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    _link(node, names["ctl"], "api1", "10.255.0.2/30", f"{API}/30", None)
    # like any real node, a default route (ctl plays the upstream router): forwarded packets to a ClusterIP
    # without endpoints must be routable to reach the forward hook, where they are rejected
    sh("ip", "-n", node, "route", "add", "default", "via", API)
    _link(node, names["client"], "cl0", f"{NODE_IP}/24", "192.168.50.2/24", NODE_IP)
    _link(node, names["outsider"], "out0", "192.168.60.1/24", "192.168.60.2/24", "192.168.60.1")
    _link(node, names["b1"], "vb1", "10.42.1.1/24", "10.42.1.5/24", "10.42.1.1")
    _link(node, names["b2"], "vb2", "10.42.2.1/24", "10.42.2.5/24", "10.42.2.1")
    return names


def _stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _spawn(stack: ExitStack, ns: str, argv: list[str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
        )
    stack.callback(_stop_process, proc)
    return proc


class Cluster:
    """The server in `ctl` and kubectl against it."""

    def __init__(self, stack: ExitStack, ns: str, tmp: Path) -> None:
        self.ns = ns
        self.tmp = tmp
        self.data_dir = tmp / "data"
        self.log = tmp / "server.log"
        argv = [sys.executable, "-m", "distro.cli", "server", "--data-dir", str(self.data_dir)]
        argv += ["--https-listen-port", str(API_PORT), "--bind-address", API, "--tls-san", API]
        self.proc = _spawn(stack, ns, argv, self.log)
        self.kubeconfig = tmp / "node.kubeconfig"
        self._wait_ready()

    def _wait_ready(self, limit: float = 20.0) -> None:
        written = self.data_dir / "kubeconfig.yaml"
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            if written.exists():
                doc = yaml.safe_load(written.read_text())
                doc["clusters"][0]["cluster"]["server"] = f"https://{API}:{API_PORT}"
                self.kubeconfig.write_text(yaml.safe_dump(doc))
                if self.kubectl("get", "--raw", "/readyz", check=False).returncode == 0:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"server not ready:\n{self.log.read_text()}")

    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess:
        argv = ["ip", "netns", "exec", self.ns, KUBECTL, "--kubeconfig", str(self.kubeconfig), *args]
        result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
        if check:
            assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result

    def apply(self, *objects: dict) -> None:
        self.kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(objects))


def service(name: str, cluster_ip: str, **spec) -> dict:
    spec.setdefault("ports", [{"port": 80, "targetPort": 8080, "protocol": "TCP"}])
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"clusterIP": cluster_ip, **spec},
    }


def endpoint_slice(service_name: str, *ips: str, namespace: str = "default", port: int = 8080) -> dict:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service_name}-1",
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": "IPv4",
        "ports": [{"name": "", "port": port, "protocol": "TCP"}],
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips],
    }


def probe_until(
    ns: str, targets: list[tuple[str, int, float]], ok: Callable[[list[str]], bool], limit: float = 20.0
) -> list[str]:
    """Probe until the answers are `ok` (the proxy syncs asynchronously); fails with the last answers."""
    deadline = time.monotonic() + limit
    while True:
        answers = probe(ns, targets)
        if ok(answers):
            return answers
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {limit}s; last answers: {answers}")
        time.sleep(0.2)


def backends(answers: list[str]) -> set[str]:
    return {a.split()[0] for a in answers}


@pytest.fixture
def datapath(tmp_path: Path) -> Iterator[tuple[dict[str, str], Cluster, subprocess.Popen, Path]]:
    with ExitStack() as stack:
        names = build_cluster_topology(stack)
        start_server(stack, names["b1"], "b1", "10.42.1.5", "8080")
        start_server(stack, names["b2"], "b2", "10.42.2.5", "8080")
        cluster = Cluster(stack, names["ctl"], tmp_path)
        proxy_log = tmp_path / "proxy.log"
        argv = [sys.executable, "-m", "distro.cli", "--log-level", "INFO", "proxy"]
        argv += ["--kubeconfig", str(cluster.kubeconfig), "--hostname-override", "node1"]
        argv += ["--cluster-cidr", "10.42.0.0/16", "--ip-families", "ipv4"]
        proxy = _spawn(stack, names["node"], argv, proxy_log)
        try:
            yield names, cluster, proxy, proxy_log
        except BaseException:
            print("---- proxy log ----\n" + proxy_log.read_text()[-5000:])
            print("---- server log ----\n" + cluster.log.read_text()[-3000:])
            raise


@pytest.mark.timeout(90)
@needs_netns
def test_datapath_against_live_server(datapath) -> None:
    names, cluster, proxy, proxy_log = datapath
    web = "10.43.0.50"
    cluster.apply(
        service("web", web),
        endpoint_slice("web", "10.42.1.5", "10.42.2.5"),
        service("sticky", "10.43.0.51", sessionAffinity="ClientIP"),
        endpoint_slice("sticky", "10.42.1.5", "10.42.2.5"),
        service(
            "np", "10.43.0.52", type="NodePort", ports=[{"port": 80, "targetPort": 8080, "nodePort": 30080}]
        ),
        endpoint_slice("np", "10.42.1.5"),
        service("lb", "10.43.0.53", type="LoadBalancer", loadBalancerSourceRanges=["192.168.50.0/24"]),
        endpoint_slice("lb", "10.42.1.5", "10.42.2.5"),
    )
    status = {"status": {"loadBalancer": {"ingress": [{"ip": LB_IP}]}}}
    cluster.kubectl(
        "patch", "service", "lb", "--subresource=status", "--type=merge", "-p", json.dumps(status)
    )
    client = names["client"]

    # two endpoints: connections spread over both
    probe_until(client, [(web, 80, 1)] * 16, lambda answers: backends(answers) == {"b1", "b2"})

    # (the objects were applied one by one, so each service is waited for before it is judged)
    served = {"b1", "b2"}
    # ClientIP affinity: once reachable, every connection of this client goes to one backend
    probe_until(client, [("10.43.0.51", 80, 1)], lambda answers: backends(answers) <= served)
    sticky = probe(client, [("10.43.0.51", 80, 1)] * 12)
    assert len(backends(sticky)) == 1 and backends(sticky) <= served, sticky

    # NodePort on the node's address, from the client and from the outsider
    probe_until(client, [(NODE_IP, 30080, 1)] * 3, lambda answers: backends(answers) == {"b1"})
    assert backends(probe(names["outsider"], [("192.168.60.1", 30080, 1)])) == {"b1"}

    # loadBalancerSourceRanges: the client's range gets through, the outsider's packets are dropped
    probe_until(client, [(LB_IP, 80, 1)] * 4, lambda answers: backends(answers) <= served)
    assert probe(names["outsider"], [(LB_IP, 80, 0.7)]) == ["timeout"]

    # scaled to one endpoint: all traffic moves there
    cluster.apply(endpoint_slice("web", "10.42.2.5"))
    probe_until(client, [(web, 80, 1)] * 12, lambda answers: backends(answers) == {"b2"})

    # no endpoints: refused at once (a TCP reset, well within the 0.5 s the probe allows)
    cluster.apply(endpoint_slice("web"))
    probe_until(client, [(web, 80, 0.5)] * 3, lambda answers: answers == ["refused"] * 3)

    assert proxy.poll() is None, proxy_log.read_text()
    proxy.send_signal(signal.SIGTERM)
    assert proxy.wait(10) == 0
    log = proxy_log.read_text()
    assert "incremental transaction" in log and "nft transaction failed" not in log, log[-3000:]

    # stopping leaves the rules (traffic keeps flowing across a restart); --cleanup removes them
    assert nft_in(names["node"], "list", "tables").stdout.split() == ["table", "ip", "edgek8s"]
    assert backends(probe(client, [(NODE_IP, 30080, 1)])) == {"b1"}
    cleanup = [sys.executable, "-m", "distro.cli", "proxy", "--cleanup"]
    subprocess.run(["ip", "netns", "exec", names["node"], *cleanup], check=True, timeout=30, cwd=REPO)
    assert nft_in(names["node"], "list", "tables").stdout.strip() == ""


# -- incremental sync at scale --------------------------------------------------------------------------

SERVICES = 1000


def _bulk_objects(i: int) -> tuple[dict, dict]:
    name = f"s{i:04d}"
    svc = service(name, f"10.43.{1 + i // 250}.{1 + i % 250}")
    svc["metadata"]["namespace"] = "bulk"
    eps = endpoint_slice(name, f"10.42.{i // 250}.{1 + i % 250}", f"10.42.{10 + i // 250}.{1 + i % 250}")
    eps["metadata"]["namespace"] = "bulk"
    return svc, eps


async def _create_all(server: EdgeServer, objects: list[tuple[str, dict]], parallel: int = 16) -> None:
    ctx = ssl_context(server, server.kubeconfig)
    limit = asyncio.Semaphore(parallel)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx, limit=parallel)) as http:

        async def create(path: str, obj: dict) -> None:
            async with limit, http.post(f"{server.url}{path}", json=obj) as resp:
                assert resp.status == 201, await resp.text()

        await asyncio.gather(*(create(path, obj) for path, obj in objects))


@pytest.fixture
def bulk_server(tmp_path: Path) -> Iterator[EdgeServer]:
    server = EdgeServer(tmp_path / "data", tmp_path / "server.log").start()
    try:
        server.kubectl("create", "namespace", "bulk")
        yield server
    finally:
        server.stop()


@pytest.mark.timeout(90)
async def test_one_endpoint_change_among_1000_services_is_a_small_transaction(
    bulk_server: EdgeServer,
) -> None:
    pairs = [_bulk_objects(i) for i in range(SERVICES)]
    await _create_all(bulk_server, [("/api/v1/namespaces/bulk/services", svc) for svc, _ in pairs])
    slices_path = "/apis/discovery.k8s.io/v1/namespaces/bulk/endpointslices"
    await _create_all(bulk_server, [(slices_path, eps) for _, eps in pairs])

    config = ProxyConfig(cluster_cidrs=("10.42.0.0/16",), families=("ip",))
    fake = FakeNft()
    syncs: asyncio.Queue[SyncResult] = asyncio.Queue()
    stop = asyncio.Event()
    settings = ProxySettings("node1", min_sync_period=0.2)
    task = asyncio.create_task(
        run_proxy(bulk_server.kubeconfig, config, stop, settings, backend=fake, on_sync=syncs.put_nowait)
    )
    try:
        first = await asyncio.wait_for(syncs.get(), 30)
        assert first.full and first.transaction.render().count("bulk/s") >= SERVICES

        changed = pairs[500][1]
        changed["endpoints"][1]["addresses"] = ["10.42.99.99"]  # was 10.42.12.1
        bulk_server.kubectl("apply", "-f", "-", input=json.dumps(changed))
        update = await asyncio.wait_for(syncs.get(), 10)
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 10) is True

    text = update.transaction.render()
    assert not update.full
    assert set(re.findall(r"bulk/s\d{4}", text)) == {"bulk/s0500"}, text
    for line in text.splitlines():  # each command is about this service: its chain or its endpoints
        assert "bulk/s0500" in line or "10.42.12.1" in line or "10.42.99.99" in line, line
    assert len(update.transaction) <= 6, text

    # and the incrementally maintained ruleset is exactly what a fresh full render of the API state gives
    model = ClusterModel("node1")
    async with KubeClient(load_kubeconfig(bulk_server.kubeconfig)) as client:
        model.services.replace((await client.list(SERVICES_PATH))[0])
        model.endpoint_slices.replace((await client.list(ENDPOINT_SLICES_PATH))[0])
    snap = model.snapshot()
    assert fake.snapshot() == FakeNft.expected_snapshot(render(config, snap.services, snap.endpoints))


async def test_syncs_are_rate_limited_and_drift_is_repaired(bulk_server: EdgeServer) -> None:
    """--min-sync-period batches changes; the periodic check puts back what someone else changed."""
    config = ProxyConfig(families=("ip",))
    fake = FakeNft()
    synced_at: list[float] = []
    syncs: asyncio.Queue[SyncResult] = asyncio.Queue()

    def on_sync(result: SyncResult) -> None:
        synced_at.append(time.monotonic())
        syncs.put_nowait(result)

    stop = asyncio.Event()
    settings = ProxySettings("node1", min_sync_period=1.0, sync_period=0.5)
    task = asyncio.create_task(
        run_proxy(bulk_server.kubeconfig, config, stop, settings, backend=fake, on_sync=on_sync)
    )
    try:
        await asyncio.wait_for(syncs.get(), 15)
        # four changes in one burst (no endpoints: only their ClusterIPs show in the rules)
        burst = yaml.safe_dump_all([service(f"burst{i}", f"10.43.9.{i + 1}") for i in range(4)])
        await asyncio.to_thread(bulk_server.kubectl, "apply", "-f", "-", input=burst)
        while "10.43.9.4 " not in (await asyncio.wait_for(syncs.get(), 10)).transaction.render():
            pass
        gaps = [later - earlier for earlier, later in itertools.pairwise(synced_at)]
        assert gaps and min(gaps) >= 0.95, gaps
        assert len(synced_at) <= 3, gaps  # the first sync, then the burst in at most two batches

        installed = fake.snapshot()
        fake.apply_sync("flush chain ip edgek8s services")  # someone else meddles with our table
        assert fake.snapshot() != installed
        for _ in range(50):  # the check runs every 0.5 s; nothing signals its repair, so look
            await asyncio.sleep(0.1)
            if fake.snapshot() == installed:
                break
        assert fake.snapshot() == installed
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 10) is True


# -- where nft cannot be used ---------------------------------------------------------------------------


def _proxy_cli(tmp_path: Path, *prefix: str, nft: str = "nft") -> subprocess.CompletedProcess:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "clusters": [{"name": "c", "cluster": {"server": "https://192.0.2.1:6443"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c"}}],
                "current-context": "c",
            }
        )
    )
    argv = [
        *prefix,
        sys.executable,
        "-m",
        "distro.cli",
        "proxy",
        "--kubeconfig",
        str(kubeconfig),
        "--nft",
        nft,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=REPO)


def test_missing_nft_is_a_clear_message_not_a_crash(tmp_path: Path) -> None:
    result = _proxy_cli(tmp_path, nft=str(tmp_path / "no-such-nft"))
    assert result.returncode == 1
    assert "missing or not permitted" in result.stderr and "Traceback" not in result.stderr


@needs_netns
def test_nft_without_cap_net_admin_is_a_clear_message_not_a_crash(tmp_path: Path, netns: str) -> None:
    # root without CAP_NET_ADMIN in its bounding set: what a container without that capability gets (in a
    # namespace of its own, so that even a broken check could never touch the host's ruleset)
    drop = ("setpriv", "--bounding-set=-net_admin", "--inh-caps=-net_admin")
    result = _proxy_cli(tmp_path, "ip", "netns", "exec", netns, *drop)
    assert result.returncode == 1
    assert "not permitted" in result.stderr and "Traceback" not in result.stderr, result.stderr
