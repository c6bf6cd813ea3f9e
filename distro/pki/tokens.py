"""Join tokens: `K10<sha256 of the CA PEM>::<user>:<password>`, the k3s shape.

The token authenticates in both directions. The hash lets a joining agent check the CA served by
`/cacerts` *before* it sends the password (so a man in the middle learns nothing); the password then
authenticates the agent to the server. Short forms (`<password>`, `<user>:<password>`) skip the first
half; they parse, but are flagged `insecure` so the caller can demand an explicit opt-in.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass

from distro.pki.ca import ca_hash

PREFIX = "K10"
SERVER_USER = "server"

_HASH = re.compile(r"^[0-9a-fA-F]{64}$")
_NO_SPACE = re.compile(r"^[^\s\x00-\x1f\x7f]+$")


class TokenError(ValueError):
    """A token that cannot be used; the message never echoes the secret part."""


@dataclass(frozen=True)
class JoinToken:
    password: str
    username: str | None = None
    ca_hash: str | None = None

    @property
    def insecure(self) -> bool:
        """True when the token cannot authenticate the server (no CA hash): TOFU on `/cacerts`."""
        return self.ca_hash is None

    @classmethod
    def generate(cls, ca_pem: bytes, username: str = SERVER_USER) -> JoinToken:
        # 128 bits from the OS CSPRNG: unguessable online and offline.
        return cls(password=secrets.token_hex(16), username=username, ca_hash=ca_hash(ca_pem))

    @classmethod
    def parse(cls, text: str) -> JoinToken:
        token = text.strip()
        if not token:
            raise TokenError("token is empty")
        if not _NO_SPACE.match(token):
            raise TokenError("token contains whitespace or control characters")
        if token.startswith(PREFIX) and "::" in token:
            digest, creds = token[len(PREFIX) :].split("::", 1)
            if not _HASH.match(digest):
                raise TokenError("token CA hash is not a sha256 hex digest")
            username, password = _split_creds(creds, need_user=True)
            return cls(password=password, username=username, ca_hash=digest.lower())
        if "::" in token:
            raise TokenError("token has '::' but no K10<hash> prefix")
        if token.startswith(PREFIX):
            # Almost certainly a full token cut short; accepting it as a password would just fail later
            # with a far less helpful message.
            raise TokenError("token starts with K10 but has no '::' (truncated?)")
        username, password = _split_creds(token, need_user=False)
        return cls(password=password, username=username, ca_hash=None)

    def format(self) -> str:
        creds = self.password if self.username is None else f"{self.username}:{self.password}"
        return creds if self.ca_hash is None else f"{PREFIX}{self.ca_hash}::{creds}"

    def __str__(self) -> str:
        return self.format()

    def __repr__(self) -> str:
        # Keep the password out of logs and tracebacks.
        return f"JoinToken(username={self.username!r}, ca_hash={self.ca_hash!r}, password=<redacted>)"

    def verify_ca(self, ca_pem: bytes) -> bool:
        """Whether CA_PEM (the exact bytes `/cacerts` served) is the CA this token pins.

        Raises for an insecure token instead of returning True or False: there is nothing to verify, and
        the caller must decide explicitly whether to proceed without it.
        """
        if self.ca_hash is None:
            raise TokenError("token has no CA hash; the server's CA cannot be verified")
        return hmac.compare_digest(ca_hash(ca_pem), self.ca_hash)


def _split_creds(creds: str, need_user: bool) -> tuple[str | None, str]:
    if ":" not in creds:
        if need_user:
            raise TokenError("token credentials must be <user>:<password>")
        return None, creds
    username, password = creds.split(":", 1)
    if not username or not password:
        raise TokenError("token user and password must both be non-empty")
    return username, password
