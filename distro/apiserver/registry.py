"""The table of served resources: every route, discovery document, OpenAPI path, printer and storage
prefix is derived from these declarations (upstream's generic registry idea)."""

from __future__ import annotations

from dataclasses import dataclass, field

# subresources a resource may declare
STATUS, SCALE, BINDING, EVICTION, LOG, EXEC = "status", "scale", "binding", "eviction", "log", "exec"

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceDef:
    group: str  # "" for core
    version: str
    kind: str
    plural: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    # fields usable in fieldSelector besides metadata.name / metadata.namespace
    selectable_fields: tuple[str, ...] = ()
    # the OpenAPI component of the kind, e.g. io.k8s.api.core.v1.Pod
    schema_name: str = ""
    # the status subresource owns .status: writes to the main resource keep the stored status
    has_status: bool = False
    generation_tracked: bool = False
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    @property
    def field_selector_fields(self) -> tuple[str, ...]:
        # upstream's Node and Namespace field conversions do not accept metadata.namespace
        common = (
            ("metadata.name",)
            if self.kind in ("Node", "Namespace")
            else ("metadata.name", "metadata.namespace")
        )
        return common + self.selectable_fields

    @property
    def qualified(self) -> str:
        """`pods`, `deployments.apps`: upstream's GroupResource string, used in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


def _core(kind: str, plural: str, pkg: str = "core", **kw) -> ResourceDef:
    return ResourceDef("", "v1", kind, plural, schema_name=f"io.k8s.api.{pkg}.v1.{kind}", **kw)


def _group(group: str, pkg: str, kind: str, plural: str, **kw) -> ResourceDef:
    return ResourceDef(group, "v1", kind, plural, schema_name=f"io.k8s.api.{pkg}.v1.{kind}", **kw)


RESOURCES: tuple[ResourceDef, ...] = (
    _core(
        "Namespace",
        "namespaces",
        namespaced=False,
        short_names=("ns",),
        subresources=(STATUS,),
        has_status=True,
        selectable_fields=("status.phase",),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    ),
    _core(
        "Node",
        "nodes",
        namespaced=False,
        short_names=("no",),
        subresources=(STATUS,),
        has_status=True,
        selectable_fields=("spec.unschedulable",),
    ),
    _core(
        "Pod",
        "pods",
        namespaced=True,
        short_names=("po",),
        categories=("all",),
        subresources=(STATUS, BINDING, EVICTION, LOG, EXEC),
        has_status=True,
        selectable_fields=(
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ),
    ),
    _core(
        "Service",
        "services",
        namespaced=True,
        short_names=("svc",),
        categories=("all",),
        subresources=(STATUS,),
        has_status=True,
        selectable_fields=("spec.clusterIP", "spec.type"),
        verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
    ),
    _core("Endpoints", "endpoints", namespaced=True, short_names=("ep",), singular="endpoints"),
    _core("ConfigMap", "configmaps", namespaced=True, short_names=("cm",)),
    _core("Secret", "secrets", namespaced=True, selectable_fields=("type",)),
    _core("ServiceAccount", "serviceaccounts", namespaced=True, short_names=("sa",)),
    _core(
        "Event",
        "events",
        namespaced=True,
        short_names=("ev",),
        selectable_fields=(
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ),
    ),
    _group(
        "apps",
        "apps",
        "Deployment",
        "deployments",
        namespaced=True,
        short_names=("deploy",),
        categories=("all",),
        subresources=(STATUS, SCALE),
        has_status=True,
        generation_tracked=True,
    ),
    _group(
        "apps",
        "apps",
        "ReplicaSet",
        "replicasets",
        namespaced=True,
        short_names=("rs",),
        categories=("all",),
        subresources=(STATUS, SCALE),
        has_status=True,
        generation_tracked=True,
    ),
    _group(
        "apps",
        "apps",
        "DaemonSet",
        "daemonsets",
        namespaced=True,
        short_names=("ds",),
        categories=("all",),
        subresources=(STATUS,),
        has_status=True,
        generation_tracked=True,
    ),
    _group("discovery.k8s.io", "discovery", "EndpointSlice", "endpointslices", namespaced=True),
    _group("coordination.k8s.io", "coordination", "Lease", "leases", namespaced=True),
    _group("rbac.authorization.k8s.io", "rbac", "Role", "roles", namespaced=True),
    _group("rbac.authorization.k8s.io", "rbac", "ClusterRole", "clusterroles", namespaced=False),
    _group("rbac.authorization.k8s.io", "rbac", "RoleBinding", "rolebindings", namespaced=True),
    _group(
        "rbac.authorization.k8s.io", "rbac", "ClusterRoleBinding", "clusterrolebindings", namespaced=False
    ),
)

# Kinds that are not stored but are served: reviews (create only) and the subresource bodies.
SELF_SUBJECT_ACCESS_REVIEW = ResourceDef(
    "authorization.k8s.io",
    "v1",
    "SelfSubjectAccessReview",
    "selfsubjectaccessreviews",
    namespaced=False,
    verbs=("create",),
    schema_name="io.k8s.api.authorization.v1.SelfSubjectAccessReview",
)
SELF_SUBJECT_RULES_REVIEW = ResourceDef(
    "authorization.k8s.io",
    "v1",
    "SelfSubjectRulesReview",
    "selfsubjectrulesreviews",
    namespaced=False,
    verbs=("create",),
    schema_name="io.k8s.api.authorization.v1.SelfSubjectRulesReview",
)
REVIEWS: tuple[ResourceDef, ...] = (SELF_SUBJECT_ACCESS_REVIEW, SELF_SUBJECT_RULES_REVIEW)

_BY_GROUP_PLURAL = {(r.group, r.plural): r for r in RESOURCES + REVIEWS}
_BY_KIND = {(r.group, r.kind): r for r in RESOURCES + REVIEWS}


def lookup(group: str, plural: str) -> ResourceDef | None:
    return _BY_GROUP_PLURAL.get((group, plural))


def by_kind(group: str, kind: str) -> ResourceDef | None:
    return _BY_KIND.get((group, kind))


def group_versions() -> list[tuple[str, str]]:
    """(group, version) pairs in the order upstream lists them: core first, then by group name."""
    seen: dict[tuple[str, str], None] = {}
    for r in RESOURCES + REVIEWS:
        seen[(r.group, r.version)] = None
    return sorted(seen, key=lambda gv: (gv[0] != "", gv[0]))
