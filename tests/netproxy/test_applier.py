"""The applier and syncer against the real nft inside throwaway network namespaces (and a few cases that
need no root)."""

from __future__ import annotations

import dataclasses
import os
import random
import re
from pathlib import Path

import pytest

from netproxy.applier import NftApplier, NftError, _load_library, check_drift, parse_errors
from netproxy.diff import diff, full_sync
from netproxy.fake import FakeNft
from netproxy.model import Endpoint, ProxyConfig, ServicePort
from netproxy.render import render
from netproxy.syncer import RuleSyncer
from netproxy.transaction import Transaction
from tests.netproxy.conftest import needs_netns, nft_in
from tests.netproxy.randomized import mutate, random_model

CONFIG = ProxyConfig(cluster_cidrs=("10.42.0.0/16", "fd00:42::/56"), nodeport_addresses=("192.168.1.10",))


@pytest.fixture(params=["library", "process"])
def engine(request: pytest.FixtureRequest) -> str:
    """Both ways of reaching nft must behave the same."""
    return str(request.param)


def thousand_services() -> tuple[list[ServicePort], dict]:
    services, endpoints = [], {}
    for i in range(1000):
        sp = ServicePort(
            f"ns{i % 10}",
            f"svc{i}",
            "http",
            "TCP",
            (f"10.96.{i // 250}.{i % 250 + 1}",),
            80,
            node_port=30000 + i if i % 10 == 0 else 0,
        )
        services.append(sp)
        endpoints[sp.key] = [
            Endpoint(f"10.42.{i // 250}.{i % 250 + 1}", 8080),
            Endpoint(f"10.43.{i // 250}.{i % 250 + 1}", 8080),
        ]
    return services, endpoints


def test_parse_errors_points_at_lines_and_elements() -> None:
    text = "add table ip t\nadd element ip t s { 10.0.0.1, 10.0.0.2 }\n"
    stderr = (
        "/dev/stdin:2:32-39: Error: Could not process rule: File exists\n"
        "add element ip t s { 10.0.0.1, 10.0.0.2 }\n"
        "                               ^^^^^^^^\n"
    )
    [error] = parse_errors(stderr, text)
    assert (error.line, error.snippet) == (2, "10.0.0.2")
    assert error.text == "add element ip t s { 10.0.0.1, 10.0.0.2 }"
    assert "File exists" in error.message


async def test_timeout_kills_nft(tmp_path: Path) -> None:
    slow = tmp_path / "slow-nft"
    slow.write_text("#!/bin/sh\nexec sleep 30\n")
    slow.chmod(0o755)
    applier = NftApplier(nft=str(slow), timeout=0.3)
    with pytest.raises(NftError, match="timed out"):
        await applier.apply("add table ip t\n")


async def test_failed_apply_forces_full_sync_next_time() -> None:
    class Flaky(FakeNft):
        fail = False

        async def apply(self, tx: Transaction | str) -> None:
            if self.fail:
                raise NftError("boom")
            await super().apply(tx)

    backend = Flaky()
    syncer = RuleSyncer(backend, CONFIG)
    sp = ServicePort("d", "s", "", "TCP", ("10.96.0.1",), 80)
    assert (await syncer.sync([sp], {})).full
    backend.fail = True
    with pytest.raises(NftError):
        await syncer.sync([sp], {sp.key: [Endpoint("10.42.0.1", 80)]})
    backend.fail = False
    result = await syncer.sync([sp], {sp.key: [Endpoint("10.42.0.1", 80)]})
    assert result.full
    assert not (await syncer.sync([sp], {sp.key: [Endpoint("10.42.0.1", 80)]})).transaction


