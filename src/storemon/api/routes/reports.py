"""Reports: the take-home flow (trigger, poll, CSV) and the rest around it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from storemon.api.deps import ContainerDep, Mutating
from storemon.api.errors import ApiError
from storemon.api.params import timestamp_param
from storemon.api.schemas import (
    ErrorBody,
    ReportInfo,
    ReportList,
    StatusBody,
    TriggerRequest,
    TriggerResponse,
)
from storemon.data import reports
from storemon.data.reports import ReportParams, ReportRecord, ReportStatus
from storemon.reports.formats import FORMATS, convert
from storemon.reports.queue import QueueFullError, QueueUnavailableError, trigger_report

router = APIRouter(tags=["reports"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}}
ReportFormat = Literal["csv", "json", "parquet"]
#: Seconds a client is asked to wait when the queue is full.
RETRY_AFTER_S = 5
#: Beyond any real list, and within every database's integers.
MAX_OFFSET = 2**31 - 1


def _trigger(container: ContainerDep, params: ReportParams) -> TriggerResponse:
    try:
        triggered = trigger_report(
            container.engine, container.runner, params, container.settings.queue_limit
        )
    except QueueFullError as error:
        raise ApiError(503, str(error), {"Retry-After": str(RETRY_AFTER_S)}) from None
    except QueueUnavailableError as error:
        raise ApiError(503, str(error), {"Retry-After": str(RETRY_AFTER_S)}) from None
    record = triggered.record
    return TriggerResponse(report_id=record.id, status=record.status.value, reused=triggered.reused)


@router.post(
    "/trigger_report",
    response_model=TriggerResponse,
    dependencies=[Mutating],
    responses={
        422: {"model": ErrorBody},
        503: {"model": ErrorBody, "description": "Too many reports queued; see Retry-After."},
    },
)
def trigger(container: ContainerDep, body: TriggerRequest | None = None) -> TriggerResponse:
    """Start a report for every store (or some) and return its id at once.

    Poll `GET /get_report/{report_id}` until it answers with the CSV. The same
    parameters on unchanged data return the existing report (`reused: true`).
    """
    body = body or TriggerRequest()
    params = ReportParams(
        timestamp_param("as_of", body.as_of),
        body.interpolation,
        tuple(body.store_ids) if body.store_ids is not None else None,
    )
    return _trigger(container, params)


@router.post(
    "/trigger_single_store_report/{store_id}",
    response_model=TriggerResponse,
    dependencies=[Mutating],
    responses=NOT_FOUND,
)
def trigger_single_store(
    container: ContainerDep,
    store_id: str,
    interpolation: Literal["nearest", "previous"] = "nearest",
    as_of: Annotated[str | None, Query(max_length=64)] = None,
) -> TriggerResponse:
    """Start a report for one store."""
    from storemon.data.stores import store_exists

    with container.engine.connect() as connection:
        if not store_exists(connection, store_id):
            raise ApiError(404, f"unknown store_id {store_id!r}")
    params = ReportParams(timestamp_param("as_of", as_of), interpolation, (store_id,))
    return _trigger(container, params)


def _record_or_404(container: ContainerDep, report_id: str) -> ReportRecord:
    with container.engine.connect() as connection:
        record = reports.get(connection, report_id)
    if record is None:
        raise ApiError(404, f"unknown report_id {report_id!r}")
    return record


def _complete_file(container: ContainerDep, report_id: str) -> tuple[ReportRecord, bytes | None]:
    """The report, and its CSV when it is complete (one connection)."""
    with container.engine.connect() as connection:
        record = reports.get(connection, report_id)
        if record is None:
            raise ApiError(404, f"unknown report_id {report_id!r}")
        if record.status is not ReportStatus.complete:
            return record, None
        return record, reports.read_csv(connection, report_id)


def _file_response(report_id: str, data: bytes, fmt: ReportFormat) -> Response:
    media_type, suffix = FORMATS[fmt]
    return Response(
        convert(data, fmt),
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


async def _get_report(container: ContainerDep, report_id: str) -> Response:
    # Every client polls this. The status is one row by primary key, read
    # here on the event loop: the hop to a worker thread would cost more than
    # the query. The file, which can be megabytes, is read on a thread.
    with container.engine.connect() as connection:
        record = reports.get(connection, report_id)
    if record is None:
        raise ApiError(404, f"unknown report_id {report_id!r}")
    if record.status is ReportStatus.complete:
        return await run_in_threadpool(_download, container, report_id, "csv")
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
async def get_report(container: ContainerDep, report_id: str) -> Response:
    """A report's status, or its CSV once it is complete."""
    return await _get_report(container, report_id)


@router.get("/get_report", response_class=Response, responses=_GET_REPORT_RESPONSES)
async def get_report_by_query(container: ContainerDep, report_id: str) -> Response:
    """The same as `GET /get_report/{report_id}`."""
    return await _get_report(container, report_id)


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
def report_info(container: ContainerDep, report_id: str) -> ReportInfo:
    """One report's status, parameters, timings, row count and data watermark."""
    return ReportInfo.of(_record_or_404(container, report_id))


_DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The report file.",
        "content": {"text/csv": {}, "application/json": {}, "application/vnd.apache.parquet": {}},
    },
    404: {"model": ErrorBody},
    409: {"model": ErrorBody, "description": "The report is not complete."},
}


@router.get("/reports/{report_id}/download", response_class=Response, responses=_DOWNLOAD_RESPONSES)
def download(container: ContainerDep, report_id: str, format: ReportFormat = "csv") -> Response:
    """Download a complete report as CSV, JSON or Parquet."""
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
    with container.engine.begin() as connection:
        if not reports.delete(connection, [report_id]):
            raise ApiError(404, f"unknown report_id {report_id!r}")
    return Response(status_code=204)
