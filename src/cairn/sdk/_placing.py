"""Downloads that cost nothing: a loose blob of a local store is reflinked or hard-linked.

Used by ``download`` for stored (non-reference) entries when the backend keeps its blobs
as loose files on this machine (``cairn.protocol.LocalBlobs``, the embedded store).
``link=True`` (Cairn's extension of ``Artifact.download``) hard-links the read-only blob;
otherwise, or when a hard link is impossible, the blob is reflinked where the file system
supports it. When neither works (a packed blob has no file of its own) the caller copies
through ``Backend.fetch_blob``, and makes the copy read-only under ``link``.
"""

from __future__ import annotations

from pathlib import Path

from cairn.protocol import Backend, BlobRef, LocalBlobs
from cairn.storage.local.placing import hard_link, reflink


def place_local_blob(backend: Backend, entity: str, blob: BlobRef, dest: Path, link: bool) -> bool:
    """Put ``blob`` at the fresh path ``dest`` without copying bytes; False if that cannot be.

    With ``link`` the file at ``dest`` is the store's read-only blob itself (a hard link).

    Raises:
        FileExistsError: ``dest`` exists.
        OSError: the destination cannot be written for another reason than "unsupported".
        ValueError: a digest that is not valid for its algorithm.
    """
    if not isinstance(backend, LocalBlobs):
        return False
    src = backend.local_blob_path(entity, blob)
    if src is None:
        return False
    try:
        if link and hard_link(src, dest):
            return True
        return reflink(src, dest)
    except FileNotFoundError:
        if dest.exists():
            raise
        return False  # the blob went away (GC, repacked): copy through the backend
