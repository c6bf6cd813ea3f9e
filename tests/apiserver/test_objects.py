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
