"""The syncer's incremental rendering (RenderCache, ComposedTable) against the plain full render: at every
step of random change sequences the installed state, the transaction text and the state kept for drift
repair must equal what render() + diff() of the whole model give, byte for byte."""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import random
import re
from collections import Counter

import pytest

from netproxy.applier import NftApplier, NftError
from netproxy.diff import diff, full_sync, incremental, needs_full_sync
from netproxy.fake import FakeNft
from netproxy.model import Endpoint, ProxyConfig, ServicePort, ServicePortName, select_endpoints
from netproxy.render import RenderCache, render
from netproxy.state import ChainSpec, ComposedTable, DesiredState, Fragment, Owner, SetSpec, TableState
from netproxy.syncer import RuleSyncer
from netproxy.transaction import Transaction
from netproxy.watcher import ClusterModel, merge_endpoints
from tests.netproxy.conftest import needs_netns, nft_in
from tests.netproxy.randomized import random_endpoint, random_service

CONFIGS = {
    "dual": ProxyConfig(cluster_cidrs=("10.42.0.0/16", "fd00:42::/56"), nodeport_addresses=("192.168.1.10",)),
    "v4-map": ProxyConfig(families=("ip",), masquerade_all=True, lb_map_threshold=2),
    "any-nodeport": ProxyConfig(nodeport_addresses=None, lb_map_threshold=3),
}

Services = list[ServicePort]
Endpoints = dict[ServicePortName, list[Endpoint]]


# -- random models with the overlaps a real cluster has (and a few it should not)
def _endpoints(rng: random.Random) -> list[Endpoint]:
    # a small address pool: many services share endpoints, hence hairpin elements with several writers
    return [random_endpoint(rng, v6=rng.random() < 0.2) for _ in range(rng.randrange(5))]


def _new_service(rng: random.Random, index: int, services: Services) -> ServicePort:
    sp = random_service(rng, index)
    if services and rng.random() < 0.3:  # another port of an existing Service: shares its ClusterIPs
        other = rng.choice(services)
        sp = dataclasses.replace(
            sp, namespace=other.namespace, name=other.name, cluster_ips=other.cluster_ips
        )
    elif services and rng.random() < 0.1:  # same ClusterIP, protocol and port: colliding map keys
        other = rng.choice(services)
        sp = dataclasses.replace(sp, cluster_ips=other.cluster_ips, protocol=other.protocol, port=other.port)
    return sp


def _changed_service(rng: random.Random, sp: ServicePort) -> ServicePort:
    change = rng.randrange(6)
    if change == 0:
        return dataclasses.replace(sp, port=sp.port % 1000 + 1)
    if change == 1:
        return dataclasses.replace(
            sp, affinity_timeout=None if sp.affinity_timeout else rng.choice((60, 600))
        )
    if change == 2:
        return dataclasses.replace(sp, external_local=not sp.external_local, node_port=sp.node_port or 31234)
    if change == 3:
        return dataclasses.replace(sp, internal_local=not sp.internal_local)
    if change == 4:
        lb = () if sp.lb_ips else ("203.0.113.99",)
        return dataclasses.replace(sp, lb_ips=lb, lb_source_ranges=("198.51.100.0/24",) if lb else ())
    return dataclasses.replace(sp, cluster_ips=(*sp.cluster_ips, f"fd00:96::{rng.randrange(1, 9)}"))


