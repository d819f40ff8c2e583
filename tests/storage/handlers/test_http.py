"""http(s) references against a real local HTTP server with ETags (spec §5.1, §2.2, TV4)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from cairn.core.digest import etag_cache_key
from cairn.errors import ChangedReferenceError, MissingReferenceError
from cairn.sdk.artifact import Artifact
from cairn.storage.references.base import HandlerOptions
from cairn.storage.references.http import HTTPHandler
from refservers import HttpObject, HttpServer

LogFn = Callable[[Artifact], Artifact]


def _cache_file(cache: Path, url: str, etag: str) -> Path:
    key = etag_cache_key(url, etag)
    return cache / "obj" / "etag" / key[:2] / key[2:]


def test_entry_from_etag_and_length(cairn_dir: Path, http_server: HttpServer) -> None:
    http_server.objects["/h/a.csv"] = HttpObject(b"a,b\n1,2\n", '"abc123"')
    url = f"{http_server.url}/h/a.csv"
    art = Artifact("web", "dataset")
    [entry] = art.add_reference(url)
    assert entry.to_json() == {
        "digest": "abc123",
        "ref": url,
        "size": 8,
        "extra": {"etag": '"abc123"'},
    }
    assert entry.path == "a.csv"


def test_no_etag_means_the_url_is_the_digest(cairn_dir: Path, http_server: HttpServer) -> None:
    http_server.objects["/h/plain.txt"] = HttpObject(b"plain", None)
    url = f"{http_server.url}/h/plain.txt"
    [entry] = Artifact("web", "dataset").add_reference(url, name="p.txt")
    assert (entry.path, entry.digest, entry.ref, entry.size, entry.extra) == (
        "p.txt", url, url, 5, {},
    )  # fmt: skip


def test_redirects_record_the_final_url(cairn_dir: Path, http_server: HttpServer) -> None:
    http_server.objects["/h/final.bin"] = HttpObject(b"final", '"f1"')
    http_server.redirects["/h/moved.bin"] = "/h/final.bin"
    [entry] = Artifact("web", "dataset").add_reference(f"{http_server.url}/h/moved.bin")
    assert entry.ref == f"{http_server.url}/h/final.bin"
    assert entry.path == "moved.bin"


def test_checksum_false_records_the_uri_only(cairn_dir: Path, http_server: HttpServer) -> None:
    before = len(http_server.requests)
    uri = f"{http_server.url}/h/x.csv?y=1"
    [entry] = Artifact("web", "dataset").add_reference(uri, checksum=False)
    assert entry.to_json() == {"digest": uri, "ref": uri}
    assert entry.path == "x.csv?y=1"
    assert len(http_server.requests) == before  # nothing fetched


def test_download_goes_through_the_etag_cache(
    cairn_dir: Path, tmp_path: Path, http_server: HttpServer, log: LogFn
) -> None:
    http_server.objects["/h/cached.bin"] = HttpObject(b"cached bytes", '"c1"')
    url = f"{http_server.url}/h/cached.bin"
    art = Artifact("web", "dataset")
    art.add_reference(url)
    log(art)
    root = Path(art.download(tmp_path / "out"))
    assert (root / "cached.bin").read_bytes() == b"cached bytes"
    cached = _cache_file(tmp_path / "cache", url, "c1")
    assert cached.read_bytes() == b"cached bytes"
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []
    fetched = http_server.requests.count("/h/cached.bin")
    art.download(tmp_path / "again")
    assert (tmp_path / "again" / "cached.bin").read_bytes() == b"cached bytes"
    assert http_server.requests.count("/h/cached.bin") == fetched  # served by the cache


def test_changed_and_vanished_objects(
    cairn_dir: Path, tmp_path: Path, http_server: HttpServer, log: LogFn
) -> None:
    http_server.objects["/h/v.txt"] = HttpObject(b"one", '"v1"')
    http_server.objects["/h/gone.txt"] = HttpObject(b"gone", '"g1"')
    art = Artifact("web", "dataset")
    art.add_reference(f"{http_server.url}/h/v.txt")
    art.add_reference(f"{http_server.url}/h/gone.txt")
    log(art)
    http_server.objects["/h/v.txt"] = HttpObject(b"two", '"v2"')
    del http_server.objects["/h/gone.txt"]
    with pytest.raises(ChangedReferenceError) as changed:
        art.get_entry("v.txt").download(str(tmp_path / "a"))
    assert str(changed.value) == (
        f"Digest mismatch for url '{http_server.url}/h/v.txt': expected 'v1' but found 'v2' "
        "(entry 'v.txt')"
    )
    assert isinstance(changed.value, ValueError)
    with pytest.raises(MissingReferenceError, match=r"Unable to find .*/h/gone.txt.*'gone.txt'"):
        art.get_entry("gone.txt").download(str(tmp_path / "a"))
    with pytest.warns(UserWarning) as caught:
        art.download(tmp_path / "b", allow_missing_references=True)
    messages = sorted(str(w.message) for w in caught)
    assert messages[0].startswith("Skipped 'gone.txt': Unable to find")
    assert messages[1].startswith("Skipped 'v.txt': Digest mismatch")
    assert not (tmp_path / "b" / "v.txt").exists()
    assert not (tmp_path / "a" / "v.txt").exists()


def test_credentials_never_enter_a_manifest(cairn_dir: Path, http_server: HttpServer) -> None:
    art = Artifact("web", "dataset")
    host = http_server.url.removeprefix("http://")
    with pytest.raises(ValueError, match="remove the user-info") as userinfo:
        art.add_reference(f"http://alice:s3cret@{host}/h/a.csv")
    assert "s3cret" not in str(userinfo.value) and "alice" not in str(userinfo.value)
    signed = [
        "https://bucket.s3.amazonaws.com/k?X-Amz-Algorithm=A&X-Amz-Signature=deadbeef",
        "https://storage.googleapis.com/b/k?X-Goog-Signature=deadbeef",
        "https://example.com/k?sv=2020&se=2030&sig=deadbeef",
        "s3://bucket/key?X-Amz-Security-Token=deadbeef",
    ]
    for uri in signed:
        with pytest.raises(ValueError, match="signing query parameter") as info:
            art.add_reference(uri, checksum=False)
        assert "deadbeef" not in str(info.value)
    assert art.manifest.entries == {}


def test_address_check_sees_every_hop(http_server: HttpServer) -> None:
    """A server passes an address check; it is called for redirects too."""
    port = http_server.url.rsplit(":", 1)[1]
    http_server.objects["/h/target"] = HttpObject(b"t", '"t"')
    http_server.redirects["/h/hop"] = f"http://localhost:{port}/h/target"
    seen: list[str] = []

    def refuse_localhost(host: str) -> None:
        seen.append(host)
        if host == "localhost":
            raise ValueError(f"Refusing to fetch from {host}")

    handler = HTTPHandler(HandlerOptions(address_check=refuse_localhost))
    [entry] = handler.store_path(f"{http_server.url}/h/target", None, True, None)
    assert entry.digest == "t"
    with pytest.raises(ValueError, match="Refusing to fetch from localhost"):
        handler.store_path(f"{http_server.url}/h/hop", None, True, None)
    assert seen[-2:] == ["127.0.0.1", "localhost"]
