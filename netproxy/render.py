"""Model -> desired nftables state, one table per family.

Layout (per family, table `ip edgek8s` / `ip6 edgek8s`; nothing outside it is touched):

- base chains at upstream's priorities: DNAT in `nat-prerouting`/`nat-output` (dstnat), masquerade in
  `nat-postrouting` (srcnat), rejects/drops in filter chains (`filter` priority; the LoadBalancer firewall at
  dstnat - 10 because it must see the pre-DNAT destination);
- dispatch through named verdict maps (`service-ips`, `service-nodeports`, `no-endpoint-services`,
  `no-endpoint-nodeports`, `firewall-ips`) and sets (`cluster-ips`, `nodeport-ips`, `hairpin-endpoints`);
- per service port and family: `svc-*` (cluster traffic) and, when reachable from outside, `ext-*`. Each
  load-balances without per-endpoint chains and without any verdict map: a single endpoint is dnat'ed
  directly; N endpoints get N rules `numgen random mod (N-i) == 0 ... dnat to EP_i` (uniform overall), and
  from `lb_map_threshold` endpoints on, one `dnat ... to numgen random mod N map { i : ip . port }` rule.
  Why not always the map: each anonymous map is a kernel set, and the kernel names and looks up a table's
  sets by walking all of them, so 10k services with a map each take ~22 s to load (measured, nft 1.0.6,
  kernel 6.x) against ~1 s with plain rules. The few large services keep the O(1) map;
- ClientIP affinity is the one case with per-endpoint chains (`ep-*`) and dynamic timeout sets (`aff-*`);
  the random pick is the same rule ladder ending in `goto ep-*`;
- masquerading: a mark bit set for off-cluster sources (one rule in `services`) and for external traffic
  (in `ext-*`), plus hairpin traffic matched in postrouting by `saddr . daddr @hairpin-endpoints`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import NamedTuple

from netproxy import names
from netproxy.diff import full_sync, incremental
from netproxy.model import Endpoint, Family, ProxyConfig, ServicePort, ServicePortName, select_endpoints
from netproxy.state import (
    ChainSpec,
    ComposedTable,
    DesiredState,
    Fragment,
    Owner,
    SetSpec,
    TableState,
)
from netproxy.transaction import Transaction

# sets and maps
CLUSTER_IPS = "cluster-ips"
NODEPORT_IPS = "nodeport-ips"
HAIRPIN = "hairpin-endpoints"
SERVICE_IPS = "service-ips"
SERVICE_NODEPORTS = "service-nodeports"
NO_ENDPOINT_SERVICES = "no-endpoint-services"
NO_ENDPOINT_NODEPORTS = "no-endpoint-nodeports"
FIREWALL_IPS = "firewall-ips"
# regular chains of the skeleton
SERVICES = "services"
MASQUERADING = "masquerading"
MARK_MASQ = "mark-for-masquerade"
FIREWALL_CHECK = "firewall-check"
ENDPOINTS_CHECK = "service-endpoints-check"
NODEPORT_CHECK = "nodeport-endpoints-check"
REJECT = "reject-chain"

ADDR_TYPE: dict[Family, str] = {"ip": "ipv4_addr", "ip6": "ipv6_addr"}
_LOOPBACK: dict[Family, str] = {"ip": "127.0.0.0/8", "ip6": "::1"}
_ICMP_REJECT: dict[Family, str] = {
    "ip": "reject with icmp type port-unreachable",
    "ip6": "reject with icmpv6 type port-unreachable",
}
# (name, header): symbolic priorities where nft 1.0.6 allows them, numbers elsewhere (dstnat = -100).
BASE_CHAINS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "filter-prerouting",
        "type filter hook prerouting priority dstnat - 10; policy accept;",
        (f"ct state new jump {FIREWALL_CHECK}",),
    ),
    (
        "filter-output-pre-dnat",
        "type filter hook output priority -110; policy accept;",
        (f"ct state new jump {FIREWALL_CHECK}",),
    ),
    ("nat-prerouting", "type nat hook prerouting priority dstnat; policy accept;", (f"jump {SERVICES}",)),
    ("nat-output", "type nat hook output priority -100; policy accept;", (f"jump {SERVICES}",)),
    (
        "filter-input",
        "type filter hook input priority filter; policy accept;",
        (f"ct state new jump {NODEPORT_CHECK}", f"ct state new jump {ENDPOINTS_CHECK}"),
    ),
    (
        "filter-forward",
        "type filter hook forward priority filter; policy accept;",
        (f"ct state new jump {ENDPOINTS_CHECK}",),
    ),
    (
        "filter-output",
        "type filter hook output priority filter; policy accept;",
        (f"ct state new jump {ENDPOINTS_CHECK}",),
    ),
    (
        "nat-postrouting",
        "type nat hook postrouting priority srcnat; policy accept;",
        (f"jump {MASQUERADING}",),
    ),
)


def set_expr(values: Sequence[str]) -> str:
    """A single value, or an anonymous set of several."""
    return values[0] if len(values) == 1 else "{ " + ", ".join(values) + " }"


def _hex(mark: int) -> str:
    return f"{mark:#x}"


class _Table:
    """Accumulates one family's desired state (or one writer's fragment of it); the first writer of an
    element wins, the last writer of a chain or set."""

    __slots__ = ("chains", "config", "elements", "family", "sets")

    def __init__(self, config: ProxyConfig, family: Family) -> None:
        self.config = config
        self.family = family
        self.sets: dict[str, SetSpec] = {}
        self.chains: dict[str, ChainSpec] = {}
        self.elements: dict[str, dict[str, str | None]] = {}

    def add_set(self, spec: SetSpec) -> None:
        self.sets[spec.name] = spec
        self.elements.setdefault(spec.name, {})

    def add_chain(self, name: str, rules: Iterable[str], hook: str | None = None) -> None:
        self.chains[name] = ChainSpec(name, tuple(rules), hook)

    def add_element(self, set_name: str, key: str, value: str | None = None) -> None:
        self.elements.setdefault(set_name, {}).setdefault(key, value)

    def freeze(self) -> TableState:
        return TableState(self.family, self.config.table, self.sets, self.chains, self.elements)

    def fragment(self) -> Fragment:
        return Fragment(self.sets, self.chains, self.elements)


def _nodeport_match(config: ProxyConfig, family: Family) -> str:
    if config.nodeport_addresses is None:
        return f"fib daddr type local {family} daddr != {_LOOPBACK[family]}"
    return f"{family} daddr @{NODEPORT_IPS}"


def _skeleton(t: _Table) -> None:
    config, fam = t.config, t.family
    addr = ADDR_TYPE[fam]
    verdict_key = f"{addr} . inet_proto . inet_service"
    t.add_set(SetSpec(CLUSTER_IPS, addr, comment="Active ClusterIPs"))
    t.add_set(SetSpec(NODEPORT_IPS, addr, comment="IPs that accept NodePort traffic"))
    t.add_set(SetSpec(HAIRPIN, f"{addr} . {addr}", comment="endpoint . itself, for hairpin masquerade"))
    t.add_set(SetSpec(SERVICE_IPS, verdict_key, "verdict", comment="ClusterIP, ExternalIP and LB IP traffic"))
    t.add_set(SetSpec(SERVICE_NODEPORTS, "inet_proto . inet_service", "verdict", comment="NodePort traffic"))
    t.add_set(SetSpec(NO_ENDPOINT_SERVICES, verdict_key, "verdict", comment="services without endpoints"))
    t.add_set(
        SetSpec(
            NO_ENDPOINT_NODEPORTS,
            "inet_proto . inet_service",
            "verdict",
            comment="NodePorts without endpoints",
        )
    )
    t.add_set(SetSpec(FIREWALL_IPS, verdict_key, "verdict", comment="LB IPs with loadBalancerSourceRanges"))
    for ip in config.nodeport_addresses or ():
        if (":" in ip) == (fam == "ip6"):
            t.add_element(NODEPORT_IPS, ip)

    for name, hook, rules in BASE_CHAINS:
        t.add_chain(name, rules, hook)
    mark = _hex(config.masquerade_mark)
    services: list[str] = []
    cidrs = config.cidrs(fam)
    if config.masquerade_all:
        services.append(f"{fam} daddr @{CLUSTER_IPS} jump {MARK_MASQ}")
    elif cidrs:
        services.append(f"{fam} daddr @{CLUSTER_IPS} {fam} saddr != {set_expr(cidrs)} jump {MARK_MASQ}")
    nodeport_match = _nodeport_match(config, fam)
    services.append(f"{fam} daddr . meta l4proto . th dport vmap @{SERVICE_IPS}")
    services.append(f"{nodeport_match} meta l4proto . th dport vmap @{SERVICE_NODEPORTS}")
    t.add_chain(SERVICES, services)
    t.add_chain(MARK_MASQ, [f"meta mark set meta mark or {mark}"])
    t.add_chain(
        MASQUERADING,
        [
            f"meta mark & {mark} == {mark} meta mark set meta mark xor {mark} masquerade fully-random",
            f"ct status dnat {fam} saddr . {fam} daddr @{HAIRPIN} masquerade fully-random",
        ],
    )
    t.add_chain(FIREWALL_CHECK, [f"{fam} daddr . meta l4proto . th dport vmap @{FIREWALL_IPS}"])
    t.add_chain(
        ENDPOINTS_CHECK,
        [
            f"{fam} daddr . meta l4proto . th dport vmap @{NO_ENDPOINT_SERVICES}",
            f"{fam} daddr @{CLUSTER_IPS} goto {REJECT}",
        ],
    )
    t.add_chain(NODEPORT_CHECK, [f"{nodeport_match} meta l4proto . th dport vmap @{NO_ENDPOINT_NODEPORTS}"])
    t.add_chain(REJECT, ["meta l4proto tcp reject with tcp reset", _ICMP_REJECT[fam]])


def _target(family: Family, endpoint: Endpoint) -> str:
    return f"{endpoint.ip}:{endpoint.port}" if family == "ip" else f"[{endpoint.ip}]:{endpoint.port}"


def _dnat(family: Family, proto: str, endpoints: Sequence[Endpoint]) -> str:
    """One rule dnat'ing to one endpoint, or to one of several through an anonymous numgen map."""
    head = f"meta l4proto {proto} dnat {family} to"
    if len(endpoints) == 1:
        return f"{head} {_target(family, endpoints[0])}"
    entries = ", ".join(f"{i} : {e.ip} . {e.port}" for i, e in enumerate(endpoints))
    return f"{head} numgen random mod {len(endpoints)} map {{ {entries} }}"


