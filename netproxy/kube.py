"""A minimal asyncio Kubernetes API client: what a proxy needs (list + watch), against any cluster.

`load_kubeconfig` reads the parts of a kubeconfig a non-interactive client can use (server URL, CA data or
file, client certificate/key data or files, bearer token or token file; exec and auth-provider plugins are
refused with a clear error). `KubeClient` lists (paginated) and watches one collection path as JSON, with a
timeout on every call. `Reflector` is client-go's reflector in small: list, watch from the list's
resourceVersion with bookmarks, rewatch from the last seen version when a watch ends, relist on 410 Gone,
back off (exponential, jittered) on errors, and feed everything into a `Sink`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import random
import ssl
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import aiohttp
import yaml

log = logging.getLogger(__name__)

Obj = dict[str, Any]
IN_CLUSTER_ROOT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
_MAX_EVENT_BYTES = 64 * 1024 * 1024  # one watch event; far beyond any object the API server accepts


class KubeConfigError(Exception):
    """The kubeconfig is missing, unreadable or asks for something this client does not do."""


class ApiError(Exception):
    """The API server answered with an error Status (also raised for an ERROR watch event)."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(f"{code} {reason}: {message}")
        self.code = code
        self.reason = reason
        self.message = message

    @property
    def expired(self) -> bool:
        """The resourceVersion asked for is too old (410 Gone/Expired): relist."""
        return self.code == 410


@dataclass(frozen=True, slots=True)
class KubeConfig:
    """Where the API server is and how to authenticate to it."""

    server: str
    ca_pem: bytes | None = None
    cert_pem: bytes | None = None
    key_pem: bytes | None = None
    token: str | None = None
    # re-read on every request: projected service-account tokens are rotated in place
    token_file: Path | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None

    def bearer_token(self) -> str | None:
        if self.token_file is not None:
            return self.token_file.read_text().strip() or None
        return self.token

    def ssl_context(self) -> ssl.SSLContext | None:
        """TLS settings for an https server (None for plain http)."""
        if not self.server.startswith("https://"):
            return None
        ctx = ssl.create_default_context(cadata=self.ca_pem.decode() if self.ca_pem else None)
        if self.insecure_skip_tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.cert_pem is not None and self.key_pem is not None:
            _load_client_cert(ctx, self.cert_pem, self.key_pem)
        return ctx


