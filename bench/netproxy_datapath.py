#!/usr/bin/env python3
"""connect() latency through the service datapath: netproxy's ruleset vs one linear rule per service.

Network namespaces, all created here and removed at the end whatever happens (the host's ruleset and
interfaces are never touched): a client, a backend, and between them one "node" per (ruleset, size),
each on its own pair of veths:

    client 10.42.<2i+1>.5 ──veth── node i (one ruleset, one size) ──veth── 10.42.<2i+2>.5 backend

Ruleset "ours" is netproxy's table exactly as the syncer installs it (renderer + full sync: verdict-map
dispatch, one chain per service); "linear" is the shape verdict maps replace, iptables-style: one
`ip daddr X tcp dport P dnat to ...` rule per service in one chain, evaluated in sequence. Node i holds
`size` services with 2 endpoints each plus the probed one, ClusterIPs in 10.<96+i>/16 (routed by the
client through node i only). The probed service is rendered/listed last, the worst case for the linear
chain (a service in the middle pays half of it). All rulesets are installed at once and the client goes
round-robin over their ClusterIPs, in a fresh random order each round, so load from anything else on
the machine hits every column alike.

One sample: socket(), connect() to the ClusterIP, recv() of the first byte the backend sends on accept,
close; the time from connect() to that byte. Only the SYN of each connection goes through the nat chains
(conntrack handles the rest), so the difference between the columns is one chain traversal per
connection. Needs root, nft and ip.

    python bench/netproxy_datapath.py                                # 0, 10k, 30k services
    python bench/netproxy_datapath.py --sizes 0 1000 --count 300     # quick

A markdown table on stdout, progress on stderr, JSON in bench/results/netproxy_datapath.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from netproxy.diff import full_sync  # noqa: E402
from netproxy.model import Endpoint, ProxyConfig, ServicePort  # noqa: E402
from netproxy.render import render  # noqa: E402

DEFAULT_OUT = REPO / "bench" / "results" / "netproxy_datapath.json"
CLUSTER_CIDR = "10.42.0.0/16"
BACKEND_PORTS = (8080, 8081)
MAX_SERVICES = 250 * 250 - 1  # ClusterIPs are <prefix>.<i // 250>.<i % 250 + 1>; <prefix>.250.1 is the probe
MAX_SIZES = 40  # two nodes per size, each with two /24s of 10.42/16 and a /16 from 10.96 up


@dataclass(frozen=True, slots=True)
class Route:
    """One node between client and backend, running one ruleset of one size, with its own addresses."""

    kind: str  # "ours" or "linear"
    size: int
    node: str
    index: int  # 10.42.<2i+1>.0/24 client side, 10.42.<2i+2>.0/24 backend side, 10.<96+i>/16 ClusterIPs

    def _net(self, offset: int) -> str:
        return f"10.42.{2 * self.index + offset}"

    @property
    def client_ip(self) -> str:
        return f"{self._net(1)}.5"

    @property
    def node_client_side(self) -> str:
        return f"{self._net(1)}.1"

    @property
    def node_backend_side(self) -> str:
        return f"{self._net(2)}.1"

    @property
    def backend_ip(self) -> str:
        return f"{self._net(2)}.5"

    @property
    def service_prefix(self) -> str:
        return f"10.{96 + self.index}"

    @property
    def probe_ip(self) -> str:
        return f"{self.service_prefix}.250.1"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _sh(*argv: str, timeout: float = 10.0) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stderr.strip()}")


# --- namespaces -------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _namespaces(roles: list[str]) -> Iterator[dict[str, str]]:
    """Fresh network namespaces named after this process, deleted on the way out (their veths go along)."""
    names: dict[str, str] = {}
    try:
        for role in roles:
            name = f"ek8s-dp-{os.getpid()}-{role}"
            _sh("ip", "netns", "add", name)
            names[role] = name
        yield names
    finally:
        for name in names.values():
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=10)


def _sysctl(ns: str, *settings: str) -> None:
    _sh("ip", "netns", "exec", ns, "sysctl", "-qw", *settings)


def _link(a_ns: str, a_dev: str, a_addr: str, b_ns: str, b_dev: str, b_addr: str) -> None:
    """A veth pair between two namespaces, both ends addressed (/24) and up."""
    _sh("ip", "-n", a_ns, "link", "add", a_dev, "type", "veth", "peer", "name", b_dev, "netns", b_ns)
    for ns, dev, addr in ((a_ns, a_dev, a_addr), (b_ns, b_dev, b_addr)):
        _sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
        _sh("ip", "-n", ns, "link", "set", dev, "up")


def _plan(sizes: list[int]) -> list[tuple[str, int]]:
    return [(kind, size) for size in sizes for kind in ("ours", "linear")]


def _wire(names: dict[str, str], plan: list[tuple[str, int]]) -> list[Route]:
    """Client and backend joined through one node per (ruleset, size); the client reaches each node's
    ClusterIPs through that node only."""
    client, backend = names["client"], names["backend"]
    for ns in names.values():
        _sh("ip", "-n", ns, "link", "set", "lo", "up")
        _sysctl(ns, "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0")
    routes = []
    for index, (kind, size) in enumerate(plan):
        route = Route(kind, size, names[f"node{index}"], index)
        _sysctl(route.node, "net.ipv4.ip_forward=1")
        _link(client, f"eth{index}", route.client_ip, route.node, "c0", route.node_client_side)
        _link(route.node, "b0", route.node_backend_side, backend, f"eth{index}", route.backend_ip)
        _sh(
            "ip",
            "-n",
            client,
            "route",
            "add",
            f"{route.service_prefix}.0.0/16",
            "via",
            route.node_client_side,
        )
        _sh("ip", "-n", backend, "route", "add", f"{route.client_ip}/32", "via", route.node_backend_side)
        routes.append(route)
    return routes


# --- rulesets ---------------------------------------------------------------------------------------------


def _host(index: int) -> str:
    return f"{index // 250}.{index % 250 + 1}"


def ours_ruleset(route: Route) -> str:
    """netproxy's full sync for `size` services plus the probed one (whose key sorts last)."""
    services, endpoints = [], {}
    for i in range(route.size):
        sp = ServicePort(f"ns{i % 20}", f"svc{i}", "http", "TCP", (f"{route.service_prefix}.{_host(i)}",), 80)
        services.append(sp)
        endpoints[sp.key] = [Endpoint(f"10.43.{_host(i)}", 8080), Endpoint(f"10.44.{_host(i)}", 8080)]
    probe = ServicePort("zz-probe", "probe", "http", "TCP", (route.probe_ip,), 80)
    services.append(probe)
    endpoints[probe.key] = [Endpoint(route.backend_ip, port) for port in BACKEND_PORTS]
    config = ProxyConfig(families=("ip",), cluster_cidrs=(CLUSTER_CIDR,), nodeport_addresses=())
    return full_sync(render(config, services, endpoints)).render()


