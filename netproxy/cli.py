"""`edgek8s proxy`: the nftables service proxy as its own process, against any Kubernetes API server."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import signal
import socket
import sys

from distro import config as config_file
from netproxy.model import Family, ProxyConfig

log = logging.getLogger(__name__)
_FAMILIES: dict[str, Family] = {"ipv4": "ip", "ipv6": "ip6"}


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def _split(values: list[str]) -> list[str]:
    """Repeatable flags that also take comma-separated values (`--cluster-cidr a,b --cluster-cidr c`)."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register `proxy` on the `edgek8s` command line; returns its parser (it reads a config file)."""
    p = subparsers.add_parser("proxy", help="run the nftables service proxy (Services -> endpoints)")
    config_file.add_config_flag(p)
    p.add_argument(
        "--kubeconfig",
        default=None,
        help="kubeconfig of the cluster (default: $KUBECONFIG, in-cluster service account, ~/.kube/config)",
    )
    p.add_argument(
        "--hostname-override",
        default="",
        help="this node's name, for externalTrafficPolicy/internalTrafficPolicy Local (default: hostname)",
    )
    p.add_argument(
        "--cluster-cidr",
        action="append",
        default=[],
        help="pod CIDR (repeatable or comma-separated, both families); traffic to a ClusterIP from outside "
        "them is masqueraded",
    )
    p.add_argument("--masquerade-all", action="store_true", help="masquerade all traffic to ClusterIPs")
    p.add_argument(
        "--nodeport-addresses",
        action="append",
        default=[],
        help="node IPs that accept NodePort traffic (repeatable or comma-separated; default: all local IPs)",
    )
    p.add_argument(
        "--ip-families",
        default="ipv4,ipv6",
        help="comma-separated families to proxy: ipv4, ipv6 (default both)",
    )
    p.add_argument(
        "--min-sync-period",
        type=_seconds,
        default=1.0,
        help="seconds between two rule syncs at most once; changes meanwhile are batched (default 1)",
    )
    p.add_argument(
        "--sync-period",
        type=_seconds,
        default=30.0,
        help="seconds between checks that nobody else changed the installed rules (0: never check)",
    )
    p.add_argument("--nft", default="nft", help="the nft binary")
    p.add_argument("--cleanup", action="store_true", help="remove the proxy's nftables tables and exit")
    p.set_defaults(func=_run)
    return p


def _proxy_config(args: argparse.Namespace) -> ProxyConfig:
    families = []
    for name in _split([args.ip_families]):
        if name.lower() not in _FAMILIES:
            raise ValueError(f"--ip-families: unknown family {name!r} (ipv4, ipv6)")
        families.append(_FAMILIES[name.lower()])
    nodeport = _split(args.nodeport_addresses)
    for address in nodeport:
        ipaddress.ip_address(address)  # a CIDR here would silently match nothing
    return ProxyConfig(
        families=tuple(dict.fromkeys(families)),
        cluster_cidrs=tuple(_split(args.cluster_cidr)),
        masquerade_all=args.masquerade_all,
        nodeport_addresses=tuple(nodeport) or None,
    )


def _run(args: argparse.Namespace) -> int:
    # imported here: every `edgek8s` command builds this parser, only `proxy` needs aiohttp
    from netproxy.applier import NftError
    from netproxy.kube import KubeConfigError, find_kubeconfig
    from netproxy.runner import ProxySettings, cleanup

    try:
        proxy_config = _proxy_config(args)
    except ValueError as exc:
        print(f"edgek8s proxy: {exc}", file=sys.stderr)
        return 2
    settings = ProxySettings(
        node_name=(args.hostname_override or socket.gethostname()).lower(),
        min_sync_period=args.min_sync_period,
        sync_period=args.sync_period,
        nft=args.nft,
    )
    if args.cleanup:
        try:
            asyncio.run(cleanup(proxy_config, settings))
        except NftError as exc:
            print(f"edgek8s proxy: cleanup failed: {exc}", file=sys.stderr)
            return 1
        return 0
    try:
        kube = find_kubeconfig(args.kubeconfig)
    except KubeConfigError as exc:
        print(f"edgek8s proxy: {exc}", file=sys.stderr)
        return 1
    with contextlib.suppress(KeyboardInterrupt):
        if not asyncio.run(_serve(kube, proxy_config, settings)):
            print(
                f"edgek8s proxy: nft ({settings.nft}) is missing or not permitted here (needs root or "
                "CAP_NET_ADMIN and nf_tables); not proxying",
                file=sys.stderr,
            )
            return 1
    return 0


async def _serve(kube, proxy_config: ProxyConfig, settings) -> bool:
    from netproxy.runner import run_proxy

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"edgek8s proxy: node {settings.node_name}, API {kube.server}", flush=True)
    return await run_proxy(kube, proxy_config, stop, settings)
