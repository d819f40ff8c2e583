"""Digest arithmetic shared by every layer: entry digests, artifact digests, blob keys, ids.

W&B writes entry digests as base64 of the raw hash (MD5 by default, XXH128 when the artifact
was created with ``digest_algorithm="XXH128"``), the artifact digest as lowercase hex over the
sorted ``path:digest`` lines (spec §1.3-1.4), and GraphQL artifact ids as base64 of
``"Artifact:<pk>"``. Keeping all of that here means the store, the database and the SDK
agree byte for byte, and the test vectors TV1-TV4 pin it down. Pure functions, no I/O.

Two spellings of an algorithm exist on purpose:

- artifact level (``Artifact(digest_algorithm=...)``, stored per version): ``"MD5"`` / ``"XXH128"``;
- entry level (blob-key directory names, ``new_hasher`` argument): ``"md5"`` / ``"xxh128"``.

Functions taking an entry-level algorithm also accept the artifact-level spelling, because the
two map onto each other by case alone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import TYPE_CHECKING, Protocol

import xxhash

if TYPE_CHECKING:
    from collections.abc import Iterable

MD5 = "md5"
XXH128 = "xxh128"

_ARTIFACT_LEVEL = {"MD5": MD5, "XXH128": XXH128}
_DIGEST_SIZE = 16  # both MD5 and XXH128 produce 16 raw bytes
# Canonical base64 of 16 bytes: 21 full characters, one holding the last 2 bits (its low 4
# bits zero: A, Q, g or w) and the padding; the one spelling ``b64`` produces.
_CANONICAL_DIGEST = re.compile(r"[A-Za-z0-9+/]{21}[AQgw]==")
_MANIFEST_HEADER = b"wandb-artifact-manifest-v1\n"
_ARTIFACT_ID_PREFIX = "Artifact:"


class Hasher(Protocol):
    """The part of ``hashlib``'s hash interface Cairn uses (``xxhash`` objects fit too)."""

    def update(self, data: bytes | memoryview, /) -> None: ...

    def digest(self) -> bytes: ...

    def hexdigest(self) -> str: ...

    def copy(self) -> Hasher: ...


def normalize_digest_algorithm(value: str | None) -> str:
    """Return the artifact-level algorithm name for ``Artifact(digest_algorithm=value)``.

    ``"XXH128"`` stays ``"XXH128"``; ``None`` and every other string mean ``"MD5"``, as in
    wandb (unknown values are silently MD5). Matching is exact (``"xxh128"`` is MD5 too).
    Raises nothing.
    """
    return "XXH128" if value == "XXH128" else "MD5"


def entry_algorithm(digest_algorithm: str) -> str:
    """Map an artifact-level algorithm (``"MD5"``/``"XXH128"``) to its entry-level id.

    Unknown values are MD5 (see :func:`normalize_digest_algorithm`). Raises nothing.
    """
    return _ARTIFACT_LEVEL[normalize_digest_algorithm(digest_algorithm)]


def _entry_algorithm_id(algorithm: str) -> str:
    """Accept ``"md5"``/``"xxh128"`` in either case; raise ``ValueError`` on anything else."""
    lowered = algorithm.lower()
    if lowered not in (MD5, XXH128):
        raise ValueError(f"Unknown digest algorithm: {algorithm!r}")
    return lowered


def new_hasher(algorithm: str) -> Hasher:
    """Return a fresh hash object for an entry-level algorithm (``"md5"`` or ``"xxh128"``).

    XXH128 is ``xxhash.xxh3_128`` (the same function as ``xxhash.xxh128``; TV1 checks it).
    Raises ``ValueError`` for an unknown algorithm.
    """
    if _entry_algorithm_id(algorithm) == MD5:
        return hashlib.md5(usedforsecurity=False)
    hasher: Hasher = xxhash.xxh3_128()
    return hasher


def b64(raw: bytes) -> str:
    """Standard base64 (with padding) of raw digest bytes, as W&B writes entry digests."""
    return binascii.b2a_base64(raw, newline=False).decode("ascii")


