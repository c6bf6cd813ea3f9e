from __future__ import annotations

import asyncio
import datetime as dt

from distro.controllers.client import resource
from distro.controllers.config import ControllerConfig
from distro.controllers.endpointslice import CONTROLLER_NAME, MANAGED_BY_LABEL, SERVICE_NAME_LABEL
from tests.controllers.harness import eventually

PODS = resource("", "pods")
SERVICES = resource("", "services")
SLICES = resource("discovery.k8s.io", "endpointslices")


async def add_node(cluster, name: str = "node-1", zone: str = "") -> None:
    labels = {"topology.kubernetes.io/zone": zone} if zone else {}
    await cluster.create("", "nodes", {"metadata": {"name": name, "labels": labels}}, "")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def set_ready(cluster, name: str, ready: bool, namespace: str = "default") -> None:
    condition = {"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": _now()}
    await cluster.client.patch(
        PODS, namespace, name, {"status": {"conditions": [condition]}}, subresource="status"
    )


async def add_pod(
    cluster,
    name: str,
    ip: str,
    *,
    labels: dict[str, str] | None = None,
    ready: bool = True,
    node: str = "node-1",
    http_port: int = 8080,
    namespace: str = "default",
) -> dict:
    container = {"name": "c", "image": "nginx", "ports": [{"name": "http", "containerPort": http_port}]}
    pod = await cluster.create(
        "",
        "pods",
        {
            "metadata": {"name": name, "labels": labels or {"app": "web"}},
            "spec": {"nodeName": node, "containers": [container]},
        },
        namespace,
    )
    await cluster.client.patch(
        PODS,
        namespace,
        name,
        {"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}},
        subresource="status",
    )
    await set_ready(cluster, name, ready, namespace)
    return pod


async def add_service(
    cluster, name: str = "web", selector: dict[str, str] | None = None, target_port: object = "http", **spec
) -> dict:
    body = {
        "metadata": {"name": name, "labels": {"team": "blue"}},
        "spec": {
            "selector": selector if selector is not None else {"app": "web"},
            "ports": [{"name": "web", "port": 80, "targetPort": target_port, "appProtocol": "http"}],
            **spec,
        },
    }
    if selector == {}:
        del body["spec"]["selector"]
    return await cluster.create("", "services", body)


async def slices_of(cluster, service: str = "web", namespace: str = "default") -> list[dict]:
    return await cluster.list(
        "discovery.k8s.io", "endpointslices", namespace, label_selector=f"{SERVICE_NAME_LABEL}={service}"
    )


async def one_slice(cluster, service: str = "web") -> dict:
    slices = await slices_of(cluster, service)
    assert len(slices) == 1, slices
    return slices[0]


def endpoints_by_pod(slices: list[dict]) -> dict[str, dict]:
    return {ep["targetRef"]["name"]: ep for s in slices for ep in s.get("endpoints") or []}


async def test_slice_follows_pod_readiness_then_termination(cluster):
    await cluster.run_controllers(("endpointslice",))
    await add_node(cluster, zone="zone-a")
    pod = await add_pod(cluster, "web-0", "10.42.0.10")
    service = await add_service(cluster)

    async def endpoint_with(**conditions):
        slices = await slices_of(cluster)
        ep = endpoints_by_pod(slices).get("web-0")
        assert ep is not None and ep["conditions"] == conditions, slices
        return slices

    await eventually(lambda: endpoint_with(ready=True, serving=True, terminating=False))
    slice_ = await one_slice(cluster)
    meta = slice_["metadata"]
    assert meta["name"].startswith("web-") and len(meta["name"]) == len("web-") + 5
    assert meta["labels"] == {SERVICE_NAME_LABEL: "web", MANAGED_BY_LABEL: CONTROLLER_NAME, "team": "blue"}
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "name": "web",
            "uid": service["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert "endpoints.kubernetes.io/last-change-trigger-time" in meta["annotations"]
    assert slice_["addressType"] == "IPv4"
    assert slice_["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP", "appProtocol": "http"}]
    [ep] = slice_["endpoints"]
    assert ep["addresses"] == ["10.42.0.10"]
    assert ep["nodeName"] == "node-1" and ep["zone"] == "zone-a"
    assert ep["targetRef"] == {
        "kind": "Pod",
        "namespace": "default",
        "name": "web-0",
        "uid": pod["metadata"]["uid"],
    }

    await set_ready(cluster, "web-0", False)
    await eventually(lambda: endpoint_with(ready=False, serving=False, terminating=False))
    await set_ready(cluster, "web-0", True)
    await eventually(lambda: endpoint_with(ready=True, serving=True, terminating=False))

    marked = await cluster.client.delete(PODS, "default", "web-0")
    assert marked is not None and marked["metadata"]["deletionTimestamp"]
    # terminating: no longer ready, still serving while its Ready condition holds
    slices = await eventually(lambda: endpoint_with(ready=False, serving=True, terminating=True))
    assert [s["metadata"]["name"] for s in slices] == [meta["name"]]  # updated in place

    await cluster.client.delete(PODS, "default", "web-0", grace_period=0)

    async def placeholder_only():
        slices = await slices_of(cluster)
        return len(slices) == 1 and not slices[0].get("endpoints") and not slices[0].get("ports")

    await eventually(placeholder_only)


async def test_named_target_port_is_resolved_per_pod(cluster):
    await cluster.run_controllers(("endpointslice",))
    await add_node(cluster)
    await add_pod(cluster, "a", "10.42.0.1", http_port=8080)
    await add_pod(cluster, "b", "10.42.0.2", http_port=8080)
    await add_pod(cluster, "c", "10.42.0.3", http_port=9090)
    await add_service(cluster)

    async def split_by_port():
        by_port = {
            s["ports"][0]["port"]: sorted(ep["addresses"][0] for ep in s["endpoints"])
            for s in await slices_of(cluster)
            if s.get("ports")
        }
        assert by_port == {8080: ["10.42.0.1", "10.42.0.2"], 9090: ["10.42.0.3"]}, by_port
        return True

    await eventually(split_by_port)


async def test_numeric_target_port_and_publish_not_ready(cluster):
    await cluster.run_controllers(("endpointslice",))
    await add_node(cluster)
    await add_pod(cluster, "slow", "10.42.0.7", ready=False)
    await add_service(cluster, target_port=7070, publishNotReadyAddresses=True)

    async def published():
        s = await one_slice(cluster)
        assert s.get("ports") and s["ports"][0]["port"] == 7070, s
        [ep] = s["endpoints"]
        assert ep["conditions"] == {"ready": True, "serving": False, "terminating": False}
        return True

    await eventually(published)


async def test_pod_on_unknown_node_waits_for_the_node(cluster):
    await cluster.run_controllers(("endpointslice",))
    await add_pod(cluster, "early", "10.42.0.8", node="late-node")
    await add_service(cluster)
    await eventually(lambda: _has_slices(cluster))
    assert endpoints_by_pod(await slices_of(cluster)) == {}
    await add_node(cluster, "late-node")
    await eventually(lambda: _has_endpoint(cluster, "early"))


async def _has_slices(cluster) -> bool:
    return bool(await slices_of(cluster))


async def _has_endpoint(cluster, pod: str) -> bool:
    return pod in endpoints_by_pod(await slices_of(cluster))


async def test_many_endpoints_split_into_slices_and_one_change_touches_one_slice(cluster):
    await cluster.run_controllers(("endpointslice",))
    await add_node(cluster)
    await add_service(cluster)
    await asyncio.gather(*(add_pod(cluster, f"p-{i}", f"10.42.{i // 200}.{i % 200 + 1}") for i in range(150)))

    async def all_placed():
        slices = await slices_of(cluster)
        eps = endpoints_by_pod(slices)
        ready = [e for e in eps.values() if e["conditions"]["ready"]]
        assert len(ready) == 150, len(ready)
        return slices

    slices = await eventually(all_placed, within=30)
    assert sorted(len(s["endpoints"]) for s in slices) == [50, 100]
    assert sum(len(s["endpoints"]) for s in slices) == 150  # no endpoint in two slices
    await asyncio.sleep(0.3)  # let follow-up syncs settle before taking the baseline
    before = {s["metadata"]["name"]: s["metadata"]["resourceVersion"] for s in await slices_of(cluster)}
    target = next(s for s in slices if len(s["endpoints"]) == 50)["endpoints"][0]["targetRef"]["name"]

    await set_ready(cluster, target, False)

    async def flipped():
        after = await slices_of(cluster)
        assert endpoints_by_pod(after)[target]["conditions"]["ready"] is False
        return after

    after = await eventually(flipped)
    await asyncio.sleep(0.3)
    after = await slices_of(cluster)
    changed = {
        s["metadata"]["name"]
        for s in after
        if before.get(s["metadata"]["name"]) != s["metadata"]["resourceVersion"]
    }
    assert set(before) == {s["metadata"]["name"] for s in after}
    assert len(changed) == 1


async def test_selector_change_moves_the_endpoints(cluster):
    await cluster.run_controllers(("endpointslice",))
    await add_node(cluster)
    await add_pod(cluster, "blue", "10.42.0.1", labels={"app": "web", "color": "blue"})
    await add_pod(cluster, "green", "10.42.0.2", labels={"app": "web", "color": "green"})
    await add_service(cluster, selector={"color": "blue"})

    async def only(pod: str):
        eps = endpoints_by_pod(await slices_of(cluster))
        assert set(eps) == {pod}, eps
        return True

    await eventually(lambda: only("blue"))
    await cluster.client.patch(SERVICES, "default", "web", {"spec": {"selector": {"color": "green"}}})
    await eventually(lambda: only("green"))


async def test_deleting_the_service_deletes_its_slices(cluster):
    await cluster.run_controllers(("endpointslice",))
    await add_node(cluster)
    await add_pod(cluster, "web-0", "10.42.0.1")
    await add_service(cluster)
    await eventually(lambda: _has_endpoint(cluster, "web-0"))
    await cluster.client.delete(SERVICES, "default", "web")

    async def none_left():
        return await slices_of(cluster) == []

    await eventually(none_left)


async def test_selectorless_service_slices_are_left_to_their_owner(cluster):
    await cluster.run_controllers(("endpointslice",))
    await add_service(cluster, name="external", selector={})
    manual = {
        "metadata": {"name": "external-manual", "labels": {SERVICE_NAME_LABEL: "external"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["192.0.2.1"]}],
        "ports": [{"name": "web", "port": 80, "protocol": "TCP"}],
    }
    created = await cluster.create("discovery.k8s.io", "endpointslices", manual)
    await asyncio.sleep(0.5)
    [still] = await slices_of(cluster, "external")
    assert still["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_kubernetes_service_slice_points_at_the_api_server(cluster):
    config = ControllerConfig(advertise_address="192.0.2.10", advertise_port=6444)
    await cluster.run_controllers(("endpointslice",), config)

    async def kubernetes_slice():
        s = await one_slice(cluster, "kubernetes")
        assert s["metadata"]["name"] == "kubernetes"
        assert s["addressType"] == "IPv4"
        assert s["endpoints"] == [{"addresses": ["192.0.2.10"], "conditions": {"ready": True}}]
        assert s["ports"] == [{"name": "https", "port": 6444, "protocol": "TCP"}]
        return s

    current = await eventually(kubernetes_slice)
    assert MANAGED_BY_LABEL not in current["metadata"]["labels"]
    current["endpoints"] = [{"addresses": ["192.0.2.99"], "conditions": {"ready": True}}]
    await cluster.client.update(SLICES, current)
    await eventually(kubernetes_slice)  # put back
