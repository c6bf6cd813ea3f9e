"""A stand-in kubelet for tests, until the real agent exists.

It polls every pod and does what a kubelet would: binds unscheduled pods to its node (playing the
scheduler too, when none runs), reports bound pods Running and - if `ready(pod)` says so, after
`ready_delay` seconds (a number, or a function of the pod) - Ready, and finishes graceful deletions
(deletes terminating pods with grace 0).
It talks to the API through a small `PodAPI`: in-process (`LocalPods`, a LocalClient) or over HTTPS
(`HttpPods`, with a kubeconfig's client certificate), so controller tests and e2e tests share it;
`KubeletThread` runs it beside synchronous e2e tests. Polling rather than watching keeps it trivially
correct across server restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from distro.apiserver import status
from distro.controllers.client import LocalClient, resource

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PodAPI(Protocol):
    async def list_pods(self) -> list[Obj]: ...

    async def bind(self, namespace: str, name: str, uid: str, node: str) -> None: ...

    async def patch_status(self, namespace: str, name: str, patch: Obj) -> None: ...

    async def delete_now(self, namespace: str, name: str, uid: str) -> None: ...

    async def close(self) -> None: ...


class LocalPods:
    def __init__(self, client: LocalClient) -> None:
        self.client = client
        self.pods = resource("", "pods")

    async def list_pods(self) -> list[Obj]:
        items, _ = await self.client.list(self.pods)
        return items

    async def bind(self, namespace: str, name: str, uid: str, node: str) -> None:
        await self.client.bind(namespace, name, node, uid)

    async def patch_status(self, namespace: str, name: str, patch: Obj) -> None:
        await self.client.patch(self.pods, namespace, name, patch, subresource="status")

    async def delete_now(self, namespace: str, name: str, uid: str) -> None:
        await self.client.delete(self.pods, namespace, name, uid=uid, grace_period=0)

    async def close(self) -> None:
        return None


class HttpPods:
    """The same four calls over the real HTTPS API (aiohttp; one session per event loop)."""

    def __init__(self, url: str, ssl_context: ssl.SSLContext) -> None:
        self.url = url
        self.ssl_context = ssl_context
        self._session: Any = None

    def _http(self) -> Any:
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self.ssl_context),
                timeout=aiohttp.ClientTimeout(total=10),
            )
        return self._session

    async def _call(self, method: str, path: str, body: Obj | None = None, content_type: str = "") -> Obj:
        headers = {"Content-Type": content_type or "application/json", "Accept": "application/json"}
        data = json.dumps(body).encode() if body is not None else None
        async with self._http().request(method, self.url + path, data=data, headers=headers) as resp:
            payload = await resp.json(content_type=None)
            if resp.status >= 400:
                raise status.StatusError(
                    resp.status, payload.get("reason", ""), payload.get("message", ""), payload.get("details")
                )
            return payload

    async def list_pods(self) -> list[Obj]:
        return (await self._call("GET", "/api/v1/pods")).get("items") or []

    async def bind(self, namespace: str, name: str, uid: str, node: str) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": name, "uid": uid},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        await self._call("POST", f"/api/v1/namespaces/{namespace}/pods/{name}/binding", body)

    async def patch_status(self, namespace: str, name: str, patch: Obj) -> None:
        path = f"/api/v1/namespaces/{namespace}/pods/{name}/status"
        await self._call("PATCH", path, patch, "application/merge-patch+json")

    async def delete_now(self, namespace: str, name: str, uid: str) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "gracePeriodSeconds": 0,
            "preconditions": {"uid": uid},
        }
        with contextlib.suppress(status.StatusError):
            await self._call("DELETE", f"/api/v1/namespaces/{namespace}/pods/{name}", body)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _always(pod: Obj) -> bool:
    return True


class FakeKubelet:
    def __init__(
        self,
        api: PodAPI,
        *,
        node: str = "node-1",
        ready: Callable[[Obj], bool] = _always,
        ready_delay: float | Callable[[Obj], float] = 0.0,
        interval: float = 0.02,
    ) -> None:
        self.api = api
        self.node = node
        self.ready = ready
        self.ready_delay = ready_delay
        self.interval = interval
        self._bound_at: dict[str, float] = {}
        self._ips: dict[str, str] = {}

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.tick()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a restarting server, a dropped connection: try again
                    log.debug("fake kubelet tick failed: %s", exc)
                await asyncio.sleep(self.interval)
        finally:
            await self.api.close()

    async def tick(self) -> None:
        for pod in await self.api.list_pods():
            try:
                await self._handle(pod)
            except status.StatusError as exc:
                # conflicts with a scheduler or a controller, pods gone meanwhile: next tick sees the truth
                log.debug("fake kubelet: %s", exc.message)

    async def _handle(self, pod: Obj) -> None:
        meta, spec, st = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
        namespace, name, uid = meta.get("namespace") or "", meta["name"], meta.get("uid") or ""
        if meta.get("deletionTimestamp"):
            await self.api.delete_now(namespace, name, uid)
            return
        if st.get("phase") in ("Succeeded", "Failed"):
            return
        if not spec.get("nodeName"):
            await self.api.bind(namespace, name, uid, self.node)
            return
        bound_at = self._bound_at.setdefault(uid, time.monotonic())
        delay = self.ready_delay(pod) if callable(self.ready_delay) else self.ready_delay
        want_ready = self.ready(pod) and time.monotonic() - bound_at >= delay
        if st.get("phase") == "Running" and _is_ready(pod) == want_ready:
            return
        if st.get("phase") == "Running" and not want_ready:
            return  # running, waiting to turn ready (or never)
        await self.api.patch_status(namespace, name, {"status": self._status(pod, want_ready)})

    def _status(self, pod: Obj, ready: bool) -> Obj:
        now = _now()
        st = pod.get("status") or {}
        ip = self._ips.setdefault(pod["metadata"].get("uid") or "", _pod_ip(len(self._ips)))
        scheduled = next(
            (c for c in st.get("conditions") or [] if c.get("type") == "PodScheduled"),
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now},
        )
        flag = "True" if ready else "False"
        conditions = [
            {
                "type": "PodReadyToStartContainers",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": now,
            },
            {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": now},
            {"type": "Ready", "status": flag, "lastProbeTime": None, "lastTransitionTime": now},
            {"type": "ContainersReady", "status": flag, "lastProbeTime": None, "lastTransitionTime": now},
            scheduled,
        ]
        containers = [
            {
                "name": c.get("name"),
                "image": c.get("image"),
                "imageID": "",
                "containerID": f"fake://{pod['metadata'].get('uid')}/{c.get('name')}",
                "ready": ready,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": st.get("startTime") or now}},
            }
            for c in (pod.get("spec") or {}).get("containers") or []
        ]
        return {
            "phase": "Running",
            "hostIP": "10.0.0.1",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "startTime": st.get("startTime") or now,
            "conditions": conditions,
            "containerStatuses": containers,
        }


def _is_ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def _pod_ip(n: int) -> str:
    return f"10.244.{n // 250}.{n % 250 + 1}"


@contextlib.asynccontextmanager
async def running(kubelet: FakeKubelet):
    """Runs kubelet as a task for the body of an `async with`."""
    task = asyncio.create_task(kubelet.run(), name="fake-kubelet")
    try:
        yield kubelet
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class KubeletThread:
    """A FakeKubelet on its own event loop in a daemon thread, for synchronous (e2e) tests."""

    def __init__(self, make: Callable[[], FakeKubelet]) -> None:
        self._make = make
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, name="fake-kubelet", daemon=True)

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._task = loop.create_task(self._make().run())
        self._started.set()
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(self._task)
        loop.close()

    def __enter__(self) -> KubeletThread:
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)
