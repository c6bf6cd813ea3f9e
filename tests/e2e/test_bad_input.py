"""Malformed requests get a Kubernetes Status with the right code and reason, never a 500, and the
server keeps serving; a hypothesis fuzz over bodies and query strings asserts no 5xx."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.apiserver import ssl_context

pytestmark = pytest.mark.e2e

CMS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture
async def http(edge):
    ctx = ssl_context(edge, edge.kubeconfig)
    async with aiohttp.ClientSession(base_url=edge.url, connector=aiohttp.TCPConnector(ssl=ctx)) as session:
        yield session


async def send(
    http,
    method: str,
    path: str,
    data: bytes | str | None = None,
    content_type: str = "application/json",
    params: dict | None = None,
) -> tuple[int, dict]:
    async with http.request(
        method, path, data=data, params=params, headers={"Content-Type": content_type}
    ) as r:
        text = await r.text()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, {"raw": text}


@pytest.mark.parametrize(
    ("body", "content_type", "code", "reason"),
    [
        (b"{not json", "application/json", 400, "BadRequest"),
        (b"key: [unclosed", "application/yaml", 400, "BadRequest"),
        (b"[]", "application/json", 400, "BadRequest"),
        (b'"a string"', "application/json", 400, "BadRequest"),
        (
            json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}}),
            "application/json",
            400,
            "BadRequest",
        ),
        (
            json.dumps({"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
            "application/json",
            400,
            "BadRequest",
        ),
        (
            json.dumps(
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "other"}}
            ),
            "application/json",
            400,
            "BadRequest",
        ),
        (
            json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}),
            "application/json",
            422,
            "Invalid",
        ),
        (
            json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": "nope"}),
            "application/json",
            400,
            "BadRequest",
        ),
        (
            json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "bogus": 1}),
            "application/json",
            400,
            "BadRequest",
        ),
        (b"<xml/>", "application/xml", 415, "UnsupportedMediaType"),
    ],
)
async def test_bad_bodies_get_status(http, body, content_type, code, reason):
    got, status = await send(http, "POST", CMS, body, content_type, params={"fieldValidation": "Strict"})
    assert got == code, status
    assert status["kind"] == "Status" and status["status"] == "Failure"
    assert status["reason"] == reason and status["code"] == code


async def test_invalid_object_lists_causes(http):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c"}]},
    }
    code, status = await send(http, "POST", "/api/v1/namespaces/default/pods", json.dumps(pod))
    assert code == 422
    assert status["message"] == 'Pod "p" is invalid: spec.containers[0].image: Required value'
    assert status["details"]["causes"] == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers[0].image"}
    ]


async def test_oversized_body_is_413_and_server_survives(http):
    big = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "big"},
            "data": {"x": "a" * (3 * 1024 * 1024 + 10)},
        }
    )
    code, status = await send(http, "POST", CMS, big)
    assert code == 413 and status["reason"] == "RequestEntityTooLarge"
    code, _ = await send(http, "GET", CMS)
    assert code == 200


async def test_unknown_resource_and_name_mismatch(http):
    code, status = await send(http, "GET", "/api/v1/namespaces/default/widgets")
    assert code == 404 and status["reason"] == "NotFound"
    code, status = await send(http, "GET", "/apis/nope.example/v1/things")
    assert code == 404
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "other"}}
    code, status = await send(http, "PUT", f"{CMS}/one", json.dumps(body))
    assert code == 400 and status["reason"] == "BadRequest"


async def test_update_conflict_message(http):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conflicted"}}
    code, created = await send(http, "POST", CMS, json.dumps(body))
    assert code == 201
    changed = {**created, "data": {"k": "v"}}
    assert (await send(http, "PUT", f"{CMS}/conflicted", json.dumps(changed)))[0] == 200
    code, status = await send(http, "PUT", f"{CMS}/conflicted", json.dumps(created))
    assert code == 409 and status["reason"] == "Conflict"
    assert status["message"] == (
        'Operation cannot be fulfilled on configmaps "conflicted": the object has been '
        "modified; please apply your changes to the latest version and try again"
    )


async def test_bad_query_strings(http):
    for params in (
        {"limit": "x"},
        {"labelSelector": "a in (b"},
        {"fieldSelector": "spec.x=1"},
        {"resourceVersion": "abc"},
        {"resourceVersionMatch": "Bogus", "resourceVersion": "1"},
    ):
        code, status = await send(http, "GET", CMS, params=params)
        assert 400 <= code < 500, (params, status)
        assert status["kind"] == "Status"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
objects = st.fixed_dictionaries(
    {
        "apiVersion": st.sampled_from(["v1", "apps/v1", ""]),
        "kind": st.sampled_from(["ConfigMap", "Pod", "X"]),
        "metadata": st.one_of(json_values, st.fixed_dictionaries({"name": st.text(max_size=12)})),
    },
    optional={"data": json_values, "spec": json_values, "status": json_values},
)
paths = st.sampled_from(
    [
        CMS,
        "/api/v1/namespaces/default/pods",
        "/apis/apps/v1/namespaces/default/deployments",
        "/api/v1/services",
        "/api/v1/namespaces/default/pods/x/status",
    ]
)
queries = st.dictionaries(
    st.sampled_from(
        [
            "limit",
            "continue",
            "labelSelector",
            "fieldSelector",
            "resourceVersion",
            "watch",
            "timeoutSeconds",
            "dryRun",
            "fieldValidation",
            "fieldManager",
            "propagationPolicy",
        ]
    ),
    st.text(max_size=15),
    max_size=3,
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
    path=paths,
    body=objects,
    query=queries,
    patch_type=st.sampled_from(
        [
            "application/merge-patch+json",
            "application/json-patch+json",
            "application/strategic-merge-patch+json",
            "application/apply-patch+yaml",
        ]
    ),
)
async def test_fuzz_never_500(edge, method, path, body, query, patch_type):
    ctx = ssl_context(edge, edge.kubeconfig)
    query = {k: v for k, v in query.items() if k != "watch"} | (
        {"timeoutSeconds": "1"} if "watch" in query else {}
    )
    async with aiohttp.ClientSession(base_url=edge.url, connector=aiohttp.TCPConnector(ssl=ctx)) as http:
        content_type = patch_type if method == "PATCH" else "application/json"
        target = path if method in ("POST", "GET") else path + "/fuzzed"
        code, status = await send(http, method, target, json.dumps(body), content_type, params=query)
        assert code < 500, (method, target, body, query, status)


async def test_field_validation_modes(http):
    dup = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup"},"data":{"a":"1"},"data":{"b":"2"}}'
    code, status = await send(http, "POST", CMS, dup, params={"fieldValidation": "Strict"})
    assert (code, status["message"]) == (400, 'strict decoding error: duplicate field "data"')
    unknown = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "warned"}, "bogus": 1}
    async with http.post(CMS, json=unknown, params={"fieldValidation": "Warn"}) as resp:
        assert resp.status == 201
        assert resp.headers.getall("Warning") == ['299 - "unknown field \\"bogus\\""']
        assert "bogus" not in await resp.json()
    unknown["metadata"]["name"] = "ignored"
    async with http.post(CMS, json=unknown, params={"fieldValidation": "Ignore"}) as resp:
        assert resp.status == 201 and "Warning" not in resp.headers
    code, status = await send(http, "POST", CMS, json.dumps(unknown), params={"fieldValidation": "Loose"})
    assert code == 400 and "Invalid fieldValidation" in status["message"]


async def test_concurrent_patches_without_a_precondition_all_apply(http):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "contended"}, "data": {}}
    assert (await send(http, "POST", CMS, json.dumps(body)))[0] == 201

    async def patch(i: int) -> int:
        merge = json.dumps({"data": {f"k{i}": str(i)}})
        return (await send(http, "PATCH", f"{CMS}/contended", merge, "application/merge-patch+json"))[0]

    codes = await asyncio.gather(*(patch(i) for i in range(40)))
    assert codes == [200] * 40
    code, cm = await send(http, "GET", f"{CMS}/contended")
    assert len(cm["data"]) == 40
    stale = json.dumps({"metadata": {"resourceVersion": "1"}, "data": {"x": "y"}})
    code, status = await send(http, "PATCH", f"{CMS}/contended", stale, "application/merge-patch+json")
    assert code == 409 and status["reason"] == "Conflict"


async def test_dry_run_validates_and_stores_nothing(http):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry"}, "data": {"a": "b"}}
    code, obj = await send(http, "POST", CMS, json.dumps(body), params={"dryRun": "All"})
    assert code == 201 and obj["metadata"]["name"] == "dry" and obj["metadata"]["uid"]
    assert (await send(http, "GET", f"{CMS}/dry"))[0] == 404
    bad = {**body, "metadata": {"name": "Not_Valid"}}
    code, status = await send(http, "POST", CMS, json.dumps(bad), params={"dryRun": "All"})
    assert code == 422
    code, status = await send(http, "POST", CMS, json.dumps(body), params={"dryRun": "Some"})
    assert code == 400 and "dryRun" in status["message"]
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "dry-svc"},
        "spec": {"ports": [{"port": 80}]},
    }
    code, obj = await send(
        http, "POST", "/api/v1/namespaces/default/services", json.dumps(svc), params={"dryRun": "All"}
    )
    assert code == 201 and obj["spec"]["clusterIP"].startswith("10.43.")
    assert (await send(http, "GET", "/api/v1/namespaces/default/services/dry-svc"))[0] == 404


async def test_deletecollection_binding_and_eviction(http):
    for i in range(3):
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"dc-{i}", "labels": {"batch": "x"}},
        }
        assert (await send(http, "POST", CMS, json.dumps(body)))[0] == 201
    code, deleted = await send(http, "DELETE", CMS, params={"labelSelector": "batch=x"})
    assert code == 200 and sorted(o["metadata"]["name"] for o in deleted["items"]) == ["dc-0", "dc-1", "dc-2"]
    code, left = await send(http, "GET", CMS, params={"labelSelector": "batch=x"})
    assert left["items"] == []

    pods = "/api/v1/namespaces/default/pods"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "to-bind"},
        "spec": {"schedulerName": "someone-else", "containers": [{"name": "c", "image": "busybox"}]},
    }
    assert (await send(http, "POST", pods, json.dumps(pod)))[0] == 201
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "to-bind"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "edge-9"},
    }
    code, _ = await send(http, "POST", f"{pods}/to-bind/binding", json.dumps(binding))
    assert code == 201
    code, bound = await send(http, "GET", f"{pods}/to-bind")
    assert bound["spec"]["nodeName"] == "edge-9"
    code, again = await send(http, "POST", f"{pods}/to-bind/binding", json.dumps(binding))
    assert code == 409 and 'is already assigned to node "edge-9"' in again["message"]
    eviction = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": "to-bind"},
        "deleteOptions": {"gracePeriodSeconds": 0},
    }
    code, _ = await send(http, "POST", f"{pods}/to-bind/eviction", json.dumps(eviction))
    assert code == 201
    assert (await send(http, "GET", f"{pods}/to-bind"))[0] == 404
