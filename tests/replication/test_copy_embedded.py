"""The copy engine between two embedded stores: what a copy keeps, numbering, conflicts,
repeats (the rules of ``service/replication.py``, through ``replication.engine``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import cairn.connect  # noqa: F401  (registers the backends)
from cairn.protocol import Backend
from cairn.replication.engine import Engine, Options
from cairn.replication.source import BackendSource, Selection
from cairn.service.backend import EmbeddedBackend
from cairn.settings import Settings
from replication_seed import PROJECT, seed


def _store(path: Path) -> EmbeddedBackend:
    return EmbeddedBackend(Settings.load({"cairn_dir": path}))


@pytest.fixture
def source(cairn_dir: Path, tmp_path: Path) -> Backend:
    seed(tmp_path)
    from cairn.sdk.backend_cache import backend_for

    return backend_for()


def _copy(source: Backend, dest: Backend, **options: object) -> object:
    return Engine(BackendSource(source, Selection()), dest, Options(**options)).run()  # type: ignore[arg-type]


def test_everything_is_copied_once(source: Backend, tmp_path: Path) -> None:
    dest = _store(tmp_path / "dest")
    summary = _copy(source, dest)
    assert summary.versions == 4 and summary.collections == 2 and summary.runs == 2
    assert not summary.conflicts and not summary.renumbered
    for index in range(3):
        here = source.resolve_version("tester", PROJECT, "data", f"v{index}")
        there = dest.resolve_version("tester", PROJECT, "data", f"v{index}")
        assert (there.digest, there.created_at) == (here.digest, here.created_at)
        assert (there.aliases, there.tags, there.metadata) == (
            here.aliases,
            here.tags,
            here.metadata,
        )
        assert there.description == here.description
        assert (there.ttl_duration_seconds, there.ttl_is_inherited) == (
            here.ttl_duration_seconds,
            here.ttl_is_inherited,
        )
        assert dest.read_manifest(there.id) == source.read_manifest(here.id)
    model = dest.resolve_version("tester", PROJECT, "model", "v0")
    lineage = dest.lineage(model.id)
    assert lineage.logged_by is not None and lineage.logged_by.id == "r2"
    used = dest.lineage(dest.resolve_version("tester", PROJECT, "data", "best").id)
    assert [run.id for run in used.used_by] == ["r2"]
    links = dest.list_links(model.id, 10)
    assert [(link.project, link.collection, link.aliases) for link in links] == [
        ("wandb-registry-model", "champions", ["latest", "prod"])
    ]
    run = dest.get_run("tester", PROJECT, "r1")
    assert run.config == {"lr": 0.1} and run.last_step == 2
    assert [row["loss"] for row in dest.read_history("tester", PROJECT, "r1")] == [1.0, 0.5, 1 / 3]
    again = _copy(source, dest)
    assert (again.versions, again.updated, again.unchanged, again.runs) == (0, 0, 4, 0)
    # the sync record on both sides: 4 copies out of the source, 4 into the destination
    assert _records(source.settings.cairn_dir) == {"out": 4}
    assert _records(dest.settings.cairn_dir) == {"in": 4}


def _records(store: Path) -> dict[str, int]:
    with sqlite3.connect(store / "cairn.db") as db:
        rows = db.execute("SELECT direction, count(*) FROM replica GROUP BY direction")
        return dict(rows.fetchall())
