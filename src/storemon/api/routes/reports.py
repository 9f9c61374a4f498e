"""Reports: the take-home flow (trigger, poll, CSV) and the rest around it."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from storemon.api.deps import ContainerDep, Mutating, accepts
from storemon.api.errors import ApiError
from storemon.api.params import only_query, timestamp_param
from storemon.api.schemas import (
    MAX_STORE_IDS,
    ErrorBody,
    ReportInfo,
    ReportList,
    StatusBody,
    TriggerOptions,
    TriggerRequest,
    TriggerResponse,
)
from storemon.data import reports
from storemon.data.reports import ReportParams, ReportRecord, ReportStatus
from storemon.data.retention import check_retained
from storemon.data.snapshot import PrunedHistoryError
from storemon.reports.frame import decode_frame
from storemon.reports.queue import QueueFullError, QueueUnavailableError, trigger_report
from storemon.reports.rendering import FORMATS, FormatLimitError, ReportFormat, render

router = APIRouter(tags=["reports"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}
#: Seconds a client is asked to wait when the queue is full.
RETRY_AFTER_S = 5
#: Beyond any real list, and within every database's integers.
MAX_OFFSET = 2**31 - 1
#: Report ids are 32 characters (``reports.new_report_id``).
REPORT_ID_LENGTH = 32


def _trigger(container: ContainerDep, params: ReportParams) -> TriggerResponse:
    from storemon.reports.service import request_of, request_start_us

    # Refused here, not failed later, when what the report needs is known
    # now: the week before as_of, or a daily report's dates.
    start_us = request_start_us(request_of(params), params.as_of_us)
    if start_us is not None:
        try:
            with container.engine.connect() as connection:
                check_retained(connection, start_us)
        except PrunedHistoryError as error:
            field = "from" if params.kind == "daily" else "as_of"
            raise ApiError(422, f"{field}: {error}") from None
    try:
        settings = container.settings
        triggered = trigger_report(
            container.engine,
            container.runner,
            params,
            settings.queue_limit,
            timedelta(seconds=settings.lease_seconds),
        )
    except QueueFullError as error:
        raise ApiError(503, str(error), {"Retry-After": str(RETRY_AFTER_S)}) from None
    except QueueUnavailableError as error:
        raise ApiError(503, str(error), {"Retry-After": str(RETRY_AFTER_S)}) from None
    record = triggered.record
    return TriggerResponse(report_id=record.id, status=record.status.value, reused=triggered.reused)


def _once(name: str, query: Any, body: TriggerOptions | None) -> Any:
    """A trigger parameter from the query or the JSON body (either; both
    only when they agree)."""
    given = getattr(body, name) if body is not None and name in body.model_fields_set else None
    if query is not None and given is not None and query != given:
        raise ApiError(422, f"{name} differs between the query and the body")
    return query if query is not None else given


def _params(
    body: TriggerOptions | None,
    store_ids: tuple[str, ...] | None,
    as_of: str | None,
    interpolation: str | None,
    kind: str | None,
    max_gap: str | None,
    from_date: str | None,
    to_date: str | None,
) -> ReportParams:
    """The report's parameters from the query and the body (422 when they
    do not parse or do not fit together)."""
    from storemon.reports.options import date_to_days, minutes_number_to_us, minutes_to_us
    from storemon.reports.service import ReportRequestError, request_of

    gap_query = None
    if max_gap is not None:
        gap_query = minutes_to_us(max_gap)
        if gap_query is None:
            raise ApiError(422, f"max_gap {max_gap!r} is not a number of minutes greater than 0")
    gap_body = None
    if body is not None and body.max_gap is not None:
        gap_body = minutes_number_to_us(body.max_gap)
    if gap_query is not None and gap_body is not None and gap_query != gap_body:
        raise ApiError(422, "max_gap differs between the query and the body")
    dates = []
    for name, query in (("from", from_date), ("to", to_date)):
        given = getattr(body, "from_" if name == "from" else name) if body is not None else None
        if query is not None and given is not None and query != given:
            raise ApiError(422, f"{name} differs between the query and the body")
        text = query if query is not None else given
        days = None if text is None else date_to_days(text)
        if text is not None and days is None:
            raise ApiError(422, f"{name} {text!r} is not a date YYYY-MM-DD from 1900 to 2199")
        dates.append(days)
    params = ReportParams(
        timestamp_param("as_of", _once("as_of", as_of, body)),
        _once("interpolation", interpolation, body) or "nearest",
        store_ids,
        kind=_once("kind", kind, body) or "stores",
        max_gap_us=gap_query if gap_query is not None else gap_body,
        first_date=dates[0],
        last_date=dates[1],
    )
    try:
        request_of(params)
    except ReportRequestError as error:
        raise ApiError(422, str(error)) from None
    return params


AsOfQuery = Annotated[
    str | None,
    Query(max_length=64, description="As `as_of` in the body (give it in one or the other)."),
]
InterpolationQuery = Annotated[
    Literal["nearest", "previous"] | None,
    Query(description="As `interpolation` in the body."),
]
KindQuery = Annotated[
    Literal["stores", "daily", "groups"] | None, Query(description="As `kind` in the body.")
]
MaxGapQuery = Annotated[
    str | None, Query(max_length=64, description="As `max_gap` in the body (minutes).")
]
FromQuery = Annotated[
    str | None, Query(alias="from", max_length=10, description="As `from` in the body.")
]
ToQuery = Annotated[
    str | None, Query(alias="to", max_length=10, description="As `to` in the body.")
]
_OPTION_QUERY = ("as_of", "interpolation", "kind", "max_gap", "from", "to")
_TRIGGER_RESPONSES: dict[int | str, dict[str, Any]] = {
    415: {"model": ErrorBody, "description": "A body that is not JSON."},
    422: {"model": ErrorBody},
    503: {"model": ErrorBody, "description": "Too many reports queued; see Retry-After."},
}


@router.post(
    "/trigger_report",
    response_model=TriggerResponse,
    dependencies=[Mutating, accepts(json=True), only_query(*_OPTION_QUERY, "store_ids")],
    responses=_TRIGGER_RESPONSES,
)
def trigger(
    container: ContainerDep,
    body: TriggerRequest | None = None,
    as_of: AsOfQuery = None,
    interpolation: InterpolationQuery = None,
    store_ids: Annotated[
        list[str] | None,
        Query(max_length=MAX_STORE_IDS, description="As `store_ids` in the body (repeat it)."),
    ] = None,
    kind: KindQuery = None,
    max_gap: MaxGapQuery = None,
    from_date: FromQuery = None,
    to_date: ToQuery = None,
) -> TriggerResponse:
    """Start a report for every store (or some) and return its id at once.

    Parameters come in the JSON body or the query, with the same names.
    `kind` chooses the report (`stores`, `daily` with `from` and `to`,
    `groups`); `max_gap` adds the no-data columns to any kind. Poll
    `GET /get_report/{report_id}` until it answers with the CSV. The same
    parameters on unchanged data return the existing report (`reused: true`).
    """
    stores = _once("store_ids", store_ids, body)
    params = _params(
        body,
        tuple(stores) if stores is not None else None,
        as_of,
        interpolation,
        kind,
        max_gap,
        from_date,
        to_date,
    )
    return _trigger(container, params)


@router.post(
    "/trigger_single_store_report/{store_id:path}",
    response_model=TriggerResponse,
    dependencies=[Mutating, accepts(json=True), only_query(*_OPTION_QUERY)],
    responses={**NOT_FOUND, **_TRIGGER_RESPONSES},
)
def trigger_single_store(
    container: ContainerDep,
    store_id: str,
    body: TriggerOptions | None = None,
    as_of: AsOfQuery = None,
    interpolation: InterpolationQuery = None,
    kind: KindQuery = None,
    max_gap: MaxGapQuery = None,
    from_date: FromQuery = None,
    to_date: ToQuery = None,
) -> TriggerResponse:
    """Start a report for one store (parameters as for `POST /trigger_report`)."""
    from storemon.data.stores import store_exists

    params = _params(body, (store_id,), as_of, interpolation, kind, max_gap, from_date, to_date)
    with container.engine.connect() as connection:
        if not store_exists(connection, store_id):
            raise ApiError(404, f"unknown store_id {store_id!r}")
    return _trigger(container, params)


def _unknown(report_id: str) -> ApiError:
    return ApiError(404, f"unknown report_id {report_id!r}")


def _could_exist(report_id: str) -> bool:
    """False for an id no report can have, answered without the database:
    PostgreSQL refuses a NUL in text with an error, not a miss."""
    return 0 < len(report_id) <= REPORT_ID_LENGTH and "\x00" not in report_id


async def report_or_404(container: ContainerDep, report_id: str) -> ReportRecord:
    """The report ``report_id`` names (from the path or the query), else a
    404. One row by primary key, read on the event loop: the hop to a
    worker thread would cost more than the query (every client polls)."""
    if not _could_exist(report_id):
        raise _unknown(report_id)
    with container.engine.connect() as connection:
        record = reports.get(connection, report_id)
    if record is None:
        raise _unknown(report_id)
    return record


ReportDep = Annotated[ReportRecord, Depends(report_or_404)]


def _complete_file(container: ContainerDep, report_id: str) -> tuple[ReportRecord, bytes | None]:
    """The report, and its stored frame when it is complete (one connection)."""
    if not _could_exist(report_id):
        raise _unknown(report_id)
    with container.engine.connect() as connection:
        record = reports.get(connection, report_id)
        if record is None:
            raise _unknown(report_id)
        if record.status is not ReportStatus.complete:
            return record, None
        return record, reports.read_frame(connection, report_id)


def _file_response(report_id: str, data: bytes, fmt: ReportFormat) -> Response:
    media_type, suffix = FORMATS[fmt]
    try:
        content = render(decode_frame(data), fmt)
    except FormatLimitError as error:
        raise ApiError(422, str(error)) from None
    return Response(
        content,
        media_type=media_type,
        headers={
            "X-Report-Status": "Complete",
            "Content-Disposition": f'attachment; filename="report-{report_id}.{suffix}"',
        },
    )


def _download(container: ContainerDep, report_id: str, fmt: ReportFormat) -> Response:
    record, data = _complete_file(container, report_id)
    if data is None:
        raise ApiError(409, f"report {report_id!r} is {record.status.value}, not Complete")
    return _file_response(report_id, data, fmt)


_GET_REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": 'While queued or running: `{"status": "Running"}`. When done: the '
        "CSV (`text/csv`, header `X-Report-Status: Complete`). On failure: "
        '`{"status": "Failed", "error": "..."}`.',
        "content": {"text/csv": {}, "application/json": {"schema": StatusBody.model_json_schema()}},
    },
    404: {"model": ErrorBody},
}


async def _get_report(container: ContainerDep, record: ReportRecord) -> Response:
    if record.status is ReportStatus.complete:
        # The file, which can be megabytes, is read on a thread.
        return await run_in_threadpool(_download, container, record.id, "csv")
    if record.status is ReportStatus.failed:
        failed = StatusBody(status="Failed", error=record.error or "unknown error")
        return JSONResponse(failed.model_dump(), headers={"X-Report-Status": "Failed"})
    # Pending counts as Running for the take-home clients, which know only
    # Running / Complete / Failed; the header and /reports/{id} tell them apart.
    running = StatusBody(status="Running")
    return JSONResponse(
        running.model_dump(exclude_none=True), headers={"X-Report-Status": record.status.value}
    )


@router.get("/get_report/{report_id}", response_class=Response, responses=_GET_REPORT_RESPONSES)
async def get_report(container: ContainerDep, record: ReportDep) -> Response:
    """A report's status, or its CSV once it is complete."""
    return await _get_report(container, record)


