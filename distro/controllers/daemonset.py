"""DaemonSets (upstream pkg/controller/daemon): one pod per eligible node.

A node is eligible when the template's nodeSelector and required node affinity match it and its NoSchedule
and NoExecute taints are tolerated (with the tolerations every daemon pod gets). Pods are created pinned
to their node by required node affinity on metadata.name, for the scheduler to bind, as upstream does.
Surplus pods (a second one on a node, pods on nodes no longer eligible or gone) are deleted; failed ones
are replaced. RollingUpdate replaces old-template pods node by node within maxUnavailable (or surges new
pods first with maxSurge); OnDelete waits for the user to delete them.

Upstream identifies a template by a ControllerRevision; we serve none, so the revision is a hash of the
template carried in the `controller-revision-hash` label, next to `pod-template-generation` from the
API server's deprecated.daemonset.template.generation annotation.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import json
import logging
import math
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from distro.apiserver import selectors, status
from distro.controllers.base import Controller
from distro.controllers.client import Client, key_of, resource
from distro.controllers.config import ControllerConfig
from distro.controllers.events import EventRecorder
from distro.controllers.informer import InformerFactory, Obj
from distro.controllers.nodelifecycle import (
    TAINT_DISK_PRESSURE,
    TAINT_MEMORY_PRESSURE,
    TAINT_NETWORK_UNAVAILABLE,
    TAINT_NOT_READY,
    TAINT_PID_PRESSURE,
    TAINT_UNREACHABLE,
    TAINT_UNSCHEDULABLE,
    tolerates,
)
from distro.controllers.scheduling import predicates

log = logging.getLogger(__name__)

REVISION_HASH_LABEL = "controller-revision-hash"
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"

_OWNER_INDEX = "daemonset:owner"
# upstream's expectations time out after 5 minutes; ours are in-process, so a lost one costs less
_EXPECTATIONS_TIMEOUT = 60.0
_FAILED_POD_BACKOFF = (1.0, 900.0)
_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_OMIT_WHEN_ZERO = ("numberAvailable", "numberUnavailable", "updatedNumberScheduled", "observedGeneration")


# -- pure rules --


def daemon_tolerations(spec: Obj) -> list[Obj]:
    """The template's tolerations plus those every daemon pod gets (upstream AddOrUpdateDaemonPodTolerations):
    daemons survive their node going NotReady/unreachable and run on cordoned or pressured nodes."""
    tolerations = copy.deepcopy(spec.get("tolerations") or [])
    extra = [(TAINT_NOT_READY, "NoExecute"), (TAINT_UNREACHABLE, "NoExecute")]
    extra += [(key, "NoSchedule") for key in (TAINT_DISK_PRESSURE, TAINT_MEMORY_PRESSURE, TAINT_PID_PRESSURE)]
    extra.append((TAINT_UNSCHEDULABLE, "NoSchedule"))
    if spec.get("hostNetwork"):
        extra.append((TAINT_NETWORK_UNAVAILABLE, "NoSchedule"))
    for key, effect in extra:
        wanted = {"key": key, "operator": "Exists", "effect": effect}
        same = [i for i, t in enumerate(tolerations) if _same_toleration(t, wanted)]
        if same:
            tolerations[same[0]] = wanted
        else:
            tolerations.append(wanted)
    return tolerations


def _same_toleration(a: Obj, b: Obj) -> bool:
    """v1.Toleration.MatchToleration: equal apart from tolerationSeconds."""
    return all((a.get(k) or "") == (b.get(k) or "") for k in ("key", "effect", "value")) and (
        a.get("operator") or "Equal"
    ) == (b.get("operator") or "Equal")


def node_matches(spec: Obj, node: Obj) -> bool:
    """The pod spec's nodeName, nodeSelector and required node affinity admit the node (the same
    predicates the scheduler uses, as upstream shares them)."""
    name = node["metadata"]["name"]
    if spec.get("nodeName") and spec["nodeName"] != name:
        return False
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    terms = predicates.required_terms(spec)
    return terms is None or any(predicates.term_matches(term, labels, name) for term in terms)


def should_run(ds: Obj, node: Obj) -> tuple[bool, bool]:
    """(should run a new daemon pod here, may keep an existing one) — upstream nodeShouldRunDaemonPod."""
    spec = ds["spec"]["template"].get("spec") or {}
    if not node_matches(spec, node):
        return False, False
    tolerations = daemon_tolerations(spec)
    untolerated = [
        t
        for t in (node.get("spec") or {}).get("taints") or []
        if t.get("effect") in ("NoSchedule", "NoExecute") and not tolerates(tolerations, t)
    ]
    if not untolerated:
        return True, True
    return False, not any(t.get("effect") == "NoExecute" for t in untolerated)


def template_hash(template: Obj) -> str:
    """A stable name for the template (upstream: the ControllerRevision hash, safe-encoded)."""
    digest = zlib.crc32(json.dumps(template, sort_keys=True, separators=(",", ":")).encode())
    return "".join(_SAFE_ALPHABET[ord(c) % len(_SAFE_ALPHABET)] for c in str(digest))


def _scaled(value: Any, total: int) -> int:
    """An int-or-percent against total, percentages rounded up (intstr.GetScaledValueFromIntOrPercent)."""
    if isinstance(value, str) and value.endswith("%"):
        try:
            return math.ceil(int(value[:-1]) * total / 100)
        except ValueError:
            return 0
    return value if isinstance(value, int) else 0


def _rolling_limits(ds: Obj, desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) for this many scheduled nodes; never both zero."""
    rolling = (ds["spec"].get("updateStrategy") or {}).get("rollingUpdate") or {}
    surge = _scaled(rolling.get("maxSurge", 0), desired)
    unavailable = _scaled(rolling.get("maxUnavailable", 1), desired)
    if desired > 0 and surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _surge_allowed(ds: Obj) -> bool:
    strategy = ds["spec"].get("updateStrategy") or {}
    if strategy.get("type") != "RollingUpdate":
        return False
    return _scaled((strategy.get("rollingUpdate") or {}).get("maxSurge", 0), 1) > 0