def _pick(actions: Sequence[str]) -> list[str]:
    """Uniform random choice without any set: rule i fires with probability 1/(n-i) given that the rules
    before it did not, i.e. 1/n overall (what iptables' statistic module did for kube-proxy)."""
    count = len(actions)
    rules = [f"numgen random mod {count - i} == 0 {action}" for i, action in enumerate(actions[:-1])]
    return [*rules, actions[-1]]


def _balance(t: _Table, sp: ServicePort, endpoints: Sequence[Endpoint]) -> list[str]:
    """Rules that pick one endpoint and dnat to it."""
    fam, proto = t.family, sp.protocol.lower()
    timeout = sp.affinity_timeout
    if timeout is None:
        if len(endpoints) >= t.config.lb_map_threshold:
            return [_dnat(fam, proto, endpoints)]
        return _pick([_dnat(fam, proto, [e]) for e in endpoints])
    rules: list[str] = []
    gotos = []
    for e in endpoints:
        aff = names.affinity_set(sp.key, e, timeout)
        chain = names.endpoint_chain(sp.key, e, timeout)
        t.add_set(SetSpec(aff, ADDR_TYPE[fam], flags=("dynamic", "timeout"), timeout=timeout))
        t.add_chain(chain, [f"update @{aff} {{ {fam} saddr }}", _dnat(fam, proto, [e])])
        rules.append(f"{fam} saddr @{aff} goto {chain}")
        gotos.append(f"goto {chain}")
    return rules + _pick(gotos)


