"""Network namespaces for tests that load rules into a real kernel (never the host's ruleset)."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

_counter = itertools.count()

HAVE_NETNS = os.geteuid() == 0 and shutil.which("nft") is not None and shutil.which("ip") is not None


@pytest.fixture
def netns_capable() -> None:
    """These tests need the real kernel: they fail (never skip) where it cannot be had."""
    assert HAVE_NETNS, "needs root, nft and ip (apt-get install nftables iproute2; .ci/run does)"


needs_netns = pytest.mark.usefixtures("netns_capable")


def make_netns() -> str:
    name = f"ek8s-test-{os.getpid()}-{next(_counter)}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, timeout=10)
    return name


def remove_netns(name: str) -> None:
    subprocess.run(["ip", "netns", "delete", name], check=False, capture_output=True, timeout=10)


@pytest.fixture
def netns() -> Iterator[str]:
    """A fresh, empty network namespace, removed afterwards even if the test fails."""
    name = make_netns()
    try:
        yield name
    finally:
        remove_netns(name)


@pytest.fixture(scope="module")
def module_netns() -> Iterator[str]:
    """One namespace shared by a module's tests (each test cleans up its own tables)."""
    name = make_netns()
    try:
        yield name
    finally:
        remove_netns(name)


def nft_in(
    ns: str, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    argv = ["ip", "netns", "exec", ns, "nft", *args]
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60, check=check)
