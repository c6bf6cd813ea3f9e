"""Server-side apply and managedFields tracking, as pure functions over JSON objects.

Modelled on structured-merge-diff (field sets, merge, compare, prune) and apimachinery's managedfields
chain (manager identifiers, stripped meta fields, "before-first-apply", the client-side-apply upgrade,
the cap on update managers). A field set is a Python set of paths; a path is a tuple of path elements:

    ("f", name)                      a field of a map or struct            -> "f:name"
    ("k", ((key, json), ...))        an item of a map-type list            -> 'k:{"name":"nginx"}'
    ("v", json)                      an item of a set-type list            -> 'v:"x"'
    ("i", index)                     an item by position (decode only)     -> "i:0"

Scalars inside path elements are kept as their Go-compatible JSON text, so `1` and `true` stay distinct
and serialization is verbatim.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from distro.apiserver.status import StatusError, bad_request

Obj = dict[str, Any]
Resolve = Callable[[dict], dict]
PathElement = tuple[Any, ...]
Path = tuple[PathElement, ...]
FieldSet = frozenset[Path]

_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_BEFORE_FIRST_APPLY = "before-first-apply"
_ANCIENT_CHANGES = "ancient-changes"
_MAX_UPDATE_MANAGERS = 10
_MAX_ANNOTATIONS_BYTES = 256 * 1024
_SCALAR_TYPES = frozenset({"string", "integer", "number", "boolean"})


class _Absent:
    def __repr__(self) -> str:
        return "<absent>"


_ABSENT: Any = _Absent()


def _path(*names: str) -> Path:
    return tuple(("f", n) for n in names)


# Never owned by anyone: upstream's stripMetaManager removes exactly these paths (not their children).
_STRIPPED: frozenset[Path] = frozenset(
    {
        _path("apiVersion"),
        _path("kind"),
        _path("metadata"),
        *(
            _path("metadata", n)
            for n in (
                "name",
                "namespace",
                "creationTimestamp",
                "selfLink",
                "uid",
                "clusterName",
                "generation",
                "managedFields",
                "resourceVersion",
            )
        ),
    }
)


# ---------------------------------------------------------------- JSON text and path elements


def _text(value: Any) -> str:
    """Go's encoding/json output for a value: compact, sorted keys, HTML characters escaped."""
    out = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        out = out.replace(raw, escaped)
    return out.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _value_order(value: Any) -> tuple:
    # structured-merge-diff's total order: numbers, strings, booleans, lists, maps, null
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    if isinstance(value, list):
        return (3, tuple(_value_order(v) for v in value))
    if isinstance(value, dict):
        return (4, tuple((k, _value_order(value[k])) for k in sorted(value)))
    return (5,)


def _pe_order(pe: PathElement) -> tuple:
    kind = pe[0]
    if kind == "f":
        return (0, pe[1])
    if kind == "k":
        return (1, tuple((name, _value_order(json.loads(text))) for name, text in pe[1]))
    if kind == "v":
        return (2, _value_order(json.loads(pe[1])))
    return (3, pe[1])


def _pe_key(pe: PathElement) -> str:
    """The fieldsV1 key of a path element."""
    kind = pe[0]
    if kind == "f":
        return "f:" + pe[1]
    if kind == "k":
        return "k:{" + ",".join(f"{_text(name)}:{text}" for name, text in pe[1]) + "}"
    if kind == "v":
        return "v:" + pe[1]
    return f"i:{pe[1]}"


def _parse_pe(key: str) -> PathElement:
    kind, sep, rest = key.partition(":")
    if not sep:
        raise ValueError(f"missing colon: {key}")
    if kind == "f":
        return ("f", rest)
    if kind == "v":
        return ("v", _text(json.loads(rest)))
    if kind == "k":
        fields = json.loads(rest)
        if not isinstance(fields, dict):
            raise ValueError(f"key is not an object: {key}")
        return ("k", tuple(sorted((name, _text(v)) for name, v in fields.items())))
    if kind == "i":
        return ("i", int(rest))
    raise ValueError("unknown path element type")


