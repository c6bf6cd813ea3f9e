"""Label and field selectors with upstream's grammar, canonical strings, matching and error text.

Label selectors follow k8s.io/apimachinery/pkg/labels (the `labelSelector` query parameter and
metav1.LabelSelector); field selectors follow pkg/fields plus the per-kind field label conversion that
kube-apiserver applies before listing. Error messages are upstream's, byte for byte where reachable,
because clients and users match on them.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from distro.apiserver import status
from distro.apiserver.registry import ResourceDef

# upstream's selection.Operator values; they appear verbatim in error messages
_IN, _NOT_IN, _EQUALS, _DOUBLE_EQUALS, _NOT_EQUALS = "in", "notin", "=", "==", "!="
_EXISTS, _DOES_NOT_EXIST, _GREATER_THAN, _LESS_THAN = "exists", "!", "gt", "lt"
_BINARY_OPERATORS = (_IN, _NOT_IN, _EQUALS, _DOUBLE_EQUALS, _NOT_EQUALS, _GREATER_THAN, _LESS_THAN)
_OPERATOR_SYMBOLS = {
    _EQUALS: "=",
    _DOUBLE_EQUALS: "==",
    _NOT_EQUALS: "!=",
    _GREATER_THAN: ">",
    _LESS_THAN: "<",
}
_LABEL_SELECTOR_OPERATORS = {"In": _IN, "NotIn": _NOT_IN, "Exists": _EXISTS, "DoesNotExist": _DOES_NOT_EXIST}


class _SelectorError(Exception):
    """A parse or validation failure whose text is upstream's error string."""


# ---------------------------------------------------------------------------------------------------------
# Go formatting, so messages read exactly like upstream's fmt output


_GO_ESCAPES = {
    "\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t", "\v": r"\v",
    '"': '\\"', "\\": "\\\\",
}  # fmt: skip


def _go_quote(text: str) -> str:
    """Go's %q of a string (strconv.Quote)."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _go_string_slice(values: list[str]) -> str:
    """Go's %#v of a []string; the empty slices that reach a message are always nil upstream."""
    if not values:
        return "[]string(nil)"
    return "[]string{" + ", ".join(_go_quote(v) for v in values) + "}"


def _invalid(path: str, shown_value: str, detail: str) -> str:
    """field.Invalid(...).Error()."""
    return f"{path}: Invalid value: {shown_value}: {detail}"


def _aggregate(messages: list[str]) -> str:
    """utilerrors.Aggregate.Error(): one message alone, several as `[a, b]`, duplicates dropped."""
    unique = list(dict.fromkeys(messages))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


def _byte_len(text: str) -> int:
    # Go measures strings in bytes
    return len(text.encode("utf-8", "surrogatepass"))


_INT_RE = re.compile(r"[+-]?[0-9]+")  # ASCII digits only, no underscores: base 10 as Go parses it


def _parse_int64(text: str) -> int | None:
    """strconv.ParseInt(text, 10, 64), None where Go returns an error."""
    if not _INT_RE.fullmatch(text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


# ---------------------------------------------------------------------------------------------------------
# k8s.io/apimachinery/pkg/util/validation: label keys and values

_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character"
)
_LABEL_VALUE_FMT = f"({_QNAME_FMT})?"
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character"
)
_DNS_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN_FMT = _DNS_LABEL_FMT + "(\\." + _DNS_LABEL_FMT + ")*"
_DNS_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character"
)
_QNAME_RE = re.compile(_QNAME_FMT)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)
_DNS_SUBDOMAIN_RE = re.compile(_DNS_SUBDOMAIN_FMT)


def _regex_error(message: str, fmt: str, *examples: str) -> str:
    # upstream's layout, including the double space before each "or"
    shown = "".join((" or " if i else "") + f"'{example}', " for i, example in enumerate(examples))
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def _dns1123_subdomain_errors(value: str) -> list[str]:
    errors = []
    if _byte_len(value) > 253:
        errors.append("must be no more than 253 characters")
    if not _DNS_SUBDOMAIN_RE.fullmatch(value):
        errors.append(_regex_error(_DNS_SUBDOMAIN_MSG, _DNS_SUBDOMAIN_FMT, "example.com"))
    return errors


