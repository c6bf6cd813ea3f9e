"""Shared informers: one list + watch per resource into a local cache, fanned out to handlers.

Like client-go's reflector: list at resourceVersion 0, watch from the list's revision, rewatch from the
last seen revision when a watch ends, relist (and synthesise the differences as events) on 410.
Handlers get (old, new) with None for "absent"; they must not block and must not mutate objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from distro.apiserver import status
from distro.apiserver.registry import ResourceDef
from distro.controllers.client import Client, key_of

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Handler = Callable[[Obj | None, Obj | None], None]
_BACKOFF_MAX = 5.0


class Informer:
    def __init__(
        self,
        client: Client,
        rd: ResourceDef,
        *,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
    ) -> None:
        self.client = client
        self.rd = rd
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self._objects: dict[str, Obj] = {}
        self._handlers: list[Handler] = []
        self._indexes: dict[str, tuple[Callable[[Obj], list[str]], dict[str, set[str]]]] = {}
        self.synced = asyncio.Event()
        self.revision = 0

    # -- reading the cache --

    def get(self, namespace: str, name: str) -> Obj | None:
        return self._objects.get(f"{namespace}/{name}" if namespace else name)

    def get_key(self, key: str) -> Obj | None:
        return self._objects.get(key)

    def list(self, namespace: str | None = None) -> list[Obj]:
        if namespace is None:
            return list(self._objects.values())
        return [o for o in self._objects.values() if (o.get("metadata") or {}).get("namespace") == namespace]

    def __len__(self) -> int:
        return len(self._objects)

    def add_index(self, name: str, index_fn: Callable[[Obj], list[str]]) -> None:
        """Index objects by index_fn's values (e.g. pods by node name); query with by_index."""
        table: dict[str, set[str]] = {}
        for key, obj in self._objects.items():
            for value in index_fn(obj):
                table.setdefault(value, set()).add(key)
        self._indexes[name] = (index_fn, table)

    def by_index(self, name: str, value: str) -> list[Obj]:
        _, table = self._indexes[name]
        return [self._objects[k] for k in table.get(value, ()) if k in self._objects]

    def add_handler(self, handler: Handler) -> None:
        """handler(old, new): add is (None, new), delete is (old, None). Existing objects are replayed."""
        self._handlers.append(handler)
        for obj in list(self._objects.values()):
            handler(None, obj)

    # -- keeping it current --

    async def run(self) -> None:
        backoff = 0.05
        while True:
            try:
                await self._list()
                backoff = 0.05
                while True:
                    await self._watch()
            except asyncio.CancelledError:
                raise
            except status.StatusError as exc:
                if exc.code != 410:
                    log.info("informer relists", extra={"resource": self.rd.plural, "error": exc.message})
            except Exception:
                log.exception("informer failed; relisting", extra={"resource": self.rd.plural})
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _BACKOFF_MAX)

    async def _list(self) -> None:
        items, revision = await self.client.list(
            self.rd, self.namespace, label_selector=self.label_selector, field_selector=self.field_selector
        )
        fresh = {key_of(o): o for o in items}
        for key, old in list(self._objects.items()):
            if key not in fresh:
                self._apply(key, old, None)
        for key, obj in fresh.items():
            old = self._objects.get(key)
            if old is None or (old.get("metadata") or {}).get("resourceVersion") != obj["metadata"].get(
                "resourceVersion"
            ):
                self._apply(key, old, obj)
        self.revision = revision
        self.synced.set()

    async def _watch(self) -> None:
        async for ev in self.client.watch(
            self.rd,
            self.namespace,
            self.revision,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
        ):
            obj = ev.object
            key = key_of(obj)
            old = self._objects.get(key)
            self._apply(key, old, None if ev.type == "DELETED" else obj)
            with contextlib.suppress(ValueError, KeyError, TypeError):
                self.revision = int(obj["metadata"]["resourceVersion"])

    def _apply(self, key: str, old: Obj | None, new: Obj | None) -> None:
        if new is None:
            self._objects.pop(key, None)
        else:
            self._objects[key] = new
        for index_fn, table in self._indexes.values():
            if old is not None:
                for value in index_fn(old):
                    table.get(value, set()).discard(key)
            if new is not None:
                for value in index_fn(new):
                    table.setdefault(value, set()).add(key)
        for handler in self._handlers:
            try:
                handler(old, new)
            except Exception:
                log.exception("informer handler failed", extra={"resource": self.rd.plural})


class InformerFactory:
    """One informer per resource, shared by every controller that watches it."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._informers: dict[tuple[str, str], Informer] = {}
        self._tasks: list[asyncio.Task] = []

    def informer(self, rd: ResourceDef) -> Informer:
        key = (rd.group, rd.plural)
        if key not in self._informers:
            self._informers[key] = Informer(self.client, rd)
        return self._informers[key]

    def start(self) -> None:
        for (group, plural), inf in self._informers.items():
            if not any(t.get_name() == f"informer:{plural}.{group}" for t in self._tasks):
                self._tasks.append(asyncio.create_task(inf.run(), name=f"informer:{plural}.{group}"))

    async def wait_synced(self) -> None:
        await asyncio.gather(*(inf.synced.wait() for inf in self._informers.values()))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks.clear()
