"""The manifest entry users see: a ``core`` entry that knows the artifact it belongs to.

``artifact.manifest.entries[path]`` and ``artifact.get_entry(path)`` return
``ArtifactManifestEntry`` objects. They serialise exactly like
:class:`cairn.core.manifest.ManifestEntry` (the parent link is never written) and add the
two wandb methods that need the artifact: ``ref_url()`` and ``download()``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Protocol

from cairn.core.digest import b64_to_hex
from cairn.core.manifest import Manifest, ManifestEntry

if TYPE_CHECKING:
    import os

    from cairn.sdk._artifact_state import ArtifactState

ARTIFACT_SCHEME = "wandb-artifact"

_CORE_FIELDS = tuple(f.name for f in dataclasses.fields(ManifestEntry))


class ParentArtifact(Protocol):
    """What an entry uses of the ``Artifact`` it belongs to (this module sits below it)."""

    _state: ArtifactState

    @property
    def id(self) -> str | None: ...

    def _download_entry(self, entry: ManifestEntry, root: str | os.PathLike[str] | None) -> str: ...


@dataclasses.dataclass(slots=True)
class ArtifactManifestEntry(ManifestEntry):
    """One file or reference of an artifact (``path``, ``digest``, ``size``, ``ref``, ...)."""

    _parent: ParentArtifact | None = dataclasses.field(default=None, repr=False, compare=False)

    @classmethod
    def adopt(
        cls, entry: ManifestEntry, parent: ParentArtifact | None = None
    ) -> ArtifactManifestEntry:
        """Return ``entry`` as an ``ArtifactManifestEntry`` (a copy unless it already is one)."""
        if isinstance(entry, ArtifactManifestEntry):
            if parent is not None:
                entry._parent = parent
            return entry
        values: dict[str, Any] = {name: getattr(entry, name) for name in _CORE_FIELDS}
        return cls(**values, _parent=parent)

    def parent_artifact(self) -> ParentArtifact:
        """The artifact this entry was fetched from.

        Raises:
            NotImplementedError: the entry was not obtained from a logged artifact
                (wandb raises the same).
        """
        if self._parent is None:
            raise NotImplementedError
        return self._parent

    def ref_url(self) -> str:
        """A ``wandb-artifact://<hex id>/<path>`` URL other artifacts can reference.

        Raises:
            NotImplementedError: the entry has no parent artifact.
            ValueError: the parent artifact has no id (it is a draft).
        """
        parent_id = self.parent_artifact().id
        if parent_id is None:
            raise ValueError("Parent artifact ID is not set")
        return f"{ARTIFACT_SCHEME}://{b64_to_hex(parent_id)}/{self.path}"

    def download(self, root: str | None = None, skip_cache: bool | None = None) -> str:
        """Download this entry below ``root`` (default: the artifact's download root).

        Returns the path of the downloaded file. ``skip_cache`` is accepted for wandb
        compatibility; the embedded store is the cache, so it changes nothing.

        Raises:
            NotImplementedError: the entry has no parent artifact.
            ValueError: see ``Artifact.download``.
        """
        del skip_cache
        return self.parent_artifact()._download_entry(self, root)


def adopt_manifest(manifest: Manifest, parent: ParentArtifact | None = None) -> Manifest:
    """Turn every entry of ``manifest`` into an ``ArtifactManifestEntry`` in place."""
    manifest.entries = {
        path: ArtifactManifestEntry.adopt(entry, parent) for path, entry in manifest.entries.items()
    }
    return manifest
