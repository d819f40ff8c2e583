"""The state and read-only surface shared by draft and logged artifacts.

``ArtifactBase`` holds every attribute of an ``Artifact`` (declared once, here), fills them
from a backend answer (``_hydrate``) and exposes the properties of spec §4.11 with the
guards of spec §3.8. ``cairn.sdk.artifact.Artifact`` adds the constructor and the
operations (adding files, logging, downloading) on top of it.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.core.digest import entry_algorithm, normalize_digest_algorithm
from cairn.core.manifest import Manifest, ManifestEntry
from cairn.core.metadata import validate_metadata
from cairn.core.names import validate_aliases, validate_tags
from cairn.progress import ProgressCallback, default_callback
from cairn.protocol import Backend, VersionInfo
from cairn.sdk import download
from cairn.sdk._entry import adopt_manifest
from cairn.sdk._guards import ensure_logged
from cairn.settings import Settings

if TYPE_CHECKING:
    from cairn.sdk.collections import ArtifactCollection


class ArtifactBase:
    """Attributes and properties of an artifact; see ``cairn.sdk.artifact.Artifact``."""

    _backend: Backend | None
    _id: str | None
    _entity: str | None
    _project: str | None
    _name: str
    _version: str | None
    _source_entity: str | None
    _source_project: str | None
    _source_name: str
    _source_version: str | None
    _is_link: bool
    _type: str
    _description: str | None
    _metadata: dict[str, Any]
    _ttl_duration_seconds: int | None
    _ttl_is_inherited: bool
    _aliases: list[str]
    _tags: list[str]
    _incremental: bool
    _part_of: str | None  # the distributed_id this draft was added to as a part
    _state: str
    _size: int | None
    _digest: str | None
    _digest_algorithm: str
    _storage_region: str | None
    _manifest: Manifest | None
    _commit_hash: str | None
    _file_count: int | None
    _created_at: str | None
    _updated_at: str | None
    _history_step: int | None
    _final: bool
    _tmp_dir: tempfile.TemporaryDirectory[str] | None
    _added_local_paths: dict[str, ManifestEntry]

    def _init_state(self, name: str, type_: str, digest_algorithm: str) -> None:
        """Set every attribute to its draft value (shared by ``__init__`` and ``_from_version``)."""
        self._backend = None
        self._id = None
        self._entity = None
        self._project = None
        self._name = name
        self._version = None
        self._source_entity = None
        self._source_project = None
        self._source_name = name
        self._source_version = None
        self._is_link = False
        self._type = type_
        self._description = None
        self._metadata = {}
        self._ttl_duration_seconds = None
        self._ttl_is_inherited = True
        self._aliases = []
        self._tags = []
        self._incremental = False
        self._part_of = None
        self._state = "PENDING"
        self._size = None
        self._digest = None
        self._digest_algorithm = digest_algorithm
        self._storage_region = None
        self._manifest = None
        self._commit_hash = None
        self._file_count = None
        self._created_at = None
        self._updated_at = None
        self._history_step = None
        self._final = False
        self._tmp_dir = None
        self._added_local_paths = {}

    def _hydrate(self, info: VersionInfo, backend: Backend) -> None:
        self._backend = backend
        self._id = info.id
        self._entity, self._project = info.entity, info.project
        self._version = f"v{info.version_index}"
        self._name = f"{info.collection}:{self._version}"
        self._source_entity, self._source_project = info.source_entity, info.source_project
        self._source_version = f"v{info.source_version_index}"
        self._source_name = f"{info.source_collection}:{self._source_version}"
        self._is_link = (info.entity, info.project, info.collection) != (
            info.source_entity,
            info.source_project,
            info.source_collection,
        )
        self._type = info.type
        self._description = info.description
        self._metadata = dict(info.metadata)
        self._ttl_duration_seconds = info.ttl_duration_seconds
        self._ttl_is_inherited = info.ttl_is_inherited
        self._aliases = list(info.aliases)
        self._tags = list(info.tags)
        self._state = info.state
        self._size = info.size
        self._digest = info.digest
        self._digest_algorithm = normalize_digest_algorithm(info.digest_algorithm)
        self._storage_region = info.storage_region
        self._manifest = None  # read lazily from the backend
        self._commit_hash = info.commit_hash
        self._file_count = info.file_count
        self._created_at = info.created_at
        self._updated_at = info.updated_at
        self._history_step = info.history_step
        self._final = True

    # ------------------------------------------------------------ identity

    @property
    def id(self) -> str | None:
        """The version's id (base64 ``Artifact:<n>``); ``None`` for a draft."""
        return None if self.is_draft() else self._id

    @property
    @ensure_logged
    def entity(self) -> str:
        """Entity of the collection the artifact was fetched through."""
        assert self._entity is not None
        return self._entity

    @property
    @ensure_logged
    def project(self) -> str:
        """Project of the collection the artifact was fetched through."""
        assert self._project is not None
        return self._project

    @property
    def name(self) -> str:
        """``"<collection>:v<N>"`` once logged; the plain name on a draft."""
        return self._name

    @property
    def qualified_name(self) -> str:
        """``"<entity>/<project>/<name>"``."""
        return f"{self.entity}/{self.project}/{self.name}"

    @property
    @ensure_logged
    def version(self) -> str:
        """``"v<N>"`` in the collection the artifact was fetched through."""
        assert self._version is not None
        return self._version

    @property
    @ensure_logged
    def collection(self) -> ArtifactCollection:
        """The collection the artifact was fetched through."""
        from cairn.sdk.collections import ArtifactCollection

        base = self.name.split(":")[0]
        return ArtifactCollection(
            self._logged_backend(), self.entity, self.project, base, self.type
        )

    @property
    @ensure_logged
    def source_entity(self) -> str:
        """Entity of the sequence the version was born in."""
        assert self._source_entity is not None
        return self._source_entity

    @property
    @ensure_logged
    def source_project(self) -> str:
        """Project of the sequence the version was born in."""
        assert self._source_project is not None
        return self._source_project

    @property
    def source_name(self) -> str:
        """``"<source collection>:v<N>"`` once logged; the plain name on a draft."""
        return self._source_name

    @property
    def source_qualified_name(self) -> str:
        """``"<source entity>/<source project>/<source name>"``."""
        return f"{self.source_entity}/{self.source_project}/{self.source_name}"

    @property
    @ensure_logged
    def source_version(self) -> str:
        """``"v<N>"`` in the source sequence."""
        assert self._source_version is not None
        return self._source_version

    @property
    @ensure_logged
    def source_collection(self) -> ArtifactCollection:
        """The sequence the version was born in."""
        from cairn.sdk.collections import ArtifactCollection

        base = self.source_name.split(":")[0]
        return ArtifactCollection(
            self._logged_backend(), self.source_entity, self.source_project, base, self.type
        )

    @property
    def is_link(self) -> bool:
        """Whether the artifact was fetched through a collection it was linked into."""
        return self._is_link

    # ------------------------------------------------------------ editable attributes

    @property
    def type(self) -> str:
        """The artifact type."""
        return self._type

    @property
    def description(self) -> str | None:
        """Free-text description."""
        return self._description

    @description.setter
    def description(self, description: str | None) -> None:
        self._description = description

    @property
    def metadata(self) -> dict[str, Any]:
        """User metadata (a JSON-able dict of at most 100 keys)."""
        return self._metadata

    @metadata.setter
    def metadata(self, metadata: dict[str, Any]) -> None:
        """Raises ``ValueError``/``TypeError`` as ``Artifact(metadata=...)`` does."""
        self._metadata = validate_metadata(metadata)

    @property
    @ensure_logged
    def aliases(self) -> list[str]:
        """The version's aliases in its collection (``latest`` included, never ``vN``)."""
        return self._aliases

    @aliases.setter
    @ensure_logged
    def aliases(self, aliases: list[str]) -> None:
        """Raises ``ValueError`` for an alias containing ``/`` or ``:``."""
        self._aliases = validate_aliases(aliases)

    @property
    @ensure_logged
    def tags(self) -> list[str]:
        """The version's tags."""
        return self._tags

    @tags.setter
    @ensure_logged
    def tags(self, tags: list[str]) -> None:
        """Raises ``ValueError`` for an invalid tag (spec §3.4)."""
        self._tags = validate_tags(tags)

    @property
    def use_as(self) -> None:
        """Deprecated; always ``None``."""
        warnings.warn(
            "The use_as property of Artifact is deprecated.", DeprecationWarning, stacklevel=2
        )
        return None

    @property
    def incremental(self) -> bool:
        """Whether logging merges this draft into the latest version."""
        return self._incremental

    # ------------------------------------------------------------ server-side facts

    @property
    def state(self) -> str:
        """``"PENDING"`` for drafts, then ``"COMMITTED"`` (or ``"DELETED"``)."""
        return self._state

    @property
    @ensure_logged
    def created_at(self) -> str:
        """ISO 8601 creation time."""
        assert self._created_at is not None
        return self._created_at

    @property
    @ensure_logged
    def updated_at(self) -> str:
        """ISO 8601 time of the last change (the creation time if none)."""
        assert self._created_at is not None
        return self._updated_at or self._created_at

    @property
    @ensure_logged
    def commit_hash(self) -> str:
        """The hash returned when the version was committed."""
        assert self._commit_hash is not None
        return self._commit_hash

    @property
    @ensure_logged
    def file_count(self) -> int:
        """Number of entries, references included."""
        assert self._file_count is not None
        return self._file_count

    @property
    @ensure_logged
    def history_step(self) -> int | None:
        """The run history step the version was logged at, if any."""
        step = self._history_step
        return None if step is None else max(0, step - 1)

    # ------------------------------------------------------------ contents

    @property
    def manifest(self) -> Manifest:
        """The manifest; read from the backend on first use for a logged artifact."""
        if self._manifest is None:
            raw = self._logged_backend().read_manifest(self.id or "")
            self._manifest = adopt_manifest(Manifest.from_json(raw), self)
        return self._manifest

    @property
    def digest(self) -> str:
        """The artifact digest (spec §1.4), recomputed from the manifest once it is loaded."""
        if self._manifest is None and self._digest is not None:
            return self._digest
        return self.manifest.digest(entry_algorithm(self._digest_algorithm))

    @property
    def digest_algorithm(self) -> str:
        """``"MD5"`` or ``"XXH128"``."""
        return self._digest_algorithm

    @property
    def size(self) -> int:
        """Total bytes of all entries, references included."""
        if self._manifest is None and self._size is not None:
            return self._size
        return self.manifest.size

    # ------------------------------------------------------------ state

    def finalize(self) -> None:
        """Forbid further changes; the artifact stays a draft until logged."""
        self._final = True

    def is_draft(self) -> bool:
        """True until the artifact is logged."""
        return self._state == "PENDING"

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

    def _draft_backend(self) -> Backend:
        if self._backend is None:
            from cairn.sdk.backend_cache import backend_for

            self._backend = backend_for()
        return self._backend

    def _logged_backend(self) -> Backend:
        assert self._backend is not None, "a logged artifact always has a backend"
        return self._backend

    def _progress(self) -> ProgressCallback:
        """The progress callback of this artifact's settings (a draft's come from the env)."""
        backend = self._backend
        settings = backend.settings if backend is not None else Settings.load()
        return default_callback(settings.silent)

    def _default_root(self, include_version: bool = True) -> Path:
        name = self.source_name if include_version else self.source_name.split(":")[0]
        return self._logged_backend().settings.artifact_dir / name

    def _download_entry(self, entry: ManifestEntry, root: str | os.PathLike[str] | None) -> str:
        """Download one entry below ``root`` (default root if None); used by entries/files."""
        target = Path(root) if root is not None else self._default_root()
        path = download.download_entry(self._logged_backend(), self.source_entity, entry, target)
        return str(path)
