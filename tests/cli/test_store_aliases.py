"""Aliases the store keeps for itself (``vN``, and ``latest`` off the newest version) are
refused by the CLI with one line and exit 1, and nothing is said to be added that was not."""

from __future__ import annotations

from pathlib import Path

import pytest

from clirun import cairn, ok, ok_json, one_line_error


@pytest.fixture
def two_versions(cairn_dir: Path, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("one\n")
    ok("put", str(data), "--project", "proj")
    (data / "a.txt").write_text("two\n")
    ok("put", str(data), "--project", "proj")
    return data


def test_a_version_number_is_not_an_alias(two_versions: Path) -> None:
    refused = cairn("alias", "add", "proj/data:v1", "v0")
    one_line_error(refused, "'v0' is a version number, not an alias")
    assert "added" not in refused.stdout
    assert ok_json("show", "proj/data:v1")["aliases"] == ["latest"]

    (two_versions / "a.txt").write_text("three\n")
    refused = cairn("put", str(two_versions), "--project", "proj", "--alias", "v3")
    one_line_error(refused, "'v3' is a version number")
    assert [v["version"] for v in ok_json("show", "proj/data:latest")["versions"]] == [
        "v1",
        "v0",
    ]  # nothing was logged
    one_line_error(
        cairn("link", "proj/data:v0", "portfolio", "--alias", "v7"), "'v7' is a version number"
    )


def test_latest_stays_on_the_newest_version(two_versions: Path) -> None:
    refused = cairn("alias", "add", "proj/data:v0", "latest")
    one_line_error(refused, "'latest' always names the newest version of data (v1)", "proj/data:v0")
    assert "added" not in refused.stdout
    assert ok_json("show", "proj/data:v0")["aliases"] == []
    same = ok("alias", "add", "proj/data:v1", "latest")
    assert "already has alias 'latest'" in same and "added" not in same
    assert ok_json("alias", "add", "proj/data:v1", "latest")["changed"] is False


def test_an_alias_really_added_is_reported(two_versions: Path) -> None:
    added = ok_json("alias", "add", "proj/data:v0", "best")
    assert added["changed"] is True and added["aliases"] == ["best"]
    assert "already has alias 'best'" in ok("alias", "add", "proj/data:v0", "best")
    assert "added alias 'gold' to tester/proj/data:v0" in ok("alias", "add", "proj/data:v0", "gold")
