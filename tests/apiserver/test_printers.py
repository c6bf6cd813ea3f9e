"""Server-side Table printing: upstream's columns and cells (pkg/printers/internalversion, v1.32)."""

from __future__ import annotations

import datetime
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from distro.apiserver import printers
from distro.apiserver.registry import RESOURCES, lookup

NOW = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=datetime.UTC)


def ago(**delta: float) -> str:
    return (NOW - datetime.timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def rd(plural: str, group: str = ""):
    found = lookup(group, plural)
    assert found is not None
    return found


def cells(plural: str, obj: dict, group: str = "") -> list:
    """The row of one object, keyed by column name so tests read like `kubectl get -o wide`."""
    result = printers.table(rd(plural, group), [obj], list_metadata={}, now=NOW)
    names = [c["name"] for c in result["columnDefinitions"]]
    (row,) = result["rows"]
    assert len(row["cells"]) == len(names)
    return row["cells"]


def by_column(plural: str, obj: dict, group: str = "") -> dict:
    names = [c["name"] for c in printers.column_definitions(rd(plural, group))]
    return dict(zip(names, cells(plural, obj, group), strict=True))


def meta(name: str = "x", **extra) -> dict:
    return {"name": name, "namespace": "default", "creationTimestamp": ago(hours=1), **extra}


# --- HumanDuration ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (datetime.timedelta(seconds=-3), "<invalid>"),
        (datetime.timedelta(seconds=-2), "<invalid>"),
        (datetime.timedelta(seconds=-1.5), "0s"),  # Go truncates -1.5s to -1: tolerated clock skew
        (datetime.timedelta(seconds=-1), "0s"),
        (datetime.timedelta(0), "0s"),
        (datetime.timedelta(seconds=1.999), "1s"),
        (datetime.timedelta(seconds=5), "5s"),
        (datetime.timedelta(seconds=119), "119s"),
        (datetime.timedelta(seconds=120), "2m"),
        (datetime.timedelta(seconds=125), "2m5s"),
        (datetime.timedelta(minutes=9, seconds=59), "9m59s"),
        (datetime.timedelta(minutes=10), "10m"),
        (datetime.timedelta(minutes=10, seconds=30), "10m"),
        (datetime.timedelta(minutes=179, seconds=59), "179m"),
        (datetime.timedelta(hours=3), "3h"),
        (datetime.timedelta(hours=3, minutes=5), "3h5m"),
        (datetime.timedelta(hours=7, minutes=59), "7h59m"),
        (datetime.timedelta(hours=8), "8h"),
        (datetime.timedelta(hours=47, minutes=59), "47h"),
        (datetime.timedelta(hours=48), "2d"),
        (datetime.timedelta(hours=50), "2d2h"),
        (datetime.timedelta(days=7, hours=23), "7d23h"),
        (datetime.timedelta(days=8), "8d"),
        (datetime.timedelta(days=8, hours=5), "8d"),
        (datetime.timedelta(days=729), "729d"),
        (datetime.timedelta(days=730), "2y"),
        (datetime.timedelta(days=731), "2y1d"),
        (datetime.timedelta(days=365 * 8 - 1), "7y364d"),
        (datetime.timedelta(days=365 * 8), "8y"),
        (datetime.timedelta(days=365 * 10 + 100), "10y"),
    ],
)
def test_human_duration(delta: datetime.timedelta, expected: str) -> None:
    assert printers.human_duration(delta) == expected


def test_age_is_unknown_without_creation_timestamp_and_uses_now() -> None:
    assert by_column("configmaps", {"metadata": {"name": "a"}})["Age"] == "<unknown>"
    assert (
        by_column("configmaps", {"metadata": {"name": "a", "creationTimestamp": None}})["Age"] == "<unknown>"
    )
    created = {"metadata": {"name": "a", "creationTimestamp": ago(minutes=2, seconds=5)}}
    assert by_column("configmaps", created)["Age"] == "2m5s"
    offset = {"metadata": {"name": "a", "creationTimestamp": "2024-05-01T13:59:00+02:00"}}
    assert by_column("configmaps", offset)["Age"] == "60s"


# --- the Table envelope -------------------------------------------------------------------------------


def test_table_envelope_and_partial_object_metadata() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta("web", labels={"a": "b"}), "spec": {}}
    list_meta = {"resourceVersion": "42", "continue": "tok"}
    result = printers.table(rd("pods"), [pod], list_metadata=list_meta, now=NOW)
    assert result["kind"] == "Table"
    assert result["apiVersion"] == "meta.k8s.io/v1"
    assert result["metadata"] == list_meta
    assert result["columnDefinitions"] == printers.column_definitions(rd("pods"))
    (row,) = result["rows"]
    assert row["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": pod["metadata"],
    }
    # rows share the (read-only) stored metadata instead of copying it: Tables are serialized at once
    assert row["object"]["metadata"] is pod["metadata"]
    json.dumps(result)  # the whole table is plain JSON


