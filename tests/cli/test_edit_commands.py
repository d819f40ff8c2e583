"""``cairn alias/tag/link/delete/gc`` end to end through the installed entry point."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _cairn(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("cairn") or str(Path(sys.executable).with_name("cairn"))
    return subprocess.run(
        [exe, *args], capture_output=True, text=True, env=os.environ.copy(), timeout=300
    )


def _ok(*args: str) -> str:
    result = _cairn(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.fixture
def two_versions(cairn_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "big.bin").write_bytes(os.urandom(300_000))  # a loose blob, freed by gc later
    (data / "a.txt").write_text("one\n")
    _ok("put", str(data), "--name", "ds", "--alias", "best")
    (data / "big.bin").write_bytes(os.urandom(300_000))
    (data / "a.txt").write_text("two\n")
    _ok("put", str(data), "--name", "ds")


def test_alias_and_tag_edits(two_versions: None) -> None:
    assert "aliases=best,prod" in _ok("alias", "add", "ds:v0", "prod")
    moved = json.loads(_ok("alias", "add", "ds:v1", "prod", "--json"))
    assert sorted(moved["aliases"]) == ["latest", "prod"]  # an alias lives on one version
    assert json.loads(_ok("show", "ds:v0", "--json"))["aliases"] == ["best"]
    assert "prod" not in json.loads(_ok("alias", "rm", "ds:v1", "prod", "--json"))["aliases"]
    _one_line_error(_cairn("alias", "rm", "ds:v1", "prod"), "has no alias 'prod'")
    _one_line_error(_cairn("alias", "add", "ds:v1", "a:b"), "Aliases must not contain")

    assert "tags=gold" in _ok("tag", "add", "ds:v0", "gold")
    assert json.loads(_ok("show", "ds:v0", "--json"))["tags"] == ["gold"]
    assert "tags=-" in _ok("tag", "rm", "ds:v0", "gold")
    _one_line_error(_cairn("tag", "add", "ds:v0", "bad tag!"), "Invalid tag")
    _one_line_error(_cairn("tag", "add", "nope:v0", "x"), "not found")


def test_show_has_lineage(two_versions: None) -> None:
    details = json.loads(_ok("show", "ds:v1", "--json"))
    assert details["lineage"]["logged_by"]["job_type"] == "cairn-put"
    assert details["lineage"]["used_by"] == []
    assert "logged by    tester/uncategorized/" in _ok("show", "ds:v1")


def test_link_delete_and_gc(two_versions: None, cairn_dir: Path) -> None:
    linked = json.loads(_ok("link", "ds:v1", "portfolio", "--alias", "staging", "--json"))
    assert linked["name"] == "tester/uncategorized/portfolio:v0"
    assert linked["is_link"] and "staging" in linked["aliases"]
    assert "tester/uncategorized/portfolio" in _ok("ls", "uncategorized")

    _one_line_error(_cairn("delete", "ds:v0"), "has aliases")
    assert "deleted tester/uncategorized/ds:v0" in _ok("delete", "ds:v0", "--delete-aliases")
    _one_line_error(_cairn("show", "ds:v0"), "not found")
    assert "unlinked" in _ok("delete", "portfolio:v0")
    assert "ds:v1" in _ok("show", "ds:v1")  # the source of the link stays

    dry = json.loads(_ok("gc", "--dry-run", "--grace-seconds", "0", "--json"))
    assert dry["planned_files"] >= 1 and dry["planned_bytes"] >= 300_000
    assert "unreferenced blob(s)" in _ok("gc", "--dry-run", "--grace-seconds", "0")
    done = json.loads(_ok("gc", "--grace-seconds", "0", "--json"))
    assert done["freed_bytes"] >= 300_000
    assert "no problems" in _ok("fsck", "--read-data")
    _ok("get", "ds:v1")
    _ok("verify", "ds:v1")


def test_help_on_the_edit_commands() -> None:
    for command in (("alias",), ("alias", "add"), ("alias", "rm"), ("tag",), ("tag", "add"),
                    ("tag", "rm"), ("link",), ("delete",), ("gc",)):  # fmt: skip
        result = _cairn(*command, "--help")
        assert result.returncode == 0 and "Usage:" in result.stdout, command
