"""Differential tests: our datastore against a real etcd 3.4.23, the oracle.

Every request goes to both servers in the same order and both answers are compared whole: kvs,
revisions, counts, `more`, `succeeded`, prev_kv(s), deleted counts, nested txn responses, or the
gRPC status code and message of an error. Watch streams are compared per watch id as a flattened
list of events (type, kv, prev_kv) plus the created/cancelled/compacted responses, never by how the
events were split into responses.

Normalized away is only what differs between two healthy servers by nature: cluster id, member id
and raft term in the top-level header, the remaining TTL of a lease (timing), and the order of
lease lists (etcd iterates a Go map, or orders by expiry).

Watch delivery is made deterministic with fences: writes that the open watchers see, waited for on
both servers, before a watcher is cancelled, before a compaction (so no event is still in flight
when its prev_kv revision gets compacted) and at the end. A historical watcher is fenced as soon as
it is created, so it has caught up (or been cancelled as compacted) before the next operation.

Seeded random sequences (a failure names its seed; rerun that seed to reproduce) plus
hand-written sequences for the corner cases. Any difference fails the test.
"""

from __future__ import annotations

import difflib
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import NoReturn

import grpc
import pytest
from google.protobuf import text_format
from google.protobuf.message import Message

from kine_shim.etcdpb import kv_pb2
from kine_shim.etcdpb import rpc_pb2 as pb
from kine_shim.keys import prefix_end
from tests.support import Server, Stubs

pytestmark = [pytest.mark.e2e, pytest.mark.oracle]

RPC_TIMEOUT = 10.0
WATCH_TIMEOUT = 10.0
# time given to a stray (wrong) watch response to show up before the streams are compared
SETTLE = 0.3

SEEDS = (7, 1234, 31337, 20240611, 99)
OPS_PER_SEED = 300
SEED_TIME_BUDGET = 15.0

PUT = kv_pb2.Event.PUT
DELETE = kv_pb2.Event.DELETE
NOPUT = pb.WatchCreateRequest.NOPUT
NODELETE = pb.WatchCreateRequest.NODELETE
R = pb.RangeRequest
C = pb.Compare

# at most 11 distinct keys ever exist, so no sorted range holds more than 12 kvs: Go sorts slices
# that small with a (stable) insertion sort, like Python's stable sort
KEYS = (b"\x00", b"a", b"a/1", b"a/2", b"a/3", b"b", b"b/1", b"c", b"c\xff", b"\xff")
PAD_KEY = b"p"
RANGE_PREFIXES = (b"a", b"a/", b"b", b"c", b"\xff")
WATCH_PREFIXES = (b"a", b"b", b"c")
VALUES = (b"", b"v", b"w", b"xxxxx", b"\x00\xff", b"z")
# leases are always granted with an explicit ID: server-chosen IDs are never compared
LEASE_IDS = (1, 2, 3, 0x7FFF_FFFF_FFFF_FFFF)
UNKNOWN_LEASE = 424242
TARGETS = (C.VERSION, C.CREATE, C.MOD, C.VALUE, C.LEASE)
RESULTS = (C.EQUAL, C.GREATER, C.LESS, C.NOT_EQUAL)
SORT_ORDERS = (R.NONE, R.ASCEND, R.DESCEND)
SORT_TARGETS = (R.KEY, R.VERSION, R.CREATE, R.MOD, R.VALUE)
MAX_WATCHERS = 8

_SERVICE = {
    "Range": "kv",
    "Put": "kv",
    "DeleteRange": "kv",
    "Txn": "kv",
    "Compact": "kv",
    "LeaseGrant": "lease",
    "LeaseRevoke": "lease",
    "LeaseTimeToLive": "lease",
    "LeaseLeases": "lease",
}
_OP_FIELD = {
    "Range": "request_range",
    "Put": "request_put",
    "DeleteRange": "request_delete_range",
    "Txn": "request_txn",
}

Step = tuple[str, Message]


def one_line(msg: Message) -> str:
    return text_format.MessageToString(msg, as_one_line=True) or "{}"


def describe(msg: Message, limit: int = 800) -> str:
    text = one_line(msg)
    return text if len(text) <= limit else f"{text[:limit]}... ({msg.ByteSize()} bytes)"


def normalize(method: str, resp: Message) -> Message:
    """A copy without what legitimately differs between two servers."""
    out = type(resp)()
    out.CopyFrom(resp)
    if out.HasField("header"):
        out.header.cluster_id = 0
        out.header.member_id = 0
        out.header.raft_term = 0
    if method == "LeaseTimeToLive":
        if out.TTL > 0:
            out.TTL = 1  # seconds remaining: timing, not semantics (-1 = not found stays)
        keys = sorted(out.keys)
        del out.keys[:]
        out.keys.extend(keys)
    elif method == "LeaseLeases":
        ids = sorted(lease.ID for lease in out.leases)
        del out.leases[:]
        for lease_id in ids:
            out.leases.add(ID=lease_id)
    return out


@dataclass(frozen=True)
class Outcome:
    resp: Message | None = None
    code: grpc.StatusCode | None = None
    details: str = ""

    @property
    def ok(self) -> bool:
        return self.code is None

    def render(self) -> str:
        if self.resp is not None:
            return text_format.MessageToString(self.resp) or "(empty response)"
        return f"gRPC error {self.code.name if self.code else '?'}: {self.details}"


def invoke(stubs: Stubs, method: str, req: Message) -> Outcome:
    fn = getattr(getattr(stubs, _SERVICE[method]), method)
    try:
        resp = fn(req, timeout=RPC_TIMEOUT)
    except grpc.RpcError as exc:
        return Outcome(code=exc.code(), details=exc.details() or "")
    return Outcome(resp=normalize(method, resp))


# -- watch streams --


class WatchSession:
    """One Watch stream to one server; a thread collects every response."""

    def __init__(self, stubs: Stubs) -> None:
        self._requests: queue.Queue[pb.WatchRequest | None] = queue.Queue()
        self._cond = threading.Condition()
        self._responses: list[pb.WatchResponse] = []
        self.error: grpc.RpcError | None = None
        self._call = stubs.watch.Watch(self._request_iter())
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _request_iter(self) -> Iterator[pb.WatchRequest]:
        while (req := self._requests.get()) is not None:
            yield req

    def _read(self) -> None:
        try:
            for resp in self._call:
                with self._cond:
                    self._responses.append(resp)
                    self._cond.notify_all()
        except grpc.RpcError as exc:
            with self._cond:
                self.error = exc
                self._cond.notify_all()

    def send(self, req: pb.WatchRequest) -> None:
        self._requests.put(req)

    def responses(self) -> list[pb.WatchResponse]:
        with self._cond:
            return list(self._responses)

    def wait(self, pred: Callable[[list[pb.WatchResponse]], bool], timeout: float = WATCH_TIMEOUT) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not pred(self._responses):
                left = deadline - time.monotonic()
                if self.error is not None or left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def close(self) -> None:
        self._requests.put(None)
        self._call.cancel()
        self._thread.join(5)


class WatchPair:
    """The same Watch stream opened on both servers."""

    def __init__(self, stubs: dict[str, Stubs], index: int) -> None:
        self.index = index
        self.sessions = {name: WatchSession(s) for name, s in stubs.items()}
        self.creates = 0

    def close(self) -> None:
        for session in self.sessions.values():
            session.close()