def _mutate(rng: random.Random, services: Services, endpoints: Endpoints, index: int) -> None:
    """One random change, in place: what a watcher delivers between two syncs."""
    action = rng.randrange(10)
    if not services or action == 0:
        sp = _new_service(rng, index, services)
        services.append(sp)
        endpoints[sp.key] = _endpoints(rng)
    elif action == 1:
        services.pop(rng.randrange(len(services)))
    elif action == 2:
        i = rng.randrange(len(services))
        services[i] = _changed_service(rng, services[i])
    elif action == 3:
        endpoints[rng.choice(services).key] = _endpoints(rng)
    elif action == 4:
        eps = endpoints.setdefault(rng.choice(services).key, [])
        if eps:
            i = rng.randrange(len(eps))
            eps[i] = dataclasses.replace(eps[i], ready=not eps[i].ready, terminating=eps[i].ready)
    elif action == 5:
        eps = endpoints.setdefault(rng.choice(services).key, [])
        if eps:
            eps.pop(rng.randrange(len(eps)))  # mutated in place: the cache must not hold the caller's list
    elif action == 6 and rng.random() < 0.3:
        # a repeated key (no valid cluster has one; render() still accepts it)
        services.append(_changed_service(rng, rng.choice(services)))
    elif action == 7:
        rng.shuffle(services)  # input order matters to neither path (except among repeated keys)
    elif action == 8:
        eps = endpoints.setdefault(rng.choice(services).key, [])
        eps.append(Endpoint(f"10.42.9.{rng.randrange(1, 5)}", 8080, local=rng.random() < 0.5))
    else:
        endpoints[rng.choice(services).key] = []


def _inputs(services: Services, endpoints: Endpoints) -> dict[tuple[ServicePortName, int], object]:
    """What each service port (the n-th of its key) is rendered from."""
    seen: Counter[ServicePortName] = Counter()
    out: dict[tuple[ServicePortName, int], object] = {}
    for sp in services:
        out[(sp.key, seen[sp.key])] = (sp, tuple(endpoints.get(sp.key, ())))
        seen[sp.key] += 1
    return out


def _model(rng: random.Random, count: int) -> tuple[Services, Endpoints]:
    services: Services = []
    endpoints: Endpoints = {}
    for index in range(count):
        sp = _new_service(rng, index, services)
        services.append(sp)
        endpoints[sp.key] = _endpoints(rng)
    return services, endpoints


# -- the syncer, step by step, against render() + diff()
@pytest.mark.parametrize("config_name", sorted(CONFIGS))
@pytest.mark.parametrize("seed", range(6))
async def test_random_changes_install_exactly_the_full_render(config_name: str, seed: int) -> None:
    config = CONFIGS[config_name]
    rng = random.Random(seed)
    services, endpoints = _model(rng, 30)
    fake = FakeNft()  # strict: a dangling reference, duplicate or missing element fails the transaction
    syncer = RuleSyncer(fake, config)
    first = await syncer.sync(services, endpoints)
    previous = render(config, services, endpoints)
    assert first.full and first.transaction.render() == full_sync(previous).render()
    for step in range(40):
        inputs = _inputs(services, endpoints)
        changes = 1 if rng.random() < 0.6 else rng.randrange(2, 6)
        for n in range(changes):
            _mutate(rng, services, endpoints, 1000 + 10 * step + n)
        changed = [k for k, v in _inputs(services, endpoints).items() if inputs.get(k) != v]
        result = await syncer.sync(services, endpoints)
        expected = render(config, services, endpoints)
        where = f"{config_name} seed {seed} step {step}"
        assert not result.full
        assert result.transaction.render() == diff(previous, expected).render(), where
        assert fake.snapshot() == FakeNft.expected_snapshot(expected), where
        assert syncer.installed == expected, where
        assert result.rendered == len(changed), where  # the changed service ports, no others
        previous = expected
    # what a drift repair would install is the full render, in the same order
    assert syncer.installed is not None
    assert full_sync(syncer.installed).render() == full_sync(previous).render()
    assert not (await syncer.sync(services, endpoints)).transaction


