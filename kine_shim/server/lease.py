"""etcdserverpb.Lease"""

from __future__ import annotations

from google.protobuf.message import DecodeError

from kine_shim.etcdpb import rpc_pb2_grpc
from kine_shim.server.errors import abort_undecodable, etcd_errors
from kine_shim.store import Store


class LeaseServicer(rpc_pb2_grpc.LeaseServicer):
    def __init__(self, store: Store) -> None:
        self.store = store

    @etcd_errors
    async def LeaseGrant(self, request, context):
        return await self.store.lease_grant(request)

    @etcd_errors
    async def LeaseRevoke(self, request, context):
        return await self.store.lease_revoke(request)

    async def LeaseKeepAlive(self, request_iterator, context):
        try:
            async for req in request_iterator:
                yield self.store.lease_keep_alive(req.ID)
        except DecodeError as exc:
            await abort_undecodable(context, exc)

    @etcd_errors
    async def LeaseTimeToLive(self, request, context):
        return await self.store.lease_time_to_live(request)

    @etcd_errors
    async def LeaseLeases(self, request, context):
        return self.store.lease_leases()
