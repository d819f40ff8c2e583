"""Committing versions: numbering, latest, aliases, the digest no-op, and refusals."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pytest

from cairn.core.digest import decode_artifact_id, digest_bytes
from cairn.core.manifest import Manifest, ManifestEntry
from cairn.errors import CommError
from cairn.protocol import CommitRequest
from cairn.service.backend import EmbeddedBackend
from cairn.service.resources import MANIFEST_ALGORITHM, open_store
from cairn.settings import Settings

MakeRequest = Callable[..., CommitRequest]


def test_first_commit_is_v0_with_latest(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    request = make_request({"a.txt": b"hello", "b/c.bin": b"\x00" * 10}, description="d")
    result = backend.commit_version(request)
    info = result.version
    assert result.created is True
    assert (info.entity, info.project, info.collection, info.version_index) == (
        "tester",
        "proj",
        "data",
        0,
    )
    assert (info.source_entity, info.source_project, info.source_collection) == (
        "tester",
        "proj",
        "data",
    )
    assert info.source_version_index == 0
    assert info.aliases == ["latest"]
    assert info.type == "dataset"
    assert info.digest == request.digest
    assert info.digest_algorithm == "MD5"
    assert (info.size, info.file_count) == (15, 2)
    assert info.description == "d"
    assert info.state == "COMMITTED"
    assert re.fullmatch(r"[0-9a-f]{12}", info.commit_hash)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info.created_at)
    assert info.updated_at == info.created_at
    assert decode_artifact_id(info.id) >= 1
    assert backend.read_manifest(info.id) == request.manifest_json


def test_versions_are_consecutive_and_latest_moves(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    infos = [backend.commit_version(make_request({"f": str(i).encode()})).version for i in range(3)]
    assert [v.version_index for v in infos] == [0, 1, 2]
    assert len({v.commit_hash for v in infos}) == 3
    assert backend.resolve_version("tester", "proj", "data", "latest").id == infos[2].id
    assert backend.resolve_version("tester", "proj", "data", "v0").aliases == []


def test_same_digest_as_latest_is_a_noop_that_applies_aliases_and_tags(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    first = backend.commit_version(make_request({"f": b"x"}, tags=["one"])).version
    again = backend.commit_version(
        make_request({"f": b"x"}, aliases=["best", "v7"], tags=["two", "one"])
    )
    assert again.created is False
    assert again.version.id == first.id
    assert again.version.version_index == 0
    assert again.version.aliases == ["latest", "best"]
    assert again.version.tags == ["one", "two"]
    page = backend.list_versions("tester", "proj", "data", None, 10)
    assert page.total == 1


def test_digest_of_an_older_version_makes_a_new_version(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    backend.commit_version(make_request({"f": b"x"}))
    backend.commit_version(make_request({"f": b"y"}))
    third = backend.commit_version(make_request({"f": b"x"}))
    assert third.created is True
    assert third.version.version_index == 2


def test_user_aliases_move_and_version_aliases_are_ignored(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    v0 = backend.commit_version(make_request({"f": b"0"}, aliases=["best", "v5", "latest"]))
    assert v0.version.aliases == ["latest", "best"]
    v1 = backend.commit_version(make_request({"f": b"1"}, aliases=["best", "best"]))
    assert v1.version.aliases == ["latest", "best"]
    assert backend.resolve_version("tester", "proj", "data", "v0").aliases == []
    assert backend.resolve_version("tester", "proj", "data", "best").version_index == 1
    with pytest.raises(CommError):
        backend.resolve_version("tester", "proj", "data", "v5")


@pytest.mark.parametrize("alias", ["a/b", "a:b", "", "x" * 129])
def test_bad_alias_is_refused_before_writing(
    backend: EmbeddedBackend, make_request: MakeRequest, alias: str
) -> None:
    with pytest.raises(ValueError):
        backend.commit_version(make_request({"f": b"x"}, aliases=[alias]))
    with pytest.raises(CommError):
        backend.get_collection("tester", "proj", "data")


def test_bad_tag_is_refused(backend: EmbeddedBackend, make_request: MakeRequest) -> None:
    with pytest.raises(ValueError, match=r"Invalid tag\(s\)"):
        backend.commit_version(make_request({"f": b"x"}, tags=["no.dots"]))


def test_other_type_under_same_name_is_refused(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    backend.commit_version(make_request({"f": b"x"}))
    with pytest.raises(ValueError) as caught:
        backend.commit_version(make_request({"f": b"y"}, type="model"))
    assert str(caught.value) == (
        "Artifact data already exists with type 'dataset'; cannot create another with type 'model'"
    )
    assert backend.list_versions("tester", "proj", "data", None, 10).total == 1


def test_missing_blob_is_refused_naming_the_path(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    request = make_request({"ok.txt": b"stored"})
    missing = make_request({"ok.txt": b"stored", "dir/lost.bin": b"never"}, ingest=False)
    backend.commit_version(request)
    with pytest.raises(CommError, match=r"dir/lost\.bin"):
        backend.commit_version(missing)
    assert backend.list_versions("tester", "proj", "data", None, 10).total == 1


def test_reference_entries_need_no_blob(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    request = make_request({"local": b"l"}, refs={"remote": "s3://bucket/key"})
    info = backend.commit_version(request).version
    assert info.file_count == 2


def test_digest_not_matching_manifest_is_refused(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    request = dataclasses.replace(make_request({"f": b"x"}), digest="0" * 32)
    with pytest.raises(ValueError, match="does not match its manifest"):
        backend.commit_version(request)


def test_malformed_manifest_is_refused(backend: EmbeddedBackend, make_request: MakeRequest) -> None:
    request = dataclasses.replace(make_request({"f": b"x"}), manifest_json=b"{not json")
    with pytest.raises(ValueError):
        backend.commit_version(request)


def test_invalid_names_are_refused(backend: EmbeddedBackend, make_request: MakeRequest) -> None:
    with pytest.raises(ValueError, match="Artifact name may only contain"):
        backend.commit_version(make_request({"f": b"x"}, collection="bad name"))
    with pytest.raises(ValueError):
        backend.commit_version(make_request({"f": b"x"}, project="a/b"))


def test_logged_by_run_and_unknown_run(backend: EmbeddedBackend, make_request: MakeRequest) -> None:
    backend.create_run("tester", "proj", "run1", None, "train", {})
    info = backend.commit_version(make_request({"f": b"x"}, run_id="run1")).version
    assert info.logged_by_run_id == "run1"
    with pytest.raises(CommError, match="run 'tester/proj/nope' not found"):
        backend.commit_version(make_request({"f": b"y"}, run_id="nope"))


@pytest.mark.parametrize(
    ("given", "seconds", "inherited"),
    [(None, None, True), (-1, None, True), (-2, None, False), (3600, 3600, False)],
)
def test_ttl_is_stored(
    backend: EmbeddedBackend,
    make_request: MakeRequest,
    given: int | None,
    seconds: int | None,
    inherited: bool,
) -> None:
    info = backend.commit_version(make_request({"f": b"x"}, ttl_duration_seconds=given)).version
    assert (info.ttl_duration_seconds, info.ttl_is_inherited) == (seconds, inherited)


def test_metadata_history_step_and_region_round_trip(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    request = make_request(
        {"f": b"x"},
        metadata={"acc": 0.5, "nested": {"k": [1, 2]}},
        history_step=4,
        storage_region="eu",
    )
    committed = backend.commit_version(request).version
    fetched = backend.get_version(committed.id)
    assert fetched == committed
    assert fetched.metadata == {"acc": 0.5, "nested": {"k": [1, 2]}}
    assert (fetched.history_step, fetched.storage_region) == (4, "eu")


def test_collections_are_independent(backend: EmbeddedBackend, make_request: MakeRequest) -> None:
    backend.commit_version(make_request({"f": b"x"}, collection="a"))
    other = backend.commit_version(make_request({"f": b"x"}, collection="b")).version
    elsewhere = backend.commit_version(make_request({"f": b"x"}, project="p2")).version
    assert other.version_index == 0
    assert elsewhere.version_index == 0


def test_a_manifest_whose_sizes_add_up_past_64_bits_is_refused(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    """Each entry's size is a valid integer, their sum (the version's size) is not one the
    database holds: refused as bad input, not stored."""
    manifest = Manifest()
    for name in ("a", "b"):
        uri = f"s3://bucket/{name}"
        manifest.add_entry(ManifestEntry(path=name, digest=uri, ref=uri, size=2**62))
    request = dataclasses.replace(
        make_request({}),
        digest=manifest.digest(),
        manifest_json=manifest.to_json_bytes(),
    )
    with pytest.raises(ValueError, match=r"Artifact size \(the sum of its entries' sizes\)"):
        backend.commit_version(request)
    with pytest.raises(CommError):
        backend.resolve_version("tester", "proj", "data", "latest")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"history_step": 2**63}, "history_step must be from 0 to"),
        ({"history_step": -1}, "history_step must be from 0 to"),
        ({"ttl_duration_seconds": 2**63}, "is over the maximum"),
        ({"ttl_duration_seconds": "60"}, "must be an integer"),
    ],
)
def test_a_number_out_of_range_is_refused_before_the_manifest_is_stored(
    settings: Settings,
    backend: EmbeddedBackend,
    make_request: MakeRequest,
    fields: dict[str, object],
    message: str,
) -> None:
    request = make_request({"f": b"x"}, **fields)
    with pytest.raises(ValueError, match=message):
        backend.commit_version(request)
    with pytest.raises(CommError):
        backend.resolve_version("tester", "proj", "data", "latest")
    store = open_store(settings)
    try:
        manifest_digest = digest_bytes(request.manifest_bytes(), MANIFEST_ALGORITHM)
        assert not store.blobs_of("tester").has(manifest_digest, MANIFEST_ALGORITHM)
    finally:
        store.close()
