"""One report over many workers: split into store-key ranges, one job per
shard, assembled by whichever shard finishes last.

- **Split** (the report's own job, once it has claimed the report): ``now``
  and the dataset version are pinned, the stores with a poll at or before
  ``now`` are cut into ranges of ``stores_per_shard`` by store key, and one
  Pending shard row per range commits together with the report handing its
  lease to its shards. Then one task per shard is sent.
- **Shard**: claims its row (Pending -> Running, an attempt, a lease renewed
  by a heartbeat), reads only its stores (SQL on the key range, the same
  windowed read as a whole report), computes, and stages its rows in its
  row. Nothing but ids crosses the broker.
- **Same data everywhere**: each shard checks that the dataset version it
  read is the pinned one. If the data changed meanwhile (an ingest
  committed), the shards would not add up to one snapshot: the report is
  split again on the new data (a new start, counted against the attempts).
  Its last attempt is not split: computed whole, on one snapshot, it
  completes however fast the data changes.
- **Assembly**: completing a shard locks the report's row first, so shards
  finish one at a time; the one that finds no other shard left assembles
  the report (``shard_rows.assemble``), stores it as Complete and deletes
  the staging rows, all in that transaction: exactly once.
- **Failures**: a shard that raises goes back to Pending and is sent again,
  until it has used the job's attempts; then the report fails with a short
  reason. A shard whose holder died is taken over once its lease expires by
  any sweeper (``recover_shards``), the same rule as whole reports. A
  Pending shard is sent again only when its report's shards have stalled:
  while one of them runs, the rest are waiting their turn in the queue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from storemon.data import reports, shards
from storemon.data.reports import ReportRecord, ReportStatus
from storemon.data.shards import ShardRecord
from storemon.data.snapshot import Span
from storemon.reports.job import failure_reason, retry_db
from storemon.reports.lease import Heartbeat, process_owner

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from storemon.data.snapshot import SnapshotReader
    from storemon.reports.service import ReportRequest

log = logging.getLogger(__name__)

RUNNING = ReportStatus.running.value


class ShardQueue(Protocol):
    """Where jobs are sent: a whole report's, or some shards' of one."""

    def submit(self, report_id: str) -> None: ...

    def submit_shards(self, report_id: str, numbers: Sequence[int]) -> None: ...


def split(
    engine: Engine,
    record: ReportRecord,
    owner: str,
    stores_per_shard: int,
    lease: timedelta,
    queue: ShardQueue,
    max_attempts: int,
) -> bool:
    """Split the report ``owner`` has just claimed into shards and send
    them; False (nothing done: compute it whole) for a report of chosen
    stores, over no more than ``stores_per_shard`` stores, or on its last
    attempt (of more than one): earlier ones may have been restarted by
    data that changed under their shards, which a whole run cannot be."""
    if stores_per_shard <= 0 or record.params.store_ids is not None:
        return False
    if record.attempts >= max_attempts > 1:
        log.info("report %s: its last attempt runs whole, not in shards", record.id)
        return False

    def write() -> int:
        with reports.read_then_write(engine) as connection:
            pinned = shards.pin(connection, record.params.as_of_us)
            if pinned.now_us is None:
                return 0  # no polls at all: the whole report is empty
            firsts = shards.boundaries(connection, pinned.now_us, stores_per_shard)
            if len(firsts) < 2 or not reports.hand_to_shards(connection, record.id, owner):
                return 0
            return shards.create(connection, record.id, firsts, pinned, lease)

    count = retry_db(write, f"splitting report {record.id}")
    if count:
        log.info("report %s: split into %d shards", record.id, count)
        _send(queue, record.id, range(count))
    return count > 0


def _send(queue: ShardQueue, report_id: str, numbers: Sequence[int]) -> None:
    try:
        queue.submit_shards(report_id, numbers)
    except Exception as error:  # the broker is away: the sweepers send them once expired
        log.error("report %s: could not send its shards: %s", report_id, failure_reason(error))


def run_shard(
    engine: Engine,
    reader: SnapshotReader,
    report_id: str,
    number: int,
    lease: timedelta,
    max_attempts: int,
    queue: ShardQueue,
) -> str:
    """Compute shard ``number`` of report ``report_id`` and stage its rows
    (the last shard assembles the report). Returns what became of it. A
    failure of the shard itself is recorded (tried again, or the report
    fails); raises only when the database stays away beyond the retries."""
    owner = process_owner()

    def claim() -> tuple[bool, ShardRecord | None, ReportRecord | None]:
        with engine.begin() as connection:
            claimed = shards.claim(connection, report_id, number, owner, lease)
            return (
                claimed,
                shards.get(connection, report_id, number),
                reports.get(connection, report_id),
            )

    claimed, shard, record = retry_db(claim, f"claiming shard {number} of report {report_id}")
    if shard is None or record is None:
        return "Missing"
    if not claimed:
        return shard.status
    started = time.perf_counter()
    with Heartbeat(engine, owner, lease, lambda: [(report_id, number)], renew=shards.renew):
        try:
            from storemon.reports.service import request_of

            request = request_of(record.params)
            staged = retry_db(
                lambda: compute_shard(reader, request, shard),
                f"reading shard {number} of report {report_id}",
            )
        except Exception as error:  # recorded: tried again, or the report fails
            log.exception("report %s: shard %d failed", report_id, number)
            reason = failure_reason(error)
            retry = retry_db(
                lambda: _failed(engine, shard, owner, reason, max_attempts, lease),
                f"recording the failure of shard {number} of report {report_id}",
            )
            if retry:
                _send(queue, report_id, [number])
            return "Retried" if retry else ReportStatus.failed.value

        def finish() -> str:
            return _finish(engine, shard, owner, staged, request, max_attempts, lease)

        outcome = retry_db(finish, f"storing shard {number} of report {report_id}")
    if outcome == "Restarted":
        log.warning("report %s: the data changed under its shards; split again", report_id)
        try:
            queue.submit(report_id)
        except Exception as error:  # Pending: a sweeper sends it once its lease expires
            log.error("report %s: could not queue it again: %s", report_id, failure_reason(error))
    log.info(
        "report %s: shard %d (%d stores, %d polls, %d rows) %s in %.2f s (read %.2f s); "
        "peak RSS %.0f MB",
        report_id,
        number,
        staged.stores,
        staged.polls,
        staged.count,
        outcome.lower(),
        time.perf_counter() - started,
        staged.read_s,
        peak_rss_mb(),
    )
    return outcome


@dataclass(frozen=True)
class Staged:
    """A shard's computed rows (encoded) and their count, the dataset
    version they were read at, and what it took."""

    rows: bytes
    count: int
    version: int
    stores: int = 0
    polls: int = 0
    read_s: float = 0.0


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux: ru_maxrss
    is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compute_shard(reader: SnapshotReader, request: ReportRequest, shard: ShardRecord) -> Staged:
    """The shard's rows: its stores only, at the pinned ``now``."""
    from storemon.reports.service import compute, request_start_us
    from storemon.reports.shard_rows import shard_rows

    # The same span a whole report reads (``service.build_report``), at the
    # pinned ``now``: from the first instant the kind needs, up to ``now``.
    start_us = request_start_us(request, shard.now_us)
    span = None if start_us is None else Span(min(start_us, shard.now_us), shard.now_us)
    started = time.perf_counter()
    snapshot, state = reader.read_snapshot(
        None,
        span,
        groups=request.kind == "groups",
        key_range=(shard.first_key, shard.last_key),
    )
    read_s = time.perf_counter() - started
    rows, count = shard_rows(compute(snapshot, shard.now_us, request), request)
    stores, polls = len(snapshot.stores), len(snapshot.polls)
    return Staged(rows, count, state.version, stores, polls, read_s)


