from __future__ import annotations

import pytest

from tests.controllers.harness import Cluster


@pytest.fixture
async def cluster(tmp_path):
    """Starts with no controllers; a test calls `await cluster.run_controllers(("name", ...))`."""
    c = await Cluster(tmp_path).start()
    yield c
    await c.stop()
