"""The ``cairn`` command end to end, through its installed entry point."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _cairn(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``cairn`` console script (the one ``pip install`` put on PATH)."""
    exe = shutil.which("cairn") or str(Path(sys.executable).with_name("cairn"))
    return subprocess.run(
        [exe, *args],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=300,
    )


def test_demo_versions_lists_downloads_and_verifies(cairn_dir: Path, tmp_path: Path) -> None:
    result = _cairn("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "logged tester/cairn-demo/demo-dataset:v0" in out
    assert "logged tester/cairn-demo/demo-dataset:v1" in out
    assert "demo-dataset:v0" in out and "demo-dataset:v1" in out
    assert "verified every byte" in out
    downloaded = tmp_path / "artifacts" / "demo-dataset:v0"
    assert (downloaded / "shards" / "part-000.csv").is_file()
    assert (downloaded / "README.txt").read_text() == "demo data set, seed 1\n"
    assert (cairn_dir / "cairn.db").is_file()


def test_fsck_clean_store_after_demo(cairn_dir: Path) -> None:
    assert _cairn("demo").returncode == 0
    result = _cairn("fsck", "--read-data")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "problem:" not in result.stdout
    assert "no problems" in result.stdout


def _put_large_file(tmp_path: Path, cairn_dir: Path) -> Path:
    """Log one file large enough to be a loose blob; return that blob's path in the store."""
    data = bytes(range(256)) * 4096  # 1 MiB
    source = tmp_path / "weights.bin"
    source.write_bytes(data)
    assert _cairn("put", str(source), "--name", "weights", "--type", "model").returncode == 0
    hex_digest = hashlib.md5(data).hexdigest()
    blob = cairn_dir / "blobs" / "md5" / hex_digest[:2] / hex_digest[2:]
    assert blob.is_file()
    return blob


def test_fsck_names_a_corrupted_blob(cairn_dir: Path, tmp_path: Path) -> None:
    blob = _put_large_file(tmp_path, cairn_dir)
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes()[:-1] + b"X")
    assert _cairn("fsck").returncode == 0  # presence only: still there
    result = _cairn("fsck", "--read-data")
    assert result.returncode == 1
    assert f"blob {blob} is corrupt" in result.stdout


def test_fsck_names_a_missing_blob(cairn_dir: Path, tmp_path: Path) -> None:
    blob = _put_large_file(tmp_path, cairn_dir)
    blob.unlink()
    result = _cairn("fsck")
    assert result.returncode == 1
    assert "missing" in result.stdout and "weights.bin" in result.stdout


def test_unusable_store_is_one_clear_line(
    cairn_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("CAIRN_DIR", str(blocker))
    result = _cairn("demo")
    assert result.returncode == 1
    assert str(blocker) in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_help_on_every_command() -> None:
    for args in ((), ("demo",), ("fsck",)):
        result = _cairn(*args, "--help")
        assert result.returncode == 0
        assert "Usage:" in result.stdout
