"""Fixtures for SDK tests: logging a draft through ``_log`` on the ``backend`` of the root
conftest (parametrised over backends), and the TV1 tree."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

import cairn.connect  # noqa: F401  (registers the backends, as ``import cairn`` does)
from cairn.protocol import Backend
from cairn.sdk._upward import RunTarget
from cairn.sdk.artifact import Artifact

LogFn = Callable[..., Artifact]


@pytest.fixture
def log(backend: Backend) -> LogFn:
    """Log a draft to ``<entity>/proj`` (``tester`` embedded) the way ``Run.log_artifact``
    does; return it."""

    def _log(
        artifact: Artifact,
        aliases: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        project: str = "proj",
    ) -> Artifact:
        target = RunTarget(backend, backend.settings.entity, project, None)
        artifact._log(target, aliases=aliases, tags=tags)
        return artifact

    return _log


@pytest.fixture
def tv1_tree(tmp_path: Path) -> Path:
    """The spec's TV1 tree: ``a.txt`` = ``hello\\n``, ``sub/b.bin`` = bytes(range(256)) * 4."""
    root = tmp_path / "tv1"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"hello\n")
    (root / "sub" / "b.bin").write_bytes(bytes(range(256)) * 4)
    return root
