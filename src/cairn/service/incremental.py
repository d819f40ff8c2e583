"""Incremental versions (``Artifact(..., incremental=True)``, spec §4.10): a draft names
only the files it adds or changes, and the new version holds those plus every other file
of its base version (the collection's latest, or the base the client names). Files the
draft does not name are kept, never deleted.

The merge happens here, in the service, for every transport: Cairn's SDK sends its
partial manifest, the official client uploads ``wandb_manifest.incremental.json`` naming
its base, and both get the same version. The partial manifest is checked as any manifest
is; the merged one is then committed like any other, with its own digest.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from cairn.core.digest import entry_algorithm, normalize_digest_algorithm
from cairn.core.manifest import Manifest
from cairn.core.paths import clash_error, tree_clash
from cairn.errors import CommError
from cairn.service import versions
from cairn.service.manifests import checked_manifest

if TYPE_CHECKING:
    from cairn.protocol import CommitRequest, VersionInfo
    from cairn.service.caller import Caller
    from cairn.service.resources import Store


def _base(store: Store, caller: Caller, request: CommitRequest) -> VersionInfo | None:
    """The version the request is relative to; None when its collection has none yet.

    Raises: ValueError (a named base of another collection), CommError (a named base the
    caller cannot read).
    """
    if request.base_id is None:
        try:
            return versions.resolve_version(
                store, caller, request.entity, request.project, request.collection, "latest"
            )
        except CommError:
            return None
    base = versions.get_version(store, caller, request.base_id)
    where = (base.source_entity, base.source_project, base.source_collection)
    if where != (request.entity, request.project, request.collection):
        raise ValueError(
            f"The base of an incremental version must be a version of "
            f"'{request.entity}/{request.project}/{request.collection}'"
        )
    return base


def merged(store: Store, caller: Caller, request: CommitRequest) -> CommitRequest:
    """``request`` itself when it is not incremental; else the commit of its entries merged
    onto its base's (the request's entries win), with the merged manifest's digest.

    Raises: ValueError (an invalid partial manifest, a base of another collection, a path
    that is a file in one and a folder in the other); CommError (an unreadable base).
    """
    if not request.incremental:
        return request
    algorithm = normalize_digest_algorithm(request.digest_algorithm)
    partial = checked_manifest(request, algorithm)
    base = _base(store, caller, request)
    combined = Manifest(partial.storage_policy, dict(partial.storage_policy_config))
    if base is not None:
        previous = Manifest.from_json(versions.read_manifest(store, caller, base.id))
        combined.entries.update(
            (path, entry) for path, entry in previous.entries.items() if path not in partial.entries
        )
    combined.entries.update(partial.entries)
    clash = tree_clash(combined.entries)
    if clash is not None:
        raise clash_error(*clash)
    return dataclasses.replace(
        request,
        incremental=False,
        base_id=None,
        manifest_json=None,
        manifest=combined,
        digest=combined.digest(entry_algorithm(algorithm)),
    )
