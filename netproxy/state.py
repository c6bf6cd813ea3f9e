"""Desired nftables state: what the renderer produces and the differ compares.

No nft I/O. One TableState per family; every chain is a name with its rules as text and every set/map is a
definition plus its elements (key text -> value text, or None for plain sets). A ComposedTable is the same
table kept as one Fragment per writer (the skeleton, each service port), so that replacing a few fragments
yields the table's changes in time proportional to those fragments, not to the table.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

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


@dataclass(frozen=True, slots=True)
class Fragment:
    """What one writer (the skeleton, or one service port) contributes to one table."""

    sets: Mapping[str, SetSpec] = field(default_factory=dict)
    chains: Mapping[str, ChainSpec] = field(default_factory=dict)
    # set/map name -> {element key: value or None}, in the order written
    elements: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.sets or self.chains or self.elements)


@dataclass(slots=True)
class TableChanges:
    """What a transaction has to do to one table, each list in the order its commands are issued."""

    family: Family
    name: str
    added_sets: list[SetSpec] = field(default_factory=list)
    added_chains: list[ChainSpec] = field(default_factory=list)
    changed_chains: list[ChainSpec] = field(default_factory=list)
    deleted_elements: dict[str, list[str]] = field(default_factory=dict)
    added_elements: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    removed_chains: list[str] = field(default_factory=list)
    removed_sets: list[SetSpec] = field(default_factory=list)
    # something cannot change in place (a set's definition, a chain's hook, a name changing kind)
    redefined: bool = False


# Who wrote a fragment; fragments are composed in ascending order (service ports use their key).
Owner = tuple[str | int, ...]
BASE_OWNER: Owner = ()  # sorts before every other owner
# The writers of one name, in owner order: most names have exactly one, kept without a list (a list per
# element of a 10k-service table costs memory and garbage-collector time).
_Writers = Owner | list[Owner]
_ABSENT = object()
_NO_ELEMENTS: Mapping[str, str | None] = {}


class _Change(NamedTuple):
    """One chain, set or element whose composed value differs; _ABSENT where it does not exist."""

    name: str
    old: object
    new: object
    old_first: Owner | None  # the writer that decides its place (the first), before
    new_first: Owner | None  # ... and after


def _writers(index: Mapping[str, _Writers], name: str) -> Sequence[Owner]:
    found = index.get(name)
    if found is None:
        return ()
    return found if type(found) is list else (found,)


def _enter(index: dict[str, _Writers], name: str, owner: Owner) -> None:
    found = index.get(name)
    if found is None:
        index[name] = owner
    elif type(found) is not list:
        index[name] = [found, owner] if found < owner else [owner, found]
    elif found[-1] < owner:
        found.append(owner)
    else:
        insort(found, owner)


def _drop(index: dict[str, _Writers], name: str, owner: Owner) -> None:
    found = index[name]
    if type(found) is not list:
        del index[name]
        return
    found.remove(owner)
    if len(found) == 1:
        index[name] = found[0]


def _sets_of(fragment: Fragment) -> Mapping[str, SetSpec]:
    return fragment.sets


def _chains_of(fragment: Fragment) -> Mapping[str, ChainSpec]:
    return fragment.chains


def _elements_of(set_name: str) -> Callable[[Fragment], Mapping[str, str | None]]:
    def pick(fragment: Fragment) -> Mapping[str, str | None]:
        return fragment.elements.get(set_name, _NO_ELEMENTS)

    return pick


def _in_write_order(
    changes: Iterable[_Change], first: Callable[[_Change], Owner], order: Callable[[Owner], Iterable[str]]
) -> list[_Change]:
    """Changes in the order their items have in the composed table: by deciding owner, then by the order
    in which that owner's fragment lists them."""
    groups: dict[Owner, dict[str, _Change]] = {}
    for change in changes:
        groups.setdefault(first(change), {})[change.name] = change
    ordered: list[_Change] = []
    for owner in sorted(groups):
        group = groups[owner]
        if len(group) == 1:
            ordered.extend(group.values())
        else:
            ordered.extend(group[name] for name in order(owner) if name in group)
    return ordered


def _old_first(change: _Change) -> Owner:
    assert change.old_first is not None
    return change.old_first


def _new_first(change: _Change) -> Owner:
    assert change.new_first is not None
    return change.new_first


