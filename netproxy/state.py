"""Desired nftables state: what the renderer produces and the differ compares.

Plain values, no nft I/O. One TableState per family; every chain is a name with its rules as text and every
set/map is a definition plus its elements (key text -> value text, or None for plain sets).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from netproxy.model import Family


@dataclass(frozen=True, slots=True)
class SetSpec:
    """Definition of a named set (value_type None) or map."""

    name: str
    key_type: str
    value_type: str | None = None
    flags: tuple[str, ...] = ()
    timeout: int | None = None
    comment: str | None = None

    @property
    def kind(self) -> str:
        return "set" if self.value_type is None else "map"

    @property
    def dynamic(self) -> bool:
        """Elements are added by the packet path (affinity), not by us."""
        return "dynamic" in self.flags

    def body(self) -> str:
        parts = [f"type {self.key_type}" + (f" : {self.value_type}" if self.value_type else "")]
        if self.flags:
            parts.append("flags " + ",".join(self.flags))
        if self.timeout is not None:
            parts.append(f"timeout {self.timeout}s")
        if self.comment:
            parts.append(f'comment "{self.comment}"')
        return "{ " + "; ".join(parts) + "; }"


@dataclass(frozen=True, slots=True)
class ChainSpec:
    """A chain and its rules; `hook` is the base-chain header (`type ... hook ... priority ...;`)."""

    name: str
    rules: tuple[str, ...] = ()
    hook: str | None = None

    def body(self) -> str | None:
        return None if self.hook is None else "{ " + self.hook + " }"


@dataclass(frozen=True, slots=True)
class TableState:
    family: Family
    name: str
    sets: Mapping[str, SetSpec] = field(default_factory=dict)
    chains: Mapping[str, ChainSpec] = field(default_factory=dict)
    # set/map name -> {element key: value or None}
    elements: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)

    @property
    def base_chains(self) -> tuple[str, ...]:
        return tuple(name for name, chain in self.chains.items() if chain.hook is not None)

    def element_count(self, set_name: str) -> int:
        return len(self.elements.get(set_name, {}))


@dataclass(frozen=True, slots=True)
class DesiredState:
    tables: tuple[TableState, ...]

    def table(self, family: Family) -> TableState:
        for table in self.tables:
            if table.family == family:
                return table
        raise KeyError(family)
