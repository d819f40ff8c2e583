"""How the CLI reports the errors a user can cause: one plain line on stderr, exit status 1.

The line is ``Error: <message>``: the message in the user's words, never a Python class
name nor a traceback. With ``--json`` the same error is also one JSON document on stdout,
``{"error": {"type": ..., "message": ...}}`` (plus ``missing``/``changed`` for a failed
verification), so a script always gets JSON. A closed stdout (``cairn show | head``) is
not an error: ``BrokenPipeError`` is left to the entry point, which exits quietly.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import IO, Any, TypeVar

import click

from cairn import errors
from cairn.cli._extras import missing_extra_message

F = TypeVar("F", bound=Callable[..., Any])

EXPECTED_ERRORS = (
    errors.Error,
    ValueError,
    KeyError,
    OSError,
    AttributeError,
    TypeError,
    ImportError,
)


class CliError(click.ClickException):
    """An expected failure: ``message`` for people; ``kind`` and ``details`` for ``--json``."""

    def __init__(
        self,
        message: str,
        kind: str = "Error",
        details: dict[str, Any] | None = None,
        as_json: bool = False,
        exit_code: int = 1,
    ) -> None:
        super().__init__(" ".join(message.split("\n")).strip() or kind)
        self.kind = kind
        self.details = details or {}
        self.as_json = as_json
        self.exit_code = exit_code

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the one line on stderr (and the JSON document on stdout with ``--json``)."""
        del file
        report(self.message, self.kind, self.details, self.as_json)


def report(message: str, kind: str, details: dict[str, Any], as_json: bool) -> None:
    """Print an error: ``Error: message`` on stderr, and with ``as_json`` its JSON on stdout."""
    if as_json:
        body = {"type": kind, "message": message, **details}
        click.echo(json.dumps({"error": body}, indent=2, sort_keys=True, default=str))
    click.echo(f"Error: {message}", err=True)


def message_of(exc: BaseException) -> str:
    """What ``exc`` says, without its class name (a ``KeyError``'s key unquoted)."""
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return missing_extra_message(exc) or str(exc)


def as_cli_error(exc: BaseException, as_json: bool = False) -> CliError:
    """The ``CliError`` that reports ``exc`` (an expected error)."""
    details: dict[str, Any] = {}
    if isinstance(exc, errors.VerificationError):
        details = {"missing": exc.missing, "changed": exc.changed}
    return CliError(message_of(exc), type(exc).__name__, details, as_json)


def expected_errors(func: F) -> F:
    """Turn the errors a user can cause into one clear line and exit status 1.

    With an ``as_json`` keyword argument set, the error is also printed as JSON on stdout.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BrokenPipeError:
            raise
        except CliError as exc:
            exc.as_json = exc.as_json or bool(kwargs.get("as_json"))
            raise
        except EXPECTED_ERRORS as exc:
            raise as_cli_error(exc, bool(kwargs.get("as_json"))) from None

    return wrapper  # type: ignore[return-value]
