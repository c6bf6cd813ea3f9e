#!/usr/bin/env python3
"""Scheduler throughput, in process: the API server over the embedded datastore in a temp dir (the
controller test harness's Cluster), N nodes and P pending pods created first with no scheduler running,
then the scheduler started and timed until every pod is bound (bounded by --timeout).

Bound pods are counted from a watch on pods (the same one any client gets), so the time includes the
scheduler's informer list, every decision, every pods/binding write and its watch event. The pods come
in workloads of 100 (a controlling ReplicaSet reference each, none of which exists: nothing else runs),
so the default spreading is part of every decision.

If `distro.controllers.deployment` and `.replicaset` exist, a second phase times a 1,000-replica
Deployment from creation until all its pods are bound (the three controllers running together).

kube-scheduler itself cannot run here (no binary, no Go toolchain), so there is no side-by-side: the
anchor is its documented target of 100 pods/s on 5,000-node clusters.

    python bench/scheduler.py                       # 100 nodes, 3,000 pods, then the Deployment
    python bench/scheduler.py --nodes 10 --pods 300 # quick

Progress goes to stderr, a markdown table to stdout, everything to bench/results/scheduler.json.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from distro.controllers.client import resource  # noqa: E402
from tests.controllers.harness import Cluster  # noqa: E402

Obj = dict[str, Any]
DEFAULT_OUT = REPO / "bench" / "results" / "scheduler.json"
WORKLOAD_SIZE = 100
CREATE_CONCURRENCY = 32
NODE_CPU, NODE_MEMORY, NODE_PODS = "32", "128Gi", "110"
POD_CPU, POD_MEMORY = "100m", "128Mi"


def progress(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def node(name: str) -> Obj:
    allocatable = {"cpu": NODE_CPU, "memory": NODE_MEMORY, "pods": NODE_PODS}
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "capacity": allocatable,
            "allocatable": allocatable,
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def pod(i: int) -> Obj:
    workload = i // WORKLOAD_SIZE
    owner = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": f"w{workload}",
        "uid": f"00000000-0000-0000-0000-{workload:012d}",
        "controller": True,
    }
    container = {
        "name": "c",
        "image": "registry.k8s.io/pause:3.10",
        "resources": {"requests": {"cpu": POD_CPU, "memory": POD_MEMORY}},
    }
    meta = {"name": f"p{i:05}", "labels": {"app": f"w{workload}"}, "ownerReferences": [owner]}
    return {"metadata": meta, "spec": {"containers": [container]}}


async def create_all(cluster: Cluster, plural: str, objs: list[Obj], namespace: str) -> None:
    gate = asyncio.Semaphore(CREATE_CONCURRENCY)

    async def one(obj: Obj) -> None:
        async with gate:
            await cluster.create("", plural, obj, namespace)

    await asyncio.gather(*(one(o) for o in objs))


class BindWatch:
    """Counts pods (matching a label selector) that got a node, with the time of each binding."""

    def __init__(self, cluster: Cluster, label_selector: str = "") -> None:
        self.cluster = cluster
        self.label_selector = label_selector
        self.bound: dict[str, float] = {}
        self.created: dict[str, float] = {}
        self.nodes: Counter[str] = Counter()

    async def run(self, revision: int, want: int) -> None:
        pods = resource("", "pods")
        async for ev in self.cluster.client.watch(pods, "", revision, label_selector=self.label_selector):
            node_name = (ev.object.get("spec") or {}).get("nodeName")
            name = ev.object["metadata"]["name"]
            if ev.type == "ADDED":
                self.created.setdefault(name, time.monotonic())
            if ev.type != "DELETED" and node_name and name not in self.bound:
                self.bound[name] = time.monotonic()
                self.nodes[node_name] += 1
                if len(self.bound) >= want:
                    return


async def current_revision(cluster: Cluster) -> int:
    _, revision = await cluster.client.list(resource("", "pods"), "")
    return revision


def rate_between(times: list[float], low: float, high: float) -> float:
    """Bindings per second between the low and high fractions of all bindings."""
    a, b = times[int(len(times) * low)], times[int(len(times) * high) - 1]
    count = int(len(times) * high) - int(len(times) * low) - 1
    return count / (b - a) if b > a else float("inf")


async def pending_phase(cluster: Cluster, nodes: int, pods: int, limit_s: float) -> Obj:
    progress(f"creating {nodes} nodes and {pods} pending pods (no scheduler)")
    await create_all(cluster, "nodes", [node(f"node-{i:04}") for i in range(nodes)], "")
    await create_all(cluster, "pods", [pod(i) for i in range(pods)], "default")
    watch = BindWatch(cluster)
    watcher = asyncio.create_task(watch.run(await current_revision(cluster), pods))
    progress("starting the scheduler")
    started, cpu_started = time.monotonic(), time.process_time()
    await cluster.run_controllers(("scheduler",))
    try:
        await asyncio.wait_for(watcher, limit_s)
    except TimeoutError:
        progress(f"timed out after {limit_s:.0f}s with {len(watch.bound)} of {pods} bound")
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu_started
    times = sorted(watch.bound.values())
    result: Obj = {
        "nodes": nodes,
        "pods": pods,
        "bound": len(times),
        "seconds_to_all_bound": (times[-1] - started) if len(times) == pods else None,
        "elapsed_s": elapsed,
        "first_bind_s": (times[0] - started) if times else None,
        "pods_per_s_overall": len(times) / (times[-1] - started) if times else 0.0,
        "pods_per_s_10_to_90pct": rate_between(times, 0.1, 0.9) if len(times) >= 20 else None,
        "process_cpu_s": cpu,
        "pods_per_node_min": min(watch.nodes.values()) if watch.nodes else 0,
        "pods_per_node_max": max(watch.nodes.values()) if watch.nodes else 0,
    }
    progress(f"bound {len(times)} pods: {result['pods_per_s_overall']:.0f} pods/s overall")
    return result


def deployment_controllers_exist() -> bool:
    return all(
        importlib.util.find_spec(f"distro.controllers.{name}") is not None
        for name in ("deployment", "replicaset")
    )


async def deployment_phase(cluster: Cluster, replicas: int, limit_s: float) -> Obj:
    labels = {"app": "bench-deploy"}
    deployment = {
        "metadata": {"name": "bench"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "c",
                            "image": "registry.k8s.io/pause:3.10",
                            "resources": {"requests": {"cpu": POD_CPU, "memory": POD_MEMORY}},
                        }
                    ]
                },
            },
        },
    }
    await cluster.run_controllers(("scheduler", "deployment", "replicaset"))
    await asyncio.sleep(1.0)  # let the restarted informers sync before the clock starts
    watch = BindWatch(cluster, "app=bench-deploy")
    watcher = asyncio.create_task(watch.run(await current_revision(cluster), replicas))
    progress(f"creating a Deployment of {replicas} replicas")
    started, cpu_started = time.monotonic(), time.process_time()
    await cluster.create("apps", "deployments", deployment)
    try:
        await asyncio.wait_for(watcher, limit_s)
    except TimeoutError:
        progress(f"timed out after {limit_s:.0f}s with {len(watch.bound)} of {replicas} bound")
    times = sorted(watch.bound.values())
    result = {
        "replicas": replicas,
        "bound": len(times),
        "seconds_to_all_bound": (times[-1] - started) if len(times) == replicas else None,
        "seconds_to_all_created": (max(watch.created.values()) - started) if watch.created else None,
        "process_cpu_s": time.process_time() - cpu_started,
    }
    progress(f"deployment: {len(times)} of {replicas} bound")
    return result


async def run(args: argparse.Namespace) -> Obj:
    with tempfile.TemporaryDirectory(dir=args.tmpdir, prefix="bench-scheduler-") as tmp:
        cluster = await Cluster(Path(tmp)).start()
        try:
            out: Obj = {"pending": await pending_phase(cluster, args.nodes, args.pods, args.timeout)}
            if args.replicas <= 0:
                out["deployment"] = {"skipped": "--replicas 0"}
            elif deployment_controllers_exist():
                out["deployment"] = await deployment_phase(cluster, args.replicas, args.timeout)
            else:
                note = (
                    "distro.controllers.deployment / .replicaset are not there yet: Deployment phase skipped"
                )
                print(f"note: {note}", file=sys.stderr)
                out["deployment"] = {"skipped": note}
        finally:
            await cluster.stop()
    return out


def table(out: Obj) -> str:
    p = out["pending"]
    rows = [
        ("nodes / pending pods", f"{p['nodes']} / {p['pods']}"),
        ("bound", f"{p['bound']}"),
        ("time to all bound", _seconds(p["seconds_to_all_bound"])),
        ("first binding after start", _seconds(p["first_bind_s"])),
        ("pods/s, overall (start to last binding)", f"{p['pods_per_s_overall']:.0f}"),
        ("pods/s, 10 %→90 % of bindings", _num(p["pods_per_s_10_to_90pct"])),
        ("process CPU during the phase", _seconds(p["process_cpu_s"])),
        ("pods per node, min-max", f"{p['pods_per_node_min']}-{p['pods_per_node_max']}"),
    ]
    d = out["deployment"]
    if "skipped" in d:
        rows.append(("Deployment", f"skipped: {d['skipped']}"))
    else:
        rows.append((f"Deployment of {d['replicas']}: all pods bound", _seconds(d["seconds_to_all_bound"])))
        rows.append(
            (f"Deployment of {d['replicas']}: last pod created", _seconds(d["seconds_to_all_created"]))
        )
    lines = ["| measure | value |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--pods", type=int, default=3000)
    parser.add_argument("--replicas", type=int, default=1000, help="Deployment size; 0 skips that phase")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds each phase may take")
    parser.add_argument("--tmpdir", default=None, help="where the temp data dir goes")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    out = asyncio.run(run(args))
    out["machine"] = {"cpus": _cpus(), "python": platform.python_version(), "platform": platform.platform()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2))
    print(table(out))
    complete = out["pending"]["bound"] == out["pending"]["pods"]
    return 0 if complete else 1


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())