def test_include_object_modes() -> None:
    lease = {"metadata": meta("l"), "spec": {"holderIdentity": "me"}}
    leases = rd("leases", "coordination.k8s.io")

    def row(mode: str) -> dict:
        return printers.table(leases, [lease], list_metadata={}, include_object=mode, now=NOW)["rows"][0]

    assert row("None")["object"] is None
    assert row("Object")["object"] == {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", **lease}
    assert row("Metadata")["object"]["kind"] == "PartialObjectMetadata"
    assert row("")["object"]["kind"] == "PartialObjectMetadata"
    with pytest.raises(ValueError):
        printers.table(leases, [lease], list_metadata={}, include_object="Everything", now=NOW)


def test_empty_list_has_columns_and_no_rows() -> None:
    result = printers.table(rd("services"), [], list_metadata={"resourceVersion": "7"}, now=NOW)
    assert result["rows"] == []
    assert [c["name"] for c in result["columnDefinitions"]][:2] == ["Name", "Type"]


def test_rows_keep_object_order() -> None:
    objs = [{"metadata": {"name": n}} for n in ("b", "a", "c")]
    result = printers.table(rd("configmaps"), objs, list_metadata={}, now=NOW)
    assert [r["cells"][0] for r in result["rows"]] == ["b", "a", "c"]


# --- column definitions -------------------------------------------------------------------------------

WIDE_COLUMNS = {
    "pods": ["IP", "Node", "Nominated Node", "Readiness Gates"],
    "services": ["Selector"],
    "nodes": ["Internal-IP", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"],
    "events": ["Subobject", "Source", "First Seen", "Count", "Name"],
    "deployments": ["Containers", "Images", "Selector"],
    "replicasets": ["Containers", "Images", "Selector"],
    "daemonsets": ["Containers", "Images", "Selector"],
    "rolebindings": ["Users", "Groups", "ServiceAccounts"],
    "clusterrolebindings": ["Users", "Groups", "ServiceAccounts"],
}

DEFAULT_COLUMNS = {
    "namespaces": ["Name", "Status", "Age"],
    "nodes": ["Name", "Status", "Roles", "Age", "Version"],
    "pods": ["Name", "Ready", "Status", "Restarts", "Age"],
    "services": ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"],
    "endpoints": ["Name", "Endpoints", "Age"],
    "configmaps": ["Name", "Data", "Age"],
    "secrets": ["Name", "Type", "Data", "Age"],
    "serviceaccounts": ["Name", "Secrets", "Age"],
    "events": ["Last Seen", "Type", "Reason", "Object", "Message"],
    "deployments": ["Name", "Ready", "Up-to-date", "Available", "Age"],
    "replicasets": ["Name", "Desired", "Current", "Ready", "Age"],
    "daemonsets": ["Name", "Desired", "Current", "Ready", "Up-to-date", "Available", "Node Selector", "Age"],
    "endpointslices": ["Name", "AddressType", "Ports", "Endpoints", "Age"],
    "leases": ["Name", "Holder", "Age"],
    "roles": ["Name", "Created At"],
    "clusterroles": ["Name", "Created At"],
    "rolebindings": ["Name", "Role", "Age"],
    "clusterrolebindings": ["Name", "Role", "Age"],
}


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.plural)
def test_columns_match_upstream(resource) -> None:
    columns = printers.column_definitions(resource)
    assert [c["name"] for c in columns if c["priority"] == 0] == DEFAULT_COLUMNS[resource.plural]
    assert [c["name"] for c in columns if c["priority"] == 1] == WIDE_COLUMNS.get(resource.plural, [])
    for column in columns:
        assert set(column) == {"name", "type", "format", "description", "priority"}
        assert column["description"], column["name"]
        assert column["format"] == ("name" if column["name"] == "Name" else "")
        assert column["type"] in ("string", "integer", "date")
    name = next(c for c in columns if c["name"] == "Name")
    assert name["description"].startswith("Name must be unique within a namespace.")


def test_column_types_and_descriptions_where_upstream_is_specific() -> None:
    pods = {c["name"]: c for c in printers.column_definitions(rd("pods"))}
    assert pods["Restarts"]["type"] == "string"
    assert pods["Ready"]["description"] == "The aggregate readiness state of this pod for accepting traffic."
    assert pods["Age"]["description"].startswith("CreationTimestamp is a timestamp")
    assert "in UTC.\n\nPopulated by the system." in pods["Age"]["description"]
    replicasets = {c["name"]: c["type"] for c in printers.column_definitions(rd("replicasets", "apps"))}
    assert replicasets["Desired"] == replicasets["Current"] == replicasets["Ready"] == "integer"
    deployments = {c["name"]: c["type"] for c in printers.column_definitions(rd("deployments", "apps"))}
    assert deployments["Up-to-date"] == "string"
    roles = {c["name"]: c for c in printers.column_definitions(rd("roles", "rbac.authorization.k8s.io"))}
    assert roles["Created At"]["type"] == "date"
    bindings = printers.column_definitions(rd("clusterrolebindings", "rbac.authorization.k8s.io"))
    assert bindings[3]["description"] == "Users in the clusterRoleBinding"
    assert bindings[1]["description"].startswith("RoleRef can only reference a ClusterRole")


def test_column_definitions_are_fresh_copies() -> None:
    first = printers.column_definitions(rd("pods"))
    first[0]["name"] = "mutated"
    assert printers.column_definitions(rd("pods"))[0]["name"] == "Name"


# --- partial objects never raise ----------------------------------------------------------------------

_FIELD_NAMES = (
    "metadata spec status name type state waiting terminated running containerStatuses initContainerStatuses "
    "initContainers containers ports port subsets addresses conditions selector matchLabels matchExpressions "
    "operator values labels creationTimestamp deletionTimestamp restartCount lastState reason exitCode "
    "endpoints roleRef subjects series data phase ready"
).split()
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(["", "x", "True", "Always", "0"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_FIELD_NAMES), inner, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None)
@given(obj=st.dictionaries(st.sampled_from(["metadata", "spec", "status", "subsets", "ports"]), _json))
def test_partial_or_malformed_objects_never_raise(obj: dict) -> None:
    for resource in RESOURCES:
        result = printers.table(resource, [obj], list_metadata={}, now=NOW)
        assert len(result["rows"][0]["cells"]) == len(result["columnDefinitions"])
        json.dumps(result)


@pytest.mark.parametrize(
    "timestamp",
    ["yesterday", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+02:00", "9999-12-31T23:00:00-05:00", 5],
)
def test_unusable_timestamps_print_as_missing(timestamp) -> None:
    obj = {"metadata": {"name": "r", "creationTimestamp": timestamp}}
    assert cells("roles", obj, "rbac.authorization.k8s.io") == ["r", "0001-01-01T00:00:00Z"]
    assert by_column("configmaps", obj)["Age"] == "<unknown>"


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.plural)
def test_empty_object_prints_upstream_zero_values(resource) -> None:
    result = printers.table(resource, [{}], list_metadata={}, now=NOW)
    row = result["rows"][0]["cells"]
    if resource.plural in ("roles", "clusterroles"):
        assert row == ["", "0001-01-01T00:00:00Z"]
    elif resource.plural != "events":
        assert row[0] == ""


# --- pods ---------------------------------------------------------------------------------------------


def container_status(name: str = "app", *, ready: bool = False, restarts: int = 0, **state) -> dict:
    status = {"name": name, "ready": ready, "restartCount": restarts, "state": state or {"running": {}}}
    return status


def pod(
    *,
    phase: str = "Running",
    containers: int = 1,
    init: int = 0,
    statuses: list[dict] | None = None,
    init_statuses: list[dict] | None = None,
    conditions: list[dict] | None = None,
    reason: str | None = None,
    deleting: bool = False,
) -> dict:
    status: dict = {"phase": phase, "containerStatuses": statuses or []}
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    if conditions is not None:
        status["conditions"] = conditions
    if reason:
        status["reason"] = reason
    metadata = meta("web-1")
    if deleting:
        metadata["deletionTimestamp"] = ago(seconds=10)
    return {
        "metadata": metadata,
        "spec": {
            "containers": [{"name": f"c{i}", "image": "busybox"} for i in range(containers)],
            "initContainers": [{"name": f"init{i}", "image": "busybox"} for i in range(init)],
        },
        "status": status,
    }


INITIALIZED = [{"type": "Initialized", "status": "True"}]
READY = [{"type": "Ready", "status": "True"}]

POD_STATUS_CASES = [
    ("pending", pod(phase="Pending", statuses=[]), "0/1", "Pending"),
    (
        "container creating",
        pod(phase="Pending", statuses=[container_status(waiting={"reason": "ContainerCreating"})]),
        "0/1",
        "ContainerCreating",
    ),
    ("running ready", pod(statuses=[container_status(ready=True)]), "1/1", "Running"),
    (
        "running ready 1/2",
        pod(containers=2, statuses=[container_status("c0", ready=True), container_status("c1", ready=False)]),
        "1/2",
        "Running",
    ),
    (
        "crash loop",
        pod(statuses=[container_status(restarts=5, waiting={"reason": "CrashLoopBackOff"})]),
        "0/1",
        "CrashLoopBackOff",
    ),
    (
        "init 0/2",
        pod(phase="Pending", init=2, init_statuses=[container_status("init0"), container_status("init1")]),
        "0/1",
        "Init:0/2",
    ),
    (
        "init 1/2",
        pod(
            phase="Pending",
            init=2,
            init_statuses=[
                container_status("init0", terminated={"exitCode": 0, "reason": "Completed"}),
                container_status("init1"),
            ],
        ),
        "0/1",
        "Init:1/2",
    ),
    (
        "init waiting PodInitializing counts as progress",
        pod(phase="Pending", init=1, init_statuses=[container_status(waiting={"reason": "PodInitializing"})]),
        "0/1",
        "Init:0/1",
    ),
    (
        "init error",
        pod(
            phase="Pending",
            init=2,
            init_statuses=[container_status(terminated={"exitCode": 1, "reason": "Error"})],
        ),
        "0/1",
        "Init:Error",
    ),
    (
        "init crash loop",
        pod(
            phase="Pending", init=1, init_statuses=[container_status(waiting={"reason": "CrashLoopBackOff"})]
        ),
        "0/1",
        "Init:CrashLoopBackOff",
    ),
    (
        "init exit code",
        pod(phase="Pending", init=1, init_statuses=[container_status(terminated={"exitCode": 3})]),
        "0/1",
        "Init:ExitCode:3",
    ),
    (
        "init signal",
        pod(
            phase="Pending",
            init=1,
            init_statuses=[container_status(terminated={"exitCode": 137, "signal": 9})],
        ),
        "0/1",
        "Init:Signal:9",
    ),
    (
        "pod initializing",
        pod(
            phase="Pending",
            init=1,
            init_statuses=[container_status("init0", terminated={"exitCode": 0, "reason": "Completed"})],
            statuses=[container_status(waiting={"reason": "PodInitializing"})],
            conditions=INITIALIZED,
        ),
        "0/1",
        "PodInitializing",
    ),
    (
        "completed",
        pod(
            phase="Succeeded", statuses=[container_status(terminated={"exitCode": 0, "reason": "Completed"})]
        ),
        "0/1",
        "Completed",
    ),
    (
        "error",
        pod(phase="Failed", statuses=[container_status(terminated={"exitCode": 1, "reason": "Error"})]),
        "0/1",
        "Error",
    ),
    (
        "error with exit code",
        pod(phase="Failed", statuses=[container_status(terminated={"exitCode": 2})]),
        "0/1",
        "ExitCode:2",
    ),
    (
        "error with signal",
        pod(phase="Failed", statuses=[container_status(terminated={"exitCode": 0, "signal": 15})]),
        "0/1",
        "Signal:15",
    ),
    ("evicted", pod(phase="Failed", reason="Evicted"), "0/1", "Evicted"),
    ("terminating", pod(statuses=[container_status(ready=True)], deleting=True), "1/1", "Terminating"),
    (
        "terminal pods are not terminating",
        pod(
            phase="Succeeded",
            statuses=[container_status(terminated={"exitCode": 0, "reason": "Completed"})],
            deleting=True,
        ),
        "0/1",
        "Completed",
    ),
    (
        "node lost",
        pod(reason="NodeLost", statuses=[container_status(ready=True)], deleting=True),
        "1/1",
        "Unknown",
    ),
    ("node lost but not deleted", pod(reason="NodeLost"), "0/1", "NodeLost"),
    (
        "scheduling gated",
        pod(
            phase="Pending",
            conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}],
        ),
        "0/1",
        "SchedulingGated",
    ),
    (
        "completed with a container still running and ready",
        pod(
            containers=2,
            statuses=[
                container_status("c0", terminated={"exitCode": 0, "reason": "Completed"}),
                container_status("c1", ready=True),
            ],
            conditions=READY,
        ),
        "1/2",
        "Running",
    ),
    (
        "completed with a container still running, pod not ready",
        pod(
            containers=2,
            statuses=[
                container_status("c0", terminated={"exitCode": 0, "reason": "Completed"}),
                container_status("c1", ready=True),
            ],
        ),
        "1/2",
        "NotReady",
    ),
    (
        "the first container's state wins (statuses are read last to first)",
        pod(
            containers=2,
            statuses=[
                container_status("c0", waiting={"reason": "ImagePullBackOff"}),
                container_status("c1", waiting={"reason": "ErrImagePull"}),
            ],
        ),
        "0/2",
        "ImagePullBackOff",
    ),
]


