"""Services end to end: `edgek8s server` with its embedded controllers, real kubectl, and the official
Python client playing kubelet (it reports pod IPs and readiness through pods/status)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable

import pytest
from kubernetes import client, config

pytestmark = pytest.mark.e2e

MANIFEST = """\
apiVersion: v1
kind: Node
metadata:
  name: edge-1
  labels: {topology.kubernetes.io/zone: shelf-1}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
"""

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: web}}
spec:
  nodeName: edge-1
  containers:
  - name: web
    image: nginx
    ports:
    - {{name: http, containerPort: 8080}}
"""

IPS = {"web-0": "10.42.0.10", "web-1": "10.42.0.11"}


def wait_for(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def core(edge):
    api_client = config.new_client_from_config(config_file=str(edge.kubeconfig))
    yield client.CoreV1Api(api_client)
    api_client.close()


def report(core, name: str, ready: bool) -> None:
    """What a kubelet reports for a running pod."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ip = IPS[name]
    body = {
        "status": {
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "conditions": [{"type": "Ready", "status": str(ready), "lastTransitionTime": now}],
        }
    }
    core.patch_namespaced_pod_status(name, "default", body)


def test_endpoints_follow_pods_and_namespaces_get_a_service_account(edge, core):
    edge.kubectl("apply", "-f", "-", input=MANIFEST)
    for name in IPS:
        edge.kubectl("apply", "-f", "-", input=POD.format(name=name))
        report(core, name, ready=True)

    def slice_addresses() -> list[str]:
        out = edge.kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", "json")
        items = json.loads(out.stdout)["items"]
        return sorted(
            a
            for s in items
            for ep in s.get("endpoints") or []
            if ep["conditions"]["ready"]
            for a in ep["addresses"]
        )

    wait_for(lambda: slice_addresses() == sorted(IPS.values()), "both pods in the EndpointSlice")
    table = edge.kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=web").stdout
    assert "IPv4" in table and "8080" in table and "10.42.0.10,10.42.0.11" in table, table

    def endpoints_column() -> str:
        out = edge.kubectl("get", "endpoints", "web", "--no-headers", check=False)
        return out.stdout.split()[1] if out.returncode == 0 and out.stdout.split() else ""

    wait_for(lambda: endpoints_column() == "10.42.0.10:8080,10.42.0.11:8080", "both pods in the Endpoints")

    report(core, "web-1", ready=False)
    wait_for(lambda: endpoints_column() == "10.42.0.10:8080", "the not-ready pod to leave the Endpoints")
    not_ready = json.loads(edge.kubectl("get", "endpoints", "web", "-o", "json").stdout)
    assert [a["ip"] for a in not_ready["subsets"][0]["notReadyAddresses"]] == ["10.42.0.11"]
    wait_for(lambda: slice_addresses() == ["10.42.0.10"], "the not-ready pod to be not ready in the slice")

    edge.kubectl("create", "namespace", "team-a")

    def has_default_sa() -> bool:
        out = edge.kubectl("get", "sa", "-n", "team-a", "--no-headers", check=False).stdout
        return any(line.split()[:1] == ["default"] for line in out.splitlines())

    wait_for(has_default_sa, "the default ServiceAccount in a new namespace")
