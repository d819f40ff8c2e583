"""The peers (wandb, DVC, MLflow) in their own virtual environments, and their telemetry off.

Each peer is installed from PyPI with pip into ``<cache>/venvs/<peer>`` the first time it
is needed; ``peer_env`` is the environment every peer job runs with: telemetry and
reporting off, tracking to local files only.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PEERS = ("wandb", "dvc", "mlflow")


def python_of(cache: Path, peer: str) -> Path:
    """The interpreter of ``peer``'s venv, installing the venv first if needed."""
    venv = cache / "venvs" / peer
    python = venv / "bin" / "python"
    ok = venv / ".installed"
    if not ok.exists():
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", peer], check=True)
        ok.touch()
    return python


def version_of(cache: Path, peer: str) -> str:
    """The installed version of ``peer`` (from its venv's metadata)."""
    python = python_of(cache, peer)
    out = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({peer!r}))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def peer_env(work: Path) -> dict[str, str]:
    """The environment of a peer job: offline, silent, no telemetry, files under ``work``."""
    env = dict(os.environ)
    env.update(
        WANDB_MODE="offline",
        WANDB_SILENT="true",
        WANDB_ERROR_REPORTING="false",
        WANDB_DISABLE_GIT="true",
        WANDB_DISABLE_CODE="true",
        WANDB_DIR=str(work / "wandb"),
        WANDB_CACHE_DIR=str(work / "wandb-cache"),
        WANDB_DATA_DIR=str(work / "wandb-data"),
        WANDB_ARTIFACT_DIR=str(work / "wandb-artifacts"),
        WANDB_CONFIG_DIR=str(work / "wandb-config"),
        DVC_NO_ANALYTICS="1",
        DVC_GLOBAL_CONFIG_DIR=str(work / "dvc-config"),
        DVC_SYSTEM_CONFIG_DIR=str(work / "dvc-config"),
        MLFLOW_TRACKING_URI=(work / "mlruns").as_uri(),
        MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false",
        MLFLOW_ALLOW_FILE_STORE="true",
        DO_NOT_TRACK="1",
    )
    for path in ("wandb", "wandb-cache", "wandb-data", "wandb-artifacts", "wandb-config"):
        (work / path).mkdir(parents=True, exist_ok=True)
    return env
