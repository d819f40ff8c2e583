"""``s3://bucket/key`` references (spec §5.2), read with boto3 (extra ``cairn[s3]``).

An object becomes one entry (digest = ETag without quotes, ``extra.versionID`` when the
bucket is versioned); a prefix (an empty key, a key that is not an object, or a
``x-directory`` object) becomes one entry per non-empty object below it. Unlike wandb, a
prefix holding more than ``max_objects`` objects is an error, never a silent truncation.
The endpoint comes from ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` /
``AWS_S3_ENDPOINT_URL`` (MinIO, R2, Ceph), credentials from boto3's standard chain.

A download fetches the recorded version when there is one; otherwise the current object if
its ETag still matches, else the newest older version with the recorded ETag.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from cairn.core.manifest import ManifestEntry
from cairn.core.paths import normalize_artifact_path
from cairn.errors import ChangedReferenceError, CommError, MissingExtraError, MissingReferenceError
from cairn.storage.references.base import (
    HandlerOptions,
    ReferenceHandler,
    entry_path,
    object_limit,
    refuse_credentials,
    strip_quotes,
    too_many,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

CHUNK_SIZE = 1024 * 1024
_NOT_FOUND = {"404", "NoSuchKey", "NoSuchVersion", "NoSuchBucket", "NotFound"}


def _parse(uri: str) -> tuple[str, str, str | None]:
    """``(bucket, key, versionId or None)`` of an ``s3://`` URI."""
    parsed = urlsplit(uri)
    version = parse_qs(parsed.query).get("versionId", [None])[0]
    return parsed.netloc, parsed.path.lstrip("/"), version


