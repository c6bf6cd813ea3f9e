"""The garbage collector in a real `edgek8s server`, driven by real kubectl: ownerReferences set with
`kubectl apply`, cascading deletes with `kubectl delete --cascade=background|foreground|orphan`."""

from __future__ import annotations

import json
import time

import pytest

from tests.e2e.apiserver import EdgeServer

pytestmark = pytest.mark.e2e

LABEL = "gc-test=yes"


def uid_of(edge: EdgeServer, ns: str, name: str) -> str:
    return edge.kubectl("get", "configmap", name, "-n", ns, "-o", "jsonpath={.metadata.uid}").stdout


def apply_owned(edge: EdgeServer, ns: str, name: str, owner: str, *, hold: bool = False) -> str:
    """Applies configmap NAME owned (blocking) by configmap OWNER; returns its uid."""
    meta = {
        "name": name,
        "namespace": ns,
        "labels": {"gc-test": "yes"},
        "ownerReferences": [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "name": owner,
                "uid": uid_of(edge, ns, owner),
                "blockOwnerDeletion": True,
            }
        ],
    }
    if hold:
        meta["finalizers"] = ["example.com/hold"]
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}}
    edge.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    return uid_of(edge, ns, name)


def chain(edge: EdgeServer, ns: str, *, hold_child: bool = False) -> None:
    """owner <- child <- grandchild, every reference blocking."""
    edge.kubectl("create", "namespace", ns)
    edge.kubectl("create", "configmap", "owner", "-n", ns, "--from-literal=k=v")
    apply_owned(edge, ns, "child", "owner", hold=hold_child)
    apply_owned(edge, ns, "grandchild", "child")


def labelled(edge: EdgeServer, ns: str) -> list[str]:
    out = edge.kubectl("get", "configmaps", "-n", ns, "-l", LABEL, "-o", "name").stdout
    return sorted(out.split())


def wait_for(check, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout}s")


def test_background_cascade_deletes_the_whole_chain(edge):
    chain(edge, "gc-bg")
    out = edge.kubectl("delete", "configmap", "owner", "-n", "gc-bg", "--cascade=background").stdout
    assert out.strip() == 'configmap "owner" deleted'
    wait_for(lambda: labelled(edge, "gc-bg") == [])


def test_foreground_cascade_returns_once_the_owner_is_gone_after_its_dependents(edge):
    chain(edge, "gc-fg")
    result = edge.kubectl(
        "delete", "configmap", "owner", "-n", "gc-fg", "--cascade=foreground", "--timeout=30s", timeout=40
    )
    assert result.stdout.strip() == 'configmap "owner" deleted'
    # blocking dependents go first, so by the time the owner is gone they are too
    assert labelled(edge, "gc-fg") == []
    missing = edge.kubectl("get", "configmap", "owner", "-n", "gc-fg", check=False)
    assert missing.returncode == 1 and "NotFound" in missing.stderr


def test_foreground_owner_waits_for_a_blocking_dependent(edge):
    chain(edge, "gc-hold", hold_child=True)
    edge.kubectl("delete", "configmap", "owner", "-n", "gc-hold", "--cascade=foreground", "--wait=false")
    wait_for(lambda: labelled(edge, "gc-hold") == ["configmap/child"])
    time.sleep(0.5)
    owner = json.loads(edge.kubectl("get", "configmap", "owner", "-n", "gc-hold", "-o", "json").stdout)
    assert owner["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert owner["metadata"]["deletionTimestamp"]

    edge.kubectl(
        "patch",
        "configmap",
        "child",
        "-n",
        "gc-hold",
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":null}}',
    )
    edge.kubectl("wait", "--for=delete", "configmap/owner", "-n", "gc-hold", "--timeout=30s", timeout=40)
    assert labelled(edge, "gc-hold") == []


def test_orphan_cascade_keeps_dependents_without_the_reference(edge):
    chain(edge, "gc-orphan")
    child_uid = uid_of(edge, "gc-orphan", "child")
    result = edge.kubectl(
        "delete", "configmap", "owner", "-n", "gc-orphan", "--cascade=orphan", "--timeout=30s", timeout=40
    )
    assert result.stdout.strip() == 'configmap "owner" deleted'
    assert labelled(edge, "gc-orphan") == ["configmap/child", "configmap/grandchild"]
    refs = edge.kubectl(
        "get", "configmap", "child", "-n", "gc-orphan", "-o", "jsonpath={.metadata.ownerReferences}"
    ).stdout
    assert refs == ""
    grandchild_owner = edge.kubectl(
        "get",
        "configmap",
        "grandchild",
        "-n",
        "gc-orphan",
        "-o",
        "jsonpath={.metadata.ownerReferences[0].uid}",
    ).stdout
    assert grandchild_owner == child_uid
    time.sleep(0.5)
    assert labelled(edge, "gc-orphan") == ["configmap/child", "configmap/grandchild"]
