"""The shape of ``workbench.toml``: pydantic models, extra keys forbidden, frozen.

Frozen, because one Config is shared by the notebook, the CLI and the scheduler in a
process: nothing may change it under another's feet.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import ConfigError
from .durations import parse_duration

Role = Literal["oltp", "warehouse", "lake"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Settings(_Model):
    """The ``[workbench]`` table: project-wide guard rails."""

    max_rows: int = Field(default=1_000_000, gt=0)
    statement_timeout: float | None = 300.0
    reports_dir: str = "reports"
    runlog: str | None = None

    @field_validator("statement_timeout", mode="before")
    @classmethod
    def _timeout(cls, v: Any) -> float | None:
        return parse_duration(v, what="statement_timeout")


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


class ReportConfig(_Model):
    """A ``[reports.NAME]`` table: a notebook with default parameters."""

    name: str
    notebook: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)
    schedule: str | None = None
    timeout: float | None = None

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, v: Any) -> float | None:
        return parse_duration(v, what="timeout")


class Config(_Model):
    """The validated contents of one ``workbench.toml``."""

    path: Path | None = None
    root: Path
    settings: Settings = Settings()
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    lake: dict[str, LakeDataset] = Field(default_factory=dict)
    reports: dict[str, ReportConfig] = Field(default_factory=dict)

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """A path from the config, relative to the project root."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.root / p

    @property
    def reports_dir(self) -> Path:
        return self.resolve(self.settings.reports_dir)

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
