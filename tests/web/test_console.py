"""The dashboard as an operations console, end to end in headless Chromium:
a report's results (summary, sortable and filterable table, groups), a
store's no-data time, special hours, outages and daily trend, and feed
uploads with their rejected rows; each view at desktop and phone widths.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from .test_dashboard import (
    API_KEY,
    CHROMIUM,
    CHROMIUM_ARGS,
    Server,
    _assert_not_blank,
    _missing,
    _screenshot,
    serving,
)

NEWEST_POLL = datetime(2023, 1, 25, 18, 0, tzinfo=UTC)
MARKUP_STORE = "<b>east-2</b>"
#: The server's default max gap for the dashboard, in minutes.
DEFAULT_GAP = 90

pytestmark = pytest.mark.slow


def _write_feeds(folder: Path) -> dict[str, Path]:
    """Three stores over eight days of hourly polls.

    ``ny-1`` (New York, weekdays 09:00-17:00) is down 14:00-16:00 local every
    day and sends nothing from 13:00 to 20:00 UTC on Friday 2023-01-20 (08:00
    to 15:00 local); it has special
    hours on Monday 2023-01-23 (12:00-14:00) and is closed on Tuesday the
    24th. Groups: ``east`` holds ``ny-1`` and the markup store, ``asia``
    holds ``tokyo-7``.
    """
    status = ["store_id,status,timestamp_utc"]
    moment = NEWEST_POLL - timedelta(days=8)
    silent = (datetime(2023, 1, 20, 13, tzinfo=UTC), datetime(2023, 1, 20, 20, tzinfo=UTC))
    while moment <= NEWEST_POLL:
        stamp = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
        if not silent[0] <= moment < silent[1]:
            down = (moment.hour - 5) % 24 in (14, 15)
            status.append(f"ny-1,{'inactive' if down else 'active'},{stamp}")
        status.append(f'"{MARKUP_STORE}",{"inactive" if moment.hour == 3 else "active"},{stamp}')
        status.append(f"tokyo-7,active,{stamp}")
        moment += timedelta(hours=1)
    hours = ["store_id,dayOfWeek,start_time_local,end_time_local"]
    hours += [f"ny-1,{day},09:00:00,17:00:00" for day in range(5)]
    timezones = ["store_id,timezone_str", "ny-1,America/New_York", "tokyo-7,Asia/Tokyo"]
    special = [
        "store_id,date,start_time_local,end_time_local",
        "ny-1,2023-01-23,12:00,14:00",
        "ny-1,2023-01-24,,",
    ]
    groups = ["store_id,group", "ny-1,east", f'"{MARKUP_STORE}",east', "tokyo-7,asia"]
    files = {
        "status": status,
        "hours": hours,
        "timezones": timezones,
        "special_hours": special,
        "groups": groups,
    }
    paths = {}
    for feed, lines in files.items():
        paths[feed] = folder / f"{feed}.csv"
        paths[feed].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def _load(database_url: str, feeds: dict[str, Path]) -> None:
    from storemon.data.database import make_engine
    from storemon.data.migrate import migrate
    from storemon.ingest.service import ingest_feed

    engine = make_engine(database_url)
    try:
        migrate(engine)
        for feed in ("timezones", "hours", "status", "special_hours", "groups"):
            result = ingest_feed(engine, feed, feeds[feed])
            assert result.rejected == 0, result.first_rejects
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("console")
    database_url = f"sqlite:///{folder / 'storemon.db'}"
    _load(database_url, _write_feeds(folder))
    env = {
        **os.environ,
        "STOREMON_DATABASE_URL": database_url,
        "STOREMON_API_KEY": API_KEY,
        "STOREMON_REPORT_WORKERS": "1",
        "STOREMON_DASHBOARD_MAX_GAP": str(DEFAULT_GAP),
    }
    with serving(folder, env) as server:
        yield server


@pytest.fixture
def page(playwright_api: Any, console_server: Server) -> Iterator[tuple[Any, list[str]]]:
    """A page on the console server with the API key entered, and the script
    and console errors it logs."""
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(
            viewport={"width": 1280, "height": 800},
            base_url=console_server.base_url,
            timezone_id="Europe/Paris",
        )
        context.set_default_timeout(15_000)
        opened = context.new_page()
        problems: list[str] = []
        opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        opened.on(
            "console",
            lambda message: problems.append(message.text) if message.type == "error" else None,
        )
        opened.goto("/")
        opened.get_by_label("API key").fill(API_KEY)
        try:
            yield opened, problems
        finally:
            context.close()
            chromium.close()


def _both_widths(page: Any, tmp_path: Path, name: str) -> None:
    """The view is drawn (not blank) at desktop width, and at phone width
    fits the screen without sideways scrolling."""
    _assert_not_blank(_screenshot(page, tmp_path / f"{name}-1280.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)  # charts redraw after a resize
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _assert_not_blank(_screenshot(page, tmp_path / f"{name}-390.png"))
    page.set_viewport_size({"width": 1280, "height": 800})


UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter((c) => c.type !== "hidden" && c.labels.length === 0 && !c.getAttribute("aria-label"))
  .map((c) => c.id || c.outerHTML)"""


