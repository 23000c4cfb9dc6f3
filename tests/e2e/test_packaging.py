"""environment.yml and pyproject.toml name the same pinned versions; DuckDB extensions load offline."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib

import yaml

from tests.support.projects import REPO

ROOT = REPO


def test_environment_yml_agrees_with_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert sorted(pip) == sorted(project["dependencies"])
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert python == "python=" + project["requires-python"].lstrip(">=")
    assert all("==" in d for d in project["dependencies"]), "pin every dependency exactly"


def test_duckdb_pinned_to_its_extension_packages():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    version = next(d.split("==")[1] for d in deps if d.startswith("duckdb=="))
    for ext in ("postgres", "mysql", "sqlite", "httpfs"):
        assert f"duckdb-extension-{ext}=={version}" in deps


def test_extensions_load_with_network_disabled(tmp_path):
    """A fresh process, an unroutable proxy, an empty cache: every extension still loads."""
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network disabled in this test')\n"
        "socket.socket.connect = refuse; socket.create_connection = refuse\n"
        "from workbench import duck as extensions\n"
        "con = extensions.connect()\n"
        "for n in ('postgres', 'mysql', 'sqlite', 'httpfs'): extensions.load_extension(con, n)\n"
        "print(sorted(r[0] for r in con.execute(\"select extension_name from duckdb_extensions() where loaded\").fetchall()))\n"
    )
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path), HTTP_PROXY="http://127.0.0.1:9",
               HTTPS_PROXY="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    for ext in ("mysql_scanner", "postgres_scanner", "sqlite_scanner", "httpfs"):
        assert ext in r.stdout
