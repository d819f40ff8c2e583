"""What the compat tests share: the pinned wandb releases and a wandb subprocess's env."""

from __future__ import annotations

import os
from pathlib import Path

from serverproc import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".test-tools"
VERSIONS = [
    line.split("==", 1)[1].strip()
    for line in (Path(__file__).with_name("wandb-versions.txt")).read_text().splitlines()
    if line.startswith("wandb==")
]
NEWEST = VERSIONS[0]


def wandb_env(server: ServerProcess, home: Path, key: str) -> dict[str, str]:
    """The environment of a wandb subprocess: Cairn as its server, everything under
    ``home``, telemetry off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "CAIRN_"))}
    env.update(
        HOME=str(home),
        WANDB_BASE_URL=server.url,
        WANDB_API_KEY=key,
        WANDB_ERROR_REPORTING="false",
        WANDB_SILENT="true",
        WANDB_MODE="online",
        WANDB_DIR=str(home / "wandb"),
        WANDB_CACHE_DIR=str(home / "cache"),
        WANDB_CONFIG_DIR=str(home / "config"),
        WANDB_DATA_DIR=str(home / "data"),
        NO_PROXY="127.0.0.1,localhost",
    )
    (home / "wandb").mkdir(parents=True, exist_ok=True)
    return env
