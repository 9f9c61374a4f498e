"""Report jobs: the work itself (``report_job``) and the runners that carry it
out — a process pool inside the server, or Celery workers — behind one small
interface (``runner.ReportRunner``)."""
