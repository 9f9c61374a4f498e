"""Outages (SPEC 8.5): per store and fleet-wide, filtered, sorted and paged.

Computed on request from one snapshot, like a report, so each request's work
is bounded: the range is at most :data:`MAX_FLEET_RANGE` fleet-wide
(:data:`MAX_STORE_RANGE` for one store), it may hold at most
``STOREMON_MAX_OUTAGE_POLLS`` polls, and a page is at most :data:`MAX_PAGE`
rows. Each is a heavy read (see ``api.limits``): computed in a worker
process, a few at a time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from storemon.api.deps import ContainerDep
from storemon.api.errors import ApiError
from storemon.api.limits import worker_services
from storemon.api.params import only_query, timestamp_param
from storemon.api.routes.stores import StoreIdPath
from storemon.api.schemas import ErrorBody, format_us
from storemon.engine import TICKS_PER_MICROSECOND, TICKS_PER_SECOND, Interpolation

if TYPE_CHECKING:
    from storemon.reports.service import OutagesRequest

router = APIRouter(tags=["outages"])

MAX_FLEET_RANGE = timedelta(days=31)
MAX_STORE_RANGE = timedelta(days=366)
MAX_PAGE = 1000
_US = 1_000_000
#: ``min_minutes`` beyond any range the service computes.
_MAX_MINUTES = 1e9


class OutageItem(BaseModel):
    store_id: str
    start_utc: str = Field(description="Start, ISO 8601 UTC, truncated to the microsecond.")
    end_utc: str = Field(description="End, ISO 8601 UTC, truncated to the microsecond.")
    minutes: float = Field(description="Length in minutes, 2 decimals, from the exact length.")


class OutageList(BaseModel):
    items: list[OutageItem]
    total: int = Field(description="Outages matching the filters in all.")
    limit: int
    offset: int
    now: str | None = Field(description="The `now` the range is cut at (data watermark).")
    from_: str = Field(alias="from", description="Start of the range used.")
    to: str = Field(description="End of the range used (cut to now).")
    interpolation: str
    max_gap: float | None = Field(description="The max gap in minutes, if any.")


_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody},
    422: {"model": ErrorBody, "description": "A bad range, or one holding too many polls."},
    503: {"model": ErrorBody, "description": "Too many heavy reads at once; see Retry-After."},
}

FromQuery = Annotated[
    str | None,
    Query(
        alias="from",
        max_length=64,
        description="Start of the range, a UTC timestamp (default: a week before now).",
    ),
]
ToQuery = Annotated[
    str | None,
    Query(
        alias="to", max_length=64, description="End of the range, a UTC timestamp (default: now)."
    ),
]
AsOfQuery = Annotated[
    str | None, Query(max_length=64, description="Compute as of this UTC timestamp.")
]
MaxGapQuery = Annotated[
    str | None, Query(max_length=64, description="How far one poll speaks, in minutes.")
]
MinMinutesQuery = Annotated[
    float, Query(ge=0, le=_MAX_MINUTES, description="Only outages at least this long.")
]
SortQuery = Annotated[
    Literal["start", "length"],
    Query(description="`start`: by start time; `length`: longest first."),
]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_PAGE)]
OffsetQuery = Annotated[int, Query(ge=0, le=2**31 - 1)]


_COMMON_QUERY = (
    "from", "to", "as_of", "interpolation", "max_gap", "min_minutes", "sort", "limit", "offset",
)  # fmt: skip


@router.get(
    "/outages",
    response_model=OutageList,
    responses=_RESPONSES,
    dependencies=[only_query(*_COMMON_QUERY, "group")],
)
async def fleet_outages(
    container: ContainerDep,
    from_ts: FromQuery = None,
    to_ts: ToQuery = None,
    as_of: AsOfQuery = None,
    interpolation: Interpolation = "nearest",
    max_gap: MaxGapQuery = None,
    min_minutes: MinMinutesQuery = 0,
    group: Annotated[
        str | None, Query(max_length=255, description="Only this group's stores.")
    ] = None,
    sort: SortQuery = "start",
    limit: LimitQuery = 100,
    offset: OffsetQuery = 0,
) -> OutageList:
    """Every store's outages overlapping the range, cut to it (SPEC 8.5)."""
    return await _outages(
        container, None, group, from_ts, to_ts, as_of, interpolation, max_gap,
        min_minutes, sort, limit, offset, MAX_FLEET_RANGE,
    )  # fmt: skip


