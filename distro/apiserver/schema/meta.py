"""apimachinery types: object and list metadata, Status, DeleteOptions, watch events, discovery lists,
and the scalars with custom JSON forms (Time, MicroTime, Quantity, IntOrString)."""

from __future__ import annotations

from distro.apiserver.schema.dsl import (
    API_VERSION,
    BOOL,
    FIELDS_V1,
    I32,
    I64,
    INT_OR_STRING,
    KIND,
    LIST_METADATA,
    META,
    MICRO_TIME,
    QUANTITY,
    RAW_EXTENSION,
    STR,
    STRMAP,
    TIME,
    TIME_T,
    UID,
    Component,
    arr,
    f,
    gvk,
    leaf,
    named,
    obj,
    opt,
    ref,
    sub,
)

# Group versions whose documents carry the shared meta kinds (DeleteOptions, WatchEvent).
SERVED_GROUP_VERSIONS = (
    ("", "v1"),
    ("apps", "v1"),
    ("authorization.k8s.io", "v1"),
    ("autoscaling", "v1"),
    ("coordination.k8s.io", "v1"),
    ("discovery.k8s.io", "v1"),
    ("policy", "v1"),
    ("rbac.authorization.k8s.io", "v1"),
)


def _everywhere(kind_name: str) -> list[dict[str, str]]:
    return [gvk(g, v, kind_name) for g, v in SERVED_GROUP_VERSIONS]


SCALARS = [
    leaf(
        TIME,
        {
            "description": "A timestamp in RFC 3339 form with second precision, e.g. 2024-01-02T15:04:05Z.",
            "format": "date-time",
            "type": "string",
        },
    ),
    leaf(
        MICRO_TIME,
        {
            "description": "A timestamp in RFC 3339 form with exactly six fractional digits, e.g. "
            "2024-01-02T15:04:05.000000Z.",
            "format": "date-time",
            "type": "string",
        },
    ),
    leaf(
        QUANTITY,
        {
            "description": "A fixed-point amount such as 100m, 1.5, 64Mi or 2Gi: a decimal number followed "
            "by an optional SI (k, M, G...), binary (Ki, Mi, Gi...) or exponent (e3) suffix.",
            "oneOf": [{"type": "string"}, {"type": "number"}],
        },
    ),
    leaf(
        INT_OR_STRING,
        {
            "description": "A value that is either a 32-bit integer or a string, such as a port number or a "
            "named port, or an absolute count or a percentage.",
            "format": "int-or-string",
            "oneOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
        },
    ),
    leaf(
        RAW_EXTENSION,
        {
            "description": "An embedded object of any kind, kept as the client sent it.",
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
        },
    ),
    leaf(
        FIELDS_V1,
        {
            "description": "The set of fields a manager owns, in the structured fields format (a JSON trie).",
            "type": "object",
        },
    ),
    leaf(
        META + "Patch",
        {
            "description": "The body of a PATCH request; its shape depends on the patch content type.",
            "type": "object",
        },
    ),
]

