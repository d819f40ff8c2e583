"""``cairn put/get/ls/show/verify/cache`` end to end through the installed entry point."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _cairn(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``cairn`` console script with this test's environment."""
    exe = shutil.which("cairn") or str(Path(sys.executable).with_name("cairn"))
    environ = os.environ.copy()
    environ.update(env or {})
    return subprocess.run(
        [exe, *args], capture_output=True, text=True, env=environ, timeout=300, check=False
    )


def _ok(*args: str, env: dict[str, str] | None = None) -> str:
    result = _cairn(*args, env=env)
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
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha\n")
    (root / "sub" / "b.csv").write_text("x,y\n1,2\n")
    (root / "big.bin").write_bytes(bytes(range(256)) * 1_200)  # a loose blob in the store
    return root


def test_put_ls_show_get_verify(cairn_dir: Path, tmp_path: Path, data: Path) -> None:
    put_args = ["put", str(data), "--name", "ds", "--type", "dataset", "--alias", "best"]
    put_args += ["--tag", "nightly", "--project", "proj", "--description", "two files"]
    logged = json.loads(_ok(*put_args, "--metadata", '{"rows": 1}', "--json"))
    assert logged["name"] == "tester/proj/ds:v0"
    assert sorted(logged["aliases"]) == ["best", "latest"]
    assert logged["tags"] == ["nightly"]
    assert logged["metadata"] == {"rows": 1}
    assert logged["file_count"] == 3

    again = _ok("put", str(data), "--name", "ds", "--project", "proj")
    assert "tester/proj/ds:v0" in again  # same content: the digest no-op, no v1

    _ok("put", str(data / "a.txt"), "--name", "model-a", "--type", "model", "--project", "proj")
    listing = _ok("ls", "tester/proj")
    assert "tester/proj/ds  dataset  1 version" in listing
    assert "tester/proj/model-a  model  1 version" in listing
    rows = json.loads(_ok("ls", "proj", "--type", "model", "--json"))
    assert [row["name"] for row in rows] == ["tester/proj/model-a"]

    shown = _ok("show", "proj/ds:best")
    for needle in ("tester/proj/ds:v0", "best", "nightly", '{"rows": 1}', "sub/b.csv", "v0"):
        assert needle in shown
    details = json.loads(_ok("show", "proj/ds:v0", "--json"))
    assert sorted(f["path"] for f in details["files"]) == ["a.txt", "big.bin", "sub/b.csv"]
    assert [v["version"] for v in details["versions"]] == ["v0"]

    out = _ok("get", "proj/ds:latest")
    root = tmp_path / "artifacts" / "ds:v0"
    assert str(root) in out
    assert (root / "sub" / "b.csv").read_text() == "x,y\n1,2\n"
    assert "every file matches" in _ok("verify", "proj/ds:v0")

    linked = tmp_path / "linked"
    got = json.loads(_ok("get", "proj/ds", "--root", str(linked), "--link", "--json"))
    assert got["root"] == str(linked)
    assert os.stat(linked / "big.bin").st_nlink == 2  # shares the store's read-only inode
    _ok("verify", "proj/ds", "--root", str(linked))

    only = tmp_path / "only-sub"
    _ok("get", "proj/ds", "--root", str(only), "--prefix", "sub/")
    assert sorted(p.name for p in only.rglob("*") if p.is_file()) == ["b.csv"]

    (root / "a.txt").write_text("tampered\n")
    _one_line_error(_cairn("verify", "proj/ds:v0"), "Digest mismatch for file: a.txt")


def test_expected_errors_are_one_line_and_write_nothing(
    cairn_dir: Path, tmp_path: Path, data: Path
) -> None:
    _one_line_error(_cairn("show", "proj/nope:v3"), "not found")
    _one_line_error(_cairn("get", "proj/nope"), "not found")
    _one_line_error(_cairn("put", str(tmp_path / "missing")), "No such file or directory")
    _one_line_error(_cairn("put", str(data), "--metadata", "[1, 2]"), "JSON object")
    _one_line_error(_cairn("put", str(data), "--metadata", "{oops"), "not valid JSON")
    _one_line_error(_cairn("put", str(data), "--alias", "a/b"), "Aliases must not contain")
    _one_line_error(_cairn("put", str(data), "--type", "job"), "reserved")
    _one_line_error(_cairn("ls", "a/b/c"), "Invalid project path")
    _one_line_error(_cairn("cache", "cleanup", "--max-size", "lots"), "Invalid size 'lots'")
    # Nothing was written by the refused puts: not even the project exists.
    _one_line_error(_cairn("ls", "uncategorized"), "project 'tester/uncategorized' not found")
    assert _ok("ls", "--json") == "[]\n"
    usage = _cairn("put")
    assert usage.returncode == 2 and "Missing argument 'PATH'" in usage.stderr


def test_help_on_every_command_and_shell_completion() -> None:
    commands = [
        ("put",), ("get",), ("ls",), ("show",), ("verify",), ("cache",), ("cache", "ls"),
        ("cache", "cleanup"), ("demo",), ("fsck",),
    ]  # fmt: skip
    top = _ok("--help")
    for command in commands:
        assert command[0] in top
        result = _cairn(*command, "--help")
        assert result.returncode == 0 and "Usage:" in result.stdout, command
        if command not in (("cache",),):
            assert "--json" in result.stdout
    script = _ok(env={"_CAIRN_COMPLETE": "bash_source"})
    assert "_CAIRN_COMPLETE=bash_complete" in script and "complete " in script
    words = _ok(
        env={"_CAIRN_COMPLETE": "bash_complete", "COMP_WORDS": "cairn ca", "COMP_CWORD": "1"}
    )
    assert "cache" in words