@router.get(
    "/stores/{store_id:path}/outages",
    response_model=OutageList,
    responses=_RESPONSES,
    dependencies=[only_query(*_COMMON_QUERY)],
)
async def store_outages(
    container: ContainerDep,
    store_id: StoreIdPath,
    from_ts: FromQuery = None,
    to_ts: ToQuery = None,
    as_of: AsOfQuery = None,
    interpolation: Interpolation = "nearest",
    max_gap: MaxGapQuery = None,
    min_minutes: MinMinutesQuery = 0,
    sort: SortQuery = "start",
    limit: LimitQuery = 100,
    offset: OffsetQuery = 0,
) -> OutageList:
    """One store's outages overlapping the range, cut to it (SPEC 8.5)."""
    return await _outages(
        container, store_id, None, from_ts, to_ts, as_of, interpolation, max_gap,
        min_minutes, sort, limit, offset, MAX_STORE_RANGE,
    )  # fmt: skip


async def _outages(
    container: ContainerDep,
    store_id: str | None,
    group: str | None,
    from_ts: str | None,
    to_ts: str | None,
    as_of: str | None,
    interpolation: Interpolation,
    max_gap: str | None,
    min_minutes: float,
    sort: Literal["start", "length"],
    limit: int,
    offset: int,
    max_range: timedelta,
) -> OutageList:
    from storemon.reports.options import minutes_to_us
    from storemon.reports.service import OutagesRequest

    gap_us = None
    if max_gap is not None:
        gap_us = minutes_to_us(max_gap)
        if gap_us is None:
            raise ApiError(422, f"max_gap {max_gap!r} is not a number of minutes greater than 0")
    request = OutagesRequest(
        from_us=timestamp_param("from", from_ts),
        to_us=timestamp_param("to", to_ts),
        as_of_us=timestamp_param("as_of", as_of),
        interpolation=interpolation,
        max_gap_us=gap_us,
        store_ids=None if store_id is None else (store_id,),
        group=group,
        max_range_us=int(max_range.total_seconds()) * _US,
        max_polls=container.settings.max_outage_polls,
    )
    return await container.heavy_reads.run(_outage_list, request, min_minutes, sort, limit, offset)


def _outage_list(
    request: OutagesRequest,
    min_minutes: float,
    sort: Literal["start", "length"],
    limit: int,
    offset: int,
) -> OutageList:
    """One page of outages, computed in a heavy-read worker process."""
    from decimal import ROUND_CEILING, Decimal

    from storemon.data.stores import store_exists
    from storemon.reports.service import ReportRequestError, build_outages, outage_page

    services = worker_services()
    if request.store_ids is not None:
        [store_id] = request.store_ids
        with services.engine.connect() as connection:
            if not store_exists(connection, store_id):
                raise ApiError(404, f"unknown store_id {store_id!r}")
    try:
        built = build_outages(services.reader, request)
    except ReportRequestError as error:
        raise ApiError(422, str(error)) from None
    outages = built.outages
    known_now = request.as_of_us is not None or built.state.newest_poll_us is not None
    # At least min_minutes: compared in exact ticks (a part of a tick counts whole).
    min_ticks = int(
        (Decimal(repr(min_minutes)) * 60 * TICKS_PER_SECOND).to_integral_value(ROUND_CEILING)
    )
    rows, total = outage_page(outages, min_ticks, sort, limit, offset)
    minute_ticks = 60 * TICKS_PER_SECOND
    # Half up to 2 decimals, on integers as in the CSV.
    hundredths = (outages.length_ticks[rows] * 100 + minute_ticks // 2) // minute_ticks
    items = [
        OutageItem(
            store_id=str(outages.store_id[row]),
            start_utc=_instant(int(outages.start_tick[row])),
            end_utc=_instant(int(outages.end_tick[row])),
            minutes=int(cents) / 100,
        )
        for row, cents in zip(rows.tolist(), hundredths.tolist(), strict=True)
    ]
    gap_us = request.max_gap_us
    return OutageList(
        items=items,
        total=total,
        limit=limit,
        offset=offset,
        now=format_us(outages.now_us) if known_now else None,
        to=_instant(outages.to_us * TICKS_PER_MICROSECOND),
        interpolation=request.interpolation,
        max_gap=None if gap_us is None else gap_us / (60 * _US),
        **{"from": _instant(outages.from_us * TICKS_PER_MICROSECOND)},
    )


def _instant(ticks: int) -> str:
    text = format_us(ticks // TICKS_PER_MICROSECOND)
    assert text is not None
    return text
