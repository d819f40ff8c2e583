"""export_blobs: many stored blobs (packed and loose) written to new files at once, each
checked against its digest, packs read sequentially, a pack rewritten meanwhile followed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cairn.core.digest import digest_bytes
from cairn.errors import CorruptionError
from cairn.storage.local.blobs import PACK_MAX_BLOB, LocalBlobStore
from cairn.storage.local.export import export_blobs
from cairn.storage.local.packs import PACKS_DIR


def _stored(store: LocalBlobStore, tmp_path: Path, contents: list[bytes]) -> list[str]:
    sources = tmp_path / "src"
    sources.mkdir()
    paths = []
    for index, data in enumerate(contents):
        path = sources / f"f{index}"
        path.write_bytes(data)
        paths.append(path)
    return [blob.digest for blob in store.ingest_many(paths, "md5")]


def test_packed_and_loose_blobs_reach_their_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    contents = [f"small {i}\n".encode() for i in range(50)] + [os.urandom(PACK_MAX_BLOB + 1)]
    digests = _stored(store, tmp_path, contents)
    out = tmp_path / "out"
    out.mkdir()
    items = [(digest, "md5", out / f"copy{i}") for i, digest in enumerate(digests)]
    items.append((digests[0], "md5", out / "same-again"))  # one blob, two files
    events: list[tuple[int, int]] = []
    export_blobs(LocalBlobStore(tmp_path / "blobs"), items, lambda *e: events.append(e))
    for i, data in enumerate(contents):
        assert (out / f"copy{i}").read_bytes() == data
        assert stat.S_IMODE((out / f"copy{i}").stat().st_mode) == 0o644
    assert (out / "same-again").read_bytes() == contents[0]
    assert events[-1] == (len(items), sum(map(len, contents)) + len(contents[0]))


def test_corrupt_packed_bytes_write_nothing_for_that_blob(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    (digest,) = _stored(store, tmp_path, [b"precious bytes"])
    (pack,) = (tmp_path / "blobs" / PACKS_DIR).glob("*.pack")
    os.chmod(pack, 0o644)
    pack.write_bytes(b"PRECIOUS bytes")
    dest = tmp_path / "out"
    with pytest.raises(CorruptionError, match="do not match their digest"):
        export_blobs(store, [(digest, "md5", dest)])
    assert not dest.exists()


def test_missing_blob_and_existing_destination_are_refused(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    (digest,) = _stored(store, tmp_path, [b"kept"])
    with pytest.raises(FileNotFoundError):
        export_blobs(store, [(digest_bytes(b"never stored"), "md5", tmp_path / "nope")])
    existing = tmp_path / "existing"
    existing.write_bytes(b"mine")
    with pytest.raises(FileExistsError):
        export_blobs(store, [(digest, "md5", existing)])
    assert existing.read_bytes() == b"mine"


def test_a_pack_rewritten_since_the_table_loaded_is_followed(tmp_path: Path) -> None:
    writer = LocalBlobStore(tmp_path / "blobs")
    keep, drop = _stored(writer, tmp_path, [b"survivor", b"doomed"])
    stale = LocalBlobStore(tmp_path / "blobs")
    stale.packs.refresh()  # loads the index of the pack about to be rewritten
    (pack,) = (tmp_path / "blobs" / PACKS_DIR).glob("*.pack")
    writer.drop_packed(pack, {("md5", drop)})
    assert not pack.exists()
    export_blobs(stale, [(keep, "md5", tmp_path / "out")])
    assert (tmp_path / "out").read_bytes() == b"survivor"
