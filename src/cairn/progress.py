"""Progress reporting: the callback type the SDK calls, and the default terminal renderer.

The SDK never prints; long operations (hashing, uploads, downloads) call a
``ProgressCallback`` with a ``ProgressEvent``. ``default_callback`` renders it with rich
when attached to a terminal, prints one summary line otherwise, and stays silent when
the settings say so.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass(frozen=True)
class ProgressEvent:
    """One step of a long operation. ``done`` is True exactly once, at the end."""

    task: str
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    done: bool = False


ProgressCallback = Callable[[ProgressEvent], None]


def silent(_event: ProgressEvent) -> None:
    """A callback that reports nothing."""


class TerminalProgress:
    """Renders events as a rich bar on a TTY, or one summary line on stderr otherwise."""

    def __init__(self, stream: Any = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._bars: dict[str, Any] = {}
        self._started: dict[str, float] = {}

    def __call__(self, event: ProgressEvent) -> None:
        start = self._started.setdefault(event.task, time.monotonic())
        if self._stream.isatty():
            self._render_bar(event)
        elif event.done:
            elapsed = max(time.monotonic() - start, 1e-9)
            rate = event.bytes_done / elapsed / 1e6
            self._stream.write(
                f"{event.task}: {event.files_done} files, {event.bytes_done / 1e6:.1f} MB "
                f"in {elapsed:.1f}s ({rate:.1f} MB/s)\n"
            )
        if event.done:
            self._started.pop(event.task, None)

    def _render_bar(self, event: ProgressEvent) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        entry = self._bars.get(event.task)
        if entry is None:
            bar = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                TextColumn("{task.fields[files]} files"),
                DownloadColumn(binary_units=False),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=_console(self._stream),
                transient=False,
            )
            bar.start()
            task_id = bar.add_task(event.task, total=event.bytes_total or None, files="")
            entry = self._bars[event.task] = (bar, task_id)
        bar, task_id = entry
        bar.update(
            task_id,
            completed=event.bytes_done,
            total=event.bytes_total or None,
            files=f"{event.files_done}/{event.files_total}",
        )
        if event.done:
            bar.stop()
            del self._bars[event.task]


def _console(stream: Any) -> Any:
    """A rich console drawing on ``stream`` (stderr by default), never on stdout."""
    from rich.console import Console

    return Console(file=stream)


def default_callback(silent_mode: bool) -> ProgressCallback:
    """The callback the SDK uses when the caller gives none."""
    return silent if silent_mode else TerminalProgress()
