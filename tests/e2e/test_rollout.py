"""Deployments end to end: the real `edgek8s server` process with its embedded controllers, real kubectl
v1.32 (create, apply, set image, scale, rollout status|history|undo|restart|pause|resume) and the fake
kubelet of tests/controllers running beside them over HTTPS; and a rollout that completes across a
server restart in its middle."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.controllers.fake_kubelet import FakeKubelet, HttpPods, KubeletThread
from tests.e2e.apiserver import EdgeServer, ssl_context

pytestmark = pytest.mark.e2e

SLOW_READY_ANNOTATION = "e2e.edgek8s.io/ready-after-seconds"


def ready_unless_broken(pod: dict) -> bool:
    return all(c.get("image") != "broken" for c in pod["spec"]["containers"])


def ready_delay(pod: dict) -> float:
    return float((pod["metadata"].get("annotations") or {}).get(SLOW_READY_ANNOTATION, "0"))


@pytest.fixture(scope="module")
def kubelet(edge):
    tls = ssl_context(edge, edge.kubeconfig)

    def make() -> FakeKubelet:
        pods = HttpPods(edge.url, tls)
        return FakeKubelet(pods, ready=ready_unless_broken, ready_delay=ready_delay, interval=0.05)

    with KubeletThread(make):
        yield


def kubectl_out(edge: EdgeServer, *args: str) -> str:
    """kubectl's stdout; its patches race the controllers' status writes and must never get a 409."""
    return edge.kubectl(*args).stdout


def rollout_status(edge: EdgeServer, name: str, timeout: int = 30) -> str:
    return edge.kubectl(
        "rollout", "status", f"deployment/{name}", f"--timeout={timeout}s", timeout=timeout + 10
    ).stdout


def get(edge: EdgeServer, *what: str) -> dict:
    return json.loads(edge.kubectl("get", *what, "-o", "json").stdout)


def replica_sets(edge: EdgeServer, name: str) -> list[dict]:
    d = get(edge, "deployment", name)
    return [
        rs
        for rs in get(edge, "replicasets")["items"]
        if any(r.get("uid") == d["metadata"]["uid"] for r in rs["metadata"].get("ownerReferences") or [])
    ]


def revisions(history: str) -> list[str]:
    rows = [line.split()[0] for line in history.splitlines() if re.match(r"^\d+\s", line)]
    return rows


def active_images(edge: EdgeServer, selector: str) -> set[str]:
    pods = get(edge, "pods", "-l", selector)["items"]
    return {
        c["image"]
        for p in pods
        if not p["metadata"].get("deletionTimestamp")
        for c in p["spec"]["containers"]
    }


def test_create_deployment_then_rollout_status_returns(edge, kubelet):
    edge.kubectl("create", "deployment", "hello", "--image=app:v1", "--replicas=3")
    assert 'deployment "hello" successfully rolled out' in rollout_status(edge, "hello")
    d = get(edge, "deployment", "hello")
    assert d["status"]["availableReplicas"] == 3 and d["status"]["updatedReplicas"] == 3
    [rs] = replica_sets(edge, "hello")
    pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"hello-{pod_hash}" and re.fullmatch(r"[4-9bcdf]{1,10}", pod_hash)
    pods = get(edge, "pods", "-l", "app=hello")["items"]
    assert len(pods) == 3 and all(p["status"]["phase"] == "Running" for p in pods)
    table = edge.kubectl("get", "deployment", "hello").stdout
    assert re.search(r"^hello\s+3/3\s+3\s+3\s", table, re.M), table


def test_set_image_history_undo_restart_pause_resume(edge, kubelet):
    edge.kubectl("create", "deployment", "web", "--image=app:v1", "--replicas=3")
    rollout_status(edge, "web")
    kubectl_out(edge, "set", "image", "deployment/web", "app=app:v2")
    assert 'deployment "web" successfully rolled out' in rollout_status(edge, "web")
    assert active_images(edge, "app=web") == {"app:v2"}
    assert revisions(edge.kubectl("rollout", "history", "deployment/web").stdout) == ["1", "2"]
    assert "app:v1" in edge.kubectl("rollout", "history", "deployment/web", "--revision=1").stdout

    assert kubectl_out(edge, "rollout", "undo", "deployment/web").strip() == "deployment.apps/web rolled back"
    rollout_status(edge, "web")
    assert active_images(edge, "app=web") == {"app:v1"}
    assert revisions(edge.kubectl("rollout", "history", "deployment/web").stdout) == ["2", "3"]
    assert len(replica_sets(edge, "web")) == 2  # the first ReplicaSet came back into use

    assert (
        kubectl_out(edge, "rollout", "restart", "deployment/web").strip() == "deployment.apps/web restarted"
    )
    rollout_status(edge, "web")
    newest = max(
        replica_sets(edge, "web"),
        key=lambda rs: int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]),
    )
    assert "kubectl.kubernetes.io/restartedAt" in newest["spec"]["template"]["metadata"]["annotations"]
    assert newest["spec"]["replicas"] == 3
    assert revisions(edge.kubectl("rollout", "history", "deployment/web").stdout) == ["2", "3", "4"]

    assert kubectl_out(edge, "rollout", "pause", "deployment/web").strip() == "deployment.apps/web paused"
    kubectl_out(edge, "set", "image", "deployment/web", "app=app:v3")
    time.sleep(1.0)
    assert len(replica_sets(edge, "web")) == 3 and active_images(edge, "app=web") == {"app:v1"}
    progressing = next(
        c for c in get(edge, "deployment", "web")["status"]["conditions"] if c["type"] == "Progressing"
    )
    assert progressing["reason"] == "DeploymentPaused"
    assert kubectl_out(edge, "rollout", "resume", "deployment/web").strip() == "deployment.apps/web resumed"
    rollout_status(edge, "web")
    assert active_images(edge, "app=web") == {"app:v3"}
    assert revisions(edge.kubectl("rollout", "history", "deployment/web").stdout)[-1] == "5"


MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: applied
spec:
  replicas: 4
  strategy:
    rollingUpdate: {maxSurge: 1, maxUnavailable: 1}
  selector:
    matchLabels: {app: applied}
  template:
    metadata:
      labels: {app: applied}
    spec:
      containers:
      - name: main
        image: IMAGE
"""