def _go_string(value: Any) -> str:
    """structured-merge-diff's value.ToString, used in conflict paths."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(_go_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "".join(f"{k}={_go_string(v)}" for k, v in value.items())
    return str(value)


def _pe_str(pe: PathElement) -> str:
    kind = pe[0]
    if kind == "f":
        return "." + pe[1]
    if kind == "k":
        return "[" + ",".join(f"{name}={_go_string(json.loads(text))}" for name, text in pe[1]) + "]"
    if kind == "v":
        return f"[={_go_string(json.loads(pe[1]))}]"
    return f"[{pe[1]}]"


def _path_str(path: Path) -> str:
    return "".join(_pe_str(pe) for pe in path)


def _iteration_order(path: Path) -> tuple:
    # fieldpath.Set.Iterate visits a node's members before descending into its children
    return tuple((0 if i == len(path) - 1 else 1, _pe_order(pe)) for i, pe in enumerate(path))


# ---------------------------------------------------------------- field sets


class _Node:
    __slots__ = ("children", "member")

    def __init__(self) -> None:
        self.member = False
        self.children: dict[PathElement, _Node] = {}


def _trie(paths: Iterable[Path]) -> dict[PathElement, _Node]:
    root: dict[PathElement, _Node] = {}
    for path in paths:
        level, node = root, None
        for pe in path:
            node = level.setdefault(pe, _Node())
            level = node.children
        if node is not None:
            node.member = True
    return root


def _encode_fields(paths: Iterable[Path]) -> dict:
    def emit(level: dict[PathElement, _Node]) -> dict:
        out: dict = {}
        for pe in sorted(level, key=_pe_order):
            node = level[pe]
            body: dict = {}
            if node.children:
                if node.member:
                    body["."] = {}
                body.update(emit(node.children))
            out[_pe_key(pe)] = body
        return out

    return emit(_trie(paths))


def _decode_fields(tree: Any, prefix: Path = ()) -> set[Path]:
    if not isinstance(tree, dict):
        raise ValueError("fieldsV1 must be an object")
    out: set[Path] = set()
    for key, sub in tree.items():
        if key == ".":
            continue
        path = (*prefix, _parse_pe(key))
        if not isinstance(sub, dict):
            raise ValueError(f"{key}: expected an object")
        if not sub or "." in sub:
            out.add(path)
        out |= _decode_fields(sub, path)
    return out


def _has_prefix_in(path: Path, paths: frozenset[Path] | set[Path]) -> bool:
    return any(path[:i] in paths for i in range(1, len(path) + 1))


def _recursive_difference(paths: Iterable[Path], excluded: frozenset[Path]) -> frozenset[Path]:
    if not excluded:
        return frozenset(paths)
    return frozenset(p for p in paths if not _has_prefix_in(p, excluded))


def _same(a: Any, b: Any) -> bool:
    """JSON equality where true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    return not isinstance(b, dict | list) and a == b


# ---------------------------------------------------------------- schema view


@dataclass(frozen=True, slots=True)
class _Shape:
    kind: str  # "map", "list", "scalar" or "any" (deduced from the value: maps granular, lists atomic)
    node: Mapping[str, Any] = field(default_factory=dict)
    atomic: bool = False
    keys: tuple[str, ...] = ()
    associative: bool = False  # list-type set or map

    @property
    def props(self) -> Mapping[str, Any]:
        return self.node.get("properties") or {}


_ANY = _Shape("any")
# id(schema node) -> (node, shape); the node is kept so an id is never reused for another node
_SHAPES: dict[int, tuple[Any, _Shape]] = {}


def _classify(node: Mapping[str, Any]) -> _Shape:
    kind = node.get("type")
    if kind == "array" or "items" in node:
        return _classify_list(node)
    if node.get("x-kubernetes-int-or-string") or kind in _SCALAR_TYPES:
        return _Shape("scalar", node)
    extra = node.get("additionalProperties")
    atomic = node.get("x-kubernetes-map-type") == "atomic"
    if node.get("properties") or isinstance(extra, dict) or atomic:
        return _Shape("map", node, atomic=atomic)
    return _ANY


def _classify_list(node: Mapping[str, Any]) -> _Shape:
    list_type = node.get("x-kubernetes-list-type")
    if list_type == "map":
        keys = tuple(node.get("x-kubernetes-list-map-keys") or ())
        return _Shape("list", node, keys=keys, associative=bool(keys), atomic=not keys)
    if list_type == "set":
        return _Shape("list", node, associative=True)
    merge_key = node.get("x-kubernetes-patch-merge-key")
    if list_type is None and merge_key:
        return _Shape("list", node, keys=(merge_key,), associative=True)
    strategy = str(node.get("x-kubernetes-patch-strategy") or "")
    if list_type is None and "merge" in strategy.split(","):
        return _Shape("list", node, associative=True)
    return _Shape("list", node, atomic=True)


class _ItemError(Exception):
    pass


@dataclass(slots=True)
class _Diff:
    added: set[Path] = field(default_factory=set)
    modified: set[Path] = field(default_factory=set)
    removed: set[Path] = field(default_factory=set)

    def without(self, excluded: frozenset[Path]) -> _Diff:
        return _Diff(
            set(_recursive_difference(self.added, excluded)),
            set(_recursive_difference(self.modified, excluded)),
            set(_recursive_difference(self.removed, excluded)),
        )


