"""Key ranges with etcd's conventions: empty range_end = one key, b"\\0" = no upper bound."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KeyRange:
    start: bytes
    # None = no upper bound; only meaningful when single is False
    end: bytes | None
    single: bool

    @classmethod
    def of(cls, key: bytes, range_end: bytes) -> KeyRange:
        if not range_end:
            return cls(key, None, True)
        if range_end == b"\x00":
            return cls(key, None, False)
        return cls(key, range_end, False)

    def contains(self, key: bytes) -> bool:
        if self.single:
            return key == self.start
        if key < self.start:
            return False
        return self.end is None or key < self.end

    def sql(self, column: str = "key") -> tuple[str, tuple[bytes, ...]]:
        """A WHERE fragment selecting this range and its parameters."""
        if self.single:
            return f"{column} = ?", (self.start,)
        if self.end is None:
            return f"{column} >= ?", (self.start,)
        return f"{column} >= ? AND {column} < ?", (self.start, self.end)


def prefix_end(prefix: bytes) -> bytes:
    """The range_end that selects every key starting with prefix (etcd's GetPrefixRangeEnd)."""
    end = bytearray(prefix)
    for i in range(len(end) - 1, -1, -1):
        if end[i] < 0xFF:
            end[i] += 1
            return bytes(end[: i + 1])
    return b"\x00"
