"""Build a report from the database: one snapshot, one computation.

Every kind reads one consistent snapshot and computes on it: ``stores`` (the
section 5 report), ``daily`` (per store and local date over a date range),
``groups`` (per group of stores), and the outages (not a stored report: the
API lists them directly).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast

import numpy as np
import numpy.typing as npt

from storemon.data.parts import map_parts, read_in_parts
from storemon.data.snapshot import DatasetState, PrunedHistoryError, SnapshotReader, Span
from storemon.engine import (
    Daily,
    GroupReport,
    Interpolation,
    Outages,
    Report,
    Snapshot,
    compute_daily,
    compute_outages,
    compute_report,
    group_report,
)
from storemon.engine.report import DAY_US, WEEK_US, merge_reports

if TYPE_CHECKING:
    # The stored reports' module defines the report tables: a command that
    # only computes a report has no use for them.
    from storemon.data.reports import ReportParams

ReportKind = Literal["stores", "daily", "groups"]
REPORT_KINDS: tuple[ReportKind, ...] = ("stores", "daily", "groups")


class ReportRequestError(ValueError):
    """The request's parameters do not fit together (say, a daily report
    without its dates)."""


@dataclass(frozen=True)
class ReportRequest:
    """What a caller may choose; everything else follows from the data.

    ``max_gap_us`` (SPEC 8.1) applies to every kind; ``first_date`` and
    ``last_date`` (local dates as days since 1970-01-01) to ``daily`` only,
    which needs both.
    """

    as_of_us: int | None = None
    interpolation: Interpolation = "nearest"
    store_ids: Sequence[str] | None = None
    kind: ReportKind = "stores"
    max_gap_us: int | None = None
    first_date: int | None = None
    last_date: int | None = None

    def __post_init__(self) -> None:
        check_request(self)


def request_of(params: ReportParams) -> ReportRequest:
    """The request a stored report was asked with."""
    return ReportRequest(
        params.as_of_us,
        cast(Interpolation, params.interpolation),
        params.store_ids,
        kind=cast(ReportKind, params.kind),
        max_gap_us=params.max_gap_us,
        first_date=params.first_date,
        last_date=params.last_date,
    )


def check_request(request: ReportRequest) -> None:
    """Raise :class:`ReportRequestError` for parameters that do not fit."""
    if request.kind not in REPORT_KINDS:
        raise ReportRequestError(f"unknown report kind {request.kind!r}")
    if request.max_gap_us is not None and request.max_gap_us <= 0:
        raise ReportRequestError("the max gap must be greater than 0")
    dated = request.first_date is not None or request.last_date is not None
    if request.kind == "daily":
        if request.first_date is None or request.last_date is None:
            raise ReportRequestError("a daily report needs a first and a last date")
        if request.first_date > request.last_date:
            raise ReportRequestError("the first date of a daily report is after its last date")
    elif dated:
        raise ReportRequestError("only a daily report takes dates")


Result = Report | Daily | GroupReport


@dataclass(frozen=True)
class BuiltReport:
    #: The section 5 report, the daily breakdown or the group report.
    report: Result
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
    with no polls at all the report is empty. Only the polls from the
    request's first needed instant (:func:`request_start_us`) to ``now`` are
    read, with each store's last one before it.
    Raises :class:`~storemon.data.snapshot.PrunedHistoryError` when that
    start is before the retention horizon.
    """
    span = _span_from(lambda now_us: request_start_us(request, now_us))
    whole = request.kind == "stores" and request.store_ids is None
    if whole:
        parted = _report_in_parts(reader, request, span)
        if parted is not None:
            return parted
    snapshot, state, now_us = _read(
        reader,
        request.as_of_us,
        request.store_ids,
        groups=request.kind == "groups",
        span=span,
        # A report over every store was tried in parts: the parts saw
        # different data.
        in_parts=not whole,
    )
    result = compute(snapshot, now_us, request)
    return BuiltReport(result, state, _unknown(snapshot, request.store_ids), _first_poll(snapshot))


