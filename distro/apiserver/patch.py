"""The three PATCH content types of kube-apiserver as pure functions on JSON-like dicts.

Behaviour, status codes and messages follow kube-apiserver v1.32 with its default field validation
(`Warn`): the patch body is strictly decoded first (Go encoding/json messages), RFC 6902 is
evanphx/json-patch v4 with its quirks, RFC 7386 is that library's MergePatch, and strategic merge
patch is apimachinery's `strategicpatch` driven by an OpenAPI v3 schema instead of Go struct tags.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NoReturn

from distro.apiserver.status import StatusError, bad_request

Obj = dict[str, Any]
Resolve = Callable[[dict], dict]

MAX_JSON_PATCH_OPERATIONS = 10000
# kube-apiserver arms jsonpatch.AccumulatedCopySizeLimit with JSONPatchMaxCopyBytes.
MAX_JSON_PATCH_COPY_BYTES = 3 * 1024 * 1024

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def json_patch(original: Obj, patch_body: bytes) -> Obj:
    """application/json-patch+json (RFC 6902) applied to a copy of `original`."""
    decoded = _decode(patch_body, _JSON_PATCH_TYPES)
    operations: list[Any] = decoded or []
    if len(operations) > MAX_JSON_PATCH_OPERATIONS:
        raise StatusError(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: The allowed maximum operations in a JSON patch is "
            f"{MAX_JSON_PATCH_OPERATIONS}, got {len(operations)}",
        )
    return _guarded(lambda: _apply_json_patch(_copy(original), operations))


def merge_patch(original: Obj, patch_body: bytes) -> Obj:
    """application/merge-patch+json (RFC 7386) applied to a copy of `original`."""
    patch = _decode(patch_body, _MERGE_PATCH_TYPES)
    if not isinstance(patch, dict):
        raise bad_request("Invalid JSON Patch")
    return _guarded(lambda: _merge_documents(_copy(original), patch))


def strategic_merge_patch(original: Obj, patch_body: bytes, schema: dict | None, resolve: Resolve) -> Obj:
    """application/strategic-merge-patch+json applied to a copy of `original`.

    `schema` is the kind's OpenAPI v3 schema node; None (and any field it does not describe) gets
    plain JSON merge semantics, while `$patch` and the other directives are still honoured.
    """
    patch = _decode(patch_body, _STRATEGIC_PATCH_TYPES)
    if patch is None:
        return _copy(original)
    root = _Schema(_resolved(schema, resolve) if schema is not None else None, resolve)
    return _guarded(lambda: _strip_directives(_merge_map(_copy(original), patch, root)))


# ---------------------------------------------------------------------------------------------------
# Errors


class _GoPanic(Exception):
    """Where upstream's Go code panics (e.g. comparing two maps); the apiserver answers 500."""


def _unprocessable() -> StatusError:
    # NewGenericServerResponse(422, ...) keeps none of the underlying error's text.
    return StatusError(422, "Invalid", "the server rejected our request due to an error in our request", {})


def _unknown(message: str) -> StatusError:
    """A plain Go error returned by the patch code: ErrorToAPIStatus makes it a 500 with no reason."""
    return StatusError(500, "", message)


def _invalid_result(document: Any, detail: str) -> StatusError:
    value = _go_json(document)
    body = f"Invalid value: {json.dumps(value, ensure_ascii=False)}: {detail}"
    return StatusError(
        422,
        "Invalid",
        f' "" is invalid: patch: {body}',
        {"causes": [{"reason": "FieldValueInvalid", "message": body, "field": "patch"}]},
    )


def _guarded(run: Callable[[], Obj]) -> Obj:
    """Runs a patch, turning Go panics and nesting Python cannot follow into Status errors."""
    try:
        return run()
    except _GoPanic:
        raise StatusError(
            500, "InternalError", "This request caused apiserver to panic. Look in the logs for details."
        ) from None
    except RecursionError:
        raise bad_request("exceeded max depth") from None


# ---------------------------------------------------------------------------------------------------
# Decoding: Go encoding/json acceptance and messages


@dataclass(frozen=True)
class _BodyTypes:
    """How one content type's body is strictly decoded upstream, for its error messages."""

    prefix: str  # what the handler puts before the decoder's error
    number_target: str  # where an out-of-range number lands, as Go names it
    floats_past_int64: bool  # integers past int64 become float64, as UnmarshalCaseSensitivePreserveInts does
    check: Callable[[Any], str | None]  # first type error, in Go's words


class _SyntaxFailure(Exception):
    pass


class _NumberOutOfRange(Exception):
    pass


def _decode(body: bytes, types: _BodyTypes) -> Any:
    try:
        value = json.loads(
            body.decode("utf-8", errors="replace"),
            parse_constant=_reject_constant,
            parse_float=_parse_float,
            parse_int=_int_parser(types.floats_past_int64),
        )
        if _LONE_SURROGATE_ESCAPE.search(body):
            value = _replace_surrogates(value)
    except _NumberOutOfRange as out_of_range:
        number = out_of_range.args[0]
        message = _go_syntax_error(body) or (
            f"json: cannot unmarshal number {number} into Go {types.number_target} of type float64"
        )
        raise bad_request(types.prefix + message) from None
    except (ValueError, RecursionError):
        raise bad_request(types.prefix + (_go_syntax_error(body) or "exceeded max depth")) from None
    type_error = types.check(value)
    if type_error is not None:
        raise bad_request(types.prefix + type_error)
    return value


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(name)


