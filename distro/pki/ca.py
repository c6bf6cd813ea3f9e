"""The cluster certificate authority: the one root of trust every other credential hangs from.

The CA is created once and never renewed or replaced by the distribution itself: its hash is baked into
every join token already handed out, so a new CA would silently orphan every agent. Ten years outlives
most edge hardware; replacing it is a deliberate operator action.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VALIDITY = dt.timedelta(days=3650)
LEAF_VALIDITY = dt.timedelta(days=365)
# Like kubeadm: a peer whose clock lags ours by a few minutes must not reject a certificate we just made.
BACKDATE = dt.timedelta(minutes=5)

GeneralName = x509.DNSName | x509.IPAddress


class PKIError(Exception):
    """The on-disk PKI is in a state we refuse to repair automatically (it would break existing trust)."""


def utcnow(now: dt.datetime | None = None) -> dt.datetime:
    """Normalises the injectable clock; naive datetimes are refused because their meaning is a guess."""
    if now is None:
        return dt.datetime.now(dt.UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(dt.UTC)


def new_key() -> ec.EllipticCurvePrivateKey:
    """ECDSA P-256 everywhere: small keys and fast handshakes on edge CPUs, and every TLS stack we care
    about (Go's crypto/tls in kubectl and client-go, OpenSSL, browsers) accepts it."""
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    # PKCS#8 is the one private-key encoding every consumer (Go, OpenSSL, Python ssl) reads.
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def ca_hash(ca_pem: bytes) -> str:
    """The hash a K10 join token pins: sha256 over the CA file's exact bytes, as k3s does, so the agent can
    check what `/cacerts` served before it trusts anything, without parsing it first."""
    return hashlib.sha256(ca_pem).hexdigest()


@dataclass(frozen=True)
class CertificateAuthority:
    """The CA certificate, its key, and the exact PEM bytes the join token hash was computed over."""

    cert: x509.Certificate
    # We create EC CAs; an RSA one is accepted on load so an operator can bring their own.
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    pem: bytes

    @classmethod
    def create(cls, now: dt.datetime | None = None) -> CertificateAuthority:
        now = utcnow(now)
        key = new_key()
        # The timestamp in the CN makes a re-created CA distinguishable from the old one in every tool's
        # output, which is what an operator debugging "unknown authority" needs first.
        name = x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, f"edgek8s-server-ca@{int(now.timestamp())}")]
        )
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now - BACKDATE + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(cert=cert, key=key, pem=cert_pem(cert))

    @classmethod
    def load(cls, cert_bytes: bytes, key_bytes: bytes) -> CertificateAuthority:
        try:
            cert = x509.load_pem_x509_certificate(cert_bytes)
            key = serialization.load_pem_private_key(key_bytes, password=None)
        except ValueError as exc:
            raise PKIError(f"cluster CA is unreadable: {exc}") from exc
        if (
            not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
            or key.public_key() != cert.public_key()
        ):
            raise PKIError("cluster CA key does not belong to the CA certificate")
        return cls(cert=cert, key=key, pem=cert_bytes)

    @property
    def hash(self) -> str:
        return ca_hash(self.pem)

    def issued(self, cert: x509.Certificate) -> bool:
        """Whether CERT carries this CA's signature: a leaf from a replaced CA must be re-issued."""
        try:
            cert.verify_directly_issued_by(self.cert)
        except (ValueError, TypeError, InvalidSignature):
            return False
        return True

    def _authority_key_id(self) -> x509.AuthorityKeyIdentifier:
        # Copy the CA's own SKI rather than recomputing it: an operator-supplied CA may have used another
        # derivation, and chain builders match AKI to SKI byte for byte.
        try:
            ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        except x509.ExtensionNotFound:
            return x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key())
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)

    def sign(
        self,
        subject: x509.Name,
        public_key: CertificateIssuerPublicKeyTypes,
        usage: Literal["server", "client"],
        sans: Sequence[GeneralName] = (),
        now: dt.datetime | None = None,
        validity: dt.timedelta = LEAF_VALIDITY,
    ) -> x509.Certificate:
        """Issues a leaf for exactly one purpose, so a stolen client cert cannot impersonate the server
        and vice versa (TLS stacks check the extended key usage against the side of the connection)."""
        now = utcnow(now)
        not_before = now - BACKDATE
        # A leaf valid past its issuer is a lie the verifier will catch anyway; clamp it so the renewal
        # check sees the real end of life.
        not_after = min(not_before + validity, self.cert.not_valid_after_utc)
        if not_after <= now:
            raise PKIError("cluster CA has expired; it must be replaced by an operator")
        eku = ExtendedKeyUsageOID.SERVER_AUTH if usage == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    # RSA key exchange needs it; harmless for EC keys and needed if a CSR brings RSA.
                    key_encipherment=isinstance(public_key, rsa.RSAPublicKey),
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(self._authority_key_id(), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
        return builder.sign(self.key, hashes.SHA256())
