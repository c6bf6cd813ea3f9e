"""Server-side apply and managedFields tracking against a small upstream-shaped schema."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from distro.apiserver.apply import apply, track_update
from distro.apiserver.status import StatusError

REF = "#/components/schemas/"
T1, T2, T3 = "2024-05-01T10:00:00Z", "2024-05-01T10:01:00Z", "2024-05-01T10:02:00Z"


def _ref(name: str, **extra: Any) -> dict:
    # properties reference structs the way upstream's v3 documents do: a single-element allOf
    return {"allOf": [{"$ref": REF + name}], **extra}


_STR = {"type": "string"}
_INT = {"type": "integer"}
_STR_MAP = {"type": "object", "additionalProperties": _STR}

COMPONENTS: dict[str, dict] = {
    "Deployment": {
        "type": "object",
        "properties": {
            "apiVersion": _STR,
            "kind": _STR,
            "metadata": _ref("ObjectMeta", default={}),
            "spec": _ref("DeploymentSpec", default={}),
            "status": _ref("DeploymentStatus", default={}),
        },
    },
    "ObjectMeta": {
        "type": "object",
        "properties": {
            "name": _STR,
            "namespace": _STR,
            "uid": _STR,
            "resourceVersion": _STR,
            "generation": _INT,
            "creationTimestamp": {"type": "string", "format": "date-time"},
            "labels": _STR_MAP,
            "annotations": _STR_MAP,
            "finalizers": {"type": "array", "items": _STR, "x-kubernetes-list-type": "set"},
            "managedFields": {"type": "array", "items": {"type": "object"}},
        },
    },
    "DeploymentSpec": {
        "type": "object",
        "required": ["selector", "template"],
        "properties": {
            "replicas": _INT,
            "progressDeadlineSeconds": _INT,
            "selector": _ref("LabelSelector"),
            "template": _ref("PodTemplateSpec", default={}),
            "strategy": _ref("DeploymentStrategy", default={}),
        },
    },
    "DeploymentStrategy": {
        "type": "object",
        "properties": {"type": _STR, "rollingUpdate": _ref("RollingUpdateDeployment")},
    },
    "RollingUpdateDeployment": {
        "type": "object",
        "properties": {"maxSurge": {"x-kubernetes-int-or-string": True}},
    },
    "LabelSelector": {
        "type": "object",
        "x-kubernetes-map-type": "atomic",
        "properties": {"matchLabels": _STR_MAP},
    },
    "PodTemplateSpec": {
        "type": "object",
        "properties": {"metadata": _ref("ObjectMeta", default={}), "spec": _ref("PodSpec", default={})},
    },
    "PodSpec": {
        "type": "object",
        "required": ["containers"],
        "properties": {
            "containers": {
                "type": "array",
                "items": _ref("Container", default={}),
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
            },
            "securityContext": _ref("PodSecurityContext"),
            "nodeSelector": {**_STR_MAP, "x-kubernetes-map-type": "atomic"},
        },
    },
    "PodSecurityContext": {"type": "object", "properties": {"runAsUser": _INT}},
    "Container": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": _STR,
            "image": _STR,
            "args": {"type": "array", "items": _STR},
            "env": {
                "type": "array",
                "items": _ref("EnvVar", default={}),
                "x-kubernetes-patch-merge-key": "name",
            },
            "ports": {
                "type": "array",
                "items": _ref("ContainerPort", default={}),
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["containerPort", "protocol"],
            },
        },
    },
    "EnvVar": {"type": "object", "properties": {"name": _STR, "value": _STR}},
    "ContainerPort": {
        "type": "object",
        "required": ["containerPort"],
        "properties": {
            "containerPort": _INT,
            "name": _STR,
            "protocol": {"type": "string", "default": "TCP"},
        },
    },
    "DeploymentStatus": {"type": "object", "properties": {"replicas": _INT}},
}
SCHEMA = {"$ref": REF + "Deployment"}


def resolve(node: dict) -> dict:
    if "$ref" in node:
        return COMPONENTS[node["$ref"].removeprefix(REF)]
    return node["allOf"][0]


def deployment(replicas: int | None = 2, image: str = "nginx:1.25", **spec_extra: Any) -> dict:
    container: dict = {"name": "nginx", "image": image, "ports": [{"containerPort": 80}]}
    spec: dict = {
        "selector": {"matchLabels": {"app": "nginx"}},
        "template": {"metadata": {"labels": {"app": "nginx"}}, "spec": {"containers": [container]}},
        **spec_extra,
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx", "namespace": "default", "labels": {"app": "nginx"}},
        "spec": spec,
    }


def do_apply(
    live: dict | None,
    applied: dict,
    manager: str = "kubectl",
    *,
    force: bool = False,
    now: str = T1,
    **kw: Any,
) -> dict:
    return apply(
        live, applied, manager=manager, force=force, api_version="apps/v1", schema=SCHEMA, resolve=resolve,
        now=now, **kw,
    )  # fmt: skip


def do_update(live: dict | None, new: dict, manager: str, *, now: str = T1, **kw: Any) -> dict:
    return track_update(
        live, new, manager=manager, operation="Update", api_version="apps/v1", schema=SCHEMA, resolve=resolve,
        now=now, **kw,
    )  # fmt: skip


def stored(obj: dict, uid: str = "u-1") -> dict:
    """What storage hands back: the object with its system metadata."""
    out = copy.deepcopy(obj)
    out["metadata"].update(uid=uid, resourceVersion="7", creationTimestamp=T1, generation=1)
    return out


def entries(obj: dict) -> dict[str, dict]:
    return {e["manager"]: e for e in obj["metadata"].get("managedFields", [])}


def fields(obj: dict, manager: str) -> dict:
    return entries(obj)[manager]["fieldsV1"]


def containers(obj: dict) -> list[dict]:
    return obj["spec"]["template"]["spec"]["containers"]


def conflict_of(excinfo: pytest.ExceptionInfo[StatusError]) -> tuple[int, str, str, dict | None]:
    e = excinfo.value
    return e.code, e.reason, e.message, e.details


# ---------------------------------------------------------------- create, re-apply, prune


def test_create_via_apply_records_upstreams_fieldsv1() -> None:
    config = deployment()
    config["metadata"]["finalizers"] = ["example.com/hold"]
    obj = do_apply(None, config)

    assert obj["spec"]["replicas"] == 2
    assert containers(obj) == [{"name": "nginx", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}]
    [entry] = obj["metadata"]["managedFields"]
    assert list(entry) == ["manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1"]
    header = (entry["manager"], entry["operation"], entry["apiVersion"], entry["time"], entry["fieldsType"])
    assert header == ("kubectl", "Apply", "apps/v1", T1, "FieldsV1")
    expected = {
        "f:metadata": {"f:finalizers": {'v:"example.com/hold"': {}}, "f:labels": {"f:app": {}}},
        "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:containers": {
                        'k:{"name":"nginx"}': {
                            ".": {},
                            "f:image": {},
                            "f:name": {},
                            "f:ports": {
                                'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}
                            },
                        }
                    }
                },
            },
        },
    }
    # key order is part of the wire format: "." first, then fields, keys, values in upstream's order
    assert json.dumps(entry["fieldsV1"]) == json.dumps(expected)


def test_reapply_is_a_no_op_and_keeps_the_time() -> None:
    live = stored(do_apply(None, deployment(), now=T1))
    again = do_apply(live, deployment(), now=T2)
    assert again == live


def test_field_dropped_from_the_config_is_removed() -> None:
    live = do_apply(None, deployment(replicas=3))
    live = stored(live)
    live["spec"]["progressDeadlineSeconds"] = 600  # a default nobody owns
    config = deployment(replicas=None)
    del config["metadata"]["labels"]

    obj = do_apply(live, config, now=T2)

    assert "replicas" not in obj["spec"]
    assert "labels" not in obj["metadata"]
    assert obj["spec"]["progressDeadlineSeconds"] == 600
    assert obj["metadata"]["uid"] == "u-1"
    mine = fields(obj, "kubectl")
    assert "f:replicas" not in mine["f:spec"]
    assert "f:metadata" not in mine
    assert entries(obj)["kubectl"]["time"] == T2


def test_dropped_list_item_goes_but_other_managers_items_stay() -> None:
    first = deployment()
    containers(first).append({"name": "sidecar", "image": "busybox"})
    live = stored(do_apply(None, first, "ci"))
    other = deployment()
    other["spec"]["template"]["spec"]["containers"] = [{"name": "logger", "image": "fluentd"}]
    live = stored(do_apply(live, other, "ops", now=T2))
    assert [c["name"] for c in containers(live)] == ["nginx", "sidecar", "logger"]

    obj = do_apply(live, deployment(), "ci", now=T3)

    assert [c["name"] for c in containers(obj)] == ["nginx", "logger"]


# ---------------------------------------------------------------- conflicts


def test_conflict_with_an_update_manager_has_upstreams_message_and_cause() -> None:
    live = stored(do_update(None, deployment(replicas=1), "kubectl-client-side-apply"))
    with pytest.raises(StatusError) as excinfo:
        do_apply(live, deployment(replicas=3), now=T2)
    assert conflict_of(excinfo) == (
        409,
        "Conflict",
        "Apply failed with 1 conflict: "
        'conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
        {
            "causes": [
                {
                    "reason": "FieldManagerConflict",
                    "message": 'conflict with "kubectl-client-side-apply" using apps/v1',
                    "field": ".spec.replicas",
                }
            ]
        },
    )


def test_several_conflicts_are_grouped_by_manager() -> None:
    live = stored(do_update(None, deployment(replicas=1), "kubectl-create"))
    config = deployment(replicas=1)
    config["metadata"]["labels"] = {"app": "web"}
    live = stored(do_apply(live, config, "helm", force=True, now=T2))

    with pytest.raises(StatusError) as excinfo:
        do_apply(live, deployment(replicas=4, image="nginx:1.27"), "argo", now=T3)

    code, _, message, details = conflict_of(excinfo)
    assert code == 409
    image = '.spec.template.spec.containers[name="nginx"].image'
    # helm applied the whole config, so it co-owns replicas and image with kubectl-create
    assert message == (
        "Apply failed with 5 conflicts: "
        'conflicts with "helm":\n'
        f"- .metadata.labels.app\n- .spec.replicas\n- {image}\n"
        'conflicts with "kubectl-create" using apps/v1:\n'
        f"- .spec.replicas\n- {image}"
    )
    assert details is not None
    helm, create = 'conflict with "helm"', 'conflict with "kubectl-create" using apps/v1'
    assert [(c["message"], c["field"]) for c in details["causes"]] == [
        (helm, ".metadata.labels.app"),
        (helm, ".spec.replicas"),
        (helm, image),
        (create, ".spec.replicas"),
        (create, image),
    ]


def test_force_takes_ownership() -> None:
    live = stored(do_update(None, deployment(replicas=1), "kubectl-client-side-apply"))
    obj = do_apply(live, deployment(replicas=3), force=True, now=T2)

    assert obj["spec"]["replicas"] == 3
    assert "f:replicas" in fields(obj, "kubectl")["f:spec"]
    assert "f:replicas" not in fields(obj, "kubectl-client-side-apply")["f:spec"]
    assert "f:selector" in fields(obj, "kubectl-client-side-apply")["f:spec"]


def test_same_value_is_shared_and_survives_one_owner_letting_go() -> None:
    live = stored(do_update(None, deployment(replicas=1), "kubectl-create"))
    obj = stored(do_apply(live, deployment(replicas=1), now=T2))

    assert "f:replicas" in fields(obj, "kubectl")["f:spec"]
    assert "f:replicas" in fields(obj, "kubectl-create")["f:spec"]
    assert "time" not in entries(obj)["kubectl"]  # the object did not change, so no timestamp: as upstream

    obj = do_apply(obj, deployment(replicas=None), now=T3)
    assert obj["spec"]["replicas"] == 1


def test_kubectl_create_then_server_side_apply_conflicts() -> None:
    created = do_update(None, deployment(replicas=1), "kubectl-create")
    [entry] = created["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["time"]) == ("kubectl-create", "Update", T1)
    # structs that exist in Go's zero object carry no "." of their own; new maps and list items do
    assert json.dumps(entry["fieldsV1"]) == json.dumps(
        {
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {
                        "f:containers": {
                            'k:{"name":"nginx"}': {
                                ".": {},
                                "f:image": {},
                                "f:name": {},
                                "f:ports": {
                                    ".": {},
                                    'k:{"containerPort":80,"protocol":"TCP"}': {
                                        ".": {},
                                        "f:containerPort": {},
                                    },
                                },
                            }
                        }
                    },
                },
            },
        }
    )
    with pytest.raises(StatusError) as excinfo:
        do_apply(stored(created), deployment(replicas=5), now=T2)
    assert excinfo.value.message.endswith('conflict with "kubectl-create" using apps/v1: .spec.replicas')


def test_untracked_object_belongs_to_before_first_apply() -> None:
    live = stored(deployment(replicas=1))
    with pytest.raises(StatusError) as excinfo:
        do_apply(live, deployment(replicas=2))
    assert excinfo.value.message == (
        'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas'
    )

    obj = do_apply(live, deployment(replicas=1))
    assert set(entries(obj)) == {"kubectl", "before-first-apply"}
    assert entries(obj)["before-first-apply"]["operation"] == "Update"


def test_kubectl_edit_steals_the_field_and_the_next_apply_conflicts() -> None:
    live = stored(do_apply(None, deployment(replicas=2)))
    edited = copy.deepcopy(live)
    edited["spec"]["replicas"] = 5

    obj = stored(do_update(live, edited, "kubectl-edit", now=T2))

    assert fields(obj, "kubectl-edit") == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in fields(obj, "kubectl")["f:spec"]
    assert [e["manager"] for e in obj["metadata"]["managedFields"]] == ["kubectl", "kubectl-edit"]
    with pytest.raises(StatusError) as excinfo:
        do_apply(obj, deployment(replicas=2), now=T3)
    assert excinfo.value.message == (
        'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas'
    )


def test_client_side_apply_upgrade_takes_over_fields_kubectl_applied_before() -> None:
    config = deployment(replicas=1)
    annotated = copy.deepcopy(config)
    annotated["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(config)
    }
    live = stored(do_update(None, annotated, "kubectl-client-side-apply"))

    with pytest.raises(StatusError):
        do_apply(live, deployment(replicas=3), "other", now=T2)
    obj = do_apply(live, deployment(replicas=3), "kubectl", now=T2)

    assert obj["spec"]["replicas"] == 3
    last = obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert last.endswith("\n")
    assert json.loads(last)["spec"]["replicas"] == 3


# ---------------------------------------------------------------- lists and maps


def test_map_list_items_merge_by_key_across_managers() -> None:
    live = stored(do_apply(None, deployment(), "ci"))
    mine = deployment()
    mine["spec"]["template"]["spec"]["containers"] = [
        {"name": "nginx", "ports": [{"containerPort": 80, "protocol": "UDP"}]},
        {"name": "sidecar", "image": "busybox"},
    ]
    obj = stored(do_apply(live, mine, "ops", now=T2))

    assert containers(obj) == [
        {
            "name": "nginx",
            "image": "nginx:1.25",
            "ports": [{"containerPort": 80}, {"containerPort": 80, "protocol": "UDP"}],
        },
        {"name": "sidecar", "image": "busybox"},
    ]
    ops_containers = fields(obj, "ops")["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert list(ops_containers['k:{"name":"nginx"}']["f:ports"]) == [
        'k:{"containerPort":80,"protocol":"UDP"}'
    ]

    without_udp = copy.deepcopy(mine)
    del without_udp["spec"]["template"]["spec"]["containers"][0]["ports"]
    obj = do_apply(obj, without_udp, "ops", now=T3)
    assert containers(obj)[0]["ports"] == [{"containerPort": 80}]


def test_patch_merge_key_without_list_type_is_a_map_list() -> None:
    config = deployment()
    containers(config)[0]["env"] = [{"name": "A", "value": "1"}]
    live = stored(do_apply(None, config, "ci"))
    other = deployment()
    containers(other)[0]["env"] = [{"name": "B", "value": "2"}]

    obj = do_apply(live, other, "ops", now=T2)

    assert containers(obj)[0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    env = fields(obj, "ops")["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}']["f:env"]
    assert env == {'k:{"name":"B"}': {".": {}, "f:name": {}, "f:value": {}}}


def test_atomic_list_is_replaced_whole_and_owned_whole() -> None:
    config = deployment()
    containers(config)[0]["args"] = ["--a", "--b"]
    live = stored(do_apply(None, config, "ci"))
    other = deployment()
    containers(other)[0]["args"] = ["--c"]

    with pytest.raises(StatusError) as excinfo:
        do_apply(live, other, "ops", now=T2)
    assert excinfo.value.details == {
        "causes": [
            {
                "reason": "FieldManagerConflict",
                "message": 'conflict with "ci"',
                "field": '.spec.template.spec.containers[name="nginx"].args',
            }
        ]
    }
    obj = do_apply(live, other, "ops", force=True, now=T2)
    assert containers(obj)[0]["args"] == ["--c"]
    assert (
        "f:args" in fields(obj, "ops")["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}']
    )


def test_atomic_map_is_replaced_and_granular_map_merged() -> None:
    live = stored(do_apply(None, deployment(), "ci"))
    other = deployment()
    other["metadata"]["labels"] = {"tier": "web"}
    other["spec"]["template"]["spec"]["nodeSelector"] = {"disk": "ssd"}
    obj = stored(do_apply(live, other, "ops", now=T2))
    assert obj["metadata"]["labels"] == {"app": "nginx", "tier": "web"}

    third = deployment()
    third["spec"]["template"]["spec"]["nodeSelector"] = {"zone": "a"}
    obj = do_apply(obj, third, "ci", force=True, now=T3)
    assert obj["spec"]["template"]["spec"]["nodeSelector"] == {"zone": "a"}


def test_unschematized_maps_merge_and_lists_are_atomic() -> None:
    def untyped(live: dict | None, applied: dict, manager: str, now: str) -> dict:
        return apply(live, applied, manager=manager, force=True, api_version="example.com/v1", schema=None,
                     resolve=resolve, now=now)  # fmt: skip

    base = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    live = stored(untyped(None, {**base, "spec": {"a": {"x": 1}, "items": [1, 2]}}, "one", T1))
    obj = untyped(live, {**base, "spec": {"a": {"y": 2}, "items": [3]}}, "two", T2)

    assert obj["spec"] == {"a": {"x": 1, "y": 2}, "items": [3]}
    assert fields(obj, "two") == {"f:spec": {".": {}, "f:a": {".": {}, "f:y": {}}, "f:items": {}}}


# ---------------------------------------------------------------- track_update


def test_update_takes_only_what_changed_and_skips_system_fields() -> None:
    created = do_update(None, stored(deployment(replicas=1)), "kubectl-create")
    mine = fields(created, "kubectl-create")
    assert set(mine["f:metadata"]) == {"f:labels"}  # no uid, resourceVersion, creationTimestamp, generation

    live = stored(created)
    changed = copy.deepcopy(live)
    changed["metadata"]["labels"]["tier"] = "web"
    changed["metadata"]["resourceVersion"] = "8"
    obj = do_update(live, changed, "kubectl-label", now=T2)
    assert fields(obj, "kubectl-label") == {"f:metadata": {"f:labels": {"f:tier": {}}}}

    untouched = do_update(live, copy.deepcopy(live), "kubectl-label", now=T2)
    assert untouched["metadata"]["managedFields"] == live["metadata"]["managedFields"]


def test_status_subresource_entries_own_status_only() -> None:
    live = stored(do_apply(None, deployment()))
    new = copy.deepcopy(live)
    new["status"] = {"replicas": 2}
    new["spec"]["replicas"] = 9  # the status strategy resets spec; nobody owns it through /status

    obj = do_update(live, new, "kube-controller-manager", subresource="status", now=T2)

    [entry] = [e for e in obj["metadata"]["managedFields"] if e["manager"] == "kube-controller-manager"]
    assert entry["subresource"] == "status"
    assert list(entry)[-1] == "subresource"
    assert entry["fieldsV1"] == {"f:status": {"f:replicas": {}}}
    assert "f:replicas" in fields(obj, "kubectl")["f:spec"]


def test_conflicts_name_the_subresource_and_status_applies_stay_on_status() -> None:
    live = stored(do_apply(None, deployment()))
    new = copy.deepcopy(live)
    new["status"] = {"replicas": 2}
    live = stored(do_update(live, new, "kube-controller-manager", subresource="status", now=T2))
    config = deployment()
    config["status"] = {"replicas": 5}

    with pytest.raises(StatusError) as excinfo:
        do_apply(live, config, "tester", subresource="status", now=T3)
    assert excinfo.value.message == (
        "Apply failed with 1 conflict: conflict with "
        '"kube-controller-manager" with subresource "status" using apps/v1: .status.replicas'
    )
    obj = do_apply(live, config, "tester", subresource="status", force=True, now=T3)
    tester = entries(obj)["tester"]
    assert (tester["operation"], tester["subresource"]) == ("Apply", "status")
    assert "f:spec" not in tester["fieldsV1"]
    assert tester["fieldsV1"]["f:status"] == {"f:replicas": {}}


def test_main_resource_writes_do_not_own_status_when_it_has_a_subresource() -> None:
    live = stored(do_apply(None, deployment()))
    new = copy.deepcopy(live)
    new["status"] = {"replicas": 2}
    new["spec"]["replicas"] = 4
    obj = do_update(live, new, "kubectl-edit", has_status=True, now=T2)
    assert fields(obj, "kubectl-edit") == {"f:spec": {"f:replicas": {}}}

    config = deployment()
    config["status"] = {"replicas": 7}
    applied = do_apply(None, config, has_status=True)
    assert "f:status" not in fields(applied, "kubectl")


def test_managed_fields_sent_with_an_update_replace_or_clear_tracking() -> None:
    live = stored(do_apply(None, deployment()))
    cleared = copy.deepcopy(live)
    cleared["metadata"]["managedFields"] = []
    cleared["spec"]["replicas"] = 3
    obj = do_update(live, cleared, "kubectl-edit", now=T2)
    assert "managedFields" not in obj["metadata"]

    untracked = stored(obj)
    again = copy.deepcopy(untracked)
    again["spec"]["replicas"] = 4
    assert "managedFields" not in do_update(untracked, again, "kubectl-edit", now=T3)["metadata"]


def test_update_managers_beyond_ten_merge_into_ancient_changes() -> None:
    obj = stored(do_apply(None, deployment()))
    for i in range(11):
        new = copy.deepcopy(obj)
        new["metadata"].setdefault("annotations", {})[f"a{i}"] = "x"
        obj = stored(do_update(obj, new, f"m{i:02}", now=f"2024-05-01T11:{i:02}:00Z"))

    updaters = [e["manager"] for e in obj["metadata"]["managedFields"] if e["operation"] == "Update"]
    assert len(updaters) == 10
    assert updaters[0] == "ancient-changes"
    ancient = fields(obj, "ancient-changes")["f:metadata"]["f:annotations"]
    assert set(ancient) >= {"f:a0", "f:a1"}


# ---------------------------------------------------------------- bad input


def test_wrong_type_managed_fields_and_name_are_rejected_as_upstream() -> None:
    wrong = deployment()
    wrong["apiVersion"] = "apps/v1beta1"
    with pytest.raises(StatusError) as excinfo:
        do_apply(None, wrong, kind="Deployment")
    assert (excinfo.value.code, excinfo.value.message) == (
        400,
        "invalid object type: apps/v1beta1, Kind=Deployment",
    )

    carrying = deployment()
    carrying["metadata"]["managedFields"] = []
    with pytest.raises(StatusError) as excinfo:
        do_apply(None, carrying)
    assert (excinfo.value.code, excinfo.value.message) == (400, "metadata.managedFields must be nil")

    with pytest.raises(StatusError) as excinfo:
        do_apply(None, deployment(), name="web")
    assert excinfo.value.message == "the name of the object (nginx) does not match the name on the URL (web)"


def test_list_items_without_keys_or_with_duplicates_fail_like_upstream() -> None:
    keyless = deployment()
    containers(keyless)[0].pop("name")
    with pytest.raises(StatusError) as excinfo:
        do_apply(None, keyless)
    assert excinfo.value.code == 500
    assert excinfo.value.message == (
        "failed to create typed patch object (default/nginx; apps/v1, Kind=Deployment): "
        ".spec.template.spec.containers: element 0: associative list with keys has an element that omits "
        'all key fields ["name"] (and doesn\'t have default values for any key fields)'
    )

    doubled = deployment()
    containers(doubled).append({"name": "nginx", "image": "other"})
    with pytest.raises(StatusError) as excinfo:
        do_apply(None, doubled)
    assert excinfo.value.message.endswith(
        '.spec.template.spec.containers: duplicate entries for key [name="nginx"]'
    )
