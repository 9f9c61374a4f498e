"""Reading a finished report without downloading it: its rows a page at a
time, sorted and filtered on the server, and its summary."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

import pyarrow as pa
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from storemon.api.deps import ContainerDep
from storemon.api.errors import ApiError
from storemon.api.schemas import ErrorBody
from storemon.data import reports
from storemon.data.groups import group_members
from storemon.data.reports import ReportStatus
from storemon.reports.frame import KIND, decode_frame
from storemon.reports.reading import ReadingError, ReportTable, RowQuery

router = APIRouter(tags=["reports"])

MAX_ROWS_PER_PAGE = 500
_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody},
    409: {"model": ErrorBody, "description": "The report is not complete."},
    422: {"model": ErrorBody},
}
_THRESHOLD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(-?[0-9]+(?:\.[0-9]+)?)")


class RowsPage(BaseModel):
    report_id: str
    kind: str = Field(description="What the report is (`uptime` for the section 5 report).")
    columns: list[str] = Field(description="The report's columns, in order.")
    items: list[dict[str, Any]] = Field(
        description="Rows as objects: values rounded to 2 decimals are numbers, dates "
        "`YYYY-MM-DD`, instants ISO 8601 UTC."
    )
    total: int = Field(description="Rows matching the filters in all.")
    rows: int = Field(description="Rows of the report in all.")
    sort: str
    order: Literal["asc", "desc"]
    limit: int
    offset: int


class WindowSummary(BaseModel):
    window: str = Field(description="`last_hour`, `last_day`, `last_week`, or `day`.")
    unit: Literal["minutes", "hours"]
    business: float = Field(description="Business time, the sum of the rows' values.")
    uptime: float
    downtime: float
    nodata: float | None = Field(description="Null unless the report has a max gap.")
    uptime_share: float | None = Field(description="Uptime / business time; null without any.")
    downtime_share: float | None
    nodata_share: float | None
    with_downtime: int = Field(description="Stores (or groups) with any downtime.")


class ReportSummary(BaseModel):
    report_id: str
    kind: str
    rows: int
    key: str = Field(description="What names a row: `store_id` or `group`.")
    keys: int = Field(description="Distinct stores (or groups) in the report.")
    stores: int = Field(description="Stores; in a group report, memberships.")
    windows: list[WindowSummary]
    worst: list[dict[str, Any]] = Field(
        description="Up to 5 stores (or groups) with the most downtime in the widest "
        "window (over all days in a daily report), most first; none without downtime."
    )


def _report_table(container: ContainerDep, report_id: str) -> tuple[str, ReportTable]:
    """The report decoded (from the cache when it was read lately), and its kind."""
    with container.engine.connect() as connection:
        record = reports.get(connection, report_id)
        if record is None:
            raise ApiError(404, f"unknown report_id {report_id!r}")
        if record.status is not ReportStatus.complete:
            raise ApiError(409, f"report {report_id!r} is {record.status.value}, not Complete")

        def load() -> pa.Table:
            data = reports.read_frame(connection, report_id)
            if data is None:  # deleted between the two reads
                raise ApiError(404, f"unknown report_id {report_id!r}")
            return decode_frame(data)

        try:
            table = container.report_tables.get(report_id, load)
        except ReadingError as error:
            raise ApiError(422, str(error)) from None
    metadata = table.frame.schema.metadata or {}
    return metadata.get(KIND, b"").decode(), table


def _group_keys(container: ContainerDep, table: ReportTable, group: str | None) -> list[str] | None:
    """The keys of ``group``'s rows: its member stores, or in a group report
    the group itself."""
    if group is None:
        return None
    if table.key != "store_id":
        return [group]
    with container.engine.connect() as connection:
        return group_members(connection, group)


def _thresholds(name: str, values: list[str] | None) -> dict[str, Decimal]:
    bounds: dict[str, Decimal] = {}
    for text in values or []:
        match = _THRESHOLD.fullmatch(text)
        if match is None:
            raise ApiError(
                422, f"{name} {text!r} is not column:number (e.g. downtime_last_week:1.5)"
            )
        bounds[match[1]] = Decimal(match[2])
    return bounds


GroupQuery = Annotated[
    str | None,
    Query(
        max_length=255,
        description="Only this group's member stores (in a group report: that group).",
    ),
]
_THRESHOLD_HELP = (
    "`column:number`, repeatable: keep rows whose column is at {side} the number, compared exactly."
)
MinimumQuery = Annotated[
    list[str] | None,
    Query(alias="min", max_length=20, description=_THRESHOLD_HELP.format(side="least")),
]
MaximumQuery = Annotated[
    list[str] | None,
    Query(alias="max", max_length=20, description=_THRESHOLD_HELP.format(side="most")),
]


@router.get("/reports/{report_id}/rows", response_model=RowsPage, responses=_RESPONSES)
def report_rows(
    container: ContainerDep,
    report_id: str,
    sort: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Any column; by default the widest window's downtime, worst first.",
        ),
    ] = None,
    order: Annotated[
        Literal["asc", "desc"] | None,
        Query(description="Default: `desc` for the default sort, else `asc`."),
    ] = None,
    prefix: Annotated[
        str, Query(max_length=255, description="Rows whose store id (or group) starts so.")
    ] = "",
    group: GroupQuery = None,
    minimum: MinimumQuery = None,
    maximum: MaximumQuery = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ROWS_PER_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> RowsPage:
    """One page of a complete report's rows, sorted and filtered on the server.

    Ties keep the report's own order (by store id, then date). `total` counts
    every row that matches, for paging.
    """
    kind, table = _report_table(container, report_id)
    query = RowQuery(
        sort=sort,
        descending=None if order is None else order == "desc",
        prefix=prefix,
        keys=_group_keys(container, table, group),
        minimum=_thresholds("min", minimum),
        maximum=_thresholds("max", maximum),
        limit=limit,
        offset=offset,
    )
    try:
        page = table.page(query)
    except ReadingError as error:
        raise ApiError(422, str(error)) from None
    return RowsPage(
        report_id=report_id,
        kind=kind,
        columns=page.columns,
        items=page.rows,
        total=page.total,
        rows=table.frame.num_rows,
        sort=page.sort,
        order="desc" if page.descending else "asc",
        limit=limit,
        offset=offset,
    )


@router.get("/reports/{report_id}/summary", response_model=ReportSummary, responses=_RESPONSES)
def report_summary(
    container: ContainerDep, report_id: str, group: GroupQuery = None
) -> ReportSummary:
    """A complete report in a few numbers: stores, business time, uptime,
    downtime and no-data shares per window, and the worst stores (of one
    group, with `group`)."""
    kind, table = _report_table(container, report_id)
    keys = _group_keys(container, table, group)
    if keys is not None:
        table = table.filtered(RowQuery(keys=keys))
    return ReportSummary(report_id=report_id, kind=kind, **table.summary())