OBJECT_META = [
    obj(
        META + "ObjectMeta",
        "Metadata every persisted object has: identity, labels and annotations, ownership and lifecycle "
        "fields maintained by the system.",
        name=f(
            STR,
            "Name of the object, unique within its namespace (or cluster-wide for cluster-scoped kinds). "
            "Cannot be updated.",
        ),
        generateName=f(
            STR,
            "A prefix the server uses to generate a unique name when name is empty; a random "
            "suffix is appended.",
        ),
        namespace=f(
            STR,
            "The namespace the object lives in. Empty for cluster-scoped kinds; defaults to "
            '"default" for namespaced kinds. Cannot be updated.',
        ),
        selfLink=f(STR, "Deprecated and no longer set by the server."),
        uid=f(UID, "Unique identifier of this object, assigned by the server at creation. Read-only."),
        resourceVersion=f(
            STR,
            "Opaque version of this object that changes on every write; send it back "
            "unmodified for optimistic concurrency. Read-only.",
        ),
        generation=f(
            I64,
            "A sequence number for the desired state, incremented by the server when the spec "
            "changes. Read-only.",
        ),
        creationTimestamp=f(
            TIME_T,
            "When the server created this object. Read-only; null for objects that were not stored yet.",
        ),
        deletionTimestamp=f(
            TIME_T,
            "When the object will be removed: set by the server when deletion is "
            "requested and finalizers or a grace period are pending. Read-only.",
        ),
        deletionGracePeriodSeconds=f(
            I64, "Seconds allowed for graceful termination once deletion was requested. Read-only."
        ),
        labels=f(STRMAP, "Key/value pairs used to organize and select objects."),
        annotations=f(STRMAP, "Key/value pairs for arbitrary non-identifying metadata, readable by tools."),
        ownerReferences=f(
            arr(ref(META + "OwnerReference")),
            "Objects this object depends on; when all owners "
            "are gone the garbage collector removes it. At most one may be the controller.",
            merge="uid",
        ),
        finalizers=f(
            arr(STR),
            "Conditions that must be cleared, in any order, before the object is removed "
            "from storage once deletion was requested.",
            list_type="set",
            strategy="merge",
        ),
        managedFields=f(
            arr(ref(META + "ManagedFieldsEntry")),
            "Which manager owns which fields, maintained by the server for server-side apply.",
        ),
    ),
    obj(
        META + "OwnerReference",
        "Identifies an owning object in the same namespace (or a cluster-scoped owner).",
        atomic=True,
        apiVersion=f(STR, "API version of the owner.", required=True),
        kind=f(STR, "Kind of the owner.", required=True),
        name=f(STR, "Name of the owner.", required=True),
        uid=f(UID, "UID of the owner.", required=True),
        controller=f(BOOL, "True when the owner is the managing controller of this object."),
        blockOwnerDeletion=f(
            BOOL,
            "If true and the owner is deleted in the foreground, the owner is kept "
            "until this reference is removed.",
        ),
    ),
    obj(
        META + "ManagedFieldsEntry",
        "One manager's ownership of a set of fields at one API version.",
        manager=f(STR, "The name of the workflow that manages these fields."),
        operation=f(
            named(STR, "v1.ManagedFieldsOperationType"),
            "The kind of write that last changed these fields: Apply or Update.",
        ),
        apiVersion=f(STR, "The version the fields were written in; needed to interpret fieldsV1."),
        time=f(TIME_T, "When these fields were last changed by this manager."),
        fieldsType=f(STR, "The format of the fields description; only FieldsV1 is defined."),
        fieldsV1=f(ref(FIELDS_V1, struct=False), "The owned fields in FieldsV1 format."),
        subresource=f(STR, "The subresource used to write the fields, empty for the main resource."),
    ),
    obj(
        META + "LabelSelector",
        "A label query: matchLabels and matchExpressions are ANDed; an empty selector matches everything and "
        "a null selector matches nothing.",
        atomic=True,
        matchLabels=f(STRMAP, "Labels that must all be present with these exact values."),
        matchExpressions=f(arr(ref(META + "LabelSelectorRequirement")), "Requirements that must all hold."),
    ),
    obj(
        META + "LabelSelectorRequirement",
        "One label requirement: a key, an operator and values.",
        key=f(STR, "The label key the requirement applies to.", required=True),
        operator=f(
            named(STR, "v1.LabelSelectorOperator"),
            "How the key relates to the values: In, NotIn, Exists or DoesNotExist.",
            required=True,
        ),
        values=f(arr(STR), "Values for In and NotIn (non-empty); must be empty for Exists and DoesNotExist."),
    ),
    obj(
        META + "FieldSelectorRequirement",
        "One field requirement: a field path, an operator and values.",
        key=f(STR, "The field path the requirement applies to.", required=True),
        operator=f(
            named(STR, "v1.FieldSelectorOperator"),
            "How the field relates to the values: In, NotIn, Exists or DoesNotExist.",
            required=True,
        ),
        values=f(arr(STR), "Values for In and NotIn; must be empty for Exists and DoesNotExist."),
    ),
    obj(
        META + "ListMeta",
        "Metadata of a list response.",
        selfLink=f(STR, "Deprecated and no longer set by the server."),
        resourceVersion=f(
            STR,
            "The resourceVersion the list was read at; start a watch from here to see subsequent changes.",
        ),
        **{
            "continue": f(
                STR,
                "Set when more results are available: pass it as the continue parameter of the "
                "same list call to get the next page.",
            )
        },
        remainingItemCount=f(I64, "How many items remain after this page, when the server can tell."),
    ),
    obj(
        META + "Condition",
        "One aspect of an object's current state.",
        type=f(STR, "The condition type, in CamelCase.", required=True),
        status=f(named(STR, "v1.ConditionStatus"), "True, False or Unknown.", required=True),
        observedGeneration=f(I64, "The .metadata.generation the condition was computed from."),
        lastTransitionTime=f(TIME_T, "When the status last changed.", required=True),
        reason=f(STR, "A CamelCase machine-readable reason for the last transition.", required=True),
        message=f(STR, "A human-readable explanation of the transition.", required=True),
    ),
]

