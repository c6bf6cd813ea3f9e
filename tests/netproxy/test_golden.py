"""The renderer against golden rulesets, one per feature; every golden is also checked (`nft -c`) and
loaded (`nft -f`) by the real nft inside a throwaway network namespace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netproxy.diff import full_sync
from netproxy.fake import FakeNft
from netproxy.render import render
from tests.netproxy.conftest import needs_netns, nft_in
from tests.netproxy.scenarios import SCENARIOS

GOLDENS = Path(__file__).parent / "goldens"
UPDATE = os.environ.get("EDGEK8S_UPDATE_GOLDENS") == "1"


def rendered(name: str) -> str:
    scenario = SCENARIOS[name]()
    return full_sync(render(scenario.config, scenario.services, scenario.endpoints)).render()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_matches_golden(name: str) -> None:
    text = rendered(name)
    path = GOLDENS / f"{name}.nft"
    if UPDATE:
        path.write_text(text)
    assert path.exists(), f"missing golden {path}; run with EDGEK8S_UPDATE_GOLDENS=1"
    assert text == path.read_text()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden_loads_into_fake(name: str) -> None:
    scenario = SCENARIOS[name]()
    state = render(scenario.config, scenario.services, scenario.endpoints)
    fake = FakeNft()
    fake.apply_sync((GOLDENS / f"{name}.nft").read_text())
    assert fake.snapshot() == FakeNft.expected_snapshot(state)


def test_no_golden_is_stale() -> None:
    assert sorted(p.stem for p in GOLDENS.glob("*.nft")) == sorted(SCENARIOS)


@pytest.mark.e2e
@needs_netns
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_golden_accepted_by_real_nft(name: str, module_netns: str) -> None:
    path = str(GOLDENS / f"{name}.nft")
    nft_in(module_netns, "flush", "ruleset")
    check = nft_in(module_netns, "-c", "-f", path, check=False)
    assert check.returncode == 0, check.stderr
    load = nft_in(module_netns, "-f", path, check=False)
    assert load.returncode == 0, load.stderr
    # loading it a second time is the resync path: add + delete + recreate must also work over itself
    again = nft_in(module_netns, "-f", path, check=False)
    assert again.returncode == 0, again.stderr
    listing = nft_in(module_netns, "list", "ruleset").stdout
    assert "table ip edgek8s" in listing or "table ip6 edgek8s" in listing
    nft_in(module_netns, "flush", "ruleset")
