"""download, checkout, verify, file, files and entry downloads of logged artifacts (§4.14)."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.errors import CorruptionError
from cairn.protocol import Backend, BlobRef
from cairn.remote import fetching
from cairn.remote.backend import RemoteBackend
from cairn.sdk.artifact import Artifact

LogFn = Callable[..., Artifact]


@pytest.fixture
def logged(cairn_dir: Path, tv1_tree: Path, log: LogFn) -> Artifact:
    """TV1 logged as ``tester/proj/tv:v0``."""
    art = Artifact("tv", "dataset")
    art.add_dir(str(tv1_tree))
    return log(art)


class _FlipFirstByte(httpx.HTTPTransport):
    """A real HTTP transport that alters the first byte of every answer's body."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        body = bytearray(response.read())
        if body:
            body[0] ^= 0xFF
        return httpx.Response(response.status_code, headers=response.headers, content=bytes(body))


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*.cairn-tmp"))


def test_download_verify_round_trip(cairn_dir: Path, logged: Artifact, tmp_path: Path) -> None:
    path = logged.download()
    root = tmp_path / "artifacts" / "tv:v0"
    assert path == str(root)
    assert (root / "a.txt").read_bytes() == b"hello\n"
    assert (root / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 4
    logged.verify()
    logged.verify(str(root))
    (root / "empty-dir").mkdir()
    logged.verify()  # empty directories are ignored


def test_verify_catches_any_changed_byte(logged: Artifact, tmp_path: Path) -> None:
    root = Path(logged.download(tmp_path / "out"))
    target = root / "sub" / "b.bin"
    data = bytearray(target.read_bytes())
    data[517] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"^Digest mismatch for file: sub/b\.bin$"):
        logged.verify(str(root))
    target.unlink()
    with pytest.raises(FileNotFoundError):
        logged.verify(str(root))
    logged.download(root)  # repairs the file
    logged.verify(str(root))
    (root / "extra.txt").write_text("x")
    with pytest.raises(ValueError) as info:
        logged.verify(str(root))
    assert str(info.value) == (
        f"Found file {root / 'extra.txt'} which is not a member of artifact tv:v0"
    )


def test_download_keeps_right_files_and_replaces_wrong_ones(
    logged: Artifact, tmp_path: Path
) -> None:
    root = Path(logged.download(tmp_path / "out"))
    kept = root / "a.txt"
    inode = kept.stat().st_ino
    (root / "sub" / "b.bin").write_bytes(b"wrong")
    (root / "mine.txt").write_text("not in the artifact")
    logged.download(root)
    assert kept.stat().st_ino == inode  # untouched
    assert (root / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 4
    assert (root / "mine.txt").exists()  # download never deletes


def test_download_path_prefix(logged: Artifact, tmp_path: Path) -> None:
    root = Path(logged.download(tmp_path / "out", path_prefix="sub/"))
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "sub/b.bin"
    ]


def test_download_refuses_symlinked_directories_inside_root(
    logged: Artifact, tmp_path: Path
) -> None:
    root = tmp_path / "out"
    root.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "sub").symlink_to(elsewhere)
    with pytest.raises(ValueError, match=r"symlink inside the download root: '.*out/sub'$"):
        logged.download(root)
    assert list(elsewhere.iterdir()) == []


def test_download_refuses_a_symlink_at_the_destination(logged: Artifact, tmp_path: Path) -> None:
    root = tmp_path / "out"
    root.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (root / "a.txt").symlink_to(victim)
    with pytest.raises(ValueError, match=r"symlink inside the download root: '.*out/a\.txt'$"):
        logged.download(root, path_prefix="a.txt")
    assert victim.read_text() == "precious"
    assert (root / "a.txt").is_symlink()


def test_download_accepts_a_symlinked_root(logged: Artifact, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real)
    logged.download(tmp_path / "alias")
    assert (real / "a.txt").read_bytes() == b"hello\n"


