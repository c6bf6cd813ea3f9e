"""A compact language for writing the server's resource schemas.

A definition reads like the Go type it mirrors: `obj(name, description, field=f(type, description, ...))`.
Each definition renders to an OpenAPI v3 component shaped like upstream's published documents (object
properties as single-element `allOf` references, `default: {}` on non-pointer structs, the
`x-kubernetes-*` list, map and patch extensions) and records each field's Go type, which the request
decoder needs to word type errors exactly as Go's encoding/json does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Schema = dict[str, Any]
REF = "#/components/schemas/"
_UNSET: Any = object()

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
RAW_EXTENSION = "io.k8s.apimachinery.pkg.runtime.RawExtension"
TIME = META + "Time"
MICRO_TIME = META + "MicroTime"
FIELDS_V1 = META + "FieldsV1"

# Go package names of component prefixes, for type names in decode errors ("v1.Container").
_GO_PACKAGES = {
    "io.k8s.apimachinery.pkg.api.resource.": "resource",
    "io.k8s.apimachinery.pkg.util.intstr.": "intstr",
    "io.k8s.apimachinery.pkg.runtime.": "runtime",
}


def go_name(component: str) -> str:
    """`io.k8s.api.core.v1.Container` -> `v1.Container`: how Go's reflect prints the type."""
    prefix, _, short = component.rpartition(".")
    package = _GO_PACKAGES.get(prefix + ".", prefix.rpartition(".")[2])
    return f"{package}.{short}"


@dataclass(frozen=True, slots=True)
class T:
    """A value type: its OpenAPI node (without description) and the Go type Go's reflect would print."""

    node: Schema
    go: str
    struct: bool = False  # a reference to a struct component: non-pointer fields default to {}


def _scalar(kind: str, go: str, fmt: str = "") -> T:
    node: Schema = {"type": kind}
    if fmt:
        node["format"] = fmt
    return T(node, go)


STR = _scalar("string", "string")
I32 = _scalar("integer", "int32", "int32")
I64 = _scalar("integer", "int64", "int64")
BOOL = _scalar("boolean", "bool")
BYTES = _scalar("string", "[]uint8", "byte")
UID = _scalar("string", "types.UID")


def ref(component: str, *, struct: bool = True) -> T:
    return T({"$ref": REF + component}, go_name(component), struct)


QTY = ref(QUANTITY, struct=False)
IOS = ref(INT_OR_STRING, struct=False)
TIME_T = ref(TIME, struct=False)
MICRO_T = ref(MICRO_TIME, struct=False)
RESOURCE_LIST_GO = "v1.ResourceList"


def named(base: T, go: str) -> T:
    """A Go named type over a builtin (`type Protocol string`): same schema, different error wording."""
    return T(base.node, go, base.struct)


def _element(t: T) -> Schema:
    """How upstream writes array items and map values: structs wrapped with a zero default."""
    if t.struct:
        return {"allOf": [t.node], "default": {}}
    if "$ref" in t.node:
        return dict(t.node)
    zero = {"string": "", "integer": 0, "boolean": False}.get(t.node["type"], _UNSET)
    return t.node if zero is _UNSET or t.node.get("format") == "byte" else {"default": zero, **t.node}


def arr(t: T) -> T:
    return T({"type": "array", "items": _element(t)}, "[]" + t.go)


def mapof(t: T, go: str = "") -> T:
    return T({"type": "object", "additionalProperties": _element(t)}, go or "map[string]" + t.go)


RESOURCES = mapof(QTY, RESOURCE_LIST_GO)
STRMAP = mapof(STR)


@dataclass(frozen=True, slots=True)
class Field:
    type: T
    description: str
    required: bool = False
    pointer: bool = False
    default: Any = _UNSET
    enum: tuple[str, ...] = ()
    merge: str = ""  # x-kubernetes-patch-merge-key; also makes the list a map keyed by it
    strategy: str = ""  # x-kubernetes-patch-strategy
    list_type: str = ""  # atomic | set | map | none (no extension); arrays default to atomic
    keys: tuple[str, ...] = ()  # x-kubernetes-list-map-keys when they differ from the merge key
    map_type: str = ""  # x-kubernetes-map-type on a map-valued field
    extra: Schema = field(default_factory=dict)


def f(t: T, description: str, /, **kw: Any) -> Field:
    if "enum" in kw:
        kw["enum"] = tuple(kw["enum"])
    if "keys" in kw:
        kw["keys"] = tuple(kw["keys"])
    return Field(t, description, **kw)


