"""Ingestion over HTTP: a feed file upload, the rejects of an ingest, and the
JSON batch of hourly polls. Both write paths end in the ingest service, so
they validate, reject and load exactly like ``storemon ingest``."""

from __future__ import annotations

import asyncio
import tempfile
import zlib
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import IO, Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from sqlalchemy.engine import Connection
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from typing_extensions import TypedDict

from storemon.api.deps import ContainerDep, Mutating, accepts
from storemon.api.errors import ApiError
from storemon.api.schemas import ErrorBody
from storemon.data import ingest_log
from storemon.data.database import checkpoint_in_background
from storemon.data.dataset import RefusedValue
from storemon.data.stores import reject_page
from storemon.ingest.errors import IngestError
from storemon.ingest.feeds import Feed
from storemon.ingest.service import IngestResult, ingest_feed, ingest_polls

router = APIRouter(tags=["ingest"])

#: Room for the multipart envelope (boundaries, part headers) around the file.
MULTIPART_SLACK_BYTES = 64 * 1024
#: The largest JSON text one poll may take in a batch (a 255-character id
#: with escapes and whitespace fits); bounds the body of ``POST /polls``.
JSON_BYTES_PER_POLL = 1024
#: Upload bytes gathered before each write to the spool file.
_WRITE_BYTES = 1024 * 1024
_INGEST_ID_MAX = 2**63 - 1


class RejectedRow(BaseModel):
    line: int = Field(
        description="Line of the file (the header is line 1); in a JSON batch, the "
        "poll's 1-based position."
    )
    reason: str


class IngestResponse(BaseModel):
    feed: Feed
    ingest_id: int
    loaded: int = Field(description="Valid rows taken in.")
    rejected: int
    first_rejects: list[RejectedRow] = Field(
        description="The first few rejects; `GET /ingests/{ingest_id}/rejects` has them all."
    )
    committed: bool = Field(description="False when a strict load was rolled back.")

    @classmethod
    def of(cls, result: IngestResult) -> IngestResponse:
        return cls(
            feed=Feed(result.feed),
            ingest_id=result.ingest_id,
            loaded=result.loaded,
            rejected=result.rejected,
            first_rejects=[
                RejectedRow(line=line, reason=why) for line, why in result.first_rejects
            ],
            committed=result.committed,
        )


class StrictFailure(IngestResponse):
    error: str


_LOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorBody, "description": "The body is larger than the limit."},
    415: {"model": ErrorBody, "description": "A Content-Type or Content-Encoding not taken."},
    422: {
        "model": StrictFailure,
        "description": "Unreadable input, or a strict load with rejected rows (nothing loaded).",
    },
}


def _answer(result: IngestResult) -> JSONResponse:
    body = IngestResponse.of(result)
    if result.committed:
        return JSONResponse(body.model_dump(mode="json"))
    failure = StrictFailure(
        **body.model_dump(),
        error=f"strict load: {result.rejected} rows rejected, nothing loaded",
    )
    return JSONResponse(failure.model_dump(mode="json"), status_code=422)


def _refused(error: RefusedValue) -> ApiError:
    # The input's fault, not the server's. The ingest is logged as failed
    # and nothing of the upload is kept.
    return ApiError(422, str(error))


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"the body is larger than {limit} bytes")


def _check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)


