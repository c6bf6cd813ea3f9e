"""Real kubectl (v1.32) with manifests whose top level is `kind: List`, what `kubectl get -o yaml` prints
for several objects. kubectl's server-side field validation check never covers List, so with the default
--validate=strict it validates the items itself against /openapi/v2, and fails outright when the server
has no such document."""

from __future__ import annotations

import json

import pytest
import yaml

pytestmark = pytest.mark.e2e

LIST = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: NAME-settings, namespace: default}
  data: {mode: fast}
- apiVersion: v1
  kind: Service
  metadata: {name: NAME-web, namespace: default}
  spec:
    selector: {app: NAME-web}
    ports:
    - {name: http, port: 80, targetPort: http}
"""


def _list(name: str) -> str:
    return LIST.replace("NAME", name)


def _exists(edge, kind: str, name: str) -> bool:
    result = edge.kubectl("get", kind, name, "-n", "default", "-o", "name", check=False)
    return result.returncode == 0


def test_openapi_v2_is_served(edge) -> None:
    doc = json.loads(edge.kubectl("get", "--raw", "/openapi/v2").stdout)
    assert doc["swagger"] == "2.0"
    assert "io.k8s.api.core.v1.ConfigMap" in doc["definitions"]


def test_apply_list_from_stdin_then_unchanged(edge) -> None:
    first = edge.kubectl("apply", "-f", "-", input=_list("applied"))
    assert first.stdout == "configmap/applied-settings created\nservice/applied-web created\n"
    again = edge.kubectl("apply", "-f", "-", input=_list("applied"))
    assert again.stdout == "configmap/applied-settings unchanged\nservice/applied-web unchanged\n"
    data = json.loads(edge.kubectl("get", "configmap", "applied-settings", "-o", "json").stdout)["data"]
    assert data == {"mode": "fast"}


def test_create_list_from_file(edge, tmp_path) -> None:
    manifest = tmp_path / "list.yaml"
    manifest.write_text(_list("created"))
    result = edge.kubectl("create", "-f", str(manifest))
    assert result.stdout == "configmap/created-settings created\nservice/created-web created\n"
    assert _exists(edge, "service", "created-web")


def test_what_get_prints_applies_back(edge) -> None:
    edge.kubectl("apply", "-f", "-", input=_list("printed"))
    printed = edge.kubectl("get", "configmap/printed-settings", "service/printed-web", "-o", "yaml").stdout
    assert yaml.safe_load(printed)["kind"] == "List"
    # status, uid, timestamps and all: every field the server prints is in the v2 definitions
    result = edge.kubectl("apply", "-f", "-", input=printed)
    assert result.stdout == "configmap/printed-settings configured\nservice/printed-web configured\n"


def test_unknown_field_in_a_list_item_fails_client_validation(edge) -> None:
    bad = _list("strict").replace("  data: {mode: fast}\n", "  data: {mode: fast}\n  bogus: 1\n")
    result = edge.kubectl("apply", "-f", "-", input=bad, check=False)
    assert result.returncode == 1
    assert result.stderr == (
        'error: error validating "STDIN": error validating data: ValidationError(ConfigMap): unknown field '
        '"bogus" in io.k8s.api.core.v1.ConfigMap; if you choose to ignore these errors, turn validation off '
        "with --validate=false\n"
    )
    # validation runs before anything is sent: the valid Service in the same List was not created either
    assert not _exists(edge, "service", "strict-web")
    assert not _exists(edge, "configmap", "strict-settings")


def test_nested_errors_name_the_item_path_and_definition(edge) -> None:
    deployment = """\
apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: nested, namespace: default}
  spec:
    replicas: "two"
    selector: {matchLabels: {app: nested}}
    template:
      metadata: {labels: {app: nested}}
      spec:
        containers:
        - {name: web, image: nginx, bogus: 1, ports: [{containerPort: 80}]}
"""
    result = edge.kubectl("create", "-f", "-", input=deployment, check=False)
    assert result.returncode == 1
    assert (
        "error validating data: [ValidationError(Deployment.spec.replicas): invalid type for "
        'io.k8s.api.apps.v1.DeploymentSpec.replicas: got "string", expected "integer", '
        'ValidationError(Deployment.spec.template.spec.containers[0]): unknown field "bogus" in '
        "io.k8s.api.core.v1.Container]"
    ) in result.stderr
    assert not _exists(edge, "deployment", "nested")


def test_validate_false_skips_client_validation(edge) -> None:
    bad = _list("lenient").replace("  data: {mode: fast}\n", "  data: {mode: fast}\n  bogus: 1\n")
    result = edge.kubectl("create", "--validate=false", "-f", "-", input=bad)
    assert result.stdout == "configmap/lenient-settings created\nservice/lenient-web created\n"
