"""How files and references become manifest entries of a draft (spec §4.2-4.3, §5.5, §5.7).

Everything here validates first and builds entries without touching the draft's manifest;
``Artifact`` adds the returned entries only once all of them exist, so a refused directory
or reference leaves the draft unchanged. Bytes of ``mutable`` files are copied into the
backend's blob area while hashed (one read, one write); ``immutable`` files are only hashed.
"""

from __future__ import annotations

import errno
import os
import stat
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote, urlparse

from cairn.core.digest import XXH128, digest_bytes
from cairn.core.paths import normalize_artifact_path
from cairn.progress import ProgressCallback, ProgressEvent
from cairn.protocol import Backend
from cairn.sdk._entry import ArtifactManifestEntry
from cairn.storage.hashing import default_workers, hash_file, hash_files

POLICIES = ("mutable", "immutable")
DEFAULT_MAX_OBJECTS = 10_000_000
MAX_INGEST_WORKERS = 8

# (digest, size, local path holding the bytes to upload at log time)
Ingested = tuple[str, int, str]


def check_policy(policy: str | None) -> str:
    """Return the policy (``None`` means ``"mutable"``).

    Raises ``ValueError("Invalid policy '<p>'. Policy may only be `mutable` or `immutable`.")``.
    """
    policy = policy or "mutable"
    if policy not in POLICIES:
        raise ValueError(f"Invalid policy {policy!r}. Policy may only be `mutable` or `immutable`.")
    return policy


def make_entry(
    path: str, ingested: Ingested, algorithm: str, skip_cache: bool
) -> ArtifactManifestEntry:
    """An entry for a stored file; non-MD5 entries carry ``extra {"alg": "XXH128"}``."""
    digest, size, local_path = ingested
    extra = {"alg": "XXH128"} if algorithm == XXH128 else {}
    return ArtifactManifestEntry(
        path=path,
        digest=digest,
        size=size,
        extra=extra,
        local_path=local_path,
        skip_cache=skip_cache,
    )


def ingest(backend: Callable[[], Backend], path: Path, algorithm: str, policy: str) -> Ingested:
    """Hash ``path``; with the mutable policy also copy it into the backend's blob area.

    Raises ``OSError`` if the file cannot be read (or the store cannot be written).
    """
    if policy == "mutable":
        blob = backend().ingest_file(path, algorithm)
        return blob.digest, blob.size, str(blob.local_path)
    digest, size = hash_file(path, algorithm)
    return digest, size, str(path)


def ingest_many(
    backend: Callable[[], Backend],
    paths: Sequence[Path],
    algorithm: str,
    policy: str,
    progress: ProgressCallback,
    task: str,
) -> list[Ingested]:
    """Ingest ``paths`` in parallel; results are in the order of ``paths``.

    Raises the first ``OSError`` met (in ``paths`` order); the work left is cancelled.
    """
    if policy == "immutable":
        hashed = hash_files(paths, algorithm)
        return [
            (digest, size, str(path)) for path, (digest, size) in zip(paths, hashed, strict=True)
        ]
    store = backend()  # open it once, before the threads start
    total = len(paths)
    done_files = 0
    done_bytes = 0

    def one(path: Path) -> Ingested:
        return ingest(lambda: store, path, algorithm, policy)

    results: list[Ingested] = []
    workers = max(1, min(MAX_INGEST_WORKERS, default_workers(), total))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(one, path) for path in paths]
        try:
            for future in futures:
                result = future.result()
                results.append(result)
                done_files += 1
                done_bytes += result[1]
                progress(ProgressEvent(task, done_files, total, done_bytes, 0))
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    progress(ProgressEvent(task, done_files, total, done_bytes, done_bytes, done=True))
    return results


def _refuse_special(path: str, mode: int) -> None:
    """Raise ``ValueError`` naming ``path`` unless ``mode`` is a regular file or directory."""
    kinds = {
        stat.S_ISFIFO: "a FIFO",
        stat.S_ISSOCK: "a socket",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
    }
    for test, kind in kinds.items():
        if test(mode):
            raise ValueError(f"Cannot add {kind} to an artifact: '{path}'")
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ValueError(f"Cannot add a special file to an artifact: '{path}'")


