"""Azure blob references against Azurite, via a connection-string endpoint (spec §5.4).

Azurite does not implement blob versioning, so version-pinned downloads cannot be tested
here; the closest behaviour is tested instead: a changed blob is refused with wandb's
"Couldn't find blob version" error (the version search finds nothing), and skipped when
missing references are allowed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cairn.errors import ChangedReferenceError, MissingReferenceError
from cairn.sdk.artifact import Artifact
from cairn.storage.references import default_registry
from cairn.storage.references.azure import AzureHandler
from cairn.storage.references.base import HandlerOptions

LogFn = Callable[[Artifact], Artifact]


def _container(azure: Any) -> Any:
    return azure.create_container(f"c-{uuid.uuid4().hex[:12]}")


def _url(azure: Any, container: Any, blob: str = "") -> str:
    return f"{azure.url.rstrip('/')}/{container.container_name}/{blob}".rstrip("/")


def test_azure_urls_are_claimed_before_plain_https() -> None:
    registry = default_registry(HandlerOptions())
    handler = registry.handler_for("https://acct.blob.core.windows.net/c/b.txt")
    assert isinstance(handler, AzureHandler)
    assert not isinstance(registry.handler_for("https://example.com/c/b.txt"), AzureHandler)
    emulator = default_registry(HandlerOptions(azure_account_url="http://127.0.0.1:1/acct"))
    assert isinstance(emulator.handler_for("http://127.0.0.1:1/acct/c/b"), AzureHandler)
    assert not isinstance(emulator.handler_for("http://127.0.0.1:1/other/c/b"), AzureHandler)


def test_single_blob(azure: Any) -> None:
    container = _container(azure)
    container.upload_blob("dir/a.txt", b"hello")
    etag = container.get_blob_client("dir/a.txt").get_blob_properties().etag.strip('"')
    url = _url(azure, container, "dir/a.txt")
    [entry] = Artifact("az", "dataset").add_reference(url)
    assert entry.path == "a.txt"
    assert entry.to_json() == {
        "digest": etag,
        "ref": url,
        "size": 5,
        "extra": {"etag": etag},  # no versionID: Azurite has no blob versioning
    }


def test_directories_and_max_objects(azure: Any) -> None:
    container = _container(azure)
    for name in ("d/x", "d/s/y", "dz/w", "e/z"):
        container.upload_blob(name, name.encode())
    container.upload_blob("folder", b"", metadata={"hdi_isfolder": "true"})
    container.upload_blob("folder/f", b"f")
    entries = Artifact("az", "dataset").add_reference(_url(azure, container, "d"))
    assert sorted((e.path, e.size) for e in entries) == [("s/y", 5), ("x", 3)]
    stub = Artifact("az", "dataset").add_reference(_url(azure, container, "folder"), name="n")
    assert [e.path for e in stub] == ["n/f"]
    art = Artifact("az", "dataset")
    with pytest.raises(ValueError, match=r"^Exceeded 1 objects tracked under "):
        art.add_reference(_url(azure, container, "d"), max_objects=1)
    assert art.manifest.entries == {}
    whole = Artifact("az", "dataset").add_reference(_url(azure, container))
    assert sorted(e.path for e in whole) == ["d/s/y", "d/x", "dz/w", "e/z", "folder/f"]


def test_checksum_false_drops_the_query(azure: Any) -> None:
    container = _container(azure)
    url = _url(azure, container, "p/q.bin")
    [entry] = Artifact("az", "dataset").add_reference(f"{url}?versionId=abc", checksum=False)
    assert entry.to_json() == {"digest": url, "ref": url}
    assert entry.path == "q.bin"


def test_download_and_changed_or_deleted_blobs(azure: Any, tmp_path: Path, log: LogFn) -> None:
    container = _container(azure)
    for name in ("m.bin", "c.bin", "gone.bin"):
        container.upload_blob(name, f"first {name}".encode())
    art = Artifact("az", "model")
    for name in ("m.bin", "c.bin", "gone.bin"):
        art.add_reference(_url(azure, container, name))
    log(art)
    assert (Path(art.get_entry("m.bin").download(str(tmp_path / "a")))).read_bytes() == (
        b"first m.bin"
    )
    for name in ("m.bin", "c.bin"):
        container.upload_blob(name, b"second", overwrite=True)
    container.delete_blob("gone.bin")
    with pytest.raises(ChangedReferenceError, match=r"^Couldn't find blob version for .*c\.bin"):
        art.get_entry("c.bin").download(str(tmp_path / "b"))
    with pytest.raises(MissingReferenceError):
        art.get_entry("gone.bin").download(str(tmp_path / "b"))
    with pytest.warns(UserWarning, match="^Skipped") as caught:
        root = Path(art.download(tmp_path / "c", allow_missing_references=True))
    assert len(caught) == 2
    assert not (root / "c.bin").exists() and not (root / "gone.bin").exists()
    # the client cache holds the recorded bytes of m.bin under (URL, ETag): served from there
    assert (root / "m.bin").read_bytes() == b"first m.bin"
