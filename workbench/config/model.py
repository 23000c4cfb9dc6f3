"""The shape of ``workbench.toml``: pydantic models, extra keys forbidden, frozen.

Frozen, because one Config is shared by the notebook, the CLI and the scheduler in a
process: nothing may change it under another's feet.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from ..errors import ConfigError
from .durations import parse_duration, parse_offset

Role = Literal["oltp", "warehouse", "lake"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Settings(_Model):
    """The ``[workbench]`` table: project-wide guard rails."""

    max_rows: int = Field(default=1_000_000, gt=0)
    statement_timeout: float | None = 300.0
    reports_dir: str = "reports"
    runlog: str | None = None
    executor: str | None = None  # local | dask://HOST:PORT (runs of grids, backfills, the scheduler)
    cache_dir: str = ".workbench/cache"  # wb.sql(..., cache=True) results, relative to the project root
    cache_max_bytes: int = Field(default=1 << 30, ge=0)  # least recently used entries go first; 0 = store nothing
    publish_to: str | None = None  # s3://bucket/prefix: the reports site is mirrored there after runs

    @field_validator("publish_to")
    @classmethod
    def _publish_to(cls, v: str | None) -> str | None:
        if v is None:
            return v
        return check_publish_url(v)

    @field_validator("executor")
    @classmethod
    def _executor(cls, v: str | None) -> str | None:
        if v is None or v == "local":
            return v
        host, sep, port = v.removeprefix("dask://").rpartition(":")
        if not v.startswith("dask://") or not sep or not host or not port.isdigit():
            raise ValueError(f"unknown executor {v!r}; write executor = \"local\" or \"dask://HOST:PORT\"")
        return v

    @field_validator("statement_timeout", mode="before")
    @classmethod
    def _timeout(cls, v: Any) -> float | None:
        return parse_duration(v, what="statement_timeout")


def check_publish_url(url: str) -> str:
    """``s3://bucket[/prefix]`` without a trailing slash, or a ValueError saying what to write."""
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    bucket = rest.split("/", 1)[0]
    if not sep or scheme.lower() != "s3" or not bucket or any(c in rest for c in "*?[{"):
        raise ValueError(f"{url!r} is not a place to publish to; write an object-store prefix such as "
                         "\"s3://bucket/site\"")
    return f"s3://{rest.rstrip('/')}"


class SourceConfig(_Model):
    """A ``[sources.NAME]`` table."""

    name: str
    url: str = Field(repr=False)  # may hold a password: never in a repr
    role: Role
    read_only: bool = True
    description: str = ""

    @model_validator(mode="after")
    def _check(self) -> "SourceConfig":
        if self.role == "lake" and not self.read_only:
            raise ValueError("a lake source is always read-only; remove read_only = false")
        return self


class LakeDataset(_Model):
    """A ``[lake.NAME]`` table: files in the lake that the hub shows as one view."""

    name: str
    path: str
    format: Literal["parquet", "csv", "json", "auto"] = "auto"
    hive_partitioning: bool = True
    description: str = ""

    def file_format(self) -> str:
        if self.format != "auto":
            return self.format
        lower = self.path.lower()
        for ext, fmt in ((".parquet", "parquet"), (".csv", "csv"), (".tsv", "csv"),
                         (".jsonl", "json"), (".ndjson", "json"), (".json", "json")):
            if lower.endswith(ext) or lower.endswith(ext + ".gz"):
                return fmt
        raise ValueError(
            f"cannot tell the format of {self.path!r}; add format = \"parquet\", \"csv\" or \"json\""
        )


