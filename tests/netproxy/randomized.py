"""Seeded random models and mutations for differential tests of the incremental sync."""

from __future__ import annotations

import dataclasses
import random

from netproxy.model import Endpoint, ServicePort, ServicePortName

Model = tuple[dict[ServicePortName, ServicePort], dict[ServicePortName, list[Endpoint]]]


def random_endpoint(rng: random.Random, v6: bool = False) -> Endpoint:
    ip = f"fd00:42::{rng.randrange(1, 60):x}" if v6 else f"10.42.{rng.randrange(4)}.{rng.randrange(1, 30)}"
    ready = rng.random() < 0.8
    return Endpoint(
        ip,
        rng.choice((8080, 8443)),
        ready=ready,
        serving=ready or rng.random() < 0.5,
        terminating=not ready and rng.random() < 0.7,
        local=rng.random() < 0.4,
    )


def random_service(rng: random.Random, index: int) -> ServicePort:
    cluster_ips: tuple[str, ...] = (f"10.96.{index // 200}.{index % 200 + 1}",)
    if rng.random() < 0.3:
        cluster_ips += (f"fd00:96::{index + 1:x}",)
    lb_ips = (f"203.0.113.{index % 250 + 1}",) if rng.random() < 0.2 else ()
    return ServicePort(
        "ns" + str(index % 3),
        f"svc{index}",
        rng.choice(("", "http")),
        rng.choice(("TCP", "TCP", "UDP", "SCTP")),
        cluster_ips,
        rng.choice((80, 443, 53)),
        node_port=30000 + index if rng.random() < 0.3 else 0,
        external_ips=(f"192.168.1.{index % 250 + 1}",) if rng.random() < 0.15 else (),
        lb_ips=lb_ips,
        lb_source_ranges=("198.51.100.0/24",) if lb_ips and rng.random() < 0.5 else (),
        affinity_timeout=rng.choice((60, 10800)) if rng.random() < 0.2 else None,
        external_local=rng.random() < 0.2,
        internal_local=rng.random() < 0.1,
    )


def random_model(rng: random.Random, count: int) -> Model:
    services: dict[ServicePortName, ServicePort] = {}
    endpoints: dict[ServicePortName, list[Endpoint]] = {}
    for index in range(count):
        sp = random_service(rng, index)
        services[sp.key] = sp
        v6 = any(":" in ip for ip in sp.cluster_ips)
        endpoints[sp.key] = [random_endpoint(rng, v6 and rng.random() < 0.5) for _ in range(rng.randrange(4))]
    return services, endpoints


def mutate(rng: random.Random, model: Model, next_index: int) -> Model:
    """One random change, as a watcher would see it: endpoints come and go or change condition, services
    appear, disappear or change their spec."""
    services = dict(model[0])
    endpoints = {k: list(v) for k, v in model[1].items()}
    keys = sorted(services)
    key = rng.choice(keys) if keys else None
    action = rng.randrange(8)
    if key is None or action == 0:
        sp = random_service(rng, next_index)
        services[sp.key] = sp
        endpoints[sp.key] = [random_endpoint(rng) for _ in range(rng.randrange(3))]
    elif action == 1:
        del services[key]
        endpoints.pop(key, None)
    elif action == 2:
        endpoints[key].append(random_endpoint(rng, rng.random() < 0.3))
    elif action == 3 and endpoints[key]:
        endpoints[key].pop(rng.randrange(len(endpoints[key])))
    elif action == 4 and endpoints[key]:
        i = rng.randrange(len(endpoints[key]))
        old = endpoints[key][i]
        endpoints[key][i] = dataclasses.replace(old, ready=not old.ready, terminating=old.ready)
    elif action == 5:
        sp = services[key]
        services[key] = dataclasses.replace(
            sp, affinity_timeout=None if sp.affinity_timeout else rng.choice((60, 10800))
        )
    elif action == 6:
        sp = services[key]
        services[key] = dataclasses.replace(
            sp, external_local=not sp.external_local, node_port=sp.node_port or 31000 + rng.randrange(500)
        )
    else:
        sp = services[key]
        services[key] = dataclasses.replace(sp, internal_local=not sp.internal_local, port=sp.port + 1)
    return services, endpoints
