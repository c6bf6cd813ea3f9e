"""Settings of the embedded controllers, from `edgek8s server` flags (or the config file)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ControllerConfig:
    # a node whose Lease is older than this is NotReady/Unknown and gets the unreachable taints
    node_monitor_grace_period: float = 50.0
    # edge autonomy: keep pods bound and not evicted while a node is offline (also per node, by annotation)
    node_autonomy: bool = False
    # the address and port the `kubernetes` Service's endpoints point at
    advertise_address: str = "127.0.0.1"
    advertise_port: int = 6443
