"""Publishing the reports site to s3:// against the loopback S3 server (credentials required).

Real kernels, real papermill, a real S3 server (moto) that refuses any other key: a run
publishes its folder, the index and the latest pointers (last), with relative links that
resolve to keys that exist; the server stopped mid-publish leaves the local report, the run
log and the remote latest right, and the next ``workbench publish`` completes it; a wrong
key and a bad URL are one line; no secret is written anywhere.
"""

from __future__ import annotations

import html.parser
import json
import os
import posixpath
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import s3fs

from workbench.config import load_config
from workbench.errors import StorageError
from workbench.reports.remote import publish_configured
from workbench.reports.run import run_report
from workbench.reports.runlog import RunLog

from tests.support.projects import REPO, write_notebook

RUN_FILES = {"report.html", "notebook.ipynb", "params.json", "run.json", "values.jsonl"}


def project(root: Path, s3, *, prefix: str = "site", secret_in_env: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_notebook(root / "daily.ipynb", "n: int = 1",
                   "import workbench.reports.kernel as k\nk.record('n', n * 10)\nprint('n is', n)")
    text = (f'[workbench]\nreports_dir = "reports"\npublish_to = "{s3.url(prefix)}"\n\n'
            f'{s3.toml(secrets_in_env=secret_in_env)}\n'
            '[reports.daily]\nnotebook = "daily.ipynb"\ndescription = "Daily numbers"\n')
    (root / "workbench.toml").write_text(text)
    return root / "workbench.toml"


def wb(cfg: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "workbench", "-c", str(cfg), *args], capture_output=True, text=True,
                          env=full, cwd=cfg.parent, timeout=600)


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "meta" and (a.get("http-equiv") or "").lower() == "refresh":
            self.links.append(a["content"].split("url=", 1)[1])


def links(page: bytes) -> list[str]:
    p = _Links()
    p.feed(page.decode("utf-8"))
    return [h for h in p.links if not h.startswith(("#", "http:", "https:", "mailto:"))]


def assert_links_resolve(s3, prefix: str, key: str, keys: set[str]) -> list[str]:
    """Every relative link of the object ``key`` names an existing key (no absolute or ../ escapes)."""
    found = links(s3.get(f"{prefix}/{key}"))
    for href in found:
        assert not href.startswith("/") and "://" not in href, href
        target = posixpath.normpath(posixpath.join(posixpath.dirname(f"{prefix}/{key}"), href))
        assert target in keys, (key, href, target)
    return found


def grep_secret(secret: str, *roots: Path, texts: tuple[str, ...] = ()) -> list[str]:
    hits = [t[:60] for t in texts if secret in t]
    for root in roots:
        for p in root.rglob("*"):
            if p.is_file() and secret.encode() in p.read_bytes():
                hits.append(str(p))
    return hits


def download(s3, prefix: str, dest: Path) -> Path:
    for key in s3.keys(prefix + "/"):
        path = dest / key[len(prefix) + 1:]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(s3.get(key))
    return dest


def test_a_run_publishes_its_folder_index_and_latest_with_relative_links(s3, tmp_path):
    cfg = project(tmp_path / "p", s3)
    r = wb(cfg, "run", "daily", "-p", "n", "4")
    assert r.returncode == 0, r.stderr
    assert f"published to {s3.url('site/index.html')}" in r.stdout
    rid = RunLog(load_config(cfg).runlog_path).runs()[0].id
    keys = set(s3.keys("site/"))
    assert keys == {"site/index.html", "site/daily/latest.html", "site/daily/latest.json",
                    *(f"site/daily/{rid}/{f}" for f in RUN_FILES)}
    assert json.loads(s3.get("site/daily/latest.json")) == {
        "report": "daily", "run_id": rid, "report_path": f"{rid}/report.html"}
    index_links = assert_links_resolve(s3, "site", "index.html", keys)
    assert f"daily/{rid}/report.html" in index_links and f"daily/{rid}/notebook.ipynb" in index_links
    assert assert_links_resolve(s3, "site", "daily/latest.html", keys) == [f"{rid}/report.html"] * 2
    head = s3.client().head_object(Bucket=s3.name, Key="site/index.html")
    assert head["ContentType"] == "text/html"  # a static host serves it as a page
    # the remote objects are the local files, byte for byte
    local = tmp_path / "p" / "reports"
    assert s3.get(f"site/daily/{rid}/report.html") == (local / "daily" / rid / "report.html").read_bytes()
    assert not any(k.endswith(("runlog.db", ".schedules.json", ".publish.lock")) for k in keys)

    # idempotent: nothing changed locally, nothing is sent again
    again = wb(cfg, "publish")
    assert again.returncode == 0, again.stderr
    assert "0 object(s) sent" in again.stdout and f"{len(keys)} already there" in again.stdout

    # no secret anywhere: local reports and run log, the remote objects, what was printed
    copy = download(s3, "site", tmp_path / "copy")
    assert grep_secret(s3.secret, local, copy, texts=(r.stdout, r.stderr, again.stdout, again.stderr)) == []
    assert grep_secret(s3.key_id, local, copy, texts=(r.stdout, r.stderr)) == []

    # the site opens from a plain copy of the bucket (file://, no server): look at it
    shot = tmp_path / "site.png"
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "chromium is needed to open the published site"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--window-size=1100,700", f"--screenshot={shot}", (copy / "index.html").as_uri()],
                   capture_output=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 5000
    shutil.copy(shot, Path(os.environ.get("WB_SCREENSHOT_DIR", tmp_path)) / "published-site.png")


