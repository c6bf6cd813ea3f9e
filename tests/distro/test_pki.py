"""Cluster PKI: files, certificate properties, reuse/renewal, tokens, kubeconfig, and real TLS."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import ipaddress
import os
import re
import socket
import ssl
import stat
import subprocess
import threading
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from distro.pki import (
    CertificateAuthority,
    ClusterPKI,
    JoinToken,
    PKIError,
    TokenError,
    ca_hash,
    identity_from_cert,
    issue_client_cert,
    parse_san,
    write_kubeconfig,
)
from distro.pki.ca import key_pem

HOST = "edge-gw-1"
BIND = "192.168.7.10"
EXTRA_SANS = ["Edge.Example.com", "10.0.0.99", "[fd00::5]"]
EXPECTED_SANS = {
    ("dns", "localhost"),
    ("dns", HOST),
    ("dns", "kubernetes"),
    ("dns", "kubernetes.default"),
    ("dns", "kubernetes.default.svc"),
    ("dns", "kubernetes.default.svc.cluster.local"),
    ("dns", "edge.example.com"),
    ("ip", "127.0.0.1"),
    ("ip", "::1"),
    ("ip", BIND),
    ("ip", "10.43.0.1"),
    ("ip", "10.0.0.99"),
    ("ip", "fd00::5"),
}


def start(data_dir: Path, tls_sans=EXTRA_SANS, now: dt.datetime | None = None, **kw) -> ClusterPKI:
    kw.setdefault("hostname", HOST)
    kw.setdefault("bind_address", BIND)
    return ClusterPKI.load_or_create(data_dir, tls_sans=tls_sans, now=now, **kw)


def snapshot(data_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(data_dir)): p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file()}


def sans_of(cert: x509.Certificate) -> list[tuple[str, str]]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [("ip", str(n.value)) if isinstance(n, x509.IPAddress) else ("dns", n.value) for n in ext]


def eku_of(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
    return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "server"


@pytest.fixture
def pki(data_dir: Path) -> ClusterPKI:
    return start(data_dir)


# --- generation ---------------------------------------------------------------------------------------


def test_first_start_creates_everything_with_private_modes(pki: ClusterPKI, data_dir: Path) -> None:
    p = pki.paths
    assert set(pki.changes) == {"ca", "token", "serving", "admin", "service-account"}
    assert p.tls_dir == data_dir / "tls"
    for key in (p.ca_key, p.serving_key, p.admin_key, p.service_account_key, p.token):
        assert mode(key) == 0o600, key
    for public in (p.ca_cert, p.serving_cert, p.admin_cert, p.service_account_pub):
        assert mode(public) == 0o644, public
    assert mode(p.tls_dir) == 0o700
    # Atomic writes leave no temp files behind.
    assert not [f for f in data_dir.rglob(".*") if f.is_file()]
    # Files on disk are what was loaded.
    assert p.ca_cert.read_bytes() == pki.ca_pem
    assert x509.load_pem_x509_certificate(p.serving_cert.read_bytes()) == pki.serving_cert


def test_ca_properties(pki: ClusterPKI) -> None:
    ca = pki.ca.cert
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    assert isinstance(ca.public_key().curve, ec.SECP256R1)
    assert ca.subject == ca.issuer
    cn = ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert re.fullmatch(r"edgek8s-server-ca@\d{10}", cn)
    lifetime = ca.not_valid_after_utc - ca.not_valid_before_utc
    assert abs(lifetime - dt.timedelta(days=3650)) <= dt.timedelta(days=1)
    bc = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca
    ku = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign and ku.value.digital_signature
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(ca.public_key())
    ca.verify_directly_issued_by(ca)


def test_serving_cert_chains_to_ca_and_has_exactly_the_expected_sans(pki: ClusterPKI) -> None:
    cert = pki.serving_cert
    cert.verify_directly_issued_by(pki.ca.cert)
    sans = sans_of(cert)
    assert len(sans) == len(set(sans))
    assert set(sans) == EXPECTED_SANS
    assert eku_of(cert) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert abs(lifetime - dt.timedelta(days=365)) <= dt.timedelta(days=1)
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ca_ski = pki.ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest


def test_serving_sans_default_hostname_and_wildcard_bind(tmp_path: Path) -> None:
    pki = ClusterPKI.load_or_create(tmp_path, bind_address="0.0.0.0", service_ip="10.96.0.1")
    sans = set(sans_of(pki.serving_cert))
    assert ("ip", "0.0.0.0") not in sans
    assert ("ip", "10.96.0.1") in sans and ("ip", "10.43.0.1") not in sans
    assert ("dns", socket.gethostname().lower().rstrip(".")) in sans


def test_admin_cert_identity(pki: ClusterPKI) -> None:
    cert = pki.admin_cert
    cert.verify_directly_issued_by(pki.ca.cert)
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == ["system:admin"]
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == [
        "system:masters"
    ]
    assert eku_of(cert) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert identity_from_cert(cert) == ("system:admin", ["system:masters"])


def test_service_account_key_is_es256_with_public_half(pki: ClusterPKI) -> None:
    key = serialization.load_pem_private_key(pki.paths.service_account_key.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1)
    pub = serialization.load_pem_public_key(pki.paths.service_account_pub.read_bytes())
    assert pub == key.public_key() == pki.service_account_key.public_key()
    assert pki.service_account_public_pem == pki.paths.service_account_pub.read_bytes()
    sig = key.sign(b"jwt", ec.ECDSA(hashes.SHA256()))
    pub.verify(sig, b"jwt", ec.ECDSA(hashes.SHA256()))


def test_bad_tls_san_fails_before_touching_disk(data_dir: Path) -> None:
    with pytest.raises(ValueError):
        start(data_dir, tls_sans=["not a name!"])
    assert not data_dir.exists()


def test_naive_now_is_refused(data_dir: Path) -> None:
    with pytest.raises(ValueError):
        start(data_dir, now=dt.datetime(2030, 1, 1))


# --- later starts -------------------------------------------------------------------------------------


def test_second_start_reuses_everything(pki: ClusterPKI, data_dir: Path) -> None:
    before = snapshot(data_dir)
    again = start(data_dir)
    assert again.changes == {}
    assert snapshot(data_dir) == before
    assert again.token == pki.token
    assert again.serving_cert == pki.serving_cert


def test_certs_renewed_within_90_days_but_ca_token_and_keys_kept(pki: ClusterPKI, data_dir: Path) -> None:
    before = snapshot(data_dir)
    not_yet = pki.serving_cert.not_valid_after_utc - dt.timedelta(days=100)
    assert start(data_dir, now=not_yet).changes == {}
    assert snapshot(data_dir) == before

    now = pki.serving_cert.not_valid_after_utc - dt.timedelta(days=80)
    renewed = start(data_dir, now=now)
    assert set(renewed.changes) == {"serving", "admin"}
    assert "renewal window" in renewed.changes["serving"]
    after = snapshot(data_dir)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"tls/serving-kube-apiserver.crt", "tls/client-admin.crt"}
    for cert in (renewed.serving_cert, renewed.admin_cert):
        cert.verify_directly_issued_by(pki.ca.cert)
        assert abs(cert.not_valid_after_utc - (now + dt.timedelta(days=365))) <= dt.timedelta(days=1)
    assert set(sans_of(renewed.serving_cert)) == EXPECTED_SANS
    assert renewed.admin_cert.subject == pki.admin_cert.subject
    # Renewed in place: the next start at the same time is a no-op again.
    assert start(data_dir, now=now).changes == {}


def test_new_tls_san_reissues_only_the_serving_cert(pki: ClusterPKI, data_dir: Path) -> None:
    before = snapshot(data_dir)
    again = start(data_dir, tls_sans=[*EXTRA_SANS, "gw.lan", "172.16.0.1"])
    assert set(again.changes) == {"serving"}
    assert "missing SANs" in again.changes["serving"]
    assert set(sans_of(again.serving_cert)) == EXPECTED_SANS | {("dns", "gw.lan"), ("ip", "172.16.0.1")}
    after = snapshot(data_dir)
    assert {n for n in before if before[n] != after[n]} == {"tls/serving-kube-apiserver.crt"}
    # Dropping a SAN is still covered by the existing cert: no churn.
    assert start(data_dir, tls_sans=[]).changes == {}
    # A renamed box is a new name clients may use: re-issued.
    assert set(start(data_dir, hostname="renamed-box").changes) == {"serving"}


def test_damaged_leaves_are_repaired(pki: ClusterPKI, data_dir: Path) -> None:
    p = pki.paths
    p.serving_cert.unlink()
    p.admin_cert.write_bytes(b"garbage")
    p.service_account_pub.unlink()
    again = start(data_dir)
    assert set(again.changes) == {"serving", "admin", "service-account"}
    assert again.serving_key.public_key() == pki.serving_key.public_key()  # key was fine: kept
    assert p.service_account_pub.read_bytes() == pki.service_account_public_pem

    # A leaf signed by some other CA (e.g. restored from another box) is replaced.
    foreign = CertificateAuthority.create()
    other = issue_client_cert(foreign, "system:admin", ["system:masters"])
    p.admin_cert.write_bytes(other.cert_pem)
    p.admin_key.write_bytes(other.key_pem)
    assert start(data_dir).changes == {"admin": "re-issued: not signed by the cluster CA"}

    # A key that does not match its certificate (crash between writes) is repaired.
    p.serving_key.unlink()
    fixed = start(data_dir)
    assert fixed.changes == {"serving": "re-issued: key does not match certificate"}
    assert fixed.serving_key.public_key() == fixed.serving_cert.public_key()


def test_loose_key_permissions_are_tightened(pki: ClusterPKI, data_dir: Path) -> None:
    os.chmod(pki.paths.ca_key, 0o644)
    os.chmod(pki.paths.token, 0o640)
    start(data_dir)
    assert mode(pki.paths.ca_key) == 0o600
    assert mode(pki.paths.token) == 0o600


def test_refuses_to_break_existing_trust(pki: ClusterPKI, data_dir: Path) -> None:
    p = pki.paths
    ca_cert, ca_key = p.ca_cert.read_bytes(), p.ca_key.read_bytes()

    p.ca_key.unlink()
    with pytest.raises(PKIError, match=r"server-ca\.key"):
        start(data_dir)
    p.ca_key.write_bytes(ca_key)

    p.ca_cert.unlink()
    with pytest.raises(PKIError, match="pins a CA"):
        start(data_dir)
    assert not p.ca_cert.exists()  # nothing was regenerated behind the operator's back

    other = CertificateAuthority.create()
    p.ca_cert.write_bytes(other.pem)
    with pytest.raises(PKIError):  # new cert, old key
        start(data_dir)
    p.ca_key.write_bytes(key_pem(other.key))
    with pytest.raises(PKIError, match="pins a different CA"):
        start(data_dir)

    p.ca_cert.write_bytes(ca_cert)
    p.ca_key.write_bytes(ca_key)
    p.token.write_text("garbage ::\n")
    with pytest.raises(PKIError, match="token"):
        start(data_dir)


def test_crash_before_ca_cert_written_starts_over(data_dir: Path) -> None:
    # Key written, cert not (crash between the two renames), no token yet: a fresh CA is fine.
    (data_dir / "tls").mkdir(parents=True)
    (data_dir / "tls" / "server-ca.key").write_bytes(b"half-finished")
    pki = start(data_dir)
    assert "ca" in pki.changes and pki.token.verify_ca(pki.ca_pem)


# --- tokens -------------------------------------------------------------------------------------------


def test_token_file_format_and_hash(pki: ClusterPKI) -> None:
    text = pki.paths.token.read_text()
    assert text.endswith("\n") and text.count("\n") == 1
    m = re.fullmatch(r"K10([0-9a-f]{64})::server:([0-9a-f]{32})\n", text)
    assert m, text
    assert m.group(1) == hashlib.sha256(pki.paths.ca_cert.read_bytes()).hexdigest() == ca_hash(pki.ca_pem)
    assert JoinToken.parse(text) == pki.token
    assert pki.token.verify_ca(pki.paths.ca_cert.read_bytes())
    assert not pki.token.verify_ca(CertificateAuthority.create().pem)
    assert not pki.token.verify_ca(pki.ca_pem + b"\n")  # byte-exact, as /cacerts must serve it


HASH = "ab" * 32


@pytest.mark.parametrize(
    ("text", "username", "password", "digest"),
    [
        (f"K10{HASH}::server:s3cret", "server", "s3cret", HASH),
        (f"K10{HASH.upper()}::node:pw", "node", "pw", HASH),
        (f"K10{HASH}::server:pass:with:colons", "server", "pass:with:colons", HASH),
        (f"  K10{HASH}::server:x\n", "server", "x", HASH),
        ("server:s3cret", "server", "s3cret", None),
        ("s3cret", None, "s3cret", None),
        ("0123456789abcdef", None, "0123456789abcdef", None),
    ],
)
def test_token_parse_forms(text: str, username: str | None, password: str, digest: str | None) -> None:
    token = JoinToken.parse(text)
    assert (token.username, token.password, token.ca_hash) == (username, password, digest)
    assert token.insecure == (digest is None)
    assert JoinToken.parse(token.format()) == token


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n",
        "K10::server:pw",
        f"K10{HASH[:-1]}::server:pw",
        f"K10{HASH}0::server:pw",
        f"K10{'zz' * 32}::server:pw",
        f"K10{HASH}::",
        f"K10{HASH}::pwonly",
        f"K10{HASH}::server:",
        f"K10{HASH}:::pw",
        f"K10{HASH}",
        f"{HASH}::server:pw",
        ":pw",
        "user:",
        "two words",
        "tab\there",
        "nul\x00byte",
    ],
)
def test_token_parse_rejects_garbage(text: str) -> None:
    with pytest.raises(TokenError):
        JoinToken.parse(text)


def test_insecure_token_cannot_verify_and_repr_hides_secret(pki: ClusterPKI) -> None:
    with pytest.raises(TokenError):
        JoinToken.parse("server:pw").verify_ca(pki.ca_pem)
    assert pki.token.password not in repr(pki.token)
    generated = JoinToken.generate(pki.ca_pem, username="node")
    assert generated.verify_ca(pki.ca_pem) and generated.username == "node"
    assert generated.password != JoinToken.generate(pki.ca_pem).password


# --- SANs, client certs, identities -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kind", "normalised"),
    [
        ("10.1.2.3", x509.IPAddress, "10.1.2.3"),
        ("fd00:0::1", x509.IPAddress, "fd00::1"),
        ("[::1]", x509.IPAddress, "::1"),
        ("Gateway.LAN.", x509.DNSName, "gateway.lan"),
        ("*.edge.example.com", x509.DNSName, "*.edge.example.com"),
        ("my_host", x509.DNSName, "my_host"),
    ],
)
def test_parse_san_detects_ip_or_dns(value: str, kind: type, normalised: str) -> None:
    san = parse_san(value)
    assert isinstance(san, kind)
    assert str(san.value) == normalised


@pytest.mark.parametrize("value", ["", "a b", "-lead.example", "bad..dots", "*", "ünïcode.de", "x" * 64])
def test_parse_san_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        parse_san(value)


def test_issue_client_cert_generating_a_key(pki: ClusterPKI) -> None:
    issued = issue_client_cert(pki.ca, "system:node:pi-4", ["system:nodes"])
    issued.cert.verify_directly_issued_by(pki.ca.cert)
    assert issued.key is not None and issued.key.public_key() == issued.cert.public_key()
    assert serialization.load_pem_private_key(issued.key_pem, None).public_key() == issued.key.public_key()
    assert identity_from_cert(issued.cert) == ("system:node:pi-4", ["system:nodes"])
    assert eku_of(issued.cert) == [ExtendedKeyUsageOID.CLIENT_AUTH]


def _csr(key, cn: str = "whatever-i-like", org: str = "system:masters") -> x509.CertificateSigningRequest:
    name = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org), x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    )
    return x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())


def test_issue_client_cert_from_csr_ignores_requested_subject(pki: ClusterPKI) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = _csr(key)
    for form in (
        csr,
        csr.public_bytes(serialization.Encoding.PEM),
        csr.public_bytes(serialization.Encoding.DER),
    ):
        issued = issue_client_cert(pki.ca, "system:node:pi-4", ["system:nodes"], csr=form)
        assert issued.key is None and issued.key_pem is None
        assert issued.cert.public_key() == key.public_key()
        assert identity_from_cert(issued.cert) == ("system:node:pi-4", ["system:nodes"])
        issued.cert.verify_directly_issued_by(pki.ca.cert)

    rsa_key = rsa.generate_private_key(65537, 2048)
    issued = issue_client_cert(pki.ca, "rsa-user", csr=_csr(rsa_key))
    assert issued.cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_encipherment


def test_issue_client_cert_rejects_forged_or_weak_csr(pki: ClusterPKI) -> None:
    der = bytearray(_csr(ec.generate_private_key(ec.SECP256R1())).public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01  # corrupt the signature
    with pytest.raises(ValueError, match="signature"):
        issue_client_cert(pki.ca, "x", csr=bytes(der))
    weak = rsa.generate_private_key(65537, 1024)
    with pytest.raises(ValueError, match="RSA >= 2048"):
        issue_client_cert(pki.ca, "x", csr=_csr(weak))
    with pytest.raises(ValueError):
        issue_client_cert(pki.ca, "")


def test_identity_from_cert_refuses_non_client_certs(pki: ClusterPKI) -> None:
    with pytest.raises(PKIError, match="client"):
        identity_from_cert(pki.serving_cert)
    key = ec.generate_private_key(ec.SECP256R1())
    no_cn = pki.ca.sign(
        x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "g")]), key.public_key(), "client"
    )
    with pytest.raises(PKIError, match="common name"):
        identity_from_cert(no_cn)
    many = issue_client_cert(pki.ca, "u", ["a", "b", "system:nodes"])
    assert identity_from_cert(many.cert) == ("u", ["a", "b", "system:nodes"])


# --- kubeconfig ---------------------------------------------------------------------------------------


def test_kubeconfig_shape_and_embedded_credentials(pki: ClusterPKI) -> None:
    path = pki.write_admin_kubeconfig(port=16443)
    assert path == pki.paths.data_dir / "kubeconfig.yaml"
    assert mode(path) == 0o600
    doc = yaml.safe_load(path.read_text())
    assert doc["apiVersion"] == "v1" and doc["kind"] == "Config"
    assert doc["current-context"] == "default"
    assert doc["contexts"] == [{"name": "default", "context": {"cluster": "default", "user": "default"}}]
    (cluster,) = doc["clusters"]
    assert cluster["name"] == "default" and cluster["cluster"]["server"] == "https://127.0.0.1:16443"
    (user,) = doc["users"]
    assert user["name"] == "default"

    ca = x509.load_pem_x509_certificate(base64.b64decode(cluster["cluster"]["certificate-authority-data"]))
    cert = x509.load_pem_x509_certificate(base64.b64decode(user["user"]["client-certificate-data"]))
    key = serialization.load_pem_private_key(base64.b64decode(user["user"]["client-key-data"]), None)
    assert ca == pki.ca.cert
    cert.verify_directly_issued_by(ca)
    assert key.public_key() == cert.public_key()
    assert identity_from_cert(cert) == ("system:admin", ["system:masters"])

    mtime = path.stat().st_mtime_ns
    pki.write_admin_kubeconfig(port=16443)
    assert path.stat().st_mtime_ns == mtime  # unchanged content is not rewritten


def test_write_kubeconfig_ipv6_server(tmp_path: Path, pki: ClusterPKI) -> None:
    path = tmp_path / "sub" / "kc.yaml"
    pki.write_admin_kubeconfig()
    assert write_kubeconfig(path, "https://[::1]:6443", pki.ca_pem, b"c", b"k", name="edge")
    doc = yaml.safe_load(path.read_text())
    assert doc["clusters"][0]["cluster"]["server"] == "https://[::1]:6443"
    assert doc["current-context"] == "edge"
    assert not write_kubeconfig(path, "https://[::1]:6443", pki.ca_pem, b"c", b"k", name="edge")
    assert "[::1]" in pki.write_admin_kubeconfig(host="::1").read_text()


# --- real tools ---------------------------------------------------------------------------------------


def test_openssl_verifies_the_chain(pki: ClusterPKI) -> None:
    p = pki.paths

    def verify(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["openssl", "verify", "-CAfile", str(p.ca_cert), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )

    for args in (
        [str(p.serving_cert)],
        ["-purpose", "sslserver", "-verify_hostname", "kubernetes.default.svc", str(p.serving_cert)],
        ["-purpose", "sslserver", "-verify_ip", BIND, str(p.serving_cert)],
        ["-purpose", "sslclient", str(p.admin_cert)],
    ):
        result = verify(*args)
        assert result.returncode == 0 and ": OK" in result.stdout, (args, result.stdout, result.stderr)
    assert verify("-purpose", "sslserver", str(p.admin_cert)).returncode != 0
    assert (
        verify("-purpose", "sslserver", "-verify_hostname", "evil.example", str(p.serving_cert)).returncode
        != 0
    )
    # And the key files are readable by OpenSSL as EC keys.
    out = subprocess.run(
        ["openssl", "pkey", "-in", str(p.serving_key), "-noout", "-text"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0 and "prime256v1" in out.stdout


class TLSServer:
    """An asyncio TLS server using the PKI's context; records the identity each accepted client had."""

    def __init__(self, ctx: ssl.SSLContext) -> None:
        self.ctx = ctx
        self.seen: list[tuple[str, list[str]]] = []
        self.port = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        user, groups = identity_from_cert(x509.load_der_x509_certificate(der))
        self.seen.append((user, groups))
        writer.write(f"hello {user} {','.join(groups)}\n".encode())
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def __aenter__(self) -> TLSServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.ctx)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()


