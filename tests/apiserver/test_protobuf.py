"""Kubernetes protobuf request bodies: the bytes real kubectl v1.32 sends (captured by a small HTTP server
that plays API server) decode to exactly the JSON `kubectl ... --dry-run=client -o json` prints for the
same command; the wire reader on hand-made bytes; and hypothesis proving that any input either decodes
or fails with a 400 Status."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from distro.apiserver import protobuf, status

KUBECTL = "/usr/bin/kubectl"


# -- a hand-written protobuf encoder for the unit tests --


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative numbers are 10-byte two's complement varints
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def vfield(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def lfield(number: int, data: bytes | str) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    return varint(number << 3 | 2) + varint(len(raw)) + raw


def entry(number: int, key: str, value: bytes | str) -> bytes:
    return lfield(number, lfield(1, key) + lfield(2, value))


def envelope(api_version: str, kind: str, body: bytes) -> bytes:
    type_meta = lfield(1, api_version) + lfield(2, kind)
    return b"k8s\x00" + lfield(1, type_meta) + lfield(2, body) + lfield(3, "") + lfield(4, "")


def meta(name: str, *extra: bytes) -> bytes:
    # what gogo writes for an ObjectMeta with only a name: every non-pointer scalar, zero or not
    return lfield(
        1,
        lfield(1, name)
        + lfield(2, "")
        + lfield(3, "")
        + lfield(4, "")
        + lfield(5, "")
        + lfield(6, "")
        + vfield(7, 0)
        + lfield(8, b"")
        + b"".join(extra),
    )


def bad_request(raw: bytes) -> status.StatusError:
    with pytest.raises(status.StatusError) as caught:
        protobuf.decode(raw)
    assert caught.value.code == 400 and caught.value.reason == "BadRequest"
    return caught.value


# -- envelope --


def test_envelope_sets_kind_and_api_version_first() -> None:
    decoded = protobuf.decode(envelope("v1", "Namespace", meta("edge")))
    assert list(decoded)[:2] == ["kind", "apiVersion"]
    assert decoded == {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": "edge", "creationTimestamp": None},
        "spec": {},
        "status": {},
    }


def test_envelope_errors_are_400() -> None:
    assert "expected prefix [107 56 115 0]" in bad_request(b'{"kind":"Pod"}').message
    assert bad_request(b"").message == "empty data"
    assert bad_request(b"k8s\x00").message == "empty body"
    assert 'no kind "CronJob"' in bad_request(envelope("batch/v1", "CronJob", b"")).message
    assert 'no kind "Deployment" is registered for version "v1"' in (
        bad_request(envelope("v1", "Deployment", b"")).message
    )
    assert "Kind" in bad_request(envelope("v1", "", b"")).message
    assert "apiVersion" in bad_request(envelope("", "Pod", b"")).message


def test_delete_options_are_known_in_every_group_version() -> None:
    body = vfield(1, 0) + lfield(2, lfield(1, "uid-1")) + lfield(5, "All")
    for api_version in ("v1", "apps/v1", "meta.k8s.io/v1", "policy/v1"):
        assert protobuf.decode(envelope(api_version, "DeleteOptions", body)) == {
            "kind": "DeleteOptions",
            "apiVersion": api_version,
            "gracePeriodSeconds": 0,
            "preconditions": {"uid": "uid-1"},
            "dryRun": ["All"],
        }


# -- wire reader --


def test_negative_int32_and_int64_are_ten_byte_varints() -> None:
    assert len(varint(-1)) == 10
    options = protobuf.decode(envelope("v1", "DeleteOptions", vfield(1, -1)))
    assert options["gracePeriodSeconds"] == -1
    port = lfield(1, vfield(3, -5) + vfield(5, -2147483648))
    service = protobuf.decode(envelope("v1", "Service", meta("s") + lfield(2, port)))
    assert service["spec"]["ports"] == [{"port": -5, "targetPort": 0, "nodePort": -2147483648}]


def test_int32_sent_as_five_byte_varint_wraps_like_go() -> None:
    # an int32 written by a 32-bit-minded encoder: 0xFFFFFFFB is -5 once truncated to 32 bits
    port = lfield(1, vfield(3, 0xFFFFFFFB))
    service = protobuf.decode(envelope("v1", "Service", meta("s") + lfield(2, port)))
    assert service["spec"]["ports"][0]["port"] == -5


def test_maps_sorted_and_nested_in_lists() -> None:
    labels = entry(11, "zone", "b") + entry(11, "app", "web") + entry(11, "zone", "a")
    resources = lfield(8, entry(1, "memory", lfield(1, "64Mi")) + entry(2, "cpu", lfield(1, "250m")))
    container = lfield(2, lfield(1, "c") + resources)
    pod = protobuf.decode(envelope("v1", "Pod", meta("p", labels) + lfield(2, container)))
    assert pod["metadata"]["labels"] == {"app": "web", "zone": "a"}
    assert list(pod["metadata"]["labels"]) == ["app", "zone"]
    assert pod["spec"]["containers"] == [
        {"name": "c", "resources": {"limits": {"memory": "64Mi"}, "requests": {"cpu": "250m"}}}
    ]


def test_secret_bytes_are_base64_and_map_entry_without_value_is_empty() -> None:
    body = meta("s") + entry(2, "token", b"\x00\xffhi") + lfield(2, lfield(1, "empty")) + lfield(3, "Opaque")
    secret = protobuf.decode(envelope("v1", "Secret", body))
    assert secret["data"] == {"empty": "", "token": "AP9oaQ=="}
    assert secret["type"] == "Opaque"


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    group = (
        varint(40 << 3 | 3) + vfield(1, 7) + varint(41 << 3 | 3) + varint(41 << 3 | 4) + varint(40 << 3 | 4)
    )
    noise = (
        vfield(90, -3)
        + varint(91 << 3 | 1)
        + b"\x01" * 8
        + varint(92 << 3 | 5)
        + b"\x02" * 4
        + lfield(93, b"\xff\xfe")
        + group
    )
    body = noise + lfield(1, lfield(1, "cm") + noise) + entry(2, "k", "v") + noise
    assert protobuf.decode(envelope("v1", "ConfigMap", body)) == {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"name": "cm", "creationTimestamp": None},
        "data": {"k": "v"},
    }


@pytest.mark.parametrize(
    "body",
    [
        vfield(1, 5),  # metadata as a varint
        lfield(1, vfield(1, 3)),  # metadata.name as a varint
        lfield(1, lfield(7, b"")),  # metadata.generation as bytes
        lfield(1, lfield(11, vfield(1, 1))),  # a label key as a varint
        lfield(1, lfield(1, "x"))[:-1],  # truncated
        varint(1 << 3 | 2) + varint(1 << 40),  # length beyond the end
        b"\x80" * 11,  # varint longer than 64 bits
        varint(0 << 3 | 0) + b"\x00",  # field number 0
        varint(5 << 3 | 6) + b"\x00",  # wire type 6
        varint(5 << 3 | 4),  # end group with no start
        varint(5 << 3 | 3) + vfield(1, 1),  # group never ended
        varint(5 << 3 | 3) + varint(6 << 3 | 4),  # group ended by another number
    ],
)
def test_malformed_wire_data_is_400(body: bytes) -> None:
    assert bad_request(envelope("v1", "Namespace", body)).message.startswith("proto: ")


def test_packed_and_unpacked_repeated_varints() -> None:
    packed = lfield(4, varint(1000) + varint(2000))
    unpacked = vfield(4, 3000)
    spec = lfield(14, packed + unpacked)
    pod = protobuf.decode(envelope("v1", "Pod", meta("p") + lfield(2, spec)))
    assert pod["spec"]["securityContext"] == {"supplementalGroups": [1000, 2000, 3000]}


def test_repeated_embedded_message_merges_like_protobuf() -> None:
    body = lfield(1, lfield(1, "first") + entry(11, "a", "1")) + lfield(
        1, lfield(3, "ns") + entry(11, "b", "2")
    )
    decoded = protobuf.decode(envelope("v1", "ServiceAccount", body))
    assert decoded["metadata"] == {
        "name": "first",
        "namespace": "ns",
        "creationTimestamp": None,
        "labels": {"a": "1", "b": "2"},
    }


# -- Go JSON shapes --


def test_pointer_zero_values_are_kept_and_omitempty_zeros_dropped() -> None:
    spec = vfield(1, 0) + lfield(3, b"") + vfield(5, 0) + vfield(7, 0)
    deployment = protobuf.decode(envelope("apps/v1", "Deployment", meta("d") + lfield(2, spec)))
    # replicas is *int32: zero survives; minReadySeconds and paused are omitempty values; selector is a
    # pointer without omitempty, so absent means null
    assert deployment["spec"] == {
        "replicas": 0,
        "selector": None,
        "template": {"metadata": {"creationTimestamp": None}, "spec": {"containers": None}},
        "strategy": {},
    }
    account = protobuf.decode(envelope("v1", "ServiceAccount", meta("sa") + vfield(4, 0)))
    assert account["automountServiceAccountToken"] is False


def test_non_omitempty_fields_always_printed() -> None:
    container = lfield(2, lfield(1, "") + lfield(2, ""))
    pod = protobuf.decode(envelope("v1", "Pod", meta("p") + lfield(2, container)))
    assert pod["spec"]["containers"] == [{"name": "", "resources": {}}]
    role = protobuf.decode(envelope("rbac.authorization.k8s.io/v1", "Role", meta("r") + lfield(2, b"")))
    assert role["rules"] == [{"verbs": None}]
    review = protobuf.decode(envelope("authorization.k8s.io/v1", "SelfSubjectAccessReview", meta("")))
    assert review["spec"] == {} and review["status"] == {"allowed": False}


def test_times() -> None:
    stamp = lfield(8, vfield(1, 1_700_000_000) + vfield(2, 999_999_999))
    deleted = lfield(9, b"")
    namespace = protobuf.decode(envelope("v1", "Namespace", lfield(1, stamp + deleted)))
    # Time keeps whole seconds; a present but empty *Time is Go's zero time, printed null
    assert namespace["metadata"] == {"creationTimestamp": "2023-11-14T22:13:20Z", "deletionTimestamp": None}
    go_zero = lfield(1, lfield(8, vfield(1, -62135596800)))
    assert protobuf.decode(envelope("v1", "Namespace", go_zero))["metadata"] == {"creationTimestamp": None}
    spec = lfield(4, vfield(1, 1_700_000_000) + vfield(2, 123_456_789)) + lfield(3, vfield(1, -1))
    lease = protobuf.decode(envelope("coordination.k8s.io/v1", "Lease", meta("l") + lfield(2, spec)))
    assert lease["spec"] == {
        "acquireTime": "1969-12-31T23:59:59.000000Z",
        "renewTime": "2023-11-14T22:13:20.123456Z",
    }
    assert (
        "years" in bad_request(envelope("v1", "Namespace", lfield(1, lfield(8, vfield(1, 1 << 40))))).message
    )


def test_int_or_string() -> None:
    ports = lfield(1, vfield(3, 80) + lfield(4, vfield(1, 1) + lfield(3, "http"))) + lfield(
        1, vfield(3, 81) + lfield(4, vfield(2, 8081))
    )
    service = protobuf.decode(envelope("v1", "Service", meta("s") + lfield(2, ports)))
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http", 8081]
    ports_without_target = lfield(1, vfield(3, 80))
    service = protobuf.decode(envelope("v1", "Service", meta("s") + lfield(2, ports_without_target)))
    assert service["spec"]["ports"] == [{"port": 80, "targetPort": 0}]
    bad_type = lfield(2, lfield(1, vfield(3, 80) + lfield(4, vfield(1, 7))))
    assert "IntOrString" in bad_request(envelope("v1", "Service", bad_type)).message


def test_quantity_text_passes_through_but_must_parse() -> None:
    def pod_with_size_limit(size: bytes) -> bytes:
        volume = lfield(1, "v") + lfield(2, lfield(2, lfield(2, size)))
        return envelope("v1", "Pod", meta("p") + lfield(2, lfield(1, volume)))

    pod = protobuf.decode(pod_with_size_limit(b""))
    assert pod["spec"]["volumes"] == [{"name": "v", "emptyDir": {"sizeLimit": "0"}}]
    pod = protobuf.decode(pod_with_size_limit(lfield(1, "1Gi")))
    assert pod["spec"]["volumes"] == [{"name": "v", "emptyDir": {"sizeLimit": "1Gi"}}]
    assert "quantities must match" in bad_request(pod_with_size_limit(lfield(1, "lots"))).message


def test_inline_structs_flatten_into_the_parent() -> None:
    http_get = lfield(2, lfield(2, vfield(1, 1) + lfield(3, "live")))
    probe = lfield(1, http_get) + vfield(4, 10)
    source = lfield(19, lfield(1, lfield(1, "settings")) + vfield(3, 0o644))
    spec = lfield(1, lfield(1, "cfg") + lfield(2, source)) + lfield(2, lfield(1, "c") + lfield(10, probe))
    pod = protobuf.decode(envelope("v1", "Pod", meta("p") + lfield(2, spec)))
    assert pod["spec"]["volumes"] == [{"name": "cfg", "configMap": {"name": "settings", "defaultMode": 420}}]
    assert pod["spec"]["containers"][0]["livenessProbe"] == {
        "httpGet": {"port": "live"},
        "periodSeconds": 10,
    }


def test_managed_fields_carry_raw_json() -> None:
    entry_ = lfield(1, "kubectl") + lfield(7, lfield(1, b'{"f:data":{".":{}}}'))
    decoded = protobuf.decode(envelope("v1", "ConfigMap", lfield(1, lfield(17, entry_))))
    assert decoded["metadata"]["managedFields"] == [{"manager": "kubectl", "fieldsV1": {"f:data": {".": {}}}}]
    broken = lfield(1, lfield(17, lfield(7, lfield(1, b"{nope"))))
    assert "fieldsV1" in bad_request(envelope("v1", "ConfigMap", broken)).message
    deep = lfield(1, lfield(17, lfield(7, lfield(1, b"[" * 100_000))))
    assert "fieldsV1" in bad_request(envelope("v1", "ConfigMap", deep)).message


def test_invalid_utf8_becomes_replacement_character() -> None:
    decoded = protobuf.decode(envelope("v1", "Namespace", lfield(1, lfield(1, b"a\xffb"))))
    assert decoded["metadata"]["name"] == "a\ufffdb"


def test_years_below_1000_are_four_digits() -> None:
    year_999 = -30641760000  # 0999-01-01T00:00:00Z
    decoded = protobuf.decode(envelope("v1", "Namespace", lfield(1, lfield(8, vfield(1, year_999)))))
    assert decoded["metadata"]["creationTimestamp"] == "0999-01-01T00:00:00Z"


def test_type_meta_skips_unknown_fields() -> None:
    type_meta = vfield(7, 1) + lfield(1, "v1") + lfield(2, "Namespace")
    assert protobuf.decode(b"k8s\x00" + lfield(1, type_meta) + lfield(2, b""))["kind"] == "Namespace"


def test_eviction_with_delete_options() -> None:
    options = vfield(1, 30) + vfield(3, 0) + lfield(4, "Foreground") + lfield(2, lfield(2, "42"))
    body = lfield(1, lfield(1, "web-1") + lfield(3, "default")) + lfield(2, options)
    assert protobuf.decode(envelope("policy/v1", "Eviction", body)) == {
        "kind": "Eviction",
        "apiVersion": "policy/v1",
        "metadata": {"name": "web-1", "namespace": "default", "creationTimestamp": None},
        "deleteOptions": {
            "gracePeriodSeconds": 30,
            "preconditions": {"resourceVersion": "42"},
            "orphanDependents": False,
            "propagationPolicy": "Foreground",
        },
    }


def test_scale_binding_and_endpoint_slice_shapes() -> None:
    scale = protobuf.decode(envelope("autoscaling/v1", "Scale", meta("web") + lfield(2, vfield(1, 0))))
    assert scale["spec"] == {} and scale["status"] == {"replicas": 0}
    target = lfield(1, "Node") + lfield(3, "edge-1")
    binding = protobuf.decode(envelope("v1", "Binding", meta("p") + lfield(2, target)))
    assert binding["target"] == {"kind": "Node", "name": "edge-1"}
    endpoint = lfield(1, "10.0.0.5") + lfield(2, vfield(1, 1) + vfield(3, 0)) + lfield(6, "edge-1")
    port = lfield(1, "") + vfield(3, 8080)
    body = meta("s") + lfield(4, "IPv4") + lfield(2, endpoint) + lfield(3, port)
    assert protobuf.decode(envelope("discovery.k8s.io/v1", "EndpointSlice", body)) == {
        "kind": "EndpointSlice",
        "apiVersion": "discovery.k8s.io/v1",
        "metadata": {"name": "s", "creationTimestamp": None},
        "addressType": "IPv4",
        "endpoints": [
            {
                "addresses": ["10.0.0.5"],
                "conditions": {"ready": True, "terminating": False},
                "nodeName": "edge-1",
            }
        ],
        "ports": [{"name": "", "port": 8080}],
    }


def test_event_prints_its_non_omitempty_fields() -> None:
    event = protobuf.decode(envelope("v1", "Event", meta("e") + lfield(3, "Started")))
    assert event == {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {"name": "e", "creationTimestamp": None},
        "involvedObject": {},
        "reason": "Started",
        "source": {},
        "firstTimestamp": None,
        "lastTimestamp": None,
        "eventTime": None,
        "reportingComponent": "",
        "reportingInstance": "",
    }


def test_every_table_type_resolves() -> None:
    special = {
        "str",
        "bool",
        "i32",
        "i64",
        "bytes",
        "Time",
        "MicroTime",
        "Quantity",
        "IntOrString",
        "FieldsV1",
    }
    for message in protobuf._MESSAGES:
        for field_ in protobuf._table(message).values():
            assert field_.type in special or field_.type in protobuf._MESSAGES, (message, field_)


# -- hypothesis: only ever a dict or a 400 --


KNOWN = [
    ("v1", "Pod"),
    ("v1", "Service"),
    ("v1", "Secret"),
    ("v1", "Node"),
    ("v1", "Event"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "DaemonSet"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"),
    ("policy/v1", "Eviction"),
    ("autoscaling/v1", "Scale"),
    ("coordination.k8s.io/v1", "Lease"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
]


def decodes_or_400(raw: bytes) -> None:
    try:
        decoded = protobuf.decode(raw)
    except status.StatusError as err:
        assert err.code == 400 and err.reason == "BadRequest"
        return
    assert isinstance(decoded, dict) and "kind" in decoded
    json.dumps(decoded, allow_nan=False)


def wire_messages() -> st.SearchStrategy[bytes]:
    """Well-formed protobuf with random field numbers and wire types, nested, so decoding goes deep."""
    numbers = st.integers(1, 40)
    scalars = st.one_of(
        st.builds(vfield, numbers, st.integers(-(1 << 63), (1 << 64) - 1)),
        st.builds(lambda n, b: varint(n << 3 | 5) + b, numbers, st.binary(min_size=4, max_size=4)),
        st.builds(lambda n, b: varint(n << 3 | 1) + b, numbers, st.binary(min_size=8, max_size=8)),
        st.builds(lfield, numbers, st.binary(max_size=12)),
    )
    return st.recursive(
        st.lists(scalars, max_size=6).map(b"".join),
        lambda inner: st.lists(st.one_of(scalars, st.builds(lfield, numbers, inner)), max_size=6).map(
            b"".join
        ),
        max_leaves=40,
    )


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_decode_or_400(raw: bytes) -> None:
    decodes_or_400(raw)
    decodes_or_400(b"k8s\x00" + raw)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(KNOWN), wire_messages())
def test_random_wire_messages_in_known_kinds_decode_or_400(kind: tuple[str, str], body: bytes) -> None:
    decodes_or_400(envelope(*kind, body))


# bytes kubectl v1.32 sent for CREATE_COMMANDS["deployment"], CREATE_COMMANDS["service-nodeport"] and
# DEBUG_COPY (test_embedded_captures_are_current keeps them honest)
CAPTURES: dict[str, bytes] = {
    "deployment": bytes.fromhex(
        "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412be010a1f0a0377656212001a0022002a00320038"
        "0042005a0a0a036170701203776562128c010800120c0a0a0a0361707012037765621a720a1c0a0012001a0022002a00"
        "3200380042005a0a0a036170701203776562125212340a056e67696e78120a6e67696e783a312e32372a00320b0a0010"
        "0018903f22002a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a0100"
        "9a0100c2010022020a00280038001a0c0800100018002000280038001a002200"
    ),
    "service-nodeport": bytes.fromhex(
        "6b3873000a0d0a027631120753657276696365126a0a1d0a026e7012001a0022002a003200380042005a090a03617070"
        "12026e7012450a200a0738302d6874747012035443501850220a080110001a04687474702880eb0112090a0361707012"
        "026e701a0022084e6f6465506f72743a00420052005a00600068001a020a001a002200"
    ),
    "debug-copy": bytes.fromhex(
        "6b3873000a090a0276311203506f6412ee0d0a2b0a09726963682d636f707912001a0764656661756c7422002a003200"
        "3800420062090a046e6f746512017812ac0d0a1b0a0464617461121312110a064d656d6f727912070a053235364d690a"
        "1f0a04686f737412170a150a082f7661722f6c6f6712094469726563746f72790a260a03636667121f9a011c0a050a03"
        "636667120e0a01611206612e636f6e6618800218a40320010a130a03736563120c320a0a0563726564731880020a120a"
        "05636c61696d120952070a0370766310010a250a04646f776e121d82011a0a180a016c12130a00120f6d657461646174"
        "612e6c6162656c730a690a0470726f6a1261d2015e0a11220f0a0361706910901c1a05746f6b656e0a091a070a050a03"
        "6366670a190a170a070a056372656473120c0a04757365721204757365720a20121e0a1c0a026e7312160a0012126d65"
        "7461646174612e6e616d65737061636510a4031288050a03617070120a6e67696e783a312e323722022d67220b646165"
        "6d6f6e206f66663b2a042f73727632120a0468747470100018903f22035443502a0032160a0010824718824722035544"
        "502a07302e302e302e303a060a01411201313a090a05454d50545912003a1f0a044e4f444512001a150a130a02763112"
        "0d737065632e6e6f64654e616d653a260a034d454d12001a1d121b0a03617070120d6c696d6974732e6d656d6f72791a"
        "050a03314d693a160a02434d12001a0e1a0c0a050a0363666712016d18013a180a015312001a11220f0a070a05637265"
        "6473120475736572425f0a0d0a0363707512060a043530306d0a110a066d656d6f727912070a053132384d69120d0a03"
        "63707512060a043235306d121a0a11657068656d6572616c2d73746f7261676512050a0331476912100a066d656d6f72"
        "7912060a0436344d694a130a046461746110001a052f64617461220032004a1d0a0363666710011a082f6574632f6366"
        "6722086170702e636f6e66320052340a2812260a082f6865616c74687a120a080110001a04687474701a002204485454"
        "502a060a015812017910051800200a280030035a190a0d1a0b0a07080010903f1a001200100018022000280030006210"
        "0a080a060a04747275651204220208056a00720c49664e6f7450726573656e747a330a170a104e45545f42494e445f53"
        "4552564943451203414c4c20002800300138005a100a0e52756e74696d6544656661756c748001018801009001019a01"
        "0f0a044346475f12070a050a036366679a010f0a001a0b0a070a0563726564731000a2011546616c6c6261636b546f4c"
        "6f67734f6e4572726f72b201210a130a110a036361740a0a2f746d702f72656164791000180020002800300038001235"
        "0a086465627567676572120762757379626f781a05736c6565701a01312a0042006a007200800100880100900100a201"
        "0446696c651a054e65766572200028d8043217436c7573746572466972737457697468486f73744e65743a190a106b75"
        "6265726e657465732e696f2f6f7312056c696e7578420273614a005200580160006800723b10e80720b81720a01f28d0"
        "0f30e8073a1a0a126e65742e636f72652e736f6d6178636f6e6e1204313032344a0e4f6e526f6f744d69736d61746368"
        "7a050a03726567820104726963688a010373766392018a010a340a110a0f0a0d0a047a6f6e651202496e1a0161121f08"
        "0a121b12190a0d6d657461646174612e6e616d6512054e6f74496e1a017812230a210a10120e0a047469657212064578"
        "69737473120764656661756c741a047a6f6e651a2d122b086412270a0d0a0b0a036170701204726963681a166b756265"
        "726e657465732e696f2f686f73746e616d659a011164656661756c742d7363686564756c6572a2013a0a04696e697412"
        "0762757379626f781a0273681a022d631a04747275652a0042006a007200800100880100900100a20100c20106416c77"
        "617973a80100b201370a1e6e6f64652e6b756265726e657465732e696f2f756e726561636861626c6512064578697374"
        "731a0022094e6f457865637574652800b201190a016b1205457175616c1a0176220a4e6f5363686564756c65ba011c0a"
        "0831302e302e302e311207612e6c6f63616c1207622e6c6f63616cc2010468696768c80100d201290a07312e312e312e"
        "3112097376632e6c6f63616c1a0a0a056e646f74731201321a070a0565646e7330d80100e201130a116578616d706c65"
        "2e636f6d2f7265616479f00100fa01054e6576657282020c0a0363707512050a0331306d8a0242080112047a6f6e651a"
        "0d446f4e6f745363686564756c65220d0a0b0a0361707012047269636828023205486f6e6f724211706f642d74656d70"
        "6c6174652d68617368980200a202070a056c696e7578a80201b202120a106578616d706c652e636f6d2f676174651a10"
        "0a001a0022002a0032004a005a0072001a002200"
    ),
}


def test_embedded_captures_decode_without_kubectl() -> None:
    assert protobuf.decode(CAPTURES["deployment"]) == {
        "kind": "Deployment",
        "apiVersion": "apps/v1",
        "metadata": {"name": "web", "creationTimestamp": None, "labels": {"app": "web"}},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"creationTimestamp": None, "labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "nginx",
                            "image": "nginx:1.27",
                            "ports": [{"containerPort": 8080}],
                            "resources": {},
                        }
                    ]
                },
            },
            "strategy": {},
        },
        "status": {},
    }
    service = protobuf.decode(CAPTURES["service-nodeport"])
    assert service["spec"] == {
        "ports": [
            {"name": "80-http", "protocol": "TCP", "port": 80, "targetPort": "http", "nodePort": 30080}
        ],
        "selector": {"app": "np"},
        "type": "NodePort",
    }
    assert service["status"] == {"loadBalancer": {}}


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(sorted(CAPTURES)),
    st.lists(st.tuples(st.sampled_from(["flip", "insert", "delete"]), st.integers(0), st.integers(0, 255))),
)
def test_mutated_real_captures_decode_or_400(name: str, edits: list[tuple[str, int, int]]) -> None:
    raw = bytearray(CAPTURES[name])
    for action, position, byte in edits:
        at = position % (len(raw) + 1)
        if action == "insert":
            raw.insert(at, byte)
        elif raw and at < len(raw):
            if action == "flip":
                raw[at] ^= byte or 1
            else:
                del raw[at]
    decodes_or_400(bytes(raw))


# -- real kubectl v1.32 against a capture server --


def _resources(group_version: str, *rows: tuple[str, str, bool]) -> dict[str, Any]:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [
            {
                "name": name,
                "singularName": "",
                "namespaced": namespaced,
                "kind": kind,
                "verbs": ["create", "get"],
            }
            for name, kind, namespaced in rows
        ],
    }


_EVICTION = {
    "name": "pods/eviction",
    "singularName": "",
    "namespaced": True,
    "group": "policy",
    "version": "v1",
    "kind": "Eviction",
    "verbs": ["create"],
}
_LEGACY = _resources(
    "v1",
    ("namespaces", "Namespace", False),
    ("nodes", "Node", False),
    ("pods", "Pod", True),
    ("configmaps", "ConfigMap", True),
    ("secrets", "Secret", True),
    ("serviceaccounts", "ServiceAccount", True),
    ("services", "Service", True),
)
_LEGACY["resources"].append(_EVICTION)
_GROUPS = {
    "apps/v1": _resources(
        "apps/v1", ("deployments", "Deployment", True), ("replicasets", "ReplicaSet", True)
    ),
    "rbac.authorization.k8s.io/v1": _resources(
        "rbac.authorization.k8s.io/v1",
        ("roles", "Role", True),
        ("rolebindings", "RoleBinding", True),
        ("clusterroles", "ClusterRole", False),
        ("clusterrolebindings", "ClusterRoleBinding", False),
    ),
    "authorization.k8s.io/v1": _resources(
        "authorization.k8s.io/v1",
        ("selfsubjectaccessreviews", "SelfSubjectAccessReview", False),
        ("selfsubjectrulesreviews", "SelfSubjectRulesReview", False),
    ),
    "policy/v1": _resources("policy/v1", ("poddisruptionbudgets", "PodDisruptionBudget", True)),
}
_NODE = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "edge-1", "uid": "n-1"}, "spec": {}}
_DEPLOYMENT = {
    "kind": "Deployment",
    "apiVersion": "apps/v1",
    "metadata": {"name": "web", "namespace": "default", "uid": "d-1", "resourceVersion": "7"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"spec": {"containers": []}},
    },
}
_SCALE = {
    "kind": "Scale",
    "apiVersion": "autoscaling/v1",
    "metadata": {"name": "web", "namespace": "default", "resourceVersion": "7"},
    "spec": {"replicas": 3},
    "status": {"replicas": 1, "selector": "app=web"},
}
_DRAINED_POD = {
    "metadata": {
        "name": "web-1",
        "namespace": "default",
        "uid": "p-1",
        "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": "rs-1", "controller": True}
        ],
    },
    "spec": {"nodeName": "edge-1", "containers": [{"name": "c", "image": "nginx"}]},
}


@dataclass
class Posted:
    path: str
    content_type: str
    body: bytes


@dataclass
class CaptureServer:
    """Enough of an API server for kubectl: version, legacy discovery, the drain dance, and every
    POST recorded and answered with its decoded body."""

    posted: list[Posted] = field(default_factory=list)
    other: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.method == "POST":
            self.posted.append(Posted(request.path, request.content_type, body))
            return web.json_response(self._answer(body), status=201)
        if body:
            self.other.append(f"{request.method} {request.path} {request.content_type}")
        found = self._read_only(request.method, request.path)
        if found is None:
            return web.json_response(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "reason": "NotFound",
                    "code": 404,
                },
                status=404,
            )
        return web.json_response(found)

    @staticmethod
    def _answer(body: bytes) -> dict[str, Any]:
        obj = protobuf.decode(body) if body.startswith(b"k8s\x00") else json.loads(body)
        if obj.get("kind") == "SelfSubjectAccessReview":
            obj["status"] = {"allowed": True}
        if obj.get("kind") == "SelfSubjectRulesReview":
            obj["status"] = {"resourceRules": [], "nonResourceRules": [], "incomplete": False}
        return obj

    @staticmethod
    def _read_only(method: str, path: str) -> dict[str, Any] | None:
        if path == "/version":
            return {"major": "1", "minor": "32", "gitVersion": "v1.32.4", "platform": "linux/amd64"}
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
        if path == "/apis":
            groups = []
            for group_version in _GROUPS:
                group, version = group_version.split("/")
                entry = {"groupVersion": group_version, "version": version}
                groups.append({"name": group, "versions": [entry], "preferredVersion": entry})
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        if path == "/api/v1":
            return _LEGACY
        if path.startswith("/apis/") and path[len("/apis/") :] in _GROUPS:
            return _GROUPS[path[len("/apis/") :]]
        if path == "/api/v1/nodes/edge-1" and method in ("GET", "PATCH"):
            return _NODE
        if path == "/apis/apps/v1/namespaces/default/deployments/web":
            return _DEPLOYMENT
        if path == "/apis/apps/v1/namespaces/default/deployments/web/scale":
            return _SCALE
        if path == "/api/v1/namespaces/default/pods/rich" and method == "GET":
            return RICH_POD
        if path == "/api/v1/pods" and method == "GET":
            return {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": [_DRAINED_POD]}
        return None


@dataclass
class Kubectl:
    server: CaptureServer
    env: dict[str, str]

    async def run(self, *args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            KUBECTL,
            *args,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, f"kubectl {' '.join(args)}: {err.decode()}"
        return out.decode()

    async def capture(self, *args: str) -> Posted:
        """The one protobuf body kubectl POSTs for the command."""
        before = len(self.server.posted)
        await self.run(*args)
        posted = self.server.posted[before:]
        assert len(posted) == 1, [p.path for p in posted]
        assert posted[0].content_type == protobuf.PROTOBUF
        return posted[0]


@pytest.fixture
async def kubectl(tmp_path: Path) -> AsyncIterator[Kubectl]:
    if not os.access(KUBECTL, os.X_OK):
        pytest.fail(f"{KUBECTL} is required")
    server = CaptureServer()
    runner = web.AppRunner(server.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {"token": "capture"}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u", "namespace": "default"}}],
                "current-context": "x",
            }
        )
    )
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(home)}
    yield Kubectl(server, env)
    await runner.cleanup()
    shutil.rmtree(home, ignore_errors=True)


# a pod with most of PodSpec, written as Go's encoding/json prints it, served to `kubectl debug --copy-to`
RICH_POD: dict[str, Any] = {
    "kind": "Pod",
    "apiVersion": "v1",
    "metadata": {
        "name": "rich",
        "namespace": "default",
        "uid": "p-rich",
        "labels": {"app": "rich"},
        "annotations": {"note": "x"},
        "finalizers": ["example.com/keep"],
    },
    "spec": {
        "initContainers": [
            {
                "name": "init",
                "image": "busybox",
                "command": ["sh", "-c", "true"],
                "resources": {},
                "restartPolicy": "Always",
            }
        ],
        "containers": [
            {
                "name": "app",
                "image": "nginx:1.27",
                "imagePullPolicy": "IfNotPresent",
                "args": ["-g", "daemon off;"],
                "workingDir": "/srv",
                "ports": [
                    {"name": "http", "containerPort": 8080, "protocol": "TCP"},
                    {"containerPort": 9090, "hostPort": 9090, "protocol": "UDP", "hostIP": "0.0.0.0"},
                ],
                "env": [
                    {"name": "A", "value": "1"},
                    {"name": "EMPTY"},
                    {
                        "name": "NODE",
                        "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}},
                    },
                    {
                        "name": "MEM",
                        "valueFrom": {
                            "resourceFieldRef": {
                                "containerName": "app",
                                "resource": "limits.memory",
                                "divisor": "1Mi",
                            }
                        },
                    },
                    {
                        "name": "CM",
                        "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "m", "optional": True}},
                    },
                    {"name": "S", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "user"}}},
                ],
                "envFrom": [
                    {"prefix": "CFG_", "configMapRef": {"name": "cfg"}},
                    {"secretRef": {"name": "creds", "optional": False}},
                ],
                "resources": {
                    "limits": {"cpu": "500m", "memory": "128Mi"},
                    "requests": {"cpu": "250m", "memory": "64Mi", "ephemeral-storage": "1Gi"},
                },
                "volumeMounts": [
                    {"name": "data", "mountPath": "/data"},
                    {"name": "cfg", "mountPath": "/etc/cfg", "readOnly": True, "subPath": "app.conf"},
                ],
                "livenessProbe": {
                    "httpGet": {
                        "path": "/healthz",
                        "port": "http",
                        "scheme": "HTTP",
                        "httpHeaders": [{"name": "X", "value": "y"}],
                    },
                    "initialDelaySeconds": 5,
                    "periodSeconds": 10,
                    "failureThreshold": 3,
                },
                "readinessProbe": {"tcpSocket": {"port": 8080}, "timeoutSeconds": 2},
                "startupProbe": {
                    "exec": {"command": ["cat", "/tmp/ready"]},
                    "terminationGracePeriodSeconds": 0,
                },
                "lifecycle": {
                    "preStop": {"sleep": {"seconds": 5}},
                    "postStart": {"exec": {"command": ["true"]}},
                },
                "securityContext": {
                    "runAsUser": 0,
                    "runAsNonRoot": False,
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "terminationMessagePolicy": "FallbackToLogsOnError",
                "stdin": True,
                "tty": True,
            }
        ],
        "volumes": [
            {"name": "data", "emptyDir": {"medium": "Memory", "sizeLimit": "256Mi"}},
            {"name": "host", "hostPath": {"path": "/var/log", "type": "Directory"}},
            {
                "name": "cfg",
                "configMap": {
                    "name": "cfg",
                    "items": [{"key": "a", "path": "a.conf", "mode": 256}],
                    "defaultMode": 420,
                    "optional": True,
                },
            },
            {"name": "sec", "secret": {"secretName": "creds", "defaultMode": 256}},
            {"name": "claim", "persistentVolumeClaim": {"claimName": "pvc", "readOnly": True}},
            {
                "name": "down",
                "downwardAPI": {"items": [{"path": "l", "fieldRef": {"fieldPath": "metadata.labels"}}]},
            },
            {
                "name": "proj",
                "projected": {
                    "sources": [
                        {
                            "serviceAccountToken": {
                                "audience": "api",
                                "expirationSeconds": 3600,
                                "path": "token",
                            }
                        },
                        {"configMap": {"name": "cfg"}},
                        {"secret": {"name": "creds", "items": [{"key": "user", "path": "user"}]}},
                        {
                            "downwardAPI": {
                                "items": [{"path": "ns", "fieldRef": {"fieldPath": "metadata.namespace"}}]
                            }
                        },
                    ],
                    "defaultMode": 420,
                },
            },
        ],
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 0,
        "activeDeadlineSeconds": 600,
        "dnsPolicy": "ClusterFirstWithHostNet",
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "serviceAccountName": "sa",
        "automountServiceAccountToken": False,
        "hostNetwork": True,
        "shareProcessNamespace": False,
        "securityContext": {
            "runAsUser": 1000,
            "runAsGroup": 1000,
            "fsGroup": 2000,
            "supplementalGroups": [3000, 4000],
            "sysctls": [{"name": "net.core.somaxconn", "value": "1024"}],
            "fsGroupChangePolicy": "OnRootMismatch",
        },
        "imagePullSecrets": [{"name": "reg"}],
        "hostname": "rich",
        "subdomain": "svc",
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                    ]
                },
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 10,
                        "preference": {
                            "matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["x"]}]
                        },
                    }
                ],
            },
            "podAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "labelSelector": {"matchExpressions": [{"key": "tier", "operator": "Exists"}]},
                        "topologyKey": "zone",
                        "namespaces": ["default"],
                    }
                ]
            },
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "labelSelector": {"matchLabels": {"app": "rich"}},
                            "topologyKey": "kubernetes.io/hostname",
                        },
                    }
                ]
            },
        },
        "schedulerName": "default-scheduler",
        "tolerations": [
            {
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 0,
            },
            {"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"},
        ],
        "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a.local", "b.local"]}],
        "priorityClassName": "high",
        "priority": 0,
        "dnsConfig": {
            "nameservers": ["1.1.1.1"],
            "searches": ["svc.local"],
            "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
        },
        "readinessGates": [{"conditionType": "example.com/ready"}],
        "enableServiceLinks": False,
        "preemptionPolicy": "Never",
        "overhead": {"cpu": "10m"},
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "zone",
                "whenUnsatisfiable": "DoNotSchedule",
                "labelSelector": {"matchLabels": {"app": "rich"}},
                "minDomains": 2,
                "nodeAffinityPolicy": "Honor",
                "matchLabelKeys": ["pod-template-hash"],
            }
        ],
        "setHostnameAsFQDN": False,
        "os": {"name": "linux"},
        "hostUsers": True,
        "schedulingGates": [{"name": "example.com/gate"}],
    },
    "status": {},
}


CREATE_COMMANDS = {
    "namespace": ["create", "namespace", "team-a"],
    "configmap": ["create", "configmap", "settings", "--from-literal=mode=edge", "--from-literal=level=3"],
    "secret-generic": ["create", "secret", "generic", "creds", "--from-literal=user=admin", "--type=Opaque"],
    "secret-docker-registry": [
        "create",
        "secret",
        "docker-registry",
        "reg",
        "--docker-server=registry.local",
        "--docker-username=u",
        "--docker-password=p",
    ],
    "serviceaccount": ["create", "serviceaccount", "robot"],
    "deployment": ["create", "deployment", "web", "--image=nginx:1.27", "--replicas=0", "--port=8080"],
    "deployment-two-images-command": ["create", "deployment", "pair", "--image=busybox", "--image=redis"],
    "deployment-command": ["create", "deployment", "sleeper", "--image=busybox", "--", "sleep", "3600"],
    "service-clusterip": ["create", "service", "clusterip", "api", "--tcp=80:8080", "--tcp=443:8443"],
    "service-clusterip-headless": ["create", "service", "clusterip", "headless", "--clusterip=None"],
    "service-nodeport": ["create", "service", "nodeport", "np", "--tcp=80:http", "--node-port=30080"],
    "role": [
        "create",
        "role",
        "reader",
        "--verb=get,list,watch",
        "--resource=pods,deployments.apps",
        "--resource-name=web",
    ],
    "rolebinding": [
        "create",
        "rolebinding",
        "rb",
        "--role=reader",
        "--user=alice",
        "--serviceaccount=default:robot",
    ],
    "clusterrole": ["create", "clusterrole", "logs", "--verb=get", "--non-resource-url=/logs/*"],
    "clusterrole-aggregated": [
        "create",
        "clusterrole",
        "agg",
        "--aggregation-rule=example.com/aggregate=true",
    ],
    "clusterrolebinding": ["create", "clusterrolebinding", "crb", "--clusterrole=logs", "--group=ops"],
}


@pytest.mark.e2e
@pytest.mark.parametrize("name", sorted(CREATE_COMMANDS))
async def test_kubectl_bodies_decode_to_the_dry_run_object(kubectl: Kubectl, name: str) -> None:
    command = CREATE_COMMANDS[name]
    posted = await kubectl.capture(*command)
    printed = json.loads(await kubectl.run(*with_flags(command, "--dry-run=client", "-o", "json")))
    assert protobuf.decode(posted.body) == printed


def with_flags(command: list[str], *flags: str) -> list[str]:
    """Flags go before `--`, after which everything is the container's command."""
    cut = command.index("--") if "--" in command else len(command)
    return [*command[:cut], *flags, *command[cut:]]


