"""The proxy as a long-running task: two reflectors feed the model, a rate-limited loop installs it.

Syncs happen at most once per `min_sync_period` (changes arriving meanwhile are batched into the next one,
like kube-proxy's --min-sync-period), the first only once both Services and EndpointSlices were listed (so a
half-known cluster never briefly rejects traffic to Services whose endpoints are not read yet). Every
`sync_period` the installed tables are checked for drift and repaired. A transaction nft refuses is logged
(by the applier, with the offending lines) and retried with backoff; the previous ruleset stays meanwhile.

Rules are left in place when the proxy stops, as kube-proxy does, so traffic keeps flowing across restarts;
`cleanup` removes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from netproxy.applier import Backend, NftApplier, NftError
from netproxy.kube import Backoff, KubeClient, KubeConfig, Reflector, load_kubeconfig
from netproxy.model import ProxyConfig
from netproxy.syncer import RuleSyncer, SyncResult
from netproxy.transaction import Transaction
from netproxy.watcher import ENDPOINT_SLICES_PATH, PROXY_LABEL_SELECTOR, SERVICES_PATH, ClusterModel

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProxySettings:
    """How the proxy runs (ProxyConfig says what it renders)."""

    node_name: str
    min_sync_period: float = 1.0
    # drift check interval; 0 turns the check off
    sync_period: float = 30.0
    nft: str = "nft"
    # run nft inside this network namespace (tests); None: the proxy's own
    netns: str | None = None


async def nft_problem(applier: NftApplier) -> str | None:
    """Why nft cannot be used here (missing, not permitted, no nf_tables in the kernel), or None."""
    try:
        await applier.run_text("list", "tables")
    except NftError as exc:
        return str(exc).splitlines()[0]
    return None


async def cleanup(config: ProxyConfig, settings: ProxySettings) -> None:
    """Remove the proxy's tables (both families) in one transaction; a missing table is no error."""
    tx = Transaction()
    for family in config.families:
        tx.add_table(family, config.table)
        tx.delete_table(family, config.table)
    await NftApplier(settings.nft, settings.netns).apply(tx)


def _client(kube: KubeClient | KubeConfig | Path | str) -> tuple[KubeClient, bool]:
    """A client, and whether we made it (and so must close it)."""
    if isinstance(kube, KubeClient):
        return kube, False
    config = kube if isinstance(kube, KubeConfig) else load_kubeconfig(kube)
    return KubeClient(config), True


async def run_proxy(
    kube: KubeClient | KubeConfig | Path | str,
    config: ProxyConfig,
    stop: asyncio.Event,
    settings: ProxySettings,
    *,
    backend: Backend | None = None,
    on_sync: Callable[[SyncResult], None] | None = None,
) -> bool:
    """Proxy Services until `stop` is set. `kube` is a client, a KubeConfig or a kubeconfig path.

    Returns False at once, after logging why, if nft is missing or not permitted (the proxy is optional:
    the caller carries on without it); True when stopped. `backend` replaces the real nft (tests)."""
    if backend is None:
        applier = NftApplier(settings.nft, settings.netns)
        problem = await nft_problem(applier)
        if problem is not None:
            log.error("service proxy disabled: nft is not usable here (%s)", problem)
            return False
        backend = applier
    client, owned = _client(kube)
    try:
        await _ProxyLoop(client, config, settings, backend, on_sync).run(stop)
    finally:
        if owned:
            await client.close()
    return True


class _ProxyLoop:
    def __init__(
        self,
        client: KubeClient,
        config: ProxyConfig,
        settings: ProxySettings,
        backend: Backend,
        on_sync: Callable[[SyncResult], None] | None,
    ) -> None:
        self.settings = settings
        self.syncer = RuleSyncer(backend, config)
        self.on_sync = on_sync
        self.dirty = asyncio.Event()
        self.model = ClusterModel(settings.node_name, self.dirty.set)
        self.reflectors = [
            Reflector(client, path, sink, label_selector=PROXY_LABEL_SELECTOR)
            for path, sink in (
                (SERVICES_PATH, self.model.services),
                (ENDPOINT_SLICES_PATH, self.model.endpoint_slices),
            )
        ]
        self._rescan = False
        self.retry = Backoff(initial=max(settings.min_sync_period, 0.5), maximum=30.0)

    async def run(self, stop: asyncio.Event) -> None:
        tasks = [asyncio.create_task(r.run(), name=f"reflector {r.path}") for r in self.reflectors]
        try:
            if await _until(stop, asyncio.gather(*(r.synced.wait() for r in self.reflectors))):
                await self._loop(stop)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _loop(self, stop: asyncio.Event) -> None:
        last_sync = -float("inf")
        next_drift_check = self._next_drift_check()
        self.dirty.set()
        while not stop.is_set():
            # checked before waiting, so a constant stream of changes cannot postpone it forever
            if next_drift_check is not None and time.monotonic() >= next_drift_check:
                await self._repair_drift()
                # the periodic check also asks for one (rate-limited) sync that re-plans from the whole
                # model without the change feed's hint, so a change the feed ever missed is installed
                self._rescan = True
                self.dirty.set()
                next_drift_check = self._next_drift_check()
            limit = None if next_drift_check is None else max(0.0, next_drift_check - time.monotonic())
            if not await _until(stop, self.dirty.wait(), limit):
                continue  # stopped, or time for the drift check
            wait = last_sync + self.settings.min_sync_period - time.monotonic()
            if wait > 0 and not await _until(stop, asyncio.sleep(wait)):
                return
            self.dirty.clear()
            last_sync = time.monotonic()
            rescan, self._rescan = self._rescan, False
            await self._sync(trust_hint=not rescan)

    def _next_drift_check(self) -> float | None:
        period = self.settings.sync_period
        return time.monotonic() + period if period > 0 else None

    async def _sync(self, trust_hint: bool = True) -> None:
        snapshot = self.model.snapshot()
        try:
            result = await self.syncer.sync(
                snapshot.services, snapshot.endpoints, snapshot.changed if trust_hint else None
            )
        except NftError:
            delay = self.retry.delay()
            log.warning("nft sync failed; retrying in %.1fs", delay)
            asyncio.get_running_loop().call_later(delay, self.dirty.set)
            return
        self.retry.reset()
        if result.transaction:
            log.info(
                "synced %d service ports: %s transaction of %d commands",
                len(snapshot.services),
                "full" if result.full else "incremental",
                len(result.transaction),
            )
        if self.on_sync is not None:
            self.on_sync(result)

    async def _repair_drift(self) -> None:
        try:
            await self.syncer.repair_drift()
        except NftError as exc:
            log.warning("drift check failed: %s", exc)


async def _until(stop: asyncio.Event, awaitable, limit: float | None = None) -> bool:
    """Await `awaitable` unless `stop` is set first or `limit` seconds pass; True if it completed."""
    work = asyncio.ensure_future(awaitable)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait({work, stopper}, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for future in (work, stopper):
            if not future.done():
                future.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await future
    if work in done:
        work.result()
        return True
    return False
