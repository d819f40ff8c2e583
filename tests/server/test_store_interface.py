"""The two server blob stores answer one interface (``cairn.storage.blobstores.interface``):
what each can do is asked of it (capability methods), never read from its class, and an
area says where a blob's bytes are (``local_path``) and streams them (``iter_bytes``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cairn.core.digest import digest_bytes
from cairn.storage.blobstores.directory import DirectoryServerStore
from cairn.storage.blobstores.interface import MIN_PART_SIZE, ServerStore
from cairn.storage.blobstores.s3 import S3ServerStore
from cairn.storage.local.blobs import LocalBlobStore


@pytest.fixture(params=["dir", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ServerStore:
    if request.param == "dir":
        return DirectoryServerStore(tmp_path / "store")
    url = request.getfixturevalue("s3_store_url")
    return S3ServerStore(url, request.getfixturevalue("moto_endpoint"))


def test_a_directory_store_moves_bytes_through_the_server(tmp_path: Path) -> None:
    store = DirectoryServerStore(tmp_path / "store")
    transfers = store.server_transfers()
    assert transfers is not None
    assert transfers.area("team").tmp_dir.is_dir()  # where received bodies are written
    assert store.staged_uploads() is None
    assert store.declared_parts() is None
    assert store.min_part_size() == 1
    assert store.upload_url("team", digest_bytes(b"x"), "md5", 1, 60) is None
    assert store.maintenance().recorded is False


def test_an_s3_store_moves_bytes_by_presigned_urls(s3_store_url: str, moto_endpoint: str) -> None:
    store = S3ServerStore(s3_store_url, moto_endpoint)
    assert store.server_transfers() is None
    assert store.staged_uploads() is not None
    assert store.declared_parts() is not None
    assert store.min_part_size() == MIN_PART_SIZE
    presigned = store.upload_url("team", digest_bytes(b"x"), "md5", 1, 60)
    assert presigned is not None and "X-Amz-Signature" in presigned.url
    assert store.maintenance().recorded is True


def test_an_area_streams_its_blobs_and_names_only_local_files(store: ServerStore) -> None:
    area = store.area("team")
    data = os.urandom(100_000)
    digest = area.put_bytes(data).digest
    assert b"".join(area.iter_bytes(digest, "md5")) == data
    path = area.local_path(digest, "md5")
    if store.server_transfers() is not None:  # a directory: the blob is a file here
        assert path is not None and path.read_bytes() == data
    else:
        assert path is None
    absent = digest_bytes(b"never stored")
    assert area.local_path(absent, "md5") is None
    with pytest.raises((KeyError, FileNotFoundError)):
        area.iter_bytes(absent, "md5")  # at once, before any chunk is asked for


def test_a_packed_blob_of_the_embedded_store_has_no_file_but_streams(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    source = tmp_path / "small.txt"
    source.write_bytes(b"small enough to be packed")
    (stored,) = blobs.ingest_many([source], "md5")
    assert blobs.local_path(stored.digest, "md5") is None
    assert b"".join(blobs.iter_bytes(stored.digest, "md5")) == source.read_bytes()
