"""Stable, unique, nft-valid names for per-service chains and sets.

A name is `<prefix>-<namespace>/<name>/<protocol>[/<port name>]`: `/` cannot occur in Kubernetes names, so
the readable form is already unique. Anything nft's identifier syntax would not accept, or a name longer
than MAX_NAME, is replaced by a truncated, sanitized form ending in a hash of the full identity.
"""

from __future__ import annotations

import hashlib
import re

from netproxy.model import Endpoint, ServicePortName

# nft identifiers: a letter first, then letters, digits and / - _ . (scanner.l's `string`).
_VALID = re.compile(r"[a-z][a-z0-9/_.-]*")
_INVALID_CHAR = re.compile(r"[^a-z0-9/_.-]")
MAX_NAME = 96  # well below the kernel's NFT_NAME_MAXLEN (256)
_HASH_LEN = 8


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_HASH_LEN]


def _bounded(prefix: str, ident: str) -> str:
    name = f"{prefix}-{ident}"
    if _VALID.fullmatch(name) and len(name) <= MAX_NAME:
        return name
    clean = _INVALID_CHAR.sub("_", ident.lower())
    room = MAX_NAME - len(prefix) - _HASH_LEN - 2
    return f"{prefix}-{clean[:room]}-{short_hash(ident)}"


def service_ident(key: ServicePortName) -> str:
    parts = [key.namespace, key.name, key.protocol.lower()]
    if key.port_name:
        parts.append(key.port_name)
    return "/".join(parts)


def service_chain(key: ServicePortName) -> str:
    """Chain for traffic from inside the cluster (reached through ClusterIPs)."""
    return _bounded("svc", service_ident(key))


def external_chain(key: ServicePortName) -> str:
    """Chain for traffic from outside (NodePorts, external IPs, load-balancer IPs)."""
    return _bounded("ext", service_ident(key))


def firewall_chain(key: ServicePortName) -> str:
    """Chain enforcing loadBalancerSourceRanges."""
    return _bounded("fw", service_ident(key))


def _endpoint_ident(key: ServicePortName, endpoint: Endpoint, timeout: int) -> str:
    # The hash covers the endpoint and the affinity timeout, so a changed timeout yields new names
    # (a set's definition cannot be changed in place).
    digest = short_hash(f"{service_ident(key)}|{endpoint.ip}|{endpoint.port}|{timeout}")
    return f"{digest}-{service_ident(key)}"


def endpoint_chain(key: ServicePortName, endpoint: Endpoint, timeout: int) -> str:
    """Per-endpoint chain, only for services with ClientIP session affinity."""
    return _bounded("ep", _endpoint_ident(key, endpoint, timeout))


def affinity_set(key: ServicePortName, endpoint: Endpoint, timeout: int) -> str:
    """Dynamic set of client addresses recently sent to this endpoint."""
    return _bounded("aff", _endpoint_ident(key, endpoint, timeout))