class _Typed:
    """structured-merge-diff's typed-value operations over plain JSON, driven by OpenAPI v3 nodes."""

    def __init__(self, root: dict | None, resolve: Resolve) -> None:
        self.root = root
        self._resolve = resolve
        # schema nodes are long-lived and never change: their shapes are shared by every request
        self._shapes = _SHAPES

    # -- schema navigation

    def shape(self, node: Any) -> _Shape:
        if not isinstance(node, dict):
            return _ANY
        hit = self._shapes.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        shape = _classify(self._deref(node))
        self._shapes[id(node)] = (node, shape)
        return shape

    def _deref(self, node: dict) -> dict:
        for _ in range(32):
            if "$ref" not in node and "allOf" not in node:
                break
            target = self._resolve(node)
            if target is node:
                break
            node = target
        return node

    def child(self, shape: _Shape, name: str) -> tuple[Any, bool]:
        """(schema of the map entry, whether it is a declared struct field)."""
        if shape.kind != "map":
            return None, False
        declared = shape.props.get(name)
        if declared is not None:
            return declared, True
        extra = shape.node.get("additionalProperties")
        return (extra if isinstance(extra, dict) else None), False

    def _key_default(self, shape: _Shape, key: str) -> Any:
        prop = self.shape(shape.node.get("items")).props.get(key)
        if not isinstance(prop, dict):
            return None
        if "default" in prop:
            return prop["default"]
        return self._deref(prop).get("default")

    def item_pe(self, shape: _Shape, item: Any) -> PathElement:
        if shape.keys:
            if item is None:
                raise _ItemError("associative list with keys may not have a null element")
            if not isinstance(item, dict):
                raise _ItemError("associative list with keys may not have non-map elements")
            fields = []
            for key in shape.keys:
                value = item[key] if key in item else self._key_default(shape, key)
                if value is not None:
                    fields.append((key, _text(value)))
            if not fields:
                quoted = " ".join(json.dumps(k) for k in shape.keys)
                raise _ItemError(
                    f"associative list with keys has an element that omits all key fields [{quoted}] "
                    "(and doesn't have default values for any key fields)"
                )
            return ("k", tuple(sorted(fields)))
        if isinstance(item, dict):
            raise _ItemError("associative list without keys has an element that's a map type")
        if isinstance(item, list):
            raise _ItemError("not supported: associative list with lists as elements")
        if item is None:
            raise _ItemError("associative list without keys has an element that's an explicit null")
        return ("v", _text(item))

    def _item_pes(self, shape: _Shape, items: list) -> list[PathElement] | None:
        try:
            return [self.item_pe(shape, item) for item in items]
        except _ItemError:
            return None

    @staticmethod
    def _granular_map(shape: _Shape) -> bool:
        return (shape.kind == "map" and not shape.atomic) or shape.kind == "any"

    # -- ToFieldSet

    def fieldset(self, obj: Obj, errors: list[tuple[Path, str]] | None = None) -> set[Path]:
        """Every path set in obj. With `errors`, invalid list items are reported as upstream's
        validation does; without, such lists are owned whole."""
        out: set[Path] = set()
        self._fieldset(obj, self.root, (), out, errors)
        return out

    def _fieldset(self, value: Any, node: Any, path: Path, out: set[Path], errors: list | None) -> None:
        shape = self.shape(node)
        if shape.kind == "list":
            if shape.associative and isinstance(value, list):
                self._list_fieldset(shape, value, path, out, errors)
            elif not shape.associative or value is not None:
                out.add(path)
            return
        if shape.kind == "map" or (shape.kind == "any" and isinstance(value, dict)):
            if shape.atomic or not isinstance(value, dict):
                if shape.atomic or value is not None:
                    out.add(path)
                return
            for key, item in value.items():
                child, declared = self.child(shape, key)
                sub = (*path, ("f", key))
                self._fieldset(item, child, sub, out, errors)
                if item is None or item == {} or not declared:
                    out.add(sub)
            return
        out.add(path)

    def _list_fieldset(
        self, shape: _Shape, items: list, path: Path, out: set[Path], errors: list | None
    ) -> None:
        pes = []
        for i, item in enumerate(items):
            try:
                pes.append(self.item_pe(shape, item))
            except _ItemError as exc:
                if errors is not None:
                    errors.append((path, f"element {i}: {exc}"))
                else:
                    out.add(path)
                return
        seen: set[PathElement] = set()
        duplicates: set[PathElement] = set()
        for pe in pes:
            if pe in seen:
                if errors is not None:
                    errors.append((path, f"duplicate entries for key {_pe_str(pe)}"))
                duplicates.add(pe)
            seen.add(pe)
        for item, pe in zip(items, pes, strict=True):
            sub = (*path, pe)
            if pe not in duplicates:
                self._fieldset(item, shape.node.get("items"), sub, out, errors)
            out.add(sub)

    def with_named_fields(self, paths: Iterable[Path]) -> set[Path]:
        """EnsureNamedFieldsAreMembers: declared struct fields above a member become members too."""
        out = set(paths)
        nodes: dict[Path, Any] = {(): self.root}
        for path in list(out):
            for i in range(len(path) - 1):
                parent = self._node_at(path[:i], nodes)
                pe = path[i]
                if pe[0] == "f" and pe[1] in self.shape(parent).props:
                    out.add(path[: i + 1])
        return out

    def _node_at(self, path: Path, nodes: dict[Path, Any]) -> Any:
        if path in nodes:
            return nodes[path]
        shape = self.shape(self._node_at(path[:-1], nodes))
        pe = path[-1]
        if pe[0] == "f":
            node = self.child(shape, pe[1])[0]
        elif pe[0] == "k" and shape.kind == "list":
            node = shape.node.get("items")
        else:
            node = None
        nodes[path] = node
        return node

    # -- merge

    def merge(self, lhs: Any, rhs: Any, node: Any) -> Any:
        shape = self.shape(node)
        if self._granular_map(shape) and isinstance(lhs, dict) and isinstance(rhs, dict) and (lhs or rhs):
            out = dict(lhs)
            for key, value in rhs.items():
                out[key] = self.merge(lhs[key], value, self.child(shape, key)[0]) if key in lhs else value
            return out
        if shape.associative and isinstance(lhs, list) and isinstance(rhs, list) and (lhs or rhs):
            merged = self._merge_list(shape, lhs, rhs)
            if merged is not None:
                return merged
        return rhs

    def _merge_list(self, shape: _Shape, lhs: list, rhs: list) -> list | None:
        # Keeps the live order and slots items new to the list where the applied order puts them,
        # exactly as structured-merge-diff's visitListItems does.
        lpes, rpes = self._item_pes(shape, lhs), self._item_pes(shape, rhs)
        if lpes is None or rpes is None:
            return None
        items = shape.node.get("items")
        observed_r: dict[PathElement, Any] = {}
        for pe, item in zip(rpes, rhs, strict=True):
            observed_r.setdefault(pe, item)
        observed_l: dict[PathElement, Any] = {}
        for pe, item in zip(lpes, lhs, strict=True):
            observed_l[pe] = None if pe in observed_l else item  # duplicates merge as null
        shared = iter([pe for pe in rpes if pe in observed_l])
        next_shared = next(shared, None)
        emitted: set[PathElement] = set()
        out: list = []
        li = ri = 0
        while li < len(lpes) or ri < len(rpes):
            if li < len(lpes) and ri < len(rpes):
                pe = lpes[li]
                if pe == rpes[ri]:
                    emitted.add(pe)
                    out.append(self.merge(observed_l[pe], observed_r[pe], items))
                    li, ri = li + 1, ri + 1
                    next_shared = next(shared, None)
                    continue
                if pe in observed_r and next_shared is not None and next_shared != pe:
                    li += 1
                    continue
            if li < len(lpes):
                pe = lpes[li]
                if pe not in observed_r:
                    out.append(lhs[li])
                    li += 1
                    continue
                if pe in emitted:
                    li += 1
            if ri < len(rpes):
                pe = rpes[ri]
                emitted.add(pe)
                live = observed_l.get(pe, _ABSENT)
                out.append(observed_r[pe] if live is _ABSENT else self.merge(live, observed_r[pe], items))
                ri += 1
                if next_shared is not None and next_shared == pe:
                    next_shared = next(shared, None)
        return out

    # -- compare

    def diff(self, lhs: Obj, rhs: Obj, excluded: frozenset[Path] = frozenset()) -> _Diff:
        out = _Diff()
        self._compare(
            self._with_structs(lhs, self.root), self._with_structs(rhs, self.root), self.root, (), out
        )
        return out.without(excluded)

    def _with_structs(self, value: Any, node: Any, depth: int = 0) -> Any:
        """The value as upstream sees it after decoding into Go types: non-pointer structs (`default: {}`
        in the schema) are always there, even when the stored JSON omits them."""
        shape = self.shape(node)
        if depth > 64:
            return value
        if isinstance(value, dict) and self._granular_map(shape):
            out = {k: self._with_structs(v, self.child(shape, k)[0], depth + 1) for k, v in value.items()}
            for name, prop in shape.props.items():
                if name not in out and self._is_struct_default(prop):
                    out[name] = self._with_structs({}, prop, depth + 1)
            return out
        if isinstance(value, list) and shape.kind == "list":
            return [self._with_structs(v, shape.node.get("items"), depth + 1) for v in value]
        return value

    def _is_struct_default(self, prop: Any) -> bool:
        return isinstance(prop, dict) and prop.get("default") == {} and self.shape(prop).kind == "map"

    def _compare(self, lhs: Any, rhs: Any, node: Any, path: Path, out: _Diff) -> None:
        shape = self.shape(node)
        present = [v for v in (lhs, rhs) if v is not _ABSENT and v is not None]
        nonempty = bool(present) and any(present)
        if self._granular_map(shape) and nonempty and all(isinstance(v, dict) for v in present):
            left = lhs if isinstance(lhs, dict) else {}
            right = rhs if isinstance(rhs, dict) else {}
            for key in {**left, **right}:
                child = self.child(shape, key)[0]
                self._compare(
                    left.get(key, _ABSENT), right.get(key, _ABSENT), child, (*path, ("f", key)), out
                )
        elif not (
            shape.associative
            and nonempty
            and all(isinstance(v, list) for v in present)
            and self._compare_list(shape, lhs, rhs, path, out)
        ):
            # a leaf: scalars, atomic values, empty containers and anything the schema cannot index
            if lhs is not _ABSENT and rhs is not _ABSENT and not _same(lhs, rhs):
                out.modified.add(path)
        # containers are recorded when they appear or go, leaves also when they change (above)
        if lhs is _ABSENT:
            out.added.add(path)
        elif rhs is _ABSENT:
            out.removed.add(path)

    def _compare_list(self, shape: _Shape, lhs: Any, rhs: Any, path: Path, out: _Diff) -> bool:
        left = lhs if isinstance(lhs, list) else []
        right = rhs if isinstance(rhs, list) else []
        lpes, rpes = self._item_pes(shape, left), self._item_pes(shape, right)
        if lpes is None or rpes is None:
            return False
        by_pe: dict[PathElement, tuple[list, list]] = {}
        for pe, item in zip(lpes, left, strict=True):
            by_pe.setdefault(pe, ([], []))[0].append(item)
        for pe, item in zip(rpes, right, strict=True):
            by_pe.setdefault(pe, ([], []))[1].append(item)
        items = shape.node.get("items")
        for pe, (ls, rs) in by_pe.items():
            sub = (*path, pe)
            if len(ls) <= 1 and len(rs) <= 1:
                self._compare(ls[0] if ls else _ABSENT, rs[0] if rs else _ABSENT, items, sub, out)
            elif len(ls) >= 2 and len(rs) >= 2:
                if not _same(ls, rs):
                    out.modified.add(sub)
            elif len(ls) >= 2:
                if rs:
                    self._compare(_ABSENT, rs[0], items, sub, out)
                out.removed.add(sub)
            else:
                if ls:
                    self._compare(ls[0], _ABSENT, items, sub, out)
                out.added.add(sub)
        return True

    # -- RemoveItems

    def remove(self, obj: Obj, paths: Iterable[Path]) -> Obj:
        trie = _trie(paths)
        if not trie:
            return obj
        out = self._remove(obj, self.root, trie)
        return {} if out is _ABSENT else out

    def _remove(self, value: Any, node: Any, trie: dict[PathElement, _Node]) -> Any:
        # A container whose every entry went is dropped: upstream leaves a null that decoding into the
        # Go type then omits.
        shape = self.shape(node)
        if self._granular_map(shape) and isinstance(value, dict):
            out = {}
            for key, item in value.items():
                hit = trie.get(("f", key))
                if hit is None:
                    out[key] = item
                elif not hit.member:
                    kept = self._remove(item, self.child(shape, key)[0], hit.children)
                    if kept is not _ABSENT:
                        out[key] = kept
            return out or _ABSENT
        if shape.associative and isinstance(value, list):
            pes = self._item_pes(shape, value)
            if pes is None:
                return value
            kept_items = []
            for pe, item in zip(pes, value, strict=True):
                hit = trie.get(pe)
                if hit is None:
                    kept_items.append(item)
                elif not hit.member:
                    kept = self._remove(item, shape.node.get("items"), hit.children)
                    if kept is not _ABSENT:
                        kept_items.append(kept)
            return kept_items or _ABSENT
        return value

    # -- prune (Updater.prune with addBackOwnedItems and addBackDanglingItems)

    def prune(self, merged: Obj, last: FieldSet, owned: set[Path]) -> Obj:
        """Remove what `last` owned and nobody owns now; unowned fields under a removed struct field go
        with it, as upstream."""
        everything = self.with_named_fields(self.fieldset(merged))
        last_named = self.with_named_fields(last)
        owned_named = self.with_named_fields(owned)
        doomed = {p for p in everything if _has_prefix_in(p, last_named)} - owned_named
        removal = {p for p in last_named & everything if _has_prefix_in(p, doomed)}
        return self.remove(merged, removal) if removal else merged

    # -- the object a create starts from

    def zero(self) -> Obj:
        """The typed zero object upstream compares a create against: Go's non-pointer structs are
        present (`default: {}` in the schema), required pointers and slices are null."""
        return self._zero(self.root, 0, top=True)

    def _zero(self, node: Any, depth: int, top: bool = False) -> Obj:
        shape = self.shape(node)
        if shape.kind != "map" or depth > 12:
            return {}
        required = set(shape.node.get("required") or ())
        out: Obj = {}
        for name, prop in shape.props.items():
            forced = top and name in ("metadata", "spec", "status") and self.shape(prop).kind == "map"
            if forced or self._is_struct_default(prop):
                out[name] = self._zero(prop, depth + 1)
            elif name in required or name == "creationTimestamp":
                # metav1.Time is a struct that marshals its zero value as null
                out[name] = None
        return out


