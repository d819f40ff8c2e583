"""Runs the W&B exporter (``wandb_exporter.py``) in a subprocess and reads its records.

The subprocess gets an environment built here, not the caller's: no ``WANDB_*`` or
``CAIRN_*`` variable of the parent reaches it (a ``WANDB_API_KEY`` or ``WANDB_BASE_URL``
set for wandb itself is not used unasked), only the W&B server's URL and key given to
``cairn import wandb``; a temporary home, config, cache and data directory (no
``~/.netrc``, ``NETRC`` naming a file that does not exist, no stored key or settings);
telemetry, error reports, git and code capture off.
"""

from __future__ import annotations

import dataclasses
import subprocess
import tempfile
from collections import deque
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.errors import AuthenticationError, CommError, MissingExtraError
from cairn.settings import environ_without
from cairn.wandb_import.export_records import ExportEnd, check_header, parse_record

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from cairn.wandb_import.export_records import Record

EXPORTER = Path(__file__).with_name("wandb_exporter.py")
MISSING_WANDB_EXIT = 3  # the exporter's exit status when it cannot import wandb
INSTALL_HINT = "pip install 'cairn[import-wandb]'"


@dataclasses.dataclass(frozen=True)
class WandbProject:
    """The W&B project to export and how to reach its server (``python``: the interpreter
    of an environment that has wandb)."""

    base_url: str
    api_key: str
    entity: str
    project: str
    python: str

    def __repr__(self) -> str:  # never show the key
        return f"WandbProject({self.base_url!r}, {self.entity!r}, {self.project!r})"


def exporter_environment(project: WandbProject, home: Path) -> dict[str, str]:
    """The whole environment of the exporter: the caller's, without any ``WANDB_*``,
    ``CAIRN_*`` or ``NETRC``, and with wandb's directories under ``home``."""
    env = environ_without("WANDB_", "CAIRN_", "NETRC")
    for sub in ("config", "cache", "data", "artifacts", "wandb", "xdg-config", "xdg-cache"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        USERPROFILE=str(home),
        NETRC=str(home / "no-netrc"),
        XDG_CONFIG_HOME=str(home / "xdg-config"),
        XDG_CACHE_HOME=str(home / "xdg-cache"),
        WANDB_BASE_URL=project.base_url,
        WANDB_API_KEY=project.api_key,
        WANDB_CONFIG_DIR=str(home / "config"),
        WANDB_CACHE_DIR=str(home / "cache"),
        WANDB_DATA_DIR=str(home / "data"),
        WANDB_ARTIFACT_DIR=str(home / "artifacts"),
        WANDB_DIR=str(home / "wandb"),
        WANDB_MODE="online",
        WANDB_SILENT="true",
        WANDB_ERROR_REPORTING="false",
        WANDB_DISABLE_GIT="true",
        WANDB_DISABLE_CODE="true",
        WANDB_X_DISABLE_STATS="true",
        WANDB_X_DISABLE_META="true",
        WANDB_X_DISABLE_MACHINE_INFO="true",
        PYTHONNOUSERSITE="1",
    )
    return env


def _failure(status: int, stderr: Path) -> Exception:
    text = stderr.read_text(errors="replace") if stderr.exists() else ""
    if status == MISSING_WANDB_EXIT:
        return MissingExtraError(f"cairn import wandb needs wandb: {INSTALL_HINT}")
    lines = deque((x.strip() for x in text.splitlines() if x.strip()), maxlen=1)
    last = lines[0] if lines else f"exit status {status}"
    if "401" in text or "403" in text or "API key" in text:
        return AuthenticationError(f"the W&B server refused the API key: {last}")
    return CommError(f"the W&B exporter failed: {last}")


@contextmanager
def exporter_records(project: WandbProject, args: Sequence[str]) -> Iterator[Iterator[Record]]:
    """Run the exporter with ``args`` (after its command); yield an iterator over its
    records. Leaving the block early stops the subprocess.

    Raises (while iterating): MissingExtraError (no wandb in ``project.python``),
    AuthenticationError (the W&B server refused the key), CommError (any other failure
    of the exporter, with its last line of stderr; or it stopped before its end record),
    CorruptionError (a line that is not a record of the format).
    """
    with tempfile.TemporaryDirectory(prefix="cairn-wandb-") as scratch:
        home = Path(scratch)
        stderr_path = home / "stderr.txt"
        command = [
            project.python,
            str(EXPORTER),
            *args[:1],
            "--entity",
            project.entity,
            "--project",
            project.project,
            *args[1:],
        ]
        try:
            with open(stderr_path, "wb") as stderr:
                process = subprocess.Popen(
                    command,
                    env=exporter_environment(project, home),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    cwd=home,
                    text=True,
                    encoding="utf-8",
                )
        except OSError as exc:
            raise MissingExtraError(
                f"cannot run {project.python} for cairn import wandb: {exc.strerror}"
            ) from None
        try:
            yield _read(process, stderr_path)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _read(process: subprocess.Popen[str], stderr: Path) -> Iterator[Record]:
    assert process.stdout is not None
    first = process.stdout.readline()
    if not first:
        raise _failure(process.wait(), stderr)
    check_header(first)
    ended = False
    for line in process.stdout:
        record = parse_record(line)
        ended = isinstance(record, ExportEnd)
        yield record
    status = process.wait()
    if status != 0:
        raise _failure(status, stderr)
    if not ended:
        raise CommError("the W&B exporter stopped before its end record")
