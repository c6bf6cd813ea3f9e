"""The /openapi/v3 discovery root and one OpenAPI v3 document per group version, shaped like
kube-apiserver's: inline parameters, x-kubernetes-action and x-kubernetes-group-version-kind on every
operation, the four patch content types on PATCH, subresource paths, deprecated /watch/ paths, and
only the components reachable from the document's paths.

kubectl relies on them for `explain`, for checking that PATCH lists fieldValidation (then it leaves
validation to the server) and for computing strategic merge patches in `apply`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from distro.apiserver.registry import BINDING, EVICTION, EXEC, LOG, SCALE, STATUS, ResourceDef
from distro.apiserver.schema import COMPONENTS
from distro.apiserver.schema.dsl import META, REF

Doc = dict[str, Any]

VERSION = "v1.32.0"
_MEDIA = ("application/json", "application/yaml")
_WATCH_MEDIA = ("application/json", "application/json;stream=watch", "application/yaml")
_PATCH_MEDIA = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
_STATUS = META + "Status"
_SCALE = "io.k8s.api.autoscaling.v1.Scale"
_BINDING = "io.k8s.api.core.v1.Binding"
_EVICTION = "io.k8s.api.policy.v1.Eviction"
# Kinds whose DELETE answers with the deleted object rather than a Status.
_RETURNS_DELETED = frozenset({"Pod", "Service", "Namespace"})


def _param(name: str, where: str, description: str, kind: str = "string") -> Doc:
    param: Doc = {
        "description": description,
        "in": where,
        "name": name,
        "schema": {"type": kind, "uniqueItems": True},
    }
    if where == "path":
        param["required"] = True
    return param


_QUERY = {
    p["name"]: p
    for p in (
        _param("pretty", "query", "If 'true', the response is indented for reading."),
        _param(
            "dryRun",
            "query",
            "When present, the request is fully processed but nothing is persisted. "
            "The only valid value is All.",
        ),
        _param(
            "fieldManager",
            "query",
            "Name of the actor making the change, recorded in managedFields: at "
            "most 128 printable characters. Required for apply patches.",
        ),
        _param(
            "fieldValidation",
            "query",
            "How unknown and duplicate fields in the body are handled: Ignore "
            "drops them silently, Warn drops them with a warning for each (the default), Strict fails the "
            "request listing all of them.",
        ),
        _param(
            "force",
            "query",
            "Apply patches only: take over fields owned by other managers instead of "
            "reporting conflicts. Must be unset for other patch types.",
            "boolean",
        ),
        _param(
            "allowWatchBookmarks",
            "query",
            "Ask for BOOKMARK events, which carry only a resourceVersion; "
            "the server sends them at its discretion. Ignored unless watching.",
            "boolean",
        ),
        _param("continue", "query", "The continue token from the previous page of the same list call."),
        _param("fieldSelector", "query", "Only objects whose fields match this selector. Defaults to all."),
        _param("labelSelector", "query", "Only objects whose labels match this selector. Defaults to all."),
        _param(
            "limit",
            "query",
            "Return at most this many items; if more exist the list metadata carries a "
            "continue token for the next page.",
            "integer",
        ),
        _param(
            "resourceVersion",
            "query",
            "Which version of the data the request may be served from; see "
            "the resource versions section of the API concepts documentation.",
        ),
        _param(
            "resourceVersionMatch", "query", "How resourceVersion applies to a list: Exact or NotOlderThan."
        ),
        _param(
            "sendInitialEvents",
            "query",
            "With watch, first send an ADDED event for every current object "
            "and then a bookmark marking the end of them; requires resourceVersionMatch=NotOlderThan.",
            "boolean",
        ),
        _param("timeoutSeconds", "query", "End the list or watch call after this many seconds.", "integer"),
        _param(
            "watch", "query", "Stream changes to the matching objects instead of listing them.", "boolean"
        ),
        _param(
            "gracePeriodSeconds",
            "query",
            "Seconds before the object is deleted; 0 deletes immediately. "
            "Defaults to the kind's own grace period.",
            "integer",
        ),
        _param(
            "ignoreStoreReadErrorWithClusterBreakingPotential",
            "query",
            "Delete an object whose stored "
            "data cannot be read, bypassing finalizers and admission. May break the cluster.",
            "boolean",
        ),
        _param(
            "orphanDependents",
            "query",
            "Deprecated: use propagationPolicy. Whether dependents are orphaned.",
            "boolean",
        ),
        _param(
            "propagationPolicy",
            "query",
            "How dependents are garbage collected: Orphan, Background or Foreground.",
        ),
    )
}
_LIST_PARAMS = (
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
)
_WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
_DELETE_PARAMS = (
    "dryRun",
    "gracePeriodSeconds",
    "ignoreStoreReadErrorWithClusterBreakingPotential",
    "orphanDependents",
    "propagationPolicy",
)
_LOG_PARAMS = [
    _param(
        "container", "query", "The container whose log to read; may be omitted for single-container pods."
    ),
    _param("follow", "query", "Keep streaming the log as it grows.", "boolean"),
    _param(
        "insecureSkipTLSVerifyBackend", "query", "Do not verify the kubelet's serving certificate.", "boolean"
    ),
    _param("limitBytes", "query", "Stop after this many bytes.", "integer"),
    _param("previous", "query", "Read the log of the previous, terminated run of the container.", "boolean"),
    _param("sinceSeconds", "query", "Only lines written in the last this many seconds.", "integer"),
    _param("stream", "query", "Which output stream to read: All, Stdout or Stderr."),
    _param("tailLines", "query", "Only the last this many lines.", "integer"),
    _param("timestamps", "query", "Prefix every line with its RFC 3339 timestamp.", "boolean"),
]
_EXEC_PARAMS = [
    _param("command", "query", "The command to run, one argument per repeated parameter."),
    _param("container", "query", "The container to run it in; may be omitted for single-container pods."),
    _param("stderr", "query", "Stream the command's standard error.", "boolean"),
    _param("stdin", "query", "Stream standard input to the command.", "boolean"),
    _param("stdout", "query", "Stream the command's standard output.", "boolean"),
    _param("tty", "query", "Allocate a terminal for the command.", "boolean"),
]
_NAMESPACE = _param("namespace", "path", "The namespace of the objects.")
_UNAUTHORIZED = {"description": "Unauthorized"}
_CODE_TEXT = {"200": "OK", "201": "Created", "202": "Accepted"}


def _query(names: Iterable[str]) -> list[Doc]:
    return [_QUERY[n] for n in names]


def _sorted(params: Iterable[Doc]) -> list[Doc]:
    return sorted(params, key=lambda p: p["name"])


def _content(component: str, media: Sequence[str] = _MEDIA) -> Doc:
    return {m: {"schema": {"$ref": REF + component}} for m in media}


def _responses(component: str, codes: Sequence[str], media: Sequence[str] = _MEDIA) -> Doc:
    out: Doc = {
        code: {"content": _content(component, media), "description": _CODE_TEXT[code]} for code in codes
    }
    out["401"] = _UNAUTHORIZED
    return out


def _body(component: str, media: Sequence[str] = ("*/*",), required: bool = True) -> Doc:
    body: Doc = {"content": {m: {"schema": {"$ref": REF + component}} for m in media}}
    if required:
        body["required"] = True
    return body


def _group_camel(group: str) -> str:
    """Upstream's operation id word for a group: Core for the core group, RbacAuthorization, Apps..."""
    if not group:
        return "Core"
    return "".join(part[:1].upper() + part[1:] for part in group.removesuffix(".k8s.io").split("."))


