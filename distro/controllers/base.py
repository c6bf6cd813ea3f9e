"""What every controller shares: a work queue of keys, workers calling `sync(key)`, retries with
backoff on failure (409 conflicts included), and an event recorder."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from typing import Any

from distro.apiserver import status
from distro.controllers.client import Client
from distro.controllers.config import ControllerConfig
from distro.controllers.events import EventRecorder
from distro.controllers.informer import InformerFactory
from distro.controllers.workqueue import WorkQueue

log = logging.getLogger(__name__)


class Controller(abc.ABC):
    """Subclasses set `name`, register informer handlers in `__init__` that `enqueue` keys, and
    implement `sync(key)`: level-triggered and idempotent, it reads the informers and writes the
    difference. It may run any number of times, in any order, after any crash."""

    name = "controller"
    workers = 1

    def __init__(
        self, client: Client, informers: InformerFactory, recorder: EventRecorder, config: ControllerConfig
    ) -> None:
        self.client = client
        self.informers = informers
        self.recorder = recorder
        self.config = config
        self.queue = WorkQueue(self.name)

    def enqueue(self, key: str) -> None:
        self.queue.add(key)

    @abc.abstractmethod
    async def sync(self, key: str) -> None:
        """Brings the object named by key to its desired state."""

    async def run(self) -> None:
        await self.informers.wait_synced()
        await self.started()
        workers = [
            asyncio.create_task(self._worker(), name=f"{self.name}-worker-{i}") for i in range(self.workers)
        ]
        try:
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                w.cancel()
            for w in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await w

    async def started(self) -> None:
        """Runs once after the informers synced, before the workers start (e.g. periodic tasks)."""
        return None  # most controllers need nothing here

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            try:
                await self.sync(key)
                self.queue.forget(key)
            except asyncio.CancelledError:
                raise
            except status.StatusError as exc:
                level = logging.DEBUG if exc.code == 409 else logging.INFO
                log.log(level, "sync failed; retrying", extra=_extra(self.name, key, exc.message))
                self.queue.add_rate_limited(key)
            except Exception as exc:
                log.exception("sync crashed; retrying", extra=_extra(self.name, key, str(exc)))
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)


def _extra(controller: str, key: str, error: str) -> dict[str, Any]:
    return {"controller": controller, "key": key, "error": error}
