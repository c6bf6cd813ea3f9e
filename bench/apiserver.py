#!/usr/bin/env python3
"""`edgek8s server` on its embedded SQLite datastore vs the same server on a real etcd 3.4.

Upstream kube-apiserver cannot run on this machine (no binary, no Go toolchain), so the oracle is the
datastore: the same API server code once over the embedded store and once over `--datastore-endpoint`
pointing at etcd 3.4 (/usr/bin/etcd). Each setup is started alone in a fresh temp dir on loopback ports,
measured and stopped before the next one starts. The load generator is this process: aiohttp clients on
one asyncio loop, TLS with the admin client certificate from the server's kubeconfig. Every phase is
bounded by a count and by time.

    python bench/apiserver.py                    # full run: 5,000 pods per setup, a few minutes
    python bench/apiserver.py --quick            # smoke run, well under a minute
    python bench/apiserver.py --only embedded    # one setup, no ratios

Progress goes to stderr; the markdown table at the end goes to stdout. The exit code is 1 if a setup
could not be measured or requests failed, 0 otherwise (missed targets are reported, not fatal).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
JSON = "application/json"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
MERGE_PATCH = "application/merge-patch+json"
WATCHED_NODE = "node-a"
OTHER_NODE = "node-b"
SETUPS = ("embedded", "etcd")
TITLES = {"embedded": "embedded (SQLite)", "etcd": "etcd 3.4"}
MAX_ERRORS = 20  # per phase: past this the phase stops, the server is clearly broken


@dataclass(frozen=True)
class Plan:
    pods: int = 5000  # pods in the list namespace (and on the server) when RSS and lists are measured
    seq_creates: int = 2000
    conc_creates: int = 2000
    clients: int = 16
    create_max_s: float = 180.0
    list_runs: int = 5
    watchers: int = 100
    watch_pods: int = 4
    warmup_updates: int = 3
    updates: int = 300
    watch_max_s: float = 120.0
    event_timeout_s: float = 10.0
    idle_settle_s: float = 2.0
    load_settle_s: float = 2.0
    ready_timeout_s: float = 60.0


QUICK = Plan(
    pods=300,
    seq_creates=100,
    conc_creates=100,
    create_max_s=20.0,
    list_runs=3,
    watchers=10,
    updates=20,
    watch_max_s=20.0,
    idle_settle_s=1.0,
    load_settle_s=0.5,
    ready_timeout_s=30.0,
)


def plan_for(quick: bool, pods: int | None) -> Plan:
    base = QUICK if quick else Plan()
    if pods is None:
        return base
    seq = min(base.seq_creates, pods // 2)
    return replace(base, pods=pods, seq_creates=seq, conc_creates=min(base.conc_creates, pods - seq))


# ---------------------------------------------------------------------------------------------------
# measuring processes


def progress(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def _proc_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime of all threads


def _status_mib(pid: int, name: str) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key == name:
                return int(rest.split()[0]) / 1024
    return float("nan")


def _children(pid: int) -> list[int]:
    """Direct and indirect child processes: the server must be measured whole even if it forks."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found, frontier = [], [pid]
    while frontier:
        kids = [c for c, p in parents.items() if p in frontier]
        found += kids
        frontier = kids
    return found


def rss_mib(pid: int) -> float:
    """VmRSS of PID and of any processes it started."""
    return sum(_status_mib(p, "VmRSS") for p in [pid, *_children(pid)])


@dataclass
class Procs:
    """The processes of one setup: the API server, and etcd when it is the datastore."""

    server: int
    etcd: int | None = None

    def cpu(self) -> tuple[float, float]:
        return _proc_cpu_s(self.server), _proc_cpu_s(self.etcd) if self.etcd else 0.0

    def rss(self) -> tuple[float, float | None]:
        return rss_mib(self.server), (rss_mib(self.etcd) if self.etcd else None)


def pct(sorted_vals: list[float], q: float) -> float:
    if not sorted_vals:
        return float("nan")
    return sorted_vals[max(0, min(len(sorted_vals) - 1, math.ceil(q * len(sorted_vals)) - 1))]


# ---------------------------------------------------------------------------------------------------
# the client