def _finish(
    engine: Engine,
    shard: ShardRecord,
    owner: str,
    staged: Staged,
    request: ReportRequest,
    max_attempts: int,
    lease: timedelta,
) -> str:
    """Stage the shard's rows; the last shard assembles the report. On data
    that changed since the split, the report starts again."""
    from storemon.reports.shard_rows import assemble

    report_id = shard.report_id
    with reports.read_then_write(engine) as connection:
        if shards.lock_report(connection, report_id) != RUNNING:
            return "Gone"  # deleted, failed, or finished meanwhile
        if staged.version != shard.data_version:
            return _restart(connection, report_id, max_attempts, lease)
        if not shards.complete(connection, shard, owner, staged.rows, staged.count):
            return "Lost"  # taken over after the lease expired, or split again
        if shards.remaining(connection, report_id) > 0:
            return "Staged"
        frame, total = assemble(shards.staged(connection, report_id), request, shard.now_us)
        reports.complete(connection, report_id, frame, total, shard.now_us, shard.data_version)
        shards.delete(connection, [report_id])
        log.info("report %s: assembled, %d rows", report_id, total)
        return "Assembled"


def _restart(connection: Connection, report_id: str, max_attempts: int, lease: timedelta) -> str:
    record = reports.get(connection, report_id)
    shards.delete(connection, [report_id])
    if record is None:
        return "Gone"
    if record.attempts >= max_attempts:
        reports.fail(
            connection,
            report_id,
            f"the data changed while its shards ran ({record.attempts} of {max_attempts} attempts)",
        )
        return ReportStatus.failed.value
    reports.requeue(connection, report_id, None, lease)
    return "Restarted"


