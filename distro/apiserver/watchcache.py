"""One resource served from memory: upstream's cacher over a single datastore watch.

The cache lists the resource once, then follows ONE datastore watch over its prefix. Lists at
resourceVersion=0 read the in-memory state, and every API watch (with any selector) is fed from the
cache's event history, so hundreds of watchers cost one datastore watch. Objects handed out are shared
between the cache and all readers: treat them as read-only.

Freshness comes from the datastore watch's progress notifications: `wait_fresh` asks for one while it
waits, so an idle resource still catches up with writes to other keys (this needs an etcd that orders
progress notifications after pending events: 3.4.25+/3.5.8+, and our embedded store).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from distro.apiserver import status
from distro.apiserver.storage import ObjectStore, _too_large, decode_shared
from kine_shim.client import Watch
from kine_shim.etcdpb import kv_pb2
from kine_shim.etcdpb import rpc_pb2 as pb
from kine_shim.keys import prefix_end

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"
# how often a waiting wait_fresh asks the datastore for a progress notification (upstream: 100ms)
_PROGRESS_POLL = 0.1
_LIST_PAGE = 5000
_MIN_BACKOFF, _MAX_BACKOFF = 0.05, 5.0
_NAMESPACE_FIELD = "metadata.namespace"


@dataclass(frozen=True, slots=True)
class CacheEvent:
    type: str  # ADDED | MODIFIED | DELETED
    object: Obj  # for DELETED: the last state, with resourceVersion = the deletion revision
    prev: Obj | None  # the state before this event; None for ADDED
    revision: int


@dataclass(frozen=True, slots=True)
class Bookmark:
    revision: int


class _Compacted(Exception):
    """The datastore no longer has the revisions the cache needs: relist."""


def _with_resource_version(obj: Obj, revision: int) -> Obj:
    return {**obj, "metadata": {**obj.get("metadata", {}), "resourceVersion": str(revision)}}


def _field_value(obj: Obj | None, path: str) -> str:
    """A field as field selectors see it: dotted path, missing = ""."""
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict):
            return ""
        value = value.get(part)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _as_seen_by(ev: CacheEvent, matches: Predicate | None) -> CacheEvent | None:
    """The event a watcher with this filter sees: objects entering or leaving it are ADDED or DELETED."""
    if matches is None:
        return ev
    now = ev.type != DELETED and matches(ev.object)
    before = ev.prev is not None and matches(ev.prev)
    if now and before:
        return ev if ev.type == MODIFIED else CacheEvent(MODIFIED, ev.object, ev.prev, ev.revision)
    if now:
        return ev if ev.type == ADDED else CacheEvent(ADDED, ev.object, ev.prev, ev.revision)
    if before:
        if ev.type == DELETED:
            return ev
        # upstream: the previous content, at the revision where it stopped matching
        return CacheEvent(DELETED, _with_resource_version(ev.prev, ev.revision), ev.prev, ev.revision)
    return None


class CacheWatcher:
    """One API watch: an async iterator of CacheEvent (and Bookmark, if asked for).

    It ends when closed, when the cache stops or relists, or when its consumer falls more than
    queue_size events behind (the client then re-watches, as with upstream's slow watchers)."""

    def __init__(
        self,
        cache: WatchCache,
        namespace: str | None,
        predicate: Predicate | None,
        index_key: tuple[str, str] | None,
        queue_size: int,
        position: int,
        backlog: Iterable[CacheEvent],
        bookmarks: bool,
    ) -> None:
        self._cache = cache
        self._namespace = namespace
        self._predicate = predicate
        self._index_key = index_key
        self._queue_size = queue_size
        # events up to here are in the backlog (or before the requested resourceVersion)
        self._start = position
        # every event up to this revision has been queued or was not for us: bookmarks go beyond it
        self._position = position
        # initial state / replayed history: not bounded by queue_size, as it only references the cache
        self._backlog: deque[CacheEvent] = deque(backlog)
        self._queue: deque[CacheEvent | Bookmark] = deque()
        self._wants_bookmarks = bookmarks
        self._wake = asyncio.Event()
        self._ended = False

    def __aiter__(self) -> CacheWatcher:
        return self

    async def __anext__(self) -> CacheEvent | Bookmark:
        while True:
            while self._backlog:
                seen = self._filter(self._backlog.popleft())
                if seen is not None:
                    return seen
            if self._queue:
                return self._queue.popleft()
            if self._ended:
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()

    async def close(self) -> None:
        self._cache._forget(self)
        self._end()

    @property
    def ended(self) -> bool:
        return self._ended

    # -- called by the cache --

    def _filter(self, ev: CacheEvent) -> CacheEvent | None:
        if self._namespace is not None and _field_value(ev.object, _NAMESPACE_FIELD) != self._namespace:
            return None
        return _as_seen_by(ev, self._predicate)

    def _offer(self, ev: CacheEvent) -> bool:
        """Queues the event if it is for us; False if the consumer is too far behind to take it."""
        if self._ended or ev.revision <= self._start:
            return True
        self._position = ev.revision
        seen = self._filter(ev)
        if seen is None:
            return True
        if len(self._queue) >= self._queue_size:
            return False
        self._queue.append(seen)
        self._wake.set()
        return True

    def _offer_bookmark(self, revision: int) -> None:
        # a bookmark is only a hint: never worth ending a watch for, so skip it when the queue is full
        if not self._wants_bookmarks or self._ended or revision <= self._position:
            return
        if len(self._queue) < self._queue_size:
            self._position = revision
            self._queue.append(Bookmark(revision))
            self._wake.set()

    def _end(self) -> None:
        self._ended = True
        self._backlog.clear()
        self._queue.clear()
        self._wake.set()


class WatchCache:
    """The objects of one resource and their recent history, kept current by one datastore watch."""

    def __init__(self, store: ObjectStore, *, history: int = 10_000, bookmark_interval: float = 60.0) -> None:
        if history < 1:
            raise ValueError("history must keep at least one event")
        self._store = store
        self._bookmark_interval = bookmark_interval
        self._objects: dict[bytes, Obj] = {}
        self._sorted_keys: list[bytes] | None = None
        self._history: deque[CacheEvent] = deque(maxlen=history)
        self._list_revision = 0
        self._loaded = False
        self._evicted_since_list = False
        self._last_evicted_revision = 0
        self._revision = 0
        self._changes = 0
        self._advanced = asyncio.Event()
        self._watch: Watch | None = None
        self._tasks: list[asyncio.Task] = []
        self._closing: set[asyncio.Future] = set()
        self._started = False
        self._fresh_waiters = 0
        self._progress_wanted = asyncio.Event()
        self._watchers: set[CacheWatcher] = set()
        self._unindexed: set[CacheWatcher] = set()
        self._indexed: dict[str, dict[str, set[CacheWatcher]]] = {}

    # -- lifecycle --

    async def start(self) -> None:
        """Lists the resource and opens the datastore watch; returns once the list is loaded."""
        await self._load()
        self._started = True
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._follow(), name=f"watchcache {self._store.resource}"),
            loop.create_task(self._request_progress_while_waited_on()),
            loop.create_task(self._send_bookmarks()),
        ]

    async def stop(self) -> None:
        """Stops following the datastore and ends every watcher."""
        self._started = False
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close_watch()
        self._end_all_watchers()

    # -- reads --

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def changes(self) -> int:
        """Counts changes to the cached objects (revision also moves with other resources' writes):
        lets a reader rebuild something derived from this resource only when the resource changed."""
        return self._changes

    # the timeout is part of the answer (a 504 naming both revisions), not a caller's cancellation
    async def wait_fresh(self, revision: int, timeout: float = 3.0) -> None:  # noqa: ASYNC109
        """Waits until the cache reflects `revision`; 504 Too large resource version after timeout."""
        if self._revision >= revision:
            return
        self._fresh_waiters += 1
        self._progress_wanted.set()
        try:
            async with asyncio.timeout(timeout):
                while self._revision < revision:
                    await self._advanced.wait()
        except TimeoutError:
            raise _too_large(revision, self._revision) from None
        finally:
            self._fresh_waiters -= 1

    def snapshot(self, namespace: str | None = None) -> tuple[list[Obj], int]:
        """The objects (in key order, like a datastore list) and the revision they are current at."""
        prefix = self._store.prefix(namespace)
        keys = self._keys()
        lo, hi = bisect_left(keys, prefix), bisect_left(keys, prefix_end(prefix))
        return [self._objects[k] for k in keys[lo:hi]], self._revision

    def get(self, namespace: str | None, name: str) -> Obj | None:
        return self._objects.get(self._store.key(namespace, name))

    def watch(
        self,
        namespace: str | None,
        resource_version: int,
        *,
        predicate: Predicate | None = None,
        key_hint: tuple[str, str] | None = None,
        queue_size: int = 1000,
        bookmarks: bool = False,
    ) -> CacheWatcher:
        """Events after resource_version (0: the current objects as ADDED, then changes).

        key_hint=(field, value) promises the predicate only matches objects whose field has that value,
        so events are dispatched to this watcher only when the object (or its previous state) has it.
        A resource_version beyond the cache's is waited for by the caller (wait_fresh) first, as upstream.
        """
        if not self._started:
            raise RuntimeError("the watch cache is not started")
        namespace = namespace if self._store.namespaced and namespace else None
        if resource_version == 0:
            backlog = self._current_as_added(namespace)
        else:
            backlog = self._history_after(resource_version)
        if key_hint is None and namespace is not None:
            key_hint = (_NAMESPACE_FIELD, namespace)
        watcher = CacheWatcher(
            self,
            namespace,
            predicate,
            key_hint,
            queue_size,
            max(resource_version, self._revision),
            backlog,
            bookmarks,
        )
        self._watchers.add(watcher)
        if key_hint is None:
            self._unindexed.add(watcher)
        else:
            self._indexed.setdefault(key_hint[0], {}).setdefault(key_hint[1], set()).add(watcher)
        return watcher

    # -- watchers --

    def _current_as_added(self, namespace: str | None) -> list[CacheEvent]:
        objects, revision = self.snapshot(namespace)
        return [CacheEvent(ADDED, obj, None, revision) for obj in objects]

    def _resumable_from(self) -> int:
        """The oldest resourceVersion a watch can start from (upstream's `oldest - 1`)."""
        if not self._evicted_since_list:
            return self._list_revision
        first = self._history[0].revision
        # an evicted event may share its revision with the first kept one (a multi-key txn)
        return first if first == self._last_evicted_revision else first - 1

    def _history_after(self, resource_version: int) -> list[CacheEvent]:
        oldest = self._resumable_from()
        if resource_version < oldest:
            raise status.expired(f"too old resource version: {resource_version} ({oldest})")
        history = self._history
        lo, hi = 0, len(history)
        while lo < hi:  # deque has no bisect: find the first event after resource_version
            mid = (lo + hi) // 2
            if history[mid].revision <= resource_version:
                lo = mid + 1
            else:
                hi = mid
        return [history[i] for i in range(lo, len(history))]

    def _forget(self, watcher: CacheWatcher) -> None:
        self._watchers.discard(watcher)
        if watcher._index_key is None:
            self._unindexed.discard(watcher)
            return
        field, value = watcher._index_key
        by_value = self._indexed.get(field, {})
        bucket = by_value.get(value)
        if bucket is not None:
            bucket.discard(watcher)
            if not bucket:
                del by_value[value]
            if not by_value:
                self._indexed.pop(field, None)

    def _end_all_watchers(self) -> None:
        for watcher in list(self._watchers):
            self._forget(watcher)
            watcher._end()

    def _interested(self, ev: CacheEvent) -> set[CacheWatcher]:
        found = set(self._unindexed)
        for field, by_value in self._indexed.items():
            for obj in (ev.object, ev.prev):
                bucket = by_value.get(_field_value(obj, field)) if obj is not None else None
                if bucket:
                    found |= bucket
        return found

    def _dispatch(self, ev: CacheEvent) -> None:
        for watcher in self._interested(ev):
            if not watcher._offer(ev):
                log.info("a watch of %s fell too far behind: closing it", self._store.resource)
                self._forget(watcher)
                watcher._end()

    # -- following the datastore --

    async def _load(self) -> None:
        """Lists at one revision, replaces the cache with it, and watches from there."""
        objects, revision = await self._list()
        await self._close_watch()
        # watch first, so the cache only claims the new revision once it is following again
        watch = await self._open_watch(revision + 1)
        self._replace(objects, revision)
        self._watch = watch

    async def _list(self) -> tuple[dict[bytes, Obj], int]:
        objects: dict[bytes, Obj] = {}
        token, revision = "", 0
        while True:
            page = await self._store.list(limit=_LIST_PAGE, continue_token=token, shared=True)
            revision = revision or page.resource_version
            for obj in page.items:
                meta = obj["metadata"]
                objects[self._store.key(meta.get("namespace"), meta["name"])] = obj
            token = page.continue_token
            if not token:
                return objects, revision

    def _replace(self, objects: dict[bytes, Obj], revision: int) -> None:
        unchanged = self._objects.keys() == objects.keys() and all(
            self._objects[k]["metadata"].get("resourceVersion") == obj["metadata"].get("resourceVersion")
            for k, obj in objects.items()
        )
        if unchanged and revision >= self._revision and self._loaded:
            # every object is as it was (an object created and deleted again inside the gap is missed,
            # as by any relisting client): history and watchers stay valid
            self._advance(revision)
            return
        self._loaded = True
        self._changes += 1
        self._objects = objects
        self._sorted_keys = None
        self._history.clear()
        self._list_revision = revision
        self._evicted_since_list = False
        # watchers' positions are not in the new history: end them so their clients list again
        self._end_all_watchers()
        self._revision = revision
        self._wake_waiters()

    async def _open_watch(self, start_revision: int) -> Watch:
        root = self._store.prefix()
        req = pb.WatchCreateRequest(
            key=root, range_end=prefix_end(root), start_revision=start_revision, progress_notify=True
        )
        opening = asyncio.ensure_future(self._store.ds.watch(req))
        try:
            return await asyncio.shield(opening)
        except asyncio.CancelledError:
            # stop() during a (re)connect: the watch may still open, and must not be left running
            opening.add_done_callback(self._close_if_opened)
            raise

    def _close_if_opened(self, opening: asyncio.Future) -> None:
        if not opening.cancelled() and opening.exception() is None:
            closing = asyncio.ensure_future(opening.result().close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    async def _close_watch(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            with contextlib.suppress(Exception):
                await watch.close()

    async def _follow(self) -> None:
        """Applies the datastore watch forever: re-watches after failures, relists after compaction."""
        backoff = _MIN_BACKOFF
        while True:
            try:
                if self._watch is None:
                    self._watch = await self._open_watch(self._revision + 1)
                async for resp in self._watch:
                    self._apply(resp)
                    backoff = _MIN_BACKOFF
                log.info("datastore watch of %s ended: re-watching", self._store.resource)
            except _Compacted:
                log.info("datastore watch of %s was compacted: relisting", self._store.resource)
                await self._close_watch()
                try:
                    await self._load()
                    continue
                except Exception as exc:
                    log.warning("relisting %s failed: %s", self._store.resource, exc)
            except Exception as exc:
                log.warning("datastore watch of %s failed: %s", self._store.resource, exc)
            await self._close_watch()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)

    def _apply(self, resp: pb.WatchResponse) -> None:
        if resp.compact_revision:
            raise _Compacted
        if resp.canceled:
            raise RuntimeError(f"datastore cancelled the watch: {resp.cancel_reason or 'no reason given'}")
        if resp.events:
            for kv_event in resp.events:
                self._apply_event(kv_event)
            self._advance(resp.events[-1].kv.mod_revision)
        elif not resp.created:
            # a progress notification: every event up to header.revision has been sent
            self._advance(resp.header.revision)

    def _apply_event(self, kv_event: kv_pb2.Event) -> None:
        kv = kv_event.kv
        prev = self._objects.get(kv.key)
        if kv_event.type == kv_pb2.Event.DELETE:
            if prev is None:
                return
            del self._objects[kv.key]
            self._sorted_keys = None
            ev = CacheEvent(DELETED, _with_resource_version(prev, kv.mod_revision), prev, kv.mod_revision)
        else:
            try:
                obj = decode_shared(kv.value, kv.mod_revision)
            except ValueError:
                log.error("skipping undecodable value of %r at revision %d", kv.key, kv.mod_revision)
                return
            if prev is None:
                self._sorted_keys = None
            self._objects[kv.key] = obj
            ev = CacheEvent(MODIFIED if prev is not None else ADDED, obj, prev, kv.mod_revision)
        self._remember(ev)
        self._dispatch(ev)

    def _remember(self, ev: CacheEvent) -> None:
        self._changes += 1
        history = self._history
        if len(history) == history.maxlen:
            self._evicted_since_list = True
            self._last_evicted_revision = history[0].revision
        history.append(ev)

    def _advance(self, revision: int) -> None:
        if revision > self._revision:
            self._revision = revision
            self._wake_waiters()

    def _wake_waiters(self) -> None:
        woken, self._advanced = self._advanced, asyncio.Event()
        woken.set()

    def _keys(self) -> list[bytes]:
        if self._sorted_keys is None:
            self._sorted_keys = sorted(self._objects)
        return self._sorted_keys

    async def _request_progress(self) -> None:
        watch = self._watch
        if watch is None:
            return
        try:
            await watch.request_progress()
        except Exception as exc:  # the follow loop sees the broken watch and re-watches
            log.debug("progress request failed: %s", exc)

    async def _request_progress_while_waited_on(self) -> None:
        while True:
            await self._progress_wanted.wait()
            while self._fresh_waiters:
                await self._request_progress()
                await asyncio.sleep(_PROGRESS_POLL)
            self._progress_wanted.clear()

    async def _send_bookmarks(self) -> None:
        while True:
            # ask now so the next round of bookmarks carries a fresh revision even for an idle resource
            await self._request_progress()
            await asyncio.sleep(self._bookmark_interval)
            for watcher in list(self._watchers):
                watcher._offer_bookmark(self._revision)
