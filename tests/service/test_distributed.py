"""Distributed versions: parts added by several writers, finished as one version."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import pytest

from cairn.core.manifest import Manifest
from cairn.errors import CommError, NotFoundError
from cairn.protocol import CommitRequest
from cairn.service.backend import EmbeddedBackend
from cairn.service.gc import plan_gc
from cairn.settings import Settings

MakeRequest = Callable[..., CommitRequest]


def _paths(backend: EmbeddedBackend, version_id: str) -> dict[str, int]:
    contents = json.loads(backend.read_manifest(version_id))["contents"]
    return {path: entry["size"] for path, entry in contents.items()}


def _finish(make_request: MakeRequest, files: dict[str, bytes], **fields: object) -> CommitRequest:
    return make_request(files, distributed_id="d1", **fields)


def test_parts_become_one_version_when_finished(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    backend.add_version_part(make_request({"shard0": b"zero"}, distributed_id="d1"))
    backend.add_version_part(make_request({"shard1": b"one!!"}, distributed_id="d1"))
    with pytest.raises(CommError):  # nothing is committed before the finish
        backend.resolve_version("tester", "proj", "data", "latest")

    done = backend.commit_version(
        _finish(make_request, {"index": b"i"}, aliases=["best"], description="all shards")
    ).version

    assert (done.version_index, done.file_count, done.size) == (0, 3, 10)
    assert sorted(done.aliases) == ["best", "latest"]
    assert done.description == "all shards"
    assert _paths(backend, done.id) == {"index": 1, "shard0": 4, "shard1": 5}
    manifest = Manifest.from_json(backend.read_manifest(done.id))
    assert done.digest == manifest.digest()


def test_a_finished_id_starts_a_new_version(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    backend.add_version_part(make_request({"a": b"1"}, distributed_id="d1"))
    first = backend.commit_version(_finish(make_request, {})).version
    backend.add_version_part(make_request({"b": b"2"}, distributed_id="d1"))
    second = backend.commit_version(_finish(make_request, {})).version
    assert (first.version_index, second.version_index) == (0, 1)
    assert _paths(backend, second.id) == {"b": 1}  # the finished parts are forgotten


def test_a_later_part_wins_a_path_and_ids_do_not_mix(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    backend.add_version_part(make_request({"same": b"old"}, distributed_id="d1"))
    backend.add_version_part(make_request({"same": b"newer"}, distributed_id="d1"))
    backend.add_version_part(make_request({"other": b"x"}, distributed_id="d2"))
    done = backend.commit_version(_finish(make_request, {})).version
    assert _paths(backend, done.id) == {"same": 5}


def test_finishing_nothing_is_refused(backend: EmbeddedBackend, make_request: MakeRequest) -> None:
    with pytest.raises(NotFoundError, match="no parts"):
        backend.commit_version(_finish(make_request, {}))


def test_bad_parts_are_refused_and_earlier_parts_kept(
    backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    backend.add_version_part(make_request({"dir/file": b"kept"}, distributed_id="d1"))
    with pytest.raises(ValueError, match="dir"):  # a file where a part has a folder
        backend.add_version_part(make_request({"dir": b"clash"}, distributed_id="d1"))
    with pytest.raises(ValueError, match="distributed_id"):
        backend.add_version_part(make_request({"x": b"1"}, distributed_id="d" * 129))
    with pytest.raises(ValueError, match="distributed_id"):
        backend.add_version_part(make_request({"x": b"1"}))
    tampered = make_request({"x": b"1"}, distributed_id="d1")
    with pytest.raises(ValueError, match="does not match"):
        backend.add_version_part(dataclasses.replace(tampered, digest="0" * 32))
    done = backend.commit_version(_finish(make_request, {})).version
    assert _paths(backend, done.id) == {"dir/file": 4}


def test_gc_keeps_what_unfinished_parts_added(
    settings: Settings, backend: EmbeddedBackend, make_request: MakeRequest
) -> None:
    backend.add_version_part(make_request({"big": b"part bytes"}, distributed_id="d1"))
    backend.commit_version(make_request({"other": b"x"}, collection="gone"))
    plan = plan_gc(settings, grace_seconds=0)
    assert plan.files == 0  # the part's file and manifest are live
    plan.execute()
    # the commit looks for every stored blob again after a collection (CommError if gone)
    done = backend.commit_version(_finish(make_request, {})).version
    assert _paths(backend, done.id) == {"big": 10}
