"""Sends transactions to the real nft and reads back a cheap fingerprint for drift detection.

`nft -f -` applies a whole input as one kernel transaction: on failure the previous ruleset stays, and the
error names the offending lines, which are reported back as NftError.errors. For tests, every command can
run inside a network namespace (`ip netns exec NAME nft ...`) so the host ruleset is never touched.

Two engines do that. "library" drives libnftables (the library the nft binary is built on) in this
process, with one context kept for the applier's life on a dedicated thread (entered into the namespace,
if any): no process start, no wait at exit for the kernel to free what a transaction removed (that
happens when nft closes its netlink socket), and nft's cache of the ruleset is kept between transactions
(refreshed by libnftables when the kernel's generation changes under it): at 10k services a one-service
update takes ~28 ms instead of ~60 ms (docs/benchmarks.md). "process" runs the nft binary per call; it is
used when libnftables cannot be loaded or a specific nft binary was asked for.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ctypes
import json
import logging
import os
import re
import socket
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

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


_T = TypeVar("_T")
Engine = Literal["auto", "library", "process"]
_LIBRARY = "libnftables.so.1"
_CLONE_NEWNET = 0x40000000
_NETLINK_NETFILTER = 12
_OUTPUT_JSON = 1 << 4  # NFT_CTX_OUTPUT_JSON in libnftables.h


def _load_library(name: str) -> ctypes.CDLL | None:
    """libnftables with the prototypes we call, or None if it is not installed."""
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    ctx, text = ctypes.c_void_p, ctypes.c_char_p
    for function, restype, argtypes in (
        ("nft_ctx_new", ctx, [ctypes.c_uint32]),
        ("nft_ctx_free", None, [ctx]),
        ("nft_ctx_buffer_output", ctypes.c_int, [ctx]),
        ("nft_ctx_buffer_error", ctypes.c_int, [ctx]),
        ("nft_ctx_get_output_buffer", text, [ctx]),
        ("nft_ctx_get_error_buffer", text, [ctx]),
        ("nft_ctx_set_dry_run", None, [ctx, ctypes.c_bool]),
        ("nft_ctx_output_get_flags", ctypes.c_uint, [ctx]),
        ("nft_ctx_output_set_flags", None, [ctx, ctypes.c_uint]),
        ("nft_run_cmd_from_buffer", ctypes.c_int, [ctx, text]),
        ("nft_run_cmd_from_filename", ctypes.c_int, [ctx, text]),
    ):
        try:
            symbol = getattr(lib, function)
        except AttributeError:
            return None
        symbol.restype, symbol.argtypes = restype, argtypes
    return lib


def _enter_netns(name: str) -> None:
    """Move the calling thread (only it) into the named network namespace."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, _CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns into {name}: {os.strerror(errno)}")
    finally:
        os.close(fd)


class _LibNft:
    """One libnftables context on one thread of its own, which is also the only thread that uses it."""

    def __init__(self, lib: ctypes.CDLL, netns: str | None, timeout: float) -> None:
        self._lib = lib
        self._timeout = timeout
        self._ctx: int | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="libnftables")
        # the transaction goes in as a file so that errors carry line numbers (from a buffer they do not)
        self._file = os.memfd_create("nft-transaction", os.MFD_CLOEXEC)
        self._opened = self._pool.submit(self._open, netns)

    def _open(self, netns: str | None) -> None:
        if netns is not None:
            _enter_netns(netns)
        # libnftables exit()s the whole process if it cannot open its netlink socket: find out first
        socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_NETFILTER).close()
        ctx = self._lib.nft_ctx_new(0)
        if not ctx:
            raise OSError("nft_ctx_new failed")
        self._lib.nft_ctx_buffer_output(ctx)
        self._lib.nft_ctx_buffer_error(ctx)
        self._ctx = ctx

    async def call(self, work: Callable[[], _T]) -> _T:
        """Run work on the context's thread. A timeout cannot stop libnftables: the call may still
        complete (the syncer then does a full sync next time), and later calls wait for it."""
        try:
            await asyncio.wrap_future(self._opened)
        except OSError as exc:
            raise NftError(f"cannot use {_LIBRARY}: {exc}") from exc
        try:
            async with asyncio.timeout(self._timeout):
                return await asyncio.wrap_future(self._pool.submit(work))
        except TimeoutError:
            raise NftError(f"{_LIBRARY} call timed out after {self._timeout}s") from None

    def _run(
        self, run: Callable[[int], int], *, dry_run: bool = False, json_output: bool = False
    ) -> RunResult:
        lib, ctx = self._lib, self._ctx
        assert ctx is not None
        flags = lib.nft_ctx_output_get_flags(ctx)
        lib.nft_ctx_set_dry_run(ctx, dry_run)
        lib.nft_ctx_output_set_flags(ctx, flags | _OUTPUT_JSON if json_output else flags & ~_OUTPUT_JSON)
        try:
            rc = run(ctx)
        finally:
            lib.nft_ctx_set_dry_run(ctx, False)
            lib.nft_ctx_output_set_flags(ctx, flags)
        out = (lib.nft_ctx_get_output_buffer(ctx) or b"").decode(errors="replace")
        err = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode(errors="replace")
        return RunResult(0 if rc == 0 else 1, out, err)

    def run_file(self, text: str, dry_run: bool) -> RunResult:
        data = text.encode()
        os.ftruncate(self._file, 0)
        os.pwrite(self._file, data, 0)
        path = f"/proc/self/fd/{self._file}".encode()
        return self._run(lambda ctx: self._lib.nft_run_cmd_from_filename(ctx, path), dry_run=dry_run)

    def run_command(self, command: str, json_output: bool) -> RunResult:
        data = command.encode()
        return self._run(lambda ctx: self._lib.nft_run_cmd_from_buffer(ctx, data), json_output=json_output)

    def close(self) -> None:
        self._pool.submit(self._free)
        self._pool.shutdown(wait=False)

    def _free(self) -> None:
        if self._ctx is not None:
            self._lib.nft_ctx_free(self._ctx)
            self._ctx = None
        os.close(self._file)


