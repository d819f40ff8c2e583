"""``cairn.login``: nothing to do for the embedded store; against a server, the key is
checked and saved where ``cairn login`` saves it; a key that is not Cairn's is never sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cairn
from cairn.errors import AuthenticationError, UsageError
from cairn.settings import Settings, credentials_path
from serverproc import ServerProcess, use_server


def test_embedded_login_needs_nothing_and_stores_nothing(cairn_dir: Path) -> None:
    assert cairn.login() is True
    assert cairn.login(key="0123456789abcdef" * 3, relogin=True, timeout=3) is True
    assert not credentials_path().exists()
    with cairn.init(project="p"), pytest.warns(UserWarning, match="after wandb.init"):
        assert cairn.login() is False


def test_server_login_checks_and_saves_the_key(
    cairn_dir: Path, cairn_server_sqlite: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = cairn_server_sqlite
    use_server(server, monkeypatch)
    assert cairn.login() is True  # CAIRN_BASE_URL + CAIRN_API_KEY: checked, nothing to save
    assert not credentials_path().exists()
    with pytest.warns(UserWarning, match="not a Cairn API key"):
        assert cairn.login(key="0123456789abcdef" * 3) is True  # a W&B key: never sent
    with pytest.raises(AuthenticationError):
        cairn.login(key="cairn_nosuchkey_secret")
    assert not credentials_path().exists()
    monkeypatch.delenv("CAIRN_BASE_URL")
    monkeypatch.delenv("CAIRN_API_KEY")
    with pytest.raises(ValueError, match="http"):
        cairn.login(host="ftp://example.org", key=server.admin_key)
    assert cairn.login(host=server.url + "/", key=server.admin_key) is True
    saved = json.loads(credentials_path().read_text())
    assert saved == {"base_url": server.url, "api_key": server.admin_key}
    assert credentials_path().stat().st_mode & 0o777 == 0o600
    loaded = Settings.load()  # later sessions use the saved server and key
    assert (loaded.base_url, loaded.api_key) == (server.url, server.admin_key)
    assert cairn.login() is True


def test_server_login_without_a_key(
    cairn_dir: Path, cairn_server_sqlite: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_BASE_URL", cairn_server_sqlite.url)
    assert cairn.login(prompt=False) is False
    with pytest.raises(UsageError, match="cairn login --base-url"):
        cairn.login()
