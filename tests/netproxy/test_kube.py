"""netproxy.kube against a live `edgek8s server`: kubeconfig forms, list, watch, relist on 410, reconnect,
timeouts. The server is a real process; the only stand-in is a socket that accepts and never answers, which
is what a hung API server looks like on the wire."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from netproxy.kube import (
    ApiError,
    Backoff,
    KubeClient,
    KubeConfig,
    KubeConfigError,
    Reflector,
    find_kubeconfig,
    in_cluster_config,
    load_kubeconfig,
)
from tests.e2e.apiserver import EdgeServer

live = pytest.mark.e2e  # starts `edgek8s server` processes


@pytest.fixture(scope="module")
def edge(tmp_path_factory) -> Iterator[EdgeServer]:
    tmp = tmp_path_factory.mktemp("kube")
    server = EdgeServer(tmp / "data", tmp / "server.log").start()
    yield server
    server.stop()


class RecordingSink:
    """A Sink that keeps the objects by name, like an informer's store."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.replaced = 0
        self.changed = asyncio.Event()

    def replace(self, objects: list[dict[str, Any]]) -> None:
        self.objects = {o["metadata"]["name"]: o for o in objects}
        self.replaced += 1
        self.changed.set()

    def apply(self, event_type: str, obj: dict[str, Any]) -> None:
        if event_type == "DELETED":
            self.objects.pop(obj["metadata"]["name"], None)
        else:
            self.objects[obj["metadata"]["name"]] = obj
        self.changed.set()

    async def wait_for(self, condition, limit: float = 15.0) -> None:
        async with asyncio.timeout(limit):
            while not condition(self.objects):
                self.changed.clear()
                await self.changed.wait()


def _user(edge: EdgeServer) -> dict[str, str]:
    return yaml.safe_load(edge.kubeconfig.read_text())["users"][0]["user"]


@live
async def test_admin_kubeconfig_lists_services(edge: EdgeServer) -> None:
    async with KubeClient(load_kubeconfig(edge.kubeconfig)) as client:
        items, rv = await client.list("/api/v1/services")
    assert "kubernetes" in {i["metadata"]["name"] for i in items}
    assert int(rv) > 0


@live
async def test_kubeconfig_with_files_relative_to_it(edge: EdgeServer, tmp_path: Path) -> None:
    user = _user(edge)
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_bytes((edge.data_dir / "tls" / "server-ca.crt").read_bytes())
    (tmp_path / "pki" / "me.crt").write_bytes(base64.b64decode(user["client-certificate-data"]))
    (tmp_path / "pki" / "me.key").write_bytes(base64.b64decode(user["client-key-data"]))
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": edge.url, "certificate-authority": "pki/ca.crt"}}],
        "users": [{"name": "u", "user": {"client-certificate": "pki/me.crt", "client-key": "pki/me.key"}}],
        "contexts": [
            {"name": "other", "context": {"cluster": "c"}},
            {"name": "x", "context": {"cluster": "c", "user": "u"}},
        ],
        "current-context": "other",
    }
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(doc))
    async with KubeClient(load_kubeconfig(path, context="x")) as client:
        items, _ = await client.list("/api/v1/namespaces")
    assert "default" in {i["metadata"]["name"] for i in items}
    # the current context has no user: the server sees an anonymous request and refuses it
    async with KubeClient(load_kubeconfig(path)) as anonymous:
        with pytest.raises(ApiError) as refused:
            await anonymous.list("/api/v1/namespaces")
    assert refused.value.code in (401, 403)


