"""Stores: search, one store's summary, and its time line for the dashboard chart."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from storemon.api.deps import ContainerDep, Mutating
from storemon.api.errors import ApiError
from storemon.api.limits import worker_services
from storemon.api.params import max_gap_param, timestamp_param
from storemon.api.schemas import ErrorBody, format_us
from storemon.data import stores
from storemon.data.retention import check_retained
from storemon.data.snapshot import PrunedHistoryError
from storemon.engine import CLOSED, DEFAULT_TIMEZONE, SpecialHours, store_timeline
from storemon.ingest.removal import remove_polls
from storemon.ingest.timestamps import SUPPORTED_RANGE, in_supported_range

router = APIRouter(tags=["stores"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}

MAX_SEARCH_RESULTS = 100
DEFAULT_SPAN = timedelta(days=7)
#: The longest time line one request may ask for: three weeks (the engine
#: packs interval offsets into 41 bits, about 25 days).
MAX_SPAN = timedelta(days=21)
_US = 1_000_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_SPAN_US = int(DEFAULT_SPAN.total_seconds()) * _US
_MAX_SPAN_US = int(MAX_SPAN.total_seconds()) * _US

#: ``:path`` in the route: a store id may hold ``/`` (sent as is or as ``%2F``).
StoreIdPath = Annotated[
    str, Path(description="The store's id, exactly as in the feeds (`/` may be sent as is).")
]


class StoreItem(BaseModel):
    store_id: str
    timezone: str = Field(description="The store's zone, America/Chicago when it has none.")
    polls: int


class StoreSearch(BaseModel):
    items: list[StoreItem]
    total: int = Field(description="Stores matching the query in all.")


class HoursRow(BaseModel):
    day: int = Field(description="0 = Monday ... 6 = Sunday.")
    start: str = Field(description="Local opening time, HH:MM:SS.", examples=["09:00:00"])
    end: str = Field(description="Local closing time, HH:MM:SS (24:00:00 = midnight after).")


class StoreSummary(BaseModel):
    store_id: str
    timezone: str
    timezone_is_default: bool = Field(
        description="True when the store has no timezone row and America/Chicago is used."
    )
    polls: int
    first_poll: str | None = Field(description="ISO 8601 UTC; null without polls.")
    last_poll: str | None = Field(description="ISO 8601 UTC; null without polls.")
    has_business_hours: bool = Field(
        description="False: no business-hours rows, the store counts as open 24/7."
    )
    business_days: int = Field(
        description="Weekdays with at least one row (the others are closed days)."
    )
    business_hours: list[HoursRow]


class PollPoint(BaseModel):
    t: str
    active: bool


class StatusSpan(BaseModel):
    start: str
    end: str
    active: bool | None = Field(
        description="True: estimated up; false: down; null: no poll speaks for it "
        "(only with `max_gap`)."
    )


class OpenSpan(BaseModel):
    start: str
    end: str


class SpecialRow(BaseModel):
    date: str = Field(description="Local date, YYYY-MM-DD.", examples=["2023-01-26"])
    start: str | None = Field(description="Local opening time; null on a closed row.")
    end: str | None = Field(description="Local closing time; null on a closed row.")


class StoreTimeline(BaseModel):
    """Every interval is half-open ``[start, end)``, in ISO 8601 UTC."""

    store_id: str
    timezone: str
    start: str
    end: str
    interpolation: Literal["nearest", "previous"]
    max_gap_minutes: float | None = Field(
        description="The max gap in force (SPEC 8.1), or null: every poll speaks until "
        "the next one."
    )
    polls: list[PollPoint] = Field(description="The polls inside the span.")
    status: list[StatusSpan] = Field(description="The status the report estimates.")
    open: list[OpenSpan] = Field(description="When the store is open by its business hours.")
    business_hours: list[HoursRow]
    special_hours: list[SpecialRow] = Field(
        description="Date exceptions of the store on the local dates around the span; on "
        "such a date they replace the weekly hours."
    )


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def _hours_rows(rows: list[tuple[int, int, int]]) -> list[HoursRow]:
    return [HoursRow(day=day, start=_clock(start), end=_clock(end)) for day, start, end in rows]


def _iso(value: int) -> str:
    text = format_us(value)
    assert text is not None
    return text


@router.get("/stores", response_model=StoreSearch)
def search(
    container: ContainerDep,
    query: Annotated[
        str, Query(max_length=255, description="A store_id prefix (case-sensitive).")
    ] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_RESULTS)] = 20,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> StoreSearch:
    """Stores whose id starts with `query`, in id order, with their poll counts."""
    with container.engine.connect() as connection:
        found, total = stores.search_stores(connection, query, limit, offset)
    return StoreSearch(
        items=[
            StoreItem(store_id=s.store_id, timezone=s.timezone or DEFAULT_TIMEZONE, polls=s.polls)
            for s in found
        ],
        total=total,
    )


@router.get("/store_summary/{store_id:path}", response_model=StoreSummary, responses=NOT_FOUND)
def summary(container: ContainerDep, store_id: StoreIdPath) -> StoreSummary:
    """One store: its polls, timezone and weekly business hours."""
    with container.engine.connect() as connection:
        detail = stores.store_detail(connection, store_id)
    if detail is None:
        raise ApiError(404, f"unknown store_id {store_id!r}")
    return StoreSummary(
        store_id=detail.store_id,
        timezone=detail.timezone or DEFAULT_TIMEZONE,
        timezone_is_default=detail.timezone is None,
        polls=detail.polls,
        first_poll=format_us(detail.first_poll_us),
        last_poll=format_us(detail.last_poll_us),
        has_business_hours=bool(detail.hours),
        business_days=len({day for day, _, _ in detail.hours}),
        business_hours=_hours_rows(detail.hours),
    )


def _span(start_us: int | None, end_us: int | None, newest_us: int | None) -> tuple[int, int]:
    if end_us is None:
        if start_us is not None:
            end_us = start_us + _SPAN_US
        elif newest_us is not None:
            end_us = newest_us
        else:
            raise ApiError(422, "no polls are loaded yet: give start or end")
    if start_us is None:
        start_us = end_us - _SPAN_US
    if end_us <= start_us:
        raise ApiError(422, "end must be after start")
    if end_us - start_us > _MAX_SPAN_US:
        raise ApiError(422, f"the span is longer than {MAX_SPAN.days} days")
    if not (in_supported_range(start_us) and in_supported_range(end_us)):
        raise ApiError(422, f"the span must lie within the supported range ({SUPPORTED_RANGE})")
    return start_us, end_us


TimestampQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="UTC timestamp, same formats as the feed (e.g. `2023-01-25T18:00:00Z`).",
    ),
]


@router.get(
    "/stores/{store_id:path}/timeline",
    response_model=StoreTimeline,
    responses={
        **NOT_FOUND,
        422: {"model": ErrorBody, "description": "A bad span, or one holding too many polls."},
        503: {"model": ErrorBody, "description": "Too many heavy reads at once; see Retry-After."},
    },
)
async def timeline(
    container: ContainerDep,
    store_id: StoreIdPath,
    start: TimestampQuery = None,
    end: TimestampQuery = None,
    interpolation: Literal["nearest", "previous"] = "nearest",
    max_gap: Annotated[
        str | None,
        Query(
            max_length=32,
            description="Minutes (e.g. `90` or `7.5`): a poll speaks for at most this long "
            "(SPEC 8.1); time no poll speaks for has status null.",
        ),
    ] = None,
) -> Response:
    """Polls, estimated status and open intervals of one store over a span.

    By default the week ending at the newest poll of the dataset, the last-week
    window of the report. Polls after `end` are ignored, as the report ignores
    polls after its `now`. Special hours apply. At most 21 days, and at most
    `STOREMON_MAX_TIMELINE_POLLS` polls.
    """
    start_us, end_us = timestamp_param("start", start), timestamp_param("end", end)
    max_gap_us = max_gap_param("max_gap", max_gap)
    body = await container.heavy_reads.run(
        _timeline_json,
        store_id,
        start_us,
        end_us,
        interpolation,
        container.settings.max_timeline_polls,
        max_gap_us,
    )
    return Response(body, media_type="application/json")


def _timeline_json(
    store_id: str,
    start_us: int | None,
    end_us: int | None,
    interpolation: Literal["nearest", "previous"],
    max_polls: int,
    max_gap_us: int | None,
) -> bytes:
    """The time line as JSON, computed and serialized in a heavy-read worker
    process (serializing a dense week is a good part of the work)."""
    with worker_services().engine.connect() as connection:
        newest = stores.newest_poll_us(connection) if end_us is None else None
        start_us, end_us = _span(start_us, end_us, newest)
        try:
            check_retained(connection, start_us)
        except PrunedHistoryError as error:
            raise ApiError(422, str(error)) from None
        count = stores.polls_in_span(connection, store_id, start_us, end_us)
        if count > max_polls:
            raise ApiError(
                422, f"the span holds {count} polls, more than {max_polls}: ask for less"
            )
        history = stores.store_history(connection, store_id, start_us, end_us)
    if history is None:
        raise ApiError(404, f"unknown store_id {store_id!r}")
    line = store_timeline(
        history.polls,
        history.hours,
        history.timezone,
        start_us,
        end_us,
        interpolation,
        history.special,
        max_gap_us,
    )
    in_span = history.polls.ts_us >= start_us
    hours = _hours_rows(
        list(
            zip(
                history.hours.day.tolist(),
                history.hours.start_s.tolist(),
                history.hours.end_s.tolist(),
                strict=True,
            )
        )
    )
    head: dict[str, Any] = {
        "store_id": store_id,
        "timezone": line.timezone,
        "start": _iso(start_us),
        "end": _iso(end_us),
        "interpolation": interpolation,
        "max_gap_minutes": None if max_gap_us is None else max_gap_us / 60_000_000,
    }
    # The long lists are written by polars, off the interpreter lock: a
    # model per poll would hold it for seconds on a dense store. The keys
    # come in the order of ``StoreTimeline``.
    polls = pl.DataFrame(
        {"t": history.polls.ts_us[in_span], "active": history.polls.active[in_span]}
    ).with_columns(_iso_expr("t"))
    status = pl.DataFrame(
        line.status_intervals,
        schema={"start": pl.Int64, "end": pl.Int64, "active": pl.Boolean},
        orient="row",
    ).with_columns(_iso_expr("start"), _iso_expr("end"))
    opens = pl.DataFrame(line.open_intervals, schema=["start", "end"], orient="row")
    opens = opens.with_columns(_iso_expr("start"), _iso_expr("end"))
    parts = [
        _compact(head)[:-1],
        f',"polls":{polls.write_json()}',
        f',"status":{status.write_json()}',
        f',"open":{opens.write_json()}',
        f',"business_hours":{_compact([row.model_dump() for row in hours])}',
        f',"special_hours":{_compact(_special_rows(history.special))}}}',
    ]
    return "".join(parts).encode()


def _special_rows(special: SpecialHours) -> list[dict[str, Any]]:
    return [
        SpecialRow(
            date=str(date.fromordinal(_EPOCH_ORDINAL + day)),
            start=None if start_s == CLOSED else _clock(start_s),
            end=None if end_s == CLOSED else _clock(end_s),
        ).model_dump()
        for day, start_s, end_s in zip(
            special.date.tolist(), special.start_s.tolist(), special.end_s.tolist(), strict=True
        )
    ]


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _iso_expr(name: str) -> pl.Expr:
    """Epoch microseconds as :func:`format_us` writes them, vectorized."""
    moment = pl.col(name).cast(pl.Int64).cast(pl.Datetime("us"))
    return (
        pl.when(pl.col(name) % 1_000_000 == 0)
        .then(moment.dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        .otherwise(moment.dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
        .alias(name)
    )


class PollsRemoved(BaseModel):
    store_id: str
    deleted: int = Field(description="Polls deleted.")
    ingest_id: int = Field(description="The removal's entry in the ingest log.")


@router.delete(
    "/stores/{store_id:path}/polls",
    response_model=PollsRemoved,
    dependencies=[Mutating],
    responses={**NOT_FOUND, 422: {"model": ErrorBody}},
    tags=["ingest"],
)
def delete_polls(
    container: ContainerDep,
    store_id: StoreIdPath,
    from_: Annotated[
        str | None, Query(alias="from", max_length=64, description="First poll time deleted.")
    ] = None,
    to: Annotated[str | None, Query(max_length=64, description="Last poll time deleted.")] = None,
) -> PollsRemoved:
    """Delete a store's polls from `from` to `to` (both included; without
    them, all its polls). Logged in the ingest log; reports computed before
    are not reused."""
    from_us, to_us = timestamp_param("from", from_), timestamp_param("to", to)
    if from_us is not None and to_us is not None and to_us < from_us:
        raise ApiError(422, "to must not be before from")
    source = f"DELETE /stores/{store_id}/polls from={from_ or ''} to={to or ''}"
    removal = remove_polls(container.engine, store_id, from_us, to_us, source=source)
    if removal is None:
        raise ApiError(404, f"unknown store_id {store_id!r}")
    return PollsRemoved(store_id=store_id, deleted=removal.deleted, ingest_id=removal.ingest_id)
