"""Per-resource defaulting and validation, as kube-apiserver v1.32 applies them.

Defaults are upstream's `SetDefaults_*` for the served versions plus the admission plugins whose
effect shows on every object (ServiceAccount, Priority, DefaultTolerationSeconds for pods) and the
zero values Go always serializes. Validation returns causes in upstream's order, with upstream's
field paths and messages; `invalid` wraps them in the 422 Status kube-apiserver returns.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from distro.apiserver.registry import ResourceDef
from distro.apiserver.status import StatusError
from distro.apiserver.strategies import apps, meta, misc, pods, services
from distro.apiserver.strategies.field import error_string

__all__ = ["Cause", "apply_defaults", "generate_name_suffix", "invalid", "validate_create", "validate_update"]

Cause = (
    dict  # {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers[0].image"}
)
Obj = dict[str, Any]

# upstream's utilrand alphabet: no vowels, and no characters that read alike
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_SUFFIX_LENGTH = 5

_Key = tuple[str, str]  # (group, kind)
_RBAC = "rbac.authorization.k8s.io"


def _nothing(_: Obj) -> None:
    return None


def _is_dict(obj: Any) -> bool:
    return isinstance(obj, dict)


_DEFAULTS: dict[_Key, Callable[[Obj], None]] = {
    ("", "Pod"): pods.default_pod,
    ("", "Service"): services.default_service,
    ("", "Endpoints"): services.default_endpoints,
    ("", "Namespace"): misc.default_namespace,
    ("", "Node"): misc.default_node,
    ("", "Secret"): misc.default_secret,
    ("", "Event"): misc.default_event,
    ("apps", "Deployment"): apps.default_deployment,
    ("apps", "ReplicaSet"): apps.default_replica_set,
    ("apps", "DaemonSet"): apps.default_daemon_set,
    ("discovery.k8s.io", "EndpointSlice"): services.default_endpoint_slice,
    ("coordination.k8s.io", "Lease"): misc.default_lease,
    (_RBAC, "RoleBinding"): misc.default_binding,
    (_RBAC, "ClusterRoleBinding"): misc.default_binding,
}

_CREATE: dict[_Key, Callable[[Obj], list[Cause]]] = {
    ("", "Pod"): pods.validate_pod_create,
    ("", "Service"): services.validate_service,
    ("", "Endpoints"): services.validate_endpoints,
    ("", "Namespace"): misc.validate_namespace,
    ("", "Node"): misc.validate_node,
    ("", "ConfigMap"): misc.validate_config_map,
    ("", "Secret"): misc.validate_secret,
    ("", "ServiceAccount"): misc.validate_service_account,
    ("", "Event"): misc.validate_event,
    ("apps", "Deployment"): apps.validate_deployment,
    ("apps", "ReplicaSet"): apps.validate_replica_set,
    ("apps", "DaemonSet"): apps.validate_daemon_set,
    ("discovery.k8s.io", "EndpointSlice"): services.validate_endpoint_slice,
    ("coordination.k8s.io", "Lease"): misc.validate_lease,
    (_RBAC, "Role"): lambda obj: misc.validate_role(obj, True),
    (_RBAC, "ClusterRole"): lambda obj: misc.validate_role(obj, False),
    (_RBAC, "RoleBinding"): lambda obj: misc.validate_binding(obj, True),
    (_RBAC, "ClusterRoleBinding"): lambda obj: misc.validate_binding(obj, False),
}

_UPDATE: dict[_Key, Callable[[Obj, Obj], list[Cause]]] = {
    ("", "Pod"): pods.validate_pod_update,
    ("", "Service"): services.validate_service_update,
    ("", "Endpoints"): lambda new, old: (
        meta.validate_object_meta_update(new, old) + services.validate_endpoints(new)
    ),
    ("", "Namespace"): misc.validate_namespace_update,
    ("", "Node"): misc.validate_node_update,
    ("", "ConfigMap"): misc.validate_config_map_update,
    ("", "Secret"): misc.validate_secret_update,
    ("", "ServiceAccount"): misc.validate_service_account_update,
    # core/v1 events get the legacy checks only, on update as on create
    ("", "Event"): lambda new, old: misc.validate_event(new),
    ("apps", "Deployment"): apps.validate_deployment_update,
    ("apps", "ReplicaSet"): apps.validate_replica_set_update,
    ("apps", "DaemonSet"): apps.validate_daemon_set_update,
    ("discovery.k8s.io", "EndpointSlice"): services.validate_endpoint_slice_update,
    ("coordination.k8s.io", "Lease"): misc.validate_lease_update,
    (_RBAC, "Role"): lambda new, old: misc.validate_role_update(new, old, True),
    (_RBAC, "ClusterRole"): lambda new, old: misc.validate_role_update(new, old, False),
    (_RBAC, "RoleBinding"): lambda new, old: misc.validate_binding_update(new, old, True),
    (_RBAC, "ClusterRoleBinding"): lambda new, old: misc.validate_binding_update(new, old, False),
}


def apply_defaults(rd: ResourceDef, obj: dict) -> None:
    """Fills in what upstream's defaulting and mutating admission would; safe to repeat."""
    if not _is_dict(obj):
        return
    metadata = obj.get("metadata")
    if not rd.namespaced and isinstance(metadata, dict):
        # upstream's BeforeCreate clears a namespace sent for a cluster-scoped kind
        metadata.pop("namespace", None)
    _DEFAULTS.get((rd.group, rd.kind), _nothing)(obj)


def validate_create(rd: ResourceDef, obj: dict) -> list[Cause]:
    validate = _CREATE.get((rd.group, rd.kind))
    return validate(obj) if validate and _is_dict(obj) else []


def validate_update(rd: ResourceDef, new: dict, old: dict) -> list[Cause]:
    validate = _UPDATE.get((rd.group, rd.kind))
    return validate(new, old) if validate and _is_dict(new) and _is_dict(old) else []


def invalid(rd: ResourceDef, name: str, causes: list[Cause]) -> StatusError:
    """apierrors.NewInvalid: 422 with every cause, and a message that lists each distinct one once."""
    qualified_kind = f"{rd.kind}.{rd.group}" if rd.group else rd.kind
    distinct: list[str] = []
    for cause in causes:
        text = error_string(cause)
        if text not in distinct:
            distinct.append(text)
    message = f'{qualified_kind} "{name}" is invalid'
    if len(distinct) == 1:
        message += f": {distinct[0]}"
    elif distinct:
        message += f": [{', '.join(distinct)}]"
    details: dict[str, Any] = {"name": name} if name else {}
    if rd.group:
        details["group"] = rd.group
    details["kind"] = rd.kind
    wire_causes = [{k: v for k, v in cause.items() if v} for cause in causes]
    if wire_causes:
        details["causes"] = wire_causes
    return StatusError(422, "Invalid", message, details)


def generate_name_suffix() -> str:
    return "".join(secrets.choice(_NAME_ALPHABET) for _ in range(_SUFFIX_LENGTH))
