"""Run the ``cairn`` command as users do: the installed console script, in a subprocess.

The script imports ``cairn`` from ``sys.path``, so ``PYTHONPATH`` (kept in the child's
environment) decides which checkout it runs. ``blocked`` runs the same entry point,
``cairn.cli.main:main``, in a Python where importing the named top-level modules fails as
it does when they are not installed (``ModuleNotFoundError``, and ``find_spec`` finds
nothing), so a missing extra is tested without a second environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_BLOCKED_ENTRY = """
import sys

BLOCKED = set(sys.argv[1].split(","))


class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Blocker())
sys.argv = ["cairn", *sys.argv[2:]]
from cairn.cli.main import main

main()
"""


def entry_point() -> str:
    """The installed ``cairn`` console script."""
    return shutil.which("cairn") or str(Path(sys.executable).with_name("cairn"))


def cairn(
    *args: str, env: dict[str, str] | None = None, blocked: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """Run ``cairn ARGS`` with this test's environment (plus ``env``)."""
    environ = os.environ.copy()
    environ.update(env or {})
    if blocked:
        command = [sys.executable, "-c", _BLOCKED_ENTRY, ",".join(blocked), *args]
    else:
        command = [entry_point(), *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=environ, timeout=300, check=False
    )


def ok(*args: str, env: dict[str, str] | None = None) -> str:
    """Run ``cairn ARGS``, assert it succeeded and return its stdout."""
    result = cairn(*args, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def ok_json(*args: str, env: dict[str, str] | None = None) -> Any:
    """Run ``cairn ARGS --json`` and return the one JSON document it printed."""
    return json.loads(ok(*args, "--json", env=env))


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str, status: int = 1) -> str:
    """Assert ``result`` failed with ``status`` and one plain ``Error:`` line on stderr
    holding every needle (no traceback, no Python class name); return that line."""
    assert result.returncode == status, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("Error: "), line
    for needle in needles:
        assert needle in line, line
    for noise in ("Traceback", "Error: ValueError", "Error: NotFoundError", "Error: CommError"):
        assert noise not in result.stderr
    return line
