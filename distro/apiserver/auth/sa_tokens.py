"""Service-account tokens: ES256 JWTs in the shape of upstream's bound tokens (TokenRequest).

Hand-rolled compact JWS over `cryptography`: one algorithm, one key, no header tricks accepted — a token
whose header asks for anything but ES256 is refused before its signature is looked at.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import time
import uuid
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from distro.apiserver.auth.user import (
    SERVICE_ACCOUNTS_GROUP,
    AuthenticationError,
    UserInfo,
    service_account_username,
)

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
# go-jose's default clock skew allowance, which upstream uses for exp, nbf and iat.
LEEWAY_SECONDS = 60
POD_NAME_KEY = "authentication.kubernetes.io/pod-name"
POD_UID_KEY = "authentication.kubernetes.io/pod-uid"
CREDENTIAL_ID_KEY = "authentication.kubernetes.io/credential-id"
_COORDINATE_BYTES = 32  # P-256


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """Upstream's `kid`: unpadded base64url of sha256 over the DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _b64encode(hashlib.sha256(der).digest())


def issue_token(
    private_key: ec.EllipticCurvePrivateKey,
    *,
    namespace: str,
    service_account: str,
    sa_uid: str,
    audiences: Sequence[str],
    expiration_seconds: int,
    now: float | None = None,
    issuer: str = DEFAULT_ISSUER,
    bound_pod: tuple[str, str] | None = None,
) -> str:
    """A signed token for NAMESPACE/SERVICE_ACCOUNT; BOUND_POD is (pod name, pod uid)."""
    _check_p256(private_key.curve)
    if expiration_seconds <= 0:
        raise ValueError("expiration_seconds must be positive")
    if not audiences:
        raise ValueError("a token needs at least one audience")
    issued = math.floor(time.time() if now is None else now)
    kubernetes: dict[str, Any] = {
        "namespace": namespace,
        "serviceaccount": {"name": service_account, "uid": sa_uid},
    }
    if bound_pod is not None:
        kubernetes["pod"] = {"name": bound_pod[0], "uid": bound_pod[1]}
    claims = {
        "aud": list(audiences),
        "exp": issued + expiration_seconds,
        "iat": issued,
        "iss": issuer,
        "jti": str(uuid.uuid4()),
        "kubernetes.io": kubernetes,
        "nbf": issued,
        "sub": service_account_username(namespace, service_account),
    }
    header = {"alg": "ES256", "kid": key_id(private_key.public_key())}
    signing_input = f"{_b64json(header)}.{_b64json(claims)}".encode("ascii")
    r, s = decode_dss_signature(private_key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    signature = r.to_bytes(_COORDINATE_BYTES, "big") + s.to_bytes(_COORDINATE_BYTES, "big")
    return f"{signing_input.decode('ascii')}.{_b64encode(signature)}"


def verify_token(
    public_key: ec.EllipticCurvePublicKey,
    token: str,
    *,
    now: float | None = None,
    audiences: Sequence[str] = (DEFAULT_ISSUER,),
    issuer: str = DEFAULT_ISSUER,
) -> UserInfo:
    """The service account TOKEN speaks for; AuthenticationError for anything not issued by us, tampered
    with, expired, not yet valid, or meant for other audiences."""
    _check_p256(public_key.curve)
    claims = _verified_claims(public_key, token)
    if claims.get("iss") != issuer:
        raise AuthenticationError("service account token has an unexpected issuer")
    _check_times(claims, time.time() if now is None else now)
    _check_audiences(claims.get("aud"), audiences)
    return _user(claims)


def _verified_claims(public_key: ec.EllipticCurvePublicKey, token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise AuthenticationError("not a compact JWS")
    header = _json_object(parts[0])
    if header.get("alg") != "ES256" or "crit" in header:
        raise AuthenticationError("unsupported JWS header")
    signature = _b64decode(parts[2])
    if len(signature) != 2 * _COORDINATE_BYTES:
        raise AuthenticationError("malformed ES256 signature")
    der = encode_dss_signature(
        int.from_bytes(signature[:_COORDINATE_BYTES], "big"),
        int.from_bytes(signature[_COORDINATE_BYTES:], "big"),
    )
    try:
        public_key.verify(der, f"{parts[0]}.{parts[1]}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, UnicodeEncodeError):
        raise AuthenticationError("service account token signature does not verify") from None
    return _json_object(parts[1])


def _check_times(claims: dict[str, Any], now: float) -> None:
    exp, nbf, iat = (claims.get(k) for k in ("exp", "nbf", "iat"))
    for value in (exp, nbf, iat):
        if value is not None and not _is_number(value):
            raise AuthenticationError("service account token has malformed time claims")
    if exp is None:
        raise AuthenticationError("service account token has no expiry")
    if nbf is not None and now + LEEWAY_SECONDS < nbf:
        raise AuthenticationError("service account token is not valid yet")
    if now - LEEWAY_SECONDS > exp:
        raise AuthenticationError("service account token has expired")
    if iat is not None and now + LEEWAY_SECONDS < iat:
        raise AuthenticationError("service account token is issued in the future")


def _check_audiences(claim: Any, wanted: Sequence[str]) -> None:
    token_audiences = [claim] if isinstance(claim, str) else claim
    if not isinstance(token_audiences, list) or not all(isinstance(a, str) for a in token_audiences):
        raise AuthenticationError("service account token has a malformed audience")
    if not set(token_audiences) & set(wanted):
        raise AuthenticationError(
            f"token audiences {_go_list(token_audiences)} is invalid for the target audiences "
            f"{_go_list(list(wanted))}"
        )


def _user(claims: dict[str, Any]) -> UserInfo:
    kubernetes = claims.get("kubernetes.io")
    if not isinstance(kubernetes, dict):
        raise AuthenticationError("service account token has no kubernetes.io claims")
    namespace = kubernetes.get("namespace")
    account = kubernetes.get("serviceaccount")
    if not isinstance(namespace, str) or not namespace or not isinstance(account, dict):
        raise AuthenticationError("service account token does not name a service account")
    name, uid = account.get("name"), account.get("uid") or ""
    if not isinstance(name, str) or not name or not isinstance(uid, str):
        raise AuthenticationError("service account token does not name a service account")
    username = service_account_username(namespace, name)
    if claims.get("sub") != username:
        raise AuthenticationError("service account token subject does not match its claims")
    extra: dict[str, tuple[str, ...]] = {}
    pod = kubernetes.get("pod")
    if isinstance(pod, dict) and pod.get("name") and pod.get("uid"):
        extra[POD_NAME_KEY] = (str(pod["name"]),)
        extra[POD_UID_KEY] = (str(pod["uid"]),)
    if isinstance(claims.get("jti"), str) and claims["jti"]:
        extra[CREDENTIAL_ID_KEY] = (f"JTI={claims['jti']}",)
    groups = (SERVICE_ACCOUNTS_GROUP, f"{SERVICE_ACCOUNTS_GROUP}:{namespace}")
    return UserInfo(username, groups, uid, extra)


def _check_p256(curve: ec.EllipticCurve) -> None:
    if not isinstance(curve, ec.SECP256R1):
        raise ValueError("service-account tokens are ES256: the key must be ECDSA P-256")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _go_list(items: list[str]) -> str:
    # Go's %q of a []string: ["a" "b"]
    return "[" + " ".join(json.dumps(i, ensure_ascii=False) for i in items) + "]"


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64json(obj: dict[str, Any]) -> str:
    return _b64encode(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode())


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise AuthenticationError("malformed base64url in token") from None


def _json_object(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64decode(segment))
    except (UnicodeDecodeError, ValueError):
        raise AuthenticationError("malformed JSON in token") from None
    if not isinstance(value, dict):
        raise AuthenticationError("malformed JSON in token")
    return value