# ---------------------------------------------------------------- managers


@dataclass(frozen=True, slots=True)
class _Entry:
    manager: str
    operation: str  # "Apply" or "Update"
    api_version: str
    subresource: str = ""
    time: str | None = None
    fields: FieldSet = frozenset()

    @property
    def ident(self) -> str:
        """BuildManagerIdentifier: the JSON of the entry without time and fields (and without
        apiVersion for appliers, who keep one entry across versions)."""
        doc: dict[str, str] = {}
        if self.manager:
            doc["manager"] = self.manager
        doc["operation"] = self.operation
        if self.operation != "Apply" and self.api_version:
            doc["apiVersion"] = self.api_version
        if self.subresource:
            doc["subresource"] = self.subresource
        return _text_ordered(doc)

    def describe(self) -> str:
        """printManager: how conflict messages name a manager."""
        who = json.dumps(self.manager, ensure_ascii=False)
        if self.subresource:
            who += f" with subresource {json.dumps(self.subresource, ensure_ascii=False)}"
        if self.operation == "Update":
            who += f" using {self.api_version}"
        return who


def _text_ordered(doc: dict) -> str:
    return "{" + ",".join(f"{_text(k)}:{_text(v)}" for k, v in doc.items()) + "}"


Managers = dict[str, _Entry]


