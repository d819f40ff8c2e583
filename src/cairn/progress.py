"""Progress reporting: the callback type the SDK calls, and the default terminal renderer.

The SDK never prints; long operations (hashing, uploads, downloads) call a
``ProgressCallback`` with a ``ProgressEvent``. ``default_callback`` renders it with rich
when attached to a terminal, prints one summary line otherwise, and stays silent when
the settings say so.

Every event carries ``started``, the moment the work it describes began, taken by the code
doing the work: a renderer is often created, or hears of a task, only when the task is
already done (a one-file upload sends a single ``done`` event), so a clock started by the
renderer would measure nothing and turn the rate into a division by almost zero. A rate is
printed only over at least ``MIN_RATE_SECONDS``; below that the elapsed time is mostly
start-up cost and clock noise, and no rate printed is better than a wrong one.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from typing import Any

MIN_RATE_SECONDS = 0.05


@dataclasses.dataclass(frozen=True)
class ProgressEvent:
    """One step of a long operation. ``done`` is True exactly once, at the end.

    ``started`` is the ``time.monotonic()`` at which the work began (the same in every
    event of one task).
    """

    task: str
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    done: bool = False
    started: float = dataclasses.field(kw_only=True)
    # what ``files_*`` count, plural ("files"; a copy between stores counts "versions")
    unit: str = dataclasses.field(default="files", kw_only=True)


ProgressCallback = Callable[[ProgressEvent], None]


def silent(_event: ProgressEvent) -> None:
    """A callback that reports nothing."""


class TaskCounter:
    """Counts the files and bytes of one task as they are done and reports each step.

    Not thread-safe: called from the thread that collects the work's results.
    """

    def __init__(
        self,
        task: str,
        progress: ProgressCallback,
        files_total: int,
        bytes_total: int,
        started: float | None = None,
        unit: str = "files",
    ) -> None:
        self.task = task
        self.unit = unit
        self.progress = progress
        self.files_total = files_total
        self.bytes_total = bytes_total
        self.started = started if started is not None else time.monotonic()
        self.files_done = 0
        self.bytes_done = 0

    def add(self, files: int, size: int) -> None:
        """Count ``files`` more files of ``size`` bytes in all, and report."""
        self.files_done += files
        self.bytes_done += size
        self.progress(self._event(False))

    def reach(self, files_done: int, bytes_done: int) -> None:
        """Set the counts to ``files_done`` files and ``bytes_done`` bytes, and report."""
        self.files_done = files_done
        self.bytes_done = bytes_done
        self.progress(self._event(False))

    def finish(self) -> None:
        """Report the task done (its one ``done`` event)."""
        self.progress(self._event(True))

    def _event(self, done: bool) -> ProgressEvent:
        return ProgressEvent(
            self.task,
            self.files_done,
            self.files_total,
            self.bytes_done,
            self.bytes_total,
            done,
            started=self.started,
            unit=self.unit,
        )


def format_bytes(size: int) -> str:
    """``size`` in decimal units, e.g. ``1.5 GB`` (as W&B prints cache sizes)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if value < 1000 or unit == "PB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def format_seconds(seconds: float) -> str:
    """A duration: ``0.042s``, ``3.0s``, ``2m05s``, ``1h02m``."""
    if seconds < 1:
        return f"{seconds:.3f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def rate(event: ProgressEvent, now: float) -> float | None:
    """Bytes per second since the task began; None while less than ``MIN_RATE_SECONDS``
    have passed (too short to measure)."""
    elapsed = now - event.started
    return event.bytes_done / elapsed if elapsed >= MIN_RATE_SECONDS else None


def summary(event: ProgressEvent, now: float) -> str:
    """The one line that reports a finished task: files, bytes, time and (when
    measurable) rate, e.g. ``Uploading: 3 files, 30.0 MB in 3.0s (10.0 MB/s)``."""
    elapsed = max(0.0, now - event.started)
    line = (
        f"{event.task}: {event.files_done} {event.unit}, {format_bytes(event.bytes_done)} "
        f"in {format_seconds(elapsed)}"
    )
    speed = rate(event, now)
    return line if speed is None else f"{line} ({format_bytes(int(speed))}/s)"


class TerminalProgress:
    """Renders events as a rich bar on a TTY, or one summary line on stderr otherwise.

    ``clock`` is the clock ``ProgressEvent.started`` was read from (``time.monotonic``).
    """

    def __init__(self, stream: Any = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self._bars: dict[str, _Bar] = {}

    def __call__(self, event: ProgressEvent) -> None:
        if self._stream.isatty():
            self._render_bar(event)
        elif event.done:
            self._stream.write(summary(event, self._clock()) + "\n")

    def _render_bar(self, event: ProgressEvent) -> None:
        now = self._clock()
        bar = self._bars.get(event.task)
        if bar is None:
            bar = self._bars[event.task] = _Bar(self._stream, event)
        bar.show(event, now)
        if event.done:
            bar.stop()
            del self._bars[event.task]


class _Bar:
    """One task's rich bar, redrawn by the events themselves (no refresh thread: its
    numbers change only with them), at most every ``REDRAW_SECONDS`` and at the end."""

    REDRAW_SECONDS = 0.1

    def __init__(self, stream: Any, event: ProgressEvent) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn  # noqa: PLC0415 - rich loads only when a bar is drawn

        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            TextColumn("{task.fields[files]}"),
            DownloadColumn(binary_units=False),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[time]}"),
            console=_console(stream),
            auto_refresh=False,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(
            event.task, total=event.bytes_total or None, files="", rate="", time=""
        )
        self._drawn: float | None = None

    def show(self, event: ProgressEvent, now: float) -> None:
        speed = rate(event, now)
        self._progress.update(
            self._task,
            completed=event.bytes_done,
            total=event.bytes_total or None,
            files=f"{event.files_done}/{event.files_total} {event.unit}",
            rate="" if speed is None else f"{format_bytes(int(speed))}/s",
            time=_time_field(event, now, speed),
        )
        if event.done or self._drawn is None or now - self._drawn >= self.REDRAW_SECONDS:
            self._progress.refresh()
            self._drawn = now

    def stop(self) -> None:
        self._progress.stop()


def _time_field(event: ProgressEvent, now: float, speed: float | None) -> str:
    """The bar's last column: the time taken once done, else the time left at the rate so
    far (blank while no rate is measurable)."""
    if event.done:
        return f"in {format_seconds(max(0.0, now - event.started))}"
    if not speed:
        return ""
    return f"eta {format_seconds(max(0, event.bytes_total - event.bytes_done) / speed)}"


def _console(stream: Any) -> Any:
    """A rich console drawing on ``stream`` (stderr by default), never on stdout."""
    from rich.console import Console  # noqa: PLC0415 - rich loads only when a bar is drawn

    return Console(file=stream)


def default_callback(silent_mode: bool) -> ProgressCallback:
    """The callback the SDK uses when the caller gives none."""
    return silent if silent_mode else TerminalProgress()
