"""The /openapi/v3 documents: stable hashes, self-contained components, and the operations kubectl reads."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest

from distro.apiserver.openapi import OpenAPIV3
from distro.apiserver.registry import RESOURCES, REVIEWS, ResourceDef, lookup

SERVED = RESOURCES + REVIEWS
PATCH_TYPES = {
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
}
METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
def api() -> OpenAPIV3:
    return OpenAPIV3(SERVED)


def _doc(api: OpenAPIV3, path: str) -> dict[str, Any]:
    found = api.document(path)
    assert found is not None, path
    return json.loads(found[0])


def _gv_path(rd: ResourceDef) -> str:
    return f"api/{rd.version}" if not rd.group else f"apis/{rd.group}/{rd.version}"


def _operations(doc: dict) -> Iterator[tuple[str, str, dict]]:
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _param_names(item: dict, op: dict) -> set[str]:
    return {p["name"] for p in [*item.get("parameters", []), *op.get("parameters", [])]}


def test_root_lists_every_document_by_a_stable_content_hash(api):
    paths = api.root()["paths"]
    expected = {
        "api",
        "api/v1",
        "apis",
        "apis/apps",
        "apis/apps/v1",
        "apis/rbac.authorization.k8s.io/v1",
        "apis/discovery.k8s.io/v1",
        "apis/coordination.k8s.io/v1",
        "apis/authorization.k8s.io/v1",
    }
    assert expected <= set(paths)
    for key, entry in paths.items():
        body, etag = api.document(key)
        assert etag == hashlib.sha512(body).hexdigest().upper()
        assert entry == {"serverRelativeURL": f"/openapi/v3/{key}?hash={etag}"}
    assert OpenAPIV3(SERVED).root() == api.root()


def test_unknown_documents_are_none(api):
    assert api.document("apis/batch/v1") is None
    assert api.document("api/v2") is None
    assert api.document("/api/v1/")[1] == api.document("api/v1")[1]


def test_documents_are_openapi_3_with_every_reference_inside_them(api):
    for key in api.root()["paths"]:
        doc = _doc(api, key)
        assert doc["openapi"] == "3.0.0"
        assert doc["info"]["title"] == "Kubernetes"
        schemas = doc["components"]["schemas"]
        missing = {r for r in _refs(doc) if r.removeprefix("#/components/schemas/") not in schemas}
        assert missing == set(), key
        assert set(schemas) == {r.removeprefix("#/components/schemas/") for r in _refs(doc)}, key


def test_every_operation_is_tagged_like_upstream(api):
    for key in api.root()["paths"]:
        for path, method, op in _operations(_doc(api, key)):
            assert op["operationId"] and op["description"] and op["tags"], (path, method)
            assert op["responses"]["401"] == {"description": "Unauthorized"}
            if path.rstrip("/") in ("/api", "/apis") or path.endswith("/"):
                continue  # discovery documents carry no action
            assert op["x-kubernetes-action"] in {
                "get",
                "list",
                "post",
                "put",
                "patch",
                "delete",
                "deletecollection",
                "watch",
                "watchlist",
                "connect",
            }, (path, method)
            assert set(op["x-kubernetes-group-version-kind"]) == {"group", "kind", "version"}


def test_patch_operations_offer_field_validation_and_all_patch_types(api):
    for key in api.root()["paths"]:
        for path, method, op in _operations(_doc(api, key)):
            if method != "patch":
                continue
            assert {"dryRun", "fieldManager", "fieldValidation", "force"} <= {
                p["name"] for p in op["parameters"]
            }
            assert set(op["requestBody"]["content"]) == PATCH_TYPES, path
            assert op["requestBody"]["required"] is True


@pytest.mark.parametrize("rd", [rd for rd in SERVED if "patch" in rd.verbs], ids=lambda rd: rd.kind)
def test_kubectl_finds_field_validation_support_for_each_kind(api, rd):
    """What kubectl's QueryParamVerifierV3 does before sending fieldValidation=Strict."""
    gvk = {"group": rd.group, "kind": rd.kind, "version": rd.version}
    patches = [
        op
        for _, method, op in _operations(_doc(api, _gv_path(rd)))
        if method == "patch" and op["x-kubernetes-group-version-kind"] == gvk
    ]
    assert patches
    assert all("fieldValidation" in {p["name"] for p in op["parameters"]} for op in patches)
    assert all("application/strategic-merge-patch+json" in op["requestBody"]["content"] for op in patches)


@pytest.mark.parametrize("rd", SERVED, ids=lambda rd: rd.kind)
def test_kubectl_explain_finds_the_kind_schema(api, rd):
    """The lookup kubectl explain's template performs: resource path -> GVK -> component with that GVK."""
    doc = _doc(api, _gv_path(rd))
    prefix = "/api" if not rd.group else f"/apis/{rd.group}"
    candidates = [
        f"{prefix}/{rd.version}/{rd.plural}",
        f"{prefix}/{rd.version}/{rd.plural}/{{name}}",
        f"{prefix}/{rd.version}/namespaces/{{namespace}}/{rd.plural}",
        f"{prefix}/{rd.version}/namespaces/{{namespace}}/{rd.plural}/{{name}}",
    ]
    gvks = [
        doc["paths"][p][m]["x-kubernetes-group-version-kind"]
        for p in candidates
        if p in doc["paths"]
        for m in METHODS
        if m in doc["paths"][p]
    ]
    assert gvks and gvks[0] == {"group": rd.group, "kind": rd.kind, "version": rd.version}
    matches = [
        name
        for name, s in doc["components"]["schemas"].items()
        if gvks[0] in s.get("x-kubernetes-group-version-kind", [])
    ]
    assert matches == [rd.schema_name]


