"""The server's PKI on disk: create on first start, reuse and repair on every later one.

Layout (names follow k3s so operators find what they expect):

    <data-dir>/token                              join token, 0600, never rewritten
    <data-dir>/kubeconfig.yaml                    admin kubeconfig, 0600 (written on request)
    <data-dir>/tls/server-ca.crt|.key             cluster CA (10 years, never renewed here)
    <data-dir>/tls/serving-kube-apiserver.crt|.key  API server serving cert (1 year)
    <data-dir>/tls/client-admin.crt|.key          CN=system:admin, O=system:masters (1 year)
    <data-dir>/tls/service-account.key|.pub       ES256 (ECDSA P-256) service-account token signing key

Every start re-checks each leaf and re-issues it when it is missing, unreadable, not signed by the CA,
mismatched with its key, not yet valid, within RENEW_BEFORE of expiry, or (serving) missing a wanted SAN.
A renewal keeps the existing private key: then a renewal is a single atomic rename of the certificate
and a crash can never leave a cert paired with the wrong key. (When a key is missing the new key is
written first; a crash before the cert lands is seen as a mismatch next start and repaired.)
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from distro.pki._files import (
    PRIVATE,
    PUBLIC,
    ensure_private_mode,
    make_private_dir,
    read_optional,
    write_atomic,
)
from distro.pki.ca import CertificateAuthority, PKIError, cert_pem, key_pem, new_key, utcnow
from distro.pki.certs import cert_sans, client_subject, leaf_problem, san_key, serving_sans
from distro.pki.kubeconfig import server_url, write_kubeconfig
from distro.pki.tokens import JoinToken, TokenError

log = logging.getLogger(__name__)

ADMIN_USER = "system:admin"
ADMIN_GROUP = "system:masters"
SERVING_CN = "kube-apiserver"
DEFAULT_SERVICE_IP = "10.43.0.1"
# Warn (not act) this long before the CA expires: replacing it re-keys the whole cluster.
CA_WARN_BEFORE = dt.timedelta(days=365)


@dataclass(frozen=True)
class PKIPaths:
    data_dir: Path
    tls_dir: Path
    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    admin_cert: Path
    admin_key: Path
    service_account_key: Path
    service_account_pub: Path
    token: Path
    kubeconfig: Path

    @classmethod
    def under(cls, data_dir: Path | str) -> PKIPaths:
        data = Path(data_dir)
        tls = data / "tls"
        return cls(
            data_dir=data,
            tls_dir=tls,
            ca_cert=tls / "server-ca.crt",
            ca_key=tls / "server-ca.key",
            serving_cert=tls / "serving-kube-apiserver.crt",
            serving_key=tls / "serving-kube-apiserver.key",
            admin_cert=tls / "client-admin.crt",
            admin_key=tls / "client-admin.key",
            service_account_key=tls / "service-account.key",
            service_account_pub=tls / "service-account.pub",
            token=data / "token",
            kubeconfig=data / "kubeconfig.yaml",
        )


@dataclass(frozen=True)
class ClusterPKI:
    """Everything the server needs to speak TLS and hand out credentials, loaded and known to be current.

    `changes` maps what this start created or re-issued to why (empty on a plain restart), for the log
    and for tests.
    """

    paths: PKIPaths
    ca: CertificateAuthority
    serving_cert: x509.Certificate
    serving_key: ec.EllipticCurvePrivateKey
    admin_cert: x509.Certificate
    admin_key: ec.EllipticCurvePrivateKey
    service_account_key: ec.EllipticCurvePrivateKey
    token: JoinToken
    changes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load_or_create(
        cls,
        data_dir: Path | str,
        bind_address: str | None = "127.0.0.1",
        tls_sans: Iterable[str] = (),
        service_ip: str = DEFAULT_SERVICE_IP,
        now: dt.datetime | None = None,
        *,
        hostname: str | None = None,
    ) -> ClusterPKI:
        """Brings DATA_DIR's PKI up to date for this start and loads it.

        Raises PKIError only for states that cannot be repaired without breaking trust that already exists
        (a CA cert without its key, a token pinning a CA that is gone); ValueError for a bad SAN.
        """
        now = utcnow(now)
        # Validate operator input before anything touches the disk.
        sans = serving_sans(
            bind_address, tls_sans, service_ip, socket.gethostname() if hostname is None else hostname
        )
        paths = PKIPaths.under(data_dir)
        make_private_dir(paths.data_dir)
        make_private_dir(paths.tls_dir)
        changes: dict[str, str] = {}

        token = _read_token(paths.token)
        ca = _load_or_create_ca(paths, token, now, changes)
        if token is None:
            token = JoinToken.generate(ca.pem)
            write_atomic(paths.token, (token.format() + "\n").encode(), PRIVATE)
            changes["token"] = "created"
        elif token.ca_hash is not None and not token.verify_ca(ca.pem):
            raise PKIError(
                f"{paths.token} pins a different CA than {paths.ca_cert}; restore the original CA, "
                "or remove the token to start a new cluster (every agent will need the new token)"
            )

        serving_subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVING_CN)])
        wanted = {san_key(n) for n in sans}

        def serving_extra(cert: x509.Certificate) -> str | None:
            missing = wanted - cert_sans(cert)
            return f"missing SANs {sorted(v for _, v in missing)}" if missing else None

        serving_cert, serving_key = _ensure_leaf(
            ca,
            "serving",
            paths.serving_cert,
            paths.serving_key,
            lambda key: ca.sign(serving_subject, key.public_key(), "server", sans, now=now),
            serving_extra,
            now,
            changes,
        )

        admin_subject = client_subject(ADMIN_USER, [ADMIN_GROUP])

        def admin_extra(cert: x509.Certificate) -> str | None:
            return None if cert.subject == admin_subject else "unexpected subject"

        admin_cert, admin_key = _ensure_leaf(
            ca,
            "admin",
            paths.admin_cert,
            paths.admin_key,
            lambda key: ca.sign(admin_subject, key.public_key(), "client", now=now),
            admin_extra,
            now,
            changes,
        )
        sa_key = _ensure_service_account_key(paths, changes)

        for path in (
            paths.ca_key,
            paths.serving_key,
            paths.admin_key,
            paths.service_account_key,
            paths.token,
        ):
            ensure_private_mode(path)
        if ca.cert.not_valid_after_utc - now <= CA_WARN_BEFORE:
            log.warning(
                "cluster CA expires soon; replace it deliberately",
                extra={"not_after": ca.cert.not_valid_after_utc.isoformat()},
            )
        for what, why in changes.items():
            log.info("pki %s: %s", what, why, extra={"component": what, "reason": why})
        return cls(
            paths=paths,
            ca=ca,
            serving_cert=serving_cert,
            serving_key=serving_key,
            admin_cert=admin_cert,
            admin_key=admin_key,
            service_account_key=sa_key,
            token=token,
            changes=changes,
        )

    @property
    def ca_pem(self) -> bytes:
        """The exact bytes to serve at `/cacerts`: the token hash is over these, byte for byte."""
        return self.ca.pem

    @property
    def service_account_public_pem(self) -> bytes:
        return self.service_account_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def write_admin_kubeconfig(self, port: int = 6443, host: str = "127.0.0.1") -> Path:
        write_kubeconfig(
            self.paths.kubeconfig,
            server_url(host, port),
            self.ca.pem,
            cert_pem(self.admin_cert),
            key_pem(self.admin_key),
        )
        return self.paths.kubeconfig

    def server_ssl_context(self, client_auth: ssl.VerifyMode = ssl.CERT_OPTIONAL) -> ssl.SSLContext:
        """TLS for the API server. Client certs are optional by default because bearer-token clients
        (service accounts, joining agents) must be able to connect too; a presented cert must chain to
        the CA and carry clientAuth, which OpenSSL enforces on the server side."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.paths.serving_cert, self.paths.serving_key)
        ctx.load_verify_locations(cadata=self.ca.pem.decode("ascii"))
        ctx.verify_mode = client_auth
        return ctx


