"""The terminal renderer: a bar with files, bytes, rate and ETA on a TTY, one line otherwise."""

from __future__ import annotations

import io

from cairn.progress import ProgressEvent, TerminalProgress, default_callback, silent


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _events() -> list[ProgressEvent]:
    return [
        ProgressEvent("Downloading", 1, 4, 250_000, 1_000_000),
        ProgressEvent("Downloading", 3, 4, 750_000, 1_000_000),
        ProgressEvent("Downloading", 4, 4, 1_000_000, 1_000_000, done=True),
    ]


def test_not_a_terminal_gets_one_summary_line() -> None:
    stream = io.StringIO()
    render = TerminalProgress(stream)
    for event in _events():
        render(event)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Downloading: 4 files, 1.0 MB in ")
    assert "MB/s" in lines[0]


def test_a_terminal_gets_a_bar_with_files_bytes_rate_and_eta() -> None:
    stream = _Tty()
    render = TerminalProgress(stream)
    for event in _events():
        render(event)
    out = stream.getvalue()
    assert "Downloading" in out
    assert "4/4 files" in out
    assert "1.0/1.0 MB" in out  # decimal units, as the cache sizes
    assert "/s" in out  # transfer rate column


def test_silent_mode_reports_nothing() -> None:
    assert default_callback(True) is silent
    assert isinstance(default_callback(False), TerminalProgress)