def linear_ruleset(route: Route) -> str:
    """One `ip daddr X tcp dport P dnat` rule per service in one chain, the probed service last."""
    t = "ip linear"
    lines = [
        f"add table {t}",
        f"delete table {t}",
        f"add table {t}",
        f"add chain {t} prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}",
        f"add chain {t} output {{ type nat hook output priority -100; policy accept; }}",
        f"add chain {t} services",
        f"add rule {t} prerouting jump services",
        f"add rule {t} output jump services",
    ]
    targets = [(f"{route.service_prefix}.{_host(i)}", f"10.43.{_host(i)}:8080") for i in range(route.size)]
    targets.append((route.probe_ip, f"{route.backend_ip}:{BACKEND_PORTS[0]}"))
    lines += [f"add rule {t} services ip daddr {ip} tcp dport 80 dnat ip to {to}" for ip, to in targets]
    return "\n".join(lines) + "\n"


def _load(ns: str, text: str, timeout: float) -> float:
    start = time.monotonic()
    result = subprocess.run(
        ["ip", "netns", "exec", ns, "nft", "-f", "-"],
        input=text,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"nft -f in {ns} failed: {result.stderr[:2000]}")
    return time.monotonic() - start


# --- backend and client (run inside their namespaces as `python3 THIS _serve|_client ...`) -----------------


def serve(ports: list[int], lifetime: float) -> None:
    """Send one byte to every accepted connection and close it; exit when stdin closes (the parent is
    gone) or after `lifetime` seconds."""
    selector = selectors.DefaultSelector()
    for port in ports:
        selector.register(socket.create_server(("0.0.0.0", port), backlog=1024), selectors.EVENT_READ)
    selector.register(sys.stdin.buffer, selectors.EVENT_READ)
    print("ready", flush=True)
    deadline = time.monotonic() + lifetime
    while time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1.0):
            if key.fileobj is sys.stdin.buffer:
                if not os.read(sys.stdin.fileno(), 1):
                    return
                continue
            assert isinstance(key.fileobj, socket.socket)
            conn, _ = key.fileobj.accept()
            with conn:
                conn.sendall(b"x")


