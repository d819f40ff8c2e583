"""Short-lived HMAC-signed transfer URLs for a directory blob store (DESIGN §4).

A signed URL names exactly one object and one operation: ``/blobs/<entity>/<algorithm>/
<hex digest>?op=put|get&size=<bytes>&exp=<unix time>&kid=<key id>&sig=<hex HMAC-SHA256>``;
a part of a multipart upload is ``.../<hex digest>/parts/<upload id>/<n>?op=part:<upload
id>:<n>&...``. The signature covers every one of those fields, so changing any of them
(another blob, another entity, a longer upload, a later expiry, a download turned upload,
another key) invalidates it. ``kid`` is the public id of the API key the URL was issued
to: the transfer checks, when it happens, that this key is live and its user still may
move the entity's blobs (``cairn.service.blob_access.grant_for_key``), or, for a URL that
also names a version (``vid``), still may read that version.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from urllib.parse import quote, urlencode

from cairn.core.digest import b64
from cairn.errors import AuthenticationError

OPS = ("put", "get")
ALGORITHMS = ("md5", "xxh128")


def digest_to_hex(digest: str) -> str:
    """The hex form of a base64 entry digest. Raises: ValueError (not a 16-byte digest)."""
    try:
        raw = base64.b64decode(digest, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"Invalid digest {digest!r}") from None
    if len(raw) != 16:
        raise ValueError(f"Invalid digest {digest!r}: expected 16 bytes")
    return raw.hex()


def hex_to_digest(value: str) -> str:
    """The base64 entry digest of a 32-hex-digit value. Raises: ValueError."""
    if len(value) != 32:
        raise ValueError(f"Invalid digest {value!r}")
    return b64(bytes.fromhex(value))


def _signature(
    secret: bytes,
    op: str,
    entity: str,
    algorithm: str,
    hexdigest: str,
    size: int,
    exp: int,
    key_id: str,
    version_id: str,
) -> str:
    fields = (op, entity, algorithm, hexdigest, str(size), str(exp), key_id, version_id)
    message = "\n".join(fields).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def sign(
    secret: bytes,
    base_url: str,
    op: str,
    entity: str,
    algorithm: str,
    digest: str,
    size: int,
    ttl_seconds: int,
    key_id: str,
    version_id: str = "",
    now: float | None = None,
) -> tuple[str, int]:
    """A signed URL (and its expiry, unix seconds) for ``op`` on one blob, issued to the
    API key ``key_id``; a download of a file of version ``version_id`` (its ``vid``) is
    allowed for as long as the key's user may read that version.

    Raises: ValueError (unknown op or algorithm, invalid digest).
    """
    if not (op in OPS or op.startswith("part:")) or algorithm not in ALGORITHMS:
        raise ValueError(f"Invalid transfer {op!r} of {algorithm!r}")
    hexdigest = digest_to_hex(digest)
    exp = int(now if now is not None else time.time()) + ttl_seconds
    sig = _signature(secret, op, entity, algorithm, hexdigest, size, exp, key_id, version_id)
    params = {"op": op, "size": size, "exp": exp, "kid": key_id}
    if version_id:
        params["vid"] = version_id
    query = urlencode({**params, "sig": sig})
    path = f"/blobs/{quote(entity, safe='')}/{algorithm}/{hexdigest}"
    if op.startswith("part:"):
        _, upload_id, number = op.split(":")
        path += f"/parts/{upload_id}/{number}"
    return f"{base_url.rstrip('/')}{path}?{query}", exp


def verify(
    secret: bytes,
    op: str,
    entity: str,
    algorithm: str,
    hexdigest: str,
    size: int,
    exp: int,
    key_id: str,
    version_id: str,
    sig: str,
    now: float | None = None,
) -> None:
    """Check a transfer request against its signature and expiry (the key ``key_id`` it
    was issued to is checked by the caller, against the database).

    Raises: AuthenticationError (bad signature, or expired).
    """
    expected = _signature(secret, op, entity, algorithm, hexdigest, size, exp, key_id, version_id)
    if not hmac.compare_digest(expected, sig):
        raise AuthenticationError("invalid transfer signature")
    if (now if now is not None else time.time()) > exp:
        raise AuthenticationError("transfer URL expired")
