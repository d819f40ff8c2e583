"""The one normaliser of paths inside an artifact, and lexical containment checks.

Every logical path that comes from a user, a manifest, a URL or a server answer goes through
:func:`normalize_artifact_path` before it names a file, so ``..``, absolute and Windows-anchored
paths can never escape a download root (spec §3.6). :func:`safe_join` is the only way other
layers should turn a logical path into a filesystem path. Pure path arithmetic: nothing here
touches the filesystem or resolves symlinks (callers that write must still refuse symlinks).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath


def normalize_artifact_path(path: str) -> str:
    """Return ``path`` in normal POSIX form: ``"./y/./z.txt"`` gives ``"y/z.txt"``.

    Rejected: the empty path and ``.``; absolute POSIX paths; any ``..`` component when the path
    is read as POSIX *or* as Windows; Windows-anchored paths (``C:\\x``, ``C:x``, ``\\x``);
    paths containing a NUL character. ``\\`` is otherwise a literal character, as in wandb on
    POSIX (``d\\x.txt`` stays ``d\\x.txt``).

    Raises ``ValueError("Invalid artifact path: '<path>'")``.
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
        raise ValueError(f"Invalid artifact path: '{path}'")
    return posix.as_posix()


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
    Raises ``ValueError("Invalid artifact path: '<path>'")`` if the path is invalid or would
    leave ``root``.
    """
    joined = root / normalize_artifact_path(logical_path)
    if not is_within(root, joined):
        raise ValueError(f"Invalid artifact path: '{logical_path}'")
    return joined
