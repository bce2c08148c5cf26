"""Prometheus metrics of one verifier replica, at ``GET /metrics`` (text exposition format).

What an operator watches (docs/deploy.md): how far the index is behind the chain and whether
this replica indexes, how fast events are indexed, how long app-store checks take and what they
answer, how many jobs wait (per kind and per queue), and how often a limit refuses a request. Values read
from the database or the chain are read when Prometheus scrapes, never per request; a value
that cannot be read is left out of that scrape (and ``modelseal_index_up`` is 0).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

if TYPE_CHECKING:
    from verifier.services import Services

log = logging.getLogger("modelseal.verifier")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SCRAPE_SECONDS = 5.0


class Metrics:
    """The metrics of one app: its own registry (tests build many apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.check_seconds = Histogram(
            "modelseal_check_seconds",
            "Time to answer an app-store check (GET /v1/check, the page's check), by verdict",
            ["verdict"],
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.refused = Counter(
            "modelseal_refused",
            "Requests refused by a limit: requests per client, checks per client, checks per target host, "
            "check slots full, check or audit jobs queued (check-jobs, audit-jobs)",
            ["limit"],
            registry=self.registry,
        )

    def watch(self, svc: Services) -> None:
        """Add the values read at scrape time from ``svc`` (index, chain, jobs)."""
        self.registry.register(_StateCollector(svc))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector(Collector):
    """Reads the database and the chain at most once every :data:`SCRAPE_SECONDS`, however often
    ``/metrics`` is asked (it is not rate-limited)."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self._last: tuple[float, list[Any]] | None = None
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Any]:
        with self._lock:
            now = time.monotonic()
            if self._last is None or now - self._last[0] > SCRAPE_SECONDS:
                self._last = (now, list(self._read()))
            families = self._last[1]
        yield from families

    def _read(self) -> Iterator[Any]:
        svc = self.svc
        up = GaugeMetricFamily("modelseal_index_up", "1 when the index database and the chain could be read")
        try:
            st = svc.indexer.status(max_age=1.0)
            with svc.session() as s:
                from verifier.index.schema import EventRow

                newest = int(s.scalar(select(func.max(EventRow.id))) or 0)
        except Exception as exc:  # a scrape never fails: it says what it could not read
            log.warning("metrics: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 0 if st.stale else 1)
        yield up
        yield _gauge("modelseal_index_block", "The last block indexed", st.indexed)
        yield _gauge("modelseal_chain_head", "The chain's head block, as last seen", st.head)
        yield _gauge("modelseal_index_lag_blocks", "Blocks between the chain head and the index", st.behind)
        yield _gauge(
            "modelseal_index_events",
            "The feed cursor of the newest event indexed (its rate is events indexed per second)",
            newest,
        )
        yield _gauge("modelseal_index_leading", "1 when this replica holds the indexer lease", int(svc.indexer.leading))
        try:
            from verifier.jobs import KINDS, JobStore

            yield _gauge(
                "modelseal_behaviour_jobs_pending",
                "Behavioural checks queued or running, all replicas together",
                JobStore(svc.engine).pending(),
            )
            pending = GaugeMetricFamily(
                "modelseal_jobs_pending",
                "Endpoint-check and receipt-audit jobs queued or running, all replicas together, by kind",
                labels=["kind"],
            )
            for kind in KINDS:
                pending.add_metric([kind], svc.tasks.pending(kind))
            yield pending
            if svc.settings.jobs == "queue":
                depth = GaugeMetricFamily(
                    "modelseal_queue_depth", "Jobs waiting on the task queue for a worker, by queue", labels=["queue"]
                )
                for queue, waiting in svc.queue.depths().items():
                    depth.add_metric([queue], waiting)
                yield depth
        except Exception as exc:
            log.warning("metrics: jobs: %s", type(exc).__name__)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family
