"""etcd's error vocabulary: gRPC status codes and the exact messages etcd clients match on."""

from __future__ import annotations

import grpc


class EtcdError(Exception):
    """An error that crosses the API boundary with etcd's code and message."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"EtcdError({self.code.name}, {self.message!r})"


def _err(code: grpc.StatusCode, message: str) -> EtcdError:
    return EtcdError(code, message)


_INVALID = grpc.StatusCode.INVALID_ARGUMENT
_OUT_OF_RANGE = grpc.StatusCode.OUT_OF_RANGE

EMPTY_KEY = _err(_INVALID, "etcdserver: key is not provided")
KEY_NOT_FOUND = _err(_INVALID, "etcdserver: key not found")
VALUE_PROVIDED = _err(_INVALID, "etcdserver: value is provided")
LEASE_PROVIDED = _err(_INVALID, "etcdserver: lease is provided")
TOO_MANY_OPS = _err(_INVALID, "etcdserver: too many operations in txn request")
DUPLICATE_KEY = _err(_INVALID, "etcdserver: duplicate key given in txn request")
REQUEST_TOO_LARGE = _err(_INVALID, "etcdserver: request is too large")
COMPACTED = _err(_OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted")
FUTURE_REV = _err(_OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision")
LEASE_NOT_FOUND = _err(grpc.StatusCode.NOT_FOUND, "etcdserver: requested lease not found")
LEASE_EXISTS = _err(grpc.StatusCode.FAILED_PRECONDITION, "etcdserver: lease already exists")
LEASE_TTL_TOO_LARGE = _err(_OUT_OF_RANGE, "etcdserver: too large lease TTL")
NO_SPACE = _err(grpc.StatusCode.RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded")
STOPPED = _err(grpc.StatusCode.UNAVAILABLE, "etcdserver: server stopped")
NOT_CAPABLE = _err(grpc.StatusCode.UNIMPLEMENTED, "etcdserver: not capable")


_KNOWN = {
    e.message: e
    for e in (
        EMPTY_KEY, KEY_NOT_FOUND, VALUE_PROVIDED, LEASE_PROVIDED, TOO_MANY_OPS, DUPLICATE_KEY,
        REQUEST_TOO_LARGE, COMPACTED, FUTURE_REV, LEASE_NOT_FOUND, LEASE_EXISTS, LEASE_TTL_TOO_LARGE,
        NO_SPACE, STOPPED, NOT_CAPABLE,
    )
}  # fmt: skip


def from_status(code: grpc.StatusCode, message: str) -> EtcdError:
    """The error a remote etcd answered, as the same object the embedded store raises when it is one
    of etcd's well-known errors (so callers can test `exc is errors.COMPACTED` either way)."""
    known = _KNOWN.get(message)
    if known is not None and known.code == code:
        return known
    return EtcdError(code, message)
