"""Stream a CSV file as chunks of string columns, each row tagged with its line.

The file is read in blocks of about ``chunk_bytes`` that always end at a record
boundary, so memory stays bounded whatever the file size. Each block is parsed
by polars as all-string columns. Line numbers are physical lines, 1-based,
counted from where reading starts (so the header is normally line 1); a record
whose quoted field spans lines carries the line it starts on.

Records are found with RFC 4180 quoting: a newline or comma counts as a
separator only when an even number of ``"`` precede it in the block (``""``
escapes come in pairs, so they never change the parity).

A block takes the fast road when it has no quotes: polars parses it as is and
the field count is checked in total (every row parsed, and exactly
``width - 1`` commas per row, while polars itself refuses rows with too many
fields, and any byte that is not UTF-8). Otherwise, or when that check
fails, numpy finds every record, its line and its field count; records too
short to reach every column read, or holding bytes that are not UTF-8, become
rejects, blank lines are dropped, and polars parses the rest. Python's ``csv``
module reads the block instead when some record has extra trailing fields
(ignored, as extra columns are) or polars disagrees about the record count
(odd quoting).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import IO, TypeAlias

import numpy as np
import numpy.typing as npt
import polars as pl

from storemon.ingest.errors import IngestError

Source: TypeAlias = "str | os.PathLike[str] | IO[bytes]"

#: Measured on the 1.8M-row status file: 16 MiB blocks take 0.58 s of CPU and
#: peak at 330 MB; 32 MiB blocks 0.84 s and 460 MB (more freshly mapped pages).
DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024
#: A record longer than this (or than ``chunk_bytes``, if larger) is rejected
#: without being held in memory whole.
MAX_RECORD_BYTES = 16 * 1024 * 1024
#: A rejected record's raw text is cut to this many characters.
MAX_RAW_CHARS = 1000
#: The reason of a record with bytes that are not UTF-8 (in any field: where
#: the file is not the text it claims to be, its field boundaries are not
#: trustworthy either). Replacing the bytes instead would merge distinct ids.
NOT_UTF8 = "not valid UTF-8 text"

_BOM = b"\xef\xbb\xbf"
_NEWLINE, _CR, _QUOTE, _COMMA = 10, 13, 34, 44

REJECT_SCHEMA = pl.Schema({"line": pl.Int64(), "reason": pl.String(), "raw": pl.String()})

IntArray = npt.NDArray[np.int64]


def empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECT_SCHEMA)


def rejects_frame(
    lines: Sequence[int], reasons: Sequence[str], raws: Sequence[str]
) -> pl.DataFrame:
    return pl.DataFrame({"line": lines, "reason": reasons, "raw": raws}, schema=REJECT_SCHEMA)


def _decode(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= MAX_RAW_CHARS else text[: MAX_RAW_CHARS - 1] + "…"


@dataclass
class RecordChunk:
    """One block of the file.

    ``fields``: the selected columns as strings (empty fields are ``""``) plus
    ``line`` (Int64), one row per well-formed record, in file order.
    ``rejects``: records that could not be split into the header's number of
    fields (``line``, ``reason``, ``raw``). ``lines``: physical lines consumed
    (for progress); summed over all chunks it is the file's line count.
    """

    fields: pl.DataFrame
    rejects: pl.DataFrame
    lines: int
    _data: bytes = field(repr=False)
    _first_line: int = field(repr=False)
    _spans: _Spans | None = field(repr=False)

    def record_text(self, lines: Sequence[int] | pl.Series) -> list[str]:
        """The original text of the records of ``fields`` that start on ``lines``."""
        wanted = np.asarray(lines, dtype=np.int64)
        if wanted.size == 0:
            return []
        if self._spans is None:
            self._spans = _line_spans(self._data, self._first_line)
        spans = self._spans
        at = np.searchsorted(spans.lines, wanted)
        return [
            _decode(self._data[start:end])
            for start, end in zip(spans.starts[at].tolist(), spans.ends[at].tolist(), strict=True)
        ]


@dataclass(frozen=True)
class _Spans:
    """Records of a block: byte range (terminator excluded) and first line."""

    starts: IntArray
    ends: IntArray
    lines: IntArray


def _line_spans(data: bytes, first_line: int) -> _Spans:
    """Spans of a block without quotes, where every physical line is a record."""
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(arr == _NEWLINE)
    ends = _with_final_end(newlines, len(data))
    starts = np.concatenate([[0], newlines + 1])[: ends.size]
    ends = _without_cr(arr, starts, ends)
    return _Spans(starts, ends, first_line + np.arange(ends.size, dtype=np.int64))


def _with_final_end(terminators: IntArray, size: int) -> IntArray:
    """Record ends: each terminator, plus the end of the data when the last
    record has no terminator."""
    ends = terminators.astype(np.int64)
    if size and (ends.size == 0 or ends[-1] != size - 1):
        ends = np.append(ends, size)
    return ends


def _without_cr(arr: npt.NDArray[np.uint8], starts: IntArray, ends: IntArray) -> IntArray:
    if ends.size == 0:
        return ends
    has_cr = (ends > starts) & (arr[np.maximum(ends - 1, 0)] == _CR)
    return ends - has_cr


# --- reading blocks ----------------------------------------------------------


class _Kind(Enum):
    RECORDS = "records"  # whole records
    UNTERMINATED = "unterminated"  # one line opening a quote that never closes
    TOO_LONG = "too long"  # the start of a line longer than the record limit


@dataclass(frozen=True)
class _Block:
    """``newlines``: newline bytes consumed; ``lines``: physical lines
    consumed (one more when the file's last line has no newline)."""

    kind: _Kind
    data: bytes
    newlines: int
    lines: int


def _count(data: bytes, byte: int) -> int:
    """``data.count(byte)``, several times faster; in slices, so the
    comparison never holds a block-sized array."""
    arr = np.frombuffer(data, dtype=np.uint8)
    step = 1 << 20
    return sum(int(np.count_nonzero(arr[i : i + step] == byte)) for i in range(0, arr.size, step))


@contextmanager
def _opened(source: Source) -> Iterator[IO[bytes]]:
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as stream:
            yield stream
    else:
        yield source


def _read(stream: IO[bytes], size: int) -> bytes:
    """Up to ``size`` bytes; fewer only at the end of the stream."""
    parts: list[bytes] = []
    wanted = size
    while wanted > 0:
        part = stream.read(wanted)
        if not part:
            break
        if isinstance(part, str):
            raise IngestError("expected a binary stream (open the file in 'rb' mode)")
        parts.append(bytes(part))
        wanted -= len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _records_end(buf: bytes, final: bool) -> int:
    """Length of the longest prefix of ``buf`` made of whole records (0 if none)."""
    if b'"' not in buf:
        return len(buf) if final else buf.rfind(b"\n") + 1
    quotes = buf.count(b'"')
    if final and quotes % 2 == 0:
        return len(buf)
    last = buf.rfind(b"\n")
    if last < 0:
        return 0
    if (quotes - buf.count(b'"', last)) % 2 == 0:
        return last + 1
    arr = np.frombuffer(buf, dtype=np.uint8)
    newlines = np.flatnonzero(arr == _NEWLINE)
    outside = newlines[np.searchsorted(np.flatnonzero(arr == _QUOTE), newlines) % 2 == 0]
    return int(outside[-1]) + 1 if outside.size else 0


def _blocks(stream: IO[bytes], chunk_bytes: int) -> Iterator[_Block]:
    limit = max(chunk_bytes, MAX_RECORD_BYTES)
    buf = b""
    eof = False
    need_more = True
    while True:
        if not eof and (need_more or len(buf) < chunk_bytes):
            more = _read(stream, chunk_bytes)
            eof = len(more) < chunk_bytes
            buf = buf + more if buf else more
        need_more = False
        if not buf:
            return
        cut = _records_end(buf, final=eof)
        if cut:
            yield _records_block(buf[:cut])
            buf = buf[cut:]
            continue
        newline = buf.find(b"\n")
        if newline >= 0 and (eof or len(buf) >= limit):
            # The first line opens a quote that no later newline closes.
            yield _Block(_Kind.UNTERMINATED, buf[: newline + 1], 1, 1)
            buf = buf[newline + 1 :]
        elif newline < 0 and eof:
            yield _Block(_Kind.UNTERMINATED, buf, 0, 1)
            return
        elif newline < 0 and len(buf) >= limit:
            yield _Block(_Kind.TOO_LONG, buf[:MAX_RAW_CHARS], 1, 1)
            buf, eof = _rest_after_line(stream, chunk_bytes)
        else:
            need_more = True  # a record straddles the end of the buffer


def _records_block(data: bytes) -> _Block:
    newlines = _count(data, _NEWLINE)
    return _Block(_Kind.RECORDS, data, newlines, newlines + (not data.endswith(b"\n")))


def _rest_after_line(stream: IO[bytes], chunk_bytes: int) -> tuple[bytes, bool]:
    """Discard the rest of the current line; return what was read after it
    and whether the stream is exhausted."""
    while True:
        more = _read(stream, chunk_bytes)
        eof = len(more) < chunk_bytes
        newline = more.find(b"\n")
        if newline >= 0 or eof:
            return (more[newline + 1 :] if newline >= 0 else b""), eof


# --- parsing blocks ----------------------------------------------------------


@dataclass(frozen=True)
class _Columns:
    """What to take from each record: output name -> position, and the
    number of fields every record must have (the header's)."""

    positions: Mapping[str, int]
    width: int

    @property
    def needed(self) -> int:
        """Fields a record needs: up to the last column read."""
        return max(self.positions.values()) + 1


def _polars_read(data: bytes, columns: _Columns) -> pl.DataFrame:
    order = sorted(columns.positions.items(), key=lambda item: item[1])
    frame = pl.read_csv(
        data,
        has_header=False,
        schema={f"c{i}": pl.String for i in range(columns.width)},
        columns=[position for _, position in order],
        infer_schema=False,
        empty_string_is_null=False,
        quote_char='"',
        encoding="utf8",
        raise_if_empty=False,
    )
    return frame.rename({f"c{position}": name for name, position in order}).select(
        list(columns.positions)
    )


def _with_lines(frame: pl.DataFrame, lines: IntArray) -> pl.DataFrame:
    return frame.with_columns(pl.Series("line", lines, dtype=pl.Int64))


def _empty_fields(columns: _Columns) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {name: pl.String() for name in columns.positions}
    schema["line"] = pl.Int64()
    return pl.DataFrame(schema=schema)


def _parse_block(data: bytes, first_line: int, lines: int, columns: _Columns) -> RecordChunk:
    if not data:
        return RecordChunk(_empty_fields(columns), empty_rejects(), lines, data, first_line, None)
    if b'"' not in data:
        frame = _fast_parse(data, columns)
        if frame is not None:
            numbers = first_line + np.arange(frame.height, dtype=np.int64)
            return RecordChunk(
                _with_lines(frame, numbers), empty_rejects(), lines, data, first_line, None
            )
    return _careful_parse(data, first_line, lines, columns)


def _fast_parse(data: bytes, columns: _Columns) -> pl.DataFrame | None:
    """Parse a block without quotes, or None when some record is blank or
    ragged (or not UTF-8), which the careful road then pins down."""
    records = _count(data, _NEWLINE) + (not data.endswith(b"\n"))
    if _count(data, _COMMA) != (columns.width - 1) * records:
        return None
    try:
        frame = _polars_read(data, columns)
    except pl.exceptions.PolarsError:
        return None
    return frame if frame.height == records else None


def _careful_parse(data: bytes, first_line: int, lines: int, columns: _Columns) -> RecordChunk:
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(arr == _NEWLINE)
    commas = np.flatnonzero(arr == _COMMA)
    quotes = np.flatnonzero(arr == _QUOTE)
    if quotes.size:
        newlines_outside = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
        commas = commas[np.searchsorted(quotes, commas) % 2 == 0]
    else:
        newlines_outside = newlines
    ends = _with_final_end(newlines_outside, len(data))
    starts = np.concatenate([[0], newlines_outside + 1])[: ends.size]
    ends = _without_cr(arr, starts, ends)
    if quotes.size:
        record_lines = first_line + np.searchsorted(newlines, starts).astype(np.int64)
    else:
        record_lines = first_line + np.arange(starts.size, dtype=np.int64)
    # Commas before each record's end; none lie between records.
    field_counts = np.diff(np.searchsorted(commas, ends), prepend=0) + 1

    blank = np.zeros(ends.size, dtype=bool)
    for i in np.flatnonzero(field_counts == 1).tolist():
        blank[i] = not data[starts[i] : ends[i]].strip()
    not_utf8 = _not_utf8(data, starts, ends)
    # A record may carry extra fields after the header's (ignored, as extra
    # columns are) but must reach every column that is read.
    ragged = (field_counts < columns.needed) & ~blank & ~not_utf8
    good = np.flatnonzero((field_counts >= columns.needed) & ~blank & ~not_utf8)

    reject_lines = record_lines[ragged].tolist()
    reasons = [f"expected {columns.width} fields, found {n}" for n in field_counts[ragged].tolist()]
    raws = [
        _decode(data[s:e])
        for s, e in zip(starts[ragged].tolist(), ends[ragged].tolist(), strict=True)
    ]
    for i in np.flatnonzero(not_utf8).tolist():
        reject_lines.append(int(record_lines[i]))
        reasons.append(NOT_UTF8)
        raws.append(_decode(data[starts[i] : ends[i]]))

    spans = _Spans(starts[good], ends[good], record_lines[good])
    regular = bool(np.all(field_counts[good] == columns.width))
    frame = _polars_good_records(data, starts, good, columns) if regular else None
    if frame is None:
        frame, spans, dropped = _csv_module_parse(data, spans, columns)
        for line, reason, raw in dropped:
            reject_lines.append(line)
            reasons.append(reason)
            raws.append(raw)
    rejects = rejects_frame(reject_lines, reasons, raws).sort("line")
    return RecordChunk(_with_lines(frame, spans.lines), rejects, lines, data, first_line, spans)


def _not_utf8(data: bytes, starts: IntArray, ends: IntArray) -> npt.NDArray[np.bool_]:
    """Which records hold bytes that are not UTF-8. Decoding stops at the
    first bad byte and resumes at the next record, so a block costs one
    decoding pass however many records are bad."""
    bad = np.zeros(starts.size, dtype=bool)
    if data.isascii():
        return bad
    view = memoryview(data)
    at = 0
    while at < len(data):
        try:
            codecs.utf_8_decode(view[at:], "strict", True)
            break
        except UnicodeDecodeError as error:
            record = int(np.searchsorted(starts, at + error.start, side="right")) - 1
            bad[record] = True
            at = int(starts[record + 1]) if record + 1 < starts.size else len(data)
    return bad


def _polars_good_records(
    data: bytes, starts: IntArray, good: IntArray, columns: _Columns
) -> pl.DataFrame | None:
    """Polars' reading of the good records, or None if it finds a different
    number of records than the scan did."""
    if good.size == 0:
        return _empty_fields(columns).drop("line")
    if good.size == starts.size:
        selected = data
    else:
        # Copy whole runs of consecutive good records, terminators included.
        next_starts = np.append(starts[1:], len(data))
        run_breaks = np.flatnonzero(np.diff(good) != 1)
        run_first = good[np.concatenate([[0], run_breaks + 1])]
        run_last = good[np.append(run_breaks, good.size - 1)]
        selected = b"".join(
            data[starts[a] : next_starts[b]]
            for a, b in zip(run_first.tolist(), run_last.tolist(), strict=True)
        )
    try:
        frame = _polars_read(selected, columns)
    except pl.exceptions.PolarsError:
        return None
    return frame if frame.height == good.size else None


def _csv_module_parse(
    data: bytes, spans: _Spans, columns: _Columns
) -> tuple[pl.DataFrame, _Spans, list[tuple[int, str, str]]]:
    names = list(columns.positions)
    values: dict[str, list[str]] = {name: [] for name in names}
    kept: list[int] = []
    dropped: list[tuple[int, str, str]] = []
    for i, (start, end) in enumerate(zip(spans.starts.tolist(), spans.ends.tolist(), strict=True)):
        text = data[start:end].decode("utf-8")  # records that are not were rejected
        row = next(csv.reader(io.StringIO(text, newline="")), [])
        if len(row) < columns.needed:
            reason = f"expected {columns.width} fields, found {len(row)}"
            dropped.append((int(spans.lines[i]), reason, _decode(data[start:end])))
            continue
        kept.append(i)
        for name in names:
            values[name].append(row[columns.positions[name]])
    frame = pl.DataFrame(values, schema={name: pl.String for name in names})
    index = np.asarray(kept, dtype=np.int64)
    return frame, _Spans(spans.starts[index], spans.ends[index], spans.lines[index]), dropped


# --- the header and the whole file --------------------------------------------


def _split_header(data: bytes) -> tuple[list[str] | None, int]:
    """The first non-blank record of ``data`` as fields, and the number of
    bytes up to and including it (None, len(data) if all blank)."""
    start = 0
    while start < len(data):
        end = start
        while True:
            newline = data.find(b"\n", end)
            end = len(data) if newline < 0 else newline + 1
            if data.count(b'"', start, end) % 2 == 0 or end == len(data):
                break
        record = data[start:end]
        if record.strip():
            if b"\r" in record.rstrip(b"\r\n"):
                raise IngestError(
                    "the header row contains a carriage return: "
                    "lines must end with LF or CRLF (not CR alone)"
                )
            text = record.decode("utf-8", errors="replace")
            return next(csv.reader(io.StringIO(text, newline=""))), end
        start = end
    return None, len(data)


def read_records(
    source: Source,
    select: Callable[[list[str]], Mapping[str, int]],
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Iterator[RecordChunk]:
    """Stream ``source`` (a path or a binary file object, e.g. an upload).

    ``select`` receives the header fields (BOM removed) and returns the
    columns to keep: output name -> 0-based position. It may raise
    ``IngestError``. Every record must have as many fields as the header.
    A file object is read from its current position and left open.
    """
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be positive")
    with _opened(source) as stream:
        line = 1  # the physical line the next block starts on
        pending_lines = 0  # blank lines before the header, reported with it
        columns: _Columns | None = None
        for block in _blocks(stream, chunk_bytes):
            newlines = block.newlines
            if columns is None:
                data = block.data.removeprefix(_BOM) if line == 1 else block.data
                if block.kind is not _Kind.RECORDS:
                    raise IngestError(
                        f"line {line}: the header row is not valid CSV ({block.kind.value})"
                    )
                header, used = _split_header(data)
                if header is None:
                    pending_lines += block.lines
                    line += newlines
                    continue
                columns = _Columns(positions=dict(select(header)), width=len(header))
                first_line = line + data.count(b"\n", 0, used)
                chunk = _parse_block(data[used:], first_line, block.lines + pending_lines, columns)
                del data
            elif block.kind is _Kind.RECORDS:
                chunk = _parse_block(block.data, line, block.lines, columns)
            else:
                reason = (
                    "unterminated quoted field"
                    if block.kind is _Kind.UNTERMINATED
                    else f"line is longer than {max(chunk_bytes, MAX_RECORD_BYTES)} bytes"
                )
                raw = _decode(block.data.rstrip(b"\r\n"))
                rejects = rejects_frame([line], [reason], [raw])
                chunk = RecordChunk(_empty_fields(columns), rejects, block.lines, b"", line, None)
            # Hold no block while the next one is read: one block in memory.
            del block
            line += newlines
            yield chunk
            del chunk
        if columns is None:
            raise IngestError("the file is empty: no header row")
