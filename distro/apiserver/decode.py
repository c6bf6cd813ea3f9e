"""Request-body decoding as kube-apiserver does it: Go's encoding/json (the sigs.k8s.io/json fork, case
sensitive, strict) into the typed objects, replayed over our schemas.

Type mismatches fail the request with the wording Go produces, wrapped the way the apiserver wraps
decode errors. Unknown and duplicate fields are returned in strict-decoding form for the caller to turn
into a `strict decoding error: ...` (fieldValidation=Strict) or warnings (Warn).

What Go does and this module reproduces:
- A value of the wrong JSON type is skipped and the first such error is reported after the whole body
  was read: `json: cannot unmarshal <what> into Go struct field <Struct>.<json.path> of type <GoType>`,
  where the path names JSON fields from the root and leaves out array indices and map keys.
- Types with their own JSON form (Time, MicroTime, IntOrString, Quantity) stop decoding at their first
  error, which then wins over an earlier type mismatch.
- `null` is accepted anywhere.
- Strict errors are `unknown field "<path>"` / `duplicate field "<path>"` with indices and map keys in
  the path, deduplicated, at most 100; they are only reported when the body otherwise decodes.
"""

from __future__ import annotations

import json
from typing import Any

from distro.apiserver import status
from distro.apiserver.schema import COMPONENTS, GO_TYPES, ref_name
from distro.apiserver.schema.dsl import (
    FIELDS_V1,
    INT_OR_STRING,
    META,
    MICRO_TIME,
    QUANTITY,
    RAW_EXTENSION,
    REF,
    TIME,
    go_name,
)

_MAX_STRICT = 100
# Kept as raw JSON by their UnmarshalJSON: any value is fine.
_FREE_FORM = frozenset({RAW_EXTENSION, FIELDS_V1, META + "Patch"})
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1), "uint8": (0, 255)}


def check(
    obj: Any, schema_name: str, *, kind: str, group_version: str, raw: bytes | None = None
) -> list[str]:
    """Walks a request body against the component `schema_name` the way the apiserver decodes it.

    Raises a 400 BadRequest StatusError on a type mismatch. Returns the strict-decoding errors
    (`unknown field "spec.containers[0].imagee"`, `duplicate field "metadata.name"`) in the order Go
    finds them. Duplicates are only visible in `raw`, the JSON bytes `obj` was parsed from.
    """
    tree = _parse_preserving(raw) if raw is not None else obj
    if tree is None:
        tree = obj
    walker = _Walker()
    try:
        walker.value(tree, {"$ref": REF + schema_name}, go_name(schema_name), "")
        failure = walker.saved
    except _Fatal as fatal:
        failure = str(fatal)
    if failure is not None:
        version = group_version.rpartition("/")[2]
        raise status.bad_request(f'{kind} in version "{version}" cannot be handled as a {kind}: {failure}')
    return walker.strict


# -- JSON with key order, duplicates and number literals kept --


class _Object:
    """A JSON object as its key/value pairs, duplicates included."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        self.pairs = pairs


class _Float(float):
    """A JSON number with a fraction or exponent, remembering how it was written."""

    text: str

    def __new__(cls, text: str) -> _Float:
        value = super().__new__(cls, text)
        value.text = text
        return value


def _parse_preserving(raw: bytes) -> Any:
    try:
        return json.loads(raw, object_pairs_hook=_Object, parse_float=_Float)
    except ValueError:
        return None  # not JSON: the caller already reported it; decode what it parsed


def _is_object(v: Any) -> bool:
    return isinstance(v, (dict, _Object))


def _items(v: dict | _Object) -> list[tuple[str, Any]]:
    return v.pairs if isinstance(v, _Object) else list(v.items())


def _json_kind(v: Any) -> str:
    """How Go's UnmarshalTypeError names a JSON value."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _literal(v: int | float) -> str:
    if isinstance(v, _Float):
        return v.text
    return repr(v) if isinstance(v, float) else str(v)


def _go_quote(s: str) -> str:
    """strconv.Quote for the characters field names realistically contain."""
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        elif not ch.isprintable():
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


class _Fatal(Exception):
    """A decode error that stops Go's decoder at once (from a type's own UnmarshalJSON)."""