@dataclass(eq=False)
class Watcher:
    pair: WatchPair
    req: pb.WatchCreateRequest
    watch_id: int
    # index of its created response in each server's stream
    created_at: dict[str, int]
    refused: bool
    # first revision it reports (etcd: start_revision, or the head at creation + 1)
    start: int
    cancelled: bool = False


def _in_watch_range(req: pb.WatchCreateRequest, key: bytes) -> bool:
    """etcd's watch range: empty key means b"\\0", range_end b"\\0" means no upper bound."""
    start = req.key or b"\x00"
    if not req.range_end:
        return key == start
    if req.range_end == b"\x00":
        return key >= start
    return start <= key < req.range_end


def _sees(w: Watcher, rev: int, key: bytes, kind: int) -> bool:
    if rev < w.start or not _in_watch_range(w.req, key):
        return False
    banned = NOPUT if kind == PUT else NODELETE
    return banned not in w.req.filters


def _caught_up(target: int) -> Callable[[pb.WatchResponse], bool]:
    return lambda r: r.canceled or any(ev.kv.mod_revision >= target for ev in r.events)


def _cancelled(r: pb.WatchResponse) -> bool:
    return r.canceled


def _after(w: Watcher, name: str, pred: Callable[[pb.WatchResponse], bool]) -> Callable:
    start = w.created_at[name] + 1

    def check(responses: list[pb.WatchResponse]) -> bool:
        return any(r.watch_id == w.watch_id and pred(r) for r in responses[start:])

    return check


def watch_digest(responses: Iterable[pb.WatchResponse]) -> str:
    """Per watch id: its non-event responses and its events, flattened (response boundaries dropped)."""
    per_id: dict[int, list[str]] = {}
    for resp in responses:
        lines = per_id.setdefault(resp.watch_id, [])
        if resp.created or resp.canceled or resp.compact_revision or not resp.events:
            ctl = pb.WatchResponse()
            ctl.CopyFrom(resp)
            del ctl.events[:]
            lines.append("response " + one_line(normalize("Watch", ctl)))
        lines.extend("event " + one_line(ev) for ev in resp.events)
    return "\n".join(
        f"watch_id {wid}:\n" + "\n".join(f"  {line}" for line in lines)
        for wid, lines in sorted(per_id.items())
    )


# -- the pair of servers --


class Duo:
    """Sends every operation to etcd, then to ours, and fails on the first difference."""

    def __init__(self, etcd: Server, ours: Server, label: str) -> None:
        self.stubs = {"etcd": etcd.stubs(), "ours": ours.stubs()}
        self.label = label
        self.history: list[str] = []
        # the oracle's view, for generators: newest revision seen and last compaction (-1 = none)
        self.head = 1
        self.compact_rev = -1
        self.streams: list[WatchPair] = []
        self.watchers: list[Watcher] = []

    def close(self) -> None:
        for pair in self.streams:
            pair.close()
        for stubs in self.stubs.values():
            stubs.close()

    # -- reporting --

    def note(self, desc: str) -> None:
        self.history.append(f"#{len(self.history)} {desc}")

    def mismatch(self, theirs: str, ours: str) -> NoReturn:
        recent = "\n".join(self.history[-12:])
        diff = "\n".join(
            difflib.unified_diff(theirs.splitlines(), ours.splitlines(), "etcd", "ours", lineterm="", n=2)
        )
        raise AssertionError(
            f"[{self.label}] etcd and ours differ at step {self.history[-1] if self.history else '?'}\n"
            f"--- etcd 3.4 (oracle):\n{theirs}\n--- ours:\n{ours}\n--- diff:\n{diff}\n"
            f"--- steps so far (newest last):\n{recent}"
        )

    def expect_same(self, theirs: str, ours: str) -> None:
        if theirs != ours:
            self.mismatch(theirs, ours)

    # -- unary calls --

    def call(self, method: str, req: Message) -> Outcome:
        self.note(f"{method}({describe(req)})")
        theirs = invoke(self.stubs["etcd"], method, req)
        ours = invoke(self.stubs["ours"], method, req)
        self.expect_same(theirs.render(), ours.render())
        if theirs.resp is not None and theirs.resp.HasField("header"):
            self.head = max(self.head, theirs.resp.header.revision)
            self.history[-1] += f" -> revision {theirs.resp.header.revision}"
        elif theirs.code is not None:
            self.history[-1] += f" -> {theirs.code.name}"
        if method == "Compact" and theirs.ok:
            self.compact_rev = req.revision
        return theirs

    def run(self, steps: Iterable[Step]) -> None:
        for method, req in steps:
            self.call(method, req)

    def compact(self, revision: int, physical: bool = True) -> Outcome:
        """A compaction once no event below it is still in flight to a watcher."""
        self.fence(self.live_watchers())
        return self.call("Compact", pb.CompactionRequest(revision=revision, physical=physical))

    # -- watches --

    def watch_stream(self) -> WatchPair:
        pair = WatchPair(self.stubs, len(self.streams))
        self.streams.append(pair)
        return pair

    def watch(self, pair: WatchPair, req: pb.WatchCreateRequest) -> Watcher:
        self.note(f"Watch[stream {pair.index}] create {describe(req)}")
        pair.creates += 1
        n = pair.creates
        for session in pair.sessions.values():
            session.send(pb.WatchRequest(create_request=req))
        created: dict[str, tuple[int, pb.WatchResponse] | None] = {}
        for name, session in pair.sessions.items():
            session.wait(lambda rs: sum(r.created for r in rs) >= n)
            hits = [(i, r) for i, r in enumerate(session.responses()) if r.created]
            created[name] = hits[n - 1] if len(hits) >= n else None
        rendered = {
            name: one_line(normalize("Watch", hit[1])) if hit else "no created response"
            for name, hit in created.items()
        }
        self.expect_same(rendered["etcd"], rendered["ours"])
        theirs = created["etcd"]
        ours = created["ours"]
        assert theirs is not None and ours is not None
        resp = theirs[1]
        w = Watcher(
            pair,
            req,
            resp.watch_id,
            {"etcd": theirs[0], "ours": ours[0]},
            refused=resp.canceled,
            start=req.start_revision or resp.header.revision + 1,
        )
        self.watchers.append(w)
        if not w.refused and w.start <= self.head:
            # a historical watcher: let it catch up (or be cancelled as compacted) right away
            self.fence([w])
        return w

    def cancelled_on_etcd(self, w: Watcher) -> bool:
        return _after(w, "etcd", _cancelled)(w.pair.sessions["etcd"].responses())

    def live_watchers(self) -> list[Watcher]:
        return [
            w for w in self.watchers if not w.refused and not w.cancelled and not self.cancelled_on_etcd(w)
        ]

    def fence(self, watchers: list[Watcher]) -> int | None:
        """Writes each given watcher sees, then waits until both servers delivered them.

        Returns the lowest revision every live one of them is known to have caught up with."""
        live = [w for w in watchers if not w.refused and not w.cancelled and not self.cancelled_on_etcd(w)]
        keys: list[bytes] = []
        for w in live:
            if NOPUT in w.req.filters and NODELETE in w.req.filters:
                continue
            if not any(_in_watch_range(w.req, k) for k in keys):
                keys.append(w.req.key or b"\x00")
        writes: list[tuple[int, bytes, int]] = []
        for key in keys:
            put = self.call("Put", pb.PutRequest(key=key, value=b"fence"))
            writes.append((put.resp.header.revision if put.resp else 0, key, PUT))
            deleted = self.call("DeleteRange", pb.DeleteRangeRequest(key=key))
            writes.append((deleted.resp.header.revision if deleted.resp else 0, key, DELETE))
        confirmed: list[int] = []
        for w in watchers:
            if w.refused or w.cancelled:
                continue
            if any(x is w for x in live):
                target = max((rev for rev, key, kind in writes if _sees(w, rev, key, kind)), default=None)
                if target is None:
                    continue  # sees none of the fence writes (both filters, or starts later)
                confirmed.append(target)
                pred = _caught_up(target)
            else:
                pred = _cancelled  # etcd cancelled it (compacted): wait for ours to say so too
            for name, session in w.pair.sessions.items():
                session.wait(_after(w, name, pred))
        return min(confirmed) if confirmed else None

    def cancel_watch(self, pair: WatchPair, watch_id: int) -> None:
        # etcd answers only for an id registered on the stream (a compacted watcher stays registered)
        registered = [
            w
            for w in self.watchers
            if w.pair is pair and w.watch_id == watch_id and not (w.refused or w.cancelled)
        ]
        # etcd drops events still in flight to a cancelled watcher: deliver everything first
        self.fence(registered)
        self.note(f"Watch[stream {pair.index}] cancel watch_id={watch_id}")
        marks = {name: len(s.responses()) for name, s in pair.sessions.items()}
        for session in pair.sessions.values():
            session.send(pb.WatchRequest(cancel_request=pb.WatchCancelRequest(watch_id=watch_id)))
        for w in registered:
            w.cancelled = True
        if not registered:
            return  # no answer expected; a stray one shows up when the streams are compared
        rendered = {}
        for name, session in pair.sessions.items():
            mark = marks[name]

            def hit(rs: list[pb.WatchResponse], mark: int = mark) -> pb.WatchResponse | None:
                return next((r for r in rs[mark:] if r.watch_id == watch_id and r.canceled), None)

            session.wait(lambda rs, hit=hit: hit(rs) is not None)
            resp = hit(session.responses())
            rendered[name] = one_line(normalize("Watch", resp)) if resp else "no cancel response"
        self.expect_same(rendered["etcd"], rendered["ours"])

    def finish_watches(self) -> None:
        """Fences every watcher, then compares each stream's flattened events and control responses."""
        self.note("finish watches: fence and compare streams")
        pending = [w for w in self.watchers if not w.refused and not w.cancelled]
        while self.head + 1 < max((w.start for w in pending), default=0):
            self.call("Put", pb.PutRequest(key=PAD_KEY, value=b"pad"))
        self.fence(pending)
        time.sleep(SETTLE)
        for pair in self.streams:
            self.note(f"compare watch stream {pair.index}")
            digests = {
                name: watch_digest(s.responses()) + (f"\nstream failed: {s.error!r}" if s.error else "")
                for name, s in pair.sessions.items()
            }
            self.expect_same(digests["etcd"], digests["ours"])

    # -- final checks --

    def check_history(self) -> None:
        """Every revision still readable, read back whole (and the first unreadable ones)."""
        low = max(self.compact_rev, 1)
        for rev in range(max(low - 1, 1), self.head + 2):
            self.call("Range", pb.RangeRequest(key=b"\x00", range_end=b"\x00", revision=rev))

    def check_leases(self, ids: Iterable[int]) -> None:
        self.call("LeaseLeases", pb.LeaseLeasesRequest())
        for lease_id in ids:
            self.call("LeaseTimeToLive", pb.LeaseTimeToLiveRequest(ID=lease_id, keys=True))


