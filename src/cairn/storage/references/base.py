"""The reference-handler interface, the registry that picks one by URI, and their shared rules.

``Artifact.add_reference`` (spec §5) turns a URI into manifest entries through the handler
that claims it, and ``download`` asks the same handler to fetch the exact object an entry
recorded. Handlers are tried in wandb's order (s3, gs, azure, http/https, file); a URI no
handler claims goes to the tracking handler (spec §5.7). Each cloud handler imports its SDK
only when first used, so ``import cairn`` stays fast and the extras stay optional.

Credentials never enter a manifest: :func:`refuse_credentials` refuses (rather than strips)
URIs with user-info or signing query parameters, because a stripped presigned URL would
silently stop working while a kept one would leak the secret into every copy of the
manifest. Error messages show URIs through :func:`redact` only.

Handlers accept an optional ``address_check`` hook so a server can refuse private
addresses: the HTTP handler calls it with the host of every request, redirects included;
the S3 and Azure handlers with the host of the endpoint or account they are about to use.
"""

from __future__ import annotations

import abc
import dataclasses
import posixpath
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import SplitResult, parse_qsl, urlsplit

from cairn.core.paths import normalize_artifact_path

if TYPE_CHECKING:
    from pathlib import Path

    from cairn.core.manifest import ManifestEntry
    from cairn.settings import Settings

DEFAULT_MAX_OBJECTS = 10_000_000

AddressCheck = Callable[[str], None]
"""Called with a host name before it is contacted; raises ``ValueError`` to refuse it."""

# Query parameters that carry a signature or a secret token (AWS SigV2/V4, GCS V2/V4, Azure SAS).
SIGNING_PARAMETERS = frozenset(
    {
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "x-goog-signature",
        "x-goog-credential",
        "signature",
        "awsaccesskeyid",
        "googleaccessid",
        "sig",
        "access_token",
    }
)


@dataclasses.dataclass(frozen=True)
class HandlerOptions:
    """What the handlers need from the settings, plus the server's address-check hook."""

    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    azure_connection_string: str | None = None
    azure_account_url: str | None = None
    address_check: AddressCheck | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, address_check: AddressCheck | None = None
    ) -> HandlerOptions:
        """Options taken from ``settings`` (endpoints, region, Azure account). Raises nothing."""
        return cls(
            s3_endpoint_url=settings.s3_endpoint_url,
            s3_region=settings.s3_region,
            azure_connection_string=settings.azure_storage_connection_string,
            azure_account_url=settings.azure_account_url,
            address_check=address_check,
        )


class ReferenceHandler(abc.ABC):
    """Turns URIs of some schemes into entries, and fetches the objects entries recorded."""

    schemes: ClassVar[tuple[str, ...]] = ()
    uses_etag_cache: ClassVar[bool] = True
    """True when downloads go through the client cache's ``obj/etag`` area (spec §2.2)."""

    def matches(self, parsed: SplitResult) -> bool:
        """Whether this handler reads the URI ``parsed``. Raises nothing."""
        return parsed.scheme in self.schemes

    @abc.abstractmethod
    def store_path(
        self, uri: str, name: str | None, checksum: bool, max_objects: int | None
    ) -> list[ManifestEntry]:
        """The entries ``uri`` stands for (one per object of a prefix).

        Raises ``ValueError`` for bad input (names, credentials, too many objects),
        ``MissingExtraError`` when the SDK is absent, ``CommError`` when the store fails.
        """

    def check_readable(self, entry: ManifestEntry) -> None:
        """Raise ``ValueError`` before any download work if ``entry`` can never be fetched."""
        del entry  # every entry of a readable scheme may be fetched

    @abc.abstractmethod
    def fetch(self, entry: ManifestEntry, dest: Path) -> None:
        """Write the bytes of exactly the object ``entry`` recorded to the fresh path ``dest``.

        Raises ``MissingReferenceError`` (vanished), ``ChangedReferenceError`` (changed and
        no recorded version left), ``CommError`` (the store failed), ``OSError``.
        """


class HandlerRegistry:
    """Picks the first handler that matches a URI, else the fallback (tracking) handler."""

    def __init__(self, handlers: Sequence[ReferenceHandler], fallback: ReferenceHandler) -> None:
        self._handlers = list(handlers)
        self._fallback = fallback

    def handler_for(self, uri: str) -> ReferenceHandler:
        """The handler of ``uri``. Raises nothing."""
        parsed = urlsplit(uri)
        for handler in self._handlers:
            if handler.matches(parsed):
                return handler
        return self._fallback


def redact(uri: str) -> str:
    """``uri`` without user-info, query or fragment, safe to show in a message. Raises nothing."""
    parsed = urlsplit(uri)
    host = parsed.hostname or ""
    if parsed.port is not None:
        host = f"{host}:{parsed.port}"
    return f"{parsed.scheme}://{host}{parsed.path}"


def refuse_credentials(uri: str) -> None:
    """Refuse a URI that would put a secret into a manifest.

    Raises ``ValueError`` (with the URI redacted) for user-info (``user:pass@host``) or a
    signing query parameter (``X-Amz-Signature``, ``X-Goog-Signature``, Azure SAS ``sig``, ...).
    """
    parsed = urlsplit(uri)
    if "@" in parsed.netloc:
        raise ValueError(
            f"References must not carry credentials: remove the user-info from '{redact(uri)}'"
            " (credentials come from the storage SDK's standard chain)"
        )
    keys = {key for key, _ in parse_qsl(parsed.query, keep_blank_values=True)}
    signing = sorted(key for key in keys if key.lower() in SIGNING_PARAMETERS)
    if signing:
        raise ValueError(
            f"References must not carry credentials: '{redact(uri)}' has the signing query "
            f"parameter(s) {', '.join(signing)}; reference the unsigned object instead"
        )


def object_limit(max_objects: int | None) -> int:
    """``max_objects`` or (for ``None`` and 0, as wandb) 10,000,000.

    Raises ``ValueError`` for a negative number.
    """
    limit = max_objects or DEFAULT_MAX_OBJECTS
    if limit < 1:
        raise ValueError(f"max_objects must be at least 1, not {limit}")
    return limit


def too_many(limit: int, where: str) -> ValueError:
    """The error for a prefix holding more than ``limit`` objects (never silently truncated)."""
    return ValueError(
        f"Exceeded {limit} objects tracked under '{where}', pass max_objects to add_reference"
    )


def relative_key(prefix: str, key: str) -> str:
    """``key`` relative to the listing ``prefix`` when that is a real parent path, else ``key``."""
    if not prefix:
        return key
    if prefix.endswith("/"):
        return key[len(prefix) :]
    if key.startswith(prefix + "/"):
        return key[len(prefix) + 1 :]
    return key


def entry_path(name: str | None, key: str, prefix: str | None) -> str:
    """The logical path of an object (spec §5.2 path rules), through the path normaliser.

    ``prefix`` is ``None`` for a single object (``name or basename``); for a prefix listing
    the path is ``name/relative`` or ``relative``. Raises ``ValueError`` for an invalid path.
    """
    if prefix is None:
        return normalize_artifact_path(name or posixpath.basename(key))
    relative = relative_key(prefix, key)
    return normalize_artifact_path(f"{name}/{relative}" if name else relative)


def strip_quotes(etag: str) -> str:
    """An ETag header value without its surrounding double quotes. Raises nothing."""
    if len(etag) >= 2 and etag.startswith('"') and etag.endswith('"'):
        return etag[1:-1]
    return etag
