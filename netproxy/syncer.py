"""Keeps the installed ruleset equal to the model: a full sync first, incremental transactions after.

The syncer renders through a RenderCache: a sync re-renders only the service ports whose ServicePort or
endpoints changed since the last installed model and builds the transaction from what those write, so a
one-service change costs Python work proportional to that service. Which ports changed comes from the
caller's change feed (`changed`, the keys ClusterModel saw change) or, without one, from one pass over the
whole model (identity and equality checks). It never lists the table to sync. A failed transaction leaves the
previous ruleset in place (nft is atomic), is logged with the offending lines by the applier, and makes the
next sync a full one. `repair_drift()` is the periodic check: it lists our tables (the only place that does)
and resyncs fully if someone changed them.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from netproxy.applier import Backend, NftError, check_drift
from netproxy.diff import full_sync
from netproxy.model import Endpoint, ProxyConfig, ServicePort, ServicePortName
from netproxy.render import RenderCache
from netproxy.state import DesiredState
from netproxy.transaction import Transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SyncResult:
    full: bool
    transaction: Transaction
    # service ports rendered for this sync; the others' rules came from the cache
    rendered: int = 0


class RuleSyncer:
    def __init__(self, backend: Backend, config: ProxyConfig) -> None:
        self.backend = backend
        self.config = config
        self._cache = RenderCache(config)
        self._synced = False
        self._needs_full = True
        # the cache does not hold the model of the last sync call, so the caller's hint cannot be used
        self._hint_gap = False

    @property
    def installed(self) -> DesiredState | None:
        """The state the last successful sync installed; None before the first."""
        return self._cache.state() if self._synced else None

    async def sync(
        self,
        services: Iterable[ServicePort],
        endpoints: Mapping[ServicePortName, Sequence[Endpoint]],
        changed: Collection[ServicePortName] | None = None,
    ) -> SyncResult:
        """Install the rules for this model; raises NftError (after logging) if nft refused them.

        `changed`: the keys whose service ports or endpoints may differ from the model of the last sync call
        (ClusterModel's change feed); only those are compared. None compares the whole model. The hint is
        ignored when this sync must be full (the first, and the one after a failure): the cache then still
        holds the model of an older call, which the hint does not describe."""
        full = self._needs_full or not self._synced
        plan = self._cache.plan(services, endpoints, None if full or self._hint_gap else changed)
        tx = full_sync(plan.state()) if full else plan.transaction()
        # until the commit, the cache lags behind the model of this call (also if the call is cancelled)
        self._hint_gap = True
        await self._apply(tx)
        self._cache.commit(plan)
        self._hint_gap = False
        self._synced = True
        self._needs_full = False
        return SyncResult(full, tx, plan.rendered)

    async def _apply(self, tx: Transaction) -> None:
        if not tx:
            return
        try:
            await self.backend.apply(tx)
        except NftError:
            self._needs_full = True
            raise

    async def check_drift(self) -> list[str]:
        """Differences between what we installed and what is there (empty: none, or nothing installed)."""
        installed = self.installed
        if installed is None:
            return []
        return await check_drift(self.backend, installed)

    async def repair_drift(self) -> list[str]:
        """The periodic check: if our tables drifted, reinstall them in one full transaction."""
        problems = await self.check_drift()
        installed = self.installed
        if problems and installed is not None:
            log.warning("nftables drift detected, resyncing: %s", "; ".join(problems[:10]))
            self._needs_full = True
            await self._apply(full_sync(installed))
            self._needs_full = False
        return problems
