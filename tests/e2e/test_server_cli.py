"""`edgek8s server` as a process: readiness within 3 s, clean SIGTERM, restart with the same PKI and
data, the config file, `edgek8s token`, `edgek8s kubectl`, health and metrics endpoints."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.e2e.apiserver import EdgeServer, ssl_context
from tests.support import free_port

pytestmark = pytest.mark.e2e


def get(server: EdgeServer, path: str, ctx: ssl.SSLContext) -> tuple[int, str]:
    with urllib.request.urlopen(f"{server.url}{path}", context=ctx, timeout=10) as resp:
        return resp.status, resp.read().decode()


def test_ready_fast_clean_stop_and_restart(tmp_path):
    server = EdgeServer(tmp_path / "data", tmp_path / "server.log")
    log = open(server.log_path, "ab")
    server.proc = subprocess.Popen(
        server.argv(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()
    took = server.wait_ready(10)
    assert took < 3.0, f"first start took {took:.2f}s"
    assert "kubeconfig at" in server.log_text() and str(server.kubeconfig) in server.log_text()
    token = (tmp_path / "data" / "token").read_text().strip()
    assert token.startswith("K10") and "::server:" in token
    assert oct((tmp_path / "data" / "token").stat().st_mode & 0o777) == "0o600"
    assert oct(server.kubeconfig.stat().st_mode & 0o777) == "0o600"
    server.kubectl("create", "configmap", "survivor", "--from-literal=a=b")
    assert server.stop() == 0, server.log_text()
    ca = (tmp_path / "data" / "tls" / "server-ca.crt").read_bytes()

    server.start()  # same data dir: same CA, same token, same objects
    assert (tmp_path / "data" / "tls" / "server-ca.crt").read_bytes() == ca
    assert (tmp_path / "data" / "token").read_text().strip() == token
    out = server.kubectl("get", "configmap", "survivor", "-o", "jsonpath={.data.a}").stdout
    assert out == "b"
    env = {**os.environ, "HOME": str(tmp_path)}
    printed = subprocess.run(
        [sys.executable, "-m", "distro.cli", "token", "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    assert printed.stdout.strip() == token
    via = subprocess.run(
        [
            sys.executable,
            "-m",
            "distro.cli",
            "kubectl",
            "--data-dir",
            str(tmp_path / "data"),
            "get",
            "cm",
            "survivor",
            "-o",
            "name",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert via.stdout.strip() == "configmap/survivor", via.stderr
    server.stop()


def test_acknowledged_write_survives_kill9(tmp_path):
    server = EdgeServer(tmp_path / "data", tmp_path / "server.log").start()
    server.kubectl("create", "configmap", "durable", "--from-literal=k=v")
    server.kill9()
    server.start()
    assert server.kubectl("get", "cm", "durable", "-o", "jsonpath={.data.k}").stdout == "v"
    server.stop()


def test_config_file_keys_are_flag_names(tmp_path):
    port = free_port()
    config = tmp_path / "config.yaml"
    config.write_text(f"https-listen-port: {port}\nbind-address: 127.0.0.1\ntls-san: [edge.example]\n")
    server = EdgeServer(tmp_path / "data", tmp_path / "server.log")
    server.port = port
    server.url = f"https://127.0.0.1:{port}"
    argv = [
        sys.executable,
        "-m",
        "distro.cli",
        "server",
        "--config",
        str(config),
        "--data-dir",
        str(tmp_path / "data"),
    ]
    server.argv = lambda: argv  # the port and address come from the file alone
    server.start()
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(
        (tmp_path / "data" / "tls" / "serving-kube-apiserver.crt").read_bytes()
    )
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "edge.example" in names.get_values_for_type(x509.DNSName)
    server.stop()
    bad = tmp_path / "bad.yaml"
    bad.write_text("https-listen-prot: 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "distro.cli", "server", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "unknown key 'https-listen-prot'" in result.stderr


def test_health_version_metrics(edge):
    anonymous = ssl_context(edge)
    assert get(edge, "/readyz", anonymous) == (200, "ok")
    assert get(edge, "/livez", anonymous) == (200, "ok")
    version = json.loads(get(edge, "/version", anonymous)[1])
    assert (version["major"], version["minor"]) == ("1", "32")
    admin = ssl_context(edge, edge.kubeconfig)
    edge.kubectl("get", "pods", "-A")
    code, text = get(edge, "/metrics", admin)
    assert code == 200
    assert 'apiserver_request_total{verb="GET",resource="pods",code="200"}' in text
    assert "etcd_request_duration_seconds_bucket" in text
    assert "apiserver_request_duration_seconds_count" in text
    with pytest.raises(urllib.error.HTTPError) as denied:
        get(edge, "/metrics", anonymous)
    assert denied.value.code == 401
    ca = get(edge, "/cacerts", anonymous)[1]
    assert ca == (edge.data_dir / "tls" / "server-ca.crt").read_text()


def test_logs_and_exec_say_why_they_are_unavailable(edge):
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: logged\nspec:\n  nodeName: edge-x\n  containers:\n"
        "  - name: c\n    image: busybox\n"
    )
    edge.kubectl("apply", "-f", "-", input=pod)
    logs = edge.kubectl("logs", "logged", check=False)
    assert logs.returncode == 1
    assert "agent tunnel is not implemented" in logs.stderr


def test_kubernetes_service_points_at_the_advertise_address(tmp_path):
    server = EdgeServer(
        tmp_path / "data", tmp_path / "server.log", "--advertise-address", "192.0.2.77"
    ).start()
    try:
        deadline = time.monotonic() + 20
        out = ""
        while time.monotonic() < deadline and "192.0.2.77" not in out:
            out = server.kubectl("get", "endpoints", "kubernetes", "-o", "jsonpath={.subsets}").stdout
            time.sleep(0.2)
        subsets = json.loads(out)
        assert subsets == [
            {
                "addresses": [{"ip": "192.0.2.77"}],
                "ports": [{"name": "https", "port": server.port, "protocol": "TCP"}],
            }
        ]
        sa = server.kubectl("get", "sa", "default", "-n", "kube-system", "-o", "name").stdout.strip()
        assert sa == "serviceaccount/default"
    finally:
        server.stop()


async def test_big_lists_are_streamed_whole(edge):
    import aiohttp

    ctx = ssl_context(edge, edge.kubeconfig)
    edge.kubectl("create", "namespace", "big")
    base = "/api/v1/namespaces/big/configmaps"
    async with aiohttp.ClientSession(
        base_url=edge.url, connector=aiohttp.TCPConnector(ssl=ctx, limit=8)
    ) as http:

        async def create(i: int) -> None:
            body = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": f"cm-{i:03d}"},
                "data": {"i": str(i)},
            }
            async with http.post(base, json=body) as resp:
                assert resp.status == 201

        await asyncio.gather(*(create(i) for i in range(450)))
        for rv in ("", "0"):
            async with http.get(base, params={"resourceVersion": rv} if rv else None) as resp:
                listed = json.loads(await resp.read())
            assert [o["metadata"]["name"] for o in listed["items"]] == [f"cm-{i:03d}" for i in range(450)]
            assert all(o["kind"] == "ConfigMap" and o["apiVersion"] == "v1" for o in listed["items"])
            table_accept = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
            async with http.get(
                base, headers=table_accept, params={"resourceVersion": rv} if rv else None
            ) as resp:
                assert resp.headers["Content-Type"].startswith("application/json;as=Table")
                table = json.loads(await resp.read())
            assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Data", "Age"]
            assert [r["cells"][:2] for r in table["rows"]] == [[f"cm-{i:03d}", 1] for i in range(450)]
            assert table["metadata"]["resourceVersion"] == listed["metadata"]["resourceVersion"] or rv == ""
        async with http.get(base, headers=table_accept, params={"includeObject": "Everything"}) as resp:
            assert resp.status == 400
    printed = edge.kubectl("get", "cm", "-n", "big", "--no-headers").stdout.splitlines()
    assert len(printed) == 450 and printed[0].split()[:2] == ["cm-000", "1"]
