"""RemoteDatastore: the Datastore interface over gRPC to any etcd v3 endpoint.

Kept apart from kine_shim.client so only a server configured with --datastore-endpoint imports grpc.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc

from kine_shim import errors
from kine_shim.client import WatchCreateRefused
from kine_shim.etcdpb import rpc_pb2 as pb
from kine_shim.etcdpb import rpc_pb2_grpc

# every unary call gets a deadline: a datastore that stops answering must not hang the API server
DEFAULT_TIMEOUT = 15.0


class _RemoteWatch:
    def __init__(self, call: grpc.aio.StreamStreamCall, watch_id: int) -> None:
        self._call = call
        self.watch_id = watch_id

    async def __aiter__(self) -> AsyncIterator[pb.WatchResponse]:
        try:
            while True:
                resp = await self._call.read()
                if resp is grpc.aio.EOF:
                    return
                yield resp
                if resp.canceled:
                    return
        except grpc.aio.AioRpcError as exc:
            raise errors.from_status(exc.code(), exc.details() or "") from None

    async def request_progress(self) -> None:
        await self._call.write(pb.WatchRequest(progress_request=pb.WatchProgressRequest()))

    async def close(self) -> None:
        self._call.cancel()


class RemoteDatastore:
    """Any etcd v3 endpoint (`--datastore-endpoint`): a real etcd cluster or `edgek8s datastore`."""

    def __init__(self, endpoint: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        target = endpoint.removeprefix("http://")
        self._channel = grpc.aio.insecure_channel(
            target,
            options=[
                ("grpc.max_receive_message_length", 2**31 - 1),
                ("grpc.keepalive_time_ms", 30_000),
                ("grpc.keepalive_timeout_ms", 10_000),
            ],
        )
        self._kv = rpc_pb2_grpc.KVStub(self._channel)
        self._watch = rpc_pb2_grpc.WatchStub(self._channel)
        self._lease = rpc_pb2_grpc.LeaseStub(self._channel)
        self._maintenance = rpc_pb2_grpc.MaintenanceStub(self._channel)
        self._keep_alive: grpc.aio.StreamStreamCall | None = None
        self._keep_alive_lock = asyncio.Lock()
        self.timeout = timeout

    async def _unary(self, method, req):
        try:
            return await method(req, timeout=self.timeout)
        except grpc.aio.AioRpcError as exc:
            raise errors.from_status(exc.code(), exc.details() or "") from None

    async def range(self, req: pb.RangeRequest) -> pb.RangeResponse:
        return await self._unary(self._kv.Range, req)

    async def put(self, req: pb.PutRequest) -> pb.PutResponse:
        return await self._unary(self._kv.Put, req)

    async def delete_range(self, req: pb.DeleteRangeRequest) -> pb.DeleteRangeResponse:
        return await self._unary(self._kv.DeleteRange, req)

    async def txn(self, req: pb.TxnRequest) -> pb.TxnResponse:
        return await self._unary(self._kv.Txn, req)

    async def compact(self, req: pb.CompactionRequest) -> pb.CompactionResponse:
        return await self._unary(self._kv.Compact, req)

    async def lease_grant(self, req: pb.LeaseGrantRequest) -> pb.LeaseGrantResponse:
        return await self._unary(self._lease.LeaseGrant, req)

    async def lease_revoke(self, req: pb.LeaseRevokeRequest) -> pb.LeaseRevokeResponse:
        return await self._unary(self._lease.LeaseRevoke, req)

    async def lease_keep_alive(self, lease_id: int) -> pb.LeaseKeepAliveResponse:
        # one long-lived keep-alive stream, one renewal in flight at a time
        async with self._keep_alive_lock:
            try:
                if self._keep_alive is None:
                    self._keep_alive = self._lease.LeaseKeepAlive()
                await self._keep_alive.write(pb.LeaseKeepAliveRequest(ID=lease_id))
                async with asyncio.timeout(self.timeout):
                    resp = await self._keep_alive.read()
            except (grpc.aio.AioRpcError, TimeoutError) as exc:
                self._keep_alive = None
                if isinstance(exc, grpc.aio.AioRpcError):
                    raise errors.from_status(exc.code(), exc.details() or "") from None
                raise errors.EtcdError(errors.Code.DEADLINE_EXCEEDED, "lease keep-alive timed out") from None
            if resp is grpc.aio.EOF:
                self._keep_alive = None
                raise errors.EtcdError(errors.Code.UNAVAILABLE, "lease keep-alive stream ended")
            return resp

    async def lease_time_to_live(self, req: pb.LeaseTimeToLiveRequest) -> pb.LeaseTimeToLiveResponse:
        return await self._unary(self._lease.LeaseTimeToLive, req)

    async def lease_leases(self) -> pb.LeaseLeasesResponse:
        return await self._unary(self._lease.LeaseLeases, pb.LeaseLeasesRequest())

    async def status(self) -> pb.StatusResponse:
        return await self._unary(self._maintenance.Status, pb.StatusRequest())

    async def watch(self, req: pb.WatchCreateRequest) -> _RemoteWatch:
        call = self._watch.Watch()
        try:
            await call.write(pb.WatchRequest(create_request=req))
            async with asyncio.timeout(self.timeout):
                created = await call.read()
        except grpc.aio.AioRpcError as exc:
            raise errors.from_status(exc.code(), exc.details() or "") from None
        except TimeoutError:
            call.cancel()
            raise errors.EtcdError(errors.Code.DEADLINE_EXCEEDED, "watch create timed out") from None
        if created is grpc.aio.EOF or created.canceled:
            call.cancel()
            raise WatchCreateRefused("" if created is grpc.aio.EOF else created.cancel_reason)
        return _RemoteWatch(call, created.watch_id)

    async def close(self) -> None:
        if self._keep_alive is not None:
            self._keep_alive.cancel()
        with contextlib.suppress(Exception):
            await self._channel.close()
