"""Manifest JSON model: TV1/TV3/TV4 byte-for-byte, wandb reading rules, collisions."""

from __future__ import annotations

import hashlib
import json
import random
import string
from typing import Any

import pytest

from cairn.core.digest import XXH128, digest_bytes
from cairn.core.manifest import Manifest, ManifestEntry

TV1_BYTES = (
    b'{"version": 1, "storagePolicy": "wandb-storage-policy-v1", '
    b'"storagePolicyConfig": {"storageLayout": "V2"}, '
    b'"contents": {"a.txt": {"digest": "sZRqySSS0jR8YjW00mERhA==", "size": 6}, '
    b'"sub/b.bin": {"digest": "suqff86oMaSmOyE/QaiFWw==", "size": 1024}}}'
)


def tv1_manifest() -> Manifest:
    manifest = Manifest()
    manifest.add_entry(ManifestEntry("a.txt", "sZRqySSS0jR8YjW00mERhA==", size=6, local_path="/x"))
    manifest.add_entry(ManifestEntry("sub/b.bin", "suqff86oMaSmOyE/QaiFWw==", size=1024))
    return manifest


def test_tv1_manifest_json_and_digest() -> None:
    manifest = tv1_manifest()
    assert manifest.to_json_bytes() == TV1_BYTES
    assert manifest.to_json_bytes() == json.dumps(manifest.to_json()).encode()
    assert manifest.digest() == "a9de54bcfcda910d54642598a7c54bd5"
    assert manifest.size == 1030


def test_tv1_xxh128_variant() -> None:
    manifest = Manifest()
    for path, data in (("a.txt", b"hello\n"), ("sub/b.bin", bytes(range(256)) * 4)):
        entry = ManifestEntry(path, digest_bytes(data, XXH128), size=len(data))
        entry.extra["alg"] = "XXH128"
        manifest.add_entry(entry)
    first = manifest.entries["a.txt"]
    assert first.algorithm() == "xxh128"
    assert first.to_json() == {
        "digest": "a7qGx+Bp9W1aELQ18cjknA==",
        "size": 6,
        "extra": {"alg": "XXH128"},
    }
    assert manifest.digest(XXH128) == "abc3c6221133c03bdfec0c5c3c413574"


def test_tv3_read_and_reserialize() -> None:
    data: dict[str, Any] = {
        "version": 1,
        "storagePolicy": "wandb-storage-policy-v1",
        "storagePolicyConfig": {"storageLayout": "V2"},
        "contents": {
            "z/b.txt": {
                "digest": "sZRqySSS0jR8YjW00mERhA==",
                "birthArtifactID": "QXJ0aWZhY3Q6MQ==",
                "size": 6,
            },
            "a.csv": {
                "ref": "s3://bkt/a.csv",
                "digest": "abc123",
                "size": 10,
                "extra": {"etag": "abc123", "versionID": "v1"},
            },
        },
    }
    manifest = Manifest.from_json(data)
    assert manifest.digest() == "158745c831d03506e8c0529a6d25c293"
    contents = manifest.to_json()["contents"]
    assert list(contents) == ["z/b.txt", "a.csv"]
    assert list(contents["z/b.txt"]) == ["digest", "birthArtifactID", "size"]
    assert list(contents["a.csv"]) == ["digest", "ref", "size", "extra"]
    ref_entry = manifest.entries["a.csv"]
    assert (ref_entry.path, ref_entry.ref, ref_entry.algorithm()) == (
        "a.csv",
        "s3://bkt/a.csv",
        "md5",
    )
    assert manifest.entries["z/b.txt"].birth_artifact_id == "QXJ0aWZhY3Q6MQ=="
    assert Manifest.from_json(json.dumps(data)).to_json() == manifest.to_json()
    assert Manifest.from_json(manifest.to_json_bytes()) == manifest


def test_tv4_reference_entries() -> None:
    unknown = ManifestEntry("baz", "foo://bar/baz", ref="foo://bar/baz")
    assert json.dumps(unknown.to_json()) == '{"digest": "foo://bar/baz", "ref": "foo://bar/baz"}'
    artifact_ref = ManifestEntry("x", "d", ref="wandb-artifact://abc/x", size=0)
    assert artifact_ref.to_json() == {"digest": "d", "ref": "wandb-artifact://abc/x", "size": 0}


