"""The service proxy embedded in `edgek8s server`: the server runs in a network namespace made by the test
(so its nftables rules never touch the machine), and a Service created with kubectl shows up as elements
of our verdict maps in that namespace; with --disable-proxy nothing is installed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from tests.e2e.apiserver import KUBECTL

pytestmark = pytest.mark.e2e

IP = shutil.which("ip") or "/usr/sbin/ip"
NFT = shutil.which("nft") or "/usr/sbin/nft"


@pytest.fixture
def netns():
    name = f"ek-srv-{uuid.uuid4().hex[:6]}"
    subprocess.run([IP, "netns", "add", name], check=True)
    subprocess.run([IP, "-n", name, "link", "set", "lo", "up"], check=True)
    yield name
    subprocess.run([IP, "netns", "del", name], check=False)


def in_ns(ns: str, *argv: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([IP, "netns", "exec", ns, *argv], capture_output=True, text=True, timeout=60, **kw)


def start(ns: str, data, log, *extra: str) -> subprocess.Popen:
    argv = [
        sys.executable,
        "-m",
        "distro.cli",
        "server",
        "--data-dir",
        str(data),
        "--https-listen-port",
        "6443",
        "--bind-address",
        "127.0.0.1",
        *extra,
    ]
    out = open(log, "ab")
    proc = subprocess.Popen(
        [IP, "netns", "exec", ns, *argv], stdout=out, stderr=subprocess.STDOUT, cwd=os.getcwd()
    )
    out.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if (data / "kubeconfig.yaml").exists() and in_ns(
            ns, KUBECTL, "--kubeconfig", str(data / "kubeconfig.yaml"), "get", "ns", "default"
        ).returncode == 0:
            return proc
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(open(log).read())


def service_elements(ns: str) -> str:
    listed = in_ns(ns, NFT, "-j", "list", "map", "ip", "edgek8s", "service-ips")
    return listed.stdout if listed.returncode == 0 else ""


def test_embedded_proxy_programs_services(netns, tmp_path):
    proc = start(netns, tmp_path / "data", tmp_path / "server.log")
    kubeconfig = str(tmp_path / "data" / "kubeconfig.yaml")
    try:
        svc = (
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  clusterIP: 10.43.7.7\n"
            "  ports:\n  - port: 80\n    targetPort: 8080\n---\napiVersion: discovery.k8s.io/v1\n"
            "kind: EndpointSlice\nmetadata:\n  name: web-manual\n  labels:\n"
            "    kubernetes.io/service-name: web\naddressType: IPv4\nports:\n- port: 8080\n  protocol: TCP\n"
            "  name: ''\nendpoints:\n- addresses: [10.42.0.9]\n  conditions: {ready: true}\n"
        )
        applied = in_ns(netns, KUBECTL, "--kubeconfig", kubeconfig, "apply", "-f", "-", input=svc)
        assert applied.returncode == 0, applied.stderr
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "10.43.7.7" not in service_elements(netns):
            time.sleep(0.2)
        elements = json.loads(service_elements(netns))
        assert "10.43.7.7" in json.dumps(elements)
        table = in_ns(netns, NFT, "list", "table", "ip", "edgek8s").stdout
        assert "10.42.0.9" in table
    finally:
        proc.terminate()
        proc.wait(15)
    assert proc.returncode == 0


def test_disable_proxy_installs_nothing(netns, tmp_path):
    proc = start(netns, tmp_path / "data", tmp_path / "server.log", "--disable-proxy")
    try:
        time.sleep(1.5)
        assert in_ns(netns, NFT, "list", "table", "ip", "edgek8s").returncode != 0
    finally:
        proc.terminate()
        proc.wait(15)
