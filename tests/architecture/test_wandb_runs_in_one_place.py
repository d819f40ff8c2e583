"""wandb code runs in one place: ``cairn/wandb_import/wandb_exporter.py``, as a subprocess.

No other module of ``cairn`` imports ``wandb`` (at the top, in a function or for types),
and nothing imports the exporter (import-linter's contracts say the second too; this test
reads the source, so it also sees imports import-linter cannot resolve).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "cairn"
EXPORTER = SRC / "wandb_import" / "wandb_exporter.py"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_only_the_exporter_imports_wandb() -> None:
    importers = {
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if any(name == "wandb" or name.startswith("wandb.") for name in _imports(path))
    }
    assert importers == {"wandb_import/wandb_exporter.py"}


def test_nothing_imports_the_exporter() -> None:
    importers = [
        path.relative_to(SRC).as_posix()
        for path in SRC.rglob("*.py")
        if any("wandb_exporter" in name for name in _imports(path))
    ]
    assert importers == []


def test_the_exporter_needs_only_the_standard_library_and_wandb() -> None:
    """It runs in any python that has wandb, without Cairn's dependencies."""
    tops = {name.split(".")[0] for name in _imports(EXPORTER)}
    assert tops <= {"__future__", "argparse", "base64", "json", "os", "sys", "tempfile",
                    "typing", "collections", "concurrent", "wandb"}  # fmt: skip
