#!/usr/bin/env python3
"""Full-sync load time of our nftables ruleset vs a kube-proxy-nftables-style one, same nft, same kernel.

For N services x 2 endpoints (IPv4 ClusterIP, TCP) three rulesets are generated and each is loaded with one
`nft -f` into a fresh network namespace (the host ruleset is never touched):

  ours        netproxy's renderer as shipped: one chain per service port, N `numgen random mod k == 0 ...
              dnat` rules, dispatch through named verdict maps
  ours-map    the same renderer forced to always use `dnat to numgen random mod N map { ... }` (one
              anonymous map per service), to show why the shipped default only uses it for big services
  kube-proxy  upstream's nftables layout: per-service chain with `numgen random mod N vmap { ... }` jumping
              to per-endpoint chains (one anonymous verdict map per service, 2 extra chains per service)

Also measured for ours: render + diff time in Python, and one incremental transaction (one endpoint of one
service changes) applied on top of the full table.

Then, per size, where the time of such a one-service update goes (medians of --update-repeats runs, each
change applied and reverted so the table stays the same size). nft runs from inside the namespace
(this process enters it), as the proxy runs it in its own, so `ip netns exec` is measured separately:

  full render+diff  Python, for comparison: the whole model rendered again and diffed against the installed
                    state (what the syncer did per change before it rendered incrementally)
  snapshot          Python: ClusterModel.snapshot() after one EndpointSlice event (the runner's model,
                    fed the same cluster as Service and EndpointSlice objects): the change feed and the
                    endpoints merged again for the changed key only
  plan, no hint     Python: RenderCache.plan() without a change feed: one pass over the model to find the
                    changed service ports and re-render only those (here: one); full syncs still do this
  plan              Python: RenderCache.plan() with the change feed (the changed key), as the runner calls it
  tx                Python: plan.transaction(), the diff of what the changed ports write, as nft text
  python sync       RuleSyncer.sync() with a backend that only renders the text: the syncer's Python part
  nft empty         `nft -f -` with empty input: process start, nothing sent to the kernel
  nft no-op         `add table ip edgek8s`: + the table cache and an (empty) kernel commit
  nft add element   add one element to a plain set: + the caches nft fills for any rule or element command
                    (nft 1.0.x dumps every chain of every table: ~1 chain per service here)
  nft del element   delete it again: + the wait at nft's exit for the kernel to free what the transaction
                    removed (closing nft's netlink socket flushes that deferred work, an RCU grace period);
                    every real update removes something (old rules, old elements)
  nft tx            the update's own transaction (flush + refill of the service's chain, hairpin set
                    elements): + the rules, and the kernel's validation of the whole table, which every
                    added rule with a dnat/jump (or verdict-map element with a goto) sets off
  ip netns exec tx  the same, started through `ip netns exec` (what the full-sync table's column used)
  sync end to end   RuleSyncer.sync() with the real NftApplier running the nft binary (engine "process"):
                    python sync + nft, what a change cost before the applier used libnftables
  lib first tx      the update through libnftables in this process (NftApplier engine "library"), first
                    transaction of a new context: it fills nft's cache (every chain) once
  lib tx            the same, later transactions: the context, its netlink socket and its cache are kept
  lib sync e2e      RuleSyncer.sync() with the NftApplier as shipped (engine "library"): what a change costs
                    after the rate limit (+ snapshot, which the runner takes before it)

Every RuleSyncer.sync() after the first is handed the change feed (the changed key), as the runner does.

Needs root, nft and ip.

    python bench/netproxy_sync.py                     # 1k, 5k, 10k services
    python bench/netproxy_sync.py --sizes 1000        # quick
    python bench/netproxy_sync.py --only-breakdown    # the update breakdown without the full-sync table

Results: tables on stdout, JSON in bench/results/netproxy_sync.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import dataclasses
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from netproxy.applier import Backend, NftApplier  # noqa: E402
from netproxy.diff import diff, full_sync  # noqa: E402
from netproxy.model import Endpoint, ProxyConfig, ServicePort, ServicePortName  # noqa: E402
from netproxy.render import HAIRPIN, RenderCache, render  # noqa: E402
from netproxy.syncer import RuleSyncer  # noqa: E402
from netproxy.transaction import ELEMENT_CHUNK, Transaction  # noqa: E402
from netproxy.watcher import ClusterModel  # noqa: E402

T = TypeVar("T")
DEFAULT_OUT = REPO / "bench" / "results" / "netproxy_sync.json"
CLUSTER_CIDR = "10.42.0.0/16"
CONFIG = ProxyConfig(families=("ip",), cluster_cidrs=(CLUSTER_CIDR,), nodeport_addresses=())
CLONE_NEWNET = 0x40000000


def model(count: int) -> tuple[list[ServicePort], dict]:
    services, endpoints = [], {}
    for i in range(count):
        host = f"{i // 250}.{i % 250 + 1}"
        sp = ServicePort(f"ns{i % 20}", f"svc{i}", "http", "TCP", (f"10.96.{host}",), 80)
        services.append(sp)
        endpoints[sp.key] = [Endpoint(f"10.42.{host}", 8080), Endpoint(f"10.43.{host}", 8080)]
    return services, endpoints


def kube_proxy_style(services: list[ServicePort], endpoints: dict) -> str:
    """Upstream kube-proxy's nftables shape (pkg/proxy/nftables), reduced to ClusterIP services."""
    t = "ip kube-proxy"
    lines = [f"add table {t}", f"delete table {t}", f"add table {t}"]
    lines += [
        f"add set {t} cluster-ips {{ type ipv4_addr; }}",
        f"add map {t} service-ips {{ type ipv4_addr . inet_proto . inet_service : verdict; }}",
        f"add map {t} no-endpoint-services {{ type ipv4_addr . inet_proto . inet_service : verdict; }}",
        f"add chain {t} nat-prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}",
        f"add chain {t} nat-output {{ type nat hook output priority -100; policy accept; }}",
        f"add chain {t} nat-postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}",
        f"add chain {t} filter-forward {{ type filter hook forward priority -110; policy accept; }}",
        f"add chain {t} services",
        f"add chain {t} masquerading",
        f"add chain {t} mark-for-masquerade",
        f"add chain {t} service-endpoints-check",
        f"add rule {t} nat-prerouting jump services",
        f"add rule {t} nat-output jump services",
        f"add rule {t} nat-postrouting jump masquerading",
        f"add rule {t} filter-forward ct state new jump service-endpoints-check",
        f"add rule {t} services ip daddr . meta l4proto . th dport vmap @service-ips",
        f"add rule {t} mark-for-masquerade mark set mark or 0x4000",
        f"add rule {t} masquerading mark and 0x4000 == 0 return",
        f"add rule {t} masquerading mark set mark xor 0x4000",
        f"add rule {t} masquerading masquerade fully-random",
        f"add rule {t} service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services",
    ]
    chains, rules, cluster_ips, service_ips = [], [], [], []
    for sp in services:
        ident = f"{sp.namespace}/{sp.name}/tcp/{sp.port_name}"
        digest = hashlib.sha256(ident.encode()).hexdigest()[:8].upper()
        svc_chain = f"service-{digest}-{ident}"
        chains.append(svc_chain)
        ip = sp.cluster_ips[0]
        masq = f"ip saddr != {CLUSTER_CIDR} jump mark-for-masquerade"
        rules.append(f"{svc_chain} ip daddr {ip} tcp dport {sp.port} {masq}")
        verdicts = []
        for index, ep in enumerate(endpoints[sp.key]):
            ep_digest = hashlib.sha256(f"{ident}{ep.ip}".encode()).hexdigest()[:8].upper()
            ep_chain = f"endpoint-{ep_digest}-{ident}__{ep.ip}/{ep.port}"
            chains.append(ep_chain)
            rules.append(f"{ep_chain} ip saddr {ep.ip} jump mark-for-masquerade")
            rules.append(f"{ep_chain} meta l4proto tcp dnat to {ep.ip}:{ep.port}")
            verdicts.append(f"{index} : goto {ep_chain}")
        rules.append(f"{svc_chain} numgen random mod {len(verdicts)} vmap {{ {', '.join(verdicts)} }}")
        cluster_ips.append(ip)
        service_ips.append(f"{ip} . tcp . {sp.port} : goto {svc_chain}")
    lines += [f"add chain {t} {c}" for c in chains]
    lines += [f"add rule {t} {r}" for r in rules]
    for name, items in (("cluster-ips", cluster_ips), ("service-ips", service_ips)):
        for i in range(0, len(items), ELEMENT_CHUNK):
            lines.append(f"add element {t} {name} {{ {', '.join(items[i : i + ELEMENT_CHUNK])} }}")
    return "\n".join(lines) + "\n"


