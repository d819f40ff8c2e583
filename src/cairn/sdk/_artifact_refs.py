"""References to entries of other artifacts: ``wandb-artifact://<hex id>/<path>`` (spec §5.6).

``artifact.get_entry(path)`` passed to ``add_reference`` stands for its ``ref_url()``. The
URI is resolved through the backend (the storage layer cannot see artifacts), following
references to references until the target is a stored file or an external reference.
The entry keeps the target's digest (and its ``alg`` tag), has size 0 as in wandb, and its
ref names the final artifact. Downloads resolve the ref again and fetch the target's bytes.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cairn.core.digest import b64_to_hex, hex_to_b64
from cairn.core.manifest import Manifest, ManifestEntry
from cairn.core.paths import normalize_artifact_path
from cairn.errors import CommError, MissingReferenceError

if TYPE_CHECKING:
    from cairn.protocol import Backend, VersionInfo

ARTIFACT_SCHEMES = ("wandb-artifact",)
MAX_HOPS = 64


def is_artifact_ref(uri: str) -> bool:
    """Whether ``uri`` names an entry of another artifact. Raises nothing."""
    return urlsplit(uri).scheme in ARTIFACT_SCHEMES


def _split(uri: str) -> tuple[str, str]:
    """``(artifact id, entry path)`` of a ``wandb-artifact://`` URI.

    Raises ``ValueError`` for a malformed URI.
    """
    parsed = urlsplit(uri)
    try:
        artifact_id = hex_to_b64(parsed.netloc)
    except ValueError:
        raise ValueError(f"Invalid artifact reference (bad artifact id): '{uri}'") from None
    path = parsed.path.lstrip("/")
    if not path:
        raise ValueError(f"Invalid artifact reference (no entry path): '{uri}'")
    return artifact_id, normalize_artifact_path(path)


def resolve(backend: Backend, uri: str) -> tuple[VersionInfo, ManifestEntry]:
    """The version and the entry that ``uri`` finally names (references followed).

    Raises:
        ValueError: a malformed URI, or a reference cycle.
        MissingReferenceError: the artifact or its entry does not exist (any more).
    """
    current = uri
    for _hop in range(MAX_HOPS):
        artifact_id, path = _split(current)
        try:
            version = backend.get_version(artifact_id)
            manifest = Manifest.from_json(backend.read_manifest(artifact_id))
        except CommError as exc:
            raise MissingReferenceError(
                f"Unable to find the artifact of reference '{current}': {exc}"
            ) from None
        entry = manifest.entries.get(path)
        if entry is None:
            raise MissingReferenceError(
                f"Path not contained in artifact {version.source_collection}:"
                f"v{version.source_version_index}: {path} (reference '{current}')"
            )
        if entry.ref is None or not is_artifact_ref(entry.ref):
            return version, entry
        current = entry.ref
    raise ValueError(f"Artifact reference '{uri}' does not end after {MAX_HOPS} hops")


def store_path(backend: Backend, uri: str, name: str | None) -> list[ManifestEntry]:
    """The entry referencing the artifact entry ``uri`` names.

    Raises: as :func:`resolve`; ``ValueError`` for an invalid ``name``.
    """
    version, target = resolve(backend, uri)
    path = normalize_artifact_path(name or posixpath.basename(target.path))
    extra = {"alg": target.extra["alg"]} if "alg" in target.extra else {}
    ref = f"{ARTIFACT_SCHEMES[0]}://{b64_to_hex(version.id)}/{target.path}"
    return [ManifestEntry(path=path, digest=target.digest, ref=ref, size=0, extra=extra)]
