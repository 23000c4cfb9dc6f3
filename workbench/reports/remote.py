"""Publishing the reports site to an object store (``[workbench] publish_to = "s3://bucket/site"``).

The local reports folder stays the source of truth (:mod:`.publish` makes it atomic);
this module mirrors it into ``s3://bucket/site`` with the same layout, so the index's
relative links work from any static host::

    site/index.html                         the index (links are relative: report/run/report.html)
    site/<report>/<run-id>/<file>           every file of each published run folder
    site/<report>/latest.html               redirect page to <run-id>/report.html (the local one)
    site/<report>/latest.json               {"report", "run_id", "report_path"}: for scripts

A store has no rename and no symlink, so the order of the PUTs is what makes it safe:
first every object of the run folders, then ``index.html``, then the ``latest`` pointers
LAST. A reader therefore never follows a link (index or latest) to a run whose objects are
not all there; a publish that stops half-way leaves the previous index and ``latest``.

Idempotent and resumable: one listing of the prefix gives each object's size and ETag
(the MD5 of a plain PUT); a local file whose size and MD5 match is not sent again, so the
next publish sends only what is missing and then moves the pointers. A run folder whose
objects are all there is recorded in the run log (``published_remote``, a migration of
its own), and every attempt in ``remote_targets``, apart from the run's status: a run that
succeeded stays succeeded when the store is down.

Publishes of one reports folder are serialised by a lock file (``.publish.lock``), so two
processes (a scheduler and a ``workbench publish``) never move ``latest`` backwards.
Failures of the store are one line (:class:`~workbench.errors.StorageError`, or
:class:`~workbench.errors.StorageAuthError` for refused credentials), cleaned of secrets.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

from ..config.model import check_publish_url
from ..errors import StorageError, UsageError
from ..secrets import clean
from ..storage.remote import S3Options, filesystem, storage_error
from .publish import STAGING_PREFIX
from .run import OUTCOME_FILE
from .runlog import RunLog

if TYPE_CHECKING:
    from ..config import Config

LOCK_FILE = ".publish.lock"
INDEX = "index.html"
#: what a run folder holds that is worth sharing (every other file stays local)
SKIP_SUFFIXES = (".part",)


@dataclass
class Upload:
    """One object to make equal to a local file (or to in-memory bytes)."""

    key: str                 # relative to the target prefix
    local: Path | None = None
    data: bytes | None = None
    content_type: str | None = None

    def size(self) -> int:
        return len(self.data) if self.data is not None else self.local.stat().st_size  # type: ignore[union-attr]

    def md5(self) -> str:
        h = hashlib.md5(usedforsecurity=False)
        if self.data is not None:
            h.update(self.data)
        else:
            with open(self.local, "rb") as f:  # type: ignore[arg-type]
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
        return h.hexdigest()


@dataclass
class PublishResult:
    """What a publish did: the target, objects sent and already there, runs now complete."""

    target: str
    sent: list[str] = field(default_factory=list)
    skipped: int = 0
    runs: list[str] = field(default_factory=list)
    latest: dict[str, str] = field(default_factory=dict)   # report -> run id its remote latest points at

    @property
    def index_url(self) -> str:
        return f"{self.target}/{INDEX}"

    def summary(self) -> str:
        return (f"published to {self.index_url}: {len(self.sent)} object(s) sent, {self.skipped} already there, "
                f"latest of {len(self.latest)} report(s)")


def check_target(url: str) -> str:
    """The normalised ``s3://bucket/prefix``, or a UsageError (one line) saying what to write."""
    try:
        return check_publish_url(url)
    except ValueError as e:
        raise UsageError(f"--to {url}: {e}") from None


# -- what the local folder holds ---------------------------------------------------------------
def _run_dirs(report_dir: Path) -> list[Path]:
    """The report's complete run folders (published, with their outcome), oldest first."""
    out = []
    for p in report_dir.iterdir():
        if (p.is_dir() and not p.is_symlink() and not p.name.startswith((".", STAGING_PREFIX))
                and (p / OUTCOME_FILE).is_file()):
            out.append(p)
    return sorted(out, key=lambda p: p.name)  # run ids start with their time


def _latest(report_dir: Path) -> str | None:
    """The run the local ``latest`` points at (the source of truth), if its folder is there."""
    link = report_dir / "latest"
    if not link.is_symlink():
        return None
    rid = os.readlink(link)
    return rid if (report_dir / rid / OUTCOME_FILE).is_file() else None


def plan_uploads(reports_dir: Path, reports: Iterable[str] | None = None
                 ) -> tuple[dict[str, list[Upload]], list[Upload], list[Upload], dict[str, str]]:
    """``(run id -> its objects, [index], pointers, report -> latest run id)``, in upload order."""
    names = sorted(p.name for p in reports_dir.iterdir() if p.is_dir() and not p.name.startswith(".")) \
        if reports_dir.is_dir() else []
    if reports is not None:
        wanted = list(dict.fromkeys(reports))
        unknown = [r for r in wanted if r not in names]
        if unknown:
            raise UsageError(f"no published runs of {', '.join(unknown)} in {reports_dir}; "
                             f"the reports there are: {', '.join(names) or 'none'}")
        names = wanted
    runs: dict[str, list[Upload]] = {}
    pointers: list[Upload] = []
    latest: dict[str, str] = {}
    for name in names:
        report_dir = reports_dir / name
        for run_dir in _run_dirs(report_dir):
            runs[run_dir.name] = [Upload(f"{name}/{run_dir.name}/{f.name}", f) for f in sorted(run_dir.iterdir())
                                  if f.is_file() and not f.name.startswith(".") and not f.name.endswith(SKIP_SUFFIXES)]
        rid = _latest(report_dir)
        if rid is not None and (report_dir / "latest.html").is_file():
            latest[name] = rid
            pointers.append(Upload(f"{name}/latest.html", report_dir / "latest.html", content_type="text/html"))
            pointers.append(Upload(f"{name}/latest.json", data=json.dumps(
                {"report": name, "run_id": rid, "report_path": f"{rid}/report.html"}).encode(),
                content_type="application/json"))
    index = [Upload(INDEX, reports_dir / INDEX, content_type="text/html")] if (reports_dir / INDEX).is_file() else []
    return runs, index, pointers, latest


