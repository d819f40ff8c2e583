"""Placing files without copying bytes: reflink (or an honest "unsupported") and hard links."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cairn.storage.local.placing import copy_file, hard_link, reflink


def test_reflink_clones_or_declines_leaving_nothing(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"blob bytes" * 1000)
    src.chmod(0o444)
    dest = tmp_path / "dest"
    if reflink(src, dest):  # btrfs, XFS, ...: an independent, writable copy-on-write clone
        assert dest.read_bytes() == src.read_bytes()
        assert os.stat(dest).st_mode & 0o777 == 0o644
        assert os.stat(dest).st_ino != os.stat(src).st_ino
        dest.write_bytes(b"changed")
        assert src.read_bytes() == b"blob bytes" * 1000
    else:  # ext4, tmpfs, ...: nothing is left behind for the caller's copy
        assert not dest.exists()


def test_reflink_refuses_an_existing_destination_and_a_missing_source(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"x")
    existing = tmp_path / "existing"
    existing.write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        reflink(src, existing)
    assert existing.read_bytes() == b"keep"
    with pytest.raises(FileNotFoundError):
        reflink(tmp_path / "missing", tmp_path / "d")


def test_hard_link_shares_the_read_only_inode(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"shared")
    src.chmod(0o444)
    dest = tmp_path / "dest"
    assert hard_link(src, dest)
    assert os.stat(dest).st_ino == os.stat(src).st_ino
    assert os.stat(dest).st_mode & 0o777 == 0o444
    with pytest.raises(FileExistsError):
        hard_link(src, dest)


def test_copy_file_copies_without_following_or_overwriting(tmp_path: Path) -> None:
    src = tmp_path / "src"
    data = os.urandom(3 * 1024 * 1024 + 17)
    src.write_bytes(data)
    src.chmod(0o444)
    dest = tmp_path / "dest"
    copy_file(src, dest)
    assert dest.read_bytes() == data
    assert os.stat(dest).st_mode & 0o777 == 0o644
    assert os.stat(dest).st_ino != os.stat(src).st_ino
    with pytest.raises(FileExistsError):
        copy_file(src, dest)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    link = tmp_path / "link"
    link.symlink_to(victim)
    with pytest.raises(FileExistsError):
        copy_file(src, link)
    assert victim.read_bytes() == b"precious"
    with pytest.raises(FileNotFoundError):
        copy_file(tmp_path / "missing", tmp_path / "d")
    assert not (tmp_path / "d").exists()
