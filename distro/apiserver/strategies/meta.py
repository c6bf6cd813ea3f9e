"""ObjectMeta, labels, annotations and label selectors (apimachinery api/validation and
meta/v1/validation, plus the core API's extra finalizer check)."""

from __future__ import annotations

from typing import Any

from distro.apiserver.strategies import field as f
from distro.apiserver.strategies import names
from distro.apiserver.strategies.field import Cause, GoLiteral

Obj = dict[str, Any]

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
FIELD_IMMUTABLE = "field is immutable"
IS_NEGATIVE = "must be greater than or equal to 0"
STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})
_BANNED_OWNERS = {("", "v1", "Event")}
SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def meta_of(obj: Obj) -> Obj:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def is_new(obj: Obj) -> bool:
    """Not yet stored: the registry refuses a resourceVersion on create and requires one on update."""
    return not meta_of(obj).get("resourceVersion")


def nonnegative(value: Any, path: str) -> list[Cause]:
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        return [f.invalid(path, value, IS_NEGATIVE)]
    return []


def immutable(new: Any, old: Any, path: str, shown: Any = None) -> list[Cause]:
    """ValidateImmutableField; `shown` is the Go rendering of the new value when it is not a scalar."""
    if semantic_equal(new, old):
        return []
    return [f.invalid(path, new if shown is None else shown, FIELD_IMMUTABLE)]


def semantic_equal(a: Any, b: Any) -> bool:
    """apiequality.Semantic: unset, null and empty collections compare equal, as Go's zero values do."""
    return _normalized(a) == _normalized(b)


