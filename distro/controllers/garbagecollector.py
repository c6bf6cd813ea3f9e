"""Garbage collection by ownerReferences (upstream's pkg/controller/garbagecollector).

A graph of owner uid -> dependents is kept from one shared informer per served resource. The cache
only ever tells the collector that there may be work: whether an owner is really gone is decided with
a live GET, as upstream's quorum read, before anything is deleted or changed.

- background: a dependent whose owners are all gone is deleted; one that still has a live owner only
  loses the references to the gone ones;
- foreground: an owner marked for deletion with the `foregroundDeletion` finalizer has its dependents
  deleted, and the finalizer removed once no dependent with blockOwnerDeletion remains;
- orphan: an owner marked for deletion with the `orphan` finalizer has the references to it removed from
  its dependents, then the finalizer removed.

Writes are merge patches carrying the resourceVersion they were computed from, so a concurrent change
turns into a 409 and a retry instead of being overwritten; deletes carry the dependent's uid.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from distro.apiserver import status
from distro.apiserver.registry import RESOURCES, ResourceDef, by_kind
from distro.controllers.base import Controller
from distro.controllers.client import Client
from distro.controllers.config import ControllerConfig
from distro.controllers.events import EventRecorder
from distro.controllers.informer import Handler, InformerFactory, Obj

log = logging.getLogger(__name__)

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
# upstream's default ignored resources: events are never worth a node in the graph
_IGNORED = frozenset({("", "events")})
# owners verified absent stay absent (uids are never reused); bounded like upstream's LRU
_ABSENT_CACHE_SIZE = 500


@dataclass(frozen=True, slots=True)
class _Ref:
    """An ownerReference's coordinates, as the graph needs them."""

    group: str
    kind: str
    name: str
    uid: str
    block: bool


@dataclass(frozen=True, slots=True)
class _Node:
    rd: ResourceDef
    namespace: str
    name: str
    uid: str
    owners: tuple[_Ref, ...]
    being_deleted: bool
    finalizers: frozenset[str]

    @property
    def deleting_dependents(self) -> bool:
        return self.being_deleted and FOREGROUND in self.finalizers

    @property
    def orphaning(self) -> bool:
        return self.being_deleted and ORPHAN in self.finalizers


class _Unresolvable(Exception):
    """An owner reference that cannot be checked: a kind that is not served, or a namespaced owner of a
    cluster-scoped object. Upstream leaves such objects alone rather than guess."""


def _group_of(api_version: str) -> str:
    group, _, _ = api_version.rpartition("/")
    return group


def _refs_of(obj: Obj) -> tuple[_Ref, ...]:
    return tuple(
        _Ref(
            _group_of(r.get("apiVersion") or ""),
            r.get("kind") or "",
            r.get("name") or "",
            r.get("uid") or "",
            r.get("blockOwnerDeletion") is True,
        )
        for r in (obj.get("metadata") or {}).get("ownerReferences") or []
    )


def _node_of(rd: ResourceDef, obj: Obj) -> _Node:
    meta = obj["metadata"]
    return _Node(
        rd,
        meta.get("namespace") or "",
        meta["name"],
        meta.get("uid") or "",
        _refs_of(obj),
        bool(meta.get("deletionTimestamp")),
        frozenset(meta.get("finalizers") or ()),
    )


def _owner_location(ref: _Ref, dependent_namespace: str) -> tuple[ResourceDef, str]:
    """Where the owner must live: in the dependent's namespace, or cluster-scoped."""
    rd = by_kind(ref.group, ref.kind)
    if rd is None or (ref.group, rd.plural) in _IGNORED:
        raise _Unresolvable(f"{ref.kind}.{ref.group} is not served")
    if not rd.namespaced:
        return rd, ""
    if not dependent_namespace:
        raise _Unresolvable(f"cluster-scoped object refers to namespaced owner {ref.kind} {ref.name}")
    return rd, dependent_namespace


def _matches(owner: _Node, ref: _Ref, dependent_namespace: str) -> bool:
    expected_ns = dependent_namespace if owner.rd.namespaced else ""
    return (
        owner.rd.group == ref.group
        and owner.rd.kind == ref.kind
        and owner.name == ref.name
        and owner.namespace == expected_ns
    )


def _policy_of(obj: Obj) -> str:
    """The propagation a dependent is deleted with: the one its own finalizers already ask for."""
    finalizers = obj["metadata"].get("finalizers") or []
    if ORPHAN in finalizers:
        return "Orphan"
    if FOREGROUND in finalizers:
        return "Foreground"
    return "Background"


def _marked_with(obj: Obj, finalizer: str) -> bool:
    """Marked for deletion and held by finalizer."""
    meta = obj["metadata"]
    return bool(meta.get("deletionTimestamp")) and finalizer in (meta.get("finalizers") or [])


def _unblocked(refs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "blockOwnerDeletion": False} if r.get("blockOwnerDeletion") else r for r in refs]


def _identity(ref: dict[str, Any], namespace: str) -> str:
    """Upstream's objectReference.String()."""
    return (
        f"[{ref.get('apiVersion', '')}/{ref.get('kind', '')}, namespace: {namespace}, "
        f"name: {ref.get('name', '')}, uid: {ref.get('uid', '')}]"
    )


