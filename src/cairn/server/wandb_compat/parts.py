"""The parts of the wandb client's multipart uploads to a directory store.

Each part ``PUT`` (``transfers.put_part``) leaves the file ``<n>.<hex md5>`` in the
upload's folder below the entity's ``tmp/``; ``completeMultipartUploadArtifact`` joins
the parts it names (``complete``) or drops them (``discard``).

The client repeats a completion that outlives its request timeout (joining 2 GiB on a
busy disk can), while the first one is still running. The join used to append the parts
to the first one in place and delete each as it went, so the repeat found parts gone and
the blob not stored yet, and answered "parts [...] of the upload were never received"
though every part had been received. Now:

- completions (and aborts) of one upload run one at a time, under a lock on the upload's
  folder (``flock``: every thread and process of the server); a repeat waits, then finds
  the blob stored and succeeds;
- the parts are joined into a new file (hashed as it is written, fsynced) and stay in
  place until the blob is stored: a completion that fails midway (a full disk) can be
  repeated; parts whose file does not match its MD5 are dropped (nothing can fix them);
- the joined file is published as the blob (``ReceivingArea.adopt``), not copied again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import secrets
import shutil
from typing import TYPE_CHECKING

from cairn.errors import CorruptionError, NotFoundError
from cairn.server import signing
from cairn.storage.local.placing import new_file, write_all

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from cairn.service.blob_access import BlobGrant
    from cairn.storage.blobstores.interface import ReceivingArea

_CHUNK = 8 * 1024 * 1024


def folder(area: ReceivingArea, upload_id: str) -> Path:
    """Where the parts of one multipart upload wait. Raises: NotFoundError (bad id)."""
    if not upload_id.isalnum():
        raise NotFoundError("unknown upload")
    return area.tmp_dir / f"wandb-mp-{upload_id}"


def complete(
    grant: BlobGrant, hexdigest: str, upload_id: str, parts: list[tuple[int, str]]
) -> None:
    """Join the parts ``(number, hex MD5)`` in order and store the file if its MD5 matches;
    the parts are dropped then. A file already stored (by an earlier completion of this
    upload, or another upload of the same bytes) completes at once.

    Raises: NotFoundError (unknown upload, or a part with that MD5 never received; nothing
    is changed), CorruptionError (the joined file does not match its MD5; the parts are
    dropped), OSError (the parts are kept: the completion can be repeated).
    """
    area = receiving_area(grant)
    where = folder(area, upload_id)
    digest = signing.hex_to_digest(hexdigest)
    with _locked(where) as present:
        if area.has(digest, "md5"):
            if present:
                shutil.rmtree(where, ignore_errors=True)
            return
        paths = [where / f"{number}.{md5}" for number, md5 in sorted(set(parts))]
        missing = [p.name for p in paths if not present or not p.is_file()]
        if not paths or missing:
            raise NotFoundError(f"parts {missing} of the upload were never received")
        joined, actual = _join(paths, area.tmp_dir)
        try:
            if actual != hexdigest:
                shutil.rmtree(where, ignore_errors=True)
                raise CorruptionError(f"the uploaded bytes do not match MD5 {digest}")
            area.adopt(joined, digest, "md5")
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(joined)
        shutil.rmtree(where, ignore_errors=True)


def discard(grant: BlobGrant, upload_id: str) -> None:
    """Drop the parts of an abandoned multipart upload (after any completion of it that
    is running). Raises: NotFoundError (bad id)."""
    where = folder(receiving_area(grant), upload_id)
    with _locked(where) as present:
        if present:
            shutil.rmtree(where, ignore_errors=True)


@contextlib.contextmanager
def _locked(where: Path) -> Iterator[bool]:
    """Hold the lock of the upload whose parts are in ``where`` (waiting for whoever holds
    it); yield whether the folder is there, the same one that was locked (a completion
    that held the lock before may have removed it)."""
    try:
        fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        yield False
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        locked = os.fstat(fd)
        try:
            now = os.stat(where)
        except FileNotFoundError:
            yield False
        else:
            yield (now.st_dev, now.st_ino) == (locked.st_dev, locked.st_ino)
    finally:
        os.close(fd)  # releases the lock


def _join(paths: list[Path], tmp_dir: Path) -> tuple[Path, str]:
    """Write the files at ``paths`` one after another to a new file in ``tmp_dir``,
    hashing it on the way, and fsync it; return it and its hex MD5. Removed on failure.

    Raises: OSError (a part cannot be read, or the file written).
    """
    joined = tmp_dir / f"wandb-join-{secrets.token_hex(8)}"
    md5 = hashlib.md5()
    with new_file(joined, 0o600) as out:
        for path in paths:
            with open(path, "rb", buffering=0) as part:
                while chunk := part.read(_CHUNK):
                    md5.update(chunk)
                    write_all(out, chunk)
        os.fsync(out)
    return joined, md5.hexdigest()


def receiving_area(grant: BlobGrant) -> ReceivingArea:
    """The granted entity's area of files, which the facade's transfer routes write into.

    Raises: NotFoundError (a store whose clients upload to its presigned URLs instead).
    """
    transfers = grant.server.server_transfers()
    if transfers is None:
        raise NotFoundError("this server's blobs are uploaded to its object store")
    return transfers.area(grant.entity)
