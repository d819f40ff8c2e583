"""Runs the W&B exporter (``wandb_exporter.py``) in a subprocess and reads its records.

The subprocess gets an environment built here, not the caller's: no ``WANDB_*`` or
``CAIRN_*`` variable of the parent reaches it (a ``WANDB_API_KEY`` or ``WANDB_BASE_URL``
set for wandb itself is not used unasked), only the W&B server's URL and key given to
``cairn import wandb``; a temporary home, config, cache and data directory (no
``~/.netrc``, ``NETRC`` naming a file that does not exist, no stored key or settings);
telemetry, error reports, git and code capture off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from cairn.errors import AuthenticationError, CommError, MissingExtraError, NotFoundError
from cairn.settings import environ_without
from cairn.wandb_import.export_records import (
    ExportedBlob,
    ExportEnd,
    FetchDone,
    check_header,
    parse_record,
)

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
    api_key: str = dataclasses.field(repr=False)
    entity: str
    project: str
    python: str


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


class Exporter:
    """One exporter subprocess (``list`` or ``fetch``); a context manager that stops it.

    Raises (from its methods): MissingExtraError (no wandb in ``project.python``, or that
    python cannot run), AuthenticationError (the W&B server refused the key),
    NotFoundError (no such project or entity, or the key may not see it), CommError
    (any other failure of the exporter, with its last line on stderr; or it stopped before
    its end record), CorruptionError (a line that is not a record of the format).
    """

    def __init__(self, project: WandbProject, command: str, args: Sequence[str] = ()) -> None:
        self.project = project
        self._scratch = tempfile.TemporaryDirectory(prefix="cairn-wandb-")
        home = Path(self._scratch.name)
        self._stderr_path = home / "stderr.txt"
        argv = [project.python, str(EXPORTER), command, "--entity", project.entity]
        argv += ["--project", project.project, *args]
        try:
            with open(self._stderr_path, "wb") as stderr:
                self._process = subprocess.Popen(
                    argv,
                    env=exporter_environment(project, home),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    cwd=home,
                    text=True,
                    encoding="utf-8",
                )
        except OSError as exc:
            self._scratch.cleanup()
            raise MissingExtraError(
                f"cannot run {project.python} for cairn import wandb: {exc.strerror}"
            ) from None
        self.wandb_version = ""

    def __enter__(self) -> Exporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _failure(self) -> Exception:
        status = self._process.wait()
        text = self._stderr_path.read_text(errors="replace")
        if status == MISSING_WANDB_EXIT:
            return MissingExtraError(
                f"cairn import wandb needs wandb in {self.project.python}: {INSTALL_HINT}"
            )
        errors = [x[len("error: ") :] for x in text.splitlines() if x.startswith("error: ")]
        lines = errors or [x.strip() for x in text.splitlines() if x.strip()]
        last = lines[-1][:500] if lines else f"exit status {status}"
        if last.startswith("NotFound: "):
            return NotFoundError(last.removeprefix("NotFound: "))
        if any(word in last for word in ("401", "403", "API key", "Unauthorized")):
            return AuthenticationError(f"the W&B server refused the API key: {last}")
        return CommError(f"reading W&B failed: {last}")

    def _next(self) -> Record | None:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            return None
        if not self.wandb_version:
            self.wandb_version = check_header(line)
            return self._next()
        return parse_record(line)

    def records(self) -> Iterator[Record]:
        """Every record of a ``list`` run, up to and including its end record."""
        while (record := self._next()) is not None:
            yield record
            if isinstance(record, ExportEnd):
                return
        raise self._failure()

    def fetch(self, artifact: str, paths: Sequence[str], folder: Path) -> list[ExportedBlob]:
        """Download the entries ``paths`` of ``artifact`` (``E/P/name:vN``) into
        ``folder/<hex digest>``; the blob records of the answer."""
        assert self._process.stdin is not None
        request = {"artifact": artifact, "paths": list(paths), "folder": str(folder)}
        try:
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
        except BrokenPipeError:
            raise self._failure() from None
        blobs: list[ExportedBlob] = []
        while (record := self._next()) is not None:
            if isinstance(record, FetchDone):
                return blobs
            if isinstance(record, ExportedBlob):
                blobs.append(record)
        raise self._failure()

    def close(self) -> None:
        """Stop the subprocess (closing its stdin ends a ``fetch`` run), pass on its
        ``note:`` lines as warnings (the CLI prints them as ``note:`` lines) and remove
        its temporary home."""
        process = self._process
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if self._stderr_path.exists():
            for line in self._stderr_path.read_text(errors="replace").splitlines():
                if line.startswith("note: "):
                    warnings.warn(line.removeprefix("note: "), stacklevel=2)
        self._scratch.cleanup()
