"""A download into a new or empty folder from the embedded store: staged whole, renamed into
place (``cairn.storage.staged_writing``), with the same results and guarantees as the general
path (no partial file under a final name, digests checked, files 0o644)."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from cairn.errors import CorruptionError
from cairn.protocol import Backend, BlobRef
from cairn.sdk.artifact import Artifact

LogFn = Callable[..., Artifact]
pytestmark = pytest.mark.parametrize("backend", ["embedded"], indirect=True)


@pytest.fixture
def logged(cairn_dir: Path, tmp_path: Path, log: LogFn) -> Artifact:
    """Many small files in nested folders (packed), one large file (loose), a duplicate."""
    tree = tmp_path / "tree"
    for folder in range(3):
        (tree / f"d{folder}" / "deep").mkdir(parents=True)
        for index in range(20):
            (tree / f"d{folder}" / f"f{index}.txt").write_bytes(f"{folder}-{index}\n".encode())
        (tree / f"d{folder}" / "deep" / "same.txt").write_bytes(b"same\n")
    (tree / "big.bin").write_bytes(os.urandom(300 * 1024))
    art = Artifact("bulk", "dataset")
    art.add_dir(str(tree))
    return log(art)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _staging(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.endswith(".cairn-tmp"))


def test_a_new_root_gets_every_file(logged: Artifact, tmp_path: Path) -> None:
    root = tmp_path / "new" / "out"
    logged.download(root)
    assert _tree(root) == _tree(tmp_path / "tree")
    modes = {stat.S_IMODE(p.stat().st_mode) for p in root.rglob("*") if p.is_file()}
    assert modes == {0o644}
    assert _staging(root.parent) == []
    logged.verify(str(root))


def test_an_empty_root_keeps_its_permissions(logged: Artifact, tmp_path: Path) -> None:
    root = tmp_path / "out"
    root.mkdir(mode=0o750)
    os.chmod(root, 0o750)
    logged.download(root)
    assert _tree(root) == _tree(tmp_path / "tree")
    assert stat.S_IMODE(root.stat().st_mode) == 0o750


def test_a_root_with_files_keeps_them(logged: Artifact, tmp_path: Path) -> None:
    root = tmp_path / "out"
    root.mkdir()
    (root / "mine.txt").write_bytes(b"mine")
    logged.download(root)
    assert (root / "mine.txt").read_bytes() == b"mine"
    assert (root / "d1" / "f3.txt").read_bytes() == b"1-3\n"


def test_an_interrupted_bulk_download_leaves_nothing(
    logged: Artifact, backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_export = backend.export_blobs  # type: ignore[attr-defined]

    def disk_full(
        entity: str, items: Sequence[tuple[BlobRef, Path]], on_progress: object = None
    ) -> None:
        real_export(entity, items[:3])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(backend, "export_blobs", disk_full)
    root = tmp_path / "out"
    with pytest.raises(OSError, match="No space left"):
        logged.download(root)
    assert not root.exists()
    assert _staging(tmp_path) == []


def test_corrupt_packed_bytes_are_refused(
    logged: Artifact, cairn_dir: Path, tmp_path: Path
) -> None:
    packs = sorted((cairn_dir / "blobs" / "packs").glob("*.pack"))
    assert packs
    for pack in packs:  # flip one byte of every packed blob's area
        os.chmod(pack, 0o644)
        data = bytearray(pack.read_bytes())
        data[0] ^= 0xFF
        pack.write_bytes(bytes(data))
    root = tmp_path / "out"
    with pytest.raises(CorruptionError):
        logged.download(root)
    assert not root.exists()
    assert _staging(tmp_path) == []
