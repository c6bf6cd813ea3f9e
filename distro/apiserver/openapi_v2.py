"""GET /openapi/v2: one Swagger 2.0 document for the whole server, as JSON or as the gnostic
`openapi.v2.Document` protobuf, derived from the /openapi/v3 documents the way kube-apiserver's v2 differs
from its v3: `#/definitions/` references, plain `$ref` instead of single-element `allOf`, no defaults in
definitions (upstream prunes them), `type: string` for int-or-string and quantity, body parameters, and
consumes/produces lists on every operation.

kubectl reads it when client-side validation is the only validation left: a `kind: List` manifest (the
v3-based field validation check never covers List) is checked item by item against these definitions,
and a 404 here fails `kubectl apply/create -f` outright.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from distro.apiserver.openapi import OpenAPIV3

Doc = dict[str, Any]

JSON = "application/json"
PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
# what client-go's discovery client asks for; answered with the non-deprecated name, as upstream does
PROTOBUF_DEPRECATED = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
_V3_REF = "#/components/schemas/"
_V2_REF = "#/definitions/"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


@dataclass(frozen=True, slots=True)
class Served:
    """One answer of the /openapi/v2 endpoint."""

    status: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True, slots=True)
class _Encoded:
    gzipped: bytes
    etag: str
    last_modified: str


class OpenAPIV2:
    """Serves GET /openapi/v2.

    The document is built on the first request for an encoding, and only that encoding is kept, gzipped
    (kubectl only ever asks for protobuf and accepts gzip, as Go clients do): the parsed document is many
    times larger and is dropped at once. Each encoding's ETag is the SHA-512 of its own bytes; upstream
    reuses the JSON one for protobuf, which would mean building the JSON just to hash it.
    """

    def __init__(self, v3: OpenAPIV3) -> None:
        self._v3 = v3
        self._encoded: dict[str, _Encoded] = {}

    def document(self) -> Doc:
        """The Swagger 2.0 document as JSON-like data (built afresh; not cached)."""
        return _build_document(self._v3)

    def serve(
        self, accept: str | None, accept_encoding: str | None = None, if_none_match: str | None = None
    ) -> Served:
        """The answer to a GET with these request headers: 200 (gzipped when the client accepts gzip),
        304 when If-None-Match names the current ETag, 406 when no offered media type is acceptable."""
        headers = {"Vary": "Accept, Accept-Encoding"}
        chosen = _negotiate(accept)
        if chosen is None:
            return Served(406, b"", headers)
        encoded = self._encoding(chosen)
        headers |= {
            "Content-Type": chosen,
            "Etag": f'"{encoded.etag}"',
            "Last-Modified": encoded.last_modified,
        }
        if if_none_match and _etag_matches(if_none_match, encoded.etag):
            return Served(304, b"", headers)
        if _accepts_gzip(accept_encoding):
            headers["Content-Encoding"] = "gzip"
            return Served(200, encoded.gzipped, headers)
        return Served(200, gzip.decompress(encoded.gzipped), headers)

    async def handle(self, req: web.Request) -> web.Response:
        h = req.headers
        served = self.serve(h.get("Accept"), h.get("Accept-Encoding"), h.get("If-None-Match"))
        return web.Response(status=served.status, body=served.body or None, headers=served.headers)

    def _encoding(self, media: str) -> _Encoded:
        found = self._encoded.get(media)
        if found is None:
            doc = _build_document(self._v3)
            if media == JSON:
                body = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
            else:
                body = encode_document(doc)
            del doc
            found = _Encoded(
                gzipped=gzip.compress(body, mtime=0),
                etag=hashlib.sha512(body).hexdigest().upper(),
                last_modified=email.utils.formatdate(time.time(), usegmt=True),
            )
            self._encoded[media] = found
        return found


def _accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether Accept-Encoding lists gzip with a non-zero q, the test upstream's gzip handler makes."""
    for part in (accept_encoding or "").split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        if coding.lower() != "gzip":
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                q = _float(value)
        return q > 0
    return False


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _negotiate(accept: str | None) -> str | None:
    """The media type to answer with, picked as kube-openapi does: clauses by descending q, concrete types
    before wildcards, each matched against JSON, then the two protobuf names."""
    offered = ((JSON, JSON), (PROTOBUF_DEPRECATED, PROTOBUF), (PROTOBUF, PROTOBUF))
    for media in _accept_clauses(accept or "*/*"):
        kind, _, sub = media.partition("/")
        for name, answer in offered:
            want_kind, _, want_sub = name.partition("/")
            if kind in (want_kind, "*") and sub in (want_sub, "*"):
                return answer
    return None


