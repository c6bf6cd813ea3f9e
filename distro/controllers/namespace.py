"""Namespace lifecycle: a namespace marked for deletion has its contents deleted, then its `kubernetes`
finalizer removed, after which the API server deletes it (upstream's namespace controller)."""

from __future__ import annotations

import copy

from distro.apiserver.registry import RESOURCES
from distro.controllers.base import Controller
from distro.controllers.client import Client, key_of, resource
from distro.controllers.config import ControllerConfig
from distro.controllers.events import EventRecorder
from distro.controllers.informer import InformerFactory, Obj

FINALIZER = "kubernetes"
# while contents are still going away (graceful pods, finalizers), look again this often
RECHECK_SECONDS = 0.5


class NamespaceController(Controller):
    name = "namespace"
    component = "namespace-controller"

    def __init__(
        self, client: Client, informers: InformerFactory, recorder: EventRecorder, config: ControllerConfig
    ) -> None:
        super().__init__(client, informers, recorder, config)
        self.namespaces = informers.informer(resource("", "namespaces"))
        self.namespaces.add_handler(self._changed)

    def _changed(self, old: Obj | None, new: Obj | None) -> None:
        if new is not None and new["metadata"].get("deletionTimestamp"):
            self.enqueue(key_of(new))

    async def sync(self, key: str) -> None:
        ns = self.namespaces.get_key(key)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        if FINALIZER not in ((ns.get("spec") or {}).get("finalizers") or []):
            return
        remaining = 0
        for rd in RESOURCES:
            if not rd.namespaced:
                continue
            items, _ = await self.client.list(rd, key)
            for obj in items:
                remaining += 1
                if not obj["metadata"].get("deletionTimestamp"):
                    await self.client.delete(rd, key, obj["metadata"]["name"], propagation="Background")
        if remaining:
            self.queue.add_after(key, RECHECK_SECONDS)
            return
        finalized = copy.deepcopy(ns)
        finalized["spec"]["finalizers"] = [f for f in finalized["spec"]["finalizers"] if f != FINALIZER]
        await self.client.update(resource("", "namespaces"), finalized, subresource="finalize")