def opt(component: str, description: str, **kw: Any) -> Field:
    """An optional pointer to a struct (`*Probe`): no zero default."""
    return f(ref(component), description, pointer=True, **kw)


def sub(component: str, description: str, **kw: Any) -> Field:
    """A non-pointer struct field (`Resources ResourceRequirements`): defaults to {}."""
    return f(ref(component), description, **kw)


def _zero_default(fd: Field) -> Any:
    if fd.default is not _UNSET:
        return fd.default
    if fd.type.struct and not fd.pointer:
        return {}
    if fd.required and not fd.pointer:
        return {"string": "", "integer": 0, "boolean": False}.get(fd.type.node.get("type", ""), _UNSET)
    return _UNSET


def render_field(fd: Field) -> Schema:
    node: Schema = {"allOf": [fd.type.node]} if "$ref" in fd.type.node else dict(fd.type.node)
    default = _zero_default(fd)
    if default is not _UNSET:
        node["default"] = default
    node["description"] = fd.description
    if fd.enum:
        node["enum"] = list(fd.enum)
    list_type = fd.list_type or ("map" if fd.merge else "atomic")
    if node.get("type") == "array" and list_type != "none":
        node["x-kubernetes-list-type"] = list_type
        if list_type == "map":
            node["x-kubernetes-list-map-keys"] = list(fd.keys or (fd.merge,))
    if fd.merge:
        node["x-kubernetes-patch-merge-key"] = fd.merge
    if fd.merge or fd.strategy:
        node["x-kubernetes-patch-strategy"] = fd.strategy or "merge"
    if fd.map_type:
        node["x-kubernetes-map-type"] = fd.map_type
    node.update(fd.extra)
    return node


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    schema: Schema
    go_types: dict[str, str]  # property -> Go type of the field


def gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "kind": kind, "version": version}


def obj(
    name: str,
    description: str,
    /,
    *,
    gvks: list[dict[str, str]] | None = None,
    atomic: bool = False,
    unions: list[Schema] | None = None,
    **fields: Field,
) -> Component:
    schema: Schema = {"description": description}
    if fields:
        schema["properties"] = {k: render_field(fd) for k, fd in sorted(fields.items())}
        required = [k for k, fd in fields.items() if fd.required]
        if required:
            schema["required"] = required
    schema["type"] = "object"
    if gvks:
        schema["x-kubernetes-group-version-kind"] = gvks
    if atomic:
        schema["x-kubernetes-map-type"] = "atomic"
    if unions:
        schema["x-kubernetes-unions"] = unions
    return Component(name, schema, {k: fd.type.go for k, fd in fields.items()})


def leaf(name: str, schema: Schema) -> Component:
    """A component with custom JSON handling (Time, Quantity, IntOrString...): no properties."""
    return Component(name, schema, {})


# -- the fields every top-level kind and list starts with --

API_VERSION = (
    "The versioned schema of this object: the group/version the client wrote it in. The server converts "
    "recognized versions and may reject others."
)
KIND = "The kind of REST resource this object represents, in CamelCase. Read-only to clients."
METADATA = "Standard object metadata: name, namespace, labels, annotations and system-populated fields."
LIST_METADATA = "Standard list metadata: the resourceVersion of the list and the continue token."


def kind(
    name: str, description: str, group: str, version: str, /, *, metadata: str = METADATA, **fields: Field
) -> list[Component]:
    """A top-level kind with apiVersion/kind/metadata, and its List kind."""
    short = name.rpartition(".")[2]
    main = obj(
        name,
        description,
        gvks=[gvk(group, version, short)],
        apiVersion=f(STR, API_VERSION),
        kind=f(STR, KIND),
        metadata=sub(META + "ObjectMeta", metadata),
        **fields,
    )
    listed = obj(
        name + "List",
        f"A list of {short} objects.",
        gvks=[gvk(group, version, short + "List")],
        apiVersion=f(STR, API_VERSION),
        items=f(arr(ref(name)), f"The {short} objects in the list.", required=True, list_type="none"),
        kind=f(STR, KIND),
        metadata=sub(META + "ListMeta", LIST_METADATA),
    )
    return [main, listed]


def single(
    name: str, description: str, group: str, version: str, /, *, metadata: str = METADATA, **fields: Field
) -> Component:
    """A kind that is never listed (reviews, subresource bodies)."""
    short = name.rpartition(".")[2]
    return obj(
        name,
        description,
        gvks=[gvk(group, version, short)],
        apiVersion=f(STR, API_VERSION),
        kind=f(STR, KIND),
        metadata=sub(META + "ObjectMeta", metadata),
        **fields,
    )