@pytest.mark.parametrize(
    ("obj", "ready", "status"), [c[1:] for c in POD_STATUS_CASES], ids=[c[0] for c in POD_STATUS_CASES]
)
def test_pod_ready_and_status(obj: dict, ready: str, status: str) -> None:
    row = by_column("pods", obj)
    assert (row["Ready"], row["Status"]) == (ready, status)


def test_pod_sidecar_init_containers_count_as_containers() -> None:
    obj = pod(
        init=2,
        statuses=[container_status("c0", ready=True)],
        init_statuses=[
            container_status("init0", ready=True, restarts=2, running={}),
            container_status("init1", terminated={"exitCode": 0, "reason": "Completed"}),
        ],
        conditions=INITIALIZED,
    )
    obj["spec"]["initContainers"][0]["restartPolicy"] = "Always"
    obj["status"]["initContainerStatuses"][0]["started"] = True
    row = by_column("pods", obj)
    assert (row["Ready"], row["Status"], row["Restarts"]) == ("2/2", "Running", "2")


def test_pod_sidecar_not_started_blocks_initialization() -> None:
    obj = pod(phase="Pending", init=1, init_statuses=[container_status("init0", started=False)])
    obj["spec"]["initContainers"][0]["restartPolicy"] = "Always"
    obj["status"]["initContainerStatuses"][0]["started"] = False
    assert by_column("pods", obj)["Status"] == "Init:0/1"
    assert by_column("pods", obj)["Ready"] == "0/2"


