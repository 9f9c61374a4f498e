"""Everything a request needs, built once per app (see ``app.create_app``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from storemon.api.limits import HeavyReads, RateLimits
from storemon.bootstrap import Services
from storemon.data.snapshot import SnapshotReader
from storemon.reports.reading import ReportTableCache
from storemon.reports.runner import ReportRunner
from storemon.settings import Settings


@dataclass
class Container:
    services: Services
    runner: ReportRunner
    heavy_reads: HeavyReads = field(init=False)
    #: Finished reports kept decoded for paging (see /reports/{id}/rows).
    report_tables: ReportTableCache = field(init=False)
    rate_limits: RateLimits | None = field(init=False)

    def __post_init__(self) -> None:
        settings = self.services.settings
        self.report_tables = ReportTableCache(settings.report_cache_mb * 2**20)
        self.heavy_reads = HeavyReads(
            settings, settings.max_heavy_reads, settings.heavy_read_wait_s
        )
        self.rate_limits = (
            None
            if settings.rate_limit is None
            else RateLimits(
                settings.rate_limit, settings.rate_limit_storage, settings.rate_limit_key_prefix
            )
        )

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def engine(self) -> Engine:
        return self.services.engine

    @property
    def reader(self) -> SnapshotReader:
        return self.services.reader