def test_reads_go_core_manifest() -> None:
    raw = (
        b'{"version":1,"storagePolicy":"wandb-storage-policy-v1",'
        b'"storagePolicyConfig":{"storageLayout":"V2"},"contents":{'
        b'"a.txt":{"digest":"sZRqySSS0jR8YjW00mERhA==","size":6,'
        b'"local_path":"/home/u/.local/share/wandb/artifacts/staging/tmpab12cd34",'
        b'"birthArtifactID":"QXJ0aWZhY3Q6MQ==","skip_cache":false},'
        b'"x\\u003cy":{"digest":"1B2M2Y8AsgTpgAmY7PhCfg==","size":0,"skip_cache":true,'
        b'"futureField":{"n":1}}}}'
    )
    manifest = Manifest.from_json(raw)
    entry = manifest.entries["a.txt"]
    assert entry.local_path is None
    assert entry.skip_cache is False
    assert entry.to_json() == {
        "digest": "sZRqySSS0jR8YjW00mERhA==",
        "birthArtifactID": "QXJ0aWZhY3Q6MQ==",
        "size": 6,
    }
    assert manifest.entries["x<y"].to_json() == {"digest": "1B2M2Y8AsgTpgAmY7PhCfg==", "size": 0}


def test_storage_region_and_none_config_values() -> None:
    manifest = Manifest(
        storage_policy_config={"storageLayout": "V2", "storageRegion": "coreweave-us"}
    )
    assert manifest.to_json()["storagePolicyConfig"] == {
        "storageLayout": "V2",
        "storageRegion": "coreweave-us",
    }
    manifest.storage_policy_config["storageRegion"] = None
    assert manifest.to_json()["storagePolicyConfig"] == {"storageLayout": "V2"}


def test_empty_manifest_and_missing_sections() -> None:
    assert Manifest().digest() == "64e7c61456b10382e2f3b571ac24b659"
    assert Manifest().size == 0
    bare = Manifest.from_json('{"version": 1, "storagePolicy": "wandb-storage-policy-v1"}')
    assert bare.entries == {}
    assert bare.storage_policy_config == {}


def test_unicode_path_is_ascii_escaped() -> None:
    manifest = Manifest()
    manifest.add_entry(ManifestEntry("é.txt", "FnkJHFqID69vteYIfrGy3A==", size=1))
    raw = manifest.to_json_bytes()
    assert b'"\\u00e9.txt"' in raw
    assert raw.isascii()
    assert Manifest.from_json(raw).entries["é.txt"].digest == "FnkJHFqID69vteYIfrGy3A=="
    header = "wandb-artifact-manifest-v1\né.txt:FnkJHFqID69vteYIfrGy3A==\n"
    assert manifest.digest() == hashlib.md5(header.encode("utf-8")).hexdigest()


def test_size_counts_unknown_as_zero() -> None:
    manifest = tv1_manifest()
    manifest.add_entry(ManifestEntry("ref", "foo://x", ref="foo://x"))
    assert manifest.size == 1030


def test_add_entry_collision_rule() -> None:
    manifest = tv1_manifest()
    same = ManifestEntry("a.txt", "sZRqySSS0jR8YjW00mERhA==", size=6)
    assert manifest.add_entry(same) is same
    assert manifest.entries["a.txt"] is same
    assert list(manifest.entries) == ["a.txt", "sub/b.bin"]
    changed = ManifestEntry("a.txt", "1B2M2Y8AsgTpgAmY7PhCfg==", size=0)
    with pytest.raises(ValueError) as info:
        manifest.add_entry(changed)
    assert str(info.value) == "Cannot add the same path twice: 'a.txt'"
    assert manifest.entries["a.txt"] is same
    manifest.add_entry(changed, overwrite=True)
    assert manifest.entries["a.txt"] is changed
    assert list(manifest.entries) == ["a.txt", "sub/b.bin"]


def test_remove_and_get_entry() -> None:
    manifest = tv1_manifest()
    assert manifest.get_entry_by_path("a.txt") is manifest.entries["a.txt"]
    assert manifest.get_entry_by_path("a") is None
    manifest.remove_entry("a.txt")
    assert list(manifest.entries) == ["sub/b.bin"]
    with pytest.raises(FileNotFoundError) as info:
        manifest.remove_entry("a.txt")
    assert str(info.value) == "Cannot remove missing entry: 'a.txt'"