def test_pod_restarts_with_time_since_last_termination() -> None:
    obj = pod(
        containers=2,
        statuses=[
            container_status("c0", ready=True, restarts=3),
            container_status("c1", ready=True, restarts=2),
        ],
    )
    obj["status"]["containerStatuses"][0]["lastState"] = {"terminated": {"finishedAt": ago(minutes=30)}}
    obj["status"]["containerStatuses"][1]["lastState"] = {"terminated": {"finishedAt": ago(minutes=5)}}
    assert by_column("pods", obj)["Restarts"] == "5 (5m ago)"


def test_pod_restarts_without_last_termination_is_a_bare_count() -> None:
    obj = pod(statuses=[container_status(restarts=4, waiting={"reason": "CrashLoopBackOff"})])
    assert by_column("pods", obj)["Restarts"] == "4"
    assert by_column("pods", pod(statuses=[container_status(ready=True)]))["Restarts"] == "0"


def test_pod_restarts_while_initializing_count_init_containers() -> None:
    obj = pod(
        phase="Pending",
        init=1,
        init_statuses=[container_status(restarts=7, waiting={"reason": "CrashLoopBackOff"})],
        statuses=[container_status(restarts=1, waiting={"reason": "PodInitializing"})],
    )
    obj["status"]["initContainerStatuses"][0]["lastState"] = {"terminated": {"finishedAt": ago(seconds=40)}}
    row = by_column("pods", obj)
    assert (row["Status"], row["Restarts"]) == ("Init:CrashLoopBackOff", "7 (40s ago)")


