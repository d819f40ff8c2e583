"""``file://`` references (spec §5.5): a local file or directory tracked where it is.

A directory is walked without following symlinked directories (unlike ``add_dir``) and
sizes are always recorded. With ``checksum`` the digest is the content's base64 MD5,
otherwise the base64 MD5 of the resolved file URI (TV4). Downloads re-hash the source while
copying it; the local file is already on this machine, so it is not copied into the client
cache as well (that would double the disk use for nothing).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from urllib.parse import unquote, urlparse

from cairn.core.digest import digest_bytes
from cairn.core.manifest import ManifestEntry
from cairn.core.paths import normalize_artifact_path
from cairn.errors import ChangedReferenceError, MissingReferenceError
from cairn.storage.hashing import copy_and_hash, hash_files
from cairn.storage.references.base import ReferenceHandler, object_limit


def local_path_of(uri: str) -> str:
    """The filesystem path a ``file://`` URI names (wandb ``local_file_uri_to_path``)."""
    return unquote(urlparse(uri).path)


def refuse_special(path: str, mode: int) -> None:
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


def stat_followed(path: str) -> os.stat_result:
    """``os.stat`` (following symlinks) with errors that name the path.

    Raises ``FileNotFoundError`` (broken symlink or vanished file), ``ValueError`` (symlink
    loop), ``OSError``.
    """
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "Broken symlink or vanished file", path) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError(f"Symlink loop: '{path}'") from None
        raise


class LocalFileHandler(ReferenceHandler):
    """``file://`` URIs."""

    schemes = ("file",)
    uses_etag_cache = False

    def store_path(
        self, uri: str, name: str | None, checksum: bool, max_objects: int | None
    ) -> list[ManifestEntry]:
        """Entries for a ``file://`` reference to a file or a directory.

        Raises:
            ValueError: the path is neither a file nor a directory
                (``"Path '<uri>' must be a valid file or directory path"``), the directory
                holds more than ``max_objects`` files (``"Exceeded <max> objects tracked,
                pass max_objects to add_reference"``), a FIFO, socket or device is met, or
                a name is not a valid artifact path.
            OSError: a file cannot be read.
        """
        local = local_path_of(uri)
        limit = object_limit(max_objects)
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
                    logical = normalize_artifact_path(f"{name}/{relative}" if name else relative)
                    found.append((logical, os.path.join(uri, relative), physical))
            return _entries(found, checksum)
        if os.path.isfile(local):
            logical = normalize_artifact_path(name or os.path.basename(local))
            return _entries([(logical, uri, local)], checksum)
        raise ValueError(f"Path {uri!r} must be a valid file or directory path")

    def fetch(self, entry: ManifestEntry, dest: Path) -> None:
        """Copy the source to ``dest`` while hashing it; it must still hold the digest.

        Raises:
            MissingReferenceError: ``"Local file reference: Failed to find file at path ..."``.
            ChangedReferenceError: ``"Local file reference: Digest mismatch for path ..."``.
            OSError: the source cannot be read or ``dest`` written.
        """
        source = local_path_of(entry.ref or "")
        if not os.path.exists(source):
            raise MissingReferenceError(
                f"Local file reference: Failed to find file at path {source!r} "
                f"(entry '{entry.path}')"
            )
        digest, _size = copy_and_hash(Path(source), dest, "md5")
        if digest != entry.digest:
            os.unlink(dest)
            raise ChangedReferenceError(
                f"Local file reference: Digest mismatch for path {source!r}: "
                f"expected {entry.digest!r} but found {digest!r} (entry '{entry.path}')"
            )


def _path_digest(physical: str) -> str:
    """The ``checksum=False`` digest: base64 MD5 of the resolved file URI (TV4)."""
    return digest_bytes(Path(physical).resolve().as_uri().encode("utf-8"))


def _entries(found: list[tuple[str, str, str]], checksum: bool) -> list[ManifestEntry]:
    """Stat, check and digest ``(logical path, ref, physical path)`` items of a reference."""
    sizes: list[int] = []
    for _logical, _ref, physical in found:
        info = stat_followed(physical)
        refuse_special(physical, info.st_mode)
        sizes.append(info.st_size)
    if checksum:
        digests = [digest for digest, _ in hash_files([Path(p) for _, _, p in found], "md5")]
    else:
        digests = [_path_digest(physical) for _, _, physical in found]
    return [
        ManifestEntry(path=logical, digest=digest, ref=ref, size=size)
        for (logical, ref, _physical), size, digest in zip(found, sizes, digests, strict=True)
    ]
