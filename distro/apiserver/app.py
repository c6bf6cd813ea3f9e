"""The API server: one aiohttp application over the generic store, with authentication, authorization,
discovery, OpenAPI, health and metrics."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from distro.apiserver import auth, discovery, negotiate, request, status
from distro.apiserver.admission import ServerHooks
from distro.apiserver.handlers import ResourceHandler
from distro.apiserver.ipalloc import ServiceIPs, node_ports
from distro.apiserver.metrics import Metrics, TimedDatastore
from distro.apiserver.objects import Obj, Resource, WriteOptions
from distro.apiserver.openapi import OpenAPIV3
from distro.apiserver.openapi_v2 import OpenAPIV2
from distro.apiserver.registry import RESOURCES, REVIEWS, ResourceDef, lookup
from distro.apiserver.storage import ObjectStore
from distro.apiserver.watchcache import WatchCache
from kine_shim.client import Datastore

log = logging.getLogger(__name__)

KUBERNETES_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0+edgek8s",
    "gitCommit": "edgek8s",
    "gitTreeState": "clean",
    "buildDate": "2026-12-07T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}
PUBLIC_PATHS = frozenset(
    {
        "/healthz",
        "/livez",
        "/readyz",
        "/version",
        "/cacerts",
        "/openid/v1/jwks",
        "/.well-known/openid-configuration",
    }
)
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
MASTERS = "system:masters"
NODES_GROUP = "system:nodes"


@dataclass(frozen=True)
class APIServerConfig:
    service_cidr: str = "10.43.0.0/16"
    advertise_address: str = "127.0.0.1"
    port: int = 6443


class APIServer:
    def __init__(
        self,
        ds: Datastore,
        config: APIServerConfig,
        *,
        authenticator: auth.Authenticator,
        ca_pem: bytes = b"",
    ) -> None:
        self.metrics = Metrics()
        self.ds = TimedDatastore(ds, self.metrics)
        self.config = config
        self.authenticator = authenticator
        self.ca_pem = ca_pem
        self.service_ips = ServiceIPs(self.ds, config.service_cidr)
        self.hooks = ServerHooks(self.ds, self.service_ips, node_ports(self.ds), self._namespace)
        self.resources: dict[tuple[str, str], Resource] = {}
        for rd in RESOURCES:
            store = ObjectStore(self.ds, rd.plural, rd.group, namespaced=rd.namespaced)
            self.resources[(rd.group, rd.plural)] = Resource(rd, store, WatchCache(store), self.hooks)
        self.handler = ResourceHandler(self)
        self.openapi = OpenAPIV3(RESOURCES + REVIEWS)
        self._rbac: tuple[tuple[int, ...], auth.RBACAuthorizer] | None = None
        self.node_authorizer = auth.NodeAuthorizer(self._pod_node)
        self.ready = False

    def resource(self, group: str, plural: str) -> Resource:
        return self.resources[(group, plural)]

    def lookup(self, info: request.RequestInfo) -> ResourceDef | None:
        rd = lookup(info.group, info.resource)
        if rd is None or rd.version != info.version:
            return None
        return rd

    # -- lifecycle --

    async def start(self) -> None:
        await asyncio.gather(*(r.cache.start() for r in self.resources.values()))
        await self._bootstrap()
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        await asyncio.gather(*(r.cache.stop() for r in self.resources.values()), return_exceptions=True)

    async def _bootstrap(self) -> None:
        """The objects every cluster has from its first start; existing ones are left as they are."""
        system = WriteOptions(field_manager="")
        namespaces = self.resource("", "namespaces")
        for name in SYSTEM_NAMESPACES:
            await _create_if_absent(
                namespaces, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, "", system
            )
        for obj in auth.bootstrap_objects():
            rd = lookup("rbac.authorization.k8s.io", obj["kind"].lower() + "s")
            assert rd is not None
            await _create_if_absent(self.resources[(rd.group, rd.plural)], obj, "", system)
        await self.service_ips.reserve(self.service_ips.first_ip, "default/kubernetes")
        await _create_if_absent(
            self.resource("", "services"),
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {
                    "name": "kubernetes",
                    "namespace": "default",
                    "labels": {"component": "apiserver", "provider": "kubernetes"},
                },
                "spec": {
                    "clusterIP": self.service_ips.first_ip,
                    "type": "ClusterIP",
                    "sessionAffinity": "None",
                    "ports": [
                        {"name": "https", "port": 443, "protocol": "TCP", "targetPort": self.config.port}
                    ],
                },
            },
            "default",
            system,
        )

    # -- lookups used by admission and authorization --

    def _namespace(self, name: str) -> Obj | None:
        return self.resource("", "namespaces").cache.get(None, name)

    def _pod_node(self, namespace: str, name: str) -> str | None:
        pod = self.resource("", "pods").cache.get(namespace, name)
        return ((pod or {}).get("spec") or {}).get("nodeName")

    def _rbac_authorizer(self) -> auth.RBACAuthorizer:
        caches = [
            self.resource("rbac.authorization.k8s.io", p).cache
            for p in ("roles", "clusterroles", "rolebindings", "clusterrolebindings")
        ]
        key = tuple(c.changes for c in caches)
        if self._rbac is None or self._rbac[0] != key:
            lists = [c.snapshot(None)[0] for c in caches]
            self._rbac = (key, auth.RBACAuthorizer(*lists))
        return self._rbac[1]

    def authorize(self, attrs: auth.Attributes) -> tuple[bool, str]:
        if MASTERS in attrs.user.groups:
            return True, ""
        return auth.authorize(attrs, self.node_authorizer, self._rbac_authorizer())

    def rules_for(self, user: auth.UserInfo, namespace: str) -> tuple[list[dict], list[dict]]:
        if MASTERS in user.groups:
            return (
                [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            )
        return self._rbac_authorizer().rules_for(user, namespace)

    # -- request bodies --

    async def read_raw(self, req: web.Request) -> bytes:
        """The request body; aiohttp enforces client_max_size (413) and caches it for a second read."""
        if req.content_length is not None and req.content_length > negotiate.MAX_BODY:
            raise _too_large()
        return await req.read()

    async def _body_name(self, req: web.Request) -> str:
        try:
            body = negotiate.decode_body(await self.read_raw(req), req.headers.get("Content-Type"))
        except status.StatusError:
            return ""
        meta = body.get("metadata") if isinstance(body, dict) else None
        name = meta.get("name") if isinstance(meta, dict) else None
        return name if isinstance(name, str) else ""

    async def read_body(self, req: web.Request) -> Any:
        raw = await self.read_raw(req)
        if not raw.strip():
            raise status.bad_request("the request body is empty")
        return negotiate.decode_body(raw, req.headers.get("Content-Type"))

    async def node_proxy(self, req: web.Request, info: request.RequestInfo) -> web.StreamResponse:
        raise status.StatusError(
            503,
            "ServiceUnavailable",
            f"pods/{info.subresource} is not available: this server has no route to node "
            "kubelets yet (the agent tunnel is not implemented)",
        )

    # -- the aiohttp application --

    def app(self) -> web.Application:
        app = web.Application(
            middlewares=[self._observe, self._authenticate], client_max_size=negotiate.MAX_BODY + 1
        )
        r = app.router
        r.add_get("/healthz", self._health)
        r.add_get("/livez", self._health)
        r.add_get("/readyz", self._readyz)
        r.add_get("/version", self._version)
        r.add_get("/cacerts", self._cacerts)
        r.add_get("/metrics", self._metrics)
        r.add_get("/openapi/v3", self._openapi_root)
        r.add_get("/openapi/v3/{path:.+}", self._openapi_doc)
        r.add_get("/openapi/v2", OpenAPIV2(self.openapi).handle)
        r.add_get("/api", self._api)
        r.add_get("/apis", self._apis)
        r.add_route("*", "/api/{tail:.*}", self._resource)
        r.add_route("*", "/apis/{tail:.*}", self._resource)
        return app

    @web.middleware
    async def _observe(self, req: web.Request, handler: Any) -> web.StreamResponse:
        """Every answer is counted; every error is a Status object, never a stack trace."""
        start = time.perf_counter()
        info = request.parse(req.method, req.path, req.query)
        req["info"] = info
        code = 500
        try:
            resp = await handler(req)
            code = resp.status
            return resp
        except status.StatusError as exc:
            code = exc.code
            return _status_response(exc)
        except web.HTTPException as exc:
            code = exc.status
            if exc.status == 413:
                return _status_response(_too_large())
            raise
        except (asyncio.CancelledError, ConnectionResetError):
            code = 499
            raise
        except Exception as exc:
            log.exception("request failed", extra={"path": req.path, "method": req.method})
            code = 500
            return _status_response(status.internal(str(exc) or type(exc).__name__))
        finally:
            verb = "WATCH" if info.verb == "watch" else req.method
            self.metrics.observe_request(verb, info.resource, code, time.perf_counter() - start)

    @web.middleware
    async def _authenticate(self, req: web.Request, handler: Any) -> web.StreamResponse:
        if req.path in PUBLIC_PATHS:
            return await handler(req)
        ssl_object = req.transport.get_extra_info("ssl_object") if req.transport else None
        cert = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        try:
            user = await self.authenticator.authenticate(cert, req.headers.get("Authorization"))
        except auth.AuthenticationError:
            user = None
        if user is None:
            raise status.StatusError(401, "Unauthorized", "Unauthorized")
        req["user"] = user
        info: request.RequestInfo = req["info"]
        name = info.name
        if info.verb == "create" and not name and NODES_GROUP in user.groups:
            # the authorizer cannot see bodies: a node creating its Node or Lease is judged by the body's name
            name = await self._body_name(req)
        attrs = auth.Attributes(
            user=user,
            verb=info.verb,
            namespace=info.namespace,
            api_group=info.group,
            resource=info.resource,
            subresource=info.subresource,
            name=name,
            resource_request=info.is_resource,
            path=req.path,
            field_selector=req.query.get("fieldSelector") or "",
        )
        allowed, reason = self.authorize(attrs)
        if not allowed:
            raise auth.forbidden_error(attrs, reason)
        return await handler(req)

    async def _health(self, req: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _readyz(self, req: web.Request) -> web.Response:
        if not self.ready:
            return web.Response(status=503, text="[-]informer-sync failed: not ready\nreadyz check failed")
        try:
            async with asyncio.timeout(2):
                await self.ds.status()
        except Exception as exc:
            return web.Response(status=503, text=f"[-]etcd failed: {exc}\nreadyz check failed")
        return web.Response(text="ok")

    async def _version(self, req: web.Request) -> web.Response:
        return web.json_response(KUBERNETES_VERSION)

    async def _cacerts(self, req: web.Request) -> web.Response:
        return web.Response(body=self.ca_pem, content_type="text/plain")

    async def _metrics(self, req: web.Request) -> web.Response:
        return web.Response(text=self.metrics.render(), content_type="text/plain")

    async def _openapi_root(self, req: web.Request) -> web.Response:
        return web.json_response(self.openapi.root())

    async def _openapi_doc(self, req: web.Request) -> web.Response:
        found = self.openapi.document(req.match_info["path"])
        if found is None:
            return web.Response(status=404, text="404 page not found")
        body, etag = found
        resp = web.Response(body=body, content_type="application/json")
        resp.headers["Etag"] = f'"{etag}"'
        if req.query.get("hash"):
            resp.headers["Cache-Control"] = "public, immutable"
        return resp

    def _discovery(self, req: web.Request, body: Obj, content_type: str = "application/json") -> web.Response:
        resp = web.Response(body=json.dumps(body, separators=(",", ":")).encode(), content_type=None)
        resp.headers["Content-Type"] = content_type
        return resp

    async def _api(self, req: web.Request) -> web.Response:
        if discovery.wants_aggregated(req.headers.get("Accept")):
            return self._discovery(
                req, discovery.aggregated(RESOURCES, core=True), discovery.AGGREGATED_MEDIA
            )
        return self._discovery(
            req, discovery.api_versions(f"{self.config.advertise_address}:{self.config.port}")
        )

    async def _apis(self, req: web.Request) -> web.Response:
        if discovery.wants_aggregated(req.headers.get("Accept")):
            return self._discovery(
                req, discovery.aggregated(RESOURCES, core=False), discovery.AGGREGATED_MEDIA
            )
        return self._discovery(req, discovery.api_group_list(RESOURCES))

    async def _resource(self, req: web.Request) -> web.StreamResponse:
        info: request.RequestInfo = req["info"]
        segments = [s for s in req.path.strip("/").split("/") if s]
        if not info.is_resource or not info.resource:
            if segments[0] == "api" and len(segments) == 2 and req.method == "GET":
                found = discovery.resource_list(RESOURCES, "", segments[1])
            elif segments[0] == "apis" and len(segments) == 2 and req.method == "GET":
                found = discovery.api_group(RESOURCES, segments[1])
            elif segments[0] == "apis" and len(segments) == 3 and req.method == "GET":
                found = discovery.resource_list(RESOURCES, segments[1], segments[2])
            else:
                found = None
            if found is None:
                return web.Response(status=404, text="404 page not found")
            return self._discovery(req, found)
        req["target"] = negotiate.parse_accept(req.headers.get("Accept"))
        return await self.handler.handle(req, info)


async def _create_if_absent(res: Resource, obj: Obj, namespace: str, opts: WriteOptions) -> None:
    try:
        await res.create(obj, namespace, opts)
    except status.StatusError as exc:
        if exc.reason != "AlreadyExists":
            raise


def _too_large() -> status.StatusError:
    return status.StatusError(
        413, "RequestEntityTooLarge", f"Request entity too large: limit is {negotiate.MAX_BODY}"
    )


def _status_response(exc: status.StatusError) -> web.Response:
    resp = web.Response(body=json.dumps(exc.status()).encode(), status=exc.code, content_type=None)
    resp.headers["Content-Type"] = "application/json"
    if exc.details and exc.details.get("retryAfterSeconds"):
        resp.headers["Retry-After"] = str(exc.details["retryAfterSeconds"])
    return resp
