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
