"""Content negotiation: what the client accepts (JSON, YAML, Table, PartialObjectMetadata) and what
it sent."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from distro.apiserver import status

MAX_BODY = 3 * 1024 * 1024

JSON = "application/json"
YAML = "application/yaml"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH)


@dataclass(frozen=True, slots=True)
class Target:
    """How to render a response: JSON or YAML, as Table, PartialObjectMetadata(List) or the object itself."""

    media: str = JSON
    as_kind: str = ""
    as_version: str = "v1"

    @property
    def content_type(self) -> str:
        if self.as_kind:
            return f"{self.media};as={self.as_kind};v={self.as_version};g=meta.k8s.io"
        return self.media


def _params(part: str) -> tuple[str, dict[str, str]]:
    pieces = [p.strip() for p in part.split(";")]
    params = {}
    for p in pieces[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            params[k.strip().lower()] = v.strip().strip('"')
    return pieces[0].lower(), params


def parse_accept(header: str | None) -> Target:
    """The first acceptable alternative in the client's order; 406 when none is."""
    if not header:
        return Target()
    for part in header.split(","):
        media, params = _params(part)
        if media in ("application/json", "application/yaml", "*/*", "application/*"):
            out_media = YAML if media == "application/yaml" else JSON
            kind = params.get("as", "")
            if not kind:
                return Target(out_media)
            if params.get("g") != "meta.k8s.io":
                continue
            version = params.get("v", "v1")
            if kind in ("Table", "PartialObjectMetadata", "PartialObjectMetadataList") and version in (
                "v1",
                "v1beta1",
            ):
                return Target(out_media, kind, version)
        elif media == "application/json;stream=watch":
            return Target()
    raise status.StatusError(
        406,
        "NotAcceptable",
        "only the following media types are accepted: application/json, application/yaml, "
        "application/vnd.kubernetes.protobuf",
    )


def decode_body(raw: bytes, content_type: str | None) -> Any:
    """A request body as JSON-like data; 415 for unsupported media types, 400 for undecodable bodies."""
    media = (content_type or JSON).split(";")[0].strip().lower()
    if media in ("application/json", "", "*/*", JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH):
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise status.bad_request(f"error decoding request body: {exc}") from None
    if media == PROTOBUF:
        from distro.apiserver import protobuf

        return protobuf.decode(raw)
    if media in (YAML, "application/x-yaml", APPLY_PATCH, "text/yaml"):
        try:
            return yaml.safe_load(raw)
        except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
            raise status.bad_request(f"error converting YAML to JSON: {exc}") from None
    raise status.StatusError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types "
        "include: application/json, application/yaml, application/vnd.kubernetes.protobuf",
    )


def encode(obj: Any, target: Target) -> bytes:
    if target.media == YAML:
        return yaml.safe_dump(obj, sort_keys=False, allow_unicode=True).encode()
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
