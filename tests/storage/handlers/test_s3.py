"""s3:// references against moto's S3 server mode, with bucket versioning (spec §5.2)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cairn.errors import MissingReferenceError
from cairn.sdk.artifact import Artifact

LogFn = Callable[[Artifact], Artifact]


def _bucket(s3: Any, versioned: bool) -> str:
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def _etag(s3: Any, bucket: str, key: str) -> str:
    return str(s3.head_object(Bucket=bucket, Key=key)["ETag"]).strip('"')


def test_single_object_in_a_versioned_bucket(s3: Any) -> None:
    bucket = _bucket(s3, versioned=True)
    put = s3.put_object(Bucket=bucket, Key="dir/a.csv", Body=b"a,b\n")
    [entry] = Artifact("s3", "dataset").add_reference(f"s3://{bucket}/dir/a.csv")
    etag = _etag(s3, bucket, "dir/a.csv")
    assert entry.path == "a.csv"
    assert entry.to_json() == {
        "digest": etag,
        "ref": f"s3://{bucket}/dir/a.csv",
        "size": 4,
        "extra": {"etag": etag, "versionID": put["VersionId"]},
    }


def test_prefix_listing_paths_and_skips(s3: Any) -> None:
    bucket = _bucket(s3, versioned=False)
    for key, body in {
        "data/x.txt": b"x",
        "data/sub/y.txt": b"yy",
        "data/empty": b"",
        "data2/z.txt": b"zzz",
        "other/w.txt": b"w",
    }.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    entries = Artifact("s3", "dataset").add_reference(f"s3://{bucket}/data")
    assert sorted((e.path, e.ref, e.size) for e in entries) == [
        ("data2/z.txt", f"s3://{bucket}/data2/z.txt", 3),  # plain string prefix, as wandb
        ("sub/y.txt", f"s3://{bucket}/data/sub/y.txt", 2),
        ("x.txt", f"s3://{bucket}/data/x.txt", 1),
    ]
    assert all("versionID" not in e.extra for e in entries)  # unversioned bucket
    named = Artifact("s3", "dataset").add_reference(f"s3://{bucket}/data/", name="d")
    assert sorted(e.path for e in named) == ["d/sub/y.txt", "d/x.txt"]
    whole = Artifact("s3", "dataset").add_reference(f"s3://{bucket}")
    assert len(whole) == 4


def test_max_objects_overflow_is_an_error(s3: Any) -> None:
    bucket = _bucket(s3, versioned=False)
    for i in range(3):
        s3.put_object(Bucket=bucket, Key=f"p/{i}.txt", Body=b"x")
    art = Artifact("s3", "dataset")
    with pytest.raises(ValueError, match=rf"^Exceeded 2 objects tracked under 's3://{bucket}/p'"):
        art.add_reference(f"s3://{bucket}/p", max_objects=2)
    assert art.manifest.entries == {}
    assert len(art.add_reference(f"s3://{bucket}/p", max_objects=3)) == 3


def test_checksum_false_records_the_uri(s3: Any) -> None:
    [entry] = Artifact("s3", "dataset").add_reference("s3://nobucket/some/key", checksum=False)
    assert entry.to_json() == {"digest": "s3://nobucket/some/key", "ref": "s3://nobucket/some/key"}
    assert entry.path == "some/key"


def test_versioned_download_fetches_the_recorded_version(
    s3: Any, tmp_path: Path, log: LogFn
) -> None:
    bucket = _bucket(s3, versioned=True)
    first = s3.put_object(Bucket=bucket, Key="m.bin", Body=b"version one")
    art = Artifact("s3", "model")
    art.add_reference(f"s3://{bucket}/m.bin")
    pinned = Artifact("s3pin", "model")
    s3.put_object(Bucket=bucket, Key="m.bin", Body=b"version two!")
    [entry] = pinned.add_reference(
        f"s3://{bucket}/m.bin?versionId={first['VersionId']}", name="pinned.bin"
    )
    assert entry.extra["versionID"] == first["VersionId"]
    assert entry.ref == f"s3://{bucket}/m.bin"  # the query is dropped from the ref
    log(art)
    log(pinned)
    assert (Path(art.download(tmp_path / "a")) / "m.bin").read_bytes() == b"version one"
    assert (Path(pinned.download(tmp_path / "p")) / "pinned.bin").read_bytes() == b"version one"


def test_unversioned_changes_and_deletions(s3: Any, tmp_path: Path, log: LogFn) -> None:
    bucket = _bucket(s3, versioned=False)
    s3.put_object(Bucket=bucket, Key="c.txt", Body=b"one")
    s3.put_object(Bucket=bucket, Key="d.txt", Body=b"two")
    art = Artifact("s3", "dataset")
    art.add_reference(f"s3://{bucket}/c.txt")
    art.add_reference(f"s3://{bucket}/d.txt")
    log(art)
    s3.put_object(Bucket=bucket, Key="c.txt", Body=b"changed")
    s3.delete_object(Bucket=bucket, Key="d.txt")
    with pytest.raises(MissingReferenceError, match=r"Couldn't find object version for .*c\.txt"):
        art.get_entry("c.txt").download(str(tmp_path / "x"))
    with pytest.raises(MissingReferenceError, match=rf"^Unable to find d.txt at s3://{bucket}/"):
        art.get_entry("d.txt").download(str(tmp_path / "x"))
    with pytest.warns(UserWarning, match="Skipped"):
        art.download(tmp_path / "y", allow_missing_references=True)
    assert not (tmp_path / "y").exists() or list((tmp_path / "y").iterdir()) == []


def test_a_versioned_object_that_changed_is_found_by_etag(
    s3: Any, tmp_path: Path, log: LogFn
) -> None:
    """An entry without versionID (added before versioning was on) still finds its bytes."""
    bucket = _bucket(s3, versioned=False)
    s3.put_object(Bucket=bucket, Key="e.txt", Body=b"old bytes")
    art = Artifact("s3", "dataset")
    [entry] = art.add_reference(f"s3://{bucket}/e.txt")
    assert "versionID" not in entry.extra
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="e.txt", Body=b"old bytes")  # same ETag, now versioned
    s3.put_object(Bucket=bucket, Key="e.txt", Body=b"new bytes!")
    log(art)
    assert (Path(art.download(tmp_path / "z")) / "e.txt").read_bytes() == b"old bytes"
