"""Runs: ``init`` and the ``Run`` object, W&B's run surface over a Cairn backend.

W&B code writes ``with wandb.init(project=..., config=...) as run: run.log({...});
run.log_artifact(art)``; this module gives that code the same shape. A run is one record in
the store (id, entity, project, name, job type, config, summary, state), its history rows,
and the edges to the versions it logged and used, so lineage survives. The process keeps
one *current* run (``cairn.run``), exactly as ``wandb.run``; ``cairn.sdk.run_globals`` holds
the module-level helpers (``cairn.log``, ``cairn.config``, ...) that act on it.

Config (``run_config``), history steps (``run_history``) and summary (``run_summary``) have
wandb's semantics and reach the store as they change: one call per config update, per
written history row and per summary change.

Modes: ``"online"``, ``"offline"``, ``"shared"`` (and their legacy spellings ``"run"`` and
``"dryrun"``) all write to the store the settings select: the embedded store is local, so
there is nothing to sync later and "offline" loses nothing. ``"disabled"`` opens no store for
writing: ``log_artifact`` finalizes the draft and returns it unlogged (as W&B does offline)
and ``use_artifact`` reads from the configured store without recording the use.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cairn.core.names import (
    parse_artifact_path,
    validate_aliases,
    validate_entity_name,
    validate_project_name,
    validate_tags,
)
from cairn.core.run_values import from_stored, to_stored
from cairn.errors import CommError, UsageError
from cairn.protocol import Backend, RunEdit, RunInfo, VersionInfo
from cairn.sdk import _upward
from cairn.sdk._run_identity import RecordedRun, generate_id, generate_name, validate_run_id
from cairn.sdk.artifact import Artifact
from cairn.sdk.backend_cache import backend_for
from cairn.sdk.run_config import Config
from cairn.sdk.run_history import History
from cairn.sdk.run_metric import Metric, define
from cairn.sdk.run_models import ModelMethods
from cairn.sdk.run_parts import PartMethods
from cairn.sdk.run_summary import LiveSummary
from cairn.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence
    from types import TracebackType

logger = logging.getLogger(__name__)

_MODES = ("online", "offline", "disabled", "shared", "run", "dryrun")
_current: Run | None = None
_current_lock = threading.Lock()
_atexit_registered = False


def current_run() -> Run | None:
    """The run this process is working in (``cairn.run``), or ``None`` when there is none."""
    return _current


def _set_current(run: Run | None) -> None:
    global _current, _atexit_registered  # noqa: PLW0603 - the process's one active run, as wandb.run
    with _current_lock:
        _current = run
        if run is not None and not _atexit_registered:
            atexit.register(_finish_at_exit)
            _atexit_registered = True


def _clear_current(run: Run) -> None:
    global _current  # noqa: PLW0603 - the process's one active run, as wandb.run
    with _current_lock:
        if _current is run:
            _current = None


def _finish_at_exit() -> None:
    """Finish a run the script left open, as W&B does when the interpreter exits."""
    run = _current
    if run is not None:
        try:
            run.finish()
        except Exception:  # the interpreter is going away; record why and move on
            logger.exception("Could not finish run %s at exit", run.id)


class Run(RecordedRun, ModelMethods, PartMethods):
    """One execution that logs and uses artifacts; a context manager that finishes on exit.

    Leaving the ``with`` block normally marks the run ``finished``; leaving it through an
    exception marks it ``failed`` (the exception propagates). A run continued by id
    (``init(id=...)``) goes on at the step after its last stored one.
    """

    def __init__(
        self,
        backend: Backend | None,
        settings: Settings,
        info: RunInfo,
        *,
        config: Config,
        mode: str,
        tags: tuple[str, ...] = (),
        notes: str | None = None,
        group: str | None = None,
    ) -> None:
        self._backend = backend
        self._settings = settings
        self._info = info
        self._config = config
        self._mode = mode
        self._state = "running"
        self._lock = threading.Lock()
        self.tags = tags
        self.notes = notes
        self.group = group
        self._starting_step = 0 if info.last_step is None else info.last_step + 1
        if backend is None:
            self._history = History(None, self._starting_step)
            self._summary = LiveSummary(None, None)
        else:
            self._history = History(self._write_row, self._starting_step)
            self._summary = LiveSummary(self._read_summary, self._edit_summary)
            config._set_persist(self._persist_config)

    # ------------------------------------------------------------------ identity

    @property
    def config(self) -> Config:
        """The run's config (``wandb.config``); see ``cairn.sdk.run_config``."""
        return self._config

    @property
    def summary(self) -> LiveSummary:
        """The run's summary (``wandb.summary``); see ``cairn.sdk.run_summary``."""
        return self._summary

    @property
    def step(self) -> int:
        """The step the next ``log`` call lands in (W&B's ``run.step``)."""
        return self._history.step

    @property
    def starting_step(self) -> int:
        """The step the run started at in this process (after the stored last one)."""
        return self._starting_step

    @property
    def resumed(self) -> bool:
        """True when the run continued one that had logged history."""
        return self._info.last_step is not None

    @property
    def path(self) -> str:
        """``"entity/project/run_id"``: what ``Api().run(path)`` accepts."""
        return f"{self.entity}/{self.project}/{self.id}"

    @property
    def state(self) -> str:
        """``"running"``, ``"finished"`` or ``"failed"``."""
        return self._state

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def disabled(self) -> bool:
        """True when the run was started with ``mode="disabled"`` and records nothing."""
        return self._backend is None

    def __repr__(self) -> str:
        return f"<Run {self.path} ({self._state})>"

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish(exit_code=0 if exc_type is None else 1)

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """Mark the run finished (``exit_code`` 0 or None) or failed; a second call does nothing.

        Raises ``cairn.errors.CommError`` when the store cannot record it.
        """
        with self._lock:
            if self._state != "running":
                return
            code = exit_code or 0
            self._history.flush()
            if self._backend is not None:
                self._backend.finish_run(self.entity, self.project, self.id, code)
            self._state = "finished" if code == 0 else "failed"
        _clear_current(self)

    def _require_running(self, method: str) -> None:
        if self._state != "running":
            raise UsageError(
                f"Run ({self.id}) is finished. The call to `{method}` will be ignored. "
                "Please make sure that you are using an active run."
            )

    # ------------------------------------------------------------------ artifacts

    def log_artifact(
        self,
        artifact_or_path: Artifact | str | os.PathLike[str],
        name: str | None = None,
        type: str | None = None,
        aliases: str | Iterable[str] | None = None,
        tags: str | Iterable[str] | None = None,
    ) -> Artifact:
        """Log an artifact (or a file, directory or ``scheme://`` reference) as this run's output.

        A path becomes ``Artifact(name or f"run-{run.id}-{basename}", type or "unspecified")``
        holding that file, directory or reference; ``name`` and ``type`` are ignored for an
        ``Artifact``. Aliases are ``set(aliases or ["latest"]) | {"latest"}``; logging the
        same content as the latest version returns that version (no new one).

        Raises ``cairn.errors.UsageError`` on a finished run; ``ValueError`` for bad aliases,
        tags, names, paths, or a name already logged with another type, before anything is
        written; ``cairn.errors.CommError`` when the store refuses the commit.
        """
        self._require_running("log_artifact")
        alias_list = validate_aliases(aliases)
        tag_list = validate_tags(tags)
        artifact = self._prepare_artifact(artifact_or_path, name, type)
        return self._log_prepared(artifact, alias_list, tag_list)

    def _log_prepared(
        self,
        artifact: Artifact,
        aliases: Sequence[str],
        tags: Sequence[str] | None,
        distributed_id: str | None = None,
        finish: bool = True,
    ) -> Artifact:
        """Log ``artifact`` as this run's (a part of a distributed version when
        ``distributed_id`` is given); a disabled run only finalizes it."""
        artifact._log(
            self._target(),
            aliases=aliases or None,
            tags=tags,
            distributed_id=distributed_id,
            finish=finish,
        )
        return artifact

    def _target(self) -> _upward.RunTarget:
        """Where this run logs drafts (no backend in "disabled" mode)."""
        return _upward.RunTarget(self._backend, self.entity, self.project, self.id)

    def _prepare_artifact(
        self,
        artifact_or_path: Artifact | str | os.PathLike[str],
        name: str | None,
        type_: str | None,
    ) -> Artifact:
        if isinstance(artifact_or_path, Artifact):
            return artifact_or_path
        if not isinstance(artifact_or_path, str | os.PathLike):
            raise ValueError(
                "You must pass an instance of wandb.Artifact or a valid file path to log_artifact"
            )
        path = os.fspath(artifact_or_path)
        basename = os.path.basename(path.rstrip("/")) if "://" in path else Path(path).name
        artifact = Artifact(name or f"run-{self.id}-{basename}", type_ or "unspecified")
        if "://" in path:
            artifact.add_reference(path)
        elif os.path.isfile(path):
            artifact.add_file(path)
        elif os.path.isdir(path):
            artifact.add_dir(path)
        else:
            raise ValueError(
                "path must be a file, directory or external reference like s3://bucket/path: "
                f"{path!r}"
            )
        return artifact

    def use_artifact(
        self,
        artifact_or_name: Artifact | str,
        type: str | None = None,
        aliases: str | Iterable[str] | None = None,
        use_as: str | None = None,
    ) -> Artifact:
        """Declare an artifact as this run's input and return it.

        A name (``"name[:alias|vN]"``, ``"project/name:alias"``, ``"entity/project/name:alias"``;
        the run's entity and project fill what is missing, the alias defaults to ``latest``)
        is resolved in the store. A draft ``Artifact`` is logged by this run first (with
        ``aliases``), then used. ``use_as`` is deprecated and ignored.

        Raises ``cairn.errors.UsageError`` on a finished run; ``cairn.errors.CommError`` when
        the name resolves to nothing (the message names it); ``ValueError`` when ``type`` is
        given and differs from the artifact's type, or the name is malformed.
        """
        self._require_running("use_artifact")
        if use_as is not None:
            warnings.warn(
                "`use_as` argument is deprecated and does not affect the behaviour of "
                "`use_artifact`",
                DeprecationWarning,
                stacklevel=2,
            )
        if isinstance(artifact_or_name, str):
            artifact = self._resolve(artifact_or_name)
        elif isinstance(artifact_or_name, Artifact):
            artifact = artifact_or_name
            if artifact.is_draft():
                self.log_artifact(artifact, aliases=aliases)
        else:
            raise ValueError(
                'You must pass an artifact name (e.g. "pedestrian-dataset:v1"), an instance of '
                "`wandb.Artifact`, or `wandb.Api().artifact()` to `use_artifact`"
            )
        if type is not None and type != artifact.type:
            raise ValueError(
                f"Supplied type {type} does not match type {artifact.type} "
                f"of artifact {artifact.name}"
            )
        if self._backend is not None and not artifact.is_draft():
            artifact_id = artifact.id
            if artifact_id is None:  # a logged artifact always has an id
                raise ValueError(f"Artifact {artifact.name} has no id and cannot be used")
            self._backend.record_use(self.entity, self.project, self.id, artifact_id)
        return artifact

    def _resolve(self, name: str) -> Artifact:
        path = parse_artifact_path(name)
        backend = self._backend if self._backend is not None else backend_for(self._settings)
        info: VersionInfo = backend.resolve_version(
            path.entity or self.entity,
            path.project or self.project,
            path.collection,
            path.selector,
        )
        return Artifact._from_version(info, backend)

    # ------------------------------------------------------------------ links, lineage, history

    def link_artifact(
        self,
        artifact: Artifact,
        target_path: str,
        aliases: str | Iterable[str] | None = None,
    ) -> Artifact:
        """Link ``artifact`` into ``target_path`` (``[prefix/][project/]collection``, e.g.
        ``wandb-registry-model/my-models``), logging it by this run first if it is a draft.

        Returns the link artifact. Raises ``cairn.errors.UsageError`` on a finished run;
        ``NotImplementedError`` on a disabled run (W&B offline); what ``Artifact.link`` raises.
        """
        self._require_running("link_artifact")
        if self._backend is None:
            raise NotImplementedError("Linking artifacts is not supported in disabled mode")
        if artifact.is_draft():
            self.log_artifact(artifact)
        return artifact.link(target_path, validate_aliases(aliases))

    # ------------------------------------------------------------------ history, summary, config

    def log(
        self, data: dict[str, Any], step: int | None = None, commit: bool | None = None
    ) -> None:
        """Add ``data`` to the run's history, with W&B's steps (``cairn.sdk.run_history``):
        each call makes a row unless ``commit=False`` (keep filling the current row) or a
        ``step`` is given (the row is written when a later step or a commit comes, or at
        ``finish``); a ``step`` below the current one is dropped with a warning. Written
        rows set the summary's value of their keys. Values convert as wandb converts them
        (numpy, tensors, dates; arrays over 32 values become histograms); media values are
        left out with a warning.

        Raises ``cairn.errors.UsageError`` on a finished run; ``TypeError`` when ``data``
        is not a dict with string keys, or holds a value JSON cannot (W&B's messages).
        """
        self._require_running("log")
        self._history.log(data, step, commit)

    def define_metric(
        self,
        name: str,
        step_metric: str | Metric | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        overwrite: bool | None = None,
    ) -> Metric:
        """Check a metric definition and return it (``cairn.sdk.run_metric``: Cairn does
        not act on it). Raises ``cairn.errors.Error`` with W&B's messages."""
        return define(name, step_metric, step_sync, hidden, summary, overwrite)

    def _write_row(self, step: int, row: dict[str, Any]) -> int | None:
        assert self._backend is not None  # rows are only written by a recording run
        return self._backend.log_history(self.entity, self.project, self.id, step, row)

    def _read_summary(self) -> dict[str, Any]:
        assert self._backend is not None
        return self._backend.get_run(self.entity, self.project, self.id).summary

    def _edit_summary(self, edit: RunEdit) -> None:
        self._require_running("_summary_update_callback")
        assert self._backend is not None
        self._backend.edit_run(self.entity, self.project, self.id, edit)

    def _persist_config(self, values: dict[str, Any]) -> None:
        self._require_running("_config_callback")
        assert self._backend is not None
        edit = RunEdit(config=to_stored(values, "config"))
        self._backend.edit_run(self.entity, self.project, self.id, edit)


