"""Downloads that cost nothing: reflink-or-copy by default, hard links with ``link=True``."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cairn.core.digest import blob_key
from cairn.protocol import Backend
from cairn.sdk.artifact import Artifact

LogFn = Callable[..., Artifact]


@pytest.fixture
def backend(cairn_dir: Path) -> Backend:
    """Embedded only: placing by reflink or hard link needs the blobs on this machine
    (``EmbeddedBackend.materialize``); a server's blobs come through the client cache instead."""
    import cairn.connect  # noqa: F401  (registers the backends, as ``import cairn`` does)
    from cairn.sdk.backend_cache import backend_for

    return backend_for()


def _logged(tmp_path: Path, log: LogFn) -> Artifact:
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    # Loose blobs (above the store's packing threshold, 256 KiB) and one small packed blob.
    (data / "a.txt").write_bytes(b"hello\n" * 60_000)
    (data / "sub" / "b.bin").write_bytes(bytes(range(256)) * 1_200)
    (data / "small.txt").write_bytes(b"tiny\n")
    art = Artifact("placed", "dataset")
    art.add_dir(str(data))
    return log(art)


def _blob(cairn_dir: Path, art: Artifact, path: str) -> Path:
    entry = art.manifest.entries[path]
    return cairn_dir / "blobs" / blob_key(entry.digest, entry.algorithm())


def test_default_download_is_an_independent_writable_file(
    cairn_dir: Path, tmp_path: Path, log: LogFn
) -> None:
    art = _logged(tmp_path, log)
    root = Path(art.download(root=str(tmp_path / "copy")))
    art.verify(str(root))
    placed = root / "a.txt"
    blob = _blob(cairn_dir, art, "a.txt")
    assert os.stat(placed).st_ino != os.stat(blob).st_ino
    assert os.stat(placed).st_mode & 0o777 == 0o644
    placed.write_bytes(b"edited")  # the store keeps its bytes
    assert blob.read_bytes() == b"hello\n" * 60_000


def test_link_download_hard_links_read_only_files(
    cairn_dir: Path, tmp_path: Path, log: LogFn
) -> None:
    art = _logged(tmp_path, log)
    root = Path(art.download(root=str(tmp_path / "linked"), link=True))
    art.verify(str(root))
    for path in ("a.txt", "sub/b.bin"):
        placed = root / path
        blob = _blob(cairn_dir, art, path)
        assert os.stat(placed).st_ino == os.stat(blob).st_ino
        assert os.stat(placed).st_mode & 0o777 == 0o444
        assert os.stat(blob).st_mode & 0o777 == 0o444  # the store's mode is untouched
    # Packed in the store: no loose file to link, so a copy, read-only as a link would be
    # (the old download left it writable: a reader who asked for links could write to it).
    small = root / "small.txt"
    assert small.read_bytes() == b"tiny\n" and os.stat(small).st_nlink == 1
    assert os.stat(small).st_mode & 0o777 == 0o444
    assert not _blob(cairn_dir, art, "small.txt").exists()  # packed indeed: no loose blob
    assert not list(root.rglob("*.cairn-tmp"))
    # A later plain download into the same root keeps the correct files as they are.
    art.download(root=str(root))
    art.verify(str(root))
