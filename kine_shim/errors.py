"""etcd's error vocabulary: gRPC status codes and the exact messages etcd clients match on.

The codes are our own mirror of gRPC's so the embedded store never imports grpc (~18 MB of RSS);
the gRPC server and RemoteDatastore convert at their boundary.
"""

from __future__ import annotations

import enum
from typing import Protocol


class Code(enum.IntEnum):
    """gRPC's status codes, with gRPC's names and numbers (grpc.StatusCode[code.name] is the same code)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class _NamedCode(Protocol):
    """A Code or a grpc.StatusCode: anything naming one of gRPC's codes."""

    @property
    def name(self) -> str: ...


class EtcdError(Exception):
    """An error that crosses the API boundary with etcd's code and message."""

    def __init__(self, code: _NamedCode, message: str) -> None:
        super().__init__(message)
        # a grpc.StatusCode is accepted and kept as its Code, so `.code` compares one way everywhere
        self.code = Code[code.name]
        self.message = message

    def __repr__(self) -> str:
        return f"EtcdError({self.code.name}, {self.message!r})"


def _err(code: Code, message: str) -> EtcdError:
    return EtcdError(code, message)


_INVALID = Code.INVALID_ARGUMENT
_OUT_OF_RANGE = Code.OUT_OF_RANGE

EMPTY_KEY = _err(_INVALID, "etcdserver: key is not provided")
KEY_NOT_FOUND = _err(_INVALID, "etcdserver: key not found")
VALUE_PROVIDED = _err(_INVALID, "etcdserver: value is provided")
LEASE_PROVIDED = _err(_INVALID, "etcdserver: lease is provided")
TOO_MANY_OPS = _err(_INVALID, "etcdserver: too many operations in txn request")
DUPLICATE_KEY = _err(_INVALID, "etcdserver: duplicate key given in txn request")
REQUEST_TOO_LARGE = _err(_INVALID, "etcdserver: request is too large")
COMPACTED = _err(_OUT_OF_RANGE, "etcdserver: mvcc: required revision has been compacted")
FUTURE_REV = _err(_OUT_OF_RANGE, "etcdserver: mvcc: required revision is a future revision")
LEASE_NOT_FOUND = _err(Code.NOT_FOUND, "etcdserver: requested lease not found")
LEASE_EXISTS = _err(Code.FAILED_PRECONDITION, "etcdserver: lease already exists")
LEASE_TTL_TOO_LARGE = _err(_OUT_OF_RANGE, "etcdserver: too large lease TTL")
NO_SPACE = _err(Code.RESOURCE_EXHAUSTED, "etcdserver: mvcc: database space exceeded")
STOPPED = _err(Code.UNAVAILABLE, "etcdserver: server stopped")
NOT_CAPABLE = _err(Code.UNIMPLEMENTED, "etcdserver: not capable")


_KNOWN = {
    e.message: e
    for e in (
        EMPTY_KEY, KEY_NOT_FOUND, VALUE_PROVIDED, LEASE_PROVIDED, TOO_MANY_OPS, DUPLICATE_KEY,
        REQUEST_TOO_LARGE, COMPACTED, FUTURE_REV, LEASE_NOT_FOUND, LEASE_EXISTS, LEASE_TTL_TOO_LARGE,
        NO_SPACE, STOPPED, NOT_CAPABLE,
    )
}  # fmt: skip


def from_status(code: _NamedCode, message: str) -> EtcdError:
    """The error a remote etcd answered (code: a grpc.StatusCode), as the same object the embedded store
    raises when it is one of etcd's well-known errors (so callers can test `exc is errors.COMPACTED`
    either way)."""
    known = _KNOWN.get(message)
    if known is not None and known.code.name == code.name:
        return known
    return EtcdError(code, message)
