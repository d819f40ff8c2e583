"""Optional packages and the extra that installs each, so a missing one is named, not traced.

``pip install -e .`` installs the core only; the web UI, the server, cloud references and
media values need extras (``pyproject.toml``). A command that needs one imports it inside
``needs_extra``; any other missing optional package is named by ``missing_extra_message``.
"""

from __future__ import annotations

import importlib.util
from contextlib import contextmanager
from typing import TYPE_CHECKING

from cairn.errors import MissingExtraError

if TYPE_CHECKING:
    from collections.abc import Iterator

# The top-level module of each optional package -> the extra that installs it.
OPTIONAL_MODULES = {
    **dict.fromkeys(
        (
            "fastapi",
            "starlette",
            "pydantic",
            "uvicorn",
            "jinja2",
            "markdown_it",
            "nh3",
            "itsdangerous",
            "multipart",
            "python_multipart",
        ),
        "ui",
    ),
    **dict.fromkeys(("ariadne", "graphql", "psycopg"), "server"),
    **dict.fromkeys(("boto3", "botocore"), "s3"),
    "google": "gcs",
    "azure": "azure",
    **dict.fromkeys(("PIL", "numpy", "pandas", "bokeh"), "media"),
}


# What a command of each extra needs first, looked up by name before it imports anything,
# so the first missing package is the one named (each tuple: one package's module names).
# python-multipart must be here: FastAPI loads it its own way and, when it is missing,
# raises RuntimeError at route creation instead of an ImportError.
_WEB = (("uvicorn",), ("fastapi",), ("jinja2",), ("python_multipart", "multipart"))
_LOOKED_UP_FIRST = {"ui": _WEB, "server": (*_WEB, ("ariadne",))}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _absent(module: str) -> str:
    return f"the Python module {module}, which is not installed"


def install_hint(extra: str) -> str:
    """How to install ``extra``, for a release and for a checkout."""
    return f"pip install 'cairn[{extra}]' (in a checkout: pip install -e '.[{extra}]')"


def missing_module(exc: BaseException) -> str | None:
    """The optional package (top-level module) whose absence raised ``exc``, or None.

    Follows ``__cause__`` so an ``ImportError`` re-raised with its own message still counts.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ModuleNotFoundError) and seen.name:
            top = seen.name.split(".")[0]
            return top if top in OPTIONAL_MODULES else None
        seen = seen.__cause__
    return None


def missing_extra_message(exc: BaseException) -> str | None:
    """One line naming the missing package and its extra, or None if ``exc`` is not that."""
    module = missing_module(exc)
    if module is None:
        return None
    return f"Cairn needs {_absent(module)}: {install_hint(OPTIONAL_MODULES[module])}"


@contextmanager
def needs_extra(command: str, extra: str) -> Iterator[None]:
    """Run the imports of ``command`` (``"cairn ui"``), which needs ``extra`` installed.

    Raises:
        MissingExtraError: an optional package is missing; names it and ``extra``.
    """
    for names in _LOOKED_UP_FIRST.get(extra, ()):
        if not any(_installed(name) for name in names):
            raise MissingExtraError(f"{command} needs {_absent(names[0])}: {install_hint(extra)}")
    try:
        yield
    except ModuleNotFoundError as exc:
        module = missing_module(exc)
        if module is None:
            raise
        raise MissingExtraError(
            f"{command} needs {_absent(module)}: {install_hint(extra)}"
        ) from None
