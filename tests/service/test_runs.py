"""Runs: create, resume, finish, read, and record uses."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from cairn.db.models import RunInput
from cairn.errors import CommError
from cairn.protocol import CommitRequest
from cairn.service.backend import EmbeddedBackend
from cairn.service.resources import open_store

MakeRequest = Callable[..., CommitRequest]


def test_create_get_finish(backend: EmbeddedBackend) -> None:
    created = backend.create_run("tester", "proj", "abc123", "bright-sun-1", "train", {"lr": 1})
    assert (created.id, created.name, created.job_type, created.state) == (
        "abc123",
        "bright-sun-1",
        "train",
        "running",
    )
    assert created.created_at.endswith("Z")
    assert backend.get_run("tester", "proj", "abc123") == created
    backend.finish_run("tester", "proj", "abc123", 0)
    assert backend.get_run("tester", "proj", "abc123").state == "finished"


def test_failed_exit_code_and_resume(backend: EmbeddedBackend) -> None:
    backend.create_run("tester", "proj", "r", None, None, {"a": 1})
    backend.finish_run("tester", "proj", "r", 2)
    assert backend.get_run("tester", "proj", "r").state == "failed"
    resumed = backend.create_run("tester", "proj", "r", None, "eval", {"b": 2})
    assert (resumed.name, resumed.state, resumed.job_type) == ("r", "running", "eval")
    assert resumed.config == {"a": 1, "b": 2}


def test_unknown_run(backend: EmbeddedBackend) -> None:
    with pytest.raises(CommError, match="run 'tester/proj/none' not found"):
        backend.get_run("tester", "proj", "none")
    with pytest.raises(CommError, match="run 'tester/proj/none' not found"):
        backend.finish_run("tester", "proj", "none", 0)


@pytest.mark.parametrize("run_id", ["", "a/b", "a b", "x" * 129])
def test_invalid_run_id(backend: EmbeddedBackend, run_id: str) -> None:
    with pytest.raises(ValueError):
        backend.create_run("tester", "proj", run_id, None, None, {})


def test_record_use_is_idempotent(backend: EmbeddedBackend, make_request: MakeRequest) -> None:
    version = backend.commit_version(make_request({"f": b"x"})).version
    backend.create_run("tester", "proj", "user", None, None, {})
    backend.record_use("tester", "proj", "user", version.id)
    backend.record_use("tester", "proj", "user", version.id)
    store = open_store(backend.settings)
    try:
        with store.db.read() as session:
            uses = list(session.scalars(select(RunInput)))
    finally:
        store.close()
    assert len(uses) == 1
    with pytest.raises(CommError, match="not found"):
        backend.record_use("tester", "proj", "ghost", version.id)
