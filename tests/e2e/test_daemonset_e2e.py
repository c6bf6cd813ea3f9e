"""DaemonSets and node lifecycle against a real `edgek8s server` with real kubectl: nodes are Node and
Lease objects kept alive by this test (there is no agent yet), and a node whose Lease stops goes NotReady
after `--node-monitor-grace-period`."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import urllib.request

import pytest
import yaml

from tests.e2e.apiserver import EdgeServer, ssl_context

pytestmark = pytest.mark.e2e

GRACE = "2"


def _now(micro: bool = False) -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def _node(name: str, taints: list | None = None, annotations: dict | None = None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/hostname": name},
            "annotations": annotations or {},
        },
        "spec": {"taints": taints or []},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": _now(),
                    "lastTransitionTime": _now(),
                }
            ],
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
        },
    }


def _lease(name: str) -> dict:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": _now(micro=True)},
    }


def _apply(server: EdgeServer, *objects: dict) -> None:
    # a YAML stream, not a v1 List: kubectl validates a List against /openapi/v2, which is not served
    server.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects))


class LeaseRenewer(threading.Thread):
    """Plays the kubelets' heartbeats: renews the Leases of the nodes in `alive` twice a second."""

    def __init__(self, server: EdgeServer) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.alive: set[str] = set()
        self._halt = threading.Event()
        self._ctx = ssl_context(server, server.kubeconfig)

    def run(self) -> None:
        while not self._halt.wait(0.5):
            for name in list(self.alive):
                body = json.dumps({"spec": {"renewTime": _now(micro=True)}}).encode()
                request = urllib.request.Request(
                    f"{self.server.url}/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}",
                    data=body,
                    method="PATCH",
                    headers={"Content-Type": "application/merge-patch+json"},
                )
                try:
                    urllib.request.urlopen(request, context=self._ctx, timeout=5).close()
                except OSError:
                    pass

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


def _wait(check, within: float = 20.0, interval: float = 0.25):
    deadline = time.monotonic() + within
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"not within {within}s; last: {last!r}")


def _pods(server: EdgeServer, selector: str = "") -> list[dict]:
    args = ["get", "pods", "-o", "json"] + (["-l", selector] if selector else [])
    return json.loads(server.kubectl(*args).stdout)["items"]


def _bind_pending(server: EdgeServer, pods: list[dict]) -> None:
    """What the scheduler does for a daemon pod, for when none runs: bind it to the node it is pinned to."""
    for pod in pods:
        if pod["spec"].get("nodeName") or pod["metadata"].get("deletionTimestamp"):
            continue
        terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        node = terms["nodeSelectorTerms"][0]["matchFields"][0]["values"][0]
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": pod["metadata"]["name"]},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        path = f"/api/v1/namespaces/default/pods/{pod['metadata']['name']}/binding"
        server.kubectl("create", "--raw", path, "-f", "-", input=json.dumps(binding), check=False)


def _node_status(server: EdgeServer, name: str) -> str:
    for line in server.kubectl("get", "nodes", "--no-headers").stdout.splitlines():
        fields = line.split()
        if fields and fields[0] == name:
            return fields[1]
    return ""


def _pod(name: str, node: str, toleration_seconds: int | None) -> dict:
    tolerations = []
    if toleration_seconds is not None:
        tolerations.append(
            {
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": toleration_seconds,
            }
        )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "nodeName": node,
            "tolerations": tolerations,
            "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10"}],
        },
    }


