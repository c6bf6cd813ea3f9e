"""Incremental transactions against the strict in-memory nft: the result must always equal a full sync."""

from __future__ import annotations

import dataclasses
import random

import pytest

from netproxy.diff import diff, full_sync, needs_full_sync
from netproxy.fake import FakeNft
from netproxy.model import Endpoint, ProxyConfig, ServicePort
from netproxy.render import render
from netproxy.state import DesiredState
from tests.netproxy.randomized import Model, mutate, random_model

CONFIG = ProxyConfig(cluster_cidrs=("10.42.0.0/16", "fd00:42::/56"), nodeport_addresses=("192.168.1.10",))


def state_of(model: Model, config: ProxyConfig = CONFIG) -> DesiredState:
    return render(config, model[0].values(), model[1])


@pytest.mark.parametrize("seed", range(8))
def test_random_changes_match_full_sync(seed: int) -> None:
    rng = random.Random(seed)
    model = random_model(rng, 25)
    state = state_of(model)
    fake = FakeNft()
    fake.apply_sync(full_sync(state))
    for step in range(60):
        model = mutate(rng, model, 100 + step)
        new = state_of(model)
        tx = diff(state, new)
        assert not needs_full_sync(state, new)
        fake.apply_sync(tx)  # strict: no dangling references, duplicates or missing elements
        assert fake.snapshot() == FakeNft.expected_snapshot(new), f"seed {seed} step {step}"
        assert not diff(new, new), "a second diff of the same state must be empty"
        state = new


def test_unchanged_model_gives_empty_transaction() -> None:
    model = random_model(random.Random(1), 30)
    assert len(diff(state_of(model), state_of(model))) == 0


def _two_services() -> tuple[list[ServicePort], dict]:
    a = ServicePort("default", "a", "", "TCP", ("10.96.0.10",), 80, affinity_timeout=60, node_port=30001)
    b = ServicePort("default", "b", "", "TCP", ("10.96.0.11",), 80)
    endpoints = {
        a.key: [Endpoint("10.42.0.5", 8080), Endpoint("10.42.0.6", 8080)],
        b.key: [Endpoint("10.42.0.7", 80)],
    }
    return [a, b], endpoints


def test_removing_an_affinity_service_orders_deletes() -> None:
    services, endpoints = _two_services()
    before = render(CONFIG, services, endpoints)
    after = render(CONFIG, services[1:], endpoints)
    tx = diff(before, after)
    text = tx.render().splitlines()
    fake = FakeNft()
    fake.apply_sync(full_sync(before))
    fake.apply_sync(tx)
    assert fake.snapshot() == FakeNft.expected_snapshot(after)
    # map elements go before the chains they point at; chains before the sets they use
    first_chain_delete = next(i for i, line in enumerate(text) if line.startswith("delete chain"))
    last_element_delete = max(i for i, line in enumerate(text) if line.startswith("delete element"))
    first_set_delete = next(i for i, line in enumerate(text) if line.startswith("delete set"))
    assert last_element_delete < first_chain_delete < first_set_delete
    assert not any("/b/" in line for line in text)


def test_changed_map_value_is_delete_then_add() -> None:
    services, endpoints = _two_services()
    before = render(CONFIG, services, endpoints)
    after = render(CONFIG, services, {**endpoints, services[1].key: []})  # b loses its only endpoint
    lines = diff(before, after).render().splitlines()
    assert "delete element ip edgek8s service-ips { 10.96.0.11 . tcp . 80 }" in lines
    assert (
        "add element ip edgek8s no-endpoint-services { 10.96.0.11 . tcp . 80 : goto reject-chain }" in lines
    )
    assert "delete chain ip edgek8s svc-default/b/tcp" in lines
    assert lines.index("delete element ip edgek8s service-ips { 10.96.0.11 . tcp . 80 }") < lines.index(
        "delete chain ip edgek8s svc-default/b/tcp"
    )


def test_affinity_timeout_change_renames_sets_instead_of_redefining() -> None:
    services, endpoints = _two_services()
    before = render(CONFIG, services, endpoints)
    changed = [dataclasses.replace(services[0], affinity_timeout=120), services[1]]
    after = render(CONFIG, changed, endpoints)
    assert not needs_full_sync(before, after)
    fake = FakeNft()
    fake.apply_sync(full_sync(before))
    fake.apply_sync(diff(before, after))
    assert fake.snapshot() == FakeNft.expected_snapshot(after)


def test_redefined_skeleton_falls_back_to_full_sync() -> None:
    services, endpoints = _two_services()
    before = render(CONFIG, services, endpoints)
    after = render(dataclasses.replace(CONFIG, families=("ip",)), services, endpoints)
    assert needs_full_sync(before, after)
    tx = diff(before, after)
    assert tx.commands[:2] == ["add table ip edgek8s", "delete table ip edgek8s"]


def test_config_rule_change_is_incremental() -> None:
    services, endpoints = _two_services()
    before = render(CONFIG, services, endpoints)
    after = render(dataclasses.replace(CONFIG, masquerade_mark=0x8000), services, endpoints)
    lines = diff(before, after).render().splitlines()
    assert "flush chain ip edgek8s masquerading" in lines
    assert not any(line.startswith(("delete table", "add element", "delete element")) for line in lines)
