"""Packed small blobs: ingest_many packs them, every read serves them, crashes hide nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from cairn.core.digest import b64_to_hex, digest_bytes
from cairn.errors import CorruptionError
from cairn.storage.local.blobs import PACK_MAX_BLOB, LocalBlobStore
from cairn.storage.local.packs import PACKS_DIR, PackTable, decode_index, encode_index


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def make_files(root: Path, contents: list[bytes]) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, data in enumerate(contents):
        path = root / f"f{index:03d}.bin"
        path.write_bytes(data)
        paths.append(path)
    return paths


def loose_files(store: LocalBlobStore) -> list[Path]:
    return [
        Path(root) / name
        for root, _dirs, names in os.walk(store.root)
        if not Path(root).is_relative_to(store.root / "tmp")
        and not Path(root).is_relative_to(store.root / PACKS_DIR)
        for name in names
    ]


def test_small_blobs_go_into_one_pack_and_read_back(store: LocalBlobStore, tmp_path: Path) -> None:
    contents = [f"file {i}\n".encode() * (i + 1) for i in range(50)]
    sources = make_files(tmp_path / "src", contents)
    blobs = store.ingest_many(sources, "md5", workers=3)

    assert [b.digest for b in blobs] == [digest_bytes(c) for c in contents]
    assert [b.size for b in blobs] == [len(c) for c in contents]
    assert [b.path for b in blobs] == sources  # packed bytes have no file of their own
    assert loose_files(store) == []
    assert sorted(p.suffix for p in (store.root / PACKS_DIR).iterdir()) == [".idx", ".pack"]
    assert os.listdir(store.tmp_dir) == []

    reopened = LocalBlobStore(store.root)  # another process sees the published pack
    for blob, data in zip(blobs, contents, strict=True):
        assert reopened.has(blob.digest, "md5")
        assert reopened.read_bytes(blob.digest, "md5") == data
        assert reopened.verify(blob.digest, "md5")
        dest = tmp_path / "out" / blob.digest.replace("/", "_")
        dest.parent.mkdir(exist_ok=True)
        reopened.copy_to(blob.digest, "md5", dest)
        assert dest.read_bytes() == data
        assert dest.stat().st_mode & 0o777 == 0o644
    listed = {(alg, hex_digest) for alg, hex_digest, _path in reopened.iter_blobs()}
    assert listed == {("md5", b64_to_hex(b.digest)) for b in blobs}


def test_many_files_with_repeats_across_chunks_and_packs(
    store: LocalBlobStore, tmp_path: Path
) -> None:
    # 700 files (chunks of 256): contents repeat within a chunk and across chunks, 100 of
    # them are packed already, and one large file sits among them.
    earlier = [f"content {i}\n".encode() for i in range(100)]
    store.ingest_many(make_files(tmp_path / "earlier", earlier), "md5", workers=2)
    contents = [f"content {i % 300}\n".encode() for i in range(700)]
    contents[5] = b"x" * (PACK_MAX_BLOB + 1)
    sources = make_files(tmp_path / "src", contents)
    packs_before = set((store.root / PACKS_DIR).iterdir())

    blobs = store.ingest_many(sources, "md5", workers=2)

    assert [b.digest for b in blobs] == [digest_bytes(c) for c in contents]
    assert [b.size for b in blobs] == [len(c) for c in contents]
    new_packs = set((store.root / PACKS_DIR).iterdir()) - packs_before
    new_index = next(p for p in new_packs if p.suffix == ".idx")
    records = list(decode_index(new_index.read_bytes(), "new"))
    assert len(records) == 200  # each content not packed before, once (the large one: loose)
    reopened = LocalBlobStore(store.root)
    for data in set(contents):
        assert reopened.read_bytes(digest_bytes(data), "md5") == data


def test_large_files_stay_loose_and_duplicates_are_stored_once(
    store: LocalBlobStore, tmp_path: Path
) -> None:
    big = os.urandom(PACK_MAX_BLOB + 1)
    small = b"same bytes"
    sources = make_files(tmp_path / "src", [small, big, small])
    blobs = store.ingest_many(sources, "xxh128")
    assert blobs[0].digest == blobs[2].digest
    assert blobs[1].path == store.path_for(blobs[1].digest, "xxh128")
    assert loose_files(store) == [blobs[1].path]
    # Ingesting the same files again adds no pack: all blobs are known.
    store.ingest_many(sources, "xxh128")
    assert len(list((store.root / PACKS_DIR).glob("*.pack"))) == 1
    assert store.read_bytes(blobs[0].digest, "xxh128") == small
    assert sorted(alg for alg, _hex, _path in store.iter_blobs()) == ["xxh128", "xxh128"]


def test_put_and_put_bytes_see_packed_blobs(store: LocalBlobStore, tmp_path: Path) -> None:
    (source,) = make_files(tmp_path / "src", [b"packed"])
    (blob,) = store.ingest_many([source], "md5")
    again = store.put(source, blob.digest, "md5")  # already stored: only checked
    assert again.digest == blob.digest
    assert loose_files(store) == []
    store.put_bytes(b"packed")
    assert loose_files(store) == []
    other = tmp_path / "other.bin"
    other.write_bytes(b"not the same")
    with pytest.raises(CorruptionError):
        store.put(other, blob.digest, "md5")


def test_missing_blob_reads(store: LocalBlobStore, tmp_path: Path) -> None:
    absent = digest_bytes(b"never stored")
    assert not store.has(absent, "md5")
    assert not store.verify(absent, "md5")
    with pytest.raises(FileNotFoundError):
        store.read_bytes(absent, "md5")
    with pytest.raises(FileNotFoundError):
        store.copy_to(absent, "md5", tmp_path / "x")
    with pytest.raises(ValueError):
        store.has("not-a-digest", "md5")


def test_corrupt_packed_blob_fails_verify(store: LocalBlobStore, tmp_path: Path) -> None:
    (source,) = make_files(tmp_path / "src", [b"x" * 1000])
    (blob,) = store.ingest_many([source], "md5")
    (pack,) = (store.root / PACKS_DIR).glob("*.pack")
    os.chmod(pack, 0o644)
    with open(pack, "r+b") as handle:
        handle.write(b"y")
    assert not LocalBlobStore(store.root).verify(blob.digest, "md5")


def test_index_round_trip_and_damage_detection() -> None:
    records = [("md5", b"\x01" * 16, 0, 10), ("xxh128", b"\x02" * 16, 10, 5)]
    data = encode_index(records)
    assert list(decode_index(data, "i")) == [(0, b"\x01" * 16, 0, 10), (1, b"\x02" * 16, 10, 5)]
    with pytest.raises(CorruptionError, match="corrupt"):
        decode_index(data[:-1] + bytes([data[-1] ^ 1]), "i")
    with pytest.raises(CorruptionError, match="truncated"):
        decode_index(data[:10], "i")


def test_failed_ingest_publishes_nothing(store: LocalBlobStore, tmp_path: Path) -> None:
    sources = make_files(tmp_path / "src", [b"a", b"b"])
    with pytest.raises(FileNotFoundError):
        store.ingest_many([*sources, tmp_path / "missing.bin"], "md5")
    assert not (store.root / PACKS_DIR).exists() or list((store.root / PACKS_DIR).iterdir()) == []
    assert os.listdir(store.tmp_dir) == []


KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from cairn.storage.local import packs
from cairn.storage.local.blobs import LocalBlobStore
store = LocalBlobStore(Path(sys.argv[1]))
real_replace = os.replace
def die_before_index(src, dst):
    real_replace(src, dst)
    if str(dst).endswith(".pack"):
        os.kill(os.getpid(), signal.SIGKILL)
packs.os.replace = die_before_index
store.ingest_many([Path(p) for p in sys.argv[2:]], "md5")
"""


