"""discovery.k8s.io/v1 EndpointSlice, coordination.k8s.io/v1 Lease, rbac.authorization.k8s.io/v1 roles
and bindings, and authorization.k8s.io/v1 self-subject reviews."""

from __future__ import annotations

from distro.apiserver.schema.dsl import (
    BOOL,
    I32,
    META,
    MICRO_T,
    STR,
    STRMAP,
    Component,
    arr,
    f,
    kind,
    named,
    obj,
    opt,
    ref,
    single,
    sub,
)
from distro.apiserver.schema.pod import PROTOCOL, PROTOCOLS

D = "io.k8s.api.discovery.v1."
R = "io.k8s.api.rbac.v1."
Z = "io.k8s.api.authorization.v1."
C = "io.k8s.api.core.v1."

ENDPOINT_SLICE = [
    *kind(
        D + "EndpointSlice",
        "A subset of the endpoints behind a service.",
        "discovery.k8s.io",
        "v1",
        addressType=f(
            named(STR, "v1.AddressType"),
            "IPv4, IPv6 or FQDN. Immutable.",
            required=True,
            enum=("FQDN", "IPv4", "IPv6"),
        ),
        endpoints=f(arr(ref(D + "Endpoint")), "Up to 1000 endpoints.", required=True),
        ports=f(arr(ref(D + "EndpointPort")), "Ports every endpoint exposes; none means all ports."),
    ),
    obj(
        D + "Endpoint",
        "One backend of a service.",
        addresses=f(
            arr(STR),
            "Addresses of the endpoint, interpreted per addressType; consumers use the first.",
            required=True,
            list_type="set",
        ),
        conditions=sub(D + "EndpointConditions", "The endpoint's readiness."),
        hostname=f(STR, "Hostname of the endpoint."),
        targetRef=opt(C + "ObjectReference", "The object behind the endpoint, usually a pod."),
        deprecatedTopology=f(STRMAP, "Deprecated topology labels."),
        nodeName=f(STR, "The node hosting the endpoint."),
        zone=f(STR, "The zone the endpoint is in."),
        hints=opt(D + "EndpointHints", "Hints for topology-aware routing."),
    ),
    obj(
        D + "EndpointConditions",
        "Readiness of an endpoint.",
        ready=f(BOOL, "Ready to receive traffic; false when terminating."),
        serving=f(BOOL, "Ready to receive traffic, regardless of termination."),
        terminating=f(BOOL, "The endpoint is terminating."),
    ),
    obj(
        D + "EndpointHints",
        "Routing hints for an endpoint.",
        forZones=f(arr(ref(D + "ForZone")), "Zones that should consume this endpoint."),
    ),
    obj(D + "ForZone", "A zone that should consume an endpoint.", name=f(STR, "Zone name.", required=True)),
    obj(
        D + "EndpointPort",
        "One port of an endpoint slice.",
        atomic=True,
        name=f(STR, "Name matching the service port's name."),
        protocol=f(PROTOCOL, "TCP, UDP or SCTP. Defaults to TCP.", enum=PROTOCOLS),
        port=f(I32, "Port number; all ports when empty."),
        appProtocol=f(STR, "The application protocol."),
    ),
]

LEASE = [
    *kind(
        "io.k8s.api.coordination.v1.Lease",
        "A lease held by one holder, used for leader election and node heartbeats.",
        "coordination.k8s.io",
        "v1",
        spec=sub("io.k8s.api.coordination.v1.LeaseSpec", "The lease's holder and timing."),
    ),
    obj(
        "io.k8s.api.coordination.v1.LeaseSpec",
        "Holder and timing of a lease.",
        holderIdentity=f(STR, "Identity of the current holder."),
        leaseDurationSeconds=f(I32, "Seconds candidates wait after renewTime before taking the lease."),
        acquireTime=f(MICRO_T, "When the current holder acquired the lease."),
        renewTime=f(MICRO_T, "When the holder last renewed the lease."),
        leaseTransitions=f(I32, "How many times the lease changed holders."),
        strategy=f(
            named(STR, "v1.CoordinatedLeaseStrategy"),
            "How the holder is chosen in coordinated leader election.",
        ),
        preferredHolder=f(STR, "The identity that should hold the lease next."),
    ),
]

