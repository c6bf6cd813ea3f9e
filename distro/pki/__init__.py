"""Cluster PKI and credentials: CA, serving and client certificates, join tokens, kubeconfig.

Everything here is synchronous: it runs once at start (and on rare CSR requests), touches only small
local files, and must finish before the server listens.
"""

from distro.pki.ca import CertificateAuthority, PKIError, ca_hash
from distro.pki.certs import IssuedCert, identity_from_cert, issue_client_cert, parse_san
from distro.pki.cluster import ClusterPKI, PKIPaths
from distro.pki.kubeconfig import render_kubeconfig, write_kubeconfig
from distro.pki.tokens import JoinToken, TokenError

__all__ = [
    "CertificateAuthority",
    "ClusterPKI",
    "IssuedCert",
    "JoinToken",
    "PKIError",
    "PKIPaths",
    "TokenError",
    "ca_hash",
    "identity_from_cert",
    "issue_client_cert",
    "parse_san",
    "render_kubeconfig",
    "write_kubeconfig",
]
