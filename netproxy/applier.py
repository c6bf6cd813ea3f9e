"""Sends transactions to the real nft and reads back a cheap fingerprint for drift detection.

`nft -f -` applies a whole input as one kernel transaction: on failure the previous ruleset stays, and the
error names the offending lines, which are reported back as NftError.errors. For tests, every command can
run inside a network namespace (`ip netns exec NAME nft ...`) so the host ruleset is never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from netproxy.model import Family
from netproxy.state import DesiredState, TableState
from netproxy.transaction import Transaction

log = logging.getLogger(__name__)

# /dev/stdin:3:1-30: Error: Could not process rule: No such file or directory
_ERROR_LINE = re.compile(r"^(?:/dev/stdin|-|[^:\s]+):(\d+):(\d+)(?:-(\d+))?: Error: (.*)$")


@dataclass(frozen=True, slots=True)
class ErrorLine:
    line: int
    text: str
    message: str
    # the part of `text` nft pointed at (e.g. one element of a batched `add element`)
    snippet: str = ""


class NftError(Exception):
    """nft refused a transaction (nothing of it was applied) or could not be run."""

    def __init__(self, message: str, errors: tuple[ErrorLine, ...] = (), stderr: str = "") -> None:
        super().__init__(message)
        self.errors = errors
        self.stderr = stderr

    def __str__(self) -> str:
        lines = [super().__str__()]
        for e in self.errors:
            lines.append(f"  line {e.line}: {e.message}" + (f" (at {e.snippet!r})" if e.snippet else ""))
            lines.append(f"    {e.text}")
        return "\n".join(lines)


def parse_errors(stderr: str, text: str) -> tuple[ErrorLine, ...]:
    """Offending lines (number, our command text, nft's message) from nft's stderr."""
    lines = text.splitlines()
    found = []
    for raw in stderr.splitlines()[:1000]:
        m = _ERROR_LINE.match(raw.strip())
        if m is None:
            continue
        number = int(m.group(1))
        command = lines[number - 1] if 1 <= number <= len(lines) else ""
        start = int(m.group(2))
        end = int(m.group(3) or start)
        found.append(ErrorLine(number, command, m.group(4), command[start - 1 : end]))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What drift detection compares: chains with their rule counts, and element counts of our own
    (non-dynamic) sets and maps."""

    chains: Mapping[str, int] = field(default_factory=dict)
    elements: Mapping[str, int] = field(default_factory=dict)


def expected_fingerprint(table: TableState) -> Fingerprint:
    chains = {name: len(chain.rules) for name, chain in table.chains.items()}
    elements = {name: len(table.elements.get(name, {})) for name, s in table.sets.items() if not s.dynamic}
    return Fingerprint(chains, elements)


def compare_fingerprints(family: Family, expected: Fingerprint, actual: Fingerprint | None) -> list[str]:
    """Human-readable differences; empty when they match."""
    if actual is None:
        return [f"table {family} is missing"]
    problems = []
    for name, count in expected.chains.items():
        got = actual.chains.get(name)
        if got is None:
            problems.append(f"{family}: chain {name} is missing")
        elif got != count:
            problems.append(f"{family}: chain {name} has {got} rules, expected {count}")
    extra = sorted(actual.chains.keys() - expected.chains.keys())
    if extra:
        problems.append(f"{family}: unexpected chains {extra[:5]}")
    for name, count in expected.elements.items():
        got = actual.elements.get(name)
        if got is None:
            problems.append(f"{family}: set {name} is missing")
        elif got != count:
            problems.append(f"{family}: set {name} has {got} elements, expected {count}")
    return problems


class Backend(Protocol):
    """What the syncer needs from nft; implemented by NftApplier (real) and FakeNft (in memory)."""

    async def apply(self, tx: Transaction) -> None: ...

    async def fingerprint(self, family: Family, table: str) -> Fingerprint | None: ...


async def check_drift(backend: Backend, state: DesiredState) -> list[str]:
    """Compare what is installed with what we last installed; used by the periodic check only."""
    problems: list[str] = []
    for table in state.tables:
        actual = await backend.fingerprint(table.family, table.name)
        problems += compare_fingerprints(table.family, expected_fingerprint(table), actual)
    return problems


def fingerprint_from_json(document: Mapping[str, Any]) -> Fingerprint:
    """Fingerprint from `nft -j list table` output."""
    chains: dict[str, int] = {}
    elements: dict[str, int] = {}
    for item in document.get("nftables", []):
        if "chain" in item:
            chains.setdefault(item["chain"]["name"], 0)
        elif "rule" in item:
            chain = item["rule"]["chain"]
            chains[chain] = chains.get(chain, 0) + 1
        elif "set" in item or "map" in item:
            spec = item.get("set") or item.get("map")
            elements[spec["name"]] = len(spec.get("elem", []))
    return Fingerprint(chains, elements)


@dataclass(frozen=True, slots=True)
class RunResult:
    returncode: int
    stdout: str
    stderr: str


class NftApplier:
    """Real nft, optionally inside a network namespace."""

    def __init__(self, nft: str = "nft", netns: str | None = None, timeout: float = 30.0) -> None:
        self.nft = nft
        self.netns = netns
        self.timeout = timeout

    def _argv(self, *args: str) -> list[str]:
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        return [*prefix, self.nft, *args]

    async def _run(self, args: list[str], stdin: str | None = None) -> RunResult:
        argv = self._argv(*args)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise NftError(f"cannot run {argv[0]}: {exc}") from exc
        try:
            async with asyncio.timeout(self.timeout):
                out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise NftError(f"{' '.join(argv)} timed out after {self.timeout}s") from None
        except BaseException:  # cancelled: do not leave the child behind
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise
        assert proc.returncode is not None
        return RunResult(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))

    async def _feed(self, tx: Transaction | str, check: bool) -> None:
        text = tx.render() if isinstance(tx, Transaction) else tx
        if not text:
            return
        args = ["-c", "-f", "-"] if check else ["-f", "-"]
        result = await self._run(args, stdin=text)
        if result.returncode != 0:
            errors = parse_errors(result.stderr, text)
            error = NftError(f"nft {'check' if check else 'transaction'} failed", errors, result.stderr)
            if not check:
                log.error("%s", error)
            raise error

    async def apply(self, tx: Transaction | str) -> None:
        """Apply atomically; raise NftError (with offending lines) if nft refused it."""
        await self._feed(tx, check=False)

    async def check(self, tx: Transaction | str) -> None:
        """`nft -c`: validate against the current ruleset without applying."""
        await self._feed(tx, check=True)

    async def list_table(self, family: Family, table: str) -> dict[str, Any] | None:
        """`nft -j list table`; None if the table does not exist. Periodic drift check only."""
        result = await self._run(["-j", "list", "table", family, table])
        if result.returncode != 0:
            if "No such file or directory" in result.stderr:
                return None
            raise NftError(f"nft list table {family} {table} failed: {result.stderr.strip()}")
        document: dict[str, Any] = json.loads(result.stdout)
        return document

    async def fingerprint(self, family: Family, table: str) -> Fingerprint | None:
        document = await self.list_table(family, table)
        return None if document is None else fingerprint_from_json(document)

    async def run_text(self, *args: str) -> str:
        """Run nft with arbitrary arguments (tests, diagnostics); stdout, NftError on failure."""
        result = await self._run(list(args))
        if result.returncode != 0:
            raise NftError(f"nft {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout
