"""Every task the SDK reports is timed from the start of its work (item 3 of "the first
hour"): each event carries ``started``, the same for all events of one task, taken before
the work began. A step of each task is slowed down by ``DELAY``, so an event that is sent
at least ``DELAY`` after its ``started`` proves the start was not taken when the event was
sent (the old renderer started its clock on the first event it saw, which for a one-file
upload was the final one, and printed "in 0.0s (2736976.5 MB/s)").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cairn.progress import ProgressEvent
from cairn.protocol import Backend
from cairn.sdk import _adding
from cairn.sdk._artifact_state import ArtifactState
from cairn.sdk.artifact import Artifact
from cairn.storage import writing

LogFn = Callable[..., Artifact]
Heard = list[tuple[ProgressEvent, float]]
DELAY = 0.2


@pytest.fixture
def heard(monkeypatch: pytest.MonkeyPatch) -> Heard:
    """Every event an artifact reports, with the monotonic time it was heard."""
    events: Heard = []

    def record(event: ProgressEvent) -> None:
        events.append((event, time.monotonic()))

    monkeypatch.setattr(ArtifactState, "progress", lambda _self: record)
    return events


def _slowed(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> None:
    real = getattr(owner, name)

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(DELAY)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, slow)


def _check_task(heard: Heard, task: str) -> None:
    events = [(event, at) for event, at in heard if event.task == task]
    assert [event.done for event, _ in events][-1:] == [True]
    assert sum(event.done for event, _ in events) == 1
    assert len({event.started for event, _ in events}) == 1
    final, heard_at = events[-1]
    assert heard_at - final.started >= DELAY


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    (root / "model.bin").write_bytes(b"m" * 300_000)
    return root


@pytest.mark.parametrize("policy", ["mutable", "immutable"])
def test_adding_a_folder_is_timed_from_its_start(
    backend: Backend, folder: Path, heard: Heard, monkeypatch: pytest.MonkeyPatch, policy: str
) -> None:
    if policy == "mutable":
        _slowed(monkeypatch, type(backend), "ingest_files")
    else:
        _slowed(monkeypatch, _adding, "hash_files")
    Artifact("d", "dataset").add_dir(str(folder), policy=policy)
    _check_task(heard, f"Adding directory to artifact ({folder})")


def test_a_one_file_upload_is_timed_from_its_start(
    backend: Backend, folder: Path, heard: Heard, log: LogFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    art = Artifact("d", "dataset")
    art.add_dir(str(folder), policy="immutable")  # not stored yet: uploaded at log time
    slow = "put_blobs" if hasattr(backend, "put_blobs") else "put_blob"
    _slowed(monkeypatch, type(backend), slow)
    log(art)
    _check_task(heard, "Uploading")
    assert [event.files_total for event, _ in heard if event.task == "Uploading"][-1] == 1


def test_downloads_are_timed_from_their_start(
    backend: Backend,
    folder: Path,
    heard: Heard,
    log: LogFn,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    art = Artifact("d", "dataset")
    art.add_dir(str(folder))
    log(art)
    with monkeypatch.context() as patch:  # into a new folder: staged whole (bulk)
        _slowed(patch, type(backend), "export_blobs")
        heard.clear()
        art.download(str(tmp_path / "fresh"))
        _check_task(heard, "Downloading")
    with monkeypatch.context() as patch:  # into a folder with files: one file at a time
        _slowed(patch, writing, "write_file")
        busy = tmp_path / "busy"
        busy.mkdir()
        (busy / "notes.txt").write_text("mine")
        heard.clear()
        art.download(str(busy))
        _check_task(heard, "Downloading")
    assert (busy / "model.bin").read_bytes() == (folder / "model.bin").read_bytes()
