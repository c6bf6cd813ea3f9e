"""The `edgek8s` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from distro import config
from distro.logs import setup_logging
from netproxy import cli as netproxy_cli

DEFAULT_SERVER_DATA_DIR = "/var/lib/edgek8s/server"


def _datastore_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("datastore", help="serve the etcd v3 API over SQLite (kine_shim)")
    config.add_config_flag(p)
    p.add_argument(
        "--data-dir", default=DEFAULT_SERVER_DATA_DIR, help="the database lives in DIR/db/state.db"
    )
    p.add_argument(
        "--listen-client-urls",
        default="http://127.0.0.1:2379",
        help="comma-separated http://host:port URLs to serve the etcd API on",
    )
    p.add_argument(
        "--sqlite-synchronous",
        choices=["FULL", "NORMAL"],
        default="FULL",
        help="FULL survives power loss; NORMAL survives a process crash only (faster)",
    )
    p.add_argument(
        "--progress-notify-interval",
        type=float,
        default=5.0,
        help="seconds between watch progress notifications",
    )
    p.add_argument(
        "--compact-interval",
        type=float,
        default=300.0,
        help="seconds between automatic compactions (0 = off)",
    )
    p.add_argument("--compact-keep", type=int, default=1000, help="revisions kept by automatic compaction")
    p.add_argument("--emulated-etcd-version", default="3.5.16", help="version reported by Maintenance.Status")
    p.add_argument("--name", default="default", help="member name reported by MemberList")
    p.set_defaults(func=_run_datastore)
    return p


def _snapshot_parser(sub) -> None:
    p = sub.add_parser(
        "etcd-snapshot", help="restore a datastore snapshot (taken with `etcdctl snapshot save`)"
    )
    ssub = p.add_subparsers(dest="snapshot_command", required=True)
    r = ssub.add_parser("restore", help="turn a snapshot file back into a data dir")
    r.add_argument("snapshot", type=Path)
    r.add_argument("--data-dir", required=True, type=Path)
    r.set_defaults(func=_run_restore)


def _run_restore(args) -> int:
    from kine_shim.snapshot import SnapshotError, restore

    try:
        db = restore(args.snapshot, args.data_dir)
    except SnapshotError as exc:
        print(f"edgek8s: {exc}", file=sys.stderr)
        return 1
    print(f"restored {args.snapshot} into {db}")
    return 0


def _run_datastore(args) -> int:
    from kine_shim.server.app import serve
    from kine_shim.store import Store, StoreConfig

    urls = [u.strip() for u in args.listen_client_urls.split(",") if u.strip()]
    store_config = StoreConfig(
        db_path=Path(args.data_dir) / "db" / "state.db",
        synchronous=args.sqlite_synchronous,
        progress_notify_interval=args.progress_notify_interval,
        compact_interval=args.compact_interval,
        compact_keep=args.compact_keep,
        emulated_version=args.emulated_etcd_version,
        client_urls=urls,
        name=args.name,
    )

    async def run() -> None:
        store = Store(store_config)
        await store.start()
        server = await serve(store, urls)
        print(
            f"edgek8s datastore: serving the etcd v3 API on {', '.join(urls)} from {store_config.db_path}",
            flush=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.stop(grace=1.0)
        await store.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _server_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("server", help="run the control plane: datastore, API server, controllers")
    config.add_config_flag(p)
    p.add_argument("--data-dir", default=DEFAULT_SERVER_DATA_DIR, help="state, PKI and kubeconfig live here")
    p.add_argument("--https-listen-port", type=int, default=6443, help="HTTPS port of the API server")
    p.add_argument("--bind-address", default="0.0.0.0", help="address the API server listens on")
    p.add_argument(
        "--tls-san", action="append", default=[], help="extra name or IP for the serving certificate"
    )
    p.add_argument(
        "--datastore-endpoint",
        default="",
        help="an etcd v3 endpoint (host:port) to use instead of the embedded SQLite datastore",
    )
    p.add_argument(
        "--advertise-address",
        default="",
        help="address the `kubernetes` Service's endpoints point at (default: the bind address, or the "
        "address of the default-route interface)",
    )
    p.add_argument(
        "--service-cidr", default="10.43.0.0/16", help="range Service ClusterIPs are allocated from"
    )
    p.add_argument(
        "--etcd-listen-client-urls",
        default="",
        help="also serve the embedded datastore's etcd API on these comma-separated URLs (off by default)",
    )
    p.add_argument(
        "--disable-controller",
        action="append",
        default=[],
        help="name of a controller not to run (repeatable)",
    )
    p.add_argument(
        "--cluster-cidr",
        default="10.42.0.0/16",
        help="pod network; traffic to Services from outside is masqueraded",
    )
    p.add_argument(
        "--disable-proxy",
        action="store_true",
        help="do not run the embedded nftables service proxy (it also stays off when nft is not usable)",
    )
    p.add_argument(
        "--node-monitor-grace-period",
        type=float,
        default=50.0,
        help="seconds without a Lease renewal before a node is NotReady (Unknown) and tainted unreachable",
    )
    p.add_argument(
        "--node-autonomy",
        action="store_true",
        help="keep pods bound and not evicted while their node is offline (edge autonomy); per node: "
        "annotation edgek8s.io/node-autonomy=true",
    )
    p.set_defaults(func=_run_server)
    return p


def _run_server(args) -> int:
    from distro.controllers.manager import CONTROLLERS
    from distro.server import ServerConfig, serve_forever

    unknown = sorted(set(args.disable_controller) - set(CONTROLLERS))
    if unknown:
        print(
            f"edgek8s: unknown controller(s) {', '.join(unknown)}; known: {', '.join(sorted(CONTROLLERS))}",
            file=sys.stderr,
        )
        return 2

    cfg = ServerConfig(
        data_dir=Path(args.data_dir),
        https_listen_port=args.https_listen_port,
        bind_address=args.bind_address,
        tls_sans=tuple(args.tls_san),
        datastore_endpoint=args.datastore_endpoint,
        service_cidr=args.service_cidr,
        etcd_listen_client_urls=tuple(_csv(args.etcd_listen_client_urls)),
        disabled_controllers=frozenset(args.disable_controller),
        advertise_address=args.advertise_address,
        cluster_cidr=args.cluster_cidr,
        disable_proxy=args.disable_proxy,
        node_monitor_grace_period=args.node_monitor_grace_period,
        node_autonomy=args.node_autonomy,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(cfg))
    return 0


def _kubectl_parser(sub) -> None:
    p = sub.add_parser("kubectl", help="run kubectl with the server's admin kubeconfig", add_help=False)
    p.add_argument("--data-dir", default=DEFAULT_SERVER_DATA_DIR)
    p.add_argument("kubectl_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_run_kubectl)


def _run_kubectl(args) -> int:
    import os
    import shutil

    kubeconfig = Path(args.data_dir) / "kubeconfig.yaml"
    if not kubeconfig.exists():
        print(
            f"edgek8s: {kubeconfig} does not exist; has `edgek8s server` run with this --data-dir?",
            file=sys.stderr,
        )
        return 1
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("edgek8s: kubectl is not on PATH", file=sys.stderr)
        return 1
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    os.execvpe(kubectl, [kubectl, *args.kubectl_args], env)
    return 1  # not reached


def _token_parser(sub) -> None:
    p = sub.add_parser("token", help="print the join token agents use")
    p.add_argument("--data-dir", default=DEFAULT_SERVER_DATA_DIR)
    p.set_defaults(func=_run_token)


def _run_token(args) -> int:
    token = Path(args.data_dir) / "token"
    try:
        print(token.read_text().strip())
    except FileNotFoundError:
        print(
            f"edgek8s: {token} does not exist; has `edgek8s server` run with this --data-dir?",
            file=sys.stderr,
        )
        return 1
    return 0


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The command line, and the subcommands that read a config file."""
    parser = argparse.ArgumentParser(
        prog="edgek8s", description="A lightweight Kubernetes distribution for the edge"
    )
    parser.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING or ERROR")
    sub = parser.add_subparsers(dest="command", required=True)
    commands = {
        "datastore": _datastore_parser(sub),
        "server": _server_parser(sub),
        "proxy": netproxy_cli.add_parser(sub),
    }
    _snapshot_parser(sub)
    _kubectl_parser(sub)
    _token_parser(sub)
    return parser, commands


def main(argv: list[str] | None = None) -> int:
    parser, commands = build_parser()
    try:
        args = config.parse(parser, commands, argv)
    except config.ConfigError as exc:
        print(f"edgek8s: {exc}", file=sys.stderr)
        return 2
    setup_logging(args.log_level)
    try:
        return args.func(args)
    except OSError as exc:
        logging.getLogger("edgek8s").error("%s", exc)
        print(f"edgek8s: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