@pytest.fixture
def duo(etcd, shim, request):
    pair = Duo(etcd, shim, request.node.name)
    yield pair
    pair.close()


# -- seeded random sequences --


class Scenario:
    """A seeded random sequence of KV, Txn, Lease, Compact and Watch operations."""

    def __init__(self, duo: Duo, seed: int) -> None:
        self.duo = duo
        self.rng = random.Random(seed)

    def run(self, n_ops: int, budget: float) -> int:
        duo = self.duo
        for _ in range(2):
            duo.watch_stream()
        steps: list[tuple[Callable[[], object], float]] = [
            (self.range, 23),
            (self.put, 24),
            (self.delete, 8),
            (self.txn, 22),
            (self.compact, 2),
            (self.grant, 4),
            (self.revoke, 2.5),
            (self.ttl, 3),
            (self.leases, 1),
            (self.watch, 3),
            (self.cancel, 1.5),
            (self.bad, 1),
        ]
        fns = [fn for fn, _ in steps]
        weights = [w for _, w in steps]
        deadline = time.monotonic() + budget
        done = 0
        for _ in range(n_ops):
            if time.monotonic() > deadline:
                break
            self.rng.choices(fns, weights)[0]()
            done += 1
        self.finish()
        return done

    # -- pieces --

    def key(self) -> bytes:
        return self.rng.choice(KEYS)

    def key_range(self, single: float = 0.4) -> tuple[bytes, bytes]:
        rng = self.rng
        if rng.random() < single:
            return self.key(), b""
        r = rng.random()
        if r < 0.35:
            p = rng.choice(RANGE_PREFIXES)
            return p, prefix_end(p)
        if r < 0.6:
            return self.key(), self.key()  # sometimes inverted or empty
        if r < 0.75:
            return self.key(), b"\x00"
        if r < 0.9:
            return b"\x00", b"\x00"
        return rng.choice(
            ((b"\x00", b""), (b"a", b"a"), (b"a\x00", b"b"), (b"a/", b"a/2\x00"), (b"b", b"\xff"))
        )

    def revision(self) -> int:
        duo, rng = self.duo, self.rng
        low = max(duo.compact_rev, 1)
        r = rng.random()
        if r < 0.6:
            return rng.randint(low, duo.head)
        if r < 0.75:
            return duo.head + rng.randint(1, 2)
        if r < 0.9:
            return rng.randint(1, low)
        return rng.choice((-1, -2))

    def peek(self, key: bytes) -> kv_pb2.KeyValue | None:
        """The oracle's current kv for key (a read changes nothing, so it is not part of the sequence)."""
        resp = self.duo.stubs["etcd"].kv.Range(pb.RangeRequest(key=key), timeout=RPC_TIMEOUT)
        return resp.kvs[0] if resp.kvs else None

    def range_request(self, in_txn: bool = False) -> pb.RangeRequest:
        rng = self.rng
        key, end = self.key_range()
        req = pb.RangeRequest(key=key, range_end=end)
        if rng.random() < 0.3:
            req.limit = rng.choice((1, 2, 3, 5, -1))
        if rng.random() < (0.15 if in_txn else 0.3):
            req.revision = self.revision()
        if rng.random() < 0.35:
            req.sort_order = rng.choice(SORT_ORDERS)
            req.sort_target = rng.choice(SORT_TARGETS)
        req.keys_only = rng.random() < 0.15
        req.count_only = rng.random() < 0.1
        if rng.random() < 0.15:
            for name in (
                "min_mod_revision",
                "max_mod_revision",
                "min_create_revision",
                "max_create_revision",
            ):
                if rng.random() < 0.4:
                    setattr(req, name, rng.randint(-1, self.duo.head + 1))
        return req

    def put_request(self) -> pb.PutRequest:
        rng = self.rng
        req = pb.PutRequest(key=self.key(), value=rng.choice(VALUES), prev_kv=rng.random() < 0.4)
        r = rng.random()
        if r < 0.15:
            req.lease = rng.choice(LEASE_IDS)
        elif r < 0.19:
            req.lease = UNKNOWN_LEASE
        if rng.random() < 0.08:
            req.ignore_value = True
            if rng.random() < 0.7:
                req.value = b""
        if rng.random() < 0.08:
            req.ignore_lease = True
            if rng.random() < 0.7:
                req.lease = 0
        return req

    def delete_request(self) -> pb.DeleteRangeRequest:
        key, end = self.key_range(single=0.6)
        return pb.DeleteRangeRequest(key=key, range_end=end, prev_kv=self.rng.random() < 0.5)

    def compare(self) -> pb.Compare:
        rng = self.rng
        target = rng.choice(TARGETS)
        cmp = pb.Compare(target=target, result=rng.choice(RESULTS))
        if rng.random() < 0.8:
            cmp.key = self.key()
        else:
            cmp.key, cmp.range_end = self.key_range(single=0)
        r = rng.random()
        if r < 0.94:
            self.operand(cmp, target)
        elif r < 0.98:
            self.operand(cmp, rng.choice(TARGETS))  # the union holds another target's field
        return cmp

    def operand(self, cmp: pb.Compare, target: int) -> None:
        rng = self.rng
        kv = self.peek(cmp.key) if rng.random() < 0.5 else None
        nudge = rng.choice((-1, 0, 0, 0, 1)) if kv else 0
        if target == C.VALUE:
            cmp.value = kv.value if kv and rng.random() < 0.7 else rng.choice(VALUES)
        elif target == C.VERSION:
            cmp.version = kv.version + nudge if kv else rng.randint(0, 3)
        elif target == C.CREATE:
            cmp.create_revision = kv.create_revision + nudge if kv else rng.randint(0, self.duo.head + 1)
        elif target == C.MOD:
            cmp.mod_revision = kv.mod_revision + nudge if kv else rng.randint(0, self.duo.head + 1)
        else:
            cmp.lease = kv.lease if kv else rng.choice((0, *LEASE_IDS))

    def request_op(self, depth: int) -> pb.RequestOp:
        r = self.rng.random()
        if r < 0.01:
            return pb.RequestOp()  # no request at all: etcd refuses it
        if r < 0.36:
            return pb.RequestOp(request_range=self.range_request(in_txn=True))
        if r < 0.68:
            return pb.RequestOp(request_put=self.put_request())
        if r < 0.9 or depth >= 2:
            return pb.RequestOp(request_delete_range=self.delete_request())
        return pb.RequestOp(request_txn=self.txn_request(depth + 1))

    def txn_request(self, depth: int) -> pb.TxnRequest:
        rng = self.rng
        req = pb.TxnRequest(compare=[self.compare() for _ in range(rng.choice((0, 1, 1, 1, 2, 3)))])
        req.success.extend(self.request_op(depth) for _ in range(rng.randint(0, 4 if depth == 0 else 2)))
        req.failure.extend(self.request_op(depth) for _ in range(rng.randint(0, 3 if depth == 0 else 2)))
        return req

    # -- operations --

    def range(self) -> None:
        self.duo.call("Range", self.range_request())

    def put(self) -> None:
        self.duo.call("Put", self.put_request())

    def delete(self) -> None:
        self.duo.call("DeleteRange", self.delete_request())

    def txn(self) -> None:
        rng = self.rng
        req = self.txn_request(0)
        r = rng.random()
        if r < 0.01:
            req.success.extend(pb.RequestOp(request_range=pb.RangeRequest(key=b"a")) for _ in range(129))
        elif r < 0.015:
            req.compare.extend(
                pb.Compare(key=b"a", target=C.VERSION, result=C.GREATER, version=0)
                for _ in range(129 - len(req.compare))
            )
        self.duo.call("Txn", req)

    def compact(self) -> None:
        duo, rng = self.duo, self.rng
        confirmed = duo.fence(duo.live_watchers())
        low = max(duo.compact_rev, 0)
        high = duo.head if confirmed is None else min(duo.head, confirmed)
        r = rng.random()
        if r < 0.75 and high > low:
            # mostly somewhere in the newer half, so historical reads keep something to read
            rev = rng.randint(max(low + 1, (low + high) // 2), high)
        elif r < 0.85:
            rev = low
        elif r < 0.95:
            rev = duo.head + 1
        else:
            rev = rng.randint(-1, low)
        duo.call("Compact", pb.CompactionRequest(revision=rev, physical=True))

    def grant(self) -> None:
        rng = self.rng
        ttl = rng.choice((600, 3600)) if rng.random() < 0.9 else rng.choice((9_000_000_000, 9_000_000_001))
        self.duo.call("LeaseGrant", pb.LeaseGrantRequest(ID=rng.choice(LEASE_IDS), TTL=ttl))

    def revoke(self) -> None:
        self.duo.call("LeaseRevoke", pb.LeaseRevokeRequest(ID=self.rng.choice((*LEASE_IDS, UNKNOWN_LEASE))))

    def ttl(self) -> None:
        req = pb.LeaseTimeToLiveRequest(
            ID=self.rng.choice((*LEASE_IDS, UNKNOWN_LEASE)), keys=self.rng.random() < 0.6
        )
        self.duo.call("LeaseTimeToLive", req)

    def leases(self) -> None:
        self.duo.call("LeaseLeases", pb.LeaseLeasesRequest())

    def watch(self) -> None:
        duo, rng = self.duo, self.rng
        if sum(not (w.refused or w.cancelled) for w in duo.watchers) >= MAX_WATCHERS:
            return self.range()
        r = rng.random()
        if r < 0.4:
            key, end = self.key(), b""
        elif r < 0.7:
            p = rng.choice(WATCH_PREFIXES)
            key, end = p, prefix_end(p)
        elif r < 0.8:
            key, end = self.key(), b"\x00"
        elif r < 0.88:
            key, end = b"\x00", b"\x00"
        elif r < 0.94:
            key, end = b"", rng.choice((b"", b"\x00"))
        else:
            key, end = rng.choice(((b"b", b"a"), (b"a", b"a")))  # an empty range: refused
        req = pb.WatchCreateRequest(key=key, range_end=end, prev_kv=rng.random() < 0.5)
        f = rng.random()
        if f < 0.2:
            req.filters.append(NOPUT)
        elif f < 0.4:
            req.filters.append(NODELETE)
        s = rng.random()
        if s < 0.25:
            req.start_revision = rng.randint(max(duo.compact_rev - 2, 1), duo.head)
        elif s < 0.35:
            req.start_revision = duo.head + rng.randint(1, 3)
        if rng.random() < 0.2:
            req.watch_id = rng.choice((5, 6, 7))
        duo.watch(rng.choice(duo.streams), req)
        return None

    def cancel(self) -> None:
        duo, rng = self.duo, self.rng
        live = duo.live_watchers()
        if not live or rng.random() < 0.2:
            duo.cancel_watch(rng.choice(duo.streams), rng.choice((42, 5)))
            return
        w = rng.choice(live)
        duo.cancel_watch(w.pair, w.watch_id)

    def bad(self) -> None:
        rng = self.rng
        method, req = rng.choice(
            (
                ("Range", pb.RangeRequest(key=b"", range_end=b"\x00")),
                ("Put", pb.PutRequest(key=b"", value=b"v")),
                ("DeleteRange", pb.DeleteRangeRequest(key=b"")),
                ("Txn", pb.TxnRequest(compare=[pb.Compare(key=b"", target=C.VERSION, version=0)])),
                ("Txn", pb.TxnRequest(success=[pb.RequestOp(request_put=pb.PutRequest(key=b""))])),
                ("Put", pb.PutRequest(key=b"a", value=b"v", ignore_value=True)),
                ("Put", pb.PutRequest(key=b"a", lease=1, ignore_lease=True)),
            )
        )
        self.duo.call(method, req)

    def finish(self) -> None:
        duo = self.duo
        pair = duo.watch_stream()
        starts = sorted(
            {1, max(duo.compact_rev, 1), max(duo.compact_rev + 1, 1), max(duo.head // 2, 1), duo.head}
        )
        for i, start in enumerate(starts):
            key, end = (b"\x00", b"\x00") if i % 2 == 0 else (b"a", b"b")
            duo.watch(
                pair, pb.WatchCreateRequest(key=key, range_end=end, start_revision=start, prev_kv=i % 2 == 0)
            )
        duo.finish_watches()
        duo.check_history()
        duo.check_leases((*LEASE_IDS, UNKNOWN_LEASE))


@pytest.mark.parametrize("seed", SEEDS)
def test_random_operations_match_etcd(duo: Duo, seed: int) -> None:
    duo.label = f"seed={seed} (rerun: pytest {__file__} -k {seed})"
    done = Scenario(duo, seed).run(OPS_PER_SEED, SEED_TIME_BUDGET)
    assert done >= 50, f"seed={seed}: only {done} operations fit in {SEED_TIME_BUDGET}s"


# -- hand-written sequences --


def put(key: bytes, value: bytes = b"", **kw) -> Step:
    return "Put", pb.PutRequest(key=key, value=value, **kw)


def get(key: bytes, end: bytes = b"", **kw) -> Step:
    return "Range", pb.RangeRequest(key=key, range_end=end, **kw)


def delete(key: bytes, end: bytes = b"", **kw) -> Step:
    return "DeleteRange", pb.DeleteRangeRequest(key=key, range_end=end, **kw)


def op(step: Step) -> pb.RequestOp:
    method, req = step
    return pb.RequestOp(**{_OP_FIELD[method]: req})


def txn(
    compare: Iterable[pb.Compare] = (), success: Iterable[Step] = (), failure: Iterable[Step] = ()
) -> Step:
    return "Txn", pb.TxnRequest(
        compare=list(compare), success=[op(s) for s in success], failure=[op(s) for s in failure]
    )


def cmp(key: bytes, target: int, result: int, end: bytes = b"", **operand) -> pb.Compare:
    return pb.Compare(key=key, range_end=end, target=target, result=result, **operand)


def grant(lease_id: int, ttl: int = 600) -> Step:
    return "LeaseGrant", pb.LeaseGrantRequest(ID=lease_id, TTL=ttl)


def revoke(lease_id: int) -> Step:
    return "LeaseRevoke", pb.LeaseRevokeRequest(ID=lease_id)


def ttl(lease_id: int, keys: bool = True) -> Step:
    return "LeaseTimeToLive", pb.LeaseTimeToLiveRequest(ID=lease_id, keys=keys)


def leases() -> Step:
    return "LeaseLeases", pb.LeaseLeasesRequest()


MAX_REQUEST_BYTES = 1536 * 1024  # etcd's default --max-request-bytes (ours has the same default)


def raft_sized(make: Callable[[int], Message], total: int) -> Message:
    """make(n) grown until etcd's raft entry for it is `total` bytes, counting a 10-byte request ID.

    etcd wraps a write in an InternalRaftRequest: 2+1+1+10 bytes of header (9 for the ID when the
    member ID's top bit is clear), the request's tag and length varint, then the request."""
    n = total - 64
    while True:
        size = make(n).ByteSize()
        entry = 14 + 1 + (size.bit_length() + 6) // 7 + size
        if entry >= total:
            assert entry == total
            return make(n)
        n += 1


SEED_DATA = [
    put(b"a", b"3"),
    put(b"a/1", b"1"),
    put(b"a/2", b"2"),
    put(b"b", b"1"),
    put(b"a/1", b"0"),
    put(b"c", b"2"),
    put(b"b/1", b""),
    put(b"a/2", b"2"),
    put(b"a/3", b"9"),
    put(b"a", b"3"),
    delete(b"b"),
    put(b"b", b"5"),
]


def test_range_options_match_etcd(duo: Duo) -> None:
    duo.run(SEED_DATA)
    ranges = [
        (b"a", b""),
        (b"zz", b""),
        (b"a", b"b"),
        (b"a/", b"a0"),
        (b"a/2", b"\x00"),
        (b"\x00", b"\x00"),
        (b"\x00", b""),
        (b"b", b"a"),
        (b"a", b"a"),
    ]
    for key, end in ranges:
        for order in SORT_ORDERS:
            for target in SORT_TARGETS:
                duo.call("Range", R(key=key, range_end=end, sort_order=order, sort_target=target))
                duo.call("Range", R(key=key, range_end=end, sort_order=order, sort_target=target, limit=2))
        for limit in (1, 2, 3, 4, 100, -1):
            duo.call("Range", R(key=key, range_end=end, limit=limit))
            duo.call("Range", R(key=key, range_end=end, limit=limit, count_only=True))
            duo.call("Range", R(key=key, range_end=end, limit=limit, keys_only=True))
        duo.call("Range", R(key=key, range_end=end, keys_only=True, count_only=True))
        for name in ("min_mod_revision", "max_mod_revision", "min_create_revision", "max_create_revision"):
            for value in (-1, 3, 6, 9, 100):
                duo.call("Range", R(key=key, range_end=end, **{name: value}))
                duo.call("Range", R(key=key, range_end=end, limit=1, **{name: value}))
                duo.call(
                    "Range",
                    R(
                        key=key,
                        range_end=end,
                        limit=2,
                        sort_order=R.DESCEND,
                        sort_target=R.MOD,
                        **{name: value},
                    ),
                )
        duo.call("Range", R(key=key, range_end=end, min_mod_revision=4, max_mod_revision=9, count_only=True))
    head = duo.head
    for rev in (*range(-2, head + 3), 10_000):
        duo.call("Range", R(key=b"a", range_end=b"b", revision=rev))
        duo.call("Range", R(key=b"a", range_end=b"b", revision=rev, count_only=True))
        duo.call("Range", R(key=b"a", range_end=b"b", revision=rev, limit=1, sort_order=R.DESCEND))
        duo.call("Range", R(key=b"b", revision=rev))
    # a sort order etcd does not know: it neither sorts nor refuses
    for order in (3, 7):
        duo.call("Range", R(key=b"\x00", range_end=b"\x00", sort_order=order, sort_target=R.VERSION))
        duo.call("Range", R(key=b"\x00", range_end=b"\x00", sort_order=order, sort_target=R.VALUE, limit=2))
    duo.run([get(b""), get(b"", b"\x00"), get(b"", b"a", revision=1)])
    duo.compact(6)
    for rev in (-1, 0, 5, 6, 7, head):
        duo.call("Range", R(key=b"\x00", range_end=b"\x00", revision=rev))
        duo.call("Range", R(key=b"\x00", range_end=b"\x00", revision=rev, count_only=True))
        duo.call("Range", R(key=b"a", revision=rev, sort_order=R.ASCEND, sort_target=R.CREATE))


def test_put_and_delete_match_etcd(duo: Duo) -> None:
    duo.run(
        [
            grant(1),
            put(b"a", b"1", prev_kv=True),
            put(b"a", b"2", prev_kv=True),
            put(b"a", b"", lease=1, prev_kv=True),
            put(b"a", ignore_value=True, prev_kv=True),
            put(b"a", b"3", ignore_lease=True),
            put(b"a", b"4", lease=1),
            put(b"a", b"5", ignore_lease=True, prev_kv=True),
            put(b"a", ignore_value=True, ignore_lease=True, prev_kv=True),
            ttl(1),
            put(b"missing", ignore_value=True),
            put(b"missing", b"x", ignore_lease=True),
            put(b"a", b"x", ignore_value=True),
            put(b"a", lease=1, ignore_lease=True),
            put(b"a", b"x", lease=1, ignore_value=True, ignore_lease=True),
            put(b"missing", lease=999),
            # Put looks the lease up before the key; a put inside a txn checks the key first
            put(b"missing", ignore_value=True, lease=999),
            txn(success=[put(b"missing", ignore_value=True, lease=999)]),
            put(b"", b"x"),
            put(b"", b"x", ignore_value=True),
            put(b"k\x00\xff", b"\x00\x01", prev_kv=True),
            # etcd's --max-request-bytes limits the raft entry, a few bytes more than the request itself
            ("Put", raft_sized(lambda n: pb.PutRequest(key=b"big", value=b"x" * n), MAX_REQUEST_BYTES)),
            ("Put", raft_sized(lambda n: pb.PutRequest(key=b"big", value=b"x" * n), MAX_REQUEST_BYTES + 2)),
            txn(
                success=[
                    (
                        "Put",
                        raft_sized(
                            lambda n: pb.PutRequest(key=b"big", value=b"y" * n), MAX_REQUEST_BYTES - 5
                        ),
                    )
                ]
            ),
            (
                "Txn",
                raft_sized(lambda n: pb.TxnRequest(success=[op(put(b"big", b"y" * n))]), MAX_REQUEST_BYTES),
            ),
            (
                "Txn",
                raft_sized(
                    lambda n: pb.TxnRequest(success=[op(put(b"big", b"y" * n))]), MAX_REQUEST_BYTES + 2
                ),
            ),
            delete(b"big"),
            put(b"k\x00\xff", b"", prev_kv=True),
            delete(b"nothing"),
            delete(b"nothing", prev_kv=True),
            delete(b"a", prev_kv=True),
            ttl(1),
            *SEED_DATA,
            delete(b"a/", b"a/2", prev_kv=True),
            delete(b"b", b"a", prev_kv=True),
            delete(b"a", b"a", prev_kv=True),
            delete(b"a/", prefix_end(b"a/"), prev_kv=True),
            delete(b"b/1", b"\x00", prev_kv=True),
            get(b"\x00", b"\x00"),
            *SEED_DATA,
            delete(b"\x00", b"\x00", prev_kv=True),
            delete(b"\x00", b"\x00", prev_kv=True),
            delete(b""),
            delete(b"", b"\x00"),
            get(b"\x00", b"\x00"),
        ]
    )


def test_txn_compares_match_etcd(duo: Duo) -> None:
    duo.run(
        [
            grant(1),
            put(b"a", b"m", lease=1),
            put(b"a", b"n", ignore_lease=True),
            put(b"b", b""),
            put(b"c/1", b"x"),
            put(b"c/2", b"y", lease=1),
        ]
    )
    head = duo.head
    operands = {
        C.VALUE: [{"value": v} for v in (b"", b"m", b"n", b"o", b"x")],
        C.VERSION: [{"version": v} for v in (0, 1, 2, 3)],
        C.CREATE: [{"create_revision": v} for v in (0, 2, 3, 5)],
        C.MOD: [{"mod_revision": v} for v in (0, 3, 5, head)],
        C.LEASE: [{"lease": v} for v in (0, 1, 2)],
    }
    keys = [(b"a", b""), (b"b", b""), (b"missing", b""), (b"c/", b"c0"), (b"c/", b"\x00"), (b"zz", b"\x00")]
    for key, end in keys:
        for target, values in operands.items():
            for result in RESULTS:
                for operand in values:
                    duo.call(
                        *txn(
                            [cmp(key, target, result, end, **operand)],
                            success=[get(b"a")],
                            failure=[get(b"b")],
                        )
                    )
    duo.run(
        [
            # the union holds another target's operand, or nothing: etcd compares against zero / b""
            txn([cmp(b"a", C.VERSION, C.GREATER, value=b"n")], [get(b"a")], [get(b"b")]),
            txn([cmp(b"a", C.VALUE, C.GREATER, version=5)], [get(b"a")], [get(b"b")]),
            txn([cmp(b"a", C.MOD, C.GREATER)], [get(b"a")], [get(b"b")]),
            txn([cmp(b"b", C.VALUE, C.EQUAL)], [get(b"a")], [get(b"b")]),
            txn([cmp(b"missing", C.VALUE, C.NOT_EQUAL)], [get(b"a")], [get(b"b")]),
            # values etcd's enums do not name
            txn([cmp(b"a", 9, C.EQUAL, version=0)], [get(b"a")], [get(b"b")]),
            txn([cmp(b"a", 9, C.GREATER, version=0)], [get(b"a")], [get(b"b")]),
            txn([cmp(b"a", C.VERSION, 9, version=100)], [get(b"a")], [get(b"b")]),
            txn([cmp(b"missing", C.VALUE, 9, value=b"")], [get(b"a")], [get(b"b")]),
            # several compares: all must hold
            txn(
                [cmp(b"a", C.VERSION, C.EQUAL, version=2), cmp(b"b", C.VALUE, C.EQUAL, value=b"")],
                [get(b"a")],
                [get(b"b")],
            ),
            txn(
                [cmp(b"a", C.VERSION, C.EQUAL, version=2), cmp(b"b", C.VALUE, C.EQUAL, value=b"q")],
                [get(b"a")],
                [get(b"b")],
            ),
        ]
    )


def test_txn_structure_matches_etcd(duo: Duo) -> None:
    duo.run([put(b"a", b"1"), put(b"b", b"2")])
    head = duo.head
    duo.run(
        [
            txn(),
            txn([cmp(b"a", C.VERSION, C.EQUAL, version=1)]),
            txn(
                [cmp(b"a", C.VERSION, C.EQUAL, version=1)],
                success=[
                    put(b"a", b"s", prev_kv=True),
                    get(b"a"),
                    delete(b"b", prev_kv=True),
                    get(b"\x00", b"\x00"),
                ],
                failure=[put(b"c", b"f")],
            ),
            txn(
                [cmp(b"a", C.VERSION, C.EQUAL, version=1)],
                success=[put(b"c", b"s")],
                failure=[get(b"a"), put(b"b", b"f", prev_kv=True), delete(b"zz"), get(b"b", revision=head)],
            ),
            # nested txns: compares are all evaluated before any write of the outer txn
            txn(
                success=[
                    put(b"n1", b"1"),
                    txn(
                        [cmp(b"n1", C.VERSION, C.EQUAL, version=1)],
                        success=[put(b"n2", b"2")],
                        failure=[put(b"n3", b"3", prev_kv=True), get(b"n1")],
                    ),
                    get(b"n", b"o"),
                ]
            ),
            txn(
                [cmp(b"a", C.VALUE, C.EQUAL, value=b"nope")],
                success=[txn(success=[put(b"x", b"never")])],
                failure=[
                    txn(
                        [cmp(b"a", C.VALUE, C.EQUAL, value=b"s")],
                        success=[
                            txn(
                                [cmp(b"b", C.VERSION, C.GREATER, version=0)],
                                [get(b"b")],
                                [put(b"deep", b"1")],
                            ),
                            get(b"a"),
                        ],
                        failure=[put(b"x", b"never")],
                    ),
                    txn([cmp(b"zz", C.CREATE, C.EQUAL, create_revision=0)], [delete(b"n1", prev_kv=True)]),
                ],
            ),
            txn(success=[get(b"a"), txn(success=[get(b"b"), txn(failure=[get(b"c")])])]),
            txn(success=[delete(b"nothing")]),
            txn(success=[txn(), txn(success=[delete(b"nothing")])]),
            txn(
                success=[
                    put(b"z", b"1"),
                    get(b"z"),
                    delete(b"z", prev_kv=True),
                    get(b"z"),
                    get(b"\x00", b"\x00"),
                ]
            ),
            # a delete whose range_end is b"\0" is not a conflicting interval in etcd 3.4
            txn(success=[put(b"q", b"1"), delete(b"q", b"\x00", prev_kv=True)]),
            txn(success=[delete(b"q", b"\x00", prev_kv=True), put(b"q", b"2", prev_kv=True)]),
            txn(success=[put(b"q", b"3"), delete(b"a", b"\x00")]),
            get(b"\x00", b"\x00"),
            put(b"a", b"1"),
            put(b"b", b"2"),
            # duplicate keys
            txn(success=[put(b"a"), put(b"a")]),
            txn(success=[put(b"a"), delete(b"a")]),
            txn(success=[delete(b"a"), put(b"a")]),
            txn(success=[put(b"a/1"), delete(b"a", b"b")]),
            txn(success=[put(b"a"), delete(b"a", b"a\x00")]),
            txn(
                [cmp(b"a", C.VERSION, C.EQUAL, version=1)],
                success=[put(b"b")],
                failure=[put(b"a"), put(b"a")],
            ),
            txn(success=[put(b"a"), txn(success=[put(b"a")])]),
            txn(success=[txn(success=[put(b"a")], failure=[put(b"a")])]),
            txn(success=[txn(success=[put(b"a")]), txn(failure=[put(b"a")])]),
            txn(success=[txn(success=[put(b"a")], failure=[put(b"b")]), txn(success=[put(b"b")])]),
            txn(success=[txn(success=[put(b"a")], failure=[put(b"b")]), txn(failure=[put(b"a")])]),
            txn(success=[delete(b"a", b"b"), txn(success=[put(b"a/1")])]),
            txn(success=[txn(success=[delete(b"a", b"b")]), put(b"a/1")]),
            txn(success=[txn(success=[delete(b"a")]), txn(success=[put(b"a")])]),
            txn(success=[txn(success=[delete(b"a", b"\x00")]), put(b"a")]),
            txn(success=[get(b"a"), get(b"a"), delete(b"a"), delete(b"a")]),
            # empty keys, anywhere
            txn([cmp(b"", C.VERSION, C.EQUAL, version=0)]),
            txn(success=[put(b"")]),
            txn(success=[get(b"")]),
            txn(failure=[delete(b"")]),
            txn(success=[txn(failure=[get(b"", b"\x00")])]),
            txn(success=[put(b"k", b"v", ignore_value=True)]),
            txn(success=[put(b"k", lease=5, ignore_lease=True)]),
            # which error wins
            txn([cmp(b"", C.VERSION, C.EQUAL, version=0)], success=[put(b"a"), put(b"a")]),
            txn(success=[put(b"a"), put(b"a")], failure=[get(b"")]),
            txn(success=[txn(success=[put(b"a"), put(b"a")])], failure=[put(b"")]),
            txn(success=[put(b"a"), put(b"a")], failure=[put(b"b"), put(b"b")]),
            txn(success=[put(b"missing", ignore_value=True), get(b"a", revision=head + 50)]),
            txn(success=[put(b"a", lease=77), put(b"missing", ignore_lease=True)]),
            txn(success=[put(b"missing", ignore_lease=True), put(b"a", lease=77)]),
            # range revisions inside a txn
            txn(success=[get(b"a", revision=head + 50)]),
            txn(success=[put(b"c"), get(b"a", revision=head + 50)]),
            txn([cmp(b"a", C.VERSION, C.GREATER, version=0)], failure=[get(b"a", revision=head + 50)]),
            txn(success=[get(b"a", revision=-1)]),
            txn(success=[get(b"a", revision=-2)]),
            txn(success=[get(b"a", revision=1), get(b"\x00", b"\x00", revision=head)]),
        ]
    )
    # operation limits (etcd's default --max-txn-ops 128), nested txns get what the outer one leaves
    many = [get(b"a")] * 128
    compares = [cmp(b"a", C.VERSION, C.GREATER, version=0)] * 100
    duo.run(
        [
            txn(success=many),
            txn(success=[*many, get(b"a")]),
            txn(failure=[*many, get(b"a")]),
            txn(compare=[*compares, *compares[:29]]),
            txn(compare=compares, success=[txn(success=[get(b"a")] * 28)]),
            txn(compare=compares, success=[txn(success=[get(b"a")] * 29)]),
            txn(compare=compares, failure=[txn(compare=compares[:29])]),
            txn(success=many[:127], failure=[txn(success=[get(b"a")] * 2)]),
            txn(success=many, failure=[txn()]),
        ]
    )
    # a RequestOp without a request
    duo.call("Txn", pb.TxnRequest(success=[pb.RequestOp()]))
    duo.call("Txn", pb.TxnRequest(failure=[op(get(b"a")), pb.RequestOp()]))
    duo.call("Txn", pb.TxnRequest(success=[op(put(b"a")), op(put(b"a"))], failure=[pb.RequestOp()]))
    duo.call("Txn", pb.TxnRequest(success=[op(txn(success=[get(b"a")])), pb.RequestOp()]))
    duo.run([get(b"\x00", b"\x00")])


def test_leases_match_etcd(duo: Duo) -> None:
    big = 0x7FFF_FFFF_FFFF_FFFF
    duo.run(
        [
            leases(),
            grant(1),
            grant(1),
            grant(2, 9_000_000_001),
            grant(2, 9_000_000_000),
            grant(big, 600),
            ttl(1),
            ttl(1, keys=False),
            ttl(99),
            put(b"a", b"1", lease=1),
            put(b"b", b"1", lease=1),
            put(b"c/1", b"1", lease=1),
            put(b"d", b"1", lease=2),
            put(b"e", b"1", lease=big),
            put(b"a", b"2"),
            put(b"b", b"2", ignore_lease=True),
            put(b"d", ignore_value=True, lease=1),
            ttl(1),
            ttl(2),
            ttl(big),
            leases(),
            txn(success=[put(b"f", lease=2), delete(b"e")]),
            ttl(2),
            ttl(big),
            # every key of the lease goes in one revision
            revoke(1),
            get(b"\x00", b"\x00"),
            ttl(1),
            revoke(1),
            revoke(99),
            put(b"x", lease=1),
            txn(success=[put(b"x", lease=1)]),
            txn([cmp(b"x", C.VERSION, C.EQUAL, version=1)], failure=[put(b"x", lease=1)]),
            txn([cmp(b"f", C.LEASE, C.EQUAL, lease=2)], success=[put(b"g", lease=2)]),
            txn([cmp(b"x", C.LEASE, C.EQUAL, lease=0)], success=[put(b"h")]),
            leases(),
            revoke(2),
            revoke(big),
            leases(),
            get(b"\x00", b"\x00"),
            grant(1, 600),
            ttl(1),
        ]
    )
    # any non-zero ID is the client's to choose, negative ones too
    duo.run(
        [
            grant(-7),
            put(b"neg", b"1", lease=-7),
            put(b"neg", b"2", lease=1, prev_kv=True),
            ttl(-7),
            ttl(1),
            put(b"neg", b"3", lease=-7, prev_kv=True),
            ttl(-7),
            leases(),
            revoke(-7),
            get(b"neg"),
            leases(),
        ]
    )
    # a TTL under the minimum is raised to it; revoked at once, before it could expire
    duo.run([grant(3, 0), ttl(3, keys=False), revoke(3), grant(4, -5), revoke(4)])


def test_compaction_matches_etcd(duo: Duo) -> None:
    # a fresh etcd has compacted nothing (not even revision 0), so compacting revision 0 works once
    duo.run(
        [
            ("Compact", pb.CompactionRequest(revision=0)),
            ("Compact", pb.CompactionRequest(revision=0)),
            ("Compact", pb.CompactionRequest(revision=-1)),
            ("Compact", pb.CompactionRequest(revision=2)),
            *SEED_DATA,
            delete(b"a/2"),
            put(b"a/2", b"again"),
        ]
    )
    duo.compact(5)
    head = duo.head
    duo.run(
        [
            ("Compact", pb.CompactionRequest(revision=5)),
            ("Compact", pb.CompactionRequest(revision=4)),
            ("Compact", pb.CompactionRequest(revision=head + 1)),
            get(b"\x00", b"\x00", revision=4),
            get(b"\x00", b"\x00", revision=5),
            get(b"\x00", b"\x00", revision=6),
            get(b"\x00", b"\x00", revision=4, count_only=True),
            get(b"\x00", b"\x00", revision=-1),
            txn(success=[get(b"a", revision=4)]),
            txn(success=[get(b"a", revision=5)]),
            txn(success=[get(b"a", revision=-1)]),
            txn(success=[put(b"a"), get(b"a", revision=3)]),
            txn([cmp(b"a", C.VERSION, C.GREATER, version=0)], failure=[get(b"a", revision=3)]),
        ]
    )
    duo.compact(head, physical=False)
    duo.run(
        [
            ("Compact", pb.CompactionRequest(revision=head)),
            get(b"\x00", b"\x00", revision=head - 1),
            get(b"\x00", b"\x00", revision=head),
            get(b"\x00", b"\x00"),
        ]
    )
    duo.check_history()


def test_watches_match_etcd(duo: Duo) -> None:
    s1, s2, s3 = duo.watch_stream(), duo.watch_stream(), duo.watch_stream()
    duo.run([put(b"a", b"1"), put(b"a/1", b"1"), put(b"b", b"1"), put(b"\x00", b"zero")])

    def w(pair: WatchPair, key: bytes, end: bytes = b"", **kw) -> Watcher:
        return duo.watch(pair, pb.WatchCreateRequest(key=key, range_end=end, **kw))

    w(s1, b"a", b"b", prev_kv=True)
    w(s1, b"a")
    w(s1, b"a", prev_kv=True, filters=[NOPUT])
    w(s1, b"a", b"b", filters=[NODELETE])
    w(s1, b"a/1", b"\x00", prev_kv=True)
    w(s1, b"\x00", b"\x00")
    w(s1, b"")  # an empty key watches b"\0"
    w(s1, b"", b"\x00", prev_kv=True)
    w(s1, b"b", b"a")  # empty ranges are refused
    w(s1, b"a", b"a")
    w(s2, b"a", b"b", watch_id=5)
    w(s2, b"b", watch_id=5)  # duplicate id
    w(s2, b"b")
    w(s2, b"b", watch_id=1)
    w(s2, b"b")
    w(s2, b"\x00", b"\x00", start_revision=1, prev_kv=True)
    w(s2, b"a", start_revision=3, prev_kv=True)
    w(s2, b"a", b"b", start_revision=duo.head + 3)
    duo.run(
        [
            grant(1),
            put(b"a", b"2"),
            put(b"a/1", b"2", lease=1),
            put(b"a/2", b"1", lease=1),
            delete(b"a"),
            # two changes of one key in one revision: each event's prev_kv is the key before the revision
            txn(success=[put(b"a", b"3"), delete(b"a", b"\x00")]),
            put(b"a", b"4"),
            txn(success=[put(b"a", b"5"), delete(b"a", b"\x00")]),
            txn(success=[delete(b"a", b"\x00"), put(b"a", b"6")]),
            txn(success=[put(b"b", b"2"), put(b"a/3", b"1"), delete(b"a/1")]),
            delete(b"a", b"b", prev_kv=True),
            put(b"a/1", b"3", lease=1),
            revoke(1),
        ]
    )
    both = w(s3, b"a", b"b", filters=[NOPUT, NODELETE])
    duo.fence([x for x in duo.live_watchers() if x is not both])
    duo.cancel_watch(s1, 1)
    duo.cancel_watch(s1, 77)  # unknown: etcd says nothing
    duo.cancel_watch(s2, 5)
    duo.run([put(b"a", b"7"), put(b"b", b"3")])
    compact_at = duo.head - 6
    duo.compact(compact_at)
    old = w(s3, b"\x00", b"\x00", start_revision=2, watch_id=9)  # compacted: cancelled
    w(s3, b"\x00", b"\x00", start_revision=compact_at, prev_kv=True)  # replays from exactly the compaction
    w(s3, b"a", b"b", start_revision=compact_at + 1, prev_kv=True)
    w(s3, b"b", watch_id=9)  # a compacted watcher keeps its id until it is cancelled
    duo.cancel_watch(s3, old.watch_id)
    w(s3, b"b", watch_id=9)
    duo.run([put(b"a", b"8"), delete(b"b", prev_kv=True)])
    duo.finish_watches()