DEBUG_COPY = [
    "debug",
    "rich",
    "--copy-to=rich-copy",
    "--image=busybox",
    "--container=debugger",
    "--",
    "sleep",
    "1",
]


@pytest.mark.e2e
async def test_embedded_captures_are_current(kubectl: Kubectl) -> None:
    for name, command in (
        ("deployment", CREATE_COMMANDS["deployment"]),
        ("service-nodeport", CREATE_COMMANDS["service-nodeport"]),
        ("debug-copy", DEBUG_COPY),
    ):
        assert (await kubectl.capture(*command)).body == CAPTURES[name], name


@pytest.mark.e2e
async def test_kubectl_debug_copy_round_trips_a_rich_pod_spec(kubectl: Kubectl) -> None:
    """kubectl reads RICH_POD as JSON into Go structs and sends the copy as protobuf: decoding it must
    give back the same JSON, apart from what `debug --copy-to` changes (legacy profile: name, labels,
    finalizers and uid dropped, one container added)."""
    posted = await kubectl.capture(*DEBUG_COPY)
    expected = json.loads(json.dumps(RICH_POD))
    expected["metadata"] = {
        "name": "rich-copy",
        "namespace": "default",
        "creationTimestamp": None,
        "annotations": {"note": "x"},
    }
    expected["spec"]["containers"].append(
        {
            "name": "debugger",
            "image": "busybox",
            "command": ["sleep", "1"],
            "resources": {},
            "terminationMessagePolicy": "File",
        }
    )
    assert posted.path == "/api/v1/namespaces/default/pods"
    assert protobuf.decode(posted.body) == expected


