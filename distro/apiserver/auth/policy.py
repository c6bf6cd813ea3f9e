"""The default RBAC objects kube-apiserver bootstraps (upstream's bootstrappolicy), as stored objects.

`admin`, `edit` and `view` keep their aggregationRule and also carry the rules upstream's aggregation
controller would have written into them, so they work without that controller running.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_API_VERSION = f"{RBAC_GROUP}/v1"
BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AUTOUPDATE_ANNOTATIONS = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
AGGREGATE_TO = "rbac.authorization.k8s.io/aggregate-to-"

READ = "get list watch"
WRITE = "create delete deletecollection patch update"
READ_WRITE = f"{READ} {WRITE}"

Rule = dict[str, list[str]]
Obj = dict[str, Any]


def bootstrap_objects() -> list[Obj]:
    """Every default ClusterRole, then every default ClusterRoleBinding; fresh dicts on each call."""
    return _cluster_roles() + _cluster_role_bindings()


def _rule(
    verbs: str,
    groups: Iterable[str] = (),
    resources: str = "",
    *,
    urls: str = "",
) -> Rule:
    """A PolicyRule as upstream's rule builder makes it: every list sorted, empty lists left out.
    VERBS, RESOURCES and URLS are whitespace-separated, which keeps the long upstream lists readable."""
    fields = {
        "verbs": verbs.split(),
        "apiGroups": groups,
        "resources": resources.split(),
        "nonResourceURLs": urls.split(),
    }
    return {key: sorted(set(values)) for key, values in fields.items() if values}


CORE = [""]


def _aggregate_to_view() -> list[Rule]:
    return [
        _rule(
            READ,
            CORE,
            "pods replicationcontrollers replicationcontrollers/scale serviceaccounts services "
            "services/status endpoints persistentvolumeclaims persistentvolumeclaims/status configmaps",
        ),
        _rule(
            READ,
            CORE,
            "limitranges resourcequotas bindings events pods/status resourcequotas/status namespaces/status "
            "replicationcontrollers/status pods/log",
        ),
        # Reading namespaces at namespace scope means reading *this* namespace.
        _rule(READ, CORE, "namespaces"),
        _rule(READ, ["discovery.k8s.io"], "endpointslices"),
        _rule(
            READ,
            ["apps"],
            "controllerrevisions statefulsets statefulsets/status statefulsets/scale daemonsets "
            "daemonsets/status deployments deployments/status deployments/scale replicasets "
            "replicasets/status replicasets/scale",
        ),
        _rule(READ, ["autoscaling"], "horizontalpodautoscalers horizontalpodautoscalers/status"),
        _rule(READ, ["batch"], "jobs jobs/status cronjobs cronjobs/status"),
        _rule(
            READ,
            ["extensions"],
            "daemonsets daemonsets/status deployments deployments/scale deployments/status ingresses "
            "ingresses/status replicasets replicasets/scale replicasets/status replicationcontrollers/scale "
            "networkpolicies",
        ),
        _rule(READ, ["policy"], "poddisruptionbudgets poddisruptionbudgets/status"),
        _rule(READ, ["networking.k8s.io"], "ingresses ingresses/status networkpolicies"),
    ]


def _aggregate_to_edit() -> list[Rule]:
    return [
        # Read access to the escalating resources.
        _rule(READ, CORE, "pods/attach pods/proxy pods/exec pods/portforward secrets services/proxy"),
        _rule("impersonate", CORE, "serviceaccounts"),
        _rule(WRITE, CORE, "pods pods/attach pods/proxy pods/exec pods/portforward"),
        _rule("create", CORE, "pods/eviction"),
        # No endpoints here: writing them lets a user hijack another Service's traffic (CVE-2021-25740).
        _rule(
            WRITE,
            CORE,
            "replicationcontrollers replicationcontrollers/scale serviceaccounts services services/proxy "
            "persistentvolumeclaims configmaps secrets events",
        ),
        _rule("create", CORE, "serviceaccounts/token"),
        _rule(
            WRITE,
            ["apps"],
            "statefulsets statefulsets/scale daemonsets deployments deployments/scale deployments/rollback "
            "replicasets replicasets/scale",
        ),
        _rule(WRITE, ["autoscaling"], "horizontalpodautoscalers"),
        _rule(WRITE, ["batch"], "jobs cronjobs"),
        _rule(
            WRITE,
            ["extensions"],
            "daemonsets deployments deployments/scale deployments/rollback ingresses replicasets "
            "replicasets/scale replicationcontrollers/scale networkpolicies",
        ),
        _rule(WRITE, ["policy"], "poddisruptionbudgets"),
        _rule(WRITE, ["networking.k8s.io"], "networkpolicies ingresses"),
        _rule(READ_WRITE, ["coordination.k8s.io"], "leases"),
    ]


def _aggregate_to_admin() -> list[Rule]:
    return [
        _rule("create", ["authorization.k8s.io"], "localsubjectaccessreviews"),
        _rule(READ_WRITE, [RBAC_GROUP], "roles rolebindings"),
    ]


def _node_rules() -> list[Rule]:
    """The `system:node` role. Unbound by default (the Node authorizer decides for kubelets); kept so
    `kubectl get clusterroles` and anything that binds it see upstream's content."""
    return [
        _rule("create", ["authentication.k8s.io"], "tokenreviews"),
        _rule("create", ["authorization.k8s.io"], "subjectaccessreviews localsubjectaccessreviews"),
        _rule(READ, CORE, "services"),
        _rule("create get list watch", CORE, "nodes"),
        _rule("update patch", CORE, "nodes/status"),
        _rule("update patch", CORE, "nodes"),
        _rule("create update patch", CORE, "events"),
        _rule(READ, CORE, "pods"),
        _rule("create delete", CORE, "pods"),
        _rule("update patch", CORE, "pods/status"),
        _rule("create", CORE, "pods/eviction"),
        _rule(READ, CORE, "secrets configmaps"),
        _rule("get", CORE, "persistentvolumeclaims persistentvolumes"),
        _rule("get", CORE, "endpoints"),
        _rule("create get list watch", ["certificates.k8s.io"], "certificatesigningrequests"),
        _rule("get create update patch delete", ["coordination.k8s.io"], "leases"),
        _rule("get", ["storage.k8s.io"], "volumeattachments"),
        _rule("create", CORE, "serviceaccounts/token"),
        _rule("get update patch", CORE, "persistentvolumeclaims/status"),
        _rule(READ, ["storage.k8s.io"], "csidrivers"),
        _rule("get create update patch delete", ["storage.k8s.io"], "csinodes"),
        _rule(READ, ["node.k8s.io"], "runtimeclasses"),
    ]


