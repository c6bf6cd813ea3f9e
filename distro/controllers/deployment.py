"""Deployments (upstream's pkg/controller/deployment): one ReplicaSet per pod template, named
`<deployment>-<pod-template-hash>`, rolled out by the RollingUpdate (maxSurge/maxUnavailable respected at
every step) or Recreate strategy; proportional scaling mid-rollout; revisions and their history as
annotations that `kubectl rollout history|undo` read; pause/resume; the Progressing and Available
conditions with progressDeadlineSeconds; and the status `kubectl rollout status` waits on.

Each sync builds a `_Rollout` over a private copy of the Deployment and of its ReplicaSets; every write
goes out with the resourceVersion it was computed from, so a decision made on a stale cache fails with
409 and is retried on fresher data rather than applied.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
from collections.abc import Iterable

from distro.apiserver import status
from distro.controllers import apps_util as u
from distro.controllers.apps_util import Obj
from distro.controllers.base import Controller
from distro.controllers.client import Client, key_of, resource, split_key
from distro.controllers.config import ControllerConfig
from distro.controllers.events import EventRecorder
from distro.controllers.informer import InformerFactory
from distro.controllers.podcontrol import claim, recheck_owner

log = logging.getLogger(__name__)

PROGRESSING = "Progressing"
AVAILABLE = "Available"
REPLICA_FAILURE = "ReplicaFailure"

NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
RS_CREATE_ERROR = "ReplicaSetCreateError"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"

# the revision-history annotation keeps at most this many characters of old revision numbers
MAX_REV_HISTORY_CHARS = 2000
# progressDeadlineSeconds of MaxInt32 means "no deadline"
_NO_DEADLINE = 2**31 - 1
_NOT_COPIED_TO_RS = frozenset(
    {
        u.LAST_APPLIED_ANNOTATION,
        u.REVISION_ANNOTATION,
        u.REVISION_HISTORY_ANNOTATION,
        u.DESIRED_REPLICAS_ANNOTATION,
        u.MAX_REPLICAS_ANNOTATION,
        u.ROLLBACK_TO_ANNOTATION,
    }
)
_RECHECK_SOON = 0.1


class DeploymentController(Controller):
    name = "deployment"
    component = "deployment-controller"
    workers = 4

    def __init__(
        self, client: Client, informers: InformerFactory, recorder: EventRecorder, config: ControllerConfig
    ) -> None:
        super().__init__(client, informers, recorder, config)
        self.deployment_rd = resource("apps", "deployments")
        self.replica_set_rd = resource("apps", "replicasets")
        self.deployments = informers.informer(self.deployment_rd)
        self.replicasets = informers.informer(self.replica_set_rd)
        self.pods = informers.informer(resource("", "pods"))
        self.deployments.add_handler(self._deployment_changed)
        self.replicasets.add_handler(self._replica_set_changed)
        self.pods.add_handler(self._pod_changed)

    # -- event handlers --

    def _deployment_changed(self, old: Obj | None, new: Obj | None) -> None:
        self.enqueue(key_of(new if new is not None else old))

    def _owner_of(self, rs: Obj | None) -> Obj | None:
        ref = u.controller_ref(rs) if rs is not None else None
        if ref is None or ref.get("kind") != "Deployment":
            return None
        d = self.deployments.get(u.meta(rs).get("namespace") or "", ref.get("name") or "")
        if d is None or u.uid_of(d) != ref.get("uid"):
            return None
        return d

    def _deployments_selecting(self, rs: Obj) -> list[Obj]:
        labels = u.labels_of(rs)
        found = []
        for d in self.deployments.list(u.meta(rs).get("namespace") or ""):
            selector = u.selector_of(d)
            if selector is not None and not selector.empty and selector.matches(labels):
                found.append(d)
        return found

    def _enqueue_owner(self, rs: Obj) -> None:
        d = self._owner_of(rs)
        if d is not None:
            self.enqueue(key_of(d))

    def _replica_set_changed(self, old: Obj | None, new: Obj | None) -> None:
        if new is None:
            self._enqueue_owner(old)
            return
        if old is None:
            if u.controller_ref(new) is not None or u.is_being_deleted(new):
                self._enqueue_owner(new)
                return
            for d in self._deployments_selecting(new):
                self.enqueue(key_of(d))
            return
        if u.meta(old).get("resourceVersion") == u.meta(new).get("resourceVersion"):
            return
        old_ref, new_ref = u.controller_ref(old), u.controller_ref(new)
        if old_ref != new_ref and old_ref is not None:
            self._enqueue_owner(old)
        if new_ref is not None:
            self._enqueue_owner(new)
            return
        if old_ref != new_ref or u.labels_of(old) != u.labels_of(new):
            for d in self._deployments_selecting(new):
                self.enqueue(key_of(d))

    def _pod_changed(self, old: Obj | None, new: Obj | None) -> None:
        # only Recreate looks at pods: it waits until the old ones are gone, not merely terminating
        if new is not None or old is None:
            return
        ref = u.controller_ref(old)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.replicasets.get(u.meta(old).get("namespace") or "", ref.get("name") or "")
        if rs is None or u.uid_of(rs) != ref.get("uid"):
            return
        d = self._owner_of(rs)
        if d is not None and _strategy(d) == "Recreate":
            self.enqueue(key_of(d))

    # -- sync --

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        cached = self.deployments.get(namespace, name)
        if cached is None:
            return
        await _Rollout(self, copy.deepcopy(cached)).run()


class _Rollout:
    """One sync of one Deployment: upstream's syncDeployment and the functions it calls."""

    def __init__(self, ctl: DeploymentController, d: Obj) -> None:
        self.ctl = ctl
        self.client = ctl.client
        self.d = d
        self.key = key_of(d)
        self.namespace = u.meta(d).get("namespace") or ""
        self.rss: list[Obj] = []

    @property
    def spec(self) -> Obj:
        return self.d.get("spec") or {}

    @property
    def status(self) -> Obj:
        if not isinstance(self.d.get("status"), dict):
            self.d["status"] = {}
        return self.d["status"]

    def _event(self, type_: str, reason: str, message: str) -> None:
        target = {**self.d, "kind": "Deployment", "apiVersion": "apps/v1"}
        self.ctl.recorder.event(target, type_, reason, message)

    async def run(self) -> None:
        selector = self.spec.get("selector") or {}
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            await self._selecting_everything()
            return
        self.rss = await self._claim_replica_sets()
        if u.is_being_deleted(self.d):
            new_rs, old = await self._all_replica_sets(create=False)
            await self._sync_status([*old, new_rs], new_rs)
            return
        await self._check_paused_conditions()
        if self.spec.get("paused") or await self._is_scaling_event():
            await self._sync_scale()
        elif _strategy(self.d) == "Recreate":
            await self._recreate()
        elif _strategy(self.d) == "RollingUpdate":
            await self._rolling()
        else:
            log.info("unexpected deployment strategy type", extra={"key": self.key})

    async def _selecting_everything(self) -> None:
        self._event(
            "Warning",
            "SelectingAll",
            "This deployment is selecting all pods. A non-empty selector is required.",
        )
        generation = u.meta(self.d).get("generation", 0)
        if self.status.get("observedGeneration", 0) < generation:
            self.status["observedGeneration"] = generation
            await self._write_status()

    async def _claim_replica_sets(self) -> list[Obj]:
        selector = u.selector_of(self.d)
        if selector is None:
            raise status.bad_request(f"deployment {self.key} has invalid label selector")
        claimed = await claim(
            self.client,
            self.ctl.replica_set_rd,
            self.d,
            u.new_controller_ref(self.d, "apps/v1", "Deployment"),
            selector,
            self.ctl.replicasets.list(self.namespace),
            recheck_owner(self.client, self.ctl.deployment_rd, self.d),
        )
        return [copy.deepcopy(rs) for rs in claimed]

    # -- writes --

    def _replace(self, rs: Obj, updated: Obj) -> None:
        """Updates rs in place, so every list holding it sees the written version."""
        fresh = copy.deepcopy(updated)
        rs.clear()
        rs.update(fresh)

    async def _write_status(self) -> None:
        updated = await self.client.update(self.ctl.deployment_rd, self.d, subresource="status")
        self.d = copy.deepcopy(updated)

    async def _set_revision(self, revision: str) -> None:
        """Upstream writes this annotation with the status; a status write here changes only status,
        so it goes to the main resource, pinned to the resourceVersion the sync started from."""
        if u.annotations_of(self.d).get(u.REVISION_ANNOTATION) == revision:
            return
        m = u.meta(self.d)
        body = {
            "metadata": {
                "resourceVersion": m.get("resourceVersion"),
                "annotations": {u.REVISION_ANNOTATION: revision},
            }
        }
        patched = await self.client.patch(self.ctl.deployment_rd, self.namespace, m["name"], body)
        pending_status = self.d.get("status")
        self.d = copy.deepcopy(patched)
        self.d["status"] = pending_status

    async def _scale_to(self, rs: Obj, count: int) -> bool:
        """upstream's scaleReplicaSetAndRecordEvent: True when spec.replicas changed."""
        if u.replicas_of(rs) == count:
            return False
        return await self._scale(rs, count, "up" if u.replicas_of(rs) < count else "down")

    async def _scale(self, rs: Obj, count: int, operation: str) -> bool:
        desired = u.replicas_of(self.d)
        most = desired + u.max_surge(self.d)
        resize = u.replicas_of(rs) != count
        if not resize and not _replicas_annotations_stale(rs, desired, most):
            return False
        before = u.replicas_of(rs)
        body = copy.deepcopy(rs)
        body["spec"]["replicas"] = count
        _set_replicas_annotations(body, desired, most)
        updated = await self.client.update(self.ctl.replica_set_rd, body)
        self._replace(rs, updated)
        if resize:
            direction = "up" if operation == "up" else "down"
            self._event(
                "Normal",
                "ScalingReplicaSet",
                f"Scaled {direction} replica set {u.meta(rs)['name']} from {before} to {count}",
            )
        return resize

    # -- the new and old replica sets --

    def _find_new(self) -> Obj | None:
        template = self.spec.get("template")
        for rs in u.by_creation(self.rss):
            if u.equal_ignore_hash((rs.get("spec") or {}).get("template"), template):
                return rs
        return None

    async def _all_replica_sets(self, create: bool) -> tuple[Obj | None, list[Obj]]:
        existing = self._find_new()
        old = [rs for rs in self.rss if rs is not existing]
        return await self._new_replica_set(existing, old, create), old

    async def _new_replica_set(self, existing: Obj | None, old: list[Obj], create: bool) -> Obj | None:
        new_revision = str(_max_revision(old) + 1)
        if existing is not None:
            return await self._sync_existing_new(existing, new_revision)
        if not create:
            return None
        return await self._create_new(old, new_revision)

    async def _sync_existing_new(self, rs: Obj, new_revision: str) -> Obj:
        body = copy.deepcopy(rs)
        annotated = set_new_rs_annotations(self.d, body, new_revision, exists=True)
        min_ready = int(self.spec.get("minReadySeconds") or 0)
        if annotated or int(body["spec"].get("minReadySeconds") or 0) != min_ready:
            _set_min_ready(body, min_ready)
            self._replace(rs, await self.client.update(self.ctl.replica_set_rd, body))
            return rs
        await self._set_revision(u.annotations_of(rs).get(u.REVISION_ANNOTATION, ""))
        if _has_progress_deadline(self.d) and _condition(self.status, PROGRESSING) is None:
            name = u.meta(rs)["name"]
            _set_condition(
                self.status,
                _new_condition(PROGRESSING, "True", FOUND_NEW_RS, f'Found new replica set "{name}"'),
            )
            await self._write_status()
        return rs

    def _new_rs_body(self) -> Obj:
        template = copy.deepcopy(self.spec.get("template") or {})
        pod_hash = u.compute_hash(self.spec.get("template"), self.status.get("collisionCount"))
        template.setdefault("metadata", {})
        template["metadata"]["labels"] = {
            **(template["metadata"].get("labels") or {}),
            u.POD_TEMPLATE_HASH_LABEL: pod_hash,
        }
        selector = copy.deepcopy(self.spec.get("selector") or {})
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), u.POD_TEMPLATE_HASH_LABEL: pod_hash}
        body: Obj = {
            "metadata": {
                "name": f"{u.meta(self.d)['name']}-{pod_hash}",
                "namespace": self.namespace,
                "ownerReferences": [u.new_controller_ref(self.d, "apps/v1", "Deployment")],
                "labels": dict(template["metadata"]["labels"]),
            },
            "spec": {"replicas": 0, "selector": selector, "template": template},
        }
        _set_min_ready(body, int(self.spec.get("minReadySeconds") or 0))
        return body

    async def _create_new(self, old: list[Obj], new_revision: str) -> Obj:
        body = self._new_rs_body()
        name = body["metadata"]["name"]
        count = new_rs_new_replicas(self.d, [*old, body], body)
        body["spec"]["replicas"] = count
        set_new_rs_annotations(self.d, body, new_revision, exists=False)
        already_existed = False
        try:
            created = await self.client.create(self.ctl.replica_set_rd, self.namespace, body)
        except status.StatusError as exc:
            if exc.reason != "AlreadyExists":
                await self._creation_failed(name, exc)
                raise
            created = await self._existing_namesake(name)
            if created is None:
                # a hash collision: another template hashed to this name; a new count gives a new name
                self.status["collisionCount"] = int(self.status.get("collisionCount") or 0) + 1
                await self._write_status()
                raise
            already_existed = True
        rs = copy.deepcopy(created)
        self.rss.append(rs)
        if not already_existed and count > 0:
            self._event("Normal", "ScalingReplicaSet", f"Scaled up replica set {name} from 0 to {count}")
        await self._set_revision(new_revision)
        if not already_existed and _has_progress_deadline(self.d):
            _set_condition(
                self.status,
                _new_condition(PROGRESSING, "True", NEW_RS_CREATED, f'Created new replica set "{name}"'),
            )
            await self._write_status()
        return rs

    async def _existing_namesake(self, name: str) -> Obj | None:
        """The ReplicaSet already called name, if it is this Deployment's for this very template (made by
        an earlier sync whose result the cache has not shown yet)."""
        rs = self.ctl.replicasets.get(self.namespace, name)
        if rs is None:
            rs = await self.client.get(self.ctl.replica_set_rd, self.namespace, name)
        ref = u.controller_ref(rs)
        if ref is not None and ref.get("uid") == u.uid_of(self.d):
            if u.equal_ignore_hash((rs.get("spec") or {}).get("template"), self.spec.get("template")):
                return rs
        return None

    async def _creation_failed(self, name: str, exc: status.StatusError) -> None:
        message = f'Failed to create new replica set "{name}": {exc.message}'
        if _has_progress_deadline(self.d):
            _set_condition(self.status, _new_condition(PROGRESSING, "False", RS_CREATE_ERROR, message))
            try:
                await self._write_status()
            except status.StatusError:
                log.info("status not written", extra={"key": self.key})
        self._event("Warning", "FailedCreate", message)

    # -- scaling (paused deployments and replica count changes) --

    async def _is_scaling_event(self) -> bool:
        new_rs, old = await self._all_replica_sets(create=False)
        for rs in _active([*old, new_rs]):
            desired = _int_annotation(rs, u.DESIRED_REPLICAS_ANNOTATION)
            if desired is not None and desired != u.replicas_of(self.d):
                return True
        return False

    async def _sync_scale(self) -> None:
        new_rs, old = await self._all_replica_sets(create=False)
        await self._proportionally_scale(new_rs, old)
        if self.spec.get("paused"):
            await self._cleanup(old)
        await self._sync_status([*old, new_rs], new_rs)

    async def _proportionally_scale(self, new_rs: Obj | None, old: list[Obj]) -> None:
        replicas = u.replicas_of(self.d)
        target = _active_or_latest(new_rs, old)
        if target is not None:
            await self._scale_to(target, replicas)
            return
        if _is_saturated(self.d, new_rs):
            for rs in _active(old):
                await self._scale_to(rs, 0)
            return
        if _strategy(self.d) != "RollingUpdate":
            return
        active = _active([*old, new_rs])
        allowed = replicas + u.max_surge(self.d) if replicas > 0 else 0
        sizes, operation = proportional_sizes(self.d, active, allowed - _spec_total(active))
        for rs in active:
            await self._scale(rs, sizes[u.uid_of(rs)], operation)

    # -- strategies --

    async def _rolling(self) -> None:
        new_rs, old = await self._all_replica_sets(create=True)
        assert new_rs is not None
        everything = [*old, new_rs]
        if await self._reconcile_new(everything, new_rs):
            await self._sync_rollout_status(everything, new_rs)
            return
        if await self._reconcile_old(everything, _active(old), new_rs):
            await self._sync_rollout_status(everything, new_rs)
            return
        if deployment_complete(self.d, self.status):
            await self._cleanup(old)
        await self._sync_rollout_status(everything, new_rs)

    async def _reconcile_new(self, everything: list[Obj], new_rs: Obj) -> bool:
        want, have = u.replicas_of(self.d), u.replicas_of(new_rs)
        if have == want:
            return False
        if have > want:
            return await self._scale_to(new_rs, want)
        return await self._scale_to(new_rs, new_rs_new_replicas(self.d, everything, new_rs))

    async def _reconcile_old(self, everything: list[Obj], old: list[Obj], new_rs: Obj) -> bool:
        if _spec_total(old) == 0:
            return False
        min_available = u.replicas_of(self.d) - u.max_unavailable(self.d)
        new_unavailable = u.replicas_of(new_rs) - _status_of(new_rs, "availableReplicas")
        max_scaled_down = _spec_total(everything) - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        cleaned = await self._cleanup_unhealthy(old, max_scaled_down)
        scaled = await self._scale_down_old(old, new_rs)
        return cleaned + scaled > 0

    async def _cleanup_unhealthy(self, old: list[Obj], most: int) -> int:
        """Scales down old replicas that are not available first, so they cannot block the rollout."""
        total = 0
        for rs in u.by_creation(old):
            if total >= most:
                break
            replicas, available = u.replicas_of(rs), _status_of(rs, "availableReplicas")
            if replicas == 0 or replicas <= available:
                continue
            count = min(most - total, replicas - available)
            await self._scale_to(rs, replicas - count)
            total += count
        return total

    async def _scale_down_old(self, old: list[Obj], new_rs: Obj) -> int:
        min_available = u.replicas_of(self.d) - u.max_unavailable(self.d)
        available = sum(_available_for_scale_down(rs) for rs in [*old, new_rs])
        if available <= min_available:
            return 0
        budget = available - min_available
        total = 0
        for rs in u.by_creation(old):
            if total >= budget:
                break
            replicas = u.replicas_of(rs)
            if replicas == 0:
                continue
            count = min(replicas, budget - total)
            await self._scale_to(rs, replicas - count)
            total += count
        return total

    async def _recreate(self) -> None:
        # no new ReplicaSet yet: creating it would scale up before the old pods are gone
        new_rs, old = await self._all_replica_sets(create=False)
        everything = [*old, new_rs]
        scaled_down = False
        for rs in _active(old):
            scaled_down = await self._scale_to(rs, 0) or scaled_down
        if scaled_down or self._old_pods_running(new_rs, old):
            await self._sync_rollout_status(everything, new_rs)
            return
        if new_rs is None:
            new_rs, old = await self._all_replica_sets(create=True)
            everything = [*old, new_rs]
        await self._scale_to(new_rs, u.replicas_of(self.d))
        if deployment_complete(self.d, self.status):
            await self._cleanup(old)
        await self._sync_rollout_status(everything, new_rs)

    def _old_pods_running(self, new_rs: Obj | None, old: list[Obj]) -> bool:
        """Old ReplicaSets still report pods, or any of their pods (terminating ones too) still exists
        and has not finished."""
        if sum(_status_of(rs, "replicas") for rs in old) > 0:
            return True
        old_uids = {u.uid_of(rs) for rs in old} - ({u.uid_of(new_rs)} if new_rs is not None else set())
        selector = u.selector_of(self.d)
        for pod in self.ctl.pods.list(self.namespace):
            ref = u.controller_ref(pod)
            if ref is None or ref.get("uid") not in old_uids:
                continue
            if selector is None or not selector.matches(u.labels_of(pod)):
                continue
            if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                return True
        return False

    async def _cleanup(self, old: list[Obj]) -> None:
        """Deletes the oldest revisions beyond revisionHistoryLimit, if they are scaled to zero."""
        limit = self.spec.get("revisionHistoryLimit")
        if limit is None:
            return
        alive = [rs for rs in old if not u.is_being_deleted(rs)]
        excess = len(alive) - int(limit)
        if excess <= 0:
            return
        for rs in sorted(alive, key=_revision_order)[:excess]:
            m = u.meta(rs)
            observed = (rs.get("status") or {}).get("observedGeneration", 0)
            if _status_of(rs, "replicas") or u.replicas_of(rs) or m.get("generation", 0) > observed:
                continue
            await self.client.delete(self.ctl.replica_set_rd, self.namespace, m["name"])

    # -- status and conditions --

    async def _check_paused_conditions(self) -> None:
        """Paused time must not count against the progress deadline: mark pause and resume."""
        if not _has_progress_deadline(self.d):
            return
        cond = _condition(self.status, PROGRESSING)
        if cond is not None and cond.get("reason") == TIMED_OUT:
            return
        paused_marked = cond is not None and cond.get("reason") == PAUSED
        if self.spec.get("paused") and not paused_marked:
            _set_condition(
                self.status, _new_condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused")
            )
        elif not self.spec.get("paused") and paused_marked:
            _set_condition(
                self.status, _new_condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed")
            )
        else:
            return
        await self._write_status()

    async def _sync_status(self, everything: list[Obj | None], new_rs: Obj | None) -> None:
        new_status = deployment_status(self.d, everything, new_rs)
        if _comparable(self.status) == _comparable(new_status):
            return
        self.d["status"] = new_status
        await self._write_status()

    async def _sync_rollout_status(self, everything: list[Obj | None], new_rs: Obj | None) -> None:
        new_status = deployment_status(self.d, everything, new_rs)
        if not _has_progress_deadline(self.d):
            _remove_condition(new_status, PROGRESSING)
        current = _condition(self.status, PROGRESSING)
        rollout_done = (
            new_status.get("replicas", 0) == new_status.get("updatedReplicas", 0)
            and current is not None
            and current.get("reason") == NEW_RS_AVAILABLE
        )
        if _has_progress_deadline(self.d) and not rollout_done:
            self._estimate_progress(new_status, new_rs, current)
        failures = _replica_failures(everything, new_rs)
        if failures:
            _set_condition(new_status, failures[0])
        else:
            _remove_condition(new_status, REPLICA_FAILURE)
        if _comparable(self.status) == _comparable(new_status):
            self._requeue_if_stuck(new_status)
            return
        self.d["status"] = new_status
        await self._write_status()

    def _estimate_progress(self, new_status: Obj, new_rs: Obj | None, current: Obj | None) -> None:
        name = u.meta(self.d)["name"]
        subject = f'ReplicaSet "{u.meta(new_rs)["name"]}"' if new_rs is not None else f'Deployment "{name}"'
        if deployment_complete(self.d, new_status):
            message = f"{subject} has successfully progressed."
            _set_condition(new_status, _new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE, message))
        elif deployment_progressing(self.d, new_status):
            cond = _new_condition(PROGRESSING, "True", RS_UPDATED, f"{subject} is progressing.")
            # progress refreshes lastUpdateTime even when the reason stays the same
            if current is not None:
                if current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime")
                _remove_condition(new_status, PROGRESSING)
            _set_condition(new_status, cond)
        elif deployment_timed_out(self.d, new_status, u.now()):
            message = f"{subject} has timed out progressing."
            _set_condition(new_status, _new_condition(PROGRESSING, "False", TIMED_OUT, message))

    def _requeue_if_stuck(self, new_status: Obj) -> None:
        """No progress and nothing to write: look again when the deadline would pass."""
        current = _condition(self.status, PROGRESSING)
        if not _has_progress_deadline(self.d) or current is None:
            return
        if deployment_complete(self.d, new_status) or current.get("reason") == TIMED_OUT:
            return
        updated_at = u.parse_time(current.get("lastUpdateTime"))
        if updated_at is None:
            return
        deadline = updated_at + dt.timedelta(seconds=int(self.spec["progressDeadlineSeconds"]))
        wait = (deadline - u.now()).total_seconds()
        # the condition's times have whole seconds: one more second makes sure the deadline has passed
        self.ctl.queue.add_after(self.key, wait + 1.0 if wait >= 1.0 else _RECHECK_SOON)