class _Touched:
    """Names a batch of fragment replacements touches, each with the replaced owners that write it after."""

    def __init__(self) -> None:
        self.sets: dict[str, list[Owner]] = {}
        self.chains: dict[str, list[Owner]] = {}
        self.elements: dict[str, dict[str, list[Owner]]] = {}

    def add(self, owner: Owner, fragment: Fragment, writes: bool) -> None:
        for name in fragment.sets:
            holders = self.sets.setdefault(name, [])
            if writes:
                holders.append(owner)
        for name in fragment.chains:
            holders = self.chains.setdefault(name, [])
            if writes:
                holders.append(owner)
        for set_name, items in fragment.elements.items():
            touched = self.elements.setdefault(set_name, {})
            for key in items:
                holders = touched.setdefault(key, [])
                if writes:
                    holders.append(owner)


def _compose(family: Family, name: str, fragments: Iterable[Fragment]) -> TableState:
    """The renderer's accumulation: a set or chain keeps its first place and takes its last writer's
    value; an element keeps its first writer's place and value."""
    sets: dict[str, SetSpec] = {}
    chains: dict[str, ChainSpec] = {}
    elements: dict[str, dict[str, str | None]] = {}
    for fragment in fragments:
        for set_name, spec in fragment.sets.items():
            sets[set_name] = spec
            elements.setdefault(set_name, {})
        chains.update(fragment.chains)
        for set_name, items in fragment.elements.items():
            target = elements[set_name]
            for key, value in items.items():
                target.setdefault(key, value)
    return TableState(family, name, sets, chains, elements)


