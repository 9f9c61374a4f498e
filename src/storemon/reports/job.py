"""One report job, start to finish, wherever it runs.

The job owns its transactions: claim (Pending -> Running) commits before the
work starts, the result (Complete with its frame, or Failed with the reason)
commits in one transaction at the end. A process that dies in between leaves
the report Running; ``recover`` at the next start puts it back in the queue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from storemon.data import reports
from storemon.messages import one_line

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from storemon.data.snapshot import SnapshotReader

log = logging.getLogger(__name__)


def run_report(engine: Engine, reader: SnapshotReader, report_id: str) -> str:
    """Compute report ``report_id`` (reading through ``reader``) and store
    its frame (writing through ``engine``); returns the final status.

    Never raises for a failure of the report itself: that is recorded on the
    report. A report someone else already claimed is left alone.
    """
    from storemon.reports.frame import encode_frame
    from storemon.reports.frames import report_frame_of
    from storemon.reports.service import build_report, request_of

    with engine.begin() as connection:
        claimed = reports.claim(connection, report_id)
        record = reports.get(connection, report_id)
    if record is None:
        return "Missing"
    if not claimed:
        return record.status.value
    started = time.perf_counter()
    try:
        request = request_of(record.params)
        built = build_report(reader, request)
        frame = encode_frame(report_frame_of(built.report, request))
    except Exception as error:  # recorded on the report, not lost
        log.exception("report %s failed", report_id)
        with engine.begin() as connection:
            reports.fail(connection, report_id, one_line(error))
        return reports.ReportStatus.failed.value
    with engine.begin() as connection:
        stored = reports.complete(
            connection, report_id, frame, len(built.report), built.now_us, built.state.version
        )
    log.info(
        "report %s: %d stores in %.2f s",
        report_id,
        len(built.report),
        time.perf_counter() - started,
    )
    return reports.ReportStatus.complete.value if stored else "Gone"


def recover(
    engine: Engine,
    max_attempts: int,
    submit: Callable[[str], None],
    running_for: timedelta | None = None,
) -> int:
    """Reports left Pending or Running by a process that went away go back to
    the queue, or are marked Failed once they used up their attempts.

    ``running_for=None`` treats every unfinished report as orphaned (the
    in-process runner at start-up: its pool died with the old process);
    otherwise only reports queued or Running for longer than that are (a
    Celery worker may still be at work on a younger one; a broker that
    restarted may have lost an older one). Returns how many were queued.
    """
    now = datetime.now(UTC)
    with reports.read_then_write(engine) as connection:
        leftover = reports.unfinished(connection)
        queued = []
        for record in leftover:
            since = record.started_at or record.created_at
            if running_for is not None and now - since < running_for:
                continue
            if record.attempts >= max_attempts:
                reports.fail(
                    connection,
                    record.id,
                    f"gave up after {record.attempts} attempts: the process running it stopped",
                )
            else:
                reports.requeue(connection, record.id)
                queued.append(record.id)
    for report_id in queued:  # queue only after the commit
        try:
            submit(report_id)
        except Exception as error:  # a broker that is down: the report stays Pending
            log.error("report %s: could not queue it again: %s", report_id, one_line(error))
    return len(queued)