def _tag(group: str) -> str:
    camel = _group_camel(group)
    return camel[:1].lower() + camel[1:]


def _gvk(group: str, version: str, kind: str) -> Doc:
    return {"group": group, "kind": kind, "version": version}


class _Ops:
    """Builds the operations of one resource."""

    def __init__(self, rd: ResourceDef) -> None:
        self.rd = rd
        self.tag = f"{_tag(rd.group)}_{rd.version}"
        self.words = _group_camel(rd.group) + rd.version[:1].upper() + rd.version[1:]
        self.scope = "Namespaced" if rd.namespaced else ""
        self.gvk = _gvk(rd.group, rd.version, rd.kind)

    def op(
        self,
        verb: str,
        suffix: str,
        action: str,
        description: str,
        responses: Doc,
        *,
        params: Sequence[Doc] = (),
        body: Doc | None = None,
        gvk: Doc | None = None,
        scope: str | None = None,
        infix: str = "",
    ) -> Doc:
        """One operation; its id reads <verb><Group><Version><infix><scope><Kind><suffix>."""
        scope = self.scope if scope is None else scope
        op: Doc = {
            "description": description,
            "operationId": f"{verb}{self.words}{infix}{scope}{self.rd.kind}{suffix}",
        }
        if params:
            op["parameters"] = _sorted(params)
        if body is not None:
            op["requestBody"] = body
        op["responses"] = responses
        op["tags"] = [self.tag]
        op["x-kubernetes-action"] = action
        op["x-kubernetes-group-version-kind"] = gvk or self.gvk
        return op

    def read_write(self, component: str, what: str, suffix: str = "", gvk: Doc | None = None) -> Doc:
        """get/put/patch on an object or its status or scale."""
        of = f"{what} of " if what else ""
        kind = self.rd.kind
        return {
            "get": self.op(
                "read",
                suffix,
                "get",
                f"read {of}the specified {kind}",
                _responses(component, ("200",)),
                gvk=gvk,
            ),
            "patch": self.op(
                "patch",
                suffix,
                "patch",
                f"partially update {of}the specified {kind}",
                _responses(component, ("200", "201")),
                params=_query((*_WRITE_PARAMS, "force")),
                body=_body(META + "Patch", _PATCH_MEDIA),
                gvk=gvk,
            ),
            "put": self.op(
                "replace",
                suffix,
                "put",
                f"replace {of}the specified {kind}",
                _responses(component, ("200", "201")),
                params=_query(_WRITE_PARAMS),
                body=_body(component),
                gvk=gvk,
            ),
        }


