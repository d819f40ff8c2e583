"""Reading a logged artifact: its manifest and entries, and its bytes on disk (the verbs
behind ``Artifact.manifest`` / ``get_entry`` / ``download`` / ``checkout`` / ``verify`` /
``file`` and ``ArtifactManifestEntry.download``).

Each function takes the artifact's ``ArtifactState``; those that hand out entries also take
the artifact itself (``parent``), which the entries keep for ``ref_url()`` and
``download()``. Bytes move through ``cairn.sdk.download``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.core.digest import entry_algorithm
from cairn.core.manifest import Manifest, ManifestEntry
from cairn.core.paths import normalize_artifact_path
from cairn.sdk import download
from cairn.sdk._entry import ArtifactManifestEntry, ParentArtifact, adopt_manifest

if TYPE_CHECKING:
    from cairn.sdk._artifact_state import ArtifactState

# Suffixes ``Artifact.add(obj, name)`` gives media values (spec §4.5); ``get_entry(name)``
# finds ``<name>.<suffix>.json`` too.
_MEDIA_SUFFIXES = (
    "table", "joined-table", "partitioned-table", "eval-table", "image-file", "audio-file",
    "video-file", "html-file", "object3D-file", "molecule-file", "bokeh-file", "plotly-file",
    "graph-file", "classes", "mask", "bounding-boxes", "histogram", "wb_trace_tree",
    "pytorch-model-file", "sklearn-model-file", "tfkeras-model-file",
)  # fmt: skip


def manifest(state: ArtifactState, parent: ParentArtifact) -> Manifest:
    """The manifest; read from the backend on first use for a logged artifact."""
    if state.manifest is None:
        raw = state.logged_backend().read_manifest(state.id or "")
        state.manifest = adopt_manifest(Manifest.from_json(raw), parent)
    return state.manifest


def digest(state: ArtifactState, parent: ParentArtifact) -> str:
    """The artifact digest, the backend's until the manifest is loaded, then recomputed."""
    if state.manifest is None and state.digest is not None:
        return state.digest
    return manifest(state, parent).digest(entry_algorithm(state.digest_algorithm))


def size(state: ArtifactState, parent: ParentArtifact) -> int:
    """Total bytes of all entries, the backend's until the manifest is loaded."""
    if state.manifest is None and state.size is not None:
        return state.size
    return manifest(state, parent).size


def get_entry(
    state: ArtifactState, parent: ParentArtifact, name: str | os.PathLike[str]
) -> ArtifactManifestEntry:
    """The entry at ``name`` (or ``name.<media type>.json``); ``KeyError`` otherwise."""
    wanted = os.fspath(name)
    entries = manifest(state, parent).entries
    try:
        path = normalize_artifact_path(wanted)
    except ValueError:
        raise KeyError(f"Path not contained in artifact: {wanted}") from None
    candidates = [path, *(f"{path}.{suffix}.json" for suffix in _MEDIA_SUFFIXES)]
    for candidate in candidates:
        entry = entries.get(candidate)
        if entry is not None:
            return ArtifactManifestEntry.adopt(entry, parent)
    raise KeyError(f"Path not contained in artifact: {path}")


def download_entry(
    state: ArtifactState, entry: ManifestEntry, root: str | os.PathLike[str] | None
) -> str:
    """Download one entry below ``root`` (the default root if None); return its path."""
    target = Path(root) if root is not None else state.default_root()
    backend = state.logged_backend()
    assert state.source_entity is not None
    return str(download.download_entry(backend, state.source_entity, entry, target))


def download_all(
    state: ArtifactState,
    parent: ParentArtifact,
    root: str | os.PathLike[str] | None,
    allow_missing_references: bool,
    path_prefix: str | None,
    link: bool,
) -> str:
    """Write the entries (those below ``path_prefix``) below ``root``; return ``root``."""
    target = Path(root) if root is not None else state.default_root()
    entries = [
        entry
        for entry in manifest(state, parent).entries.values()
        if not path_prefix or entry.path.startswith(str(path_prefix))
    ]
    assert state.source_entity is not None
    download.download_entries(
        state.logged_backend(),
        state.source_entity,
        entries,
        target,
        allow_missing_references,
        state.progress(),
        link,
    )
    return str(target)


def checkout(state: ArtifactState, parent: ParentArtifact, root: str | None) -> str:
    """Delete the files of ``root`` the artifact lacks, then download into it."""
    target = Path(root) if root is not None else state.default_root(include_version=False)
    download.remove_extraneous(target, manifest(state, parent).entries.keys())
    return download_all(state, parent, target, False, None, False)


def verify(state: ArtifactState, parent: ParentArtifact, root: str | None) -> None:
    """Check that ``root`` holds exactly the artifact's files with their digests."""
    target = Path(root) if root is not None else state.default_root()
    entries = manifest(state, parent).entries
    download.verify_tree(target, entries.values(), entries.keys(), state.name)


def single_file(state: ArtifactState, parent: ParentArtifact, root: str | None) -> str:
    """Download the artifact's only file; return its path."""
    entries = list(manifest(state, parent).entries.values())
    if len(entries) > 1:
        raise ValueError(
            "This artifact contains more than one file, call `.download()` to get "
            'all files or call .get_entry("filename").download()'
        )
    if not entries:
        raise ValueError("This artifact contains no file")
    target = root if root is not None else state.logged_backend().settings.artifact_dir / state.name
    return download_entry(state, entries[0], target)