def _cluster_roles() -> list[Obj]:
    view = _aggregate_to_view()
    edit = _merge(_aggregate_to_edit(), view)
    admin = _merge(edit, _aggregate_to_admin())
    return [
        _cluster_role("cluster-admin", [_rule("*", ["*"], "*"), _rule("*", urls="*")]),
        _cluster_role("admin", admin, aggregate_from="admin"),
        _cluster_role("edit", edit, aggregate_from="edit", aggregate_into="admin"),
        _cluster_role("view", view, aggregate_from="view", aggregate_into="edit"),
        _cluster_role("system:aggregate-to-admin", _aggregate_to_admin(), aggregate_into="admin"),
        _cluster_role("system:aggregate-to-edit", _aggregate_to_edit(), aggregate_into="edit"),
        _cluster_role("system:aggregate-to-view", _aggregate_to_view(), aggregate_into="view"),
        _cluster_role(
            "system:basic-user",
            [
                _rule("create", ["authorization.k8s.io"], "selfsubjectaccessreviews selfsubjectrulesreviews"),
                _rule("create", ["authentication.k8s.io"], "selfsubjectreviews"),
            ],
        ),
        _cluster_role(
            "system:discovery",
            [
                _rule(
                    "get",
                    urls="/livez /readyz /healthz /version /version/ /openapi /openapi/* /api /api/* "
                    "/apis /apis/*",
                )
            ],
        ),
        _cluster_role(
            "system:public-info-viewer",
            [_rule("get", urls="/livez /readyz /healthz /version /version/")],
        ),
        _cluster_role(
            "system:monitoring",
            [
                _rule(
                    "get", urls="/metrics /metrics/slis /livez /readyz /healthz /livez/* /readyz/* /healthz/*"
                )
            ],
        ),
        _cluster_role(
            "system:service-account-issuer-discovery",
            [_rule("get", urls="/.well-known/openid-configuration /openid/v1/jwks")],
        ),
        _cluster_role(
            "system:node-bootstrapper",
            [_rule("create get list watch", ["certificates.k8s.io"], "certificatesigningrequests")],
        ),
        _cluster_role("system:node", _node_rules()),
        _cluster_role(
            "system:node-proxier",
            [
                _rule("list watch", CORE, "endpoints services"),
                _rule("get list watch", CORE, "nodes"),
                _rule("create patch update", [*CORE, "events.k8s.io"], "events"),
                _rule("list watch", ["discovery.k8s.io"], "endpointslices"),
            ],
        ),
    ]


