from __future__ import annotations

import asyncio

import pytest

from kine_shim.client import EmbeddedDatastore, RemoteDatastore
from kine_shim.store import Store, StoreConfig
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


DATASTORES = [
    "embedded",
    pytest.param("shim-grpc", marks=pytest.mark.e2e),
    pytest.param("etcd", marks=[pytest.mark.e2e, pytest.mark.oracle]),
]


@pytest.fixture(params=DATASTORES)
async def ds(request, tmp_path):
    """The control plane's Datastore: in-process, over gRPC to our datastore, and over gRPC to real etcd."""
    if request.param == "embedded":
        store = Store(StoreConfig(db_path=tmp_path / "db" / "state.db", synchronous="NORMAL"))
        await store.start()
        yield EmbeddedDatastore(store)
        await store.close()
        return
    argv = shim_argv() if request.param == "shim-grpc" else etcd_argv()
    server = await asyncio.to_thread(Server(tmp_path / "data", argv, tmp_path / "server.log").start)
    client = RemoteDatastore(server.url)
    yield client
    await client.close()
    await asyncio.to_thread(server.stop)
