from __future__ import annotations

import pytest

from tests.support import Server, etcd_argv, shim_argv


@pytest.fixture
def shim(tmp_path):
    """Our datastore as a real process on a loopback port."""
    server = Server(tmp_path / "shim", shim_argv(), tmp_path / "shim.log").start()
    yield server
    server.stop()


@pytest.fixture
def etcd(tmp_path):
    """A real etcd (Debian etcd-server) on a loopback port: the oracle."""
    server = Server(tmp_path / "etcd", etcd_argv(), tmp_path / "etcd.log").start()
    yield server
    server.stop()