def _qualified_name_errors(value: str) -> list[str]:
    """validation.IsQualifiedName: an optional DNS subdomain prefix and '/', then a name of <= 63 chars."""
    parts = value.split("/")
    if len(parts) > 2:
        rule = _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
        prefix_hint = "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        return [f"a qualified name {rule} {prefix_hint}"]
    errors = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors.extend("prefix part " + e for e in _dns1123_subdomain_errors(prefix))
    if not name:
        errors.append("name part must be non-empty")
    elif _byte_len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    if not _QNAME_RE.fullmatch(name):
        errors.append("name part " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errors


def _label_value_errors(value: str) -> list[str]:
    errors = []
    if _byte_len(value) > 63:
        errors.append("must be no more than 63 characters")
    if not _LABEL_VALUE_RE.fullmatch(value):
        errors.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errors


# ---------------------------------------------------------------------------------------------------------
# label selectors


@dataclass(frozen=True, slots=True)
class _Requirement:
    key: str
    op: str
    values: tuple[str, ...]

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.op in (_IN, _EQUALS, _DOUBLE_EQUALS):
            return present and labels[self.key] in self.values
        if self.op in (_NOT_IN, _NOT_EQUALS):
            return not present or labels[self.key] not in self.values
        if self.op == _EXISTS:
            return present
        if self.op == _DOES_NOT_EXIST:
            return not present
        return present and self._compares(labels[self.key])

    def _compares(self, label_value: str) -> bool:
        """gt/lt: both sides must be int64s, otherwise the requirement does not match."""
        have = _parse_int64(label_value)
        want = _parse_int64(self.values[0]) if len(self.values) == 1 else None
        if have is None or want is None:
            return False
        return have > want if self.op == _GREATER_THAN else have < want

    def __str__(self) -> str:
        if self.op == _EXISTS:
            return self.key
        if self.op == _DOES_NOT_EXIST:
            return "!" + self.key
        # values print sorted, whatever order they were given in
        values = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if self.op in (_IN, _NOT_IN):
            return f"{self.key} {self.op} ({values})"
        return f"{self.key}{_OPERATOR_SYMBOLS[self.op]}{values}"


def _new_requirement(key: str, op: str, values: list[str]) -> _Requirement:
    """labels.NewRequirement: every rule checked, all failures reported together."""
    errors = []
    key_errors = _qualified_name_errors(key)
    if key_errors:
        errors.append(_invalid("key", _go_quote(key), "; ".join(key_errors)))
    errors.extend(_operator_value_errors(op, values))
    for i, value in enumerate(values):
        value_errors = _label_value_errors(value)
        if value_errors:
            errors.append(_invalid(f"values[{i}][{key}]", _go_quote(value), "; ".join(value_errors)))
    if errors:
        raise _SelectorError(_aggregate(errors))
    return _Requirement(key, op, tuple(values))


def _operator_value_errors(op: str, values: list[str]) -> list[str]:
    shown = _go_string_slice(values)
    if op in (_IN, _NOT_IN) and not values:
        return [_invalid("values", shown, "for 'in', 'notin' operators, values set can't be empty")]
    if op in (_EQUALS, _DOUBLE_EQUALS, _NOT_EQUALS) and len(values) != 1:
        return [_invalid("values", shown, "exact-match compatibility requires one single value")]
    if op in (_EXISTS, _DOES_NOT_EXIST) and values:
        return [_invalid("values", shown, "values set must be empty for exists and does not exist")]
    if op not in (_GREATER_THAN, _LESS_THAN):
        return []
    errors = []
    if len(values) != 1:
        errors.append(_invalid("values", shown, "for 'Gt', 'Lt' operators, exactly one value is required"))
    for i, value in enumerate(values):
        if _parse_int64(value) is None:
            errors.append(
                _invalid(
                    f"values[{i}]", _go_quote(value), "for 'Gt', 'Lt' operators, the value must be an integer"
                )
            )
    return errors


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """An AND of requirements, kept sorted by key as upstream does; `nothing` is labels.Nothing()."""

    requirements: tuple[_Requirement, ...] = ()
    nothing: bool = False

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        present = labels or {}
        return all(r.matches(present) for r in self.requirements)

    @property
    def empty(self) -> bool:
        """True when the selector matches everything."""
        return not self.nothing and not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def _sorted_selector(requirements: list[_Requirement]) -> LabelSelector:
    # stable, like upstream's sort for the short lists selectors are
    return LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))