def _parse_float(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise _NumberOutOfRange(text)
    return number


def _int_parser(floats_past_int64: bool) -> Callable[[str], int | float]:
    def parse(text: str) -> int | float:
        if len(text) <= 20 and _INT64_MIN <= (value := int(text)) <= _INT64_MAX:
            return value
        number = float(text)
        if math.isinf(number):
            raise _NumberOutOfRange(text)
        return number if floats_past_int64 else int(text)

    return parse


_LONE_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _replace_surrogates(value: Any) -> Any:
    """Go decodes an unpaired surrogate escape as U+FFFD; Python keeps it (and cannot encode it)."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_replace_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_replace_surrogates(key): _replace_surrogates(item) for key, item in value.items()}
    return value


def _json_kind(value: Any) -> str:
    """encoding/json's name for a JSON value in an UnmarshalTypeError."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    return "number"


def _check_json_patch(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, list):
        return f"json: cannot unmarshal {_json_kind(value)} into Go value of type []handlers.jsonPatchOp"
    for operation in value:
        if operation is None:
            continue
        if not isinstance(operation, dict):
            kind = _json_kind(operation)
            return f"json: cannot unmarshal {kind} into Go value of type handlers.jsonPatchOp"
        for field, field_value in operation.items():
            if field in ("op", "path", "from") and not isinstance(field_value, str | None):
                return (
                    f"json: cannot unmarshal {_json_kind(field_value)} into Go struct field "
                    f"jsonPatchOp.{field} of type string"
                )
    return None


def _check_object(value: Any) -> str | None:
    if value is None or isinstance(value, dict):
        return None
    return f"json: cannot unmarshal {_json_kind(value)} into Go value of type map[string]interface {{}}"


_DECODING = "error decoding patch: "
_JSON_PATCH_TYPES = _BodyTypes(_DECODING, "struct field jsonPatchOp.value", False, _check_json_patch)
_MERGE_PATCH_TYPES = _BodyTypes(_DECODING, "value", False, _check_object)
_STRATEGIC_PATCH_TYPES = _BodyTypes("", "value", True, _check_object)


def _go_syntax_error(data: bytes) -> str | None:
    """encoding/json's message for the first syntax error in `data`, or None if Go would accept it."""
    try:
        _GoScanner(data).scan()
    except _SyntaxFailure as failure:
        return str(failure)
    return None


_SPACE = frozenset(b" \t\n\r")
_DIGITS = frozenset(b"0123456789")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_SIMPLE_ESCAPES = frozenset(b'bfnrt\\/"')
_LITERALS = {ord("t"): b"true", ord("f"): b"false", ord("n"): b"null"}
_MAX_NESTING_DEPTH = 10000


class _GoScanner:
    """Go's JSON scanner states, for their error messages; an iterative walk so depth costs no stack."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.open: list[int] = []

    def scan(self) -> None:
        expect = "value"
        while True:
            self._skip_space()
            if expect == "after_value":
                if self._after_value():
                    return
                expect = self._after_separator()
                continue
            if self.pos >= len(self.data):
                raise _SyntaxFailure("unexpected end of JSON input")
            expect = self._step(expect, self.data[self.pos])

    def _after_value(self) -> bool:
        """True when the whole document is done."""
        if not self.open:
            if self.pos < len(self.data):
                self._fail("after top-level value")
            return True
        if self.pos >= len(self.data):
            raise _SyntaxFailure("unexpected end of JSON input")
        return False

    def _after_separator(self) -> str:
        in_object = self.open[-1] == ord("{")
        char = self.data[self.pos]
        if char == (ord("}") if in_object else ord("]")):
            self.open.pop()
            self.pos += 1
            return "after_value"
        if char == ord(","):
            self.pos += 1
            return "key" if in_object else "value"
        return self._fail("after object key:value pair" if in_object else "after array element")

    def _step(self, expect: str, char: int) -> str:
        closing = {"key_or_close": ord("}"), "value_or_close": ord("]")}.get(expect)
        if char == closing:
            self.open.pop()
            self.pos += 1
            return "after_value"
        if expect in ("key", "key_or_close"):
            self._key()
            return "value"
        if char in (ord("{"), ord("[")):
            if len(self.open) + 1 > _MAX_NESTING_DEPTH:
                self._fail("exceeded max depth")
            self.open.append(char)
            self.pos += 1
            return "key_or_close" if char == ord("{") else "value_or_close"
        if char == ord('"'):
            self._string()
        elif char == ord("-") or char in _DIGITS:
            self._number()
        elif char in _LITERALS:
            self._literal(_LITERALS[char])
        else:
            self._fail("looking for beginning of value")
        return "after_value"

    def _key(self) -> None:
        if self.data[self.pos] != ord('"'):
            self._fail("looking for beginning of object key string")
        self._string()
        self._skip_space()
        if self.pos >= len(self.data):
            raise _SyntaxFailure("unexpected end of JSON input")
        if self.data[self.pos] != ord(":"):
            self._fail("after object key")
        self.pos += 1

    def _string(self) -> None:
        self.pos += 1
        while self.pos < len(self.data):
            char = self.data[self.pos]
            if char == ord('"'):
                self.pos += 1
                return
            if char == ord("\\"):
                self._escape()
                continue
            if char < 0x20:
                self._fail("in string literal")
            self.pos += 1
        raise _SyntaxFailure("unexpected end of JSON input")

    def _escape(self) -> None:
        self.pos += 1
        char = self._current()
        if char in _SIMPLE_ESCAPES:
            self.pos += 1
            return
        if char != ord("u"):
            self._fail("in string escape code")
        self.pos += 1
        for _ in range(4):
            if self._current() not in _HEX:
                self._fail("in \\u hexadecimal character escape")
            self.pos += 1

    def _number(self) -> None:
        if self.data[self.pos] == ord("-"):
            self.pos += 1
            if self._current() not in _DIGITS:
                self._fail("in numeric literal")
        if self.data[self.pos] == ord("0"):
            self.pos += 1
        else:
            self._digits()
        if self._current() == ord("."):
            self.pos += 1
            if self._current() not in _DIGITS:
                self._fail("after decimal point in numeric literal")
            self._digits()
        if self._current() in (ord("e"), ord("E")):
            self.pos += 1
            if self._current() in (ord("+"), ord("-")):
                self.pos += 1
            if self._current() not in _DIGITS:
                self._fail("in exponent of numeric literal")
            self._digits()

    def _digits(self) -> None:
        while self._current() in _DIGITS:
            self.pos += 1

    def _literal(self, word: bytes) -> None:
        self.pos += 1
        for expected in word[1:]:
            if self._current() != expected:
                self._fail(f"in literal {word.decode()} (expecting {_quote_char(expected)})")
            self.pos += 1

    def _current(self) -> int:
        """The byte under the cursor; at the end Go's scanner is fed one last space."""
        return self.data[self.pos] if self.pos < len(self.data) else ord(" ")

    def _skip_space(self) -> None:
        while self.pos < len(self.data) and self.data[self.pos] in _SPACE:
            self.pos += 1

    def _fail(self, context: str) -> NoReturn:
        raise _SyntaxFailure(f"invalid character {_quote_char(self._current())} {context}")


_QUOTE_ESCAPES = {7: "\\a", 8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 12: "\\f", 13: "\\r", 0x5C: "\\\\"}


def _quote_char(byte: int) -> str:
    """Go's quoteChar: the byte as a rune in single quotes, escaped as strconv.Quote would."""
    if byte == ord("'"):
        return "'\\''"
    if byte == ord('"'):
        return "'\"'"
    if byte in _QUOTE_ESCAPES:
        return f"'{_QUOTE_ESCAPES[byte]}'"
    if byte < 0x20 or byte == 0x7F:
        return f"'\\x{byte:02x}'"
    if 0x80 <= byte <= 0xA0 or byte == 0xAD:
        return f"'\\u{byte:04x}'"
    return f"'{chr(byte)}'"


# ---------------------------------------------------------------------------------------------------
# RFC 6902: evanphx/json-patch v4


class _OperationFailed(Exception):
    pass


_MISSING: Any = object()


def _apply_json_patch(document: Obj, operations: list[Any]) -> Obj:
    copied = [0]
    root: Any = document
    for operation in operations:
        try:
            root = _apply_operation(root, operation or {}, copied)
        except _OperationFailed:
            raise _unprocessable() from None
    if not isinstance(root, dict):
        raise _invalid_result(root, _NOT_AN_OBJECT)
    return root


# The json serializer first reads apiVersion and kind into an anonymous struct.
_NOT_AN_OBJECT = (
    "couldn't get version/kind; json parse error: json: cannot unmarshal array into Go value of type struct "
    '{ APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'
)


def _apply_operation(root: Any, operation: dict, copied: list[int]) -> Any:
    kind = operation.get("op")
    if kind == "add":
        _add(*_locate(root, _pointer(operation, "path")), operation.get("value"))
    elif kind == "remove":
        _remove(*_locate(root, _pointer(operation, "path")))
    elif kind == "replace":
        return _replace(root, operation)
    elif kind == "move":
        source, key = _locate(root, _pointer(operation, "from"))
        value = _get(source, key)
        _remove(source, key)
        _add(*_locate(root, _pointer(operation, "path")), None if value is _MISSING else value)
    elif kind == "copy":
        _copy_operation(root, operation, copied)
    elif kind == "test":
        _test(root, operation)
    else:
        raise _OperationFailed
    return root


def _pointer(operation: dict, field: str) -> str:
    value = operation.get(field)
    if not isinstance(value, str):
        raise _OperationFailed
    return value


_POINTER_ESCAPE = re.compile("~[01]")


def _locate(root: Any, pointer: str) -> tuple[dict | list, str]:
    """The container holding the pointer's last token, and that token; missing parents fail."""
    tokens = pointer.split("/")
    if len(tokens) < 2:
        raise _OperationFailed
    container = root
    for token in tokens[1:-1]:
        child = _get(container, _unescape(token))
        if not isinstance(child, dict | list):
            raise _OperationFailed
        container = child
    return container, _unescape(tokens[-1])


def _unescape(token: str) -> str:
    return _POINTER_ESCAPE.sub(lambda match: "/" if match.group() == "~1" else "~", token)


def _get(container: dict | list, key: str) -> Any:
    """A member (_MISSING when an object has no such key); a bad array index fails."""
    if isinstance(container, dict):
        return container.get(key, _MISSING)
    return container[_existing_index(container, key)]


def _array_index(key: str) -> int:
    """strconv.Atoi: optional sign, ASCII digits, within int64."""
    if not _GO_INT.fullmatch(key):
        raise _OperationFailed
    digits = key.lstrip("+-").lstrip("0") or "0"
    if len(digits) > 19:
        raise _OperationFailed
    index = -int(digits) if key[0] == "-" else int(digits)
    if not _INT64_MIN <= index <= _INT64_MAX:
        raise _OperationFailed
    return index


_GO_INT = re.compile(r"[+-]?[0-9]+")


def _existing_index(array: list, key: str) -> int:
    index = _array_index(key)
    if index < 0:
        if index < -len(array):
            raise _OperationFailed
        index += len(array)
    if index >= len(array):
        raise _OperationFailed
    return index


def _add(container: dict | list, key: str, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
        return
    if key == "-":
        container.append(value)
        return
    index = _array_index(key)
    size = len(container) + 1
    if index >= size or index < -size:
        raise _OperationFailed
    container.insert(index + size if index < 0 else index, value)


def _remove(container: dict | list, key: str) -> None:
    if isinstance(container, dict):
        if key not in container:
            raise _OperationFailed
        del container[key]
        return
    del container[_existing_index(container, key)]


def _replace(root: Any, operation: dict) -> Any:
    path = _pointer(operation, "path")
    if path == "":
        if "value" not in operation:
            raise _GoPanic
        if not isinstance(operation["value"], dict | list):
            raise _OperationFailed
        return operation["value"]
    container, key = _locate(root, path)
    if isinstance(container, dict):
        container[key] = operation.get("value")
    else:
        container[_existing_index(container, key)] = operation.get("value")
    return root


def _copy_operation(root: Any, operation: dict, copied: list[int]) -> None:
    source, key = _locate(root, _pointer(operation, "from"))
    value = _get(source, key)
    target, target_key = _locate(root, _pointer(operation, "path"))
    if value is _MISSING or value is None:
        _add(target, target_key, None)
        return
    copied[0] += len(_go_json(value).encode())
    if copied[0] > MAX_JSON_PATCH_COPY_BYTES:
        raise _OperationFailed
    _add(target, target_key, _copy(value))


def _test(root: Any, operation: dict) -> None:
    path = _pointer(operation, "path")
    expected = operation.get("value", _MISSING)
    if path == "":
        if expected is _MISSING:
            raise _GoPanic
        actual = root
    else:
        container, key = _locate(root, path)
        actual = _get(container, key)
        if actual is _MISSING or actual is None:
            if expected is _MISSING:
                raise _GoPanic
            if expected is None:
                return
            raise _OperationFailed
    if expected is _MISSING or not _json_equal(actual, expected):
        raise _OperationFailed


def _json_equal(left: Any, right: Any) -> bool:
    """Structural equality where, as in Go, 1 and 1.0 (and 1 and true) differ."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_json_equal(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    return left == right


# ---------------------------------------------------------------------------------------------------
# RFC 7386: evanphx/json-patch v4 MergePatch


def _merge_documents(document: dict, patch: dict) -> dict:
    for key, value in patch.items():
        if value is None:
            document.pop(key, None)
        elif document.get(key) is None:
            _prune_nulls(value)
            document[key] = value
        else:
            document[key] = _merge_values(document[key], value)
    return document


def _merge_values(current: Any, patch: Any) -> Any:
    if not isinstance(current, dict):
        _prune_nulls(patch)
        return patch
    if not isinstance(patch, dict):
        # The library returns a non-object patch over an object untouched, nulls and all.
        return patch
    return _merge_documents(current, patch)


def _prune_nulls(value: Any) -> None:
    """Drop null members of objects, at any depth; nulls that are array elements stay."""
    if isinstance(value, dict):
        for key in [key for key, item in value.items() if item is None]:
            del value[key]
        for item in value.values():
            _prune_nulls(item)
    elif isinstance(value, list):
        for item in value:
            _prune_nulls(item)


# ---------------------------------------------------------------------------------------------------
# Strategic merge patch: apimachinery strategicpatch (server side: parallel lists merged, nulls dropped)

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ELEMENT_ORDER = "$setElementOrder"
_DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
_PATCH_STRATEGY = "x-kubernetes-patch-strategy"
_PATCH_MERGE_KEY = "x-kubernetes-patch-merge-key"

_ERR_PRIMITIVE_LIST = "invalid patch format of primitive list"
_ERR_RETAIN_KEYS = "invalid patch format of retainKeys"
_ERR_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list"


@dataclass(frozen=True)
class _Meta:
    strategies: tuple[str, ...]
    merge_key: str

    def strategy(self) -> str:
        """The strategy besides retainKeys (which the `$retainKeys` directive itself drives)."""
        strategies = self.strategies
        if len(strategies) == 1:
            return "" if strategies[0] == "retainKeys" else strategies[0]
        if len(strategies) == 2 and "retainKeys" in strategies:
            return strategies[1] if strategies[0] == "retainKeys" else strategies[0]
        if strategies:
            raise _unknown(f"unexpected patch strategy: {_go_v(list(strategies))}")
        return ""


_NO_META = _Meta((), "")


def _resolved(node: Any, resolve: Resolve) -> dict | None:
    if not isinstance(node, dict):
        return None
    if "$ref" in node or "allOf" in node:
        return resolve(node)
    return node


@dataclass(frozen=True)
class _Schema:
    """Patch metadata from an OpenAPI v3 node; a None node describes nothing (JSON merge semantics)."""

    node: dict | None
    resolve: Resolve

    def for_map(self, key: str) -> tuple[_Schema, _Meta]:
        field = self._field(key)
        return _Schema(_resolved(field, self.resolve), self.resolve), _meta(field)

    def for_list(self, key: str) -> tuple[_Schema, _Meta]:
        field = self._field(key)
        # Like upstream's OpenAPI v3 lookup, a list field without `items` describes its items itself.
        items = field.get("items", field) if field is not None else None
        return _Schema(_resolved(items, self.resolve), self.resolve), _meta(field)

    def name(self) -> str:
        return "struct" if self.node is not None and "properties" in self.node else "map"

    def _field(self, key: str) -> dict | None:
        if self.node is None:
            return None
        properties = self.node.get("properties")
        if isinstance(properties, dict) and isinstance(properties.get(key), dict):
            return properties[key]
        extra = self.node.get("additionalProperties")
        return extra if isinstance(extra, dict) else None


def _meta(field: dict | None) -> _Meta:
    if field is None:
        return _NO_META
    strategy = field.get(_PATCH_STRATEGY)
    merge_key = field.get(_PATCH_MERGE_KEY)
    return _Meta(
        tuple(strategy.split(",")) if isinstance(strategy, str) else (),
        merge_key if isinstance(merge_key, str) else "",
    )


def _merge_map(original: dict, patch: dict, schema: _Schema) -> dict:
    if _DIRECTIVE in patch:
        return _map_directive(patch)
    _apply_retain_keys(original, patch)
    _merge_ordered_lists(original, patch, schema)
    for key, value in list(patch.items()):
        _merge_field(original, key, value, schema)
    return original


def _map_directive(patch: dict) -> dict:
    directive = patch[_DIRECTIVE]
    if directive == "replace":
        del patch[_DIRECTIVE]
        return patch
    if directive == "delete":
        return {}
    raise _unknown(f"unknown patch type: {_go_s(directive)} in map: {_go_v(patch)}")


def _merge_field(original: dict, key: str, value: Any, schema: _Schema) -> None:
    is_delete_list = key.startswith(_DELETE_FROM_PRIMITIVE_LIST)
    if is_delete_list:
        key = _strip_prefix(key, _DELETE_FROM_PRIMITIVE_LIST, _ERR_PRIMITIVE_LIST) or key
    if value is None:
        original.pop(key, None)
        return
    if key not in original or type(original[key]) is not type(value):
        if not is_delete_list:
            _take_patch_value(original, key, value)
        return
    current = original[key]
    if isinstance(current, dict):
        subschema, meta = schema.for_map(key)
        original[key] = value if meta.strategy() == "replace" else _merge_map(current, value, subschema)
    elif isinstance(current, list):
        subschema, meta = schema.for_list(key)
        original[key] = _merge_list_field(current, value, subschema, meta, is_delete_list)
    else:
        original[key] = value


def _take_patch_value(original: dict, key: str, value: Any) -> None:
    _discard_nulls(value)
    kept, keep = _remove_directives(value)
    if keep:
        original[key] = kept
    else:
        original.pop(key, None)


def _strip_prefix(key: str, prefix: str, error: str) -> str:
    head, slash, rest = key.partition("/")
    if not slash or head != prefix:
        raise bad_request(error)
    return rest


def _discard_nulls(value: Any) -> None:
    if isinstance(value, dict):
        for key in [key for key, item in value.items() if item is None]:
            del value[key]
        for item in value.values():
            _discard_nulls(item)
    elif isinstance(value, list):
        for item in value:
            _discard_nulls(item)


def _remove_directives(value: Any) -> tuple[Any, bool]:
    """The value without `$patch` maps (a map carrying one is dropped whole), and whether to keep it."""
    if isinstance(value, dict):
        if _DIRECTIVE in value:
            return None, False
        for key in list(value):
            kept, keep = _remove_directives(value[key])
            if keep:
                value[key] = kept
            else:
                del value[key]
        return value, True
    if isinstance(value, list):
        kept_items = (_remove_directives(item) for item in value)
        return [item for item, keep in kept_items if keep], True
    return value, True


def _apply_retain_keys(original: dict, patch: dict) -> None:
    if _RETAIN_KEYS not in patch:
        return
    retain = patch.pop(_RETAIN_KEYS)
    if not isinstance(retain, list):
        raise bad_request(_ERR_RETAIN_KEYS)
    retained = {_hash_key(key) for key in retain}
    for key, value in patch.items():
        if value is None or key.startswith((_DELETE_FROM_PRIMITIVE_LIST, _SET_ELEMENT_ORDER)):
            continue
        if (str, key) not in retained:
            raise bad_request(_ERR_RETAIN_KEYS)
    for key in [key for key in original if (str, key) not in retained]:
        del original[key]


def _merge_list_field(original: list, patch: list, schema: _Schema, meta: _Meta, delete_list: bool) -> list:
    if meta.strategy() == "merge" or delete_list:
        return _merge_list(original, patch, schema, meta.merge_key, delete_list)
    return patch


def _merge_list(original: list, patch: list, schema: _Schema, merge_key: str, is_delete_list: bool) -> list:
    if not original and not patch:
        return original
    of_maps = _element_type(original, patch) is dict
    if not of_maps:
        if is_delete_list:
            deleted = {_hash_key(item) for item in patch}
            return [item for item in original if _hash_key(item) not in deleted]
        merged = _deduplicate_scalars(original + patch)
    else:
        if not merge_key:
            raise _unknown(f"cannot merge lists without merge key for {schema.name()}")
        live, length, patch = _apply_list_directives(original, patch, merge_key)
        original = live[:length]
        merged = _merge_by_key(live, length, patch, merge_key, schema)
    patch_items, server_only = _partition(merged, patch, merge_key)
    return _normalize_element_order(patch_items, server_only, patch, original, merge_key, of_maps)


def _element_type(*lists: list) -> type:
    """The one type of every element; upstream refuses lists of lists and mixed lists."""
    found: type | None = None
    for items in lists:
        for item in items:
            if found is None:
                if item is None:
                    raise _GoPanic
                if isinstance(item, list):
                    raise _unprocessable()
                found = type(item)
            elif type(item) is not found:
                raise _unknown(f"list element types are not identical: {_go_v(list(lists))}")
    if found is None:
        raise _unknown("no elements in any of the given slices")
    return found


def _deduplicate_scalars(items: list) -> list:
    """Upstream's in-place deduplication, which moves the last element into each duplicate's slot."""
    length = len(items) - 1
    i = 0
    while i < length:
        j = i + 1
        while j <= length:
            if _go_eq(items[i], items[j]):
                items[j] = items[length]
                del items[length:]
                length -= 1
                j -= 1
            j += 1
        i += 1
    return items


def _apply_list_directives(live: list, patch: list, merge_key: str) -> tuple[list, int, list]:
    """Applies `$patch` items: delete drops matching originals, replace makes the patch the list.

    Returns the array now backing the list, the list's length in it, and the patch's plain items.
    Upstream deletes with `append(s[:i], s[i+1:]...)`, shifting the live list's own array, and later
    reads that array again to order `$setElementOrder` lists; `live` is shifted the same way.
    """
    length = len(live)
    plain = []
    replace = False
    for item in patch:
        if _DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[_DIRECTIVE]
        if directive == "delete":
            if merge_key not in item:
                raise _unknown(_no_merge_key(item, merge_key))
            length = _delete_matching(live, length, merge_key, item[merge_key])
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise _unknown("merging lists cannot yet be specified in the patch")
        else:
            raise _unknown(f"unknown patch type: {_go_s(directive)} in map: {_go_v(item)}")
    return (plain, len(plain), []) if replace else (live, length, plain)


def _delete_matching(live: list, length: int, merge_key: str, value: Any) -> int:
    index = 0
    while index < length:
        if _matches(live[index], merge_key, value):
            live[index : length - 1] = live[index + 1 : length]
            length -= 1
        else:
            index += 1
    return length


def _matches(item: Any, merge_key: str, value: Any) -> bool:
    return isinstance(item, dict) and merge_key in item and _go_eq(item[merge_key], value)


def _merge_by_key(live: list, length: int, patch: list, merge_key: str, schema: _Schema) -> list:
    merged = live[:length]
    for item in patch:
        if merge_key not in item:
            raise _unknown(_no_merge_key(item, merge_key))
        index = _find_by_key(merged, merge_key, item[merge_key])
        if index is None:
            if len(merged) < len(live):
                live[len(merged)] = item  # Go's append reuses a slot that a deletion freed
            merged.append(item)
        else:
            merged[index] = _merge_map(merged[index], item, schema)
    return merged


def _find_by_key(items: list, merge_key: str, value: Any) -> int | None:
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise _unknown(f"value for key {index} is not a map")
        if merge_key in item and _go_eq(item[merge_key], value):
            return index
    return None


def _partition(items: list, by: list, merge_key: str) -> tuple[list, list]:
    """Items present in `by` and the rest (server-only), each in their current order."""
    if not merge_key:
        present = {_hash_key(item) for item in by}
        flags = [_hash_key(item) in present for item in items]
    else:
        flags = [_find_by_key(by, merge_key, _merge_key_value(item, merge_key)) is not None for item in items]
    present = [item for item, flag in zip(items, flags, strict=True) if flag]
    absent = [item for item, flag in zip(items, flags, strict=True) if not flag]
    return present, absent


def _merge_key_value(item: Any, merge_key: str) -> Any:
    if not isinstance(item, dict):
        raise _unknown(_bad_arg_type({}, item))
    if merge_key not in item:
        raise _unknown(_no_merge_key(item, merge_key))
    return item[merge_key]


def _merge_ordered_lists(original: dict, patch: dict, schema: _Schema) -> None:
    """Processes each `$setElementOrder/<field>` together with the field's patch list."""
    for directive_key in [key for key in patch if key.startswith(_SET_ELEMENT_ORDER)]:
        order = patch.pop(directive_key)
        if not isinstance(order, list):
            raise _unknown(_bad_arg_type([], order))
        field = _strip_prefix(directive_key, _SET_ELEMENT_ORDER, _ERR_SET_ELEMENT_ORDER)
        original_list = _list_member(original, field)
        patch_list = _list_member(patch, field)
        subschema, meta = schema.for_list(field)
        meta.strategy()  # upstream rejects a malformed strategy before looking at the lists
        _validate_element_order(patch_list or [], order, meta.merge_key)
        if original_list is None and patch_list is None:
            continue
        if patch_list is None:
            merged = original_list
        elif original_list is None:
            merged = _remove_directives(patch_list)[0]
        else:
            merged = _merge_list_field(original_list, patch_list, subschema, meta, False)
        patch_items, server_only = _partition(merged, order, meta.merge_key)
        of_maps = _element_type(original_list or [], patch_list or []) is dict
        original[field] = _normalize_element_order(
            patch_items, server_only, order, original_list or [], meta.merge_key, of_maps
        )
        patch.pop(field, None)


def _list_member(document: dict, field: str) -> list | None:
    if field not in document:
        return None
    value = document[field]
    if not isinstance(value, list):
        raise _unknown(_bad_arg_type([], value))
    return value


def _validate_element_order(patch_list: list, order: list, merge_key: str) -> None:
    """The patch's items must appear in `order`, in the same relative order."""
    if not order or not patch_list:
        return
    items = _split_deletions(patch_list)[0] if merge_key else patch_list
    patch_index = order_index = 0
    while patch_index < len(items) and order_index < len(order):
        if isinstance(items[patch_index], dict) and _DIRECTIVE in items[patch_index]:
            patch_index += 1
            continue
        if _merge_key_equal(items[patch_index], order[order_index], merge_key):
            patch_index += 1
        order_index += 1
    if patch_index < len(items) and order_index >= len(order):
        raise _unknown(
            f"The order in patch list:\n{_go_v(patch_list)}\n doesn't match {_SET_ELEMENT_ORDER} list:\n"
            f"{_go_v(order)}\n"
        )


def _merge_key_equal(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return _go_eq(left, right)
    return _go_eq(_merge_key_value(left, merge_key), _merge_key_value(right, merge_key))


def _split_deletions(items: list) -> tuple[list, list]:
    kept, deleted = [], []
    for item in items:
        if not isinstance(item, dict):
            raise _unknown(_bad_arg_type({}, item))
        (deleted if item.get(_DIRECTIVE) == "delete" else kept).append(item)
    return kept, deleted


def _normalize_element_order(
    patch_items: list, server_only: list, patch_order: list, server_order: list, merge_key: str, of_maps: bool
) -> list:
    """Patch items in patch order, server-only items in server order, then interleaved as upstream."""
    patch_items = _sort_by(patch_items, patch_order, merge_key, of_maps)
    server_only = _sort_by(server_only, server_order, merge_key, of_maps)
    return _merge_sorted(server_only, patch_items, server_order, merge_key, of_maps)


def _sort_by(items: list, order: list, merge_key: str, of_maps: bool) -> list:
    deleted: list = []
    if of_maps:
        for item in (*items, *order):
            _merge_key_value(item, merge_key)
        items, deleted = _split_deletions(items)

    def less(left: Any, right: Any) -> bool:
        # Upstream's comparator: items absent from `order` compare as less than anything.
        left_index = _index(order, left, merge_key, of_maps)
        if left_index >= 0:
            right_index = _index(order, right, merge_key, of_maps)
            if right_index >= 0:
                return left_index < right_index
        return True

    _go_stable_sort(items, less)
    return items + deleted


def _index(items: list, item: Any, merge_key: str, of_maps: bool) -> int:
    def key_of(value: Any) -> Any:
        if not of_maps:
            return value
        return value.get(merge_key) if isinstance(value, dict) else None

    wanted = key_of(item)
    for index, candidate in enumerate(items):
        if _go_eq(wanted, key_of(candidate)):
            return index
    return -1


def _merge_sorted(left: list, right: list, server_order: list, merge_key: str, of_maps: bool) -> list:
    """Inserts server-only items (left) among patch items (right) by their place in the live list."""
    merged = []
    i = j = 0
    while i < len(left) or j < len(right):
        if i >= len(left):
            merged.append(right[j])
            j += 1
        elif j >= len(right):
            merged.append(left[i])
            i += 1
        else:
            left_index = _index(server_order, left[i], merge_key, of_maps)
            right_index = _index(server_order, right[j], merge_key, of_maps)
            if 0 <= left_index < right_index:
                merged.append(left[i])
                i += 1
            else:
                merged.append(right[j])
                j += 1
    return merged


def _strip_directives(value: Any) -> Any:
    """Upstream decodes the result into a Go struct, which drops leftover directive keys."""
    if isinstance(value, dict):
        for key in [key for key in value if _is_directive_key(key)]:
            del value[key]
        for item in value.values():
            _strip_directives(item)
    elif isinstance(value, list):
        for item in value:
            _strip_directives(item)
    return value


def _is_directive_key(key: str) -> bool:
    prefixed = key.startswith((_SET_ELEMENT_ORDER, _DELETE_FROM_PRIMITIVE_LIST))
    return prefixed or key in (_DIRECTIVE, _RETAIN_KEYS)


# ---------------------------------------------------------------------------------------------------
# Go's sort.SliceStable: insertion-sorted blocks of 20 merged by SymMerge. The exact algorithm matters
# because upstream's comparator is not a strict order for items missing from the reference list.


def _go_stable_sort(items: list, less: Callable[[Any, Any], bool]) -> None:
    size = len(items)
    block = 20
    start, end = 0, block
    while end <= size:
        _insertion_sort(items, less, start, end)
        start, end = end, end + block
    _insertion_sort(items, less, start, size)
    while block < size:
        start, end = 0, 2 * block
        while end <= size:
            _sym_merge(items, less, start, start + block, end)
            start, end = end, end + 2 * block
        if start + block < size:
            _sym_merge(items, less, start, start + block, size)
        block *= 2


def _insertion_sort(items: list, less: Callable[[Any, Any], bool], start: int, end: int) -> None:
    for i in range(start + 1, end):
        j = i
        while j > start and less(items[j], items[j - 1]):
            items[j], items[j - 1] = items[j - 1], items[j]
            j -= 1


def _sym_merge(items: list, less: Callable[[Any, Any], bool], a: int, m: int, b: int) -> None:
    if m - a == 1:
        i, j = m, b
        while i < j:
            h = (i + j) // 2
            if less(items[h], items[a]):
                i = h + 1
            else:
                j = h
        for k in range(a, i - 1):
            items[k], items[k + 1] = items[k + 1], items[k]
        return
    if b - m == 1:
        i, j = a, m
        while i < j:
            h = (i + j) // 2
            if not less(items[m], items[h]):
                i = h + 1
            else:
                j = h
        for k in range(m, i, -1):
            items[k], items[k - 1] = items[k - 1], items[k]
        return
    mid = (a + b) // 2
    n = mid + m
    start, r = (n - b, mid) if m > mid else (a, m)
    p = n - 1
    while start < r:
        c = (start + r) // 2
        if not less(items[p - c], items[c]):
            start = c + 1
        else:
            r = c
    end = n - start
    if start < m < end:
        _rotate(items, start, m, end)
    if a < start < mid:
        _sym_merge(items, less, a, start, mid)
    if mid < end < b:
        _sym_merge(items, less, mid, end, b)


def _rotate(items: list, a: int, m: int, b: int) -> None:
    i, j = m - a, b - m
    while i != j:
        if i > j:
            _swap_range(items, m - i, m, j)
            i -= j
        else:
            _swap_range(items, m - i, m + j - i, i)
            j -= i
    _swap_range(items, m - i, m, i)


def _swap_range(items: list, a: int, b: int, n: int) -> None:
    for k in range(n):
        items[a + k], items[b + k] = items[b + k], items[a + k]


# ---------------------------------------------------------------------------------------------------
# Go value semantics and formatting


def _go_eq(left: Any, right: Any) -> bool:
    """Go's == on interface{} values: different dynamic types differ; maps and slices panic."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict | list):
        raise _GoPanic
    return left == right


def _hash_key(value: Any) -> tuple[type, Any]:
    """A map key as Go would hash the interface{} value; maps and slices are unhashable (panic)."""
    if isinstance(value, dict | list):
        raise _GoPanic
    return type(value), value


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _go_json(value: Any) -> str:
    """Compact JSON escaped as Go's encoding/json escapes it (HTML characters, U+2028, U+2029)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028")):
        text = text.replace(char, escape)
    return text.replace("\u2029", "\\u2029")


def _no_merge_key(item: Any, merge_key: str) -> str:
    return f"map: {_go_v(item)} does not contain declared merge key: {merge_key}"


def _bad_arg_type(expected: Any, actual: Any) -> str:
    return f"expected a {_go_type(expected)}, but received a {_go_type(actual)}"


def _go_type(value: Any) -> str:
    if value is None:
        return "%!s(<nil>)"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    return {bool: "bool", int: "int64", float: "float64", str: "string"}[type(value)]


def _go_v(value: Any) -> str:
    """fmt's %v of a decoded JSON value."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{_go_v(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_v(item) for item in value) + "]"
    return _go_scalar(value)


def _go_s(value: Any) -> str:
    """fmt's %s of a decoded JSON value: anything but a string is a %!s(...) complaint."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{_go_s(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go_s(item) for item in value) + "]"
    if isinstance(value, str):
        return value
    if value is None:
        return "%!s(<nil>)"
    return f"%!s({_go_type(value)}={_go_scalar(value)})"


def _go_scalar(value: Any) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _go_float(value: float) -> str:
    """%v of a float64: shortest digits, exponent form below 1e-4 and from 1e+06."""
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    sign, digit_tuple, exponent = Decimal(repr(value)).as_tuple()
    all_digits = "".join(map(str, digit_tuple))
    digits = all_digits.rstrip("0")
    point = len(all_digits) + int(exponent)
    magnitude = point - 1
    prefix = "-" if sign else ""
    if magnitude < -4 or magnitude >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}e{'+' if magnitude >= 0 else '-'}{abs(magnitude):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{prefix}{digits}{'0' * (point - len(digits))}"
    return f"{prefix}{digits[:point]}.{digits[point:]}"
