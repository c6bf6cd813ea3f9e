"""Namespace lifecycle: a namespace marked for deletion has its contents deleted, then its `kubernetes`
finalizer removed, after which the API server deletes it (upstream's namespace controller)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from distro.apiserver import status
from distro.apiserver.objects import DeleteOptions, WriteOptions

if TYPE_CHECKING:
    from distro.apiserver.app import APIServer

log = logging.getLogger(__name__)
FINALIZER = "kubernetes"
RESYNC_SECONDS = 2.0


class NamespaceController:
    def __init__(self, api: APIServer) -> None:
        self.api = api
        self.namespaces = api.resource("", "namespaces")

    async def run(self) -> None:
        wake = asyncio.Event()
        watcher_task = asyncio.create_task(self._watch(wake))
        try:
            while True:
                for ns in self.namespaces.cache.snapshot(None)[0]:
                    if ns["metadata"].get("deletionTimestamp"):
                        try:
                            await self.sync(ns["metadata"]["name"])
                        except status.StatusError as exc:
                            log.info(
                                "namespace cleanup will retry",
                                extra={"namespace": ns["metadata"]["name"], "error": exc.message},
                            )
                wake.clear()
                try:
                    async with asyncio.timeout(RESYNC_SECONDS):
                        await wake.wait()
                except TimeoutError:
                    pass
        finally:
            watcher_task.cancel()

    async def _watch(self, wake: asyncio.Event) -> None:
        while True:
            watcher = self.namespaces.cache.watch(None, self.namespaces.cache.revision)
            try:
                async for _ in watcher:
                    wake.set()
            except status.StatusError:
                pass
            finally:
                await watcher.close()
            await asyncio.sleep(0.5)

    async def sync(self, name: str) -> None:
        """Deletes what is left in the namespace; finalizes it once nothing is."""
        ns = self.namespaces.cache.get(None, name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        if FINALIZER not in ((ns.get("spec") or {}).get("finalizers") or []):
            return
        remaining = 0
        for res in self.api.resources.values():
            if not res.rd.namespaced:
                continue
            items, _ = res.cache.snapshot(name)
            for obj in items:
                remaining += 1
                if obj["metadata"].get("deletionTimestamp"):
                    continue
                try:
                    await res.delete(name, obj["metadata"]["name"], DeleteOptions(propagation="Background"))
                except status.StatusError as exc:
                    if exc.reason != "NotFound":
                        raise
        if remaining:
            return
        finalizers = [f for f in ns["spec"]["finalizers"] if f != FINALIZER]
        body = {**ns, "spec": {**ns["spec"], "finalizers": finalizers}}
        await self.namespaces.update(body, "", name, WriteOptions(subresource="finalize"))