@dataclass
class Phase:
    label: str
    ops: int = 0
    wanted: int = 0
    seconds: float = 0.0
    lat: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    server_cpu_s: float = 0.0
    etcd_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0

    def per_op_ms(self, cpu_s: float) -> float:
        return 1e3 * cpu_s / self.ops if self.ops else float("nan")


class Measure:
    """Times a phase and charges the CPU each process used during it."""

    def __init__(self, procs: Procs, phase: Phase) -> None:
        self.procs, self.phase = procs, phase

    def __enter__(self) -> Phase:
        self._cpu0 = self.procs.cpu()
        self._client0 = time.process_time()
        self._t0 = time.perf_counter()
        return self.phase

    def __exit__(self, *exc: object) -> None:
        self.phase.seconds = time.perf_counter() - self._t0
        server1, etcd1 = self.procs.cpu()
        self.phase.server_cpu_s = server1 - self._cpu0[0]
        self.phase.etcd_cpu_s = etcd1 - self._cpu0[1]
        self.phase.client_cpu_s = time.process_time() - self._client0


class Api:
    """One aiohttp session against the server, authenticated by the admin client certificate."""

    def __init__(self, url: str, ssl_ctx: Any, limit: int) -> None:
        self.url = url
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=ssl_ctx, limit=limit),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=120),
        )

    async def close(self) -> None:
        await self.session.close()

    async def request(
        self, method: str, path: str, body: bytes | None = None, *, accept: str = JSON, ctype: str = JSON
    ) -> tuple[int, bytes]:
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = ctype
        async with self.session.request(method, self.url + path, data=body, headers=headers) as resp:
            return resp.status, await resp.read()

    async def must(self, method: str, path: str, body: Any = None, *, want: int, ctype: str = JSON) -> Any:
        data = None if body is None else json.dumps(body).encode()
        code, raw = await self.request(method, path, data, ctype=ctype)
        if code != want:
            raise RuntimeError(f"{method} {path}: HTTP {code}, wanted {want}: {raw[:500]!r}")
        return json.loads(raw)


