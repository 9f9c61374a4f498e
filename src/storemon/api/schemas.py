"""Request and response bodies (they become the OpenAPI schema)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from storemon.data.reports import ReportRecord
from storemon.store_ids import MAX_STORE_ID_CHARS, store_id_problem

MAX_STORE_IDS = 10_000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def format_us(value: int | None) -> str | None:
    """Epoch microseconds as ISO 8601 UTC text. Never fails: a value beyond
    the years ``datetime`` holds (only a row stored before the supported
    range was enforced can have one) is shown as its number, so one odd row
    cannot break a listing.

    >>> format_us(1_674_670_402_479_220)
    '2023-01-25T18:13:22.479220Z'
    >>> format_us(253_402_387_199_000_000)
    '253402387199000000 µs since 1970-01-01 UTC (out of range)'
    """
    if value is None:
        return None
    try:
        moment = _EPOCH + timedelta(microseconds=value)
    except OverflowError:
        return f"{value} µs since 1970-01-01 UTC (out of range)"
    return moment.isoformat().replace("+00:00", "Z")


def _date(days: int | None) -> str | None:
    from storemon.reports.options import days_to_date

    return None if days is None else days_to_date(days)


class TriggerOptions(BaseModel):
    """All fields optional: by default the report is as of the newest poll,
    with the `nearest` interpolation."""

    # A misspelt field is an error, not a silently different report.
    model_config = ConfigDict(extra="forbid")

    as_of: str | None = Field(
        None,
        description="Compute as of this UTC timestamp instead of the newest poll "
        "(same formats as the feed, e.g. `2023-01-25 18:00:00` or `2023-01-25T18:00:00Z`).",
        examples=["2023-01-25 18:00:00"],
        max_length=64,
    )
    interpolation: Literal["nearest", "previous"] = Field(
        "nearest", description="How status is estimated between polls."
    )
    kind: Literal["stores", "daily", "groups"] = Field(
        "stores",
        description="`stores`: one row per store (SPEC 5); `daily`: one row per store and "
        "local date from `from` to `to` (SPEC 8.3); `groups`: one row per group (SPEC 8.4).",
    )
    max_gap: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="How far one poll speaks, in minutes (SPEC 8.1): time beyond it is no "
        "data, and the report gains the nodata columns.",
        examples=[90],
    )
    from_: str | None = Field(
        None,
        alias="from",
        max_length=10,
        description="First local date of a `daily` report, `YYYY-MM-DD`.",
        examples=["2023-01-01"],
    )
    to: str | None = Field(
        None,
        max_length=10,
        description="Last local date of a `daily` report, `YYYY-MM-DD`.",
        examples=["2023-01-28"],
    )


class TriggerRequest(TriggerOptions):
    """All fields optional: by default the report covers every store, as of the
    newest poll, with the `nearest` interpolation."""

    store_ids: list[str] | None = Field(
        None,
        description="Only these stores (unknown ids are ignored, an empty list gives an "
        "empty report); omit it for every store.",
        max_length=MAX_STORE_IDS,
    )

    @field_validator("store_ids")
    @classmethod
    def _ids_are_sane(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        for store_id in value:
            problem = store_id_problem(store_id)
            if problem is not None:
                raise ValueError(
                    f"{problem}: store ids are 1 to {MAX_STORE_ID_CHARS} characters, no NUL"
                )
        return list(dict.fromkeys(value))  # repeats do not change the report


class TriggerResponse(BaseModel):
    report_id: str
    status: str = Field(description="Pending, Running, Complete or Failed.")
    reused: bool = Field(
        description="True when an equal report (same parameters, same data) already "
        "existed and is returned instead of computing a new one."
    )


class ReportInfo(BaseModel):
    report_id: str
    status: str
    kind: str = Field(description="stores, daily or groups.")
    interpolation: str
    as_of: str | None = Field(description="The requested as-of time, if any.")
    store_ids: list[str] | None
    max_gap: float | None = Field(description="The max gap in minutes, if any.")
    from_: str | None = Field(alias="from", description="First date of a daily report.")
    to: str | None = Field(description="Last date of a daily report.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None
    error: str | None
    row_count: int | None
    now: str | None = Field(description="The `now` the windows end at (data watermark).")
    data_version: int | None = Field(
        description="Dataset version the report was computed on (until it is complete: the "
        "version it was asked for on)."
    )
    attempts: int
    stored_bytes: int | None = Field(
        description="Size of the stored report, from which every download format is rendered."
    )

    @classmethod
    def of(cls, record: ReportRecord) -> ReportInfo:
        return cls(
            report_id=record.id,
            status=record.status.value,
            kind=record.params.kind,
            interpolation=record.params.interpolation,
            as_of=format_us(record.params.as_of_us),
            store_ids=None if (ids := record.params.store_ids) is None else list(ids),
            max_gap=None if (gap := record.params.max_gap_us) is None else gap / 60_000_000,
            **{"from": _date(record.params.first_date)},
            to=_date(record.params.last_date),
            created_at=record.created_at,
            started_at=record.started_at,
            finished_at=record.finished_at,
            duration_s=record.duration_s,
            error=record.error,
            row_count=record.row_count,
            now=format_us(record.now_us),
            data_version=record.data_version,
            attempts=record.attempts,
            stored_bytes=record.frame_bytes,
        )


class ReportList(BaseModel):
    items: list[ReportInfo]
    total: int
    limit: int
    offset: int


class StatusBody(BaseModel):
    """`/get_report` before the CSV: exactly the published clients' shape."""

    status: Literal["Running", "Failed"]
    error: str | None = Field(None, description="Why the report failed (only when Failed).")


class ErrorBody(BaseModel):
    error: str
