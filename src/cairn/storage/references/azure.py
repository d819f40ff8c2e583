"""Azure Blob references (spec §5.4), read with azure-storage-blob (extra ``cairn[azure]``).

Claimed URIs: ``https://<account>.blob.core.windows.net/<container>/<blob>[?versionId=]``,
and every URI below the account endpoint of the configured connection string
(``AZURE_STORAGE_CONNECTION_STRING``) or account URL (``CAIRN_AZURE_ACCOUNT_URL``), so
other hosts such as a local emulator work too. Credentials: the connection string when it
names this account, else ``DefaultAzureCredential`` (azure-identity) when installed, else
anonymous access.

A blob becomes one entry (digest = ETag without quotes, ``extra.etag``, ``extra.versionID``
when versioned); otherwise the blob name is a directory and every blob below
``<name>/`` becomes an entry. More than ``max_objects`` blobs is an error. Downloads fetch
the recorded version, else the current blob if its ETag matches (If-Match), else the
version with the recorded ETag.
"""

from __future__ import annotations

import os
import posixpath
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
    from pathlib import Path

AZURE_HOST_SUFFIX = ".blob.core.windows.net"


def _connection_endpoint(connection_string: str) -> str | None:
    """The blob endpoint a connection string names (``BlobEndpoint`` or the account's)."""
    fields = dict(part.split("=", 1) for part in connection_string.split(";") if "=" in part)
    if "BlobEndpoint" in fields:
        return fields["BlobEndpoint"].rstrip("/")
    account = fields.get("AccountName")
    if account is None:
        return None
    protocol = fields.get("DefaultEndpointsProtocol", "https")
    suffix = fields.get("EndpointSuffix", "core.windows.net")
    return f"{protocol}://{account}.blob.{suffix}"


class AzureHandler(ReferenceHandler):
    """Azure Blob Storage URIs."""

    schemes = ("https", "http")

    def __init__(self, options: HandlerOptions) -> None:
        self._options = options
        self._endpoints: list[str] = []
        if options.azure_connection_string:
            endpoint = _connection_endpoint(options.azure_connection_string)
            if endpoint:
                self._endpoints.append(endpoint)
        if options.azure_account_url:
            self._endpoints.append(options.azure_account_url.rstrip("/"))
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def matches(self, parsed: Any) -> bool:
        """Azure blob hosts, and URIs below a configured account endpoint. Raises nothing."""
        if parsed.scheme == "https" and (parsed.hostname or "").endswith(AZURE_HOST_SUFFIX):
            return True
        return self._endpoint_of(parsed.geturl()) is not None

    def _endpoint_of(self, uri: str) -> str | None:
        for endpoint in self._endpoints:
            if uri.startswith(endpoint + "/"):
                return endpoint
        return None

    def _split(self, uri: str) -> tuple[str, str, str, str | None]:
        """``(account url, container, blob name, versionId or None)`` of ``uri``."""
        parsed = urlsplit(uri)
        base = f"{parsed.scheme}://{parsed.netloc}{parsed.path}"
        account = self._endpoint_of(base) or f"{parsed.scheme}://{parsed.netloc}"
        container, _, blob = base[len(account) + 1 :].partition("/")
        version = parse_qs(parsed.query).get("versionId", [None])[0]
        return account, container, blob, version

    def service(self, account_url: str) -> Any:
        """The ``BlobServiceClient`` of ``account_url`` (created once per account).

        The address check (if any) is called with the account's host first.
        Raises ``MissingExtraError`` naming ``cairn[azure]`` when the library is missing,
        ``ValueError`` when the address check refuses the host.
        """
        check = self._options.address_check
        if check is not None:
            check(urlsplit(account_url).hostname or "")
        with self._lock:
            client = self._clients.get(account_url)
            if client is not None:
                return client
            try:
                from azure.storage.blob import BlobServiceClient  # noqa: PLC0415 - the Azure SDK is optional
            except ImportError:
                raise MissingExtraError(
                    "Azure references require the azure-storage-blob library, run "
                    "pip install cairn[azure]"
                ) from None
            connection = self._options.azure_connection_string
            if connection and _connection_endpoint(connection) == account_url:
                client = BlobServiceClient.from_connection_string(connection)
            else:
                client = BlobServiceClient(account_url, credential=_default_credential())
            self._clients[account_url] = client
            return client

    def store_path(
        self, uri: str, name: str | None, checksum: bool, max_objects: int | None
    ) -> list[ManifestEntry]:
        """The entries of a blob or of the blobs below a directory name.

        Raises:
            ValueError: credentials in the URI, an invalid name, too many blobs.
            MissingExtraError: the library is missing.
            CommError: Azure fails.
        """
        refuse_credentials(uri)
        account, container_name, blob_name, version = self._split(uri)
        container = self.service(account).get_container_client(container_name)
        limit = object_limit(max_objects)
        base = f"{account}/{container_name}"
        if not checksum:
            ref = f"{base}/{blob_name}"
            path = normalize_artifact_path(name or posixpath.basename(blob_name))
            return [ManifestEntry(path=path, digest=ref, ref=ref)]
        props = None
        if blob_name:
            client = container.get_blob_client(blob_name, version_id=version)
            props = _call(client.get_blob_properties, missing_ok=True)
        if props is not None and not _is_folder_stub(props):
            return [_entry(entry_path(name, blob_name, None), base, blob_name, props)]
        prefix = f"{blob_name}/" if blob_name else ""
        entries: list[ManifestEntry] = []
        listing = _call(container.list_blobs, name_starts_with=prefix or None, include=["metadata"])
        for item in _guard(listing):
            if _is_folder_stub(item):  # a folder marker, as wandb skips it: never an entry
                continue
            if len(entries) >= limit:
                raise too_many(limit, f"{base}/{blob_name}")
            entries.append(_entry(entry_path(name, item.name, prefix), base, item.name, item))
        return entries

    def fetch(self, entry: ManifestEntry, dest: Path) -> None:
        """Write the recorded blob (version) to ``dest``.

        Raises:
            MissingReferenceError: the blob is gone.
            ChangedReferenceError: ``"Couldn't find blob version for <ref> matching etag
                <etag>."`` (entry named).
            CommError: Azure fails.
            OSError: ``dest`` cannot be written.
        """
        from azure.core import MatchConditions  # noqa: PLC0415 - the Azure SDK is optional

        account, container_name, blob_name, _ = self._split(entry.ref or "")
        container = self.service(account).get_container_client(container_name)
        etag = str(entry.extra.get("etag") or entry.digest)
        version = entry.extra.get("versionID")
        where = f"{account}/{container_name}/{blob_name}"
        if version is not None:
            stream = _call(container.get_blob_client(blob_name, version_id=version).download_blob)
        else:
            client = container.get_blob_client(blob_name)
            try:
                stream = _call(
                    client.download_blob,
                    etag=f'"{etag}"',
                    match_condition=MatchConditions.IfNotModified,
                )
            except ChangedReferenceError:
                if not _call(client.exists):  # If-Match on a deleted blob may answer 412
                    raise MissingReferenceError(f"Unable to find {entry.path} at {where}") from None
                found = self._version_with_etag(container, blob_name, etag)
                if found is None:
                    raise ChangedReferenceError(
                        f"Couldn't find blob version for {where} matching etag {etag}. "
                        f"(entry '{entry.path}')"
                    ) from None
                stream = _call(container.get_blob_client(blob_name, version_id=found).download_blob)
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            _call(stream.readinto, out)

    @staticmethod
    def _version_with_etag(container: Any, blob_name: str, etag: str) -> str | None:
        """The version id of ``blob_name`` whose ETag is ``etag``, if the account keeps one."""
        try:
            listing = container.list_blobs(name_starts_with=blob_name, include=["versions"])
            for item in listing:
                if item.name == blob_name and strip_quotes(item.etag) == etag:
                    return str(item.version_id) if item.version_id else None
        except Exception:
            return None
        return None


