"""Watch fan-out: synced watchers get each committed revision from the writer as it is published;
new, historical or slow watchers catch up from the revision log and then join the synced set."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from kine_shim import errors
from kine_shim.etcdpb import kv_pb2
from kine_shim.etcdpb import rpc_pb2 as pb
from kine_shim.keys import KeyRange

if TYPE_CHECKING:
    from kine_shim.store import Store

log = logging.getLogger(__name__)

# responses buffered per stream before a watcher falls back to reading the log (etcd: 128)
STREAM_BUFFER = 256
# revisions read from the log per catch-up step
CATCH_UP_REVISIONS = 500
# replayed history is cut into responses of about this size (clients often refuse > 4 MiB)
RESPONSE_BYTES = 1024 * 1024
_NOPUT = pb.WatchCreateRequest.NOPUT
_NODELETE = pb.WatchCreateRequest.NODELETE
_END = object()


class Watcher:
    __slots__ = (
        "closed",
        "id",
        "key_range",
        "next_rev",
        "no_delete",
        "no_put",
        "prev_kv",
        "progress_notify",
        "sent_since_tick",
        "stream",
        "synced",
        "task",
    )

    def __init__(self, stream: WatchStream, watch_id: int, req: pb.WatchCreateRequest, next_rev: int) -> None:
        self.stream = stream
        self.id = watch_id
        # etcd watches b"\0" (the smallest key) for an empty key
        self.key_range = KeyRange.of(req.key or b"\x00", req.range_end)
        self.prev_kv = req.prev_kv
        self.no_put = _NOPUT in req.filters
        self.no_delete = _NODELETE in req.filters
        self.progress_notify = req.progress_notify
        self.next_rev = next_rev
        self.synced = False
        self.sent_since_tick = False
        self.closed = False
        self.task: asyncio.Task | None = None

    def select(self, events: list[kv_pb2.Event]) -> list[kv_pb2.Event]:
        out = []
        for ev in events:
            if not self.key_range.contains(ev.kv.key):
                continue
            if ev.type == kv_pb2.Event.PUT:
                if self.no_put:
                    continue
            elif self.no_delete:
                continue
            if self.prev_kv or not ev.HasField("prev_kv"):
                out.append(ev)
            else:
                out.append(kv_pb2.Event(type=ev.type, kv=ev.kv))
        return out


def _split_by_size(events: list[kv_pb2.Event]) -> list[list[kv_pb2.Event]]:
    """Replayed history in responses of about RESPONSE_BYTES, never splitting a revision."""
    batches: list[list[kv_pb2.Event]] = []
    current: list[kv_pb2.Event] = []
    size = 0
    for i, ev in enumerate(events):
        current.append(ev)
        size += ev.ByteSize()
        last_of_rev = i + 1 == len(events) or events[i + 1].kv.mod_revision != ev.kv.mod_revision
        if last_of_rev and size >= RESPONSE_BYTES:
            batches.append(current)
            current, size = [], 0
    if current:
        batches.append(current)
    return batches


class WatchHub:
    """Publishes each committed revision to every synced watcher, in revision order."""

    def __init__(self) -> None:
        self.synced: set[Watcher] = set()

    def publish(
        self, rev: int, events: list[kv_pb2.Event], header: Callable[[int], pb.ResponseHeader]
    ) -> None:
        for w in list(self.synced):
            if rev < w.next_rev:
                continue
            selected = w.select(events)
            w.next_rev = rev + 1
            if not selected:
                continue
            resp = pb.WatchResponse(header=header(rev), watch_id=w.id, events=selected)
            if not w.stream.offer(resp):
                # the client is slow: stop buffering for it and let it read the log when it has room
                self.synced.discard(w)
                w.synced = False
                w.next_rev = rev
                w.stream.start_catch_up(w)
            else:
                w.sent_since_tick = True


class WatchStream:
    """One client Watch stream: many watchers, one ordered queue of responses."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.hub = store.hub
        self.watchers: dict[int, Watcher] = {}
        # ids of watchers cancelled as compacted: etcd keeps them in use until the client cancels them
        self.compacted: set[int] = set()
        self.queue: asyncio.Queue = asyncio.Queue(STREAM_BUFFER)
        self.next_id = 0
        self.progress_pending = False
        self.ticker: asyncio.Task | None = None

    # -- responses out --

    def offer(self, resp: pb.WatchResponse) -> bool:
        try:
            self.queue.put_nowait(resp)
        except asyncio.QueueFull:
            return False
        return True

    async def next_response(self) -> pb.WatchResponse | None:
        item = await self.queue.get()
        return None if item is _END else item

    async def _put(self, resp: pb.WatchResponse) -> None:
        await self.queue.put(resp)

    # -- requests in --

    async def handle(self, req: pb.WatchRequest) -> None:
        kind = req.WhichOneof("request_union")
        if kind == "create_request":
            await self.create(req.create_request)
        elif kind == "cancel_request":
            await self.cancel(req.cancel_request.watch_id)
        elif kind == "progress_request":
            self.request_progress()

    async def create(self, req: pb.WatchCreateRequest) -> int:
        store = self.store
        head = store.rev
        # like etcd's watchStream.Watch: a range selecting nothing, or an id in use, is refused with id -1
        # (checked before an id is taken, so a refused watch does not use one up)
        refused = ""
        if req.range_end not in (b"", b"\x00") and req.key >= req.range_end:
            refused = "mvcc: watcher range is empty"
        elif req.watch_id != 0 and (req.watch_id in self.watchers or req.watch_id in self.compacted):
            refused = "mvcc: duplicate watch ID provided on the WatchStream"
        if refused:
            await self._put(
                pb.WatchResponse(
                    header=store.header(head), watch_id=-1, created=True, canceled=True, cancel_reason=refused
                )
            )
            return -1
        watch_id = req.watch_id
        if watch_id == 0:
            # etcd's AutoWatchID is 0: take the next id not in use on this stream
            while self.next_id in self.watchers or self.next_id in self.compacted:
                self.next_id += 1
            watch_id = self.next_id
            self.next_id += 1
        start = req.start_revision
        w = Watcher(self, watch_id, req, start if start > 0 else head + 1)
        self.watchers[watch_id] = w
        await self._put(pb.WatchResponse(header=store.header(head), watch_id=watch_id, created=True))
        if w.closed:
            return watch_id
        if w.next_rev > store.rev and w.next_rev >= store.compact_rev:
            self._mark_synced(w)
        else:
            self.start_catch_up(w)
        if w.progress_notify and self.ticker is None:
            self.ticker = asyncio.create_task(self._tick())
        return watch_id

    async def cancel(self, watch_id: int) -> None:
        w = self.watchers.pop(watch_id, None)
        if w is None and watch_id not in self.compacted:
            return
        self.compacted.discard(watch_id)
        if w is not None:
            self._drop(w)
        await self._put(
            pb.WatchResponse(header=self.store.header(self.store.rev), watch_id=watch_id, canceled=True)
        )

    def request_progress(self) -> None:
        if all(w.synced for w in self.watchers.values()):
            self.offer_or_queue(pb.WatchResponse(header=self.store.header(self.store.rev), watch_id=-1))
        else:
            self.progress_pending = True

    def offer_or_queue(self, resp: pb.WatchResponse) -> None:
        if not self.offer(resp):
            asyncio.get_running_loop().create_task(self._put(resp))

    def close(self) -> None:
        for w in list(self.watchers.values()):
            self._drop(w)
        self.watchers.clear()
        if self.ticker is not None:
            self.ticker.cancel()

    def end(self) -> None:
        """Wake the response reader so it can finish the stream."""
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(_END)
        if self.queue.full():
            asyncio.get_running_loop().create_task(self.queue.put(_END))

    # -- internals --

    def _drop(self, w: Watcher) -> None:
        w.closed = True
        self.hub.synced.discard(w)
        if w.task is not None and w.task is not asyncio.current_task():
            w.task.cancel()

    def _mark_synced(self, w: Watcher) -> None:
        w.synced = True
        self.hub.synced.add(w)
        if self.progress_pending and all(x.synced for x in self.watchers.values()):
            self.progress_pending = False
            self.offer_or_queue(pb.WatchResponse(header=self.store.header(self.store.rev), watch_id=-1))

    def start_catch_up(self, w: Watcher) -> None:
        w.task = asyncio.get_running_loop().create_task(self._catch_up(w))

    async def _catch_up(self, w: Watcher) -> None:
        store = self.store
        try:
            while not w.closed:
                target = store.rev
                if w.next_rev > target:
                    self._mark_synced(w)
                    return
                hi = min(target, w.next_rev + CATCH_UP_REVISIONS - 1)
                try:
                    events = await store.history(w.next_rev, hi, w.key_range)
                except errors.EtcdError as exc:
                    if exc is not errors.COMPACTED:
                        raise
                    self.watchers.pop(w.id, None)
                    self.compacted.add(w.id)
                    self._drop(w)
                    await self._put(
                        pb.WatchResponse(
                            header=store.header(0),
                            watch_id=w.id,
                            compact_revision=store.compact_rev,
                            canceled=True,
                        )
                    )
                    return
                for batch in _split_by_size(w.select(events)):
                    await self._put(pb.WatchResponse(header=store.header(hi), watch_id=w.id, events=batch))
                    w.sent_since_tick = True
                w.next_rev = hi + 1
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("watch %d catch-up failed", w.id)

    async def _tick(self) -> None:
        interval = self.store.config.progress_notify_interval
        while True:
            await asyncio.sleep(interval)
            for w in list(self.watchers.values()):
                if w.progress_notify and w.synced and not w.sent_since_tick:
                    self.offer(pb.WatchResponse(header=self.store.header(self.store.rev), watch_id=w.id))
                w.sent_since_tick = False