async def _limited(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The request body, inflated when it is sent gzip-encoded, failing with
    413 as soon as it passes ``limit`` as sent or as inflated."""
    _check_declared_length(request, limit)
    sent = _capped(request.stream(), limit)
    if request.headers.get("content-encoding", "").strip().lower() == "gzip":
        sent = _gunzipped(sent)
    async for chunk in _capped(sent, limit):
        yield chunk


async def _capped(chunks: AsyncIterator[bytes], limit: int) -> AsyncGenerator[bytes, None]:
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > limit:
            raise _too_large(limit)
        yield chunk


async def _gunzipped(chunks: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    """One gzip member, inflated in pieces of at most ``_WRITE_BYTES``: a
    small body that inflates to gigabytes is stopped by the caller's cap
    before it is held in memory."""
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    complete = ApiError(400, "the body is not one complete gzip stream")
    try:
        async for chunk in chunks:
            if inflater.eof and chunk:
                raise complete
            pending = chunk
            while pending:
                # Past the end of the stream, input goes to unused_data.
                yield inflater.decompress(pending, _WRITE_BYTES)
                pending = inflater.unconsumed_tail
        yield inflater.flush()
    except zlib.error as error:
        raise ApiError(400, f"the body is not valid gzip: {error}") from None
    if not inflater.eof or inflater.unused_data:
        raise complete


async def _copy(chunks: AsyncIterator[bytes], target: IO[bytes]) -> None:
    pending = bytearray()
    async for chunk in chunks:
        pending += chunk
        if len(pending) >= _WRITE_BYTES:
            await asyncio.to_thread(target.write, pending)
            pending = bytearray()
    await asyncio.to_thread(target.write, pending)
    target.seek(0)


@asynccontextmanager
async def _uploaded_csv(request: Request, limit: int) -> AsyncIterator[tuple[IO[bytes], str]]:
    """The CSV of the request in a temporary file (from a raw body, or the
    multipart field ``file``) and a name for the ingest log."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        with tempfile.TemporaryFile() as spool:
            await _copy(_limited(request, limit), spool)
            yield spool, "http upload"
        return
    parser = MultiPartParser(
        request.headers, _limited(request, limit + MULTIPART_SLACK_BYTES), max_files=1
    )
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise ApiError(400, f"bad multipart body: {error.message}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, "the multipart body has no file field named 'file'")
        if upload.size is not None and upload.size > limit:
            raise _too_large(limit)
        await upload.seek(0)
        yield upload.file, f"http upload {upload.filename or ''}".strip()
    finally:
        await form.close()


_CSV_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The CSV, as the raw body (`text/csv`) or the multipart field `file`.",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


#: What an upload may be sent as; anything else is refused before it is read.
CSV_TYPES = ("text/csv", "text/plain", "application/csv", "multipart/form-data")


@router.post(
    "/ingest/{feed}",
    response_model=IngestResponse,
    dependencies=[Mutating, accepts(*CSV_TYPES, gzip=True)],
    responses=_LOAD_RESPONSES,
    openapi_extra=_CSV_BODY,
)
async def ingest_file(
    container: ContainerDep,
    request: Request,
    feed: Feed,
    strict: Annotated[
        bool, Query(description="All or nothing: load nothing if any row is rejected.")
    ] = False,
) -> JSONResponse:
    """Load a feed CSV (`status`, `hours`, `timezones`, `special_hours` or `groups`), as
    `storemon ingest` does.

    `curl --data-binary @polls.csv -H 'Content-Type: text/csv' .../ingest/status`
    """
    limit = container.settings.max_upload_bytes
    async with _uploaded_csv(request, limit) as (source, name):
        try:
            # Whole or not at all, status polls too: a client told its upload
            # failed (a 503 while the database is away) sends it again, and
            # finds nothing of the failed attempt kept.
            result = await asyncio.to_thread(
                partial(
                    ingest_feed,
                    container.engine,
                    feed,
                    source,
                    strict=strict,
                    atomic=True,
                    source_name=name,
                )
            )
        except IngestError as error:
            raise ApiError(422, str(error)) from None
        except RefusedValue as error:
            raise _refused(error) from None
    checkpoint_in_background(container.engine)
    return _answer(result)


class IngestInfo(BaseModel):
    ingest_id: int
    feed: str
    source: str
    strict: bool
    status: str = Field(description="running, complete or failed.")
    rows_loaded: int
    rows_rejected: int
    error: str | None


class RejectItem(BaseModel):
    line: int
    reason: str
    raw: str = Field(description="The rejected row as it came in (cut to 1000 characters).")


class RejectPage(BaseModel):
    ingest: IngestInfo
    items: list[RejectItem]
    total: int
    limit: int
    offset: int


IngestIdPath = Annotated[int, Path(ge=1, le=_INGEST_ID_MAX)]


def _ingest_or_404(connection: Connection, ingest_id: int) -> IngestInfo:
    record = ingest_log.get_ingest(connection, ingest_id)
    if record is None:
        raise ApiError(404, f"unknown ingest_id {ingest_id}")
    return IngestInfo(
        ingest_id=record.id,
        feed=record.feed,
        source=record.source,
        strict=record.strict,
        status=record.status,
        rows_loaded=record.rows_loaded,
        rows_rejected=record.rows_rejected,
        error=record.error,
    )


@router.get(
    "/ingests/{ingest_id}", response_model=IngestInfo, responses={404: {"model": ErrorBody}}
)
def ingest_info(container: ContainerDep, ingest_id: IngestIdPath) -> IngestInfo:
    """How an ingest went (one left `running` is still loading, or was interrupted)."""
    with container.engine.connect() as connection:
        return _ingest_or_404(connection, ingest_id)


@router.get(
    "/ingests/{ingest_id}/rejects", response_model=RejectPage, responses={404: {"model": ErrorBody}}
)
def ingest_rejects(
    container: ContainerDep,
    ingest_id: IngestIdPath,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=_INGEST_ID_MAX)] = 0,
) -> RejectPage:
    """The rejected rows of an ingest, in line order."""
    with container.engine.connect() as connection:
        info = _ingest_or_404(connection, ingest_id)
        page = reject_page(connection, ingest_id, limit, offset)
    return RejectPage(
        ingest=info,
        items=[RejectItem(line=r.line, reason=r.reason, raw=r.raw) for r in page],
        total=info.rows_rejected,
        limit=limit,
        offset=offset,
    )