class _Walker:
    def __init__(self) -> None:
        self.saved: str | None = None  # Go's savedError: the first type mismatch
        self.strict: list[str] = []
        self._seen_strict: set[str] = set()
        self._fields: list[str] = []  # Go's errorContext.FieldStack
        self._struct = ""  # Go's errorContext.Struct

    # -- errors --

    def _type_message(self, what: str, go: str) -> str:
        if self._fields or self._struct:
            return (
                f"json: cannot unmarshal {what} into Go struct field {self._struct}."
                f"{'.'.join(self._fields)} of type {go}"
            )
        return f"json: cannot unmarshal {what} into Go value of type {go}"

    def _save(self, message: str) -> None:
        if self.saved is None:
            self.saved = message

    def _mismatch(self, v: Any, go: str) -> None:
        self._save(self._type_message(_json_kind(v), go))

    def _strict_error(self, what: str, path: str, key: str) -> None:
        message = f"{what} {_go_quote(f'{path}.{key}' if path else key)}"
        if message not in self._seen_strict and len(self.strict) < _MAX_STRICT:
            self._seen_strict.add(message)
            self.strict.append(message)

    # -- walking --

    def value(self, v: Any, node: dict[str, Any], go: str, path: str) -> None:
        if v is None:
            return
        name = ref_name(node)
        if name:
            if not self._custom(name, v):
                self._struct_value(v, name, go, path)
            return
        kind = node.get("type")
        if kind == "array":
            self._array(v, node, go, path)
        elif kind == "object":
            if isinstance(node.get("additionalProperties"), dict):
                self._map(v, node, go, path)
            # otherwise free-form: anything goes
        elif kind in ("string", "integer", "boolean", "number"):
            self._scalar(v, node, go)

    def _struct_value(self, v: Any, component: str, go: str, path: str) -> None:
        if not _is_object(v):
            self._mismatch(v, go)
            return
        schema = COMPONENTS[component]
        if schema.get("x-kubernetes-preserve-unknown-fields"):
            return
        properties = schema.get("properties", {})
        go_types = GO_TYPES.get(component, {})
        short = component.rpartition(".")[2]
        depth, outer = len(self._fields), self._struct
        seen: set[str] = set()
        for key, item in _items(v):
            prop = properties.get(key)
            if prop is None:
                self._strict_error("unknown field", path, key)
                continue
            if key in seen:
                self._strict_error("duplicate field", path, key)
            seen.add(key)
            self._fields.append(key)
            self._struct = short
            self.value(item, prop, go_types.get(key) or _derived_go(prop), f"{path}.{key}" if path else key)
            del self._fields[depth:]
            self._struct = outer

    def _map(self, v: Any, node: dict[str, Any], go: str, path: str) -> None:
        if not _is_object(v):
            self._mismatch(v, go)
            return
        element = node["additionalProperties"]
        element_go = go.removeprefix("map[string]") if go.startswith("map[string]") else _derived_go(element)
        seen: set[str] = set()
        for key, item in _items(v):
            if key in seen:
                self._strict_error("duplicate field", path, key)
            seen.add(key)
            self.value(item, element, element_go, f"{path}.{key}" if path else key)

    def _array(self, v: Any, node: dict[str, Any], go: str, path: str) -> None:
        if not isinstance(v, list):
            self._mismatch(v, go)
            return
        element_go = go.removeprefix("[]") if go.startswith("[]") else _derived_go(node["items"])
        for i, item in enumerate(v):
            self.value(item, node["items"], element_go, f"{path}[{i}]")

    def _scalar(self, v: Any, node: dict[str, Any], go: str) -> None:
        kind = node["type"]
        if kind == "string":
            if node.get("format") == "byte":
                self._bytes(v, go)
            elif not isinstance(v, str):
                self._mismatch(v, go)
        elif kind == "boolean":
            if not isinstance(v, bool):
                self._mismatch(v, go)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            self._mismatch(v, go)
        elif kind == "integer":
            low, high = _INT_RANGES.get(node.get("format", ""), _INT_RANGES["int64"])
            if isinstance(v, float) or not low <= v <= high:
                self._save(self._type_message(f"number {_literal(v)}", go))

    def _bytes(self, v: Any, go: str) -> None:
        """[]byte: a base64 string, or (rarely) an array of small numbers."""
        if isinstance(v, str):
            bad = _base64_error_offset(v)
            if bad is not None:
                self._save(f"illegal base64 data at input byte {bad}")
        elif isinstance(v, list):
            for item in v:
                self._scalar(item, {"type": "integer", "format": "uint8"}, "uint8")
        else:
            self._mismatch(v, go)

    # -- types with their own UnmarshalJSON --

    def _custom(self, component: str, v: Any) -> bool:
        """Checks a value of a type with its own JSON form; False when the component is a plain struct."""
        if component == TIME:
            self._time(v, _RFC3339)
        elif component == MICRO_TIME:
            self._time(v, _RFC3339_MICRO)
        elif component == INT_OR_STRING:
            self._int_or_string(v)
        elif component == QUANTITY:
            self._quantity(v)
        elif component not in _FREE_FORM:
            return False
        return True

    def _time(self, v: Any, layout: str) -> None:
        if not isinstance(v, str):
            raise _Fatal(self._type_message(_json_kind(v), "string"))
        problem = _time_parse_error(v, layout)
        if problem:
            raise _Fatal(problem)

    def _int_or_string(self, v: Any) -> None:
        if isinstance(v, str):
            return
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise _Fatal(self._type_message(_json_kind(v), "int32"))
        low, high = _INT_RANGES["int32"]
        if isinstance(v, float) or not low <= v <= high:
            raise _Fatal(self._type_message(f"number {_literal(v)}", "int32"))

    def _quantity(self, v: Any) -> None:
        if isinstance(v, str):
            text = v
        elif isinstance(v, bool):
            text = "true" if v else "false"
        elif isinstance(v, (int, float)):
            text = _literal(v)
        else:
            text = "{" if _is_object(v) else "["
        problem = _quantity_error(text.strip())
        if problem:
            raise _Fatal(problem)


