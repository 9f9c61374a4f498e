"""Removing polls: bad or unwanted data taken out of the dataset, logged in
the ingest log like every load, with the dataset version bumped so no
report computed on the old data is reused."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from storemon.data import dataset, ingest_log
from storemon.data.database import SQLITE_BEGIN
from storemon.data.stores import store_key

log = logging.getLogger(__name__)

#: The ``feed`` of a removal in the ingest log; its ``rows_loaded`` counts
#: the polls removed.
REMOVAL = "delete-polls"


@dataclass(frozen=True)
class Removal:
    ingest_id: int
    deleted: int


def remove_polls(
    engine: Engine,
    store_id: str,
    from_us: int | None = None,
    to_us: int | None = None,
    *,
    source: str,
) -> Removal | None:
    """Delete the polls of ``store_id`` from ``from_us`` to ``to_us``, both
    included (a missing bound: no limit on that side), in one transaction
    with its ingest-log entry. None when the store is unknown. ``source``
    says who asked (a command line, a request)."""
    with engine.connect().execution_options(**{SQLITE_BEGIN: "IMMEDIATE"}) as conn, conn.begin():
        key = store_key(conn, store_id)
        if key is None:
            return None
        deleted = dataset.delete_polls(conn, key, from_us, to_us)
        ingest_id = ingest_log.start_ingest(conn, REMOVAL, source, strict=False)
        ingest_log.finish_ingest(conn, ingest_id, ingest_log.COMPLETE, loaded=deleted, rejected=0)
    log.info("removed %d polls of store %r (ingest %d: %s)", deleted, store_id, ingest_id, source)
    return Removal(ingest_id=ingest_id, deleted=deleted)
