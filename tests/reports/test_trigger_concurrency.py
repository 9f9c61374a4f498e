"""Triggering under concurrency, on every backend: the check for an equal
report and the queue limit hold however many triggers race."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import Engine

from storemon.data import reports
from storemon.data.database import make_engine
from storemon.data.reports import ReportParams
from storemon.reports.queue import QueueFullError, Triggered, trigger_report
from storemon.reports.runner import ReportRunner

RACERS = 24


class Held(ReportRunner):
    """Queues nothing: every triggered report stays Pending."""

    def __init__(self) -> None:
        self.submitted: list[str] = []

    def start(self) -> None:
        pass

    def submit(self, report_id: str) -> None:
        self.submitted.append(report_id)

    def shutdown(self) -> None:
        pass


def _race(database_url: str, params: list[ReportParams], limit: int) -> list[object]:
    engine = make_engine(database_url, pool_size=RACERS, max_overflow=0)
    runner = Held()

    def trigger(p: ReportParams) -> Triggered | QueueFullError:
        try:
            return trigger_report(engine, runner, p, limit)
        except QueueFullError as error:
            return error

    try:
        with ThreadPoolExecutor(RACERS) as threads:
            return list(threads.map(trigger, params))
    finally:
        engine.dispose()


def _stored(engine: Engine) -> int:
    with engine.connect() as connection:
        return reports.count_unfinished(connection)


def test_identical_concurrent_triggers_make_exactly_one_report(
    database_url: str, engine: Engine
) -> None:
    results = _race(database_url, [ReportParams(store_ids=("a",))] * RACERS, limit=32)

    ids = {r.record.id for r in results if isinstance(r, Triggered)}
    assert len(ids) == 1
    assert sum(isinstance(r, Triggered) and not r.reused for r in results) == 1
    assert _stored(engine) == 1


def test_the_queue_limit_is_exact_under_concurrent_triggers(
    database_url: str, engine: Engine
) -> None:
    distinct = [ReportParams(store_ids=(str(n),)) for n in range(RACERS)]

    results = _race(database_url, distinct, limit=5)

    assert sum(isinstance(r, Triggered) for r in results) == 5
    assert sum(isinstance(r, QueueFullError) for r in results) == RACERS - 5
    assert _stored(engine) == 5