def b64_to_hex(b64: str) -> str:
    """Decode a base64 digest to lowercase hex (wandb ``b64_to_hex_id``).

    Raises ``ValueError`` if the text is not valid base64.
    """
    try:
        raw = base64.b64decode(b64, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"Not a base64 digest: {b64!r}") from exc
    return raw.hex()


def hex_to_b64(hex: str) -> str:
    """Encode a hex digest as standard base64 (wandb ``hex_to_b64_id``).

    Raises ``ValueError`` if the text is not valid hex.
    """
    return base64.standard_b64encode(bytes.fromhex(hex)).decode("ascii")


def digest_bytes(data: bytes, algorithm: str = MD5) -> str:
    """Return the base64 entry digest of ``data``.

    Raises ``ValueError`` for an unknown algorithm.
    """
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return b64(hasher.digest())


_DIGEST_BATCH = 4096  # manifest lines hashed per update (bounded memory for huge manifests)


def artifact_digest(entries: Iterable[tuple[str, str]], algorithm: str = MD5) -> str:
    """Return the artifact digest (lowercase hex) of ``(path, entry digest)`` pairs (spec §1.4).

    The pairs are sorted by path (code-point order) and hashed as
    ``b"wandb-artifact-manifest-v1\\n"`` followed by one ``path:digest\\n`` line per entry.
    Raises ``ValueError`` for an unknown algorithm.
    """
    hasher = new_hasher(algorithm)
    hasher.update(_MANIFEST_HEADER)
    ordered = sorted(entries, key=lambda pair: pair[0])
    for start in range(0, len(ordered), _DIGEST_BATCH):  # one update per batch of lines
        lines = "".join(
            f"{path}:{digest}\n" for path, digest in ordered[start : start + _DIGEST_BATCH]
        )
        hasher.update(lines.encode())
    return hasher.hexdigest()


def is_blob_digest(digest: str) -> bool:
    """Whether ``digest`` is the canonical base64 of 16 bytes (an MD5 or XXH128 entry
    digest that :func:`blob_key` accepts). Raises nothing."""
    return _CANONICAL_DIGEST.fullmatch(digest) is not None


def blob_key(digest: str, algorithm: str) -> str:
    """Return the content-addressed relative key of a blob, e.g. ``"md5/b1/946ac9...11184"``.

    The key is ``<algorithm>/<hex[0:2]>/<hex[2:]>`` like the W&B cache (spec §2.2). Raises
    ``ValueError`` if ``digest`` is not strict base64 of exactly 16 bytes, or if the algorithm
    is unknown, so a reference digest (an ETag, a URI) can never become a path.
    """
    alg = _entry_algorithm_id(algorithm)
    if not _CANONICAL_DIGEST.fullmatch(digest):
        raise ValueError(f"Not a {alg} digest: {digest!r}")
    hex_digest = base64.b64decode(digest).hex()
    return f"{alg}/{hex_digest[:2]}/{hex_digest[2:]}"


def encode_artifact_id(pk: int) -> str:
    """Return the wire id of a version: base64 of ``"Artifact:<pk>"`` (W&B GraphQL id form).

    Raises ``ValueError`` for a negative ``pk``.
    """
    if pk < 0:
        raise ValueError(f"Artifact id must not be negative: {pk}")
    return b64(f"{_ARTIFACT_ID_PREFIX}{pk}".encode("ascii"))


def decode_artifact_id(artifact_id: str) -> int:
    """Inverse of :func:`encode_artifact_id`.

    Raises ``ValueError`` if ``artifact_id`` is not base64 of ``"Artifact:"`` plus ASCII digits.
    """
    try:
        text = base64.b64decode(artifact_id, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"Invalid artifact id: {artifact_id!r}") from exc
    number = text.removeprefix(_ARTIFACT_ID_PREFIX)
    if number == text or not (number.isascii() and number.isdigit()):
        raise ValueError(f"Invalid artifact id: {artifact_id!r}")
    return int(number)


def etag_cache_key(url: str, etag: str) -> str:
    """Return the hex cache key of a reference: ``sha256(sha256(url) || sha256(etag))`` (TV4).

    Raises nothing.
    """
    inner = hashlib.sha256(url.encode()).digest() + hashlib.sha256(etag.encode()).digest()
    return hashlib.sha256(inner).hexdigest()