def _report_ready(page: Any) -> str:
    page.get_by_role("button", name="Trigger report").click()
    page.locator("#current-status", has_text="Complete").wait_for(timeout=30_000)
    report_id: str = page.locator("#current-id").text_content()
    return report_id


@pytest.fixture(scope="module")
def playwright_api() -> Any:
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} not found: apt-get install -y chromium")
    try:
        from playwright import sync_api
    except ImportError:
        _missing("playwright is not installed (pip install -e '.[dev]')")
    return sync_api


def test_report_results_show_the_summary_and_a_worst_first_table_that_sorts_and_filters(
    playwright_api: Any, page: tuple[Any, list[str]], tmp_path: Path
) -> None:
    started = time.monotonic()
    view, problems = page
    expect = playwright_api.expect
    report_id = _report_ready(view)

    view.locator(f'#reports-body tr[data-report-id="{report_id}"]').get_by_role(
        "button", name="View"
    ).click()

    tiles = view.locator("#fleet-summary")
    expect(tiles).to_contain_text("Stores3")
    expect(tiles).to_contain_text("Uptime share, last week")
    rows = view.locator("#rows-body tr")
    expect(rows).to_have_count(3)
    # Worst first: ny-1 is down two hours a day; the others at most an hour.
    expect(rows.first).to_contain_text("ny-1")
    header = view.locator("#rows-head th", has_text="Down last week")
    expect(header).to_have_attribute("aria-sort", "descending")
    # The markup store id is text, never markup.
    assert view.locator("#rows-body b").count() == 0
    expect(view.locator("#rows-body")).to_contain_text(MARKUP_STORE)

    # Sorting by the store column: A to Z, then Z to A; keyboard-operable.
    store_header = view.locator("#rows-head button", has_text="Store")
    store_header.focus()
    view.keyboard.press("Enter")
    expect(view.locator("#rows-head th").first).to_have_attribute("aria-sort", "ascending")
    expect(rows.first).to_contain_text(MARKUP_STORE)
    view.keyboard.press("Enter")
    expect(view.locator("#rows-head th").first).to_have_attribute("aria-sort", "descending")
    expect(rows.first).to_contain_text("tokyo-7")

    view.get_by_label("Id starts with", exact=True).fill("ny")
    view.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(view.locator("#rows-info")).to_contain_text("(3 in the report)")
    view.get_by_label("Id starts with", exact=True).fill("")
    view.get_by_label("Group", exact=True).select_option("east")
    view.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    view.get_by_label("Group", exact=True).select_option("")
    view.get_by_label("Threshold on").select_option("downtime_last_week")
    view.get_by_label("At least").fill("8")
    view.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("ny-1")

    # Groups: each group's availability, the worst first, with its worst stores.
    groups = view.locator("#groups-body tr")
    expect(groups).to_have_count(2)
    expect(groups.first).to_contain_text("east")
    expect(groups.first).to_contain_text("ny-1")
    expect(groups.nth(1)).to_contain_text("asia")
    expect(groups.nth(1)).to_contain_text("none down")

    assert view.evaluate(UNLABELLED) == []
    _both_widths(view, tmp_path, "results")
    assert problems == []
    assert time.monotonic() - started < 30