# -- pure rollout arithmetic (upstream's deployment/util) --


def _strategy(d: Obj) -> str:
    return ((d.get("spec") or {}).get("strategy") or {}).get("type") or "RollingUpdate"


def _has_progress_deadline(d: Obj) -> bool:
    deadline = (d.get("spec") or {}).get("progressDeadlineSeconds")
    return deadline is not None and int(deadline) != _NO_DEADLINE


def _status_of(rs: Obj | None, field: str) -> int:
    if rs is None:
        return 0
    return int((rs.get("status") or {}).get(field) or 0)


def _active(rss: Iterable[Obj | None]) -> list[Obj]:
    return [rs for rs in rss if rs is not None and u.replicas_of(rs) > 0]


def _spec_total(rss: Iterable[Obj | None]) -> int:
    return sum(u.replicas_of(rs) for rs in rss if rs is not None)


def _available_for_scale_down(rs: Obj) -> int:
    # a set just scaled down still reports the pods it is deleting as available until its controller
    # catches up; counting them would let a second scale-down dip below the availability floor
    return min(_status_of(rs, "availableReplicas"), u.replicas_of(rs))


def _pods_bound(rs: Obj) -> int:
    # pods a set has or is about to have: its spec, or more while it has not yet deleted the surplus
    return max(u.replicas_of(rs), _status_of(rs, "replicas"))


