#!/usr/bin/env python3
"""kine_shim vs real etcd: one load generator, the same workloads against both servers.

Each server is started alone in a fresh temp data dir on a loopback port, measured, and stopped before
the next one starts, so the two are never under load at the same time. The load generator is a pool of
worker processes (spawned once, reused for every workload and both servers), each running grpc.aio
clients on one asyncio loop over one gRPC channel (one HTTP/2 connection). A "client" is one closed-loop
coroutine with one RPC in flight at a time. Every loop is bounded by an operation count and by time.

    python bench/etcd_compare.py            # full run (a few minutes)
    python bench/etcd_compare.py --quick    # smoke run, under a minute

Results: a side-by-side table on stdout, progress on stderr, JSON in bench/results/etcd_compare.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import math
import multiprocessing as mp
import multiprocessing.connection
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import grpc  # noqa: E402

from kine_shim.etcdpb import rpc_pb2 as pb  # noqa: E402
from kine_shim.etcdpb import rpc_pb2_grpc  # noqa: E402
from kine_shim.keys import prefix_end  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
DEFAULT_OUT = REPO / "bench" / "results" / "etcd_compare.json"
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 64 * 1024 * 1024), ("grpc.enable_retries", 0)]


# ---------------------------------------------------------------------------------------------------
# plan: what each workload does, full and quick


@dataclass(frozen=True)
class Plan:
    idle_settle_s: float = 2.0
    seq_puts: int = 2000
    seq_value: int = 256
    seq_max_s: float = 60.0
    put_clients: tuple[int, ...] = (1, 16, 64)
    put_max_ops: int = 50_000
    put_s: float = 5.0
    put_keyspace: int = 10_000
    put_value: int = 256
    range_keys: int = 1000
    range_value: int = 100
    range_limit: int = 500
    range_clients: int = 16
    get_max_ops: int = 200_000
    range_max_ops: int = 50_000
    range_s: float = 5.0
    watch_puts: int = 1000
    watch_value: int = 256
    watch_max_s: float = 60.0
    load_keys: int = 100_000
    load_value: int = 100
    load_clients: int = 64
    load_max_s: float = 300.0
    load_settle_s: float = 2.0


QUICK = Plan(
    idle_settle_s=1.0,
    seq_puts=200,
    seq_max_s=10.0,
    put_max_ops=5000,
    put_s=1.0,
    get_max_ops=20_000,
    range_max_ops=5000,
    range_s=1.0,
    watch_puts=100,
    watch_max_s=10.0,
    load_keys=5000,
    load_max_s=20.0,
    load_settle_s=0.5,
)


# ---------------------------------------------------------------------------------------------------
# the client (runs in the worker processes; the same code for both servers)


@dataclass
class Job:
    kind: str  # "put" | "get" | "range" | "watch"
    endpoint: str
    clients: int
    max_ops: int
    seconds: float
    prefix: bytes
    value_size: int = 0
    keyspace: int = 0  # > 0: keys drawn at random from prefix + 0..keyspace-1
    key_offset: int = 0  # keyspace == 0: op i writes prefix + (key_offset + i), each key once
    limit: int = 0
    seed: int = 0


def _key(prefix: bytes, n: int) -> bytes:
    return prefix + b"%08d" % n


class _Ready:
    """Lets a worker connect and warm up, report ready, and wait for the common start signal."""

    def __init__(self, conn: multiprocessing.connection.Connection) -> None:
        self.conn = conn

    async def barrier(self) -> None:
        self.conn.send({"ready": True})
        # the parent answers at once when every worker is ready; a blocking recv is fine here
        start_at = self.conn.recv()
        delay = start_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


async def _closed_loop(job: Job, ready: _Ready) -> dict[str, Any]:
    rng0 = random.Random(job.seed)
    value = rng0.randbytes(job.value_size)
    async with grpc.aio.insecure_channel(job.endpoint, options=CHANNEL_OPTIONS) as channel:
        await asyncio.wait_for(channel.channel_ready(), 10)
        kv = rpc_pb2_grpc.KVStub(channel)
        # the measured loops send pre-serialized requests and leave responses as bytes, so the client
        # spends its CPU on gRPC alone (warm-up responses are parsed and checked below)
        raw_put = channel.unary_unary("/etcdserverpb.KV/Put")
        raw_range = channel.unary_unary("/etcdserverpb.KV/Range")
        range_req = pb.RangeRequest(key=job.prefix, range_end=prefix_end(job.prefix), limit=job.limit)
        range_bytes = range_req.SerializeToString()

        if job.kind == "put":

            def op(i: int, rng: random.Random) -> Awaitable[Any]:
                n = rng.randrange(job.keyspace) if job.keyspace else job.key_offset + i
                return raw_put(pb.PutRequest(key=_key(job.prefix, n), value=value).SerializeToString())

            def warm() -> Awaitable[Any]:
                return kv.Put(pb.PutRequest(key=job.prefix + b"warmup", value=value))

        elif job.kind == "get":
            gets = [pb.RangeRequest(key=_key(job.prefix, n)).SerializeToString() for n in range(job.keyspace)]

            def op(i: int, rng: random.Random) -> Awaitable[Any]:
                return raw_range(gets[rng.randrange(job.keyspace)])

            def warm() -> Awaitable[Any]:
                return kv.Range(pb.RangeRequest(key=_key(job.prefix, 0)))

        elif job.kind == "range":

            def op(i: int, rng: random.Random) -> Awaitable[Any]:
                return raw_range(range_bytes)

            def warm() -> Awaitable[Any]:
                return kv.Range(range_req)

        else:
            raise ValueError(f"unknown job kind {job.kind}")

        # warm-up (not counted), with a sanity check that reads return what the workload expects
        for resp in await asyncio.gather(*(warm() for _ in range(job.clients))):
            if job.kind == "get" and len(resp.kvs) != 1:
                raise RuntimeError(f"get warm-up returned {len(resp.kvs)} kvs")
            if job.kind == "range" and (len(resp.kvs) != job.limit or not resp.more):
                raise RuntimeError(f"range warm-up returned {len(resp.kvs)} kvs, more={resp.more}")

        await ready.barrier()
        counter = itertools.count()
        t_start = time.monotonic()
        cpu0 = time.process_time()
        deadline = t_start + job.seconds
        errors: list[str] = []

        async def client(ci: int) -> list[float]:
            rng = random.Random(job.seed * 100_003 + ci)
            lat: list[float] = []
            perf = time.perf_counter
            while True:
                i = next(counter)
                if i >= job.max_ops or time.monotonic() >= deadline:
                    return lat
                t0 = perf()
                try:
                    await op(i, rng)
                except grpc.aio.AioRpcError as exc:
                    errors.append(f"{exc.code().name}: {exc.details()}")
                    continue
                lat.append(perf() - t0)

        lats = await asyncio.gather(*(client(c) for c in range(job.clients)))
        t_end = time.monotonic()
        cpu = time.process_time() - cpu0
    all_lat = [x for lat in lats for x in lat]
    return {
        "ops": len(all_lat),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "t_start": t_start,
        "t_end": t_end,
        "cpu_s": cpu,
        "lat": all_lat,
    }


async def _watch_latency(job: Job, ready: _Ready) -> dict[str, Any]:
    """One watcher on job.prefix; sequential puts under it; latency = put sent -> its event received."""
    value = random.Random(job.seed).randbytes(job.value_size)
    async with grpc.aio.insecure_channel(job.endpoint, options=CHANNEL_OPTIONS) as channel:
        await asyncio.wait_for(channel.channel_ready(), 10)
        kv = rpc_pb2_grpc.KVStub(channel)
        call = rpc_pb2_grpc.WatchStub(channel).Watch()
        await call.write(
            pb.WatchRequest(
                create_request=pb.WatchCreateRequest(key=job.prefix, range_end=prefix_end(job.prefix))
            )
        )
        created = await asyncio.wait_for(call.read(), 10)
        if created is grpc.aio.EOF or not created.created:
            raise RuntimeError(f"watch not created: {created}")
        arrivals: dict[bytes, float] = {}
        got = asyncio.Event()

        async def reader() -> None:
            while True:
                resp = await call.read()
                if resp is grpc.aio.EOF:
                    return
                now = time.perf_counter()
                for ev in resp.events:
                    arrivals[ev.kv.key] = now
                if resp.events:
                    got.set()

        reader_task = asyncio.get_running_loop().create_task(reader())
        errors: list[str] = []
        lat: list[float] = []
        acks: list[float] = []
        try:

            async def one(key: bytes) -> tuple[float, float]:
                """(put sent -> event received, put sent -> put acknowledged)"""
                t0 = time.perf_counter()
                await kv.Put(pb.PutRequest(key=key, value=value))
                acked = time.perf_counter() - t0
                while key not in arrivals:
                    got.clear()
                    await asyncio.wait_for(got.wait(), 5.0)
                return arrivals.pop(key) - t0, acked

            for i in range(10):  # warm-up, not counted
                await one(job.prefix + b"warmup%d" % i)
            await ready.barrier()
            t_start = time.monotonic()
            cpu0 = time.process_time()
            deadline = t_start + job.seconds
            for i in range(job.max_ops):
                if time.monotonic() >= deadline:
                    break
                try:
                    event_lat, ack_lat = await one(_key(job.prefix, i))
                    lat.append(event_lat)
                    acks.append(ack_lat)
                except (grpc.aio.AioRpcError, TimeoutError) as exc:
                    errors.append(repr(exc))
                    if len(errors) >= 5:
                        break
            t_end = time.monotonic()
            cpu = time.process_time() - cpu0
        finally:
            reader_task.cancel()
            call.cancel()
    return {
        "ops": len(lat),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "t_start": t_start,
        "t_end": t_end,
        "cpu_s": cpu,
        "lat": lat,
        "put_ack_lat": acks,
    }


def _worker_main(conn: multiprocessing.connection.Connection) -> None:
    # Ctrl-C goes to the whole process group: the parent cleans up and stops the workers itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        while True:
            job = conn.recv()
            if job is None:
                return
            ready = _Ready(conn)
            try:
                fn = _watch_latency if job.kind == "watch" else _closed_loop
                result = loop.run_until_complete(fn(job, ready))
            except Exception as exc:
                result = {"error": f"{type(exc).__name__}: {exc}"}
            conn.send(result)
    finally:
        loop.close()


class WorkerPool:
    """N spawned client processes, kept for the whole run."""

    def __init__(self, n: int) -> None:
        ctx = mp.get_context("spawn")
        self.conns: list[multiprocessing.connection.Connection] = []
        self.procs: list[mp.process.BaseProcess] = []
        for i in range(n):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker_main, args=(child,), name=f"bench-client-{i}", daemon=True)
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)

    def close(self) -> None:
        for conn in self.conns:
            try:
                conn.send(None)
            except OSError:
                pass
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(5)

    def run(self, jobs: list[Job], timeout: float) -> list[dict[str, Any]]:
        """Runs one job per worker, all released at the same instant once every worker is warmed up."""
        conns = self.conns[: len(jobs)]
        for conn, job in zip(conns, jobs, strict=True):
            conn.send(job)
        first: list[dict[str, Any]] = []
        for conn in conns:
            if not conn.poll(60):
                raise TimeoutError("a client worker did not get ready within 60 s")
            first.append(conn.recv())
        if any("error" in m for m in first):
            # the failed workers are done; release the others so they finish and report
            for conn, m in zip(conns, first, strict=True):
                if "error" not in m:
                    conn.send(time.monotonic())
            return [m if "error" in m else conn.recv() for conn, m in zip(conns, first, strict=True)]
        start_at = time.monotonic() + 0.02
        for conn in conns:
            conn.send(start_at)
        results = []
        for conn in conns:
            if not conn.poll(timeout):
                raise TimeoutError(f"a client worker did not finish within {timeout:.0f} s")
            results.append(conn.recv())
        return results


# ---------------------------------------------------------------------------------------------------
# measuring the server and the machine


def proc_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime, all threads


def system_cpu_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    total = sum(vals[:8])
    idle = vals[3] + vals[4]
    return (total - idle) / CLK_TCK, total / CLK_TCK


def read_rss(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile", "VmHWM", "Threads"):
                parts = rest.split()
                out[name] = int(parts[0]) / 1024 if name != "Threads" else int(parts[0])
    return out  # MiB (Threads: count)


def pct(sorted_vals: list[float], q: float) -> float:
    if not sorted_vals:
        return float("nan")
    return sorted_vals[max(0, min(len(sorted_vals) - 1, math.ceil(q * len(sorted_vals)) - 1))]


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run_workload(
    pool: WorkerPool, pid: int, base: Job, *, procs: int, label: str, server: str
) -> dict[str, Any]:
    """Spreads base.clients over up to `procs` worker processes and aggregates their results."""
    n = max(1, min(procs, base.clients, len(pool.conns)))
    clients = _split(base.clients, n)
    ops = [math.ceil(base.max_ops * c / base.clients) for c in clients]
    offsets = [base.key_offset + sum(ops[:i]) for i in range(n)]
    jobs = [
        replace(base, clients=c, max_ops=o, key_offset=off, seed=base.seed * 10 + i)
        for i, (c, o, off) in enumerate(zip(clients, ops, offsets, strict=True))
    ]
    srv0 = proc_cpu_s(pid)
    busy0, total0 = system_cpu_s()
    results = pool.run(jobs, timeout=base.seconds + 120)
    srv_cpu = proc_cpu_s(pid) - srv0
    busy1, total1 = system_cpu_s()
    failed = [r["error"] for r in results if "error" in r]
    if failed:
        raise RuntimeError(f"{server} {label}: client error: {failed[0]}")
    elapsed = max(r["t_end"] for r in results) - min(r["t_start"] for r in results)
    lat = sorted(x for r in results for x in r["lat"])
    ok = sum(r["ops"] for r in results)
    errors = sum(r["errors"] for r in results)
    cli_cpu = sum(r["cpu_s"] for r in results)
    busy = busy1 - busy0
    ncpu = max(1e-9, (total1 - total0) / max(elapsed, 1e-9))  # cores seen by /proc/stat
    out = {
        "label": label,
        "clients": base.clients,
        "client_procs": n,
        "ops": ok,
        "errors": errors,
        "first_error": next((r["first_error"] for r in results if r["first_error"]), None),
        "seconds": elapsed,
        "bounded_by": "count" if ok + errors >= base.max_ops else "time",
        "ops_per_s": ok / elapsed if elapsed > 0 else 0.0,
        "p50_ms": pct(lat, 0.50) * 1e3,
        "p99_ms": pct(lat, 0.99) * 1e3,
        "mean_ms": (sum(lat) / len(lat) * 1e3) if lat else float("nan"),
        # CPU as % of one core over the measured window (the machine has ncpu * 100 %)
        "server_cpu_pct": 100 * srv_cpu / elapsed,
        "client_cpu_pct": 100 * cli_cpu / elapsed,
        "other_cpu_pct": 100 * max(0.0, busy - srv_cpu - cli_cpu) / elapsed,
        "machine_cpus": round(ncpu, 1),
    }
    acks = sorted(x for r in results for x in r.get("put_ack_lat", ()))
    if acks:
        out["put_ack_p50_ms"] = pct(acks, 0.50) * 1e3
        out["put_ack_p99_ms"] = pct(acks, 0.99) * 1e3
    progress(
        f"[{server}] {label}: {out['ops_per_s']:,.0f} ops/s, "
        f"p50 {out['p50_ms']:.2f} ms, p99 {out['p99_ms']:.2f} ms "
        f"({ok} ops in {elapsed:.1f} s, {n} client proc(s); cpu% server {out['server_cpu_pct']:.0f} "
        f"client {out['client_cpu_pct']:.0f} other {out['other_cpu_pct']:.0f})"
        + (f" ERRORS {errors}: {out['first_error']}" if errors else "")
    )
    return out


def progress(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------
# one server, all workloads


def _status(endpoint: str) -> pb.StatusResponse:
    with grpc.insecure_channel(endpoint) as ch:
        return rpc_pb2_grpc.MaintenanceStub(ch).Status(pb.StatusRequest(), timeout=10)


def bench_server(
    name: str, argv_fn: Any, plan: Plan, pool: WorkerPool, procs: int, tmp_root: str | None
) -> dict:
    from tests.support import Server

    root = Path(tempfile.mkdtemp(prefix=f"etcd-compare-{name}-", dir=tmp_root))
    server = Server(root / "data", argv_fn, root / "server.log")
    out: dict[str, Any] = {"workloads": {}}
    try:
        t0 = time.monotonic()
        server.start()
        assert server.proc is not None
        pid = server.proc.pid
        out["startup_s"] = time.monotonic() - t0
        out["pid"] = pid
        out["status_version"] = _status(server.endpoint).version
        progress(
            f"[{name}] started pid {pid} on {server.endpoint} in {out['startup_s']:.2f} s, data in {root}"
        )
        time.sleep(plan.idle_settle_s)
        out["rss_idle"] = read_rss(pid)
        progress(
            f"[{name}] idle RSS {out['rss_idle']['VmRSS']:.1f} MiB (after {plan.idle_settle_s:.0f} s idle)"
        )
        ep = server.endpoint
        w = out["workloads"]

        def run(key: str, job: Job, label: str) -> None:
            w[key] = run_workload(pool, pid, job, procs=procs, label=label, server=name)

        run(
            "seq_put",
            Job("put", ep, 1, plan.seq_puts, plan.seq_max_s, b"/bench/seq/", plan.seq_value, seed=1),
            f"sequential put x{plan.seq_puts} ({plan.seq_value} B)",
        )
        for c in plan.put_clients:
            run(
                f"put_c{c}",
                Job(
                    "put",
                    ep,
                    c,
                    plan.put_max_ops,
                    plan.put_s,
                    b"/bench/put/",
                    plan.put_value,
                    keyspace=plan.put_keyspace,
                    seed=2 + c,
                ),
                f"put throughput, {c} client(s)",
            )
        run(
            "range_preload",
            Job("put", ep, 16, plan.range_keys, 60.0, b"/bench/range/", plan.range_value, seed=3),
            f"preload {plan.range_keys} keys for the range workloads",
        )
        run(
            "get_single",
            Job(
                "get",
                ep,
                plan.range_clients,
                plan.get_max_ops,
                plan.range_s,
                b"/bench/range/",
                keyspace=plan.range_keys,
                seed=4,
            ),
            f"single-key get, {plan.range_clients} clients",
        )
        run(
            "range_prefix",
            Job(
                "range",
                ep,
                plan.range_clients,
                plan.range_max_ops,
                plan.range_s,
                b"/bench/range/",
                limit=plan.range_limit,
                seed=5,
            ),
            f"prefix range ({plan.range_keys} keys, limit {plan.range_limit}), {plan.range_clients} clients",
        )
        run(
            "watch",
            Job(
                "watch", ep, 1, plan.watch_puts, plan.watch_max_s, b"/bench/watch/", plan.watch_value, seed=6
            ),
            f"watch put->event latency x{plan.watch_puts}",
        )
        run(
            "load",
            Job(
                "put",
                ep,
                plan.load_clients,
                plan.load_keys,
                plan.load_max_s,
                b"/bench/load/",
                plan.load_value,
                seed=7,
            ),
            f"load {plan.load_keys} keys ({plan.load_value} B), {plan.load_clients} clients",
        )
        if w["load"]["ops"] < plan.load_keys:
            progress(
                f"[{name}] WARNING: only {w['load']['ops']} of {plan.load_keys} keys loaded "
                "before the time bound"
            )
        time.sleep(plan.load_settle_s)
        out["rss_loaded"] = read_rss(pid)
        out["keys_loaded"] = w["load"]["ops"]
        progress(f"[{name}] RSS after loading {w['load']['ops']} keys: {out['rss_loaded']['VmRSS']:.1f} MiB")
        out["data_dir_bytes"] = sum(p.stat().st_size for p in (root / "data").rglob("*") if p.is_file())
        if server.proc.poll() is not None:
            raise RuntimeError(f"{name} exited during the run:\n{server.log_text()[-2000:]}")
    finally:
        server.stop()
        log_tail = server.log_text()[-2000:]
        shutil.rmtree(root, ignore_errors=True)
    out["log_tail"] = log_tail
    return out


# ---------------------------------------------------------------------------------------------------
# report


@dataclass
class Row:
    name: str
    unit: str
    get: Callable[[dict], float]
    higher_better: bool
    target: tuple[str, float] | None = None  # ("max"/"min", bound on ours/etcd)


def _rows(plan: Plan) -> list[Row]:
    def wl(key: str, metric: str) -> Callable[[dict], float]:
        return lambda r: r["workloads"][key][metric]

    rows = [
        Row(f"sequential put p50 ({plan.seq_value} B)", "ms", wl("seq_put", "p50_ms"), False),
        Row(f"sequential put p99 ({plan.seq_value} B)", "ms", wl("seq_put", "p99_ms"), False),
    ]
    for c in plan.put_clients:
        target = ("min", 0.5) if c == 16 else None
        rows.append(
            Row(f"put throughput, {c} client(s)", "ops/s", wl(f"put_c{c}", "ops_per_s"), True, target)
        )
    rows += [
        Row(
            f"get single key, {plan.range_clients} clients",
            "ops/s",
            wl("get_single", "ops_per_s"),
            True,
            ("min", 0.8),
        ),
        Row(
            f"range prefix limit {plan.range_limit}, {plan.range_clients} cl.",
            "ops/s",
            wl("range_prefix", "ops_per_s"),
            True,
            ("min", 0.8),
        ),
        Row("watch put->event p50", "ms", wl("watch", "p50_ms"), False, ("max", 2.0)),
        Row("watch put->event p99", "ms", wl("watch", "p99_ms"), False, ("max", 2.0)),
        Row("  (watch: put acknowledged p50)", "ms", wl("watch", "put_ack_p50_ms"), False),
        Row("RSS idle after start", "MiB", lambda r: r["rss_idle"]["VmRSS"], False, ("max", 1.0)),
        Row(
            f"RSS after loading {plan.load_keys // 1000}k keys",
            "MiB",
            lambda r: r["rss_loaded"]["VmRSS"],
            False,
        ),
        Row("  of which anonymous", "MiB", lambda r: r["rss_loaded"]["RssAnon"], False),
        Row(
            f"load {plan.load_keys // 1000}k keys, {plan.load_clients} clients",
            "ops/s",
            wl("load", "ops_per_s"),
            True,
        ),
        Row("data dir size (etcd preallocates WAL)", "MiB", lambda r: r["data_dir_bytes"] / 2**20, False),
        Row("startup until serving", "s", lambda r: r["startup_s"], False),
    ]
    return rows


def _fmt(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def build_table(plan: Plan, servers: dict[str, dict]) -> tuple[list[dict[str, Any]], str]:
    etcd, shim = servers.get("etcd"), servers.get("shim")
    records: list[dict[str, Any]] = []
    for row in _rows(plan):
        e = row.get(etcd) if etcd else None
        s = row.get(shim) if shim else None
        ratio = s / e if (e and s is not None) else None
        verdict = ""
        if row.target and ratio is not None:
            kind, bound = row.target
            ok = ratio >= bound if kind == "min" else (ratio <= bound if bound != 1.0 else ratio < bound)
            verdict = ("PASS" if ok else "FAIL") + (
                f" (>= {bound:g}x)"
                if kind == "min"
                else (" (< etcd)" if bound == 1.0 else f" (<= {bound:g}x)")
            )
        records.append(
            {
                "metric": row.name,
                "unit": row.unit,
                "etcd": e,
                "shim": s,
                "ratio_shim_over_etcd": ratio,
                "higher_is_better": row.higher_better,
                "target": verdict,
            }
        )
    head = ("metric", "unit", "etcd 3.4", "kine_shim", "shim/etcd", "better", "target")
    lines = [
        (
            r["metric"],
            r["unit"],
            _fmt(r["etcd"]),
            _fmt(r["shim"]),
            f"{r['ratio_shim_over_etcd']:.2f}x" if r["ratio_shim_over_etcd"] is not None else "-",
            "higher" if r["higher_is_better"] else "lower",
            r["target"],
        )
        for r in records
    ]
    widths = [max(len(h), *(len(x[i]) for x in lines)) for i, h in enumerate(head)]
    out = []
    for i, line in enumerate([head, *lines]):
        cells = [c.ljust(widths[j]) if j in (0, 1, 5, 6) else c.rjust(widths[j]) for j, c in enumerate(line)]
        out.append("| " + " | ".join(cells) + " |")
        if i == 0:
            out.append(
                "|"
                + "|".join(
                    ("-" * (w + 1) + ":") if j in (2, 3, 4) else "-" * (w + 2) for j, w in enumerate(widths)
                )
                + "|"
            )
    return records, "\n".join(out)


def build_cpu_table(servers: dict[str, dict]) -> str:
    names = list(servers)
    keys = list(next(iter(servers.values()))["workloads"])
    head = ["workload", *(f"{n} srv/cli/other %" for n in names)]
    lines = []
    for k in keys:
        cells = [servers[names[0]]["workloads"][k]["label"]]
        for n in names:
            r = servers[n]["workloads"][k]
            cells.append(f"{r['server_cpu_pct']:.0f} / {r['client_cpu_pct']:.0f} / {r['other_cpu_pct']:.0f}")
        lines.append(cells)
    widths = [max(len(h), *(len(x[i]) for x in lines)) for i, h in enumerate(head)]
    out = [
        "| " + " | ".join(h.ljust(widths[i]) for i, h in enumerate(head)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    out += ["| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(line)) + " |" for line in lines]
    return "\n".join(out)


def _cmd(*argv: str) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20, cwd=REPO).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info(tmp_root: str | None) -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = ""
    with open("/proc/meminfo") as f:
        mem = f.readline().split(":", 1)[1].strip()
    tmp = tmp_root or tempfile.gettempdir()
    fstype = ""
    best = ""
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            if tmp.startswith(parts[1]) and len(parts[1]) > len(best):
                best, fstype = parts[1], parts[2]
    import google.protobuf

    return {
        "nproc": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "mem_total": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "protobuf": google.protobuf.__version__,
        "tmp_dir": tmp,
        "tmp_fs": fstype,
        "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
    }


def source_fingerprint() -> str:
    """A hash of the datastore's Python sources as they are on disk (others may be editing them)."""
    h = hashlib.sha1()
    for path in sorted([*(REPO / "kine_shim").rglob("*.py"), *(REPO / "distro").rglob("*.py")]):
        h.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:10]


