"""Schemathesis' stateful testing over the whole API, following the links
of the app's OpenAPI schema: a trigger's report id to its metadata, rows,
downloads and deletion; a store search's first store to its summary, time
line, outages, report and poll removal; an upload's ingest id to its log
entry. Every answer must be free of 5xx and match the schema (status code,
content type, body).

One app and one lifespan serve the whole module, on a database of its own,
over real HTTP: each scenario is a sequence of requests to the same running
service, as clients send them. (Schemathesis' in-process ASGI transport
ends an app's lifespan after every test and starts it again on the next
request, on the same database file and with a runner already shut down.)"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from storemon.api.app import create_app
from storemon.api.openapi import LINKS

from .feeds import load_feeds, write_feeds
from .fixtures_ops import KEY_HEADER, settings_for, sqlite_url
from .harness import ThreadRunner, served

SESSIONS = 3
SCENARIOS_PER_SESSION = 25
STEPS_PER_SCENARIO = 8
#: No new session starts after this long (a busy machine runs fewer).
BUDGET_S = 30
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class CountingRunner(ThreadRunner):
    """Runs reports on a thread and counts how often the app started it."""

    starts = 0

    def start(self) -> None:
        CountingRunner.starts += 1


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.Schema]:
    folder: Path = tmp_path_factory.mktemp("stateful")
    url = sqlite_url(folder)
    CountingRunner.starts = 0
    # Reports run for real (a download finds a CSV); no queue limit, so a
    # deliberate 503 ("try again shortly") stays out of the way.
    app = create_app(settings_for(url, queue_limit=10**9), runner=CountingRunner(url))
    with served(app) as base:
        write_feeds(folder)
        load_feeds(url, folder)
        yield schemathesis.openapi.from_url(f"{base}/openapi.json")


def test_the_schema_links_every_step_of_the_flows(api_schema: schemathesis.Schema) -> None:
    linked = {
        (method, path): answer["200"].get("links", {})
        for path, item in api_schema.raw_schema["paths"].items()
        for method, operation in item.items()
        if (answer := operation["responses"]).get("200")
    }
    for method, path, _, targets in LINKS:
        assert set(linked[(method, path)]) == {name for name, *_ in targets}
    trigger = linked[("post", "/trigger_report")]
    assert trigger["Download"]["parameters"] == {"path.report_id": "$response.body#/report_id"}


def test_no_sequence_of_requests_gets_a_server_error_or_leaves_the_schema(
    api_schema: schemathesis.Schema,
) -> None:
    deadline = time.monotonic() + BUDGET_S
    calls: list[tuple[str, int]] = []

    class Scenarios(api_schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: schemathesis.Case) -> None:
            case.headers = {**(case.headers or {}), **KEY_HEADER}

        def validate_response(
            self, response: Response, case: schemathesis.Case, **kwargs: Any
        ) -> None:
            calls.append((case.operation.label, response.status_code))
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    # The server's state changes under Hypothesis (a report deleted, a
    # bundle of ids that filled up differently), which it may take for an
    # inconsistent strategy; as schemathesis' own runner does, such a
    # session is ended and a fresh one started. Real failures propagate.
    sessions = restarted = 0
    while sessions < SESSIONS and time.monotonic() < deadline:
        try:
            Scenarios.run(
                settings=settings(
                    max_examples=SCENARIOS_PER_SESSION,
                    stateful_step_count=STEPS_PER_SCENARIO,
                    deadline=None,
                    database=None,
                    phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck),
                )
            )
        except FlakyStrategyDefinition:
            restarted += 1  # its requests were made and checked all the same
            continue
        sessions += 1

    # The lifespan ran once for every scenario.
    assert CountingRunner.starts == 1
    assert len(calls) >= 100, f"{len(calls)} requests ({sessions} sessions, {restarted} restarted)"
    statuses = {status for _, status in calls}
    assert not any(status >= 500 for status in statuses)
    # Ids from answers reached the routes they feed: reports and stores.
    answered = {label for label, status in calls if status < 400}
    for source in (("post", "/trigger_report"), ("get", "/stores")):
        fed = {f"{m.upper()} {path}" for _, m, path, _ in _targets(*source)}
        assert answered & fed, f"nothing fed by {source} answered: {sorted(answered)}"


def _targets(method: str, path: str) -> list[tuple[str, str, str, str]]:
    return next(targets for m, p, _, targets in LINKS if (m, p) == (method, path))
