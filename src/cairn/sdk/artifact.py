"""``Artifact``: the wandb-compatible draft and logged artifact version (issue 2 §5).

One class over one record: every attribute lives in an ``ArtifactState``
(``cairn.sdk._artifact_state``), and the members of this class are the public surface
(docstrings, guards, warnings) over verb modules that take that record:
``_artifact_adding`` (files, folders, references, ``new_file``), ``_artifact_reading``
(manifest, entries, download, verify, checkout), ``_artifact_edits`` (TTL, saving a logged
version, links, deletion, URL), ``_artifact_logging`` (logging a draft in a run), ``_media``
(W&B values) and ``files`` (the file paginator).

A draft (``Artifact(name, type)``) collects files and references into a manifest; its
backend is opened lazily through ``cairn.sdk.backend_cache.backend_for()`` the first time
bytes must be stored (``mutable`` policy copies files into the store while hashing them).
A run logs it through ``_log``; ``_from_version`` builds a logged artifact from a backend
answer. Logged-only members raise ``ArtifactNotLoggedError`` on drafts and mutating
members raise ``ArtifactFinalizedError`` after ``finalize()``, exactly as spec §3.8 lists
them. What an artifact returns from above its layer (its collection, the runs of its
lineage, the run ``save()`` logs a draft in) comes through ``cairn.sdk._upward``.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from typing import IO, TYPE_CHECKING, Any, Self

from cairn.core.digest import normalize_digest_algorithm
from cairn.core.manifest import Manifest, ManifestEntry
from cairn.core.metadata import validate_metadata
from cairn.core.names import (
    validate_aliases,
    validate_artifact_name,
    validate_artifact_type,
    validate_tags,
)
from cairn.errors import ArtifactNotLoggedError
from cairn.sdk import _artifact_adding, _artifact_edits, _artifact_reading, _media, _upward
from cairn.sdk._artifact_edits import ArtifactTTL
from cairn.sdk._artifact_logging import log_draft
from cairn.sdk._artifact_state import ArtifactState, draft_state, logged_state
from cairn.sdk._entry import ArtifactManifestEntry, adopt_manifest
from cairn.sdk._guards import ensure_logged, ensure_not_finalized
from cairn.sdk.files import ArtifactFiles

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from datetime import timedelta

    from cairn.media._base import WBValue
    from cairn.protocol import Backend, VersionInfo
    from cairn.sdk._upward import CollectionHandle, RunHandle, RunTarget
    from cairn.settings import Settings

__all__ = ["Artifact", "ArtifactTTL"]


class Artifact:
    """A versioned set of files and references (``wandb.Artifact``).

    Args:
        name: collection name (letters, digits, ``-``, ``_``, ``.``; at most 128 chars).
        type: artifact type (``dataset``, ``model``, ...; ``job`` and ``wandb-*`` reserved).
        description: free text.
        metadata: JSON-able dict of at most 100 keys (NaN becomes ``null``).
        incremental: when logged, keep the latest version's files that this draft lacks.
        use_as: deprecated and ignored (warns).
        storage_region: recorded in the manifest's storage policy config.
        digest_algorithm: ``"MD5"`` (default) or ``"XXH128"``; anything else means MD5.

    Raises:
        ValueError: invalid name, reserved type, bad metadata values or keys.
        TypeError: metadata of an unsupported type.
    """

    _state: ArtifactState

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: dict[str, Any] | None = None,
        incremental: bool = False,
        use_as: str | None = None,
        storage_region: str | None = None,
        digest_algorithm: str = "MD5",
    ) -> None:
        validate_artifact_name(name)
        if incremental:
            warnings.warn("Using experimental arg `incremental`", UserWarning, stacklevel=2)
        validate_artifact_type(type, name)
        checked_metadata = validate_metadata(metadata)
        if storage_region is not None and not storage_region.strip():
            raise ValueError("storage_region must be a non-empty string")
        if use_as is not None:
            warnings.warn(
                "`use_as` argument is deprecated and does not affect the behaviour of "
                "`wandb.Artifact()`",
                DeprecationWarning,
                stacklevel=2,
            )
        state = draft_state(name, type, normalize_digest_algorithm(digest_algorithm))
        if state.digest_algorithm == "XXH128":
            warnings.warn(
                "Creating an artifact with the XXH128 digest algorithm. Calling "
                "`artifact.verify()` for this artifact on wandb versions before 0.29.0 will fail.",
                UserWarning,
                stacklevel=2,
            )
        state.description = description
        state.metadata = checked_metadata
        state.incremental = incremental
        state.storage_region = storage_region.strip() if storage_region else None
        state.manifest = Manifest()
        if state.storage_region:
            state.manifest.storage_policy_config["storageRegion"] = state.storage_region
        self._state = state

    def __repr__(self) -> str:
        return f"<Artifact {self.id or self.name}>"

    # ------------------------------------------------------------ hooks for Run and Api

    @classmethod
    def _from_version(cls, info: VersionInfo, backend: Backend) -> Self:
        """A logged artifact for ``info`` (as seen through ``info.collection``)."""
        artifact = cls.__new__(cls)
        artifact._state = logged_state(info, backend)
        return artifact

    def _log(
        self,
        target: RunTarget,
        *,
        aliases: Sequence[str] | None,
        tags: Sequence[str] | None,
        distributed_id: str | None = None,
        finish: bool = True,
    ) -> None:
        """Log this draft as the next version of its collection, by the run ``target``
        (``Run.log_artifact``, ``Artifact.save()``); a "disabled" run only finalizes it.

        Everything is validated before anything is written; then the blobs the store lacks
        are uploaded and the version is committed in one call. On a digest no-op the
        artifact becomes the existing version, with a warning. Logging an artifact that is
        already logged does nothing, as in wandb.

        With a ``distributed_id`` (``Run.upsert_artifact`` / ``finish_artifact``) the draft
        is a part of the version several runs write under that id: unless ``finish``, its
        entries are only added to that version (the draft stays unlogged and can no longer
        change); with ``finish`` the version is committed with every part's entries.

        Raises:
            ValueError, TypeError: invalid name, type, aliases, tags or metadata; a type
                other than the collection's.
            CorruptionError: an ``immutable`` file changed after it was added.
            OSError: a local file cannot be read.
            CommError: the backend refused the commit.
        """
        log_draft(
            self._state,
            target,
            aliases=aliases,
            tags=tags,
            distributed_id=distributed_id,
            finish=finish,
        )

    def _download_entry(self, entry: ManifestEntry, root: str | os.PathLike[str] | None) -> str:
        """Download one entry below ``root`` (default root if None); used by entries/files."""
        return _artifact_reading.download_entry(self._state, entry, root)

    def _twin(self, info: VersionInfo) -> Self:
        return self._from_version(info, self._state.logged_backend())

    # ------------------------------------------------------------ identity

    @property
    def id(self) -> str | None:
        """The version's id (base64 ``Artifact:<n>``); ``None`` for a draft."""
        return None if self.is_draft() else self._state.id

    @property
    @ensure_logged
    def entity(self) -> str:
        """Entity of the collection the artifact was fetched through."""
        assert self._state.entity is not None
        return self._state.entity

    @property
    @ensure_logged
    def project(self) -> str:
        """Project of the collection the artifact was fetched through."""
        assert self._state.project is not None
        return self._state.project

    @property
    def name(self) -> str:
        """``"<collection>:v<N>"`` once logged; the plain name on a draft."""
        return self._state.name

    @property
    def qualified_name(self) -> str:
        """``"<entity>/<project>/<name>"``."""
        return f"{self.entity}/{self.project}/{self.name}"

    @property
    @ensure_logged
    def version(self) -> str:
        """``"v<N>"`` in the collection the artifact was fetched through."""
        assert self._state.version is not None
        return self._state.version

    @property
    @ensure_logged
    def collection(self) -> CollectionHandle[Artifact]:
        """The collection the artifact was fetched through."""
        base = self.name.split(":")[0]
        backend = self._state.logged_backend()
        return _upward.collection(backend, self.entity, self.project, base, self.type)

    @property
    @ensure_logged
    def source_entity(self) -> str:
        """Entity of the sequence the version was born in."""
        assert self._state.source_entity is not None
        return self._state.source_entity

    @property
    @ensure_logged
    def source_project(self) -> str:
        """Project of the sequence the version was born in."""
        assert self._state.source_project is not None
        return self._state.source_project

    @property
    def source_name(self) -> str:
        """``"<source collection>:v<N>"`` once logged; the plain name on a draft."""
        return self._state.source_name

    @property
    def source_qualified_name(self) -> str:
        """``"<source entity>/<source project>/<source name>"``."""
        return f"{self.source_entity}/{self.source_project}/{self.source_name}"

    @property
    @ensure_logged
    def source_version(self) -> str:
        """``"v<N>"`` in the source sequence."""
        assert self._state.source_version is not None
        return self._state.source_version

    @property
    @ensure_logged
    def source_collection(self) -> CollectionHandle[Artifact]:
        """The sequence the version was born in."""
        base = self.source_name.split(":")[0]
        backend = self._state.logged_backend()
        return _upward.collection(backend, self.source_entity, self.source_project, base, self.type)

    @property
    def is_link(self) -> bool:
        """Whether the artifact was fetched through a collection it was linked into."""
        return self._state.is_link

    @property
    @ensure_logged
    def linked_at(self) -> str | None:
        """When the version was linked into the collection it was fetched through (ISO
        8601); None when that collection is its own sequence."""
        return self._state.linked_at

    # ------------------------------------------------------------ editable attributes

    @property
    def type(self) -> str:
        """The artifact type."""
        return self._state.type

    @property
    def description(self) -> str | None:
        """Free-text description."""
        return self._state.description

    @description.setter
    def description(self, description: str | None) -> None:
        self._state.description = description

    @property
    def metadata(self) -> dict[str, Any]:
        """User metadata (a JSON-able dict of at most 100 keys)."""
        return self._state.metadata

    @metadata.setter
    def metadata(self, metadata: dict[str, Any]) -> None:
        """Raises ``ValueError``/``TypeError`` as ``Artifact(metadata=...)`` does."""
        self._state.metadata = validate_metadata(metadata)

    @property
    @ensure_logged
    def aliases(self) -> list[str]:
        """The version's aliases in its collection (``latest`` included, never ``vN``)."""
        return self._state.aliases

    @aliases.setter
    @ensure_logged
    def aliases(self, aliases: list[str]) -> None:
        """Raises ``ValueError`` for an alias containing ``/`` or ``:``."""
        self._state.aliases = validate_aliases(aliases)

    @property
    @ensure_logged
    def tags(self) -> list[str]:
        """The version's tags."""
        return self._state.tags

    @tags.setter
    @ensure_logged
    def tags(self, tags: list[str]) -> None:
        """Raises ``ValueError`` for an invalid tag (spec §3.4)."""
        self._state.tags = validate_tags(tags)

    @property
    def ttl(self) -> timedelta | None:
        """Time to live; ``None`` when the version never expires.

        Raises ``ArtifactNotLoggedError('Artifact.ttl')`` while the TTL is inherited and
        not known yet (a draft, or a change not saved).
        """
        return _artifact_edits.ttl(self._state, self)

    @ttl.setter
    def ttl(self, ttl: timedelta | ArtifactTTL | str | None) -> None:
        """Set the TTL (saved by ``save()``, or sent when the draft is logged).

        Raises:
            ValueError: a non-positive duration, an unknown value, type ``wandb-history``,
                or a link artifact.
        """
        _artifact_edits.set_ttl(self._state, ttl)

    @property
    def use_as(self) -> None:
        """Deprecated; always ``None``."""
        warnings.warn(
            "The use_as property of Artifact is deprecated.", DeprecationWarning, stacklevel=2
        )

    @property
    def incremental(self) -> bool:
        """Whether logging merges this draft into the latest version."""
        return self._state.incremental

    # ------------------------------------------------------------ server-side facts

    @property
    def state(self) -> str:
        """``"PENDING"`` for drafts, then ``"COMMITTED"`` (or ``"DELETED"``)."""
        return self._state.state

    @property
    @ensure_logged
    def created_at(self) -> str:
        """ISO 8601 creation time."""
        assert self._state.created_at is not None
        return self._state.created_at

    @property
    @ensure_logged
    def updated_at(self) -> str:
        """ISO 8601 time of the last change (the creation time if none)."""
        assert self._state.created_at is not None
        return self._state.updated_at or self._state.created_at

    @property
    @ensure_logged
    def commit_hash(self) -> str:
        """The hash returned when the version was committed."""
        assert self._state.commit_hash is not None
        return self._state.commit_hash

    @property
    @ensure_logged
    def file_count(self) -> int:
        """Number of entries, references included."""
        assert self._state.file_count is not None
        return self._state.file_count

    @property
    @ensure_logged
    def history_step(self) -> int | None:
        """The run history step the version was logged at, if any."""
        step = self._state.history_step
        return None if step is None else max(0, step - 1)

    @property
    @ensure_logged
    def url(self) -> str:
        """The version's page: ``{ui}/{entity}/{project}/artifacts/{type}/{name}/{version}``,
        or the registry page of a registry link (spec §4.11)."""
        return _artifact_edits.url(self._state)

    # ------------------------------------------------------------ contents

    @property
    def manifest(self) -> Manifest:
        """The manifest; read from the backend on first use for a logged artifact."""
        return _artifact_reading.manifest(self._state, self)

    @property
    def digest(self) -> str:
        """The artifact digest (spec §1.4), recomputed from the manifest once it is loaded."""
        return _artifact_reading.digest(self._state, self)

    @property
    def digest_algorithm(self) -> str:
        """``"MD5"`` or ``"XXH128"``."""
        return self._state.digest_algorithm

    @property
    def size(self) -> int:
        """Total bytes of all entries, references included."""
        return _artifact_reading.size(self._state, self)

    # ------------------------------------------------------------ state

    def finalize(self) -> None:
        """Forbid further changes; the artifact stays a draft until logged."""
        self._state.final = True

    def is_draft(self) -> bool:
        """True until the artifact is logged."""
        return self._state.is_draft()

    @ensure_logged
    def json_encode(self) -> dict[str, Any]:
        """The form wandb stores for artifacts in run config."""
        return {
            "_type": "artifactVersion",
            "_version": "v0",
            "id": self.id,
            "version": self.source_version,
            "sequenceName": self.source_name.split(":")[0],
            "usedAs": None,
        }

    @ensure_logged
    def new_draft(self) -> Artifact:
        """A draft with this version's name, type, description, metadata and entries.

        Logging it unchanged is a digest no-op (spec §4.10).
        """
        state = self._state
        draft = Artifact.__new__(Artifact)
        draft._state = draft_state(
            self.source_name.split(":")[0], state.type, state.digest_algorithm
        )
        draft._state.description = state.description
        draft._state.metadata = dict(state.metadata)
        draft._state.storage_region = state.storage_region
        draft._state.entity, draft._state.project = state.source_entity, state.source_project
        draft._state.manifest = adopt_manifest(Manifest.from_json(self.manifest.to_json()))
        return draft

    # ------------------------------------------------------------ saving, links, lineage

    def save(self, project: str | None = None, settings: Settings | None = None) -> None:
        """Persist the artifact: log a draft, or save the edits of a logged artifact.

        A draft is logged by the current run, else by a run of job type ``auto`` in
        ``project`` (default: the artifact's or the settings' project), finished at once.
        On a logged artifact the description, metadata, aliases (in the collection it was
        fetched through), tags and TTL are saved in one call and ``updated_at`` moves.

        Raises:
            ValueError, TypeError: invalid values (nothing is changed).
            CommError: the version no longer exists.
        """
        if not self.is_draft():
            _artifact_edits.save_logged(self._state)
            return
        state = self._state
        with _upward.open_run(state.entity, project or state.project, settings) as target:
            self._log(target, aliases=None, tags=None)

    def wait(self, timeout: int | None = None) -> Self:
        """Return once the version is committed (logging is synchronous in Cairn).

        Raises ``ArtifactNotLoggedError('Artifact.wait')`` on a draft never logged.
        """
        del timeout
        if self.is_draft():
            raise ArtifactNotLoggedError("Artifact.wait", self)
        return self

    @property
    @ensure_logged
    def linked_artifacts(self) -> list[Self]:
        """The version as seen through each collection it is linked into (at most 500);
        empty for a link artifact."""
        if self.is_link:
            return []
        return [self._twin(info) for info in _artifact_edits.linked_infos(self._state)]

    @property
    @ensure_logged
    def source_artifact(self) -> Self:
        """The version seen through the collection it was born in (itself if not a link).

        Raises ``ValueError`` when the source cannot be fetched.
        """
        if not self.is_link:
            return self
        return self._twin(_artifact_edits.source_info(self._state))

    def link(self, target_path: str, aliases: list[str] | None = None) -> Self:
        """Link this version into ``target_path`` (``[prefix/][project/]collection``); a
        registry path is ``wandb-registry-<name>/<collection>`` (prefix: organization).

        A draft is saved first; linking a link links its source. Returns the link.

        Raises:
            ValueError: invalid path or aliases, a collection that is not a portfolio, a
                type the registry does not accept.
            CommError: the registry or the version does not exist.
        """
        if self.is_draft():
            self.save()
        if self.is_link:
            warnings.warn(
                f"Artifact {self.name} is a link; linking its source artifact instead.",
                UserWarning,
                stacklevel=2,
            )
            return self.source_artifact.link(target_path, aliases)
        return self._twin(_artifact_edits.link(self._state, target_path, aliases))

    @ensure_logged
    def unlink(self) -> None:
        """Remove this link (only the link; the source version stays).

        Raises:
            ValueError: the artifact is not a link.
            CommError: the link no longer exists.
        """
        _artifact_edits.unlink(self._state, self.qualified_name)

    @ensure_logged
    def delete(self, delete_aliases: bool = False) -> None:
        """Delete this version (soft: ``cairn gc`` frees its bytes); on a link, unlink only.

        Raises:
            CommError: the version has aliases and ``delete_aliases`` is False (nothing is
                changed), or it no longer exists.
        """
        if self.is_link:
            warnings.warn(
                "Deleting a link artifact only unlinks it; the source artifact is kept.",
                UserWarning,
                stacklevel=2,
            )
            self.unlink()
            return
        _artifact_edits.delete(self._state, delete_aliases)

    @ensure_logged
    def logged_by(self) -> RunHandle[Artifact] | None:
        """The run that logged this version, or None."""
        backend = self._state.logged_backend()
        run = backend.lineage(self.id or "").logged_by
        return None if run is None else _upward.public_run(backend, run)

    @ensure_logged
    def used_by(self) -> list[RunHandle[Artifact]]:
        """The runs that used this version (directly or through its links)."""
        backend = self._state.logged_backend()
        return [_upward.public_run(backend, run) for run in backend.lineage(self.id or "").used_by]

    # ------------------------------------------------------------ adding (drafts)

    @contextlib.contextmanager
    @ensure_not_finalized
    def new_file(
        self, name: str, mode: str = "x", encoding: str | None = None, policy: str = "mutable"
    ) -> Iterator[IO[Any]]:
        """Open a new file, and add it to the artifact as ``name`` when the block ends.

        Raises:
            ValueError: invalid name (empty, unsafe, too long) or policy; the name and an
                entry would be a file and a folder of each other (both named); with mode
                ``x``, a file of that name was already created (``"File with name '<name>'
                already exists at '<path>'"``).
            ArtifactFinalizedError: the artifact is finalized.
        """
        logical, path = _artifact_adding.new_file_path(self._state, self.manifest, name, policy)
        try:
            handle = open(path, mode, encoding=encoding)  # noqa: SIM115 - closed below
        except FileExistsError:
            raise ValueError(f"File with name {name!r} already exists at {path!r}") from None
        with handle:
            yield handle
        self.add_file(path, name=logical, skip_cache=True, policy=policy, overwrite="x" not in mode)

    @ensure_not_finalized
    def add_file(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        is_tmp: bool | None = False,
        skip_cache: bool | None = False,
        policy: str | None = "mutable",
        overwrite: bool = False,
    ) -> ArtifactManifestEntry:
        """Add one local file as ``name`` (default: its base name); return its entry.

        ``mutable`` (default) copies the file into the store now, while hashing it;
        ``immutable`` only hashes it, and it must not change before it is logged.
        ``is_tmp`` replaces the file name's stem with 20 hex digits of its digest.

        Raises:
            ValueError: not a file (``"Path is not a file: '<p>'"``), invalid policy or
                name (unsafe, too long), the name holds other content (``"Cannot add the
                same path twice: '<path>'"``) and ``overwrite`` is False, or the name and
                an entry would be a file and a folder of each other (both named).
            ArtifactFinalizedError: the artifact is finalized.
            OSError: the file cannot be read, or the store cannot be written.
        """
        return _artifact_adding.add_file(
            self._state,
            self.manifest,
            os.fspath(local_path),
            name,
            bool(is_tmp),
            bool(skip_cache),
            policy,
            overwrite,
        )

    @ensure_not_finalized
    def add_dir(
        self,
        local_path: str | os.PathLike[str],
        name: str | None = None,
        skip_cache: bool | None = False,
        policy: str | None = "mutable",
        merge: bool = False,
    ) -> None:
        """Add every regular file below a directory, under the prefix ``name``.

        Symlinks are followed as wandb does: a symlinked file is added with its target's
        content under the link's path, and a symlinked directory is walked like a real one.
        A symlink loop, a broken symlink, a FIFO, a socket or a device is refused before
        anything is copied. Files are copied into the store (``mutable``) or hashed
        (``immutable``) in parallel. With ``merge=False`` a path already present with other
        content is an error; with ``merge=True`` it is overwritten. Nothing is added unless
        every file can be.

        Raises:
            ValueError: not a directory (``"Path is not a directory: '<p>'"``), invalid
                policy or name (unsafe, too long, with the folder's paths too), a refused
                file (named), a path collision (see above), or a file of the folder and an
                entry that would be a file and a folder of each other (both named).
            FileNotFoundError: a broken symlink (named).
            ArtifactFinalizedError: the artifact is finalized.
            OSError: a file cannot be read, or the store cannot be written.
        """
        _artifact_adding.add_dir(
            self._state,
            self.manifest,
            os.fspath(local_path),
            name,
            bool(skip_cache),
            policy,
            merge,
        )

    @ensure_not_finalized
    def add_reference(
        self,
        uri: ArtifactManifestEntry | str,
        name: str | None = None,
        checksum: bool = True,
        max_objects: int | None = None,
    ) -> Sequence[ArtifactManifestEntry]:
        """Track files by URI without storing their bytes; return the added entries.

        Schemes (spec §5): ``file://``, ``http(s)://``, ``s3://``, ``gs://``, Azure blob
        URLs, ``wandb-artifact://`` (an entry of a logged artifact stands for its
        ``ref_url()``); any other scheme is tracked verbatim and needs ``name`` (§5.7).
        A prefix becomes one entry per object, at most ``max_objects`` (default 10,000,000).
        URIs carrying credentials (user-info, signed query parameters) are refused.

        Raises:
            ValueError: no scheme (``"References must be URIs. To reference a local file,
                use file://"``), a missing ``file://`` path, too many objects, a missing
                name for an unknown scheme, an invalid ``name`` (empty, unsafe, too long),
                credentials in the URI, a path collision, or two paths that would be a file
                and a folder of each other (both named). Nothing is added then.
            MissingReferenceError: a ``wandb-artifact://`` target does not exist.
            MissingExtraError: the scheme's cloud SDK is missing (names the extra).
            CommError: the storage service fails.
            ArtifactFinalizedError: the artifact is finalized.
        """
        return _artifact_adding.add_reference(
            self._state, self.manifest, uri, name, checksum, max_objects
        )

    @ensure_not_finalized
    def remove(self, item: str | os.PathLike[str] | ManifestEntry) -> None:
        """Remove an entry, a path, or every entry below a directory path.

        Raises:
            FileNotFoundError: nothing matches (``"No such file or directory: <path>"``),
                or the given entry is not in the artifact.
            ArtifactFinalizedError: the artifact is finalized.
        """
        _artifact_adding.remove(self.manifest, item)

    @ensure_not_finalized
    def add(
        self, obj: WBValue, name: str | os.PathLike[str], overwrite: bool = False
    ) -> ArtifactManifestEntry:
        """Add a W&B value (``Table``, ``Image``, ...) as ``<name>.<type>.json``; return its entry.

        The files the value points at (images, audio, ...) become entries too; a value
        loaded from another logged artifact is stored as a reference to it (spec §4.5).
        Adding the same object again returns its first entry. Nothing is added unless
        everything can be.

        Raises:
            TypeError: ``obj`` is not a W&B value type.
            ValueError: an invalid name, invalid media, or ``<name>.<type>.json`` already
                holds other content and ``overwrite`` is False.
            ArtifactFinalizedError: the artifact is finalized.
            ImportError: the value needs ``cairn[media]``.
        """
        return _media.add(self, obj, os.fspath(name), overwrite)

    def __setitem__(self, name: str, item: WBValue) -> None:
        """``artifact[name] = value`` is ``artifact.add(value, name)``."""
        self.add(item, name)

    def get_added_local_path_name(self, local_path: str) -> str | None:
        """The artifact path of a file added from exactly ``local_path``, else ``None``."""
        entry = self._state.added_local_paths.get(local_path)
        return entry.path if entry is not None else None

    # ------------------------------------------------------------ reading (logged)

    @ensure_logged
    def get_entry(self, name: str | os.PathLike[str]) -> ArtifactManifestEntry:
        """The entry at ``name`` (or ``name.<media type>.json``).

        Raises:
            KeyError: ``"Path not contained in artifact: <name>"``.
            ArtifactNotLoggedError: on a draft.
        """
        return _artifact_reading.get_entry(self._state, self, name)

    @ensure_logged
    def get(self, name: str) -> WBValue | None:
        """The W&B value stored as ``name`` (``<name>.<type>.json``), or ``None``.

        Tables download the whole artifact first (as wandb does). JSON is parsed, never
        unpickled or executed.

        Raises:
            ValueError: the stored JSON is invalid.
            CorruptionError: stored bytes do not match their digest.
            ArtifactNotLoggedError: on a draft.
        """
        return _media.get(self, name)

    def __getitem__(self, name: str) -> WBValue | None:
        """``artifact[name]`` is ``artifact.get(name)``."""
        return self.get(name)

    def get_path(self, name: str | os.PathLike[str]) -> ArtifactManifestEntry:
        """Deprecated alias of ``get_entry``."""
        warnings.warn(
            "Artifact.get_path(name) is deprecated, use Artifact.get_entry(name) instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.get_entry(name)

    @ensure_logged
    def download(
        self,
        root: str | os.PathLike[str] | None = None,
        allow_missing_references: bool = False,
        skip_cache: bool | None = None,
        path_prefix: str | None = None,
        multipart: bool | None = None,
        link: bool = False,
    ) -> str:
        """Write the artifact's files below ``root``; return ``root``.

        ``root`` defaults to ``$CAIRN_ARTIFACT_DIR`` (else ``./artifacts``) / the source
        name (``name:vN``). Files already holding the right bytes are kept; other files
        in ``root`` are left alone. ``path_prefix`` limits the download to paths starting
        with it. ``skip_cache`` and ``multipart`` are accepted for wandb compatibility.
        No file is written through a symlink inside ``root``, and no partial file ever
        appears under a final name. Stored files are reflinked from the embedded store
        where the file system can. ``link=True`` (Cairn's extension), for readers that
        never write, makes every file it writes read-only: a file the embedded store keeps
        as a loose blob is a hard link to it (free); a file it packed (the files of at most
        256 KiB of a folder added with ``add_dir``) and every file in server mode are
        read-only copies. Files already holding the right bytes are left as they are.

        Raises:
            ValueError: a symlink inside ``root`` on a destination's path (named); a
                reference that cannot be read (unknown scheme, missing or changed
                ``file://`` source).
            FileNotFoundError: unless ``allow_missing_references``.
            CorruptionError: stored bytes do not match their digest.
            ArtifactNotLoggedError: on a draft.
        """
        del skip_cache, multipart
        return _artifact_reading.download_all(
            self._state, self, root, allow_missing_references, path_prefix, link
        )

    @ensure_logged
    def checkout(self, root: str | None = None) -> str:
        """Make ``root`` hold exactly the artifact: delete other files, then download.

        ``root`` defaults to the artifact directory / the collection name (no version).
        Symlinks below ``root`` are deleted themselves, never followed.

        Raises: as ``download``; ``OSError`` if a file cannot be deleted.
        """
        return _artifact_reading.checkout(self._state, self, root)

    @ensure_logged
    def verify(self, root: str | None = None) -> None:
        """Check that ``root`` holds exactly the artifact's files with their digests.

        References are not checked (warning ``skipped verification of N refs``).

        Raises:
            ValueError: an extra file (``"Found file <path> which is not a member of
                artifact <name>"``).
            VerificationError: files are missing or changed, every one named (both a
                ``ValueError`` and a ``FileNotFoundError``; the message starts with
                ``"Digest mismatch for file: <path>"`` when only bytes changed).
            ArtifactNotLoggedError: on a draft.
        """
        _artifact_reading.verify(self._state, self, root)

    @ensure_logged
    def file(self, root: str | None = None) -> str:
        """Download the artifact's only file; return its path.

        ``root`` defaults to the artifact directory / ``name``.

        Raises:
            ValueError: the artifact has more (or fewer) than one file.
            ArtifactNotLoggedError: on a draft.
        """
        return _artifact_reading.single_file(self._state, self, root)

    @ensure_logged
    def files(
        self, names: list[str] | None = None, per_page: int = 50, start: str | None = None
    ) -> ArtifactFiles:
        """Iterate the artifact's files as ``File`` objects, ``per_page`` at a time.

        ``names`` keeps only those paths; ``start`` resumes from a paginator's ``cursor``.

        Raises:
            ValueError: an invalid ``per_page`` or cursor.
            ArtifactNotLoggedError: on a draft.
        """
        return ArtifactFiles(self, names, per_page, start)