class _DecodeError(Exception):
    pass


def _decode_managers(entries: Any) -> Managers:
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise _DecodeError("managedFields must be a list")
    out: Managers = {}
    for i, raw in enumerate(entries):
        if not isinstance(raw, dict):
            raise _DecodeError(f"managed fields entry {i} is not an object")
        operation = raw.get("operation")
        if operation not in ("Apply", "Update"):
            raise _DecodeError("operation must be `Apply` or `Update`")
        if not raw.get("apiVersion"):
            raise _DecodeError("apiVersion must not be empty")
        if raw.get("fieldsType") != "FieldsV1":
            if not raw.get("fieldsType"):
                raise _DecodeError(f"missing fieldsType in managed fields entry {i}")
            raise _DecodeError(f'invalid fieldsType "{raw.get("fieldsType")}" in managed fields entry {i}')
        try:
            fields = frozenset(_decode_fields(raw.get("fieldsV1") or {}))
        except (ValueError, TypeError) as exc:
            raise _DecodeError(f"error decoding set: {exc}") from None
        entry = _Entry(
            manager=str(raw.get("manager") or ""),
            operation=operation,
            api_version=str(raw["apiVersion"]),
            subresource=str(raw.get("subresource") or ""),
            time=raw.get("time"),
            fields=fields,
        )
        out[entry.ident] = entry
    return out


