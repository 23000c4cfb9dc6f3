"""``workbench.toml``: find it, read it, expand ``${VAR}``, validate it.

The file is the one place that says which sources exist, which lake datasets they
hold and which reports can be run. Everything else (notebooks, the CLI, the scheduler)
builds a :class:`~workbench.api.Workbench` from the object returned here, so they all
see the same sources and the same rules.

Errors are one line naming the file, the key and the fix, because the file is written
by hand and the person reading the error has it open in an editor.
"""

from __future__ import annotations

import os
import re
from importlib import resources
import tomllib
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import ValidationError

from ..errors import ConfigError
from .model import Config, LakeDataset, NotifyConfig, PipelineConfig, ReportConfig, Settings, SourceConfig, StorageConfig
from .urls import is_object_url, is_plain_file_url

CONFIG_NAME = "workbench.toml"
ENV_CONFIG = "WORKBENCH_CONFIG"

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")


def find_config(start: str | os.PathLike[str] | None = None) -> Path | None:
    """``$WORKBENCH_CONFIG``, else the nearest ``workbench.toml`` from ``start`` upward."""
    env = os.environ.get(ENV_CONFIG)
    if env:
        p = Path(env).expanduser()
        if not p.is_file():
            raise ConfigError(f"{ENV_CONFIG}={env} does not name a file; fix or unset it")
        return p.resolve()
    here = Path(start or os.getcwd()).resolve()
    for d in (here, *here.parents):
        candidate = d / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def _expand(value: Any, env: dict[str, str], where: str, path: Path) -> Any:
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env and env[name] != "":
                return env[name]
            if default is not None:
                return default
            raise ConfigError(
                f"{path}: {where}: environment variable {name} is not set; "
                f"export it, put it in {path.parent / '.env'}, or write ${{{name}:-default}}"
            )
        return _VAR.sub(sub, value)
    if isinstance(value, dict):
        return {k: _expand(v, env, f"{where}.{k}" if where else k, path) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env, f"{where}[{i}]", path) for i, v in enumerate(value)]
    return value


def _environment(root: Path) -> dict[str, str]:
    """The process environment over the project's ``.env`` (the environment wins)."""
    env: dict[str, str] = {}
    dotenv = root / ".env"
    if dotenv.is_file():
        env.update({k: v for k, v in dotenv_values(dotenv).items() if v is not None})
    env.update(os.environ)
    return env


def _infer_role(url: str) -> str:
    if url.startswith("duckdb:"):
        return "warehouse"
    if "://" not in url or is_object_url(url):
        return "lake"
    return "oltp"


def _absolute_url(url: str, root: Path) -> str:
    """Make file URLs (sqlite, duckdb) and lake folders absolute against the project root."""
    for scheme in ("sqlite:///", "duckdb:///"):
        if url.startswith(scheme):
            rest = url[len(scheme):]
            if rest and not rest.startswith("/") and not rest.startswith(":memory:"):
                return scheme + str(root / rest)
            return url
    if "://" not in url and not url.startswith("/"):
        return str(root / url)
    return url