def test_an_interrupted_download_leaves_no_partial_file(
    logged: Artifact, backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fetch = backend.fetch_blob

    def disk_full(entity: str, blob: BlobRef, dest: Path) -> None:
        real_fetch(entity, blob, dest)
        with open(dest, "r+b") as handle:  # half written, then the disk is full
            handle.truncate(blob.size // 2)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(backend, "fetch_blob", disk_full)
    if hasattr(backend, "export_blobs"):  # a fresh root is written in bulk by this backend
        real_export = backend.export_blobs

        def export_disk_full(
            entity: str, items: Sequence[tuple[BlobRef, Path]], on_progress: object = None
        ) -> None:
            real_export(entity, items[:1])
            with open(items[0][1], "r+b") as handle:
                handle.truncate(items[0][0].size // 2)
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(backend, "export_blobs", export_disk_full)
    root = tmp_path / "out"
    with pytest.raises(OSError, match="No space left"):
        logged.download(root)
    assert not (root / "a.txt").exists() and not (root / "sub" / "b.bin").exists()
    assert _leftovers(root) == []


def test_corrupt_store_bytes_never_reach_the_final_name(
    logged: Artifact, backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fetch = backend.fetch_blob

    def flipped(entity: str, blob: BlobRef, dest: Path) -> None:
        real_fetch(entity, blob, dest)
        data = bytearray(dest.read_bytes())
        data[0] ^= 0xFF
        dest.write_bytes(bytes(data))

    monkeypatch.setattr(backend, "fetch_blob", flipped)
    if isinstance(backend, RemoteBackend):  # it checks bytes as they arrive: alter them there
        real_whole = fetching.download_whole

        def flipped_on_the_wire(client: httpx.Client, *args: Any) -> None:
            with httpx.Client(transport=_FlipFirstByte()) as wire:
                real_whole(wire, *args)

        monkeypatch.setattr(fetching, "download_whole", flipped_on_the_wire)
    root = tmp_path / "out"
    root.mkdir()  # a root holding a file takes the file-by-file path (test_bulk_download:
    (root / "other.txt").write_bytes(b"x")  # corrupt packs in a fresh root)
    with pytest.raises(CorruptionError, match="do not match their digest"):
        logged.download(root)
    assert not (root / "a.txt").exists()
    assert _leftovers(root) == []


def test_download_skips_directories_in_the_way(logged: Artifact, tmp_path: Path) -> None:
    root = tmp_path / "out"
    (root / "a.txt").mkdir(parents=True)
    with pytest.warns(UserWarning, match="there is a directory with the same path, skipping"):
        logged.download(root)
    assert (root / "sub" / "b.bin").is_file()
    blocker = tmp_path / "out2"
    blocker.mkdir()
    (blocker / "sub").write_text("a file where a directory should be")
    with pytest.warns(UserWarning, match="a file with the same path as a directory"):
        logged.download(blocker)
    assert (blocker / "a.txt").is_file()


def test_checkout_removes_other_files_without_following_links(
    logged: Artifact, tmp_path: Path
) -> None:
    root = tmp_path / "artifacts" / "tv"
    (root / "old").mkdir(parents=True)
    (root / "old" / "stale.txt").write_text("stale")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    (root / "link-dir").symlink_to(outside)
    (root / "a.txt").symlink_to(outside / "keep.txt")
    assert logged.checkout() == str(root)
    files = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert files == ["a.txt", "sub/b.bin"]
    assert not (root / "a.txt").is_symlink()
    assert (outside / "keep.txt").read_text() == "keep"
    logged.verify(str(root))


def test_file_and_entry_downloads(
    cairn_dir: Path, logged: Artifact, tmp_path: Path, log: LogFn
) -> None:
    with pytest.raises(ValueError) as info:
        logged.file()
    assert str(info.value) == (
        "This artifact contains more than one file, call `.download()` to get all files or "
        'call .get_entry("filename").download()'
    )
    single = Artifact("one", "model")
    (tmp_path / "w.bin").write_bytes(b"weights")
    single.add_file(str(tmp_path / "w.bin"))
    log(single)
    path = single.file()
    assert path == str(tmp_path / "artifacts" / "one:v0" / "w.bin")
    assert Path(path).read_bytes() == b"weights"
    entry = logged.get_entry("sub/b.bin")
    assert entry.download() == str(tmp_path / "artifacts" / "tv:v0" / "sub" / "b.bin")
    assert Path(entry.download(str(tmp_path / "e"))).stat().st_size == 1024
    manifest_entry = logged.manifest.entries["a.txt"]
    assert Path(manifest_entry.download(str(tmp_path / "m"))).read_bytes() == b"hello\n"


def test_files_paginates_with_a_cursor(logged: Artifact, tmp_path: Path) -> None:
    files = logged.files(per_page=1)
    assert len(files) == 2
    first = next(files)
    assert (first.name, first.size, first.digest) == ("a.txt", 6, "sZRqySSS0jR8YjW00mERhA==")
    resumed = logged.files(per_page=1, start=files.cursor)
    assert [f.name for f in resumed] == ["sub/b.bin"]
    assert [f.name for f in logged.files(names=["sub/b.bin", "nope"])] == ["sub/b.bin"]
    assert [f.name for f in logged.files()] == ["a.txt", "sub/b.bin"]
    with pytest.raises(ValueError, match="Invalid cursor"):
        logged.files(start="bogus")
    with first.download(str(tmp_path / "f")) as handle:
        assert handle.read() == "hello\n"
    with pytest.raises(ValueError, match=r"^File already exists, pass replace=True"):
        first.download(str(tmp_path / "f"))
    with first.download(str(tmp_path / "f"), exist_ok=True) as handle:
        assert handle.read() == "hello\n"
    (tmp_path / "f" / "a.txt").write_text("edited")
    with first.download(str(tmp_path / "f"), replace=True) as handle:
        assert handle.read() == "hello\n"


def test_reference_downloads(cairn_dir: Path, tmp_path: Path, log: LogFn) -> None:
    source = tmp_path / "shared.bin"
    source.write_bytes(b"shared")
    art = Artifact("refs", "dataset")
    art.add_reference(source.as_uri())
    with pytest.warns(UserWarning):
        art.add_reference("foo://bar/baz", name="baz")
    log(art)
    root = tmp_path / "out"
    unknown = r"^Cannot download file at path foo://bar/baz, scheme foo not recognized$"
    with pytest.raises(ValueError, match=unknown):
        art.download(root, allow_missing_references=True)  # only FileNotFoundError is swallowed
    assert (root / "shared.bin").read_bytes() == b"shared"
    with pytest.warns(UserWarning, match=r"^skipped verification of 2 refs$"):
        art.verify(str(root))
    source.write_bytes(b"changed!")
    with pytest.raises(ValueError, match=r"^Local file reference: Digest mismatch for path"):
        art.get_entry("shared.bin").download(str(tmp_path / "again"))
    assert not (tmp_path / "again" / "shared.bin").exists()
    assert _leftovers(tmp_path / "again") == []
    source.unlink()
    # vanished: MissingReferenceError, a ValueError as in wandb and a FileNotFoundError (the
    # class allow_missing_references skips)
    missing = r"^Local file reference: Failed to find file at"
    with pytest.raises(ValueError, match=missing) as raised:
        art.get_entry("shared.bin").download(str(tmp_path / "again"))
    assert isinstance(raised.value, FileNotFoundError)
    with pytest.warns(UserWarning, match=r"^Skipped 'shared.bin': Local file reference: Failed"):
        art.download(str(tmp_path / "skip"), allow_missing_references=True, path_prefix="shared")


def test_default_root_follows_the_artifact_dir_setting(
    logged: Artifact, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert os.environ["CAIRN_ARTIFACT_DIR"] == str(tmp_path / "artifacts")
    assert logged.download() == str(tmp_path / "artifacts" / "tv:v0")


def test_a_link_download_writes_only_read_only_files(logged: Artifact, tmp_path: Path) -> None:
    """``link=True`` promises read-only files: what cannot be a hard link to a loose blob of
    the embedded store (a packed blob, any blob in server mode) is a read-only copy."""
    root = Path(logged.download(tmp_path / "linked", link=True))
    logged.verify(str(root))
    for path in ("a.txt", "sub/b.bin"):
        assert os.stat(root / path).st_mode & 0o777 == 0o444, path
    plain = Path(logged.download(tmp_path / "plain"))
    for path in ("a.txt", "sub/b.bin"):
        assert os.stat(plain / path).st_mode & 0o777 == 0o644, path