def nft_load(netns: str, text: str, timeout: float) -> float:
    start = time.monotonic()
    result = subprocess.run(
        ["ip", "netns", "exec", netns, "nft", "-f", "-"],
        input=text,
        text=True,
        capture_output=True,
        timeout=timeout,
    )
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        raise RuntimeError(f"nft failed: {result.stderr[:2000]}")
    return elapsed


def with_netns(tag: str, body: Callable[[str], T]) -> T:
    """Run body(namespace) in a fresh network namespace, removed afterwards whatever happens."""
    name = f"ek8s-bench-{os.getpid()}-{tag}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        return body(name)
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False, timeout=10)


def measure(count: int, timeout: float) -> dict:
    services, endpoints = model(count)
    start = time.monotonic()
    state = render(CONFIG, services, endpoints)
    render_s = time.monotonic() - start
    ours = full_sync(state).render()
    forced = full_sync(render(dataclasses.replace(CONFIG, lb_map_threshold=2), services, endpoints)).render()
    kube = kube_proxy_style(services, endpoints)

    changed = one_endpoint_changed(services, endpoints)
    start = time.monotonic()
    new_state = render(CONFIG, services, changed)
    tx = diff(state, new_state)
    incr_render_s = time.monotonic() - start

    def ours_run(ns: str) -> tuple[float, float]:
        full = nft_load(ns, ours, timeout)
        return full, nft_load(ns, tx.render(), timeout)

    full_s, incr_s = with_netns(f"ours-{count}", ours_run)
    map_s = with_netns(f"map-{count}", lambda ns: nft_load(ns, forced, timeout))
    kube_s = with_netns(f"kube-{count}", lambda ns: nft_load(ns, kube, timeout))
    return {
        "services": count,
        "endpoints_per_service": 2,
        "ours_full_sync_s": round(full_s, 3),
        "ours_map_full_sync_s": round(map_s, 3),
        "kube_proxy_style_full_sync_s": round(kube_s, 3),
        "ours_render_s": round(render_s, 3),
        "ours_incremental_render_diff_s": round(incr_render_s, 3),
        "ours_incremental_apply_s": round(incr_s, 3),
        "ours_incremental_lines": len(tx),
        "ours_bytes": len(ours),
        "kube_proxy_style_bytes": len(kube),
        "ratio_kube_over_ours": round(kube_s / full_s, 1),
    }


