"""The manifest of a commit request, checked as the server must check what it stores.

A manifest made in this process by Cairn's own SDK (``CommitRequest.manifest``) was built
through the safe-path rules and digested by its maker, so it is taken as it is. One that
arrived as bytes (a client of the server) is parsed, every entry path must be safe and in
normal form, no entry may lie inside another (``a`` and ``a/b``), and the request's
artifact digest must be the manifest's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cairn.core.digest import entry_algorithm
from cairn.core.manifest import Manifest
from cairn.core.paths import clash_error, tree_clash, validate_entry_path

if TYPE_CHECKING:
    from cairn.protocol import CommitRequest


def checked_manifest(request: CommitRequest, digest_algorithm: str) -> Manifest:
    """The request's manifest (see the module docstring).

    Raises: ValueError (malformed JSON or entries, an unsafe or non-normal path, an entry
    inside another, an artifact digest that is not the manifest's).
    """
    manifest = request.manifest
    if manifest is not None:
        return manifest
    manifest = Manifest.from_json(request.manifest_bytes())
    for path in manifest.entries:
        validate_entry_path(path)
    clash = tree_clash(manifest.entries)
    if clash is not None:
        raise clash_error(*clash)
    expected = manifest.digest(entry_algorithm(digest_algorithm))
    if request.digest != expected:
        raise ValueError(
            f"Artifact digest {request.digest!r} does not match its manifest ({expected!r})"
        )
    return manifest
