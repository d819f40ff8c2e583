"""``Artifact``: the wandb-compatible draft and logged artifact version (issue 2 §5).

A draft (``Artifact(name, type)``) collects files and references into a manifest; its
backend is opened lazily through ``cairn.sdk.backend_cache.backend_for()`` the first time bytes
must be stored (``mutable`` policy copies files into the store while hashing them). A run
logs it through ``_log``; ``_from_version`` builds a logged artifact from a backend answer.
Logged-only members raise ``ArtifactNotLoggedError`` on drafts and mutating members raise
``ArtifactFinalizedError`` after ``finalize()``, exactly as spec §3.8 lists them.
Helpers: ``_adding`` (entries from files/references), ``_commit`` (logging), ``download``
(bytes to disk, verify), ``files`` (the file paginator), ``_entry`` (manifest entries).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from cairn.core.digest import b64_to_hex, entry_algorithm, normalize_digest_algorithm
from cairn.core.manifest import Manifest, ManifestEntry
from cairn.core.metadata import validate_metadata
from cairn.core.names import validate_artifact_name, validate_artifact_type
from cairn.core.paths import normalize_artifact_path
from cairn.protocol import Backend, VersionInfo
from cairn.sdk import _adding, _commit, _media, _references, download
from cairn.sdk._entry import ArtifactManifestEntry, adopt_manifest
from cairn.sdk._gc_pause import paused_gc
from cairn.sdk._guards import ensure_logged, ensure_not_finalized
from cairn.sdk._surface import ArtifactSurface
from cairn.sdk.files import ArtifactFiles
from cairn.settings import Settings

if TYPE_CHECKING:
    from cairn.media._base import WBValue

# Suffixes ``Artifact.add(obj, name)`` gives media values (spec §4.5); ``get_entry(name)``
# finds ``<name>.<suffix>.json`` too.
_MEDIA_SUFFIXES = (
    "table", "joined-table", "partitioned-table", "eval-table", "image-file", "audio-file",
    "video-file", "html-file", "object3D-file", "molecule-file", "bokeh-file", "plotly-file",
    "graph-file", "classes", "mask", "bounding-boxes", "histogram", "wb_trace_tree",
    "pytorch-model-file", "sklearn-model-file", "tfkeras-model-file",
)  # fmt: skip


class Artifact(ArtifactSurface):
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
        self._init_state(name, type, normalize_digest_algorithm(digest_algorithm))
        if self._digest_algorithm == "XXH128":
            warnings.warn(
                "Creating an artifact with the XXH128 digest algorithm. Calling "
                "`artifact.verify()` for this artifact on wandb versions before 0.29.0 will fail.",
                UserWarning,
                stacklevel=2,
            )
        self._description = description
        self._metadata = checked_metadata
        self._incremental = incremental
        self._storage_region = storage_region.strip() if storage_region else None
        self._manifest = Manifest()
        if self._storage_region:
            self._manifest.storage_policy_config["storageRegion"] = self._storage_region

    def __repr__(self) -> str:
        return f"<Artifact {self.id or self.name}>"

    # ------------------------------------------------------------ hooks for Run and Api

    @classmethod
    def _from_version(cls, info: VersionInfo, backend: Backend) -> Artifact:
        """A logged artifact for ``info`` (as seen through ``info.collection``)."""
        artifact = cls.__new__(cls)
        artifact._init_state(info.collection, info.type, info.digest_algorithm)
        artifact._hydrate(info, backend)
        return artifact

    def _log(
        self,
        backend: Backend,
        *,
        entity: str,
        project: str,
        run_id: str | None,
        aliases: Sequence[str] | None,
        tags: Sequence[str] | None,
        distributed_id: str | None = None,
        finish: bool = True,
    ) -> None:
        """Log this draft as the next version of its collection (``Run.log_artifact``).

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
        if not self.is_draft() or self._part_of is not None:
            return
        draft = _commit.Draft(
            name=self._source_name,
            type=self._type,
            description=self._description,
            metadata=self._metadata,
            digest_algorithm=self._digest_algorithm,
            entry_algorithm=entry_algorithm(self._digest_algorithm),
            storage_region=self._storage_region,
            incremental=self._incremental,
            ttl_duration_seconds=self._ttl_wire(),
        )
        checked = _commit.validate(draft, aliases, tags)
        self.finalize()
        manifest = self.manifest  # with ``incremental``, merged onto the latest by the backend
        with paused_gc():  # many small objects kept: see _gc_pause
            digest = manifest.digest(draft.entry_algorithm)
            if (
                draft.incremental
                or distributed_id
                or not _commit.is_latest(backend, entity, project, draft, digest)
            ):
                entries = list(manifest.entries.values())
                _commit.upload_missing(backend, entity, entries, self._progress())
            if distributed_id and not finish:
                backend.add_version_part(
                    _commit.request(
                        draft,
                        manifest,
                        checked,
                        entity,
                        project,
                        run_id,
                        digest,
                        distributed_id=distributed_id,
                    )
                )
                self._part_of = distributed_id
                return
            result = _commit.commit(
                backend,
                draft,
                manifest,
                checked,
                entity=entity,
                project=project,
                run_id=run_id,
                digest=digest,
                distributed_id=distributed_id,
            )
        if not result.created:
            warnings.warn(
                f'Artifact "{self._source_name}" already exists with the same content. '
                "No new version will be created.",
                UserWarning,
                stacklevel=3,
            )
        self._hydrate(result.version, backend)

    @ensure_logged
    def new_draft(self) -> Artifact:
        """A draft with this version's name, type, description, metadata and entries.

        Logging it unchanged is a digest no-op (spec §4.10).
        """
        draft = Artifact.__new__(Artifact)
        draft._init_state(self.source_name.split(":")[0], self._type, self._digest_algorithm)
        draft._description = self._description
        draft._metadata = dict(self._metadata)
        draft._storage_region = self._storage_region
        draft._entity, draft._project = self._source_entity, self._source_project
        draft._manifest = adopt_manifest(Manifest.from_json(self.manifest.to_json()))
        return draft

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
        logical = normalize_artifact_path(name)
        _adding.check_policy(policy)
        if logical not in self.manifest.entries:
            self.manifest.check_place(logical)
        if self._tmp_dir is None:
            self._tmp_dir = tempfile.TemporaryDirectory(prefix="cairn-new-file-")
        path = os.path.join(self._tmp_dir.name, logical)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
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
        source = os.fspath(local_path)
        if not os.path.isfile(source):
            raise ValueError(f"Path is not a file: {source!r}")
        checked_policy = _adding.check_policy(policy)
        logical = normalize_artifact_path(name or os.path.basename(source))
        algorithm = entry_algorithm(self._digest_algorithm)
        ingested = _adding.ingest(self._draft_backend, Path(source), algorithm, checked_policy)
        if is_tmp:
            folder, file_name = os.path.split(logical)
            parts = file_name.split(".")
            parts[0] = b64_to_hex(ingested.digest)[:20]
            logical = normalize_artifact_path(os.path.join(folder, ".".join(parts)))
        entry = _adding.make_entry(logical, ingested, bool(skip_cache))
        self.manifest.add_entry(entry, overwrite=overwrite)
        self._added_local_paths[source] = entry
        return entry

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
        root = os.fspath(local_path)
        if not os.path.isdir(root):
            raise ValueError(f"Path is not a directory: {root!r}")
        started = time.monotonic()  # the progress reported covers listing the folder too
        with paused_gc():  # many small objects kept: see _gc_pause
            checked_policy = _adding.check_policy(policy)
            prefix = normalize_artifact_path(name) if name else None
            relatives, physicals, stats = _adding.scan_dir(root)
            logicals = _adding.join_logical_all(prefix, relatives)
            algorithm = entry_algorithm(self._digest_algorithm)
            ingested = _adding.ingest_many(
                self._draft_backend,
                physicals,
                algorithm,
                checked_policy,
                self._progress(),
                f"Adding directory to artifact ({root})",
                started,
                stats,
            )
            make, skip = _adding.make_entry, bool(skip_cache)
            entries = [
                make(logical, item, skip) for logical, item in zip(logicals, ingested, strict=True)
            ]
            current = self.manifest.entries
            if not merge and current:
                for entry in entries:
                    existing = current.get(entry.path)
                    if existing is not None and existing.digest != entry.digest:
                        raise ValueError(f"Cannot add the same path twice: '{entry.path}'")
            self.manifest.add_entries(entries, listed=True)  # the collision rule is above
            self._added_local_paths.update(zip(physicals, entries, strict=True))

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
        backend = self._draft_backend
        if isinstance(uri, ArtifactManifestEntry):
            parent = uri._parent
            if parent is not None and parent._backend is not None:
                backend = parent._logged_backend
            uri_str = uri.ref_url()
        else:
            uri_str = str(uri)
        logical = normalize_artifact_path(str(name)) if name is not None else None
        settings = self._backend.settings if self._backend is not None else Settings.load()
        entries = _references.reference_entries(
            uri_str, logical, checksum, max_objects, settings, backend
        )
        manifest = self.manifest
        for entry in entries:
            existing = manifest.entries.get(entry.path)
            if existing is not None and existing.digest != entry.digest:
                raise ValueError(f"Cannot add the same path twice: '{entry.path}'")
        manifest.add_entries(entries)
        return entries

    @ensure_not_finalized
    def remove(self, item: str | os.PathLike[str] | ManifestEntry) -> None:
        """Remove an entry, a path, or every entry below a directory path.

        Raises:
            FileNotFoundError: nothing matches (``"No such file or directory: <path>"``),
                or the given entry is not in the artifact.
            ArtifactFinalizedError: the artifact is finalized.
        """
        manifest = self.manifest
        if isinstance(item, ManifestEntry):
            manifest.remove_entry(item.path)
            return
        path = str(PurePosixPath(os.fspath(item)))
        if path in manifest.entries:
            manifest.remove_entry(path)
            return
        below = [p for p in manifest.entries if p.startswith(path.rstrip("/") + "/")]
        if not below:
            raise FileNotFoundError(f"No such file or directory: {path}")
        for p in below:
            manifest.remove_entry(p)

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
        entry = self._added_local_paths.get(local_path)
        return entry.path if entry is not None else None

    # ------------------------------------------------------------ reading (logged)

    @ensure_logged
    def get_entry(self, name: str | os.PathLike[str]) -> ArtifactManifestEntry:
        """The entry at ``name`` (or ``name.<media type>.json``).

        Raises:
            KeyError: ``"Path not contained in artifact: <name>"``.
            ArtifactNotLoggedError: on a draft.
        """
        wanted = os.fspath(name)
        entries = self.manifest.entries
        try:
            path = normalize_artifact_path(wanted)
        except ValueError:
            raise KeyError(f"Path not contained in artifact: {wanted}") from None
        candidates = [path, *(f"{path}.{suffix}.json" for suffix in _MEDIA_SUFFIXES)]
        for candidate in candidates:
            entry = entries.get(candidate)
            if entry is not None:
                return ArtifactManifestEntry.adopt(entry, self)
        raise KeyError(f"Path not contained in artifact: {path}")

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
        target = Path(root) if root is not None else self._default_root()
        entries = [
            entry
            for entry in self.manifest.entries.values()
            if not path_prefix or entry.path.startswith(str(path_prefix))
        ]
        download.download_entries(
            self._logged_backend(),
            self.source_entity,
            entries,
            target,
            allow_missing_references,
            self._progress(),
            link,
        )
        return str(target)

    @ensure_logged
    def checkout(self, root: str | None = None) -> str:
        """Make ``root`` hold exactly the artifact: delete other files, then download.

        ``root`` defaults to the artifact directory / the collection name (no version).
        Symlinks below ``root`` are deleted themselves, never followed.

        Raises: as ``download``; ``OSError`` if a file cannot be deleted.
        """
        target = Path(root) if root is not None else self._default_root(include_version=False)
        download.remove_extraneous(target, self.manifest.entries.keys())
        return self.download(root=target)

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
        target = Path(root) if root is not None else self._default_root()
        entries = self.manifest.entries
        download.verify_tree(target, entries.values(), entries.keys(), self.name)

    @ensure_logged
    def file(self, root: str | None = None) -> str:
        """Download the artifact's only file; return its path.

        ``root`` defaults to the artifact directory / ``name``.

        Raises:
            ValueError: the artifact has more (or fewer) than one file.
            ArtifactNotLoggedError: on a draft.
        """
        entries = list(self.manifest.entries.values())
        if len(entries) > 1:
            raise ValueError(
                "This artifact contains more than one file, call `.download()` to get "
                'all files or call .get_entry("filename").download()'
            )
        if not entries:
            raise ValueError("This artifact contains no file")
        target = (
            root if root is not None else self._logged_backend().settings.artifact_dir / self.name
        )
        return self._download_entry(entries[0], target)

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