def test_progress_goes_to_stderr_and_quiet_or_silent_turns_it_off(
    cairn_dir: Path, data: Path
) -> None:
    loud = _cairn("put", str(data), "--name", "p1", env={"CAIRN_SILENT": ""})
    assert loud.returncode == 0, loud.stderr
    # one summary line, not a TTY
    assert "3 files" in loud.stderr and re.search(r"[KMGT]?B/s\)", loud.stderr)
    assert "logged tester/uncategorized/p1:v0" in loud.stdout
    quiet = _cairn("get", "p1", "--quiet", env={"CAIRN_SILENT": ""})
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert quiet.stdout.strip().endswith("p1:v0")  # just the path
    silent = _cairn("put", str(data), "--name", "p2", env={"CAIRN_SILENT": "true"})
    assert silent.returncode == 0 and silent.stderr == ""


def test_cache_ls_and_cleanup(cairn_dir: Path, tmp_path: Path) -> None:
    from cairn.core.digest import digest_bytes
    from cairn.storage.cache.client_cache import ClientCache

    cache_root = tmp_path / "cache"  # CAIRN_CACHE_DIR of the cairn_dir fixture
    cache = ClientCache(cache_root, max_bytes=10**9)
    blobs = [bytes([i]) * 1_000 for i in range(5)]
    for data in blobs:
        path = cache.path_for_digest(digest_bytes(data), "md5")
        cache.put_atomic(path, lambda tmp, data=data: tmp.write_bytes(data))  # type: ignore[misc]
        time.sleep(0.01)
    staging = cairn_dir / "blobs" / "tmp"
    staging.mkdir(parents=True)
    crashed = staging / "1234-1-dead.tmp"
    crashed.write_bytes(b"z" * 500)
    past = time.time() - 7200
    os.utime(crashed, (past, past))

    env = {"CAIRN_CACHE_MAX_BYTES": "4KB"}
    listing = json.loads(_ok("cache", "ls", "--json", env=env))
    assert listing["max_bytes"] == 4_000 and listing["bytes"] == 5_000
    assert listing["file_count"] == 5
    assert "5 files, 5.0 KB (cap 4.0 KB)" in _ok("cache", "ls", env=env)

    dry = _ok("cache", "cleanup", "--dry-run", env=env)
    assert "remove 1 cached files" in dry and "1 leftover file " in dry
    assert "Would reclaim 1.5 KB of space" in dry
    assert crashed.exists()

    done = json.loads(_ok("cache", "cleanup", "--max-size", "2KB", "--json"))
    assert done["evict_files"] == 3 and done["staging_files"] == 1
    assert done["reclaimed_bytes"] == 3_500
    assert not crashed.exists()
    assert cache.usage() == 2_000
    kept = {p.read_bytes()[:1] for p in (cache_root / "obj").rglob("*") if p.is_file()}
    assert kept == {b"\x03", b"\x04"}  # the most recently used survive


def test_put_a_reference_and_get_it_back(cairn_dir: Path, tmp_path: Path, data: Path) -> None:
    logged = json.loads(_ok("put", f"file://{data}", "--name", "refs", "--json"))
    assert logged["file_count"] == 3
    shown = _ok("show", "refs:v0")
    assert f"-> file://{data}/sub/b.csv" in shown
    root = Path(_ok("get", "refs", "--quiet").strip())
    assert (root / "sub" / "b.csv").read_text() == "x,y\n1,2\n"


def test_cache_cleanup_drops_the_staged_copies_of_drafts_never_logged(
    cairn_dir: Path, tmp_path: Path
) -> None:
    from cairn.storage.local.blobs import LocalBlobStore

    staging = LocalBlobStore(tmp_path / "cache" / "staging")  # <CAIRN_CACHE_DIR>/staging
    old = staging.put_bytes(b"a draft of two days ago" * 1000).path
    small = []
    for i in range(3):
        small.append(tmp_path / f"small{i}")
        small[-1].write_bytes(bytes([i]) * 100)
    staging.ingest_many(small, "md5")
    (pack,) = (tmp_path / "cache" / "staging" / "packs").glob("*.pack")
    fresh = staging.put_bytes(b"a draft of today" * 1000).path
    past = time.time() - 2 * 86400
    for path in (old, pack):
        os.utime(path, (past, past))
    old_bytes = old.stat().st_size + pack.stat().st_size

    dry = json.loads(_ok("cache", "cleanup", "--dry-run", "--json"))
    assert dry["draft_staging_files"] == 2 and dry["reclaimed_bytes"] == old_bytes
    assert old.exists() and pack.exists()
    assert "drafts never logged" in _ok("cache", "cleanup", "--dry-run")

    done = json.loads(_ok("cache", "cleanup", "--json"))
    assert done["draft_staging_files"] == 2 and done["reclaimed_bytes"] == old_bytes
    assert not old.exists() and not pack.exists() and not pack.with_suffix(".idx").exists()
    assert fresh.exists()
