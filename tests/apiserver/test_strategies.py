"""Defaults and validation against upstream kube-apiserver v1.32's documented results: the expected
objects and messages below are what upstream returns for the same requests."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from distro.apiserver import registry
from distro.apiserver.strategies import (
    apply_defaults,
    generate_name_suffix,
    invalid,
    quantity,
    validate_create,
    validate_update,
)
from distro.apiserver.strategies import field as fld

POD = registry.lookup("", "pods")
SERVICE = registry.lookup("", "services")
NAMESPACE = registry.lookup("", "namespaces")
NODE = registry.lookup("", "nodes")
SECRET = registry.lookup("", "secrets")
CONFIGMAP = registry.lookup("", "configmaps")
ENDPOINTS = registry.lookup("", "endpoints")
EVENT = registry.lookup("", "events")
SERVICEACCOUNT = registry.lookup("", "serviceaccounts")
DEPLOYMENT = registry.lookup("apps", "deployments")
REPLICASET = registry.lookup("apps", "replicasets")
DAEMONSET = registry.lookup("apps", "daemonsets")
SLICE = registry.lookup("discovery.k8s.io", "endpointslices")
LEASE = registry.lookup("coordination.k8s.io", "leases")
ROLE = registry.lookup("rbac.authorization.k8s.io", "roles")
ROLEBINDING = registry.lookup("rbac.authorization.k8s.io", "rolebindings")
CLUSTERROLEBINDING = registry.lookup("rbac.authorization.k8s.io", "clusterrolebindings")

Obj = dict[str, Any]

DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
TOLERATIONS = [
    {
        "key": "node.kubernetes.io/not-ready",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
    {
        "key": "node.kubernetes.io/unreachable",
        "operator": "Exists",
        "effect": "NoExecute",
        "tolerationSeconds": 300,
    },
]
DEFAULTED_CONTAINER = {
    "name": "app",
    "image": "nginx:1.27",
    "imagePullPolicy": "IfNotPresent",
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
    "resources": {},
}
TEMPLATE_SPEC_DEFAULTS = {
    "dnsPolicy": "ClusterFirst",
    "restartPolicy": "Always",
    "schedulerName": "default-scheduler",
    "securityContext": {},
    "terminationGracePeriodSeconds": 30,
}


def pod(**spec: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}], **spec},
    }


def template(labels: dict | None = None, **spec: Any) -> Obj:
    return {
        "metadata": {"labels": labels if labels is not None else {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}], **spec},
    }


def deployment(**spec: Any) -> Obj:
    body = {"selector": {"matchLabels": {"app": "web"}}, "template": template(), **spec}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": body,
    }


def service(**spec: Any) -> Obj:
    body = {"selector": {"app": "web"}, "ports": [{"port": 80}], **spec}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": body,
    }


def defaulted(rd: Any, obj: Obj) -> Obj:
    apply_defaults(rd, obj)
    return obj


def create_causes(rd: Any, obj: Obj) -> list[dict]:
    return validate_create(rd, defaulted(rd, obj))


def stored(rd: Any, obj: Obj) -> Obj:
    """An object as the store would hold it: defaulted, with a resourceVersion and uid."""
    obj = defaulted(rd, obj)
    obj["metadata"].update(
        {"resourceVersion": "7", "uid": "u-1", "creationTimestamp": "2025-01-01T00:00:00Z"}
    )
    return obj


def update_causes(rd: Any, old: Obj, mutate: Any) -> list[dict]:
    new = copy.deepcopy(old)
    mutate(new)
    return validate_update(rd, defaulted(rd, new), old)


def messages(causes: list[dict]) -> list[str]:
    return [fld.error_string(c) for c in causes]


# ---------------------------------------------------------------------------------------------
# defaults


def test_minimal_pod_gets_upstream_defaults_and_admission_fields() -> None:
    assert defaulted(POD, pod()) == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "containers": [DEFAULTED_CONTAINER],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": True,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccount": "default",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "tolerations": TOLERATIONS,
        },
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    }


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.27", "IfNotPresent"),
        ("docker.io/library/nginx@sha256:" + "a" * 64, "IfNotPresent"),
        ("localhost:5000/app", "Always"),
        ("localhost:5000/app:v2", "IfNotPresent"),
        ("registry.example.com/team/app:latest", "Always"),
        ("Bad/Image", "IfNotPresent"),  # unparseable: upstream assumes no tag, not latest
    ],
)
def test_image_pull_policy_follows_the_tag(image: str, policy: str) -> None:
    obj = defaulted(POD, pod(containers=[{"name": "app", "image": image}]))
    assert obj["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_explicit_values_survive_defaulting() -> None:
    obj = defaulted(
        POD, pod(restartPolicy="Never", terminationGracePeriodSeconds=0, enableServiceLinks=False)
    )
    assert (obj["spec"]["restartPolicy"], obj["spec"]["terminationGracePeriodSeconds"]) == ("Never", 0)
    assert obj["spec"]["enableServiceLinks"] is False


def test_probe_ports_and_volume_defaults() -> None:
    container = {
        "name": "app",
        "image": "nginx:1.27",
        "ports": [{"containerPort": 80}],
        "livenessProbe": {"httpGet": {"port": 80}},
        "readinessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 5},
        "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
    }
    volumes = [
        {"name": "cfg", "configMap": {"name": "c"}},
        {"name": "s", "secret": {"secretName": "s"}},
        {"name": "scratch"},
        {"name": "host", "hostPath": {"path": "/data"}},
    ]
    spec = defaulted(POD, pod(containers=[container], volumes=volumes))["spec"]
    c = spec["containers"][0]
    assert c["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert c["livenessProbe"] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert c["readinessProbe"]["periodSeconds"] == 5
    assert c["env"][0]["valueFrom"]["fieldRef"] == {"fieldPath": "spec.nodeName", "apiVersion": "v1"}
    assert spec["volumes"] == [
        {"name": "cfg", "configMap": {"name": "c", "defaultMode": 420}},
        {"name": "s", "secret": {"secretName": "s", "defaultMode": 420}},
        {"name": "scratch", "emptyDir": {}},
        {"name": "host", "hostPath": {"path": "/data", "type": ""}},
    ]


@pytest.mark.parametrize(
    ("resources", "qos"),
    [
        ({}, "BestEffort"),
        ({"requests": {"cpu": "100m"}}, "Burstable"),
        ({"limits": {"cpu": "1", "memory": "1Gi"}}, "Guaranteed"),
        (
            {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
            "Burstable",
        ),
    ],
)
def test_qos_class_is_computed(resources: Obj, qos: str) -> None:
    obj = defaulted(POD, pod(containers=[{"name": "app", "image": "nginx:1.27", "resources": resources}]))
    assert obj["status"]["qosClass"] == qos


def test_limits_become_requests_in_canonical_form() -> None:
    resources = {"limits": {"cpu": "0.5", "memory": "1024Mi"}, "requests": {"cpu": "250m"}}
    obj = defaulted(POD, pod(containers=[{"name": "app", "image": "nginx:1.27", "resources": resources}]))
    assert obj["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": "500m", "memory": "1Gi"},
        "requests": {"cpu": "250m", "memory": "1Gi"},
    }


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("1000", "1k"),
        ("0.5", "500m"),
        ("1536Mi", "1536Mi"),
        ("1048576Ki", "1Gi"),
        ("100", "100"),
        ("1.5e3", "1500"),
        ("2e6", "2e6"),
        ("0.0001", "1m"),
        (2, "2"),
        ("512", "512"),
        ("1000Mi", "1000Mi"),
        ("0", "0"),
    ],
)
def test_quantities_are_rewritten_as_upstream_prints_them(raw: Any, text: str) -> None:
    assert quantity.normalize(raw) == text


def test_existing_tolerations_that_cover_the_taints_are_kept_alone() -> None:
    everything = [{"operator": "Exists"}]
    assert defaulted(POD, pod(tolerations=everything))["spec"]["tolerations"] == everything
    own = [
        {
            "key": "node.kubernetes.io/not-ready",
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": 5,
        }
    ]
    assert defaulted(POD, pod(tolerations=own))["spec"]["tolerations"] == [own[0], TOLERATIONS[1]]


def test_service_account_and_priority_admission() -> None:
    spec = defaulted(POD, pod(serviceAccount="builder", priorityClassName="system-node-critical"))["spec"]
    assert (spec["serviceAccountName"], spec["serviceAccount"]) == ("builder", "builder")
    assert spec["priority"] == 2000001000
    mirror = pod()
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "x"}
    assert "serviceAccountName" not in defaulted(POD, mirror)["spec"]


def test_host_network_pods_default_host_ports() -> None:
    spec = defaulted(
        POD,
        pod(hostNetwork=True, containers=[{"name": "a", "image": "x:1", "ports": [{"containerPort": 53}]}]),
    )
    assert spec["spec"]["containers"][0]["ports"][0]["hostPort"] == 53


def test_minimal_service_defaults() -> None:
    assert defaulted(SERVICE, service())["spec"] == {
        "selector": {"app": "web"},
        "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
        "sessionAffinity": "None",
        "type": "ClusterIP",
        "internalTrafficPolicy": "Cluster",
        "ipFamilyPolicy": "SingleStack",
        "ipFamilies": ["IPv4"],
    }
    assert defaulted(SERVICE, service())["status"] == {"loadBalancer": {}}


def test_service_defaults_by_type() -> None:
    node_port = defaulted(SERVICE, service(type="NodePort"))["spec"]
    assert node_port["externalTrafficPolicy"] == "Cluster"
    lb = defaulted(SERVICE, service(type="LoadBalancer"))["spec"]
    assert (lb["externalTrafficPolicy"], lb["allocateLoadBalancerNodePorts"]) == ("Cluster", True)
    external = defaulted(SERVICE, service(type="ExternalName", externalName="db.example.com", ports=[]))[
        "spec"
    ]
    assert "ipFamilies" not in external and "internalTrafficPolicy" not in external
    headless = defaulted(SERVICE, service(clusterIP="None", selector=None))["spec"]
    assert (headless["clusterIPs"], headless["ipFamilyPolicy"]) == (["None"], "RequireDualStack")
    affinity = defaulted(SERVICE, service(sessionAffinity="ClientIP"))["spec"]
    assert affinity["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    named = defaulted(SERVICE, service(ports=[{"port": 80, "targetPort": "http"}]))["spec"]["ports"][0]
    assert named["targetPort"] == "http"


def test_minimal_deployment_defaults() -> None:
    assert defaulted(DEPLOYMENT, deployment()) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "replicas": 1,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"},
            },
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "template": {
                "metadata": {"labels": {"app": "web"}, "creationTimestamp": None},
                "spec": {"containers": [DEFAULTED_CONTAINER], **TEMPLATE_SPEC_DEFAULTS},
            },
        },
        "status": {},
    }


def test_recreate_deployments_get_no_rolling_update() -> None:
    spec = defaulted(DEPLOYMENT, deployment(strategy={"type": "Recreate"}))["spec"]
    assert spec["strategy"] == {"type": "Recreate"}


def test_minimal_daemonset_and_replicaset_defaults() -> None:
    ds = {
        "metadata": {"name": "agent", "namespace": "default"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template()},
    }
    assert defaulted(DAEMONSET, ds) == {
        "metadata": {
            "name": "agent",
            "namespace": "default",
            "annotations": {"deprecated.daemonset.template.generation": "1"},
        },
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "updateStrategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
            },
            "revisionHistoryLimit": 10,
            "template": {
                "metadata": {"labels": {"app": "web"}, "creationTimestamp": None},
                "spec": {"containers": [DEFAULTED_CONTAINER], **TEMPLATE_SPEC_DEFAULTS},
            },
        },
        "status": {
            "currentNumberScheduled": 0,
            "desiredNumberScheduled": 0,
            "numberMisscheduled": 0,
            "numberReady": 0,
        },
    }
    rs = defaulted(REPLICASET, {"metadata": {"name": "r"}, "spec": {"template": template()}})
    assert (rs["spec"]["replicas"], rs["status"]) == (1, {"replicas": 0})


def test_secret_namespace_node_and_small_kind_defaults() -> None:
    secret = defaulted(SECRET, {"metadata": {"name": "s"}, "stringData": {"user": "admin"}})
    assert secret == {"metadata": {"name": "s"}, "type": "Opaque", "data": {"user": "YWRtaW4="}}
    ns = defaulted(NAMESPACE, {"metadata": {"name": "team-a", "namespace": "ignored"}})
    assert ns == {
        "metadata": {"name": "team-a", "labels": {"kubernetes.io/metadata.name": "team-a"}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }
    node = defaulted(
        NODE, {"metadata": {"name": "n1"}, "status": {"capacity": {"cpu": "4", "memory": "8192Mi"}}}
    )
    assert node["status"]["allocatable"] == {"cpu": "4", "memory": "8Gi"}
    assert node["status"]["nodeInfo"]["kubeletVersion"] == ""
    assert node["status"]["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 0}}
    es = defaulted(SLICE, {"metadata": {"name": "e"}, "addressType": "IPv4", "ports": [{"port": 80}]})
    assert es["ports"] == [{"port": 80, "name": "", "protocol": "TCP"}]
    rb = defaulted(
        ROLEBINDING,
        {
            "metadata": {"name": "b"},
            "roleRef": {"kind": "Role", "name": "r"},
            "subjects": [{"kind": "User", "name": "u"}, {"kind": "ServiceAccount", "name": "sa"}],
        },
    )
    assert rb["roleRef"]["apiGroup"] == "rbac.authorization.k8s.io"
    assert [s["apiGroup"] for s in rb["subjects"]] == ["rbac.authorization.k8s.io", ""]


IDEMPOTENCE_CASES = [
    (
        POD,
        pod(
            containers=[{"name": "a", "image": "x", "resources": {"limits": {"cpu": "0.5"}}}],
            hostNetwork=True,
        ),
    ),
    (SERVICE, service(type="LoadBalancer", clusterIP="10.43.0.10", sessionAffinity="ClientIP")),
    (DEPLOYMENT, deployment()),
    (DAEMONSET, {"metadata": {"name": "d"}, "spec": {"template": template()}}),
    (REPLICASET, {"metadata": {"name": "r"}, "spec": {"template": template()}}),
    (SECRET, {"metadata": {"name": "s"}, "stringData": {"a": "b"}}),
    (NAMESPACE, {"metadata": {"name": "n"}}),
    (NODE, {"metadata": {"name": "n"}, "status": {"capacity": {"cpu": "1"}}}),
    (SLICE, {"metadata": {"name": "e"}, "ports": [{"port": 1}]}),
    (ENDPOINTS, {"metadata": {"name": "e"}, "subsets": [{"ports": [{"port": 1}]}]}),
    (EVENT, {"metadata": {"name": "e"}}),
    (LEASE, {"metadata": {"name": "l"}}),
    (CLUSTERROLEBINDING, {"metadata": {"name": "b"}, "subjects": [{"kind": "Group", "name": "g"}]}),
]


@pytest.mark.parametrize(("rd", "obj"), IDEMPOTENCE_CASES, ids=[rd.kind for rd, _ in IDEMPOTENCE_CASES])
def test_defaults_are_idempotent(rd: Any, obj: Obj) -> None:
    once = defaulted(rd, copy.deepcopy(obj))
    assert once != obj
    assert defaulted(rd, copy.deepcopy(once)) == once


def test_defaulted_minimal_objects_validate_cleanly() -> None:
    for rd, obj in [
        (POD, pod()),
        (SERVICE, service()),
        (DEPLOYMENT, deployment()),
        (NAMESPACE, {"metadata": {"name": "n"}}),
    ]:
        assert create_causes(rd, copy.deepcopy(obj)) == [], rd.kind


# ---------------------------------------------------------------------------------------------
# invalid(): the 422 Status


def test_invalid_with_one_cause() -> None:
    err = invalid(POD, "x", [fld.required("spec.containers[0].image")])
    assert (err.code, err.reason) == (422, "Invalid")
    assert err.message == 'Pod "x" is invalid: spec.containers[0].image: Required value'
    assert err.details == {
        "name": "x",
        "kind": "Pod",
        "causes": [
            {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers[0].image"}
        ],
    }


def test_invalid_with_several_causes_matches_upstream_text() -> None:
    causes = create_causes(DEPLOYMENT, deployment(selector=None, template=template({"a": "b"})))
    err = invalid(DEPLOYMENT, "d", causes)
    assert err.message == (
        'Deployment.apps "d" is invalid: [spec.selector: Required value, spec.template.metadata.labels: '
        "Invalid "
        'value: map[string]string{"a":"b"}: `selector` does not match template `labels`]'
    )
    assert err.details["group"] == "apps" and err.details["kind"] == "Deployment"
    assert [c["field"] for c in err.details["causes"]] == ["spec.selector", "spec.template.metadata.labels"]


def test_invalid_lists_a_repeated_message_once_but_keeps_every_cause() -> None:
    cause = fld.invalid("metadata.labels", "x" * 64, "must be no more than 63 characters")
    err = invalid(POD, "p", [cause, cause])
    assert err.message.count("must be no more than 63 characters") == 1 and "[" not in err.message
    assert len(err.details["causes"]) == 2


def test_invalid_without_causes_and_with_an_empty_field() -> None:
    assert invalid(POD, "p", []).message == 'Pod "p" is invalid'
    err = invalid(CONFIGMAP, "c", [fld.too_long("", 1048576)])
    assert err.message == 'ConfigMap "c" is invalid: : Too long: may not be more than 1048576 bytes'
    assert err.details["causes"] == [
        {"reason": "FieldValueTooLong", "message": "Too long: may not be more than 1048576 bytes"}
    ]


def test_generate_name_suffix_uses_upstreams_alphabet() -> None:
    suffixes = {generate_name_suffix() for _ in range(50)}
    assert len(suffixes) > 40
    assert all(len(s) == 5 and set(s) <= set("bcdfghjklmnpqrstvwxz2456789") for s in suffixes)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("a\tb", '"a\\tb"'),
        ("é", '"é"'),
        ("\x00", '"\\x00"'),
        (None, "null"),
        (True, "true"),
        (3, "3"),
        (1.5, "1.5"),
        (2.0, "2"),
        ({"b": "2", "a": "1"}, 'map[string]string{"a":"1", "b":"2"}'),
        (["x", "y"], '[]string{"x", "y"}'),
    ],
)
def test_bad_values_print_like_go(value: Any, text: str) -> None:
    assert fld.go_value(value) == text


# ---------------------------------------------------------------------------------------------
# metadata


def with_meta(obj: Obj, **meta: Any) -> Obj:
    obj["metadata"].update(meta)
    return obj


def test_names_use_each_kinds_rule() -> None:
    assert messages(create_causes(POD, with_meta(pod(), name="Web_1"))) == [
        f'metadata.name: Invalid value: "Web_1": {DNS1123_SUBDOMAIN_MSG}'
    ]
    assert messages(create_causes(NAMESPACE, {"metadata": {"name": "a.b"}})) == [
        'metadata.name: Invalid value: "a.b": must not contain dots'
    ]
    assert messages(create_causes(SERVICE, with_meta(service(), name="1web"))) == [
        'metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric '
        "characters "
        "or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. "
        "'my-name',  or "
        "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
    ]
    role = {"metadata": {"name": "a%b", "namespace": "default"}}
    assert messages(create_causes(ROLE, role)) == [
        "metadata.name: Invalid value: \"a%b\": may not contain '%'"
    ]
    assert create_causes(ROLE, {"metadata": {"name": "system:Admin", "namespace": "default"}}) == []


def test_name_or_generate_name_is_required_and_generate_name_is_checked_as_a_prefix() -> None:
    obj = with_meta(pod(), name="")
    assert messages(create_causes(POD, obj)) == [
        "metadata.name: Required value: name or generateName is required"
    ]
    assert create_causes(POD, with_meta(pod(), name="web-abcde", generateName="web-")) == []
    causes = create_causes(POD, with_meta(pod(), name="x", generateName="Web-"))
    assert causes[0]["field"] == "metadata.generateName" and causes[0]["message"].startswith(
        'Invalid value: "Web-"'
    )


def test_namespace_rules() -> None:
    assert messages(create_causes(POD, with_meta(pod(), namespace=""))) == [
        "metadata.namespace: Required value"
    ]
    assert messages(create_causes(POD, with_meta(pod(), namespace="Team"))) == [
        f'metadata.namespace: Invalid value: "Team": {DNS1123_LABEL_MSG}'
    ]


def test_label_annotation_finalizer_and_owner_reference_rules() -> None:
    obj = with_meta(
        pod(),
        labels={"app": "x" * 64},
        annotations={"big": "x" * (256 * 1024)},
        finalizers=["cleanup", "example.com/ok"],
        ownerReferences=[{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": ""}],
    )
    assert messages(create_causes(POD, obj)) == [
        'metadata.labels: Invalid value: "' + "x" * 64 + '": must be no more than 63 characters',
        "metadata.annotations: Too long: may not be more than 262144 bytes",
        'metadata.ownerReferences.uid: Invalid value: "": uid must not be empty',
        'metadata.finalizers[0]: Invalid value: "cleanup": name is neither a standard finalizer name nor '
        "is it "
        "fully qualified",
    ]
    bad_key = with_meta(pod(), labels={"-bad": "ok"})
    (cause,) = create_causes(POD, bad_key)
    assert cause["field"] == "metadata.labels"
    assert cause["message"].startswith(
        'Invalid value: "-bad": name part must consist of alphanumeric characters'
    )


def test_cluster_scoped_kinds_drop_a_namespace() -> None:
    assert create_causes(NAMESPACE, {"metadata": {"name": "ok", "namespace": "default"}}) == []


def test_metadata_updates_keep_identity_fields() -> None:
    old = stored(POD, pod())
    causes = update_causes(POD, old, lambda new: new["metadata"].update(uid="u-2", labels={"new": "label"}))
    assert messages(causes) == ['metadata.uid: Invalid value: "u-2": field is immutable']
    causes = update_causes(POD, old, lambda new: new["metadata"].pop("resourceVersion"))
    assert messages(causes) == [
        'metadata.resourceVersion: Invalid value: "": must be specified for an update'
    ]
    deleting = copy.deepcopy(old)
    deleting["metadata"]["deletionTimestamp"] = "2025-01-02T00:00:00Z"
    causes = update_causes(POD, deleting, lambda new: new["metadata"].update(finalizers=["example.com/late"]))
    assert messages(causes) == [
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, "
        "found new "
        'finalizers []string{"example.com/late"}'
    ]


# ---------------------------------------------------------------------------------------------
# pods


def container(**fields: Any) -> Obj:
    return {"name": "app", "image": "nginx:1.27", **fields}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"containers": []}, ["spec.containers: Required value"]),
        ({"containers": [{"name": "app"}]}, ["spec.containers[0].image: Required value"]),
        ({"containers": [container(), container()]}, ['spec.containers[1].name: Duplicate value: "app"']),
        (
            {"containers": [container(name="App")]},
            [f'spec.containers[0].name: Invalid value: "App": {DNS1123_LABEL_MSG}'],
        ),
        (
            {"containers": [container(ports=[{"containerPort": 70000, "protocol": "HTTP"}])]},
            [
                "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and "
                "65535, inclusive",
                'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: '
                '"SCTP", "TCP", "UDP"',
            ],
        ),
        (
            {
                "containers": [
                    container(
                        ports=[{"containerPort": 80, "name": "http"}, {"containerPort": 81, "name": "http"}]
                    )
                ]
            },
            ['spec.containers[0].ports[1].name: Duplicate value: "http"'],
        ),
        (
            {"containers": [container(env=[{"name": "A=B", "value": "1"}, {"name": ""}])]},
            [
                'spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name '
                "must consist "
                "only of printable ASCII characters other than '='",
                "spec.containers[0].env[1].name: Required value",
            ],
        ),
        (
            {"containers": [container(volumeMounts=[{"name": "data", "mountPath": "/data"}])]},
            ['spec.containers[0].volumeMounts[0].name: Not found: "data"'],
        ),
        (
            {"volumes": [{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}]},
            ['spec.volumes[1].name: Duplicate value: "v"'],
        ),
        ({"volumes": [{"name": "v", "configMap": {}}]}, ["spec.volumes[0].configMap.name: Required value"]),
        (
            {"volumes": [{"name": "v", "emptyDir": {}, "hostPath": {"path": "/x"}}]},
            ["spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"],
        ),
        (
            {"restartPolicy": "Sometimes"},
            [
                'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
                '"OnFailure", "Never"'
            ],
        ),
        (
            {"dnsPolicy": "Cluster"},
            [
                'spec.dnsPolicy: Unsupported value: "Cluster": supported values: '
                '"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"'
            ],
        ),
        (
            {"containers": [container(resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1"}})]},
            [
                'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to '
                "cpu limit of 1"
            ],
        ),
        (
            {"containers": [container(resources={"requests": {"gpu": "1"}})]},
            [
                'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard '
                "resource for containers"
            ],
        ),
        (
            {"containers": [container(livenessProbe={"exec": {"command": ["true"]}, "successThreshold": 2})]},
            ["spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"],
        ),
        (
            {"containers": [container(readinessProbe={})]},
            ["spec.containers[0].readinessProbe: Required value: must specify a handler type"],
        ),
        (
            {"tolerations": [{"key": "k", "operator": "Has"}]},
            ['spec.tolerations[0].operator: Unsupported value: "Has": supported values: "Equal", "Exists"'],
        ),
        (
            {"tolerations": [{"key": "k", "value": "v", "tolerationSeconds": 1}]},
            [
                "spec.tolerations[0].effect: Invalid value: \"\": effect must be 'NoExecute' when "
                "`tolerationSeconds` is set"
            ],
        ),
        (
            {"activeDeadlineSeconds": 0},
            ["spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"],
        ),
        (
            {"initContainers": [container(name="init", restartPolicy="OnFailure")]},
            [
                'spec.initContainers[0].restartPolicy: Unsupported value: "OnFailure": supported values: '
                '"Always"'
            ],
        ),
        ({"initContainers": [container()]}, ['spec.initContainers[0].name: Duplicate value: "app"']),
        (
            {"ephemeralContainers": [{"name": "debug", "image": "busybox"}]},
            ["spec.ephemeralContainers: Forbidden: cannot be set on create"],
        ),
        ({"nodeName": "Node_1"}, [f'spec.nodeName: Invalid value: "Node_1": {DNS1123_SUBDOMAIN_MSG}']),
        (
            {"dnsPolicy": "None"},
            ["spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"],
        ),
    ],
)
def test_pod_spec_rules(spec: Obj, expected: list[str]) -> None:
    assert messages(create_causes(POD, pod(**spec))) == expected


def test_images_with_whitespace_are_refused_for_pods_only() -> None:
    assert messages(create_causes(POD, pod(containers=[container(image=" nginx")]))) == [
        'spec.containers[0].image: Invalid value: " nginx": must not have leading or trailing whitespace'
    ]
    assert (
        create_causes(DEPLOYMENT, deployment(template=template(containers=[container(image=" nginx")]))) == []
    )


def test_pod_update_allows_only_the_mutable_fields() -> None:
    old = stored(POD, pod(activeDeadlineSeconds=100))
    assert update_causes(POD, old, lambda new: new["spec"]["containers"][0].update(image="nginx:1.28")) == []
    assert update_causes(POD, old, lambda new: new["metadata"].update(labels={"tier": "web"})) == []
    assert update_causes(POD, old, lambda new: new["spec"].update(activeDeadlineSeconds=50)) == []
    extra = {"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}
    assert update_causes(POD, old, lambda new: new["spec"]["tolerations"].append(extra)) == []


def test_pod_update_forbids_other_spec_changes_with_upstreams_message() -> None:
    old = stored(POD, pod())
    (cause,) = update_causes(POD, old, lambda new: new["spec"].update(restartPolicy="Never"))
    assert cause["field"] == "spec" and cause["reason"] == "FieldValueForbidden"
    assert cause["message"].startswith(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
        "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
        "previously "
        "negative)\n  core.PodSpec{"
    )
    assert (
        '- \tRestartPolicy: "Always",' in cause["message"]
        and '+ \tRestartPolicy: "Never",' in cause["message"]
    )


def test_pod_update_container_count_tolerations_and_deadline() -> None:
    dedicated = {"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}
    old = stored(POD, pod(activeDeadlineSeconds=100, tolerations=[dedicated]))
    causes = update_causes(POD, old, lambda new: new["spec"]["containers"].append(container(name="side")))
    assert messages(causes)[-1] == "spec.containers: Forbidden: pod updates may not add or remove containers"
    # the admission plugin puts its own tolerations back on update, as upstream's does
    assert update_causes(POD, old, lambda new: new["spec"].update(tolerations=[dedicated])) == []
    causes = update_causes(POD, old, lambda new: new["spec"]["tolerations"].pop(0))
    assert (
        "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"
        in messages(causes)
    )
    causes = update_causes(POD, old, lambda new: new["spec"].update(activeDeadlineSeconds=200))
    assert messages(causes) == [
        "spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value"
    ]


# ---------------------------------------------------------------------------------------------
# services


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"ports": []}, ["spec.ports: Required value"]),
        # targetPort defaults to port, so upstream reports both
        (
            {"ports": [{"port": 0}]},
            [
                "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
                "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive",
            ],
        ),
        (
            {"ports": [{"port": 80}, {"port": 81}]},
            ["spec.ports[0].name: Required value", "spec.ports[1].name: Required value"],
        ),
        (
            {"ports": [{"port": 80, "name": "a"}, {"port": 81, "name": "a"}]},
            ['spec.ports[1].name: Duplicate value: "a"'],
        ),
        (
            {"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]},
            [
                "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The "
                "range of valid "
                "ports is 30000-32767"
            ],
        ),
        (
            {"ports": [{"port": 80, "nodePort": 30080}]},
            ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
        ),
        (
            {"type": "Mesh"},
            [
                'spec.type: Unsupported value: "Mesh": supported values: "ClusterIP", "ExternalName", '
                '"LoadBalancer", "NodePort"'
            ],
        ),
        ({"type": "ExternalName", "ports": []}, ["spec.externalName: Required value"]),
        (
            {"sessionAffinity": "Cookie"},
            ['spec.sessionAffinity: Unsupported value: "Cookie": supported values: "ClientIP", "None"'],
        ),
        (
            {"clusterIP": "10.43.0.300"},
            [
                'spec.clusterIPs[0]: Invalid value: "10.43.0.300": must be a valid IP '
                "address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
            ],
        ),
    ],
)
def test_service_rules(spec: Obj, expected: list[str]) -> None:
    assert messages(create_causes(SERVICE, service(**spec))) == expected


def test_headless_and_external_name_services_need_no_ports() -> None:
    assert create_causes(SERVICE, service(clusterIP="None", ports=[])) == []
    assert (
        create_causes(SERVICE, service(type="ExternalName", externalName="db.example.com.", ports=[])) == []
    )


def test_service_cluster_ip_is_immutable() -> None:
    old = stored(SERVICE, service(clusterIP="10.43.0.10"))
    assert update_causes(SERVICE, old, lambda new: new["spec"].update(selector={"app": "v2"})) == []
    causes = update_causes(SERVICE, old, lambda new: new["spec"].update(clusterIP="10.43.0.99"))
    assert messages(causes) == [
        'spec.clusterIPs[0]: Invalid value: []string{"10.43.0.99"}: may not change once set'
    ]


def test_endpoints_rules() -> None:
    ep = {
        "metadata": {"name": "web", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": 80}]}, {"ports": [{"port": 1}]}],
    }
    assert messages(create_causes(ENDPOINTS, ep)) == [
        'subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range '
        "(127.0.0.0/8, ::1/128)",
        "subsets[1]: Required value: must specify `addresses` or `notReadyAddresses`",
    ]


def test_endpoint_slice_rules() -> None:
    base = {"metadata": {"name": "web-abc", "namespace": "default"}}
    assert messages(create_causes(SLICE, dict(base))) == ["addressType: Required value"]
    assert messages(create_causes(SLICE, {**base, "addressType": "IPv5"})) == [
        'addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"'
    ]
    bad = {
        **copy.deepcopy(base),
        "addressType": "IPv4",
        "endpoints": [{"addresses": []}, {"addresses": ["fe80::1"]}],
        "ports": [{"port": 80, "protocol": "HTTP"}],
    }
    assert messages(create_causes(SLICE, bad)) == [
        "endpoints[0].addresses: Required value: must contain at least 1 address",
        'endpoints[1].addresses[0]: Invalid value: "fe80::1": must be a valid IPv4 address',
        'endpoints[1].addresses[0]: Invalid value: "fe80::1": may not be in the link-local range '
        "(169.254.0.0/16, fe80::/10)",
        'ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
    ]
    old = stored(
        SLICE, {**copy.deepcopy(base), "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"]}]}
    )
    causes = update_causes(SLICE, old, lambda new: new.update(addressType="IPv6", endpoints=[]))
    assert messages(causes) == ['addressType: Invalid value: "IPv6": field is immutable']


# ---------------------------------------------------------------------------------------------
# apps


def test_workload_selectors_and_templates() -> None:
    assert messages(create_causes(DEPLOYMENT, deployment(replicas=-1))) == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    ]
    assert messages(create_causes(DEPLOYMENT, deployment(selector={}))) == [
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"
    ]
    never = deployment(template=template(restartPolicy="Never"))
    assert messages(create_causes(DEPLOYMENT, never)) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'
    ]
    mismatch = deployment(
        selector={"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}
    )
    assert messages(create_causes(DEPLOYMENT, mismatch)) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not '
        "match "
        "template `labels`"
    ]
    bad_op = deployment(selector={"matchExpressions": [{"key": "app", "operator": "Has"}]})
    assert messages(create_causes(DEPLOYMENT, bad_op))[0] == (
        'spec.selector.matchExpressions[0].operator: Invalid value: "Has": not a valid selector operator'
    )


def test_deployment_strategy_rules() -> None:
    causes = create_causes(
        DEPLOYMENT, deployment(strategy={"rollingUpdate": {"maxUnavailable": "x%", "maxSurge": 0}})
    )
    assert messages(causes)[0] == (
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, "
        'StrVal:"x%"}: '
        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', "
        "regex used "
        "for validation is '[0-9]+%')"
    )
    zero = deployment(strategy={"rollingUpdate": {"maxUnavailable": 0, "maxSurge": "0%"}})
    assert messages(create_causes(DEPLOYMENT, zero)) == [
        "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, "
        'StrVal:""}: '
        "may not be 0 when `maxSurge` is 0"
    ]
    recreate = deployment(strategy={"type": "Recreate", "rollingUpdate": {}})
    assert messages(create_causes(DEPLOYMENT, recreate)) == [
        "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"
    ]


def test_selector_is_immutable_on_apps_v1_updates() -> None:
    old = stored(DEPLOYMENT, deployment())
    assert update_causes(DEPLOYMENT, old, lambda new: new["spec"].update(replicas=3)) == []

    def relabel(new: Obj) -> None:
        new["spec"]["selector"] = {"matchLabels": {"app": "web", "v": "2"}}
        new["spec"]["template"]["metadata"]["labels"] = {"app": "web", "v": "2"}

    assert messages(update_causes(DEPLOYMENT, old, relabel)) == [
        'spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "v":"2"}, '
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
    ]
    rs = stored(
        REPLICASET,
        {
            "metadata": {"name": "r", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template()},
        },
    )
    assert messages(update_causes(REPLICASET, rs, relabel))[-1].endswith("field is immutable")


def test_daemonset_rules() -> None:
    ds = {"metadata": {"name": "agent", "namespace": "default"}, "spec": {"template": template()}}
    # without a selector upstream reports only the mismatch: a nil selector matches nothing
    assert messages(create_causes(DAEMONSET, copy.deepcopy(ds))) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not '
        "match "
        "template `labels`"
    ]
    both = copy.deepcopy(ds)
    both["spec"].update(
        selector={"matchLabels": {"app": "web"}},
        updateStrategy={"rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}},
    )
    assert messages(create_causes(DAEMONSET, both)) == [
        "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:0, IntVal:1, "
        'StrVal:""}: '
        "may not be set when maxUnavailable is non-zero"
    ]


# ---------------------------------------------------------------------------------------------
# config, secrets, namespaces, nodes, RBAC, leases, events


def test_config_map_keys_size_and_immutability() -> None:
    cm = {"metadata": {"name": "c", "namespace": "default"}, "data": {"a b": "1", "ok": "x" * (1024 * 1024)}}
    assert messages(create_causes(CONFIGMAP, cm)) == [
        'data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '
        "'-', '_' or "
        "'.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
        "'[-._a-zA-Z0-9]+')",
        ": Too long: may not be more than 1048576 bytes",
    ]
    old = stored(
        CONFIGMAP, {"metadata": {"name": "c", "namespace": "default"}, "data": {"a": "1"}, "immutable": True}
    )
    causes = update_causes(CONFIGMAP, old, lambda new: new["data"].update(a="2"))
    assert messages(causes) == ["data: Forbidden: field is immutable when `immutable` is set"]


def test_secret_type_rules_and_type_immutability() -> None:
    tls = {
        "metadata": {"name": "t", "namespace": "default"},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": "eA=="},
    }
    assert messages(create_causes(SECRET, tls)) == ["data[tls.key]: Required value"]
    old = stored(SECRET, {"metadata": {"name": "s", "namespace": "default"}, "data": {"a": "eA=="}})
    causes = update_causes(
        SECRET, old, lambda new: new.update(type="kubernetes.io/basic-auth", data={"username": "eA=="})
    )
    assert messages(causes) == ['type: Invalid value: "kubernetes.io/basic-auth": field is immutable']


def test_namespace_node_and_service_account_rules() -> None:
    ns = {"metadata": {"name": "n"}, "spec": {"finalizers": ["kubernetes", "bad name"]}}
    assert [c["field"] for c in create_causes(NAMESPACE, ns)] == ["spec.finalizers", "spec.finalizers"]
    node = {"metadata": {"name": "n1"}, "spec": {"taints": [{"key": "k", "effect": "Sometimes"}]}}
    assert messages(create_causes(NODE, node)) == [
        'metadata.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", '
        '"PreferNoSchedule", "NoExecute"'
    ]
    old = stored(
        NODE, {"metadata": {"name": "n1"}, "spec": {"podCIDRs": ["10.42.0.0/24"], "providerID": "p1"}}
    )
    causes = update_causes(NODE, old, lambda new: new["spec"].update(podCIDRs=["10.42.1.0/24"]))
    assert messages(causes) == [
        'spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid'
    ]
    sa = {"metadata": {"name": "Builder", "namespace": "default"}}
    assert messages(create_causes(SERVICEACCOUNT, sa)) == [
        f'metadata.name: Invalid value: "Builder": {DNS1123_SUBDOMAIN_MSG}'
    ]


def test_rbac_rules_and_role_ref_immutability() -> None:
    role = {
        "metadata": {"name": "r", "namespace": "default"},
        "rules": [{"apiGroups": [""], "resources": ["pods"]}],
    }
    assert messages(create_causes(ROLE, role)) == [
        "rules[0].verbs: Required value: verbs must contain at least one value"
    ]
    crb = {
        "metadata": {"name": "b"},
        "roleRef": {"kind": "Role", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "sa"}],
    }
    assert messages(create_causes(CLUSTERROLEBINDING, crb)) == [
        'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
        "subjects[0].namespace: Required value",
    ]
    old = stored(
        ROLEBINDING,
        {
            "metadata": {"name": "b", "namespace": "default"},
            "roleRef": {"kind": "ClusterRole", "name": "view"},
            "subjects": [],
        },
    )
    causes = update_causes(ROLEBINDING, old, lambda new: new["roleRef"].update(name="edit"))
    assert messages(causes) == [
        'roleRef: Invalid value: rbac.RoleRef{APIGroup:"rbac.authorization.k8s.io", Kind:"ClusterRole", '
        'Name:"edit"}: cannot change roleRef'
    ]


def test_lease_and_event_rules() -> None:
    lease = {"metadata": {"name": "l", "namespace": "kube-node-lease"}, "spec": {"leaseDurationSeconds": 0}}
    assert messages(create_causes(LEASE, lease)) == [
        "spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"
    ]
    event = {
        "metadata": {"name": "e", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "namespace": "other"},
    }
    assert messages(create_causes(EVENT, event)) == [
        'involvedObject.namespace: Invalid value: "other": does not match event.namespace'
    ]
    assert (
        create_causes(
            EVENT, {"metadata": {"name": "e", "namespace": "default"}, "involvedObject": {"kind": "Node"}}
        )
        == []
    )


def test_create_only_defaults_stay_off_stored_objects() -> None:
    # /finalize hands back a namespace without finalizers; defaulting must not put "kubernetes" back
    finalized = {"metadata": {"name": "n", "resourceVersion": "9"}, "spec": {"finalizers": []}}
    assert defaulted(NAMESPACE, finalized)["spec"] == {"finalizers": []}
    replaced = {"metadata": {"name": "d", "resourceVersion": "9"}, "spec": {"template": template()}}
    assert "annotations" not in defaulted(DAEMONSET, replaced)["metadata"]
    updated = defaulted(POD, with_meta(pod(), resourceVersion="9"))["spec"]
    assert "serviceAccountName" not in updated
    assert updated["tolerations"] == TOLERATIONS and updated["priority"] == 0