_RULES = "The permissions granted."
RBAC = [
    *kind(
        R + "Role",
        "A namespaced set of permissions.",
        "rbac.authorization.k8s.io",
        "v1",
        rules=f(arr(ref(R + "PolicyRule")), _RULES),
    ),
    *kind(
        R + "ClusterRole",
        "A cluster-wide set of permissions, also usable in namespaces through RoleBindings.",
        "rbac.authorization.k8s.io",
        "v1",
        rules=f(arr(ref(R + "PolicyRule")), _RULES),
        aggregationRule=opt(
            R + "AggregationRule",
            "Build the rules from other ClusterRoles; the controller overwrites rules when set.",
        ),
    ),
    *kind(
        R + "RoleBinding",
        "Grants a Role or ClusterRole to subjects within a namespace.",
        "rbac.authorization.k8s.io",
        "v1",
        subjects=f(arr(ref(R + "Subject")), "Users, groups and service accounts granted the role."),
        roleRef=sub(R + "RoleRef", "The role granted. Immutable.", required=True),
    ),
    *kind(
        R + "ClusterRoleBinding",
        "Grants a ClusterRole to subjects across the cluster.",
        "rbac.authorization.k8s.io",
        "v1",
        subjects=f(arr(ref(R + "Subject")), "Users, groups and service accounts granted the role."),
        roleRef=sub(R + "RoleRef", "The ClusterRole granted. Immutable.", required=True),
    ),
    obj(
        R + "PolicyRule",
        "Verbs allowed on resources or non-resource URLs.",
        verbs=f(arr(STR), "Allowed verbs; * means all.", required=True),
        apiGroups=f(arr(STR), 'API groups of the resources; "" is the core group, * all groups.'),
        resources=f(arr(STR), "Resources, or resource/subresource; * means all."),
        resourceNames=f(arr(STR), "Restrict the rule to these object names."),
        nonResourceURLs=f(
            arr(STR), "URL paths such as /healthz; a trailing * matches a prefix. Only in ClusterRoles."
        ),
    ),
    obj(
        R + "AggregationRule",
        "Selects ClusterRoles whose rules are combined.",
        clusterRoleSelectors=f(
            arr(ref(META + "LabelSelector")), "ClusterRoles matching any selector are aggregated."
        ),
    ),
    obj(
        R + "Subject",
        "A user, group or service account.",
        atomic=True,
        kind=f(STR, "User, Group or ServiceAccount.", required=True),
        apiGroup=f(STR, 'rbac.authorization.k8s.io for users and groups, "" for service accounts.'),
        name=f(STR, "Name of the subject.", required=True),
        namespace=f(STR, "Namespace of a service account."),
    ),
    obj(
        R + "RoleRef",
        "The role a binding grants.",
        atomic=True,
        apiGroup=f(STR, "API group of the role.", required=True),
        kind=f(STR, "Role or ClusterRole.", required=True),
        name=f(STR, "Name of the role.", required=True),
    ),
]