def test_kill_between_pack_and_index_leaves_nothing_visible(
    store: LocalBlobStore, tmp_path: Path
) -> None:
    sources = make_files(tmp_path / "src", [b"one", b"two"])
    child = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(store.root), *map(str, sources)],
        capture_output=True,
        text=True,
    )
    assert child.returncode == -9, child.stderr
    fresh = LocalBlobStore(store.root)
    assert not fresh.has(digest_bytes(b"one"), "md5")
    assert list(fresh.iter_blobs()) == []
    (orphan,) = fresh.packs.orphan_packs()
    assert fresh.cleanup_tmp(older_than_seconds=-1) == 1
    assert not orphan.exists()
    assert fresh.ingest_many(sources, "md5")[0].digest == digest_bytes(b"one")
    assert fresh.read_bytes(digest_bytes(b"two"), "md5") == b"two"


def test_threads_reading_a_fresh_store_all_find_packed_blobs(
    store: LocalBlobStore, tmp_path: Path
) -> None:
    contents = [f"blob {i}".encode() for i in range(2000)]
    blobs = store.ingest_many(make_files(tmp_path / "src", contents), "md5")
    reader = LocalBlobStore(store.root)  # nothing loaded yet: threads race to load
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(lambda b: reader.read_bytes(b.digest, "md5"), blobs))
    assert found == contents