def test_apply_then_apply_a_new_image(edge, kubelet):
    edge.kubectl("apply", "-f", "-", input=MANIFEST.replace("IMAGE", "app:v1"))
    rollout_status(edge, "applied")
    edge.kubectl("apply", "-f", "-", input=MANIFEST.replace("IMAGE", "app:v2"))
    assert 'deployment "applied" successfully rolled out' in rollout_status(edge, "applied")
    assert active_images(edge, "app=applied") == {"app:v2"}
    scaled = [
        rs["spec"]["replicas"]
        for rs in sorted(replica_sets(edge, "applied"), key=lambda rs: rs["metadata"]["name"])
    ]
    assert sorted(scaled) == [0, 4]


def test_scale_three_to_ten_to_zero(edge, kubelet):
    edge.kubectl("create", "deployment", "scaly", "--image=app:v1", "--replicas=3")
    rollout_status(edge, "scaly")
    assert (
        kubectl_out(edge, "scale", "deployment/scaly", "--replicas=10").strip()
        == "deployment.apps/scaly scaled"
    )
    rollout_status(edge, "scaly")
    assert get(edge, "deployment", "scaly")["status"]["availableReplicas"] == 10
    kubectl_out(edge, "scale", "deployment/scaly", "--replicas=0")
    rollout_status(edge, "scaly")
    deadline = time.monotonic() + 15
    while get(edge, "pods", "-l", "app=scaly")["items"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert get(edge, "pods", "-l", "app=scaly")["items"] == []
    [rs] = replica_sets(edge, "scaly")
    assert rs["spec"]["replicas"] == 0


SLOW_MANIFEST = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: steady
spec:
  replicas: 6
  strategy:
    rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}
  selector:
    matchLabels: {{app: steady}}
  template:
    metadata:
      labels: {{app: steady}}
      annotations: {{{SLOW_READY_ANNOTATION}: "0.4"}}
    spec:
      containers:
      - name: main
        image: IMAGE
"""


def test_rollout_completes_across_a_server_restart(edge, kubelet):
    edge.kubectl("apply", "-f", "-", input=SLOW_MANIFEST.replace("IMAGE", "app:v1"))
    rollout_status(edge, "steady")
    edge.kubectl("apply", "-f", "-", input=SLOW_MANIFEST.replace("IMAGE", "app:v2"))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        updated = get(edge, "deployment", "steady")["status"].get("updatedReplicas", 0)
        if 1 <= updated < 6:
            break
        time.sleep(0.05)
    assert 1 <= updated < 6, "the rollout was not caught in its middle"

    assert edge.stop() == 0, edge.log_text()
    edge.start()

    assert 'deployment "steady" successfully rolled out' in rollout_status(edge, "steady", timeout=40)
    d = get(edge, "deployment", "steady")
    assert (
        d["status"]["availableReplicas"] == 6
        and d["status"]["observedGeneration"] == d["metadata"]["generation"]
    )
    assert active_images(edge, "app=steady") == {"app:v2"}
    assert sorted(rs["spec"]["replicas"] for rs in replica_sets(edge, "steady")) == [0, 6]
