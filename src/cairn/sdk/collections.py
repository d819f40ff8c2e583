"""The public objects ``Api`` hands out besides artifacts: collections, types, runs, and pages.

They mirror ``wandb.apis.public`` (``ArtifactCollection``, ``ArtifactType``, ``Run`` and the
``Artifacts``/``ArtifactCollections``/``ArtifactTypes`` paginators) over the Backend
protocol, so the same objects work against the embedded store and a server. Paginators load
one page per backend call, lazily, and support ``len()``, iteration and indexing.

Not finding a collection or type raises ``cairn.errors.CommError`` naming it: W&B raises
``ValueError("Could not find artifact type ...")`` inside ``Api`` methods that turn every
such error into ``CommError``, so ``CommError`` is what W&B users see and catch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from cairn.core.names import validate_tags
from cairn.errors import CommError
from cairn.protocol import Backend, CollectionInfo, Page, RunInfo, TypeInfo, VersionInfo
from cairn.sdk._run_identity import RecordedRun

if TYPE_CHECKING:
    from cairn.sdk.artifact import Artifact

T = TypeVar("T")


class Paginator(Generic[T]):
    """A lazy sequence of objects fetched ``per_page`` at a time.

    Subclasses implement ``_fetch(cursor, per_page) -> (objects, next_cursor, total)``;
    ``total`` is None when it is unknown until every page is read (a client-side filter).
    """

    def __init__(self, per_page: int = 50) -> None:
        if per_page < 1:
            raise ValueError(f"per_page must be a positive integer, not {per_page!r}")
        self.per_page = per_page
        self.objects: list[T] = []
        self._cursor: str | None = None
        self._more = True
        self._total: int | None = None

    def _fetch(self, cursor: str | None, per_page: int) -> tuple[list[T], str | None, int | None]:
        raise NotImplementedError

    @property
    def more(self) -> bool:
        """Whether another page may be fetched."""
        return self._more

    @property
    def cursor(self) -> str | None:
        """The cursor of the next page (None before the first page and after the last)."""
        return self._cursor

    def _load_page(self) -> bool:
        if not self._more:
            return False
        objects, cursor, total = self._fetch(self._cursor, self.per_page)
        self.objects.extend(objects)
        self._cursor = cursor
        self._more = cursor is not None
        self._total = total
        return True

    def _load_all(self) -> None:
        while self._load_page():
            pass

    def __iter__(self) -> Iterator[T]:
        index = 0
        while True:
            while index >= len(self.objects):
                if not self._load_page():
                    return
            yield self.objects[index]
            index += 1

    def __len__(self) -> int:
        if self._more and not self.objects:
            self._load_page()
        if self._total is None:
            self._load_all()
            return len(self.objects)
        return self._total

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice) or index < 0:
            self._load_all()
        else:
            while index >= len(self.objects) and self._load_page():
                pass
        return self.objects[index]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} ({len(self.objects)} loaded, more={self._more})>"


class _ListPaginator(Paginator[T]):
    """Pages over a list the backend returns whole; the cursor is the next offset."""

    def __init__(self, load: Callable[[], Sequence[T]], per_page: int) -> None:
        super().__init__(per_page)
        self._load = load
        self._items: Sequence[T] | None = None

    def _fetch(self, cursor: str | None, per_page: int) -> tuple[list[T], str | None, int | None]:
        if self._items is None:
            self._items = self._load()
        start = int(cursor or 0)
        end = start + per_page
        next_cursor = str(end) if end < len(self._items) else None
        return list(self._items[start:end]), next_cursor, len(self._items)


# ---------------------------------------------------------------------- artifacts


class Artifacts(Paginator["Artifact"]):
    """The versions of one collection, as logged ``Artifact`` objects, in the store's order.

    ``tags`` keeps only versions carrying all of them (then ``len()`` reads every page).
    """

    def __init__(
        self,
        backend: Backend,
        entity: str,
        project: str,
        collection_name: str,
        type: str,
        per_page: int = 50,
        tags: str | Sequence[str] | None = None,
    ) -> None:
        super().__init__(per_page)
        self._backend = backend
        self.entity = entity
        self.project = project
        self.collection_name = collection_name
        self.type = type
        self.tags = validate_tags(tags)

    def _fetch(
        self, cursor: str | None, per_page: int
    ) -> tuple[list[Artifact], str | None, int | None]:
        from cairn.sdk.artifact import Artifact

        page: Page = self._backend.list_versions(
            self.entity, self.project, self.collection_name, cursor, per_page
        )
        infos: list[VersionInfo] = list(page.items)
        required = set(self.tags)
        if required:
            infos = [info for info in infos if required.issubset(info.tags)]
        artifacts = [Artifact._from_version(info, self._backend) for info in infos]
        return artifacts, page.next_cursor, None if required else page.total


class ArtifactCollection:
    """A named sequence of versions (``mnist`` of ``mnist:v0..vN``) in one project.

    ``info`` is what the backend listed; without it the collection is looked up now.
    Raises ``cairn.errors.CommError`` at construction when the collection does not exist
    with that type (the message names it).
    """

    def __init__(
        self,
        backend: Backend,
        entity: str,
        project: str,
        name: str,
        type: str,
        info: CollectionInfo | None = None,
    ) -> None:
        self._backend = backend
        self._name = name
        self._type = type
        if info is None:
            info = backend.get_collection(entity, project, name)
        if info.type != type:
            raise CommError(
                f"Could not find artifact collection '{entity}/{project}/{name}' of type "
                f"'{type}' (it has type '{info.type}')"
            )
        # The store's names: a registry's entity is the organization's, whatever the
        # caller wrote, so a collection prints as its versions do.
        self.entity = info.entity
        self.project = info.project
        self._description: str | None = None
        self._tags: list[str] = []
        self._set_info(info)

    @property
    def id(self) -> str:
        return self._info.id

    @property
    def name(self) -> str:
        return self._name

    @property
    def type(self) -> str:
        return self._type

    @property
    def description(self) -> str | None:
        """Free-text description (saved by ``save()``)."""
        return self._description

    @description.setter
    def description(self, description: str | None) -> None:
        self._description = description

    @property
    def tags(self) -> list[str]:
        """The collection's tags (saved by ``save()``)."""
        return self._tags

    @tags.setter
    def tags(self, tags: list[str]) -> None:
        """Raises ``ValueError`` for an invalid tag (spec §3.4)."""
        self._tags = validate_tags(tags)

    def save(self) -> None:
        """Save the description and tags.

        Raises ``ValueError`` for an invalid tag and ``cairn.errors.CommError`` when the
        collection no longer exists.
        """
        self._set_info(
            self._backend.edit_collection(
                self.entity, self.project, self._name, self._description, validate_tags(self._tags)
            )
        )

    def delete(self) -> None:
        """Delete the collection: every version of a sequence (and its links), or every link
        of a portfolio. Raises ``cairn.errors.CommError`` when it does not exist."""
        self._backend.delete_collection(self.entity, self.project, self._name)

    def _set_info(self, info: CollectionInfo) -> None:
        self._info = info
        self._description = info.description
        self._tags = list(info.tags)

    @property
    def aliases(self) -> list[str]:
        """The aliases held by versions of this collection (``latest`` and user aliases)."""
        return list(self._info.aliases)

    @property
    def created_at(self) -> str:
        return self._info.created_at

    def is_sequence(self) -> bool:
        """True for a collection versions are logged into; False for a portfolio of links."""
        return self._info.is_sequence

    def artifacts(self, per_page: int = 50, tags: str | Sequence[str] | None = None) -> Artifacts:
        """The versions of this collection (``tags`` keeps those carrying all of them)."""
        return Artifacts(
            self._backend, self.entity, self.project, self._name, self._type, per_page, tags
        )

    def versions(self, per_page: int = 50) -> Artifacts:
        """The same as ``artifacts()`` (the older W&B name)."""
        return self.artifacts(per_page=per_page)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ArtifactCollection) and (
            (other.entity, other.project, other.name, other.type)
            == (self.entity, self.project, self._name, self._type)
        )

    def __hash__(self) -> int:
        return hash((self.entity, self.project, self._name, self._type))

    def __repr__(self) -> str:
        return f"<ArtifactCollection {self._name} ({self._type})>"


