"""Who is asking: the authenticated identity every authorizer decides on, and the well-known names."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

SYSTEM_MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
NODES_GROUP = "system:nodes"
NODE_USER_PREFIX = "system:node:"
SERVICE_ACCOUNT_USER_PREFIX = "system:serviceaccount:"
SERVICE_ACCOUNTS_GROUP = "system:serviceaccounts"


class AuthenticationError(Exception):
    """Credentials were presented and are not valid (the caller answers 401 Unauthorized).

    The message is for the server log only: upstream never tells the client why a credential failed.
    """


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    # Extra values are lists upstream; tuples keep the identity immutable. Not hashed: a Mapping isn't.
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)


ANONYMOUS = UserInfo("system:anonymous", (UNAUTHENTICATED,))


def service_account_username(namespace: str, name: str) -> str:
    return f"{SERVICE_ACCOUNT_USER_PREFIX}{namespace}:{name}"


def split_service_account_username(username: str) -> tuple[str, str] | None:
    """(namespace, name) for `system:serviceaccount:<ns>:<name>`, None for any other user."""
    if not username.startswith(SERVICE_ACCOUNT_USER_PREFIX):
        return None
    namespace, sep, name = username[len(SERVICE_ACCOUNT_USER_PREFIX) :].partition(":")
    if not sep or not namespace or not name or ":" in name:
        return None
    return namespace, name


def quote(text: str) -> str:
    """Go's %q for the strings that appear in upstream messages (names, verbs, paths)."""
    return json.dumps(text, ensure_ascii=False)