@pytest.mark.e2e
@needs_netns
async def test_incremental_sync_touches_one_service(netns: str, engine: str) -> None:
    services, endpoints = thousand_services()
    syncer = RuleSyncer(NftApplier(netns=netns, engine=engine), CONFIG)
    first = await syncer.sync(services, endpoints)
    assert first.full
    target = services[517]
    endpoints = {**endpoints, target.key: [endpoints[target.key][0], Endpoint("10.44.2.18", 9090)]}
    result = await syncer.sync(services, endpoints)
    assert not result.full
    lines = result.transaction.render().splitlines()
    chain = "svc-ns7/svc517/tcp/http"
    assert lines == [
        f"flush chain ip edgek8s {chain}",
        f"add rule ip edgek8s {chain} numgen random mod 2 == 0 meta l4proto tcp dnat ip to 10.42.2.18:8080",
        f"add rule ip edgek8s {chain} meta l4proto tcp dnat ip to 10.44.2.18:9090",
        "delete element ip edgek8s hairpin-endpoints { 10.43.2.18 . 10.43.2.18 }",
        "add element ip edgek8s hairpin-endpoints { 10.44.2.18 . 10.44.2.18 }",
    ]
    listing = nft_in(netns, "list", "chain", "ip", "edgek8s", chain).stdout
    assert "10.44.2.18:9090" in listing and "10.43.2.18" not in listing
    assert await syncer.check_drift() == []


@pytest.mark.e2e
@needs_netns
async def test_failed_transaction_keeps_ruleset_and_names_the_line(
    netns: str, engine: str, caplog: pytest.LogCaptureFixture
) -> None:
    applier = NftApplier(netns=netns, engine=engine)
    sp = ServicePort("d", "web", "", "TCP", ("10.96.0.10",), 80)
    state = render(CONFIG, [sp], {sp.key: [Endpoint("10.42.0.5", 8080)]})
    await applier.apply(full_sync(state))
    before = nft_in(netns, "list", "ruleset").stdout
    tx = Transaction()
    tx.add_rules("ip", "edgek8s", "services", ["counter"])
    tx.add_elements("ip", "edgek8s", "cluster-ips", [("10.96.0.99", None)])
    tx.add_rules("ip", "edgek8s", "services", ["goto svc-does-not-exist"])
    with pytest.raises(NftError) as info:
        await applier.apply(tx)
    [error] = info.value.errors
    assert error.line == 3
    assert error.text == "add rule ip edgek8s services goto svc-does-not-exist"
    assert "No such file or directory" in error.message
    assert "line 3" in str(info.value)
    assert "add rule ip edgek8s services goto svc-does-not-exist" in caplog.text  # logged with the line
    assert nft_in(netns, "list", "ruleset").stdout == before


@pytest.mark.e2e
@needs_netns
async def test_drift_is_detected_and_repaired(netns: str, engine: str) -> None:
    services, endpoints = thousand_services()
    syncer = RuleSyncer(NftApplier(netns=netns, engine=engine), CONFIG)
    await syncer.sync(services[:50], endpoints)
    assert await syncer.check_drift() == []
    nft_in(netns, "flush", "table", "ip", "edgek8s")
    problems = await syncer.check_drift()
    assert any("services has 0 rules" in p for p in problems)
    assert await syncer.repair_drift() == problems
    assert await syncer.check_drift() == []
    nft_in(netns, "flush", "map", "ip", "edgek8s", "service-ips")
    assert await syncer.check_drift() == ["ip: set service-ips has 0 elements, expected 50"]
    await syncer.repair_drift()
    assert await syncer.check_drift() == []
    nft_in(netns, "delete", "table", "ip6", "edgek8s")
    assert await syncer.check_drift() == ["table ip6 is missing"]
    await syncer.repair_drift()
    assert await syncer.check_drift() == []
    # someone else's table is left alone by every sync and repair
    nft_in(netns, "add", "table", "ip", "firewall")
    nft_in(netns, "delete", "table", "ip", "edgek8s")
    await syncer.repair_drift()
    assert "table ip firewall" in nft_in(netns, "list", "tables").stdout