@router.get("/get_report", response_class=Response, responses=_GET_REPORT_RESPONSES)
async def get_report_by_query(container: ContainerDep, record: ReportDep) -> Response:
    """The same as `GET /get_report/{report_id}`."""
    return await _get_report(container, record)


@router.get("/reports", response_model=ReportList)
def list_reports(
    container: ContainerDep,
    status: ReportStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> ReportList:
    """Reports, newest first."""
    with container.engine.connect() as connection:
        records, total = reports.list_reports(connection, status, limit, offset)
    return ReportList(
        items=[ReportInfo.of(r) for r in records], total=total, limit=limit, offset=offset
    )


@router.get("/reports/{report_id}", response_model=ReportInfo, responses=NOT_FOUND)
async def report_info(record: ReportDep) -> ReportInfo:
    """One report's status, parameters, timings, row count and data watermark."""
    return ReportInfo.of(record)


_DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report file.",
        "content": {media_type: {} for media_type, _ in FORMATS.values()},
    },
    404: {"model": ErrorBody},
    409: {"model": ErrorBody, "description": "The report is not complete."},
    422: {"model": ErrorBody, "description": "The report does not fit the format."},
}


@router.get("/reports/{report_id}/download", response_class=Response, responses=_DOWNLOAD_RESPONSES)
def download(container: ContainerDep, report_id: str, format: ReportFormat = "csv") -> Response:
    """Download a complete report as CSV, JSON, Parquet or XLSX."""
    return _download(container, report_id, format)


@router.get("/download_report", response_class=Response, responses=_DOWNLOAD_RESPONSES)
def download_by_query(
    container: ContainerDep, report_id: str, format: ReportFormat = "csv"
) -> Response:
    """The same as `GET /reports/{report_id}/download`."""
    return _download(container, report_id, format)


@router.delete(
    "/reports/{report_id}", status_code=204, dependencies=[Mutating], responses=NOT_FOUND
)
def delete_report(container: ContainerDep, report_id: str) -> Response:
    """Delete a report and its file (a running one is abandoned)."""
    if not _could_exist(report_id):
        raise _unknown(report_id)
    with container.engine.begin() as connection:
        if not reports.delete(connection, [report_id]):
            raise _unknown(report_id)
    container.report_tables.forget(report_id)
    return Response(status_code=204)