def _derived_go(node: dict[str, Any]) -> str:
    """The Go type of a schema node when no field-level name is recorded."""
    name = ref_name(node)
    if name:
        return go_name(name)
    kind = node.get("type")
    if kind == "array":
        return "[]" + _derived_go(node["items"])
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return "map[string]" + _derived_go(node["additionalProperties"])
    if kind == "integer":
        return node.get("format", "int64")
    if kind == "string":
        return "[]uint8" if node.get("format") == "byte" else "string"
    return {"boolean": "bool", "number": "float64"}.get(kind or "", "interface {}")


# -- encoding/base64 StdEncoding.Decode: where it first fails --

_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_NEWLINES = (ord("\n"), ord("\r"))
_PAD = ord("=")


def _base64_error_offset(text: str) -> int | None:
    """The byte offset Go's CorruptInputError reports, or None when the text decodes."""
    src = text.encode()
    end, si = len(src), 0
    while si < end:
        quantum = 0
        while quantum < 4:
            if si == end:
                return None if quantum == 0 else si - quantum
            byte = src[si]
            si += 1
            if byte in _BASE64_ALPHABET:
                quantum += 1
            elif byte in _NEWLINES:
                continue
            elif byte != _PAD or quantum < 2:
                return si - 1
            else:
                return _after_padding(src, si, quantum)
    return None


def _after_padding(src: bytes, si: int, quantum: int) -> int | None:
    end = len(src)
    if quantum == 2:  # "==" expected: the first '=' is consumed
        while si < end and src[si] in _NEWLINES:
            si += 1
        if si == end:
            return end
        if src[si] != _PAD:
            return si - 1
        si += 1
    while si < end and src[si] in _NEWLINES:
        si += 1
    return si if si < end else None


# -- time.Parse for the two layouts metav1 uses, with its error wording --

_RFC3339 = "2006-01-02T15:04:05Z07:00"
_RFC3339_MICRO = "2006-01-02T15:04:05.000000Z07:00"
# (literal prefix, layout element) pairs, as Go's nextStdChunk splits each layout
_CHUNKS = {
    _RFC3339: [("", "2006"), ("-", "01"), ("-", "02"), ("T", "15"), (":", "04"), (":", "05"), ("", "Z07:00")],
    _RFC3339_MICRO: [
        ("", "2006"),
        ("-", "01"),
        ("-", "02"),
        ("T", "15"),
        (":", "04"),
        (":", "05"),
        ("", ".000000"),
        ("", "Z07:00"),
    ],
}


