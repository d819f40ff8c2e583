"""``Artifact.files()``: a paginator of ``File`` objects with a resumable cursor.

wandb returns a relay paginator (``ArtifactFiles``) of public ``File`` objects (spec §4.14):
it can be iterated, has ``len()``, filters by ``names``, fetches ``per_page`` files at a time
and exposes a ``cursor`` that ``files(start=cursor)`` resumes from. Cairn pages over the
artifact's manifest; the cursor is the position of the next file, as an opaque string.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from cairn.sdk._entry import ArtifactManifestEntry, ParentArtifact
from cairn.storage.writing import destination

if TYPE_CHECKING:
    from cairn.core.manifest import Manifest


class PagedArtifact(ParentArtifact, Protocol):
    """What the paginator uses of ``cairn.sdk.artifact.Artifact`` (which imports it)."""

    @property
    def entity(self) -> str: ...

    @property
    def project(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def manifest(self) -> Manifest: ...


class File:
    """One file of a logged artifact: ``name``, ``size``, ``digest``, ``ref``, ``download()``."""

    def __init__(self, artifact: PagedArtifact, entry: ArtifactManifestEntry) -> None:
        self._artifact = artifact
        self._entry = entry

    @property
    def name(self) -> str:
        """The file's path inside the artifact."""
        return self._entry.path

    @property
    def size(self) -> int:
        """Size in bytes (0 when unknown, as wandb reports it)."""
        return self._entry.size or 0

    @property
    def digest(self) -> str:
        """The entry digest (base64 MD5 for stored files, ETag or URI for references)."""
        return self._entry.digest

    @property
    def md5(self) -> str:
        """wandb's name for the digest of a file."""
        return self._entry.digest

    @property
    def ref(self) -> str | None:
        """The reference URI, or ``None`` for a stored file."""
        return self._entry.ref

    def download(self, root: str = ".", replace: bool = False, exist_ok: bool = False) -> TextIO:
        """Download the file below ``root`` and return it opened for reading (as wandb does).

        Raises:
            ValueError: the file already exists and neither ``replace`` nor ``exist_ok`` is
                set (wandb's message), or see ``Artifact.download``.
        """
        path = destination(Path(root), self.name)
        if path.exists() and not replace:
            if exist_ok:
                return open(path)
            raise ValueError(
                "File already exists, pass replace=True to overwrite "
                "or exist_ok=True to leave it as is and don't error."
            )
        written = self._artifact._download_entry(self._entry, root)
        return open(written)

    def __repr__(self) -> str:
        return f"<File {self.name} ({self.size} bytes)>"


class ArtifactFiles(Iterator[File]):
    """Iterates the files of one artifact version, ``per_page`` at a time."""

    def __init__(
        self,
        artifact: PagedArtifact,
        names: Sequence[str] | None = None,
        per_page: int = 50,
        start: str | None = None,
    ) -> None:
        """Raises ``ValueError`` for ``per_page`` below 1 or a cursor not given by a paginator."""
        if per_page < 1:
            raise ValueError(f"per_page must be at least 1, got {per_page}")
        self.artifact = artifact
        self.per_page = per_page
        entries = list(artifact.manifest.entries.values())
        if names is not None:
            wanted = set(names)
            entries = [entry for entry in entries if entry.path in wanted]
        self._entries = [ArtifactManifestEntry.adopt(entry, artifact) for entry in entries]
        self._next = _parse_cursor(start, len(self._entries))
        self._page: list[File] = []

    @property
    def path(self) -> list[str]:
        """``[entity, project, name]`` of the artifact."""
        return [self.artifact.entity, self.artifact.project, self.artifact.name]

    @property
    def cursor(self) -> str | None:
        """Pass to ``files(start=...)`` to resume after the files fetched so far."""
        return str(self._next) if self._next < len(self._entries) else None

    @property
    def more(self) -> bool:
        """Whether pages remain to be fetched."""
        return self._next < len(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> ArtifactFiles:
        return self

    def __next__(self) -> File:
        if not self._page:
            if not self.more:
                raise StopIteration
            stop = min(self._next + self.per_page, len(self._entries))
            self._page = [File(self.artifact, e) for e in self._entries[self._next : stop]]
            self._next = stop
        return self._page.pop(0)

    def __repr__(self) -> str:
        return f"<ArtifactFiles {'/'.join(self.path)} ({len(self)})>"


def _parse_cursor(start: str | None, total: int) -> int:
    if start is None:
        return 0
    if not start.isdigit() or int(start) > total:
        raise ValueError(f"Invalid cursor: {start!r}")
    return int(start)
