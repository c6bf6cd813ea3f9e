"""Ownership and bookkeeping shared by workload controllers.

`claim` is upstream's ControllerRefManager: an owner keeps what it controls and its selector matches,
adopts matching orphans (patching a controller reference in) and releases what it controls but no longer
matches. `Expectations` is upstream's UIDTrackingControllerExpectations: the creates and deletes a
controller made but its informer has not shown yet, so a sync on a stale cache does not act twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from distro.apiserver import status
from distro.apiserver.registry import ResourceDef
from distro.apiserver.selectors import LabelSelector
from distro.controllers.apps_util import (
    Obj,
    controller_ref,
    is_being_deleted,
    labels_of,
    meta,
    uid_of,
)
from distro.controllers.client import STRATEGIC_PATCH, Client

log = logging.getLogger(__name__)

# after this long, expectations that never came true stop blocking syncs (a lost event must not wedge)
EXPECTATIONS_TIMEOUT = 300.0


@dataclass
class _Pending:
    adds: int = 0
    deletes: set[str] = field(default_factory=set)
    since: float = 0.0


class Expectations:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._pending: dict[str, _Pending] = {}

    def satisfied(self, key: str) -> bool:
        """True when the informer has shown everything key's controller did (or waiting timed out)."""
        pending = self._pending.get(key)
        if pending is None:
            return True
        if pending.adds <= 0 and not pending.deletes:
            return True
        return self._clock() - pending.since > EXPECTATIONS_TIMEOUT

    def expect_creations(self, key: str, count: int) -> None:
        self._pending[key] = _Pending(adds=count, since=self._clock())

    def creation_observed(self, key: str) -> None:
        pending = self._pending.get(key)
        if pending is not None:
            pending.adds -= 1

    def expect_deletions(self, key: str, pod_keys: Iterable[str]) -> None:
        self._pending[key] = _Pending(deletes=set(pod_keys), since=self._clock())

    def deletion_observed(self, key: str, pod_key: str) -> None:
        """Idempotent per pod: a pod is seen terminating and later seen gone, and counts once."""
        pending = self._pending.get(key)
        if pending is not None:
            pending.deletes.discard(pod_key)

    def forget(self, key: str) -> None:
        self._pending.pop(key, None)


def _owner_ref_patch(ref: Obj, obj: Obj) -> Obj:
    # metadata.uid pins the patch to the object the decision was made about, as upstream's does
    return {"metadata": {"ownerReferences": [ref], "uid": uid_of(obj)}}


def _release_patch(owner_uid: str, obj: Obj) -> Obj:
    return {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": owner_uid}], "uid": uid_of(obj)}}


async def claim(
    client: Client,
    rd: ResourceDef,
    owner: Obj,
    owner_ref: Obj,
    selector: LabelSelector,
    candidates: Iterable[Obj],
    can_adopt: Callable[[], Awaitable[bool]],
) -> list[Obj]:
    """The candidates owner controls after adopting matching orphans and releasing non-matching ones.
    can_adopt is consulted (once) before the first adoption: it rechecks the owner against the server,
    so an owner deleted a moment ago does not adopt from a stale cache."""
    owner_uid = uid_of(owner)
    owner_ns = meta(owner).get("namespace") or ""
    claimed: list[Obj] = []
    adopt_ok: bool | None = None
    for obj in candidates:
        ref = controller_ref(obj)
        matches = selector.matches(labels_of(obj))
        if ref is not None:
            if ref.get("uid") != owner_uid:
                continue
            if matches:
                claimed.append(obj)
            elif not is_being_deleted(owner):
                await _patch_ignoring_gone(client, rd, obj, _release_patch(owner_uid, obj))
            continue
        if is_being_deleted(owner) or not matches or is_being_deleted(obj):
            continue
        if owner_ns and meta(obj).get("namespace") != owner_ns:
            continue
        if adopt_ok is None:
            adopt_ok = await can_adopt()
        if not adopt_ok:
            continue
        adopted = await _patch_ignoring_gone(client, rd, obj, _owner_ref_patch(owner_ref, obj))
        if adopted is not None:
            claimed.append(adopted)
    return claimed


async def _patch_ignoring_gone(client: Client, rd: ResourceDef, obj: Obj, body: Obj) -> Obj | None:
    m = meta(obj)
    try:
        return await client.patch(rd, m.get("namespace") or "", m["name"], body, patch_type=STRATEGIC_PATCH)
    except status.StatusError as exc:
        if exc.reason == "NotFound":
            return None
        raise


def recheck_owner(client: Client, rd: ResourceDef, owner: Obj) -> Callable[[], Awaitable[bool]]:
    """A can_adopt for claim: the owner, read fresh, is still the same object and not being deleted."""

    async def check() -> bool:
        m = meta(owner)
        try:
            fresh = await client.get(rd, m.get("namespace") or "", m["name"])
        except status.StatusError as exc:
            if exc.reason == "NotFound":
                return False
            raise
        if uid_of(fresh) != uid_of(owner):
            return False
        return not is_being_deleted(fresh)

    return check
