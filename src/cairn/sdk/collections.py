"""The public objects ``Api`` hands out besides artifacts and runs: collections and types.

They mirror ``wandb.apis.public`` (``ArtifactCollection``, ``ArtifactType`` and the
``Artifacts``/``ArtifactCollections``/``ArtifactTypes`` paginators) over the Backend
protocol, so the same objects work against the embedded store and a server. Paginators load
one page per backend call, lazily, and support ``len()``, iteration and indexing. Runs
(``PublicRun``, ``Runs``) live in ``cairn.sdk.public_run``; ``PublicRun`` is also named
here, where it used to live.

Not finding a collection or type raises ``cairn.errors.CommError`` naming it: W&B raises
``ValueError("Could not find artifact type ...")`` inside ``Api`` methods that turn every
such error into ``CommError``, so ``CommError`` is what W&B users see and catch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from cairn.core.names import validate_artifact_name, validate_artifact_type, validate_tags
from cairn.errors import CommError
from cairn.sdk import _upward
from cairn.sdk.artifact import Artifact
from cairn.sdk.paging import Paginator

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from cairn.protocol import Backend, CollectionInfo, Page, TypeInfo, VersionInfo

T = TypeVar("T")


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


class Artifacts(Paginator[Artifact]):
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
        """The collection's name (a new one is saved by ``save()``)."""
        return self._name

    @name.setter
    def name(self, name: str) -> None:
        """Raises ``ValueError`` for an invalid artifact name."""
        self._name = validate_artifact_name(name)

    @property
    def type(self) -> str:
        """The collection's type (a new one, for a sequence, is saved by ``save()``)."""
        return self._type

    @type.setter
    def type(self, type_name: str) -> None:
        """Raises ``ValueError`` on a linked collection (only a sequence has its own type)
        or for a type reserved for W&B's own artifacts."""
        if not self.is_sequence():
            raise ValueError("Type can only be changed if the artifact collection is a sequence.")
        self._type = validate_artifact_type(type_name, self._name)

    def change_type(self, new_type: str) -> None:
        """Give the sequence, and every version of it, the type ``new_type`` now (wandb's
        older spelling of ``type = ...; save()``).

        Raises: ValueError (not a sequence, a reserved type, versions linked somewhere),
        ``cairn.errors.CommError`` (the collection no longer exists).
        """
        self.type = new_type
        self.save()

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
        """Save the description, tags, name and type (a sequence's, with all its versions').

        Raises ``ValueError`` for an invalid tag, a name taken in the project, a type
        change of a sequence whose versions are linked somewhere; ``cairn.errors.CommError``
        when the collection no longer exists.
        """
        saved = self._info
        self._set_info(
            self._backend.edit_collection(
                self.entity,
                self.project,
                saved.name,
                self._description,
                validate_tags(self._tags),
                self._name if self._name != saved.name else None,
                self._type if self._type != saved.type else None,
            )
        )

    def delete(self) -> None:
        """Delete the collection: every version of a sequence (and its links), or every link
        of a portfolio. Raises ``cairn.errors.CommError`` when it does not exist."""
        self._backend.delete_collection(self.entity, self.project, self._name)

    def _set_info(self, info: CollectionInfo) -> None:
        self._info = info
        self._name, self._type = info.name, info.type
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


_upward.register_collection(ArtifactCollection)  # Artifact.collection builds one
