"""Real kubectl (v1.32, from the machine image) against `edgek8s server`, on our datastore and on a real
etcd: the same suite must pass on both, with kubectl's exact output where it is stable."""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
import yaml

from tests.e2e.apiserver import KUBECTL

pytestmark = pytest.mark.e2e

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: shop
  labels: {app: web}
data:
  greeting: hello
---
apiVersion: v1
kind: Secret
metadata:
  name: web-secret
  namespace: shop
  labels: {app: web}
stringData:
  password: s3cret
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  selector: {app: web}
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports:
        - containerPort: 8080
        env:
        - name: MODE
          value: prod
---
apiVersion: v1
kind: Pod
metadata:
  name: standalone
  namespace: shop
  labels: {app: tool, tier: batch}
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: ["sleep", "3600"]
"""


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def header(text: str) -> list[str]:
    return re.split(r"\s{2,}", lines(text)[0].strip())


@pytest.fixture(scope="module")
def kube(any_edge):
    return any_edge


def test_version_picks_1_32(kube):
    out = json.loads(kube.kubectl("version", "-o", "json").stdout)
    assert out["serverVersion"]["major"] == "1"
    assert out["serverVersion"]["minor"] == "32"
    assert out["clientVersion"]["minor"].rstrip("+") == "32"


def test_api_resources_and_versions(kube):
    out = kube.kubectl("api-resources", "--api-group=apps", "-o", "name").stdout
    assert lines(out) == ["daemonsets.apps", "deployments.apps", "replicasets.apps"]
    table = kube.kubectl("api-resources").stdout
    assert header(table) == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    pods = [line.split() for line in lines(table) if line.startswith("pods ")]
    assert pods == [["pods", "po", "v1", "true", "Pod"]]
    versions = lines(kube.kubectl("api-versions").stdout)
    for gv in (
        "v1",
        "apps/v1",
        "coordination.k8s.io/v1",
        "discovery.k8s.io/v1",
        "rbac.authorization.k8s.io/v1",
    ):
        assert gv in versions


def test_create_namespace(kube):
    assert kube.kubectl("create", "ns", "demo").stdout.strip() == "namespace/demo created"
    out = kube.kubectl("get", "ns", "demo").stdout
    assert header(out) == ["NAME", "STATUS", "AGE"]
    assert lines(out)[1].split()[:2] == ["demo", "Active"]
    err = kube.kubectl("create", "ns", "demo", check=False)
    assert err.returncode == 1
    assert 'namespaces "demo" already exists' in err.stderr


def test_apply_multi_document(kube):
    out = kube.kubectl("apply", "-f", "-", input=MANIFEST).stdout
    assert lines(out) == [
        "namespace/shop created",
        "configmap/web-config created",
        "secret/web-secret created",
        "service/web created",
        "deployment.apps/web created",
        "pod/standalone created",
    ]
    again = kube.kubectl("apply", "-f", "-", input=MANIFEST).stdout
    assert lines(again) == [
        "namespace/shop unchanged",
        "configmap/web-config unchanged",
        # as upstream (kubernetes#87736): stringData is write-only, so kubectl always sees a difference
        "secret/web-secret configured",
        "service/web unchanged",
        "deployment.apps/web unchanged",
        "pod/standalone unchanged",
    ]
    changed = MANIFEST.replace("greeting: hello", "greeting: bonjour").replace(
        "image: nginx:1.27", "image: nginx:1.28"
    )
    out = kube.kubectl("apply", "-f", "-", input=changed).stdout
    assert "configmap/web-config configured" in lines(out)
    assert "deployment.apps/web configured" in lines(out)
    assert "service/web unchanged" in lines(out)
    dep = json.loads(kube.kubectl("get", "deploy", "web", "-n", "shop", "-o", "json").stdout)
    container = dep["spec"]["template"]["spec"]["containers"][0]
    # strategic merge kept the env list and the port while changing the image
    assert container["image"] == "nginx:1.28"
    assert container["env"] == [{"name": "MODE", "value": "prod"}]
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert dep["metadata"]["generation"] == 2
    cm = json.loads(kube.kubectl("get", "cm", "web-config", "-n", "shop", "-o", "json").stdout)
    assert cm["data"] == {"greeting": "bonjour"}


def test_apply_server_side(kube):
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: shop\ndata:\n  a: '1'\n"
    out = kube.kubectl("apply", "--server-side", "-f", "-", input=doc).stdout
    assert out.strip() == "configmap/ssa serverside-applied"
    out = kube.kubectl("apply", "--server-side", "-f", "-", input=doc.replace("'1'", "'2'")).stdout
    assert out.strip() == "configmap/ssa serverside-applied"
    cm = json.loads(
        kube.kubectl("get", "cm", "ssa", "-n", "shop", "-o", "json", "--show-managed-fields").stdout
    )
    assert cm["data"] == {"a": "2"}
    managers = {m["manager"]: m["operation"] for m in cm["metadata"]["managedFields"]}
    assert managers == {"kubectl": "Apply"}
    # another manager owning the field conflicts, exactly as upstream reports it
    conflict = kube.kubectl(
        "apply",
        "--server-side",
        "--field-manager=other",
        "-f",
        "-",
        input=doc.replace("'1'", "'3'"),
        check=False,
    )
    assert conflict.returncode == 1
    assert 'conflict with "kubectl"' in conflict.stderr
    assert ".data.a" in conflict.stderr


def test_get_each_resource(kube):
    expected = {
        "configmaps": ["NAME", "DATA", "AGE"],
        "secrets": ["NAME", "TYPE", "DATA", "AGE"],
        "services": ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
        "deployments": ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        "pods": ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "serviceaccounts": ["NAME", "SECRETS", "AGE"],
        "endpoints": ["NAME", "ENDPOINTS", "AGE"],
        "replicasets": ["NAME", "DESIRED", "CURRENT", "READY", "AGE"],
        "daemonsets": [
            "NAME",
            "DESIRED",
            "CURRENT",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "NODE SELECTOR",
            "AGE",
        ],
        "leases": ["NAME", "HOLDER", "AGE"],
        "roles": ["NAME", "CREATED AT"],
    }
    for resource, columns in expected.items():
        result = kube.kubectl("get", resource, "-n", "shop", check=False)
        assert result.returncode == 0, result.stderr
        if result.stdout.strip():
            assert header(result.stdout) == columns, resource
        else:
            assert result.stderr.strip() == "No resources found in shop namespace.", resource
    pod = lines(kube.kubectl("get", "pod", "standalone", "-n", "shop").stdout)[1].split()
    assert pod[:4] == ["standalone", "0/1", "Pending", "0"]
    svc = lines(kube.kubectl("get", "svc", "web", "-n", "shop").stdout)[1].split()
    assert (
        svc[0:2] == ["web", "ClusterIP"] and svc[2].startswith("10.43.") and svc[3:5] == ["<none>", "80/TCP"]
    )
    cm = lines(kube.kubectl("get", "cm", "web-config", "-n", "shop").stdout)[1].split()
    assert cm[:2] == ["web-config", "1"]
    default_svc = lines(kube.kubectl("get", "svc", "kubernetes").stdout)[1].split()
    assert default_svc[:5] == ["kubernetes", "ClusterIP", "10.43.0.1", "<none>", "443/TCP"]


def test_get_output_forms(kube):
    wide = kube.kubectl("get", "pods", "-n", "shop", "-o", "wide").stdout
    assert header(wide) == [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED NODE",
        "READINESS GATES",
    ]
    assert lines(wide)[1].split()[5:] == ["<none>", "<none>", "<none>", "<none>"]
    doc = yaml.safe_load(kube.kubectl("get", "pod", "standalone", "-n", "shop", "-o", "yaml").stdout)
    assert doc["kind"] == "Pod" and doc["apiVersion"] == "v1"
    assert doc["spec"]["schedulerName"] == "default-scheduler"
    assert doc["spec"]["restartPolicy"] == "Always"
    assert doc["spec"]["terminationGracePeriodSeconds"] == 30
    assert doc["spec"]["dnsPolicy"] == "ClusterFirst"
    assert doc["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert doc["status"]["phase"] == "Pending"
    everywhere = kube.kubectl("get", "pods", "-A").stdout
    assert header(everywhere) == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert any(line.split()[:2] == ["shop", "standalone"] for line in lines(everywhere))
    labelled = kube.kubectl("get", "pods", "-n", "shop", "--show-labels").stdout
    assert header(labelled)[-1] == "LABELS"
    assert lines(labelled)[1].split()[-1] == "app=tool,tier=batch"
    selected = kube.kubectl("get", "cm,secret,svc", "-n", "shop", "-l", "app=web", "-o", "name").stdout
    assert sorted(lines(selected)) == ["configmap/web-config", "secret/web-secret", "service/web"]
    notin = kube.kubectl("get", "pods", "-n", "shop", "-l", "tier notin (web),app=tool", "-o", "name").stdout
    assert lines(notin) == ["pod/standalone"]
    fields = kube.kubectl(
        "get", "pods", "-A", "--field-selector", "status.phase=Pending,metadata.namespace=shop", "-o", "name"
    ).stdout
    # the Deployment's two pods are Pending too (no nodes exist), the standalone one is ours
    # (with a rollout in progress: the old ReplicaSet's pods and a surge pod of the new one)
    assert lines(fields)[0] == "pod/standalone" and len(lines(fields)) >= 3
    assert all(name.startswith("pod/web-") for name in lines(fields)[1:])
    running = kube.kubectl(
        "get", "pods", "-A", "--field-selector", "status.phase!=Pending", "-o", "name"
    ).stdout
    assert running.strip() == ""
    bad = kube.kubectl("get", "pods", "--field-selector", "spec.bogus=1", check=False)
    assert bad.returncode == 1 and "field label not supported: spec.bogus" in bad.stderr


def test_watch_sees_a_change(kube):
    env = {**os.environ, "KUBECONFIG": str(kube.kubeconfig), "HOME": str(kube.data_dir)}
    proc = subprocess.Popen(
        [
            KUBECTL,
            "get",
            "cm",
            "-n",
            "shop",
            "-w",
            "--output-watch-events",
            "--field-selector",
            "metadata.name=web-config",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout.readline().split() == ["EVENT", "NAME", "DATA", "AGE"]
        assert proc.stdout.readline().split()[:3] == ["ADDED", "web-config", "1"]
        kube.kubectl("annotate", "cm", "web-config", "-n", "shop", "watched=yes")
        kube.kubectl("annotate", "cm", "ssa", "-n", "shop", "watched=yes")  # outside the selector
        assert proc.stdout.readline().split()[:3] == ["MODIFIED", "web-config", "1"]
    finally:
        proc.kill()
        proc.wait(10)


def test_describe_label_annotate(kube):
    out = kube.kubectl("describe", "cm", "web-config", "-n", "shop").stdout
    assert re.search(r"^Name:\s+web-config$", out, re.M)
    assert re.search(r"^Namespace:\s+shop$", out, re.M)
    assert "greeting" in out and "bonjour" in out
    pod = kube.kubectl("describe", "pod", "standalone", "-n", "shop").stdout
    assert re.search(r"^Status:\s+Pending$", pod, re.M)
    assert kube.kubectl("label", "cm", "web-config", "-n", "shop", "tier=front").stdout.strip() == (
        "configmap/web-config labeled"
    )
    assert kube.kubectl("annotate", "cm", "web-config", "-n", "shop", "note=x").stdout.strip() == (
        "configmap/web-config annotated"
    )
    cm = json.loads(kube.kubectl("get", "cm", "web-config", "-n", "shop", "-o", "json").stdout)
    assert cm["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert cm["metadata"]["annotations"]["note"] == "x"
    assert kube.kubectl("label", "cm", "web-config", "-n", "shop", "tier-").stdout.strip() == (
        "configmap/web-config unlabeled"
    )


def test_patch_three_types(kube):
    def data() -> dict:
        return json.loads(kube.kubectl("get", "cm", "web-config", "-n", "shop", "-o", "json").stdout)["data"]

    out = kube.kubectl("patch", "cm", "web-config", "-n", "shop", "-p", '{"data":{"s":"1"}}').stdout
    assert out.strip() == "configmap/web-config patched"
    assert data()["s"] == "1"
    kube.kubectl(
        "patch", "cm", "web-config", "-n", "shop", "--type=merge", "-p", '{"data":{"m":"2","s":null}}'
    )
    assert data() == {"greeting": "bonjour", "m": "2"}
    kube.kubectl(
        "patch",
        "cm",
        "web-config",
        "-n",
        "shop",
        "--type=json",
        "-p",
        '[{"op":"replace","path":"/data/m","value":"3"}]',
    )
    assert data()["m"] == "3"
    bad = kube.kubectl(
        "patch",
        "cm",
        "web-config",
        "-n",
        "shop",
        "--type=json",
        "-p",
        '[{"op":"test","path":"/data/m","value":"nope"}]',
        check=False,
    )
    assert bad.returncode == 1
    # strategic merge on a list by merge key: add an env var without losing the others
    kube.kubectl(
        "patch",
        "deploy",
        "web",
        "-n",
        "shop",
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"X","value":"1"}]}]}}}}',
    )
    dep = json.loads(kube.kubectl("get", "deploy", "web", "-n", "shop", "-o", "json").stdout)
    env = dep["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "MODE", "value": "prod"} in env and {"name": "X", "value": "1"} in env


def test_edit_with_editor(kube, tmp_path):
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/greeting: bonjour/greeting: hola/' \"$1\"\n")
    editor.chmod(0o755)
    out = kube.kubectl("edit", "cm", "web-config", "-n", "shop", env={"KUBE_EDITOR": str(editor)}).stdout
    assert out.strip() == "configmap/web-config edited"
    cm = json.loads(kube.kubectl("get", "cm", "web-config", "-n", "shop", "-o", "json").stdout)
    assert cm["data"]["greeting"] == "hola"


def test_scale(kube):
    assert kube.kubectl("scale", "deploy/web", "-n", "shop", "--replicas=3").stdout.strip() == (
        "deployment.apps/web scaled"
    )
    out = kube.kubectl("get", "deploy", "web", "-n", "shop", "-o", "jsonpath={.spec.replicas}").stdout
    assert out == "3"
    stale = kube.kubectl(
        "scale", "deploy/web", "-n", "shop", "--replicas=5", "--current-replicas=2", check=False
    )
    assert stale.returncode == 1


def test_explain(kube):
    out = kube.kubectl("explain", "pod.spec.containers").stdout
    assert "KIND:       Pod" in out
    assert "FIELD: containers <[]Container>" in out
    assert re.search(r"^\s+image\s+<string>", out, re.M)
    assert "DESCRIPTION:" in out


def test_auth_can_i(kube):
    assert kube.kubectl("auth", "can-i", "create", "pods").stdout.strip() == "yes"
    assert kube.kubectl("auth", "can-i", "delete", "nodes").stdout.strip() == "yes"


def test_delete_forms(kube):
    # a pod bound to a node is deleted gracefully: it stays, marked, until the kubelet (here: us) finishes
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bound\n  namespace: shop\nspec:\n  nodeName: edge-1\n"
        "  containers:\n  - name: c\n    image: busybox\n"
    )
    kube.kubectl("apply", "-f", "-", input=pod)
    out = kube.kubectl("delete", "pod", "bound", "-n", "shop", "--wait=false").stdout
    assert out.strip() == 'pod "bound" deleted'
    marked = json.loads(kube.kubectl("get", "pod", "bound", "-n", "shop", "-o", "json").stdout)
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 30
    assert "deletionTimestamp" in marked["metadata"]
    assert lines(kube.kubectl("get", "pod", "bound", "-n", "shop").stdout)[1].split()[2] == "Terminating"
    forced = kube.kubectl("delete", "pod", "bound", "-n", "shop", "--force", "--grace-period=0")
    assert 'pod "bound" force deleted' in forced.stdout
    gone = kube.kubectl("get", "pod", "bound", "-n", "shop", check=False)
    assert gone.returncode == 1 and 'pods "bound" not found' in gone.stderr
    # an unscheduled pod goes at once, and kubectl's wait returns
    assert (
        kube.kubectl("delete", "pod", "standalone", "-n", "shop").stdout.strip() == 'pod "standalone" deleted'
    )
    by_label = kube.kubectl("delete", "cm,secret", "-n", "shop", "-l", "app=web").stdout
    assert sorted(lines(by_label)) == ['configmap "web-config" deleted', 'secret "web-secret" deleted']
    assert kube.kubectl("delete", "ns", "shop", timeout=60).stdout.strip() == 'namespace "shop" deleted'
    assert kube.kubectl("get", "ns", "shop", check=False).returncode == 1
    assert kube.kubectl("get", "deploy", "-n", "shop", "-o", "name").stdout.strip() == ""
    protected = kube.kubectl("delete", "ns", "default", check=False)
    assert protected.returncode == 1 and "this namespace may not be deleted" in protected.stderr
