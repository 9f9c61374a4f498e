"""Build a report from the database: one snapshot, one computation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storemon.data.snapshot import DatasetState, SnapshotReader
from storemon.engine import Interpolation, Report, compute_report


@dataclass(frozen=True)
class ReportRequest:
    """What a caller may choose; everything else follows from the data."""

    as_of_us: int | None = None
    interpolation: Interpolation = "nearest"
    store_ids: Sequence[str] | None = None


@dataclass(frozen=True)
class BuiltReport:
    report: Report
    state: DatasetState
    #: Requested store ids the database does not know.
    unknown_store_ids: tuple[str, ...] = ()
    #: The oldest poll read (None: none).
    first_poll_us: int | None = None

    @property
    def now_us(self) -> int:
        return self.report.now_us


def build_report(reader: SnapshotReader, request: ReportRequest) -> BuiltReport:
    """Read one consistent snapshot and compute the report on it.

    ``now`` is ``request.as_of_us`` or else the newest poll in the database;
    with no polls at all the report is empty.
    """
    snapshot, state = reader.read_snapshot(
        list(request.store_ids) if request.store_ids else None
    )
    now_us = request.as_of_us if request.as_of_us is not None else state.newest_poll_us
    if now_us is None:
        now_us = 0  # no polls: every store is absent, the report is empty
    report = compute_report(snapshot, now_us, request.interpolation, request.store_ids)
    unknown: tuple[str, ...] = ()
    if request.store_ids:
        known = set(snapshot.stores.store_id.tolist())
        unknown = tuple(dict.fromkeys(i for i in request.store_ids if i not in known))
    polls = snapshot.polls.ts_us
    first = int(polls.min()) if len(polls) else None
    return BuiltReport(report, state, unknown, first)
