"""What a request is asking for: upstream's RequestInfo, parsed from method, path and query."""

from __future__ import annotations

from dataclasses import dataclass

from multidict import MultiMapping

# /api/v1/namespaces/<ns>/<sub> where <sub> is a subresource of the namespace, not a collection inside it
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_SPECIAL_VERBS = frozenset({"watch", "proxy"})


@dataclass(frozen=True, slots=True)
class RequestInfo:
    is_resource: bool
    path: str
    verb: str
    api_prefix: str = ""  # "api" or "apis"
    group: str = ""
    version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    parts: tuple[str, ...] = ()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


def parse(method: str, path: str, query: MultiMapping[str]) -> RequestInfo:
    """Resource requests have /api/v1/... or /apis/<group>/<version>/...; everything else is a
    non-resource request whose verb is the lower-cased HTTP method, as upstream authorizes it."""
    http_verb = method.lower()
    segments = [s for s in path.strip("/").split("/") if s]
    nonresource = RequestInfo(False, path, http_verb)
    if not segments or segments[0] not in ("api", "apis"):
        return nonresource
    prefix = segments[0]
    rest = segments[1:]
    if prefix == "api":
        if len(rest) < 2:
            return nonresource
        group, version, rest = "", rest[0], rest[1:]
    else:
        if len(rest) < 3:
            return nonresource
        group, version, rest = rest[0], rest[1], rest[2:]

    verb = {
        "post": "create",
        "get": "get",
        "head": "get",
        "put": "update",
        "patch": "patch",
        "delete": "delete",
    }.get(http_verb, http_verb)
    if rest and rest[0] in _SPECIAL_VERBS:
        if len(rest) < 2:
            return nonresource
        verb = rest[0]
        rest = rest[1:]

    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""

    if not name:
        if verb == "get":
            verb = "watch" if _truthy(query.get("watch")) else "list"
        elif verb == "delete":
            verb = "deletecollection"
    elif verb == "get" and _truthy(query.get("watch")):
        verb = "watch"
    return RequestInfo(
        True, path, verb, prefix, group, version, namespace, resource, subresource, name, tuple(rest[3:])
    )