@pytest.mark.e2e
@needs_netns
async def test_random_incremental_transactions_load_in_kernel(netns: str, engine: str) -> None:
    """The fake's ordering rules are the kernel's: replay a random change sequence against real nft."""
    rng = random.Random(11)
    model = random_model(rng, 20)
    state = render(CONFIG, model[0].values(), model[1])
    applier = NftApplier(netns=netns, engine=engine)
    await applier.apply(full_sync(state))
    for step in range(25):
        model = mutate(rng, model, 100 + step)
        new = render(CONFIG, model[0].values(), model[1])
        await applier.apply(diff(state, new))
        state = new
    assert await check_drift(applier, state) == []
    listing = nft_in(netns, "list", "table", "ip", "edgek8s").stdout
    for name in state.table("ip").chains:
        assert re.search(rf"chain {re.escape(name)} {{", listing), name


def test_render_is_deterministic() -> None:
    services, endpoints = thousand_services()
    a = render(CONFIG, services[:3], endpoints)
    b = render(CONFIG, [dataclasses.replace(s) for s in services[:3]], endpoints)
    assert a == b and not diff(a, b)


def test_engine_choice() -> None:
    assert NftApplier().engine == "library"  # libnftables1 comes with the nftables package
    assert NftApplier(nft="/usr/sbin/nft").engine == "process"  # a specific binary is used as asked
    assert NftApplier(engine="process").engine == "process"
    assert _load_library("libnftables-missing.so.1") is None  # what makes "auto" fall back to the binary


@pytest.mark.e2e
@needs_netns
async def test_library_stays_in_its_namespace(netns: str) -> None:
    table = f"ek8s-probe-{os.getpid()}"
    applier = NftApplier(netns=netns, engine="library")
    await applier.apply(f"add table ip {table}\n")
    assert f"table ip {table}" in await applier.run_text("list", "tables")
    assert f"table ip {table}" in nft_in(netns, "list", "tables").stdout
    assert table not in await NftApplier(engine="process").run_text("list", "tables")  # the host's
    applier.close()
    with pytest.raises(NftError, match="cannot use libnftables"):
        await NftApplier(netns=f"{netns}-missing", engine="library").apply("add table ip t\n")


@pytest.mark.e2e
@needs_netns
async def test_check_validates_without_applying(netns: str, engine: str) -> None:
    applier = NftApplier(netns=netns, engine=engine)
    await applier.check("add table ip checked\n")
    assert "checked" not in nft_in(netns, "list", "tables").stdout
    with pytest.raises(NftError) as info:
        await applier.check(
            "add table ip checked\nadd chain ip checked c\nadd rule ip checked c goto nowhere\n"
        )
    assert [e.line for e in info.value.errors] == [3]
    await applier.apply("add table ip checked\n")  # the dry run flag does not stick to the context
    assert "table ip checked" in nft_in(netns, "list", "tables").stdout


@pytest.mark.e2e
@needs_netns
async def test_changes_made_by_others_are_seen_between_transactions(netns: str, engine: str) -> None:
    """The library keeps nft's cache between transactions: it must notice the ruleset changing under it."""
    applier = NftApplier(netns=netns, engine=engine)
    await applier.apply("add table ip t\nadd chain ip t a\nadd rule ip t a counter\n")
    nft_in(netns, "add", "chain", "ip", "t", "b")
    await applier.apply("add rule ip t b counter\n")
    nft_in(netns, "delete", "table", "ip", "t")
    with pytest.raises(NftError) as info:
        await applier.apply("add rule ip t a counter\n")
    assert info.value.errors and info.value.errors[0].line == 1
    assert await applier.fingerprint("ip", "t") is None
    await applier.apply("add table ip t\nadd chain ip t a\nadd rule ip t a counter\n")
    fingerprint = await applier.fingerprint("ip", "t")
    assert fingerprint is not None and dict(fingerprint.chains) == {"a": 1}
    applier.close()  # a closed applier opens a new context when used again
    assert "table ip t" in await applier.run_text("list", "tables")
