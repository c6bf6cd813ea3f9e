from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from distro.controllers.client import resource
from distro.controllers.scheduling import predicates, resources
from distro.controllers.scheduling.algorithm import pending_pod, schedule
from distro.controllers.scheduling.cache import Cache, pod_info
from tests.controllers.harness import eventually

Obj = dict[str, Any]
PREEMPTION_NO_VICTIMS = "No preemption victims found for incoming pod"
NOT_HELPFUL = "Preemption is not helpful for scheduling"


def node(
    name: str,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: str = "110",
    labels: dict[str, str] | None = None,
    taints: list[Obj] | None = None,
    unschedulable: bool = False,
    ready: str = "True",
    extra: dict[str, str] | None = None,
) -> Obj:
    allocatable = {"cpu": cpu, "memory": memory, "pods": pods, **(extra or {})}
    spec: Obj = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": spec,
        "status": {
            "capacity": allocatable,
            "allocatable": allocatable,
            "conditions": [{"type": "Ready", "status": ready}],
        },
    }


def pod(name: str, cpu: str | None = None, memory: str | None = None, **spec: Any) -> Obj:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    container: Obj = {"name": "c", "image": "registry.k8s.io/pause:3.10"}
    if requests:
        container["resources"] = {"requests": requests}
    labels = spec.pop("labels", None)
    owner = spec.pop("owner", None)
    meta: Obj = {"name": name, **({"labels": labels} if labels else {})}
    if owner:
        meta["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": owner, "controller": True}
        ]
    return {"metadata": meta, "spec": {"containers": [container], **spec}}


async def add_nodes(cluster, *nodes: Obj) -> None:
    for n in nodes:
        await cluster.create("", "nodes", n, "")


async def bound_to(cluster, name: str, within: float = 10.0) -> str:
    async def check() -> str:
        return (await cluster.get("", "pods", name))["spec"].get("nodeName") or ""

    return await eventually(check, within=within)


async def unschedulable_message(cluster, name: str, within: float = 10.0) -> str:
    async def check() -> str:
        p = await cluster.get("", "pods", name)
        assert not p["spec"].get("nodeName"), f"{name} was bound to {p['spec']['nodeName']}"
        for cond in p["status"].get("conditions") or ():
            if cond["type"] == "PodScheduled" and cond["status"] == "False":
                assert cond["reason"] == "Unschedulable"
                return cond["message"]
        return ""

    return await eventually(check, within=within)


async def events_for(cluster, name: str, reason: str) -> list[Obj]:
    return [
        e
        for e in await cluster.list("", "events", "default")
        if e["involvedObject"]["name"] == name and e["reason"] == reason
    ]


def fit_error(total: int, reasons: str, preemption: str) -> str:
    return (
        f"0/{total} nodes are available: {reasons}. preemption: 0/{total} nodes are available: {preemption}."
    )


# -- binding, events, ignored pods --


async def test_binds_a_pod_and_records_scheduled_event(cluster):
    await add_nodes(cluster, node("n1"))
    await cluster.run_controllers(("scheduler",))
    await cluster.create("", "pods", pod("web", cpu="100m"))
    assert await bound_to(cluster, "web") == "n1"
    scheduled = await cluster.get("", "pods", "web")
    cond = next(c for c in scheduled["status"]["conditions"] if c["type"] == "PodScheduled")
    assert cond["status"] == "True"

    async def event() -> list[Obj]:
        return await events_for(cluster, "web", "Scheduled")

    (ev,) = await eventually(event)
    assert ev["message"] == "Successfully assigned default/web to n1"
    assert ev["type"] == "Normal"
    assert ev["source"]["component"] == "default-scheduler"
    assert ev["involvedObject"]["kind"] == "Pod"


