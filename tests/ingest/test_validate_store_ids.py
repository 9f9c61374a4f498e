"""store_id rules shared by every feed."""

import polars as pl

from storemon.ingest.feeds import Feed
from storemon.ingest.validate import validate


def test_a_store_id_with_a_nul_character_is_rejected() -> None:
    fields = pl.DataFrame(
        {"store_id": ["a", "b\x00c"], "timezone_str": ["UTC", "UTC"], "line": [2, 3]},
        schema={"store_id": pl.Utf8, "timezone_str": pl.Utf8, "line": pl.Int64},
    )
    valid, rejects = validate(Feed.TIMEZONES, fields)
    assert valid["store_id"].to_list() == ["a"]
    assert rejects.select("line", "reason").rows() == [(3, "store_id contains a NUL character")]
