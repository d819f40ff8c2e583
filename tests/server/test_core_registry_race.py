"""A core registry (``model``, ``dataset``) is created on its first use; two first uses
at once must both get it. The race is made certain: the one that loses finds nothing,
then the other's row is there when it inserts (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cairn.server.state import ServerState
from cairn.service import registries

from .conftest import server_config


def test_a_first_use_that_loses_the_race_finds_the_winners_registry(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = ServerState(server_config(db_url, tmp_path))
    try:
        store = state.store
        with store.db.write() as session:
            winner_project, winner = registries.require_registry(session, store, "model")
        real_find = registries._find
        calls: list[str] = []

        def late_find(session: Any, store: Any, name: str) -> Any:
            calls.append(name)
            return None if len(calls) == 1 else real_find(session, store, name)

        monkeypatch.setattr(registries, "_find", late_find)
        with store.db.write() as session:
            project, row = registries.require_registry(session, store, "model")
            assert (project.id, row.id) == (winner_project.id, winner.id)
        assert calls == ["model", "model"]  # it looked again after its insert failed
    finally:
        state.close()