async def test_ignores_pods_with_a_node_or_another_scheduler(cluster):
    await add_nodes(cluster, node("n1"), node("n2"))
    await cluster.create("", "pods", pod("pinned", nodeName="n2"))
    await cluster.create("", "pods", pod("other", schedulerName="my-scheduler"))
    await cluster.create("", "pods", pod("gated", schedulingGates=[{"name": "wait"}]))
    await cluster.run_controllers(("scheduler",))
    await cluster.create("", "pods", pod("mine"))
    assert await bound_to(cluster, "mine") in ("n1", "n2")
    await asyncio.sleep(0.3)
    assert (await cluster.get("", "pods", "pinned"))["spec"]["nodeName"] == "n2"
    other = await cluster.get("", "pods", "other")
    assert not other["spec"].get("nodeName")
    assert not [c for c in other["status"].get("conditions") or () if c["type"] == "PodScheduled"]
    assert not (await cluster.get("", "pods", "gated"))["spec"].get("nodeName")
    for name in ("pinned", "other", "gated"):
        assert not await events_for(cluster, name, "Scheduled")
        assert not await events_for(cluster, name, "FailedScheduling")
    # removing the gate hands the pod to the scheduler
    await cluster.client.patch(resource("", "pods"), "default", "gated", {"spec": {"schedulingGates": None}})
    assert await bound_to(cluster, "gated") in ("n1", "n2")


# -- filters --


async def test_not_ready_and_cordoned_nodes_are_skipped(cluster):
    await add_nodes(
        cluster,
        node("down", ready="False"),
        node("lost", ready="Unknown"),
        node("cordoned", unschedulable=True),
        node("up"),
    )
    await cluster.run_controllers(("scheduler",))
    for i in range(4):
        await cluster.create("", "pods", pod(f"p{i}"))
    assert {await bound_to(cluster, f"p{i}") for i in range(4)} == {"up"}
    tolerant = pod(
        "tolerant",
        nodeSelector={"kubernetes.io/hostname": "cordoned"},
        tolerations=[
            {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"}
        ],
    )
    await cluster.create("", "pods", tolerant)
    assert await bound_to(cluster, "tolerant") == "cordoned"
    await cluster.create("", "pods", pod("stuck", nodeSelector={"kubernetes.io/hostname": "down"}))
    assert await unschedulable_message(cluster, "stuck") == fit_error(
        4,
        "1 node(s) didn't match Pod's node affinity/selector, "
        "1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, "
        "1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, "
        "1 node(s) were unschedulable",
        f"4 {NOT_HELPFUL}",
    )


async def test_node_selector_and_required_affinity(cluster):
    await add_nodes(
        cluster,
        node("a", labels={"zone": "z1", "gen": "3"}),
        node("b", labels={"zone": "z2", "gen": "5"}),
        node("c", labels={"zone": "z2", "gen": "7", "gpu": "yes"}),
    )
    await cluster.run_controllers(("scheduler",))
    await cluster.create("", "pods", pod("sel", nodeSelector={"zone": "z1"}))

    def affinity(*terms: Obj) -> Obj:
        required = {"nodeSelectorTerms": list(terms)}
        return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": required}}

    expr = [
        {"key": "zone", "operator": "In", "values": ["z2"]},
        {"key": "gen", "operator": "Gt", "values": ["4"]},
        {"key": "gen", "operator": "Lt", "values": ["6"]},
        {"key": "gpu", "operator": "DoesNotExist"},
    ]
    await cluster.create("", "pods", pod("expr", affinity=affinity({"matchExpressions": expr})))
    fields = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["c"]}]}
    await cluster.create("", "pods", pod("field", affinity=affinity(fields)))
    await cluster.create("", "pods", pod("nowhere", nodeSelector={"zone": "z9"}))
    assert await bound_to(cluster, "sel") == "a"
    assert await bound_to(cluster, "expr") == "b"
    assert await bound_to(cluster, "field") == "c"
    assert await unschedulable_message(cluster, "nowhere") == fit_error(
        3, "3 node(s) didn't match Pod's node affinity/selector", f"3 {NOT_HELPFUL}"
    )


