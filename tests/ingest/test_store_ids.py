"""One store-id rule (trim, 1 to 255 characters, no NUL) for every feed and
every layer: the ingest's vectorized check and the lookups' scalar check agree."""

from __future__ import annotations

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from storemon.ingest.feeds import Feed
from storemon.ingest.validate import validate
from storemon.store_ids import TRIMMED, is_store_id, store_id_problem


def _timezone_rows(*store_ids: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "store_id": list(store_ids),
            "timezone_str": ["UTC"] * len(store_ids),
            "line": list(range(2, 2 + len(store_ids))),
        },
        schema={"store_id": pl.String, "timezone_str": pl.String, "line": pl.Int64},
    )


def test_a_store_id_with_a_nul_character_is_rejected() -> None:
    valid, rejects = validate(Feed.TIMEZONES, _timezone_rows("a", "b\x00c"))
    assert valid["store_id"].to_list() == ["a"]
    assert rejects.select("line", "reason").rows() == [(3, "store_id contains a NUL character")]


def test_length_is_counted_after_trimming_in_characters() -> None:
    valid, rejects = validate(
        Feed.TIMEZONES, _timezone_rows(" " + "é" * 255 + "\u3000", "x" * 256, "\t")
    )
    assert valid["store_id"].to_list() == ["é" * 255]
    assert rejects.select("line", "reason").rows() == [
        (3, "store_id is longer than 255 characters"),
        (4, "empty store_id"),
    ]


def test_a_lookup_takes_only_an_id_as_it_is_stored() -> None:
    assert is_store_id("a b")
    assert not is_store_id(" a")
    assert not is_store_id("a\x00")
    assert not is_store_id("")


_ids = st.text(
    alphabet=st.sampled_from(["a", "é", "\x00", "\x1c", *TRIMMED[:6], "\u3000"]), max_size=260
) | st.text(max_size=8)


@given(st.lists(_ids, min_size=1, max_size=20))
def test_the_ingest_and_the_scalar_rule_agree(store_ids: list[str]) -> None:
    valid, rejects = validate(Feed.TIMEZONES, _timezone_rows(*store_ids))

    expected = [store_id_problem(store_id) for store_id in store_ids]
    got: list[str | None] = [None] * len(store_ids)
    for line, reason in rejects.select("line", "reason").iter_rows():
        got[line - 2] = reason
    assert got == expected
    assert valid["store_id"].to_list() == [
        s.strip(TRIMMED) for s, problem in zip(store_ids, expected, strict=True) if problem is None
    ]
    assert all(is_store_id(store_id) for store_id in valid["store_id"])


def test_the_trimmed_characters_are_what_polars_strips_by_default() -> None:
    probes = pl.Series([f"a{chr(code)}" for code in range(0x3001)])
    stripped = {
        text[-1]
        for text, kept in zip(probes, probes.str.strip_chars(), strict=True)
        if text != kept
    }
    assert stripped == set(TRIMMED)