def _connect_once(host: str, port: int) -> float:
    """Microseconds from connect() to the backend's first byte."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2.0)
        start = time.perf_counter_ns()
        sock.connect((host, port))
        first = sock.recv(1)
        elapsed = time.perf_counter_ns() - start
    if first != b"x":
        raise RuntimeError(f"{host}:{port} answered {first!r}")
    return elapsed / 1000


def probe(targets: list[tuple[str, int]], count: int, warmup: int, limit: float) -> dict[str, list[float]]:
    """Rounds of one connection per target, in a fresh random order each round: `warmup` rounds thrown
    away, then up to `count` rounds or `limit` seconds, whichever ends first."""
    samples: dict[str, list[float]] = {f"{h}:{p}": [] for h, p in targets}
    order = list(targets)
    shuffle = random.Random(0).shuffle
    for _ in range(warmup):
        for host, port in targets:
            _connect_once(host, port)
    deadline = time.monotonic() + limit
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        shuffle(order)
        for host, port in order:
            samples[f"{host}:{port}"].append(_connect_once(host, port))
    return samples


# --- the run ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _backend(ns: str, lifetime: float) -> Iterator[None]:
    argv = ["ip", "netns", "exec", ns, sys.executable, __file__, "_serve", str(lifetime)]
    argv += [str(p) for p in BACKEND_PORTS]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("backend server did not start")
        yield
    finally:
        proc.kill()
        proc.wait(10)


def _run_client(client: str, routes: list[Route], args: argparse.Namespace) -> dict[str, list[float]]:
    spec = json.dumps([[route.probe_ip, 80] for route in routes])
    argv = ["ip", "netns", "exec", client, sys.executable, __file__, "_client", spec]
    argv += [str(args.count), str(args.warmup), str(args.max_seconds)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=args.max_seconds + 300)
    if result.returncode != 0:
        raise RuntimeError(f"client failed: {result.stderr.strip()[-2000:]}")
    samples: dict[str, list[float]] = json.loads(result.stdout)
    return samples


def _summary(samples: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50_us": round(cuts[49], 1), "p99_us": round(cuts[98], 1), "samples": len(samples)}


def _install(route: Route, timeout: float) -> float:
    text = ours_ruleset(route) if route.kind == "ours" else linear_ruleset(route)
    return _load(route.node, text, timeout)


def measure(client: str, routes: list[Route], args: argparse.Namespace) -> list[dict]:
    loads = {}
    for route in routes:
        _log(f"loading {route.kind} with {route.size} services...")
        loads[route.probe_ip] = _install(route, args.timeout)
    _log(f"{args.count} connections per ruleset, all rulesets interleaved...")
    samples = _run_client(client, routes, args)
    rows = []
    for size in dict.fromkeys(route.size for route in routes):
        row: dict = {"services": size}
        for route in routes:
            if route.size == size:
                row[route.kind] = _summary(samples[f"{route.probe_ip}:80"])
                row[f"{route.kind}_load_s"] = round(loads[route.probe_ip], 2)
        rows.append(row)
    return rows


def _table(rows: list[dict]) -> str:
    base = rows[0]["ours"]["p50_us"] if rows else 0.0
    lines = [
        f"| services | ours p50 | ours p99 | linear p50 | linear p99 | ours p50 vs {rows[0]['services']:,} |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ours, linear = r["ours"], r["linear"]
        change = (ours["p50_us"] / base - 1) * 100 if base else 0.0
        lines.append(
            f"| {r['services']:,} | {ours['p50_us']:.0f} µs | {ours['p99_us']:.0f} µs | "
            f"{linear['p50_us']:.0f} µs | {linear['p99_us']:.0f} µs | {change:+.0f}% |"
        )
    return "\n".join(lines)


def _parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 10000, 30000])
    parser.add_argument("--count", type=int, default=2000, help="measured connections per ruleset and size")
    parser.add_argument("--warmup", type=int, default=200, help="connections thrown away first")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="cap on the measuring phase")
    parser.add_argument("--timeout", type=float, default=600.0, help="per nft load")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.sizes = list(dict.fromkeys(args.sizes))
    if any(not 0 <= s <= MAX_SERVICES for s in args.sizes) or len(args.sizes) > MAX_SIZES:
        parser.error(f"at most {MAX_SIZES} sizes, each within 0..{MAX_SERVICES}")
    if args.count < 2 or args.warmup < 0:
        parser.error("--count must be at least 2, --warmup not negative")
    return args


def _raise_on_term(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the cleanup of namespaces and the backend


def main() -> None:
    args = _parse()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces, nft)")
    signal.signal(signal.SIGTERM, _raise_on_term)
    nft_version = subprocess.run(["nft", "--version"], capture_output=True, text=True).stdout.strip()
    plan = _plan(args.sizes)
    with _namespaces(["client", "backend", *(f"node{i}" for i in range(len(plan)))]) as names:
        routes = _wire(names, plan)
        with _backend(names["backend"], lifetime=3600.0 + args.max_seconds):
            rows = measure(names["client"], routes, args)
    print(f"{nft_version}, kernel {platform.release()}, {os.cpu_count()} CPUs")
    print(_table(rows))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "nft": nft_version,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "count": args.count,
        "warmup": args.warmup,
        "rows": rows,
    }
    args.out.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        serve([int(p) for p in sys.argv[3:]], float(sys.argv[2]))
    elif len(sys.argv) > 1 and sys.argv[1] == "_client":
        targets = [(h, int(p)) for h, p in json.loads(sys.argv[2])]
        found = probe(targets, int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
        print(json.dumps(found))
    else:
        main()