def _pod_condition(pod: Obj, type_: str) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == type_:
            return cond
    return None


def _ready(pod: Obj) -> bool:
    cond = _pod_condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def _parse_time(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _available(pod: Obj, min_ready_seconds: int, now: float) -> bool:
    if not _ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = _parse_time((_pod_condition(pod, "Ready") or {}).get("lastTransitionTime"))
    return since is not None and since + min_ready_seconds <= now


def _deleting(pod: Obj) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def _age_order(pod: Obj) -> tuple:
    """Scheduled before unscheduled, then oldest first (upstream podByCreationTimestampAndPhase)."""
    meta = pod["metadata"]
    return (not (pod.get("spec") or {}).get("nodeName"), meta.get("creationTimestamp", ""), meta["name"])


def target_node(pod: Obj) -> str:
    """The node a daemon pod is for: its nodeName, or the node its affinity pins it to before binding."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    for term in required.get("nodeSelectorTerms") or []:
        for expr in term.get("matchFields") or []:
            values = expr.get("values") or []
            if expr.get("key") == "metadata.name" and expr.get("operator") == "In" and len(values) == 1:
                return values[0]
    return ""


def _pinned_affinity(affinity: Obj | None, node_name: str) -> Obj:
    """Upstream ReplaceDaemonSetPodNodeNameNodeAffinity: the required node terms become 'this node'."""
    affinity = copy.deepcopy(affinity) or {}
    node_affinity = affinity.setdefault("nodeAffinity", {})
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {
        "nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}
        ]
    }
    return affinity


def _template_generation(ds: Obj) -> str | None:
    value = (ds["metadata"].get("annotations") or {}).get(TEMPLATE_GENERATION_ANNOTATION)
    return value if isinstance(value, str) and value.isdigit() else None


def _is_updated(pod: Obj, revision: str, generation: str | None) -> bool:
    labels = pod["metadata"].get("labels") or {}
    if labels.get(REVISION_HASH_LABEL) == revision:
        return True
    return generation is not None and labels.get(TEMPLATE_GENERATION_LABEL) == generation


def new_pod(ds: Obj, node_name: str, revision: str) -> Obj:
    """The daemon pod for node_name (upstream CreatePodTemplate + GetPodFromTemplate)."""
    template = copy.deepcopy(ds["spec"]["template"])
    tmeta, spec = template.get("metadata") or {}, template.get("spec") or {}
    labels = dict(tmeta.get("labels") or {})
    labels[REVISION_HASH_LABEL] = revision
    generation = _template_generation(ds)
    if generation is not None:
        labels[TEMPLATE_GENERATION_LABEL] = generation
    meta = ds["metadata"]
    metadata: Obj = {
        "generateName": f"{meta['name']}-",
        "labels": labels,
        "ownerReferences": [_controller_ref(ds)],
    }
    for key in ("annotations", "finalizers"):
        if tmeta.get(key):
            metadata[key] = tmeta[key]
    spec["affinity"] = _pinned_affinity(spec.get("affinity"), node_name)
    spec["tolerations"] = daemon_tolerations(spec)
    return {"metadata": metadata, "spec": spec}


def _controller_ref(ds: Obj) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "name": ds["metadata"]["name"],
        "uid": ds["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _controller_of(obj: Obj) -> Obj | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def _owner_uid(pod: Obj) -> list[str]:
    ref = _controller_of(pod)
    return [ref["uid"]] if ref and ref.get("kind") == "DaemonSet" and ref.get("uid") else []


# -- expectations: don't act on a cache that has not seen our own last writes yet --


@dataclass
class _Pending:
    creations: int = 0
    deletions: set[str] = field(default_factory=set)
    since: float = field(default_factory=time.monotonic)


class _Expectations:
    def __init__(self) -> None:
        self._pending: dict[str, _Pending] = {}

    def satisfied(self, key: str) -> bool:
        pending = self._pending.get(key)
        if pending is None:
            return True
        if pending.creations <= 0 and not pending.deletions:
            return True
        return time.monotonic() - pending.since > _EXPECTATIONS_TIMEOUT

    def expect(self, key: str, creations: int, deletions: set[str]) -> None:
        self._pending[key] = _Pending(creations, set(deletions))

    def created(self, key: str) -> None:
        pending = self._pending.get(key)
        if pending is not None:
            pending.creations -= 1

    def deleted(self, key: str, uid: str) -> None:
        pending = self._pending.get(key)
        if pending is not None:
            pending.deletions.discard(uid)

    def forget(self, key: str) -> None:
        self._pending.pop(key, None)


@dataclass
class _Plan:
    create_on: list[str] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)
    # deletions that cannot wait for a kubelet: the node is gone
    force_delete: list[Obj] = field(default_factory=list)


class DaemonSetController(Controller):
    name = "daemonset"
    component = "daemonset-controller"
    workers = 2

    def __init__(
        self, client: Client, informers: InformerFactory, recorder: EventRecorder, config: ControllerConfig
    ) -> None:
        super().__init__(client, informers, recorder, config)
        self._ds_rd = resource("apps", "daemonsets")
        self._pods_rd = resource("", "pods")
        self.daemonsets = informers.informer(self._ds_rd)
        self.pods = informers.informer(self._pods_rd)
        self.nodes = informers.informer(resource("", "nodes"))
        self.pods.add_index(_OWNER_INDEX, _owner_uid)
        self._expectations = _Expectations()
        # (daemonset key, node) -> (current delay, not before): replacing failed pods backs off
        self._failed_backoff: dict[tuple[str, str], tuple[float, float]] = {}
        self.daemonsets.add_handler(self._daemonset_changed)
        self.pods.add_handler(self._pod_changed)
        self.nodes.add_handler(self._node_changed)

    # -- informer handlers --

    def _daemonset_changed(self, old: Obj | None, new: Obj | None) -> None:
        ds = new or old
        assert ds is not None
        if new is None:
            self._expectations.forget(key_of(ds))
        self.enqueue(key_of(ds))

    def _owner_key(self, pod: Obj) -> str | None:
        ref = _controller_of(pod)
        if ref is None or ref.get("kind") != "DaemonSet":
            return None
        key = f"{pod['metadata'].get('namespace', '')}/{ref.get('name', '')}"
        ds = self.daemonsets.get_key(key)
        return key if ds is not None and ds["metadata"].get("uid") == ref.get("uid") else None

    def _pod_changed(self, old: Obj | None, new: Obj | None) -> None:
        owner = self._owner_key(new) if new is not None else None
        old_owner = self._owner_key(old) if old is not None else None
        if new is not None and owner is not None:
            if old is None:
                self._expectations.created(owner)
            if _deleting(new) and (old is None or not _deleting(old)):
                self._expectations.deleted(owner, new["metadata"]["uid"])
        if new is None and old_owner is not None:
            self._expectations.deleted(old_owner, old["metadata"]["uid"])
        for key in {owner, old_owner} - {None}:
            self.enqueue(key)
        if new is not None and _controller_of(new) is None:
            labels_changed = old is None or old["metadata"].get("labels") != new["metadata"].get("labels")
            if labels_changed:
                for ds in self._selecting(new):
                    self.enqueue(key_of(ds))

    def _selecting(self, pod: Obj) -> list[Obj]:
        """DaemonSets in the pod's namespace whose selector matches it (candidates to adopt it)."""
        found = []
        for ds in self.daemonsets.list(pod["metadata"].get("namespace", "")):
            try:
                selector = selectors.label_selector_from_dict(ds["spec"].get("selector"))
            except ValueError:
                continue
            if not selector.empty and selector.matches(pod["metadata"].get("labels")):
                found.append(ds)
        return found

    def _node_changed(self, old: Obj | None, new: Obj | None) -> None:
        if old is not None and new is not None and not _scheduling_relevant_change(old, new):
            return
        for ds in self.daemonsets.list():
            self.enqueue(key_of(ds))

    # -- sync --

    async def sync(self, key: str) -> None:
        ds = self.daemonsets.get_key(key)
        if ds is None:
            self._expectations.forget(key)
            return
        if ds["metadata"].get("deletionTimestamp"):
            return
        try:
            selector = selectors.label_selector_from_dict(ds["spec"].get("selector"))
        except ValueError as exc:
            self.recorder.event(ds, "Warning", "InvalidSelector", f"Invalid selector: {exc}")
            return
        if selector.empty:
            self.recorder.event(
                ds,
                "Warning",
                "SelectingAll",
                "This daemon set is selecting all pods. A non-empty selector is required.",
            )
            return
        revision = template_hash(ds["spec"]["template"])
        nodes = self.nodes.list()
        by_node = await self._claim_pods(ds, selector)
        if not self._expectations.satisfied(key):
            await self._update_status(ds, nodes, revision, observe=False)
            return
        plan = self._manage(ds, nodes, by_node, revision)
        plan.force_delete = [p for p in plan.force_delete if await self._node_is_gone(target_node(p))]
        acted = await self._execute(ds, plan, revision)
        strategy = (ds["spec"].get("updateStrategy") or {}).get("type")
        if not acted and strategy == "RollingUpdate":
            await self._execute(ds, self._rolling_update(ds, nodes, by_node, revision), revision)
        await self._update_status(ds, nodes, revision, observe=True)

    def _daemon_pods(self, ds: Obj) -> list[Obj]:
        return self.pods.by_index(_OWNER_INDEX, ds["metadata"]["uid"])

    async def _claim_pods(self, ds: Obj, selector: selectors.LabelSelector) -> dict[str, list[Obj]]:
        """The DaemonSet's pods by node, after adopting matching orphans and releasing owned pods that
        no longer match (upstream ClaimPods)."""
        namespace, uid = ds["metadata"]["namespace"], ds["metadata"]["uid"]
        claimed = []
        for pod in self._daemon_pods(ds):
            if selector.matches(pod["metadata"].get("labels")) or _deleting(pod):
                claimed.append(pod)
            else:
                await self._set_owner(pod, None, uid)
        orphans = [
            p
            for p in self.pods.list(namespace)
            if _controller_of(p) is None
            and not _deleting(p)
            and selector.matches(p["metadata"].get("labels"))
        ]
        if orphans and await self._can_adopt(ds):
            for pod in orphans:
                claimed.append(await self._set_owner(pod, _controller_ref(ds), uid))
        by_node: dict[str, list[Obj]] = {}
        for pod in claimed:
            by_node.setdefault(target_node(pod), []).append(pod)
        return by_node

    async def _can_adopt(self, ds: Obj) -> bool:
        """Adoption re-checks the live object: a DaemonSet being deleted or replaced must not adopt."""
        try:
            live = await self.client.get(self._ds_rd, ds["metadata"]["namespace"], ds["metadata"]["name"])
        except status.StatusError as exc:
            if exc.code == 404:
                return False
            raise
        return live["metadata"].get("uid") == ds["metadata"]["uid"] and not live["metadata"].get(
            "deletionTimestamp"
        )

    async def _set_owner(self, pod: Obj, ref: Obj | None, uid: str) -> Obj:
        changed = copy.deepcopy(pod)
        refs = [r for r in changed["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
        if ref is not None:
            refs.append(ref)
        changed["metadata"]["ownerReferences"] = refs
        return await self.client.update(self._pods_rd, changed)

    def _manage(self, ds: Obj, nodes: list[Obj], by_node: dict[str, list[Obj]], revision: str) -> _Plan:
        """Upstream manage + podsShouldBeOnNode: which nodes need a pod, which pods must go."""
        plan = _Plan()
        key, surge = key_of(ds), _surge_allowed(ds)
        known = set()
        for node in nodes:
            name = node["metadata"]["name"]
            known.add(name)
            run, keep = should_run(ds, node)
            pods = by_node.get(name, [])
            if run and not pods:
                plan.create_on.append(name)
            elif keep:
                running = self._drop_finished(ds, key, name, pods, plan)
                plan.delete += _surplus(running, revision, surge)
            elif pods:
                plan.delete += [p for p in pods if not _deleting(p)]
        for name, pods in by_node.items():
            if name in known or not name:  # no target node: upstream leaves such a pod alone too
                continue
            for pod in pods:
                if (pod.get("spec") or {}).get("nodeName"):
                    plan.force_delete.append(pod)
                elif not _deleting(pod):
                    plan.delete.append(pod)
        return plan

    async def _node_is_gone(self, name: str) -> bool:
        """Asks the server, not the cache: a node informer lagging behind the pod informer must not get a
        freshly bound pod force-deleted."""
        try:
            await self.client.get(resource("", "nodes"), "", name)
        except status.StatusError as exc:
            if exc.code == 404:
                return True
            raise
        return False

    def _drop_finished(self, ds: Obj, key: str, node: str, pods: list[Obj], plan: _Plan) -> list[Obj]:
        """Failed daemon pods are deleted (with backoff, to not fight a kubelet that keeps rejecting
        them), succeeded ones too; the running rest is returned."""
        running = []
        for pod in pods:
            if _deleting(pod):
                continue
            phase = (pod.get("status") or {}).get("phase")
            if phase == "Failed":
                wait = self._failed_wait(key, node)
                if wait > 0:
                    self.queue.add_after(key, wait)
                    continue
                meta = pod["metadata"]
                self.recorder.event(
                    ds,
                    "Warning",
                    "FailedDaemonPod",
                    f"Found failed daemon pod {meta['namespace']}/{meta['name']} on node {node}, "
                    "will try to kill it",
                )
                plan.delete.append(pod)
            elif phase == "Succeeded":
                plan.delete.append(pod)
            else:
                running.append(pod)
        return running

    def _failed_wait(self, key: str, node: str) -> float:
        """0 if a failed pod on the node may be deleted now (and the backoff grows), else seconds to wait."""
        now = time.monotonic()
        delay, not_before = self._failed_backoff.get((key, node), (0.0, 0.0))
        if now < not_before:
            return not_before - now
        first, cap = _FAILED_POD_BACKOFF
        delay = first if delay == 0 else min(delay * 2, cap)
        self._failed_backoff[(key, node)] = (delay, now + delay)
        return 0.0

    def _rolling_update(
        self, ds: Obj, nodes: list[Obj], by_node: dict[str, list[Obj]], revision: str
    ) -> _Plan:
        generation = _template_generation(ds)
        eligible = {n["metadata"]["name"]: n for n in nodes if should_run(ds, n)[0]}
        per_node = {**{name: [] for name in eligible}, **{n: p for n, p in by_node.items() if n}}
        surge, unavailable = _rolling_limits(ds, len(eligible))
        min_ready = int(ds["spec"].get("minReadySeconds") or 0)
        now = time.time()
        if surge == 0:
            return _replace_within_unavailability(per_node, revision, generation, unavailable, min_ready, now)
        return _surge_replacements(per_node, eligible, revision, generation, surge, min_ready, now)

    async def _execute(self, ds: Obj, plan: _Plan, revision: str) -> bool:
        """Creates and deletes what the plan says, recording expectations first. True if it wrote."""
        if not plan.create_on and not plan.delete and not plan.force_delete:
            return False
        key = key_of(ds)
        doomed = plan.delete + plan.force_delete
        self._expectations.expect(key, len(plan.create_on), {p["metadata"]["uid"] for p in doomed})
        errors: list[Exception] = []
        await self._create_pods(ds, plan.create_on, revision, errors)
        await asyncio.gather(
            *(self._delete_pod(ds, p, None, errors) for p in plan.delete),
            *(self._delete_pod(ds, p, 0, errors) for p in plan.force_delete),
        )
        if errors:
            raise errors[0]
        return True

    async def _create_pods(
        self, ds: Obj, node_names: list[str], revision: str, errors: list[Exception]
    ) -> None:
        """Upstream slowStartBatch: 1, 2, 4, ... at a time; a failing batch stops the rest, so a quota or
        an admission rejection costs one failed request, not one per node."""
        key, namespace = key_of(ds), ds["metadata"]["namespace"]
        batch, start = 1, 0
        while start < len(node_names):
            names = node_names[start : start + batch]
            results = await asyncio.gather(
                *(self.client.create(self._pods_rd, namespace, new_pod(ds, n, revision)) for n in names),
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, BaseException):
                    self._expectations.created(key)
                    self.recorder.event(ds, "Warning", "FailedCreate", f"Error creating: {_message(result)}")
                    errors.append(result if isinstance(result, Exception) else RuntimeError(str(result)))
                else:
                    self.recorder.event(
                        ds, "Normal", "SuccessfulCreate", f"Created pod: {result['metadata']['name']}"
                    )
            start += len(names)
            if errors:
                for _ in node_names[start:]:
                    self._expectations.created(key)
                return
            batch *= 2

    async def _delete_pod(self, ds: Obj, pod: Obj, grace: int | None, errors: list[Exception]) -> None:
        meta = pod["metadata"]
        try:
            await self.client.delete(
                self._pods_rd, meta["namespace"], meta["name"], uid=meta["uid"], grace_period=grace
            )
        except status.StatusError as exc:
            self._expectations.deleted(key_of(ds), meta["uid"])
            if exc.code == 409:  # the uid precondition: a different pod by that name; nothing of ours
                return
            self.recorder.event(ds, "Warning", "FailedDelete", f"Error deleting: {exc.message}")
            errors.append(exc)
            return
        self.recorder.event(ds, "Normal", "SuccessfulDelete", f"Deleted pod: {meta['name']}")

    # -- status --

    async def _update_status(self, ds: Obj, nodes: list[Obj], revision: str, observe: bool) -> None:
        now = time.time()
        counts = self._status_counts(ds, nodes, revision, now)
        current = ds.get("status") or {}
        wanted = {k: v for k, v in current.items() if k not in counts and k not in _OMIT_WHEN_ZERO}
        wanted.update(counts)
        generation = ds["metadata"].get("generation") if observe else current.get("observedGeneration")
        if generation:
            wanted["observedGeneration"] = generation
        for name in _OMIT_WHEN_ZERO:
            if not wanted.get(name):
                wanted.pop(name, None)
        min_ready = int(ds["spec"].get("minReadySeconds") or 0)
        if min_ready > 0 and counts["numberReady"] != counts.get("numberAvailable", 0):
            self.queue.add_after(key_of(ds), min_ready)
        if wanted == current:
            return
        # a patch, not an update: the status is ours alone, and a conflict on a resourceVersion our cache
        # has not caught up with yet would only make us write the same numbers again (as upstream does)
        patch = {"status": {**{k: None for k in current if k not in wanted}, **wanted}}
        meta = ds["metadata"]
        await self.client.patch(self._ds_rd, meta["namespace"], meta["name"], patch, subresource="status")

    def _status_counts(self, ds: Obj, nodes: list[Obj], revision: str, now: float) -> dict[str, int]:
        generation = _template_generation(ds)
        min_ready = int(ds["spec"].get("minReadySeconds") or 0)
        by_node: dict[str, list[Obj]] = {}
        for pod in self._daemon_pods(ds):
            by_node.setdefault(target_node(pod), []).append(pod)
        desired = current = misscheduled = ready = available = updated = 0
        for node in nodes:
            pods = by_node.get(node["metadata"]["name"])
            if not should_run(ds, node)[0]:
                misscheduled += bool(pods)
                continue
            desired += 1
            if not pods:
                continue
            current += 1
            pod = min(pods, key=_age_order)
            if _ready(pod):
                ready += 1
                available += _available(pod, min_ready, now)
            updated += _is_updated(pod, revision, generation)
        return {
            "currentNumberScheduled": current,
            "desiredNumberScheduled": desired,
            "numberMisscheduled": misscheduled,
            "numberReady": ready,
            "numberAvailable": available,
            "numberUnavailable": desired - available,
            "updatedNumberScheduled": updated,
        }


# -- rolling update plans (upstream rollingUpdate, without and with surge) --


def _split_by_revision(
    pods: list[Obj], revision: str, generation: str | None
) -> tuple[Obj | None, Obj | None, bool]:
    """(new pod, old pod, ok) on one node; not ok when there are two of either (the manage loop's job)."""
    new = old = None
    for pod in pods:
        if _deleting(pod):
            continue
        if _is_updated(pod, revision, generation):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


def _replace_within_unavailability(
    per_node: dict[str, list[Obj]],
    revision: str,
    generation: str | None,
    max_unavailable: int,
    min_ready: int,
    now: float,
) -> _Plan:
    """Delete just enough old pods to stay within maxUnavailable; the manage loop creates their successors.
    Unavailable old pods are replaced regardless (they are not serving anyway)."""
    unavailable = 0
    replace: list[Obj] = []
    candidates: list[Obj] = []
    for name in sorted(per_node):
        new, old, ok = _split_by_revision(per_node[name], revision, generation)
        if not ok or (new is None) == (old is None):
            unavailable += 1
        elif new is not None:
            unavailable += not _available(new, min_ready, now)
        elif old is not None and not _available(old, min_ready, now):
            replace.append(old)
            unavailable += 1
        elif old is not None:
            candidates.append(old)
    room = max(0, min(max_unavailable - unavailable, len(candidates)))
    return _Plan(delete=replace + candidates[:room])


def _surge_replacements(
    per_node: dict[str, list[Obj]],
    eligible: dict[str, Obj],
    revision: str,
    generation: str | None,
    max_surge: int,
    min_ready: int,
    now: float,
) -> _Plan:
    """Start a new pod next to an available old one on at most maxSurge nodes at a time; delete the old
    one once its successor is available."""
    plan = _Plan()
    surging = available = 0
    allowed: list[str] = []
    candidates: list[str] = []
    leaving: list[Obj] = []
    for name in sorted(per_node):
        new, old, ok = _split_by_revision(per_node[name], revision, generation)
        if not ok:
            surging += 1
            continue
        serving = old if old is not None else new
        if serving is not None and _available(serving, min_ready, now):
            available += 1
        if old is None:
            continue
        if new is None:
            if name not in eligible:
                if not _available(old, min_ready, now):
                    plan.delete.append(old)
                else:
                    leaving.append(old)
            elif not _available(old, min_ready, now):
                allowed.append(name)
            elif surging < max_surge:
                candidates.append(name)
        elif not _available(new, min_ready, now):
            surging += 1
        else:
            plan.delete.append(old)
    # pods on nodes the DaemonSet no longer selects go only once their replacements elsewhere serve
    plan.delete += leaving[: max(0, min(available - len(eligible), len(leaving)))]
    room = max(0, min(max_surge - surging, len(candidates)))
    plan.create_on = allowed + candidates[:room]
    return plan


def _surplus(running: list[Obj], revision: str, surge: bool) -> list[Obj]:
    """Of the running daemon pods on one node, those to delete. Without surge only the oldest stays.
    With surge an old and a new pod may coexist while the new one is not ready yet."""
    ordered = sorted(running, key=_age_order)
    if not surge:
        return ordered[1:]
    oldest_new = oldest_old = None
    doomed = []
    for pod in ordered:
        is_new = (pod["metadata"].get("labels") or {}).get(REVISION_HASH_LABEL) == revision
        if is_new and oldest_new is None:
            oldest_new = pod
        elif not is_new and oldest_old is None:
            oldest_old = pod
        else:
            doomed.append(pod)
    if oldest_new is not None and oldest_old is not None and (not _ready(oldest_old) or _ready(oldest_new)):
        doomed.append(oldest_old)
    return doomed


def _scheduling_relevant_change(old: Obj, new: Obj) -> bool:
    """Whether a node update can change where daemons run: labels, taints, spec, condition statuses
    (heartbeat timestamps alone cannot)."""
    if old["metadata"].get("labels") != new["metadata"].get("labels") or old.get("spec") != new.get("spec"):
        return True

    def statuses(node: Obj) -> dict[str, str]:
        return {c.get("type"): c.get("status") for c in (node.get("status") or {}).get("conditions") or []}

    return statuses(old) != statuses(new)


def _message(exc: BaseException) -> str:
    return exc.message if isinstance(exc, status.StatusError) else str(exc)
