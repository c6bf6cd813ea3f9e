"""The generic registry store: create/get/list/update/patch/delete/watch for any declared resource.

One class serves every resource; what differs per resource comes from the declaration (registry.py),
the strategies (defaults and validation), and a few hooks below (service allocation, graceful pod
deletion, namespace finalization) that upstream also keeps in its API server.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from distro.apiserver import apply as ssa
from distro.apiserver import decode, patch, status, strategies
from distro.apiserver import schema as schemas
from distro.apiserver.negotiate import decode_body
from distro.apiserver.registry import ResourceDef
from distro.apiserver.storage import ListResult, ObjectStore, encode_continue, parse_resource_version
from distro.apiserver.watchcache import WatchCache
from kine_shim.etcdpb import rpc_pb2 as pb

log = logging.getLogger(__name__)

Obj = dict[str, Any]

# upstream's default namespaces, which may never be deleted
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
MAX_GENERATE_NAME_ATTEMPTS = 8


def now_rfc3339(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class WriteOptions:
    """What a write request carried besides the body."""

    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = "Strict"  # Strict | Warn | Ignore
    subresource: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class DeleteOptions:
    grace_period: int | None = None
    propagation: str = ""  # Orphan | Background | Foreground | ""
    uid: str = ""
    resource_version: str = ""
    dry_run: bool = False


class Resource:
    """One resource's store: the only code that turns API verbs into datastore writes."""

    def __init__(self, rd: ResourceDef, store: ObjectStore, cache: WatchCache, hooks: Hooks) -> None:
        self.rd = rd
        self.store = store
        self.cache = cache
        self.hooks = hooks
        self._schema = schemas.kind_schema(rd.schema_name) if rd.schema_name in schemas.COMPONENTS else None
        self._key_locks = KeyLocks()

    # -- decoding what the client sent --

    def check_body(
        self,
        body: Any,
        namespace: str,
        opts: WriteOptions,
        *,
        name: str = "",
        raw: bytes | None = None,
        check_fields: bool = True,
    ) -> Obj:
        """The body as an object of this kind: 400 on wrong kind/shape, unknown fields per fieldValidation."""
        rd = self.rd
        if not isinstance(body, dict):
            raise status.bad_request(
                f'{rd.kind} in version "{rd.version}" cannot be handled as a {rd.kind}: '
                "json: cannot unmarshal into Go value of type struct"
            )
        kind, api_version = body.get("kind"), body.get("apiVersion")
        if kind is None or api_version is None:
            # upstream defaults a missing kind/apiVersion from the URL when the other is absent too
            body.setdefault("kind", rd.kind)
            body.setdefault("apiVersion", rd.group_version)
            kind, api_version = body["kind"], body["apiVersion"]
        if api_version != rd.group_version:
            raise status.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({rd.group_version})"
            )
        if kind != rd.kind:
            raise status.bad_request(
                f'{kind} in version "{rd.version}" cannot be handled as a {rd.kind}: '
                f"kind in the data ({kind}) does not match the expected kind ({rd.kind})"
            )
        if check_fields:
            self._check_fields(body, opts, raw)
        meta = body.get("metadata")
        if meta is None:
            meta = body["metadata"] = {}
        body_ns = meta.get("namespace") or ""
        if rd.namespaced:
            if body_ns and namespace and body_ns != namespace:
                raise status.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace or body_ns
        else:
            meta.pop("namespace", None)
        if name and meta.get("name") and meta["name"] != name:
            raise status.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        if name:
            meta["name"] = name
        return body

    def _check_fields(self, body: Obj, opts: WriteOptions, raw: bytes | None = None) -> None:
        """Types must match (400); unknown and duplicate fields are reported per fieldValidation and then
        dropped, as decoding into Go structs drops them upstream."""
        rd = self.rd
        if rd.schema_name not in schemas.COMPONENTS:
            return
        unknown = decode.check(body, rd.schema_name, kind=rd.kind, group_version=rd.group_version, raw=raw)
        self._report_unknown(unknown, opts)
        if unknown:
            decode.prune(body, rd.schema_name)

    @staticmethod
    def _report_unknown(unknown: list[str], opts: WriteOptions) -> None:
        if not unknown or opts.field_validation == "Ignore":
            return
        texts = unknown  # already upstream's `unknown field "a.b"` / `duplicate field "c"` phrases
        if opts.field_validation == "Strict":
            raise status.bad_request("strict decoding error: " + ", ".join(texts))
        opts.warnings.extend(texts)

    # -- reads --

    def get_cached(self, namespace: str, name: str) -> Obj | None:
        return self.cache.get(namespace if self.rd.namespaced else None, name)

    async def get(self, namespace: str, name: str, resource_version: str = "") -> Obj:
        ns = namespace if self.rd.namespaced else None
        if resource_version == "0":
            obj = self.cache.get(ns, name)
            if obj is None:
                raise status.not_found(self.rd.plural, self.rd.group, name)
            return copy.deepcopy(obj)
        return await self.store.get(ns, name, resource_version=parse_resource_version(resource_version))

    async def list(
        self,
        namespace: str,
        *,
        resource_version: str,
        limit: int,
        continue_token: str,
        predicate: Callable[[Obj], bool] | None,
        exact: bool = False,
    ) -> ListResult:
        ns = namespace if self.rd.namespaced else None
        at = parse_resource_version(resource_version) if resource_version not in ("", "0") else 0
        if continue_token or exact or (limit > 0 and resource_version != "0"):
            # from the datastore: every page of one list is read at one revision, and Exact means exactly
            return await self._filtered_pages(ns, at, limit, continue_token, predicate)
        if resource_version == "":
            await self.cache.wait_fresh(await self.current_revision())
        elif at:
            await self.cache.wait_fresh(at)
        items, rv = self.cache.snapshot(ns)
        if predicate is not None:
            items = [o for o in items if predicate(o)]
        # cached objects are shared and never mutated: handlers only serialize them
        return ListResult(items, rv, "", None)

    async def _filtered_pages(
        self, ns: str | None, rv: int, limit: int, token: str, predicate: Callable[[Obj], bool] | None
    ) -> ListResult:
        """A page of `limit` matching items, reading further datastore pages as upstream does when a
        selector filters some out."""
        result = await self.store.list(ns, limit=limit, continue_token=token, resource_version=rv)
        if predicate is None:
            return result
        items = [o for o in result.items if predicate(o)]
        while limit > 0 and len(items) < limit and result.continue_token:
            result = await self.store.list(ns, limit=limit, continue_token=result.continue_token)
            items.extend(o for o in result.items if predicate(o))
        if limit > 0 and len(items) > limit:
            items = items[:limit]
            last = items[-1]["metadata"]
            key = self.store.key(last.get("namespace"), last["name"])
            token = encode_continue(key + b"\x00", self.store.prefix(ns), result.resource_version)
            return ListResult(items, result.resource_version, token, None)
        return ListResult(items, result.resource_version, result.continue_token, None)

    async def current_revision(self) -> int:
        resp = await self.store.ds.range(pb.RangeRequest(key=self.store.root, count_only=True, limit=1))
        return resp.header.revision

    # -- create --

    async def create(self, body: Any, namespace: str, opts: WriteOptions, raw: bytes | None = None) -> Obj:
        obj = self.check_body(body, namespace, opts, raw=raw)
        meta = obj["metadata"]
        if meta.get("resourceVersion"):
            raise status.bad_request("resourceVersion should not be set on objects to be created")
        if self.rd.namespaced:
            await self.hooks.admit_namespace(meta.get("namespace") or "")
        self._prepare_create(obj)
        generated = not meta.get("name") and meta.get("generateName")
        attempts = MAX_GENERATE_NAME_ATTEMPTS if generated else 1
        for attempt in range(attempts):
            if generated:
                meta["name"] = meta["generateName"] + strategies.generate_name_suffix()
            # after naming: some defaults (the namespace name label) are derived from the name
            strategies.apply_defaults(self.rd, obj)
            causes = strategies.validate_create(self.rd, obj)
            if causes:
                raise strategies.invalid(self.rd, meta.get("name") or "", causes)
            candidate = self._track(None, obj, opts) if opts.field_manager else obj
            try:
                return await self._store_new(candidate, opts)
            except status.StatusError as exc:
                if exc.reason == "AlreadyExists" and generated and attempt + 1 < attempts:
                    continue
                raise
        raise AssertionError("unreachable")

    async def _store_new(self, obj: Obj, opts: WriteOptions) -> Obj:
        undo = await self.hooks.before_create(self.rd, obj, opts.dry_run)
        try:
            if opts.dry_run:
                return obj
            return await self.store.create(obj, lease=await self.hooks.lease_for(self.rd))
        except BaseException:
            await undo()
            raise

    def _prepare_create(self, obj: Obj) -> None:
        meta = obj["metadata"]
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        for transient in ("deletionTimestamp", "deletionGracePeriodSeconds", "generation", "selfLink"):
            meta.pop(transient, None)
        if self.rd.generation_tracked:
            meta["generation"] = 1
        if self.rd.has_status and self.rd.plural not in ("nodes", "namespaces"):
            # status is the controllers' and kubelets' to write; pods start as Pending (set by defaults)
            obj.pop("status", None)

    # -- update / patch --

    async def update(
        self, body: Any, namespace: str, name: str, opts: WriteOptions, raw: bytes | None = None
    ) -> tuple[Obj, bool]:
        """(object, created): created stays False, as no served resource allows create-on-update."""
        obj = self.check_body(body, namespace, opts, name=name, raw=raw)
        rv = obj["metadata"].get("resourceVersion")
        if not rv:
            raise strategies.invalid(
                self.rd,
                name,
                [
                    {
                        "reason": "FieldValueRequired",
                        "message": "Invalid value: 0x0: must be specified for an update",
                        "field": "metadata.resourceVersion",
                    }
                ],
            )
        ns = namespace if self.rd.namespaced else None
        old = await self.store.get(ns, name)
        if old["metadata"].get("resourceVersion") != str(rv):
            raise status.conflict(self.rd.plural, self.rd.group, name, status.MODIFIED)
        new = self._prepare_update(obj, old, opts)
        return await self._write_update(new, old, opts), False

    def _prepare_update(self, new: Obj, old: Obj, opts: WriteOptions) -> Obj:
        """Carries system fields over from old, applies spec/status separation, defaults and validates."""
        rd = self.rd
        meta, old_meta = new.setdefault("metadata", {}), old["metadata"]
        for system in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
            if system in old_meta:
                meta[system] = old_meta[system]
            else:
                meta.pop(system, None)
        if rd.namespaced:
            meta["namespace"] = old_meta.get("namespace")
        if opts.subresource == "status":
            merged = copy.deepcopy(old)
            merged["status"] = new.get("status", {})
            merged["metadata"]["resourceVersion"] = meta.get("resourceVersion") or old_meta["resourceVersion"]
            new = merged
        elif opts.subresource == "finalize" and rd.plural == "namespaces":
            merged = copy.deepcopy(old)
            merged.setdefault("spec", {})["finalizers"] = (new.get("spec") or {}).get("finalizers") or []
            new = merged
        elif rd.has_status and "status" in old:
            new["status"] = old["status"]
        elif rd.has_status:
            new.pop("status", None)
        if rd.plural == "services":
            _keep_allocations(new, old)
        strategies.apply_defaults(rd, new)
        if rd.plural == "daemonsets":
            _bump_template_generation(new, old)
        if rd.generation_tracked:
            gen = old_meta.get("generation", 1)
            meta = new["metadata"]
            meta["generation"] = gen + 1 if new.get("spec") != old.get("spec") else gen
        causes = strategies.validate_update(rd, new, old)
        if causes:
            raise strategies.invalid(rd, old_meta["name"], causes)
        if opts.field_manager:
            new = self._track(old, new, opts)
        return new

    def _track(self, old: Obj | None, new: Obj, opts: WriteOptions) -> Obj:
        """managedFields after an ordinary (non-apply) write by opts.field_manager."""
        return ssa.track_update(
            old,
            new,
            has_status=self.rd.has_status,
            manager=opts.field_manager,
            operation="Update",
            api_version=self.rd.group_version,
            subresource=opts.subresource,
            schema=self._schema,
            resolve=schemas.resolve,
            now=now_rfc3339(),
        )

    def _apply(self, live: Obj | None, applied: Obj, opts: WriteOptions, force: bool) -> Obj:
        """Server-side apply of an applied configuration by opts.field_manager."""
        return ssa.apply(
            live,
            applied,
            kind=self.rd.kind,
            has_status=self.rd.has_status,
            subresource=opts.subresource,
            manager=opts.field_manager,
            force=force,
            api_version=self.rd.group_version,
            schema=self._schema,
            resolve=schemas.resolve,
            now=now_rfc3339(),
        )

    async def _write_update(self, new: Obj, old: Obj, opts: WriteOptions) -> Obj:
        meta = new["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and self._finalized(new):
            if opts.dry_run:
                return new
            return await self._delete_now(new)
        await self.hooks.before_update(self.rd, new, old, opts.dry_run)
        if opts.dry_run or _same(new, old):
            return old if _same(new, old) else new
        return await self.store.update(new)

    def _finalized(self, obj: Obj) -> bool:
        """Nothing left to wait for before the object may go: namespace spec finalizers, pod grace."""
        if self.rd.plural == "namespaces":
            return not (obj.get("spec") or {}).get("finalizers")
        if self.rd.plural == "pods":
            return obj["metadata"].get("deletionGracePeriodSeconds", 0) == 0
        return True

    async def patch(
        self,
        namespace: str,
        name: str,
        patch_type: str,
        raw: bytes,
        opts: WriteOptions,
        *,
        force: bool = False,
    ) -> tuple[Obj, bool]:
        # patches of one object from this server queue up instead of racing each other into conflicts;
        # other servers sharing the datastore are still handled by the optimistic retry below
        async with self._key_locks.hold((namespace, name)):
            return await self._patch(namespace, name, patch_type, raw, opts, force)

    async def _patch(
        self, namespace: str, name: str, patch_type: str, raw: bytes, opts: WriteOptions, force: bool
    ) -> tuple[Obj, bool]:
        ns = namespace if self.rd.namespaced else None
        for _ in range(16):
            try:
                old = await self.store.get(ns, name)
            except status.StatusError as exc:
                if exc.reason == "NotFound" and patch_type == "application/apply-patch+yaml":
                    return await self._apply_create(namespace, name, raw, opts, force), True
                raise
            new = self._patched(old, patch_type, raw, opts, force)
            # a patch that leaves resourceVersion alone carries the current one: it has no precondition and
            # is re-applied to the latest object on a conflict; one that names another version fails. (A
            # patch naming the current version is re-applied too, and then fails as it no longer matches.)
            if new["metadata"].get("resourceVersion") not in (None, old["metadata"]["resourceVersion"]):
                raise status.conflict(self.rd.plural, self.rd.group, name, status.MODIFIED)
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
            # fields were checked (or came from a checked applied configuration) in _patched
            new = self.check_body(new, namespace, opts, name=name, check_fields=False)
            new = self._prepare_update(
                new, old, _without_manager(opts) if patch_type.endswith("apply-patch+yaml") else opts
            )
            try:
                return await self._write_update(new, old, opts), False
            except status.StatusError as exc:
                if exc.reason == "Conflict" and exc.message.endswith(status.MODIFIED):
                    continue
                raise
        raise status.conflict(self.rd.plural, self.rd.group, name, "too many concurrent updates, retry later")

    def _patched(self, old: Obj, patch_type: str, raw: bytes, opts: WriteOptions, force: bool) -> Obj:
        if patch_type == "application/json-patch+json":
            new = patch.json_patch(old, raw)
        elif patch_type == "application/merge-patch+json":
            new = patch.merge_patch(old, raw)
        elif patch_type == "application/strategic-merge-patch+json":
            new = patch.strategic_merge_patch(old, raw, self._schema, schemas.resolve)
        else:
            applied = self._applied_config(raw, old["metadata"].get("namespace") or "", opts)
            new = self._apply(old, applied, opts, force)
        if not isinstance(new, dict):
            raise status.bad_request("the patched object is not a JSON object")
        if patch_type != "application/apply-patch+yaml":
            self._check_fields(new, opts)
        return new

    def _applied_config(self, raw: bytes, namespace: str, opts: WriteOptions) -> Obj:
        if not opts.field_manager:
            raise status.bad_request(
                "PATCH is not supported for the apply patch type without a fieldManager: "
                "fieldManager is required for apply requests"
            )
        applied = decode_body(raw, "application/apply-patch+yaml")
        if not isinstance(applied, dict):
            raise status.bad_request("error decoding YAML: the applied configuration is not an object")
        if not applied.get("apiVersion") or not applied.get("kind"):
            raise status.bad_request("invalid object type: apiVersion and kind are required for apply")
        return self.check_body(applied, namespace, opts)

    async def _apply_create(
        self, namespace: str, name: str, raw: bytes, opts: WriteOptions, force: bool
    ) -> Obj:
        applied = self._applied_config(raw, namespace, opts)
        applied["metadata"]["name"] = name
        new = self._apply(None, applied, opts, force)
        return await self.create(new, namespace, _without_manager(opts))

    # -- pods/binding --

    async def bind(self, namespace: str, name: str, node: str, uid: str = "") -> Obj:
        """Assigns an unscheduled pod to a node (the scheduler's only write to a pod's spec)."""

        def assign(obj: Obj) -> Obj:
            meta, spec = obj["metadata"], obj.setdefault("spec", {})
            if uid and meta.get("uid") != uid:
                raise status.precondition_uid("pods", "", name, uid, meta.get("uid", ""))
            if meta.get("deletionTimestamp"):
                raise status.conflict("pods", "", name, "pod is being deleted, cannot be assigned to a host")
            if spec.get("nodeName"):
                raise status.conflict(
                    "pods/binding", "", name, f'pod {name} is already assigned to node "{spec["nodeName"]}"'
                )
            spec["nodeName"] = node
            st = obj.setdefault("status", {})
            conditions = [c for c in st.get("conditions") or [] if c.get("type") != "PodScheduled"]
            conditions.append(
                {
                    "type": "PodScheduled",
                    "status": "True",
                    "lastProbeTime": None,
                    "lastTransitionTime": now_rfc3339(),
                }
            )
            st["conditions"] = conditions
            return obj

        return await self.store.guaranteed_update(namespace, name, assign)

    # -- delete --

    async def delete(self, namespace: str, name: str, opts: DeleteOptions) -> tuple[Obj, bool]:
        """(object, deleted_now). Graceful pods and objects with finalizers are only marked."""
        ns = namespace if self.rd.namespaced else None
        if self.rd.plural == "namespaces" and name in PROTECTED_NAMESPACES:
            raise status.StatusError(
                403,
                "Forbidden",
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                {"name": name, "kind": "namespaces"},
            )
        for _ in range(16):
            obj = await self.store.get(ns, name)
            meta = obj["metadata"]
            if opts.uid and meta.get("uid") != opts.uid:
                raise status.precondition_uid(
                    self.rd.plural, self.rd.group, name, opts.uid, meta.get("uid", "")
                )
            if opts.resource_version and opts.resource_version != meta["resourceVersion"]:
                raise status.conflict(
                    self.rd.plural,
                    self.rd.group,
                    name,
                    (
                        f"Precondition failed: ResourceVersion in precondition: {opts.resource_version}, "
                        f"ResourceVersion in object meta: {meta['resourceVersion']}"
                    ),
                )
            marked = self._mark_for_deletion(obj, opts)
            if marked is None:
                if opts.dry_run:
                    return obj, True
                try:
                    return await self._delete_now(obj), True
                except status.StatusError as exc:
                    if exc.reason == "Conflict":
                        continue
                    raise
            if opts.dry_run:
                return marked, False
            if _same(marked, obj):
                return obj, False
            try:
                return await self.store.update(marked), False
            except status.StatusError as exc:
                if exc.reason == "Conflict":
                    continue
                raise
        raise status.conflict(self.rd.plural, self.rd.group, name, "too many concurrent updates, retry later")

    def _mark_for_deletion(self, obj: Obj, opts: DeleteOptions) -> Obj | None:
        """The object marked for graceful deletion, or None when it must be deleted right away."""
        rd, meta = self.rd, obj["metadata"]
        grace = self._grace_period(obj, opts)
        finalizers = _gc_finalizers(list(meta.get("finalizers") or []), opts.propagation)
        spec_finalizers = (obj.get("spec") or {}).get("finalizers") if rd.plural == "namespaces" else None
        if not finalizers and not spec_finalizers and grace == 0:
            return None
        marked = copy.deepcopy(obj)
        mmeta = marked["metadata"]
        if finalizers:
            mmeta["finalizers"] = finalizers
        stamp = dt.datetime.now(dt.UTC)
        if "deletionTimestamp" not in mmeta:
            mmeta["deletionTimestamp"] = now_rfc3339(stamp + dt.timedelta(seconds=grace))
            mmeta["deletionGracePeriodSeconds"] = grace
        elif grace < mmeta.get("deletionGracePeriodSeconds", 0):
            # a shorter grace period may shorten a pending deletion, never lengthen it
            mmeta["deletionTimestamp"] = now_rfc3339(stamp + dt.timedelta(seconds=grace))
            mmeta["deletionGracePeriodSeconds"] = grace
        if rd.generation_tracked:
            mmeta["generation"] = mmeta.get("generation", 1) + 1
        if rd.plural == "namespaces":
            marked.setdefault("status", {})["phase"] = "Terminating"
        return marked

    def _grace_period(self, obj: Obj, opts: DeleteOptions) -> int:
        if self.rd.plural != "pods":
            return 0
        spec, st = obj.get("spec") or {}, obj.get("status") or {}
        if not spec.get("nodeName") or st.get("phase") in ("Succeeded", "Failed"):
            return 0
        if opts.grace_period is not None:
            return max(opts.grace_period, 0)
        return int(spec.get("terminationGracePeriodSeconds", 30))

    async def _delete_now(self, obj: Obj) -> Obj:
        meta = obj["metadata"]
        gone = await self.store.delete(
            meta.get("namespace") if self.rd.namespaced else None, meta["name"], uid=meta.get("uid")
        )
        await self.hooks.after_delete(self.rd, gone)
        return gone


def _same(a: Obj, b: Obj) -> bool:
    def strip(o: Obj) -> Obj:
        meta = {
            k: v for k, v in o.get("metadata", {}).items() if k not in ("resourceVersion", "managedFields")
        }
        return {**o, "metadata": meta}

    return strip(a) == strip(b) and (
        a.get("metadata", {}).get("managedFields") == b.get("metadata", {}).get("managedFields")
    )


def _gc_finalizers(finalizers: list[str], propagation: str) -> list[str]:
    """The garbage collector's finalizers for a delete, as upstream: Orphan and Foreground replace each
    other, an explicit Background drops both, no policy leaves them as they are."""
    if not propagation:
        return finalizers
    kept = [f for f in finalizers if f not in ("orphan", "foregroundDeletion")]
    if propagation == "Orphan":
        kept.append("orphan")
    elif propagation == "Foreground":
        kept.append("foregroundDeletion")
    return kept


def _keep_allocations(new: Obj, old: Obj) -> None:
    """An update that leaves out the allocated ClusterIPs or NodePorts keeps them, as upstream does."""
    spec, old_spec = new.setdefault("spec", {}), old.get("spec") or {}
    if (
        spec.get("type", "ClusterIP") != "ExternalName"
        and not spec.get("clusterIP")
        and old_spec.get("clusterIP")
    ):
        spec["clusterIP"] = old_spec["clusterIP"]
        spec["clusterIPs"] = old_spec.get("clusterIPs") or [old_spec["clusterIP"]]
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        allocated = {
            (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
            for p in old_spec.get("ports") or []
            if p.get("nodePort")
        }
        for port in spec.get("ports") or []:
            key = (port.get("port"), port.get("protocol", "TCP"))
            if not port.get("nodePort") and key in allocated:
                port["nodePort"] = allocated[key]


def _bump_template_generation(new: Obj, old: Obj) -> None:
    key = "deprecated.daemonset.template.generation"
    old_gen = (old["metadata"].get("annotations") or {}).get(key, "1")
    if (new.get("spec") or {}).get("template") != (old.get("spec") or {}).get("template"):
        try:
            new["metadata"].setdefault("annotations", {})[key] = str(int(old_gen) + 1)
        except ValueError:
            new["metadata"].setdefault("annotations", {})[key] = "1"


def _without_manager(opts: WriteOptions) -> WriteOptions:
    """Apply tracks its own ownership; the write underneath must not record an Update on top."""
    return WriteOptions(opts.dry_run, "", opts.field_validation, opts.subresource, opts.warnings)


class KeyLocks:
    """One asyncio lock per key while anyone holds or waits for it; nothing kept for idle keys."""

    def __init__(self) -> None:
        self._locks: dict[Any, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: Any) -> AsyncIterator[None]:
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class Hooks:
    """Resource-specific behaviour that upstream keeps in its API server; overridden by the server."""

    async def admit_namespace(self, namespace: str) -> None:
        return None

    async def before_create(self, rd: ResourceDef, obj: Obj, dry_run: bool) -> Callable[[], Any]:
        async def nothing() -> None:
            return None

        return nothing

    async def before_update(self, rd: ResourceDef, new: Obj, old: Obj, dry_run: bool) -> None:
        return None

    async def after_delete(self, rd: ResourceDef, obj: Obj) -> None:
        return None

    async def lease_for(self, rd: ResourceDef) -> int:
        return 0
