"""All configuration, from ``STOREMON_*`` environment variables (or a ``.env``
file), read and validated once per process (the command line, the server, a
worker) and passed down. docs/configuration.md lists every one."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storemon.messages import plain_words

ENV_PREFIX = "STOREMON_"


class SettingsError(ValueError):
    """Settings that do not validate; the message names the variables."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        "sqlite:///storemon.db",
        description="SQLAlchemy URL; postgresql:// and mysql:// use psycopg 3 and PyMySQL.",
    )
    host: str = Field("127.0.0.1", description="Address `storemon serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `storemon serve` listens on.")

    access_log: bool = Field(
        False,
        description="Log every request (uvicorn's access log). Off by default: request "
        "counts and latencies are in /metrics, and the log costs a tenth of the throughput.",
    )

    runner: Literal["inprocess", "celery"] = Field(
        "inprocess",
        description="Where report jobs run: a process pool inside the server, or Celery workers.",
    )
    report_workers: int = Field(1, ge=1, le=64, description="In-process report worker processes.")
    queue_limit: int = Field(
        32, ge=1, description="Reports queued or running at once; more triggers get 503."
    )
    celery_broker_url: str = Field("redis://127.0.0.1:6379/0", description="Celery broker.")
    celery_key_prefix: str = Field(
        "", description="Prefix for every Redis key of the Celery broker (to share one Redis)."
    )
    shard_stores: int = Field(
        0,
        ge=0,
        description="Stores per shard: under Celery a report over every store is split into "
        "shards of this many stores, run by any workers and assembled into the same report. "
        "0: every report runs whole on one worker.",
    )
    job_attempts: int = Field(
        3, ge=1, description="Starts a report gets (across restarts) before it is marked Failed."
    )
    lease_seconds: float = Field(
        30,
        ge=3,
        le=3600,
        description="How long a report's holder (a server's queue, a running job) keeps it "
        "without renewing; renewed every third of it. A process that dies leaves its reports "
        "to another server once this has passed.",
    )
    sweep_interval_seconds: float = Field(
        10,
        gt=0,
        le=3600,
        description="How often every server looks for reports whose lease expired, to queue "
        "them again (or mark them Failed after `STOREMON_JOB_ATTEMPTS` starts).",
    )
    report_retention_days: float = Field(
        30, gt=0, description="`storemon reports prune` deletes reports older than this."
    )
    poll_retention_days: float = Field(
        90,
        ge=7,
        description="Days of polls kept before the newest poll (`storemon polls prune` and "
        "the server's schedule). 90 days holds 12 weeks of daily trends plus the report's week.",
    )
    poll_prune_interval_hours: float = Field(
        24, ge=0, description="How often the server prunes polls (0: never)."
    )

    api_key: SecretStr | None = Field(
        None,
        description="When set, every mutating endpoint needs the header `X-API-Key` "
        "with this value.",
    )
    max_upload_bytes: int = Field(
        2 * 1024**3, ge=1, description="Largest CSV accepted by the upload endpoints."
    )
    max_batch_polls: int = Field(
        100_000, ge=1, description="Most polls accepted in one JSON batch."
    )
    max_heavy_reads: int = Field(
        1,
        ge=1,
        le=64,
        description="Heavy reads (store time lines and outages) computed at once per server, "
        "each in a worker process of its own; the others wait.",
    )
    heavy_read_wait_s: float = Field(
        10,
        gt=0,
        description="Longest a heavy read waits for its turn before it is answered 503 "
        "with Retry-After.",
    )
    max_timeline_polls: int = Field(
        100_000,
        ge=1,
        description="Most polls one time line may hold; a longer one asks for a shorter span.",
    )
    max_outage_polls: int = Field(
        10_000_000,
        ge=1,
        description="Most polls one outages request (`/outages`, `/stores/{id}/outages`) may "
        "read over its range; more is refused, asking for a shorter range.",
    )
    rate_limit: str | None = Field(
        None,
        description="Most mutating requests per client (address and API key) in a moving "
        "window, e.g. `60/minute`; more get 429. Off when unset.",
    )
    rate_limit_storage: str = Field(
        "memory://",
        description="Where the rate limit counts: `memory://` (this process) or a "
        "`redis://` (`rediss://`) URL shared by every server.",
    )
    rate_limit_key_prefix: str = Field(
        "storemon",
        min_length=1,
        description="Prefix of the rate limit's keys in a shared Redis.",
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS (none by default)."
    )
    report_cache_mb: int = Field(
        256,
        ge=0,
        description="Memory for finished reports kept decoded, so that paging through "
        "one (`/reports/{id}/rows`) does not decode it again; 0 keeps none.",
    )
    dashboard_max_gap: float | None = Field(
        None,
        gt=0,
        description="Minutes: the max gap (SPEC 8.1) the dashboard's store charts use "
        "by default; unset, none (every poll speaks until the next one).",
    )
    debug: bool = Field(
        False, description="Show the full traceback of an unexpected command-line error."
    )

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit_parses(cls, value: str | None) -> str | None:
        if value is not None:
            from limits import parse

            parse(value)  # a ValueError naming the text
        return value

    @field_validator("rate_limit_storage")
    @classmethod
    def _rate_limit_storage_is_known(cls, value: str) -> str:
        scheme = value.partition("://")[0].lower()
        if scheme not in ("memory", "redis", "rediss"):
            raise ValueError("must be memory:// or a redis:// or rediss:// URL")
        return value

    @field_validator("api_key")
    @classmethod
    def _api_key_is_strong(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_parses(cls, value: str) -> str:
        from storemon.data.database import DatabaseError, parse_url

        try:
            parse_url(value)
        except DatabaseError as error:
            raise ValueError(str(error)) from None
        return value


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and ``.env``, with ``overrides`` (values
    given on the command line; None means not given) on top. A problem is a
    :class:`SettingsError` naming the environment variable."""
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as error:
        raise SettingsError(settings_problems(error)) from None


def settings_problems(error: ValidationError) -> str:
    """``error`` in the words of the environment: ``STOREMON_PORT: ...``."""
    problems = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        name = f"{ENV_PREFIX}{field.upper()}" if field else "settings"
        problems.append(f"{name}: {plain_words(str(problem['msg']))}")
    return "bad settings: " + "; ".join(problems)
