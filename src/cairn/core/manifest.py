"""The W&B artifact manifest, version 1 (spec §1.1-1.2), as a pure in-memory model.

A manifest maps logical paths to entries (digest, optional reference, size, extra data). Cairn
reads and writes exactly the JSON ``wandb``'s Python writer produces, so manifests can move
between the two, and the artifact digest is computed here from it (TV1-TV3). Reading is
tolerant where wandb is (unknown entry keys, the Go core's ``local_path``/``skip_cache``) and
strict where bad data would otherwise travel further (wrong types raise ``ValueError``).
Entry paths are not normalised here: callers turn them into files only through
:func:`cairn.core.paths.safe_join`. Pure, no I/O.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from itertools import islice
from json.encoder import encode_basestring_ascii as _quote  # json.dumps' own string encoder
from typing import TYPE_CHECKING, Any

from cairn.core.digest import MD5, XXH128, artifact_digest
from cairn.core.paths import clash_error, tree_clash

if TYPE_CHECKING:
    from collections.abc import Sequence

STORAGE_POLICY = "wandb-storage-policy-v1"
MANIFEST_VERSION = 1
_JSON_BATCH = 4096  # entries encoded per step of to_json_bytes
_XXH128_EXTRA = {"alg": "XXH128"}


def _default_policy_config() -> dict[str, Any]:
    return {"storageLayout": "V2"}


@dataclass(slots=True)
class ManifestEntry:
    """One file (or reference) of an artifact.

    ``digest`` is the base64 content digest for stored files, or an ETag/URI for references.
    ``local_path`` and ``skip_cache`` are client-side only and never serialised.
    """

    path: str
    digest: str
    ref: str | None = None
    birth_artifact_id: str | None = None
    size: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    local_path: str | None = None
    skip_cache: bool = False

    def algorithm(self) -> str:
        """Return the entry-level digest algorithm: ``"xxh128"`` if tagged so, else ``"md5"``."""
        return XXH128 if self.extra.get("alg") == "XXH128" else MD5

    def to_json(self) -> dict[str, Any]:
        """Return the entry as wandb writes it.

        Key order ``digest, ref, birthArtifactID, size, extra``; fields equal to their default
        (``None``, empty ``extra``) are dropped; ``size: 0`` is kept. Raises nothing.
        """
        result: dict[str, Any] = {"digest": self.digest}
        if self.ref is not None:
            result["ref"] = self.ref
        if self.birth_artifact_id is not None:
            result["birthArtifactID"] = self.birth_artifact_id
        if self.size is not None:
            result["size"] = self.size
        if self.extra:
            result["extra"] = dict(self.extra)
        return result


@dataclass
class Manifest:
    """An ordered set of entries plus the storage policy header.

    ``entries`` keeps insertion order, which is the order of ``contents`` in the JSON.
    """

    storage_policy: str = STORAGE_POLICY
    storage_policy_config: dict[str, Any] = field(default_factory=_default_policy_config)
    entries: dict[str, ManifestEntry] = field(default_factory=dict)
    # The folders the entries lie in, built on first need and kept up to date by the methods
    # below (rebuilt if ``entries`` was changed behind their back: its size differs).
    _folders: set[str] | None = field(default=None, init=False, repr=False, compare=False)
    _folders_for: int = field(default=-1, init=False, repr=False, compare=False)

    def _folder_index(self) -> set[str]:
        if self._folders is None or self._folders_for != len(self.entries):
            folders: set[str] = set()
            for path in self.entries:
                _add_folders(folders, path)
            self._folders, self._folders_for = folders, len(self.entries)
        return self._folders

    def check_place(self, path: str) -> None:
        """Check that ``path`` can join the entries: no entry is a folder of it, and it is
        no folder of an entry (``a`` and ``a/b`` cannot both be downloaded).

        Raises ``ValueError`` naming both paths (``core.paths.clash_error``).
        """
        cut = path.find("/")
        while cut != -1:
            if path[:cut] in self.entries:
                raise clash_error(path[:cut], path)
            cut = path.find("/", cut + 1)
        if path in self._folder_index():
            below = next(p for p in self.entries if p.startswith(path + "/"))
            raise clash_error(path, below)

    def add_entry(self, entry: ManifestEntry, overwrite: bool = False) -> ManifestEntry:
        """Add ``entry`` under ``entry.path`` and return it (spec §4.2 collision rule).

        An existing entry with the same digest is replaced silently (keeping its position);
        with a different digest it is replaced only if ``overwrite``.
        Raises ``ValueError("Cannot add the same path twice: '<path>'")`` otherwise, and
        ``ValueError`` naming both paths when the path and an entry would be a file and a
        folder of each other (``check_place``).
        """
        existing = self.entries.get(entry.path)
        if existing is not None and existing.digest != entry.digest and not overwrite:
            raise ValueError(f"Cannot add the same path twice: '{entry.path}'")
        if existing is None:
            self.check_place(entry.path)
            folders = self._folder_index()
            _add_folders(folders, entry.path)
            self._folders_for = len(self.entries) + 1
        self.entries[entry.path] = entry
        return entry

    def add_entries(self, entries: Sequence[ManifestEntry], listed: bool = False) -> None:
        """Add many entries at once: their paths are new, or hold the same content, as the
        caller checked; checked here as a whole against file/folder clashes. ``listed``
        entries come from one folder listing (``add_dir``), which holds none among
        themselves, so they are checked only against the entries already there.

        Raises ``ValueError`` naming both paths of a clash (nothing is added then).
        """
        if self.entries or not listed:
            clash = tree_clash(itertools.chain(self.entries, (e.path for e in entries)))
            if clash is not None:
                raise clash_error(*clash)
        self.entries.update(zip([e.path for e in entries], entries, strict=True))
        self._folders = None

    def remove_entry(self, path: str) -> None:
        """Remove the entry at ``path``.

        Raises ``FileNotFoundError("Cannot remove missing entry: '<path>'")`` if there is none.
        """
        if path not in self.entries:
            raise FileNotFoundError(f"Cannot remove missing entry: '{path}'")
        del self.entries[path]
        self._folders = None

    def get_entry_by_path(self, path: str) -> ManifestEntry | None:
        """Return the entry at exactly ``path``, or ``None``. Raises nothing."""
        return self.entries.get(path)

    def digest(self, algorithm: str = MD5) -> str:
        """Return the artifact digest (hex) over paths and entry digests (spec §1.4).

        ``algorithm`` is ``"md5"`` or ``"xxh128"`` (the artifact's digest algorithm).
        Raises ``ValueError`` for an unknown algorithm.
        """
        return artifact_digest(
            ((path, entry.digest) for path, entry in self.entries.items()), algorithm
        )

    @property
    def size(self) -> int:
        """Total size in bytes; entries of unknown size count as 0."""
        return sum(entry.size or 0 for entry in self.entries.values())

    def to_json(self) -> dict[str, Any]:
        """Return the manifest as wandb's ``to_manifest_json``: ``version``, ``storagePolicy``,
        ``storagePolicyConfig`` (``None`` values dropped), ``contents`` in insertion order.
        Raises nothing.
        """
        return {
            "version": MANIFEST_VERSION,
            "storagePolicy": self.storage_policy,
            "storagePolicyConfig": {
                key: value for key, value in self.storage_policy_config.items() if value is not None
            },
            "contents": {path: entry.to_json() for path, entry in self.entries.items()},
        }

    def to_json_bytes(self) -> bytes:
        """Return ``json.dumps(self.to_json())`` encoded as UTF-8.

        Default ``json.dumps`` settings: separators ``", "``/``": "``, keys not sorted,
        ``ensure_ascii=True`` (so the bytes are ASCII; ``é`` is written ``\\u00e9``). These
        are the bytes Cairn stores and digests as the manifest file. Raises nothing.
        """
        header = json.dumps(
            {
                "version": MANIFEST_VERSION,
                "storagePolicy": self.storage_policy,
                "storagePolicyConfig": {
                    key: value
                    for key, value in self.storage_policy_config.items()
                    if value is not None
                },
            }
        )
        # The same bytes as ``json.dumps(self.to_json())``, written entry by entry in
        # batches: a million-file manifest never exists as a million small dicts at once.
        parts = [header[:-1].encode("utf-8"), b', "contents": {']
        items = iter(self.entries.items())
        separator = ""
        while batch := list(islice(items, _JSON_BATCH)):
            text = ", ".join(f"{_quote(path)}: {_entry_json(entry)}" for path, entry in batch)
            parts.append((separator + text).encode("utf-8"))
            separator = ", "
        parts.append(b"}}")
        return b"".join(parts)

    @classmethod
    def from_json(cls, data: bytes | str | dict[str, Any]) -> Manifest:
        """Build a manifest from its JSON (bytes, text or an already parsed dict).

        Accepts wandb's Python and Go writers: unknown keys, ``local_path`` and ``skip_cache``
        inside entries are ignored; a missing ``storagePolicyConfig`` or ``contents`` is empty.

        Raises ``ValueError`` (``json.JSONDecodeError``/``UnicodeDecodeError`` included) for
        text that is not JSON or nests too deeply for ``json`` to parse (``"Invalid manifest
        format. Nested too deeply."``, never its ``RecursionError``), and, with wandb's
        messages, ``"Invalid manifest format. Must contain version field."``, ``"Invalid
        manifest version."`` and ``"Failed to find storage policy '<name>'"``; ``"Invalid
        manifest format. ..."``/``"Invalid manifest entry '<path>': ..."`` for values of the
        wrong type.
        """
        try:
            parsed: object = data if isinstance(data, dict) else json.loads(data)
        except RecursionError:  # json recurses once per level (counting first costs more)
            raise ValueError("Invalid manifest format. Nested too deeply.") from None
        if not isinstance(parsed, dict):
            raise ValueError("Invalid manifest format. Must be a JSON object.")
        if "version" not in parsed:
            raise ValueError("Invalid manifest format. Must contain version field.")
        version = parsed["version"]
        if type(version) is not int or version != MANIFEST_VERSION:
            raise ValueError("Invalid manifest version.")
        policy = parsed.get("storagePolicy")
        if policy != STORAGE_POLICY:
            raise ValueError(f"Failed to find storage policy '{policy}'")
        config = parsed.get("storagePolicyConfig", {})
        contents = parsed.get("contents", {})
        if not isinstance(config, dict):
            raise ValueError("Invalid manifest format. storagePolicyConfig must be an object.")
        if not isinstance(contents, dict):
            raise ValueError("Invalid manifest format. contents must be an object.")
        manifest = cls(storage_policy=policy, storage_policy_config=dict(config))
        for path, raw in contents.items():
            manifest.entries[path] = _entry_from_json(path, raw)
        return manifest


def _entry_json(entry: ManifestEntry) -> str:
    """``json.dumps(entry.to_json())``, formatted directly for the common entry (a stored
    file: string digest, int size, no ref, no birth id, ``extra`` empty or the XXH128 tag)."""
    if (
        entry.ref is None
        and entry.birth_artifact_id is None
        and type(entry.size) is int
        and type(entry.digest) is str
    ):
        if not entry.extra:
            return f'{{"digest": {_quote(entry.digest)}, "size": {entry.size}}}'
        if entry.extra == _XXH128_EXTRA:
            return (
                f'{{"digest": {_quote(entry.digest)}, "size": {entry.size}, '
                '"extra": {"alg": "XXH128"}}'
            )
    return json.dumps(entry.to_json())


def _entry_from_json(path: str, raw: object) -> ManifestEntry:
    """Build one entry from its JSON object; raise ``ValueError`` naming the path if malformed.

    Called once per file of a manifest, so the common case (a stored file: a string
    digest, an int size, maybe ``extra``) is checked in straight-line code.
    """
    if not isinstance(raw, dict):
        raise _invalid(path, "must be an object")
    digest = raw.get("digest")
    if not isinstance(digest, str):
        raise _invalid(path, "digest must be a string")
    ref = raw.get("ref")
    birth = raw.get("birthArtifactID")
    if not (ref is None or isinstance(ref, str)):
        raise _invalid(path, "ref must be a string")
    if not (birth is None or isinstance(birth, str)):
        raise _invalid(path, "birthArtifactID must be a string")
    size = raw.get("size")
    if size is not None and (type(size) is not int or size < 0):
        raise _invalid(path, "size must be a non-negative integer")
    extra = raw.get("extra")
    if extra is None:
        extra = {}
    elif isinstance(extra, dict):
        extra = dict(extra)
    else:
        raise _invalid(path, "extra must be an object")
    return ManifestEntry(path, digest, ref, birth, size, extra)


def _invalid(path: str, reason: str) -> ValueError:
    return ValueError(f"Invalid manifest entry '{path}': {reason}")


def _add_folders(folders: set[str], path: str) -> None:
    """Add the folders ``path`` lies in to ``folders`` (stopping at one already there:
    the folders above it are too)."""
    cut = path.rfind("/")
    while cut > 0:
        folder = path[:cut]
        if folder in folders:
            return
        folders.add(folder)
        cut = path.rfind("/", 0, cut)
