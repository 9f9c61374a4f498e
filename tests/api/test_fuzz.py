"""Schemathesis against the app's own OpenAPI schema: no generated request,
however odd, gets a 5xx. The API key is sent, so the mutating endpoints are
exercised past authentication. SQLite only, with a bounded number of
examples per operation to keep it under a minute. One app, served over HTTP
for the whole module, runs its lifespan once (see ``test_stateful_fuzz``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from storemon.api.app import create_app

from .feeds import load_feeds, write_feeds
from .fixtures_ops import KEY_HEADER, settings_for, sqlite_url
from .harness import HeldRunner, served

EXAMPLES_PER_OPERATION = 40


@pytest.fixture(scope="module")
def app_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.Schema]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    url = sqlite_url(folder)
    # Reports are queued, never run; a queue that never fills keeps a
    # deliberate 503 ("try again shortly") out of the way.
    app = create_app(settings_for(url, queue_limit=10**9), runner=HeldRunner(url))
    with served(app) as base:
        write_feeds(folder)
        load_feeds(url, folder)
        yield schemathesis.openapi.from_url(f"{base}/openapi.json")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_gets_a_server_error(
    app_schema: schemathesis.Schema, mode: GenerationMode
) -> None:
    # Hypothesis is driven directly: schemathesis' lazy pytest loader does not
    # run on pytest 9. Every operation runs; the failures are listed together.
    failures = []
    for result in app_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def no_server_error(case: schemathesis.Case) -> None:
            try:
                response = case.call(headers=KEY_HEADER)
            except Exception as error:  # the app raised: a 500 in production
                raise AssertionError(f"{error!r}\n{case.as_curl_command()}") from error
            case.validate_response(response, checks=[not_a_server_error])

        try:
            no_server_error()
        except Unsatisfiable:
            pass  # nothing to break: e.g. no invalid request exists for GET /health
        except Exception as error:
            failures.append(f"{operation.label}: {error}")
    assert not failures, "\n\n".join(failures)