def _report_in_parts(
    reader: SnapshotReader,
    request: ReportRequest,
    span: Callable[[int | None, DatasetState], Span | None],
) -> BuiltReport | None:
    """The section 5 report over every store, each part of the stores read
    and computed at once (see :func:`storemon.data.parts.map_parts`); None
    when the reader has one part, or the parts saw different data."""

    def each(snapshot: Snapshot, state: DatasetState) -> tuple[Report, int | None]:
        now_us = _now(request.as_of_us, state)
        return compute_report(
            snapshot, now_us, request.interpolation, None, request.max_gap_us
        ), _first_poll(snapshot)

    parted = map_parts(reader, lambda state: span(request.as_of_us, state), each)
    if parted is None:
        return None
    parts, state = parted
    first_polls = [first for _, first in parts if first is not None]
    report = merge_reports([part for part, _ in parts])
    return BuiltReport(report, state, (), min(first_polls) if first_polls else None)


def compute(snapshot: Snapshot, now_us: int, request: ReportRequest) -> Result:
    """The report ``request`` asks for, on ``snapshot`` at ``now_us``."""
    ids, gap = request.store_ids, request.max_gap_us
    if request.kind == "daily":
        assert request.first_date is not None and request.last_date is not None
        return compute_daily(
            snapshot, now_us, request.first_date, request.last_date, request.interpolation, ids, gap
        )
    report = compute_report(snapshot, now_us, request.interpolation, ids, gap)
    if request.kind == "groups":
        members = snapshot.groups
        return group_report(report, members.store_id, members.group)
    return report


@dataclass(frozen=True)
class OutagesRequest:
    """SPEC 8.5: ``from_us`` defaults to a week before ``now``, ``to_us`` to
    ``now`` (and is cut to it). ``group``: only its members' outages.
    ``max_range_us``: a longer range is refused, ``max_polls``: a range
    holding more polls is refused (bounded work per request)."""

    from_us: int | None = None
    to_us: int | None = None
    as_of_us: int | None = None
    interpolation: Interpolation = "nearest"
    max_gap_us: int | None = None
    store_ids: Sequence[str] | None = None
    group: str | None = None
    max_range_us: int | None = None
    #: More polls read than this is refused (bounded memory and work).
    max_polls: int | None = None


@dataclass(frozen=True)
class BuiltOutages:
    outages: Outages
    state: DatasetState
    unknown_store_ids: tuple[str, ...] = ()


def build_outages(reader: SnapshotReader, request: OutagesRequest) -> BuiltOutages:
    """Read one consistent snapshot and list the outages in the range.

    Only the polls from the range's start to ``now`` are read (with each
    store's last one before it); a range that starts before the retention
    horizon is a :class:`ReportRequestError`."""
    if request.max_gap_us is not None and request.max_gap_us <= 0:
        raise ReportRequestError("the max gap must be greater than 0")
    try:
        snapshot, state, now_us = _read(
            reader,
            request.as_of_us,
            request.store_ids,
            groups=request.group is not None,
            span=_span_from(lambda now_us: _outages_from(request, now_us)),
        )
    except PrunedHistoryError as error:
        raise ReportRequestError(str(error)) from None
    from_us = _outages_from(request, now_us)
    to_us = now_us if request.to_us is None else min(request.to_us, now_us)
    if request.max_range_us is not None and to_us - from_us > request.max_range_us:
        days = request.max_range_us / DAY_US
        raise ReportRequestError(f"the range from..to is longer than {days:g} days")
    polls = len(snapshot.polls.ts_us)
    if request.max_polls is not None and polls > request.max_polls:
        raise ReportRequestError(
            f"the range holds {polls} polls, more than {request.max_polls}: ask for a shorter range"
        )
    store_ids = request.store_ids
    if request.group is not None:
        members = snapshot.groups.store_id[snapshot.groups.group == request.group]
        if store_ids is not None:
            members = members[np.isin(members, np.asarray(list(store_ids), dtype=object))]
        store_ids = members.tolist()
    outages = compute_outages(
        snapshot, now_us, from_us, to_us, request.interpolation, store_ids, request.max_gap_us
    )
    return BuiltOutages(outages, state, _unknown(snapshot, request.store_ids))


