"""``cairn ui`` refuses to serve its sign-in-less UI beyond loopback."""

from __future__ import annotations

from click.testing import CliRunner

from cairn.cli.main import cli


def test_cairn_ui_listens_on_loopback_only() -> None:
    result = CliRunner().invoke(cli, ["ui", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code == 2
    assert "loopback only" in result.output and "cairn server" in result.output


def test_cairn_ui_help() -> None:
    result = CliRunner().invoke(cli, ["ui", "--help"])
    assert result.exit_code == 0 and "--port" in result.output