class ArtifactCollections(_ListPaginator[ArtifactCollection]):
    """The collections of one type in a project."""

    def __init__(
        self, backend: Backend, entity: str, project: str, type_name: str, per_page: int = 50
    ) -> None:
        def load() -> list[ArtifactCollection]:
            infos = backend.list_collections(entity, project, type_name)
            return [
                ArtifactCollection(backend, entity, project, info.name, info.type, info=info)
                for info in infos
            ]

        super().__init__(load, per_page)
        self.entity = entity
        self.project = project
        self.type_name = type_name


class ArtifactType:
    """An artifact type (``dataset``, ``model``, ...) used in a project.

    Without ``info`` (what the backend listed), raises ``cairn.errors.CommError`` at
    construction when no collection of the project has that type.
    """

    def __init__(
        self, backend: Backend, entity: str, project: str, name: str, info: TypeInfo | None = None
    ) -> None:
        if info is None and not any(t.name == name for t in backend.list_types(entity, project)):
            raise CommError(f"Could not find artifact type '{name}' in '{entity}/{project}'")
        self._backend = backend
        self.entity = entity
        self.project = project
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def type(self) -> str:
        """The same as ``name`` (W&B keeps both)."""
        return self._name

    def collections(self, per_page: int = 50) -> ArtifactCollections:
        """The collections of this type in the project."""
        return ArtifactCollections(self._backend, self.entity, self.project, self._name, per_page)

    def collection(self, name: str) -> ArtifactCollection:
        """The collection ``name`` of this type; ``CommError`` when there is none."""
        return ArtifactCollection(self._backend, self.entity, self.project, name, self._name)

    def __repr__(self) -> str:
        return f"<ArtifactType {self._name}>"