def new_rs_new_replicas(d: Obj, everything: list[Obj], new_rs: Obj) -> int:
    """The size the new ReplicaSet may grow to now. RollingUpdate: up to replicas+maxSurge pods in
    all. Stricter than upstream, which sums spec.replicas: an old set's pods count until its controller
    has deleted them, so the surge bound holds for pods that exist, not only for specs."""
    replicas = u.replicas_of(d)
    if _strategy(d) != "RollingUpdate":
        return replicas
    ceiling = replicas + u.max_surge(d)
    current = sum(_pods_bound(rs) for rs in everything if rs is not new_rs) + u.replicas_of(new_rs)
    if current >= ceiling:
        return u.replicas_of(new_rs)
    grow = min(ceiling - current, replicas - u.replicas_of(new_rs))
    return u.replicas_of(new_rs) + max(grow, 0)


def _round_half_away(x: float) -> int:
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def _int_annotation(obj: Obj, key: str) -> int | None:
    try:
        return int(u.annotations_of(obj)[key])
    except (KeyError, ValueError):
        return None


def _fraction(rs: Obj, d: Obj) -> int:
    """How many replicas rs gains (or loses) when the Deployment's size changes, in proportion to the
    size the Deployment had when rs was last scaled (its max-replicas annotation)."""
    if u.replicas_of(d) == 0:
        return -u.replicas_of(rs)
    new_max = u.replicas_of(d) + u.max_surge(d)
    old_max = _int_annotation(rs, u.MAX_REPLICAS_ANNOTATION)
    if not old_max:
        old_max = int((d.get("status") or {}).get("replicas") or 0)
    if old_max == 0:
        return 0
    return _round_half_away(u.replicas_of(rs) * new_max / old_max) - u.replicas_of(rs)