@pytest.mark.parametrize("seed", range(4))
def test_plans_match_render_in_bulk_and_when_emptied(seed: int) -> None:
    """Many changes at once, everything removed, everything back: state and transaction as render()'s."""
    config = CONFIGS["dual"]
    rng = random.Random(100 + seed)
    services, endpoints = _model(rng, 40)
    cache = RenderCache(config)
    plan = cache.plan(services, endpoints)
    assert plan.rendered == len(services)
    assert full_sync(plan.state()).render() == full_sync(render(config, services, endpoints)).render()
    cache.commit(plan)
    previous = render(config, services, endpoints)
    models: list[tuple[Services, Endpoints]] = []
    for step in range(20):
        for n in range(15):
            _mutate(rng, services, endpoints, 2000 + 20 * step + n)
        models.append((list(services), {k: list(v) for k, v in endpoints.items()}))
    models.insert(10, ([], {}))
    for step, (step_services, step_endpoints) in enumerate(models):
        plan = cache.plan(step_services, step_endpoints)
        expected = render(config, step_services, step_endpoints)
        assert plan.transaction().render() == diff(previous, expected).render(), f"step {step}"
        assert full_sync(plan.state()).render() == full_sync(expected).render(), f"step {step}"
        cache.commit(plan)
        assert cache.state() == expected
        previous = expected


# -- one change, one service
def _many(count: int) -> tuple[Services, Endpoints]:
    services, endpoints = [], {}
    for i in range(count):
        host = f"{i // 250}.{i % 250 + 1}"
        sp = ServicePort(f"ns{i % 7}", f"svc{i}", "http", "TCP", (f"10.96.{host}",), 80)
        services.append(sp)
        endpoints[sp.key] = [Endpoint(f"10.42.{host}", 8080), Endpoint(f"10.43.{host}", 8080)]
    return services, endpoints


async def test_one_endpoint_change_renders_one_service() -> None:
    config = ProxyConfig(families=("ip",), cluster_cidrs=("10.42.0.0/16",))
    services, endpoints = _many(2000)
    syncer = RuleSyncer(FakeNft(), config)
    assert (await syncer.sync(services, endpoints)).rendered == 2000
    # the watcher hands over fresh lists (and fresh equal objects) every time: compared by value
    copied = {key: [dataclasses.replace(e) for e in eps] for key, eps in endpoints.items()}
    unchanged = await syncer.sync([dataclasses.replace(sp) for sp in services], copied)
    assert unchanged.rendered == 0 and not unchanged.transaction
    target = services[1234]
    copied[target.key] = [copied[target.key][0], Endpoint("10.44.0.1", 8080)]
    result = await syncer.sync(services, copied)
    assert result.rendered == 1 and not result.full
    chain = "svc-ns2/svc1234/tcp/http"
    assert result.transaction.render().splitlines() == [
        f"flush chain ip edgek8s {chain}",
        f"add rule ip edgek8s {chain} numgen random mod 2 == 0 meta l4proto tcp dnat ip to 10.42.4.235:8080",
        f"add rule ip edgek8s {chain} meta l4proto tcp dnat ip to 10.44.0.1:8080",
        "delete element ip edgek8s hairpin-endpoints { 10.43.4.235 . 10.43.4.235 }",
        "add element ip edgek8s hairpin-endpoints { 10.44.0.1 . 10.44.0.1 }",
    ]
    remaining = services[:1234] + services[1235:]
    removed = await syncer.sync(remaining, copied)
    assert removed.rendered == 0
    assert (
        removed.transaction.render()
        == diff(render(config, services, copied), render(config, remaining, copied)).render()
    )
    assert all(
        re.search(r"svc-ns2/svc1234/|10\.96\.4\.235 |10\.42\.4\.235 |10\.44\.0\.1 ", line)
        for line in removed.transaction.commands
    ), removed.transaction.render()
    assert syncer.installed == render(config, remaining, copied)