def client_context(ca_file: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca_file))
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    return ctx


async def talk(port: int, ctx: ssl.SSLContext, server_hostname: str) -> str:
    """Returns the server's greeting; raises if the handshake (or, in TLS 1.3, the first read) fails."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=server_hostname), 10
    )
    try:
        line = await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ssl.SSLError, ConnectionError):
            pass
    if not line:
        raise ConnectionError("server closed the connection without a greeting")
    return line.decode().strip()


async def test_tls_handshake_with_admin_cert(pki: ClusterPKI) -> None:
    p = pki.paths
    admin = client_context(p.ca_cert, p.admin_cert, p.admin_key)
    async with TLSServer(pki.server_ssl_context(ssl.CERT_REQUIRED)) as server:
        for name in ("localhost", "127.0.0.1", "::1", "kubernetes.default.svc", HOST, "edge.example.com"):
            assert await talk(server.port, admin, name) == "hello system:admin system:masters"
        assert server.seen == [("system:admin", ["system:masters"])] * 6

        with pytest.raises(ssl.SSLCertVerificationError):
            await talk(server.port, admin, "evil.example.com")


def rejected_clients(
    pki: ClusterPKI, tmp_path: Path
) -> tuple[dict[str, tuple[ssl.SSLContext, str]], CertificateAuthority]:
    """Client contexts the server must refuse, each with the reason OpenSSL gives on the server side."""
    p = pki.paths
    foreign_ca = CertificateAuthority.create()
    forged = issue_client_cert(foreign_ca, "system:admin", ["system:masters"])
    (tmp_path / "forged.crt").write_bytes(forged.cert_pem)
    (tmp_path / "forged.key").write_bytes(forged.key_pem)
    attempts = {
        "foreign CA": (
            client_context(p.ca_cert, tmp_path / "forged.crt", tmp_path / "forged.key"),
            "unable to get local issuer certificate",
        ),
        # The serving cert chains to the right CA but is for serverAuth only.
        "server cert as client": (
            client_context(p.ca_cert, p.serving_cert, p.serving_key),
            "unsuitable certificate purpose",
        ),
        "no client cert": (client_context(p.ca_cert), "PEER_DID_NOT_RETURN_A_CERTIFICATE"),
    }
    return attempts, foreign_ca


async def test_tls_rejects_foreign_and_non_client_certs(pki: ClusterPKI, tmp_path: Path) -> None:
    p = pki.paths
    attempts, foreign_ca = rejected_clients(pki, tmp_path)
    async with TLSServer(pki.server_ssl_context(ssl.CERT_REQUIRED)) as server:
        for what, (ctx, _) in attempts.items():
            with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
                await talk(server.port, ctx, "localhost")
                pytest.fail(what)
        assert server.seen == []
        # The server still works for the legitimate client afterwards.
        admin = client_context(p.ca_cert, p.admin_cert, p.admin_key)
        assert await talk(server.port, admin, "localhost") == "hello system:admin system:masters"

    # And the client refuses a server whose certificate comes from another CA.
    (tmp_path / "foreign-ca.crt").write_bytes(foreign_ca.pem)
    wrong = client_context(tmp_path / "foreign-ca.crt", p.admin_cert, p.admin_key)
    async with TLSServer(pki.server_ssl_context(ssl.CERT_REQUIRED)) as server:
        with pytest.raises(ssl.SSLCertVerificationError):
            await talk(server.port, wrong, "localhost")


def test_ipaddress_sans_are_real_ip_entries(pki: ClusterPKI) -> None:
    ext = pki.serving_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = ext.get_values_for_type(x509.IPAddress)
    assert ipaddress.ip_address("10.43.0.1") in ips and ipaddress.ip_address("::1") in ips
    assert "10.43.0.1" not in ext.get_values_for_type(x509.DNSName)


def test_server_side_rejection_reasons(pki: ClusterPKI, tmp_path: Path) -> None:
    """The asyncio test proves rejection; this one (blocking sockets, so the server-side handshake error is
    observable) proves each rejection happens for the intended reason, not by accident."""
    attempts, _ = rejected_clients(pki, tmp_path)
    server_ctx = pki.server_ssl_context(ssl.CERT_REQUIRED)
    for what, (client_ctx, reason) in attempts.items():
        verdict: list[str] = []
        with socket.create_server(("127.0.0.1", 0)) as listener:
            listener.settimeout(10)

            def serve(listener: socket.socket = listener, verdict: list[str] = verdict) -> None:
                conn, _ = listener.accept()
                conn.settimeout(10)
                try:
                    with server_ctx.wrap_socket(conn, server_side=True):
                        verdict.append("accepted")
                except (ssl.SSLError, OSError) as exc:
                    verdict.append(str(exc))
                finally:
                    conn.close()

            thread = threading.Thread(target=serve)
            thread.start()
            with socket.create_connection(listener.getsockname(), timeout=10) as raw:
                try:
                    with client_ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                        tls.recv(1)
                except (ssl.SSLError, OSError):
                    pass
            thread.join(10)
        assert len(verdict) == 1 and reason in verdict[0], (what, verdict)