def _external_rules(
    t: _Table, sp: ServicePort, svc: str | None, cluster: Sequence[Endpoint], external: Sequence[Endpoint]
) -> list[str]:
    fam = t.family
    if not sp.external_local:
        rules = [f"jump {MARK_MASQ}"]
        if svc is not None and tuple(cluster) == tuple(external):
            return [*rules, f"goto {svc}"]
        return rules + _balance(t, sp, external)
    rules = []
    if svc is not None:
        # pods and the node itself reaching an external address get cluster-wide service (upstream's rule)
        cidrs = t.config.cidrs(fam)
        if cidrs:
            rules.append(f"{fam} saddr {set_expr(cidrs)} goto {svc}")
        rules.append(f"fib saddr type local jump {MARK_MASQ}")
        rules.append(f"fib saddr type local goto {svc}")
    return rules + _balance(t, sp, external)


def _service(t: _Table, sp: ServicePort, endpoints: Sequence[Endpoint]) -> None:
    fam = t.family
    cluster_ips = sp.ips(fam, "cluster")
    outside_ips = sp.ips(fam, "external") + sp.ips(fam, "lb")
    if not cluster_ips and not outside_ips:
        return  # not a service of this family
    selection = select_endpoints(sp, [e for e in endpoints if e.family == fam])
    proto = sp.protocol.lower()
    # no endpoints at all: reject; endpoints exist but none for this traffic policy: drop (like upstream)
    empty = "drop" if selection.any_usable else f"goto {REJECT}"

    svc = names.service_chain(sp.key) if selection.cluster else None
    if svc is not None:
        t.add_chain(svc, _balance(t, sp, selection.cluster))
    has_node_port = bool(sp.node_port and cluster_ips)
    ext = None
    if (outside_ips or has_node_port) and selection.external:
        ext = names.external_chain(sp.key)
        t.add_chain(ext, _external_rules(t, sp, svc, selection.cluster, selection.external))

    for ip in cluster_ips:
        t.add_element(CLUSTER_IPS, ip)
        key = f"{ip} . {proto} . {sp.port}"
        if svc is not None:
            t.add_element(SERVICE_IPS, key, f"goto {svc}")
        else:
            t.add_element(NO_ENDPOINT_SERVICES, key, empty)
    for ip in outside_ips:
        key = f"{ip} . {proto} . {sp.port}"
        if ext is not None:
            t.add_element(SERVICE_IPS, key, f"goto {ext}")
        else:
            t.add_element(NO_ENDPOINT_SERVICES, key, empty)
    if has_node_port:
        key = f"{proto} . {sp.node_port}"
        if ext is not None:
            t.add_element(SERVICE_NODEPORTS, key, f"goto {ext}")
        else:
            t.add_element(NO_ENDPOINT_NODEPORTS, key, empty)

    lb_ips = sp.ips(fam, "lb")
    if sp.lb_source_ranges and lb_ips:
        # Ranges only of the other family still restrict this one: nothing of this family is allowed.
        ranges = sp.source_ranges(fam)
        fw = names.firewall_chain(sp.key)
        t.add_chain(fw, [f"{fam} saddr != {set_expr(ranges)} drop" if ranges else "drop"])
        for ip in lb_ips:
            t.add_element(FIREWALL_IPS, f"{ip} . {proto} . {sp.port}", f"goto {fw}")

    used = (selection.cluster if svc else ()) + (selection.external if ext else ())
    for e in used:
        t.add_element(HAIRPIN, f"{e.ip} . {e.ip}")


