"""Python warnings in the CLI: one plain ``note: ...`` line on stderr each.

The SDK warns through ``warnings`` (DESIGN §2), whose default display adds the file path,
line number, category and source line: noise to a person at a terminal. The CLI owns its
process, so it replaces the display; the SDK keeps warning as it does for Python users.
"""

from __future__ import annotations

import warnings
from typing import TextIO

import click


def _note(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    del category, filename, lineno, file, line
    click.echo(f"note: {' '.join(str(message).split())}", err=True)


def show_warnings_as_notes() -> None:
    """Print every warning of this process as one ``note:`` line on stderr."""
    warnings.showwarning = _note
