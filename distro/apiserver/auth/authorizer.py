"""What is being asked, how the authorizers combine, and upstream's 403 for a refusal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from distro.apiserver.auth.user import SYSTEM_MASTERS, UserInfo, quote
from distro.apiserver.status import StatusError

if TYPE_CHECKING:
    from distro.apiserver.auth.node import NodeAuthorizer
    from distro.apiserver.auth.rbac import RBACAuthorizer

_ESCAPABLE = "\\,="
_OPERATORS = ("!=", "==", "=")


@dataclass(frozen=True)
class Attributes:
    """One request as the authorizers see it (upstream's authorizer.Attributes).

    `field_selector` is the raw `fieldSelector` query parameter of a list/watch. As upstream's RequestInfo
    does, a list/watch without a name that pins `metadata.name=<x>` is treated as naming `<x>`, so
    "watch my own Node" can be authorized like "get my own Node".
    """

    user: UserInfo
    verb: str
    namespace: str = ""
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    resource_request: bool = True
    path: str = ""
    field_selector: str = ""

    def __post_init__(self) -> None:
        if self.resource_request and not self.name and self.verb in ("list", "watch"):
            pinned = self.field_requirement("metadata.name")
            if pinned and _valid_path_segment(pinned):
                object.__setattr__(self, "name", pinned)

    def field_requirement(self, field: str) -> str | None:
        """The value an `=`/`==` term of the field selector requires FIELD to have, if there is one."""
        for key, op, value in _parse_field_selector(self.field_selector):
            if key == field and op in ("=", "=="):
                return value
        return None


def authorize(attrs: Attributes, node: NodeAuthorizer | None, rbac: RBACAuthorizer) -> tuple[bool, str]:
    """kube-apiserver's chain: system:masters, then Node, then RBAC (`--authorization-mode=Node,RBAC`).

    Like upstream's union authorizer, a node request the Node authorizer refuses still goes to RBAC (an
    operator may have granted more), and the refusal's reason is what the 403 message ends with.
    """
    if SYSTEM_MASTERS in attrs.user.groups:
        return True, ""
    reasons: list[str] = []
    if node is not None:
        decision = node.authorize(attrs)
        if decision is not None:
            allowed, reason = decision
            if allowed:
                return True, reason
            if reason:
                reasons.append(reason)
    allowed, reason = rbac.authorize(attrs)
    if allowed:
        return True, reason
    if reason:
        reasons.append(reason)
    return False, "\n".join(reasons)


def forbidden_message(attrs: Attributes, reason: str = "") -> str:
    """Upstream's 403 message: `<resource>[.<group>] ["<name>"] is forbidden: User ... [: <reason>]`."""
    prefix = "forbidden"
    if attrs.resource_request and (attrs.resource or attrs.api_group):
        qualified = f"{attrs.resource}.{attrs.api_group}" if attrs.api_group else attrs.resource
        named = f"{qualified} {quote(attrs.name)}" if attrs.name else qualified
        prefix = f"{named} is forbidden"
    message = f"{prefix}: {_refusal(attrs)}"
    return f"{message}: {reason}" if reason else message


def forbidden_error(attrs: Attributes, reason: str = "") -> StatusError:
    """The whole 403 Status, with upstream's details (resource as `kind`, empty fields left out)."""
    details: dict[str, str] = {}
    if attrs.resource_request:
        details = {"name": attrs.name, "group": attrs.api_group, "kind": attrs.resource}
        details = {k: v for k, v in details.items() if v}
    return StatusError(403, "Forbidden", forbidden_message(attrs, reason), details)


def _refusal(attrs: Attributes) -> str:
    user = quote(attrs.user.name)
    if not attrs.resource_request:
        return f"User {user} cannot {attrs.verb} path {quote(attrs.path)}"
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    what = f"User {user} cannot {attrs.verb} resource {quote(resource)} in API group {quote(attrs.api_group)}"
    if attrs.namespace:
        return f"{what} in the namespace {quote(attrs.namespace)}"
    return f"{what} at the cluster scope"


def _parse_field_selector(selector: str) -> list[tuple[str, str, str]]:
    """(field, operator, value) terms; [] for a selector upstream would reject (the request fails
    validation later anyway, so it must not name anything here)."""
    terms: list[tuple[str, str, str]] = []
    for term in _split_unescaped(selector, ","):
        if not term:
            continue
        parsed = _split_term(term)
        if parsed is None:
            return []
        key, op, raw = parsed
        value = _unescape(raw)
        if value is None:
            return []
        terms.append((key, op, value))
    return terms


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts, current, escaped = [], [], False
    for ch in text:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in _OPERATORS:
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def _unescape(raw: str) -> str | None:
    out, escaped = [], False
    for ch in raw:
        if escaped:
            if ch not in _ESCAPABLE:
                return None
            out.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in ",=":
            # upstream rejects an unescaped separator inside a value
            return None
        else:
            out.append(ch)
    return None if escaped else "".join(out)


def _valid_path_segment(name: str) -> bool:
    return name not in (".", "..") and not any(c in name for c in "/%")
