"""Resolving, fetching and listing versions."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cairn.core.digest import encode_artifact_id
from cairn.errors import CommError
from cairn.protocol import CommitRequest
from cairn.service.backend import EmbeddedBackend

MakeRequest = Callable[..., CommitRequest]


@pytest.fixture
def five(backend: EmbeddedBackend, make_request: MakeRequest) -> list[str]:
    """Five versions v0..v4 of tester/proj/data; v1 has alias "best". Returns their ids."""
    ids = []
    for i in range(5):
        aliases = ["best"] if i == 1 else []
        request = make_request({"f": str(i).encode()}, aliases=aliases)
        ids.append(backend.commit_version(request).version.id)
    return ids


def test_resolve_by_index_alias_and_latest(backend: EmbeddedBackend, five: list[str]) -> None:
    assert backend.resolve_version("tester", "proj", "data", "v3").id == five[3]
    assert backend.resolve_version("tester", "proj", "data", "best").id == five[1]
    latest = backend.resolve_version("tester", "proj", "data", "latest")
    assert latest.id == five[4]
    assert latest.aliases == ["latest"]


def test_latest_digest_follows_the_latest_alias(backend: EmbeddedBackend, five: list[str]) -> None:
    latest = backend.resolve_version("tester", "proj", "data", "latest")
    assert backend.latest_digest("tester", "proj", "data") == (latest.digest, "MD5")
    assert backend.latest_digest("tester", "proj", "other") is None
    assert backend.latest_digest("tester", "nowhere", "data") is None
    assert backend.latest_digest("someone", "proj", "data") is None
    backend.delete_version(five[4], delete_aliases=True)  # "latest" moves back to v3
    v3 = backend.resolve_version("tester", "proj", "data", "latest")
    assert v3.id == five[3]
    assert backend.latest_digest("tester", "proj", "data") == (v3.digest, "MD5")
    assert v3.digest != latest.digest


@pytest.mark.parametrize(
    ("project", "collection", "selector"),
    [
        ("proj", "data", "v9"),
        ("proj", "data", "nope"),
        ("proj", "other", "latest"),
        ("nowhere", "data", "v0"),
    ],
)
def test_resolve_unknown_names_what_was_not_found(
    backend: EmbeddedBackend, five: list[str], project: str, collection: str, selector: str
) -> None:
    with pytest.raises(CommError) as caught:
        backend.resolve_version("tester", project, collection, selector)
    assert str(caught.value) == f"artifact 'tester/{project}/{collection}:{selector}' not found"


def test_get_version_by_id(backend: EmbeddedBackend, five: list[str]) -> None:
    info = backend.get_version(five[2])
    assert (info.collection, info.version_index, info.aliases) == ("data", 2, [])
    with pytest.raises(CommError, match="not found"):
        backend.get_version(encode_artifact_id(10_000))
    with pytest.raises(CommError, match="not found"):
        backend.get_version("not-an-id")
    with pytest.raises(CommError, match="not found"):
        backend.read_manifest("not-an-id")


def test_list_versions_pages_newest_first(backend: EmbeddedBackend, five: list[str]) -> None:
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        page = backend.list_versions("tester", "proj", "data", cursor, 2)
        assert page.total == 5
        seen.extend(item.version_index for item in page.items)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
        assert isinstance(cursor, str)
    assert seen == [4, 3, 2, 1, 0]
    assert pages == 3


def test_list_versions_is_stable_when_versions_are_added(
    backend: EmbeddedBackend, make_request: MakeRequest, five: list[str]
) -> None:
    first = backend.list_versions("tester", "proj", "data", None, 2)
    backend.commit_version(make_request({"f": b"new"}))
    second = backend.list_versions("tester", "proj", "data", first.next_cursor, 2)
    assert [item.version_index for item in second.items] == [2, 1]
    assert second.total == 6


def test_list_versions_exact_page_has_no_next_cursor(
    backend: EmbeddedBackend, five: list[str]
) -> None:
    page = backend.list_versions("tester", "proj", "data", None, 5)
    assert len(page.items) == 5
    assert page.next_cursor is None


def test_list_versions_refuses_bad_arguments(backend: EmbeddedBackend, five: list[str]) -> None:
    with pytest.raises(ValueError):
        backend.list_versions("tester", "proj", "data", None, 0)
    with pytest.raises(ValueError):
        backend.list_versions("tester", "proj", "data", "abc", 2)
    with pytest.raises(CommError, match="artifact collection 'tester/proj/zzz' not found"):
        backend.list_versions("tester", "proj", "zzz", None, 2)
