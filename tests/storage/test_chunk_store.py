"""Large files stored as chunks in the local blob store: every read reassembles them, an
edit stores only a few new chunks, a store written whole stays whole, and a torn chunk
list or a bad chunk is never served as the file."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from cairn.core.digest import MD5, XXH128, b64_to_hex, digest_bytes
from cairn.errors import CorruptionError
from cairn.storage.chunking import CHUNK_ALGORITHM, chunk_key
from cairn.storage.local.blobs import LocalBlobStore
from cairn.storage.local.chunk_store import CHUNK_PACKS_DIR
from cairn.storage.local.packs import PACKS_DIR

THRESHOLD = 4 * 1024 * 1024


def random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def pack_bytes(store: LocalBlobStore) -> int:
    packs = store.root / CHUNK_PACKS_DIR
    return sum(p.stat().st_size for p in packs.glob("*.pack")) if packs.is_dir() else 0


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs", chunk_threshold=THRESHOLD)


@pytest.mark.parametrize("algorithm", [MD5, XXH128])
def test_a_large_file_is_stored_as_chunks_and_every_read_reassembles_it(
    store: LocalBlobStore, tmp_path: Path, algorithm: str
) -> None:
    data = random_bytes(9 * 1024 * 1024 + 123, seed=1)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    blob = store.ingest(src, algorithm)
    assert blob.digest == digest_bytes(data, algorithm)
    assert blob.size == len(data)
    assert store.local_path(blob.digest, algorithm) is None  # no loose blob
    assert store.chunks.list_path(blob.digest, algorithm).is_file()
    assert store.has(blob.digest, algorithm)
    assert store.read_bytes(blob.digest, algorithm) == data
    assert b"".join(store.iter_bytes(blob.digest, algorithm)) == data
    store.copy_to(blob.digest, algorithm, tmp_path / "copy")
    assert (tmp_path / "copy").read_bytes() == data
    assert store.verify(blob.digest, algorithm)
    assert not (store.root / PACKS_DIR).exists()  # small-blob packs keep their own folder
    listed = {(alg, hexd) for alg, hexd, _path in store.iter_blobs()}
    assert (algorithm, b64_to_hex(blob.digest)) in listed
    assert any(alg == CHUNK_ALGORITHM for alg, _h in listed)


def test_small_files_stay_whole_and_threshold_zero_stores_every_file_whole(
    tmp_path: Path,
) -> None:
    data = random_bytes(THRESHOLD + 1, seed=2)
    src = tmp_path / "f.bin"
    src.write_bytes(data)
    whole = LocalBlobStore(tmp_path / "whole")
    blob = whole.ingest(src, MD5)
    assert whole.local_path(blob.digest, MD5) is not None
    chunked = LocalBlobStore(tmp_path / "chunked", chunk_threshold=THRESHOLD)
    small = tmp_path / "small.bin"
    small.write_bytes(data[: THRESHOLD - 1])
    kept = chunked.ingest(small, MD5)
    assert chunked.local_path(kept.digest, MD5) is not None


def test_scattered_edits_store_few_new_bytes(store: LocalBlobStore, tmp_path: Path) -> None:
    size = 64 * 1024 * 1024
    data = bytearray(random_bytes(size, seed=3))
    src = tmp_path / "model.bin"
    src.write_bytes(data)
    first = store.ingest(src, MD5)
    before = pack_bytes(store)
    assert before == size  # the first version: every chunk new once
    rng = random.Random(4)
    for _ in range(3):
        offset = rng.randrange(size - 4096)
        data[offset : offset + 4096] = random_bytes(4096, seed=offset)
    src.write_bytes(data)
    second = store.ingest(src, MD5)
    assert second.digest != first.digest
    new = pack_bytes(store) - before
    assert new <= 0.05 * size  # three edits: a few chunks of ~320 KiB each
    assert store.read_bytes(second.digest, MD5) == bytes(data)
    assert store.verify(first.digest, MD5)
    appended = bytes(data) + random_bytes(size // 100, seed=5)
    src.write_bytes(appended)
    before = pack_bytes(store)
    third = store.ingest(src, MD5)
    assert pack_bytes(store) - before <= 0.02 * len(appended)
    assert store.read_bytes(third.digest, MD5) == appended


def test_a_blob_stored_loose_before_stays_loose(tmp_path: Path) -> None:
    data = random_bytes(THRESHOLD * 2, seed=6)
    src = tmp_path / "f.bin"
    src.write_bytes(data)
    old = LocalBlobStore(tmp_path / "blobs")
    blob = old.ingest(src, MD5)
    loose = old.local_path(blob.digest, MD5)
    assert loose is not None
    new = LocalBlobStore(tmp_path / "blobs", chunk_threshold=THRESHOLD)
    again = new.ingest(src, MD5)
    assert again.digest == blob.digest
    assert new.local_path(blob.digest, MD5) == loose
    assert not new.chunks.list_path(blob.digest, MD5).exists()
    assert pack_bytes(new) == 0  # the chunks written on the way were dropped
    assert new.read_bytes(blob.digest, MD5) == data


def test_ingest_many_chunks_large_files_only(store: LocalBlobStore, tmp_path: Path) -> None:
    contents = [b"small", random_bytes(1024 * 1024, seed=7), random_bytes(THRESHOLD, seed=8)]
    paths = []
    for index, data in enumerate(contents):
        path = tmp_path / f"f{index}"
        path.write_bytes(data)
        paths.append(path)
    blobs = store.ingest_many(paths, MD5, workers=2)
    assert [b.digest for b in blobs] == [digest_bytes(d) for d in contents]
    assert store.local_path(blobs[1].digest, MD5) is not None
    assert store.chunks.list_path(blobs[2].digest, MD5).is_file()
    assert [store.read_bytes(b.digest, MD5) for b in blobs] == contents


def test_put_checks_the_digest_of_a_chunked_file(store: LocalBlobStore, tmp_path: Path) -> None:
    data = random_bytes(THRESHOLD, seed=9)
    src = tmp_path / "f.bin"
    src.write_bytes(data)
    with pytest.raises(CorruptionError):
        store.put(src, digest_bytes(b"other"), MD5)
    assert not store.has(digest_bytes(data), MD5)
    assert store.put(src, digest_bytes(data), MD5).size == len(data)
    assert store.read_bytes(digest_bytes(data), MD5) == data


@pytest.mark.parametrize("cut", [0, 1, 100, -1])
def test_a_torn_chunk_list_reads_as_a_missing_blob(
    store: LocalBlobStore, tmp_path: Path, cut: int
) -> None:
    data = random_bytes(THRESHOLD + 5, seed=10)
    src = tmp_path / "f.bin"
    src.write_bytes(data)
    digest = store.ingest(src, MD5).digest
    path = store.chunks.list_path(digest, MD5)
    listed = path.read_bytes()
    os.chmod(path, 0o644)
    path.write_bytes(listed[:cut] if cut >= 0 else listed[:cut] + b"\0")
    assert not store.has(digest, MD5)
    assert store.missing([(digest, MD5)]) == {(digest, MD5)}
    with pytest.raises(FileNotFoundError):
        store.read_bytes(digest, MD5)
    with pytest.raises(FileNotFoundError):
        store.copy_to(digest, MD5, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(FileNotFoundError):
        store.iter_bytes(digest, MD5)
    assert not store.verify(digest, MD5)
    # storing the file again replaces the torn list
    assert store.ingest(src, MD5).digest == digest
    assert store.read_bytes(digest, MD5) == data


def test_a_corrupt_chunk_is_named_and_never_served_as_the_file(
    store: LocalBlobStore, tmp_path: Path
) -> None:
    data = random_bytes(THRESHOLD + 5, seed=11)
    src = tmp_path / "f.bin"
    src.write_bytes(data)
    digest = store.ingest(src, MD5).digest
    victim = store.chunks.chunks_of(digest, MD5)[2]
    pack, offset, _size = store.chunks.packs.lookup(CHUNK_ALGORITHM, _b64(victim.digest)) or (
        Path(),
        0,
        0,
    )
    os.chmod(pack, 0o644)
    with open(pack, "r+b") as handle:
        handle.seek(offset + 10)
        byte = handle.read(1)
        handle.seek(offset + 10)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert not store.verify(digest, MD5)
    assert not store.verify(_b64(victim.digest), CHUNK_ALGORITHM)
    with pytest.raises(CorruptionError, match=chunk_key(victim.digest)):
        store.chunks.verify(digest, MD5)


def _b64(raw: bytes) -> str:
    from cairn.core.digest import b64

    return b64(raw)
