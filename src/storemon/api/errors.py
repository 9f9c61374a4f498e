"""Every error is JSON ``{"error": "..."}`` with the right status code.

A database that cannot be reached is a 503 with ``Retry-After`` (the pool
checks each connection before use, so the first request after the database
returns succeeds); any other unexpected error is a JSON 500 whose details go
to the server log only.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from storemon.data.database import DatabaseUnavailableError
from storemon.data.retry import transient
from storemon.messages import one_line, plain_words

log = logging.getLogger(__name__)

#: Seconds a client is asked to wait while the database is away.
DATABASE_RETRY_AFTER_S = 5


class ApiError(Exception):
    """Raised by routes and services for an expected failure."""

    def __init__(
        self, status_code: int, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = headers

    def __reduce__(self) -> tuple[type[ApiError], tuple[int, str, dict[str, str] | None]]:
        # Raised in worker processes too (heavy reads): it crosses back pickled.
        return type(self), (self.status_code, self.message, self.headers)


def error_body(message: str, **extra: Any) -> dict[str, Any]:
    return {"error": message, **extra}


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
        message = plain_words(str(item.get("msg", "invalid")))
        parts.append(f"{where}: {message}" if where else message)
    return "invalid request: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(error.message), status_code=error.status_code, headers=error.headers
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            error_body(str(error.detail)),
            status_code=error.status_code,
            headers=getattr(error, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body(_validation_message(error)), status_code=422)

    def _unavailable(request: Request, error: Exception) -> JSONResponse:
        path = request.url.path
        log.warning("%s %s: database unavailable: %s", request.method, path, one_line(error))
        return JSONResponse(
            error_body("the database is unavailable; try again shortly"),
            status_code=503,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
        )

    @app.exception_handler(DatabaseUnavailableError)
    async def _cannot_open(request: Request, error: DatabaseUnavailableError) -> JSONResponse:
        # Raised where a connection is opened outside the server's pool (say,
        # a heavy read in a worker process).
        return _unavailable(request, error)

    @app.exception_handler(exc.SQLAlchemyError)
    async def _database(request: Request, error: exc.SQLAlchemyError) -> JSONResponse:
        if transient(error):
            return _unavailable(request, error)
        log.error("%s %s: database error", request.method, request.url.path, exc_info=error)
        return JSONResponse(error_body("internal error"), status_code=500)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.error("%s %s: unexpected error", request.method, request.url.path, exc_info=error)
        return JSONResponse(error_body("internal error"), status_code=500)
