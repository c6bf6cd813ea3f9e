"""etcdserverpb.Maintenance and etcdserverpb.Cluster for a single-member store."""

from __future__ import annotations

from kine_shim.etcdpb import rpc_pb2 as pb
from kine_shim.etcdpb import rpc_pb2_grpc
from kine_shim.server.errors import etcd_errors
from kine_shim.store import Store


class MaintenanceServicer(rpc_pb2_grpc.MaintenanceServicer):
    def __init__(self, store: Store) -> None:
        self.store = store

    @etcd_errors
    async def Alarm(self, request, context):
        return self.store.fill_header(pb.AlarmResponse())

    @etcd_errors
    async def Status(self, request, context):
        return await self.store.status()

    @etcd_errors
    async def Defragment(self, request, context):
        return await self.store.defragment()

    @etcd_errors
    async def Hash(self, request, context):
        resp = await self.store.hash_kv(pb.HashKVRequest())
        return self.store.fill_header(pb.HashResponse(hash=resp.hash))

    @etcd_errors
    async def HashKV(self, request, context):
        return await self.store.hash_kv(request)

    async def Snapshot(self, request, context):
        async for chunk in self.store.snapshot():
            yield chunk


class ClusterServicer(rpc_pb2_grpc.ClusterServicer):
    def __init__(self, store: Store) -> None:
        self.store = store

    @etcd_errors
    async def MemberList(self, request, context):
        store = self.store
        urls = store.config.client_urls
        member = pb.Member(ID=store.member_id, name=store.config.name, peerURLs=urls, clientURLs=urls)
        return store.fill_header(pb.MemberListResponse(members=[member]))
