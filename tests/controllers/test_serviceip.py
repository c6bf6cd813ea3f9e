from __future__ import annotations

from distro.apiserver import ipalloc, status
from distro.controllers.client import resource
from tests.controllers.harness import eventually

SERVICES = resource("", "services")


def service(name: str, cluster_ip: str = "", node_port: int = 0) -> dict:
    port: dict = {"port": 80}
    spec: dict = {"selector": {"app": name}, "ports": [port]}
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
    if node_port:
        spec["type"] = "NodePort"
        port["nodePort"] = node_port
    return {"metadata": {"name": name}, "spec": spec}


async def started_repairer(cluster):
    """The controller after its first, automatic repair: later repairs are the test's own."""
    await cluster.run_controllers(("serviceip",))
    controller = cluster.manager.controllers["serviceip"]
    await eventually(lambda: _repaired_once(controller))
    return controller


async def _repaired_once(controller) -> bool:
    return controller.completed_repairs >= 1


async def _cached(controller, name: str) -> bool:
    return controller.services.get("default", name) is not None


async def warnings(cluster, reason: str) -> list[dict]:
    await cluster.manager.controllers["serviceip"].recorder.flush()
    return [e for e in await cluster.list("", "events", "default") if e["reason"] == reason]


async def test_leaked_ip_and_port_are_released_after_repeated_checks(cluster):
    controller = await started_repairer(cluster)
    ips = cluster.api.service_ips
    ports = ipalloc.node_ports(cluster.api.ds)
    await ips.reserve("10.43.9.9", "default/ghost")
    await ports.reserve(31999, "default/ghost")
    for _ in range(controller.leak_checks - 1):
        await controller.repair()
    # a key may belong to a Service being created right now: not released at first sight
    assert "default/ghost" in (await ips.allocator.allocated()).values()
    assert (await ports.allocated()).get(31999) == "default/ghost"
    await controller.repair()
    assert "default/ghost" not in (await ips.allocator.allocated()).values()
    assert 31999 not in await ports.allocated()


async def test_used_ip_and_port_without_keys_are_reserved_again(cluster):
    controller = await started_repairer(cluster)
    created = await cluster.create("", "services", service("web", "10.43.7.7", 30123))
    ips = cluster.api.service_ips
    ports = ipalloc.node_ports(cluster.api.ds)
    await ips.release("10.43.7.7")
    await ports.release(30123)
    await controller.repair()
    assert (await ips.allocator.allocated())[int(ips.network.network_address) + 7 * 256 + 7] == "default/web"
    assert (await ports.allocated())[30123] == "default/web"
    [event] = await warnings(cluster, "ClusterIPNotAllocated")
    assert event["message"] == "Cluster IP [IPv4]:10.43.7.7 is not allocated; repairing"
    assert event["involvedObject"]["uid"] == created["metadata"]["uid"]
    assert event["source"]["component"] == "ipallocator-repair-controller"
    [port_event] = await warnings(cluster, "PortNotAllocated")
    assert port_event["message"] == "Port 30123 is not allocated; repairing"
    assert port_event["source"]["component"] == "portallocator-repair-controller"


async def test_ip_used_by_two_services_is_reported_on_the_one_without_the_key(cluster):
    controller = await started_repairer(cluster)
    await cluster.create("", "services", service("first", "10.43.8.8", 30200))
    # lose first's keys, so the API server lets a second Service take the same IP and port
    await cluster.api.service_ips.release("10.43.8.8")
    await ipalloc.node_ports(cluster.api.ds).release(30200)
    second = await cluster.create("", "services", service("second", "10.43.8.8", 30200))
    await eventually(lambda: _cached(controller, "second"))
    await controller.repair()
    [event] = await warnings(cluster, "ClusterIPAlreadyAllocated")
    assert event["involvedObject"]["name"] == "first"
    assert event["type"] == "Warning"
    assert (
        event["message"]
        == "Cluster IP [IPv4]:10.43.8.8 was assigned to multiple services; please recreate service"
    )
    [port_event] = await warnings(cluster, "PortAlreadyAllocated")
    assert port_event["involvedObject"]["name"] == "first"
    assert port_event["message"] == "Port 30200 was assigned to multiple services; please recreate service"
    # the key stays with its owner
    allocated = await cluster.api.service_ips.allocator.allocated()
    assert allocated[int(cluster.api.service_ips.network.network_address) + 8 * 256 + 8] == "default/second"
    assert second["metadata"]["name"] == "second"


async def test_key_held_for_a_deleted_service_moves_to_the_service_using_it(cluster):
    controller = await started_repairer(cluster)
    await cluster.create("", "services", service("web", "10.43.6.6"))
    ips = cluster.api.service_ips
    await ips.release("10.43.6.6")
    await ips.reserve("10.43.6.6", "default/gone")
    await controller.repair()
    assert (await ips.allocator.allocated())[int(ips.network.network_address) + 6 * 256 + 6] == "default/web"


async def test_kubernetes_service_is_recreated_with_the_first_ip(cluster):
    await started_repairer(cluster)
    await cluster.client.delete(SERVICES, "default", "kubernetes")

    async def back():
        try:
            svc = await cluster.get("", "services", "kubernetes")
        except status.StatusError as exc:
            assert exc.code == 404
            return False
        return svc

    svc = await eventually(back)
    assert svc["spec"]["clusterIP"] == "10.43.0.1"
    assert svc["spec"]["ports"][0]["name"] == "https" and svc["spec"]["ports"][0]["port"] == 443
    assert (await cluster.api.service_ips.allocator.allocated())[
        int(cluster.api.service_ips.network.network_address) + 1
    ] == "default/kubernetes"