def _resource_paths(rd: ResourceDef) -> dict[str, Doc]:
    base = "/api/" + rd.version if not rd.group else f"/apis/{rd.group}/{rd.version}"
    scope = "/namespaces/{namespace}" if rd.namespaced else ""
    scope_params = [_NAMESPACE] if rd.namespaced else []
    name_param = _param("name", "path", f"name of the {rd.kind}")
    collection, item = f"{base}{scope}/{rd.plural}", f"{base}{scope}/{rd.plural}/{{name}}"
    ops = _Ops(rd)
    paths: dict[str, Doc] = {}

    coll = _collection_ops(rd, ops)
    if coll:
        paths[collection] = {**coll, "parameters": _sorted([*scope_params, _QUERY["pretty"]])}
    single = _item_ops(rd, ops)
    if single:
        paths[item] = {**single, "parameters": _sorted([name_param, *scope_params, _QUERY["pretty"]])}
    if "list" in rd.verbs and rd.namespaced:
        paths[f"{base}/{rd.plural}"] = {
            "get": ops.op(
                "list",
                "ForAllNamespaces",
                "list",
                f"list or watch objects of kind {rd.kind}",
                _responses(rd.schema_name + "List", ("200",), _WATCH_MEDIA),
                scope="",
            ),
            "parameters": _sorted([*_query(_LIST_PARAMS), _QUERY["pretty"]]),
        }
    if "watch" in rd.verbs:
        paths |= _watch_paths(rd, ops, base, scope, scope_params, name_param)
    item_params = _sorted([name_param, *scope_params, _QUERY["pretty"]])
    for sub in rd.subresources:
        for path, path_item in _subresource_paths(rd, ops, sub, item).items():
            path_item.setdefault("parameters", item_params)
            paths[path] = path_item
    return paths


def _collection_ops(rd: ResourceDef, ops: _Ops) -> Doc:
    out: Doc = {}
    if "deletecollection" in rd.verbs:
        out["delete"] = ops.op(
            "delete",
            "",
            "deletecollection",
            f"delete collection of {rd.kind}",
            _responses(_STATUS, ("200",)),
            params=_query((*_DELETE_PARAMS, *_LIST_PARAMS[1:-1])),
            body=_body(META + "DeleteOptions", required=False),
            infix="Collection",
        )
    if "list" in rd.verbs:
        out["get"] = ops.op(
            "list",
            "",
            "list",
            f"list or watch objects of kind {rd.kind}",
            _responses(rd.schema_name + "List", ("200",), _WATCH_MEDIA),
            params=_query(_LIST_PARAMS),
        )
    if "create" in rd.verbs:
        out["post"] = ops.op(
            "create",
            "",
            "post",
            f"create a {rd.kind}",
            _responses(rd.schema_name, ("200", "201", "202")),
            params=_query(_WRITE_PARAMS),
            body=_body(rd.schema_name),
        )
    return out


