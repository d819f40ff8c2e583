"""Listing collections and types, and getting one collection."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import pytest

from cairn.errors import CommError
from cairn.protocol import CommitRequest
from cairn.service.backend import EmbeddedBackend

MakeRequest = Callable[..., CommitRequest]


@pytest.fixture
def populated(backend: EmbeddedBackend, make_request: MakeRequest) -> None:
    backend.commit_version(make_request({"f": b"1"}, collection="images"))
    backend.commit_version(make_request({"f": b"2"}, collection="images", aliases=["prod"]))
    backend.commit_version(make_request({"f": b"3"}, collection="weights", type="model"))


def test_list_collections(backend: EmbeddedBackend, populated: None) -> None:
    names = [c.name for c in backend.list_collections("tester", "proj", None)]
    assert names == ["images", "weights"]
    models = backend.list_collections("tester", "proj", "model")
    assert [(c.name, c.type) for c in models] == [("weights", "model")]
    assert backend.list_collections("tester", "proj", "unknown-type") == []


def test_get_collection(backend: EmbeddedBackend, populated: None) -> None:
    info = backend.get_collection("tester", "proj", "images")
    assert info.version_count == 2
    assert sorted(info.aliases) == ["latest", "prod"]
    assert info.is_sequence is True
    assert info.type == "dataset"
    assert base64.b64decode(info.id).decode().startswith("ArtifactCollection:")
    with pytest.raises(CommError, match="artifact collection 'tester/proj/nope' not found"):
        backend.get_collection("tester", "proj", "nope")


def test_list_types(backend: EmbeddedBackend, populated: None) -> None:
    types = backend.list_types("tester", "proj")
    assert [(t.entity, t.project, t.name) for t in types] == [
        ("tester", "proj", "dataset"),
        ("tester", "proj", "model"),
    ]
    for each in types:  # when the type was first used in the project
        assert each.created_at is not None
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", each.created_at)


def test_unknown_project(backend: EmbeddedBackend) -> None:
    with pytest.raises(CommError, match="project 'tester/ghost' not found"):
        backend.list_types("tester", "ghost")
    with pytest.raises(CommError, match="project 'tester/ghost' not found"):
        backend.list_collections("tester", "ghost", None)