# --- the JSON poll batch -------------------------------------------------------


class PollIn(TypedDict):
    store_id: str
    status: Annotated[str, Field(description="`active` or `inactive`, any letter case.")]
    timestamp_utc: Annotated[
        str,
        Field(description="Same formats as the feed.", examples=["2023-01-25 18:13:22.47922 UTC"]),
    ]


class PollBatch(TypedDict):
    polls: list[PollIn]


# TypedDicts, not models: validating a 10k batch into plain dicts takes a
# third of the time.
_POLL_BATCH = TypeAdapter(PollBatch)


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$defs`` references written out, for an OpenAPI
    body the route reads itself."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(value) for value in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


_JSON_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _inline_refs(_POLL_BATCH.json_schema())}},
    }
}


def _load_batch(container: ContainerDep, body: bytes, strict: bool) -> IngestResult:
    try:
        polls = _POLL_BATCH.validate_json(body)["polls"]
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_url=False)) from None
    most = container.settings.max_batch_polls
    if len(polls) > most:
        raise ApiError(413, f"{len(polls)} polls in one batch; at most {most}")
    return ingest_polls(container.engine, polls, strict=strict, source_name="POST /polls")


@router.post(
    "/polls",
    response_model=IngestResponse,
    dependencies=[Mutating, accepts(json=True, gzip=True)],
    responses=_LOAD_RESPONSES,
    openapi_extra=_JSON_BODY,
)
async def post_polls(
    container: ContainerDep,
    request: Request,
    strict: Annotated[
        bool, Query(description="All or nothing: load nothing if any poll is rejected.")
    ] = False,
) -> JSONResponse:
    """Load a batch of status polls (the hourly feed) as JSON.

    Rows are checked like the CSV feed; a reject's `line` is the poll's
    1-based position in `polls`.
    """
    limit = container.settings.max_batch_polls * JSON_BYTES_PER_POLL + 1024
    body = b"".join([chunk async for chunk in _limited(request, limit)])
    try:
        result = await asyncio.to_thread(_load_batch, container, body, strict)
    except RefusedValue as error:
        raise _refused(error) from None
    checkpoint_in_background(container.engine)
    return _answer(result)