class S3Handler(ReferenceHandler):
    """``s3://`` URIs."""

    schemes = ("s3",)

    def __init__(self, options: HandlerOptions) -> None:
        self._options = options
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        """The boto3 S3 client (created once).

        The address check (if any) is called with the configured endpoint's host first.
        Raises ``MissingExtraError`` naming ``cairn[s3]`` when boto3 is not installed,
        ``ValueError`` when the address check refuses the endpoint.
        """
        check, endpoint = self._options.address_check, self._options.s3_endpoint_url
        if check is not None and endpoint:
            check(urlsplit(endpoint).hostname or "")
        with self._lock:
            if self._client is None:
                try:
                    import boto3  # noqa: PLC0415 - boto3 is optional
                except ImportError:
                    raise MissingExtraError(
                        "s3:// references require the boto3 library, run pip install cairn[s3]"
                    ) from None
                self._client = boto3.session.Session().client(
                    "s3",
                    endpoint_url=self._options.s3_endpoint_url,
                    region_name=self._options.s3_region,
                )
            return self._client

    def store_path(
        self, uri: str, name: str | None, checksum: bool, max_objects: int | None
    ) -> list[ManifestEntry]:
        """The entries of an object or a prefix.

        Raises:
            ValueError: credentials in the URI, an invalid name, more than ``max_objects``
                objects under a prefix, or a missing explicit version.
            MissingExtraError: boto3 is missing.
            CommError: ``"Unable to connect to S3 (<code>): <msg>. ..."``.
        """
        refuse_credentials(uri)
        self.client()  # boto3 is needed even for checksum=False, as in wandb
        bucket, key, version = _parse(uri)
        limit = object_limit(max_objects)
        if not checksum:
            ref = f"s3://{bucket}/{key}"
            return [
                ManifestEntry(
                    path=normalize_artifact_path(name or key or bucket), digest=ref, ref=ref
                )
            ]
        head = self._head(bucket, key, version) if key else None
        if head is not None and "x-directory" not in head.get("ContentType", ""):
            return [
                self._entry(
                    entry_path(name, key, None),
                    bucket,
                    key,
                    head["ETag"],
                    head["ContentLength"],
                    head.get("VersionId"),
                )
            ]
        if version is not None:
            raise ValueError(f"Object does not exist: s3://{bucket}/{key}?versionId={version}")
        entries: list[ManifestEntry] = []
        for obj_key, etag, size, version_id in self._list(bucket, key):
            if size == 0:
                continue
            if len(entries) >= limit:
                raise too_many(limit, f"s3://{bucket}/{key}")
            path = entry_path(name, obj_key, key)
            entries.append(self._entry(path, bucket, obj_key, etag, size, version_id))
        return entries

    def fetch(self, entry: ManifestEntry, dest: Path) -> None:
        """Write the recorded object version to ``dest``.

        Raises:
            MissingReferenceError: the object (or the version with the recorded ETag) is gone.
            ChangedReferenceError: the recorded version now has another ETag.
            CommError: S3 fails otherwise.
            OSError: ``dest`` cannot be written.
        """
        client = self.client()
        bucket, key, _ = _parse(entry.ref or "")
        etag = str(entry.extra.get("etag") or entry.digest)
        version = entry.extra.get("versionID")
        where = f"s3://{bucket}/{key}"
        if version is None:
            head = self._head(bucket, key, None)
            if head is None:
                raise MissingReferenceError(f"Unable to find {entry.path} at {where}")
            if strip_quotes(head["ETag"]) != etag:
                version = self._version_with_etag(bucket, key, etag)
                if version is None:
                    raise MissingReferenceError(
                        f"Couldn't find object version for {bucket}/{key} matching etag {etag} "
                        f"(entry '{entry.path}')"
                    )
        args: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version is not None:
            args["VersionId"] = str(version)
        else:
            args["IfMatch"] = f'"{etag}"'
        response = self._call(
            client.get_object, missing=f"Unable to find {entry.path} at {where}", **args
        )
        if strip_quotes(response["ETag"]) != etag:
            raise ChangedReferenceError(
                f"Digest mismatch for {where} version {version}: expected etag '{etag}' but "
                f"found '{strip_quotes(response['ETag'])}' (entry '{entry.path}')"
            )
        body = response["Body"]
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            for chunk in body.iter_chunks(CHUNK_SIZE):
                out.write(chunk)

    # ------------------------------------------------------------ helpers

    @staticmethod
    def _entry(
        path: str, bucket: str, key: str, etag: str, size: int, version_id: str | None
    ) -> ManifestEntry:
        digest = strip_quotes(etag)
        extra: dict[str, Any] = {"etag": digest}
        if version_id and version_id != "null":
            extra["versionID"] = version_id
        return ManifestEntry(
            path=path, digest=digest, ref=f"s3://{bucket}/{key}", size=size, extra=extra
        )

    def _head(self, bucket: str, key: str, version: str | None) -> dict[str, Any] | None:
        """The object's HEAD answer, or ``None`` when it does not exist."""
        args: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version is not None:
            args["VersionId"] = version
        try:
            head: dict[str, Any] = self._call(self.client().head_object, missing="", **args)
        except MissingReferenceError:
            return None
        return head

    def _list(self, bucket: str, prefix: str) -> Iterator[tuple[str, str, int, str | None]]:
        """``(key, etag, size, version id)`` of the current objects under ``prefix``.

        Uses the version listing (one request per page gives every version id); stores
        that have no version API fall back to the plain listing.
        """
        client = self.client()
        try:
            pages = client.get_paginator("list_object_versions").paginate(
                Bucket=bucket, Prefix=prefix
            )
            for page in pages:
                for item in page.get("Versions", []):
                    if item.get("IsLatest", True):
                        yield item["Key"], item["ETag"], item["Size"], item.get("VersionId")
            return
        except Exception as exc:  # botocore's ClientError, imported lazily
            code = _error_code(exc)
            if code in _NOT_FOUND or code not in {"NotImplemented", "MethodNotAllowed"}:
                raise _comm_error(exc) from None
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"], item["ETag"], item["Size"], None

    def _version_with_etag(self, bucket: str, key: str, etag: str) -> str | None:
        """The id of the newest version of ``key`` whose ETag is ``etag``, if any."""
        client = self.client()
        try:
            pages = client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)
            for page in pages:
                for item in page.get("Versions", []):
                    if item["Key"] == key and strip_quotes(item["ETag"]) == etag:
                        return str(item["VersionId"])
        except Exception as exc:  # botocore's ClientError
            if _error_code(exc) in {"NotImplemented", "MethodNotAllowed"}:
                return None
            raise _comm_error(exc) from None
        return None

    @staticmethod
    def _call(method: Any, missing: str, **kwargs: Any) -> Any:
        """Call an S3 method, turning its errors into Cairn's."""
        try:
            return method(**kwargs)
        except Exception as exc:  # botocore's ClientError / BotoCoreError
            code = _error_code(exc)
            if code in _NOT_FOUND:
                raise MissingReferenceError(missing or code) from None
            if code in {"PreconditionFailed", "412"}:
                raise ChangedReferenceError(f"{missing}: the object changed") from None
            raise _comm_error(exc) from None


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _comm_error(exc: Exception) -> CommError:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error", {})
        return CommError(
            f"Unable to connect to S3 ({error.get('Code')}): {error.get('Message')}. Check "
            "that your authentication credentials are valid and that your region is set "
            "correctly.",
            exc,
        )
    return CommError(f"Unable to connect to S3: {type(exc).__name__}", exc)
