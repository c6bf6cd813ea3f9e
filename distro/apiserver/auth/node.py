"""The Node authorizer: what a kubelet (`system:node:<name>` in `system:nodes`) may do, by relationship.

Upstream (v1.32, AuthorizeNodeWithSelectors on) limits a node to its own Node, its own Lease, the pods
bound to it and the objects those pods use. We know which node a pod is bound to; which secrets and
configmaps a pod references is left to an optional `references` callback, without which a node may read
any single named secret or configmap (never list a whole namespace of them).

Decisions: (True, "") allows; (False, reason) is upstream's "no opinion, with a reason" — RBAC may still
allow it, and if it does not, the reason ends the 403 message; None means this authorizer has nothing to
say (not a node, or a request it does not subdivide, such as discovery) and RBAC alone decides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from distro.apiserver.auth.authorizer import Attributes
from distro.apiserver.auth.rbac import rule_allows
from distro.apiserver.auth.user import NODE_USER_PREFIX, NODES_GROUP, UserInfo, quote

NODE_LEASE_NAMESPACE = "kube-node-lease"

Decision = tuple[bool, str] | None
PodNode = Callable[[str, str], str | None]
# (node name, resource, namespace, name) -> whether a pod bound to that node uses the object
References = Callable[[str, str, str, str], bool]

_READ = ["get", "list", "watch"]
# Requests not subdivided by relationship: every node gets these, as upstream's static node rules.
# Upstream grants only `get` on endpoints; list/watch of endpoints and endpointslices is here because
# our agent's service proxy runs under the node's identity.
_STATIC_RULES: list[dict[str, Any]] = [
    {"verbs": _READ, "apiGroups": [""], "resources": ["services", "endpoints"]},
    {"verbs": _READ, "apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"]},
    {"verbs": ["create", "patch", "update"], "apiGroups": [""], "resources": ["events"]},
]


class NodeAuthorizer:
    def __init__(self, pod_node: PodNode, references: References | None = None) -> None:
        self._pod_node = pod_node
        self._references = references
        self._handlers: dict[tuple[str, str], Callable[[str, Attributes], Decision]] = {
            ("", "nodes"): self._node,
            ("", "pods"): self._pod,
            ("", "secrets"): self._read_referenced,
            ("", "configmaps"): self._read_referenced,
            ("coordination.k8s.io", "leases"): self._lease,
        }

    def authorize(self, attrs: Attributes) -> Decision:
        node = node_name(attrs.user)
        if node is None:
            return None
        if not node:
            return False, f"unknown node for user {quote(attrs.user.name)}"
        if not attrs.resource_request:
            return None
        handler = self._handlers.get((attrs.api_group, attrs.resource))
        if handler is not None:
            return handler(node, attrs)
        if any(rule_allows(attrs, rule) for rule in _STATIC_RULES):
            return True, ""
        return None

    def _node(self, node: str, attrs: Attributes) -> Decision:
        verb, name = attrs.verb, attrs.name
        if attrs.subresource == "" and verb in _READ:
            if name == node:
                return True, ""
            if not name:
                return False, f"node '{node}' cannot read all nodes, only its own Node object"
            return False, f"node '{node}' cannot read '{name}', only its own Node object"
        writes_object = attrs.subresource == "" and verb in ("create", "update", "patch")
        writes_status = attrs.subresource == "status" and verb in ("update", "patch")
        if writes_object or writes_status:
            # A create names its object only in the body: the caller checks metadata.name == node
            # (upstream's NodeRestriction admission) before storing it.
            if name in ("", node):
                return True, ""
            return False, f"node {quote(node)} is not allowed to modify node {quote(name)}"
        return None

    def _pod(self, node: str, attrs: Attributes) -> Decision:
        verb, sub = attrs.verb, attrs.subresource
        if sub == "":
            if verb in ("list", "watch"):
                if attrs.field_requirement("spec.nodeName") == node:
                    return True, ""
                if attrs.name:
                    return self._bound_here(node, attrs)
                return False, "can only list/watch pods with spec.nodeName field selector"
            if verb in ("get", "delete"):
                return self._bound_here(node, attrs)
            # Creating (mirror) pods needs NodeRestriction admission, which we do not have: RBAC decides.
            return None
        if (sub == "status" and verb in ("update", "patch")) or (sub == "eviction" and verb == "create"):
            return self._bound_here(node, attrs)
        return None

    def _bound_here(self, node: str, attrs: Attributes) -> Decision:
        if not attrs.name:
            return False, "No Object name found"
        if self._pod_node(attrs.namespace, attrs.name) == node:
            return True, ""
        return False, _no_relationship(node)

    def _read_referenced(self, node: str, attrs: Attributes) -> Decision:
        if attrs.verb not in _READ:
            return False, "can only read resources of this type"
        if attrs.subresource:
            return False, "cannot read subresource"
        if not attrs.namespace:
            return False, "can only read namespaced object of this type"
        if not attrs.name:
            return False, "No Object name found"
        if self._references is None or self._references(node, attrs.resource, attrs.namespace, attrs.name):
            return True, ""
        return False, _no_relationship(node)

    def _lease(self, node: str, attrs: Attributes) -> Decision:
        verb = attrs.verb
        # list/watch of the node's own lease (named via metadata.name) is a read of one object, like get.
        own_read = verb in ("list", "watch") and attrs.name == node
        if verb not in ("get", "create", "update", "patch", "delete") and not own_read:
            return False, "can only get, create, update, patch, or delete a node lease"
        if attrs.namespace != NODE_LEASE_NAMESPACE:
            return False, f"can only access leases in the {quote(NODE_LEASE_NAMESPACE)} system namespace"
        # A create names its lease only in the body; the caller checks it as for Nodes.
        if attrs.name != node and not (verb == "create" and not attrs.name):
            return False, "can only access node lease with the same name as the requesting node"
        return True, ""


def node_name(user: UserInfo) -> str | None:
    """The node a user speaks for (upstream's NodeIdentity): "" for a node we cannot name, None for a
    user who is not a node at all."""
    if not user.name.startswith(NODE_USER_PREFIX) or NODES_GROUP not in user.groups:
        return None
    return user.name[len(NODE_USER_PREFIX) :]


def _no_relationship(node: str) -> str:
    return f"no relationship found between node '{node}' and this object"