def _header(**overrides: object) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": 1,
        "storagePolicy": "wandb-storage-policy-v1",
        "storagePolicyConfig": {"storageLayout": "V2"},
        "contents": {},
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"storagePolicy": "wandb-storage-policy-v1"},
            "Invalid manifest format. Must contain version field.",
        ),
        (_header(version=2), "Invalid manifest version."),
        (_header(version="1"), "Invalid manifest version."),
        (_header(version=True), "Invalid manifest version."),
        (_header(storagePolicy="other-policy"), "Failed to find storage policy 'other-policy'"),
        (_header(storagePolicy=None), "Failed to find storage policy 'None'"),
    ],
)
def test_from_json_wandb_errors(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        Manifest.from_json(data)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"\xff\xfe{",
        b"[1, 2]",
        json.dumps(_header(contents=[])),
        json.dumps(_header(storagePolicyConfig="V2")),
        json.dumps(_header(contents={"a": "digest"})),
        json.dumps(_header(contents={"a": {"size": 1}})),
        json.dumps(_header(contents={"a": {"digest": 5}})),
        json.dumps(_header(contents={"a": {"digest": "d", "size": -1}})),
        json.dumps(_header(contents={"a": {"digest": "d", "size": 1.5}})),
        json.dumps(_header(contents={"a": {"digest": "d", "size": True}})),
        json.dumps(_header(contents={"a": {"digest": "d", "ref": 3}})),
        json.dumps(_header(contents={"a": {"digest": "d", "birthArtifactID": []}})),
        json.dumps(_header(contents={"a": {"digest": "d", "extra": ["alg"]}})),
    ],
)
def test_from_json_rejects_malformed(data: bytes | str) -> None:
    with pytest.raises(ValueError):
        Manifest.from_json(data)


def test_from_json_entry_error_names_path() -> None:
    with pytest.raises(ValueError) as info:
        Manifest.from_json(_header(contents={"dir/x": {"digest": "d", "size": -1}}))
    assert str(info.value) == "Invalid manifest entry 'dir/x': size must be a non-negative integer"


def test_null_extra_reads_as_empty() -> None:
    manifest = Manifest.from_json(_header(contents={"a": {"digest": "d", "extra": None}}))
    assert manifest.entries["a"].extra == {}
    assert manifest.entries["a"].to_json() == {"digest": "d"}


def test_to_json_bytes_equals_json_dumps_of_to_json() -> None:
    # to_json_bytes formats common entries directly; it must stay byte for byte json.dumps.
    rnd = random.Random(9)
    alphabet = string.ascii_letters + 'é/"\\\n\u2028😀 '
    for trial in range(60):
        manifest = Manifest()
        if trial % 3 == 0:
            manifest.storage_policy_config["storageRegion"] = "eu-é"
        if trial % 5 == 0:
            manifest.storage_policy_config["unset"] = None
        for _ in range(rnd.randrange(0, 6000 if trial < 2 else 30)):
            path = "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(1, 12)))
            kind = rnd.randrange(6)
            sizes: list[int | None] = [None, 0, 5, 10**12]
            entry = ManifestEntry(
                path,
                "".join(rnd.choice(string.ascii_letters) for _ in range(22)) + "==",
                size=rnd.choice(sizes) if kind == 0 else rnd.randrange(10**9),
            )
            if kind == 1:
                entry.extra = {"alg": "XXH128"}
            elif kind == 2:
                entry.ref, entry.extra = "s3://b/k é", {"etag": "x"}
            elif kind == 3:
                entry.birth_artifact_id = "QXJ0aWZhY3Q6MQ=="
            elif kind == 4:
                entry.extra = {"alg": "XXH128", "z": [1, 2]}
            manifest.entries[path] = entry
        assert manifest.to_json_bytes() == json.dumps(manifest.to_json()).encode(), trial


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"version": 1, "storagePolicy": "wandb-storage-policy-v1", "contents": {"a": '
        + "[" * 5000
        + "]" * 5000
        + "}}",
    ],
)
def test_from_json_refuses_json_nested_too_deeply(text: str) -> None:
    """A ValueError (400 over HTTP), not json's RecursionError (500): found by the REST gate
    fuzzer (``tests/server/test_gate_fuzz_rest.py``) in a commit's ``manifest_json``."""
    for data in (text, text.encode()):
        with pytest.raises(ValueError, match="Nested too deeply"):
            Manifest.from_json(data)
