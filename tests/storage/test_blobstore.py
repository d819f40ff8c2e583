"""LocalBlobStore: content addressing, atomic publication, dedup, verification, errors."""

from __future__ import annotations

import errno
import os
import stat
import sys
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from cairn.core.digest import digest_bytes
from cairn.errors import CorruptionError, StoreError
from cairn.storage.local.blobs import PACK_MAX_BLOB, LocalBlobStore, StoredBlob

MiB = 1024 * 1024
HELLO = b"hello world\n"
HELLO_MD5 = "b1kCrCNwJL3QwXbLkwY9xA=="
MakeFile = Callable[[str, bytes], Path]


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def tmp_files(store: LocalBlobStore) -> list[str]:
    return os.listdir(store.root / "tmp")


def test_init_creates_root_and_tmp(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b" / "blobs"
    store = LocalBlobStore(root)
    assert store.root == root
    assert (root / "tmp").is_dir()
    assert tmp_files(store) == []


def test_init_root_is_a_file(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    root.write_text("not a dir")
    with pytest.raises(StoreError, match=str(root)) as info:
        LocalBlobStore(root)
    assert isinstance(info.value, OSError)
    assert root.read_text() == "not a dir"


def test_init_parent_is_a_file(tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    parent.write_text("x")
    with pytest.raises(StoreError, match=str(parent / "blobs")):
        LocalBlobStore(parent / "blobs")


def test_ingest_stores_read_only_blob_under_its_digest(
    store: LocalBlobStore, make_file: MakeFile
) -> None:
    src = make_file("hello.txt", HELLO)
    blob = store.ingest(src, "md5")
    expected_path = store.root / "md5" / "6f" / "5902ac237024bdd0c176cb93063dc4"
    assert blob == StoredBlob(digest=HELLO_MD5, algorithm="md5", size=12, path=expected_path)
    assert expected_path.read_bytes() == HELLO
    assert stat.S_IMODE(expected_path.stat().st_mode) == 0o444
    assert store.has(HELLO_MD5, "md5")
    assert store.path_for(HELLO_MD5, "md5") == expected_path
    assert src.read_bytes() == HELLO
    assert tmp_files(store) == []


def test_ingest_xxh128_and_large_file(store: LocalBlobStore, make_file: MakeFile) -> None:
    data = os.urandom(MiB) * 3 + b"tail"
    blob = store.ingest(make_file("big.bin", data), "xxh128")
    assert blob.digest == digest_bytes(data, "xxh128")
    assert blob.size == len(data)
    assert blob.path.relative_to(store.root).parts[0] == "xxh128"
    assert store.read_bytes(blob.digest, "xxh128") == data


def test_ingest_same_content_twice_dedups(store: LocalBlobStore, make_file: MakeFile) -> None:
    first = store.ingest(make_file("a", HELLO), "md5")
    inode = first.path.stat().st_ino
    second = store.ingest(make_file("b", HELLO), "md5")
    assert second == first
    assert second.path.stat().st_ino == inode
    assert [blob[0] for blob in store.iter_blobs()] == ["md5"]
    assert tmp_files(store) == []


def test_ingest_empty_file(store: LocalBlobStore, make_file: MakeFile) -> None:
    blob = store.ingest(make_file("empty", b""), "md5")
    assert blob.digest == "1B2M2Y8AsgTpgAmY7PhCfg=="
    assert blob.size == 0
    assert blob.path.read_bytes() == b""


def test_ingest_missing_source_leaves_nothing(store: LocalBlobStore, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        store.ingest(tmp_path / "missing", "md5")
    assert tmp_files(store) == []
    assert list(store.iter_blobs()) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc/self/mem")
def test_ingest_source_raising_on_read_leaves_nothing(store: LocalBlobStore) -> None:
    # /proc/self/mem opens fine but reading offset 0 fails with EIO, after the tmp exists.
    with pytest.raises(OSError) as info:
        store.ingest(Path("/proc/self/mem"), "md5")
    assert info.value.errno == errno.EIO
    assert tmp_files(store) == []
    assert list(store.iter_blobs()) == []


def test_ingest_write_failure_midway_leaves_nothing(
    store: LocalBlobStore,
    make_file: MakeFile,
    file_size_limit: Callable[[int], AbstractContextManager[None]],
) -> None:
    data = os.urandom(3 * MiB)
    src = make_file("big.bin", data)
    final = store.path_for(digest_bytes(data), "md5")
    with file_size_limit(MiB + MiB // 2), pytest.raises(OSError) as info:
        store.ingest(src, "md5")
    assert info.value.errno == errno.EFBIG
    assert not final.exists()
    assert tmp_files(store) == []
    assert store.ingest(src, "md5").path == final


def test_ingest_many_preserves_order_and_reports_progress(
    store: LocalBlobStore, make_file: MakeFile
) -> None:
    datas = [f"file {i}".encode() * (i + 1) for i in range(20)]
    datas += [datas[3], b""]
    srcs = [make_file(f"f{i}", data) for i, data in enumerate(datas)]
    calls: list[tuple[int, int]] = []
    blobs = store.ingest_many(
        srcs, "md5", workers=4, on_progress=lambda done, total: calls.append((done, total))
    )
    assert [blob.digest for blob in blobs] == [digest_bytes(data) for data in datas]
    assert [blob.path.read_bytes() for blob in blobs] == datas
    # Small files are reported a chunk at a time: counts only grow, up to all of them.
    done = [count for count, _total in calls]
    assert done == sorted(set(done))
    assert calls[-1] == (len(datas), len(datas))
    assert {total for _done, total in calls} == {len(datas)}
    assert len(list(store.iter_blobs())) == 21
    assert tmp_files(store) == []


def test_ingest_many_serial_and_empty(store: LocalBlobStore, make_file: MakeFile) -> None:
    srcs = [make_file("a", b"a"), make_file("b", b"b")]
    calls: list[tuple[int, int]] = []
    blobs = store.ingest_many(
        srcs, "xxh128", workers=1, on_progress=lambda d, t: calls.append((d, t))
    )
    assert [blob.digest for blob in blobs] == [
        digest_bytes(b"a", "xxh128"),
        digest_bytes(b"b", "xxh128"),
    ]
    assert calls == [(2, 2)]  # both small: packed, and reported together
    assert store.ingest_many([], "md5") == []


def test_ingest_many_raises_and_cleans_up(
    store: LocalBlobStore, make_file: MakeFile, tmp_path: Path
) -> None:
    srcs = [make_file(f"f{i}", bytes([i])) for i in range(8)]
    srcs.insert(4, tmp_path / "missing")
    with pytest.raises(FileNotFoundError):
        store.ingest_many(srcs, "md5", workers=3)
    assert tmp_files(store) == []
    for _algorithm, _hex, path in store.iter_blobs():
        assert stat.S_IMODE(path.stat().st_mode) == 0o444


def test_concurrent_ingest_of_same_content(store: LocalBlobStore, make_file: MakeFile) -> None:
    data = os.urandom(256 * 1024)
    srcs = [make_file(f"copy{i}", data) for i in range(8)]
    results: list[StoredBlob] = []
    barrier = threading.Barrier(len(srcs))

    def worker(src: Path) -> None:
        barrier.wait()
        results.append(store.ingest(src, "md5"))

    threads = [threading.Thread(target=worker, args=(src,)) for src in srcs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert len({blob.path for blob in results}) == 1
    assert results[0].path.read_bytes() == data
    assert tmp_files(store) == []


def test_put_verifies_digest(store: LocalBlobStore, make_file: MakeFile) -> None:
    blob = store.put(make_file("hello", HELLO), HELLO_MD5, "md5")
    assert blob.path.read_bytes() == HELLO
    assert blob.size == 12
    # Already stored: the source is still checked, the blob kept.
    assert store.put(make_file("again", HELLO), HELLO_MD5, "md5") == blob


def test_put_digest_mismatch_stores_nothing(store: LocalBlobStore, make_file: MakeFile) -> None:
    other = digest_bytes(b"something else")
    with pytest.raises(CorruptionError, match="expected") as info:
        store.put(make_file("hello", HELLO), other, "md5")
    assert isinstance(info.value, ValueError)
    assert not store.has(other, "md5")
    assert not store.has(HELLO_MD5, "md5")
    assert list(store.iter_blobs()) == []
    assert tmp_files(store) == []


def test_put_mismatch_against_existing_blob_keeps_it(
    store: LocalBlobStore, make_file: MakeFile
) -> None:
    store.put_bytes(HELLO)
    with pytest.raises(CorruptionError):
        store.put(make_file("bad", b"not hello"), HELLO_MD5, "md5")
    assert store.read_bytes(HELLO_MD5, "md5") == HELLO
    assert not store.has(digest_bytes(b"not hello"), "md5")


def test_put_source_truncated_midway_is_corruption(
    store: LocalBlobStore, make_file: MakeFile
) -> None:
    data = os.urandom(2 * MiB)
    src = make_file("f", data)
    digest = digest_bytes(data)
    src.write_bytes(data[: MiB // 2])  # the file changed after it was hashed
    with pytest.raises(CorruptionError):
        store.put(src, digest, "md5")
    assert not store.has(digest, "md5")
    assert tmp_files(store) == []


def test_put_rejects_invalid_digest(store: LocalBlobStore, make_file: MakeFile) -> None:
    with pytest.raises(ValueError, match="Not a md5 digest"):
        store.put(make_file("a", b"a"), "../../etc/passwd", "md5")
    assert tmp_files(store) == []


def test_put_many_checked_packs_small_blobs_once_and_leaves_no_temporary_file(
    store: LocalBlobStore,
) -> None:
    store.put_bytes(b"stored before")
    large = os.urandom(PACK_MAX_BLOB + 1)
    blobs = [
        (b"one", "md5"),
        (b"two", "xxh128"),
        (b"one", "md5"),
        (b"stored before", "md5"),
        (large, "md5"),
    ]
    store.put_many_checked([(data, digest_bytes(data, alg), alg) for data, alg in blobs])
    for data, algorithm in blobs:
        assert store.read_bytes(digest_bytes(data, algorithm), algorithm) == data
    # the small new ones in one pack (each once), the large one loose and read-only
    packed = sorted((alg, digest) for alg, digest, _where in store.packs.items())
    assert packed == sorted(
        [("md5", digest_bytes(b"one")), ("xxh128", digest_bytes(b"two", "xxh128"))]
    )
    assert len(list(store.packs.dir.glob("*.pack"))) == 1
    assert stat.S_IMODE(store.path_for(digest_bytes(large), "md5").stat().st_mode) == 0o444
    assert not store.path_for(digest_bytes(b"one"), "md5").exists()
    assert list(store.tmp_dir.iterdir()) == []
    # a second batch of the same blobs writes nothing
    store.put_many_checked([(data, digest_bytes(data, alg), alg) for data, alg in blobs])
    assert len(list(store.packs.dir.glob("*.pack"))) == 1


def test_put_many_checked_failure_leaves_no_partial_blob(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_write(fd: int, data: bytes) -> None:
        if data.startswith(b"second"):
            os.write(fd, data[:3])
            raise OSError(errno.ENOSPC, "No space left on device")
        os.write(fd, data)

    monkeypatch.setattr("cairn.storage.local.blobs.write_all", failing_write)
    second = b"second".ljust(PACK_MAX_BLOB + 1, b"x")
    with pytest.raises(OSError, match="No space"):
        store.put_many_checked([(b, digest_bytes(b), "md5") for b in (b"first", second)])
    assert not store.has(digest_bytes(second), "md5")
    assert list(store.tmp_dir.iterdir()) == []


def test_put_many_checked_failing_pack_leaves_nothing_visible(
    store: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr("cairn.storage.local.packs.os.fsync", failing_fsync)
    blobs = [b"first", b"second"]
    with pytest.raises(OSError, match="I/O error"):
        store.put_many_checked([(b, digest_bytes(b), "md5") for b in blobs])
    assert store.missing([(digest_bytes(b), "md5") for b in blobs]) == {
        (digest_bytes(b), "md5") for b in blobs
    }
    assert list(store.tmp_dir.iterdir()) == []
    assert list(store.packs.dir.glob("*")) == []


def test_put_bytes_and_read_bytes(store: LocalBlobStore) -> None:
    blob = store.put_bytes(HELLO)
    assert blob.digest == HELLO_MD5
    assert blob.algorithm == "md5"
    assert store.read_bytes(HELLO_MD5, "md5") == HELLO
    assert stat.S_IMODE(blob.path.stat().st_mode) == 0o444
    assert store.put_bytes(HELLO) == blob
    xblob = store.put_bytes(b"", "xxh128")
    assert xblob.path.read_bytes() == b""
    assert tmp_files(store) == []


def test_read_bytes_missing(store: LocalBlobStore) -> None:
    with pytest.raises(FileNotFoundError):
        store.read_bytes(HELLO_MD5, "md5")
    with pytest.raises(ValueError):
        store.read_bytes("nope", "md5")


def test_copy_to_writes_writable_regular_file(store: LocalBlobStore, tmp_path: Path) -> None:
    data = os.urandom(MiB + 5)
    blob = store.put_bytes(data)
    dest = tmp_path / "out" / "file.bin"
    dest.parent.mkdir()
    store.copy_to(blob.digest, "md5", dest)
    assert dest.read_bytes() == data
    info = dest.lstat()
    assert stat.S_ISREG(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o644
    assert info.st_ino != blob.path.stat().st_ino
    dest.write_bytes(b"edited")  # the copy is independent of the blob
    assert store.read_bytes(blob.digest, "md5") == data


def test_copy_to_refuses_existing_dest_and_symlink(store: LocalBlobStore, tmp_path: Path) -> None:
    store.put_bytes(HELLO)
    dest = tmp_path / "dest"
    dest.write_bytes(b"keep")
    with pytest.raises(FileExistsError):
        store.copy_to(HELLO_MD5, "md5", dest)
    assert dest.read_bytes() == b"keep"
    target = tmp_path / "target"
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(FileExistsError):
        store.copy_to(HELLO_MD5, "md5", link)
    assert not target.exists()


def test_copy_to_missing_blob(store: LocalBlobStore, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    with pytest.raises(FileNotFoundError):
        store.copy_to(HELLO_MD5, "md5", dest)
    assert not dest.exists()


def test_iter_blobs_lists_only_blobs(store: LocalBlobStore) -> None:
    md5_blob = store.put_bytes(HELLO)
    xxh_blob = store.put_bytes(HELLO, "xxh128")
    (store.root / "tmp" / "123-4-abc.tmp").write_bytes(b"partial")
    (store.root / "md5" / "6f" / "junk").write_bytes(b"junk")
    (store.root / "md5" / "README").write_bytes(b"junk")
    (store.root / "other").mkdir()
    listed = list(store.iter_blobs())
    assert listed == [
        ("md5", "6f5902ac237024bdd0c176cb93063dc4", md5_blob.path),
        ("xxh128", xxh_blob.path.parent.name + xxh_blob.path.name, xxh_blob.path),
    ]
    assert list(LocalBlobStore(store.root / "empty").iter_blobs()) == []


def test_verify_detects_corruption(store: LocalBlobStore) -> None:
    blob = store.put_bytes(HELLO)
    assert store.verify(HELLO_MD5, "md5")
    assert not store.verify(digest_bytes(b"absent"), "md5")
    os.chmod(blob.path, 0o644)
    blob.path.write_bytes(b"hello world!")
    assert not store.verify(HELLO_MD5, "md5")


def test_cleanup_tmp_removes_only_old_files(store: LocalBlobStore) -> None:
    old = store.root / "tmp" / "1-1-old.tmp"
    new = store.root / "tmp" / "1-1-new.tmp"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    past = time.time() - 3600
    os.utime(old, (past, past))
    blob = store.put_bytes(HELLO)
    assert store.cleanup_tmp(600) == 1
    assert not old.exists()
    assert new.exists()
    assert blob.path.exists()
    assert store.cleanup_tmp(0) == 1
    assert tmp_files(store) == []


def test_adopt_moves_a_written_file_into_place_once(store: LocalBlobStore, tmp_path: Path) -> None:
    digest = digest_bytes(b"joined parts")
    first = store.tmp_dir / "joined-1"
    first.write_bytes(b"joined parts")
    blob = store.adopt(first, digest, "md5")
    assert blob.path == store.path_for(digest, "md5") and not first.exists()
    assert store.read_bytes(digest, "md5") == b"joined parts"
    assert not os.stat(blob.path).st_mode & 0o222
    again = store.tmp_dir / "joined-2"  # the same bytes again: dropped, the blob kept
    again.write_bytes(b"joined parts")
    assert store.adopt(again, digest, "md5").size == 12 and not again.exists()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"x")
    with pytest.raises(ValueError, match="Not a temporary file"):
        store.adopt(elsewhere, digest_bytes(b"x"), "md5")
    assert elsewhere.exists() and not store.has(digest_bytes(b"x"), "md5")
