"""The generic store in process (a real API server over a real embedded datastore, no HTTP)."""

from __future__ import annotations

import pytest

from distro.apiserver import strategies
from tests.controllers.harness import Cluster


@pytest.fixture
async def cluster(tmp_path):
    c = await Cluster(tmp_path).start()
    yield c
    await c.stop()


async def test_generate_name_retries_after_a_collision(cluster, monkeypatch):
    suffixes = iter(["aaaaa", "aaaaa", "bbbbb"])
    monkeypatch.setattr(strategies, "generate_name_suffix", lambda: next(suffixes))
    first = await cluster.create("", "configmaps", {"metadata": {"generateName": "gen-"}})
    second = await cluster.create("", "configmaps", {"metadata": {"generateName": "gen-"}})
    assert (first["metadata"]["name"], second["metadata"]["name"]) == ("gen-aaaaa", "gen-bbbbb")
    assert second["metadata"]["managedFields"][0]["manager"] == "test"


async def test_namespace_made_with_generate_name_gets_its_name_label(cluster):
    ns = await cluster.create("", "namespaces", {"metadata": {"generateName": "team-"}}, "")
    assert ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == ns["metadata"]["name"]


async def test_service_ips_and_node_ports_are_unique_under_concurrency_and_released(cluster):
    import asyncio

    from distro.apiserver import status
    from distro.controllers.client import resource

    async def make(i: int) -> dict:
        svc = {
            "metadata": {"name": f"svc-{i}"},
            "spec": {"type": "NodePort", "ports": [{"port": 80}], "selector": {"app": "x"}},
        }
        return await cluster.create("", "services", svc)

    made = await asyncio.gather(*(make(i) for i in range(60)))
    ips = [s["spec"]["clusterIP"] for s in made]
    ports = [s["spec"]["ports"][0]["nodePort"] for s in made]
    assert len(set(ips)) == 60 and all(ip.startswith("10.43.") and ip != "10.43.0.1" for ip in ips)
    assert len(set(ports)) == 60 and all(30000 <= p <= 32767 for p in ports)
    allocated = await cluster.api.service_ips.allocator.allocated()
    assert len(allocated) == 61  # ours + the kubernetes Service's 10.43.0.1

    taken = {"metadata": {"name": "dup"}, "spec": {"clusterIP": ips[0], "ports": [{"port": 80}]}}
    try:
        await cluster.create("", "services", taken)
        raise AssertionError("a taken ClusterIP was handed out twice")
    except status.StatusError as exc:
        assert exc.code == 422 and "provided IP is already allocated" in exc.message

    await cluster.client.delete(resource("", "services"), "default", "svc-0")
    reuse = {"metadata": {"name": "reuse"}, "spec": {"clusterIP": ips[0], "ports": [{"port": 80}]}}
    assert (await cluster.create("", "services", reuse))["spec"]["clusterIP"] == ips[0]
    assert len(await cluster.api.service_ips.allocator.allocated()) == 61


async def test_cache_changes_count_only_its_own_resource(cluster):
    roles = cluster.api.resources[("rbac.authorization.k8s.io", "roles")].cache
    before = roles.changes
    await cluster.create("", "configmaps", {"metadata": {"name": "unrelated"}})
    assert roles.changes == before
    await cluster.create("rbac.authorization.k8s.io", "roles", {"metadata": {"name": "r"}, "rules": []})

    async def counted() -> bool:
        return roles.changes == before + 1

    from tests.controllers.harness import eventually

    await eventually(counted, within=5)
