"""After ``pip install -e .`` alone, a command that needs an extra says which, in one line.

The entry point runs in a Python where the extra's packages cannot be imported (see
``clirun.cairn(blocked=...)``), which is what a core-only install looks like to it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirun import cairn, ok, one_line_error

# Every optional package of pyproject.toml's extras, by its top-level module.
EVERY_EXTRA = (
    "fastapi", "starlette", "pydantic", "uvicorn", "jinja2", "markdown_it", "nh3",
    "itsdangerous", "multipart", "python_multipart", "ariadne", "graphql", "psycopg",
    "boto3", "botocore", "google", "azure", "PIL", "numpy", "pandas", "bokeh",
)  # fmt: skip
PG = "postgresql://cairn@127.0.0.1:9/cairn"


@pytest.mark.parametrize(
    ("args", "blocked", "needles"),
    [
        (("ui",), EVERY_EXTRA, ("cairn ui needs", "uvicorn", "pip install 'cairn[ui]'")),
        (("ui",), ("jinja2",), ("cairn ui needs", "jinja2", "cairn[ui]")),
        (("ui",), ("nh3",), ("cairn ui needs", "nh3", "cairn[ui]")),
        (("ui",), ("multipart", "python_multipart"), ("python_multipart", "cairn[ui]")),
        (("server",), EVERY_EXTRA, ("cairn server needs", "uvicorn", "'cairn[server]'")),
        (("server",), ("fastapi",), ("cairn server needs", "fastapi", "cairn[server]")),
        (("server",), ("ariadne",), ("cairn server needs", "ariadne", "cairn[server]")),
        (("server", "--db", PG), ("psycopg",), ("psycopg", "cairn[server]")),
        (("server", "migrate", "--db", PG), ("psycopg",), ("psycopg", "cairn[server]")),
        (("server", "create-admin", "--name", "a"), ("fastapi",), ("fastapi", "cairn[server]")),
        (("put", "s3://bucket/key"), ("boto3",), ("boto3", "cairn[s3]")),
        (("put", "gs://bucket/key"), ("google",), ("google-cloud-storage", "cairn[gcs]")),
        (
            ("put", "https://account.blob.core.windows.net/container/key"),
            ("azure",),
            ("azure-storage-blob", "cairn[azure]"),
        ),
    ],
)
def test_a_missing_extra_is_one_line_naming_it(
    cairn_dir: Path, args: tuple[str, ...], blocked: tuple[str, ...], needles: tuple[str, ...]
) -> None:
    result = cairn(*args, blocked=blocked)
    one_line_error(result, *needles)
    assert "ModuleNotFoundError" not in result.stderr


def test_with_json_the_missing_extra_is_a_json_error(cairn_dir: Path) -> None:
    result = cairn("put", "s3://bucket/key", "--json", blocked=("boto3",))
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "MissingExtraError" and "cairn[s3]" in error["message"]


def test_the_core_commands_need_no_extra(cairn_dir: Path, tmp_path: Path) -> None:
    """The README's first command and the everyday ones work on a core install."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("a\n")
    for args in (
        ("demo",),
        ("put", "data", "--alias", "best"),
        ("ls",),
        ("ls", "uncategorized"),
        ("show", "data:best"),
        ("get", "data"),
        ("verify", "data"),
        ("link", "data:v0", "wandb-registry-model/m"),
        ("status",),
        ("gc", "--dry-run"),
        ("fsck",),
        ("cache", "ls"),
    ):
        result = cairn(*args, blocked=EVERY_EXTRA)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert "tester/uncategorized/data:v0" in ok("show", "data:v0")
