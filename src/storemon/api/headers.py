"""Security headers on every response."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
# A page (the dashboard, /docs) loads its own scripts and styles; it only
# must not be framed. Anything else (JSON, CSV, ...) loads nothing at all.
_PAGE_POLICY = (b"content-security-policy", b"frame-ancestors 'none'")
_DATA_POLICY = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
# Answers carry live data (report status, store figures): no shared cache
# may keep them, unless the route chose its own caching (the static files).
_NO_STORE = (b"cache-control", b"no-store")


class SecurityHeaders:
    """Pure ASGI (no per-request task or body buffering): it only edits the
    response's start message."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                added = [header for header in _ALWAYS if header[0] not in names]
                if b"content-security-policy" not in names:
                    html = any(
                        name.lower() == b"content-type" and value.startswith(b"text/html")
                        for name, value in headers
                    )
                    added.append(_PAGE_POLICY if html else _DATA_POLICY)
                if b"cache-control" not in names:
                    added.append(_NO_STORE)
                message = {**message, "headers": headers + added}
            await send(message)

        await self.app(scope, receive, send_with_headers)
