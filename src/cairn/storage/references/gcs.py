"""``gs://bucket/key[#generation]`` references (spec §5.3), read with google-cloud-storage.

An object becomes one entry (digest = the object's ETag, ``extra.versionID`` = its
generation, always); a prefix (a key that is not an object, or ends with ``/``) becomes one
entry per object below it, ``/``-terminated "folder" objects skipped. More than
``max_objects`` objects is an error. Downloads fetch the recorded generation. The client
comes from the library's standard chain (``STORAGE_EMULATOR_HOST`` selects an emulator).
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from cairn.core.manifest import ManifestEntry
from cairn.core.paths import normalize_artifact_path
from cairn.errors import ChangedReferenceError, CommError, MissingExtraError, MissingReferenceError
from cairn.storage.references.base import (
    HandlerOptions,
    ReferenceHandler,
    entry_path,
    object_limit,
    refuse_credentials,
    too_many,
)

if TYPE_CHECKING:
    from pathlib import Path


def _parse(uri: str) -> tuple[str, str, int | None]:
    """``(bucket, key, generation or None)`` of a ``gs://`` URI.

    Raises ``ValueError`` for a fragment that is not a generation number.
    """
    parsed = urlsplit(uri)
    fragment = parsed.fragment
    if fragment and not fragment.isdigit():
        raise ValueError(f"Invalid generation in gs:// reference: '#{fragment}'")
    return parsed.netloc, parsed.path.lstrip("/"), int(fragment) if fragment else None


class GCSHandler(ReferenceHandler):
    """``gs://`` URIs."""

    schemes = ("gs",)

    def __init__(self, options: HandlerOptions) -> None:
        self._options = options
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        """The storage client (created once).

        Raises ``MissingExtraError`` naming ``cairn[gcs]`` when the library is missing.
        """
        with self._lock:
            if self._client is None:
                try:
                    from google.cloud import storage  # noqa: PLC0415 - the GCS client is optional
                except ImportError:
                    raise MissingExtraError(
                        "gs:// references require the google-cloud-storage library, run "
                        "pip install cairn[gcs]"
                    ) from None
                self._client = storage.Client()
            return self._client

    def store_path(
        self, uri: str, name: str | None, checksum: bool, max_objects: int | None
    ) -> list[ManifestEntry]:
        """The entries of an object or a prefix.

        Raises:
            ValueError: credentials in the URI, a bad generation, ``"Object does not
                exist: <path>#<gen>"``, an invalid name, too many objects.
            MissingExtraError: the library is missing.
            CommError: GCS fails.
        """
        refuse_credentials(uri)
        client = self.client()
        bucket_name, key, generation = _parse(uri)
        limit = object_limit(max_objects)
        if not checksum:
            ref = f"gs://{bucket_name}/{key}"
            path = normalize_artifact_path(name or key)
            return [ManifestEntry(path=path, digest=ref, ref=ref)]
        bucket = client.bucket(bucket_name)
        blob = _call(bucket.get_blob, key, generation=generation) if key else None
        if blob is None and generation is not None:
            raise ValueError(f"Object does not exist: {key}#{generation}")
        if blob is not None and not blob.name.endswith("/"):
            return [_entry(entry_path(name, key, None), bucket_name, blob)]
        entries: list[ManifestEntry] = []
        listing = _call(client.list_blobs, bucket_name, prefix=key)  # pages, lazily
        for item in _guard(listing):
            if item.name.endswith("/"):
                continue
            if len(entries) >= limit:
                raise too_many(limit, f"gs://{bucket_name}/{key}")
            entries.append(_entry(entry_path(name, item.name, key), bucket_name, item))
        return entries

    def fetch(self, entry: ManifestEntry, dest: Path) -> None:
        """Write the recorded generation to ``dest``.

        Raises:
            MissingReferenceError: the object (generation) is gone.
            ChangedReferenceError: its ETag differs from the recorded digest.
            CommError: GCS fails.
            OSError: ``dest`` cannot be written.
        """
        bucket_name, key, _ = _parse(entry.ref or "")
        version = entry.extra.get("versionID")
        generation = int(version) if version is not None else None
        bucket = self.client().bucket(bucket_name)
        blob = _call(bucket.get_blob, key, generation=generation)
        where = f"gs://{bucket_name}/{key}" + (f"#{generation}" if generation else "")
        if blob is None:
            raise MissingReferenceError(f"Unable to find {entry.path} at {where}")
        if blob.etag != entry.digest:
            raise ChangedReferenceError(
                f"Digest mismatch for {where}: expected etag '{entry.digest}' but found "
                f"'{blob.etag}' (entry '{entry.path}')"
            )
        # A fresh handle pinned to the checked generation: the media link of a fetched blob
        # may name the latest generation (fake-gcs-server's does), the generation never does.
        pinned = bucket.blob(key, generation=blob.generation)
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            _call(pinned.download_to_file, out)


def _entry(path: str, bucket: str, blob: Any) -> ManifestEntry:
    return ManifestEntry(
        path=path,
        digest=str(blob.etag),
        ref=f"gs://{bucket}/{blob.name}",
        size=int(blob.size),
        extra={"versionID": blob.generation},
    )


def _call(method: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a storage method, turning its errors into Cairn's."""
    try:
        return method(*args, **kwargs)
    except Exception as exc:  # google.api_core.exceptions.GoogleAPIError, imported lazily
        if getattr(exc, "code", None) == 404:
            raise MissingReferenceError(str(getattr(exc, "message", exc))) from None
        raise CommError(f"Unable to connect to GCS: {type(exc).__name__}: {exc}", exc) from None


def _guard(listing: Any) -> Any:
    """Iterate a lazy listing, turning its errors into Cairn's."""
    iterator = iter(listing)
    while True:
        item = _call(next, iterator, None)
        if item is None:
            return
        yield item
