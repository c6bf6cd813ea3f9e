"""The official Python `kubernetes` client against `edgek8s server`: CRUD, pagination, watch resume, 410."""

from __future__ import annotations

import subprocess

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from tests.e2e.apiserver import EdgeServer
from tests.support import ETCDCTL, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A server that also exposes its embedded datastore, so the test can compact it with etcdctl."""
    tmp = tmp_path_factory.mktemp("pyclient")
    etcd_url = f"http://127.0.0.1:{free_port()}"
    server = EdgeServer(tmp / "data", tmp / "server.log", "--etcd-listen-client-urls", etcd_url).start()
    server.etcd_url = etcd_url
    yield server
    server.stop()


@pytest.fixture(scope="module")
def core(served):
    api_client = config.new_client_from_config(config_file=str(served.kubeconfig))
    yield client.CoreV1Api(api_client)
    api_client.close()


def cm(name: str, **data: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data=data)


def test_crud(core):
    created = core.create_namespaced_config_map("default", cm("py-crud", a="1"))
    assert created.metadata.uid and created.metadata.resource_version
    read = core.read_namespaced_config_map("py-crud", "default")
    assert read.data == {"a": "1"}
    read.data["b"] = "2"
    replaced = core.replace_namespaced_config_map("py-crud", "default", read)
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    with pytest.raises(ApiException) as stale:
        core.replace_namespaced_config_map("py-crud", "default", read)  # read's resourceVersion is now old
    assert stale.value.status == 409
    patched = core.patch_namespaced_config_map("py-crud", "default", {"data": {"c": "3"}})
    assert patched.data == {"a": "1", "b": "2", "c": "3"}
    core.delete_namespaced_config_map("py-crud", "default")
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("py-crud", "default")
    assert gone.value.status == 404


def test_pagination(core):
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="paged")))
    for i in range(25):
        core.create_namespaced_config_map("paged", cm(f"item-{i:02d}", i=str(i)))
    names, token, pages = [], None, 0
    while True:
        page = core.list_namespaced_config_map("paged", limit=10, _continue=token)
        pages += 1
        names += [item.metadata.name for item in page.items]
        token = page.metadata._continue
        if not token:
            break
        assert page.metadata.remaining_item_count == 25 - len(names)
    assert pages == 3
    assert names == [f"item-{i:02d}" for i in range(25)]


def test_watch_resumes_from_resource_version(core):
    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", cm("w-1"))
    core.patch_namespaced_config_map("w-1", "default", {"data": {"x": "y"}})
    core.delete_namespaced_config_map("w-1", "default")
    seen = []
    for event in watch.Watch().stream(
        core.list_namespaced_config_map, "default", resource_version=start, timeout_seconds=5
    ):
        if event["object"].metadata.name == "w-1":
            seen.append(event["type"])
        if len(seen) == 3:
            break
    assert seen == ["ADDED", "MODIFIED", "DELETED"]


def test_watch_410_after_compaction(core, served):
    old = core.list_namespaced_config_map("default").metadata.resource_version
    for i in range(5):
        core.create_namespaced_config_map("default", cm(f"compact-{i}"))
    head = core.list_namespaced_config_map("default").metadata.resource_version
    subprocess.run(
        [ETCDCTL, f"--endpoints={served.etcd_url}", "compact", head],
        check=True,
        capture_output=True,
        env={"ETCDCTL_API": "3"},
        timeout=20,
    )
    # a list at the compacted revision is refused by the datastore
    with pytest.raises(ApiException) as listed:
        core.list_namespaced_config_map("default", resource_version=old, resource_version_match="Exact")
    assert listed.value.status == 410
    # after a restart the watch cache starts at the head: a watch from the compacted revision must get the
    # 410 ERROR event, which the client raises as ApiException (it does not retry when given a timeout)
    served.stop()
    served.start()
    api_client = config.new_client_from_config(config_file=str(served.kubeconfig))
    fresh = client.CoreV1Api(api_client)
    with pytest.raises(ApiException) as watched:
        for _ in watch.Watch().stream(
            fresh.list_namespaced_config_map, "default", resource_version=old, timeout_seconds=5
        ):
            pass
    assert watched.value.status == 410
    assert "too old resource version" in watched.value.reason
    api_client.close()