def _proportion(rs: Obj, d: Obj, to_add: int, added: int) -> int:
    if u.replicas_of(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = _fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def _sorted_by_size(rss: list[Obj], newer_first_on_ties: bool) -> list[Obj]:
    by_age = u.by_creation(rss, newest_first=newer_first_on_ties)
    return sorted(by_age, key=lambda rs: -u.replicas_of(rs))


def proportional_sizes(d: Obj, active: list[Obj], to_add: int) -> tuple[dict[str, int], str]:
    """({rs uid: new size}, "up"|"down"): to_add replicas spread over the active sets in proportion to
    their sizes, larger sets first (newer first on ties when growing, older when shrinking); rounding
    leftovers go to the largest."""
    if to_add > 0:
        ordered, operation = _sorted_by_size(active, True), "up"
    elif to_add < 0:
        ordered, operation = _sorted_by_size(active, False), "down"
    else:
        ordered, operation = active, ""
    sizes: dict[str, int] = {}
    added = 0
    for rs in ordered:
        if to_add:
            share = _proportion(rs, d, to_add, added)
            sizes[u.uid_of(rs)] = u.replicas_of(rs) + share
            added += share
        else:
            sizes[u.uid_of(rs)] = u.replicas_of(rs)
    if ordered and to_add:
        first = u.uid_of(ordered[0])
        sizes[first] = max(sizes[first] + to_add - added, 0)
    return sizes, operation


def _active_or_latest(new_rs: Obj | None, old: list[Obj]) -> Obj | None:
    """The only active set, or the newest when none is active; None while several are active."""
    if new_rs is None and not old:
        return None
    newest_first = u.by_creation(old, newest_first=True)
    active = _active([*newest_first, new_rs])
    if not active:
        return new_rs if new_rs is not None else newest_first[0]
    return active[0] if len(active) == 1 else None


def _is_saturated(d: Obj, rs: Obj | None) -> bool:
    if rs is None:
        return False
    desired = _int_annotation(rs, u.DESIRED_REPLICAS_ANNOTATION)
    replicas = u.replicas_of(d)
    return (
        desired == replicas
        and u.replicas_of(rs) == replicas
        and _status_of(rs, "availableReplicas") == replicas
    )


def _max_revision(rss: Iterable[Obj]) -> int:
    return max((_int_annotation(rs, u.REVISION_ANNOTATION) or 0 for rs in rss), default=0)


def _revision_order(rs: Obj) -> tuple[int, str, str]:
    m = u.meta(rs)
    return (
        _int_annotation(rs, u.REVISION_ANNOTATION) or 0,
        m.get("creationTimestamp") or "",
        m.get("name") or "",
    )


def _set_min_ready(rs: Obj, seconds: int) -> None:
    if seconds:
        rs["spec"]["minReadySeconds"] = seconds
    else:
        rs["spec"].pop("minReadySeconds", None)


def _replicas_annotations_stale(rs: Obj, desired: int, most: int) -> bool:
    annotations = u.annotations_of(rs)
    return annotations.get(u.DESIRED_REPLICAS_ANNOTATION) != str(desired) or annotations.get(
        u.MAX_REPLICAS_ANNOTATION
    ) != str(most)


def _set_replicas_annotations(rs: Obj, desired: int, most: int) -> bool:
    if not _replicas_annotations_stale(rs, desired, most):
        return False
    annotations = rs.setdefault("metadata", {}).setdefault("annotations", {})
    annotations[u.DESIRED_REPLICAS_ANNOTATION] = str(desired)
    annotations[u.MAX_REPLICAS_ANNOTATION] = str(most)
    return True


def set_new_rs_annotations(d: Obj, rs: Obj, new_revision: str, exists: bool) -> bool:
    """Copies the Deployment's own annotations to its new ReplicaSet, raises the set's revision to
    new_revision (a set taken back into use by a rollback keeps its old numbers in revision-history)
    and, for a set about to be created, records the desired and max replicas. True if anything changed."""
    annotations = rs.setdefault("metadata", {}).setdefault("annotations", {})
    changed = False
    for k, v in u.annotations_of(d).items():
        if k in _NOT_COPIED_TO_RS or annotations.get(k) == v:
            continue
        annotations[k] = v
        changed = True
    old_text = annotations.get(u.REVISION_ANNOTATION)
    try:
        old_revision = int(old_text) if old_text else 0
    except ValueError:
        return False
    new = int(new_revision)
    if old_revision < new:
        annotations[u.REVISION_ANNOTATION] = new_revision
        changed = True
        if old_text is not None:
            _append_revision_history(annotations, old_text)
    if not exists and _set_replicas_annotations(rs, u.replicas_of(d), u.replicas_of(d) + u.max_surge(d)):
        changed = True
    return changed


def _append_revision_history(annotations: dict[str, str], old_revision: str) -> None:
    history = annotations.get(u.REVISION_HISTORY_ANNOTATION, "")
    if not history:
        annotations[u.REVISION_HISTORY_ANNOTATION] = old_revision
        return
    revisions = history.split(",")
    total = len(history) + len(old_revision) + 1
    start = 0
    while total > MAX_REV_HISTORY_CHARS and start < len(revisions):
        total -= len(revisions[start]) + 1
        start += 1
    if total <= MAX_REV_HISTORY_CHARS:
        annotations[u.REVISION_HISTORY_ANNOTATION] = ",".join([*revisions[start:], old_revision])


def _new_condition(type_: str, status_: str, reason: str, message: str) -> Obj:
    stamp = u.format_time(u.now())
    return {
        "type": type_,
        "status": status_,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def _condition(st: Obj, type_: str) -> Obj | None:
    for cond in st.get("conditions") or []:
        if cond.get("type") == type_:
            return cond
    return None


def _set_condition(st: Obj, cond: Obj) -> None:
    """Same status and reason: keep the old one (its times); same status only: keep its transition time."""
    current = _condition(st, cond["type"])
    if (
        current is not None
        and current.get("status") == cond["status"]
        and current.get("reason") == cond["reason"]
    ):
        return
    if current is not None and current.get("status") == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    st["conditions"] = [*(c for c in st.get("conditions") or [] if c.get("type") != cond["type"]), cond]


def _remove_condition(st: Obj, type_: str) -> None:
    remaining = [c for c in st.get("conditions") or [] if c.get("type") != type_]
    if remaining:
        st["conditions"] = remaining
    else:
        st.pop("conditions", None)


def _replica_failures(everything: list[Obj | None], new_rs: Obj | None) -> list[Obj]:
    """ReplicaFailure conditions of the ReplicaSets as Deployment conditions, the new set's first."""

    def failures(rs: Obj) -> list[Obj]:
        return [
            {
                "type": REPLICA_FAILURE,
                "status": c.get("status"),
                "lastUpdateTime": c.get("lastTransitionTime"),
                "lastTransitionTime": c.get("lastTransitionTime"),
                "reason": c.get("reason"),
                "message": c.get("message"),
            }
            for c in (rs.get("status") or {}).get("conditions") or []
            if c.get("type") == REPLICA_FAILURE
        ]

    if new_rs is not None and (found := failures(new_rs)):
        return found
    return [c for rs in everything if rs is not None for c in failures(rs)]


def deployment_status(d: Obj, everything: list[Obj | None], new_rs: Obj | None) -> Obj:
    """upstream's calculateStatus: counts from the ReplicaSets' statuses and the Available condition;
    zero counts are left out, as the API's omitempty leaves them out."""
    rss = [rs for rs in everything if rs is not None]
    available = sum(_status_of(rs, "availableReplicas") for rs in rss)
    old_status = d.get("status") or {}
    counts = {
        "observedGeneration": u.meta(d).get("generation", 0),
        "replicas": sum(_status_of(rs, "replicas") for rs in rss),
        "updatedReplicas": _status_of(new_rs, "replicas"),
        "readyReplicas": sum(_status_of(rs, "readyReplicas") for rs in rss),
        "availableReplicas": available,
        "unavailableReplicas": max(_spec_total(rss) - available, 0),
    }
    new_status: Obj = {k: v for k, v in counts.items() if v}
    conditions = [dict(c) for c in old_status.get("conditions") or []]
    if conditions:
        new_status["conditions"] = conditions
    if old_status.get("collisionCount") is not None:
        new_status["collisionCount"] = old_status["collisionCount"]
    if available >= u.replicas_of(d) - u.max_unavailable(d):
        cond = _new_condition(AVAILABLE, "True", MIN_AVAILABLE, "Deployment has minimum availability.")
    else:
        cond = _new_condition(
            AVAILABLE, "False", MIN_UNAVAILABLE, "Deployment does not have minimum availability."
        )
    _set_condition(new_status, cond)
    return new_status


def _comparable(st: Obj) -> Obj:
    return {k: v for k, v in st.items() if v not in (0, None, [], {}) or k == "collisionCount"}


def deployment_complete(d: Obj, st: Obj) -> bool:
    replicas = u.replicas_of(d)
    return (
        st.get("updatedReplicas", 0) == replicas
        and st.get("replicas", 0) == replicas
        and st.get("availableReplicas", 0) == replicas
        and st.get("observedGeneration", 0) >= u.meta(d).get("generation", 0)
    )


def deployment_progressing(d: Obj, new_status: Obj) -> bool:
    old = d.get("status") or {}

    def get(st: Obj, k: str) -> int:
        return int(st.get(k) or 0)

    old_old = get(old, "replicas") - get(old, "updatedReplicas")
    new_old = get(new_status, "replicas") - get(new_status, "updatedReplicas")
    return (
        get(new_status, "updatedReplicas") > get(old, "updatedReplicas")
        or new_old < old_old
        or get(new_status, "readyReplicas") > get(old, "readyReplicas")
        or get(new_status, "availableReplicas") > get(old, "availableReplicas")
    )


def deployment_timed_out(d: Obj, new_status: Obj, at: dt.datetime) -> bool:
    if not _has_progress_deadline(d):
        return False
    cond = _condition(new_status, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    updated_at = u.parse_time(cond.get("lastUpdateTime"))
    if updated_at is None:
        return False
    return updated_at + dt.timedelta(seconds=int(d["spec"]["progressDeadlineSeconds"])) < at