class _BadTime(Exception):
    pass


def _time_quote(s: str) -> str:
    """time's own quote(): non-ASCII and control bytes as \\x escapes."""
    out = ['"']
    for ch in s:
        if ord(ch) >= 0x80 or ord(ch) < 0x20:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            out.append("\\" + ch if ch in '"\\' else ch)
    out.append('"')
    return "".join(out)


def _digit(s: str, i: int) -> bool:
    return i < len(s) and "0" <= s[i] <= "9"


def _getnum(s: str, fixed: bool) -> tuple[int, str]:
    if not _digit(s, 0):
        raise _BadTime
    if not _digit(s, 1):
        if fixed:
            raise _BadTime
        return int(s[0]), s[1:]
    return int(s[:2]), s[2:]


def _atoi(s: str) -> int:
    sign = -1 if s[:1] == "-" else 1
    digits = s[1:] if s[:1] in ("-", "+") else s
    if not all("0" <= c <= "9" for c in digits):
        raise _BadTime
    return sign * int(digits or "0")


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _parse_element(element: str, rest: str, layout_has_fraction: bool) -> tuple[str, int, str]:
    """Consumes one layout element; returns what is left, the parsed number and a range error."""
    if element == "2006":
        if len(rest) < 4:
            raise _BadTime
        return rest[4:], _atoi(rest[:4]), ""
    if element == "15":
        hour, rest = _getnum(rest, False)
        return rest, hour, "hour" if hour >= 24 else ""
    if element in ("01", "02", "04"):
        n, rest = _getnum(rest, True)
        problem = {"01": "month" if not 1 <= n <= 12 else "", "04": "minute" if n >= 60 else ""}.get(
            element, ""
        )
        return rest, n, problem
    if element == "05":
        sec, rest = _getnum(rest, True)
        if sec >= 60:
            return rest, sec, "second"
        if not layout_has_fraction and len(rest) >= 2 and rest[0] in ".," and _digit(rest, 1):
            n = 2
            while _digit(rest, n):
                n += 1
            rest = rest[n:]
        return rest, sec, ""
    if element == ".000000":
        if len(rest) < 7 or rest[0] not in ".," or not all("0" <= c <= "9" for c in rest[1:7]):
            raise _BadTime
        return rest[7:], 0, ""
    return _parse_zone(rest)


def _parse_zone(rest: str) -> tuple[str, int, str]:
    if rest[:1] == "Z":
        return rest[1:], 0, ""
    if len(rest) < 6 or rest[3] != ":":
        raise _BadTime
    sign, hours, minutes, rest = rest[0], rest[1:3], rest[4:6], rest[6:]
    hour, _ = _getnum(hours, True)
    minute, _ = _getnum(minutes, True)
    problem = "time zone offset minute" if minute > 60 else "time zone offset hour" if hour > 24 else ""
    if not problem and sign not in "+-":
        raise _BadTime
    return rest, 0, problem


def _time_parse_error(value: str, layout: str) -> str:
    """The message of Go's time.Parse(layout, value) error; "" when it parses."""
    head = f"parsing time {_time_quote(value)}"

    def cannot_parse(rest: str, element: str) -> str:
        return f"{head} as {_time_quote(layout)}: cannot parse {_time_quote(rest)} as {_time_quote(element)}"

    rest = value
    parsed: dict[str, int] = {}
    for prefix, element in _CHUNKS[layout]:
        if not rest.startswith(prefix):  # every literal is one byte: nothing of it was consumed
            return cannot_parse(rest, prefix)
        rest = hold = rest[len(prefix) :]
        try:
            rest, number, problem = _parse_element(element, rest, ".000000" in layout)
        except _BadTime:
            return cannot_parse(hold, element)
        if problem:
            return f"{head}: {problem} out of range"
        parsed[element] = number
    if rest:
        return f"{head}: extra text: {_time_quote(rest)}"
    if not 1 <= parsed["02"] <= _days_in(parsed["01"], parsed["2006"]):
        return f"{head}: day out of range"
    return ""