def test_node_selector_operators():
    labels = {"a": "1", "b": "x"}
    cases = [
        ({"key": "a", "operator": "In", "values": ["1", "2"]}, True),
        ({"key": "a", "operator": "NotIn", "values": ["1"]}, False),
        ({"key": "z", "operator": "NotIn", "values": ["1"]}, True),
        ({"key": "b", "operator": "Exists"}, True),
        ({"key": "b", "operator": "DoesNotExist"}, False),
        ({"key": "a", "operator": "Gt", "values": ["0"]}, True),
        ({"key": "a", "operator": "Lt", "values": ["1"]}, False),
        ({"key": "b", "operator": "Gt", "values": ["0"]}, False),  # not an integer: no match
        ({"key": "a", "operator": "In", "values": []}, False),  # malformed: the term fails
    ]
    for expr, want in cases:
        assert predicates.term_matches({"matchExpressions": [expr]}, labels, "n") is want, expr
    assert predicates.term_matches({}, labels, "n") is False  # an empty term matches nothing
    name_not_in = {"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["n"]}]}
    assert predicates.term_matches(name_not_in, labels, "n") is False
    assert predicates.term_matches(name_not_in, labels, "m") is True


async def test_taints_and_tolerations(cluster):
    await add_nodes(
        cluster,
        node("gpu", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]),
        node("evict", taints=[{"key": "maint", "effect": "NoExecute"}]),
        node("soft", taints=[{"key": "spot", "value": "true", "effect": "PreferNoSchedule"}]),
    )
    await cluster.run_controllers(("scheduler",))
    for i in range(3):
        await cluster.create("", "pods", pod(f"plain{i}"))
    assert {await bound_to(cluster, f"plain{i}") for i in range(3)} == {"soft"}
    tolerations = [
        {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
        {"key": "maint", "operator": "Exists"},
        {"key": "spot", "operator": "Exists", "effect": "PreferNoSchedule"},
    ]
    await cluster.create(
        "", "pods", pod("tol", tolerations=tolerations, nodeSelector={"kubernetes.io/hostname": "gpu"})
    )
    assert await bound_to(cluster, "tol") == "gpu"
    wrong_value = [{"key": "dedicated", "operator": "Equal", "value": "cpu", "effect": "NoSchedule"}]
    await cluster.create(
        "", "pods", pod("wrong", tolerations=wrong_value, nodeSelector={"kubernetes.io/hostname": "gpu"})
    )
    assert await unschedulable_message(cluster, "wrong") == fit_error(
        3,
        "1 node(s) didn't match Pod's node affinity/selector, "
        "1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint {maint: }",
        f"3 {NOT_HELPFUL}",
    )


async def test_prefer_no_schedule_only_lowers_the_score(cluster):
    soft = [{"key": "spot", "value": "true", "effect": "PreferNoSchedule"}]
    await add_nodes(cluster, node("spot", taints=soft), node("plain"))
    await cluster.run_controllers(("scheduler",))
    for i in range(4):
        await cluster.create("", "pods", pod(f"p{i}", cpu="10m"))
    assert {await bound_to(cluster, f"p{i}") for i in range(4)} == {"plain"}


async def test_resource_requests_against_allocatable(cluster):
    await add_nodes(
        cluster,
        node("small", cpu="2", memory="1Gi", extra={"ephemeral-storage": "10Gi"}),
        node("gpu", cpu="2", memory="4Gi", extra={"example.com/gpu": "1", "ephemeral-storage": "10Gi"}),
    )
    await cluster.run_controllers(("scheduler",))
    await cluster.create("", "pods", with_gpu(pod("g1", cpu="500m", memory="2Gi")))
    assert await bound_to(cluster, "g1") == "gpu"
    await cluster.create("", "pods", with_gpu(pod("g2", cpu="100m")))
    assert await unschedulable_message(cluster, "g2") == fit_error(
        2, "2 Insufficient example.com/gpu", f"2 {PREEMPTION_NO_VICTIMS}"
    )
    # init containers count at their peak, next to the sum of the regular containers
    init = pod("init", cpu="500m")
    init["spec"]["initContainers"] = [
        {"name": "i", "image": "registry.k8s.io/pause:3.10", "resources": {"requests": {"cpu": "1800m"}}}
    ]
    await cluster.create("", "pods", init)
    assert await bound_to(cluster, "init") == "small"
    # small has 2 cpu, 1800m taken by the init peak; gpu has 1500m left
    await cluster.create("", "pods", pod("big", cpu="1600m", memory="2Gi"))
    assert await unschedulable_message(cluster, "big") == fit_error(
        2, "1 Insufficient memory, 2 Insufficient cpu", f"2 {PREEMPTION_NO_VICTIMS}"
    )
    storage = pod("disk")
    storage["spec"]["containers"][0]["resources"] = {"requests": {"ephemeral-storage": "20Gi"}}
    await cluster.create("", "pods", storage)
    assert await unschedulable_message(cluster, "disk") == fit_error(
        2, "2 Insufficient ephemeral-storage", f"2 {PREEMPTION_NO_VICTIMS}"
    )


def with_gpu(p: Obj) -> Obj:
    res = p["spec"]["containers"][0]["resources"]
    res["requests"]["example.com/gpu"] = "1"
    res["limits"] = {"example.com/gpu": "1"}
    return p


def test_pod_requests_sum_containers_max_init_and_add_overhead():
    spec = {
        "containers": [
            {"resources": {"requests": {"cpu": "250m", "memory": "64Mi", "example.com/dev": "1"}}},
            {"resources": {"requests": {"cpu": "250m"}}},
        ],
        "initContainers": [
            {"resources": {"requests": {"cpu": "2", "memory": "1Gi"}}},
            {"restartPolicy": "Always", "resources": {"requests": {"cpu": "100m", "memory": "10Mi"}}},
            {"resources": {"requests": {"cpu": "1"}}},
        ],
        "overhead": {"cpu": "50m", "memory": "1Mi"},
    }
    req = resources.pod_requests(spec)
    # sidecar runs along: containers 600m; init peak max(2000, 100 + 1000) = 2000; + overhead 50m
    assert req["cpu"] == 2050
    assert req["memory"] == 1024 * 2**20 + 2**20
    assert req["example.com/dev"] == 1
    # containers without requests count as 100m / 200Mi when spreading load
    cpu, memory = resources.pod_nonzero_requests(
        {"containers": [{}, {"resources": {"requests": {"cpu": "0"}}}]}
    )
    assert (cpu, memory) == (100, 400 * 2**20)


async def test_pod_count_against_allocatable_pods(cluster):
    await add_nodes(cluster, node("tiny", pods="2"))
    await cluster.run_controllers(("scheduler",))
    for i in range(3):
        await cluster.create("", "pods", pod(f"p{i}"))

    async def outcome() -> tuple[int, list[str]]:
        pods = [await cluster.get("", "pods", f"p{i}") for i in range(3)]
        bound = sum(1 for p in pods if p["spec"].get("nodeName"))
        messages = [
            c["message"]
            for p in pods
            for c in p["status"].get("conditions") or ()
            if c["type"] == "PodScheduled" and c["status"] == "False"
        ]
        return (bound, messages) if bound == 2 and messages else None

    bound, messages = await eventually(outcome)
    assert bound == 2
    assert messages == [fit_error(1, "1 Too many pods", f"1 {PREEMPTION_NO_VICTIMS}")]


async def test_host_port_conflicts(cluster):
    await add_nodes(cluster, node("n1"))
    await cluster.run_controllers(("scheduler",))

    def with_port(name: str, port: int, protocol: str = "TCP", ip: str = "") -> Obj:
        p = pod(name)
        entry = {"containerPort": 80, "hostPort": port, "protocol": protocol}
        if ip:
            entry["hostIP"] = ip
        p["spec"]["containers"][0]["ports"] = [entry]
        return p

    await cluster.create("", "pods", with_port("web", 8080))
    assert await bound_to(cluster, "web") == "n1"
    await cluster.create("", "pods", with_port("udp", 8080, "UDP"))
    await cluster.create("", "pods", with_port("other-port", 8081))
    assert await bound_to(cluster, "udp") == "n1"
    assert await bound_to(cluster, "other-port") == "n1"
    await cluster.create("", "pods", with_port("clash", 8080, ip="10.0.0.1"))
    assert await unschedulable_message(cluster, "clash") == fit_error(
        1, "1 node(s) didn't have free ports for the requested pod ports", f"1 {PREEMPTION_NO_VICTIMS}"
    )


# -- scoring --


async def test_spreads_a_workloads_pods_across_nodes(cluster):
    # least-allocated alone would pack these onto the big node
    await add_nodes(cluster, node("big", cpu="64", memory="256Gi"), node("s1"), node("s2"))
    await cluster.run_controllers(("scheduler",))
    for i in range(6):
        await cluster.create("", "pods", pod(f"rs-{i}", cpu="10m", labels={"app": "web"}, owner="rs-uid-1"))
    placed = Counter([await bound_to(cluster, f"rs-{i}") for i in range(6)])
    assert placed == Counter({"big": 2, "s1": 2, "s2": 2})
    # pods selected by the same service spread too, without any owner
    await cluster.create(
        "",
        "services",
        {"metadata": {"name": "api"}, "spec": {"selector": {"app": "api"}, "ports": [{"port": 80}]}},
    )
    for i in range(3):
        await cluster.create("", "pods", pod(f"api-{i}", cpu="10m", labels={"app": "api"}))
    assert {await bound_to(cluster, f"api-{i}") for i in range(3)} == {"big", "s1", "s2"}


async def test_least_allocated_prefers_the_emptier_node(cluster):
    await add_nodes(cluster, node("busy"), node("idle"))
    await cluster.create("", "pods", pod("hog", cpu="3", memory="6Gi", nodeName="busy"))
    await cluster.run_controllers(("scheduler",))
    for i in range(3):
        await cluster.create("", "pods", pod(f"p{i}", cpu="100m", memory="128Mi"))
    assert {await bound_to(cluster, f"p{i}") for i in range(3)} == {"idle"}


def test_preferred_affinity_scores_and_ties_break_at_random():
    cache = Cache()
    for name, zone in (("a", "z1"), ("b", "z2"), ("c", "z2")):
        cache.set_node(node(name, labels={"zone": zone}))
    preferred = [
        {
            "weight": 50,
            "preference": {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z2"]}]},
        }
    ]
    spec = {
        "containers": [{}],
        "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": preferred}},
    }
    want = pending_pod({"metadata": {"name": "p", "namespace": "default", "uid": "u"}, "spec": spec})
    rng = random.Random(7)
    picks = Counter(schedule(want, cache.nodes(), None, cache.spread_counts, rng).node for _ in range(400))
    assert set(picks) == {"b", "c"}
    assert min(picks.values()) > 120  # both equally good, chosen about evenly


