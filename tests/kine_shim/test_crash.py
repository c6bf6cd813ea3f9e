"""Crash safety: whatever the datastore acknowledged survives `kill -9`, at the revision it was given.

Several writer threads put keys over gRPC and record every acknowledged (key, value, revision); the
process is killed with SIGKILL while they write, restarted on the same data dir, and the full history
is checked against the acknowledgements. This repeats a few times in one test.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from kine_shim.etcdpb import kv_pb2
from kine_shim.etcdpb import rpc_pb2 as pb
from kine_shim.keys import prefix_end
from tests.support import Server, Stubs, shim_argv, stubs_for

pytestmark = pytest.mark.e2e

PREFIX = b"/crash/"
RPC_TIMEOUT = 5.0
WRITERS = 8
MAX_WRITES_PER_WRITER = 5000
# round n kills the process once KILL_AFTER_ACKS[n] writes were acknowledged (or this much time passed)
KILL_AFTER_ACKS = (200, 600, 350)
ROUNDS = len(KILL_AFTER_ACKS)
KILL_AFTER_SECONDS = 10.0


@dataclass(frozen=True)
class Ack:
    key: bytes
    value: bytes
    rev: int


@dataclass
class Writer:
    """One thread putting keys until the server goes away; keeps what was acknowledged."""

    endpoint: str
    round_no: int
    number: int
    deadline: float
    acks: list[Ack] = field(default_factory=list)
    failure: str = ""
    thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(
            target=self.run, name=f"writer-{self.round_no}-{self.number}", daemon=True
        )
        self.thread.start()

    def run(self) -> None:
        stubs = stubs_for(self.endpoint)
        try:
            for i in range(MAX_WRITES_PER_WRITER):
                if time.monotonic() > self.deadline:
                    return
                value = b"round %d writer %d write %d" % (self.round_no, self.number, i)
                try:
                    self.acks.append(self.write(stubs, i, value))
                except grpc.RpcError as exc:
                    # the server was killed: this write may or may not have been stored
                    self.failure = f"{exc.code()}: {exc.details()}"
                    return
        finally:
            stubs.close()

    def write(self, stubs: Stubs, i: int, value: bytes) -> Ack:
        if i % 4 == 3:
            # a key every round and every writer keeps updating
            key = PREFIX + b"hot/%d" % self.number
            resp = stubs.kv.Put(pb.PutRequest(key=key, value=value), timeout=RPC_TIMEOUT)
            return Ack(key, value, resp.header.revision)
        key = PREFIX + b"r%d/w%d/%05d" % (self.round_no, self.number, i)
        if i % 4 == 1:
            # kube-apiserver's create: If(mod_revision == 0) Then Put
            cmp = pb.Compare(key=key, target=pb.Compare.MOD, result=pb.Compare.EQUAL, mod_revision=0)
            put = pb.RequestOp(request_put=pb.PutRequest(key=key, value=value))
            txn = stubs.kv.Txn(pb.TxnRequest(compare=[cmp], success=[put]), timeout=RPC_TIMEOUT)
            assert txn.succeeded
            return Ack(key, value, txn.header.revision)
        resp = stubs.kv.Put(pb.PutRequest(key=key, value=value), timeout=RPC_TIMEOUT)
        return Ack(key, value, resp.header.revision)


def history(stubs: Stubs, head: int) -> list[kv_pb2.Event]:
    """Every event under PREFIX from revision 1 to head, replayed by a watch."""
    requests: queue.Queue[pb.WatchRequest | None] = queue.Queue()

    def outgoing() -> Iterator[pb.WatchRequest]:
        for _ in range(10):
            req = requests.get(timeout=60)
            if req is None:
                return
            yield req

    requests.put(
        pb.WatchRequest(
            create_request=pb.WatchCreateRequest(key=PREFIX, range_end=prefix_end(PREFIX), start_revision=1)
        )
    )
    call = stubs.watch.Watch(outgoing(), timeout=60)
    events: list[kv_pb2.Event] = []
    deadline = time.monotonic() + 30
    try:
        for resp in call:
            assert not resp.canceled, resp
            events.extend(resp.events)
            if events and events[-1].kv.mod_revision >= head:
                break
            assert time.monotonic() < deadline, "history replay too slow"
    finally:
        requests.put(None)
        call.cancel()
    return events


def verify(stubs: Stubs, acks: list[Ack]) -> int:
    """Every acknowledged write is stored with exactly its revision; returns the head revision."""
    revs = Counter(a.rev for a in acks)
    assert not [rev for rev, n in revs.items() if n > 1], "a revision was acknowledged to two writes"
    status = stubs.maintenance.Status(pb.StatusRequest(), timeout=RPC_TIMEOUT)
    head = status.header.revision
    assert head >= max(revs), "the restarted store is behind what it acknowledged"

    events = history(stubs, head)
    by_rev: dict[int, list[kv_pb2.Event]] = {}
    for ev in events:
        by_rev.setdefault(ev.kv.mod_revision, []).append(ev)
    # every write here is a single-key put, so each stored revision holds exactly one event
    assert all(len(evs) == 1 for evs in by_rev.values()), "two writes share a revision"
    for ack in acks:
        stored = by_rev.get(ack.rev)
        assert stored, f"acknowledged write lost: {ack}"
        ev = stored[0]
        assert (ev.type, ev.kv.key, ev.kv.value) == (kv_pb2.Event.PUT, ack.key, ack.value), (ack, ev)

    # the same through plain reads: every key written once still holds its value at its revision
    now = stubs.kv.Range(pb.RangeRequest(key=PREFIX, range_end=prefix_end(PREFIX)), timeout=RPC_TIMEOUT)
    current = {kv.key: kv for kv in now.kvs}
    hot = [a for a in acks if b"/hot/" in a.key]
    for ack in acks:
        if b"/hot/" in ack.key:
            continue
        kv = current.get(ack.key)
        assert kv is not None, f"acknowledged key missing: {ack}"
        assert (kv.value, kv.mod_revision, kv.create_revision, kv.version) == (ack.value, ack.rev, ack.rev, 1)
    # and keys that kept changing hold each acknowledged value at its revision (a sample, by Range)
    for ack in hot[:: max(1, len(hot) // 50)]:
        resp = stubs.kv.Range(pb.RangeRequest(key=ack.key, revision=ack.rev), timeout=RPC_TIMEOUT)
        assert [(kv.value, kv.mod_revision) for kv in resp.kvs] == [(ack.value, ack.rev)]
    return head


def run_round(server: Server, round_no: int) -> tuple[list[Ack], list[Writer]]:
    deadline = time.monotonic() + KILL_AFTER_SECONDS + 20
    writers = [Writer(server.endpoint, round_no, n, deadline) for n in range(WRITERS)]
    for w in writers:
        w.start()
    kill_at = time.monotonic() + KILL_AFTER_SECONDS
    for _ in range(10_000):
        if sum(len(w.acks) for w in writers) >= KILL_AFTER_ACKS[round_no] or time.monotonic() > kill_at:
            break
        time.sleep(0.005)
    alive = sum(1 for w in writers if w.thread is not None and w.thread.is_alive())
    server.kill9()
    for w in writers:
        assert w.thread is not None
        w.thread.join(30)
        assert not w.thread.is_alive(), "a writer did not notice the server went away"
    assert alive == WRITERS, "writers finished before the kill: it did not happen mid-stream"
    acks = [a for w in writers for a in w.acks]
    return acks, writers


@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
def test_acknowledged_writes_survive_kill9(tmp_path: Path, synchronous: str) -> None:
    server = Server(tmp_path / "shim", shim_argv("--sqlite-synchronous", synchronous), tmp_path / "shim.log")
    server.start()
    acked: list[Ack] = []
    try:
        for round_no in range(ROUNDS):
            acks, writers = run_round(server, round_no)
            assert len(acks) >= 50, f"round {round_no}: only {len(acks)} writes acknowledged"
            # the writers stopped because the server died, not because they ran out of work
            assert all(w.failure for w in writers), [w.failure for w in writers]
            if acked:
                # after a restart every new revision is above everything acknowledged before the crash
                assert min(a.rev for a in acks) > max(a.rev for a in acked)
            acked.extend(acks)

            server.start()
            stubs = server.stubs()
            try:
                head = verify(stubs, acked)
                probe = stubs.kv.Put(
                    pb.PutRequest(key=PREFIX + b"probe/%d" % round_no, value=b"p"), timeout=5
                )
                assert probe.header.revision == head + 1
                assert probe.header.revision > max(a.rev for a in acked)
                acked.append(Ack(PREFIX + b"probe/%d" % round_no, b"p", probe.header.revision))
            finally:
                stubs.close()
        stubs = server.stubs()
        try:
            verify(stubs, acked)
        finally:
            stubs.close()
    finally:
        server.stop()


def test_lease_and_its_key_survive_kill9(tmp_path: Path) -> None:
    server = Server(tmp_path / "shim", shim_argv(), tmp_path / "shim.log").start()
    try:
        stubs = server.stubs()
        try:
            grant = stubs.lease.LeaseGrant(pb.LeaseGrantRequest(TTL=3600), timeout=RPC_TIMEOUT)
            chosen = stubs.lease.LeaseGrant(pb.LeaseGrantRequest(ID=0x1234, TTL=600), timeout=RPC_TIMEOUT)
            assert chosen.ID == 0x1234
            put = stubs.kv.Put(
                pb.PutRequest(key=b"/leased/a", value=b"a", lease=grant.ID), timeout=RPC_TIMEOUT
            )
            stubs.kv.Put(pb.PutRequest(key=b"/leased/b", value=b"b", lease=chosen.ID), timeout=RPC_TIMEOUT)
            stubs.kv.Put(pb.PutRequest(key=b"/plain", value=b"p"), timeout=RPC_TIMEOUT)
        finally:
            stubs.close()

        server.kill9()
        server.start()
        stubs = server.stubs()
        try:
            leases = stubs.lease.LeaseLeases(pb.LeaseLeasesRequest(), timeout=RPC_TIMEOUT)
            assert {lease.ID for lease in leases.leases} == {grant.ID, 0x1234}
            ttl = stubs.lease.LeaseTimeToLive(
                pb.LeaseTimeToLiveRequest(ID=grant.ID, keys=True), timeout=RPC_TIMEOUT
            )
            assert ttl.grantedTTL == 3600 and 3500 < ttl.TTL <= 3600
            assert list(ttl.keys) == [b"/leased/a"]
            got = stubs.kv.Range(pb.RangeRequest(key=b"/leased/a"), timeout=RPC_TIMEOUT)
            assert [(kv.value, kv.lease, kv.mod_revision) for kv in got.kvs] == [
                (b"a", grant.ID, put.header.revision)
            ]

            # the lease is alive after the restart: keep-alive renews it to its full TTL
            requests = iter([pb.LeaseKeepAliveRequest(ID=grant.ID)])
            alive = next(iter(stubs.lease.LeaseKeepAlive(requests, timeout=RPC_TIMEOUT)))
            assert (alive.ID, alive.TTL) == (grant.ID, 3600)

            revoked = stubs.lease.LeaseRevoke(pb.LeaseRevokeRequest(ID=grant.ID), timeout=RPC_TIMEOUT)
            gone_rev = revoked.header.revision
        finally:
            stubs.close()

        # the revocation is as durable as the grant
        server.kill9()
        server.start()
        stubs = server.stubs()
        try:
            leases = stubs.lease.LeaseLeases(pb.LeaseLeasesRequest(), timeout=RPC_TIMEOUT)
            assert {lease.ID for lease in leases.leases} == {0x1234}
            everything = stubs.kv.Range(pb.RangeRequest(key=b"/", range_end=b"0"), timeout=RPC_TIMEOUT)
            assert [kv.key for kv in everything.kvs] == [b"/leased/b", b"/plain"]
            assert everything.header.revision == gone_rev
            other = stubs.lease.LeaseTimeToLive(
                pb.LeaseTimeToLiveRequest(ID=0x1234, keys=True), timeout=RPC_TIMEOUT
            )
            assert other.grantedTTL == 600 and list(other.keys) == [b"/leased/b"]
        finally:
            stubs.close()
    finally:
        server.stop()
