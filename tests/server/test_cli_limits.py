"""``cairn server``'s limit options land in ``ServerConfig.limits`` (validated: positive);
options not given keep the defaults of ``cairn.service.limits``. So does the TTL sweep's
interval (``ttl_sweep_interval_seconds``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cairn.cli.main import cli
from cairn.server.state import ServerConfig
from cairn.service.limits import DEFAULT_LIMITS
from cairn.service.ttl import SWEEP_INTERVAL_SECONDS


@pytest.fixture
def started(cairn_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[ServerConfig]:
    """The configs ``cairn server`` would serve (the app is neither built nor run)."""
    import uvicorn

    import cairn.server.app

    configs: list[ServerConfig] = []
    monkeypatch.setattr(cairn.server.app, "create_app", configs.append)
    monkeypatch.setattr(uvicorn, "run", lambda *_args, **_kwargs: None)
    return configs


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["server", *args])


def test_defaults(started: list[ServerConfig]) -> None:
    result = run()
    assert result.exit_code == 0, result.output
    (config,) = started
    assert config.limits == DEFAULT_LIMITS
    assert config.limits.rate_limit is None
    assert config.ttl_sweep_interval_seconds == SWEEP_INTERVAL_SECONDS


def test_ttl_sweep_interval(started: list[ServerConfig]) -> None:
    for given, seconds in (("90", 90.0), ("0", 0.0)):
        result = run("--ttl-sweep-interval", given)
        assert result.exit_code == 0, result.output
        assert started.pop().ttl_sweep_interval_seconds == seconds


def test_limit_options(started: list[ServerConfig]) -> None:
    result = run(
        "--max-body", "10MB", "--graphql-max-depth", "9", "--graphql-max-cost", "1234",
        "--rate-limit", "2.5",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (config,) = started
    assert config.limits == dataclasses.replace(
        DEFAULT_LIMITS,
        max_body_bytes=10_000_000,
        graphql_max_depth=9,
        graphql_max_cost=1234,
        rate_limit=2.5,
    )


@pytest.mark.parametrize(
    "args",
    [
        ("--max-body", "0"),
        ("--max-body", "lots"),
        ("--graphql-max-depth", "0"),
        ("--graphql-max-cost", "-1"),
        ("--rate-limit", "0"),
        ("--rate-limit", "-2"),
        ("--rate-limit", "inf"),
        ("--rate-limit", "nan"),
        ("--ttl-sweep-interval", "-1"),
        ("--ttl-sweep-interval", "inf"),
        ("--ttl-sweep-interval", "soon"),
    ],
)
def test_nonsense_is_refused(started: list[ServerConfig], args: tuple[str, str]) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert args[0] in result.output
    assert started == []