def _read_token(path: Path) -> JoinToken | None:
    raw = read_optional(path)
    if raw is None:
        return None
    try:
        return JoinToken.parse(raw.decode("utf-8"))
    except (TokenError, UnicodeDecodeError) as exc:
        raise PKIError(
            f"{path}: unreadable join token ({exc}); it is never regenerated automatically"
        ) from exc


def _load_or_create_ca(
    paths: PKIPaths, token: JoinToken | None, now: dt.datetime, changes: dict[str, str]
) -> CertificateAuthority:
    cert_bytes = read_optional(paths.ca_cert)
    key_bytes = read_optional(paths.ca_key)
    if cert_bytes is not None:
        if key_bytes is None:
            raise PKIError(f"{paths.ca_key} is missing; without it no certificate can be issued or renewed")
        return CertificateAuthority.load(cert_bytes, key_bytes)
    if token is not None and token.ca_hash is not None:
        # A new CA would silently orphan every agent holding this token.
        raise PKIError(
            f"{paths.ca_cert} is missing but {paths.token} pins a CA; restore the CA, "
            "or remove the token to start a new cluster"
        )
    ca = CertificateAuthority.create(now)
    # Key first: a crash between the two renames leaves no cert, which the next start treats as "no CA".
    write_atomic(paths.ca_key, key_pem(ca.key), PRIVATE)
    write_atomic(paths.ca_cert, ca.pem, PUBLIC)
    changes["ca"] = "created"
    return ca


