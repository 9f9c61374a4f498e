"""The dashboard's files, served by the API app (no browser needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from storemon.api.app import create_app
from storemon.settings import Settings
from storemon.web.routes import STATIC_DIR, STATIC_FILES


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    # Not entered as a context manager: no lifespan, so no database or job
    # runner; serving static files needs neither.
    return TestClient(create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}")))


def test_the_dashboard_is_served_at_the_root_with_a_strict_content_policy(
    client: TestClient,
) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert '<script src="/static/app.js"' in response.text


@pytest.mark.parametrize("name", sorted(STATIC_FILES))
def test_every_static_file_is_served_with_its_type(client: TestClient, name: str) -> None:
    response = client.get(f"/static/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == STATIC_FILES[name]
    assert response.content == (STATIC_DIR / name).read_bytes()


@pytest.mark.parametrize("name", ["routes.py", "..%2Froutes.py", "%2e%2e%2f__init__.py", "x.js"])
def test_nothing_but_the_listed_files_is_served(client: TestClient, name: str) -> None:
    response = client.get(f"/static/{name}")
    assert response.status_code == 404
    assert "error" in response.json()


def test_every_listed_file_exists() -> None:
    assert sorted(path.name for path in STATIC_DIR.iterdir()) == sorted(STATIC_FILES)


def test_the_page_never_parses_api_data_as_html() -> None:
    # Store ids are arbitrary strings: the script builds nodes and sets text.
    script = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
    code = re.sub(r"//[^\n]*", "", script)
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in code


def test_the_page_loads_nothing_from_elsewhere() -> None:
    for name in STATIC_FILES:
        text = (STATIC_DIR / name).read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), name
        assert "@import" not in text


def test_the_dashboard_package_imports_nothing_from_the_api() -> None:
    # The dashboard is a client of the public HTTP API, like any other.
    sources = Path(STATIC_DIR.parent).rglob("*.py")
    for source in sources:
        text = source.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import)\s+storemon\.api\b", text, re.M), source


def test_the_api_docs_page_loads_its_scripts_from_this_server(client: TestClient) -> None:
    page = "/docs"
    response = client.get(page)
    assert response.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert assets, "the page loads no script or style sheet"
    for asset in assets:
        assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
        assert client.get(asset).status_code == 200, asset