def _one_line(err: ValidationError, path: Path, prefix: str) -> str:
    first = err.errors()[0]
    loc = ".".join(str(x) for x in (prefix, *first["loc"]) if x != "")
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key; remove it or check its spelling"
    elif first["type"] == "literal_error" and loc.endswith("role"):
        msg = f"unknown role {first.get('input')!r}; use one of oltp, warehouse, lake"
    elif first["type"] == "missing":
        msg = "missing; add it"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return f"{path}: {loc}: {msg}"


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate a config. Without a path, :func:`find_config` picks one.

    With no config anywhere, the embedded defaults apply: the demo layout under the
    current directory (``data/app.db``, ``data/warehouse.duckdb``, ``data/lake``).
    """
    p = Path(path).resolve() if path else find_config()
    if p is None:
        return default_config(Path.cwd())
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such file; create it or point {ENV_CONFIG} elsewhere") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML ({e}); fix the line it names") from None
    return parse_config(raw, p)


def parse_config(raw: dict[str, Any], path: Path) -> Config:
    root = path.parent
    env = _environment(root)
    raw = _expand(raw, env, "", path)
    known = {"workbench", "sources", "lake", "reports", "pipelines", "notify", "storage"}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{path}: {key}: unknown table; use one of [{'], ['.join(sorted(known))}]")
    try:
        settings = Settings(**raw.get("workbench", {}))
    except ValidationError as e:
        raise ConfigError(_one_line(e, path, "workbench")) from None
    except TypeError:
        raise ConfigError(f"{path}: workbench: must be a table") from None

    def section(name: str) -> dict[str, Any]:
        value = raw.get(name, {})
        if not isinstance(value, dict) or any(not isinstance(v, dict) for v in value.values()):
            raise ConfigError(f"{path}: {name}: write each entry as its own [{name}.NAME] table")
        return value

    sources: dict[str, SourceConfig] = {}
    for name, body in section("sources").items():
        _check_name(name, f"sources.{name}", path)
        body = dict(body)
        if "url" not in body:
            raise ConfigError(f"{path}: sources.{name}.url: missing; add url = \"...\"")
        if not isinstance(body["url"], str) or not body["url"].strip():
            raise ConfigError(f"{path}: sources.{name}.url: must be a non-empty string")
        body.setdefault("role", _infer_role(body["url"]))
        body["url"] = _absolute_url(body["url"].strip(), root)
        _check_url(body["url"], f"sources.{name}.url", path)
        try:
            sources[name] = SourceConfig(name=name, **body)
        except ValidationError as e:
            raise ConfigError(_one_line(e, path, f"sources.{name}")) from None

    lake: dict[str, LakeDataset] = {}
    for name, body in section("lake").items():
        _check_name(name, f"lake.{name}", path)
        if name in sources:
            raise ConfigError(
                f"{path}: lake.{name}: the name is already a source; names are shared in SQL, rename one"
            )
        try:
            ds = LakeDataset(name=name, **body)
            ds.file_format()
        except ValidationError as e:
            raise ConfigError(_one_line(e, path, f"lake.{name}")) from None
        except ValueError as e:
            raise ConfigError(f"{path}: lake.{name}.path: {e}") from None
        lake[name] = ds

    reports: dict[str, ReportConfig] = {}
    for name, body in section("reports").items():
        _check_name(name, f"reports.{name}", path)
        try:
            reports[name] = ReportConfig(name=name, **body)
        except ValidationError as e:
            raise ConfigError(_one_line(e, path, f"reports.{name}")) from None

    pipelines: dict[str, PipelineConfig] = {}
    for name, body in section("pipelines").items():
        _check_name(name, f"pipelines.{name}", path)
        tasks = body.get("tasks", {})
        if not isinstance(tasks, dict) or any(not isinstance(v, dict) for v in tasks.values()):
            raise ConfigError(f"{path}: pipelines.{name}.tasks: write each task as its own "
                              f"[pipelines.{name}.tasks.TASK] table")
        for task in tasks:
            _check_name(task, f"pipelines.{name}.tasks.{task}", path)
        try:
            pipelines[name] = PipelineConfig(name=name, **body)
        except ValidationError as e:
            raise ConfigError(_one_line(e, path, f"pipelines.{name}")) from None

    try:
        notify = NotifyConfig(**raw.get("notify", {}))
    except ValidationError as e:
        raise ConfigError(_one_line(e, path, "notify")) from None
    except TypeError:
        raise ConfigError(f"{path}: notify: must be a table ([notify.smtp])") from None

    try:
        storage = StorageConfig(**raw.get("storage", {}))
    except ValidationError as e:
        raise ConfigError(_one_line(e, path, "storage")) from None
    except TypeError:
        raise ConfigError(f"{path}: storage: must be a table ([storage.s3])") from None

    return Config(path=path, root=root, settings=settings, sources=sources, lake=lake, reports=reports,
                  pipelines=pipelines, notify=notify, storage=storage)


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_name(name: str, where: str, path: Path) -> None:
    if not _NAME.match(name):
        raise ConfigError(
            f"{path}: {where}: {name!r} is not a valid name; use letters, digits and _ (it is used in SQL)"
        )


def _check_url(url: str, where: str, path: Path) -> None:
    if "://" not in url or is_object_url(url):
        return  # a lake folder or bucket prefix
    if is_plain_file_url(url):
        return  # sqlite:// or duckdb://, which SQLAlchemy reads without a driver: nothing to load
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        u = make_url(url)
        if u.get_backend_name() != "duckdb":
            u.get_dialect()
    except NoSuchModuleError:
        raise ConfigError(
            f"{path}: {where}: no SQLAlchemy dialect for {url.split('://')[0]!r}; fix the scheme "
            "(postgresql, mysql+pymysql, sqlite, duckdb) or pip install the dialect's package"
        ) from None
    except ArgumentError:
        raise ConfigError(
            f"{path}: {where}: not a database URL; write e.g. postgresql://user@host/db, "
            "mysql+pymysql://user@host/db, sqlite:///data/app.db or duckdb:///data/warehouse.duckdb"
        ) from None
    except ValueError as e:
        raise ConfigError(f"{path}: {where}: {e}; fix the URL") from None


def default_config(root: Path) -> Config:
    """The embedded defaults: the demo layout under ``root``."""
    text = resources.files("workbench.config").joinpath("default.toml").read_text(encoding="utf-8")
    cfg = parse_config(tomllib.loads(text), root / CONFIG_NAME)
    return cfg.model_copy(update={"path": None})
