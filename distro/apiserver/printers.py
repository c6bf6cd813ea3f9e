"""Server-side Table printing (meta.k8s.io/v1 `Table`): the columns and cells upstream's kube-apiserver
sends, so `kubectl get` prints exactly what it prints against a real cluster.

The rules follow upstream's pkg/printers/internalversion (v1.32) and its generic default convertor
(`Name`/`Created At`, used upstream for roles and clusterroles). Like upstream's table convertor the
server always produces the wide cells; kubectl hides priority-1 columns unless `-o wide`. Descriptions
are upstream's generated Go docs (SwaggerDoc) verbatim. Objects are stored JSON dicts that may be
partial: missing data prints as upstream prints a zero value, after the defaulting upstream applies when
it decodes a stored object (service type, port protocol, replicas, secret type, namespace phase).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

from distro.apiserver.registry import ResourceDef

Obj = dict[str, Any]
Cells = list[Any]

TABLE_API_VERSION = "meta.k8s.io/v1"
INCLUDE_OBJECT_VALUES = ("None", "Metadata", "Object")

_DOC: dict[str, str] = {
    "ObjectMeta.name": (
        "Name must be unique within a namespace. Is required when creating resources, although some "
        "resources may allow a client to request the generation of an appropriate name automatically. "
        "Name is primarily intended for creation idempotence and configuration definition. Cannot be "
        "updated. More info: "
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
    ),
    "ObjectMeta.creationTimestamp": (
        "CreationTimestamp is a timestamp representing the server time when this object was created. "
        "It is not guaranteed to be set in happens-before order across separate operations. Clients "
        "may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the "
        "system. Read-only. Null for lists. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
    ),
    "PodStatus.podIP": (
        "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet "
        "allocated."
    ),
    "PodSpec.nodeName": (
        "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for "
        "scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for "
        "this node becomes responsible for the lifecycle of this pod. This field should not be used to "
        "express a desire for the pod to be scheduled on a specific node. "
        "https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename"
    ),
    "PodStatus.nominatedNodeName": (
        "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be "
        "scheduled right away as preemption victims receive their graceful termination periods. This "
        "field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to "
        "place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to "
        "give the resources on this node to a higher priority pod that is created after preemption. As "
        "a result, this field may be different than PodSpec.nodeName when the pod is scheduled."
    ),
    "PodSpec.readinessGates": (
        "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when "
        "all its containers are ready AND all conditions specified in the readiness gates have status "
        'equal to "True" More info: '
        "https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates"
    ),
    "ReplicaSetSpec.replicas": (
        "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit "
        "zero and unspecified. Defaults to 1. More info: "
        "https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller"
    ),
    "ReplicaSetStatus.replicas": (
        "Replicas is the most recently observed number of replicas. More info: "
        "https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller"
    ),
    "ReplicaSetStatus.readyReplicas": "The number of ready replicas for this replica set.",
    "ReplicaSetSpec.selector": (
        "Selector is a label query over pods that should match the replica count. If the selector is "
        "empty, it is defaulted to the labels present on the pod template. Label keys and values that "
        "must match in order to be controlled by this replica set. More info: "
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"
    ),
    "DaemonSetStatus.desiredNumberScheduled": (
        "The total number of nodes that should be running the daemon pod (including nodes correctly "
        "running the daemon pod). More info: "
        "https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/"
    ),
    "DaemonSetStatus.currentNumberScheduled": (
        "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon "
        "pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/"
    ),
    "DaemonSetStatus.numberReady": (
        "The number of nodes that should be running the daemon pod and have one or more of the daemon "
        "pod running and ready."
    ),
    "DaemonSetStatus.updatedNumberScheduled": "The total number of nodes that are running updated daemon pod",
    "DaemonSetStatus.numberAvailable": (
        "The number of nodes that should be running the daemon pod and have one or more of the daemon "
        "pod running and available (ready for at least spec.minReadySeconds)"
    ),
    "PodSpec.nodeSelector": (
        "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which "
        "must match a node's labels for the pod to be scheduled on that node. More info: "
        "https://kubernetes.io/docs/concepts/configuration/assign-pod-node/"
    ),
    "DaemonSetSpec.selector": (
        "A label query over pods that are managed by the daemon set. Must match in order to be "
        "controlled. If empty, defaulted to labels on Pod template. More info: "
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors"
    ),
    "ServiceSpec.type": (
        "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are "
        'ExternalName, ClusterIP, NodePort, and LoadBalancer. "ClusterIP" allocates a cluster-internal '
        "IP address for load-balancing to endpoints. Endpoints are determined by the selector or if "
        "that is not specified, by manual construction of an Endpoints object or EndpointSlice "
        'objects. If clusterIP is "None", no virtual IP is allocated and the endpoints are published '
        'as a set of endpoints rather than a virtual IP. "NodePort" builds on ClusterIP and allocates '
        'a port on every node which routes to the same endpoints as the clusterIP. "LoadBalancer" '
        "builds on NodePort and creates an external load-balancer (if supported in the current cloud) "
        'which routes to the same endpoints as the clusterIP. "ExternalName" aliases this service to '
        "the specified externalName. Several other fields do not apply to ExternalName services. More "
        "info: "
        "https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types"
    ),
    "ServiceSpec.clusterIP": (
        "clusterIP is the IP address of the service and is usually assigned randomly. If an address is "
        "specified manually, is in-range (as per system configuration), and is not in use, it will be "
        "allocated to the service; otherwise creation of the service will fail. This field may not be "
        "changed through updates unless the type field is also being changed to ExternalName (which "
        "requires this field to be blank) or the type field is being changed from ExternalName (in "
        "which case this field may optionally be specified, as describe above).  Valid values are "
        '"None", empty string (""), or a valid IP address. Setting this to "None" makes a "headless '
        'service" (no virtual IP), which is useful when direct endpoint connections are preferred and '
        "proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If "
        "this field is specified when creating a Service of type ExternalName, creation will fail. "
        "This field will be wiped when updating a Service to type ExternalName. More info: "
        "https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies"
    ),
    "ServiceSpec.externalIPs": (
        "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic "
        "for this service.  These IPs are not managed by Kubernetes.  The user is responsible for "
        "ensuring that traffic arrives at a node with this IP.  A common example is external "
        "load-balancers that are not part of the Kubernetes system."
    ),
    "ServiceSpec.ports": (
        "The list of ports that are exposed by this service. More info: "
        "https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies"
    ),
    "ServiceSpec.selector": (
        "Route service traffic to pods with label keys and values matching this selector. If empty or "
        "not present, the service is assumed to have an external process managing its endpoints, which "
        "Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. "
        "Ignored if type is ExternalName. More info: "
        "https://kubernetes.io/docs/concepts/services-networking/service/"
    ),
    "Endpoints.subsets": (
        "The set of all endpoints is the union of all subsets. Addresses are placed into subsets "
        "according to the IPs they share. A single address with multiple ports, some of which are "
        "ready and some of which are not (because they come from different containers) will result in "
        "the address being displayed in different subsets for the different ports. No address will "
        "appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and "
        "ports that comprise a service."
    ),
    "NodeSystemInfo.kubeletVersion": "Kubelet Version reported by the node.",
    "NodeStatus.addresses": (
        "List of addresses reachable to the node. Queried from cloud provider, if available. More "
        "info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is "
        "declared as mergeable, but the merge key is not sufficiently unique, which can cause data "
        "corruption when it is merged. Callers should instead use a full-replacement patch. See "
        "https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change "
        "during the lifetime of a Node. However, there are some exceptions where this may not be "
        "possible, such as Pods that inherit a Node's address in its own status or consumers of the "
        "downward API (status.hostIP)."
    ),
    "NodeSystemInfo.osImage": (
        "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."
    ),
    "NodeSystemInfo.kernelVersion": (
        "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."
    ),
    "NodeSystemInfo.containerRuntimeVersion": (
        "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2)."
    ),
    "Event.lastTimestamp": "The time at which the most recent occurrence of this event was recorded.",
    "Event.type": "Type of this event (Normal, Warning), new types could be added in the future",
    "Event.reason": (
        "This should be a short, machine understandable string that gives the reason for the "
        "transition into the object's current status."
    ),
    "Event.involvedObject": "The object that this event is about.",
    "ObjectReference.fieldPath": (
        "If referring to a piece of an object instead of an entire object, this string should contain "
        "a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For "
        "example, if the object reference is to a container within a pod, this would take on a value "
        'like: "spec.containers{name}" (where "name" refers to the name of the container that '
        'triggered the event) or if no container name is specified "spec.containers[2]" (container '
        "with index 2 in this pod). This syntax is chosen only to have some well-defined way of "
        "referencing a part of an object."
    ),
    "Event.source": "The component reporting this event. Should be a short machine understandable string.",
    "Event.message": "A human-readable description of the status of this operation.",
    "Event.firstTimestamp": (
        "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)"
    ),
    "Event.count": "The number of times this event has occurred.",
    "Secret.type": (
        "Used to facilitate programmatic handling of secret data. More info: "
        "https://kubernetes.io/docs/concepts/configuration/secret/#secret-types"
    ),
    "Secret.data": (
        "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or "
        "'.'. The serialized form of the secret data is a base64 encoded string, representing the "
        "arbitrary (possibly non-string) data value here. Described in "
        "https://tools.ietf.org/html/rfc4648#section-4"
    ),
    "ServiceAccount.secrets": (
        "Secrets is a list of the secrets in the same namespace that pods running using this "
        "ServiceAccount are allowed to use. Pods are only limited to this list if this service account "
        'has a "kubernetes.io/enforce-mountable-secrets" annotation set to "true". The '
        '"kubernetes.io/enforce-mountable-secrets" annotation is deprecated since v1.32. Prefer '
        "separate namespaces to isolate access to mounted secrets. This field should not be used to "
        "find auto-generated service account token secrets for use outside of pods. Instead, tokens "
        "can be requested directly using the TokenRequest API, or service account token secrets can be "
        "manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret"
    ),
    "DeploymentStatus.updatedReplicas": (
        "Total number of non-terminated pods targeted by this deployment that have the desired template spec."
    ),
    "DeploymentStatus.availableReplicas": (
        "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."
    ),
    "DeploymentSpec.selector": (
        "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the "
        "ones affected by this deployment."
    ),
    "ConfigMap.data": (
        "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', "
        "'_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys "
        "stored in Data must not overlap with the keys in the BinaryData field, this is enforced "
        "during validation process."
    ),
    "RoleBinding.roleRef": (
        "RoleRef can reference a Role in the current namespace or a ClusterRole in the global "
        "namespace. If the RoleRef cannot be resolved, the Authorizer must return an error."
    ),
    "ClusterRoleBinding.roleRef": (
        "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be "
        "resolved, the Authorizer must return an error."
    ),
    "LeaseSpec.holderIdentity": (
        "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader "
        "Election is used, the holder identity must be equal to the elected "
        "LeaseCandidate.metadata.name field."
    ),
    "EndpointSlice.addressType": (
        "addressType specifies the type of address carried by this EndpointSlice. All addresses in "
        "this slice must be the same type. This field is immutable after creation. The following "
        "address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents "
        "an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name."
    ),
    "EndpointSlice.ports": (
        "ports specifies the list of network ports exposed by each endpoint in this slice. Each port "
        "must have a unique name. When ports is empty, it indicates that there are no defined ports. "
        'When a port is defined with a nil port value, it indicates "all ports". Each slice may '
        "include a maximum of 100 ports."
    ),
    "EndpointSlice.endpoints": (
        "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of "
        "1000 endpoints."
    ),
}


# --- public API -----------------------------------------------------------------------------------


def table(
    rd: ResourceDef,
    objects: list[dict],
    *,
    list_metadata: dict,
    include_object: str = "Metadata",
    now: datetime.datetime | None = None,
) -> dict:
    """The full `Table` for `objects` of resource `rd`: one row per object, in the given order.

    `include_object` is upstream's includeObject query parameter ("" means its default, Metadata);
    validating it is the caller's job (a 400), so an unknown value is a programming error here.
    """
    if include_object not in INCLUDE_OBJECT_VALUES and include_object != "":
        raise ValueError(f"unknown includeObject {include_object!r}")
    now = _aware(now) if now is not None else datetime.datetime.now(datetime.UTC)
    printer = _PRINTERS.get(_key(rd), _default_cells)
    rows = [_row(rd, obj, printer(obj, now), include_object) for obj in map(_dict, objects)]
    return {
        "kind": "Table",
        "apiVersion": TABLE_API_VERSION,
        "metadata": list_metadata,
        "columnDefinitions": column_definitions(rd),
        "rows": rows,
    }


def column_definitions(rd: ResourceDef) -> list[dict]:
    """Upstream's column definitions for `rd` (fresh dicts: callers may mutate them)."""
    return [dict(column) for column in _COLUMNS.get(_key(rd), _DEFAULT_COLUMNS)]