# -- the FailedScheduling message --


async def test_failed_scheduling_message_for_a_mixed_set_of_nodes(cluster):
    await add_nodes(
        cluster,
        node("small", cpu="1", labels={"disk": "ssd"}),
        node("hdd1", cpu="8", labels={"disk": "hdd"}),
        node("hdd2", cpu="8", labels={"disk": "hdd"}),
        node(
            "tainted",
            cpu="8",
            labels={"disk": "ssd"},
            taints=[{"key": "team", "value": "ml", "effect": "NoSchedule"}],
        ),
        node("cordoned", cpu="8", labels={"disk": "ssd"}, unschedulable=True),
    )
    await cluster.run_controllers(("scheduler",))
    await cluster.create("", "pods", pod("picky", cpu="2", nodeSelector={"disk": "ssd"}))
    expected = fit_error(
        5,
        "1 Insufficient cpu, 1 node(s) had untolerated taint {team: ml}, 1 node(s) were unschedulable, "
        "2 node(s) didn't match Pod's node affinity/selector",
        f"1 {PREEMPTION_NO_VICTIMS}, 4 {NOT_HELPFUL}",
    )
    assert await unschedulable_message(cluster, "picky") == expected

    async def event() -> list[Obj]:
        return await events_for(cluster, "picky", "FailedScheduling")

    (ev,) = await eventually(event)
    assert ev["type"] == "Warning" and ev["message"] == expected


