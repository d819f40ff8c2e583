"""gs:// references against fake-gcs-server (in-memory backend, keeps generations; spec §5.3)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cairn.errors import ChangedReferenceError, MissingReferenceError
from cairn.sdk.artifact import Artifact

LogFn = Callable[[Artifact], Artifact]


def _bucket(gcs: Any, versioned: bool = True) -> Any:
    bucket = gcs.bucket(f"b-{uuid.uuid4().hex[:12]}")
    bucket.versioning_enabled = versioned
    return gcs.create_bucket(bucket)


def test_single_object_records_etag_and_generation(gcs: Any) -> None:
    bucket = _bucket(gcs)
    bucket.blob("dir/a.txt").upload_from_string(b"hello")
    blob = bucket.get_blob("dir/a.txt")
    [entry] = Artifact("g", "dataset").add_reference(f"gs://{bucket.name}/dir/a.txt")
    assert entry.path == "a.txt"
    assert entry.to_json() == {
        "digest": blob.etag,
        "ref": f"gs://{bucket.name}/dir/a.txt",
        "size": 5,
        "extra": {"versionID": blob.generation},
    }


def test_prefix_skips_folder_objects_and_respects_max_objects(gcs: Any) -> None:
    bucket = _bucket(gcs, versioned=False)
    for name, body in {"d/": b"", "d/x": b"x", "d/s/y": b"yy", "e/z": b"z"}.items():
        bucket.blob(name).upload_from_string(body)
    entries = Artifact("g", "dataset").add_reference(f"gs://{bucket.name}/d/", name="n")
    assert sorted((e.path, e.size) for e in entries) == [("n/s/y", 2), ("n/x", 1)]
    art = Artifact("g", "dataset")
    with pytest.raises(ValueError, match=r"^Exceeded 1 objects tracked under 'gs://"):
        art.add_reference(f"gs://{bucket.name}/d/", max_objects=1)
    assert art.manifest.entries == {}


def test_generation_pins_and_checksum_false(gcs: Any) -> None:
    bucket = _bucket(gcs)
    bucket.blob("k").upload_from_string(b"one")
    generation = bucket.get_blob("k").generation
    bucket.blob("k").upload_from_string(b"two")
    [entry] = Artifact("g", "dataset").add_reference(f"gs://{bucket.name}/k#{generation}")
    assert (entry.size, entry.extra["versionID"]) == (3, generation)
    with pytest.raises(ValueError, match=r"^Object does not exist: k#123$"):
        Artifact("g", "dataset").add_reference(f"gs://{bucket.name}/k#123")
    [plain] = Artifact("g", "dataset").add_reference(f"gs://{bucket.name}/a/k", checksum=False)
    assert plain.to_json() == {
        "digest": f"gs://{bucket.name}/a/k",
        "ref": f"gs://{bucket.name}/a/k",
    }
    assert plain.path == "a/k"


def test_download_fetches_the_recorded_generation(gcs: Any, tmp_path: Path, log: LogFn) -> None:
    bucket = _bucket(gcs)
    bucket.blob("m.bin").upload_from_string(b"generation one")
    art = Artifact("g", "model")
    art.add_reference(f"gs://{bucket.name}/m.bin")
    log(art)
    bucket.blob("m.bin").upload_from_string(b"generation two")
    assert (Path(art.download(tmp_path / "a")) / "m.bin").read_bytes() == b"generation one"


def test_vanished_generations_are_missing(gcs: Any, tmp_path: Path, log: LogFn) -> None:
    bucket = _bucket(gcs, versioned=False)
    bucket.blob("v").upload_from_string(b"one")
    art = Artifact("g", "dataset")
    art.add_reference(f"gs://{bucket.name}/v")
    log(art)
    bucket.blob("v").upload_from_string(b"two")  # unversioned: the old generation is gone
    with pytest.raises((MissingReferenceError, ChangedReferenceError), match=r"entry 'v'|at gs://"):
        art.download(tmp_path / "x")
    with pytest.warns(UserWarning, match="^Skipped 'v'"):
        art.download(tmp_path / "y", allow_missing_references=True)
    assert not (tmp_path / "y" / "v").exists()