def human_duration(d: datetime.timedelta) -> str:
    """apimachinery's duration.HumanDuration: ~2-3 significant figures, as `kubectl get` shows ages."""
    micros = (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds
    seconds = -(-micros // 1_000_000) if micros < 0 else micros // 1_000_000  # Go truncates toward zero
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m" if seconds % 60 == 0 else f"{minutes}m{seconds % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days_in_year = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days_in_year == 0 else f"{hours // 24 // 365}y{days_in_year}d"
    return f"{hours // 24 // 365}y"


# --- rows -----------------------------------------------------------------------------------------


def _key(rd: ResourceDef) -> tuple[str, str]:
    return (rd.group, rd.plural)


def _row(rd: ResourceDef, obj: Obj, cells: Cells, include_object: str) -> dict:
    row: dict[str, Any] = {"cells": cells}
    if _key(rd) == ("", "pods"):
        conditions = _pod_row_conditions(obj)
        if conditions:
            row["conditions"] = conditions
    if include_object == "None":
        row["object"] = None  # upstream's empty RawExtension encodes as null
    elif include_object == "Object":
        row["object"] = {"apiVersion": rd.group_version, "kind": rd.kind, **obj}
    else:
        row["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": TABLE_API_VERSION,
            # shared, not copied: a Table is serialized at once, and copying 5,000 pods' metadata
            # was most of the time of a Table list
            "metadata": _dict(obj.get("metadata")),
        }
    return row


# --- tolerant accessors: stored JSON may lack anything, or hold the wrong type ----------------------


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> list[dict]:
    return [_dict(item) for item in _list(value)]


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _present(value: Any) -> bool:
    """A Go pointer-to-struct field is non-nil when the JSON holds an object, even an empty one."""
    return isinstance(value, dict)


def _name(obj: Obj) -> str:
    return _str(_dict(obj.get("metadata")).get("name"))


# --- time -------------------------------------------------------------------------------------------

_GO_ZERO_TIME = datetime.datetime(1, 1, 1, tzinfo=datetime.UTC)


def _aware(t: datetime.datetime) -> datetime.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=datetime.UTC)


def _time(value: Any) -> datetime.datetime | None:
    """A metav1.Time / MicroTime; None stands for Go's zero time (missing, null or unparsable)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = _aware(datetime.datetime.fromisoformat(value)).astimezone(datetime.UTC)
    except (ValueError, OverflowError):  # unparsable, or an offset that leaves the representable years
        return None
    return None if parsed == _GO_ZERO_TIME else parsed


def _since(t: datetime.datetime | None, now: datetime.datetime) -> str:
    """Upstream's translateTimestampSince."""
    return "<unknown>" if t is None else human_duration(now - t)


def _age(obj: Obj, now: datetime.datetime) -> str:
    return _since(_time(_dict(obj.get("metadata")).get("creationTimestamp")), now)


def _later(
    current: datetime.datetime | None, candidate: datetime.datetime | None
) -> datetime.datetime | None:
    if candidate is None:
        return current
    return candidate if current is None or current < candidate else current


def _rfc3339_utc(t: datetime.datetime | None) -> str:
    """Go's Time.UTC().Format(time.RFC3339), with Go's zero time for a missing timestamp."""
    t = t or _GO_ZERO_TIME
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"


# --- labels and selectors ---------------------------------------------------------------------------

_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _format_labels(labels: Any) -> str:
    """labels.FormatLabels: sorted `k=v` pairs (sorted as whole strings, like Go), or <none>."""
    pairs = sorted(f"{key}={_str(value)}" for key, value in _dict(labels).items())
    return ",".join(pairs) or "<none>"


def _valid_label_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return len(name) <= 63 and bool(_NAME_PART.match(name))


def _valid_label_value(value: str) -> bool:
    return value == "" or (len(value) <= 63 and bool(_NAME_PART.match(value)))


_SELECTOR_OPERATORS = {"In": " in ", "NotIn": " notin ", "Exists": "", "DoesNotExist": ""}


def _requirement(key: str, operator: str, values: list[str]) -> str | None:
    """One labels.Requirement as Go prints it, or None where NewRequirement rejects it."""
    if not _valid_label_key(key) or not all(_valid_label_value(v) for v in values):
        return None
    if operator == "=":
        return f"{key}={values[0]}"
    if operator in ("Exists", "DoesNotExist"):
        return None if values else ("!" + key if operator == "DoesNotExist" else key)
    if not values:
        return None
    return f"{key}{_SELECTOR_OPERATORS[operator]}({','.join(sorted(values))})"


def _selector_string(selector: Any) -> str | None:
    """metav1.LabelSelectorAsSelector(...).String(); None where upstream gets an error."""
    if not isinstance(selector, dict):
        return ""  # nil selector: labels.Nothing() prints as ""
    requirements: list[tuple[str, str | None]] = []
    for key, value in _dict(selector.get("matchLabels")).items():
        requirements.append((key, _requirement(key, "=", [_str(value)])))
    for expression in _dicts(selector.get("matchExpressions")):
        key, operator = _str(expression.get("key")), _str(expression.get("operator"))
        if operator not in _SELECTOR_OPERATORS:
            return None
        values = [_str(v) for v in _list(expression.get("values"))]
        requirements.append((key, _requirement(key, operator, values)))
    if any(text is None for _, text in requirements):
        return None
    return ",".join(text for _, text in sorted(requirements, key=lambda r: r[0]) if text is not None)


def _format_label_selector(selector: Any) -> str:
    """metav1.FormatLabelSelector."""
    text = _selector_string(selector)
    return "<error>" if text is None else (text or "<none>")


def _containers_and_images(pod_template: Any) -> tuple[str, str]:
    """Upstream's layoutContainerCells over a pod template's containers."""
    containers = _dicts(_dict(_dict(pod_template).get("spec")).get("containers"))
    return ",".join(_str(c.get("name")) for c in containers), ",".join(
        _str(c.get("image")) for c in containers
    )


def _list_with_more(items: list[str], count: int, limit: int = 3) -> str:
    """Upstream's listWithMoreString: at most `limit` items, then `+ N more...`."""
    text = ",".join(items[:limit])
    if count > limit:
        return f"{text} + {count - limit} more..."
    return text or "<unset>"


def _join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# --- core/v1 ----------------------------------------------------------------------------------------


def _namespace_cells(obj: Obj, now: datetime.datetime) -> Cells:
    phase = _str(_dict(obj.get("status")).get("phase")) or "Active"  # SetDefaults_NamespaceStatus
    return [_name(obj), phase, _age(obj, now)]


def _node_cells(obj: Obj, now: datetime.datetime) -> Cells:
    status = _dict(obj.get("status"))
    info = _dict(status.get("nodeInfo"))
    return [
        _name(obj),
        _node_status(obj),
        ",".join(_node_roles(_dict(_dict(obj.get("metadata")).get("labels")))) or "<none>",
        _age(obj, now),
        _str(info.get("kubeletVersion")),
        _node_address(status, "InternalIP"),
        _node_address(status, "ExternalIP"),
        _str(info.get("osImage")) or "<unknown>",
        _str(info.get("kernelVersion")) or "<unknown>",
        _str(info.get("containerRuntimeVersion")) or "<unknown>",
    ]


def _node_status(node: Obj) -> str:
    # only the Ready condition counts; a later duplicate wins, as in upstream's condition map
    ready = {_str(c.get("type")): c for c in _dicts(_dict(node.get("status")).get("conditions"))}.get("Ready")
    parts = ["Unknown" if ready is None else ("Ready" if ready.get("status") == "True" else "NotReady")]
    if _dict(node.get("spec")).get("unschedulable") is True:
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def _node_roles(labels: dict) -> list[str]:
    roles: set[str] = set()
    for key, value in labels.items():
        if key.startswith("node-role.kubernetes.io/") and key[len("node-role.kubernetes.io/") :]:
            roles.add(key[len("node-role.kubernetes.io/") :])
        elif key == "kubernetes.io/role" and _str(value):
            roles.add(value)
    return sorted(roles)


def _node_address(status: dict, address_type: str) -> str:
    for address in _dicts(status.get("addresses")):
        if address.get("type") == address_type:
            return _str(address.get("address"))
    return "<none>"


def _service_cells(obj: Obj, now: datetime.datetime) -> Cells:
    spec = _dict(obj.get("spec"))
    cluster_ips = [_str(ip) for ip in _list(spec.get("clusterIPs"))]
    cluster_ip = cluster_ips[0] if cluster_ips else _str(spec.get("clusterIP"))
    return [
        _name(obj),
        _str(spec.get("type")) or "ClusterIP",  # SetDefaults_Service
        cluster_ip or "<none>",
        _service_external_ip(obj),
        _service_ports(_dicts(spec.get("ports"))) or "<none>",
        _age(obj, now),
        _format_labels(spec.get("selector")),
    ]


def _service_external_ip(service: Obj) -> str:
    spec = _dict(service.get("spec"))
    service_type = _str(spec.get("type")) or "ClusterIP"
    external_ips = [_str(ip) for ip in _list(spec.get("externalIPs"))]
    if service_type in ("ClusterIP", "NodePort"):
        return ",".join(external_ips) if external_ips else "<none>"
    if service_type == "LoadBalancer":
        ingress = _dicts(_dict(_dict(service.get("status")).get("loadBalancer")).get("ingress"))
        # the server prints wide, so upstream's 16-character clipping never applies here
        balancer = sorted({_str(i.get("ip")) or _str(i.get("hostname")) for i in ingress} - {""})
        if external_ips:
            return ",".join(balancer + external_ips)
        return ",".join(balancer) or "<pending>"
    if service_type == "ExternalName":
        return _str(spec.get("externalName"))
    return "<unknown>"


def _service_ports(ports: list[dict]) -> str:
    pieces = []
    for port in ports:
        protocol = _str(port.get("protocol")) or "TCP"  # SetDefaults_ServicePort
        node_port = _int(port.get("nodePort"))
        number = _int(port.get("port"))
        pieces.append(f"{number}:{node_port}/{protocol}" if node_port > 0 else f"{number}/{protocol}")
    return ",".join(pieces)


def _endpoints_cells(obj: Obj, now: datetime.datetime) -> Cells:
    return [_name(obj), _format_endpoints(_dicts(obj.get("subsets"))), _age(obj, now)]


def _format_endpoints(subsets: list[dict]) -> str:
    """Upstream's formatEndpoints: the first three `ip:port` (bare ips for a headless subset without
    ports), then `+ N more...` counting every address of every port."""
    if not subsets:
        return "<none>"
    shown: list[str] = []
    limit, more, count = 3, False, 0
    for subset in subsets:
        addresses = [_str(a.get("ip")) for a in _dicts(subset.get("addresses"))]
        ports = _dicts(subset.get("ports"))
        groups = [[_join_host_port(a, _int(p.get("port"))) for a in addresses] for p in ports] or [addresses]
        for endpoints in groups:
            count += len(endpoints)
            for endpoint in endpoints:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(endpoint)
    text = ",".join(shown)
    return f"{text} + {count - limit} more..." if more else text


def _config_map_cells(obj: Obj, now: datetime.datetime) -> Cells:
    return [_name(obj), len(_dict(obj.get("data"))) + len(_dict(obj.get("binaryData"))), _age(obj, now)]


def _secret_cells(obj: Obj, now: datetime.datetime) -> Cells:
    secret_type = _str(obj.get("type")) or "Opaque"  # SetDefaults_Secret
    return [_name(obj), secret_type, len(_dict(obj.get("data"))), _age(obj, now)]


def _service_account_cells(obj: Obj, now: datetime.datetime) -> Cells:
    return [_name(obj), len(_list(obj.get("secrets"))), _age(obj, now)]


def _event_cells(obj: Obj, now: datetime.datetime) -> Cells:
    first_seen = _time(obj.get("firstTimestamp")) or _time(obj.get("eventTime"))
    first = _since(first_seen, now)
    last_seen = _time(obj.get("lastTimestamp"))
    last = first if last_seen is None else _since(last_seen, now)
    count = _int(obj.get("count"))
    series = obj.get("series")
    if _present(series):
        last = _since(_time(series.get("lastObservedTime")), now)
        count = _int(series.get("count"))
    elif count == 0:
        count = 1  # singleton events have no count in the events.k8s.io API
    involved = _dict(obj.get("involvedObject"))
    kind, involved_name = _str(involved.get("kind")).lower(), _str(involved.get("name"))
    source = _dict(obj.get("source"))
    component = _str(source.get("component")) or _str(obj.get("reportingComponent"))
    instance = _str(source.get("host")) or _str(obj.get("reportingInstance"))
    return [
        last,
        _str(obj.get("type")),
        _str(obj.get("reason")),
        f"{kind}/{involved_name}" if involved_name else kind,
        _str(involved.get("fieldPath")),
        f"{component}, {instance}" if instance else component,
        _str(obj.get("message")).strip(),
        first,
        count,
        _name(obj),
    ]


# --- pods -------------------------------------------------------------------------------------------

_POD_SUCCEEDED = {
    "type": "Completed",
    "status": "True",
    "reason": "Succeeded",
    "message": "The pod has completed successfully.",
}
_POD_FAILED = {"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}


def _pod_row_conditions(pod: Obj) -> list[dict]:
    phase = _dict(pod.get("status")).get("phase")
    if phase == "Succeeded":
        return [dict(_POD_SUCCEEDED)]
    if phase == "Failed":
        return [dict(_POD_FAILED)]
    return []


def _first_condition_true(conditions: list[dict], condition_type: str) -> bool:
    """isPodInitializedConditionTrue: the first condition of the type decides."""
    for condition in conditions:
        if condition.get("type") == condition_type:
            return condition.get("status") == "True"
    return False


def _any_condition_true(conditions: list[dict], condition_type: str) -> bool:
    """hasPodReadyCondition: any condition of the type that is True."""
    return any(c.get("type") == condition_type and c.get("status") == "True" for c in conditions)


def _last_termination(container_status: dict) -> datetime.datetime | None:
    terminated = _dict(container_status.get("lastState")).get("terminated")
    return _time(terminated.get("finishedAt")) if _present(terminated) else None


def _terminated_reason(terminated: dict, prefix: str = "") -> str:
    reason = _str(terminated.get("reason"))
    if reason:
        return prefix + reason
    signal = _int(terminated.get("signal"))
    if signal != 0:
        return f"{prefix}Signal:{signal}"
    return f"{prefix}ExitCode:{_int(terminated.get('exitCode'))}"


class _PodSummary:
    """The running tallies of upstream's printPod; kept together so each phase reads as a small step."""

    def __init__(self, pod: Obj) -> None:
        spec, status = _dict(pod.get("spec")), _dict(pod.get("status"))
        self.init_specs = _dicts(spec.get("initContainers"))
        # a later duplicate name wins, as in upstream's name-to-container map
        self.restartable = {_str(c.get("name")): c.get("restartPolicy") == "Always" for c in self.init_specs}
        self.total = len(_list(spec.get("containers"))) + sum(
            1 for c in self.init_specs if c.get("restartPolicy") == "Always"
        )
        self.conditions = _dicts(status.get("conditions"))
        phase = _str(status.get("phase"))
        self.reason = _str(status.get("reason")) or phase
        if any(
            c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated" for c in self.conditions
        ):
            self.reason = "SchedulingGated"
        self.ready = 0
        self.restarts = 0
        self.last_restart: datetime.datetime | None = None
        # restartable (sidecar) init containers keep counting once the pod is initialized
        self.sidecar_restarts = 0
        self.last_sidecar_restart: datetime.datetime | None = None

    def scan_init_containers(self, statuses: list[dict]) -> bool:
        """Tallies init containers; returns whether the pod is still initializing (the first init
        container that neither succeeded nor runs as a started sidecar then names the status)."""
        for index, container in enumerate(statuses):
            restart_count, finished = _int(container.get("restartCount")), _last_termination(container)
            self.restarts += restart_count
            self.last_restart = _later(self.last_restart, finished)
            is_sidecar = self.restartable.get(_str(container.get("name")), False)
            if is_sidecar:
                self.sidecar_restarts += restart_count
                self.last_sidecar_restart = _later(self.last_sidecar_restart, finished)
            state = _dict(container.get("state"))
            terminated, waiting = state.get("terminated"), state.get("waiting")
            if _present(terminated) and _int(terminated.get("exitCode")) == 0:
                continue
            if is_sidecar and container.get("started") is True:
                self.ready += 1 if container.get("ready") is True else 0
                continue
            if _present(terminated):
                self.reason = _terminated_reason(terminated, "Init:")
            elif _present(waiting) and _str(waiting.get("reason")) not in ("", "PodInitializing"):
                self.reason = "Init:" + _str(waiting.get("reason"))
            else:
                self.reason = f"Init:{index}/{len(self.init_specs)}"
            return True
        return False

    def scan_containers(self, statuses: list[dict]) -> None:
        self.restarts, self.last_restart = self.sidecar_restarts, self.last_sidecar_restart
        has_running = False
        for container in reversed(statuses):
            self.restarts += _int(container.get("restartCount"))
            self.last_restart = _later(self.last_restart, _last_termination(container))
            state = _dict(container.get("state"))
            terminated, waiting = state.get("terminated"), state.get("waiting")
            if _present(waiting) and _str(waiting.get("reason")):
                self.reason = _str(waiting.get("reason"))
            elif _present(terminated):
                self.reason = _terminated_reason(terminated)
            elif container.get("ready") is True and _present(state.get("running")):
                has_running = True
                self.ready += 1
        # a pod whose containers completed but one still runs is shown as running (or not ready)
        if self.reason == "Completed" and has_running:
            self.reason = "Running" if _any_condition_true(self.conditions, "Ready") else "NotReady"


def _pod_cells(obj: Obj, now: datetime.datetime) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    summary = _PodSummary(obj)
    initializing = summary.scan_init_containers(_dicts(status.get("initContainerStatuses")))
    if not initializing or _first_condition_true(summary.conditions, "Initialized"):
        summary.scan_containers(_dicts(status.get("containerStatuses")))
    reason = summary.reason
    if _dict(obj.get("metadata")).get("deletionTimestamp") is not None:
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif status.get("phase") not in ("Failed", "Succeeded"):
            reason = "Terminating"
    restarts = str(summary.restarts)
    if summary.restarts != 0 and summary.last_restart is not None:
        restarts = f"{summary.restarts} ({_since(summary.last_restart, now)} ago)"
    return [
        _name(obj),
        f"{summary.ready}/{summary.total}",
        reason,
        restarts,
        _age(obj, now),
        _pod_ip(status) or "<none>",
        _str(spec.get("nodeName")) or "<none>",
        _str(status.get("nominatedNodeName")) or "<none>",
        _readiness_gates(_dicts(spec.get("readinessGates")), summary.conditions),
    ]


def _pod_ip(status: dict) -> str:
    # upstream converts v1 to its internal type first: podIP wins over podIPs when both are set
    ips = _dicts(status.get("podIPs"))
    return _str(status.get("podIP")) or (_str(ips[0].get("ip")) if ips else "")


def _readiness_gates(gates: list[dict], conditions: list[dict]) -> str:
    if not gates:
        return "<none>"
    met = 0
    for gate in gates:
        matching = next((c for c in conditions if c.get("type") == gate.get("conditionType")), None)
        met += 1 if matching is not None and matching.get("status") == "True" else 0
    return f"{met}/{len(gates)}"


# --- apps/v1 ----------------------------------------------------------------------------------------


def _replicas(spec: dict) -> int:
    """spec.replicas, defaulted to 1 as upstream does for deployments and replica sets."""
    value = spec.get("replicas")
    return _int(value) if value is not None else 1


def _deployment_cells(obj: Obj, now: datetime.datetime) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    containers, images = _containers_and_images(spec.get("template"))
    selector = _selector_string(spec.get("selector"))
    return [
        _name(obj),
        f"{_int(status.get('readyReplicas'))}/{_replicas(spec)}",
        _int(status.get("updatedReplicas")),
        _int(status.get("availableReplicas")),
        _age(obj, now),
        containers,
        images,
        "<invalid>" if selector is None else selector,
    ]


def _replica_set_cells(obj: Obj, now: datetime.datetime) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    containers, images = _containers_and_images(spec.get("template"))
    return [
        _name(obj),
        _replicas(spec),
        _int(status.get("replicas")),
        _int(status.get("readyReplicas")),
        _age(obj, now),
        containers,
        images,
        _format_label_selector(spec.get("selector")),
    ]


def _daemon_set_cells(obj: Obj, now: datetime.datetime) -> Cells:
    spec, status = _dict(obj.get("spec")), _dict(obj.get("status"))
    template = _dict(spec.get("template"))
    containers, images = _containers_and_images(template)
    return [
        _name(obj),
        _int(status.get("desiredNumberScheduled")),
        _int(status.get("currentNumberScheduled")),
        _int(status.get("numberReady")),
        _int(status.get("updatedNumberScheduled")),
        _int(status.get("numberAvailable")),
        _format_labels(_dict(template.get("spec")).get("nodeSelector")),
        _age(obj, now),
        containers,
        images,
        _format_label_selector(spec.get("selector")),
    ]


# --- discovery, coordination, rbac ------------------------------------------------------------------


def _endpoint_slice_cells(obj: Obj, now: datetime.datetime) -> Cells:
    ports = _dicts(obj.get("ports"))
    port_texts = [_slice_port(p) for p in ports]
    addresses = [_str(a) for e in _dicts(obj.get("endpoints")) for a in _list(e.get("addresses"))]
    return [
        _name(obj),
        _str(obj.get("addressType")),
        _list_with_more(port_texts, len(port_texts)),
        _list_with_more(addresses, len(addresses)),
        _age(obj, now),
    ]


def _slice_port(port: dict) -> str:
    if port.get("port") is not None:
        return str(_int(port.get("port")))
    if port.get("name") is not None:
        return _str(port.get("name"))
    return "*"


def _lease_cells(obj: Obj, now: datetime.datetime) -> Cells:
    return [_name(obj), _str(_dict(obj.get("spec")).get("holderIdentity")), _age(obj, now)]


def _binding_cells(obj: Obj, now: datetime.datetime) -> Cells:
    role_ref = _dict(obj.get("roleRef"))
    users: list[str] = []
    groups: list[str] = []
    service_accounts: list[str] = []
    for subject in _dicts(obj.get("subjects")):
        kind, name = _str(subject.get("kind")), _str(subject.get("name"))
        if kind == "ServiceAccount":
            service_accounts.append(f"{_str(subject.get('namespace'))}/{name}")
        elif kind == "User":
            users.append(name)
        elif kind == "Group":
            groups.append(name)
    return [
        _name(obj),
        f"{_str(role_ref.get('kind'))}/{_str(role_ref.get('name'))}",
        _age(obj, now),
        ", ".join(users),
        ", ".join(groups),
        ", ".join(service_accounts),
    ]


def _default_cells(obj: Obj, now: datetime.datetime) -> Cells:
    """Upstream's generic default table convertor (roles, clusterroles)."""
    return [_name(obj), _rfc3339_utc(_time(_dict(obj.get("metadata")).get("creationTimestamp")))]


# --- column definitions -----------------------------------------------------------------------------


def _column(name: str, type_: str, description: str, priority: int = 0, format_: str = "") -> dict:
    return {"name": name, "type": type_, "format": format_, "description": description, "priority": priority}


_NAME = _column("Name", "string", _DOC["ObjectMeta.name"], format_="name")
_AGE = _column("Age", "string", _DOC["ObjectMeta.creationTimestamp"])
_CONTAINERS = _column("Containers", "string", "Names of each container in the template.", 1)
_IMAGES = _column("Images", "string", "Images referenced by each container in the template.", 1)
_DEFAULT_COLUMNS = (
    _NAME,
    _column("Created At", "date", _DOC["ObjectMeta.creationTimestamp"]),
)


def _binding_columns(kind: str) -> tuple[dict, ...]:
    return (
        _NAME,
        _column("Role", "string", _DOC[f"{kind[0].upper()}{kind[1:]}.roleRef"]),
        _AGE,
        _column("Users", "string", f"Users in the {kind}", 1),
        _column("Groups", "string", f"Groups in the {kind}", 1),
        _column("ServiceAccounts", "string", f"ServiceAccounts in the {kind}", 1),
    )


_COLUMNS: dict[tuple[str, str], tuple[dict, ...]] = {
    ("", "namespaces"): (_NAME, _column("Status", "string", "The status of the namespace"), _AGE),
    ("", "nodes"): (
        _NAME,
        _column("Status", "string", "The status of the node"),
        _column("Roles", "string", "The roles of the node"),
        _AGE,
        _column("Version", "string", _DOC["NodeSystemInfo.kubeletVersion"]),
        _column("Internal-IP", "string", _DOC["NodeStatus.addresses"], 1),
        _column("External-IP", "string", _DOC["NodeStatus.addresses"], 1),
        _column("OS-Image", "string", _DOC["NodeSystemInfo.osImage"], 1),
        _column("Kernel-Version", "string", _DOC["NodeSystemInfo.kernelVersion"], 1),
        _column("Container-Runtime", "string", _DOC["NodeSystemInfo.containerRuntimeVersion"], 1),
    ),
    ("", "pods"): (
        _NAME,
        _column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
        _column("Status", "string", "The aggregate status of the containers in this pod."),
        _column(
            "Restarts",
            "string",
            "The number of times the containers in this pod have been restarted and when the last "
            "container in this pod has restarted.",
        ),
        _AGE,
        _column("IP", "string", _DOC["PodStatus.podIP"], 1),
        _column("Node", "string", _DOC["PodSpec.nodeName"], 1),
        _column("Nominated Node", "string", _DOC["PodStatus.nominatedNodeName"], 1),
        _column("Readiness Gates", "string", _DOC["PodSpec.readinessGates"], 1),
    ),
    ("", "services"): (
        _NAME,
        _column("Type", "string", _DOC["ServiceSpec.type"]),
        _column("Cluster-IP", "string", _DOC["ServiceSpec.clusterIP"]),
        _column("External-IP", "string", _DOC["ServiceSpec.externalIPs"]),
        _column("Port(s)", "string", _DOC["ServiceSpec.ports"]),
        _AGE,
        _column("Selector", "string", _DOC["ServiceSpec.selector"], 1),
    ),
    ("", "endpoints"): (_NAME, _column("Endpoints", "string", _DOC["Endpoints.subsets"]), _AGE),
    ("", "configmaps"): (_NAME, _column("Data", "string", _DOC["ConfigMap.data"]), _AGE),
    ("", "secrets"): (
        _NAME,
        _column("Type", "string", _DOC["Secret.type"]),
        _column("Data", "string", _DOC["Secret.data"]),
        _AGE,
    ),
    ("", "serviceaccounts"): (_NAME, _column("Secrets", "string", _DOC["ServiceAccount.secrets"]), _AGE),
    ("", "events"): (
        _column("Last Seen", "string", _DOC["Event.lastTimestamp"]),
        _column("Type", "string", _DOC["Event.type"]),
        _column("Reason", "string", _DOC["Event.reason"]),
        _column("Object", "string", _DOC["Event.involvedObject"]),
        _column("Subobject", "string", _DOC["ObjectReference.fieldPath"], 1),
        _column("Source", "string", _DOC["Event.source"], 1),
        _column("Message", "string", _DOC["Event.message"]),
        _column("First Seen", "string", _DOC["Event.firstTimestamp"], 1),
        _column("Count", "string", _DOC["Event.count"], 1),
        _column("Name", "string", _DOC["ObjectMeta.name"], 1, "name"),
    ),
    ("apps", "deployments"): (
        _NAME,
        _column("Ready", "string", "Number of the pod with ready state"),
        _column("Up-to-date", "string", _DOC["DeploymentStatus.updatedReplicas"]),
        _column("Available", "string", _DOC["DeploymentStatus.availableReplicas"]),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _column("Selector", "string", _DOC["DeploymentSpec.selector"], 1),
    ),
    ("apps", "replicasets"): (
        _NAME,
        _column("Desired", "integer", _DOC["ReplicaSetSpec.replicas"]),
        _column("Current", "integer", _DOC["ReplicaSetStatus.replicas"]),
        _column("Ready", "integer", _DOC["ReplicaSetStatus.readyReplicas"]),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _column("Selector", "string", _DOC["ReplicaSetSpec.selector"], 1),
    ),
    ("apps", "daemonsets"): (
        _NAME,
        _column("Desired", "integer", _DOC["DaemonSetStatus.desiredNumberScheduled"]),
        _column("Current", "integer", _DOC["DaemonSetStatus.currentNumberScheduled"]),
        _column("Ready", "integer", _DOC["DaemonSetStatus.numberReady"]),
        _column("Up-to-date", "integer", _DOC["DaemonSetStatus.updatedNumberScheduled"]),
        _column("Available", "integer", _DOC["DaemonSetStatus.numberAvailable"]),
        _column("Node Selector", "string", _DOC["PodSpec.nodeSelector"]),
        _AGE,
        _CONTAINERS,
        _IMAGES,
        _column("Selector", "string", _DOC["DaemonSetSpec.selector"], 1),
    ),
    ("discovery.k8s.io", "endpointslices"): (
        _NAME,
        _column("AddressType", "string", _DOC["EndpointSlice.addressType"]),
        _column("Ports", "string", _DOC["EndpointSlice.ports"]),
        _column("Endpoints", "string", _DOC["EndpointSlice.endpoints"]),
        _AGE,
    ),
    ("coordination.k8s.io", "leases"): (
        _NAME,
        _column("Holder", "string", _DOC["LeaseSpec.holderIdentity"]),
        _AGE,
    ),
    ("rbac.authorization.k8s.io", "rolebindings"): _binding_columns("roleBinding"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"): _binding_columns("clusterRoleBinding"),
}

_PRINTERS: dict[tuple[str, str], Callable[[Obj, datetime.datetime], Cells]] = {
    ("", "namespaces"): _namespace_cells,
    ("", "nodes"): _node_cells,
    ("", "pods"): _pod_cells,
    ("", "services"): _service_cells,
    ("", "endpoints"): _endpoints_cells,
    ("", "configmaps"): _config_map_cells,
    ("", "secrets"): _secret_cells,
    ("", "serviceaccounts"): _service_account_cells,
    ("", "events"): _event_cells,
    ("apps", "deployments"): _deployment_cells,
    ("apps", "replicasets"): _replica_set_cells,
    ("apps", "daemonsets"): _daemon_set_cells,
    ("discovery.k8s.io", "endpointslices"): _endpoint_slice_cells,
    ("coordination.k8s.io", "leases"): _lease_cells,
    ("rbac.authorization.k8s.io", "rolebindings"): _binding_cells,
    ("rbac.authorization.k8s.io", "clusterrolebindings"): _binding_cells,
}