def _accept_clauses(header: str) -> list[str]:
    clauses: list[tuple[float, bool, bool, str]] = []
    for part in header.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media == "*":
            media = "*/*"
        if media.count("/") != 1:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                q = _float(value)
        kind, _, sub = media.partition("/")
        clauses.append((-q, kind == "*", sub == "*", media))
    return [media for *_, media in sorted(clauses, key=lambda c: c[:3])]


def _etag_matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match's weak comparison, as Go's http.ServeContent makes it."""
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == f'"{etag}"':
            return True
    return False


# -- the v2 document --


def _build_document(v3: OpenAPIV3) -> Doc:
    """The Swagger 2.0 document with every path and every definition of the server's v3 documents."""
    paths: Doc = {}
    definitions: Doc = {}
    info: Doc = {}
    security: Doc = {}
    for key in v3.root()["paths"]:
        found = v3.document(key)
        assert found is not None, key
        doc = json.loads(found[0])
        info = doc["info"]
        security |= doc["components"].get("securitySchemes", {})
        for path, item in doc["paths"].items():
            paths.setdefault(path, _path_item(item))
        for name, schema in doc["components"]["schemas"].items():
            if name not in definitions:
                definitions[name] = _definition(schema)
    return {
        "definitions": dict(sorted(definitions.items())),
        "info": info,
        "paths": dict(sorted(paths.items())),
        "security": [{name: []} for name in sorted(security)],
        "securityDefinitions": security,
        "swagger": "2.0",
    }


def _ref(v3_ref: str) -> str:
    if not v3_ref.startswith(_V3_REF):
        raise ValueError(f"reference outside the components: {v3_ref}")
    return _V2_REF + v3_ref.removeprefix(_V3_REF)