def _item_ops(rd: ResourceDef, ops: _Ops) -> Doc:
    out: Doc = {}
    if "delete" in rd.verbs:
        deleted = rd.schema_name if rd.kind in _RETURNS_DELETED else _STATUS
        out["delete"] = ops.op(
            "delete",
            "",
            "delete",
            f"delete a {rd.kind}",
            _responses(deleted, ("200", "202")),
            params=_query(_DELETE_PARAMS),
            body=_body(META + "DeleteOptions", required=False),
        )
    rw = ops.read_write(rd.schema_name, "")
    for method, verb in (("get", "get"), ("patch", "patch"), ("put", "update")):
        if verb in rd.verbs:
            out[method] = rw[method]
    return out


def _watch_paths(
    rd: ResourceDef, ops: _Ops, base: str, scope: str, scope_params: list[Doc], name_param: Doc
) -> dict[str, Doc]:
    event = _responses(META + "WatchEvent", ("200",), _WATCH_MEDIA)
    list_params = _query(_LIST_PARAMS)
    out = {
        f"{base}/watch{scope}/{rd.plural}": {
            "get": ops.op(
                "watch",
                "List",
                "watchlist",
                f"watch individual changes to a list of {rd.kind}. "
                "deprecated: use the 'watch' parameter with a list operation instead.",
                event,
            ),
            "parameters": _sorted([*list_params, *scope_params, _QUERY["pretty"]]),
        },
        f"{base}/watch{scope}/{rd.plural}/{{name}}": {
            "get": ops.op(
                "watch",
                "",
                "watch",
                f"watch changes to an object of kind {rd.kind}. deprecated: use "
                "the 'watch' parameter with a list operation instead, filtered to a single item with "
                "the 'fieldSelector' parameter.",
                event,
            ),
            "parameters": _sorted([*list_params, name_param, *scope_params, _QUERY["pretty"]]),
        },
    }
    if rd.namespaced:
        out[f"{base}/watch/{rd.plural}"] = {
            "get": ops.op(
                "watch",
                "ListForAllNamespaces",
                "watchlist",
                f"watch individual changes to a list of "
                f"{rd.kind}. deprecated: use the 'watch' parameter with a list operation instead.",
                event,
                scope="",
            ),
            "parameters": _sorted([*list_params, _QUERY["pretty"]]),
        }
    return out


def _subresource_paths(rd: ResourceDef, ops: _Ops, sub: str, item: str) -> dict[str, Doc]:
    path = f"{item}/{sub}"
    if sub == STATUS:
        return {path: ops.read_write(rd.schema_name, "status", "Status")}
    if sub == SCALE:
        return {path: ops.read_write(_SCALE, "scale", "Scale", _gvk("autoscaling", "v1", "Scale"))}
    if sub in (BINDING, EVICTION):
        component, gvk = (
            (_BINDING, _gvk("", "v1", "Binding"))
            if sub == BINDING
            else (_EVICTION, _gvk("policy", "v1", "Eviction"))
        )
        post = ops.op(
            "create",
            sub.capitalize(),
            "post",
            f"create {sub} of a {rd.kind}",
            _responses(component, ("200", "201", "202")),
            params=_query(_WRITE_PARAMS),
            body=_body(component),
            gvk=gvk,
        )
        return {path: {"post": post}}
    if sub == LOG:
        log = ops.op(
            "read", "Log", "get", f"read log of the specified {rd.kind}", _log_responses(), params=_LOG_PARAMS
        )
        return {path: {"get": log}}
    if sub == EXEC:
        gvk = _gvk(rd.group, rd.version, f"{rd.kind}ExecOptions")
        connect = {
            "200": {"content": {"*/*": {"schema": {"type": "string"}}}, "description": "OK"},
            "401": _UNAUTHORIZED,
        }
        return {
            path: {
                method: ops.op(
                    "connect",
                    "Exec",
                    "connect",
                    f"connect {method.upper()} requests to exec of {rd.kind}",
                    connect,
                    gvk=gvk,
                    infix=method.capitalize(),
                )
                for method in ("get", "post")
            }
            | {
                "parameters": _sorted(
                    [*_EXEC_PARAMS, _param("name", "path", f"name of the {rd.kind}ExecOptions"), _NAMESPACE]
                )
            }
        }
    return {}


