"""RBAC: Roles and ClusterRoles, bound to users, groups and service accounts (upstream's rbac authorizer).

Built from the stored objects in one pass and then read-only, so the server can rebuild it from a watch
and swap it in. Bindings are indexed by subject: a request only looks at bindings that name its user,
one of its groups or its service account, never at every binding in the cluster.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from distro.apiserver.auth.authorizer import Attributes
from distro.apiserver.auth.user import UserInfo, quote, split_service_account_username

Obj = Mapping[str, Any]
# (kind, namespace, name): namespace is only meaningful for ServiceAccount subjects.
_SubjectKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class _Grant:
    """One binding as it applies to one requester: the first of its subjects that matched."""

    order: int
    binding: Obj
    subject: Obj


class _BindingIndex:
    def __init__(self, bindings: Iterable[Obj], namespace: str) -> None:
        self._by_subject: dict[_SubjectKey, list[tuple[int, int, Obj]]] = {}
        for order, binding in enumerate(bindings):
            for position, subject in enumerate(binding.get("subjects") or ()):
                key = _subject_key(subject, namespace)
                if key is not None:
                    self._by_subject.setdefault(key, []).append((order, position, binding))

    def grants(self, user: UserInfo) -> list[_Grant]:
        """Bindings that apply to USER, in stored order, each with the first subject that matched."""
        first: dict[int, tuple[int, Obj]] = {}
        for key in _keys_for(user):
            for order, position, binding in self._by_subject.get(key, ()):
                if order not in first or position < first[order][0]:
                    first[order] = (position, binding)
        return [
            _Grant(order, binding, binding["subjects"][position])
            for order, (position, binding) in sorted(first.items())
        ]


class RBACAuthorizer:
    def __init__(
        self,
        roles: Iterable[Obj],
        cluster_roles: Iterable[Obj],
        role_bindings: Iterable[Obj],
        cluster_role_bindings: Iterable[Obj],
    ) -> None:
        self._roles = {(_meta(r, "namespace"), _meta(r, "name")): r.get("rules") or [] for r in roles}
        self._cluster_roles = {_meta(r, "name"): r.get("rules") or [] for r in cluster_roles}
        self._cluster_bindings = _BindingIndex(cluster_role_bindings, "")
        by_namespace: dict[str, list[Obj]] = {}
        for binding in role_bindings:
            by_namespace.setdefault(_meta(binding, "namespace"), []).append(binding)
        self._bindings = {ns: _BindingIndex(items, ns) for ns, items in by_namespace.items()}

    def authorize(self, attrs: Attributes) -> tuple[bool, str]:
        """(True, "RBAC: allowed by ...") or (False, reason); the reason is empty unless a binding of this
        user points at a role that does not exist, which upstream reports."""
        errors: list[str] = []
        for source, rule, error in self._visit(attrs.user, attrs.namespace):
            if rule is not None and rule_allows(attrs, rule):
                return True, f"RBAC: allowed by {source}"
            if error is not None and error not in errors:
                errors.append(error)
        if not errors:
            return False, ""
        joined = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
        return False, f"RBAC: {joined}"

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[dict], list[dict]]:
        """(resourceRules, nonResourceRules) in SelfSubjectRulesReview's shape."""
        resource_rules: list[dict] = []
        non_resource_rules: list[dict] = []
        for _, rule, _ in self._visit(user, namespace):
            if rule is None:
                continue
            if rule.get("resources"):
                resource_rules.append(
                    _without_empty(
                        {
                            "verbs": list(rule.get("verbs") or []),
                            "apiGroups": list(rule.get("apiGroups") or []),
                            "resources": list(rule.get("resources") or []),
                            "resourceNames": list(rule.get("resourceNames") or []),
                        }
                    )
                )
            if rule.get("nonResourceURLs"):
                non_resource_rules.append(
                    _without_empty(
                        {
                            "verbs": list(rule.get("verbs") or []),
                            "nonResourceURLs": list(rule.get("nonResourceURLs") or []),
                        }
                    )
                )
        return resource_rules, non_resource_rules

    def _visit(self, user: UserInfo, namespace: str) -> Iterator[tuple[str, Obj | None, str | None]]:
        """(source description, rule, resolution error) for every rule that applies to USER in NAMESPACE:
        cluster-wide bindings first, then the namespace's own, as upstream visits them."""
        for grant in self._cluster_bindings.grants(user):
            yield from self._grant_rules(grant, "")
        if namespace and namespace in self._bindings:
            for grant in self._bindings[namespace].grants(user):
                yield from self._grant_rules(grant, namespace)

    def _grant_rules(self, grant: _Grant, namespace: str) -> Iterator[tuple[str, Obj | None, str | None]]:
        rules, error = self._role_rules(grant.binding.get("roleRef") or {}, namespace)
        if error is not None:
            yield "", None, error
            return
        source = _describe(grant, namespace)
        for rule in rules:
            yield source, rule, None

    def _role_rules(self, ref: Obj, namespace: str) -> tuple[list[Obj], str | None]:
        kind, name = ref.get("kind", ""), ref.get("name", "")
        if kind == "Role":
            rules = self._roles.get((namespace, name))
            if rules is None:
                return [], f"role.rbac.authorization.k8s.io {quote(name)} not found"
            return rules, None
        if kind == "ClusterRole":
            rules = self._cluster_roles.get(name)
            if rules is None:
                return [], f"clusterrole.rbac.authorization.k8s.io {quote(name)} not found"
            return rules, None
        return [], f"unsupported role reference kind: {quote(kind)}"


