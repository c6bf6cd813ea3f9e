"""Pods and pod templates: core/v1 defaults, the admission plugins whose effect users see on every pod
(ServiceAccount, Priority, DefaultTolerationSeconds), and pkg/apis/core/validation's pod rules."""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from typing import Any

from distro.apiserver.strategies import field as f
from distro.apiserver.strategies import meta as m
from distro.apiserver.strategies import names, quantity
from distro.apiserver.strategies.field import Cause

Obj = dict[str, Any]

MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
DEFAULT_TOLERATION_SECONDS = 300
SYSTEM_PRIORITY_CLASSES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}
FILE_MODE_ERROR = "must be a number between 0 and 0777 (octal), both inclusive"
UPDATABLE_POD_SPEC_FIELDS = (
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
)
_CONTAINER_KINDS = ("containers", "initContainers", "ephemeralContainers")
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_INT32_MAX = 2**31 - 1


def _unset(d: Obj, key: str) -> bool:
    return d.get(key) is None


def _dict_at(d: Obj, key: str) -> Obj:
    """The dict under `key`, created when absent or null."""
    value = d.get(key)
    if not isinstance(value, dict):
        value = d[key] = {}
    return value


def _dicts(value: Any) -> list[Obj]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# ---------------------------------------------------------------------------------------------
# defaults


def image_tag(image: str) -> str:
    """The tag parsers.ParseImageName reports: `latest` when none is given, `` for a bare digest or an
    unparseable reference."""
    match = _REFERENCE.fullmatch(image or "")
    if not match or len(match.group("name")) > 255:
        return ""
    first, slash, _ = match.group("name").partition("/")
    is_domain = "." in first or ":" in first or first == "localhost"
    if slash and not is_domain and first != first.lower():
        return ""
    if match.group("tag"):
        return match.group("tag")
    return "" if match.group("digest") else "latest"


_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_REFERENCE = re.compile(
    rf"(?P<name>(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?"
)


def _default_http_get(handler: Any) -> None:
    if isinstance(handler, dict) and isinstance(handler.get("httpGet"), dict):
        http = handler["httpGet"]
        if not http.get("path"):
            http["path"] = "/"
        if not http.get("scheme"):
            http["scheme"] = "HTTP"


def _default_probe(probe: Obj) -> None:
    for key, value in (
        ("timeoutSeconds", 1),
        ("periodSeconds", 10),
        ("successThreshold", 1),
        ("failureThreshold", 3),
    ):
        if not probe.get(key):
            probe[key] = value
    _default_http_get(probe)
    if isinstance(probe.get("grpc"), dict) and _unset(probe["grpc"], "service"):
        probe["grpc"]["service"] = ""


def _default_field_ref(holder: Any) -> None:
    if isinstance(holder, dict) and isinstance(holder.get("fieldRef"), dict):
        if not holder["fieldRef"].get("apiVersion"):
            holder["fieldRef"]["apiVersion"] = "v1"


def canonicalize_resources(resources: Obj) -> None:
    for key in ("limits", "requests"):
        if isinstance(resources.get(key), dict):
            resources[key] = {name: quantity.normalize(v) for name, v in resources[key].items()}


def default_container(container: Obj) -> None:
    if not container.get("imagePullPolicy"):
        container["imagePullPolicy"] = (
            "Always" if image_tag(container.get("image") or "") == "latest" else "IfNotPresent"
        )
    if not container.get("terminationMessagePath"):
        container["terminationMessagePath"] = "/dev/termination-log"
    if not container.get("terminationMessagePolicy"):
        container["terminationMessagePolicy"] = "File"
    for port in _dicts(container.get("ports")):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
    # a non-pointer struct upstream, so it is always written out
    canonicalize_resources(_dict_at(container, "resources"))
    for probe in _PROBES:
        if isinstance(container.get(probe), dict):
            _default_probe(container[probe])
    lifecycle = container.get("lifecycle")
    if isinstance(lifecycle, dict):
        _default_http_get(lifecycle.get("postStart"))
        _default_http_get(lifecycle.get("preStop"))
    for env in _dicts(container.get("env")):
        _default_field_ref(env.get("valueFrom"))


_VOLUME_SOURCES = (
    "emptyDir",
    "hostPath",
    "gitRepo",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "flocker",
    "persistentVolumeClaim",
    "rbd",
    "cinder",
    "cephfs",
    "quobyte",
    "downwardAPI",
    "fc",
    "flexVolume",
    "configMap",
    "azureFile",
    "vsphereVolume",
    "photonPersistentDisk",
    "portworxVolume",
    "azureDisk",
    "storageos",
    "projected",
    "scaleIO",
    "csi",
    "ephemeral",
    "image",
)
_DEFAULT_MODE = 0o644


def default_volume(volume: Obj) -> None:
    if all(volume.get(source) is None for source in _VOLUME_SOURCES):
        volume["emptyDir"] = {}
    for source in ("secret", "configMap", "downwardAPI", "projected"):
        if isinstance(volume.get(source), dict) and _unset(volume[source], "defaultMode"):
            volume[source]["defaultMode"] = _DEFAULT_MODE
    if isinstance(volume.get("hostPath"), dict) and _unset(volume["hostPath"], "type"):
        volume["hostPath"]["type"] = ""
    for item in _dicts((volume.get("downwardAPI") or {}).get("items")):
        _default_field_ref(item)
    for source in _dicts((volume.get("projected") or {}).get("sources")):
        token = source.get("serviceAccountToken")
        if isinstance(token, dict) and _unset(token, "expirationSeconds"):
            token["expirationSeconds"] = 3600
        for item in _dicts((source.get("downwardAPI") or {}).get("items")):
            _default_field_ref(item)
    claim = ((volume.get("ephemeral") or {}).get("volumeClaimTemplate") or {}).get("spec")
    if isinstance(claim, dict) and _unset(claim, "volumeMode"):
        claim["volumeMode"] = "Filesystem"


def default_pod_spec(spec: Obj) -> None:
    """SetDefaults_PodSpec and what it reaches: shared by pods and pod templates."""
    for key, value in (
        ("dnsPolicy", "ClusterFirst"),
        ("restartPolicy", "Always"),
        ("schedulerName", "default-scheduler"),
    ):
        if not spec.get(key):
            spec[key] = value
    if _unset(spec, "securityContext"):
        spec["securityContext"] = {}
    if _unset(spec, "terminationGracePeriodSeconds"):
        spec["terminationGracePeriodSeconds"] = 30
    for kind in _CONTAINER_KINDS:
        for container in _dicts(spec.get(kind)):
            default_container(container)
    for volume in _dicts(spec.get("volumes")):
        default_volume(volume)
    if isinstance(spec.get("overhead"), dict):
        spec["overhead"] = {k: quantity.normalize(v) for k, v in spec["overhead"].items()}


def default_pod_template(template: Any) -> None:
    if not isinstance(template, dict):
        return
    # upstream writes the zero metav1.Time of a template as null
    _dict_at(template, "metadata").setdefault("creationTimestamp", None)
    default_pod_spec(_dict_at(template, "spec"))


