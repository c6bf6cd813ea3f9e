from __future__ import annotations

import pytest

from tests.e2e.apiserver import EdgeServer
from tests.support import Server, etcd_argv


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    """One `edgek8s server` on the embedded datastore, shared by a module's tests."""
    tmp = tmp_path_factory.mktemp("edge")
    server = EdgeServer(tmp / "data", tmp / "server.log").start()
    yield server
    server.stop()
    assert server.logged_errors() == []


@pytest.fixture(scope="module", params=["embedded", pytest.param("etcd", marks=pytest.mark.oracle)])
def any_edge(request, tmp_path_factory):
    """`edgek8s server` on the embedded datastore and on a real etcd 3.4 started here."""
    tmp = tmp_path_factory.mktemp(f"edge-{request.param}")
    etcd = None
    extra: tuple[str, ...] = ()
    if request.param == "etcd":
        etcd = Server(tmp / "etcd", etcd_argv(), tmp / "etcd.log").start()
        extra = ("--datastore-endpoint", etcd.endpoint)
    server = EdgeServer(tmp / "data", tmp / "server.log", *extra).start()
    yield server
    server.stop()
    assert server.logged_errors() == []
    if etcd is not None:
        etcd.stop()