class _Graph:
    """Nodes by uid and, by owner uid, the uids of the nodes that reference it (owner present or not)."""

    def __init__(self) -> None:
        self._nodes: dict[str, _Node] = {}
        self._dependents: dict[str, set[str]] = {}

    def get(self, uid: str) -> _Node | None:
        return self._nodes.get(uid)

    def put(self, node: _Node) -> _Node | None:
        """Stores node; returns the version it replaced."""
        previous = self._nodes.get(node.uid)
        if previous is not None:
            self._unlink(previous)
        self._nodes[node.uid] = node
        for ref in node.owners:
            self._dependents.setdefault(ref.uid, set()).add(node.uid)
        return previous

    def remove(self, uid: str) -> _Node | None:
        node = self._nodes.pop(uid, None)
        if node is not None:
            self._unlink(node)
        return node

    def _unlink(self, node: _Node) -> None:
        for ref in node.owners:
            deps = self._dependents.get(ref.uid)
            if deps is not None:
                deps.discard(node.uid)
                if not deps:
                    del self._dependents[ref.uid]

    def dependents(self, uid: str) -> list[_Node]:
        return [self._nodes[d] for d in self._dependents.get(uid, ()) if d in self._nodes]

    def blocking_dependents(self, uid: str) -> list[_Node]:
        return [d for d in self.dependents(uid) if any(r.uid == uid and r.block for r in d.owners)]


