"""Leaf certificates: the API server's serving identity, client identities, and reading identities back."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from distro.pki.ca import (
    LEAF_VALIDITY,
    CertificateAuthority,
    GeneralName,
    PKIError,
    cert_pem,
    key_pem,
    new_key,
)

# Renewal happens only at start, so the window must be wide enough that a box restarted every few weeks or
# months still never serves an expired certificate.
RENEW_BEFORE = dt.timedelta(days=90)

# The names in-cluster clients use for the API server (the `kubernetes` Service in `default`).
IN_CLUSTER_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_ALLOWED_EC_CURVES = (ec.SECP256R1, ec.SECP384R1, ec.SECP521R1)


def parse_san(value: str) -> GeneralName:
    """Turns a `--tls-san` value into an IP or DNS SAN; an IP written as a DNS name would never match
    a client connecting by address, so the distinction matters."""
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return x509.IPAddress(ipaddress.ip_address(text))
    except ValueError:
        pass
    name = text.lower().rstrip(".")
    if not name.isascii():
        raise ValueError(f"SAN {value!r}: internationalised names must be given in their xn-- form")
    first, *rest = name.split(".")
    wildcard_ok = first == "*" and bool(rest)
    if (
        len(name) > 253
        or not all(_LABEL.match(label) for label in rest)
        or not (_LABEL.match(first) or wildcard_ok)
    ):
        raise ValueError(f"SAN {value!r} is neither an IP address nor a valid DNS name")
    return x509.DNSName(name)


def san_key(name: GeneralName) -> tuple[str, str]:
    """A comparable form, so that `::1` and `0:0::1`, or `Example.COM` and `example.com`, are one SAN."""
    if isinstance(name, x509.IPAddress):
        return ("ip", str(name.value))
    return ("dns", name.value.lower())


def serving_sans(
    bind_address: str | None,
    tls_sans: Iterable[str],
    service_ip: str,
    hostname: str | None,
) -> list[GeneralName]:
    """Every name a client may legitimately use to reach the API server, deduplicated, in a stable order."""
    candidates: list[GeneralName] = [x509.DNSName("localhost")]
    if hostname:
        try:
            candidates.append(parse_san(hostname))
        except ValueError:
            # The machine's name is not the operator's input; an odd one must not stop the server.
            pass
    candidates += [x509.DNSName(n) for n in IN_CLUSTER_NAMES]
    candidates += [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    if bind_address:
        bind = parse_san(bind_address)
        # 0.0.0.0 / :: mean "all interfaces"; no client ever connects to them, so they are not names.
        if not (isinstance(bind, x509.IPAddress) and bind.value.is_unspecified):
            candidates.append(bind)
    candidates.append(x509.IPAddress(ipaddress.ip_address(service_ip)))
    candidates += [parse_san(s) for s in tls_sans]
    seen: set[tuple[str, str]] = set()
    out: list[GeneralName] = []
    for name in candidates:
        key = san_key(name)
        if key not in seen:
            seen.add(key)
            out.append(name)
    return out


def cert_sans(cert: x509.Certificate) -> set[tuple[str, str]]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {san_key(n) for n in ext if isinstance(n, x509.DNSName | x509.IPAddress)}


def client_subject(common_name: str, organizations: Sequence[str] = ()) -> x509.Name:
    if not common_name:
        raise ValueError("a client certificate needs a common name: it is the user name")
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    return x509.Name([*attrs, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def leaf_problem(
    ca: CertificateAuthority,
    cert: x509.Certificate,
    key: object,
    now: dt.datetime,
    renew_before: dt.timedelta = RENEW_BEFORE,
) -> str | None:
    """Why an existing leaf must be re-issued, or None if it is good; the reason goes to the log."""
    if not ca.issued(cert):
        return "not signed by the cluster CA"
    if (
        not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
        or key.public_key() != cert.public_key()
    ):
        return "key does not match certificate"
    if now < cert.not_valid_before_utc:
        # The clock was wrong when it was made (common on boards without an RTC); peers would reject it.
        return "not yet valid"
    if cert.not_valid_after_utc - now <= renew_before:
        return "expires within the renewal window"
    return None


@dataclass(frozen=True)
class IssuedCert:
    """A freshly signed certificate; `key` is None when the holder kept its key (CSR flow)."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey | None

    @property
    def cert_pem(self) -> bytes:
        return cert_pem(self.cert)

    @property
    def key_pem(self) -> bytes | None:
        return None if self.key is None else key_pem(self.key)


def _check_public_key(public_key: object) -> CertificateIssuerPublicKeyTypes:
    # Refuse keys a peer could break or that Go's TLS refuses, rather than sign something useless.
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size >= 2048:
        return public_key
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, _ALLOWED_EC_CURVES):
        return public_key
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return public_key
    raise ValueError("CSR key must be RSA >= 2048 bits, ECDSA P-256/384/521 or Ed25519")


def issue_client_cert(
    ca: CertificateAuthority,
    common_name: str,
    organizations: Sequence[str] = (),
    *,
    csr: x509.CertificateSigningRequest | bytes | None = None,
    now: dt.datetime | None = None,
    validity: dt.timedelta = LEAF_VALIDITY,
) -> IssuedCert:
    """Signs a client certificate for COMMON_NAME / ORGANIZATIONS (user / groups).

    With a CSR the private key never leaves the requester; the CSR only proves possession of it. Its
    requested subject is ignored on purpose: the identity is decided by the caller after authenticating
    the requester (e.g. from the join token), never by what the requester asks for.
    """
    subject = client_subject(common_name, organizations)
    if csr is None:
        key = new_key()
        return IssuedCert(ca.sign(subject, key.public_key(), "client", now=now, validity=validity), key)
    if isinstance(csr, bytes):
        csr = (
            x509.load_pem_x509_csr(csr) if csr.lstrip().startswith(b"-----") else x509.load_der_x509_csr(csr)
        )
    if not csr.is_signature_valid:
        raise ValueError("CSR signature does not verify: the requester does not hold the key")
    public_key = _check_public_key(csr.public_key())
    return IssuedCert(ca.sign(subject, public_key, "client", now=now, validity=validity), None)


def identity_from_cert(cert: x509.Certificate) -> tuple[str, list[str]]:
    """(user, groups) for a peer certificate the TLS layer has already verified against the cluster CA.

    Same mapping as the upstream x509 authenticator: CN is the user, each O is a group. It does no chain
    or expiry checks itself — those belong to the handshake — and adds no implicit groups such as
    `system:authenticated`; that is the API server's job for every authenticator alike.
    """
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(cns) != 1 or not cns[0].value:
        raise PKIError("client certificate must have exactly one non-empty common name")
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        eku = None
    if (
        eku is not None
        and ExtendedKeyUsageOID.CLIENT_AUTH not in eku
        and ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE not in eku
    ):
        raise PKIError("certificate is not for client authentication")
    groups = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    return str(cns[0].value), groups
