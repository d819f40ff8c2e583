"""Copy a batch of files into the embedded blob store, skipping files the stat cache knows.

``add_dir`` hands over every file of a folder in one call (``Backend.ingest_files``). A
file found unchanged by the stat cache (``storage.unchanged.Survey``: the folder's
snapshot, then the per-file rows) is not read. Its digest is only used if its blob is
still stored: a snapshot taken in the store's current generation
(``known_blobs.generation``) vouches for its blobs; any other hit is checked (and its
blob marked as used, ``gc.freshen``). The rest goes to ``LocalBlobStore.ingest_many``
(small files packed, large ones loose, in parallel), and the folder's new snapshot and
the new digests are recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import partial
from itertools import compress, repeat
from operator import not_
from typing import TYPE_CHECKING

from cairn.protocol import IngestedBlob, SourceStats
from cairn.service.gc import freshen
from cairn.storage.local.unchanged import Survey

if TYPE_CHECKING:
    from pathlib import Path

    from cairn.storage.local.blobs import LocalBlobStore
    from cairn.storage.local.statcache import StatCache

Progress = Callable[[int, int, int, int], None]
# ``IngestedBlob`` from a ``(digest, algorithm, size, local path)`` tuple without a Python
# call per file (a namedtuple's own constructor is Python code).
_as_ingested = partial(tuple.__new__, IngestedBlob)


def ingest_files(
    blobs: LocalBlobStore,
    cache: StatCache,
    sources: Sequence[str | Path],
    algorithm: str,
    on_progress: Progress | None = None,
    *,
    generation: str,
    stats: SourceStats | None = None,
) -> list[IngestedBlob]:
    """Store every file of ``sources``; results are in the order of ``sources``.

    ``on_progress(files_done, files_total, bytes_done, bytes_total)`` is called from the
    calling thread. For a file served by the stat cache, ``local_path`` is the file itself
    (it still has those bytes). ``generation`` is the store's ``known_blobs.generation``,
    read before this call: a snapshot taken in the same generation vouches for its blobs.
    ``stats`` are the sources' stat fields if the caller took them (else they are taken).

    Raises:
        OSError: a file cannot be read or the store written (files already stored stay).
        ValueError: unknown ``algorithm``.
        StoreError: the stat cache cannot be read or written.
    """
    total = len(sources)
    if not total:
        return []
    survey = Survey(cache, sources, algorithm, stats)
    sizes = survey.stats.sizes()
    same_generation = survey.previous is not None and survey.previous.generation == generation
    if survey.unchanged and same_generation:
        # Nothing changed since the snapshot, and its blobs are all still stored.
        if on_progress is not None:
            on_progress(total, total, sum(sizes), sum(sizes))
        return list(map(_as_ingested, zip(survey.digests, repeat(algorithm), sizes, sources)))

    digests = survey.digests
    # Hits the snapshot cannot vouch for: their blobs are checked (and marked as used). In
    # the snapshot's generation, only the files it did not give need looking at.
    candidates: Iterable[int] = range(total)
    if same_generation:
        candidates = compress(candidates, map(not_, survey.from_snapshot))
    unchecked = [index for index in candidates if digests[index] is not None]
    gone = freshen(blobs, ((digests[index] or "", algorithm) for index in unchecked))
    for index in unchecked:
        if (digests[index], algorithm) in gone:
            digests[index] = None
    return list(map(_as_ingested, survey.store_unknown(blobs, sources, on_progress, generation)))
