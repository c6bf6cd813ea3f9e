"""The server's own resource schemas as OpenAPI v3 components, named as upstream names them
(`io.k8s.api.core.v1.Pod`, `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`).

They feed the /openapi/v3 documents (kubectl explain, kubectl apply's patch computation and its
fieldValidation check), request-body type checking (distro.apiserver.decode) and patch merging.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from distro.apiserver.schema.apps import APPS
from distro.apiserver.schema.core import CORE
from distro.apiserver.schema.dsl import REF, Component
from distro.apiserver.schema.meta import COMPONENTS as META_COMPONENTS
from distro.apiserver.schema.misc import MISC
from distro.apiserver.schema.pod import POD
from distro.apiserver.schema.volumes import VOLUMES

__all__ = ["COMPONENTS", "GO_TYPES", "kind_schema", "ref_name", "resolve"]


def _index(parts: list[Component]) -> tuple[dict[str, dict], dict[str, dict[str, str]]]:
    components: dict[str, dict] = {}
    go_types: dict[str, dict[str, str]] = {}
    for part in parts:
        if part.name in components:
            raise ValueError(f"component {part.name} defined twice")
        components[part.name] = part.schema
        go_types[part.name] = part.go_types
    return dict(sorted(components.items())), go_types


_ALL, _GO = _index([*META_COMPONENTS, *POD, *VOLUMES, *CORE, *APPS, *MISC])

COMPONENTS: dict[str, dict[str, Any]] = _ALL
"""Every component schema by name. Treat as read-only."""

GO_TYPES: MappingProxyType[str, dict[str, str]] = MappingProxyType(_GO)
"""component -> property -> the Go type of the field, as Go's reflect prints it (for decode errors)."""


def ref_name(node: dict[str, Any]) -> str:
    """The component a node points at, through `$ref` or a single-element `allOf`; "" when none."""
    if "$ref" in node:
        return node["$ref"].removeprefix(REF)
    all_of = node.get("allOf")
    if all_of and len(all_of) == 1 and "$ref" in all_of[0] and "properties" not in node:
        return all_of[0]["$ref"].removeprefix(REF)
    return ""


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follows `$ref` / single-element `allOf` `$ref` to the component node; other nodes come back as-is."""
    name = ref_name(node)
    return COMPONENTS[name] if name else node


def kind_schema(schema_name: str) -> dict[str, Any]:
    """The top-level schema of a kind, e.g. "io.k8s.api.core.v1.Pod"; KeyError when unknown."""
    return COMPONENTS[schema_name]
