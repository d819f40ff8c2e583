"""``add_reference`` and reference downloads: the SDK side of the handler registry (spec §5).

Entries of a URI come from the storage handler that claims its scheme
(``cairn.storage.references``), or, for ``wandb-artifact://``, from ``_artifact_refs`` (it
needs the backend). Downloads of http(s), s3, gs and azure references go through the client
cache under ``settings.cache_dir`` (``obj/etag/...``, spec §2.2): a cached file of the
entry's size is used as is, since its key is the (URL, ETag) pair the object was fetched
and checked under; otherwise the handler fetches the recorded object into the cache with an
atomic rename. ``file://`` references are copied straight from the source.
"""

from __future__ import annotations

import shutil
import threading
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cairn.errors import ChangedReferenceError
from cairn.sdk import _artifact_refs
from cairn.sdk._entry import ArtifactManifestEntry
from cairn.storage.cache.client_cache import ClientCache
from cairn.storage.references import default_registry
from cairn.storage.references.base import HandlerOptions, HandlerRegistry

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from cairn.core.manifest import ManifestEntry
    from cairn.protocol import Backend
    from cairn.settings import Settings

_lock = threading.Lock()
_registries: dict[HandlerOptions, HandlerRegistry] = {}


def registry_for(settings: Settings) -> HandlerRegistry:
    """The handler registry of ``settings`` (one per process, so SDK clients are reused)."""
    options = HandlerOptions.from_settings(settings)
    with _lock:
        registry = _registries.get(options)
        if registry is None:
            registry = _registries[options] = default_registry(options)
        return registry


def reference_entries(
    uri: str,
    name: str | None,
    checksum: bool,
    max_objects: int | None,
    settings: Settings,
    backend: Callable[[], Backend],
) -> list[ArtifactManifestEntry]:
    """The entries ``uri`` stands for; nothing is added to any manifest here.

    Raises:
        ValueError: no scheme (``"References must be URIs. To reference a local file, use
            file://"``), credentials in the URI, an invalid name, too many objects, a
            missing path, a missing name for an unknown scheme.
        MissingReferenceError: a ``wandb-artifact://`` target does not exist.
        MissingExtraError: the cloud SDK of the scheme is not installed.
        CommError: the storage service fails.
    """
    if not urlsplit(uri).scheme:
        raise ValueError("References must be URIs. To reference a local file, use file://")
    if _artifact_refs.is_artifact_ref(uri):
        found = _artifact_refs.store_path(backend(), uri, name)
    else:
        handler = registry_for(settings).handler_for(uri)
        found = handler.store_path(uri, name, checksum, max_objects)
    return [ArtifactManifestEntry.adopt(entry) for entry in found]


def fetcher(settings: Settings, entry: ManifestEntry) -> Callable[[Path], None]:
    """The function that writes the bytes of the external reference ``entry`` to a fresh path.

    Raises ``ValueError`` at once for a scheme that cannot be read (spec §5.7).
    The function raises ``MissingReferenceError`` / ``ChangedReferenceError`` (object gone
    or changed), ``ValueError`` (scheme not readable), ``CommError``, ``OSError``.
    """
    handler = registry_for(settings).handler_for(entry.ref or "")
    handler.check_readable(entry)
    if not handler.uses_etag_cache:
        return lambda tmp: handler.fetch(entry, tmp)

    def fill(fresh: Path) -> None:
        handler.fetch(entry, fresh)
        size = fresh.stat().st_size
        if entry.size is not None and size != entry.size:
            raise ChangedReferenceError(
                f"Size mismatch for '{entry.path}' ({entry.ref}): expected {entry.size} bytes "
                f"but the object holds {size}"
            )

    def fetch_cached(tmp: Path) -> None:
        cache = ClientCache.for_settings(settings)
        path = cache.path_for_etag(entry.ref or "", entry.digest)
        hit = cache.lookup(path)
        if hit is None or (entry.size is not None and hit.stat().st_size != entry.size):
            cache.put_atomic(path, fill)
        shutil.copyfile(path, tmp)

    return fetch_cached
