"""Node predicates with upstream's semantics: tolerations against taints (v1helper.ToleratesTaint),
node selector terms (component-helpers nodeaffinity) and host port conflicts (HostPortInfo)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]

NO_SCHEDULE = "NoSchedule"
NO_EXECUTE = "NoExecute"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NODE_NAME_FIELD = "metadata.name"
ANY_IP = "0.0.0.0"


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    value: str
    effect: str


@dataclass(frozen=True, slots=True)
class Toleration:
    key: str
    operator: str
    value: str
    effect: str

    def tolerates(self, taint: Taint) -> bool:
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        # "Equal" and unset; an empty key only makes sense with Exists (validation enforces it)
        return self.operator in ("Equal", "") and self.value == taint.value


def taints_of(node: Obj) -> list[Taint]:
    raw = (node.get("spec") or {}).get("taints") or []
    return [
        Taint(str(t.get("key") or ""), str(t.get("value") or ""), str(t.get("effect") or ""))
        for t in raw
        if isinstance(t, dict)
    ]


def tolerations_of(spec: Obj) -> tuple[Toleration, ...]:
    return tuple(
        Toleration(
            str(t.get("key") or ""),
            str(t.get("operator") or ""),
            str(t.get("value") or ""),
            str(t.get("effect") or ""),
        )
        for t in spec.get("tolerations") or []
        if isinstance(t, dict)
    )


def tolerated(taint: Taint, tolerations: tuple[Toleration, ...]) -> bool:
    return any(t.tolerates(taint) for t in tolerations)


def first_untolerated(taints: tuple[Taint, ...], tolerations: tuple[Toleration, ...]) -> Taint | None:
    for taint in taints:
        if not tolerated(taint, tolerations):
            return taint
    return None


# -- node selector terms --


def _parse_int(text: str) -> int | None:
    try:
        return int(text, 10)
    except ValueError:
        return None


def _expression_matches(expr: Obj, labels: Mapping[str, str]) -> bool:
    """One matchExpressions requirement; malformed ones never match, as a parse error fails the term."""
    key, op, values = expr.get("key") or "", expr.get("operator"), expr.get("values") or []
    present = key in labels
    if op == "In":
        return bool(values) and present and labels[key] in values
    if op == "NotIn":
        return bool(values) and (not present or labels[key] not in values)
    if op == "Exists":
        return not values and present
    if op == "DoesNotExist":
        return not values and not present
    if op in ("Gt", "Lt"):
        want = _parse_int(str(values[0])) if len(values) == 1 else None
        have = _parse_int(labels[key]) if present else None
        if want is None or have is None:
            return False
        return have > want if op == "Gt" else have < want
    return False


def _field_matches(expr: Obj, node_name: str) -> bool:
    key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
    if len(values) != 1:
        return False
    have = node_name if key == NODE_NAME_FIELD else ""
    if op == "In":
        return have == values[0]
    if op == "NotIn":
        return have != values[0]
    return False


def term_is_empty(term: Obj) -> bool:
    return not term.get("matchExpressions") and not term.get("matchFields")


def term_matches(term: Obj, labels: Mapping[str, str], node_name: str) -> bool:
    """A NodeSelectorTerm: all its requirements hold. An empty term matches nothing."""
    if term_is_empty(term):
        return False
    return all(_expression_matches(e, labels) for e in term.get("matchExpressions") or ()) and all(
        _field_matches(e, node_name) for e in term.get("matchFields") or ()
    )


def required_terms(spec: Obj) -> tuple[Obj, ...] | None:
    """requiredDuringSchedulingIgnoredDuringExecution's terms (ORed), or None when the pod has none."""
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if not isinstance(required, dict):
        return None
    return tuple(t for t in required.get("nodeSelectorTerms") or () if isinstance(t, dict))


def preferred_terms(spec: Obj) -> tuple[tuple[int, Obj], ...]:
    """(weight, term) of preferredDuringScheduling terms that can ever match."""
    preferred = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "preferredDuringSchedulingIgnoredDuringExecution"
    )
    out = []
    for item in preferred or ():
        if not isinstance(item, dict):
            continue
        weight, term = item.get("weight") or 0, item.get("preference") or {}
        if isinstance(weight, int) and weight and isinstance(term, dict) and not term_is_empty(term):
            out.append((weight, term))
    return tuple(out)


def pinned_node_names(terms: tuple[Obj, ...] | None) -> frozenset[str] | None:
    """NodeAffinity's PreFilter: when every term names nodes with `metadata.name In`, only those nodes
    are evaluated (the others are reported as not satisfying NodeAffinity). None means all nodes."""
    if not terms:
        return None
    names: set[str] = set()
    for term in terms:
        term_names: set[str] | None = None
        for expr in term.get("matchFields") or ():
            if expr.get("key") == NODE_NAME_FIELD and expr.get("operator") == "In":
                values = {str(v) for v in expr.get("values") or ()}
                term_names = values if term_names is None else term_names & values
        if term_names is None:
            return None
        names |= term_names
    return frozenset(names)


# -- host ports --

HostPort = tuple[str, str, int]  # (hostIP, protocol, port)


def host_ports(spec: Obj) -> tuple[HostPort, ...]:
    """Ports a pod takes on its node: containers' and sidecars' hostPorts, with upstream's defaults."""
    containers = list(spec.get("containers") or ())
    containers += [c for c in spec.get("initContainers") or () if (c or {}).get("restartPolicy") == "Always"]
    out: list[HostPort] = []
    for container in containers:
        for port in (container or {}).get("ports") or ():
            number = (port or {}).get("hostPort") or 0
            if isinstance(number, int) and number > 0:
                out.append((port.get("hostIP") or ANY_IP, port.get("protocol") or "TCP", number))
    return tuple(out)


def port_conflicts(wanted: tuple[HostPort, ...], used: Mapping[HostPort, int], used_any_ip: Mapping) -> bool:
    """HostPortInfo.CheckConflict: 0.0.0.0 clashes with the same protocol/port on every IP.
    `used` counts (ip, protocol, port); `used_any_ip` counts (protocol, port) over all IPs."""
    for ip, protocol, port in wanted:
        if ip == ANY_IP:
            if used_any_ip.get((protocol, port)):
                return True
        elif used.get((ip, protocol, port)) or used.get((ANY_IP, protocol, port)):
            return True
    return False
