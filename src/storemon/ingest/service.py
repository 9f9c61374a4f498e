"""Load a parsed feed into the database (SPEC section 1, "Repeats and updates").

Transactions:

- status polls commit chunk by chunk: any set of polls is a valid state, so a
  crash keeps every committed chunk and a reload finishes the job (the
  command line's bulk loads); with ``atomic`` (uploads over HTTP) they load
  in one transaction, so a client told its upload failed knows none of it
  is kept. Once a chunk-by-chunk load has committed ``GROUP_AFTER_POLLS``,
  it commits several chunks at a time (up to ``GROUP_POLLS`` polls, sorted
  by key together): a chunk of a feed in time order holds a poll of nearly
  every store, so its writes touch pages all over the polls table, and the
  cost of a commit grows with the table, not with the chunk. Fewer, larger
  commits keep a big load in proportion to its size;
- business hours, timezones, special hours and groups load in one
  transaction (all or nothing);
- ``strict`` loads the whole feed in one transaction and rolls it back if any
  row is rejected; the rejects are still recorded, in a transaction of their
  own, and the ingest is marked ``failed``.

Every transaction that changes the data bumps ``dataset_state.version``. The
``ingests`` row says how a load went; one left ``running`` was interrupted.
A value the database refuses raises :class:`storemon.data.dataset.RefusedValue`
(after the ingest is logged as failed).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from os import PathLike
from typing import Any, TypeVar

import polars as pl
from sqlalchemy.engine import Connection, Engine

from storemon.data import dataset, groups, ingest_log, special_hours
from storemon.data.database import SQLITE_BEGIN, sqlite_bulk_writes
from storemon.data.rejects import record_rejects
from storemon.ingest.feeds import Feed
from storemon.ingest.parse import ParsedChunk, parse_feed
from storemon.ingest.reader import Source
from storemon.ingest.validate import validate
from storemon.messages import first_line

log = logging.getLogger(__name__)

#: How many rejects an :class:`IngestResult` quotes; the rest are in the database.
FIRST_REJECTS = 10
#: Polls a load commits chunk by chunk before it starts grouping chunks (more
#: than the full-scale feed, so a load of that size commits every chunk).
GROUP_AFTER_POLLS = 2_000_000
#: The most polls one grouped commit holds (they wait in memory as parsed
#: rows, about 50 bytes each).
GROUP_POLLS = 2_000_000


@dataclass(frozen=True)
class IngestResult:
    """``loaded``: valid rows taken in (a row whose key repeats counts, the
    later one wins); ``committed`` is False when a strict load was rolled
    back, then nothing of the feed was loaded."""

    ingest_id: int
    feed: Feed
    loaded: int
    rejected: int
    first_rejects: list[tuple[int, str]] = field(default_factory=list)
    committed: bool = True


def ingest_feed(
    engine: Engine,
    feed: Feed | str,
    source: Source,
    *,
    strict: bool = False,
    atomic: bool = False,
    source_name: str | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Parse ``source`` (a path or a binary file) as ``feed`` (``status``,
    ``hours``, ``timezones``, ``special_hours`` or ``groups``) and load it;
    with ``atomic`` a status feed too loads whole or not at all.
    ``on_progress`` is called with the number of data lines read so far,
    after each chunk."""
    feed = Feed(feed)
    if source_name is None:
        source_name = str(source) if isinstance(source, str | PathLike) else "<stream>"
    with read_ahead(parse_feed(feed, source)) as chunks:
        return load_chunks(
            engine,
            feed,
            chunks,
            strict=strict,
            atomic=atomic,
            source_name=source_name,
            on_progress=on_progress,
        )


def ingest_polls(
    engine: Engine,
    polls: Sequence[Mapping[str, object]],
    *,
    strict: bool = False,
    source_name: str = "poll batch",
) -> IngestResult:
    """Load a batch of status polls (``store_id``, ``status``,
    ``timestamp_utc`` text each), checked like the status feed; a reject's
    line is the poll's 1-based position in ``polls``."""
    fields = pl.DataFrame(
        {
            "store_id": [poll["store_id"] for poll in polls],
            "status": [poll["status"] for poll in polls],
            "timestamp_utc": [poll["timestamp_utc"] for poll in polls],
            "line": range(1, len(polls) + 1),
        },
        schema={
            "store_id": pl.String,
            "status": pl.String,
            "timestamp_utc": pl.String,
            "line": pl.Int64,
        },
    )
    valid, rejects = validate(Feed.STATUS, fields)
    chunk = ParsedChunk(valid=valid, rejects=rejects, lines=len(polls))
    return load_chunks(engine, Feed.STATUS, [chunk], strict=strict, source_name=source_name)


