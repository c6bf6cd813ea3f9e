"""One datastore interface for the control plane, over the embedded store or any etcd v3 endpoint.

The API server is written once against `Datastore`: `EmbeddedDatastore` calls kine_shim's Store in
the same process (no serialization, no network), `RemoteDatastore` speaks gRPC to a real etcd
cluster or to `edgek8s datastore`. Both take and return etcd's protobuf messages and raise
kine_shim.errors.EtcdError with etcd's codes and messages.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Protocol

import grpc

from kine_shim import errors
from kine_shim.etcdpb import rpc_pb2 as pb
from kine_shim.etcdpb import rpc_pb2_grpc
from kine_shim.store import Store
from kine_shim.watch import WatchStream

# every unary call gets a deadline: a datastore that stops answering must not hang the API server
DEFAULT_TIMEOUT = 15.0


class Watch(Protocol):
    """One watch: the responses after `created` (events, progress notifications, cancellation)."""

    watch_id: int

    def __aiter__(self) -> AsyncIterator[pb.WatchResponse]: ...

    async def request_progress(self) -> None: ...

    async def close(self) -> None: ...


class Datastore(Protocol):
    async def range(self, req: pb.RangeRequest) -> pb.RangeResponse: ...
    async def put(self, req: pb.PutRequest) -> pb.PutResponse: ...
    async def delete_range(self, req: pb.DeleteRangeRequest) -> pb.DeleteRangeResponse: ...
    async def txn(self, req: pb.TxnRequest) -> pb.TxnResponse: ...
    async def compact(self, req: pb.CompactionRequest) -> pb.CompactionResponse: ...
    async def lease_grant(self, req: pb.LeaseGrantRequest) -> pb.LeaseGrantResponse: ...
    async def lease_revoke(self, req: pb.LeaseRevokeRequest) -> pb.LeaseRevokeResponse: ...
    async def lease_keep_alive(self, lease_id: int) -> pb.LeaseKeepAliveResponse: ...
    async def lease_time_to_live(self, req: pb.LeaseTimeToLiveRequest) -> pb.LeaseTimeToLiveResponse: ...
    async def lease_leases(self) -> pb.LeaseLeasesResponse: ...
    async def status(self) -> pb.StatusResponse: ...
    async def watch(self, req: pb.WatchCreateRequest) -> Watch: ...
    async def close(self) -> None: ...


class WatchCreateRefused(errors.EtcdError):
    def __init__(self, reason: str) -> None:
        super().__init__(grpc.StatusCode.INVALID_ARGUMENT, reason or "watch refused")


# -- in-process --


class _EmbeddedWatch:
    def __init__(self, stream: WatchStream, watch_id: int) -> None:
        self._stream = stream
        self.watch_id = watch_id

    async def __aiter__(self) -> AsyncIterator[pb.WatchResponse]:
        while True:
            resp = await self._stream.next_response()
            if resp is None:
                return
            yield resp
            if resp.canceled:
                return

    async def request_progress(self) -> None:
        self._stream.request_progress()

    async def close(self) -> None:
        self._stream.close()


class EmbeddedDatastore:
    """The Store in this process: the default for `edgek8s server`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def range(self, req: pb.RangeRequest) -> pb.RangeResponse:
        return await self.store.range(req)

    async def put(self, req: pb.PutRequest) -> pb.PutResponse:
        return await self.store.put(req)

    async def delete_range(self, req: pb.DeleteRangeRequest) -> pb.DeleteRangeResponse:
        return await self.store.delete_range(req)

    async def txn(self, req: pb.TxnRequest) -> pb.TxnResponse:
        return await self.store.txn(req)

    async def compact(self, req: pb.CompactionRequest) -> pb.CompactionResponse:
        return await self.store.compact(req)

    async def lease_grant(self, req: pb.LeaseGrantRequest) -> pb.LeaseGrantResponse:
        return await self.store.lease_grant(req)

    async def lease_revoke(self, req: pb.LeaseRevokeRequest) -> pb.LeaseRevokeResponse:
        return await self.store.lease_revoke(req)

    async def lease_keep_alive(self, lease_id: int) -> pb.LeaseKeepAliveResponse:
        return self.store.lease_keep_alive(lease_id)

    async def lease_time_to_live(self, req: pb.LeaseTimeToLiveRequest) -> pb.LeaseTimeToLiveResponse:
        return await self.store.lease_time_to_live(req)

    async def lease_leases(self) -> pb.LeaseLeasesResponse:
        return self.store.lease_leases()

    async def status(self) -> pb.StatusResponse:
        return await self.store.status()

    async def watch(self, req: pb.WatchCreateRequest) -> _EmbeddedWatch:
        stream = self.store.watch_stream()
        await stream.create(req)
        created = await stream.next_response()
        if created is None or created.canceled:
            stream.close()
            raise WatchCreateRefused(created.cancel_reason if created else "")
        return _EmbeddedWatch(stream, created.watch_id)

    async def close(self) -> None:
        """The store belongs to whoever started it; nothing to release here."""


# -- over gRPC --


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
                raise errors.EtcdError(
                    grpc.StatusCode.DEADLINE_EXCEEDED, "lease keep-alive timed out"
                ) from None
            if resp is grpc.aio.EOF:
                self._keep_alive = None
                raise errors.EtcdError(grpc.StatusCode.UNAVAILABLE, "lease keep-alive stream ended")
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
            raise errors.EtcdError(grpc.StatusCode.DEADLINE_EXCEEDED, "watch create timed out") from None
        if created is grpc.aio.EOF or created.canceled:
            call.cancel()
            raise WatchCreateRefused("" if created is grpc.aio.EOF else created.cancel_reason)
        return _RemoteWatch(call, created.watch_id)

    async def close(self) -> None:
        if self._keep_alive is not None:
            self._keep_alive.cancel()
        with contextlib.suppress(Exception):
            await self._channel.close()
