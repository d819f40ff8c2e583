"""Fixtures of the web UI tests: the same artifacts logged into an embedded store and into a
real ``cairn server``, ``cairn ui`` running as a subprocess, and a headless Chromium.

Everything runs on 127.0.0.1. Chromium is Debian's (``/usr/bin/chromium``, installed by
scripts/test.sh), driven by Playwright without any browser download.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cairn.settings import DEFAULT_UI_URL
from serverproc import ServerProcess, running_server
from ui.uidata import Logged, log_all

CHROMIUM = os.environ.get("CAIRN_TEST_CHROMIUM", "/usr/bin/chromium")


@dataclasses.dataclass(frozen=True)
class Site:
    """A running UI: its base URL, the data logged into it, and keys (server only)."""

    url: str
    data: Logged
    keys: dict[str, str]


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAIRN_", "WANDB_"))}
    env.update(
        CAIRN_DIR=str(home / "cairn"),
        CAIRN_CACHE_DIR=str(home / "cache"),
        CAIRN_ENTITY="tester",
        CAIRN_SILENT="true",
        XDG_CONFIG_HOME=str(home / "config"),
    )
    return env


def _log_with(env: dict[str, str], workdir: Path, **kwargs: Any) -> Logged:
    from cairn.sdk import backend_cache

    with pytest.MonkeyPatch.context() as patch:
        for name in [k for k in os.environ if k.startswith(("CAIRN_", "WANDB_"))]:
            patch.delenv(name)
        for name, value in env.items():
            if name.startswith("CAIRN_") or name == "XDG_CONFIG_HOME":
                patch.setenv(name, value)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            return log_all(workdir, **kwargs)
        finally:
            backend_cache.close_all()


@pytest.fixture(scope="session")
def embedded_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], Logged]:
    """An embedded store holding the test artifacts: (home, environment, what was logged)."""
    home = tmp_path_factory.mktemp("ui-embedded")
    env = _clean_env(home)
    return home, env, _log_with(env, home / "work")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def cairn_ui(embedded_home: tuple[Path, dict[str, str], Logged]) -> Iterator[Site]:
    """``cairn ui`` as a subprocess over the embedded store, on the free port its
    ``CAIRN_UI_URL`` names (the SDK's URLs of the data are re-based onto it)."""
    home, env, data = embedded_home
    url = f"http://127.0.0.1:{_free_port()}"
    log = home / "ui.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cairn.cli", "ui"],
            env={**env, "CAIRN_UI_URL": url},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    rebased = {
        field: getattr(data, field).replace(DEFAULT_UI_URL, url)
        for field in ("data_url", "model_url", "registry_url")
    }
    try:
        _wait(url + "/", process, log)
        yield Site(url=url, data=dataclasses.replace(data, **rebased), keys={})
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url, timeout=5).status_code < 500:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"did not start:\n{log.read_text()}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A ``cairn server`` (SQLite) holding the test artifacts in team ``uiteam``, with
    keys for its admin, a member, a viewer of the team, and an outsider."""
    root = tmp_path_factory.mktemp("ui-server")
    with running_server(root, f"sqlite+pysqlite:///{root / 'server.db'}") as server:
        team = server.new_team("uiteam")
        keys = {
            "admin": server.admin_key,
            "member": server.new_user_key("member-" + team[-4:], team, "member"),
            "viewer": server.new_user_key("viewer-" + team[-4:], team, "viewer"),
            "outsider": _outsider_key(server),
        }
        env = _clean_env(root / "client")
        env.update(CAIRN_BASE_URL=server.url, CAIRN_API_KEY=server.admin_key, CAIRN_ENTITY=team)
        data = _log_with(env, root / "work")
        yield Site(url=server.url, data=data, keys=keys)


def _outsider_key(server: ServerProcess) -> str:
    other = server.new_team("elsewhere")
    return server.new_user_key("outsider-" + other[-4:], other, "member")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test.sh installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def shots() -> Path:
    """Where screenshots go: $CAIRN_UI_SCREENSHOTS, else <tmp>/cairn-ui-screenshots."""
    default = Path(tempfile.gettempdir()) / "cairn-ui-screenshots"
    where = Path(os.environ.get("CAIRN_UI_SCREENSHOTS") or default)
    where.mkdir(parents=True, exist_ok=True)
    return where
