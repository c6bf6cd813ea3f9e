"""ReplicaSets (upstream's pkg/controller/replicaset): keep spec.replicas active pods from the template,
adopting matching orphans and releasing pods that stopped matching; delete the least valuable pods
first; never act twice on a stale cache (expectations); report replicas, fully labeled, ready and
available counts, and a ReplicaFailure condition when creating or deleting fails."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from distro.apiserver import status
from distro.apiserver.selectors import label_selector_from_dict
from distro.controllers import apps_util as u
from distro.controllers.apps_util import Obj
from distro.controllers.base import Controller
from distro.controllers.client import Client, key_of, resource, split_key
from distro.controllers.config import ControllerConfig
from distro.controllers.events import EventRecorder
from distro.controllers.informer import InformerFactory
from distro.controllers.podcontrol import Expectations, claim, recheck_owner

log = logging.getLogger(__name__)

# upstream's --replicaset burst: at most this many creates or deletes per sync
BURST_REPLICAS = 500
SLOW_START_INITIAL_BATCH = 1
REPLICA_FAILURE = "ReplicaFailure"
# a ready pod turns available a hair after ready+minReadySeconds (strictly later, as upstream)
_AVAILABILITY_SLACK = 0.05


class ReplicaSetController(Controller):
    name = "replicaset"
    component = "replicaset-controller"
    workers = 4

    def __init__(
        self, client: Client, informers: InformerFactory, recorder: EventRecorder, config: ControllerConfig
    ) -> None:
        super().__init__(client, informers, recorder, config)
        self._rs_rd = resource("apps", "replicasets")
        self._pod_rd = resource("", "pods")
        self.replicasets = informers.informer(self._rs_rd)
        self.pods = informers.informer(self._pod_rd)
        self.expectations = Expectations()
        self.replicasets.add_handler(self._replica_set_changed)
        self.pods.add_handler(self._pod_changed)

    # -- event handlers --

    def _replica_set_changed(self, old: Obj | None, new: Obj | None) -> None:
        if new is None:
            key = key_of(old)
            self.expectations.forget(key)
            self.enqueue(key)
            return
        self.enqueue(key_of(new))

    def _pod_changed(self, old: Obj | None, new: Obj | None) -> None:
        if new is None:
            self._pod_deleted(old)
        elif old is None:
            self._pod_added(new)
        else:
            self._pod_updated(old, new)

    def _owner_of(self, pod: Obj) -> Obj | None:
        ref = u.controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return None
        rs = self.replicasets.get(u.meta(pod).get("namespace") or "", ref.get("name") or "")
        if rs is None or u.uid_of(rs) != ref.get("uid"):
            return None
        return rs

    def _replica_sets_selecting(self, pod: Obj) -> list[Obj]:
        labels = u.labels_of(pod)
        found = []
        for rs in self.replicasets.list(u.meta(pod).get("namespace") or ""):
            selector = u.selector_of(rs)
            if selector is not None and not selector.empty and selector.matches(labels):
                found.append(rs)
        return found

    def _pod_added(self, pod: Obj) -> None:
        if u.is_being_deleted(pod):
            # e.g. after a restart: a pod already terminating is a deletion as far as counting goes
            self._pod_deleted(pod)
            return
        if u.controller_ref(pod) is not None:
            rs = self._owner_of(pod)
            if rs is not None:
                key = key_of(rs)
                self.expectations.creation_observed(key)
                self.enqueue(key)
            return
        for rs in self._replica_sets_selecting(pod):
            self.enqueue(key_of(rs))

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if u.meta(old).get("resourceVersion") == u.meta(new).get("resourceVersion"):
            return
        labels_changed = u.labels_of(old) != u.labels_of(new)
        if u.is_being_deleted(new):
            self._pod_deleted(new)
            if labels_changed:
                self._pod_deleted(old)
            return
        old_ref, new_ref = u.controller_ref(old), u.controller_ref(new)
        ref_changed = old_ref != new_ref
        if ref_changed and old_ref is not None:
            previous = self._owner_of(old)
            if previous is not None:
                self.enqueue(key_of(previous))
        if new_ref is not None:
            rs = self._owner_of(new)
            if rs is None:
                return
            self.enqueue(key_of(rs))
            min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
            if min_ready > 0 and not u.is_pod_ready(old) and u.is_pod_ready(new):
                self.queue.add_after(key_of(rs), min_ready + _AVAILABILITY_SLACK)
            return
        if labels_changed or ref_changed:
            for rs in self._replica_sets_selecting(new):
                self.enqueue(key_of(rs))

    def _pod_deleted(self, pod: Obj) -> None:
        rs = self._owner_of(pod)
        if rs is None:
            return
        key = key_of(rs)
        self.expectations.deletion_observed(key, u.pod_key(pod))
        self.enqueue(key)

    # -- sync --

    async def sync(self, key: str) -> None:
        namespace, name = split_key(key)
        rs = self.replicasets.get(namespace, name)
        if rs is None:
            self.expectations.forget(key)
            return
        try:
            selector = label_selector_from_dict((rs.get("spec") or {}).get("selector"))
        except ValueError as exc:
            log.info("replicaset has an invalid selector", extra={"key": key, "error": str(exc)})
            return
        needs_sync = self.expectations.satisfied(key)
        active = [p for p in self.pods.list(namespace) if u.is_pod_active(p)]
        pods = await claim(
            self.client,
            self._pod_rd,
            rs,
            u.new_controller_ref(rs, "apps/v1", "ReplicaSet"),
            selector,
            active,
            recheck_owner(self.client, self._rs_rd, rs),
        )
        error: status.StatusError | None = None
        if needs_sync and not u.is_being_deleted(rs):
            try:
                await self._manage_replicas(key, rs, pods)
            except status.StatusError as exc:
                error = exc
        at = u.now()
        updated = await self._write_status(rs, replica_set_status(rs, pods, error, at))
        self._requeue_for_availability(key, updated, pods, at)
        if error is not None:
            raise error

    def _requeue_for_availability(self, key: str, rs: Obj, pods: list[Obj], at: dt.datetime) -> None:
        """Pods ready but not yet ready for minReadySeconds become available later without any event."""
        min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready <= 0:
            return
        upcoming = [
            when
            for pod in pods
            if (when := u.available_at(pod, min_ready)) is not None
            and not u.is_pod_available(pod, min_ready, at)
        ]
        if upcoming:
            wait = (min(upcoming) - at).total_seconds()
            self.queue.add_after(key, max(wait, 0.0) + _AVAILABILITY_SLACK)

    async def _manage_replicas(self, key: str, rs: Obj, pods: list[Obj]) -> None:
        diff = len(pods) - u.replicas_of(rs)
        if diff < 0:
            await self._create_pods(key, rs, min(-diff, BURST_REPLICAS))
        elif diff > 0:
            await self._delete_pods(key, rs, pods, min(diff, BURST_REPLICAS))

    async def _create_pods(self, key: str, rs: Obj, count: int) -> None:
        self.expectations.expect_creations(key, count)
        created, error = await slow_start_batch(count, SLOW_START_INITIAL_BATCH, lambda: self._create_pod(rs))
        # the informer will never show the creates that were not made (skipped or failed)
        for _ in range(count - created):
            self.expectations.creation_observed(key)
        if error is not None:
            raise error

    async def _create_pod(self, rs: Obj) -> bool:
        """True when a pod was created; False when the namespace is going away (nothing to do)."""
        namespace = u.meta(rs).get("namespace") or ""
        try:
            pod = await self.client.create(self._pod_rd, namespace, pod_from_template(rs))
        except status.StatusError as exc:
            if _namespace_terminating(exc):
                return False
            self.recorder.event(rs, "Warning", "FailedCreate", f"Error creating: {exc.message}")
            raise
        self.recorder.event(rs, "Normal", "SuccessfulCreate", f"Created pod: {u.meta(pod)['name']}")
        return True

    async def _delete_pods(self, key: str, rs: Obj, pods: list[Obj], count: int) -> None:
        victims = pods_to_delete(pods, self._related_pods(rs), count, u.now())
        self.expectations.expect_deletions(key, [u.pod_key(p) for p in victims])
        results = await asyncio.gather(
            *(self._delete_pod(key, rs, pod) for pod in victims), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _delete_pod(self, key: str, rs: Obj, pod: Obj) -> None:
        m = u.meta(pod)
        namespace, name, uid = m.get("namespace") or "", m["name"], u.uid_of(pod)
        try:
            await self.client.delete(self._pod_rd, namespace, name, uid=uid)
        except status.StatusError as exc:
            self.expectations.deletion_observed(key, u.pod_key(pod))
            if exc.code == 409 and "Precondition" in exc.message:
                return  # the pod we chose is already gone; a namesake is not ours to delete
            self.recorder.event(rs, "Warning", "FailedDelete", f"Error deleting: {exc.message}")
            raise
        current = self.pods.get(namespace, name)
        if current is None or u.uid_of(current) != uid:
            # gone before we asked (NotFound) or its deletion was already dispatched: no event is coming
            self.expectations.deletion_observed(key, u.pod_key(pod))
        self.recorder.event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")

    def _related_pods(self, rs: Obj) -> list[Obj]:
        """Pods of every ReplicaSet with the same controller (a Deployment's old and new sets): a pod
        doubled up on a node with its siblings goes first."""
        ref = u.controller_ref(rs)
        if ref is None:
            return []
        namespace = u.meta(rs).get("namespace") or ""
        seen: set[str] = set()
        related: list[Obj] = []
        for sibling in self.replicasets.list(namespace):
            sibling_ref = u.controller_ref(sibling)
            if sibling_ref is None or sibling_ref.get("uid") != ref.get("uid"):
                continue
            selector = u.selector_of(sibling)
            if selector is None:
                continue
            for pod in self.pods.list(namespace):
                if u.uid_of(pod) not in seen and selector.matches(u.labels_of(pod)):
                    seen.add(u.uid_of(pod))
                    related.append(pod)
        return related

    async def _write_status(self, rs: Obj, new_status: Obj) -> Obj:
        generation = u.meta(rs).get("generation", 0)
        current = rs.get("status") or {}
        if (
            _status_counts(current) == _status_counts(new_status)
            and current.get("observedGeneration") == generation
        ):
            return rs
        if generation:
            new_status["observedGeneration"] = generation
        target = rs
        for attempt in range(2):
            body = copy.deepcopy(target)
            body["status"] = new_status
            try:
                return await self.client.update(self._rs_rd, body, subresource="status")
            except status.StatusError as exc:
                if attempt == 1 or exc.reason == "NotFound":
                    raise
            m = u.meta(rs)
            target = await self.client.get(self._rs_rd, m.get("namespace") or "", m["name"])
        raise AssertionError("unreachable")


def _namespace_terminating(exc: status.StatusError) -> bool:
    causes = (exc.details or {}).get("causes") or []
    return any(c.get("reason") == "NamespaceTerminating" for c in causes)


def _status_counts(st: Obj) -> tuple:
    return (
        st.get("replicas", 0),
        st.get("fullyLabeledReplicas", 0),
        st.get("readyReplicas", 0),
        st.get("availableReplicas", 0),
        st.get("conditions") or [],
    )


def pod_from_template(rs: Obj) -> Obj:
    """A new pod of rs: the template's labels, annotations, finalizers and spec, a controller reference
    to rs and a generated name `<rs>-xxxxx`."""
    m = u.meta(rs)
    template = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    template_meta = template.get("metadata") or {}
    pod_meta: Obj = {
        "generateName": f"{m['name']}-",
        "namespace": m.get("namespace") or "",
        "ownerReferences": [u.new_controller_ref(rs, "apps/v1", "ReplicaSet")],
    }
    for field in ("labels", "annotations", "finalizers"):
        if template_meta.get(field):
            pod_meta[field] = template_meta[field]
    return {"metadata": pod_meta, "spec": template.get("spec") or {}}


def pods_to_delete(pods: list[Obj], related: list[Obj], count: int, at: dt.datetime) -> list[Obj]:
    """The count pods to delete first, ranked by how many active siblings share each pod's node."""
    if count >= len(pods):
        return list(pods)
    per_node: dict[str, int] = {}
    for pod in related:
        if u.is_pod_active(pod):
            node = (pod.get("spec") or {}).get("nodeName") or ""
            per_node[node] = per_node.get(node, 0) + 1
    ranks = [per_node.get((p.get("spec") or {}).get("nodeName") or "", 0) for p in pods]
    return u.rank_for_deletion(pods, ranks, at)[:count]


def replica_set_status(rs: Obj, pods: list[Obj], error: status.StatusError | None, at: dt.datetime) -> Obj:
    """The status of rs given its active pods and the error (if any) of this sync's creates/deletes;
    observedGeneration is added when it is written."""
    spec = rs.get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    fully_labeled = ready = available = 0
    for pod in pods:
        labels = u.labels_of(pod)
        if all(labels.get(k) == v for k, v in template_labels.items()):
            fully_labeled += 1
        if u.is_pod_ready(pod):
            ready += 1
            if u.is_pod_available(pod, min_ready, at):
                available += 1
    conditions = [dict(c) for c in (rs.get("status") or {}).get("conditions") or []]
    has_failure = any(c.get("type") == REPLICA_FAILURE for c in conditions)
    if error is not None and not has_failure:
        diff = len(pods) - u.replicas_of(rs)
        reason = "FailedCreate" if diff < 0 else ("FailedDelete" if diff > 0 else "")
        conditions.append(
            {
                "type": REPLICA_FAILURE,
                "status": "True",
                "lastTransitionTime": u.format_time(at),
                "reason": reason,
                "message": error.message,
            }
        )
    elif error is None and has_failure:
        conditions = [c for c in conditions if c.get("type") != REPLICA_FAILURE]
    new_status: Obj = {"replicas": len(pods)}
    for field, value in (
        ("fullyLabeledReplicas", fully_labeled),
        ("readyReplicas", ready),
        ("availableReplicas", available),
    ):
        if value:
            new_status[field] = value
    if conditions:
        new_status["conditions"] = conditions
    return new_status


async def slow_start_batch(
    count: int, initial: int, create: Callable[[], Awaitable[bool]]
) -> tuple[int, status.StatusError | None]:
    """Runs create count times in batches of 1, 2, 4, ... concurrent calls, stopping after the first
    batch with a failure (a quota or admission error would fail them all): (successes, first error)."""
    remaining, successes = count, 0
    batch = min(remaining, initial)
    while batch > 0:
        results = await asyncio.gather(*(create() for _ in range(batch)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        successes += sum(1 for r in results if r is True)
        for err in errors:
            if not isinstance(err, status.StatusError):
                raise err
        if errors:
            return successes, errors[0]
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None