def _terminating(server: EdgeServer, name: str) -> bool:
    pod = json.loads(server.kubectl("get", "pod", name, "-o", "json").stdout)
    return bool(pod["metadata"].get("deletionTimestamp"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("edge-ds")
    server = EdgeServer(tmp / "data", tmp / "server.log", "--node-monitor-grace-period", GRACE).start()
    renewer = LeaseRenewer(server)
    renewer.start()
    yield server, renewer
    renewer.stop()
    server.stop()


DAEMONSET = {
    "apiVersion": "apps/v1",
    "kind": "DaemonSet",
    "metadata": {"name": "agent"},
    "spec": {
        "selector": {"matchLabels": {"app": "agent"}},
        "template": {
            "metadata": {"labels": {"app": "agent"}},
            "spec": {"containers": [{"name": "agent", "image": "registry.k8s.io/pause:3.10"}]},
        },
    },
}


def test_daemonset_runs_one_pod_per_eligible_node(cluster):
    server, renewer = cluster
    gpu = [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    _apply(server, _node("e2e-a"), _node("e2e-b"), _node("e2e-c", taints=gpu))
    _apply(server, _lease("e2e-a"), _lease("e2e-b"), _lease("e2e-c"))
    renewer.alive |= {"e2e-a", "e2e-b", "e2e-c"}
    _apply(server, DAEMONSET)

    def placed() -> dict[str, str] | None:
        pods = [p for p in _pods(server, "app=agent") if not p["metadata"].get("deletionTimestamp")]
        _bind_pending(server, pods)
        nodes = {p["metadata"]["name"]: p["spec"].get("nodeName") for p in pods}
        return nodes if len(nodes) == 2 and all(nodes.values()) else None

    _wait(placed)
    time.sleep(1.0)  # nothing more appears
    wide = server.kubectl("get", "pods", "-l", "app=agent", "-o", "wide", "--no-headers").stdout.splitlines()
    assert len(wide) == 2, wide
    assert sorted(line.split()[6] for line in wide) == ["e2e-a", "e2e-b"]

    def counted() -> str | None:
        line = server.kubectl("get", "ds", "agent", "--no-headers").stdout.split()
        return line if line[1:4] == ["2", "2", "0"] else None  # DESIRED CURRENT READY

    _wait(counted)

    # the kubelets' part: report the pods running and ready, after which the rollout is complete
    for pod in _pods(server, "app=agent"):
        status = {
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": _now()}],
            }
        }
        server.kubectl(
            "patch",
            "pod",
            pod["metadata"]["name"],
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps(status),
        )
    out = server.kubectl("rollout", "status", "ds/agent", "--timeout=20s").stdout
    assert 'daemon set "agent" successfully rolled out' in out


def test_silent_node_goes_not_ready_and_its_pods_are_evicted(cluster):
    server, renewer = cluster
    _apply(server, _node("e2e-d"), _lease("e2e-d"), _node("e2e-e"), _lease("e2e-e"))
    renewer.alive |= {"e2e-d", "e2e-e"}
    _apply(server, _pod("fragile", "e2e-d", 1), _pod("sturdy", "e2e-d", None))
    _wait(lambda: _node_status(server, "e2e-d") == "Ready")

    renewer.alive.discard("e2e-d")
    started = time.monotonic()
    _wait(lambda: _node_status(server, "e2e-d") == "NotReady", within=15)
    assert time.monotonic() - started >= 1.0
    assert _node_status(server, "e2e-e") == "Ready"  # its lease is still renewed

    _wait(lambda: _terminating(server, "fragile"), within=10)
    assert not _terminating(server, "sturdy")  # tolerates 300 s by default
    events = server.kubectl(
        "get", "events", "--field-selector", "reason=TaintManagerEviction", "-o", "json"
    ).stdout
    messages = [e["message"] for e in json.loads(events)["items"]]
    assert "Marking for deletion Pod default/fragile" in messages
    taints = json.loads(server.kubectl("get", "node", "e2e-d", "-o", "jsonpath={.spec.taints}").stdout)
    assert {(t["key"], t["effect"]) for t in taints} == {
        ("node.kubernetes.io/unreachable", "NoSchedule"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
    }


def test_with_node_autonomy_an_offline_node_keeps_its_pods(tmp_path):
    server = EdgeServer(
        tmp_path / "data", tmp_path / "server.log", "--node-monitor-grace-period", GRACE, "--node-autonomy"
    ).start()
    try:
        _apply(server, _node("edge-1"), _lease("edge-1"))
        _apply(server, _pod("fragile", "edge-1", 1))
        _wait(lambda: _node_status(server, "edge-1") == "NotReady", within=15)
        time.sleep(2.5)  # well past the pod's toleration
        assert not _terminating(server, "fragile")
        taints = json.loads(server.kubectl("get", "node", "edge-1", "-o", "jsonpath={.spec.taints}").stdout)
        assert [(t["key"], t["effect"]) for t in taints] == [("node.kubernetes.io/unreachable", "NoSchedule")]
    finally:
        server.stop()