def _failed(
    engine: Engine,
    shard: ShardRecord,
    owner: str,
    reason: str,
    max_attempts: int,
    lease: timedelta,
) -> bool:
    """Record a failed attempt of the shard ``owner`` holds: back to Pending
    (True: send it again), or after its last attempt the report fails."""
    report_id = shard.report_id
    with reports.read_then_write(engine) as connection:
        if shards.lock_report(connection, report_id) != RUNNING:
            return False
        current = shards.get(connection, report_id, shard.shard)
        if current is None or current.lease_owner != owner or current.status != shards.RUNNING:
            return False  # taken over meanwhile: the new holder decides
        if current.attempts < max_attempts:
            return shards.requeue(connection, report_id, shard.shard, lease, owner=owner)
        total = shards.count(connection, report_id)
        what = f"shard {shard.shard + 1} of {total} failed {current.attempts} times"
        reports.fail(connection, report_id, f"{what}: {reason}")
        shards.delete(connection, [report_id])
        return False


def recover_shards(engine: Engine, max_attempts: int, queue: ShardQueue, lease: timedelta) -> int:
    """Shards whose lease expired go back to Pending and are sent again: one
    whose holder died, or one never claimed in time while no shard of its
    report runs (its message lost; the claim makes an extra delivery
    harmless). A Pending shard of a report with a shard running is waiting
    behind it in the queue: it gets another lease and is not sent, so a
    long queue of shards is not sent again every lease. A Running shard
    that has used its attempts fails its report. Each shard is taken in its
    own transaction, under its report's lock (the order every shard change
    uses), so of several sweepers one takes it. Returns how many were sent
    again."""
    now = datetime.now(UTC)
    with engine.connect() as connection:
        candidates = shards.expired(connection, now)
    sent = 0
    for shard in candidates:
        report_id, number = shard.report_id, shard.shard

        def take(shard: ShardRecord = shard) -> bool:
            with reports.read_then_write(engine) as connection:
                if shards.lock_report(connection, shard.report_id) != RUNNING:
                    return False
                if shard.status == shards.RUNNING and shard.attempts >= max_attempts:
                    current = shards.get(connection, shard.report_id, shard.shard)
                    if current is None or not _expired(current, now):
                        return False
                    total = shards.count(connection, shard.report_id)
                    reports.fail(
                        connection,
                        shard.report_id,
                        f"shard {shard.shard + 1} of {total} gave up after {shard.attempts} "
                        "attempts: the process running it stopped",
                    )
                    shards.delete(connection, [shard.report_id])
                    return False
                if shard.status == shards.PENDING and shards.moving(
                    connection, shard.report_id, now
                ):
                    shards.postpone(connection, shard.report_id, shard.shard, lease, now)
                    return False
                return shards.requeue(
                    connection, shard.report_id, shard.shard, lease, only_expired=True
                )

        try:
            taken = take()
        except Exception as error:  # the next sweep tries again
            log.error("shard %d of report %s: %s", number, report_id, failure_reason(error))
            continue
        if taken:
            sent += 1
            _send(queue, report_id, [number])
    return sent


def _expired(shard: ShardRecord, now: datetime) -> bool:
    return shard.lease_expires_at is None or shard.lease_expires_at < now