def test_latest_moves_last_and_a_store_down_mid_publish_is_completed_next_time(s3, tmp_path, monkeypatch, request):
    cfg = load_config(project(tmp_path / "p", s3))
    first = run_report("daily", {"n": 1}, config=cfg, progress=False)
    assert first.ok
    publish_configured(cfg)
    assert json.loads(s3.get("site/daily/latest.json"))["run_id"] == first.id
    second = run_report("daily", {"n": 2}, config=cfg, progress=False)
    assert second.ok

    # the order in which the server receives the PUTs (the real ones: only logged on the way)
    order: list[str] = []
    put_file, pipe_file = s3fs.S3FileSystem._put_file, s3fs.S3FileSystem._pipe_file

    async def logged_put(self, lpath, rpath, *a, **kw):
        order.append(rpath.split("/site/", 1)[1])
        return await put_file(self, lpath, rpath, *a, **kw)

    async def logged_pipe(self, path, data, *a, **kw):
        order.append(path.split("/site/", 1)[1])
        return await pipe_file(self, path, data, *a, **kw)

    monkeypatch.setattr(s3fs.S3FileSystem, "_put_file", logged_put)
    monkeypatch.setattr(s3fs.S3FileSystem, "_pipe_file", logged_pipe)
    s3fs.S3FileSystem.clear_instance_cache()  # a cached instance holds sync wrappers of the old methods
    request.addfinalizer(s3fs.S3FileSystem.clear_instance_cache)  # and one made now, of the logged ones

    sent: list[str] = []

    def stop_after_two(key: str) -> None:
        sent.append(key)
        if len(sent) == 2:
            s3.stop()  # the store goes down after two objects of the new run

    with pytest.raises(StorageError) as e:
        publish_configured(cfg, on_object=stop_after_two)
    msg = str(e.value)
    assert "\n" not in msg and s3.secret not in msg and s3.key_id not in msg
    assert msg.startswith(f"publishing to {s3.url('site')} stopped") and "workbench publish" in msg
    assert "2 object(s) sent" in msg
    assert order[:2] == sent and all(k.startswith(f"daily/{second.id}/") for k in order)  # never the pointers
    # local report and run log: as the run left them
    log = RunLog(cfg.runlog_path)
    assert log.get(second.id).status == "succeeded"
    assert (second.run_dir / "report.html").is_file()
    assert os.readlink(second.run_dir.parent / "latest") == second.id
    assert log.publish_state(s3.url("site"))["error"] == msg
    assert second.id not in log.published_runs(s3.url("site"))
    listed = {r["id"]: r["published_to"] for r in json.loads(wb(cfg.path, "runs", "--format", "json").stdout)}
    assert listed == {first.id: [s3.url("site")], second.id: []}  # `workbench runs` says which runs are up

    s3.start()  # same objects as before the stop
    # the remote latest still names the previous run, and its page is whole
    assert json.loads(s3.get("site/daily/latest.json"))["run_id"] == first.id
    assert first.id in s3.get("site/daily/latest.html").decode()
    assert len([k for k in s3.keys(f"site/daily/{second.id}/")]) == 2

    order.clear()
    r = wb(cfg.path, "publish")
    assert r.returncode == 0, r.stderr
    assert json.loads(s3.get("site/daily/latest.json"))["run_id"] == second.id
    assert {k.rsplit("/", 1)[1] for k in s3.keys(f"site/daily/{second.id}/")} == RUN_FILES
    assert "3 object(s) sent" not in r.stdout  # more: the index and the pointers too
    assert log.publish_state(s3.url("site"))["error"] is None
    assert {first.id, second.id} <= log.published_runs(s3.url("site"))
    assert f"published to {s3.url('site')}" in wb(cfg.path, "runs", "daily", "-n", "1", env={"COLUMNS": "200"}).stdout

    # in this process: check the order of a publish that sends a run, the index and the pointers
    third = run_report("daily", {"n": 3}, config=cfg, progress=False)
    order.clear()
    res = publish_configured(cfg)
    run_keys = {f"daily/{third.id}/{f}" for f in RUN_FILES}
    assert set(order[:len(run_keys)]) == run_keys
    assert order[len(run_keys):] == ["index.html", "daily/latest.html", "daily/latest.json"]
    assert res.skipped >= 2 * len(RUN_FILES)  # the first two runs were not sent again