def _default_credential() -> Any:
    """``DefaultAzureCredential`` when azure-identity is installed, else ``None`` (anonymous)."""
    try:
        from azure.identity import DefaultAzureCredential  # noqa: PLC0415 - the Azure SDK is optional
    except ImportError:
        return None
    return DefaultAzureCredential()


def _entry(path: str, base: str, blob_name: str, props: Any) -> ManifestEntry:
    digest = strip_quotes(str(props.etag))
    extra: dict[str, Any] = {"etag": digest}
    if getattr(props, "version_id", None):
        extra["versionID"] = props.version_id
    return ManifestEntry(
        path=path, digest=digest, ref=f"{base}/{blob_name}", size=int(props.size), extra=extra
    )


def _call(method: Any, *args: Any, missing_ok: bool = False, **kwargs: Any) -> Any:
    """Call an Azure method, turning its errors into Cairn's (``None`` if missing and ok)."""
    try:
        return method(*args, **kwargs)
    except Exception as exc:  # azure.core.exceptions.*, imported lazily
        kind = type(exc).__name__
        if kind == "ResourceNotFoundError":
            if missing_ok:
                return None
            raise MissingReferenceError(str(getattr(exc, "message", kind))) from None
        if kind in {"ResourceModifiedError", "ResourceExistsError"} or (
            getattr(exc, "status_code", None) == 412
        ):
            raise ChangedReferenceError(str(getattr(exc, "message", kind))) from None
        raise CommError(f"Unable to connect to Azure: {kind}", exc) from None


def _guard(listing: Any) -> Any:
    """Iterate a lazy listing, turning its errors into Cairn's."""
    iterator = iter(listing)
    while True:
        item = _call(next, iterator, None)
        if item is None:
            return
        yield item


def _is_folder_stub(props: Any) -> bool:
    """Whether a blob only marks a folder (metadata ``hdi_isfolder=true``, as hierarchical
    namespaces and some tools write), so it is no file of the artifact."""
    return (props.metadata or {}).get("hdi_isfolder") == "true"