@contextlib.contextmanager
def _run_for_draft(
    entity: str | None, project: str | None, settings: Settings | None
) -> Iterator[_upward.RunTarget]:
    """The run ``Artifact.save()`` logs a draft in: the current run, else a run of job type
    ``auto`` in ``entity``/``project`` (default: the settings'), finished when the block
    ends (failed if it raises), as W&B does."""
    run = current_run()
    if run is not None:
        run._require_running("log_artifact")
        yield run._target()
        return
    with init(job_type="auto", entity=entity, project=project, settings=settings) as auto_run:
        yield auto_run._target()


_upward.register_run_opener(_run_for_draft)


# ---------------------------------------------------------------------- init


def _load_settings(settings: Settings | Mapping[str, Any] | None) -> Settings:
    if isinstance(settings, Settings):
        return settings
    return Settings.load(settings)


def _normalize_mode(mode: str | None) -> str:
    mode = (mode or "online").lower()
    if mode not in _MODES:
        raise UsageError(f"Settings field `mode`: {mode!r} not in {list(_MODES)}")
    return mode


def init(
    project: str | None = None,
    entity: str | None = None,
    job_type: str | None = None,
    name: str | None = None,
    config: object = None,
    mode: str | None = None,
    id: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    tags: Iterable[str] | None = None,
    notes: str | None = None,
    group: str | None = None,
    reinit: bool | str | None = None,
    resume: bool | str | None = None,
    settings: Settings | Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Run:
    """Start a run and make it the current one (``cairn.run``); use it as a context manager.

    ``entity``/``project`` default to the settings (``CAIRN_ENTITY``/``WANDB_ENTITY``, else
    the OS user; ``CAIRN_PROJECT``/``WANDB_PROJECT``, else ``uncategorized``), read now.
    ``settings`` is a ``cairn.settings.Settings`` or a mapping of its field names.
    ``config`` is a mapping or an object with attributes (``argparse.Namespace``).
    ``reinit`` decides what happens while a run is active: ``None``/``False``/``"default"``/
    ``"return_previous"`` return it, ``True``/``"finish_previous"`` finish it first,
    ``"create_new"`` starts another and makes it current. An existing ``id`` continues that
    run (marked running again, config merged); ``resume="must"`` requires it to exist and
    ``resume="never"`` requires it not to. ``dir`` and keyword arguments of
    ``wandb.init`` that Cairn has no use for (``save_code``, ``anonymous``, ...) are accepted
    and ignored; ``resume_from`` and ``fork_from``, which would change what the run's
    history holds, are refused rather than ignored (docs/wandb.md).

    Raises ``ValueError`` for an invalid entity, project or id; ``cairn.errors.UsageError``
    for an unknown ``mode``/``reinit``, a ``resume`` condition that does not hold, or
    ``resume_from``/``fork_from``;
    ``cairn.errors.StoreError`` when the store directory is unusable (the message names it).
    """
    for rewinding in ("resume_from", "fork_from"):
        if kwargs.get(rewinding) is not None:
            raise UsageError(
                f"{rewinding} is not supported by Cairn's own init: its runs are not rewound "
                "or forked (docs/wandb.md says what is)"
            )
    if kwargs or dir is not None:
        logger.debug("init: ignoring arguments %s", sorted([*kwargs, *(["dir"] if dir else [])]))
    mode = _normalize_mode(mode)
    active = current_run()
    if active is not None:
        if reinit in (None, False, "default", "return_previous"):
            return active
        if reinit in (True, "finish_previous"):
            active.finish()
        elif reinit != "create_new":
            raise UsageError(
                f"reinit must be one of 'default', 'return_previous', 'finish_previous', "
                f"'create_new' or a bool, not {reinit!r}"
            )
    loaded = _load_settings(settings)
    run_entity = validate_entity_name(entity or loaded.entity)
    run_project = validate_project_name(project or loaded.project)
    run_id = validate_run_id(id) if id is not None else generate_id()
    run_config = Config()
    run_config.update(config)
    backend: Backend | None = None
    if mode == "disabled":
        info = RunInfo(
            id=run_id,
            entity=run_entity,
            project=run_project,
            name=name or generate_name(),
            job_type=job_type,
            config=to_stored(run_config._as_dict(), "config"),
            state="running",
            created_at="",
        )
    else:
        backend = backend_for(loaded)
        info = _start_run(
            backend, run_entity, run_project, run_id, name, job_type, run_config, id, resume, group
        )
        stored = from_stored(info.config)
        run_config._load({k: v for k, v in stored.items() if k not in run_config})
    run = Run(
        backend,
        loaded,
        info,
        config=run_config,
        mode=mode,
        tags=tuple(tags or ()),
        notes=notes,
        group=group,
    )
    _set_current(run)
    return run


def _start_run(
    backend: Backend,
    entity: str,
    project: str,
    run_id: str,
    name: str | None,
    job_type: str | None,
    config: Config,
    given_id: str | None,
    resume: bool | str | None,
    group: str | None = None,
) -> RunInfo:
    """Create the run record, or continue the existing run ``given_id`` as ``resume`` allows.

    Continuing marks the run running again and keeps its name unless ``name`` is given.
    """
    exists = False
    if given_id is not None:
        try:
            backend.get_run(entity, project, run_id)
            exists = True
        except CommError:
            exists = False
    if resume == "must" and not exists:
        raise UsageError(f"resume='must' but run ({run_id}) doesn't exist in {entity}/{project}")
    if resume == "never" and exists:
        raise UsageError(f"resume='never' but run ({run_id}) already exists in {entity}/{project}")
    if not exists:
        name = name or generate_name()
    stored = to_stored(config._as_dict(), "config")
    return backend.create_run(entity, project, run_id, name, job_type, stored, group)
