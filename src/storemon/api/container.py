"""Everything a request needs, built once per app (see ``app.create_app``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from storemon.bootstrap import Services
from storemon.data.snapshot import SnapshotReader
from storemon.reports.runner import ReportRunner
from storemon.settings import Settings


@dataclass
class Container:
    services: Services
    runner: ReportRunner

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def engine(self) -> Engine:
        return self.services.engine

    @property
    def reader(self) -> SnapshotReader:
        return self.services.reader
