"""Typed dependencies for routes."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

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
KeyHeader = Annotated[str | None, Depends(_api_key_header)]


def key_accepted(container: Container, key: str | None) -> bool:
    """True when no key is configured or ``key`` is the configured one."""
    expected = container.settings.api_key
    if expected is None:
        return True
    # Compared as bytes: a header may carry any byte (Starlette reads it as
    # Latin-1), and compare_digest refuses non-ASCII text.
    return key is not None and secrets.compare_digest(
        key.encode("latin-1"), expected.get_secret_value().encode()
    )


async def require_api_key(request: Request, container: ContainerDep, key: KeyHeader) -> None:
    """The key check of every route that changes something, then its rate
    limit (when one is set)."""
    if not key_accepted(container, key):
        raise ApiError(401, "missing or wrong X-API-Key header", {"WWW-Authenticate": "APIKey"})
    if container.rate_limits is not None:
        client = request.client.host if request.client is not None else "unknown"
        await container.rate_limits.hit(client, key)


#: Add to every route that changes something.
Mutating = Depends(require_api_key)


def media_type(request: Request) -> str | None:
    """The body's media type (``text/csv``), lower case, without parameters."""
    header = request.headers.get("content-type")
    return None if header is None else header.split(";", 1)[0].strip().lower()


def _is_json(kind: str) -> bool:
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def accepts(*kinds: str, json: bool = False, gzip: bool = False) -> Any:
    """A dependency refusing with 415 a body of another media type than
    ``kinds`` (or JSON, with ``json``), or a ``Content-Encoding`` the route
    cannot decode (``gzip`` where the route inflates it). A request without
    a Content-Type is taken as the route's own type, and an empty body has
    no type to check (a trigger with no options)."""
    encodings = ("identity", "gzip") if gzip else ("identity",)
    named = ", ".join([*kinds, *(["application/json"] if json else [])])

    async def check(request: Request) -> None:
        if request.headers.get("content-length") == "0":
            return
        kind = media_type(request)
        if kind is not None and kind not in kinds and not (json and _is_json(kind)):
            raise ApiError(415, f"Content-Type {kind!r} is not taken here; send {named}")
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in encodings:
            raise ApiError(
                415, f"Content-Encoding {encoding!r} is not taken here; send {', '.join(encodings)}"
            )

    return Depends(check)
