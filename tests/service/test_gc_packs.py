"""Garbage collection of packed blobs: packs are rewritten without what nothing needs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import cairn
from cairn.service.fsck import check_store
from cairn.service.gc import plan_gc
from cairn.settings import Settings
from cairn.storage.local.blobs import LocalBlobStore
from cairn.storage.local.statcache import RACY_SECONDS


def _log_dir(tmp_path: Path, name: str, files: dict[str, str]) -> cairn.Artifact:
    root = tmp_path / f"src-{name}-{len(list(tmp_path.iterdir()))}"
    root.mkdir()
    for path, content in files.items():
        (root / path).write_text(content)
    art = cairn.Artifact(name, "dataset")
    art.add_dir(str(root))  # small files: packed
    with cairn.init(project="proj") as run:
        run.log_artifact(art)
    return art


def _packs(cairn_dir: Path) -> list[Path]:
    return sorted((cairn_dir / "blobs" / "packs").glob("*.pack"))


def test_gc_rewrites_packs_and_survivors_still_verify(cairn_dir: Path, tmp_path: Path) -> None:
    old = _log_dir(tmp_path, "d", {f"f{i}.txt": f"old {i}" * 50 for i in range(20)})
    new = _log_dir(tmp_path, "d", {f"f{i}.txt": f"old {i}" * 50 for i in range(10)})
    (first_pack,) = _packs(cairn_dir)  # the second version's blobs were all stored already
    stale_reader = LocalBlobStore(cairn_dir / "blobs")  # loads today's pack indexes
    kept_entry = new.manifest.entries["f3.txt"]
    assert stale_reader.read_bytes(kept_entry.digest, "md5") == ("old 3" * 50).encode()
    old.delete(delete_aliases=True)

    plan = plan_gc(Settings.load(), grace_seconds=0)
    dead = {blob.hex_digest for blob in plan.packed}
    assert len(dead) == 10  # f10..f19 live in no other version (plus no loose content)
    assert plan.bytes >= sum(len(f"old {i}" * 50) for i in range(10, 20))
    result = plan.execute()
    assert result.files == plan.files and result.kept == 0

    assert plan_gc(Settings.load(), grace_seconds=0).files == 0
    # The old pack is gone; a reader holding its stale index finds the blob in the new one.
    assert stale_reader.read_bytes(kept_entry.digest, "md5") == ("old 3" * 50).encode()
    (rewritten,) = _packs(cairn_dir)
    assert rewritten != first_pack and not first_pack.exists()
    assert rewritten.stat().st_size == sum(len(f"old {i}" * 50) for i in range(10))

    survivor = cairn.Api().artifact("proj/d:latest")
    path = survivor.download(str(tmp_path / "out"))
    survivor.verify(path)
    assert check_store(Settings.load(), read_data=True).ok


def test_a_pack_a_draft_touched_is_kept_for_the_grace_period(
    cairn_dir: Path, tmp_path: Path
) -> None:
    files = {f"g{i}.txt": f"content {i}" * 20 for i in range(5)}
    first = _log_dir(tmp_path, "e", files)
    (pack,) = _packs(cairn_dir)
    hour_ago = time.time() - 7200
    os.utime(pack, (hour_ago, hour_ago))
    first.delete(delete_aliases=True)
    assert plan_gc(Settings.load()).files == 5  # the old pack's blobs (the manifest is young)

    # A new draft of the same content finds every blob stored and touches their pack.
    _log_dir(tmp_path, "e2", files)
    plan = plan_gc(Settings.load())
    assert plan.packed == []
    assert plan.execute().files == 0
    again = cairn.Api().artifact("proj/e2:latest")
    again.verify(again.download(str(tmp_path / "e2")))


def test_a_process_that_loaded_packs_before_a_collection_does_not_trust_them(
    cairn_dir: Path, tmp_path: Path
) -> None:
    files = {f"f{i}.txt": f"gone {i}" * 30 for i in range(6)}
    with cairn.init(project="proj") as run:
        root = tmp_path / "src"
        root.mkdir()
        for path, content in files.items():
            (root / path).write_text(content)
        time.sleep(RACY_SECONDS + 0.1)  # the stat cache trusts them: they are not read again
        first = cairn.Artifact("d", "dataset")
        first.add_dir(str(root))
        run.log_artifact(first)  # this process's store has loaded the pack index
        first.delete(delete_aliases=True)
        assert plan_gc(Settings.load(), grace_seconds=0).execute().files >= 6  # its own store

        again = cairn.Artifact("d", "dataset")
        again.add_dir(str(root))
        run.log_artifact(again)  # the blobs must be stored again, not found in a stale index
    out = Path(cairn.Api().artifact("proj/d:latest").download(str(tmp_path / "out")))
    assert (out / "f4.txt").read_text() == files["f4.txt"]
    assert check_store(Settings.load(), read_data=True).ok