def test_files_that_changed_size_since_their_stat_are_read_whole(
    store: LocalBlobStore, tmp_path: Path
) -> None:
    # The sizes a caller passes come from an earlier stat: a file may have grown or shrunk.
    contents = [b"a" * 100, b"grown after its stat" * 50, b"shrunk", b"", b"z" * 7, b"y" * 8, b"1"]
    sources = make_files(tmp_path / "src", contents)
    stale_sizes = [100, 20, 600, 0, 7, 7, 0]  # the last two grew by exactly one byte
    blobs = store.ingest_many(sources, "md5", workers=2, sizes=stale_sizes)

    assert [b.digest for b in blobs] == [digest_bytes(c) for c in contents]
    assert [b.size for b in blobs] == [len(c) for c in contents]
    for blob, data in zip(blobs, contents, strict=True):
        assert store.read_bytes(blob.digest, "md5") == data


def test_table_answers_presence_and_splits_refs_by_pack(
    store: LocalBlobStore, tmp_path: Path
) -> None:
    packed = store.ingest_many(make_files(tmp_path / "a", [b"one", b"two"]), "md5")
    loose = store.put_bytes(b"x" * (PACK_MAX_BLOB + 1))
    absent = digest_bytes(b"never stored")
    table = store.packs

    assert table.holds("md5", packed[0].digest)
    assert not table.holds("md5", loose.digest)
    assert not table.holds("xxh128", packed[0].digest)
    refs = [(packed[0].digest, "md5"), (loose.digest, "md5"), (absent, "md5")]
    packs, rest = table.split_packed([*refs, (packed[1].digest, "md5")])
    assert packs == {store.packs.lookup("md5", packed[0].digest)[0]}  # type: ignore[index]
    assert rest == refs[1:]
    with pytest.raises(ValueError, match="Unknown digest algorithm"):
        table.holds("sha1", packed[0].digest)