class S3Settings(_Model):
    """``[storage.s3]``: how ``s3://`` URLs (lake sources, lake datasets, exports) are reached.

    Every key may be left out: the usual AWS environment variables fill what is missing
    when the store is used (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
    ``AWS_SESSION_TOKEN``, ``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_S3``/
    ``AWS_ENDPOINT_URL``). The key id, the secret and the token are ``SecretStr``: a repr or
    a validation error shows ``**********``; write them as ``"${VAR}"``, never in the file.
    """

    endpoint: str | None = None        # http://127.0.0.1:9000, https://s3.example.com, or host:port
    region: str | None = None
    url_style: Literal["path", "vhost"] | None = None   # default: path with an endpoint, vhost on AWS
    use_ssl: bool | None = None        # default: from the endpoint's scheme (https unless http://)
    key_id: SecretStr | None = None
    secret: SecretStr | None = None
    session_token: SecretStr | None = None

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.strip().rstrip("/")
        scheme, sep, rest = v.rpartition("://")
        if (sep and scheme not in ("http", "https")) or not rest or "/" in rest:
            raise ValueError(f"{v!r} is not an endpoint; write host:port, http://host:port or https://host")
        return v

    def plain(self) -> dict[str, Any]:
        """The settings as plain values (secrets revealed), for :mod:`workbench.storage.remote`."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            out[name] = value.get_secret_value() if isinstance(value, SecretStr) else value
        return out


class StorageConfig(_Model):
    """The ``[storage]`` table: object stores (``[storage.s3]``)."""

    s3: S3Settings | None = None


NOTIFY_KINDS = ("command:", "webhook:", "email:")


class Scheduled(_Model):
    """The schedule keys a report and a pipeline share (``schedule``, ``timezone``, ``slot_parameter`` …).

    The schedule keys are checked here as far as the config alone can tell (cron syntax,
    the zone, the policies); whether the notebook declares ``slot_parameter`` with a type
    that can take a slot is checked by the scheduler, which reads the notebook.
    """

    schedule: str | None = None          # cron, five fields (Vixie: DOM/DOW union)
    timezone: str = "UTC"                # IANA
    slot_parameter: str | None = None    # receives the slot: local date (date) or local datetime (datetime)
    slot_offset: float = 0.0             # seconds added to the slot's local time first ("-1d")
    catchup: Literal["none", "latest", "all"] = "latest"
    max_catchup: int = Field(default=5, ge=1)
    overlap: str = "skip"                # skip | queue | allow:N
    retries: int = Field(default=1, ge=0)
    retry_delay: float = 60.0
    timeout: float | None = None
    notify: list[str] = Field(default_factory=list)
    notify_success: bool = False

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, v: Any) -> float | None:
        return parse_duration(v, what="timeout")

    @field_validator("retry_delay", mode="before")
    @classmethod
    def _retry_delay(cls, v: Any) -> float:
        return parse_duration(v, what="retry_delay") or 0.0

    @field_validator("slot_offset", mode="before")
    @classmethod
    def _slot_offset(cls, v: Any) -> float:
        return parse_offset(v, what="slot_offset")

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, v: str | None) -> str | None:
        if v is None:
            return v
        fields = v.split()
        if len(fields) != 5:
            raise ValueError(f"{v!r} is not a five-field cron expression; write MINUTE HOUR DAY MONTH WEEKDAY, "
                             "e.g. \"30 6 * * *\"")
        from croniter import croniter

        if not croniter.is_valid(v):
            raise ValueError(f"{v!r} is not a valid cron expression; write MINUTE HOUR DAY MONTH WEEKDAY, "
                             "e.g. \"30 6 * * *\" (every day at 06:30)")
        return " ".join(fields)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}; use an IANA name such as \"Europe/Berlin\" or \"UTC\"") from None
        return v

    @field_validator("overlap")
    @classmethod
    def _overlap(cls, v: str) -> str:
        if v in ("skip", "queue"):
            return v
        kind, _, n = v.partition(":")
        if kind == "allow" and n.isdigit() and int(n) >= 1:
            return v
        raise ValueError(f"unknown overlap {v!r}; use skip, queue or allow:N (N runs at once, e.g. allow:2)")

    @field_validator("notify")
    @classmethod
    def _notify(cls, v: list[str]) -> list[str]:
        for target in v:
            if not target.startswith(NOTIFY_KINDS) or not target.split(":", 1)[1].strip():
                raise ValueError(f"unknown notifier {target!r}; write command:PATH, webhook:URL or email:ADDRESS")
        return v

    @property
    def overlap_limit(self) -> int | None:
        """Runs of this report allowed at once (``allow:N``); None for skip/queue (one)."""
        return int(self.overlap.split(":", 1)[1]) if self.overlap.startswith("allow:") else None



class ReportConfig(Scheduled):
    """A ``[reports.NAME]`` table: a notebook with default parameters, and its schedule."""

    name: str
    notebook: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)


class PipelineTask(_Model):
    """A ``[pipelines.P.tasks.NAME]`` table: one notebook or one SQL statement of a pipeline.

    ``reads`` names what the task reads (``source.table``, a lake dataset, or what another
    task ``writes``), for its input fingerprints and its derived ``needs``; ``writes``
    names what it produces (``warehouse.table`` or a lake dataset). ``retries`` and
    ``timeout`` default to the pipeline's.
    """

    name: str
    notebook: str | None = None
    sql: str | None = None               # a file holding one statement, run on the hub
    description: str = ""
    reads: list[str] = Field(default_factory=list)
    writes: list[str] = Field(default_factory=list)
    needs: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    retries: int | None = Field(default=None, ge=0)
    retry_delay: float | None = None
    timeout: float | None = None

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, v: Any) -> float | None:
        return parse_duration(v, what="timeout")

    @field_validator("retry_delay", mode="before")
    @classmethod
    def _retry_delay(cls, v: Any) -> float | None:
        return None if v is None else (parse_duration(v, what="retry_delay") or 0.0)

    @model_validator(mode="after")
    def _one_body(self) -> "PipelineTask":
        if (self.notebook is None) == (self.sql is None):
            raise ValueError("give exactly one of notebook = \"PATH.ipynb\" or sql = \"PATH.sql\"")
        if self.sql is not None and len(self.writes) != 1:
            raise ValueError("a SQL task writes its result to one place; write writes = [\"warehouse.TABLE\"] "
                             "or a lake dataset name")
        return self

    @property
    def kind(self) -> str:
        return "notebook" if self.notebook is not None else "sql"

    @property
    def path(self) -> str:
        return self.notebook if self.notebook is not None else self.sql  # type: ignore[return-value]


class PipelineConfig(Scheduled):
    """A ``[pipelines.NAME]`` table: tasks (notebooks, SQL files) with their reads, writes
    and needs; pipeline-wide ``parameters`` go to every task that declares them, and the
    schedule keys are a report's (``slot_parameter`` goes to every task declaring it)."""

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)
    tasks: dict[str, PipelineTask] = Field(default_factory=dict)

    @field_validator("tasks", mode="before")
    @classmethod
    def _names(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: ({"name": k, **t} if isinstance(t, dict) else t) for k, t in v.items()}
        return v

    @model_validator(mode="after")
    def _some_tasks(self) -> "PipelineConfig":
        if not self.tasks:
            raise ValueError("no tasks; add a [pipelines.NAME.tasks.TASK] table with notebook = or sql =")
        return self

    def task(self, name: str) -> PipelineTask:
        try:
            return self.tasks[name]
        except KeyError:
            raise ConfigError(f"pipeline {self.name!r} has no task {name!r}; its tasks are: "
                              f"{', '.join(self.tasks)}") from None


