"""etcdserverpb.KV"""

from __future__ import annotations

from kine_shim.etcdpb import rpc_pb2_grpc
from kine_shim.server.errors import etcd_errors
from kine_shim.store import Store


class KVServicer(rpc_pb2_grpc.KVServicer):
    def __init__(self, store: Store) -> None:
        self.store = store

    @etcd_errors
    async def Range(self, request, context):
        return await self.store.range(request)

    @etcd_errors
    async def Put(self, request, context):
        return await self.store.put(request)

    @etcd_errors
    async def DeleteRange(self, request, context):
        return await self.store.delete_range(request)

    @etcd_errors
    async def Txn(self, request, context):
        return await self.store.txn(request)

    @etcd_errors
    async def Compact(self, request, context):
        return await self.store.compact(request)
