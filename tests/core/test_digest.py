"""Digest arithmetic against the wandb 0.31.0 test vectors TV1-TV4 (spec §1.5)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from cairn.core import digest as d

HELLO = b"hello\n"
BIN = bytes(range(256)) * 4
TV2_FILES = {
    "B": b"4",
    "Z": b"",
    "a-b": b"1",
    "a.b": b"2",
    "a/b": b"3",
    "a_b": b"5",
    "é.txt": b"6",
}


def test_tv1_md5_entry_digests() -> None:
    assert d.digest_bytes(HELLO) == "sZRqySSS0jR8YjW00mERhA=="
    assert d.digest_bytes(BIN, d.MD5) == "suqff86oMaSmOyE/QaiFWw=="
    assert d.b64_to_hex("sZRqySSS0jR8YjW00mERhA==") == "b1946ac92492d2347c6235b4d2611184"
    assert d.b64_to_hex("suqff86oMaSmOyE/QaiFWw==") == "b2ea9f7fcea831a4a63b213f41a8855b"


def test_tv1_artifact_digest() -> None:
    entries = [("sub/b.bin", "suqff86oMaSmOyE/QaiFWw=="), ("a.txt", "sZRqySSS0jR8YjW00mERhA==")]
    assert d.artifact_digest(entries) == "a9de54bcfcda910d54642598a7c54bd5"
    expected_input = (
        b"wandb-artifact-manifest-v1\na.txt:sZRqySSS0jR8YjW00mERhA==\n"
        b"sub/b.bin:suqff86oMaSmOyE/QaiFWw==\n"
    )
    assert d.artifact_digest(entries) == hashlib.md5(expected_input).hexdigest()
    prefixed = [(f"data/{path}", digest) for path, digest in entries]
    assert d.artifact_digest(prefixed) == "b5bdbd575e5d6a79f0d0a89659f2db41"


def test_empty_artifact_digest() -> None:
    assert d.artifact_digest([]) == "64e7c61456b10382e2f3b571ac24b659"


def test_tv1_xxh128() -> None:
    a = d.digest_bytes(HELLO, d.XXH128)
    b = d.digest_bytes(BIN, "xxh128")
    assert a == "a7qGx+Bp9W1aELQ18cjknA=="
    assert b == "g4hehTu2ZAyocPkphDmNIg=="
    entries = [("a.txt", a), ("sub/b.bin", b)]
    assert d.artifact_digest(entries, d.XXH128) == "abc3c6221133c03bdfec0c5c3c413574"


def test_tv2_sort_order_and_unicode() -> None:
    digests = {path: d.digest_bytes(data) for path, data in TV2_FILES.items()}
    assert digests == {
        "Z": "1B2M2Y8AsgTpgAmY7PhCfg==",
        "a-b": "xMpCOKC5I4INzFCab3WEmw==",
        "a.b": "yB5yjZ1ML2NvBn+JzBSGLA==",
        "a/b": "7MvIfktc4v4oMI/Z8qe68w==",
        "B": "qH/2eaLz5x2RgaZ7dUISLA==",
        "a_b": "5No7f7vOI0XXdysGdKMY1Q==",
        "é.txt": "FnkJHFqID69vteYIfrGy3A==",
    }
    pairs = list(reversed(list(digests.items())))
    assert d.artifact_digest(pairs) == "72bbd9b569cafe81cb10601b113b3804"


def test_tv3_digest_with_reference() -> None:
    entries = [("z/b.txt", "sZRqySSS0jR8YjW00mERhA=="), ("a.csv", "abc123")]
    assert d.artifact_digest(entries) == "158745c831d03506e8c0529a6d25c293"


def test_tv4_reference_digests() -> None:
    assert d.digest_bytes(b"file:///data/a.txt") == "AlCpgpg+vJK96nZQZNExfg=="
    assert (
        d.etag_cache_key("https://example.com/x.csv", "abc123")
        == "e91b2c81a1d9f7a67c7cc228ec0414cb8c4d3b37b3b1cd1c879de23c404a6e64"
    )


def test_algorithm_names() -> None:
    assert d.normalize_digest_algorithm(None) == "MD5"
    assert d.normalize_digest_algorithm("MD5") == "MD5"
    assert d.normalize_digest_algorithm("XXH128") == "XXH128"
    assert d.normalize_digest_algorithm("sha256") == "MD5"
    assert d.entry_algorithm("MD5") == "md5"
    assert d.entry_algorithm("XXH128") == "xxh128"
    assert d.entry_algorithm("nonsense") == "md5"


def test_new_hasher_streams_like_one_shot() -> None:
    for algorithm in (d.MD5, d.XXH128, "MD5", "XXH128"):
        hasher = d.new_hasher(algorithm)
        hasher.update(BIN[:100])
        hasher.update(BIN[100:])
        assert d.b64(hasher.digest()) == d.digest_bytes(BIN, algorithm)
    with pytest.raises(ValueError, match="Unknown digest algorithm"):
        d.new_hasher("sha1")


def test_hex_b64_round_trip() -> None:
    assert d.hex_to_b64("b1946ac92492d2347c6235b4d2611184") == "sZRqySSS0jR8YjW00mERhA=="
    with pytest.raises(ValueError):
        d.b64_to_hex("not base64!")
    with pytest.raises(ValueError):
        d.hex_to_b64("xyz")


def test_blob_key_tv1_layout() -> None:
    assert d.blob_key("sZRqySSS0jR8YjW00mERhA==", d.MD5) == "md5/b1/946ac92492d2347c6235b4d2611184"
    assert d.blob_key("suqff86oMaSmOyE/QaiFWw==", "MD5") == "md5/b2/ea9f7fcea831a4a63b213f41a8855b"
    raw = base64.b64decode("a7qGx+Bp9W1aELQ18cjknA==").hex()
    assert d.blob_key("a7qGx+Bp9W1aELQ18cjknA==", d.XXH128) == f"xxh128/{raw[:2]}/{raw[2:]}"


@pytest.mark.parametrize(
    "digest",
    [
        "abc123",  # an ETag
        "file:///data/a.txt",  # a URI
        "",
        "../../../../etc/passwd",
        base64.b64encode(b"x" * 20).decode(),  # SHA-1 length
        "sZRqySSS0jR8YjW00mERhA==\n",
        "sZRqySSS0jR8YjW00mERhA",  # unpadded
    ],
)
def test_blob_key_rejects_non_digests(digest: str) -> None:
    with pytest.raises(ValueError):
        d.blob_key(digest, d.MD5)


def test_blob_key_rejects_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="Unknown digest algorithm"):
        d.blob_key("sZRqySSS0jR8YjW00mERhA==", "../md5")


def test_artifact_id_round_trip() -> None:
    assert d.encode_artifact_id(1) == "QXJ0aWZhY3Q6MQ=="
    assert d.decode_artifact_id("QXJ0aWZhY3Q6MQ==") == 1
    for pk in (0, 7, 10**12):
        assert d.decode_artifact_id(d.encode_artifact_id(pk)) == pk
    with pytest.raises(ValueError):
        d.encode_artifact_id(-1)


@pytest.mark.parametrize(
    "text", ["Run:1", "Artifact:", "Artifact:-1", "Artifact: 1", "Artifact:1x", "Artifact:١"]
)
def test_decode_artifact_id_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="Invalid artifact id"):
        d.decode_artifact_id(base64.b64encode(text.encode()).decode())


def test_decode_artifact_id_rejects_non_base64() -> None:
    with pytest.raises(ValueError, match="Invalid artifact id"):
        d.decode_artifact_id("not base64!")
    with pytest.raises(ValueError, match="Invalid artifact id"):
        d.decode_artifact_id(base64.b64encode(b"\xff\xfe").decode())
