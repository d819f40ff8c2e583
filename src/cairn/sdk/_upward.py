"""What ``Artifact`` hands out or calls that is defined above it, registered from above.

The SDK has layers (pyproject's import-linter contract): the artifact's state and verbs,
then ``Artifact``, then what is built of artifacts: collections, runs (live and read
back), registries, ``Api``. Three members of ``Artifact`` need something from the top
layer: ``collection`` / ``source_collection`` return an ``ArtifactCollection``,
``logged_by()`` / ``used_by()`` return ``PublicRun`` objects, and ``save()`` on a draft logs
it in the active run or in a run of job type ``auto`` started for the purpose. Importing
those modules from ``Artifact`` would close a loop (they import ``Artifact`` to make
versions), so the dependency is injected the other way: ``cairn.sdk.collections``,
``cairn.sdk.public_run`` and ``cairn.sdk.run`` register their factory here when they are
imported, and ``cairn/sdk/__init__.py`` imports them, so they are registered before any
``Artifact`` exists. Typing follows the same direction: this module names what
``Artifact`` returns by protocols of their public members, generic in the artifact class
their listings hold (``Artifact.collection`` is a ``CollectionHandle[Artifact]``).

``RunTarget`` is what a run gives a draft to log it: ``Run.log_artifact`` and
``Artifact.save()`` both end in ``Artifact._log(target, ...)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from cairn.protocol import Backend, RunInfo
from cairn.settings import Settings

if TYPE_CHECKING:
    from cairn.sdk.paging import Paginator
    from cairn.sdk.run_summary import PublicSummary


@dataclasses.dataclass(frozen=True)
class RunTarget:
    """Where a run logs a draft: its backend (None for a run in "disabled" mode, which
    only finalizes the draft), entity, project and id (None: logged by no run)."""

    backend: Backend | None
    entity: str
    project: str
    run_id: str | None


A = TypeVar("A")  # the artifact class (``Artifact``) a handle's listings hold


class CollectionHandle(Protocol[A]):
    """The public members of ``cairn.sdk.collections.ArtifactCollection``."""

    entity: str
    project: str

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...

    @property
    def description(self) -> str | None: ...

    @property
    def tags(self) -> list[str]: ...

    @property
    def aliases(self) -> list[str]: ...

    @property
    def created_at(self) -> str: ...

    def is_sequence(self) -> bool: ...

    def change_type(self, new_type: str) -> None: ...

    def save(self) -> None: ...

    def delete(self) -> None: ...

    def artifacts(
        self, per_page: int = 50, tags: str | Sequence[str] | None = None
    ) -> Paginator[A]: ...

    def versions(self, per_page: int = 50) -> Paginator[A]: ...


class RunHandle(Protocol[A]):
    """The public members of ``cairn.sdk.public_run.PublicRun``."""

    @property
    def id(self) -> str: ...

    @property
    def entity(self) -> str: ...

    @property
    def project(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def display_name(self) -> str: ...

    @property
    def job_type(self) -> str | None: ...

    @property
    def state(self) -> str: ...

    @property
    def created_at(self) -> str: ...

    @property
    def path(self) -> list[str]: ...

    @property
    def config(self) -> dict[str, Any]: ...

    @property
    def rawconfig(self) -> dict[str, Any]: ...

    @property
    def summary(self) -> PublicSummary: ...

    @property
    def summary_metrics(self) -> dict[str, Any]: ...

    @property
    def lastHistoryStep(self) -> int: ...

    def load(self, force: bool = False) -> None: ...

    def update(self) -> None: ...

    def save(self) -> None: ...

    def scan_history(
        self,
        keys: list[str] | None = None,
        page_size: int = 1000,
        min_step: int = 0,
        max_step: int | None = None,
        use_cache: bool = True,
    ) -> Iterator[dict[str, Any]]: ...

    def history(
        self,
        samples: int = 500,
        keys: list[str] | None = None,
        x_axis: str = "_step",
        pandas: bool = True,
        stream: str = "default",
    ) -> Any: ...

    def logged_artifacts(self, per_page: int = 100) -> list[A]: ...

    def used_artifacts(self, per_page: int = 100) -> list[A]: ...


CollectionFactory = Callable[[Backend, str, str, str, str], CollectionHandle[Any]]
RunFactory = Callable[[Backend, RunInfo], RunHandle[Any]]
# (entity, project, settings) -> the active run's target, or an ``auto`` run's, finished on exit
RunOpener = Callable[[str | None, str | None, Settings | None], AbstractContextManager[RunTarget]]


@dataclasses.dataclass
class _Registered:
    collection: CollectionFactory | None = None
    public_run: RunFactory | None = None
    run_opener: RunOpener | None = None


_registered = _Registered()


def register_collection(factory: CollectionFactory) -> None:
    """``cairn.sdk.collections``: how to build ``ArtifactCollection(backend, entity,
    project, name, type)``."""
    _registered.collection = factory


def register_public_run(factory: RunFactory) -> None:
    """``cairn.sdk.public_run``: how to build ``PublicRun(backend, info)``."""
    _registered.public_run = factory


def register_run_opener(opener: RunOpener) -> None:
    """``cairn.sdk.run``: the run a draft is saved in (the active one, else an ``auto``
    run started for it and finished when the ``with`` block ends)."""
    _registered.run_opener = opener


def _missing(module: str) -> RuntimeError:
    return RuntimeError(f"{module} was not imported (cairn.sdk imports it)")


def collection(
    backend: Backend, entity: str, project: str, name: str, type_: str
) -> CollectionHandle[Any]:
    """The ``ArtifactCollection`` ``entity/project/name`` of type ``type_``.

    Raises ``CommError`` when it does not exist with that type.
    """
    factory = _registered.collection
    if factory is None:
        raise _missing("cairn.sdk.collections")
    return factory(backend, entity, project, name, type_)


def public_run(backend: Backend, info: RunInfo) -> RunHandle[Any]:
    """The ``PublicRun`` of ``info``."""
    factory = _registered.public_run
    if factory is None:
        raise _missing("cairn.sdk.public_run")
    return factory(backend, info)


def open_run(
    entity: str | None, project: str | None, settings: Settings | None
) -> AbstractContextManager[RunTarget]:
    """The active run's target, or an ``auto`` run's (see ``register_run_opener``)."""
    opener = _registered.run_opener
    if opener is None:
        raise _missing("cairn.sdk.run")
    return opener(entity, project, settings)