class NftApplier:
    """Real nft, optionally inside a network namespace.

    engine "auto" uses libnftables when it loads and `nft` is the default (a specific binary means that
    binary), else the nft process; "library" insists on libnftables (NftError when it is missing)."""

    def __init__(
        self, nft: str = "nft", netns: str | None = None, timeout: float = 30.0, engine: Engine = "auto"
    ) -> None:
        self.nft = nft
        self.netns = netns
        self.timeout = timeout
        self._lib = (
            _load_library(_LIBRARY) if engine == "library" or (engine == "auto" and nft == "nft") else None
        )
        if engine == "library" and self._lib is None:
            raise NftError(f"cannot load {_LIBRARY}")
        if engine == "auto" and nft == "nft" and self._lib is None:
            log.info("%s not available: running the nft binary per transaction", _LIBRARY)
        self.engine: Literal["library", "process"] = "library" if self._lib is not None else "process"
        self._context: _LibNft | None = None
        self._release: weakref.finalize | None = None

    def _library(self) -> _LibNft | None:
        """The long-lived context, made on first use (so that an applier that is never used costs nothing)."""
        if self._lib is not None and self._context is None:
            self._context = _LibNft(self._lib, self.netns, self.timeout)
            self._release = weakref.finalize(self, self._context.close)
        return self._context

    def close(self) -> None:
        """Free the libnftables context and its thread (also done when the applier is collected); a
        later call makes a new one."""
        if self._release is not None:
            self._release()
        self._context = self._release = None

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
        result = await self._transaction(text, check)
        if result.returncode != 0:
            errors = parse_errors(result.stderr, text)
            error = NftError(f"nft {'check' if check else 'transaction'} failed", errors, result.stderr)
            if not check:
                log.error("%s", error)
            raise error

    async def _transaction(self, text: str, check: bool) -> RunResult:
        context = self._library()
        if context is None:
            return await self._run(["-c", "-f", "-"] if check else ["-f", "-"], stdin=text)
        return await context.call(lambda: context.run_file(text, check))

    async def _command(self, args: list[str]) -> RunResult:
        """One nft command line; through libnftables unless it has options other than -j."""
        context = self._library()
        json_output = args[:1] == ["-j"]
        words = args[1:] if json_output else args
        if context is None or any(word.startswith("-") for word in words):
            return await self._run(args)
        command = " ".join(words)  # as nft itself joins its arguments
        return await context.call(lambda: context.run_command(command, json_output))

    async def apply(self, tx: Transaction | str) -> None:
        """Apply atomically; raise NftError (with offending lines) if nft refused it."""
        await self._feed(tx, check=False)

    async def check(self, tx: Transaction | str) -> None:
        """`nft -c`: validate against the current ruleset without applying."""
        await self._feed(tx, check=True)

    async def list_table(self, family: Family, table: str) -> dict[str, Any] | None:
        """`nft -j list table`; None if the table does not exist. Periodic drift check only."""
        result = await self._command(["-j", "list", "table", family, table])
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
        result = await self._command(list(args))
        if result.returncode != 0:
            raise NftError(f"nft {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout
