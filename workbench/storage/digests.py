"""Content digests of local files, remembered while the file provably stays the same.

Fingerprints of files (the lake's Parquet/CSV/JSON files, the SQLite database file) are
content hashes, so that a file rewritten with the same bytes keeps its fingerprint (the
pipeline's early cut-off) and a file swapped for another one keeps nothing: ``cp -p``
keeps a file's mtime, but its bytes are read here.

Reading every byte on every call would be slow, so a digest is remembered under the
file's identity ``(device, inode, size, mtime_ns, ctime_ns)``. ``cp -p`` can set mtime
but not ctime (the kernel sets it on every change) nor reuse the inode of a live file,
so a remembered digest is reused only while all five are equal. One trap remains, the
one git calls "racy": timestamps advance in clock ticks (a few milliseconds on Linux),
so a write in the same tick as the stat leaves the identity unchanged. A digest is
therefore remembered only when the file's last change was at least
:data:`SETTLED_NS` before the stat that preceded the read; a file changed more recently
is read again on each call (git's own rule for its index).

Files another library locks with POSIX ``fcntl`` locks (a SQLite database) are read
with ``keep_open=True``: closing *any* descriptor of a file drops every fcntl lock the
process holds on it, so reading a SQLite file with open/read/close would silently
unlock a connection of this process to it (SQLite's own documentation warns of exactly
this). Such files are read through a descriptor that stays open for the process's
life, as SQLite itself keeps the descriptors of its closed connections.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

#: how long ago a file must have last changed for its digest to be remembered
SETTLED_NS = 2_000_000_000
_CHUNK = 1 << 20
_MEMO_MAX = 100_000  # identities remembered at most (old ones are never asked again)

_memo: dict[tuple, str] = {}
_memo_lock = threading.Lock()
#: (device, inode) -> a descriptor never closed (see the module docstring)
_kept: dict[tuple[int, int], int] = {}
_KEPT_MAX = 256


def identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    """What must stay equal for a file's bytes to be taken as unchanged."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def settled(st: os.stat_result, now_ns: int) -> bool:
    """Whether the file's last change is old enough that a write since would show in its stat."""
    return now_ns - max(st.st_mtime_ns, st.st_ctime_ns) >= SETTLED_NS


def _kept_fd(path: Path, st: os.stat_result) -> int:
    """A descriptor of the file ``st`` describes that is never closed (fcntl locks survive)."""
    key = (st.st_dev, st.st_ino)
    with _memo_lock:
        fd = _kept.get(key)
        if fd is None:
            fd = os.open(path, os.O_RDONLY)
            if (os.fstat(fd).st_dev, os.fstat(fd).st_ino) != key:  # replaced meanwhile: try again later
                _kept[(os.fstat(fd).st_dev, os.fstat(fd).st_ino)] = fd
                raise OSError("replaced while opened")
            if len(_kept) >= _KEPT_MAX:  # bounded; the oldest is a file long replaced, most likely
                os.close(_kept.pop(next(iter(_kept))))
            _kept[key] = fd
        return fd


def _read_kept(path: Path, st: os.stat_result, h) -> None:
    fd = _kept_fd(path, st)
    offset = 0
    while chunk := os.pread(fd, _CHUNK, offset):
        h.update(chunk)
        offset += len(chunk)


def file_digest(path: str | os.PathLike[str], *, prefix: bytes = b"", keep_open: bool = False) -> str | None:
    """BLAKE2b of ``prefix`` + the file's bytes (hex), or ``None`` when the file is
    missing, unreadable or changed while it was read (unknown, so "changed").
    ``keep_open``: read through a descriptor never closed (files with fcntl locks)."""
    path = Path(path)
    now = time.time_ns()
    try:
        before = os.stat(path)
    except OSError:
        return None
    key = (str(path), prefix, identity(before))
    with _memo_lock:
        known = _memo.get(key)
    if known is not None:
        return known
    h = hashlib.blake2b(prefix, digest_size=20)
    try:
        if keep_open:
            _read_kept(path, before, h)
        else:
            with open(path, "rb") as f:
                while chunk := f.read(_CHUNK):
                    h.update(chunk)
        after = os.stat(path)
    except OSError:
        return None
    if identity(after) != identity(before):
        return None  # written while we read it: unknown
    digest = h.hexdigest()
    if settled(before, now):
        with _memo_lock:
            if len(_memo) >= _MEMO_MAX:
                _memo.clear()
            _memo[key] = digest
    return digest


def forget() -> None:
    """Drop every remembered digest (tests, or a process that wants to re-read)."""
    with _memo_lock:
        _memo.clear()
