"""Service ClusterIP and NodePort allocation, done by the API server at create time as upstream does.

Each allocated address or port is one datastore key created with a create-if-absent transaction, so two
concurrent creates can never get the same one, on the embedded store and on a real etcd alike.
"""

from __future__ import annotations

import ipaddress
import random

from kine_shim.client import Datastore
from kine_shim.etcdpb import rpc_pb2 as pb
from kine_shim.keys import prefix_end

SERVICE_IPS = b"/registry/edgek8s/allocations/serviceips/"
NODE_PORTS = b"/registry/edgek8s/allocations/nodeports/"
NODE_PORT_RANGE = (30000, 32767)


class AllocationError(Exception):
    pass


class Allocator:
    """Hands out values below one key prefix; `owner` (namespace/name) is stored as the key's value."""

    def __init__(self, ds: Datastore, prefix: bytes, first: int, last: int) -> None:
        self.ds = ds
        self.prefix = prefix
        self.first = first
        self.last = last

    def _key(self, value: int) -> bytes:
        return self.prefix + str(value).encode()

    async def reserve(self, value: int, owner: str) -> bool:
        """True if value was free (now ours) or already ours."""
        key = self._key(value)
        resp = await self.ds.txn(
            pb.TxnRequest(
                compare=[
                    pb.Compare(key=key, target=pb.Compare.CREATE, result=pb.Compare.EQUAL, create_revision=0)
                ],
                success=[pb.RequestOp(request_put=pb.PutRequest(key=key, value=owner.encode()))],
                failure=[pb.RequestOp(request_range=pb.RangeRequest(key=key))],
            )
        )
        if resp.succeeded:
            return True
        kvs = resp.responses[0].response_range.kvs
        return bool(kvs) and kvs[0].value == owner.encode()

    async def allocate(self, owner: str) -> int:
        """A random free value; a full range raises AllocationError. Probing from a random start keeps
        concurrent allocators from colliding on the same first candidate."""
        size = self.last - self.first + 1
        start = random.randrange(size)
        for i in range(size):
            value = self.first + (start + i) % size
            if await self.reserve(value, owner):
                return value
        raise AllocationError("range is full")

    async def release(self, value: int, owner: str | None = None) -> None:
        key = self._key(value)
        if owner is None:
            await self.ds.delete_range(pb.DeleteRangeRequest(key=key))
            return
        await self.ds.txn(
            pb.TxnRequest(
                compare=[
                    pb.Compare(
                        key=key, target=pb.Compare.VALUE, result=pb.Compare.EQUAL, value=owner.encode()
                    )
                ],
                success=[pb.RequestOp(request_delete_range=pb.DeleteRangeRequest(key=key))],
            )
        )

    async def allocated(self) -> dict[int, str]:
        resp = await self.ds.range(pb.RangeRequest(key=self.prefix, range_end=prefix_end(self.prefix)))
        return {int(kv.key[len(self.prefix) :]): kv.value.decode() for kv in resp.kvs}


class ServiceIPs:
    """ClusterIPs from the service CIDR, as integers under the hood; the network and broadcast addresses
    and the first address (the `kubernetes` Service's) are never handed out at random."""

    def __init__(self, ds: Datastore, cidr: str) -> None:
        self.network = ipaddress.ip_network(cidr, strict=False)
        base = int(self.network.network_address)
        self.allocator = Allocator(ds, SERVICE_IPS, base + 2, int(self.network.broadcast_address) - 1)

    def contains(self, ip: str) -> bool:
        try:
            return ipaddress.ip_address(ip) in self.network
        except ValueError:
            return False

    @property
    def first_ip(self) -> str:
        return str(self.network.network_address + 1)

    async def allocate(self, owner: str) -> str:
        return str(ipaddress.ip_address(await self.allocator.allocate(owner)))

    async def reserve(self, ip: str, owner: str) -> bool:
        return await self.allocator.reserve(int(ipaddress.ip_address(ip)), owner)

    async def release(self, ip: str, owner: str | None = None) -> None:
        if self.contains(ip):
            await self.allocator.release(int(ipaddress.ip_address(ip)), owner)


def node_ports(ds: Datastore) -> Allocator:
    return Allocator(ds, NODE_PORTS, *NODE_PORT_RANGE)