def test_messages_for_no_nodes_pinned_pods_priority_and_preemption_policy():
    cache = Cache()
    rng = random.Random(1)

    def decide(spec: Obj, priority: int = 0) -> str:
        body = {"containers": [{"resources": {"requests": {"cpu": "3"}}}], "priority": priority, **spec}
        p = pending_pod({"metadata": {"name": "p", "namespace": "default", "uid": "new"}, "spec": body})
        decision = schedule(p, cache.nodes(), None, cache.spread_counts, rng)
        assert decision.node is None
        return decision.message

    assert decide({}) == "no nodes available to schedule pods"
    for name in ("n1", "n2", "n3"):
        cache.set_node(node(name))
    low = {"metadata": {"name": "low", "namespace": "default", "uid": "low"}}
    low["spec"] = {"nodeName": "n1", "priority": 0, "containers": [{"resources": {"requests": {"cpu": "2"}}}]}
    cache.add_pod(pod_info(low))
    big = {"metadata": {"name": "big", "namespace": "default", "uid": "big"}}
    big["spec"] = {
        "nodeName": "n2",
        "priority": 100,
        "containers": [{"resources": {"requests": {"cpu": "2"}}}],
    }
    cache.add_pod(pod_info(big))
    cache.add_pod(
        pod_info(
            {**big, "metadata": {**big["metadata"], "uid": "big2"}, "spec": {**big["spec"], "nodeName": "n3"}}
        )
    )
    # a DaemonSet-style pod pinned to n2
    pinned = {
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n2"]}]}
                    ]
                }
            }
        }
    }
    assert decide(pinned) == fit_error(
        3,
        "1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]",
        f"1 {PREEMPTION_NO_VICTIMS}, 2 {NOT_HELPFUL}",
    )
    # with a higher priority, evicting `low` from n1 would make room: upstream preempts, no suffix
    assert decide({}, priority=50) == "0/3 nodes are available: 3 Insufficient cpu."
    assert decide({"preemptionPolicy": "Never"}, priority=50) == (
        "0/3 nodes are available: 3 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
    )
    # victims exist but are too small to matter
    assert decide({"containers": [{"resources": {"requests": {"cpu": "5"}}}]}, priority=50) == fit_error(
        3, "3 Insufficient cpu", f"1 Insufficient cpu, 2 {PREEMPTION_NO_VICTIMS}"
    )