def render(
    config: ProxyConfig,
    services: Iterable[ServicePort],
    endpoints: Mapping[ServicePortName, Sequence[Endpoint]],
) -> DesiredState:
    """The complete desired state for every configured family. Deterministic for equal input."""
    ordered = sorted(services, key=lambda sp: sp.key)
    tables = []
    for family in config.families:
        t = _Table(config, family)
        _skeleton(t)
        for sp in ordered:
            _service(t, sp, endpoints.get(sp.key, ()))
        tables.append(t.freeze())
    return DesiredState(tuple(tables))


class _Entry(NamedTuple):
    """One service port as last rendered: the input, and its fragment of each configured family's table."""

    service: ServicePort
    endpoints: tuple[Endpoint, ...]
    fragments: tuple[Fragment | None, ...]  # None: nothing of that family


def _skeleton_fragment(config: ProxyConfig, family: Family) -> Fragment:
    t = _Table(config, family)
    _skeleton(t)
    return t.fragment()


def _service_fragment(
    config: ProxyConfig, family: Family, sp: ServicePort, endpoints: Sequence[Endpoint]
) -> Fragment | None:
    t = _Table(config, family)
    _service(t, sp, endpoints)
    return t.fragment() or None


def _same(old: ServicePort, new: ServicePort) -> bool:
    return old is new or old == new  # identity first: most ports arrive as the very object cached


def _occurrence(key: ServicePortName, present: set[Owner]) -> Owner:
    """Owner of a repeated service port key: sorts right after the key and its earlier repeats, as render()'s
    stable sort orders them (repeats do not come from a valid cluster, but render() accepts them)."""
    n = 1
    while (*key, n) in present:
        n += 1
    return (*key, n)