class _Tok(enum.Enum):
    ERROR = enum.auto()
    END = enum.auto()
    CLOSE_PAREN = enum.auto()
    COMMA = enum.auto()
    NOT = enum.auto()
    DOUBLE_EQUALS = enum.auto()
    EQUALS = enum.auto()
    GREATER_THAN = enum.auto()
    IDENTIFIER = enum.auto()
    IN = enum.auto()
    LESS_THAN = enum.auto()
    NOT_EQUALS = enum.auto()
    NOT_IN = enum.auto()
    OPEN_PAREN = enum.auto()


_SYMBOL_TOKENS = {
    ")": _Tok.CLOSE_PAREN, ",": _Tok.COMMA, "!": _Tok.NOT, "==": _Tok.DOUBLE_EQUALS, "=": _Tok.EQUALS,
    ">": _Tok.GREATER_THAN, "<": _Tok.LESS_THAN, "!=": _Tok.NOT_EQUALS, "(": _Tok.OPEN_PAREN,
}  # fmt: skip
_KEYWORD_TOKENS = {"in": _Tok.IN, "notin": _Tok.NOT_IN}
_OPERATOR_TOKENS = {
    _Tok.IN: _IN, _Tok.EQUALS: _EQUALS, _Tok.DOUBLE_EQUALS: _DOUBLE_EQUALS, _Tok.GREATER_THAN: _GREATER_THAN,
    _Tok.LESS_THAN: _LESS_THAN, _Tok.NOT_IN: _NOT_IN, _Tok.NOT_EQUALS: _NOT_EQUALS,
}  # fmt: skip
_SPECIAL_CHARS = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")
# upstream's lexer reads a NUL byte exactly like the end of the input
_NUL = "\0"

_Token = tuple[_Tok, str]


def _scan(text: str) -> list[_Token]:
    """The lexer: every token up to and including END."""
    tokens: list[_Token] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= len(text) or text[pos] == _NUL:
            tokens.append((_Tok.END, ""))
            return tokens
        scan = _scan_symbol if text[pos] in _SPECIAL_CHARS else _scan_word
        token, pos = scan(text, pos)
        tokens.append(token)


def _scan_word(text: str, pos: int) -> tuple[_Token, int]:
    start = pos
    while pos < len(text) and text[pos] not in _SPECIAL_CHARS and text[pos] not in _WHITESPACE:
        if text[pos] == _NUL:
            return _word_token(text[start:pos]), pos + 1  # the NUL ends the word and is consumed
        pos += 1
    return _word_token(text[start:pos]), pos


def _word_token(word: str) -> _Token:
    return _KEYWORD_TOKENS.get(word, _Tok.IDENTIFIER), word


def _scan_symbol(text: str, pos: int) -> tuple[_Token, int]:
    """The longest run of special characters that still spells an operator, as upstream's lexer."""
    buffer = ""
    found: _Token | None = None
    while pos < len(text):
        ch = text[pos]
        if ch == _NUL:
            pos += 1
            break
        if ch not in _SPECIAL_CHARS:
            break
        buffer += ch
        if buffer in _SYMBOL_TOKENS:
            found = (_SYMBOL_TOKENS[buffer], buffer)
        elif found is not None:
            break
        pos += 1
    if found is None:
        return (_Tok.ERROR, f"error expected: keyword found '{buffer}'"), pos
    return found, pos