# -- retries, concurrency, restarts --


async def test_pending_pod_schedules_when_a_suitable_node_is_added(cluster):
    await add_nodes(cluster, node("n1", cpu="2"))
    await cluster.run_controllers(("scheduler",))
    await cluster.create("", "pods", pod("large", cpu="6"))
    assert await unschedulable_message(cluster, "large") == fit_error(
        1, "1 Insufficient cpu", f"1 {PREEMPTION_NO_VICTIMS}"
    )
    await add_nodes(cluster, node("n2", cpu="8"))
    assert await bound_to(cluster, "large") == "n2"


async def test_pending_pod_schedules_when_a_pod_leaves_its_node(cluster):
    await add_nodes(cluster, node("n1", cpu="2"))
    await cluster.run_controllers(("scheduler",))
    await cluster.create("", "pods", pod("first", cpu="1500m"))
    assert await bound_to(cluster, "first") == "n1"
    await cluster.create("", "pods", pod("second", cpu="1500m"))
    await unschedulable_message(cluster, "second")
    await cluster.client.delete(resource("", "pods"), "default", "first", grace_period=0)
    assert await bound_to(cluster, "second") == "n1"


async def test_no_double_booking_under_concurrency(cluster):
    await add_nodes(cluster, node("n1", cpu="8"), node("n2", cpu="8"))
    for i in range(20):
        await cluster.create("", "pods", pod(f"p{i:02}", cpu="1"))
    await cluster.run_controllers(("scheduler",))

    async def settled() -> tuple[Counter, list[str]] | None:
        pods = await cluster.list("", "pods", "default")
        placed = Counter(p["spec"]["nodeName"] for p in pods if p["spec"].get("nodeName"))
        waiting = [
            c["message"]
            for p in pods
            if not p["spec"].get("nodeName")
            for c in p["status"].get("conditions") or ()
            if c["type"] == "PodScheduled" and c["status"] == "False"
        ]
        return (placed, waiting) if sum(placed.values()) + len(waiting) == 20 else None

    placed, waiting = await eventually(settled, within=20)
    assert placed == Counter({"n1": 8, "n2": 8})
    assert waiting == [fit_error(2, "2 Insufficient cpu", f"2 {PREEMPTION_NO_VICTIMS}")] * 4
    await asyncio.sleep(0.5)
    pods = await cluster.list("", "pods", "default")
    assert sum(1 for p in pods if p["spec"].get("nodeName")) == 16


