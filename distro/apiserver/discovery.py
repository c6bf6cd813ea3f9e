"""Discovery documents, all derived from the resource table: legacy (/api, /apis, /api/v1, /apis/g/v)
and aggregated discovery v2, which kubectl 1.32 asks for first."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from distro.apiserver.registry import BINDING, EVICTION, EXEC, LOG, REVIEWS, SCALE, STATUS, ResourceDef

AGGREGATED_MEDIA = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

# verbs and response kinds of the subresources we serve
_SUB_VERBS: dict[str, tuple[str, ...]] = {
    STATUS: ("get", "patch", "update"),
    SCALE: ("get", "patch", "update"),
    BINDING: ("create",),
    EVICTION: ("create",),
    LOG: ("get",),
    EXEC: ("create", "get"),
}
_SUB_KINDS: dict[str, tuple[str, str, str]] = {
    SCALE: ("autoscaling", "v1", "Scale"),
    BINDING: ("", "v1", "Binding"),
    EVICTION: ("policy", "v1", "Eviction"),
    LOG: ("", "v1", "Pod"),
    EXEC: ("", "v1", "PodExecOptions"),
}


def _storage_version_hash(rd: ResourceDef) -> str:
    digest = hashlib.sha256(f"{rd.group}/{rd.version}/{rd.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def wants_aggregated(accept: str | None) -> bool:
    if not accept:
        return False
    first = accept.split(",")[0].replace(" ", "").lower()
    return "g=apidiscovery.k8s.io" in first and "as=apigroupdiscoverylist" in first and "v=v2" in first


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _groups(resources: tuple[ResourceDef, ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rd in resources + REVIEWS:
        if rd.group and rd.version not in out.setdefault(rd.group, []):
            out[rd.group].append(rd.version)
    return out


def api_group_list(resources: tuple[ResourceDef, ...]) -> dict[str, Any]:
    groups = []
    for name, versions in _groups(resources).items():
        entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        groups.append({"name": name, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(resources: tuple[ResourceDef, ...], group: str) -> dict[str, Any] | None:
    versions = _groups(resources).get(group)
    if not versions:
        return None
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": entries,
        "preferredVersion": entries[0],
    }


def _in(resources: tuple[ResourceDef, ...], group: str, version: str) -> list[ResourceDef]:
    return [rd for rd in resources + REVIEWS if rd.group == group and rd.version == version]


def resource_list(resources: tuple[ResourceDef, ...], group: str, version: str) -> dict[str, Any] | None:
    served = _in(resources, group, version)
    if not served:
        return None
    out: list[dict[str, Any]] = []
    for rd in served:
        entry: dict[str, Any] = {
            "name": rd.plural,
            "singularName": rd.singular_name,
            "namespaced": rd.namespaced,
            "kind": rd.kind,
            "verbs": list(rd.verbs),
        }
        if rd.short_names:
            entry["shortNames"] = list(rd.short_names)
        if rd.categories:
            entry["categories"] = list(rd.categories)
        if rd not in REVIEWS:
            entry["storageVersionHash"] = _storage_version_hash(rd)
        out.append(entry)
        for sub in rd.subresources:
            g, v, kind = _SUB_KINDS.get(sub, (rd.group, rd.version, rd.kind))
            sub_entry: dict[str, Any] = {
                "name": f"{rd.plural}/{sub}",
                "singularName": "",
                "namespaced": rd.namespaced,
                "kind": kind,
                "verbs": list(_SUB_VERBS[sub]),
            }
            if g != rd.group:
                sub_entry["group"], sub_entry["version"] = g, v
            out.append(sub_entry)
    if group == "":
        out.append(
            {
                "name": "namespaces/finalize",
                "singularName": "",
                "namespaced": False,
                "kind": "Namespace",
                "verbs": ["update"],
            }
        )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}".lstrip("/"),
        "resources": out,
    }


def _aggregated_resource(rd: ResourceDef) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": rd.plural,
        "responseKind": {"group": rd.group, "version": rd.version, "kind": rd.kind},
        "scope": "Namespaced" if rd.namespaced else "Cluster",
        "singularResource": rd.singular_name,
        "verbs": list(rd.verbs),
    }
    if rd.short_names:
        entry["shortNames"] = list(rd.short_names)
    if rd.categories:
        entry["categories"] = list(rd.categories)
    subs = []
    for sub in rd.subresources:
        g, v, kind = _SUB_KINDS.get(sub, (rd.group, rd.version, rd.kind))
        subs.append(
            {
                "subresource": sub,
                "responseKind": {"group": g, "version": v, "kind": kind},
                "verbs": list(_SUB_VERBS[sub]),
            }
        )
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated(resources: tuple[ResourceDef, ...], *, core: bool) -> dict[str, Any]:
    """APIGroupDiscoveryList for /api (core=True) or /apis."""
    items = []
    if core:
        items.append(
            {
                "metadata": {"creationTimestamp": None},
                "versions": [
                    {
                        "version": "v1",
                        "resources": [_aggregated_resource(rd) for rd in _in(resources, "", "v1")],
                        "freshness": "Current",
                    }
                ],
            }
        )
    else:
        for name, versions in _groups(resources).items():
            items.append(
                {
                    "metadata": {"name": name, "creationTimestamp": None},
                    "versions": [
                        {
                            "version": v,
                            "resources": [_aggregated_resource(rd) for rd in _in(resources, name, v)],
                            "freshness": "Current",
                        }
                        for v in versions
                    ],
                }
            )
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }
