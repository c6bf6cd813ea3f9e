from __future__ import annotations

import pytest

from distro.apiserver import status
from distro.controllers.client import resource
from tests.controllers.harness import eventually


async def test_deleting_a_namespace_deletes_its_contents_then_itself(cluster):
    await cluster.run_controllers(("namespace",))
    await cluster.create("", "namespaces", {"metadata": {"name": "doomed"}}, "")
    for i in range(3):
        await cluster.create("", "configmaps", {"metadata": {"name": f"cm-{i}"}}, "doomed")
    await cluster.create(
        "apps",
        "deployments",
        {
            "metadata": {"name": "d"},
            "spec": {
                "selector": {"matchLabels": {"a": "b"}},
                "template": {
                    "metadata": {"labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "c", "image": "i"}]},
                },
            },
        },
        "doomed",
    )
    marked = await cluster.client.delete(resource("", "namespaces"), "", "doomed")
    assert marked is not None and marked["status"]["phase"] == "Terminating"
    with pytest.raises(status.StatusError) as refused:
        await cluster.create("", "configmaps", {"metadata": {"name": "late"}}, "doomed")
    assert refused.value.code == 403

    async def gone() -> bool:
        try:
            await cluster.get("", "namespaces", "doomed", "")
        except status.StatusError as exc:
            return exc.code == 404
        return False

    await eventually(gone)
    assert await cluster.list("", "configmaps", "doomed") == []
    assert await cluster.list("apps", "deployments", "doomed") == []
