"""The interface between the API and whatever runs report jobs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence


class ReportRunner(ABC):
    """Runs report jobs somewhere. ``submit`` is called only after the
    report's row is committed, so a worker never looks for a missing report.

    ``queue_owner`` is the lease owner of the reports it has queued: a
    process that renews their leases while they wait, or None when they wait
    somewhere no process renews for (a broker): they are sent again each
    time their lease expires, and the job's claim runs each report once."""

    queue_owner: str | None = None
    #: True for a runner that splits reports into shards (``reports.shards``):
    #: its sweepers look after shards too.
    runs_shards: bool = False

    @abstractmethod
    def start(self) -> None:
        """Get ready to accept jobs (start pools, connect to the broker)."""

    @abstractmethod
    def submit(self, report_id: str) -> None:
        """Queue the job for ``report_id``; must not block on the work."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop accepting jobs and release resources."""

    def submit_shards(self, report_id: str, numbers: Sequence[int]) -> None:
        """Queue the jobs of these shards of ``report_id`` (only a runner
        that runs shards)."""
        raise RuntimeError("this runner does not run reports in shards")

    def check(self) -> None:
        """Raise when jobs cannot be queued now (a broker that does not
        answer); ``/ready`` calls it. Nothing to check in-process."""
        return None
