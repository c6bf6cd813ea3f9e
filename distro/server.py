"""`edgek8s server`: datastore + PKI + API server (+ the controllers that ship so far) in one process."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from distro.apiserver import auth
from distro.apiserver.app import APIServer, APIServerConfig
from distro.controllers.config import ControllerConfig
from distro.controllers.manager import ControllerManager
from distro.pki.cluster import ClusterPKI
from kine_shim.client import Datastore, EmbeddedDatastore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path
    https_listen_port: int = 6443
    bind_address: str = "0.0.0.0"
    tls_sans: tuple[str, ...] = ()
    datastore_endpoint: str = ""
    service_cidr: str = "10.43.0.0/16"
    etcd_listen_client_urls: tuple[str, ...] = ()
    disabled_controllers: frozenset[str] = field(default_factory=frozenset)
    advertise_address: str = ""
    cluster_cidr: str = "10.42.0.0/16"
    disable_proxy: bool = False
    node_monitor_grace_period: float = 50.0
    node_autonomy: bool = False


def advertise_address(bind_address: str) -> str:
    """The address the `kubernetes` Service's endpoints point at: the bind address when it is a real one,
    else the address of the interface with the default route (upstream's ChooseHostInterface idea),
    else loopback (which EndpointSlices refuse, so the controllers say so)."""
    try:
        bind = ipaddress.ip_address(bind_address)
    except ValueError:
        bind = None
    if bind is not None and not bind.is_unspecified and not bind.is_loopback:
        return str(bind)
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        # connect() on UDP only picks a route and a source address; nothing is sent
        probe.connect(("192.0.2.1", 9))
        source = probe.getsockname()[0]
        if not ipaddress.ip_address(source).is_loopback:
            return source
    return "127.0.0.1"


def _local_host(bind_address: str) -> str:
    """Where this machine's admin kubeconfig reaches the server: loopback when it listens everywhere."""
    if ipaddress.ip_address(bind_address).is_unspecified:
        return "::1" if ipaddress.ip_address(bind_address).version == 6 else "127.0.0.1"
    return bind_address


def _service_ip(cidr: str) -> str:
    return str(ipaddress.ip_network(cidr, strict=False).network_address + 1)


class Server:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.api: APIServer | None = None
        self._store = None
        self._etcd_server = None
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task] = []
        self.kubeconfig: Path | None = None
        self.controllers: ControllerManager | None = None
        self._proxy_stop = asyncio.Event()
        self._proxy: asyncio.Task | None = None

    async def _datastore(self) -> Datastore:
        if self.config.datastore_endpoint:
            from kine_shim.remote import RemoteDatastore  # lazy: only a remote datastore needs grpc

            endpoint = self.config.datastore_endpoint.removeprefix("http://").removeprefix("etcd://")
            return RemoteDatastore(endpoint)
        from kine_shim.store import Store, StoreConfig

        self._store = Store(
            StoreConfig(
                db_path=self.config.data_dir / "db" / "state.db",
                client_urls=list(self.config.etcd_listen_client_urls),
            )
        )
        await self._store.start()
        if self.config.etcd_listen_client_urls:
            from kine_shim.server.app import serve

            self._etcd_server = await serve(self._store, list(self.config.etcd_listen_client_urls))
        return EmbeddedDatastore(self._store)

    async def start(self) -> None:
        cfg = self.config
        pki = await asyncio.to_thread(
            ClusterPKI.load_or_create,
            cfg.data_dir,
            cfg.bind_address,
            cfg.tls_sans,
            _service_ip(cfg.service_cidr),
        )
        ds = await self._datastore()

        async def lookup_secret(namespace: str, name: str) -> dict | None:
            # bootstrap tokens are Secrets: read them from the API server's cache, which exists by the
            # time the first request is authenticated
            assert self.api is not None
            return self.api.resource("", "secrets").cache.get(namespace, name)

        authenticator = auth.Authenticator(
            service_account_public_key=pki.service_account_key.public_key(), lookup_secret=lookup_secret
        )
        advertise = cfg.advertise_address or advertise_address(cfg.bind_address)
        self.api = APIServer(
            ds,
            APIServerConfig(
                service_cidr=cfg.service_cidr, advertise_address=advertise, port=cfg.https_listen_port
            ),
            authenticator=authenticator,
            ca_pem=pki.ca_pem,
        )
        await self.api.start()
        self._runner = web.AppRunner(self.api.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner,
            cfg.bind_address,
            cfg.https_listen_port,
            ssl_context=pki.server_ssl_context(),
            shutdown_timeout=1.0,
        )
        await site.start()
        self.kubeconfig = pki.write_admin_kubeconfig(cfg.https_listen_port, _local_host(cfg.bind_address))
        controller_config = ControllerConfig(
            node_monitor_grace_period=cfg.node_monitor_grace_period,
            node_autonomy=cfg.node_autonomy,
            advertise_address=advertise,
            advertise_port=cfg.https_listen_port,
        )
        if not cfg.disable_proxy:
            self._proxy = asyncio.create_task(self._run_proxy(), name="service-proxy")
        self.controllers = ControllerManager(
            self.api, cfg.disabled_controllers, socket.gethostname(), controller_config
        )
        await self.controllers.start()

    async def _run_proxy(self) -> None:
        """The embedded service proxy, through the API like any other client; without a usable nft it
        says why once and the server carries on."""
        from netproxy.model import ProxyConfig
        from netproxy.runner import ProxySettings, run_proxy

        assert self.kubeconfig is not None
        config = ProxyConfig(cluster_cidrs=(self.config.cluster_cidr,))
        settings = ProxySettings(node_name=socket.gethostname().lower())
        try:
            await run_proxy(self.kubeconfig, config, self._proxy_stop, settings)
        except Exception:  # the proxy is optional: the control plane must keep running
            log.exception("service proxy stopped")

    async def stop(self) -> None:
        if self._proxy is not None:
            self._proxy_stop.set()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._proxy, 5)
        if self.controllers is not None:
            await self.controllers.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._runner is not None:
            await self._runner.cleanup()
        if self.api is not None:
            await self.api.stop()
            await self.api.ds.close()
        if self._etcd_server is not None:
            await self._etcd_server.stop(grace=0.5)
        if self._store is not None:
            await self._store.close()


async def serve_forever(config: ServerConfig) -> None:
    started = time.monotonic()
    server = Server(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.start()
        print(
            f"edgek8s server: ready in {time.monotonic() - started:.2f}s, API on "
            f"https://{config.bind_address}:{config.https_listen_port}, kubeconfig at {server.kubeconfig}\n"
            f"  try: edgek8s kubectl --data-dir {config.data_dir} get nodes,ns",
            flush=True,
        )
        await stop.wait()
    finally:
        await server.stop()
