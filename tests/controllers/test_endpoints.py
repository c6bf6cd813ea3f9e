from __future__ import annotations

import asyncio

from distro.apiserver import status
from distro.controllers.client import resource
from distro.controllers.config import ControllerConfig
from tests.controllers.harness import eventually
from tests.controllers.test_endpointslice import add_node, add_pod, add_service, set_ready

PODS = resource("", "pods")
SERVICES = resource("", "services")
ENDPOINTS = resource("", "endpoints")


async def endpoints(cluster, name: str = "web") -> dict | None:
    try:
        return await cluster.get("", "endpoints", name)
    except status.StatusError as exc:
        assert exc.code == 404
        return None


def addresses(ep: dict, key: str = "addresses") -> list[str]:
    return sorted(a["ip"] for subset in ep.get("subsets") or [] for a in subset.get(key) or [])


async def test_endpoints_mirror_pod_readiness(cluster):
    await cluster.run_controllers(("endpoints",))
    await add_node(cluster)
    pod = await add_pod(cluster, "web-0", "10.42.0.10")
    await add_pod(cluster, "web-1", "10.42.0.11", ready=False)
    await add_service(cluster)

    async def state(ready: list[str], not_ready: list[str]) -> dict:
        ep = await endpoints(cluster)
        assert ep is not None
        assert addresses(ep) == ready and addresses(ep, "notReadyAddresses") == not_ready, ep
        return ep

    ep = await eventually(lambda: state(["10.42.0.10"], ["10.42.0.11"]))
    assert ep["metadata"]["labels"] == {"team": "blue"}
    assert "endpoints.kubernetes.io/last-change-trigger-time" in ep["metadata"]["annotations"]
    [subset] = ep["subsets"]
    assert subset["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP", "appProtocol": "http"}]
    assert subset["addresses"] == [
        {
            "ip": "10.42.0.10",
            "nodeName": "node-1",
            "targetRef": {
                "kind": "Pod",
                "namespace": "default",
                "name": "web-0",
                "uid": pod["metadata"]["uid"],
            },
        }
    ]

    await set_ready(cluster, "web-1", True)
    await eventually(lambda: state(["10.42.0.10", "10.42.0.11"], []))
    await set_ready(cluster, "web-0", False)
    await eventually(lambda: state(["10.42.0.11"], ["10.42.0.10"]))
    # a terminating pod leaves the legacy Endpoints altogether
    await cluster.client.delete(PODS, "default", "web-1")
    await eventually(lambda: state([], ["10.42.0.10"]))


async def test_pods_with_different_ports_get_separate_subsets(cluster):
    await cluster.run_controllers(("endpoints",))
    await add_node(cluster)
    await add_pod(cluster, "a", "10.42.0.1", http_port=8080)
    await add_pod(cluster, "b", "10.42.0.2", http_port=9090)
    await add_service(cluster)

    async def two_subsets():
        ep = await endpoints(cluster)
        assert ep is not None and len(ep.get("subsets") or []) == 2, ep
        by_port = {s["ports"][0]["port"]: addresses({"subsets": [s]}) for s in ep["subsets"]}
        assert by_port == {8080: ["10.42.0.1"], 9090: ["10.42.0.2"]}
        return True

    await eventually(two_subsets)


async def test_over_capacity_is_truncated_ready_first(cluster):
    await cluster.run_controllers(("endpoints",))
    cluster.manager.controllers["endpoints"].max_addresses = 3
    await add_node(cluster)
    for i in range(3):
        await add_pod(cluster, f"r-{i}", f"10.42.0.{i + 1}")
    for i in range(2):
        await add_pod(cluster, f"n-{i}", f"10.42.1.{i + 1}", ready=False)
    await add_service(cluster)

    async def truncated():
        ep = await endpoints(cluster)
        assert ep is not None and len(addresses(ep)) == 3, ep
        assert addresses(ep, "notReadyAddresses") == []
        assert ep["metadata"]["annotations"]["endpoints.kubernetes.io/over-capacity"] == "truncated"
        return True

    await eventually(truncated)
    for i in range(3):
        await cluster.client.delete(PODS, "default", f"r-{i}", grace_period=0)

    async def fits_again():
        ep = await endpoints(cluster)
        assert ep is not None and addresses(ep, "notReadyAddresses") == ["10.42.1.1", "10.42.1.2"], ep
        assert "endpoints.kubernetes.io/over-capacity" not in ep["metadata"]["annotations"]
        return True

    await eventually(fits_again)


async def test_deleted_service_takes_its_endpoints_and_leftovers_go_at_start(cluster):
    await cluster.create("", "endpoints", {"metadata": {"name": "orphan"}, "subsets": []})
    await cluster.create(
        "",
        "endpoints",
        {"metadata": {"name": "lock", "annotations": {"control-plane.alpha.kubernetes.io/leader": "{}"}}},
    )
    await cluster.run_controllers(("endpoints",))
    await add_service(cluster)
    await eventually(lambda: endpoints(cluster))
    await cluster.client.delete(SERVICES, "default", "web")

    async def gone(name: str) -> bool:
        return await endpoints(cluster, name) is None

    await eventually(lambda: gone("web"))
    await eventually(lambda: gone("orphan"))
    assert await endpoints(cluster, "lock") is not None


async def test_selectorless_service_endpoints_are_left_alone(cluster):
    await cluster.run_controllers(("endpoints",))
    await add_service(cluster, name="manual", selector={})
    created = await cluster.create(
        "",
        "endpoints",
        {
            "metadata": {"name": "manual"},
            "subsets": [{"addresses": [{"ip": "192.0.2.1"}], "ports": [{"port": 80}]}],
        },
    )
    await asyncio.sleep(0.5)
    still = await endpoints(cluster, "manual")
    assert (
        still is not None and still["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    )


async def test_kubernetes_endpoints_point_at_the_api_server(cluster):
    await cluster.run_controllers(
        ("endpoints",), ControllerConfig(advertise_address="192.0.2.10", advertise_port=6444)
    )

    async def kubernetes():
        ep = await endpoints(cluster, "kubernetes")
        assert ep is not None
        assert ep["subsets"] == [
            {
                "addresses": [{"ip": "192.0.2.10"}],
                "ports": [{"name": "https", "port": 6444, "protocol": "TCP"}],
            }
        ]
        assert ep["metadata"]["labels"] == {"endpointslice.kubernetes.io/skip-mirror": "true"}
        return True

    await eventually(kubernetes)
    await cluster.client.delete(ENDPOINTS, "default", "kubernetes")
    await eventually(kubernetes)