# -- the store ---------------------------------------------------------------------------------
@contextmanager
def _locked(reports_dir: Path) -> Iterator[None]:
    reports_dir.mkdir(parents=True, exist_ok=True)
    with open(reports_dir / LOCK_FILE, "a+") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _remote_listing(fs, root: str) -> dict[str, tuple[int, str]]:
    """``key (relative to root) -> (size, etag)`` of every object under ``root``."""
    found = fs.find(root, detail=True)
    out = {}
    for path, info in found.items():
        if info.get("type", "file") != "file":
            continue
        etag = str(info.get("ETag") or info.get("etag") or "").strip('"')
        out[path[len(root) + 1:]] = (int(info.get("size") or 0), etag)
    return out


def _same(u: Upload, remote: tuple[int, str] | None) -> bool:
    if remote is None or remote[0] != u.size():
        return False
    size, etag = remote
    if "-" in etag:  # a multipart upload's ETag is no MD5: the size has to do
        return True
    return etag == u.md5()


def publish_site(reports_dir: str | os.PathLike[str], runlog: RunLog, target: str,
                 options: S3Options | None = None, *, reports: Iterable[str] | None = None,
                 on_object: Callable[[str], None] | None = None) -> PublishResult:
    """Mirror ``reports_dir`` into ``target`` (see the module doc); raises StorageError (one line).

    ``reports`` limits the run folders and pointers to those reports (the index always goes).
    ``on_object(key)`` is called after each object is sent (progress; tests stop the store with it).
    """
    target = check_target(target)
    reports_dir = Path(reports_dir)
    options = options or S3Options.from_values()
    root = target.split("://", 1)[1]
    result = PublishResult(target)
    with _locked(reports_dir):
        runs, index, pointers, latest = plan_uploads(reports_dir, reports)
        fs = filesystem(options)
        where, doing = target, "listing"
        try:
            remote = _remote_listing(fs, root)
            doing = "writing"
            for phase in (*runs.values(), index, pointers):
                for u in phase:
                    if _same(u, remote.get(u.key)):
                        result.skipped += 1
                        continue
                    where = f"{target}/{u.key}"
                    path = f"{root}/{u.key}"
                    if u.data is not None:
                        fs.pipe_file(path, u.data, ContentType=u.content_type or "application/octet-stream")
                    else:
                        kw = {"ContentType": u.content_type} if u.content_type else {}
                        fs.put_file(str(u.local), path, **kw)
                    result.sent.append(u.key)
                    if on_object is not None:
                        on_object(u.key)
                if phase and phase is not index and phase is not pointers:
                    result.runs.append(phase[0].key.split("/")[1])
        except StorageError:
            raise
        except Exception as e:  # noqa: BLE001 - s3fs raises OSError subclasses and botocore's own
            err = storage_error(e, where, options, doing)
            message = clean(f"publishing to {target} stopped after {len(result.sent)} object(s) sent: {err}; "
                            "the local reports and the run log are intact; once that is fixed, "
                            "`workbench publish` completes it", options.secrets)
            _record(runlog, target, result.runs, message)
            raise type(err)(message) from None
        result.latest = latest
        _record(runlog, target, result.runs, None)
    return result


def _record(runlog: RunLog, target: str, runs: list[str], error: str | None) -> None:
    """The remote state in the run log; never worth failing the publish for."""
    try:
        if runs:
            runlog.mark_published(target, runs)
        runlog.note_publish(target, error=error)
    except Exception:  # noqa: BLE001 - a busy or read-only log: the store is still right
        pass


def publish_configured(cfg: "Config", *, reports: Iterable[str] | None = None, to: str | None = None,
                       on_object: Callable[[str], None] | None = None) -> PublishResult | None:
    """Publish ``cfg``'s reports folder to ``to`` or ``[workbench] publish_to``; None when neither is set."""
    target = to or cfg.settings.publish_to
    if not target:
        return None
    return publish_site(cfg.reports_dir, RunLog(cfg.runlog_path), target, S3Options.from_config(cfg),
                        reports=reports, on_object=on_object)


def publish_quietly(cfg: "Config", *, reports: Iterable[str] | None = None) -> tuple[PublishResult | None, str | None]:
    """:func:`publish_configured` after a run: ``(result, None)``, or ``(None, one-line error)``.

    The run already succeeded (or failed) on its own; a store that is down must not turn
    it into an exception, only into a line that says what failed and how it completes.
    """
    try:
        return publish_configured(cfg, reports=reports), None
    except StorageError as e:
        return None, str(e)