def _ensure_leaf(
    ca: CertificateAuthority,
    what: str,
    cert_path: Path,
    key_path: Path,
    issue: Callable[[ec.EllipticCurvePrivateKey], x509.Certificate],
    extra_problem: Callable[[x509.Certificate], str | None],
    now: dt.datetime,
    changes: dict[str, str],
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert_bytes = read_optional(cert_path)
    key = _load_ec_key(read_optional(key_path))
    cert = _load_cert(cert_bytes)
    if cert is None:
        if cert_bytes is not None:
            reason = "re-issued: unreadable certificate"
        else:
            reason = "created" if key is None else "re-issued: certificate missing"
    else:
        problem = leaf_problem(ca, cert, key, now) or extra_problem(cert)
        if problem is None and key is not None:
            return cert, key
        reason = f"re-issued: {problem}"
    if key is None:
        key = new_key()
        write_atomic(key_path, key_pem(key), PRIVATE)
    cert = issue(key)
    write_atomic(cert_path, cert_pem(cert), PUBLIC)
    changes[what] = reason
    return cert, key


def _load_cert(cert_bytes: bytes | None) -> x509.Certificate | None:
    if cert_bytes is None:
        return None
    try:
        return x509.load_pem_x509_certificate(cert_bytes)
    except ValueError:
        return None


def _load_ec_key(key_bytes: bytes | None) -> ec.EllipticCurvePrivateKey | None:
    """The existing key if we can keep using it; anything else means "make a new one"."""
    if key_bytes is None:
        return None
    try:
        key = serialization.load_pem_private_key(key_bytes, password=None)
    except (ValueError, TypeError):
        return None
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    return None


def _ensure_service_account_key(paths: PKIPaths, changes: dict[str, str]) -> ec.EllipticCurvePrivateKey:
    """ES256 signing key for service-account JWTs. It is never rotated here: every issued token is signed
    with it, so a new key would invalidate all of them at once."""
    key_bytes = read_optional(paths.service_account_key)
    if key_bytes is None:
        key = new_key()
        write_atomic(paths.service_account_key, key_pem(key), PRIVATE)
        changes["service-account"] = "created"
    else:
        try:
            loaded = serialization.load_pem_private_key(key_bytes, password=None)
        except (ValueError, TypeError) as exc:
            raise PKIError(f"{paths.service_account_key}: unreadable ({exc})") from exc
        if not isinstance(loaded, ec.EllipticCurvePrivateKey) or not isinstance(loaded.curve, ec.SECP256R1):
            raise PKIError(f"{paths.service_account_key}: not an ECDSA P-256 (ES256) key")
        key = loaded
    pub = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # The public half is derived data: rewrite it whenever it is missing or stale.
    if read_optional(paths.service_account_pub) != pub:
        write_atomic(paths.service_account_pub, pub, PUBLIC)
        changes.setdefault("service-account", "public key rewritten")
    return key