STATUS = [
    obj(
        META + "Status",
        "The result of an operation that returns no object, and the body of every error response.",
        gvks=[gvk("", "v1", "Status")],
        apiVersion=f(STR, API_VERSION),
        kind=f(STR, KIND),
        metadata=sub(META + "ListMeta", LIST_METADATA),
        status=f(STR, "Success or Failure."),
        message=f(STR, "A human-readable description of the outcome."),
        reason=f(
            named(STR, "v1.StatusReason"),
            "A machine-readable CamelCase reason for a failure, such as NotFound or AlreadyExists.",
        ),
        details=opt(
            META + "StatusDetails",
            "Extra data about the failure; its shape depends on the reason.",
            extra={"x-kubernetes-list-type": "atomic"},
        ),
        code=f(I32, "The suggested HTTP status code, 0 if not set."),
    ),
    obj(
        META + "StatusDetails",
        "Additional details the server may attach to a Status.",
        name=f(STR, "Name of the object the status refers to."),
        group=f(STR, "API group of the object the status refers to."),
        kind=f(STR, "Kind (or resource) of the object the status refers to."),
        uid=f(UID, "UID of the object the status refers to."),
        causes=f(arr(ref(META + "StatusCause")), "Individual causes, such as one per invalid field."),
        retryAfterSeconds=f(I32, "Seconds the client should wait before retrying."),
    ),
    obj(
        META + "StatusCause",
        "One cause of a failure.",
        reason=f(named(STR, "v1.CauseType"), "A machine-readable reason, such as FieldValueInvalid."),
        message=f(STR, "A human-readable description of this cause."),
        field=f(STR, "The path of the field at fault, such as spec.containers[0].image."),
    ),
    obj(
        META + "DeleteOptions",
        "Options for a delete request, sent as its body or as query parameters.",
        gvks=_everywhere("DeleteOptions"),
        apiVersion=f(STR, API_VERSION),
        kind=f(STR, KIND),
        gracePeriodSeconds=f(
            I64,
            "Seconds to wait before the object is removed; 0 deletes immediately, null "
            "uses the kind's default.",
        ),
        preconditions=opt(
            META + "Preconditions", "Conditions the object must meet for the delete to proceed."
        ),
        orphanDependents=f(BOOL, "Deprecated: use propagationPolicy. Whether dependents are orphaned."),
        propagationPolicy=f(
            named(STR, "v1.DeletionPropagation"),
            "How dependents are handled: Orphan, Background or Foreground.",
        ),
        dryRun=f(arr(STR), 'When set to ["All"], the request is fully processed but nothing is persisted.'),
        ignoreStoreReadErrorWithClusterBreakingPotential=f(
            BOOL,
            "Deletes an object whose stored form cannot "
            "be read, skipping finalizers and admission. "
            "Dangerous.",
        ),
    ),
    obj(
        META + "Preconditions",
        "Conditions a write or delete requires of the stored object.",
        uid=f(UID, "The UID the object must have."),
        resourceVersion=f(STR, "The resourceVersion the object must have."),
    ),
    obj(
        META + "WatchEvent",
        "One change in a watch stream.",
        gvks=_everywhere("WatchEvent"),
        type=f(STR, "ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.", required=True),
        object=f(
            ref(RAW_EXTENSION, struct=False),
            "The object after the change (before it for DELETED), or a Status for ERROR.",
            required=True,
        ),
    ),
]

