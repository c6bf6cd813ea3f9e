"""The smaller kinds: Namespace, Node, ConfigMap, Secret, ServiceAccount, Event, Lease and RBAC."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from distro.apiserver.strategies import field as f
from distro.apiserver.strategies import meta as m
from distro.apiserver.strategies import names, quantity
from distro.apiserver.strategies.field import Cause, GoLiteral

Obj = dict[str, Any]

MAX_SECRET_SIZE = 1024 * 1024
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
RBAC_GROUP = "rbac.authorization.k8s.io"
_IMMUTABLE_WHEN_SET = "field is immutable when `immutable` is set"
_NODE_INFO_FIELDS = (
    "architecture",
    "bootID",
    "containerRuntimeVersion",
    "kernelVersion",
    "kubeProxyVersion",
    "kubeletVersion",
    "machineID",
    "operatingSystem",
    "osImage",
    "systemUUID",
)


def _dict_at(d: Obj, key: str) -> Obj:
    value = d.get(key)
    if not isinstance(value, dict):
        value = d[key] = {}
    return value


def _dicts(value: Any) -> list[Obj]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# -- Namespace --


def default_namespace(ns: Obj) -> None:
    meta = _dict_at(ns, "metadata")
    if meta.get("name"):
        _dict_at(meta, "labels")[NAMESPACE_NAME_LABEL] = meta["name"]
    spec = _dict_at(ns, "spec")
    finalizers = spec.get("finalizers") if isinstance(spec.get("finalizers"), list) else []
    # PrepareForCreate's doing, not defaulting: /finalize must be able to take it away again
    if m.is_new(ns) and "kubernetes" not in finalizers:
        spec["finalizers"] = [*finalizers, "kubernetes"]
    status = _dict_at(ns, "status")
    if not status.get("phase"):
        status["phase"] = "Active"


def _finalizer_name(name: str, path: str) -> list[Cause]:
    errs = [f.invalid(path, name, msg) for msg in names.is_qualified_name(name)]
    return errs + m.validate_kube_finalizer_name(name, path)


def validate_namespace(ns: Obj) -> list[Cause]:
    errs = m.validate_object_meta(ns, False, names.name_is_dns_label)
    for name in (ns.get("spec") or {}).get("finalizers") or []:
        errs += _finalizer_name(str(name), "spec.finalizers")
    return errs


def validate_namespace_update(new: Obj, old: Obj) -> list[Cause]:
    errs = m.validate_object_meta_update(new, old)
    for i, name in enumerate((new.get("spec") or {}).get("finalizers") or []):
        errs += _finalizer_name(str(name), f"spec.finalizers[{i}]")
    return errs


# -- Node --


def default_node(node: Obj) -> None:
    _dict_at(node, "spec")
    status = _dict_at(node, "status")
    for key in ("capacity", "allocatable"):
        if isinstance(status.get(key), dict):
            status[key] = {name: quantity.normalize(v) for name, v in status[key].items()}
    if status.get("allocatable") is None and isinstance(status.get("capacity"), dict):
        status["allocatable"] = dict(status["capacity"])
    # non-pointer structs of plain fields: upstream always writes them out
    _dict_at(_dict_at(status, "daemonEndpoints"), "kubeletEndpoint").setdefault("Port", 0)
    info = _dict_at(status, "nodeInfo")
    for key in _NODE_INFO_FIELDS:
        info.setdefault(key, "")


def _validate_taints(taints: Any, path: str) -> list[Cause]:
    errs: list[Cause] = []
    unique: set[tuple[str, str]] = set()
    for i, taint in enumerate(_dicts(taints)):
        taint_path = f.index(path, i)
        key, effect = taint.get("key") or "", taint.get("effect") or ""
        errs += m.validate_label_name(key, f.child(taint_path, "key"))
        if msgs := names.is_valid_label_value(taint.get("value") or ""):
            errs.append(f.invalid(f.child(taint_path, "value"), taint.get("value") or "", ";".join(msgs)))
        if not effect:
            errs.append(f.required(f.child(taint_path, "effect")))
        elif effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            errs.append(
                f.not_supported(
                    f.child(taint_path, "effect"), effect, ("NoSchedule", "PreferNoSchedule", "NoExecute")
                )
            )
        if (effect, key) in unique:
            shown = GoLiteral(
                f"core.Taint{{Key:{f.go_quote(key)}, Value:{f.go_quote(taint.get('value') or '')}, "
                f"Effect:{f.go_quote(effect)}, TimeAdded:<nil>}}"
            )
            errs.append(f.duplicate(taint_path, shown, "taints must be unique by key and effect pair"))
            continue
        unique.add((effect, key))
    return errs


def _validate_node_resources(node: Obj) -> list[Cause]:
    status = node.get("status") if isinstance(node.get("status"), dict) else {}
    errs: list[Cause] = []
    for section in ("capacity", "allocatable"):
        for name, raw in sorted((status.get(section) or {}).items()):
            q = quantity.parse(raw)
            if q is not None and q.value < 0:
                errs.append(f.invalid(f"status.{section}.{name}", quantity.canonical(q), m.IS_NEGATIVE))
    return errs


def validate_node(node: Obj) -> list[Cause]:
    spec = node.get("spec") if isinstance(node.get("spec"), dict) else {}
    errs = m.validate_object_meta(node, False, names.name_is_dns_subdomain)
    # upstream reports taints under metadata, not spec
    errs += _validate_taints(spec.get("taints"), "metadata.taints")
    errs += _validate_node_resources(node)
    cidrs = spec.get("podCIDRs") or []
    for i, cidr in enumerate(cidrs):
        errs += [f.invalid(f"spec.podCIDRs[{i}]", cidr, msg) for msg in names.is_valid_cidr(cidr or "")]
    return errs


def validate_node_update(new: Obj, old: Obj) -> list[Cause]:
    spec = new.get("spec") if isinstance(new.get("spec"), dict) else {}
    old_spec = old.get("spec") if isinstance(old.get("spec"), dict) else {}
    errs = m.validate_object_meta_update(new, old)
    errs += _validate_node_resources(new)
    seen: list[Obj] = []
    for i, address in enumerate(_dicts((new.get("status") or {}).get("addresses"))):
        if address in seen:
            shown = GoLiteral(
                f"core.NodeAddress{{Type:{f.go_quote(address.get('type') or '')}, "
                f"Address:{f.go_quote(address.get('address') or '')}}}"
            )
            errs.append(f.duplicate(f"status.addresses[{i}]", shown))
        seen.append(address)
    old_cidrs, new_cidrs = old_spec.get("podCIDRs") or [], spec.get("podCIDRs") or []
    podcidr_change = 'node updates may not change podCIDR except from "" to valid'
    if old_cidrs and len(old_cidrs) != len(new_cidrs):
        errs.append(f.forbidden("spec.podCIDRs", podcidr_change))
    elif old_cidrs:
        errs += [
            f.forbidden("spec.podCIDRs", podcidr_change)
            for a, b in zip(old_cidrs, new_cidrs, strict=True)
            if a != b
        ]
    if old_spec.get("providerID") and old_spec.get("providerID") != spec.get("providerID"):
        errs.append(
            f.forbidden("spec.providerID", 'node updates may not change providerID except from "" to valid')
        )
    errs += _validate_taints(spec.get("taints"), "metadata.taints")
    if (spec.get("externalID") or "") != (old_spec.get("externalID") or ""):
        errs.append(f.forbidden("spec.externalID", "may not be updated"))
    return errs


# -- ConfigMap and Secret --


def _decoded_length(value: Any) -> int:
    try:
        return len(base64.b64decode(str(value), validate=True))
    except (binascii.Error, ValueError):
        return len(str(value))


def validate_config_map(cm: Obj) -> list[Cause]:
    errs = m.validate_object_meta(cm, True, names.name_is_dns_subdomain)
    data, binary = cm.get("data") or {}, cm.get("binaryData") or {}
    total = 0
    for key in sorted(data):
        errs += [f.invalid(f"data[{key}]", key, msg) for msg in names.is_config_map_key(key)]
        if key in binary:
            errs.append(f.invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
        total += len(str(data[key]).encode())
    for key in sorted(binary):
        errs += [f.invalid(f"binaryData[{key}]", key, msg) for msg in names.is_config_map_key(key)]
        total += _decoded_length(binary[key])
    if total > MAX_SECRET_SIZE:
        # the empty path: upstream blames the whole object
        errs.append(f.too_long("", MAX_SECRET_SIZE))
    return errs


def _immutable_contents(new: Obj, old: Obj, keys: tuple[str, ...]) -> list[Cause]:
    if old.get("immutable") is not True:
        return []
    errs: list[Cause] = []
    if new.get("immutable") is not True:
        errs.append(f.forbidden("immutable", _IMMUTABLE_WHEN_SET))
    for key in keys:
        if (new.get(key) or {}) != (old.get(key) or {}):
            errs.append(f.forbidden(key, _IMMUTABLE_WHEN_SET))
    return errs


def validate_config_map_update(new: Obj, old: Obj) -> list[Cause]:
    errs = m.validate_object_meta_update(new, old)
    errs += _immutable_contents(new, old, ("data", "binaryData"))
    return errs + validate_config_map(new)


def default_secret(secret: Obj) -> None:
    if not secret.get("type"):
        secret["type"] = "Opaque"
    # the v1 conversion folds stringData into data; stringData is write-only
    string_data = secret.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = _dict_at(secret, "data")
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def _secret_type_rules(secret: Obj, data: Obj) -> list[Cause]:
    kind = secret.get("type") or ""
    if kind == "kubernetes.io/service-account-token":
        annotations = m.meta_of(secret).get("annotations") or {}
        if not annotations.get("kubernetes.io/service-account.name"):
            return [f.required("metadata.annotations[kubernetes.io/service-account.name]")]
    elif kind in ("kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson"):
        key = ".dockercfg" if kind == "kubernetes.io/dockercfg" else ".dockerconfigjson"
        if key not in data:
            return [f.required(f"data[{key}]")]
        try:
            parsed = json.loads(base64.b64decode(str(data[key])))
            if not isinstance(parsed, dict):
                raise ValueError("json: cannot unmarshal into Go value of type map[string]interface {}")
        except (ValueError, binascii.Error) as exc:
            return [f.invalid(f"data[{key}]", "<secret contents redacted>", str(exc))]
    elif kind == "kubernetes.io/basic-auth":
        if "username" not in data and "password" not in data:
            return [f.required("data[username]"), f.required("data[password]")]
    elif kind == "kubernetes.io/ssh-auth":
        if not data.get("ssh-privatekey"):
            return [f.required("data[ssh-privatekey]")]
    elif kind == "kubernetes.io/tls":
        return [f.required(f"data[{key}]") for key in ("tls.crt", "tls.key") if key not in data]
    return []


def validate_secret(secret: Obj) -> list[Cause]:
    errs = m.validate_object_meta(secret, True, names.name_is_dns_subdomain)
    data = secret.get("data") or {}
    total = 0
    for key in sorted(data):
        errs += [f.invalid(f"data[{key}]", key, msg) for msg in names.is_config_map_key(key)]
        total += _decoded_length(data[key])
    if total > MAX_SECRET_SIZE:
        errs.append(f.too_long("data", MAX_SECRET_SIZE))
    return errs + _secret_type_rules(secret, data)


def validate_secret_update(new: Obj, old: Obj) -> list[Cause]:
    errs = m.validate_object_meta_update(new, old)
    errs += m.immutable(new.get("type") or "", old.get("type") or "", "type")
    errs += _immutable_contents(new, old, ("data",))
    return errs + validate_secret(new)


# -- ServiceAccount --


def validate_service_account(sa: Obj) -> list[Cause]:
    return m.validate_object_meta(sa, True, names.name_is_dns_subdomain)


def validate_service_account_update(new: Obj, old: Obj) -> list[Cause]:
    return m.validate_object_meta_update(new, old) + validate_service_account(new)


# -- Event (core/v1 keeps only the legacy checks) --


def default_event(event: Obj) -> None:
    # zero timestamps and plain strings that upstream always writes out
    for key in ("eventTime", "firstTimestamp", "lastTimestamp"):
        event.setdefault(key, None)
    for key in ("reportingComponent", "reportingInstance"):
        event.setdefault(key, "")
    _dict_at(event, "source")
    _dict_at(event, "involvedObject")


def validate_event(event: Obj) -> list[Cause]:
    namespace = m.meta_of(event).get("namespace") or ""
    involved = event.get("involvedObject") if isinstance(event.get("involvedObject"), dict) else {}
    involved_ns = involved.get("namespace") or ""
    mismatch = f.invalid("involvedObject.namespace", involved_ns, "does not match event.namespace")
    errs: list[Cause] = []
    if not event.get("eventTime"):
        if (not involved_ns and namespace not in ("", "default")) or (
            involved_ns and namespace != involved_ns
        ):
            errs.append(mismatch)
    else:
        errs += _validate_new_style_event(event, namespace, involved_ns, mismatch)
    errs += [f.invalid("namespace", namespace, msg) for msg in names.is_dns1123_subdomain(namespace)]
    return errs


def _validate_new_style_event(event: Obj, namespace: str, involved_ns: str, mismatch: Cause) -> list[Cause]:
    errs: list[Cause] = []
    if not involved_ns and namespace not in ("default", "kube-system"):
        errs.append(mismatch)
    controller = event.get("reportingComponent") or ""
    if not controller:
        errs.append(f.required("reportingController"))
    errs += [f.invalid("reportingController", controller, msg) for msg in names.is_qualified_name(controller)]
    for key, wire, limit in (
        ("reportingInstance", "reportingInstance", 128),
        ("action", "action", 128),
        ("reason", "reason", 128),
    ):
        value = event.get(wire) or ""
        if not value:
            errs.append(f.required(key))
        if len(value) > limit:
            errs.append(f.invalid(key, "", f"can have at most {limit} characters"))
    if len(event.get("message") or "") > 1024:
        errs.append(f.invalid("message", "", "can have at most 1024 characters"))
    return errs


# -- Lease --


def default_lease(lease: Obj) -> None:
    _dict_at(lease, "spec")


def validate_lease(lease: Obj) -> list[Cause]:
    errs = m.validate_object_meta(lease, True, names.name_is_dns_subdomain, core=False)
    return errs + _validate_lease_spec(lease.get("spec") if isinstance(lease.get("spec"), dict) else {})


def _validate_lease_spec(spec: Obj) -> list[Cause]:
    errs: list[Cause] = []
    duration = spec.get("leaseDurationSeconds")
    if isinstance(duration, int) and duration <= 0:
        errs.append(f.invalid("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if isinstance(transitions, int) and transitions < 0:
        errs.append(f.invalid("spec.leaseTransitions", transitions, "must be greater than or equal to 0"))
    strategy = spec.get("strategy")
    if strategy is not None:
        if "/" not in strategy and strategy != "OldestEmulationVersion":
            errs.append(f.not_supported("spec.strategy.strategy", strategy, ("OldestEmulationVersion",)))
        elif "/" in strategy:
            errs += [
                f.invalid("spec.strategy.strategy", strategy, msg)
                for msg in names.is_qualified_name(strategy)
            ]
    if spec.get("preferredHolder") and not strategy:
        errs.append(f.forbidden("spec.preferredHolder", "may only be specified if `strategy` is defined"))
    return errs


def validate_lease_update(new: Obj, old: Obj) -> list[Cause]:
    errs = m.validate_object_meta_update(new, old, core=False)
    return errs + _validate_lease_spec(new.get("spec") if isinstance(new.get("spec"), dict) else {})


# -- RBAC --


def default_binding(binding: Obj) -> None:
    role_ref = _dict_at(binding, "roleRef")
    if not role_ref.get("apiGroup"):
        role_ref["apiGroup"] = RBAC_GROUP
    for subject in _dicts(binding.get("subjects")):
        if not subject.get("apiGroup"):
            subject["apiGroup"] = RBAC_GROUP if subject.get("kind") in ("User", "Group") else ""


def _validate_policy_rule(rule: Obj, namespaced: bool, path: str) -> list[Cause]:
    errs: list[Cause] = []
    if not rule.get("verbs"):
        errs.append(f.required(f.child(path, "verbs"), "verbs must contain at least one value"))
    urls = rule.get("nonResourceURLs") or []
    if urls:
        if namespaced:
            errs.append(
                f.invalid(
                    f.child(path, "nonResourceURLs"),
                    urls,
                    "namespaced rules cannot apply to non-resource URLs",
                )
            )
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            errs.append(
                f.invalid(
                    f.child(path, "nonResourceURLs"),
                    urls,
                    "rules cannot apply to both regular resources and non-resource URLs",
                )
            )
        return errs
    if not rule.get("apiGroups"):
        errs.append(
            f.required(f.child(path, "apiGroups"), "resource rules must supply at least one api group")
        )
    if not rule.get("resources"):
        errs.append(
            f.required(f.child(path, "resources"), "resource rules must supply at least one resource")
        )
    if rule.get("resourceNames") and len(rule.get("resources") or []) > 1:
        errs.append(
            f.required(f.child(path, "resourceNames"), "resource names cannot apply to multiple resources")
        )
    return errs


def validate_role(role: Obj, namespaced: bool) -> list[Cause]:
    errs = m.validate_object_meta(role, namespaced, names.path_segment_name)
    for i, rule in enumerate(_dicts(role.get("rules"))):
        errs += _validate_policy_rule(rule, namespaced, f"rules[{i}]")
    return errs


def validate_role_update(new: Obj, old: Obj, namespaced: bool) -> list[Cause]:
    return validate_role(new, namespaced) + m.validate_object_meta_update(new, old)


def _validate_subject(subject: Obj, namespaced: bool, path: str) -> list[Cause]:
    errs: list[Cause] = []
    name, kind, group = subject.get("name") or "", subject.get("kind") or "", subject.get("apiGroup") or ""
    if not name:
        errs.append(f.required(f.child(path, "name")))
    if kind == "ServiceAccount":
        if name:
            errs += [
                f.invalid(f.child(path, "name"), name, msg)
                for msg in names.name_is_dns_subdomain(name, False)
            ]
        if group:
            errs.append(f.not_supported(f.child(path, "apiGroup"), group, ("",)))
        if not namespaced and not subject.get("namespace"):
            errs.append(f.required(f.child(path, "namespace")))
    elif kind in ("User", "Group"):
        if not name:
            errs.append(f.invalid(f.child(path, "name"), name, f"{kind.lower()} name cannot be empty"))
        if group != RBAC_GROUP:
            errs.append(f.not_supported(f.child(path, "apiGroup"), group, (RBAC_GROUP,)))
    else:
        errs.append(f.not_supported(f.child(path, "kind"), kind, ("ServiceAccount", "User", "Group")))
    return errs


def validate_binding(binding: Obj, namespaced: bool) -> list[Cause]:
    errs = m.validate_object_meta(binding, namespaced, names.path_segment_name)
    role_ref = binding.get("roleRef") if isinstance(binding.get("roleRef"), dict) else {}
    if (role_ref.get("apiGroup") or "") != RBAC_GROUP:
        errs.append(f.not_supported("roleRef.apiGroup", role_ref.get("apiGroup") or "", (RBAC_GROUP,)))
    kinds = ("Role", "ClusterRole") if namespaced else ("ClusterRole",)
    if (role_ref.get("kind") or "") not in kinds:
        errs.append(f.not_supported("roleRef.kind", role_ref.get("kind") or "", kinds))
    ref_name = role_ref.get("name") or ""
    if not ref_name:
        errs.append(f.required("roleRef.name"))
    else:
        errs += [f.invalid("roleRef.name", ref_name, msg) for msg in names.path_segment_name(ref_name, False)]
    for i, subject in enumerate(_dicts(binding.get("subjects"))):
        errs += _validate_subject(subject, namespaced, f"subjects[{i}]")
    return errs


def _role_ref_literal(role_ref: Obj) -> GoLiteral:
    return GoLiteral(
        f"rbac.RoleRef{{APIGroup:{f.go_quote(role_ref.get('apiGroup') or '')}, "
        f"Kind:{f.go_quote(role_ref.get('kind') or '')}, Name:{f.go_quote(role_ref.get('name') or '')}}}"
    )


def validate_binding_update(new: Obj, old: Obj, namespaced: bool) -> list[Cause]:
    errs = validate_binding(new, namespaced) + m.validate_object_meta_update(new, old)
    new_ref, old_ref = new.get("roleRef") or {}, old.get("roleRef") or {}
    keys = ("apiGroup", "kind", "name")
    if any((new_ref.get(k) or "") != (old_ref.get(k) or "") for k in keys):
        errs.append(f.invalid("roleRef", _role_ref_literal(new_ref), "cannot change roleRef"))
    return errs