async def test_restart_mid_way_keeps_capacity_and_finishes(cluster):
    # 3 nodes x 4 cpu hold 24 pods of 500m; 30 pods come, half before and half after a restart
    await add_nodes(cluster, *(node(f"n{i}", cpu="4") for i in range(3)))
    for i in range(15):
        await cluster.create("", "pods", pod(f"a{i:02}", cpu="500m"))
    await cluster.run_controllers(("scheduler",))

    async def some_bound() -> bool:
        pods = await cluster.list("", "pods", "default")
        return any(p["spec"].get("nodeName") for p in pods)

    await eventually(some_bound, interval=0.005)
    await cluster.run_controllers(())  # stopped in the middle: bindings may be in flight
    for i in range(15):
        await cluster.create("", "pods", pod(f"b{i:02}", cpu="500m"))
    await cluster.run_controllers(("scheduler",))

    async def all_settled() -> Counter | None:
        pods = await cluster.list("", "pods", "default")
        placed = Counter(p["spec"]["nodeName"] for p in pods if p["spec"].get("nodeName"))
        waiting = [p for p in pods if not p["spec"].get("nodeName")]
        reported = all(
            any(
                c["type"] == "PodScheduled" and c["status"] == "False"
                for c in p["status"].get("conditions") or ()
            )
            for p in waiting
        )
        return placed if sum(placed.values()) == 24 and len(waiting) == 6 and reported else None

    placed = await eventually(all_settled, within=20)
    assert placed == Counter({"n0": 8, "n1": 8, "n2": 8})
    await asyncio.sleep(0.3)
    pods = await cluster.list("", "pods", "default")
    assert sum(1 for p in pods if p["spec"].get("nodeName")) == 24


# -- e2e: the real server and kubectl --


@pytest.fixture
def edge(tmp_path):
    from tests.e2e.apiserver import EdgeServer

    server = EdgeServer(tmp_path / "data", tmp_path / "server.log").start()
    yield server
    server.stop()


def poll(read: Callable[[], str], wanted: str, within: float = 20.0) -> str:
    """Reads until the text contains `wanted` (or time is up); returns the last read."""
    deadline = time.monotonic() + within
    text = read()
    while wanted not in text and time.monotonic() < deadline:
        time.sleep(0.2)
        text = read()
    return text


def _manifest_nodes(*nodes: Obj) -> str:
    return yaml.safe_dump_all([{"apiVersion": "v1", "kind": "Node", **n} for n in nodes])


@pytest.mark.e2e
def test_e2e_kubectl_shows_pending_then_the_node(edge):
    # the manifests carry the status a kubelet would report (Ready, allocatable)
    edge.kubectl("apply", "-f", "-", input=_manifest_nodes(*(node(f"edge-{i}", cpu="1") for i in range(3))))
    big = {"apiVersion": "v1", "kind": "Pod", **pod("big", cpu="2")}
    edge.kubectl("apply", "-f", "-", input=yaml.safe_dump(big))
    expected = fit_error(3, "3 Insufficient cpu", f"3 {PREEMPTION_NO_VICTIMS}")
    described = poll(lambda: edge.kubectl("describe", "pod", "big").stdout, "FailedScheduling")
    assert "default-scheduler" in described
    assert " ".join(expected.split()) in " ".join(described.split())
    row = edge.kubectl("get", "pod", "big", "--no-headers").stdout.split()
    assert row[2] == "Pending"
    edge.kubectl("apply", "-f", "-", input=_manifest_nodes(node("edge-big", cpu="4")))
    wide = poll(lambda: edge.kubectl("get", "pod", "big", "-o", "wide", "--no-headers").stdout, "edge-big")
    assert wide.split()[6] == "edge-big", wide
    assert wide.split()[2] == "Pending"  # bound; no kubelet runs it here
