"""The database cut while a large status upload is being written: the
client gets JSON 503 with Retry-After (or, when the cut comes too late, the
whole upload), the database keeps all of that upload's polls or none, the
ingest log never counts polls that are not there, and sending the same
upload again loads everything."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa

from api.harness import HeldRunner, running_api
from storemon.data.database import make_engine
from storemon.data.schema import ingests, polls, stores
from storemon.ingest import parse

from .conftest import SERVERS
from .proxy import TcpProxy

STORES = 200
POLLS_PER_STORE = 1000
#: Parsed pieces of 1 MiB (not 16): the upload's 8 MB make several, so a
#: load that committed piece by piece would be caught half-written.
PIECE_BYTES = 1 << 20
#: When each attempt cuts the database, as a part of a whole upload's time.
CUT_AT = (0.5, 0.3, 0.7, 0.15)


def _upload(prefix: str) -> bytes:
    lines = ["store_id,status,timestamp_utc"]
    for store in range(STORES):
        for hour in range(POLLS_PER_STORE):
            day, rest = divmod(hour, 24)
            state = "active" if (store + hour) % 5 else "inactive"
            lines.append(
                f"{prefix}{store},{state},2023-{1 + day // 28:02}-{1 + day % 28:02} {rest:02}:00:00"
            )
    return ("\n".join(lines) + "\n").encode()


def _polls_of(engine: sa.Engine, prefix: str) -> int:
    with engine.connect() as connection:
        query = (
            sa.select(sa.func.count())
            .select_from(polls.join(stores, polls.c.store_key == stores.c.store_key))
            .where(stores.c.store_id.like(f"{prefix}%"))
        )
        return int(connection.execute(query).scalar_one())


def _ingests_since(engine: sa.Engine, after_id: int) -> list[Any]:
    with engine.connect() as connection:
        query = sa.select(ingests.c.id, ingests.c.status, ingests.c.rows_loaded).where(
            ingests.c.id > after_id
        )
        return list(connection.execute(query.order_by(ingests.c.id)).all())


def _last_ingest_id(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.select(sa.func.coalesce(sa.func.max(ingests.c.id), 0))
            ).scalar_one()
        )


@SERVERS
def test_a_database_cut_mid_upload_keeps_all_of_it_or_none_and_a_retry_loads_it(
    database_url: str, proxy: TcpProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        "storemon.ingest.service.parse_feed", partial(parse.parse_feed, chunk_bytes=PIECE_BYTES)
    )
    direct = make_engine(database_url)
    headers = {"Content-Type": "text/csv"}
    expected = STORES * POLLS_PER_STORE
    cut_answers = []
    try:
        with (
            running_api(proxy.proxied(database_url), HeldRunner(database_url)) as client,
            ThreadPoolExecutor(1) as uploads,
        ):
            # A whole upload, timed: the cuts land inside the next ones.
            started = time.monotonic()
            whole = client.post("/ingest/status", content=_upload("whole-"), headers=headers)
            took = time.monotonic() - started
            assert whole.status_code == 200, whole.text
            for attempt, part in enumerate(CUT_AT):
                delay = took * part
                prefix = f"cut{attempt}-"
                body = _upload(prefix)
                before = _last_ingest_id(direct)
                sending = uploads.submit(
                    client.post, "/ingest/status", content=body, headers=headers
                )
                while not _ingests_since(direct, before) and not sending.done():
                    time.sleep(0.01)
                time.sleep(delay)
                proxy.cut()
                try:
                    response = sending.result(timeout=60)
                finally:
                    proxy.restore()
                kept = _polls_of(direct, prefix)
                logged = _ingests_since(direct, before)
                cut_answers.append(response.status_code)

                if response.status_code == 200:
                    assert response.json()["loaded"] == expected
                    assert kept == expected
                    assert [(row.status, row.rows_loaded) for row in logged] == [
                        ("complete", expected)
                    ]
                    continue
                assert response.status_code == 503, response.text
                assert response.headers["content-type"] == "application/json"
                assert response.headers["retry-after"] == "5"
                assert response.json() == {
                    "error": "the database is unavailable; try again shortly"
                }
                assert kept == 0, f"{kept} of {expected} polls of a failed upload kept"
                # The entry says the upload did not complete, and counts nothing.
                assert [(row.status, row.rows_loaded) for row in logged] in (
                    [("running", 0)],
                    [("failed", 0)],
                )

                again = client.post("/ingest/status", content=body, headers=headers)
                assert again.status_code == 200, again.text
                assert again.json()["loaded"] == expected
                assert _polls_of(direct, prefix) == expected
                assert _ingests_since(direct, before)[-1][1:] == ("complete", expected)
                break
    finally:
        direct.dispose()

    assert 503 in cut_answers, f"every upload finished before the cut: {cut_answers}"
