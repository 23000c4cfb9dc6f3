"""workbench.toml: lookup, ${VAR} expansion, .env, and one-line errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import workbench as wb
from workbench.config import find_config, load_config, parse_duration
from workbench.errors import ConfigError


def write(tmp_path, text: str):
    p = tmp_path / "workbench.toml"
    p.write_text(text)
    return p


def test_found_from_a_subfolder_and_paths_relative_to_it(tmp_path, monkeypatch):
    write(tmp_path, '[sources.app]\nurl = "sqlite:///data/app.db"\n')
    sub = tmp_path / "notebooks" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    monkeypatch.delenv("WORKBENCH_CONFIG", raising=False)
    assert find_config() == tmp_path / "workbench.toml"
    cfg = load_config()
    assert cfg.sources["app"].url == f"sqlite:///{tmp_path}/data/app.db"
    assert cfg.sources["app"].role == "oltp" and cfg.sources["app"].read_only


def test_workbench_config_env_wins(tmp_path, monkeypatch):
    other = tmp_path / "other.toml"
    other.write_text('[sources.w]\nurl = "duckdb:///w.duckdb"\n')
    monkeypatch.setenv("WORKBENCH_CONFIG", str(other))
    assert load_config().sources["w"].role == "warehouse"
    monkeypatch.setenv("WORKBENCH_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="WORKBENCH_CONFIG"):
        load_config()


def test_variables_from_environment_then_dotenv_then_default(tmp_path, monkeypatch):
    p = write(tmp_path, '[sources.app]\nurl = "${APP_URL:-sqlite:///fallback.db}"\n'
                        '[sources.pg]\nurl = "postgresql://u:${PG_PW}@h/db"\n')
    (tmp_path / ".env").write_text("PG_PW=from-dotenv\n")
    monkeypatch.delenv("APP_URL", raising=False)
    monkeypatch.delenv("PG_PW", raising=False)
    cfg = load_config(p)
    assert cfg.sources["app"].url.endswith("/fallback.db")
    assert make_url(cfg.sources["pg"].url).password == "from-dotenv"
    monkeypatch.setenv("PG_PW", "from-env")
    monkeypatch.setenv("APP_URL", "mysql+pymysql://root@127.0.0.1/app")
    cfg = load_config(p)
    assert make_url(cfg.sources["pg"].url).password == "from-env"
    assert cfg.sources["app"].url == "mysql+pymysql://root@127.0.0.1/app"


@pytest.mark.parametrize(
    "text, expected",
    [
        ('[sources.app]\nurl = "sqlite:///a.db"\ncolour = "red"\n', r"sources\.app\.colour: unknown key"),
        ('[sources.app]\nurl = "sqlite:///a.db"\nrole = "olap"\n', r"sources\.app\.role: unknown role 'olap'; use one of oltp, warehouse, lake"),
        ('[sources.app]\nurl = "postgresql://${NOPE_NOT_SET}@h/db"\n', r"sources\.app\.url: environment variable NOPE_NOT_SET is not set"),
        ('[sources.app]\nurl = "notadb://host/x"\n', r"sources\.app\.url: no SQLAlchemy dialect for 'notadb'"),
        ('[sources.app]\nurl = "postgresql://u@host:port/db"\n', r"sources\.app\.url: .*fix the URL"),
        ('[sources.app]\nurl = "sqlite:///a.db"\n[sources.app]\nurl = "sqlite:///b.db"\n', r"not valid TOML"),
        ('[sources.app]\nrole = "oltp"\n', r"sources\.app\.url: missing"),
        ('[sources.events]\nurl = "data/lake"\n[lake.events]\npath = "x/*.parquet"\n', r"lake\.events: the name is already a source"),
        ('[lake.logs]\npath = "logs/*.txt"\n', r"lake\.logs\.path: cannot tell the format"),
        ('[workbench]\nstatement_timeout = "soon"\n', r"workbench\.statement_timeout: statement_timeout 'soon' is not a duration"),
        ('[sourcez.app]\nurl = "sqlite:///a.db"\n', r"sourcez: unknown table"),
        ('[sources."my app"]\nurl = "sqlite:///a.db"\n', r"not a valid name"),
    ],
)
def test_config_errors_are_one_line_naming_file_key_and_fix(tmp_path, monkeypatch, text, expected):
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)
    p = write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as info:
        load_config(p)
    message = str(info.value)
    assert "\n" not in message and str(p) in message


def test_durations():
    assert parse_duration("5m") == 300 and parse_duration("250ms") == 0.25 and parse_duration(90) == 90
    assert parse_duration(0) is None and parse_duration(None) is None
    with pytest.raises(ValueError):
        parse_duration("-1s")


def test_embedded_defaults_without_a_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WORKBENCH_CONFIG", raising=False)
    cfg = load_config()
    assert cfg.path is None
    assert set(cfg.sources) == {"app", "warehouse", "lake"} and set(cfg.lake) == {"events", "labels", "training_set"}
    assert cfg.sources["app"].url == f"sqlite:///{tmp_path}/data/app.db"


def test_default_config_matches_the_projects(tmp_path):
    """The shipped workbench.toml and the embedded defaults describe the same project."""
    from workbench.config import default_config

    from tests.support.projects import REPO as repo

    packaged = Path(wb.__file__).parent / "config" / "default.toml"
    assert (repo / "workbench.toml").read_text() == packaged.read_text()
    assert default_config(repo).sources == load_config(repo / "workbench.toml").sources


def test_unknown_source_lists_known_ones(tmp_path):
    p = write(tmp_path, '[sources.app]\nurl = "sqlite:///a.db"\n')
    with wb.Workbench(p) as w, pytest.raises(ConfigError, match="the sources in .* are: app"):
        w.sql("select 1", source="nope")


def test_report_descriptions_name_reports_and_pipeline_notebook_tasks(tmp_path, monkeypatch):
    """The index's descriptions: a report's own, a notebook task's own, else its pipeline's;
    a SQL task has no report, so no entry."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WORKBENCH_CONFIG", raising=False)
    d = load_config().report_descriptions()
    assert d["daily_report"].startswith("Daily activity")
    assert d["photo_popularity.training_report"].startswith("The training set's distributions")
    assert "photo_popularity.user_features" not in d  # a SQL task
    cfg = load_config()
    pipe = cfg.pipelines["photo_popularity"]
    tasks = {**pipe.tasks, "training_set": pipe.tasks["training_set"].model_copy(update={"description": ""})}
    cfg = cfg.model_copy(update={"pipelines": {"photo_popularity": pipe.model_copy(update={"tasks": tasks})}})
    assert cfg.report_descriptions()["photo_popularity.training_set"] == "Daily training set for the photo-popularity model"
