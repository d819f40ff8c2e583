"""Runs as ``Api`` reads them: ``Api().run(path)`` (``PublicRun``) and ``Api().runs(path)``
(``Runs``), W&B's ``wandb.apis.public.Run`` and ``Runs``.

A ``PublicRun`` is what the store held when it was fetched: id, name, state, config,
summary (editable, stored on ``summary.update()`` or ``run.update()``, as in W&B), and
on demand its history (``history()``, ``scan_history()``) and the versions it logged and
used. ``Runs`` pages through a project's runs in the store's order; its ``filters`` are
W&B's MongoDB-style queries (``cairn.core.run_filters``), which the store applies (the
embedded store and the server alike, ``Backend.list_runs``), so ``len()`` of a filtered
``Runs`` is one call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cairn.core.run_values import from_stored, to_stored
from cairn.errors import MissingExtraError
from cairn.media._base import MEDIA_EXTRA
from cairn.protocol import Backend, HistoryQuery, Page, RunEdit, RunInfo
from cairn.sdk import _upward
from cairn.sdk._run_identity import RecordedRun
from cairn.sdk.paging import Paginator
from cairn.sdk.run_summary import PublicSummary

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

STEP = "_step"


def _check_keys(keys: Sequence[str] | None) -> list[str] | None:
    """W&B's checks: ``keys`` is None or a list of strings. Raises ValueError otherwise."""
    if keys is None:
        return None
    if not isinstance(keys, list):
        raise ValueError("keys must be specified in a list")
    if not all(isinstance(key, str) for key in keys):
        raise ValueError("keys argument must be a list of strings")
    return keys