OutageSort = Literal["start", "length"]


def outage_page(
    outages: Outages, min_ticks: int, sort: OutageSort, limit: int, offset: int
) -> tuple[npt.NDArray[np.int64], int]:
    """Rows of ``outages`` for one page: those at least ``min_ticks`` long,
    by start (then store id) or longest first (then start, then store id).
    Returns the rows' indexes and how many outages match in all."""
    length = outages.length_ticks
    kept = np.flatnonzero(length >= min_ticks)
    # Outages come sorted by store id then start; the sorts are stable, so
    # that order breaks the remaining ties.
    if sort == "length":
        order = np.lexsort((outages.start_tick[kept], -length[kept]))
    else:
        order = np.argsort(outages.start_tick[kept], kind="stable")
    return kept[order][offset : offset + limit], len(kept)


def _read(
    reader: SnapshotReader,
    as_of_us: int | None,
    store_ids: Sequence[str] | None,
    *,
    groups: bool = False,
    span: Callable[[int | None, DatasetState], Span | None] | None = None,
    in_parts: bool = True,
) -> tuple[Snapshot, DatasetState, int]:
    """The snapshot, its state and ``now``; ``span``, given ``as_of_us`` and
    the state, says which polls to read (None: all). Every store's is read
    in parts at once where the reader can (``in_parts``; see
    :mod:`storemon.data.parts`), else in one transaction."""
    chosen = None if span is None else (lambda state: span(as_of_us, state))
    parted = read_in_parts(reader, chosen, groups=groups) if in_parts and not store_ids else None
    if parted is not None:
        snapshot, state = parted
    else:
        snapshot, state = reader.read_snapshot(
            list(store_ids) if store_ids else None, chosen, groups=groups
        )
    return snapshot, state, _now(as_of_us, state)


def _now(as_of_us: int | None, state: DatasetState) -> int:
    now_us = as_of_us if as_of_us is not None else state.newest_poll_us
    # No polls: every store is absent, the result is empty.
    return 0 if now_us is None else now_us


def _unknown(snapshot: Snapshot, store_ids: Sequence[str] | None) -> tuple[str, ...]:
    if not store_ids:
        return ()
    known = set(snapshot.stores.store_id.tolist())
    return tuple(dict.fromkeys(i for i in store_ids if i not in known))


def _first_poll(snapshot: Snapshot) -> int | None:
    polls = snapshot.polls.ts_us
    return int(polls.min()) if len(polls) else None


#: A local date starts at most this long before the same date's midnight in
#: UTC (UTC+14 today; some zones' local mean times of the 19th century, up to
#: about +15 hours, are covered too).
_LOCAL_DATE_LEAD_US = DAY_US


def request_start_us(request: ReportRequest, now_us: int | None) -> int | None:
    """The first instant the report as of ``now_us`` computes over: the
    week before ``now`` (stores, groups) or the first local midnight of the
    first date (daily). Nothing before it but each store's last poll is
    needed. None: it depends on a ``now`` not known yet."""
    if request.kind == "daily":
        assert request.first_date is not None
        return request.first_date * DAY_US - _LOCAL_DATE_LEAD_US
    return None if now_us is None else now_us - WEEK_US


def _outages_from(request: OutagesRequest, now_us: int) -> int:
    return now_us - WEEK_US if request.from_us is None else request.from_us


def _span_from(
    start_us: Callable[[int], int | None],
) -> Callable[[int | None, DatasetState], Span | None]:
    """The span from ``start_us(now)`` to ``now``, given ``as_of_us`` and the
    dataset state (None when there is no ``now``: no polls at all).

    It always ends at ``now``, even for a computation that ends before it:
    with nearest interpolation a poll after the computation's end can still
    speak for its last moments."""

    def span(as_of_us: int | None, state: DatasetState) -> Span | None:
        now_us = as_of_us if as_of_us is not None else state.newest_poll_us
        start = None if now_us is None else start_us(now_us)
        if now_us is None or start is None:
            return None
        return Span(min(start, now_us), now_us)

    return span
