"""Turns EtcdError into the gRPC status etcd clients expect."""

from __future__ import annotations

import functools

import grpc

from kine_shim.errors import EtcdError


def etcd_errors(method):
    @functools.wraps(method)
    async def wrapper(self, request, context: grpc.aio.ServicerContext):
        try:
            return await method(self, request, context)
        except EtcdError as exc:
            await context.abort(exc.code, exc.message)

    return wrapper
