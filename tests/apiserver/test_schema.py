"""The resource schemas: references resolve, kinds are tagged, and list/patch metadata matches upstream."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from distro.apiserver import schema
from distro.apiserver.registry import RESOURCES, REVIEWS
from distro.apiserver.schema.dsl import REF

C = "io.k8s.api.core.v1."
A = "io.k8s.api.apps.v1."
M = "io.k8s.apimachinery.pkg.apis.meta.v1."


def _nodes(node: Any) -> Iterator[dict]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def _properties() -> Iterator[tuple[str, str, dict]]:
    for name, component in schema.COMPONENTS.items():
        for prop, node in component.get("properties", {}).items():
            yield name, prop, node


def test_every_reference_resolves_to_a_component():
    refs = [n["$ref"] for n in _nodes(schema.COMPONENTS) if "$ref" in n]
    assert len(refs) > 300
    assert [r for r in refs if not r.startswith(REF) or r.removeprefix(REF) not in schema.COMPONENTS] == []


@pytest.mark.parametrize("rd", RESOURCES + REVIEWS, ids=lambda rd: rd.kind)
def test_every_served_kind_carries_its_group_version_kind(rd):
    gvk = {"group": rd.group, "kind": rd.kind, "version": rd.version}
    assert gvk in schema.kind_schema(rd.schema_name)["x-kubernetes-group-version-kind"]
    if rd in RESOURCES:
        listed = schema.kind_schema(rd.schema_name + "List")
        assert {**gvk, "kind": rd.kind + "List"} in listed["x-kubernetes-group-version-kind"]
        assert listed["required"] == ["items"]
        assert schema.resolve(listed["properties"]["items"]["items"]) is schema.kind_schema(rd.schema_name)


@pytest.mark.parametrize(
    ("component", "prop", "merge_key", "strategy", "list_type", "map_keys"),
    [
        (C + "PodSpec", "containers", "name", "merge", "map", ["name"]),
        (C + "PodSpec", "initContainers", "name", "merge", "map", ["name"]),
        (C + "PodSpec", "ephemeralContainers", "name", "merge", "map", ["name"]),
        (C + "PodSpec", "volumes", "name", "merge,retainKeys", "map", ["name"]),
        (C + "PodSpec", "imagePullSecrets", "name", "merge", "map", ["name"]),
        (C + "PodSpec", "hostAliases", "ip", "merge", "map", ["ip"]),
        (
            C + "PodSpec",
            "topologySpreadConstraints",
            "topologyKey",
            "merge",
            "map",
            ["topologyKey", "whenUnsatisfiable"],
        ),
        (C + "PodSpec", "tolerations", None, None, "atomic", None),
        (C + "PodSpec", "readinessGates", None, None, "atomic", None),
        (C + "Container", "env", "name", "merge", "map", ["name"]),
        (C + "Container", "ports", "containerPort", "merge", "map", ["containerPort", "protocol"]),
        (C + "Container", "volumeMounts", "mountPath", "merge", "map", ["mountPath"]),
        (C + "Container", "volumeDevices", "devicePath", "merge", "map", ["devicePath"]),
        (C + "Container", "envFrom", None, None, "atomic", None),
        (C + "Container", "command", None, None, "atomic", None),
        (C + "PodStatus", "conditions", "type", "merge", "map", ["type"]),
        (C + "PodStatus", "podIPs", "ip", "merge", "map", ["ip"]),
        (C + "PodStatus", "hostIPs", "ip", "merge", "atomic", None),
        (C + "PodStatus", "containerStatuses", None, None, "atomic", None),
        (C + "NodeStatus", "conditions", "type", "merge", "map", ["type"]),
        (C + "NodeStatus", "addresses", "type", "merge", "map", ["type"]),
        (C + "NodeSpec", "taints", None, None, "atomic", None),
        (C + "NodeSpec", "podCIDRs", None, "merge", "set", None),
        (C + "ServiceSpec", "ports", "port", "merge", "map", ["port", "protocol"]),
        (C + "ServiceAccount", "secrets", "name", "merge", "map", ["name"]),
        (C + "NamespaceStatus", "conditions", "type", "merge", "map", ["type"]),
        (M + "ObjectMeta", "ownerReferences", "uid", "merge", "map", ["uid"]),
        (M + "ObjectMeta", "finalizers", None, "merge", "set", None),
        (M + "ObjectMeta", "managedFields", None, None, "atomic", None),
        (A + "DeploymentStatus", "conditions", "type", "merge", "map", ["type"]),
        (A + "ReplicaSetStatus", "conditions", "type", "merge", "map", ["type"]),
        (A + "DaemonSetStatus", "conditions", "type", "merge", "map", ["type"]),
    ],
)
def test_list_and_patch_extensions_match_upstream(component, prop, merge_key, strategy, list_type, map_keys):
    node = schema.COMPONENTS[component]["properties"][prop]
    assert node["type"] == "array"
    assert node.get("x-kubernetes-patch-merge-key") == merge_key
    assert node.get("x-kubernetes-patch-strategy") == strategy
    assert node["x-kubernetes-list-type"] == list_type
    assert node.get("x-kubernetes-list-map-keys") == map_keys


def test_deployment_strategy_retains_keys_and_selectors_are_atomic_maps():
    assert schema.COMPONENTS[A + "DeploymentSpec"]["properties"]["strategy"][
        "x-kubernetes-patch-strategy"
    ] == ("retainKeys")
    assert schema.COMPONENTS[C + "PodSpec"]["properties"]["nodeSelector"]["x-kubernetes-map-type"] == "atomic"
    assert schema.COMPONENTS[C + "ServiceSpec"]["properties"]["selector"]["x-kubernetes-map-type"] == "atomic"
    for atomic in (
        M + "LabelSelector",
        M + "OwnerReference",
        C + "LocalObjectReference",
        C + "NodeSelector",
        C + "ObjectReference",
        "io.k8s.api.rbac.v1.RoleRef",
    ):
        assert schema.COMPONENTS[atomic]["x-kubernetes-map-type"] == "atomic", atomic


def test_list_map_keys_and_merge_keys_name_fields_of_the_items():
    checked = 0
    for name, prop, node in _properties():
        if node.get("type") != "array":
            continue
        if name.endswith("List") and prop == "items":
            assert "x-kubernetes-list-type" not in node  # as upstream: lists of objects carry none
        else:
            assert node.get("x-kubernetes-list-type") in ("atomic", "set", "map"), (name, prop)
        item = schema.resolve(node["items"])
        keys = [*node.get("x-kubernetes-list-map-keys", []), node.get("x-kubernetes-patch-merge-key")]
        for key in filter(None, keys):
            assert key in item.get("properties", {}), (name, prop, key)
            checked += 1
    assert checked > 30


def test_struct_properties_are_single_allof_references_with_upstream_defaults():
    pod = schema.kind_schema(C + "Pod")["properties"]
    assert pod["spec"]["allOf"] == [{"$ref": REF + C + "PodSpec"}]
    assert pod["spec"]["default"] == {}
    assert pod["spec"]["description"]
    container = schema.COMPONENTS[C + "Container"]["properties"]
    assert "default" not in container["livenessProbe"]  # a pointer: no zero value
    assert container["resources"]["default"] == {}
    assert container["name"]["default"] == ""
    assert schema.COMPONENTS[C + "ContainerPort"]["properties"]["protocol"]["default"] == "TCP"
    assert container["ports"]["items"] == {"allOf": [{"$ref": REF + C + "ContainerPort"}], "default": {}}
    assert container["args"]["items"] == {"default": "", "type": "string"}
    limits = schema.COMPONENTS[C + "ResourceRequirements"]["properties"]["limits"]
    assert limits["additionalProperties"] == {"$ref": REF + "io.k8s.apimachinery.pkg.api.resource.Quantity"}
    labels = schema.COMPONENTS[M + "ObjectMeta"]["properties"]["labels"]
    assert labels == {**labels, "type": "object", "additionalProperties": {"default": "", "type": "string"}}


def test_scalars_with_their_own_json_forms():
    int_or_string = schema.COMPONENTS["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert "type" not in int_or_string
    assert int_or_string["format"] == "int-or-string"
    assert int_or_string["x-kubernetes-int-or-string"] is True
    assert int_or_string["oneOf"] == [{"type": "integer"}, {"type": "string"}]
    assert schema.COMPONENTS["io.k8s.apimachinery.pkg.api.resource.Quantity"]["oneOf"] == [
        {"type": "string"},
        {"type": "number"},
    ]
    assert schema.COMPONENTS[M + "Time"] == {
        **schema.COMPONENTS[M + "Time"],
        "type": "string",
        "format": "date-time",
    }
    assert schema.COMPONENTS["io.k8s.apimachinery.pkg.runtime.RawExtension"][
        "x-kubernetes-preserve-unknown-fields"
    ]


def test_every_component_and_property_is_described_for_kubectl_explain():
    assert [n for n, c in schema.COMPONENTS.items() if not c.get("description")] == []
    assert [(n, p) for n, p, node in _properties() if len(node.get("description", "")) < 8] == []


def test_required_fields_exist():
    for name, component in schema.COMPONENTS.items():
        for field in component.get("required", []):
            assert field in component["properties"], (name, field)
    assert schema.COMPONENTS[C + "PodSpec"]["required"] == ["containers"]
    assert schema.COMPONENTS[C + "Container"]["required"] == ["name"]
    assert schema.COMPONENTS[A + "DeploymentSpec"]["required"] == ["selector", "template"]


def test_enums_are_listed_for_explain():
    container = schema.COMPONENTS[C + "Container"]["properties"]
    assert container["imagePullPolicy"]["enum"] == ["Always", "IfNotPresent", "Never"]
    assert schema.COMPONENTS[C + "PodSpec"]["properties"]["restartPolicy"]["enum"] == [
        "Always",
        "Never",
        "OnFailure",
    ]


def test_resolve_follows_refs_and_allof_and_leaves_other_nodes_alone():
    spec = schema.kind_schema(C + "Pod")["properties"]["spec"]
    assert schema.resolve(spec) is schema.COMPONENTS[C + "PodSpec"]
    assert schema.resolve({"$ref": REF + C + "Volume"}) is schema.COMPONENTS[C + "Volume"]
    plain = {"type": "string"}
    assert schema.resolve(plain) is plain
    assert schema.ref_name(plain) == ""
    with pytest.raises(KeyError):
        schema.kind_schema(C + "NoSuchKind")


def test_go_types_name_fields_as_go_reflect_prints_them():
    container = schema.GO_TYPES[C + "Container"]
    assert container["ports"] == "[]v1.ContainerPort"
    assert container["imagePullPolicy"] == "v1.PullPolicy"
    assert container["resources"] == "v1.ResourceRequirements"
    assert schema.GO_TYPES[C + "ResourceRequirements"]["limits"] == "v1.ResourceList"
    assert schema.GO_TYPES[M + "ObjectMeta"]["labels"] == "map[string]string"
    assert schema.GO_TYPES[C + "Secret"]["data"] == "map[string][]uint8"
    assert schema.GO_TYPES[C + "HTTPGetAction"]["port"] == "intstr.IntOrString"
