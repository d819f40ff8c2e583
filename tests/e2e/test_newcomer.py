"""The first hour of a newcomer: the README followed from top to bottom on an empty HOME.

Every step runs the installed ``cairn`` (or the README's Python) as a person would, and every
output is held to the rules a newcomer relies on: no traceback anywhere, no transfer rate
above what this machine can do (20,000 MB/s), and under ``--json`` nothing on stdout but
one JSON document. The README also says what its test command installs, and
``scripts/test.sh`` says it before installing anything.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from clirun import entry_point

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
RATE = re.compile(r"([0-9][0-9,.]*)\s*([KMGT]?B)/s")
TO_MB = {"B": 1e-6, "KB": 1e-3, "MB": 1.0, "GB": 1e3, "TB": 1e6}
MAX_RATE_MB_S = 20_000


class Newcomer:
    """A shell on an empty HOME, with no Cairn setting but PYTHONPATH (which checkout)."""

    def __init__(self, home: Path) -> None:
        self.cwd = home / "work"
        self.cwd.mkdir(parents=True)
        keep = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "TMPDIR")
        self.env = {k: v for k, v in os.environ.items() if k in keep or k.startswith("PYENV")}
        self.env["HOME"] = str(home)

    def _check(self, what: str, result: subprocess.CompletedProcess[str], as_json: bool) -> str:
        for stream in (result.stdout, result.stderr):
            assert "Traceback" not in stream, f"{what}:\n{stream}"
            for number, unit in RATE.findall(stream):
                rate = float(number.replace(",", "")) * TO_MB[unit]
                assert rate <= MAX_RATE_MB_S, f"{what}: {number} {unit}/s"
        assert result.returncode == 0, f"{what}:\n{result.stdout}{result.stderr}"
        if as_json:
            json.loads(result.stdout)  # the whole of stdout is one JSON document
        return result.stdout

    def run(self, *args: str) -> str:
        """``cairn ARGS``; its stdout (checked as above)."""
        result = subprocess.run(
            [entry_point(), *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return self._check(f"cairn {' '.join(args)}", result, "--json" in args)

    def json(self, *args: str) -> Any:
        """``cairn ARGS --json``, parsed."""
        return json.loads(self.run(*args, "--json"))

    def python(self, code: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return self._check("the README's Python", result, False)


def _readme_python() -> str:
    match = re.search(r"```python\n(.*?)```", README, re.S)
    assert match is not None
    return match.group(1)


def test_the_readme_from_top_to_bottom(tmp_path: Path) -> None:
    me = Newcomer(tmp_path / "home")
    store = tmp_path / "home" / ".cairn"

    # pip install -e . && cairn demo
    demo = me.run("demo")
    assert demo.splitlines()[0] == f"embedded store {store}"
    assert "verified every byte" in demo
    assert me.json("demo")["verified"] is True

    # The Python example, on a data/ folder of the newcomer's.
    (me.cwd / "data").mkdir()
    (me.cwd / "data" / "train.csv").write_text("x,y\n1,2\n")
    (me.cwd / "data" / "big.bin").write_bytes(os.urandom(200_000))
    me.python(_readme_python())
    assert (me.cwd / "artifacts" / "mnist:v0" / "train.csv").is_file()

    # The commands, in the README's order.
    assert me.run("status").startswith(f"embedded store {store}")
    status = me.json("status")
    assert status["mode"] == "embedded"
    user = status["entity"]  # the OS user's name
    assert "no problems" in me.run("fsck")
    assert me.json("fsck")["ok"] is True
    (me.cwd / "data" / "only-in-v0.bin").write_bytes(os.urandom(300_000))  # freed by gc
    logged = me.json("put", "data", "--name", "ds", "--alias", "best", "--tag", "raw")
    assert logged["version"] == "v0"
    (me.cwd / "data" / "only-in-v0.bin").unlink()
    (me.cwd / "data" / "train.csv").write_text("x,y\n3,4\n")
    assert "logged " in me.run("put", "data", "--name", "ds", "--metadata", '{"rows": 1}')
    assert "downloaded " in me.run("get", "ds:v0")
    assert (me.cwd / me.json("get", "ds", "--root", "linked", "--link")["root"]).is_dir()
    assert "cairn-demo  4 versions" in me.run("ls")
    assert {row["name"] for row in me.json("ls")} >= {f"{user}/mnist", f"{user}/cairn-demo"}
    assert "ds  dataset  2 versions" in me.run("ls", "uncategorized")
    assert me.json("ls", "uncategorized", "--type", "dataset")
    assert "train.csv" in me.run("show", "ds:best")
    assert me.json("show", "ds:v1")["metadata"] == {"rows": 1}
    assert "every file matches" in me.run("verify", "ds:v0")
    assert me.json("verify", "ds", "--root", "linked")["ok"] is True
    assert "added alias 'gold'" in me.run("alias", "add", "ds:v1", "gold")
    assert "gold" not in me.json("alias", "rm", "ds:v1", "gold")["aliases"]
    assert "added tag 'checked'" in me.run("tag", "add", "ds:v0", "checked")
    assert me.json("tag", "rm", "ds:v0", "checked")["tags"] == ["raw"]
    linked = me.run("link", "ds:v1", "wandb-registry-model/classifier")
    assert f"linked {user}/uncategorized/ds:v1 as local/wandb-registry-model/classifier:v0" in (
        linked
    )
    assert (
        me.json("ls", "wandb-registry-model")[0]["name"] == "local/wandb-registry-model/classifier"
    )
    assert me.json("link", "ds:v0", "portfolio", "--alias", "staging")["is_link"] is True
    assert "unlinked" in me.run("delete", "portfolio:v0")
    assert me.json("delete", "ds:v0", "--delete-aliases")["deleted"] is True
    assert "would free" in me.run("gc", "--dry-run", "--grace-seconds", "0")
    assert me.json("gc", "--grace-seconds", "0")["freed_bytes"] >= 300_000
    assert "cache " in me.run("cache", "ls")
    assert me.json("cache", "cleanup", "--dry-run")["dry_run"] is True
    assert "Usage:" in me.run("ui", "--help")


def test_the_readme_says_what_the_test_command_installs() -> None:
    assert README.startswith("# Cairn\n\n```sh\npip install -e . && cairn demo\n"
                             "bash scripts/test.sh\n```\n")  # fmt: skip
    said = " ".join(README.split("```")[2].split())  # the paragraph under the two commands
    for needle in ("PostgreSQL", "Chromium", "Node.js", "Azurite", "600 MB", ".test-tools"):
        assert needle in said, needle
    assert re.search(r"takes about \d+ minutes", said), said

    script = (ROOT / "scripts" / "test.sh").read_text().splitlines()
    announced = ""
    installed: list[str] = []
    for line in script:
        command = line.split(">", 1)[0].split(")", 1)[0]
        if line.lstrip().startswith('echo "=='):
            announced = line
        elif re.search(r"(apt-get|npm|pip) install ", command):
            words = command.split(" install ", 1)[1].split()
            for package in (w.strip("'") for w in words if not w.startswith("-")):
                assert package in announced, f"{package} is installed before it is announced"
                installed.append(package)
    assert installed == ["postgresql", "chromium", "nodejs", "npm", "azurite@3.35.0", ".[test]"]
    header = next(i for i, line in enumerate(script) if "installs what is missing" in line)
    assert header < min(i for i, line in enumerate(script) if " install " in line)