def _stat_followed(path: str) -> os.stat_result:
    """``os.stat`` (following symlinks) with errors that name the path."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "Broken symlink or vanished file", path) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError(f"Symlink loop: '{path}'") from None
        raise


def scan_dir(root: str) -> list[tuple[str, str]]:
    """List the regular files below ``root`` as ``(relative POSIX path, physical path)``.

    Symlinks are followed, as wandb's ``os.walk(followlinks=True)`` does: a symlinked file
    is recorded with its target's content under the link's name, and a symlinked directory
    is walked as if it were a real one. A symlinked directory that leads back to one of the
    directories being walked (a loop) is refused instead of walked forever. Hidden files are
    included; empty directories are not recorded. Results are sorted by relative path.

    Raises (before anything is read or copied):
        ValueError: a FIFO, socket or device is found, or a symlink loop (each named).
        FileNotFoundError: a broken symlink (named).
        PermissionError: a directory cannot be listed or a file cannot be read (named).
    """
    found: list[tuple[str, str]] = []
    top = _stat_followed(root)
    stack: list[tuple[str, str, frozenset[tuple[int, int]]]] = [
        (root, "", frozenset({(top.st_dev, top.st_ino)}))
    ]
    while stack:
        dirpath, prefix, ancestors = stack.pop()
        with os.scandir(dirpath) as listing:
            names = sorted(item.name for item in listing)
        for name in names:
            physical = os.path.join(dirpath, name)
            info = _stat_followed(physical)
            if stat.S_ISDIR(info.st_mode):
                key = (info.st_dev, info.st_ino)
                if key in ancestors:
                    raise ValueError(
                        f"Symlink loop: '{physical}' leads back to a directory it is in"
                    )
                stack.append((physical, f"{prefix}{name}/", ancestors | {key}))
                continue
            _refuse_special(physical, info.st_mode)
            if not os.access(physical, os.R_OK):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), physical)
            found.append((f"{prefix}{name}", physical))
    found.sort()
    return found


def join_logical(name: str | None, relative: str) -> str:
    """``join(name or "", relative)`` through the one path normaliser (ValueError if invalid)."""
    return normalize_artifact_path(f"{name}/{relative}" if name else relative)


# ---------------------------------------------------------------- references


def local_path_of(uri: str) -> str:
    """The filesystem path a ``file://`` URI names (wandb ``local_file_uri_to_path``)."""
    return unquote(urlparse(uri).path)


def _path_digest(physical: str) -> str:
    """The ``checksum=False`` digest: base64 MD5 of the resolved file URI (TV4)."""
    return digest_bytes(Path(physical).resolve().as_uri().encode("utf-8"))


def file_reference(
    uri: str, name: str | None, checksum: bool, max_objects: int | None
) -> list[ArtifactManifestEntry]:
    """Entries for a ``file://`` reference to a file or a directory (spec §5.5).

    A directory is walked without following symlinked directories (unlike ``add_dir``);
    sizes are always recorded. With ``checksum`` the digest is the content's base64 MD5,
    otherwise the base64 MD5 of the resolved file URI.

    Raises:
        ValueError: the path is neither a file nor a directory
            (``"Path '<uri>' must be a valid file or directory path"``), the directory holds
            more than ``max_objects`` files (``"Exceeded <max> objects tracked, pass
            max_objects to add_reference"``), a FIFO, socket or device is met, or a name is
            not a valid artifact path.
        OSError: a file cannot be read.
    """
    local = local_path_of(uri)
    limit = max_objects or DEFAULT_MAX_OBJECTS
    if os.path.isdir(local):
        found: list[tuple[str, str, str]] = []
        for dirpath, dirnames, filenames in os.walk(local):
            dirnames.sort()
            for filename in sorted(filenames):
                if len(found) >= limit:
                    raise ValueError(
                        f"Exceeded {limit!r} objects tracked, pass max_objects to add_reference"
                    )
                physical = os.path.join(dirpath, filename)
                relative = os.path.relpath(physical, start=local)
                found.append((join_logical(name, relative), os.path.join(uri, relative), physical))
        return _reference_entries(found, checksum)
    if os.path.isfile(local):
        logical = normalize_artifact_path(name or os.path.basename(local))
        return _reference_entries([(logical, uri, local)], checksum)
    raise ValueError(f"Path {uri!r} must be a valid file or directory path")


def _reference_entries(
    found: list[tuple[str, str, str]], checksum: bool
) -> list[ArtifactManifestEntry]:
    """Stat, check and digest ``(logical path, ref, physical path)`` items of a reference."""
    sizes: list[int] = []
    for _logical, _ref, physical in found:
        info = _stat_followed(physical)
        _refuse_special(physical, info.st_mode)
        sizes.append(info.st_size)
    if checksum:
        digests = [digest for digest, _ in hash_files([Path(p) for _, _, p in found], "md5")]
    else:
        digests = [_path_digest(physical) for _, _, physical in found]
    return [
        ArtifactManifestEntry(path=logical, digest=digest, ref=ref, size=size)
        for (logical, ref, _physical), size, digest in zip(found, sizes, digests, strict=True)
    ]


def tracking_reference(uri: str, name: str | None) -> list[ArtifactManifestEntry]:
    """The entry for a reference whose scheme Cairn cannot read (spec §5.7).

    The digest is the URI itself and there is no size.

    Raises ``ValueError`` when ``name`` is missing (wandb's message) or not a valid path.
    """
    if name is None:
        raise ValueError(
            'You must pass name="<entry_name>" when tracking references with unknown schemes. '
            f"ref: {uri}"
        )
    logical = normalize_artifact_path(name)
    warnings.warn(
        f"Artifact references with unsupported schemes cannot be checksummed: {uri}",
        UserWarning,
        stacklevel=4,
    )
    return [ArtifactManifestEntry(path=logical, digest=uri, ref=uri)]