def test_a_few_files_are_deduplicated_without_loading_the_indexes(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    first = LocalBlobStore(root).ingest_many(
        make_files(tmp_path / "a", [f"blob {i}".encode() for i in range(100)]), "md5"
    )
    (pack,) = (root / PACKS_DIR).glob("*.pack")
    os.utime(pack, (1, 1))

    fresh = LocalBlobStore(root)  # another process: nothing loaded
    again = fresh.ingest_many(make_files(tmp_path / "b", [b"blob 7", b"blob 99", b"new"]), "md5")
    assert [b.digest for b in again] == [first[7].digest, first[99].digest, digest_bytes(b"new")]
    assert fresh.packs.peek("md5", first[7].digest) is None  # found without being loaded
    assert pack.stat().st_mtime > 1  # the pack holding them was marked as used
    published = sorted((root / PACKS_DIR).glob("*.idx"))
    assert len(published) == 2
    new_index = next(path for path in published if path.with_suffix(".pack") != pack)
    records = list(decode_index(new_index.read_bytes(), "new"))
    assert [raw for _alg, raw, _offset, _size in records] == [
        bytes.fromhex(b64_to_hex(again[2].digest))
    ]
    for blob, data in zip(again, [b"blob 7", b"blob 99", b"new"], strict=True):
        assert LocalBlobStore(root).read_bytes(blob.digest, "md5") == data


def test_probe_only_matches_a_digest_where_a_record_starts(tmp_path: Path) -> None:
    packs_dir = tmp_path / PACKS_DIR
    packs_dir.mkdir()
    wanted = bytes(range(16))
    # Two records whose offset and size fields spell ``wanted``, and a digest in the
    # other algorithm: none of them is ``wanted`` as an MD5 digest.
    offset, size = int.from_bytes(wanted[:8], "little"), int.from_bytes(wanted[8:], "little")
    records = [("md5", b"\xaa" * 16, offset, size), ("xxh128", wanted, 0, 1)]
    (packs_dir / "pack-x.idx").write_bytes(encode_index(records))
    table = PackTable(packs_dir)
    assert table.probe("md5", [wanted]) == {}
    assert table.probe("xxh128", [wanted]) == {wanted: (packs_dir / "pack-x.pack", 0, 1)}
    (packs_dir / "pack-y.idx").write_bytes(encode_index([("md5", wanted, 5, 6)]))
    assert table.probe("md5", [wanted, b"\x01" * 16]) == {wanted: (packs_dir / "pack-y.pack", 5, 6)}
    (packs_dir / "pack-z.idx").write_bytes(b"CAIRNIX1 and then nonsense")
    with pytest.raises(CorruptionError, match=r"pack-z\.idx"):
        table.probe("md5", [b"\x02" * 16])


def test_probe_reloads_when_a_loaded_index_is_gone(tmp_path: Path) -> None:
    packs_dir = tmp_path / PACKS_DIR
    packs_dir.mkdir()
    digest = bytes(16)
    (packs_dir / "pack-a.idx").write_bytes(encode_index([("md5", digest, 0, 3)]))
    table = PackTable(packs_dir)
    table.refresh()
    assert table.probe("md5", [digest]) == {digest: (packs_dir / "pack-a.pack", 0, 3)}
    # The collector rewrote the pack: its blob is now elsewhere, or gone.
    (packs_dir / "pack-a.idx").unlink()
    assert table.probe("md5", [digest]) == {}
    (packs_dir / "pack-b.idx").write_bytes(encode_index([("md5", digest, 9, 3)]))
    assert table.probe("md5", [digest]) == {digest: (packs_dir / "pack-b.pack", 9, 3)}


def test_bytes_too_big_to_pack_are_looked_for_as_a_loose_file_only(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    (packed,) = LocalBlobStore(root).ingest_many(make_files(tmp_path / "a", [b"small"]), "md5")
    fresh = LocalBlobStore(root)
    big = b"m" * (PACK_MAX_BLOB + 1)
    blob = fresh.put_bytes(big)
    assert fresh.packs.peek("md5", packed.digest) is None  # no index was loaded for it
    assert Path(blob.path).read_bytes() == big
    os.utime(blob.path, (1, 1))
    assert fresh.put_bytes(big) == blob
    assert Path(blob.path).stat().st_mtime == 1  # found, not written again
    assert fresh.put_bytes(b"small").path == fresh.path_for(packed.digest, "md5")
    assert loose_files(LocalBlobStore(root)) == [Path(blob.path)]  # "small" stayed packed