def _definition(node: Any) -> Any:
    """A v3 component schema as a v2 definition."""
    if isinstance(node, list):
        return [_definition(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: Doc = {}
    all_of = node.get("allOf")
    if all_of is not None and len(all_of) == 1 and set(all_of[0]) == {"$ref"}:
        out["$ref"] = _ref(all_of[0]["$ref"])
    elif all_of is not None:
        out["allOf"] = _definition(all_of)
    one_of = node.get("oneOf")
    if one_of is not None:
        # upstream's v2 spells int-or-string and quantity as plain strings
        if "type" in node or not all(set(alt) == {"type"} for alt in one_of):
            raise ValueError(f"cannot express this oneOf in Swagger 2.0: {one_of}")
        out["type"] = "string"
    for key, value in node.items():
        if key in ("allOf", "oneOf", "default", "x-kubernetes-int-or-string"):
            continue
        if key == "$ref":
            out["$ref"] = _ref(value)
        elif key == "properties":
            out["properties"] = {name: _definition(prop) for name, prop in value.items()}
        elif key.startswith("x-"):
            out[key] = value
        else:
            out[key] = _definition(value)
    return out


def _path_item(item: Doc) -> Doc:
    out: Doc = {}
    for key, value in item.items():
        if key == "parameters":
            out["parameters"] = [_parameter(p) for p in value]
        elif key in _METHODS:
            out[key] = _operation(value)
        else:
            raise ValueError(f"unexpected path item field {key!r}")
    return out


def _operation(op: Doc) -> Doc:
    produces = _produces(op["responses"])
    params = [_parameter(p) for p in op.get("parameters", ())]
    body = op.get("requestBody")
    if body is not None:
        consumes = list(body["content"])
        params.insert(0, _body_parameter(body))
    elif "x-kubernetes-action" in op:
        consumes = ["*/*"]
    else:
        consumes = produces  # discovery documents, as upstream lists them
    out: Doc = {
        "consumes": consumes,
        "description": op["description"],
        "operationId": op["operationId"],
        "produces": produces,
        "responses": {code: _response(r) for code, r in op["responses"].items()},
        "schemes": ["https"],
        "tags": op["tags"],
    }
    if params:
        out["parameters"] = params
    for key, value in op.items():
        if key.startswith("x-"):
            out[key] = value
        elif key not in ("description", "operationId", "parameters", "requestBody", "responses", "tags"):
            raise ValueError(f"unexpected operation field {key!r}")
    return out


def _produces(responses: Doc) -> list[str]:
    for response in responses.values():
        if "content" in response:
            return list(response["content"])
    return ["*/*"]


def _body_parameter(body: Doc) -> Doc:
    schema = next(iter(body["content"].values()))["schema"]
    param: Doc = {"in": "body", "name": "body", "schema": _definition(schema)}
    if body.get("required"):
        param["required"] = True
    return param


def _parameter(param: Doc) -> Doc:
    out: Doc = {"description": param["description"], "in": param["in"], "name": param["name"]}
    if param.get("required"):
        out["required"] = True
    schema = param["schema"]
    out["type"] = schema["type"]
    if schema.get("uniqueItems"):
        out["uniqueItems"] = True
    return out


def _response(response: Doc) -> Doc:
    out: Doc = {"description": response["description"]}
    content = response.get("content")
    if content:
        out["schema"] = _definition(next(iter(content.values()))["schema"])
    return out


# -- protobuf: gnostic's openapi.v2.Document (google/gnostic openapiv2/OpenAPIv2.proto) --

_VARINT, _LENGTH = 0, 2


def _varint(value: int) -> bytes:
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _tag(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _message(number: int, payload: bytes) -> bytes:
    """A length-delimited field; proto3 writes embedded messages even when empty."""
    return _tag(number, _LENGTH) + _varint(len(payload)) + payload


def _string(number: int, value: str) -> bytes:
    return _message(number, value.encode()) if value else b""


def _strings(number: int, values: Iterable[str]) -> bytes:
    return b"".join(_message(number, v.encode()) for v in values)


def _bool(number: int, value: bool) -> bytes:
    return _tag(number, _VARINT) + b"\x01" if value else b""


def _any(value: Any) -> bytes:
    """openapi.v2.Any: gnostic keeps the value as YAML text (field 2); JSON is YAML, and is what
    readers (yaml.Unmarshal in kubectl and kube-openapi) get back the same value from."""
    return _string(2, json.dumps(value, sort_keys=True))


def _named_anys(number: int, node: Doc) -> bytes:
    """The `x-` keys of a node as repeated NamedAny {name = 1; Any value = 2}."""
    return b"".join(
        _message(number, _string(1, key) + _message(2, _any(value)))
        for key, value in node.items()
        if key.startswith("x-")
    )


def _named(number: int, items: Iterable[tuple[str, bytes]]) -> bytes:
    """A map as repeated Named* {string name = 1; value = 2}."""
    return b"".join(_named_entry(number, name, value) for name, value in items)


def _named_entry(number: int, name: str, value: bytes) -> bytes:
    return _message(number, _string(1, name) + _message(2, value))


def _check_keys(node: Doc, known: Iterable[str], what: str) -> None:
    unknown = [k for k in node if k not in known and not k.startswith("x-")]
    if unknown:
        raise ValueError(f"{what} field(s) {unknown} have no encoding here")


_SCHEMA_KEYS = (
    "$ref",
    "format",
    "title",
    "description",
    "default",
    "required",
    "enum",
    "additionalProperties",
    "type",
    "items",
    "allOf",
    "properties",
    "readOnly",
)


def _schema(node: Doc) -> bytes:
    """openapi.v2.Schema."""
    _check_keys(node, _SCHEMA_KEYS, "schema")
    out = [
        _string(1, node.get("$ref", "")),
        _string(2, node.get("format", "")),
        _string(3, node.get("title", "")),
        _string(4, node.get("description", "")),
    ]
    if "default" in node:
        out.append(_message(5, _any(node["default"])))
    out.append(_strings(19, node.get("required", ())))
    out.extend(_message(20, _any(v)) for v in node.get("enum", ()))
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        out.append(_message(21, _message(1, _schema(extra))))
    elif isinstance(extra, bool):
        out.append(_message(21, _tag(2, _VARINT) + _varint(int(extra))))
    if "type" in node:
        kinds = node["type"] if isinstance(node["type"], list) else [node["type"]]
        out.append(_message(22, _strings(1, kinds)))
    if "items" in node:
        items = node["items"] if isinstance(node["items"], list) else [node["items"]]
        out.append(_message(23, b"".join(_message(1, _schema(i)) for i in items)))
    out.extend(_message(24, _schema(s)) for s in node.get("allOf", ()))
    if "properties" in node:
        out.append(_message(25, _named(1, ((k, _schema(v)) for k, v in node["properties"].items()))))
    out.append(_bool(27, node.get("readOnly", False)))
    out.append(_named_anys(31, node))
    return b"".join(out)


def _parameter_pb(param: Doc) -> bytes:
    """openapi.v2.ParametersItem holding a Parameter (body, or a query/path NonBodyParameter)."""
    where = param["in"]
    if where == "body":
        _check_keys(param, ("description", "in", "name", "required", "schema"), "body parameter")
        body = b"".join(
            (
                _string(1, param.get("description", "")),
                _string(2, param["name"]),
                _string(3, where),
                _bool(4, param.get("required", False)),
                _message(5, _schema(param["schema"])),
                _named_anys(6, param),
            )
        )
        return _message(1, _message(1, body))
    # QueryParameterSubSchema and PathParameterSubSchema number type / uniqueItems / extensions differently
    layouts = {"query": (3, 6, 20, 23), "path": (4, 5, 19, 22)}
    if where not in layouts:
        raise ValueError(f"parameters in {where!r} have no encoding here")
    choice, type_field, unique_field, extension_field = layouts[where]
    _check_keys(param, ("description", "in", "name", "required", "type", "uniqueItems"), "parameter")
    sub = b"".join(
        (
            _bool(1, param.get("required", False)),
            _string(2, where),
            _string(3, param.get("description", "")),
            _string(4, param["name"]),
            _string(type_field, param.get("type", "")),
            _bool(unique_field, param.get("uniqueItems", False)),
            _named_anys(extension_field, param),
        )
    )
    return _message(1, _message(2, _message(choice, sub)))


def _response_pb(response: Doc) -> bytes:
    """openapi.v2.ResponseValue holding a Response."""
    _check_keys(response, ("description", "schema"), "response")
    body = _string(1, response["description"])
    if "schema" in response:
        body += _message(2, _message(1, _schema(response["schema"])))
    return _message(1, body + _named_anys(5, response))


_OPERATION_KEYS = (
    "tags",
    "summary",
    "description",
    "operationId",
    "produces",
    "consumes",
    "parameters",
    "responses",
    "schemes",
    "deprecated",
)


def _operation_pb(op: Doc) -> bytes:
    _check_keys(op, _OPERATION_KEYS, "operation")
    responses = _named(1, ((code, _response_pb(r)) for code, r in op["responses"].items()))
    return b"".join(
        (
            _strings(1, op.get("tags", ())),
            _string(2, op.get("summary", "")),
            _string(3, op.get("description", "")),
            _string(5, op.get("operationId", "")),
            _strings(6, op.get("produces", ())),
            _strings(7, op.get("consumes", ())),
            b"".join(_message(8, _parameter_pb(p)) for p in op.get("parameters", ())),
            _message(9, responses),
            _strings(10, op.get("schemes", ())),
            _bool(11, op.get("deprecated", False)),
            _named_anys(13, op),
        )
    )


def _path_item_pb(item: Doc) -> bytes:
    _check_keys(item, (*_METHODS, "parameters"), "path item")
    fields = dict(zip(_METHODS, range(2, 9), strict=True))
    out = [_message(fields[m], _operation_pb(item[m])) for m in _METHODS if m in item]
    out.extend(_message(9, _parameter_pb(p)) for p in item.get("parameters", ()))
    out.append(_named_anys(10, item))
    return b"".join(out)


def _security_definition_pb(scheme: Doc) -> bytes:
    """openapi.v2.SecurityDefinitionsItem; Kubernetes only publishes an apiKey scheme."""
    if scheme.get("type") != "apiKey":
        raise ValueError(f"security scheme {scheme.get('type')!r} has no encoding here")
    _check_keys(scheme, ("type", "name", "in", "description"), "security scheme")
    key = b"".join(
        (
            _string(1, scheme["type"]),
            _string(2, scheme["name"]),
            _string(3, scheme["in"]),
            _string(4, scheme.get("description", "")),
            _named_anys(5, scheme),
        )
    )
    return _message(2, key)


def encode_document(doc: Doc) -> bytes:
    """The document as a serialized gnostic openapi.v2.Document, what client-go's OpenAPISchema() parses."""
    _check_keys(
        doc, ("swagger", "info", "paths", "definitions", "security", "securityDefinitions"), "document"
    )
    info = doc["info"]
    _check_keys(info, ("title", "version", "description"), "info")
    # Paths and Definitions hold nearly the whole document: their entries are written once, straight
    # into the result, rather than copied into ever larger intermediate messages.
    paths = [_named_entry(2, path, _path_item_pb(item)) for path, item in doc["paths"].items()]
    definitions = [_named_entry(1, name, _schema(s)) for name, s in doc["definitions"].items()]
    security = b"".join(
        _message(12, _named(1, ((name, _strings(1, scopes)) for name, scopes in requirement.items())))
        for requirement in doc.get("security", ())
    )
    schemes = doc.get("securityDefinitions", {}).items()
    info_pb = (
        _string(1, info["title"]) + _string(2, info["version"]) + _string(3, info.get("description", ""))
    )
    return b"".join(
        (
            _string(1, doc["swagger"]),
            _message(2, info_pb),
            *_message_parts(8, paths),
            *_message_parts(9, definitions),
            security,
            _message(13, _named(1, ((name, _security_definition_pb(s)) for name, s in schemes))),
            _named_anys(16, doc),
        )
    )


def _message_parts(number: int, parts: list[bytes]) -> list[bytes]:
    """A length-delimited field whose payload is PARTS joined, as a header followed by the parts."""
    return [_tag(number, _LENGTH) + _varint(sum(len(p) for p in parts)), *parts]
