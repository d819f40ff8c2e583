"""The terminal renderer: a bar with files, bytes, rate and ETA on a TTY, one line otherwise.

Rates and times come from each event's ``started`` (when the work began) and the renderer's
clock, injected here so that the numbers printed can be checked exactly.
"""

from __future__ import annotations

import io

from cairn.progress import (
    ProgressEvent,
    TerminalProgress,
    default_callback,
    format_seconds,
    silent,
)

STARTED = 1000.0


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _events() -> list[ProgressEvent]:
    return [
        ProgressEvent("Downloading", 1, 4, 250_000, 1_000_000, started=STARTED),
        ProgressEvent("Downloading", 3, 4, 750_000, 1_000_000, started=STARTED),
        ProgressEvent("Downloading", 4, 4, 1_000_000, 1_000_000, True, started=STARTED),
    ]


def test_not_a_terminal_gets_one_summary_line() -> None:
    stream = io.StringIO()
    render = TerminalProgress(stream, _Clock(STARTED + 0.5))
    for event in _events():
        render(event)
    assert stream.getvalue() == "Downloading: 4 files, 1.0 MB in 0.500s (2.0 MB/s)\n"


def test_a_task_heard_of_only_when_done_is_timed_from_its_start() -> None:
    # A one-file upload sends one event, at the end: the renderer's first sight of the
    # task is not its start (the old renderer printed "in 0.0s (2736976.5 MB/s)").
    stream = io.StringIO()
    render = TerminalProgress(stream, _Clock(STARTED + 3.0))
    render(ProgressEvent("Uploading", 1, 1, 30_000_000, 30_000_000, True, started=STARTED))
    assert stream.getvalue() == "Uploading: 1 files, 30.0 MB in 3.0s (10.0 MB/s)\n"


def test_no_rate_when_the_time_is_too_short_to_measure() -> None:
    stream = io.StringIO()
    render = TerminalProgress(stream, _Clock(STARTED + 0.001))
    render(ProgressEvent("Downloading", 5, 5, 10_000, 10_000, True, started=STARTED))
    assert stream.getvalue() == "Downloading: 5 files, 10.0 KB in 0.001s\n"


def test_sizes_and_times_keep_their_digits() -> None:
    assert [format_seconds(s) for s in (0.0423, 3.04, 125.0, 3725.0)] == [
        "0.042s",
        "3.0s",
        "2m05s",
        "1h02m",
    ]


def test_a_terminal_gets_a_bar_with_files_bytes_rate_and_eta() -> None:
    stream = _Tty()
    clock = _Clock(STARTED + 0.25)
    render = TerminalProgress(stream, clock)
    first, middle, last = _events()
    render(first)
    clock.now = STARTED + 0.5
    render(middle)  # 750 KB in 0.5 s: 1.5 MB/s, 250 KB left: 0.167 s
    out = stream.getvalue()
    assert "1.5 MB/s" in out and "eta 0.167s" in out
    clock.now = STARTED + 2.0
    render(last)
    out = stream.getvalue()
    assert "Downloading" in out
    assert "4/4 files" in out
    assert "1.0/1.0 MB" in out  # decimal units, as the cache sizes
    assert "500.0 KB/s" in out and "in 2.0s" in out


def test_a_bar_shows_no_rate_before_one_can_be_measured() -> None:
    stream = _Tty()
    render = TerminalProgress(stream, _Clock(STARTED + 0.001))
    render(ProgressEvent("Downloading", 5, 5, 10_000, 10_000, True, started=STARTED))
    out = stream.getvalue()
    assert "5/5 files" in out and "in 0.001s" in out
    assert "/s" not in out


def test_silent_mode_reports_nothing() -> None:
    assert default_callback(True) is silent
    assert isinstance(default_callback(False), TerminalProgress)