def test_pod_wide_cells() -> None:
    obj = pod(
        statuses=[container_status(ready=True)], conditions=[*READY, {"type": "gate/a", "status": "True"}]
    )
    obj["spec"]["nodeName"] = "node-1"
    obj["spec"]["readinessGates"] = [{"conditionType": "gate/a"}, {"conditionType": "gate/b"}]
    obj["status"]["podIPs"] = [{"ip": "10.42.0.5"}, {"ip": "fd00::5"}]
    obj["status"]["nominatedNodeName"] = "node-2"
    row = by_column("pods", obj)
    assert [row["IP"], row["Node"], row["Nominated Node"], row["Readiness Gates"]] == [
        "10.42.0.5",
        "node-1",
        "node-2",
        "1/2",
    ]
    obj["status"]["podIP"] = "10.42.0.9"
    assert by_column("pods", obj)["IP"] == "10.42.0.9"
    bare = by_column("pods", pod())
    assert [bare["IP"], bare["Node"], bare["Nominated Node"], bare["Readiness Gates"]] == ["<none>"] * 4


def test_pod_row_conditions_mark_finished_pods() -> None:
    def conditions(phase: str) -> list | None:
        row = printers.table(rd("pods"), [pod(phase=phase)], list_metadata={}, now=NOW)["rows"][0]
        return row.get("conditions")

    assert conditions("Succeeded") == [
        {
            "type": "Completed",
            "status": "True",
            "reason": "Succeeded",
            "message": "The pod has completed successfully.",
        }
    ]
    assert conditions("Failed") == [
        {"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}
    ]
    assert conditions("Running") is None


def test_pod_full_row() -> None:
    obj = pod(statuses=[container_status(ready=True)])
    assert cells("pods", obj) == [
        "web-1",
        "1/1",
        "Running",
        "0",
        "60m",
        "<none>",
        "<none>",
        "<none>",
        "<none>",
    ]


# --- services -----------------------------------------------------------------------------------------


def service(spec: dict, status: dict | None = None) -> dict:
    return {"metadata": meta("svc"), "spec": spec, "status": status or {}}


def test_service_cluster_ip() -> None:
    obj = service(
        {
            "type": "ClusterIP",
            "clusterIP": "10.43.0.10",
            "clusterIPs": ["10.43.0.10"],
            "ports": [{"port": 53, "protocol": "UDP"}, {"port": 443}],
            "selector": {"k8s-app": "kube-dns", "app": "dns"},
        }
    )
    assert cells("services", obj) == [
        "svc",
        "ClusterIP",
        "10.43.0.10",
        "<none>",
        "53/UDP,443/TCP",
        "60m",
        "app=dns,k8s-app=kube-dns",
    ]


def test_service_node_port_and_external_ips() -> None:
    obj = service(
        {
            "type": "NodePort",
            "clusterIPs": ["10.43.0.20"],
            "externalIPs": ["192.0.2.1", "192.0.2.2"],
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}],
        }
    )
    row = by_column("services", obj)
    assert (row["Cluster-IP"], row["External-IP"], row["Port(s)"]) == (
        "10.43.0.20",
        "192.0.2.1,192.0.2.2",
        "80:30080/TCP",
    )
    assert row["Selector"] == "<none>"


def test_service_load_balancer() -> None:
    pending = service({"type": "LoadBalancer", "clusterIP": "10.43.0.30", "ports": []})
    row = by_column("services", pending)
    assert (row["Cluster-IP"], row["External-IP"], row["Port(s)"]) == ("10.43.0.30", "<pending>", "<none>")
    ingress = [
        {"hostname": "lb.example.com"},
        {"ip": "203.0.113.9"},
        {"ip": "203.0.113.9"},
        {"ip": "198.51.100.1"},
    ]
    ready = service({"type": "LoadBalancer"}, {"loadBalancer": {"ingress": ingress}})
    assert by_column("services", ready)["External-IP"] == "198.51.100.1,203.0.113.9,lb.example.com"
    both = service(
        {"type": "LoadBalancer", "externalIPs": ["192.0.2.7"]}, {"loadBalancer": {"ingress": ingress[:2]}}
    )
    assert by_column("services", both)["External-IP"] == "203.0.113.9,lb.example.com,192.0.2.7"