class ArtifactTypes(_ListPaginator[ArtifactType]):
    """The artifact types used in a project."""

    def __init__(self, backend: Backend, entity: str, project: str, per_page: int = 50) -> None:
        def load() -> list[ArtifactType]:
            return [
                ArtifactType(backend, entity, project, info.name, info=info)
                for info in backend.list_types(entity, project)
            ]

        super().__init__(load, per_page)
        self.entity = entity
        self.project = project


# ---------------------------------------------------------------------- runs


class PublicRun(RecordedRun):
    """A run as ``Api().run(path)`` returns it: what was recorded, read-only."""

    _backend: Backend  # always a store: read-only runs are never "disabled"

    def __init__(self, backend: Backend, info: RunInfo) -> None:
        self._backend = backend
        self._info = info

    @property
    def display_name(self) -> str:
        return self._info.name

    @property
    def config(self) -> dict[str, Any]:
        return dict(self._info.config)

    @property
    def state(self) -> str:
        """``"running"``, ``"finished"`` or ``"failed"``."""
        return self._info.state

    @property
    def created_at(self) -> str:
        return self._info.created_at

    @property
    def path(self) -> list[str]:
        """``[entity, project, run_id]``, as W&B's public ``Run.path``."""
        return [self.entity, self.project, self.id]

    def scan_history(
        self, keys: Sequence[str] | None = None, page_size: int = 1000
    ) -> Iterator[dict[str, Any]]:
        """Every history row (``Run.log``) by step, each with ``_step``; with ``keys``, only
        rows holding all of them, reduced to those keys and ``_step``."""
        del page_size
        for row in self._backend.read_history(self.entity, self.project, self.id):
            if keys is None:
                yield row
            elif all(key in row for key in keys):
                yield {"_step": row["_step"], **{key: row[key] for key in keys}}

    def history(
        self,
        samples: int = 500,
        keys: Sequence[str] | None = None,
        x_axis: str = "_step",
        pandas: bool = True,
        stream: str = "default",
    ) -> Any:
        """The run's history rows (at most ``samples``): a pandas ``DataFrame`` when
        ``pandas`` is True and pandas is installed, else a list of dicts."""
        del x_axis, stream
        rows = list(self.scan_history(keys))[:samples]
        if pandas:
            try:
                import pandas as pd  # type: ignore[import-untyped]
            except ImportError:
                return rows
            return pd.DataFrame.from_records(rows)
        return rows

    def __repr__(self) -> str:
        return f"<Run {'/'.join(self.path)} ({self.state})>"
