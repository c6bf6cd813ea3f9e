"""Turns EtcdError (whose code is kine_shim.errors.Code) into the gRPC status etcd clients expect."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from kine_shim.errors import EtcdError

# grpc-go's words for request bytes that are not the request message (the codec's error follows)
UNMARSHAL_REQUEST = "grpc: error unmarshalling request: "
UNMARSHAL_STREAM_MESSAGE = "grpc: failed to unmarshal the received message "


def etcd_errors(method):
    @functools.wraps(method)
    async def wrapper(self, request, context: grpc.aio.ServicerContext):
        try:
            return await method(self, request, context)
        except EtcdError as exc:
            await context.abort(grpc.StatusCode[exc.code.name], exc.message)

    return wrapper


async def abort_undecodable(context: grpc.aio.ServicerContext, exc: DecodeError) -> None:
    """Ends a request stream that carried bytes that are not a request message, as grpc-go does."""
    await context.abort(grpc.StatusCode.INTERNAL, UNMARSHAL_STREAM_MESSAGE + str(exc))


class ParsingInHandlers:
    """The grpc.aio.Server as the generated add_*Servicer_to_server functions see it.

    Unary requests are parsed inside the handler, so bytes that are not the request message get
    grpc-go's (and so etcd's) answer, INTERNAL "grpc: error unmarshalling request: ...", instead of
    grpc-python's UNKNOWN "Unexpected <class 'DecodeError'>". Request streams are left to the
    servicers (see abort_undecodable).
    """

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        # the generated code hands the same handlers to add_registered_method_handlers next: wrapped there
        pass

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        wrapped = {name: _parse_inside(handler) for name, handler in handlers.items()}
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, wrapped),))
        self._server.add_registered_method_handlers(service, wrapped)


async def _parse(
    parse: Callable[[bytes], Any], raw: bytes, context: grpc.aio.ServicerContext, words: str
) -> Any:
    try:
        return parse(raw)
    except DecodeError as exc:
        await context.abort(grpc.StatusCode.INTERNAL, words + str(exc))


def _parse_inside(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    parse = handler.request_deserializer
    if parse is None or handler.request_streaming:
        return handler
    if handler.response_streaming:
        stream_behavior = handler.unary_stream

        async def unary_stream(raw: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            # grpc-go reads a server-streaming call's request as a stream message, hence its other words
            request = await _parse(parse, raw, context, UNMARSHAL_STREAM_MESSAGE)
            async for response in stream_behavior(request, context):
                yield response

        serialize = handler.response_serializer
        return grpc.unary_stream_rpc_method_handler(unary_stream, response_serializer=serialize)
    behavior = handler.unary_unary

    async def unary_unary(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
        return await behavior(await _parse(parse, raw, context, UNMARSHAL_REQUEST), context)

    return grpc.unary_unary_rpc_method_handler(unary_unary, response_serializer=handler.response_serializer)
