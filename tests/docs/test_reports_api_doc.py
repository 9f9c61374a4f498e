"""docs/reports-api.md lists every route, and marks the ones that need the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from storemon.api.app import create_app
from storemon.settings import Settings

DOC = Path(__file__).parents[2] / "docs" / "reports-api.md"
#: A row of the routes table: `| `METHOD /path?query` | key | ...`.
ROW = re.compile(r"^\| `(GET|POST|DELETE) (/[^`?]*)[^`]*` \| (key)? *\|", re.M)


def _documented() -> dict[tuple[str, str], bool]:
    rows = ROW.findall(DOC.read_text(encoding="utf-8"))
    assert rows, "docs/reports-api.md has no routes table"
    return {(method, path): bool(key) for method, path, key in rows}


def _served(tmp_path: Path) -> dict[tuple[str, str], bool]:
    """Every operation of the API, and whether it asks for the API key."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"))
    return {
        (method.upper(), path): bool(operation.get("security"))
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
    }


def test_the_routes_table_lists_exactly_the_routes_the_api_serves(tmp_path: Path) -> None:
    documented, served = _documented(), _served(tmp_path)
    assert sorted(served.keys() - documented.keys()) == [], "routes missing from the doc"
    assert sorted(documented.keys() - served.keys()) == [], "documented routes that do not exist"


def test_the_routes_table_marks_every_route_that_needs_the_api_key(tmp_path: Path) -> None:
    documented, served = _documented(), _served(tmp_path)
    wrong = {route: needs for route, needs in served.items() if documented.get(route) != needs}
    assert wrong == {}, "True: needs the key but is not marked; False: marked but open"


def test_the_documented_minimum_key_length_is_the_one_enforced() -> None:
    found = re.search(r"`STOREMON_API_KEY` must be at least (\d+) characters", DOC.read_text())
    assert found, "docs/reports-api.md does not state the key's minimum length"
    length = int(found.group(1))
    Settings(api_key=SecretStr("k" * length))
    with pytest.raises(ValidationError):
        Settings(api_key=SecretStr("k" * (length - 1)))
