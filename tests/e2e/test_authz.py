"""Authentication and authorization against a live server: 401 without credentials, a node identity
confined to its own objects, and an RBAC-bound user getting exactly its rules."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

import pytest

from tests.e2e.apiserver import ssl_context, user_kubeconfig

pytestmark = pytest.mark.e2e


def call(
    edge,
    ctx: ssl.SSLContext,
    method: str,
    path: str,
    body: dict | None = None,
    content_type: str = "application/json",
) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        f"{edge.url}{path}", data=data, method=method, headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def node(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}


def test_unauthenticated_gets_401_except_public_paths(edge):
    anonymous = ssl_context(edge)
    code, body = call(edge, anonymous, "GET", "/api/v1/namespaces")
    assert code == 401
    assert body["kind"] == "Status" and body["reason"] == "Unauthorized"
    for public in ("/healthz", "/readyz", "/livez"):
        req = urllib.request.Request(f"{edge.url}{public}")
        with urllib.request.urlopen(req, context=anonymous, timeout=5) as resp:
            assert resp.status == 200
    code, version = call(edge, anonymous, "GET", "/version")
    assert code == 200 and version["minor"] == "32"
    bad_token = urllib.request.Request(
        f"{edge.url}/api/v1/pods", headers={"Authorization": "Bearer nope.nope"}
    )
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(bad_token, context=anonymous, timeout=5)
    assert denied.value.code == 401


def test_node_identity_is_confined_to_its_own_objects(edge, tmp_path):
    admin = ssl_context(edge, edge.kubeconfig)
    for name in ("edge-a", "edge-b"):
        assert call(edge, admin, "POST", "/api/v1/nodes", node(name))[0] == 201
    for pod, on in (("pod-a", "edge-a"), ("pod-b", "edge-b")):
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": pod},
            "spec": {"nodeName": on, "containers": [{"name": "c", "image": "busybox"}]},
        }
        assert call(edge, admin, "POST", "/api/v1/namespaces/default/pods", body)[0] == 201
    node_a = ssl_context(edge, user_kubeconfig(edge, "system:node:edge-a", ["system:nodes"], tmp_path / "a"))
    assert call(edge, node_a, "GET", "/api/v1/nodes/edge-a")[0] == 200
    status_patch = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    merge = "application/merge-patch+json"
    assert call(edge, node_a, "PATCH", "/api/v1/nodes/edge-a/status", status_patch, merge)[0] == 200
    code, body = call(edge, node_a, "PATCH", "/api/v1/nodes/edge-b/status", status_patch, merge)
    assert code == 403 and body["reason"] == "Forbidden"
    assert 'User "system:node:edge-a" cannot patch resource "nodes/status"' in body["message"] or (
        'User "system:node:edge-a" cannot patch resource "nodes"' in body["message"]
    )
    pod_status = {"status": {"phase": "Running"}}
    assert (
        call(edge, node_a, "PATCH", "/api/v1/namespaces/default/pods/pod-a/status", pod_status, merge)[0]
        == 200
    )
    assert (
        call(edge, node_a, "PATCH", "/api/v1/namespaces/default/pods/pod-b/status", pod_status, merge)[0]
        == 403
    )
    assert call(edge, node_a, "DELETE", "/api/v1/namespaces/default/pods/pod-b")[0] == 403
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "edge-b"},
        "spec": {"holderIdentity": "edge-b"},
    }
    leases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
    assert call(edge, node_a, "POST", leases, lease)[0] == 403
    lease["metadata"]["name"] = lease["spec"]["holderIdentity"] = "edge-a"
    assert call(edge, node_a, "POST", leases, lease)[0] == 201
    assert call(edge, node_a, "DELETE", "/api/v1/nodes/edge-b")[0] == 403


def test_rbac_user_gets_exactly_its_rules(edge, tmp_path):
    alice_cfg = user_kubeconfig(edge, "alice", ["devs"], tmp_path / "alice")
    edge.kubectl("create", "ns", "team")
    edge.kubectl(
        "create", "role", "cm-reader", "-n", "team", "--verb=get,list,watch", "--resource=configmaps"
    )
    edge.kubectl("create", "rolebinding", "alice-reads", "-n", "team", "--role=cm-reader", "--user=alice")
    edge.kubectl(
        "create", "clusterrole", "ns-viewer", "--verb=get", "--resource=namespaces", "--resource-name=team"
    )
    edge.kubectl("create", "clusterrolebinding", "devs-ns", "--clusterrole=ns-viewer", "--group=devs")

    def alice(*args: str, check: bool = False):
        return edge.kubectl("--kubeconfig", str(alice_cfg), *args, check=check)

    assert alice("get", "cm", "-n", "team").returncode == 0
    denied = alice("get", "cm", "-n", "default")
    assert denied.returncode == 1
    assert (
        'configmaps is forbidden: User "alice" cannot list resource "configmaps" in API group "" in the '
        'namespace "default"'
    ) in denied.stderr
    create = alice("create", "cm", "x", "-n", "team")
    assert 'cannot create resource "configmaps"' in create.stderr
    assert alice("get", "ns", "team").returncode == 0
    assert alice("get", "ns", "default").returncode == 1
    assert alice("auth", "can-i", "list", "configmaps", "-n", "team").stdout.strip() == "yes"
    assert alice("auth", "can-i", "delete", "configmaps", "-n", "team").stdout.strip() == "no"
    assert alice("auth", "can-i", "list", "secrets", "-n", "team").stdout.strip() == "no"
    rules = alice("auth", "can-i", "--list", "-n", "team", check=True).stdout
    assert any(
        line.split()[:1] == ["configmaps"] and "[get list watch]" in line for line in rules.splitlines()
    )