REVIEWS = [
    single(
        Z + "SelfSubjectAccessReview",
        "Asks whether the requesting user may perform an action.",
        "authorization.k8s.io",
        "v1",
        spec=sub(
            Z + "SelfSubjectAccessReviewSpec",
            "The action to check; exactly one attribute set.",
            required=True,
        ),
        status=sub(Z + "SubjectAccessReviewStatus", "The answer, filled in by the server."),
    ),
    obj(
        Z + "SelfSubjectAccessReviewSpec",
        "The action to check.",
        resourceAttributes=opt(Z + "ResourceAttributes", "An action on a resource."),
        nonResourceAttributes=opt(Z + "NonResourceAttributes", "An action on a non-resource URL."),
    ),
    obj(
        Z + "ResourceAttributes",
        "An action on a resource.",
        namespace=f(STR, "Namespace of the action; empty means all namespaces or a cluster-scoped resource."),
        verb=f(STR, "The verb, such as get or list; * means all."),
        group=f(STR, "API group of the resource; * means all."),
        version=f(STR, "API version of the resource; * means all."),
        resource=f(STR, "The resource; * means all."),
        subresource=f(STR, "The subresource, if any."),
        name=f(STR, "The object name; empty means all."),
        fieldSelector=opt(Z + "FieldSelectorAttributes", "A field selector limiting the action."),
        labelSelector=opt(Z + "LabelSelectorAttributes", "A label selector limiting the action."),
    ),
    obj(
        Z + "FieldSelectorAttributes",
        "A field selector in a review.",
        rawSelector=f(STR, "The selector as a query parameter string."),
        requirements=f(arr(ref(META + "FieldSelectorRequirement")), "The parsed requirements."),
    ),
    obj(
        Z + "LabelSelectorAttributes",
        "A label selector in a review.",
        rawSelector=f(STR, "The selector as a query parameter string."),
        requirements=f(arr(ref(META + "LabelSelectorRequirement")), "The parsed requirements."),
    ),
    obj(
        Z + "NonResourceAttributes",
        "An action on a non-resource URL.",
        path=f(STR, "The URL path."),
        verb=f(STR, "The HTTP verb, lowercase."),
    ),
    obj(
        Z + "SubjectAccessReviewStatus",
        "The answer to an access review.",
        allowed=f(BOOL, "Whether the action is allowed.", required=True),
        denied=f(BOOL, "Whether the action is explicitly denied."),
        reason=f(STR, "Why the action is allowed or denied."),
        evaluationError=f(STR, "A problem evaluating the request; the answer may still be valid."),
    ),
    single(
        Z + "SelfSubjectRulesReview",
        "Lists the actions the requesting user may perform in a namespace.",
        "authorization.k8s.io",
        "v1",
        spec=sub(Z + "SelfSubjectRulesReviewSpec", "The namespace to evaluate.", required=True),
        status=sub(Z + "SubjectRulesReviewStatus", "The rules, filled in by the server."),
    ),
    obj(
        Z + "SelfSubjectRulesReviewSpec",
        "What a rules review evaluates.",
        namespace=f(STR, "The namespace to evaluate rules in."),
    ),
    obj(
        Z + "SubjectRulesReviewStatus",
        "The rules a user has; may be incomplete for authorizers that cannot list rules.",
        resourceRules=f(arr(ref(Z + "ResourceRule")), "Allowed actions on resources.", required=True),
        nonResourceRules=f(
            arr(ref(Z + "NonResourceRule")), "Allowed actions on non-resource URLs.", required=True
        ),
        incomplete=f(BOOL, "True when some authorizer could not list its rules.", required=True),
        evaluationError=f(STR, "Problems evaluating the rules."),
    ),
    obj(
        Z + "ResourceRule",
        "Allowed verbs on resources.",
        verbs=f(arr(STR), "Allowed verbs; * means all.", required=True),
        apiGroups=f(arr(STR), "API groups; * means all."),
        resources=f(arr(STR), "Resources; * means all."),
        resourceNames=f(arr(STR), "Object names; * means all."),
    ),
    obj(
        Z + "NonResourceRule",
        "Allowed verbs on non-resource URLs.",
        verbs=f(arr(STR), "Allowed verbs; * means all.", required=True),
        nonResourceURLs=f(arr(STR), "URL paths; a trailing * matches a prefix."),
    ),
]

MISC: list[Component] = [*ENDPOINT_SLICE, *LEASE, *RBAC, *REVIEWS]
