"""Prometheus metrics: HTTP traffic measured in this process, report and
ingest figures read from the database at scrape time.

Reports run in other processes (the pool, Celery workers) and ingests also
come from the CLI, so counters kept in this process would miss most of them;
the ``reports`` and ``ingests`` tables see everything.

Each app has its own registry, so several apps (tests) can live in one process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy.engine import Connection, Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storemon.data.reports import UNFINISHED, ReportStatus
from storemon.data.schema import DATASET_STATE_ID, dataset_state, ingests, reports
from storemon.ingest.feeds import Feed
from storemon.ingest.removal import REMOVAL

log = logging.getLogger(__name__)

#: The label of requests no route matched: raw paths would be unbounded.
UNMATCHED = "<unmatched>"
REPORT_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
FINISHED = (ReportStatus.complete, ReportStatus.failed)


class HttpMetrics:
    """Request counts and latencies by method, route template and status."""

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ("method", "route", "status")
        self.requests = Counter(
            "storemon_http_requests", "HTTP requests answered.", labels, registry=registry
        )
        self.latency = Histogram(
            "storemon_http_request_duration_seconds",
            "Time to answer an HTTP request, body included.",
            labels,
            registry=registry,
        )
        # labels() takes a lock and builds a key on every call; the children
        # are few (routes x methods x statuses), so keep them.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            values = (method, route, str(status))
            children = (self.requests.labels(*values), self.latency.labels(*values))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


class MetricsMiddleware:
    """Pure ASGI (no per-request task or body buffering): cheap enough for /health."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before the response started becomes a 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            # The router put the matched route into this same scope dict.
            # path_format: the template without converters ({store_id:path}).
            route = getattr(scope.get("route"), "path_format", None) or UNMATCHED
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - started)


class DatabaseCollector(Collector):
    """Report and ingest figures, read from the database on every scrape."""

    def __init__(self, engine: Callable[[], Engine | None]) -> None:
        self._engine = engine

    def describe(self) -> Iterable[Metric]:
        # Nothing up front: collect() would query the database at registration.
        return []

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "storemon_database_up", "1 when the last scrape could read the database."
        )
        engine = self._engine()
        if engine is None:
            up.add_metric([], 0)
            yield up
            return
        try:
            with engine.connect() as connection:
                figures = list(_database_figures(connection))
        except Exception as error:  # a scrape must still answer; the gauge says why not
            log.warning("metrics: cannot read the database: %s", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from figures


def install_metrics(app: FastAPI) -> None:
    """Give ``app`` a registry (``app.state.metrics_registry``), the request
    middleware, and the database collector (active once the lifespan built the
    container)."""
    registry = CollectorRegistry()
    app.state.metrics_registry = registry
    app.add_middleware(MetricsMiddleware, metrics=HttpMetrics(registry))

    def engine() -> Engine | None:
        container = getattr(app.state, "container", None)
        return None if container is None else container.engine

    registry.register(DatabaseCollector(engine))


# --- the figures ---------------------------------------------------------------


def _duration_seconds(connection: Connection) -> sa.ColumnElement[Any]:
    started, finished = reports.c.started_at, reports.c.finished_at
    name = connection.dialect.name
    if name == "sqlite":
        return (sa.func.julianday(finished) - sa.func.julianday(started)) * 86_400.0
    if name == "postgresql":
        return sa.func.extract("epoch", finished - started)
    return sa.func.timestampdiff(sa.text("MICROSECOND"), started, finished) / 1_000_000.0


def _database_figures(connection: Connection) -> Iterator[Metric]:
    counts = dict.fromkeys((s.value for s in ReportStatus), 0)
    query = sa.select(reports.c.status, sa.func.count()).group_by(reports.c.status)
    counts.update({status: int(n) for status, n in connection.execute(query)})
    by_status = GaugeMetricFamily(
        "storemon_reports", "Reports in the database by status.", labels=["status"]
    )
    for status, n in counts.items():
        by_status.add_metric([status], n)
    yield by_status
    yield GaugeMetricFamily(
        "storemon_report_queue_depth",
        "Reports Pending or Running.",
        value=sum(counts[s.value] for s in UNFINISHED),
    )
    yield _report_durations(connection)
    yield from _ingest_figures(connection)

    version, newest = connection.execute(
        sa.select(dataset_state.c.version, dataset_state.c.newest_poll_us).where(
            dataset_state.c.id == DATASET_STATE_ID
        )
    ).one_or_none() or (0, None)
    yield GaugeMetricFamily(
        "storemon_dataset_version", "Grows with every change of the data.", value=version or 0
    )
    if newest is not None:
        yield GaugeMetricFamily(
            "storemon_newest_poll_timestamp_seconds",
            "The newest poll in the database (the report's default now).",
            value=newest / 1e6,
        )


def _report_durations(connection: Connection) -> Metric:
    """Start to finish of every finished report, as a histogram per status,
    bucketed in one query."""
    duration = _duration_seconds(connection)
    columns = [
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(duration), 0.0),
        *(sa.func.sum(sa.case((duration <= bound, 1), else_=0)) for bound in REPORT_BUCKETS),
    ]
    query = (
        sa.select(reports.c.status, *columns)
        .where(
            reports.c.status.in_([s.value for s in FINISHED]),
            reports.c.started_at.is_not(None),
            reports.c.finished_at.is_not(None),
        )
        .group_by(reports.c.status)
    )
    rows = {row[0]: row[1:] for row in connection.execute(query)}
    family = HistogramMetricFamily(
        "storemon_report_duration_seconds",
        "Time from a report's start to its end, for finished reports.",
        labels=["status"],
    )
    for status in FINISHED:
        count, total, *cumulative = rows.get(status.value, (0, 0.0, *[0] * len(REPORT_BUCKETS)))
        buckets = [(str(b), float(n or 0)) for b, n in zip(REPORT_BUCKETS, cumulative, strict=True)]
        buckets.append(("+Inf", float(count)))
        family.add_metric([status.value], buckets, float(total or 0.0))
    return family


def _ingest_figures(connection: Connection) -> Iterator[Metric]:
    loaded = CounterMetricFamily(
        "storemon_rows_ingested", "Feed rows loaded, by feed.", labels=["feed"]
    )
    rejected = CounterMetricFamily(
        "storemon_rows_rejected", "Feed rows rejected, by feed.", labels=["feed"]
    )
    runs = GaugeMetricFamily(
        "storemon_ingests", "Ingests in the log by feed and status.", labels=["feed", "status"]
    )
    query = sa.select(
        ingests.c.feed,
        ingests.c.status,
        sa.func.count(),
        sa.func.coalesce(sa.func.sum(ingests.c.rows_loaded), 0),
        sa.func.coalesce(sa.func.sum(ingests.c.rows_rejected), 0),
    ).group_by(ingests.c.feed, ingests.c.status)
    totals = {feed.value: [0, 0] for feed in Feed}
    for feed, status, n, rows_loaded, rows_rejected in connection.execute(query):
        runs.add_metric([feed, status], int(n))
        if feed == REMOVAL:
            continue  # polls removed are no rows ingested; the runs show them
        sums = totals.setdefault(feed, [0, 0])
        sums[0] += int(rows_loaded)
        sums[1] += int(rows_rejected)
    for feed, (rows_loaded, rows_rejected) in totals.items():
        loaded.add_metric([feed], rows_loaded)
        rejected.add_metric([feed], rows_rejected)
    yield loaded
    yield rejected
    yield runs