class RenderCache:
    """render(), remembered service port by service port, for the syncer: a plan re-renders only the ports
    whose ServicePort or endpoints changed since the last committed plan, and its transaction touches only
    what they write (their chains and sets, their elements of the shared sets and maps). The states and
    transactions it yields are equal to render() and diff() of the same models, command for command."""

    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self._entries: dict[Owner, _Entry] = {}
        self._tables = tuple(
            ComposedTable(family, config.table, _skeleton_fragment(config, family))
            for family in config.families
        )
        self._state: DesiredState | None = None
        self._generation = 0

    def plan(
        self,
        services: Iterable[ServicePort],
        endpoints: Mapping[ServicePortName, Sequence[Endpoint]],
        changed: Collection[ServicePortName] | None = None,
    ) -> RenderPlan:
        """The model rendered against the last committed one (or against none).

        `changed`, if given, must hold every key whose ServicePorts or endpoints may differ from the committed
        model (more is harmless): only those are compared and re-rendered. None compares the whole model."""
        if changed is None:
            return RenderPlan(self, self._generation, self._scan(services, endpoints))
        replaced: dict[Owner, _Entry | None] = {}
        by_key: dict[ServicePortName, list[ServicePort]] = {key: [] for key in changed}
        for sp in services:
            if sp.key in by_key:
                by_key[sp.key].append(sp)
        for key, ports in by_key.items():
            self._replace_key(key, ports, tuple(endpoints.get(key, ())), replaced)
        return RenderPlan(self, self._generation, replaced)

    def _scan(
        self, services: Iterable[ServicePort], endpoints: Mapping[ServicePortName, Sequence[Endpoint]]
    ) -> dict[Owner, _Entry | None]:
        entries = self._entries
        replaced: dict[Owner, _Entry | None] = {}
        present: set[Owner] = set()
        known = 0
        for sp in services:
            key = sp.key
            owner: Owner = key if key not in present else _occurrence(key, present)
            present.add(owner)
            eps = tuple(endpoints.get(key, ()))
            entry = entries.get(owner)
            if entry is not None:
                known += 1
                if entry.endpoints == eps and _same(entry.service, sp):
                    continue
            replaced[owner] = self._render(sp, eps)
        if known != len(entries):
            for owner in entries.keys() - present:
                replaced[owner] = None
        return replaced

    def _replace_key(
        self,
        key: ServicePortName,
        ports: list[ServicePort],
        endpoints: tuple[Endpoint, ...],
        replaced: dict[Owner, _Entry | None],
    ) -> None:
        """Plan one key's service ports (its repeats owned as _scan names them) against the committed ones."""
        for n, sp in enumerate(ports):
            owner: Owner = key if n == 0 else (*key, n)
            entry = self._entries.get(owner)
            if entry is None or entry.endpoints != endpoints or not _same(entry.service, sp):
                replaced[owner] = self._render(sp, endpoints)
        # repeats are numbered without gaps, so the stale ones are those from len(ports) on
        n = len(ports)
        while (owner := key if n == 0 else (*key, n)) in self._entries:
            replaced[owner] = None
            n += 1

    def commit(self, plan: RenderPlan) -> None:
        """Make `plan` the model that the next plan is compared with (once its transaction is installed)."""
        if plan._cache is not self or plan._generation != self._generation:
            raise ValueError("plan was not made against this cache's current model")
        if plan._replaced:
            for table, replaced in zip(self._tables, plan._per_table, strict=True):
                table.update(replaced)
            for owner, entry in plan._replaced.items():
                if entry is None:
                    del self._entries[owner]
                else:
                    self._entries[owner] = entry
            self._state = plan._state
        self._generation += 1

    def state(self) -> DesiredState:
        """The whole desired state of the committed model (composed on first use after a change)."""
        if self._state is None:
            self._state = DesiredState(tuple(table.freeze() for table in self._tables))
        return self._state

    def _render(self, sp: ServicePort, endpoints: tuple[Endpoint, ...]) -> _Entry:
        fragments = tuple(_service_fragment(self.config, f, sp, endpoints) for f in self.config.families)
        return _Entry(sp, endpoints, fragments)


class RenderPlan:
    """A model rendered by a RenderCache: what changed against the cache's committed model."""

    def __init__(self, cache: RenderCache, generation: int, replaced: dict[Owner, _Entry | None]) -> None:
        self._cache = cache
        self._generation = generation
        self._replaced = replaced  # owner -> its new rendering, or None: the service port is gone
        self._per_table = tuple(
            {owner: None if entry is None else entry.fragments[i] for owner, entry in replaced.items()}
            for i in range(len(cache.config.families))
        )
        self._state: DesiredState | None = None

    @property
    def rendered(self) -> int:
        """Service ports rendered for this plan (the others came from the cache)."""
        return sum(entry is not None for entry in self._replaced.values())

    def state(self) -> DesiredState:
        """The whole desired state of the planned model, equal to render() of it."""
        if not self._replaced:
            return self._cache.state()
        if self._state is None:
            tables = zip(self._cache._tables, self._per_table, strict=True)
            self._state = DesiredState(tuple(table.freeze(replaced) for table, replaced in tables))
        return self._state

    def transaction(self) -> Transaction:
        """From the cache's committed model to this one: equal to diff() of their render()s."""
        if not self._replaced:
            return Transaction()
        tables = zip(self._cache._tables, self._per_table, strict=True)
        changes = [table.changes(replaced) for table, replaced in tables]
        if any(change.redefined for change in changes):
            return full_sync(self.state())
        return incremental(changes)