@pytest.mark.e2e
async def test_kubectl_debug_node_pod(kubectl: Kubectl) -> None:
    posted = await kubectl.capture("debug", "node/edge-1", "--image=busybox", "--", "sleep", "1")
    decoded = protobuf.decode(posted.body)
    assert decoded["metadata"]["name"].startswith("node-debugger-edge-1-")
    decoded["metadata"]["name"] = "node-debugger"
    # generateNodeDebugPod plus the legacy profile's root mount and host namespaces
    assert decoded == {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": "node-debugger", "creationTimestamp": None},
        "spec": {
            "volumes": [{"name": "host-root", "hostPath": {"path": "/"}}],
            "containers": [
                {
                    "name": "debugger",
                    "image": "busybox",
                    "command": ["sleep", "1"],
                    "resources": {},
                    "volumeMounts": [{"name": "host-root", "mountPath": "/host"}],
                    "terminationMessagePolicy": "File",
                }
            ],
            "restartPolicy": "Never",
            "nodeName": "edge-1",
            "hostNetwork": True,
            "hostPID": True,
            "hostIPC": True,
            "tolerations": [{"operator": "Exists"}],
        },
        "status": {},
    }


def review(kind: str, spec: dict[str, Any], status_: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": kind,
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": status_,
    }


# what `kubectl auth can-i` builds (no --dry-run there): Go prints status.allowed and the rules
# review's status lists although the client leaves them unset
CAN_I = {
    "create-pods": (
        ["create", "pods"],
        review(
            "SelfSubjectAccessReview",
            {"resourceAttributes": {"namespace": "default", "verb": "create", "resource": "pods"}},
            {"allowed": False},
        ),
    ),
    "subresource": (
        ["get", "pods", "--subresource=log", "-n", "kube-system"],
        review(
            "SelfSubjectAccessReview",
            {
                "resourceAttributes": {
                    "namespace": "kube-system",
                    "verb": "get",
                    "resource": "pods",
                    "subresource": "log",
                }
            },
            {"allowed": False},
        ),
    ),
    "grouped-all-namespaces": (
        ["list", "deployments.apps", "-A"],
        review(
            "SelfSubjectAccessReview",
            {"resourceAttributes": {"verb": "list", "group": "apps", "resource": "deployments"}},
            {"allowed": False},
        ),
    ),
    "non-resource": (
        ["get", "/logs"],
        review(
            "SelfSubjectAccessReview",
            {"nonResourceAttributes": {"path": "/logs", "verb": "get"}},
            {"allowed": False},
        ),
    ),
    "list": (
        ["--list"],
        review(
            "SelfSubjectRulesReview",
            {"namespace": "default"},
            {"resourceRules": None, "nonResourceRules": None, "incomplete": False},
        ),
    ),
}


