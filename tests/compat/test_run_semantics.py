"""``config``, ``log`` (steps, ``commit``, a dropped lower step) and ``summary`` give the
same results through Cairn's SDK as through the official wandb client (offline, the
newest pinned release): ``scripts/run_semantics.py`` runs both ways and prints what came
of it; the two must be equal, apart from wandb's timing keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from compat.wandb_tools import NEWEST, ROOT

SCRIPT = Path(__file__).with_name("scripts") / "run_semantics.py"


def _run(python: str, client: str, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [python, str(SCRIPT), client], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    return result


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WANDB_", "CAIRN_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), **extra)
    home.mkdir(parents=True)
    return env


def test_cairn_gives_what_wandb_gives(wandb_pythons: dict[str, Path], tmp_path: Path) -> None:
    wandb_home = tmp_path / "wandb-home"
    wandb_env = _env(
        wandb_home,
        WANDB_MODE="offline",
        WANDB_SILENT="true",
        WANDB_ERROR_REPORTING="false",
        WANDB_DIR=str(wandb_home),
        WANDB_CONFIG_DIR=str(wandb_home / "config"),
        WANDB_CACHE_DIR=str(wandb_home / "cache"),
        WANDB_DATA_DIR=str(wandb_home / "data"),
    )
    expected = _run(str(wandb_pythons[NEWEST]), "wandb", wandb_env)
    cairn_home = tmp_path / "cairn-home"
    cairn_env = _env(
        cairn_home,
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        CAIRN_DIR=str(cairn_home / "store"),
        CAIRN_ENTITY="tester",
        CAIRN_SILENT="true",
    )
    got = _run(sys.executable, "cairn", cairn_env)
    assert got == expected
    assert got["steps"] == [1, 2, 2, 3, 10, 10, 10, 11, 21, 21, 30, 30, 31]