def test_pod_paths_cover_verbs_watch_and_subresources(api):
    paths = _doc(api, "api/v1")["paths"]
    ns = "/api/v1/namespaces/{namespace}/pods"
    assert {"get", "post", "delete", "parameters"} == set(paths[ns])
    assert paths[ns]["get"]["operationId"] == "listCoreV1NamespacedPod"
    assert paths[ns]["delete"]["operationId"] == "deleteCoreV1CollectionNamespacedPod"
    assert paths[ns]["delete"]["x-kubernetes-action"] == "deletecollection"
    item = paths[ns + "/{name}"]
    assert {"get", "put", "patch", "delete", "parameters"} == set(item)
    assert item["put"]["requestBody"]["content"]["*/*"]["schema"] == {
        "$ref": "#/components/schemas/io.k8s.api.core.v1.Pod"
    }
    assert [p["name"] for p in item["parameters"]] == ["name", "namespace", "pretty"]
    assert paths["/api/v1/pods"]["get"]["operationId"] == "listCoreV1PodForAllNamespaces"
    assert paths["/api/v1/watch/namespaces/{namespace}/pods"]["get"]["x-kubernetes-action"] == "watchlist"
    assert paths["/api/v1/watch/namespaces/{namespace}/pods/{name}"]["get"]["x-kubernetes-action"] == "watch"
    assert paths["/api/v1/watch/pods"]["get"]["operationId"] == "watchCoreV1PodListForAllNamespaces"
    assert set(paths[ns + "/{name}/status"]) == {"get", "put", "patch", "parameters"}
    binding = paths[ns + "/{name}/binding"]["post"]
    assert binding["x-kubernetes-group-version-kind"] == {"group": "", "kind": "Binding", "version": "v1"}
    eviction = paths[ns + "/{name}/eviction"]["post"]
    assert eviction["x-kubernetes-group-version-kind"] == {
        "group": "policy",
        "kind": "Eviction",
        "version": "v1",
    }
    assert eviction["requestBody"]["content"]["*/*"]["schema"]["$ref"].endswith(
        "io.k8s.api.policy.v1.Eviction"
    )
    log = paths[ns + "/{name}/log"]["get"]
    assert {"container", "follow", "previous", "tailLines", "timestamps"} <= {
        p["name"] for p in log["parameters"]
    }
    exec_item = paths[ns + "/{name}/exec"]
    assert exec_item["post"]["operationId"] == "connectCoreV1PostNamespacedPodExec"
    assert exec_item["get"]["x-kubernetes-group-version-kind"]["kind"] == "PodExecOptions"
    assert {"command", "container", "stdin", "stdout", "stderr", "tty"} <= _param_names(exec_item, {})


def test_standard_query_parameters_on_each_verb(api):
    paths = _doc(api, "apis/apps/v1")["paths"]
    collection = paths["/apis/apps/v1/namespaces/{namespace}/deployments"]
    list_params = {
        "allowWatchBookmarks",
        "continue",
        "fieldSelector",
        "labelSelector",
        "limit",
        "resourceVersion",
        "resourceVersionMatch",
        "sendInitialEvents",
        "timeoutSeconds",
        "watch",
        "namespace",
        "pretty",
    }
    assert _param_names(collection, collection["get"]) == list_params
    assert {"dryRun", "fieldManager", "fieldValidation"} <= _param_names(collection, collection["post"])
    assert {
        "gracePeriodSeconds",
        "propagationPolicy",
        "orphanDependents",
        "labelSelector",
        "fieldSelector",
        "dryRun",
    } <= _param_names(collection, collection["delete"])
    item = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    assert {"dryRun", "gracePeriodSeconds", "propagationPolicy"} <= _param_names(item, item["delete"])
    assert item["delete"]["operationId"] == "deleteAppsV1NamespacedDeployment"
    scale = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["get"]["operationId"] == "readAppsV1NamespacedDeploymentScale"
    assert scale["patch"]["x-kubernetes-group-version-kind"] == {
        "group": "autoscaling",
        "kind": "Scale",
        "version": "v1",
    }


def test_verbs_limit_operations(api):
    core = _doc(api, "api/v1")["paths"]
    assert "delete" not in core["/api/v1/namespaces"]  # namespaces have no deletecollection
    assert "delete" in core["/api/v1/namespaces/{name}"]
    review = lookup("authorization.k8s.io", "selfsubjectaccessreviews")
    assert review is not None
    authz = _doc(api, "apis/authorization.k8s.io/v1")["paths"]
    assert set(authz["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"]) == {"post", "parameters"}
    assert not [p for p in authz if "{name}" in p or "/watch/" in p]
    cluster = _doc(api, "apis/rbac.authorization.k8s.io/v1")["paths"]
    assert "/apis/rbac.authorization.k8s.io/v1/clusterroles/{name}" in cluster
    assert "/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/clusterroles" not in cluster
    assert cluster["/apis/rbac.authorization.k8s.io/v1/clusterroles"]["get"]["operationId"] == (
        "listRbacAuthorizationV1ClusterRole"
    )
    assert cluster["/apis/rbac.authorization.k8s.io/v1/clusterroles"]["get"]["tags"] == [
        "rbacAuthorization_v1"
    ]


def test_discovery_documents(api):
    assert _doc(api, "api")["paths"]["/api/"]["get"]["operationId"] == "getCoreAPIVersions"
    assert _doc(api, "apis")["paths"]["/apis/"]["get"]["operationId"] == "getAPIVersions"
    group = _doc(api, "apis/apps")
    assert group["paths"]["/apis/apps/"]["get"]["operationId"] == "getAppsAPIGroup"
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup" in group["components"]["schemas"]
    resources = _doc(api, "api/v1")["paths"]["/api/v1/"]["get"]
    assert resources["operationId"] == "getCoreV1APIResources"
