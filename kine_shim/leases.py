"""In-memory lease clocks. The lease table in SQLite decides existence; this only keeps expiry times."""

from __future__ import annotations

import time
from dataclasses import dataclass

# etcd's bounds: MaxLeaseTTL, and the minimum TTL of a single member with default raft timings
MAX_LEASE_TTL = 9_000_000_000
MIN_LEASE_TTL = 2


@dataclass(slots=True)
class Lease:
    id: int
    ttl: int
    expiry: float
    revoking: bool = False

    def remaining(self, now: float) -> float:
        return self.expiry - now


class Lessor:
    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self.leases: dict[int, Lease] = {}

    def add(self, lease_id: int, ttl: int) -> Lease:
        lease = Lease(lease_id, ttl, self.clock() + ttl)
        self.leases[lease_id] = lease
        return lease

    def remove(self, lease_id: int) -> None:
        self.leases.pop(lease_id, None)

    def live(self, lease_id: int) -> Lease | None:
        lease = self.leases.get(lease_id)
        if lease is None or lease.remaining(self.clock()) <= 0:
            return None
        return lease

    def renew(self, lease_id: int) -> int:
        """The lease's TTL after renewal, or 0 if it no longer exists (etcd's keep-alive answer)."""
        lease = self.live(lease_id)
        if lease is None or lease.revoking:
            return 0
        lease.expiry = self.clock() + lease.ttl
        return lease.ttl

    def expired(self) -> list[Lease]:
        now = self.clock()
        return [x for x in self.leases.values() if not x.revoking and x.expiry <= now]