DISCOVERY = [
    obj(
        META + "APIResourceList",
        "The resources served in one group version.",
        apiVersion=f(STR, API_VERSION),
        kind=f(STR, KIND),
        groupVersion=f(STR, "The group/version these resources belong to.", required=True),
        resources=f(arr(ref(META + "APIResource")), "The served resources.", required=True),
    ),
    obj(
        META + "APIResource",
        "One served resource and what can be done with it.",
        name=f(STR, "The plural resource name, or resource/subresource.", required=True),
        singularName=f(STR, "The singular resource name, used by kubectl.", required=True),
        namespaced=f(BOOL, "Whether objects of this resource live in namespaces.", required=True),
        group=f(STR, "The group of the request and response kind, when it differs from the containing list."),
        version=f(STR, "The version of the request and response kind, when it differs from the list."),
        kind=f(STR, "The kind of the resource's objects.", required=True),
        verbs=f(
            named(arr(STR), "v1.Verbs"),
            "The supported verbs: get, list, watch, create, update, patch, delete, deletecollection.",
            required=True,
        ),
        shortNames=f(arr(STR), "Abbreviations kubectl accepts for this resource."),
        categories=f(arr(STR), "Groups of resources this one belongs to, such as all."),
        storageVersionHash=f(STR, "A hash of the version objects are stored in; changes when it changes."),
    ),
    obj(
        META + "APIVersions",
        "The versions of the legacy core API.",
        gvks=[gvk("", "v1", "APIVersions")],
        apiVersion=f(STR, API_VERSION),
        kind=f(STR, KIND),
        versions=f(arr(STR), "The served versions.", required=True),
        serverAddressByClientCIDRs=f(
            arr(ref(META + "ServerAddressByClientCIDR")),
            "Server addresses to use for clients in given CIDRs.",
            required=True,
        ),
    ),
    obj(
        META + "APIGroupList",
        "The served API groups.",
        gvks=[gvk("", "v1", "APIGroupList")],
        apiVersion=f(STR, API_VERSION),
        kind=f(STR, KIND),
        groups=f(arr(ref(META + "APIGroup")), "The groups.", required=True),
    ),
    obj(
        META + "APIGroup",
        "One API group and its versions.",
        gvks=[gvk("", "v1", "APIGroup")],
        apiVersion=f(STR, API_VERSION),
        kind=f(STR, KIND),
        name=f(STR, "The group name.", required=True),
        versions=f(arr(ref(META + "GroupVersionForDiscovery")), "The served versions.", required=True),
        preferredVersion=sub(META + "GroupVersionForDiscovery", "The version clients should prefer."),
        serverAddressByClientCIDRs=f(
            arr(ref(META + "ServerAddressByClientCIDR")),
            "Server addresses to use for clients in given CIDRs.",
        ),
    ),
    obj(
        META + "GroupVersionForDiscovery",
        "One version of a group.",
        groupVersion=f(STR, "The version as group/version.", required=True),
        version=f(STR, "The version alone.", required=True),
    ),
    obj(
        META + "ServerAddressByClientCIDR",
        "The server address clients in a network should use.",
        clientCIDR=f(STR, "The client network.", required=True),
        serverAddress=f(STR, "host:port clients in that network should use.", required=True),
    ),
]

COMPONENTS: list[Component] = [*SCALARS, *OBJECT_META, *STATUS, *DISCOVERY]