def rule_allows(attrs: Attributes, rule: Obj) -> bool:
    """Whether one PolicyRule covers the request, with upstream's wildcards: `*` verbs, groups and
    resources, `*/<subresource>`, and a trailing `*` on non-resource URLs."""
    verbs = rule.get("verbs") or ()
    if "*" not in verbs and attrs.verb not in verbs:
        return False
    if not attrs.resource_request:
        return any(_url_matches(pattern, attrs.path) for pattern in rule.get("nonResourceURLs") or ())
    groups = rule.get("apiGroups") or ()
    if "*" not in groups and attrs.api_group not in groups:
        return False
    if not _resource_matches(rule.get("resources") or (), attrs.resource, attrs.subresource):
        return False
    names = rule.get("resourceNames") or ()
    return not names or attrs.name in names


def _resource_matches(patterns: Iterable[str], resource: str, subresource: str) -> bool:
    combined = f"{resource}/{subresource}" if subresource else resource
    for pattern in patterns:
        if pattern in ("*", combined):
            return True
        if subresource and pattern == f"*/{subresource}":
            return True
    return False


def _url_matches(pattern: str, path: str) -> bool:
    if pattern in ("*", path):
        return True
    return pattern.endswith("*") and path.startswith(pattern.rstrip("*"))


def _keys_for(user: UserInfo) -> Iterator[_SubjectKey]:
    yield ("User", "", user.name)
    for group in user.groups:
        yield ("Group", "", group)
    service_account = split_service_account_username(user.name)
    if service_account is not None:
        yield ("ServiceAccount", *service_account)


def _subject_key(subject: Obj, binding_namespace: str) -> _SubjectKey | None:
    kind, name = subject.get("kind"), subject.get("name") or ""
    if kind in ("User", "Group"):
        return (kind, "", name)
    if kind == "ServiceAccount":
        # A RoleBinding may leave the namespace out to mean its own; a ClusterRoleBinding cannot.
        namespace = subject.get("namespace") or binding_namespace
        return ("ServiceAccount", namespace, name) if namespace else None
    return None


def _describe(grant: _Grant, namespace: str) -> str:
    ref = grant.binding.get("roleRef") or {}
    name = _meta(grant.binding, "name")
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    if namespace:
        name = f"{name}/{namespace}"
    return (
        f"{kind} {quote(name)} of {ref.get('kind', '')} {quote(ref.get('name', ''))} "
        f"to {_describe_subject(grant.subject, namespace)}"
    )


def _describe_subject(subject: Obj, binding_namespace: str) -> str:
    kind, name = subject.get("kind", ""), subject.get("name", "")
    if kind == "ServiceAccount":
        return f"{kind} {quote(name + '/' + (subject.get('namespace') or binding_namespace))}"
    return f"{kind} {quote(name)}"


def _meta(obj: Obj, key: str) -> str:
    return (obj.get("metadata") or {}).get(key) or ""


def _without_empty(rule: dict[str, list[str]]) -> dict[str, list[str]]:
    # verbs is required in the API; the other lists are omitempty
    return {k: v for k, v in rule.items() if v or k == "verbs"}
