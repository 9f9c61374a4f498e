"""The dashboard end to end: the real server over a small SQLite data set,
driven by headless Chromium (Debian's package, through Playwright).

Skipped when Chromium or Playwright is missing, except under ``CI``, which
must prove the page works.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from .png import colour_variety, decode_png

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
API_KEY = "dashboard-test-key-0123456789"
#: Store ids are opaque strings: one of them is markup, which must show as text.
MARKUP_STORE = "<img src=x onerror=window.__injected=1>"
NEW_YORK_STORE = "ny-0001"
NEWEST_POLL = datetime(2023, 1, 25, 18, 0, tzinfo=UTC)
#: The page writes time ranges with an en dash.
DASH = "\u2013"

pytestmark = pytest.mark.slow


#: Records every moment the current-report panel and the report's row in the
#: list show different statuses (checked after each batch of DOM changes).
WATCH_STATUSES = """() => {
  window.__statusClashes = [];
  new MutationObserver(() => {
    const id = document.getElementById("current-id").textContent;
    const row = id && document.querySelector(`#reports-body tr[data-report-id="${id}"] .badge`);
    const panel = document.getElementById("current-status").textContent;
    if (row && row.textContent !== panel) window.__statusClashes.push([panel, row.textContent]);
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
}"""


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the dashboard test)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def playwright_api() -> Any:
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} not found: apt-get install -y chromium")
    try:
        from playwright import sync_api
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[dev]')")
    return sync_api


def _write_feeds(folder: Path) -> dict[str, Path]:
    """Three stores over eight days of hourly polls.

    ``ny-0001`` (New York) keeps weekday and Saturday hours and is down every
    afternoon from 14:00 to 16:00 local; the markup store has no timezone
    (America/Chicago) and no hours (open 24/7); ``tokyo-7`` runs past midnight.
    """
    status = ["store_id,status,timestamp_utc"]
    start = NEWEST_POLL - timedelta(days=8)
    moment = start
    while moment <= NEWEST_POLL:
        stamp = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
        ny_down = (moment.hour - 5) % 24 in (14, 15)
        status.append(f"{NEW_YORK_STORE},{'inactive' if ny_down else 'active'},{stamp}")
        status.append(f'"{MARKUP_STORE}",{"inactive" if moment.hour == 3 else "active"},{stamp}')
        status.append(f"tokyo-7,active,{stamp}")
        moment += timedelta(hours=1)
    hours = ["store_id,dayOfWeek,start_time_local,end_time_local"]
    hours += [f"{NEW_YORK_STORE},{day},09:00:00,17:00:00" for day in range(5)]
    hours.append(f"{NEW_YORK_STORE},5,10:00:00,14:00:00")
    hours += [f"tokyo-7,{day},18:00:00,02:00:00" for day in range(7)]
    timezones = [
        "store_id,timezone_str",
        f"{NEW_YORK_STORE},America/New_York",
        "tokyo-7,Asia/Tokyo",
    ]
    files = {"status": status, "hours": hours, "timezones": timezones}
    paths = {}
    for feed, lines in files.items():
        paths[feed] = folder / f"{feed}.csv"
        paths[feed].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _load(database_url: str, feeds: dict[str, Path]) -> None:
    from storemon.data.database import make_engine
    from storemon.data.migrate import migrate
    from storemon.ingest.service import ingest_feed

    engine = make_engine(database_url)
    try:
        migrate(engine)
        for feed in ("timezones", "hours", "status"):
            result = ingest_feed(engine, feed, feeds[feed])
            assert result.rejected == 0, result.first_rejects
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Server:
    base_url: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("dashboard")
    database_url = f"sqlite:///{folder / 'storemon.db'}"
    _load(database_url, _write_feeds(folder))
    env = {
        **os.environ,
        "STOREMON_DATABASE_URL": database_url,
        "STOREMON_API_KEY": API_KEY,
        "STOREMON_REPORT_WORKERS": "1",
    }
    env.pop("STOREMON_CORS_ORIGINS", None)
    with serving(folder, env) as server:
        yield server



@contextlib.contextmanager
def serving(folder: Path, env: dict[str, str]) -> Iterator[Server]:
    """A real server process on a free port with ``env``, logging to
    ``folder/server.log``; stopped when the block ends."""
    port = _free_port()
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "storemon.api.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base_url, process, folder / "server.log")
        yield Server(base_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()

def _wait_until_up(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited:\n{log.read_text(errors='replace')}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{base_url}/reports?limit=1", timeout=2) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"the server did not start:\n{log.read_text(errors='replace')}")


@dataclass
class Browser:
    page: Any
    #: Script errors and console errors (a CSP violation is one) seen so far.
    problems: list[str]


@pytest.fixture
def browser(playwright_api: Any, server: Server) -> Iterator[Browser]:
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(
            viewport={"width": 1280, "height": 800},
            accept_downloads=True,
            base_url=server.base_url,
            timezone_id="Europe/Paris",
        )
        context.set_default_timeout(15_000)
        seen = Browser(context.new_page(), [])

        def on_console(message: Any) -> None:
            if message.type == "error":
                seen.problems.append(f"console: {message.text}")

        seen.page.on("pageerror", lambda error: seen.problems.append(f"page error: {error}"))
        seen.page.on("console", on_console)
        try:
            yield seen
        finally:
            context.close()
            chromium.close()


def _screenshot(page: Any, path: Path) -> bytes:
    data: bytes = page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("STOREMON_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return data


def _assert_not_blank(data: bytes) -> None:
    colours, commonest = colour_variety(decode_png(data))
    assert colours > 50, f"only {colours} colours: is the page blank?"
    assert commonest < 0.9, f"one colour covers {commonest:.0%} of the page"


def test_dashboard_runs_a_report_and_charts_a_store(
    playwright_api: Any, browser: Browser, tmp_path: Path
) -> None:
    started = time.monotonic()
    page = browser.page
    page.goto("/")
    assert page.title() == "storemon dashboard"

    # Without the key the server refuses, and the page says how to fix it.
    page.get_by_role("button", name="Trigger report").click()
    message = page.locator("#report-message")
    message.filter(has_text="needs an API key").wait_for()
    assert page.evaluate("document.activeElement.id") == "api-key"

    page.get_by_label("API key").fill(API_KEY)
    assert page.evaluate("sessionStorage.getItem('storemon.apiKey')") == API_KEY
    page.get_by_label("Status between polls").select_option("previous")
    page.evaluate(WATCH_STATUSES)
    page.get_by_role("button", name="Trigger report").click()

    current = page.locator("#current-status")
    current.filter(has_text="Complete").wait_for(timeout=30_000)
    report_id = page.locator("#current-id").text_content()
    assert report_id
    row = page.locator(f'#reports-body tr[data-report-id="{report_id}"]')
    row.locator(".badge-Complete").wait_for()
    # While it ran, the panel and the list never told two statuses at once;
    # once it is done, the panel tells the outcome and "Report started." goes.
    assert page.evaluate("window.__statusClashes") == []
    playwright_api.expect(message).to_have_text("")
    assert "previous" in row.text_content()
    assert f"1{DASH}1 of 1" in page.locator("#page-info").text_content()
    page.get_by_label("Status", exact=True).select_option("Failed")
    page.locator("#reports-body", has_text="No Failed reports.").wait_for()
    page.get_by_label("Status", exact=True).select_option("")
    row.wait_for()

    with page.expect_download() as csv_download:
        page.locator('#current-downloads a[data-format="csv"]').click()
    csv_text = Path(csv_download.value.path()).read_text(encoding="utf-8")
    header, *rows = csv_text.strip().splitlines()
    assert header == (
        "store_id,uptime_last_hour,uptime_last_day,uptime_last_week,"
        "downtime_last_hour,downtime_last_day,downtime_last_week"
    )
    assert len(rows) == 3
    with page.expect_download() as parquet_download:
        row.locator('a[data-format="parquet"]').click()
    assert Path(parquet_download.value.path()).read_bytes()[:4] == b"PAR1"

    # A store id made of markup is shown as text, never parsed as HTML.
    expect = playwright_api.expect
    results = page.locator("#store-results")
    page.get_by_label("Store id starts with").fill("<img")
    expect(results).to_have_attribute("data-query", "<img")
    expect(results.locator("button")).to_have_count(1)
    assert page.locator("#store-results img").count() == 0
    results.locator("button", has_text=MARKUP_STORE).click()
    page.locator("#summary-store-id", has_text=MARKUP_STORE).wait_for()
    assert "America/Chicago (default)" in page.locator("#summary").text_content()
    assert "Open 24 hours" in page.locator("#summary").text_content()

    page.get_by_label("Store id starts with").fill("ny-")
    expect(results).to_have_attribute("data-query", "ny-")
    expect(results.locator("button")).to_have_count(1)
    results.locator("button", has_text=NEW_YORK_STORE).click()
    page.locator("#summary-store-id", has_text=NEW_YORK_STORE).wait_for()
    summary = page.locator("#summary").text_content()
    assert "America/New_York" in summary
    assert f"Mon09:00{DASH}17:00" in summary.replace(" ", "")
    assert "Sunclosed" in summary.replace(" ", "")
    chart = page.locator("#chart svg")
    chart.wait_for()
    # Eight local days touched by the week, every hourly poll, both statuses.
    assert chart.locator("g.day").count() == 8
    assert chart.locator('[data-kind="poll-active"]').count() > 100
    assert chart.locator('[data-kind="poll-inactive"]').count() >= 8
    assert chart.locator('[data-kind="open"]').count() == 7
    assert chart.locator('[data-kind="up"]').count() >= 5
    assert chart.locator('[data-kind="down"]').count() >= 5
    # Local time: the New York store opens at 09:00 on its own clock, which
    # the browser (set to Paris) would place at 15:00.
    assert chart.locator('[data-kind="open"]').nth(1).text_content() == f"Open 09:00{DASH}17:00"
    assert "Business hours 44.0 h" in page.locator("#chart-totals").text_content()
    page.get_by_role("button", name="Earlier week").click()
    page.locator("#chart-span", has_text="2023-01-11 13:00").wait_for()
    page.get_by_role("button", name="Later week").click()
    page.locator("#chart-span", has_text="2023-01-18 13:00 to").wait_for()
    assert page.evaluate("window.__injected") is None

    _assert_not_blank(_screenshot(page, tmp_path / "dashboard-1280.png"))

    # Narrow screens: everything still fits the width.
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)  # the chart redraws after a resize
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _assert_not_blank(_screenshot(page, tmp_path / "dashboard-390.png"))

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=f"Delete report {report_id}").click()
    page.locator("#reports-body", has_text="No reports yet.").wait_for()

    # The browser logs the 401 the page provoked on purpose; nothing else.
    assert [p for p in browser.problems if "status of 401" not in p] == []
    assert time.monotonic() - started < 60


def _trigger(server: Server, body: dict[str, str]) -> str:
    request = urllib.request.Request(
        f"{server.base_url}/trigger_report",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "X-API-Key": API_KEY},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        report_id: str = json.load(response)["report_id"]
        return report_id


def test_reports_started_together_get_short_ids_that_differ(
    browser: Browser, server: Server
) -> None:
    # Ids start with their creation time: reports a second apart share the
    # head, so the list shows the random tail.
    ids = [_trigger(server, {"as_of": f"2023-01-25 1{hour}:00:00"}) for hour in (5, 6, 7)]
    page = browser.page
    page.goto("/")
    for report_id in ids:
        page.locator(f'#reports-body tr[data-report-id="{report_id}"]').wait_for()
    shown = {
        report_id: page.locator(f'#reports-body tr[data-report-id="{report_id}"] code')
        .text_content()
        .strip("\u2026")
        for report_id in ids
    }
    assert len(set(shown.values())) == len(ids), shown
    assert all(report_id.endswith(short) and short for report_id, short in shown.items())
    assert browser.problems == []


def test_a_link_to_an_unknown_store_says_the_store_does_not_exist(
    playwright_api: Any, browser: Browser
) -> None:
    page = browser.page
    page.goto("/#store=no-such-store")
    expect = playwright_api.expect
    unknown = "No store has the id \u201cno-such-store\u201d."
    expect(page.locator("#store-message")).to_have_text(unknown)
    # The store search still answers beside it, and no empty chart is shown.
    expect(page.locator("#search-message")).to_have_text("3 stores found.")
    assert page.locator("#store-view").is_hidden()
    assert [p for p in browser.problems if "status of 404" not in p] == []


def test_the_api_docs_render_the_operations_without_the_internet(
    browser: Browser, server: Server
) -> None:
    page = browser.page
    elsewhere: list[str] = []

    def only_this_server(route: Any) -> None:
        if route.request.url.startswith(server.base_url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.goto("/docs")
    operation = '.opblock-summary-path[data-path="{}"]'
    page.locator(operation.format("/trigger_report")).wait_for()
    # One block per operation: GET and DELETE share this path.
    assert page.locator(operation.format("/reports/{report_id}")).count() == 2
    assert elsewhere == []
    assert browser.problems == []