def test_service_external_name_headless_and_defaults() -> None:
    external = service({"type": "ExternalName", "externalName": "db.example.com"})
    row = by_column("services", external)
    assert (row["Type"], row["Cluster-IP"], row["External-IP"]) == (
        "ExternalName",
        "<none>",
        "db.example.com",
    )
    headless = service({"clusterIP": "None", "clusterIPs": ["None"], "ports": [{"port": 80}]})
    row = by_column("services", headless)
    assert (row["Type"], row["Cluster-IP"], row["Port(s)"]) == ("ClusterIP", "None", "80/TCP")
    assert by_column("services", service({"type": "Weird"}))["External-IP"] == "<unknown>"


# --- apps ---------------------------------------------------------------------------------------------

TEMPLATE = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}, {"name": "log", "image": "busybox"}]},
}


def test_deployment_row() -> None:
    obj = {
        "metadata": meta("web"),
        "spec": {
            "replicas": 3,
            "selector": {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}],
            },
            "template": TEMPLATE,
        },
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    }
    assert cells("deployments", obj, "apps") == [
        "web",
        "2/3",
        3,
        2,
        "60m",
        "web,log",
        "nginx:1.27,busybox",
        "app=web,tier in (a,b)",
    ]


def test_deployment_defaults_and_selector_edge_cases() -> None:
    row = by_column("deployments", {"metadata": meta("d")}, "apps")
    assert (row["Ready"], row["Up-to-date"], row["Selector"]) == ("0/1", 0, "")
    bad = {
        "metadata": meta("d"),
        "spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Gt"}]}},
    }
    assert by_column("deployments", bad, "apps")["Selector"] == "<invalid>"
    scaled_down = {"metadata": meta("d"), "spec": {"replicas": 0}}
    assert by_column("deployments", scaled_down, "apps")["Ready"] == "0/0"


def test_replica_set_row() -> None:
    obj = {
        "metadata": meta("web-5d9c"),
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d9c"}}},
        "status": {"replicas": 2, "readyReplicas": 1},
    }
    obj["spec"]["template"] = TEMPLATE
    assert cells("replicasets", obj, "apps") == [
        "web-5d9c",
        2,
        2,
        1,
        "60m",
        "web,log",
        "nginx:1.27,busybox",
        "app=web,pod-template-hash=5d9c",
    ]
    assert by_column("replicasets", {"spec": {"selector": {}}}, "apps")["Selector"] == "<none>"
    assert by_column("replicasets", {}, "apps")["Desired"] == 1


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (None, "<none>"),
        ({}, "<none>"),
        ({"matchLabels": {"b": "2", "a": "1"}}, "a=1,b=2"),
        ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}, "env notin (prod)"),
        ({"matchExpressions": [{"key": "gpu", "operator": "Exists"}]}, "gpu"),
        ({"matchExpressions": [{"key": "gpu", "operator": "DoesNotExist"}]}, "!gpu"),
        ({"matchExpressions": [{"key": "gpu", "operator": "Exists", "values": ["x"]}]}, "<error>"),
        ({"matchExpressions": [{"key": "env", "operator": "In", "values": []}]}, "<error>"),
        ({"matchExpressions": [{"key": "env", "operator": "Bogus"}]}, "<error>"),
        ({"matchExpressions": [{"key": "env", "operator": ["In"], "values": ["a"]}]}, "<error>"),
        ({"matchExpressions": ["not-an-expression"]}, "<error>"),
        ({"matchLabels": {"bad key!": "x"}}, "<error>"),
        ({"matchLabels": {"example.com/role": "db"}}, "example.com/role=db"),
    ],
)
def test_label_selector_formatting(selector, expected: str) -> None:
    obj = {"spec": {"selector": selector}} if selector is not None else {"spec": {}}
    assert by_column("daemonsets", obj, "apps")["Selector"] == expected


def test_daemon_set_row() -> None:
    template = {**TEMPLATE, "spec": {**TEMPLATE["spec"], "nodeSelector": {"kubernetes.io/os": "linux"}}}
    obj = {
        "metadata": meta("agent"),
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template},
        "status": {
            "desiredNumberScheduled": 3,
            "currentNumberScheduled": 3,
            "numberReady": 2,
            "updatedNumberScheduled": 3,
            "numberAvailable": 2,
        },
    }
    assert cells("daemonsets", obj, "apps") == [
        "agent",
        3,
        3,
        2,
        3,
        2,
        "kubernetes.io/os=linux",
        "60m",
        "web,log",
        "nginx:1.27,busybox",
        "app=agent",
    ]
    assert by_column("daemonsets", {}, "apps")["Node Selector"] == "<none>"


# --- nodes and namespaces -----------------------------------------------------------------------------


