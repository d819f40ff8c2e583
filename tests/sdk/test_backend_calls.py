"""The SDK hands a backend whole versions: one byte-moving call to log, one to download.

A recording backend wraps the real one the SDK uses (embedded, or the remote one in server
mode) and counts the calls the SDK makes, by verb. Logging (``Artifact.save``,
``Run.log_artifact``) makes exactly one call that moves bytes, ``log``; every download
(``Artifact.download``, ``checkout``, an entry's or file's download, one through an
artifact reference) exactly one, ``materialize``. Nothing else that moves bytes is asked
of the backend: the per-blob steps are the backend's own business.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cairn.connect  # noqa: F401  (registers the backends, as ``import cairn`` does)
from cairn.protocol import Backend
from cairn.sdk import backend_cache
from cairn.sdk.artifact import Artifact
from cairn.sdk.run import init

# Every verb that moves bytes, the protocol's and the per-blob steps behind them.
BYTE_MOVING = frozenset(
    {
        "log",
        "materialize",
        "ingest_file",
        "ingest_files",
        "missing_blobs",
        "put_blob",
        "put_blobs",
        "commit_version",
        "add_version_part",
        "fetch_blob",
        "export_blobs",
        "local_blob_path",
    }
)


class Recording:
    """The real backend, with each method call counted by name."""

    def __init__(self, real: Backend) -> None:
        self._real = real
        self.calls: collections.Counter[str] = collections.Counter()

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._real, name)
        if not callable(value):
            return value

        def recorded(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return value(*args, **kwargs)

        return recorded

    def moved(self) -> dict[str, int]:
        """The byte-moving calls since the last ``moved``, by verb (then forgotten)."""
        moving = {name: count for name, count in self.calls.items() if name in BYTE_MOVING}
        self.calls.clear()
        return moving


@pytest.fixture
def recording(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Recording:
    """The SDK's backend for this test's settings, recorded."""
    wrapped = Recording(backend)
    monkeypatch.setitem(backend_cache._backends, backend.settings, wrapped)  # type: ignore[arg-type]
    return wrapped


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    for index in range(12):  # small files (packed in the embedded store) and a larger one
        (root / "sub" / f"f{index}.txt").write_text(f"file {index}\n")
    (root / "big.bin").write_bytes(bytes(range(256)) * 2048)
    return root


def _draft(folder: Path, name: str = "d") -> Artifact:
    art = Artifact(name, "dataset")
    art.add_dir(str(folder))
    art.add_file(str(folder / "big.bin"), name="copy/big.bin", policy="immutable")
    return art


def test_save_and_log_artifact_each_make_one_log_call(recording: Recording, folder: Path) -> None:
    saved = _draft(folder)
    recording.moved()  # adding copies files in (``ingest_files``): not logging
    saved.save(project="proj")
    assert recording.moved() == {"log": 1}
    assert saved.version == "v0"

    logged = _draft(folder, "other")
    logged.add_file(str(folder / "sub" / "f0.txt"), name="late.txt")
    recording.moved()
    with init(project="proj", job_type="train") as run:
        run.log_artifact(logged)
        assert recording.moved() == {"log": 1}
    assert logged.version == "v0"

    again = _draft(folder)  # the same content again: a digest no-op, still one call
    recording.moved()
    with pytest.warns(UserWarning, match="already exists with the same content"):
        again.save(project="proj")
    assert recording.moved() == {"log": 1}
    assert again.version == "v0"


def _each_download(logged: Artifact, tmp_path: Path) -> dict[str, Callable[[], object]]:
    def path_download() -> str:
        with pytest.warns(DeprecationWarning, match="get_path"):
            entry = logged.get_path("sub/f3.txt")
        return entry.download(str(tmp_path / "p"))

    return {
        "download into a new folder": lambda: logged.download(tmp_path / "new"),
        "download over files": lambda: logged.download(tmp_path / "new"),
        "linked download": lambda: logged.download(tmp_path / "linked", link=True),
        "checkout": lambda: logged.checkout(str(tmp_path / "checkout")),
        "entry download": lambda: logged.get_entry("big.bin").download(str(tmp_path / "e")),
        "path download": path_download,
        "file download": lambda: next(iter(logged.files())).download(str(tmp_path / "f")),
    }


def test_every_download_makes_one_materialize_call(
    recording: Recording, folder: Path, tmp_path: Path
) -> None:
    logged = _draft(folder)
    logged.save(project="proj")
    for what, download in _each_download(logged, tmp_path).items():
        recording.moved()
        download()
        assert recording.moved() == {"materialize": 1}, what
    assert (tmp_path / "new" / "sub" / "f3.txt").read_text() == "file 3\n"
    assert (tmp_path / "checkout" / "copy" / "big.bin").read_bytes() == (
        folder / "big.bin"
    ).read_bytes()


def test_artifact_references_are_materialized_with_the_rest(
    recording: Recording, folder: Path, tmp_path: Path
) -> None:
    target = _draft(folder)
    target.save(project="proj")
    referring = Artifact("refs", "dataset")
    referring.add_reference(target.get_entry("sub/f5.txt").ref_url(), name="five.txt")
    referring.add_file(str(folder / "sub" / "f6.txt"), name="six.txt")
    referring.save(project="proj")
    recording.moved()
    referring.download(tmp_path / "out")
    assert recording.moved() == {"materialize": 1}
    assert (tmp_path / "out" / "five.txt").read_text() == "file 5\n"
    assert (tmp_path / "out" / "six.txt").read_text() == "file 6\n"


def test_the_protocol_moves_bytes_only_in_whole_steps() -> None:
    verbs = {name for name in vars(Backend) if not name.startswith("_")}
    assert verbs & BYTE_MOVING == {"log", "materialize", "ingest_file", "ingest_files"}