def _decode_leniently(entries: Any) -> Managers:
    try:
        return _decode_managers(entries)
    except _DecodeError:
        return {}


def _epoch(time: str | None) -> int:
    if not time:
        return 0
    try:
        return int(datetime.fromisoformat(time.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


def _encode_managers(managers: Managers) -> list[Obj]:
    ordered = sorted(
        managers.values(),
        key=lambda e: (e.operation, _epoch(e.time), e.manager, e.api_version, e.subresource),
    )
    out = []
    for e in ordered:
        doc: Obj = {"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version}
        if e.time is not None:
            doc["time"] = e.time
        doc["fieldsType"] = "FieldsV1"
        doc["fieldsV1"] = _encode_fields(e.fields)
        if e.subresource:
            doc["subresource"] = e.subresource
        out.append(doc)
    return out


def _set_managed_fields(obj: Obj, managers: Managers) -> None:
    meta = obj.setdefault("metadata", {})
    encoded = _encode_managers(managers)
    if encoded:
        meta["managedFields"] = encoded
    else:
        meta.pop("managedFields", None)


def _without_managed_fields(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return out


def _cap_update_managers(managers: Managers) -> Managers:
    """Merge the oldest update entries into per-version "ancient-changes" buckets beyond ten."""
    updaters = sorted(
        (ident for ident, e in managers.items() if e.operation == "Update"),
        key=lambda ident: (_epoch(managers[ident].time), ident),
    )
    if len(updaters) <= _MAX_UPDATE_MANAGERS:
        return managers
    out = dict(managers)
    first_of_version: dict[str, str] = {}
    count = len(updaters)
    for ident in updaters:
        if count <= _MAX_UPDATE_MANAGERS:
            break
        entry = out[ident]
        version = entry.api_version
        bucket = _Entry(_ANCIENT_CHANGES, "Update", version)
        if first_of_version.setdefault(version, ident) == ident or ident == bucket.ident:
            continue  # the oldest of a version becomes the bucket; a bucket never absorbs itself
        if bucket.ident not in out:
            first = out.pop(first_of_version[version])
            out[bucket.ident] = replace(bucket, time=first.time, fields=first.fields)
        merged = out[bucket.ident].fields | entry.fields
        out[bucket.ident] = replace(bucket, time=entry.time, fields=merged)
        del out[ident]
        count -= 1
    return out


@dataclass(frozen=True, slots=True)
class _Conflict:
    ident: str
    entry: _Entry
    path: Path


class _Conflicts(Exception):
    def __init__(self, conflicts: list[_Conflict]) -> None:
        super().__init__(f"{len(conflicts)} conflicts")
        self.conflicts = conflicts


def _conflict_error(conflicts: list[_Conflict]) -> StatusError:
    ordered = sorted(conflicts, key=lambda c: (c.ident, _iteration_order(c.path)))
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {c.entry.describe()}",
            "field": _path_str(c.path),
        }
        for c in ordered
    ]
    if len(ordered) == 1:
        only = ordered[0]
        message = (
            f"Apply failed with 1 conflict: conflict with {only.entry.describe()}: {_path_str(only.path)}"
        )
    else:
        lines: list[str] = []
        for ident in dict.fromkeys(c.ident for c in ordered):
            group = [c for c in ordered if c.ident == ident]
            lines.append(f"conflicts with {group[0].entry.describe()}:")
            lines.extend(f"- {_path_str(c.path)}" for c in group)
        message = f"Apply failed with {len(ordered)} conflicts: " + "\n".join(lines)
    return StatusError(409, "Conflict", message, {"causes": causes})


def _settle(managers: Managers, diff: _Diff, acting: str, force: bool) -> Managers:
    """Updater.update: the acting manager takes what changed from everyone else (or conflicts), and
    everyone loses what was removed."""
    touched = diff.added | diff.modified
    conflicts = {
        ident: e.fields & touched for ident, e in managers.items() if ident != acting and e.fields & touched
    }
    if conflicts and not force:
        raise _Conflicts(
            [_Conflict(ident, managers[ident], path) for ident, paths in conflicts.items() for path in paths]
        )
    out: Managers = {}
    for ident, entry in managers.items():
        fields = entry.fields
        if ident != acting:
            fields = fields - conflicts.get(ident, frozenset()) - diff.removed
        if fields:
            out[ident] = replace(entry, fields=frozenset(fields))
    return out


# ---------------------------------------------------------------- operations


def _reset_fields(has_status: bool, subresource: str) -> frozenset[Path]:
    # The strategies reset these, so nobody may own them through this endpoint.
    if subresource == "status":
        return frozenset({_path("spec")})
    if has_status and not subresource:
        return frozenset({_path("status")})
    return frozenset()


def _record_update(
    typed: _Typed,
    before: Obj,
    after: Obj,
    managers: Managers,
    actor: _Entry,
    now: str,
    excluded: frozenset[Path],
) -> Managers:
    """managedFieldsUpdater + Updater.Update: the actor takes every field it set or changed."""
    diff = typed.diff(before, after, excluded)
    managers = _settle(managers, diff, acting="", force=True)
    took = frozenset(diff.added | diff.modified) - _STRIPPED
    if took:
        previous = managers.get(actor.ident)
        fields = took | (previous.fields if previous else frozenset())
        managers[actor.ident] = replace(actor, time=now, fields=fields)
    return _cap_update_managers(managers)


def _apply_once(
    typed: _Typed,
    live: Obj,
    applied: Obj,
    config: set[Path],
    managers: Managers,
    actor: _Entry,
    force: bool,
    excluded: frozenset[Path],
    now: str,
) -> tuple[Obj, Managers]:
    merged = typed.merge(live, applied, typed.root)
    previous = managers.get(actor.ident)
    managers = dict(managers)
    managers[actor.ident] = replace(
        actor, time=previous.time if previous else None, fields=_recursive_difference(config, excluded)
    )
    if previous is not None and previous.fields:
        owned: set[Path] = set().union(*(e.fields for e in managers.values()))
        merged = typed.prune(merged, previous.fields, owned)
    managers = _settle(managers, typed.diff(live, merged, excluded), acting=actor.ident, force=force)
    mine = managers.get(actor.ident)
    changed = not _same(live, merged)
    if mine is not None:
        fields = mine.fields - _STRIPPED
        if fields:
            managers[actor.ident] = replace(mine, fields=fields, time=now if changed else mine.time)
        else:
            del managers[actor.ident]
    return (merged if changed else live), managers


def _allowed_by_last_applied(typed: _Typed, live: Obj, api_version: str) -> frozenset[Path] | None:
    """Fields the client-side-apply annotation shows kubectl already owned and that still match."""
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    raw = annotations.get(_LAST_APPLIED)
    if not raw:
        return None
    try:
        last = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(last, dict) or last.get("apiVersion") != api_version:
        return None
    errors: list[tuple[Path, str]] = []
    owned = typed.fieldset(last, errors)
    if errors:
        return None
    diff = typed.diff(last, live)
    return frozenset(owned - diff.modified - diff.added - diff.removed)


def _sync_last_applied(obj: Obj, applied: Obj) -> None:
    """kubectl's server-side applies keep an existing client-side-apply annotation current."""
    annotations = (obj.get("metadata") or {}).get("annotations")
    if not isinstance(annotations, dict) or not annotations.get(_LAST_APPLIED):
        return
    config = copy.deepcopy(applied)
    config_annotations = (config.get("metadata") or {}).get("annotations")
    if isinstance(config_annotations, dict):
        config_annotations.pop(_LAST_APPLIED, None)
    annotations[_LAST_APPLIED] = _text(config) + "\n"
    size = sum(len(k.encode()) + len(str(v).encode()) for k, v in annotations.items())
    if size > _MAX_ANNOTATIONS_BYTES:  # upstream drops the annotation rather than fail the apply
        del annotations[_LAST_APPLIED]


def _gvk(api_version: Any, kind: Any) -> tuple[str, str, str]:
    api_version = api_version if isinstance(api_version, str) else ""
    kind = kind if isinstance(kind, str) else ""
    if api_version.count("/") > 1:
        return ("", "", "")
    group, _, version = api_version.rpartition("/")
    return (group, version, kind)


def _gvk_str(gvk: tuple[str, str, str]) -> str:
    return f"{gvk[0]}/{gvk[1]}, Kind={gvk[2]}"


def _typed_errors(errors: list[tuple[Path, str]]) -> str:
    lines = [f"{_path_str(p)}: {msg}" if p else msg for p, msg in errors]
    return lines[0] if len(lines) == 1 else "errors:\n" + "\n".join("  " + line for line in lines)


def apply(
    live: Obj | None,
    applied: Obj,
    *,
    manager: str,
    force: bool,
    api_version: str,
    schema: dict | None,
    resolve: Resolve,
    now: str,
    kind: str = "",
    subresource: str = "",
    has_status: bool = False,
    name: str | None = None,
) -> Obj:
    """Server-side apply of `applied` (an apply-patch body) onto `live` (None: create).

    Returns the new object with metadata.managedFields updated. `kind` defaults to the live object's;
    `has_status` marks resources whose status only the status subresource may own; `name`, when
    given, is the name on the URL. Raises StatusError: 400 for a wrong type, managedFields in the
    body or a name mismatch, 409 Conflict with upstream's message and causes, 500 for list items
    upstream cannot index."""
    expected = _gvk(api_version, kind or (live or {}).get("kind") or applied.get("kind"))
    got = _gvk(applied.get("apiVersion"), applied.get("kind"))
    if got != expected:
        raise bad_request(f"invalid object type: {_gvk_str(got)}")
    meta = applied.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    if meta.get("managedFields") is not None:
        raise bad_request("metadata.managedFields must be nil")

    typed = _Typed(schema, resolve)
    applied = copy.deepcopy(applied)
    errors: list[tuple[Path, str]] = []
    config = typed.fieldset(applied, errors)
    if errors:
        where = f"{meta.get('namespace') or ''}/{meta.get('name') or ''}; {_gvk_str(got)}"
        raise StatusError(500, "", f"failed to create typed patch object ({where}): {_typed_errors(errors)}")

    live_obj = _without_managed_fields(live) if live is not None else {}
    try:
        managers = _decode_managers(((live or {}).get("metadata") or {}).get("managedFields"))
    except _DecodeError as exc:
        raise StatusError(500, "", f"failed to decode managed fields: {exc}") from None
    excluded = _reset_fields(has_status, subresource)
    if live is not None and not managers:
        # Objects nobody tracked yet: their current fields belong to a stand-in manager.
        stand_in = _Entry(_BEFORE_FIRST_APPLY, "Update", api_version, subresource)
        managers = _record_update(typed, typed.zero(), live_obj, {}, stand_in, now, excluded)

    actor = _Entry(manager or "unknown", "Apply", api_version, subresource)
    try:
        result, managers = _apply_once(
            typed, live_obj, applied, config, managers, actor, force, excluded, now
        )
    except _Conflicts as exc:
        allowed = _allowed_by_last_applied(typed, live_obj, api_version) if manager == "kubectl" else None
        if allowed is None:
            raise _conflict_error(exc.conflicts) from None
        remaining = [c for c in exc.conflicts if c.path not in allowed]
        if remaining:
            raise _conflict_error(remaining) from None
        result, managers = _apply_once(typed, live_obj, applied, config, managers, actor, True, excluded, now)

    result = copy.deepcopy(result)
    if manager == "kubectl":
        _sync_last_applied(result, applied)
    _set_managed_fields(result, managers)
    if name is not None:
        got_name = (result.get("metadata") or {}).get("name") or ""
        if got_name != name:
            raise bad_request(
                f"the name of the object ({got_name}) does not match the name on the URL ({name})"
            )
    return result


def track_update(
    live: Obj | None,
    new: Obj,
    *,
    manager: str,
    api_version: str,
    schema: dict | None,
    resolve: Resolve,
    now: str,
    operation: str = "Update",
    subresource: str = "",
    has_status: bool = False,
) -> Obj:
    """managedFields for a create (live None), update or non-apply patch by `manager`.

    The manager takes every field it set or changed; others lose those fields and any removed ones.
    managedFields sent in `new` replace the live ones (an empty list clears tracking), except on
    subresources. Objects updated while untracked stay untracked, as upstream."""
    if operation != "Update":
        raise ValueError(f"only Update operations are tracked here, not {operation!r}")
    result = _without_managed_fields(new)
    live_entries = ((live or {}).get("metadata") or {}).get("managedFields")
    sent = (new.get("metadata") or {}).get("managedFields")
    if subresource:
        managers = _decode_leniently(live_entries)
    elif isinstance(sent, list) and (not sent or sent == [{}]):
        managers = {}
    else:
        managers = _decode_leniently(sent) or _decode_leniently(live_entries)
    if live is not None and not managers:
        return result

    typed = _Typed(schema, resolve)
    before = _without_managed_fields(live) if live is not None else typed.zero()
    actor = _Entry(manager or "unknown", "Update", api_version, subresource)
    excluded = _reset_fields(has_status, subresource)
    managers = _record_update(typed, before, result, managers, actor, now, excluded)
    _set_managed_fields(result, managers)
    return result