def node(conditions: list[dict], labels: dict | None = None, unschedulable: bool = False, **status) -> dict:
    return {
        "metadata": {"name": "node-1", "creationTimestamp": ago(days=3, hours=4), "labels": labels or {}},
        "spec": {"unschedulable": unschedulable},
        "status": {"conditions": conditions, **status},
    }


def test_node_row() -> None:
    obj = node(
        [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
        labels={
            "node-role.kubernetes.io/master": "",
            "node-role.kubernetes.io/control-plane": "true",
            "node-role.kubernetes.io/": "",
            "kubernetes.io/hostname": "node-1",
        },
        nodeInfo={
            "kubeletVersion": "v1.32.4",
            "osImage": "Debian GNU/Linux 12 (bookworm)",
            "kernelVersion": "6.1.0-28-amd64",
            "containerRuntimeVersion": "containerd://1.7.24",
        },
        addresses=[
            {"type": "Hostname", "address": "node-1"},
            {"type": "InternalIP", "address": "192.168.1.10"},
            {"type": "InternalIP", "address": "fd00::10"},
        ],
    )
    assert cells("nodes", obj) == [
        "node-1",
        "Ready",
        "control-plane,master",
        "3d4h",
        "v1.32.4",
        "192.168.1.10",
        "<none>",
        "Debian GNU/Linux 12 (bookworm)",
        "6.1.0-28-amd64",
        "containerd://1.7.24",
    ]


@pytest.mark.parametrize(
    ("conditions", "unschedulable", "expected"),
    [
        ([{"type": "Ready", "status": "True"}], True, "Ready,SchedulingDisabled"),
        ([{"type": "Ready", "status": "False"}], False, "NotReady"),
        ([{"type": "Ready", "status": "Unknown"}], True, "NotReady,SchedulingDisabled"),
        ([], False, "Unknown"),
        ([{"type": "DiskPressure", "status": "True"}], True, "Unknown,SchedulingDisabled"),
    ],
)
def test_node_status(conditions: list, unschedulable: bool, expected: str) -> None:
    assert by_column("nodes", node(conditions, unschedulable=unschedulable))["Status"] == expected


def test_node_roles_and_missing_info() -> None:
    row = by_column(
        "nodes", node([], labels={"kubernetes.io/role": "edge", "node-role.kubernetes.io/gpu": ""})
    )
    assert row["Roles"] == "edge,gpu"
    assert row["Version"] == ""
    assert [row["Internal-IP"], row["External-IP"]] == ["<none>", "<none>"]
    assert [row["OS-Image"], row["Kernel-Version"], row["Container-Runtime"]] == ["<unknown>"] * 3
    assert by_column("nodes", node([], labels={"kubernetes.io/role": ""}))["Roles"] == "<none>"


def test_namespace_row() -> None:
    assert cells("namespaces", {"metadata": meta("kube-system"), "status": {"phase": "Active"}}) == [
        "kube-system",
        "Active",
        "60m",
    ]
    assert by_column("namespaces", {"metadata": meta("t"), "status": {"phase": "Terminating"}})["Status"] == (
        "Terminating"
    )
    assert by_column("namespaces", {"metadata": meta("new")})["Status"] == "Active"


# --- config and identity ------------------------------------------------------------------------------


def test_config_map_secret_and_service_account_rows() -> None:
    config_map = {"metadata": meta("cfg"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    assert cells("configmaps", config_map) == ["cfg", 3, "60m"]
    secret = {"metadata": meta("tls"), "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}
    assert cells("secrets", secret) == ["tls", "kubernetes.io/tls", 2, "60m"]
    assert cells("secrets", {"metadata": meta("plain")}) == ["plain", "Opaque", 0, "60m"]
    account = {"metadata": meta("default"), "secrets": [{"name": "default-token"}]}
    assert cells("serviceaccounts", account) == ["default", 1, "60m"]
    assert cells("serviceaccounts", {"metadata": meta("bare")}) == ["bare", 0, "60m"]


# --- events -------------------------------------------------------------------------------------------


def test_event_row() -> None:
    obj = {
        "metadata": meta("web-1.17c"),
        "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{web}"},
        "reason": "BackOff",
        "message": "  Back-off restarting failed container\n",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(minutes=20),
        "lastTimestamp": ago(seconds=30),
        "count": 12,
        "type": "Warning",
    }
    assert cells("events", obj) == [
        "30s",
        "Warning",
        "BackOff",
        "pod/web-1",
        "spec.containers{web}",
        "kubelet, node-1",
        "Back-off restarting failed container",
        "20m",
        12,
        "web-1.17c",
    ]


def test_event_from_events_api_uses_event_time_series_and_reporting_fields() -> None:
    singleton = {
        "metadata": meta("e1"),
        "involvedObject": {"kind": "Node"},
        "eventTime": (NOW - datetime.timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "reportingComponent": "edgek8s-controller",
        "reportingInstance": "",
        "type": "Normal",
        "reason": "Registered",
    }
    row = by_column("events", singleton)
    assert [row["Last Seen"], row["First Seen"], row["Count"], row["Object"], row["Source"]] == [
        "4m",
        "4m",
        1,
        "node",
        "edgek8s-controller",
    ]
    series = {
        **singleton,
        "series": {"count": 9, "lastObservedTime": ago(seconds=3)},
        "reportingInstance": "host-a",
    }
    row = by_column("events", series)
    assert [row["Last Seen"], row["Count"], row["Source"]] == ["3s", 9, "edgek8s-controller, host-a"]
    unknown = by_column("events", {"metadata": meta("e2")})
    assert [unknown["Last Seen"], unknown["First Seen"]] == ["<unknown>", "<unknown>"]


# --- endpoints and slices -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subsets", "expected"),
    [
        (None, "<none>"),
        ([], "<none>"),
        ([{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}], "10.0.0.1:80"),
        (
            [{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 5)], "ports": [{"port": 80}]}],
            "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...",
        ),
        (
            [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}, {"port": 443}]}],
            "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...",
        ),
        ([{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}]}], "10.0.0.1,10.0.0.2"),
        ([{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 53}]}], "[fd00::1]:53"),
        ([{"notReadyAddresses": [{"ip": "10.0.0.9"}], "ports": [{"port": 80}]}], ""),
        (
            [
                {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}]},
                {
                    "addresses": [{"ip": "10.0.1.1"}, {"ip": "10.0.1.2"}, {"ip": "10.0.1.3"}],
                    "ports": [{"port": 8080}],
                },
            ],
            "10.0.0.1:80,10.0.0.2:80,10.0.1.1:8080 + 2 more...",
        ),
    ],
)
def test_endpoints(subsets, expected: str) -> None:
    obj = {"metadata": meta("web")}
    if subsets is not None:
        obj["subsets"] = subsets
    assert cells("endpoints", obj) == ["web", expected, "60m"]


