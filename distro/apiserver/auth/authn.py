"""Authentication: who a request comes from, by client certificate or bearer token.

Tried in upstream's order — client certificate, then the bearer token against static tokens,
service-account JWTs and bootstrap tokens — and the first that succeeds wins. Each successful identity
gets `system:authenticated`, as upstream's authenticated-group adder gives it.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from distro.apiserver.auth.sa_tokens import DEFAULT_ISSUER, verify_token
from distro.apiserver.auth.user import (
    ANONYMOUS,
    AUTHENTICATED,
    UNAUTHENTICATED,
    AuthenticationError,
    UserInfo,
)
from distro.pki.ca import PKIError
from distro.pki.certs import identity_from_cert

LookupSecret = Callable[[str, str], Awaitable[dict | None]]

BOOTSTRAP_TOKEN_SECRET_TYPE = "bootstrap.kubernetes.io/token"
BOOTSTRAP_USER_PREFIX = "system:bootstrap:"
BOOTSTRAPPERS_GROUP = "system:bootstrappers"
_BOOTSTRAP_TOKEN = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
_BOOTSTRAP_GROUP = re.compile(r"^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$")


class Authenticator:
    def __init__(
        self,
        *,
        service_account_public_key: ec.EllipticCurvePublicKey,
        lookup_secret: LookupSecret | None = None,
        static_tokens: Mapping[str, UserInfo] = {},
        issuer: str = DEFAULT_ISSUER,
        api_audiences: Sequence[str] | None = None,
    ) -> None:
        self._sa_key = service_account_public_key
        self._lookup_secret = lookup_secret
        # Keyed by digest so a lookup's timing says nothing about how much of a token was right.
        self._static = {_digest(token): user for token, user in static_tokens.items()}
        self._issuer = issuer
        self._audiences = tuple(api_audiences) if api_audiences else (issuer,)

    async def authenticate(
        self, peer_cert_der: bytes | None, authorization_header: str | None, *, now: float | None = None
    ) -> UserInfo | None:
        """The requester's identity; None when no credentials were presented (the caller decides on
        anonymous access); AuthenticationError when credentials were presented and none is valid."""
        failures: list[str] = []
        if peer_cert_der is not None:
            try:
                return _with_authenticated_group(_cert_user(peer_cert_der))
            except AuthenticationError as exc:
                failures.append(str(exc))
        token = _bearer_token(authorization_header)
        if token is not None:
            try:
                return _with_authenticated_group(await self._token_user(token, now))
            except AuthenticationError as exc:
                failures.append(str(exc))
        if failures:
            raise AuthenticationError("; ".join(failures))
        return None

    async def _token_user(self, token: str, now: float | None) -> UserInfo:
        user = self._static.get(_digest(token))
        if user is not None:
            return user
        if token.count(".") == 2:
            return verify_token(self._sa_key, token, now=now, audiences=self._audiences, issuer=self._issuer)
        match = _BOOTSTRAP_TOKEN.match(token)
        if match is not None:
            return await self._bootstrap_user(match.group(1), match.group(2), now)
        raise AuthenticationError("invalid bearer token")

    async def _bootstrap_user(self, token_id: str, token_secret: str, now: float | None) -> UserInfo:
        if self._lookup_secret is None:
            raise AuthenticationError("bootstrap tokens are not accepted")
        name = f"bootstrap-token-{token_id}"
        secret = await self._lookup_secret("kube-system", name)
        if secret is None:
            raise AuthenticationError(f"no secret kube-system/{name} for bootstrap token")
        return _bootstrap_identity(secret, token_id, token_secret, _now(now))


def _cert_user(der: bytes) -> UserInfo:
    try:
        name, groups = identity_from_cert(x509.load_der_x509_certificate(der))
    except (PKIError, ValueError) as exc:
        raise AuthenticationError(f"client certificate: {exc}") from None
    return UserInfo(name, tuple(groups))


def _bearer_token(header: str | None) -> str | None:
    """The token of `Bearer <token>`, or None when the header carries no bearer token at all (another
    scheme, or an empty token: upstream treats both as "no credentials here")."""
    if header is None:
        return None
    parts = header.strip().split(" ", 2)
    if len(parts) < 2 or parts[0].lower() != "bearer" or not parts[1]:
        return None
    return parts[1]


def _bootstrap_identity(
    secret: dict[str, Any], token_id: str, token_secret: str, now: dt.datetime
) -> UserInfo:
    """Upstream's checks, in its order; any failure is just "invalid token" to the client."""
    where = f"kube-system/bootstrap-token-{token_id}"
    if (secret.get("metadata") or {}).get("deletionTimestamp"):
        raise AuthenticationError(f"bootstrap token secret {where} is being deleted")
    if secret.get("type") != BOOTSTRAP_TOKEN_SECRET_TYPE:
        raise AuthenticationError(f"secret {where} is not a bootstrap token")
    data = _secret_data(secret)
    if not hmac.compare_digest(data.get("token-secret", "").encode(), token_secret.encode()):
        raise AuthenticationError(f"bootstrap token {token_id} has the wrong secret")
    if data.get("token-id") != token_id:
        raise AuthenticationError(f"secret {where} holds a different token id")
    if _expired(data.get("expiration", ""), now):
        raise AuthenticationError(f"bootstrap token {token_id} has expired")
    if data.get("usage-bootstrap-authentication") != "true":
        raise AuthenticationError(f"bootstrap token {token_id} is not for authentication")
    groups = {BOOTSTRAPPERS_GROUP}
    extra = data.get("auth-extra-groups", "")
    for group in extra.split(",") if extra else ():
        if not _BOOTSTRAP_GROUP.match(group):
            raise AuthenticationError(f"bootstrap token {token_id} has invalid extra group {group!r}")
        groups.add(group)
    return UserInfo(BOOTSTRAP_USER_PREFIX + token_id, tuple(sorted(groups)))


def _secret_data(secret: dict[str, Any]) -> dict[str, str]:
    """A stored Secret's data, decoded; values that are not base64 UTF-8 are treated as absent."""
    decoded: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            decoded[key] = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, ValueError, TypeError):
            continue
    return decoded


def _expired(expiration: str, now: dt.datetime) -> bool:
    if not expiration:
        return False
    try:
        when = dt.datetime.fromisoformat(expiration.replace("Z", "+00:00"))
    except ValueError:
        return True  # upstream treats an unparseable expiration as expired
    if when.tzinfo is None:
        return True  # RFC 3339 requires an offset
    return when <= now


def _with_authenticated_group(user: UserInfo) -> UserInfo:
    if user.name == ANONYMOUS.name or AUTHENTICATED in user.groups or UNAUTHENTICATED in user.groups:
        return user
    return UserInfo(user.name, (*user.groups, AUTHENTICATED), user.uid, user.extra)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _now(now: float | None) -> dt.datetime:
    return dt.datetime.now(dt.UTC) if now is None else dt.datetime.fromtimestamp(now, dt.UTC)
