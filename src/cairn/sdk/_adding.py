"""How files become manifest entries of a draft (spec §4.2-4.3); references: ``_references``.

Everything here validates first and builds entries without touching the draft's manifest;
``Artifact`` adds the returned entries only once all of them exist, so a refused directory
leaves the draft unchanged. Bytes of ``mutable`` files are copied into the
backend's blob area while hashed (one read, one write); ``immutable`` files are only hashed.
"""

from __future__ import annotations

import os
import stat
from array import array
from itertools import chain
from operator import attrgetter, methodcaller
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from cairn.core.digest import XXH128
from cairn.core.paths import MAX_PATH_BYTES, normalize_artifact_path
from cairn.progress import ProgressCallback, ProgressEvent
from cairn.protocol import Backend, IngestedBlob, SourceStats
from cairn.sdk._entry import ArtifactManifestEntry
from cairn.storage.hashing import hash_file, hash_files
from cairn.storage.references.file import refuse_special, stat_followed

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

POLICIES = ("mutable", "immutable")
# A path of at most this many characters is under ``MAX_PATH_BYTES`` in any encoding (4
# bytes a character at most), and its components, directory entries, under the component
# limit: the file system itself refuses longer names.
_SURELY_SHORT = MAX_PATH_BYTES // 4
_NAME = attrgetter("name")
_IS_FOLDER = methodcaller("is_dir", follow_symlinks=False)
_IS_LINK = methodcaller("is_symlink")
_IS_PLAIN = methodcaller("is_file", follow_symlinks=False)  # a regular file, no symlink
_LSTAT = methodcaller("stat", follow_symlinks=False)
_PATH = attrgetter("path")
_FIELDS = attrgetter("st_size", "st_mtime_ns", "st_ctime_ns")
_INODE = attrgetter("st_ino")


def check_policy(policy: str | None) -> str:
    """Return the policy (``None`` means ``"mutable"``).

    Raises ``ValueError("Invalid policy '<p>'. Policy may only be `mutable` or `immutable`.")``.
    """
    policy = policy or "mutable"
    if policy not in POLICIES:
        raise ValueError(f"Invalid policy {policy!r}. Policy may only be `mutable` or `immutable`.")
    return policy


def make_entry(path: str, ingested: IngestedBlob, skip_cache: bool) -> ArtifactManifestEntry:
    """An entry for a stored file (its ``local_path`` holds the bytes to upload at log
    time); non-MD5 entries carry ``extra {"alg": "XXH128"}``."""
    digest, algorithm, size, local_path = ingested
    extra = {"alg": "XXH128"} if algorithm == XXH128 else {}
    # Positional: one call per file of a folder (path, digest, ref, birth id, size, extra,
    # local path, skip cache).
    return ArtifactManifestEntry(path, digest, None, None, size, extra, str(local_path), skip_cache)


def ingest(backend: Callable[[], Backend], path: Path, algorithm: str, policy: str) -> IngestedBlob:
    """Hash ``path``; with the mutable policy also copy it into the backend's blob area.

    Raises ``OSError`` if the file cannot be read (or the store cannot be written).
    """
    if policy == "mutable":
        return backend().ingest_file(path, algorithm)
    digest, size = hash_file(path, algorithm)
    return IngestedBlob(digest, algorithm, size, path)