def _log_responses() -> Doc:
    text = {"schema": {"type": "string"}}
    return {
        "200": {
            "content": {"application/json": text, "application/yaml": text, "text/plain": text},
            "description": "OK",
        },
        "401": _UNAUTHORIZED,
    }


def _reachable(paths: Doc) -> dict[str, Doc]:
    """The components a document's paths reference, directly or through other components."""
    found: dict[str, Doc] = {}
    pending = list(_refs(paths))
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found[name] = COMPONENTS[name]
        pending.extend(_refs(found[name]))
    return dict(sorted(found.items()))


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        name = node.get("$ref")
        if isinstance(name, str):
            yield name.removeprefix(REF)
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _document(paths: dict[str, Doc]) -> Doc:
    return {
        "components": {
            "schemas": _reachable(paths),
            "securitySchemes": {
                "BearerToken": {
                    "description": "Bearer Token authentication",
                    "in": "header",
                    "name": "authorization",
                    "type": "apiKey",
                }
            },
        },
        "info": {"title": "Kubernetes", "version": VERSION},
        "openapi": "3.0.0",
        "paths": paths,
    }


def _discovery_get(path: str, op_id: str, description: str, component: str, tag: str) -> dict[str, Doc]:
    return {
        path: {
            "get": {
                "description": description,
                "operationId": op_id,
                "responses": _responses(component, ("200",)),
                "tags": [tag],
            }
        }
    }


def _group_version_paths(group: str, version: str, resources: Sequence[ResourceDef]) -> dict[str, Doc]:
    base = f"/api/{version}/" if not group else f"/apis/{group}/{version}/"
    words = _group_camel(group) + version[:1].upper() + version[1:]
    paths = _discovery_get(
        base,
        f"get{words}APIResources",
        "get available resources",
        META + "APIResourceList",
        f"{_tag(group)}_{version}",
    )
    for rd in resources:
        paths |= _resource_paths(rd)
    return dict(sorted(paths.items()))


class OpenAPIV3:
    """Serves GET /openapi/v3 and GET /openapi/v3/<path>; every document is built once, up front."""

    def __init__(self, resources: Sequence[ResourceDef]) -> None:
        by_gv: dict[tuple[str, str], list[ResourceDef]] = {}
        for rd in resources:
            by_gv.setdefault((rd.group, rd.version), []).append(rd)
        docs: dict[str, Doc] = {
            "api": _discovery_get(
                "/api/", "getCoreAPIVersions", "get available API versions", META + "APIVersions", "core"
            ),
            "apis": _discovery_get(
                "/apis/", "getAPIVersions", "get available API versions", META + "APIGroupList", "apis"
            ),
        }
        for (group, version), members in sorted(by_gv.items()):
            if group:
                docs[f"apis/{group}"] = _discovery_get(
                    f"/apis/{group}/",
                    f"get{_group_camel(group)}APIGroup",
                    "get information of a group",
                    META + "APIGroup",
                    _tag(group),
                )
            key = f"api/{version}" if not group else f"apis/{group}/{version}"
            docs[key] = _group_version_paths(group, version, members)
        self._docs: dict[str, tuple[bytes, str]] = {}
        for key, paths in docs.items():
            body = json.dumps(_document(paths), sort_keys=True, separators=(",", ":")).encode()
            self._docs[key] = (body, hashlib.sha512(body).hexdigest().upper())

    def root(self) -> dict[str, Any]:
        """The body of GET /openapi/v3: each document's URL, pinned by its content hash."""
        return {
            "paths": {
                key: {"serverRelativeURL": f"/openapi/v3/{key}?hash={etag}"}
                for key, (_, etag) in sorted(self._docs.items())
            }
        }

    def document(self, path: str) -> tuple[bytes, str] | None:
        """(JSON body, etag hash) of one document, e.g. "api/v1" or "apis/apps/v1"; None when unknown."""
        return self._docs.get(path.strip("/"))
