"""HTTP handlers for resource requests: query parsing, verbs, subresources, watch streaming, rendering."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from distro.apiserver import negotiate, printers, selectors, status
from distro.apiserver.negotiate import Target
from distro.apiserver.objects import DeleteOptions, Obj, Resource, WriteOptions
from distro.apiserver.registry import (
    BINDING,
    EVICTION,
    EXEC,
    LOG,
    SCALE,
    SELF_SUBJECT_ACCESS_REVIEW,
    SELF_SUBJECT_RULES_REVIEW,
    STATUS,
    ResourceDef,
)
from distro.apiserver.request import RequestInfo
from distro.apiserver.storage import parse_resource_version
from distro.apiserver.watchcache import Bookmark

if TYPE_CHECKING:
    from distro.apiserver.app import APIServer

DEFAULT_WATCH_TIMEOUT = 1800
# lists of at least this many items are streamed in chunks of about _CHUNK bytes
_STREAM_AFTER = 200
_CHUNK = 256 * 1024
_TABLE_SLICE = 500


def _int_param(request: web.Request, name: str, default: int | None = None) -> int | None:
    raw = request.query.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise status.bad_request(f'invalid value for {name}: "{raw}": must be an integer') from None


def _bool_param(request: web.Request, name: str) -> bool:
    raw = request.query.get(name)
    return raw is not None and raw.lower() in ("1", "true", "yes", "")


def write_options(request: web.Request, subresource: str = "") -> WriteOptions:
    dry_run = request.query.getall("dryRun", [])
    for value in dry_run:
        if value != "All":
            raise status.bad_request(f'Invalid dryRun value "{value}": supported values are: "All"')
    validation = request.query.get("fieldValidation") or "Strict"
    if validation not in ("Strict", "Warn", "Ignore"):
        raise status.bad_request(
            f'Invalid fieldValidation value "{validation}": supported values are: "Ignore", "Strict", "Warn"'
        )
    manager = request.query.get("fieldManager")
    if manager is None:
        manager = (request.headers.get("User-Agent") or "unknown").split("/")[0][:128] or "unknown"
    elif len(manager) > 128:
        raise status.StatusError(422, "Invalid", "fieldManager: Too long: may not be longer than 128")
    return WriteOptions(bool(dry_run), manager, validation, subresource)


def _gvk(obj: Obj, rd: ResourceDef) -> Obj:
    obj.setdefault("kind", rd.kind)
    obj.setdefault("apiVersion", rd.group_version)
    return obj


def _partial(obj: Obj) -> Obj:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata", {}),
    }


class ResourceHandler:
    """Dispatches one resource request to the generic store and renders the answer."""

    def __init__(self, server: APIServer) -> None:
        self.server = server

    # -- rendering --

    def render(
        self,
        request: web.Request,
        rd: ResourceDef,
        obj: Obj,
        code: int = 200,
        warnings: list[str] | None = None,
    ) -> web.Response:
        target: Target = request["target"]
        if target.as_kind == "Table":
            body = printers.table(
                rd,
                [obj],
                list_metadata={"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                include_object=_include_object(request),
            )
        elif target.as_kind == "PartialObjectMetadata":
            body = _partial(obj)
        elif target.as_kind == "PartialObjectMetadataList":
            raise status.StatusError(406, "NotAcceptable", "PartialObjectMetadataList is only for lists")
        else:
            body = obj
        return self.respond(request, body, code, warnings)

    def respond(self, request: web.Request, body: Any, code: int = 200, warnings: list[str] | None = None):
        target: Target = request.get("target") or Target()
        resp = web.Response(body=negotiate.encode(body, target), status=code, content_type=None)
        resp.headers["Content-Type"] = target.content_type
        for text in warnings or ():
            resp.headers.add("Warning", '299 - "' + text.replace('"', '\\"') + '"')
        return resp

    # -- dispatch --

    async def handle(self, request: web.Request, info: RequestInfo) -> web.StreamResponse:
        rd = self.server.lookup(info)
        if rd is None or (info.namespace and not rd.namespaced and info.resource != "namespaces"):
            raise status.StatusError(404, "NotFound", "the server could not find the requested resource")
        if rd in (SELF_SUBJECT_ACCESS_REVIEW, SELF_SUBJECT_RULES_REVIEW):
            return await self._review(request, rd, info)
        res = self.server.resources[(rd.group, rd.plural)]
        if info.subresource:
            return await self._subresource(request, res, info)
        if info.parts:
            raise status.StatusError(404, "NotFound", "the server could not find the requested resource")
        verb = info.verb
        if verb == "list":
            return await self.list(request, res, info)
        if verb == "watch":
            return await self.watch(request, res, info)
        if verb == "get":
            obj = await res.get(info.namespace, info.name, request.query.get("resourceVersion") or "")
            return self.render(request, rd, _gvk(obj, rd))
        if verb == "create":
            if info.name:
                raise status.StatusError(
                    405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
                )
            opts = write_options(request)
            body = await self.server.read_body(request)
            obj = await res.create(body, info.namespace, opts, await self._json_raw(request))
            return self.render(request, rd, _gvk(obj, rd), 201, opts.warnings)
        if verb == "update":
            opts = write_options(request)
            body = await self.server.read_body(request)
            obj, created = await res.update(
                body, info.namespace, info.name, opts, await self._json_raw(request)
            )
            return self.render(request, rd, _gvk(obj, rd), 201 if created else 200, opts.warnings)
        if verb == "patch":
            return await self._patch(request, res, info, WriteOptions())
        if verb == "delete":
            return await self.delete(request, res, info)
        if verb == "deletecollection":
            return await self.delete_collection(request, res, info)
        raise status.StatusError(
            405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
        )

    async def _patch(
        self, request: web.Request, res: Resource, info: RequestInfo, _: WriteOptions, subresource: str = ""
    ) -> web.Response:
        media = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media not in negotiate.PATCH_TYPES:
            raise status.StatusError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {', '.join(negotiate.PATCH_TYPES)}",
            )
        opts = write_options(request, subresource)
        if media == negotiate.APPLY_PATCH and not request.query.get("fieldManager"):
            raise status.bad_request("fieldManager is required for apply requests")
        raw = await self.server.read_raw(request)
        obj, created = await res.patch(
            info.namespace, info.name, media, raw, opts, force=_bool_param(request, "force")
        )
        return self.render(request, res.rd, _gvk(obj, res.rd), 201 if created else 200, opts.warnings)

    async def _json_raw(self, request: web.Request) -> bytes | None:
        """The body bytes when they are JSON: duplicate fields are only visible there."""
        media = (request.headers.get("Content-Type") or negotiate.JSON).split(";")[0].strip().lower()
        return await self.server.read_raw(request) if media == negotiate.JSON else None

    # -- list / watch --

    def predicate(self, request: web.Request, rd: ResourceDef) -> Callable[[Obj], bool] | None:
        return selectors.object_predicate(
            rd, request.query.get("labelSelector") or "", request.query.get("fieldSelector") or ""
        )

    async def list(self, request: web.Request, res: Resource, info: RequestInfo) -> web.StreamResponse:
        rd = res.rd
        limit = _int_param(request, "limit", 0) or 0
        rv = request.query.get("resourceVersion") or ""
        match = request.query.get("resourceVersionMatch") or ""
        if match and match not in ("Exact", "NotOlderThan"):
            raise status.bad_request(f'resourceVersionMatch: Unsupported value: "{match}"')
        if match and not rv:
            raise status.StatusError(
                422, "Invalid", "resourceVersionMatch is forbidden unless resourceVersion is provided"
            )
        result = await res.list(
            info.namespace,
            resource_version=rv,
            limit=max(limit, 0),
            continue_token=request.query.get("continue") or "",
            predicate=self.predicate(request, rd),
            exact=match == "Exact",
        )
        list_meta: Obj = {"resourceVersion": str(result.resource_version)}
        if result.continue_token:
            list_meta["continue"] = result.continue_token
            if result.remaining is not None:
                list_meta["remainingItemCount"] = result.remaining
        target: Target = request["target"]
        if target.as_kind == "Table":
            if target.media == negotiate.JSON and len(result.items) >= _STREAM_AFTER:
                return await self._streamed_table(request, rd, result.items, list_meta)
            body = printers.table(
                rd, result.items, list_metadata=list_meta, include_object=_include_object(request)
            )
            return self.respond(request, body)
        if target.as_kind in ("PartialObjectMetadataList", "PartialObjectMetadata"):
            body = {
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": list_meta,
                "items": [_partial(o) for o in result.items],
            }
            resp = self.respond(request, body)
            resp.headers["Content-Type"] = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"
            return resp
        return await self._fast_list(request, rd, result.items, list_meta)

    async def _fast_list(
        self, request: web.Request, rd: ResourceDef, items: list[Obj], list_meta: Obj
    ) -> web.StreamResponse:
        """Lists are the hot path (5,000 pods): items are encoded one by one and streamed in chunks, so
        neither a deep copy nor the whole body is ever held in memory at once."""
        target: Target = request["target"]
        if target.media != negotiate.JSON or len(items) < _STREAM_AFTER:
            body = {
                "kind": rd.list_kind,
                "apiVersion": rd.group_version,
                "metadata": list_meta,
                "items": [{"kind": rd.kind, "apiVersion": rd.group_version, **o} for o in items],
            }
            return self.respond(request, body)
        dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
        kinds = f'"kind":"{rd.list_kind}","apiVersion":"{rd.group_version}"'
        prefix = f'{{"kind":"{rd.kind}","apiVersion":"{rd.group_version}",'
        resp = web.StreamResponse(status=200)
        resp.headers["Content-Type"] = negotiate.JSON
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        chunk: list[str] = [f'{{{kinds},"metadata":{dumps(list_meta)},"items":[']
        size = 0
        for i, o in enumerate(items):
            encoded = dumps({k: v for k, v in o.items() if k not in ("kind", "apiVersion")})
            chunk.append(
                ("," if i else "") + (prefix + encoded[1:] if encoded != "{}" else prefix[:-1] + "}")
            )
            size += len(encoded)
            if size >= _CHUNK:
                await resp.write("".join(chunk).encode())
                chunk, size = [], 0
        chunk.append("]}")
        await resp.write("".join(chunk).encode())
        await resp.write_eof()
        return resp

    async def _streamed_table(
        self, request: web.Request, rd: ResourceDef, items: list[Obj], list_meta: Obj
    ) -> web.StreamResponse:
        """A big Table rendered and sent a slice of rows at a time, never whole in memory."""
        include = _include_object(request)
        dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
        resp = web.StreamResponse(status=200)
        resp.headers["Content-Type"] = request["target"].content_type
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        head = printers.table(rd, [], list_metadata=list_meta, include_object=include)
        del head["rows"]
        await resp.write(dumps(head)[:-1].encode() + b',"rows":[')
        for start in range(0, len(items), _TABLE_SLICE):
            rows = printers.table(
                rd, items[start : start + _TABLE_SLICE], list_metadata={}, include_object=include
            )["rows"]
            text = ",".join(dumps(row) for row in rows)
            await resp.write(((",") if start else "").encode() + text.encode())
        await resp.write(b"]}")
        await resp.write_eof()
        return resp

    async def watch(self, request: web.Request, res: Resource, info: RequestInfo) -> web.StreamResponse:
        rd = res.rd
        rv_text = request.query.get("resourceVersion") or ""
        send_initial = request.query.get("sendInitialEvents")
        if send_initial is not None and send_initial.lower() == "true":
            if request.query.get("resourceVersionMatch") != "NotOlderThan":
                raise status.StatusError(
                    422,
                    "Invalid",
                    "resourceVersionMatch: Forbidden: sendInitialEvents "
                    "requires setting resourceVersionMatch to NotOlderThan",
                )
            if not _bool_param(request, "allowWatchBookmarks"):
                raise status.StatusError(
                    422,
                    "Invalid",
                    "allowWatchBookmarks: Forbidden: sendInitialEvents requires allowWatchBookmarks=true",
                )
        timeout = _int_param(request, "timeoutSeconds", DEFAULT_WATCH_TIMEOUT) or DEFAULT_WATCH_TIMEOUT
        bookmarks = _bool_param(request, "allowWatchBookmarks")
        predicate = self.predicate(request, rd)
        ns = info.namespace if rd.namespaced else None
        if info.name:
            name = info.name
            inner = predicate

            def predicate(obj: Obj) -> bool:
                return obj.get("metadata", {}).get("name") == name and (inner is None or inner(obj))

        initial = rv_text in ("", "0") or (send_initial or "").lower() == "true"
        if (send_initial or "").lower() == "false":
            initial = False
        if rv_text == "":
            await res.cache.wait_fresh(await res.current_revision())
        elif rv_text != "0":
            await res.cache.wait_fresh(parse_resource_version(rv_text))
        target: Target = request["target"]
        resp = web.StreamResponse(status=200)
        resp.content_type = "application/json" if target.as_kind != "Table" else None
        if target.as_kind == "Table":
            resp.headers["Content-Type"] = target.content_type
        resp.enable_chunked_encoding()
        metrics = self.server.metrics
        metrics.watchers[rd.plural] += 1
        try:
            initial_items: list[Obj] = []
            try:
                if initial:
                    # the snapshot and the watch from its revision are taken with no await in between,
                    # so no event can fall between them
                    items, start_rv = res.cache.snapshot(ns)
                    initial_items = [o for o in items if predicate is None or predicate(o)]
                else:
                    start_rv = parse_resource_version(rv_text)
                watcher = res.cache.watch(
                    ns,
                    start_rv,
                    predicate=predicate,
                    bookmarks=bookmarks,
                    key_hint=selectors.index_hint(rd, request.query.get("fieldSelector") or ""),
                )
            except status.StatusError as exc:
                await resp.prepare(request)
                await resp.write(_line({"type": "ERROR", "object": exc.status()}))
                return resp
            await resp.prepare(request)
            end_marker = start_rv if (send_initial or "").lower() == "true" else None
            await self._stream(request, resp, watcher, rd, timeout, initial_items, end_marker)
        finally:
            metrics.watchers[rd.plural] -= 1
        return resp

    async def _stream(
        self,
        request: web.Request,
        resp: web.StreamResponse,
        watcher: Any,
        rd: ResourceDef,
        timeout_seconds: int,
        initial_items: list[Obj],
        end_marker: int | None,
    ) -> None:
        target: Target = request["target"]
        include = _include_object(request)
        first_table = True

        async def initial_then_changes():
            for obj in initial_items:
                yield "ADDED", obj, 0
            if end_marker is not None:
                yield (
                    "BOOKMARK",
                    {
                        "kind": rd.kind,
                        "apiVersion": rd.group_version,
                        "metadata": {
                            "resourceVersion": str(end_marker),
                            "annotations": {"k8s.io/initial-events-end": "true"},
                        },
                    },
                    0,
                )
            async for ev in watcher:
                if isinstance(ev, Bookmark):
                    yield (
                        "BOOKMARK",
                        {
                            "kind": rd.kind,
                            "apiVersion": rd.group_version,
                            "metadata": {"resourceVersion": str(ev.revision)},
                        },
                        ev.revision,
                    )
                else:
                    yield ev.type, ev.object, ev.revision

        try:
            async with asyncio.timeout(timeout_seconds):
                async for kind, obj, revision in initial_then_changes():
                    if kind == "BOOKMARK":
                        await resp.write(_line({"type": "BOOKMARK", "object": obj}))
                        continue
                    obj = _gvk(dict(obj), rd)
                    if target.as_kind == "Table":
                        table = printers.table(
                            rd,
                            [obj],
                            list_metadata={"resourceVersion": str(revision)},
                            include_object=include,
                        )
                        if not first_table:
                            table["columnDefinitions"] = []
                        first_table = False
                        obj = table
                    elif target.as_kind in ("PartialObjectMetadata", "PartialObjectMetadataList"):
                        obj = _partial(obj)
                    await resp.write(_line({"type": kind, "object": obj}))
        except TimeoutError:
            pass
        except status.StatusError as exc:
            with contextlib.suppress(ConnectionError):
                await resp.write(_line({"type": "ERROR", "object": exc.status()}))
        except ConnectionError:
            pass  # the client went away: an ordinary end of a watch, not an error
        finally:
            await watcher.close()

    # -- delete --

    def _delete_options(self, request: web.Request, body: Any) -> DeleteOptions:
        opts = DeleteOptions()
        if isinstance(body, dict):
            if body.get("kind") not in (None, "DeleteOptions"):
                raise status.bad_request(f"expected DeleteOptions, got {body.get('kind')}")
            opts.grace_period = body.get("gracePeriodSeconds")
            opts.propagation = body.get("propagationPolicy") or ""
            if body.get("orphanDependents") is True and not opts.propagation:
                opts.propagation = "Orphan"
            pre = body.get("preconditions") or {}
            opts.uid = pre.get("uid") or ""
            opts.resource_version = pre.get("resourceVersion") or ""
            opts.dry_run = bool(body.get("dryRun"))
        grace = _int_param(request, "gracePeriodSeconds")
        if grace is not None:
            opts.grace_period = grace
        if request.query.get("propagationPolicy"):
            opts.propagation = request.query["propagationPolicy"]
        if request.query.get("orphanDependents") == "true" and not opts.propagation:
            opts.propagation = "Orphan"
        if opts.propagation not in ("", "Orphan", "Background", "Foreground"):
            raise status.StatusError(
                422,
                "Invalid",
                f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: '
                f'Unsupported value: "{opts.propagation}": supported values: "Foreground", '
                '"Background", "Orphan", "nil"',
            )
        if request.query.getall("dryRun", []):
            opts.dry_run = True
        return opts

    async def delete(self, request: web.Request, res: Resource, info: RequestInfo) -> web.Response:
        raw = await self.server.read_raw(request)
        body = negotiate.decode_body(raw, request.headers.get("Content-Type")) if raw.strip() else None
        opts = self._delete_options(request, body)
        obj, deleted = await res.delete(info.namespace, info.name, opts)
        rd = res.rd
        code = 200 if deleted else 202
        if rd.plural in ("pods", "services", "namespaces") or not deleted:
            return self.render(request, rd, _gvk(obj, rd), code)
        meta = obj.get("metadata", {})
        details: Obj = {"name": meta.get("name", ""), "kind": rd.plural, "uid": meta.get("uid", "")}
        if rd.group:
            details["group"] = rd.group
        return self.respond(
            request,
            {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details},
            code,
        )

    async def delete_collection(self, request: web.Request, res: Resource, info: RequestInfo) -> web.Response:
        raw = await self.server.read_raw(request)
        body = negotiate.decode_body(raw, request.headers.get("Content-Type")) if raw.strip() else None
        opts = self._delete_options(request, body)
        result = await res.list(
            info.namespace,
            resource_version="",
            limit=0,
            continue_token="",
            predicate=self.predicate(request, res.rd),
        )
        items = []
        for obj in result.items:
            meta = obj["metadata"]
            try:
                gone, _ = await res.delete(meta.get("namespace") or "", meta["name"], copy.copy(opts))
            except status.StatusError as exc:
                if exc.reason == "NotFound":
                    continue
                raise
            items.append(_gvk(gone, res.rd))
        return self.respond(
            request,
            {"kind": res.rd.list_kind, "apiVersion": res.rd.group_version, "metadata": {}, "items": items},
        )

    # -- subresources --

    async def _subresource(
        self, request: web.Request, res: Resource, info: RequestInfo
    ) -> web.StreamResponse:
        rd, sub = res.rd, info.subresource
        allowed = set(rd.subresources) | ({"finalize"} if rd.plural == "namespaces" else set())
        if sub not in allowed or info.parts:
            raise status.StatusError(404, "NotFound", "the server could not find the requested resource")
        if sub in (STATUS, "finalize"):
            if info.verb == "get" and sub == STATUS:
                obj = await res.get(info.namespace, info.name)
                return self.render(request, rd, _gvk(obj, rd))
            if info.verb == "update":
                opts = write_options(request, sub)
                body = await self.server.read_body(request)
                obj, _ = await res.update(body, info.namespace, info.name, opts)
                return self.render(request, rd, _gvk(obj, rd), 200, opts.warnings)
            if info.verb == "patch" and sub == STATUS:
                return await self._patch(request, res, info, WriteOptions(), STATUS)
        elif sub == SCALE:
            return await self._scale(request, res, info)
        elif sub == BINDING and info.verb == "create":
            return await self._binding(request, res, info)
        elif sub == EVICTION and info.verb == "create":
            body = await self.server.read_body(request)
            opts = self._delete_options(
                request, (body or {}).get("deleteOptions") if isinstance(body, dict) else None
            )
            await res.delete(info.namespace, info.name, opts)
            return self.respond(
                request, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}, 201
            )
        elif sub in (LOG, EXEC):
            return await self.server.node_proxy(request, info)
        raise status.StatusError(
            405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
        )

    def _scale_of(self, obj: Obj) -> Obj:
        meta = obj["metadata"]
        st = obj.get("status") or {}
        selector = ((obj.get("spec") or {}).get("selector")) or {}
        sel = str(selectors.label_selector_from_dict(selector)) if selector else ""
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: meta[k]
                for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                if k in meta
            },
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": st.get("replicas", 0), "selector": sel},
        }

    async def _scale(self, request: web.Request, res: Resource, info: RequestInfo) -> web.Response:
        obj = await res.get(info.namespace, info.name)
        scale = self._scale_of(obj)
        if info.verb == "get":
            return self.respond(request, scale)
        if info.verb not in ("update", "patch"):
            raise status.StatusError(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
            )
        from distro.apiserver import patch as patches

        raw = await self.server.read_raw(request)
        if info.verb == "update":
            new_scale = negotiate.decode_body(raw, request.headers.get("Content-Type"))
        else:
            media = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if media == negotiate.JSON_PATCH:
                new_scale = patches.json_patch(scale, raw)
            elif media in (negotiate.MERGE_PATCH, negotiate.STRATEGIC_PATCH):
                new_scale = patches.merge_patch(scale, raw)
            else:
                raise status.StatusError(
                    415, "UnsupportedMediaType", f"unsupported patch type for scale: {media}"
                )
        replicas = (
            ((new_scale or {}).get("spec") or {}).get("replicas") if isinstance(new_scale, dict) else None
        )
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise status.StatusError(
                422,
                "Invalid",
                f'Scale.autoscaling "{info.name}" is invalid: spec.replicas: '
                f"Invalid value: {replicas}: must be greater than or equal to 0",
            )
        want_rv = (
            ((new_scale.get("metadata") or {}).get("resourceVersion")) if info.verb == "update" else None
        )
        opts = write_options(request)
        body = json.dumps(
            {
                "spec": {"replicas": replicas},
                **({"metadata": {"resourceVersion": want_rv}} if want_rv else {}),
            }
        ).encode()
        new, _ = await res.patch(info.namespace, info.name, negotiate.MERGE_PATCH, body, opts)
        return self.respond(request, self._scale_of(new))

    async def _binding(self, request: web.Request, res: Resource, info: RequestInfo) -> web.Response:
        body = await self.server.read_body(request)
        target = (body or {}).get("target") if isinstance(body, dict) else None
        node = (target or {}).get("name") if isinstance(target, dict) else None
        if not node:
            raise status.StatusError(
                422, "Invalid", f'Binding "{info.name}" is invalid: target.name: Required value'
            )
        opts = write_options(request)
        if not opts.dry_run:
            meta = body.get("metadata")
            uid = meta.get("uid") if isinstance(meta, dict) and isinstance(meta.get("uid"), str) else ""
            await res.bind(info.namespace, info.name, node, uid)
        return self.respond(
            request,
            {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201},
            201,
        )

    # -- reviews --

    async def _review(self, request: web.Request, rd: ResourceDef, info: RequestInfo) -> web.Response:
        if info.verb != "create":
            raise status.StatusError(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
            )
        body = await self.server.read_body(request)
        if not isinstance(body, dict):
            raise status.bad_request("expected a review object")
        user = request["user"]
        spec = body.get("spec") or {}
        if rd is SELF_SUBJECT_RULES_REVIEW:
            ns = spec.get("namespace") or ""
            resource_rules, nonresource_rules = self.server.rules_for(user, ns)
            body["status"] = {
                "resourceRules": resource_rules,
                "nonResourceRules": nonresource_rules,
                "incomplete": False,
            }
            return self.respond(request, body, 201)
        from distro.apiserver.auth import Attributes

        ra = spec.get("resourceAttributes")
        nra = spec.get("nonResourceAttributes")
        if ra:
            attrs = Attributes(
                user=user,
                verb=ra.get("verb", ""),
                namespace=ra.get("namespace", ""),
                api_group=ra.get("group", ""),
                resource=ra.get("resource", ""),
                subresource=ra.get("subresource", ""),
                name=ra.get("name", ""),
            )
        elif nra:
            attrs = Attributes(
                user=user, verb=nra.get("verb", ""), resource_request=False, path=nra.get("path", "")
            )
        else:
            raise status.StatusError(
                422,
                "Invalid",
                'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: '
                'spec.resourceAttributes: Invalid value: "null": exactly one of '
                "nonResourceAttributes or resourceAttributes must be specified",
            )
        allowed, reason = self.server.authorize(attrs)
        body["status"] = {"allowed": allowed}
        if reason:
            body["status"]["reason"] = reason
        if not allowed:
            body["status"]["denied"] = False
        body.setdefault("metadata", {})["creationTimestamp"] = None
        return self.respond(request, body, 201)


def _include_object(request: web.Request) -> str:
    value = request.query.get("includeObject") or "Metadata"
    if value not in ("None", "Metadata", "Object"):
        raise status.bad_request(
            f'includeObject: Unsupported value: "{value}": supported values: "Metadata", "None", "Object"'
        )
    return value


def _line(doc: Obj) -> bytes:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