def test_shared_elements_follow_their_first_writer() -> None:
    """An element several service ports write (a hairpin pair, a ClusterIP shared by two ports, a map key
    claimed twice) stays while any writer is left and takes the value of the first one in key order."""
    config = ProxyConfig(families=("ip",))
    a = ServicePort("d", "a", "", "TCP", ("10.96.0.1",), 80)
    b = ServicePort("d", "b", "", "TCP", ("10.96.0.1",), 80)  # same map key as a: a's value wins
    c = ServicePort("d", "b", "metrics", "TCP", ("10.96.0.1",), 9090)  # another port of b
    shared = [Endpoint("10.42.0.5", 8080)]
    endpoints = {a.key: shared, b.key: shared, c.key: [Endpoint("10.42.0.6", 9090)]}
    cache = RenderCache(config)
    plans = [([a, b, c], endpoints), ([b, c], endpoints), ([c], endpoints), ([a, c], endpoints)]
    previous = None
    for services, eps in plans:
        plan = cache.plan(services, eps)
        expected = render(config, services, eps)
        if previous is not None:
            assert plan.transaction().render() == diff(previous, expected).render()
        cache.commit(plan)
        assert cache.state() == expected
        previous = expected
    first = render(config, [a, b, c], endpoints).table("ip")
    assert first.elements["service-ips"]["10.96.0.1 . tcp . 80"] == "goto svc-d/a/tcp"
    after = render(config, [b, c], endpoints).table("ip")
    assert after.elements["service-ips"]["10.96.0.1 . tcp . 80"] == "goto svc-d/b/tcp"
    lines = diff(render(config, [a, b, c], endpoints), render(config, [b, c], endpoints)).render()
    assert "delete element ip edgek8s service-ips { 10.96.0.1 . tcp . 80 }" in lines
    assert "add element ip edgek8s service-ips { 10.96.0.1 . tcp . 80 : goto svc-d/b/tcp }" in lines
    assert "hairpin" not in lines and "cluster-ips" not in lines  # still written by b


def test_repeated_keys_render_like_render() -> None:
    config = ProxyConfig(families=("ip",))
    sp = ServicePort("d", "s", "", "TCP", ("10.96.0.1",), 80)
    again = dataclasses.replace(sp, cluster_ips=("10.96.0.2",))
    endpoints = {sp.key: [Endpoint("10.42.0.5", 8080)]}
    cache = RenderCache(config)
    previous = None
    for services in ([sp, again], [again, sp], [sp], [sp, again, sp], [again]):
        plan = cache.plan(services, endpoints)
        expected = render(config, services, endpoints)
        assert full_sync(plan.state()).render() == full_sync(expected).render()
        if previous is not None:
            assert plan.transaction().render() == diff(previous, expected).render()
        cache.commit(plan)
        previous = expected


def test_stale_plan_is_refused() -> None:
    config = ProxyConfig(families=("ip",))
    cache = RenderCache(config)
    sp = ServicePort("d", "s", "", "TCP", ("10.96.0.1",), 80)
    first = cache.plan([sp], {})
    second = cache.plan([], {})
    cache.commit(first)
    with pytest.raises(ValueError, match="not made against"):
        cache.commit(second)
    with pytest.raises(ValueError):
        RenderCache(config).commit(cache.plan([sp], {}))
    assert cache.state() == render(config, [sp], {})


async def test_failed_sync_keeps_the_installed_state() -> None:
    class Refusing(FakeNft):
        refuse = False

        async def apply(self, tx: Transaction | str) -> None:
            if self.refuse:
                raise NftError("refused")
            await super().apply(tx)

    config = ProxyConfig(families=("ip",))
    services, endpoints = _many(20)
    backend = Refusing()
    syncer = RuleSyncer(backend, config)
    await syncer.sync(services, endpoints)
    backend.refuse = True
    with pytest.raises(NftError, match="refused"):
        await syncer.sync(services[1:], endpoints)
    assert syncer.installed == render(config, services, endpoints)  # what drift repair would reinstall
    backend.refuse = False
    retry = await syncer.sync(services[1:], endpoints)
    assert retry.full and syncer.installed == render(config, services[1:], endpoints)
    assert backend.snapshot() == FakeNft.expected_snapshot(render(config, services[1:], endpoints))