T = TypeVar("T")


@contextmanager
def read_ahead(items: Iterable[T]) -> Iterator[Iterator[T]]:
    """Iterate ``items`` in a background thread, one item ahead, so parsing
    the next chunk (polars and numpy, mostly outside the GIL) overlaps with
    writing this one to the database."""
    ready: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        ready.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put(("end", None))
        except BaseException as error:
            ready.put(("error", error))

    def consume() -> Iterator[T]:
        while True:
            kind, value = ready.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value

    thread = threading.Thread(target=produce, name="storemon-read-ahead", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        while thread.is_alive():
            # Unblock a producer waiting to hand over an item nobody will take.
            with suppress(queue.Empty):
                ready.get_nowait()
            thread.join(timeout=0.1)


def load_chunks(
    engine: Engine,
    feed: Feed | str,
    chunks: Iterable[ParsedChunk],
    *,
    strict: bool = False,
    atomic: bool = False,
    source_name: str = "<stream>",
    on_progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Load already parsed chunks of ``feed``, in order (see the module doc)."""
    feed = Feed(feed)
    with _writing(engine) as conn, conn.begin():
        ingest_id = ingest_log.start_ingest(conn, feed, source_name, strict=strict)
    load = _Load(engine, feed, ingest_id, strict, on_progress)
    per_chunk = feed is Feed.STATUS and not strict and not atomic
    try:
        if per_chunk:
            load.polls_per_chunk(chunks)
        else:
            load.in_one_transaction(chunks)
    except BaseException as error:
        try:
            with _writing(engine) as conn, conn.begin():
                ingest_log.finish_ingest(
                    conn,
                    ingest_id,
                    ingest_log.FAILED,
                    loaded=load.loaded if per_chunk else 0,
                    rejected=load.rejected,
                    error=first_line(error),
                )
        except Exception as logging_error:  # say, the database went away: the entry stays running
            log.warning(
                "ingest %d failed and could not be marked failed: %s",
                ingest_id,
                first_line(logging_error),
            )
        raise
    return load.result()


@contextmanager
def _writing(engine: Engine) -> Iterator[Connection]:
    # SQLite: take the write lock when the transaction begins, so a concurrent
    # writer makes us wait (busy_timeout) instead of failing mid-transaction.
    with engine.connect() as conn, sqlite_bulk_writes(conn):
        yield conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})


class _Load:
    def __init__(
        self,
        engine: Engine,
        feed: Feed,
        ingest_id: int,
        strict: bool,
        on_progress: Callable[[int], None] | None,
    ) -> None:
        self.engine = engine
        self.feed = feed
        self.ingest_id = ingest_id
        self.strict = strict
        self.on_progress = on_progress
        self.keys: dataset.StoreKeys | None = None
        self.lines = self.loaded = self.rejected = 0
        self.first_rejects: list[tuple[int, str]] = []
        self.committed = True

    def result(self) -> IngestResult:
        return IngestResult(
            self.ingest_id,
            self.feed,
            self.loaded if self.committed else 0,
            self.rejected,
            self.first_rejects,
            self.committed,
        )

    def polls_per_chunk(self, chunks: Iterable[ParsedChunk]) -> None:
        valid: list[pl.DataFrame] = []
        bad: list[pl.DataFrame] = []
        waiting = committed = 0
        for chunk in chunks:
            polls, rejects = self._take(chunk)
            valid.append(polls)
            bad.append(rejects)
            waiting += polls.height
            if committed < GROUP_AFTER_POLLS or waiting >= GROUP_POLLS:
                self._commit_polls(valid, bad)
                committed += waiting
                waiting = 0
                valid, bad = [], []
            self._report_progress()
        if valid:
            self._commit_polls(valid, bad)
        with _writing(self.engine) as conn, conn.begin():
            self._finish(conn, ingest_log.COMPLETE)

    def _commit_polls(self, valid: list[pl.DataFrame], bad: list[pl.DataFrame]) -> None:
        """Write these chunks' polls and rejects in one transaction."""
        polls = valid[0] if len(valid) == 1 else pl.concat(valid, rechunk=False)
        valid.clear()  # the caller's list: the parts go as soon as they are joined
        with _writing(self.engine) as conn, conn.begin():
            if self._write_polls(conn, polls):
                dataset.bump_version(conn)
            for rejects in bad:
                record_rejects(conn, self.ingest_id, rejects)
            ingest_log.update_counts(
                conn, self.ingest_id, loaded=self.loaded, rejected=self.rejected
            )

    def in_one_transaction(self, chunks: Iterable[ParsedChunk]) -> None:
        kept_rejects: list[pl.DataFrame] = []
        collected: list[pl.DataFrame] = []
        changed = 0
        with _writing(self.engine) as conn:
            transaction = conn.begin()
            try:
                for chunk in chunks:
                    valid, bad = self._take(chunk)
                    kept_rejects.append(bad)
                    if self.strict and self.rejected:
                        if self.committed:
                            # Nothing of this feed will be kept: free the
                            # database now, read on only to count every reject.
                            transaction.rollback()
                            self.committed = False
                            collected.clear()
                    elif self.feed is Feed.STATUS:
                        changed += self._write_polls(conn, valid)
                    else:
                        collected.append(valid)
                    self._report_progress()
                if self.committed:
                    if collected:
                        changed += self._write_whole_feed(conn, pl.concat(collected))
                    if changed:
                        dataset.bump_version(conn)
                    for bad in kept_rejects:
                        record_rejects(conn, self.ingest_id, bad)
                    self._finish(conn, ingest_log.COMPLETE)
                    transaction.commit()
            finally:
                if transaction.is_active:
                    transaction.rollback()
        if not self.committed:
            with _writing(self.engine) as conn, conn.begin():
                for bad in kept_rejects:
                    record_rejects(conn, self.ingest_id, bad)
                self._finish(
                    conn,
                    ingest_log.FAILED,
                    error=f"strict load: {self.rejected} rows rejected, nothing loaded",
                )

    def _take(self, chunk: ParsedChunk) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Count a chunk in."""
        valid, rejects = chunk.valid, chunk.rejects
        self.lines += chunk.lines
        self.loaded += valid.height
        self.rejected += rejects.height
        room = FIRST_REJECTS - len(self.first_rejects)
        if room > 0 and rejects.height:
            self.first_rejects.extend(
                (int(line), str(reason))
                for line, reason in rejects.select("line", "reason").head(room).iter_rows()
            )
        return valid, rejects

    def _store_keys(self, conn: Connection) -> dataset.StoreKeys:
        if self.keys is None:
            self.keys = dataset.StoreKeys.load(conn)
        return self.keys

    def _write_polls(self, conn: Connection, valid: pl.DataFrame) -> int:
        if valid.is_empty():
            return 0
        keyed = self._store_keys(conn).attach(conn, valid, timezones=False)
        # Only what is stored goes on: sorting the ids along would cost more
        # than the sort itself.
        polls = dataset.last_poll_per_key(keyed.select("store_key", "ts_us", "active", "line"))
        return dataset.write_polls(conn, polls)

    def _write_whole_feed(self, conn: Connection, valid: pl.DataFrame) -> int:
        rows = self._store_keys(conn).attach(conn, valid)
        if self.feed is Feed.HOURS:
            return dataset.replace_hours(conn, rows)
        if self.feed is Feed.SPECIAL_HOURS:
            return special_hours.replace_special_hours(conn, rows)
        if self.feed is Feed.GROUPS:
            return groups.replace_memberships(conn, rows)
        # A later row for the same store wins.
        zones = rows.sort("line").unique(subset="store_id", keep="last", maintain_order=True)
        return dataset.set_timezones(conn, zones)

    def _finish(self, conn: Connection, status: str, error: str | None = None) -> None:
        ingest_log.finish_ingest(
            conn,
            self.ingest_id,
            status,
            loaded=self.loaded if self.committed else 0,
            rejected=self.rejected,
            error=error,
        )

    def _report_progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.lines)
