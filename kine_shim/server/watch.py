"""etcdserverpb.Watch: one bidirectional stream carrying many watchers."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from google.protobuf.message import DecodeError

from kine_shim.etcdpb import rpc_pb2_grpc
from kine_shim.server.errors import abort_undecodable
from kine_shim.store import Store

log = logging.getLogger(__name__)


class WatchServicer(rpc_pb2_grpc.WatchServicer):
    def __init__(self, store: Store) -> None:
        self.store = store

    async def Watch(self, request_iterator, context):
        stream = self.store.watch_stream()
        undecodable: list[DecodeError] = []

        async def read_requests() -> None:
            try:
                async for req in request_iterator:
                    await stream.handle(req)
            except DecodeError as exc:
                # something unreadable: end this stream only, with grpc-go's error
                undecodable.append(exc)
                stream.end()
            except Exception:
                stream.end()
                raise
            # a client that closed its side (CloseSend, as grpc-gateway does) keeps receiving, as from etcd,
            # until it cancels the call

        reader = asyncio.get_running_loop().create_task(read_requests())
        try:
            while True:
                resp = await stream.next_response()
                if resp is None:
                    break
                yield resp
            if undecodable:
                await abort_undecodable(context, undecodable[0])
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            stream.close()
