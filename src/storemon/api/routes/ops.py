"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel

from storemon.api.deps import ContainerDep, key_accepted
from storemon.api.schemas import ErrorBody
from storemon.data.database import shown
from storemon.data.migrate import HEAD_REVISION
from storemon.messages import first_line

router = APIRouter(tags=["operations"])

#: /ready answers 503 rather than hang when the database does not answer.
READY_TIMEOUT_S = 5.0

_LIVE = b'{"status":"ok"}'


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    schema_revision: str


@router.get("/health", response_model=Health, response_class=JSONResponse)
async def health() -> Response:
    """Liveness: the process answers. Touches nothing else."""
    return Response(_LIVE, media_type="application/json")


@router.get(
    "/ready",
    response_model=Ready,
    responses={503: {"model": ErrorBody, "description": "Not ready; `error` says why."}},
)
async def ready(container: ContainerDep, request: Request) -> Any:
    """Readiness: the database answers and is at this version's schema, and
    the report queue's broker answers when there is one. Where the database
    is (its URL without the password) is said only to a caller with the
    API key."""
    reader = container.reader
    # Read here, not as a security dependency: /ready needs no key.
    trusted = key_accepted(container, request.headers.get("x-api-key"))
    database = f"database {shown(reader.url)}" if trusted else "the database"
    try:
        revision = await asyncio.wait_for(
            asyncio.to_thread(reader.revision), timeout=READY_TIMEOUT_S
        )
    except TimeoutError:
        return _not_ready(f"{database} did not answer in {READY_TIMEOUT_S:g} s")
    except Exception as error:  # any driver's error: not ready, and say why
        detail = f": {first_line(error)}" if trusted else ""
        return _not_ready(f"cannot read {database}{detail}")
    if revision != HEAD_REVISION:
        found = "has no storemon schema" if revision is None else f"is at schema {revision!r}"
        return _not_ready(f"{database} {found}, this version needs {HEAD_REVISION!r}")
    try:
        await asyncio.wait_for(asyncio.to_thread(container.runner.check), timeout=READY_TIMEOUT_S)
    except TimeoutError:
        return _not_ready(f"the report queue did not answer in {READY_TIMEOUT_S:g} s")
    except Exception as error:  # the broker's client error: not ready
        detail = f": {first_line(error)}" if trusted else ""
        return _not_ready(f"the report queue does not answer{detail}")
    return Ready(status="ready", schema_revision=revision)


def _not_ready(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=503, headers={"Retry-After": "5"})


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text."}},
)
def metrics(request: Request) -> Response:
    """Prometheus metrics: HTTP traffic of this process; reports, queue depth
    and ingested rows read from the database."""
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