def test_a_store_shows_no_data_special_hours_outages_and_the_rule_in_force(
    playwright_api: Any, page: tuple[Any, list[str]], tmp_path: Path
) -> None:
    view, problems = page
    expect = playwright_api.expect
    view.goto("/#store=ny-1")

    rule = view.locator("#gap-rule")
    expect(rule).to_contain_text(f"Max gap: {DEFAULT_GAP} minutes (the server's default)")
    chart = view.locator("#chart svg")
    chart.wait_for()
    # Friday's silent hours are, a max gap's reach apart, business time without data.
    assert chart.locator('[data-kind="nodata"]').count() >= 1
    expect(view.locator("#chart-totals")).to_contain_text("no data")
    # Monday the 23rd opens 12:00-14:00 by its special row; the 24th is closed.
    special = chart.locator('[data-kind="special"]')
    expect(special).to_have_count(1)
    assert special.text_content() == "Special hours 12:00\u201314:00"
    assert chart.locator('g.day[data-date="2023-01-24"] [data-kind="open"]').count() == 0
    # Outages: 14:00-16:00 local on each open weekday outside the special days.
    outages = view.locator("#outages-body tr")
    assert outages.count() >= 3
    expect(outages.first.locator("td").nth(2)).to_have_text("2 h 0 min")

    # Without a max gap the silent hours take the nearest poll's status.
    view.get_by_label("Max gap (min)").fill("")
    view.get_by_label("Max gap (min)").press("Enter")
    expect(rule).to_contain_text("Max gap: none")
    expect(chart.locator('[data-kind="nodata"]')).to_have_count(0)

    # The daily trend comes from a daily report of this store.
    view.get_by_role("button", name="Show uptime per day").click()
    message = view.locator("#trend-message")
    expect(message).not_to_have_text("")
    expect(message).not_to_contain_text("Computing", timeout=30_000)
    if "not available" not in message.text_content():
        expect(view.locator("#trend svg g[data-date]").first).to_be_visible()
        assert "Uptime share of business hours per local day" in message.text_content()

    _both_widths(view, tmp_path, "store")
    # A server without daily reports answers the trigger with 422 (logged).
    assert [p for p in problems if "status of 422" not in p] == []


def test_feed_uploads_show_loaded_and_rejected_counts_and_the_rejected_rows(
    playwright_api: Any, page: tuple[Any, list[str]], tmp_path: Path
) -> None:
    view, problems = page
    expect = playwright_api.expect
    feeds = {
        "status": "store_id,status,timestamp_utc\nny-1,active,2023-01-25 17:30:00 UTC\n",
        "hours": "store_id,dayOfWeek,start_time_local,end_time_local\nny-1,9,09:00,17:00\n",
        "timezones": "store_id,timezone_str\ntokyo-7,Asia/Tokyo\n",
        "special_hours": (
            "store_id,date,start_time_local,end_time_local\n"
            "ny-1,2023-01-23,12:00,14:00\nny-1,2023-01-24,,\nny-1,2023-02-30,10:00,11:00\n"
        ),
        "groups": "store_id,group\nny-1,east\n,nowhere\n",
    }
    expected = {
        "status": (1, 0),
        "hours": (0, 1),
        "timezones": (1, 0),
        "special_hours": (2, 1),
        "groups": (1, 1),
    }
    message = view.locator("#upload-message")
    for feed, text in feeds.items():
        path = tmp_path / f"{feed}.csv"
        path.write_text(text, encoding="utf-8")
        view.get_by_label("Feed").select_option(feed)
        view.get_by_label("CSV file").set_input_files(str(path))
        view.get_by_role("button", name="Upload").click()
        loaded, rejected = expected[feed]
        expect(message).to_contain_text(f"({feed}): loaded {loaded} rows, rejected {rejected}.")
        rejects = view.locator("#rejects-body tr")
        if rejected:
            expect(rejects).to_have_count(rejected)
        else:
            expect(view.locator("#upload-rejects")).to_be_hidden()
        if feed == "special_hours":
            expect(rejects.first).to_contain_text("ny-1,2023-02-30,10:00,11:00")
            _both_widths(view, tmp_path, "uploads")

    # Strict: a file with a rejected row loads nothing, and the page says why.
    view.get_by_label("Strict").check()
    view.get_by_label("Feed").select_option("groups")
    view.get_by_label("CSV file").set_input_files(str(tmp_path / "groups.csv"))
    view.get_by_role("button", name="Upload").click()
    expect(message).to_contain_text("Could not load groups.csv")
    assert [p for p in problems if "status of 422" not in p] == []


def test_a_per_group_report_is_triggered_from_the_page_or_said_to_be_unavailable(
    playwright_api: Any, page: tuple[Any, list[str]]
) -> None:
    view, problems = page
    expect = playwright_api.expect
    view.get_by_label("Kind").select_option("groups")
    # Only a daily report asks for dates.
    assert view.get_by_label("From (local date)").is_hidden()
    view.get_by_role("button", name="Trigger report").click()
    message = view.locator("#report-message")
    expect(message).not_to_have_text("Starting a report\u2026")
    if "does not offer" in message.text_content():
        assert [p for p in problems if "status of 422" not in p] == []
        return
    view.locator("#current-status", has_text="Complete").wait_for(timeout=30_000)
    view.get_by_role("button", name="View results").click()
    rows = view.locator("#rows-body tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("east")
    assert problems == []
