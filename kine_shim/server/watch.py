"""etcdserverpb.Watch: one bidirectional stream carrying many watchers."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from kine_shim.etcdpb import rpc_pb2_grpc
from kine_shim.store import Store

log = logging.getLogger(__name__)


class WatchServicer(rpc_pb2_grpc.WatchServicer):
    def __init__(self, store: Store) -> None:
        self.store = store

    async def Watch(self, request_iterator, context):
        stream = self.store.watch_stream()

        async def read_requests() -> None:
            try:
                async for req in request_iterator:
                    await stream.handle(req)
            finally:
                # the client closed its side or sent something unreadable: end this stream only
                stream.end()

        reader = asyncio.get_running_loop().create_task(read_requests())
        try:
            while True:
                resp = await stream.next_response()
                if resp is None:
                    break
                yield resp
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            stream.close()