class PublicRun(RecordedRun):
    """A run as ``Api().run(path)`` returns it (see module doc)."""

    _backend: Backend  # always a store: read-only runs are never "disabled"

    def __init__(self, backend: Backend, info: RunInfo) -> None:
        self._backend = backend
        self._fetched(info)

    def _fetched(self, info: RunInfo) -> None:
        self._info = info
        self._config: dict[str, Any] = from_stored(info.config)
        self._summary = PublicSummary(info.summary, self._edit)

    def _edit(self, edit: RunEdit) -> None:
        self._info = self._backend.edit_run(self.entity, self.project, self.id, edit)

    @property
    def display_name(self) -> str:
        return self._info.name

    @property
    def config(self) -> dict[str, Any]:
        """The run's config, a dict (changes are stored by ``update()``)."""
        return self._config

    @property
    def rawconfig(self) -> dict[str, Any]:
        """The config with internal keys (Cairn keeps none: the config itself)."""
        return self.config

    @property
    def summary(self) -> PublicSummary:
        """The run's summary when fetched; see ``cairn.sdk.run_summary.PublicSummary``."""
        return self._summary

    @property
    def summary_metrics(self) -> dict[str, Any]:
        """The summary as a plain dict."""
        return {key: self._summary.get(key) for key in self._summary}

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

    @property
    def lastHistoryStep(self) -> int:
        """The highest step of the run's history, -1 when it has none."""
        return -1 if self._info.last_step is None else self._info.last_step

    def load(self, force: bool = False) -> None:
        """Fetch the run again (config and summary changes not yet stored are dropped)."""
        del force
        self._fetched(self._backend.get_run(self.entity, self.project, self.id))

    def update(self) -> None:
        """Store the config as it now is (keys set and removed) and the summary's changes.

        Raises: TypeError/ValueError (values that cannot be stored), CommError.
        """
        stored = to_stored(self._config, "config")
        removed = [key for key in self._info.config if key not in stored]
        changed = {k: v for k, v in stored.items() if self._info.config.get(k, object()) != v}
        if changed or removed:
            self._edit(RunEdit(config=changed, config_remove=removed))
        self._summary.update()

    def save(self) -> None:
        """``update()``."""
        self.update()

    # ------------------------------------------------------------------ history

    def scan_history(
        self,
        keys: list[str] | None = None,
        page_size: int = 1000,
        min_step: int = 0,
        max_step: int | None = None,
        use_cache: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Every history row in ``[min_step, max_step)`` by step, fetched ``page_size`` at a
        time, each with ``_step``; with ``keys``, only rows holding all of them, reduced to
        those keys and ``_step``. Raises ValueError for ``keys`` that are not a list of
        strings."""
        wanted = _check_keys(keys)
        del use_cache
        start = min_step
        while True:
            query = HistoryQuery(wanted, start, max_step, limit=page_size)
            rows = self._backend.read_history(self.entity, self.project, self.id, query)
            for row in rows:
                yield from_stored(row)
            if len(rows) < page_size:
                return
            start = rows[-1][STEP] + 1

    def history(
        self,
        samples: int = 500,
        keys: list[str] | None = None,
        x_axis: str = "_step",
        pandas: bool = True,
        stream: str = "default",
    ) -> Any:
        """At most ``samples`` history rows spread over the run: a pandas ``DataFrame``, or
        with ``pandas=False`` a list of dicts, as W&B returns. With ``keys``, only rows
        holding them all, reduced to ``x_axis`` and those keys. ``stream="system"`` (machine
        metrics) has no rows in Cairn.

        Raises: ValueError (``keys`` not a list of strings, or ``keys`` with another
        ``stream``); ``cairn.errors.MissingExtraError`` naming ``cairn[media]`` when
        ``pandas`` is True and pandas is not installed.
        """
        wanted = _check_keys(keys)
        if wanted and stream != "default":
            raise ValueError("stream must be default when specifying keys")
        rows: list[dict[str, Any]] = []
        if stream == "default":
            query_keys = [x_axis, *wanted] if wanted else None
            query = HistoryQuery(keys=query_keys, samples=samples)
            found = self._backend.read_history(self.entity, self.project, self.id, query)
            rows = [from_stored(row) for row in found]
            if wanted and x_axis != STEP and STEP not in wanted:
                rows = [{k: v for k, v in row.items() if k != STEP} for row in rows]
        if not pandas:
            return rows
        try:
            import pandas as pd  # type: ignore[import-untyped]  # noqa: PLC0415 - pandas is optional
        except ImportError:
            raise MissingExtraError(
                f"Run.history() returns a pandas DataFrame, which needs pandas: {MEDIA_EXTRA} "
                "(or call history(pandas=False))"
            ) from None
        return pd.DataFrame.from_records(rows)

    def __repr__(self) -> str:
        return f"<Run {'/'.join(self.path)} ({self.state})>"


class Runs(Paginator[PublicRun]):
    """A project's runs, ``per_page`` at a time, in ``order`` (W&B's, e.g. ``+created_at``,
    ``-summary_metrics.loss``), those meeting ``filters`` (see module doc).

    Raises (while reading pages): CommError for a project that does not exist; ValueError
    for an unknown order or a filter the store refuses.
    """

    def __init__(
        self,
        backend: Backend,
        entity: str,
        project: str,
        filters: Mapping[str, Any] | None = None,
        order: str = "+created_at",
        per_page: int = 50,
    ) -> None:
        super().__init__(per_page)
        self._backend = backend
        self.entity = entity
        self.project = project
        self.filters = dict(filters or {})
        self.order = order or "+created_at"

    def _fetch(
        self, cursor: str | None, per_page: int
    ) -> tuple[list[PublicRun], str | None, int | None]:
        page: Page = self._backend.list_runs(
            self.entity, self.project, self.order, cursor, per_page, self.filters or None
        )
        infos: list[RunInfo] = list(page.items)
        return [PublicRun(self._backend, info) for info in infos], page.next_cursor, page.total

    def __repr__(self) -> str:
        return f"<Runs {self.entity}/{self.project}>"


_upward.register_public_run(PublicRun)  # Artifact.logged_by() and used_by() build them
