"""Bytes that are not UTF-8: the record holding them is rejected with a
reason (never replaced by U+FFFD, which would merge distinct ids); valid
records around it still load."""

from __future__ import annotations

import pytest

from storemon.ingest.feeds import Feed

from .helpers import parse, reasons


def test_a_record_that_is_not_utf8_is_rejected_not_merged_with_another_id() -> None:
    # Replacing the bad bytes by U+FFFD would make both ids 'ab\ufffdc'.
    data = (
        b"store_id,status,timestamp_utc\n"
        b"ab\xffc,active,2023-01-25 10:00:00\n"
        b"ab\xfec,active,2023-01-25 10:00:00\n"
        b"\xc3\xa9t\xc3\xa9,active,2023-01-25 10:00:00\n"
        b'"q\xe9",active,2023-01-25 10:00:00\n'
        b"ok,active,2023-01-25 10:00:00,extra \xe9\n"
        b"tail,active,2023-01-25 10:00:00\xe2\x82\n"
    )
    valid, rejects = parse(Feed.STATUS, data)

    assert valid["store_id"].to_list() == ["été"]
    assert reasons(rejects) == [(line, "not valid UTF-8 text") for line in (2, 3, 5, 6, 7)]
    assert rejects["raw"][0] == "ab\ufffdc,active,2023-01-25 10:00:00"


@pytest.mark.parametrize("chunk_bytes", [7, 64, 1 << 20])
def test_bytes_that_are_not_utf8_reject_only_their_own_record(chunk_bytes: int) -> None:
    rows = [f"s{i},active,2023-01-25 10:00:00\n".encode() for i in range(40)]
    for i in (0, 13, 14, 39):
        rows[i] = rows[i].replace(b"s", b"s\x80", 1)
    data = b"store_id,status,timestamp_utc\n" + b"".join(rows)

    valid, rejects = parse(Feed.STATUS, data, chunk_bytes=chunk_bytes)

    assert rejects["line"].to_list() == [2, 15, 16, 41]
    assert valid["store_id"].to_list() == [f"s{i}" for i in range(40) if i not in (0, 13, 14, 39)]
