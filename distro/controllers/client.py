"""The API as controllers see it: list + watch + writes with resourceVersion, nothing else.

`LocalClient` calls the API server's generic store in the same process (no HTTP, no TLS, no JSON
round trip), with the same semantics a remote client gets: reads from the watch cache, optimistic
concurrency on updates, Status errors. Controllers depend on the `Client` protocol only.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from distro.apiserver import selectors, status
from distro.apiserver.objects import DeleteOptions, Obj, Resource, WriteOptions
from distro.apiserver.registry import ResourceDef, lookup
from distro.apiserver.watchcache import Bookmark

if TYPE_CHECKING:
    from distro.apiserver.app import APIServer

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


@dataclass(frozen=True, slots=True)
class Event:
    type: str  # ADDED | MODIFIED | DELETED
    object: Obj


class Client(Protocol):
    async def get(self, rd: ResourceDef, namespace: str, name: str) -> Obj: ...

    async def list(
        self, rd: ResourceDef, namespace: str = "", *, label_selector: str = "", field_selector: str = ""
    ) -> tuple[list[Obj], int]: ...

    def watch(
        self,
        rd: ResourceDef,
        namespace: str,
        resource_version: int,
        *,
        label_selector: str = "",
        field_selector: str = "",
    ) -> AsyncIterator[Event]: ...

    async def create(self, rd: ResourceDef, namespace: str, obj: Obj) -> Obj: ...

    async def update(self, rd: ResourceDef, obj: Obj, *, subresource: str = "") -> Obj: ...

    async def patch(
        self,
        rd: ResourceDef,
        namespace: str,
        name: str,
        patch: Any,
        *,
        patch_type: str = MERGE_PATCH,
        subresource: str = "",
    ) -> Obj: ...

    async def delete(
        self,
        rd: ResourceDef,
        namespace: str,
        name: str,
        *,
        propagation: str = "",
        uid: str = "",
        grace_period: int | None = None,
        resource_version: str = "",
    ) -> Obj | None: ...

    async def bind(self, namespace: str, name: str, node: str, uid: str = "") -> None: ...


def resource(group: str, plural: str) -> ResourceDef:
    rd = lookup(group, plural)
    if rd is None:
        raise KeyError(f"{plural}.{group} is not served")
    return rd


def key_of(obj: Obj) -> str:
    """`namespace/name`, or `name` for cluster-scoped objects: the work queue key."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{ns}/{meta['name']}" if ns else meta["name"]


def split_key(key: str) -> tuple[str, str]:
    ns, _, name = key.rpartition("/")
    return ns, name


class LocalClient:
    """The in-process client of `edgek8s server`'s embedded controllers."""

    def __init__(self, api: APIServer, manager: str) -> None:
        self.api = api
        self.manager = manager

    def _res(self, rd: ResourceDef) -> Resource:
        return self.api.resources[(rd.group, rd.plural)]

    def _opts(self, subresource: str = "") -> WriteOptions:
        return WriteOptions(field_manager=self.manager, field_validation="Ignore", subresource=subresource)

    @staticmethod
    def _predicate(rd: ResourceDef, label_selector: str, field_selector: str):
        return selectors.object_predicate(rd, label_selector, field_selector)

    async def get(self, rd: ResourceDef, namespace: str, name: str) -> Obj:
        return _with_kind(rd, await self._res(rd).get(namespace, name))

    async def list(
        self, rd: ResourceDef, namespace: str = "", *, label_selector: str = "", field_selector: str = ""
    ) -> tuple[list[Obj], int]:
        """A list at resourceVersion=0 (from the watch cache). Items are shared: copy before changing."""
        result = await self._res(rd).list(
            namespace,
            resource_version="0",
            limit=0,
            continue_token="",
            predicate=self._predicate(rd, label_selector, field_selector),
        )
        return result.items, result.resource_version

    async def watch(
        self,
        rd: ResourceDef,
        namespace: str,
        resource_version: int,
        *,
        label_selector: str = "",
        field_selector: str = "",
    ) -> AsyncIterator[Event]:
        """Changes after resource_version; raises StatusError 410 when it is too old, ends when the
        server drops the watch (the caller relists or rewatches, as a reflector does)."""
        res = self._res(rd)
        hint = selectors.index_hint(rd, field_selector)
        watcher = res.cache.watch(
            namespace if rd.namespaced and namespace else None,
            resource_version,
            predicate=self._predicate(rd, label_selector, field_selector),
            key_hint=hint,
        )
        try:
            async for ev in watcher:
                if isinstance(ev, Bookmark):
                    continue
                yield Event(ev.type, ev.object)
        finally:
            await watcher.close()

    async def create(self, rd: ResourceDef, namespace: str, obj: Obj) -> Obj:
        body = {"apiVersion": rd.group_version, "kind": rd.kind, **json.loads(json.dumps(obj))}
        return _with_kind(rd, await self._res(rd).create(body, namespace, self._opts()))

    async def update(self, rd: ResourceDef, obj: Obj, *, subresource: str = "") -> Obj:
        body = {"apiVersion": rd.group_version, "kind": rd.kind, **json.loads(json.dumps(obj))}
        meta = body["metadata"]
        new, _ = await self._res(rd).update(
            body, meta.get("namespace") or "", meta["name"], self._opts(subresource)
        )
        return _with_kind(rd, new)

    async def patch(
        self,
        rd: ResourceDef,
        namespace: str,
        name: str,
        patch: Any,
        *,
        patch_type: str = MERGE_PATCH,
        subresource: str = "",
    ) -> Obj:
        raw = patch if isinstance(patch, bytes) else json.dumps(patch).encode()
        new, _ = await self._res(rd).patch(namespace, name, patch_type, raw, self._opts(subresource))
        return _with_kind(rd, new)

    async def delete(
        self,
        rd: ResourceDef,
        namespace: str,
        name: str,
        *,
        propagation: str = "",
        uid: str = "",
        grace_period: int | None = None,
        resource_version: str = "",
    ) -> Obj | None:
        """The object as marked for deletion, or None once it is gone; NotFound is an answer, not an error."""
        try:
            obj, deleted = await self._res(rd).delete(
                namespace,
                name,
                DeleteOptions(
                    grace_period=grace_period,
                    propagation=propagation,
                    uid=uid,
                    resource_version=resource_version,
                ),
            )
        except status.StatusError as exc:
            if exc.reason == "NotFound":
                return None
            raise
        return None if deleted else _with_kind(rd, obj)

    async def bind(self, namespace: str, name: str, node: str, uid: str = "") -> None:
        await self._res(resource("", "pods")).bind(namespace, name, node, uid)


def _with_kind(rd: ResourceDef, obj: Obj) -> Obj:
    obj.setdefault("kind", rd.kind)
    obj.setdefault("apiVersion", rd.group_version)
    return obj
