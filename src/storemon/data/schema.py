"""The database schema (SQLAlchemy Core), the source the migrations must match.

Bulk tables hold integers only: instants are epoch microseconds (UTC), business
hours are seconds after local midnight, and stores are referred to by an
integer ``store_key``. Reading them back is then a plain columnar copy.

``polls``, ``business_hours``, ``special_hours`` and ``store_groups`` carry no
foreign key to ``stores`` on purpose: a key check per row would slow bulk loads
noticeably, stores are never deleted, and the ingest service only writes keys
it has just read from or inserted into ``stores``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from storemon.data.types import Moment, StoreId

metadata = sa.MetaData()

# Every table in utf8mb4 on MySQL, whatever the database's default charset
# (MariaDB's built-in default is latin1): ids, reasons and raw rows are text.
UTF8: dict[str, Any] = {"mysql_charset": "utf8mb4"}

# SQLite hands out autoincrement keys only for a column declared exactly
# INTEGER PRIMARY KEY (the rowid alias); elsewhere the key is a BIGINT.
BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


stores = sa.Table(
    "stores",
    metadata,
    sa.Column("store_key", BigKey, primary_key=True, autoincrement=True),
    sa.Column("store_id", StoreId(255), nullable=False, unique=True),
    sa.Column("timezone", sa.String(64), nullable=True),
    # The store's oldest stored poll (NULL: none), kept by every write and
    # delete of polls (storemon.data.dataset.refresh_store_bounds): the report
    # learns which stores have a poll at or before its `now` without reading
    # their history.
    sa.Column("first_poll_us", sa.BigInteger, nullable=True),
    **UTF8,
)

polls = sa.Table(
    "polls",
    metadata,
    sa.Column("store_key", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("ts_us", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("active", sa.Boolean, nullable=False),
    # Without a rowid the table is its primary-key B-tree: a scan returns rows
    # in (store_key, ts_us) order and each row is stored once.
    sqlite_with_rowid=False,
    **UTF8,
)

business_hours = sa.Table(
    "business_hours",
    metadata,
    sa.Column("store_key", sa.BigInteger, nullable=False),
    sa.Column("day", sa.SmallInteger, nullable=False),
    sa.Column("start_s", sa.Integer, nullable=False),
    # 86400 stands for an end time of 24:00.
    sa.Column("end_s", sa.Integer, nullable=False),
    sa.Index("ix_business_hours_store_key", "store_key"),
    **UTF8,
)

# Date exceptions (SPEC 8.2): on a local date with rows here, these rows
# replace the weekly ones. start_s and end_s are both NULL on a row that opens
# nothing (a closed date); otherwise as in business_hours (86400 = 24:00).
special_hours = sa.Table(
    "special_hours",
    metadata,
    sa.Column("store_key", sa.BigInteger, nullable=False),
    # The local date as days since 1970-01-01.
    sa.Column("date_days", sa.Integer, nullable=False),
    sa.Column("start_s", sa.Integer, nullable=True),
    sa.Column("end_s", sa.Integer, nullable=True),
    sa.Index("ix_special_hours_store_key", "store_key"),
    **UTF8,
)

# Group memberships (SPEC 8.4). The one bulk table with text: memberships
# are a few per store, and listing groups needs no second table. A group name
# is opaque like a store id: compared byte for byte (case and trailing spaces
# count, also on MySQL).
store_groups = sa.Table(
    "store_groups",
    metadata,
    sa.Column("store_key", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("group_name", StoreId(255), primary_key=True),
    sa.Index("ix_store_groups_group_name", "group_name"),
    **UTF8,
)

ingests = sa.Table(
    "ingests",
    metadata,
    sa.Column("id", BigKey, primary_key=True, autoincrement=True),
    sa.Column("feed", sa.String(16), nullable=False),
    sa.Column("source", sa.String(1024), nullable=False),
    sa.Column("strict", sa.Boolean, nullable=False),
    # running -> complete | failed; a crashed ingest stays running.
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", Moment, nullable=False),
    sa.Column("finished_at", Moment, nullable=True),
    sa.Column("rows_loaded", sa.BigInteger, nullable=False),
    sa.Column("rows_rejected", sa.BigInteger, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    **UTF8,
)

rejects = sa.Table(
    "rejects",
    metadata,
    sa.Column(
        "ingest_id",
        sa.BigInteger,
        sa.ForeignKey("ingests.id", name="fk_rejects_ingest_id"),
        nullable=False,
    ),
    sa.Column("line", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("raw", sa.Text, nullable=False),
    sa.Index("ix_rejects_ingest_id_line", "ingest_id", "line"),
    **UTF8,
)

# One row (id = 1). `version` grows in every transaction that changes stores,
# polls, business hours, special hours or group memberships; `newest_poll_us`
# is max(polls.ts_us), kept by the ingest so the report never scans for it.
# `retained_from_us` is the retention horizon: polls before it have been
# pruned, except each store's last one before it (NULL: never pruned).
dataset_state = sa.Table(
    "dataset_state",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("newest_poll_us", sa.BigInteger, nullable=True),
    sa.Column("retained_from_us", sa.BigInteger, nullable=True),
    **UTF8,
)

DATASET_STATE_ID = 1

# Report jobs (storemon.data.reports): parameters, state, and the finished frame.
reports = sa.Table(
    "reports",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("as_of_us", sa.BigInteger, nullable=True),
    sa.Column("interpolation", sa.String(16), nullable=False),
    # JSON list of store ids, or NULL for every store.
    sa.Column("store_ids", sa.Text, nullable=True),
    # JSON object of the section 8 parameters (kind, max gap, dates), or NULL
    # when none is set (the section 5 report).
    sa.Column("options", sa.Text, nullable=True),
    # sha256 of the parameters: equal requests find each other by index.
    sa.Column("params_key", sa.String(64), nullable=False),
    sa.Column("created_at", Moment, nullable=False),
    sa.Column("started_at", Moment, nullable=True),
    sa.Column("finished_at", Moment, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("row_count", sa.BigInteger, nullable=True),
    sa.Column("now_us", sa.BigInteger, nullable=True),
    sa.Column("data_version", sa.BigInteger, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    # Size of the stored frame (storemon.reports.frame), not of any download.
    sa.Column("frame_bytes", sa.BigInteger, nullable=True),
    # The lease of an unfinished report: the process that holds it (queued in
    # its pool, or running) and until when; the holder renews it while alive.
    # Once it expires, any server's sweeper takes the report over.
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", Moment, nullable=True),
    sa.Index("ix_reports_params_key", "params_key"),
    sa.Index("ix_reports_status", "status"),
    sa.Index("ix_reports_created_at", "created_at"),
    **UTF8,
)

# MySQL's plain BLOB stops at 64 KiB; a stored report is megabytes.
ReportBytes = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")

# A finished report as an encoded frame (storemon.reports.frame), rendered to
# each download format when it is downloaded.
report_frames = sa.Table(
    "report_frames",
    metadata,
    sa.Column(
        "report_id",
        sa.String(32),
        sa.ForeignKey("reports.id", name="fk_report_frames_report_id"),
        primary_key=True,
    ),
    sa.Column("frame", ReportBytes, nullable=False),
    **UTF8,
)

# A report split across workers (storemon.reports.shards): one row per
# range of store keys [first_key, last_key], with the `now` and dataset
# version every shard must compute on, a lease like a report's, and the
# shard's rows (an encoded frame) once it is done. The rows are deleted when
# the last shard assembles the report.
report_shards = sa.Table(
    "report_shards",
    metadata,
    sa.Column(
        "report_id",
        sa.String(32),
        sa.ForeignKey("reports.id", name="fk_report_shards_report_id"),
        primary_key=True,
    ),
    sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("first_key", sa.BigInteger, nullable=False),
    sa.Column("last_key", sa.BigInteger, nullable=False),
    sa.Column("now_us", sa.BigInteger, nullable=False),
    sa.Column("data_version", sa.BigInteger, nullable=False),
    # Pending -> Running -> Complete (back to Pending to be tried again).
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", Moment, nullable=True),
    sa.Column("started_at", Moment, nullable=True),
    sa.Column("finished_at", Moment, nullable=True),
    sa.Column("row_count", sa.BigInteger, nullable=True),
    sa.Column("rows", ReportBytes, nullable=True),
    **UTF8,
)

# Named lock rows: a transaction that must run alone among its kind locks its
# row first (SELECT ... FOR UPDATE). "report_queue": triggering a report, so
# that equal concurrent triggers make one report and the queue limit is exact.
locks = sa.Table(
    "locks",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    **UTF8,
)

REPORT_QUEUE_LOCK = "report_queue"
