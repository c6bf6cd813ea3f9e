"""Runs the embedded controllers: shared informers, one in-process client per controller (its name is
the field manager), and `--disable-controller NAME` to leave any of them out."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from typing import TYPE_CHECKING

from distro.controllers.client import LocalClient
from distro.controllers.config import ControllerConfig
from distro.controllers.events import EventRecorder
from distro.controllers.informer import InformerFactory

if TYPE_CHECKING:
    from distro.apiserver.app import APIServer
    from distro.controllers.base import Controller


# name -> "module:Class"; modules are imported only for controllers that run
CONTROLLERS: dict[str, str] = {
    "namespace": "distro.controllers.namespace:NamespaceController",
    "scheduler": "distro.controllers.scheduler:Scheduler",
    "deployment": "distro.controllers.deployment:DeploymentController",
    "replicaset": "distro.controllers.replicaset:ReplicaSetController",
    "daemonset": "distro.controllers.daemonset:DaemonSetController",
    "nodelifecycle": "distro.controllers.nodelifecycle:NodeLifecycleController",
    "endpointslice": "distro.controllers.endpointslice:EndpointSliceController",
    "endpoints": "distro.controllers.endpoints:EndpointsController",
    "serviceip": "distro.controllers.serviceip:ServiceIPRepairController",
    "serviceaccount": "distro.controllers.serviceaccount:ServiceAccountController",
    "garbagecollector": "distro.controllers.garbagecollector:GarbageCollector",
    "podgc": "distro.controllers.podgc:PodGCController",
}


class ControllerManager:
    def __init__(
        self,
        api: APIServer,
        disabled: frozenset[str] = frozenset(),
        host: str = "",
        config: ControllerConfig | None = None,
    ) -> None:
        unknown = disabled - set(CONTROLLERS)
        if unknown:
            raise ValueError(f"unknown controller(s) {sorted(unknown)}; known: {sorted(CONTROLLERS)}")
        self.api = api
        self.disabled = disabled
        self.host = host
        self.config = config or ControllerConfig()
        self.informers = InformerFactory(LocalClient(api, "edgek8s-controller-manager"))
        self.controllers: dict[str, Controller] = {}
        self._tasks: list[asyncio.Task] = []

    def build(self) -> None:
        for name, target in CONTROLLERS.items():
            if name in self.disabled:
                continue
            module_name, _, class_name = target.partition(":")
            cls = getattr(importlib.import_module(module_name), class_name)
            client = LocalClient(self.api, f"edgek8s-{name}-controller")
            recorder = EventRecorder(client, cls.component, self.host)
            self.controllers[name] = cls(client, self.informers, recorder, self.config)

    async def start(self) -> None:
        self.build()
        self.informers.start()
        for name, controller in self.controllers.items():
            self._tasks.append(asyncio.create_task(controller.run(), name=f"controller:{name}"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await self.informers.stop()
