"""atomic_write: the target is either the old file or the complete new one."""

from __future__ import annotations

from pathlib import Path

import pytest

from autolearn._files import atomic_write


def test_atomic_write_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")
    assert atomic_write(target, lambda fh: fh.write(b"new content")) == target
    assert target.read_bytes() == b"new content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def half(fh) -> None:  # type: ignore[no-untyped-def]
        fh.write(b"half of the n")
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of a save

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, half)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_a_new_file_under_a_str_path_without_suffix(tmp_path: Path) -> None:
    atomic_write(str(tmp_path / "agent"), lambda fh: fh.write(b"x"))
    assert (tmp_path / "agent").read_bytes() == b"x"
