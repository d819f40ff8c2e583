"""Fixtures of the compat suite: the official ``wandb`` client, installed from PyPI into
one virtual environment per pinned release (``wandb-versions.txt``) under
``.test-tools/wandb-<version>`` (reused when present; the three are installed in
parallel), and a live ``cairn server`` with the ``model`` registry for it to talk to.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from compat.wandb_tools import TOOLS, VERSIONS
from serverproc import ServerProcess, running_server


def _install(version: str) -> Path:
    venv = TOOLS / f"wandb-{version}"
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"wandb=={version}"],
            check=True,
            timeout=900,
        )
        marker.write_text(version)
    return python


@pytest.fixture(scope="session")
def wandb_pythons() -> dict[str, Path]:
    """The python of each pinned wandb release's virtual environment."""
    TOOLS.mkdir(exist_ok=True)
    with ThreadPoolExecutor(len(VERSIONS)) as pool:
        return dict(zip(VERSIONS, pool.map(_install, VERSIONS), strict=True))


@pytest.fixture(scope="session")
def wandb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A ``cairn server`` (SQLite + directory store) with the registry ``model``."""
    root = tmp_path_factory.mktemp("wandb-server")
    with running_server(root, f"sqlite:///{root}/cairn.db") as server:
        response = httpx.post(
            f"{server.url}/api/v1/registries",
            json={"name": "model"},
            headers={"Authorization": f"Bearer {server.admin_key}"},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        yield server


@pytest.fixture(autouse=True)
def no_unsupported_requests(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a compat test that runs the official client (``wandb_pythons``) during which a
    server it used logged an ``unsupported request`` (an operation of the client that the
    facade's schema cannot answer)."""
    if "wandb_pythons" not in request.fixturenames:
        yield
        return
    servers = [
        request.getfixturevalue(name)
        for name in ("wandb_server", "cairn_server_pg")
        if name in request.fixturenames
    ]
    start = {server.log: server.log.stat().st_size for server in servers}
    yield
    for log, offset in start.items():
        with log.open("rb") as text:
            text.seek(offset)
            lines = text.read().decode(errors="replace").splitlines()
        unsupported = [line for line in lines if "unsupported request" in line]
        assert not unsupported, "\n".join(unsupported)
