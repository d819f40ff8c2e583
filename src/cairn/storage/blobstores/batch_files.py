"""The batch file of ``put_batch``: many small blobs received in one request, one after
another in a file, listed as ``BatchItem`` (digest, algorithm, offset, size).

Both stores check a whole batch (``verify_batch``) before they store any of it, so one
wrong blob refuses the batch and nothing of it is stored.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from cairn.core.digest import blob_key, digest_bytes
from cairn.errors import CorruptionError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from cairn.storage.blobstores.interface import BatchItem


def read_batch_item(fd: int, item: BatchItem) -> bytes:
    """The bytes of one blob of a batch file open as ``fd``.

    Raises: CorruptionError (the file is shorter than the item says), OSError.
    """
    _digest, _algorithm, offset, size = item
    data = os.pread(fd, size, offset)
    if len(data) != size:
        raise CorruptionError(f"batch file shorter than its listing ({offset} + {size} bytes)")
    return data


def verify_batch(source: Path, items: Sequence[BatchItem]) -> None:
    """Check that every blob of the batch file ``source`` has its digest, before anything
    of it is stored.

    Raises:
        CorruptionError: a blob's bytes have another digest (naming its position and
            digest) or the file is too short.
        ValueError: an invalid digest or unknown algorithm.
    """
    fd = os.open(source, os.O_RDONLY)
    try:
        for position, item in enumerate(items):
            digest, algorithm = item[0], item[1]
            blob_key(digest, algorithm)
            actual = digest_bytes(read_batch_item(fd, item), algorithm)
            if actual != digest:
                raise CorruptionError(
                    f"blob {position} of the batch ({algorithm} {digest}) has digest {actual}: "
                    "nothing of the batch was stored",
                    context={"digest": digest, "actual": actual},
                )
    finally:
        os.close(fd)