def _requests_from_limits(spec: Obj) -> None:
    for kind in ("containers", "initContainers"):
        for container in _dicts(spec.get(kind)):
            resources = container.get("resources")
            if not isinstance(resources, dict) or not isinstance(resources.get("limits"), dict):
                continue
            requests = _dict_at(resources, "requests")
            for name, value in resources["limits"].items():
                requests.setdefault(name, value)


def _host_network_ports(spec: Obj) -> None:
    for kind in ("containers", "initContainers"):
        for container in _dicts(spec.get(kind)):
            for port in _dicts(container.get("ports")):
                if not port.get("hostPort"):
                    port["hostPort"] = port.get("containerPort")


def _admit_service_account(pod: Obj, spec: Obj) -> None:
    # the deprecated field mirrors serviceAccountName in the v1 conversion
    if not spec.get("serviceAccountName") and spec.get("serviceAccount"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    mirror = MIRROR_POD_ANNOTATION in (m.meta_of(pod).get("annotations") or {})
    if not spec.get("serviceAccountName") and not mirror and m.is_new(pod):
        # the ServiceAccount admission plugin names the default account on create only
        spec["serviceAccountName"] = "default"
    if spec.get("serviceAccountName"):
        spec["serviceAccount"] = spec["serviceAccountName"]


def _admit_priority(spec: Obj) -> None:
    class_name = spec.get("priorityClassName") or ""
    if class_name and class_name not in SYSTEM_PRIORITY_CLASSES:
        return
    if _unset(spec, "priority"):
        spec["priority"] = SYSTEM_PRIORITY_CLASSES.get(class_name, 0)
    if _unset(spec, "preemptionPolicy"):
        spec["preemptionPolicy"] = "PreemptLowerPriority"


def _tolerates(tolerations: list[Obj], taint_key: str) -> bool:
    return any(
        (t.get("key") in (taint_key, "", None)) and (t.get("effect") in ("NoExecute", "", None))
        for t in tolerations
    )


def _admit_default_tolerations(spec: Obj) -> None:
    tolerations = _dicts(spec.get("tolerations"))
    added = [
        {
            "key": key,
            "operator": "Exists",
            "effect": "NoExecute",
            "tolerationSeconds": DEFAULT_TOLERATION_SECONDS,
        }
        for key in (NOT_READY_TAINT, UNREACHABLE_TAINT)
        if not _tolerates(tolerations, key)
    ]
    if added:
        spec["tolerations"] = [*(spec.get("tolerations") or []), *added]


def default_pod(pod: Obj) -> None:
    spec = _dict_at(pod, "spec")
    _requests_from_limits(spec)
    if _unset(spec, "enableServiceLinks"):
        spec["enableServiceLinks"] = True
    if spec.get("hostNetwork"):
        _host_network_ports(spec)
    default_pod_spec(spec)
    _admit_service_account(pod, spec)
    # on update upstream copies priority from the old pod; the class cannot change, so recomputing agrees
    _admit_priority(spec)
    _admit_default_tolerations(spec)
    status = _dict_at(pod, "status")
    if not status.get("phase"):
        status["phase"] = "Pending"
    if not status.get("qosClass"):
        status["qosClass"] = compute_qos(spec)


def compute_qos(spec: Obj) -> str:
    """ComputePodQOS over regular and init containers, counting only cpu and memory."""
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    for kind in ("initContainers", "containers"):
        for container in _dicts(spec.get(kind)):
            resources = container.get("resources") or {}
            for name, raw in (resources.get("requests") or {}).items():
                q = quantity.parse(raw)
                if name in ("cpu", "memory") and q is not None and q.value > 0:
                    requests[name] = requests.get(name, Decimal(0)) + q.value
            found = set()
            for name, raw in (resources.get("limits") or {}).items():
                q = quantity.parse(raw)
                if name in ("cpu", "memory") and q is not None and q.value > 0:
                    found.add(name)
                    limits[name] = limits.get(name, Decimal(0)) + q.value
            if found != {"cpu", "memory"}:
                guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and all(limits.get(name) == value for name, value in requests.items()):
        if len(requests) == len(limits):
            return "Guaranteed"
    return "Burstable"


# ---------------------------------------------------------------------------------------------
# validation: volumes


def _file_mode(value: Any, path: str) -> list[Cause]:
    if isinstance(value, int) and not 0 <= value <= 0o777:
        return [f.invalid(path, value, FILE_MODE_ERROR)]
    return []


def _local_descending_path(target: str, path: str) -> list[Cause]:
    errs: list[Cause] = []
    if target.startswith("/"):
        errs.append(f.invalid(path, target, "must be a relative path"))
    errs += _no_backsteps(target, path)
    return errs


def _no_backsteps(target: str, path: str) -> list[Cause]:
    if ".." in target.replace("\\", "/").split("/"):
        return [f.invalid(path, target, "must not contain '..'")]
    return []


def _local_non_reserved_path(target: str, path: str) -> list[Cause]:
    errs = _local_descending_path(target, path)
    if target.startswith("..") and not target.startswith("../"):
        errs.append(f.invalid(path, target, "must not start with '..'"))
    return errs


def _key_to_paths(items: Any, path: str) -> list[Cause]:
    errs: list[Cause] = []
    for i, item in enumerate(_dicts(items)):
        item_path = f.index(path, i)
        if not item.get("key"):
            errs.append(f.required(f.child(item_path, "key")))
        if not item.get("path"):
            errs.append(f.required(f.child(item_path, "path")))
        errs += _local_non_reserved_path(item.get("path") or "", f.child(item_path, "path"))
        errs += _file_mode(item.get("mode"), f.child(item_path, "mode"))
    return errs


def _volume_source_errors(source: str, value: Obj, path: str) -> list[Cause]:
    here = f.child(path, source)
    errs: list[Cause] = []
    if source == "hostPath":
        if not value.get("path"):
            return [f.required(f.child(here, "path"))]
        errs += _no_backsteps(value["path"], f.child(here, "path"))
        supported = (
            "",
            "BlockDevice",
            "CharDevice",
            "Directory",
            "DirectoryOrCreate",
            "File",
            "FileOrCreate",
            "Socket",
        )
        if value.get("type") is not None and value["type"] not in supported:
            errs.append(f.not_supported(f.child(here, "type"), value["type"], supported))
    elif source in ("secret", "configMap"):
        name_key = "secretName" if source == "secret" else "name"
        if not value.get(name_key):
            errs.append(f.required(f.child(here, name_key)))
        errs += _file_mode(value.get("defaultMode"), f.child(here, "defaultMode"))
        errs += _key_to_paths(value.get("items"), f.child(here, "items"))
    elif source == "persistentVolumeClaim":
        if not value.get("claimName"):
            errs.append(f.required(f.child(here, "claimName")))
    elif source == "nfs":
        for key in ("server", "path"):
            if not value.get(key):
                errs.append(f.required(f.child(here, key)))
        if not (value.get("path") or "").startswith("/"):
            errs.append(f.invalid(f.child(here, "path"), value.get("path") or "", "must be an absolute path"))
    elif source in ("downwardAPI", "projected"):
        errs += _file_mode(value.get("defaultMode"), f.child(here, "defaultMode"))
    elif source == "emptyDir":
        limit = quantity.parse(value.get("sizeLimit")) if value.get("sizeLimit") is not None else None
        if limit is not None and limit.value < 0:
            errs.append(
                f.forbidden(f.child(here, "sizeLimit"), "SizeLimit field must be a valid resource quantity")
            )
    elif source == "csi" and not value.get("driver"):
        errs.append(f.required(f.child(here, "driver")))
    return errs


# upstream names two of the "more than 1 volume type" paths differently from the JSON fields
_FORBIDDEN_SOURCE_PATH = {"cephfs": "cephFS", "downwardAPI": "downwarAPI"}


def _validate_volume_source(volume: Obj, path: str) -> list[Cause]:
    errs: list[Cause] = []
    count = 0
    for source in _VOLUME_SOURCES:
        value = volume.get(source)
        if value is None:
            continue
        if count:
            errs.append(
                f.forbidden(
                    f.child(path, _FORBIDDEN_SOURCE_PATH.get(source, source)),
                    "may not specify more than 1 volume type",
                )
            )
            continue
        count += 1
        errs += _volume_source_errors(source, value if isinstance(value, dict) else {}, path)
    if not count:
        errs.append(f.required(path, "must specify a volume type"))
    return errs


def _validate_volumes(volumes: Any, path: str) -> tuple[dict[str, Obj], list[Cause]]:
    known: dict[str, Obj] = {}
    errs: list[Cause] = []
    for i, volume in enumerate(_dicts(volumes)):
        volume_path = f.index(path, i)
        name_path = f.child(volume_path, "name")
        name = volume.get("name") or ""
        own = _validate_volume_source(volume, volume_path)
        if not name:
            own.append(f.required(name_path))
        else:
            own += [f.invalid(name_path, name, msg) for msg in names.is_dns1123_label(name)]
        if name in known:
            own.append(f.duplicate(name_path, name))
        if own:
            errs += own
        else:
            known[name] = volume
    return known, errs


# ---------------------------------------------------------------------------------------------
# validation: containers


def _port_num_or_name(value: Any, path: str) -> list[Cause]:
    if isinstance(value, int) and not isinstance(value, bool):
        return [f.invalid(path, value, msg) for msg in names.is_valid_port_num(value)]
    if isinstance(value, str):
        return [f.invalid(path, value, msg) for msg in names.is_valid_port_name(value)]
    return [f.invalid(path, value, "must be an int or a string")]


def _validate_container_ports(ports: Any, path: str) -> list[Cause]:
    errs: list[Cause] = []
    seen: set[str] = set()
    for i, port in enumerate(_dicts(ports)):
        port_path = f.index(path, i)
        name = port.get("name") or ""
        if name:
            if msgs := names.is_valid_port_name(name):
                errs += [f.invalid(f.child(port_path, "name"), name, msg) for msg in msgs]
            elif name in seen:
                errs.append(f.duplicate(f.child(port_path, "name"), name))
            else:
                seen.add(name)
        container_port = port.get("containerPort") or 0
        if container_port == 0:
            errs.append(f.required(f.child(port_path, "containerPort")))
        else:
            errs += [
                f.invalid(f.child(port_path, "containerPort"), container_port, msg)
                for msg in names.is_valid_port_num(container_port)
            ]
        host_port = port.get("hostPort") or 0
        if host_port:
            errs += [
                f.invalid(f.child(port_path, "hostPort"), host_port, msg)
                for msg in names.is_valid_port_num(host_port)
            ]
        protocol = port.get("protocol") or ""
        if not protocol:
            errs.append(f.required(f.child(port_path, "protocol")))
        elif protocol not in _PROTOCOLS:
            errs.append(f.not_supported(f.child(port_path, "protocol"), protocol, _PROTOCOLS))
    return errs


_ENV_FIELD_PATHS = (
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
)
# what ConvertDownwardAPIFieldLabel accepts for v1, before the env-specific allow list applies
_CONVERTIBLE_FIELD_PATHS = (
    *_ENV_FIELD_PATHS,
    "metadata.annotations",
    "metadata.labels",
    "spec.restartPolicy",
    "spec.schedulerName",
    "status.phase",
)
_SUBSCRIPTED = re.compile(r"(metadata\.(?:annotations|labels))\['(.*)'\]")


def _validate_field_ref(ref: Obj, path: str) -> list[Cause]:
    if not ref.get("apiVersion"):
        return [f.required(f.child(path, "apiVersion"))]
    field_path = ref.get("fieldPath") or ""
    if not field_path:
        return [f.required(f.child(path, "fieldPath"))]
    if match := _SUBSCRIPTED.fullmatch(field_path):
        key = match.group(2).lower() if match.group(1) == "metadata.annotations" else match.group(2)
        return [f.invalid(path, key, msg) for msg in names.is_qualified_name(key)]
    if field_path not in _CONVERTIBLE_FIELD_PATHS:
        return [
            f.invalid(
                f.child(path, "fieldPath"),
                field_path,
                f"error converting fieldPath: field label not supported: {field_path}",
            )
        ]
    if field_path not in _ENV_FIELD_PATHS:
        return [f.not_supported(f.child(path, "fieldPath"), field_path, sorted(_ENV_FIELD_PATHS))]
    return []


def _validate_key_selector(selector: Obj, path: str) -> list[Cause]:
    name = selector.get("name") or ""
    errs = [f.invalid(f.child(path, "name"), name, msg) for msg in names.name_is_dns_subdomain(name, False)]
    key = selector.get("key") or ""
    if not key:
        errs.append(f.required(f.child(path, "key")))
    else:
        errs += [f.invalid(f.child(path, "key"), key, msg) for msg in names.is_config_map_key(key)]
    return errs


def _validate_env(env: Any, path: str) -> list[Cause]:
    errs: list[Cause] = []
    for i, var in enumerate(_dicts(env)):
        var_path = f.index(path, i)
        name = var.get("name") or ""
        if not name:
            errs.append(f.required(f.child(var_path, "name")))
        else:
            errs += [
                f.invalid(f.child(var_path, "name"), name, msg) for msg in names.is_relaxed_env_var_name(name)
            ]
        value_from = var.get("valueFrom")
        if value_from is None:
            continue
        from_path = f.child(var_path, "valueFrom")
        sources = [
            key
            for key in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")
            if isinstance(value_from, dict) and value_from.get(key) is not None
        ]
        for key in sources:
            source_path = f.child(from_path, key)
            if key == "fieldRef":
                errs += _validate_field_ref(value_from[key], source_path)
            elif key == "resourceFieldRef" and not value_from[key].get("resource"):
                errs.append(f.required(f.child(source_path, "resource")))
            elif key in ("configMapKeyRef", "secretKeyRef"):
                errs += _validate_key_selector(value_from[key], source_path)
        if not sources:
            errs.append(
                f.invalid(
                    from_path,
                    "",
                    "must specify one of: `fieldRef`, `resourceFieldRef`, "
                    "`configMapKeyRef` or `secretKeyRef`",
                )
            )
        elif var.get("value"):
            errs.append(f.invalid(from_path, "", "may not be specified when `value` is not empty"))
        elif len(sources) > 1:
            errs.append(f.invalid(from_path, "", "may not have more than one field specified at a time"))
    return errs


def _validate_env_from(env_from: Any, path: str) -> list[Cause]:
    errs: list[Cause] = []
    for i, source in enumerate(_dicts(env_from)):
        source_path = f.index(path, i)
        prefix = source.get("prefix") or ""
        if prefix:
            errs += [
                f.invalid(f.child(source_path, "prefix"), prefix, msg)
                for msg in names.is_relaxed_env_var_name(prefix)
            ]
        refs = [key for key in ("configMapRef", "secretRef") if source.get(key) is not None]
        for key in refs:
            name = (source[key] or {}).get("name") or ""
            ref_path = f.child(source_path, key, "name")
            if not name:
                errs.append(f.required(ref_path))
            else:
                errs += [f.invalid(ref_path, name, msg) for msg in names.name_is_dns_subdomain(name, True)]
        if not refs:
            errs.append(f.invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif len(refs) > 1:
            errs.append(f.invalid(path, "", "may not have more than one field specified at a time"))
    return errs


def _validate_volume_mounts(mounts: Any, volumes: dict[str, Obj], path: str) -> list[Cause]:
    errs: list[Cause] = []
    mount_paths: set[str] = set()
    for i, mount in enumerate(_dicts(mounts)):
        mount_path = f.index(path, i)
        name = mount.get("name") or ""
        if not name:
            errs.append(f.required(f.child(mount_path, "name")))
        if name not in volumes:
            errs.append(f.not_found(f.child(mount_path, "name"), name))
        target = mount.get("mountPath") or ""
        if not target:
            errs.append(f.required(f.child(mount_path, "mountPath")))
        if target in mount_paths:
            errs.append(f.invalid(f.child(mount_path, "mountPath"), target, "must be unique"))
        mount_paths.add(target)
        # upstream reports these two on the list's path, without the index
        if mount.get("subPath"):
            errs += _local_descending_path(mount["subPath"], f.child(path, "subPath"))
        if mount.get("subPathExpr"):
            if mount.get("subPath"):
                errs.append(
                    f.invalid(
                        f.child(mount_path, "subPathExpr"),
                        mount["subPathExpr"],
                        "subPathExpr and subPath are mutually exclusive",
                    )
                )
            errs += _local_descending_path(mount["subPathExpr"], f.child(path, "subPathExpr"))
        propagation = mount.get("mountPropagation")
        if propagation is not None and propagation not in ("Bidirectional", "HostToContainer", "None"):
            errs.append(
                f.not_supported(
                    f.child(path, "mountPropagation"),
                    propagation,
                    ("Bidirectional", "HostToContainer", "None"),
                )
            )
    return errs


_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_STANDARD_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def _is_native_resource(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def _is_hugepages(name: str) -> bool:
    return name.startswith("hugepages-")


def _is_extended_resource(name: str) -> bool:
    if _is_native_resource(name) or name.startswith("requests."):
        return False
    return not names.is_qualified_name("requests." + name)


def _overcommit_allowed(name: str) -> bool:
    return _is_native_resource(name) and not _is_hugepages(name)


def _validate_container_resource_name(name: str, path: str) -> list[Cause]:
    errs = [f.invalid(path, name, msg) for msg in names.is_qualified_name(name)]
    if errs:
        return errs
    if "/" not in name:
        if name not in _STANDARD_CONTAINER_RESOURCES and not _is_hugepages(name):
            return [f.invalid(path, name, "must be a standard resource for containers")]
    elif not _is_native_resource(name) and not _is_extended_resource(name):
        return [f.invalid(path, name, "doesn't follow extended resource name standard")]
    return []


def _validate_quantity(name: str, raw: Any, path: str) -> tuple[quantity.Quantity | None, list[Cause]]:
    q = quantity.parse(raw)
    if q is None:
        return None, [
            f.invalid(path, raw, f"quantities must match the regular expression '{quantity.QUANTITY_REGEX}'")
        ]
    errs: list[Cause] = []
    if q.value < 0:
        errs.append(f.invalid(path, quantity.canonical(q), m.IS_NEGATIVE))
    if _is_extended_resource(name) and q.value != q.value.to_integral_value():
        errs.append(f.invalid(path, f.GoLiteral(quantity.canonical(q)), "must be an integer"))
    return q, errs


def validate_resource_requirements(resources: Any, path: str) -> list[Cause]:
    resources = resources if isinstance(resources, dict) else {}
    limits_path, requests_path = f.child(path, "limits"), f.child(path, "requests")
    errs: list[Cause] = []
    limits: dict[str, quantity.Quantity] = {}
    for name, raw in sorted((resources.get("limits") or {}).items()):
        key_path = f.index(limits_path, name)
        errs += _validate_container_resource_name(name, key_path)
        q, q_errs = _validate_quantity(name, raw, key_path)
        errs += q_errs
        if q is not None:
            limits[name] = q
    has_cpu_or_memory = any(name in ("cpu", "memory") for name in limits)
    has_hugepages = any(_is_hugepages(name) for name in limits)
    for name, raw in sorted((resources.get("requests") or {}).items()):
        key_path = f.index(requests_path, name)
        errs += _validate_container_resource_name(name, key_path)
        q, q_errs = _validate_quantity(name, raw, key_path)
        errs += q_errs
        has_cpu_or_memory |= name in ("cpu", "memory")
        has_hugepages |= _is_hugepages(name)
        if q is None:
            continue
        limit = limits.get(name)
        if limit is not None:
            shown, limit_text = quantity.canonical(q), quantity.canonical(limit)
            if q.value != limit.value and not _overcommit_allowed(name):
                errs.append(f.invalid(requests_path, shown, f"must be equal to {name} limit of {limit_text}"))
            elif q.value > limit.value:
                errs.append(
                    f.invalid(
                        requests_path, shown, f"must be less than or equal to {name} limit of {limit_text}"
                    )
                )
        elif not _overcommit_allowed(name) and name not in (resources.get("limits") or {}):
            errs.append(f.required(limits_path, "Limit must be set for non overcommitable resources"))
    if has_hugepages and not has_cpu_or_memory:
        errs.append(f.forbidden(path, "HugePages require cpu or memory"))
    return errs


def _id_range(value: Any, path: str) -> list[Cause]:
    if isinstance(value, int) and not isinstance(value, bool):
        return [f.invalid(path, value, msg) for msg in names.is_valid_user_id(value)]
    return []


def _validate_container_security_context(sc: Any, path: str) -> list[Cause]:
    if not isinstance(sc, dict):
        return []
    errs = _id_range(sc.get("runAsUser"), f.child(path, "runAsUser"))
    errs += _id_range(sc.get("runAsGroup"), f.child(path, "runAsGroup"))
    proc_mount = sc.get("procMount")
    if proc_mount is not None and proc_mount not in ("Default", "Unmasked"):
        errs.append(f.not_supported(f.child(path, "procMount"), proc_mount, ("Default", "Unmasked")))
    return errs


def _validate_handler(handler: Obj, path: str, grace: Any) -> list[Cause]:
    errs: list[Cause] = []
    count = 0
    for kind in ("exec", "httpGet", "tcpSocket", "grpc", "sleep"):
        action = handler.get(kind)
        if action is None:
            continue
        kind_path = f.child(path, kind)
        if count:
            errs.append(f.forbidden(kind_path, "may not specify more than 1 handler type"))
            continue
        count += 1
        action = action if isinstance(action, dict) else {}
        if kind == "exec" and not action.get("command"):
            errs.append(f.required(f.child(kind_path, "command")))
        elif kind == "httpGet":
            if not action.get("path"):
                errs.append(f.required(f.child(kind_path, "path")))
            errs += _port_num_or_name(action.get("port"), f.child(kind_path, "port"))
            scheme = action.get("scheme") or ""
            if scheme not in ("HTTP", "HTTPS"):
                errs.append(f.not_supported(f.child(kind_path, "scheme"), scheme, ("HTTP", "HTTPS")))
            for header in _dicts(action.get("httpHeaders")):
                errs += [
                    f.invalid(f.child(kind_path, "httpHeaders"), header.get("name") or "", msg)
                    for msg in names.is_http_header_name(header.get("name") or "")
                ]
        elif kind in ("tcpSocket", "grpc"):
            errs += _port_num_or_name(action.get("port"), f.child(kind_path, "port"))
        elif kind == "sleep" and isinstance(grace, int):
            seconds = action.get("seconds") or 0
            if seconds <= 0 or seconds > grace:
                errs.append(
                    f.invalid(
                        kind_path,
                        seconds,
                        f"must be greater than 0 and less than "
                        f"terminationGracePeriodSeconds ({grace}). Enable "
                        "AllowPodLifecycleSleepActionZeroValue feature gate for zero sleep.",
                    )
                )
    if not count:
        errs.append(f.required(path, "must specify a handler type"))
    return errs


def _validate_probe(probe: Any, path: str, grace: Any, kind: str) -> list[Cause]:
    if not isinstance(probe, dict):
        return []
    errs = _validate_handler(probe, path, grace)
    for key in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        errs += m.nonnegative(probe.get(key, 0), f.child(path, key))
    probe_grace = probe.get("terminationGracePeriodSeconds")
    if isinstance(probe_grace, int) and probe_grace <= 0:
        errs.append(
            f.invalid(f.child(path, "terminationGracePeriodSeconds"), probe_grace, "must be greater than 0")
        )
    if kind in ("livenessProbe", "startupProbe") and probe.get("successThreshold") != 1:
        errs.append(f.invalid(f.child(path, "successThreshold"), probe.get("successThreshold"), "must be 1"))
    if kind == "readinessProbe" and probe_grace is not None:
        errs.append(
            f.invalid(
                f.child(path, "terminationGracePeriodSeconds"),
                probe_grace,
                "must not be set for readinessProbes",
            )
        )
    return errs


def _validate_lifecycle_and_probes(container: Obj, path: str, grace: Any) -> list[Cause]:
    errs: list[Cause] = []
    lifecycle = container.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            if isinstance(lifecycle.get(hook), dict):
                errs += _validate_handler(lifecycle[hook], f.child(path, "lifecycle", hook), grace)
    for probe in _PROBES:
        errs += _validate_probe(container.get(probe), f.child(path, probe), grace, probe)
    return errs


def _validate_container_common(container: Obj, volumes: dict[str, Obj], path: str) -> list[Cause]:
    errs: list[Cause] = []
    name = container.get("name") or ""
    if not name:
        errs.append(f.required(f.child(path, "name")))
    else:
        errs += [f.invalid(f.child(path, "name"), name, msg) for msg in names.is_dns1123_label(name)]
    if not container.get("image"):
        errs.append(f.required(f.child(path, "image")))
    policy = container.get("terminationMessagePolicy") or ""
    if not policy:
        errs.append(f.required(f.child(path, "terminationMessagePolicy")))
    elif policy not in ("File", "FallbackToLogsOnError"):
        errs.append(
            f.not_supported(
                f.child(path, "terminationMessagePolicy"), policy, ("File", "FallbackToLogsOnError")
            )
        )
    errs += _validate_container_ports(container.get("ports"), f.child(path, "ports"))
    errs += _validate_env(container.get("env"), f.child(path, "env"))
    errs += _validate_env_from(container.get("envFrom"), f.child(path, "envFrom"))
    errs += _validate_volume_mounts(container.get("volumeMounts"), volumes, f.child(path, "volumeMounts"))
    pull = container.get("imagePullPolicy") or ""
    if not pull:
        errs.append(f.required(f.child(path, "imagePullPolicy")))
    elif pull not in _PULL_POLICIES:
        errs.append(f.not_supported(f.child(path, "imagePullPolicy"), pull, _PULL_POLICIES))
    errs += validate_resource_requirements(container.get("resources"), f.child(path, "resources"))
    errs += _validate_container_security_context(
        container.get("securityContext"), f.child(path, "securityContext")
    )
    return errs


def _host_port_conflicts(containers: list[Obj], path: str) -> list[Cause]:
    errs: list[Cause] = []
    seen: set[str] = set()
    for ci, container in enumerate(containers):
        for pi, port in enumerate(_dicts(container.get("ports"))):
            host_port = port.get("hostPort") or 0
            if not host_port:
                continue
            key = f"{port.get('protocol') or ''}/{port.get('hostIP') or ''}/{host_port}"
            if key in seen:
                errs.append(
                    f.duplicate(f.child(f.index(f.child(f.index(path, ci), "ports"), pi), "hostPort"), key)
                )
            seen.add(key)
    return errs


def _validate_containers(spec: Obj, volumes: dict[str, Obj], path: str) -> list[Cause]:
    containers = _dicts(spec.get("containers"))
    if not containers:
        return [f.required(path)]
    errs: list[Cause] = []
    seen: set[str] = set()
    grace = spec.get("terminationGracePeriodSeconds")
    for i, container in enumerate(containers):
        container_path = f.index(path, i)
        errs += _validate_container_common(container, volumes, container_path)
        name = container.get("name") or ""
        if name in seen:
            errs.append(f.duplicate(f.child(container_path, "name"), name))
        seen.add(name)
        errs += _validate_lifecycle_and_probes(container, container_path, grace)
        if container.get("restartPolicy") is not None:
            errs.append(
                f.forbidden(
                    f.child(container_path, "restartPolicy"), "may not be set for non-init containers"
                )
            )
    return errs + _host_port_conflicts(containers, path)


def _validate_init_containers(spec: Obj, volumes: dict[str, Obj], path: str) -> list[Cause]:
    errs: list[Cause] = []
    seen = {c.get("name") or "" for c in _dicts(spec.get("containers"))}
    grace = spec.get("terminationGracePeriodSeconds")
    for i, container in enumerate(_dicts(spec.get("initContainers"))):
        container_path = f.index(path, i)
        errs += _validate_container_common(container, volumes, container_path)
        restart = container.get("restartPolicy")
        if restart is not None and restart != "Always":
            errs.append(f.not_supported(f.child(container_path, "restartPolicy"), restart, ("Always",)))
        name = container.get("name") or ""
        if name in seen:
            errs.append(f.duplicate(f.child(container_path, "name"), name))
        elif name:
            seen.add(name)
        errs += _host_port_conflicts([container], path)
        if restart == "Always":
            errs += _validate_lifecycle_and_probes(container, container_path, grace)
        else:
            for key in ("lifecycle", *_PROBES):
                if container.get(key) is not None:
                    errs.append(
                        f.forbidden(
                            f.child(container_path, key),
                            "may not be set for init containers without restartPolicy=Always",
                        )
                    )
    return errs


# ---------------------------------------------------------------------------------------------
# validation: the rest of the pod spec


def validate_tolerations(tolerations: Any, path: str) -> list[Cause]:
    errs: list[Cause] = []
    for i, toleration in enumerate(_dicts(tolerations)):
        t_path = f.index(path, i)
        key, operator = toleration.get("key") or "", toleration.get("operator") or ""
        value, effect = toleration.get("value") or "", toleration.get("effect") or ""
        if key:
            errs += m.validate_label_name(key, f.child(t_path, "key"))
        if not key and operator != "Exists":
            errs.append(
                f.invalid(
                    f.child(t_path, "operator"),
                    operator,
                    "operator must be Exists when `key` is empty, which means "
                    '"match all values and all keys"',
                )
            )
        if toleration.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.append(
                f.invalid(
                    f.child(t_path, "effect"),
                    effect,
                    "effect must be 'NoExecute' when `tolerationSeconds` is set",
                )
            )
        if operator in ("Equal", ""):
            if msgs := names.is_valid_label_value(value):
                errs.append(f.invalid(f.child(t_path, "operator"), value, ";".join(msgs)))
        elif operator == "Exists":
            if value:
                errs.append(
                    f.invalid(
                        f.child(t_path, "operator"), value, "value must be empty when `operator` is 'Exists'"
                    )
                )
        else:
            errs.append(f.not_supported(f.child(t_path, "operator"), operator, ("Equal", "Exists")))
        if effect and effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            errs.append(
                f.not_supported(
                    f.child(t_path, "effect"), effect, ("NoSchedule", "PreferNoSchedule", "NoExecute")
                )
            )
    return errs


def _validate_host_network(spec: Obj, path: str, is_pod: bool) -> list[Cause]:
    if not spec.get("hostNetwork"):
        return []
    errs: list[Cause] = []
    for i, container in enumerate(_dicts(spec.get("containers"))):
        for j, port in enumerate(_dicts(container.get("ports"))):
            host_port, container_port = port.get("hostPort") or 0, port.get("containerPort") or 0
            if (is_pod or host_port != 0) and host_port != container_port:
                port_path = f.index(f.child(f.index(f.child(path, "containers"), i), "ports"), j)
                errs.append(
                    f.invalid(
                        f.child(port_path, "hostPort"),
                        host_port,
                        "must match `containerPort` when `hostNetwork` is true",
                    )
                )
    return errs


def _choice(value: str, path: str, allowed: tuple[str, ...]) -> list[Cause]:
    if not value:
        return [f.required(path)]
    if value not in allowed:
        return [f.not_supported(path, value, allowed)]
    return []


def _validate_pod_security_context(sc: Any, path: str) -> list[Cause]:
    if not isinstance(sc, dict):
        return []
    errs: list[Cause] = []
    for key in ("fsGroup", "runAsUser", "runAsGroup"):
        errs += _id_range(sc.get(key), f.child(path, key))
    for i, gid in enumerate(sc.get("supplementalGroups") or []):
        errs += _id_range(gid, f.index(f.child(path, "supplementalGroups"), i))
    if sc.get("fsGroupChangePolicy") is not None and sc["fsGroupChangePolicy"] not in (
        "Always",
        "OnRootMismatch",
    ):
        errs.append(
            f.not_supported(
                f.child(path, "fsGroupChangePolicy"), sc["fsGroupChangePolicy"], ("Always", "OnRootMismatch")
            )
        )
    return errs


def _validate_dns_config(spec: Obj, path: str) -> list[Cause]:
    config = spec.get("dnsConfig")
    if spec.get("dnsPolicy") == "None":
        if not isinstance(config, dict):
            return [f.required(path, "must provide `dnsConfig` when `dnsPolicy` is None")]
        if not config.get("nameservers"):
            return [
                f.required(
                    f.child(path, "nameservers"),
                    "must provide at least one DNS nameserver when `dnsPolicy` is None",
                )
            ]
    if not isinstance(config, dict):
        return []
    errs: list[Cause] = []
    servers = config.get("nameservers") or []
    if len(servers) > 3:
        errs.append(f.invalid(f.child(path, "nameservers"), servers, "must not have more than 3 nameservers"))
    for i, server in enumerate(servers):
        errs += [
            f.invalid(f.index(f.child(path, "nameservers"), i), server, msg)
            for msg in names.is_valid_ip(server)
        ]
    searches = config.get("searches") or []
    if len(searches) > 32:
        errs.append(f.invalid(f.child(path, "searches"), searches, "must not have more than 32 search paths"))
    if len(" ".join(searches)) > 2048:
        errs.append(
            f.invalid(
                f.child(path, "searches"),
                searches,
                "must not have more than 2048 characters (including spaces) in the search list",
            )
        )
    for i, search in enumerate(searches):
        trimmed = search[:-1] if search.endswith(".") else search
        errs += [
            f.invalid(f.index(f.child(path, "searches"), i), trimmed, msg)
            for msg in names.is_dns1123_subdomain(trimmed)
        ]
    for i, option in enumerate(_dicts(config.get("options"))):
        if not option.get("name"):
            errs.append(f.required(f.index(f.child(path, "options"), i), "must not be empty"))
    return errs


def _validate_topology_spread(constraints: Any, path: str) -> list[Cause]:
    errs: list[Cause] = []
    items = _dicts(constraints)
    for i, constraint in enumerate(items):
        c_path = f.index(path, i)
        skew = constraint.get("maxSkew") or 0
        if skew <= 0:
            errs.append(f.invalid(f.child(c_path, "maxSkew"), skew, "must be greater than zero"))
        key, action = constraint.get("topologyKey") or "", constraint.get("whenUnsatisfiable") or ""
        if not key:
            errs.append(f.required(f.child(c_path, "topologyKey"), "can not be empty"))
        if action not in ("DoNotSchedule", "ScheduleAnyway"):
            errs.append(
                f.not_supported(
                    f.child(c_path, "whenUnsatisfiable"), action, ("DoNotSchedule", "ScheduleAnyway")
                )
            )
        if any(o.get("topologyKey") == key and o.get("whenUnsatisfiable") == action for o in items[i + 1 :]):
            errs.append(
                f.duplicate(f.child(c_path, "{topologyKey, whenUnsatisfiable}"), f"{{{key}, {action}}}")
            )
        errs += m.validate_label_selector(constraint.get("labelSelector"), f.child(c_path, "labelSelector"))
    return errs


def _name_field(value: Any, path: str, name_fn: names.NameFn) -> list[Cause]:
    if not value:
        return []
    return [f.invalid(path, value, msg) for msg in name_fn(str(value), False)]


def validate_pod_spec(spec: Any, path: str, *, is_pod: bool) -> list[Cause]:
    spec = spec if isinstance(spec, dict) else {}
    errs: list[Cause] = []
    if spec.get("terminationGracePeriodSeconds") is None:
        errs.append(f.required(f.child(path, "terminationGracePeriodSeconds")))
    volumes, volume_errs = _validate_volumes(spec.get("volumes"), f.child(path, "volumes"))
    errs += volume_errs
    errs += _validate_containers(spec, volumes, f.child(path, "containers"))
    errs += _validate_init_containers(spec, volumes, f.child(path, "initContainers"))
    errs += _validate_host_network(spec, path, is_pod)
    errs += _choice(
        spec.get("restartPolicy") or "", f.child(path, "restartPolicy"), ("Always", "OnFailure", "Never")
    )
    errs += _choice(
        spec.get("dnsPolicy") or "",
        f.child(path, "dnsPolicy"),
        ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"),
    )
    errs += m.validate_labels(spec.get("nodeSelector"), f.child(path, "nodeSelector"))
    errs += _validate_pod_security_context(spec.get("securityContext"), f.child(path, "securityContext"))
    errs += _validate_dns_config(spec, f.child(path, "dnsConfig"))
    for i, gate in enumerate(_dicts(spec.get("readinessGates"))):
        condition = gate.get("conditionType") or ""
        errs += [
            f.invalid(f.child(f.index(f.child(path, "readinessGates"), i), "conditionType"), condition, msg)
            for msg in names.is_qualified_name(condition)
        ]
    seen_gates: set[str] = set()
    for i, gate in enumerate(_dicts(spec.get("schedulingGates"))):
        gate_path, gate_name = f.index(f.child(path, "schedulingGates"), i), gate.get("name") or ""
        errs += [f.invalid(gate_path, gate_name, msg) for msg in names.is_qualified_name(gate_name)]
        if gate_name in seen_gates:
            errs.append(f.duplicate(gate_path, gate_name))
        seen_gates.add(gate_name)
    errs += _validate_topology_spread(
        spec.get("topologySpreadConstraints"), f.child(path, "topologySpreadConstraints")
    )
    errs += _name_field(
        spec.get("serviceAccountName"), f.child(path, "serviceAccountName"), names.name_is_dns_subdomain
    )
    errs += _name_field(spec.get("nodeName"), f.child(path, "nodeName"), names.name_is_dns_subdomain)
    deadline = spec.get("activeDeadlineSeconds")
    if isinstance(deadline, int) and not 1 <= deadline <= _INT32_MAX:
        errs.append(
            f.invalid(
                f.child(path, "activeDeadlineSeconds"), deadline, names.inclusive_range_error(1, _INT32_MAX)
            )
        )
    for key in ("hostname", "subdomain"):
        if spec.get(key):
            errs += [
                f.invalid(f.child(path, key), spec[key], msg) for msg in names.is_dns1123_label(spec[key])
            ]
    errs += validate_tolerations(spec.get("tolerations"), f.child(path, "tolerations"))
    for i, alias in enumerate(_dicts(spec.get("hostAliases"))):
        alias_path = f.index(f.child(path, "hostAliases"), i)
        errs += [
            f.invalid(f.child(alias_path, "ip"), alias.get("ip") or "", msg)
            for msg in names.is_valid_ip(alias.get("ip") or "")
        ]
        for j, host in enumerate(alias.get("hostnames") or []):
            errs += [
                f.invalid(f.index(f.child(alias_path, "hostnames"), j), host, msg)
                for msg in names.is_dns1123_subdomain(host)
            ]
    errs += _name_field(
        spec.get("priorityClassName"), f.child(path, "priorityClassName"), names.name_is_dns_subdomain
    )
    if spec.get("runtimeClassName") is not None:
        runtime = spec["runtimeClassName"]
        errs += [
            f.invalid(f.child(path, "runtimeClassName"), runtime, msg)
            for msg in names.name_is_dns_subdomain(runtime, False)
        ]
    if spec.get("preemptionPolicy") is not None:
        errs += _choice(
            spec["preemptionPolicy"], f.child(path, "preemptionPolicy"), ("PreemptLowerPriority", "Never")
        )
    return errs


def validate_pod_annotations(annotations: Any, spec: Obj, path: str) -> list[Cause]:
    """ValidatePodSpecificAnnotations, for pods and pod templates alike."""
    annotations = annotations or {}
    errs: list[Cause] = []
    if MIRROR_POD_ANNOTATION in annotations and not spec.get("nodeName"):
        errs.append(
            f.invalid(
                f.index(path, MIRROR_POD_ANNOTATION),
                annotations[MIRROR_POD_ANNOTATION],
                "must set spec.nodeName if mirror pod annotation is set",
            )
        )
    if DELETION_COST_ANNOTATION in annotations:
        cost = str(annotations[DELETION_COST_ANNOTATION])
        if not re.fullmatch(r"[+-]?[0-9]+", cost) or not -(2**31) <= int(cost) <= _INT32_MAX:
            errs.append(f.invalid(f.index(path, DELETION_COST_ANNOTATION), cost, "must be a 32bit integer"))
    return errs


def validate_pod_template(template: Any, path: str) -> list[Cause]:
    """ValidatePodTemplateSpec: labels, annotations and the spec, without pod-only rules."""
    template = template if isinstance(template, dict) else {}
    meta = template.get("metadata") if isinstance(template.get("metadata"), dict) else {}
    spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    errs = m.validate_labels(meta.get("labels"), f.child(path, "labels"))
    errs += m.validate_annotations(meta.get("annotations"), f.child(path, "annotations"))
    errs += validate_pod_annotations(meta.get("annotations"), spec, f.child(path, "annotations"))
    errs += validate_pod_spec(spec, f.child(path, "spec"), is_pod=False)
    if spec.get("ephemeralContainers"):
        errs.append(
            f.forbidden(
                f.child(path, "spec", "ephemeralContainers"),
                "ephemeral containers not allowed in pod template",
            )
        )
    return errs


def _validate_pod_metadata_and_spec(pod: Obj) -> list[Cause]:
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    errs = m.validate_object_meta(pod, True, names.name_is_dns_subdomain)
    errs += validate_pod_annotations(m.meta_of(pod).get("annotations"), spec, "metadata.annotations")
    errs += validate_pod_spec(spec, "spec", is_pod=True)
    for kind in ("containers", "initContainers"):
        for i, container in enumerate(_dicts(spec.get(kind))):
            image = container.get("image") or ""
            if image != image.strip():
                errs.append(
                    f.invalid(
                        f"spec.{kind}[{i}].image", image, "must not have leading or trailing whitespace"
                    )
                )
    return errs


def validate_pod_create(pod: Obj) -> list[Cause]:
    spec = pod.get("spec") if isinstance(pod.get("spec"), dict) else {}
    errs = _validate_pod_metadata_and_spec(pod)
    if spec.get("ephemeralContainers"):
        errs.append(f.forbidden("spec.ephemeralContainers", "cannot be set on create"))
    if spec.get("nodeName") and spec.get("schedulingGates"):
        errs.append(f.forbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared"))
    return errs


# ---------------------------------------------------------------------------------------------
# pod updates


def _container_updates(new: list[Obj], old: list[Obj], path: str) -> tuple[list[Cause], bool]:
    if len(new) != len(old):
        return [f.forbidden(path, "pod updates may not add or remove containers")], True
    errs: list[Cause] = []
    for i, container in enumerate(new):
        image = container.get("image") or ""
        if not image:
            errs.append(f.required(f.child(f.index(path, i), "image")))
        if image.strip() != image:
            errs.append(
                f.invalid(
                    f.child(f.index(path, i), "image"), image, "must not have leading or trailing whitespace"
                )
            )
    return errs, False


def _only_added_tolerations(new: list[Obj], old: list[Obj], path: str) -> list[Cause]:
    def without_seconds(t: Obj) -> Obj:
        return {k: v for k, v in t.items() if k != "tolerationSeconds"}

    for toleration in old:
        if not any(m.semantic_equal(without_seconds(toleration), without_seconds(n)) for n in new):
            return [f.forbidden(path, "existing toleration can not be modified except its tolerationSeconds")]
    return validate_tolerations(new, path)


def _only_deleted_gates(new: list[Obj], old: list[Obj], path: str) -> list[Cause]:
    old_names = {g.get("name") for g in old}
    return [
        f.forbidden(
            f.child(f.index(path, i), "name"),
            f"only deletion is allowed, but found new scheduling gate '{g.get('name')}'",
        )
        for i, g in enumerate(new)
        if g.get("name") not in old_names
    ]


def _go_field(key: str) -> str:
    return key[:1].upper() + key[1:]


def spec_diff(old: Obj, new: Obj, type_name: str = "core.PodSpec") -> str:
    """A field-level diff in the shape of go-cmp's output (upstream prints cmp.Diff of the Go structs)."""
    lines = [f"  {type_name}{{"]
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if m.semantic_equal(before, after):
            continue
        if before is not None:
            lines.append(f"- \t{_go_field(key)}: {json.dumps(before, separators=(', ', ': '))},")
        if after is not None:
            lines.append(f"+ \t{_go_field(key)}: {json.dumps(after, separators=(', ', ': '))},")
    lines.append("  }")
    return "\n".join(lines) + "\n"


def validate_pod_update(new: Obj, old: Obj) -> list[Cause]:
    errs = m.validate_object_meta_update(new, old)
    errs += _validate_pod_metadata_and_spec(new)
    new_spec = new.get("spec") if isinstance(new.get("spec"), dict) else {}
    old_spec = old.get("spec") if isinstance(old.get("spec"), dict) else {}
    for kind in ("containers", "initContainers"):
        container_errs, stop = _container_updates(
            _dicts(new_spec.get(kind)), _dicts(old_spec.get(kind)), f"spec.{kind}"
        )
        errs += container_errs
        if stop:
            return errs
    new_deadline, old_deadline = new_spec.get("activeDeadlineSeconds"), old_spec.get("activeDeadlineSeconds")
    if new_deadline is not None:
        if not 0 <= new_deadline <= _INT32_MAX:
            return [
                *errs,
                f.invalid(
                    "spec.activeDeadlineSeconds", new_deadline, names.inclusive_range_error(0, _INT32_MAX)
                ),
            ]
        if old_deadline is not None and old_deadline < new_deadline:
            return [
                *errs,
                f.invalid(
                    "spec.activeDeadlineSeconds", new_deadline, "must be less than or equal to previous value"
                ),
            ]
    elif old_deadline is not None:
        errs.append(
            f.invalid(
                "spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value"
            )
        )
    errs += _only_added_tolerations(
        _dicts(new_spec.get("tolerations")), _dicts(old_spec.get("tolerations")), "spec.tolerations"
    )
    errs += _only_deleted_gates(
        _dicts(new_spec.get("schedulingGates")),
        _dicts(old_spec.get("schedulingGates")),
        "spec.schedulingGates",
    )
    if m.semantic_equal(new_spec, old_spec):
        return errs
    munged = _munge_updatable(new_spec, old_spec)
    if old_spec.get("schedulingGates") and not m.semantic_equal(
        munged.get("nodeSelector"), old_spec.get("nodeSelector")
    ):
        errs += _node_selector_additions(munged.get("nodeSelector") or {}, old_spec.get("nodeSelector") or {})
        munged["nodeSelector"] = old_spec.get("nodeSelector")
    if not m.semantic_equal(munged, old_spec):
        fields = ",".join(UPDATABLE_POD_SPEC_FIELDS)
        errs.append(
            f.forbidden(
                "spec",
                f"pod updates may not change fields other than {fields}\n{spec_diff(old_spec, munged)}",
            )
        )
    return errs


def _munge_updatable(new_spec: Obj, old_spec: Obj) -> Obj:
    """The new spec with every field a pod update may change put back to its old value."""
    munged = copy.deepcopy(new_spec)
    for kind in ("containers", "initContainers"):
        for container, previous in zip(_dicts(munged.get(kind)), _dicts(old_spec.get(kind)), strict=False):
            container["image"] = previous.get("image")
    for key in ("activeDeadlineSeconds", "schedulingGates", "tolerations"):
        munged[key] = copy.deepcopy(old_spec.get(key))
    old_grace = old_spec.get("terminationGracePeriodSeconds")
    if isinstance(old_grace, int) and old_grace < 0 and munged.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    return munged


def _node_selector_additions(new: Obj, old: Obj) -> list[Cause]:
    if any(k not in new or new[k] != v for k, v in old.items()):
        return [
            f.invalid(
                "spec.nodeSelector",
                new,
                "only additions to spec.nodeSelector are allowed (no mutations or deletions)",
            )
        ]
    return []