def _normalized(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _normalized(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if not _is_zero(v)}
    if isinstance(value, list):
        return [_normalized(v) for v in value]
    return value


def _is_zero(value: Any) -> bool:
    return value is None or value is False or value == "" or value == [] or value == {}


# -- labels and annotations --


def validate_label_name(name: str, path: str) -> list[Cause]:
    return [f.invalid(path, name, msg) for msg in names.is_qualified_name(name)]


def validate_labels(labels: Any, path: str) -> list[Cause]:
    errs: list[Cause] = []
    for key, value in sorted((labels or {}).items()):
        errs += validate_label_name(key, path)
        # a JSON null in a string map decodes to Go's ""
        value = "" if value is None else str(value)
        errs += [f.invalid(path, value, msg) for msg in names.is_valid_label_value(value)]
    return errs


def validate_annotations(annotations: Any, path: str) -> list[Cause]:
    annotations = annotations or {}
    errs: list[Cause] = []
    for key in sorted(annotations):
        # the rule is a qualified name, except that case does not matter
        errs += [f.invalid(path, key, msg) for msg in names.is_qualified_name(key.lower())]
    total = sum(len(k.encode()) + len(str(v).encode()) for k, v in annotations.items())
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(f.too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return errs


# -- owner references and finalizers --


def _parse_api_version(api_version: str) -> tuple[str, str] | None:
    if not api_version:
        return ("", "")
    parts = api_version.split("/")
    if len(parts) == 1:
        return ("", parts[0])
    if len(parts) == 2:
        return (parts[0], parts[1])
    return None


def _owner_literal(ref: Obj) -> GoLiteral:
    def ptr(key: str) -> str:
        return "(*bool)(nil)" if ref.get(key) is None else "(*bool)(0xc000000000)"

    return GoLiteral(
        f"v1.OwnerReference{{APIVersion:{f.go_quote(ref.get('apiVersion') or '')}, "
        f"Kind:{f.go_quote(ref.get('kind') or '')}, Name:{f.go_quote(ref.get('name') or '')}, "
        f"UID:{f.go_quote(ref.get('uid') or '')}, Controller:{ptr('controller')}, "
        f"BlockOwnerDeletion:{ptr('blockOwnerDeletion')}}}"
    )


def validate_owner_references(refs: Any, path: str) -> list[Cause]:
    errs: list[Cause] = []
    first_controller = ""
    for ref in refs or []:
        ref = ref if isinstance(ref, dict) else {}
        gv = _parse_api_version(ref.get("apiVersion") or "")
        group, version = gv or ("", "")
        kind = ref.get("kind") or ""
        if not version:
            errs.append(
                f.invalid(
                    f.child(path, "apiVersion"), ref.get("apiVersion") or "", "version must not be empty"
                )
            )
        if not kind:
            errs.append(f.invalid(f.child(path, "kind"), kind, "kind must not be empty"))
        if not ref.get("name"):
            errs.append(f.invalid(f.child(path, "name"), ref.get("name") or "", "name must not be empty"))
        if not ref.get("uid"):
            errs.append(f.invalid(f.child(path, "uid"), ref.get("uid") or "", "uid must not be empty"))
        if (group, version, kind) in _BANNED_OWNERS:
            errs.append(
                f.invalid(
                    path,
                    _owner_literal(ref),
                    f"{group}/{version}, Kind={kind} is disallowed from being an owner",
                )
            )
        if ref.get("controller") is True:
            current = f"{kind}/{ref.get('name') or ''}"
            if first_controller:
                literal = GoLiteral(
                    "[]v1.OwnerReference{" + ", ".join(_owner_literal(r).text for r in refs) + "}"
                )
                errs.append(
                    f.invalid(
                        path,
                        literal,
                        "Only one reference can have Controller set to true. "
                        f'Found "true" in references for {first_controller} and {current}',
                    )
                )
            else:
                first_controller = current
    return errs


def validate_finalizers(finalizers: Any, path: str) -> list[Cause]:
    finalizers = finalizers or []
    errs: list[Cause] = []
    for name in finalizers:
        errs += [f.invalid(path, name, msg) for msg in names.is_qualified_name(str(name))]
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        errs.append(f.invalid(path, finalizers, "finalizer orphan and foregroundDeletion cannot be both set"))
    return errs


def validate_kube_finalizer_name(name: str, path: str) -> list[Cause]:
    """The core API's extra rule: unqualified finalizers must be ones Kubernetes itself knows."""
    if "/" not in name and name not in STANDARD_FINALIZERS:
        return [f.invalid(path, name, "name is neither a standard finalizer name nor is it fully qualified")]
    return []


def _kube_finalizers(meta: Obj, path: str) -> list[Cause]:
    errs: list[Cause] = []
    for i, name in enumerate(meta.get("finalizers") or []):
        errs += validate_kube_finalizer_name(str(name), f.index(f.child(path, "finalizers"), i))
    return errs


# -- ObjectMeta --


def validate_object_meta(
    obj: Obj, namespaced: bool, name_fn: names.NameFn, path: str = "metadata", *, core: bool = True
) -> list[Cause]:
    """ValidateObjectMeta on create. `core` adds the core API's finalizer-name rule."""
    meta = meta_of(obj)
    errs: list[Cause] = []
    generate_name = meta.get("generateName") or ""
    if generate_name:
        errs += [
            f.invalid(f.child(path, "generateName"), generate_name, m) for m in name_fn(generate_name, True)
        ]
    name = meta.get("name") or ""
    if not name:
        errs.append(f.required(f.child(path, "name"), "name or generateName is required"))
    else:
        errs += [f.invalid(f.child(path, "name"), name, m) for m in name_fn(name, False)]
    namespace = meta.get("namespace") or ""
    if namespaced:
        if not namespace:
            errs.append(f.required(f.child(path, "namespace")))
        else:
            errs += [
                f.invalid(f.child(path, "namespace"), namespace, m)
                for m in names.name_is_dns_label(namespace, False)
            ]
    elif namespace:
        errs.append(f.forbidden(f.child(path, "namespace"), "not allowed on this type"))
    errs += nonnegative(meta.get("generation", 0), f.child(path, "generation"))
    errs += _common_meta(meta, path)
    errs += validate_finalizers(meta.get("finalizers"), f.child(path, "finalizers"))
    if core:
        errs += _kube_finalizers(meta, path)
    return errs


def _common_meta(meta: Obj, path: str) -> list[Cause]:
    errs = validate_labels(meta.get("labels"), f.child(path, "labels"))
    errs += validate_annotations(meta.get("annotations"), f.child(path, "annotations"))
    errs += validate_owner_references(meta.get("ownerReferences"), f.child(path, "ownerReferences"))
    return errs


def validate_object_meta_update(
    new: Obj, old: Obj, path: str = "metadata", *, core: bool = True
) -> list[Cause]:
    new_meta, old_meta = meta_of(new), meta_of(old)
    errs: list[Cause] = []
    if old_meta.get("deletionTimestamp"):
        added = sorted(set(new_meta.get("finalizers") or []) - set(old_meta.get("finalizers") or []))
        if added:
            errs.append(
                f.forbidden(
                    f.child(path, "finalizers"),
                    "no new finalizers can be added if the object is "
                    f"being deleted, found new finalizers {f.go_string_slice(added)}",
                )
            )
    if not new_meta.get("resourceVersion"):
        errs.append(f.invalid(f.child(path, "resourceVersion"), "", "must be specified for an update"))
    if (new_meta.get("generation") or 0) < (old_meta.get("generation") or 0):
        errs.append(
            f.invalid(f.child(path, "generation"), new_meta.get("generation") or 0, "must not be decremented")
        )
    for key in ("name", "namespace", "uid"):
        errs += immutable(new_meta.get(key) or "", old_meta.get(key) or "", f.child(path, key))
    for key in ("creationTimestamp", "deletionTimestamp"):
        value = new_meta.get(key)
        shown = GoLiteral(f.go_time(value)) if value or key == "creationTimestamp" else None
        errs += immutable(value, old_meta.get(key), f.child(path, key), shown)
    errs += immutable(
        new_meta.get("deletionGracePeriodSeconds"),
        old_meta.get("deletionGracePeriodSeconds"),
        f.child(path, "deletionGracePeriodSeconds"),
    )
    errs += _common_meta(new_meta, path)
    if core:
        errs += _kube_finalizers(new_meta, path)
    return errs


# -- label selectors --


def validate_label_selector(selector: Any, path: str) -> list[Cause]:
    if not isinstance(selector, dict):
        return []
    errs = validate_labels(selector.get("matchLabels"), f.child(path, "matchLabels"))
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        errs += _validate_requirement(expr or {}, f.index(f.child(path, "matchExpressions"), i))
    return errs


def _validate_requirement(expr: Obj, path: str) -> list[Cause]:
    errs: list[Cause] = []
    operator, values = expr.get("operator") or "", expr.get("values") or []
    if operator in ("In", "NotIn"):
        if not values:
            errs.append(
                f.required(f.child(path, "values"), "must be specified when `operator` is 'In' or 'NotIn'")
            )
    elif operator in ("Exists", "DoesNotExist"):
        if values:
            errs.append(
                f.forbidden(
                    f.child(path, "values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
            )
    else:
        errs.append(f.invalid(f.child(path, "operator"), operator, "not a valid selector operator"))
    errs += validate_label_name(expr.get("key") or "", f.child(path, "key"))
    for i, value in enumerate(v or "" for v in values):
        errs += [
            f.invalid(f.index(f.child(path, "values"), i), value, m)
            for m in names.is_valid_label_value(value)
        ]
    return errs


def selector_is_valid(selector: Any) -> bool:
    """Whether LabelSelectorAsSelector would accept it."""
    if selector is None:
        return True
    return isinstance(selector, dict) and not validate_label_selector(selector, "")


def selector_is_empty(selector: Any) -> bool:
    return (
        isinstance(selector, dict)
        and not selector.get("matchLabels")
        and not selector.get("matchExpressions")
    )


def selector_matches(selector: Any, labels: Any) -> bool:
    """A nil selector matches nothing, an empty one everything."""
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, operator, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def label_selector_literal(selector: Obj) -> GoLiteral:
    """%#v of a dereferenced *metav1.LabelSelector."""
    match_labels = f.go_string_map(selector.get("matchLabels"))
    exprs = selector.get("matchExpressions")
    if exprs is None:
        rendered = "[]v1.LabelSelectorRequirement(nil)"
    else:
        items = ", ".join(
            f"v1.LabelSelectorRequirement{{Key:{f.go_quote(e.get('key') or '')}, "
            f"Operator:{f.go_quote(e.get('operator') or '')}, Values:{f.go_string_slice(e.get('values'))}}}"
            for e in (x or {} for x in exprs)
        )
        rendered = f"[]v1.LabelSelectorRequirement{{{items}}}"
    return GoLiteral(f"v1.LabelSelector{{MatchLabels:{match_labels}, MatchExpressions:{rendered}}}")
