"""An in-process control plane for controller tests: a real API server over a real embedded datastore
in a temp dir (no HTTP), a LocalClient, and a ControllerManager running only the controllers asked for."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from distro.apiserver import auth
from distro.apiserver.app import APIServer, APIServerConfig
from distro.controllers.client import LocalClient, resource
from distro.controllers.config import ControllerConfig
from distro.controllers.manager import CONTROLLERS, ControllerManager
from kine_shim.client import EmbeddedDatastore
from kine_shim.store import Store, StoreConfig

Obj = dict[str, Any]


class Cluster:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.store: Store | None = None
        self.api: APIServer | None = None
        self.client: LocalClient | None = None
        self.manager: ControllerManager | None = None

    async def start(self, controllers: tuple[str, ...] = ()) -> Cluster:
        self.store = Store(StoreConfig(db_path=self.tmp / "db" / "state.db", synchronous="NORMAL"))
        await self.store.start()
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        authn = auth.Authenticator(service_account_public_key=key.public_key())
        self.api = APIServer(EmbeddedDatastore(self.store), APIServerConfig(), authenticator=authn)
        await self.api.start()
        self.client = LocalClient(self.api, "test")
        await self.run_controllers(controllers)
        return self

    async def run_controllers(
        self, controllers: tuple[str, ...], config: ControllerConfig | None = None
    ) -> None:
        """(Re)starts the controller manager with exactly these controllers."""
        if self.manager is not None:
            await self.manager.stop()
        disabled = frozenset(CONTROLLERS) - set(controllers)
        self.manager = ControllerManager(self.api, disabled, "test-host", config)
        await self.manager.start()

    async def stop(self) -> None:
        if self.manager is not None:
            await self.manager.stop()
        if self.api is not None:
            await self.api.stop()
        if self.store is not None:
            await self.store.close()

    # -- conveniences --

    async def create(self, group: str, plural: str, obj: Obj, namespace: str = "default") -> Obj:
        return await self.client.create(resource(group, plural), namespace, obj)

    async def get(self, group: str, plural: str, name: str, namespace: str = "default") -> Obj:
        return await self.client.get(resource(group, plural), namespace, name)

    async def list(self, group: str, plural: str, namespace: str = "", **kw: str) -> list[Obj]:
        items, _ = await self.client.list(resource(group, plural), namespace, **kw)
        return items


async def eventually(
    check: Callable[[], Awaitable[Any]], within: float = 10.0, interval: float = 0.05
) -> Any:
    """Polls check() until it returns a truthy value (returned) or raises AssertionError past the timeout."""
    deadline = time.monotonic() + within
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = await check()
            if result:
                return result
        except AssertionError as exc:
            last = exc
        await asyncio.sleep(interval)
    if last is not None:
        raise last
    raise AssertionError(f"condition not met within {within}s")
