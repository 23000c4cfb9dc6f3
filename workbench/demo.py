"""Deterministic demo data for the worked example: a photo-sharing app.

The example's popularity model needs photo metadata from the app's OLTP database, user
features computed from app logs in the lake, and a photo classifier's outputs. :func:`build`
writes all three, and the DuckDB warehouse that joins them, under ``root/data``:

- ``app.db`` (SQLite), or the tables of ``app_url`` (PostgreSQL, MariaDB): ``users``,
  ``photos``, ``likes``, ``comments``;
- ``lake/events/day=YYYY-MM-DD/events.jsonl``: the app log (login, view, like);
- ``lake/labels/labels-NNN.parquet``: the classifier's content and style labels;
- ``warehouse.duckdb``: ``labels``, ``user_daily`` and ``photo_features``, computed by
  DuckDB from the files above.

Why it is built this way:

- Same arguments, same data: every random stream is a numpy Generator seeded from
  ``seed`` and a fixed stream number, never from the clock or from dict order, so a
  report or a test over the demo can be rerun and compared.
- Linear in ``scale`` and bounded in memory: entities are vectorised numpy arrays, and
  the log (the bulk of the rows) is generated and written one day at a time.
- The sources agree with each other: each like row in the log window is one ``like``
  event at the same instant, preceded by a view of the photo; users log in on the days
  they act.
- Nothing half-written: files are written under temporary names and renamed into place,
  and the manifest ``data/.demo.json`` is removed before a rebuild and written after
  it, so a failed build is never mistaken for a good one and is simply redone.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import os
import shutil
import sqlite3
import sys
import tempfile
from contextlib import closing, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from tqdm import tqdm

from .errors import SourceError, UsageError
from .secrets import clean
from .storage import atomic
from .sqltext import quote_literal

# Bump when the generated data changes, so manifests of older builds stop matching.
GENERATOR_VERSION = 1
MANIFEST = ".demo.json"

# Rows at scale=1; every count is linear in scale, with a floor so tiny scales still
# give a world in which every table has rows.
BASE_ROWS = {"users": 2_000, "photos": 10_000, "likes": 60_000, "comments": 5_000, "events": 300_000}
MIN_ROWS = {"users": 10, "photos": 20, "likes": 50, "comments": 10, "events": 500}
MAX_SCALE = 1_000  # 300 million events: beyond this a typo is likelier than a wish
MAX_DAYS = 3_660

DAY_MS = 86_400_000
HISTORY_DAYS = 90  # photos posted before the log window: the app's back catalogue
HISTORIC_PHOTOS = 0.4
VIEW_SHARE = 0.83  # of the event target; views of users not yet signed up are dropped
LABELS_PER_FILE = 5_000

# --------------------------------------------------------------------------- vocabulary
COUNTRIES = ["US", "DE", "JP", "FR", "BR", "IN", "GB", "CH", "PL", "IS"]
COUNTRY_P = [0.24, 0.14, 0.12, 0.1, 0.1, 0.1, 0.08, 0.05, 0.05, 0.02]
CITIES = [  # (name, latitude, longitude)
    ("New York", 40.7128, -74.0060),
    ("San Francisco", 37.7749, -122.4194),
    ("Berlin", 52.5200, 13.4050),
    ("München", 48.1351, 11.5820),
    ("東京", 35.6762, 139.6503),
    ("大阪", 34.6937, 135.5023),
    ("Paris", 48.8566, 2.3522),
    ("São Paulo", -23.5505, -46.6333),
    ("Mumbai", 19.0760, 72.8777),
    ("London", 51.5074, -0.1278),
    ("Zürich", 47.3769, 8.5417),
    ("Kraków", 50.0647, 19.9450),
    ("Reykjavík", 64.1466, -21.9426),
]
USERNAME_STEMS = [
    "anna", "björn", "zoë", "mateo", "yuki", "東京の夜", "café☕", "zürich_fan",
    "priya", "łukasz", "sunset🌅", "joão", "noah", "émilie", "olu", "ナオミ",
]
TITLE_FIRST = ["Golden", "Quiet", "Morning", "Late", "Blue", "Misty", "Last", "First", "Wild", "Old"]
TITLE_SECOND = ["light", "harbour", "street", "market", "mountains", "coffee", "bridge", "garden", "rooftops", "trail"]
TITLE_SPECIAL = [
    "東京の夜", "café ☕", "Zürich at dusk", "Crème brûlée 🍮", "Ночной город",
    "夕焼け 🌅", "Smørrebrød", "🐶🐾", "Straße im Regen", "Señor Gato",
]
COMMENT_BODIES = [
    "Love this! ❤️", "Wunderschön 😍", "すごい！", "Où est-ce ?", "Great light.",
    "Those colours 🔥", 'He said "wow"', "Where, exactly?", "First line\nsecond line",
    "Ça alors, magnifique", "👏👏👏", "Nice, crisp, clean.",
]
CAMERAS = ["iPhone 15 Pro", "Pixel 8", "Galaxy S24", "Fujifilm X100V", "Sony A7 IV", "Canon EOS R6"]
ISO_VALUES = ["100", "200", "400", "800", "1600", "3200"]
FOCAL_MM = ["24", "26", "35", "50", "85"]
F_NUMBERS = ["1.8", "2.0", "2.8", "4.0", "5.6", "8.0"]
DEVICES = ["ios", "android", "web"]
DEVICE_P = [0.45, 0.4, 0.15]
EVENTS = ["login", "view", "like"]  # also the sort order of events at the same instant
# The true content and style of a photo drive its appeal; the classifier sees them noisily.
CONTENT = ["landscape", "portrait", "food", "animal", "architecture", "night"]
CONTENT_P = [0.25, 0.2, 0.15, 0.15, 0.15, 0.1]
CONTENT_APPEAL = [0.2, 0.0, -0.1, 0.5, -0.2, 0.3]
STYLE = ["vivid", "muted", "black_and_white", "hdr"]
STYLE_P = [0.4, 0.3, 0.15, 0.15]
STYLE_APPEAL = [0.3, -0.1, 0.1, -0.3]
MODEL_VERSIONS = ["photo-clf-2.3.0", "photo-clf-2.4.0"]  # upgraded mid-window
HOURLY_ACTIVITY = np.array([2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 5, 5, 6, 5, 5, 5, 6, 7, 9, 10, 10, 9, 7, 4], float)

# Independent random streams: changing how one is drawn leaves the others as they were.
_USERS, _PHOTOS, _LIKES, _COMMENTS, _LABELS, _EVENTS = range(1, 7)

# --------------------------------------------------------------------------- OLTP schema
# One description drives the DDL of each dialect, the bulk loaders and data/README.md.
# Logical type -> (SQLite, PostgreSQL, MariaDB).
TYPES = {
    "id": ("INTEGER", "BIGINT", "BIGINT"),
    "name": ("TEXT", "TEXT", "VARCHAR(100)"),
    "email": ("TEXT", "TEXT", "VARCHAR(255)"),
    "text": ("TEXT", "TEXT", "TEXT"),
    "json": ("TEXT", "TEXT", "TEXT"),
    "country": ("TEXT", "CHAR(2)", "CHAR(2)"),
    "date": ("DATE", "DATE", "DATE"),
    "money": ("DECIMAL(12,2)", "NUMERIC(12,2)", "DECIMAL(12,2)"),
    "bool": ("BOOLEAN", "BOOLEAN", "BOOLEAN"),
    "float": ("REAL", "DOUBLE PRECISION", "DOUBLE"),
    # SQLite stores ISO-8601 text with an offset; MariaDB's TIMESTAMP is UTC-based but
    # gets an explicit default so the server never adds ON UPDATE behaviour of its own.
    "ts": ("TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP(3)"),
}
DIALECTS = ("sqlite", "postgresql", "mysql")
SCHEMA: dict[str, list[tuple[str, str, bool]]] = {  # table -> (column, logical type, nullable)
    "users": [
        ("id", "id", False), ("username", "name", False), ("email", "email", False),
        ("country", "country", True), ("birth_date", "date", True),
        ("account_balance", "money", False), ("signup_at", "ts", False),
        ("created_at", "ts", False), ("updated_at", "ts", False),
    ],
    "photos": [
        ("id", "id", False), ("user_id", "id", False), ("title", "text", False),
        ("location", "text", True), ("latitude", "float", True), ("longitude", "float", True),
        ("posted_at", "ts", False), ("is_public", "bool", False), ("exif", "json", True),
        ("created_at", "ts", False), ("updated_at", "ts", False),
    ],
    "likes": [
        ("id", "id", False), ("photo_id", "id", False), ("user_id", "id", False),
        ("created_at", "ts", False), ("updated_at", "ts", False),
    ],
    "comments": [
        ("id", "id", False), ("photo_id", "id", False), ("user_id", "id", False),
        ("body", "text", False), ("created_at", "ts", False), ("updated_at", "ts", False),
    ],
}
FOREIGN_KEYS = [  # (table, column, referenced table)
    ("photos", "user_id", "users"),
    ("likes", "photo_id", "photos"),
    ("likes", "user_id", "users"),
    ("comments", "photo_id", "photos"),
    ("comments", "user_id", "users"),
]
INDEXES = [  # (name, table, columns, unique); likes_photo_user_key also serves likes.photo_id
    ("users_username_key", "users", ("username",), True),
    ("users_email_key", "users", ("email",), True),
    ("photos_user_id_idx", "photos", ("user_id",), False),
    ("photos_posted_at_idx", "photos", ("posted_at",), False),
    ("likes_photo_user_key", "likes", ("photo_id", "user_id"), True),
    ("likes_user_id_idx", "likes", ("user_id",), False),
    ("likes_created_at_idx", "likes", ("created_at",), False),
    ("comments_photo_id_idx", "comments", ("photo_id",), False),
    ("comments_user_id_idx", "comments", ("user_id",), False),
]


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`build` wrote (or found already written)."""

    app: str  # the OLTP database as a URL, password hidden
    paths: dict[str, Path]  # app_db (SQLite only), events, labels, warehouse, manifest
    counts: dict[str, int]  # rows per table and file set
    reused: bool  # True when the data of an identical earlier build was kept

    def __str__(self) -> str:
        """A few lines for a terminal: what was built or reused, row counts, paths."""
        verb = "reused" if self.reused else "built"
        lines = [f"demo data {verb}: {self.app}"]
        lines += [f"  {name:<15}{n:>12,}" for name, n in self.counts.items()]
        lines += [f"  {name:<15}{path}" for name, path in self.paths.items()]
        return "\n".join(lines)


