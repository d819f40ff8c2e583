"""One entity's area of a directory server store: its loose blobs, and its chunked files.

``DirectoryArea`` is the entity's ``LocalBlobStore`` (loose files and packs of batch
uploads under ``<root>/entities/<entity>``) that also answers for the files
stored as chunk lists (``chunk_area``, on a ``DirectoryShelf`` under
``<root>/chunks/<entity>``): such a file is present when its list passes its self-check
(a torn list reads as a missing file), its bytes are its chunks reassembled
(each checked against its id on the way), and it has no ``local_path`` (no single file
holds it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.core.digest import MD5
from cairn.storage.local.blobs import LocalBlobStore

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from cairn.storage.blobstores.chunk_area import ChunkArea


class DirectoryArea(LocalBlobStore):
    """Loose blobs under ``root`` and chunked files in ``chunk_area`` (see the module doc)."""

    def __init__(self, root: Path, chunk_area: ChunkArea) -> None:
        """Raises: StoreError (``root`` cannot be created or written)."""
        super().__init__(root)  # no chunk threshold: whole files stay whole here
        self.chunk_area = chunk_area

    def has(self, digest: str, algorithm: str) -> bool:
        """Stored whole, or (MD5) as a chunk list. Raises: ValueError (invalid digest)."""
        if super().has(digest, algorithm):
            return True
        return algorithm == MD5 and bool(self.chunk_area.readable_files([digest]))

    def missing(self, blobs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """The blobs of ``blobs`` stored neither whole nor as chunk lists.

        Raises: ValueError (invalid digest), CorruptionError (a pack index).
        """
        lacking = super().missing(blobs)
        chunked = self.chunk_area.readable_files([d for d, a in lacking if a == MD5])
        return {blob for blob in lacking if not (blob[1] == MD5 and blob[0] in chunked)}

    def read_bytes(self, digest: str, algorithm: str) -> bytes:
        """Raises: FileNotFoundError (not stored), CorruptionError (a wrong chunk, named),
        ValueError (invalid digest)."""
        try:
            return super().read_bytes(digest, algorithm)
        except FileNotFoundError:
            if algorithm != MD5:
                raise
            return b"".join(self._reassembled(digest))

    def iter_bytes(self, digest: str, algorithm: str) -> Iterator[bytes]:
        """The whole file's bytes, or its chunks reassembled. Raises at once:
        FileNotFoundError (not stored); later CorruptionError (a wrong chunk, named)."""
        try:
            return super().iter_bytes(digest, algorithm)
        except FileNotFoundError:
            if algorithm != MD5:
                raise
            return self._reassembled(digest)

    def _reassembled(self, digest: str, start: int = 0) -> Iterator[bytes]:
        try:
            return self.chunk_area.iter_file(digest, start)
        except KeyError:
            raise FileNotFoundError(f"blob md5 {digest} not found") from None
