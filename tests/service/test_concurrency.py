"""Eight processes committing to one collection at once get v0..v7, and none fails."""

from __future__ import annotations

import importlib
import multiprocessing
from pathlib import Path

import pytest

from cairn.service.backend import EmbeddedBackend
from cairn.settings import Settings

WRITERS = 8


@pytest.mark.slow
@pytest.mark.parametrize("open_first", [True, False], ids=["open-then-race", "race-on-fresh-store"])
def test_concurrent_commits_get_consecutive_indices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_first: bool
) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    worker = importlib.import_module("commit_worker")
    cairn_dir = tmp_path / "store"
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results = context.Queue()
    processes = [
        context.Process(
            target=worker.commit_once, args=(str(cairn_dir), n, open_first, start, results)
        )
        for n in range(WRITERS)
    ]
    for process in processes:
        process.start()
    start.set()
    outcomes = dict(results.get(timeout=180) for _ in processes)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0

    errors = {n: value for n, value in outcomes.items() if not isinstance(value, int)}
    assert errors == {}
    assert sorted(outcomes.values()) == list(range(WRITERS))

    settings = Settings.load({"cairn_dir": cairn_dir, "entity": "tester"}, environ={})
    backend = EmbeddedBackend(settings)
    try:
        page = backend.list_versions("tester", "race", "shared", None, 100)
        assert [v.version_index for v in page.items] == list(range(WRITERS - 1, -1, -1))
        for n, index in outcomes.items():
            assert (
                backend.resolve_version("tester", "race", "shared", f"writer-{n}").version_index
                == index
            )
        latest = backend.resolve_version("tester", "race", "shared", "latest")
        assert latest.version_index == WRITERS - 1
    finally:
        backend.close()
