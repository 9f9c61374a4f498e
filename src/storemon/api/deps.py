"""Typed dependencies for routes."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from storemon.api.container import Container
from storemon.api.errors import ApiError


# Dependencies that do no I/O are ``async``: FastAPI runs a plain ``def``
# dependency on a worker thread, a hop that costs more than the request.
async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]

_api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="Required on every mutating endpoint when STOREMON_API_KEY is set.",
)


async def require_api_key(
    container: ContainerDep, key: Annotated[str | None, Depends(_api_key_header)]
) -> None:
    expected = container.settings.api_key
    if expected is None:
        return
    if key is None or not secrets.compare_digest(key, expected.get_secret_value()):
        raise ApiError(401, "missing or wrong X-API-Key header", {"WWW-Authenticate": "APIKey"})


#: Add to every route that changes something.
Mutating = Depends(require_api_key)
