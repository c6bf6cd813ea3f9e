"""An in-memory nft for unit tests, implementing the applier's interface (apply, fingerprint).

It understands the subset of nft syntax that Transaction produces and is deliberately strict: a command
that refers to a missing table, chain or set fails; so does deleting a chain or set that is still referenced
(EBUSY in the kernel), deleting a missing element, or adding an element whose key already exists (real nft
tolerates an identical re-add; `strict=False` restores that). Element keys are checked against the set's
type. Like nft, a transaction applies completely or not at all, and errors name the offending line.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass, field

from netproxy.applier import ErrorLine, Fingerprint, NftError
from netproxy.model import Family
from netproxy.state import DesiredState
from netproxy.transaction import Transaction

_REF_CHAIN = re.compile(r"\b(?:jump|goto)\s+([A-Za-z][A-Za-z0-9_/.\-]*)")
_REF_SET = re.compile(r"@([A-Za-z][A-Za-z0-9_/.\-]*)")
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_/.\-]*")
_VERDICTS = ("accept", "drop", "continue", "return")
_PROTOS = ("tcp", "udp", "sctp", "icmp", "icmpv6")


class _Failure(Exception):
    pass


@dataclass
class _Set:
    key_types: tuple[str, ...]
    value_type: str | None
    body: str
    elements: dict[str, str | None] = field(default_factory=dict)


@dataclass
class _Chain:
    hook: str | None
    rules: list[str] = field(default_factory=list)


@dataclass
class _Table:
    sets: dict[str, _Set] = field(default_factory=dict)
    chains: dict[str, _Chain] = field(default_factory=dict)
    chain_refs: Counter[str] = field(default_factory=Counter)
    set_refs: Counter[str] = field(default_factory=Counter)

    def clone(self) -> _Table:
        return _Table(
            {n: _Set(s.key_types, s.value_type, s.body, dict(s.elements)) for n, s in self.sets.items()},
            {n: _Chain(c.hook, list(c.rules)) for n, c in self.chains.items()},
            Counter(self.chain_refs),
            Counter(self.set_refs),
        )


def _braced(text: str) -> str:
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise _Failure("syntax error, expected { ... }")
    return text[1:-1].strip()


def _parse_set_body(body: str) -> tuple[tuple[str, ...], str | None]:
    for part in _braced(body).split(";"):
        part = part.strip()
        if part.startswith("type "):
            key, _, value = part[5:].partition(" : ")
            return tuple(k.strip() for k in key.split(" . ")), (value.strip() or None)
    raise _Failure("set definition has no type")


def _check_key(types: tuple[str, ...], key: str) -> None:
    parts = [p.strip() for p in key.split(" . ")]
    if len(parts) != len(types):
        raise _Failure(f"datatype mismatch: {key!r} for type {' . '.join(types)}")
    for kind, value in zip(types, parts, strict=True):
        try:
            if kind == "ipv4_addr":
                ipaddress.IPv4Address(value)
            elif kind == "ipv6_addr":
                ipaddress.IPv6Address(value)
            elif kind == "inet_proto" and value not in _PROTOS:
                raise ValueError(value)
            elif kind == "inet_service" and not 0 <= int(value) <= 65535:
                raise ValueError(value)
        except ValueError:
            raise _Failure(f"Error: Could not parse {kind} {value!r}") from None


def _verdict_ref(value: str) -> str | None:
    """Chain a verdict refers to, or None for a plain verdict; _Failure if it is no verdict."""
    if value in _VERDICTS:
        return None
    word, _, target = value.partition(" ")
    if word in ("jump", "goto") and _IDENT.fullmatch(target):
        return target
    raise _Failure(f"invalid verdict {value!r}")


class FakeNft:
    """Tables keyed by (family, name). Same interface as NftApplier: apply() and fingerprint()."""

    def __init__(self, strict: bool = True) -> None:
        self.strict = strict
        self.tables: dict[tuple[str, str], _Table] = {}
        self.applied: list[str] = []  # texts of the transactions that succeeded

    # -- interface -------------------------------------------------------------------------------
    async def apply(self, tx: Transaction | str) -> None:
        self.apply_sync(tx)

    async def fingerprint(self, family: Family, table: str) -> Fingerprint | None:
        t = self.tables.get((family, table))
        if t is None:
            return None
        return Fingerprint(
            {n: len(c.rules) for n, c in t.chains.items()},
            {n: len(s.elements) for n, s in t.sets.items()},
        )

    # -- helpers for tests -----------------------------------------------------------------------
    def apply_sync(self, tx: Transaction | str) -> None:
        text = tx.render() if isinstance(tx, Transaction) else tx
        work = {k: t.clone() for k, t in self.tables.items()}
        for number, line in enumerate(text.splitlines(), start=1):
            command = line.strip()
            if not command or command.startswith("#"):
                continue
            try:
                self._command(work, command)
            except _Failure as exc:
                raise NftError("nft transaction failed", (ErrorLine(number, line, str(exc)),)) from None
        self.tables = work
        self.applied.append(text)

    def snapshot(self) -> dict[tuple[str, str], dict[str, object]]:
        """Comparable contents: chains with hooks and rules, set definitions and elements."""
        return {
            key: {
                "chains": {n: (c.hook, tuple(c.rules)) for n, c in t.chains.items()},
                "sets": {n: (s.body, dict(s.elements)) for n, s in t.sets.items()},
            }
            for key, t in self.tables.items()
        }

    @staticmethod
    def expected_snapshot(state: DesiredState) -> dict[tuple[str, str], dict[str, object]]:
        """What snapshot() should equal once `state` is installed (dynamic sets hold no elements)."""
        return {
            (t.family, t.name): {
                "chains": {n: (c.hook and "{ " + c.hook + " }", c.rules) for n, c in t.chains.items()},
                "sets": {n: (s.body(), dict(t.elements.get(n, {}))) for n, s in t.sets.items()},
            }
            for t in state.tables
        }

    # -- commands --------------------------------------------------------------------------------
    def _command(self, work: dict[tuple[str, str], _Table], command: str) -> None:
        words = command.split(" ", 4)
        if len(words) < 4:
            raise _Failure("syntax error")
        verb, obj, family, table = words[:4]
        rest = words[4] if len(words) > 4 else ""
        if family not in ("ip", "ip6", "inet"):
            raise _Failure(f"syntax error, unexpected {family}")
        key = (family, table)
        if obj == "table":
            if rest:
                raise _Failure("syntax error")
            self._table_command(work, verb, key)
            return
        t = work.get(key)
        if t is None:
            raise _Failure("Could not process rule: No such file or directory")
        handlers = {
            ("add", "set"): self._add_set,
            ("add", "map"): self._add_set,
            ("delete", "set"): self._delete_set,
            ("delete", "map"): self._delete_set,
            ("add", "chain"): self._add_chain,
            ("flush", "chain"): self._flush_chain,
            ("delete", "chain"): self._delete_chain,
            ("add", "rule"): self._add_rule,
            ("add", "element"): self._add_element,
            ("delete", "element"): self._delete_element,
        }
        handler = handlers.get((verb, obj))
        if handler is None:
            raise _Failure(f"unsupported command {verb} {obj}")
        handler(t, rest)

    def _table_command(self, work: dict[tuple[str, str], _Table], verb: str, key: tuple[str, str]) -> None:
        if verb == "add":
            work.setdefault(key, _Table())
        elif verb == "delete":
            if work.pop(key, None) is None:
                raise _Failure("Could not process rule: No such file or directory")
        elif verb == "flush":
            t = work.get(key)
            if t is None:
                raise _Failure("Could not process rule: No such file or directory")
            for chain in t.chains.values():
                chain.rules.clear()
            for s in t.sets.values():
                s.elements.clear()
            t.chain_refs.clear()
            t.set_refs.clear()
        else:
            raise _Failure(f"unsupported command {verb} table")

    @staticmethod
    def _name_and_body(rest: str) -> tuple[str, str]:
        name, _, body = rest.partition(" ")
        if not _IDENT.fullmatch(name):
            raise _Failure(f"syntax error, bad identifier {name!r}")
        return name, body.strip()

    def _add_set(self, t: _Table, rest: str) -> None:
        name, body = self._name_and_body(rest)
        key_types, value_type = _parse_set_body(body)
        existing = t.sets.get(name)
        if existing is not None:
            if existing.body != body:
                raise _Failure("Could not process rule: File exists")
            return
        t.sets[name] = _Set(key_types, value_type, body)

    def _delete_set(self, t: _Table, rest: str) -> None:
        name, _ = self._name_and_body(rest)
        s = t.sets.get(name)
        if s is None:
            raise _Failure("Could not process rule: No such file or directory")
        if t.set_refs[name] > 0:
            raise _Failure("Could not process rule: Device or resource busy")
        for value in s.elements.values():
            target = _verdict_ref(value) if value is not None and s.value_type == "verdict" else None
            if target:
                t.chain_refs[target] -= 1
        del t.sets[name]

    def _add_chain(self, t: _Table, rest: str) -> None:
        name, body = self._name_and_body(rest)
        hook = body or None
        existing = t.chains.get(name)
        if existing is not None:
            if hook is not None and existing.hook != hook:
                raise _Failure("Could not process rule: File exists")
            return
        t.chains[name] = _Chain(hook)

    def _chain(self, t: _Table, name: str) -> _Chain:
        chain = t.chains.get(name)
        if chain is None:
            raise _Failure(f"No such file or directory; chain {name!r}")
        return chain

    def _release_rules(self, t: _Table, chain: _Chain) -> None:
        for rule in chain.rules:
            for target in _REF_CHAIN.findall(rule):
                t.chain_refs[target] -= 1
            for target in _REF_SET.findall(rule):
                t.set_refs[target] -= 1
        chain.rules.clear()

    def _flush_chain(self, t: _Table, rest: str) -> None:
        name, _ = self._name_and_body(rest)
        self._release_rules(t, self._chain(t, name))

    def _delete_chain(self, t: _Table, rest: str) -> None:
        name, _ = self._name_and_body(rest)
        chain = self._chain(t, name)
        if t.chain_refs[name] > 0:
            raise _Failure("Could not process rule: Device or resource busy")
        self._release_rules(t, chain)
        del t.chains[name]

    def _add_rule(self, t: _Table, rest: str) -> None:
        name, rule = self._name_and_body(rest)
        chain = self._chain(t, name)
        if not rule:
            raise _Failure("syntax error, empty rule")
        if rule.count("{") != rule.count("}"):
            raise _Failure("syntax error, unbalanced braces")
        targets = _REF_CHAIN.findall(rule)
        sets = _REF_SET.findall(rule)
        for target in targets:
            if target not in t.chains:
                raise _Failure(f"Could not process rule: No such file or directory; chain {target!r}")
        for target in sets:
            if target not in t.sets:
                raise _Failure(f"Could not process rule: No such file or directory; set {target!r}")
        for target in targets:
            t.chain_refs[target] += 1
        for target in sets:
            t.set_refs[target] += 1
        chain.rules.append(rule)

    def _elements(self, t: _Table, rest: str) -> tuple[str, _Set, list[tuple[str, str | None]]]:
        name, body = self._name_and_body(rest)
        s = t.sets.get(name)
        if s is None:
            raise _Failure(f"Could not process rule: No such file or directory; set {name!r}")
        items: list[tuple[str, str | None]] = []
        for raw in _braced(body).split(","):
            key, sep, value = raw.partition(" : ")
            items.append((key.strip(), value.strip() if sep else None))
        return name, s, items

    def _add_element(self, t: _Table, rest: str) -> None:
        _, s, items = self._elements(t, rest)
        for key, value in items:
            _check_key(s.key_types, key)
            if (value is None) != (s.value_type is None):
                raise _Failure("Error: map/set element does not match the set's kind")
            target = None
            if value is not None and s.value_type == "verdict":
                target = _verdict_ref(value)
                if target is not None and target not in t.chains:
                    raise _Failure(f"Could not process rule: No such file or directory; chain {target!r}")
            if key in s.elements:
                if self.strict or s.elements[key] != value:
                    raise _Failure("Could not process rule: File exists")
                continue
            s.elements[key] = value
            if target is not None:
                t.chain_refs[target] += 1

    def _delete_element(self, t: _Table, rest: str) -> None:
        _, s, items = self._elements(t, rest)
        for key, _value in items:
            if key not in s.elements:
                raise _Failure("Could not process rule: No such file or directory")
            old = s.elements.pop(key)
            if old is not None and s.value_type == "verdict":
                target = _verdict_ref(old)
                if target is not None:
                    t.chain_refs[target] -= 1
