"""The input feeds and the columns each one needs (SPEC sections 1, 8.2 and 8.4)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from storemon.ingest.errors import IngestError


class Feed(StrEnum):
    STATUS = "status"
    HOURS = "hours"
    TIMEZONES = "timezones"
    SPECIAL_HOURS = "special_hours"
    GROUPS = "groups"


@dataclass(frozen=True)
class Column:
    """A required column: its canonical name and the other spellings a file may use."""

    name: str
    aliases: tuple[str, ...] = ()

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def describe(self) -> str:
        others = "".join(f" (or {alias!r})" for alias in self.aliases)
        return f"{self.name!r}{others}"


COLUMNS: Mapping[Feed, tuple[Column, ...]] = {
    Feed.STATUS: (Column("store_id"), Column("status"), Column("timestamp_utc")),
    Feed.HOURS: (
        Column("store_id"),
        Column("dayOfWeek", aliases=("day",)),
        Column("start_time_local"),
        Column("end_time_local"),
    ),
    Feed.TIMEZONES: (Column("store_id"), Column("timezone_str")),
    Feed.SPECIAL_HOURS: (
        Column("store_id"),
        Column("date"),
        Column("start_time_local"),
        Column("end_time_local"),
    ),
    Feed.GROUPS: (Column("store_id"), Column("group")),
}


#: At most this many of a file's columns are named in an error message.
_LISTED_COLUMNS = 20


@dataclass(frozen=True)
class Layout:
    """Where a file keeps the columns its feed needs.

    ``positions`` maps each canonical column name to its 0-based position in
    the file; ``labels`` maps it to the header text as written (``day`` or
    ``dayOfWeek``), so reject reasons name the column the way the file does.
    """

    positions: Mapping[str, int]
    labels: Mapping[str, str]


def clean_header_name(name: str) -> str:
    """A header cell as matched: surrounding whitespace and a BOM removed."""
    return name.strip().lstrip("\ufeff").strip()


def locate_columns(feed: Feed, header: Sequence[str]) -> Layout:
    """Find the feed's columns in ``header``; the order is free, extra columns
    are ignored, names match case-insensitively.

    >>> locate_columns(Feed.TIMEZONES, ["timezone_str", "store_id"]).positions
    {'store_id': 1, 'timezone_str': 0}
    """
    cleaned = [clean_header_name(name) for name in header]
    first_at: dict[str, int] = {}
    for position, name in enumerate(cleaned):
        first_at.setdefault(name.casefold(), position)
    positions: dict[str, int] = {}
    labels: dict[str, str] = {}
    missing: list[Column] = []
    for column in COLUMNS[feed]:
        found = [first_at[s.casefold()] for s in column.spellings if s.casefold() in first_at]
        if not found:
            missing.append(column)
            continue
        positions[column.name] = found[0]
        labels[column.name] = cleaned[found[0]]
    if missing:
        wanted = ", ".join(column.describe() for column in missing)
        present = ", ".join(repr(name) for name in cleaned[:_LISTED_COLUMNS]) or "none"
        if len(cleaned) > _LISTED_COLUMNS:
            present += f", … ({len(cleaned)} in all)"
        raise IngestError(f"{feed} file is missing column {wanted}; its columns are: {present}")
    return Layout(positions=positions, labels=labels)
