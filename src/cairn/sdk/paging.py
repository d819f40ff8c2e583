"""``Paginator``: the lazy sequences ``Api`` hands out (artifacts, collections, types,
registries, runs), loaded one backend page at a time, with ``len()``, iteration and
indexing, as ``wandb.apis.paginator`` gives them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar, overload

if TYPE_CHECKING:
    from collections.abc import Iterator

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