def test_endpoint_slice_row() -> None:
    obj = {
        "metadata": meta("web-abc12"),
        "addressType": "IPv4",
        "ports": [{"port": 80, "name": "http"}, {"name": "dns"}, {}, {"port": 9090}],
        "endpoints": [{"addresses": ["10.42.0.1"]}, {"addresses": ["10.42.0.2", "10.42.0.3"]}],
    }
    assert cells("endpointslices", obj, "discovery.k8s.io") == [
        "web-abc12",
        "IPv4",
        "80,dns,* + 1 more...",
        "10.42.0.1,10.42.0.2,10.42.0.3",
        "60m",
    ]
    empty = {"metadata": meta("empty"), "addressType": "IPv6"}
    assert cells("endpointslices", empty, "discovery.k8s.io") == [
        "empty",
        "IPv6",
        "<unset>",
        "<unset>",
        "60m",
    ]
    many = {"metadata": meta("m"), "endpoints": [{"addresses": [f"10.0.0.{i}"]} for i in range(5)]}
    assert by_column("endpointslices", many, "discovery.k8s.io")["Endpoints"] == (
        "10.0.0.0,10.0.0.1,10.0.0.2 + 2 more..."
    )


# --- leases and rbac ----------------------------------------------------------------------------------


def test_lease_row() -> None:
    lease = {"metadata": meta("kube-scheduler"), "spec": {"holderIdentity": "node-1_5f2c"}}
    assert cells("leases", lease, "coordination.k8s.io") == ["kube-scheduler", "node-1_5f2c", "60m"]
    assert cells("leases", {"metadata": meta("free"), "spec": {}}, "coordination.k8s.io") == [
        "free",
        "",
        "60m",
    ]


@pytest.mark.parametrize("plural", ["roles", "clusterroles"])
def test_roles_use_the_default_table_convertor(plural: str) -> None:
    obj = {"metadata": {"name": "admin", "creationTimestamp": "2024-04-30T23:30:15+02:00"}, "rules": []}
    assert cells(plural, obj, "rbac.authorization.k8s.io") == ["admin", "2024-04-30T21:30:15Z"]
    fractional = {"metadata": {"name": "v", "creationTimestamp": "2024-04-30T21:30:15.123456Z"}}
    assert cells(plural, fractional, "rbac.authorization.k8s.io") == ["v", "2024-04-30T21:30:15Z"]


@pytest.mark.parametrize(
    ("plural", "kind"), [("rolebindings", "Role"), ("clusterrolebindings", "ClusterRole")]
)
def test_binding_rows(plural: str, kind: str) -> None:
    obj = {
        "metadata": meta("bind"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": "view"},
        "subjects": [
            {"kind": "User", "name": "alice"},
            {"kind": "ServiceAccount", "namespace": "kube-system", "name": "coredns"},
            {"kind": "Group", "name": "system:authenticated"},
            {"kind": "User", "name": "bob"},
            {"kind": "ServiceAccount", "namespace": "default", "name": "default"},
        ],
    }
    assert cells(plural, obj, "rbac.authorization.k8s.io") == [
        "bind",
        f"{kind}/view",
        "60m",
        "alice, bob",
        "system:authenticated",
        "kube-system/coredns, default/default",
    ]
    bare = cells(plural, {"metadata": meta("b")}, "rbac.authorization.k8s.io")
    assert bare == ["b", "/", "60m", "", "", ""]