@live
async def test_bearer_token_and_token_file(edge: EdgeServer, tmp_path: Path) -> None:
    """A bootstrap token (a kind the server accepts) in a group bound to a read-only role."""
    edge.kubectl(
        "apply",
        "-f",
        "-",
        input=yaml.safe_dump_all(
            [
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "bootstrap-token-prx001", "namespace": "kube-system"},
                    "type": "bootstrap.kubernetes.io/token",
                    "stringData": {
                        "token-id": "prx001",
                        "token-secret": "0123456789abcdef",
                        "usage-bootstrap-authentication": "true",
                        "auth-extra-groups": "system:bootstrappers:proxy-test",
                    },
                },
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRole",
                    "metadata": {"name": "proxy-test"},
                    "rules": [{"apiGroups": [""], "resources": ["services"], "verbs": ["list", "watch"]}],
                },
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "ClusterRoleBinding",
                    "metadata": {"name": "proxy-test"},
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": "ClusterRole",
                        "name": "proxy-test",
                    },
                    "subjects": [
                        {
                            "apiGroup": "rbac.authorization.k8s.io",
                            "kind": "Group",
                            "name": "system:bootstrappers:proxy-test",
                        }
                    ],
                },
            ]
        ),
    )
    ca = (edge.data_dir / "tls" / "server-ca.crt").read_bytes()
    async with KubeClient(KubeConfig(edge.url, ca_pem=ca, token="prx001.0123456789abcdef")) as client:
        items, _ = await client.list("/api/v1/services")
        assert "kubernetes" in {i["metadata"]["name"] for i in items}
        with pytest.raises(ApiError) as forbidden:
            await client.list("/api/v1/secrets")
    assert forbidden.value.code == 403 and forbidden.value.reason == "Forbidden"

    token_file = tmp_path / "token"
    token_file.write_text("prx001.ffffffffffffffff\n")
    async with KubeClient(KubeConfig(edge.url, ca_pem=ca, token_file=token_file)) as client:
        with pytest.raises(ApiError) as wrong:
            await client.list("/api/v1/services")
        assert wrong.value.code == 401
        token_file.write_text("prx001.0123456789abcdef\n")  # rotated in place: the next request uses it
        items, _ = await client.list("/api/v1/services")
    assert items


@live
async def test_pagination_and_errors(edge: EdgeServer) -> None:
    edge.kubectl("create", "namespace", "paged")
    for i in range(7):
        edge.kubectl("create", "configmap", f"cm{i}", "-n", "paged", f"--from-literal=i={i}")
    async with KubeClient(load_kubeconfig(edge.kubeconfig)) as client:
        items, rv = await client.list("/api/v1/namespaces/paged/configmaps", limit=2)
        selected, _ = await client.list("/api/v1/namespaces/paged/configmaps", label_selector="absent")
        with pytest.raises(ApiError) as missing:
            await client.list("/apis/nothing.example/v1/things")
    assert sorted(i["metadata"]["name"] for i in items if i["metadata"]["name"].startswith("cm")) == [
        f"cm{i}" for i in range(7)
    ]
    assert rv and selected == []
    assert missing.value.code == 404


@live
async def test_reflector_follows_changes_including_huge_objects(edge: EdgeServer) -> None:
    edge.kubectl("create", "namespace", "watched")
    edge.kubectl("create", "configmap", "before", "-n", "watched")
    sink = RecordingSink()
    async with KubeClient(load_kubeconfig(edge.kubeconfig)) as client:
        reflector = Reflector(client, "/api/v1/namespaces/watched/configmaps", sink)
        task = asyncio.create_task(reflector.run())
        try:
            await sink.wait_for(lambda objs: "before" in objs)
            huge = "x" * 400_000  # one watch line far beyond aiohttp's 128 KiB readline limit
            edge.kubectl("create", "-f", "-", input=json.dumps(_configmap("huge", "watched", {"v": huge})))
            await sink.wait_for(lambda objs: "huge" in objs)
            edge.kubectl("delete", "configmap", "before", "-n", "watched")
            await sink.wait_for(lambda objs: "before" not in objs)
        finally:
            task.cancel()
    assert sink.objects["huge"]["data"]["v"] == huge
    assert sink.replaced == 1  # one list, everything after it came through the watch
    assert int(reflector.resource_version) >= int(sink.objects["huge"]["metadata"]["resourceVersion"])


def _configmap(name: str, namespace: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": data,
    }


