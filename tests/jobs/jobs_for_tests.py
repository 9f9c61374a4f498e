"""Job functions for the process-pool tests. They live in a module of their
own so a spawned worker process can import them by name."""

from __future__ import annotations

import os
import time

from storemon.data import reports
from storemon.jobs.inprocess import run_in_worker, worker_services
from storemon.settings import Settings

#: A report for this store makes its worker process die mid-job.
DIE = "die-mid-job"
#: A report for this store takes a second longer.
SLOW = "slow-job"


def dies_on_request(settings: Settings, report_id: str) -> str:
    """The real job, except that a report for store :data:`DIE` is claimed
    and then its process dies, as in an out-of-memory kill."""
    engine = worker_services(settings).engine
    with engine.connect() as connection:
        record = reports.get(connection, report_id)
    store_ids = record.params.store_ids if record is not None else None
    if store_ids == (DIE,):
        with engine.begin() as connection:
            reports.claim(connection, report_id)
        os._exit(70)
    if store_ids == (SLOW,):
        time.sleep(1)
    return run_in_worker(settings, report_id)