def _pod(name: str, node: str, index: int) -> dict[str, Any]:
    """A small but realistic pod: scheduled, one container with a port and requests."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench", "shard": str(index % 16)}},
        "spec": {
            "nodeName": node,
            "containers": [
                {
                    "name": "app",
                    "image": "registry.k8s.io/pause:3.10",
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                }
            ],
        },
    }


async def create_namespace(api: Api, name: str) -> None:
    await api.must("POST", "/api/v1/namespaces", {"metadata": {"name": name}}, want=201)


async def create_pods(api: Api, ns: str, indices: range, clients: int, max_s: float, phase: Phase) -> None:
    """Closed loop: `clients` coroutines, each with one create in flight, until the indices run out."""
    path = f"/api/v1/namespaces/{ns}/pods"
    todo = iter(indices)
    deadline = time.monotonic() + max_s
    phase.wanted = len(indices)

    async def client() -> None:
        for i in todo:
            if time.monotonic() >= deadline or len(phase.errors) >= MAX_ERRORS:
                return
            body = json.dumps(_pod(f"bench-{i:06d}", f"node-{i % 10}", i)).encode()
            t0 = time.perf_counter()
            try:
                code, raw = await api.request("POST", path, body)
            except (aiohttp.ClientError, TimeoutError) as exc:
                phase.errors.append(repr(exc))
                continue
            if code != 201:
                phase.errors.append(f"HTTP {code}: {raw[:300]!r}")
                continue
            phase.lat.append(time.perf_counter() - t0)
            phase.ops += 1

    await asyncio.gather(*(client() for _ in range(clients)))
    phase.lat.sort()


@dataclass
class ListResult:
    label: str
    count: int
    size: int
    runs: list[float]

    @property
    def median_ms(self) -> float:
        return 1e3 * statistics.median(self.runs)


async def time_list(api: Api, ns: str, accept: str, rv0: bool, runs: int, expect: int) -> ListResult:
    """Median time to the last byte of a full list; the untimed first run checks the response."""
    path = f"/api/v1/namespaces/{ns}/pods" + ("?resourceVersion=0" if rv0 else "")
    kind = "Table" if accept == TABLE else "JSON"
    label = f"{kind}, " + ("resourceVersion=0 (watch cache)" if rv0 else "no resourceVersion (consistent)")
    code, raw = await api.request("GET", path, accept=accept)
    if code != 200:
        raise RuntimeError(f"list {label}: HTTP {code}: {raw[:300]!r}")
    doc = json.loads(raw)
    got = len(doc["rows"] if kind == "Table" else doc["items"])
    if got != expect:
        raise RuntimeError(f"list {label}: {got} {'rows' if kind == 'Table' else 'items'}, wanted {expect}")
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        code, raw = await api.request("GET", path, accept=accept)
        times.append(time.perf_counter() - t0)
        if code != 200:
            raise RuntimeError(f"list {label}: HTTP {code}")
    return ListResult(label, got, len(raw), times)


# ---------------------------------------------------------------------------------------------------
# watch fan-out


@dataclass
class Watcher:
    filtered: bool  # fieldSelector spec.nodeName=WATCHED_NODE
    arrivals: dict[str, float] = field(default_factory=dict)
    wrong: list[str] = field(default_factory=list)


_RV_MARK = b'"resourceVersion":"'


def _event_rv(line: bytes) -> str:
    """The object's resourceVersion: the first one in the line is metadata's (no full parse on the hot path,
    so that 100 watchers on one client loop do not queue behind each other's JSON decoding)."""
    at = line.find(_RV_MARK)
    if at < 0:
        return str(json.loads(line)["object"]["metadata"]["resourceVersion"])
    start = at + len(_RV_MARK)
    return line[start : line.index(b'"', start)].decode()


async def _watch(api: Api, path: str, params: dict[str, str], w: Watcher, changed: asyncio.Event) -> None:
    async with api.session.get(api.url + path, params=params, headers={"Accept": JSON}) as resp:
        if resp.status != 200:
            raise RuntimeError(f"watch {params}: HTTP {resp.status}: {(await resp.read())[:300]!r}")
        async for line in resp.content:
            now = time.perf_counter()
            head = line[:40]
            if b'"BOOKMARK"' in head or not line.strip():
                continue
            if b'"MODIFIED"' not in head:
                w.wrong.append(line[:200].decode(errors="replace"))
                continue
            if w.filtered and b'"nodeName":"%s"' % WATCHED_NODE.encode() not in line:
                w.wrong.append("filtered watcher got a pod of another node")
            w.arrivals[_event_rv(line)] = now
            changed.set()


@dataclass
class WatchResult:
    watchers: int
    updates: int = 0
    delivered: int = 0
    expected: int = 0
    from_ack: list[float] = field(default_factory=list)
    from_sent: list[float] = field(default_factory=list)
    ack: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def _wait_all(watchers: list[Watcher], rv: str, changed: asyncio.Event, wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    while any(rv not in w.arrivals for w in watchers):
        changed.clear()  # no await since the check above, so no arrival can be lost in between
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        try:
            await asyncio.wait_for(changed.wait(), remaining)
        except TimeoutError:
            return False
    return True


async def watch_fanout(api: Api, watch_api: Api, plan: Plan, phase: Phase) -> WatchResult:
    """plan.watchers watchers on one namespace's pods (every second one filtered by spec.nodeName), then
    sequential updates alternating between pods on the watched node and on another node; each update
    waits until every watcher that should see it has."""
    ns = "bench-watch"
    await create_namespace(api, ns)
    pods = [(f"w-{i}", WATCHED_NODE if i % 2 == 0 else OTHER_NODE) for i in range(plan.watch_pods)]
    for i, (name, node) in enumerate(pods):
        await api.must("POST", f"/api/v1/namespaces/{ns}/pods", _pod(name, node, i), want=201)
    listed = await api.must("GET", f"/api/v1/namespaces/{ns}/pods", want=200)
    start_rv = listed["metadata"]["resourceVersion"]
    watchers = [Watcher(filtered=i % 2 == 1) for i in range(plan.watchers)]
    changed = asyncio.Event()
    path = f"/api/v1/namespaces/{ns}/pods"
    tasks = []
    for w in watchers:
        params = {"watch": "1", "resourceVersion": start_rv, "timeoutSeconds": "1800"}
        if w.filtered:
            params["fieldSelector"] = f"spec.nodeName={WATCHED_NODE}"
        tasks.append(asyncio.create_task(_watch(watch_api, path, params, w, changed)))
    result = WatchResult(watchers=len(watchers))
    deadline = time.monotonic() + plan.watch_max_s
    try:
        for i in range(plan.warmup_updates + plan.updates):
            if time.monotonic() >= deadline or len(result.errors) >= MAX_ERRORS:
                break
            failed = [t for t in tasks if t.done()]
            if failed:
                raise RuntimeError(f"a watcher ended early: {failed[0].exception()!r}")
            name, node = pods[i % len(pods)]
            expected = [w for w in watchers if node == WATCHED_NODE or not w.filtered]
            patch = {"metadata": {"annotations": {"bench/seq": str(i)}}}
            t0 = time.perf_counter()
            code, raw = await api.request(
                "PATCH", f"{path}/{name}", json.dumps(patch).encode(), ctype=MERGE_PATCH
            )
            acked = time.perf_counter()
            if code != 200:
                result.errors.append(f"PATCH HTTP {code}: {raw[:300]!r}")
                continue
            rv = json.loads(raw)["metadata"]["resourceVersion"]
            # the first update also proves every watch is registered, so it may take longer
            timeout = 30.0 if i == 0 else plan.event_timeout_s
            complete = await _wait_all(expected, rv, changed, timeout)
            if i < plan.warmup_updates:
                if not complete:
                    raise RuntimeError(f"warm-up update {i}: not every watcher saw it within {timeout:.0f} s")
                for w in watchers:
                    w.arrivals.pop(rv, None)
                continue
            result.updates += 1
            result.expected += len(expected)
            result.ack.append(acked - t0)
            arrivals = [at for w in expected if (at := w.arrivals.pop(rv, None)) is not None]
            result.delivered += len(arrivals)
            result.from_ack += [at - acked for at in arrivals]
            result.from_sent += [at - t0 for at in arrivals]
            if not complete:
                result.errors.append(f"update {i}: {len(expected) - len(arrivals)} watchers missed it")
        phase.ops = result.updates
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    result.errors += [f"watcher: {msg}" for w in watchers for msg in w.wrong[:1]]
    for values in (result.from_ack, result.from_sent, result.ack):
        values.sort()
    return result


# ---------------------------------------------------------------------------------------------------
# one setup, all phases


@dataclass
class SetupResult:
    name: str
    startup_s: float = float("nan")
    rss_idle: tuple[float, float | None] = (float("nan"), None)
    rss_loaded: tuple[float, float | None] = (float("nan"), None)
    hwm_loaded: float = float("nan")  # VmHWM of the server: peak RSS so far
    hwm_lists: float = float("nan")
    phases: dict[str, Phase] = field(default_factory=dict)
    lists: dict[str, ListResult] = field(default_factory=dict)
    watch: WatchResult | None = None
    pods_loaded: int = 0
    failure: str = ""

    def errors(self) -> list[str]:
        out = [e for p in self.phases.values() for e in p.errors]
        return out + (self.watch.errors if self.watch else [])


def _log_phase(name: str, p: Phase) -> None:
    cpu = f"cpu ms/op server {p.per_op_ms(p.server_cpu_s):.2f}"
    if p.etcd_cpu_s:
        cpu += f" etcd {p.per_op_ms(p.etcd_cpu_s):.2f}"
    cpu += f" client {p.per_op_ms(p.client_cpu_s):.2f}"
    progress(
        f"[{name}] {p.label}: {p.ops}/{p.wanted} in {p.seconds:.1f} s = {p.rate:,.0f}/s, "
        f"p50 {pct(p.lat, 0.5) * 1e3:.1f} ms, p99 {pct(p.lat, 0.99) * 1e3:.1f} ms ({cpu})"
        + (f" ERRORS {len(p.errors)}: {p.errors[0]}" if p.errors else "")
    )


async def run_phases(name: str, url: str, ssl_ctx: Any, procs: Procs, plan: Plan, out: SetupResult) -> None:
    api = Api(url, ssl_ctx, limit=plan.clients + 4)
    watch_api = Api(url, ssl_ctx, limit=0)  # one connection per watcher
    try:
        ns = "bench-pods"
        await create_namespace(api, ns)
        seq = range(plan.seq_creates)
        conc = range(seq.stop, seq.stop + plan.conc_creates)
        rest = range(conc.stop, plan.pods)
        steps = [
            ("create_seq", seq, 1, f"create {len(seq)} pods, 1 client"),
            ("create_conc", conc, plan.clients, f"create {len(conc)} pods, {plan.clients} clients"),
            ("load", rest, plan.clients, f"load the rest: {len(rest)} pods, {plan.clients} clients"),
        ]
        for key, indices, clients, label in steps:
            if not indices:
                continue
            with Measure(procs, Phase(label)) as phase:
                await create_pods(api, ns, indices, clients, plan.create_max_s, phase)
            out.phases[key] = phase
            _log_phase(name, phase)
            if phase.errors:
                return
        out.pods_loaded = sum(p.ops for p in out.phases.values())
        await asyncio.sleep(plan.load_settle_s)
        out.rss_loaded = procs.rss()
        out.hwm_loaded = _status_mib(procs.server, "VmHWM")
        progress(
            f"[{name}] RSS with {out.pods_loaded} pods: {_rss_text(out.rss_loaded)}; "
            f"server peak so far {out.hwm_loaded:.1f} MiB"
        )

        for accept in (JSON, TABLE):
            for rv0 in (False, True):
                res = await time_list(api, ns, accept, rv0, plan.list_runs, out.pods_loaded)
                out.lists[f"{'table' if accept == TABLE else 'json'}_{'rv0' if rv0 else 'consistent'}"] = res
                progress(
                    f"[{name}] list {res.count} pods as {res.label}: median {res.median_ms:.0f} ms "
                    f"of {[round(t * 1e3) for t in res.runs]}, {res.size / 1024:,.0f} KiB; server peak RSS "
                    f"{_status_mib(procs.server, 'VmHWM'):.0f} MiB"
                )

        out.hwm_lists = _status_mib(procs.server, "VmHWM")
        progress(f"[{name}] server peak RSS after the lists: {out.hwm_lists:.1f} MiB")
        label = f"watch fan-out: {plan.watchers} watchers, {plan.updates} updates"
        with Measure(procs, Phase(label, wanted=plan.updates)) as phase:
            out.watch = await watch_fanout(api, watch_api, plan, phase)
        out.phases["watch"] = phase
        w = out.watch
        progress(
            f"[{name}] {label}: {w.delivered}/{w.expected} events, from ack p50 "
            f"{pct(w.from_ack, 0.5) * 1e3:.1f} ms p99 {pct(w.from_ack, 0.99) * 1e3:.1f} ms; from sent p50 "
            f"{pct(w.from_sent, 0.5) * 1e3:.1f} ms; update ack p50 {pct(w.ack, 0.5) * 1e3:.1f} ms "
            f"({phase.seconds:.1f} s, cpu ms/update server {phase.per_op_ms(phase.server_cpu_s):.1f} "
            f"client {phase.per_op_ms(phase.client_cpu_s):.1f})"
            + (f" ERRORS {len(w.errors)}: {w.errors[0]}" if w.errors else "")
        )
    finally:
        await api.close()
        await watch_api.close()


def _rss_text(rss: tuple[float, float | None]) -> str:
    return f"server {rss[0]:.1f} MiB" + (f", etcd {rss[1]:.1f} MiB" if rss[1] is not None else "")


def bench_setup(name: str, plan: Plan, tmp_root: Path, server_args: tuple[str, ...]) -> SetupResult:
    from tests.e2e.apiserver import EdgeServer, ssl_context
    from tests.support import Server, etcd_argv

    root = Path(tempfile.mkdtemp(prefix=f"bench-apiserver-{name}-", dir=tmp_root))
    out = SetupResult(name)
    etcd = server = None
    try:
        extra = server_args
        if name == "etcd":
            etcd = Server(root / "etcd", etcd_argv(), root / "etcd.log").start()
            extra = (*server_args, "--datastore-endpoint", etcd.endpoint)
        server = EdgeServer(root / "data", root / "server.log", *extra)
        t0 = time.monotonic()
        server.start(timeout=plan.ready_timeout_s)
        out.startup_s = time.monotonic() - t0
        assert server.proc is not None
        procs = Procs(server.proc.pid, etcd.proc.pid if etcd and etcd.proc else None)
        progress(
            f"[{name}] ready in {out.startup_s:.2f} s at {server.url} (pid {procs.server}), data in {root}"
        )
        time.sleep(plan.idle_settle_s)
        out.rss_idle = procs.rss()
        progress(f"[{name}] idle RSS after {plan.idle_settle_s:.0f} s: {_rss_text(out.rss_idle)}")
        ctx = ssl_context(server, server.kubeconfig)
        asyncio.run(run_phases(name, server.url, ctx, procs, plan, out))
        if server.proc.poll() is not None:
            raise RuntimeError(f"the server exited during the run with {server.proc.returncode}")
    except Exception as exc:
        out.failure = f"{type(exc).__name__}: {exc}"
        progress(f"[{name}] FAILED: {out.failure}")
        if server is not None:
            progress(f"[{name}] server log tail:\n{server.log_text()[-3000:]}")
    finally:
        if server is not None:
            server.stop()
        if etcd is not None:
            etcd.stop()
        shutil.rmtree(root, ignore_errors=True)
    return out


# ---------------------------------------------------------------------------------------------------
# report


@dataclass(frozen=True)
class Row:
    metric: str
    unit: str
    get: Callable[[SetupResult], float | None]
    higher_better: bool
    target: tuple[str, float, str] | None = None  # (">=" | "<", bound, shown as)
    target_on: tuple[str, ...] = SETUPS  # setups the target is judged on


def _phase(key: str, fn: Callable[[Phase], float]) -> Callable[[SetupResult], float | None]:
    return lambda r: fn(r.phases[key]) if key in r.phases else None


def _lst(key: str) -> Callable[[SetupResult], float | None]:
    return lambda r: r.lists[key].median_ms if key in r.lists else None


def _watched(fn: Callable[[WatchResult], float]) -> Callable[[SetupResult], float | None]:
    return lambda r: fn(r.watch) if r.watch and r.watch.delivered else None


def rows(plan: Plan) -> list[Row]:
    n = plan.pods
    list_target = ("<", 500.0, "< 500 ms")
    rss_target = ("<", 80e6 / 2**20, "< 80 MB")  # MB as written in the target: 76.3 MiB
    ms = 1e3
    rs: list[Row] = [
        Row("startup until /readyz", "s", lambda r: r.startup_s, False),
        Row("pod creates/s, sequential", "/s", _phase("create_seq", lambda p: p.rate), True),
        Row(
            "create latency p50, sequential",
            "ms",
            _phase("create_seq", lambda p: pct(p.lat, 0.5) * ms),
            False,
        ),
        Row(
            f"pod creates/s, {plan.clients} clients",
            "/s",
            _phase("create_conc", lambda p: p.rate),
            True,
            (">=", 200.0, ">= 200/s"),
        ),
        Row(
            f"create latency p99, {plan.clients} clients",
            "ms",
            _phase("create_conc", lambda p: pct(p.lat, 0.99) * ms),
            False,
        ),
        Row(
            f"server CPU per create, {plan.clients} clients",
            "ms",
            _phase("create_conc", lambda p: p.per_op_ms(p.server_cpu_s)),
            False,
        ),
        Row(
            f"etcd CPU per create, {plan.clients} clients",
            "ms",
            _phase("create_conc", lambda p: p.per_op_ms(p.etcd_cpu_s) if p.etcd_cpu_s else math.nan),
            False,
        ),
    ]
    for key, label in (
        ("json_consistent", "JSON, no resourceVersion"),
        ("json_rv0", "JSON, resourceVersion=0"),
        ("table_consistent", "Table, no resourceVersion"),
        ("table_rv0", "Table, resourceVersion=0"),
    ):
        rs.append(Row(f"list {n} pods, {label} (median)", "ms", _lst(key), False, list_target))
    rs += [
        Row(
            f"list {n} pods response size, JSON",
            "KiB",
            lambda r: r.lists["json_consistent"].size / 1024 if "json_consistent" in r.lists else None,
            False,
        ),
        Row(
            f"watch event latency p50 after ack ({plan.watchers} watchers)",
            "ms",
            _watched(lambda w: pct(w.from_ack, 0.5) * ms),
            False,
        ),
        Row("watch event latency p99 after ack", "ms", _watched(lambda w: pct(w.from_ack, 0.99) * ms), False),
        Row(
            "watch event latency p50 after send", "ms", _watched(lambda w: pct(w.from_sent, 0.5) * ms), False
        ),
        Row(
            "watch event latency p99 after send", "ms", _watched(lambda w: pct(w.from_sent, 0.99) * ms), False
        ),
        Row("update (PATCH) latency p50", "ms", _watched(lambda w: pct(w.ack, 0.5) * ms), False),
        Row(
            "watch events delivered / expected", "%", _watched(lambda w: 100 * w.delivered / w.expected), True
        ),
        Row("RSS idle, API server process", "MiB", lambda r: r.rss_idle[0], False, rss_target, ("embedded",)),
        Row("RSS idle, etcd process", "MiB", lambda r: r.rss_idle[1], False),
        Row("RSS idle, server + datastore", "MiB", lambda r: r.rss_idle[0] + (r.rss_idle[1] or 0.0), False),
        Row(f"RSS with {n} pods, API server process", "MiB", lambda r: r.rss_loaded[0], False),
        Row(f"RSS with {n} pods, etcd process", "MiB", lambda r: r.rss_loaded[1], False),
        Row(
            f"RSS with {n} pods, server + datastore",
            "MiB",
            lambda r: r.rss_loaded[0] + (r.rss_loaded[1] or 0.0),
            False,
        ),
        Row(f"peak RSS (VmHWM) after loading {n} pods, API server", "MiB", lambda r: r.hwm_loaded, False),
        Row("peak RSS (VmHWM) after the lists, API server", "MiB", lambda r: r.hwm_lists, False),
    ]
    return rs


def _value(row: Row, r: SetupResult | None) -> float | None:
    if r is None:
        return None
    try:
        v = row.get(r)
    except (KeyError, ZeroDivisionError):
        return None
    return None if v is None or math.isnan(v) else v


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


def _verdict(row: Row, values: dict[str, float | None]) -> str:
    if row.target is None:
        return ""
    op, bound, shown = row.target
    parts = []
    for name in row.target_on:
        if name not in values:
            continue
        v = values[name]
        if v is None:
            verdict = "n/a"
        else:
            verdict = "PASS" if (v >= bound if op == ">=" else v < bound) else "**FAIL**"
        parts.append(verdict if name == "embedded" else f"{name}: {verdict}")
    return f"{shown}: " + ", ".join(parts) if parts else ""


def build_table(plan: Plan, results: dict[str, SetupResult]) -> str:
    names = list(results)
    both = len(names) == 2
    head = ["metric", "unit", *(TITLES[n] for n in names)]
    if both:
        head += ["embedded/etcd", "better"]
    head.append("target")
    lines = [head, ["---", "---", *("---:" for _ in names), *(["---:", "---"] if both else []), "---"]]
    for row in rows(plan):
        values = {n: _value(row, results[n]) for n in names}
        if all(v is None for v in values.values()):
            continue
        cells = [row.metric, row.unit, *(_fmt(values[n]) for n in names)]
        if both:
            e, o = values["embedded"], values["etcd"]
            cells += [
                f"{e / o:.2f}x" if e is not None and o is not None and e > 0 and o > 0 else "-",
                "higher" if row.higher_better else "lower",
            ]
        cells.append(_verdict(row, values))
        lines.append(cells)
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def _cmd(*argv: str) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20, cwd=REPO).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def cpu_calibration_ms() -> float:
    """CPU time of a fixed pure-Python loop: the host's speed drifts (shared vCPUs); this shows how much."""
    t0 = time.process_time()
    total = 0
    for i in range(2_000_000):
        total += i
    return 1e3 * (time.process_time() - t0)


def describe_machine() -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
        "?",
    )
    mem = open("/proc/meminfo").readline().split(":", 1)[1].strip()
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    return (
        f"{os.cpu_count()} CPUs ({model}), {mem} RAM, Linux {platform.release()}, Python "
        f"{platform.python_version()}, aiohttp {aiohttp.__version__}; loadavg {load}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pods", type=int, default=None, help="pods to load and list (default 5000; --quick 300)")
    p.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    p.add_argument("--only", choices=SETUPS, help="measure one setup only (no ratios)")
    p.add_argument(
        "--server-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra `edgek8s server` argument for both setups, e.g. --server-arg=--disable-controller=NAME",
    )
    args = p.parse_args(argv)
    if args.pods is not None and args.pods < 2:
        p.error("--pods must be at least 2")

    from tests.support import ETCD

    # SIGTERM unwinds like Ctrl-C, through the finally blocks that stop the servers and remove the temp dirs
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    # the server child runs `python -m distro.cli`: make the repo importable wherever we run from
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    plan = plan_for(args.quick, args.pods)
    names = [n for n in SETUPS if args.only in (None, n)]
    commit = _cmd("git", "rev-parse", "--short", "HEAD") or "?"
    changed = _cmd("git", "status", "--porcelain", "--", "distro", "kine_shim")
    dirty = " + uncommitted changes" if changed else ""
    etcd_version = _cmd(ETCD, "--version").splitlines()[:1] if "etcd" in names else []
    machine = describe_machine()
    progress(f"machine: {machine}")
    calibration = [cpu_calibration_ms()]
    progress(f"plan: {plan}")

    t0 = time.monotonic()
    results: dict[str, SetupResult] = {}
    tmp_root = Path(tempfile.gettempdir())
    for name in names:
        progress(f"[{name}] starting")
        results[name] = bench_setup(name, plan, tmp_root, tuple(args.server_arg))

    calibration.append(cpu_calibration_ms())
    print()
    print(f"edgek8s server: embedded SQLite vs etcd ({'quick' if args.quick else 'full'} run, "
          f"{time.monotonic() - t0:.0f} s)")  # fmt: skip
    print(f"machine: {machine}; at the end {' '.join(open('/proc/loadavg').read().split()[:3])}")
    print(
        "CPU speed check (a fixed 2M-iteration Python loop, lower is faster): "
        f"{calibration[0]:.0f} ms at the start, {calibration[1]:.0f} ms at the end"
    )
    print(
        f"edgek8s: git {commit}{dirty}, server args {args.server_arg or 'none'}"
        + (f"; etcd: {ETCD} {etcd_version[0]}" if etcd_version else "")
    )
    print(
        "oracle: upstream kube-apiserver cannot run here (no binary, no Go toolchain), so the reference is "
        "the same edgek8s API server over a real etcd 3.4 (--datastore-endpoint)"
    )
    print(
        f"client: this process, aiohttp on one asyncio loop over TLS (admin client cert), sharing the "
        f"{os.cpu_count()} CPUs with the server(s); creates: {plan.seq_creates} sequential, then "
        f"{plan.conc_creates} with {plan.clients} closed-loop clients, then the rest to {plan.pods} pods, "
        f"all in one fresh namespace; lists: median of {plan.list_runs} (time to last byte, after one "
        f"checked run); watch: {plan.watchers} watchers on one namespace (half with fieldSelector "
        f"spec.nodeName={WATCHED_NODE}), {plan.updates} sequential merge-patch updates alternating between "
        f"pods on {WATCHED_NODE} and {OTHER_NODE}, latency = watcher receipt - write ack (negative if the "
        f"event beat the response)"
    )
    print()
    print(build_table(plan, results))
    status = 0
    for name, r in results.items():
        if r.failure:
            print(f"\n{name}: FAILED: {r.failure[-1500:]}")
            status = 1
        errors = r.errors()
        if errors:
            print(f"\n{name}: {len(errors)} failed requests, first: {errors[0]}")
            status = 1
        if r.pods_loaded and r.pods_loaded < plan.pods:
            print(f"\n{name}: only {r.pods_loaded} of {plan.pods} pods loaded within the time bound")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
