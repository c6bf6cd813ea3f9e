from __future__ import annotations

import asyncio

from distro.apiserver import status
from distro.controllers.client import resource
from tests.controllers.harness import eventually

NAMESPACES = resource("", "namespaces")
SERVICE_ACCOUNTS = resource("", "serviceaccounts")


async def has_default(cluster, namespace: str) -> bool:
    try:
        await cluster.get("", "serviceaccounts", "default", namespace)
    except status.StatusError as exc:
        assert exc.code == 404
        return False
    return True


async def test_default_service_account_in_every_namespace(cluster):
    await cluster.run_controllers(("serviceaccount",))
    for existing in ("default", "kube-system", "kube-public", "kube-node-lease"):
        await eventually(lambda ns=existing: has_default(cluster, ns))
    await cluster.create("", "namespaces", {"metadata": {"name": "team-a"}}, "")
    await eventually(lambda: has_default(cluster, "team-a"))
    # extra accounts are not its business
    await cluster.create("", "serviceaccounts", {"metadata": {"name": "builder"}}, "team-a")
    assert {sa["metadata"]["name"] for sa in await cluster.list("", "serviceaccounts", "team-a")} == {
        "default",
        "builder",
    }


async def test_deleted_default_service_account_comes_back(cluster):
    await cluster.run_controllers(("serviceaccount",))
    await cluster.create("", "namespaces", {"metadata": {"name": "team-b"}}, "")
    await eventually(lambda: has_default(cluster, "team-b"))
    first = await cluster.get("", "serviceaccounts", "default", "team-b")
    await cluster.client.delete(SERVICE_ACCOUNTS, "team-b", "default")

    async def recreated() -> bool:
        try:
            again = await cluster.get("", "serviceaccounts", "default", "team-b")
        except status.StatusError:
            return False
        return again["metadata"]["uid"] != first["metadata"]["uid"]

    await eventually(recreated)


async def test_terminating_namespace_gets_no_new_default(cluster):
    await cluster.run_controllers(("serviceaccount",))
    await cluster.create("", "namespaces", {"metadata": {"name": "doomed"}}, "")
    await eventually(lambda: has_default(cluster, "doomed"))
    # no namespace controller runs, so the namespace stays Terminating
    await cluster.client.delete(NAMESPACES, "", "doomed")
    await cluster.client.delete(SERVICE_ACCOUNTS, "doomed", "default")
    await asyncio.sleep(0.5)
    assert not await has_default(cluster, "doomed")
    assert (await cluster.get("", "namespaces", "doomed", ""))["status"]["phase"] == "Terminating"