class _LabelParser:
    """Upstream's recursive-descent parser: same lookahead, same contexts, same messages."""

    def __init__(self, text: str) -> None:
        self._tokens = _scan(text)
        self._position = 0

    def _peek(self, as_value: bool = True) -> _Token:
        tok, literal = self._tokens[min(self._position, len(self._tokens) - 1)]
        # 'in' and 'notin' are plain identifiers anywhere but the operator position
        if as_value and tok in (_Tok.IN, _Tok.NOT_IN):
            tok = _Tok.IDENTIFIER
        return tok, literal

    def _take(self, as_value: bool = True) -> _Token:
        token = self._peek(as_value)
        self._position += 1
        return token

    def parse(self) -> list[_Requirement]:
        requirements: list[_Requirement] = []
        while True:
            tok, literal = self._peek()
            if tok is _Tok.END:
                return requirements
            if tok not in (_Tok.IDENTIFIER, _Tok.NOT):
                raise _SelectorError(f"found '{literal}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self._requirement())
            except _SelectorError as e:
                raise _SelectorError(f"unable to parse requirement: {e}") from None
            tok, literal = self._take()
            if tok is _Tok.END:
                return requirements
            if tok is not _Tok.COMMA:
                raise _SelectorError(f"found '{literal}', expected: ',' or 'end of string'")
            following, following_literal = self._peek()
            if following not in (_Tok.IDENTIFIER, _Tok.NOT):
                raise _SelectorError(f"found '{following_literal}', expected: identifier after ','")

    def _requirement(self) -> _Requirement:
        key, op = self._key_and_inferred_operator()
        if op in (_EXISTS, _DOES_NOT_EXIST):
            return _new_requirement(key, op, [])
        op = self._operator()
        values = self._value_set() if op in (_IN, _NOT_IN) else self._exact_value()
        return _new_requirement(key, op, sorted(values))

    def _key_and_inferred_operator(self) -> tuple[str, str | None]:
        op = None
        tok, literal = self._take()
        if tok is _Tok.NOT:
            op = _DOES_NOT_EXIST
            tok, literal = self._take()
        if tok is not _Tok.IDENTIFIER:
            raise _SelectorError(f"found '{literal}', expected: identifier")
        key_errors = _qualified_name_errors(literal)
        if key_errors:
            # upstream validates with a nil field path here, which prints as <nil>
            raise _SelectorError(_invalid("<nil>", _go_quote(literal), "; ".join(key_errors)))
        following, _ = self._peek()
        if op is None and following in (_Tok.END, _Tok.COMMA):
            op = _EXISTS
        return literal, op

    def _operator(self) -> str:
        tok, literal = self._take(as_value=False)
        if tok not in _OPERATOR_TOKENS:
            raise _SelectorError(f"found '{literal}', expected: {', '.join(_BINARY_OPERATORS)}")
        return _OPERATOR_TOKENS[tok]

    def _value_set(self) -> set[str]:
        tok, literal = self._take()
        if tok is not _Tok.OPEN_PAREN:
            raise _SelectorError(f"found '{literal}' expected: '('")
        tok, literal = self._peek()
        if tok is _Tok.CLOSE_PAREN:
            self._take()
            return {""}
        if tok not in (_Tok.IDENTIFIER, _Tok.COMMA):
            raise _SelectorError(f"found '{literal}', expected: ',', ')' or identifier")
        values = self._identifier_list()
        if self._take()[0] is not _Tok.CLOSE_PAREN:
            raise _SelectorError(f"found '{literal}', expected: ')'")
        return values

    def _identifier_list(self) -> set[str]:
        """Comma-separated, possibly empty identifiers: `(a,,b)` and `(,a)` hold the empty string."""
        values: set[str] = set()
        while True:
            tok, literal = self._take()
            if tok is _Tok.IDENTIFIER:
                values.add(literal)
                following, following_literal = self._peek()
                if following is _Tok.CLOSE_PAREN:
                    return values
                if following is not _Tok.COMMA:
                    raise _SelectorError(f"found '{following_literal}', expected: ',' or ')'")
            elif tok is _Tok.COMMA:
                if not values:
                    values.add("")
                following, _ = self._peek()
                if following is _Tok.CLOSE_PAREN:
                    values.add("")
                    return values
                if following is _Tok.COMMA:
                    self._take()
                    values.add("")
            else:
                raise _SelectorError(f"found '{literal}', expected: ',', or identifier")

    def _exact_value(self) -> set[str]:
        tok, _ = self._peek()
        if tok in (_Tok.END, _Tok.COMMA):
            return {""}
        tok, literal = self._take()
        if tok is not _Tok.IDENTIFIER:
            raise _SelectorError(f"found '{literal}', expected: identifier")
        return {literal}


def parse_label_selector(text: str) -> LabelSelector:
    """The `labelSelector` query parameter; a malformed one is a 400 with upstream's message."""
    try:
        requirements = _LabelParser(text).parse()
    except _SelectorError as e:
        raise status.bad_request(str(e)) from None
    return _sorted_selector(requirements)


def label_selector_from_dict(selector: Mapping[str, Any] | None) -> LabelSelector:
    """metav1.LabelSelectorAsSelector: None selects nothing, {} everything; bad input is a ValueError."""
    if selector is None:
        return LabelSelector(nothing=True)
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    try:
        requirements = [
            _new_requirement(k, _EQUALS, [_string(match_labels[k])]) for k in sorted(match_labels)
        ]
        requirements.extend(_expression_requirement(expression) for expression in expressions)
    except _SelectorError as e:
        raise ValueError(str(e)) from None
    return _sorted_selector(requirements)


def _expression_requirement(expression: Mapping[str, Any]) -> _Requirement:
    operator = expression.get("operator") or ""
    op = _LABEL_SELECTOR_OPERATORS.get(operator)
    if op is None:
        raise _SelectorError(f"{_go_quote(str(operator))} is not a valid label selector operator")
    values = [_string(v) for v in expression.get("values") or []]
    return _new_requirement(_string(expression.get("key") or ""), op, values)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _SelectorError(f"label selector keys and values must be strings, got {value!r}")
    return value


# ---------------------------------------------------------------------------------------------------------
# field selectors

_META_FIELDS = frozenset({"metadata.name", "metadata.namespace"})
# kinds whose upstream scheme registers its own field label conversion (its message differs from the
# default one every other kind gets)
_KINDS_WITH_FIELD_LABEL_CONVERSION = frozenset(
    {"Pod", "Node", "ReplicationController", "Event", "Namespace", "Secret", "Service"}
)
# old v1 clients send spec.host; upstream's Pod conversion still renames it
_FIELD_LABEL_ALIASES = {("Pod", "spec.host"): "spec.nodeName"}


@dataclass(frozen=True, slots=True)
class _FieldTerm:
    field: str
    value: str
    negated: bool

    def matches(self, fields: Mapping[str, str]) -> bool:
        # a field the object does not have reads as the empty string
        return (fields.get(self.field, "") == self.value) != self.negated

    def __str__(self) -> str:
        return f"{self.field}{'!=' if self.negated else '='}{_escape_field_value(self.value)}"


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """An AND of field=value / field!=value terms, in upstream's (sorted) order."""

    terms: tuple[_FieldTerm, ...] = ()

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(term.matches(fields) for term in self.terms)

    def exact(self, field: str) -> str | None:
        """The value the selector requires `field` to equal, if it requires one (for index lookups)."""
        for term in self.terms:
            if term.field == field and not term.negated:
                return term.value
        return None

    @property
    def empty(self) -> bool:
        return not self.terms

    def __str__(self) -> str:
        return ",".join(str(term) for term in self.terms)


def _escape_field_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not backslash-escaped; the escapes stay in the terms."""
    if not text:
        return []
    terms, start, escaped = [], 0, False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    """The first operator splits the term: the field part has no escaping. `==` is tried before `=`."""
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def _unescape_field_value(value: str) -> str:
    out: list[str] = []
    escaped = False
    for ch in value:
        if escaped:
            if ch not in "\\,=":
                raise _SelectorError(f"invalid field selector: invalid escape sequence: \\{ch}")
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",=":
            # upstream prints the rune with %v, i.e. as its code point number
            raise _SelectorError(f"invalid field selector: unescaped character in value: {ord(ch)}")
        else:
            out.append(ch)
    if escaped:
        raise _SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _parse_field_terms(text: str) -> list[_FieldTerm]:
    terms = []
    for part in sorted(_split_terms(text)):
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise _SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, raw_value = split
        terms.append(_FieldTerm(field, _unescape_field_value(raw_value), negated=op == "!="))
    return terms


def _convert_field_label(term: _FieldTerm, allowed: frozenset[str], kind_label: str) -> _FieldTerm:
    field = _FIELD_LABEL_ALIASES.get((kind_label, term.field), term.field)
    if field in allowed:
        return replace(term, field=field)
    if kind_label in _KINDS_WITH_FIELD_LABEL_CONVERSION or not allowed <= _META_FIELDS:
        raise _SelectorError(f"field label not supported: {term.field}")
    raise _SelectorError(
        f'{_go_quote(term.field)} is not a known field selector: only "metadata.name", "metadata.namespace"'
    )


def parse_field_selector(text: str, allowed: Iterable[str], kind_label: str = "") -> FieldSelector:
    """The `fieldSelector` query parameter, checked against the fields the resource supports.

    `kind_label` is the resource's Kind: it picks upstream's message for an unsupported field (kinds with
    their own field label conversion say `field label not supported: X`, the rest name the two metadata
    fields) and applies that kind's aliases. Malformed text or an unsupported field is a 400.
    """
    allowed_fields = frozenset(allowed)
    try:
        # upstream parses everything before it converts any field, so syntax errors win
        terms = _parse_field_terms(text)
        converted = [_convert_field_label(term, allowed_fields, kind_label) for term in terms]
    except _SelectorError as e:
        raise status.bad_request(str(e)) from None
    return FieldSelector(tuple(converted))


# ---------------------------------------------------------------------------------------------------------
# the field set of an object (upstream's per-kind ToSelectableFields)


def _dig(obj: Mapping[str, Any], path: str) -> Any:
    node: Any = obj
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _field_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return value if isinstance(value, str) else ""


def _false_unless_true(value: Any) -> str:
    # Go bools that the object omits are false, and print as such
    return "true" if value is True else "false"


def _pod_ip(pod: Mapping[str, Any]) -> str:
    """Upstream reads the internal podIPs[0], which v1 conversion takes from podIP when that is set."""
    pod_ip = _dig(pod, "status.podIP")
    if isinstance(pod_ip, str) and pod_ip:
        return pod_ip
    pod_ips = _dig(pod, "status.podIPs")
    if isinstance(pod_ips, list) and pod_ips and isinstance(pod_ips[0], Mapping):
        return _field_string(pod_ips[0].get("ip"))
    return ""


def _event_source(event: Mapping[str, Any]) -> str:
    # events written through events.k8s.io have no source.component, only the reporting controller
    return _field_string(_dig(event, "source.component")) or _field_string(event.get("reportingComponent"))


_FIELD_EXTRACTORS: dict[tuple[str, str, str], Callable[[Mapping[str, Any]], str]] = {
    ("", "Pod", "spec.hostNetwork"): lambda pod: _false_unless_true(_dig(pod, "spec.hostNetwork")),
    ("", "Pod", "status.podIP"): _pod_ip,
    # accepted by upstream's field label conversion but missing from the pod field set, so it is always
    # empty: only `status.podIPs=` matches
    ("", "Pod", "status.podIPs"): lambda _pod: "",
    ("", "Node", "spec.unschedulable"): lambda node: _false_unless_true(_dig(node, "spec.unschedulable")),
    ("", "Event", "source"): _event_source,
}


def object_fields(rd: ResourceDef, obj: Mapping[str, Any]) -> dict[str, str]:
    """The fields a field selector sees on `obj`: metadata.name, metadata.namespace for namespaced kinds,
    and the resource's selectable fields formatted as upstream formats them (missing is "")."""
    metadata = obj.get("metadata") or {}
    fields = {"metadata.name": _field_string(metadata.get("name"))}
    if rd.namespaced:
        fields["metadata.namespace"] = _field_string(metadata.get("namespace"))
    for field in rd.selectable_fields:
        extract = _FIELD_EXTRACTORS.get((rd.group, rd.kind, field))
        fields[field] = extract(obj) if extract else _field_string(_dig(obj, field))
    return fields


def object_predicate(
    rd: ResourceDef, label_selector: str, field_selector: str
) -> Callable[[Mapping[str, Any]], bool] | None:
    """A list/watch request's selectors as one test on objects; None when there are none (matches all)."""
    labels = parse_label_selector(label_selector) if label_selector else None
    fields = (
        parse_field_selector(field_selector, rd.field_selector_fields, rd.kind) if field_selector else None
    )
    if labels is None and fields is None:
        return None

    def matches(obj: Mapping[str, Any]) -> bool:
        if labels is not None and not labels.matches((obj.get("metadata") or {}).get("labels")):
            return False
        return fields is None or fields.matches(object_fields(rd, obj))

    return matches


# fields the watch cache indexes watchers by (every kubelet watches its own pods by spec.nodeName)
_INDEXED_FIELDS = ("spec.nodeName", "metadata.name")


def index_hint(rd: ResourceDef, field_selector: str) -> tuple[str, str] | None:
    """(field, value) when the selector pins an indexed field to one value, so a watch can be
    dispatched through the cache's index instead of being tried on every event."""
    if not field_selector:
        return None
    fields = parse_field_selector(field_selector, rd.field_selector_fields, rd.kind)
    for field in _INDEXED_FIELDS:
        value = fields.exact(field)
        if value is not None:
            return (field, value)
    return None