# -- the runner's path: ClusterModel's change feed as the hint
def _random_service_object(rng: random.Random) -> dict:
    """A Service from a small pool of names and addresses: ports come and go, ClusterIPs and keys collide."""
    ports = [
        {"name": name, "protocol": rng.choice(("TCP", "UDP")), "port": rng.choice((80, 443))}
        for name in rng.sample(("", "http", "dns"), rng.randrange(4))
    ]
    if ports and rng.random() < 0.1:
        ports.append(dict(ports[0]))  # a repeated key: invalid in a real cluster, accepted by the model
    spec: dict = {"clusterIPs": [f"10.96.0.{rng.randrange(1, 5)}"], "ports": ports}
    if rng.random() < 0.3:
        spec["clusterIPs"].append(f"fd00:96::{rng.randrange(1, 5)}")
    if rng.random() < 0.3:
        spec |= {"type": "NodePort", "externalTrafficPolicy": rng.choice(("Local", "Cluster"))}
        for port in ports:
            port["nodePort"] = 30000 + rng.randrange(5)
    if rng.random() < 0.2:
        spec["sessionAffinity"] = "ClientIP"
    meta = {"namespace": rng.choice(("a", "b")), "name": f"svc{rng.randrange(6)}"}
    return {"metadata": meta, "spec": spec}


def _random_slice_object(rng: random.Random) -> dict:
    service = f"svc{rng.randrange(6)}"
    ports = [
        {"name": name, "protocol": rng.choice(("TCP", "UDP")), "port": rng.choice((8080, 8443))}
        for name in rng.sample(("", "http", "dns"), rng.randrange(3))
    ]
    endpoints = [
        {
            "addresses": [f"10.42.0.{rng.randrange(1, 8)}"],
            "conditions": {"ready": rng.random() < 0.8, "terminating": rng.random() < 0.2},
            "nodeName": rng.choice(("n1", "n2")),
        }
        for _ in range(rng.randrange(4))
    ]
    meta = {
        "namespace": rng.choice(("a", "b")),
        "name": f"{service}-{rng.randrange(3)}",
        "labels": {"kubernetes.io/service-name": service},
    }
    return {"metadata": meta, "addressType": "IPv4", "ports": ports, "endpoints": endpoints}


def _random_event(rng: random.Random, cluster: ClusterModel) -> None:
    """One reflector event (or relist) on services or endpoint slices."""
    services = rng.random() < 0.5
    sink = cluster.services if services else cluster.endpoint_slices
    make = _random_service_object if services else _random_slice_object
    action = rng.randrange(10)
    if action == 0:  # a relist: some objects kept, some changed, some gone
        kept = [obj for obj in (make(rng) for _ in range(len(sink.values))) if rng.random() < 0.7]
        sink.replace(kept + [make(rng) for _ in range(rng.randrange(3))])
    elif action < 3 and sink.values:
        namespace, name = rng.choice(sorted(sink.values))
        sink.apply("DELETED", {"metadata": {"namespace": namespace, "name": name}})
    else:
        sink.apply(rng.choice(("ADDED", "MODIFIED")), make(rng))


class _Flaky(FakeNft):
    """Refuses transactions when told to: the model's hint for that sync is then lost to the syncer."""

    refuse = False
    cancel = False

    async def apply(self, tx: Transaction | str) -> None:
        if self.refuse:
            raise NftError("refused")
        if self.cancel:
            raise asyncio.CancelledError  # the proxy stopping mid-sync: no NftError, no full sync next
        await super().apply(tx)


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
@pytest.mark.parametrize("seed", range(6))
async def test_change_feed_syncs_install_exactly_the_full_render(config_name: str, seed: int) -> None:
    config = CONFIGS[config_name]
    rng = random.Random(500 + seed)
    cluster = ClusterModel("n1")
    for _ in range(30):
        _random_event(rng, cluster)
    backend = _Flaky()
    syncer = RuleSyncer(backend, config)
    hinted = 0
    for step in range(60):
        snap = cluster.snapshot()
        # the incrementally merged endpoints are what merging every slice again gives
        slices = [per_port for _, per_port in sorted(cluster.endpoint_slices.values.items()) if per_port]
        assert snap.endpoints == merge_endpoints(slices), f"seed {seed} step {step}"
        expected = render(config, snap.services, snap.endpoints)
        backend.refuse = step > 0 and rng.random() < 0.1
        try:
            result = await syncer.sync(snap.services, snap.endpoints, snap.changed)
        except NftError:
            assert backend.refuse  # only when there was something to install
        else:
            where = f"{config_name} seed {seed} step {step}"
            assert backend.snapshot() == FakeNft.expected_snapshot(expected), where
            assert syncer.installed == expected, where
            assert result.rendered <= sum(1 for sp in snap.services if sp.key in snap.changed) or result.full
            hinted += not result.full
        for _ in range(1 if rng.random() < 0.6 else rng.randrange(2, 6)):
            _random_event(rng, cluster)
    assert hinted > 30  # the hinted path, not the fallback, did most of the syncs