def _cluster_role_bindings() -> list[Obj]:
    return [
        _binding("cluster-admin", [_group("system:masters")]),
        _binding("system:monitoring", [_group("system:monitoring")]),
        _binding("system:discovery", [_group("system:authenticated")]),
        _binding("system:basic-user", [_group("system:authenticated")]),
        _binding(
            "system:public-info-viewer", [_group("system:authenticated"), _group("system:unauthenticated")]
        ),
        _binding("system:service-account-issuer-discovery", [_group("system:serviceaccounts")]),
        # Upstream keeps this binding with no subjects: nodes are authorized by the Node authorizer.
        _binding("system:node", []),
        _binding(
            "system:node-proxier", [{"apiGroup": RBAC_GROUP, "kind": "User", "name": "system:kube-proxy"}]
        ),
    ]


def _merge(*rule_lists: list[Rule]) -> list[Rule]:
    """The aggregation controller's union: rules in order, exact duplicates dropped."""
    merged: list[Rule] = []
    for rules in rule_lists:
        for rule in rules:
            if rule not in merged:
                merged.append(rule)
    return merged


def _metadata(name: str, extra_labels: dict[str, str] | None = None) -> Obj:
    return {
        "name": name,
        "labels": {**BOOTSTRAP_LABELS, **(extra_labels or {})},
        "annotations": dict(AUTOUPDATE_ANNOTATIONS),
    }


def _cluster_role(name: str, rules: list[Rule], *, aggregate_from: str = "", aggregate_into: str = "") -> Obj:
    labels = {AGGREGATE_TO + aggregate_into: "true"} if aggregate_into else None
    role: Obj = {"apiVersion": RBAC_API_VERSION, "kind": "ClusterRole", "metadata": _metadata(name, labels)}
    if aggregate_from:
        role["aggregationRule"] = {
            "clusterRoleSelectors": [{"matchLabels": {AGGREGATE_TO + aggregate_from: "true"}}]
        }
    role["rules"] = [{k: list(v) for k, v in rule.items()} for rule in rules]
    return role


def _group(name: str) -> Obj:
    return {"apiGroup": RBAC_GROUP, "kind": "Group", "name": name}


def _binding(role: str, subjects: list[Obj]) -> Obj:
    binding: Obj = {
        "apiVersion": RBAC_API_VERSION,
        "kind": "ClusterRoleBinding",
        "metadata": _metadata(role),
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
    }
    if subjects:
        binding["subjects"] = subjects
    return binding
