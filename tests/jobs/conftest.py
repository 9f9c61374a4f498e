"""Fixtures shared by the job tests."""

from jobs.test_celery_runner import key_prefix  # noqa: F401 (a fixture: a Redis key prefix)
