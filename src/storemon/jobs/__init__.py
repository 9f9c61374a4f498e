"""Where report jobs run: a process pool inside the server, or Celery
workers. Both adapt ``storemon.reports.runner.ReportRunner``; the job itself
is ``storemon.reports.job``."""
