"""storage.atomic: a target is the old content or the new one, never a part, and no temp file stays."""

from __future__ import annotations

import pytest

from workbench.storage import atomic


def test_writing_replaces_whole_on_success(tmp_path):
    dest = tmp_path / "out.txt"
    dest.write_text("old")
    with atomic.writing(dest) as tmp:
        assert tmp.parent == dest.parent and atomic.is_temp(tmp, "out.txt")
        tmp.write_text("new")
        assert dest.read_text() == "old"  # nothing under the name until the rename
    assert dest.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path, error):
    dest = tmp_path / "out.txt"
    dest.write_text("old")
    with pytest.raises(type(error)):
        with atomic.writing(dest) as tmp:
            tmp.write_text("half")
            raise error
    assert dest.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_write_bytes_and_replace_helpers(tmp_path):
    atomic.write_bytes(tmp_path / "a.json", '{"x": 1}')
    assert (tmp_path / "a.json").read_text() == '{"x": 1}'
    db, new = tmp_path / "w.db", tmp_path / "w.new"
    db.write_text("old")
    (tmp_path / "w.db.wal").write_text("stale log")
    new.write_text("fresh")
    atomic.replace_file(new, db, stale=(".wal",))
    assert db.read_text() == "fresh" and not (tmp_path / "w.db.wal").exists()
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("old")
    (tmp_path / "n").mkdir()
    (tmp_path / "n" / "f").write_text("new")
    atomic.replace_dir(tmp_path / "n", tmp_path / "d", tmp_path / "trash")
    assert (tmp_path / "d" / "f").read_text() == "new" and (tmp_path / "trash" / "f").read_text() == "old"
