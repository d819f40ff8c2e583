"""Fixtures for SDK tests: the real embedded backend, and logging a draft through ``_log``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

import cairn.connect  # noqa: F401  (registers the backends, as ``import cairn`` does)
from cairn.protocol import Backend
from cairn.sdk.artifact import Artifact
from cairn.sdk.session import backend_for

LogFn = Callable[..., Artifact]


@pytest.fixture
def backend(cairn_dir: Path) -> Backend:
    """The embedded backend of this test's ``CAIRN_DIR`` (the one drafts use too)."""
    return backend_for()


@pytest.fixture
def log(backend: Backend) -> LogFn:
    """Log a draft to ``tester/proj`` the way ``Run.log_artifact`` does; return it."""

    def _log(
        artifact: Artifact,
        aliases: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        project: str = "proj",
    ) -> Artifact:
        artifact._log(
            backend, entity="tester", project=project, run_id=None, aliases=aliases, tags=tags
        )
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