class SmtpConfig(_Model):
    """``[notify.smtp]``: how ``email:`` notifications are sent."""

    host: str = "127.0.0.1"
    port: int = 25
    from_: str = Field(default="workbench@localhost", alias="from")
    user: str | None = None
    password: str | None = Field(default=None, repr=False)  # write "${PASSWORD}": never in the file
    starttls: bool = False
    timeout: float = 10.0


class NotifyConfig(_Model):
    """The ``[notify]`` table."""

    smtp: SmtpConfig | None = None


class Config(_Model):
    """The validated contents of one ``workbench.toml``."""

    path: Path | None = None
    root: Path
    settings: Settings = Settings()
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    lake: dict[str, LakeDataset] = Field(default_factory=dict)
    reports: dict[str, ReportConfig] = Field(default_factory=dict)
    pipelines: dict[str, PipelineConfig] = Field(default_factory=dict)
    notify: NotifyConfig = NotifyConfig()
    storage: StorageConfig = StorageConfig()

    def location(self, path: str) -> str:
        """Where a lake path is: an ``s3://`` URL as written, a local one made absolute."""
        from .urls import is_object_url

        return path if is_object_url(path) else str(self.resolve(path))

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """A path from the config, relative to the project root."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.root / p

    @property
    def reports_dir(self) -> Path:
        return self.resolve(self.settings.reports_dir)

    @property
    def cache_dir(self) -> Path:
        """Where ``wb.sql(..., cache=True)`` keeps its results."""
        return self.resolve(self.settings.cache_dir)

    @property
    def runlog_path(self) -> Path:
        return self.resolve(self.settings.runlog) if self.settings.runlog else self.reports_dir / "runlog.db"

    def source(self, name: str) -> SourceConfig:
        try:
            return self.sources[name]
        except KeyError:
            known = ", ".join(sorted(self.sources)) or "none"
            where = self.path or "the config"
            raise ConfigError(
                f"unknown source {name!r}; the sources in {where} are: {known}"
            ) from None

    def pipeline(self, name: str) -> PipelineConfig:
        try:
            return self.pipelines[name]
        except KeyError:
            known = ", ".join(sorted(self.pipelines)) or "none"
            raise ConfigError(f"unknown pipeline {name!r}; the pipelines in {self.path or 'the config'} are: "
                              f"{known} (add a [pipelines.{name}] table)") from None

    def report_descriptions(self) -> dict[str, str]:
        """Report name -> description for the index: each ``[reports.NAME]``, and each notebook
        task of a pipeline as ``PIPELINE.TASK`` (its own description, else the pipeline's)."""
        out = {n: r.description for n, r in self.reports.items()}
        for p in self.pipelines.values():
            for t in p.tasks.values():
                if t.notebook:
                    out[f"{p.name}.{t.name}"] = t.description or p.description
        return out