@live
async def test_server_restart_reconnects_and_relists_on_410(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """After a restart the server's watch cache starts at the current revision: a watch from an older one
    is answered 410 Expired, and the reflector must relist rather than give up or miss changes."""
    caplog.set_level(logging.INFO, "netproxy.kube")
    server = EdgeServer(tmp_path / "data", tmp_path / "server.log").start()
    try:
        server.kubectl("create", "configmap", "one")
        sink = RecordingSink()
        async with KubeClient(load_kubeconfig(server.kubeconfig), timeout=5) as client:
            reflector = Reflector(
                client, "/api/v1/namespaces/default/configmaps", sink, backoff=Backoff(0.1, 0.5)
            )
            task = asyncio.create_task(reflector.run())
            try:
                await sink.wait_for(lambda objs: "one" in objs)
                server.kubectl("create", "configmap", "elsewhere", "-n", "kube-system")  # revision moves on
                await asyncio.to_thread(server.stop)
                await asyncio.sleep(0.3)  # the reflector now fails to reconnect and backs off
                await asyncio.to_thread(server.start)
                server.kubectl("create", "configmap", "two")
                await sink.wait_for(lambda objs: "two" in objs)
            finally:
                task.cancel()
    finally:
        server.stop()
    assert reflector.lists == 2 and sink.replaced == 2
    assert "expired, relisting" in caplog.text
    assert "retrying in" in caplog.text  # the connection errors while the server was down


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_every_call_has_a_timeout(silent_server: str) -> None:
    async with KubeClient(KubeConfig(silent_server), timeout=0.5) as client:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await client.list("/api/v1/services")
        with pytest.raises(TimeoutError):
            async for _ in client.watch("/api/v1/services", "1", timeout_seconds=1):
                pass
    assert time.monotonic() - started < 5


def test_kubeconfig_errors(tmp_path: Path) -> None:
    path = tmp_path / "config"
    exec_user = {
        "clusters": [{"name": "c", "cluster": {"server": "https://k.example:6443"}}],
        "users": [{"name": "u", "user": {"exec": {"command": "aws"}}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path.write_text(yaml.safe_dump(exec_user))
    with pytest.raises(KubeConfigError, match="uses exec"):
        load_kubeconfig(path)
    with pytest.raises(KubeConfigError, match="no context named 'nope'"):
        load_kubeconfig(path, context="nope")
    with pytest.raises(KubeConfigError, match="cannot read"):
        load_kubeconfig(tmp_path / "absent")
    exec_user["users"] = [{"name": "u", "user": {"client-certificate-data": "not base64!"}}]
    path.write_text(yaml.safe_dump(exec_user))
    with pytest.raises(KubeConfigError, match="not valid base64"):
        load_kubeconfig(path)


def test_where_the_kubeconfig_comes_from(tmp_path: Path) -> None:
    def write(name: str, server: str) -> Path:
        doc = {
            "clusters": [{"name": "c", "cluster": {"server": server}}],
            "contexts": [{"name": "x", "context": {"cluster": "c"}}],
            "current-context": "x",
        }
        (tmp_path / name).write_text(yaml.safe_dump(doc))
        return tmp_path / name

    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("abc\n")
    (sa / "ca.crt").write_bytes(b"pem")
    pod_env = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443", "HOME": str(tmp_path)}
    in_pod = in_cluster_config(pod_env, sa)
    assert (
        in_pod.server == "https://[fd00::1]:443"
        and in_pod.bearer_token() == "abc"
        and in_pod.ca_pem == b"pem"
    )

    explicit = write("explicit", "https://explicit:1")
    from_env = write("env", "https://env:2")
    assert find_kubeconfig(str(explicit), {"KUBECONFIG": str(from_env)}).server == "https://explicit:1"
    assert find_kubeconfig(None, {"KUBECONFIG": f"{from_env}:{explicit}"}).server == "https://env:2"
    (tmp_path / ".kube").mkdir()
    write(".kube/config", "http://home:3")
    assert find_kubeconfig(None, {"HOME": str(tmp_path)}).server == "http://home:3"
    with pytest.raises(KubeConfigError, match="no kubeconfig"):
        find_kubeconfig(None, {"HOME": str(tmp_path / "nowhere")})
