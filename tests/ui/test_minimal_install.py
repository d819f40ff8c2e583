"""The web UI on an install of only ``cairn[server,s3]``: no numpy, no networkx, and the
lineage page still draws its graph.

The virtual environment lives under ``.test-tools/server-s3-<key>``, the key a hash of
pyproject.toml and of this Python, and is reused while both stay the same and it was
installed from this checkout (a new key removes the old environments).
``pip install -e '<checkout>[server,s3]'`` fills it, so pip resolves the extras as users
get them while the code run is this checkout's. ``minimal_install_lineage.py`` then runs
in it and does the checking.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".test-tools"
SCRIPT = Path(__file__).with_name("minimal_install_lineage.py")

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    """This environment without what would point a python elsewhere or configure Cairn
    (pip's settings, proxies and PATH stay)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "CAIRN_", "WANDB_"))}


def _minimal_python() -> Path:
    """The python of the ``cairn[server,s3]`` environment, installed first if need be."""
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    key.update(f"{sys.executable}\n{sys.version}".encode())
    venv = TOOLS / f"server-s3-{key.hexdigest()[:12]}"
    python = venv / "bin" / "python"
    TOOLS.mkdir(exist_ok=True)
    with open(TOOLS / "server-s3.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time (xdist workers, runs)
        marker = venv / ".installed"
        if marker.exists() and marker.read_text() == f"{ROOT}[server,s3]\n":
            return python  # (a .test-tools shared with another checkout points elsewhere)
        for old in TOOLS.glob("server-s3-*"):
            if old.is_dir() and old != venv:
                shutil.rmtree(old)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-e", f"{ROOT}[server,s3]"],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        (venv / ".installed").write_text(f"{ROOT}[server,s3]\n")
    return python


def test_the_lineage_page_needs_neither_numpy_nor_networkx(tmp_path: Path) -> None:
    python = _minimal_python()
    for module in ("numpy", "networkx"):
        found = subprocess.run(
            [str(python), "-c", f"import {module}"], env=_env(), capture_output=True, text=True
        )
        assert found.returncode != 0, f"{module} is installed with cairn[server,s3]"
        assert f"No module named '{module}'" in found.stderr
    done = subprocess.run(
        [str(python), str(SCRIPT), str(tmp_path), str(ROOT / "src")],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr
