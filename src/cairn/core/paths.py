"""The one normaliser of paths inside an artifact, and lexical containment checks.

Every logical path that comes from a user, a manifest, a URL or a server answer goes through
:func:`normalize_artifact_path` before it names a file, so ``..``, absolute and Windows-anchored
paths can never escape a download root (spec §3.6), and no path is too long to be a file name
on a POSIX file system. A server that receives a manifest checks each entry's path with
:func:`validate_entry_path`, which also insists that it is already in normal form, so one file
has one name. :func:`safe_join` is the only way other layers should turn a logical path into a
filesystem path. Pure path arithmetic: nothing here touches the filesystem or resolves symlinks
(callers that write must still refuse symlinks).
"""

from __future__ import annotations

import os
from itertools import pairwise
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

# The usual limits of POSIX file systems (NAME_MAX and PATH_MAX on Linux), in UTF-8 bytes.
MAX_COMPONENT_BYTES = 255
MAX_PATH_BYTES = 4096
# How much of a path an error message shows.
_SHOWN_CHARS = 100


def _shown(path: str) -> str:
    """``path`` as an error message shows it: at most its first 100 characters, then ``...``."""
    return path if len(path) <= _SHOWN_CHARS else path[:_SHOWN_CHARS] + "..."


def _invalid(path: str, reason: str | None = None) -> ValueError:
    """``ValueError("Invalid artifact path: '<path>'")``, with ``": <reason>"`` when given."""
    message = f"Invalid artifact path: '{_shown(path)}'"
    return ValueError(f"{message}: {reason}" if reason else message)


def _check_size(path: str, normal: str) -> None:
    """Refuse ``normal`` (the normal form of ``path``) if it is not UTF-8 or too long."""
    if normal.isascii():
        if len(normal) <= MAX_COMPONENT_BYTES:  # the common case: nothing to count
            return
        encoded = normal.encode("ascii")
    else:
        try:
            encoded = normal.encode("utf-8")
        except UnicodeEncodeError:
            raise _invalid(
                path,
                "it holds a lone surrogate, which UTF-8 cannot encode (a file name that is "
                "not UTF-8?)",
            ) from None
    if any(len(part) > MAX_COMPONENT_BYTES for part in encoded.split(b"/")):
        raise _invalid(path, f"a path component is longer than {MAX_COMPONENT_BYTES} bytes")
    if len(encoded) > MAX_PATH_BYTES:
        raise _invalid(path, f"the path is longer than {MAX_PATH_BYTES} bytes")


def normalize_artifact_path(path: str) -> str:
    """Return ``path`` in normal POSIX form: ``"./y/./z.txt"`` gives ``"y/z.txt"``.

    The normal form has no ``.`` components, no empty components (``a//b`` gives ``a/b``) and
    no trailing ``/``. ``\\`` is otherwise a literal character, as in wandb on POSIX
    (``d\\x.txt`` stays ``d\\x.txt``); so are control characters other than NUL (a newline is
    a valid file name character on POSIX, and wandb accepts it).

    Rejected, with wandb's ``ValueError("Invalid artifact path: '<path>'")``: the empty path
    and ``.``; absolute POSIX paths; any ``..`` component when the path is read as POSIX *or*
    as Windows; Windows-anchored paths (``C:\\x``, ``C:x``, ``\\x``); paths containing a NUL
    character (no file system can store it).

    Rejected with the same text followed by ``": <reason>"`` (Cairn's own rules; the normal
    form is measured, in UTF-8 bytes):

    - ``"...: a path component is longer than 255 bytes"``;
    - ``"...: the path is longer than 4096 bytes"`` (its components being short enough);
    - ``"...: it holds a lone surrogate, which UTF-8 cannot encode ..."`` (what
      ``os.fsdecode`` makes of a file name that is not UTF-8; the digest could not be computed).

    A path longer than 100 characters is shown as its first 100 characters then ``...``.
    Raises nothing else.
    """
    posix = PurePosixPath(path)
    windows = PureWindowsPath(path)
    if (
        "\x00" in path
        or posix.is_absolute()
        or windows.anchor
        or ".." in posix.parts
        or ".." in windows.parts
        or not posix.parts
    ):
        raise _invalid(path)
    normal = posix.as_posix()
    _check_size(path, normal)
    return normal


def validate_entry_path(path: str) -> str:
    """Return ``path`` if it is a valid artifact path already in normal form.

    For a server that receives manifests: the path must be exactly what
    :func:`normalize_artifact_path` returns for it (no ``./``, no ``//``, no trailing ``/``),
    so that one file never has two names in one artifact.

    Raises ``ValueError``: any error of :func:`normalize_artifact_path`, and
    ``"Invalid artifact path: '<path>': it is not in normal form ('<normal form>')"`` for a
    valid path given in another form (``./a``, ``a//b``, ``a/``).
    """
    normal = normalize_artifact_path(path)
    if normal != path:
        raise _invalid(path, f"it is not in normal form ('{_shown(normal)}')")
    return path


def is_within(root: Path, candidate: Path) -> bool:
    """Tell whether ``candidate`` is ``root`` or lies below it, lexically.

    Both paths are normalised with ``os.path.normpath`` (``..`` folded, no symlink resolution,
    no filesystem access); an absolute and a relative path never contain each other.
    Raises nothing.
    """
    root_norm = Path(os.path.normpath(root))
    candidate_norm = Path(os.path.normpath(candidate))
    return candidate_norm == root_norm or root_norm in candidate_norm.parents


def safe_join(root: Path, logical_path: str) -> Path:
    """Return ``root / normalize_artifact_path(logical_path)``, guaranteed to lie below ``root``.

    Pure path arithmetic (see :func:`is_within`); symlinks inside ``root`` are not examined.
    The containment test after normalising is defence in depth: a normalised path cannot leave
    ``root``, and this function is the place that promises it.
    Raises ``ValueError("Invalid artifact path: '<path>'...")``: every error of
    :func:`normalize_artifact_path`, and the bare message if the path would leave ``root``.
    """
    joined = root / normalize_artifact_path(logical_path)
    if not is_within(root, joined):
        raise _invalid(logical_path)
    return joined


def tree_clash(paths: Iterable[str]) -> tuple[str, str] | None:
    """A pair ``(file, below)`` of ``paths`` where ``below`` lies inside ``file`` (``a`` and
    ``a/b``): no download could hold both, one a file and the other in a folder of the
    same name. None when the paths form a tree. Paths must be normal; O(n log n).
    """
    # "/" sorts before every other character once mapped to NUL (never in a valid path), so
    # a file is followed at once by the paths below it, if any.
    keys = sorted(path.replace("/", "\x00") for path in paths)
    for current, following in pairwise(keys):
        if following.startswith(current + "\x00"):
            return current.replace("\x00", "/"), following.replace("\x00", "/")
    return None


def clash_error(file: str, below: str) -> ValueError:
    """The error for two paths of which one is inside the other (``tree_clash``)."""
    return ValueError(
        f"Cannot add '{_shown(below)}': '{_shown(file)}' is a file of the artifact, so it "
        "cannot also be a folder"
    )
