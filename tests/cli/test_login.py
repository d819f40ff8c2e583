"""``cairn login`` through the entry point: the key is checked, saved 0600, and then used."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cairn.settings import Settings, credentials_path
from serverproc import ServerProcess


def _cairn(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cairn.cli", *args], capture_output=True, text=True, timeout=120
    )


def test_login_saves_url_and_key_for_later_commands(
    cairn_dir: Path, cairn_server_sqlite: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = cairn_server_sqlite
    monkeypatch.delenv("CAIRN_ENTITY")
    refused = _cairn("login", "--base-url", server.url, "--api-key", "cairn_wrong")
    assert refused.returncode == 1 and refused.stderr == "Error: invalid or revoked API key\n"
    assert not credentials_path().exists()

    done = _cairn("login", "--base-url", server.url + "/", "--api-key", server.admin_key, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["user"] == "root"
    path = credentials_path()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert json.loads(path.read_text()) == {"base_url": server.url, "api_key": server.admin_key}

    import cairn.connect  # noqa: F401  (asks the server who the key's user is)

    settings = Settings.load()
    assert (settings.mode, settings.base_url, settings.api_key) == (
        "server",
        server.url,
        server.admin_key,
    )
    assert settings.entity == "root"
    # Later commands use the saved server, in the key's user's entity.
    project = f"p-{os.getpid()}-{id(settings)}"
    (cairn_dir.parent / "notes.txt").write_text("from the cli")
    put = _cairn("put", "notes.txt", "--project", project, "--json", "--quiet")
    assert put.returncode == 0, put.stderr
    got = _cairn("get", f"{project}/notes.txt:latest", "--root", "out", "--quiet")
    assert got.returncode == 0, got.stderr
    assert (cairn_dir.parent / "out" / "notes.txt").read_text() == "from the cli"
    # The environment and overrides win, and the saved key never goes to another server.
    assert Settings.load({"base_url": "http://127.0.0.1:9", "entity": "x"}).api_key is None
    monkeypatch.setenv("CAIRN_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("CAIRN_ENTITY", "someone")
    assert Settings.load().api_key is None
    monkeypatch.setenv("CAIRN_API_KEY", "cairn_env")
    assert Settings.load().api_key == "cairn_env"


def test_a_broken_credentials_file_is_named(cairn_dir: Path) -> None:
    path = credentials_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with pytest.raises(ValueError, match="credentials file"):
        Settings.load()