@pytest.mark.e2e
@pytest.mark.parametrize("name", sorted(CAN_I))
async def test_kubectl_auth_can_i(kubectl: Kubectl, name: str) -> None:
    args, expected = CAN_I[name]
    posted = await kubectl.capture("auth", "can-i", *args)
    assert protobuf.decode(posted.body) == expected


@pytest.mark.e2e
async def test_kubectl_run_drain_and_scale_send_json_not_protobuf(kubectl: Kubectl) -> None:
    """Commands one might expect to use protobuf go through kubectl's JSON REST helpers instead."""
    await kubectl.run("run", "p", "--image=busybox", "--restart=Never", "--", "sleep", "1")
    await kubectl.run("drain", "edge-1", "--force", "--grace-period=30", "--timeout=20s")
    await kubectl.run("scale", "deployment/web", "--replicas=3")
    assert kubectl.server.other == [
        "PATCH /api/v1/nodes/edge-1 application/strategic-merge-patch+json",
        "PATCH /apis/apps/v1/namespaces/default/deployments/web/scale application/merge-patch+json",
    ]
    assert [(p.path, p.content_type) for p in kubectl.server.posted] == [
        ("/api/v1/namespaces/default/pods", "application/json"),
        ("/api/v1/namespaces/default/pods/web-1/eviction", "application/json"),
    ]
    assert json.loads(kubectl.server.posted[1].body)["deleteOptions"] == {"gracePeriodSeconds": 30}
