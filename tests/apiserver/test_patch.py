"""The three PATCH content types, checked against upstream kube-apiserver's behaviour and messages."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distro.apiserver.patch import json_patch, merge_patch, strategic_merge_patch
from distro.apiserver.status import StatusError

# ---------------------------------------------------------------------------------------------------
# A slice of the published OpenAPI v3 document, in its shape: properties point at components through
# allOf/$ref, arrays carry the patch extensions next to `items`.


def ref(name: str) -> dict:
    return {"allOf": [{"$ref": f"#/components/schemas/{name}"}], "default": {}}


def merge_list(item: dict, key: str | None = None, strategy: str = "merge") -> dict:
    node = {"type": "array", "items": item, "x-kubernetes-patch-strategy": strategy}
    if key is not None:
        node["x-kubernetes-patch-merge-key"] = key
    return node


STRING = {"type": "string", "default": ""}
STRING_MAP = {"type": "object", "additionalProperties": STRING}

COMPONENTS: dict[str, dict] = {
    "Deployment": {"properties": {"metadata": ref("ObjectMeta"), "spec": ref("DeploymentSpec")}},
    "Pod": {
        "properties": {"metadata": ref("ObjectMeta"), "spec": ref("PodSpec"), "status": ref("PodStatus")}
    },
    "ObjectMeta": {
        "properties": {
            "name": STRING,
            "labels": STRING_MAP,
            "annotations": STRING_MAP,
            "finalizers": merge_list(STRING),
            "ownerReferences": merge_list(ref("OwnerReference"), "uid"),
        }
    },
    "OwnerReference": {"properties": {"uid": STRING, "name": STRING, "kind": STRING}},
    "DeploymentSpec": {
        "properties": {
            "replicas": {"type": "integer"},
            "strategy": {**ref("DeploymentStrategy"), "x-kubernetes-patch-strategy": "retainKeys"},
            "template": ref("PodTemplateSpec"),
        }
    },
    "DeploymentStrategy": {"properties": {"type": STRING, "rollingUpdate": ref("RollingUpdateDeployment")}},
    "RollingUpdateDeployment": {"properties": {"maxSurge": {}, "maxUnavailable": {}}},
    "PodTemplateSpec": {"properties": {"metadata": ref("ObjectMeta"), "spec": ref("PodSpec")}},
    "PodSpec": {
        "properties": {
            "containers": merge_list(ref("Container"), "name"),
            "volumes": merge_list(ref("Volume"), "name", "merge,retainKeys"),
            "tolerations": {"type": "array", "items": ref("Toleration")},
            "nodeSelector": STRING_MAP,
        }
    },
    "Container": {
        "properties": {
            "name": STRING,
            "image": STRING,
            "args": {"type": "array", "items": STRING},
            "env": merge_list(ref("EnvVar"), "name"),
            "ports": merge_list(ref("ContainerPort"), "containerPort"),
            "volumeMounts": merge_list(ref("VolumeMount"), "mountPath"),
        }
    },
    "EnvVar": {"properties": {"name": STRING, "value": STRING}},
    "ContainerPort": {"properties": {"containerPort": {"type": "integer"}, "protocol": STRING}},
    "VolumeMount": {"properties": {"mountPath": STRING, "name": STRING}},
    "Volume": {
        "properties": {"name": STRING, "emptyDir": {"type": "object"}, "hostPath": {"type": "object"}}
    },
    "Toleration": {"properties": {"key": STRING, "operator": STRING}},
    "PodStatus": {"properties": {"conditions": merge_list(ref("PodCondition"), "type")}},
    "PodCondition": {"properties": {"type": STRING, "status": STRING}},
}


def resolve(node: dict) -> dict:
    target = node["allOf"][0] if "allOf" in node else node
    return COMPONENTS[target["$ref"].removeprefix("#/components/schemas/")]


DEPLOYMENT = resolve({"$ref": "#/components/schemas/Deployment"})
POD = resolve({"$ref": "#/components/schemas/Pod"})


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def smp(original: dict, patch: Any, schema: dict | None = POD) -> dict:
    return strategic_merge_patch(original, body(patch), schema, resolve)


def pod_with(containers: list[dict]) -> dict:
    return {"metadata": {"name": "p"}, "spec": {"containers": containers}}


def names(items: list[dict], key: str = "name") -> list:
    return [item[key] for item in items]


@contextmanager
def expect_status(code: int, reason: str, message: str | None = None) -> Iterator[pytest.ExceptionInfo]:
    with pytest.raises(StatusError) as raised:
        yield raised
    error = raised.value
    assert (error.code, error.reason) == (code, reason), error.message
    if message is not None:
        assert error.message == message


GENERIC_422 = "the server rejected our request due to an error in our request"

# ---------------------------------------------------------------------------------------------------
# application/json-patch+json


CONFIGMAP = {"kind": "ConfigMap", "metadata": {"name": "cm", "labels": {"a": "1"}}, "data": {"k": "v"}}


def test_json_patch_applies_each_rfc6902_operation() -> None:
    patch = [
        {"op": "test", "path": "/data/k", "value": "v"},
        {"op": "add", "path": "/data/new", "value": "n"},
        {"op": "replace", "path": "/metadata/labels/a", "value": "2"},
        {"op": "copy", "from": "/data/new", "path": "/data/copied"},
        {"op": "move", "from": "/data/k", "path": "/data/moved"},
        {"op": "remove", "path": "/data/new"},
    ]
    result = json_patch(CONFIGMAP, body(patch))
    assert result["data"] == {"copied": "n", "moved": "v"}
    assert result["metadata"]["labels"] == {"a": "2"}


def test_json_patch_array_indices_follow_the_library() -> None:
    original = {"items": ["a", "b"]}
    patch = [
        {"op": "add", "path": "/items/-", "value": "end"},
        {"op": "add", "path": "/items/0", "value": "first"},
        {"op": "add", "path": "/items/-1", "value": "negative means from the end"},
        {"op": "remove", "path": "/items/-2"},
    ]
    assert json_patch(original, body(patch))["items"] == ["first", "a", "b", "negative means from the end"]


def test_json_patch_unescapes_pointer_tokens() -> None:
    original = {"metadata": {"annotations": {"example.com/owner": "x", "a~b": "y"}}}
    patch = [
        {"op": "replace", "path": "/metadata/annotations/example.com~1owner", "value": "z"},
        {"op": "remove", "path": "/metadata/annotations/a~0b"},
    ]
    assert json_patch(original, body(patch))["metadata"]["annotations"] == {"example.com/owner": "z"}


def test_json_patch_keeps_the_library_quirks() -> None:
    # json-patch v4: replace of an absent member adds it, copy from an absent member adds null,
    # and an op's missing value is null.
    patch = [
        {"op": "replace", "path": "/data/absent", "value": "added"},
        {"op": "copy", "from": "/data/nothing", "path": "/data/null"},
        {"op": "add", "path": "/data/novalue"},
    ]
    assert json_patch(CONFIGMAP, body(patch))["data"] == {
        "k": "v",
        "absent": "added",
        "null": None,
        "novalue": None,
    }


def test_json_patch_test_of_null_matches_an_absent_member() -> None:
    patch = [
        {"op": "test", "path": "/data/absent", "value": None},
        {"op": "add", "path": "/data/x", "value": 1},
    ]
    assert json_patch(CONFIGMAP, body(patch))["data"]["x"] == 1


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "test", "path": "/data/k", "value": "other"},
        {"op": "test", "path": "/data/k", "value": ["v"]},
        {"op": "remove", "path": "/data/absent"},
        {"op": "add", "path": "/spec/absent/parent", "value": 1},
        {"op": "add", "path": "/metadata/name/inside/a/string", "value": 1},
        {"op": "move", "from": "/data/absent", "path": "/data/x"},
        {"op": "add", "path": "no-leading-slash", "value": 1},
        {"op": "add", "value": 1},
        {"op": "frobnicate", "path": "/data/k"},
        {"path": "/data/k"},
    ],
)
def test_json_patch_operation_that_does_not_apply_is_a_bare_422(operation: dict) -> None:
    # kube-apiserver wraps the library error with NewGenericServerResponse(422, ...), dropping its text.
    with expect_status(422, "Invalid", GENERIC_422) as raised:
        json_patch(CONFIGMAP, body([operation]))
    assert raised.value.details == {}


@pytest.mark.parametrize(
    ("patch", "index"),
    [
        ({"op": "add", "path": "/items/3"}, 3),
        ({"op": "replace", "path": "/items/2"}, 2),
        ({"op": "remove"}, "x"),
    ],
)
def test_json_patch_bad_array_index_is_422(patch: dict, index: Any) -> None:
    patch = {"path": f"/items/{index}", "value": 0, **patch}
    with expect_status(422, "Invalid", GENERIC_422):
        json_patch({"items": [1, 2]}, body([patch]))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "unexpected end of JSON input"),
        (b'[{"op": "add"', "unexpected end of JSON input"),
        (b"[{op: 1}]", "invalid character 'o' looking for beginning of object key string"),
        (b"[1 2]", "invalid character '2' after array element"),
        (b"[tru]", "invalid character ']' in literal true (expecting 'e')"),
        (b"[-x]", "invalid character 'x' in numeric literal"),
        (b"[] []", "invalid character '[' after top-level value"),
        (b"[NaN]", "invalid character 'N' looking for beginning of value"),
        (b"{}", "json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp"),
        (b'["add"]', "json: cannot unmarshal string into Go value of type handlers.jsonPatchOp"),
        (
            b'[{"op": ["add"]}]',
            "json: cannot unmarshal array into Go struct field jsonPatchOp.op of type string",
        ),
        (
            b'[{"op": "add", "path": 7}]',
            "json: cannot unmarshal number into Go struct field jsonPatchOp.path of type string",
        ),
        (
            b'[{"op": "add", "path": "/a", "value": 1e999}]',
            "json: cannot unmarshal number 1e999 into Go struct field jsonPatchOp.value of type float64",
        ),
    ],
)
def test_json_patch_undecodable_body_is_400_with_go_message(raw: bytes, message: str) -> None:
    with expect_status(400, "BadRequest", f"error decoding patch: {message}"):
        json_patch(CONFIGMAP, raw)


def test_json_patch_null_body_changes_nothing() -> None:
    assert json_patch(CONFIGMAP, b"null") == CONFIGMAP


def test_json_patch_operation_count_is_limited() -> None:
    operations = [{"op": "test", "path": "/kind", "value": "ConfigMap"}] * 10001
    with expect_status(
        413,
        "RequestEntityTooLarge",
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001",
    ):
        json_patch(CONFIGMAP, body(operations))
    assert json_patch(CONFIGMAP, body(operations[:10000])) == CONFIGMAP


def test_json_patch_copies_are_limited_to_three_mebibytes() -> None:
    original = {"data": {"big": "x" * (1024 * 1024)}}
    copies = [{"op": "copy", "from": "/data/big", "path": f"/data/c{i}"} for i in range(3)]
    assert len(json_patch(original, body(copies[:2]))["data"]) == 3
    with expect_status(422, "Invalid", GENERIC_422):
        json_patch(original, body(copies))


def test_json_patch_result_that_is_not_an_object_is_invalid() -> None:
    patch = [{"op": "replace", "path": "", "value": [1, "<b>"]}]
    with expect_status(422, "Invalid") as raised:
        json_patch(CONFIGMAP, body(patch))
    error = raised.value
    assert error.message.startswith(' "" is invalid: patch: Invalid value: "[1,\\"\\\\u003cb\\\\u003e\\"]": ')
    assert "couldn't get version/kind" in error.message
    assert error.details is not None
    assert error.details["causes"][0]["field"] == "patch"


def test_json_patch_does_not_mutate_its_input() -> None:
    original = copy.deepcopy(CONFIGMAP)
    result = json_patch(original, body([{"op": "add", "path": "/metadata/labels/b", "value": "2"}]))
    assert original == CONFIGMAP
    assert result["metadata"]["labels"] == {"a": "1", "b": "2"}


# ---------------------------------------------------------------------------------------------------
# application/merge-patch+json


@pytest.mark.parametrize(
    ("original", "patch", "expected"),
    [  # RFC 7386 appendix A, the cases whose target is an object
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_rfc7386_examples(original: dict, patch: dict, expected: dict) -> None:
    assert merge_patch(original, body(patch)) == expected


def test_merge_patch_prunes_nulls_like_the_library() -> None:
    # Over a non-object the new value is pruned (inside arrays too); over an object it is taken as is.
    patch = {"a": [{"b": None, "c": 1}, None]}
    assert merge_patch({"a": 1}, body(patch)) == {"a": [{"c": 1}, None]}
    assert merge_patch({"a": {"x": 1}}, body(patch)) == {"a": [{"b": None, "c": 1}, None]}


def test_merge_patch_null_body_is_invalid_json_patch() -> None:
    with expect_status(400, "BadRequest", "Invalid JSON Patch"):
        merge_patch(CONFIGMAP, b"null")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"[]", "json: cannot unmarshal array into Go value of type map[string]interface {}"),
        (b'"x"', "json: cannot unmarshal string into Go value of type map[string]interface {}"),
        (b'{"a":}', "invalid character '}' looking for beginning of value"),
        (b'{"a" 1}', "invalid character '1' after object key"),
        (b'{"a":1e400}', "json: cannot unmarshal number 1e400 into Go value of type float64"),
    ],
)
def test_merge_patch_undecodable_body_is_400(raw: bytes, message: str) -> None:
    with expect_status(400, "BadRequest", f"error decoding patch: {message}"):
        merge_patch(CONFIGMAP, raw)


def test_merge_patch_does_not_mutate_its_input() -> None:
    original = copy.deepcopy(CONFIGMAP)
    merge_patch(original, body({"metadata": {"labels": {"a": None}}, "data": {"k": "w"}}))
    assert original == CONFIGMAP


# ---------------------------------------------------------------------------------------------------
# application/strategic-merge-patch+json: what kubectl sends


def deployment(containers: list[dict], strategy: dict | None = None) -> dict:
    spec: dict = {
        "replicas": 1,
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": containers}},
    }
    if strategy is not None:
        spec["strategy"] = strategy
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": spec}


def test_kubectl_reapply_with_a_new_image_changes_only_that_container() -> None:
    original = deployment(
        [
            {"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]},
            {"name": "sidecar", "image": "envoy:1", "args": ["--a"]},
        ]
    )
    patch = {
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{...}"}},
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "web"}, {"name": "sidecar"}],
                    "containers": [{"image": "nginx:1.26", "name": "web"}],
                }
            }
        },
    }
    result = smp(original, patch, DEPLOYMENT)
    containers = result["spec"]["template"]["spec"]["containers"]
    assert containers == [
        {"name": "web", "image": "nginx:1.26", "ports": [{"containerPort": 80}]},
        {"name": "sidecar", "image": "envoy:1", "args": ["--a"]},
    ]
    assert "kubectl.kubernetes.io/last-applied-configuration" in result["metadata"]["annotations"]


def test_deleting_an_env_var_with_patch_delete() -> None:
    env = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}]
    original = pod_with([{"name": "app", "image": "busybox", "env": env}])
    plain = {"spec": {"containers": [{"name": "app", "env": [{"name": "B", "$patch": "delete"}]}]}}
    assert smp(original, plain)["spec"]["containers"][0]["env"] == [env[0], env[2]]
    # kubectl apply's form of the same change carries the order lists too.
    applied = {
        "spec": {
            "$setElementOrder/containers": [{"name": "app"}],
            "containers": [
                {
                    "$setElementOrder/env": [{"name": "A"}, {"name": "C"}],
                    "env": [{"$patch": "delete", "name": "B"}],
                    "name": "app",
                }
            ],
        }
    }
    assert smp(original, applied)["spec"]["containers"][0] == {
        "name": "app",
        "image": "busybox",
        "env": [env[0], env[2]],
    }


@pytest.mark.parametrize("with_null", [False, True])
def test_retain_keys_switches_rolling_update_to_recreate(with_null: bool) -> None:
    rolling = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}
    original = deployment([{"name": "web", "image": "nginx"}], rolling)
    strategy: dict = {"$retainKeys": ["type"], "type": "Recreate"}
    if with_null:
        strategy["rollingUpdate"] = None
    result = smp(original, {"spec": {"strategy": strategy}}, DEPLOYMENT)
    assert result["spec"]["strategy"] == {"type": "Recreate"}
    assert result["spec"]["replicas"] == 1


def test_retain_keys_clears_unlisted_volume_source() -> None:
    original = pod_with([])
    original["spec"]["volumes"] = [{"name": "data", "emptyDir": {}}]
    patch = {
        "spec": {
            "volumes": [{"$retainKeys": ["hostPath", "name"], "name": "data", "hostPath": {"path": "/d"}}]
        }
    }
    assert smp(original, patch)["spec"]["volumes"] == [{"name": "data", "hostPath": {"path": "/d"}}]


# ---------------------------------------------------------------------------------------------------
# Strategic merge patch: merge keys, strategies and directives


def test_lists_of_maps_merge_by_their_merge_keys() -> None:
    original = pod_with(
        [
            {
                "name": "app",
                "ports": [{"containerPort": 80, "protocol": "TCP"}],
                "volumeMounts": [{"mountPath": "/data", "name": "data"}],
            }
        ]
    )
    patch = {
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "ports": [{"containerPort": 80, "protocol": "UDP"}],
                    "volumeMounts": [{"mountPath": "/data", "name": "other"}],
                }
            ]
        }
    }
    container = smp(original, patch)["spec"]["containers"][0]
    assert container["ports"] == [{"containerPort": 80, "protocol": "UDP"}]
    assert container["volumeMounts"] == [{"mountPath": "/data", "name": "other"}]


def test_conditions_merge_by_type_and_owner_references_by_uid() -> None:
    original = {
        "metadata": {"ownerReferences": [{"uid": "u1", "name": "rs-1", "kind": "ReplicaSet"}]},
        "status": {
            "conditions": [{"type": "Ready", "status": "False"}, {"type": "Initialized", "status": "True"}]
        },
    }
    patch = {
        "metadata": {"ownerReferences": [{"uid": "u1", "name": "rs-renamed"}]},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    result = smp(original, patch)
    assert result["metadata"]["ownerReferences"] == [
        {"uid": "u1", "name": "rs-renamed", "kind": "ReplicaSet"}
    ]
    assert result["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "Initialized", "status": "True"},
    ]


def test_new_list_item_without_an_order_list_goes_first_as_upstream_places_it() -> None:
    # Upstream interleaves patch items with live items only where both are in the live list, so an
    # item it has never seen lands in front (kustomize documents the same "prepend").
    original = pod_with([{"name": "a"}, {"name": "b"}])
    result = smp(original, {"spec": {"containers": [{"name": "new"}]}})
    assert names(result["spec"]["containers"]) == ["new", "a", "b"]


def test_order_of_items_follows_the_patch_then_the_live_list() -> None:
    # From upstream's "preserve the order from the patch in a merging int list".
    original = {"metadata": {"finalizers": ["1", "2", "3"]}}
    finalizers = smp(original, {"metadata": {"finalizers": ["3", "1"]}})["metadata"]["finalizers"]
    assert finalizers == ["2", "3", "1"]


def test_set_element_order_alone_reorders_a_list() -> None:
    original = pod_with([{"name": "a", "image": "i"}, {"name": "b"}, {"name": "c"}])
    patch = {"spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}}
    assert smp(original, patch)["spec"]["containers"] == [
        {"name": "c"},
        {"name": "a", "image": "i"},
        {"name": "b"},
    ]


def test_set_element_order_with_delete_and_add_matches_upstream() -> None:
    # Upstream's "add map and delete map from merging list" three-way case; the result depends on the
    # deletion shifting the live list in place before the order is applied.
    original = pod_with([{"name": "1"}, {"name": "2", "image": "b"}, {"name": "4", "image": "c"}])
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "2"}, {"name": "3"}],
            "containers": [{"name": "3"}, {"name": "1", "$patch": "delete"}],
        }
    }
    assert names(smp(original, patch)["spec"]["containers"]) == ["2", "4", "3"]


def test_primitive_merge_list_is_a_union() -> None:
    original = {"metadata": {"finalizers": ["a", "b"]}}
    finalizers = smp(original, {"metadata": {"finalizers": ["b", "c"]}})["metadata"]["finalizers"]
    assert finalizers == ["a", "b", "c"]


def test_delete_from_primitive_list() -> None:
    original = {"metadata": {"finalizers": ["a", "b", "c"]}}
    patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "absent"]}}
    assert smp(original, patch)["metadata"]["finalizers"] == ["a", "c"]


def test_lists_without_merge_strategy_are_replaced() -> None:
    original = pod_with([{"name": "app", "args": ["a", "b"]}])
    original["spec"]["tolerations"] = [{"key": "k1"}, {"key": "k2"}]
    patch = {"spec": {"tolerations": [{"key": "k3"}], "containers": [{"name": "app", "args": ["c"]}]}}
    result = smp(original, patch)
    assert result["spec"]["tolerations"] == [{"key": "k3"}]
    assert result["spec"]["containers"][0]["args"] == ["c"]


def test_null_deletes_a_key_and_new_values_lose_their_nulls() -> None:
    original = {"metadata": {"labels": {"a": "1", "b": "2"}}}
    patch = {"metadata": {"labels": {"a": None}, "annotations": {"x": "1", "y": None}}}
    assert smp(original, patch)["metadata"] == {"labels": {"b": "2"}, "annotations": {"x": "1"}}


def test_map_directives_replace_and_delete() -> None:
    original = {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"nodeSelector": {"disk": "ssd"}}}
    patch = {
        "metadata": {"labels": {"$patch": "replace", "c": "3"}},
        "spec": {"nodeSelector": {"$patch": "delete"}},
    }
    result = smp(original, patch)
    assert result["metadata"]["labels"] == {"c": "3"}
    assert result["spec"]["nodeSelector"] == {}


def test_list_replace_directive_makes_the_patch_the_list() -> None:
    original = pod_with([{"name": "a", "image": "x"}, {"name": "b"}])
    patch = {"spec": {"containers": [{"$patch": "replace"}, {"name": "c"}, {"name": "a"}]}}
    assert smp(original, patch)["spec"]["containers"] == [{"name": "c"}, {"name": "a"}]


def test_leftover_directive_keys_are_dropped_from_the_result() -> None:
    # Upstream decodes the result into a Go struct, which has no field for them.
    patch = {
        "spec": {
            "containers": [{"name": "new", "$setElementOrder/env": [{"name": "A"}], "env": [{"name": "A"}]}]
        }
    }
    container = smp(pod_with([]), patch)["spec"]["containers"][0]
    assert container == {"name": "new", "env": [{"name": "A"}]}


def test_fields_without_schema_fall_back_to_merge_semantics() -> None:
    original = {"spec": {"custom": {"list": [1, 2], "keep": True}}, "extra": [{"name": "a", "v": 1}]}
    patch = {"spec": {"custom": {"list": [3]}}, "extra": [{"name": "a", "v": 2}]}
    assert smp(original, patch) == {
        "spec": {"custom": {"list": [3], "keep": True}},
        "extra": [{"name": "a", "v": 2}],
    }


def test_without_schema_it_behaves_like_merge_patch_but_honours_directives() -> None:
    original = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}
    patch = {"a": {"b": None, "c": [3]}, "e": {"f": None, "g": 1}}
    assert (
        smp(original, patch, None)
        == merge_patch(original, body(patch))
        == {"a": {"c": [3]}, "d": "x", "e": {"g": 1}}
    )
    assert smp(original, {"a": {"$patch": "delete"}}, None) == {"a": {}, "d": "x"}


def test_strategic_merge_patch_does_not_mutate_its_input() -> None:
    original = pod_with([{"name": "a", "env": [{"name": "A"}]}, {"name": "b"}])
    snapshot = copy.deepcopy(original)
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "b"}],
            "containers": [{"name": "a", "$patch": "delete"}],
        }
    }
    assert names(smp(original, patch)["spec"]["containers"]) == ["b"]
    assert original == snapshot


# ---------------------------------------------------------------------------------------------------
# Strategic merge patch errors: upstream's codes and messages


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (
            {"metadata": {"labels": {"$patch": "frob", "a": "1"}}},
            "unknown patch type: frob in map: map[$patch:frob a:1]",
        ),
        ({"metadata": {"$patch": 5}}, "unknown patch type: %!s(int64=5) in map: map[$patch:5]"),
        (
            {"spec": {"containers": [{"name": "a", "$patch": "merge"}]}},
            "merging lists cannot yet be specified in the patch",
        ),
        (
            {"spec": {"containers": [{"name": "a", "$patch": "bogus"}]}},
            "unknown patch type: bogus in map: map[$patch:bogus name:a]",
        ),
        (
            {"spec": {"containers": [{"image": "x"}]}},
            "map: map[image:x] does not contain declared merge key: name",
        ),
        (
            {"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "b"}]}},
            "The order in patch list:\n[map[name:b]]\n doesn't match $setElementOrder list:\n[map[name:a]]\n",
        ),
        (
            {"metadata": {"finalizers": ["x", 1]}},
            "list element types are not identical: [[f] [x 1]]",
        ),
    ],
)
def test_smp_plain_errors_are_500_with_the_upstream_message(patch: dict, message: str) -> None:
    original = pod_with([{"name": "a"}])
    original["metadata"].update({"labels": {"a": "0"}, "finalizers": ["f"]})
    with expect_status(500, "", message):
        smp(original, patch)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"metadata": {"$retainKeys": "name"}}, "invalid patch format of retainKeys"),
        ({"metadata": {"$retainKeys": ["name"], "labels": {"a": "b"}}}, "invalid patch format of retainKeys"),
        ({"metadata": {"$setElementOrderfinalizers": []}}, "invalid patch format of setElementOrder list"),
        ({"metadata": {"$deleteFromPrimitiveList": ["a"]}}, "invalid patch format of primitive list"),
    ],
)
def test_smp_malformed_directives_are_400(patch: dict, message: str) -> None:
    with expect_status(400, "BadRequest", message):
        smp({"metadata": {"name": "x", "finalizers": ["a"]}}, patch)


def test_smp_list_of_lists_is_a_bare_422() -> None:
    with expect_status(422, "Invalid", GENERIC_422):
        smp({"metadata": {"finalizers": [["a"]]}}, {"metadata": {"finalizers": [["b"]]}})


def test_smp_comparing_map_valued_merge_keys_is_upstreams_panic() -> None:
    original = pod_with([{"name": {"not": "a string"}}])
    with expect_status(500, "InternalError"):
        smp(original, {"spec": {"containers": [{"name": {"not": "a string"}}]}})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{", "unexpected end of JSON input"),
        (b"[]", "json: cannot unmarshal array into Go value of type map[string]interface {}"),
        (b'{"a": tru}', "invalid character '}' in literal true (expecting 'e')"),
        (b'{"a": "\\q"}', "invalid character 'q' in string escape code"),
    ],
)
def test_smp_undecodable_body_is_400_without_prefix(raw: bytes, message: str) -> None:
    with expect_status(400, "BadRequest", message):
        strategic_merge_patch({}, raw, POD, resolve)


def test_smp_null_body_changes_nothing() -> None:
    original = pod_with([{"name": "a"}])
    assert strategic_merge_patch(original, b"null", POD, resolve) == original


# ---------------------------------------------------------------------------------------------------
# Any input: a new object or a StatusError, and the original untouched

KEYS = st.sampled_from(
    [
        "name",
        "image",
        "metadata",
        "spec",
        "containers",
        "env",
        "finalizers",
        "labels",
        "strategy",
        "type",
        "$patch",
        "$retainKeys",
        "$setElementOrder/containers",
        "$setElementOrder/finalizers",
        "$deleteFromPrimitiveList/finalizers",
        "$setElementOrder",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False, width=16),
    st.sampled_from(["a", "b", "replace", "delete", "merge", "retainKeys"]),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)
OBJECTS = st.dictionaries(KEYS, JSON_VALUES, max_size=5)
POINTERS = st.lists(
    st.sampled_from(["", "a", "name", "spec", "0", "1", "-1", "-", "~1", "~0x"]), max_size=3
).map(lambda tokens: "".join("/" + token for token in tokens))
OPERATIONS = st.lists(
    st.fixed_dictionaries(
        {
            "op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "other"]),
            "path": POINTERS,
        },
        optional={"from": POINTERS, "value": JSON_VALUES},
    ),
    max_size=5,
)
BODIES = st.one_of(
    JSON_VALUES.map(body),
    st.binary(max_size=40),
    st.text(alphabet='{}[]":,1e-tn\\u ', max_size=20).map(str.encode),
)


def outcome(run) -> dict | StatusError:
    try:
        result = run()
    except StatusError as error:
        return error
    assert isinstance(result, dict)
    return result


@settings(max_examples=300, deadline=None)
@given(original=OBJECTS, patch=BODIES, use_schema=st.booleans())
def test_any_body_yields_an_object_or_a_status(original: dict, patch: bytes, use_schema: bool) -> None:
    snapshot = copy.deepcopy(original)
    outcome(lambda: merge_patch(original, patch))
    outcome(lambda: json_patch(original, patch))
    outcome(lambda: strategic_merge_patch(original, patch, POD if use_schema else None, resolve))
    assert original == snapshot


@settings(max_examples=300, deadline=None)
@given(original=OBJECTS, patch=OBJECTS, schema=st.sampled_from([POD, DEPLOYMENT, None]))
def test_any_strategic_patch_yields_an_object_or_a_status(
    original: dict, patch: dict, schema: dict | None
) -> None:
    snapshot = copy.deepcopy(original)
    result = outcome(lambda: strategic_merge_patch(original, body(patch), schema, resolve))
    assert original == snapshot
    if isinstance(result, dict):
        json.dumps(result)  # still plain JSON
        assert result is not original


@settings(max_examples=300, deadline=None)
@given(original=OBJECTS, operations=OPERATIONS)
def test_any_json_patch_yields_an_object_or_a_status(original: dict, operations: list[dict]) -> None:
    snapshot = copy.deepcopy(original)
    result = outcome(lambda: json_patch(original, body(operations)))
    assert original == snapshot
    if isinstance(result, StatusError):
        assert result.code in (422, 500)
