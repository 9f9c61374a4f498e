"""The API key, CORS and size limits."""

from __future__ import annotations

import enum
import inspect
from collections.abc import Iterator
from pathlib import Path

import fastapi.routing
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from .fixtures_ops import API_KEY, api_client, sqlite_url

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
CSV = "store_id,status,timestamp_utc\ns1,active,2023-01-25 10:00:00\n"


def _example_path(route: APIRoute, path: str) -> str:
    """``path`` with each path parameter of ``route`` filled with a valid value."""
    values = {}
    for param in route.dependant.path_params:
        kind = param.field_info.annotation
        if inspect.isclass(kind) and issubclass(kind, enum.Enum):
            values[param.name] = next(iter(kind)).value
        elif kind is int:
            values[param.name] = "1"
        else:
            values[param.name] = "some-id"
    return path.format(**values)


def _api_routes(client: TestClient) -> Iterator[tuple[APIRoute, str]]:
    """Every API route with its full path."""
    routes = client.app.routes  # type: ignore[attr-defined]
    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if iter_contexts is None:  # FastAPI < 0.165 flattens included routers
        yield from ((r, r.path_format) for r in routes if isinstance(r, APIRoute))
        return
    for context in iter_contexts(routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            yield route, context.path_format or route.path_format


def _mutating_routes(client: TestClient) -> Iterator[tuple[str, str]]:
    for route, path in _api_routes(client):
        for method in sorted(route.methods & MUTATING):
            yield method, _example_path(route, path)


def test_every_mutating_route_needs_the_key(tmp_path: Path) -> None:
    with api_client(sqlite_url(tmp_path)) as client:
        routes = list(_mutating_routes(client))
        assert {path for _, path in routes} >= {"/trigger_report", "/ingest/status", "/polls"}
        for method, path in routes:
            for headers in ({"X-API-Key": ""}, {"X-API-Key": "wrong-key-0123456789"}):
                response = client.request(method, path, headers=headers, content=CSV)
                assert response.status_code == 401, (method, path, response.text)
                assert "error" in response.json()
            with_key = client.request(method, path, content=CSV)
            assert with_key.status_code != 401, (method, path, with_key.text)


def test_reading_needs_no_key(tmp_path: Path) -> None:
    with api_client(sqlite_url(tmp_path)) as client:
        for path in ("/stores", "/health", "/metrics", "/ready"):
            assert client.get(path, headers={"X-API-Key": ""}).status_code == 200, path


def test_cors_is_closed_by_default(tmp_path: Path) -> None:
    origin = {"Origin": "https://elsewhere.example"}
    with api_client(sqlite_url(tmp_path)) as client:
        preflight = client.options(
            "/trigger_report", headers={**origin, "Access-Control-Request-Method": "POST"}
        )
        plain = client.get("/stores", headers=origin)
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in plain.headers


def test_cors_allows_only_the_configured_origins(tmp_path: Path) -> None:
    dashboard = "https://dashboard.example"
    with api_client(sqlite_url(tmp_path), cors_origins=[dashboard]) as client:
        allowed = client.options(
            "/polls",
            headers={
                "Origin": dashboard,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "X-API-Key, Content-Type",
            },
        )
        other = client.get("/stores", headers={"Origin": "https://elsewhere.example"})
    assert allowed.headers["access-control-allow-origin"] == dashboard
    assert "access-control-allow-origin" not in other.headers


def test_an_upload_over_the_limit_is_refused_while_streaming(tmp_path: Path) -> None:
    body = (CSV * 20).encode()
    with api_client(sqlite_url(tmp_path), max_upload_bytes=len(body) - 1) as client:
        declared = client.post("/ingest/status", content=body)
        streamed = client.post("/ingest/status", content=iter([body[:100], body[100:]]))
        multipart = client.post("/ingest/status", files={"file": ("polls.csv", body, "text/csv")})
        # A request that is not over the limit still goes through.
        small = client.post("/ingest/status", content=CSV)
        log = client.get("/metrics").text
    for response in (declared, streamed, multipart):
        assert response.status_code == 413, response.text
        assert "larger than" in response.json()["error"]
    assert small.status_code == 200, small.text
    assert 'storemon_rows_ingested_total{feed="status"} 1.0' in log


def test_a_poll_batch_over_the_limit_is_refused(tmp_path: Path) -> None:
    poll = {"store_id": "s", "status": "active", "timestamp_utc": "2023-01-25 10:00:00"}
    with api_client(sqlite_url(tmp_path), max_batch_polls=3) as client:
        too_many = client.post("/polls", json={"polls": [poll] * 4})
        too_big = client.post("/polls", content=b'{"polls": [' + b" " * 10_000 + b"]}")
        enough = client.post("/polls", json={"polls": [poll] * 3})
    assert too_many.status_code == 413
    assert "at most 3" in too_many.json()["error"]
    assert too_big.status_code == 413
    assert enough.status_code == 200


def test_the_key_is_not_echoed(tmp_path: Path) -> None:
    with api_client(sqlite_url(tmp_path)) as client:
        text = client.get("/openapi.json").text + client.get("/metrics").text
        wrong = client.post("/polls", headers={"X-API-Key": API_KEY + "x"}, json={"polls": []})
    assert API_KEY not in text
    assert API_KEY not in wrong.text
