"""Assembles the etcd v3 gRPC server around a Store."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import grpc

from kine_shim import checks
from kine_shim.etcdpb import rpc_pb2_grpc
from kine_shim.server.errors import ParsingInHandlers
from kine_shim.server.kv import KVServicer
from kine_shim.server.lease import LeaseServicer
from kine_shim.server.maintenance import ClusterServicer, MaintenanceServicer
from kine_shim.server.watch import WatchServicer
from kine_shim.store import Store

log = logging.getLogger(__name__)


def parse_listen_url(url: str) -> str:
    """http://host:port → host:port for grpc; only plain http is served so far."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", ""):
        raise ValueError(f"unsupported listen URL scheme {parts.scheme!r} in {url!r} (only http)")
    if not parts.hostname or parts.port is None:
        raise ValueError(f"listen URL {url!r} needs a host and a port")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{parts.port}"


async def serve(store: Store, listen_urls: list[str]) -> grpc.aio.Server:
    """Starts a gRPC server on every URL; returns it running."""
    server = grpc.aio.server(
        options=[
            # like etcd: refuse oversized messages in gRPC before they reach the datastore
            ("grpc.max_receive_message_length", store.config.max_request_bytes + checks.GRPC_OVERHEAD_BYTES),
            ("grpc.max_send_message_length", 2**31 - 1),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", 5000),
            ("grpc.so_reuseport", 0),
        ]
    )
    # like grpc-go, answer undecodable request bytes with INTERNAL rather than grpc-python's UNKNOWN
    handlers = ParsingInHandlers(server)
    rpc_pb2_grpc.add_KVServicer_to_server(KVServicer(store), handlers)
    rpc_pb2_grpc.add_WatchServicer_to_server(WatchServicer(store), handlers)
    rpc_pb2_grpc.add_LeaseServicer_to_server(LeaseServicer(store), handlers)
    rpc_pb2_grpc.add_MaintenanceServicer_to_server(MaintenanceServicer(store), handlers)
    rpc_pb2_grpc.add_ClusterServicer_to_server(ClusterServicer(store), handlers)
    for url in listen_urls:
        address = parse_listen_url(url)
        if server.add_insecure_port(address) == 0:
            raise OSError(f"cannot listen on {address}")
    await server.start()
    log.info("etcd API listening", extra={"urls": listen_urls})
    return server
