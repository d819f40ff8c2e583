"""Re-logging the latest version byte for byte (the commit's fast no-op path), and the
blob check of a manifest whose entries share content."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from cairn.core.manifest import Manifest
from cairn.errors import CommError, NotFoundError
from cairn.protocol import CommitRequest
from cairn.service import commit as commit_module
from cairn.service.backend import EmbeddedBackend

MakeRequest = Callable[..., CommitRequest]


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {
        os.path.join(d, n): (
            os.stat(os.path.join(d, n)).st_size,
            os.stat(os.path.join(d, n)).st_mtime_ns,
        )
        for d, _, names in os.walk(root)
        for n in names
    }


def test_identical_relog_is_a_noop_that_writes_no_blob(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    request = make_request({"a": b"1", "b/c": b"2"}, tags=["t"])
    first = backend.commit_version(request).version
    blobs = backend.settings.cairn_dir / "blobs"
    before = _tree(blobs)
    again = backend.commit_version(dataclasses.replace(request, aliases=["best"], tags=["u"]))
    assert again.created is False
    assert again.version.id == first.id
    assert (again.version.size, again.version.file_count) == (2, 2)
    assert again.version.aliases == ["latest", "best"]
    assert again.version.tags == ["t", "u"]
    assert _tree(blobs) == before
    assert backend.read_manifest(first.id) == request.manifest_bytes()


def test_identical_manifest_with_another_digest_is_still_refused(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    request = make_request({"a": b"1"})
    backend.commit_version(request)
    with pytest.raises(ValueError, match="does not match its manifest"):
        backend.commit_version(dataclasses.replace(request, digest="0" * 32))
    with pytest.raises(ValueError):
        backend.commit_version(dataclasses.replace(request, digest_algorithm="XXH128"))
    assert backend.list_versions("tester", "proj", "data", None, 10).total == 1


def test_relog_after_a_newer_version_makes_a_new_version(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    old = make_request({"a": b"1"})
    backend.commit_version(old)
    backend.commit_version(make_request({"a": b"2"}))
    again = backend.commit_version(old)
    assert again.created is True
    assert again.version.version_index == 2
    assert (again.version.size, again.version.file_count) == (1, 1)


def test_shared_missing_content_is_refused_naming_the_first_path(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    request = make_request({"x/first": b"lost", "y/second": b"lost"}, ingest=False)
    with pytest.raises(CommError, match=r"x/first"):
        backend.commit_version(request)
    with pytest.raises(NotFoundError):  # nothing was created
        backend.list_versions("tester", "proj", "data", None, 10)


class _Unserialisable(Manifest):
    def to_json_bytes(self) -> bytes:
        raise AssertionError("a re-log must not serialise its manifest")


def test_relog_from_this_process_never_serialises_its_manifest(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    request = make_request({"a": b"1", "b": b"2"})
    first = backend.commit_version(request).version
    manifest = _Unserialisable.from_json(request.manifest_bytes())
    in_process = dataclasses.replace(request, manifest_json=None, manifest=manifest)
    again = backend.commit_version(dataclasses.replace(in_process, aliases=["best"]))
    assert (again.created, again.version.id) == (False, first.id)
    assert again.version.aliases == ["latest", "best"]


def test_a_version_landing_during_a_relog_gets_the_full_check(
    backend: EmbeddedBackend, make_request: MakeRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = make_request({"a": b"1", "b": b"22"})
    backend.commit_version(old)
    newer = make_request({"a": b"3"})
    relogs_latest = commit_module._relogs_latest

    landed: list[bool] = []

    def another_lands_meanwhile(*args: object) -> bool:
        found = relogs_latest(*args)  # type: ignore[arg-type]
        if not landed:
            landed.append(True)
            backend.commit_version(newer)  # after the check, before the commit's lock
        return found

    monkeypatch.setattr(commit_module, "_relogs_latest", another_lands_meanwhile)
    manifest = Manifest.from_json(old.manifest_bytes())
    again = backend.commit_version(dataclasses.replace(old, manifest_json=None, manifest=manifest))
    assert again.created is True
    assert again.version.version_index == 2
    assert (again.version.size, again.version.file_count) == (3, 2)
    assert backend.read_manifest(again.version.id) == old.manifest_bytes()