# -- resource.ParseQuantity's error cases --

_QUANTITY_FORMAT = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
_QUANTITY_NUMERIC = "unable to parse numeric part of quantity"
_QUANTITY_SUFFIX = "unable to parse quantity's suffix"
_SUFFIX_LETTERS = frozenset("eEinumkKMGTP")
_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY_SUFFIXES = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}


def _scan_digits(s: str, i: int) -> int:
    while i < len(s) and "0" <= s[i] <= "9":
        i += 1
    return i


def _split_quantity(s: str) -> tuple[str, str, str, str] | None:
    """(value, num, denom, suffix) as parseQuantityString splits them; None on a format error."""
    pos = 1 if s[:1] in ("-", "+") else 0
    while pos < len(s) and s[pos] == "0":
        pos += 1
    end = _scan_digits(s, pos)
    num = s[pos:end] or "0"
    if end == len(s):
        return s, num, "", ""
    denom = ""
    if s[end] == ".":
        denom_end = _scan_digits(s, end + 1)
        denom = s[end + 1 : denom_end]
        if denom_end == len(s):
            return s, num, denom, ""
        end = denom_end
    value, suffix_start = s[:end], end
    while end < len(s) and s[end] in _SUFFIX_LETTERS:
        end += 1
    if end < len(s) and s[end] in "+-":
        end += 1
    if _scan_digits(s, end) != len(s):
        return None
    return value, num, denom, s[suffix_start:]


def _quantity_error(s: str) -> str:
    """The message of resource.ParseQuantity's error for the text; "" when it parses."""
    if s == "":
        return _QUANTITY_FORMAT
    if s == "0":
        return ""
    split = _split_quantity(s)
    if split is None:
        return _QUANTITY_FORMAT
    value, num, denom, suffix = split
    if suffix in _DECIMAL_SUFFIXES:
        binary, exponent = False, _DECIMAL_SUFFIXES[suffix]
    elif suffix in _BINARY_SUFFIXES:
        binary, exponent = True, _BINARY_SUFFIXES[suffix]
    elif len(suffix) > 1 and suffix[0] in "eE" and _is_int64(suffix[1:]):
        binary, exponent = False, int(suffix[1:])
    else:
        return _QUANTITY_SUFFIX
    if binary:
        precision = 15 - len(num) - int(exponent * 3 / 10) - 1 if not denom else -1
        scale = 0
    else:
        precision, scale = 18 - len(num) - len(denom), exponent
    fast_path = precision >= 0 and scale - len(denom) >= -9
    if not fast_path and not any("0" <= c <= "9" for c in value):
        return _QUANTITY_NUMERIC
    return ""


def _is_int64(s: str) -> bool:
    digits = s[1:] if s[:1] in ("+", "-") else s
    return digits.isascii() and digits.isdigit() and -(2**63) <= int(s) < 2**63


def prune(obj: Any, schema_name: str) -> None:
    """Drops the fields the schema does not declare, in place: a Go server decodes into typed structs,
    so unknown fields (reported or warned about by `check`) never reach storage."""
    _prune_struct(obj, schema_name)


def _prune_struct(v: Any, component: str) -> None:
    if not isinstance(v, dict):
        return
    schema = COMPONENTS.get(component)
    if schema is None or schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    properties = schema.get("properties")
    if properties is None:
        return
    for key in [k for k in v if k not in properties]:
        del v[key]
    for key, item in v.items():
        _prune_value(item, properties[key])


def _prune_value(v: Any, node: dict[str, Any]) -> None:
    if v is None:
        return
    name = ref_name(node)
    if name:
        _prune_struct(v, name)
    elif node.get("type") == "array" and isinstance(v, list) and isinstance(node.get("items"), dict):
        for item in v:
            _prune_value(item, node["items"])
    elif (
        node.get("type") == "object"
        and isinstance(v, dict)
        and isinstance(node.get("additionalProperties"), dict)
    ):
        for item in v.values():
            _prune_value(item, node["additionalProperties"])