async def test_a_hint_after_a_failed_or_cancelled_sync_is_not_trusted() -> None:
    config = ProxyConfig(families=("ip",))
    services, endpoints = _many(5)
    backend = _Flaky()
    syncer = RuleSyncer(backend, config)
    await syncer.sync(services, endpoints)
    backend.refuse = True
    with pytest.raises(NftError):
        await syncer.sync(services[1:], endpoints, {services[0].key})
    backend.refuse = False
    # this hint names only what changed since the failed call; the removal of services[0] is older
    retry = await syncer.sync(services[2:], endpoints, {services[1].key})
    assert retry.full and syncer.installed == render(config, services[2:], endpoints)
    backend.cancel = True
    with pytest.raises(asyncio.CancelledError):
        await syncer.sync(services[3:], endpoints, {services[2].key})
    backend.cancel = False
    resumed = await syncer.sync(services[4:], endpoints, {services[3].key})
    assert not resumed.full and syncer.installed == render(config, services[4:], endpoints)
    assert backend.snapshot() == FakeNft.expected_snapshot(render(config, services[4:], endpoints))
    # a hint that leaves out a change is the caller's error: the hinted path really skips the rest
    wrong = await syncer.sync([], endpoints, set())
    assert not wrong.transaction and syncer.installed == render(config, services[4:], endpoints)


# -- the composition itself, with writers that overlap far more than services do
def _fragment(rng: random.Random, owner_index: int) -> Fragment:
    chains = {}
    for name in rng.sample(["c1", "c2", "c3", "c4", "c5"], rng.randrange(3)):
        chains[name] = ChainSpec(name, tuple(f"rule {rng.randrange(3)}" for _ in range(rng.randrange(3))))
    own_set = f"own{owner_index % 4}"
    sets = {}
    elements: dict[str, dict[str, str | None]] = {}
    if rng.random() < 0.5:
        dynamic = owner_index % 2 == 0
        sets[own_set] = SetSpec(own_set, "ipv4_addr", flags=("dynamic",) if dynamic else ())
        if not dynamic:
            elements[own_set] = {f"10.0.0.{rng.randrange(4)}": None for _ in range(rng.randrange(3))}
    for set_name, valued in (("plain", False), ("map", True)):
        items = elements.setdefault(set_name, {})
        for _ in range(rng.randrange(4)):
            items.setdefault(f"10.1.0.{rng.randrange(6)}", f"goto c{rng.randrange(1, 4)}" if valued else None)
    return Fragment(sets, chains, {k: v for k, v in elements.items() if v})


