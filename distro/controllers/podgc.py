"""Pod garbage collection (upstream's PodGC): pods bound to a node that no longer exists are force-deleted
after a quarantine, unscheduled pods marked for deletion are finished, and terminated pods beyond a
threshold are deleted oldest first. Pods on an unreachable node are NOT touched: as upstream, they wait
for their kubelet (and on an edge link it usually comes back)."""

from __future__ import annotations

import asyncio
import time

from distro.apiserver import status
from distro.controllers.base import Controller
from distro.controllers.client import Client, key_of, resource, split_key
from distro.controllers.config import ControllerConfig
from distro.controllers.events import EventRecorder
from distro.controllers.informer import InformerFactory, Obj

TERMINATED_THRESHOLD = 12500
TERMINATED_KEY = "<terminated>"


class PodGCController(Controller):
    name = "podgc"
    component = "pod-garbage-collector"
    # upstream waits this long after a node vanished before deleting its pods (it may be re-registering)
    quarantine = 40.0
    terminated_threshold = TERMINATED_THRESHOLD

    def __init__(
        self, client: Client, informers: InformerFactory, recorder: EventRecorder, config: ControllerConfig
    ) -> None:
        super().__init__(client, informers, recorder, config)
        self.pods = informers.informer(resource("", "pods"))
        self.nodes = informers.informer(resource("", "nodes"))
        self.pods.add_index("node", lambda p: [(p.get("spec") or {}).get("nodeName") or ""])
        self.pods.add_handler(self._pod_changed)
        self.nodes.add_handler(self._node_changed)
        self._node_gone_at: dict[str, float] = {}

    def _pod_changed(self, old: Obj | None, new: Obj | None) -> None:
        if new is None:
            return
        spec, meta = new.get("spec") or {}, new["metadata"]
        node = spec.get("nodeName")
        if (node and self.nodes.get("", node) is None) or (not node and meta.get("deletionTimestamp")):
            self.enqueue(key_of(new))
        if (new.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            self.enqueue(TERMINATED_KEY)

    def _node_changed(self, old: Obj | None, new: Obj | None) -> None:
        if new is None and old is not None:
            name = old["metadata"]["name"]
            self._node_gone_at[name] = time.monotonic()
            for pod in self.pods.by_index("node", name):
                self.queue.add_after(key_of(pod), self.quarantine)
        elif new is not None:
            self._node_gone_at.pop(new["metadata"]["name"], None)

    async def sync(self, key: str) -> None:
        if key == TERMINATED_KEY:
            await self._collect_terminated()
            return
        namespace, name = split_key(key)
        pod = self.pods.get(namespace, name)
        if pod is None:
            return
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            if pod["metadata"].get("deletionTimestamp"):
                await self._force_delete(pod, "unscheduled pod marked for deletion")
            return
        if self.nodes.get("", node) is not None:
            return
        gone_for = time.monotonic() - self._node_gone_at.setdefault(node, time.monotonic())
        if gone_for < self.quarantine:
            self.queue.add_after(key, self.quarantine - gone_for)
            return
        try:  # the cache said gone; only a live read may decide
            await self.client.get(resource("", "nodes"), "", node)
            return
        except status.StatusError as exc:
            if exc.code != 404:
                raise
        await self._force_delete(pod, f"node {node} no longer exists")

    async def _force_delete(self, pod: Obj, why: str) -> None:
        meta = pod["metadata"]
        self.recorder.event(pod, "Normal", "PodGC", f"Deleting pod: {why}")
        await self.client.delete(
            resource("", "pods"),
            meta.get("namespace", ""),
            meta["name"],
            uid=meta.get("uid", ""),
            grace_period=0,
        )

    async def _collect_terminated(self) -> None:
        terminated = [
            p for p in self.pods.list() if (p.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        ]
        excess = len(terminated) - self.terminated_threshold
        if excess <= 0:
            return
        terminated.sort(key=lambda p: p["metadata"].get("creationTimestamp") or "")
        for pod in terminated[:excess]:
            await self._force_delete(pod, "too many terminated pods")
            await asyncio.sleep(0)
