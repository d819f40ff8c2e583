"""How the CLI reports the errors a user can cause: one line on stderr, exit status 1."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from cairn import errors

F = TypeVar("F", bound=Callable[..., Any])

EXPECTED_ERRORS = (errors.Error, ValueError, KeyError, OSError, AttributeError, TypeError)


def expected_errors(func: F) -> F:
    """Turn the errors a user can cause into one clear line and exit status 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except EXPECTED_ERRORS as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            raise click.ClickException(f"{type(exc).__name__}: {message}") from None

    return wrapper  # type: ignore[return-value]
