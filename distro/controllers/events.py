"""core/v1 Events for what controllers do, with upstream's naming and aggregation: a repeat of the same
event (object, reason, message, type, source) bumps its count and lastTimestamp instead of creating a
new one. Recording never blocks or fails the caller: events are best effort, as upstream's are."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import OrderedDict
from typing import Any

from distro.apiserver import status
from distro.controllers.client import Client, resource

log = logging.getLogger(__name__)

Obj = dict[str, Any]
_CACHE = 4096
_MAX_PENDING = 1000


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRecorder:
    def __init__(self, client: Client, component: str, host: str = "") -> None:
        self.client = client
        self.component = component
        self.host = host
        self._seen: OrderedDict[tuple, tuple[str, str, int]] = OrderedDict()
        self._pending: set[asyncio.Task] = set()
        self._events = resource("", "events")

    def event(self, obj: Obj, type_: str, reason: str, message: str, component: str = "") -> None:
        """Records an event about obj (Normal or Warning) in the background."""
        if len(self._pending) >= _MAX_PENDING:
            log.warning("dropping event: too many pending", extra={"reason": reason})
            return
        task = asyncio.create_task(self._record(obj, type_, reason, message, component or self.component))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _record(self, obj: Obj, type_: str, reason: str, message: str, component: str) -> None:
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        involved = {
            "kind": obj.get("kind", ""),
            "namespace": meta.get("namespace", ""),
            "name": meta.get("name", ""),
            "uid": meta.get("uid", ""),
            "apiVersion": obj.get("apiVersion", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        }
        involved = {k: v for k, v in involved.items() if v}
        key = (
            namespace,
            involved.get("kind"),
            involved.get("name"),
            involved.get("uid"),
            type_,
            reason,
            message,
            component,
        )
        now = _now()
        try:
            seen = self._seen.get(key)
            if seen is not None:
                name, first, count = seen
                try:
                    await self.client.patch(
                        self._events, namespace, name, {"count": count + 1, "lastTimestamp": now}
                    )
                    self._remember(key, (name, first, count + 1))
                    return
                except status.StatusError as exc:
                    if exc.reason != "NotFound":
                        raise
            name = f"{involved.get('name', 'event')}.{time.time_ns():x}"
            event = {
                "metadata": {"name": name, "namespace": namespace},
                "involvedObject": involved,
                "reason": reason,
                "message": message,
                "type": type_,
                "source": {"component": component, **({"host": self.host} if self.host else {})},
                "firstTimestamp": now,
                "lastTimestamp": now,
                "count": 1,
                "eventTime": None,
                "reportingComponent": component,
                "reportingInstance": self.host,
            }
            await self.client.create(self._events, namespace, event)
            self._remember(key, (name, now, 1))
        except status.StatusError as exc:
            log.info("event not recorded", extra={"reason": reason, "error": exc.message})
        except Exception:
            log.exception("event not recorded", extra={"reason": reason})

    def _remember(self, key: tuple, value: tuple[str, str, int]) -> None:
        self._seen[key] = value
        self._seen.move_to_end(key)
        while len(self._seen) > _CACHE:
            self._seen.popitem(last=False)

    async def flush(self) -> None:
        """Waits for the events recorded so far (tests and shutdown)."""
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
