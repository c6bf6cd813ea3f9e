"""The default scheduler (kube-scheduler's semantics, one queue): binds pods that name
`default-scheduler` and have no node yet, via pods/binding.

Each decision is made synchronously against the cache (distro.controllers.scheduling), which counts
the pods the informer shows on each node plus the pods this scheduler has *assumed* onto a node while
their binding is in flight; so decisions never race each other for the same capacity even though up
to BIND_CONCURRENCY writes are in flight. A pod that fits nowhere gets PodScheduled=False/Unschedulable
with kube-scheduler 1.32's message and a FailedScheduling event; it is tried again when a node is added
or changes, when a pod leaves a node it could not fit on, and otherwise with backoff.

Left out on purpose: preemption (when evicting lower-priority pods would make room, upstream evicts
them; this scheduler only omits the `preemption:` part of the message, as upstream does then), inter-pod
(anti-)affinity, topologySpreadConstraints other than the default spreading, volume filters, priority
ordering of the queue (it is FIFO)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from distro.apiserver import status
from distro.controllers.base import Controller
from distro.controllers.client import STRATEGIC_PATCH, Client, key_of, resource
from distro.controllers.config import ControllerConfig
from distro.controllers.events import EventRecorder
from distro.controllers.informer import InformerFactory, Obj
from distro.controllers.scheduling.algorithm import Decision, pending_pod, schedule
from distro.controllers.scheduling.cache import Cache, PodInfo, SpreadKey, pod_info

log = logging.getLogger(__name__)

SCHEDULER_NAME = "default-scheduler"
# bindings and status writes in flight at once; decisions wait for a free slot
BIND_CONCURRENCY = 16
# upstream's pod backoff (podInitialBackoffSeconds / podMaxBackoffSeconds): the earliest retry after
# a failure when the cluster changed
BACKOFF_INITIAL = 1.0
BACKOFF_MAX = 10.0
# retry without any cluster change, doubling from BACKOFF_INITIAL (upstream waits up to 5 minutes)
RETRY_MAX = 60.0
# a failed binding (API error) is retried sooner, doubling from this
BIND_RETRY = 0.01
# a write for the same pod still in flight: look again after this
BUSY_RETRY = 0.05
MESSAGE_LIMIT = 1024  # validation.NoteLengthLimit, what upstream truncates event messages to
_TERMINAL_PHASES = ("Succeeded", "Failed")
_SERVICES_BY_NAMESPACE = "scheduler:namespace"


@dataclass(slots=True)
class _Unschedulable:
    uid: str
    attempts: int = 0
    last: float = 0.0
    waits_for_room: bool = False
    woken: bool = False

    def backoff(self) -> float:
        return min(BACKOFF_INITIAL * 2 ** max(self.attempts - 1, 0), BACKOFF_MAX)

    def retry_after(self) -> float:
        return min(BACKOFF_INITIAL * 2 ** max(self.attempts - 1, 0), RETRY_MAX)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _scheduling_relevant(old: Obj, new: Obj) -> bool:
    """An update that may change where (or whether) the pod fits: spec or labels, not status."""
    return old.get("spec") != new.get("spec") or (old.get("metadata") or {}).get("labels") != (
        new.get("metadata") or {}
    ).get("labels")


def _accounting_changed(old: Obj, new: Obj) -> bool:
    """An update that changes what an assigned pod takes or how it is counted."""
    old_meta, new_meta = old.get("metadata") or {}, new.get("metadata") or {}
    return (
        _scheduling_relevant(old, new)
        or bool(old_meta.get("deletionTimestamp")) != bool(new_meta.get("deletionTimestamp"))
        or old_meta.get("ownerReferences") != new_meta.get("ownerReferences")
    )


def _ref(pod: Obj) -> Obj:
    """The pod as the event recorder needs it (informer items may lack kind/apiVersion)."""
    return {"kind": "Pod", "apiVersion": "v1", "metadata": pod.get("metadata") or {}}


def _truncate(message: str) -> str:
    if len(message) <= MESSAGE_LIMIT:
        return message
    return message[: MESSAGE_LIMIT - 4] + " ..."


class Scheduler(Controller):
    name = "scheduler"
    component = SCHEDULER_NAME
    workers = 1  # decisions are synchronous; the writes run concurrently

    def __init__(
        self, client: Client, informers: InformerFactory, recorder: EventRecorder, config: ControllerConfig
    ) -> None:
        super().__init__(client, informers, recorder, config)
        self._pods_rd = resource("", "pods")
        self.pods = informers.informer(self._pods_rd)
        self.nodes = informers.informer(resource("", "nodes"))
        self.services = informers.informer(resource("", "services"))
        self.services.add_index(
            _SERVICES_BY_NAMESPACE, lambda svc: [(svc.get("metadata") or {}).get("namespace") or ""]
        )
        self.cache = Cache()
        self._unschedulable: dict[str, _Unschedulable] = {}
        self._bind_failures: dict[str, int] = {}
        self._reporting: set[str] = set()
        self._writes: set[asyncio.Task] = set()
        self._slots = asyncio.Semaphore(BIND_CONCURRENCY)
        self._rng = random.Random()
        self.nodes.add_handler(self._node_changed)
        self.pods.add_handler(self._pod_changed)

    async def run(self) -> None:
        try:
            await super().run()
        finally:
            self.queue.shutdown()
            for task in list(self._writes):
                task.cancel()

    # -- informer handlers (must not block) --

    def _node_changed(self, old: Obj | None, new: Obj | None) -> None:
        if new is None:
            if old is not None:
                self.cache.remove_node(old["metadata"]["name"])
            return
        if self.cache.set_node(new):
            self._wake(room_only=False)

    def _pod_changed(self, old: Obj | None, new: Obj | None) -> None:
        if new is None:
            if old is not None:
                self._pod_gone(old)
            return
        meta, spec = new.get("metadata") or {}, new.get("spec") or {}
        key, uid = key_of(new), str(meta.get("uid") or "")
        if spec.get("nodeName"):
            self._unschedulable.pop(key, None)
            if (new.get("status") or {}).get("phase") in _TERMINAL_PHASES:
                if self.cache.remove_pod(uid) is not None:
                    self._wake(room_only=True)
            elif (
                old is None
                or not self.cache.has_pod(uid)
                or self.cache.is_assumed(uid)
                or _accounting_changed(old, new)
            ):
                self.cache.add_pod(pod_info(new))
            return
        if not self._responsible(new):
            self._unschedulable.pop(key, None)
            return
        waiting = self._unschedulable.get(key)
        if waiting is None or waiting.uid != uid or old is None or _scheduling_relevant(old, new):
            self.enqueue(key)

    def _pod_gone(self, pod: Obj) -> None:
        key, uid = key_of(pod), str((pod.get("metadata") or {}).get("uid") or "")
        waiting = self._unschedulable.get(key)
        if waiting is not None and waiting.uid == uid:
            del self._unschedulable[key]
        if self.cache.remove_pod(uid) is not None:
            self._wake(room_only=True)

    def _wake(self, room_only: bool) -> None:
        """Requeues unschedulable pods after a cluster change, each no sooner than its backoff allows.
        A departing pod only frees room, so it wakes only pods some node lacked room for."""
        if not self._unschedulable:
            return
        now = asyncio.get_running_loop().time()
        for key, waiting in self._unschedulable.items():
            if waiting.woken or (room_only and not waiting.waits_for_room):
                continue
            waiting.woken = True
            self.queue.add_after(key, max(waiting.last + waiting.backoff() - now, 0.001))

    @staticmethod
    def _responsible(pod: Obj) -> bool:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        return (
            (spec.get("schedulerName") or SCHEDULER_NAME) == SCHEDULER_NAME
            and not spec.get("nodeName")
            and not meta.get("deletionTimestamp")
            and not spec.get("schedulingGates")
            and (pod.get("status") or {}).get("phase") not in _TERMINAL_PHASES
        )

    # -- scheduling --

    async def sync(self, key: str) -> None:
        if key in self._reporting:
            # the last failure's status write must land before a binding can follow it
            self.queue.add_after(key, BUSY_RETRY)
            return
        await self._slots.acquire()
        handed_off = False
        try:
            pod = self.pods.get_key(key)
            if pod is None or not self._responsible(pod):
                return
            uid = str(pod["metadata"].get("uid") or "")
            if self.cache.has_pod(uid):
                return  # assumed: its binding is in flight or already done
            pending = pending_pod(pod)
            spread = self._spread_key(pending.info)
            decision = schedule(pending, self.cache.nodes(), spread, self.cache.spread_counts, self._rng)
            if decision.node is not None:
                self._unschedulable.pop(key, None)
                pending.info.node = decision.node
                self.cache.assume(pending.info)
                self._spawn(self._bind(pod, pending.info))
            else:
                self._note_unschedulable(key, uid, decision)
                self._reporting.add(key)
                self._spawn(self._report_unschedulable(pod, decision.message))
            handed_off = True
        finally:
            if not handed_off:
                self._slots.release()

    def _spread_key(self, pod: PodInfo) -> SpreadKey | None:
        """The workload whose pods the default spreading keeps apart: the controlling ReplicaSet/
        ReplicationController/StatefulSet and the services selecting the pod (helper.DefaultSelector)."""
        selector: dict[str, str] = {}
        for svc in self.services.by_index(_SERVICES_BY_NAMESPACE, pod.namespace):
            wanted = (svc.get("spec") or {}).get("selector")
            if wanted and all(pod.labels.get(k) == v for k, v in wanted.items()):
                selector.update(wanted)
        if not pod.owner and not selector:
            return None
        return (pod.namespace, pod.owner, frozenset(selector.items()))

    def _note_unschedulable(self, key: str, uid: str, decision: Decision) -> None:
        waiting = self._unschedulable.get(key)
        if waiting is None or waiting.uid != uid:
            waiting = self._unschedulable[key] = _Unschedulable(uid)
        waiting.attempts += 1
        waiting.last = asyncio.get_running_loop().time()
        waiting.waits_for_room = decision.waits_for_room
        waiting.woken = False
        self.queue.add_after(key, waiting.retry_after())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    # -- writes (each holds one slot, released when done) --

    async def _bind(self, pod: Obj, info: PodInfo) -> None:
        meta = pod["metadata"]
        namespace, name, key = meta.get("namespace") or "", meta["name"], key_of(pod)
        try:
            await self.client.bind(namespace, name, info.node, info.uid)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # the pod was deleted, recreated or bound elsewhere, or the write failed: decide again
            self.cache.forget(info.uid)
            failures = self._bind_failures.get(key, 0)
            self._bind_failures[key] = failures + 1
            level = logging.DEBUG if isinstance(exc, status.StatusError) else logging.WARNING
            log.log(level, "binding failed", extra={"pod": key, "node": info.node, "error": str(exc)})
            self.queue.add_after(key, min(BIND_RETRY * 2**failures, BACKOFF_MAX))
            return
        finally:
            self._slots.release()
        self._bind_failures.pop(key, None)
        self.recorder.event(
            _ref(pod), "Normal", "Scheduled", f"Successfully assigned {namespace}/{name} to {info.node}"
        )

    async def _report_unschedulable(self, pod: Obj, message: str) -> None:
        key = key_of(pod)
        try:
            self.recorder.event(_ref(pod), "Warning", "FailedScheduling", _truncate(message))
            await self._set_unschedulable_condition(pod, message)
        except asyncio.CancelledError:
            raise
        except status.StatusError as exc:
            if exc.code != 404:
                log.info("pod status not updated", extra={"pod": key, "error": exc.message})
        except Exception:
            log.exception("pod status not updated", extra={"pod": key})
        finally:
            self._reporting.discard(key)
            self._slots.release()

    async def _set_unschedulable_condition(self, pod: Obj, message: str) -> None:
        current = next(
            (c for c in (pod.get("status") or {}).get("conditions") or () if c.get("type") == "PodScheduled"),
            None,
        )
        unchanged_status = current is not None and current.get("status") == "False"
        if unchanged_status and (current.get("reason"), current.get("message")) == ("Unschedulable", message):
            return
        condition = {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": message,
            "lastTransitionTime": current.get("lastTransitionTime") if unchanged_status else _now(),
        }
        meta = pod["metadata"]
        await self.client.patch(
            self._pods_rd,
            meta.get("namespace") or "",
            meta["name"],
            {"status": {"conditions": [condition]}},
            patch_type=STRATEGIC_PATCH,
            subresource="status",
        )