def one_endpoint_changed(services: list[ServicePort], endpoints: dict) -> dict:
    """The model with the second endpoint of the middle service replaced."""
    changed = dict(endpoints)
    target = services[len(services) // 2]
    changed[target.key] = [endpoints[target.key][0], Endpoint("10.44.0.1", 8080)]
    return changed


def changed_keys(services: list[ServicePort]) -> frozenset[ServicePortName]:
    """The change feed of one_endpoint_changed(), as ClusterModel reports it."""
    return frozenset({services[len(services) // 2].key})


def _setns(fd: int) -> None:
    setns = getattr(os, "setns", None)  # Python 3.12+
    if setns is not None:
        setns(fd, CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


@contextlib.contextmanager
def inside(netns: str) -> Iterator[None]:
    """This thread, and what it starts, in `netns` (nft without `ip netns exec` in front); back after."""
    with open("/proc/self/ns/net") as home, open(f"/run/netns/{netns}") as target:
        _setns(target.fileno())
        try:
            yield
        finally:
            _setns(home.fileno())


def _nft(text: str, prefix: tuple[str, ...] = ()) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [*prefix, "nft", "-f", "-"], input=text, text=True, capture_output=True, timeout=60
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"nft failed: {result.stderr[:2000]}")
    return elapsed


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def _nft_pair_ms(
    forward: str, back: str, repeats: int, prefix: tuple[str, ...] = ()
) -> tuple[float, float, float]:
    """Medians of `forward`, of `back` (which undoes it) and of both, `repeats` runs each, alternating."""
    there, again = [], []
    for _ in range(repeats):
        there.append(_nft(forward, prefix))
        again.append(_nft(back, prefix))
    return _median_ms(there), _median_ms(again), _median_ms(there + again)


class _TextOnly:
    """A syncer backend that only renders the transaction's text: the Python part of an apply."""

    async def apply(self, tx: Transaction) -> None:
        tx.render()

    async def fingerprint(self, family: str, table: str) -> None:
        return None


def _service_object(sp: ServicePort) -> dict:
    ports = [{"name": sp.port_name, "protocol": sp.protocol, "port": sp.port}]
    meta = {"namespace": sp.namespace, "name": sp.name}
    return {"metadata": meta, "spec": {"clusterIPs": list(sp.cluster_ips), "ports": ports}}


def _slice_object(sp: ServicePort, endpoints: list[Endpoint]) -> dict:
    labels = {"kubernetes.io/service-name": sp.name}
    meta = {"namespace": sp.namespace, "name": f"{sp.name}-1", "labels": labels}
    return {
        "metadata": meta,
        "addressType": "IPv4",
        "ports": [{"name": sp.port_name, "protocol": sp.protocol, "port": endpoints[0].port}],
        "endpoints": [{"addresses": [e.ip]} for e in endpoints],
    }


def _snapshot_ms(services: list[ServicePort], endpoints: dict, changed: dict, repeats: int) -> float:
    cluster = ClusterModel("node")
    cluster.services.replace([_service_object(sp) for sp in services])
    cluster.endpoint_slices.replace([_slice_object(sp, endpoints[sp.key]) for sp in services])
    cluster.snapshot()
    target = services[len(services) // 2]
    samples = []
    for i in range(2 * repeats):
        cluster.endpoint_slices.apply(
            "MODIFIED", _slice_object(target, (changed if i % 2 == 0 else endpoints)[target.key])
        )
        start = time.perf_counter()
        snapshot = cluster.snapshot()
        samples.append(time.perf_counter() - start)
        assert snapshot.changed == changed_keys(services)
    return _median_ms(samples)


def _python_ms(services: list[ServicePort], endpoints: dict, changed: dict, repeats: int) -> dict:
    installed = render(CONFIG, services, endpoints)
    full_s = []
    for _ in range(repeats):
        start = time.perf_counter()
        diff(installed, render(CONFIG, services, changed)).render()
        full_s.append(time.perf_counter() - start)
    cache = RenderCache(CONFIG)
    first = cache.plan(services, endpoints)
    first.state()
    cache.commit(first)
    hint = changed_keys(services)
    plan_s, tx_s, scan_s = [], [], []
    for i in range(2 * repeats):
        model_now = changed if i % 2 == 0 else endpoints
        start = time.perf_counter()
        scanned = cache.plan(services, model_now)
        scan_s.append(time.perf_counter() - start)
        assert scanned.rendered == 1
        start = time.perf_counter()
        plan = cache.plan(services, model_now, hint)
        middle = time.perf_counter()
        plan.transaction().render()
        tx_s.append(time.perf_counter() - middle)
        plan_s.append(middle - start)
        assert plan.rendered == 1
        cache.commit(plan)
    return {
        "full_render_diff_ms": _median_ms(full_s),
        "snapshot_ms": _snapshot_ms(services, endpoints, changed, repeats),
        "plan_scan_ms": _median_ms(scan_s),
        "plan_ms": _median_ms(plan_s),
        "tx_ms": _median_ms(tx_s),
        "python_sync_ms": asyncio.run(_sync_ms(_TextOnly(), services, endpoints, changed, repeats)),
    }


async def _sync_ms(
    backend: Backend, services: list[ServicePort], endpoints: dict, changed: dict, repeats: int
) -> float:
    syncer = RuleSyncer(backend, CONFIG)
    await syncer.sync(services, endpoints)
    hint = changed_keys(services)
    samples = []
    for i in range(2 * repeats):
        start = time.perf_counter()
        result = await syncer.sync(services, changed if i % 2 == 0 else endpoints, hint)
        samples.append(time.perf_counter() - start)
        assert not result.full and result.transaction and result.rendered == 1
    return _median_ms(samples)


async def _library_tx_ms(netns: str, forward: str, back: str, repeats: int) -> tuple[float, float]:
    """The first transaction of a new libnftables context, and the median of `repeats` pairs after it."""
    applier = NftApplier(netns=netns, engine="library")
    start = time.perf_counter()
    await applier.apply(forward)
    first = time.perf_counter() - start
    await applier.apply(back)
    samples = []
    for _ in range(repeats):
        for text in (forward, back):
            start = time.perf_counter()
            await applier.apply(text)
            samples.append(time.perf_counter() - start)
    applier.close()
    return round(first * 1000, 1), _median_ms(samples)


def update_breakdown(count: int, repeats: int, timeout: float) -> dict:
    """Where the time of a one-endpoint update at `count` services goes (see the module docstring)."""
    services, endpoints = model(count)
    changed = one_endpoint_changed(services, endpoints)
    row: dict = {"services": count, **_python_ms(services, endpoints, changed, repeats)}
    installed, desired = render(CONFIG, services, endpoints), render(CONFIG, services, changed)
    forward, back = diff(installed, desired).render(), diff(desired, installed).render()
    element = f"ip edgek8s {HAIRPIN} {{ 10.99.0.1 . 10.99.0.1 }}"

    def body(ns: str) -> None:
        nft_load(ns, full_sync(installed).render(), timeout)
        with inside(ns):
            row["nft_empty_ms"] = _nft_pair_ms("", "", repeats)[2]
            row["nft_noop_ms"] = _nft_pair_ms("add table ip edgek8s\n", "add table ip edgek8s\n", repeats)[2]
            add, delete, _ = _nft_pair_ms(f"add element {element}\n", f"delete element {element}\n", repeats)
            row["nft_add_element_ms"], row["nft_delete_element_ms"] = add, delete
            row["nft_tx_ms"] = _nft_pair_ms(forward, back, repeats)[2]
            end_to_end = _sync_ms(NftApplier(engine="process"), services, endpoints, changed, repeats)
            row["sync_end_to_end_ms"] = asyncio.run(end_to_end)
        row["ip_netns_exec_tx_ms"] = _nft_pair_ms(forward, back, repeats, ("ip", "netns", "exec", ns))[2]
        row["lib_first_tx_ms"], row["lib_tx_ms"] = asyncio.run(_library_tx_ms(ns, forward, back, repeats))
        library = NftApplier(netns=ns, engine="library")
        row["lib_sync_end_to_end_ms"] = asyncio.run(_sync_ms(library, services, endpoints, changed, repeats))
        library.close()

    with_netns(f"update-{count}", body)
    row["tx_commands"] = len(forward.splitlines())
    return row


_BREAKDOWN_COLUMNS = (
    ("full render+diff", "full_render_diff_ms"),
    ("snapshot", "snapshot_ms"),
    ("plan, no hint", "plan_scan_ms"),
    ("plan", "plan_ms"),
    ("tx", "tx_ms"),
    ("python sync", "python_sync_ms"),
    ("nft empty", "nft_empty_ms"),
    ("nft no-op", "nft_noop_ms"),
    ("nft add element", "nft_add_element_ms"),
    ("nft del element", "nft_delete_element_ms"),
    ("nft tx", "nft_tx_ms"),
    ("ip netns exec tx", "ip_netns_exec_tx_ms"),
    ("sync end to end", "sync_end_to_end_ms"),
    ("lib first tx", "lib_first_tx_ms"),
    ("lib tx", "lib_tx_ms"),
    ("lib sync e2e", "lib_sync_end_to_end_ms"),
)


def breakdown_table(rows: list[dict]) -> str:
    header = "| services | " + " | ".join(title for title, _ in _BREAKDOWN_COLUMNS) + " |"
    lines = [header, "|---:|" + "---:|" * len(_BREAKDOWN_COLUMNS)]
    for r in rows:
        cells = " | ".join(f"{r[key]:.1f} ms" for _, key in _BREAKDOWN_COLUMNS)
        lines.append(f"| {r['services']:,} | {cells} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--timeout", type=float, default=300.0, help="per nft invocation")
    parser.add_argument("--update-repeats", type=int, default=15, help="runs per update-breakdown median")
    parser.add_argument("--no-breakdown", action="store_true", help="full syncs only")
    parser.add_argument("--only-breakdown", action="store_true", help="the update breakdown only")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    if args.update_repeats < 1:
        parser.error("--update-repeats must be at least 1")
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces, nft)")
    nft_version = subprocess.run(["nft", "--version"], capture_output=True, text=True).stdout.strip()
    rows = []
    for count in [] if args.only_breakdown else args.sizes:
        print(f"measuring {count} services...", file=sys.stderr, flush=True)
        rows.append(measure(count, args.timeout))
    header = (
        f"{'services':>8} {'ours':>8} {'ours-map':>9} {'kube-proxy':>11} {'kube/ours':>10} {'incr apply':>11}"
    )
    print(f"{nft_version}, kernel {platform.release()}")
    if rows:
        print(header)
    for r in rows:
        print(
            f"{r['services']:>8} {r['ours_full_sync_s']:>7.2f}s {r['ours_map_full_sync_s']:>8.2f}s "
            f"{r['kube_proxy_style_full_sync_s']:>10.2f}s {r['ratio_kube_over_ours']:>9.1f}x "
            f"{r['ours_incremental_apply_s']:>10.3f}s"
        )
    updates = []
    if not args.no_breakdown:
        for count in args.sizes:
            print(f"update breakdown at {count} services...", file=sys.stderr, flush=True)
            updates.append(update_breakdown(count, args.update_repeats, args.timeout))
        print(f"\none-endpoint update at N services, medians of {args.update_repeats} runs:")
        print(breakdown_table(updates))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "nft": nft_version,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "rows": rows,
        "update_breakdown": updates,
    }
    args.out.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