def server_versions(only: str | None, synchronous: str) -> dict[str, str]:
    from tests.support import ETCD

    out = {}
    if only in (None, "etcd"):
        out["etcd"] = f"{ETCD}: " + " / ".join(_cmd(ETCD, "--version").splitlines()[:1])
    if only in (None, "shim"):
        commit = _cmd("git", "rev-parse", "--short", "HEAD")
        dirty = (
            " + uncommitted changes"
            if _cmd("git", "status", "--porcelain", "--", "kine_shim", "distro")
            else ""
        )
        out["shim"] = (
            f"edgek8s datastore (kine_shim) at git {commit or '?'}{dirty} "
            f"(source sha1 {source_fingerprint()}), --sqlite-synchronous {synchronous}"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small counts: a smoke run in under a minute")
    p.add_argument("--only", choices=["etcd", "shim"], help="benchmark one server only (no ratios)")
    p.add_argument(
        "--synchronous",
        choices=["FULL", "NORMAL"],
        default="FULL",
        help="--sqlite-synchronous for our datastore (etcd always fsyncs its WAL)",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default {DEFAULT_OUT})")
    p.add_argument(
        "--client-procs",
        type=int,
        default=2,
        help="client worker processes that concurrent clients are spread over (default 2)",
    )
    p.add_argument(
        "--tmpdir", default=None, help="where the temp data dirs go (default: the system temp dir)"
    )
    args = p.parse_args(argv)

    from tests.support import etcd_argv, shim_argv

    # SIGTERM unwinds like Ctrl-C, through the finally blocks that stop the servers and remove the temp dirs
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    # the datastore child runs `python -m distro.cli`: make the repo importable wherever we run from
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    plan = QUICK if args.quick else Plan()
    machine = machine_info(args.tmpdir)
    versions = server_versions(args.only, args.synchronous)
    client = (
        f"grpc.aio (asyncio) closed-loop clients in {args.client_procs} spawned worker process(es), one gRPC "
        f"channel (HTTP/2 connection) per process; N clients = N RPCs in flight, spread evenly over "
        f"min(N, {args.client_procs}) processes; Range requests are etcd's default (linearizable)"
    )
    progress(
        f"machine: {machine['nproc']} CPUs ({machine['cpu_model']}), Python {machine['python']}, "
        f"loadavg {' '.join(machine['loadavg_at_start'])}, temp dirs on {machine['tmp_fs']}"
    )
    for n, v in versions.items():
        progress(f"{n}: {v}")
    progress(f"client: {client}")

    targets = [("etcd", etcd_argv()), ("shim", shim_argv("--sqlite-synchronous", args.synchronous))]
    servers: dict[str, dict] = {}
    t0 = time.monotonic()
    pool = WorkerPool(max(1, args.client_procs))
    try:
        for name, argv_fn in targets:
            if args.only and name != args.only:
                continue
            servers[name] = bench_server(name, argv_fn, plan, pool, args.client_procs, args.tmpdir)
    finally:
        pool.close()
    machine["loadavg_at_end"] = open("/proc/loadavg").read().split()[:3]
    records, table = build_table(plan, servers)
    cpu_table = build_cpu_table(servers)

    print()
    print(f"kine_shim vs etcd 3.4 ({'quick' if args.quick else 'full'} run, {time.monotonic() - t0:.0f} s)")
    print(
        f"machine: {machine['nproc']} CPUs, {machine['cpu_model']}, {machine['mem_total']}, "
        f"Linux {machine['kernel']}, Python {machine['python']}, grpcio {machine['grpcio']}, "
        f"data dirs on {machine['tmp_fs']}"
    )
    load_start, load_end = " ".join(machine["loadavg_at_start"]), " ".join(machine["loadavg_at_end"])
    print(f"loadavg at start {load_start}, at end {load_end}")
    for n, v in versions.items():
        status = servers.get(n, {}).get("status_version")
        print(f"{n}: {v}" + (f" (Status reports {status})" if status else ""))
    print(f"client: {client}")
    print()
    print(table)
    print()
    print("CPU during each workload, % of one core (server process / load generator / everything else):")
    print(cpu_table)
    total_errors = sum(w["errors"] for s in servers.values() for w in s["workloads"].values())
    if total_errors:
        print(f"\nWARNING: {total_errors} failed RPCs; see first_error in the JSON")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "run": {
            "quick": args.quick,
            "only": args.only,
            "synchronous": args.synchronous,
            "client_procs": args.client_procs,
            "argv": sys.argv,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seconds": time.monotonic() - t0,
        },
        "plan": asdict(plan),
        "machine": machine,
        "versions": versions,
        "client": client,
        "servers": servers,
        "table": records,
    }
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(f"\nJSON results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
