"""Nothing half-written: a file or folder appears under its name only when complete.

Every writer of workbench (export, the lake snapshot of a sync and its watermark, a
report's publish and ``latest`` pointer, the index page, the demo build) writes beside
its target and renames into place, so a failure or a SIGKILL at any moment leaves
either the old state or the new one. One set of helpers, so they all do it the same
way: the temp file lives in the target's folder (a rename never crosses a disk), is
named ``.<target>.<random>.part`` (sweepers know what to remove), and is fsynced
before the rename, the folder after it.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

TEMP_SUFFIX = ".part"


def is_temp(path: Path, of: str | None = None) -> bool:
    """Whether ``path`` is one of our temp files (of target name ``of``, if given)."""
    name = path.name
    return name.startswith(f".{of}." if of else ".") and name.endswith(TEMP_SUFFIX)


def temp_beside(dest: Path) -> Path:
    """A new empty temp file in ``dest``'s folder (created, so the name is ours)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=TEMP_SUFFIX)
    os.close(fd)
    return Path(tmp)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(tmp: Path, dest: Path) -> None:
    """fsync ``tmp``, rename it over ``dest``, fsync the folder."""
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, dest)
    fsync_dir(dest.parent)


@contextmanager
def writing(dest: str | os.PathLike[str]) -> Iterator[Path]:
    """A temp path to write ``dest``'s content into; renamed over ``dest`` on success,
    removed on any failure (``KeyboardInterrupt`` included)."""
    dest = Path(dest)
    tmp = temp_beside(dest)
    try:
        yield tmp
        commit(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``path`` whole or not at all."""
    with writing(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def replace_file(new: Path, dest: Path, stale: tuple[str, ...] = ()) -> None:
    """Rename the complete file ``new`` over ``dest``; first remove ``dest``'s sidecars
    named by ``stale`` suffixes (a leftover write-ahead log must not be replayed into
    the new database)."""
    for suffix in stale:
        dest.with_name(dest.name + suffix).unlink(missing_ok=True)
    os.replace(new, dest)


def replace_dir(new: Path, dest: Path, trash: Path) -> None:
    """Put the complete folder ``new`` at ``dest``. A folder cannot be renamed over a
    non-empty one, so the old one is moved to ``trash`` first (the caller removes it)."""
    if dest.exists():
        dest.rename(trash)
    new.rename(dest)