def ingest_many(
    backend: Callable[[], Backend],
    paths: Sequence[str],
    algorithm: str,
    policy: str,
    progress: ProgressCallback,
    task: str,
    started: float,
    stats: SourceStats | None = None,
) -> list[IngestedBlob]:
    """Ingest ``paths`` in parallel; results are in the order of ``paths``. ``stats``, if
    taken while listing them (``scan_dir``), spare the backend a second look at each file.
    ``progress`` hears of the work as task ``task``, begun at ``started`` (monotonic).

    Raises the first ``OSError`` met (in ``paths`` order); the work left is cancelled.
    """
    if policy == "immutable":
        hashed = hash_files([Path(path) for path in paths], algorithm)
        hashed_bytes = sum(size for _digest, size in hashed)
        count = len(paths)
        progress(
            ProgressEvent(task, count, count, hashed_bytes, hashed_bytes, True, started=started)
        )
        return [
            IngestedBlob(digest, algorithm, size, path)
            for path, (digest, size) in zip(paths, hashed, strict=True)
        ]
    total = len(paths)
    step = max(1, total // 100)  # one event per percent: an event per file costs more than a file

    def on_progress(done_files: int, count: int, done_bytes: int, total_bytes: int) -> None:
        if done_files % step == 0 and done_files < count:
            progress(
                ProgressEvent(task, done_files, count, done_bytes, total_bytes, started=started)
            )

    # One call for the whole folder: the backend skips unchanged files and packs small ones.
    blobs = backend().ingest_files(paths, algorithm, on_progress, stats)
    total_bytes = sum(blob.size for blob in blobs)
    progress(ProgressEvent(task, total, total, total_bytes, total_bytes, True, started=started))
    return blobs


class Listing(NamedTuple):
    """The regular files below a folder, sorted by relative path: their relative POSIX
    paths, their physical paths and their stat fields (taken as they were listed)."""

    relatives: list[str]
    physicals: list[str]
    stats: SourceStats


def scan_dir(root: str) -> Listing:
    """List the regular files below ``root`` (see ``Listing``).

    Symlinks are followed, as wandb's ``os.walk(followlinks=True)`` does: a symlinked file
    is recorded with its target's content under the link's name, and a symlinked directory
    is walked as if it were a real one. A symlinked directory that leads back to one of the
    directories being walked (a loop) is refused instead of walked forever. Hidden files are
    included; empty directories are not recorded.

    Raises (before anything is read or copied):
        ValueError: a FIFO, socket or device is found, or a symlink loop (each named).
        FileNotFoundError: a broken symlink or a file that vanished (named).
        PermissionError: a directory cannot be listed (named). A file that cannot be read
            is refused when it is read (``PermissionError`` naming it): a pack being
            written is then dropped, so nothing of the folder becomes visible.
    """
    relatives: list[str] = []
    physicals: list[str] = []
    fields, inodes = array("q"), array("Q")
    add_relative, add_physical = relatives.append, physicals.append
    add_fields, add_inode = fields.extend, inodes.append
    top = stat_followed(root)

    def add_plain(entries: list[os.DirEntry[str]], prefix: str) -> None:
        """A folder of plain files only (the common case), added without a Python step
        per file."""
        infos = list(map(_LSTAT, entries))  # an error names the file
        relatives.extend(map(prefix.__add__, map(_NAME, entries)))
        physicals.extend(map(_PATH, entries))
        add_fields(chain.from_iterable(map(_FIELDS, infos)))
        inodes.extend(map(_INODE, infos))

    def enter(folder: str, prefix: str, ancestors: frozenset[tuple[int, int]]) -> None:
        """List ``folder``: its files at once if it holds nothing else, else walked."""
        entries = _entries(folder)
        if all(map(_IS_PLAIN, entries)):
            add_plain(entries, prefix)
        else:
            stack.append((iter(entries), prefix, ancestors))

    # Depth first, each folder's entries in the order of their keys (a folder's name
    # followed by "/"), which lists the files in the order of their relative paths.
    stack: list[tuple[Iterator[os.DirEntry[str]], str, frozenset[tuple[int, int]]]] = []
    enter(root, "", frozenset({(top.st_dev, top.st_ino)}))
    while stack:
        entries, prefix, ancestors = stack[-1]
        for item in entries:
            # The listing says which entries are plain files (no symlink): the common case.
            if item.is_file(follow_symlinks=False):
                info = item.stat(follow_symlinks=False)  # an error names the file
            else:  # a symlink is stat'ed through
                info = stat_followed(item.path) if item.is_symlink() else item.stat()
                if stat.S_ISDIR(info.st_mode):
                    identity = (info.st_dev, info.st_ino)
                    if identity in ancestors:
                        raise ValueError(
                            f"Symlink loop: '{item.path}' leads back to a directory it is in"
                        )
                    subfolder = f"{prefix}{item.name}/"
                    depth = len(stack)
                    enter(item.path, subfolder, ancestors | {identity})
                    if len(stack) > depth:
                        break  # the folder first; this one's iterator resumes after it
                    continue  # its files are listed: on with this folder
                if not stat.S_ISREG(info.st_mode):
                    refuse_special(item.path, info.st_mode)
            add_relative(prefix + item.name)
            add_physical(item.path)
            add_fields((info.st_size, info.st_mtime_ns, info.st_ctime_ns))
            add_inode(info.st_ino)
        else:
            stack.pop()
    return Listing(relatives, physicals, SourceStats(fields, inodes))


def _entries(folder: str) -> list[os.DirEntry[str]]:
    """A folder's entries sorted by key: a file's name, a folder's name and ``/`` (which
    sorts ``a.txt`` before the folder ``a``). Raises as ``scan_dir``."""
    with os.scandir(folder) as listing:
        entries = list(listing)
    if any(map(_IS_FOLDER, entries)) or any(map(_IS_LINK, entries)):
        entries.sort(key=_folder_key)
    else:  # the common case, a folder of files: sorted by name in C
        entries.sort(key=_NAME)
    return entries


def _folder_key(item: os.DirEntry[str]) -> str:
    """A linked folder sorts as the folder it is walked as. Raises as ``stat_followed``."""
    if item.is_symlink():
        is_folder = stat.S_ISDIR(stat_followed(item.path).st_mode)
    else:
        is_folder = item.is_dir(follow_symlinks=False)
    return f"{item.name}/" if is_folder else item.name


def join_logical_all(name: str | None, relatives: list[str]) -> list[str]:
    """``join_logical(name, relative)`` for each of ``relatives`` (from :func:`scan_dir`);
    without ``name`` and with no path needing the normaliser, ``relatives`` itself.

    Raises: ValueError (a path the normaliser refuses: unsafe, or too long).
    """
    if name is None:
        joined = "".join(relatives)
        plain = "\\" not in joined and ":" not in joined and "\x00" not in joined
        if plain and max(map(len, relatives), default=0) <= _SURELY_SHORT:
            return relatives
    return [join_logical(name, relative) for relative in relatives]


def join_logical(name: str | None, relative: str) -> str:
    """``join(name or "", relative)`` through the one path normaliser (ValueError if invalid).

    ``name`` must be normalised already and ``relative`` come from :func:`scan_dir`: its
    components are directory entries, never empty, ``.`` or ``..``, so without ``\\`` or
    ``:`` (which a Windows reading could turn into an anchor or ``..``) it is already in
    normal form and the normaliser, a tenth of ``add_dir``'s time on small files, is skipped
    (unless the path is long enough to be over the length limit: its bytes are counted).

    Raises: ValueError (a path the normaliser refuses).
    """
    joined = f"{name}/{relative}" if name else relative
    if "\\" in relative or ":" in relative or "\x00" in relative or len(joined) > _SURELY_SHORT:
        return normalize_artifact_path(joined)
    return joined
