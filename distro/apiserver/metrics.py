"""Prometheus text-format metrics with upstream's metric names, and a Datastore wrapper that times calls.

Written here rather than pulling in prometheus_client: a handful of counters and histograms is all the
server needs, and every dependency ships in the edge binary.
"""

from __future__ import annotations

import bisect
import time
from collections import defaultdict
from typing import Any

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class _Histogram:
    __slots__ = ("count", "counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * len(BUCKETS)
        self.count = 0
        self.total = 0.0

    def observe(self, value: float) -> None:
        i = bisect.bisect_left(BUCKETS, value)
        if i < len(BUCKETS):
            self.counts[i] += 1
        self.count += 1
        self.total += value


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.latency: dict[tuple[str, str], _Histogram] = defaultdict(_Histogram)
        self.watchers: dict[str, int] = defaultdict(int)
        self.datastore: dict[tuple[str], _Histogram] = defaultdict(_Histogram)

    def observe_request(self, verb: str, resource: str, code: int, seconds: float) -> None:
        self.requests[(verb, resource, str(code))] += 1
        if verb != "WATCH":
            self.latency[(verb, resource)].observe(seconds)

    def render(self) -> str:
        out: list[str] = []
        out += [
            "# HELP apiserver_request_total Counter of apiserver requests by verb, resource and code.",
            "# TYPE apiserver_request_total counter",
        ]
        for key, n in sorted(self.requests.items()):
            out.append(f"apiserver_request_total{_labels(('verb', 'resource', 'code'), key)} {n}")
        self._histogram(
            out,
            "apiserver_request_duration_seconds",
            "Response latency by verb and resource.",
            ("verb", "resource"),
            self.latency,
        )
        out += [
            "# HELP apiserver_registered_watchers Number of currently registered watchers per resource.",
            "# TYPE apiserver_registered_watchers gauge",
        ]
        for resource, n in sorted(self.watchers.items()):
            out.append(f'apiserver_registered_watchers{{resource="{_escape(resource)}"}} {n}')
        self._histogram(
            out,
            "etcd_request_duration_seconds",
            "Datastore request latency by operation.",
            ("operation",),
            self.datastore,
        )
        return "\n".join(out) + "\n"

    @staticmethod
    def _histogram(out: list[str], name: str, help_text: str, names: tuple[str, ...], data: dict) -> None:
        out += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        for key, h in sorted(data.items()):
            cumulative = 0
            for bound, n in zip(BUCKETS, h.counts, strict=True):
                cumulative += n
                le = f'le="{bound}"'
                out.append(f"{name}_bucket{_labels(names, key, le)} {cumulative}")
            out.append(f"{name}_bucket{_labels(names, key, 'le=' + chr(34) + '+Inf' + chr(34))} {h.count}")
            out.append(f"{name}_sum{_labels(names, key)} {h.total:.6f}")
            out.append(f"{name}_count{_labels(names, key)} {h.count}")


class TimedDatastore:
    """Wraps a Datastore so every unary call lands in etcd_request_duration_seconds."""

    _TIMED = (
        "range",
        "put",
        "delete_range",
        "txn",
        "compact",
        "lease_grant",
        "lease_revoke",
        "lease_time_to_live",
        "status",
    )

    def __init__(self, inner: Any, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in self._TIMED:
            return attr
        histogram = self._metrics.datastore[(name,)]

        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await attr(*args, **kwargs)
            finally:
                histogram.observe(time.perf_counter() - start)

        return timed