def build(
    root: Path,
    *,
    scale: float = 1.0,
    app_url: str | None = None,
    seed: int = 42,
    days: int = 14,
    end_day: dt.date | None = None,
    force: bool = False,
    progress: bool = True,
) -> DemoSummary:
    """Write the demo's OLTP tables, lake and warehouse under ``root/data``.

    ``scale`` multiplies every row count (1.0: ~2,000 users, ~10,000 photos, ~60,000
    likes, ~300,000 events); the log covers the ``days`` days ending at ``end_day``
    (default: yesterday, UTC, the last whole day). ``app_url`` puts the OLTP tables into PostgreSQL or MariaDB
    (or another SQLite file) instead of ``data/app.db``; its four tables are dropped and
    recreated. A build with the same arguments as the last one returns at once with
    ``reused=True`` unless ``force``.
    """
    root = Path(root).resolve()
    end_day = _check_args(scale, seed, days, end_day)
    target = _target(root, app_url)
    data = root / "data"
    args = {"scale": float(scale), "seed": seed, "days": days, "end_day": end_day.isoformat(), "app": target.key(data)}
    if target.dialect != "sqlite":
        with closing(_connect(target)):
            pass  # fail fast, before any work, when the server cannot be reached
    if not force:
        reused = _reusable(data, args, target)
        if reused:
            return reused
    return _rebuild(data, args, target, progress)


# --------------------------------------------------------------------------- arguments
def _check_args(scale: Any, seed: Any, days: Any, end_day: Any) -> dt.date:
    """Validate the arguments and return the resolved ``end_day``."""
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
        raise UsageError(f"demo scale must be a number > 0, got {scale!r}; try scale=1 (about 300,000 events)")
    if scale > MAX_SCALE:
        raise UsageError(f"demo scale {scale:g} is too large; use at most {MAX_SCALE} (100 is ~30 million events)")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError(f"demo seed must be an integer >= 0, got {seed!r}")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise UsageError(f"demo days must be an integer from 1 to {MAX_DAYS}, got {days!r}")
    if end_day is None:  # the last whole day: no row of the demo lies in the future
        return dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
    if isinstance(end_day, dt.datetime):
        return end_day.date()
    if not isinstance(end_day, dt.date):
        raise UsageError(f"demo end_day must be a date, got {end_day!r}; write e.g. datetime.date(2025, 1, 31)")
    return end_day


@dataclass(frozen=True)
class _Target:
    """Where the OLTP tables go: a SQLite file, or a server database given by URL."""

    dialect: str  # one of DIALECTS
    path: Path | None = None  # SQLite
    url: URL | None = None  # server, with the driver workbench uses

    @property
    def display(self) -> str:
        if self.url is None:
            return f"sqlite:///{self.path}"
        return self.url.render_as_string(hide_password=True)

    def key(self, data: Path) -> str:
        """Identifies the target in the manifest: no password, no absolute project path."""
        if self.url is None:
            return "sqlite:" + os.path.relpath(self.path, data)
        return self.display


