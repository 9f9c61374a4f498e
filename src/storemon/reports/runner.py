"""The interface between the API and whatever runs report jobs."""

from __future__ import annotations

from abc import ABC, abstractmethod


class ReportRunner(ABC):
    """Runs report jobs somewhere. ``submit`` is called only after the
    report's row is committed, so a worker never looks for a missing report."""

    @abstractmethod
    def start(self) -> None:
        """Get ready to accept jobs (start pools, connect to the broker)."""

    @abstractmethod
    def submit(self, report_id: str) -> None:
        """Queue the job for ``report_id``; must not block on the work."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop accepting jobs and release resources."""

    def check(self) -> None:
        """Raise when jobs cannot be queued now (a broker that does not
        answer); ``/ready`` calls it. Nothing to check in-process."""
        return None
