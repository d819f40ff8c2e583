"""What every command owes a user: warnings as one ``note:`` line, errors in the user's own
words, ``--json``/``--quiet`` wherever a result is printed (errors as JSON too), a quiet
end on a closed pipe, and a verification error that names the folder it looked in."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import click
import pytest

from cairn.cli.main import cli
from clirun import cairn, entry_point, ok, ok_json, one_line_error


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    (root / "a.txt").write_text("alpha\n")
    return root


def test_a_warning_is_one_note_line(cairn_dir: Path, data: Path) -> None:
    ok("put", str(data), "--project", "proj")
    again = cairn("put", str(data), "--project", "proj")
    assert again.returncode == 0, again.stderr
    assert again.stderr.splitlines() == [
        'note: Artifact "data" already exists with the same content. '
        "No new version will be created."
    ]


def test_errors_speak_the_users_language(cairn_dir: Path, data: Path) -> None:
    ok("put", str(data), "--project", "proj")
    refused = cairn("delete", "proj/data:v0")
    line = one_line_error(refused, "Cannot delete proj/data:v0", "(latest)", "--delete-aliases")
    assert "delete_aliases=True" not in line and "QXJ0" not in line  # no SDK words, no id
    assert ok_json("show", "proj/data:v0")["state"] == "COMMITTED"  # nothing was deleted

    missing = one_line_error(cairn("show", "proj/nope:v3"), "artifact 'tester/proj/nope:v3'")
    assert missing == "Error: artifact 'tester/proj/nope:v3' not found"
    one_line_error(
        cairn("get", ""), "REF is empty", "[[entity/]project/]name[:alias|vN]", "mnist:latest"
    )
    one_line_error(cairn("get", "a/b/c/d"), "expected 'name:alias'")
    usage = one_line_error(cairn("get"), "Missing argument 'REF'", "--help", status=2)
    assert "Usage:" not in usage


def _leaves(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        found.append((*path, name))
        if isinstance(command, click.Group):
            found.extend(_leaves(command, (*path, name)))
    return found


def test_json_and_quiet_wherever_a_result_is_printed() -> None:
    servers = {("server",), ("ui",)}  # long-running: --quiet only
    always_json = {("server", "migrate"), ("server", "create-admin")}
    for path in _leaves(cli):
        command: click.Command = cli
        for name in path:
            assert isinstance(command, click.Group)
            command = command.commands[name]
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        if isinstance(command, click.Group) and path not in servers:
            continue  # a group prints its subcommands' results
        if path in always_json:
            continue
        assert "--quiet" in options, path
        assert ("--json" in options) == (path not in servers), path


def test_with_json_errors_are_json_on_stdout(cairn_dir: Path, data: Path) -> None:
    ok("put", str(data), "--project", "proj")
    missing = cairn("show", "proj/nope", "--json")
    assert missing.returncode == 1
    assert json.loads(missing.stdout) == {
        "error": {
            "type": "NotFoundError",
            "message": "artifact 'tester/proj/nope:latest' not found",
        }
    }
    root = Path(ok("get", "proj/data", "--quiet").strip())
    (root / "a.txt").write_text("tampered\n")
    changed = cairn("verify", "proj/data", "--json")
    assert changed.returncode == 1
    error = json.loads(changed.stdout)["error"]
    assert error["type"] == "VerificationError" and error["changed"] == ["a.txt"]
    usage = cairn("get", "--json")  # no REF: a bad command line
    assert usage.returncode == 2 and json.loads(usage.stdout)["error"] == {
        "type": "UsageError",
        "message": "Missing argument 'REF'. (see 'cairn get --help')",
    }

    demo = json.loads(ok("demo", "--json"))
    assert [v["version"] for v in demo["versions"]] == ["v1", "v0"] and demo["verified"]
    report = ok_json("fsck")
    assert (report["ok"], report["problems"], report["versions_checked"]) == (True, [], 3)


def test_a_closed_pipe_ends_quietly(cairn_dir: Path, tmp_path: Path) -> None:
    many = tmp_path / "many"
    many.mkdir()
    for i in range(1500):  # ~135 KB of `show` output: more than a pipe holds
        (many / f"shard-{i:05d}-{'x' * 60}.txt").write_text(str(i))
    ok("put", str(many))
    with subprocess.Popen(
        [entry_point(), "show", "many", "--all-files"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as reader:
        assert reader.stdout is not None and reader.stderr is not None
        assert reader.stdout.readline().startswith("embedded store ")
        reader.stdout.close()  # as `| head -1` does
        stderr = reader.stderr.read()
        status = reader.wait(timeout=300)
    assert stderr == "" and status == 1


def test_verify_names_a_missing_folder(cairn_dir: Path, data: Path, tmp_path: Path) -> None:
    ok("put", str(data), "--project", "proj")
    absent = tmp_path / "no" / "such" / "dir"
    one_line_error(
        cairn("verify", "proj/data:v0", "--root", str(absent)), f"{absent} does not exist"
    )
    plain = tmp_path / "plain-file"
    plain.write_text("x")
    one_line_error(
        cairn("verify", "proj/data:v0", "--root", str(plain)), f"{plain} is not a folder"
    )
    error = json.loads(cairn("verify", "proj/data:v0", "--root", str(absent), "--json").stdout)
    assert error["error"]["missing"] == ["a.txt"]