class ComposedTable:
    """One table as the composition of fragments in owner order (see _compose), with an index of which
    owners write every chain, set and element: replacing some fragments then yields exactly what diff()
    of the composed tables before and after would (same changes, same order), looking only at the names
    those fragments write. Redefinitions (see diff.needs_full_sync) are found among those names too: a
    name that is both a chain and a set before and after without being touched would go unnoticed, which
    the renderer rules out (service ports' chains and sets have prefixes no skeleton name has)."""

    def __init__(self, family: Family, name: str, base: Fragment) -> None:
        self.family = family
        self.name = name
        self._fragments: dict[Owner, Fragment] = {}
        self._sets: dict[str, _Writers] = {}
        self._chains: dict[str, _Writers] = {}
        self._elements: dict[str, dict[str, _Writers]] = {}
        self.update({BASE_OWNER: base})

    def freeze(self, replaced: Mapping[Owner, Fragment | None] | None = None) -> TableState:
        """The composed table, with `replaced` applied first if given (without keeping it)."""
        fragments = self._fragments
        if replaced:
            fragments = dict(fragments)
            for owner, fragment in replaced.items():
                if fragment:
                    fragments[owner] = fragment
                else:
                    fragments.pop(owner, None)
        return _compose(self.family, self.name, (fragments[owner] for owner in sorted(fragments)))

    def update(self, replaced: Mapping[Owner, Fragment | None]) -> None:
        """Replace these owners' fragments (an empty fragment or None removes the owner)."""
        for owner, fragment in replaced.items():
            old = self._fragments.pop(owner, None)
            if old is not None:
                self._unindex(owner, old)
            if fragment:
                self._fragments[owner] = fragment
                self._index(owner, fragment)

    def changes(self, replaced: Mapping[Owner, Fragment | None]) -> TableChanges:
        """What replacing these fragments changes, as diff() of the two composed tables would find it."""
        touched = _Touched()
        for owner, fragment in replaced.items():
            old = self._fragments.get(owner)
            if old:
                touched.add(owner, old, writes=False)
            if fragment:
                touched.add(owner, fragment, writes=True)
        out = TableChanges(self.family, self.name)
        set_changes = self._compare(self._sets, touched.sets, replaced, _sets_of, last_wins=True)
        chain_changes = self._compare(self._chains, touched.chains, replaced, _chains_of, last_wins=True)
        self._set_changes(out, set_changes, replaced)
        self._chain_changes(out, chain_changes, replaced)
        changed_specs = {change.name: change for change in set_changes}
        for set_name, keys in sorted(touched.elements.items()):
            self._element_changes(out, set_name, keys, changed_specs.get(set_name), replaced)
        return out

    # -- index ------------------------------------------------------------------------------------
    def _index(self, owner: Owner, fragment: Fragment) -> None:
        for name in fragment.sets:
            _enter(self._sets, name, owner)
        for name in fragment.chains:
            _enter(self._chains, name, owner)
        for set_name, items in fragment.elements.items():
            if items:
                per_set = self._elements.setdefault(set_name, {})
                for key in items:
                    _enter(per_set, key, owner)

    def _unindex(self, owner: Owner, fragment: Fragment) -> None:
        for name in fragment.sets:
            _drop(self._sets, name, owner)
        for name in fragment.chains:
            _drop(self._chains, name, owner)
        for set_name, items in fragment.elements.items():
            if not items:
                continue  # a set's (dynamic) contents, which no fragment writes
            per_set = self._elements[set_name]
            for key in items:
                _drop(per_set, key, owner)
            if not per_set:
                del self._elements[set_name]

    # -- changes ----------------------------------------------------------------------------------
    def _after(self, owner: Owner, replaced: Mapping[Owner, Fragment | None]) -> Fragment:
        fragment = replaced[owner] if owner in replaced else self._fragments[owner]
        assert fragment is not None
        return fragment

    def _compare(
        self,
        index: Mapping[str, _Writers],
        touched: Mapping[str, list[Owner]],
        replaced: Mapping[Owner, Fragment | None],
        pick: Callable[[Fragment], Mapping[str, object]],
        last_wins: bool,
    ) -> list[_Change]:
        """The touched names whose composed value (or existence) differs before and after."""
        deciding = -1 if last_wins else 0
        changes = []
        for name, holders in touched.items():
            before = _writers(index, name)
            kept = [owner for owner in before if owner not in replaced]
            after = sorted(kept + holders) if holders else kept
            old = pick(self._fragments[before[deciding]])[name] if before else _ABSENT
            new = pick(self._after(after[deciding], replaced))[name] if after else _ABSENT
            if old is _ABSENT or new is _ABSENT or old != new:
                first_before = before[0] if before else None
                changes.append(_Change(name, old, new, first_before, after[0] if after else None))
        return changes

    def _set_changes(
        self, out: TableChanges, changes: list[_Change], replaced: Mapping[Owner, Fragment | None]
    ) -> None:
        added, removed = [], []
        for change in changes:
            if change.old is _ABSENT:
                added.append(change)
                out.redefined |= change.name in self._chains
            elif change.new is _ABSENT:
                removed.append(change)
            else:
                out.redefined = True  # a set's definition cannot change in place
        for change in _in_write_order(added, _new_first, lambda o: self._after(o, replaced).sets):
            assert isinstance(change.new, SetSpec)
            out.added_sets.append(change.new)
        for change in _in_write_order(removed, _old_first, lambda o: self._fragments[o].sets):
            assert isinstance(change.old, SetSpec)
            out.removed_sets.append(change.old)

    def _chain_changes(
        self, out: TableChanges, changes: list[_Change], replaced: Mapping[Owner, Fragment | None]
    ) -> None:
        present = (c for c in changes if c.new is not _ABSENT)
        for change in _in_write_order(present, _new_first, lambda o: self._after(o, replaced).chains):
            chain = change.new
            assert isinstance(chain, ChainSpec)
            if change.old is _ABSENT:
                out.added_chains.append(chain)
                out.redefined |= change.name in self._sets
            else:
                assert isinstance(change.old, ChainSpec)
                out.redefined |= change.old.hook != chain.hook
                out.changed_chains.append(chain)
        gone = (c for c in changes if c.new is _ABSENT)
        out.removed_chains.extend(
            c.name for c in _in_write_order(gone, _old_first, lambda o: self._fragments[o].chains)
        )

    def _spec(self, set_name: str) -> object:
        owners = _writers(self._sets, set_name)
        return self._fragments[owners[-1]].sets[set_name] if owners else _ABSENT

    def _element_changes(
        self,
        out: TableChanges,
        set_name: str,
        touched: Mapping[str, list[Owner]],
        spec_change: _Change | None,
        replaced: Mapping[Owner, Fragment | None],
    ) -> None:
        old_spec = self._spec(set_name) if spec_change is None else spec_change.old
        new_spec = old_spec if spec_change is None else spec_change.new
        spec = new_spec if new_spec is not _ABSENT else old_spec
        if isinstance(spec, SetSpec) and spec.dynamic:
            return  # contents belong to the packet path
        pick = _elements_of(set_name)
        changes = self._compare(self._elements.get(set_name, {}), touched, replaced, pick, last_wins=False)
        if new_spec is not _ABSENT:  # elements of a removed set go with the set
            gone = (c for c in changes if c.old is not _ABSENT)
            ordered = _in_write_order(gone, _old_first, lambda o: pick(self._fragments[o]))
            if ordered:
                out.deleted_elements[set_name] = [c.name for c in ordered]
        new = (c for c in changes if c.new is not _ABSENT)
        ordered = _in_write_order(new, _new_first, lambda o: pick(self._after(o, replaced)))
        if ordered:
            out.added_elements[set_name] = [(c.name, _element_value(c.new)) for c in ordered]


def _element_value(value: object) -> str | None:
    assert value is None or isinstance(value, str)
    return value
