"""The in-memory nft refuses what the kernel would refuse (and a little more: duplicate elements)."""

from __future__ import annotations

import pytest

from netproxy.applier import NftError, check_drift
from netproxy.diff import full_sync
from netproxy.fake import FakeNft
from netproxy.model import Endpoint, ProxyConfig, ServicePort
from netproxy.render import render

BASE = """add table ip t
add map ip t m { type ipv4_addr . inet_proto . inet_service : verdict; }
add set ip t s { type ipv4_addr; }
add chain ip t a
add chain ip t b
add rule ip t a goto b
"""


def fake_with_base() -> FakeNft:
    fake = FakeNft()
    fake.apply_sync(BASE)
    return fake


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("add rule ip t a goto nowhere", "No such file or directory"),
        ("add rule ip t nowhere counter", "No such file or directory"),
        ("add rule ip t a ip daddr @nope drop", "No such file or directory"),
        ("add element ip t m { 10.0.0.1 . tcp . 80 : goto nowhere }", "No such file or directory"),
        ("delete chain ip t b", "Device or resource busy"),
        ("delete set ip t nope", "No such file or directory"),
        ("delete element ip t s { 10.0.0.9 }", "No such file or directory"),
        ("add element ip t s { 10.0.0.300 }", "Could not parse"),
        ("add element ip t m { 10.0.0.1 . tcp : drop }", "datatype mismatch"),
        ("add element ip t m { 10.0.0.1 . tcp . 80 }", "does not match"),
        ("add element ip t m { 10.0.0.1 . tcp . 80 : fly }", "invalid verdict"),
        ("add chain ip nope c", "No such file or directory"),
        ("add map ip t m { type ipv4_addr : verdict; }", "File exists"),
    ],
)
def test_refuses(text: str, message: str) -> None:
    fake = fake_with_base()
    before = fake.snapshot()
    with pytest.raises(NftError) as info:
        fake.apply_sync(f"add element ip t s {{ 10.0.0.1 }}\n{text}\n")
    assert info.value.errors[0].line == 2
    assert info.value.errors[0].text == text
    assert message in info.value.errors[0].message
    assert fake.snapshot() == before, "a failed transaction must change nothing"


def test_duplicate_elements_strict_and_lenient() -> None:
    fake = fake_with_base()
    fake.apply_sync("add element ip t s { 10.0.0.1 }")
    with pytest.raises(NftError):
        fake.apply_sync("add element ip t s { 10.0.0.1 }")
    lenient = FakeNft(strict=False)
    lenient.apply_sync(BASE + "add element ip t s { 10.0.0.1 }\nadd element ip t s { 10.0.0.1 }\n")
    lenient.apply_sync("add element ip t m { 10.0.0.1 . tcp . 80 : goto a }")
    with pytest.raises(NftError, match="File exists"):  # same key, other value: the kernel says EEXIST
        lenient.apply_sync("add element ip t m { 10.0.0.1 . tcp . 80 : goto b }")


def test_references_are_released() -> None:
    fake = fake_with_base()
    fake.apply_sync("add element ip t m { 10.0.0.1 . tcp . 80 : goto b }")
    with pytest.raises(NftError, match="busy"):
        fake.apply_sync("flush chain ip t a\ndelete chain ip t b")
    fake.apply_sync("flush chain ip t a\ndelete element ip t m { 10.0.0.1 . tcp . 80 }\ndelete chain ip t b")
    assert "b" not in fake.snapshot()[("ip", "t")]["chains"]  # type: ignore[operator]


async def test_drift_seen_through_fingerprint() -> None:
    sp = ServicePort("default", "web", "", "TCP", ("10.96.0.10",), 80)
    state = render(ProxyConfig(families=("ip",)), [sp], {sp.key: [Endpoint("10.42.0.5", 8080)]})
    fake = FakeNft()
    await fake.apply(full_sync(state))
    assert await check_drift(fake, state) == []
    fake.apply_sync("flush chain ip edgek8s services")
    assert await check_drift(fake, state) == ["ip: chain services has 0 rules, expected 2"]
    fake.apply_sync("delete element ip edgek8s service-ips { 10.96.0.10 . tcp . 80 }")
    assert "ip: set service-ips has 0 elements, expected 1" in await check_drift(fake, state)
    fake.apply_sync("delete table ip edgek8s")
    assert await check_drift(fake, state) == ["table ip is missing"]
