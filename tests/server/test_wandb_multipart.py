"""Completing the wandb client's multipart uploads to a directory store (``parts``), when
requests overlap as they do on a loaded machine.

The client repeats a ``completeMultipartUploadArtifact`` that outlives its timeout while
the first one still runs. The first one used to join the parts in place, deleting each as
it went, so the repeat answered "parts [...] of the upload were never received" though
every part PUT had answered 200 (``test_flows.test_wandb_multipart_upload`` failed so,
once, in a fresh-clone run). Here the first completion is held just before it stores the
joined file, until the repeat has either failed (the old code) or is waiting for the
first (now), so the overlap happens every time.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from cairn.core.digest import digest_bytes
from cairn.server.wandb_compat import parts, uploads
from cairn.service.blob_access import BlobGrant
from cairn.storage.blobstores.directory import DirectoryServerStore
from cairn.storage.local.blobs import LocalBlobStore

UPLOAD = "0123456789abcdef01234567"
NO_STORE = cast(Any, None)  # a directory store's completion needs no database


def _grant(tmp_path: Path) -> BlobGrant:
    store = DirectoryServerStore(tmp_path / "store")
    return BlobGrant("team", "write", "key", store.area("team"), store)


def _received(grant: BlobGrant, chunks: list[bytes]) -> list[dict[str, Any]]:
    """The parts as the part PUTs leave them; the completion's ``completedParts``."""
    assert isinstance(grant.area, LocalBlobStore)
    where = parts.folder(grant.area, UPLOAD)
    where.mkdir()
    completed = []
    for number, chunk in enumerate(chunks, 1):
        md5 = hashlib.md5(chunk).hexdigest()
        (where / f"{number}.{md5}").write_bytes(chunk)
        completed.append({"partNumber": number, "hexMD5": f'"{md5}"'})  # ETags, quoted
    return completed


def _in_thread(name: str, work: Callable[[], None], errors: dict[str, BaseException]) -> Any:
    def run() -> None:
        try:
            work()
        except BaseException as exc:  # reported by the test
            errors[name] = exc

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60  # a safety net only: the events come at once
    while not condition():
        assert time.monotonic() < deadline, "the other completion never got going"
        time.sleep(0.005)


def test_a_repeated_completion_waits_for_the_first_and_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grant = _grant(tmp_path)
    chunks = [os.urandom(64 * 1024) for _ in range(3)]
    data = b"".join(chunks)
    hexdigest = hashlib.md5(data).hexdigest()
    completed = _received(grant, chunks)
    first_storing = threading.Event()
    repeat_done, repeat_waiting = threading.Event(), threading.Event()
    real_adopt, real_flock = LocalBlobStore.adopt, fcntl.flock

    def held_adopt(self: LocalBlobStore, *args: Any) -> Any:
        if threading.current_thread().name == "first":  # joined, not stored yet
            first_storing.set()
            _wait_for(lambda: repeat_done.is_set() or repeat_waiting.is_set())
        return real_adopt(self, *args)

    def watched_flock(fd: int, operation: int) -> None:
        if threading.current_thread().name == "repeat":
            repeat_waiting.set()
        real_flock(fd, operation)

    monkeypatch.setattr(LocalBlobStore, "adopt", held_adopt)
    monkeypatch.setattr(fcntl, "flock", watched_flock)
    errors: dict[str, BaseException] = {}

    def complete() -> None:
        uploads.complete(NO_STORE, grant, hexdigest, UPLOAD, completed, abort=False)

    first = _in_thread("first", complete, errors)
    _wait_for(first_storing.is_set)

    def repeat() -> None:
        try:
            complete()
        finally:
            repeat_done.set()

    second = _in_thread("repeat", repeat, errors)
    for thread in (first, second):
        thread.join(60)
        assert not thread.is_alive()
    assert errors == {}
    assert grant.area.read_bytes(digest_bytes(data), "md5") == data
    assert not parts.folder(cast(LocalBlobStore, grant.area), UPLOAD).exists()


def test_a_completion_that_fails_midway_keeps_the_parts_for_a_repeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grant = _grant(tmp_path)
    chunks = [os.urandom(10_000), os.urandom(5_000)]
    data = b"".join(chunks)
    completed = _received(grant, chunks)
    real_adopt = LocalBlobStore.adopt

    def full_disk(self: LocalBlobStore, *args: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(LocalBlobStore, "adopt", full_disk)
    with pytest.raises(OSError, match="No space left"):
        uploads.complete(
            NO_STORE, grant, hashlib.md5(data).hexdigest(), UPLOAD, completed, abort=False
        )
    monkeypatch.setattr(LocalBlobStore, "adopt", real_adopt)
    uploads.complete(NO_STORE, grant, hashlib.md5(data).hexdigest(), UPLOAD, completed, abort=False)
    assert grant.area.read_bytes(digest_bytes(data), "md5") == data
    area = cast(LocalBlobStore, grant.area)
    assert [p.name for p in area.tmp_dir.iterdir()] == []  # no parts, no joined file left
