"""distro.apiserver.auth: authentication, RBAC, the Node authorizer, bootstrap policy, 403 messages."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from distro.apiserver.auth import (
    ANONYMOUS,
    Attributes,
    AuthenticationError,
    Authenticator,
    NodeAuthorizer,
    RBACAuthorizer,
    UserInfo,
    authorize,
    bootstrap_objects,
    forbidden_error,
    forbidden_message,
    issue_token,
    verify_token,
)
from distro.pki.ca import CertificateAuthority, new_key
from distro.pki.certs import issue_client_cert

NOW = 1_750_000_000.0
RBAC_V1 = "rbac.authorization.k8s.io/v1"

# --------------------------------------------------------------------------------------------- helpers


def role(namespace: str, name: str, *rules: dict) -> dict:
    return {"kind": "Role", "metadata": {"namespace": namespace, "name": name}, "rules": list(rules)}


def cluster_role(name: str, *rules: dict) -> dict:
    return {"kind": "ClusterRole", "metadata": {"name": name}, "rules": list(rules)}


def binding(name: str, ref_kind: str, ref_name: str, *subjects: dict, namespace: str = "") -> dict:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": RBAC_V1,
        "kind": "RoleBinding" if namespace else "ClusterRoleBinding",
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": ref_kind, "name": ref_name},
        "subjects": list(subjects),
    }


def user(name: str) -> dict:
    return {"kind": "User", "name": name}


def group(name: str) -> dict:
    return {"kind": "Group", "name": name}


def sa(name: str, namespace: str = "") -> dict:
    return {"kind": "ServiceAccount", "name": name, **({"namespace": namespace} if namespace else {})}


def rbac_from(objects: list[dict]) -> RBACAuthorizer:
    by_kind: dict[str, list[dict]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], []).append(obj)
    kinds = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
    return RBACAuthorizer(*(by_kind.get(kind, []) for kind in kinds))


def res(who: UserInfo, verb: str, resource: str, namespace: str = "", **kw) -> Attributes:
    return Attributes(user=who, verb=verb, resource=resource, namespace=namespace, **kw)


def url(who: UserInfo, path: str, verb: str = "get") -> Attributes:
    return Attributes(user=who, verb=verb, resource_request=False, path=path)


ALICE = UserInfo("alice", ("system:authenticated",))
BOB = UserInfo("bob", ("team-b", "system:authenticated"))
ROBOT = UserInfo("system:serviceaccount:dev:robot", ("system:serviceaccounts", "system:serviceaccounts:dev"))


@pytest.fixture
def rbac() -> RBACAuthorizer:
    return rbac_from(
        [
            role(
                "dev",
                "pod-reader",
                {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods", "pods/log"]},
            ),
            role(
                "dev",
                "one-config",
                {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["app"]},
            ),
            cluster_role(
                "scaler", {"verbs": ["update", "patch"], "apiGroups": ["apps"], "resources": ["*/scale"]}
            ),
            cluster_role(
                "node-reader",
                {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["nodes"]},
                {"verbs": ["get"], "nonResourceURLs": ["/healthz/*", "/metrics"]},
            ),
            cluster_role("deployer", {"verbs": ["*"], "apiGroups": ["apps"], "resources": ["deployments"]}),
            binding("read-pods", "Role", "pod-reader", user("alice"), namespace="dev"),
            binding("app-config", "Role", "one-config", user("alice"), namespace="dev"),
            binding("scalers", "ClusterRole", "scaler", user("alice"), namespace="dev"),
            binding("nodes", "ClusterRole", "node-reader", group("team-b")),
            binding("robot-deploys", "ClusterRole", "deployer", sa("robot"), namespace="dev"),
            # A ServiceAccount subject without a namespace means nothing in a ClusterRoleBinding.
            binding("nowhere", "ClusterRole", "node-reader", sa("robot")),
        ]
    )


# ------------------------------------------------------------------------------------------------ RBAC


def test_role_binding_grants_exactly_its_rules(rbac):
    allowed = [
        res(ALICE, "get", "pods", "dev", name="web"),
        res(ALICE, "list", "pods", "dev"),
        res(ALICE, "watch", "pods", "dev"),
        res(ALICE, "get", "pods", "dev", subresource="log", name="web"),
    ]
    denied = [
        res(ALICE, "get", "pods", "prod", name="web"),  # other namespace
        res(ALICE, "list", "pods"),  # cluster scope
        res(ALICE, "delete", "pods", "dev", name="web"),  # other verb
        res(ALICE, "create", "pods", "dev", subresource="exec", name="web"),  # other subresource
        res(ALICE, "get", "pods", "dev", api_group="apps"),  # other group
        res(ALICE, "get", "secrets", "dev", name="web"),
        res(BOB, "get", "pods", "dev", name="web"),  # other user
        url(ALICE, "/healthz/etcd"),
    ]
    assert all(rbac.authorize(a)[0] for a in allowed)
    assert [rbac.authorize(a) for a in denied] == [(False, "")] * len(denied)


def test_allow_reason_names_binding_role_and_subject(rbac):
    assert rbac.authorize(res(ALICE, "get", "pods", "dev", name="web")) == (
        True,
        'RBAC: allowed by RoleBinding "read-pods/dev" of Role "pod-reader" to User "alice"',
    )
    assert rbac.authorize(res(BOB, "get", "nodes", name="n1")) == (
        True,
        'RBAC: allowed by ClusterRoleBinding "nodes" of ClusterRole "node-reader" to Group "team-b"',
    )


def test_resource_names_restrict_to_named_objects(rbac):
    assert rbac.authorize(res(ALICE, "get", "configmaps", "dev", name="app"))[0]
    assert not rbac.authorize(res(ALICE, "get", "configmaps", "dev", name="other"))[0]
    # get is granted, list is not: a named list is still a list
    assert not rbac.authorize(res(ALICE, "list", "configmaps", "dev"))[0]


def test_list_with_metadata_name_selector_is_a_named_request(rbac):
    attrs = res(ALICE, "get", "configmaps", "dev", field_selector="metadata.name=app")
    assert attrs.name == ""  # only list/watch take their name from the selector
    watch = res(ROBOT, "watch", "deployments", "dev", api_group="apps", field_selector="metadata.name==web")
    assert watch.name == "web"
    assert res(ALICE, "list", "pods", "dev", field_selector="metadata.name!=x").name == ""
    assert res(ALICE, "list", "pods", "dev", field_selector="metadata.name=a/b").name == ""


def apps(verb: str, resource: str, namespace: str = "dev", subresource: str = "") -> Attributes:
    return res(ALICE, verb, resource, namespace, api_group="apps", subresource=subresource)


def test_subresource_wildcard(rbac):
    assert rbac.authorize(apps("update", "deployments", subresource="scale"))[0]
    assert rbac.authorize(apps("patch", "replicasets", subresource="scale"))[0]
    assert not rbac.authorize(apps("update", "deployments"))[0]
    assert not rbac.authorize(apps("update", "deployments", subresource="status"))[0]


def test_cluster_role_via_role_binding_is_namespace_scoped(rbac):
    assert rbac.authorize(apps("patch", "deployments", subresource="scale"))[0]
    assert not rbac.authorize(apps("patch", "deployments", "prod", subresource="scale"))[0]
    assert not rbac.authorize(apps("patch", "deployments", "", subresource="scale"))[0]


def test_service_account_subjects(rbac):
    allowed, reason = rbac.authorize(res(ROBOT, "delete", "deployments", "dev", api_group="apps", name="web"))
    assert allowed
    assert reason.endswith('to ServiceAccount "robot/dev"')
    assert not rbac.authorize(res(ROBOT, "list", "deployments", "prod", api_group="apps"))[0]
    # the namespace-less SA subject of a ClusterRoleBinding matches no one
    assert not rbac.authorize(res(ROBOT, "get", "nodes", name="n1"))[0]
    impostor = UserInfo("system:serviceaccount:prod:robot", ("system:serviceaccounts",))
    assert not rbac.authorize(res(impostor, "list", "deployments", "dev", api_group="apps"))[0]


def test_non_resource_urls_with_prefix_wildcard(rbac):
    assert rbac.authorize(url(BOB, "/healthz/etcd"))[0]
    assert rbac.authorize(url(BOB, "/metrics"))[0]
    assert not rbac.authorize(url(BOB, "/healthz"))[0]
    assert not rbac.authorize(url(BOB, "/metrics/slis"))[0]
    assert not rbac.authorize(url(BOB, "/metrics", verb="post"))[0]


def test_dangling_role_refs_are_reported_in_the_reason():
    authorizer = rbac_from(
        [
            binding("a", "ClusterRole", "ghost", user("alice")),
            binding("b", "Role", "missing", user("alice"), namespace="dev"),
            binding("c", "ClusterRole", "ghost", group("system:authenticated")),
        ]
    )
    assert authorizer.authorize(res(ALICE, "get", "pods", "dev")) == (
        False,
        'RBAC: [clusterrole.rbac.authorization.k8s.io "ghost" not found, '
        'role.rbac.authorization.k8s.io "missing" not found]',
    )
    assert authorizer.authorize(res(ALICE, "get", "nodes")) == (
        False,
        'RBAC: clusterrole.rbac.authorization.k8s.io "ghost" not found',
    )


def test_rules_for_lists_what_applies_in_the_namespace(rbac):
    resource_rules, non_resource_rules = rbac.rules_for(ALICE, "dev")
    assert resource_rules == [
        {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods", "pods/log"]},
        {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["app"]},
        {"verbs": ["update", "patch"], "apiGroups": ["apps"], "resources": ["*/scale"]},
    ]
    assert non_resource_rules == []
    assert rbac.rules_for(ALICE, "prod") == ([], [])
    assert rbac.rules_for(BOB, "") == (
        [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["nodes"]}],
        [{"verbs": ["get"], "nonResourceURLs": ["/healthz/*", "/metrics"]}],
    )


# ------------------------------------------------------------------------------------- bootstrap policy


@pytest.fixture
def default_rbac() -> RBACAuthorizer:
    return rbac_from(bootstrap_objects())


def test_bootstrap_objects_are_marked_like_upstream():
    objects = bootstrap_objects()
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    for want in ("cluster-admin", "admin", "edit", "view", "system:basic-user", "system:discovery",
                 "system:public-info-viewer", "system:node-bootstrapper"):  # fmt: skip
        assert ("ClusterRole", want) in names
    for obj in objects:
        assert obj["apiVersion"] == RBAC_V1
        assert obj["metadata"]["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults"
        assert obj["metadata"]["annotations"] == {"rbac.authorization.kubernetes.io/autoupdate": "true"}
    bindings = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ClusterRoleBinding"}
    subjects = {name: [s["name"] for s in b.get("subjects", [])] for name, b in bindings.items()}
    assert subjects["cluster-admin"] == ["system:masters"]
    assert subjects["system:basic-user"] == ["system:authenticated"]
    assert subjects["system:discovery"] == ["system:authenticated"]
    assert subjects["system:public-info-viewer"] == ["system:authenticated", "system:unauthenticated"]
    edit = next(o for o in objects if o["metadata"]["name"] == "edit")
    assert edit["aggregationRule"]["clusterRoleSelectors"] == [
        {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-edit": "true"}}
    ]
    assert edit["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-admin"] == "true"
    # fresh objects each call: the caller may store and mutate them
    objects[0]["metadata"]["name"] = "changed"
    assert bootstrap_objects()[0]["metadata"]["name"] == "cluster-admin"


def test_bootstrap_anonymous_and_authenticated_access(default_rbac):
    assert default_rbac.authorize(url(ANONYMOUS, "/healthz"))[0]
    assert default_rbac.authorize(url(ANONYMOUS, "/version"))[0]
    assert not default_rbac.authorize(url(ANONYMOUS, "/api"))[0]
    assert not default_rbac.authorize(res(ANONYMOUS, "list", "pods", "default"))[0]
    assert default_rbac.authorize(url(ALICE, "/apis/apps/v1"))[0]
    assert default_rbac.authorize(url(ALICE, "/openapi/v3"))[0]
    review = res(ALICE, "create", "selfsubjectaccessreviews", api_group="authorization.k8s.io")
    assert default_rbac.authorize(review)[0]
    assert not default_rbac.authorize(res(ALICE, "list", "pods", "default"))[0]


def test_bootstrap_cluster_admin_for_system_masters(default_rbac):
    admin = UserInfo("system:admin", ("system:masters", "system:authenticated"))
    assert default_rbac.authorize(res(admin, "deletecollection", "widgets", "x", api_group="example.com"))[0]
    assert default_rbac.authorize(url(admin, "/anything/at/all", verb="post"))[0]


@pytest.mark.parametrize(
    ("role_name", "attrs", "allowed"),
    [
        ("view", dict(verb="list", resource="deployments", api_group="apps"), True),
        ("view", dict(verb="get", resource="pods", subresource="log", name="p"), True),
        ("view", dict(verb="watch", resource="endpointslices", api_group="discovery.k8s.io"), True),
        ("view", dict(verb="get", resource="secrets", name="s"), False),
        ("view", dict(verb="create", resource="configmaps"), False),
        ("edit", dict(verb="create", resource="deployments", api_group="apps"), True),
        ("edit", dict(verb="get", resource="secrets", name="s"), True),
        ("edit", dict(verb="create", resource="pods", subresource="exec", name="p"), True),
        ("edit", dict(verb="update", resource="leases", api_group="coordination.k8s.io", name="l"), True),
        ("edit", dict(verb="update", resource="endpoints", name="e"), False),
        ("edit", dict(verb="create", resource="rolebindings", api_group="rbac.authorization.k8s.io"), False),
        ("edit", dict(verb="update", resource="pods", subresource="status", name="p"), False),
        ("admin", dict(verb="create", resource="rolebindings", api_group="rbac.authorization.k8s.io"), True),
        ("admin", dict(verb="list", resource="pods"), True),
        ("admin", dict(verb="create", resource="namespaces"), False),
    ],
)
def test_bootstrap_namespace_roles(role_name, attrs, allowed):
    objects = [*bootstrap_objects(), binding("b", "ClusterRole", role_name, user("carol"), namespace="team")]
    authorizer = rbac_from(objects)
    carol = UserInfo("carol", ("system:authenticated",))
    assert authorizer.authorize(Attributes(user=carol, namespace="team", **attrs))[0] is allowed
    assert not authorizer.authorize(Attributes(user=carol, namespace="other", **attrs))[0]


# ----------------------------------------------------------------------------------------------- Node

N1 = UserInfo("system:node:n1", ("system:nodes", "system:authenticated"))
PODS = {("default", "on-n1"): "n1", ("default", "on-n2"): "n2", ("default", "pending"): None}
NO_RELATION = "no relationship found between node 'n1' and this object"


@pytest.fixture
def node_authz() -> NodeAuthorizer:
    return NodeAuthorizer(lambda namespace, name: PODS.get((namespace, name)))


def test_node_reads_and_writes_only_its_own_node(node_authz):
    assert node_authz.authorize(res(N1, "get", "nodes", name="n1")) == (True, "")
    assert node_authz.authorize(res(N1, "watch", "nodes", field_selector="metadata.name=n1")) == (True, "")
    assert node_authz.authorize(res(N1, "get", "nodes", name="n2")) == (
        False,
        "node 'n1' cannot read 'n2', only its own Node object",
    )
    assert node_authz.authorize(res(N1, "list", "nodes")) == (
        False,
        "node 'n1' cannot read all nodes, only its own Node object",
    )
    assert node_authz.authorize(res(N1, "create", "nodes")) == (True, "")
    assert node_authz.authorize(res(N1, "patch", "nodes", name="n1", subresource="status")) == (True, "")
    assert node_authz.authorize(res(N1, "update", "nodes", name="n1")) == (True, "")
    for verb, sub in (("update", ""), ("patch", ""), ("patch", "status"), ("update", "status")):
        assert node_authz.authorize(res(N1, verb, "nodes", name="n2", subresource=sub)) == (
            False,
            'node "n1" is not allowed to modify node "n2"',
        )
    assert node_authz.authorize(res(N1, "create", "nodes", name="n2"))[0] is False
    assert node_authz.authorize(res(N1, "delete", "nodes", name="n1")) is None  # RBAC decides


def test_node_touches_only_pods_bound_to_it(node_authz):
    assert node_authz.authorize(res(N1, "get", "pods", "default", name="on-n1")) == (True, "")
    assert node_authz.authorize(res(N1, "patch", "pods", "default", name="on-n1", subresource="status")) == (
        True,
        "",
    )
    assert node_authz.authorize(res(N1, "delete", "pods", "default", name="on-n1")) == (True, "")
    for attrs in (
        res(N1, "get", "pods", "default", name="on-n2"),
        res(N1, "get", "pods", "default", name="pending"),
        res(N1, "get", "pods", "default", name="unknown"),
        res(N1, "update", "pods", "default", name="on-n2", subresource="status"),
        res(N1, "delete", "pods", "default", name="on-n2"),
        res(N1, "create", "pods", "default", name="on-n2", subresource="eviction"),
        res(N1, "watch", "pods", "default", field_selector="metadata.name=on-n2"),
    ):
        assert node_authz.authorize(attrs) == (False, NO_RELATION), attrs


def test_node_lists_pods_only_with_its_node_name_selector(node_authz):
    assert node_authz.authorize(res(N1, "watch", "pods", field_selector="spec.nodeName=n1")) == (True, "")
    both = "status.phase=Running,spec.nodeName==n1"
    assert node_authz.authorize(res(N1, "list", "pods", field_selector=both)) == (True, "")
    refused = (False, "can only list/watch pods with spec.nodeName field selector")
    assert node_authz.authorize(res(N1, "list", "pods", field_selector="spec.nodeName=n2")) == refused
    assert node_authz.authorize(res(N1, "list", "pods", field_selector="spec.nodeName!=n2")) == refused
    assert node_authz.authorize(res(N1, "list", "pods", "default")) == refused


def test_node_leases(node_authz):
    def lease(verb: str, namespace: str = "kube-node-lease", **kw) -> Attributes:
        return res(N1, verb, "leases", namespace, api_group="coordination.k8s.io", **kw)

    for verb in ("get", "update", "patch", "delete"):
        assert node_authz.authorize(lease(verb, name="n1")) == (True, "")
    assert node_authz.authorize(lease("create")) == (True, "")
    assert node_authz.authorize(lease("watch", field_selector="metadata.name=n1")) == (True, "")
    same_name = "can only access node lease with the same name as the requesting node"
    assert node_authz.authorize(lease("update", name="n2")) == (False, same_name)
    assert node_authz.authorize(lease("create", name="n2")) == (False, same_name)
    assert node_authz.authorize(lease("get", "kube-system", name="n1")) == (
        False,
        'can only access leases in the "kube-node-lease" system namespace',
    )
    assert node_authz.authorize(lease("list")) == (
        False,
        "can only get, create, update, patch, or delete a node lease",
    )


def test_node_secret_and_configmap_reads(node_authz):
    assert node_authz.authorize(res(N1, "get", "secrets", "default", name="s")) == (True, "")
    one = res(N1, "watch", "configmaps", "default", field_selector="metadata.name=c")
    assert node_authz.authorize(one) == (True, "")
    assert node_authz.authorize(res(N1, "list", "secrets", "default")) == (False, "No Object name found")
    assert node_authz.authorize(res(N1, "update", "configmaps", "default", name="c")) == (
        False,
        "can only read resources of this type",
    )
    assert node_authz.authorize(res(N1, "list", "secrets")) == (
        False,
        "can only read namespaced object of this type",
    )
    referenced = {("n1", "secrets", "default", "mine")}
    strict = NodeAuthorizer(lambda ns, name: None, lambda *key: key in referenced)
    assert strict.authorize(res(N1, "get", "secrets", "default", name="mine")) == (True, "")
    assert strict.authorize(res(N1, "get", "secrets", "default", name="theirs")) == (False, NO_RELATION)


def test_node_static_rules_and_no_opinion(node_authz):
    assert node_authz.authorize(res(N1, "watch", "services")) == (True, "")
    assert node_authz.authorize(res(N1, "list", "endpointslices", api_group="discovery.k8s.io")) == (True, "")
    assert node_authz.authorize(res(N1, "create", "events", "default")) == (True, "")
    assert node_authz.authorize(res(N1, "delete", "services", "default", name="x")) is None
    assert node_authz.authorize(res(N1, "list", "deployments", api_group="apps")) is None
    assert node_authz.authorize(url(N1, "/api")) is None
    assert node_authz.authorize(res(ALICE, "get", "nodes", name="n1")) is None
    # the node name alone is not enough: kubelets are also in system:nodes
    assert node_authz.authorize(res(UserInfo("system:node:n1"), "get", "nodes", name="n1")) is None
    assert node_authz.authorize(res(UserInfo("system:node:", ("system:nodes",)), "get", "nodes")) == (
        False,
        'unknown node for user "system:node:"',
    )


def test_chain_masters_node_then_rbac(node_authz, default_rbac):
    admin = UserInfo("system:admin", ("system:masters",))
    assert authorize(res(admin, "delete", "nodes", name="n2"), node_authz, rbac_from([])) == (True, "")
    # discovery is not the Node authorizer's business: RBAC's system:discovery binding allows it
    assert authorize(url(N1, "/apis"), node_authz, default_rbac)[0]
    assert authorize(res(N1, "get", "pods", "default", name="on-n1"), node_authz, default_rbac) == (True, "")
    denied = res(N1, "get", "pods", "default", name="on-n2")
    assert authorize(denied, node_authz, default_rbac) == (False, NO_RELATION)
    # RBAC can still grant what the Node authorizer refuses, as upstream's union does
    generous = rbac_from(
        [
            cluster_role("pods", {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}),
            binding("nodes-read-pods", "ClusterRole", "pods", group("system:nodes")),
        ]
    )
    assert authorize(denied, node_authz, generous)[0]
    assert authorize(res(ALICE, "get", "pods", "default"), None, default_rbac) == (False, "")


# ------------------------------------------------------------------------------------ 403 messages


def test_forbidden_message_shapes():
    assert forbidden_message(res(ALICE, "get", "pods", "default", name="x")) == (
        'pods "x" is forbidden: User "alice" cannot get resource "pods" in API group "" '
        'in the namespace "default"'
    )
    assert forbidden_message(res(BOB, "list", "nodes")) == (
        'nodes is forbidden: User "bob" cannot list resource "nodes" in API group "" at the cluster scope'
    )
    assert forbidden_message(res(ALICE, "get", "pods", "dev", name="web", subresource="log")) == (
        'pods "web" is forbidden: User "alice" cannot get resource "pods/log" in API group "" '
        'in the namespace "dev"'
    )
    assert forbidden_message(res(ALICE, "patch", "deployments", "dev", api_group="apps", name="w")) == (
        'deployments.apps "w" is forbidden: User "alice" cannot patch resource "deployments" '
        'in API group "apps" in the namespace "dev"'
    )
    assert forbidden_message(url(UserInfo("x"), "/foo")) == 'forbidden: User "x" cannot get path "/foo"'
    assert forbidden_message(res(N1, "get", "pods", "default", name="on-n2"), NO_RELATION) == (
        'pods "on-n2" is forbidden: User "system:node:n1" cannot get resource "pods" in API group "" '
        "in the namespace \"default\": no relationship found between node 'n1' and this object"
    )
    watch = res(N1, "watch", "nodes", field_selector="metadata.name=n2")
    assert forbidden_message(watch).startswith('nodes "n2" is forbidden: User "system:node:n1" cannot watch')


def test_forbidden_error_status():
    err = forbidden_error(res(ALICE, "get", "deployments", "dev", api_group="apps", name="w"))
    body = err.status()
    assert (body["code"], body["reason"]) == (403, "Forbidden")
    assert body["details"] == {"name": "w", "group": "apps", "kind": "deployments"}
    assert body["message"].startswith('deployments.apps "w" is forbidden: ')
    assert forbidden_error(res(ALICE, "list", "pods")).status()["details"] == {"kind": "pods"}
    assert forbidden_error(url(ALICE, "/x")).status()["details"] == {}


# ------------------------------------------------------------------------------- service-account JWTs

SA_KEY = new_key()


def token(**kw) -> str:
    args = dict(
        namespace="dev",
        service_account="robot",
        sa_uid="uid-1",
        audiences=["https://kubernetes.default.svc.cluster.local"],
        expiration_seconds=3600,
        now=NOW,
    )
    return issue_token(SA_KEY, **{**args, **kw})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_sa_token_round_trip_has_upstream_claims():
    tok = token(bound_pod=("web-0", "pod-uid"))
    header, claims = (json.loads(unb64(part)) for part in tok.split(".")[:2])
    assert header["alg"] == "ES256" and header["kid"]
    assert claims["iss"] == "https://kubernetes.default.svc.cluster.local"
    assert claims["sub"] == "system:serviceaccount:dev:robot"
    assert claims["kubernetes.io"] == {
        "namespace": "dev",
        "serviceaccount": {"name": "robot", "uid": "uid-1"},
        "pod": {"name": "web-0", "uid": "pod-uid"},
    }
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (NOW, NOW, NOW + 3600)
    who = verify_token(SA_KEY.public_key(), tok, now=NOW + 10)
    assert who.name == "system:serviceaccount:dev:robot"
    assert who.groups == ("system:serviceaccounts", "system:serviceaccounts:dev")
    assert who.uid == "uid-1"
    assert who.extra["authentication.kubernetes.io/pod-name"] == ("web-0",)
    assert who.extra["authentication.kubernetes.io/credential-id"] == (f"JTI={claims['jti']}",)


def test_sa_token_expiry_with_upstream_leeway():
    tok = token(expiration_seconds=600)
    assert verify_token(SA_KEY.public_key(), tok, now=NOW + 600 + 59).name.endswith(":robot")
    with pytest.raises(AuthenticationError, match="has expired"):
        verify_token(SA_KEY.public_key(), tok, now=NOW + 600 + 61)
    with pytest.raises(AuthenticationError, match="not valid yet"):
        verify_token(SA_KEY.public_key(), tok, now=NOW - 120)


def test_sa_token_tampering_is_refused():
    tok = token()
    header, payload, signature = tok.split(".")
    claims = json.loads(unb64(payload))
    claims["kubernetes.io"]["namespace"] = "kube-system"
    claims["sub"] = "system:serviceaccount:kube-system:robot"
    forged = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    none_header = b64(json.dumps({"alg": "none"}).encode())
    unsigned = f"{none_header}.{payload}."
    for bad in (forged, f"{header}.{payload}.{flipped}", unsigned, f"{header}.{payload}", "a.b.c"):
        with pytest.raises(AuthenticationError):
            verify_token(SA_KEY.public_key(), bad, now=NOW)
    with pytest.raises(AuthenticationError, match="signature"):
        verify_token(new_key().public_key(), tok, now=NOW)


def resign(tok: str, edit) -> str:
    """TOK with its claims changed by EDIT and signed again with the real key: a token we could have
    issued ourselves, so only the claim checks can refuse it."""
    header, payload, _ = tok.split(".")
    claims = json.loads(unb64(payload))
    edit(claims)
    signing_input = f"{header}.{b64(json.dumps(claims).encode())}"
    r, s = decode_dss_signature(SA_KEY.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def test_sa_token_claims_must_name_one_service_account():
    assert verify_token(SA_KEY.public_key(), resign(token(), lambda c: None), now=NOW).name
    cases = [
        (lambda c: c.update(sub="system:serviceaccount:kube-system:robot"), "subject"),
        (lambda c: c.pop("kubernetes.io"), "kubernetes.io"),
        (lambda c: c["kubernetes.io"].pop("serviceaccount"), "does not name"),
        (lambda c: c.pop("exp"), "no expiry"),
        (lambda c: c.update(iat=NOW + 3600), "issued in the future"),
    ]
    for edit, why in cases:
        with pytest.raises(AuthenticationError, match=why):
            verify_token(SA_KEY.public_key(), resign(token(), edit), now=NOW)


def test_sa_token_audience_and_issuer():
    tok = token(audiences=["vault"])
    with pytest.raises(AuthenticationError, match='token audiences \\["vault"\\] is invalid'):
        verify_token(SA_KEY.public_key(), tok, now=NOW)
    assert verify_token(SA_KEY.public_key(), tok, now=NOW, audiences=["vault", "other"]).name
    with pytest.raises(AuthenticationError, match="issuer"):
        verify_token(SA_KEY.public_key(), token(issuer="https://elsewhere"), now=NOW)


# ----------------------------------------------------------------------------------- authentication

SECRETS: dict[tuple[str, str], dict] = {}


async def lookup(namespace: str, name: str) -> dict | None:
    return SECRETS.get((namespace, name))


def bootstrap_secret(token_id: str, token_secret: str, **extra: str) -> dict:
    data = {
        "token-id": token_id,
        "token-secret": token_secret,
        "usage-bootstrap-authentication": "true",
        **extra,
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"},
        "type": "bootstrap.kubernetes.io/token",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


@pytest.fixture
def authn() -> Authenticator:
    SECRETS.clear()
    SECRETS[("kube-system", "bootstrap-token-abcdef")] = bootstrap_secret(
        "abcdef",
        "0123456789abcdef",
        expiration="2099-01-01T00:00:00Z",
        **{"auth-extra-groups": "system:bootstrappers:edgek8s:agents"},
    )
    SECRETS[("kube-system", "bootstrap-token-old000")] = bootstrap_secret(
        "old000", "0123456789abcdef", expiration="2020-01-01T00:00:00Z"
    )
    SECRETS[("kube-system", "bootstrap-token-nouse0")] = bootstrap_secret("nouse0", "0123456789abcdef")
    SECRETS[("kube-system", "bootstrap-token-nouse0")]["data"]["usage-bootstrap-authentication"] = ""
    SECRETS[("kube-system", "bootstrap-token-badgrp")] = bootstrap_secret(
        "badgrp", "0123456789abcdef", **{"auth-extra-groups": "system:masters"}
    )
    wrong_type = bootstrap_secret("opaque", "0123456789abcdef")
    wrong_type["type"] = "Opaque"
    SECRETS[("kube-system", "bootstrap-token-opaque")] = wrong_type
    node = UserInfo("system:node:n1", ("system:nodes",))
    return Authenticator(
        service_account_public_key=SA_KEY.public_key(),
        lookup_secret=lookup,
        static_tokens={"node-token-n1": node},
    )


async def test_no_credentials_is_none(authn):
    assert await authn.authenticate(None, None) is None
    assert await authn.authenticate(None, "Basic dXNlcjpwYXNz") is None
    assert await authn.authenticate(None, "Bearer ") is None


async def test_static_token(authn):
    who = await authn.authenticate(None, "Bearer node-token-n1")
    assert who == UserInfo("system:node:n1", ("system:nodes", "system:authenticated"))
    assert await authn.authenticate(None, "bearer node-token-n1") == who
    with pytest.raises(AuthenticationError):
        await authn.authenticate(None, "Bearer node-token-n2")


async def test_bootstrap_tokens(authn):
    who = await authn.authenticate(None, "Bearer abcdef.0123456789abcdef", now=NOW)
    assert who == UserInfo(
        "system:bootstrap:abcdef",
        ("system:bootstrappers", "system:bootstrappers:edgek8s:agents", "system:authenticated"),
    )
    for bad, why in (
        ("abcdef.0123456789abcdee", "wrong secret"),
        ("old000.0123456789abcdef", "expired"),
        ("nouse0.0123456789abcdef", "not for authentication"),
        ("badgrp.0123456789abcdef", "invalid extra group"),
        ("opaque.0123456789abcdef", "not a bootstrap token"),
        ("zzzzzz.0123456789abcdef", "no secret"),
    ):
        with pytest.raises(AuthenticationError, match=why):
            await authn.authenticate(None, f"Bearer {bad}", now=NOW)


async def test_bootstrap_tokens_need_a_secret_lookup():
    no_lookup = Authenticator(service_account_public_key=SA_KEY.public_key())
    with pytest.raises(AuthenticationError):
        await no_lookup.authenticate(None, "Bearer abcdef.0123456789abcdef")


async def test_service_account_bearer_token(authn):
    who = await authn.authenticate(None, f"Bearer {token()}", now=NOW + 1)
    assert who.name == "system:serviceaccount:dev:robot"
    assert who.groups == ("system:serviceaccounts", "system:serviceaccounts:dev", "system:authenticated")
    with pytest.raises(AuthenticationError, match="expired"):
        await authn.authenticate(None, f"Bearer {token()}", now=NOW + 7200)


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create()


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


async def test_client_certificate_identity(authn, ca):
    cert = issue_client_cert(ca, "alice", ["dev", "ops"]).cert
    assert await authn.authenticate(der(cert), None) == UserInfo(
        "alice", ("dev", "ops", "system:authenticated")
    )
    # the certificate is tried first; a token alongside it is not consulted
    assert (await authn.authenticate(der(cert), "Bearer nonsense")).name == "alice"
    admin = issue_client_cert(ca, "system:admin", ["system:masters"]).cert
    assert (await authn.authenticate(der(admin), None)).groups == ("system:masters", "system:authenticated")


async def test_unusable_client_certificate(authn, ca):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")])
    server_cert = ca.sign(subject, new_key().public_key(), "server", [x509.DNSName("localhost")])
    with pytest.raises(AuthenticationError, match="client authentication"):
        await authn.authenticate(der(server_cert), None)
    # a valid token still authenticates a connection whose certificate does not
    assert (await authn.authenticate(der(server_cert), "Bearer node-token-n1")).name == "system:node:n1"
