"""Chunked hashing, hashing while copying, and parallel hashing give the reference digests."""

from __future__ import annotations

import base64
import errno
import hashlib
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
import xxhash

from cairn.storage import hashing
from cairn.storage.hashing import (
    CHUNK_SIZE,
    OVERLAP_MIN_SIZE,
    copy_and_hash,
    hash_file,
    hash_files,
)

MiB = 1024 * 1024
SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE + 12345]


def reference(data: bytes, algorithm: str) -> str:
    raw = hashlib.md5(data).digest() if algorithm == "md5" else xxhash.xxh3_128(data).digest()
    return base64.standard_b64encode(raw).decode()


def payload(size: int) -> bytes:
    return (os.urandom(4096) * (size // 4096 + 1))[:size]


@pytest.mark.parametrize("algorithm", ["md5", "xxh128"])
@pytest.mark.parametrize("size", SIZES)
def test_hash_file_matches_reference(
    make_file: Callable[[str, bytes], Path], algorithm: str, size: int
) -> None:
    data = payload(size)
    path = make_file("f.bin", data)
    assert hash_file(path, algorithm) == (reference(data, algorithm), size)


def test_hash_file_known_md5_vector(make_file: Callable[[str, bytes], Path]) -> None:
    path = make_file("hello.txt", b"hello world\n")
    assert hash_file(path, "md5") == ("b1kCrCNwJL3QwXbLkwY9xA==", 12)


def test_hash_file_errors(tmp_path: Path, make_file: Callable[[str, bytes], Path]) -> None:
    with pytest.raises(FileNotFoundError):
        hash_file(tmp_path / "missing", "md5")
    with pytest.raises(IsADirectoryError):
        hash_file(tmp_path, "md5")
    with pytest.raises(ValueError, match="Unknown digest algorithm"):
        hash_file(make_file("a", b"a"), "sha1")


@pytest.mark.parametrize("algorithm", ["md5", "xxh128"])
@pytest.mark.parametrize("size", [0, 3 * CHUNK_SIZE + 7, OVERLAP_MIN_SIZE + 5 * CHUNK_SIZE + 7])
def test_copy_and_hash_copies_and_hashes(
    tmp_path: Path, make_file: Callable[[str, bytes], Path], algorithm: str, size: int
) -> None:
    data = payload(size)
    src = make_file("f.bin", data)
    dest = tmp_path / "copy.bin"
    assert copy_and_hash(src, dest, algorithm) == (reference(data, algorithm), size)
    assert dest.read_bytes() == data
    assert src.read_bytes() == data


def test_copy_and_hash_refuses_existing_dest(
    tmp_path: Path, make_file: Callable[[str, bytes], Path]
) -> None:
    src = make_file("f.bin", b"new")
    dest = tmp_path / "dest"
    dest.write_bytes(b"old")
    with pytest.raises(FileExistsError):
        copy_and_hash(src, dest, "md5")
    assert dest.read_bytes() == b"old"


def test_copy_and_hash_does_not_follow_symlink_dest(
    tmp_path: Path, make_file: Callable[[str, bytes], Path]
) -> None:
    src = make_file("f.bin", b"new")
    target = tmp_path / "target"
    target.write_bytes(b"old")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(FileExistsError):
        copy_and_hash(src, link, "md5")
    assert target.read_bytes() == b"old"


def test_copy_and_hash_missing_source_creates_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    with pytest.raises(FileNotFoundError):
        copy_and_hash(tmp_path / "missing", dest, "md5")
    assert not dest.exists()


def test_copy_and_hash_write_failure_midway_removes_dest(
    tmp_path: Path,
    make_file: Callable[[str, bytes], Path],
    file_size_limit: Callable[[int], AbstractContextManager[None]],
) -> None:
    src = make_file("big.bin", payload(3 * MiB))
    dest = tmp_path / "dest"
    with file_size_limit(MiB + MiB // 2), pytest.raises(OSError) as info:
        copy_and_hash(src, dest, "md5")
    assert info.value.errno == errno.EFBIG
    assert not dest.exists()


def test_hash_files_preserves_order(make_file: Callable[[str, bytes], Path]) -> None:
    datas = [payload(size) for size in (5, 0, CHUNK_SIZE + 3, 17, 4096, 1)]
    datas.append(datas[0])
    paths = [make_file(f"f{i}", data) for i, data in enumerate(datas)]
    expected = [(reference(data, "xxh128"), len(data)) for data in datas]
    assert hash_files(paths, "xxh128", workers=4) == expected
    assert hash_files(paths, "xxh128", workers=1) == expected
    assert hash_files(paths, "xxh128") == expected
    assert hash_files([], "md5") == []


def test_hash_files_raises_on_unreadable_file(
    tmp_path: Path, make_file: Callable[[str, bytes], Path]
) -> None:
    paths = [make_file("a", b"a"), tmp_path / "missing", make_file("b", b"b")]
    with pytest.raises(FileNotFoundError):
        hash_files(paths, "md5", workers=3)


def test_large_copy_flushed_in_the_background_is_whole(
    tmp_path: Path, make_file: Callable[[str, bytes], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A large copy fdatasyncs what it has written every _FLUSH_BYTES on a helper thread;
    # with a small interval a 21 MiB copy flushes many times and must still be exact.
    monkeypatch.setattr(hashing, "_FLUSH_BYTES", 2 * CHUNK_SIZE)
    data = payload(OVERLAP_MIN_SIZE + 5 * CHUNK_SIZE + 7)
    src = make_file("f.bin", data)
    dest = tmp_path / "copy.bin"
    assert copy_and_hash(src, dest, "md5") == (reference(data, "md5"), len(data))
    assert dest.read_bytes() == data
