"""References whose scheme Cairn cannot read (spec §5.7): tracked verbatim, never fetched."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cairn.core.manifest import ManifestEntry
from cairn.core.paths import normalize_artifact_path
from cairn.storage.references.base import ReferenceHandler

if TYPE_CHECKING:
    from pathlib import Path


class TrackingHandler(ReferenceHandler):
    """The fallback handler: the digest is the URI itself and there is no size."""

    uses_etag_cache = False

    def store_path(
        self, uri: str, name: str | None, checksum: bool, max_objects: int | None
    ) -> list[ManifestEntry]:
        """The single entry of ``uri``; warns that it cannot be checksummed.

        Raises ``ValueError`` when ``name`` is missing (wandb's message) or not a valid path.
        """
        if name is None:
            raise ValueError(
                'You must pass name="<entry_name>" when tracking references with unknown '
                f"schemes. ref: {uri}"
            )
        logical = normalize_artifact_path(name)
        warnings.warn(
            f"Artifact references with unsupported schemes cannot be checksummed: {uri}",
            UserWarning,
            stacklevel=5,
        )
        return [ManifestEntry(path=logical, digest=uri, ref=uri)]

    def check_readable(self, entry: ManifestEntry) -> None:
        """Always refuses.

        Raises ``ValueError("Cannot download file at path <ref>, scheme <scheme> not recognized")``.
        """
        ref = entry.ref or ""
        raise ValueError(
            f"Cannot download file at path {ref}, scheme {urlsplit(ref).scheme} not recognized"
        )

    def fetch(self, entry: ManifestEntry, dest: Path) -> None:
        """Always refuses (see :meth:`check_readable`). Raises ``ValueError``."""
        self.check_readable(entry)
