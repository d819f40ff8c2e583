"""``cairn sync`` and ``cairn mirror``: bad command lines and a missing server are one plain
line each, before anything is opened."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clirun import cairn, one_line_error

if TYPE_CHECKING:
    from pathlib import Path

NOWHERE = ["--base-url", "http://127.0.0.1:9", "--api-key", "k"]


def test_no_server_configured(cairn_dir: Path) -> None:
    one_line_error(cairn("sync"), "No server to copy to or from", "cairn login")
    one_line_error(cairn("mirror", "team/p"), "No server to copy to or from")


def test_bad_selection_and_entity_map(cairn_dir: Path) -> None:
    one_line_error(cairn("sync", "a/b/c/d", *NOWHERE), "Invalid selection 'a/b/c/d'")
    one_line_error(cairn("mirror", "a//b", *NOWHERE), "Invalid selection 'a//b'")
    one_line_error(
        cairn("sync", "p", "--entity-map", "nomap", *NOWHERE), "Invalid --entity-map 'nomap'"
    )
