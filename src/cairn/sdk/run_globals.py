"""The module-level run surface: ``cairn.log``, ``cairn.config``, ``cairn.summary``,
``cairn.define_metric``, the model helpers, ``finish``, ``log_artifact`` and
``use_artifact``, each acting on the current run as ``wandb.*`` does.

Before ``init`` (and after the run finishes) wandb's module attributes are placeholders
that refuse every use with ``You must call wandb.init() before wandb.<name>``; Cairn's are
the same (``PreInit``, raising ``cairn.errors.UsageError``, a ``cairn.errors.Error`` as
wandb's ``wandb.Error``). The one exception is ``log_artifact``, which starts a run of
its own (as ``Artifact.save()`` outside a run does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cairn.errors import UsageError
from cairn.sdk.run import Run, current_run, init

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable

    from cairn.sdk.artifact import Artifact
    from cairn.sdk.run_config import Config
    from cairn.sdk.run_metric import Metric
    from cairn.sdk.run_summary import LiveSummary


class PreInit:
    """``cairn.config`` or ``cairn.summary`` while no run is active: every item or public
    attribute read or written raises ``UsageError`` naming what was used."""

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def __getitem__(self, key: object) -> Any:
        raise UsageError(f"You must call wandb.init() before {self._name}[{key!r}]")

    def __setitem__(self, key: object, value: object) -> None:
        raise UsageError(f"You must call wandb.init() before {self._name}[{key!r}]")

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        raise UsageError(f"You must call wandb.init() before {self._name}.{key}")

    def __setattr__(self, key: str, value: object) -> None:
        raise UsageError(f"You must call wandb.init() before {self._name}.{key}")


_PRE_INIT_CONFIG = PreInit("wandb.config")
_PRE_INIT_SUMMARY = PreInit("wandb.summary")


def config() -> Config | PreInit:
    """``cairn.config``: the current run's config, or a ``PreInit`` placeholder."""
    run = current_run()
    return _PRE_INIT_CONFIG if run is None else run.config


def summary() -> LiveSummary | PreInit:
    """``cairn.summary``: the current run's summary, or a ``PreInit`` placeholder."""
    run = current_run()
    return _PRE_INIT_SUMMARY if run is None else run.summary


def _current(name: str) -> Run:
    run = current_run()
    if run is None:
        raise UsageError(f"You must call wandb.init() before wandb.{name}()")
    return run


def log(data: dict[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """``Run.log`` on the current run. Raises ``UsageError`` when no run is active."""
    _current("log").log(data, step=step, commit=commit)


def define_metric(
    name: str,
    step_metric: str | Metric | None = None,
    step_sync: bool | None = None,
    hidden: bool | None = None,
    summary: str | None = None,
    overwrite: bool | None = None,
) -> Metric:
    """``Run.define_metric`` on the current run. Raises ``UsageError`` with no run."""
    run = _current("define_metric")
    return run.define_metric(name, step_metric, step_sync, hidden, summary, overwrite)


def log_model(
    path: str | os.PathLike[str],
    name: str | None = None,
    aliases: str | Iterable[str] | None = None,
) -> None:
    """``Run.log_model`` on the current run. Raises ``UsageError`` with no run."""
    _current("log_model").log_model(path, name=name, aliases=aliases)


def use_model(name: str) -> str:
    """``Run.use_model`` on the current run. Raises ``UsageError`` with no run."""
    return _current("use_model").use_model(name)


def link_model(
    path: str | os.PathLike[str],
    registered_model_name: str,
    name: str | None = None,
    aliases: str | Iterable[str] | None = None,
) -> Artifact | None:
    """``Run.link_model`` on the current run. Raises ``UsageError`` with no run."""
    return _current("link_model").link_model(path, registered_model_name, name, aliases)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run, if there is one (``wandb.finish``)."""
    run = current_run()
    if run is not None:
        run.finish(exit_code=exit_code, quiet=quiet)


def log_artifact(
    artifact_or_path: Artifact | str | os.PathLike[str],
    name: str | None = None,
    type: str | None = None,
    aliases: str | Iterable[str] | None = None,
    tags: str | Iterable[str] | None = None,
) -> Artifact:
    """``Run.log_artifact`` on the current run; with no run, in a run of job type ``auto``.

    That automatic run is finished as soon as the artifact is logged (as W&B's
    ``Artifact.save()`` outside a run does). Raises what ``Run.log_artifact`` raises.
    """
    run = current_run()
    if run is not None:
        return run.log_artifact(artifact_or_path, name=name, type=type, aliases=aliases, tags=tags)
    with init(job_type="auto") as auto_run:
        return auto_run.log_artifact(
            artifact_or_path, name=name, type=type, aliases=aliases, tags=tags
        )


def use_artifact(
    artifact_or_name: Artifact | str,
    type: str | None = None,
    aliases: str | Iterable[str] | None = None,
    use_as: str | None = None,
) -> Artifact:
    """``Run.use_artifact`` on the current run.

    Raises ``cairn.errors.UsageError`` when no run is active (use ``Api().artifact`` to read
    without a run), and what ``Run.use_artifact`` raises.
    """
    return _current("use_artifact").use_artifact(
        artifact_or_name, type=type, aliases=aliases, use_as=use_as
    )