@pytest.mark.parametrize("seed", range(10))
def test_composed_table_changes_equal_diff(seed: int) -> None:
    rng = random.Random(seed)
    base = Fragment(
        {"plain": SetSpec("plain", "ipv4_addr"), "map": SetSpec("map", "ipv4_addr", "verdict")},
        {"base": ChainSpec("base", ("jump c1",), "type filter hook input priority 0;")},
        {"plain": {"10.1.0.1": None}},
    )
    owners = [ServicePortName("ns", f"s{i}", "", "TCP") for i in range(8)]
    table = ComposedTable("ip", "t", base)
    for _ in range(60):
        replaced: dict[Owner, Fragment | None] = {}
        for owner in rng.sample(owners, rng.randrange(1, 4)):
            fragment = _fragment(rng, owners.index(owner)) if rng.random() < 0.8 else None
            replaced[owner] = fragment
        before = table.freeze()
        changes = table.changes(replaced)
        after = table.freeze(replaced)
        assert changes.redefined == needs_full_sync(_state(before), _state(after))
        if not changes.redefined:
            assert incremental([changes]).render() == diff(_state(before), _state(after)).render()
        table.update(replaced)
        assert table.freeze() == after
        assert not table.changes({}).added_chains and not incremental([table.changes(replaced)])


def _state(table: TableState) -> DesiredState:
    return DesiredState((table,))


def test_redefinitions_fall_back_to_a_full_sync() -> None:
    base = Fragment({"s": SetSpec("s", "ipv4_addr")}, {"c": ChainSpec("c", ("accept",))})
    owner = ServicePortName("ns", "a", "", "TCP")
    table = ComposedTable("ip", "t", base)
    redefine_set = {owner: Fragment({"s": SetSpec("s", "ipv6_addr")})}
    hook = {owner: Fragment(chains={"c": ChainSpec("c", ("accept",), "type filter hook input priority 0;")})}
    set_named_like_chain = {owner: Fragment({"c": SetSpec("c", "ipv4_addr")})}
    chain_named_like_set = {owner: Fragment(chains={"s": ChainSpec("s")})}
    for replaced in (redefine_set, hook, set_named_like_chain, chain_named_like_set):
        assert table.changes(replaced).redefined
        assert needs_full_sync(_state(table.freeze()), _state(table.freeze(replaced)))
    assert not table.changes({owner: Fragment(chains={"d": ChainSpec("d", ("accept",))})}).redefined


# -- endpoint order
def test_endpoints_sort_numerically_then_by_port() -> None:
    rng = random.Random(5)
    v4 = [f"10.{rng.randrange(3)}.{rng.randrange(12)}.{rng.randrange(1, 12)}" for _ in range(60)]
    v6 = [f"fd00:{rng.randrange(3):x}::{rng.randrange(1, 300):x}" for _ in range(60)] + ["::ffff:10.0.0.1"]
    sp = ServicePort("d", "s", "", "TCP", ("10.96.0.1",), 80)
    for pool in (v4, v6):
        endpoints = [Endpoint(ip, rng.choice((80, 443, 8080))) for ip in pool]
        ordered = select_endpoints(sp, endpoints).cluster
        unique = {(e.ip, e.port) for e in endpoints}
        expected = sorted(unique, key=lambda pair: (ipaddress.ip_address(pair[0]), pair[1]))
        assert [(e.ip, e.port) for e in ordered] == expected
    # text order would put 10.0.0.10 first
    assert [
        e.ip for e in select_endpoints(sp, [Endpoint("10.0.0.10", 1), Endpoint("10.0.0.9", 1)]).cluster
    ] == [
        "10.0.0.9",
        "10.0.0.10",
    ]


# -- the real kernel
@pytest.mark.e2e
@needs_netns
async def test_syncer_transactions_load_in_kernel(netns: str) -> None:
    config = CONFIGS["dual"]
    rng = random.Random(21)
    services, endpoints = _model(rng, 25)
    syncer = RuleSyncer(NftApplier(netns=netns), config)
    await syncer.sync(services, endpoints)
    for step in range(20):
        for n in range(rng.randrange(1, 4)):
            _mutate(rng, services, endpoints, 3000 + 10 * step + n)
        result = await syncer.sync(services, endpoints)
        assert not result.full
    assert await syncer.check_drift() == []
    installed = render(config, services, endpoints)
    listing = nft_in(netns, "list", "table", "ip", "edgek8s").stdout
    for name in installed.table("ip").chains:
        assert re.search(rf"chain {re.escape(name)} {{", listing), name
