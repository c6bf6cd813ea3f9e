"""Field errors as upstream's apimachinery `field.Error` renders them.

A cause is `{"reason", "message", "field"}`: the reason is the `field.ErrorType`, the message is
`ErrorBody()` and `field` the dotted path. Bad values are printed the way Go's fmt prints them, since
that text reaches users verbatim (`Invalid value: map[string]string{"a":"b"}: ...`).
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from dataclasses import dataclass
from typing import Any

Cause = dict[str, str]

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
DUPLICATE = "FieldValueDuplicate"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
FORBIDDEN = "FieldValueForbidden"
NOT_FOUND = "FieldValueNotFound"

_TITLES = {
    REQUIRED: "Required value",
    INVALID: "Invalid value",
    NOT_SUPPORTED: "Unsupported value",
    DUPLICATE: "Duplicate value",
    TOO_LONG: "Too long",
    TOO_MANY: "Too many",
    FORBIDDEN: "Forbidden",
    NOT_FOUND: "Not found",
}


@dataclass(frozen=True)
class GoLiteral:
    """A bad value already rendered as Go's `%#v` would print it (structs, typed nils)."""

    text: str


def child(path: str, *names: str) -> str:
    for name in names:
        path = f"{path}.{name}" if path else name
    return path


def index(path: str, i: int | str) -> str:
    return f"{path}[{i}]"


def _cause(reason: str, path: str, body: str) -> Cause:
    return {"reason": reason, "message": body, "field": path}


def _with_detail(head: str, detail: str) -> str:
    return f"{head}: {detail}" if detail else head


def required(path: str, detail: str = "") -> Cause:
    return _cause(REQUIRED, path, _with_detail(_TITLES[REQUIRED], detail))


def forbidden(path: str, detail: str = "") -> Cause:
    return _cause(FORBIDDEN, path, _with_detail(_TITLES[FORBIDDEN], detail))


def invalid(path: str, value: Any, detail: str = "") -> Cause:
    return _cause(INVALID, path, _with_detail(f"{_TITLES[INVALID]}: {go_value(value)}", detail))


def duplicate(path: str, value: Any, detail: str = "") -> Cause:
    return _cause(DUPLICATE, path, _with_detail(f"{_TITLES[DUPLICATE]}: {go_value(value)}", detail))


def not_found(path: str, value: Any, detail: str = "") -> Cause:
    return _cause(NOT_FOUND, path, _with_detail(f"{_TITLES[NOT_FOUND]}: {go_value(value)}", detail))


def not_supported(path: str, value: Any, supported: list[str] | tuple[str, ...]) -> Cause:
    detail = "supported values: " + ", ".join(go_quote(str(v)) for v in supported) if supported else ""
    return _cause(NOT_SUPPORTED, path, _with_detail(f"{_TITLES[NOT_SUPPORTED]}: {go_value(value)}", detail))


def too_long(path: str, max_length: int) -> Cause:
    detail = f"may not be more than {max_length} bytes" if max_length >= 0 else "value is too long"
    return _cause(TOO_LONG, path, f"{_TITLES[TOO_LONG]}: {detail}")


def too_many(path: str, actual: int, maximum: int) -> Cause:
    return _cause(TOO_MANY, path, f"{_TITLES[TOO_MANY]}: {actual}: must have at most {maximum} items")


def error_string(cause: Cause) -> str:
    """`field.Error.Error()`: the path, then the body."""
    return f"{cause.get('field', '')}: {cause.get('message', '')}"


# -- Go value printing --


def go_quote(s: str) -> str:
    """strconv.Quote: printable runes stay, the rest become escapes."""
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif _go_printable(ch):
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def _go_printable(ch: str) -> bool:
    # Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space
    return ch == " " or unicodedata.category(ch)[0] in "LMNPS"


def go_float(x: float) -> str:
    """%v of a float64. Python's shortest repr agrees with Go's except that Go keeps integral values
    below 1e21 in plain notation."""
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if x.is_integer() and abs(x) < 1e21:
        return str(int(x))
    return repr(x)


def go_value(value: Any) -> str:
    """What `field.Error.ErrorBody` prints for a bad value (%v for scalars, %q for strings, %#v else)."""
    if value is None:
        return "null"
    if isinstance(value, GoLiteral):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, dict):
        return go_string_map(value)
    if isinstance(value, list | tuple):
        return go_string_slice(list(value))
    return go_quote(str(value))


def go_string_map(value: dict | None, type_name: str = "map[string]string") -> str:
    if value is None:
        return f"{type_name}(nil)"
    items = ", ".join(f"{go_quote(str(k))}:{go_quote(str(v))}" for k, v in sorted(value.items()))
    return f"{type_name}{{{items}}}"


def go_string_slice(value: list | None, type_name: str = "[]string") -> str:
    if value is None:
        return f"{type_name}(nil)"
    return f"{type_name}{{{', '.join(go_quote(str(v)) for v in value)}}}"


def go_time(value: str | None) -> str:
    """time.Time's String() for an RFC 3339 timestamp as stored on the wire."""
    if not value:
        return "0001-01-01 00:00:00 +0000 UTC"
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    frac = f".{parsed.microsecond:06d}".rstrip("0") if parsed.microsecond else ""
    return parsed.strftime("%Y-%m-%d %H:%M:%S") + frac + " +0000 UTC"