def test_a_wrong_key_is_one_line_and_the_run_still_succeeded(s3, tmp_path):
    cfg = project(tmp_path / "p", s3)
    env = {"WB_TEST_S3_SECRET": "not-the-secret-" + "x" * 24}
    r = wb(cfg, "run", "daily", env=env)
    assert r.returncode == 3, (r.stdout, r.stderr)  # the run succeeded; the publish did not
    warning = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "refused the credentials" in warning[0], r.stderr
    assert "succeeded" in r.stdout
    assert RunLog(load_config(cfg).runlog_path).runs()[0].status == "succeeded"
    assert s3.keys("site/") == []
    p = wb(cfg, "publish", env=env)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("workbench: error: publishing to")
    assert "key_id and secret" in p.stderr
    for out in (r.stdout, r.stderr, p.stdout, p.stderr):
        assert env["WB_TEST_S3_SECRET"] not in out and s3.secret not in out
    assert grep_secret(env["WB_TEST_S3_SECRET"], tmp_path / "p" / "reports") == []
    # the right key again: the next publish completes it
    ok = wb(cfg, "publish")
    assert ok.returncode == 0, ok.stderr
    assert "site/daily/latest.json" in s3.keys("site/")


@pytest.mark.parametrize("url", ["ftp://bucket/site", "s3://", "/tmp/site", "s3://bucket/site/*.html"])
def test_publish_to_a_bad_url_is_one_line(s3, tmp_path, url):
    cfg = project(tmp_path / "p", s3)
    r = wb(cfg, "publish", "--to", url)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "not a place to publish to" in r.stderr and "s3://bucket/site" in r.stderr


def test_a_missing_bucket_and_an_unknown_report_are_one_line(s3, tmp_path):
    cfg = load_config(project(tmp_path / "p", s3))
    assert run_report("daily", {}, config=cfg, progress=False).ok
    r = wb(cfg.path, "publish", "--to", "s3://no-such-bucket-here/site")
    assert r.returncode != 0 and r.stderr.count("\n") == 1, r.stderr
    assert "no-such-bucket-here" in r.stderr and s3.secret not in r.stderr
    u = wb(cfg.path, "publish", "weekly")
    assert u.returncode == 2 and u.stderr.count("\n") == 1 and "weekly" in u.stderr and "daily" in u.stderr
    assert s3.keys("site/") == []
    r = wb(cfg.path, "publish", "daily")
    assert r.returncode == 0, r.stderr
    assert "site/daily/latest.html" in s3.keys("site/")


def test_the_scheduler_publishes_after_its_runs(s3, tmp_path):
    import datetime as dt

    from workbench.schedule.loop import FakeClock, Scheduler

    root = tmp_path / "p"
    project(root, s3)
    with open(root / "workbench.toml", "a") as f:
        f.write('schedule = "30 6 * * *"\n')
    cfg = load_config(root / "workbench.toml")
    lines: list[str] = []
    results = Scheduler(cfg, clock=FakeClock(dt.datetime(2026, 11, 5, 6, 30, 10, tzinfo=dt.UTC)), jobs=1,
                        log=lines.append).tick()
    assert [r.status for r in results] == ["succeeded"]
    assert json.loads(s3.get("site/daily/latest.json"))["run_id"] == results[0].id
    assert "schedule" in s3.get("site/index.html").decode()
    assert any(line.startswith("published to") for line in lines), lines


def test_wb_run_report_publishes_and_a_store_down_is_a_warning(s3, tmp_path):
    from workbench.api import Workbench

    bench = Workbench(load_config(project(tmp_path / "p", s3)))
    s3.stop()
    try:
        with pytest.warns(RuntimeWarning, match="workbench publish") as caught:
            res = bench.run_report("daily", {"n": 5}, progress=False)
    finally:
        s3.start()
    assert res.ok and RunLog(bench.config.runlog_path).get(res.id).status == "succeeded"
    assert all("\n" not in str(w.message) and s3.secret not in str(w.message) for w in caught)
    assert s3.keys("site/") == []
    again = bench.run_report("daily", {"n": 6}, progress=False)  # the next run completes the first one too
    keys = s3.keys("site/")
    assert {f"site/daily/{res.id}/report.html", f"site/daily/{again.id}/report.html"} <= set(keys)
    assert json.loads(s3.get("site/daily/latest.json"))["run_id"] == again.id


def test_publish_to_in_workbench_toml_is_checked_when_the_config_loads(tmp_path):
    from workbench.errors import ConfigError

    (tmp_path / "workbench.toml").write_text('[workbench]\npublish_to = "ftp://host/site"\n')
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "workbench.toml")
    assert "\n" not in str(e.value) and "publish_to" in str(e.value) and "s3://bucket/site" in str(e.value)
    (tmp_path / "workbench.toml").write_text('[workbench]\npublish_to = "s3://bucket/site/"\n')
    assert load_config(tmp_path / "workbench.toml").settings.publish_to == "s3://bucket/site"
