"""Large files stored as chunks in the embedded store (issue 24), through the public API:
versions share chunks and gc keeps a shared chunk, a torn chunk list is a missing blob,
fsck names a corrupt chunk, a store written whole before serves every version unchanged,
and a ``link`` download copies chunked files with one warning."""

from __future__ import annotations

import hashlib
import os
import random
import warnings
from pathlib import Path

import pytest

import cairn
from cairn.core.digest import b64, blob_key
from cairn.errors import CommError
from cairn.sdk import backend_cache
from cairn.service.fsck import check_store
from cairn.service.gc import plan_gc
from cairn.settings import Settings
from cairn.storage.chunking import CHUNK_ALGORITHM, chunk_key
from cairn.storage.local.blobs import LocalBlobStore
from cairn.storage.local.chunk_store import CHUNK_PACKS_DIR
from clirun import cairn as run_cairn

THRESHOLD = 1024 * 1024
SIZE = 6 * 1024 * 1024


@pytest.fixture
def chunking(cairn_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CAIRN_CHUNK_THRESHOLD", str(THRESHOLD))
    return cairn_dir


def random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def edited(data: bytes, seed: int, edits: int = 2) -> bytes:
    out = bytearray(data)
    rng = random.Random(seed)
    for _ in range(edits):
        offset = rng.randrange(len(out) - 4096)
        out[offset : offset + 4096] = random_bytes(4096, seed=offset + seed)
    return bytes(out)


def log_file(tmp_path: Path, name: str, data: bytes, path: str = "model.bin") -> cairn.Artifact:
    src = tmp_path / f"src-{hashlib.md5(data).hexdigest()}" / path
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(data)
    art = cairn.Artifact(name, "model")
    art.add_file(str(src), name=path)
    with cairn.init(project="proj") as run:
        run.log_artifact(art)
    return art


def store(cairn_dir: Path) -> LocalBlobStore:
    return LocalBlobStore(cairn_dir / "blobs")


def chunk_bytes(cairn_dir: Path) -> int:
    blobs = store(cairn_dir)
    return sum(
        size for alg, _d, (_p, _o, size) in blobs.chunks.packs.items() if alg == CHUNK_ALGORITHM
    )


def read_back(name: str, root: Path, path: str = "model.bin") -> bytes:
    art = cairn.Api().artifact(f"proj/{name}")
    return (Path(art.download(str(root))) / path).read_bytes()


def test_versions_share_chunks_and_gc_keeps_a_shared_chunk(chunking: Path, tmp_path: Path) -> None:
    v0_data = random_bytes(SIZE, seed=1)
    v1_data = edited(v0_data, seed=2)
    v0 = log_file(tmp_path, "m", v0_data)
    after_v0 = chunk_bytes(chunking)
    assert after_v0 == SIZE
    v1 = log_file(tmp_path, "m", v1_data)
    assert chunk_bytes(chunking) - after_v0 <= 0.3 * SIZE  # two 4 KiB edits: a few chunks
    blobs = store(chunking)
    entry = v0.manifest.entries["model.bin"]
    assert entry.digest == b64(hashlib.md5(v0_data).digest())  # W&B's digest, unchanged
    assert not (chunking / "blobs" / blob_key(entry.digest, "md5")).exists()  # no loose copy
    shared = {c.digest for c in blobs.chunks.chunks_of(entry.digest, "md5")} & {
        c.digest for c in blobs.chunks.chunks_of(v1.manifest.entries["model.bin"].digest, "md5")
    }
    assert shared

    cairn.Api().artifact("proj/m:v0").delete()
    settings = Settings.load()
    plan = plan_gc(settings, grace_seconds=0)
    planned = {(b.algorithm, b.hex_digest) for b in (*plan.blobs, *plan.packed)}
    assert ("md5", hashlib.md5(v0_data).hexdigest()) in planned  # v0's chunk list
    assert not {(CHUNK_ALGORITHM, d.hex()) for d in shared} & planned
    result = plan.execute()
    assert result.files == plan.files
    assert 0 < result.bytes < 0.3 * SIZE  # v0's own chunks, its list and its manifest
    assert read_back("m:v1", tmp_path / "out1") == v1_data
    cairn.Api().artifact("proj/m:v1").verify(str(tmp_path / "out1"))
    assert check_store(settings, read_data=True).ok

    cairn.Api().artifact("proj/m:v1").delete(delete_aliases=True)
    plan_gc(settings, grace_seconds=0).execute()
    assert chunk_bytes(chunking) == 0


def test_chunks_of_a_new_file_survive_the_grace_period(chunking: Path, tmp_path: Path) -> None:
    data = random_bytes(SIZE, seed=3)
    log_file(tmp_path, "g", data)
    cairn.Api().artifact("proj/g:v0").delete(delete_aliases=True)
    assert plan_gc(Settings.load()).files == 0  # everything younger than the default grace


def test_every_reader_reassembles_a_chunked_file(chunking: Path, tmp_path: Path) -> None:
    data = random_bytes(SIZE + 17, seed=4)
    log_file(tmp_path, "r", data)
    art = cairn.Api().artifact("proj/r:v0")
    assert read_back("r:v0", tmp_path / "whole") == data  # a new root: staged export
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "other.txt").write_text("keep")
    assert read_back("r:v0", existing) == data  # file by file
    entry_path = art.get_entry("model.bin").download(str(tmp_path / "entry"))
    assert Path(entry_path).read_bytes() == data
    art.verify(str(tmp_path / "whole"))


