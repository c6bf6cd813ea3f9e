"""GET /openapi/v2: the Swagger 2.0 document derived from the v3 documents, its gnostic protobuf encoding
(decoded here by the real protobuf runtime against a descriptor written from gnostic's OpenAPIv2.proto
field numbers), content negotiation, ETag and gzip."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

from distro.apiserver.openapi import OpenAPIV3
from distro.apiserver.openapi_v2 import JSON, PROTOBUF, PROTOBUF_DEPRECATED, OpenAPIV2, encode_document
from distro.apiserver.registry import RESOURCES, REVIEWS

PATCH_TYPES = [
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
]
METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def v3() -> OpenAPIV3:
    return OpenAPIV3(RESOURCES + REVIEWS)


@pytest.fixture(scope="module")
def doc(v3: OpenAPIV3) -> dict[str, Any]:
    return OpenAPIV2(v3).document()


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, dict]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def _schemas(schema: dict, path: str) -> Iterator[tuple[str, dict]]:
    """Every schema node inside a definition (not the dicts that merely hold extension values)."""
    yield path, schema
    for name, prop in schema.get("properties", {}).items():
        yield from _schemas(prop, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from _schemas(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _schemas(schema["additionalProperties"], f"{path}{{}}")
    for i, sub in enumerate(schema.get("allOf", ())):
        yield from _schemas(sub, f"{path}.allOf[{i}]")


# -- the document --


def test_every_ref_resolves_to_a_definition(doc: dict) -> None:
    refs = [(path, node["$ref"]) for path, node in _walk(doc) if isinstance(node.get("$ref"), str)]
    assert len(refs) > 300
    for path, ref in refs:
        assert ref.startswith("#/definitions/"), path
        assert ref.removeprefix("#/definitions/") in doc["definitions"], (path, ref)


def test_definitions_parse_under_kubectls_rules(doc: dict) -> None:
    """kube-openapi's proto.NewOpenAPIData (what kubectl validates with) rejects a $ref with a type or
    properties, an array without exactly one items schema, and anything but one known type."""
    known = {"string", "number", "integer", "boolean", "object", "array"}
    for name, definition in doc["definitions"].items():
        for path, schema in _schemas(definition, name):
            assert "allOf" not in schema, path
            assert "default" not in schema, path
            assert "oneOf" not in schema, path
            if "$ref" in schema:
                assert "type" not in schema and "properties" not in schema, path
                continue
            kind = schema.get("type")
            assert kind is None or kind in known, path
            if kind == "array":
                assert isinstance(schema.get("items"), dict), path


def test_struct_fields_are_plain_refs_without_defaults(doc: dict) -> None:
    config_map = doc["definitions"]["io.k8s.api.core.v1.ConfigMap"]
    metadata = config_map["properties"]["metadata"]
    assert metadata["$ref"] == "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    assert set(metadata) == {"$ref", "description"}
    assert config_map["x-kubernetes-group-version-kind"] == [
        {"group": "", "kind": "ConfigMap", "version": "v1"}
    ]
    containers = doc["definitions"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["items"] == {"$ref": "#/definitions/io.k8s.api.core.v1.Container"}
    assert containers["x-kubernetes-patch-merge-key"] == "name"


def test_int_or_string_and_quantity_are_strings(doc: dict) -> None:
    int_or_string = doc["definitions"]["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]
    assert int_or_string["type"] == "string" and int_or_string["format"] == "int-or-string"
    assert doc["definitions"]["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"] == "string"


def test_every_served_kind_has_a_definition_kubectl_can_look_up(doc: dict) -> None:
    by_gvk = {
        (g["group"], g["version"], g["kind"]): name
        for name, definition in doc["definitions"].items()
        for g in definition.get("x-kubernetes-group-version-kind", ())
    }
    for rd in RESOURCES:
        assert by_gvk.get((rd.group, rd.version, rd.kind)) == rd.schema_name, rd.kind


def test_paths_match_the_v3_documents(v3: OpenAPIV3, doc: dict) -> None:
    for key in v3.root()["paths"]:
        found = v3.document(key)
        assert found is not None
        for path, item in json.loads(found[0])["paths"].items():
            assert {m for m in METHODS if m in item} == {m for m in METHODS if m in doc["paths"][path]}, path


def test_patch_operations_list_field_validation_and_patch_types(doc: dict) -> None:
    patches = [(p, item["patch"]) for p, item in doc["paths"].items() if "patch" in item]
    assert len(patches) > 20
    for path, op in patches:
        assert op["consumes"] == PATCH_TYPES, path
        query = {p["name"] for p in op["parameters"] if p["in"] == "query"}
        assert {"fieldValidation", "fieldManager", "dryRun", "force"} <= query, path
        gvk = op["x-kubernetes-group-version-kind"]
        assert set(gvk) == {"group", "kind", "version"}, path
        body = op["parameters"][0]
        assert body == {
            "in": "body",
            "name": "body",
            "required": True,
            "schema": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"},
        }


def test_operations_carry_body_parameters_and_response_schemas(doc: dict) -> None:
    create = doc["paths"]["/api/v1/namespaces/{namespace}/configmaps"]["post"]
    assert create["consumes"] == ["*/*"]
    assert create["produces"] == ["application/json", "application/yaml"]
    assert create["schemes"] == ["https"]
    assert create["parameters"][0]["schema"] == {"$ref": "#/definitions/io.k8s.api.core.v1.ConfigMap"}
    assert create["responses"]["201"]["schema"] == {"$ref": "#/definitions/io.k8s.api.core.v1.ConfigMap"}
    assert create["responses"]["401"] == {"description": "Unauthorized"}
    assert create["x-kubernetes-action"] == "post"
    namespace = next(
        p
        for p in doc["paths"]["/api/v1/namespaces/{namespace}/configmaps"]["parameters"]
        if p["in"] == "path"
    )
    assert namespace["required"] is True and namespace["type"] == "string"
    discovery = doc["paths"]["/api/v1/"]["get"]
    assert discovery["consumes"] == discovery["produces"]
    assert doc["swagger"] == "2.0" and doc["security"] == [{"BearerToken": []}]


# -- the protobuf encoding, decoded by the protobuf runtime --

# gnostic openapiv2/OpenAPIv2.proto, the messages and fields this server writes:
# field -> (number, type, oneof); a leading "*" marks a repeated field.
_GNOSTIC: dict[str, dict[str, tuple[int, str, str]]] = {
    "ProtoAny": {"type_url": (1, "string", ""), "value": (2, "bytes", "")},  # google.protobuf.Any
    "Any": {"value": (1, "ProtoAny", ""), "yaml": (2, "string", "")},
    "NamedAny": {"name": (1, "string", ""), "value": (2, "Any", "")},
    "Document": {
        "swagger": (1, "string", ""),
        "info": (2, "Info", ""),
        "host": (3, "string", ""),
        "base_path": (4, "string", ""),
        "schemes": (5, "*string", ""),
        "consumes": (6, "*string", ""),
        "produces": (7, "*string", ""),
        "paths": (8, "Paths", ""),
        "definitions": (9, "Definitions", ""),
        "security": (12, "*SecurityRequirement", ""),
        "security_definitions": (13, "SecurityDefinitions", ""),
        "vendor_extension": (16, "*NamedAny", ""),
    },
    "Info": {
        "title": (1, "string", ""),
        "version": (2, "string", ""),
        "description": (3, "string", ""),
        "vendor_extension": (7, "*NamedAny", ""),
    },
    "Paths": {"vendor_extension": (1, "*NamedAny", ""), "path": (2, "*NamedPathItem", "")},
    "NamedPathItem": {"name": (1, "string", ""), "value": (2, "PathItem", "")},
    "PathItem": {
        "_ref": (1, "string", ""),
        **{m: (n, "Operation", "") for n, m in enumerate(("get", "put", "post", "delete"), 2)},
        "options": (6, "Operation", ""),
        "head": (7, "Operation", ""),
        "patch": (8, "Operation", ""),
        "parameters": (9, "*ParametersItem", ""),
        "vendor_extension": (10, "*NamedAny", ""),
    },
    "Operation": {
        "tags": (1, "*string", ""),
        "summary": (2, "string", ""),
        "description": (3, "string", ""),
        "operation_id": (5, "string", ""),
        "produces": (6, "*string", ""),
        "consumes": (7, "*string", ""),
        "parameters": (8, "*ParametersItem", ""),
        "responses": (9, "Responses", ""),
        "schemes": (10, "*string", ""),
        "deprecated": (11, "bool", ""),
        "vendor_extension": (13, "*NamedAny", ""),
    },
    "JsonReference": {"_ref": (1, "string", ""), "description": (2, "string", "")},
    "ParametersItem": {
        "parameter": (1, "Parameter", "oneof"),
        "json_reference": (2, "JsonReference", "oneof"),
    },
    "Parameter": {
        "body_parameter": (1, "BodyParameter", "oneof"),
        "non_body_parameter": (2, "NonBodyParameter", "oneof"),
    },
    "BodyParameter": {
        "description": (1, "string", ""),
        "name": (2, "string", ""),
        "in": (3, "string", ""),
        "required": (4, "bool", ""),
        "schema": (5, "Schema", ""),
        "vendor_extension": (6, "*NamedAny", ""),
    },
    "NonBodyParameter": {
        "query_parameter_sub_schema": (3, "QueryParameterSubSchema", "oneof"),
        "path_parameter_sub_schema": (4, "PathParameterSubSchema", "oneof"),
    },
    "QueryParameterSubSchema": {
        "required": (1, "bool", ""),
        "in": (2, "string", ""),
        "description": (3, "string", ""),
        "name": (4, "string", ""),
        "allow_empty_value": (5, "bool", ""),
        "type": (6, "string", ""),
        "format": (7, "string", ""),
        "unique_items": (20, "bool", ""),
        "vendor_extension": (23, "*NamedAny", ""),
    },
    "PathParameterSubSchema": {
        "required": (1, "bool", ""),
        "in": (2, "string", ""),
        "description": (3, "string", ""),
        "name": (4, "string", ""),
        "type": (5, "string", ""),
        "format": (6, "string", ""),
        "unique_items": (19, "bool", ""),
        "vendor_extension": (22, "*NamedAny", ""),
    },
    "Responses": {"response_code": (1, "*NamedResponseValue", ""), "vendor_extension": (2, "*NamedAny", "")},
    "NamedResponseValue": {"name": (1, "string", ""), "value": (2, "ResponseValue", "")},
    "ResponseValue": {"response": (1, "Response", "oneof"), "json_reference": (2, "JsonReference", "oneof")},
    "Response": {
        "description": (1, "string", ""),
        "schema": (2, "SchemaItem", ""),
        "vendor_extension": (5, "*NamedAny", ""),
    },
    "SchemaItem": {"schema": (1, "Schema", "oneof")},
    "Definitions": {"additional_properties": (1, "*NamedSchema", "")},
    "Properties": {"additional_properties": (1, "*NamedSchema", "")},
    "NamedSchema": {"name": (1, "string", ""), "value": (2, "Schema", "")},
    "Schema": {
        "_ref": (1, "string", ""),
        "format": (2, "string", ""),
        "title": (3, "string", ""),
        "description": (4, "string", ""),
        "default": (5, "Any", ""),
        "required": (19, "*string", ""),
        "enum": (20, "*Any", ""),
        "additional_properties": (21, "AdditionalPropertiesItem", ""),
        "type": (22, "TypeItem", ""),
        "items": (23, "ItemsItem", ""),
        "all_of": (24, "*Schema", ""),
        "properties": (25, "Properties", ""),
        "discriminator": (26, "string", ""),
        "read_only": (27, "bool", ""),
        "example": (30, "Any", ""),
        "vendor_extension": (31, "*NamedAny", ""),
    },
    "AdditionalPropertiesItem": {"schema": (1, "Schema", "oneof"), "boolean": (2, "bool", "oneof")},
    "TypeItem": {"value": (1, "*string", "")},
    "ItemsItem": {"schema": (1, "*Schema", "")},
    "SecurityRequirement": {"additional_properties": (1, "*NamedStringArray", "")},
    "NamedStringArray": {"name": (1, "string", ""), "value": (2, "StringArray", "")},
    "StringArray": {"value": (1, "*string", "")},
    "SecurityDefinitions": {"additional_properties": (1, "*NamedSecurityDefinitionsItem", "")},
    "NamedSecurityDefinitionsItem": {"name": (1, "string", ""), "value": (2, "SecurityDefinitionsItem", "")},
    "SecurityDefinitionsItem": {"api_key_security": (2, "ApiKeySecurity", "oneof")},
    "ApiKeySecurity": {
        "type": (1, "string", ""),
        "name": (2, "string", ""),
        "in": (3, "string", ""),
        "description": (4, "string", ""),
        "vendor_extension": (5, "*NamedAny", ""),
    },
}


def _document_class() -> type[Message]:
    fdp = descriptor_pb2.FieldDescriptorProto
    scalars = {"string": fdp.TYPE_STRING, "bool": fdp.TYPE_BOOL, "bytes": fdp.TYPE_BYTES}
    file = descriptor_pb2.FileDescriptorProto(
        name="test_gnostic_v2.proto", package="openapi.v2", syntax="proto3"
    )
    for message_name, fields in _GNOSTIC.items():
        message = file.message_type.add(name=message_name)
        for field_name, (number, kind, oneof) in fields.items():
            field = message.field.add(name=field_name, number=number)
            field.label = fdp.LABEL_REPEATED if kind.startswith("*") else fdp.LABEL_OPTIONAL
            kind = kind.lstrip("*")
            if kind in scalars:
                field.type = scalars[kind]
            else:
                field.type, field.type_name = fdp.TYPE_MESSAGE, f".openapi.v2.{kind}"
            if oneof:
                if not message.oneof_decl:
                    message.oneof_decl.add(name=oneof)
                field.oneof_index = 0
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("openapi.v2.Document"))


def _extensions(named_anys: Any) -> dict[str, Any]:
    # gnostic readers (kubectl, kube-openapi) yaml.Unmarshal this text; PyYAML parses YAML 1.1, as goyaml v2
    return {e.name: yaml.safe_load(e.value.yaml) for e in named_anys}


def _schema_json(s: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (
        ("$ref", s._ref),
        ("format", s.format),
        ("title", s.title),
        ("description", s.description),
    ):
        if value:
            out[key] = value
    if s.HasField("default"):
        out["default"] = yaml.safe_load(s.default.yaml)
    if s.required:
        out["required"] = list(s.required)
    if s.enum:
        out["enum"] = [yaml.safe_load(a.yaml) for a in s.enum]
    if s.HasField("additional_properties"):
        extra = s.additional_properties
        out["additionalProperties"] = (
            _schema_json(extra.schema) if extra.WhichOneof("oneof") == "schema" else extra.boolean
        )
    if s.HasField("type"):
        out["type"] = s.type.value[0] if len(s.type.value) == 1 else list(s.type.value)
    if s.HasField("items"):
        assert len(s.items.schema) == 1
        out["items"] = _schema_json(s.items.schema[0])
    if s.all_of:
        out["allOf"] = [_schema_json(a) for a in s.all_of]
    if s.HasField("properties"):
        out["properties"] = {p.name: _schema_json(p.value) for p in s.properties.additional_properties}
    if s.read_only:
        out["readOnly"] = True
    return out | _extensions(s.vendor_extension)


def _parameter_json(item: Any) -> dict[str, Any]:
    param = item.parameter
    if param.WhichOneof("oneof") == "body_parameter":
        body = param.body_parameter
        out: dict[str, Any] = {
            "in": getattr(body, "in"),
            "name": body.name,
            "schema": _schema_json(body.schema),
        }
        if body.required:
            out["required"] = True
        return out
    sub = getattr(param.non_body_parameter, param.non_body_parameter.WhichOneof("oneof"))
    out = {"description": sub.description, "in": getattr(sub, "in"), "name": sub.name, "type": sub.type}
    if sub.required:
        out["required"] = True
    if sub.unique_items:
        out["uniqueItems"] = True
    return out


def _operation_json(op: Any) -> dict[str, Any]:
    responses = {}
    for named in op.responses.response_code:
        response = named.value.response
        responses[named.name] = {"description": response.description}
        if response.HasField("schema"):
            responses[named.name]["schema"] = _schema_json(response.schema.schema)
    out = {
        "consumes": list(op.consumes),
        "description": op.description,
        "operationId": op.operation_id,
        "produces": list(op.produces),
        "responses": responses,
        "schemes": list(op.schemes),
        "tags": list(op.tags),
    }
    if op.parameters:
        out["parameters"] = [_parameter_json(p) for p in op.parameters]
    return out | _extensions(op.vendor_extension)


def _document_json(pb: Any) -> dict[str, Any]:
    paths = {}
    for named in pb.paths.path:
        item = named.value
        paths[named.name] = {m: _operation_json(getattr(item, m)) for m in METHODS if item.HasField(m)}
        if item.parameters:
            paths[named.name]["parameters"] = [_parameter_json(p) for p in item.parameters]
    security_definitions = {}
    for named in pb.security_definitions.additional_properties:
        key = named.value.api_key_security
        security_definitions[named.name] = {
            "description": key.description,
            "in": getattr(key, "in"),
            "name": key.name,
            "type": key.type,
        }
    return {
        "definitions": {n.name: _schema_json(n.value) for n in pb.definitions.additional_properties},
        "info": {"title": pb.info.title, "version": pb.info.version},
        "paths": paths,
        "security": [{n.name: list(n.value.value) for n in r.additional_properties} for r in pb.security],
        "securityDefinitions": security_definitions,
        "swagger": pb.swagger,
    }


def test_protobuf_decodes_back_to_the_json_document(v3: OpenAPIV3, doc: dict) -> None:
    served = OpenAPIV2(v3).serve(PROTOBUF_DEPRECATED)
    pb = _document_class().FromString(served.body)
    decoded = _document_json(pb)
    assert (
        decoded["definitions"]["io.k8s.api.core.v1.ConfigMap"]
        == doc["definitions"]["io.k8s.api.core.v1.ConfigMap"]
    )
    assert decoded == doc
    assert list(decoded["paths"]) == sorted(doc["paths"])


def test_protobuf_round_trips_edge_cases() -> None:
    """Long descriptions (multi-byte lengths), bool additionalProperties, enums and non-ASCII text."""
    schema = {
        "additionalProperties": False,
        "allOf": [{"$ref": "#/definitions/x.A"}, {"$ref": "#/definitions/x.B"}],
        "description": "é" * 300,
        "enum": ["a", "true", "1"],
        "properties": {
            "n": {"default": 0, "format": "int64", "readOnly": True, "title": "N", "type": "integer"},
            "tags": {"items": {"type": "string"}, "type": "array"},
        },
        "required": ["n"],
        "type": "object",
        "x-kubernetes-map-type": "atomic",
    }
    doc = {
        "definitions": {"x.Thing": schema},
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": {},
        "security": [],
        "securityDefinitions": {},
        "swagger": "2.0",
    }
    decoded = _document_json(_document_class().FromString(encode_document(doc)))
    assert decoded == doc


def test_encoding_refuses_what_it_cannot_write() -> None:
    doc = {"definitions": {"x.Bad": {"type": "string", "pattern": "^a$"}}, "info": {}, "paths": {}}
    doc["info"] = {"title": "t", "version": "v"}
    doc["swagger"] = "2.0"
    with pytest.raises(ValueError, match="pattern"):
        encode_document(doc)


# -- serving --


class _CountingV3(OpenAPIV3):
    """The real v3 documents, counting how often the v2 builder reads them."""

    def __init__(self) -> None:
        super().__init__(RESOURCES + REVIEWS)
        self.reads = 0

    def document(self, path: str) -> tuple[bytes, str] | None:
        self.reads += 1
        return super().document(path)


def test_built_lazily_once_per_encoding() -> None:
    v3 = _CountingV3()
    api = OpenAPIV2(v3)
    assert v3.reads == 0
    first = api.serve(PROTOBUF, "gzip")
    reads = v3.reads
    assert reads > 0
    second = api.serve(PROTOBUF_DEPRECATED, "gzip")
    assert v3.reads == reads
    assert second.body is first.body


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (PROTOBUF_DEPRECATED, PROTOBUF),
        (PROTOBUF, PROTOBUF),
        ("application/json", JSON),
        (None, JSON),
        ("*/*", JSON),
        ("application/json;q=0.5, " + PROTOBUF_DEPRECATED, PROTOBUF),
        ("*/*, " + PROTOBUF_DEPRECATED, PROTOBUF),
        ("text/html, application/*", JSON),
    ],
)
def test_content_negotiation(v3: OpenAPIV3, accept: str | None, content_type: str) -> None:
    served = OpenAPIV2(v3).serve(accept)
    assert served.status == 200
    assert served.headers["Content-Type"] == content_type
    if content_type == JSON:
        assert json.loads(served.body)["swagger"] == "2.0"
    else:
        assert _document_class().FromString(served.body).swagger == "2.0"


def test_not_acceptable(v3: OpenAPIV3) -> None:
    served = OpenAPIV2(v3).serve("text/html, application/yaml")
    assert served.status == 406 and served.body == b""


def test_etag_and_conditional_get(v3: OpenAPIV3) -> None:
    api = OpenAPIV2(v3)
    first = api.serve(PROTOBUF)
    etag = first.headers["Etag"]
    assert etag.startswith('"') and len(etag) == 130
    assert first.headers["Vary"] == "Accept, Accept-Encoding"
    assert first.headers["Last-Modified"].endswith(" GMT")
    assert api.serve(PROTOBUF, None, etag).status == 304
    assert api.serve(PROTOBUF, None, f"W/{etag}").status == 304
    assert api.serve(PROTOBUF, None, '"other", ' + etag).status == 304
    assert api.serve(PROTOBUF, None, '"other"').status == 200
    json_etag = api.serve(JSON).headers["Etag"]
    assert json_etag != etag
    assert api.serve(JSON, None, json_etag).status == 304


def test_gzip_only_when_accepted(v3: OpenAPIV3) -> None:
    api = OpenAPIV2(v3)
    plain = api.serve(PROTOBUF, "deflate")
    zipped = api.serve(PROTOBUF, "deflate, gzip")
    refused = api.serve(PROTOBUF, "gzip;q=0")
    assert "Content-Encoding" not in plain.headers and "Content-Encoding" not in refused.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.body) == plain.body == refused.body
    assert len(zipped.body) * 4 < len(plain.body)
