"""Kubeconfig files: the admin's (and later a node's) way to reach the API server with kubectl/client-go."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from distro.pki._files import PRIVATE, ensure_private_mode, read_optional, write_atomic


def server_url(host: str, port: int) -> str:
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def render_kubeconfig(
    server: str, ca_pem: bytes, cert_pem: bytes, key_pem: bytes, name: str = "default"
) -> dict[str, Any]:
    """The minimal document kubectl accepts. Credentials are embedded (`*-data`) rather than referenced by
    path so the file can be copied off the box as is; cluster, user and context share one NAME like k3s."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": name, "cluster": {"server": server, "certificate-authority-data": _b64(ca_pem)}}
        ],
        "users": [
            {
                "name": name,
                "user": {"client-certificate-data": _b64(cert_pem), "client-key-data": _b64(key_pem)},
            }
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "preferences": {},
    }


def write_kubeconfig(
    path: Path,
    server: str,
    ca_pem: bytes,
    cert_pem: bytes,
    key_pem: bytes,
    name: str = "default",
) -> bool:
    """Writes the kubeconfig 0600 (it holds a private key), atomically; returns False if it was already
    identical, so an unchanged restart does not touch the file other tools may be watching."""
    doc = render_kubeconfig(server, ca_pem, cert_pem, key_pem, name)
    data = yaml.safe_dump(doc, default_flow_style=False, sort_keys=False).encode()
    if read_optional(path) == data:
        ensure_private_mode(path)
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data, PRIVATE)
    return True