def test_a_link_download_copies_chunked_files_with_one_warning(
    chunking: Path, tmp_path: Path
) -> None:
    data = random_bytes(SIZE, seed=5)
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.bin").write_bytes(data)
    (src / "b.bin").write_bytes(data[::-1])
    (src / "small.bin").write_bytes(data[: THRESHOLD // 2])
    art = cairn.Artifact("l", "model")
    for name in ("a.bin", "b.bin", "small.bin"):
        art.add_file(str(src / name), name=name)
    with cairn.init(project="proj") as run:
        run.log_artifact(art)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        root = Path(cairn.Api().artifact("proj/l:v0").download(str(tmp_path / "d"), link=True))
    messages = [str(w.message) for w in caught if "chunks" in str(w.message)]
    assert messages == [
        "2 file(s) stored as chunks were copied (read-only), not hard-linked: a chunked "
        "file has no single file in the store to link to"
    ]
    assert (root / "a.bin").read_bytes() == data
    assert (root / "b.bin").read_bytes() == data[::-1]
    assert not os.access(root / "a.bin", os.W_OK) or os.geteuid() == 0
    assert (root / "a.bin").stat().st_mode & 0o222 == 0
    assert (root / "small.bin").stat().st_nlink == 2  # the loose one is hard-linked


@pytest.mark.parametrize("cut", [0, 50, -1])
def test_a_torn_chunk_list_reads_as_a_missing_blob(
    chunking: Path, tmp_path: Path, cut: int
) -> None:
    data = random_bytes(SIZE, seed=6)
    art = log_file(tmp_path, "t", data)
    digest = art.manifest.entries["model.bin"].digest
    listed = store(chunking).chunks.list_path(digest, "md5")
    whole = listed.read_bytes()
    os.chmod(listed, 0o644)
    listed.write_bytes(whole[:cut])
    with pytest.raises(FileNotFoundError, match="Blob not stored"):
        read_back("t:v0", tmp_path / "out")  # a new root, staged whole
    assert not list((tmp_path / "out").rglob("model.bin"))
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "other.txt").write_text("keep")
    with pytest.raises(CommError, match="not found in the store"):
        read_back("t:v0", existing)  # file by file
    assert not (existing / "model.bin").exists()
    report = check_store(Settings.load(), read_data=True)
    assert any("is missing (its chunk list is torn)" in p for p in report.problems)
    assert any(f"chunk list {listed} is torn or truncated" in p for p in report.problems)


def test_fsck_read_data_names_a_corrupt_chunk(chunking: Path, tmp_path: Path) -> None:
    data = random_bytes(SIZE, seed=7)
    art = log_file(tmp_path, "f", data)
    blobs = store(chunking)
    victim = blobs.chunks.chunks_of(art.manifest.entries["model.bin"].digest, "md5")[3]
    location = blobs.chunks.packs.lookup(CHUNK_ALGORITHM, b64(victim.digest))
    assert location is not None
    pack, offset, _size = location
    os.chmod(pack, 0o644)
    with open(pack, "r+b") as handle:
        handle.seek(offset + 100)
        handle.write(b"\0" * 8)
    name = chunk_key(victim.digest)
    assert check_store(Settings.load(), read_data=False).ok  # present, not re-read
    result = run_cairn("fsck", "--read-data")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"chunk {name} in {pack} is corrupt" in result.stdout
    assert f"Chunk {name} of " in result.stdout  # and the file that needs it
    with pytest.raises(ValueError, match="digest"):
        read_back("f:v0", tmp_path / "out")


def test_a_store_written_whole_serves_every_version_unchanged(
    cairn_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_CHUNK_THRESHOLD", "off")
    first = random_bytes(SIZE, seed=8)
    versions = [first, edited(first, seed=9)]
    for data in versions:
        log_file(tmp_path, "old", data)
    blobs_dir = cairn_dir / "blobs"
    loose = sorted(p for p in (blobs_dir / "md5").rglob("*") if p.is_file())
    stamps = {p: (p.stat().st_ino, p.read_bytes()) for p in loose}
    assert not (blobs_dir / "chunklists").exists()

    backend_cache.close_all()
    monkeypatch.setenv("CAIRN_CHUNK_THRESHOLD", str(THRESHOLD))
    for index, data in enumerate(versions):
        assert read_back(f"old:v{index}", tmp_path / f"v{index}") == data
        cairn.Api().artifact(f"proj/old:v{index}").verify(str(tmp_path / f"v{index}"))
    log_file(tmp_path, "again", versions[1])  # stored loose already: stays loose
    assert {p: (p.stat().st_ino, p.read_bytes()) for p in loose} == stamps
    assert not (blobs_dir / "chunklists").exists()
    third = edited(versions[1], seed=10)
    log_file(tmp_path, "old", third)  # new content: chunked
    assert read_back("old:v2", tmp_path / "v2") == third
    assert (blobs_dir / "chunklists").is_dir()
    assert (blobs_dir / CHUNK_PACKS_DIR).is_dir()
    assert check_store(Settings.load(), read_data=True).ok