class GarbageCollector(Controller):
    """Work queue keys are uids: of dependents whose owners may be gone or waiting for them, and of
    owners being deleted in the foreground or orphaning their dependents."""

    name = "garbagecollector"
    component = "garbage-collector-controller"
    workers = 4

    def __init__(
        self, client: Client, informers: InformerFactory, recorder: EventRecorder, config: ControllerConfig
    ) -> None:
        super().__init__(client, informers, recorder, config)
        self._graph = _Graph()
        self._absent: OrderedDict[tuple[str, str, str, str, str], None] = OrderedDict()
        for rd in RESOURCES:
            if (rd.group, rd.plural) in _IGNORED or "list" not in rd.verbs or "delete" not in rd.verbs:
                continue
            informers.informer(rd).add_handler(self._observer(rd))

    # -- the graph, from informer events --

    def _observer(self, rd: ResourceDef) -> Handler:
        def observe(old: Obj | None, new: Obj | None) -> None:
            old_uid = (old or {}).get("metadata", {}).get("uid")
            if old_uid and (new is None or new["metadata"].get("uid") != old_uid):
                self._forget(old_uid)
            if new is not None and new["metadata"].get("uid"):
                self._remember(_node_of(rd, new))

        return observe

    def _forget(self, uid: str) -> None:
        node = self._graph.remove(uid)
        if node is None:
            return
        for dependent in self._graph.dependents(uid):
            self.enqueue(dependent.uid)
        self._enqueue_waiting_owners(ref.uid for ref in node.owners)

    def _remember(self, node: _Node) -> None:
        previous = self._graph.put(node)
        if (node.orphaning or node.deleting_dependents) and (
            previous is None or (previous.being_deleted, previous.finalizers) != (True, node.finalizers)
        ):
            # on every finalizer change, not just the first: one of two GC finalizers may remain
            self.enqueue(node.uid)
        if node.deleting_dependents and not (previous and previous.deleting_dependents):
            for dependent in self._graph.dependents(node.uid):
                self.enqueue(dependent.uid)
        if previous is None or previous.owners != node.owners:
            # a reference removed or no longer blocking may be what a foreground owner waits for
            before = previous.owners if previous is not None else ()
            self._enqueue_waiting_owners(ref.uid for ref in (*before, *node.owners))
            if node.owners and not self._owned_in_cache(node):
                self.enqueue(node.uid)

    def _enqueue_waiting_owners(self, uids: Iterable[str]) -> None:
        for uid in set(uids):
            owner = self._graph.get(uid)
            if owner is not None and owner.deleting_dependents:
                self.enqueue(uid)

    def _owned_in_cache(self, node: _Node) -> bool:
        """Every owner is in the cache where the reference says and not waiting for its dependents:
        nothing to do. Anything else is only a reason to look, with live reads."""
        for ref in node.owners:
            owner = self._graph.get(ref.uid)
            if owner is None or owner.deleting_dependents or not _matches(owner, ref, node.namespace):
                return False
        return True

    # -- processing --

    async def sync(self, key: str) -> None:
        node = self._graph.get(key)
        if node is None:
            return
        if node.orphaning:
            await self._orphan_dependents(node)
        elif node.deleting_dependents:
            await self._delete_dependents(node)
        elif not node.being_deleted and node.owners and not self._owned_in_cache(node):
            await self._attempt_to_delete(node)

    async def _live(self, node: _Node) -> Obj | None:
        """The object as stored now, or None when it is gone or was replaced by another of that name."""
        try:
            obj = await self.client.get(node.rd, node.namespace, node.name)
        except status.StatusError as exc:
            if exc.code == 404:
                return None
            raise
        return obj if obj["metadata"].get("uid") == node.uid else None

    async def _attempt_to_delete(self, node: _Node) -> None:
        latest = await self._live(node)
        if latest is None:
            return
        refs: list[dict[str, Any]] = latest["metadata"].get("ownerReferences") or []
        if not refs:
            return
        try:
            solid, gone, waiting = await self._classify(node, latest, refs)
        except _Unresolvable as exc:
            log.info("owner references not checkable; left alone", extra={"key": node.uid, "error": str(exc)})
            return
        if solid:
            drop = {r.get("uid") for r in gone + waiting}
            if drop:
                await self._set_owner_refs(node, latest, [r for r in refs if r.get("uid") not in drop])
            return
        dependents = self._graph.dependents(node.uid)
        if waiting and dependents:
            if any(d.deleting_dependents for d in dependents):
                # an owner and a dependent both waiting on each other would wait forever
                await self._set_owner_refs(node, latest, _unblocked(refs))
            await self._delete(node, "Foreground")
            return
        await self._delete(node, _policy_of(latest))

    async def _classify(
        self, node: _Node, latest: Obj, refs: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """(solid, gone, waiting for dependents' deletion) references, each owner checked live."""
        solid: list[dict[str, Any]] = []
        gone: list[dict[str, Any]] = []
        waiting: list[dict[str, Any]] = []
        for raw, ref in zip(refs, _refs_of(latest), strict=True):
            owner = await self._live_owner(node, ref)
            if owner is None:
                gone.append(raw)
                self._report_wrong_namespace(latest, raw, ref)
                continue
            if _marked_with(owner, FOREGROUND):
                waiting.append(raw)
            else:
                solid.append(raw)
        return solid, gone, waiting

    async def _live_owner(self, node: _Node, ref: _Ref) -> Obj | None:
        rd, namespace = _owner_location(ref, node.namespace)
        absent_key = (rd.group, rd.kind, namespace, ref.name, ref.uid)
        if absent_key in self._absent:
            return None
        try:
            owner = await self.client.get(rd, namespace, ref.name)
        except status.StatusError as exc:
            if exc.code != 404:
                raise
            owner = None
        if owner is None or owner["metadata"].get("uid") != ref.uid:
            self._absent[absent_key] = None
            while len(self._absent) > _ABSENT_CACHE_SIZE:
                self._absent.popitem(last=False)
            return None
        return owner

    def _report_wrong_namespace(self, dependent: Obj, raw: dict[str, Any], ref: _Ref) -> None:
        owner = self._graph.get(ref.uid)
        namespace = dependent["metadata"].get("namespace") or ""
        if owner is not None and owner.namespace and owner.namespace != namespace:
            self.recorder.event(
                dependent,
                "Warning",
                "OwnerRefInvalidNamespace",
                f'ownerRef {_identity(raw, namespace)} does not exist in namespace "{namespace}"',
            )

    async def _delete_dependents(self, owner: _Node) -> None:
        latest = await self._live(owner)
        if latest is None or not _marked_with(latest, FOREGROUND):
            return
        blocking = self._graph.blocking_dependents(owner.uid)
        if not blocking:
            await self._remove_finalizer(owner, latest, FOREGROUND)
            return
        for dependent in blocking:
            if not dependent.deleting_dependents:
                self.enqueue(dependent.uid)

    async def _orphan_dependents(self, owner: _Node) -> None:
        latest = await self._live(owner)
        if latest is None or not _marked_with(latest, ORPHAN):
            return
        for dependent in self._graph.dependents(owner.uid):
            current = await self._live(dependent)
            if current is None:
                continue
            refs = current["metadata"].get("ownerReferences") or []
            kept = [r for r in refs if r.get("uid") != owner.uid]
            if len(kept) != len(refs):
                await self._set_owner_refs(dependent, current, kept)
        await self._remove_finalizer(owner, latest, ORPHAN)

    # -- writes --

    async def _set_owner_refs(self, node: _Node, latest: Obj, refs: list[dict[str, Any]]) -> None:
        await self._patch(
            node,
            {
                "metadata": {
                    "resourceVersion": latest["metadata"]["resourceVersion"],
                    "ownerReferences": refs or None,
                }
            },
        )

    async def _remove_finalizer(self, node: _Node, latest: Obj, finalizer: str) -> None:
        meta = latest["metadata"]
        kept = [f for f in meta.get("finalizers") or [] if f != finalizer]
        patch = {"metadata": {"resourceVersion": meta["resourceVersion"], "finalizers": kept or None}}
        await self._patch(node, patch)

    async def _patch(self, node: _Node, patch: dict[str, Any]) -> None:
        try:
            await self.client.patch(node.rd, node.namespace, node.name, patch)
        except status.StatusError as exc:
            if exc.code != 404:
                raise

    async def _delete(self, node: _Node, propagation: str) -> None:
        log.info(
            "deleting dependent",
            extra={"kind": node.rd.kind, "key": f"{node.namespace}/{node.name}", "propagation": propagation},
        )
        await self.client.delete(node.rd, node.namespace, node.name, propagation=propagation, uid=node.uid)