def _load_client_cert(ctx: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    # ssl only loads a certificate chain from files: a private directory that lives for one call
    with tempfile.TemporaryDirectory(prefix="edgek8s-kube-") as tmp:
        cert, key = Path(tmp) / "client.crt", Path(tmp) / "client.key"
        for path, data in ((cert, cert_pem), (key, key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
        try:
            ctx.load_cert_chain(cert, key)
        except ssl.SSLError as exc:
            raise KubeConfigError(f"client certificate/key unusable: {exc}") from None


def _named(entries: Any, name: str, what: str, path: Path) -> Mapping[str, Any]:
    for entry in entries or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            body = entry.get(what)
            return body if isinstance(body, dict) else {}
    raise KubeConfigError(f"{path}: no {what} named {name!r}")


def _data_or_file(section: Mapping[str, Any], key: str, base: Path, path: Path) -> bytes | None:
    """`<key>-data` (base64) wins over `<key>` (a file, relative to the kubeconfig's directory)."""
    data = section.get(f"{key}-data")
    if data:
        try:
            return base64.b64decode(data, validate=True)
        except ValueError:
            raise KubeConfigError(f"{path}: {key}-data is not valid base64") from None
    name = section.get(key)
    if not name:
        return None
    try:
        return (base / Path(name).expanduser()).read_bytes()
    except OSError as exc:
        raise KubeConfigError(f"{path}: {key}: {exc}") from None


def load_kubeconfig(path: Path | str, context: str | None = None) -> KubeConfig:
    """The cluster and user of `context` (default: current-context) of a kubeconfig file."""
    path = Path(path).expanduser()
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise KubeConfigError(f"cannot read kubeconfig {path}: {exc}") from None
    if not isinstance(doc, dict):
        raise KubeConfigError(f"{path}: not a kubeconfig")
    name = context or doc.get("current-context")
    if not name:
        raise KubeConfigError(f"{path}: no current-context and no context given")
    ctx = _named(doc.get("contexts"), name, "context", path)
    cluster = _named(doc.get("clusters"), ctx.get("cluster", ""), "cluster", path)
    user = _named(doc.get("users"), ctx["user"], "user", path) if ctx.get("user") else {}
    for unsupported in ("exec", "auth-provider"):
        if user.get(unsupported):
            raise KubeConfigError(
                f"{path}: user {ctx.get('user')!r} uses {unsupported}, which edgek8s does not run"
            )
    server = str(cluster.get("server") or "").rstrip("/")
    if not server.startswith(("https://", "http://")):
        raise KubeConfigError(f"{path}: cluster {ctx.get('cluster')!r} has no http(s) server URL")
    base = path.parent
    token_file = user.get("tokenFile")
    return KubeConfig(
        server=server,
        ca_pem=_data_or_file(cluster, "certificate-authority", base, path),
        cert_pem=_data_or_file(user, "client-certificate", base, path),
        key_pem=_data_or_file(user, "client-key", base, path),
        token=user.get("token") or None,
        token_file=(base / token_file) if token_file and not user.get("token") else None,
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify")),
        tls_server_name=cluster.get("tls-server-name") or None,
    )


def in_cluster_config(env: Mapping[str, str] = os.environ, root: Path = IN_CLUSTER_ROOT) -> KubeConfig:
    """The API server as seen from a pod: service env vars plus the mounted service-account token."""
    host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT")
    if not host or not port or not (root / "token").exists():
        raise KubeConfigError("not running in a pod (no KUBERNETES_SERVICE_HOST or service-account token)")
    hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    ca = root / "ca.crt"
    return KubeConfig(
        server=f"https://{hostport}",
        ca_pem=ca.read_bytes() if ca.exists() else None,
        token_file=root / "token",
    )


def find_kubeconfig(explicit: str | None, env: Mapping[str, str] = os.environ) -> KubeConfig:
    """Like kubectl: the given file, else $KUBECONFIG (first entry), else in-cluster, else ~/.kube/config."""
    if explicit:
        return load_kubeconfig(explicit)
    listed = [p for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        return load_kubeconfig(listed[0])
    try:
        return in_cluster_config(env)
    except KubeConfigError:
        pass
    home = Path(env.get("HOME") or Path.home()) / ".kube" / "config"
    if home.exists():
        return load_kubeconfig(home)
    raise KubeConfigError("no kubeconfig: pass --kubeconfig, set KUBECONFIG, or run in a pod")


def _api_error(code: int, body: str) -> ApiError:
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    if isinstance(doc, dict) and doc.get("kind") == "Status":
        return _status_error(doc, code)
    return ApiError(code, "", body.strip()[:500])


def _status_error(doc: Mapping[str, Any], fallback_code: int = 500) -> ApiError:
    return ApiError(
        int(doc.get("code") or fallback_code), str(doc.get("reason") or ""), str(doc.get("message") or "")
    )


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: str  # ADDED, MODIFIED, DELETED or BOOKMARK (ERROR is raised as ApiError)
    object: Obj


class KubeClient:
    """List and watch over HTTP(S). `timeout` bounds every request (a watch: connecting and each read
    beyond the watch's own server-side timeout)."""

    def __init__(
        self, config: KubeConfig, *, timeout: float = 30.0, user_agent: str = "edgek8s-proxy"
    ) -> None:
        self.config = config
        self.timeout = timeout
        self._ssl = config.ssl_context()
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(ssl=self._ssl if self._ssl is not None else False)
            self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": self._user_agent}
        token = self.config.bearer_token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _url(self, path: str, query: Mapping[str, str]) -> str:
        params = {k: v for k, v in query.items() if v != ""}
        return f"{self.config.server}{path}" + (f"?{urlencode(params)}" if params else "")

    async def _get_json(self, url: str) -> Obj:
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with self._http().get(
            url, headers=self._headers(), timeout=timeout, server_hostname=self.config.tls_server_name
        ) as resp:
            body = await resp.text()
            if resp.status != 200:
                raise _api_error(resp.status, body)
        doc = json.loads(body)
        if not isinstance(doc, dict):
            raise ApiError(500, "InternalError", f"expected a JSON object from {url}")
        return doc

    async def list(self, path: str, *, label_selector: str = "", limit: int = 500) -> tuple[list[Obj], str]:
        """All objects of a collection (followed through `continue` pages) and the list's resourceVersion."""
        items: list[Obj] = []
        token = ""
        while True:
            query = {"limit": str(limit), "labelSelector": label_selector, "continue": token}
            doc = await self._get_json(self._url(path, query))
            items.extend(doc.get("items") or [])
            meta = doc.get("metadata") or {}
            token = meta.get("continue") or ""
            if not token:
                return items, str(meta.get("resourceVersion") or "")

    async def watch(
        self, path: str, resource_version: str, *, label_selector: str = "", timeout_seconds: int = 300
    ) -> AsyncIterator[WatchEvent]:
        """Changes after resource_version, with bookmarks, until the server ends the watch.
        An ERROR event (e.g. 410 Expired) is raised as ApiError."""
        query = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
            "labelSelector": label_selector,
        }
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=self.timeout,
            sock_connect=self.timeout,
            sock_read=timeout_seconds + self.timeout,
        )
        async with self._http().get(
            self._url(path, query),
            headers=self._headers(),
            timeout=timeout,
            server_hostname=self.config.tls_server_name,
        ) as resp:
            if resp.status != 200:
                raise _api_error(resp.status, await resp.text())
            async for line in _lines(resp.content):
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    raise _status_error(obj)
                yield WatchEvent(str(kind), obj)


async def _lines(stream: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    """Newline-delimited JSON of any size (aiohttp's readline refuses lines over 128 KiB)."""
    buffer = bytearray()
    async for chunk in stream.iter_any():
        buffer.extend(chunk)
        while (end := buffer.find(b"\n")) >= 0:
            line = bytes(buffer[:end]).strip()
            del buffer[: end + 1]
            if line:
                yield line
        if len(buffer) > _MAX_EVENT_BYTES:
            raise ApiError(500, "InternalError", "watch event larger than 64 MiB")
    if buffer.strip():
        yield bytes(buffer).strip()


class Sink(Protocol):
    """Where a reflector puts what it sees."""

    def replace(self, objects: list[Obj]) -> None:
        """The complete current set of objects (after every list)."""

    def apply(self, event_type: str, obj: Obj) -> None:
        """One change: ADDED, MODIFIED or DELETED."""


@dataclass
class Backoff:
    """Exponential delays with jitter, reset after a success."""

    initial: float = 0.5
    maximum: float = 30.0
    _next: float = field(default=0.0, init=False)

    def delay(self) -> float:
        base = self._next or self.initial
        self._next = min(base * 2, self.maximum)
        return base * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self._next = 0.0


class Reflector:
    """Keeps a Sink equal to the server's objects of one collection, forever (cancel to stop)."""

    def __init__(
        self,
        client: KubeClient,
        path: str,
        sink: Sink,
        *,
        label_selector: str = "",
        backoff: Backoff | None = None,
        watch_timeout: tuple[int, int] = (60, 120),
    ) -> None:
        self.client = client
        self.path = path
        self.sink = sink
        self.label_selector = label_selector
        self.backoff = backoff or Backoff()
        # a random server-side watch timeout per watch (client-go does the same) spreads reconnects and
        # bounds how long a silently dead connection can go unnoticed
        self.watch_timeout = watch_timeout
        self.synced = asyncio.Event()
        self.resource_version = ""
        self.lists = 0

    async def run(self) -> None:
        must_list = True
        while True:
            try:
                if must_list:
                    await self._list()
                    must_list = False
                await self._watch()
            except ApiError as exc:
                if exc.expired and not must_list:
                    log.info("%s: resourceVersion %s expired, relisting", self.path, self.resource_version)
                    must_list = True
                    continue
                # anything else the server refuses (401, 403, 5xx): start over from a fresh list
                must_list = True
                await self._wait(exc)
            except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
                await self._wait(exc)  # connection trouble: rewatch from where we were
            except Exception as exc:  # a bug must not silently end the watch the proxy depends on
                log.exception("%s: unexpected error", self.path)
                must_list = True
                await self._wait(exc)

    async def _wait(self, exc: BaseException) -> None:
        delay = self.backoff.delay()
        log.warning("%s: %s; retrying in %.1fs", self.path, str(exc) or type(exc).__name__, delay)
        await asyncio.sleep(delay)

    async def _list(self) -> None:
        items, rv = await self.client.list(self.path, label_selector=self.label_selector)
        self.lists += 1
        self.resource_version = rv
        self.sink.replace(items)
        self.synced.set()
        self.backoff.reset()

    async def _watch(self) -> None:
        started = time.monotonic()
        seconds = random.randint(*self.watch_timeout)
        events = self.client.watch(
            self.path, self.resource_version, label_selector=self.label_selector, timeout_seconds=seconds
        )
        async for event in events:
            rv = (event.object.get("metadata") or {}).get("resourceVersion")
            if event.type in ("ADDED", "MODIFIED", "DELETED"):
                self.sink.apply(event.type, event.object)
            elif event.type != "BOOKMARK":
                log.warning("%s: ignoring watch event of type %r", self.path, event.type)
                continue
            if rv:
                self.resource_version = str(rv)
            self.backoff.reset()
        if time.monotonic() - started < 1.0:
            # a watch the server ends at once, over and over, must not become a busy loop
            await asyncio.sleep(self.backoff.delay())
