"""One datastore interface for the control plane, over the embedded store or any etcd v3 endpoint.

The API server is written once against `Datastore`: `EmbeddedDatastore` calls kine_shim's Store in
the same process (no serialization, no network), `RemoteDatastore` speaks gRPC to a real etcd
cluster or to `edgek8s datastore`. Both take and return etcd's protobuf messages and raise
kine_shim.errors.EtcdError with etcd's codes and messages.

RemoteDatastore lives in kine_shim.remote and is only imported from there on first use, so the
embedded path never loads grpc (~18 MB of RSS an edge node need not pay).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

from kine_shim import errors
from kine_shim.etcdpb import rpc_pb2 as pb
from kine_shim.store import Store
from kine_shim.watch import WatchStream

if TYPE_CHECKING:
    from kine_shim.remote import DEFAULT_TIMEOUT as DEFAULT_TIMEOUT
    from kine_shim.remote import RemoteDatastore as RemoteDatastore

_FROM_REMOTE = frozenset({"RemoteDatastore", "DEFAULT_TIMEOUT"})


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
        super().__init__(errors.Code.INVALID_ARGUMENT, reason or "watch refused")


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


def __getattr__(name: str) -> Any:
    # PEP 562: `from kine_shim.client import RemoteDatastore` keeps working, paying for grpc only then
    if name in _FROM_REMOTE:
        from kine_shim import remote

        return getattr(remote, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
