"""The ``/metrics`` a ``remit worker`` serves: its own counters and histograms, and never a database read.

``remit serve`` and ``remit up`` answer ``/metrics`` by running the scrape-time collectors (the gauges that
describe the database: queue depth, webhook backlog, flags, workers alive) and exporting the whole registry.
A worker must not: N workers would run N times those queries for the same numbers. What only a worker knows
is what it did — job outcomes and run times, periodic runs, ops events it emitted, processor throttles — and
those counts die with the process unless it exports them. So a worker serves a view of
:data:`~remit.telemetry.metrics.REGISTRY` without its gauges: every gauge remit declares is read from the
database at scrape time (``docs/operations.md`` marks them, and a test keeps the two in step).

The server is prometheus_client's own WSGI server on a daemon thread: a scrape never waits on the job loop,
and the loop never waits on a scrape.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from remit.telemetry.metrics import REGISTRY

log = logging.getLogger("remit.telemetry.exposition")

#: The metric type a worker leaves out: in remit every gauge is a scrape-time reading of the database.
DATABASE_READING = "gauge"


class ProcessMetrics(Collector):
    """Every family of ``registry`` but its gauges: what this process counted itself. ``names`` narrows it as
    Prometheus' ``?name[]=`` filter does (the exposition server asks for it through :meth:`restricted_registry`,
    as it would of a registry)."""

    def __init__(self, registry: CollectorRegistry = REGISTRY, names: Iterable[str] | None = None) -> None:
        self._registry = registry
        self._names = None if names is None else frozenset(names)

    def collect(self) -> Iterator[Metric]:
        source = self._registry if self._names is None else self._registry.restricted_registry(self._names)
        return (family for family in source.collect() if family.type != DATABASE_READING)

    def restricted_registry(self, names: Iterable[str]) -> ProcessMetrics:
        return ProcessMetrics(self._registry, names)


@dataclass(frozen=True, slots=True)
class MetricsServer:
    """A running ``/metrics`` server; :meth:`close` stops it."""

    host: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_process_metrics(host: str, port: int, registry: CollectorRegistry = REGISTRY) -> MetricsServer:
    """Serve :class:`ProcessMetrics` of ``registry`` on ``host``:``port`` (0: any free port) until closed. Raises
    :class:`OSError` when the address cannot be bound (the port is taken, the host is not this machine's)."""
    server, thread = start_http_server(port, addr=host, registry=ProcessMetrics(registry))
    bound = MetricsServer(host, int(server.server_address[1]), server, thread)
    log.info("worker metrics served", extra={"host": host, "port": bound.port})
    return bound


__all__ = ["DATABASE_READING", "MetricsServer", "ProcessMetrics", "serve_process_metrics"]