def _target(root: Path, app_url: str | None) -> _Target:
    if app_url is None:
        return _Target("sqlite", path=root / "data" / "app.db")
    try:
        url = make_url(app_url)
    except ArgumentError:
        raise UsageError(
            "demo app_url is not a database URL; write e.g. postgresql://user@host/db or mysql+pymysql://user@host/db"
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite" and url.database:
        path = Path(url.database)
        return _Target("sqlite", path=path if path.is_absolute() else root / path)
    if backend in ("postgresql", "mysql", "mariadb") and not url.database:
        raise UsageError(
            f"demo app_url {url.render_as_string(hide_password=True)} names no database; "
            "add one, e.g. postgresql://user@host/app (the demo drops and recreates its four tables there)"
        )
    # The loaders speak psycopg 3 (COPY) and PyMySQL (LOAD DATA), whatever driver the URL names.
    if backend == "postgresql":
        return _Target("postgresql", url=url.set(drivername="postgresql+psycopg"))
    if backend in ("mysql", "mariadb"):
        return _Target("mysql", url=url.set(drivername="mysql+pymysql"))
    redacted = url.render_as_string(hide_password=True)
    raise UsageError(
        f"demo app_url {redacted} is not supported; use postgresql+psycopg://..., mysql+pymysql://... "
        "or leave it out for SQLite in data/app.db"
    )


# --------------------------------------------------------------------------- reuse
def _reusable(data: Path, args: dict[str, Any], target: _Target) -> DemoSummary | None:
    """The summary of the last build if it had these arguments and its output is intact."""
    try:
        manifest = json.loads((data / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if manifest.get("generator") != GENERATOR_VERSION or manifest.get("args") != args:
        return None
    for rel, size in manifest.get("files", {}).items():
        try:
            # The warehouse grows after the build (`workbench sync`, wb.load): it only has to be there.
            if (data / rel).stat().st_size != size and rel != "warehouse.duckdb":
                return None
        except OSError:
            return None
    oltp = {t: manifest["counts"][t] for t in SCHEMA}
    if target.dialect != "sqlite" and _server_counts(target) != oltp:
        return None
    return _summary(data, target, manifest["counts"], reused=True)


def _summary(data: Path, target: _Target, counts: dict[str, int], *, reused: bool) -> DemoSummary:
    paths = {}
    if target.path is not None:
        paths["app_db"] = target.path
    paths |= {
        "events": data / "lake" / "events",
        "labels": data / "lake" / "labels",
        "warehouse": data / "warehouse.duckdb",
        "manifest": data / MANIFEST,
    }
    return DemoSummary(app=target.display, paths=paths, counts=dict(counts), reused=reused)


# --------------------------------------------------------------------------- rebuild
def _rebuild(data: Path, args: dict[str, Any], target: _Target, progress: bool) -> DemoSummary:
    data.mkdir(parents=True, exist_ok=True)
    (data / MANIFEST).unlink(missing_ok=True)
    _remove_leftovers(data, target)
    work = Path(tempfile.mkdtemp(prefix=".demo-build-", dir=data))
    enabled = progress and sys.stderr.isatty()
    sqlite_tmp = None
    try:
        with tqdm(total=args["days"] + 4, desc="demo", unit="step", file=sys.stderr, disable=not enabled) as bar:
            bar.set_postfix_str("entities")
            world = _World.generate(args)
            bar.update()
            counts = {name: t.num_rows for name, t in world.tables.items()}
            counts["events"] = _write_events(work / "events", world, bar)
            counts["labels"] = _write_labels(work / "labels", world.labels)
            bar.set_postfix_str("warehouse")
            counts |= _build_warehouse(work / "warehouse.duckdb", work, world)
            bar.update()
            bar.set_postfix_str("app database")
            sqlite_tmp = _load_oltp(target, world, work)
            bar.update()
            _put_in_place(work, data, target, sqlite_tmp)
            bar.update()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if sqlite_tmp is not None:
            sqlite_tmp.unlink(missing_ok=True)  # gone already unless the build failed
    _write_manifest(data, args, counts, target)
    return _summary(data, target, counts, reused=False)


def _remove_leftovers(data: Path, target: _Target) -> None:
    """Temp files of a build that was killed before it could clean up after itself."""
    for work in data.glob(".demo-build-*"):
        shutil.rmtree(work, ignore_errors=True)
    if target.path is not None:
        for tmp in target.path.parent.glob(f".{target.path.name}.*.tmp"):
            tmp.unlink(missing_ok=True)


def _put_in_place(work: Path, data: Path, target: _Target, sqlite_tmp: Path | None) -> None:
    """Rename the finished files over the old ones, each in one step."""
    lake = data / "lake"
    lake.mkdir(exist_ok=True)
    for name in ("events", "labels"):
        _replace_dir(work / name, lake / name, work / f"old-{name}")
    _replace_file(work / "warehouse.duckdb", data / "warehouse.duckdb", stale=(".wal",))
    if sqlite_tmp is not None:
        _replace_file(sqlite_tmp, target.path, stale=("-wal", "-shm", "-journal"))


_replace_dir = atomic.replace_dir  # the caller deletes the trash with the work folder
_replace_file = atomic.replace_file


def _write_manifest(data: Path, args: dict[str, Any], counts: dict[str, int], target: _Target) -> None:
    files = [data / "warehouse.duckdb", *sorted((data / "lake" / "events").rglob("*.jsonl")),
             *sorted((data / "lake" / "labels").glob("*.parquet"))]
    if target.path is not None:
        files.insert(0, target.path)
    manifest = {
        "generator": GENERATOR_VERSION,
        "args": args,
        "counts": counts,
        "files": {os.path.relpath(f, data): f.stat().st_size for f in files},
    }
    atomic.write_bytes(data / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------- generation
def _rng(seed: int, stream: int, *more: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream, *more])


def _sizes(scale: float) -> dict[str, int]:
    return {k: max(MIN_ROWS[k], round(v * scale)) for k, v in BASE_ROWS.items()}


def _ts(ms: np.ndarray) -> pa.Array:
    """Milliseconds since the epoch as TIMESTAMP WITH TIME ZONE (UTC)."""
    return pa.array(ms, pa.int64()).cast(pa.timestamp("ms", tz="UTC"))


def _pick(values: list[str], idx: np.ndarray) -> pa.Array:
    return pa.array(values, pa.string()).take(pa.array(idx))


def _join(*parts: Any) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _fixed_width_strings(chars: np.ndarray) -> pa.Array:
    """An (n, width) uint8 matrix of ASCII as n strings, without a Python loop."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars)))


def _hex_ids(rng: np.random.Generator, n: int) -> pa.Array:
    digits = np.frombuffer(b"0123456789abcdef", np.uint8)
    return _fixed_width_strings(digits[rng.integers(0, 16, (n, 16))])


def _cumulative(weights: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(weights)])


def _choice(rng: np.random.Generator, cumulative: np.ndarray, size: int) -> np.ndarray:
    """``size`` indices drawn with probability proportional to their weight, given the
    weights' cumulative sums from 0 (see _cumulative). The distribution of
    ``rng.choice(p=...)``, but it searches sorted draws, which keeps the binary searches in
    cache: several times faster for a million photos."""
    u = np.sort(rng.random(size)) * cumulative[-1]
    return rng.permutation(np.searchsorted(cumulative, u, side="right") - 1)


def _later(rng: np.random.Generator, ms: np.ndarray, end: int, share: float) -> np.ndarray:
    """``updated_at``: equal to ``ms``, except for ``share`` of rows edited before ``end``."""
    edited = rng.random(len(ms)) < share
    return np.where(edited, ms + (rng.random(len(ms)) * (end - 1 - ms)).astype(np.int64), ms)


def _delays(rng: np.random.Generator, mean_ms: float, limit_ms: np.ndarray) -> np.ndarray:
    """Exponential delays (most reactions come soon) truncated below ``limit_ms``, by inversion."""
    u = rng.random(len(limit_ms))
    return (-mean_ms * np.log1p(-u * -np.expm1(-limit_ms / mean_ms))).astype(np.int64)


@dataclass
class _Users:
    table: pa.Table
    signup: np.ndarray  # ms, ascending (ids follow signup order)
    activity: np.ndarray  # cumulative weights (see _choice): who views and likes
    posting: np.ndarray  # cumulative weights: who posts photos
    fame: np.ndarray  # an author's pull on their photos' appeal
    device: np.ndarray  # index into DEVICES
    country: np.ndarray  # index into COUNTRIES, -1 for unknown


@dataclass
class _Photos:
    table: pa.Table
    posted: np.ndarray  # ms, ascending (ids follow posting order)
    owner: np.ndarray  # user index
    appeal: np.ndarray  # cumulative weights: which photos get viewed and liked
    content: np.ndarray  # true content, index into CONTENT
    style: np.ndarray  # true style, index into STYLE


def _users(seed: int, n: int, start: int, end: int) -> _Users:
    rng = _rng(seed, _USERS)
    veteran = rng.random(n) < 0.85
    signup = np.sort(np.where(veteran, start - rng.integers(DAY_MS, 730 * DAY_MS, n), rng.integers(start, end, n)))
    ids = np.arange(1, n + 1)
    id_text = pc.cast(pa.array(ids), pa.string())
    country = np.where(rng.random(n) < 0.08, -1, rng.choice(len(COUNTRIES), n, p=COUNTRY_P))
    epoch = dt.date(1970, 1, 1).toordinal()
    born = rng.integers(dt.date(1955, 1, 1).toordinal(), dt.date(2008, 12, 31).toordinal(), n) - epoch
    cents = np.where(rng.random(n) < 0.3, 0, np.minimum(rng.lognormal(7, 1.5, n).round(), 10**11)).astype(np.int64)
    # Decimal text built exactly from integer cents: no float rounding on the way to DECIMAL(12,2).
    fraction = pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), 2, "0")
    balance = _join(pc.cast(pa.array(cents // 100), pa.string()), ".", fraction)
    stems = _pick(USERNAME_STEMS, rng.integers(0, len(USERNAME_STEMS), n))
    table = pa.table({
        "id": ids,
        "username": pc.binary_join_element_wise(stems, id_text, "_"),  # unique through the id
        "email": _join("user", id_text, "@example.com"),
        "country": pa.array(np.array(COUNTRIES)[np.maximum(country, 0)], mask=country < 0),
        "birth_date": pa.array(born.astype(np.int32), mask=rng.random(n) < 0.03).cast(pa.date32()),
        "account_balance": pc.cast(balance, pa.decimal128(12, 2)),
        "signup_at": _ts(signup),
        "created_at": _ts(signup),
        "updated_at": _ts(_later(rng, signup, end, 0.25)),
    })
    activity, posting = _cumulative(rng.lognormal(0, 1.5, n)), _cumulative(rng.lognormal(0, 1, n))
    return _Users(table, signup, activity, posting,
                  rng.lognormal(0, 0.7, n), rng.choice(len(DEVICES), n, p=DEVICE_P), country)


def _photos(seed: int, n: int, users: _Users, start: int, end: int) -> _Photos:
    rng = _rng(seed, _PHOTOS)
    owner = _choice(rng, users.posting, n)
    signup = users.signup[owner]
    # Part of the catalogue predates the log window, so the first logged day has photos to view.
    historic = (rng.random(n) < HISTORIC_PHOTOS) & (signup < start)
    lo = np.where(historic, np.maximum(signup, start - HISTORY_DAYS * DAY_MS), np.maximum(signup, start))
    hi = np.where(historic, start, end)
    posted = lo + (rng.random(n) * (hi - lo)).astype(np.int64)
    order = np.argsort(posted, kind="stable")
    owner, posted = owner[order], posted[order]
    content = rng.choice(len(CONTENT), n, p=CONTENT_P)
    style = rng.choice(len(STYLE), n, p=STYLE_P)
    located = rng.random(n) >= 0.10
    public = rng.random(n) >= 0.08
    city = rng.integers(0, len(CITIES), n)
    lat, lon = (np.array([c[i] for c in CITIES])[city] + rng.normal(0, 0.03, n) for i in (1, 2))
    title = pc.if_else(
        pa.array(rng.random(n) < 0.25),
        _pick(TITLE_SPECIAL, rng.integers(0, len(TITLE_SPECIAL), n)),
        pc.binary_join_element_wise(_pick(TITLE_FIRST, rng.integers(0, len(TITLE_FIRST), n)),
                                     _pick(TITLE_SECOND, rng.integers(0, len(TITLE_SECOND), n)), " "),
    )
    exif = _join(
        '{"camera": "', _pick(CAMERAS, rng.integers(0, len(CAMERAS), n)),
        '", "iso": ', _pick(ISO_VALUES, rng.integers(0, len(ISO_VALUES), n)),
        ', "focal_length_mm": ', _pick(FOCAL_MM, rng.integers(0, len(FOCAL_MM), n)),
        ', "f_number": ', _pick(F_NUMBERS, rng.integers(0, len(F_NUMBERS), n)), "}",
    )
    no_exif = rng.random(n) < 0.05  # screenshots and edited exports
    table = pa.table({
        "id": np.arange(1, n + 1),
        "user_id": owner + 1,
        "title": title,
        "location": pa.array(np.array([c[0] for c in CITIES])[city], mask=~located),
        "latitude": pa.array(lat.round(6), mask=~located),
        "longitude": pa.array(lon.round(6), mask=~located),
        "posted_at": _ts(posted),
        "is_public": public,
        "exif": pc.if_else(pa.array(no_exif), pa.scalar(None, pa.string()), exif),
        "created_at": _ts(posted),
        "updated_at": _ts(_later(rng, posted, end, 0.2)),
    })
    appeal = (np.array(CONTENT_APPEAL)[content] + np.array(STYLE_APPEAL)[style] + 0.3 * located
              + np.log(users.fame[owner]) + rng.normal(0, 0.5, n))
    reach = np.exp(appeal) * np.where(public, 1.0, 0.05)  # private photos are seldom seen
    return _Photos(table, posted, owner, _cumulative(reach), content, style)


@dataclass
class _Acts:
    """Likes or comments: the table, and its columns as arrays sorted by time."""

    table: pa.Table
    ts: np.ndarray
    photo: np.ndarray  # photo index
    user: np.ndarray  # user index


def _reactions(rng: np.random.Generator, m: int, users: _Users, photos: _Photos, end: int, mean_ms: float):
    """``m`` candidate (photo, user, time) reactions: appealing photos, active users, soon after posting."""
    photo = _choice(rng, photos.appeal, m)
    user = _choice(rng, users.activity, m)
    posted = photos.posted[photo]
    ts = np.maximum(posted + _delays(rng, mean_ms, (end - 1 - posted).astype(float)), users.signup[user] + 1_000)
    keep = (ts < end) & (user != photos.owner[photo])
    return photo[keep], user[keep], ts[keep]


def _likes(seed: int, n: int, users: _Users, photos: _Photos, end: int) -> _Acts:
    rng = _rng(seed, _LIKES)
    photo, user, ts = _reactions(rng, int(n * 1.4) + 16, users, photos, end, 1.5 * DAY_MS)
    _, first = np.unique(photo * len(users.signup) + user, return_index=True)  # one like per user and photo
    keep = np.sort(first)[:n]
    order = keep[np.argsort(ts[keep], kind="stable")]
    photo, user, ts = photo[order], user[order], ts[order]
    table = pa.table({
        "id": np.arange(1, len(ts) + 1),
        "photo_id": photo + 1,
        "user_id": user + 1,
        "created_at": _ts(ts),
        "updated_at": _ts(ts),
    })
    return _Acts(table, ts, photo, user)


def _comments(seed: int, n: int, users: _Users, photos: _Photos, end: int) -> _Acts:
    rng = _rng(seed, _COMMENTS)
    photo, user, ts = _reactions(rng, int(n * 1.2) + 16, users, photos, end, DAY_MS)
    order = np.argsort(ts[:n], kind="stable")
    photo, user, ts = photo[:n][order], user[:n][order], ts[:n][order]
    table = pa.table({
        "id": np.arange(1, len(ts) + 1),
        "photo_id": photo + 1,
        "user_id": user + 1,
        "body": _pick(COMMENT_BODIES, rng.integers(0, len(COMMENT_BODIES), len(ts))),
        "created_at": _ts(ts),
        "updated_at": _ts(_later(rng, ts, end, 0.1)),
    })
    return _Acts(table, ts, photo, user)


def _classify(rng: np.random.Generator, truth: np.ndarray, k: int, accuracy: float):
    """A noisy classifier: right with probability ``accuracy``, and more confident when right."""
    n = len(truth)
    label = np.where(rng.random(n) < accuracy, truth, rng.integers(0, k, n))
    score = np.where(label == truth, rng.beta(8, 2, n), rng.beta(3, 4, n)).round(4)
    return label, score


def _labels(seed: int, photos: _Photos, start: int, end: int) -> pa.Table:
    rng = _rng(seed, _LABELS)
    n = len(photos.posted)
    scored = photos.posted + rng.integers(30_000, 1_200_000, n)
    content, content_score = _classify(rng, photos.content, len(CONTENT), 0.82)
    style, style_score = _classify(rng, photos.style, len(STYLE), 0.75)
    version = (scored >= start + (end - start) // 2).astype(np.int64)
    scored_ids = np.flatnonzero(scored < end)  # the newest uploads are still in the classifier's queue
    idx = scored_ids[np.argsort(scored[scored_ids], kind="stable")]
    return pa.table({
        "photo_id": idx + 1,
        "model_version": _pick(MODEL_VERSIONS, version[idx]),
        "content_label": _pick(CONTENT, content[idx]),
        "content_score": content_score[idx],
        "style_label": _pick(STYLE, style[idx]),
        "style_score": style_score[idx],
        "scored_at": _ts(scored[idx]),
    })


def _views_per_day(total_events: int, likes_in_window: int, start: int, days: int) -> np.ndarray:
    """Views besides the one before each like, per day; weekends are busier."""
    extra = max(0, round(VIEW_SHARE * total_events) - likes_in_window)
    weekday = (start // DAY_MS + np.arange(days) + 3) % 7  # 0 is Monday: 1970-01-01 was a Thursday
    weight = np.where(weekday >= 5, 1.25, 1.0)
    return np.round(extra * weight / weight.sum()).astype(np.int64)


@dataclass
class _World:
    """Everything but the log, in memory; the log is drawn from it one day at a time."""

    seed: int
    start_day: dt.date
    days: int
    start: int  # ms, first instant of the log window
    end: int  # ms, first instant after it
    users: _Users
    photos: _Photos
    likes: _Acts
    comments: _Acts
    labels: pa.Table
    views_per_day: np.ndarray

    @property
    def tables(self) -> dict[str, pa.Table]:
        return {"users": self.users.table, "photos": self.photos.table,
                "likes": self.likes.table, "comments": self.comments.table}

    @classmethod
    def generate(cls, args: dict[str, Any]) -> "_World":
        sizes = _sizes(args["scale"])
        seed, days = args["seed"], args["days"]
        start_day = dt.date.fromisoformat(args["end_day"]) - dt.timedelta(days=days - 1)
        start = (start_day - dt.date(1970, 1, 1)).days * DAY_MS
        end = start + days * DAY_MS
        users = _users(seed, sizes["users"], start, end)
        photos = _photos(seed, sizes["photos"], users, start, end)
        likes = _likes(seed, sizes["likes"], users, photos, end)
        comments = _comments(seed, sizes["comments"], users, photos, end)
        likes_in_window = len(likes.ts) - int(np.searchsorted(likes.ts, start))
        return cls(seed, start_day, days, start, end, users, photos, likes, comments,
                   _labels(seed, photos, start, end),
                   _views_per_day(sizes["events"], likes_in_window, start, days))


# --------------------------------------------------------------------------- the log
def _day_events(world: _World, day: int) -> pa.Table:
    """One day of the app log, sorted by time; each like row of the day is one like event."""
    rng = _rng(world.seed, _EVENTS, day)
    users, photos = world.users, world.photos
    d0 = world.start + day * DAY_MS
    d1 = d0 + DAY_MS
    a, b = np.searchsorted(world.likes.ts, [d0, d1])
    like_ts, like_user, like_photo = world.likes.ts[a:b], world.likes.user[a:b], world.likes.photo[a:b]
    # A like follows a view of the photo by the same user, within five minutes.
    floor = np.maximum(np.maximum(photos.posted[like_photo], users.signup[like_user]), d0)
    lead_ts = np.maximum(like_ts - rng.integers(2_000, 300_000, b - a), floor)
    browse_user, browse_photo, browse_ts = _browse(rng, world, d0, int(world.views_per_day[day]))
    view_user = np.concatenate([like_user, browse_user])
    view_photo = np.concatenate([like_photo, browse_photo])
    view_ts = np.concatenate([lead_ts, browse_ts])
    c0, c1 = np.searchsorted(world.comments.ts, [d0, d1])
    p0, p1 = np.searchsorted(photos.posted, [d0, d1])
    login_user, login_ts = _logins(
        rng, world, d0,
        np.concatenate([view_user, like_user, world.comments.user[c0:c1], photos.owner[p0:p1]]),
        np.concatenate([view_ts, like_ts, world.comments.ts[c0:c1], photos.posted[p0:p1]]),
    )
    user = np.concatenate([login_user, view_user, like_user])
    photo = np.concatenate([np.full(len(login_user), -1), view_photo, like_photo])
    kind = np.repeat(np.arange(3, dtype=np.int8), [len(login_user), len(view_user), len(like_user)])
    ts = np.concatenate([login_ts, view_ts, like_ts])
    order = np.lexsort((user, kind, ts))
    user, photo, kind, ts = user[order], photo[order], kind[order], ts[order]
    session_of = np.full(len(users.signup), -1)
    session_of[login_user] = np.arange(len(login_user))  # one session per user and day
    country = users.country[user].astype(np.int8)
    return pa.table({
        "ts": pa.array(ts).cast(pa.timestamp("ms")),  # UTC; formatted with a Z when written
        "user_id": user + 1,
        "photo_id": pa.array(photo + 1, mask=photo < 0),
        "event": pa.DictionaryArray.from_arrays(pa.array(kind), EVENTS),
        "device": pa.DictionaryArray.from_arrays(pa.array(users.device[user].astype(np.int8)), DEVICES),
        "country": pa.DictionaryArray.from_arrays(pa.array(country, mask=country < 0), COUNTRIES),
        "session_id": _hex_ids(rng, len(login_user)).take(pa.array(session_of[user])),
    })


def _browse(rng: np.random.Generator, world: _World, d0: int, k: int):
    """``k`` views by active users through the day (busier in the evening), fewer if too early."""
    users = world.users
    user = _choice(rng, users.activity, k)
    hour = rng.choice(24, k, p=HOURLY_ACTIVITY / HOURLY_ACTIVITY.sum())
    ts = np.maximum(d0 + hour * 3_600_000 + rng.integers(0, 3_600_000, k), users.signup[user])
    order = np.argsort(ts, kind="stable")  # time order makes the searches in _pick_photos cache-friendly
    user, ts = user[order], ts[order]
    photo = _pick_photos(rng, world, ts)
    keep = (ts < d0 + DAY_MS) & (photo >= 0)
    return user[keep], photo[keep], ts[keep]


def _pick_photos(rng: np.random.Generator, world: _World, ts: np.ndarray) -> np.ndarray:
    """A photo for each instant among those posted by then, by appeal; half the picks come
    from the last two days (the feed). -1 where nothing was posted yet."""
    posted, cum = world.photos.posted, world.photos.appeal
    hi = np.searchsorted(posted, ts, side="right")
    lo = np.where(rng.random(len(ts)) < 0.5, np.searchsorted(posted, ts - 2 * DAY_MS), 0)
    lo = np.where(lo < hi, lo, 0)
    r = cum[lo] + rng.random(len(ts)) * (cum[hi] - cum[lo])
    idx = np.clip(np.searchsorted(cum, r, side="right") - 1, lo, np.maximum(hi - 1, 0))
    return np.where(hi > 0, idx, -1)


def _logins(rng: np.random.Generator, world: _World, d0: int, actors: np.ndarray, times: np.ndarray):
    """A login shortly before each user's first action of the day, and a few who only look in."""
    signup = world.users.signup
    order = np.lexsort((times, actors))
    actors, times = actors[order], times[order]
    first = np.concatenate([[True], actors[1:] != actors[:-1]])[: len(actors)]
    active, first_ts = actors[first], times[first]
    login_ts = np.maximum(np.maximum(first_ts - rng.integers(1_000, 600_000, len(active)), d0), signup[active])
    idle = rng.random(len(signup)) < 0.03
    idle[active] = False
    idle_users = np.flatnonzero(idle & (signup < d0 + DAY_MS))
    idle_ts = np.maximum(d0 + rng.integers(0, DAY_MS, len(idle_users)), signup[idle_users])
    return np.concatenate([active, idle_users]), np.concatenate([login_ts, idle_ts])


def _duckdb(database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection whose days and hours are UTC whatever the machine's zone, and which
    draws no progress bar of its own on long queries (the build has one)."""
    con = duckdb.connect(database)
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    return con


def _write_events(folder: Path, world: _World, bar: tqdm) -> int:
    """The log as JSON lines, one hive partition per day; DuckDB formats and writes them."""
    total = 0
    with closing(_duckdb()) as con:
        for day in range(world.days):
            date = world.start_day + dt.timedelta(days=day)
            bar.set_postfix_str(f"events {date}")
            events = _day_events(world, day)
            path = folder / f"day={date.isoformat()}" / "events.jsonl"
            path.parent.mkdir(parents=True)
            con.register("day_events", events)
            con.execute(
                "COPY (SELECT strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS ts, user_id, photo_id, event, device, "
                f"country, session_id FROM day_events) TO {quote_literal(path)} (FORMAT json)"
            )
            con.unregister("day_events")
            total += events.num_rows
            bar.update()
    return total


def _write_labels(folder: Path, labels: pa.Table) -> int:
    folder.mkdir(parents=True)
    for i, first in enumerate(range(0, max(labels.num_rows, 1), LABELS_PER_FILE)):
        pq.write_table(labels.slice(first, LABELS_PER_FILE), folder / f"labels-{i:03d}.parquet")
    return labels.num_rows


# --------------------------------------------------------------------------- warehouse
_USER_DAILY = """
CREATE TABLE user_daily AS
SELECT user_id, day,
       count(*) FILTER (WHERE event = 'login') AS logins,
       count(*) FILTER (WHERE event = 'view') AS views,
       count(*) FILTER (WHERE event = 'like') AS likes_given
FROM events
GROUP BY user_id, day
ORDER BY user_id, day
"""

# The training set: one row per photo posted inside the log window (older photos' first
# week was not logged). Features known at posting time, and the outcome in its first
# 7 days; complete_7d says whether those 7 days lie inside the window.
_PHOTO_FEATURES = """
CREATE TABLE photo_features AS
WITH photos AS (
    SELECT *, row_number() OVER (PARTITION BY user_id ORDER BY posted_at, id) - 1 AS author_photos_before
    FROM photos_src
), new_photos AS (
    SELECT * FROM photos WHERE posted_at >= {start}
), engagement AS (
    SELECT e.photo_id,
           count(*) FILTER (WHERE e.event = 'view') AS views_7d,
           count(*) FILTER (WHERE e.event = 'like') AS likes_7d
    FROM events e JOIN new_photos p ON p.id = e.photo_id
    WHERE e.ts < p.posted_at + INTERVAL 7 DAY
    GROUP BY e.photo_id
), talk AS (
    SELECT c.photo_id, count(*) AS comments_7d
    FROM comments_src c JOIN new_photos p ON p.id = c.photo_id
    WHERE c.created_at < p.posted_at + INTERVAL 7 DAY
    GROUP BY c.photo_id
), author AS (
    SELECT p.id AS photo_id, coalesce(sum(d.logins), 0) AS author_logins_7d
    FROM new_photos p LEFT JOIN user_daily d
      ON d.user_id = p.user_id
     AND d.day >= CAST(p.posted_at AS DATE) - 7 AND d.day < CAST(p.posted_at AS DATE)
    GROUP BY p.id
)
SELECT p.id AS photo_id, p.user_id, p.posted_at,
       hour(p.posted_at) AS posted_hour, isodow(p.posted_at) AS posted_dow,
       length(p.title) AS title_length, p.location IS NOT NULL AS has_location,
       p.exif IS NOT NULL AS has_exif, p.is_public,
       p.author_photos_before, a.author_logins_7d,
       l.model_version, l.content_label, l.content_score, l.style_label, l.style_score,
       coalesce(e.views_7d, 0) AS views_7d, coalesce(e.likes_7d, 0) AS likes_7d,
       coalesce(t.comments_7d, 0) AS comments_7d,
       p.posted_at + INTERVAL 7 DAY <= {end} AS complete_7d
FROM new_photos p
JOIN author a ON a.photo_id = p.id
LEFT JOIN labels l ON l.photo_id = p.id
LEFT JOIN engagement e ON e.photo_id = p.id
LEFT JOIN talk t ON t.photo_id = p.id
ORDER BY p.id
"""

_EVENT_COLUMNS = "{ts: 'TIMESTAMPTZ', user_id: 'BIGINT', photo_id: 'BIGINT', event: 'VARCHAR'}"


def _build_warehouse(path: Path, lake: Path, world: _World) -> dict[str, int]:
    """labels, user_daily and photo_features, read back from the lake as any user would."""
    def instant(ms: int) -> str:
        return f"TIMESTAMPTZ '{dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat()}'"

    with closing(_duckdb(str(path))) as con:
        con.register("photos_src", world.photos.table)
        con.register("comments_src", world.comments.table)
        con.execute(f"CREATE TABLE labels AS SELECT * FROM read_parquet({quote_literal(lake / 'labels' / '*.parquet')}) "
                    "ORDER BY photo_id")
        # Only the columns used below, in no particular order (every table is ORDER BY'd):
        # that keeps a 30-million-event log within a few GB of memory.
        con.execute("SET preserve_insertion_order = false")
        con.execute(
            "CREATE TEMP TABLE events AS SELECT * FROM read_json("
            f"{quote_literal(lake / 'events' / '**' / '*.jsonl')}, format = 'newline_delimited', "
            f"hive_partitioning = true, columns = {_EVENT_COLUMNS})"
        )
        con.execute(_USER_DAILY)
        con.execute(_PHOTO_FEATURES.format(start=instant(world.start), end=instant(world.end)))
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("user_daily", "photo_features")}
        con.execute("CHECKPOINT")
    return counts


# --------------------------------------------------------------------------- OLTP
def _ddl(dialect: str) -> tuple[list[str], list[str]]:
    """CREATE TABLE statements, and what to run after the bulk load (indexes, foreign keys)."""
    col = DIALECTS.index(dialect)
    creates = []
    for table, columns in SCHEMA.items():
        defs = [f"{name} {TYPES[kind][col]}{'' if nullable else ' NOT NULL'}{' PRIMARY KEY' if name == 'id' else ''}"
                for name, kind, nullable in columns]
        if dialect == "sqlite":  # SQLite cannot add a foreign key to an existing table
            defs += [f"FOREIGN KEY ({c}) REFERENCES {ref} (id)" for t, c, ref in FOREIGN_KEYS if t == table]
        options = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" if dialect == "mysql" else ""
        creates.append(f"CREATE TABLE {table} (\n  " + ",\n  ".join(defs) + f"\n){options}")
    after = [f"CREATE {'UNIQUE ' if unique else ''}INDEX {name} ON {table} ({', '.join(cols)})"
             for name, table, cols, unique in INDEXES]
    if dialect != "sqlite":
        after += [f"ALTER TABLE {t} ADD CONSTRAINT {t}_{c}_fkey FOREIGN KEY ({c}) REFERENCES {ref} (id)"
                  for t, c, ref in FOREIGN_KEYS]
    after += [f"ANALYZE {'TABLE ' if dialect == 'mysql' else ''}{t}" for t in SCHEMA]  # row estimates for the catalog
    return creates, after


_DROP = "DROP TABLE IF EXISTS comments, likes, photos, users"


def _load_oltp(target: _Target, world: _World, work: Path) -> Path | None:
    """Load the four tables; for SQLite into a temp file beside the target, returned for renaming."""
    if target.dialect == "sqlite":
        return _load_sqlite(target.path, world.tables)
    errors = _driver(target)[1]
    with closing(_connect(target)) as conn:
        try:
            if target.dialect == "postgresql":
                _load_postgres(conn, world.tables)
            else:
                _load_mysql(conn, world.tables, work, errors)
        except errors as e:
            raise SourceError(
                f"loading the demo tables into {target.display} failed: {_reason(e, target)}; "
                "check that this user may drop and create tables users, photos, likes and comments there"
            ) from None
    return None


def _load_sqlite(path: Path, tables: dict[str, pa.Table]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # beside the target: the rename stays on one disk
    tmp.unlink(missing_ok=True)
    creates, after = _ddl("sqlite")
    try:
        with closing(sqlite3.connect(tmp, isolation_level=None)) as con:
            con.execute("PRAGMA journal_mode = OFF")  # a failed build deletes the file: nothing to roll back
            con.execute("BEGIN")
            for stmt in creates:
                con.execute(stmt)
            for table, data in tables.items():
                insert = f"INSERT INTO {table} VALUES ({', '.join('?' * data.num_columns)})"
                for batch in data.to_batches(max_chunksize=100_000):
                    con.executemany(insert, zip(*(_sqlite_column(c).to_pylist() for c in batch.columns)))
            for stmt in after:
                con.execute(stmt)
            con.execute("COMMIT")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _utc_text(col: pa.Array, sep: str, suffix: str) -> pa.Array:
    """UTC timestamps as text: the date, ``sep``, the time to the millisecond, ``suffix``.

    Casting a zone-less timestamp to text is some 30 times faster in Arrow than
    formatting a zoned one, and the values are UTC either way."""
    text = pc.cast(pc.cast(col, pa.timestamp("ms")), pa.string())
    if sep != " ":
        text = pc.replace_substring(text, " ", sep)
    return _join(text, suffix) if suffix else text


def _sqlite_column(col: pa.Array) -> pa.Array:
    """SQLite's storage for a column: ISO-8601 text with offset, decimal and date text, 0/1."""
    if pa.types.is_timestamp(col.type):
        return _utc_text(col, "T", "+00:00")  # 2025-01-31T09:15:02.123+00:00
    if pa.types.is_decimal(col.type) or pa.types.is_date(col.type):
        return pc.cast(col, pa.string())
    if pa.types.is_boolean(col.type):
        return pc.cast(col, pa.int8())
    return col


def _csv(batch: pa.RecordBatch, timestamp_suffix: str) -> bytes:
    """CSV for a server's bulk loader: timestamps as UTC text, booleans as 0/1, NULL as nothing."""
    def column(col: pa.Array) -> pa.Array:
        if pa.types.is_timestamp(col.type):
            return _utc_text(col, " ", timestamp_suffix)
        return pc.cast(col, pa.int8()) if pa.types.is_boolean(col.type) else col

    buf = io.BytesIO()
    table = pa.table([column(c) for c in batch.columns], names=batch.schema.names)
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
    return buf.getvalue()


def _load_postgres(conn: Any, tables: dict[str, pa.Table]) -> None:
    """One transaction: readers see the old tables or the new ones, never a mix."""
    creates, after = _ddl("postgresql")
    with conn.cursor() as cur:
        cur.execute(_DROP)
        for stmt in creates:
            cur.execute(stmt)
        for table, data in tables.items():
            with cur.copy(f"COPY {table} ({', '.join(data.column_names)}) FROM STDIN (FORMAT csv)") as copy:
                for batch in data.to_batches(max_chunksize=100_000):
                    copy.write(_csv(batch, "+00"))
        for stmt in after:
            cur.execute(stmt)
    conn.commit()


def _load_mysql(conn: Any, tables: dict[str, pa.Table], work: Path, errors: type[Exception]) -> None:
    """LOAD DATA LOCAL INFILE from CSV files; MariaDB cannot roll DDL back, so a failure drops the tables."""
    creates, after = _ddl("mysql")
    with conn.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")  # the files' TIMESTAMP values are UTC
        cur.execute("SET foreign_key_checks = 0")  # as mysqldump does: keys are declared after the rows
        cur.execute(_DROP)
        try:
            for stmt in creates:
                cur.execute(stmt)
            for table, data in tables.items():
                _load_mysql_table(cur, table, data, work / f"{table}.csv")
            for stmt in after:
                cur.execute(stmt)
        except BaseException:
            with suppress(errors):  # the connection may be what failed; the original error matters
                cur.execute(_DROP)
            raise
    conn.commit()


def _load_mysql_table(cur: Any, table: str, data: pa.Table, path: Path) -> None:
    columns, nullable = [], []
    for name, _, can_be_null in SCHEMA[table]:
        columns.append(f"@{name}" if can_be_null else name)
        if can_be_null:  # an empty field is NULL; the generator writes no empty strings
            nullable.append(f"{name} = NULLIF(@{name}, '')")
    with path.open("wb") as f:
        for batch in data.to_batches(max_chunksize=100_000):
            f.write(_csv(batch, ""))  # the session's time_zone is UTC
    sql = (f"LOAD DATA LOCAL INFILE %s INTO TABLE {table} CHARACTER SET utf8mb4 "
           "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' ESCAPED BY '' LINES TERMINATED BY '\\n' "
           f"({', '.join(columns)})" + (f" SET {', '.join(nullable)}" if nullable else ""))
    loaded = cur.execute(sql, (str(path),))
    cur.execute("SHOW WARNINGS LIMIT 1")
    warning = cur.fetchone()
    path.unlink()
    if warning or loaded != data.num_rows:
        detail = warning[2] if warning else f"{loaded} of {data.num_rows} rows loaded"
        raise SourceError(
            f"MariaDB did not load demo table {table} faithfully: {detail}; check the server's sql_mode and charset"
        )


# --------------------------------------------------------------------------- servers
def _driver(target: _Target) -> tuple[Any, type[Exception], dict[str, Any]]:
    """The driver's connect function, its base error class and the arguments for ``target``."""
    url = target.url
    if target.dialect == "postgresql":
        import psycopg

        from .connectors.postgres.conninfo import conninfo

        dsn, _ = conninfo(url.render_as_string(hide_password=False), read_only=False, timeout=None,
                          application_name="workbench-demo")
        return psycopg.connect, psycopg.Error, {"conninfo": dsn, "client_encoding": "utf8"}
    import pymysql

    from .connectors.mysql import mysql_connect_args

    kwargs = mysql_connect_args(url.render_as_string(hide_password=False)) | {"local_infile": True}
    return pymysql.connect, pymysql.MySQLError, kwargs


def _connect(target: _Target) -> Any:
    """A DB-API connection to the server, or SourceError naming it (without its password)."""
    connect, errors, kwargs = _driver(target)
    try:
        return connect(**{k: v for k, v in kwargs.items() if v is not None})
    except errors as e:
        raise SourceError(
            f"cannot connect to {target.display}: {_reason(e, target)}; check that the server runs, "
            "the database exists and the URL is right"
        ) from None


def _reason(e: Exception, target: _Target) -> str:
    """The driver's message on one line, without the password even if the server echoed it."""
    password = target.url.password
    return clean(e, [str(password)] if password else [])


def _server_counts(target: _Target) -> dict[str, int] | None:
    """Rows per demo table in the server database, or None when a table is missing."""
    errors = _driver(target)[1]
    with closing(_connect(target)) as conn:
        cur = conn.cursor()
        counts = {}
        for table in SCHEMA:
            try:
                cur.execute(f"SELECT count(*) FROM {table}")
            except errors:  # no such table: the connection itself worked
                return None
            counts[table] = cur.fetchone()[0]
        return counts

