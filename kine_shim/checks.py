"""Request validation done before a request reaches the revision log, with etcd's errors."""

from __future__ import annotations

from kine_shim import errors
from kine_shim.etcdpb import rpc_pb2 as pb

# etcd's defaults: --max-txn-ops and --max-request-bytes
MAX_TXN_OPS = 128
MAX_REQUEST_BYTES = 1536 * 1024
# grpc-go refuses a message this much over the request limit before etcd sees it
GRPC_OVERHEAD_BYTES = 512 * 1024
# etcd measures a write as the raft entry it proposes: the request inside an InternalRaftRequest, after a
# RequestHeader holding a 64-bit request ID: header tag (2) + length (1) + ID tag (1) + ID (10 varint bytes
# when the ID's top bit is set, as for most member IDs; one less for the others)
RAFT_HEADER_BYTES = 14


def raft_request_size(req) -> int:
    """The size etcd compares with --max-request-bytes for a write request."""
    size = req.ByteSize()
    return RAFT_HEADER_BYTES + 1 + _varint_len(size) + size


def _varint_len(n: int) -> int:
    return max(1, (n.bit_length() + 6) // 7)


def check_range(req: pb.RangeRequest) -> None:
    if not req.key:
        raise errors.EMPTY_KEY


def check_put(req: pb.PutRequest) -> None:
    if not req.key:
        raise errors.EMPTY_KEY
    if req.ignore_value and req.value:
        raise errors.VALUE_PROVIDED
    if req.ignore_lease and req.lease:
        raise errors.LEASE_PROVIDED


def check_delete(req: pb.DeleteRangeRequest) -> None:
    if not req.key:
        raise errors.EMPTY_KEY


def check_txn(req: pb.TxnRequest, max_ops: int = MAX_TXN_OPS) -> None:
    """etcd's order: every op of the whole tree first, then put/delete overlaps of each branch."""
    _check_txn_ops(req, max_ops)
    _check_intervals(req.success)
    _check_intervals(req.failure)


def _check_txn_ops(req: pb.TxnRequest, max_ops: int) -> None:
    ops = max(len(req.compare), len(req.success), len(req.failure))
    if ops > max_ops:
        raise errors.TOO_MANY_OPS
    for cmp in req.compare:
        if not cmp.key:
            raise errors.EMPTY_KEY
    for op in req.success:
        _check_op(op, max_ops - ops)
    for op in req.failure:
        _check_op(op, max_ops - ops)


def _check_op(op: pb.RequestOp, max_ops: int) -> None:
    kind = op.WhichOneof("request")
    if kind == "request_range":
        check_range(op.request_range)
    elif kind == "request_put":
        check_put(op.request_put)
    elif kind == "request_delete_range":
        check_delete(op.request_delete_range)
    elif kind == "request_txn":
        # a nested txn gets the operations its parent leaves; its overlaps are checked with the parent's
        _check_txn_ops(op.request_txn, max_ops)
    else:
        # an op without a request: etcd answers "key not found"
        raise errors.KEY_NOT_FOUND


class _Intervals:
    """Half-open byte intervals where an empty end means "to infinity" (etcd's affine intervals).

    A delete with range_end b"\\0" becomes the literal interval [key, "\\0"), which contains no key:
    etcd 3.4 checks duplicates that way, so a put under such a delete is not refused.
    """

    def __init__(self) -> None:
        self.items: list[tuple[bytes, bytes]] = []

    def add_delete(self, req: pb.DeleteRangeRequest) -> None:
        if req.range_end:
            self.items.append((req.key, req.range_end))
        else:
            self.items.append((req.key, req.key + b"\x00"))

    def contains(self, key: bytes) -> bool:
        return any(start <= key and (not end or key < end) for start, end in self.items)


def _check_intervals(ops) -> tuple[set[bytes], _Intervals]:
    dels = _Intervals()
    for op in ops:
        if op.WhichOneof("request") == "request_delete_range":
            dels.add_delete(op.request_delete_range)
    puts: set[bytes] = set()
    for op in ops:
        if op.WhichOneof("request") != "request_txn":
            continue
        puts_then, dels_then = _check_intervals(op.request_txn.success)
        puts_else, dels_else = _check_intervals(op.request_txn.failure)
        for key in puts_then:
            if key in puts or dels.contains(key):
                raise errors.DUPLICATE_KEY
            puts.add(key)
        for key in puts_else:
            # then and else branches are exclusive, so the same key in both is fine
            if (key in puts and key not in puts_then) or dels.contains(key):
                raise errors.DUPLICATE_KEY
            puts.add(key)
        dels.items.extend(dels_then.items)
        dels.items.extend(dels_else.items)
    for op in ops:
        if op.WhichOneof("request") != "request_put":
            continue
        key = op.request_put.key
        if key in puts or dels.contains(key):
            raise errors.DUPLICATE_KEY
        puts.add(key)
    return puts, dels


def is_read_only(req: pb.TxnRequest) -> bool:
    for op in (*req.success, *req.failure):
        kind = op.WhichOneof("request")
        if kind in ("request_put", "request_delete_range"):
            return False
        if kind == "request_txn" and not is_read_only(op.request_txn):
            return False
    return True


def kube_shape(req: pb.TxnRequest) -> bool:
    """True for the txns kube-apiserver sends for every create, update, delete and compaction step:
    one EQUAL compare of MOD or VERSION on one key, Then one Put or DeleteRange of that key,
    Else nothing or one plain Range of it. These take a shorter path with the same answers.
    """
    if len(req.compare) != 1 or len(req.success) != 1 or len(req.failure) > 1:
        return False
    cmp = req.compare[0]
    if (
        cmp.range_end
        or cmp.result != pb.Compare.EQUAL
        or cmp.target not in (pb.Compare.MOD, pb.Compare.VERSION)
    ):
        return False
    key = cmp.key
    op = req.success[0]
    kind = op.WhichOneof("request")
    if kind == "request_put":
        put = op.request_put
        if put.key != key or put.ignore_value or put.ignore_lease:
            return False
    elif kind == "request_delete_range":
        if op.request_delete_range.key != key or op.request_delete_range.range_end:
            return False
    else:
        return False
    if req.failure:
        other = req.failure[0]
        if other.WhichOneof("request") != "request_range":
            return False
        if other.request_range != pb.RangeRequest(key=key):
            return False
    return True
