"""A run's summary (``run.summary``, ``cairn.summary``): one value per metric, stored with
the run.

By default the store keeps the last value logged for each key (``cairn.service.history``);
code may set its own (``run.summary["best"] = 0.9``, ``run.summary.update({...})``) or
remove keys. As in wandb, items read and write as attributes too, ``keys()`` lists every
key (``_step``, ``_runtime`` and ``_timestamp`` included), and a nested dict reads as a
summary of its own whose changes reach the top. Unlike wandb's, ``len``, ``in``,
iteration and ``items()`` work, and a missing attribute is a ``KeyError`` as in wandb
only for plain names (``__x__`` lookups get ``AttributeError``, so ``copy`` works).

``LiveSummary`` (a run's own) reads the store each time and writes at once, one call per
``update`` or item set; ``PublicSummary`` (``Api().run(path).summary``) reads what was
fetched and, as wandb's public summary, stores changes on ``update()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from cairn.core.run_values import from_stored, to_stored
from cairn.protocol import RunEdit
from cairn.sdk.run_values import history_value

Read = Callable[[], dict[str, Any]]
Write = Callable[[RunEdit], None]


class SummaryDict:
    """The dict-like reading and writing both summaries and their nested parts share."""

    def _values(self) -> dict[str, Any]:
        raise NotImplementedError

    def _change(self, values: dict[str, Any], remove: list[str]) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ reads

    def keys(self) -> list[str]:
        return [key for key in self._values() if key != "_wandb"]

    def items(self) -> list[tuple[str, Any]]:
        values = self._values()
        return [(key, self._wrap(key, values[key])) for key in values if key != "_wandb"]

    def get(self, key: str, default: Any = None) -> Any:
        return self._values().get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._wrap(key, self._values()[key])

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        return self[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __contains__(self, key: object) -> bool:
        return key in self._values()

    def __repr__(self) -> str:
        return repr({key: self._values()[key] for key in self.keys()})

    def _wrap(self, key: str, value: Any) -> Any:
        return SummarySubDict(self, key, value) if isinstance(value, dict) else value

    # ------------------------------------------------------------------ changes

    def __setitem__(self, key: str, value: Any) -> None:
        self._change({key: value}, [])

    def __setattr__(self, key: str, value: Any) -> None:
        self._change({key: value}, [])

    def __delitem__(self, key: str) -> None:
        if key not in self._values():
            raise KeyError(key)
        self._change({}, [key])

    def __delattr__(self, key: str) -> None:
        del self[key]

    def update(self, d: dict[str, Any] | None = None) -> None:
        """Set every key of ``d``, in one change."""
        if d:
            self._change(dict(d), [])


class SummarySubDict(SummaryDict):
    """A nested dict of a summary: a change sets its top-level key to the changed dict."""

    def __init__(self, parent: SummaryDict, key: str, values: dict[str, Any]) -> None:
        object.__setattr__(self, "_parent", parent)
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_items", values)

    def _values(self) -> dict[str, Any]:
        items: dict[str, Any] = self.__dict__["_items"]
        return items

    def _change(self, values: dict[str, Any], remove: list[str]) -> None:
        changed = {k: v for k, v in self._values().items() if k not in remove}
        changed.update(values)
        object.__setattr__(self, "_items", changed)
        self.__dict__["_parent"]._change({self.__dict__["_key"]: changed}, [])


def _stored(values: dict[str, Any]) -> dict[str, Any]:
    """Summary values as sent: converted as history values are, then made storable."""
    converted = {key: history_value(value) for key, value in values.items()}
    result: dict[str, Any] = to_stored(converted, "summary")
    return result


class LiveSummary(SummaryDict):
    """A live run's summary: ``read`` gives the stored summary, ``write`` stores an edit.
    Without a store (a disabled run) it is a plain dict in memory."""

    def __init__(self, read: Read | None, write: Write | None) -> None:
        object.__setattr__(self, "_read", read)
        object.__setattr__(self, "_write", write)
        object.__setattr__(self, "_local", {})

    def _values(self) -> dict[str, Any]:
        read: Read | None = self.__dict__["_read"]
        if read is None:
            local: dict[str, Any] = self.__dict__["_local"]
            return local
        values: dict[str, Any] = from_stored(read())
        return values

    def _change(self, values: dict[str, Any], remove: list[str]) -> None:
        stored = _stored(values)
        write: Write | None = self.__dict__["_write"]
        if write is None:
            local: dict[str, Any] = self.__dict__["_local"]
            for key in remove:
                local.pop(key, None)
            local.update(from_stored(stored))
            return
        write(RunEdit(summary=stored, summary_remove=remove))


class PublicSummary(SummaryDict):
    """The summary of a run read through ``Api``: the values fetched with the run; changes
    are kept until ``update()`` stores them all (wandb's public ``Summary``)."""

    def __init__(self, values: dict[str, Any], write: Write) -> None:
        object.__setattr__(self, "_items", from_stored(values))
        object.__setattr__(self, "_write", write)
        object.__setattr__(self, "_set", {})
        object.__setattr__(self, "_removed", set())

    def _values(self) -> dict[str, Any]:
        items: dict[str, Any] = self.__dict__["_items"]
        return items

    def _change(self, values: dict[str, Any], remove: list[str]) -> None:
        stored = _stored(values)
        pending: dict[str, Any] = self.__dict__["_set"]
        removed: set[str] = self.__dict__["_removed"]
        for key in remove:
            self._values().pop(key, None)
            pending.pop(key, None)
            removed.add(key)
        self._values().update(from_stored(stored))
        pending.update(stored)
        removed.difference_update(stored)

    def update(self, d: dict[str, Any] | None = None) -> None:
        """Set the keys of ``d``, then store every change made since the last ``update``.

        Raises: what the store raises (the changes stay pending).
        """
        super().update(d)
        pending: dict[str, Any] = self.__dict__["_set"]
        removed: set[str] = self.__dict__["_removed"]
        if pending or removed:
            self.__dict__["_write"](RunEdit(summary=dict(pending), summary_remove=sorted(removed)))
            pending.clear()
            removed.clear()
