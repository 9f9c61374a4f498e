"""Serves the dashboard at ``/`` and its few files under ``/static/``."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).parent / "static"

#: Only these files are served: a fixed list leaves no path to traverse.
STATIC_FILES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}

# The page loads nothing from elsewhere and runs no inline script, so a strict
# policy costs nothing and limits the harm of any escaping mistake.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Small files that change with each release: revalidate rather than go stale.
    "Cache-Control": "no-cache",
}

router = APIRouter(tags=["dashboard"], include_in_schema=False)


def _serve(name: str) -> FileResponse:
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        # A plain HTTP error: the app that includes this router renders it in
        # its own error format, and the dashboard needs nothing from the API.
        raise HTTPException(404, f"no static file {name!r}")
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers=_HEADERS)


@router.api_route("/", methods=["GET", "HEAD"])
def dashboard() -> FileResponse:
    """The dashboard page."""
    return _serve("index.html")


@router.api_route("/static/{name}", methods=["GET", "HEAD"])
def static_file(name: str) -> FileResponse:
    """A file of the dashboard (script, style sheet)."""
    return _serve(name)
