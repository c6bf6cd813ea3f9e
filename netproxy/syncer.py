"""Keeps the installed ruleset equal to the model: a full sync first, incremental transactions after.

The syncer remembers the state it last installed and diffs in memory; it never lists the table to sync.
A failed transaction leaves the previous ruleset in place (nft is atomic), is logged with the offending
lines by the applier, and makes the next sync a full one. `repair_drift()` is the periodic check: it lists
our tables (the only place that does) and resyncs fully if someone changed them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from netproxy.applier import Backend, NftError, check_drift
from netproxy.diff import diff, full_sync
from netproxy.model import Endpoint, ProxyConfig, ServicePort, ServicePortName
from netproxy.render import render
from netproxy.state import DesiredState
from netproxy.transaction import Transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SyncResult:
    full: bool
    transaction: Transaction


class RuleSyncer:
    def __init__(self, backend: Backend, config: ProxyConfig) -> None:
        self.backend = backend
        self.config = config
        self.installed: DesiredState | None = None
        self._needs_full = True

    async def sync(
        self, services: Iterable[ServicePort], endpoints: Mapping[ServicePortName, Sequence[Endpoint]]
    ) -> SyncResult:
        """Install the rules for this model; raises NftError (after logging) if nft refused them."""
        desired = render(self.config, services, endpoints)
        return await self._install(desired)

    async def _install(self, desired: DesiredState) -> SyncResult:
        full = self._needs_full or self.installed is None
        tx = full_sync(desired) if full or self.installed is None else diff(self.installed, desired)
        if tx:
            try:
                await self.backend.apply(tx)
            except NftError:
                self._needs_full = True
                raise
        self.installed = desired
        self._needs_full = False
        return SyncResult(full, tx)

    async def check_drift(self) -> list[str]:
        """Differences between what we installed and what is there (empty: none, or nothing installed)."""
        if self.installed is None:
            return []
        return await check_drift(self.backend, self.installed)

    async def repair_drift(self) -> list[str]:
        """The periodic check: if our tables drifted, reinstall them in one full transaction."""
        problems = await self.check_drift()
        if problems and self.installed is not None:
            log.warning("nftables drift detected, resyncing: %s", "; ".join(problems[:10]))
            self._needs_full = True
            await self._install(self.installed)
        return problems
