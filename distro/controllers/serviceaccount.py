"""A `default` ServiceAccount in every active namespace (upstream's serviceaccounts controller): created
when the namespace appears, created again when deleted; never in a namespace being terminated."""

from __future__ import annotations

from distro.apiserver import status
from distro.controllers.base import Controller
from distro.controllers.client import Client, resource
from distro.controllers.config import ControllerConfig
from distro.controllers.events import EventRecorder
from distro.controllers.informer import InformerFactory, Obj

DEFAULT_SERVICE_ACCOUNT = "default"
_SERVICE_ACCOUNTS = resource("", "serviceaccounts")


def _active(namespace: Obj) -> bool:
    if namespace["metadata"].get("deletionTimestamp"):
        return False
    return (namespace.get("status") or {}).get("phase", "Active") == "Active"


class ServiceAccountController(Controller):
    name = "serviceaccount"
    component = "service-account-controller"

    def __init__(
        self, client: Client, informers: InformerFactory, recorder: EventRecorder, config: ControllerConfig
    ) -> None:
        super().__init__(client, informers, recorder, config)
        self.namespaces = informers.informer(resource("", "namespaces"))
        self.service_accounts = informers.informer(_SERVICE_ACCOUNTS)
        self.namespaces.add_handler(self._namespace_changed)
        self.service_accounts.add_handler(self._service_account_changed)

    def _namespace_changed(self, old: Obj | None, new: Obj | None) -> None:
        if new is not None:
            self.enqueue(new["metadata"]["name"])

    def _service_account_changed(self, old: Obj | None, new: Obj | None) -> None:
        if new is None and old is not None and old["metadata"]["name"] == DEFAULT_SERVICE_ACCOUNT:
            self.enqueue(old["metadata"].get("namespace", ""))

    async def sync(self, key: str) -> None:
        namespace = self.namespaces.get("", key)
        if namespace is None or not _active(namespace):
            return
        if self.service_accounts.get(key, DEFAULT_SERVICE_ACCOUNT) is not None:
            return
        try:
            await self.client.create(_SERVICE_ACCOUNTS, key, {"metadata": {"name": DEFAULT_SERVICE_ACCOUNT}})
        except status.StatusError as exc:
            # AlreadyExists: the cache is behind; 403/404: the namespace is terminating or gone
            if exc.reason not in ("AlreadyExists", "Forbidden", "NotFound"):
                raise
